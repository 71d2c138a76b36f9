/*
 * collection_service.c: the service's side of collections, acted as actor "ledgerd": timers that
 * are due (expiries, automatic reminders) and the signatures the service owes (the signer
 * thread's queue, and recording what it produced or that it failed).
 */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Ledger__State__Collection collection;

/* ----- the service: timers ----- */

typedef struct timer {
	char kind;
	char firm_id[PROJ_FIRM_ID_BYTES_MAX + 1];
	char collection_id[32];
} timer;

static ledger_err timers_due(proj *p, MDB_txn *txn, int64_t now_us, timer *out, size_t max, size_t *n)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, p->timers, &cur);
	if (rc)
		return ledger_mdb_err(rc);
	*n = 0;
	MDB_val k, v;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && *n < max;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const char *key = k.mv_data;
		if (k.mv_size < 12 || (int64_t)ledger_get_u64_be((const uint8_t *)key) > now_us)
			break;
		size_t firm_len = strnlen(key + 9, k.mv_size - 9);
		size_t id_len = k.mv_size - 10 - firm_len;
		if (firm_len > PROJ_FIRM_ID_BYTES_MAX || firm_len + 10 > k.mv_size ||
		    id_len >= sizeof out->collection_id)
			break;
		timer *t = &out[(*n)++];
		t->kind = key[8];
		memcpy(t->firm_id, key + 9, firm_len);
		t->firm_id[firm_len] = '\0';
		memcpy(t->collection_id, key + 10 + firm_len, id_len);
		t->collection_id[id_len] = '\0';
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? LEDGER_OK : ledger_mdb_err(rc);
}

ledger_err proj_collections_due(proj *p, ledger_txn *t, size_t max, size_t *count)
{
	*count = 0;
	timer *list = calloc(max ? max : 1, sizeof *list);
	if (!list)
		return LEDGER_ERR_NOMEM;
	size_t n = 0;
	ledger_err err = timers_due(p, ledger_txn_mdb(t), ledger_txn_time_us(t), list, max, &n);
	for (size_t i = 0; !err && i < n; i++) {
		uint64_t before = ledger_txn_next_seq(t);
		err = list[i].kind == 'E' ? proj_collection_expire(p, t, list[i].firm_id, list[i].collection_id)
		                          : proj_collection_remind(p, t, list[i].firm_id, list[i].collection_id);
		/* Counted only if it wrote: a reminder with nobody in turn (their signatures are being
		 * made) stays due and is looked at again, without making the scan look full. */
		if (!err && ledger_txn_next_seq(t) != before)
			(*count)++;
	}
	free(list);
	return err;
}

/* ----- the service: signatures owed ----- */

static bool fill_task(proj *p, MDB_txn *txn, const collection *c, const char *signer, proj_sign_task *task)
{
	bool seal = strncmp(signer, PROJ_SEAL_SIGNER_PREFIX, strlen(PROJ_SEAL_SIGNER_PREFIX)) == 0;
	ssize_t s = seal ? -1 : proj_collection_signer(c, signer);
	if (!seal && s < 0)
		return false;
	for (size_t i = 0; i < c->n_documents; i++) {
		const Ledger__State__Document *d = c->documents[i];
		bool done = false;
		for (size_t j = 0; j < d->n_signed_by; j++)
			done |= strcmp(d->signed_by[j], signer) == 0;
		if (done)
			continue;
		memset(task, 0, sizeof *task);
		snprintf(task->firm_id, sizeof task->firm_id, "%s", c->firm_id);
		snprintf(task->collection_id, sizeof task->collection_id, "%s", c->collection_id);
		snprintf(task->signer, sizeof task->signer, "%s", signer);
		task->seal = seal;
		Ledger__State__Firm *firm;
		if (proj_firm_get(p, txn, c->firm_id, &firm) == LEDGER_OK) {
			snprintf(task->firm_name, sizeof task->firm_name, "%s", firm->name);
			ledger__state__firm__free_unpacked(firm, NULL);
		}
		Ledger__State__Preferences prefs;
		if (proj_preferences_get(p, txn, c->firm_id, &prefs) == LEDGER_OK)
			task->signature_level = (int)prefs.signature_level;
		snprintf(task->signer_name, sizeof task->signer_name, "%s",
		         seal ? task->firm_name : c->signers[s]->name);
		task->external = !seal && c->signers[s]->kind == LEDGER__EVENTS__SIGNER_KIND__SIGNER_EXTERNAL;
		memcpy(task->original_sha256, d->sha256.data, LEDGER_HASH_BYTES);
		task->failure_recorded = d->failure && d->failure[0];
		memcpy(task->source_sha256, d->current_sha256.data, LEDGER_HASH_BYTES);
		for (size_t f = 0; !seal && f < c->signers[s]->n_fields; f++) {
			const Ledger__State__Field *field = c->signers[s]->fields[f];
			if (field->document_sha256.len == LEDGER_HASH_BYTES &&
			    memcmp(field->document_sha256.data, d->sha256.data, LEDGER_HASH_BYTES) == 0) {
				task->visible = true;
				task->page = field->page;
				task->x0 = field->x0, task->y0 = field->y0, task->x1 = field->x1, task->y1 = field->y1;
			}
		}
		return true;
	}
	return false;
}

ledger_err proj_sign_next(proj *p, MDB_txn *txn, bool (*skip)(void *ctx, const proj_sign_task *task), void *skip_ctx,
                          proj_sign_task *task)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, p->sign_queue, &cur);
	if (rc)
		return ledger_mdb_err(rc);
	MDB_val k, v;
	ledger_err err = LEDGER_END;
	proj_arena *arena = proj_arena_new();
	ProtobufCAllocator alloc;
	if (!arena) {
		mdb_cursor_close(cur);
		return LEDGER_ERR_NOMEM;
	}
	proj_arena_allocator(arena, &alloc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && err == LEDGER_END;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		char key[PROJ_FIRM_ID_BYTES_MAX + 32 + PROJ_EMAIL_BYTES_MAX + 8];
		if (k.mv_size >= sizeof key)
			continue;
		memcpy(key, k.mv_data, k.mv_size);
		key[k.mv_size] = '\0';
		const char *firm = key, *id = firm + strlen(firm) + 1;
		if (id >= key + k.mv_size)
			continue;
		const char *signer = id + strlen(id) + 1;
		if (signer >= key + k.mv_size)
			continue;
		collection *c;
		if (proj_collection_get(p, txn, firm, id, &alloc, &c) == LEDGER_OK &&
		    fill_task(p, txn, c, signer, task) && !(skip && skip(skip_ctx, task)))
			err = LEDGER_OK;
	}
	mdb_cursor_close(cur);
	proj_arena_free(arena);
	if (err == LEDGER_END && rc != 0 && rc != MDB_NOTFOUND)
		err = ledger_mdb_err(rc);
	return err;
}

ledger_err proj_sign_failed(proj *p, ledger_txn *t, const proj_sign_task *task, const char *reason, bool *stale)
{
	*stale = true;
	proj_arena *arena = proj_arena_new();
	if (!arena)
		return LEDGER_ERR_NOMEM;
	ProtobufCAllocator alloc;
	proj_arena_allocator(arena, &alloc);
	collection *c;
	proj_sign_task now;
	ledger_err err = proj_collection_get(p, ledger_txn_mdb(t), task->firm_id, task->collection_id, &alloc, &c);
	if (!err && c->state == LEDGER__EVENTS__COLLECTION_STATE__STATE_IN_PROGRESS &&
	    fill_task(p, ledger_txn_mdb(t), c, task->signer, &now) &&
	    memcmp(now.source_sha256, task->source_sha256, LEDGER_HASH_BYTES) == 0) {
		*stale = false;
		char text[PROJ_COMMENT_BYTES_MAX + 1];
		snprintf(text, sizeof text, "%s", reason); /* bounded: the event stays small */
		proj_utf8_repair(text);                    /* the cut may split a character: proto3 strings are UTF-8 */
		Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
		Ledger__Events__SignatureFailed f = LEDGER__EVENTS__SIGNATURE_FAILED__INIT;
		f.collection_id = c->collection_id;
		f.signer = (char *)task->signer;
		f.original_sha256 = (ProtobufCBinaryData){LEDGER_HASH_BYTES, (uint8_t *)task->original_sha256};
		f.source_sha256 = (ProtobufCBinaryData){LEDGER_HASH_BYTES, (uint8_t *)task->source_sha256};
		f.reason = text;
		ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_SIGNATURE_FAILED;
		ev.signature_failed = &f;
		err = proj_emit(p, t, "ledgerd", "signer", c->firm_id, &ev, NULL, NULL);
	}
	proj_arena_free(arena);
	return err == LEDGER_END ? LEDGER_OK : err;
}

bool proj_collection_all_signed(const collection *c)
{
	if (c->kind == LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL) {
		for (size_t i = 0; i < c->n_documents; i++)
			if (c->documents[i]->n_signed_by == 0)
				return false;
		return c->n_documents > 0;
	}
	for (size_t i = 0; i < c->n_signers; i++)
		if (!c->signers[i]->signed_)
			return false;
	return c->n_signers > 0;
}

ledger_err proj_sign_record(proj *p, ledger_txn *t, const proj_sign_task *task, const proj_signed *result, bool *stale)
{
	*stale = true;
	MDB_txn *txn = ledger_txn_mdb(t);
	proj_arena *arena = proj_arena_new();
	if (!arena)
		return LEDGER_ERR_NOMEM;
	ProtobufCAllocator alloc;
	proj_arena_allocator(arena, &alloc);
	collection *c;
	ledger_err err = proj_collection_get(p, txn, task->firm_id, task->collection_id, &alloc, &c);
	ssize_t d = err ? -1 : proj_collection_document(c, task->original_sha256, LEDGER_HASH_BYTES);
	proj_sign_task now;
	/* Still owed, and still over the same version? Else the task moved on: write nothing. */
	if (d < 0 || c->state != LEDGER__EVENTS__COLLECTION_STATE__STATE_IN_PROGRESS ||
	    !fill_task(p, txn, c, task->signer, &now) ||
	    memcmp(now.original_sha256, task->original_sha256, LEDGER_HASH_BYTES) != 0 ||
	    memcmp(now.source_sha256, task->source_sha256, LEDGER_HASH_BYTES) != 0) {
		proj_arena_free(arena);
		return err == LEDGER_END ? LEDGER_OK : err;
	}
	*stale = false;
	err = ledger_blob_put(t, result->sha256, result->bytes, result->bytes_count);
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
	Ledger__Events__DocumentSigned e = LEDGER__EVENTS__DOCUMENT_SIGNED__INIT;
	e.collection_id = c->collection_id;
	e.signer = (char *)task->signer;
	e.original_sha256 = (ProtobufCBinaryData){LEDGER_HASH_BYTES, (uint8_t *)task->original_sha256};
	e.source_sha256 = (ProtobufCBinaryData){LEDGER_HASH_BYTES, (uint8_t *)task->source_sha256};
	e.signed_sha256 = (ProtobufCBinaryData){LEDGER_HASH_BYTES, (uint8_t *)result->sha256};
	e.bytes = result->bytes_count;
	e.seal = task->seal;
	e.certificate_serial = (char *)result->certificate_serial;
	e.certificate_subject = (char *)result->certificate_subject;
	e.certificate = (ProtobufCBinaryData){result->certificate_der_bytes, (uint8_t *)result->certificate_der};
	e.level = (char *)(result->level ? result->level : "");
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED;
	ev.document_signed = &e;
	if (!err)
		err = proj_emit(p, t, "ledgerd", "signer", c->firm_id, &ev, NULL, NULL);
	if (!err)
		err = proj_collection_get(p, txn, task->firm_id, task->collection_id, &alloc, &c);
	if (!err && proj_collection_all_signed(c))
		err = proj_collection_complete(p, t, c);
	proj_arena_free(arena);
	return err;
}
