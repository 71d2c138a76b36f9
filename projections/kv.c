/*
 * kv.c: the key-value layer that every fold reads and writes projections through.
 *
 * Folds must not call LMDB themselves: the same fold code runs over two storages and must
 * produce the same bytes in both. Live, the backend is the committer's LMDB write transaction,
 * so events and projection updates still commit together. A replay or a rebuild from event 1
 * folds into memory instead and writes each database once, sorted, at the end (kv_mem.c,
 * replay.c): the same folds, over the same bytes. What a fold sees through proj_kv must be the
 * same in every backend: a get after a put
 * returns the put value, a del makes the key absent, and a scan visits keys in LMDB's order
 * (memcmp, then the shorter first).
 */
#include "fold.h"

#include <string.h>

/* The layer refuses the same keys in every backend, with the same error. */
static bool key_ok(size_t key_bytes)
{
	return key_bytes > 0 && key_bytes <= PROJ_KV_KEY_BYTES_MAX;
}

ledger_err proj_kv_get(proj_kv *kv, MDB_dbi dbi, const void *key, size_t key_bytes, MDB_val *out)
{
	if (!key_ok(key_bytes))
		return LEDGER_ERR_INVALID;
	if (kv->mem)
		return proj_kv_mem_get(kv->mem, kv->txn, dbi, key, key_bytes, out);
	LEDGER_ASSERT(kv->txn);
	MDB_val k = {key_bytes, (void *)key};
	return ledger_mdb_err(mdb_get(kv->txn, dbi, &k, out));
}

ledger_err proj_kv_put(proj_kv *kv, MDB_dbi dbi, const void *key, size_t key_bytes, const void *val, size_t val_bytes)
{
	if (!key_ok(key_bytes))
		return LEDGER_ERR_INVALID;
	if (kv->mem) {
		void *dst;
		ledger_err err = proj_kv_mem_reserve(kv->mem, kv->txn, dbi, key, key_bytes, val_bytes, &dst);
		if (!err && val_bytes)
			memcpy(dst, val, val_bytes);
		return err;
	}
	LEDGER_ASSERT(kv->txn);
	MDB_val k = {key_bytes, (void *)key}, v = {val_bytes, (void *)val};
	return ledger_mdb_err(mdb_put(kv->txn, dbi, &k, &v, 0));
}

ledger_err proj_kv_del(proj_kv *kv, MDB_dbi dbi, const void *key, size_t key_bytes)
{
	if (!key_ok(key_bytes))
		return LEDGER_ERR_INVALID;
	if (kv->mem)
		return proj_kv_mem_del(kv->mem, kv->txn, dbi, key, key_bytes);
	LEDGER_ASSERT(kv->txn);
	MDB_val k = {key_bytes, (void *)key};
	int rc = mdb_del(kv->txn, dbi, &k, NULL);
	return rc == MDB_NOTFOUND ? LEDGER_OK : ledger_mdb_err(rc);
}

ledger_err proj_kv_scan(proj_kv *kv, MDB_dbi dbi, const void *prefix, size_t prefix_bytes, proj_kv_visit visit,
                        void *ctx)
{
	if (kv->mem)
		return proj_kv_mem_scan(kv->mem, kv->txn, dbi, prefix, prefix_bytes, visit, ctx);
	LEDGER_ASSERT(kv->txn);
	MDB_cursor *cur;
	int rc = mdb_cursor_open(kv->txn, dbi, &cur);
	if (rc)
		return ledger_mdb_err(rc);
	MDB_val k = {prefix_bytes, (void *)prefix}, v;
	/* LMDB refuses an empty key: every key is a scan from the first. */
	rc = mdb_cursor_get(cur, &k, &v, prefix_bytes ? MDB_SET_RANGE : MDB_FIRST);
	for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < prefix_bytes || memcmp(k.mv_data, prefix, prefix_bytes) != 0)
			break;
		if (!visit(ctx, k.mv_data, k.mv_size, v.mv_data, v.mv_size))
			break;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? LEDGER_OK : ledger_mdb_err(rc);
}

/* Encodes msg and puts it under key: the one way projection values are written. The value is
 * packed straight into the space the backend reserves, never through a copy. */
ledger_err proj_kv_put_msg(proj_kv *kv, MDB_dbi dbi, const void *key, size_t key_bytes, const ProtobufCMessage *msg)
{
	MDB_val k = {key_bytes, (void *)key};
	MDB_val v = {protobuf_c_message_get_packed_size(msg), NULL};
	if (!key_ok(key_bytes))
		return LEDGER_ERR_INVALID;
	if (kv->mem) {
		ledger_err err = proj_kv_mem_reserve(kv->mem, kv->txn, dbi, key, key_bytes, v.mv_size, &v.mv_data);
		if (err)
			return err;
	} else {
		LEDGER_ASSERT(kv->txn);
		int rc = mdb_put(kv->txn, dbi, &k, &v, MDB_RESERVE);
		if (rc)
			return ledger_mdb_err(rc);
	}
	size_t packed = protobuf_c_message_pack(msg, v.mv_data);
	LEDGER_ASSERT(packed == v.mv_size);
	(void)packed;
	return LEDGER_OK;
}

ledger_err proj_kv_get_msg(proj_kv *kv, MDB_dbi dbi, const void *key, size_t key_bytes,
                           const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **out)
{
	MDB_val v;
	ledger_err err = proj_kv_get(kv, dbi, key, key_bytes, &v);
	if (err)
		return err;
	*out = protobuf_c_message_unpack(descriptor, NULL, v.mv_size, v.mv_data);
	return *out ? LEDGER_OK : LEDGER_ERR_CORRUPT;
}

ledger_err proj_kv_get_msg_or_empty(proj_kv *kv, MDB_dbi dbi, const void *key, size_t key_bytes,
                                    const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **out)
{
	ledger_err err = proj_kv_get_msg(kv, dbi, key, key_bytes, descriptor, out);
	if (err != LEDGER_END)
		return err;
	*out = protobuf_c_message_unpack(descriptor, NULL, 0, (const uint8_t *)"");
	return *out ? LEDGER_OK : LEDGER_ERR_CORRUPT;
}
