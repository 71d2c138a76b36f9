/*
 * token_remote_key.c: an EVP_PKEY whose ECDSA signatures are made by the signer process
 * (token_remote.h). Everything in ledgerd that signs takes an EVP_PKEY (X509_sign, CMS_sign,
 * the TS responder, OCSP_basic_sign, X509_CRL_sign): the key must stay one.
 *
 * Of OpenSSL 3's two ways to make such a key, this file takes the EC_KEY_METHOD one, as libp11
 * itself does for the keys it wraps: an EC_KEY holding the public key, whose sign functions send
 * the digest to the signer process and return the signature it sends back. OpenSSL sees a
 * "foreign" EC key and signs with it through its legacy path, the one libp11's keys took when
 * ledgerd held the token itself, so every signing call behaves as it did. A provider (a keymgmt
 * and a signature implementation for "EC", OSSL_PROVIDER_add_builtin) is OpenSSL's newer way; it
 * would be several hundred lines of parameter plumbing for one operation, and the functions here
 * are deprecated, not removed, in OpenSSL 3. The deprecation warnings are silenced in this file
 * only, the one place that uses them.
 *
 * The key's label travels in the EC_KEY's ex_data (copied when OpenSSL copies the key, freed with
 * it). The DER signature the signer process returns is parsed with d2i_ECDSA_SIG, never by hand,
 * and must be exactly one ECDSA-Sig-Value. It is not verified here: the signer process is the
 * trusted side, as the token is, and a verification would cost more than the round trip
 * (docs/benchmarks.md#signer-process); the signatures ledgerd makes are checked by the tests
 * with independent validators.
 */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#include "token_remote.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static EC_KEY_METHOD *remote_method;
static int label_index = -1;
static pthread_once_t remote_once = PTHREAD_ONCE_INIT;

static void label_free(void *parent, void *label, CRYPTO_EX_DATA *ad, int index, long argl, void *argp)
{
	(void)parent, (void)ad, (void)index, (void)argl, (void)argp;
	free(label);
}

static int label_dup(CRYPTO_EX_DATA *to, const CRYPTO_EX_DATA *from, void **label, int index, long argl, void *argp)
{
	(void)to, (void)from, (void)index, (void)argl, (void)argp;
	if (*label)
		*label = strdup(*label);
	return *label != NULL;
}

/* Pushes the reason of the last failure onto OpenSSL's queue, where the caller's error report
 * (signer_fail_openssl) finds it. */
static void openssl_error(void)
{
	ERR_raise_data(ERR_LIB_USER, ERR_R_OPERATION_FAIL, "%s", signer_last_error());
}

static ECDSA_SIG *remote_sign_sig(const unsigned char *digest, int digest_bytes, const BIGNUM *kinv, const BIGNUM *r,
                                  EC_KEY *ec)
{
	(void)kinv, (void)r;
	const char *label = EC_KEY_get_ex_data(ec, label_index);
	if (!label || digest_bytes != (int)TOKEN_WIRE_DIGEST_BYTES) {
		signer_fail(SIGNER_ERR_CRYPTO, "a token key signs SHA-256 digests only (%d bytes given)", digest_bytes);
		openssl_error();
		return NULL;
	}
	uint8_t der[TOKEN_WIRE_SIGNATURE_BYTES_MAX];
	size_t der_bytes = 0;
	if (token_remote_sign(label, digest, der, &der_bytes) != SIGNER_OK) {
		openssl_error();
		return NULL;
	}
	const unsigned char *at = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &at, (long)der_bytes);
	if (!sig || at != der + der_bytes) {
		ECDSA_SIG_free(sig);
		signer_fail(SIGNER_ERR_CRYPTO, "the signer process returned a signature that is not one");
		openssl_error();
		return NULL;
	}
	return sig;
}

static int remote_sign(int type, const unsigned char *digest, int digest_bytes, unsigned char *out,
                       unsigned int *out_bytes, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *ec)
{
	(void)type;
	ECDSA_SIG *sig = remote_sign_sig(digest, digest_bytes, kinv, r, ec);
	int n = sig ? i2d_ECDSA_SIG(sig, &out) : 0;
	ECDSA_SIG_free(sig);
	*out_bytes = n > 0 ? (unsigned int)n : 0;
	return n > 0;
}

static void remote_init(void)
{
	label_index = EC_KEY_get_ex_new_index(0, NULL, NULL, label_dup, label_free);
	remote_method = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
	if (remote_method)
		EC_KEY_METHOD_set_sign(remote_method, remote_sign, NULL, remote_sign_sig);
}

signer_err token_remote_key_new(const char *label, const uint8_t *spki, size_t spki_bytes, EVP_PKEY **key)
{
	*key = NULL;
	pthread_once(&remote_once, remote_init);
	if (!remote_method || label_index < 0)
		return signer_fail_openssl(SIGNER_ERR_NOMEM, "the signer process's key method");
	const unsigned char *at = spki;
	EC_KEY *ec = d2i_EC_PUBKEY(NULL, &at, (long)spki_bytes);
	const EC_GROUP *group = ec ? EC_KEY_get0_group(ec) : NULL;
	if (!ec || at != spki + spki_bytes || !group || EC_GROUP_get_curve_name(group) != NID_X9_62_prime256v1) {
		EC_KEY_free(ec);
		return signer_fail_openssl(SIGNER_ERR_KEYS, "the signer process's public key is not a P-256 key");
	}
	char *copy = strdup(label);
	EVP_PKEY *pkey = EVP_PKEY_new();
	if (!copy || !pkey || EC_KEY_set_method(ec, remote_method) != 1 ||
	    EC_KEY_set_ex_data(ec, label_index, copy) != 1) {
		free(copy);
		EVP_PKEY_free(pkey);
		EC_KEY_free(ec);
		return signer_fail_openssl(SIGNER_ERR_NOMEM, "a key of the signer process");
	}
	if (EVP_PKEY_assign_EC_KEY(pkey, ec) != 1) {
		EVP_PKEY_free(pkey);
		EC_KEY_free(ec);
		return signer_fail_openssl(SIGNER_ERR_NOMEM, "a key of the signer process");
	}
	*key = pkey;
	return SIGNER_OK;
}
