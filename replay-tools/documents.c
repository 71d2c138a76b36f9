/*
 * documents.c: the log's documents against the store's (part of `ledger-audit verify`).
 *
 * Every hash an event says was stored must be in the blobs database: an upload's
 * (DocumentAdded.sha256) and a signature's three (the original, the version signed and the
 * version produced), and a certificate's DER that ledgerd issued (KeyCreated, the registration's
 * certificate_issued step: certificate_sha256). A stored document no event names is an orphan: reported, since the log
 * cannot say why it is there, but not a broken log. Memory: one hash per stored document.
 */
#include "audit.h"

#include <stdlib.h>
#include <string.h>

typedef struct hash_set {
	uint8_t (*items)[LEDGER_HASH_BYTES];
	size_t count, cap;
} hash_set;

static bool set_add(hash_set *s, const ProtobufCBinaryData *h)
{
	if (h->len != LEDGER_HASH_BYTES)
		return true; /* not a hash: nothing to look for (verify checks the chain, not the schema) */
	if (s->count == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		void *p = realloc(s->items, cap * sizeof *s->items);
		if (!p)
			return false;
		s->items = p;
		s->cap = cap;
	}
	memcpy(s->items[s->count++], h->data, LEDGER_HASH_BYTES);
	return true;
}

static int compare_hashes(const void *a, const void *b)
{
	return memcmp(a, b, LEDGER_HASH_BYTES);
}

int audit_documents_check(ledger *l, MDB_txn *txn, audit_documents_result *out)
{
	memset(out, 0, sizeof *out);
	hash_set named = {0};
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
		ledger__events__event__free_unpacked(ev, NULL);
	}
	ledger_iter_close(it);
	if (rc == 0) {
		if (named.count > 1)
			qsort(named.items, named.count, sizeof *named.items, compare_hashes);
		out->orphans = ledger_blobs_absent_from(l, txn, named.items, named.count, out->orphan);
	}
	free(named.items);
	return rc;
}
