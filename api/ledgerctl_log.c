/*
 * ledgerctl_log.c: ledgerctl's commands on the log as a transparency log (docs/log-format.md
 * section 10): its head and latest signed checkpoint, and a witness that works over RPC, for
 * witnesses that have no access to the data directory (the usual case: a witness is
 * somebody other than the operator).
 */
#include "json.h"
#include "ledger.h"
#include "ledgerctl_common.h"
#include "tlog.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOTE_FILE_BYTES_MAX (64u * 1024u)

static Ledger__Api__Reply *call_head(const ctl_args *a, uint64_t consistency_from, int *rc)
{
	Ledger__Api__Head q = LEDGER__API__HEAD__INIT;
	q.consistency_from = consistency_from;
	return ctl_send(a, LEDGER__API__REQUEST__BODY_HEAD, &q.base, LEDGER__API__REPLY__RESULT_HEAD, rc);
}

static int run_head(const ctl_args *a, char **pos)
{
	(void)pos;
	int rc;
	Ledger__Api__Reply *r = call_head(a, 0, &rc);
	if (!r)
		return rc;
	char hash[65];
	ledger_hex(r->head->hash.data, r->head->hash.len <= 32 ? r->head->hash.len : 32, hash);
	if (a->json) {
		json_out j;
		ctl_json_begin(&j, true);
		json_key(&j, "seq"), json_u64(&j, r->head->seq);
		json_key(&j, "hash"), json_str(&j, hash);
		json_key(&j, "checkpoint"), json_str(&j, r->head->checkpoint);
		json_key(&j, "cosigned"), json_str(&j, r->head->cosigned);
		ctl_json_end(&j);
	} else {
		printf("head seq %llu hash %s\n", (unsigned long long)r->head->seq, hash);
		if (r->head->checkpoint[0])
			printf("\n%s", r->head->checkpoint);
		if (a->all && r->head->cosigned[0])
			printf("\n%s", r->head->cosigned);
	}
	ledger__api__reply__free_unpacked(r, NULL);
	return 0;
}

/* Reads a whole small text file, NUL-terminated; NULL (errno set) if it cannot. */
static char *read_text(const char *path, size_t max, size_t *n)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = malloc(max + 1);
	*n = buf ? fread(buf, 1, max + 1, f) : 0;
	fclose(f);
	if (!buf || *n > max) {
		free(buf);
		errno = buf ? EFBIG : ENOMEM;
		return NULL;
	}
	buf[*n] = '\0';
	return buf;
}

static bool load_vkey(const char *path, tlog_verifier *out)
{
	size_t n;
	char *text = read_text(path, TLOG_VKEY_BYTES_MAX + 2, &n);
	while (text && n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	bool ok = text && tlog_vkey_parse(text, out) == TLOG_OK;
	if (!ok)
		fprintf(stderr, "ledgerctl: %s: not a C2SP verifier key file\n", path);
	free(text);
	return ok;
}

/* A witness key file (ledger-audit witness-key): a name line, a base64 seed line. */
static bool load_witness(const char *path, tlog_signer *out)
{
	size_t n;
	char *text = read_text(path, TLOG_NAME_BYTES_MAX + 128, &n);
	bool ok = text && tlog_witness_key_parse(text, n, out) == TLOG_OK;
	if (text)
		sodium_memzero(text, n);
	free(text);
	if (!ok)
		fprintf(stderr, "ledgerctl: %s: not a witness key file (a name line, then a base64 seed line)\n", path);
	return ok;
}

/* The witness's verdict on the served checkpoint against its kept one: "" if it may cosign. */
static void judge(const Ledger__Api__HeadReply *h, const tlog_verifier *log, const tlog_checkpoint *old,
                  tlog_checkpoint *cp, char *why, size_t cap)
{
	tlog_note_result nr;
	why[0] = '\0';
	if (!h->checkpoint[0]) {
		snprintf(why, cap, "the log serves no checkpoint");
		return;
	}
	if (tlog_checkpoint_open(h->checkpoint, strlen(h->checkpoint), log, NULL, 0, cp, &nr) != TLOG_OK) {
		snprintf(why, cap, "the served checkpoint is not signed by the log key: %s", tlog_last_error());
		return;
	}
	if (cp->size < old->size) {
		snprintf(why, cap, "the log went back: its checkpoint has %llu records, this witness saw %llu",
		         (unsigned long long)cp->size, (unsigned long long)old->size);
		return;
	}
	tlog_proof proof = {.count = h->n_consistency};
	for (size_t i = 0; i < h->n_consistency && i < TLOG_PROOF_HASHES_MAX; i++) {
		if (h->consistency[i].len != TLOG_HASH_BYTES) {
			snprintf(why, cap, "a consistency proof hash is not 32 bytes");
			return;
		}
		memcpy(proof.hashes[i], h->consistency[i].data, TLOG_HASH_BYTES);
	}
	if (h->n_consistency > TLOG_PROOF_HASHES_MAX ||
	    tlog_verify_consistency(old->size, cp->size, old->root, cp->root, &proof) != TLOG_OK)
		snprintf(
		    why, cap,
		    "the log is not an extension of the checkpoint of %llu records this witness saw: it was rewritten",
		    (unsigned long long)old->size);
}

static int run_witness(const ctl_args *a, char **pos)
{
	(void)pos;
	if (!a->log_key || !a->key_file || !a->state)
		return ctl_usage_error("witness needs --log-key VKEY_FILE, --key-file FILE and --state FILE");
	tlog_verifier log;
	tlog_signer w;
	if (!load_vkey(a->log_key, &log))
		return CTL_EXIT_USAGE;
	if (!load_witness(a->key_file, &w))
		return CTL_EXIT_USAGE;
	tlog_checkpoint old = {0}, cp;
	tlog_empty_root(old.root);
	size_t n;
	char *kept = access(a->state, F_OK) == 0 ? read_text(a->state, NOTE_FILE_BYTES_MAX, &n) : NULL;
	tlog_note_result nr;
	if (access(a->state, F_OK) == 0 && (!kept || tlog_checkpoint_open(kept, n, &log, NULL, 0, &old, &nr))) {
		fprintf(stderr, "ledgerctl witness: the state %s is not a checkpoint signed by the log key\n",
		        a->state);
		free(kept);
		tlog_signer_wipe(&w);
		return CTL_EXIT_USAGE;
	}
	free(kept);
	int rc;
	/* First the checkpoint alone: a log that went back below the kept size has no consistency
	 * proof to give, and must be named as such. Then, from a real size, the proof with the
	 * checkpoint it leads to (one read on ledgerd's side, so they match). */
	Ledger__Api__Reply *r = call_head(a, 0, &rc);
	tlog_checkpoint now;
	if (r && old.size > 0 &&
	    tlog_checkpoint_open(r->head->checkpoint, strlen(r->head->checkpoint), &log, NULL, 0, &now, &nr) ==
	        TLOG_OK &&
	    now.size >= old.size) {
		ledger__api__reply__free_unpacked(r, NULL);
		r = call_head(a, old.size, &rc);
	}
	if (!r) {
		tlog_signer_wipe(&w);
		return rc;
	}
	char why[300], out[LEDGER_COSIGNED_BYTES_MAX];
	size_t out_bytes = 0;
	judge(r->head, &log, &old, &cp, why, sizeof why);
	if (!why[0] && tlog_note_add_signature(r->head->checkpoint, strlen(r->head->checkpoint), &w,
	                                       (uint64_t)time(NULL), out, sizeof out, &out_bytes) != TLOG_OK)
		snprintf(why, sizeof why, "cosigning: %s", tlog_last_error());
	ledger__api__reply__free_unpacked(r, NULL);
	tlog_signer_wipe(&w);
	if (!why[0] && !tlog_witness_state_write(a->state, out, out_bytes))
		snprintf(why, sizeof why, "cannot write the state %s: %s", a->state, strerror(errno));
	if (why[0]) {
		fprintf(stderr, "ledgerctl witness: refused: %s\n", why);
		return CTL_EXIT_REFUSED;
	}
	/* Give the cosignature back to the log, which keeps it if it was told to trust this witness. */
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__CheckpointCosign c = LEDGER__API__CHECKPOINT_COSIGN__INIT;
	c.note = out;
	req.body_case = LEDGER__API__REQUEST__BODY_CHECKPOINT_COSIGN;
	req.checkpoint_cosign = &c;
	r = ctl_call(a, &req, &rc); /* a refusal is reported below, not as a failure */
	const char *kept_by_log = !r ? "not sent" : r->error ? r->error->message : "kept by the log";
	if (a->json) {
		json_out j;
		ctl_json_begin(&j, true);
		json_key(&j, "old_size"), json_u64(&j, old.size);
		json_key(&j, "size"), json_u64(&j, cp.size);
		json_key(&j, "cosigned"), json_str(&j, out);
		json_key(&j, "submitted"), json_str(&j, kept_by_log);
		ctl_json_end(&j);
	} else {
		fputs(out, stdout);
		fprintf(stderr,
		        "ledgerctl witness: cosigned the checkpoint of %llu records (from %llu); cosignature %s\n",
		        (unsigned long long)cp.size, (unsigned long long)old.size, kept_by_log);
	}
	if (r)
		ledger__api__reply__free_unpacked(r, NULL);
	return 0;
}

const ctl_command ctl_log_commands[] = {
    {"head", 0, "all",
     "ledgerctl head [--all]\n"
     "  The log's last seq and hash, then its latest signed checkpoint (C2SP tlog-checkpoint in a\n"
     "  signed note: keep it, it anchors the log; docs/audit.md). --all: also the largest\n"
     "  checkpoint cosigned by witnesses. --json: seq, hash, checkpoint, cosigned.\n",
     run_head, 0},
    {"witness", 0, "log-key key-file state",
     "ledgerctl witness --log-key VKEY_FILE --key-file FILE --state FILE\n"
     "  A witness over RPC: asks the log for its latest checkpoint and the consistency proof from\n"
     "  the one in --state (none the first time), checks both against the log key, cosigns\n"
     "  (C2SP tlog-cosignature/v1, now), writes the cosigned checkpoint to --state and stdout and\n"
     "  gives the cosignature to the log (kept if ledgerd serves with --witness for this key).\n"
     "  Refuses (exit 1) a log that went back or is not an extension of the kept checkpoint.\n"
     "  --key-file: made by `ledger-audit witness-key`. Any account's token may call it.\n",
     run_witness, 0},
    {NULL, 0, NULL, NULL, NULL, 0},
};
