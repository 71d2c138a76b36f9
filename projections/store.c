/*
 * store.c: the projections' databases: their names, opening them (and refolding them when the
 * schema version changed), and the layout of their composite keys.
 */
#include "fold.h"

#include <stdlib.h>
#include <string.h>

const char *const proj_db_names[] = {
    "accounts",    "firms",  "firms_by_ec", "delegations", "received", "expiries",       "registrations",
    "collections", "timers", "sign_queue",  "doc_refs",    "credits",  "credit_history", "preferences",
    "alert_subs",  "alerts", "alert_marks", "stats",       "contacts", "certificates",   NULL};

/* The handles of the databases named by proj_db_names, in the same order. */
static size_t db_slots(proj *p, MDB_dbi *out[PROJ_DBS_MAX])
{
	MDB_dbi *slots[] = {&p->accounts, &p->firms,         &p->firms_by_ec,    &p->delegations, &p->received,
	                    &p->expiries, &p->registrations, &p->collections,    &p->timers,      &p->sign_queue,
	                    &p->doc_refs, &p->credits,       &p->credit_history, &p->preferences, &p->alert_subs,
	                    &p->alerts,   &p->alert_marks,   &p->stats,          &p->contacts,    &p->certificates};
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

size_t proj_key_pair(char *buf, size_t cap, const char *first, const char *second)
{
	size_t first_bytes = strlen(first), second_bytes = strlen(second);
	if (first_bytes + second_bytes + 1 > cap)
		return 0;
	memcpy(buf, first, first_bytes);
	buf[first_bytes] = '\0';
	memcpy(buf + first_bytes + 1, second, second_bytes);
	return first_bytes + 1 + second_bytes;
}

size_t proj_key_pair_tagged(char *buf, size_t cap, const char *first, const char *second, uint8_t tag)
{
	size_t n = proj_key_pair(buf, cap, first, second);
	if (n == 0 || n + 2 > cap)
		return 0;
	buf[n] = '\0';
	buf[n + 1] = (char)tag;
	LEDGER_ASSERT(n + 2 <= cap);
	return n + 2;
}
