/*
 * platform.c: the guide's platform actions (docs/platform.md): credits on a firm's account,
 * firm preferences, alerts, statistics and the contacts base. Credits and preferences are
 * commands of the EC; statistics and contacts are folded from the collections' events, so they
 * replay like everything else.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define E(code)                       LEDGER__API__ERROR_CODE__##code
#define CREDITS_LOW_THRESHOLD_DEFAULT 10u

/* ----- state access ----- */

ledger_err proj_credits_get_kv(proj *p, proj_kv *kv, const char *firm_id, Ledger__State__Credits **out)
{
	MDB_val v;
	ledger_err err = proj_kv_get(kv, p->credits, firm_id, strlen(firm_id), &v);
	if (err == LEDGER_END)
		v = (MDB_val){0, ""}; /* a firm that was never credited has none */
	else if (err)
		return err;
	*out = ledger__state__credits__unpack(NULL, v.mv_size, v.mv_data);
	return *out ? LEDGER_OK : LEDGER_ERR_CORRUPT;
}

ledger_err proj_credits_get(proj *p, MDB_txn *txn, const char *firm_id, Ledger__State__Credits **out)
{
	proj_kv kv = proj_kv_of_txn(txn);
	return proj_credits_get_kv(p, &kv, firm_id, out);
}

ledger_err proj_preferences_get(proj *p, MDB_txn *txn, const char *firm_id, Ledger__State__Preferences *out)
{
	proj_kv kv = proj_kv_of_txn(txn);
	return proj_preferences_get_kv(p, &kv, firm_id, out);
}

ledger_err proj_preferences_get_kv(proj *p, proj_kv *kv, const char *firm_id, Ledger__State__Preferences *out)
{
	static const Ledger__State__Preferences defaults = {
	    PROTOBUF_C_MESSAGE_INIT(&ledger__state__preferences__descriptor),
	    .collection_expiry_days = PROJ_COLLECTION_EXPIRY_DAYS_DEFAULT,
	    .default_order = LEDGER__EVENTS__SIGNING_ORDER__ORDER_SEQUENTIAL,
	    .credits_low_threshold = CREDITS_LOW_THRESHOLD_DEFAULT,
	    .sender_name = "",
	};
	*out = defaults;
	MDB_val v;
	ledger_err err = proj_kv_get(kv, p->preferences, firm_id, strlen(firm_id), &v);
	if (err == LEDGER_END)
		return LEDGER_OK;
	if (err)
		return err;
	Ledger__State__Preferences *stored = ledger__state__preferences__unpack(NULL, v.mv_size, v.mv_data);
	if (!stored)
		return LEDGER_ERR_CORRUPT;
	*out = *stored;
	out->sender_name = ""; /* the string dies with stored: callers needing it read the event */
	ledger__state__preferences__free_unpacked(stored, NULL);
	return LEDGER_OK;
}

static size_t firm_seq_key(char *buf, size_t cap, const char *firm_id, uint64_t seq)
{
	size_t n = strlen(firm_id);
	if (n + 9 > cap)
		return 0;
	memcpy(buf, firm_id, n + 1);
	ledger_put_u64_be((uint8_t *)buf + n + 1, seq);
	return n + 9;
}

/* firm \0 subscriber \0 kind */
static size_t sub_key(char *buf, size_t cap, const char *firm_id, const char *subscriber,
                      Ledger__Events__AlertKind kind)
{
	size_t n = proj_key2(buf, cap, firm_id, subscriber);
	if (!n || n + 2 > cap)
		return 0;
	buf[n] = '\0';
	buf[n + 1] = (char)kind;
	return n + 2;
}

/* ----- folds: credits ----- */

static ledger_err history(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__Event *ev, const char *kind,
                          int64_t credits, const char *collection_id, const char *reference)
{
	Ledger__State__CreditEntry e = LEDGER__STATE__CREDIT_ENTRY__INIT;
	e.at_us = ev->committed_at_us;
	e.kind = (char *)kind;
	e.credits = credits;
	e.collection_id = (char *)collection_id;
	e.actor = ev->actor;
	e.reference = (char *)reference;
	char key[PROJ_FIRM_ID_BYTES_MAX + 16];
	size_t n = firm_seq_key(key, sizeof key, ev->firm_id, seq);
	return n ? proj_kv_put_msg(kv, p->credit_history, key, n, &e.base) : LEDGER_ERR_CORRUPT;
}

typedef struct rearm_ctx {
	uint64_t available, threshold_default;
	char keys[16][PROJ_KEY_BYTES_MAX + 2];
	size_t key_bytes[16];
	Ledger__State__AlertSubscription subs[16];
	size_t n;
	bool corrupt;
} rearm_ctx;

static bool rearm_visit(void *ctx, const void *key, size_t key_bytes, const void *val, size_t val_bytes)
{
	rearm_ctx *r = ctx;
	if (key_bytes < 2 || key_bytes > sizeof r->keys[0] ||
	    ((const char *)key)[key_bytes - 1] != LEDGER__EVENTS__ALERT_KIND__ALERT_CREDITS_LOW)
		return true;
	Ledger__State__AlertSubscription *s = ledger__state__alert_subscription__unpack(NULL, val_bytes, val);
	if (!s)
		return !(r->corrupt = true);
	uint64_t threshold = s->credits ? s->credits : r->threshold_default;
	if (!s->armed && r->available >= threshold) {
		r->subs[r->n] = *s;
		r->subs[r->n].armed = true;
		memcpy(r->keys[r->n], key, key_bytes);
		r->key_bytes[r->n++] = key_bytes;
	}
	ledger__state__alert_subscription__free_unpacked(s, NULL);
	return r->n < 16;
}

/* Credits went up: CREDITS_LOW subscriptions whose threshold is met again may fire again. */
static ledger_err rearm(proj *p, proj_kv *kv, const char *firm_id, uint64_t available)
{
	Ledger__State__Preferences prefs;
	ledger_err err = proj_preferences_get_kv(p, kv, firm_id, &prefs);
	if (err)
		return err;
	rearm_ctx *r = calloc(1, sizeof *r);
	if (!r)
		return LEDGER_ERR_NOMEM;
	r->available = available;
	r->threshold_default = prefs.credits_low_threshold;
	do {
		r->n = 0;
		err = proj_kv_scan(kv, p->alert_subs, firm_id, strlen(firm_id) + 1, rearm_visit, r);
		for (size_t i = 0; !err && i < r->n; i++)
			err = proj_kv_put_msg(kv, p->alert_subs, r->keys[i], r->key_bytes[i], &r->subs[i].base);
	} while (!err && !r->corrupt && r->n == 16);
	err = err ? err : r->corrupt ? LEDGER_ERR_CORRUPT : LEDGER_OK;
	free(r);
	return err;
}

static ledger_err fold_credits(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__Event *ev)
{
	Ledger__State__Credits *c;
	ledger_err err = proj_credits_get_kv(p, kv, ev->firm_id, &c);
	if (err)
		return err;
	bool up = false;
	switch (ev->payload_case) {
	case LEDGER__EVENTS__EVENT__PAYLOAD_CREDITS_ADDED: {
		uint64_t n = ev->credits_added->credits;
		c->available += n, c->added += n, up = true;
		err = history(p, kv, seq, ev, "added", (int64_t)n, "", ev->credits_added->reference);
		break;
	}
	case LEDGER__EVENTS__EVENT__PAYLOAD_CREDITS_RESERVED: {
		uint64_t n = ev->credits_reserved->credits;
		err = c->available < n ? LEDGER_ERR_CORRUPT : LEDGER_OK;
		c->available -= n, c->reserved += n;
		if (!err)
			err = history(p, kv, seq, ev, "reserved", -(int64_t)n, ev->credits_reserved->collection_id, "");
		break;
	}
	case LEDGER__EVENTS__EVENT__PAYLOAD_CREDITS_RELEASED: {
		uint64_t n = ev->credits_released->credits;
		err = c->reserved < n ? LEDGER_ERR_CORRUPT : LEDGER_OK;
		c->reserved -= n, c->available += n, up = true;
		if (!err)
			err = history(p, kv, seq, ev, "released", (int64_t)n, ev->credits_released->collection_id, "");
		break;
	}
	default: /* a signature or seal spends one reserved credit */
		err = c->reserved < 1 ? LEDGER_ERR_CORRUPT : LEDGER_OK;
		c->reserved -= 1, c->used += 1;
		break;
	}
	if (!err)
		err = proj_kv_put_msg(kv, p->credits, ev->firm_id, strlen(ev->firm_id), &c->base);
	if (!err && up)
		err = rearm(p, kv, ev->firm_id, c->available);
	ledger__state__credits__free_unpacked(c, NULL);
	return err;
}

/* ----- folds: alerts ----- */

static ledger_err fold_alert(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__Event *ev)
{
	char key[PROJ_KEY_BYTES_MAX + 300];
	switch (ev->payload_case) {
	case LEDGER__EVENTS__EVENT__PAYLOAD_ALERT_SUBSCRIBED: {
		const Ledger__Events__AlertSubscribed *e = ev->alert_subscribed;
		Ledger__State__AlertSubscription s = LEDGER__STATE__ALERT_SUBSCRIPTION__INIT;
		s.kind = e->kind, s.days = e->days, s.credits = e->credits, s.armed = true;
		size_t n = sub_key(key, sizeof key, ev->firm_id, e->subscriber, e->kind);
		return n ? proj_kv_put_msg(kv, p->alert_subs, key, n, &s.base) : LEDGER_ERR_CORRUPT;
	}
	case LEDGER__EVENTS__EVENT__PAYLOAD_ALERT_UNSUBSCRIBED: {
		const Ledger__Events__AlertUnsubscribed *e = ev->alert_unsubscribed;
		size_t n = sub_key(key, sizeof key, ev->firm_id, e->subscriber, e->kind);
		return n ? proj_kv_del(kv, p->alert_subs, key, n) : LEDGER_ERR_CORRUPT;
	}
	default: break;
	}
	const Ledger__Events__AlertRaised *e = ev->alert_raised;
	Ledger__State__Alert a = LEDGER__STATE__ALERT__INIT;
	a.at_us = ev->committed_at_us, a.kind = e->kind, a.occasion = e->occasion, a.message = e->message;
	size_t n = proj_key2(key, sizeof key, ev->firm_id, e->subscriber);
	size_t o = strlen(e->occasion);
	if (!n || n + 9 > sizeof key || n + 1 + o > sizeof key)
		return LEDGER_ERR_CORRUPT;
	key[n] = '\0';
	ledger_put_u64_be((uint8_t *)key + n + 1, seq);
	ledger_err err = proj_kv_put_msg(kv, p->alerts, key, n + 9, &a.base);
	memcpy(key + n + 1, e->occasion, o);
	if (!err)
		err = proj_kv_put(kv, p->alert_marks, key, n + 1 + o, "", 0);
	if (err || e->kind != LEDGER__EVENTS__ALERT_KIND__ALERT_CREDITS_LOW)
		return err;
	/* Fired: it stays quiet until the credits are back above its threshold. */
	MDB_val v;
	size_t sn = sub_key(key, sizeof key, ev->firm_id, e->subscriber, e->kind);
	if (!sn || proj_kv_get(kv, p->alert_subs, key, sn, &v) != LEDGER_OK)
		return LEDGER_OK;
	Ledger__State__AlertSubscription *s = ledger__state__alert_subscription__unpack(NULL, v.mv_size, v.mv_data);
	if (!s)
		return LEDGER_ERR_CORRUPT;
	s->armed = false;
	err = proj_kv_put_msg(kv, p->alert_subs, key, sn, &s->base);
	ledger__state__alert_subscription__free_unpacked(s, NULL);
	return err;
}

/* ----- folds: statistics and contacts ----- */

static ledger_err count(proj *p, proj_kv *kv, const Ledger__Events__Event *ev, const char *who,
                        Ledger__Events__CollectionKind kind, size_t field_offset, uint64_t n)
{
	char month[11], key[PROJ_KEY_BYTES_MAX + 16];
	proj_paris_date(ev->committed_at_us, 0, month);
	month[7] = '\0';
	size_t f = strlen(ev->firm_id), w = strlen(who);
	if (f + 8 + w + 2 > sizeof key)
		return LEDGER_ERR_CORRUPT;
	memcpy(key, ev->firm_id, f + 1);
	memcpy(key + f + 1, month, 8);
	memcpy(key + f + 9, who, w + 1);
	key[f + 10 + w] = (char)kind;
	size_t n_key = f + 11 + w;
	MDB_val v;
	ledger_err err = proj_kv_get(kv, p->stats, key, n_key, &v);
	if (err == LEDGER_END)
		v = (MDB_val){0, ""};
	else if (err)
		return err;
	Ledger__State__Stats *s = ledger__state__stats__unpack(NULL, v.mv_size, v.mv_data);
	if (!s)
		return LEDGER_ERR_CORRUPT;
	*(uint64_t *)((char *)s + field_offset) += n;
	err = proj_kv_put_msg(kv, p->stats, key, n_key, &s->base);
	ledger__state__stats__free_unpacked(s, NULL);
	return err;
}

#define STAT(field) offsetof(Ledger__State__Stats, field)

static ledger_err fold_contact(proj *p, proj_kv *kv, const Ledger__Events__Event *ev)
{
	const Ledger__Events__SignerAdded *e = ev->signer_added;
	if (e->kind != LEDGER__EVENTS__SIGNER_KIND__SIGNER_EXTERNAL)
		return LEDGER_OK;
	char key[PROJ_KEY_BYTES_MAX];
	size_t n = proj_key2(key, sizeof key, ev->firm_id, e->email);
	MDB_val v;
	ledger_err err = proj_kv_get(kv, p->contacts, key, n, &v);
	if (err == LEDGER_END)
		v = (MDB_val){0, ""};
	else if (err)
		return err;
	Ledger__State__Contact *c = ledger__state__contact__unpack(NULL, v.mv_size, v.mv_data);
	if (!c)
		return LEDGER_ERR_CORRUPT;
	char *old_email = c->email, *old_name = c->name;
	Ledger__Events__SealedRef *old_phone = c->phone;
	c->email = e->email, c->name = e->name, c->phone = e->phone;
	c->collections++;
	c->last_at_us = ev->committed_at_us;
	err = proj_kv_put_msg(kv, p->contacts, key, n, &c->base);
	c->email = old_email, c->name = old_name, c->phone = old_phone;
	ledger__state__contact__free_unpacked(c, NULL);
	return err;
}

/* Statistics of collection events; the collection's fold has already run. */
static ledger_err fold_stats(proj *p, proj_kv *kv, const Ledger__Events__Event *ev)
{
	if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_CREATED)
		return count(p, kv, ev, ev->actor, ev->collection_created->kind, STAT(created), 1);
	const char *id = ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED
	                     ? ev->document_signed->collection_id
	                     : ev->collection_transitioned->collection_id;
	proj_arena *arena = proj_arena_new();
	if (!arena)
		return LEDGER_ERR_NOMEM;
	ProtobufCAllocator alloc;
	proj_arena_allocator(arena, &alloc);
	Ledger__State__Collection *c;
	ledger_err err = proj_collection_get_kv(p, kv, ev->firm_id, id, &alloc, &c);
	if (!err && ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED) {
		err = count(p, kv, ev, c->created_by, c->kind,
		            ev->document_signed->seal ? STAT(seals) : STAT(signatures), 1);
		if (!err)
			err = count(p, kv, ev, c->created_by, c->kind, STAT(credits_used), 1);
	} else if (!err && ev->collection_transitioned->to == LEDGER__EVENTS__COLLECTION_STATE__STATE_SENT) {
		err = count(p, kv, ev, ev->actor, c->kind, STAT(sent), 1);
	} else if (!err && ev->collection_transitioned->to == LEDGER__EVENTS__COLLECTION_STATE__STATE_COMPLETED) {
		err = count(p, kv, ev, c->created_by, c->kind, STAT(completed), 1);
	}
	proj_arena_free(arena);
	return err;
}

ledger_err proj_fold_platform(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__Event *ev)
{
	switch (ev->payload_case) {
	case LEDGER__EVENTS__EVENT__PAYLOAD_CREDITS_ADDED:
	case LEDGER__EVENTS__EVENT__PAYLOAD_CREDITS_RESERVED:
	case LEDGER__EVENTS__EVENT__PAYLOAD_CREDITS_RELEASED: return fold_credits(p, kv, seq, ev);
	case LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED: {
		ledger_err err = fold_credits(p, kv, seq, ev);
		return err ? err : fold_stats(p, kv, ev);
	}
	case LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_CREATED:
	case LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_TRANSITIONED: return fold_stats(p, kv, ev);
	case LEDGER__EVENTS__EVENT__PAYLOAD_SIGNER_ADDED: return fold_contact(p, kv, ev);
	case LEDGER__EVENTS__EVENT__PAYLOAD_PREFERENCES_SET:
		return proj_kv_put_msg(kv, p->preferences, ev->firm_id, strlen(ev->firm_id),
		                       &(Ledger__State__Preferences){
		                           PROTOBUF_C_MESSAGE_INIT(&ledger__state__preferences__descriptor),
		                           ev->preferences_set->collection_expiry_days,
		                           ev->preferences_set->reminder_every_days, ev->preferences_set->default_order,
		                           ev->preferences_set->credits_low_threshold, ev->preferences_set->sender_name}
		                            .base);
	case LEDGER__EVENTS__EVENT__PAYLOAD_ALERT_SUBSCRIBED:
	case LEDGER__EVENTS__EVENT__PAYLOAD_ALERT_UNSUBSCRIBED:
	case LEDGER__EVENTS__EVENT__PAYLOAD_ALERT_RAISED: return fold_alert(p, kv, seq, ev);
	default: return LEDGER_OK;
	}
}

/* ----- credits and alerts for the other commands ----- */

ledger_err proj_alert_raise(proj *p, ledger_txn *t, const char *actor, const char *request_id, const char *firm_id,
                            const char *subscriber, Ledger__Events__AlertKind kind, const char *occasion,
                            const char *message)
{
	MDB_txn *txn = ledger_txn_mdb(t);
	char key[PROJ_KEY_BYTES_MAX + 300];
	MDB_val v;
	size_t n = sub_key(key, sizeof key, firm_id, subscriber, kind);
	ledger_err err = n ? proj_get_raw(txn, p->alert_subs, key, n, &v) : LEDGER_END;
	if (err)
		return err == LEDGER_END ? LEDGER_OK : err; /* not subscribed */
	n = proj_key2(key, sizeof key, firm_id, subscriber);
	size_t o = strlen(occasion);
	if (n + 1 + o > sizeof key)
		return LEDGER_ERR_INVALID;
	key[n] = '\0';
	memcpy(key + n + 1, occasion, o);
	err = proj_get_raw(txn, p->alert_marks, key, n + 1 + o, &v);
	if (err != LEDGER_END)
		return err; /* raised already for this occasion */
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
	Ledger__Events__AlertRaised a = LEDGER__EVENTS__ALERT_RAISED__INIT;
	a.subscriber = (char *)subscriber;
	a.kind = kind;
	a.occasion = (char *)occasion;
	a.message = (char *)message;
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_ALERT_RAISED;
	ev.alert_raised = &a;
	return proj_emit(p, t, actor, request_id, firm_id, &ev, NULL, NULL);
}

/* CREDITS_LOW: every armed subscription of the firm whose threshold the balance fell below. */
static ledger_err credits_low(proj_emitter *em, const char *firm_id, uint64_t available)
{
	MDB_txn *txn = ledger_txn_mdb(em->t);
	Ledger__State__Preferences prefs;
	ledger_err err = proj_preferences_get(em->p, txn, firm_id, &prefs);
	MDB_cursor *cur;
	if (err || (err = ledger_mdb_err(mdb_cursor_open(txn, em->p->alert_subs, &cur))))
		return err;
	/* Collected first: raising writes to alert_subs under the cursor. */
	char who[8][PROJ_EMAIL_BYTES_MAX + 1];
	size_t n = 0, prefix = strlen(firm_id) + 1;
	MDB_val k = {prefix, (void *)firm_id}, v;
	for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && n < 8;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < prefix + 2 || memcmp(k.mv_data, firm_id, prefix) != 0)
			break;
		if (((const char *)k.mv_data)[k.mv_size - 1] != LEDGER__EVENTS__ALERT_KIND__ALERT_CREDITS_LOW)
			continue;
		Ledger__State__AlertSubscription *s =
		    ledger__state__alert_subscription__unpack(NULL, v.mv_size, v.mv_data);
		if (s && s->armed && available < (s->credits ? s->credits : prefs.credits_low_threshold)) {
			snprintf(who[n], sizeof who[n], "%.*s", (int)(k.mv_size - prefix - 2),
			         (const char *)k.mv_data + prefix);
			n++;
		}
		if (s)
			ledger__state__alert_subscription__free_unpacked(s, NULL);
	}
	mdb_cursor_close(cur);
	char occasion[48], message[160];
	snprintf(occasion, sizeof occasion, "credits-low:%llu", (unsigned long long)ledger_txn_next_seq(em->t));
	snprintf(message, sizeof message, "firm %s has %llu credits left", firm_id, (unsigned long long)available);
	for (size_t i = 0; !err && i < n; i++)
		err = proj_alert_raise(em->p, em->t, em->actor->subject, em->request_id, firm_id, who[i],
		                       LEDGER__EVENTS__ALERT_KIND__ALERT_CREDITS_LOW, occasion, message);
	return err;
}

ledger_err proj_credits_reserve(proj_emitter *em, const char *firm_id, const char *collection_id, uint64_t credits,
                                bool *ok)
{
	Ledger__State__Credits *c;
	ledger_err err = proj_credits_get(em->p, ledger_txn_mdb(em->t), firm_id, &c);
	if (err)
		return err;
	uint64_t available = c->available;
	ledger__state__credits__free_unpacked(c, NULL);
	*ok = available >= credits;
	if (!*ok) {
		proj_error(em->reply, em->arena, E(INSUFFICIENT_CREDITS), NULL,
		           "%llu credits needed, %llu available in firm %s", (unsigned long long)credits,
		           (unsigned long long)available, firm_id);
		return LEDGER_OK;
	}
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
	Ledger__Events__CreditsReserved r = LEDGER__EVENTS__CREDITS_RESERVED__INIT;
	r.collection_id = (char *)collection_id;
	r.credits = credits;
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_CREDITS_RESERVED;
	ev.credits_reserved = &r;
	if ((err = proj_emitter_emit(em, firm_id, &ev)))
		return err;
	return credits_low(em, firm_id, available - credits);
}

ledger_err proj_credits_release(proj_emitter *em, const Ledger__State__Collection *c,
                                Ledger__Events__CollectionState reason)
{
	/* What was reserved, less what signatures spent (counted in the state as they happened). */
	Ledger__State__Collection *now;
	ProtobufCAllocator alloc;
	proj_arena_allocator(em->arena, &alloc);
	ledger_err err = proj_collection_get(em->p, ledger_txn_mdb(em->t), c->firm_id, c->collection_id, &alloc, &now);
	if (err)
		return err;
	if (now->credits_reserved <= now->credits_used)
		return LEDGER_OK;
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
	Ledger__Events__CreditsReleased r = LEDGER__EVENTS__CREDITS_RELEASED__INIT;
	r.collection_id = now->collection_id;
	r.credits = now->credits_reserved - now->credits_used;
	r.reason = reason;
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_CREDITS_RELEASED;
	ev.credits_released = &r;
	return proj_emitter_emit(em, c->firm_id, &ev);
}
