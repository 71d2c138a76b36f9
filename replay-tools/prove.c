/*
 * prove.c: ledger-audit's `prove`, for auditors and compliance officers.
 *
 *   prove   is this document (a PDF received by email, say) the one the ledger stored or
 *           signed, and by which events? Or: is event N in the log? Both answers come with the
 *           chain verified from event 1 to the head, so they hold for the whole log.
 */
#include "audit.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FILE_BYTES_MAX (256u * 1024u * 1024u)

int audit_open_verified(const char *dir, ledger **l, MDB_txn **txn, ledger_verify_result *v)
{
	ledger_options o = {.read_only = true, .allow_broken_chain = true};
	if (ledger_open(dir, &o, l) != LEDGER_OK) {
		fprintf(stderr, "ledger-audit: %s\n", ledger_last_error());
		return AUDIT_EXIT_UNREADABLE;
	}
	ledger_blobs_open(*l);
	if (ledger_read_begin(*l, txn) != LEDGER_OK) {
		ledger_close(*l);
		return AUDIT_EXIT_UNREADABLE;
	}
	ledger_err err = ledger_verify(*l, *txn, v);
	if (err == LEDGER_OK)
		return 0;
	if (err == LEDGER_ERR_CORRUPT)
		printf("the chain is broken at seq %llu (%s): nothing in this log can be proved\n",
		       (unsigned long long)v->bad_seq, v->reason);
	else
		fprintf(stderr, "ledger-audit: %s\n", ledger_strerror(err));
	ledger_read_end(*l, *txn);
	ledger_close(*l);
	return err == LEDGER_ERR_CORRUPT ? AUDIT_EXIT_BAD : AUDIT_EXIT_UNREADABLE;
}

int audit_store_open(const char *dir, audit_store *s)
{
	return audit_open_verified(dir, &s->l, &s->txn, &s->verified);
}

void audit_store_close(audit_store *s)
{
	ledger_read_end(s->l, s->txn);
	ledger_close(s->l);
}

static void iso_time(int64_t us, char out[24])
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const char *audit_event_kind(const Ledger__Events__Event *ev)
{
	const ProtobufCFieldDescriptor *f =
	    protobuf_c_message_descriptor_get_field(&ledger__events__event__descriptor, (unsigned)ev->payload_case);
	return f ? f->name : "unknown";
}

/* The role a document hash plays in an event, or NULL if the event does not name it. */
static const char *document_role(const Ledger__Events__Event *ev, const uint8_t sha[32])
{
	if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_ADDED) {
		const ProtobufCBinaryData *h = &ev->document_added->sha256;
		return h->len == 32 && memcmp(h->data, sha, 32) == 0 ? "uploaded" : NULL;
	}
	if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_TIMESTAMP_RENEWED) {
		const Ledger__Events__DocumentTimestampRenewed *r = ev->document_timestamp_renewed;
		if (r->renewed_sha256.len == 32 && memcmp(r->renewed_sha256.data, sha, 32) == 0)
			return "produced by this archive renewal";
		if (r->source_sha256.len == 32 && memcmp(r->source_sha256.data, sha, 32) == 0)
			return "re-time-stamped";
		return NULL;
	}
	if (ev->payload_case != LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED)
		return NULL;
	const Ledger__Events__DocumentSigned *d = ev->document_signed;
	if (d->signed_sha256.len == 32 && memcmp(d->signed_sha256.data, sha, 32) == 0)
		return d->seal ? "produced by this seal" : "produced by this signature";
	if (d->source_sha256.len == 32 && memcmp(d->source_sha256.data, sha, 32) == 0)
		return d->seal ? "sealed" : "signed";
	return NULL;
}

static bool file_sha256(const char *path, uint8_t out[32])
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return false;
	}
	crypto_hash_sha256_state h;
	crypto_hash_sha256_init(&h);
	uint8_t buf[65536];
	size_t n, total = 0;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0 && (total += n) <= FILE_BYTES_MAX)
		crypto_hash_sha256_update(&h, buf, n);
	bool ok = !ferror(f) && total <= FILE_BYTES_MAX;
	fclose(f);
	crypto_hash_sha256_final(&h, out);
	if (!ok)
		fprintf(stderr, "ledger-audit: %s: unreadable or over %u bytes\n", path, FILE_BYTES_MAX);
	return ok;
}

static bool parse_hex32(const char *s, uint8_t out[32])
{
	size_t bytes = 0;
	const char *end = NULL;
	return strlen(s) == 64 && sodium_hex2bin(out, 32, s, 64, NULL, &bytes, &end) == 0 && bytes == 32 &&
	       end == s + 64;
}

/* Prints every event that names the document; returns how many. */
static uint64_t document_events(ledger *l, MDB_txn *txn, const uint8_t sha[32], bool json)
{
	ledger_iter *it;
	if (ledger_iter_open(l, txn, 1, &it) != LEDGER_OK)
		return 0;
	ledger_record rec;
	uint64_t found = 0;
	while (ledger_iter_next(it, &rec) == LEDGER_OK) {
		Ledger__Events__Event *ev = ledger__events__event__unpack(NULL, rec.event_bytes, rec.event);
		const char *role = ev ? document_role(ev, sha) : NULL;
		if (role) {
			char at[24], hash[65];
			iso_time(ev->committed_at_us, at);
			ledger_hex(rec.hash, 32, hash);
			const char *who = ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED
			                      ? ev->document_signed->signer
			                      : ev->actor;
			const char *collection =
			    ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED
			        ? ev->document_signed->collection_id
			    : ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_TIMESTAMP_RENEWED
			        ? ev->document_timestamp_renewed->collection_id
			        : ev->document_added->collection_id;
			if (json)
				printf("%s{\"seq\":%llu,\"at\":\"%s\",\"event\":\"%s\",\"role\":\"%s\",\"firm\":\"%s\","
				       "\"collection\":\"%s\","
				       "\"by\":\"%s\",\"record_hash\":\"%s\"}",
				       found ? "," : "", (unsigned long long)rec.seq, at, audit_event_kind(ev), role,
				       ev->firm_id, collection, who, hash);
			else
				printf("  seq %llu at %s: %s (%s) in %s/%s by %s; record hash %s\n",
				       (unsigned long long)rec.seq, at, role, audit_event_kind(ev), ev->firm_id,
				       collection, who, hash);
			found++;
		}
		if (ev)
			ledger__events__event__free_unpacked(ev, NULL);
	}
	ledger_iter_close(it);
	return found;
}

static int prove_document(const char *dir, const uint8_t sha[32], bool json)
{
	audit_store s;
	int rc = audit_store_open(dir, &s);
	if (rc)
		return rc;
	char hex[65], head[65];
	ledger_hex(sha, 32, hex);
	ledger_hex(s.verified.head_hash, 32, head);
	const uint8_t *bytes;
	size_t n;
	uint8_t stored[32];
	bool has_blob = ledger_blob_get(s.l, s.txn, sha, &bytes, &n) == LEDGER_OK;
	bool blob_ok = has_blob && (crypto_hash_sha256(stored, bytes, n), memcmp(stored, sha, 32) == 0);
	if (json)
		printf("{\"sha256\":\"%s\",\"events\":[", hex);
	else
		printf("document %s\n", hex);
	uint64_t found = document_events(s.l, s.txn, sha, json);
	if (json)
		printf("],\"stored\":%s,\"stored_intact\":%s,\"head_seq\":%llu,\"head_hash\":\"%s\",\"ok\":%s}\n",
		       has_blob ? "true" : "false", blob_ok ? "true" : "false", (unsigned long long)s.verified.head_seq,
		       head, found && (!has_blob || blob_ok) ? "true" : "false");
	else if (!found)
		printf("  named by no event: this document is not in the log\n");
	else
		printf("  %s; chain intact from event 1 to head seq %llu (hash %s)\n",
		       !has_blob ? "its bytes are not stored here"
		       : blob_ok ? "its stored bytes hash to it"
		                 : "ITS STORED BYTES DO NOT MATCH",
		       (unsigned long long)s.verified.head_seq, head);
	audit_store_close(&s);
	return found && (!has_blob || blob_ok) ? 0 : AUDIT_EXIT_BAD;
}

static int prove_seq(const char *dir, uint64_t seq, bool json)
{
	audit_store s;
	int rc = audit_store_open(dir, &s);
	if (rc)
		return rc;
	ledger_record rec;
	rc = AUDIT_EXIT_BAD;
	if (seq >= 1 && seq <= s.verified.head_seq && ledger_get(s.l, s.txn, seq, &rec) == LEDGER_OK) {
		Ledger__Events__Event *ev = ledger__events__event__unpack(NULL, rec.event_bytes, rec.event);
		char at[24] = "?", hash[65], prev[65], head[65];
		if (ev)
			iso_time(ev->committed_at_us, at);
		ledger_hex(rec.hash, 32, hash);
		ledger_hex(rec.prev_hash, 32, prev);
		ledger_hex(s.verified.head_hash, 32, head);
		if (json)
			printf("{\"ok\":true,\"seq\":%llu,\"at\":\"%s\",\"event\":\"%s\",\"actor\":\"%s\",\"firm\":\"%"
			       "s\",\"hash\":\"%s\","
			       "\"prev_hash\":\"%s\",\"head_seq\":%llu,\"head_hash\":\"%s\"}\n",
			       (unsigned long long)seq, at, ev ? audit_event_kind(ev) : "?", ev ? ev->actor : "",
			       ev ? ev->firm_id : "", hash, prev, (unsigned long long)s.verified.head_seq, head);
		else
			printf("event %llu (%s at %s by %s) is in the log: hash %s, prev %s; chain intact from event 1 "
			       "to head seq "
			       "%llu (hash %s)\n",
			       (unsigned long long)seq, ev ? audit_event_kind(ev) : "?", at, ev ? ev->actor : "?", hash,
			       prev, (unsigned long long)s.verified.head_seq, head);
		if (ev)
			ledger__events__event__free_unpacked(ev, NULL);
		rc = 0;
	} else {
		printf(json ? "{\"ok\":false,\"seq\":%llu,\"head_seq\":%llu}\n"
		            : "no event %llu: the log ends at seq %llu\n",
		       (unsigned long long)seq, (unsigned long long)s.verified.head_seq);
	}
	audit_store_close(&s);
	return rc;
}

int audit_prove(const char *dir, bool json, const char *document, const char *file, uint64_t seq)
{
	uint8_t sha[32];
	if ((document != NULL) + (file != NULL) + (seq != 0) != 1) {
		fprintf(stderr, "ledger-audit prove: give one of --document SHA256, --file FILE, --seq N\n");
		return AUDIT_EXIT_USAGE;
	}
	if (seq)
		return prove_seq(dir, seq, json);
	if (document && !parse_hex32(document, sha)) {
		fprintf(stderr, "ledger-audit prove: --document %s: 64 hex characters (a SHA-256)\n", document);
		return AUDIT_EXIT_USAGE;
	}
	if (file && !file_sha256(file, sha))
		return AUDIT_EXIT_UNREADABLE;
	return prove_document(dir, sha, json);
}
