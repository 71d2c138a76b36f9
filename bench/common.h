/*
 * common.h: what the benchmarks share, so that each figure is measured one way everywhere:
 * clocks, the command line's numbers, child processes, the machine's and a process's counters
 * from /proc, a latency histogram, closed-loop client threads, and the bare nng echo server
 * that RPC figures stand beside.
 *
 * Every function that can fail and prints names the benchmark first: `program` is its name
 * ("bench-append"). Nothing here asserts a timing.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ----- clocks ----- */

/* CLOCK_MONOTONIC in ns, and in seconds. */
int64_t bench_now_ns(void);
double bench_now_s(void);

/* CPU time of this process (all its threads) in ns: CLOCK_PROCESS_CPUTIME_ID. */
int64_t bench_self_cpu_ns(void);

/* ----- the command line ----- */

/* What an option of a benchmark takes, and where its value goes (bench_option.to). */
typedef enum bench_option_kind {
	BENCH_OPTION_FLAG,    /* no argument: *(bool *)to = true */
	BENCH_OPTION_COUNT,   /* a whole number in [1, max], into an unsigned or a uint64_t (bytes says) */
	BENCH_OPTION_SECONDS, /* seconds in [0, max], into an int64_t in ns; 0 refused if positive */
	BENCH_OPTION_TEXT,    /* copied into a char[bytes] */
} bench_option_kind;

typedef struct bench_option {
	const char *name; /* without the "--" */
	bench_option_kind kind;
	void *to;
	size_t bytes;  /* of *to: sizeof(unsigned) or sizeof(uint64_t) for a count, the buffer's for text */
	double max;    /* counts and seconds */
	bool positive; /* seconds: 0 is refused */
	bool *given;   /* set to true when the option is given; may be NULL */
} bench_option;

/* The table's entries, each of its kind (bench_option_kind). */
bench_option bench_flag(const char *name, bool *to);
bench_option bench_count(const char *name, unsigned *to, unsigned long long max);
bench_option bench_count64(const char *name, uint64_t *to, unsigned long long max);
bench_option bench_seconds(const char *name, int64_t *ns, double max, bool positive, bool *given);
bench_option bench_text(const char *name, char *to, size_t bytes, bool *given);

/*
 * Parses argv's options by the table options[0, count), with -h and --help (usage on stdout,
 * exit 0). Returns 0, or 2 (a usage error) after saying what is wrong on stderr: "PROGRAM:
 * --NAME VALUE: 1 to MAX", "...: a number of seconds, 0 to MAX", "PROGRAM: unexpected
 * argument X", or getopt's own message and "(see PROGRAM --help)".
 */
int bench_parse_options(const char *program, const char *usage, int argc, char **argv, const bench_option *options,
                        size_t count);

/* The directory of this program (/proc/self/exe's, else argv0's, else "."), with suffix
 * appended ("/ledgerd": the ledgerd built beside it). False, and out empty, if it does not fit. */
bool bench_beside_self(const char *argv0, const char *suffix, char out[PATH_MAX]);

/* $TMPDIR, or /tmp when it is unset or empty: where a benchmark's data goes by default. */
void bench_tmp_parent(char out[PATH_MAX]);

/* out = dir || suffix, or false if that does not fit out_bytes. Lengths are checked before
 * copying, so no compiler has to prove a formatted write fits (GCC -O3 could not). */
bool bench_path_join(char *out, size_t out_bytes, const char *dir, const char *suffix);

/* ----- files and child processes ----- */

/* The whole of a regular file, malloc'd (the caller frees it), its size in *bytes; NULL when
 * it cannot be read whole or is empty. */
uint8_t *bench_read_file(const char *path, size_t *bytes);

/* Removes dir and all below it. With a program, says which entries could not be removed. */
void bench_remove_tree(const char *program, const char *dir);

/* Starts argv[0] (a path) with its stdout onto stdout_fd and its stderr onto stderr_fd (-1:
 * left as ours). Our fds without FD_CLOEXEC are inherited. The child's pid, or -1 (said). */
pid_t bench_spawn(const char *program, char *const argv[], int stdout_fd, int stderr_fd);

/* Waits for pid; its exit status, or -1 if it did not exit (a signal) or cannot be waited. */
int bench_wait_exit(pid_t pid);

/* Runs argv (argv[0] looked up in PATH) with its stdout into out[cap], NUL-terminated, and its
 * stderr thrown away; its exit status, or -1. For `openssl speed`: no shell in between. */
int bench_run_capture(char *const argv[], char *out, size_t cap);

/* The number in column (0: the first) after prefix, on the first line of out (`openssl speed`
 * output) that starts with prefix; 0 when there is none. The k of "123.45k" is skipped. */
double bench_speed_figure(const char *out, const char *prefix, int column);

/* ----- ledgerd as a child process ----- */

/* A ledgerd a benchmark runs: `ledgerd init`, then `ledgerd serve` until it is stopped. */
typedef struct bench_ledgerd {
	const char *program;  /* the benchmark, in messages */
	const char *path;     /* the ledgerd executable */
	const char *data_dir; /* --data */
	int out_fd;           /* its stdout and stderr go there: a log file, or STDERR_FILENO */
	const char *log_path; /* that log file, named in messages; NULL: its messages are on our stderr */
	pid_t pid;            /* `ledgerd serve` while it runs, else 0 */
} bench_ledgerd;

/* `ledgerd init --data DIR`; false (said) unless it exits 0. */
bool bench_ledgerd_init(const bench_ledgerd *d);

/* `ledgerd serve --data DIR` then args (NULL-terminated), waiting up to timeout_ms for it to
 * be ready (it writes "ready" on the fd named by --ready-fd); false (said) if it is not. Stop it either way. */
bool bench_ledgerd_serve(bench_ledgerd *d, char *const args[], int timeout_ms);

/* SIGTERM (ledgerd drains, then exits 0) and wait; false (said) unless it exited 0. True when
 * it was not running. */
bool bench_ledgerd_stop(bench_ledgerd *d);

/* What every benchmark that talks to ledgerd does first: libsodium initialised (false, said,
 * if it cannot be), and SIGPIPE ignored (a server gone away is a failed call, not a signal). */
bool bench_process_init(const char *program);

/* ----- the machine and processes, from /proc ----- */

/* The first line of /proc/stat: cumulative CPU ticks of the machine. */
typedef struct bench_cpu_ticks {
	unsigned long long user, nice, system, idle, iowait, irq, softirq, steal;
} bench_cpu_ticks;

/* Reads count whitespace-separated decimal numbers at *text, moving *text past them. */
bool bench_read_numbers(const char **text, unsigned long long *values, int count);

/* The machine's CPU ticks; false if /proc/stat cannot be read. */
bool bench_cpu_ticks_read(bench_cpu_ticks *out);

/* User + system CPU time of process pid in nanoseconds (clock ticks: fine over runs of
 * seconds), or -1 when unreadable or pid <= 0. */
int64_t bench_process_cpu_ns(pid_t pid);

/* The 1-minute load average, or -1. */
double bench_load_average(void);

/* The write_bytes line of /proc/self/io (bytes this process caused to be written), or 0. */
unsigned long long bench_self_write_bytes(void);

/*
 * What else used the machine during a run: its busy CPU time (/proc/stat) less ours and our
 * waited-for children's (getrusage), and the time the hypervisor stole for other guests. The
 * load average counts processes of other containers that ps does not show here: this does not
 * miss them. A child's CPU time counts as ours once it has been waited for.
 */
typedef struct bench_machine_sample {
	int64_t busy_ns, steal_ns; /* the machine's; 0 when /proc/stat cannot be read */
	int64_t own_ns;            /* this process and its waited-for children */
	int64_t wall_ns;           /* bench_now_ns() */
	bool known;                /* /proc/stat was read */
} bench_machine_sample;

typedef struct bench_machine_use {
	double wall_s;       /* between the two samples */
	double others_cpu_s; /* busy CPU-seconds not charged to us (nor our waited-for children) */
	double steal_s;      /* stolen by the hypervisor */
	bool known;          /* both samples read /proc/stat */
} bench_machine_use;

void bench_machine_sample_take(bench_machine_sample *m);

/* What the machine did between before and a sample taken now. */
bench_machine_use bench_machine_use_since(const bench_machine_sample *before);

/* ----- latency histogram ----- */

/*
 * Log-linear buckets (as HdrHistogram): exact below 128 ns, then 64 buckets per power of two,
 * so a percentile is within 1/64 (1.6 %) of the truth. A fixed 30 KiB per thread, whatever
 * the number of samples, where keeping every sample would grow with the run.
 */
#define BENCH_HIST_SUB_BITS 7u
#define BENCH_HIST_EXACT    (1u << BENCH_HIST_SUB_BITS)
#define BENCH_HIST_HALF     (BENCH_HIST_EXACT / 2u)
#define BENCH_HIST_BUCKETS  (BENCH_HIST_EXACT + (64u - BENCH_HIST_SUB_BITS) * BENCH_HIST_HALF)

typedef struct bench_histogram {
	uint64_t count;
	uint64_t buckets[BENCH_HIST_BUCKETS];
} bench_histogram;

/* Counts one latency of ns (a negative one as 0). */
void bench_hist_add(bench_histogram *h, int64_t ns);

void bench_hist_merge(bench_histogram *into, const bench_histogram *from);

/* The q-quantile (0 < q <= 1) in µs; 0 for an empty histogram. */
double bench_hist_quantile_us(const bench_histogram *h, double q);

/* ----- closed-loop client threads ----- */

/*
 * Every load is closed-loop: each thread sends one request, waits for its reply, sends the
 * next. The threads warm up together, then count what they start inside the measured window.
 * Rate = requests counted / (last counted reply - window start).
 */
typedef struct bench_client bench_client;

typedef struct bench_window {
	int64_t start_ns, end_ns;
} bench_window;

/* What one thread of a load does. open and close run once per thread, call once per request. */
typedef struct bench_load_kind {
	size_t state_bytes;             /* the thread's own zeroed state: bench_client.state */
	bool (*open)(bench_client *c);  /* false with c->error on failure */
	bool (*call)(bench_client *c);  /* one request; false with c->error on failure */
	void (*close)(bench_client *c); /* after a successful open only */
} bench_load_kind;

struct bench_client {
	const void *setup; /* bench_load_plan.setup, shared by all threads: read only */
	void *state;       /* kind->state_bytes of this thread's own */
	unsigned index, clients;
	uint64_t tally; /* what the kind counts besides requests, warm-up included (bench-rights: allowed) */
	char error[256];
	/* bench_run_load's */
	const bench_load_kind *kind;
	const bench_window *window;
	pthread_barrier_t *ready, *go;
	pthread_t thread;
	bench_histogram hist;
	uint64_t ops, ops_all;
	int64_t last_done_ns;
	bool failed;
};

typedef struct bench_load_plan {
	const char *program; /* in messages */
	const bench_load_kind *kind;
	const void *setup; /* handed to each thread as bench_client.setup */
	unsigned clients;  /* threads, >= 1 */
	int64_t warmup_ns, measure_ns;
	pid_t server_pid; /* the server's process when it is not this one, else 0 */
} bench_load_plan;

typedef struct bench_load_result {
	unsigned clients;
	uint64_t ops;     /* requests started inside the window */
	uint64_t ops_all; /* warm-up included: what the CPU time is divided by */
	uint64_t tally;   /* the threads' tallies summed */
	double ops_per_s, p50_us, p99_us;
	int64_t client_cpu_ns;        /* this process (clients, and an in-process server), whole run */
	int64_t server_cpu_ns;        /* plan.server_pid, whole run: -1 unknown or none */
	int64_t server_window_cpu_ns; /* plan.server_pid, over the measured window only: -1 likewise */
	bool failed;                  /* a thread failed (the first failure is said) */
} bench_load_result;

/* cpu_ns spread over ops, in µs per op; `unknown` when cpu_ns is unknown (-1) or ops is 0. */
double bench_cpu_us_per_op(int64_t cpu_ns, uint64_t ops, double unknown);

/* Runs plan->clients threads of plan->kind for warm-up + measure. Exits on out-of-memory or
 * when a thread cannot be started: the barriers count on every thread. */
void bench_run_load(const bench_load_plan *plan, bench_load_result *out);

/* ----- the bare nng echo: the transport alone ----- */

/* The echo load's setup: request_bytes of request sent to url, each reply checked for size. */
typedef struct bench_echo_setup {
	const char *url;
	const uint8_t *request;
	size_t request_bytes;
	int timeout_ms; /* send and receive, as the RPC client's */
} bench_echo_setup;

/* A load of bench_echo_setup: dials like api_client_open does, so that an echo load and an RPC
 * load pay the same transport. */
extern const bench_load_kind bench_echo_load;

/* The echo server: ledgerd's service loop (api/server.c: a rep0 socket, contexts and aio) with
 * the handling taken out; each request's message goes back as its reply. */
typedef struct bench_echo_server bench_echo_server;

/* Listens on url with workers contexts, refusing requests over request_bytes_max. NULL (said)
 * on failure. */
bench_echo_server *bench_echo_server_start(const char *program, const char *url, size_t request_bytes_max,
                                           unsigned workers);

/* Closes and frees s; NULL is fine. */
void bench_echo_server_stop(bench_echo_server *s);

#endif
