/* server.h: the request/reply service of ledgerd and its event publisher. */
#ifndef API_SERVER_H
#define API_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls.h"

typedef struct signer_ca signer_ca;

/* The least request limit: an imported list (5 MiB) and its envelope fit. The limit is the
 * document limit plus API_ENVELOPE_BYTES_MAX when that is more (docs/rpc.md#limits). */
#define API_REQUEST_BYTES_MAX  (6u * 1024u * 1024u)
#define API_ENVELOPE_BYTES_MAX (1024u * 1024u)
/* An uploaded PDF (ledgerd --document-max-bytes). */
#define API_DOCUMENT_BYTES_DEFAULT (10u * 1024u * 1024u)
/* Imported lists read at once (on nng's callback threads): the rest are answered UNAVAILABLE,
 * so imports never hold every callback thread. Only a firm's EC gets a list read at all. */
#define API_IMPORTS_PARSING_MAX 2u
/* A reply not taken by its peer within this time ends that peer's connection: a client that
 * sends and never reads would otherwise hold every worker (docs/threat-model.md). */
#define API_REPLY_SEND_TIMEOUT_MS 2000
#define API_DOCUMENT_BYTES_MAX    (64u * 1024u * 1024u)
/* Messages over API_TRANSPORT_FACTOR times the request limit are dropped by the transport with
 * the connection: nng cannot answer a message it refused to read. Between the two limits, a
 * typed REQUEST_TOO_LARGE. */
#define API_TRANSPORT_FACTOR      4u
#define API_TRANSPORT_BYTES_MAX   (API_TRANSPORT_FACTOR * API_REQUEST_BYTES_MAX)
#define API_LISTEN_URLS_COUNT_MAX 7                               /* --listen URLs of one ledgerd */
#define API_LISTEN_URLS_MAX       (API_LISTEN_URLS_COUNT_MAX + 1) /* with the NULL that ends them */
#define API_READY_FD_MAX          65535                           /* --ready-fd: a descriptor number, not a resource */
#define API_WORKERS_DEFAULT       128
#define API_WORKERS_MAX           1024
/* How often the expirer looks for passed expiry instants (and once at start). */
#define API_EXPIRY_INTERVAL_MS 1000

/* Witnesses ledgerd keeps cosignatures from (ledgerd serve --witness). */
#define API_WITNESSES_MAX 16
/* The largest evidence bundle a reply carries (clients take 64 MiB messages): a larger one is
 * made offline, by ledger-audit evidence. */
#define API_EVIDENCE_BYTES_MAX (60u * 1024u * 1024u)

typedef struct api_server_options {
	const char *data_dir;
	const char *listen[API_LISTEN_URLS_MAX]; /* NULL-terminated; empty: ipc://DIR/ledgerd.sock */
	const char *pub_url;                     /* NULL: ipc://DIR/ledgerd-events.sock */
	unsigned workers;                        /* concurrent requests in flight */
	size_t map_bytes_initial, map_bytes_max;
	const char *clock_file;    /* ledgerd-test-clock only: the time is read from this file */
	int ready_fd;              /* >= 0: "ready\n" is written there once serving */
	size_t document_bytes_max; /* 0: API_DOCUMENT_BYTES_DEFAULT */
	api_tls_options tls;       /* for every tls+tcp:// URL (listen and pub); unused without one */
	/* Witnesses whose cosignatures of checkpoints are kept: C2SP verifier key files (type 0x04),
	 * NULL-terminated. */
	const char *witness_files[API_WITNESSES_MAX + 1];
	/* An external RFC 3161 time-stamping authority instead of the CA's own (NULL: the CA's):
	 * its URL, the PEM file of the certificates its tokens must chain to, the largest gap
	 * allowed between its time and the service's clock, and how long one request may take. */
	const char *tsa_url, *tsa_ca_file;
	uint32_t tsa_tolerance_s; /* 0: API_TSA_TOLERANCE_S_DEFAULT */
	uint32_t tsa_timeout_ms;  /* 0: API_TSA_TIMEOUT_MS_DEFAULT */
	const char *pki_listen;   /* HOST:PORT the PKI endpoint binds, NULL: the PKI URL's (pki_http.h) */
	/* The own TSA's certificate is re-issued at start with fewer days left than this
	 * (tsa_renew_days_set; otherwise SIGNER_TSA_RENEW_MARGIN_S). */
	int32_t tsa_renew_days;
	bool tsa_renew_days_set;
} api_server_options;

#define API_TSA_RENEW_DAYS_MAX 1460

#define API_TSA_TOLERANCE_S_DEFAULT 60u
#define API_TSA_TIMEOUT_MS_DEFAULT  10000u

/* ledgerd's exit status when the store is refused as damaged (a page walk that crashed or
 * failed, a broken hash chain): a restart cannot help, a restore from a backup does
 * (docs/operations.md). Distinct so that a supervisor can stop restarting it. */
#define API_EXIT_STORE_DAMAGED 3

/* Serves until SIGTERM or SIGINT. Returns a process exit code: 0 after a clean stop,
 * API_EXIT_STORE_DAMAGED, or 1 on any other failure; errors go to stderr. */
int api_server_run(const api_server_options *options);

/* Opens the signer's root CA of data_dir/keys, creating it first if the store predates it, then its
 * hierarchy (made at the first start), pointing what it issues to data_dir's PKI URL (pki_http.h),
 * then its units, the TSA's certificate re-issued tsa_renew_margin_s before its end. Errors are
 * printed. */
bool api_signer_ca(const char *data_dir, int64_t now_s, int64_t tsa_renew_margin_s, signer_ca **out);

/* Reads the clock: the system clock if path is NULL. Only the test build (LEDGER_TEST_CLOCK,
 * the ledgerd-test-clock executable) reads a time "YYYY-MM-DDTHH:MM:SSZ" from a file; the
 * production build returns -1 for any path, so nothing an operator passes can date a
 * signature. Returns -1 if the file cannot be read. */
int64_t api_clock_us(const char *path);

#endif
