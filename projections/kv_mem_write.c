/*
 * kv_mem_write.c: the in-memory backend's way out: each table sorted once (a radix sort on
 * the keys' first 16 bytes), written into LMDB in key order (MDB_APPEND into an empty
 * database), and scans that merge memory with the base it sits over (kv_mem.c has the tables).
 */
#include "kv_mem.h"

#include <stdlib.h>
#include <string.h>

/* ----- order ----- */

/*
 * Sorting: a least-significant-digit radix sort on the rows' first 16 key bytes, held in the
 * rows themselves, then a comparison sort of each run of rows equal in those 16 bytes (keys of
 * the projections rarely share 16 bytes: a firm and a collaborator, an instant and a firm). A
 * comparison sort would instead read each row's entry, scattered over the arena, about log2(n)
 * times: it took most of the time of writing the 1M-event benchmark's projections.
 */
#define RADIX_DIGITS      16u /* bytes of hi and lo */
#define RUN_INSERTION_MAX 16u /* longer runs of equal prefixes: qsort */
#define PREFETCH_DISTANCE 8u  /* rows ahead: entries are scattered, fetch them early */

static void row_fill(sorted_row *r, const entry *e)
{
	uint8_t b[RADIX_DIGITS] = {0};
	memcpy(b, e->data, e->key_bytes < RADIX_DIGITS ? e->key_bytes : RADIX_DIGITS);
	r->hi = ledger_get_u64_be(b);
	r->lo = ledger_get_u64_be(b + 8);
	r->e = e;
}

/* Digit d of a row: byte d of its 16-byte prefix, 0 the most significant. */
static unsigned row_digit(const sorted_row *r, unsigned d)
{
	return (unsigned)((d < 8 ? r->hi >> (8 * (7 - d)) : r->lo >> (8 * (15 - d))) & 0xff);
}

/* LMDB's default order: memcmp over the shorter length, then the shorter key first. */
static int key_cmp(const void *a, size_t a_bytes, const void *b, size_t b_bytes)
{
	int c = memcmp(a, b, a_bytes < b_bytes ? a_bytes : b_bytes);
	return c ? c : (a_bytes > b_bytes) - (a_bytes < b_bytes);
}

static int row_cmp(const void *x, const void *y)
{
	const sorted_row *a = x, *b = y;
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return key_cmp(a->e->data, a->e->key_bytes, b->e->data, b->e->key_bytes);
}

/* Orders rows by their prefixes; false when out of memory. Stable, as LSD must be. */
static bool radix_sort(sorted_row *rows, size_t n)
{
	size_t(*counts)[256] = calloc(RADIX_DIGITS, sizeof *counts);
	sorted_row *tmp = n > 1 ? malloc(n * sizeof *tmp) : NULL;
	if (!counts || (n > 1 && !tmp)) {
		free(counts);
		free(tmp);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		for (unsigned d = 0; d < RADIX_DIGITS; d++)
			counts[d][row_digit(&rows[i], d)]++;
	sorted_row *from = rows, *to = tmp;
	for (unsigned d = RADIX_DIGITS; d-- > 0;) {
		size_t *c = counts[d], offset = 0;
		if (n < 2 || c[row_digit(&from[0], d)] == n)
			continue; /* every row has the same digit here: the pass would change nothing */
		for (unsigned v = 0; v < 256; v++) {
			size_t k = c[v];
			c[v] = offset;
			offset += k;
		}
		for (size_t i = 0; i < n; i++)
			to[c[row_digit(&from[i], d)]++] = from[i];
		sorted_row *swap = from;
		from = to;
		to = swap;
	}
	if (from != rows)
		memcpy(rows, from, n * sizeof *rows);
	free(tmp);
	free(counts);
	return true;
}

/* Orders each run of rows equal in their prefixes by their whole keys. */
static void sort_runs(sorted_row *rows, size_t n)
{
	for (size_t start = 0, end; start < n; start = end) {
		for (end = start + 1; end < n && rows[end].hi == rows[start].hi && rows[end].lo == rows[start].lo;)
			end++;
		if (end - start > RUN_INSERTION_MAX) {
			qsort(rows + start, end - start, sizeof *rows, row_cmp);
			continue;
		}
		for (size_t i = start + 1; i < end; i++)
			for (size_t j = i; j > start && row_cmp(&rows[j - 1], &rows[j]) > 0; j--) {
				sorted_row r = rows[j];
				rows[j] = rows[j - 1];
				rows[j - 1] = r;
			}
	}
}

/* The entries of t (tombstones included if with_tombstones) whose key starts with prefix,
 * sorted; NULL when out of memory. The caller frees it. */
static proj_kv_sorted *sort_table(const table *t, const void *prefix, size_t prefix_bytes, bool with_tombstones)
{
	proj_kv_sorted *out = malloc(sizeof *out + t->used * sizeof out->rows[0]);
	if (!out)
		return NULL;
	out->count = 0;
	for (size_t i = 0; i < t->slots_count; i++) {
		if (i + PREFETCH_DISTANCE < t->slots_count && t->slots[i + PREFETCH_DISTANCE].e)
			__builtin_prefetch(t->slots[i + PREFETCH_DISTANCE].e);
		const entry *e = t->slots[i].e;
		if (!e || (e->val_bytes == TOMBSTONE && !with_tombstones))
			continue;
		if (e->key_bytes < prefix_bytes || memcmp(e->data, prefix, prefix_bytes) != 0)
			continue;
		row_fill(&out->rows[out->count++], e);
	}
	if (!radix_sort(out->rows, out->count)) {
		free(out);
		return NULL;
	}
	sort_runs(out->rows, out->count);
	return out;
}

ledger_err proj_kv_mem_sort(proj_kv_mem *m, MDB_dbi dbi)
{
	table *t = table_of(m, dbi);
	if (!t)
		return LEDGER_ERR_INVALID;
	LEDGER_ASSERT(m->pending_count == 0); /* proj_kv_mem_flush first */
	if (!t->sorted)
		t->sorted = sort_table(t, "", 0, true);
	return t->sorted ? LEDGER_OK : LEDGER_ERR_NOMEM;
}

/* Into an empty database: each row after the last, so LMDB fills each page once. */
static int write_append(MDB_txn *txn, MDB_dbi dbi, const proj_kv_sorted *sorted, uint64_t *rows)
{
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(txn, dbi, &cur);
	for (size_t i = 0; rc == 0 && i < sorted->count; i++) {
		if (i + PREFETCH_DISTANCE < sorted->count)
			__builtin_prefetch(sorted->rows[i + PREFETCH_DISTANCE].e);
		const entry *e = sorted->rows[i].e;
		if (e->val_bytes == TOMBSTONE)
			continue;
		MDB_val k = {e->key_bytes, (void *)e->data}, v = {e->val_bytes, (void *)(e->data + e->key_bytes)};
		rc = mdb_cursor_put(cur, &k, &v, MDB_APPEND);
		*rows += rc == 0;
	}
	if (cur)
		mdb_cursor_close(cur);
	return rc;
}

/* Over what an earlier write left: puts and dels, in key order all the same. */
static int write_merge(MDB_txn *txn, MDB_dbi dbi, const proj_kv_sorted *sorted, uint64_t *rows)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sorted->count; i++) {
		const entry *e = sorted->rows[i].e;
		MDB_val k = {e->key_bytes, (void *)e->data}, v = {e->val_bytes, (void *)(e->data + e->key_bytes)};
		if (e->val_bytes == TOMBSTONE) {
			rc = mdb_del(txn, dbi, &k, NULL);
			rc = rc == MDB_NOTFOUND ? 0 : rc;
		} else {
			rc = mdb_put(txn, dbi, &k, &v, 0);
			*rows += rc == 0;
		}
	}
	return rc;
}

ledger_err proj_kv_mem_write(proj_kv_mem *m, MDB_txn *txn, MDB_dbi dbi, uint64_t *rows)
{
	ledger_err err = proj_kv_mem_sort(m, dbi);
	if (err)
		return err;
	const proj_kv_sorted *sorted = table_of(m, dbi)->sorted;
	MDB_stat st;
	int rc = mdb_stat(txn, dbi, &st);
	if (rc == 0)
		rc = st.ms_entries == 0 ? write_append(txn, dbi, sorted, rows) : write_merge(txn, dbi, sorted, rows);
	return ledger_mdb_err(rc);
}

size_t proj_kv_mem_write_bytes(const proj_kv_mem *m)
{
	/* LMDB fills each page written in key order (MDB_APPEND), but for its 16-byte header; the
	 * branch pages above take about one part in a hundred more. */
	size_t b = m->live_bytes + m->pending_used;
	return b + b / 64;
}

bool proj_kv_mem_has(const proj_kv_mem *m, MDB_dbi dbi)
{
	return dbi < PROJ_KV_MEM_DBS_MAX && m->tables[dbi].used;
}

/* ----- scan: memory and base merged, memory winning ----- */

typedef struct scan_base {
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;
	const void *prefix;
	size_t prefix_bytes;
} scan_base;

static void base_step(scan_base *b, MDB_cursor_op op)
{
	if (!b->cur) {
		b->rc = MDB_NOTFOUND;
		return;
	}
	if (op == MDB_SET_RANGE)
		b->k = (MDB_val){b->prefix_bytes, (void *)b->prefix};
	if (op == MDB_SET_RANGE && b->prefix_bytes == 0)
		op = MDB_FIRST; /* LMDB refuses an empty key */
	b->rc = mdb_cursor_get(b->cur, &b->k, &b->v, op);
	if (b->rc == 0 && (b->k.mv_size < b->prefix_bytes || memcmp(b->k.mv_data, b->prefix, b->prefix_bytes) != 0))
		b->rc = MDB_NOTFOUND; /* past the prefix */
}

ledger_err proj_kv_mem_scan(proj_kv_mem *m, MDB_txn *base, MDB_dbi dbi, const void *prefix, size_t prefix_bytes,
                            proj_kv_visit visit, void *ctx)
{
	table *t = table_of(m, dbi);
	if (!t)
		return LEDGER_ERR_INVALID;
	ledger_err err = proj_kv_mem_flush(m, base); /* scans read the tables only */
	if (err)
		return err;
	proj_kv_sorted *mine = sort_table(t, prefix, prefix_bytes, true);
	scan_base b = {.prefix = prefix, .prefix_bytes = prefix_bytes};
	int rc = mine && base ? mdb_cursor_open(base, dbi, &b.cur) : 0;
	if (!mine || rc) {
		free(mine);
		return mine ? ledger_mdb_err(rc) : LEDGER_ERR_NOMEM;
	}
	base_step(&b, MDB_SET_RANGE);
	bool go = true;
	for (size_t i = 0; go && (i < mine->count || b.rc == 0);) {
		const entry *e = i < mine->count ? mine->rows[i].e : NULL;
		int c = !e ? 1 : b.rc ? -1 : key_cmp(e->data, e->key_bytes, b.k.mv_data, b.k.mv_size);
		if (c > 0) {
			go = visit(ctx, b.k.mv_data, b.k.mv_size, b.v.mv_data, b.v.mv_size);
			base_step(&b, MDB_NEXT);
			continue;
		}
		if (c == 0)
			base_step(&b, MDB_NEXT); /* shadowed by memory */
		if (e->val_bytes != TOMBSTONE)
			go = visit(ctx, e->data, e->key_bytes, e->data + e->key_bytes, e->val_bytes);
		i++;
	}
	rc = b.rc == MDB_NOTFOUND ? 0 : b.rc;
	if (b.cur)
		mdb_cursor_close(b.cur);
	free(mine);
	return go ? ledger_mdb_err(rc) : LEDGER_OK;
}
