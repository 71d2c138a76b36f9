/*
 * collection_views.c: what collections look like from outside: replies (show, list, document
 * get), and whether an upload may go ahead. The service's side of collections is
 * collection_service.c's.
 */
#include "commands.h"
#include "signer_identity.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Ledger__State__Collection collection;

/* ----- views ----- */

/* The view's names of signers: an external signer's email while it opens, else their id. */
typedef struct view_names {
	proj *p;
	MDB_txn *txn;
	proj_arena *arena;
} view_names;

static Ledger__Api__DocumentView *document_view(const view_names *names, const collection *c,
                                                const Ledger__State__Document *d)
{
	proj_arena *arena = names->arena;
	Ledger__Api__DocumentView *v = proj_arena_alloc(arena, sizeof *v);
	if (!v)
		return NULL;
	ledger__api__document_view__init(v);
	v->sha256 = d->sha256;
	v->current_sha256 = d->current_sha256;
	v->filename = d->filename;
	v->bytes = d->bytes;
	v->pages = (uint32_t)d->n_pages;
	v->signed_by = proj_arena_alloc(arena, (d->n_signed_by + 1) * sizeof *v->signed_by);
	if (!v->signed_by)
		return NULL;
	for (size_t i = 0; i < d->n_signed_by; i++)
		v->signed_by[v->n_signed_by++] =
		    (char *)proj_signer_display(names->p, names->txn, c, d->signed_by[i], arena);
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
			fv->signer = (char *)proj_signer_display(names->p, names->txn, c, c->signers[s]->signer, arena);
			fv->page = field->page;
			fv->x0 = field->x0, fv->y0 = field->y0, fv->x1 = field->x1, fv->y1 = field->y1;
			v->fields[v->n_fields++] = fv;
		}
	return v;
}

static Ledger__Api__SignerView *signer_view(const view_names *names, const collection *c, size_t i)
{
	const Ledger__State__Signer *s = c->signers[i];
	Ledger__Api__SignerView *v = proj_arena_alloc(names->arena, sizeof *v);
	if (!v)
		return NULL;
	ledger__api__signer_view__init(v);
	proj_signer_identity who;
	proj_signer_identity_of(names->p, names->txn, s, &who);
	v->email = proj_arena_strdup(names->arena, who.email);
	v->name = proj_arena_strdup(names->arena, who.name);
	v->signer_id = proj_arena_strdup(names->arena, who.signer_id);
	sodium_memzero(&who, sizeof who);
	if (!v->email || !v->name || !v->signer_id)
		return NULL;
	v->kind = s->kind;
	v->position = (uint32_t)i + 1;
	v->status = s->status;
	v->signed_ = s->signed_;
	v->turn = proj_signer_turn(c, i);
	return v;
}

Ledger__Api__CollectionView *proj_collection_view(proj *p, MDB_txn *txn, const collection *c, proj_arena *arena)
{
	const view_names names = {p, txn, arena};
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
		if (!(v->documents[v->n_documents++] = document_view(&names, c, c->documents[i])))
			return NULL;
	for (size_t i = 0; i < c->n_signers; i++)
		if (!(v->signers[v->n_signers++] = signer_view(&names, c, i)))
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
	if (err || !r ||
	    (ledger__api__collection_reply__init(r), !(r->collection = proj_collection_view(p, txn, c, arena)))) {
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

bool proj_may_see_collection(proj *p, MDB_txn *txn, const proj_actor *actor, int64_t now_us, const char *firm_id,
                             const char *collection_id, int64_t *created_at_us, Ledger__Api__Reply *reply,
                             proj_arena *arena)
{
	if (!proj_firm_id_valid(firm_id)) {
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "firm_id",
		           "firm id \"%.64s\" is not valid", firm_id);
		return false;
	}
	if (!proj_authorise_query(p, txn, actor, firm_id, "platform.dashboard", now_us, reply, arena))
		return false;
	ProtobufCAllocator alloc;
	proj_arena_allocator(arena, &alloc);
	collection *c;
	ledger_err err = proj_collection_get(p, txn, firm_id, collection_id, &alloc, &c);
	if (err == LEDGER_END)
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__NOT_FOUND, "collection_id",
		           "no collection %.32s in firm %s", collection_id, firm_id);
	else if (err)
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__INTERNAL, NULL, "cannot read collection %.32s",
		           collection_id);
	else
		*created_at_us = c->created_at_us;
	return err == LEDGER_OK;
}

bool proj_may_upload(proj *p, MDB_txn *txn, const proj_actor *actor, int64_t now_us, const Ledger__Api__DocumentAdd *d)
{
	if (!d->ref || actor->platform || !proj_firm_id_valid(d->ref->firm_id))
		return false;
	proj_arena *arena;
	collection *c;
	bool ok = proj_collection_get_arena(p, txn, d->ref->firm_id, d->ref->collection_id, &arena, &c) == LEDGER_OK &&
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
