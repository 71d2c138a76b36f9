/*
 * pki_http.c: see pki_http.h. One nng HTTP server, five handlers that only copy what they need
 * and queue it, and one thread that answers: OCSP from signer_ocsp_respond, each CA's CRL from a
 * cache of its own that is remade after API_PKI_CRL_CACHE_S or as soon as one more certificate is
 * revoked.
 */
#include "pki_http.h"

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>
#include <nng/supplemental/http/http.h>
#include <sodium.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CA_DER_BYTES_MAX SIGNER_CERT_DER_BYTES_MAX
#define PATH_BYTES_MAX   (SIGNER_PKI_URL_BYTES_MAX + 16u)

typedef enum { ROUTE_OCSP_POST, ROUTE_OCSP_GET, ROUTE_CRL, ROUTE_CA } route;

/* Which CA a CRL or certificate request names: the root, or an issuing CA (signer_issuing). */
#define ROOT_CA   ((int)SIGNER_ISSUING_CAS)
#define CAS_COUNT (SIGNER_ISSUING_CAS + 1u)

typedef struct pki_job {
	nng_aio *aio;
	route what;
	int ca;        /* ROUTE_CRL, ROUTE_CA: an issuing CA, or ROOT_CA */
	uint8_t *body; /* an OCSP request (malloc'd), or NULL */
	size_t body_bytes;
	bool undecodable; /* a GET whose path is not base64: answered malformedRequest */
} pki_job;

struct api_pki_http {
	const signer_ca *ca;
	int64_t (*clock_us)(void *);
	void *clock_ctx;
	nng_http_server *server;
	char prefix[PATH_BYTES_MAX];                 /* the URL's path: "" or "/x/y" */
	uint8_t ca_der[CAS_COUNT][CA_DER_BYTES_MAX]; /* by CA; 0 bytes: none (no hierarchy) */
	size_t ca_der_bytes[CAS_COUNT];
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	bool answered_while_stopping; /* the thread answered requests after the stop began */
	pki_job queue[API_PKI_QUEUE_MAX];
	size_t head, count;
	/* the CRL last made of each CA (on the thread only) */
	uint8_t *crl[CAS_COUNT];
	size_t crl_bytes[CAS_COUNT], crl_revoked[CAS_COUNT];
	int64_t crl_made_s[CAS_COUNT];
};

/* ----- the data directory's URL ----- */

/* Writes text and a line break as data_dir's file, created exclusively, 0644. */
static bool line_write(const char *data_dir, const char *file, const char *text, const char **why)
{
	char path[4096], line[SIGNER_PKI_URL_BYTES_MAX + 2];
	int n = snprintf(line, sizeof line, "%s\n", text);
	if (n >= (int)sizeof line || snprintf(path, sizeof path, "%s/%s", data_dir, file) >= (int)sizeof path) {
		*why = "path too long";
		return false;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	bool ok = fd >= 0 && write(fd, line, (size_t)n) == n && fsync(fd) == 0;
	*why = ok ? NULL : strerror(errno);
	if (fd >= 0)
		close(fd);
	return ok;
}

bool api_pki_url_write(const char *data_dir, const char *url, const char **why)
{
	if (signer_pki_url_check(url) != SIGNER_OK) {
		*why = signer_last_error();
		return false;
	}
	return line_write(data_dir, API_PKI_URL_FILE, url, why);
}

bool api_organization_identifier_write(const char *data_dir, const char *identifier, const char **why)
{
	if (signer_organization_identifier_check(identifier) != SIGNER_OK) {
		*why = signer_last_error();
		return false;
	}
	return line_write(data_dir, API_ORGANIZATION_IDENTIFIER_FILE, identifier, why);
}

/* Reads data_dir's file, one line, into text (text_bytes: room for the longest value and two
 * bytes more, so that a longer one shows), its line break cut; *absent when there is none. */
static bool line_read(const char *data_dir, const char *file, char *text, size_t text_bytes, bool *absent,
                      const char **why)
{
	char path[4096];
	*absent = false;
	memset(text, 0, text_bytes);
	if (snprintf(path, sizeof path, "%s/%s", data_dir, file) >= (int)sizeof path) {
		*why = "path too long";
		return false;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		*absent = true;
		return true;
	}
	ssize_t n = fd >= 0 ? read(fd, text, text_bytes - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		*why = strerror(errno);
		return false;
	}
	if (n > 0 && text[n - 1] == '\n')
		text[--n] = '\0';
	return true;
}

bool api_organization_identifier_read(const char *data_dir,
                                      char identifier[SIGNER_ORGANIZATION_IDENTIFIER_BYTES_MAX + 1], const char **why)
{
	char text[SIGNER_ORGANIZATION_IDENTIFIER_BYTES_MAX + 3];
	bool absent;
	if (!line_read(data_dir, API_ORGANIZATION_IDENTIFIER_FILE, text, sizeof text, &absent, why))
		return false;
	if (absent) /* init was given none, or made the directory before the option */
		snprintf(text, sizeof text, "%s", SIGNER_ORGANIZATION_IDENTIFIER_DEFAULT);
	if (signer_organization_identifier_check(text) != SIGNER_OK) {
		*why = signer_last_error();
		return false;
	}
	memcpy(identifier, text, strlen(text) + 1); /* checked: at most the limit */
	return true;
}

bool api_pki_url_read(const char *data_dir, char url[SIGNER_PKI_URL_BYTES_MAX + 1], const char **why)
{
	char text[SIGNER_PKI_URL_BYTES_MAX + 3];
	bool absent;
	if (!line_read(data_dir, API_PKI_URL_FILE, text, sizeof text, &absent, why))
		return false;
	if (absent) /* a data directory made before the PKI endpoint */
		snprintf(text, sizeof text, "%s", API_PKI_URL_DEFAULT);
	size_t len = strlen(text);
	if (signer_pki_url_check(text) != SIGNER_OK || len > SIGNER_PKI_URL_BYTES_MAX) {
		*why = signer_last_error();
		return false;
	}
	memcpy(url, text, len + 1); /* checked: at most SIGNER_PKI_URL_BYTES_MAX bytes */
	return true;
}

bool api_pki_listen_check(const char *listen)
{
	const char *colon = listen ? strrchr(listen, ':') : NULL;
	if (!colon || colon == listen || strlen(listen) > API_PKI_LISTEN_BYTES_MAX)
		return false;
	for (const char *p = listen; p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '-'))
			return false;
	long port = 0;
	const char *p = colon + 1;
	for (; *p >= '0' && *p <= '9' && port <= 65535; p++)
		port = port * 10 + (*p - '0');
	return *p == '\0' && p > colon + 1 && port >= 1 && port <= 65535;
}

/* ----- replies ----- */

static void reply(nng_aio *aio, uint16_t status, const char *content_type, const uint8_t *body, size_t bytes)
{
	nng_http_res *res = NULL;
	int rv = status == NNG_HTTP_STATUS_OK ? nng_http_res_alloc(&res) : nng_http_res_alloc_error(&res, status);
	if (!rv && status == NNG_HTTP_STATUS_OK)
		rv = nng_http_res_set_header(res, "Content-Type", content_type);
	if (!rv && status == NNG_HTTP_STATUS_OK)
		rv = nng_http_res_copy_data(res, body, bytes);
	if (rv) {
		nng_http_res_free(res);
		nng_aio_finish(aio, rv);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

/* ----- the endpoint's thread ----- */

static void answer_ocsp(api_pki_http *pki, pki_job *job, int64_t now_s)
{
	uint8_t *der = NULL;
	size_t bytes = 0;
	signer_ocsp_answer answer = {0};
	/* a GET that is not base64 is a malformed request, answered as one */
	signer_err err = signer_ocsp_respond(pki->ca, job->undecodable ? NULL : job->body,
	                                     job->undecodable ? 0 : job->body_bytes, now_s, &der, &bytes, &answer);
	const char *how = job->what == ROUTE_OCSP_POST ? "POST" : "GET";
	if (err) {
		fprintf(stderr, "ledgerd: pki: OCSP request (%s): %s (%s)\n", how, signer_strerror(err),
		        signer_last_error());
		reply(job->aio, NNG_HTTP_STATUS_INTERNAL_SERVER_ERROR, NULL, NULL, 0);
		return;
	}
	if (answer.malformed)
		fprintf(stderr, "ledgerd: pki: OCSP request (%s): malformed\n", how);
	else
		fprintf(stderr, "ledgerd: pki: OCSP request (%s): %u good, %u revoked, %u unknown\n", how, answer.good,
		        answer.revoked, answer.unknown);
	reply(job->aio, NNG_HTTP_STATUS_OK, "application/ocsp-response", der, bytes);
	free(der);
}

static void answer_crl(api_pki_http *pki, pki_job *job, int64_t now_s)
{
	size_t revoked = signer_ca_revoked_count(pki->ca);
	int c = job->ca;
	if (!pki->crl[c] || now_s - pki->crl_made_s[c] >= API_PKI_CRL_CACHE_S || now_s < pki->crl_made_s[c] ||
	    revoked != pki->crl_revoked[c]) {
		uint8_t *der = NULL;
		size_t bytes = 0;
		signer_err err = c == ROOT_CA ? signer_ca_crl(pki->ca, now_s, &der, &bytes)
		                              : signer_issuing_crl(pki->ca, (signer_issuing)c, now_s, &der, &bytes);
		if (err) {
			fprintf(stderr, "ledgerd: pki: the CRL: %s (%s)\n", signer_strerror(err), signer_last_error());
			reply(job->aio, NNG_HTTP_STATUS_INTERNAL_SERVER_ERROR, NULL, NULL, 0);
			return;
		}
		free(pki->crl[c]);
		pki->crl[c] = der;
		pki->crl_bytes[c] = bytes;
		pki->crl_made_s[c] = now_s;
		pki->crl_revoked[c] = revoked;
	}
	fprintf(stderr, "ledgerd: pki: CRL request (%s)\n",
	        c == ROOT_CA ? "root" : signer_issuing_name((signer_issuing)c));
	reply(job->aio, NNG_HTTP_STATUS_OK, "application/pkix-crl", pki->crl[c], pki->crl_bytes[c]);
}

static void answer(api_pki_http *pki, pki_job *job)
{
	int64_t now_s = pki->clock_us(pki->clock_ctx) / 1000000;
	switch (job->what) {
	case ROUTE_OCSP_POST:
	case ROUTE_OCSP_GET: answer_ocsp(pki, job, now_s); break;
	case ROUTE_CRL: answer_crl(pki, job, now_s); break;
	case ROUTE_CA:
		reply(job->aio, NNG_HTTP_STATUS_OK, "application/pkix-cert", pki->ca_der[job->ca],
		      pki->ca_der_bytes[job->ca]);
		break;
	}
	free(job->body);
}

/* Answers queued requests until stopped with an empty queue. */
static void *pki_thread(void *arg)
{
	api_pki_http *pki = arg;
	pthread_mutex_lock(&pki->lock);
	for (;;) {
		while (pki->count == 0 && !pki->stopping)
			pthread_cond_wait(&pki->wake, &pki->lock);
		if (pki->count == 0)
			break;
		pki_job job = pki->queue[pki->head];
		pki->head = (pki->head + 1) % API_PKI_QUEUE_MAX;
		pki->count--;
		pthread_mutex_unlock(&pki->lock);
		answer(pki, &job);
		pthread_mutex_lock(&pki->lock);
		pki->answered_while_stopping |= pki->stopping;
	}
	pthread_mutex_unlock(&pki->lock);
	return NULL;
}

/* ----- the handlers (nng's threads): copy, queue, return ----- */

/* Queues job; a full queue or a stopping endpoint answers 503 at once. */
static void enqueue(api_pki_http *pki, pki_job *job)
{
	pthread_mutex_lock(&pki->lock);
	bool queued = !pki->stopping && pki->count < API_PKI_QUEUE_MAX;
	if (queued) {
		pki->queue[(pki->head + pki->count) % API_PKI_QUEUE_MAX] = *job;
		pki->count++;
		pthread_cond_signal(&pki->wake);
	}
	pthread_mutex_unlock(&pki->lock);
	if (!queued) {
		free(job->body);
		reply(job->aio, NNG_HTTP_STATUS_SERVICE_UNAVAILABLE, NULL, NULL, 0);
	}
}

static api_pki_http *handler_pki(nng_aio *aio)
{
	return nng_http_handler_get_data(nng_aio_get_input(aio, 1));
}

static void on_ocsp_post(nng_aio *aio)
{
	nng_http_req *req = nng_aio_get_input(aio, 0);
	const char *type = nng_http_req_get_header(req, "Content-Type");
	if (!type || strcmp(type, "application/ocsp-request") != 0) {
		reply(aio, NNG_HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE, NULL, NULL, 0);
		return;
	}
	void *body = NULL;
	size_t bytes = 0;
	nng_http_req_get_data(req, &body, &bytes);
	pki_job job = {.aio = aio, .what = ROUTE_OCSP_POST, .body_bytes = bytes};
	if (bytes > API_PKI_BODY_BYTES_MAX) {
		reply(aio, NNG_HTTP_STATUS_PAYLOAD_TOO_LARGE, NULL, NULL, 0);
		return;
	}
	if (bytes && !(job.body = malloc(bytes))) {
		reply(aio, NNG_HTTP_STATUS_SERVICE_UNAVAILABLE, NULL, NULL, 0);
		return;
	}
	if (bytes)
		memcpy(job.body, body, bytes);
	enqueue(handler_pki(aio), &job);
}

static int hex_value(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

/* RFC 6960 A.1: GET {url}/{url-encoding of base-64 encoding of the DER OCSPRequest}. */
static void on_ocsp_get(nng_aio *aio)
{
	api_pki_http *pki = handler_pki(aio);
	const char *uri = nng_http_req_get_uri(nng_aio_get_input(aio, 0));
	size_t skip = strlen(pki->prefix) + strlen("/ocsp/");
	pki_job job = {.aio = aio, .what = ROUTE_OCSP_GET};
	size_t n = strlen(uri);
	char *text = n > skip ? malloc(n - skip + 1) : NULL;
	size_t t = 0;
	bool ok = text != NULL;
	for (size_t i = skip; ok && i < n && uri[i] != '?'; i++) {
		if (uri[i] != '%') {
			text[t++] = uri[i];
			continue;
		}
		int hi = i + 2 < n ? hex_value(uri[i + 1]) : -1, lo = i + 2 < n ? hex_value(uri[i + 2]) : -1;
		ok = hi >= 0 && lo >= 0;
		text[t++] = (char)(hi * 16 + lo);
		i += 2;
	}
	size_t cap = t / 4 * 3 + 3;
	job.body = ok && t ? malloc(cap) : NULL;
	job.undecodable = !job.body || sodium_base642bin(job.body, cap, text, t, NULL, &job.body_bytes, NULL,
	                                                 sodium_base64_VARIANT_ORIGINAL) != 0;
	free(text);
	enqueue(pki, &job);
}

/* The CA that the rest of a request's path names ("/<name><suffix>", "root" or an issuing CA's
 * name), or -1; "" names the root (the paths of a PKI without the hierarchy: /crl, /ca.crt). */
static int ca_named(const api_pki_http *pki, const char *rest, const char *suffix)
{
	size_t n = strcspn(rest, "?");
	if (n == 0)
		return ROOT_CA;
	for (int c = 0; c <= ROOT_CA; c++) {
		const char *name = c == ROOT_CA ? "root" : signer_issuing_name((signer_issuing)c);
		size_t name_bytes = strlen(name), suffix_bytes = strlen(suffix);
		if (n == 1 + name_bytes + suffix_bytes && rest[0] == '/' && strncmp(rest + 1, name, name_bytes) == 0 &&
		    strncmp(rest + 1 + name_bytes, suffix, suffix_bytes) == 0)
			return pki->ca_der_bytes[c] ? c : -1;
	}
	return -1;
}

/* GET <url>/crl (the root's), <url>/crl/<name>.crl. */
static void on_crl(nng_aio *aio)
{
	api_pki_http *pki = handler_pki(aio);
	const char *uri = nng_http_req_get_uri(nng_aio_get_input(aio, 0));
	int ca = ca_named(pki, uri + strlen(pki->prefix) + strlen("/crl"), ".crl");
	if (ca < 0)
		reply(aio, NNG_HTTP_STATUS_NOT_FOUND, NULL, NULL, 0);
	else
		enqueue(pki, &(pki_job){.aio = aio, .what = ROUTE_CRL, .ca = ca});
}

/* GET <url>/ca.crt (the root's), <url>/ca/<name>.crt. */
static void on_ca(nng_aio *aio)
{
	api_pki_http *pki = handler_pki(aio);
	const char *uri = nng_http_req_get_uri(nng_aio_get_input(aio, 0)) + strlen(pki->prefix);
	bool single = strncmp(uri, "/ca.crt", strlen("/ca.crt")) == 0;
	const char *rest = uri + strlen(single ? "/ca.crt" : "/ca");
	/* <url>/ca.crt is the root's; <url>/ca alone names no CA */
	int ca = single ? ca_named(pki, rest, "") : *rest && *rest != '?' ? ca_named(pki, rest, ".crt") : -1;
	if (ca < 0)
		reply(aio, NNG_HTTP_STATUS_NOT_FOUND, NULL, NULL, 0);
	else
		enqueue(pki, &(pki_job){.aio = aio, .what = ROUTE_CA, .ca = ca});
}

/* The CAs' certificates into pki->ca_der: the root's, and the issuing CAs' when there are. */
static bool certificates_load(api_pki_http *pki)
{
	if (signer_ca_certificate(pki->ca, pki->ca_der[ROOT_CA], CA_DER_BYTES_MAX, &pki->ca_der_bytes[ROOT_CA]))
		return false;
	for (int c = 0; c < ROOT_CA; c++) {
		signer_err err = signer_issuing_certificate(pki->ca, (signer_issuing)c, pki->ca_der[c],
		                                            CA_DER_BYTES_MAX, &pki->ca_der_bytes[c]);
		if (err && err != SIGNER_ERR_NOT_FOUND)
			return false;
	}
	return true;
}

/* ----- start and stop ----- */

static int handler_add(api_pki_http *pki, const char *path, void (*cb)(nng_aio *), const char *method, bool tree)
{
	char full[PATH_BYTES_MAX];
	snprintf(full, sizeof full, "%s%s", pki->prefix, path);
	nng_http_handler *h = NULL;
	int rv = nng_http_handler_alloc(&h, full, cb);
	if (!rv)
		rv = nng_http_handler_set_method(h, method);
	if (!rv)
		rv = nng_http_handler_collect_body(h, strcmp(method, "POST") == 0, API_PKI_BODY_BYTES_MAX);
	if (!rv && tree)
		rv = nng_http_handler_set_tree(h);
	if (!rv)
		rv = nng_http_handler_set_data(h, pki, NULL);
	if (!rv)
		rv = nng_http_server_add_handler(pki->server, h);
	if (rv && h)
		nng_http_handler_free(h);
	return rv;
}

/* The URL nng listens on: http://listen, or pki_url without its path (its path into prefix). */
static bool listen_url(const char *pki_url, const char *listen, char *out, size_t out_bytes, char *prefix)
{
	const char *host = pki_url + strlen("http://"), *path = strchr(host, '/');
	snprintf(prefix, PATH_BYTES_MAX, "%s", path ? path : "");
	if (listen)
		return snprintf(out, out_bytes, "http://%s", listen) < (int)out_bytes;
	return snprintf(out, out_bytes, "http://%.*s", (int)(path ? (size_t)(path - host) : strlen(host)), host) <
	       (int)out_bytes;
}

api_pki_http *api_pki_http_start(const signer_ca *ca, const char *pki_url, const char *listen,
                                 int64_t (*clock_us)(void *), void *clock_ctx, const char **why)
{
	api_pki_http *pki = calloc(1, sizeof *pki);
	char url_text[SIGNER_PKI_URL_BYTES_MAX + API_PKI_LISTEN_BYTES_MAX + 16];
	nng_url *url = NULL;
	*why = NULL;
	if (!pki) {
		*why = "out of memory";
		return NULL;
	}
	pki->ca = ca;
	pki->clock_us = clock_us;
	pki->clock_ctx = clock_ctx;
	pthread_mutex_init(&pki->lock, NULL);
	pthread_cond_init(&pki->wake, NULL);
	if (signer_pki_url_check(pki_url) != SIGNER_OK || (listen && !api_pki_listen_check(listen)) ||
	    !listen_url(pki_url, listen, url_text, sizeof url_text, pki->prefix))
		*why = "a bad PKI URL or listen address";
	else if (!certificates_load(pki))
		*why = signer_last_error();
	int rv = *why ? 0 : nng_url_parse(&url, url_text);
	if (!*why && !rv)
		rv = nng_http_server_hold(&pki->server, url);
	if (!*why && !rv)
		rv = handler_add(pki, "/ocsp", on_ocsp_post, "POST", false);
	if (!*why && !rv)
		rv = handler_add(pki, "/ocsp", on_ocsp_get, "GET", true);
	if (!*why && !rv)
		rv = handler_add(pki, "/crl", on_crl, "GET", true);
	if (!*why && !rv)
		rv = handler_add(pki, "/ca.crt", on_ca, "GET", false);
	if (!*why && !rv)
		rv = handler_add(pki, "/ca", on_ca, "GET", true);
	if (!*why && !rv && (rv = pthread_create(&pki->thread, NULL, pki_thread, pki)) == 0)
		pki->thread_started = true;
	if (!*why && !rv)
		rv = nng_http_server_start(pki->server);
	if (url)
		nng_url_free(url);
	if (!*why && rv)
		*why = nng_strerror(rv);
	if (*why) {
		api_pki_http_stop(pki);
		return NULL;
	}
	return pki;
}

size_t api_pki_http_waiting(api_pki_http *pki)
{
	pthread_mutex_lock(&pki->lock);
	size_t n = pki->count;
	pthread_mutex_unlock(&pki->lock);
	return n;
}

void api_pki_http_stop(api_pki_http *pki)
{
	if (!pki)
		return;
	pthread_mutex_lock(&pki->lock);
	pki->stopping = true; /* from now on, 503 */
	pthread_cond_broadcast(&pki->wake);
	pthread_mutex_unlock(&pki->lock);
	if (pki->thread_started)
		pthread_join(pki->thread, NULL); /* it answers what is queued first */
	/* nng writes those answers on its own threads, and stopping the server closes every
	 * connection, written or not: there is no call that waits for the writes, so they get a
	 * bounded while (API_PKI_DRAIN_MS) to go out */
	if (pki->answered_while_stopping)
		nng_msleep(API_PKI_DRAIN_MS);
	if (pki->server) {
		nng_http_server_stop(pki->server);
		nng_http_server_release(pki->server);
	}
	pthread_cond_destroy(&pki->wake);
	pthread_mutex_destroy(&pki->lock);
	for (size_t c = 0; c < CAS_COUNT; c++)
		free(pki->crl[c]);
	free(pki);
}
