/*
 * log.c: the LMDB environment of a ledger, and reading and appending its records.
 *
 * One environment per data directory, with three databases of ours (events, meta, requests)
 * and the projections' named databases beside them, so that events and projection updates
 * commit in one transaction.
 */
#include "internal.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define MAP_BYTES_INITIAL_DEFAULT ((size_t)64 << 20)
#define MAP_BYTES_MAX_DEFAULT     ((size_t)64 << 30)
#define NAMED_DBS_MAX_DEFAULT     64u
#define READERS_MAX               510u
#define PREFAULT_ALIGN_BYTES      4096u /* madvise wants whole pages */

static _Thread_local char last_error[512];

const char *ledger_last_error(void)
{
	return last_error[0] ? last_error : "no error";
}

ledger_err ledger_fail(ledger_err err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof last_error, fmt, ap);
	va_end(ap);
	return err;
}

const char *ledger_strerror(ledger_err err)
{
	switch (err) {
	case LEDGER_OK: return "ok";
	case LEDGER_END: return "end of data";
	case LEDGER_ERR_IO: return "input/output error";
	case LEDGER_ERR_NOT_INITIALISED: return "data directory not initialised (run `ledgerd init`)";
	case LEDGER_ERR_EXISTS: return "data directory already holds a ledger";
	case LEDGER_ERR_NOT_LEDGER: return "not a ledger data directory";
	case LEDGER_ERR_FORMAT: return "unsupported ledger format version";
	case LEDGER_ERR_CORRUPT: return "the hash chain does not verify";
	case LEDGER_ERR_MAP_FULL: return "ledger map full (map_bytes_max reached)";
	case LEDGER_ERR_DISK_FULL: return "disk full";
	case LEDGER_ERR_TOO_LARGE: return "record too large";
	case LEDGER_ERR_INVALID: return "invalid argument";
	case LEDGER_ERR_NOMEM: return "out of memory";
	case LEDGER_ERR_STOPPED: return "ledger is shutting down";
	case LEDGER_ERR_TXN_FULL: return "transaction too large";
	case LEDGER_ERR_LMDB: return "LMDB error";
	}
	return "unknown ledger error";
}

ledger_err ledger_mdb_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS: return LEDGER_OK;
	case MDB_NOTFOUND: return LEDGER_END;
	case MDB_MAP_FULL: return LEDGER_ERR_MAP_FULL;
	case MDB_TXN_FULL: return LEDGER_ERR_TXN_FULL;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND: return LEDGER_ERR_CORRUPT;
	case MDB_INVALID: return LEDGER_ERR_NOT_LEDGER;
	case MDB_VERSION_MISMATCH: return LEDGER_ERR_FORMAT;
	case ENOSPC:
	case EDQUOT: return LEDGER_ERR_DISK_FULL;
	case ENOMEM: return LEDGER_ERR_NOMEM;
	case EIO:
	case EACCES:
	case EROFS: return LEDGER_ERR_IO;
	default: return LEDGER_ERR_LMDB;
	}
}

void ledger_put_u64_be(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

uint64_t ledger_get_u64_be(const uint8_t in[8])
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | in[i];
	return v;
}

void ledger_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int file_exists(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		return -1;
	return stat(path, &st) == 0 ? 1 : 0;
}

static ledger_err env_open(const char *dir, const ledger_options *o, bool create, MDB_env **out)
{
	size_t map_bytes = o && o->map_bytes_initial ? o->map_bytes_initial : MAP_BYTES_INITIAL_DEFAULT;
	unsigned dbs = o && o->named_dbs_max ? o->named_dbs_max : NAMED_DBS_MAX_DEFAULT;
	unsigned flags = MDB_NOTLS | (o && o->read_only ? MDB_RDONLY : 0);
	if (o && o->scratch && !o->read_only)
		flags |= MDB_NOSYNC | MDB_NOMETASYNC | MDB_WRITEMAP | MDB_NORDAHEAD;
	MDB_env *env = NULL;
	int rc = mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(env, dbs);
	if (rc == 0)
		rc = mdb_env_set_maxreaders(env, READERS_MAX);
	if (rc == 0)
		rc = mdb_env_set_mapsize(env, map_bytes);
	if (rc == 0)
		rc = mdb_env_open(env, dir, flags, 0600);
	if (rc != 0) {
		if (env)
			mdb_env_close(env);
		ledger_err err = ledger_mdb_err(rc);
		if (rc == MDB_INVALID)
			return ledger_fail(err, "%s: data.mdb is not an LMDB file: not a ledger data directory", dir);
		return ledger_fail(err, "%s: cannot open the store: %s", dir, mdb_strerror(rc));
	}
	(void)create;
	*out = env;
	return LEDGER_OK;
}

ledger_err ledger_create(const char *dir, const ledger_options *options)
{
	if (sodium_init() < 0)
		return ledger_fail(LEDGER_ERR_INVALID, "libsodium failed to initialise");
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return ledger_fail(LEDGER_ERR_IO, "%s: cannot create directory: %s", dir, strerror(errno));
	int exists = file_exists(dir, "data.mdb");
	if (exists != 0)
		return ledger_fail(exists < 0 ? LEDGER_ERR_INVALID : LEDGER_ERR_EXISTS,
		                   "%s: already holds a store (data.mdb); refusing to overwrite it", dir);
	ledger_options o = options ? *options : (ledger_options){0};
	o.read_only = false;
	MDB_env *env;
	ledger_err err = env_open(dir, &o, true, &env);
	if (err)
		return err;
	MDB_txn *txn;
	MDB_dbi meta, events, requests;
	int rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &meta);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "events", MDB_CREATE, &events);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "requests", MDB_CREATE, &requests);
	uint8_t format[4] = {0, 0, 0, LEDGER_FORMAT_VERSION};
	struct {
		const char *key;
		const void *value;
		size_t bytes;
	} rows[] = {
	    {"magic", LEDGER_META_MAGIC, strlen(LEDGER_META_MAGIC)},
	    {"format", format, sizeof format},
	};
	for (size_t i = 0; rc == 0 && i < sizeof rows / sizeof rows[0]; i++) {
		MDB_val k = {strlen(rows[i].key), (void *)rows[i].key};
		MDB_val v = {rows[i].bytes, (void *)rows[i].value};
		rc = mdb_put(txn, meta, &k, &v, 0);
	}
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	mdb_env_close(env);
	if (rc != 0)
		return ledger_fail(ledger_mdb_err(rc), "%s: cannot initialise the store: %s", dir, mdb_strerror(rc));
	return LEDGER_OK;
}

static ledger_err meta_get(MDB_txn *txn, MDB_dbi meta, const char *key, MDB_val *v)
{
	MDB_val k = {strlen(key), (void *)key};
	int rc = mdb_get(txn, meta, &k, v);
	return rc == 0 ? LEDGER_OK : ledger_mdb_err(rc);
}

/* Reads and checks the meta database and the recorded head; fills l's handles and head. */
static ledger_err load_meta(ledger *l, const char *dir)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return ledger_fail(ledger_mdb_err(rc), "%s: %s", dir, mdb_strerror(rc));
	ledger_err err = LEDGER_OK;
	rc = mdb_dbi_open(txn, "meta", 0, &l->meta);
	if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
		err = ledger_fail(LEDGER_ERR_NOT_LEDGER,
		                  "%s: an LMDB store without ledger metadata: not a ledger data directory", dir);
		goto out;
	}
	MDB_val v;
	if (rc || meta_get(txn, l->meta, "magic", &v) || v.mv_size != strlen(LEDGER_META_MAGIC) ||
	    memcmp(v.mv_data, LEDGER_META_MAGIC, v.mv_size) != 0) {
		err = ledger_fail(LEDGER_ERR_NOT_LEDGER,
		                  "%s: no ledger magic in the store: not a ledger data directory", dir);
		goto out;
	}
	static const uint8_t format[4] = {0, 0, 0, LEDGER_FORMAT_VERSION};
	if (meta_get(txn, l->meta, "format", &v) || v.mv_size != 4 || memcmp(v.mv_data, format, 4) != 0) {
		err = ledger_fail(LEDGER_ERR_FORMAT, "%s: ledger format is not version %u", dir, LEDGER_FORMAT_VERSION);
		goto out;
	}
	if (mdb_dbi_open(txn, "events", 0, &l->events) || mdb_dbi_open(txn, "requests", 0, &l->requests)) {
		err = ledger_fail(LEDGER_ERR_NOT_LEDGER, "%s: the events or requests database is missing", dir);
		goto out;
	}
	l->head_seq = 0;
	memset(l->head_hash, 0, sizeof l->head_hash);
	l->head_time_us = 0;
	if (meta_get(txn, l->meta, "head_seq", &v) == LEDGER_OK && v.mv_size == 8)
		l->head_seq = ledger_get_u64_be(v.mv_data);
	if (meta_get(txn, l->meta, "head_hash", &v) == LEDGER_OK && v.mv_size == LEDGER_HASH_BYTES)
		memcpy(l->head_hash, v.mv_data, LEDGER_HASH_BYTES);
	if (meta_get(txn, l->meta, "head_time_us", &v) == LEDGER_OK && v.mv_size == 8)
		l->head_time_us = (int64_t)ledger_get_u64_be(v.mv_data);
out:
	/* A read-only transaction's dbi handles stay valid after commit (LMDB: mdb_dbi_open). */
	mdb_txn_commit(txn);
	return err;
}

ledger_err ledger_open(const char *dir, const ledger_options *options, ledger **out)
{
	*out = NULL;
	if (sodium_init() < 0)
		return ledger_fail(LEDGER_ERR_INVALID, "libsodium failed to initialise");
	int exists = file_exists(dir, "data.mdb");
	if (exists <= 0)
		return ledger_fail(LEDGER_ERR_NOT_INITIALISED,
		                   "%s: no ledger here (no data.mdb); run `ledgerd init --data %s`", dir, dir);
	ledger_options o = options ? *options : (ledger_options){0};
	if (!o.scratch && !o.skip_store_check) {
		ledger_err checked = ledger_store_check(dir);
		if (checked)
			return checked;
	}
	ledger *l = calloc(1, sizeof *l);
	if (!l)
		return ledger_fail(LEDGER_ERR_NOMEM, "out of memory");
	l->read_only = o.read_only;
	l->writemap = o.scratch && !o.read_only;
	l->map_bytes_max = o.map_bytes_max ? o.map_bytes_max : MAP_BYTES_MAX_DEFAULT;
	pthread_rwlock_init(&l->resize_lock, NULL);
	pthread_mutex_init(&l->head_lock, NULL);
	ledger_err err = env_open(dir, &o, false, &l->env);
	if (err) {
		free(l);
		return err;
	}
	MDB_envinfo info;
	mdb_env_info(l->env, &info);
	l->map_bytes = info.me_mapsize;
	if (l->map_bytes_max < l->map_bytes)
		l->map_bytes_max = l->map_bytes;
	err = load_meta(l, dir);
	if (err == LEDGER_OK && !o.allow_broken_chain) {
		MDB_txn *txn;
		ledger_verify_result r;
		err = ledger_read_begin(l, &txn);
		if (err == LEDGER_OK) {
			err = ledger_verify(l, txn, &r);
			ledger_read_end(l, txn);
			if (err == LEDGER_ERR_CORRUPT)
				ledger_fail(err,
				            "%s: the hash chain is broken at seq %llu (%s); refusing to serve it: run "
				            "`ledger-audit verify --data %s`",
				            dir, (unsigned long long)r.bad_seq, r.reason, dir);
		}
	}
	if (err == LEDGER_OK) {
		ledger_err tree_err = ledger_tree_open(l, dir);
		/* An audit of a broken store opens it anyway: ledger_tree_verify reports the tree. */
		if (tree_err != LEDGER_ERR_CORRUPT || !o.allow_broken_chain)
			err = tree_err;
	}
	if (err == LEDGER_OK) {
		ledger_tree_set_signer(l, o.checkpoint_signer, o.checkpoint_keep_us);
		err = ledger_checkpoint_refresh(l);
	}
	if (err) {
		ledger_close(l);
		return err;
	}
	*out = l;
	return LEDGER_OK;
}

void ledger_close(ledger *l)
{
	if (!l)
		return;
	mdb_env_close(l->env);
	pthread_rwlock_destroy(&l->resize_lock);
	pthread_mutex_destroy(&l->head_lock);
	free(l);
}

ledger_err ledger_dbi_open(ledger *l, const char *name, unsigned flags, MDB_dbi *dbi)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(l->env, NULL, l->read_only ? MDB_RDONLY : 0, &txn);
	if (rc)
		return ledger_fail(ledger_mdb_err(rc), "cannot open database %s: %s", name, mdb_strerror(rc));
	rc = mdb_dbi_open(txn, name, flags | (l->read_only ? 0 : MDB_CREATE), dbi);
	if (rc) {
		mdb_txn_abort(txn);
		if (rc == MDB_NOTFOUND)
			return ledger_fail(LEDGER_ERR_NOT_LEDGER, "database %s is missing", name);
		return ledger_fail(ledger_mdb_err(rc), "cannot open database %s: %s", name, mdb_strerror(rc));
	}
	rc = mdb_txn_commit(txn);
	return rc ? ledger_fail(ledger_mdb_err(rc), "cannot open database %s: %s", name, mdb_strerror(rc)) : LEDGER_OK;
}

bool ledger_read_only(const ledger *l)
{
	return l->read_only;
}

void ledger_head(ledger *l, uint64_t *seq, uint8_t hash[LEDGER_HASH_BYTES])
{
	pthread_mutex_lock(&l->head_lock);
	if (seq)
		*seq = l->head_seq;
	if (hash)
		memcpy(hash, l->head_hash, LEDGER_HASH_BYTES);
	pthread_mutex_unlock(&l->head_lock);
}

ledger_err ledger_read_begin(ledger *l, MDB_txn **txn)
{
	for (int attempt = 0;; attempt++) {
		pthread_rwlock_rdlock(&l->resize_lock);
		int rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, txn);
		if (rc == 0)
			return LEDGER_OK;
		pthread_rwlock_unlock(&l->resize_lock);
		/* A reader beside a serving ledgerd (an audit): the writer grew the map since we opened
		 * it. LMDB's way is to adopt the new size (set_mapsize 0) while no transaction of this
		 * process is open, which the exclusive resize lock ensures, and begin again. */
		if (rc == MDB_MAP_RESIZED && attempt < 8) {
			pthread_rwlock_wrlock(&l->resize_lock);
			rc = mdb_env_set_mapsize(l->env, 0);
			if (rc == 0) {
				MDB_envinfo info;
				mdb_env_info(l->env, &info);
				l->map_bytes = info.me_mapsize;
			}
			pthread_rwlock_unlock(&l->resize_lock);
			if (rc == 0)
				continue;
		}
		return ledger_fail(ledger_mdb_err(rc), "cannot begin a read transaction: %s", mdb_strerror(rc));
	}
}

void ledger_read_end(ledger *l, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&l->resize_lock);
}

size_t ledger_prefault(ledger *l, size_t offset, size_t len)
{
	if (!l->writemap || len == 0)
		return 0;
	size_t done = 0;
	/* Shared, as a read transaction: the file does not grow meanwhile. */
	pthread_rwlock_rdlock(&l->resize_lock);
	MDB_envinfo info;
	MDB_stat st;
	int fd;
	if (mdb_env_get_fd(l->env, &fd) == 0 && mdb_env_info(l->env, &info) == 0 && mdb_env_stat(l->env, &st) == 0) {
		size_t start = ((size_t)info.me_last_pgno + 1) * st.ms_psize + offset;
		start &= ~(size_t)(PREFAULT_ALIGN_BYTES - 1);
		size_t end = start + len < info.me_mapsize ? start + len : info.me_mapsize;
		/* A mapping of our own: the kernel's work is on the file's pages (allocating them in the
		 * page cache, zeroed, and reserving their blocks), which LMDB's map then finds ready.
		 * Making the mapping populate writable changes no byte. */
		uint8_t *m = start < end ? mmap(NULL, end - start, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)start)
		                         : MAP_FAILED;
		if (m != MAP_FAILED) {
			if (madvise(m, end - start, MADV_POPULATE_WRITE) == 0)
				done = end - start;
			munmap(m, end - start);
		}
	}
	pthread_rwlock_unlock(&l->resize_lock);
	return done;
}

ledger_err ledger_record_parse(const uint8_t *value, size_t value_bytes, ledger_record *out)
{
	if (value_bytes < LEDGER_RECORD_HEADER_BYTES ||
	    memcmp(value, LEDGER_RECORD_MAGIC, LEDGER_RECORD_MAGIC_BYTES) != 0)
		return LEDGER_ERR_CORRUPT;
	const uint8_t *p = value + LEDGER_RECORD_MAGIC_BYTES;
	out->seq = ledger_get_u64_be(p);
	out->prev_hash = p + 8;
	out->hash = p + 8 + LEDGER_HASH_BYTES;
	out->event = value + LEDGER_RECORD_HEADER_BYTES;
	out->event_bytes = value_bytes - LEDGER_RECORD_HEADER_BYTES;
	return LEDGER_OK;
}

ledger_err ledger_get(ledger *l, MDB_txn *txn, uint64_t seq, ledger_record *out)
{
	uint8_t key[8];
	ledger_put_u64_be(key, seq);
	MDB_val k = {sizeof key, key}, v;
	int rc = mdb_get(txn, l->events, &k, &v);
	if (rc)
		return ledger_mdb_err(rc);
	return ledger_record_parse(v.mv_data, v.mv_size, out);
}

struct ledger_iter {
	MDB_cursor *cursor;
	uint64_t from_seq;
	bool started;
};

ledger_err ledger_iter_open(ledger *l, MDB_txn *txn, uint64_t from_seq, ledger_iter **out)
{
	ledger_iter *it = calloc(1, sizeof *it);
	if (!it)
		return LEDGER_ERR_NOMEM;
	int rc = mdb_cursor_open(txn, l->events, &it->cursor);
	if (rc) {
		free(it);
		return ledger_mdb_err(rc);
	}
	it->from_seq = from_seq;
	*out = it;
	return LEDGER_OK;
}

ledger_err ledger_iter_next(ledger_iter *it, ledger_record *out)
{
	uint8_t key[8];
	MDB_val k, v;
	int rc;
	if (!it->started && it->from_seq == 0) {
		/* From the very first key, whatever it is: verification must see junk placed before
		 * seq 1 or keys of the wrong size, which a seek to seq 1 would step over. */
		it->started = true;
		rc = mdb_cursor_get(it->cursor, &k, &v, MDB_FIRST);
	} else if (!it->started) {
		it->started = true;
		ledger_put_u64_be(key, it->from_seq);
		k = (MDB_val){sizeof key, key};
		rc = mdb_cursor_get(it->cursor, &k, &v, MDB_SET_RANGE);
	} else {
		rc = mdb_cursor_get(it->cursor, &k, &v, MDB_NEXT);
	}
	if (rc)
		return ledger_mdb_err(rc);
	if (k.mv_size != 8) {
		out->seq = 0;
		return LEDGER_ERR_CORRUPT;
	}
	uint64_t key_seq = ledger_get_u64_be(k.mv_data);
	ledger_err err = ledger_record_parse(v.mv_data, v.mv_size, out);
	/* The key is authoritative for iteration: on a bad record, or one whose seq field differs
	 * from its key, out->seq is the key's seq so the caller can name the bad place. */
	if (err == LEDGER_OK && out->seq == key_seq)
		return LEDGER_OK;
	out->seq = key_seq;
	return LEDGER_ERR_CORRUPT;
}

void ledger_iter_close(ledger_iter *it)
{
	if (!it)
		return;
	mdb_cursor_close(it->cursor);
	free(it);
}

MDB_txn *ledger_txn_mdb(ledger_txn *t)
{
	return t->txn;
}

int64_t ledger_txn_time_us(const ledger_txn *t)
{
	return t->time_us;
}

ledger_err ledger_append(ledger_txn *t, const uint8_t *event, size_t event_bytes, uint64_t *seq,
                         uint8_t hash[LEDGER_HASH_BYTES])
{
	if (event_bytes > LEDGER_EVENT_BYTES_MAX)
		return ledger_fail(LEDGER_ERR_TOO_LARGE, "event of %zu bytes is over the limit of %u", event_bytes,
		                   LEDGER_EVENT_BYTES_MAX);
	/* Preconditions: a write transaction whose head is the log's, with room for one more. */
	LEDGER_ASSERT(t->txn != NULL);
	LEDGER_ASSERT_MSG(t->seq < UINT64_MAX, "seq %llu", (unsigned long long)t->seq);
	LEDGER_ASSERT_MSG(t->first_seq == 0 || t->first_seq <= t->seq, "first %llu, head %llu",
	                  (unsigned long long)t->first_seq, (unsigned long long)t->seq);
	uint64_t next = t->seq + 1;
	uint8_t key[8];
	ledger_put_u64_be(key, next);
	MDB_val k = {sizeof key, key};
	MDB_val v = {LEDGER_RECORD_HEADER_BYTES + event_bytes, NULL};
	/* MDB_RESERVE: LMDB hands us the space and we write the record in place, once. */
	int rc = mdb_put(t->txn, t->l->events, &k, &v, MDB_APPEND | MDB_RESERVE);
	if (rc)
		return ledger_fail(ledger_mdb_err(rc), "append of seq %llu: %s", (unsigned long long)next,
		                   mdb_strerror(rc));
	uint8_t *p = v.mv_data;
	memcpy(p, LEDGER_RECORD_MAGIC, LEDGER_RECORD_MAGIC_BYTES);
	ledger_put_u64_be(p + LEDGER_RECORD_MAGIC_BYTES, next);
	memcpy(p + LEDGER_RECORD_MAGIC_BYTES + 8, t->hash, LEDGER_HASH_BYTES);
	uint8_t *h = p + LEDGER_RECORD_MAGIC_BYTES + 8 + LEDGER_HASH_BYTES;
	ledger_hash_record(next, t->hash, event, event_bytes, h);
	memcpy(p + LEDGER_RECORD_HEADER_BYTES, event, event_bytes);
	ledger_err err = ledger_tree_append(t, h);
	if (err)
		return err;
	/* Postconditions: the record names its place and chains to the head it extends. */
	LEDGER_ASSERT_MSG(ledger_get_u64_be(p + LEDGER_RECORD_MAGIC_BYTES) == next, "record seq %llu",
	                  (unsigned long long)next);
	LEDGER_ASSERT(memcmp(p + LEDGER_RECORD_MAGIC_BYTES + 8, t->hash, LEDGER_HASH_BYTES) == 0);
	t->seq = next;
	memcpy(t->hash, h, LEDGER_HASH_BYTES);
	if (t->first_seq == 0)
		t->first_seq = next;
	if (seq)
		*seq = next;
	if (hash)
		memcpy(hash, h, LEDGER_HASH_BYTES);
	return LEDGER_OK;
}

ledger_err ledger_meta_put_head(ledger_txn *t)
{
	uint8_t seq[8], when[8];
	ledger_put_u64_be(seq, t->seq);
	ledger_put_u64_be(when, (uint64_t)t->time_us);
	struct {
		const char *key;
		const void *value;
		size_t bytes;
	} rows[] = {
	    {"head_seq", seq, sizeof seq},
	    {"head_hash", t->hash, LEDGER_HASH_BYTES},
	    {"head_time_us", when, sizeof when},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		MDB_val k = {strlen(rows[i].key), (void *)rows[i].key};
		MDB_val v = {rows[i].bytes, (void *)rows[i].value};
		int rc = mdb_put(t->txn, t->l->meta, &k, &v, 0);
		if (rc)
			return ledger_fail(ledger_mdb_err(rc), "meta head: %s", mdb_strerror(rc));
	}
	return LEDGER_OK;
}
