/*
 * crash_test.c: kill -9 ledgerd while clients append, restart it, and check that every
 * acknowledged request is in the log, that nothing unacknowledged is half there, and that the
 * chain verifies. Repeated at several random kill points on the same data directory.
 *
 * A kill cycle (--cycles, 5):
 *   1. N client threads (--clients, 16), each with its own connection, send delegation grants
 *      as fast as they are answered, each with a unique request id "c<client>-<n>". A grant
 *      names two collaborators and three rights, so one command writes six events in one job:
 *      a command cut by the kill would show as 1 to 5 events ("half there").
 *   2. After a random delay (seeded, so a failing kill point can be replayed), SIGKILL. The
 *      threads' calls fail and they stop; the request each was waiting on is unanswered.
 *   3. With ledgerd dead: `ledger-audit verify` and `ledger-audit replay` must exit 0, and a
 *      read-only scan of the log must find every acknowledged request with exactly its six
 *      events (the last one at the seq and hash its reply named), and every other request id
 *      with six events or none.
 *   4. ledgerd is restarted on the same directory (it verifies the chain when it opens, and
 *      must listen again on the ipc socket the kill left behind). Every unanswered request is
 *      retried with its request id: it must be replayed if its events are in the log and
 *      committed now if not; one acknowledged request is retried too and must be replayed
 *      with the seq and hash it was acknowledged with. A second scan finds every request once.
 * Then, on the same directory:
 *   - the live audit (unless --no-live-audit): ledger-audit verify and replay run while the
 *     clients append, as an auditor may run them; both must exit 0;
 *   - SIGTERM rounds (--term-cycles, 4): SIGTERM while the clients append (and retry each
 *     UNAVAILABLE at once, as told); ledgerd must drain and exit 0 within 10 s; UNAVAILABLE
 *     requests must have written nothing; then restart, retry and check as after a kill;
 *   - SIGTERM when idle must exit 0; a last audit and scan.
 * Any failure names the request id and exits 1, keeping the data directory; success removes it.
 *
 * usage: crash_test --bin-dir DIR [--seed N] [--cycles N] [--term-cycles N] [--clients N]
 *                   [--map-size BYTES] [--live-audit | --no-live-audit] [--keep]
 * --map-size is passed to `ledgerd serve`: a small one makes the map grow during the run.
 * The seed defaults to a random one, or $CRASH_TEST_SEED; it is printed first.
 */
#include "../support/child.h"
#include "../support/fixtures.h"
#include "../support/scratch.h"
#include "client.h"
#include "events.pb-c.h"
#include "ledger.h"
#include "token.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <nng/nng.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CLIENTS_DEFAULT     16u
#define CLIENTS_MAX         256u
#define CYCLES_DEFAULT      5u
#define TERM_CYCLES_DEFAULT 4u
#define CYCLES_MAX          100u
#define COLLABS_PER_GRANT   2u
#define RIGHTS_PER_GRANT    3u
#define EVENTS_PER_GRANT    (COLLABS_PER_GRANT * RIGHTS_PER_GRANT)
#define FULL_MASK           ((1u << EVENTS_PER_GRANT) - 1u)
#define FIRM_ID             "CRASH"
#define EC_EMAIL            "ec@crash.test"
#define EMAIL_BYTES         64
#define REQUEST_ID_BYTES    48
/* Short, so the threads notice the kill quickly; long enough that a loaded (or sanitised)
 * ledgerd answers in time. A spurious timeout is no failure: the request is then simply an
 * unanswered one, retried after the restart. */
#define CALL_TIMEOUT_MS    2000
#define RETRY_TIMEOUT_MS   20000
#define READY_TIMEOUT_MS   60000
#define STOP_TIMEOUT_MS    10000
#define CONNECT_TIMEOUT_MS 20000
#define KILL_DELAY_MIN_MS  50u
#define KILL_DELAY_MAX_MS  400u
#define TOKEN_TTL_S        (24 * 3600)
#define LIVE_REPLAYS       3u
#define PROBLEMS_SHOWN_MAX 20u

/* What the test knows of one request. The scan fields are refilled by every log scan. */
typedef enum { REQ_SENT, REQ_ACKED, REQ_REFUSED } req_state;

typedef struct req_rec {
	req_state state;
	uint64_t seq;                    /* acknowledged: the reply's seq (the command's last event) */
	uint8_t hash[LEDGER_HASH_BYTES]; /* and that event's hash */
	unsigned events;                 /* scan: events carrying this request id */
	unsigned mask;                   /* scan: which (collaborator, right) pairs they grant */
	bool duplicate;                  /* scan: a pair seen twice */
	uint64_t first_seq, last_seq;    /* scan */
	uint8_t last_hash[LEDGER_HASH_BYTES];
} req_rec;

typedef struct test test;

/* One client thread. Only the thread touches reqs while it runs; main reads after join. */
typedef struct client {
	test *t;
	unsigned index;
	pthread_t thread;
	req_rec *reqs; /* indexed by n, the number in the request id "c<index>-<n>" */
	size_t n_reqs, cap;
	size_t acked_this_cycle;
	size_t unavailable; /* typed UNAVAILABLE while ledgerd drains after SIGTERM: refused */
	char error[512];    /* an unexpected failure: fails the test */
	char stopped[256];  /* why the thread stopped: the transport error after the kill */
} client;

struct test {
	char bin_dir[PATH_MAX];
	char dir[64];
	char url[128];
	char sock_path[96];
	pid_t pid; /* the running ledgerd, or 0 */
	uint64_t seed, rng;
	unsigned cycles, term_cycles, n_clients; /* kill cycles, SIGTERM rounds, client threads */
	bool keep;
	bool live_audit;      /* run ledger-audit against the running ledgerd under load */
	const char *map_size; /* ledgerd --map-size: small, so the map grows (and is killed growing) */
	char ec_token[API_TOKEN_BYTES_MAX];
	char platform_token[API_TOKEN_BYTES_MAX];
	char (*collab)[EMAIL_BYTES];
	client *clients;
	atomic_bool stop;
	atomic_bool draining; /* SIGTERM sent: UNAVAILABLE is then an expected refusal */
	atomic_uint connected;
	unsigned failures;
};

/* ----- small helpers ----- */

static void fail(test *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(test *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "crash_test: FAIL: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	t->failures++;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* splitmix64: small, and the same sequence for the same seed on every platform. */
static uint64_t rng_next(test *t)
{
	uint64_t z = (t->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rng_range(test *t, unsigned lo, unsigned hi)
{
	return lo + (unsigned)(rng_next(t) % (uint64_t)(hi - lo + 1));
}

static void request_id(char out[REQUEST_ID_BYTES], unsigned client_index, size_t n)
{
	snprintf(out, REQUEST_ID_BYTES, "c%u-%zu", client_index, n);
}

/* Parses "c<client>-<n>" strictly. False for any other id (init, setup). */
static bool request_id_parse(const char *id, unsigned *client_index, size_t *n)
{
	if (id[0] != 'c' || id[1] < '0' || id[1] > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long c = strtoul(id + 1, &end, 10);
	if (errno || *end != '-' || end[1] < '0' || end[1] > '9' || c > UINT_MAX)
		return false;
	unsigned long long v = strtoull(end + 1, &end, 10);
	if (errno || *end)
		return false;
	*client_index = (unsigned)c;
	*n = (size_t)v;
	return true;
}

/* ----- processes: ledgerd and ledger-audit ----- */

/* The environment of the programs started (ledgerd, ledger-audit): ours without LSAN_OPTIONS,
 * whose nng suppressions (lsan-nng.supp) are for this process's client sockets only. Built in
 * main before any thread: between fork and exec only async-signal-safe calls are allowed. */
static char **child_environment;

static bool child_environment_init(void)
{
	extern char **environ;
	size_t n = 0;
	while (environ[n])
		n++;
	child_environment = calloc(n + 1, sizeof *child_environment);
	if (!child_environment)
		return false;
	for (size_t i = 0, k = 0; i < n; i++)
		if (strncmp(environ[i], "LSAN_OPTIONS=", 13) != 0)
			child_environment[k++] = environ[i];
	return true;
}

/* Runs bin_dir/tool with args (NULL-terminated, argv[0] excluded); returns its exit status,
 * or -1 if it could not run or died of a signal. Its output goes to ours. */
static int run_tool(test *t, const char *tool, const char *const *args)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/%s", t->bin_dir, tool);
	char *argv[8] = {path};
	for (size_t i = 0; args[i] && i + 2 < sizeof argv / sizeof argv[0]; i++)
		argv[i + 1] = (char *)args[i];
	fflush(NULL); /* the child must not print our buffered output a second time */
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execve(path, argv, child_environment);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFSIGNALED(status))
		fprintf(stderr, "crash_test: %s %s died of signal %d\n", tool, args[0], WTERMSIG(status));
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Starts `ledgerd serve` and waits for its "ready\n" on a pipe. */
static bool daemon_start(test *t)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/ledgerd", t->bin_dir);
	const char *argv[] = {path, "serve", "--data", t->dir, "--listen", t->url, NULL, NULL, NULL};
	if (t->map_size) {
		argv[6] = "--map-size";
		argv[7] = t->map_size;
	}
	int status;
	if (child_start(argv, child_environment, READY_TIMEOUT_MS, &t->pid, &status))
		return true;
	const char *why = status == -1 ? strerror(errno) : "";
	char how[64];
	child_describe(status, how, sizeof how);
	fail(t, "ledgerd serve --data %s did not become ready (%s%s%s)", t->dir, how, why[0] ? ": " : "", why);
	return false;
}

/* The crash: SIGKILL, then reap. ledgerd must still have been running until then. */
static bool daemon_kill9(test *t)
{
	int status;
	if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
		char how[64];
		child_describe(status, how, sizeof how);
		fail(t, "ledgerd died on its own before the kill (%s)", how);
		t->pid = 0;
		return false;
	}
	if (kill(t->pid, SIGKILL) != 0) {
		fail(t, "kill -9 %ld: %s", (long)t->pid, strerror(errno));
		return false;
	}
	bool reaped = child_wait(t->pid, STOP_TIMEOUT_MS, &status);
	t->pid = 0;
	if (!reaped || !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
		fail(t, "ledgerd did not die of the SIGKILL");
		return false;
	}
	return true;
}

/* The clean stop: SIGTERM must drain and exit 0 in time; when = "under load" or "when idle". */
static bool daemon_stop(test *t, const char *when)
{
	int status;
	if (kill(t->pid, SIGTERM) != 0) {
		fail(t, "kill -TERM %ld: %s", (long)t->pid, strerror(errno));
		return false;
	}
	if (!child_wait(t->pid, STOP_TIMEOUT_MS, &status)) {
		/* Hung: kill it so that the checks can go on with the directory it left. */
		if (kill(t->pid, SIGKILL) != 0 || !child_wait(t->pid, STOP_TIMEOUT_MS, &status))
			fprintf(stderr, "crash_test: cannot kill the hung ledgerd %ld\n", (long)t->pid);
		t->pid = 0;
		fail(t, "ledgerd did not exit within %d ms of SIGTERM %s (killed it; the checks go on)",
		     STOP_TIMEOUT_MS, when);
		return false;
	}
	t->pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char how[64];
		child_describe(status, how, sizeof how);
		fail(t, "ledgerd stopped by SIGTERM %s ended with %s, expected exit status 0", when, how);
		return false;
	}
	return true;
}

/*
 * Restarts ledgerd after a stop. A kill leaves the ipc socket file behind; ledgerd must listen
 * on it again by itself. If it cannot, that is a bug: it is reported as a failure, and the
 * stale file is removed only so that the rest of the checks can still run.
 */
static bool daemon_restart(test *t)
{
	struct stat st;
	bool stale = lstat(t->sock_path, &st) == 0;
	if (daemon_start(t))
		return true;
	if (!stale)
		return false;
	fail(t,
	     "BUG: ledgerd cannot restart while the socket file %s left by the previous ledgerd exists "
	     "(removing it to go on with the checks)",
	     t->sock_path);
	if (unlink(t->sock_path) != 0)
		return false;
	return daemon_start(t);
}

static void audit(test *t, const char *what, const char *when)
{
	const char *args[] = {what, "--data", t->dir, NULL};
	int rc = run_tool(t, "ledger-audit", args);
	if (rc != 0)
		fail(t, "ledger-audit %s --data %s (%s): exit status %d, expected 0", what, t->dir, when, rc);
}

/* ----- requests ----- */

/* A delegation grant of client i: its own collaborator and the next one, three rights. The
 * body depends only on i, so a retry with the same request id is the same command. */
typedef struct grant_msg {
	Ledger__Api__Request req;
	Ledger__Api__DelegationGrant grant;
	char *to[COLLABS_PER_GRANT];
	Ledger__Events__Right rights[RIGHTS_PER_GRANT];
	char rid[REQUEST_ID_BYTES];
} grant_msg;

static const Ledger__Events__Right grant_rights[RIGHTS_PER_GRANT] = {
    LEDGER__EVENTS__RIGHT__RIGHT_SIGN,
    LEDGER__EVENTS__RIGHT__RIGHT_PREPARE,
    LEDGER__EVENTS__RIGHT__RIGHT_SEAL,
};

static unsigned grant_collab(const test *t, unsigned client_index, unsigned k)
{
	return (client_index + k) % t->n_clients;
}

/* Fills m, which must not move afterwards (m->req points into it). */
static void grant_msg_init(grant_msg *m, test *t, unsigned client_index, size_t n)
{
	ledger__api__request__init(&m->req);
	ledger__api__delegation_grant__init(&m->grant);
	for (unsigned k = 0; k < COLLABS_PER_GRANT; k++)
		m->to[k] = t->collab[grant_collab(t, client_index, k)];
	memcpy(m->rights, grant_rights, sizeof m->rights);
	request_id(m->rid, client_index, n);
	m->grant.firm_id = (char *)FIRM_ID;
	m->grant.collaborators = m->to;
	m->grant.n_collaborators = COLLABS_PER_GRANT;
	m->grant.rights = m->rights;
	m->grant.n_rights = RIGHTS_PER_GRANT;
	m->grant.expires_on = (char *)"";
	m->req.request_id = m->rid;
	m->req.token = t->ec_token;
	m->req.body_case = LEDGER__API__REQUEST__BODY_DELEGATION_GRANT;
	m->req.delegation_grant = &m->grant;
}

/* What is wrong with a successful grant's reply, or NULL. */
static const char *grant_reply_problem(const Ledger__Api__Reply *r)
{
	if (r->seq == 0)
		return "seq 0 (nothing written)";
	if (r->hash.len != LEDGER_HASH_BYTES)
		return "no 32-byte hash";
	if (r->result_case != LEDGER__API__REPLY__RESULT_GRANT || !r->grant || r->grant->n_results != COLLABS_PER_GRANT)
		return "not a grant result with one row per collaborator";
	for (size_t i = 0; i < r->grant->n_results; i++)
		if (r->grant->results[i]->status != LEDGER__API__GRANT_RESULT__STATUS__GRANTED)
			return "a row is not GRANTED";
	return NULL;
}

/* Describes a typed error reply into out. */
static void reply_error(const Ledger__Api__Reply *r, char *out, size_t out_bytes)
{
	const ProtobufCEnumValue *v =
	    protobuf_c_enum_descriptor_get_value(&ledger__api__error_code__descriptor, (int)r->error->code);
	snprintf(out, out_bytes, "%s: %s", v ? v->name : "?", r->error->message);
}

/* Where the setup commands go (a fixture_sender's context): the platform's commands, each with
 * the request id rid, on the connection api. */
typedef struct setup_link {
	test *t;
	api_client *api;
	const char *rid;
} setup_link;

/* Sends one setup command as the platform: 0 if it wrote its events, else -1 (failed). */
static int setup_send(void *ctx, const char *as, Ledger__Api__Request *req)
{
	setup_link *link = ctx;
	(void)as; /* the fixtures used here are all the platform's */
	Ledger__Api__Reply *reply = NULL;
	const char *why;
	req->request_id = (char *)link->rid;
	req->token = link->t->platform_token;
	if (!api_client_call(link->api, req, &reply, &why)) {
		fail(link->t, "setup %s: %s", link->rid, why);
		return -1;
	}
	char err[400] = "";
	if (reply->error)
		reply_error(reply, err, sizeof err);
	else if (reply->seq == 0)
		snprintf(err, sizeof err, "nothing was written");
	ledger__api__reply__free_unpacked(reply, NULL);
	if (err[0])
		fail(link->t, "setup %s: %s", link->rid, err);
	return err[0] ? -1 : 0;
}

/* The EC, one account per client, and the firm: through the RPC, as the platform. */
static bool setup_domain(test *t)
{
	const char *why;
	setup_link link = {t, api_client_open(t->url, RETRY_TIMEOUT_MS, &why), "setup-ec"};
	if (!link.api) {
		fail(t, "cannot connect to %s: %s", t->url, why);
		return false;
	}
	fixture_sender to = {setup_send, &link};
	bool ok = fixture_account(&to, EC_EMAIL, "Expert Crash", true) == 0;
	for (unsigned i = 0; ok && i < t->n_clients; i++) {
		char rid[REQUEST_ID_BYTES];
		snprintf(rid, sizeof rid, "setup-a%u", i);
		link.rid = rid;
		ok = fixture_account(&to, t->collab[i], "Collaborator", false) == 0;
	}
	link.rid = "setup-firm";
	ok = ok && fixture_firm(&to, FIRM_ID, "Cabinet Crash", EC_EMAIL) == 0;
	api_client_close(link.api);
	return ok;
}

static bool mint(test *t, const char *sub, bool platform, char *out)
{
	const char *why;
	bool ok = api_token_mint_from_dir(t->dir, sub, platform, (int64_t)time(NULL), TOKEN_TTL_S, NULL, out, &why);
	if (!ok)
		fail(t, "cannot mint a token for %s: %s", sub, why);
	return ok;
}

/* ----- the client threads ----- */

/* A new record in state SENT for the next request number; NULL when out of memory. */
static req_rec *reqs_push(client *c)
{
	if (c->n_reqs == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 256;
		req_rec *grown = realloc(c->reqs, cap * sizeof *grown);
		if (!grown)
			return NULL;
		c->reqs = grown;
		c->cap = cap;
	}
	req_rec *r = &c->reqs[c->n_reqs++];
	memset(r, 0, sizeof *r);
	r->state = REQ_SENT;
	return r;
}

/* True if reply is the UNAVAILABLE of a draining ledgerd: the request wrote nothing and, as
 * the error says, may be retried with the same request id. */
static bool draining_refusal(client *c, const Ledger__Api__Reply *reply)
{
	if (!reply->error || reply->error->code != LEDGER__API__ERROR_CODE__UNAVAILABLE ||
	    !atomic_load(&c->t->draining))
		return false;
	c->unavailable++;
	return true;
}

/* Records the reply to a fresh request; false (and c->error) if it is not a clean success. */
static bool client_record(client *c, req_rec *r, const char *rid, const Ledger__Api__Reply *reply)
{
	if (reply->error) {
		char err[400];
		reply_error(reply, err, sizeof err);
		r->state = REQ_REFUSED; /* a refusal writes nothing: checked against the log */
		snprintf(c->error, sizeof c->error, "%s refused: %s", rid, err);
		return false;
	}
	const char *problem = reply->replayed ? "replayed, yet its request id is new" : grant_reply_problem(reply);
	if (problem) {
		r->state = REQ_REFUSED; /* unusable: treated as refused, so it must not be in the log */
		snprintf(c->error, sizeof c->error, "%s: bad reply: %s", rid, problem);
		return false;
	}
	r->state = REQ_ACKED;
	r->seq = reply->seq;
	memcpy(r->hash, reply->hash.data, LEDGER_HASH_BYTES);
	c->acked_this_cycle++;
	return true;
}

/*
 * Sends the client's next grant. False when the thread should stop. While ledgerd drains, an
 * UNAVAILABLE answer is retried with the same request id, as a real client would: the stream
 * of requests then lasts until ledgerd closes its socket, which is what the clean stop must
 * survive.
 */
static bool client_send_one(client *c, api_client *api)
{
	req_rec *r = reqs_push(c);
	if (!r) {
		snprintf(c->error, sizeof c->error, "client %u: out of memory", c->index);
		return false;
	}
	grant_msg m;
	grant_msg_init(&m, c->t, c->index, c->n_reqs - 1);
	for (;;) {
		Ledger__Api__Reply *reply = NULL;
		const char *why;
		if (!api_client_call(api, &m.req, &reply, &why)) {
			/* Unanswered: SENT, unless an earlier attempt was answered UNAVAILABLE, after
			 * which a draining ledgerd commits nothing more: then still REFUSED. */
			snprintf(c->stopped, sizeof c->stopped, "%s: %s", m.rid, why);
			return false;
		}
		if (draining_refusal(c, reply)) {
			ledger__api__reply__free_unpacked(reply, NULL);
			r->state = REQ_REFUSED;
			if (atomic_load(&c->t->stop))
				return false;
			continue; /* at once: the more requests arrive while ledgerd closes, the better */
		}
		bool ok = client_record(c, r, m.rid, reply);
		ledger__api__reply__free_unpacked(reply, NULL);
		return ok;
	}
}

static void *client_main(void *arg)
{
	client *c = arg;
	test *t = c->t;
	const char *why;
	api_client *api = api_client_open(t->url, CALL_TIMEOUT_MS, &why);
	if (!api) {
		snprintf(c->error, sizeof c->error, "client %u cannot connect to %s: %s", c->index, t->url, why);
		atomic_fetch_add(&t->connected, 1); /* counted anyway, so main does not wait for it */
		return NULL;
	}
	atomic_fetch_add(&t->connected, 1);
	while (!atomic_load(&t->stop) && client_send_one(c, api))
		;
	api_client_close(api);
	return NULL;
}

/* ----- the log scan ----- */

static void scan_reset(test *t)
{
	for (unsigned i = 0; i < t->n_clients; i++)
		for (size_t n = 0; n < t->clients[i].n_reqs; n++) {
			req_rec *r = &t->clients[i].reqs[n];
			r->events = r->mask = 0;
			r->duplicate = false;
			r->first_seq = r->last_seq = 0;
		}
}

/* The bit of (collaborator, right) of an event of client i's grant, or 0 if it is not one. */
static unsigned grant_bit(const test *t, unsigned client_index, const Ledger__Events__DelegationGranted *g)
{
	for (unsigned k = 0; k < COLLABS_PER_GRANT; k++) {
		if (strcmp(g->collaborator, t->collab[grant_collab(t, client_index, k)]) != 0)
			continue;
		for (unsigned j = 0; j < RIGHTS_PER_GRANT; j++)
			if (g->right == grant_rights[j])
				return 1u << (k * RIGHTS_PER_GRANT + j);
	}
	return 0;
}

/* Folds one event of a "c<i>-<n>" request into its record. */
static void scan_grant_event(test *t, const ledger_record *rec, const Ledger__Events__Event *ev, unsigned ci, size_t n)
{
	if (ci >= t->n_clients || n >= t->clients[ci].n_reqs) {
		fail(t, "event %llu carries request id %s, which was never sent", (unsigned long long)rec->seq,
		     ev->request_id);
		return;
	}
	req_rec *r = &t->clients[ci].reqs[n];
	unsigned bit = 0;
	if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DELEGATION_GRANTED && strcmp(ev->actor, EC_EMAIL) == 0 &&
	    strcmp(ev->firm_id, FIRM_ID) == 0)
		bit = grant_bit(t, ci, ev->delegation_granted);
	if (!bit)
		fail(t, "event %llu of request %s is not one of the grant's events (actor %s, firm %s, payload %d)",
		     (unsigned long long)rec->seq, ev->request_id, ev->actor, ev->firm_id, (int)ev->payload_case);
	if (r->mask & bit)
		r->duplicate = true;
	r->mask |= bit;
	if (r->events++ == 0)
		r->first_seq = rec->seq;
	r->last_seq = rec->seq;
	memcpy(r->last_hash, rec->hash, LEDGER_HASH_BYTES);
}

static void scan_record(test *t, const ledger_record *rec)
{
	Ledger__Events__Event *ev = ledger__events__event__unpack(NULL, rec->event_bytes, rec->event);
	if (!ev) {
		fail(t, "event %llu is not an Event protobuf", (unsigned long long)rec->seq);
		return;
	}
	unsigned ci;
	size_t n;
	if (request_id_parse(ev->request_id, &ci, &n))
		scan_grant_event(t, rec, ev, ci, n);
	else if (ev->request_id[0] == 'c')
		fail(t, "event %llu carries request id \"%s\", not one of ours", (unsigned long long)rec->seq,
		     ev->request_id);
	/* Any other id is the init event or the setup's: not part of the crash checks. */
	ledger__events__event__free_unpacked(ev, NULL);
}

/*
 * Opens the log read-only, with the chain verified by the open itself, folds every event into
 * the request records, and closes it. *events receives the number of records.
 */
static bool scan_log(test *t, uint64_t *events)
{
	ledger_options o = {.read_only = true, .allow_broken_chain = false};
	ledger *l;
	*events = 0;
	scan_reset(t);
	if (ledger_open(t->dir, &o, &l) != LEDGER_OK) {
		fail(t, "ledger_open read-only: %s", ledger_last_error());
		return false;
	}
	MDB_txn *txn;
	ledger_iter *it = NULL;
	ledger_err err = ledger_read_begin(l, &txn);
	if (err) {
		fail(t, "ledger_read_begin: %s", ledger_strerror(err));
		ledger_close(l);
		return false;
	}
	err = ledger_iter_open(l, txn, 1, &it);
	ledger_record rec;
	while (!err && (err = ledger_iter_next(it, &rec)) == LEDGER_OK) {
		if (rec.seq != *events + 1)
			fail(t, "the log jumps from seq %llu to %llu", (unsigned long long)*events,
			     (unsigned long long)rec.seq);
		*events = rec.seq;
		scan_record(t, &rec);
	}
	if (err != LEDGER_END)
		fail(t, "reading the log after seq %llu: %s", (unsigned long long)*events, ledger_strerror(err));
	ledger_iter_close(it);
	ledger_read_end(l, txn);
	ledger_close(l);
	return err == LEDGER_END;
}

/* ----- the checks ----- */

/* What is wrong with one request after a scan, or NULL. all_committed: after the retries,
 * when every request sent must be in the log. */
static const char *request_problem(const req_rec *r, bool all_committed, char *buf, size_t buf_bytes)
{
	if (r->events > EVENTS_PER_GRANT) {
		snprintf(buf, buf_bytes, "%u events in the log for its %u (seq %llu..%llu): committed more than once",
		         r->events, EVENTS_PER_GRANT, (unsigned long long)r->first_seq,
		         (unsigned long long)r->last_seq);
		return buf;
	}
	if (r->events != 0 && r->events != EVENTS_PER_GRANT) {
		snprintf(buf, buf_bytes, "%u of its %u events are in the log (seq %llu..%llu): half there", r->events,
		         EVENTS_PER_GRANT, (unsigned long long)r->first_seq, (unsigned long long)r->last_seq);
		return buf;
	}
	if (r->events && (r->duplicate || r->mask != FULL_MASK))
		return "its events in the log are not the six (collaborator, right) pairs of the grant";
	if (r->events && r->last_seq - r->first_seq + 1 != r->events) {
		snprintf(buf, buf_bytes, "its events are scattered over seq %llu..%llu, not written together",
		         (unsigned long long)r->first_seq, (unsigned long long)r->last_seq);
		return buf;
	}
	if (r->state == REQ_REFUSED && r->events) {
		snprintf(buf, buf_bytes,
		         "refused (or answered wrongly), yet its events are in the log (seq %llu..%llu)",
		         (unsigned long long)r->first_seq, (unsigned long long)r->last_seq);
		return buf;
	}
	if (r->state == REQ_ACKED && !r->events)
		return "acknowledged, yet none of its events is in the log: LOST";
	if (r->state == REQ_ACKED && (r->last_seq != r->seq || memcmp(r->last_hash, r->hash, LEDGER_HASH_BYTES) != 0)) {
		snprintf(buf, buf_bytes,
		         "acknowledged with seq %llu, but its last event in the log is seq %llu or its hash differs",
		         (unsigned long long)r->seq, (unsigned long long)r->last_seq);
		return buf;
	}
	if (all_committed && r->state == REQ_SENT)
		return "still unanswered after the retries";
	return NULL;
}

/* Checks every request after a scan; counts the unanswered ones found committed. */
static void check_requests(test *t, bool all_committed, const char *when, size_t *unanswered, size_t *committed)
{
	size_t bad = 0;
	*unanswered = *committed = 0;
	for (unsigned i = 0; i < t->n_clients; i++)
		for (size_t n = 0; n < t->clients[i].n_reqs; n++) {
			const req_rec *r = &t->clients[i].reqs[n];
			char buf[256];
			const char *problem = request_problem(r, all_committed, buf, sizeof buf);
			/* The first few name the request; a broken build would flood the output. */
			if (problem && bad++ < PROBLEMS_SHOWN_MAX)
				fail(t, "%s: request c%u-%zu: %s", when, i, n, problem);
			if (r->state == REQ_SENT) {
				(*unanswered)++;
				*committed += r->events == EVENTS_PER_GRANT;
			}
		}
	if (bad > PROBLEMS_SHOWN_MAX)
		fail(t, "%s: %zu more requests are wrong (not shown)", when, bad - PROBLEMS_SHOWN_MAX);
}

/* What is wrong with the reply to a retry, or NULL. want_replayed, want_seq, want_hash: what
 * the first attempt left (see retry_request). */
static const char *retry_problem(const Ledger__Api__Reply *reply, bool want_replayed, uint64_t want_seq,
                                 const uint8_t *want_hash, char *err, size_t err_bytes)
{
	if (reply->error) {
		reply_error(reply, err, err_bytes);
		return err;
	}
	const char *problem = grant_reply_problem(reply);
	if (problem)
		return problem;
	if (want_replayed && !reply->replayed)
		return "it was committed already, yet the retry was not answered as replayed (committed twice?)";
	if (!want_replayed && reply->replayed)
		return "none of its events was in the log, yet the retry was answered as replayed";
	if (want_replayed && (reply->seq != want_seq || memcmp(reply->hash.data, want_hash, LEDGER_HASH_BYTES) != 0))
		return "replayed with another seq or hash than its first result";
	return NULL;
}

/*
 * Retries request n of client i with its request id, and checks the answer against what the
 * first attempt left: an acknowledged request must be replayed with the seq and hash it was
 * acknowledged with; an unanswered one must be replayed, with the seq and hash of its last
 * event, if the last scan found it, and committed now if not. Either way it ends acknowledged.
 */
static void retry_request(test *t, api_client *api, unsigned i, size_t n)
{
	req_rec *r = &t->clients[i].reqs[n];
	bool acked = r->state == REQ_ACKED;
	bool want_replayed = acked || r->events == EVENTS_PER_GRANT;
	uint64_t want_seq = acked ? r->seq : r->last_seq;
	uint8_t want_hash[LEDGER_HASH_BYTES];
	memcpy(want_hash, acked ? r->hash : r->last_hash, LEDGER_HASH_BYTES);
	grant_msg m;
	grant_msg_init(&m, t, i, n);
	Ledger__Api__Reply *reply = NULL;
	const char *why;
	if (!api_client_call(api, &m.req, &reply, &why)) {
		fail(t, "retry of %s after the restart: %s", m.rid, why);
		return;
	}
	char err[400];
	const char *problem = retry_problem(reply, want_replayed, want_seq, want_hash, err, sizeof err);
	if (problem) {
		fail(t, "retry of %s (%s, %s in the log at the last scan): %s (reply seq %llu)", m.rid,
		     acked ? "acknowledged" : "unanswered", r->events ? "found" : "not found", problem,
		     (unsigned long long)reply->seq);
		r->state = REQ_REFUSED;
	} else {
		r->state = REQ_ACKED;
		r->seq = reply->seq;
		memcpy(r->hash, reply->hash.data, LEDGER_HASH_BYTES);
	}
	ledger__api__reply__free_unpacked(reply, NULL);
}

/* Picks a random acknowledged request; false if there is none. */
static bool pick_acked(test *t, unsigned *ci, size_t *n)
{
	for (unsigned tries = 0; tries < 64; tries++) {
		unsigned i = rng_range(t, 0, t->n_clients - 1);
		const client *c = &t->clients[i];
		if (c->n_reqs == 0)
			continue;
		size_t k = (size_t)(rng_next(t) % c->n_reqs);
		if (c->reqs[k].state == REQ_ACKED) {
			*ci = i;
			*n = k;
			return true;
		}
	}
	return false;
}

/* Every unanswered request again, and one acknowledged one. */
static void retry_unanswered(test *t)
{
	const char *why;
	api_client *api = api_client_open(t->url, RETRY_TIMEOUT_MS, &why);
	if (!api) {
		fail(t, "cannot connect to the restarted ledgerd at %s: %s", t->url, why);
		return;
	}
	for (unsigned i = 0; i < t->n_clients; i++)
		for (size_t n = 0; n < t->clients[i].n_reqs; n++)
			if (t->clients[i].reqs[n].state == REQ_SENT)
				retry_request(t, api, i, n);
	unsigned ci;
	size_t n;
	if (pick_acked(t, &ci, &n))
		retry_request(t, api, ci, n); /* committed: must come back replayed, seq and hash unchanged */
	api_client_close(api);
}

/* ----- one cycle ----- */

/* Starts the clients and waits until each has connected (or failed to). */
static bool clients_start(test *t)
{
	atomic_store(&t->stop, false);
	atomic_store(&t->connected, 0);
	for (unsigned i = 0; i < t->n_clients; i++) {
		client *c = &t->clients[i];
		c->acked_this_cycle = c->unavailable = 0;
		c->error[0] = c->stopped[0] = '\0';
		int rc = pthread_create(&c->thread, NULL, client_main, c);
		if (rc != 0) {
			fail(t, "pthread_create: %s", strerror(rc));
			atomic_store(&t->stop, true);
			for (unsigned j = 0; j < i; j++)
				pthread_join(t->clients[j].thread, NULL);
			return false;
		}
	}
	int64_t deadline = now_ms() + CONNECT_TIMEOUT_MS;
	while (atomic_load(&t->connected) < t->n_clients && now_ms() < deadline)
		sleep_ms(1);
	return true;
}

/* Joins the clients; reports their unexpected failures. Returns the acks of this cycle and,
 * if unavailable is not NULL, the refusals of a draining ledgerd. */
static size_t clients_join(test *t, size_t *unavailable)
{
	size_t acked = 0;
	if (unavailable)
		*unavailable = 0;
	atomic_store(&t->stop, true);
	for (unsigned i = 0; i < t->n_clients; i++) {
		client *c = &t->clients[i];
		int rc = pthread_join(c->thread, NULL);
		if (rc != 0)
			fail(t, "pthread_join: %s", strerror(rc));
		if (c->error[0])
			fail(t, "client %u: %s", i, c->error);
		acked += c->acked_this_cycle;
		if (unavailable)
			*unavailable += c->unavailable;
	}
	return acked;
}

static size_t total_acked(const test *t)
{
	size_t n = 0;
	for (unsigned i = 0; i < t->n_clients; i++)
		for (size_t k = 0; k < t->clients[i].n_reqs; k++)
			n += t->clients[i].reqs[k].state == REQ_ACKED;
	return n;
}

/* With ledgerd stopped: both audits, then the scan and the checks. */
static void check_stopped(test *t, const char *when, uint64_t *events, size_t *unanswered, size_t *committed)
{
	*events = *unanswered = *committed = 0;
	audit(t, "verify", when);
	audit(t, "replay", when);
	if (scan_log(t, events))
		check_requests(t, false, when, unanswered, committed);
}

/* With ledgerd running and the clients stopped: the scan, and every request sent must be in
 * the log exactly once. False when the log could not be scanned. */
static bool check_all_committed(test *t, const char *when, uint64_t *events)
{
	size_t unanswered, committed;
	if (!scan_log(t, events))
		return false;
	check_requests(t, true, when, &unanswered, &committed);
	return true;
}

/* The clients append for a random delay (seeded: a failing point can be replayed), which is
 * put into delay_ms; false if they could not start. */
static bool clients_append_a_while(test *t, unsigned *delay_ms)
{
	*delay_ms = rng_range(t, KILL_DELAY_MIN_MS, KILL_DELAY_MAX_MS);
	if (!clients_start(t))
		return false;
	sleep_ms(*delay_ms);
	return true;
}

/* After a stop (kill -9 or SIGTERM): restart ledgerd on the same directory, retry every
 * unanswered request, and check that every request sent is now in the log, exactly once. */
static bool restart_and_retry(test *t, const char *label)
{
	if (!daemon_restart(t))
		return false;
	retry_unanswered(t);
	char when[96];
	snprintf(when, sizeof when, "%s, after the restart and retries", label);
	uint64_t events;
	if (!check_all_committed(t, when, &events))
		return false;
	printf("crash_test: %s: restarted, retries done: %zu acknowledged in all, %llu events in the log\n", label,
	       total_acked(t), (unsigned long long)events);
	return true;
}

/* Appends under load, kills, audits and scans the dead directory, restarts, retries, checks. */
static bool kill_cycle(test *t, unsigned cycle)
{
	char label[48], when[96];
	snprintf(label, sizeof label, "kill %u/%u", cycle, t->cycles);
	unsigned delay_ms;
	if (!clients_append_a_while(t, &delay_ms))
		return false;
	bool killed = daemon_kill9(t);
	size_t acked = clients_join(t, NULL);
	if (!killed)
		return false;
	snprintf(when, sizeof when, "%s, after kill -9 (ledgerd down)", label);
	uint64_t events;
	size_t unanswered, committed;
	check_stopped(t, when, &events, &unanswered, &committed);
	struct stat st;
	bool stale = lstat(t->sock_path, &st) == 0; /* the restart must listen on it again */
	printf("crash_test: %s: kill -9 after %u ms: %zu acknowledged, %zu unanswered (%zu committed before the "
	       "kill, %zu not), %llu events in the log, socket file %s\n",
	       label, delay_ms, acked, unanswered, committed, unanswered - committed, (unsigned long long)events,
	       stale ? "left behind" : "gone");
	return restart_and_retry(t, label);
}

/*
 * ledger-audit against the live directory while the clients append, as an auditor may run it:
 * verify and replay must both exit 0. The clients are then stopped (ledgerd keeps running) and
 * every request must be in the log.
 */
static bool live_audit_phase(test *t)
{
	unsigned delay_ms;
	if (!clients_append_a_while(t, &delay_ms))
		return false;
	audit(t, "verify", "while ledgerd serves appending clients");
	/* Several times: a replay that compares the live projections at another moment than the
	 * one it replayed only differs if a commit falls in between. */
	for (unsigned i = 0; i < LIVE_REPLAYS; i++)
		audit(t, "replay",
		      "while ledgerd serves appending clients (it must compare the very snapshot it replayed)");
	size_t acked = clients_join(t, NULL);
	retry_unanswered(t); /* a call that timed out under the audits' load */
	uint64_t events;
	if (!check_all_committed(t, "after the live audit", &events))
		return false;
	printf("crash_test: live audit: %zu acknowledged meanwhile, %llu events in the log\n", acked,
	       (unsigned long long)events);
	return true;
}

/*
 * SIGTERM while the clients append: ledgerd must drain and exit 0 in time. A request answered
 * UNAVAILABLE must have written nothing; one left unanswered may be in the log or not, but
 * whole. Then restart and retry as after a kill. False when the rounds should end: the stop was
 * not clean (the failure is reported), or ledgerd could not be restarted.
 */
static bool term_round(test *t, unsigned round)
{
	char label[48], when[96];
	snprintf(label, sizeof label, "SIGTERM %u/%u", round, t->term_cycles);
	unsigned delay_ms;
	if (!clients_append_a_while(t, &delay_ms))
		return false;
	atomic_store(&t->draining, true);
	bool clean = daemon_stop(t, "under load");
	size_t unavailable, acked = clients_join(t, &unavailable);
	atomic_store(&t->draining, false);
	snprintf(when, sizeof when, "%s, after the stop", label);
	uint64_t events;
	size_t unanswered, committed;
	check_stopped(t, when, &events, &unanswered, &committed);
	printf("crash_test: %s: SIGTERM after %u ms under load: %s; %zu acknowledged, %zu answers UNAVAILABLE, "
	       "%zu unanswered (%zu committed), %llu events in the log\n",
	       label, delay_ms, clean ? "exit status 0" : "NOT a clean stop", acked, unavailable, unanswered, committed,
	       (unsigned long long)events);
	return restart_and_retry(t, label) && clean;
}

/* The end: SIGTERM when idle must exit 0; the directory is audited and scanned a last time. */
static void final_stop(test *t)
{
	if (!daemon_stop(t, "when idle"))
		return;
	uint64_t events;
	size_t unanswered, committed;
	check_stopped(t, "after SIGTERM when idle", &events, &unanswered, &committed);
	printf(
	    "crash_test: SIGTERM when idle: exit status 0; %zu requests acknowledged in all, %llu events in the log\n",
	    total_acked(t), (unsigned long long)events);
}

/* ----- setup, teardown, main ----- */

static bool test_init(test *t)
{
	snprintf(t->dir, sizeof t->dir, "/tmp/crash-test-XXXXXX");
	if (!mkdtemp(t->dir)) {
		fail(t, "mkdtemp: %s", strerror(errno));
		t->dir[0] = '\0';
		return false;
	}
	snprintf(t->sock_path, sizeof t->sock_path, "%s/t.sock", t->dir);
	snprintf(t->url, sizeof t->url, "ipc://%s", t->sock_path);
	t->collab = calloc(t->n_clients, sizeof *t->collab);
	t->clients = calloc(t->n_clients, sizeof *t->clients);
	if (!t->collab || !t->clients) {
		fail(t, "out of memory");
		return false;
	}
	for (unsigned i = 0; i < t->n_clients; i++) {
		snprintf(t->collab[i], EMAIL_BYTES, "collab%02u@crash.test", i);
		t->clients[i].t = t;
		t->clients[i].index = i;
	}
	printf("crash_test: data directory %s\n", t->dir);
	const char *args[] = {"init", "--data", t->dir, NULL};
	if (run_tool(t, "ledgerd", args) != 0) {
		fail(t, "ledgerd init --data %s failed", t->dir);
		return false;
	}
	return mint(t, EC_EMAIL, false, t->ec_token) && mint(t, "platform", true, t->platform_token);
}

static void test_free(test *t)
{
	if (t->pid > 0) { /* a failure left it running: nothing more to learn from it */
		int status;
		if (kill(t->pid, SIGKILL) != 0 || !child_wait(t->pid, STOP_TIMEOUT_MS, &status))
			fprintf(stderr, "crash_test: cannot stop ledgerd %ld\n", (long)t->pid);
		t->pid = 0;
	}
	for (unsigned i = 0; t->clients && i < t->n_clients; i++)
		free(t->clients[i].reqs);
	free(t->clients);
	free(t->collab);
	if (!t->dir[0])
		return;
	if (t->failures || t->keep)
		fprintf(stderr, "crash_test: data directory kept: %s\n", t->dir);
	else if (!remove_dir(t->dir))
		fprintf(stderr, "crash_test: cannot remove %s\n", t->dir);
}

static int usage(const char *why)
{
	fprintf(stderr,
	        "crash_test: %s\n"
	        "usage: crash_test --bin-dir DIR [--seed N] [--cycles N] [--term-cycles N] [--clients N]\n"
	        "                  [--map-size BYTES] [--live-audit | --no-live-audit] [--keep]\n",
	        why);
	return 2;
}

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return false;
	*out = v;
	return true;
}

/* Parses the options into t. Returns 0, or an exit status for main. */
static int parse_args(test *t, int argc, char **argv)
{
	static const struct option options[] = {
	    {"bin-dir", required_argument, NULL, 'b'},
	    {"seed", required_argument, NULL, 's'},
	    {"cycles", required_argument, NULL, 'c'},
	    {"clients", required_argument, NULL, 'n'},
	    {"keep", no_argument, NULL, 'k'},
	    {"map-size", required_argument, NULL, 'm'},
	    {"live-audit", no_argument, NULL, 'L'},
	    {"no-live-audit", no_argument, NULL, 'N'},
	    {"term-cycles", required_argument, NULL, 't'},
	    {NULL, 0, NULL, 0},
	};
	unsigned long long v;
	bool seeded = false;
	const char *env_seed = getenv("CRASH_TEST_SEED");
	if (env_seed && parse_uint(env_seed, UINT64_MAX, &v))
		t->seed = v, seeded = true;
	int opt;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'b': snprintf(t->bin_dir, sizeof t->bin_dir, "%s", optarg); break;
		case 's':
			if (!parse_uint(optarg, UINT64_MAX, &v))
				return usage("--seed: a number");
			t->seed = v, seeded = true;
			break;
		case 'c':
			if (!parse_uint(optarg, CYCLES_MAX, &v) || v < 1)
				return usage("--cycles: 1 to 100");
			t->cycles = (unsigned)v;
			break;
		case 'n':
			if (!parse_uint(optarg, CLIENTS_MAX, &v) || v < 2)
				return usage("--clients: 2 to 256");
			t->n_clients = (unsigned)v;
			break;
		case 'k': t->keep = true; break;
		case 'm': t->map_size = optarg; break;
		case 'L': t->live_audit = true; break;
		case 'N': t->live_audit = false; break;
		case 't':
			if (!parse_uint(optarg, CYCLES_MAX, &v))
				return usage("--term-cycles: 0 to 100");
			t->term_cycles = (unsigned)v;
			break;
		default: return usage("bad option");
		}
	}
	if (optind != argc || !t->bin_dir[0])
		return usage("--bin-dir DIR is required, and nothing else");
	if (!seeded)
		randombytes_buf(&t->seed, sizeof t->seed);
	t->rng = t->seed;
	return 0;
}

/* The whole run: setup, the kill cycles, the live audit, the SIGTERM rounds, the last stop. */
static void run(test *t)
{
	if (!test_init(t) || !daemon_start(t) || !setup_domain(t))
		return;
	bool up = true;
	for (unsigned cycle = 1; up && cycle <= t->cycles; cycle++)
		up = kill_cycle(t, cycle);
	if (up && t->live_audit)
		up = live_audit_phase(t);
	for (unsigned round = 1; up && round <= t->term_cycles; round++)
		up = term_round(t, round);
	if (t->pid > 0)
		final_stop(t);
	if (total_acked(t) == 0)
		fail(t, "no request was acknowledged: the kills came too early to test anything");
}

int main(int argc, char **argv)
{
	test t = {.cycles = CYCLES_DEFAULT,
	          .term_cycles = TERM_CYCLES_DEFAULT,
	          .n_clients = CLIENTS_DEFAULT,
	          .live_audit = true};
	atomic_init(&t.stop, false);
	atomic_init(&t.draining, false);
	atomic_init(&t.connected, 0);
	if (sodium_init() < 0) {
		fprintf(stderr, "crash_test: libsodium failed to initialise\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0); /* our lines, ledgerd's and the tools' in their order */
	int rc = parse_args(&t, argc, argv);
	if (rc)
		return rc;
	/* A failed client call must not kill us through SIGPIPE on a dead ledgerd's socket. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		perror("crash_test: signal");
		return 1;
	}
	printf("crash_test: seed %llu (rerun with --seed %llu): %u clients, %u kill cycles, live audit %s, "
	       "%u SIGTERM rounds\n",
	       (unsigned long long)t.seed, (unsigned long long)t.seed, t.n_clients, t.cycles,
	       t.live_audit ? "on" : "off", t.term_cycles);
	if (!child_environment_init()) {
		fprintf(stderr, "crash_test: out of memory\n");
		return 1;
	}
	run(&t);
	test_free(&t);
	free(child_environment);
	/* Every client is closed by now; nng reaps dialers and pipes on threads of its own, and
	 * exiting before they are done leaves them allocated, which LeakSanitizer reported about
	 * one run in four under load (issue 10, defect 10). nng_fini waits for most of the
	 * reaping; nng 1.5.2 still leaves a pipe negotiating on a closed dialer now and then
	 * (about one run in twenty under that load: not fixed yet). */
	nng_fini();
	if (t.failures) {
		fprintf(stderr, "crash_test: FAILED (%u failures; seed %llu)\n", t.failures,
		        (unsigned long long)t.seed);
		return 1;
	}
	printf("crash_test: OK\n");
	return 0;
}
