/*
 * signer_pades_test: PAdES signatures checked by validators that share no code with us.
 *
 *   - pdfsig (poppler, with NSS) must say "Signature is Valid." for every signature, name the
 *     signer, and say "Certificate is Trusted.": the test makes a throw-away NSS database that
 *     trusts our CA (certutil), so an untrusted issuer would fail the test. (Not -no-ocsp:
 *     poppler 22.12 then reports "Unknown issue with Certificate" for any certificate; our
 *     certificates name no OCSP responder, so nothing is fetched anyway);
 *   - qpdf --check must find no error in the signed file;
 *   - openssl cms -verify -cades must verify each /Contents over its /ByteRange, extracted here
 *     from the bytes, against the CA, and the CMS must hold the ESS signing-certificate-v2
 *     and no signingTime (PAdES baseline B-B);
 *   - pdftoppm renders a visible signature inside its rectangle, on its page only.
 *
 * Documents: 1 page (A4), 3 pages (A4, A4 landscape, A4 rotated by /Rotate 90), signed once
 * and twice in a row (a person then a seal), plus refusals and threads signing at once.
 */
#include "signer_util.h"

#include "signer.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

#define OUTPUT_BYTES 65536
#define THREADS      4

static char *dir;
static char ca_pem[600], nss_dir[600], empty_nss_dir[600];
static int64_t now_s;
static bool expect_timestamp; /* the signatures validated now are B-T */

static signer_credential *credential(signer_ca *ca, signer_kind kind, const char *id, const char *name)
{
	signer_subject s = {kind, id, name, kind == SIGNER_KIND_PERSON ? "JLM - Pont-Audemer" : NULL, NULL, NULL, NULL};
	signer_credential *c = NULL;
	signer_err err = signer_credential_get_or_issue(ca, &s, now_s, 365, &c, NULL);
	CHECK(err == SIGNER_OK, "credential for %s: %s", id, signer_last_error());
	return c;
}

/* Writes data to dir/name; the path into path. */
static bool save(const char *name, const uint8_t *data, size_t bytes, char *path, size_t path_bytes)
{
	snprintf(path, path_bytes, "%s/%s", dir, name);
	return write_file(path, data, bytes);
}

/* ----- openssl cms over each signature's byte range ----- */

static int hex_value(uint8_t c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Reads count decimal numbers separated by spaces at text; false if any is missing. */
static bool read_numbers(const char *text, unsigned long long *values, int count, const char **end)
{
	const char *p = text;
	for (int i = 0; i < count; i++) {
		char *after;
		errno = 0;
		while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
			p++;
		if (*p < '0' || *p > '9')
			return false;
		values[i] = strtoull(p, &after, 10);
		if (errno)
			return false;
		p = after;
	}
	if (end)
		*end = p;
	return true;
}

/* Checks every /ByteRange of pdf: it covers the file but its /Contents, and the CMS there
 * verifies with openssl against the CA, as PAdES B-B. Returns how many signatures it found. */
static int verify_byte_ranges(const uint8_t *pdf, size_t bytes, const char *tag)
{
	int found = 0;
	const char *text = (const char *)pdf;
	for (const char *p = text; (p = memmem(p, bytes - (size_t)(p - text), "/ByteRange[", 11)) != NULL; p += 11) {
		unsigned long long range[4];
		if (!read_numbers(p + 11, range, 4, NULL))
			continue; /* mupdf's placeholder in an earlier revision, if any */
		unsigned long long a = range[0], b = range[1], c = range[2], d = range[3];
		found++;
		CHECK(a == 0 && a + b < c && c + d <= bytes && pdf[a + b] == '<' && pdf[c - 1] == '>',
		      "%s: byte range %llu %llu %llu %llu of %zu", tag, a, b, c, d, bytes);
		if (!(a == 0 && a + b < c && c + d <= bytes))
			continue;
		size_t hex_bytes = c - 1 - (a + b + 1), der_bytes = 0;
		uint8_t *der = malloc(hex_bytes / 2), *content = malloc(b + d);
		REQUIRE(der && content, "memory");
		for (size_t i = 0; i + 1 < hex_bytes; i += 2)
			der[der_bytes++] =
			    (uint8_t)(hex_value(pdf[a + b + 1 + i]) << 4 | hex_value(pdf[a + b + 2 + i]));
		/* The DER's own length: what follows is /Contents' zero padding. */
		size_t length = der[1] & 0x80 ? 0 : der[1], header = 2;
		for (int k = 0; der[1] & 0x80 && k < (der[1] & 0x7f); k++)
			length = length << 8 | der[2 + k], header++;
		memcpy(content, pdf, b);
		memcpy(content + b, pdf + c, d);
		char der_path[512], content_path[512], command[2048], output[OUTPUT_BYTES];
		snprintf(der_path, sizeof der_path, "%s/%s-%d.der", dir, tag, found);
		snprintf(content_path, sizeof content_path, "%s/%s-%d.bin", dir, tag, found);
		CHECK(der[0] == 0x30 && header + length <= der_bytes, "%s: a DER SEQUENCE in /Contents", tag);
		REQUIRE(write_file(der_path, der, header + length) && write_file(content_path, content, b + d),
		        "write");
		snprintf(
		    command, sizeof command,
		    "openssl cms -verify -cades -binary -inform DER -in '%s' -content '%s' -CAfile '%s' -out /dev/null",
		    der_path, content_path, ca_pem);
		int status = run(command, output, sizeof output);
		CHECK(status == 0 && strstr(output, "CAdES Verification successful"), "%s #%d: openssl: %s", tag, found,
		      output);
		snprintf(command, sizeof command, "openssl cms -cmsout -print -inform DER -in '%s'", der_path);
		status = run(command, output, sizeof output);
		/* The signature time-stamp (B-T) is an unsigned attribute: a token of the TSA's, with its
		 * own signingTime and certificates. The signature's own part ends where it starts. */
		char *unsigned_attributes = strstr(output, "unsignedAttrs:");
		CHECK(expect_timestamp ==
		          (unsigned_attributes && strstr(unsigned_attributes, "id-smime-aa-timeStampToken")),
		      "%s #%d: a signature time-stamp %s", tag, found, expect_timestamp ? "expected" : "unexpected");
		if (unsigned_attributes)
			*unsigned_attributes = '\0';
		CHECK(status == 0 && strstr(output, "id-smime-aa-signingCertificateV2") &&
		          strstr(output, "messageDigest") && strstr(output, "contentType") &&
		          strstr(output, "ecdsa-with-SHA256") && !strstr(output, "signingTime"),
		      "%s #%d: the CMS is not PAdES B-B:\n%s", tag, found, output);
		CHECK(count_of(output, "subject:") == 2, "%s #%d: the signer's and the CA's certificates", tag, found);
		free(der);
		free(content);
	}
	return found;
}

/* pdfsig, qpdf and openssl on a signed file holding `signatures` signatures, the last by
 * `signer_name`. */
static void validate(const uint8_t *pdf, size_t bytes, int signatures, const char *signer_name, const char *tag)
{
	char path[512], command[2048], output[OUTPUT_BYTES], expected[256];
	REQUIRE_VOID(save(tag, pdf, bytes, path, sizeof path));
	snprintf(command, sizeof command, "pdfsig -nssdir '%s' '%s'", nss_dir, path);
	run(command, output, sizeof output);
	CHECK(count_of(output, "Signature Validation: Signature is Valid.") == signatures, "%s: pdfsig:\n%s", tag,
	      output);
	CHECK(count_of(output, "Certificate Validation: Certificate is Trusted.") == signatures, "%s: trust:\n%s", tag,
	      output);
	CHECK(count_of(output, "Signature Type: ETSI.CAdES.detached") == signatures, "%s: sub filter", tag);
	snprintf(expected, sizeof expected, "Signer Certificate Common Name: %s\n", signer_name);
	CHECK(strstr(output, expected) != NULL, "%s: pdfsig does not name %s", tag, signer_name);
	CHECK(strstr(output, "Total document signed"), "%s: the last signature covers the file", tag);

	/* With an NSS database that trusts nothing: still valid, but the CA is not trusted. */
	snprintf(command, sizeof command, "pdfsig -nssdir '%s' '%s'", empty_nss_dir, path);
	run(command, output, sizeof output);
	CHECK(count_of(output, "Signature Validation: Signature is Valid.") == signatures &&
	          count_of(output, "Certificate Validation: Certificate issuer isn't Trusted.") == signatures,
	      "%s: pdfsig without the CA:\n%s", tag, output);

	snprintf(command, sizeof command, "qpdf --check '%s'", path);
	int status = run(command, output, sizeof output);
	CHECK(status == 0 && strstr(output, "No syntax or stream encoding errors"), "%s: qpdf %d:\n%s", tag, status,
	      output);
	CHECK(verify_byte_ranges(pdf, bytes, tag) == signatures, "%s: byte ranges", tag);

	signer_pdf_info *info = malloc(sizeof *info);
	REQUIRE_VOID(info);
	CHECK(signer_pdf_inspect(pdf, bytes, bytes, info) == SIGNER_OK && info->signature_count == (uint32_t)signatures,
	      "%s: inspected again: %u signatures (%s)", tag, info->signature_count, signer_last_error());
	free(info);
}

/* ----- rendering ----- */

typedef struct grey_image {
	int width, height;
	uint8_t *pixels;
} grey_image;

/* Page page_number (from 1) of the file at path, rendered by pdftoppm at 72 dpi: 1 px = 1 pt. */
static grey_image render(const char *path, int page_number)
{
	grey_image image = {0, 0, NULL};
	char command[2048], output[1024], pgm[512];
	snprintf(pgm, sizeof pgm, "%s/render", dir);
	snprintf(command, sizeof command, "pdftoppm -f %d -l %d -r 72 -gray -singlefile '%s' '%s'", page_number,
	         page_number, path, pgm);
	if (run(command, output, sizeof output) != 0)
		return image;
	strcat(pgm, ".pgm");
	size_t bytes = 0;
	uint8_t *data = read_file(pgm, &bytes);
	int offset = 0;
	unsigned long long header[3];
	const char *after = NULL;
	if (data && bytes > 3 && memcmp(data, "P5", 2) == 0 && (data[2] == ' ' || data[2] == '\n') &&
	    read_numbers((const char *)data + 2, header, 3, &after) && header[2] == 255 && header[0] <= 100000 &&
	    header[1] <= 100000) {
		image.width = (int)header[0];
		image.height = (int)header[1];
		offset = (int)(after - (const char *)data);
	}
	if (data && image.width > 0 && (size_t)offset + 1 + (size_t)image.width * (size_t)image.height <= bytes) {
		image.pixels = malloc((size_t)image.width * (size_t)image.height);
		if (image.pixels)
			memcpy(image.pixels, data + offset + 1, (size_t)image.width * (size_t)image.height);
	}
	free(data);
	return image;
}

/* Dark pixels inside (inside = true) or outside rect. */
static long dark(const grey_image *image, const signer_rect *rect, bool inside)
{
	long n = 0;
	for (int y = 0; y < image->height; y++)
		for (int x = 0; x < image->width; x++) {
			float fx = (float)x, fy = (float)y;
			bool in = fx >= rect->x0 && fx < rect->x1 && fy >= rect->y0 && fy < rect->y1;
			n += in == inside && image->pixels[(size_t)y * (size_t)image->width + (size_t)x] < 128;
		}
	return n;
}

/* The signature shows inside rect on its page, and nothing else changed on any page. */
static void check_visible(const char *before_path, const char *after_path, int pages, const signer_rect *rect,
                          const char *tag)
{
	for (int page = 1; page <= pages; page++) {
		grey_image before = render(before_path, page), after = render(after_path, page);
		REQUIRE_VOID(before.pixels && after.pixels);
		CHECK(before.width == after.width && before.height == after.height, "%s: page %d size", tag, page);
		bool signed_page = page == (int)rect->page_index + 1;
		long inside = dark(&after, rect, true);
		CHECK(dark(&before, rect, true) == 0, "%s: the test placed the rectangle on blank paper", tag);
		CHECK(signed_page ? inside > 200 : inside == 0, "%s: page %d: %ld dark pixels in the rectangle", tag,
		      page, inside);
		CHECK(dark(&before, rect, false) == dark(&after, rect, false),
		      "%s: page %d changed outside the rectangle", tag, page);
		free(before.pixels);
		free(after.pixels);
	}
}

/* ----- the cases ----- */

static void test_one_page(signer_credential *person)
{
	test_page page = {A4_WIDTH_PT, A4_HEIGHT_PT, 0};
	uint8_t *pdf = NULL, *out = NULL;
	size_t bytes = 0, out_bytes = 0;
	REQUIRE_VOID(make_pdf(&page, 1, &pdf, &bytes));
	signer_sign_options o = {.signing_time_s = now_s,
	                         .reason = "Approbation des comptes annuels",
	                         .location = "Pont-Audemer",
	                         .contact = "salima@cabinet.fr"};
	signer_err err = signer_pades_sign(pdf, bytes, person, &o, &out, &out_bytes);
	REQUIRE_VOID(err == SIGNER_OK);
	CHECK(out_bytes > bytes && memcmp(out, pdf, bytes) == 0, "the input is a prefix of the output");
	char m[64];
	struct tm tm;
	time_t t = (time_t)now_s;
	strftime(m, sizeof m, "/M(D:%Y%m%d%H%M%SZ)", gmtime_r(&t, &tm));
	CHECK(memmem(out, out_bytes, m, strlen(m)) != NULL, "the injected time is /M: %s", m);
	CHECK(memmem(out, out_bytes, "/Rect[0 0 0 0]", 14) != NULL, "invisible: an empty /Rect");
	CHECK(memmem(out, out_bytes, "/SubFilter/ETSI.CAdES.detached", 30) != NULL, "the sub filter");
	CHECK(memmem(out, out_bytes, "/Reference", 10) == NULL && memmem(out, out_bytes, "/Lock", 5) == NULL,
	      "no FieldMDP reference, no lock");
	validate(out, out_bytes, 1, "Salima Ben Ali", "one-page.pdf");

	/* Not byte-deterministic (fresh ECDSA nonce), but the same document otherwise. */
	uint8_t *again = NULL;
	size_t again_bytes = 0;
	REQUIRE_VOID(signer_pades_sign(pdf, bytes, person, &o, &again, &again_bytes) == SIGNER_OK);
	CHECK(again_bytes == out_bytes, "same length: %zu %zu", again_bytes, out_bytes);
	free(again);
	free(out);
	free(pdf);
}

/*
 * PAdES B-T: without a time-stamping unit a time-stamped signature is refused (SIGNER_ERR_KEYS);
 * once the CA's is enabled, the signature carries a token (its certificate issued once, with
 * the critical timeStamping EKU), pdfsig still validates it, and the TSA is read back, not
 * issued again, the next time.
 */
static void test_timestamped(signer_ca *ca, const char *keys, signer_credential *person)
{
	expect_timestamp = true;
	test_page page = {A4_WIDTH_PT, A4_HEIGHT_PT, 0};
	uint8_t *pdf = NULL, *out = NULL;
	size_t bytes = 0, out_bytes = 0, plain_bytes = 0;
	REQUIRE_VOID(make_pdf(&page, 1, &pdf, &bytes));
	signer_sign_options o = {.signing_time_s = now_s, .reason = "Horodatage", .timestamp = true};
	CHECK(signer_pades_sign(pdf, bytes, person, &o, &out, &out_bytes) == SIGNER_ERR_KEYS,
	      "no time-stamping unit: a B-T signature is refused");
	o.timestamp = false;
	REQUIRE_VOID(signer_pades_sign(pdf, bytes, person, &o, &out, &plain_bytes) == SIGNER_OK);
	free(out);
	CHECK(signer_tsa_enable(ca, keys, now_s) == SIGNER_OK, "TSA enabled: %s", signer_last_error());
	char command[4096], output[OUTPUT_BYTES];
	snprintf(command, sizeof command, "openssl x509 -in '%s/%s' -noout -ext extendedKeyUsage 2>&1", keys,
	         SIGNER_TSA_CERT_FILE);
	CHECK(run(command, output, sizeof output) == 0 && strstr(output, "critical") && strstr(output, "Time Stamping"),
	      "the TSA certificate: critical EKU timeStamping: %s", output);
	signer_credential *stamped = credential(ca, SIGNER_KIND_PERSON, "yann@cabinet.fr", "Yann Le Gall");
	REQUIRE_VOID(stamped);
	o.timestamp = true;
	REQUIRE_VOID(signer_pades_sign(pdf, bytes, stamped, &o, &out, &out_bytes) == SIGNER_OK);
	CHECK(out_bytes > 0 && plain_bytes > 0, "both signed");
	validate(out, out_bytes, 1, "Yann Le Gall", "timestamped.pdf");
	/* B-LT: with the CA's CRL, a /DSS that qpdf reads and openssl verifies (dss_check.py). */
	uint8_t *crl = NULL, *lt = NULL;
	size_t crl_bytes = 0, lt_bytes = 0;
	CHECK(signer_ca_crl(ca, now_s, &crl, &crl_bytes) == SIGNER_OK, "CRL: %s", signer_last_error());
	o.crl_der = crl;
	o.crl_der_bytes = crl_bytes;
	CHECK(signer_pades_sign(pdf, bytes, stamped, &o, &lt, &lt_bytes) == SIGNER_OK, "B-LT: %s", signer_last_error());
	char path[512];
	if (lt && save("long-term.pdf", lt, lt_bytes, path, sizeof path)) {
		snprintf(command, sizeof command, "/usr/bin/python3 '%s/../integration/dss_check.py' '%s' '%s' 2>&1",
		         TESTS_UNIT_DIR, path, ca_pem);
		CHECK(run(command, output, sizeof output) == 0 && strstr(output, "DSS certs=3 crls=1"),
		      "the /DSS holds the 3 certificates and the CRL, which verify: %s", output);
		snprintf(command, sizeof command, "pdfsig -nssdir '%s' '%s' 2>&1", nss_dir, path);
		run(command, output, sizeof output);
		CHECK(strstr(output, "Signature is Valid") != NULL, "pdfsig: still valid after the /DSS update: %s",
		      output);
	}
	/* signer_pdf_verify, the auditors' check: the signature and its time-stamp verify against the
	 * CA; one byte changed in the signed range, they do not. */
	uint8_t ca_der[SIGNER_CERT_DER_BYTES_MAX];
	size_t ca_der_bytes = 0;
	signer_verified v;
	CHECK(signer_ca_certificate(ca, ca_der, sizeof ca_der, &ca_der_bytes) == SIGNER_OK, "the CA's DER");
	CHECK(lt && signer_pdf_verify(lt, lt_bytes, ca_der, ca_der_bytes, &v) == SIGNER_OK && v.signatures == 1 &&
	          v.signature_timestamps == 1 && v.timestamps == 0 && v.last_signer_certificate_bytes > 0,
	      "signer_pdf_verify: 1 signature with its time-stamp: %s", signer_last_error());
	if (lt) {
		lt[100] ^= 0x01; /* inside the header comment: in the first byte range */
		CHECK(signer_pdf_verify(lt, lt_bytes, ca_der, ca_der_bytes, &v) == SIGNER_ERR_CRYPTO,
		      "one byte changed: refused (%s)", signer_last_error());
	}
	free(lt);
	free(crl);
	o.crl_der = NULL;
	o.crl_der_bytes = 0;
	/* Enabled again: the same unit, read from its files. */
	snprintf(command, sizeof command, "sha256sum '%s/%s'", keys, SIGNER_TSA_CERT_FILE);
	char before[OUTPUT_BYTES];
	run(command, before, sizeof before);
	CHECK(signer_tsa_enable(ca, keys, now_s + 60) == SIGNER_OK, "enabled again");
	run(command, output, sizeof output);
	CHECK(strcmp(before, output) == 0, "not issued again");
	signer_credential_free(stamped);
	free(out);
	free(pdf);
	expect_timestamp = false;
}

static void test_three_pages_twice(signer_credential *person, signer_credential *seal)
{
	test_page pages[] = {
	    {A4_WIDTH_PT, A4_HEIGHT_PT, 0}, {A4_HEIGHT_PT, A4_WIDTH_PT, 0}, {A4_WIDTH_PT, A4_HEIGHT_PT, 90}};
	uint8_t *pdf = NULL, *first = NULL, *second = NULL;
	size_t bytes = 0, first_bytes = 0, second_bytes = 0;
	REQUIRE_VOID(make_pdf(pages, 3, &pdf, &bytes));
	char input_path[512], first_path[512], second_path[512];
	REQUIRE_VOID(save("three.pdf", pdf, bytes, input_path, sizeof input_path));

	/* A person signs, visibly, on the landscape page. */
	signer_rect on_landscape = {1, 480, 400, 800, 520};
	signer_sign_options o = {.signing_time_s = now_s, .reason = "Bon pour accord", .visible = &on_landscape};
	REQUIRE_VOID(signer_pades_sign(pdf, bytes, person, &o, &first, &first_bytes) == SIGNER_OK);
	validate(first, first_bytes, 1, "Salima Ben Ali", "three-once.pdf");
	REQUIRE_VOID(save("three-once.pdf", first, first_bytes, first_path, sizeof first_path));
	check_visible(input_path, first_path, 3, &on_landscape, "landscape");

	/* Then the firm seals it, visibly, on the rotated page: the first signature stays valid. */
	signer_rect on_rotated = {2, 40, 420, 360, 560};
	signer_sign_options o2 = {.signing_time_s = now_s + 60, .reason = "Cachet du cabinet", .visible = &on_rotated};
	REQUIRE_VOID(signer_pades_sign(first, first_bytes, seal, &o2, &second, &second_bytes) == SIGNER_OK);
	CHECK(second_bytes > first_bytes && memcmp(second, first, first_bytes) == 0,
	      "the first signed file is a prefix");
	validate(second, second_bytes, 2, "JLM - Pont-Audemer", "three-twice.pdf");
	REQUIRE_VOID(save("three-twice.pdf", second, second_bytes, second_path, sizeof second_path));
	check_visible(first_path, second_path, 3, &on_rotated, "rotated");
	char output[OUTPUT_BYTES], command[1200];
	snprintf(command, sizeof command, "pdfsig -nssdir '%s' '%s'", nss_dir, second_path);
	run(command, output, sizeof output);
	CHECK(strstr(output, "Signer Certificate Common Name: Salima Ben Ali\n") &&
	          strstr(output, "Signature Field Name: Signature1") &&
	          strstr(output, "Signature Field Name: Signature2"),
	      "both signers, in two fields:\n%s", output);
	free(second);
	free(first);
	free(pdf);
}

/* A signature on a page turned by /Rotate 90 reads as on an unturned page of the same
 * displayed size: same options, same rectangle, nearly the same pixels. */
static void test_rotated_upright(signer_credential *person)
{
	test_page pages[] = {{A4_HEIGHT_PT, A4_WIDTH_PT, 0}, {A4_WIDTH_PT, A4_HEIGHT_PT, 90}};
	uint8_t *pdf = NULL, *out[2] = {NULL, NULL};
	size_t bytes = 0, out_bytes[2] = {0, 0};
	REQUIRE_VOID(make_pdf(pages, 2, &pdf, &bytes));
	grey_image images[2];
	signer_rect rects[2] = {{0, 400, 300, 800, 450}, {1, 400, 300, 800, 450}};
	for (int i = 0; i < 2; i++) {
		signer_sign_options o = {.signing_time_s = now_s, .reason = "Lu et approuvé", .visible = &rects[i]};
		REQUIRE_VOID(signer_pades_sign(pdf, bytes, person, &o, &out[i], &out_bytes[i]) == SIGNER_OK);
		char path[512];
		REQUIRE_VOID(save(i ? "turned.pdf" : "unturned.pdf", out[i], out_bytes[i], path, sizeof path));
		images[i] = render(path, i + 1);
		REQUIRE_VOID(images[i].pixels && images[i].width == 842 && images[i].height == 595);
	}
	long differ = 0, area = 0; /* pixels of the rectangle, and those that differ */
	for (int y = 300; y < 450; y++)
		for (int x = 400; x < 800; x++, area++) {
			int a = images[0].pixels[y * 842 + x], b = images[1].pixels[y * 842 + x];
			differ += abs(a - b) > 96;
		}
	long ink = dark(&images[0], &rects[0], true);
	CHECK(ink > 200 && differ * 5 < ink, "turned and unturned differ in %ld pixels, for %ld dark ones in %ld",
	      differ, ink, area);
	for (int i = 0; i < 2; i++) {
		free(images[i].pixels);
		free(out[i]);
	}
	free(pdf);
}

static void test_refusals(signer_ca *ca, signer_credential *person)
{
	test_page page = {A4_WIDTH_PT, A4_HEIGHT_PT, 0};
	uint8_t *pdf = NULL, *out = (uint8_t *)"not NULL";
	size_t bytes = 0, out_bytes = 1;
	REQUIRE_VOID(make_pdf(&page, 1, &pdf, &bytes));
	char long_text[SIGNER_TEXT_BYTES_MAX + 2];
	memset(long_text, 'x', sizeof long_text - 1);
	long_text[sizeof long_text - 1] = '\0';
	int64_t not_before = 0, not_after = 0;
	signer_credential_validity(person, &not_before, &not_after);
	signer_rect off_page = {0, 500, 700, 700, 900}, no_page = {3, 10, 10, 100, 100};
	struct {
		signer_sign_options o;
		signer_err expected;
		const char *what;
	} cases[] = {
	    {{.signing_time_s = not_after + 1}, SIGNER_ERR_EXPIRED, "after the certificate"},
	    {{.signing_time_s = not_before - 1}, SIGNER_ERR_EXPIRED, "before the certificate"},
	    {{.signing_time_s = -1}, SIGNER_ERR_INVALID, "a negative time"},
	    {{.signing_time_s = now_s, .reason = long_text}, SIGNER_ERR_INVALID, "a reason too long"},
	    {{.signing_time_s = now_s, .location = "a\nb"}, SIGNER_ERR_INVALID, "a control character"},
	    {{.signing_time_s = now_s, .name = "\xc3"}, SIGNER_ERR_INVALID, "broken UTF-8"},
	    {{.signing_time_s = now_s, .visible = &off_page}, SIGNER_ERR_RECT, "a rectangle off the page"},
	    {{.signing_time_s = now_s, .visible = &no_page}, SIGNER_ERR_RECT, "a page not there"},
	    {{.signing_time_s = now_s, .pdf_bytes_max = 100}, SIGNER_ERR_TOO_LARGE, "over the size limit"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		signer_err got = signer_pades_sign(pdf, bytes, person, &cases[i].o, &out, &out_bytes);
		CHECK(got == cases[i].expected && !out && out_bytes == 0, "%s: %s (%s)", cases[i].what,
		      signer_strerror(got), signer_last_error());
	}
	signer_sign_options o = {.signing_time_s = now_s};
	CHECK(signer_pades_sign((const uint8_t *)"GIF89a", 6, person, &o, &out, &out_bytes) == SIGNER_ERR_NOT_PDF,
	      "not a PDF");
	CHECK(signer_pades_sign(pdf, bytes / 2, person, &o, &out, &out_bytes) == SIGNER_ERR_CORRUPT, "truncated");
	CHECK(signer_pades_sign(pdf, bytes, NULL, &o, &out, &out_bytes) == SIGNER_ERR_INVALID, "no credential");
	CHECK(signer_pades_sign(pdf, bytes, person, NULL, &out, &out_bytes) == SIGNER_ERR_INVALID, "no options");
	CHECK(signer_pades_sign(pdf, bytes, person, &o, NULL, &out_bytes) == SIGNER_ERR_INVALID, "no output");
	(void)ca;
	free(pdf);
}

typedef struct signing_thread {
	const uint8_t *pdf;
	size_t bytes;
	signer_credential *credential;
	uint8_t *out;
	size_t out_bytes;
	signer_err err;
} signing_thread;

static void *sign_thread(void *arg)
{
	signing_thread *t = arg;
	signer_sign_options o = {.signing_time_s = now_s, .reason = "En parallèle"};
	t->err = signer_pades_sign(t->pdf, t->bytes, t->credential, &o, &t->out, &t->out_bytes);
	return NULL;
}

/* One credential shared by threads signing at once (as ledgerd's workers would). */
static void test_threads(signer_credential *person)
{
	test_page pages[] = {{A4_WIDTH_PT, A4_HEIGHT_PT, 0}, {A4_HEIGHT_PT, A4_WIDTH_PT, 0}};
	uint8_t *pdf = NULL;
	size_t bytes = 0;
	REQUIRE_VOID(make_pdf(pages, 2, &pdf, &bytes));
	signing_thread threads[THREADS];
	for (int i = 0; i < THREADS; i++)
		threads[i] = (signing_thread){pdf, bytes, person, NULL, 0, SIGNER_OK};
	REQUIRE_VOID(run_threads(sign_thread, threads, sizeof threads[0], THREADS));
	for (int i = 0; i < THREADS; i++) {
		CHECK(threads[i].err == SIGNER_OK, "thread %d: %s", i, signer_strerror(threads[i].err));
		char tag[32];
		snprintf(tag, sizeof tag, "thread%d.pdf", i);
		if (threads[i].err == SIGNER_OK)
			CHECK(verify_byte_ranges(threads[i].out, threads[i].out_bytes, tag) == 1, "thread %d", i);
		free(threads[i].out);
	}
	free(pdf);
}

/* dss_check.py on pdf saved as tag; true when it exits 0 and its output holds want. */
static bool dss_says(const uint8_t *pdf, size_t bytes, const char *tag, const char *options, const char *want)
{
	char path[512], command[4096], output[OUTPUT_BYTES];
	if (!pdf || !save(tag, pdf, bytes, path, sizeof path))
		return false;
	snprintf(command, sizeof command, "/usr/bin/python3 '%s/../integration/dss_check.py' '%s' '%s' %s 2>&1",
	         TESTS_UNIT_DIR, path, ca_pem, options);
	bool ok = run(command, output, sizeof output) == 0 && strstr(output, want);
	if (!ok)
		fprintf(stderr, "dss_check %s: %s\n", tag, output);
	return ok;
}

/*
 * /VRI and archive renewal (signer/dss.c, archive.c). Two signers at B-LT: one /VRI entry each,
 * the CA's and the TSA's certificates stored once. A B-LT document has no document time-stamp to
 * renew. A B-LTA one renewed: its bytes a prefix of the result, the signature and both document
 * time-stamps verify, the new time-stamp dated at the renewal by the same unit, the first one
 * with its /VRI entry now.
 */
static size_t occurrences(const uint8_t *data, size_t bytes, const char *needle)
{
	size_t n = 0, length = strlen(needle);
	for (const uint8_t *p = data; (p = memmem(p, bytes - (size_t)(p - data), needle, length)) != NULL; p += length)
		n++;
	return n;
}

/* The B-LTA document lta verifies, and no longer does with one digit of its /VRI entry's /TU (in
 * the last update, with the document time-stamp) changed. */
static bool document_timestamp_covers_dss(signer_ca *ca, const uint8_t *lta, size_t lta_bytes)
{
	uint8_t ca_der[SIGNER_CERT_DER_BYTES_MAX];
	size_t ca_der_bytes = 0;
	signer_verified v;
	if (signer_ca_certificate(ca, ca_der, sizeof ca_der, &ca_der_bytes) != SIGNER_OK ||
	    signer_pdf_verify(lta, lta_bytes, ca_der, ca_der_bytes, &v) != SIGNER_OK || v.timestamps != 1)
		return false;
	const uint8_t *tu = memmem(lta, lta_bytes, "/TU(D:", 6);
	const uint8_t *timestamp = memmem(lta, lta_bytes, "/DocTimeStamp", 13);
	if (!tu || !timestamp)
		return false;
	uint8_t *changed = malloc(lta_bytes);
	if (!changed)
		return false;
	memcpy(changed, lta, lta_bytes);
	size_t at = (size_t)(tu - lta) + 6; /* the year's first digit */
	changed[at] = changed[at] == '2' ? '3' : '2';
	bool refused = signer_pdf_verify(changed, lta_bytes, ca_der, ca_der_bytes, &v) != SIGNER_OK;
	free(changed);
	return refused;
}

static void test_vri_and_renewal(signer_ca *ca, const char *keys)
{
	REQUIRE_VOID(signer_ocsp_enable(ca, keys, now_s) == SIGNER_OK);
	signer_credential *first = credential(ca, SIGNER_KIND_PERSON, "vera@cabinet.fr", "Véra Roux");
	signer_credential *second = credential(ca, SIGNER_KIND_PERSON, "remi@cabinet.fr", "Rémi Roux");
	test_page page = {A4_WIDTH_PT, A4_HEIGHT_PT, 0};
	uint8_t *pdf = NULL, *one = NULL, *two = NULL, *lta = NULL, *renewed = NULL;
	size_t bytes = 0, one_bytes = 0, two_bytes = 0, lta_bytes = 0, renewed_bytes = 0;
	REQUIRE_VOID(first && second && make_pdf(&page, 1, &pdf, &bytes));
	signer_sign_options o = {.signing_time_s = now_s, .reason = "Archivage"};
	CHECK(signer_pades_sign_at_level(ca, first, SIGNER_LEVEL_B_LT, pdf, bytes, &o, &one, &one_bytes) == SIGNER_OK &&
	          signer_pades_sign_at_level(ca, second, SIGNER_LEVEL_B_LT, one, one_bytes, &o, &two, &two_bytes) ==
	              SIGNER_OK,
	      "two signatures at B-LT: %s", signer_last_error());
	CHECK(dss_says(two, two_bytes, "b-lt-twice.pdf", "--ocsp 4 --vri 2", "DSS certs=4 crls=2 ocsps=4 vri=2"),
	      "a /VRI entry per signature; two signers, the TSA and the CA: 4 certificates");
	signer_timestamp_facts facts;
	CHECK(two && signer_pdf_last_timestamp(two, two_bytes, two_bytes, &facts) == SIGNER_ERR_NO_TIMESTAMP,
	      "a B-LT document has no document time-stamp");
	CHECK(two &&
	          signer_pades_renew_timestamp(ca, NULL, two, two_bytes, 0, now_s, &renewed, &renewed_bytes, NULL) ==
	              SIGNER_ERR_NO_TIMESTAMP &&
	          !renewed,
	      "and is not renewed");
	CHECK(signer_pades_renew_timestamp(ca, NULL, (const uint8_t *)"not a pdf", 9, 0, now_s, &renewed,
	                                   &renewed_bytes, NULL) == SIGNER_ERR_NOT_PDF,
	      "bytes that are no PDF");
	REQUIRE_VOID(signer_pades_sign_at_level(ca, first, SIGNER_LEVEL_B_LTA, pdf, bytes, &o, &lta, &lta_bytes) ==
	             SIGNER_OK);
	signer_timestamp_facts before, after;
	CHECK(signer_pdf_last_timestamp(lta, lta_bytes, lta_bytes, &before) == SIGNER_OK && before.time_s == now_s &&
	          before.tsa_serial[0] && before.tsa_not_after_s > now_s,
	      "the B-LTA document's time-stamp: its time, its unit's serial and end: %s", signer_last_error());
	CHECK(dss_says(lta, lta_bytes, "b-lta.pdf", "--ocsp 2 --vri 1", "vri=1"), "B-LTA: the signature's /VRI only");
	CHECK(occurrences(lta, lta_bytes, "%%EOF") == occurrences(pdf, bytes, "%%EOF") + 2,
	      "B-LTA is two updates: the signature, then the /DSS with the document time-stamp over it");
	CHECK(document_timestamp_covers_dss(ca, lta, lta_bytes),
	      "the document time-stamp covers the /DSS of its own update: one changed digit there fails it");
	int64_t later_s = now_s + 600;
	CHECK(signer_pades_renew_timestamp(ca, NULL, lta, lta_bytes, 0, later_s, &renewed, &renewed_bytes, &after) ==
	          SIGNER_OK,
	      "renewed: %s", signer_last_error());
	REQUIRE_VOID(renewed);
	CHECK(renewed_bytes > lta_bytes && memcmp(renewed, lta, lta_bytes) == 0, "the renewal appends to the document");
	CHECK(after.time_s == later_s && strcmp(after.tsa_serial, before.tsa_serial) == 0,
	      "the new time-stamp: at the renewal's time, by the same unit");
	uint8_t ca_der[SIGNER_CERT_DER_BYTES_MAX];
	size_t ca_der_bytes = 0;
	signer_verified v;
	CHECK(signer_ca_certificate(ca, ca_der, sizeof ca_der, &ca_der_bytes) == SIGNER_OK &&
	          signer_pdf_verify(renewed, renewed_bytes, ca_der, ca_der_bytes, &v) == SIGNER_OK &&
	          v.signatures == 1 && v.signature_timestamps == 1 && v.timestamps == 2,
	      "the signature and both document time-stamps verify: %s", signer_last_error());
	CHECK(dss_says(renewed, renewed_bytes, "renewed.pdf", "--ocsp 3 --vri 2", "vri=2"),
	      "the first document time-stamp has its /VRI entry now, with the renewal's fresh CRL and OCSP answer");
	free(renewed);
	free(lta);
	free(two);
	free(one);
	free(pdf);
	signer_credential_free(second);
	signer_credential_free(first);
}

int main(void)
{
	dir = scratch_dir("signer-pades");
	REQUIRE(dir, "scratch directory");
	now_s = (int64_t)time(NULL); /* pdfsig checks certificates against its own clock */
	char keys[400], command[4096], output[OUTPUT_BYTES];
	snprintf(keys, sizeof keys, "%s/keys", dir);
	REQUIRE(signer_ca_init(keys, now_s) == SIGNER_OK, "CA: %s", signer_last_error());
	snprintf(ca_pem, sizeof ca_pem, "%s/%s", keys, SIGNER_CA_CERT_FILE);
	snprintf(nss_dir, sizeof nss_dir, "%s/nss", dir);
	snprintf(empty_nss_dir, sizeof empty_nss_dir, "%s/nss-empty", dir);
	snprintf(command, sizeof command,
	         "mkdir '%s' '%s' && certutil -N -d '%s' --empty-password && certutil -N -d '%s' --empty-password && "
	         "certutil -A -d '%s' -n jse-ledger-ca -t CT,C,C -a -i '%s'",
	         nss_dir, empty_nss_dir, nss_dir, empty_nss_dir, nss_dir, ca_pem);
	REQUIRE(run(command, output, sizeof output) == 0, "NSS database: %s", output);

	signer_ca *ca = NULL;
	REQUIRE(signer_ca_open(keys, &ca) == SIGNER_OK, "open: %s", signer_last_error());
	signer_credential *person = credential(ca, SIGNER_KIND_PERSON, "salima@cabinet.fr", "Salima Ben Ali");
	signer_credential *seal = credential(ca, SIGNER_KIND_SEAL, "JLM", "JLM - Pont-Audemer");
	REQUIRE(person && seal, "credentials");

	test_one_page(person);
	test_three_pages_twice(person, seal);
	test_rotated_upright(person);
	test_refusals(ca, person);
	test_threads(person);
	test_timestamped(ca, keys, person);
	test_vri_and_renewal(ca, keys);

	signer_credential_free(seal);
	signer_credential_free(person);
	signer_ca_free(ca);
	if (getenv("SIGNER_TEST_KEEP")) /* to look at the files */
		printf("kept %s\n", dir);
	else
		remove_dir(dir);
	free(dir);
	return check_report(__FILE__);
}
