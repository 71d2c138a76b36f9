/*
 * signing_test: real PDFs signed end to end, and judged by validators that share no code with
 * ledgerd (pdfsig, qpdf, openssl cms). A two-page PDF built here goes through a collection with
 * an internal signer (a visible field on page 2) and an external one; the final version holds
 * two valid PAdES signatures whose CMS verify against the signer's CA over exactly their
 * /ByteRange, and stop verifying when one byte of that range changes. Each version is a prefix
 * of the next and every one is retrievable. A seal collection is sealed in the firm's name; a
 * declined collection signs nothing and gives its credits back. The log still verifies and
 * replays once ledgerd has stopped, and verify reports a signer's certificate missing from
 * beside the log when no erasure removed it.
 */
#include "../check.h"
#include "../support/scratch.h"
#include "harness.h"
#include "pdf.h"
#include "ledger.h"

#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#define FIRM         "JLM"
#define FIRM_NAME    "Cabinet Martin"
#define EC           "ec@cabinet.fr"
#define SIGNER       "claire@cabinet.fr"
#define SIGNER_NAME  "Claire Dubois"
#define SEALER       "sam@cabinet.fr"
#define CLIENT       "paul@client.fr"
#define CLIENT_NAME  "Paul Lefebvre"
#define CLIENT_PHONE "+33612345678"

#define PDF_BYTES_MAX     8192u
#define SIGNATURES_MAX    8u
#define WAIT_MS_MAX       60000 /* the signer thread under ASan: generous */
#define POLL_MS           100
#define COMMAND_BYTES_MAX 2048u
#define OUTPUT_BYTES_MAX  16384u
#define SIGNED_EVENTS_MAX 16u
#define TEST_START        "2026-11-29T10:00:00Z"
#define SIGNED_AT_S       1795950000ll /* TEST_START + 1 h: when the signatures are checked */

typedef Ledger__Api__CollectionView view;

static harness h;
static fixture_sender to_ledgerd;
static char work[64]; /* where the files the validators read go */

/* The versions of the signed document: as uploaded, after the first signature, final. */
static uint8_t original_sha[32], first_sha[32], final_sha[32];
/* The two-signer B-LTA collection, and the B-B seal's: what the archive renewal is tried on. */
static char signed_collection[32], b_b_collection[32];

/* ----- PDF ----- */

/* Two A4 pages: the title on the first, the signatures' page second. Returns its length, 0 if
 * it does not fit. */
static size_t pdf_build(uint8_t *out, size_t cap, const char *title)
{
	const char *texts[2] = {title, "Signatures"};
	return test_pdf_write(out, cap, &(test_pdf_spec){.tag = title, .pages = 2, .texts = texts});
}

/* ----- files and validators ----- */

static bool file_write(const char *name, const uint8_t *data, size_t n, char *path, size_t path_bytes)
{
	snprintf(path, path_bytes, "%s/%s", work, name);
	return write_file(path, data, n);
}

static size_t count_of(const char *haystack, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(haystack, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Runs a validator on path; its output in out. */
static int validate(const char *fmt, const char *path, char *out, size_t out_bytes)
{
	char cmd[COMMAND_BYTES_MAX];
	snprintf(cmd, sizeof cmd, fmt, path);
	return harness_run(cmd, out, out_bytes);
}

/* ----- RPC ----- */

typedef struct credits {
	uint64_t available, reserved, used;
} credits;

static credits credits_now(void)
{
	Ledger__Api__Reply *r = harness_credits_show(&h, EC, FIRM, 1);
	credits c = {~0ull, ~0ull, ~0ull};
	if (r && r->credits)
		c = (credits){r->credits->available, r->credits->reserved, r->credits->used};
	harness_code_of(r);
	return c;
}

/* Creates a collection as `as`; its id in id. */
static bool collection_create(const char *as, Ledger__Events__CollectionKind kind, const char *title, char id[32])
{
	Ledger__Api__CollectionCreate c = LEDGER__API__COLLECTION_CREATE__INIT;
	c.firm_id = (char *)FIRM;
	c.kind = kind;
	c.title = (char *)title;
	Ledger__Api__Reply *r = harness_ask(&h, as, LEDGER__API__REQUEST__BODY_COLLECTION_CREATE, &c);
	bool ok = r && !r->error && r->collection && r->collection->collection;
	snprintf(id, 32, "%s", ok ? r->collection->collection->collection_id : "");
	harness_code_of(r);
	return ok;
}

static int document_add(const char *as, const char *id, const uint8_t *pdf, size_t n, const char *filename)
{
	return fixture_document_add(&to_ledgerd, as, FIRM, id, pdf, n, filename);
}

static int signer_add(const char *id, const char *email, const char *name, const char *phone)
{
	return fixture_signer_add(&to_ledgerd, EC, FIRM, id, email, name, phone);
}

/* The signer's order, and the collection's: sequential, in that order. */
static int order_set(const char *id, const char *first, const char *second)
{
	Ledger__Api__CollectionModify c = LEDGER__API__COLLECTION_MODIFY__INIT;
	Ledger__Api__CollectionRef ref;
	char *order[2] = {(char *)first, (char *)second};
	ref = fixture_ref(FIRM, id);
	c.ref = &ref;
	c.order = LEDGER__EVENTS__SIGNING_ORDER__ORDER_SEQUENTIAL;
	c.signer_order = order;
	c.n_signer_order = 2;
	return harness_send(&h, EC, LEDGER__API__REQUEST__BODY_COLLECTION_MODIFY, &c);
}

/* A field for signer on page 2 of the document: PDF points from the bottom-left corner. */
static int field_set(const char *id, const char *signer, const uint8_t sha[32])
{
	Ledger__Api__FieldSet c = LEDGER__API__FIELD_SET__INIT;
	Ledger__Api__CollectionRef ref;
	ref = fixture_ref(FIRM, id);
	c.ref = &ref;
	c.signer = (char *)signer;
	c.document_sha256 = (ProtobufCBinaryData){32, (uint8_t *)sha};
	c.page = 2;
	c.x0 = 320, c.y0 = 80, c.x1 = 540, c.y1 = 150;
	return harness_send(&h, EC, LEDGER__API__REQUEST__BODY_FIELD_SET, &c);
}

static int act(const char *as, const char *id, Ledger__Api__CollectionAct__Act what)
{
	return fixture_act(&to_ledgerd, as, FIRM, id, what, NULL);
}

/* What the platform reports of an external signer. */
/* As the platform reports it: an authentication says where the code went (masked) and when; a
 * consent comes after an authentication, over the documents' current versions. */
static int report(const char *id, const char *signer, Ledger__Events__SignerAction action, const char *method,
                  const char *comment)
{
	if (action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED)
		return harness_consent(&h, FIRM, id, signer);
	if (action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_AUTHENTICATED)
		return fixture_signer_report(&to_ledgerd, FIRM, id,
		                             &(fixture_report){.signer = signer,
		                                               .action = action,
		                                               .method = method,
		                                               .provider_reference = "OTP-2026-5531",
		                                               .masked_destination = "+33 6** ** ** 31",
		                                               .code_sent_at_us = (int64_t)(h.now_s - 60) * 1000000});
	return fixture_signer_report(&to_ledgerd, FIRM, id,
	                             &(fixture_report){.signer = signer,
	                                               .action = action,
	                                               .method = method,
	                                               .provider_reference = "OTP-2026-5531",
	                                               .comment = comment});
}

static Ledger__Api__Reply *show(const char *id)
{
	return harness_collection_view(&h, EC, FIRM, id);
}

static const view *view_of(const Ledger__Api__Reply *r)
{
	return r->collection->collection;
}

/* ----- waiting for the signer thread ----- */

typedef bool (*view_test)(const view *v, const void *arg);

static bool in_state(const view *v, const void *arg)
{
	return v->state == *(const Ledger__Events__CollectionState *)arg;
}

static bool has_signed(const view *v, const void *arg)
{
	for (size_t i = 0; i < v->n_signers; i++)
		if (strcmp(v->signers[i]->email, arg) == 0)
			return v->signers[i]->signed_;
	return false;
}

/* Polls the collection until done(view, arg); the last reply (caller frees), NULL on timeout. */
static Ledger__Api__Reply *wait_for(const char *id, view_test done, const void *arg)
{
	for (int waited_ms = 0; waited_ms < WAIT_MS_MAX; waited_ms += POLL_MS) {
		Ledger__Api__Reply *r = show(id);
		if (r && done(view_of(r), arg))
			return r;
		harness_code_of(r);
		usleep(POLL_MS * 1000);
	}
	return NULL;
}

static bool wait_state(const char *id, Ledger__Events__CollectionState s)
{
	Ledger__Api__Reply *r = wait_for(id, in_state, &s);
	return harness_code_of(r) == 0;
}

static Ledger__Api__Reply *document_reply(const uint8_t sha[32])
{
	Ledger__Api__DocumentGet q = LEDGER__API__DOCUMENT_GET__INIT;
	q.firm_id = (char *)FIRM;
	q.sha256 = (ProtobufCBinaryData){32, (uint8_t *)sha};
	return harness_ask(&h, EC, LEDGER__API__REQUEST__BODY_DOCUMENT_GET, &q);
}

/* The stored bytes of one version of a document (malloc'd), or NULL. */
static uint8_t *document_get(const uint8_t sha[32], size_t *n)
{
	Ledger__Api__Reply *r = document_reply(sha);
	uint8_t *out = NULL;
	*n = 0;
	if (r && r->document && (out = malloc(r->document->content.len + 1))) {
		memcpy(out, r->document->content.data, r->document->content.len);
		*n = r->document->content.len;
	}
	harness_code_of(r);
	return out;
}

static bool sha_equal(const ProtobufCBinaryData *a, const uint8_t b[32])
{
	return a->len == 32 && memcmp(a->data, b, 32) == 0;
}

/* ----- signatures in a PDF ----- */

typedef struct signature {
	size_t range[4];
	uint8_t cms[8192];
	size_t cms_bytes;
} signature;

/* The length of the DER value at der (its header included), 0 if it is not a SEQUENCE. */
static size_t der_length(const uint8_t *der, size_t n)
{
	if (n < 2 || der[0] != 0x30)
		return 0;
	if (der[1] < 0x80)
		return 2u + der[1];
	size_t k = der[1] & 0x7f, len = 0;
	if (k > 4 || 2 + k > n)
		return 0;
	for (size_t i = 0; i < k; i++)
		len = len << 8 | der[2 + i];
	return 2 + k + len <= n ? 2 + k + len : 0;
}

/* Decodes the hex string between '<' and '>' of the gap into s->cms, trimmed to its DER. */
static bool contents_decode(const uint8_t *pdf, signature *s)
{
	size_t hex = s->range[2] - s->range[1] - 2, bytes = hex / 2;
	if (hex % 2 || bytes > sizeof s->cms)
		return false;
	for (size_t i = 0; i < bytes; i++) {
		char pair[3] = {(char)pdf[s->range[1] + 1 + 2 * i], (char)pdf[s->range[1] + 2 + 2 * i], 0};
		char *end;
		s->cms[i] = (uint8_t)strtoul(pair, &end, 16);
		if (*end)
			return false;
	}
	s->cms_bytes = der_length(s->cms, bytes);
	return s->cms_bytes > 0;
}

/* Parses the signature dictionary whose "/ByteRange" is at `at`: "/ByteRange [a b c d]", then
 * "/Contents <hex>", the hex string being exactly the gap between the two ranges. */
static bool signature_parse(const uint8_t *pdf, size_t n, size_t at, signature *s)
{
	char text[160];
	size_t len = n - at < sizeof text - 1 ? n - at : sizeof text - 1;
	memcpy(text, pdf + at, len);
	text[len] = '\0';
	char *p = text + strlen("/ByteRange");
	p += strspn(p, " \r\n");
	if (*p++ != '[')
		return false;
	for (int i = 0; i < 4; i++)
		s->range[i] = (size_t)strtoull(p, &p, 10);
	p += strspn(p, " \r\n");
	if (*p++ != ']')
		return false;
	p += strspn(p, " \r\n");
	if (strncmp(p, "/Contents", 9) != 0)
		return false;
	p += 9;
	p += strspn(p, " \r\n");
	size_t contents_at = at + (size_t)(p - text);
	return *p == '<' && s->range[0] == 0 && contents_at == s->range[1] && s->range[1] + 2 < s->range[2] &&
	       s->range[2] + s->range[3] <= n && pdf[s->range[2] - 1] == '>' && contents_decode(pdf, s);
}

static size_t signatures_find(const uint8_t *pdf, size_t n, signature *out, size_t max)
{
	size_t count = 0;
	const uint8_t *p = pdf;
	while (count < max && (p = memmem(p, n - (size_t)(p - pdf), "/ByteRange", 10)) != NULL) {
		CHECK(signature_parse(pdf, n, (size_t)(p - pdf), &out[count]), "signature %zu at offset %zu parses",
		      count + 1, (size_t)(p - pdf));
		count++;
		p += 10;
	}
	return count;
}

/* openssl cms -verify of the CMS over the signed bytes (the two ranges); 0 if it verifies. */
static int cms_verify(const signature *s, const uint8_t *content, size_t content_bytes, char *out, size_t out_bytes)
{
	char der[300], data[300], cmd[COMMAND_BYTES_MAX];
	if (!file_write("sig.der", s->cms, s->cms_bytes, der, sizeof der) ||
	    !file_write("data.bin", content, content_bytes, data, sizeof data))
		return -1;
	/* At the signing time: the external signer's one-shot certificate is valid for a day from
	 * then (the test's clock), long past by the machine's clock that openssl reads. */
	snprintf(cmd, sizeof cmd,
	         "openssl cms -verify -binary -inform DER -in '%s' -content '%s' -CAfile '%s/keys/signer-ca.pem' "
	         "-purpose any -attime %lld -out /dev/null 2>&1",
	         der, data, h.dir, (long long)SIGNED_AT_S);
	return harness_run(cmd, out, out_bytes);
}

/*
 * PAdES B-T: the signature's unsigned attribute id-aa-signatureTimeStampToken holds an RFC 3161
 * token that `openssl ts -verify` accepts against the CA over the SHA-256 of the signature
 * value (and refuses over another digest), under the TSA's policy.
 */
static void timestamp_verify(const signature *s, size_t index)
{
	const unsigned char *p = s->cms;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)s->cms_bytes);
	STACK_OF(CMS_SignerInfo) *infos = cms ? CMS_get0_SignerInfos(cms) : NULL;
	CMS_SignerInfo *si = infos && sk_CMS_SignerInfo_num(infos) == 1 ? sk_CMS_SignerInfo_value(infos, 0) : NULL;
	int at = si ? CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1) : -1;
	X509_ATTRIBUTE *attribute = at >= 0 ? CMS_unsigned_get_attr(si, at) : NULL;
	ASN1_TYPE *value = attribute ? X509_ATTRIBUTE_get0_type(attribute, 0) : NULL;
	CHECK(value && value->type == V_ASN1_SEQUENCE, "signature %zu carries a signature time-stamp (B-T)", index);
	if (!value || value->type != V_ASN1_SEQUENCE) {
		CMS_ContentInfo_free(cms);
		return;
	}
	const ASN1_OCTET_STRING *signature_value = CMS_SignerInfo_get0_signature(si);
	uint8_t digest[32];
	char hex[65], token[300], cmd[COMMAND_BYTES_MAX], out[OUTPUT_BYTES_MAX];
	SHA256(ASN1_STRING_get0_data(signature_value), (size_t)ASN1_STRING_length(signature_value), digest);
	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	bool written = file_write("token.der", value->value.sequence->data, (size_t)value->value.sequence->length,
	                          token, sizeof token);
	CMS_ContentInfo_free(cms);
	REQUIRE_VOID(written);
	snprintf(cmd, sizeof cmd,
	         "openssl ts -verify -digest %s -in '%s' -token_in -CAfile '%s/keys/signer-ca.pem' 2>&1", hex, token,
	         h.dir);
	int rc = harness_run(cmd, out, sizeof out);
	CHECK(rc == 0 && strstr(out, "Verification: OK"), "signature %zu: openssl ts -verify: %s", index, out);
	hex[0] = hex[0] == '0' ? '1' : '0';
	snprintf(cmd, sizeof cmd,
	         "openssl ts -verify -digest %s -in '%s' -token_in -CAfile '%s/keys/signer-ca.pem' 2>&1", hex, token,
	         h.dir);
	rc = harness_run(cmd, out, sizeof out);
	CHECK(rc != 0, "signature %zu: the token does not verify over another digest", index);
	snprintf(cmd, sizeof cmd, "openssl ts -reply -in '%s' -token_in -text 2>&1", token);
	rc = harness_run(cmd, out, sizeof out);
	CHECK(rc == 0 && strstr(out, "Policy OID: 2.25.255447016286374935616187049429582350657") &&
	          strstr(out, "Hash Algorithm: sha256") && strstr(out, "Time stamp: "),
	      "signature %zu: the token's policy, hash and time: %s", index, out);
}

/* A /Contents that is an RFC 3161 time-stamp token (a document time-stamp, B-LTA) rather than a
 * CAdES signature: its SignedData encapsulates a TSTInfo. */
static bool is_document_timestamp(const signature *s)
{
	const unsigned char *p = s->cms;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)s->cms_bytes);
	const ASN1_OBJECT *type = cms ? CMS_get0_eContentType(cms) : NULL;
	bool stamp = type && OBJ_obj2nid(type) == NID_id_smime_ct_TSTInfo;
	CMS_ContentInfo_free(cms);
	return stamp;
}

/* What signature s covers: its two byte ranges of pdf, end to end (malloc'd, *bytes long; NULL
 * when out of memory). */
static uint8_t *signed_content(const uint8_t *pdf, const signature *s, size_t *bytes)
{
	*bytes = s->range[1] + s->range[3];
	uint8_t *content = malloc(*bytes);
	if (content) {
		memcpy(content, pdf, s->range[1]);
		memcpy(content + s->range[1], pdf + s->range[2], s->range[3]);
	}
	return content;
}

/* A document time-stamp: `openssl ts -verify -data` over exactly its byte ranges, against the CA;
 * refused once one byte of them changes. */
static void document_timestamp_verify(const uint8_t *pdf, const signature *s, size_t index)
{
	size_t content_bytes;
	uint8_t *content = signed_content(pdf, s, &content_bytes);
	REQUIRE_VOID(content != NULL);
	char token[300], data[300], cmd[COMMAND_BYTES_MAX], out[OUTPUT_BYTES_MAX];
	bool written = file_write("stamp.der", s->cms, s->cms_bytes, token, sizeof token) &&
	               file_write("stamped.bin", content, content_bytes, data, sizeof data);
	REQUIRE_VOID(written);
	snprintf(cmd, sizeof cmd,
	         "openssl ts -verify -data '%s' -in '%s' -token_in -CAfile '%s/keys/signer-ca.pem' 2>&1", data, token,
	         h.dir);
	int rc = harness_run(cmd, out, sizeof out);
	CHECK(rc == 0 && strstr(out, "Verification: OK"), "document time-stamp %zu: openssl ts -verify -data: %s",
	      index, out);
	content[content_bytes / 2] ^= 0x01;
	written = file_write("stamped.bin", content, content_bytes, data, sizeof data);
	rc = harness_run(cmd, out, sizeof out);
	CHECK(written && rc != 0, "document time-stamp %zu: refused over a changed byte", index);
	free(content);
}

/* Each signature's CMS verifies over exactly its ranges, and fails once one byte changes. */
static void signature_verify(const uint8_t *pdf, const signature *s, size_t index)
{
	size_t content_bytes;
	uint8_t *content = signed_content(pdf, s, &content_bytes);
	REQUIRE_VOID(content != NULL);
	char out[OUTPUT_BYTES_MAX];
	int rc = cms_verify(s, content, content_bytes, out, sizeof out);
	CHECK(rc == 0, "signature %zu: openssl cms -verify over its /ByteRange exits 0, got %d: %s", index, rc, out);
	content[s->range[1] / 2] ^= 0x01; /* inside the first range */
	rc = cms_verify(s, content, content_bytes, out, sizeof out);
	CHECK(rc != 0, "signature %zu: a flipped byte in the first range must fail openssl cms -verify (exit %d)",
	      index, rc);
	free(content);
	timestamp_verify(s, index);
}

/* ----- the story ----- */

static void setup(void)
{
	CHECK(fixture_account(&to_ledgerd, EC, "Jean Martin", true) == 0, "EC account");
	CHECK(fixture_account(&to_ledgerd, SIGNER, SIGNER_NAME, false) == 0, "signer account");
	CHECK(fixture_account(&to_ledgerd, SEALER, "Sam Girard", false) == 0, "sealer account");
	CHECK(fixture_firm(&to_ledgerd, FIRM, FIRM_NAME, EC) == 0, "firm");
	CHECK(fixture_credits(&to_ledgerd, EC, FIRM, 100, "PO-2026-118") == 0, "credits");
	CHECK(fixture_grant(&to_ledgerd, EC, FIRM, SIGNER, LEDGER__EVENTS__RIGHT__RIGHT_SIGN, "2027-12-31") == 0,
	      "grant sign");
	CHECK(fixture_grant(&to_ledgerd, EC, FIRM, SEALER, LEDGER__EVENTS__RIGHT__RIGHT_SEAL, "2027-12-31") == 0,
	      "grant seal");
	/* The five registration steps, as the platform records them (registration_test.c). */
	for (int step = 1; step <= 5; step++)
		CHECK(fixture_registration_step_named(&to_ledgerd, SIGNER, (Ledger__Events__RegistrationStep)step,
		                                      "Claire", "Dubois") == 0,
		      "registration step %d of %s", step, SIGNER);
}

/* A draft with the PDF, the internal signer first (a field on page 2), the client second; sent. */
static bool collection_prepare(char id[32], const uint8_t *pdf, size_t n)
{
	if (!collection_create(EC, LEDGER__EVENTS__COLLECTION_KIND__KIND_SIGNATURE, "Lettre de mission 2026", id)) {
		CHECK(false, "create the collection");
		return false;
	}
	CHECK(document_add(EC, id, pdf, n, "lettre-de-mission.pdf") == 0, "document add");
	CHECK(signer_add(id, SIGNER, NULL, NULL) == 0, "internal signer");
	CHECK(signer_add(id, CLIENT, CLIENT_NAME, CLIENT_PHONE) == 0, "external signer");
	CHECK(order_set(id, SIGNER, CLIENT) == 0, "sequential, internal signer first");
	CHECK(field_set(id, SIGNER, original_sha) == 0, "field on page 2");
	Ledger__Api__Reply *r = show(id);
	CHECK(r != NULL, "show");
	if (!r)
		return false;
	const view *v = view_of(r);
	CHECK(v->n_documents == 1 && sha_equal(&v->documents[0]->sha256, original_sha) && v->documents[0]->pages == 2,
	      "the document as uploaded: its SHA-256, 2 pages");
	CHECK(v->n_documents == 1 && v->documents[0]->n_fields == 1 && v->documents[0]->fields[0]->page == 2,
	      "the field");
	harness_code_of(r);
	int sent = act(EC, id, LEDGER__API__COLLECTION_ACT__ACT__SEND);
	CHECK(sent == 0, "EC sends: %d", sent);
	return sent == 0;
}

/* The DocumentSigned of signer in collection id: the seqs of the consent and authentication. */
typedef struct rests_read {
	const char *id, *signer;
	uint64_t consent_seq, authentication_seq;
} rests_read;

static bool rests_event(void *ctx, const ledger_record *rec, const Ledger__Events__Event *ev)
{
	(void)rec;
	rests_read *s = ctx;
	if (ev && ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED &&
	    strcmp(ev->document_signed->collection_id, s->id) == 0 &&
	    strcmp(ev->document_signed->signer, s->signer) == 0) {
		s->consent_seq = ev->document_signed->consent_seq;
		s->authentication_seq = ev->document_signed->authentication_seq;
		return false;
	}
	return true;
}

/* Each signature names the act it was made on and the authentication that act rests on. Events
 * name an external signer by their id (docs/personal-data.md): found from the view. */
static void check_rests_on(const char *id, const char *email)
{
	static char signer[64];
	snprintf(signer, sizeof signer, "%s", email);
	Ledger__Api__Reply *r = show(id);
	const view *v = r ? view_of(r) : NULL;
	for (size_t i = 0; v && i < v->n_signers; i++)
		if (strcmp(v->signers[i]->email, email) == 0 && v->signers[i]->signer_id[0])
			snprintf(signer, sizeof signer, "%s", v->signers[i]->signer_id);
	harness_code_of(r);
	rests_read s = {id, signer, 0, 0};
	harness_log_scan(&h, 0, rests_event, &s);
	CHECK(s.authentication_seq > 0 && s.consent_seq > s.authentication_seq,
	      "%s's DocumentSigned names its consent (seq %llu) and the earlier authentication (seq %llu)", signer,
	      (unsigned long long)s.consent_seq, (unsigned long long)s.authentication_seq);
}

static void sign_both(const char *id)
{
	CHECK(report(id, CLIENT, LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED, "", "") ==
	          LEDGER__API__ERROR_CODE__FAILED_PRECONDITION,
	      "sequential: the client may not consent before the internal signer has signed");
	CHECK(act(SIGNER, id, LEDGER__API__COLLECTION_ACT__ACT__SIGN) == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION,
	      "the internal signer may not sign without a fresh authentication and the versions shown");
	CHECK(harness_sign(&h, SIGNER, FIRM, id) == 0, "the internal signer authenticates and signs");
	CHECK(act(SIGNER, id, LEDGER__API__COLLECTION_ACT__ACT__SIGN) == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION,
	      "signing twice is refused");
	Ledger__Api__Reply *r = wait_for(id, has_signed, SIGNER);
	CHECK(r != NULL, "the internal signer's signature is recorded within %d ms", WAIT_MS_MAX);
	if (r) {
		const view *v = view_of(r);
		CHECK(v->documents[0]->current_sha256.len == 32 &&
		          !sha_equal(&v->documents[0]->current_sha256, original_sha),
		      "a new current version after the first signature");
		if (v->documents[0]->current_sha256.len == 32)
			memcpy(first_sha, v->documents[0]->current_sha256.data, 32);
		CHECK(v->n_signers == 2 && v->signers[1]->turn, "then the client's turn");
	}
	harness_code_of(r);
	CHECK(report(id, CLIENT, LEDGER__EVENTS__SIGNER_ACTION__SIGNER_AUTHENTICATED, "sms", "") == 0, "authenticated");
	CHECK(report(id, CLIENT, LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED, "", "") == 0, "consented");
	CHECK(wait_state(id, LEDGER__EVENTS__COLLECTION_STATE__STATE_COMPLETED), "COMPLETED within %d ms", WAIT_MS_MAX);
	r = show(id);
	REQUIRE_VOID(r != NULL);
	const view *v = view_of(r);
	const Ledger__Api__DocumentView *d = v->documents[0];
	CHECK(d->current_sha256.len == 32 && d->n_signed_by == 2 && strcmp(d->signed_by[0], SIGNER) == 0 &&
	          strcmp(d->signed_by[1], CLIENT) == 0,
	      "signed by both, in order: %zu signers", d->n_signed_by);
	if (v->documents[0]->current_sha256.len == 32)
		memcpy(final_sha, v->documents[0]->current_sha256.data, 32);
	check_rests_on(id, SIGNER);
	check_rests_on(id, CLIENT);
	CHECK(v->credits_used == 2 && v->credits_reserved == 2,
	      "2 credits used of 2 reserved (used %llu, reserved %llu)", (unsigned long long)v->credits_used,
	      (unsigned long long)v->credits_reserved);
	harness_code_of(r);
}

/* The internal signer's widget is on page 2 (object 4: test_pdf_page_object(1)) where the field was placed:
 * the same bottom-left PDF frame, no flip on the way through the signer. */
static void check_visible_field(const char *path)
{
	char out[OUTPUT_BYTES_MAX], fmt[COMMAND_BYTES_MAX];
	int rc = validate("qpdf --show-object=4 '%s' 2>&1", path, out, sizeof out);
	const char *annots = strstr(out, "/Annots [ ");
	unsigned long widget = annots ? strtoul(annots + strlen("/Annots [ "), NULL, 10) : 0;
	CHECK(rc == 0 && widget > 0, "page 2 has an annotation (exit %d): %s", rc, out);
	snprintf(fmt, sizeof fmt, "qpdf --show-object=%lu '%%s' 2>&1", widget);
	rc = validate(fmt, path, out, sizeof out);
	CHECK(rc == 0 && strstr(out, "/FT /Sig") && strstr(out, "/Rect [ 320 80 540 150 ]"),
	      "page 2's widget is a signature at [320 80 540 150] (exit %d): %s", rc, out);
}

/* pdfsig and qpdf on the final version. */
static void check_validators(const char *path)
{
	char out[OUTPUT_BYTES_MAX];
	int rc = validate("pdfsig '%s' 2>&1", path, out, sizeof out);
	/* Two signatures, each with its document time-stamp (B-LTA), which pdfsig 22 lists as of an
	 * "unknown" type, by the TSA, "not yet verified": openssl ts verifies them (check_final). */
	CHECK(count_of(out, "Signature #") == 4 && count_of(out, "Signature Type: ETSI.CAdES.detached") == 2 &&
	          count_of(out, "Signature Type: unknown") == 2 &&
	          count_of(out, "Signer Certificate Common Name: JeSignExpert Horodatage") == 2 &&
	          strstr(out, "Total document signed"),
	      "pdfsig sees 2 signatures and 2 document time-stamps (exit %d): %s", rc, out);
	CHECK(count_of(out, "Signature is Valid") == 2, "pdfsig: both signatures \"Signature is Valid\": %s", out);
	CHECK(strstr(out, SIGNER_NAME) && strstr(out, CLIENT_NAME), "pdfsig names both signers: %s", out);
	rc = validate("qpdf --check '%s' 2>&1", path, out, sizeof out);
	CHECK(rc == 0, "qpdf --check exits 0, got %d: %s", rc, out);
	check_visible_field(path);
}

static void check_final(void)
{
	size_t n;
	uint8_t *pdf = document_get(final_sha, &n);
	REQUIRE_VOID(pdf != NULL);
	uint8_t sha[32];
	crypto_hash_sha256(sha, pdf, n);
	CHECK(memcmp(sha, final_sha, 32) == 0, "DocumentGet's bytes hash to current_sha256");
	char path[300];
	CHECK(file_write("final.pdf", pdf, n, path, sizeof path), "write final.pdf");
	check_validators(path);
	signature all[SIGNATURES_MAX], sigs[SIGNATURES_MAX], stamps[SIGNATURES_MAX];
	size_t found = signatures_find(pdf, n, all, SIGNATURES_MAX), count = 0, stamp_count = 0;
	/* B-LTA: each signature is followed by its /DSS update and a document time-stamp. */
	for (size_t i = 0; i < found; i++) {
		if (is_document_timestamp(&all[i]))
			stamps[stamp_count++] = all[i];
		else
			sigs[count++] = all[i];
	}
	CHECK(count == 2 && stamp_count == 2,
	      "2 signatures and 2 document time-stamps in the final version, found %zu and %zu", count, stamp_count);
	for (size_t i = 0; i < count; i++)
		signature_verify(pdf, &sigs[i], i + 1);
	for (size_t i = 0; i < stamp_count; i++)
		document_timestamp_verify(pdf, &stamps[i], i + 1);
	if (count == 2 && stamp_count == 2) {
		size_t sig_end = sigs[1].range[2] + sigs[1].range[3],
		       stamp_end = stamps[1].range[2] + stamps[1].range[3];
		CHECK(stamp_end == n, "the last document time-stamp covers the whole file");
		CHECK(sigs[0].range[2] + sigs[0].range[3] < stamps[0].range[1] &&
		          stamps[0].range[2] + stamps[0].range[3] < sig_end && sig_end < stamps[1].range[1],
		      "signature, time-stamp, signature, time-stamp: each covers what came before it");
		/* Between the last signature and its time-stamp: the /DSS update only. */
		const uint8_t *dss = memmem(pdf + sig_end, stamps[1].range[1] - sig_end, "/CRLs", 5);
		const uint8_t *range = memmem(pdf + sig_end, stamps[1].range[1] - sig_end, "/ByteRange", 10);
		CHECK(dss && range && dss < range &&
		          !memmem(range + 10, (size_t)(pdf + stamps[1].range[1] - range - 10), "/ByteRange", 10),
		      "after the last signature, its /DSS update, then the time-stamp's dictionary only");
	}
	char cmd[COMMAND_BYTES_MAX], out[OUTPUT_BYTES_MAX];
	snprintf(cmd, sizeof cmd,
	         "/usr/bin/python3 '%s/dss_check.py' '%s' '%s/keys/signer-ca.pem' --ocsp 4 --vri 3 --attime %lld 2>&1",
	         TESTS_DIR, path, h.dir, (long long)SIGNED_AT_S);
	/* /VRI: both signatures and the first document time-stamp (the second's comes with the next
	 * update: a renewal's), each naming streams of the /DSS. */
	CHECK(harness_run(cmd, out, sizeof out) == 0 && strstr(out, "DSS certs=") && strstr(out, "vri=3"),
	      "B-LT: the /DSS, read by qpdf, holds certificates and a CRL that verify against the CA, and a /VRI "
	      "entry for each signature and for the first document time-stamp: %s",
	      out);
	free(pdf);
}

/* ----- archive renewal (PAdES B-LTA, docs/signer.md#archive-renewal) ----- */

/* DocumentTimestampRenew of id's document original (original_bytes long; NULL: the only one)
 * as `as`, under request_id (NULL: a fresh one); the reply (caller frees). */
static Ledger__Api__Reply *renew_as(const char *as, const char *request_id, const char *id, const uint8_t *original,
                                    size_t original_bytes, int64_t due_before_s)
{
	Ledger__Api__DocumentTimestampRenew q = LEDGER__API__DOCUMENT_TIMESTAMP_RENEW__INIT;
	q.firm_id = (char *)FIRM;
	q.collection_id = (char *)id;
	if (original)
		q.original_sha256 = (ProtobufCBinaryData){original_bytes, (uint8_t *)original};
	q.due_before_s = due_before_s;
	Ledger__Api__Request req;
	fixture_request(&req, LEDGER__API__REQUEST__BODY_DOCUMENT_TIMESTAMP_RENEW, &q);
	if (request_id)
		req.request_id = (char *)request_id;
	return harness_call(&h, as, &req);
}

static Ledger__Api__Reply *renew_n(const char *as, const char *id, const uint8_t *original, size_t original_bytes,
                                   int64_t due_before_s)
{
	return renew_as(as, NULL, id, original, original_bytes, due_before_s);
}

static Ledger__Api__Reply *renew(const char *as, const char *id, const uint8_t *original, int64_t due_before_s)
{
	return renew_n(as, id, original, 32, due_before_s);
}

#define YEAR_2100_S 4102444800LL
#define YEAR_2000_S 946684800LL

/* Who may not, what cannot be: each refused with its code, nothing written. */
static void test_renewal_refused(void)
{
	uint64_t head = harness_head(&h);
	CHECK(harness_code_of(renew(SIGNER, signed_collection, NULL, 0)) == LEDGER__API__ERROR_CODE__PERMISSION_DENIED,
	      "a collaborator who signs, not the EC, may not renew");
	CHECK(harness_code_of(renew(EC, "c-none", NULL, 0)) == LEDGER__API__ERROR_CODE__NOT_FOUND,
	      "an unknown collection");
	uint8_t other[32] = {1};
	CHECK(harness_code_of(renew(EC, signed_collection, other, 0)) == LEDGER__API__ERROR_CODE__NOT_FOUND,
	      "a document the collection does not hold");
	char draft[32];
	CHECK(collection_create(EC, LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL, "Brouillon", draft), "a draft");
	head = harness_head(&h);
	CHECK(harness_code_of(renew(EC, draft, NULL, 0)) == LEDGER__API__ERROR_CODE__INVALID_TRANSITION,
	      "a collection not completed");
	/* B-B: no document time-stamp to renew (upgrading a level is not a renewal) */
	Ledger__Api__Reply *r = renew(EC, b_b_collection, NULL, 0);
	CHECK(harness_code(r) == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION && r->error &&
	          strstr(r->error->message, "no document time-stamp"),
	      "a B-B document is refused: %s", r && r->error ? r->error->message : "(accepted)");
	harness_code_of(r);
	CHECK(harness_code_of(renew_n(EC, signed_collection, (const uint8_t *)"short", 5, 0)) ==
	          LEDGER__API__ERROR_CODE__NOT_FOUND,
	      "a hash that is no SHA-256");
	/* Not due: its time-stamp's certificate outlives 2000 */
	r = renew(EC, signed_collection, NULL, YEAR_2000_S);
	CHECK(harness_code(r) == 0 && r->renewal && !r->renewal->renewed && r->renewal->tsa_not_after_s > YEAR_2000_S,
	      "a time-stamp not due is left alone");
	harness_code_of(r);
	CHECK(harness_head(&h) == head, "no refusal wrote anything");
}

/* The DocumentTimestampRenewed events of the signed collection. */
typedef struct renewed_read {
	size_t n;
	Ledger__Events__DocumentTimestampRenewed last;
	char actor[128], serial[80];
	uint8_t source[32], renewed[32];
} renewed_read;

static bool renewed_event(void *ctx, const ledger_record *rec, const Ledger__Events__Event *ev)
{
	(void)rec;
	renewed_read *s = ctx;
	if (ev && ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_TIMESTAMP_RENEWED &&
	    strcmp(ev->document_timestamp_renewed->collection_id, signed_collection) == 0) {
		const Ledger__Events__DocumentTimestampRenewed *e = ev->document_timestamp_renewed;
		s->n++;
		s->last = *e;
		snprintf(s->actor, sizeof s->actor, "%s", ev->actor);
		snprintf(s->serial, sizeof s->serial, "%s", e->tsa_certificate_serial);
		if (e->source_sha256.len == 32 && e->renewed_sha256.len == 32) {
			memcpy(s->source, e->source_sha256.data, 32);
			memcpy(s->renewed, e->renewed_sha256.data, 32);
		}
	}
	return true;
}

/* The renewed version: a prefix extended, both earlier time-stamps and the new one verify, the
 * signatures still valid, a /VRI entry for everything but the new time-stamp. */
static void check_renewed(const uint8_t *renewed, size_t n, const uint8_t *before, size_t before_bytes,
                          size_t stamps_expected)
{
	CHECK(n > before_bytes && memcmp(renewed, before, before_bytes) == 0, "the renewal appends to the version");
	char path[300], out[OUTPUT_BYTES_MAX], cmd[COMMAND_BYTES_MAX];
	REQUIRE_VOID(file_write("renewed.pdf", renewed, n, path, sizeof path));
	signature all[SIGNATURES_MAX];
	size_t found = signatures_find(renewed, n, all, SIGNATURES_MAX), stamps = 0, sigs = 0;
	for (size_t i = 0; i < found; i++) {
		if (is_document_timestamp(&all[i]))
			document_timestamp_verify(renewed, &all[i], ++stamps);
		else
			signature_verify(renewed, &all[i], ++sigs);
	}
	CHECK(sigs == 2 && stamps == stamps_expected, "2 signatures and %zu document time-stamps, found %zu and %zu",
	      stamps_expected, sigs, stamps);
	CHECK(found > 0 && all[found - 1].range[2] + all[found - 1].range[3] == n &&
	          is_document_timestamp(&all[found - 1]),
	      "the new document time-stamp is last and covers the whole file");
	int rc = validate("pdfsig '%s' 2>&1", path, out, sizeof out);
	CHECK(count_of(out, "Signature is Valid") == 2 && count_of(out, "Signature Type: unknown") == stamps_expected &&
	          strstr(out, "Total document signed"),
	      "pdfsig: both signatures still valid, %zu time-stamps (exit %d): %s", stamps_expected, rc, out);
	rc = validate("qpdf --check '%s' 2>&1", path, out, sizeof out);
	CHECK(rc == 0, "qpdf --check of the renewed version: %s", out);
	snprintf(
	    cmd, sizeof cmd,
	    "/usr/bin/python3 '%s/dss_check.py' '%s' '%s/keys/signer-ca.pem' --ocsp 4 --vri %zu --attime %lld 2>&1",
	    TESTS_DIR, path, h.dir, 2 + stamps_expected - 1, (long long)SIGNED_AT_S);
	CHECK(harness_run(cmd, out, sizeof out) == 0 && strstr(out, "DSS certs="),
	      "the /VRI names both signatures and every time-stamp but the new one: %s", out);
}

/* The first renewal's request sent again: its reply once more, marked replayed, nothing renewed
 * or written again; the same id with another body is refused. */
static void check_renewal_retried(const Ledger__Api__Reply *first, const uint8_t source[32])
{
	uint64_t head = harness_head(&h);
	Ledger__Api__Reply *again = renew_as(EC, "renewal-once", signed_collection, NULL, 32, YEAR_2100_S);
	const Ledger__Api__RenewalReply *a = again ? again->renewal : NULL, *f = first ? first->renewal : NULL;
	CHECK(harness_code(again) == 0 && again->replayed && a && f && again->seq == first->seq && a->renewed &&
	          sha_equal(&a->renewed_sha256, f->renewed_sha256.data) && sha_equal(&a->source_sha256, source) &&
	          harness_head(&h) == head,
	      "a retry gets the first renewal's reply (seq %llu, replayed), nothing renewed again: %s",
	      (unsigned long long)(again ? again->seq : 0), again && again->error ? again->error->message : "");
	harness_code_of(again);
	Ledger__Api__Reply *other = renew_as(EC, "renewal-once", signed_collection, NULL, 32, YEAR_2000_S);
	CHECK(harness_code(other) == LEDGER__API__ERROR_CODE__IDEMPOTENCY_MISMATCH && harness_head(&h) == head,
	      "the same request id with another body: IDEMPOTENCY_MISMATCH, nothing written");
	harness_code_of(other);
}

/* The EC renews the two-signer document, then the platform renews it again. */
static void test_renewal(void)
{
	const char *who[2] = {EC, "platform"};
	uint8_t source[32];
	memcpy(source, final_sha, 32);
	for (size_t round = 0; round < 2; round++) {
		size_t before_bytes = 0, n = 0;
		uint8_t *before = document_get(source, &before_bytes);
		REQUIRE_VOID(before != NULL);
		uint64_t head = harness_head(&h);
		Ledger__Api__Reply *r = renew_as(who[round], round ? NULL : "renewal-once", signed_collection,
		                                 round ? original_sha : NULL, 32, YEAR_2100_S);
		const Ledger__Api__RenewalReply *e = r ? r->renewal : NULL;
		CHECK(harness_code(r) == 0 && e && e->renewed && sha_equal(&e->source_sha256, source) &&
		          sha_equal(&e->original_sha256, original_sha) && e->renewed_sha256.len == 32 &&
		          r->seq == head + 1,
		      "renewal %zu by %s: renewed, the event at seq %llu: %s", round + 1, who[round],
		      (unsigned long long)(r ? r->seq : 0), r && r->error ? r->error->message : "");
		uint8_t renewed_sha[32] = {0};
		if (e && e->renewed_sha256.len == 32)
			memcpy(renewed_sha, e->renewed_sha256.data, 32);
		if (round == 0)
			check_renewal_retried(r, source);
		harness_code_of(r);
		renewed_read seen = {0};
		harness_log_scan(&h, head, renewed_event, &seen);
		CHECK(seen.n == 1 && strcmp(seen.actor, who[round]) == 0 && memcmp(seen.source, source, 32) == 0 &&
		          memcmp(seen.renewed, renewed_sha, 32) == 0 && seen.last.timestamp_time_s > 0 &&
		          seen.serial[0] && seen.last.tsa_not_after_s > seen.last.timestamp_time_s &&
		          seen.last.previous_tsa_not_after_s > 0,
		      "DocumentTimestampRenewed on record: by %s, source, new hash, time and TSA certificate",
		      seen.actor);
		Ledger__Api__Reply *v = show(signed_collection);
		CHECK(v && sha_equal(&view_of(v)->documents[0]->current_sha256, renewed_sha),
		      "the renewed version is the document's current one");
		harness_code_of(v);
		uint8_t *renewed = document_get(renewed_sha, &n);
		uint8_t got[32];
		if (renewed)
			crypto_hash_sha256(got, renewed, n);
		CHECK(renewed && memcmp(got, renewed_sha, 32) == 0, "the renewed version is stored and served");
		if (renewed)
			check_renewed(renewed, n, before, before_bytes, 3 + round);
		free(renewed);
		free(before);
		memcpy(source, renewed_sha, 32);
	}
}

/* The DocumentSigned events of collection id, read from the log itself (read-only). */
typedef struct signed_read {
	const char *id;
	uint8_t (*source)[32], (*produced)[32];
	size_t n, max;
} signed_read;

static bool signed_event(void *ctx, const ledger_record *rec, const Ledger__Events__Event *ev)
{
	(void)rec;
	signed_read *s = ctx;
	const Ledger__Events__DocumentSigned *d = ev ? ev->document_signed : NULL;
	if (ev && ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED &&
	    strcmp(d->collection_id, s->id) == 0 && d->source_sha256.len == 32 && d->signed_sha256.len == 32) {
		memcpy(s->source[s->n], d->source_sha256.data, 32);
		memcpy(s->produced[s->n++], d->signed_sha256.data, 32);
	}
	return s->n < s->max;
}

static size_t signed_events(const char *id, uint8_t source[][32], uint8_t produced[][32], size_t max)
{
	signed_read s = {id, source, produced, 0, max};
	if (max > 0)
		harness_log_scan(&h, 0, signed_event, &s);
	return s.n;
}

/* Is the version `shorter` a byte prefix of the version `longer`, both by DocumentGet? */
static bool version_prefix(const uint8_t shorter[32], const uint8_t longer[32])
{
	size_t a, b;
	uint8_t *x = document_get(shorter, &a), *y = document_get(longer, &b);
	bool ok = x && y && a < b && memcmp(x, y, a) == 0;
	free(x);
	free(y);
	return ok;
}

static void check_versions(const char *id, const uint8_t *pdf, size_t pdf_bytes)
{
	size_t n;
	uint8_t *original = document_get(original_sha, &n);
	CHECK(original && n == pdf_bytes && memcmp(original, pdf, n) == 0,
	      "the original is retrievable, byte for byte");
	free(original);
	Ledger__Api__Reply *r = document_reply(original_sha);
	CHECK(r && r->document && strcmp(r->document->filename, "lettre-de-mission.pdf") == 0,
	      "DocumentReply.filename is the uploaded name, got \"%s\"", r && r->document ? r->document->filename : "");
	harness_code_of(r);
	uint8_t source[SIGNED_EVENTS_MAX][32], produced[SIGNED_EVENTS_MAX][32];
	size_t count = signed_events(id, source, produced, SIGNED_EVENTS_MAX);
	REQUIRE_VOID(count == 2);
	CHECK(memcmp(source[0], original_sha, 32) == 0 && memcmp(produced[0], first_sha, 32) == 0,
	      "the first DocumentSigned: original -> the first signed version");
	CHECK(memcmp(source[1], produced[0], 32) == 0 && memcmp(produced[1], final_sha, 32) == 0,
	      "the second DocumentSigned: first signed version -> final");
	for (size_t i = 0; i < count; i++) {
		uint8_t *bytes = document_get(produced[i], &n), sha[32];
		CHECK(bytes != NULL, "version %zu retrievable by DocumentGet", i + 1);
		if (bytes)
			crypto_hash_sha256(sha, bytes, n);
		CHECK(bytes && memcmp(sha, produced[i], 32) == 0, "version %zu hashes to its event's signed_sha256",
		      i + 1);
		free(bytes);
	}
	CHECK(version_prefix(original_sha, first_sha), "the original is a byte prefix of the first signed version");
	CHECK(version_prefix(first_sha, final_sha), "the first signed version is a byte prefix of the final one");
}

/* What the log says of the collection's certificates and keys (docs/signer.md#certificates). */
typedef struct keys_read {
	const char *id;
	char registered[64];                               /* SIGNER's registration certificate */
	char signer_serial[64], client_serial[64];         /* DocumentSigned, per signer */
	char one_shot_created[64], one_shot_destroyed[64]; /* the last one-shot key's */
} keys_read;

static bool key_event(void *ctx, const ledger_record *rec, const Ledger__Events__Event *ev)
{
	(void)rec;
	keys_read *k = ctx;
	if (!ev)
		return true;
	if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_REGISTRATION_RECORDED &&
	    strcmp(ev->registration_recorded->subject, SIGNER) == 0 &&
	    ev->registration_recorded->step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_CERTIFICATE_ISSUED)
		snprintf(k->registered, sizeof k->registered, "%s", ev->registration_recorded->certificate_serial);
	if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED &&
	    strcmp(ev->document_signed->collection_id, k->id) == 0)
		snprintf(strcmp(ev->document_signed->signer, SIGNER) == 0 ? k->signer_serial : k->client_serial, 64,
		         "%s", ev->document_signed->certificate_serial);
	if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_KEY_CREATED &&
	    ev->key_created->kind == LEDGER__EVENTS__KEY_KIND__KEY_ONE_SHOT)
		snprintf(k->one_shot_created, 64, "%s", ev->key_created->certificate_serial);
	if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_KEY_DESTROYED &&
	    ev->key_destroyed->kind == LEDGER__EVENTS__KEY_KIND__KEY_ONE_SHOT)
		snprintf(k->one_shot_destroyed, 64, "%s", ev->key_destroyed->certificate_serial);
	return true;
}

static bool key_file_exists(const char *serial)
{
	char path[600];
	snprintf(path, sizeof path, "%s/keys/signers/%s.pem", h.dir, serial);
	return access(path, F_OK) == 0;
}

/* The internal signer signed with the certificate of their registration; the client with a
 * one-shot key, created and destroyed on record, whose file is gone. */
static void check_keys(const char *id)
{
	keys_read k = {.id = id};
	harness_log_scan(&h, 0, key_event, &k);
	CHECK(k.registered[0] && strcmp(k.signer_serial, k.registered) == 0,
	      "the internal signer signs with the registration's certificate: %s vs %s", k.signer_serial, k.registered);
	CHECK(key_file_exists(k.registered), "whose key stays kept");
	CHECK(k.client_serial[0] && strcmp(k.client_serial, k.registered) != 0 &&
	          strcmp(k.client_serial, k.one_shot_created) == 0,
	      "the client signs with a one-shot key, KeyCreated on record: %s vs %s", k.client_serial,
	      k.one_shot_created);
	CHECK(strcmp(k.one_shot_destroyed, k.client_serial) == 0, "and KeyDestroyed");
	CHECK(k.client_serial[0] && !key_file_exists(k.client_serial), "its key file is gone");
}

static void test_signature_collection(void)
{
	uint8_t pdf[PDF_BYTES_MAX];
	size_t n = pdf_build(pdf, sizeof pdf, "Lettre de mission 2026");
	REQUIRE_VOID(n > 0);
	crypto_hash_sha256(original_sha, pdf, n);
	char id[32];
	if (!collection_prepare(id, pdf, n))
		return;
	snprintf(signed_collection, sizeof signed_collection, "%s", id);
	sign_both(id);
	check_final();
	check_versions(id, pdf, n);
	check_keys(id);
}

/* A seal collection of two documents, sealed by the collaborator holding `seal`. */
static void test_seal(void)
{
	credits before = credits_now();
	char id[32];
	REQUIRE_VOID(collection_create(SEALER, LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL, "Attestations", id));
	const char *titles[2] = {"Attestation de TVA", "Attestation URSSAF"};
	for (int i = 0; i < 2; i++) {
		uint8_t pdf[PDF_BYTES_MAX];
		size_t n = pdf_build(pdf, sizeof pdf, titles[i]);
		CHECK(document_add(SEALER, id, pdf, n, i ? "urssaf.pdf" : "tva.pdf") == 0, "seal document %d", i + 1);
	}
	CHECK(act(SEALER, id, LEDGER__API__COLLECTION_ACT__ACT__SEAL) == 0, "the sealer seals");
	CHECK(wait_state(id, LEDGER__EVENTS__COLLECTION_STATE__STATE_COMPLETED), "sealed: COMPLETED within %d ms",
	      WAIT_MS_MAX);
	Ledger__Api__Reply *r = show(id);
	REQUIRE_VOID(r != NULL);
	const view *v = view_of(r);
	CHECK(v->n_documents == 2 && v->credits_used == 2, "2 documents, 2 credits used (%llu)",
	      (unsigned long long)v->credits_used);
	for (size_t i = 0; i < v->n_documents; i++) {
		const Ledger__Api__DocumentView *d = v->documents[i];
		/* api.proto: signed_by lists "seal:<firm id>" for a seal, apart from any email. */
		CHECK(d->n_signed_by == 1 && strcmp(d->signed_by[0], "seal:" FIRM) == 0,
		      "document %zu signed_by {\"seal:" FIRM "\"}, got {\"%s\"}", i + 1,
		      d->n_signed_by ? d->signed_by[0] : "");
	}
	for (size_t i = 0; i < v->n_documents; i++) {
		size_t n;
		uint8_t *pdf = document_get(v->documents[i]->current_sha256.data, &n);
		char path[300], out[OUTPUT_BYTES_MAX];
		CHECK(pdf && file_write("sealed.pdf", pdf, n, path, sizeof path), "sealed document %zu retrievable",
		      i + 1);
		int rc = pdf ? validate("pdfsig '%s' 2>&1", path, out, sizeof out) : -1;
		CHECK(pdf && count_of(out, "Signature is Valid") == 1 && strstr(out, FIRM_NAME),
		      "pdfsig: one valid seal in the name of " FIRM_NAME " (exit %d): %s", rc, pdf ? out : "");
		free(pdf);
	}
	harness_code_of(r);
	credits after = credits_now();
	CHECK(after.used == before.used + 2 && after.available == before.available - 2,
	      "credits used +2 (%llu -> %llu), available -2 (%llu -> %llu)", (unsigned long long)before.used,
	      (unsigned long long)after.used, (unsigned long long)before.available,
	      (unsigned long long)after.available);
}

static int signature_level_set(Ledger__Events__SignatureLevel level)
{
	Ledger__Api__PreferencesUpdate u = LEDGER__API__PREFERENCES_UPDATE__INIT;
	u.firm_id = (char *)FIRM;
	u.signature_level = level;
	return fixture_preferences(&to_ledgerd, EC, &u);
}

/* Issue 7: the level is the firm's choice. At B-B a seal has no time-stamp, no /DSS and no
 * document time-stamp, pdfsig still validates it, and DocumentSigned says B-B. */
static void test_level_preference(void)
{
	CHECK(signature_level_set((Ledger__Events__SignatureLevel)9) == LEDGER__API__ERROR_CODE__INVALID_ARGUMENT,
	      "an unknown level is refused");
	CHECK(signature_level_set(LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_B_B) == 0, "the EC chooses B-B");
	char id[32];
	uint8_t pdf[PDF_BYTES_MAX];
	size_t n = pdf_build(pdf, sizeof pdf, "Attestation simple");
	REQUIRE_VOID(n > 0 && collection_create(SEALER, LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL, "Simple", id));
	snprintf(b_b_collection, sizeof b_b_collection, "%s", id);
	CHECK(document_add(SEALER, id, pdf, n, "simple.pdf") == 0, "document");
	CHECK(act(SEALER, id, LEDGER__API__COLLECTION_ACT__ACT__SEAL) == 0, "sealed");
	CHECK(wait_state(id, LEDGER__EVENTS__COLLECTION_STATE__STATE_COMPLETED), "completed");
	Ledger__Api__Reply *r = show(id);
	size_t bytes = 0;
	uint8_t *sealed = r ? document_get(view_of(r)->documents[0]->current_sha256.data, &bytes) : NULL;
	harness_code_of(r);
	REQUIRE_VOID(sealed);
	signature sigs[SIGNATURES_MAX];
	size_t count = signatures_find(sealed, bytes, sigs, SIGNATURES_MAX);
	CHECK(count == 1 && !is_document_timestamp(&sigs[0]), "one signature, no document time-stamp");
	CHECK(!memmem(sealed, bytes, "/DSS", 4), "no /DSS");
	if (count == 1) {
		const unsigned char *p = sigs[0].cms;
		CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)sigs[0].cms_bytes);
		STACK_OF(CMS_SignerInfo) *infos = cms ? CMS_get0_SignerInfos(cms) : NULL;
		CMS_SignerInfo *si = infos ? sk_CMS_SignerInfo_value(infos, 0) : NULL;
		CHECK(si && CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1) < 0,
		      "no signature time-stamp");
		CMS_ContentInfo_free(cms);
	}
	char path[300], out[OUTPUT_BYTES_MAX];
	CHECK(file_write("b-b.pdf", sealed, bytes, path, sizeof path) &&
	          validate("pdfsig '%s' 2>&1", path, out, sizeof out) >= 0 && count_of(out, "Signature is Valid") == 1,
	      "pdfsig validates the B-B seal: %s", out);
	free(sealed);
	/* The log says which level was made. */
	ledger *l;
	ledger_options o = {.read_only = true, .allow_broken_chain = true};
	MDB_txn *txn;
	ledger_iter *it;
	const char *level = "?";
	static char seen[16];
	if (ledger_open(h.dir, &o, &l) == LEDGER_OK) {
		if (ledger_read_begin(l, &txn) == LEDGER_OK) {
			if (ledger_iter_open(l, txn, 1, &it) == LEDGER_OK) {
				ledger_record rec;
				while (ledger_iter_next(it, &rec) == LEDGER_OK) {
					Ledger__Events__Event *ev =
					    ledger__events__event__unpack(NULL, rec.event_bytes, rec.event);
					if (ev && ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED &&
					    strcmp(ev->document_signed->collection_id, id) == 0) {
						snprintf(seen, sizeof seen, "%s", ev->document_signed->level);
						level = seen;
					}
					if (ev)
						ledger__events__event__free_unpacked(ev, NULL);
				}
				ledger_iter_close(it);
			}
			ledger_read_end(l, txn);
		}
		ledger_close(l);
	}
	CHECK(strcmp(level, "B-B") == 0, "DocumentSigned.level is B-B, got %s", level);
	CHECK(signature_level_set(LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_B_LTA) == 0, "back to B-LTA");
}

static bool has_failure(const view *v, const void *arg)
{
	(void)arg;
	return v->n_documents >= 1 && v->documents[0]->failure[0] != '\0';
}

/* Moves the signers' credentials away (a file in their place: nothing can be written there),
 * or back: what makes the service's signatures fail, and then work again. False if it could
 * not (checked). */
static bool break_credentials(bool broken)
{
	char keys[300], cmd[3 * 300 + 64];
	snprintf(keys, sizeof keys, "%s/keys", h.dir);
	if (broken)
		snprintf(cmd, sizeof cmd, "mv '%s/signers' '%s/signers.saved' && touch '%s/signers'", keys, keys, keys);
	else
		snprintf(cmd, sizeof cmd, "rm -f '%s/signers' && mv '%s/signers.saved' '%s/signers'", keys, keys, keys);
	bool done = system(cmd) == 0;
	CHECK(done, "%s the credentials", broken ? "break" : "restore");
	return done;
}

/* The client consents while the credentials are broken: the collection once its first
 * document shows the failure (checked as `what`; NULL if it never does). The caller frees it. */
static Ledger__Api__Reply *consented_then_failed(const char *id, const char *what)
{
	CHECK(report(id, CLIENT, LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED, "", "") == 0, "consented");
	Ledger__Api__Reply *r = wait_for(id, has_failure, NULL);
	CHECK(r != NULL, "%s", what);
	return r;
}

#define CLIENT_DOCUMENTS_MAX 2

/* An EC's signature collection `title` with one document per text (pdf_build's, uploaded as
 * names[i]; their SHA-256 into sha unless it is NULL) and the client as external signer, sent
 * when send. Its id into id; false (checked) when it could not be made. */
static bool client_collection(const char *title, size_t documents, const char *const texts[], const char *const names[],
                              uint8_t (*sha)[32], bool send, char id[32])
{
	uint8_t pdf[CLIENT_DOCUMENTS_MAX][PDF_BYTES_MAX];
	size_t n[CLIENT_DOCUMENTS_MAX] = {0};
	bool built = documents >= 1 && documents <= CLIENT_DOCUMENTS_MAX;
	for (size_t i = 0; built && i < documents; i++) {
		n[i] = pdf_build(pdf[i], sizeof pdf[i], texts[i]);
		built = n[i] > 0;
		if (built && sha)
			crypto_hash_sha256(sha[i], pdf[i], n[i]);
	}
	bool made = built && collection_create(EC, LEDGER__EVENTS__COLLECTION_KIND__KIND_SIGNATURE, title, id);
	CHECK(made, "the collection \"%s\" with its documents", title);
	if (!made)
		return false;
	for (size_t i = 0; i < documents; i++)
		CHECK(document_add(EC, id, pdf[i], n[i], names[i]) == 0, "document %s", names[i]);
	CHECK(signer_add(id, CLIENT, CLIENT_NAME, CLIENT_PHONE) == 0, "external signer");
	if (send)
		CHECK(act(EC, id, LEDGER__API__COLLECTION_ACT__ACT__SEND) == 0, "send");
	return true;
}

/* The client refuses: the collection ends, nothing is signed, the credits come back. */
static void test_decline(void)
{
	credits before = credits_now();
	char id[32];
	if (!client_collection("Avenant", 1, (const char *[]){"Avenant 2027"}, (const char *[]){"avenant.pdf"}, NULL,
	                       true, id))
		return;
	credits sent = credits_now();
	CHECK(sent.available == before.available - 1 && sent.reserved == before.reserved + 1, "1 credit reserved");
	CHECK(report(id, CLIENT, LEDGER__EVENTS__SIGNER_ACTION__SIGNER_AUTHENTICATED, "sms", "") == 0, "authenticated");
	CHECK(report(id, CLIENT, LEDGER__EVENTS__SIGNER_ACTION__SIGNER_DECLINED, "", "Le montant est faux") == 0,
	      "declined");
	usleep(1500 * 1000); /* room for a signature that should not come */
	Ledger__Api__Reply *r = show(id);
	REQUIRE_VOID(r != NULL);
	const view *v = view_of(r);
	CHECK(v->state == LEDGER__EVENTS__COLLECTION_STATE__STATE_DECLINED, "DECLINED, got %d", (int)v->state);
	CHECK(strcmp(v->comment, "Le montant est faux") == 0, "the refusal's comment kept: \"%s\"", v->comment);
	CHECK(v->n_documents == 1 && v->documents[0]->n_signed_by == 0 && v->documents[0]->sha256.len == 32 &&
	          sha_equal(&v->documents[0]->current_sha256, v->documents[0]->sha256.data),
	      "no signature produced: the current version is the upload");
	CHECK(v->credits_used == 0, "no credit used");
	harness_code_of(r);
	uint8_t source[SIGNED_EVENTS_MAX][32], produced[SIGNED_EVENTS_MAX][32];
	CHECK(signed_events(id, source, produced, SIGNED_EVENTS_MAX) == 0, "no DocumentSigned in the log");
	credits after = credits_now();
	CHECK(after.available == before.available && after.reserved == before.reserved && after.used == before.used,
	      "the reserved credit released: available %llu (before %llu), reserved %llu (before %llu)",
	      (unsigned long long)after.available, (unsigned long long)before.available,
	      (unsigned long long)after.reserved, (unsigned long long)before.reserved);
}

/* A signature the service cannot make (its credentials' directory is unusable) is recorded as
 * SignatureFailed and shown on the document; it stays owed and is made after a restart. */
static void test_failure_recorded_then_retried(void)
{
	char id[32];
	if (!client_collection("Mandat", 1, (const char *[]){"Mandat SEPA"}, (const char *[]){"mandat.pdf"}, NULL, true,
	                       id))
		return;
	/* A file where the credentials' directory should be: even root cannot write into it. */
	if (!break_credentials(true))
		return;
	Ledger__Api__Reply *r = consented_then_failed(id, "the failure is shown on the document");
	if (r) {
		const view *v = view_of(r);
		CHECK(v->state == LEDGER__EVENTS__COLLECTION_STATE__STATE_IN_PROGRESS &&
		          v->documents[0]->n_signed_by == 0,
		      "still in progress, nothing signed (%s)", v->documents[0]->failure);
		harness_code_of(r);
	}
	if (!break_credentials(false))
		return;
	CHECK(harness_stop(&h) == 0, "stop");
	REQUIRE_VOID(harness_start(&h, NULL));
	CHECK(wait_state(id, LEDGER__EVENTS__COLLECTION_STATE__STATE_COMPLETED),
	      "after the restart the signature is made");
	r = show(id);
	CHECK(r && view_of(r)->documents[0]->failure[0] == '\0', "and the failure is cleared");
	harness_code_of(r);
}

/* A one-page PDF whose inline /Resources nest depth arrays, exact xref; malloc'd, *n its length.
 * mupdf loads that page's object as null past its parser's nesting limit: nothing could ever
 * add a signature to it. */
static uint8_t *nested_pdf_build(size_t depth, size_t *n)
{
	static const char page_head[] = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /X ";
	size_t cap = 1024 + 2 * depth;
	char *s = malloc(cap);
	if (!s)
		return NULL;
	size_t offsets[3], at = (size_t)snprintf(s, cap, "%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n");
	offsets[0] = at;
	at += (size_t)snprintf(s + at, cap - at, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
	offsets[1] = at;
	at += (size_t)snprintf(s + at, cap - at, "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
	offsets[2] = at;
	at += (size_t)snprintf(s + at, cap - at, "3 0 obj\n%s", page_head);
	memset(s + at, '[', depth);
	memset(s + at + depth, ']', depth);
	at += 2 * depth;
	at += (size_t)snprintf(s + at, cap - at, " >> >>\nendobj\n");
	size_t xref = at;
	at += (size_t)snprintf(s + at, cap - at, "xref\n0 4\n0000000000 65535 f \n");
	for (int i = 0; i < 3; i++)
		at += (size_t)snprintf(s + at, cap - at, "%010zu 00000 n \n", offsets[i]);
	at += (size_t)snprintf(s + at, cap - at, "trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n", xref);
	*n = at;
	return (uint8_t *)s;
}

/* A PDF that could never be signed (issue 10, defect 5) is refused at upload, as
 * INVALID_DOCUMENT, rather than accepted and failed at signing with the credits reserved. */
static void test_unsignable_refused(void)
{
	char id[32];
	size_t n = 0;
	uint8_t *pdf = nested_pdf_build(100000, &n);
	REQUIRE_VOID(pdf && collection_create(EC, LEDGER__EVENTS__COLLECTION_KIND__KIND_SIGNATURE, "Imbrique", id));
	int code = document_add(EC, id, pdf, n, "imbrique.pdf");
	CHECK(code == LEDGER__API__ERROR_CODE__INVALID_DOCUMENT,
	      "a page nesting 100 000 arrays: INVALID_DOCUMENT, got %d", code);
	free(pdf);
	Ledger__Api__Reply *r = show(id);
	CHECK(r && view_of(r)->n_documents == 0, "nothing added");
	harness_code_of(r);
}

/* A signature that failed leaves a collection a person can act on: cancelling it ends it and
 * releases every reserved credit, and the owed signature is not made later, even once the
 * cause is gone and ledgerd restarted. */
static void test_failure_then_cancelled(void)
{
	char id[32];
	credits before = credits_now();
	if (!client_collection("Mission", 2, (const char *[]){"Lettre de mission", "Annexe"},
	                       (const char *[]){"mission.pdf", "annexe.pdf"}, NULL, true, id) ||
	    !break_credentials(true))
		return;
	harness_code_of(consented_then_failed(id, "the failure is shown on the document"));
	credits failed = credits_now();
	CHECK(failed.reserved == before.reserved + 2, "2 credits still reserved after the failure");
	CHECK(act(EC, id, LEDGER__API__COLLECTION_ACT__ACT__CANCEL) == 0, "the EC cancels the failed collection");
	credits after = credits_now();
	CHECK(after.available == before.available && after.reserved == before.reserved && after.used == before.used,
	      "every reserved credit released: available %llu (before %llu), reserved %llu (before %llu)",
	      (unsigned long long)after.available, (unsigned long long)before.available,
	      (unsigned long long)after.reserved, (unsigned long long)before.reserved);
	if (!break_credentials(false))
		return;
	CHECK(harness_stop(&h) == 0, "stop");
	REQUIRE_VOID(harness_start(&h, NULL));
	usleep(1500 * 1000); /* room for a signature that should not come */
	Ledger__Api__Reply *r = show(id);
	CHECK(r && view_of(r)->state == LEDGER__EVENTS__COLLECTION_STATE__STATE_CANCELLED, "still cancelled");
	harness_code_of(r);
	uint8_t source[SIGNED_EVENTS_MAX][32], produced[SIGNED_EVENTS_MAX][32];
	CHECK(signed_events(id, source, produced, SIGNED_EVENTS_MAX) == 0, "no DocumentSigned after the cancel");
}

static int document_remove(const char *id, const uint8_t sha[32])
{
	Ledger__Api__DocumentRemove d = LEDGER__API__DOCUMENT_REMOVE__INIT;
	Ledger__Api__CollectionRef ref;
	ref = fixture_ref(FIRM, id);
	d.ref = &ref;
	d.sha256 = (ProtobufCBinaryData){32, (uint8_t *)sha};
	return harness_send(&h, EC, LEDGER__API__REQUEST__BODY_DOCUMENT_REMOVE, &d);
}

/* The ledger-signer child of ledgerd (docs/signer.md#the-signer-process), 0 if none. */
static pid_t signer_process_of(pid_t ledgerd)
{
	char cmd[128], out[32] = "";
	snprintf(cmd, sizeof cmd, "pgrep -P %ld -x ledger-signer", (long)ledgerd);
	FILE *p = popen(cmd, "r");
	if (p && !fgets(out, sizeof out, p))
		out[0] = '\0';
	if (p)
		pclose(p);
	return (pid_t)strtol(out, NULL, 10);
}

/* The signer process killed (SIGKILL): the signature that finds it dead fails on record
 * (SignatureFailed, shown on the document, naming the signer process), ledgerd carries on, a new
 * signer process is started, and the failed signature is made when retried, without a restart. */
static void test_signer_process_killed(void)
{
	char id[32];
	if (!client_collection("Inventaire", 1, (const char *[]){"Inventaire de stock"}, (const char *[]){"stock.pdf"},
	                       NULL, true, id))
		return;
	pid_t before = signer_process_of(h.pid);
	REQUIRE_VOID(before > 0);
	REQUIRE_VOID(kill(before, SIGKILL) == 0);
	Ledger__Api__Reply *r = consented_then_failed(id, "the signature after the kill fails on record");
	const view *v = r ? view_of(r) : NULL;
	CHECK(v && strstr(v->documents[0]->failure, "signer process") && v->documents[0]->n_signed_by == 0,
	      "the failure names the signer process: %s", v ? v->documents[0]->failure : "(none)");
	harness_code_of(r);
	CHECK(kill(h.pid, 0) == 0, "ledgerd still runs");
	pid_t after = signer_process_of(h.pid);
	CHECK(after > 0 && after != before, "a new signer process: %ld (the killed one was %ld)", (long)after,
	      (long)before);
	CHECK(act(EC, id, LEDGER__API__COLLECTION_ACT__ACT__RETRY) == 0, "the EC asks for a retry");
	CHECK(wait_state(id, LEDGER__EVENTS__COLLECTION_STATE__STATE_COMPLETED), "the signature is made, no restart");
}

/* Issue 10, defect 5: a failed signature is tried again on request, without a restart, once
 * its cause is fixed; the signed PDF is valid for pdfsig and qpdf. */
static void test_failure_retried_on_request(void)
{
	char id[32], path[400];
	if (!client_collection("Honoraires", 1, (const char *[]){"Convention d'honoraires"},
	                       (const char *[]){"honoraires.pdf"}, NULL, false, id))
		return;
	CHECK(act(EC, id, LEDGER__API__COLLECTION_ACT__ACT__RETRY) == LEDGER__API__ERROR_CODE__INVALID_TRANSITION,
	      "a draft has nothing to retry");
	CHECK(act(EC, id, LEDGER__API__COLLECTION_ACT__ACT__SEND) == 0, "send");
	CHECK(act(EC, id, LEDGER__API__COLLECTION_ACT__ACT__RETRY) == LEDGER__API__ERROR_CODE__INVALID_TRANSITION,
	      "sent, nobody acted yet: nothing to retry");
	break_credentials(true);
	harness_code_of(consented_then_failed(id, "the failure is shown on the document"));
	usleep(300 * 1000);
	Ledger__Api__Reply *r = show(id);
	CHECK(r && view_of(r)->state == LEDGER__EVENTS__COLLECTION_STATE__STATE_IN_PROGRESS,
	      "left alone, the failed signature is not retried in a loop");
	harness_code_of(r);
	break_credentials(false);
	CHECK(act(SEALER, id, LEDGER__API__COLLECTION_ACT__ACT__RETRY) == LEDGER__API__ERROR_CODE__PERMISSION_DENIED,
	      "retrying needs what cancelling needs");
	CHECK(act(EC, id, LEDGER__API__COLLECTION_ACT__ACT__RETRY) == 0, "the EC asks for a retry");
	CHECK(wait_state(id, LEDGER__EVENTS__COLLECTION_STATE__STATE_COMPLETED), "the signature is made, no restart");
	r = show(id);
	const view *v = r ? view_of(r) : NULL;
	CHECK(v && v->documents[0]->failure[0] == '\0' && v->documents[0]->n_signed_by == 1, "signed once, no failure");
	size_t signed_bytes = 0;
	uint8_t *signed_pdf = v ? document_get(v->documents[0]->current_sha256.data, &signed_bytes) : NULL;
	char out[OUTPUT_BYTES_MAX];
	if (signed_pdf && file_write("retried.pdf", signed_pdf, signed_bytes, path, sizeof path)) {
		validate("pdfsig '%s' 2>&1", path, out, sizeof out);
		CHECK(count_of(out, "Signature is Valid") == 1, "pdfsig: the retried signature is valid: %s", out);
		CHECK(validate("qpdf --check '%s' 2>&1", path, out, sizeof out) == 0, "qpdf --check: %s", out);
	}
	free(signed_pdf);
	harness_code_of(r);
}

/* Issue 10, defect 5: the document whose signature failed is taken out of the collection in
 * progress; the other one is signed, the collection completes, and the failed document's
 * credit comes back. Refused: a document that did not fail, and the last one. */
static void test_failed_document_removed(void)
{
	char id[32];
	uint8_t sha[2][32];
	const uint8_t *first_sha = sha[0], *second_sha = sha[1];
	credits before = credits_now();
	if (!client_collection("Mission 2027", 2, (const char *[]){"Lettre de mission 2027", "Annexe tarifaire"},
	                       (const char *[]){"mission.pdf", "annexe.pdf"}, sha, true, id))
		return;
	break_credentials(true);
	harness_code_of(consented_then_failed(id, "the first document's signature failed"));
	CHECK(document_remove(id, second_sha) == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION,
	      "in progress, a document that did not fail stays");
	break_credentials(false);
	CHECK(document_remove(id, first_sha) == 0, "the failed document is removed");
	CHECK(wait_state(id, LEDGER__EVENTS__COLLECTION_STATE__STATE_COMPLETED), "the other one is signed: completed");
	Ledger__Api__Reply *r = show(id);
	const view *v = r ? view_of(r) : NULL;
	CHECK(v && v->n_documents == 1 && sha_equal(&v->documents[0]->sha256, second_sha) &&
	          v->documents[0]->n_signed_by == 1,
	      "one document left, signed");
	harness_code_of(r);
	credits after = credits_now();
	CHECK(after.used == before.used + 1 && after.reserved == before.reserved &&
	          after.available + 1 == before.available,
	      "one credit spent, the removed document's released: available %llu (before %llu), used %llu (%llu)",
	      (unsigned long long)after.available, (unsigned long long)before.available, (unsigned long long)after.used,
	      (unsigned long long)before.used);
	/* The last document of a collection in progress is not removed: cancelling is the way. */
	char lone[32];
	uint8_t first[PDF_BYTES_MAX];
	size_t n1 = pdf_build(first, sizeof first, "Lettre de mission 2027"); /* the failed document again */
	REQUIRE_VOID(collection_create(EC, LEDGER__EVENTS__COLLECTION_KIND__KIND_SIGNATURE, "Seul", lone));
	CHECK(document_add(EC, lone, first, n1, "seul.pdf") == 0, "a lone document");
	CHECK(signer_add(lone, CLIENT, CLIENT_NAME, CLIENT_PHONE) == 0, "external signer");
	CHECK(act(EC, lone, LEDGER__API__COLLECTION_ACT__ACT__SEND) == 0, "send");
	break_credentials(true);
	CHECK(report(lone, CLIENT, LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED, "", "") == 0, "consented");
	r = wait_for(lone, has_failure, NULL);
	harness_code_of(r);
	CHECK(document_remove(lone, first_sha) == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION,
	      "the only document stays: cancel instead");
	break_credentials(false);
	CHECK(act(EC, lone, LEDGER__API__COLLECTION_ACT__ACT__CANCEL) == 0, "cancelled");
}

/* A retry that names one document (CollectionAct.sha256). */
static int retry_document(const char *as, const char *id, const uint8_t sha[32])
{
	Ledger__Api__CollectionAct c = LEDGER__API__COLLECTION_ACT__INIT;
	Ledger__Api__CollectionRef ref;
	ref = fixture_ref(FIRM, id);
	c.ref = &ref;
	c.act = LEDGER__API__COLLECTION_ACT__ACT__RETRY;
	c.sha256 = (ProtobufCBinaryData){32, (uint8_t *)sha};
	return harness_send(&h, as, LEDGER__API__REQUEST__BODY_COLLECTION_ACT, &c);
}

/* Writes the current version of v's document i to NAME and checks pdfsig finds its
 * signatures, count of them, all valid. */
static void check_signed_document(const view *v, size_t i, const char *name, size_t count)
{
	char path[400], out[OUTPUT_BYTES_MAX];
	size_t bytes = 0;
	uint8_t *pdf = document_get(v->documents[i]->current_sha256.data, &bytes);
	CHECK(pdf != NULL, "%s: the signed version is stored", name);
	if (pdf && file_write(name, pdf, bytes, path, sizeof path)) {
		validate("pdfsig '%s' 2>&1", path, out, sizeof out);
		CHECK(count_of(out, "Signature is Valid") == count, "pdfsig: %s has %zu valid signature(s): %s", name,
		      count, out);
	}
	free(pdf);
}

/* Issue 10, defect 5, over RPC: the retry names the document whose signature failed; one that
 * did not fail is refused by name; once retried, both documents are signed without a restart
 * and pdfsig finds each signature valid. */
static void test_failed_document_retried_by_name(void)
{
	char id[32];
	uint8_t sha[2][32];
	const uint8_t *first_sha = sha[0], *second_sha = sha[1];
	if (!client_collection("Liasse 2027", 2, (const char *[]){"Liasse fiscale 2027", "Plaquette 2027"},
	                       (const char *[]){"liasse.pdf", "plaquette.pdf"}, sha, true, id))
		return;
	break_credentials(true);
	harness_code_of(consented_then_failed(id, "the first document's signature failed"));
	break_credentials(false);
	CHECK(retry_document(EC, id, second_sha) == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION,
	      "the second document's last attempt did not fail: not retried");
	CHECK(retry_document(SEALER, id, first_sha) == LEDGER__API__ERROR_CODE__PERMISSION_DENIED,
	      "a sealer may not retry");
	Ledger__Api__Reply *r = show(id);
	CHECK(r && view_of(r)->state == LEDGER__EVENTS__COLLECTION_STATE__STATE_IN_PROGRESS &&
	          view_of(r)->documents[0]->failure[0] != '\0',
	      "the refusals changed nothing");
	harness_code_of(r);
	CHECK(retry_document(EC, id, first_sha) == 0, "the failed document is retried");
	CHECK(wait_state(id, LEDGER__EVENTS__COLLECTION_STATE__STATE_COMPLETED), "both are signed: completed");
	r = show(id);
	const view *v = r ? view_of(r) : NULL;
	CHECK(v && v->n_documents == 2 && v->documents[0]->n_signed_by == 1 && v->documents[1]->n_signed_by == 1 &&
	          v->documents[0]->failure[0] == '\0',
	      "each document signed once, no failure left");
	if (v) {
		check_signed_document(v, 0, "liasse-retried.pdf", 1);
		check_signed_document(v, 1, "plaquette-signed.pdf", 1);
	}
	harness_code_of(r);
}

/* A seal whose sealing keeps failing, left alone, expires like a sent collection and gives
 * the firm its credits back. Last: it moves the service's clock past the expiry. */
static void test_failed_seal_expires(void)
{
	char id[32];
	uint8_t pdf[PDF_BYTES_MAX];
	size_t n = pdf_build(pdf, sizeof pdf, "Attestation jamais scellee");
	credits before = credits_now();
	REQUIRE_VOID(n > 0 && collection_create(SEALER, LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL, "Jamais", id));
	CHECK(document_add(SEALER, id, pdf, n, "jamais.pdf") == 0, "document");
	break_credentials(true);
	CHECK(act(SEALER, id, LEDGER__API__COLLECTION_ACT__ACT__SEAL) == 0, "seal asked");
	Ledger__Api__Reply *r = wait_for(id, has_failure, NULL);
	CHECK(r != NULL && view_of(r)->expires_at_us > 0, "the sealing failed; the collection has an expiry");
	harness_code_of(r);
	CHECK(credits_now().reserved == before.reserved + 1, "1 credit reserved");
	break_credentials(false);
	CHECK(harness_set_clock(&h, "2027-01-15T10:00:00Z"), "past the 15 days");
	CHECK(wait_state(id, LEDGER__EVENTS__COLLECTION_STATE__STATE_EXPIRED), "expired");
	credits after = credits_now();
	CHECK(after.reserved == before.reserved && after.available == before.available,
	      "its credit came back: reserved %llu (before %llu), available %llu (before %llu)",
	      (unsigned long long)after.reserved, (unsigned long long)before.reserved,
	      (unsigned long long)after.available, (unsigned long long)before.available);
}

/* The certificate SHA-256 of the log's first DocumentSigned; false if there is none. */
static bool first_certificate(uint8_t sha256[32])
{
	ledger *l;
	ledger_options o = {.read_only = true};
	MDB_txn *txn;
	ledger_iter *it;
	bool found = false;
	if (ledger_open(h.dir, &o, &l) != LEDGER_OK)
		return false;
	if (ledger_read_begin(l, &txn) == LEDGER_OK) {
		if (ledger_iter_open(l, txn, 1, &it) == LEDGER_OK) {
			ledger_record rec;
			while (!found && ledger_iter_next(it, &rec) == LEDGER_OK) {
				Ledger__Events__Event *ev =
				    ledger__events__event__unpack(NULL, rec.event_bytes, rec.event);
				found = ev && ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED &&
				        ev->document_signed->certificate_sha256.len == 32;
				if (found)
					memcpy(sha256, ev->document_signed->certificate_sha256.data, 32);
				ledger__events__event__free_unpacked(ev, NULL);
			}
			ledger_iter_close(it);
		}
		ledger_read_end(l, txn);
	}
	ledger_close(l);
	return found;
}

/* Deletes the blob under sha256 from the stopped service's store, as damage would. */
static bool blob_delete(const uint8_t sha256[32])
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi blobs;
	if (mdb_env_create(&env) != 0)
		return false;
	MDB_val k = {32, (void *)sha256};
	bool ok = mdb_env_set_maxdbs(env, 64) == 0 && mdb_env_open(env, h.dir, 0, 0600) == 0 &&
	          mdb_txn_begin(env, NULL, 0, &txn) == 0;
	if (ok) {
		ok = mdb_dbi_open(txn, "blobs", 0, &blobs) == 0 && mdb_del(txn, blobs, &k, NULL) == 0;
		ok = ok ? mdb_txn_commit(txn) == 0 : (mdb_txn_abort(txn), false);
	}
	mdb_env_close(env);
	return ok;
}

static void audit(void)
{
	CHECK(harness_stop(&h) == 0, "clean stop");
	char out[OUTPUT_BYTES_MAX];
	int rc = harness_audit(&h, "verify", NULL, out, sizeof out);
	CHECK(rc == 0, "ledger-audit verify exits 0, got %d: %s", rc, out);
	rc = harness_audit(&h, "replay", NULL, out, sizeof out);
	CHECK(rc == 0, "ledger-audit replay exits 0, got %d: %s", rc, out);
	/* A signer's certificate is stored beside the log (DocumentSigned.certificate_sha256): one
	 * that goes missing with no erasure on record is reported like a missing document. */
	uint8_t certificate[32];
	char hex[65];
	REQUIRE_VOID(first_certificate(certificate));
	CHECK(blob_delete(certificate), "a certificate's blob deleted from the store");
	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", certificate[i]);
	rc = harness_audit(&h, "verify", NULL, out, sizeof out);
	CHECK(rc == 1 && strstr(out, hex) && strstr(out, "which is not stored"),
	      "verify reports the missing certificate %s: exit %d, %s", hex, rc, out);
}

/* B-LT on a two-signer document: a /VRI entry for each signature, no document time-stamp, and
 * so nothing an archive renewal could extend. */
static void test_b_lt_two_signers(void)
{
	CHECK(signature_level_set(LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_B_LT) == 0, "the EC chooses B-LT");
	uint8_t pdf[PDF_BYTES_MAX];
	size_t n = pdf_build(pdf, sizeof pdf, "Lettre de mission B-LT");
	REQUIRE_VOID(n > 0);
	crypto_hash_sha256(original_sha, pdf, n);
	char id[32];
	if (collection_prepare(id, pdf, n)) {
		sign_both(id);
		size_t bytes = 0;
		uint8_t *signed_pdf = document_get(final_sha, &bytes);
		signature sigs[SIGNATURES_MAX];
		size_t count = signed_pdf ? signatures_find(signed_pdf, bytes, sigs, SIGNATURES_MAX) : 0, stamps = 0;
		for (size_t i = 0; i < count; i++)
			stamps += is_document_timestamp(&sigs[i]);
		CHECK(count == 2 && stamps == 0, "B-LT: 2 signatures, no document time-stamp (found %zu and %zu)",
		      count, stamps);
		char path[300], cmd[COMMAND_BYTES_MAX], out[OUTPUT_BYTES_MAX];
		if (signed_pdf && file_write("b-lt.pdf", signed_pdf, bytes, path, sizeof path)) {
			snprintf(cmd, sizeof cmd,
			         "/usr/bin/python3 '%s/dss_check.py' '%s' '%s/keys/signer-ca.pem' --ocsp 4 --vri 2 "
			         "--attime %lld 2>&1",
			         TESTS_DIR, path, h.dir, (long long)SIGNED_AT_S);
			CHECK(harness_run(cmd, out, sizeof out) == 0 && strstr(out, "vri=2"),
			      "B-LT: a /VRI entry for each of the two signatures: %s", out);
		}
		free(signed_pdf);
		CHECK(harness_code_of(renew(EC, id, NULL, 0)) == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION,
		      "a B-LT document is not renewed");
	}
	CHECK(signature_level_set(LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_B_LTA) == 0, "back to B-LTA");
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 2, "usage: signing_test BIN_DIR");
	REQUIRE(sodium_init() >= 0, "sodium");
	snprintf(work, sizeof work, "/tmp/signing-test-XXXXXX");
	REQUIRE(mkdtemp(work) != NULL, "work directory");
	/* Near the real date: openssl checks the certificates against the real clock. */
	REQUIRE(harness_init(&h, argv[1], TEST_START), "init");
	REQUIRE(harness_start(&h, NULL), "start");
	to_ledgerd = harness_sender(&h);
	setup();
	test_signature_collection();
	test_seal();
	test_decline();
	test_failure_recorded_then_retried();
	test_unsignable_refused();
	test_failure_then_cancelled();
	test_level_preference();
	test_renewal_refused();
	test_renewal();
	test_b_lt_two_signers();
	test_failure_retried_on_request();
	test_signer_process_killed();
	test_failed_document_removed();
	test_failed_document_retried_by_name();
	test_failed_seal_expires(); /* last: it moves the clock on */
	audit();
	harness_cleanup(&h);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
	CHECK(system(cmd) == 0, "clean %s", work);
	return check_report("signing_test");
}
