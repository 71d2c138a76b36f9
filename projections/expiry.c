/*
 * expiry.c: turning passed expiry instants into events. The expiries index, like the
 * collections' timers, is ordered by instant, so what is due is a prefix of it (proj_due_each).
 */
#include "commands.h"

#include <stdlib.h>
#include <string.h>

typedef struct due {
	char firm_id[PROJ_FIRM_ID_BYTES_MAX + 1];
	char who[PROJ_EMAIL_BYTES_MAX + 1];
	Ledger__Events__Right right;
} due;

#define INSTANT_BYTES 8u /* the big-endian instant that starts a timed index's key */

typedef struct due_scan {
	int64_t now_us;
	proj_due_take take;
	void *list;
	size_t max, n;
} due_scan;

static bool due_scan_visit(void *ctx, const void *key, size_t key_bytes, const void *val, size_t val_bytes)
{
	due_scan *s = ctx;
	(void)val, (void)val_bytes;
	if (s->n == s->max || key_bytes < INSTANT_BYTES || (int64_t)ledger_get_u64_be(key) > s->now_us ||
	    !s->take(s->list, s->n, (const char *)key + INSTANT_BYTES, key_bytes - INSTANT_BYTES))
		return false;
	s->n++;
	return true;
}

ledger_err proj_due_each(MDB_txn *txn, MDB_dbi dbi, int64_t now_us, proj_due_take take, void *list, size_t max,
                         size_t *n)
{
	proj_kv kv = proj_kv_of_txn(txn);
	due_scan s = {.now_us = now_us, .take = take, .list = list, .max = max};
	ledger_err err = proj_kv_scan(&kv, dbi, "", 0, due_scan_visit, &s);
	*n = s.n;
	return err;
}

/* An expiries key after its instant: firm \0 who \0 right. */
static bool take_due(void *list, size_t i, const char *firm, size_t rest_bytes)
{
	if (rest_bytes < 5)
		return false;
	size_t firm_len = strnlen(firm, rest_bytes);
	const char *who = firm + firm_len + 1;
	size_t who_len = rest_bytes - firm_len - 3;
	if (firm_len > PROJ_FIRM_ID_BYTES_MAX || firm_len + 3 > rest_bytes || who_len > PROJ_EMAIL_BYTES_MAX)
		return false; /* malformed key: leave it, the audit's replay will show the difference */
	due *d = (due *)list + i;
	memcpy(d->firm_id, firm, firm_len);
	d->firm_id[firm_len] = '\0';
	memcpy(d->who, who, who_len);
	d->who[who_len] = '\0';
	d->right = (Ledger__Events__Right)(unsigned char)firm[rest_bytes - 1];
	return true;
}

static ledger_err expire_delegations(proj *p, ledger_txn *t, size_t max, size_t *count)
{
	*count = 0;
	if (max > PROJ_EXPIRE_BATCH_MAX)
		max = PROJ_EXPIRE_BATCH_MAX;
	due *list = malloc(max * sizeof *list);
	if (!list)
		return LEDGER_ERR_NOMEM;
	size_t n = 0;
	MDB_txn *txn = ledger_txn_mdb(t);
	ledger_err err = proj_due_each(txn, p->expiries, ledger_txn_time_us(t), take_due, list, max, &n);
	for (size_t i = 0; !err && i < n; i++) {
		Ledger__State__Delegation *d;
		err = proj_delegation_get(p, txn, list[i].firm_id, list[i].who, list[i].right, &d);
		if (err)
			break;
		Ledger__Events__DelegationExpired e = LEDGER__EVENTS__DELEGATION_EXPIRED__INIT;
		e.firm_id = list[i].firm_id;
		e.collaborator = list[i].who;
		e.right = list[i].right;
		e.expires_on = d->expires_on;
		e.expires_at_us = d->expires_at_us;
		Ledger__Events__Event ev = PROJ_EVENT(DELEGATION_EXPIRED, delegation_expired, &e);
		err = proj_emit(p, t, "ledgerd", "expiry", list[i].firm_id, &ev, NULL, NULL);
		ledger__state__delegation__free_unpacked(d, NULL);
		if (!err)
			(*count)++;
	}
	free(list);
	return err == LEDGER_END ? LEDGER_ERR_CORRUPT : err; /* an index entry without its delegation */
}

/* How often the alerts that time raises are looked for: they concern days, not seconds. */
#define ALERTS_SCAN_EVERY_US (60 * INT64_C(1000000))

ledger_err proj_expire_due(proj *p, ledger_txn *t, size_t max, size_t *count)
{
	size_t n = 0;
	ledger_err err = expire_delegations(p, t, max, count);
	if (!err && *count < max && (err = proj_collections_due(p, t, max - *count, &n)) == LEDGER_OK)
		*count += n;
	int64_t now = ledger_txn_time_us(t);
	if (!err && *count < max &&
	    (now - p->alerts_scanned_at_us >= ALERTS_SCAN_EVERY_US || now < p->alerts_scanned_at_us)) {
		if ((err = proj_alerts_due(p, t, max - *count, &n)) == LEDGER_OK) {
			*count += n;
			p->alerts_scanned_at_us = now;
		}
	}
	return err;
}
