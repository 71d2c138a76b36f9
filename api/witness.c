/*
 * witness.c: witnesses' cosignatures of the log's checkpoints (CheckpointCosign), received
 * over RPC and kept beside the log (docs/log-format.md section 10, docs/rpc.md).
 *
 * A cosignature is worth keeping only from a witness the operator configured (`ledgerd serve
 * --witness VKEY_FILE`), over a checkpoint this log signed, of a tree the records make: all
 * three are checked on the callback thread, before the committer sees anything. The committer
 * then merges the new lines with those already kept for that size (one line per witness, the
 * newest), in its single write transaction, so concurrent cosignatures of one size all stay.
 */
#include "server_internal.h"
#include "tlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIGNATURE_LINES_MAX (1 + API_WITNESSES_MAX)

typedef struct cosign_job {
	ledger_job job; /* first member */
	worker *w;
	uint64_t size;
	char *note; /* verified: the log's line and configured witnesses' lines only */
	size_t note_bytes;
	char *merged; /* what was stored */
	size_t merged_bytes;
} cosign_job;

/* A signature line "— NAME BASE64\n" of a note: its name and key ID (the first 4 decoded bytes). */
typedef struct sig_line {
	const char *start;
	size_t bytes; /* with its '\n' */
	char name[TLOG_NAME_BYTES_MAX + 1];
	uint8_t key_id[TLOG_KEY_ID_BYTES];
} sig_line;

static const char DASH[] = "\xe2\x80\x94 "; /* U+2014 and a space */

/* The lines after the note's text; false if one is not a signature line. */
static bool split_lines(const char *note, size_t n, size_t *text_bytes, sig_line *lines, size_t *count, size_t max)
{
	const char *blank = NULL;
	for (size_t i = 0; i + 1 < n; i++)
		if (note[i] == '\n' && note[i + 1] == '\n') {
			blank = note + i + 1;
			break;
		}
	if (!blank)
		return false;
	*text_bytes = (size_t)(blank - note) + 1;
	*count = 0;
	for (const char *p = blank + 1, *end = note + n; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t dash = sizeof DASH - 1;
		if (!nl || *count == max || (size_t)(nl - p) < dash || memcmp(p, DASH, dash) != 0)
			return false;
		const char *name = p + dash, *space = memchr(name, ' ', (size_t)(nl - name));
		if (!space || (size_t)(space - name) > TLOG_NAME_BYTES_MAX)
			return false;
		sig_line *l = &lines[(*count)++];
		l->start = p;
		l->bytes = (size_t)(nl - p) + 1;
		memcpy(l->name, name, (size_t)(space - name));
		l->name[space - name] = '\0';
		uint8_t sig[TLOG_KEY_ID_BYTES + 128];
		size_t sig_bytes;
		if (tlog_base64_decode(space + 1, (size_t)(nl - space - 1), sig, sizeof sig, &sig_bytes) != TLOG_OK ||
		    sig_bytes < TLOG_KEY_ID_BYTES)
			return false;
		memcpy(l->key_id, sig, TLOG_KEY_ID_BYTES);
		p = nl + 1;
	}
	return true;
}

static bool same_key(const sig_line *l, const tlog_verifier *v)
{
	return strcmp(l->name, v->name) == 0 && memcmp(l->key_id, v->key_id, TLOG_KEY_ID_BYTES) == 0;
}

/*
 * Into out: the text, the log's line, then for each configured witness its line from `fresh`
 * if there is one, else from `kept`. Lines of other keys are dropped.
 */
static size_t merge(const server *s, const char *fresh, size_t fresh_bytes, const char *kept, size_t kept_bytes,
                    char *out, size_t cap)
{
	sig_line a[SIGNATURE_LINES_MAX + 8], b[SIGNATURE_LINES_MAX + 8];
	size_t text, na = 0, nb = 0, kept_text;
	if (!split_lines(fresh, fresh_bytes, &text, a, &na, sizeof a / sizeof a[0]))
		return 0;
	if (kept && !split_lines(kept, kept_bytes, &kept_text, b, &nb, sizeof b / sizeof b[0]))
		nb = 0; /* unreadable: replaced */
	size_t n = 0;
#define APPEND(p, len)                                                                                                 \
	do {                                                                                                           \
		if (n + (len) >= cap)                                                                                  \
			return 0;                                                                                      \
		memcpy(out + n, (p), (len));                                                                           \
		n += (len);                                                                                            \
	} while (0)
	APPEND(fresh, text);
	for (size_t i = 0; i < na; i++)
		if (same_key(&a[i], &s->log_key->verifier))
			APPEND(a[i].start, a[i].bytes);
	for (size_t w = 0; w < s->witness_count; w++) {
		const sig_line *pick = NULL;
		for (size_t i = 0; i < na && !pick; i++)
			if (same_key(&a[i], &s->witnesses[w]))
				pick = &a[i];
		for (size_t i = 0; i < nb && !pick; i++)
			if (same_key(&b[i], &s->witnesses[w]))
				pick = &b[i];
		if (pick)
			APPEND(pick->start, pick->bytes);
	}
#undef APPEND
	out[n] = '\0';
	return n;
}

static ledger_err cosign_apply(ledger_job *job, ledger_txn *t)
{
	cosign_job *j = (cosign_job *)job;
	server *s = j->w->s;
	char *kept = malloc(LEDGER_COSIGNED_BYTES_MAX);
	if (!kept)
		return LEDGER_ERR_NOMEM;
	size_t kept_bytes = 0;
	ledger_err err =
	    ledger_cosigned_get(s->l, ledger_txn_mdb(t), j->size, kept, LEDGER_COSIGNED_BYTES_MAX, &kept_bytes);
	j->merged_bytes = merge(s, j->note, j->note_bytes, err == LEDGER_OK ? kept : NULL, kept_bytes, j->merged,
	                        LEDGER_COSIGNED_BYTES_MAX);
	free(kept);
	if (err != LEDGER_OK && err != LEDGER_END)
		return err;
	if (j->merged_bytes == 0) /* does not fit: refused in done(); an error here would fail the batch */
		return LEDGER_OK;
	return ledger_cosigned_put(t, j->size, j->merged, j->merged_bytes);
}

static void cosign_done(ledger_job *job, ledger_err err)
{
	cosign_job *j = (cosign_job *)job;
	worker *w = j->w;
	if (!err && j->merged_bytes == 0) {
		worker_send_error(w, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "note",
		                  "the cosigned checkpoint, merged with the lines kept, is over 8 KiB");
		return;
	}
	if (err) {
		char m[400];
		snprintf(m, sizeof m, "the cosignature was not kept: %s (%s)", ledger_strerror(err),
		         ledger_last_error());
		worker_send_error(w,
		                  err == LEDGER_ERR_MAP_FULL || err == LEDGER_ERR_DISK_FULL
		                      ? LEDGER__API__ERROR_CODE__STORAGE_FULL
		                      : LEDGER__API__ERROR_CODE__INTERNAL,
		                  NULL, m);
	} else {
		Ledger__Api__HeadReply *h = proj_arena_alloc(w->arena, sizeof *h);
		if (h) {
			ledger__api__head_reply__init(h);
			h->cosigned = j->merged;
			w->reply.result_case = LEDGER__API__REPLY__RESULT_HEAD;
			w->reply.head = h;
		}
		worker_send_reply(w);
	}
}

/* Checks the note: a checkpoint of this log, of a tree the records make, with at least one
 * configured witness's valid cosignature. False with the error sent. */
static bool cosign_check(worker *w, const char *note, size_t n, uint64_t *size)
{
	server *s = w->s;
	if (s->witness_count == 0) {
		worker_send_error(w, LEDGER__API__ERROR_CODE__PERMISSION_DENIED, "note",
		                  "this ledgerd has no witness configured (ledgerd serve --witness VKEY_FILE)");
		return false;
	}
	tlog_checkpoint cp;
	tlog_note_result r;
	tlog_err err = tlog_checkpoint_open(note, n, &s->log_key->verifier, s->witnesses, s->witness_count, &cp, &r);
	bool cosigned = false;
	for (size_t i = 0; err == TLOG_OK && i < s->witness_count; i++)
		cosigned = cosigned || r.verified[1 + i];
	char m[512];
	if (err || !cosigned) {
		snprintf(m, sizeof m, "not a checkpoint of this log cosigned by a configured witness: %s",
		         err ? tlog_last_error() : "no configured witness's line");
		worker_send_error(w, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "note", m);
		return false;
	}
	MDB_txn *txn;
	uint8_t root[LEDGER_HASH_BYTES];
	if (ledger_read_begin(s->l, &txn) != LEDGER_OK) {
		worker_send_error(w, LEDGER__API__ERROR_CODE__INTERNAL, NULL, ledger_last_error());
		return false;
	}
	ledger_err lerr = ledger_tree_root(s->l, txn, cp.size, root);
	ledger_read_end(s->l, txn);
	if (lerr || memcmp(root, cp.root, sizeof root) != 0) {
		snprintf(m, sizeof m, "the checkpoint of %llu records is not one of this log's tree",
		         (unsigned long long)cp.size);
		worker_send_error(w, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "note", m);
		return false;
	}
	*size = cp.size;
	return true;
}

void witness_cosign(worker *w)
{
	const Ledger__Api__CheckpointCosign *c = w->req->checkpoint_cosign;
	size_t n = c->note ? strlen(c->note) : 0;
	uint64_t size;
	if (n == 0 || n >= LEDGER_COSIGNED_BYTES_MAX) {
		worker_send_error(w, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "note",
		                  "a cosigned checkpoint of 1 byte to 8 KiB is expected");
		return;
	}
	if (!cosign_check(w, c->note, n, &size))
		return;
	cosign_job *j = proj_arena_alloc(w->arena, sizeof *j);
	char *merged = proj_arena_alloc(w->arena, LEDGER_COSIGNED_BYTES_MAX);
	if (!j || !merged) {
		worker_send_error(w, LEDGER__API__ERROR_CODE__INTERNAL, NULL, "out of memory");
		return;
	}
	*j = (cosign_job){.job = {.apply = cosign_apply, .done = cosign_done},
	                  .w = w,
	                  .size = size,
	                  .note = c->note,
	                  .note_bytes = n,
	                  .merged = merged};
	ledger_committer_submit(w->s->committer, &j->job);
}

bool witness_keys_load(server *s)
{
	for (size_t i = 0; i < API_WITNESSES_MAX && s->o->witness_files[i]; i++) {
		FILE *f = fopen(s->o->witness_files[i], "re");
		char text[TLOG_VKEY_BYTES_MAX + 2] = "";
		size_t len = f ? fread(text, 1, sizeof text - 1, f) : 0;
		if (f)
			fclose(f);
		text[len] = '\0';
		while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
			text[--len] = '\0';
		if (!f || tlog_vkey_parse(text, &s->witnesses[i]) != TLOG_OK ||
		    s->witnesses[i].type != TLOG_TYPE_COSIGNATURE_V1) {
			fprintf(stderr, "ledgerd: --witness %s: %s\n", s->o->witness_files[i],
			        !f ? "cannot be read" : "not a C2SP cosignature/v1 verifier key (type 0x04)");
			return false;
		}
		s->witness_count = i + 1;
	}
	return true;
}
