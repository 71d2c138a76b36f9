/*
 * evidence.c: ledger-audit's `evidence` (and ledgerd's CollectionEvidence): one collection's dossier de
 * preuve, a zip that stands alone (docs/evidence.md gives its layout and evidence.json's
 * schema).
 *
 *   evidence         after verifying the chain and the tree: every document version the
 *                    collection's events name, the raw records of those events each with a
 *                    C2SP tlog-proof against one checkpoint (a cosigned one when given), the
 *                    log's verifier key, and evidence.json (the timeline in UTC and Paris time,
 *                    the documents' hashes before and after each signature, the certificates),
 *                    and the sealed certificate of completion and attestations (certificate.c)
 *
 * verify-evidence is evidence_verify.c.
 */
#include "audit.h"
#include "evidence.h"
#include "signer.h"
#include "tlog.h"

#include <limits.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zip.h>

#define EVIDENCE_FORMAT "jse-evidence/1"

/* ----- writing ----- */

typedef struct growing {
	char *text;
	size_t n, cap;
	bool failed;
} growing;

static void put(growing *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(growing *g, const char *fmt, ...)
{
	for (int attempt = 0; attempt < 2 && !g->failed; attempt++) {
		va_list ap;
		va_start(ap, fmt);
		int w = vsnprintf(g->text ? g->text + g->n : NULL, g->text ? g->cap - g->n : 0, fmt, ap);
		va_end(ap);
		if (w < 0) {
			g->failed = true;
			return;
		}
		if (g->text && g->n + (size_t)w < g->cap) {
			g->n += (size_t)w;
			return;
		}
		size_t cap = g->cap ? g->cap : 4096;
		while (cap < g->n + (size_t)w + 1)
			cap *= 2;
		char *p = realloc(g->text, cap);
		if (!p) {
			g->failed = true;
			return;
		}
		g->text = p;
		g->cap = cap;
	}
}

static void put_json_string(growing *g, const char *s)
{
	put(g, "\"");
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			put(g, "\\%c", *c);
		else if (*c < 0x20)
			put(g, "\\u%04x", *c);
		else
			put(g, "%c", *c);
	}
	put(g, "\"");
}

/* The set fields of m as a JSON object: strings, numbers, booleans, enum names, bytes in hex
 * (certificates in base64 under their name with "_der_base64"), nested messages as objects. */
static void put_message(growing *g, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	bool first = true;
	put(g, "{");
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *at = (const char *)m + f->offset;
		bool repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
		size_t count = repeated ? *(const size_t *)((const char *)m + f->quantifier_offset) : 1;
		if (repeated) {
			if (count == 0)
				continue;
			at = *(const char *const *)at;
		}
		/* Skip what is unset (proto3 defaults) for singular fields. */
		if (!repeated) {
			bool unset = false;
			switch (f->type) {
			case PROTOBUF_C_TYPE_STRING:
				unset = !*(const char *const *)at || !**(const char *const *)at;
				break;
			case PROTOBUF_C_TYPE_BYTES: unset = ((const ProtobufCBinaryData *)at)->len == 0; break;
			case PROTOBUF_C_TYPE_BOOL: unset = !*(const protobuf_c_boolean *)at; break;
			case PROTOBUF_C_TYPE_ENUM: unset = *(const int *)at == 0; break;
			case PROTOBUF_C_TYPE_MESSAGE: unset = !*(const ProtobufCMessage *const *)at; break;
			case PROTOBUF_C_TYPE_INT64:
			case PROTOBUF_C_TYPE_UINT64:
			case PROTOBUF_C_TYPE_SINT64:
			case PROTOBUF_C_TYPE_FIXED64:
			case PROTOBUF_C_TYPE_SFIXED64: unset = *(const uint64_t *)at == 0; break;
			case PROTOBUF_C_TYPE_FLOAT: unset = *(const float *)at == 0; break;
			default: unset = *(const uint32_t *)at == 0; break;
			}
			if (unset)
				continue;
		}
		/* Every bytes field is a hash, in hex: no event holds a certificate's DER any more
		 * (DocumentSigned keeps its SHA-256; the DER is beside the log and in certificates/). */
		put(g, "%s\"%s\":%s", first ? "" : ",", f->name, repeated ? "[" : "");
		first = false;
		for (size_t k = 0; k < count; k++) {
			if (k)
				put(g, ",");
			switch (f->type) {
			case PROTOBUF_C_TYPE_STRING: put_json_string(g, ((const char *const *)at)[k]); break;
			case PROTOBUF_C_TYPE_BYTES: {
				const ProtobufCBinaryData *b = &((const ProtobufCBinaryData *)at)[k];
				char *text = malloc(2 * b->len + 1);
				if (!text) {
					g->failed = true;
					break;
				}
				ledger_hex(b->data, b->len, text);
				put(g, "\"%s\"", text);
				free(text);
				break;
			}
			case PROTOBUF_C_TYPE_BOOL:
				put(g, "%s", ((const protobuf_c_boolean *)at)[k] ? "true" : "false");
				break;
			case PROTOBUF_C_TYPE_ENUM: {
				const ProtobufCEnumValue *e =
				    protobuf_c_enum_descriptor_get_value(f->descriptor, ((const int *)at)[k]);
				put_json_string(g, e ? e->name : "?");
				break;
			}
			case PROTOBUF_C_TYPE_INT64:
			case PROTOBUF_C_TYPE_SINT64:
			case PROTOBUF_C_TYPE_SFIXED64: put(g, "%lld", (long long)((const int64_t *)at)[k]); break;
			case PROTOBUF_C_TYPE_UINT64:
			case PROTOBUF_C_TYPE_FIXED64:
				put(g, "%llu", (unsigned long long)((const uint64_t *)at)[k]);
				break;
			case PROTOBUF_C_TYPE_INT32:
			case PROTOBUF_C_TYPE_SINT32:
			case PROTOBUF_C_TYPE_SFIXED32: put(g, "%d", ((const int32_t *)at)[k]); break;
			case PROTOBUF_C_TYPE_UINT32:
			case PROTOBUF_C_TYPE_FIXED32: put(g, "%u", ((const uint32_t *)at)[k]); break;
			case PROTOBUF_C_TYPE_FLOAT: put(g, "%g", (double)((const float *)at)[k]); break;
			case PROTOBUF_C_TYPE_DOUBLE: put(g, "%g", ((const double *)at)[k]); break;
			case PROTOBUF_C_TYPE_MESSAGE: put_message(g, ((const ProtobufCMessage *const *)at)[k]); break;
			default: put(g, "null"); break;
			}
		}
		if (repeated)
			put(g, "]");
	}
	put(g, "}");
}

/* The payload message of an event and its collection_id (NULL if none). */
const ProtobufCMessage *evidence_payload_of(const Ledger__Events__Event *ev, const char **collection)
{
	*collection = NULL;
	const ProtobufCFieldDescriptor *f =
	    protobuf_c_message_descriptor_get_field(&ledger__events__event__descriptor, (unsigned)ev->payload_case);
	if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return NULL;
	const ProtobufCMessage *m = *(const ProtobufCMessage *const *)((const char *)ev + f->offset);
	const ProtobufCFieldDescriptor *c =
	    m ? protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "collection_id") : NULL;
	if (c && c->type == PROTOBUF_C_TYPE_STRING && c->label != PROTOBUF_C_LABEL_REPEATED)
		*collection = *(const char *const *)((const char *)m + c->offset);
	return m;
}

/* The hashes of the documents an event names, stored in the zip (up to 3). */
size_t evidence_event_documents(const Ledger__Events__Event *ev, const ProtobufCBinaryData *out[3])
{
	if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_ADDED) {
		out[0] = &ev->document_added->sha256;
		return 1;
	}
	if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED) {
		out[0] = &ev->document_signed->original_sha256;
		out[1] = &ev->document_signed->source_sha256;
		out[2] = &ev->document_signed->signed_sha256;
		return 3;
	}
	if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_TIMESTAMP_RENEWED) {
		out[0] = &ev->document_timestamp_renewed->original_sha256;
		out[1] = &ev->document_timestamp_renewed->source_sha256;
		out[2] = &ev->document_timestamp_renewed->renewed_sha256;
		return 3;
	}
	return 0;
}

/* Adds a copy of bytes under name; the zip frees it. */
static bool zip_add_copy(zip_t *z, const char *name, const void *bytes, size_t n)
{
	void *copy = malloc(n ? n : 1);
	if (!copy)
		return false;
	memcpy(copy, bytes, n);
	zip_source_t *src = zip_source_buffer(z, copy, n, 1);
	if (!src) {
		free(copy);
		return false;
	}
	if (zip_file_add(z, name, src, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8) < 0) {
		zip_source_free(src);
		return false;
	}
	return true;
}

/* The signer's certificate a DocumentSigned names, as certificates/SHA-256.der, when it is still
 * beside the log: erasure of an external signer removes it, and the bundle then goes without
 * (the signed version holds it anyway). False only on a zip error. */
static bool add_certificate(zip_t *z, ledger *l, MDB_txn *txn, const ProtobufCBinaryData *sha256)
{
	const uint8_t *bytes;
	size_t n;
	char h[65], path[96];
	if (sha256->len != LEDGER_HASH_BYTES)
		return true;
	ledger_hex(sha256->data, LEDGER_HASH_BYTES, h);
	snprintf(path, sizeof path, "certificates/%s.der", h);
	if (zip_name_locate(z, path, 0) >= 0 || ledger_blob_get(l, txn, sha256->data, &bytes, &n) != LEDGER_OK)
		return true;
	return zip_add_copy(z, path, bytes, n);
}

/* The checkpoint the proofs go to: --checkpoint's, else the largest cosigned one covering the
 * collection, else the latest. */
static bool choose_checkpoint(ledger *l, MDB_txn *txn, const tlog_verifier *key, const char *path, uint64_t last_seq,
                              char *note, size_t cap, size_t *n, tlog_checkpoint *cp, char *why, size_t why_cap)
{
	tlog_note_result r;
	if (path) {
		FILE *f = fopen(path, "re");
		*n = f ? fread(note, 1, cap - 1, f) : 0;
		if (f)
			fclose(f);
		note[*n] = '\0';
	} else if (ledger_cosigned_get(l, txn, 0, note, cap, n) != LEDGER_OK ||
	           tlog_checkpoint_open(note, *n, key, NULL, 0, cp, &r) != TLOG_OK || cp->size < last_seq) {
		if (ledger_checkpoint_latest(l, txn, note, cap, n) != LEDGER_OK) {
			snprintf(why, why_cap, "the log has no signed checkpoint");
			return false;
		}
	}
	if (tlog_checkpoint_open(note, *n, key, NULL, 0, cp, &r) != TLOG_OK) {
		snprintf(why, why_cap, "the checkpoint is not signed by the log key: %s", tlog_last_error());
		return false;
	}
	uint8_t root[LEDGER_HASH_BYTES];
	if (cp->size < last_seq) {
		snprintf(why, why_cap, "the checkpoint (%llu records) does not cover the collection's last event %llu",
		         (unsigned long long)cp->size, (unsigned long long)last_seq);
		return false;
	}
	if (ledger_tree_root(l, txn, cp->size, root) != LEDGER_OK || memcmp(root, cp->root, sizeof root) != 0) {
		snprintf(why, why_cap, "the checkpoint's root is not the log's: the log was rewritten");
		return false;
	}
	return true;
}

/* One record's tlog-proof text (docs/log-format.md section 10.3). */
static void put_proof(growing *g, const ledger_record *rec, const tlog_proof *p, const char *note, size_t note_bytes)
{
	size_t bytes = LEDGER_RECORD_HEADER_BYTES + rec->event_bytes;
	uint8_t *raw = malloc(bytes);
	size_t cap = sodium_base64_ENCODED_LEN(bytes, sodium_base64_VARIANT_ORIGINAL);
	char *text = malloc(cap);
	if (!raw || !text) {
		g->failed = true;
		free(raw);
		free(text);
		return;
	}
	memcpy(raw, LEDGER_RECORD_MAGIC, LEDGER_RECORD_MAGIC_BYTES);
	ledger_put_u64_be(raw + LEDGER_RECORD_MAGIC_BYTES, rec->seq);
	memcpy(raw + LEDGER_RECORD_MAGIC_BYTES + 8, rec->prev_hash, LEDGER_HASH_BYTES);
	memcpy(raw + LEDGER_RECORD_MAGIC_BYTES + 8 + LEDGER_HASH_BYTES, rec->hash, LEDGER_HASH_BYTES);
	memcpy(raw + LEDGER_RECORD_HEADER_BYTES, rec->event, rec->event_bytes);
	sodium_bin2base64(text, cap, raw, bytes, sodium_base64_VARIANT_ORIGINAL);
	put(g, "c2sp.org/tlog-proof@v1\nextra %s\nindex %llu\n", text, (unsigned long long)(rec->seq - 1));
	for (size_t i = 0; i < p->count; i++) {
		char h[TLOG_HASH_BYTES * 2];
		tlog_base64_encode(p->hashes[i], TLOG_HASH_BYTES, h, sizeof h);
		put(g, "%s\n", h);
	}
	put(g, "\n%.*s", (int)note_bytes, note);
	free(raw);
	free(text);
}

/* The platform seal's KeyCreated (seq) with its proof against cp, and its certificate (DER). */
static bool add_seal_record(zip_t *z, ledger *l, MDB_txn *txn, uint64_t seq, const tlog_checkpoint *cp,
                            const char *note, size_t note_bytes)
{
	ledger_record rec;
	tlog_proof p;
	growing proof = {0};
	if (ledger_get(l, txn, seq, &rec) != LEDGER_OK ||
	    ledger_tree_prove_inclusion(l, txn, seq, cp->size, &p) != LEDGER_OK)
		return false;
	put_proof(&proof, &rec, &p, note, note_bytes);
	bool ok = !proof.failed && zip_add_copy(z, EVIDENCE_SEAL_RECORD_ENTRY, proof.text, proof.n);
	free(proof.text);
	Ledger__Events__Event *ev = ok ? ledger__events__event__unpack(NULL, rec.event_bytes, rec.event) : NULL;
	const uint8_t *der = NULL;
	size_t der_bytes = 0;
	ok = ev && ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_KEY_CREATED &&
	     ev->key_created->certificate_sha256.len == LEDGER_HASH_BYTES &&
	     ledger_blob_get(l, txn, ev->key_created->certificate_sha256.data, &der, &der_bytes) == LEDGER_OK &&
	     zip_add_copy(z, EVIDENCE_SEAL_CERTIFICATE_ENTRY, der, der_bytes);
	if (ev)
		ledger__events__event__free_unpacked(ev, NULL);
	return ok;
}

/* attestations/ and the hex SHA-256 of the signer's email, .pdf: file names that name nobody. */
void evidence_attestation_name(const char *email, char out[EVIDENCE_ATTESTATION_NAME_BYTES])
{
	uint8_t h[LEDGER_HASH_BYTES];
	char hex[65];
	tlog_sha256(&(const tlog_bytes){(const uint8_t *)email, strlen(email)}, 1, h);
	ledger_hex(h, sizeof h, hex);
	snprintf(out, EVIDENCE_ATTESTATION_NAME_BYTES, "%s%s.pdf", EVIDENCE_ATTESTATIONS_DIR, hex);
}

/* The certificate of completion and one attestation per signer, sealed (certificate.h). */
static bool add_sealed_documents(zip_t *z, const evidence_facts *facts, const evidence_sealer *sealer, char *why,
                                 size_t why_bytes)
{
	uint8_t *pdf = NULL;
	size_t n = 0;
	bool ok = evidence_document(facts, NULL, sealer, &pdf, &n, why, why_bytes) &&
	          zip_add_copy(z, EVIDENCE_CERTIFICATE_ENTRY, pdf, n);
	free(pdf);
	size_t count = 0;
	const char **signers = ok ? evidence_signers(facts, &count) : NULL;
	for (size_t i = 0; ok && i < count; i++) {
		char name[EVIDENCE_ATTESTATION_NAME_BYTES];
		evidence_attestation_name(signers[i], name);
		ok = evidence_document(facts, signers[i], sealer, &pdf, &n, why, why_bytes) &&
		     zip_add_copy(z, name, pdf, n);
		free(pdf);
	}
	free(signers);
	return ok;
}

int evidence_write(const evidence_source *src, const char *firm, const char *collection, const char *checkpoint_path,
                   const evidence_sealer *sealer, zip_t *z, evidence_made *made, char *why, size_t why_bytes)
{
	ledger *l = src->l;
	MDB_txn *txn = src->txn;
	int rc = 0;
	why[0] = '\0';
	*made = (evidence_made){0};
	/* First pass: the collection's last seq (the checkpoint must cover it). */
	uint64_t last_seq = 0, count = 0;
	ledger_iter *it = NULL;
	ledger_record rec;
	if (!rc && ledger_iter_open(l, txn, src->from_seq ? src->from_seq : 1, &it) == LEDGER_OK) {
		while (ledger_iter_next(it, &rec) == LEDGER_OK) {
			Ledger__Events__Event *ev = ledger__events__event__unpack(NULL, rec.event_bytes, rec.event);
			const char *c = NULL;
			if (ev && evidence_payload_of(ev, &c) && c && strcmp(c, collection) == 0 &&
			    strcmp(ev->firm_id, firm) == 0) {
				last_seq = rec.seq;
				count++;
			}
			if (ev)
				ledger__events__event__free_unpacked(ev, NULL);
		}
		ledger_iter_close(it);
	}
	if (!rc && count == 0) {
		snprintf(why, why_bytes, "no event of collection %s in firm %s", collection, firm);
		rc = AUDIT_EXIT_BAD;
	}
	char note[LEDGER_COSIGNED_BYTES_MAX];
	size_t note_bytes = 0;
	tlog_checkpoint cp;
	/* the checkpoint covers the platform seal's KeyCreated too */
	uint64_t covered_seq = last_seq > sealer->seal_seq ? last_seq : sealer->seal_seq;
	if (!rc && !choose_checkpoint(l, txn, src->key, checkpoint_path, covered_seq, note, sizeof note, &note_bytes,
	                              &cp, why, why_bytes))
		rc = AUDIT_EXIT_BAD;
	evidence_facts facts = {.firm = firm,
	                        .collection = collection,
	                        .made_at_us = sealer->now_s * 1000000,
	                        .identity = src->identity,
	                        .identity_ctx = src->identity_ctx};
	growing json = {0};
	uint64_t documents = 0;
	if (!rc) {
		char vkey[TLOG_VKEY_BYTES_MAX + 2];
		tlog_vkey_format(src->key, vkey, sizeof vkey - 1);
		strcat(vkey, "\n");
		char now[40];
		put(&json, "{\"format\":\"%s\",\"log\":{\"origin\":", EVIDENCE_FORMAT);
		put_json_string(&json, cp.origin);
		put(&json, ",\"verifier_key\":");
		put_json_string(&json, vkey);
		put(&json, ",\"checkpoint_size\":%llu,\"head_seq\":%llu},\"firm\":", (unsigned long long)cp.size,
		    (unsigned long long)src->head_seq);
		put_json_string(&json, firm);
		put(&json, ",\"collection\":");
		put_json_string(&json, collection);
		audit_iso_time_us(facts.made_at_us, now);
		facts.origin = cp.origin;
		facts.checkpoint_size = cp.size;
		ledger_hex(cp.root, sizeof cp.root, facts.root_hex);
		put(&json,
		    ",\"made_at\":\"%s\",\"platform_seal\":{\"serial\":\"%s\",\"key_created_seq\":%llu},\"timeline\":[",
		    now, sealer->seal_serial, (unsigned long long)sealer->seal_seq);
		uint8_t ca_der[SIGNER_CERT_DER_BYTES_MAX];
		size_t ca_der_bytes = 0;
		/* the sealer's CA is the signer's: the trust anchor of the signed versions too */
		bool ok = signer_ca_certificate(sealer->ca, ca_der, sizeof ca_der, &ca_der_bytes) == SIGNER_OK &&
		          zip_add_copy(z, "signer-ca.der", ca_der, ca_der_bytes) &&
		          zip_add_copy(z, "log.vkey", vkey, strlen(vkey)) &&
		          zip_add_copy(z, "checkpoint.txt", note, note_bytes);
		ok = ok && add_seal_record(z, l, txn, sealer->seal_seq, &cp, note, note_bytes);
		bool first = true;
		if (ok && ledger_iter_open(l, txn, src->from_seq ? src->from_seq : 1, &it) == LEDGER_OK) {
			while (ok && ledger_iter_next(it, &rec) == LEDGER_OK && rec.seq <= last_seq) {
				Ledger__Events__Event *ev =
				    ledger__events__event__unpack(NULL, rec.event_bytes, rec.event);
				const char *c = NULL;
				const ProtobufCMessage *m = ev ? evidence_payload_of(ev, &c) : NULL;
				if (m && c && strcmp(c, collection) == 0 && strcmp(ev->firm_id, firm) == 0) {
					char name[64], utc[40], paris[AUDIT_PARIS_TIME_BYTES], hash[65];
					tlog_proof p;
					growing proof = {0};
					ok = ledger_tree_prove_inclusion(l, txn, rec.seq, cp.size, &p) == LEDGER_OK;
					if (ok)
						put_proof(&proof, &rec, &p, note, note_bytes);
					snprintf(name, sizeof name, "records/%012llu.tlog-proof",
					         (unsigned long long)rec.seq);
					ok = ok && !proof.failed && zip_add_copy(z, name, proof.text, proof.n);
					free(proof.text);
					audit_iso_time_us(ev->committed_at_us, utc);
					/* e.g. 2026-12-04T05:03:11+01:00 */
					audit_paris_time(ev->committed_at_us, "%Y-%m-%dT%H:%M:%S", "", paris);
					ledger_hex(rec.hash, LEDGER_HASH_BYTES, hash);
					put(&json,
					    "%s{\"seq\":%llu,\"record_hash\":\"%s\",\"at_utc\":\"%s\",\"at_paris\":\"%"
					    "s\",\"actor\":",
					    first ? "" : ",", (unsigned long long)rec.seq, hash, utc, paris);
					put_json_string(&json, ev->actor);
					put(&json, ",\"request_id\":");
					put_json_string(&json, ev->request_id);
					put(&json, ",\"event\":\"%s\",\"fields\":", audit_event_kind(ev));
					put_message(&json, m);
					put(&json, "}");
					evidence_facts_add(&facts, ev, m);
					first = false;
					const ProtobufCBinaryData *docs[3];
					size_t nd = evidence_event_documents(ev, docs);
					for (size_t i = 0; ok && i < nd; i++) {
						const uint8_t *bytes;
						size_t n;
						char h[65], path[96];
						if (docs[i]->len != LEDGER_HASH_BYTES)
							continue;
						ledger_hex(docs[i]->data, LEDGER_HASH_BYTES, h);
						snprintf(path, sizeof path, "documents/%s.pdf", h);
						if (zip_name_locate(z, path, 0) >= 0)
							continue;
						ok = ledger_blob_get(l, txn, docs[i]->data, &bytes, &n) == LEDGER_OK &&
						     zip_add_copy(z, path, bytes, n);
						documents += ok;
						if (!ok)
							snprintf(why, why_bytes,
							         "document %s, named by event %llu, is not stored", h,
							         (unsigned long long)rec.seq);
					}
					if (ok && ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED)
						ok = add_certificate(z, l, txn,
						                     &ev->document_signed->certificate_sha256);
				}
				if (ev)
					ledger__events__event__free_unpacked(ev, NULL);
			}
			ledger_iter_close(it);
		}
		put(&json, "]}\n");
		ok = ok && !json.failed && !facts.failed && zip_add_copy(z, "evidence.json", json.text, json.n);
		if (ok) {
			uint8_t h[LEDGER_HASH_BYTES];
			const tlog_bytes whole = {(const uint8_t *)json.text, json.n};
			tlog_sha256(&whole, 1, h);
			ledger_hex(h, sizeof h, facts.json_sha256_hex);
			ok = add_sealed_documents(z, &facts, sealer, why, why_bytes);
		}
		if (!ok && !why[0])
			snprintf(why, why_bytes, "cannot write the bundle (out of memory or a zip error: %s)",
			         zip_strerror(z));
		if (!ok)
			rc = AUDIT_EXIT_UNREADABLE;
	}
	free(json.text);
	evidence_facts_free(&facts);
	made->events = count;
	made->documents = documents;
	made->checkpoint_size = rc ? 0 : cp.size;
	return rc;
}

int audit_evidence(const char *dir, const char *key_path, const char *firm, const char *collection,
                   const char *checkpoint_path, const char *output)
{
	if (!firm || !collection || !output) {
		fprintf(stderr, "ledger-audit evidence: needs --firm FIRM, --collection ID and -o FILE.zip\n");
		return AUDIT_EXIT_USAGE;
	}
	ledger *l;
	MDB_txn *txn;
	ledger_verify_result v;
	int rc = audit_open_verified(dir, &l, &txn, &v);
	if (rc)
		return rc;
	audit_tree_result tree;
	char why[512] = "";
	rc = audit_verify_tree(l, txn, dir, key_path, NULL, &tree);
	if (rc)
		snprintf(why, sizeof why, "%.500s", tree.why);
	tlog_verifier key;
	if (!rc && !audit_load_vkey(tree.key_file, &key))
		rc = AUDIT_EXIT_USAGE;
	evidence_sealer sealer = {0};
	/* The seal is the platform's on record, at the system clock's time: never a time the
	 * operator chose. Without one (or its key), no bundle: this tool issues no credential. */
	if (!rc && !evidence_sealer_open(dir, l, txn, (int64_t)time(NULL), &sealer, why, sizeof why))
		rc = AUDIT_EXIT_UNREADABLE;
	int zerr = 0;
	zip_t *z = rc ? NULL : zip_open(output, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
	if (!rc && !z) {
		snprintf(why, sizeof why, "cannot create %s", output);
		rc = AUDIT_EXIT_UNREADABLE;
	}
	evidence_made made = {0};
	const evidence_source src = {.l = l, .txn = txn, .key = &key, .head_seq = v.head_seq};
	if (!rc)
		rc = evidence_write(&src, firm, collection, checkpoint_path, &sealer, z, &made, why, sizeof why);
	if (z && rc) {
		zip_discard(z);
		remove(output);
	} else if (z && zip_close(z) != 0) {
		snprintf(why, sizeof why, "cannot write %s: %s", output, zip_strerror(z));
		zip_discard(z);
		rc = AUDIT_EXIT_UNREADABLE;
	}
	evidence_sealer_close(&sealer);
	ledger_read_end(l, txn);
	ledger_close(l);
	if (rc) {
		fprintf(stderr, "ledger-audit evidence: %s\n", why[0] ? why : "failed");
		return rc;
	}
	fprintf(
	    stderr,
	    "ledger-audit: evidence of %s/%s written to %s: %llu events with their proofs against the checkpoint of "
	    "%llu records, %llu documents\n",
	    firm, collection, output, (unsigned long long)made.events, (unsigned long long)made.checkpoint_size,
	    (unsigned long long)made.documents);
	return 0;
}

int evidence_to_memory(const evidence_source *src, const char *firm, const char *collection,
                       const evidence_sealer *sealer, size_t bytes_max, uint8_t **out, size_t *out_bytes,
                       evidence_made *made, char *why, size_t why_bytes)
{
	*out = NULL;
	*out_bytes = 0;
	zip_error_t ze;
	zip_error_init(&ze);
	zip_source_t *buffer = zip_source_buffer_create(NULL, 0, 0, &ze);
	zip_t *z = NULL;
	if (buffer) {
		zip_source_keep(buffer); /* past zip_close, to read what it wrote */
		z = zip_open_from_source(buffer, ZIP_TRUNCATE, &ze);
	}
	int rc =
	    z ? evidence_write(src, firm, collection, NULL, sealer, z, made, why, why_bytes) : AUDIT_EXIT_UNREADABLE;
	if (!z)
		snprintf(why, why_bytes, "cannot make a zip in memory: %s", zip_error_strerror(&ze));
	else if (rc)
		zip_discard(z);
	else if (zip_close(z) != 0) {
		snprintf(why, why_bytes, "cannot write the zip: %s", zip_strerror(z));
		zip_discard(z);
		rc = AUDIT_EXIT_UNREADABLE;
	}
	zip_stat_t st;
	zip_stat_init(&st);
	if (!rc && (zip_source_stat(buffer, &st) != 0 || zip_source_open(buffer) != 0)) {
		snprintf(why, why_bytes, "cannot read the zip back");
		rc = AUDIT_EXIT_UNREADABLE;
	} else if (!rc) {
		if (st.size > bytes_max) {
			snprintf(why, why_bytes, "the bundle takes %llu bytes, over the %zu a reply may carry",
			         (unsigned long long)st.size, bytes_max);
			rc = AUDIT_EXIT_BAD;
		} else if (!(*out = malloc(st.size ? st.size : 1)) ||
		           zip_source_read(buffer, *out, st.size) != (zip_int64_t)st.size) {
			snprintf(why, why_bytes, "out of memory, or the zip cannot be read back");
			free(*out);
			*out = NULL;
			rc = AUDIT_EXIT_UNREADABLE;
		} else
			*out_bytes = st.size;
		zip_source_close(buffer);
	}
	zip_error_fini(&ze);
	if (buffer)
		zip_source_free(buffer);
	return rc;
}
