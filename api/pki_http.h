/*
 * pki_http.h: ledgerd's HTTP endpoint for its PKI (docs/operations.md#pki): the OCSP responder
 * (RFC 6960 appendix A: POST <url>/ocsp and GET <url>/ocsp/<base64 request>), each CA's CRL
 * (GET <url>/crl/<ca>.crl, <ca> root, persons, seals or tsa; <url>/crl: the root's) and
 * certificate (GET <url>/ca/<ca>.crt; <url>/ca.crt: the root's), at the URL that ledgerd init wrote in
 * the data directory and that the certificates the CA issues point to.
 *
 * The work (signing an OCSP response, making a CRL) runs on the endpoint's own thread, never on
 * nng's callback threads that the RPC workers share: a flood of OCSP requests slows OCSP, not
 * signatures. Requests wait in a queue of API_PKI_QUEUE_MAX; past it they are answered 503 at
 * once. Bodies over API_PKI_BODY_BYTES_MAX are refused by nng (413) before they are read.
 */
#ifndef API_PKI_HTTP_H
#define API_PKI_HTTP_H

#include "signer.h"

#include <stdbool.h>
#include <stdint.h>

#define API_PKI_URL_DEFAULT      "http://127.0.0.1:8079"
#define API_PKI_URL_FILE         "pki-url" /* in the data directory: the URL and a line break, 0644 */
#define API_PKI_BODY_BYTES_MAX   SIGNER_OCSP_REQUEST_BYTES_MAX /* a POSTed OCSP request: 16 KiB */
#define API_PKI_QUEUE_MAX        64u                           /* requests waiting for the endpoint's thread */
#define API_PKI_DRAIN_MS         250  /* stop: for nng to write the answers given while stopping */
#define API_PKI_CRL_CACHE_S      60   /* a CRL is served at most this long, and never past a revocation */
#define API_PKI_LISTEN_BYTES_MAX 128u /* --pki-listen HOST:PORT */

/* Writes url (checked by signer_pki_url_check) as data_dir's PKI URL, created exclusively.
 * False with *why on failure. */
bool api_pki_url_write(const char *data_dir, const char *url, const char **why);

/* The platform's organizationIdentifier (ETSI EN 319 412-1) that ledgerd init was given for the
 * CAs' names: written by init, created exclusively; read at the first serve, which makes the root
 * (SIGNER_ORGANIZATION_IDENTIFIER_DEFAULT when the file is absent). False with *why for a value
 * signer_organization_identifier_check() refuses or a file that cannot be read. */
#define API_ORGANIZATION_IDENTIFIER_FILE "organization-identifier" /* in the data directory, 0644 */
bool api_organization_identifier_write(const char *data_dir, const char *identifier, const char **why);
bool api_organization_identifier_read(const char *data_dir,
                                      char identifier[SIGNER_ORGANIZATION_IDENTIFIER_BYTES_MAX + 1], const char **why);

/* data_dir's PKI URL into url: the file's, or API_PKI_URL_DEFAULT for a data directory made
 * before the file existed. False with *why for a file that cannot be read or holds a bad URL. */
bool api_pki_url_read(const char *data_dir, char url[SIGNER_PKI_URL_BYTES_MAX + 1], const char **why);

/* Checks a --pki-listen address: HOST:PORT, HOST an IPv4 address or a name. */
bool api_pki_listen_check(const char *listen);

typedef struct api_pki_http api_pki_http;

/*
 * Serves ca's PKI under the path of pki_url, listening on listen (HOST:PORT) or, NULL, on
 * pki_url's host and port; dates its answers by clock_us(clock_ctx). ca must have its OCSP
 * responder enabled and outlive the endpoint. Logs one line per request on stderr ("ledgerd:
 * pki: ..."). NULL with *why if it cannot listen or start.
 */
api_pki_http *api_pki_http_start(const signer_ca *ca, const char *pki_url, const char *listen,
                                 int64_t (*clock_us)(void *), void *clock_ctx, const char **why);

/* Answers every queued request, gives nng API_PKI_DRAIN_MS to write those answers, stops
 * listening and frees the endpoint. NULL is a no-op. */
void api_pki_http_stop(api_pki_http *pki);
/* How many requests wait in the queue now (not counting the one being answered). */
size_t api_pki_http_waiting(api_pki_http *pki);

#endif
