/*
 * platform_queries.c: what the platform's pages read — credits, preferences, statistics, the
 * dashboard, the contacts base (CSV) and alerts — and the alerts that time raises.
 */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALERTS_SHOWN_MAX     100u
#define HISTORY_ROWS_DEFAULT 100u
#define STATS_ROWS_MAX       PROJ_LIST_ROWS_MAX

/* A growing array of pointers in the arena. */
typedef struct vec {
	void **items;
	size_t n, cap;
} vec;

static bool vec_push(vec *v, proj_arena *arena, void *item)
{
	if (!item)
		return false;
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 16;
		void **grown = proj_arena_alloc(arena, cap * sizeof *grown);
		if (!grown)
			return false;
		if (v->n)
			memcpy(grown, v->items, v->n * sizeof *grown);
		v->items = grown;
		v->cap = cap;
	}
	v->items[v->n++] = item;
	return true;
}

/* Calls visit(key, value) for every entry whose key starts with prefix, in key order. */
static ledger_err each_prefixed(MDB_txn *txn, MDB_dbi dbi, const void *prefix, size_t prefix_bytes, bool backwards,
                                bool (*visit)(void *ctx, const MDB_val *k, const MDB_val *v), void *ctx)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc)
		return ledger_mdb_err(rc);
	MDB_val k = {prefix_bytes, (void *)prefix}, v;
	if (prefix_bytes == 0) {
		rc = mdb_cursor_get(cur, &k, &v, backwards ? MDB_LAST : MDB_FIRST);
	} else if (!backwards) {
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	} else {
		/* The last key with the prefix: just before the prefix's successor. */
		uint8_t after[PROJ_KEY_BYTES_MAX + 16];
		memcpy(after, prefix, prefix_bytes);
		after[prefix_bytes - 1]++;
		k = (MDB_val){prefix_bytes, after};
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		rc = mdb_cursor_get(cur, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
	}
	for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, backwards ? MDB_PREV : MDB_NEXT)) {
		if (k.mv_size < prefix_bytes || memcmp(k.mv_data, prefix, prefix_bytes) != 0 || !visit(ctx, &k, &v))
			break;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? LEDGER_OK : ledger_mdb_err(rc);
}

/* ----- credits ----- */

typedef struct history_ctx {
	vec rows;
	size_t max;
	proj_arena *arena;
	bool truncated;
} history_ctx;

static bool history_visit(void *ctx, const MDB_val *k, const MDB_val *v)
{
	history_ctx *h = ctx;
	if (h->rows.n == h->max) {
		h->truncated = true;
		return false;
	}
	ProtobufCAllocator alloc;
	proj_arena_allocator(h->arena, &alloc);
	Ledger__State__CreditEntry *s = ledger__state__credit_entry__unpack(&alloc, v->mv_size, v->mv_data);
	Ledger__Api__CreditEntry *e = proj_arena_alloc(h->arena, sizeof *e);
	if (!s || !e)
		return false;
	ledger__api__credit_entry__init(e);
	e->seq = ledger_get_u64_be((const uint8_t *)k->mv_data + k->mv_size - 8);
	e->at_us = s->at_us, e->kind = s->kind, e->credits = s->credits;
	e->collection_id = s->collection_id, e->actor = s->actor, e->reference = s->reference;
	return vec_push(&h->rows, h->arena, e);
}

static void credits_show(proj *p, MDB_txn *txn, const Ledger__Api__CreditsShow *q, Ledger__Api__Reply *reply,
                         proj_arena *arena)
{
	Ledger__State__Credits *c;
	Ledger__Api__CreditsReply *r = proj_arena_alloc(arena, sizeof *r);
	if (!r || proj_credits_get(p, txn, q->firm_id, &c) != LEDGER_OK)
		return;
	ledger__api__credits_reply__init(r);
	r->available = c->available, r->reserved = c->reserved, r->used = c->used, r->added = c->added;
	ledger__state__credits__free_unpacked(c, NULL);
	size_t max = q->history_rows ? q->history_rows : HISTORY_ROWS_DEFAULT;
	history_ctx h = {.max = max < PROJ_LIST_ROWS_MAX ? max : PROJ_LIST_ROWS_MAX, .arena = arena};
	if (each_prefixed(txn, p->credit_history, q->firm_id, strlen(q->firm_id) + 1, true, history_visit, &h))
		return;
	r->history = (Ledger__Api__CreditEntry **)h.rows.items;
	r->n_history = h.rows.n;
	r->truncated = h.truncated;
	reply->result_case = LEDGER__API__REPLY__RESULT_CREDITS;
	reply->credits = r;
}

static void preferences_show(proj *p, MDB_txn *txn, const char *firm_id, Ledger__Api__Reply *reply, proj_arena *arena)
{
	Ledger__State__Preferences prefs;
	Ledger__Api__PreferencesReply *r = proj_arena_alloc(arena, sizeof *r);
	if (!r || proj_preferences_get(p, txn, firm_id, &prefs) != LEDGER_OK)
		return;
	ledger__api__preferences_reply__init(r);
	MDB_val v;
	ProtobufCAllocator alloc;
	proj_arena_allocator(arena, &alloc);
	Ledger__State__Preferences *stored = NULL;
	if (proj_get_raw(txn, p->preferences, firm_id, strlen(firm_id), &v) == LEDGER_OK)
		stored = ledger__state__preferences__unpack(&alloc, v.mv_size, v.mv_data);
	if (stored)
		prefs = *stored;
	r->firm_id = (char *)firm_id;
	r->collection_expiry_days = prefs.collection_expiry_days;
	r->reminder_every_days = prefs.reminder_every_days;
	r->default_order = prefs.default_order;
	r->credits_low_threshold = prefs.credits_low_threshold;
	r->sender_name = prefs.sender_name;
	r->signature_level = prefs.signature_level;
	reply->result_case = LEDGER__API__REPLY__RESULT_PREFERENCES;
	reply->preferences = r;
}

/* ----- statistics ----- */

typedef struct stats_ctx {
	const Ledger__Api__StatsQuery *q;
	proj_arena *arena;
	vec rows, by_month, by_collaborator, by_kind;
	bool truncated, nomem;
} stats_ctx;

static void add_counts(Ledger__Api__StatsRow *to, const Ledger__State__Stats *s)
{
	to->created += s->created, to->sent += s->sent, to->completed += s->completed;
	to->signatures += s->signatures, to->seals += s->seals, to->credits_used += s->credits_used;
}

/* The row of `v` keyed by (month, collaborator, kind) — any of them may be "" / 0 — created if absent. */
static Ledger__Api__StatsRow *row_for(stats_ctx *c, vec *v, const char *month, const char *who,
                                      Ledger__Events__CollectionKind kind)
{
	for (size_t i = 0; i < v->n; i++) {
		Ledger__Api__StatsRow *r = v->items[i];
		if (strcmp(r->month, month) == 0 && strcmp(r->collaborator, who) == 0 && r->kind == kind)
			return r;
	}
	if (v->n >= STATS_ROWS_MAX) {
		c->truncated = true;
		return NULL;
	}
	Ledger__Api__StatsRow *r = proj_arena_alloc(c->arena, sizeof *r);
	if (!r)
		return NULL;
	ledger__api__stats_row__init(r);
	r->month = proj_arena_strdup(c->arena, month);
	r->collaborator = proj_arena_strdup(c->arena, who);
	r->kind = kind;
	return r->month && r->collaborator && vec_push(v, c->arena, r) ? r : NULL;
}

static bool stats_visit(void *ctx, const MDB_val *k, const MDB_val *v)
{
	stats_ctx *c = ctx;
	const char *key = k->mv_data;
	size_t f = strlen(key);
	if (k->mv_size < f + 12)
		return true;
	const char *month = key + f + 1, *who = month + 8;
	if ((c->q->from_month[0] && strcmp(month, c->q->from_month) < 0) ||
	    (c->q->to_month[0] && strcmp(month, c->q->to_month) > 0))
		return true;
	Ledger__Events__CollectionKind kind = (Ledger__Events__CollectionKind)(unsigned char)key[k->mv_size - 1];
	Ledger__State__Stats *s = ledger__state__stats__unpack(NULL, v->mv_size, v->mv_data);
	if (!s)
		return true;
	Ledger__Api__StatsRow *rows[4] = {
	    row_for(c, &c->rows, month, who, kind), row_for(c, &c->by_month, month, "", 0),
	    row_for(c, &c->by_collaborator, "", who, 0), row_for(c, &c->by_kind, "", "", kind)};
	for (size_t i = 0; i < 4; i++)
		if (rows[i])
			add_counts(rows[i], s);
	ledger__state__stats__free_unpacked(s, NULL);
	return true;
}

/* "" (no bound) or a month YYYY-MM: four digits, a dash, 01 to 12. */
static bool month_valid(const char *m)
{
	if (!m[0])
		return true;
	if (strlen(m) != 7 || m[4] != '-')
		return false;
	for (int i = 0; i < 7; i++)
		if (i != 4 && (m[i] < '0' || m[i] > '9'))
			return false;
	int month = (m[5] - '0') * 10 + (m[6] - '0');
	return month >= 1 && month <= 12;
}

static void stats(proj *p, MDB_txn *txn, const Ledger__Api__StatsQuery *q, Ledger__Api__Reply *reply, proj_arena *arena)
{
	const char *bad = !month_valid(q->from_month) ? "from_month" : !month_valid(q->to_month) ? "to_month" : NULL;
	if (bad) {
		proj_error(reply, arena, ERROR_CODE(INVALID_ARGUMENT), bad, "%s %.16s: a month is YYYY-MM, 01 to 12",
		           bad, strcmp(bad, "from_month") == 0 ? q->from_month : q->to_month);
		return;
	}
	if (q->from_month[0] && q->to_month[0] && strcmp(q->from_month, q->to_month) > 0) {
		proj_error(reply, arena, ERROR_CODE(INVALID_ARGUMENT), "to_month",
		           "to_month %s is before from_month %s", q->to_month, q->from_month);
		return;
	}
	stats_ctx c = {.q = q, .arena = arena};
	Ledger__Api__StatsReply *r = proj_arena_alloc(arena, sizeof *r);
	if (!r || each_prefixed(txn, p->stats, q->firm_id, strlen(q->firm_id) + 1, false, stats_visit, &c))
		return;
	ledger__api__stats_reply__init(r);
	r->rows = (Ledger__Api__StatsRow **)c.rows.items, r->n_rows = c.rows.n;
	r->by_month = (Ledger__Api__StatsRow **)c.by_month.items, r->n_by_month = c.by_month.n;
	r->by_collaborator = (Ledger__Api__StatsRow **)c.by_collaborator.items,
	r->n_by_collaborator = c.by_collaborator.n;
	r->by_kind = (Ledger__Api__StatsRow **)c.by_kind.items, r->n_by_kind = c.by_kind.n;
	r->truncated = c.truncated;
	reply->result_case = LEDGER__API__REPLY__RESULT_STATS;
	reply->stats = r;
}

/* ----- alerts ----- */

typedef struct alerts_ctx {
	vec rows;
	size_t max;
	proj_arena *arena;
} alerts_ctx;

static bool alerts_visit(void *ctx, const MDB_val *k, const MDB_val *v)
{
	alerts_ctx *a = ctx;
	if (a->rows.n == a->max)
		return false;
	ProtobufCAllocator alloc;
	proj_arena_allocator(a->arena, &alloc);
	Ledger__State__Alert *s = ledger__state__alert__unpack(&alloc, v->mv_size, v->mv_data);
	Ledger__Api__AlertView *view = proj_arena_alloc(a->arena, sizeof *view);
	if (!s || !view)
		return false;
	ledger__api__alert_view__init(view);
	view->seq = ledger_get_u64_be((const uint8_t *)k->mv_data + k->mv_size - 8);
	view->at_us = s->at_us, view->kind = s->kind, view->occasion = s->occasion, view->message = s->message;
	return vec_push(&a->rows, a->arena, view);
}

static bool subs_visit(void *ctx, const MDB_val *k, const MDB_val *v)
{
	alerts_ctx *a = ctx;
	(void)k;
	Ledger__State__AlertSubscription *s = ledger__state__alert_subscription__unpack(NULL, v->mv_size, v->mv_data);
	Ledger__Api__AlertSubscription *view = proj_arena_alloc(a->arena, sizeof *view);
	if (!s || !view) {
		if (s)
			ledger__state__alert_subscription__free_unpacked(s, NULL);
		return false;
	}
	ledger__api__alert_subscription__init(view);
	view->kind = s->kind, view->days = s->days, view->credits = s->credits;
	ledger__state__alert_subscription__free_unpacked(s, NULL);
	return vec_push(&a->rows, a->arena, view);
}

/* The newest alerts (max) of who in firm_id. */
static bool latest_alerts(proj *p, MDB_txn *txn, const char *firm_id, const char *who, size_t max, proj_arena *arena,
                          vec *out)
{
	char prefix[PROJ_KEY_BYTES_MAX + 1];
	size_t n = proj_key_pair(prefix, sizeof prefix, firm_id, who);
	prefix[n] = '\0';
	alerts_ctx a = {.max = max, .arena = arena};
	if (each_prefixed(txn, p->alerts, prefix, n + 1, true, alerts_visit, &a))
		return false;
	*out = a.rows;
	return true;
}

static void alerts_list(proj *p, MDB_txn *txn, const proj_actor *actor, const char *firm_id, Ledger__Api__Reply *reply,
                        proj_arena *arena)
{
	Ledger__Api__AlertsReply *r = proj_arena_alloc(arena, sizeof *r);
	if (!r)
		return;
	ledger__api__alerts_reply__init(r);
	char prefix[PROJ_KEY_BYTES_MAX + 1];
	size_t n = proj_key_pair(prefix, sizeof prefix, firm_id, actor->subject);
	prefix[n] = '\0';
	alerts_ctx subs = {.max = SIZE_MAX, .arena = arena};
	vec alerts;
	if (each_prefixed(txn, p->alert_subs, prefix, n + 1, false, subs_visit, &subs) ||
	    !latest_alerts(p, txn, firm_id, actor->subject, ALERTS_SHOWN_MAX, arena, &alerts))
		return;
	r->subscriptions = (Ledger__Api__AlertSubscription **)subs.rows.items, r->n_subscriptions = subs.rows.n;
	r->alerts = (Ledger__Api__AlertView **)alerts.items, r->n_alerts = alerts.n;
	reply->result_case = LEDGER__API__REPLY__RESULT_ALERTS;
	reply->alerts = r;
}

/* ----- dashboard ----- */

typedef struct dash_ctx {
	const proj_actor *actor;
	bool is_ec;
	int64_t now_us;
	proj_arena *arena;
	uint32_t states[16];
	vec mine, waiting, expiring;
	bool nomem;
} dash_ctx;

static bool waits_for(const dash_ctx *d, const Ledger__State__Collection *c)
{
	if (d->is_ec && c->state == LEDGER__EVENTS__COLLECTION_STATE__STATE_PENDING_APPROVAL)
		return true;
	ssize_t i = proj_collection_signer(c, d->actor->subject);
	return i >= 0 && proj_signer_turn(c, (size_t)i);
}

static bool dash_visit(void *ctx, Ledger__State__Collection *c)
{
	dash_ctx *d = ctx;
	if (c->classified)
		return true;
	if ((size_t)c->state < sizeof d->states / sizeof d->states[0])
		d->states[c->state]++;
	bool running = proj_collection_running(c->state), ended = proj_collection_ended(c->state);
	bool ok = true;
	if (!ended && strcmp(c->created_by, d->actor->subject) == 0 && d->mine.n < PROJ_LIST_ROWS_MAX)
		ok &= vec_push(&d->mine, d->arena, proj_collection_summary(c, d->arena));
	if (waits_for(d, c) && d->waiting.n < PROJ_LIST_ROWS_MAX)
		ok &= vec_push(&d->waiting, d->arena, proj_collection_summary(c, d->arena));
	if (running && c->expires_at_us - d->now_us <= PROJ_EXPIRING_SOON_US && d->expiring.n < PROJ_LIST_ROWS_MAX)
		ok &= vec_push(&d->expiring, d->arena, proj_collection_summary(c, d->arena));
	d->nomem |= !ok;
	return ok;
}

static Ledger__Api__DelegationRow *delegation_row(proj_arena *arena, const char *firm_id, const char *who,
                                                  Ledger__Events__Right right, const Ledger__State__Delegation *del,
                                                  int64_t now_us)
{
	Ledger__Api__DelegationRow *row = proj_arena_alloc(arena, sizeof *row);
	if (!row)
		return NULL;
	ledger__api__delegation_row__init(row);
	row->firm_id = (char *)firm_id;
	row->collaborator = proj_arena_strdup(arena, who);
	row->granted_by = proj_arena_strdup(arena, del->granted_by);
	row->right = right;
	row->expires_on = proj_arena_strdup(arena, del->expires_on);
	row->expires_at_us = del->expires_at_us;
	row->expired = now_us >= del->expires_at_us;
	return row->collaborator && row->granted_by && row->expires_on ? row : NULL;
}

static bool my_delegations(proj *p, MDB_txn *txn, dash_ctx *d, const char *firm_id, Ledger__Api__DashboardReply *r)
{
	vec rows = {0};
	for (Ledger__Events__Right right = LEDGER__EVENTS__RIGHT__RIGHT_SIGN;
	     right <= LEDGER__EVENTS__RIGHT__RIGHT_PREPARE; right++) {
		Ledger__State__Delegation *del;
		if (proj_delegation_get(p, txn, firm_id, d->actor->subject, right, &del) != LEDGER_OK)
			continue;
		bool ok = del->expires_at_us > d->now_us &&
		          !vec_push(&rows, d->arena,
		                    delegation_row(d->arena, firm_id, d->actor->subject, right, del, d->now_us));
		ledger__state__delegation__free_unpacked(del, NULL);
		if (ok)
			return false;
	}
	r->my_delegations = (Ledger__Api__DelegationRow **)rows.items;
	r->n_my_delegations = rows.n;
	return true;
}

static void dashboard(proj *p, MDB_txn *txn, const proj_actor *actor, int64_t now_us, const char *firm_id,
                      Ledger__Api__Reply *reply, proj_arena *arena)
{
	Ledger__State__Firm *firm;
	if (proj_firm_get(p, txn, firm_id, &firm) != LEDGER_OK)
		return;
	dash_ctx d = {
	    .actor = actor, .is_ec = strcmp(firm->ec_email, actor->subject) == 0, .now_us = now_us, .arena = arena};
	ledger__state__firm__free_unpacked(firm, NULL);
	ProtobufCAllocator alloc;
	proj_arena_allocator(arena, &alloc);
	Ledger__Api__DashboardReply *r = proj_arena_alloc(arena, sizeof *r);
	Ledger__State__Credits *credits;
	vec alerts;
	if (!r || proj_collections_each(p, txn, firm_id, &alloc, dash_visit, &d) || d.nomem ||
	    proj_credits_get(p, txn, firm_id, &credits) != LEDGER_OK)
		return;
	ledger__api__dashboard_reply__init(r);
	r->credits_available = credits->available;
	ledger__state__credits__free_unpacked(credits, NULL);
	if (!my_delegations(p, txn, &d, firm_id, r) ||
	    !latest_alerts(p, txn, firm_id, actor->subject, 20, arena, &alerts))
		return;
	r->firm_id = (char *)firm_id;
	vec states = {0};
	for (size_t s = 1; s < sizeof d.states / sizeof d.states[0]; s++) {
		if (!d.states[s])
			continue;
		Ledger__Api__StateCount *c = proj_arena_alloc(arena, sizeof *c);
		if (!c)
			return;
		ledger__api__state_count__init(c);
		c->state = (Ledger__Events__CollectionState)s;
		c->count = d.states[s];
		if (!vec_push(&states, arena, c))
			return;
	}
	r->states = (Ledger__Api__StateCount **)states.items, r->n_states = states.n;
	r->mine = (Ledger__Api__CollectionSummary **)d.mine.items, r->n_mine = d.mine.n;
	r->waiting_for_me = (Ledger__Api__CollectionSummary **)d.waiting.items, r->n_waiting_for_me = d.waiting.n;
	r->expiring_soon = (Ledger__Api__CollectionSummary **)d.expiring.items, r->n_expiring_soon = d.expiring.n;
	r->alerts = (Ledger__Api__AlertView **)alerts.items, r->n_alerts = alerts.n;
	reply->result_case = LEDGER__API__REPLY__RESULT_DASHBOARD;
	reply->dashboard = r;
}

/* ----- dispatch ----- */

void proj_query_platform(proj *p, MDB_txn *txn, const proj_actor *actor, int64_t now_us,
                         const Ledger__Api__Request *req, Ledger__Api__Reply *reply, proj_arena *arena)
{
	const char *firm_id, *action;
	switch (req->body_case) {
	case LEDGER__API__REQUEST__BODY_CREDITS_SHOW:
		firm_id = req->credits_show->firm_id, action = "platform.credit";
		break;
	case LEDGER__API__REQUEST__BODY_PREFERENCES_SHOW:
		firm_id = req->preferences_show->firm_id, action = "platform.dashboard";
		break;
	case LEDGER__API__REQUEST__BODY_STATS: firm_id = req->stats->firm_id, action = "platform.stats"; break;
	case LEDGER__API__REQUEST__BODY_DASHBOARD:
		firm_id = req->dashboard->firm_id, action = "platform.dashboard";
		break;
	case LEDGER__API__REQUEST__BODY_CONTACTS_EXPORT:
		firm_id = req->contacts_export->firm_id, action = "platform.contacts_export";
		break;
	case LEDGER__API__REQUEST__BODY_ALERTS_LIST:
		firm_id = req->alerts_list->firm_id, action = "platform.alerts";
		break;
	default: return;
	}
	if (!proj_authorise_query(p, txn, actor, firm_id, action, now_us, reply, arena))
		return;
	switch (req->body_case) {
	case LEDGER__API__REQUEST__BODY_CREDITS_SHOW: credits_show(p, txn, req->credits_show, reply, arena); break;
	case LEDGER__API__REQUEST__BODY_PREFERENCES_SHOW: preferences_show(p, txn, firm_id, reply, arena); break;
	case LEDGER__API__REQUEST__BODY_STATS: stats(p, txn, req->stats, reply, arena); break;
	case LEDGER__API__REQUEST__BODY_DASHBOARD: dashboard(p, txn, actor, now_us, firm_id, reply, arena); break;
	case LEDGER__API__REQUEST__BODY_CONTACTS_EXPORT: proj_contacts_export(p, txn, firm_id, reply, arena); break;
	case LEDGER__API__REQUEST__BODY_ALERTS_LIST: alerts_list(p, txn, actor, firm_id, reply, arena); break;
	default: break;
	}
	if (!reply->error && reply->result_case == LEDGER__API__REPLY__RESULT__NOT_SET)
		proj_error(reply, arena, ERROR_CODE(INTERNAL), NULL, "the query on firm %s failed", firm_id);
}

/* ----- alerts that time raises ----- */

typedef struct due_sub {
	char firm_id[PROJ_FIRM_ID_BYTES_MAX + 1];
	char who[PROJ_EMAIL_BYTES_MAX + 1];
	Ledger__Events__AlertKind kind;
	uint32_t days;
} due_sub;

typedef struct due_ctx {
	due_sub *subs;
	size_t n, cap;
} due_ctx;

static bool due_visit(void *ctx, const MDB_val *k, const MDB_val *v)
{
	due_ctx *d = ctx;
	const char *key = k->mv_data;
	char kind = key[k->mv_size - 1];
	if (kind != LEDGER__EVENTS__ALERT_KIND__ALERT_DELEGATION_EXPIRING &&
	    kind != LEDGER__EVENTS__ALERT_KIND__ALERT_COLLECTION_EXPIRING)
		return true;
	if (d->n == d->cap)
		return false;
	Ledger__State__AlertSubscription *s = ledger__state__alert_subscription__unpack(NULL, v->mv_size, v->mv_data);
	if (!s)
		return true;
	due_sub *out = &d->subs[d->n++];
	size_t f = strnlen(key, k->mv_size);
	snprintf(out->firm_id, sizeof out->firm_id, "%.*s", (int)f, key);
	snprintf(out->who, sizeof out->who, "%.*s", (int)(k->mv_size - f - 3), key + f + 1);
	out->kind = (Ledger__Events__AlertKind)kind;
	out->days = s->days;
	ledger__state__alert_subscription__free_unpacked(s, NULL);
	return true;
}

typedef struct expiring_ctx {
	proj *p;
	ledger_txn *t;
	const due_sub *sub;
	size_t *budget;
	ledger_err err;
} expiring_ctx;

static bool expiring_visit(void *ctx, Ledger__State__Collection *c)
{
	expiring_ctx *e = ctx;
	int64_t now = ledger_txn_time_us(e->t);
	if (!proj_collection_running(c->state) || strcmp(c->created_by, e->sub->who) != 0 ||
	    c->expires_at_us - now > (int64_t)e->sub->days * PROJ_DAY_US)
		return true;
	char occasion[64], message[256];
	snprintf(occasion, sizeof occasion, "collection:%s:expiring", c->collection_id);
	snprintf(message, sizeof message, "collection %s \"%.100s\" expires within %u days", c->collection_id, c->title,
	         e->sub->days);
	e->err = proj_alert_raise(e->p, e->t, "ledgerd", "alerts", c->firm_id, e->sub->who,
	                          LEDGER__EVENTS__ALERT_KIND__ALERT_COLLECTION_EXPIRING, occasion, message);
	return !e->err && *e->budget > 0 && (*e->budget)--;
}

static ledger_err delegations_expiring(proj *p, ledger_txn *t, const due_sub *s)
{
	MDB_txn *txn = ledger_txn_mdb(t);
	int64_t now = ledger_txn_time_us(t);
	ledger_err err = LEDGER_OK;
	for (Ledger__Events__Right r = LEDGER__EVENTS__RIGHT__RIGHT_SIGN;
	     !err && r <= LEDGER__EVENTS__RIGHT__RIGHT_PREPARE; r++) {
		Ledger__State__Delegation *d;
		if (proj_delegation_get(p, txn, s->firm_id, s->who, r, &d) != LEDGER_OK)
			continue;
		if (d->expires_at_us > now && d->expires_at_us - now <= (int64_t)s->days * PROJ_DAY_US) {
			char occasion[80], message[256];
			snprintf(occasion, sizeof occasion, "delegation:%s:%s", proj_right_name(r), d->expires_on);
			snprintf(message, sizeof message, "your right %s in firm %s expires on %s", proj_right_name(r),
			         s->firm_id, d->expires_on);
			err =
			    proj_alert_raise(p, t, "ledgerd", "alerts", s->firm_id, s->who,
			                     LEDGER__EVENTS__ALERT_KIND__ALERT_DELEGATION_EXPIRING, occasion, message);
		}
		ledger__state__delegation__free_unpacked(d, NULL);
	}
	return err;
}

ledger_err proj_alerts_due(proj *p, ledger_txn *t, size_t max, size_t *count)
{
	*count = 0;
	due_ctx d = {.cap = 4096};
	d.subs = calloc(d.cap, sizeof *d.subs);
	if (!d.subs)
		return LEDGER_ERR_NOMEM;
	ledger_err err = each_prefixed(ledger_txn_mdb(t), p->alert_subs, "", 0, false, due_visit, &d);
	size_t budget = max;
	for (size_t i = 0; !err && i < d.n && budget > 0; i++) {
		if (d.subs[i].kind == LEDGER__EVENTS__ALERT_KIND__ALERT_DELEGATION_EXPIRING) {
			err = delegations_expiring(p, t, &d.subs[i]);
			continue;
		}
		proj_arena *arena = proj_arena_new();
		if (!arena) {
			err = LEDGER_ERR_NOMEM;
			break;
		}
		ProtobufCAllocator alloc;
		proj_arena_allocator(arena, &alloc);
		expiring_ctx e = {p, t, &d.subs[i], &budget, LEDGER_OK};
		err = proj_collections_each(p, ledger_txn_mdb(t), d.subs[i].firm_id, &alloc, expiring_visit, &e);
		if (!err)
			err = e.err;
		proj_arena_free(arena);
	}
	free(d.subs);
	*count = max - budget;
	return err;
}
