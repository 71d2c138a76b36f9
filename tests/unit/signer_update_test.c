/*
 * signer_update_test: the updates signer/update.c appends in one pass, checked from the bytes by
 * code that shares nothing with it.
 *
 *   - byte_ranges.py (hashlib and openssl cms) recomputes the SHA-256 of every /ByteRange and
 *     finds it in the CMS's messageDigest or the document time-stamp's messageImprint, and the
 *     last range ends at the end of the file: the hash update.c carries from one update to the
 *     next covers what the validators hash. Two B-LTA signers in a row, then a renewal, so the
 *     carried hash starts on a document that already holds signatures and time-stamps.
 *   - update.c's own contract, on a signature dictionary made here: the /ByteRange it writes
 *     leaves out exactly /Contents, the answer lands in /Contents as hex, one byte over
 *     SIGNER_CMS_BYTES_MAX is SIGNER_ERR_TOO_LARGE, and a dictionary not where it was written
 *     is SIGNER_ERR_PDF_WRITE: loud errors, never a signature over the wrong bytes;
 *   - a 5 MB document (tests/support/make_pdf.py, as bench-sign signs) at B-LTA passes pdfsig
 *     (the signature valid, the document time-stamp over the whole file listed), qpdf --check and byte_ranges.py;
 *   - an unsigned signature field of the input is left alone, by an invisible B-LTA signature
 *     (three updates, no page loaded) and a visible B-B one (its page loaded, so mupdf
 *     synthesises the field's appearance): qpdf's xref still points at the input's copy of its
 *     object, which qpdf prints as it was.
 */
#include "signer_util.h"

#include "internal.h"
#include "signer.h"

#include <time.h>

#define OUTPUT_BYTES 65536

static char *dir;
static char ca_pem[600], nss_dir[600];
static int64_t now_s;

static signer_credential *credential(signer_ca *ca, const char *id, const char *name)
{
	signer_subject who = {.kind = SIGNER_KIND_PERSON, .id = id, .display_name = name, .organisation = "Cabinet"};
	signer_credential *c = NULL;
	CHECK(signer_credential_get_or_issue(ca, &who, now_s, 30, &c, NULL) == SIGNER_OK, "credential %s: %s", id,
	      signer_last_error());
	return c;
}

static bool save(const char *name, const uint8_t *data, size_t bytes, char *path, size_t path_bytes)
{
	snprintf(path, path_bytes, "%s/%s", dir, name);
	return write_file(path, data, bytes);
}

/* byte_ranges.py's verdict on pdf, saved as name: true if it says want. */
static bool byte_ranges_say(const uint8_t *pdf, size_t bytes, const char *name, const char *want)
{
	char path[700], command[2048], output[OUTPUT_BYTES];
	REQUIRE(save(name, pdf, bytes, path, sizeof path), "write %s", name);
	snprintf(command, sizeof command, "/usr/bin/python3 '%s/byte_ranges.py' '%s'", TESTS_UNIT_DIR, path);
	int status = run(command, output, sizeof output);
	CHECK(status == 0 && strstr(output, want), "%s: byte_ranges.py exit %d, wanted %s:\n%s", name, status, want,
	      output);
	return status == 0 && strstr(output, want);
}

static void test_byte_ranges(signer_ca *ca)
{
	signer_credential *first = credential(ca, "ines@cabinet.fr", "Inès Martin");
	signer_credential *second = credential(ca, "paul@cabinet.fr", "Paul Martin");
	test_page page = {A4_WIDTH_PT, A4_HEIGHT_PT, 0};
	uint8_t *pdf = NULL, *one = NULL, *two = NULL, *renewed = NULL;
	size_t bytes = 0, one_bytes = 0, two_bytes = 0, renewed_bytes = 0;
	REQUIRE_VOID(first && second && make_pdf(&page, 1, &pdf, &bytes));
	signer_sign_options o = {.signing_time_s = now_s, .reason = "Plages"};
	CHECK(signer_pades_sign_at_level(ca, first, SIGNER_LEVEL_B_LTA, pdf, bytes, &o, &one, &one_bytes) == SIGNER_OK,
	      "B-LTA: %s", signer_last_error());
	REQUIRE_VOID(one);
	CHECK(byte_ranges_say(one, one_bytes, "one.pdf", "signatures=1 timestamps=1"),
	      "the signature and the document time-stamp hash what they cover");
	CHECK(signer_pades_sign_at_level(ca, second, SIGNER_LEVEL_B_LTA, one, one_bytes, &o, &two, &two_bytes) ==
	          SIGNER_OK,
	      "B-LTA again: %s", signer_last_error());
	REQUIRE_VOID(two);
	CHECK(two_bytes > one_bytes && memcmp(two, one, one_bytes) == 0, "the second signer appends");
	CHECK(byte_ranges_say(two, two_bytes, "two.pdf", "signatures=2 timestamps=2"),
	      "both signers' signatures and time-stamps hash what they cover");
	CHECK(signer_pades_renew_timestamp(ca, NULL, two, two_bytes, 0, now_s + 60, &renewed, &renewed_bytes, NULL) ==
	          SIGNER_OK,
	      "renewed: %s", signer_last_error());
	REQUIRE_VOID(renewed);
	CHECK(renewed_bytes > two_bytes && memcmp(renewed, two, two_bytes) == 0, "the renewal appends");
	CHECK(byte_ranges_say(renewed, renewed_bytes, "renewed.pdf", "signatures=2 timestamps=3"),
	      "the renewal's time-stamp hashes the whole file before it");
	/* The checker is not blind: one byte changed inside the first range is found. */
	renewed[200] ^= 0x01;
	char path[700], command[2048], output[OUTPUT_BYTES];
	REQUIRE_VOID(save("changed.pdf", renewed, renewed_bytes, path, sizeof path));
	snprintf(command, sizeof command, "/usr/bin/python3 '%s/byte_ranges.py' '%s'", TESTS_UNIT_DIR, path);
	CHECK(run(command, output, sizeof output) == 1 && strstr(output, "does not hold the SHA-256"),
	      "a changed byte: byte_ranges.py refuses: %s", output);
	free(renewed);
	free(two);
	free(one);
	free(pdf);
	signer_credential_free(second);
	signer_credential_free(first);
}

/* A signer_contents_fn answering with `bytes` bytes of 0xab (the digest is checked by others). */
static signer_err fixed_contents(void *state, const uint8_t digest[SIGNER_SHA256_BYTES], uint8_t **der,
                                 size_t *der_bytes)
{
	(void)digest;
	size_t bytes = *(const size_t *)state;
	*der = OPENSSL_malloc(bytes);
	if (!*der)
		return SIGNER_ERR_NOMEM;
	memset(*der, 0xab, bytes);
	*der_bytes = bytes;
	return SIGNER_OK;
}

/* One update holding a signature dictionary as sign_field makes it (placeholder /ByteRange, then
 * /Contents of zeros), signed with an answer of answer_bytes (value_delta added to the object
 * number given to signer_document_sign). Returns its error; *out the document on success. */
static signer_err sign_placeholder(const uint8_t *pdf, size_t bytes, size_t answer_bytes, int value_delta,
                                   uint8_t **out, size_t *out_bytes)
{
	signer_fz fz = {0};
	signer_document d = {0};
	pdf_document *doc = NULL;
	int num = -1;
	size_t start = 0;
	REQUIRE(signer_fz_open(&fz, SIGNER_MUPDF_BYTES_MAX) == SIGNER_OK, "mupdf");
	signer_err err = signer_document_init(&d, pdf, bytes);
	if (!err)
		err = signer_document_open(&fz, &d, &doc);
	char *zeros = calloc(1, SIGNER_CMS_BYTES_MAX);
	REQUIRE(zeros, "memory");
	fz_var(num);
	if (!err) {
		fz_try(fz.ctx)
		{
			pdf_obj *v = pdf_add_new_dict(fz.ctx, doc, 4);
			num = pdf_to_num(fz.ctx, v);
			signer_document_placeholder(fz.ctx, v);
			pdf_dict_put_string(fz.ctx, v, PDF_NAME(Contents), zeros, SIGNER_CMS_BYTES_MAX);
			pdf_dict_put(fz.ctx, v, PDF_NAME(Filter), PDF_NAME(Adobe_PPKLite));
			pdf_dict_puts_drop(fz.ctx, pdf_trailer(fz.ctx, doc), "Test", v);
		}
		fz_catch(fz.ctx) err = SIGNER_ERR_PDF_WRITE;
	}
	free(zeros);
	if (!err)
		err = signer_document_append(&fz, &d, doc, &start);
	pdf_drop_document(fz.ctx, doc);
	if (!err)
		err = signer_document_sign(&d, start, num + value_delta, fixed_contents, &answer_bytes);
	signer_fz_close(&fz);
	if (err)
		signer_document_free(&d);
	else
		signer_document_take(&d, out, out_bytes);
	return err;
}

static void test_contract(void)
{
	test_page page = {A4_WIDTH_PT, A4_HEIGHT_PT, 0};
	uint8_t *pdf = NULL, *out = NULL;
	size_t bytes = 0, out_bytes = 0;
	REQUIRE_VOID(make_pdf(&page, 1, &pdf, &bytes));
	CHECK(sign_placeholder(pdf, bytes, 100, 0, &out, &out_bytes) == SIGNER_OK, "signed: %s", signer_last_error());
	REQUIRE_VOID(out);
	CHECK(out_bytes > bytes && memcmp(out, pdf, bytes) == 0, "the input is a prefix");
	const char *range = memmem(out + bytes, out_bytes - bytes, "/ByteRange[", 11);
	unsigned long long n[4] = {1, 0, 0, 0};
	const char *at = range ? range + 11 : NULL;
	int read = 0;
	for (char *end = NULL; at && read < 4; at = end, read++) {
		n[read] = strtoull(at, &end, 10);
		if (end == at)
			break;
	}
	CHECK(read == 4 && at && *at == ']', "a /ByteRange of 4 numbers");
	unsigned long long a = n[0], b = n[1], c = n[2], e = n[3];
	CHECK(a == 0 && b < c && c + e == out_bytes && out[b] == '<' && out[c - 1] == '>' &&
	          c - b == 2 + 2 * SIGNER_CMS_BYTES_MAX,
	      "the range leaves out exactly /Contents: %llu %llu %llu %llu of %zu", a, b, c, e, out_bytes);
	CHECK(b + 201 < out_bytes && memcmp(out + b + 1, "abababab", 8) == 0 && out[b + 200] == 'b' &&
	          out[b + 201] == '0',
	      "the 100-byte answer in hex, then the zero padding");
	free(out);
	out = NULL;
	CHECK(sign_placeholder(pdf, bytes, SIGNER_CMS_BYTES_MAX + 1, 0, &out, &out_bytes) == SIGNER_ERR_TOO_LARGE &&
	          !out,
	      "one byte over SIGNER_CMS_BYTES_MAX: refused (%s)", signer_last_error());
	CHECK(sign_placeholder(pdf, bytes, SIGNER_CMS_BYTES_MAX, 0, &out, &out_bytes) == SIGNER_OK,
	      "SIGNER_CMS_BYTES_MAX exactly: %s", signer_last_error());
	free(out);
	out = NULL;
	CHECK(sign_placeholder(pdf, bytes, 100, 1, &out, &out_bytes) == SIGNER_ERR_PDF_WRITE && !out,
	      "another object number: the dictionary is not found, refused (%s)", signer_last_error());
	free(pdf);
}

static void test_five_megabytes(signer_ca *ca)
{
	char made[700], command[4096], output[OUTPUT_BYTES];
	snprintf(made, sizeof made, "%s/5m.pdf", dir);
	snprintf(command, sizeof command,
	         "/usr/bin/python3 '%s/../support/make_pdf.py' '%s' --padding-kib 5000 --seed 7 --signature-field",
	         TESTS_UNIT_DIR, made);
	REQUIRE_VOID(run(command, output, sizeof output) == 0);
	size_t bytes = 0, out_bytes = 0;
	uint8_t *pdf = read_file(made, &bytes), *out = NULL;
	REQUIRE_VOID(pdf && bytes > 5000u * 1024u);
	signer_credential *signer = credential(ca, "large@cabinet.fr", "Léa Grand");
	REQUIRE_VOID(signer);
	signer_sign_options o = {.signing_time_s = now_s, .reason = "Gros fichier"};
	CHECK(signer_pades_sign_at_level(ca, signer, SIGNER_LEVEL_B_LTA, pdf, bytes, &o, &out, &out_bytes) == SIGNER_OK,
	      "5 MB at B-LTA: %s", signer_last_error());
	REQUIRE_VOID(out);
	CHECK(out_bytes > bytes && memcmp(out, pdf, bytes) == 0, "the input is a prefix of the output");
	char path[700];
	REQUIRE_VOID(save("5m-lta.pdf", out, out_bytes, path, sizeof path));
	snprintf(command, sizeof command, "pdfsig -nssdir '%s' '%s'", nss_dir, path);
	run(command, output, sizeof output);
	CHECK(count_of(output, "Signature is Valid.") == 1 && strstr(output, "Léa Grand") &&
	          count_of(output, "Signature #") == 3 && count_of(output, "Total document signed") == 1 &&
	          strstr(output, "The signature form field is not signed."), /* make_pdf.py's empty field */
	      "pdfsig: the signature valid, the document time-stamp over the whole file listed:\n%s", output);
	snprintf(command, sizeof command, "qpdf --check '%s'", path);
	int status = run(command, output, sizeof output);
	CHECK(status == 0 && strstr(output, "No syntax or stream encoding errors"), "qpdf %d:\n%s", status, output);
	CHECK(byte_ranges_say(out, out_bytes, "5m-lta-ranges.pdf", "signatures=1 timestamps=1"),
	      "5 MB: the ranges hash to what the CMS and the token say");
	free(out);
	free(pdf);
	signer_credential_free(signer);
}

/* qpdf's answer for object 6 (make_pdf.py's empty field): its xref line and the object. */
static bool qpdf_object_6(const char *path, char *xref, size_t xref_bytes, char *object, size_t object_bytes)
{
	char command[1024], output[OUTPUT_BYTES];
	snprintf(command, sizeof command, "qpdf --show-xref '%s'", path);
	if (run(command, output, sizeof output) != 0)
		return false;
	const char *line = strstr(output, "\n6/0: ");
	if (!line)
		return false;
	snprintf(xref, xref_bytes, "%.*s", (int)strcspn(line + 1, "\n"), line + 1);
	snprintf(command, sizeof command, "qpdf --show-object=6 '%s'", path);
	return run(command, object, object_bytes) == 0;
}

/* Signs make_pdf.py's document with its empty field (object 6) and checks that object. */
static void check_other_field_untouched(signer_ca *ca, const signer_credential *signer, signer_level level,
                                        const signer_rect *visible, const char *name)
{
	char made[700], command[4096], output[OUTPUT_BYTES];
	snprintf(made, sizeof made, "%s/field.pdf", dir);
	snprintf(command, sizeof command,
	         "/usr/bin/python3 '%s/../support/make_pdf.py' '%s' --padding-kib 100 --seed 3 --signature-field",
	         TESTS_UNIT_DIR, made);
	REQUIRE_VOID(run(command, output, sizeof output) == 0);
	size_t bytes = 0, out_bytes = 0;
	uint8_t *pdf = read_file(made, &bytes), *out = NULL;
	REQUIRE_VOID(pdf);
	signer_sign_options o = {.signing_time_s = now_s, .visible = visible};
	CHECK(signer_pades_sign_at_level(ca, signer, level, pdf, bytes, &o, &out, &out_bytes) == SIGNER_OK,
	      "%s beside an empty field: %s", name, signer_last_error());
	free(pdf);
	REQUIRE_VOID(out);
	char path[700], xref_in[128], xref_out[128], object_in[4096], object_out[4096];
	snprintf(command, sizeof command, "field-%s.pdf", name);
	REQUIRE_VOID(save(command, out, out_bytes, path, sizeof path));
	free(out);
	REQUIRE_VOID(qpdf_object_6(made, xref_in, sizeof xref_in, object_in, sizeof object_in));
	REQUIRE_VOID(qpdf_object_6(path, xref_out, sizeof xref_out, object_out, sizeof object_out));
	CHECK(strcmp(xref_in, xref_out) == 0, "%s: object 6 is where the input has it: %s, now %s", name, xref_in,
	      xref_out);
	CHECK(strcmp(object_in, object_out) == 0 && !strstr(object_out, "/AP"), "%s: object 6 unchanged: %s, now %s",
	      name, object_in, object_out);
	snprintf(command, sizeof command, "pdfsig -nssdir '%s' '%s'", nss_dir, path);
	run(command, output, sizeof output);
	CHECK(count_of(output, "Signature is Valid.") == 1 && strstr(output, "Paul Champ") &&
	          strstr(output, "The signature form field is not signed."),
	      "%s: pdfsig: ours valid, the other field unsigned:\n%s", name, output);
}

static void test_other_field_untouched(signer_ca *ca)
{
	signer_credential *signer = credential(ca, "field@cabinet.fr", "Paul Champ");
	REQUIRE_VOID(signer);
	check_other_field_untouched(ca, signer, SIGNER_LEVEL_B_LTA, NULL, "invisible-lta");
	signer_rect visible = {0, 50, 50, 250, 120};
	check_other_field_untouched(ca, signer, SIGNER_LEVEL_B_B, &visible, "visible-b");
	signer_credential_free(signer);
}

int main(void)
{
	dir = scratch_dir("signer-update");
	REQUIRE(dir, "scratch directory");
	now_s = (int64_t)time(NULL); /* pdfsig checks certificates against its own clock */
	char keys[400], command[4096], output[OUTPUT_BYTES];
	snprintf(keys, sizeof keys, "%s/keys", dir);
	REQUIRE(signer_ca_init(keys, now_s) == SIGNER_OK, "CA: %s", signer_last_error());
	snprintf(ca_pem, sizeof ca_pem, "%s/%s", keys, SIGNER_CA_CERT_FILE);
	snprintf(nss_dir, sizeof nss_dir, "%s/nss", dir);
	snprintf(command, sizeof command,
	         "mkdir '%s' && certutil -N -d '%s' --empty-password && certutil -A -d '%s' -n jse-ledger-ca -t CT,C,C "
	         "-a -i '%s'",
	         nss_dir, nss_dir, nss_dir, ca_pem);
	REQUIRE(run(command, output, sizeof output) == 0, "NSS database: %s", output);
	signer_ca *ca = NULL;
	REQUIRE(signer_ca_open(keys, &ca) == SIGNER_OK, "open: %s", signer_last_error());
	REQUIRE(signer_tsa_enable(ca, keys, now_s) == SIGNER_OK && signer_ocsp_enable(ca, keys, now_s) == SIGNER_OK,
	        "TSA and OCSP: %s", signer_last_error());

	test_contract();
	test_byte_ranges(ca);
	test_five_megabytes(ca);
	test_other_field_untouched(ca);

	signer_ca_free(ca);
	if (getenv("SIGNER_TEST_KEEP")) /* to look at the files */
		printf("kept %s\n", dir);
	else
		remove_dir(dir);
	free(dir);
	return check_report(__FILE__);
}
