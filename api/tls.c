/*
 * tls.c: see tls.h.
 *
 * nng_tls_config_cert_key_file wants the certificate and the key in one file; ledgerd takes
 * them apart (as most servers do, so the key can be stricter than the chain), so both are read
 * here and given to nng_tls_config_own_cert. Reading the key ourselves is also where its mode
 * is checked, on the descriptor read from, so the check and the read see the same file.
 */
#include "tls.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool api_tls_url(const char *url)
{
	return url && strncmp(url, API_TLS_SCHEME, strlen(API_TLS_SCHEME)) == 0;
}

bool api_tls_url_host(const char *url, char *host, size_t host_bytes)
{
	assert(host && host_bytes > 0);
	const char *p = strstr(url, "://");
	if (!p)
		return false;
	p += 3;
	size_t n;
	if (*p == '[') { /* [::1]:port */
		p++;
		n = strcspn(p, "]");
		if (p[n] != ']')
			return false;
	} else {
		n = strcspn(p, ":/");
	}
	if (n == 0 || n >= host_bytes)
		return false;
	memcpy(host, p, n);
	host[n] = '\0';
	return true;
}

/* Reads a PEM file into a NUL-terminated buffer, the caller's to free (and to wipe, for a
 * key). A key (secret) must be a regular file without group or other permissions. NULL with
 * why naming option and path on failure. */
static char *read_pem(const char *option, const char *path, bool secret, char *why, size_t why_bytes)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, why_bytes, "%s %s: %s", option, path, strerror(errno));
		return NULL;
	}
	struct stat st;
	char *text = NULL;
	if (fstat(fd, &st) != 0) {
		snprintf(why, why_bytes, "%s %s: %s", option, path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(why, why_bytes, "%s %s: not a regular file", option, path);
	} else if (secret && (st.st_mode & (S_IRWXG | S_IRWXO))) {
		snprintf(why, why_bytes,
		         "%s %s: a private key open to group or others (mode %04o) is refused: chmod 600 %s", option,
		         path, (unsigned)(st.st_mode & 07777), path);
	} else if (st.st_size <= 0 || (unsigned long long)st.st_size > API_TLS_FILE_BYTES_MAX) {
		snprintf(why, why_bytes, "%s %s: %lld bytes; a PEM file of 1 to %u bytes is expected", option, path,
		         (long long)st.st_size, API_TLS_FILE_BYTES_MAX);
	} else if (!(text = malloc((size_t)st.st_size + 1))) {
		snprintf(why, why_bytes, "%s %s: out of memory", option, path);
	} else {
		size_t n = (size_t)st.st_size, got = 0;
		ssize_t r = 1;
		while (got < n && (r = read(fd, text + got, n - got)) > 0)
			got += (size_t)r;
		text[got] = '\0';
		if (got != n) {
			snprintf(why, why_bytes, "%s %s: %s", option, path, r < 0 ? strerror(errno) : "short read");
			free(text);
			text = NULL;
		}
	}
	close(fd);
	return text;
}

/* Loads cert_file and key_file as cfg's own certificate. */
static bool own_cert(nng_tls_config *cfg, const api_tls_options *o, char *why, size_t why_bytes)
{
	char *cert = read_pem("--tls-cert", o->cert_file, false, why, why_bytes);
	if (!cert)
		return false;
	char *key = read_pem("--tls-key", o->key_file, true, why, why_bytes);
	bool ok = false;
	if (!key) {
		/* why is set */
	} else if (!strstr(cert, "-----BEGIN CERTIFICATE-----")) {
		snprintf(why, why_bytes, "--tls-cert %s: no PEM certificate in it", o->cert_file);
	} else if (!strstr(key, "PRIVATE KEY-----")) {
		snprintf(why, why_bytes, "--tls-key %s: no PEM private key in it", o->key_file);
	} else {
		int rv = nng_tls_config_own_cert(cfg, cert, key, NULL);
		if (rv != 0)
			snprintf(why, why_bytes,
			         "--tls-cert %s with --tls-key %s: nng cannot use them: %s (a PEM chain, and its "
			         "unencrypted key?)",
			         o->cert_file, o->key_file, nng_strerror(rv));
		ok = rv == 0;
	}
	if (key) {
		sodium_memzero(key, strlen(key));
		free(key);
	}
	free(cert);
	return ok;
}

static bool ca_file(nng_tls_config *cfg, const char *path, char *why, size_t why_bytes)
{
	/* nng's own reason for a missing file is a bare "Entry not found": open it first. */
	char *text = read_pem("--tls-ca", path, false, why, why_bytes);
	if (!text)
		return false;
	bool pem = strstr(text, "-----BEGIN CERTIFICATE-----") != NULL;
	free(text);
	if (!pem) {
		snprintf(why, why_bytes, "--tls-ca %s: no PEM certificate in it", path);
		return false;
	}
	int rv = nng_tls_config_ca_file(cfg, path);
	if (rv != 0)
		snprintf(why, why_bytes, "--tls-ca %s: nng cannot use it: %s", path, nng_strerror(rv));
	return rv == 0;
}

/* A fresh configuration for mode; false with why when nng cannot make one. */
static bool config_alloc(nng_tls_mode mode, nng_tls_config **cfg, char *why, size_t why_bytes)
{
	int rv = nng_tls_config_alloc(cfg, mode);
	if (rv != 0)
		snprintf(why, why_bytes, "cannot set TLS up: %s", nng_strerror(rv));
	return rv == 0;
}

bool api_tls_config_server(const api_tls_options *o, nng_tls_config **out, char *why, size_t why_bytes)
{
	assert(o && out && why);
	if (!o->cert_file || !o->key_file || (o->client_auth && !o->ca_file)) {
		snprintf(why, why_bytes, "TLS needs --tls-cert and --tls-key (and --tls-ca for --tls-client-auth)");
		return false;
	}
	nng_tls_config *cfg;
	if (!config_alloc(NNG_TLS_MODE_SERVER, &cfg, why, why_bytes))
		return false;
	bool ok = own_cert(cfg, o, why, why_bytes);
	if (ok && o->ca_file)
		ok = ca_file(cfg, o->ca_file, why, why_bytes);
	if (ok) {
		int rv =
		    nng_tls_config_auth_mode(cfg, o->client_auth ? NNG_TLS_AUTH_MODE_REQUIRED : NNG_TLS_AUTH_MODE_NONE);
		if (rv != 0)
			snprintf(why, why_bytes, "cannot set TLS client authentication: %s", nng_strerror(rv));
		ok = rv == 0;
	}
	if (!ok) {
		nng_tls_config_free(cfg);
		return false;
	}
	*out = cfg;
	return true;
}

bool api_tls_config_client(const api_tls_options *o, const char *url, nng_tls_config **out, char *why, size_t why_bytes)
{
	assert(o && url && out && why);
	char host[256];
	const char *name = o->server_name;
	if (!name && api_tls_url_host(url, host, sizeof host))
		name = host;
	if (!o->ca_file || !name || !name[0] || !o->cert_file != !o->key_file) {
		snprintf(why, why_bytes,
		         "%s: TLS needs --tls-ca, a server name, and --tls-cert with --tls-key or neither", url);
		return false;
	}
	nng_tls_config *cfg;
	if (!config_alloc(NNG_TLS_MODE_CLIENT, &cfg, why, why_bytes))
		return false;
	int rv;
	bool ok = ca_file(cfg, o->ca_file, why, why_bytes);
	if (ok && o->cert_file)
		ok = own_cert(cfg, o, why, why_bytes);
	if (ok && (rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED)) != 0) {
		snprintf(why, why_bytes, "cannot require the server's certificate: %s", nng_strerror(rv));
		ok = false;
	}
	if (ok && (rv = nng_tls_config_server_name(cfg, name)) != 0) {
		snprintf(why, why_bytes, "--tls-server-name %s: %s", name, nng_strerror(rv));
		ok = false;
	}
	if (!ok) {
		nng_tls_config_free(cfg);
		return false;
	}
	*out = cfg;
	return true;
}

/* True if name is an IPv4 or IPv6 address. */
static bool ip_literal(const char *name)
{
	unsigned char address[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, name, address) == 1 || inet_pton(AF_INET6, name, address) == 1;
}

bool api_tls_dial_why(int rv, const api_tls_options *o, const char *url, char *why, size_t why_bytes)
{
	char host[256] = "";
	const char *name = o->server_name;
	if (!name && api_tls_url_host(url, host, sizeof host))
		name = host;
	if (rv == NNG_ECONNSHUT || rv == NNG_ECLOSED) {
		/* mbedTLS servers drop a client that sent no certificate without an alert. */
		snprintf(why, why_bytes, "the server closed the connection during the TLS handshake (nng: %s)%s",
		         nng_strerror(rv),
		         o->cert_file ? "" : ": does it require a client certificate (--tls-cert, --tls-key)?");
		return true;
	}
	if (rv != NNG_ECRYPTO && rv != NNG_EPEERAUTH)
		return false;
	/* mbedTLS 2.28 matches a name against DNS subjectAltNames and the CN only: a certificate
	 * for IP:127.0.0.1 never verifies as "127.0.0.1". Checking the chain alone would accept any
	 * certificate the CA signed, so the name is required rather than skipped. */
	const char *ip_hint = name && ip_literal(name) ? ". That name is an IP address, which this TLS library "
	                                                 "(mbedTLS 2.28) cannot match: give --tls-server-name with "
	                                                 "a DNS name of the certificate"
	                                               : "";
	snprintf(why, why_bytes,
	         "the TLS handshake failed (nng: %s): the server's certificate did not verify with --tls-ca %s for "
	         "the name \"%s\", or the server requires a client certificate (--tls-cert, --tls-key) signed by "
	         "its CA%s",
	         nng_strerror(rv), o->ca_file ? o->ca_file : "", name ? name : "", ip_hint);
	return true;
}
