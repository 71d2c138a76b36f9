/*
 * platform.c: the folds of the guide's platform actions (docs/platform.md): credits on a firm's
 * account, firm preferences, alerts, statistics and the contacts base. Statistics and contacts
 * are folded from the collections' events, so they replay like everything else. The commands
 * are platform_commands.c's, the queries platform_queries.c's.
 */
#include "read_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ----- keys ----- */

static size_t firm_seq_key(char *buf, size_t cap, const char *firm_id, uint64_t seq)
{
	size_t n = strlen(firm_id);
	if (n + 9 > cap)
		return 0;
	memcpy(buf, firm_id, n + 1);
	ledger_put_u64_be((uint8_t *)buf + n + 1, seq);
	return n + 9;
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
		size_t n = proj_key_pair_tagged(key, sizeof key, ev->firm_id, e->subscriber, e->kind);
		return n ? proj_kv_put_msg(kv, p->alert_subs, key, n, &s.base) : LEDGER_ERR_CORRUPT;
	}
	case LEDGER__EVENTS__EVENT__PAYLOAD_ALERT_UNSUBSCRIBED: {
		const Ledger__Events__AlertUnsubscribed *e = ev->alert_unsubscribed;
		size_t n = proj_key_pair_tagged(key, sizeof key, ev->firm_id, e->subscriber, e->kind);
		return n ? proj_kv_del(kv, p->alert_subs, key, n) : LEDGER_ERR_CORRUPT;
	}
	default: break;
	}
	const Ledger__Events__AlertRaised *e = ev->alert_raised;
	Ledger__State__Alert a = LEDGER__STATE__ALERT__INIT;
	a.at_us = ev->committed_at_us, a.kind = e->kind, a.occasion = e->occasion, a.message = e->message;
	size_t n = proj_key_pair(key, sizeof key, ev->firm_id, e->subscriber);
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
	size_t sn = proj_key_pair_tagged(key, sizeof key, ev->firm_id, e->subscriber, e->kind);
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
	Ledger__State__Stats *s;
	ledger_err err = proj_kv_get_msg_or_empty(kv, p->stats, key, n_key, &ledger__state__stats__descriptor,
	                                          (ProtobufCMessage **)&s);
	if (err)
		return err;
	*(uint64_t *)((char *)s + field_offset) += n;
	err = proj_kv_put_msg(kv, p->stats, key, n_key, &s->base);
	ledger__state__stats__free_unpacked(s, NULL);
	return err;
}

#define STAT(field) offsetof(Ledger__State__Stats, field)

/* One entry per external signer added: events name them by id only (contacts_export.c opens
 * and merges them). */
static ledger_err fold_contact(proj *p, proj_kv *kv, const Ledger__Events__Event *ev)
{
	const Ledger__Events__SignerAdded *e = ev->signer_added;
	if (e->kind != LEDGER__EVENTS__SIGNER_KIND__SIGNER_EXTERNAL)
		return LEDGER_OK;
	char key[PROJ_KEY_BYTES_MAX];
	size_t n = proj_key_pair(key, sizeof key, ev->firm_id, e->signer_id);
	Ledger__State__Contact c = LEDGER__STATE__CONTACT__INIT;
	c.signer = e->signer_id;
	c.phone = e->phone;
	c.sealed_email = e->sealed_email;
	c.sealed_name = e->sealed_name;
	c.collections = 1;
	c.last_at_us = ev->committed_at_us;
	return proj_kv_put_msg(kv, p->contacts, key, n, &c.base);
}

/* Statistics of collection events; the collection's fold has already run. */
static ledger_err fold_stats(proj *p, proj_kv *kv, const Ledger__Events__Event *ev)
{
	if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_CREATED)
		return count(p, kv, ev, ev->actor, ev->collection_created->kind, STAT(created), 1);
	const char *id = ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED
	                     ? ev->document_signed->collection_id
	                     : ev->collection_transitioned->collection_id;
	proj_arena *arena;
	Ledger__State__Collection *c;
	ledger_err err = proj_collection_get_arena_kv(p, kv, ev->firm_id, id, &arena, &c);
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
		                           ev->preferences_set->credits_low_threshold, ev->preferences_set->sender_name,
		                           ev->preferences_set->signature_level}
		                            .base);
	case LEDGER__EVENTS__EVENT__PAYLOAD_ALERT_SUBSCRIBED:
	case LEDGER__EVENTS__EVENT__PAYLOAD_ALERT_UNSUBSCRIBED:
	case LEDGER__EVENTS__EVENT__PAYLOAD_ALERT_RAISED: return fold_alert(p, kv, seq, ev);
	default: return LEDGER_OK;
	}
}
