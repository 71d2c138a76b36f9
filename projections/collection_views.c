/*
 * collection_views.c: what collections look like from outside — replies (show, list, document
 * get) — and the service's side of them: timers that are due, and the signatures it owes.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Ledger__State__Collection collection;

/* ----- views ----- */

static Ledger__Api__DocumentView *document_view(const collection *c, const Ledger__State__Document *d,
                                                proj_arena *arena)
{
	Ledger__Api__DocumentView *v = proj_arena_alloc(arena, sizeof *v);
	if (!v)
		return NULL;
	ledger__api__document_view__init(v);
	v->sha256 = d->sha256;
	v->current_sha256 = d->current_sha256;
	v->filename = d->filename;
	v->bytes = d->bytes;
	v->pages = (uint32_t)d->n_pages;
	v->signed_by = d->signed_by;
	v->n_signed_by = d->n_signed_by;
	v->failure = d->failure;
	size_t n = 0;
	for (size_t s = 0; s < c->n_signers; s++)
		n += c->signers[s]->n_fields;
	v->fields = proj_arena_alloc(arena, (n + 1) * sizeof *v->fields);
	if (!v->fields)
		return NULL;
	for (size_t s = 0; s < c->n_signers; s++)
		for (size_t f = 0; f < c->signers[s]->n_fields; f++) {
			const Ledger__State__Field *field = c->signers[s]->fields[f];
			if (field->document_sha256.len != d->sha256.len ||
			    memcmp(field->document_sha256.data, d->sha256.data, d->sha256.len) != 0)
				continue;
			Ledger__Api__FieldView *fv = proj_arena_alloc(arena, sizeof *fv);
			if (!fv)
				return NULL;
			ledger__api__field_view__init(fv);
			fv->signer = c->signers[s]->email;
			fv->page = field->page;
			fv->x0 = field->x0, fv->y0 = field->y0, fv->x1 = field->x1, fv->y1 = field->y1;
			v->fields[v->n_fields++] = fv;
		}
	return v;
}

static Ledger__Api__SignerView *signer_view(const collection *c, size_t i, proj_arena *arena)
{
	const Ledger__State__Signer *s = c->signers[i];
	Ledger__Api__SignerView *v = proj_arena_alloc(arena, sizeof *v);
	if (!v)
		return NULL;
	ledger__api__signer_view__init(v);
	v->email = s->email;
	v->name = s->name;
	v->kind = s->kind;
	v->position = (uint32_t)i + 1;
	v->status = s->status;
	v->signed_ = s->signed_;
	v->turn = proj_signer_turn(c, i);
	return v;
}

Ledger__Api__CollectionView *proj_collection_view(const collection *c, proj_arena *arena)
{
	Ledger__Api__CollectionView *v = proj_arena_alloc(arena, sizeof *v);
	if (!v)
		return NULL;
	ledger__api__collection_view__init(v);
	v->firm_id = c->firm_id;
	v->collection_id = c->collection_id;
	v->kind = c->kind;
	v->title = c->title;
	v->state = c->state;
	v->version = c->version;
	v->created_by = c->created_by;
	v->created_at_us = c->created_at_us;
	v->deadline_on = c->deadline_on;
	v->order = c->order;
	v->expiry_days = c->expiry_days;
	v->reminder_every_days = c->reminder_every_days;
	v->sent_at_us = c->sent_at_us;
	v->expires_at_us = c->expires_at_us;
	v->classified = c->classified;
	v->folder = c->folder;
	v->credits_reserved = c->credits_reserved;
	v->credits_used = c->credits_used;
	v->comment = c->comment;
	v->reminders = c->reminders;
	v->updated_at_us = c->updated_at_us;
	v->documents = proj_arena_alloc(arena, (c->n_documents + 1) * sizeof *v->documents);
	v->signers = proj_arena_alloc(arena, (c->n_signers + 1) * sizeof *v->signers);
	if (!v->documents || !v->signers)
		return NULL;
	for (size_t i = 0; i < c->n_documents; i++)
		if (!(v->documents[v->n_documents++] = document_view(c, c->documents[i], arena)))
			return NULL;
	for (size_t i = 0; i < c->n_signers; i++)
		if (!(v->signers[v->n_signers++] = signer_view(c, i, arena)))
			return NULL;
	return v;
}

Ledger__Api__CollectionSummary *proj_collection_summary(const collection *c, proj_arena *arena)
{
	Ledger__Api__CollectionSummary *s = proj_arena_alloc(arena, sizeof *s);
	if (!s)
		return NULL;
	ledger__api__collection_summary__init(s);
	s->firm_id = c->firm_id;
	s->collection_id = c->collection_id;
	s->kind = c->kind;
	s->title = c->title;
	s->state = c->state;
	s->version = c->version;
	s->created_by = c->created_by;
	s->expires_at_us = c->expires_at_us;
	s->documents = (uint32_t)c->n_documents;
	s->signers = (uint32_t)c->n_signers;
	for (size_t i = 0; i < c->n_signers; i++)
		s->signed_ += c->signers[i]->signed_;
	s->classified = c->classified;
	return s;
}

ledger_err proj_collections_each(proj *p, MDB_txn *txn, const char *firm_id, const ProtobufCAllocator *alloc,
                                 bool (*visit)(void *ctx, collection *c), void *ctx)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, p->collections, &cur);
	if (rc)
		return ledger_mdb_err(rc);
	size_t prefix = strlen(firm_id) + 1;
	MDB_val k = {prefix, (void *)firm_id}, v;
	ledger_err err = LEDGER_OK;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < prefix || memcmp(k.mv_data, firm_id, prefix) != 0)
			break;
		collection *c = ledger__state__collection__unpack((ProtobufCAllocator *)alloc, v.mv_size, v.mv_data);
		if (!c) {
			err = LEDGER_ERR_CORRUPT;
			break;
		}
		if (!visit(ctx, c))
			break;
	}
	mdb_cursor_close(cur);
	if (err)
		return err;
	return rc == 0 || rc == MDB_NOTFOUND ? LEDGER_OK : ledger_mdb_err(rc);
}

/* ----- queries ----- */

typedef struct list_ctx {
	Ledger__Api__CollectionListReply *list;
	const Ledger__Api__CollectionList *q;
	proj_arena *arena;
	size_t cap;
	bool nomem;
} list_ctx;

static bool list_visit(void *ctx, collection *c)
{
	list_ctx *l = ctx;
	if ((l->q->state && c->state != l->q->state) || (c->classified && !l->q->include_classified))
		return true;
	if (l->list->n_rows == PROJ_LIST_ROWS_MAX) {
		l->list->truncated = true;
		return false;
	}
	if (l->list->n_rows == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		Ledger__Api__CollectionSummary **rows = proj_arena_alloc(l->arena, cap * sizeof *rows);
		if (!rows)
			return !(l->nomem = true);
		if (l->list->n_rows)
			memcpy(rows, l->list->rows, l->list->n_rows * sizeof *rows);
		l->list->rows = rows;
		l->cap = cap;
	}
	Ledger__Api__CollectionSummary *s = proj_collection_summary(c, l->arena);
	if (!s)
		return !(l->nomem = true);
	l->list->rows[l->list->n_rows++] = s;
	return true;
}

static void collection_show(proj *p, MDB_txn *txn, const Ledger__Api__CollectionShow *q, Ledger__Api__Reply *reply,
                            proj_arena *arena)
{
	ProtobufCAllocator alloc;
	proj_arena_allocator(arena, &alloc);
	collection *c;
	ledger_err err = proj_collection_get(p, txn, q->firm_id, q->collection_id, &alloc, &c);
	if (err == LEDGER_END) {
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__NOT_FOUND, "collection_id",
		           "no collection %.32s in firm %s", q->collection_id, q->firm_id);
		return;
	}
	Ledger__Api__CollectionReply *r = proj_arena_alloc(arena, sizeof *r);
	if (err || !r || (ledger__api__collection_reply__init(r), !(r->collection = proj_collection_view(c, arena)))) {
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__INTERNAL, NULL, "cannot read collection %s",
		           q->collection_id);
		return;
	}
	reply->result_case = LEDGER__API__REPLY__RESULT_COLLECTION;
	reply->collection = r;
}

static void collection_list(proj *p, MDB_txn *txn, const Ledger__Api__CollectionList *q, Ledger__Api__Reply *reply,
                            proj_arena *arena)
{
	Ledger__Api__CollectionListReply *r = proj_arena_alloc(arena, sizeof *r);
	if (!r)
		return;
	ledger__api__collection_list_reply__init(r);
	ProtobufCAllocator alloc;
	proj_arena_allocator(arena, &alloc);
	list_ctx l = {r, q, arena, 0, false};
	if (proj_collections_each(p, txn, q->firm_id, &alloc, list_visit, &l) || l.nomem) {
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__INTERNAL, NULL, "cannot list the collections of %s",
		           q->firm_id);
		return;
	}
	reply->result_case = LEDGER__API__REPLY__RESULT_COLLECTIONS;
	reply->collections = r;
}

static void document_get(proj *p, MDB_txn *txn, const Ledger__Api__DocumentGet *q, Ledger__Api__Reply *reply,
                         proj_arena *arena)
{
	char key[LEDGER_HASH_BYTES + PROJ_FIRM_ID_BYTES_MAX];
	size_t f = strlen(q->firm_id);
	MDB_val v;
	const uint8_t *bytes;
	size_t n;
	if (q->sha256.len != LEDGER_HASH_BYTES) {
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "sha256",
		           "sha256 must be 32 bytes");
		return;
	}
	memcpy(key, q->sha256.data, LEDGER_HASH_BYTES);
	memcpy(key + LEDGER_HASH_BYTES, q->firm_id, f);
	/* A firm reads the documents of its own collections only. */
	if (proj_get_raw(txn, p->doc_refs, key, LEDGER_HASH_BYTES + f, &v) != LEDGER_OK ||
	    ledger_blob_get(p->l, txn, q->sha256.data, &bytes, &n) != LEDGER_OK) {
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__NOT_FOUND, "sha256", "no such document in firm %s",
		           q->firm_id);
		return;
	}
	Ledger__Api__DocumentReply *r = proj_arena_alloc(arena, sizeof *r);
	uint8_t *copy = proj_arena_alloc(arena, n ? n : 1);
	char *filename = proj_arena_alloc(arena, v.mv_size + 1);
	if (!r || !copy || !filename)
		return;
	memcpy(filename, v.mv_data, v.mv_size);
	ledger__api__document_reply__init(r);
	memcpy(copy, bytes, n);
	r->sha256 = q->sha256;
	r->content = (ProtobufCBinaryData){n, copy};
	r->filename = filename; /* a signed version carries its original's name */
	reply->result_case = LEDGER__API__REPLY__RESULT_DOCUMENT;
	reply->document = r;
}

void proj_query_collection(proj *p, MDB_txn *txn, const proj_actor *actor, int64_t now_us,
                           const Ledger__Api__Request *req, Ledger__Api__Reply *reply, proj_arena *arena)
{
	const char *firm_id =
	    req->body_case == LEDGER__API__REQUEST__BODY_COLLECTION_SHOW   ? req->collection_show->firm_id
	    : req->body_case == LEDGER__API__REQUEST__BODY_COLLECTION_LIST ? req->collection_list->firm_id
	                                                                   : req->document_get->firm_id;
	/* Whoever holds any right in the firm sees its collections, as on the dashboard. */
	if (!proj_authorise_query(p, txn, actor, firm_id, "platform.dashboard", now_us, reply, arena))
		return;
	switch (req->body_case) {
	case LEDGER__API__REQUEST__BODY_COLLECTION_SHOW:
		collection_show(p, txn, req->collection_show, reply, arena);
		break;
	case LEDGER__API__REQUEST__BODY_COLLECTION_LIST:
		collection_list(p, txn, req->collection_list, reply, arena);
		break;
	case LEDGER__API__REQUEST__BODY_DOCUMENT_GET: document_get(p, txn, req->document_get, reply, arena); break;
	default: break;
	}
}

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
		snprintf(task->signer_name, sizeof task->signer_name, "%s",
		         seal ? task->firm_name : c->signers[s]->name);
		task->external = !seal && c->signers[s]->kind == LEDGER__EVENTS__SIGNER_KIND__SIGNER_EXTERNAL;
		memcpy(task->original_sha256, d->sha256.data, LEDGER_HASH_BYTES);
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

/* True when every signer (the seal, for a seal collection) has signed every document. */
static bool all_signed(const collection *c)
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
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED;
	ev.document_signed = &e;
	if (!err)
		err = proj_emit(p, t, "ledgerd", "signer", c->firm_id, &ev, NULL, NULL);
	if (!err)
		err = proj_collection_get(p, txn, task->firm_id, task->collection_id, &alloc, &c);
	if (!err && all_signed(c))
		err = proj_collection_complete(p, t, c);
	proj_arena_free(arena);
	return err;
}

bool proj_may_upload(proj *p, MDB_txn *txn, const proj_actor *actor, int64_t now_us, const Ledger__Api__DocumentAdd *d)
{
	if (!d->ref || actor->platform || !proj_firm_id_valid(d->ref->firm_id))
		return false;
	proj_arena *arena = proj_arena_new();
	if (!arena)
		return false;
	ProtobufCAllocator alloc;
	proj_arena_allocator(arena, &alloc);
	collection *c;
	bool ok = proj_collection_get(p, txn, d->ref->firm_id, d->ref->collection_id, &alloc, &c) == LEDGER_OK &&
	          (c->state == LEDGER__EVENTS__COLLECTION_STATE__STATE_DRAFT ||
	           c->state == LEDGER__EVENTS__COLLECTION_STATE__STATE_REJECTED);
	if (ok) {
		int action = proj_action_find(
		    c->kind == LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL ? "seal.modify" : "signature.modify");
		char reason[256];
		ok = action >= 0 && proj_can(p, txn, d->ref->firm_id, actor->subject, (size_t)action, now_us, reason,
		                             sizeof reason) == PROJ_CAN_ALLOWED;
	}
	proj_arena_free(arena);
	return ok;
}
