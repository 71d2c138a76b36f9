/*
 * ledger-audit: the auditor's tool. Opens a data directory read-only, trusts nothing in it
 * but the bytes of the records, and never writes to it.
 *
 *   verify  checks the hash chain from event 1 to the recorded head
 *   replay  rebuilds every projection from event 1 into a scratch store and compares it,
 *           byte for byte, with the live projections
 */
#include "audit.h"
#include "tlog.h"

#include <getopt.h>
#include <sodium.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_BAD                  1
#define EXIT_USAGE                2
#define EXIT_UNREADABLE           3
#define SCRATCH_MAP_BYTES_INITIAL ((size_t)1 << 30) /* grows when full */

static const char usage[] =
    "usage: ledger-audit verify --data DIR [--from SEQ] [--to SEQ] [--since CHECKPOINT] [--log-key VKEY] [--json]\n"
    "       ledger-audit replay --data DIR [--as-of TIME [--firm FIRM]] [--memory-bytes-max N] [--json]\n"
    "       ledger-audit prove  --data DIR (--file FILE | --document SHA256 | --seq N) [--json]\n"
    "       ledger-audit prove  --data DIR --seq N --tlog-proof FILE [--checkpoint FILE] [--log-key VKEY]\n"
    "       ledger-audit verify-proof FILE --log-key VKEY [--witness VKEY]... [--json]\n"
    "       ledger-audit checkpoint --data DIR [--log-key VKEY] [--json]\n"
    "       ledger-audit evidence --data DIR --firm FIRM --collection ID -o FILE.zip [--checkpoint CP]\n"
    "                             [--log-key VKEY]\n"
    "       ledger-audit verify-evidence FILE.zip --log-key VKEY [--witness VKEY]... [--json]\n"
    "       ledger-audit witness-key --name NAME --key-file FILE\n"
    "       ledger-audit witness --data DIR --key-file FILE --state FILE [--log-key VKEY] [--json]\n"
    "       ledger-audit export --data DIR [--what collections|delegations|subject|log|register] [--firm FIRM]\n"
    "                           [--subject EMAIL] [--from TIME] [--to TIME] [-o FILE]\n"
    "\n"
    "verify  checks every record of DIR's log: consecutive seqs from 1, each record's seq, its\n"
    "        prev_hash and its recomputed SHA-256 (docs/log-format.md), and the recorded head.\n"
    "        Prints the event count and head hash; on failure, the first bad seq and why.\n"
    "        --from/--to verify a range only: its first record is checked against the stored\n"
    "        hash of the record before it, and the recorded head only if the range reaches it.\n"
    "        Every stored document (blobs) is re-hashed against its key too.\n"
    "replay  rebuilds every projection from event 1 in a scratch directory and compares it byte\n"
    "        for byte with DIR's projections; names the first database and key that differ.\n"
    "        --as-of TIME (YYYY-MM-DDTHH:MM:SSZ, UTC) replays only the events committed up to\n"
    "        TIME and prints who could do what then: each firm's EC and every delegated right\n"
    "        live at TIME with its expiry (--firm: one firm). Nothing is compared.\n"
    "        --memory-bytes-max N: fold at most N bytes of projections in memory before writing\n"
    "        them to the scratch store and folding on over it (default 1 GiB; same result).\n"
    "prove   after verifying the whole chain: lists the events that name a document (a file,\n"
    "        hashed with SHA-256, or its hash): uploaded, signed, produced by a signature; or\n"
    "        shows event N and its hashes. Exit 1 if the document is named by no event.\n"
    "        --tlog-proof FILE: writes a C2SP tlog-proof of event N (its record bytes in the\n"
    "        \"extra\" line) against the latest checkpoint or --checkpoint FILE (a cosigned one).\n"
    "verify-proof  checks a tlog-proof with the log's verifier key alone (no DIR): the record\n"
    "        hashes to itself, the proof leads to the checkpoint's root, the checkpoint is\n"
    "        signed by the log key and cosigned by every --witness key given.\n"
    "evidence  one collection's dossier de preuve as a zip (docs/evidence.md): every document\n"
    "        version its events name, the raw records of those events each with a tlog-proof\n"
    "        against one checkpoint (--checkpoint CP, e.g. a witness's cosigned one; else the\n"
    "        largest cosigned one that covers them; else the latest), the log key,\n"
    "        evidence.json (the timeline in UTC and Paris time, hashes, certificates), and the\n"
    "        certificate of completion and one attestation per signer, in French, sealed by the\n"
    "        platform at PAdES B-LTA now (needs the CA's key in DIR/keys).\n"
    "verify-evidence  checks such a zip with the log key alone: every record's proof leads to\n"
    "        one checkpoint the key signed (and every --witness cosigned), the records are one\n"
    "        collection's, every document hashes to its name and is one the records name,\n"
    "        every document they name is there with valid signatures, and the certificate and\n"
    "        the attestations are sealed and name this bundle. Exit 0 verified, 1 not.\n"
    "checkpoint  prints the latest signed checkpoint (C2SP tlog-checkpoint in a signed note)\n"
    "        after checking it against the key and the records: keep it outside DIR.\n"
    "witness-key  creates a witness's key file (0600) and prints its verifier key.\n"
    "witness checks that DIR's latest checkpoint extends the one in --state (a consistency\n"
    "        proof), cosigns it (C2SP tlog-cosignature, the current time) and writes it to\n"
    "        --state and stdout. Refuses a log that went back or was rewritten (exit 1).\n"
    "--log-key VKEY: the log's verifier key file; default DIR/keys/log.vkey, which whoever\n"
    "        controls DIR could replace: auditors give the one they were handed.\n"
    "export  after verifying the whole chain, in one pass and constant memory (a progress line\n"
    "        on a terminal when -o is a file), events of FIRM committed between --from and --to\n"
    "        (YYYY-MM-DDTHH:MM:SSZ, inclusive), as CSV with each row's record hash:\n"
    "          --what collections   every event about a collection (the default)\n"
    "          --what delegations   FIRM's delegation history: granted, renewed, revoked, expired\n"
    "          --what subject --subject EMAIL   every event by or naming that person (RGPD access)\n"
    "          --what log           the whole log as JSON Lines: each record's bytes (base64),\n"
    "                               hashes and kind, then the latest signed checkpoint\n"
    "          --what register      the collection register: one row per collection (state,\n"
    "                               dates, documents, signers, credits) from the projections\n"
    "        (docs/audit.md).\n"
    "\n"
    "DIR is opened read-only; nothing in it is changed.\n"
    "exit status: 0 intact / identical, 1 broken / different, 2 usage, 3 DIR unreadable or damaged\n"
    "(a damaged store is named: restore data.mdb from a backup, docs/operations.md)\n";

static int open_ro(const char *dir, ledger **l)
{
	ledger_options o = {.read_only = true, .allow_broken_chain = true};
	if (ledger_open(dir, &o, l) != LEDGER_OK) {
		fprintf(stderr, "ledger-audit: %s\n", ledger_last_error());
		return EXIT_UNREADABLE;
	}
	return 0;
}

static int verify(const char *dir, uint64_t from, uint64_t to, const char *key_path, const char *since, bool json)
{
	ledger *l;
	int rc = open_ro(dir, &l);
	if (rc)
		return rc;
	MDB_txn *txn;
	ledger_verify_result r;
	uint64_t documents = 0;
	uint8_t bad[LEDGER_HASH_BYTES];
	ledger_err blobs_err = LEDGER_OK;
	audit_tree_result tree = {0};
	audit_documents_result docs = {0};
	int tree_rc = 0;
	bool whole = from == 1 && to == 0;
	if (since && !whole) {
		fprintf(stderr, "ledger-audit verify: --since checks the whole log: no --from/--to with it\n");
		ledger_close(l);
		return EXIT_USAGE;
	}
	/* Stored documents must still hash to the keys the events name them by. (Opened before the
	 * read transaction: LMDB does not show a database opened later to an older transaction.) */
	bool has_blobs = ledger_blobs_open(l) == LEDGER_OK;
	ledger_err err = ledger_read_begin(l, &txn);
	if (!err) {
		err = ledger_verify_range(l, txn, from, to, &r);
		if (err == LEDGER_OK && has_blobs)
			blobs_err = ledger_blobs_verify(l, txn, &documents, bad);
		if (err == LEDGER_OK && !blobs_err && whole)
			tree_rc = audit_verify_tree(l, txn, dir, key_path, since, &tree);
		if (err == LEDGER_OK && !blobs_err && !tree_rc && whole && audit_documents_check(l, txn, &docs)) {
			tree_rc = AUDIT_EXIT_BAD;
			snprintf(tree.why, sizeof tree.why,
			         docs.missing_seq ? "event %llu names document %s, which is not stored"
			                          : "the documents cannot be listed (out of memory)",
			         (unsigned long long)docs.missing_seq, docs.missing);
		}
		ledger_read_end(l, txn);
	}
	ledger_close(l);
	if (err == LEDGER_OK && !blobs_err && tree_rc) {
		if (json) {
			fputs("{\"ok\":false,\"tree\":false,\"reason\":", stdout);
			audit_json_string(stdout, tree.why, strlen(tree.why));
			fputs("}\n", stdout);
		} else {
			printf("the chain is intact, but: %s\n", tree.why);
		}
		return tree_rc;
	}
	char hash[2 * LEDGER_HASH_BYTES + 1];
	ledger_hex(r.head_hash, LEDGER_HASH_BYTES, hash);
	if (err == LEDGER_OK && blobs_err) {
		char bad_hex[2 * LEDGER_HASH_BYTES + 1];
		ledger_hex(bad, LEDGER_HASH_BYTES, bad_hex);
		printf(json ? "{\"ok\":false,\"bad_document\":\"%s\"}\n"
		            : "the chain is intact, but stored document %s does not hash to its key\n",
		       bad_hex);
		return EXIT_BAD;
	}
	if (err == LEDGER_OK) {
		if (json)
			printf("{\"ok\":true,\"events\":%llu,\"head_seq\":%llu,\"head_hash\":\"%s\",\"documents\":%llu,"
			       "\"tree_root\":\"%s\",\"checkpoint_size\":%llu,\"checkpoints_kept\":%llu,\"since_size\":"
			       "%llu,\"orphan_documents\":%llu}\n",
			       (unsigned long long)r.events, (unsigned long long)r.head_seq, hash,
			       (unsigned long long)documents, tree.root, (unsigned long long)tree.checkpoint_size,
			       (unsigned long long)tree.kept, (unsigned long long)tree.since_size,
			       (unsigned long long)docs.orphans);
		else if (documents == 0)
			printf("intact: %llu events, head seq %llu, hash %s\n", (unsigned long long)r.events,
			       (unsigned long long)r.head_seq, hash);
		else
			printf(
			    "intact: %llu events, head seq %llu, hash %s; %llu stored documents hash to their keys\n",
			    (unsigned long long)r.events, (unsigned long long)r.head_seq, hash,
			    (unsigned long long)documents);
		if (!json && whole)
			printf("tree: root %s; latest checkpoint at %llu and %llu kept ones signed by %s (key %s)\n",
			       tree.root, (unsigned long long)tree.checkpoint_size, (unsigned long long)tree.kept,
			       tree.origin[0] ? tree.origin : "-", tree.key_file);
		if (!json && docs.orphans)
			printf("%llu stored document(s) named by no event (the first: %s)\n",
			       (unsigned long long)docs.orphans, docs.orphan);
		if (!json && since)
			printf("since %s: the log of %llu records then is a prefix of the log now\n", since,
			       (unsigned long long)tree.since_size);
		return 0;
	}
	if (err == LEDGER_ERR_CORRUPT) {
		if (json)
			printf("{\"ok\":false,\"bad_seq\":%llu,\"reason\":\"%s\",\"good_events\":%llu}\n",
			       (unsigned long long)r.bad_seq, r.reason, (unsigned long long)r.events);
		else
			printf("broken at seq %llu: %s (%llu good events before it)\n", (unsigned long long)r.bad_seq,
			       r.reason, (unsigned long long)r.events);
		return EXIT_BAD;
	}
	fprintf(stderr, "ledger-audit: %s: %s\n", dir,
	        err == LEDGER_ERR_INVALID ? "bad --from/--to range" : ledger_strerror(err));
	return err == LEDGER_ERR_INVALID ? EXIT_USAGE : EXIT_UNREADABLE;
}

/* YYYY-MM-DDTHH:MM:SSZ, UTC, to µs since the epoch. */
static bool parse_time_us(const char *s, int64_t *out)
{
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return false;
	*out = (int64_t)timegm(&tm) * 1000000;
	return true;
}

static bool parse_seq(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s == '-' || *end || end == s || v == 0)
		return false;
	*out = v;
	return true;
}

/* Compares one named database of a (in its snapshot ta) and b; prints the first difference. */
static bool same_db(ledger *a, MDB_txn *ta, ledger *b, const char *name)
{
	MDB_dbi da, db;
	/* Opened in the snapshot itself: a handle opened by a later transaction is not valid in an
	 * earlier one (LMDB), and beside a serving ledgerd the snapshot is older than anything. */
	(void)a;
	if (mdb_dbi_open(ta, name, 0, &da) != 0 || ledger_dbi_open(b, name, 0, &db)) {
		printf("database %s: missing\n", name);
		return false;
	}
	MDB_txn *tb;
	MDB_cursor *ca, *cb;
	if (ledger_read_begin(b, &tb))
		return false;
	if (mdb_cursor_open(ta, da, &ca) != 0) {
		ledger_read_end(b, tb);
		printf("database %s: unreadable in the live store\n", name);
		return false;
	}
	if (mdb_cursor_open(tb, db, &cb) != 0) {
		mdb_cursor_close(ca);
		ledger_read_end(b, tb);
		printf("database %s: unreadable in the scratch store\n", name);
		return false;
	}
	MDB_val ka, va, kb, vb;
	int ra = mdb_cursor_get(ca, &ka, &va, MDB_FIRST), rb = mdb_cursor_get(cb, &kb, &vb, MDB_FIRST);
	bool same = true;
	for (uint64_t row = 1; ra == 0 || rb == 0; row++) {
		if (ra != 0 || rb != 0 || ka.mv_size != kb.mv_size || memcmp(ka.mv_data, kb.mv_data, ka.mv_size) != 0 ||
		    va.mv_size != vb.mv_size || memcmp(va.mv_data, vb.mv_data, va.mv_size) != 0) {
			printf("database %s differs at row %llu (%s)\n", name, (unsigned long long)row,
			       ra != 0   ? "live has fewer rows"
			       : rb != 0 ? "live has more rows"
			                 : "key or value differs");
			same = false;
			break;
		}
		ra = mdb_cursor_get(ca, &ka, &va, MDB_NEXT);
		rb = mdb_cursor_get(cb, &kb, &vb, MDB_NEXT);
	}
	mdb_cursor_close(ca);
	mdb_cursor_close(cb);
	ledger_read_end(b, tb);
	return same;
}

typedef struct as_of_printer {
	bool json, first;
	char last_firm[PROJ_FIRM_ID_BYTES_MAX + 1];
} as_of_printer;

static bool print_right(void *ctx, const char *firm_id, const char *ec, const char *who, Ledger__Events__Right right,
                        const char *expires_on)
{
	as_of_printer *pr = ctx;
	const char *name = right == LEDGER__EVENTS__RIGHT__RIGHT_UNSPECIFIED ? "all (EC)" : proj_right_name(right);
	if (pr->json) {
		/* Identifiers are validated (no quotes or backslashes): printed as they are. */
		printf("%s{\"firm\":\"%s\",\"ec\":\"%s\",\"who\":\"%s\",\"right\":\"%s\",\"expires_on\":\"%s\"}",
		       pr->first ? "" : ",", firm_id, ec, who,
		       right == LEDGER__EVENTS__RIGHT__RIGHT_UNSPECIFIED ? "ec" : name, expires_on);
	} else {
		if (strcmp(pr->last_firm, firm_id) != 0)
			printf("firm %s\n", firm_id);
		printf("  %-40s %-9s %s%s\n", who, name, expires_on[0] ? "through " : "", expires_on);
	}
	snprintf(pr->last_firm, sizeof pr->last_firm, "%s", firm_id);
	pr->first = false;
	return true;
}

static int print_as_of(ledger *scratch, proj *p, const char *firm, int64_t at_us, uint64_t events, bool json)
{
	MDB_txn *txn;
	if (ledger_read_begin(scratch, &txn))
		return EXIT_UNREADABLE;
	as_of_printer pr = {.json = json, .first = true};
	if (json)
		printf("{\"ok\":true,\"events\":%llu,\"rights\":[", (unsigned long long)events);
	else
		printf("as of the %llu events committed by then:\n", (unsigned long long)events);
	ledger_err err = proj_rights_at(p, txn, firm, at_us, print_right, &pr);
	ledger_read_end(scratch, txn);
	if (json)
		printf("]}\n");
	if (err == LEDGER_END) {
		fprintf(stderr, "ledger-audit: firm %s did not exist then\n", firm);
		return EXIT_BAD;
	}
	return err ? EXIT_UNREADABLE : 0;
}

/* Rebuilds from the snapshot live_txn: the same snapshot the comparison then reads, so a
 * ledgerd committing meanwhile cannot make them differ. */
/* The seed of a replay's in-memory tables: random, so that no log's keys can be chosen to
 * make them degenerate (proj_replay_options.hash_seed). */
static uint64_t random_hash_seed(void)
{
	uint64_t seed;
	randombytes_buf(&seed, sizeof seed);
	return seed;
}

static ledger_err rebuild(ledger *live, MDB_txn *live_txn, proj *scratch, int64_t until_us, size_t memory_bytes_max,
                          uint64_t *events)
{
	proj_replay_options o = {.as_of = until_us < INT64_MAX,
	                         .as_of_us = until_us,
	                         .memory_bytes_max = memory_bytes_max,
	                         .hash_seed = random_hash_seed()};
	proj_replay_stats stats;
	ledger_err err = proj_replay(scratch, live, live_txn, &o, &stats);
	if (err == LEDGER_ERR_CORRUPT && stats.failed_seq)
		fprintf(stderr, "ledger-audit: event %llu cannot be folded (unknown or malformed event)\n",
		        (unsigned long long)stats.failed_seq);
	*events = stats.events;
	return err;
}

static int replay(const char *dir, const char *as_of, const char *firm, size_t memory_bytes_max, bool json)
{
	int64_t until_us = INT64_MAX;
	if (as_of) {
		struct tm tm = {0};
		const char *end = strptime(as_of, "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (!end || *end) {
			fprintf(stderr, "ledger-audit: --as-of %s: a UTC time YYYY-MM-DDTHH:MM:SSZ\n", as_of);
			return EXIT_USAGE;
		}
		until_us = (int64_t)timegm(&tm) * 1000000;
	}
	ledger *live;
	int rc = open_ro(dir, &live);
	if (rc)
		return rc;
	char scratch_dir[] = "/tmp/ledger-audit-XXXXXX";
	if (!mkdtemp(scratch_dir)) {
		perror("ledger-audit: scratch directory");
		ledger_close(live);
		return EXIT_UNREADABLE;
	}
	ledger *scratch = NULL;
	proj *p = NULL;
	uint64_t events = 0;
	/* Thrown away at the end: no fsync, pages written in the map. */
	ledger_options so = {.map_bytes_initial = SCRATCH_MAP_BYTES_INITIAL, .scratch = true};
	ledger_err err = ledger_create(scratch_dir, &so);
	if (!err)
		err = ledger_open(scratch_dir, &so, &scratch);
	if (!err)
		err = proj_open(scratch, random_hash_seed(), &p);
	/* A read transaction sees only the databases opened before it began: open the live
	 * projections first (a missing one is reported by the comparison). */
	for (size_t i = 0; !err && proj_db_names[i]; i++) {
		MDB_dbi dbi;
		(void)ledger_dbi_open(live, proj_db_names[i], 0, &dbi);
	}
	MDB_txn *live_txn = NULL;
	if (!err)
		err = ledger_read_begin(live, &live_txn);
	if (!err)
		err = rebuild(live, live_txn, p, until_us, memory_bytes_max, &events);
	bool same = false;
	int as_of_rc = 0;
	if (!err && as_of)
		as_of_rc = print_as_of(scratch, p, firm, until_us, events, json);
	else if (!err) {
		same = true;
		for (size_t i = 0; proj_db_names[i]; i++)
			same = same_db(live, live_txn, scratch, proj_db_names[i]) && same;
	}
	if (live_txn)
		ledger_read_end(live, live_txn);
	proj_close(p);
	ledger_close(scratch);
	ledger_close(live);
	char path[sizeof scratch_dir + 16];
	for (const char *f = "data.mdb"; f; f = strcmp(f, "data.mdb") == 0 ? "lock.mdb" : NULL) {
		snprintf(path, sizeof path, "%s/%s", scratch_dir, f);
		unlink(path);
	}
	rmdir(scratch_dir);
	if (err) {
		fprintf(stderr, "ledger-audit: replay failed: %s (%s)\n", ledger_strerror(err), ledger_last_error());
		return err == LEDGER_ERR_CORRUPT ? EXIT_BAD : EXIT_UNREADABLE;
	}
	if (as_of)
		return as_of_rc;
	if (json)
		printf("{\"ok\":%s,\"events\":%llu}\n", same ? "true" : "false", (unsigned long long)events);
	else
		printf("%s: %llu events replayed; projections %s\n", same ? "identical" : "DIFFERENT",
		       (unsigned long long)events, same ? "match the live ones byte for byte" : "differ (see above)");
	return same ? 0 : EXIT_BAD;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "ledger-audit: libsodium did not initialise\n");
		return 1;
	}
	const char *cmd = argv[1], *dir = NULL;
	bool json = false;
	uint64_t from = 1, to = 0, memory_bytes_max = 0;
	const char *as_of = NULL, *firm = NULL, *document = NULL, *file = NULL, *output = NULL, *from_text = NULL,
	           *to_text = NULL;
	uint64_t seq = 0;
	const char *key_path = NULL, *since = NULL, *tlog_proof = NULL, *checkpoint = NULL, *key_file = NULL,
	           *state = NULL, *name = NULL, *what = NULL, *subject = NULL, *collection_id = NULL;
	const char *witnesses[TLOG_VERIFIERS_MAX];
	size_t witness_count = 0;
	static const struct option options[] = {
	    {"data", required_argument, NULL, 'd'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 't'},
	    {"as-of", required_argument, NULL, 'a'},
	    {"firm", required_argument, NULL, 'F'},
	    {"memory-bytes-max", required_argument, NULL, 'm'},
	    {"document", required_argument, NULL, 'D'},
	    {"file", required_argument, NULL, 'i'},
	    {"seq", required_argument, NULL, 's'},
	    {"output", required_argument, NULL, 'o'},
	    {"log-key", required_argument, NULL, 'k'},
	    {"since", required_argument, NULL, 'S'},
	    {"tlog-proof", required_argument, NULL, 'P'},
	    {"checkpoint", required_argument, NULL, 'c'},
	    {"witness", required_argument, NULL, 'w'},
	    {"key-file", required_argument, NULL, 'K'},
	    {"state", required_argument, NULL, 'T'},
	    {"name", required_argument, NULL, 'n'},
	    {"what", required_argument, NULL, 'W'},
	    {"subject", required_argument, NULL, 'U'},
	    {"collection", required_argument, NULL, 'C'},
	    {NULL, 0, NULL, 0},
	};
	optind = 2;
	int c;
	bool exporting = strcmp(cmd, "export") == 0;
	while ((c = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'D': document = optarg; break;
		case 'i': file = optarg; break;
		case 'o': output = optarg; break;
		case 'k': key_path = optarg; break;
		case 'S': since = optarg; break;
		case 'P': tlog_proof = optarg; break;
		case 'c': checkpoint = optarg; break;
		case 'K': key_file = optarg; break;
		case 'T': state = optarg; break;
		case 'n': name = optarg; break;
		case 'W': what = optarg; break;
		case 'U': subject = optarg; break;
		case 'C': collection_id = optarg; break;
		case 'w':
			if (witness_count == TLOG_VERIFIERS_MAX - 1) {
				fprintf(stderr, "ledger-audit: at most %u --witness keys\n", TLOG_VERIFIERS_MAX - 1);
				return EXIT_USAGE;
			}
			witnesses[witness_count++] = optarg;
			break;
		case 's':
			if (!parse_seq(optarg, &seq)) {
				fprintf(stderr, "ledger-audit: --seq %s: a seq, 1 or more\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j': json = true; break;
		case 'a': as_of = optarg; break;
		case 'F': firm = optarg; break;
		case 'f':
		case 't':
			if (exporting) { /* times, read below */
				*(c == 'f' ? &from_text : &to_text) = optarg;
				break;
			}
			if (!parse_seq(optarg, c == 'f' ? &from : &to)) {
				fprintf(stderr, "ledger-audit: --%s %s: a seq, 1 or more\n", c == 'f' ? "from" : "to",
				        optarg);
				return EXIT_USAGE;
			}
			break;
		case 'm':
			if (!parse_seq(optarg, &memory_bytes_max) || memory_bytes_max > SIZE_MAX) {
				fprintf(stderr, "ledger-audit: --memory-bytes-max %s: a number of bytes, 1 or more\n",
				        optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	if (strcmp(cmd, "verify-proof") == 0) {
		if (optind + 1 != argc) {
			fprintf(stderr, "ledger-audit verify-proof: give one proof FILE\n%s", usage);
			return EXIT_USAGE;
		}
		return audit_verify_proof(argv[optind], key_path, witnesses, witness_count, json);
	}
	if (strcmp(cmd, "verify-evidence") == 0) {
		if (optind + 1 != argc) {
			fprintf(stderr, "ledger-audit verify-evidence: give one FILE.zip\n%s", usage);
			return EXIT_USAGE;
		}
		return audit_verify_evidence(argv[optind], key_path, witnesses, witness_count, json);
	}
	if (strcmp(cmd, "witness-key") == 0) {
		if (!name || !key_file || optind != argc) {
			fprintf(stderr, "ledger-audit witness-key: needs --name NAME and --key-file FILE\n");
			return EXIT_USAGE;
		}
		return audit_witness_key(name, key_file);
	}
	if (!dir || optind != argc) {
		fprintf(stderr, "ledger-audit: %s needs --data DIR and nothing else\n%s", cmd, usage);
		return EXIT_USAGE;
	}
	if (strcmp(cmd, "verify") == 0)
		return verify(dir, from, to, key_path, since, json);
	if (strcmp(cmd, "evidence") == 0)
		return audit_evidence(dir, key_path, firm, collection_id, checkpoint, output);
	if (strcmp(cmd, "checkpoint") == 0)
		return audit_checkpoint(dir, key_path, json);
	if (strcmp(cmd, "witness") == 0)
		return audit_witness(dir, key_path, key_file, state, json);
	if (strcmp(cmd, "prove") == 0 && tlog_proof) {
		if (!seq) {
			fprintf(stderr, "ledger-audit prove: --tlog-proof needs --seq N\n");
			return EXIT_USAGE;
		}
		return audit_tlog_proof(dir, key_path, seq, checkpoint,
		                        strcmp(tlog_proof, "-") == 0 ? NULL : tlog_proof);
	}
	if (strcmp(cmd, "replay") == 0)
		return replay(dir, as_of, firm, (size_t)memory_bytes_max, json);
	if (strcmp(cmd, "prove") == 0)
		return audit_prove(dir, json, document, file, seq);
	if (exporting) {
		int64_t from_us = INT64_MIN, to_us = INT64_MAX;
		if ((from_text && !parse_time_us(from_text, &from_us)) ||
		    (to_text && !parse_time_us(to_text, &to_us))) {
			fprintf(stderr, "ledger-audit export: --from/--to take YYYY-MM-DDTHH:MM:SSZ (UTC)\n");
			return EXIT_USAGE;
		}
		return audit_export(dir, what, firm, subject, from_us, to_us, output);
	}
	fprintf(stderr, "ledger-audit: unknown command %s\n%s", cmd, usage);
	return EXIT_USAGE;
}
