/*
 * store.c: the small set of writes and reads the folds of collections.c and platform.c use on
 * their databases. Values are protobuf-c encodings of state.proto messages: deterministic for
 * equal structs, so a replay writes the same bytes.
 */
#include "internal.h"

ledger_err proj_put_msg(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t key_bytes, const ProtobufCMessage *msg)
{
	MDB_val k = {key_bytes, (void *)key};
	MDB_val v = {protobuf_c_message_get_packed_size(msg), NULL};
	int rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE);
	if (rc)
		return ledger_mdb_err(rc);
	protobuf_c_message_pack(msg, v.mv_data);
	return LEDGER_OK;
}

ledger_err proj_put_empty(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t key_bytes)
{
	MDB_val k = {key_bytes, (void *)key}, v = {0, ""};
	return ledger_mdb_err(mdb_put(txn, dbi, &k, &v, 0));
}

ledger_err proj_del(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t key_bytes)
{
	MDB_val k = {key_bytes, (void *)key};
	int rc = mdb_del(txn, dbi, &k, NULL);
	return rc == MDB_NOTFOUND ? LEDGER_OK : ledger_mdb_err(rc);
}

ledger_err proj_get_raw(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t key_bytes, MDB_val *v)
{
	MDB_val k = {key_bytes, (void *)key};
	int rc = mdb_get(txn, dbi, &k, v);
	return rc == MDB_NOTFOUND ? LEDGER_END : ledger_mdb_err(rc);
}
