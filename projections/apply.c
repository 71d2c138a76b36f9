/*
 * apply.c: the folds. Each event kind updates the projection databases; nothing else writes
 * them. Values are protobuf-c encodings of state.proto messages, which are deterministic for
 * equal structs, so a replay from event 1 yields the same bytes as the live service.
 */
#include "read_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ----- schema version and rebuild ----- */

/* Index entries: the key is the information, the value is empty. */
static ledger_err put_empty(proj_kv *kv, MDB_dbi dbi, const void *key, size_t key_bytes)
{
	return proj_kv_put(kv, dbi, key, key_bytes, "", 0);
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
	f.siren = e->siren;
	f.created_seq = seq;
	char key[PROJ_KEY_BYTES_MAX];
	size_t n = proj_key_pair(key, sizeof key, e->ec_email, e->firm_id);
	if (n == 0)
		return LEDGER_ERR_CORRUPT;
	ledger_err err = proj_kv_put_msg(kv, p->firms, e->firm_id, strlen(e->firm_id), &f.base);
	return err ? err : put_empty(kv, p->firms_by_ec, key, n);
}

/* A firm created without a SIREN gets one (FirmSirenRecorded): its next seal carries it. */
static ledger_err fold_firm_siren(proj *p, proj_kv *kv, const Ledger__Events__FirmSirenRecorded *e)
{
	Ledger__State__Firm *f = NULL;
	ledger_err err = proj_kv_get_msg(kv, p->firms, e->firm_id, strlen(e->firm_id), &ledger__state__firm__descriptor,
	                                 (ProtobufCMessage **)&f);
	if (err)
		return err == LEDGER_END ? LEDGER_ERR_CORRUPT : err; /* decided only for an existing firm */
	char *unpacked = f->siren;                                   /* freed with f */
	f->siren = e->siren;                                         /* borrowed until the put */
	err = proj_kv_put_msg(kv, p->firms, e->firm_id, strlen(e->firm_id), &f->base);
	f->siren = unpacked;
	ledger__state__firm__free_unpacked(f, NULL);
	return err;
}

/* The expiries index key: the instant first, so a cursor walks them in time order. */
static size_t expiry_key(char *buf, size_t cap, int64_t at_us, const char *firm_id, const char *who,
                         Ledger__Events__Right right)
{
	if (cap < 8)
		return 0;
	ledger_put_u64_be((uint8_t *)buf, (uint64_t)at_us);
	size_t n = proj_key_pair_tagged(buf + 8, cap - 8, firm_id, who, right);
	return n ? n + 8 : 0;
}

/* Removes the open expiry of (firm, who, right), if there is one. */
static ledger_err drop_expiry(proj *p, proj_kv *kv, const char *firm_id, const char *who, Ledger__Events__Right right)
{
	Ledger__State__Delegation *d;
	ledger_err err = proj_delegation_get_kv(p, kv, firm_id, who, right, &d);
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
	size_t n = proj_key_pair_tagged(key, sizeof key, e->firm_id, e->collaborator, e->right);
	size_t rn = proj_key_pair_tagged(rkey, sizeof rkey, e->collaborator, e->firm_id, e->right);
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
	size_t n = proj_key_pair_tagged(key, sizeof key, e->firm_id, e->collaborator, e->right);
	size_t rn = proj_key_pair_tagged(rkey, sizeof rkey, e->collaborator, e->firm_id, e->right);
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
	ledger_err err = proj_delegation_get_kv(p, kv, e->firm_id, e->collaborator, e->right, &d);
	if (err == LEDGER_END)
		return LEDGER_OK; /* revoked in the meantime */
	if (err)
		return err;
	err = drop_expiry(p, kv, e->firm_id, e->collaborator, e->right);
	char key[PROJ_KEY_BYTES_MAX];
	size_t n = proj_key_pair_tagged(key, sizeof key, e->firm_id, e->collaborator, e->right);
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
	case LEDGER__EVENTS__EVENT__PAYLOAD_FIRM_SIREN_RECORDED:
		err = fold_firm_siren(p, kv, ev->firm_siren_recorded);
		break;
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
	case LEDGER__EVENTS__EVENT__PAYLOAD_KEY_CREATED: err = proj_fold_key_created(p, kv, ev->key_created); break;
	case LEDGER__EVENTS__EVENT__PAYLOAD_KEY_DESTROYED:
		err = proj_fold_key_destroyed(p, kv, ev->key_destroyed);
		break;
	case LEDGER__EVENTS__EVENT__PAYLOAD_CERTIFICATE_REVOKED:
		err = proj_fold_certificate_revoked(p, kv, ev->committed_at_us, ev->certificate_revoked);
		break;
	default:
		if ((ev->payload_case < LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_CREATED ||
		     ev->payload_case > LEDGER__EVENTS__EVENT__PAYLOAD_SIGNATURE_RETRIED) &&
		    ev->payload_case != LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_TIMESTAMP_RENEWED) {
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
	return proj_key_pair_tagged(key, cap, firm_id, who, right);
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
