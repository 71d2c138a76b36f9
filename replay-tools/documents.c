/*
 * documents.c: the log's documents against the store's (part of `ledger-audit verify`).
 *
 * Every hash an event says was stored must be in the blobs database: an upload's
 * (DocumentAdded.sha256) and a signature's three (the original, the version signed and the
 * version produced), and the signer's certificate (DocumentSigned.certificate_sha256) unless a
 * SubjectErased removed it (an external signer's erasure, docs/personal-data.md). A stored blob no
 * event names is an orphan: reported, since the log cannot say why it is there, but not a broken
 * log. Certificates ledgerd issued are named by their KeyCreated (certificate_sha256).
 * Memory: one hash per stored blob.
 */
#include "audit.h"

#include <stdlib.h>
#include <string.h>

typedef struct hash_set {
	uint8_t (*items)[LEDGER_HASH_BYTES];
	uint64_t *seqs; /* the event each hash came from */
	size_t count, cap;
} hash_set;

static bool set_add_at(hash_set *s, const ProtobufCBinaryData *h, uint64_t seq)
{
	if (h->len != LEDGER_HASH_BYTES)
		return true; /* not a hash: nothing to look for (verify checks the chain, not the schema) */
	if (s->count == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		void *p = realloc(s->items, cap * sizeof *s->items);
		if (p)
			s->items = p;
		void *q = p ? realloc(s->seqs, cap * sizeof *s->seqs) : NULL;
		if (!q)
			return false;
		s->seqs = q;
		s->cap = cap;
	}
	s->seqs[s->count] = seq;
	memcpy(s->items[s->count++], h->data, LEDGER_HASH_BYTES);
	return true;
}

static bool set_add(hash_set *s, const ProtobufCBinaryData *h)
{
	return set_add_at(s, h, 0);
}

static void set_free(hash_set *s)
{
	free(s->items);
	free(s->seqs);
}

static int compare_hashes(const void *a, const void *b)
{
	return memcmp(a, b, LEDGER_HASH_BYTES);
}

static bool set_has(const hash_set *s, const uint8_t h[LEDGER_HASH_BYTES])
{
	for (size_t i = 0; i < s->count; i++)
		if (memcmp(s->items[i], h, LEDGER_HASH_BYTES) == 0)
			return true;
	return false;
}

/* The certificates an event names as stored (into certificates) or as erased (into erased). */
static bool note_certificates(const Ledger__Events__Event *ev, uint64_t seq, hash_set *certificates, hash_set *erased)
{
	if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED)
		return set_add_at(certificates, &ev->document_signed->certificate_sha256, seq);
	if (ev->payload_case != LEDGER__EVENTS__EVENT__PAYLOAD_SUBJECT_ERASED)
		return true;
	for (size_t i = 0; i < ev->subject_erased->n_certificates_removed; i++)
		if (!set_add(erased, &ev->subject_erased->certificates_removed[i]))
			return false;
	return true;
}

/* The seq of a DocumentSigned whose certificate the store lacks and no erasure removed (the
 * certificate's hash into missing), else 0. */
static uint64_t certificate_missing(ledger *l, MDB_txn *txn, const hash_set *certificates, const hash_set *erased,
                                    char missing[65])
{
	for (size_t i = 0; i < certificates->count; i++) {
		const uint8_t *bytes;
		size_t n;
		if (ledger_blob_get(l, txn, certificates->items[i], &bytes, &n) == LEDGER_OK ||
		    set_has(erased, certificates->items[i]))
			continue;
		ledger_hex(certificates->items[i], LEDGER_HASH_BYTES, missing);
		return certificates->seqs[i];
	}
	return 0;
}

int audit_documents_check(ledger *l, MDB_txn *txn, audit_documents_result *out)
{
	memset(out, 0, sizeof *out);
	hash_set named = {0}, certificates = {0}, erased = {0};
	ledger_iter *it;
	if (ledger_iter_open(l, txn, 1, &it) != LEDGER_OK)
		return AUDIT_EXIT_UNREADABLE;
	ledger_record rec;
	int rc = 0;
	while (rc == 0 && ledger_iter_next(it, &rec) == LEDGER_OK) {
		Ledger__Events__Event *ev = ledger__events__event__unpack(NULL, rec.event_bytes, rec.event);
		if (!ev)
			continue;
		const ProtobufCBinaryData *hashes[3] = {0};
		if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_ADDED) {
			hashes[0] = &ev->document_added->sha256;
		} else if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED) {
			hashes[0] = &ev->document_signed->signed_sha256;
			hashes[1] = &ev->document_signed->source_sha256;
			hashes[2] = &ev->document_signed->original_sha256;
		} else if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_TIMESTAMP_RENEWED) {
			hashes[0] = &ev->document_timestamp_renewed->renewed_sha256;
			hashes[1] = &ev->document_timestamp_renewed->source_sha256;
			hashes[2] = &ev->document_timestamp_renewed->original_sha256;
		} else if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_KEY_CREATED &&
		           ev->key_created->certificate_sha256.len) {
			hashes[0] = &ev->key_created->certificate_sha256;
		}
		for (size_t i = 0; i < 3 && hashes[i] && rc == 0; i++) {
			const uint8_t *bytes;
			size_t n;
			if (hashes[i]->len == LEDGER_HASH_BYTES &&
			    ledger_blob_get(l, txn, hashes[i]->data, &bytes, &n) != LEDGER_OK &&
			    out->missing_seq == 0) {
				out->missing_seq = rec.seq;
				ledger_hex(hashes[i]->data, LEDGER_HASH_BYTES, out->missing);
				rc = AUDIT_EXIT_BAD;
			}
			if (!set_add(&named, hashes[i]))
				rc = AUDIT_EXIT_UNREADABLE;
		}
		if (rc == 0 && !note_certificates(ev, rec.seq, &certificates, &erased))
			rc = AUDIT_EXIT_UNREADABLE;
		ledger__events__event__free_unpacked(ev, NULL);
	}
	ledger_iter_close(it);
	/* Checked once the whole log is read: a later erasure explains a certificate's absence. */
	if (rc == 0 && (out->missing_seq = certificate_missing(l, txn, &certificates, &erased, out->missing)))
		rc = AUDIT_EXIT_BAD;
	for (size_t i = 0; rc == 0 && i < certificates.count; i++) {
		const ProtobufCBinaryData h = {LEDGER_HASH_BYTES, certificates.items[i]};
		if (!set_add(&named, &h))
			rc = AUDIT_EXIT_UNREADABLE;
	}
	if (rc == 0) {
		if (named.count > 1)
			qsort(named.items, named.count, sizeof *named.items, compare_hashes);
		out->orphans = ledger_blobs_absent_from(l, txn, named.items, named.count, out->orphan);
	}
	set_free(&named);
	set_free(&certificates);
	set_free(&erased);
	return rc;
}
