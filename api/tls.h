/*
 * tls.h: TLS for the RPC, on nng's tls+tcp:// transport (mbedTLS in Debian 12's libnng1).
 * Builds the nng_tls_config of a listener (ledgerd) or a dialer (api/client.c) from PEM
 * files, with the checks nng does not make: a private key readable by others is refused, and
 * each file is named in the error when it cannot be used. See docs/rpc.md#tls.
 */
#ifndef API_TLS_H
#define API_TLS_H

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include <stdbool.h>
#include <stddef.h>

/* A certificate chain or a key file larger than this is refused (a chain is a few KiB). */
#define API_TLS_FILE_BYTES_MAX (256u * 1024u)
/* Room for an error message naming a file and nng's reason. */
#define API_TLS_WHY_BYTES 640u
/* The scheme of a TLS URL; nng also takes tls+tcp4:// and tls+tcp6://. */
#define API_TLS_SCHEME "tls+"

typedef struct api_tls_options {
	const char *cert_file;   /* PEM certificate chain: the server's, or the client's (mutual TLS) */
	const char *key_file;    /* PEM private key of cert_file, unencrypted; no group/other access */
	const char *ca_file;     /* PEM trust anchors: of the server (client), of clients (server) */
	const char *server_name; /* client: the name the server's certificate must carry; NULL: URL host */
	bool client_auth;        /* server: require a client certificate signed by ca_file */
} api_tls_options;

/* True if url is served over TLS (its scheme starts with "tls+"). */
bool api_tls_url(const char *url);

/*
 * Copies url's host (without brackets for IPv6) into host (host_bytes with its NUL). False if
 * url has no "://" or the host does not fit.
 */
bool api_tls_url_host(const char *url, char *host, size_t host_bytes);

/*
 * A listener's configuration: cert_file and key_file required, ca_file required when
 * client_auth (then a client without a certificate signed by it is refused). On success
 * *out is the caller's (nng_tls_config_free; a listener holds its own reference). False with
 * why (API_TLS_WHY_BYTES) naming the file and the reason.
 */
bool api_tls_config_server(const api_tls_options *o, nng_tls_config **out, char *why, size_t why_bytes);

/*
 * A dialer's configuration for url: the server's certificate must chain to ca_file (required)
 * and name o->server_name, or url's host. cert_file and key_file, both or neither, are the
 * client's certificate for mutual TLS. Same ownership and errors as api_tls_config_server.
 */
bool api_tls_config_client(const api_tls_options *o, const char *url, nng_tls_config **out, char *why,
                           size_t why_bytes);

/*
 * Explains a failed TLS dial of url with o into why: nng reports a refused handshake as a
 * bare crypto or authentication error, which does not say what to check. False (why
 * untouched) if rv is not such an error.
 */
bool api_tls_dial_why(int rv, const api_tls_options *o, const char *url, char *why, size_t why_bytes);

#endif
