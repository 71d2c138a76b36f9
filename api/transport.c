/*
 * transport.c: the rep0 and pub0 sockets and their listeners (TLS included), the worker
 * contexts, and closing all of it around nng 1.5.2's known hang.
 */
#include "server_internal.h"
#include "wake.h"

#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/rep.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int open_sockets(server *s, const char *abs_dir, nng_tls_config *tls)
{
	char url[PATH_MAX + 16];
	int rv = nng_rep0_open(&s->rep);
	if (rv == 0)
		rv = nng_socket_set_size(s->rep, NNG_OPT_RECVMAXSZ, API_TRANSPORT_FACTOR * s->request_bytes_max);
	if (rv) {
		fprintf(stderr, "ledgerd: cannot open the rep socket: %s\n", nng_strerror(rv));
		return -1;
	}
	const char *const *listen = s->o->listen;
	const char *fallback[2] = {url, NULL};
	if (!listen[0]) {
		if (snprintf(url, sizeof url, "ipc://%s/ledgerd.sock", abs_dir) >= (int)sizeof url)
			return -1;
		listen = fallback;
	}
	for (size_t i = 0; listen[i]; i++) {
		if ((rv = api_listener_open(&s->listeners, s->rep, listen[i], tls)) != 0) {
			fprintf(stderr, "ledgerd: cannot listen on %s: %s\n", listen[i], nng_strerror(rv));
			return -1;
		}
		fprintf(stderr, "ledgerd: listening on %s\n", listen[i]);
	}
	const char *pub = s->o->pub_url;
	if (!pub) {
		if (snprintf(url, sizeof url, "ipc://%s/ledgerd-events.sock", abs_dir) >= (int)sizeof url)
			return -1;
		pub = url;
	}
	if ((rv = nng_pub0_open(&s->pub)) != 0 || (rv = api_listener_open(&s->listeners, s->pub, pub, tls)) != 0) {
		fprintf(stderr, "ledgerd: cannot publish on %s: %s\n", pub, nng_strerror(rv));
		return -1;
	}
	fprintf(stderr, "ledgerd: publishing events on %s\n", pub);
	if (!api_listener_guard_start(&s->listeners)) {
		fprintf(stderr, "ledgerd: cannot start the listener guard thread\n");
		return -1;
	}
	return 0;
}

/* The TLS configuration of the tls+tcp:// URLs, NULL (no error) when there is none. Made
 * before the store is opened, so a bad certificate or key stops ledgerd at once. */
bool tls_config(const api_server_options *o, nng_tls_config **out)
{
	*out = NULL;
	bool wanted = api_tls_url(o->pub_url);
	for (size_t i = 0; o->listen[i]; i++)
		wanted = wanted || api_tls_url(o->listen[i]);
	if (!wanted)
		return true;
	char why[API_TLS_WHY_BYTES];
	if (!api_tls_config_server(&o->tls, out, why, sizeof why)) {
		fprintf(stderr, "ledgerd: %s\n", why);
		return false;
	}
	return true;
}

int start_workers(server *s)
{
	s->workers_count = s->o->workers ? s->o->workers : API_WORKERS_DEFAULT;
	if (s->workers_count > API_WORKERS_MAX)
		s->workers_count = API_WORKERS_MAX;
	s->workers = calloc(s->workers_count, sizeof *s->workers);
	if (!s->workers)
		return -1;
	for (unsigned i = 0; i < s->workers_count; i++) {
		worker *w = &s->workers[i];
		w->s = s;
		ledger__api__reply__init(&w->reply);
		if (nng_aio_alloc(&w->aio, worker_cb, w) != 0 || nng_ctx_open(&w->ctx, s->rep) != 0)
			return -1;
		worker_receive(w);
	}
	return 0;
}

/* Stops every context before the socket is closed: each aio is cancelled and its callback
 * waited for, then the context is closed. Closing the socket first could wait forever on
 * a context whose reply was still queued to a client that stopped reading. */
void stop_workers(server *s)
{
	for (unsigned i = 0; s->workers && i < s->workers_count; i++) {
		worker *w = &s->workers[i];
		if (w->aio)
			nng_aio_stop(w->aio);
		nng_ctx_close(w->ctx);
	}
}

void free_workers(server *s)
{
	for (unsigned i = 0; s->workers && i < s->workers_count; i++) {
		worker *w = &s->workers[i];
		if (w->aio) {
			/* A reply attached after the aio was stopped was never sent, nor freed. */
			nng_msg *unsent = nng_aio_get_msg(w->aio);
			if (unsent)
				nng_msg_free(unsent);
			nng_aio_free(w->aio);
		}
		worker_reset(w);
	}
	free(s->workers);
}

/* nng 1.5.2 (Debian 12) can hang in nng_close on a socket that served under load: a race in
 * its ipc transport (ipc_pipe_recv_cb re-arms a receive on a pipe being closed, so rep0's
 * pipe stop waits forever; found with gdb by the crash test). Everything is durable and
 * answered by then, so
 * the sockets are closed on a thread of their own and waited for at most SOCKET_CLOSE_WAIT_S;
 * past that, ledgerd exits anyway (the kernel closes the descriptors). */

typedef struct closer {
	nng_socket rep, pub;
	pthread_mutex_t lock;
	pthread_cond_t done_cv;
	bool done;
} closer;

static void *closer_main(void *arg)
{
	closer *c = arg;
	nng_close(c->rep);
	nng_close(c->pub);
	api_wake(&c->lock, &c->done_cv, &c->done);
	return NULL;
}

/* Returns true if the sockets closed in time. A closer left hanging stays reachable
 * (static), as do the workers it may still touch. */
bool close_sockets(server *s)
{
	static closer c = {.lock = PTHREAD_MUTEX_INITIALIZER, .done_cv = PTHREAD_COND_INITIALIZER};
	c.rep = s->rep;
	c.pub = s->pub;
	pthread_t thread;
	if (pthread_create(&thread, NULL, closer_main, &c) != 0) {
		closer_main(&c);
		return true;
	}
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += SOCKET_CLOSE_WAIT_S;
	pthread_mutex_lock(&c.lock);
	while (!c.done && pthread_cond_timedwait(&c.done_cv, &c.lock, &until) == 0)
		;
	bool done = c.done;
	pthread_mutex_unlock(&c.lock);
	if (done)
		pthread_join(thread, NULL);
	else
		pthread_detach(thread);
	return done;
}
