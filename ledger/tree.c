/*
 * tree.c: the log as an RFC 9162 Merkle tree, and its signed checkpoints.
 *
 * Leaf i is the record of seq i + 1; its entry is the record's 32-byte hash (so the leaf hash is
 * SHA-256(0x00 || record hash)). The record hash already binds the seq, the previous hash and
 * the event bytes (chain.c), so the tree costs two short hashes per event instead of a second
 * pass over its bytes, and a proof's verifier recomputes the record hash from the record bytes
 * with the formula of docs/log-format.md.
 *
 * Subtrees of level 1 and up are stored in the tree database, written in the batch's own
 * transaction (so the tree is never behind or ahead of the records); level 0 (leaf hashes) is
 * computed from the events database when a proof needs one. The tree of the committed head is
 * kept in memory (its peaks), and each batch that appends signs a C2SP checkpoint of its new
 * tree in the same transaction when the ledger has a log key.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#define CHECKPOINT_KEEP_US_DEFAULT 1000000 /* one kept checkpoint per second of batch time */
#define TREE_KEY_BYTES             9       /* level (u8) || index (u64 big-endian) */

static void tree_key(unsigned level, uint64_t index, uint8_t key[TREE_KEY_BYTES])
{
	key[0] = (uint8_t)level;
	ledger_put_u64_be(key + 1, index);
}

static tlog_err store_failed(ledger_tree_ctx *c, ledger_err err)
{
	c->err = err;
	return TLOG_ERR_STORE;
}

static tlog_err source_get(void *ctx, unsigned level, uint64_t index, uint8_t out[TLOG_HASH_BYTES])
{
	ledger_tree_ctx *c = ctx;
	if (level == 0) {
		ledger_record rec;
		ledger_err err = index < UINT64_MAX ? ledger_get(c->l, c->txn, index + 1, &rec) : LEDGER_END;
		if (err == LEDGER_END)
			return TLOG_ERR_NOT_FOUND;
		if (err)
			return store_failed(c, err);
		tlog_leaf_hash(rec.hash, LEDGER_HASH_BYTES, out);
		return TLOG_OK;
	}
	uint8_t key[TREE_KEY_BYTES];
	tree_key(level, index, key);
	MDB_val k = {sizeof key, key}, v;
	int rc = mdb_get(c->txn, c->l->tree_db, &k, &v);
	if (rc == MDB_NOTFOUND)
		return TLOG_ERR_NOT_FOUND;
	if (rc)
		return store_failed(c, ledger_fail(ledger_mdb_err(rc), "tree: %s", mdb_strerror(rc)));
	if (v.mv_size != TLOG_HASH_BYTES)
		return store_failed(c, ledger_fail(LEDGER_ERR_CORRUPT, "tree: subtree (%u, %llu) is %zu bytes, not 32",
		                                   level, (unsigned long long)index, v.mv_size));
	memcpy(out, v.mv_data, TLOG_HASH_BYTES);
	return TLOG_OK;
}

static tlog_err source_put(void *ctx, unsigned level, uint64_t index, const uint8_t hash[TLOG_HASH_BYTES])
{
	ledger_tree_ctx *c = ctx;
	if (level == 0) /* leaf hashes are the records' */
		return TLOG_OK;
	uint8_t key[TREE_KEY_BYTES];
	tree_key(level, index, key);
	MDB_val k = {sizeof key, key}, v = {TLOG_HASH_BYTES, (void *)hash};
	int rc = mdb_put(c->txn, c->l->tree_db, &k, &v, 0);
	if (rc)
		return store_failed(c, ledger_fail(ledger_mdb_err(rc), "tree: storing subtree (%u, %llu): %s", level,
		                                   (unsigned long long)index, mdb_strerror(rc)));
	return TLOG_OK;
}

void ledger_tree_source(ledger *l, MDB_txn *txn, void *ctx_storage, struct tlog_subtree_store *out)
{
	ledger_tree_ctx *c = ctx_storage;
	*c = (ledger_tree_ctx){.l = l, .txn = txn};
	*out = (tlog_subtree_store){.get = source_get, .put = source_put, .ctx = c};
}

/* A tlog error as a ledger error, naming what was asked. */
static ledger_err from_tlog(tlog_err err, const ledger_tree_ctx *c, const char *what)
{
	switch (err) {
	case TLOG_OK: return LEDGER_OK;
	case TLOG_ERR_STORE: return c->err ? c->err : LEDGER_ERR_LMDB;
	case TLOG_ERR_NOMEM: return ledger_fail(LEDGER_ERR_NOMEM, "%s: out of memory", what);
	case TLOG_ERR_RANGE:
	case TLOG_ERR_INVALID: return ledger_fail(LEDGER_ERR_INVALID, "%s: %s", what, tlog_last_error());
	case TLOG_ERR_NOT_FOUND:
		return ledger_fail(LEDGER_ERR_INVALID, "%s: past the head of the log, or a subtree is missing", what);
	default: return ledger_fail(LEDGER_ERR_INVALID, "%s: %s", what, tlog_strerror(err));
	}
}

/* The store has a tree, and `size` records at txn's head (the head in memory may be newer). */
static ledger_err need_tree(ledger *l, MDB_txn *txn, uint64_t size)
{
	if (!l->has_tree)
		return ledger_fail(LEDGER_ERR_NOT_INITIALISED,
		                   "this store has no Merkle tree yet: it is built the first time ledgerd opens it");
	MDB_val k = {strlen("head_seq"), (void *)"head_seq"}, v;
	uint64_t head = 0;
	if (mdb_get(txn, l->meta, &k, &v) == 0 && v.mv_size == 8)
		head = ledger_get_u64_be(v.mv_data);
	if (size > head)
		return ledger_fail(LEDGER_ERR_INVALID, "a tree of %llu records: the log has %llu",
		                   (unsigned long long)size, (unsigned long long)head);
	return LEDGER_OK;
}

/* The tree of every record, recomputed from their hashes (no store). */
static ledger_err recompute(ledger *l, MDB_txn *txn, const tlog_subtree_store *check, tlog_tree *out,
                            ledger_verify_result *r)
{
	tlog_tree_init(out);
	ledger_iter *it;
	ledger_err err = ledger_iter_open(l, txn, 1, &it);
	if (err)
		return err;
	ledger_record rec;
	while ((err = ledger_iter_next(it, &rec)) == LEDGER_OK) {
		if (rec.seq != out->size + 1) {
			err = ledger_fail(LEDGER_ERR_CORRUPT, "tree: record %llu follows %llu",
			                  (unsigned long long)rec.seq, (unsigned long long)out->size);
			break;
		}
		uint8_t leaf[TLOG_HASH_BYTES];
		tlog_leaf_hash(rec.hash, LEDGER_HASH_BYTES, leaf);
		tlog_err te = tlog_tree_append(out, leaf, check);
		if (te) {
			const ledger_tree_ctx *c = check->ctx;
			err = from_tlog(te, c, "tree");
			if (r && r->bad_seq == 0) {
				r->bad_seq = rec.seq;
				snprintf(r->reason, sizeof r->reason, "%s", ledger_last_error());
			}
			break;
		}
	}
	ledger_iter_close(it);
	return err == LEDGER_END ? LEDGER_OK : err;
}

/* The check store: a put compares with what is stored instead of writing. */
typedef struct check_ctx {
	ledger_tree_ctx source; /* first: the tlog ctx is a ledger_tree_ctx for from_tlog */
	uint64_t compared;
} check_ctx;

static tlog_err check_put(void *ctx, unsigned level, uint64_t index, const uint8_t hash[TLOG_HASH_BYTES])
{
	check_ctx *c = ctx;
	if (level == 0)
		return TLOG_OK;
	uint8_t stored[TLOG_HASH_BYTES];
	tlog_err err = source_get(&c->source, level, index, stored);
	if (err == TLOG_ERR_NOT_FOUND)
		return store_failed(&c->source, ledger_fail(LEDGER_ERR_CORRUPT, "tree: subtree (%u, %llu) is missing",
		                                            level, (unsigned long long)index));
	if (err)
		return err;
	if (memcmp(stored, hash, TLOG_HASH_BYTES) != 0)
		return store_failed(&c->source, ledger_fail(LEDGER_ERR_CORRUPT,
		                                            "tree: stored subtree (%u, %llu) differs from the records",
		                                            level, (unsigned long long)index));
	c->compared++;
	return TLOG_OK;
}

ledger_err ledger_tree_verify(ledger *l, MDB_txn *txn, ledger_verify_result *r)
{
	memset(r, 0, sizeof *r);
	ledger_err err = need_tree(l, txn, 0);
	if (err)
		return err;
	check_ctx c = {.source = {.l = l, .txn = txn}};
	tlog_subtree_store check = {.get = source_get, .put = check_put, .ctx = &c};
	tlog_tree t;
	err = recompute(l, txn, &check, &t, r);
	if (err == LEDGER_ERR_CORRUPT && r->bad_seq == 0) {
		r->bad_seq = t.size + 1;
		snprintf(r->reason, sizeof r->reason, "%s", ledger_last_error());
	}
	if (err)
		return err;
	r->events = t.size;
	r->head_seq = t.size;
	tlog_tree_root(&t, r->head_hash);
	MDB_stat st;
	int rc = mdb_stat(txn, l->tree_db, &st);
	if (rc)
		return ledger_fail(ledger_mdb_err(rc), "tree: %s", mdb_strerror(rc));
	if (st.ms_entries != c.compared) {
		r->bad_seq = t.size;
		snprintf(r->reason, sizeof r->reason, "the tree database holds %zu subtrees, the records make %llu",
		         st.ms_entries, (unsigned long long)c.compared);
		return LEDGER_ERR_CORRUPT;
	}
	return LEDGER_OK;
}

/* Builds the stored subtrees of a store that has none (one written before the tree existed). */
static ledger_err build(ledger *l, const char *dir)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(l->env, NULL, 0, &txn);
	if (rc)
		return ledger_fail(ledger_mdb_err(rc), "%s: tree: %s", dir, mdb_strerror(rc));
	ledger_tree_ctx c;
	tlog_subtree_store store;
	ledger_tree_source(l, txn, &c, &store);
	tlog_tree t;
	ledger_err err = recompute(l, txn, &store, &t, NULL);
	if (err) {
		mdb_txn_abort(txn);
		return err;
	}
	rc = mdb_txn_commit(txn);
	if (rc)
		return ledger_fail(ledger_mdb_err(rc), "%s: building the tree: %s", dir, mdb_strerror(rc));
	return LEDGER_OK;
}

static ledger_err open_dbs(ledger *l, const char *dir, bool *empty)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(l->env, NULL, l->read_only ? MDB_RDONLY : 0, &txn);
	if (rc)
		return ledger_fail(ledger_mdb_err(rc), "%s: %s", dir, mdb_strerror(rc));
	unsigned flags = l->read_only ? 0 : MDB_CREATE;
	rc = mdb_dbi_open(txn, "tree", flags, &l->tree_db);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "checkpoints", flags, &l->checkpoints_db);
	if (rc == 0) {
		int cosigned = mdb_dbi_open(txn, "cosigned", flags, &l->cosigned_db);
		l->has_cosigned = cosigned == 0;
		if (cosigned != MDB_NOTFOUND)
			rc = cosigned;
	}
	MDB_stat st = {0};
	if (rc == 0)
		rc = mdb_stat(txn, l->tree_db, &st);
	if (rc == MDB_NOTFOUND && l->read_only) {
		mdb_txn_abort(txn);
		return LEDGER_OK; /* has_tree stays false */
	}
	if (rc) {
		mdb_txn_abort(txn);
		return ledger_fail(ledger_mdb_err(rc), "%s: tree: %s", dir, mdb_strerror(rc));
	}
	rc = mdb_txn_commit(txn);
	if (rc)
		return ledger_fail(ledger_mdb_err(rc), "%s: tree: %s", dir, mdb_strerror(rc));
	*empty = st.ms_entries == 0;
	l->has_tree = true;
	return LEDGER_OK;
}

ledger_err ledger_tree_open(ledger *l, const char *dir)
{
	bool empty = false;
	ledger_err err = open_dbs(l, dir, &empty);
	if (err || !l->has_tree)
		return err;
	/* A store of two records or more stores subtrees: none means it predates the tree. */
	if (empty && l->head_seq >= 2) {
		if (l->read_only) {
			l->has_tree = false;
			return LEDGER_OK;
		}
		err = build(l, dir);
		if (err)
			return err;
	}
	/* A reader (an audit, maybe beside a serving ledgerd) checks the tree itself when it
	 * wants to (ledger_tree_verify), on its own snapshot: the head in l may already be old. */
	if (l->read_only)
		return LEDGER_OK;
	/* The writer (alone: ledgerd holds the directory's lock): the head's tree recomputed from
	 * the records, and its peaks compared with the stored ones, so that no checkpoint is ever
	 * signed over a root the records do not make. */
	MDB_txn *txn;
	err = ledger_read_begin(l, &txn);
	if (err)
		return err;
	ledger_tree_ctx c;
	tlog_subtree_store store;
	ledger_tree_source(l, txn, &c, &store);
	tlog_tree computed, loaded;
	err = recompute(l, txn, NULL, &computed, NULL);
	if (!err && computed.size != l->head_seq)
		err = ledger_fail(LEDGER_ERR_CORRUPT, "%s: the tree has %llu leaves, the head is %llu", dir,
		                  (unsigned long long)computed.size, (unsigned long long)l->head_seq);
	if (!err)
		err = from_tlog(tlog_tree_load(&store, computed.size, &loaded), &c, "tree");
	if (!err && (loaded.peak_count != computed.peak_count ||
	             memcmp(loaded.peaks, computed.peaks, sizeof loaded.peaks[0] * computed.peak_count) != 0))
		err = ledger_fail(LEDGER_ERR_CORRUPT, "its stored peaks differ from those the records make");
	ledger_read_end(l, txn);
	if (err == LEDGER_ERR_CORRUPT) {
		char detail[256];
		snprintf(detail, sizeof detail, "%s", ledger_last_error());
		return ledger_fail(
		    err,
		    "%s: store damaged: the Merkle tree is not the records' (%s); refusing to serve it: run "
		    "`ledger-audit verify --data %s`, restore data.mdb from a backup (docs/operations.md)",
		    dir, detail, dir);
	}
	if (err)
		return err;
	l->tree = computed;
	return LEDGER_OK;
}

ledger_err ledger_tree_append(ledger_txn *t, const uint8_t record_hash[LEDGER_HASH_BYTES])
{
	uint8_t leaf[TLOG_HASH_BYTES];
	tlog_leaf_hash(record_hash, LEDGER_HASH_BYTES, leaf);
	ledger_tree_ctx c;
	tlog_subtree_store store;
	ledger_tree_source(t->l, t->txn, &c, &store);
	return from_tlog(tlog_tree_append(&t->tree, leaf, &store), &c, "tree append");
}

static ledger_err put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t key_bytes, const void *value,
                      size_t value_bytes, const char *what)
{
	MDB_val k = {key_bytes, (void *)key}, v = {value_bytes, (void *)value};
	int rc = mdb_put(txn, dbi, &k, &v, 0);
	return rc ? ledger_fail(ledger_mdb_err(rc), "%s: %s", what, mdb_strerror(rc)) : LEDGER_OK;
}

ledger_err ledger_checkpoint_put(ledger_txn *t)
{
	ledger *l = t->l;
	t->checkpoint_bytes = 0;
	t->checkpoint_kept = false;
	if (!l->checkpoint_signer || (t->first_seq == 0 && !t->checkpoint_forced))
		return LEDGER_OK;
	LEDGER_ASSERT_MSG(t->tree.size == t->seq, "tree size %llu, head %llu", (unsigned long long)t->tree.size,
	                  (unsigned long long)t->seq);
	tlog_checkpoint cp = {.size = t->tree.size};
	snprintf(cp.origin, sizeof cp.origin, "%s", l->checkpoint_signer->verifier.name);
	tlog_tree_root(&t->tree, cp.root);
	char text[TLOG_CHECKPOINT_TEXT_BYTES_MAX + 1];
	size_t text_bytes;
	if (tlog_checkpoint_format(&cp, text, sizeof text, &text_bytes) != TLOG_OK ||
	    tlog_note_sign(text, text_bytes, l->checkpoint_signer, 0, t->checkpoint, sizeof t->checkpoint,
	                   &t->checkpoint_bytes) != TLOG_OK)
		return ledger_fail(LEDGER_ERR_INVALID, "signing the checkpoint: %s", tlog_last_error());
	ledger_err err =
	    put(t->txn, l->meta, "checkpoint", strlen("checkpoint"), t->checkpoint, t->checkpoint_bytes, "checkpoint");
	if (err)
		return err;
	if (l->checkpoint_kept_us == 0 || t->time_us - l->checkpoint_kept_us >= l->checkpoint_keep_us) {
		uint8_t key[8];
		ledger_put_u64_be(key, t->tree.size);
		err =
		    put(t->txn, l->checkpoints_db, key, sizeof key, t->checkpoint, t->checkpoint_bytes, "checkpoints");
		t->checkpoint_kept = err == LEDGER_OK;
	}
	return err;
}

void ledger_tree_committed(ledger *l, const ledger_txn *t)
{
	/* Called with head_lock held, after the batch is durable. */
	l->tree = t->tree;
	if (t->checkpoint_bytes) {
		memcpy(l->checkpoint, t->checkpoint, t->checkpoint_bytes);
		l->checkpoint_bytes = t->checkpoint_bytes;
	}
	if (t->checkpoint_kept)
		l->checkpoint_kept_us = t->time_us;
}

void ledger_tree_set_signer(ledger *l, tlog_signer *signer, int64_t keep_us)
{
	l->checkpoint_signer = signer;
	l->checkpoint_keep_us = keep_us > 0 ? keep_us : CHECKPOINT_KEEP_US_DEFAULT;
}

/* The stored tree as a tlog subtree store, once need_tree found it holds size records. */
static ledger_err tree_of_size(ledger *l, MDB_txn *txn, uint64_t size, ledger_tree_ctx *c, tlog_subtree_store *store)
{
	ledger_err err = need_tree(l, txn, size);
	if (!err)
		ledger_tree_source(l, txn, c, store);
	return err;
}

ledger_err ledger_tree_root(ledger *l, MDB_txn *txn, uint64_t size, uint8_t root[LEDGER_HASH_BYTES])
{
	ledger_tree_ctx c;
	tlog_subtree_store store;
	ledger_err err = tree_of_size(l, txn, size, &c, &store);
	if (err)
		return err;
	return from_tlog(tlog_root_at(&store, size, root), &c, "tree root");
}

ledger_err ledger_tree_prove_inclusion(ledger *l, MDB_txn *txn, uint64_t seq, uint64_t size, tlog_proof *out)
{
	ledger_tree_ctx c;
	tlog_subtree_store store;
	ledger_err err = tree_of_size(l, txn, size, &c, &store);
	if (err)
		return err;
	if (seq == 0 || seq > size)
		return ledger_fail(LEDGER_ERR_INVALID, "inclusion proof: seq %llu is not in a tree of %llu records",
		                   (unsigned long long)seq, (unsigned long long)size);
	return from_tlog(tlog_prove_inclusion(&store, seq - 1, size, out), &c, "inclusion proof");
}

ledger_err ledger_tree_prove_consistency(ledger *l, MDB_txn *txn, uint64_t old_size, uint64_t new_size, tlog_proof *out)
{
	ledger_tree_ctx c;
	tlog_subtree_store store;
	ledger_err err = tree_of_size(l, txn, new_size, &c, &store);
	return err ? err : from_tlog(tlog_prove_consistency(&store, old_size, new_size, out), &c, "consistency proof");
}

/* A stored note (a checkpoint, signed or cosigned: `what`) that mdb_get or a cursor (rc) found
 * at v, copied into out[cap] with its NUL: LEDGER_END when there is none. */
static ledger_err note_read(int rc, const MDB_val *v, const char *what, char *out, size_t cap, size_t *out_bytes)
{
	if (rc == MDB_NOTFOUND)
		return LEDGER_END;
	if (rc)
		return ledger_fail(ledger_mdb_err(rc), "%s: %s", what, mdb_strerror(rc));
	if (v->mv_size >= cap)
		return ledger_fail(LEDGER_ERR_TOO_LARGE, "the stored %s is %zu bytes", what, v->mv_size);
	memcpy(out, v->mv_data, v->mv_size);
	out[v->mv_size] = '\0';
	*out_bytes = v->mv_size;
	return LEDGER_OK;
}

ledger_err ledger_checkpoint_latest(ledger *l, MDB_txn *txn, char *out, size_t cap, size_t *out_bytes)
{
	MDB_val k = {strlen("checkpoint"), (void *)"checkpoint"}, v;
	return note_read(mdb_get(txn, l->meta, &k, &v), &v, "checkpoint", out, cap, out_bytes);
}

ledger_err ledger_checkpoints_each(ledger *l, MDB_txn *txn,
                                   ledger_err (*fn)(void *ctx, uint64_t size, const char *note, size_t note_bytes),
                                   void *ctx)
{
	ledger_err err = need_tree(l, txn, 0);
	if (err)
		return err;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, l->checkpoints_db, &cur);
	if (rc)
		return ledger_fail(ledger_mdb_err(rc), "checkpoints: %s", mdb_strerror(rc));
	MDB_val k, v;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && !err; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8) {
			err = ledger_fail(LEDGER_ERR_CORRUPT, "checkpoints: a key of %zu bytes", k.mv_size);
			break;
		}
		err = fn(ctx, ledger_get_u64_be(k.mv_data), v.mv_data, v.mv_size);
	}
	mdb_cursor_close(cur);
	if (!err && rc != MDB_NOTFOUND)
		err = ledger_fail(ledger_mdb_err(rc), "checkpoints: %s", mdb_strerror(rc));
	return err;
}

size_t ledger_checkpoint_current(ledger *l, char out[LEDGER_CHECKPOINT_BYTES_MAX])
{
	pthread_mutex_lock(&l->head_lock);
	size_t n = l->checkpoint_bytes;
	memcpy(out, l->checkpoint, n);
	pthread_mutex_unlock(&l->head_lock);
	out[n < LEDGER_CHECKPOINT_BYTES_MAX ? n : LEDGER_CHECKPOINT_BYTES_MAX - 1] = '\0';
	return n;
}

ledger_err ledger_cosigned_put(ledger_txn *t, uint64_t size, const char *note, size_t note_bytes)
{
	LEDGER_ASSERT(t->l->has_cosigned);
	if (note_bytes >= LEDGER_COSIGNED_BYTES_MAX)
		return ledger_fail(LEDGER_ERR_TOO_LARGE, "a cosigned checkpoint of %zu bytes", note_bytes);
	uint8_t key[8];
	ledger_put_u64_be(key, size);
	return put(t->txn, t->l->cosigned_db, key, sizeof key, note, note_bytes, "cosigned");
}

ledger_err ledger_cosigned_get(ledger *l, MDB_txn *txn, uint64_t size, char *out, size_t cap, size_t *out_bytes)
{
	if (!l->has_cosigned)
		return LEDGER_END;
	uint8_t key[8];
	ledger_put_u64_be(key, size);
	MDB_val k = {sizeof key, key}, v;
	int rc;
	if (size) {
		rc = mdb_get(txn, l->cosigned_db, &k, &v);
	} else {
		MDB_cursor *cur;
		rc = mdb_cursor_open(txn, l->cosigned_db, &cur);
		if (rc == 0) {
			rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
			mdb_cursor_close(cur);
		}
	}
	return note_read(rc, &v, "cosigned checkpoint", out, cap, out_bytes);
}

ledger_err ledger_checkpoint_refresh(ledger *l)
{
	if (!l->checkpoint_signer || l->read_only || l->head_seq == 0)
		return LEDGER_OK;
	MDB_txn *txn;
	ledger_err err = ledger_read_begin(l, &txn);
	if (err)
		return err;
	char note[LEDGER_CHECKPOINT_BYTES_MAX];
	size_t n = 0;
	tlog_checkpoint cp = {0};
	tlog_note_result r;
	bool current = ledger_checkpoint_latest(l, txn, note, sizeof note, &n) == LEDGER_OK &&
	               tlog_checkpoint_open(note, n, &l->checkpoint_signer->verifier, NULL, 0, &cp, &r) == TLOG_OK &&
	               cp.size == l->head_seq;
	ledger_read_end(l, txn);
	if (current) {
		memcpy(l->checkpoint, note, n);
		l->checkpoint_bytes = n;
		return LEDGER_OK;
	}
	/* None, another key's, or not of the head (a store restored or changed while stopped):
	 * sign the head's now, so that every reader finds one. */
	ledger_txn t = {
	    .l = l, .seq = l->head_seq, .time_us = l->head_time_us, .tree = l->tree, .checkpoint_forced = true};
	memcpy(t.hash, l->head_hash, LEDGER_HASH_BYTES);
	int rc = mdb_txn_begin(l->env, NULL, 0, &t.txn);
	if (rc)
		return ledger_fail(ledger_mdb_err(rc), "checkpoint: %s", mdb_strerror(rc));
	err = ledger_checkpoint_put(&t);
	if (err) {
		mdb_txn_abort(t.txn);
		return err;
	}
	rc = mdb_txn_commit(t.txn);
	if (rc)
		return ledger_fail(ledger_mdb_err(rc), "checkpoint: %s", mdb_strerror(rc));
	ledger_tree_committed(l, &t);
	return LEDGER_OK;
}
