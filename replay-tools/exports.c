/*
 * exports.c: ledger-audit's `export`, for compliance officers (docs/audit.md, "export").
 *
 * Every export reads the log once, record by record, after the chain is verified, and keeps
 * nothing but the current record: memory is constant whatever the log's size. On a terminal,
 * stderr shows the progress when the output goes to a file.
 *
 *   collections  every event about a collection (any payload with a collection_id), CSV
 *   delegations  a firm's delegation history: granted, renewed, revoked, expired, CSV
 *   subject      everything the log says about one person: the events they did or that name
 *                them in any field, CSV (personal data is sealed and never in the log in the clear)
 *   log          the whole log as JSON Lines: each record's bytes (base64), hashes and decoded
 *                kind, then the latest signed checkpoint, so the file can be checked alone
 *   register     the collection register: one row per collection as the projections hold it
 *                (state, dates, counts, credits), which `ledger-audit replay` proves are the
 *                log's; a cursor over the collections database, constant memory too
 *
 * The CSV exports share one format (RFC 4180, UTF-8, CRLF, cells neutralised against formulas):
 * seq, committed_at (µs precision, UTC), firm, collection, event, actor, detail, record_hash.
 * `detail` names every field of the payload that is set, by its name in events.proto.
 */
#include "audit.h"

#include "csv_cell.h"
#include "state.pb-c.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DETAIL_BYTES_MAX 2048

static void csv_field(FILE *out, const char *s, bool last)
{
	proj_csv_cell_fputs(out, s);
	fputs(last ? "\r\n" : ",", out);
}

/* Appends to buf[*n] (capacity cap, always NUL-terminated). */
static void append(char *buf, size_t *n, size_t cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t *n, size_t cap, const char *fmt, ...)
{
	if (*n + 1 >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(buf + *n, cap - *n, fmt, ap);
	va_end(ap);
	if (w > 0)
		*n = *n + (size_t)w < cap ? *n + (size_t)w : cap - 1;
}

/* The payload message of an event (NULL if none). */
static const ProtobufCMessage *payload(const Ledger__Events__Event *ev)
{
	const ProtobufCFieldDescriptor *f =
	    protobuf_c_message_descriptor_get_field(&ledger__events__event__descriptor, (unsigned)ev->payload_case);
	if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return NULL;
	return *(const ProtobufCMessage *const *)((const char *)ev + f->offset);
}

/* The value of a string field of m named name, or NULL. */
static const char *string_field(const ProtobufCMessage *m, const char *name)
{
	const ProtobufCFieldDescriptor *f =
	    m ? protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name) : NULL;
	if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
		return NULL;
	return *(const char *const *)((const char *)m + f->offset);
}

/* The k-th value at `at` of field f, a number or an enum (a single field's value is its 0th), as
 * text into out; false when it is 0 (unset in proto3) or not of such a type. */
static bool number_text(const ProtobufCFieldDescriptor *f, const char *at, size_t k, char *out, size_t cap)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_ENUM: {
		int v = ((const int *)at)[k];
		const ProtobufCEnumValue *e = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
		return v != 0 && snprintf(out, cap, "%s", e ? e->name : "?") >= 0;
	}
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: {
		int64_t v = ((const int64_t *)at)[k];
		return v != 0 && snprintf(out, cap, "%lld", (long long)v) >= 0;
	}
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: {
		uint64_t v = ((const uint64_t *)at)[k];
		return v != 0 && snprintf(out, cap, "%llu", (unsigned long long)v) >= 0;
	}
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32: {
		uint32_t v = ((const uint32_t *)at)[k];
		return v != 0 && snprintf(out, cap, "%u", v) >= 0;
	}
	case PROTOBUF_C_TYPE_FLOAT: {
		float v = ((const float *)at)[k];
		return v != 0 && snprintf(out, cap, "%g", (double)v) >= 0;
	}
	default: return false;
	}
}

/* "name=value" for every field of m that is set (nested messages in braces, 32-byte hashes in
 * hex, repeated fields in brackets); calls visit on every string value (for `subject`). */
static void describe(const ProtobufCMessage *m, char *buf, size_t *n, size_t cap, bool (*visit)(void *, const char *),
                     void *ctx, bool *matched)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	bool first = true;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *at = (const char *)m + f->offset;
		size_t count = 1;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			count = *(const size_t *)((const char *)m + f->quantifier_offset);
			if (count == 0)
				continue;
			at = *(const char *const *)at;
		}
		for (size_t k = 0; k < count; k++) {
			bool repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
			const char *prefix = k == 0 ? (first ? "" : " ") : ",";
			switch (f->type) {
			case PROTOBUF_C_TYPE_STRING: {
				const char *v = repeated ? ((const char *const *)at)[k] : *(const char *const *)at;
				if (!v || !*v)
					continue;
				if (visit && visit(ctx, v))
					*matched = true;
				append(buf, n, cap, k == 0 ? "%s%s=%s%s" : "%s%s%s%s", prefix, k == 0 ? f->name : "",
				       repeated && k == 0 ? "[" : "", v);
				break;
			}
			case PROTOBUF_C_TYPE_BYTES: {
				const ProtobufCBinaryData *b =
				    repeated ? &((const ProtobufCBinaryData *)at)[k] : (const ProtobufCBinaryData *)at;
				if (b->len == 0)
					continue;
				char h[2 * 64 + 1];
				ledger_hex(b->data, b->len <= 64 ? b->len : 64, h);
				append(buf, n, cap, "%s%s=%s%s", prefix, k == 0 ? f->name : "", h,
				       b->len > 64 ? "..." : "");
				break;
			}
			case PROTOBUF_C_TYPE_BOOL: {
				protobuf_c_boolean v =
				    repeated ? ((const protobuf_c_boolean *)at)[k] : *(const protobuf_c_boolean *)at;
				if (!v)
					continue;
				append(buf, n, cap, "%s%s", prefix, f->name);
				break;
			}
			case PROTOBUF_C_TYPE_MESSAGE: {
				const ProtobufCMessage *sub = repeated ? ((const ProtobufCMessage *const *)at)[k]
				                                       : *(const ProtobufCMessage *const *)at;
				if (!sub)
					continue;
				append(buf, n, cap, "%s%s={", prefix, k == 0 ? f->name : "");
				describe(sub, buf, n, cap, visit, ctx, matched);
				append(buf, n, cap, "}");
				break;
			}
			default: {
				char text[64];
				if (!number_text(f, at, k, text, sizeof text))
					continue;
				append(buf, n, cap, "%s%s=%s", prefix, f->name, text);
				break;
			}
			}
			first = false;
			if (repeated && k + 1 == count && f->type == PROTOBUF_C_TYPE_STRING)
				append(buf, n, cap, "]");
		}
	}
}

typedef enum { EXPORT_COLLECTIONS, EXPORT_DELEGATIONS, EXPORT_SUBJECT, EXPORT_LOG, EXPORT_REGISTER } export_kind;

typedef struct export_ctx {
	export_kind kind;
	const char *firm, *subject;
	int64_t from_us, to_us;
	FILE *out;
	uint64_t rows;
} export_ctx;

static bool names_subject(void *ctx, const char *v)
{
	return strcmp(v, ((export_ctx *)ctx)->subject) == 0;
}

static bool is_delegation(const Ledger__Events__Event *ev)
{
	switch (ev->payload_case) {
	case LEDGER__EVENTS__EVENT__PAYLOAD_DELEGATION_GRANTED:
	case LEDGER__EVENTS__EVENT__PAYLOAD_DELEGATION_REVOKED:
	case LEDGER__EVENTS__EVENT__PAYLOAD_DELEGATION_EXPIRED: return true;
	default: return false;
	}
}

/* One CSV row, or none if the event is not one the export wants. */
static void csv_row(export_ctx *x, const ledger_record *rec, const Ledger__Events__Event *ev)
{
	if ((x->firm && strcmp(x->firm, ev->firm_id) != 0) || ev->committed_at_us < x->from_us ||
	    ev->committed_at_us > x->to_us)
		return;
	const ProtobufCMessage *m = payload(ev);
	const char *collection = string_field(m, "collection_id");
	char detail[DETAIL_BYTES_MAX] = "";
	size_t n = 0;
	bool matched = false;
	if (m)
		describe(m, detail, &n, sizeof detail, x->kind == EXPORT_SUBJECT ? names_subject : NULL, x, &matched);
	if (x->kind == EXPORT_COLLECTIONS && !collection)
		return;
	if (x->kind == EXPORT_DELEGATIONS && !is_delegation(ev))
		return;
	if (x->kind == EXPORT_SUBJECT && !matched && strcmp(ev->actor, x->subject) != 0)
		return;
	char seq[24], at[AUDIT_ISO_TIME_BYTES], hash[65];
	snprintf(seq, sizeof seq, "%llu", (unsigned long long)rec->seq);
	audit_iso_time_us(ev->committed_at_us, at);
	ledger_hex(rec->hash, LEDGER_HASH_BYTES, hash);
	const char *row[] = {seq,       at,     ev->firm_id, collection ? collection : "", audit_event_kind(ev),
	                     ev->actor, detail, hash};
	for (size_t i = 0; i < 8; i++)
		csv_field(x->out, row[i], i == 7);
	x->rows++;
}

/* One JSON Lines object per record: everything needed to re-verify it without the store. */
static void log_line(export_ctx *x, const ledger_record *rec, const Ledger__Events__Event *ev)
{
	size_t bytes = LEDGER_RECORD_HEADER_BYTES + rec->event_bytes;
	size_t cap = sodium_base64_ENCODED_LEN(rec->event_bytes, sodium_base64_VARIANT_ORIGINAL);
	char *event64 = malloc(cap);
	char hash[65], prev[65], at[AUDIT_ISO_TIME_BYTES];
	if (!event64)
		return;
	sodium_bin2base64(event64, cap, rec->event, rec->event_bytes, sodium_base64_VARIANT_ORIGINAL);
	ledger_hex(rec->hash, LEDGER_HASH_BYTES, hash);
	ledger_hex(rec->prev_hash, LEDGER_HASH_BYTES, prev);
	audit_iso_time_us(ev ? ev->committed_at_us : 0, at);
	fprintf(x->out,
	        "{\"seq\":%llu,\"record_bytes\":%zu,\"prev_hash\":\"%s\",\"hash\":\"%s\",\"event\":\"%s\","
	        "\"committed_at\":\"%s\",\"kind\":\"%s\"}\n",
	        (unsigned long long)rec->seq, bytes, prev, hash, event64, at,
	        ev ? audit_event_kind(ev) : "undecodable");
	free(event64);
	x->rows++;
}

/* "\r  export: 42 % (420000 / 1000000 records)" on a terminal, at each whole percent. */
static void progress(uint64_t done, uint64_t total, int *shown)
{
	int pct = total ? (int)(done * 100 / total) : 100;
	if (pct == *shown)
		return;
	*shown = pct;
	fprintf(stderr, "\r  export: %3d %% (%llu / %llu records)%s", pct, (unsigned long long)done,
	        (unsigned long long)total, pct == 100 ? "\n" : "");
}

/* One register row per collection of firm (NULL: every firm), from the collections projection. */
static int register_export(ledger *l, MDB_txn *txn, const char *firm, FILE *out, uint64_t *rows)
{
	MDB_dbi dbi;
	MDB_cursor *cur;
	if (mdb_dbi_open(txn, "collections", 0, &dbi) != 0 || mdb_cursor_open(txn, dbi, &cur) != 0) {
		fprintf(stderr, "ledger-audit export: no collections database in this store\n");
		return AUDIT_EXIT_UNREADABLE;
	}
	(void)l;
	const char *header[] = {
	    "firm",    "collection", "kind",       "title",     "state",   "created_at",       "created_by",
	    "sent_at", "expires_at", "updated_at", "documents", "signers", "credits_reserved", "credits_used",
	    "folder"};
	const size_t columns = sizeof header / sizeof header[0];
	for (size_t i = 0; i < columns; i++)
		csv_field(out, header[i], i + 1 == columns);
	MDB_val k, v;
	int rc = 0;
	for (int m = mdb_cursor_get(cur, &k, &v, MDB_FIRST); m == 0; m = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		Ledger__State__Collection *c = ledger__state__collection__unpack(NULL, v.mv_size, v.mv_data);
		if (!c) {
			fprintf(stderr,
			        "ledger-audit export: a collection that does not decode: run ledger-audit replay\n");
			rc = AUDIT_EXIT_BAD;
			break;
		}
		if (!firm || strcmp(firm, c->firm_id) == 0) {
			char created[AUDIT_ISO_TIME_BYTES],
			    sent[AUDIT_ISO_TIME_BYTES] = "", expires[AUDIT_ISO_TIME_BYTES] = "",
			    updated[AUDIT_ISO_TIME_BYTES], docs[16], signers[16], reserved[24], used[24];
			audit_iso_time_us(c->created_at_us, created);
			if (c->sent_at_us)
				audit_iso_time_us(c->sent_at_us, sent);
			if (c->expires_at_us)
				audit_iso_time_us(c->expires_at_us, expires);
			audit_iso_time_us(c->updated_at_us, updated);
			snprintf(docs, sizeof docs, "%zu", c->n_documents);
			snprintf(signers, sizeof signers, "%zu", c->n_signers);
			snprintf(reserved, sizeof reserved, "%llu", (unsigned long long)c->credits_reserved);
			snprintf(used, sizeof used, "%llu", (unsigned long long)c->credits_used);
			const ProtobufCEnumValue *kind =
			    protobuf_c_enum_descriptor_get_value(&ledger__events__collection_kind__descriptor, c->kind);
			const ProtobufCEnumValue *state = protobuf_c_enum_descriptor_get_value(
			    &ledger__events__collection_state__descriptor, c->state);
			const char *row[] = {c->firm_id,
			                     c->collection_id,
			                     kind ? kind->name : "?",
			                     c->title,
			                     state ? state->name : "?",
			                     created,
			                     c->created_by,
			                     sent,
			                     expires,
			                     updated,
			                     docs,
			                     signers,
			                     reserved,
			                     used,
			                     c->classified ? c->folder : ""};
			for (size_t i = 0; i < columns; i++)
				csv_field(out, row[i], i + 1 == columns);
			(*rows)++;
		}
		ledger__state__collection__free_unpacked(c, NULL);
	}
	mdb_cursor_close(cur);
	return rc;
}

int audit_export(const char *dir, const char *what, const char *firm, const char *subject, int64_t from_us,
                 int64_t to_us, const char *path)
{
	export_ctx x = {.firm = firm, .subject = subject, .from_us = from_us, .to_us = to_us};
	if (!what || strcmp(what, "collections") == 0)
		x.kind = EXPORT_COLLECTIONS;
	else if (strcmp(what, "delegations") == 0)
		x.kind = EXPORT_DELEGATIONS;
	else if (strcmp(what, "subject") == 0)
		x.kind = EXPORT_SUBJECT;
	else if (strcmp(what, "log") == 0)
		x.kind = EXPORT_LOG;
	else if (strcmp(what, "register") == 0)
		x.kind = EXPORT_REGISTER;
	else {
		fprintf(stderr, "ledger-audit export: --what %s: collections, delegations, subject, log or register\n",
		        what);
		return AUDIT_EXIT_USAGE;
	}
	if (x.kind == EXPORT_SUBJECT && (!subject || !*subject)) {
		fprintf(stderr, "ledger-audit export: --what subject needs --subject EMAIL\n");
		return AUDIT_EXIT_USAGE;
	}
	if (x.kind == EXPORT_DELEGATIONS && !firm) {
		fprintf(stderr, "ledger-audit export: --what delegations needs --firm FIRM\n");
		return AUDIT_EXIT_USAGE;
	}
	audit_store s;
	int rc = audit_store_open(dir, &s);
	if (rc)
		return rc;
	x.out = path ? fopen(path, "we") : stdout;
	ledger_iter *it;
	if (!x.out || ledger_iter_open(s.l, s.txn, 1, &it) != LEDGER_OK) {
		if (!x.out)
			perror(path);
		audit_store_close(&s);
		return AUDIT_EXIT_UNREADABLE;
	}
	if (x.kind == EXPORT_REGISTER) {
		ledger_iter_close(it);
		int rc = register_export(s.l, s.txn, firm, x.out, &x.rows);
		bool ok = fflush(x.out) == 0 && !ferror(x.out);
		if (path)
			ok &= fclose(x.out) == 0;
		audit_store_close(&s);
		fprintf(stderr, "ledger-audit: %llu collections exported; chain intact to head seq %llu\n",
		        (unsigned long long)x.rows, (unsigned long long)s.verified.head_seq);
		return rc ? rc : ok ? 0 : AUDIT_EXIT_UNREADABLE;
	}
	if (x.kind != EXPORT_LOG) {
		const char *header[] = {"seq",   "committed_at", "firm",   "collection",
		                        "event", "actor",        "detail", "record_hash"};
		for (size_t i = 0; i < 8; i++)
			csv_field(x.out, header[i], i == 7);
	}
	bool show = path && isatty(STDERR_FILENO);
	int shown = -1;
	ledger_record rec;
	while (ledger_iter_next(it, &rec) == LEDGER_OK) {
		Ledger__Events__Event *ev = ledger__events__event__unpack(NULL, rec.event_bytes, rec.event);
		if (x.kind == EXPORT_LOG)
			log_line(&x, &rec, ev);
		else if (ev)
			csv_row(&x, &rec, ev);
		if (ev)
			ledger__events__event__free_unpacked(ev, NULL);
		if (show)
			progress(rec.seq, s.verified.head_seq, &shown);
	}
	ledger_iter_close(it);
	if (x.kind == EXPORT_LOG) {
		/* The latest signed checkpoint: whoever holds the file and the log key can check that
		 * the records above make its root (docs/audit.md). */
		char note[LEDGER_CHECKPOINT_BYTES_MAX];
		size_t note_bytes;
		if (ledger_checkpoint_latest(s.l, s.txn, note, sizeof note, &note_bytes) == LEDGER_OK) {
			fputs("{\"checkpoint\":\"", x.out);
			for (size_t i = 0; i < note_bytes; i++) {
				if (note[i] == '\n')
					fputs("\\n", x.out);
				else if (note[i] == '"' || note[i] == '\\')
					fprintf(x.out, "\\%c", note[i]);
				else
					fputc(note[i], x.out);
			}
			fputs("\"}\n", x.out);
		}
	}
	bool ok = fflush(x.out) == 0 && !ferror(x.out);
	if (path)
		ok &= fclose(x.out) == 0;
	audit_store_close(&s);
	fprintf(stderr, "ledger-audit: %llu %s exported; chain intact to head seq %llu\n", (unsigned long long)x.rows,
	        x.kind == EXPORT_LOG ? "records" : "rows", (unsigned long long)s.verified.head_seq);
	return ok ? 0 : AUDIT_EXIT_UNREADABLE;
}
