/*
 * server.c: ledgerd's service loop, its lifecycle: open (keys, store, committer, signer,
 * expirer, sockets), serve until SIGTERM or SIGINT, drain (every queued command committed and
 * answered, then close). The other concerns are in the files listed in server_internal.h.
 *
 * A rep0 socket with `workers` nng contexts, each an asynchronous state machine (receive ->
 * handle -> send), so many clients are served at once. A request is decoded, its token
 * verified, then:
 *   - a query runs at once in a read transaction, on the nng callback thread;
 *   - a command becomes a ledger_job handed to the group committer; the reply is sent from
 *     the job's done() callback, i.e. only after the batch holding its events is durable.
 * After each durable batch, its records are published on a pub0 socket, topic per firm.
 */
#include "server_internal.h"
#include "tlog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

int64_t api_clock_us(const char *path)
{
	if (!path) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	}
#ifndef LEDGER_TEST_CLOCK
	return -1;
#else
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char text[64] = {0};
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	struct tm tm = {0};
	char *end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end)
		return -1;
	return (int64_t)timegm(&tm) * 1000000;
#endif
}

int64_t server_clock(void *ctx)
{
#ifdef LEDGER_TEST_CLOCK
	server *s = ctx;
	int64_t now = api_clock_us(s->o->clock_file);
	return now < 0 ? api_clock_us(NULL) : now;
#else
	(void)ctx;
	return api_clock_us(NULL);
#endif
}

/* ----- lifecycle ----- */

static int server_open_services(server *s, const char *abs_dir);
static void pki_start(server *s, const char *abs_dir);

bool api_signer_ca(const char *data_dir, int64_t now_s, int64_t tsa_renew_margin_s, signer_ca **out)
{
	char keys[PATH_MAX];
	if (snprintf(keys, sizeof keys, "%s/keys", data_dir) >= (int)sizeof keys)
		return false;
	char pki_url[SIGNER_PKI_URL_BYTES_MAX + 1];
	const char *why;
	if (!api_pki_url_read(data_dir, pki_url, &why)) {
		fprintf(stderr, "ledgerd: %s/%s: %s\n", data_dir, API_PKI_URL_FILE, why);
		return false;
	}
	char organization_identifier[SIGNER_ORGANIZATION_IDENTIFIER_BYTES_MAX + 1];
	if (!api_organization_identifier_read(data_dir, organization_identifier, &why)) {
		fprintf(stderr, "ledgerd: %s/%s: %s\n", data_dir, API_ORGANIZATION_IDENTIFIER_FILE, why);
		return false;
	}
	/* The token's signer process first: from then on this process never opens the token itself
	 * (docs/signer.md#the-signer-process). None for keys that are PEM files (no token). */
	signer_err err = signer_process_start(keys);
	if (err == SIGNER_ERR_NOT_FOUND)
		err = SIGNER_OK;
	else if (!err)
		fprintf(stderr, "ledgerd: signer process %ld holds the token\n", signer_process_pid());
	/* the root, made at the first start (or in a store created before the signer existed) */
	if (!err)
		err = signer_ca_open(keys, out);
	if (err == SIGNER_ERR_NOT_FOUND && (err = signer_ca_init_as(keys, now_s, organization_identifier)) == SIGNER_OK)
		err = signer_ca_open(keys, out);
	/* before the issuing CAs and the units: issued the first time, they point to the PKI URL too */
	if (!err && ((err = signer_ca_set_pki_url(*out, pki_url)) != SIGNER_OK ||
	             (err = signer_hierarchy_enable(*out, keys, now_s)) != SIGNER_OK ||
	             (err = signer_tsa_set_renew_margin(*out, tsa_renew_margin_s)) != SIGNER_OK)) {
		signer_ca_free(*out);
		*out = NULL;
	}
	if (!err && ((err = signer_tsa_enable(*out, keys, now_s)) != SIGNER_OK ||
	             (err = signer_ocsp_enable(*out, keys, now_s)) != SIGNER_OK)) {
		signer_ca_free(*out);
		*out = NULL;
	}
	char in_names[SIGNER_ORGANIZATION_IDENTIFIER_BYTES_MAX + 1];
	if (!err)
		signer_ca_organization_identifier(*out, in_names);
	if (!err && strcmp(in_names, SIGNER_ORGANIZATION_IDENTIFIER_DEFAULT) == 0)
		fprintf(stderr,
		        "ledgerd: warning: the CAs' and units' names carry the placeholder organizationIdentifier %s, "
		        "not the platform's NTRFR-<SIREN>: set it with ledgerd init --organization-identifier, before "
		        "the first start; a root made already keeps its own (docs/operations.md)\n",
		        in_names);
	if (err)
		fprintf(stderr, "ledgerd: %s: the signer's CA: %s (%s)\n", keys, signer_strerror(err),
		        signer_last_error());
	return err == SIGNER_OK;
}

static int lock_data_dir(const char *dir)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/ledgerd.lock", dir) >= (int)sizeof path) {
		fprintf(stderr, "ledgerd: %s: path too long\n", dir);
		return -1;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr, "ledgerd: %s is already served by another ledgerd (lock %s held)\n", dir, path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || write(fd, pid, (size_t)n) != n)
		fprintf(stderr, "ledgerd: warning: cannot write the pid into %s\n", path);
	return fd;
}

/*
 * Opens everything serve needs, in dependency order: keys, the directory lock, the store's walk
 * (a forked child: before any thread), the signer's CA and its token, TLS (before the store, so a bad certificate stops
 * ledgerd at once), the store, the committer, the personal-data key, the signer's thread, the expirer, the sockets and
 * the workers. The CA comes before any thread starts (nng's with TLS, the committer): opening its token the first time
 * sets SOFTHSM2_CONF, and setenv() beside a thread's getenv() is a race (pkcs11_token.c refuses it). Returns 0, or 1
 * (API_EXIT_STORE_DAMAGED for a damaged store) with the reason printed; whatever was opened is released by
 * server_drain.
 */
static int server_open(server *s, const char *abs_dir, const sigset_t *signals)
{
	const api_server_options *o = s->o;
	const char *why;
	if (!api_key_load(abs_dir, "idp.pk", s->idp_pk, sizeof s->idp_pk, &why)) {
		fprintf(stderr, "ledgerd: %s/keys/idp.pk: %s\n", abs_dir, why);
		return 1;
	}
	s->lock_fd = lock_data_dir(abs_dir);
	if (s->lock_fd < 0)
		return 1;
	/* The store is walked by a forked child (store_check.c): before any thread exists, so the
	 * child cannot inherit a lock another thread held at fork (an allocator's, say) and hang. */
	char data_file[PATH_MAX + 16];
	int n = snprintf(data_file, sizeof data_file, "%s/data.mdb", abs_dir);
	bool exists = n > 0 && (size_t)n < sizeof data_file && access(data_file, F_OK) == 0;
	ledger_err checked = exists ? ledger_store_check(abs_dir) : LEDGER_OK; /* none: ledger_open says init */
	if (checked) {
		fprintf(stderr, "ledgerd: %s\n", ledger_last_error());
		return checked == LEDGER_ERR_CORRUPT ? API_EXIT_STORE_DAMAGED : 1;
	}
	int64_t tsa_renew_margin_s = o->tsa_renew_days_set ? o->tsa_renew_days * 86400LL : SIGNER_TSA_RENEW_MARGIN_S;
	if (!api_signer_ca(abs_dir, server_clock(s) / 1000000, tsa_renew_margin_s, &s->ca))
		return 1;
	nng_tls_config *tls;
	if (!tls_config(o, &tls))
		return 1;
	/* Signals are taken by sigwait in server_serve: block them before any thread starts. */
	pthread_sigmask(SIG_BLOCK, signals, NULL);
	s->log_key = calloc(1, sizeof *s->log_key);
	if (!s->log_key || !api_log_key_load(abs_dir, s->log_key, &why)) {
		fprintf(stderr, "ledgerd: %s/keys: %s\n", abs_dir, s->log_key ? why : "out of memory");
		if (tls)
			nng_tls_config_free(tls);
		return 1;
	}
	s->witnesses = calloc(API_WITNESSES_MAX, sizeof *s->witnesses);
	if (!s->witnesses || !witness_keys_load(s)) {
		if (!s->witnesses)
			fprintf(stderr, "ledgerd: out of memory\n");
		if (tls)
			nng_tls_config_free(tls);
		return 1;
	}
	ledger_options lo = {.map_bytes_initial = o->map_bytes_initial,
	                     .map_bytes_max = o->map_bytes_max,
	                     .checkpoint_signer = s->log_key,
	                     .skip_store_check = true}; /* walked above, before any thread */
	ledger_err err = ledger_open(abs_dir, &lo, &s->l);
	if (err) {
		fprintf(stderr, "ledgerd: %s\n", ledger_last_error());
		if (tls)
			nng_tls_config_free(tls);
		return err == LEDGER_ERR_CORRUPT ? API_EXIT_STORE_DAMAGED : 1;
	}
	s->tokens = api_token_cache_new(); /* without it (no memory), every token is verified */
	s->document_bytes_max = o->document_bytes_max ? o->document_bytes_max : API_DOCUMENT_BYTES_DEFAULT;
	s->request_bytes_max = s->document_bytes_max + API_ENVELOPE_BYTES_MAX;
	if (s->request_bytes_max < API_REQUEST_BYTES_MAX)
		s->request_bytes_max = API_REQUEST_BYTES_MAX;
	int rc = server_open_services(s, abs_dir);
	int opened = rc == 0 ? open_sockets(s, abs_dir, tls) : -1;
	if (tls)
		nng_tls_config_free(tls); /* each listener holds its own reference */
	if (opened != 0 || start_workers(s) != 0)
		return 1;
	return 0;
}

/* The threads behind the sockets: committer, signer, expirer (the CA is open already). */
static int server_open_services(server *s, const char *abs_dir)
{
	const char *why;
	ledger_committer_options co = {
	    .clock_us = server_clock, .clock_ctx = s, .committed = server_publish, .committed_ctx = s};
	ledger_err err;
	uint64_t replay_hash_seed;
	randombytes_buf(&replay_hash_seed, sizeof replay_hash_seed);
	if ((err = proj_open(s->l, replay_hash_seed, &s->p))) {
		fprintf(stderr, "ledgerd: %s: %s\n", ledger_strerror(err), ledger_last_error());
		return 1;
	}
	/* The authorities' keys and the platform's seal on record, before anything else writes. */
	if (!api_keys_on_record(s->l, s->p, s->ca, server_clock(s), &s->platform_seal))
		return 1;
	if ((err = ledger_committer_start(s->l, &co, &s->committer))) {
		fprintf(stderr, "ledgerd: %s: %s\n", ledger_strerror(err), ledger_last_error());
		return 1;
	}
	uint8_t personal[PROJ_PERSONAL_KEY_BYTES];
	if (!api_personal_key(abs_dir, personal, &why)) {
		fprintf(stderr, "ledgerd: %s/keys/personal.key: %s\n", abs_dir, why);
		return 1;
	}
	proj_set_personal_key(s->p, personal, randombytes_buf);
	sodium_memzero(personal, sizeof personal);
	if (!api_revocations_sync(s->l, s->p, s->ca) || /* the CRL and OCSP say what the log says */
	    !api_unrecorded_keys_destroy(s->l, s->p, s->ca)) {
		fprintf(stderr, "ledgerd: cannot read the revoked certificates or list the kept keys\n");
		return 1;
	}
	/* An external time-stamping authority: its anchors are read now, nothing is sent yet. */
	const api_server_options *opt = s->o;
	signer_err tsa_err = SIGNER_OK;
	if (opt->tsa_url &&
	    (tsa_err = signer_tsa_remote_new(opt->tsa_url, opt->tsa_ca_file,
	                                     opt->tsa_tolerance_s ? opt->tsa_tolerance_s : API_TSA_TOLERANCE_S_DEFAULT,
	                                     opt->tsa_timeout_ms ? opt->tsa_timeout_ms : API_TSA_TIMEOUT_MS_DEFAULT,
	                                     &s->tsa)) != SIGNER_OK) {
		fprintf(stderr, "ledgerd: --tsa-url %s: %s (%s)\n", opt->tsa_url, signer_strerror(tsa_err),
		        signer_last_error());
		return 1;
	}
	if (s->tsa) { /* its revocation data, fetched again at each signature: say now what there is */
		signer_tsa_crls crls;
		tsa_err = signer_tsa_remote_crls(s->tsa, &crls);
		if (tsa_err)
			fprintf(stderr,
			        "ledgerd: the time-stamping authority's revocation data: none (%s); a /DSS holds its "
			        "certificates only\n",
			        signer_last_error());
		else
			fprintf(
			    stderr,
			    "ledgerd: the time-stamping authority's revocation data: %zu CRL(s), put in every /DSS\n",
			    crls.count);
		signer_tsa_crls_free(&crls);
	}
	api_signing_options so = {.l = s->l,
	                          .p = s->p,
	                          .committer = s->committer,
	                          .ca = s->ca,
	                          .tsa = s->tsa,
	                          .clock_us = server_clock,
	                          .clock_ctx = s,
	                          .document_bytes_max = SIGNER_PDF_BYTES_MAX,
	                          .revocations_stale = &s->revocations_stale};
	if (!(s->signing = api_signing_start(&so))) {
		fprintf(stderr, "ledgerd: cannot start the signer thread\n");
		return 1;
	}
	pki_start(s, abs_dir);
	return expirer_start(s) ? 0 : 1;
}

/* The PKI's HTTP endpoint (pki_http.h). One that cannot listen (its port taken, most often) is
 * said loudly but does not stop the service: signing goes on, and relying parties that cannot
 * reach the responder fall back on the CRL and OCSP responses each document's /DSS carries. */
static void pki_start(server *s, const char *abs_dir)
{
	char url[SIGNER_PKI_URL_BYTES_MAX + 1];
	const char *why = NULL;
	if (api_pki_url_read(abs_dir, url, &why))
		s->pki = api_pki_http_start(s->ca, url, s->o->pki_listen, server_clock, s, &why);
	if (s->pki)
		fprintf(stderr, "ledgerd: PKI endpoint %s (listening on %s)\n", url,
		        s->o->pki_listen ? s->o->pki_listen : url);
	else
		fprintf(stderr, "ledgerd: warning: the PKI endpoint (OCSP, CRL) is not served: %s\n", why);
}

/* Serves until SIGTERM or SIGINT; says so on stderr and on --ready-fd first. */
static void server_serve(server *s, const char *abs_dir, const sigset_t *signals)
{
	uint64_t head;
	ledger_head(s->l, &head, NULL);
	fprintf(stderr, "ledgerd: serving %s (head seq %llu, %u workers)\n", abs_dir, (unsigned long long)head,
	        s->workers_count);
	if (s->o->ready_fd >= 0) {
		if (write(s->o->ready_fd, "ready\n", 6) != 6)
			fprintf(stderr, "ledgerd: warning: cannot signal readiness\n");
		close(s->o->ready_fd);
	}
	int sig;
	sigwait(signals, &sig);
	fprintf(stderr, "ledgerd: %s received, draining\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* New requests are refused; queued commands are committed and answered; then everything
 * server_open opened is closed, in reverse order. Safe on a half-open server. */
static void server_drain(server *s)
{
	atomic_store(&s->stopping, true);
	expirer_stop(s);
	api_pki_http_stop(s->pki); /* before the CA it answers for */
	s->pki = NULL;
	api_signing_stop(s->signing); /* it commits through the committer: stop it first */
	s->signing = NULL;
	ledger_committer_stop(s->committer);
	/* Let the last replies leave before the socket closes (bounded: 2 s). */
	for (int waited_ms = 0; atomic_load(&s->in_flight) > 0 && waited_ms < 2000; waited_ms += 10)
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	api_listener_guard_stop(&s->listeners);
	stop_workers(s);
	static worker *leaked_workers; /* kept reachable if the close hangs */
	if (close_sockets(s)) {
		free_workers(s);
	} else {
		leaked_workers = s->workers;
		fprintf(stderr,
		        "ledgerd: warning: nng did not close the sockets within %d s (a known race of nng 1.5.2's "
		        "ipc transport); exiting anyway: every acknowledged command is durable\n",
		        SOCKET_CLOSE_WAIT_S);
	}
	(void)leaked_workers;
	ledger_committer_free(s->committer);
	signer_ca_free(s->ca);
	signer_process_stop(); /* after the CA, whose keys it signs for */
	signer_tsa_remote_free(s->tsa);
	proj_close(s->p);
	ledger_close(s->l);
	if (s->log_key) {
		tlog_signer_wipe(s->log_key);
		free(s->log_key);
	}
	free(s->witnesses);
	api_token_cache_free(s->tokens);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
}

int api_server_run(const api_server_options *o)
{
	server s = {.o = o, .lock_fd = -1};
	pthread_rwlock_init(&s.platform_seal_lock, NULL);
	atomic_init(&s.stopping, false);
	atomic_init(&s.in_flight, 0);
	char abs_dir[PATH_MAX];
	if (!realpath(o->data_dir, abs_dir)) {
		fprintf(stderr, "ledgerd: %s: %s\n", o->data_dir, strerror(errno));
		return 1;
	}
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	int rc = server_open(&s, abs_dir, &signals);
	if (rc == 0)
		server_serve(&s, abs_dir, &signals);
	server_drain(&s);
	pthread_rwlock_destroy(&s.platform_seal_lock);
	if (rc == 0)
		fprintf(stderr, "ledgerd: stopped cleanly\n");
	return rc;
}
