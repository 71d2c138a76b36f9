/*
 * evidence_verify.c: ledger-audit's `verify-evidence`, from the zip and the log key alone
 * (docs/evidence.md, "What verify-evidence checks"): every proof leads to the checkpoint, which
 * the key signed (and the witnesses given cosigned); the records are the collection's; every
 * document hashes to its name and is named by a record; every document an upload or a
 * signature names is in the zip, a signed version with valid signatures by the certificate the
 * log names; the certificate and the attestations are sealed and name this bundle.
 */
#include "audit.h"
#include "evidence.h"
#include "signer.h"
#include "tlog.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#define RECORDS_MAX       100000u /* one collection's events: far more than 50 documents x 50 signers make */
#define ENTRY_BYTES_MAX   (64u * 1024u * 1024u)
#define DOCUMENTS_MAX_ZIP 5100u /* 50 documents, each uploaded once and signed by at most 50 signers, x2 */

/* Reads entry i whole (at most ENTRY_BYTES_MAX), NUL-terminated; NULL with why set. */
static uint8_t *read_entry(zip_t *z, zip_uint64_t i, size_t *n, char *why, size_t cap)
{
	zip_stat_t st;
	if (zip_stat_index(z, i, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) {
		snprintf(why, cap, "entry %llu: unreadable", (unsigned long long)i);
		return NULL;
	}
	if (st.size > ENTRY_BYTES_MAX) {
		snprintf(why, cap, "%s: %llu bytes, over the limit of %u", st.name, (unsigned long long)st.size,
		         ENTRY_BYTES_MAX);
		return NULL;
	}
	uint8_t *buf = malloc(st.size + 1);
	zip_file_t *f = buf ? zip_fopen_index(z, i, 0) : NULL;
	zip_int64_t got = f ? zip_fread(f, buf, st.size) : -1;
	if (f)
		zip_fclose(f); /* checks nothing; zip_fread failed on a bad CRC */
	if (got < 0 || (zip_uint64_t)got != st.size) {
		snprintf(why, cap, "%s: cannot be read whole (a damaged zip?)", st.name);
		free(buf);
		return NULL;
	}
	buf[st.size] = '\0';
	*n = st.size;
	return buf;
}

typedef struct named_docs {
	uint8_t (*items)[LEDGER_HASH_BYTES];
	bool *found;
	ProtobufCBinaryData *certificate; /* a version a signature produced: its signer's certificate's SHA-256 */
	size_t count, cap;
} named_docs;

/* The index of hash h among the named documents, or count. */
static size_t named_find(const named_docs *d, const uint8_t h[LEDGER_HASH_BYTES])
{
	size_t k = 0;
	while (k < d->count && memcmp(d->items[k], h, LEDGER_HASH_BYTES) != 0)
		k++;
	return k;
}

/* Records, for the version a DocumentSigned produced, the SHA-256 of the certificate the log
 * says signed it (the DER is beside the log, not in the event). */
static bool named_certificate(named_docs *d, const Ledger__Events__DocumentSigned *s)
{
	size_t k = s->signed_sha256.len == LEDGER_HASH_BYTES ? named_find(d, s->signed_sha256.data) : d->count;
	if (k == d->count || s->certificate_sha256.len != LEDGER_HASH_BYTES)
		return true;
	free(d->certificate[k].data);
	d->certificate[k].data = malloc(LEDGER_HASH_BYTES);
	if (!d->certificate[k].data)
		return false;
	memcpy(d->certificate[k].data, s->certificate_sha256.data, LEDGER_HASH_BYTES);
	d->certificate[k].len = LEDGER_HASH_BYTES;
	return true;
}

/* True if the last signature v found is by the certificate whose SHA-256 the log recorded. */
static bool same_certificate(const signer_verified *v, const uint8_t sha256[LEDGER_HASH_BYTES])
{
	uint8_t h[LEDGER_HASH_BYTES];
	const tlog_bytes whole = {v->last_signer_certificate, v->last_signer_certificate_bytes};
	tlog_sha256(&whole, 1, h);
	return memcmp(h, sha256, LEDGER_HASH_BYTES) == 0;
}

static bool named_add(named_docs *d, const ProtobufCBinaryData *h)
{
	if (h->len != LEDGER_HASH_BYTES)
		return true;
	for (size_t i = 0; i < d->count; i++)
		if (memcmp(d->items[i], h->data, LEDGER_HASH_BYTES) == 0)
			return true;
	if (d->count == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;
		void *a = realloc(d->items, cap * sizeof *d->items),
		     *b = a ? realloc(d->found, cap * sizeof *d->found) : NULL,
		     *c = b ? realloc(d->certificate, cap * sizeof *d->certificate) : NULL;
		if (a)
			d->items = a;
		if (b)
			d->found = b;
		if (c)
			d->certificate = c;
		if (!a || !b || !c)
			return false;
		d->cap = cap;
	}
	memcpy(d->items[d->count], h->data, LEDGER_HASH_BYTES);
	d->certificate[d->count] = (ProtobufCBinaryData){0, NULL};
	d->found[d->count++] = false;
	return true;
}

/* The emails of the signers the records add, each once, and whether their attestation is found. */
typedef struct signer_list {
	char **emails;
	bool *found;
	size_t count, cap;
} signer_list;

static bool signers_add(signer_list *l, const char *email)
{
	for (size_t k = 0; k < l->count; k++)
		if (strcmp(l->emails[k], email) == 0)
			return true;
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char **e = realloc(l->emails, cap * sizeof *e);
		if (e)
			l->emails = e;
		bool *f = realloc(l->found, cap * sizeof *f);
		if (f)
			l->found = f;
		if (!e || !f)
			return false;
		l->cap = cap;
	}
	if (!(l->emails[l->count] = strdup(email)))
		return false;
	l->found[l->count++] = false;
	return true;
}

static void signers_free(signer_list *l)
{
	for (size_t k = 0; k < l->count; k++)
		free(l->emails[k]);
	free(l->emails);
	free(l->found);
}

/*
 * The platform seal's KeyCreated, proved against the records' checkpoint cp: its certificate's
 * SHA-256 into seal_sha256 (what the sealed documents' last signature must be by).
 */
static bool check_seal_record(zip_t *z, const tlog_verifier *keys, size_t witness_count, const tlog_checkpoint *cp,
                              audit_proof_result *r, uint8_t seal_sha256[LEDGER_HASH_BYTES], char *why,
                              size_t why_bytes)
{
	zip_int64_t at = zip_name_locate(z, EVIDENCE_SEAL_RECORD_ENTRY, 0);
	size_t n;
	char *text = at >= 0 ? (char *)read_entry(z, (zip_uint64_t)at, &n, why, why_bytes) : NULL;
	if (!text) {
		if (at < 0)
			snprintf(why, why_bytes, "no %s: the platform's seal cannot be checked against the log",
			         EVIDENCE_SEAL_RECORD_ENTRY);
		return false;
	}
	char proof_why[256];
	bool ok = audit_proof_check(text, n, keys, witness_count, r, proof_why, sizeof proof_why);
	free(text);
	if (!ok) {
		snprintf(why, why_bytes, "%s: %s", EVIDENCE_SEAL_RECORD_ENTRY, proof_why);
		return false;
	}
	if (r->checkpoint.size != cp->size || memcmp(r->checkpoint.root, cp->root, TLOG_HASH_BYTES) != 0) {
		snprintf(why, why_bytes, "%s: proved against another checkpoint than the records",
		         EVIDENCE_SEAL_RECORD_ENTRY);
		return false;
	}
	Ledger__Events__Event *ev = ledger__events__event__unpack(NULL, r->parsed.event_bytes, r->parsed.event);
	ok = ev && ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_KEY_CREATED &&
	     ev->key_created->kind == LEDGER__EVENTS__KEY_KIND__KEY_PLATFORM_SEAL &&
	     ev->key_created->certificate_sha256.len == LEDGER_HASH_BYTES;
	if (ok)
		memcpy(seal_sha256, ev->key_created->certificate_sha256.data, LEDGER_HASH_BYTES);
	else
		snprintf(why, why_bytes, "%s: record %llu is not the KeyCreated of a platform seal",
		         EVIDENCE_SEAL_RECORD_ENTRY, (unsigned long long)r->seq);
	if (ev)
		ledger__events__event__free_unpacked(ev, NULL);
	return ok;
}

/*
 * The sealed documents: certificat-de-preuve.pdf and one attestation per signer the records
 * add (attestations/SHA256-OF-EMAIL.pdf), each sealed by the platform at B-LTA and naming the
 * bundle's evidence.json (certificate.h). *sealed counts them.
 */
static bool check_sealed_documents(zip_t *z, zip_int64_t entries, const uint8_t *ca, size_t ca_bytes,
                                   const uint8_t seal_sha256[LEDGER_HASH_BYTES], signer_list *signers, uint64_t *sealed,
                                   char *why, size_t why_bytes)
{
	zip_int64_t at = zip_name_locate(z, "evidence.json", 0);
	size_t n;
	uint8_t *bytes = at >= 0 ? read_entry(z, (zip_uint64_t)at, &n, why, why_bytes) : NULL;
	if (!bytes) {
		if (at < 0)
			snprintf(why, why_bytes, "no evidence.json in the bundle");
		return false;
	}
	uint8_t h[LEDGER_HASH_BYTES];
	char json_hex[65];
	tlog_sha256(&(const tlog_bytes){bytes, n}, 1, h);
	ledger_hex(h, sizeof h, json_hex);
	free(bytes);
	bool ok = true, certificate = false;
	char doc_why[384];
	for (zip_int64_t i = 0; ok && i < entries; i++) {
		const char *name = zip_get_name(z, (zip_uint64_t)i, 0);
		bool is_certificate = name && strcmp(name, EVIDENCE_CERTIFICATE_ENTRY) == 0;
		size_t dir_len = strlen(EVIDENCE_ATTESTATIONS_DIR);
		if (!is_certificate && (!name || strncmp(name, EVIDENCE_ATTESTATIONS_DIR, dir_len) != 0))
			continue;
		size_t k = signers->count;
		if (!is_certificate) {
			/* the name is the SHA-256 of the email of a signer a record adds */
			for (k = 0; k < signers->count; k++) {
				char expect[EVIDENCE_ATTESTATION_NAME_BYTES];
				evidence_attestation_name(signers->emails[k], expect);
				if (strcmp(name, expect) == 0)
					break;
			}
			if (k == signers->count) {
				snprintf(why, why_bytes, "%s: not the attestation of a signer the records add", name);
				return false;
			}
			signers->found[k] = true;
		}
		bytes = read_entry(z, (zip_uint64_t)i, &n, why, why_bytes);
		/* a certificate says what it is; an attestation, whose it is */
		const char *says[2] = {is_certificate ? EVIDENCE_CERTIFICATE_TITLE : EVIDENCE_ATTESTATION_TITLE,
		                       is_certificate ? NULL : signers->emails[k]};
		ok = bytes && evidence_document_check(bytes, n, ca, ca_bytes, seal_sha256, json_hex, says, 2, doc_why,
		                                      sizeof doc_why);
		if (bytes && !ok)
			snprintf(why, why_bytes, "%s: %s", name, doc_why);
		free(bytes);
		certificate |= is_certificate;
		*sealed += ok;
	}
	if (ok && !certificate) {
		snprintf(why, why_bytes, "no %s in the bundle", EVIDENCE_CERTIFICATE_ENTRY);
		ok = false;
	}
	for (size_t k = 0; ok && k < signers->count; k++)
		if (!signers->found[k]) {
			snprintf(why, why_bytes, "a signer the records add has no attestation in the bundle");
			ok = false;
		}
	return ok;
}

int audit_verify_evidence(const char *path, const char *key_path, const char *const *witnesses, size_t witness_count,
                          bool json)
{
	tlog_verifier keys[TLOG_VERIFIERS_MAX];
	if (!audit_load_keys(key_path, witnesses, witness_count, keys, "verify-evidence"))
		return AUDIT_EXIT_USAGE;
	int zerr = 0;
	zip_t *z = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
	if (!z) {
		fprintf(stderr, "ledger-audit verify-evidence: %s: not a readable zip\n", path);
		return AUDIT_EXIT_USAGE;
	}
	char why[512] = "", firm[PROJ_FIRM_ID_BYTES_MAX + 1] = "", collection[128] = "";
	audit_proof_result *r = malloc(sizeof *r);
	named_docs named = {0};
	signer_list signers = {0};
	tlog_checkpoint first_cp = {0};
	uint64_t records = 0, documents = 0;
	zip_int64_t entries = zip_get_num_entries(z, 0);
	bool ok = r != NULL && entries > 0 && (zip_uint64_t)entries <= RECORDS_MAX + DOCUMENTS_MAX_ZIP + 8;
	if (!ok)
		snprintf(why, sizeof why, "%s: %lld entries: not an evidence bundle", path, (long long)entries);
	/* The records first: they say which documents the bundle must hold. */
	for (zip_int64_t i = 0; ok && i < entries; i++) {
		const char *name = zip_get_name(z, (zip_uint64_t)i, 0);
		if (!name || strncmp(name, "records/", 8) != 0)
			continue;
		size_t n;
		char *text = (char *)read_entry(z, (zip_uint64_t)i, &n, why, sizeof why);
		char proof_why[256];
		ok = text && audit_proof_check(text, n, keys, witness_count, r, proof_why, sizeof proof_why);
		if (text && !ok)
			snprintf(why, sizeof why, "%s: %s", name, proof_why);
		free(text);
		if (!ok)
			break;
		if (records == 0)
			first_cp = r->checkpoint;
		else if (r->checkpoint.size != first_cp.size ||
		         memcmp(r->checkpoint.root, first_cp.root, TLOG_HASH_BYTES) != 0) {
			snprintf(why, sizeof why, "%s: proved against another checkpoint than the other records", name);
			ok = false;
			break;
		}
		Ledger__Events__Event *ev = ledger__events__event__unpack(NULL, r->parsed.event_bytes, r->parsed.event);
		const char *c = NULL;
		if (!ev || !evidence_payload_of(ev, &c) || !c) {
			snprintf(why, sizeof why, "%s: record %llu is not an event about a collection", name,
			         (unsigned long long)r->seq);
			ok = false;
		} else if (records == 0) {
			snprintf(firm, sizeof firm, "%s", ev->firm_id);
			snprintf(collection, sizeof collection, "%s", c);
		} else if (strcmp(firm, ev->firm_id) != 0 || strcmp(collection, c) != 0) {
			snprintf(why, sizeof why, "%s: record %llu is about %s/%s, the bundle about %s/%s", name,
			         (unsigned long long)r->seq, ev->firm_id, c, firm, collection);
			ok = false;
		}
		const ProtobufCBinaryData *docs[3];
		size_t nd = ok ? evidence_event_documents(ev, docs) : 0;
		for (size_t k = 0; ok && k < nd; k++)
			ok = named_add(&named, docs[k]);
		if (ok && ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED)
			ok = named_certificate(&named, ev->document_signed);
		if (ok && ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_SIGNER_ADDED)
			ok = signers_add(&signers, ev->signer_added->signer_id[0] ? ev->signer_added->signer_id
			                                                          : ev->signer_added->email);
		if (ev)
			ledger__events__event__free_unpacked(ev, NULL);
		records++;
	}
	if (ok && records == 0) {
		snprintf(why, sizeof why, "no records/ in the bundle");
		ok = false;
	}
	/* The CA's certificate, for the signatures inside the signed versions. */
	uint8_t *ca = NULL;
	size_t ca_bytes = 0;
	zip_int64_t ca_at = ok ? zip_name_locate(z, "signer-ca.der", 0) : -1;
	if (ok && (ca_at < 0 || !(ca = read_entry(z, (zip_uint64_t)ca_at, &ca_bytes, why, sizeof why)))) {
		if (ca_at < 0)
			snprintf(why, sizeof why,
			         "no signer-ca.der: the signed versions' signatures cannot be checked");
		ok = false;
	}
	uint64_t signatures = 0, stamps = 0;
	/* Then the documents: each must hash to its name and be one the records name; a version a
	 * signature produced must carry valid signatures, the last by the certificate the log says. */
	for (zip_int64_t i = 0; ok && i < entries; i++) {
		const char *name = zip_get_name(z, (zip_uint64_t)i, 0);
		if (!name || strncmp(name, "documents/", 10) != 0)
			continue;
		size_t n;
		uint8_t *bytes = read_entry(z, (zip_uint64_t)i, &n, why, sizeof why);
		if (!bytes) {
			ok = false;
			break;
		}
		uint8_t h[LEDGER_HASH_BYTES];
		char hexed[65], expect[96];
		const tlog_bytes whole = {bytes, n};
		tlog_sha256(&whole, 1, h);
		ledger_hex(h, sizeof h, hexed);
		snprintf(expect, sizeof expect, "documents/%s.pdf", hexed);
		size_t k = named_find(&named, h);
		if (strcmp(name, expect) != 0)
			snprintf(why, sizeof why, "%s: its bytes hash to %s", name, hexed);
		else if (k == named.count)
			snprintf(why, sizeof why, "%s: no record of the bundle names it", name);
		else if (named.certificate[k].len) {
			signer_verified v;
			signer_err err = signer_pdf_verify(bytes, n, ca, ca_bytes, &v);
			if (err)
				snprintf(why, sizeof why, "%s: %s (%s)", name, signer_strerror(err),
				         signer_last_error());
			else if (v.signatures == 0 || !same_certificate(&v, named.certificate[k].data))
				snprintf(why, sizeof why,
				         "%s: its last signature is not by the certificate the log recorded", name);
			else {
				signatures += v.signatures;
				stamps += v.timestamps + v.signature_timestamps;
			}
		}
		free(bytes);
		if (why[0]) {
			ok = false;
			break;
		}
		named.found[k] = true;
		documents++;
	}
	for (size_t k = 0; ok && k < named.count; k++)
		if (!named.found[k]) {
			char h[65];
			ledger_hex(named.items[k], LEDGER_HASH_BYTES, h);
			snprintf(why, sizeof why, "a record names document %s, which the bundle does not hold", h);
			ok = false;
		}
	uint64_t sealed = 0;
	uint8_t seal_sha256[LEDGER_HASH_BYTES];
	if (ok)
		ok = check_seal_record(z, keys, witness_count, &first_cp, r, seal_sha256, why, sizeof why) &&
		     check_sealed_documents(z, entries, ca, ca_bytes, seal_sha256, &signers, &sealed, why, sizeof why);
	zip_discard(z);
	for (size_t k = 0; k < named.count; k++)
		free(named.certificate[k].data);
	signers_free(&signers);
	free(named.certificate);
	free(named.items);
	free(named.found);
	free(ca);
	free(r);
	if (json) {
		printf("{\"ok\":%s,\"firm\":\"%s\",\"collection\":\"%s\",\"records\":%llu,\"documents\":%llu,"
		       "\"checkpoint_size\":%llu,\"witnesses\":%zu,\"sealed_documents\":%llu,\"reason\":\"",
		       ok ? "true" : "false", firm, collection, (unsigned long long)records,
		       (unsigned long long)documents, (unsigned long long)first_cp.size, witness_count,
		       (unsigned long long)sealed);
		for (const char *c = why; *c; c++)
			printf(*c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
		printf("\"}\n");
	} else if (ok) {
		printf(
		    "verified: %llu records of collection %s/%s are in the log %s (checkpoint of %llu records, signed "
		    "by its key%s); %llu documents are the ones they name; %llu signatures and %llu time-stamps in the "
		    "signed versions verify, each version's last signature by the certificate the log recorded; the "
		    "certificate of completion and %llu attestations are sealed at B-LTA by the platform's seal whose "
		    "KeyCreated the log records, and name this evidence.json\n",
		    (unsigned long long)records, firm, collection, first_cp.origin, (unsigned long long)first_cp.size,
		    witness_count ? " and cosigned by every witness given" : "", (unsigned long long)documents,
		    (unsigned long long)signatures, (unsigned long long)stamps, (unsigned long long)(sealed - 1));
	} else {
		printf("not verified: %s\n", why);
	}
	return ok ? 0 : AUDIT_EXIT_BAD;
}
