/*
 * rights.c: how long does "may this person do this in this firm?" take at the Order's scale?
 *
 * docs/design.md §6 asks that one node hold the whole Order (tens of thousands of firms, some
 * 100 000 collaborators) "with room to spare: measure it". This program builds such a store and
 * measures, in one run, one machine:
 *
 *   in process  proj_can() in a read transaction: mean ns per check over a million random
 *               (firm, person, action) triples, p50/p99 per kind of triple (a collaborator
 *               holding rights in the firm, the firm's EC, a stranger to the firm), the same
 *               with one read transaction per check (what a ledgerd query pays), beside a raw
 *               mdb_get of one key of the same environment: the floor any check stands on.
 *   over RPC    the `can` query against a real `ledgerd serve` on that store, 1 and 8 client
 *               threads, beside a bare nng req/rep echo of a request of the same size under the
 *               same clients: the transport alone.
 *
 * The store is written in process, fast but for real: `ledgerd init` creates it (and its keys),
 * then batches of 1000 commands run through proj_execute() inside ledger_commit_one() jobs, so
 * every event is decided, appended to the hash chain and folded exactly as in ledgerd; the log
 * verifies (`ledger-audit verify`) and replays (`ledger-audit replay`). Only the idempotency
 * records of the RPC layer are absent: no request went through it.
 *
 * bench-replay (replay.c) asks this program for its log: `--build-only --events N` extends the
 * store with a history of renewals and revocations until the log holds N events.
 *
 * A benchmark, not a test: it asserts no timing. Exit status: 0 it ran, 1 a phase failed (the
 * message names it), 2 usage.
 */
#include "client.h"
#include "ledger.h"
#include "projections.h"
#include "token.h"

#include "api.pb-c.h"

#include "common.h"

#include <lmdb.h>
#include <sodium.h>

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ----- limits and fixed choices ----- */

#define FIRMS_DEFAULT              20000u
#define COLLABORATORS_DEFAULT      100000u
#define FIRMS_QUICK                2000u
#define COLLABORATORS_QUICK        10000u
#define FIRMS_MAX                  999999u   /* what FIRM_ID_FORMAT can name */
#define COLLABORATORS_MAX          9999999u  /* what COLLABORATOR_EMAIL_FORMAT can name */
#define EVENTS_MAX                 50000000u /* --events: a bound on the disk a run may take */
#define FIRMS_PER_COLLABORATOR_MAX 2u
#define EXPIRY_DAYS_MIN            2u          /* after today in Paris, whatever the hour */
#define EXPIRY_DAYS_MAX            (3u * 365u) /* well inside PROJ_EXPIRY_YEARS_MAX */
/* Commands per durable commit while building: big batches make building fast, and 1000
 * commands of at most 3 events dirty far fewer pages than LMDB's per-transaction limit. */
#define COMMANDS_PER_COMMIT 1000u
/* Fixed seed: the same sizes give the same commands, run after run (the log differs only by its
 * commit times, hence its hashes). */
#define SEED 0x6a73652d72696768ull

#define CHECKS_DEFAULT 1000000u
#define CHECKS_QUICK   200000u
#define CHECKS_MAX     100000000u
/* Per-check timing costs a clock read per check: done over this many checks at most. */
#define TIMED_CHECKS_MAX 1000000u
/* One read transaction per check: slower, so a tenth of the checks suffice. */
#define TXN_CHECKS_DIVISOR   10u
#define TOKEN_VERIFIES       20000u
#define LOCAL_ROUNDS_DEFAULT 3u
#define LOCAL_ROUNDS_MAX     9u

/* Mix of the random checks, in percent: a collaborator in a firm where they hold rights, the
 * firm's EC, and anyone else (a random collaborator, almost never delegated in a random firm). */
#define CHECK_HOLDER_PERCENT 50u
#define CHECK_EC_PERCENT     10u

#define RPC_LOADS 2u
static const unsigned rpc_clients[RPC_LOADS] = {1u, 8u};
#define RPC_CLIENTS_MAX   8u
#define MEASURE_S_DEFAULT 5.0
#define WARMUP_S_DEFAULT  1.0
#define MEASURE_S_QUICK   1.5
#define WARMUP_S_QUICK    0.5
#define MEASURE_S_MAX     600.0
#define CALL_TIMEOUT_MS   30000
/* ledgerd verifies the whole chain before it serves: allow for a large log. */
#define READY_TIMEOUT_MS  300000
#define TOKEN_TTL_S       3600
#define ECHO_WORKERS      16u /* more than the clients: none ever waits for one */
#define REQUEST_BYTES_MAX (API_TOKEN_BYTES_MAX + 1024u)

#define MAP_BYTES_INITIAL ((size_t)4 << 30) /* sparse: the map never grows while building */
/* ipc:// socket paths live in DIR and must fit a sockaddr_un (108 bytes with the NUL). */
#define DATA_DIR_BYTES_MAX 90u
#define URL_BYTES_MAX      (PATH_MAX + 32u) /* what the compiler can prove; the dir is checked */

#define FIRM_ID_FORMAT            "F%06u"
#define EC_EMAIL_FORMAT           "ec%06u@firm.example"
#define COLLABORATOR_EMAIL_FORMAT "c%07u@collab.example"
#define FIRM_ID_BYTES             12u /* "F" + up to 10 digits (what %u can print) + NUL */
#define EMAIL_BYTES               32u /* the longer format with up to 10 digits + NUL */

typedef struct options {
	unsigned firms, collaborators, checks, rounds;
	uint64_t events; /* 0: no history beyond the delegations */
	int64_t warmup_ns, measure_ns;
	char data_dir[PATH_MAX]; /* "" until chosen */
	char tmp_parent[PATH_MAX];
	char ledgerd[PATH_MAX];
	bool data_given, keep, build_only, quick;
} options;

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p) {
		fprintf(stderr, "bench-rights: out of memory\n");
		exit(1);
	}
	return p;
}

/* items, with room for one more after count (the capacity doubles from 65536): exits when
 * memory runs out, as xcalloc. */
static void *list_room(void *items, size_t count, size_t *cap, size_t item_bytes)
{
	if (count < *cap)
		return items;
	*cap = *cap ? *cap * 2 : 65536;
	items = realloc(items, *cap * item_bytes);
	if (!items) {
		fprintf(stderr, "bench-rights: out of memory\n");
		exit(1);
	}
	return items;
}

/* splitmix64: a tiny deterministic generator; quality is ample for picking test data. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0 (multiply-shift: no modulo bias worth the name at these n). */
static uint32_t rng_below(uint64_t *s, uint32_t n)
{
	assert(n > 0);
	return (uint32_t)(((rng_next(s) >> 32) * n) >> 32);
}

/* 1 to 3 distinct rights, as a proj_right_bit mask. */
static uint8_t random_rights(uint64_t *s)
{
	unsigned want = 1u + rng_below(s, 3);
	uint8_t mask = 0;
	while ((unsigned)__builtin_popcount(mask) < want)
		mask |= (uint8_t)(1u << rng_below(s, 4));
	return mask;
}

/* ----- samples and percentiles ----- */

typedef struct samples {
	uint32_t *ns; /* latencies, saturated at UINT32_MAX */
	size_t count, cap, cap_max;
} samples;

static void samples_add(samples *s, int64_t ns)
{
	if (s->count == s->cap) {
		if (s->cap >= s->cap_max)
			return; /* past the bound: the rate still counts it, the percentiles do not */
		size_t cap = s->cap ? s->cap * 2 : 4096;
		if (cap > s->cap_max)
			cap = s->cap_max;
		uint32_t *ns_new = realloc(s->ns, cap * sizeof *ns_new);
		if (!ns_new)
			return;
		s->ns = ns_new;
		s->cap = cap;
	}
	s->ns[s->count++] = ns <= 0 ? 0u : ns >= (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Sorts s and returns its q-quantile (0 < q <= 1) in ns; 0 when empty. */
static double samples_quantile(samples *s, double q)
{
	assert(q > 0.0 && q <= 1.0);
	if (s->count == 0)
		return 0.0;
	qsort(s->ns, s->count, sizeof *s->ns, cmp_u32);
	size_t rank = (size_t)(q * (double)s->count);
	return (double)s->ns[rank ? rank - 1 : 0];
}

/* ----- the population: names, and who holds rights where ----- */

/* A (firm, collaborator) with at least one delegation: what "holder" checks draw from. */
typedef struct holding {
	uint32_t firm, collaborator;
	uint8_t rights; /* proj_right_bit mask */
} holding;

typedef struct population {
	unsigned firms, collaborators;
	char (*firm_ids)[FIRM_ID_BYTES];
	char (*ec_emails)[EMAIL_BYTES];
	char (*collaborator_emails)[EMAIL_BYTES];
	holding *holdings;
	size_t holdings_count, holdings_cap;
} population;

static void population_names(population *pop, unsigned firms, unsigned collaborators)
{
	free(pop->firm_ids);
	free(pop->ec_emails);
	free(pop->collaborator_emails);
	pop->firms = firms;
	pop->collaborators = collaborators;
	pop->firm_ids = xcalloc(firms, sizeof *pop->firm_ids);
	pop->ec_emails = xcalloc(firms, sizeof *pop->ec_emails);
	pop->collaborator_emails = xcalloc(collaborators, sizeof *pop->collaborator_emails);
	for (unsigned i = 0; i < firms; i++) {
		snprintf(pop->firm_ids[i], FIRM_ID_BYTES, FIRM_ID_FORMAT, i);
		snprintf(pop->ec_emails[i], EMAIL_BYTES, EC_EMAIL_FORMAT, i);
	}
	for (unsigned i = 0; i < collaborators; i++)
		snprintf(pop->collaborator_emails[i], EMAIL_BYTES, COLLABORATOR_EMAIL_FORMAT, i);
}

static void population_free(population *pop)
{
	free(pop->firm_ids);
	free(pop->ec_emails);
	free(pop->collaborator_emails);
	free(pop->holdings);
	memset(pop, 0, sizeof *pop);
}

static void holdings_add(population *pop, uint32_t firm, uint32_t collaborator, uint8_t rights)
{
	pop->holdings = list_room(pop->holdings, pop->holdings_count, &pop->holdings_cap, sizeof *pop->holdings);
	pop->holdings[pop->holdings_count++] = (holding){firm, collaborator, rights};
}

/* The index named by s = prefix || digits || suffix, checked against names[index]. -1 if s is
 * not one of ours. */
static long name_index(const char *s, const char *prefix, size_t count, const char *names, size_t name_bytes)
{
	size_t n = strlen(prefix);
	if (strncmp(s, prefix, n) != 0)
		return -1;
	char *end;
	unsigned long v = strtoul(s + n, &end, 10);
	if (end == s + n || v >= count)
		return -1;
	const char *expected = names + v * name_bytes;
	return strcmp(expected, s) == 0 ? (long)v : -1;
}

/* ----- the store ----- */

typedef struct store {
	ledger *l;
	proj *p;
	MDB_dbi firms, accounts, delegations;
} store;

static void store_close(store *s)
{
	if (s->p)
		proj_close(s->p);
	if (s->l)
		ledger_close(s->l);
	memset(s, 0, sizeof *s);
}

static bool store_open(const char *dir, store *s)
{
	memset(s, 0, sizeof *s);
	ledger_options o = {.map_bytes_initial = MAP_BYTES_INITIAL};
	ledger_err err = ledger_open(dir, &o, &s->l);
	if (err) {
		fprintf(stderr, "bench-rights: %s\n", ledger_last_error());
		return false;
	}
	err = proj_open(s->l, 1, &s->p);
	/* The projections' own databases, for the raw reference reads and for counting. */
	if (!err)
		err = ledger_dbi_open(s->l, "firms", 0, &s->firms);
	if (!err)
		err = ledger_dbi_open(s->l, "accounts", 0, &s->accounts);
	if (!err)
		err = ledger_dbi_open(s->l, "delegations", 0, &s->delegations);
	if (err) {
		fprintf(stderr, "bench-rights: %s: %s: %s\n", dir, ledger_strerror(err), ledger_last_error());
		store_close(s);
	}
	return !err;
}

static uint64_t store_head(store *s)
{
	uint64_t seq;
	ledger_head(s->l, &seq, NULL);
	return seq;
}

/* Reads the holdings back from the delegations projection, whose keys are
 * firm \0 collaborator \0 right: consecutive keys of one (firm, collaborator) merge. */
static bool holdings_load(store *s, population *pop, MDB_txn *txn)
{
	pop->holdings_count = 0;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, s->delegations, &cur);
	MDB_val k, v;
	for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const char *key = k.mv_data;
		size_t firm_len = strnlen(key, k.mv_size);
		if (firm_len + 3 > k.mv_size)
			break;
		const char *who = key + firm_len + 1;
		size_t who_len = strnlen(who, k.mv_size - firm_len - 1);
		if (firm_len + who_len + 3 != k.mv_size)
			break;
		long firm = name_index(key, "F", pop->firms, pop->firm_ids[0], FIRM_ID_BYTES);
		long collaborator = name_index(who, "c", pop->collaborators, pop->collaborator_emails[0], EMAIL_BYTES);
		unsigned bit = proj_right_bit_of((Ledger__Events__Right)(unsigned char)key[k.mv_size - 1]);
		if (firm < 0 || collaborator < 0 || bit == 0)
			break;
		holding *last = pop->holdings_count ? &pop->holdings[pop->holdings_count - 1] : NULL;
		if (last && last->firm == (uint32_t)firm && last->collaborator == (uint32_t)collaborator)
			last->rights |= (uint8_t)bit;
		else
			holdings_add(pop, (uint32_t)firm, (uint32_t)collaborator, (uint8_t)bit);
	}
	if (cur)
		mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		fprintf(stderr,
		        "bench-rights: the delegations projection holds a key this program did not write "
		        "(or LMDB failed: %s): not a bench-rights store\n",
		        rc ? mdb_strerror(rc) : "no");
		return false;
	}
	return true;
}

/* Learns the population from the store: counts from the projections, names from the formats. */
static bool population_load(store *s, population *pop)
{
	MDB_txn *txn;
	if (ledger_read_begin(s->l, &txn))
		return false;
	MDB_stat firms, accounts;
	bool ok = mdb_stat(txn, s->firms, &firms) == 0 && mdb_stat(txn, s->accounts, &accounts) == 0 &&
	          accounts.ms_entries >= firms.ms_entries && firms.ms_entries <= FIRMS_MAX &&
	          accounts.ms_entries - firms.ms_entries <= COLLABORATORS_MAX;
	if (ok) {
		population_names(pop, (unsigned)firms.ms_entries, (unsigned)(accounts.ms_entries - firms.ms_entries));
		/* The last names of each kind must be there: the store was written by this program. */
		MDB_val v, k1 = {0, NULL}, k2 = {0, NULL};
		if (pop->firms) {
			k1 = (MDB_val){strlen(pop->firm_ids[pop->firms - 1]), pop->firm_ids[pop->firms - 1]};
			ok = mdb_get(txn, s->firms, &k1, &v) == 0;
		}
		if (ok && pop->collaborators) {
			k2 = (MDB_val){strlen(pop->collaborator_emails[pop->collaborators - 1]),
			               pop->collaborator_emails[pop->collaborators - 1]};
			ok = mdb_get(txn, s->accounts, &k2, &v) == 0;
		}
		if (!ok)
			fprintf(stderr,
			        "bench-rights: the store's firms and accounts are not named as this program names "
			        "them: not a bench-rights store\n");
	}
	ok = ok && holdings_load(s, pop, txn);
	ledger_read_end(s->l, txn);
	return ok;
}

/* ----- building: commands through proj_execute, 1000 per durable commit ----- */

typedef enum {
	COMMAND_ACCOUNT_EC,
	COMMAND_FIRM,
	COMMAND_ACCOUNT_COLLABORATOR,
	COMMAND_GRANT,
	COMMAND_REVOKE,
} command_kind;

typedef struct command {
	uint8_t kind;
	uint8_t rights; /* grant, revoke: proj_right_bit mask */
	uint16_t expiry_days;
	uint32_t firm, collaborator;
} command;

typedef struct command_list {
	command *items;
	size_t count, cap;
	uint64_t events; /* the events they must write, every one accepted */
} command_list;

static void commands_add(command_list *list, command c, unsigned events)
{
	list->items = list_room(list->items, list->count, &list->cap, sizeof *list->items);
	list->items[list->count++] = c;
	list->events += events;
}

/* One durable commit of up to COMMANDS_PER_COMMIT commands. Re-runnable, as a ledger_job must
 * be: apply() starts from a fresh arena and fresh counters each time. */
typedef struct batch_job {
	ledger_job job;
	proj *p;
	const population *pop;
	const command *commands;
	size_t count;
	uint64_t first_index; /* of commands[0] in the whole build: names its request ids */
	proj_arena *arena;
	size_t refused;
	char refusal[320]; /* the first refusal's message */
	ledger_err result;
} batch_job;

/* Builds the request of c into the caller's structs (everything points to static names or
 * to the caller's locals), sets the actor and runs it. */
static ledger_err command_run(batch_job *j, ledger_txn *t, const command *c, const char *request_id,
                              Ledger__Api__Reply *reply)
{
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__AccountAdd account = LEDGER__API__ACCOUNT_ADD__INIT;
	Ledger__Api__FirmAdd firm = LEDGER__API__FIRM_ADD__INIT;
	Ledger__Api__DelegationGrant grant = LEDGER__API__DELEGATION_GRANT__INIT;
	Ledger__Api__DelegationRevoke revoke = LEDGER__API__DELEGATION_REVOKE__INIT;
	Ledger__Events__Right rights[4];
	size_t n_rights = 0;
	for (unsigned r = 1; r <= 4; r++)
		if (c->rights & proj_right_bit_of((Ledger__Events__Right)r))
			rights[n_rights++] = (Ledger__Events__Right)r;
	char *collaborator = (char *)j->pop->collaborator_emails[c->collaborator];
	char expires_on[11];
	/* The platform adds accounts and firms; a firm's EC grants and revokes in it. */
	bool by_ec = c->kind == COMMAND_GRANT || c->kind == COMMAND_REVOKE;
	proj_actor actor = by_ec ? (proj_actor){j->pop->ec_emails[c->firm], false} : (proj_actor){"platform", true};
	switch ((command_kind)c->kind) {
	case COMMAND_ACCOUNT_EC:
	case COMMAND_ACCOUNT_COLLABORATOR:
		account.email = c->kind == COMMAND_ACCOUNT_EC ? (char *)j->pop->ec_emails[c->firm] : collaborator;
		account.name = (char *)(c->kind == COMMAND_ACCOUNT_EC ? "Bench EC" : "Bench collaborator");
		account.is_ec = c->kind == COMMAND_ACCOUNT_EC;
		api_request_set_body(&req, LEDGER__API__REQUEST__BODY_ACCOUNT_ADD, &account.base);
		break;
	case COMMAND_FIRM:
		firm.firm_id = (char *)j->pop->firm_ids[c->firm];
		firm.name = (char *)"Bench firm";
		firm.ec_email = (char *)j->pop->ec_emails[c->firm];
		firm.siren = (char *)"732829320"; /* a valid SIREN (its Luhn key holds) */
		api_request_set_body(&req, LEDGER__API__REQUEST__BODY_FIRM_ADD, &firm.base);
		break;
	case COMMAND_GRANT:
		/* The Paris date expiry_days from the batch's time: always after today there. */
		proj_paris_date(ledger_txn_time_us(t) + (int64_t)c->expiry_days * 86400 * 1000000, 0, expires_on);
		grant.firm_id = (char *)j->pop->firm_ids[c->firm];
		grant.n_collaborators = 1;
		grant.collaborators = &collaborator;
		grant.n_rights = n_rights;
		grant.rights = rights;
		grant.expires_on = expires_on;
		api_request_set_body(&req, LEDGER__API__REQUEST__BODY_DELEGATION_GRANT, &grant.base);
		break;
	case COMMAND_REVOKE:
		revoke.firm_id = (char *)j->pop->firm_ids[c->firm];
		revoke.collaborator = collaborator;
		revoke.n_rights = n_rights;
		revoke.rights = rights;
		api_request_set_body(&req, LEDGER__API__REQUEST__BODY_DELEGATION_REVOKE, &revoke.base);
		break;
	}
	return proj_execute(j->p, t, &actor, request_id, &req, reply, j->arena);
}

/* A refusal, or a grant row that was not granted, is a bug of this program or of the core. */
static void note_reply(batch_job *j, const Ledger__Api__Reply *reply)
{
	const char *problem = NULL;
	if (reply->error)
		problem = reply->error->message;
	else if (reply->result_case == LEDGER__API__REPLY__RESULT_GRANT &&
	         (reply->grant->n_results != 1 ||
	          reply->grant->results[0]->status != LEDGER__API__GRANT_RESULT__STATUS__GRANTED))
		problem = reply->grant->n_results ? reply->grant->results[0]->message : "a grant reply without rows";
	if (!problem)
		return;
	if (j->refused++ == 0)
		snprintf(j->refusal, sizeof j->refusal, "%s", problem);
}

static ledger_err batch_apply(ledger_job *job, ledger_txn *t)
{
	batch_job *j = (batch_job *)job;
	proj_arena_free(j->arena);
	j->arena = proj_arena_new();
	if (!j->arena)
		return LEDGER_ERR_NOMEM;
	j->refused = 0;
	j->refusal[0] = '\0';
	for (size_t i = 0; i < j->count; i++) {
		char request_id[32];
		snprintf(request_id, sizeof request_id, "bench-%llu", (unsigned long long)j->first_index + i);
		Ledger__Api__Reply reply;
		ledger__api__reply__init(&reply);
		ledger_err err = command_run(j, t, &j->commands[i], request_id, &reply);
		if (err)
			return err;
		note_reply(j, &reply);
	}
	return LEDGER_OK;
}

static void batch_done(ledger_job *job, ledger_err err)
{
	((batch_job *)job)->result = err;
}

/* Runs list in batches; each batch is committed durably at the wall-clock time. False, with
 * the reason, on an LMDB failure, a refused command or an event count other than expected. */
static bool commands_run(store *s, const population *pop, const command_list *list, const char *what)
{
	uint64_t head0 = store_head(s);
	int64_t t0 = bench_now_ns();
	batch_job j = {.job = {batch_apply, batch_done, NULL}, .p = s->p, .pop = pop};
	bool ok = true;
	for (size_t done = 0; ok && done < list->count; done += j.count) {
		j.commands = list->items + done;
		j.count = list->count - done < COMMANDS_PER_COMMIT ? list->count - done : COMMANDS_PER_COMMIT;
		j.first_index = head0 + done; /* unique across phases: the head grows by at least one per command */
		ledger_err err = ledger_commit_one(s->l, &j.job, wall_us());
		if (!err)
			err = j.result;
		if (err) {
			fprintf(stderr, "bench-rights: %s: commit failed: %s: %s\n", what, ledger_strerror(err),
			        ledger_last_error());
			ok = false;
		} else if (j.refused) {
			fprintf(stderr, "bench-rights: %s: %zu command(s) refused, the first: %s\n", what, j.refused,
			        j.refusal);
			ok = false;
		}
	}
	proj_arena_free(j.arena);
	uint64_t events = store_head(s) - head0;
	double seconds = (double)(bench_now_ns() - t0) / 1e9;
	if (ok && events != list->events) {
		fprintf(stderr, "bench-rights: %s: %llu events written, %llu expected\n", what,
		        (unsigned long long)events, (unsigned long long)list->events);
		ok = false;
	}
	fprintf(
	    stderr,
	    "bench-rights: %s: %zu commands, %llu events in %.1f s (%.0f events/s, durable commits of %u commands)\n",
	    what, list->count, (unsigned long long)events, seconds, seconds > 0 ? (double)events / seconds : 0.0,
	    COMMANDS_PER_COMMIT);
	return ok;
}

/* Every EC account, every firm, every collaborator account. */
static void plan_population(const population *pop, command_list *list)
{
	for (unsigned i = 0; i < pop->firms; i++)
		commands_add(list, (command){.kind = COMMAND_ACCOUNT_EC, .firm = i}, 1);
	for (unsigned i = 0; i < pop->firms; i++)
		commands_add(list, (command){.kind = COMMAND_FIRM, .firm = i}, 1);
	for (unsigned i = 0; i < pop->collaborators; i++)
		commands_add(list, (command){.kind = COMMAND_ACCOUNT_COLLABORATOR, .collaborator = i}, 1);
}

/* Each collaborator: 1 or 2 distinct random firms, 1 to 3 random rights in each, a random
 * expiry between EXPIRY_DAYS_MIN and EXPIRY_DAYS_MAX days ahead. */
static void plan_delegations(const population *pop, uint64_t *rng, command_list *list)
{
	for (unsigned c = 0; c < pop->collaborators; c++) {
		unsigned n = 1u + rng_below(rng, FIRMS_PER_COLLABORATOR_MAX);
		uint32_t first = UINT32_MAX;
		for (unsigned k = 0; k < n && k < pop->firms; k++) {
			uint32_t firm = rng_below(rng, pop->firms);
			if (firm == first)
				continue;
			first = firm;
			uint8_t rights = random_rights(rng);
			uint16_t days =
			    (uint16_t)(EXPIRY_DAYS_MIN + rng_below(rng, EXPIRY_DAYS_MAX - EXPIRY_DAYS_MIN + 1));
			commands_add(list, (command){COMMAND_GRANT, rights, days, firm, c},
			             (unsigned)__builtin_popcount(rights));
		}
	}
}

/*
 * A history on top of the delegations until the log holds events_target events: on a random
 * holding, three times in four a grant of 1 to 3 random rights with a new expiry (renewals of
 * the rights already held, new rights otherwise), else the revocation of one right it holds.
 * The holdings in pop follow what the commands will do, so that every command is accepted.
 */
static void plan_history(population *pop, uint64_t head, uint64_t events_target, uint64_t *rng, command_list *list)
{
	while (pop->holdings_count && head + list->events < events_target) {
		holding *h = &pop->holdings[rng_below(rng, (uint32_t)pop->holdings_count)];
		if (h->rights && rng_below(rng, 4) == 0) {
			unsigned held[4], n = 0;
			for (unsigned b = 0; b < 4; b++)
				if (h->rights & (1u << b))
					held[n++] = b;
			uint8_t bit = (uint8_t)(1u << held[rng_below(rng, n)]);
			h->rights &= (uint8_t)~bit;
			commands_add(list, (command){COMMAND_REVOKE, bit, 0, h->firm, h->collaborator}, 1);
		} else {
			uint8_t rights = random_rights(rng);
			uint16_t days =
			    (uint16_t)(EXPIRY_DAYS_MIN + rng_below(rng, EXPIRY_DAYS_MAX - EXPIRY_DAYS_MIN + 1));
			h->rights |= rights;
			commands_add(list, (command){COMMAND_GRANT, rights, days, h->firm, h->collaborator},
			             (unsigned)__builtin_popcount(rights));
		}
	}
}

/* Builds what the store lacks: the population and delegations if it has no firm, then the
 * history up to o->events. Leaves pop loaded from the store. */
static bool store_build(const options *o, store *s, population *pop)
{
	if (!population_load(s, pop))
		return false;
	uint64_t rng = SEED;
	if (pop->firms == 0) {
		population_names(pop, o->firms, o->collaborators);
		command_list people = {0}, delegations = {0};
		plan_population(pop, &people);
		plan_delegations(pop, &rng, &delegations);
		bool ok = commands_run(s, pop, &people, "accounts and firms") &&
		          commands_run(s, pop, &delegations, "delegations");
		free(people.items);
		free(delegations.items);
		if (!ok || !population_load(s, pop))
			return false;
	} else if (o->firms != pop->firms || o->collaborators != pop->collaborators) {
		fprintf(stderr, "bench-rights: reusing the store as it is: %u firms and %u collaborators\n", pop->firms,
		        pop->collaborators);
	}
	uint64_t head = store_head(s);
	if (o->events > head) {
		rng ^= head; /* a store extended twice does not replay the same history */
		command_list history = {0};
		plan_history(pop, head, o->events, &rng, &history);
		bool ok = commands_run(s, pop, &history, "history (renewals, new rights, revocations)");
		free(history.items);
		if (!ok || !population_load(s, pop))
			return false;
	}
	return true;
}

/* ----- the checks ----- */

typedef enum { CHECK_HOLDER, CHECK_EC, CHECK_STRANGER, CHECK_KINDS } check_kind;
static const char *const check_kind_names[CHECK_KINDS] = {"holder", "EC", "stranger"};

typedef struct check {
	const char *firm_id, *who;
	uint8_t action;
	uint8_t kind;
} check;

static check *checks_make(const population *pop, size_t n)
{
	check *checks = xcalloc(n, sizeof *checks);
	uint64_t rng = SEED ^ 0x636865636b73ull;
	uint32_t actions = (uint32_t)proj_action_count();
	for (size_t i = 0; i < n; i++) {
		check *c = &checks[i];
		uint32_t roll = rng_below(&rng, 100);
		c->action = (uint8_t)rng_below(&rng, actions);
		if (roll < CHECK_HOLDER_PERCENT && pop->holdings_count) {
			const holding *h = &pop->holdings[rng_below(&rng, (uint32_t)pop->holdings_count)];
			*c = (check){pop->firm_ids[h->firm], pop->collaborator_emails[h->collaborator], c->action,
			             CHECK_HOLDER};
		} else if (roll < CHECK_HOLDER_PERCENT + CHECK_EC_PERCENT) {
			uint32_t firm = rng_below(&rng, pop->firms);
			*c = (check){pop->firm_ids[firm], pop->ec_emails[firm], c->action, CHECK_EC};
		} else {
			uint32_t firm = rng_below(&rng, pop->firms), who = rng_below(&rng, pop->collaborators);
			*c = (check){pop->firm_ids[firm], pop->collaborator_emails[who], c->action, CHECK_STRANGER};
		}
	}
	return checks;
}

/* ----- in-process figures ----- */

typedef struct kind_figures {
	uint64_t count, allowed;
	double p50_ns, p99_ns;
} kind_figures;

typedef struct local_figures {
	size_t checks, timed_checks, txn_checks;
	double check_ns;                 /* mean, one read transaction for every check */
	double check_ns_lo, check_ns_hi; /* its spread over the rounds */
	double check_txn_ns;             /* mean, one read transaction per check */
	double p50_ns, p99_ns;           /* per-check timing, every kind */
	double clock_ns;                 /* what one clock read pair adds to each timed check */
	kind_figures kinds[CHECK_KINDS];
	double get_firm_ns, get_delegation_ns; /* raw mdb_get */
	double token_verify_ns, token_cached_ns;
	uint64_t errors;
} local_figures;

/* Mean ns per proj_can over every check, in one read transaction; tallies the answers. */
static bool local_mean(store *s, const check *checks, size_t n, int64_t at_us, local_figures *f)
{
	MDB_txn *txn;
	if (ledger_read_begin(s->l, &txn))
		return false;
	char reason[256];
	int64_t t0 = bench_now_ns();
	for (size_t i = 0; i < n; i++) {
		proj_can_result r = proj_can(s->p, txn, checks[i].firm_id, checks[i].who, checks[i].action, at_us,
		                             reason, sizeof reason);
		f->kinds[checks[i].kind].count++;
		f->kinds[checks[i].kind].allowed += r == PROJ_CAN_ALLOWED;
		f->errors += r == PROJ_CAN_ERROR || r == PROJ_CAN_NO_FIRM;
	}
	f->check_ns = (double)(bench_now_ns() - t0) / (double)n;
	ledger_read_end(s->l, txn);
	return true;
}

/* The cost of the two clock reads around a timed check: the median of many empty pairs. */
static double clock_pair_ns(void)
{
	samples s = {.cap_max = 100000};
	for (int i = 0; i < 100000; i++) {
		int64_t a = bench_now_ns();
		samples_add(&s, bench_now_ns() - a);
	}
	double ns = samples_quantile(&s, 0.5);
	free(s.ns);
	return ns;
}

/* p50/p99 per kind and overall, each check timed on its own (clock reads included). */
static bool local_percentiles(store *s, const check *checks, size_t n, int64_t at_us, local_figures *f)
{
	samples all = {.cap_max = n}, kinds[CHECK_KINDS];
	for (unsigned k = 0; k < CHECK_KINDS; k++)
		kinds[k] = (samples){.cap_max = n};
	MDB_txn *txn;
	if (ledger_read_begin(s->l, &txn))
		return false;
	char reason[256];
	for (size_t i = 0; i < n; i++) {
		int64_t t0 = bench_now_ns();
		proj_can(s->p, txn, checks[i].firm_id, checks[i].who, checks[i].action, at_us, reason, sizeof reason);
		int64_t ns = bench_now_ns() - t0;
		samples_add(&all, ns);
		samples_add(&kinds[checks[i].kind], ns);
	}
	ledger_read_end(s->l, txn);
	f->p50_ns = samples_quantile(&all, 0.5);
	f->p99_ns = samples_quantile(&all, 0.99);
	for (unsigned k = 0; k < CHECK_KINDS; k++) {
		f->kinds[k].p50_ns = samples_quantile(&kinds[k], 0.5);
		f->kinds[k].p99_ns = samples_quantile(&kinds[k], 0.99);
		free(kinds[k].ns);
	}
	free(all.ns);
	f->timed_checks = n;
	return true;
}

/* Mean ns per check when each has its own read transaction, as each ledgerd query does. */
static bool local_per_txn(store *s, const check *checks, size_t n, int64_t at_us, local_figures *f)
{
	char reason[256];
	int64_t t0 = bench_now_ns();
	for (size_t i = 0; i < n; i++) {
		MDB_txn *txn;
		if (ledger_read_begin(s->l, &txn))
			return false;
		proj_can(s->p, txn, checks[i].firm_id, checks[i].who, checks[i].action, at_us, reason, sizeof reason);
		ledger_read_end(s->l, txn);
	}
	f->check_txn_ns = (double)(bench_now_ns() - t0) / (double)n;
	f->txn_checks = n;
	return true;
}

/* The floor: mdb_get of one key, found, in one read transaction of the same environment: the
 * firm of each check (what proj_can reads first) and a delegation of a holder (what it reads
 * next, in a database of some 300 000 keys). */
static bool local_raw_gets(store *s, const population *pop, const check *checks, size_t n, local_figures *f)
{
	MDB_txn *txn;
	if (ledger_read_begin(s->l, &txn))
		return false;
	uint64_t missing = 0, sum = 0;
	int64_t t0 = bench_now_ns();
	for (size_t i = 0; i < n; i++) {
		MDB_val k = {strlen(checks[i].firm_id), (void *)checks[i].firm_id}, v;
		if (mdb_get(txn, s->firms, &k, &v) != 0)
			missing++;
		else
			sum += ((const uint8_t *)v.mv_data)[0]; /* touch the value, as a reader would */
	}
	f->get_firm_ns = (double)(bench_now_ns() - t0) / (double)n;
	uint64_t rng = SEED ^ 0x676574ull;
	t0 = bench_now_ns();
	for (size_t i = 0; i < n && pop->holdings_count; i++) {
		const holding *h = &pop->holdings[rng_below(&rng, (uint32_t)pop->holdings_count)];
		char key[64];
		const char *firm = pop->firm_ids[h->firm], *who = pop->collaborator_emails[h->collaborator];
		size_t fn = strlen(firm), wn = strlen(who);
		memcpy(key, firm, fn + 1);
		memcpy(key + fn + 1, who, wn + 1);
		key[fn + wn + 2] = (char)(1 + __builtin_ctz(h->rights | 0x10u)); /* its lowest right */
		MDB_val k = {fn + wn + 3, key}, v;
		if (h->rights == 0 || mdb_get(txn, s->delegations, &k, &v) != 0)
			missing++;
		else
			sum += ((const uint8_t *)v.mv_data)[0];
	}
	f->get_delegation_ns = pop->holdings_count ? (double)(bench_now_ns() - t0) / (double)n : 0.0;
	ledger_read_end(s->l, txn);
	if (missing)
		fprintf(stderr, "bench-rights: %llu reference keys not found (checksum %llu)\n",
		        (unsigned long long)missing, (unsigned long long)sum);
	return missing == 0;
}

static bool mint(const char *data_dir, char out[API_TOKEN_BYTES_MAX])
{
	/* ledgerd checks a token against its own clock: issue it by the wall clock. */
	const char *why;
	bool ok =
	    api_token_mint_from_dir(data_dir, "platform", true, (int64_t)time(NULL), TOKEN_TTL_S, NULL, out, &why);
	if (!ok)
		fprintf(stderr, "bench-rights: a token from %s: %s\n", data_dir, why);
	return ok;
}

/* What an RPC pays for its bearer token before its query runs: a full Ed25519 verification
 * the first time ledgerd sees the token, a lookup in its cache of verified tokens (api/token.h)
 * afterwards. The RPC loads below reuse one token: they pay the second. */
static bool local_token_verify(const char *data_dir, const char *token, local_figures *f)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	const char *why;
	if (!api_key_load(data_dir, "idp.pk", pk, sizeof pk, &why)) {
		fprintf(stderr, "bench-rights: %s/keys/idp.pk: %s\n", data_dir, why);
		return false;
	}
	api_token_cache *cache = api_token_cache_new();
	api_claims claims;
	bool ok = cache != NULL;
	int64_t t0 = bench_now_ns();
	for (unsigned i = 0; ok && i < TOKEN_VERIFIES; i++)
		ok = api_token_verify(token, pk, (int64_t)time(NULL), &claims, &why);
	int64_t t1 = bench_now_ns();
	for (unsigned i = 0; ok && i < TOKEN_VERIFIES; i++)
		ok = api_token_verify_cached(cache, token, pk, (int64_t)time(NULL), &claims, &why);
	int64_t t2 = bench_now_ns();
	api_token_cache_free(cache);
	if (!ok) {
		fprintf(stderr, "bench-rights: token: %s\n", cache ? why : "out of memory");
		return false;
	}
	f->token_verify_ns = (double)(t1 - t0) / TOKEN_VERIFIES;
	f->token_cached_ns = (double)(t2 - t1) / TOKEN_VERIFIES; /* one miss among them: negligible */
	return true;
}

/* One round of every in-process figure, into f. */
static bool local_round(const options *o, store *s, const population *pop, const check *checks, const char *token,
                        local_figures *f)
{
	memset(f, 0, sizeof *f);
	f->checks = o->checks;
	int64_t at_us = wall_us(); /* "now", as ledgerd asks */
	size_t timed = o->checks < TIMED_CHECKS_MAX ? o->checks : TIMED_CHECKS_MAX;
	size_t per_txn = o->checks / TXN_CHECKS_DIVISOR ? o->checks / TXN_CHECKS_DIVISOR : 1;
	bool ok = local_mean(s, checks, o->checks, at_us, f) && local_percentiles(s, checks, timed, at_us, f) &&
	          local_per_txn(s, checks, per_txn, at_us, f) && local_raw_gets(s, pop, checks, o->checks, f) &&
	          local_token_verify(o->data_dir, token, f);
	f->clock_ns = clock_pair_ns();
	if (ok && f->errors)
		fprintf(stderr, "bench-rights: %llu checks answered an error or an unknown firm\n",
		        (unsigned long long)f->errors);
	return ok && f->errors == 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The median over the rounds of the double at byte offset `at` of a local_figures; its
 * smallest and largest values into *lo and *hi (may be NULL). */
static double round_median(const local_figures *rounds, size_t n, size_t at, double *lo, double *hi)
{
	double v[LOCAL_ROUNDS_MAX];
	assert(n >= 1 && n <= LOCAL_ROUNDS_MAX);
	for (size_t i = 0; i < n; i++)
		memcpy(&v[i], (const char *)&rounds[i] + at, sizeof v[i]);
	qsort(v, n, sizeof v[0], cmp_double);
	if (lo)
		*lo = v[0];
	if (hi)
		*hi = v[n - 1];
	return v[n / 2];
}

#define MEDIAN(rounds, n, field) round_median(rounds, n, offsetof(local_figures, field), NULL, NULL)

/*
 * The machine this runs on is shared (a VM: other guests steal time in bursts), so each figure
 * is measured in o->rounds rounds and the median reported, with the spread of the headline
 * one. A first pass before the rounds brings the pages in: every figure is of a warm cache.
 */
static bool bench_local(const options *o, store *s, const population *pop, const check *checks, const char *token,
                        local_figures *f)
{
	local_figures rounds[LOCAL_ROUNDS_MAX];
	memset(rounds, 0, sizeof rounds);
	fprintf(stderr, "bench-rights: %u in-process checks, %u rounds...\n", o->checks, o->rounds);
	bool ok = local_mean(s, checks, o->checks, wall_us(), &rounds[0]);
	for (unsigned r = 0; ok && r < o->rounds; r++)
		ok = local_round(o, s, pop, checks, token, &rounds[r]);
	if (!ok)
		return false;
	*f = rounds[0]; /* the counts are the same in every round */
	size_t n = o->rounds;
	f->check_ns = round_median(rounds, n, offsetof(local_figures, check_ns), &f->check_ns_lo, &f->check_ns_hi);
	f->check_txn_ns = MEDIAN(rounds, n, check_txn_ns);
	f->p50_ns = MEDIAN(rounds, n, p50_ns);
	f->p99_ns = MEDIAN(rounds, n, p99_ns);
	f->clock_ns = MEDIAN(rounds, n, clock_ns);
	f->get_firm_ns = MEDIAN(rounds, n, get_firm_ns);
	f->get_delegation_ns = MEDIAN(rounds, n, get_delegation_ns);
	f->token_verify_ns = MEDIAN(rounds, n, token_verify_ns);
	f->token_cached_ns = MEDIAN(rounds, n, token_cached_ns);
	for (unsigned k = 0; k < CHECK_KINDS; k++) {
		size_t at = offsetof(local_figures, kinds) + k * sizeof(kind_figures);
		f->kinds[k].p50_ns = round_median(rounds, n, at + offsetof(kind_figures, p50_ns), NULL, NULL);
		f->kinds[k].p99_ns = round_median(rounds, n, at + offsetof(kind_figures, p99_ns), NULL, NULL);
	}
	return true;
}

/* ----- ledgerd as a child process ----- */

/* ledgerd's stdout goes to our stderr, so that ours carries only the figures. */
static bench_ledgerd ledgerd_of(const options *o)
{
	return (bench_ledgerd){"bench-rights", o->ledgerd, o->data_dir, STDERR_FILENO, NULL, 0};
}

/* ----- the `can` load (bench_run_load: closed-loop client threads) ----- */

/* The `can` query of one check, as a client sends it. */
typedef struct can_request {
	Ledger__Api__Request req;
	Ledger__Api__Can can;
} can_request;

static void can_request_init(can_request *r, const check *c, const char *token)
{
	*r = (can_request){LEDGER__API__REQUEST__INIT, LEDGER__API__CAN__INIT};
	r->can.firm_id = (char *)c->firm_id;
	r->can.actor = (char *)c->who;
	r->can.action = (char *)proj_action_name(c->action);
	r->req.token = (char *)token;
	api_request_set_body(&r->req, LEDGER__API__REQUEST__BODY_CAN, &r->can.base);
}

typedef struct can_setup {
	const char *url;
	const char *token;
	const check *checks;
	size_t checks_count;
} can_setup;

/* Each thread's own: its client, and the next of the checks it takes in turn. */
typedef struct can_client {
	api_client *client;
	size_t next_check;
} can_client;

static bool can_open(bench_client *c)
{
	const can_setup *setup = c->setup;
	can_client *cc = c->state;
	cc->next_check = c->index % setup->checks_count;
	const char *why;
	cc->client = api_client_open(setup->url, CALL_TIMEOUT_MS, &why);
	if (!cc->client)
		snprintf(c->error, sizeof c->error, "cannot dial %s: %s", setup->url, why);
	return cc->client != NULL;
}

/* One `can`; the tally counts the allowed answers. */
static bool can_call(bench_client *c)
{
	const can_setup *setup = c->setup;
	can_client *cc = c->state;
	const check *ch = &setup->checks[cc->next_check];
	cc->next_check = (cc->next_check + c->clients) % setup->checks_count;
	can_request cr;
	can_request_init(&cr, ch, setup->token);
	Ledger__Api__Reply *reply;
	const char *why;
	if (!api_client_call(cc->client, &cr.req, &reply, &why)) {
		snprintf(c->error, sizeof c->error, "can: %s", why);
		return false;
	}
	bool ok = !reply->error && reply->result_case == LEDGER__API__REPLY__RESULT_CAN;
	if (!ok)
		snprintf(c->error, sizeof c->error, "can refused: %s",
		         reply->error ? reply->error->message : "not a can reply");
	else
		c->tally += reply->can->allowed;
	ledger__api__reply__free_unpacked(reply, NULL);
	return ok;
}

static void can_close(bench_client *c)
{
	api_client_close(((can_client *)c->state)->client);
}

static const bench_load_kind can_load = {sizeof(can_client), can_open, can_call, can_close};

typedef struct load_result {
	bench_load_result run; /* run.tally: the allowed `can` answers */
	double server_cpu_us;  /* ledgerd's CPU per request over the window, -1 unknown; echo: -1 */
} load_result;

/* Runs `clients` threads of kind against setup for warm-up + measure; server_pid 0: no server
 * CPU. The server's CPU is that of the measured window only. */
static void run_load(const bench_load_kind *kind, const void *setup, unsigned clients, pid_t server_pid,
                     const options *o, load_result *out)
{
	assert(clients >= 1 && clients <= RPC_CLIENTS_MAX);
	bench_load_plan plan = {"bench-rights", kind, setup, clients, o->warmup_ns, o->measure_ns, server_pid};
	bench_run_load(&plan, &out->run);
	/* -1 without a server: bench_run_load knows no CPU time of pid 0. */
	out->server_cpu_us = bench_cpu_us_per_op(out->run.server_window_cpu_ns, out->run.ops, -1.0);
}

/* ----- RPC figures ----- */

typedef struct rpc_figures {
	load_result can[RPC_LOADS], echo[RPC_LOADS];
	size_t request_bytes;
} rpc_figures;

/* A packed `can` request of the first check: the echo load sends bytes of the same size. */
static size_t pack_can_request(const check *c, const char *token, uint8_t *out, size_t cap)
{
	can_request cr;
	can_request_init(&cr, c, token);
	size_t n = 0;
	uint8_t *wire = api_envelope_pack(&cr.req, &n); /* what a client sends (docs/rpc.md#envelope) */
	if (!wire || n > cap) {
		free(wire);
		return 0;
	}
	memcpy(out, wire, n);
	free(wire);
	return n;
}

/*
 * ledgerd and the echo server run side by side, and each load runs `can` then echo at once:
 * a burst of noise from the rest of the machine then skews a pair, not a whole column.
 */
static bool bench_rpc(const options *o, const check *checks, const char *token, rpc_figures *f)
{
	uint8_t request[REQUEST_BYTES_MAX];
	f->request_bytes = pack_can_request(&checks[0], token, request, sizeof request);
	char echo_url[URL_BYTES_MAX];
	snprintf(echo_url, sizeof echo_url, "ipc://%s/b-echo.sock", o->data_dir);
	bench_ledgerd p = ledgerd_of(o);
	char url[URL_BYTES_MAX], pub_url[URL_BYTES_MAX];
	snprintf(url, sizeof url, "ipc://%s/b.sock", o->data_dir);
	snprintf(pub_url, sizeof pub_url, "ipc://%s/b-events.sock", o->data_dir);
	char *serve[] = {"--listen", url, "--pub", pub_url, NULL};
	fprintf(stderr, "bench-rights: starting ledgerd serve (it verifies the chain first)...\n");
	bool ok = f->request_bytes > 0 && bench_ledgerd_serve(&p, serve, READY_TIMEOUT_MS);
	bench_echo_server *echo =
	    ok ? bench_echo_server_start("bench-rights", echo_url, REQUEST_BYTES_MAX, ECHO_WORKERS) : NULL;
	ok = ok && echo;
	can_setup can = {.url = url, .token = token, .checks = checks, .checks_count = o->checks};
	bench_echo_setup echo_setup = {
	    .url = echo_url, .request = request, .request_bytes = f->request_bytes, .timeout_ms = CALL_TIMEOUT_MS};
	for (unsigned i = 0; ok && i < RPC_LOADS; i++) {
		fprintf(stderr, "bench-rights: %u client(s): can over RPC, then the bare echo...\n", rpc_clients[i]);
		run_load(&can_load, &can, rpc_clients[i], p.pid, o, &f->can[i]);
		ok = !f->can[i].run.failed && f->can[i].run.ops > 0;
		if (ok) {
			run_load(&bench_echo_load, &echo_setup, rpc_clients[i], 0, o, &f->echo[i]);
			ok = !f->echo[i].run.failed && f->echo[i].run.ops > 0;
		}
	}
	bench_echo_server_stop(echo);
	return bench_ledgerd_stop(&p) && ok;
}

/* ----- report ----- */

/* What else used the machine since before. ledgerd's CPU time counts as ours once it has been
 * waited for: call this after that. */
static void print_machine(const bench_machine_sample *before)
{
	bench_machine_use use = bench_machine_use_since(before);
	printf("  (%.0f s of %ld CPUs; meanwhile other processes used %.1f CPU-s and the hypervisor stole %.1f)\n",
	       use.wall_s, sysconf(_SC_NPROCESSORS_ONLN), use.others_cpu_s > 0 ? use.others_cpu_s : 0.0, use.steal_s);
}

static void print_local(const local_figures *f)
{
	printf("in process: proj_can at the current time, %zu random checks (%u%% holder, %u%% EC, %u%% stranger, "
	       "21 actions)\n",
	       f->checks, CHECK_HOLDER_PERCENT, CHECK_EC_PERCENT, 100u - CHECK_HOLDER_PERCENT - CHECK_EC_PERCENT);
	printf(
	    "  one read transaction for all:   %8.0f ns/check   (%.2f M checks/s on one core; rounds %.0f to %.0f)\n",
	    f->check_ns, 1e3 / f->check_ns, f->check_ns_lo, f->check_ns_hi);
	printf("  one read transaction per check: %8.0f ns/check   (%zu checks: what each ledgerd query pays)\n",
	       f->check_txn_ns, f->txn_checks);
	printf("  each check timed alone (%zu, clock reads add ~%.0f ns): p50 %.0f ns, p99 %.0f ns\n", f->timed_checks,
	       f->clock_ns, f->p50_ns, f->p99_ns);
	printf("    %-9s %9s %9s %9s %9s\n", "kind", "checks", "allowed", "p50 ns", "p99 ns");
	for (unsigned k = 0; k < CHECK_KINDS; k++)
		printf("    %-9s %9llu %8.1f%% %9.0f %9.0f\n", check_kind_names[k],
		       (unsigned long long)f->kinds[k].count,
		       f->kinds[k].count ? 100.0 * (double)f->kinds[k].allowed / (double)f->kinds[k].count : 0.0,
		       f->kinds[k].p50_ns, f->kinds[k].p99_ns);
	printf("  reference, raw mdb_get of one key, same environment and transaction:\n");
	printf("    firms (the check's firm):           %6.0f ns/get\n", f->get_firm_ns);
	printf("    delegations (a holder's right):     %6.0f ns/get\n", f->get_delegation_ns);
	printf(
	    "  reference, a bearer token: api_token_verify (Ed25519) %.1f µs; api_token_verify_cached, hit: %.2f µs\n",
	    f->token_verify_ns / 1e3, f->token_cached_ns / 1e3);
}

static void print_rpc(const rpc_figures *f)
{
	printf("\nover RPC (ipc://): `can` to a real ledgerd, same checks, one platform token reused (a cache hit)\n");
	printf("  clients   requests/s    p50 µs    p99 µs   allowed   ledgerd CPU µs/request\n");
	for (unsigned i = 0; i < RPC_LOADS; i++) {
		const load_result *r = &f->can[i];
		printf("  %7u %12.0f %9.1f %9.1f %8.1f%% %12.1f\n", r->run.clients, r->run.ops_per_s, r->run.p50_us,
		       r->run.p99_us, r->run.ops ? 100.0 * (double)r->run.tally / (double)r->run.ops : 0.0,
		       r->server_cpu_us);
	}
	printf("bare nng req/rep echo of %zu-byte requests (a packed `can` request), same client threads\n",
	       f->request_bytes);
	printf("  clients   requests/s    p50 µs    p99 µs\n");
	for (unsigned i = 0; i < RPC_LOADS; i++)
		printf("  %7u %12.0f %9.1f %9.1f\n", f->echo[i].run.clients, f->echo[i].run.ops_per_s,
		       f->echo[i].run.p50_us, f->echo[i].run.p99_us);
	for (unsigned i = 0; i < RPC_LOADS; i++)
		printf("  %u client(s): `can` reaches %.0f%% of the echo's rate; p50 %.1f µs over the echo's\n",
		       f->can[i].run.clients, 100.0 * f->can[i].run.ops_per_s / f->echo[i].run.ops_per_s,
		       f->can[i].run.p50_us - f->echo[i].run.p50_us);
}

/* ----- command line ----- */

static const char usage[] =
    "usage: bench-rights [--quick] [--data DIR] [--tmp DIR] [--keep] [--firms N] [--collaborators N]\n"
    "                    [--checks N] [--rounds N] [--seconds S] [--warmup S] [--ledgerd PATH]\n"
    "       bench-rights --build-only --data DIR [--events N] [--quick] [--firms N] [--collaborators N]\n"
    "\n"
    "Builds (or reuses, with --data) a store of N firms, each with its EC, and N collaborators\n"
    "holding 1 to 3 rights in 1 or 2 random firms, written in process through proj_execute in\n"
    "durable batches of 1000 commands. Then measures rights checks: proj_can in process (ns per\n"
    "check, p50/p99, beside a raw mdb_get), and the `can` query over RPC to a real ledgerd with 1 and\n"
    "8 clients, beside a bare nng req/rep echo. A benchmark: it asserts no timing.\n"
    "\n"
    "  --quick            2000 firms, 10000 collaborators, 200000 checks, short RPC runs (~20 s)\n"
    "  --data DIR         the store: reused if it holds one (sizes are then the store's), else\n"
    "                     created there (`ledgerd init`) and kept. Default: a fresh directory under\n"
    "                     --tmp, removed afterwards. At most 90 bytes (socket paths live in it).\n"
    "  --tmp DIR          where the fresh directory goes (default $TMPDIR or /tmp)\n"
    "  --keep             keep the fresh directory (its path is printed)\n"
    "  --firms N          firms (default 20000)\n"
    "  --collaborators N  collaborators (default 100000)\n"
    "  --checks N         random checks in process, cycled over RPC (default 1000000)\n"
    "  --rounds N         rounds of the in-process figures, the median reported (default 3)\n"
    "  --seconds S        seconds measured per RPC run (default 5)\n"
    "  --warmup S         seconds of warm-up before each RPC run (default 1)\n"
    "  --events N         extend the log with renewals and revocations until it holds N events\n"
    "  --build-only       build (or extend) the store, measure nothing; needs --data\n"
    "  --ledgerd PATH     the ledgerd to run (default: the one beside this program)\n"
    "  -h, --help         this help\n"
    "\n"
    "exit status: 0 ran, 1 a phase failed (the message names it), 2 usage error\n";

static int parse_options(int argc, char **argv, options *o)
{
	*o = (options){.firms = 0, .warmup_ns = -1, .measure_ns = -1};
	bench_tmp_parent(o->tmp_parent);
	bench_beside_self(argv[0], "/ledgerd", o->ledgerd); /* else empty: reported as "no ledgerd" */
	const bench_option table[] = {
	    bench_flag("quick", &o->quick),
	    bench_text("data", o->data_dir, sizeof o->data_dir, &o->data_given),
	    bench_text("tmp", o->tmp_parent, sizeof o->tmp_parent, NULL),
	    bench_flag("keep", &o->keep),
	    bench_count("firms", &o->firms, FIRMS_MAX),
	    bench_count("collaborators", &o->collaborators, COLLABORATORS_MAX),
	    bench_count("checks", &o->checks, CHECKS_MAX),
	    bench_seconds("seconds", &o->measure_ns, MEASURE_S_MAX, true, NULL),
	    bench_seconds("warmup", &o->warmup_ns, MEASURE_S_MAX, false, NULL),
	    bench_count64("events", &o->events, EVENTS_MAX),
	    bench_flag("build-only", &o->build_only),
	    bench_text("ledgerd", o->ledgerd, sizeof o->ledgerd, NULL),
	    bench_count("rounds", &o->rounds, LOCAL_ROUNDS_MAX),
	};
	int rc = bench_parse_options("bench-rights", usage, argc, argv, table, sizeof table / sizeof table[0]);
	if (rc != 0)
		return rc;
	/* Defaults not given: the quick or the full size. */
	if (!o->firms)
		o->firms = o->quick ? FIRMS_QUICK : FIRMS_DEFAULT;
	if (!o->collaborators)
		o->collaborators = o->quick ? COLLABORATORS_QUICK : COLLABORATORS_DEFAULT;
	if (!o->checks)
		o->checks = o->quick ? CHECKS_QUICK : CHECKS_DEFAULT;
	if (!o->rounds)
		o->rounds = LOCAL_ROUNDS_DEFAULT;
	if (o->measure_ns < 0)
		o->measure_ns = (int64_t)((o->quick ? MEASURE_S_QUICK : MEASURE_S_DEFAULT) * 1e9);
	if (o->warmup_ns < 0)
		o->warmup_ns = (int64_t)((o->quick ? WARMUP_S_QUICK : WARMUP_S_DEFAULT) * 1e9);
	if (o->build_only && !o->data_given)
		return fprintf(stderr, "bench-rights: --build-only needs --data DIR\n"), 2;
	if (access(o->ledgerd, X_OK) != 0)
		return fprintf(stderr, "bench-rights: no ledgerd at %s (build it, or name it with --ledgerd)\n",
		               o->ledgerd),
		       2;
	return 0;
}

/* Chooses the data directory (absolute, short enough for its socket paths); creates the store
 * with `ledgerd init` when it has none. */
static bool prepare_dir(options *o)
{
	if (!o->data_given) {
		if (snprintf(o->data_dir, sizeof o->data_dir, "%s/bench-rights-XXXXXX", o->tmp_parent) >=
		        (int)sizeof o->data_dir ||
		    !mkdtemp(o->data_dir)) {
			fprintf(stderr, "bench-rights: cannot create a directory under %s: %s\n", o->tmp_parent,
			        strerror(errno));
			return false;
		}
		rmdir(o->data_dir); /* ledgerd init creates it, and refuses nothing but a store */
	}
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/data.mdb", o->data_dir);
	bench_ledgerd init = ledgerd_of(o);
	if (access(path, F_OK) != 0 && !bench_ledgerd_init(&init))
		return false;
	char abs[PATH_MAX];
	if (!realpath(o->data_dir, abs)) {
		fprintf(stderr, "bench-rights: %s: %s\n", o->data_dir, strerror(errno));
		return false;
	}
	if (strlen(abs) > DATA_DIR_BYTES_MAX) {
		fprintf(stderr, "bench-rights: %s: over %u bytes: its socket paths would not fit\n", abs,
		        DATA_DIR_BYTES_MAX);
		return false;
	}
	snprintf(o->data_dir, sizeof o->data_dir, "%s", abs);
	return true;
}

/* The whole run: build, in-process figures, then (ledger closed) the RPC figures. */
static bool run(options *o)
{
	if (!prepare_dir(o))
		return false;
	store s;
	population pop = {0};
	if (!store_open(o->data_dir, &s))
		return false;
	bool ok = store_build(o, &s, &pop);
	uint64_t events = ok ? store_head(&s) : 0;
	if (ok)
		fprintf(stderr, "bench-rights: store %s: %u firms, %u collaborators, %zu holdings, %llu events\n",
		        o->data_dir, pop.firms, pop.collaborators, pop.holdings_count, (unsigned long long)events);
	if (!ok || o->build_only) {
		store_close(&s);
		population_free(&pop);
		return ok;
	}
	printf("bench-rights: %u firms (each with its EC), %u collaborators, %zu (firm, collaborator) holdings, "
	       "%llu events in the log\n",
	       pop.firms, pop.collaborators, pop.holdings_count, (unsigned long long)events);
	printf("machine: %ld CPUs, load average %.2f before the measurements\n\n", sysconf(_SC_NPROCESSORS_ONLN),
	       bench_load_average());
	check *checks = checks_make(&pop, o->checks);
	char token[API_TOKEN_BYTES_MAX];
	local_figures local;
	bench_machine_sample local_start, rpc_start;
	bench_machine_sample_take(&local_start);
	ok = mint(o->data_dir, token) && bench_local(o, &s, &pop, checks, token, &local);
	/* ledgerd takes the store: ours must be closed before it starts. */
	store_close(&s);
	rpc_figures *rpc = xcalloc(1, sizeof *rpc);
	if (ok) {
		print_local(&local);
		print_machine(&local_start);
	}
	fflush(stdout);
	bench_machine_sample_take(&rpc_start);
	ok = ok && bench_rpc(o, checks, token, rpc);
	if (ok) {
		print_rpc(rpc);
		print_machine(&rpc_start); /* ledgerd has been waited for */
	}
	free(rpc);
	free(checks);
	population_free(&pop);
	return ok;
}

int main(int argc, char **argv)
{
	options o;
	int rc = parse_options(argc, argv, &o);
	if (rc != 0)
		return rc;
	if (!bench_process_init("bench-rights"))
		return 1;
	bool ok = run(&o);
	if (!o.data_given && o.data_dir[0]) {
		if (o.keep)
			fprintf(stderr, "bench-rights: store kept in %s\n", o.data_dir);
		else
			bench_remove_tree("bench-rights", o.data_dir);
	}
	return ok ? 0 : 1;
}
