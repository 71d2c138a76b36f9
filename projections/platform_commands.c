/*
 * platform_commands.c: the platform actions' commands (credit, preferences, alert
 * subscriptions), and what other commands ask of the platform: reserving and releasing a
 * collection's credits, raising alerts (docs/platform.md).
 */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CREDITS_ADD_MAX 1000000000u
#define ALERT_DAYS_MAX  365u

/* ----- commands ----- */

static ledger_err credits_add(proj_emitter *em, const Ledger__Api__CreditsAdd *c)
{
	ledger_err err;
	if (!proj_authorise(em, c->firm_id, "platform.credit", &err))
		return err;
	if (c->credits == 0 || c->credits > CREDITS_ADD_MAX) {
		proj_error(em->reply, em->arena, ERROR_CODE(INVALID_ARGUMENT), "credits", "credits must be 1 to %u",
		           CREDITS_ADD_MAX);
		return LEDGER_OK;
	}
	if (!proj_text_valid(c->reference, PROJ_NAME_BYTES_MAX)) {
		proj_error(em->reply, em->arena, ERROR_CODE(INVALID_ARGUMENT), "reference",
		           "reference must be at most %u bytes of text", PROJ_NAME_BYTES_MAX);
		return LEDGER_OK;
	}
	Ledger__Events__CreditsAdded a = LEDGER__EVENTS__CREDITS_ADDED__INIT;
	a.credits = c->credits;
	a.reference = c->reference;
	Ledger__Events__Event ev = PROJ_EVENT(CREDITS_ADDED, credits_added, &a);
	return proj_emitter_emit(em, c->firm_id, &ev);
}

/* The stored preferences, sender name included (in arena). */
static ledger_err preferences_read(proj *p, MDB_txn *txn, const char *firm_id, proj_arena *arena,
                                   Ledger__State__Preferences *out)
{
	ledger_err err = proj_preferences_get(p, txn, firm_id, out);
	MDB_val v;
	if (err || proj_get_raw(txn, p->preferences, firm_id, strlen(firm_id), &v) != LEDGER_OK)
		return err;
	ProtobufCAllocator alloc;
	proj_arena_allocator(arena, &alloc);
	Ledger__State__Preferences *stored = ledger__state__preferences__unpack(&alloc, v.mv_size, v.mv_data);
	if (!stored)
		return LEDGER_ERR_CORRUPT;
	*out = *stored;
	return LEDGER_OK;
}

static ledger_err preferences_update(proj_emitter *em, const Ledger__Api__PreferencesUpdate *u)
{
	ledger_err err;
	if (!proj_authorise(em, u->firm_id, "platform.firm_settings", &err))
		return err;
	const char *field = NULL;
	if (u->collection_expiry_days > PROJ_COLLECTION_EXPIRY_DAYS_MAX)
		field = "collection_expiry_days";
	else if (u->reminder_every_days > PROJ_REMINDER_EVERY_DAYS_MAX)
		field = "reminder_every_days";
	else if (u->default_order > LEDGER__EVENTS__SIGNING_ORDER__ORDER_PARALLEL)
		field = "default_order";
	else if (u->credits_low_threshold > CREDITS_ADD_MAX)
		field = "credits_low_threshold";
	else if (!proj_text_valid(u->sender_name, PROJ_NAME_BYTES_MAX))
		field = "sender_name";
	else if (u->signature_level < LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_DEFAULT ||
	         u->signature_level > LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_B_LTA)
		field = "signature_level";
	if (field) {
		proj_error(em->reply, em->arena, ERROR_CODE(INVALID_ARGUMENT), field,
		           "%s is out of range (expiry 1-%u days, reminders 0-%u days, names up to %u bytes)", field,
		           PROJ_COLLECTION_EXPIRY_DAYS_MAX, PROJ_REMINDER_EVERY_DAYS_MAX, PROJ_NAME_BYTES_MAX);
		return LEDGER_OK;
	}
	Ledger__State__Preferences now;
	if ((err = preferences_read(em->p, ledger_txn_mdb(em->t), u->firm_id, em->arena, &now)))
		return err;
	Ledger__Events__PreferencesSet s = LEDGER__EVENTS__PREFERENCES_SET__INIT;
	s.collection_expiry_days = u->collection_expiry_days ? u->collection_expiry_days : now.collection_expiry_days;
	s.reminder_every_days = u->clear_reminders       ? 0
	                        : u->reminder_every_days ? u->reminder_every_days
	                                                 : now.reminder_every_days;
	s.default_order = u->default_order ? u->default_order : now.default_order;
	s.credits_low_threshold = u->credits_low_threshold ? u->credits_low_threshold : now.credits_low_threshold;
	s.sender_name = u->sender_name[0] ? u->sender_name : now.sender_name;
	s.signature_level = u->signature_level ? u->signature_level : now.signature_level;
	Ledger__Events__Event ev = PROJ_EVENT(PREFERENCES_SET, preferences_set, &s);
	return proj_emitter_emit(em, u->firm_id, &ev);
}

static bool alert_kind_valid(Ledger__Events__AlertKind k)
{
	return k >= LEDGER__EVENTS__ALERT_KIND__ALERT_DELEGATION_EXPIRING &&
	       k <= LEDGER__EVENTS__ALERT_KIND__ALERT_COLLECTION_FINISHED;
}

static ledger_err alert_subscribe(proj_emitter *em, const Ledger__Api__AlertSubscribe *a)
{
	ledger_err err;
	if (!proj_authorise(em, a->firm_id, "platform.alerts", &err))
		return err;
	bool timed = a->kind == LEDGER__EVENTS__ALERT_KIND__ALERT_DELEGATION_EXPIRING ||
	             a->kind == LEDGER__EVENTS__ALERT_KIND__ALERT_COLLECTION_EXPIRING;
	if (!alert_kind_valid(a->kind)) {
		proj_error(em->reply, em->arena, ERROR_CODE(INVALID_ARGUMENT), "kind",
		           "kind must be delegation_expiring, credits_low, collection_expiring or collection_finished");
		return LEDGER_OK;
	}
	if (timed ? a->days < 1 || a->days > ALERT_DAYS_MAX : a->days != 0) {
		proj_error(em->reply, em->arena, ERROR_CODE(INVALID_ARGUMENT), "days",
		           timed ? "days must be 1 to %u" : "days applies to the expiring kinds only (max %u)",
		           ALERT_DAYS_MAX);
		return LEDGER_OK;
	}
	if (a->credits && (a->kind != LEDGER__EVENTS__ALERT_KIND__ALERT_CREDITS_LOW || a->credits > CREDITS_ADD_MAX)) {
		proj_error(em->reply, em->arena, ERROR_CODE(INVALID_ARGUMENT), "credits",
		           "credits applies to credits_low only, at most %u", CREDITS_ADD_MAX);
		return LEDGER_OK;
	}
	Ledger__Events__AlertSubscribed s = LEDGER__EVENTS__ALERT_SUBSCRIBED__INIT;
	s.subscriber = (char *)em->actor->subject;
	s.kind = a->kind, s.days = a->days, s.credits = a->credits;
	Ledger__Events__Event ev = PROJ_EVENT(ALERT_SUBSCRIBED, alert_subscribed, &s);
	return proj_emitter_emit(em, a->firm_id, &ev);
}

static ledger_err alert_unsubscribe(proj_emitter *em, const Ledger__Api__AlertUnsubscribe *a)
{
	ledger_err err;
	if (!proj_authorise(em, a->firm_id, "platform.alerts", &err))
		return err;
	char key[PROJ_KEY_BYTES_MAX + 2];
	size_t n = proj_key_pair(key, sizeof key, a->firm_id, em->actor->subject);
	key[n] = '\0';
	key[n + 1] = (char)a->kind;
	MDB_val v;
	if (!alert_kind_valid(a->kind) ||
	    proj_get_raw(ledger_txn_mdb(em->t), em->p->alert_subs, key, n + 2, &v) != LEDGER_OK) {
		proj_error(em->reply, em->arena, ERROR_CODE(NOT_FOUND), "kind",
		           "%s has no subscription of that kind in firm %s", em->actor->subject, a->firm_id);
		return LEDGER_OK;
	}
	Ledger__Events__AlertUnsubscribed u = LEDGER__EVENTS__ALERT_UNSUBSCRIBED__INIT;
	u.subscriber = (char *)em->actor->subject;
	u.kind = a->kind;
	Ledger__Events__Event ev = PROJ_EVENT(ALERT_UNSUBSCRIBED, alert_unsubscribed, &u);
	return proj_emitter_emit(em, a->firm_id, &ev);
}

/* ----- for the other commands: credits and alerts ----- */

ledger_err proj_alert_raise(proj *p, ledger_txn *t, const char *actor, const char *request_id, const char *firm_id,
                            const char *subscriber, Ledger__Events__AlertKind kind, const char *occasion,
                            const char *message)
{
	MDB_txn *txn = ledger_txn_mdb(t);
	char key[PROJ_KEY_BYTES_MAX + 300];
	MDB_val v;
	size_t n = proj_key_pair_tagged(key, sizeof key, firm_id, subscriber, kind);
	ledger_err err = n ? proj_get_raw(txn, p->alert_subs, key, n, &v) : LEDGER_END;
	if (err)
		return err == LEDGER_END ? LEDGER_OK : err; /* not subscribed */
	n = proj_key_pair(key, sizeof key, firm_id, subscriber);
	size_t o = strlen(occasion);
	if (n + 1 + o > sizeof key)
		return LEDGER_ERR_INVALID;
	key[n] = '\0';
	memcpy(key + n + 1, occasion, o);
	err = proj_get_raw(txn, p->alert_marks, key, n + 1 + o, &v);
	if (err != LEDGER_END)
		return err; /* raised already for this occasion */
	Ledger__Events__AlertRaised a = LEDGER__EVENTS__ALERT_RAISED__INIT;
	a.subscriber = (char *)subscriber;
	a.kind = kind;
	a.occasion = (char *)occasion;
	a.message = (char *)message;
	Ledger__Events__Event ev = PROJ_EVENT(ALERT_RAISED, alert_raised, &a);
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
		proj_error(em->reply, em->arena, ERROR_CODE(INSUFFICIENT_CREDITS), NULL,
		           "%llu credits needed, %llu available in firm %s", (unsigned long long)credits,
		           (unsigned long long)available, firm_id);
		return LEDGER_OK;
	}
	Ledger__Events__CreditsReserved r = LEDGER__EVENTS__CREDITS_RESERVED__INIT;
	r.collection_id = (char *)collection_id;
	r.credits = credits;
	Ledger__Events__Event ev = PROJ_EVENT(CREDITS_RESERVED, credits_reserved, &r);
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
	if (now->credits_reserved <= now->credits_used + now->credits_released)
		return LEDGER_OK;
	Ledger__Events__CreditsReleased r = LEDGER__EVENTS__CREDITS_RELEASED__INIT;
	r.collection_id = now->collection_id;
	r.credits = now->credits_reserved - now->credits_used - now->credits_released;
	r.reason = reason;
	Ledger__Events__Event ev = PROJ_EVENT(CREDITS_RELEASED, credits_released, &r);
	return proj_emitter_emit(em, c->firm_id, &ev);
}

/* ----- dispatch ----- */

bool proj_is_platform_command(const Ledger__Api__Request *req)
{
	switch (req->body_case) {
	case LEDGER__API__REQUEST__BODY_CREDITS_ADD:
	case LEDGER__API__REQUEST__BODY_PREFERENCES_UPDATE:
	case LEDGER__API__REQUEST__BODY_ALERT_SUBSCRIBE:
	case LEDGER__API__REQUEST__BODY_ALERT_UNSUBSCRIBE: return true;
	default: return false;
	}
}

ledger_err proj_decide_platform(proj_emitter *em, const Ledger__Api__Request *req)
{
	switch (req->body_case) {
	case LEDGER__API__REQUEST__BODY_CREDITS_ADD: return credits_add(em, req->credits_add);
	case LEDGER__API__REQUEST__BODY_PREFERENCES_UPDATE: return preferences_update(em, req->preferences_update);
	case LEDGER__API__REQUEST__BODY_ALERT_SUBSCRIBE: return alert_subscribe(em, req->alert_subscribe);
	case LEDGER__API__REQUEST__BODY_ALERT_UNSUBSCRIBE: return alert_unsubscribe(em, req->alert_unsubscribe);
	default: return LEDGER_ERR_INVALID;
	}
}
