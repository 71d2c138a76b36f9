/*
 * transparency.c: ledger-audit's view of the log as a transparency log (docs/log-format.md,
 * "The tree" and "Checkpoints"; docs/audit.md, "Checkpoints, proofs and witnesses").
 *
 *   checkpoint    the latest signed checkpoint, after checking it against the log key and the
 *                 records (print it to a file: it is what an outsider keeps)
 *   verify        (the tree part) every stored subtree against the records, every kept
 *                 checkpoint against the key and the tree, and --since: a checkpoint held
 *                 outside the data directory must be a prefix of the log as it is now
 *   prove --tlog-proof   a C2SP tlog-proof of one record, carrying the record's bytes
 *   verify-proof  checks such a proof with the log key alone, without the data directory
 *   witness       checks that the log only grew since the checkpoint it saw last, and cosigns
 *                 (C2SP tlog-cosignature) the new one
 *
 * The log key comes from --log-key FILE (what an auditor was given), else from the data
 * directory's keys/log.vkey (which whoever controls the directory could replace: the output
 * says which was used).
 */
#include "audit.h"
#include "tlog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NOTE_FILE_BYTES_MAX  (TLOG_NOTE_BYTES_MAX)
#define PROOF_FILE_BYTES_MAX (2u * 1024u * 1024u + TLOG_NOTE_BYTES_MAX) /* a record in base64, a note */
#define PROOF_HEADER         "c2sp.org/tlog-proof@v1"

bool audit_load_vkey(const char *path, tlog_verifier *out)
{
	size_t n;
	char *text = audit_read_text(path, TLOG_VKEY_BYTES_MAX + 2, &n);
	if (!text)
		return false;
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	bool ok = tlog_vkey_parse(text, out) == TLOG_OK;
	if (!ok)
		fprintf(stderr, "ledger-audit: %s: not a C2SP verifier key: %s\n", path, tlog_last_error());
	free(text);
	return ok;
}

/* The log key: --log-key, else DIR/keys/log.vkey. */
static bool log_key(const char *dir, const char *key_path, tlog_verifier *out, char *used, size_t used_cap)
{
	if (key_path)
		snprintf(used, used_cap, "%s", key_path);
	else
		snprintf(used, used_cap, "%s/keys/log.vkey", dir);
	return audit_load_vkey(used, out);
}

static void hex(const uint8_t *in, size_t n, char *out)
{
	ledger_hex(in, n, out);
}

/* Opens a signed checkpoint by the log key; a message naming what is wrong on failure. */
static bool open_checkpoint(const char *note, size_t bytes, const tlog_verifier *key, tlog_checkpoint *out, char *why,
                            size_t why_cap)
{
	tlog_note_result r;
	tlog_err err = tlog_checkpoint_open(note, bytes, key, NULL, 0, out, &r);
	if (err)
		snprintf(why, why_cap, "%s (%s)", tlog_strerror(err), tlog_last_error());
	return err == TLOG_OK;
}

/* The checkpoint's root against the tree of its size as the records make it (the stored subtrees
 * having been checked against the records). */
static bool checkpoint_matches(ledger *l, MDB_txn *txn, const tlog_checkpoint *cp, uint64_t head, char *why,
                               size_t why_cap)
{
	if (cp->size > head) {
		snprintf(why, why_cap, "the log was cut: the checkpoint covers %llu records, the log has %llu",
		         (unsigned long long)cp->size, (unsigned long long)head);
		return false;
	}
	uint8_t root[LEDGER_HASH_BYTES];
	if (ledger_tree_root(l, txn, cp->size, root) != LEDGER_OK) {
		snprintf(why, why_cap, "no tree root at size %llu: %s", (unsigned long long)cp->size,
		         ledger_last_error());
		return false;
	}
	if (memcmp(root, cp->root, LEDGER_HASH_BYTES) != 0) {
		snprintf(why, why_cap,
		         "the log was rewritten: its first %llu records do not make the checkpoint's root",
		         (unsigned long long)cp->size);
		return false;
	}
	return true;
}

typedef struct kept_ctx {
	ledger *l;
	MDB_txn *txn;
	const tlog_verifier *key;
	uint64_t head, count, bad_size;
	char why[256];
} kept_ctx;

static ledger_err check_kept(void *ctx, uint64_t size, const char *note, size_t bytes)
{
	kept_ctx *k = ctx;
	tlog_checkpoint cp;
	char why[200];
	if (!open_checkpoint(note, bytes, k->key, &cp, why, sizeof why) ||
	    !checkpoint_matches(k->l, k->txn, &cp, k->head, why, sizeof why) || cp.size != size) {
		k->bad_size = size;
		snprintf(k->why, sizeof k->why, "kept checkpoint %llu: %s", (unsigned long long)size,
		         cp.size != size ? "stored under another size" : why);
		return LEDGER_ERR_CORRUPT;
	}
	k->count++;
	return LEDGER_OK;
}

int audit_verify_tree(ledger *l, MDB_txn *txn, const char *dir, const char *key_path, const char *since_path,
                      audit_tree_result *out)
{
	memset(out, 0, sizeof *out);
	ledger_verify_result r;
	ledger_err err = ledger_tree_verify(l, txn, &r);
	if (err == LEDGER_ERR_NOT_INITIALISED) {
		snprintf(out->why, sizeof out->why, "%s", ledger_last_error());
		return AUDIT_EXIT_BAD;
	}
	if (err) {
		snprintf(out->why, sizeof out->why, "the Merkle tree: %s",
		         r.reason[0] ? r.reason : ledger_last_error());
		return err == LEDGER_ERR_CORRUPT ? AUDIT_EXIT_BAD : AUDIT_EXIT_UNREADABLE;
	}
	out->size = r.head_seq;
	hex(r.head_hash, LEDGER_HASH_BYTES, out->root);
	tlog_verifier key;
	if (!log_key(dir, key_path, &key, out->key_file, sizeof out->key_file)) {
		snprintf(out->why, sizeof out->why, "cannot read the log key %.400s", out->key_file);
		return AUDIT_EXIT_USAGE;
	}
	/* The latest checkpoint and every kept one: signed by the key, over the records' tree. */
	char note[LEDGER_CHECKPOINT_BYTES_MAX];
	size_t bytes;
	err = ledger_checkpoint_latest(l, txn, note, sizeof note, &bytes);
	if (err == LEDGER_OK) {
		tlog_checkpoint cp;
		char why[200];
		if (!open_checkpoint(note, bytes, &key, &cp, why, sizeof why) ||
		    !checkpoint_matches(l, txn, &cp, out->size, why, sizeof why)) {
			snprintf(out->why, sizeof out->why, "the latest checkpoint: %s", why);
			return AUDIT_EXIT_BAD;
		}
		out->checkpoint_size = cp.size;
		snprintf(out->origin, sizeof out->origin, "%s", cp.origin);
	} else if (err != LEDGER_END) {
		snprintf(out->why, sizeof out->why, "the latest checkpoint: %s", ledger_last_error());
		return AUDIT_EXIT_UNREADABLE;
	}
	kept_ctx k = {.l = l, .txn = txn, .key = &key, .head = out->size};
	err = ledger_checkpoints_each(l, txn, check_kept, &k);
	out->kept = k.count;
	if (err) {
		snprintf(out->why, sizeof out->why, "%s", k.why[0] ? k.why : ledger_last_error());
		return AUDIT_EXIT_BAD;
	}
	if (since_path) {
		char *since = audit_read_text(since_path, NOTE_FILE_BYTES_MAX, &bytes);
		if (!since) {
			snprintf(out->why, sizeof out->why, "cannot read --since %s", since_path);
			return AUDIT_EXIT_USAGE;
		}
		tlog_checkpoint cp;
		char why[200];
		bool ok = open_checkpoint(since, bytes, &key, &cp, why, sizeof why);
		free(since);
		if (!ok) {
			snprintf(out->why, sizeof out->why, "--since %s: not a checkpoint signed by the log key: %s",
			         since_path, why);
			return AUDIT_EXIT_BAD;
		}
		if (!checkpoint_matches(l, txn, &cp, out->size, why, sizeof why)) {
			snprintf(out->why, sizeof out->why, "since %s: %s", since_path, why);
			return AUDIT_EXIT_BAD;
		}
		out->since_size = cp.size;
	}
	return 0;
}

int audit_checkpoint(const char *dir, const char *key_path, bool json)
{
	audit_store s;
	int rc = audit_store_open(dir, &s);
	if (rc)
		return rc;
	audit_tree_result t;
	rc = audit_verify_tree(s.l, s.txn, dir, key_path, NULL, &t);
	char note[LEDGER_CHECKPOINT_BYTES_MAX];
	size_t bytes = 0;
	ledger_err err = rc ? LEDGER_OK : ledger_checkpoint_latest(s.l, s.txn, note, sizeof note, &bytes);
	audit_store_close(&s);
	if (rc) {
		fprintf(stderr, "ledger-audit checkpoint: %s\n", t.why);
		return rc;
	}
	if (err == LEDGER_END) {
		fprintf(stderr, "ledger-audit checkpoint: %s has no signed checkpoint yet\n", dir);
		return AUDIT_EXIT_BAD;
	}
	if (err) {
		fprintf(stderr, "ledger-audit checkpoint: %s\n", ledger_last_error());
		return AUDIT_EXIT_UNREADABLE;
	}
	if (!json) {
		fwrite(note, 1, bytes, stdout);
		return 0;
	}
	/* The note's text ends at its blank line (opened above, so there is one). */
	tlog_checkpoint cp = {0};
	const char *blank = strstr(note, "\n\n");
	if (blank)
		tlog_checkpoint_parse(note, (size_t)(blank - note) + 1, &cp);
	char root[2 * LEDGER_HASH_BYTES + 1];
	hex(cp.root, sizeof cp.root, root);
	fputs("{\"origin\":", stdout);
	audit_json_string(stdout, cp.origin, strlen(cp.origin));
	printf(",\"size\":%llu,\"root\":\"%s\",\"key_file\":", (unsigned long long)cp.size, root);
	audit_json_string(stdout, t.key_file, strlen(t.key_file));
	fputs(",\"note\":", stdout);
	audit_json_string(stdout, note, bytes);
	fputs("}\n", stdout);
	return 0;
}

/* ----- tlog-proof files ----- */

/* The stored bytes of record seq (the layout of docs/log-format.md), malloc'd. */
static uint8_t *record_bytes(const ledger_record *rec, size_t *n)
{
	*n = LEDGER_RECORD_HEADER_BYTES + rec->event_bytes;
	uint8_t *b = malloc(*n);
	if (!b)
		return NULL;
	memcpy(b, LEDGER_RECORD_MAGIC, LEDGER_RECORD_MAGIC_BYTES);
	ledger_put_u64_be(b + LEDGER_RECORD_MAGIC_BYTES, rec->seq);
	memcpy(b + LEDGER_RECORD_MAGIC_BYTES + 8, rec->prev_hash, LEDGER_HASH_BYTES);
	memcpy(b + LEDGER_RECORD_MAGIC_BYTES + 8 + LEDGER_HASH_BYTES, rec->hash, LEDGER_HASH_BYTES);
	memcpy(b + LEDGER_RECORD_HEADER_BYTES, rec->event, rec->event_bytes);
	return b;
}

static bool base64_line(FILE *f, const char *prefix, const uint8_t *bin, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *text = malloc(cap);
	if (!text)
		return false;
	sodium_bin2base64(text, cap, bin, n, sodium_base64_VARIANT_ORIGINAL);
	bool ok = fprintf(f, "%s%s\n", prefix, text) > 0;
	free(text);
	return ok;
}

int audit_tlog_proof(const char *dir, const char *key_path, uint64_t seq, const char *checkpoint_path,
                     const char *output)
{
	audit_store s;
	int rc = audit_store_open(dir, &s);
	if (rc)
		return rc;
	audit_tree_result t;
	char note[NOTE_FILE_BYTES_MAX + 1], why[256] = "";
	size_t note_bytes = 0;
	tlog_checkpoint cp;
	tlog_verifier key;
	rc = audit_verify_tree(s.l, s.txn, dir, key_path, NULL, &t);
	if (rc)
		snprintf(why, sizeof why, "%.250s", t.why);
	else if (!log_key(dir, key_path, &key, t.key_file, sizeof t.key_file))
		rc = AUDIT_EXIT_USAGE;
	if (!rc && checkpoint_path) { /* a checkpoint kept outside, cosigned by witnesses, say */
		char *text = audit_read_text(checkpoint_path, NOTE_FILE_BYTES_MAX, &note_bytes);
		if (!text)
			rc = AUDIT_EXIT_USAGE;
		else
			memcpy(note, text, note_bytes + 1);
		free(text);
	} else if (!rc && ledger_checkpoint_latest(s.l, s.txn, note, sizeof note, &note_bytes) != LEDGER_OK) {
		snprintf(why, sizeof why, "no signed checkpoint in %s", dir);
		rc = AUDIT_EXIT_BAD;
	}
	char cp_why[200];
	if (!rc && (!open_checkpoint(note, note_bytes, &key, &cp, cp_why, sizeof cp_why) ||
	            !checkpoint_matches(s.l, s.txn, &cp, t.size, cp_why, sizeof cp_why))) {
		snprintf(why, sizeof why, "the checkpoint: %s", cp_why);
		rc = AUDIT_EXIT_BAD;
	}
	if (!rc && (seq > cp.size)) {
		snprintf(why, sizeof why, "seq %llu is not in the checkpoint of %llu records", (unsigned long long)seq,
		         (unsigned long long)cp.size);
		rc = AUDIT_EXIT_BAD;
	}
	tlog_proof proof;
	ledger_record rec;
	if (!rc && (ledger_get(s.l, s.txn, seq, &rec) != LEDGER_OK ||
	            ledger_tree_prove_inclusion(s.l, s.txn, seq, cp.size, &proof) != LEDGER_OK)) {
		snprintf(why, sizeof why, "no proof of seq %llu: %s", (unsigned long long)seq, ledger_last_error());
		rc = AUDIT_EXIT_BAD;
	}
	size_t record_n = 0;
	uint8_t *record = rc ? NULL : record_bytes(&rec, &record_n);
	audit_store_close(&s);
	if (rc) {
		if (why[0])
			fprintf(stderr, "ledger-audit prove: %s\n", why);
		return rc;
	}
	FILE *f = output ? fopen(output, "we") : stdout;
	bool ok = f && record;
	if (ok) {
		ok = fprintf(f, "%s\n", PROOF_HEADER) > 0 && base64_line(f, "extra ", record, record_n) &&
		     fprintf(f, "index %llu\n", (unsigned long long)(seq - 1)) > 0;
		for (size_t i = 0; ok && i < proof.count; i++)
			ok = base64_line(f, "", proof.hashes[i], TLOG_HASH_BYTES);
		ok = ok && fputc('\n', f) != EOF && fwrite(note, 1, note_bytes, f) == note_bytes;
	}
	if (f && f != stdout)
		ok = fclose(f) == 0 && ok;
	free(record);
	if (!ok) {
		fprintf(stderr, "ledger-audit prove: cannot write %s\n", output ? output : "the proof");
		return AUDIT_EXIT_UNREADABLE;
	}
	if (output)
		fprintf(stderr, "ledger-audit: proof of seq %llu in the checkpoint of %llu records written to %s\n",
		        (unsigned long long)seq, (unsigned long long)cp.size, output);
	return 0;
}

/* Splits the next line off *p (within end): returns its start, NUL-terminating it. */
static char *next_line(char **p, char *end)
{
	char *start = *p, *nl = memchr(start, '\n', (size_t)(end - start));
	if (!nl)
		return NULL;
	*nl = '\0';
	*p = nl + 1;
	return start;
}

static bool decode_base64(const char *text, uint8_t *out, size_t cap, size_t *n)
{
	return sodium_base642bin(out, cap, text, strlen(text), NULL, n, NULL, sodium_base64_VARIANT_ORIGINAL) == 0;
}

bool audit_proof_check(char *text, size_t bytes, const tlog_verifier *keys, size_t witness_count,
                       audit_proof_result *out, char *why, size_t why_cap)
{
	out->record_bytes = 0;
	char *p = text, *end = text + bytes, *line;
	uint64_t index = 0;
	tlog_proof proof = {0};
	why[0] = '\0';
	if (!(line = next_line(&p, end)) || strcmp(line, PROOF_HEADER) != 0) {
		snprintf(why, why_cap, "not a C2SP tlog-proof (the first line is not %s)", PROOF_HEADER);
		return false;
	}
	if (!(line = next_line(&p, end)) || strncmp(line, "extra ", 6) != 0 ||
	    !decode_base64(line + 6, out->record, sizeof out->record, &out->record_bytes)) {
		snprintf(why, why_cap, "no \"extra\" line with the record's bytes in base64");
		return false;
	}
	char *num_end;
	if (!(line = next_line(&p, end)) || strncmp(line, "index ", 6) != 0 || line[6] < '0' || line[6] > '9' ||
	    (errno = 0, index = strtoull(line + 6, &num_end, 10), errno || *num_end)) {
		snprintf(why, why_cap, "no \"index N\" line");
		return false;
	}
	while ((line = next_line(&p, end)) && *line) {
		size_t n;
		if (proof.count == TLOG_PROOF_HASHES_MAX ||
		    !decode_base64(line, proof.hashes[proof.count], TLOG_HASH_BYTES, &n) || n != TLOG_HASH_BYTES) {
			snprintf(why, why_cap, "proof hash %zu is not 32 bytes in base64 (or too many)",
			         proof.count + 1);
			return false;
		}
		proof.count++;
	}
	if (!line) {
		snprintf(why, why_cap, "no blank line before the checkpoint");
		return false;
	}
	tlog_note_result nr;
	tlog_err terr =
	    tlog_checkpoint_open(p, (size_t)(end - p), &keys[0], keys + 1, witness_count, &out->checkpoint, &nr);
	if (terr) {
		snprintf(why, why_cap, "the checkpoint: %s (%s)", tlog_strerror(terr), tlog_last_error());
		return false;
	}
	for (size_t i = 0; i < witness_count; i++)
		if (!nr.verified[1 + i]) {
			snprintf(why, why_cap, "the checkpoint is not cosigned by the witness %s", keys[1 + i].name);
			return false;
		}
	uint8_t hash[LEDGER_HASH_BYTES], leaf[TLOG_HASH_BYTES];
	if (ledger_record_parse(out->record, out->record_bytes, &out->parsed) != LEDGER_OK) {
		snprintf(why, why_cap, "the extra data is not a ledger record");
		return false;
	}
	const ledger_record *rec = &out->parsed;
	ledger_hash_record(rec->seq, rec->prev_hash, rec->event, rec->event_bytes, hash);
	if (memcmp(hash, rec->hash, sizeof hash) != 0 || rec->seq != index + 1) {
		snprintf(why, why_cap, "the record does not hash to its hash, or is not record %llu",
		         (unsigned long long)index + 1);
		return false;
	}
	tlog_leaf_hash(rec->hash, LEDGER_HASH_BYTES, leaf);
	if (tlog_verify_inclusion(leaf, index, out->checkpoint.size, &proof, out->checkpoint.root) != TLOG_OK) {
		snprintf(why, why_cap, "the inclusion proof does not lead to the checkpoint's root");
		return false;
	}
	out->seq = rec->seq;
	return true;
}

bool audit_load_keys(const char *key_path, const char *const *witnesses, size_t witness_count, tlog_verifier *keys,
                     const char *who)
{
	if (witness_count > TLOG_VERIFIERS_MAX - 1) {
		fprintf(stderr, "ledger-audit %s: at most %u --witness keys\n", who, TLOG_VERIFIERS_MAX - 1);
		return false;
	}
	if (!key_path) {
		fprintf(stderr, "ledger-audit %s: --log-key FILE is required (the log's verifier key)\n", who);
		return false;
	}
	if (!audit_load_vkey(key_path, &keys[0]))
		return false;
	for (size_t i = 0; i < witness_count; i++)
		if (!audit_load_vkey(witnesses[i], &keys[1 + i]))
			return false;
	return true;
}

int audit_verify_proof(const char *path, const char *key_path, const char *const *witnesses, size_t witness_count,
                       bool json)
{
	tlog_verifier keys[TLOG_VERIFIERS_MAX];
	if (!audit_load_keys(key_path, witnesses, witness_count, keys, "verify-proof"))
		return AUDIT_EXIT_USAGE;
	size_t bytes;
	char *text = audit_read_text(path, PROOF_FILE_BYTES_MAX, &bytes);
	audit_proof_result *r = malloc(sizeof *r);
	if (!text || !r) {
		free(text);
		free(r);
		return AUDIT_EXIT_USAGE;
	}
	char why[256];
	bool ok = audit_proof_check(text, bytes, keys, witness_count, r, why, sizeof why);
	char h[2 * LEDGER_HASH_BYTES + 1] = "";
	if (ok)
		hex(r->parsed.hash, LEDGER_HASH_BYTES, h);
	if (json) {
		if (ok) {
			printf("{\"ok\":true,\"seq\":%llu,\"record_hash\":\"%s\",\"checkpoint_size\":%llu,"
			       "\"witnesses\":%zu,"
			       "\"origin\":",
			       (unsigned long long)r->seq, h, (unsigned long long)r->checkpoint.size, witness_count);
			audit_json_string(stdout, r->checkpoint.origin, strlen(r->checkpoint.origin));
		} else {
			fputs("{\"ok\":false,\"reason\":", stdout);
			audit_json_string(stdout, why, strlen(why));
		}
		fputs("}\n", stdout);
	} else if (ok) {
		printf("proved: record %llu (hash %s) is in the log %s of %llu records, signed by its key%s\n",
		       (unsigned long long)r->seq, h, r->checkpoint.origin, (unsigned long long)r->checkpoint.size,
		       witness_count ? " and cosigned by every witness given" : "");
	} else {
		printf("not proved: %s\n", why);
	}
	free(r);
	free(text);
	return ok ? 0 : AUDIT_EXIT_BAD;
}

/* ----- witnesses ----- */

/* A witness key file: its name on the first line, its 32-byte Ed25519 seed in base64 on the
 * second (mode 0600). */
static bool load_witness(const char *path, tlog_signer *out)
{
	size_t n;
	char *text = audit_read_text(path, TLOG_NAME_BYTES_MAX + 128, &n);
	if (!text)
		return false;
	bool ok = tlog_witness_key_parse(text, n, out) == TLOG_OK;
	sodium_memzero(text, n);
	free(text);
	if (!ok)
		fprintf(stderr, "ledger-audit: %s: not a witness key file (a name line, then a base64 seed line)\n",
		        path);
	return ok;
}

int audit_witness_key(const char *name, const char *path)
{
	uint8_t seed[TLOG_SEED_BYTES];
	randombytes_buf(seed, sizeof seed);
	tlog_signer s;
	char vkey[TLOG_VKEY_BYTES_MAX + 1], seed_text[64];
	if (tlog_signer_init(&s, name, TLOG_TYPE_COSIGNATURE_V1, seed) != TLOG_OK) {
		fprintf(stderr, "ledger-audit witness-key: --name %s: %s\n", name, tlog_last_error());
		return AUDIT_EXIT_USAGE;
	}
	tlog_vkey_format(&s.verifier, vkey, sizeof vkey);
	tlog_signer_wipe(&s);
	sodium_bin2base64(seed_text, sizeof seed_text, seed, sizeof seed, sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(seed, sizeof seed);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	bool ok = f && fprintf(f, "%s\n%s\n", name, seed_text) > 0;
	sodium_memzero(seed_text, sizeof seed_text);
	if (f)
		ok = fclose(f) == 0 && ok;
	else if (fd >= 0)
		close(fd);
	if (!ok) {
		fprintf(stderr, "ledger-audit witness-key: cannot create %s: %s\n", path, strerror(errno));
		return AUDIT_EXIT_UNREADABLE;
	}
	printf("%s\n", vkey);
	return 0;
}

int audit_witness(const char *dir, const char *key_path, const char *witness_key, const char *state_path, bool json)
{
	tlog_signer w;
	if (!witness_key || !state_path) {
		fprintf(stderr, "ledger-audit witness: needs --key-file FILE and --state FILE\n");
		return AUDIT_EXIT_USAGE;
	}
	if (!load_witness(witness_key, &w))
		return AUDIT_EXIT_USAGE;
	tlog_verifier key;
	char used[PATH_MAX];
	if (!log_key(dir, key_path, &key, used, sizeof used)) {
		tlog_signer_wipe(&w);
		return AUDIT_EXIT_USAGE;
	}
	/* The old checkpoint: what this witness cosigned last (none the first time). */
	size_t old_bytes = 0;
	char *old_note = NULL;
	tlog_checkpoint old = {0}, cp;
	char why[256] = "";
	if (access(state_path, F_OK) == 0) {
		old_note = audit_read_text(state_path, NOTE_FILE_BYTES_MAX, &old_bytes);
		if (!old_note || !open_checkpoint(old_note, old_bytes, &key, &old, why, sizeof why)) {
			fprintf(stderr, "ledger-audit witness: the state %s: %s\n", state_path,
			        why[0] ? why : "cannot be read");
			free(old_note);
			tlog_signer_wipe(&w);
			return AUDIT_EXIT_USAGE;
		}
		free(old_note);
	} else {
		tlog_empty_root(old.root);
	}
	ledger *l;
	ledger_options o = {.read_only = true, .allow_broken_chain = true};
	if (ledger_open(dir, &o, &l) != LEDGER_OK) {
		fprintf(stderr, "ledger-audit: %s\n", ledger_last_error());
		tlog_signer_wipe(&w);
		return AUDIT_EXIT_UNREADABLE;
	}
	MDB_txn *txn;
	char note[LEDGER_CHECKPOINT_BYTES_MAX], out[LEDGER_CHECKPOINT_BYTES_MAX + 512];
	size_t note_bytes = 0, out_bytes = 0;
	int rc = AUDIT_EXIT_BAD;
	tlog_proof proof;
	if (ledger_read_begin(l, &txn) != LEDGER_OK) {
		rc = AUDIT_EXIT_UNREADABLE;
		snprintf(why, sizeof why, "%s", ledger_last_error());
	} else {
		/* Nothing in the directory is trusted but what the log key signed and the proof shows. */
		if (ledger_checkpoint_latest(l, txn, note, sizeof note, &note_bytes) != LEDGER_OK)
			snprintf(why, sizeof why, "no signed checkpoint in %s", dir);
		else if (!open_checkpoint(note, note_bytes, &key, &cp, why, sizeof why))
			;
		else if (cp.size < old.size)
			snprintf(why, sizeof why,
			         "the log went back: its checkpoint has %llu records, this witness saw %llu",
			         (unsigned long long)cp.size, (unsigned long long)old.size);
		else if (ledger_tree_prove_consistency(l, txn, old.size, cp.size, &proof) != LEDGER_OK)
			snprintf(why, sizeof why, "no consistency proof from %llu to %llu: %s",
			         (unsigned long long)old.size, (unsigned long long)cp.size, ledger_last_error());
		else if (tlog_verify_consistency(old.size, cp.size, old.root, cp.root, &proof) != TLOG_OK)
			snprintf(
			    why, sizeof why,
			    "the log is not an extension of the checkpoint of %llu records this witness saw: it was "
			    "rewritten",
			    (unsigned long long)old.size);
		else if (tlog_note_add_signature(note, note_bytes, &w, (uint64_t)time(NULL), out, sizeof out,
		                                 &out_bytes) != TLOG_OK)
			snprintf(why, sizeof why, "cosigning: %s", tlog_last_error());
		else if (!tlog_witness_state_write(state_path, out, out_bytes))
			snprintf(why, sizeof why, "cannot write the state %s: %s", state_path, strerror(errno));
		else
			rc = 0;
		ledger_read_end(l, txn);
	}
	ledger_close(l);
	tlog_signer_wipe(&w);
	if (rc) {
		if (json) {
			fputs("{\"ok\":false,\"reason\":", stdout);
			audit_json_string(stdout, why, strlen(why));
			fputs("}\n", stdout);
		} else {
			fprintf(stderr, "ledger-audit witness: refused: %s\n", why);
		}
		return rc;
	}
	if (json) {
		printf("{\"ok\":true,\"old_size\":%llu,\"size\":%llu,\"cosigned\":", (unsigned long long)old.size,
		       (unsigned long long)cp.size);
		audit_json_string(stdout, out, out_bytes);
		fputs("}\n", stdout);
	} else {
		fwrite(out, 1, out_bytes, stdout);
	}
	return 0;
}
