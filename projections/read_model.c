/*
 * read_model.c: the typed reads of the projections (read_model.h). One place for how a firm, a
 * delegation, a collection or a firm's credits is looked up and unpacked, whichever layer asks:
 * the folds through their proj_kv, the commands and queries through their transaction.
 */
#include "read_model.h"

#include <stdio.h>
#include <string.h>

#define CREDITS_LOW_THRESHOLD_DEFAULT 10u   /* a firm that set no threshold is warned below this */
#define REGISTRATION_STEPS_ALL        0x1fu /* one bit per RegistrationStep, 1 to 5 */

ledger_err proj_get_raw(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t key_bytes, MDB_val *v)
{
	/* A key no write can have stored (an empty firm id, an address over the key limit: what
	 * a request may name) is simply absent, not the store's error: the caller answers
	 * NOT_FOUND instead of INTERNAL. */
	if (key_bytes == 0 || key_bytes > PROJ_KV_KEY_BYTES_MAX)
		return LEDGER_END;
	proj_kv kv = proj_kv_of_txn(txn);
	return proj_kv_get(&kv, dbi, key, key_bytes, v);
}

ledger_err proj_delegation_get_kv(proj *p, proj_kv *kv, const char *firm_id, const char *who,
                                  Ledger__Events__Right right, Ledger__State__Delegation **out)
{
	char key[PROJ_KEY_BYTES_MAX];
	size_t n = proj_key_pair_tagged(key, sizeof key, firm_id, who, right);
	if (n == 0)
		return LEDGER_END;
	return proj_kv_get_msg(kv, p->delegations, key, n, &ledger__state__delegation__descriptor,
	                       (ProtobufCMessage **)out);
}

/* The message of descriptor under a string key in txn (proj_get_raw's key rules). */
static ledger_err get_msg(MDB_txn *txn, MDB_dbi dbi, const char *key, const ProtobufCMessageDescriptor *descriptor,
                          ProtobufCMessage **out)
{
	MDB_val v;
	ledger_err err = proj_get_raw(txn, dbi, key, strlen(key), &v);
	if (err)
		return err;
	*out = protobuf_c_message_unpack(descriptor, NULL, v.mv_size, v.mv_data);
	return *out ? LEDGER_OK : LEDGER_ERR_CORRUPT;
}

ledger_err proj_firm_get(proj *p, MDB_txn *txn, const char *firm_id, Ledger__State__Firm **out)
{
	return get_msg(txn, p->firms, firm_id, &ledger__state__firm__descriptor, (ProtobufCMessage **)out);
}

ledger_err proj_account_get(proj *p, MDB_txn *txn, const char *email, Ledger__State__Account **out)
{
	return get_msg(txn, p->accounts, email, &ledger__state__account__descriptor, (ProtobufCMessage **)out);
}

ledger_err proj_delegation_get(proj *p, MDB_txn *txn, const char *firm_id, const char *who, Ledger__Events__Right right,
                               Ledger__State__Delegation **out)
{
	proj_kv kv = proj_kv_of_txn(txn);
	return proj_delegation_get_kv(p, &kv, firm_id, who, right, out);
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

ledger_err proj_credits_get(proj *p, MDB_txn *txn, const char *firm_id, Ledger__State__Credits **out)
{
	proj_kv kv = proj_kv_of_txn(txn);
	return proj_credits_get_kv(p, &kv, firm_id, out);
}

ledger_err proj_credits_get_kv(proj *p, proj_kv *kv, const char *firm_id, Ledger__State__Credits **out)
{
	/* A firm that was never credited has none. */
	return proj_kv_get_msg_or_empty(kv, p->credits, firm_id, strlen(firm_id), &ledger__state__credits__descriptor,
	                                (ProtobufCMessage **)out);
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

ledger_err proj_collection_get_kv(proj *p, proj_kv *kv, const char *firm_id, const char *collection_id,
                                  const ProtobufCAllocator *allocator, Ledger__State__Collection **out)
{
	char key[PROJ_FIRM_ID_BYTES_MAX + PROJ_COLLECTION_ID_BYTES_MAX + 2];
	if (strlen(firm_id) > PROJ_FIRM_ID_BYTES_MAX || strlen(collection_id) > PROJ_COLLECTION_ID_BYTES_MAX)
		return LEDGER_END;
	MDB_val v;
	ledger_err err =
	    proj_kv_get(kv, p->collections, key, proj_key_pair(key, sizeof key, firm_id, collection_id), &v);
	if (err)
		return err;
	*out = ledger__state__collection__unpack((ProtobufCAllocator *)allocator, v.mv_size, v.mv_data);
	return *out ? LEDGER_OK : LEDGER_ERR_CORRUPT;
}

ledger_err proj_collection_get(proj *p, MDB_txn *txn, const char *firm_id, const char *collection_id,
                               const ProtobufCAllocator *allocator, Ledger__State__Collection **out)
{
	proj_kv kv = proj_kv_of_txn(txn);
	return proj_collection_get_kv(p, &kv, firm_id, collection_id, allocator, out);
}

ledger_err proj_collection_get_arena_kv(proj *p, proj_kv *kv, const char *firm_id, const char *collection_id,
                                        proj_arena **arena, Ledger__State__Collection **out)
{
	*arena = proj_arena_new();
	if (!*arena)
		return LEDGER_ERR_NOMEM;
	ProtobufCAllocator alloc; /* used while unpacking only: what it allocates belongs to *arena */
	proj_arena_allocator(*arena, &alloc);
	return proj_collection_get_kv(p, kv, firm_id, collection_id, &alloc, out);
}

ledger_err proj_collection_get_arena(proj *p, MDB_txn *txn, const char *firm_id, const char *collection_id,
                                     proj_arena **arena, Ledger__State__Collection **out)
{
	proj_kv kv = proj_kv_of_txn(txn);
	return proj_collection_get_arena_kv(p, &kv, firm_id, collection_id, arena, out);
}

ledger_err proj_collections_each(proj *p, MDB_txn *txn, const char *firm_id, const ProtobufCAllocator *alloc,
                                 bool (*visit)(void *ctx, Ledger__State__Collection *c), void *ctx)
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
		Ledger__State__Collection *c =
		    ledger__state__collection__unpack((ProtobufCAllocator *)alloc, v.mv_size, v.mv_data);
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

ledger_err proj_registration_get_kv(proj *p, proj_kv *kv, const char *subject, Ledger__State__Registration **out)
{
	return proj_kv_get_msg(kv, p->registrations, subject, strlen(subject), &ledger__state__registration__descriptor,
	                       (ProtobufCMessage **)out);
}

ledger_err proj_registration_get(proj *p, MDB_txn *txn, const char *subject, Ledger__State__Registration **out)
{
	proj_kv kv = proj_kv_of_txn(txn);
	return proj_registration_get_kv(p, &kv, subject, out);
}

bool proj_registration_complete(proj *p, MDB_txn *txn, const char *subject, int64_t now_us, char *why, size_t why_bytes)
{
	Ledger__State__Registration *r = NULL;
	ledger_err err = proj_registration_get(p, txn, subject, &r);
	unsigned steps = err == LEDGER_OK ? r->steps : 0;
	bool ok = (steps & REGISTRATION_STEPS_ALL) == REGISTRATION_STEPS_ALL;
	if (!ok) {
		int n = snprintf(why, why_bytes, "registration incomplete, missing:");
		for (unsigned s = 1; s <= 5 && n > 0 && (size_t)n < why_bytes; s++)
			if (!(steps & (1u << (s - 1))))
				n += snprintf(why + n, why_bytes - (size_t)n, " %s",
				              proj_step_name((Ledger__Events__RegistrationStep)s));
	} else {
		int64_t end_us;
		if (!proj_date_end_us(r->certificate_not_after, &end_us) || now_us >= end_us) {
			snprintf(why, why_bytes, "the signing certificate %s expired on %s", r->certificate_serial,
			         r->certificate_not_after);
			ok = false;
		}
	}
	Ledger__State__Certificate *c = NULL;
	proj_kv kv = proj_kv_of_txn(txn);
	if (ok && proj_certificate_get_kv(p, &kv, r->certificate_serial, &c) == LEDGER_OK && c->revoked) {
		snprintf(why, why_bytes, "the signing certificate %s is revoked (RFC 5280 reason %u)",
		         r->certificate_serial, c->reason_code);
		ok = false;
	}
	if (c)
		ledger__state__certificate__free_unpacked(c, NULL);
	if (r)
		ledger__state__registration__free_unpacked(r, NULL);
	return ok;
}
