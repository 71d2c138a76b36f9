/*
 * listener_guard.h: ledgerd's listeners, and the thread that re-creates one nng stopped.
 *
 * nng 1.5.2 (Debian 12) has a defect (upstream issue #1518, fixed after 1.5.2): a peer that
 * closes its connection while the SP header is being exchanged makes the ipc transport
 * report NNG_ECLOSED to the listener's accept, which takes it for its own closing and never
 * accepts again. One bare connect-and-close on the ipc socket then stops every later ipc
 * request, and nng's poller spins on the unaccepted connection. The project carries no patch
 * of nng, so ledgerd watches for it: nng counts such an accept failure in the listener's
 * "other" statistic, and the guard, seeing that counter move, closes the listener and opens
 * it again on the same URL (nng removes and re-creates the ipc socket file). Not every "other"
 * error stops a listener (nng backs off 100 ms and accepts again after most of them), so the
 * guard first probes the ipc socket with a complete handshake, and re-creates the listener
 * only if it does not answer: re-creating closes the connections that listener accepted
 * (clients with api_client_retry_on_reset, ledgerctl among them, resend under the same
 * request id).
 *
 * Limits (docs/threat-model.md): a client that connects in the window between the failure
 * and the re-creation (at most API_LISTENER_CHECK_MS plus API_LISTENER_PROBE_MS) is refused or
 * reset and its nng dialer reconnects; a flood of such connections keeps re-creating the
 * listener, which costs ledgerd little but slows other local clients' connects.
 */
#ifndef API_LISTENER_GUARD_H
#define API_LISTENER_GUARD_H

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* How often the guard reads the listeners' statistics. */
#define API_LISTENER_CHECK_MS 100
/* How long a listener whose accept failed has to answer a probe's handshake before it is
 * taken as stopped and re-created. */
#define API_LISTENER_PROBE_MS      1000
#define API_LISTENERS_MAX          8 /* the --listen URLs and the --pub URL */
#define API_LISTENER_URL_BYTES_MAX 4200

typedef struct api_listener {
	nng_socket sock;
	nng_listener listener;
	nng_tls_config *tls; /* held (nng_tls_config_hold) for re-creation; NULL without TLS */
	char url[API_LISTENER_URL_BYTES_MAX];
	uint64_t other_errors_seen; /* the "other" statistic when last checked */
} api_listener;

typedef struct api_listener_guard {
	api_listener listeners[API_LISTENERS_MAX];
	unsigned count;
	uint64_t recreated; /* listeners re-created since start (for the log and tests) */
	pthread_t thread;
	bool started, stop;
	pthread_mutex_t lock;
	pthread_cond_t wake;
} api_listener_guard;

/* Creates and starts a listener of sock on url (with tls for tls+tcp:// URLs) and records it.
 * Returns 0 or an nng error. */
int api_listener_open(api_listener_guard *g, nng_socket sock, const char *url, nng_tls_config *tls);

/* Starts the guard thread over the listeners opened so far. False if it cannot start. */
bool api_listener_guard_start(api_listener_guard *g);

/* Stops the guard thread (if started) and releases the TLS references it held. The
 * listeners themselves are closed with their sockets. */
void api_listener_guard_stop(api_listener_guard *g);

#endif
