/*
 * query.c: read-only answers from the projections: delegations given and received (the
 * guide's two pages), `can`, and the log's head.
 */
#include "commands.h"

#include "tlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rows {
	Ledger__Api__DelegationList *list;
	size_t cap;
	proj_arena *arena;
	bool truncated;
} rows;

static bool rows_push(rows *r, const char *firm_id, const char *firm_name, const char *who, Ledger__Events__Right right,
                      const Ledger__State__Delegation *d, int64_t now_us)
{
	if (r->list->n_rows == PROJ_LIST_ROWS_MAX) {
		r->truncated = true;
		r->list->truncated = true;
		return false;
	}
	if (r->list->n_rows == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		Ledger__Api__DelegationRow **grown = proj_arena_alloc(r->arena, cap * sizeof *grown);
		if (!grown)
			return false;
		if (r->list->n_rows)
			memcpy(grown, r->list->rows, r->list->n_rows * sizeof *grown);
		r->list->rows = grown;
		r->cap = cap;
	}
	Ledger__Api__DelegationRow *row = proj_arena_alloc(r->arena, sizeof *row);
	if (!row)
		return false;
	ledger__api__delegation_row__init(row);
	row->firm_id = proj_arena_strdup(r->arena, firm_id);
	row->firm_name = proj_arena_strdup(r->arena, firm_name);
	row->collaborator = proj_arena_strdup(r->arena, who);
	row->granted_by = proj_arena_strdup(r->arena, d->granted_by);
	row->right = right;
	row->expires_on = proj_arena_strdup(r->arena, d->expires_on);
	row->expires_at_us = d->expires_at_us;
	row->expired = now_us >= d->expires_at_us;
	if (!row->firm_id || !row->firm_name || !row->collaborator || !row->granted_by || !row->expires_on)
		return false;
	r->list->rows[r->list->n_rows++] = row;
	return true;
}

/* Lists the delegations of one firm, in key order (collaborator, then right). */
static void given_in_firm(proj *p, MDB_txn *txn, const Ledger__State__Firm *firm, rows *r, int64_t now_us)
{
	MDB_cursor *cur;
	if (mdb_cursor_open(txn, p->delegations, &cur))
		return;
	size_t prefix = strlen(firm->firm_id) + 1;
	MDB_val k = {prefix, firm->firm_id}, v; /* "firm\0" sorts first among the firm's keys */
	for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const char *key = k.mv_data;
		if (k.mv_size < prefix + 3 || memcmp(key, firm->firm_id, prefix) != 0)
			break;
		const char *who = key + prefix;
		Ledger__Events__Right right = (Ledger__Events__Right)(unsigned char)key[k.mv_size - 1];
		Ledger__State__Delegation *d = ledger__state__delegation__unpack(NULL, v.mv_size, v.mv_data);
		bool ok = d && rows_push(r, firm->firm_id, firm->name, who, right, d, now_us);
		if (d)
			ledger__state__delegation__free_unpacked(d, NULL);
		if (!ok)
			break;
	}
	mdb_cursor_close(cur);
}

static void delegations_given(proj *p, MDB_txn *txn, const proj_actor *actor, int64_t now_us,
                              const Ledger__Api__DelegationsGiven *q, Ledger__Api__Reply *reply, proj_arena *arena)
{
	Ledger__Api__DelegationList *list = proj_arena_alloc(arena, sizeof *list);
	if (!list) {
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__INTERNAL, NULL, "out of memory");
		return;
	}
	ledger__api__delegation_list__init(list);
	rows r = {list, 0, arena, false};
	if (q->firm_id[0]) {
		Ledger__State__Firm *firm;
		if (proj_firm_get(p, txn, q->firm_id, &firm) != LEDGER_OK) {
			proj_error(reply, arena, LEDGER__API__ERROR_CODE__NOT_FOUND, "firm_id", "unknown firm %.64s",
			           q->firm_id);
			return;
		}
		bool allowed = actor->platform || strcmp(firm->ec_email, actor->subject) == 0;
		if (allowed)
			given_in_firm(p, txn, firm, &r, now_us);
		ledger__state__firm__free_unpacked(firm, NULL);
		if (!allowed) {
			proj_error(reply, arena, LEDGER__API__ERROR_CODE__PERMISSION_DENIED, "firm_id",
			           "only the EC of firm %s sees the delegations it gave", q->firm_id);
			return;
		}
	} else {
		/* Every firm of which the actor is the EC, through the firms_by_ec index. */
		MDB_cursor *cur;
		if (mdb_cursor_open(txn, p->firms_by_ec, &cur) == 0) {
			size_t prefix = strlen(actor->subject) + 1;
			MDB_val k = {prefix, (void *)actor->subject}, v;
			for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && !r.truncated;
			     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
				if (k.mv_size <= prefix || memcmp(k.mv_data, actor->subject, prefix) != 0)
					break;
				char firm_id[PROJ_FIRM_ID_BYTES_MAX + 1];
				snprintf(firm_id, sizeof firm_id, "%.*s", (int)(k.mv_size - prefix),
				         (const char *)k.mv_data + prefix);
				Ledger__State__Firm *firm;
				if (proj_firm_get(p, txn, firm_id, &firm) == LEDGER_OK) {
					given_in_firm(p, txn, firm, &r, now_us);
					ledger__state__firm__free_unpacked(firm, NULL);
				}
			}
			mdb_cursor_close(cur);
		}
	}
	reply->result_case = LEDGER__API__REPLY__RESULT_DELEGATIONS;
	reply->delegations = list;
}

static void delegations_received(proj *p, MDB_txn *txn, const proj_actor *actor, int64_t now_us,
                                 Ledger__Api__Reply *reply, proj_arena *arena)
{
	Ledger__Api__DelegationList *list = proj_arena_alloc(arena, sizeof *list);
	MDB_cursor *cur;
	if (!list || mdb_cursor_open(txn, p->received, &cur)) {
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__INTERNAL, NULL, "cannot read delegations");
		return;
	}
	ledger__api__delegation_list__init(list);
	rows r = {list, 0, arena, false};
	size_t prefix = strlen(actor->subject) + 1;
	MDB_val k = {prefix, (void *)actor->subject}, v;
	for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < prefix + 3 || memcmp(k.mv_data, actor->subject, prefix) != 0)
			break;
		char firm_id[PROJ_FIRM_ID_BYTES_MAX + 1];
		snprintf(firm_id, sizeof firm_id, "%.*s", (int)(k.mv_size - prefix - 2),
		         (const char *)k.mv_data + prefix);
		Ledger__Events__Right right = (Ledger__Events__Right)((const unsigned char *)k.mv_data)[k.mv_size - 1];
		Ledger__State__Firm *firm;
		Ledger__State__Delegation *d;
		if (proj_firm_get(p, txn, firm_id, &firm) != LEDGER_OK)
			continue;
		bool ok = true;
		if (proj_delegation_get(p, txn, firm_id, actor->subject, right, &d) == LEDGER_OK) {
			ok = rows_push(&r, firm_id, firm->name, actor->subject, right, d, now_us);
			ledger__state__delegation__free_unpacked(d, NULL);
		}
		ledger__state__firm__free_unpacked(firm, NULL);
		if (!ok)
			break;
	}
	mdb_cursor_close(cur);
	reply->result_case = LEDGER__API__REPLY__RESULT_DELEGATIONS;
	reply->delegations = list;
}

static void can(proj *p, MDB_txn *txn, const proj_actor *actor, int64_t now_us, const Ledger__Api__Can *q,
                Ledger__Api__Reply *reply, proj_arena *arena)
{
	char who[PROJ_EMAIL_BYTES_MAX + 1];
	if (!proj_query_subject(actor, q->actor, "actor", who, reply, arena))
		return;
	int action = proj_action_find(q->action);
	if (action < 0) {
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "action",
		           "unknown action \"%.64s\" (`ledgerctl can --help` lists them)", q->action);
		return;
	}
	Ledger__State__Firm *firm;
	if (proj_firm_get(p, txn, q->firm_id, &firm) != LEDGER_OK) {
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__NOT_FOUND, "firm_id", "unknown firm %.64s",
		           q->firm_id);
		return;
	}
	/* One may ask about oneself; the firm's EC and the platform about anyone in the firm. */
	bool may_ask =
	    actor->platform || strcmp(who, actor->subject) == 0 || strcmp(firm->ec_email, actor->subject) == 0;
	ledger__state__firm__free_unpacked(firm, NULL);
	if (!may_ask) {
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__PERMISSION_DENIED, "actor",
		           "%s may ask about itself only; the firm's EC may ask about others", actor->subject);
		return;
	}
	char reason[256];
	proj_can_result res = proj_can(p, txn, q->firm_id, who, (size_t)action, now_us, reason, sizeof reason);
	if (res == PROJ_CAN_ERROR || res == PROJ_CAN_NO_FIRM) {
		proj_error(reply, arena,
		           res == PROJ_CAN_ERROR ? LEDGER__API__ERROR_CODE__INTERNAL
		                                 : LEDGER__API__ERROR_CODE__NOT_FOUND,
		           "firm_id", "%s", reason);
		return;
	}
	Ledger__Api__CanReply *c = proj_arena_alloc(arena, sizeof *c);
	if (!c)
		return;
	ledger__api__can_reply__init(c);
	c->allowed = res == PROJ_CAN_ALLOWED;
	c->reason = proj_arena_strdup(arena, reason);
	reply->result_case = LEDGER__API__REPLY__RESULT_CAN;
	reply->can = c;
}

/* The head, the latest checkpoint (as of txn), the largest cosigned one, and the consistency
 * proof a witness asks for (docs/log-format.md section 10). */
static void head(proj *p, MDB_txn *txn, const Ledger__Api__Head *q, Ledger__Api__Reply *reply, proj_arena *arena)
{
	Ledger__Api__HeadReply *h = proj_arena_alloc(arena, sizeof *h);
	uint8_t *hash = proj_arena_alloc(arena, LEDGER_HASH_BYTES);
	char *checkpoint = proj_arena_alloc(arena, LEDGER_CHECKPOINT_BYTES_MAX);
	char *cosigned = proj_arena_alloc(arena, LEDGER_COSIGNED_BYTES_MAX);
	if (!h || !hash || !checkpoint || !cosigned)
		return;
	ledger__api__head_reply__init(h);
	ledger_head(p->l, &h->seq, hash);
	h->hash.data = hash;
	h->hash.len = LEDGER_HASH_BYTES;
	size_t n;
	h->checkpoint = ledger_checkpoint_latest(p->l, txn, checkpoint, LEDGER_CHECKPOINT_BYTES_MAX, &n) == LEDGER_OK
	                    ? checkpoint
	                    : (char *)"";
	h->cosigned = ledger_cosigned_get(p->l, txn, 0, cosigned, LEDGER_COSIGNED_BYTES_MAX, &n) == LEDGER_OK
	                  ? cosigned
	                  : (char *)"";
	if (q && q->consistency_from) {
		/* The checkpoint's size is its second line. */
		const char *size_line = strchr(h->checkpoint, '\n');
		uint64_t size = size_line ? strtoull(size_line + 1, NULL, 10) : 0;
		tlog_proof *proof = proj_arena_alloc(arena, sizeof *proof);
		ProtobufCBinaryData *hashes = proj_arena_alloc(arena, TLOG_PROOF_HASHES_MAX * sizeof *hashes);
		if (!proof || !hashes)
			return;
		if (q->consistency_from > size ||
		    ledger_tree_prove_consistency(p->l, txn, q->consistency_from, size, proof) != LEDGER_OK) {
			proj_error(reply, arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "consistency_from",
			           "consistency_from %llu: from 1 to the checkpoint's size, %llu",
			           (unsigned long long)q->consistency_from, (unsigned long long)size);
			return;
		}
		for (size_t i = 0; i < proof->count; i++)
			hashes[i] = (ProtobufCBinaryData){TLOG_HASH_BYTES, proof->hashes[i]};
		h->consistency = hashes;
		h->n_consistency = proof->count;
	}
	reply->result_case = LEDGER__API__REPLY__RESULT_HEAD;
	reply->head = h;
}

/* Visits the EC and the live delegations of one firm; *go_on false when the visitor stopped.
 * A delegation that does not unpack, or a cursor that fails, is an error, never a shorter list. */
static ledger_err rights_in_firm(proj *p, MDB_txn *txn, const Ledger__State__Firm *firm, int64_t at_us,
                                 proj_rights_visit visit, void *ctx, bool *go_on)
{
	*go_on =
	    visit(ctx, firm->firm_id, firm->ec_email, firm->ec_email, LEDGER__EVENTS__RIGHT__RIGHT_UNSPECIFIED, "");
	if (!*go_on)
		return LEDGER_OK;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, p->delegations, &cur);
	if (rc)
		return ledger_mdb_err(rc);
	size_t prefix = strlen(firm->firm_id) + 1;
	MDB_val k = {prefix, firm->firm_id}, v;
	ledger_err err = LEDGER_OK;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); *go_on && rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const char *key = k.mv_data;
		if (k.mv_size < prefix + 3 || memcmp(key, firm->firm_id, prefix) != 0)
			break;
		Ledger__State__Delegation *d = ledger__state__delegation__unpack(NULL, v.mv_size, v.mv_data);
		if (!d) {
			err = LEDGER_ERR_CORRUPT;
			break;
		}
		if (at_us < d->expires_at_us)
			*go_on = visit(ctx, firm->firm_id, firm->ec_email, key + prefix,
			               (Ledger__Events__Right)(unsigned char)key[k.mv_size - 1], d->expires_on);
		ledger__state__delegation__free_unpacked(d, NULL);
	}
	if (!err && rc != 0 && rc != MDB_NOTFOUND)
		err = ledger_mdb_err(rc);
	mdb_cursor_close(cur);
	return err;
}

ledger_err proj_rights_at(proj *p, MDB_txn *txn, const char *firm_id, int64_t at_us, proj_rights_visit visit, void *ctx)
{
	Ledger__State__Firm *firm;
	bool go_on = true;
	if (firm_id && firm_id[0]) {
		ledger_err err = proj_firm_get(p, txn, firm_id, &firm);
		if (err)
			return err;
		err = rights_in_firm(p, txn, firm, at_us, visit, ctx, &go_on);
		ledger__state__firm__free_unpacked(firm, NULL);
		return err;
	}
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, p->firms, &cur);
	if (rc)
		return ledger_mdb_err(rc);
	MDB_val k, v;
	ledger_err err = LEDGER_OK;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !err && go_on && rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		firm = ledger__state__firm__unpack(NULL, v.mv_size, v.mv_data);
		if (!firm) {
			err = LEDGER_ERR_CORRUPT;
			break;
		}
		err = rights_in_firm(p, txn, firm, at_us, visit, ctx, &go_on);
		ledger__state__firm__free_unpacked(firm, NULL);
	}
	if (!err && rc != 0 && rc != MDB_NOTFOUND)
		err = ledger_mdb_err(rc);
	mdb_cursor_close(cur);
	return err;
}

void proj_query(proj *p, MDB_txn *txn, const proj_actor *actor, int64_t now_us, const Ledger__Api__Request *req,
                Ledger__Api__Reply *reply, proj_arena *arena)
{
	switch (req->body_case) {
	case LEDGER__API__REQUEST__BODY_DELEGATIONS_GIVEN:
		delegations_given(p, txn, actor, now_us, req->delegations_given, reply, arena);
		break;
	case LEDGER__API__REQUEST__BODY_DELEGATIONS_RECEIVED:
		delegations_received(p, txn, actor, now_us, reply, arena);
		break;
	case LEDGER__API__REQUEST__BODY_CAN: can(p, txn, actor, now_us, req->can, reply, arena); break;
	case LEDGER__API__REQUEST__BODY_HEAD: head(p, txn, req->head, reply, arena); break;
	case LEDGER__API__REQUEST__BODY_REGISTRATION_STATUS:
		proj_query_registration(p, txn, actor, req->registration_status, reply, arena);
		break;
	case LEDGER__API__REQUEST__BODY_COLLECTION_SHOW:
	case LEDGER__API__REQUEST__BODY_COLLECTION_LIST:
	case LEDGER__API__REQUEST__BODY_DOCUMENT_GET:
		proj_query_collection(p, txn, actor, now_us, req, reply, arena);
		break;
	case LEDGER__API__REQUEST__BODY_CREDITS_SHOW:
	case LEDGER__API__REQUEST__BODY_PREFERENCES_SHOW:
	case LEDGER__API__REQUEST__BODY_STATS:
	case LEDGER__API__REQUEST__BODY_DASHBOARD:
	case LEDGER__API__REQUEST__BODY_CONTACTS_EXPORT:
	case LEDGER__API__REQUEST__BODY_ALERTS_LIST:
		proj_query_platform(p, txn, actor, now_us, req, reply, arena);
		break;
	default:
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__MALFORMED_REQUEST, "body",
		           "the request carries no command or query");
		break;
	}
}
