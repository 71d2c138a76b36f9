/*
 * store.c: the lookup decisions and queries make in their own transaction. Folds read and write
 * through proj_kv (kv.c) instead, so that a replay can fold in memory.
 */
#include "internal.h"

ledger_err proj_get_raw(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t key_bytes, MDB_val *v)
{
	proj_kv kv = proj_kv_of_txn(txn);
	return proj_kv_get(&kv, dbi, key, key_bytes, v);
}
