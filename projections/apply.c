/*
 * apply.c: the folds. Each event kind updates the projection databases; nothing else writes
 * them. Values are protobuf-c encodings of state.proto messages, which are deterministic for
 * equal structs, so a replay from event 1 yields the same bytes as the live service.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const proj_db_names[] = {"accounts", "firms",         "firms_by_ec",    "delegations", "received",
                                     "expiries", "registrations", "collections",    "timers",      "sign_queue",
                                     "doc_refs", "credits",       "credit_history", "preferences", "alert_subs",
                                     "alerts",   "alert_marks",   "stats",          "contacts",    NULL};

/* ----- schema version and rebuild ----- */

/* The handles of the databases named by proj_db_names, in the same order. */
static size_t db_slots(proj *p, MDB_dbi *out[PROJ_DBS_MAX])
{
	MDB_dbi *slots[] = {&p->accounts, &p->firms,         &p->firms_by_ec,    &p->delegations, &p->received,
	                    &p->expiries, &p->registrations, &p->collections,    &p->timers,      &p->sign_queue,
	                    &p->doc_refs, &p->credits,       &p->credit_history, &p->preferences, &p->alert_subs,
	                    &p->alerts,   &p->alert_marks,   &p->stats,          &p->contacts};
	size_t n = sizeof slots / sizeof slots[0];
	_Static_assert(sizeof slots / sizeof slots[0] == sizeof proj_db_names / sizeof proj_db_names[0] - 1,
	               "one handle per name");
	_Static_assert(sizeof slots / sizeof slots[0] <= PROJ_DBS_MAX, "PROJ_DBS_MAX");
	memcpy(out, slots, sizeof slots);
	return n;
}

size_t proj_db_handles(proj *p, MDB_dbi *out, size_t max)
{
	MDB_dbi *slots[PROJ_DBS_MAX];
	size_t n = db_slots(p, slots);
	for (size_t i = 0; i < n && i < max; i++)
		out[i] = *slots[i];
	return n < max ? n : max;
}

ledger_err proj_put_version(proj *p, MDB_txn *txn)
{
	uint8_t v[4] = {0, 0, 0, PROJ_SCHEMA_VERSION};
	MDB_val k = {7, "version"}, val = {sizeof v, v};
	return ledger_mdb_err(mdb_put(txn, p->meta, &k, &val, 0));
}

/* Folds the projections again from event 1 if an older build folded them. Runs before the
 * committer starts, so nothing appends to the log meanwhile. */
static ledger_err rebuild_if_stale(proj *p)
{
	MDB_txn *txn;
	ledger_err err = ledger_read_begin(p->l, &txn);
	if (err)
		return err;
	MDB_val k = {7, "version"}, v;
	bool current =
	    mdb_get(txn, p->meta, &k, &v) == 0 && v.mv_size == 4 && ((uint8_t *)v.mv_data)[3] == PROJ_SCHEMA_VERSION;
	ledger_read_end(p->l, txn);
	if (current)
		return LEDGER_OK;
	proj_replay_stats stats;
	proj_replay_options o = {.hash_seed = p->rebuild_hash_seed};
	return proj_replay(p, p->l, NULL, &o, &stats);
}

ledger_err proj_open(ledger *l, uint64_t rebuild_hash_seed, proj **out)
{
	proj *p = calloc(1, sizeof *p);
	if (!p)
		return LEDGER_ERR_NOMEM;
	p->l = l;
	p->rebuild_hash_seed = rebuild_hash_seed;
	MDB_dbi *dbis[PROJ_DBS_MAX];
	db_slots(p, dbis);
	ledger_err err = ledger_blobs_open(l);
	for (size_t i = 0; !err && proj_db_names[i]; i++)
		err = ledger_dbi_open(l, proj_db_names[i], 0, dbis[i]);
	/* Beside the log (personal data): absent from audit copies is fine. */
	p->has_side_dbs = !err && ledger_dbi_open(l, "subject_keys", 0, &p->subject_keys) == LEDGER_OK &&
	                  ledger_dbi_open(l, "sealed", 0, &p->sealed) == LEDGER_OK;
	if (!err && ledger_dbi_open(l, "proj_meta", 0, &p->meta) == LEDGER_OK && !ledger_read_only(l))
		err = rebuild_if_stale(p);
	if (err) {
		free(p);
		return err;
	}
	*out = p;
	return LEDGER_OK;
}

void proj_close(proj *p)
{
	free(p);
}

size_t proj_key2(char *buf, size_t cap, const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	if (na + nb + 1 > cap)
		return 0;
	memcpy(buf, a, na);
	buf[na] = '\0';
	memcpy(buf + na + 1, b, nb);
	return na + 1 + nb;
}

size_t proj_key3(char *buf, size_t cap, const char *a, const char *b, Ledger__Events__Right r)
{
	size_t n = proj_key2(buf, cap, a, b);
	if (n == 0 || n + 2 > cap)
		return 0;
	buf[n] = '\0';
	buf[n + 1] = (char)r;
	return n + 2;
}

/* Index entries: the key is the information, the value is empty. */
static ledger_err put_empty(proj_kv *kv, MDB_dbi dbi, const void *key, size_t key_bytes)
{
	return proj_kv_put(kv, dbi, key, key_bytes, "", 0);
}

static ledger_err delegation_get(proj *p, proj_kv *kv, const char *firm_id, const char *who,
                                 Ledger__Events__Right right, Ledger__State__Delegation **out)
{
	char key[PROJ_KEY_BYTES_MAX];
	size_t n = proj_key3(key, sizeof key, firm_id, who, right);
	if (n == 0)
		return LEDGER_END;
	return proj_kv_get_msg(kv, p->delegations, key, n, &ledger__state__delegation__descriptor,
	                       (ProtobufCMessage **)out);
}

static ledger_err fold_account(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__AccountRegistered *e)
{
	Ledger__State__Account a = LEDGER__STATE__ACCOUNT__INIT;
	a.email = e->email;
	a.name = e->name;
	a.is_ec = e->is_ec;
	a.registered_seq = seq;
	return proj_kv_put_msg(kv, p->accounts, e->email, strlen(e->email), &a.base);
}

static ledger_err fold_firm(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__FirmCreated *e)
{
	Ledger__State__Firm f = LEDGER__STATE__FIRM__INIT;
	f.firm_id = e->firm_id;
	f.name = e->name;
	f.ec_email = e->ec_email;
	f.created_seq = seq;
	char key[PROJ_KEY_BYTES_MAX];
	size_t n = proj_key2(key, sizeof key, e->ec_email, e->firm_id);
	if (n == 0)
		return LEDGER_ERR_CORRUPT;
	ledger_err err = proj_kv_put_msg(kv, p->firms, e->firm_id, strlen(e->firm_id), &f.base);
	return err ? err : put_empty(kv, p->firms_by_ec, key, n);
}

/* The expiries index key: the instant first, so a cursor walks them in time order. */
static size_t expiry_key(char *buf, size_t cap, int64_t at_us, const char *firm_id, const char *who,
                         Ledger__Events__Right right)
{
	if (cap < 8)
		return 0;
	ledger_put_u64_be((uint8_t *)buf, (uint64_t)at_us);
	size_t n = proj_key3(buf + 8, cap - 8, firm_id, who, right);
	return n ? n + 8 : 0;
}

/* Removes the open expiry of (firm, who, right), if there is one. */
static ledger_err drop_expiry(proj *p, proj_kv *kv, const char *firm_id, const char *who, Ledger__Events__Right right)
{
	Ledger__State__Delegation *d;
	ledger_err err = delegation_get(p, kv, firm_id, who, right, &d);
	if (err == LEDGER_END)
		return LEDGER_OK;
	if (err)
		return err;
	char key[PROJ_KEY_BYTES_MAX + 8];
	size_t n = d->expired_seq ? 0 : expiry_key(key, sizeof key, d->expires_at_us, firm_id, who, right);
	ledger__state__delegation__free_unpacked(d, NULL);
	return n ? proj_kv_del(kv, p->expiries, key, n) : LEDGER_OK;
}

static ledger_err fold_grant(proj *p, proj_kv *kv, uint64_t seq, const char *actor,
                             const Ledger__Events__DelegationGranted *e)
{
	Ledger__State__Delegation d = LEDGER__STATE__DELEGATION__INIT;
	d.granted_by = (char *)actor;
	d.expires_on = e->expires_on;
	d.expires_at_us = e->expires_at_us;
	d.granted_seq = seq;
	char key[PROJ_KEY_BYTES_MAX], rkey[PROJ_KEY_BYTES_MAX], xkey[PROJ_KEY_BYTES_MAX + 8];
	size_t n = proj_key3(key, sizeof key, e->firm_id, e->collaborator, e->right);
	size_t rn = proj_key3(rkey, sizeof rkey, e->collaborator, e->firm_id, e->right);
	size_t xn = expiry_key(xkey, sizeof xkey, e->expires_at_us, e->firm_id, e->collaborator, e->right);
	if (n == 0 || rn == 0 || xn == 0)
		return LEDGER_ERR_CORRUPT;
	ledger_err err = drop_expiry(p, kv, e->firm_id, e->collaborator, e->right); /* a renewal */
	if (!err)
		err = proj_kv_put_msg(kv, p->delegations, key, n, &d.base);
	if (!err)
		err = put_empty(kv, p->received, rkey, rn);
	return err ? err : put_empty(kv, p->expiries, xkey, xn);
}

static ledger_err fold_revoke(proj *p, proj_kv *kv, const Ledger__Events__DelegationRevoked *e)
{
	char key[PROJ_KEY_BYTES_MAX], rkey[PROJ_KEY_BYTES_MAX];
	size_t n = proj_key3(key, sizeof key, e->firm_id, e->collaborator, e->right);
	size_t rn = proj_key3(rkey, sizeof rkey, e->collaborator, e->firm_id, e->right);
	if (n == 0 || rn == 0)
		return LEDGER_ERR_CORRUPT;
	ledger_err err = drop_expiry(p, kv, e->firm_id, e->collaborator, e->right);
	if (!err)
		err = proj_kv_del(kv, p->delegations, key, n);
	return err ? err : proj_kv_del(kv, p->received, rkey, rn);
}

/* An expired delegation stays listed (as expired) until renewed or revoked. */
static ledger_err fold_expired(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__DelegationExpired *e)
{
	Ledger__State__Delegation *d;
	ledger_err err = delegation_get(p, kv, e->firm_id, e->collaborator, e->right, &d);
	if (err == LEDGER_END)
		return LEDGER_OK; /* revoked in the meantime */
	if (err)
		return err;
	err = drop_expiry(p, kv, e->firm_id, e->collaborator, e->right);
	char key[PROJ_KEY_BYTES_MAX];
	size_t n = proj_key3(key, sizeof key, e->firm_id, e->collaborator, e->right);
	d->expired_seq = seq;
	if (!err)
		err = n ? proj_kv_put_msg(kv, p->delegations, key, n, &d->base) : LEDGER_ERR_CORRUPT;
	ledger__state__delegation__free_unpacked(d, NULL);
	return err;
}

ledger_err proj_fold_event(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__Event *ev)
{
	ledger_err err;
	switch (ev->payload_case) {
	case LEDGER__EVENTS__EVENT__PAYLOAD_LOG_CREATED: err = LEDGER_OK; break;
	case LEDGER__EVENTS__EVENT__PAYLOAD_ACCOUNT_REGISTERED:
		err = fold_account(p, kv, seq, ev->account_registered);
		break;
	case LEDGER__EVENTS__EVENT__PAYLOAD_FIRM_CREATED: err = fold_firm(p, kv, seq, ev->firm_created); break;
	case LEDGER__EVENTS__EVENT__PAYLOAD_DELEGATION_GRANTED:
		err = fold_grant(p, kv, seq, ev->actor, ev->delegation_granted);
		break;
	case LEDGER__EVENTS__EVENT__PAYLOAD_DELEGATION_REVOKED: err = fold_revoke(p, kv, ev->delegation_revoked); break;
	case LEDGER__EVENTS__EVENT__PAYLOAD_DELEGATION_EXPIRED:
		err = fold_expired(p, kv, seq, ev->delegation_expired);
		break;
	case LEDGER__EVENTS__EVENT__PAYLOAD_ACCESS_DENIED: err = LEDGER_OK; break; /* the log is the record */
	case LEDGER__EVENTS__EVENT__PAYLOAD_REGISTRATION_RECORDED:
		err = proj_fold_registration(p, kv, seq, ev->registration_recorded);
		break;
	case LEDGER__EVENTS__EVENT__PAYLOAD_SUBJECT_ERASED:
		err = proj_fold_erasure(p, kv, seq, ev->subject_erased);
		break;
	default:
		if (ev->payload_case < LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_CREATED ||
		    ev->payload_case > LEDGER__EVENTS__EVENT__PAYLOAD_SIGNATURE_FAILED) {
			err = LEDGER_ERR_CORRUPT; /* an event kind this build does not know */
			break;
		}
		/* Collections first: the platform's folds (statistics) read the collection as it now is. */
		err = proj_fold_collection(p, kv, seq, ev);
		if (!err)
			err = proj_fold_platform(p, kv, seq, ev);
		break;
	}
	return err;
}

size_t proj_fold_read_key(const proj *p, const Ledger__Events__Event *ev, MDB_dbi *dbi, char *key, size_t cap)
{
	/* The delegation that a grant (a renewal?), a revocation or an expiry reads first. */
	const char *firm_id, *who;
	Ledger__Events__Right right;
	switch (ev->payload_case) {
	case LEDGER__EVENTS__EVENT__PAYLOAD_DELEGATION_GRANTED:
		firm_id = ev->delegation_granted->firm_id;
		who = ev->delegation_granted->collaborator;
		right = ev->delegation_granted->right;
		break;
	case LEDGER__EVENTS__EVENT__PAYLOAD_DELEGATION_REVOKED:
		firm_id = ev->delegation_revoked->firm_id;
		who = ev->delegation_revoked->collaborator;
		right = ev->delegation_revoked->right;
		break;
	case LEDGER__EVENTS__EVENT__PAYLOAD_DELEGATION_EXPIRED:
		firm_id = ev->delegation_expired->firm_id;
		who = ev->delegation_expired->collaborator;
		right = ev->delegation_expired->right;
		break;
	default: return 0;
	}
	*dbi = p->delegations;
	return proj_key3(key, cap, firm_id, who, right);
}

ledger_err proj_apply(proj *p, MDB_txn *txn, uint64_t seq, const uint8_t *event, size_t bytes)
{
	Ledger__Events__Event *ev = ledger__events__event__unpack(NULL, bytes, event);
	if (!ev)
		return LEDGER_ERR_CORRUPT;
	proj_kv kv = proj_kv_of_txn(txn);
	ledger_err err = proj_fold_event(p, &kv, seq, ev);
	ledger__events__event__free_unpacked(ev, NULL);
	return err;
}

/* ----- lookups, for decisions and queries: over their transaction ----- */

static ledger_err get_raw(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t key_bytes, MDB_val *v)
{
	proj_kv kv = proj_kv_of_txn(txn);
	return proj_kv_get(&kv, dbi, key, key_bytes, v);
}

ledger_err proj_firm_get(proj *p, MDB_txn *txn, const char *firm_id, Ledger__State__Firm **out)
{
	MDB_val v;
	ledger_err err = get_raw(txn, p->firms, firm_id, strlen(firm_id), &v);
	if (err)
		return err;
	*out = ledger__state__firm__unpack(NULL, v.mv_size, v.mv_data);
	return *out ? LEDGER_OK : LEDGER_ERR_CORRUPT;
}

ledger_err proj_account_get(proj *p, MDB_txn *txn, const char *email, Ledger__State__Account **out)
{
	MDB_val v;
	ledger_err err = get_raw(txn, p->accounts, email, strlen(email), &v);
	if (err)
		return err;
	*out = ledger__state__account__unpack(NULL, v.mv_size, v.mv_data);
	return *out ? LEDGER_OK : LEDGER_ERR_CORRUPT;
}

ledger_err proj_delegation_get(proj *p, MDB_txn *txn, const char *firm_id, const char *who, Ledger__Events__Right right,
                               Ledger__State__Delegation **out)
{
	proj_kv kv = proj_kv_of_txn(txn);
	return delegation_get(p, &kv, firm_id, who, right, out);
}

bool proj_delegation_live(proj *p, MDB_txn *txn, const char *firm_id, const char *who, unsigned bit, int64_t now_us,
                          char until[11])
{
	for (Ledger__Events__Right r = LEDGER__EVENTS__RIGHT__RIGHT_SIGN; r <= LEDGER__EVENTS__RIGHT__RIGHT_PREPARE;
	     r++) {
		if (!(proj_right_bit_of(r) & bit))
			continue;
		Ledger__State__Delegation *d;
		if (proj_delegation_get(p, txn, firm_id, who, r, &d) != LEDGER_OK)
			continue;
		bool live = now_us < d->expires_at_us;
		if (live && until)
			snprintf(until, 11, "%s", d->expires_on);
		ledger__state__delegation__free_unpacked(d, NULL);
		if (live)
			return true;
	}
	return false;
}

unsigned proj_delegations_held(proj *p, MDB_txn *txn, const char *firm_id, const char *who, int64_t now_us,
                               char expired[11])
{
	unsigned held = 0;
	expired[0] = '\0';
	for (Ledger__Events__Right r = LEDGER__EVENTS__RIGHT__RIGHT_SIGN; r <= LEDGER__EVENTS__RIGHT__RIGHT_PREPARE;
	     r++) {
		Ledger__State__Delegation *d;
		if (proj_delegation_get(p, txn, firm_id, who, r, &d) != LEDGER_OK)
			continue;
		if (now_us < d->expires_at_us)
			held |= proj_right_bit_of(r);
		else if (strcmp(d->expires_on, expired) > 0)
			snprintf(expired, 11, "%s", d->expires_on);
		ledger__state__delegation__free_unpacked(d, NULL);
	}
	return held;
}
