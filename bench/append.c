/*
 * append.c: how close does ledgerd come to what it is built from?
 *
 * One run, one machine, three measurements of the same unit of work:
 *   ledgerd   a `delegation grant` of one right to one collaborator, sent by 1, 8 and 64
 *             client threads (each with its own api_client) to a real `ledgerd serve` child
 *             over ipc://. A reply means the grant's event is durable (group commit).
 *   raw LMDB  MDB_APPEND of records of a grant event's stored size into a fresh environment
 *             with LMDB's default, durable sync: 1 record per commit (the floor under one
 *             command's latency) and 1000 per commit (the ceiling group commit approaches).
 *   echo      a bare nng rep0 echo server (contexts + aio, as ledgerd has) answering
 *             requests of a grant request's size, under the same client threads: the cost of
 *             the transport alone.
 * The targets are printed beside the figures as information. This is a benchmark, not a
 * test: it asserts no timing. Exit status: 0 it ran, 1 a phase failed (ledgerd did not start,
 * a request was refused or lost...), 2 usage.
 */
#include "client.h"
#include "ledger.h"
#include "token.h"

#include "api.pb-c.h"
#include "events.pb-c.h"

#include "common.h"

#include <lmdb.h>
#include <sodium.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ----- limits and fixed choices ----- */

#define LOADS 3u
static const unsigned load_clients[LOADS] = {1u, 8u, 64u};
#define CLIENTS_MAX 64u
#define RAW_MODES   2u
static const unsigned raw_records_per_commit[RAW_MODES] = {1u, 1000u};

#define CALL_TIMEOUT_MS  30000
#define READY_TIMEOUT_MS 15000
#define TOKEN_TTL_S      (24 * 3600)
/* Big enough that the map never grows during a run: growth is not what is measured. */
#define LEDGERD_MAP_SIZE "1G"
#define RAW_MAP_BYTES    ((size_t)2 << 30)
/* Bounds the disk one raw run writes: it stops early (and says so) when it reaches it. */
#define RAW_DATA_BYTES_MAX ((uint64_t)512 << 20)
#define ECHO_WORKERS       128u /* ledgerd's default number of contexts (API_WORKERS_DEFAULT) */
#define REQUEST_BYTES_MAX  (API_TOKEN_BYTES_MAX + 1024u)
#define RECORD_BYTES_MAX   4096u
/* The work directory's path is bounded so that its ipc:// socket paths fit a sockaddr_un
 * (108 bytes with the NUL): the longest name under it is "/ledgerd-events.sock". */
#define WORK_DIR_BYTES_MAX 80u
#define URL_BYTES_MAX      (WORK_DIR_BYTES_MAX + 64u)

#define MEASURE_S_DEFAULT 6.0
#define WARMUP_S_DEFAULT  1.0
#define MEASURE_S_QUICK   1.5
#define WARMUP_S_QUICK    0.5
#define MEASURE_S_MAX     600.0

#define FIRM_ID                   "bench-firm"
#define EC_EMAIL                  "ec@bench.example"
#define COLLABORATOR_EMAIL_FORMAT "collaborator-%02u@bench.example"

/* Targets (docs/benchmarks.md): printed, never asserted. */
#define TARGET_LATENCY_RATIO_MAX 2.0
#define TARGET_RATE_RATIO_MIN    0.5

typedef struct options {
	char ledgerd[PATH_MAX];
	char tmp_parent[PATH_MAX];
	int64_t warmup_ns, measure_ns;
	bool json, keep, quick, seconds_given, warmup_given;
} options;

/* ----- the loads (bench_run_load: closed-loop client threads) ----- */

/* One `delegation grant` request, built once per thread; only the request id changes. */
typedef struct grant_request {
	Ledger__Api__Request req;
	Ledger__Api__DelegationGrant grant;
	char *collaborators[1];
	Ledger__Events__Right rights[1];
	char collaborator[64];
	char request_id[33];
} grant_request;

/* The grant load's setup, and each of its threads' own state. */
typedef struct grant_setup {
	const char *url;
	const char *token; /* the EC's */
} grant_setup;

typedef struct grant_client {
	api_client *client;
	grant_request grant;
} grant_client;

typedef struct load_result {
	bench_load_result run;
	/* CPU time per request, warm-up included: of this process (the clients, and the echo
	 * server when it is in-process) and of the server process when there is one */
	double client_cpu_us, server_cpu_us;
	/* ledgerd only, from the log: grant events and the durable commits that held them */
	uint64_t events, commits;
} load_result;

/* Runs `clients` threads of kind against setup for warm-up + measure; server_pid 0: the
 * server is in this process. */
static void run_load(const bench_load_kind *kind, const void *setup, pid_t server_pid, unsigned clients,
                     const options *o, load_result *out)
{
	assert(clients >= 1 && clients <= CLIENTS_MAX);
	bench_load_plan plan = {"bench-append", kind, setup, clients, o->warmup_ns, o->measure_ns, server_pid};
	*out = (load_result){0};
	bench_run_load(&plan, &out->run);
	out->client_cpu_us = bench_cpu_us_per_op(out->run.client_cpu_ns, out->run.ops_all, 0.0);
	out->server_cpu_us = bench_cpu_us_per_op(out->run.server_cpu_ns, out->run.ops_all, 0.0);
}

/* ----- the ledgerd load: delegation grants ----- */

static void grant_request_init(grant_request *g, const char *token, unsigned collaborator)
{
	ledger__api__request__init(&g->req);
	ledger__api__delegation_grant__init(&g->grant);
	snprintf(g->collaborator, sizeof g->collaborator, COLLABORATOR_EMAIL_FORMAT, collaborator);
	g->collaborators[0] = g->collaborator;
	g->rights[0] = LEDGER__EVENTS__RIGHT__RIGHT_PREPARE;
	g->grant.firm_id = (char *)FIRM_ID;
	g->grant.n_collaborators = 1;
	g->grant.collaborators = g->collaborators;
	g->grant.n_rights = 1;
	g->grant.rights = g->rights;
	api_request_id(g->request_id);
	g->req.request_id = g->request_id;
	g->req.token = (char *)token;
	api_request_set_body(&g->req, LEDGER__API__REQUEST__BODY_DELEGATION_GRANT, &g->grant.base);
}

/* NULL when r is what a grant of one right to one known collaborator must answer: granted,
 * one new event. Otherwise what is wrong (pointing into r). */
static const char *grant_reply_problem(const Ledger__Api__Reply *r)
{
	if (r->error)
		return r->error->message;
	if (r->result_case != LEDGER__API__REPLY__RESULT_GRANT || r->grant->n_results != 1)
		return "not a grant reply of one row";
	if (r->grant->results[0]->status != LEDGER__API__GRANT_RESULT__STATUS__GRANTED)
		return r->grant->results[0]->message;
	if (r->seq == 0 || r->replayed)
		return "the grant wrote no new event";
	return NULL;
}

static bool grant_open(bench_client *c)
{
	const grant_setup *setup = c->setup;
	grant_client *g = c->state;
	const char *why;
	g->client = api_client_open(setup->url, CALL_TIMEOUT_MS, &why);
	if (!g->client) {
		snprintf(c->error, sizeof c->error, "cannot dial %s: %s", setup->url, why);
		return false;
	}
	grant_request_init(&g->grant, setup->token, c->index);
	return true;
}

static bool grant_call(bench_client *c)
{
	grant_client *g = c->state;
	api_request_id(g->grant.request_id); /* a fresh command, never a replayed one */
	Ledger__Api__Reply *reply;
	const char *why;
	if (!api_client_call(g->client, &g->grant.req, &reply, &why)) {
		snprintf(c->error, sizeof c->error, "grant: %s", why);
		return false;
	}
	const char *problem = grant_reply_problem(reply);
	if (problem)
		snprintf(c->error, sizeof c->error, "grant refused: %s", problem);
	ledger__api__reply__free_unpacked(reply, NULL);
	return problem == NULL;
}

static void grant_close(bench_client *c)
{
	api_client_close(((grant_client *)c->state)->client);
}

static const bench_load_kind grant_load = {sizeof(grant_client), grant_open, grant_call, grant_close};

/* ----- ledgerd as a child process ----- */

/* The served ledgerd: its files and sockets under the work directory, and the process. */
typedef struct ledgerd_proc {
	char data_dir[PATH_MAX];
	char url[URL_BYTES_MAX], pub_url[URL_BYTES_MAX];
	char log_path[PATH_MAX];
	bench_ledgerd run; /* its stdout and stderr into log_path */
} ledgerd_proc;

/* ----- setting up the firm over RPC ----- */

static bool mint(const char *data_dir, const char *sub, bool platform, char out[API_TOKEN_BYTES_MAX])
{
	const char *why;
	bool ok = api_token_mint_from_dir(data_dir, sub, platform, (int64_t)time(NULL), TOKEN_TTL_S, NULL, out, &why);
	if (!ok)
		fprintf(stderr, "bench-append: a token from %s: %s\n", data_dir, why);
	return ok;
}

/* Sends body (the message of body_case) with token and a fresh request id; *reply is the
 * caller's. */
static bool call(api_client *c, const char *token, Ledger__Api__Request__BodyCase body_case, ProtobufCMessage *body,
                 Ledger__Api__Reply **reply)
{
	char request_id[33];
	api_request_id(request_id);
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	api_request_set_body(&req, body_case, body);
	req.request_id = request_id;
	req.token = (char *)token;
	const char *why;
	bool ok = api_client_call(c, &req, reply, &why);
	if (!ok)
		fprintf(stderr, "bench-append: call failed: %s\n", why);
	else if ((*reply)->error)
		fprintf(stderr, "bench-append: refused: %s\n", (*reply)->error->message);
	if (ok && (*reply)->error) {
		ledger__api__reply__free_unpacked(*reply, NULL);
		ok = false;
	}
	return ok;
}

static bool command(api_client *c, const char *token, Ledger__Api__Request__BodyCase body_case, ProtobufCMessage *body)
{
	Ledger__Api__Reply *reply;
	if (!call(c, token, body_case, body, &reply))
		return false;
	ledger__api__reply__free_unpacked(reply, NULL);
	return true;
}

static bool account_add(api_client *c, const char *token, const char *email, bool is_ec)
{
	Ledger__Api__AccountAdd a = LEDGER__API__ACCOUNT_ADD__INIT;
	a.email = (char *)email;
	a.name = (char *)(is_ec ? "Bench EC" : "Bench collaborator");
	a.is_ec = is_ec;
	return command(c, token, LEDGER__API__REQUEST__BODY_ACCOUNT_ADD, &a.base);
}

/* The EC, its firm and CLIENTS_MAX collaborators, one per client thread. */
static bool setup_firm(api_client *c, const char *platform_token)
{
	if (!account_add(c, platform_token, EC_EMAIL, true))
		return false;
	Ledger__Api__FirmAdd f = LEDGER__API__FIRM_ADD__INIT;
	f.firm_id = (char *)FIRM_ID;
	f.name = (char *)"Bench firm";
	f.ec_email = (char *)EC_EMAIL;
	f.siren = (char *)"732829320"; /* a valid SIREN (its Luhn key holds) */
	if (!command(c, platform_token, LEDGER__API__REQUEST__BODY_FIRM_ADD, &f.base))
		return false;
	for (unsigned i = 0; i < CLIENTS_MAX; i++) {
		char email[64];
		snprintf(email, sizeof email, COLLABORATOR_EMAIL_FORMAT, i);
		if (!account_add(c, platform_token, email, false))
			return false;
	}
	return true;
}

static bool head_seq(api_client *c, const char *token, uint64_t *seq)
{
	Ledger__Api__Head h = LEDGER__API__HEAD__INIT;
	Ledger__Api__Reply *reply;
	if (!call(c, token, LEDGER__API__REQUEST__BODY_HEAD, &h.base, &reply))
		return false;
	bool ok = reply->result_case == LEDGER__API__REPLY__RESULT_HEAD;
	if (ok)
		*seq = reply->head->seq;
	ledger__api__reply__free_unpacked(reply, NULL);
	return ok;
}

/* ----- reading the log back: record size and group commit ----- */

typedef struct ledgerd_figures {
	load_result loads[LOADS];
	uint64_t first_seq[LOADS], last_seq[LOADS]; /* what each load wrote */
	uint64_t grant_events, grant_record_bytes;  /* over every load */
	size_t request_bytes;
	uint8_t request[REQUEST_BYTES_MAX]; /* a packed grant request, for the echo load */
} ledgerd_figures;

/*
 * Counts the grant events of a load, their stored bytes, and the durable commits that held
 * them. Every event of a batch carries the batch's one commit time (ledger_txn_time_us), so a
 * change of committed_at_us between consecutive events is a new commit.
 */
static bool log_scan_load(ledger *l, MDB_txn *txn, ledgerd_figures *f, unsigned load)
{
	load_result *r = &f->loads[load];
	int64_t previous_us = -1;
	for (uint64_t seq = f->first_seq[load]; seq <= f->last_seq[load]; seq++) {
		ledger_record rec;
		if (ledger_get(l, txn, seq, &rec) != LEDGER_OK)
			return false;
		Ledger__Events__Event *ev = ledger__events__event__unpack(NULL, rec.event_bytes, rec.event);
		if (!ev)
			return false;
		if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DELEGATION_GRANTED) {
			r->events++;
			f->grant_events++;
			f->grant_record_bytes += LEDGER_RECORD_HEADER_BYTES + rec.event_bytes;
			if (ev->committed_at_us != previous_us)
				r->commits++;
			previous_us = ev->committed_at_us;
		}
		ledger__events__event__free_unpacked(ev, NULL);
	}
	return true;
}

/* Opens the stopped ledgerd's store read-only (verifying its chain) and scans each load. */
static bool log_scan(const char *data_dir, ledgerd_figures *f)
{
	ledger_options lo = {.read_only = true};
	ledger *l;
	if (ledger_open(data_dir, &lo, &l) != LEDGER_OK) {
		fprintf(stderr, "bench-append: reading the log back: %s\n", ledger_last_error());
		return false;
	}
	MDB_txn *txn = NULL;
	bool began = ledger_read_begin(l, &txn) == LEDGER_OK, ok = began;
	for (unsigned i = 0; ok && i < LOADS; i++)
		ok = log_scan_load(l, txn, f, i);
	if (began)
		ledger_read_end(l, txn);
	ledger_close(l);
	if (!ok || f->grant_events == 0)
		fprintf(stderr, "bench-append: the log holds no readable grant event\n");
	return ok && f->grant_events > 0;
}

/* ----- phase 1: ledgerd ----- */

static void request_sample(ledgerd_figures *f, const char *token)
{
	grant_request g;
	grant_request_init(&g, token, 0);
	size_t n = 0;
	uint8_t *wire = api_envelope_pack(&g.req, &n); /* what a client sends (docs/rpc.md#envelope) */
	assert(wire && n <= sizeof f->request);
	memcpy(f->request, wire, n);
	f->request_bytes = n;
	free(wire);
}

/* Runs the loads against the served ledgerd; the setup client marks each load's seq range. */
static bool ledgerd_loads(const options *o, const ledgerd_proc *p, ledgerd_figures *f)
{
	char platform_token[API_TOKEN_BYTES_MAX], ec_token[API_TOKEN_BYTES_MAX];
	if (!mint(p->data_dir, "platform", true, platform_token) || !mint(p->data_dir, EC_EMAIL, false, ec_token))
		return false;
	const char *why;
	api_client *c = api_client_open(p->url, CALL_TIMEOUT_MS, &why);
	if (!c) {
		fprintf(stderr, "bench-append: cannot dial %s: %s\n", p->url, why);
		return false;
	}
	bool ok = setup_firm(c, platform_token);
	request_sample(f, ec_token);
	grant_setup setup = {.url = p->url, .token = ec_token};
	for (unsigned i = 0; ok && i < LOADS; i++) {
		fprintf(stderr, "bench-append: ledgerd, %u client(s)...\n", load_clients[i]);
		uint64_t head;
		ok = head_seq(c, platform_token, &head);
		f->first_seq[i] = head + 1;
		if (ok)
			run_load(&grant_load, &setup, p->run.pid, load_clients[i], o, &f->loads[i]);
		ok = ok && !f->loads[i].run.failed && head_seq(c, platform_token, &f->last_seq[i]);
	}
	api_client_close(c);
	return ok;
}

static bool measure_ledgerd(const options *o, const char *work_dir, ledgerd_figures *f)
{
	ledgerd_proc p;
	char ipc_dir[URL_BYTES_MAX];
	bool fits = bench_path_join(ipc_dir, sizeof ipc_dir, "ipc://", work_dir) &&
	            bench_path_join(p.data_dir, sizeof p.data_dir, work_dir, "/ledger") &&
	            bench_path_join(p.url, sizeof p.url, ipc_dir, "/ledgerd.sock") &&
	            bench_path_join(p.pub_url, sizeof p.pub_url, ipc_dir, "/ledgerd-events.sock") &&
	            bench_path_join(p.log_path, sizeof p.log_path, work_dir, "/ledgerd.log");
	assert(fits); /* main() bounded work_dir by WORK_DIR_BYTES_MAX */
	(void)fits;
	p.run = (bench_ledgerd){"bench-append", o->ledgerd, p.data_dir, -1, p.log_path, 0};
	p.run.out_fd = open(p.log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (p.run.out_fd < 0) {
		fprintf(stderr, "bench-append: %s: %s\n", p.log_path, strerror(errno));
		return false;
	}
	char *serve[] = {"--listen", p.url, "--pub", p.pub_url, "--map-size", LEDGERD_MAP_SIZE, NULL};
	bool ok = bench_ledgerd_init(&p.run) && bench_ledgerd_serve(&p.run, serve, READY_TIMEOUT_MS);
	ok = ok && ledgerd_loads(o, &p, f);
	ok = bench_ledgerd_stop(&p.run) && ok;
	close(p.run.out_fd);
	return ok && log_scan(p.data_dir, f);
}

/* ----- phase 2: raw LMDB ----- */

typedef struct raw_result {
	unsigned records_per_commit;
	uint64_t commits, records;
	double records_per_s, commit_p50_us, commit_p99_us;
	bool capped; /* stopped at RAW_DATA_BYTES_MAX before the window ended */
} raw_result;

/* A fresh environment as the ledger opens its own (MDB_NOTLS, default durable sync). */
static bool raw_env_open(const char *dir, MDB_env **env, MDB_dbi *dbi)
{
	if (mkdir(dir, 0700) != 0) {
		fprintf(stderr, "bench-append: mkdir %s: %s\n", dir, strerror(errno));
		return false;
	}
	MDB_txn *txn = NULL;
	int rc = mdb_env_create(env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(*env, 1);
	if (rc == 0)
		rc = mdb_env_set_mapsize(*env, RAW_MAP_BYTES);
	if (rc == 0)
		rc = mdb_env_open(*env, dir, MDB_NOTLS, 0600);
	if (rc == 0)
		rc = mdb_txn_begin(*env, NULL, 0, &txn);
	if (rc == 0) {
		rc = mdb_dbi_open(txn, "events", MDB_CREATE, dbi);
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	if (rc != 0)
		fprintf(stderr, "bench-append: raw LMDB in %s: %s\n", dir, mdb_strerror(rc));
	return rc == 0;
}

/* One durable commit of n records after *seq, keyed like the ledger's (u64 big-endian). */
static int raw_commit(MDB_env *env, MDB_dbi dbi, uint64_t *seq, unsigned n, uint8_t *value, size_t value_bytes)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(env, NULL, 0, &txn);
	for (unsigned i = 0; rc == 0 && i < n; i++) {
		uint8_t key[8];
		ledger_put_u64_be(key, ++*seq);
		MDB_val k = {sizeof key, key}, v = {value_bytes, value};
		rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND);
	}
	if (rc == 0)
		return mdb_txn_commit(txn);
	mdb_txn_abort(txn);
	return rc;
}

static bool raw_run(const options *o, const char *dir, size_t record_bytes, unsigned per_commit, raw_result *out)
{
	assert(record_bytes > 0 && record_bytes <= RECORD_BYTES_MAX && per_commit > 0);
	MDB_env *env = NULL;
	MDB_dbi dbi;
	uint8_t value[RECORD_BYTES_MAX];
	bench_histogram *h = calloc(1, sizeof *h);
	bool ok = h && raw_env_open(dir, &env, &dbi);
	randombytes_buf(value, record_bytes);
	*out = (raw_result){.records_per_commit = per_commit};
	uint64_t seq = 0, records_max = RAW_DATA_BYTES_MAX / record_bytes;
	int64_t start_ns = bench_now_ns() + o->warmup_ns, end_ns = start_ns + o->measure_ns, last_ns = start_ns;
	while (ok) {
		int64_t t0 = bench_now_ns();
		if (t0 < start_ns && seq >= records_max / 2) {
			/* A fast disk: warm-up ends at half the data cap, so the window has the rest. */
			start_ns = last_ns = t0;
			end_ns = start_ns + o->measure_ns;
		}
		if (t0 >= end_ns || (out->capped = seq + per_commit > records_max))
			break;
		int rc = raw_commit(env, dbi, &seq, per_commit, value, record_bytes);
		if (rc != 0) {
			fprintf(stderr, "bench-append: raw LMDB commit: %s\n", mdb_strerror(rc));
			ok = false;
		}
		int64_t t1 = bench_now_ns();
		if (ok && t0 >= start_ns) {
			bench_hist_add(h, t1 - t0);
			out->commits++;
			last_ns = t1;
		}
	}
	out->records = out->commits * per_commit;
	double seconds = (double)(last_ns - start_ns) / 1e9;
	out->records_per_s = seconds > 0.0 ? (double)out->records / seconds : 0.0;
	out->commit_p50_us = h ? bench_hist_quantile_us(h, 0.50) : 0.0;
	out->commit_p99_us = h ? bench_hist_quantile_us(h, 0.99) : 0.0;
	if (env)
		mdb_env_close(env);
	free(h);
	return ok && out->commits > 0;
}

/* ----- phase 3: echo ----- */

static bool measure_echo(const options *o, const char *work_dir, const ledgerd_figures *f, load_result out[LOADS])
{
	char ipc_dir[URL_BYTES_MAX], url[URL_BYTES_MAX];
	bool fits = bench_path_join(ipc_dir, sizeof ipc_dir, "ipc://", work_dir) &&
	            bench_path_join(url, sizeof url, ipc_dir, "/echo.sock");
	assert(fits); /* main() bounded work_dir by WORK_DIR_BYTES_MAX */
	(void)fits;
	bench_echo_server *s = bench_echo_server_start("bench-append", url, REQUEST_BYTES_MAX, ECHO_WORKERS);
	bool ok = s != NULL;
	bench_echo_setup setup = {
	    .url = url, .request = f->request, .request_bytes = f->request_bytes, .timeout_ms = CALL_TIMEOUT_MS};
	for (unsigned i = 0; ok && i < LOADS; i++) {
		fprintf(stderr, "bench-append: echo, %u client(s)...\n", load_clients[i]);
		run_load(&bench_echo_load, &setup, 0, load_clients[i], o, &out[i]);
		ok = !out[i].run.failed;
	}
	bench_echo_server_stop(s);
	return ok;
}

/* ----- report ----- */

typedef struct figures {
	ledgerd_figures ledgerd;
	size_t record_bytes;
	raw_result raw[RAW_MODES];
	load_result echo[LOADS];
	double latency_bound_us, latency_ratio, rate_ratio;
	double load_before; /* 1-minute load average; -1 when unknown */
	/* What else ran during the run (other processes, and the kernel's own threads, which
	 * include some of our I/O): busy CPU-seconds of the machine not charged to us, and time
	 * stolen by the hypervisor. Negative when unknown. */
	double others_cpu_s, steal_s, wall_s;
} figures;

/* The targets, as ratios: ledgerd's one-client p50 over (raw one-record commit p50 + one-client
 * echo p50), to stay <= 2; ledgerd's 64-client rate over the echo's, to stay >= 0.5. */
static void targets(figures *f)
{
	f->latency_bound_us = f->raw[0].commit_p50_us + f->echo[0].run.p50_us;
	f->latency_ratio = f->ledgerd.loads[0].run.p50_us / f->latency_bound_us;
	f->rate_ratio = f->ledgerd.loads[LOADS - 1].run.ops_per_s / f->echo[LOADS - 1].run.ops_per_s;
}

static double events_per_commit(const load_result *r)
{
	return r->commits ? (double)r->events / (double)r->commits : 0.0;
}

static void print_tables(const figures *f)
{
	printf("ledgerd: durable delegation grants over ipc://\n");
	printf("  clients   commands/s    p50 µs    p99 µs | events/commit   CPU µs/command: ledgerd  clients\n");
	for (unsigned i = 0; i < LOADS; i++) {
		const load_result *r = &f->ledgerd.loads[i];
		printf("  %7u %12.0f %9.1f %9.1f | %13.1f %25.0f %8.0f\n", r->run.clients, r->run.ops_per_s,
		       r->run.p50_us, r->run.p99_us, events_per_commit(r), r->server_cpu_us, r->client_cpu_us);
	}
	printf("\nraw LMDB: MDB_APPEND of %zu-byte records, durable commits\n", f->record_bytes);
	printf("  records/commit    records/s   commit p50 µs   commit p99 µs\n");
	for (unsigned i = 0; i < RAW_MODES; i++) {
		const raw_result *r = &f->raw[i];
		printf("  %14u %12.0f %15.1f %15.1f%s\n", r->records_per_commit, r->records_per_s, r->commit_p50_us,
		       r->commit_p99_us, r->capped ? "   (stopped at the data cap)" : "");
	}
	printf("\nbare nng req/rep echo of %zu-byte requests over ipc://\n", f->ledgerd.request_bytes);
	printf("  clients   requests/s    p50 µs    p99 µs | CPU µs/request: server + clients\n");
	for (unsigned i = 0; i < LOADS; i++)
		printf("  %7u %12.0f %9.1f %9.1f | %32.0f\n", f->echo[i].run.clients, f->echo[i].run.ops_per_s,
		       f->echo[i].run.p50_us, f->echo[i].run.p99_us, f->echo[i].client_cpu_us);
}

static void print_text(const options *o, const figures *f)
{
	printf("bench-append: %.1f s measured per run after %.1f s of warm-up; data under %s\n",
	       (double)o->measure_ns / 1e9, (double)o->warmup_ns / 1e9, o->tmp_parent);
	printf("machine: %ld CPUs, load average %.2f before the run; during its %.0f s, %.1f CPU-s went to other "
	       "processes and kernel threads, %.1f s stolen by the hypervisor\n",
	       sysconf(_SC_NPROCESSORS_ONLN), f->load_before, f->wall_s, f->others_cpu_s, f->steal_s);
	printf("a grant event is stored in %zu bytes (mean of %" PRIu64 "); a grant request is %zu bytes\n\n",
	       f->record_bytes, f->ledgerd.grant_events, f->ledgerd.request_bytes);
	print_tables(f);
	printf("\ntargets (information, not assertions)\n");
	printf("  1 client latency within 2x of (raw 1-record commit + echo round trip):\n"
	       "    ledgerd p50 %.1f µs / (%.1f + %.1f) µs = %.2fx   [target <= %.1fx: %s]\n",
	       f->ledgerd.loads[0].run.p50_us, f->raw[0].commit_p50_us, f->echo[0].run.p50_us, f->latency_ratio,
	       TARGET_LATENCY_RATIO_MAX, f->latency_ratio <= TARGET_LATENCY_RATIO_MAX ? "met" : "not met");
	printf("  64 clients at >= 50%% of the bare echo request rate:\n"
	       "    ledgerd %.0f/s / echo %.0f/s = %.0f%%   [target >= %.0f%%: %s]\n",
	       f->ledgerd.loads[LOADS - 1].run.ops_per_s, f->echo[LOADS - 1].run.ops_per_s, 100.0 * f->rate_ratio,
	       100.0 * TARGET_RATE_RATIO_MIN, f->rate_ratio >= TARGET_RATE_RATIO_MIN ? "met" : "not met");
}

/* cpu_us is this process's CPU per request: the clients', plus the echo server's for echo. */
static void print_load_json(const char *name, const load_result *r, unsigned n, bool ledgerd)
{
	printf("  \"%s\": [\n", name);
	for (unsigned i = 0; i < n; i++) {
		printf("    {\"clients\": %u, \"per_s\": %.1f, \"p50_us\": %.1f, \"p99_us\": %.1f, \"count\": %" PRIu64
		       ", \"%s\": %.1f",
		       r[i].run.clients, r[i].run.ops_per_s, r[i].run.p50_us, r[i].run.p99_us, r[i].run.ops,
		       ledgerd ? "client_cpu_us" : "cpu_us", r[i].client_cpu_us);
		if (ledgerd)
			printf(", \"ledgerd_cpu_us\": %.1f, \"events\": %" PRIu64 ", \"commits\": %" PRIu64,
			       r[i].server_cpu_us, r[i].events, r[i].commits);
		printf("}%s\n", i + 1 < n ? "," : "");
	}
	printf("  ],\n");
}

static void print_json(const options *o, const figures *f)
{
	printf("{\n  \"measure_s\": %.3f, \"warmup_s\": %.3f, \"cpus\": %ld, \"load_average_before\": %.2f,\n",
	       (double)o->measure_ns / 1e9, (double)o->warmup_ns / 1e9, sysconf(_SC_NPROCESSORS_ONLN), f->load_before);
	printf("  \"wall_s\": %.1f, \"others_cpu_s\": %.1f, \"steal_s\": %.1f,\n", f->wall_s, f->others_cpu_s,
	       f->steal_s);
	printf("  \"record_bytes\": %zu, \"request_bytes\": %zu,\n", f->record_bytes, f->ledgerd.request_bytes);
	print_load_json("ledgerd", f->ledgerd.loads, LOADS, true);
	printf("  \"raw_lmdb\": [\n");
	for (unsigned i = 0; i < RAW_MODES; i++) {
		const raw_result *r = &f->raw[i];
		printf("    {\"records_per_commit\": %u, \"records_per_s\": %.1f, \"commit_p50_us\": %.1f, "
		       "\"commit_p99_us\": %.1f, \"commits\": %" PRIu64 ", \"capped\": %s}%s\n",
		       r->records_per_commit, r->records_per_s, r->commit_p50_us, r->commit_p99_us, r->commits,
		       r->capped ? "true" : "false", i + 1 < RAW_MODES ? "," : "");
	}
	printf("  ],\n");
	print_load_json("echo", f->echo, LOADS, false);
	printf("  \"targets\": {\"latency_ratio\": %.3f, \"latency_ratio_max\": %.1f, \"latency_met\": %s,\n"
	       "              \"rate_ratio\": %.3f, \"rate_ratio_min\": %.1f, \"rate_met\": %s}\n}\n",
	       f->latency_ratio, TARGET_LATENCY_RATIO_MAX,
	       f->latency_ratio <= TARGET_LATENCY_RATIO_MAX ? "true" : "false", f->rate_ratio, TARGET_RATE_RATIO_MIN,
	       f->rate_ratio >= TARGET_RATE_RATIO_MIN ? "true" : "false");
}

/* ----- command line ----- */

static const char usage[] =
    "usage: bench-append [--quick] [--seconds S] [--warmup S] [--ledgerd PATH] [--tmp DIR]\n"
    "                    [--keep] [--json]\n"
    "\n"
    "Measures, in one run: durable delegation grants through a real ledgerd with 1, 8 and 64\n"
    "client threads; raw LMDB appends of the same record size, 1 and 1000 records per durable\n"
    "commit; a bare nng req/rep echo under the same client threads. Prints the figures and the\n"
    "targets as information. A benchmark: it asserts no timing.\n"
    "\n"
    "  --quick        short runs (1.5 s measured, 0.5 s warm-up each): about 20 s in all\n"
    "  --seconds S    seconds measured per run (default 6: about 1 minute in all)\n"
    "  --warmup S     seconds of warm-up before each run (default 1)\n"
    "  --ledgerd PATH the ledgerd to start (default: the one beside this program)\n"
    "  --tmp DIR      where the data directories go (default $TMPDIR or /tmp): the disk measured\n"
    "  --keep         keep the data directories (printed) instead of removing them; a failed\n"
    "                 run always keeps them\n"
    "  --json         print the figures as one JSON object\n"
    "  -h, --help     this help\n"
    "\n"
    "exit status: 0 ran, 1 a run failed (the message names it), 2 usage error\n";

static int parse_options(int argc, char **argv, options *o)
{
	*o = (options){.json = false};
	bench_tmp_parent(o->tmp_parent);
	bench_beside_self(argv[0], "/ledgerd", o->ledgerd); /* else empty: reported as "no ledgerd" */
	const bench_option table[] = {
	    bench_flag("quick", &o->quick),
	    bench_seconds("seconds", &o->measure_ns, MEASURE_S_MAX, true, &o->seconds_given),
	    bench_seconds("warmup", &o->warmup_ns, MEASURE_S_MAX, false, &o->warmup_given),
	    bench_text("ledgerd", o->ledgerd, sizeof o->ledgerd, NULL),
	    bench_text("tmp", o->tmp_parent, sizeof o->tmp_parent, NULL),
	    bench_flag("keep", &o->keep),
	    bench_flag("json", &o->json),
	};
	int rc = bench_parse_options("bench-append", usage, argc, argv, table, sizeof table / sizeof table[0]);
	if (rc != 0)
		return rc;
	/* --seconds and --warmup win over --quick's lengths. */
	if (!o->seconds_given)
		o->measure_ns = (int64_t)((o->quick ? MEASURE_S_QUICK : MEASURE_S_DEFAULT) * 1e9);
	if (!o->warmup_given)
		o->warmup_ns = (int64_t)((o->quick ? WARMUP_S_QUICK : WARMUP_S_DEFAULT) * 1e9);
	if (access(o->ledgerd, X_OK) != 0)
		return fprintf(stderr, "bench-append: no ledgerd at %s (build it, or name it with --ledgerd)\n",
		               o->ledgerd),
		       2;
	return 0;
}

/* ----- main ----- */

static bool run_phases(const options *o, const char *work_dir, figures *f)
{
	if (!measure_ledgerd(o, work_dir, &f->ledgerd))
		return false;
	/* The mean stored size of the grants just written: the raw runs append records of it. */
	f->record_bytes =
	    (size_t)((f->ledgerd.grant_record_bytes + f->ledgerd.grant_events / 2) / f->ledgerd.grant_events);
	for (unsigned i = 0; i < RAW_MODES; i++) {
		char dir[PATH_MAX], name[32];
		snprintf(name, sizeof name, "/raw-%u", raw_records_per_commit[i]);
		bool fits = bench_path_join(dir, sizeof dir, work_dir, name);
		assert(fits); /* main() bounded work_dir by WORK_DIR_BYTES_MAX */
		(void)fits;
		fprintf(stderr, "bench-append: raw LMDB, %u record(s) per commit...\n", raw_records_per_commit[i]);
		if (!raw_run(o, dir, f->record_bytes, raw_records_per_commit[i], &f->raw[i]))
			return false;
	}
	return measure_echo(o, work_dir, &f->ledgerd, f->echo);
}

static bool run_all(const options *o, const char *work_dir, figures *f)
{
	f->load_before = bench_load_average(); /* other work on the machine skews every figure */
	bench_machine_sample before;
	bench_machine_sample_take(&before);
	if (!run_phases(o, work_dir, f))
		return false;
	bench_machine_use use = bench_machine_use_since(&before);
	f->wall_s = use.wall_s;
	f->others_cpu_s = use.known ? use.others_cpu_s : -1.0;
	f->steal_s = use.known ? use.steal_s : -1.0;
	targets(f);
	return true;
}

int main(int argc, char **argv)
{
	options o;
	int rc = parse_options(argc, argv, &o);
	if (rc != 0)
		return rc;
	if (!bench_process_init("bench-append"))
		return 1;
	char work_dir[WORK_DIR_BYTES_MAX + 1];
	if (!bench_path_join(work_dir, sizeof work_dir, o.tmp_parent, "/bench-append-XXXXXX")) {
		fprintf(stderr, "bench-append: --tmp %s: at most %u bytes, so that socket paths fit under it\n",
		        o.tmp_parent, WORK_DIR_BYTES_MAX - 20u);
		return 2;
	}
	if (!mkdtemp(work_dir)) {
		fprintf(stderr, "bench-append: cannot create a directory under %s: %s\n", o.tmp_parent,
		        strerror(errno));
		return 1;
	}
	figures *f = calloc(1, sizeof *f);
	bool ok = f && run_all(&o, work_dir, f);
	if (ok && o.json)
		print_json(&o, f);
	else if (ok)
		print_text(&o, f);
	if (o.keep || !ok) /* a failed run keeps its data and ledgerd.log for the post-mortem */
		fprintf(stderr, "bench-append: data kept in %s\n", work_dir);
	else
		bench_remove_tree("bench-append", work_dir);
	free(f);
	return ok ? 0 : 1;
}
