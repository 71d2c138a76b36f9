/*
 * expiry.c: turning passed expiry instants into events. The expiries index is ordered by
 * instant, so the due delegations are a prefix of it.
 */
#include "commands.h"

#include <stdlib.h>
#include <string.h>

typedef struct due {
	char firm_id[PROJ_FIRM_ID_BYTES_MAX + 1];
	char who[PROJ_EMAIL_BYTES_MAX + 1];
	Ledger__Events__Right right;
} due;

/* Reads up to max due entries. Keys are copied out: emitting changes the index under a cursor. */
static ledger_err collect_due(proj *p, MDB_txn *txn, int64_t now_us, due *out, size_t max, size_t *n)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, p->expiries, &cur);
	if (rc)
		return ledger_mdb_err(rc);
	*n = 0;
	MDB_val k, v;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && *n < max;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const char *key = k.mv_data;
		if (k.mv_size < 8 + 5 || (int64_t)ledger_get_u64_be((const uint8_t *)key) > now_us)
			break;
		const char *firm = key + 8;
		size_t firm_len = strnlen(firm, k.mv_size - 8);
		const char *who = firm + firm_len + 1;
		size_t who_len = k.mv_size - 8 - firm_len - 3;
		if (firm_len > PROJ_FIRM_ID_BYTES_MAX || firm_len + 3 > k.mv_size - 8 || who_len > PROJ_EMAIL_BYTES_MAX)
			break; /* malformed key: leave it, the audit's replay will show the difference */
		memcpy(out[*n].firm_id, firm, firm_len);
		out[*n].firm_id[firm_len] = '\0';
		memcpy(out[*n].who, who, who_len);
		out[*n].who[who_len] = '\0';
		out[*n].right = (Ledger__Events__Right)(unsigned char)key[k.mv_size - 1];
		(*n)++;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? LEDGER_OK : ledger_mdb_err(rc);
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
	ledger_err err = collect_due(p, txn, ledger_txn_time_us(t), list, max, &n);
	for (size_t i = 0; !err && i < n; i++) {
		Ledger__State__Delegation *d;
		err = proj_delegation_get(p, txn, list[i].firm_id, list[i].who, list[i].right, &d);
		if (err)
			break;
		Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
		Ledger__Events__DelegationExpired e = LEDGER__EVENTS__DELEGATION_EXPIRED__INIT;
		e.firm_id = list[i].firm_id;
		e.collaborator = list[i].who;
		e.right = list[i].right;
		e.expires_on = d->expires_on;
		e.expires_at_us = d->expires_at_us;
		ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_DELEGATION_EXPIRED;
		ev.delegation_expired = &e;
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
