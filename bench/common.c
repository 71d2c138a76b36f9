/*
 * common.c: what the benchmarks share (common.h).
 */
#include "common.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <sodium.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ----- clocks ----- */

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t bench_now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

double bench_now_s(void)
{
	return (double)bench_now_ns() / 1e9;
}

int64_t bench_self_cpu_ns(void)
{
	return clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

/* ----- the command line ----- */

/* A whole decimal number in [1, max], and nothing else; false otherwise. */
static bool parse_count(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v == 0 || v > max)
		return false;
	*out = v;
	return true;
}

/* A number of seconds in [0, max_s] into *ns; false otherwise. */
static bool parse_seconds(const char *s, double max_s, int64_t *ns)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0.0 && v <= max_s))
		return false;
	*ns = (int64_t)(v * 1e9);
	return true;
}

bench_option bench_flag(const char *name, bool *to)
{
	return (bench_option){.name = name, .kind = BENCH_OPTION_FLAG, .to = to};
}

bench_option bench_count(const char *name, unsigned *to, unsigned long long max)
{
	assert(max <= UINT_MAX);
	return (bench_option){
	    .name = name, .kind = BENCH_OPTION_COUNT, .to = to, .bytes = sizeof *to, .max = (double)max};
}

bench_option bench_count64(const char *name, uint64_t *to, unsigned long long max)
{
	return (bench_option){
	    .name = name, .kind = BENCH_OPTION_COUNT, .to = to, .bytes = sizeof *to, .max = (double)max};
}

bench_option bench_seconds(const char *name, int64_t *ns, double max, bool positive, bool *given)
{
	return (bench_option){
	    .name = name, .kind = BENCH_OPTION_SECONDS, .to = ns, .max = max, .positive = positive, .given = given};
}

bench_option bench_text(const char *name, char *to, size_t bytes, bool *given)
{
	return (bench_option){.name = name, .kind = BENCH_OPTION_TEXT, .to = to, .bytes = bytes, .given = given};
}

/* Applies option o's argument text; false after saying why it is refused. */
static bool option_apply(const char *program, const bench_option *o, const char *text)
{
	unsigned long long count;
	switch (o->kind) {
	case BENCH_OPTION_FLAG: *(bool *)o->to = true; break;
	case BENCH_OPTION_COUNT:
		if (!parse_count(text, (unsigned long long)o->max, &count)) {
			fprintf(stderr, "%s: --%s %s: 1 to %.0f\n", program, o->name, text, o->max);
			return false;
		}
		if (o->bytes == sizeof(uint64_t)) {
			uint64_t v = count;
			memcpy(o->to, &v, sizeof v);
		} else {
			assert(o->bytes == sizeof(unsigned) && count <= UINT_MAX);
			unsigned v = (unsigned)count;
			memcpy(o->to, &v, sizeof v);
		}
		break;
	case BENCH_OPTION_SECONDS:
		if (!parse_seconds(text, o->max, (int64_t *)o->to) || (o->positive && *(int64_t *)o->to == 0)) {
			fprintf(stderr, "%s: --%s %s: a number of seconds, 0 to %.0f\n", program, o->name, text,
			        o->max);
			return false;
		}
		break;
	case BENCH_OPTION_TEXT: snprintf(o->to, o->bytes, "%s", text); break;
	}
	if (o->given)
		*o->given = true;
	return true;
}

#define OPTIONS_MAX 32u

int bench_parse_options(const char *program, const char *usage, int argc, char **argv, const bench_option *options,
                        size_t count)
{
	assert(count < OPTIONS_MAX);
	struct option longs[OPTIONS_MAX + 2];
	for (size_t i = 0; i < count; i++)
		longs[i] = (struct option){options[i].name,
		                           options[i].kind == BENCH_OPTION_FLAG ? no_argument : required_argument, NULL,
		                           256 + (int)i}; /* past every character: the index of the option */
	longs[count] = (struct option){"help", no_argument, NULL, 'h'};
	longs[count + 1] = (struct option){NULL, 0, NULL, 0};
	int c;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			exit(0);
		}
		if (c < 256 || (size_t)(c - 256) >= count)
			return fprintf(stderr, "(see %s --help)\n", program), 2;
		if (!option_apply(program, &options[c - 256], optarg))
			return 2;
	}
	if (optind != argc)
		return fprintf(stderr, "%s: unexpected argument %s\n", program, argv[optind]), 2;
	return 0;
}

void bench_tmp_parent(char out[PATH_MAX])
{
	const char *tmp = getenv("TMPDIR");
	snprintf(out, PATH_MAX, "%s", tmp && tmp[0] ? tmp : "/tmp");
}

bool bench_path_join(char *out, size_t out_bytes, const char *dir, const char *suffix)
{
	size_t d = strlen(dir), s = strlen(suffix);
	if (d + s >= out_bytes)
		return false;
	memcpy(out, dir, d);
	memcpy(out + d, suffix, s + 1);
	return true;
}

bool bench_beside_self(const char *argv0, const char *suffix, char out[PATH_MAX])
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0)
		self[n] = '\0';
	else
		snprintf(self, sizeof self, "%s", argv0);
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	if (bench_path_join(out, PATH_MAX, slash ? self : ".", suffix))
		return true;
	out[0] = '\0';
	return false;
}

/* ----- files and child processes ----- */

uint8_t *bench_read_file(const char *path, size_t *bytes)
{
	*bytes = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	size_t size = (size_t)st.st_size, got = 0;
	uint8_t *data = malloc(size);
	ssize_t n = 1;
	while (data && got < size && (n = read(fd, data + got, size - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (!data || got != size) {
		free(data);
		return NULL;
	}
	*bytes = size;
	return data;
}

/* nftw's callback takes no argument of ours: the program to name in messages, or NULL. */
static const char *remove_program;

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	if (remove(path) != 0 && remove_program)
		fprintf(stderr, "%s: cannot remove %s: %s\n", remove_program, path, strerror(errno));
	return 0;
}

void bench_remove_tree(const char *program, const char *dir)
{
	remove_program = program;
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	remove_program = NULL;
}

pid_t bench_spawn(const char *program, char *const argv[], int stdout_fd, int stderr_fd)
{
	pid_t pid = fork();
	if (pid == 0) {
		if ((stdout_fd >= 0 && dup2(stdout_fd, STDOUT_FILENO) < 0) ||
		    (stderr_fd >= 0 && dup2(stderr_fd, STDERR_FILENO) < 0))
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0)
		fprintf(stderr, "%s: fork: %s\n", program, strerror(errno));
	return pid;
}

int bench_wait_exit(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int bench_run_capture(char *const argv[], char *out, size_t cap)
{
	assert(cap > 0);
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	size_t n = 0;
	ssize_t got;
	while (pid > 0 && n + 1 < cap && (got = read(fds[0], out + n, cap - 1 - n)) > 0)
		n += (size_t)got;
	out[n] = '\0';
	close(fds[0]);
	return pid > 0 ? bench_wait_exit(pid) : -1;
}

double bench_speed_figure(const char *out, const char *prefix, int column)
{
	for (const char *line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, prefix, strlen(prefix)) != 0)
			continue;
		const char *p = line + strlen(prefix);
		double v = 0;
		for (int c = 0; c <= column; c++) {
			char *end;
			v = strtod(p, &end);
			if (end == p)
				return 0;
			p = end;
			while (*p == 's' || *p == 'k')
				p++;
		}
		return v;
	}
	return 0;
}

#define SERVE_ARGS_MAX 32u

/* Starts argv (a server taking --ready-fd N: ledgerd serve) with "--ready-fd N" appended (argv
 * holds at most SERVE_ARGS_MAX - 3 words), and waits up to timeout_ms for it to write "ready"
 * there. *pid is the child (or -1); false if it did not become ready in time (the child may be
 * running: stop it). */
static bool serve_ready(const char *program, char *const argv[], int stdout_fd, int stderr_fd, int timeout_ms,
                        pid_t *pid)
{
	*pid = -1;
	char *args[SERVE_ARGS_MAX];
	size_t n = 0;
	while (argv[n] && n + 3u < SERVE_ARGS_MAX) {
		args[n] = argv[n];
		n++;
	}
	assert(!argv[n]); /* at most SERVE_ARGS_MAX - 3 words */
	int fds[2];
	/* The read end is ours alone; the write end (flag cleared) is inherited by the server. */
	if (pipe2(fds, O_CLOEXEC) != 0 || fcntl(fds[1], F_SETFD, 0) != 0) {
		fprintf(stderr, "%s: pipe: %s\n", program, strerror(errno));
		return false;
	}
	char ready_fd[16];
	snprintf(ready_fd, sizeof ready_fd, "%d", fds[1]);
	args[n++] = "--ready-fd";
	args[n++] = ready_fd;
	args[n] = NULL;
	*pid = bench_spawn(program, args, stdout_fd, stderr_fd);
	close(fds[1]);
	struct pollfd pfd = {fds[0], POLLIN, 0};
	char buf[8] = {0};
	bool ready = *pid > 0 && poll(&pfd, 1, timeout_ms) == 1 && read(fds[0], buf, sizeof buf - 1) > 0 &&
	             strncmp(buf, "ready", 5) == 0;
	close(fds[0]);
	return ready;
}

/* SIGTERM to *pid (a server that drains, then exits 0) and waits; its exit status, 0 if *pid
 * was not running (<= 0). *pid is 0 afterwards. */
static int terminate(pid_t *pid)
{
	if (*pid <= 0)
		return 0;
	kill(*pid, SIGTERM);
	int code = bench_wait_exit(*pid);
	*pid = 0;
	return code;
}

/* ----- ledgerd as a child process ----- */

/* ": see LOG" when ledgerd writes into a log file, else what the caller says instead. */
static const char *see_log(const bench_ledgerd *d, char *out, size_t cap, const char *otherwise)
{
	if (d->log_path)
		snprintf(out, cap, ": see %s", d->log_path);
	else
		snprintf(out, cap, "%s", otherwise);
	return out;
}

bool bench_ledgerd_init(const bench_ledgerd *d)
{
	char *argv[] = {(char *)d->path, "init", "--data", (char *)d->data_dir, NULL};
	pid_t pid = bench_spawn(d->program, argv, d->out_fd, d->out_fd);
	if (pid > 0 && bench_wait_exit(pid) == 0)
		return true;
	char see[PATH_MAX + 8];
	fprintf(stderr, "%s: ledgerd init --data %s failed%s\n", d->program, d->data_dir,
	        see_log(d, see, sizeof see, ""));
	return false;
}

#define LEDGERD_ARGS_MAX 24u

bool bench_ledgerd_serve(bench_ledgerd *d, char *const args[], int timeout_ms)
{
	char *argv[LEDGERD_ARGS_MAX] = {(char *)d->path, "serve", "--data", (char *)d->data_dir};
	size_t n = 4;
	for (size_t i = 0; args[i]; i++) {
		assert(n + 1 < LEDGERD_ARGS_MAX);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	if (serve_ready(d->program, argv, d->out_fd, d->out_fd, timeout_ms, &d->pid))
		return true;
	char see[PATH_MAX + 8];
	fprintf(stderr, "%s: ledgerd serve did not become ready%s\n", d->program,
	        see_log(d, see, sizeof see, " (its messages are above)"));
	return false;
}

bool bench_ledgerd_stop(bench_ledgerd *d)
{
	int code = terminate(&d->pid);
	if (code == 0)
		return true;
	char see[PATH_MAX + 8];
	fprintf(stderr, "%s: ledgerd exited with %d%s\n", d->program, code, see_log(d, see, sizeof see, ""));
	return false;
}

bool bench_process_init(const char *program)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: libsodium did not initialise\n", program);
		return false;
	}
	signal(SIGPIPE, SIG_IGN);
	return true;
}

/* ----- the machine and processes, from /proc ----- */

bool bench_read_numbers(const char **text, unsigned long long *values, int count)
{
	const char *p = *text;
	for (int i = 0; i < count; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p < '0' || *p > '9')
			return false;
		char *end;
		errno = 0;
		values[i] = strtoull(p, &end, 10);
		if (errno)
			return false;
		p = end;
	}
	*text = p;
	return true;
}

/* Reads a small /proc file whole, NUL-terminated. */
static bool read_proc(const char *path, char *text, size_t bytes)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(text, 1, bytes - 1, f);
	fclose(f);
	text[n] = '\0';
	return n > 0;
}

bool bench_cpu_ticks_read(bench_cpu_ticks *out)
{
	char text[512];
	if (!read_proc("/proc/stat", text, sizeof text) || strncmp(text, "cpu ", 4) != 0)
		return false;
	unsigned long long v[8];
	const char *p = text + 4;
	if (!bench_read_numbers(&p, v, 8))
		return false;
	*out = (bench_cpu_ticks){v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
	return true;
}

int64_t bench_process_cpu_ns(pid_t pid)
{
	char path[64], text[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if (pid <= 0 || !read_proc(path, text, sizeof text))
		return -1;
	/* Fields after the command name, which is in parentheses and may hold spaces: state, then
	 * ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime. */
	const char *p = strrchr(text, ')');
	if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
		return -1;
	p += 4;
	unsigned long long counts[7]; /* flags minflt cminflt majflt cmajflt utime stime */
	/* ppid pgrp session tty_nr tpgid: tty_nr and tpgid may be negative, skipped as text. */
	for (int field = 0; field < 5; field++) {
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
	}
	if (!bench_read_numbers(&p, counts, 7))
		return -1;
	unsigned long long utime = counts[5], stime = counts[6];
	return (int64_t)((utime + stime) * (1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK)));
}

double bench_load_average(void)
{
	char text[128];
	if (!read_proc("/proc/loadavg", text, sizeof text))
		return -1.0;
	char *end;
	errno = 0;
	double load = strtod(text, &end);
	return errno || end == text ? -1.0 : load;
}

unsigned long long bench_self_write_bytes(void)
{
	char text[1024];
	if (!read_proc("/proc/self/io", text, sizeof text))
		return 0;
	const char *p = strstr(text, "write_bytes: ");
	unsigned long long v = 0;
	if (p) {
		p += strlen("write_bytes: ");
		if (!bench_read_numbers(&p, &v, 1))
			v = 0;
	}
	return v;
}

/* CPU time of this process and of its waited-for children, in ns. */
static int64_t own_cpu_ns(void)
{
	struct rusage self, children;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &children);
	int64_t us = 0;
	const struct timeval *tv[4] = {&self.ru_utime, &self.ru_stime, &children.ru_utime, &children.ru_stime};
	for (size_t i = 0; i < 4; i++)
		us += (int64_t)tv[i]->tv_sec * 1000000 + tv[i]->tv_usec;
	return us * 1000;
}

void bench_machine_sample_take(bench_machine_sample *m)
{
	bench_cpu_ticks t = {0};
	m->known = bench_cpu_ticks_read(&t);
	if (!m->known)
		t = (bench_cpu_ticks){0};
	int64_t tick_ns = 1000000000 / sysconf(_SC_CLK_TCK);
	m->busy_ns = (int64_t)(t.user + t.nice + t.system + t.irq + t.softirq) * tick_ns;
	m->steal_ns = (int64_t)t.steal * tick_ns;
	m->own_ns = own_cpu_ns();
	m->wall_ns = bench_now_ns();
}

bench_machine_use bench_machine_use_since(const bench_machine_sample *before)
{
	bench_machine_sample after;
	bench_machine_sample_take(&after);
	return (bench_machine_use){
	    .wall_s = (double)(after.wall_ns - before->wall_ns) / 1e9,
	    .others_cpu_s = (double)(after.busy_ns - before->busy_ns - (after.own_ns - before->own_ns)) / 1e9,
	    .steal_s = (double)(after.steal_ns - before->steal_ns) / 1e9,
	    .known = before->known && after.known,
	};
}

/* ----- latency histogram ----- */

static size_t hist_index(uint64_t ns)
{
	if (ns < BENCH_HIST_EXACT)
		return (size_t)ns;
	unsigned msb = 63u - (unsigned)__builtin_clzll(ns);
	unsigned shift = msb - (BENCH_HIST_SUB_BITS - 1u);
	uint64_t mantissa = ns >> shift; /* in [BENCH_HIST_HALF, BENCH_HIST_EXACT) */
	size_t index = BENCH_HIST_EXACT + (size_t)(shift - 1u) * BENCH_HIST_HALF + (size_t)(mantissa - BENCH_HIST_HALF);
	assert(index < BENCH_HIST_BUCKETS);
	return index;
}

/* The middle of bucket index, in ns. */
static double hist_value(size_t index)
{
	if (index < BENCH_HIST_EXACT)
		return (double)index;
	size_t k = index - BENCH_HIST_EXACT;
	unsigned shift = (unsigned)(k / BENCH_HIST_HALF) + 1u;
	uint64_t low = (uint64_t)(k % BENCH_HIST_HALF + BENCH_HIST_HALF) << shift;
	return (double)low + (double)((uint64_t)1 << shift) / 2.0;
}

void bench_hist_add(bench_histogram *h, int64_t ns)
{
	h->buckets[hist_index(ns > 0 ? (uint64_t)ns : 0)]++;
	h->count++;
}

void bench_hist_merge(bench_histogram *into, const bench_histogram *from)
{
	for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++)
		into->buckets[i] += from->buckets[i];
	into->count += from->count;
}

double bench_hist_quantile_us(const bench_histogram *h, double q)
{
	assert(q > 0.0 && q <= 1.0);
	if (h->count == 0)
		return 0.0;
	uint64_t rank = (uint64_t)(q * (double)h->count);
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank)
			return hist_value(i) / 1000.0;
	}
	return hist_value(BENCH_HIST_BUCKETS - 1u) / 1000.0;
}

/* ----- closed-loop client threads ----- */

static void *out_of_memory(const char *program, void *p)
{
	if (!p) {
		fprintf(stderr, "%s: out of memory\n", program);
		exit(1);
	}
	return p;
}

static void *client_main(void *arg)
{
	bench_client *c = arg;
	bool opened = c->kind->open(c);
	c->failed = !opened;
	pthread_barrier_wait(c->ready);
	pthread_barrier_wait(c->go); /* the window is set between the two barriers */
	while (opened && !c->failed) {
		int64_t start = bench_now_ns();
		if (start >= c->window->end_ns)
			break;
		if (!c->kind->call(c)) {
			c->failed = true;
			break;
		}
		int64_t done = bench_now_ns();
		c->ops_all++;
		if (start >= c->window->start_ns) {
			bench_hist_add(&c->hist, done - start);
			c->ops++;
			c->last_done_ns = done;
		}
	}
	if (opened)
		c->kind->close(c);
	return NULL;
}

static void sleep_until(int64_t ns)
{
	struct timespec at = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
		;
}

static void load_summarise(const bench_load_plan *plan, const bench_client *clients, const bench_window *w,
                           bench_load_result *out)
{
	bench_histogram *all = out_of_memory(plan->program, calloc(1, sizeof *all));
	int64_t last_ns = w->start_ns;
	for (unsigned i = 0; i < plan->clients; i++) {
		const bench_client *c = &clients[i];
		bench_hist_merge(all, &c->hist);
		out->ops += c->ops;
		out->ops_all += c->ops_all;
		out->tally += c->tally;
		if (c->last_done_ns > last_ns)
			last_ns = c->last_done_ns;
		if (c->failed && !out->failed) {
			out->failed = true;
			fprintf(stderr, "%s: client %u failed: %s\n", plan->program, i, c->error);
		}
	}
	assert(all->count == out->ops);
	double seconds = (double)(last_ns - w->start_ns) / 1e9;
	out->ops_per_s = seconds > 0.0 ? (double)out->ops / seconds : 0.0;
	out->p50_us = bench_hist_quantile_us(all, 0.50);
	out->p99_us = bench_hist_quantile_us(all, 0.99);
	free(all);
}

/* b - a when both are known (>= 0), else -1. */
static int64_t cpu_between(int64_t a, int64_t b)
{
	return a >= 0 && b >= 0 ? b - a : -1;
}

double bench_cpu_us_per_op(int64_t cpu_ns, uint64_t ops, double unknown)
{
	return cpu_ns >= 0 && ops ? (double)cpu_ns / 1e3 / (double)ops : unknown;
}

void bench_run_load(const bench_load_plan *plan, bench_load_result *out)
{
	unsigned n = plan->clients;
	assert(n >= 1);
	bench_client *clients = out_of_memory(plan->program, calloc(n, sizeof *clients));
	uint8_t *states =
	    out_of_memory(plan->program, calloc(n, plan->kind->state_bytes ? plan->kind->state_bytes : 1));
	pthread_barrier_t ready, go;
	if (pthread_barrier_init(&ready, NULL, n + 1u) != 0 || pthread_barrier_init(&go, NULL, n + 1u) != 0) {
		fprintf(stderr, "%s: cannot create the client barriers\n", plan->program);
		exit(1);
	}
	bench_window w = {0, 0};
	*out = (bench_load_result){.clients = n};
	int64_t client_cpu0 = bench_self_cpu_ns(), server_cpu0 = bench_process_cpu_ns(plan->server_pid);
	for (unsigned i = 0; i < n; i++) {
		bench_client *c = &clients[i];
		*c = (bench_client){.setup = plan->setup,
		                    .state = states + (size_t)i * plan->kind->state_bytes,
		                    .index = i,
		                    .clients = n,
		                    .kind = plan->kind,
		                    .window = &w,
		                    .ready = &ready,
		                    .go = &go};
		if (pthread_create(&c->thread, NULL, client_main, c) != 0) {
			/* The barriers count on every thread: without one the run cannot go on. */
			fprintf(stderr, "%s: cannot start client thread %u\n", plan->program, i);
			exit(1);
		}
	}
	pthread_barrier_wait(&ready);
	w.start_ns = bench_now_ns() + plan->warmup_ns;
	w.end_ns = w.start_ns + plan->measure_ns;
	pthread_barrier_wait(&go);
	/* The server's CPU over the measured window too: sampled at its edges. */
	sleep_until(w.start_ns);
	int64_t window_cpu0 = bench_process_cpu_ns(plan->server_pid);
	sleep_until(w.end_ns);
	int64_t window_cpu1 = bench_process_cpu_ns(plan->server_pid);
	for (unsigned i = 0; i < n; i++)
		pthread_join(clients[i].thread, NULL);
	out->server_cpu_ns = cpu_between(server_cpu0, bench_process_cpu_ns(plan->server_pid));
	out->server_window_cpu_ns = cpu_between(window_cpu0, window_cpu1);
	out->client_cpu_ns = bench_self_cpu_ns() - client_cpu0;
	pthread_barrier_destroy(&ready);
	pthread_barrier_destroy(&go);
	load_summarise(plan, clients, &w, out);
	free(states);
	free(clients);
}

/* ----- the bare nng echo ----- */

static bool echo_open(bench_client *c)
{
	const bench_echo_setup *setup = c->setup;
	nng_socket *sock = c->state;
	int rv = nng_req0_open(sock);
	if (rv == 0)
		rv = nng_socket_set_ms(*sock, NNG_OPT_RECVTIMEO, setup->timeout_ms);
	if (rv == 0)
		rv = nng_socket_set_ms(*sock, NNG_OPT_SENDTIMEO, setup->timeout_ms);
	if (rv == 0)
		rv = nng_socket_set_ms(*sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	if (rv == 0)
		rv = nng_dial(*sock, setup->url, NULL, 0);
	if (rv != 0) {
		snprintf(c->error, sizeof c->error, "cannot dial %s: %s", setup->url, nng_strerror(rv));
		nng_close(*sock);
	}
	return rv == 0;
}

static bool echo_call(bench_client *c)
{
	const bench_echo_setup *setup = c->setup;
	nng_socket *sock = c->state;
	size_t n = setup->request_bytes;
	nng_msg *msg;
	int rv = nng_msg_alloc(&msg, n);
	if (rv == 0) {
		memcpy(nng_msg_body(msg), setup->request, n);
		if ((rv = nng_sendmsg(*sock, msg, 0)) != 0)
			nng_msg_free(msg);
	}
	if (rv == 0 && (rv = nng_recvmsg(*sock, &msg, 0)) == 0) {
		size_t got = nng_msg_len(msg);
		nng_msg_free(msg);
		if (got != n) {
			snprintf(c->error, sizeof c->error, "echo: %zu bytes back for %zu sent", got, n);
			return false;
		}
	}
	if (rv != 0)
		snprintf(c->error, sizeof c->error, "echo: %s", nng_strerror(rv));
	return rv == 0;
}

static void echo_close(bench_client *c)
{
	nng_close(*(nng_socket *)c->state);
}

const bench_load_kind bench_echo_load = {sizeof(nng_socket), echo_open, echo_call, echo_close};

typedef struct echo_worker {
	nng_ctx ctx;
	nng_aio *aio;
	bool sending;
} echo_worker;

struct bench_echo_server {
	nng_socket sock;
	unsigned workers_count;
	echo_worker workers[];
};

static void echo_worker_cb(void *arg)
{
	echo_worker *w = arg;
	int rv = nng_aio_result(w->aio);
	if (w->sending) {
		if (rv != 0)
			nng_msg_free(nng_aio_get_msg(w->aio));
		w->sending = false;
		if (rv != NNG_ECLOSED && rv != NNG_ECANCELED)
			nng_ctx_recv(w->ctx, w->aio);
		return;
	}
	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
		return;
	if (rv != 0) {
		nng_ctx_recv(w->ctx, w->aio);
		return;
	}
	w->sending = true; /* the request's message goes back as the reply */
	nng_aio_set_msg(w->aio, nng_aio_get_msg(w->aio));
	nng_ctx_send(w->ctx, w->aio);
}

void bench_echo_server_stop(bench_echo_server *s)
{
	if (!s)
		return;
	nng_close(s->sock); /* pending operations end with NNG_ECLOSED */
	for (unsigned i = 0; i < s->workers_count; i++) {
		if (s->workers[i].aio) {
			nng_aio_stop(s->workers[i].aio);
			nng_aio_free(s->workers[i].aio);
		}
	}
	free(s);
}

bench_echo_server *bench_echo_server_start(const char *program, const char *url, size_t request_bytes_max,
                                           unsigned workers)
{
	bench_echo_server *s = calloc(1, sizeof *s + workers * sizeof s->workers[0]);
	if (!s) {
		fprintf(stderr, "%s: out of memory\n", program);
		return NULL;
	}
	s->workers_count = workers;
	int rv = nng_rep0_open(&s->sock);
	if (rv == 0)
		rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, request_bytes_max);
	for (unsigned i = 0; rv == 0 && i < workers; i++) {
		echo_worker *w = &s->workers[i];
		rv = nng_aio_alloc(&w->aio, echo_worker_cb, w);
		if (rv == 0)
			rv = nng_ctx_open(&w->ctx, s->sock);
		if (rv == 0)
			nng_ctx_recv(w->ctx, w->aio);
	}
	if (rv == 0)
		rv = nng_listen(s->sock, url, NULL, 0);
	if (rv != 0) {
		fprintf(stderr, "%s: echo server on %s: %s\n", program, url, nng_strerror(rv));
		bench_echo_server_stop(s);
		return NULL;
	}
	return s;
}
