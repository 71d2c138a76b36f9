/*
 * profile.c: what the certificates the CA issues point to, so that a relying party can check
 * them online (RFC 5280 4.2.1.4, 4.2.1.13, 4.2.2.1; ETSI EN 319 412-2 4.3.3, 4.3.11, 4.4.1):
 * where the CA's certificate, its CRL and its OCSP responder are (the base URL ledgerd serves,
 * api/pki_http.c), and the policies the certificates are issued under.
 *
 * The URL goes into OpenSSL's configuration strings ("OCSP;URI:..."), so it is checked first to
 * hold none of the characters those strings give a meaning to (',', ';', ':' outside the port,
 * spaces): a URL could otherwise add an extension of its own.
 */
#include "internal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define URL_SCHEME "http://"
#define PORT_MAX   65535L

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static bool path_char(char c)
{
	return host_char(c) || c == '_' || c == '~' || c == '/';
}

signer_err signer_pki_url_check(const char *url)
{
	size_t n = url ? strnlen(url, SIGNER_PKI_URL_BYTES_MAX + 1) : 0;
	if (n == 0 || n > SIGNER_PKI_URL_BYTES_MAX)
		return signer_fail(SIGNER_ERR_INVALID, "the PKI URL: 1 to %u bytes", SIGNER_PKI_URL_BYTES_MAX);
	if (strncmp(url, URL_SCHEME, strlen(URL_SCHEME)) != 0)
		return signer_fail(SIGNER_ERR_INVALID, "the PKI URL %s: http:// only (its answers are signed)", url);
	const char *p = url + strlen(URL_SCHEME), *host = p;
	while (host_char(*p))
		p++;
	if (p == host || host[0] == '.' || host[0] == '-' || p[-1] == '.' || p[-1] == '-')
		return signer_fail(SIGNER_ERR_INVALID, "the PKI URL %s: a host of letters, digits, dots and hyphens",
		                   url);
	if (*p == ':') {
		long port = 0;
		const char *digits = ++p;
		while (*p >= '0' && *p <= '9' && p - digits < 6)
			port = port * 10 + (*p++ - '0');
		if (p == digits || port < 1 || port > PORT_MAX)
			return signer_fail(SIGNER_ERR_INVALID, "the PKI URL %s: a port from 1 to 65535", url);
	}
	const char *path = p;
	while (path_char(*p))
		p++;
	if (*p != '\0')
		return signer_fail(SIGNER_ERR_INVALID, "the PKI URL %s: a path of letters, digits and ._~/- only", url);
	if (*path && (path[0] != '/' || p[-1] == '/'))
		return signer_fail(SIGNER_ERR_INVALID,
		                   "the PKI URL %s: a path starts with '/' and does not end with one", url);
	return SIGNER_OK;
}

signer_err signer_ca_set_pki_url(signer_ca *ca, const char *url)
{
	if (!ca)
		return signer_fail(SIGNER_ERR_INVALID, "signer_ca_set_pki_url: NULL CA");
	signer_err err = signer_pki_url_check(url);
	if (err)
		return err;
	snprintf(ca->pki_url, sizeof ca->pki_url, "%s", url);
	return SIGNER_OK;
}

static bool add_conf(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, v3, nid, value);
	bool ok = e && X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

/* certificatePolicies is a "raw" extension to OpenSSL's configuration strings (it wants a
 * configuration database): built from its structures instead. */
static bool add_policies(X509 *x)
{
	static const char *const oids[] = {SIGNER_POLICY_OID, SIGNER_ETSI_NCP_OID};
	CERTIFICATEPOLICIES *policies = sk_POLICYINFO_new_null();
	bool ok = policies != NULL;
	for (size_t i = 0; ok && i < sizeof oids / sizeof oids[0]; i++) {
		POLICYINFO *info = POLICYINFO_new();
		ok = info && (info->policyid = OBJ_txt2obj(oids[i], 1)) != NULL &&
		     sk_POLICYINFO_push(policies, info) > 0;
		if (!ok)
			POLICYINFO_free(info);
	}
	ok = ok && X509_add1_ext_i2d(x, NID_certificate_policies, policies, 0, X509V3_ADD_DEFAULT) == 1;
	CERTIFICATEPOLICIES_free(policies);
	return ok;
}

bool signer_profile_add(X509 *x, X509V3_CTX *v3, const char *pki_url, const char *issuer_path, bool ocsp, bool policies)
{
	assert(signer_pki_url_check(pki_url) == SIGNER_OK);
	assert(!issuer_path || strlen(issuer_path) < 16);
	char ca[SIGNER_PKI_URL_BYTES_MAX + 32], crl[SIGNER_PKI_URL_BYTES_MAX + 32];
	if (issuer_path) { /* the hierarchy: each CA's own certificate and CRL */
		snprintf(ca, sizeof ca, "%s/ca/%s.crt", pki_url, issuer_path);
		snprintf(crl, sizeof crl, "%s/crl/%s.crl", pki_url, issuer_path);
	} else { /* the single CA of a keys directory without the hierarchy */
		snprintf(ca, sizeof ca, "%s/ca.crt", pki_url);
		snprintf(crl, sizeof crl, "%s/crl", pki_url);
	}
	char aia[3 * SIGNER_PKI_URL_BYTES_MAX + 96], cdp[SIGNER_PKI_URL_BYTES_MAX + 40];
	if (ocsp)
		snprintf(aia, sizeof aia, "OCSP;URI:%s/ocsp,caIssuers;URI:%s", pki_url, ca);
	else
		snprintf(aia, sizeof aia, "caIssuers;URI:%s", ca);
	snprintf(cdp, sizeof cdp, "URI:%s", crl);
	return add_conf(x, v3, NID_info_access, aia) && add_conf(x, v3, NID_crl_distribution_points, cdp) &&
	       (!policies || add_policies(x));
}
