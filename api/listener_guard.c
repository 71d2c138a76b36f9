/*
 * listener_guard.c: re-creating a listener nng 1.5.2 stopped (listener_guard.h says why).
 */
#include "listener_guard.h"

#include "assertion.h"
#include "tls.h"
#include "wake.h"

#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int listener_create(api_listener *a)
{
	int rv = nng_listener_create(&a->listener, a->sock, a->url);
	if (rv == 0 && a->tls)
		rv = nng_listener_set_ptr(a->listener, NNG_OPT_TLS_CONFIG, a->tls);
	if (rv == 0)
		rv = nng_listener_start(a->listener, 0);
	return rv; /* a listener not started is closed with the socket */
}

int api_listener_open(api_listener_guard *g, nng_socket sock, const char *url, nng_tls_config *tls)
{
	if (g->count == API_LISTENERS_MAX || strlen(url) >= API_LISTENER_URL_BYTES_MAX)
		return NNG_EINVAL;
	api_listener *a = &g->listeners[g->count];
	memset(a, 0, sizeof *a);
	a->sock = sock;
	memcpy(a->url, url, strlen(url) + 1);
	if (api_tls_url(url)) {
		LEDGER_ASSERT(tls != NULL); /* api_server_run made it, or ledgerd.c refused the URL */
		nng_tls_config_hold(tls);
		a->tls = tls;
	}
	int rv = listener_create(a);
	if (rv != 0) {
		if (a->tls)
			nng_tls_config_free(a->tls);
		return rv;
	}
	g->count++;
	return 0;
}

/* A direct child of scope named name, or NULL. */
static nng_stat *child_named(nng_stat *scope, const char *name)
{
	for (nng_stat *c = nng_stat_child(scope); c; c = nng_stat_next(c))
		if (strcmp(nng_stat_name(c), name) == 0)
			return c;
	return NULL;
}

/*
 * The scope of listener id in a statistics snapshot. Walked by hand: nng 1.5.2's
 * nng_stat_find_listener returns the first listener of the tree whatever its id (its scope
 * search recurses with the name-only search). Depth-first, iterative over siblings; the tree
 * is a few levels deep (root, socket, listener).
 */
static nng_stat *listener_scope(nng_stat *node, int id)
{
	for (; node; node = nng_stat_next(node)) {
		if (nng_stat_type(node) == NNG_STAT_SCOPE && strcmp(nng_stat_name(node), "listener") == 0) {
			nng_stat *id_stat = child_named(node, "id");
			if (id_stat && nng_stat_value(id_stat) == (uint64_t)id)
				return node;
			continue; /* a listener's children are not listeners */
		}
		nng_stat *found = listener_scope(nng_stat_child(node), id);
		if (found)
			return found;
	}
	return NULL;
}

/* One of the listener's counters ("other" accept errors, "accept"ed connections) in a
 * statistics snapshot; 0 if absent. */
static uint64_t listener_counter(nng_stat *snapshot, nng_listener l, const char *name)
{
	nng_stat *mine = listener_scope(snapshot, nng_listener_id(l));
	nng_stat *counter = mine ? child_named(mine, name) : NULL;
	return counter ? nng_stat_value(counter) : 0;
}

/* The listener's counter now, or UINT64_MAX if statistics cannot be read. */
static uint64_t listener_counter_now(nng_listener l, const char *name)
{
	nng_stat *snapshot;
	if (nng_stats_get(&snapshot) != 0)
		return UINT64_MAX;
	uint64_t value = listener_counter(snapshot, l, name);
	nng_stats_free(snapshot);
	return value;
}

/*
 * Does the ipc listener still hand connections to its socket? Connects as a peer would and
 * completes nng's SP handshake (8 bytes each way: 0x00 'S' 'P' 0x00, protocol, 0x00 0x00;
 * the transport sends its own first), so the probe itself never quits a handshake half-way,
 * which is what stops a listener. The transport negotiates even when the listener above it
 * has stopped accepting, so the answer is in the listener's "accept" counter: it must move
 * within API_LISTENER_PROBE_MS. Most accept errors nng counts as "other" it recovers from
 * itself after 100 ms; only a stopped listener fails this.
 */
static bool ipc_listener_accepts(const api_listener *a, uint16_t peer_protocol)
{
	const char *path = a->url + strlen("ipc://");
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	uint64_t accepted_before = listener_counter_now(a->listener, "accept");
	if (strlen(path) >= sizeof addr.sun_path || accepted_before == UINT64_MAX)
		return true; /* cannot tell: do not disturb a listener that may be fine */
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true;
	struct timeval wait = {.tv_sec = API_LISTENER_PROBE_MS / 1000,
	                       .tv_usec = (API_LISTENER_PROBE_MS % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof wait);
	bool accepted = false;
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
		uint8_t header[8];
		size_t got = 0;
		ssize_t n;
		while (got < sizeof header && (n = recv(fd, header + got, sizeof header - got, 0)) > 0)
			got += (size_t)n;
		uint8_t mine[8] = {0, 'S', 'P', 0, (uint8_t)(peer_protocol >> 8), (uint8_t)peer_protocol, 0, 0};
		if (got == sizeof header && send(fd, mine, sizeof mine, MSG_NOSIGNAL) == (ssize_t)sizeof mine) {
			for (int waited_ms = 0; !accepted && waited_ms < API_LISTENER_PROBE_MS; waited_ms += 10) {
				uint64_t now = listener_counter_now(a->listener, "accept");
				accepted = now == UINT64_MAX || now > accepted_before;
				if (!accepted)
					nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
			}
		}
	}
	close(fd);
	return accepted;
}

/* Re-creates every listener whose accept failed in a way nng does not recover from. */
static void check_listeners(api_listener_guard *g)
{
	nng_stat *snapshot;
	if (nng_stats_get(&snapshot) != 0)
		return; /* no memory now: try again at the next check */
	for (unsigned i = 0; i < g->count; i++) {
		api_listener *a = &g->listeners[i];
		uint64_t seen = listener_counter(snapshot, a->listener, "other");
		if (seen == a->other_errors_seen)
			continue;
		a->other_errors_seen = seen;
		int peer;
		if (strncmp(a->url, "ipc://", 6) != 0 || nng_socket_get_int(a->sock, NNG_OPT_PEER, &peer) != 0 ||
		    ipc_listener_accepts(a, (uint16_t)peer))
			continue;
		/* A new listener's counters start at zero. */
		nng_listener_close(a->listener);
		int rv = listener_create(a);
		a->other_errors_seen = 0;
		g->recreated++;
		fprintf(stderr, "ledgerd: %s: a connection closed during its handshake stopped nng's listener; %s\n",
		        a->url, rv == 0 ? "listening again" : nng_strerror(rv));
	}
	nng_stats_free(snapshot);
}

static void *guard_main(void *arg)
{
	api_listener_guard *g = arg;
	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += API_LISTENER_CHECK_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&g->wake, &g->lock, &until);
		if (!g->stop)
			check_listeners(g);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

bool api_listener_guard_start(api_listener_guard *g)
{
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->wake, NULL);
	g->stop = false;
	if (pthread_create(&g->thread, NULL, guard_main, g) != 0)
		return false;
	g->started = true;
	return true;
}

void api_listener_guard_stop(api_listener_guard *g)
{
	if (g->started) {
		api_wake(&g->lock, &g->wake, &g->stop);
		pthread_join(g->thread, NULL);
		g->started = false;
	}
	for (unsigned i = 0; i < g->count; i++)
		if (g->listeners[i].tls)
			nng_tls_config_free(g->listeners[i].tls);
	g->count = 0;
}
