/*
 * kept_key.c: the keys of credentials kept under their serial, in the CA's token when it has
 * one (kept_key.h says the file format). The token key is generated before the certificate,
 * and the file written last: a crash between the two leaves a token key no file names, never a
 * file naming no key. Destruction goes the other way: the token key first (the private half
 * first, pkcs11_token.c), then the file.
 */
#include "kept_key.h"

#include "keystore.h"
#include "pkcs11_token.h"

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#define KEPT_KEY_RANDOM_BYTES 16u

signer_err kept_key_generate(signer_ca *ca, char label[KEPT_KEY_LABEL_BYTES], EVP_PKEY **key)
{
	label[0] = '\0';
	*key = NULL;
	if (!ca->token) {
		*key = EVP_EC_gen("P-256");
		return *key ? SIGNER_OK : signer_fail_openssl(SIGNER_ERR_CRYPTO, "generating a key");
	}
	unsigned char random[KEPT_KEY_RANDOM_BYTES];
	if (RAND_bytes(random, sizeof random) != 1)
		return signer_fail_openssl(SIGNER_ERR_CRYPTO, "a key label");
	size_t at = (size_t)snprintf(label, KEPT_KEY_LABEL_BYTES, "%s", KEPT_KEY_LABEL_PREFIX);
	for (size_t i = 0; i < sizeof random; i++, at += 2)
		snprintf(label + at, KEPT_KEY_LABEL_BYTES - at, "%02X", random[i]);
	signer_err err = token_key_generate(ca->token, label);
	if (!err && (err = token_key_load(ca->token, label, key)) != SIGNER_OK)
		token_key_destroy(ca->token, label); /* a key we cannot use is no use */
	if (err)
		label[0] = '\0';
	return err;
}

signer_err kept_key_store(signer_ca *ca, const char *name, const char *label, EVP_PKEY *key, X509 *certificate)
{
	if (!label[0])
		return keystore_pem_write(ca->credentials_dir, name, key, certificate, 0600, false);
	BIO *bio = BIO_new(BIO_s_mem());
	signer_err err = SIGNER_OK;
	if (!bio || BIO_printf(bio, "%s%s\n", KEPT_KEY_LABEL_LINE, label) <= 0 || !PEM_write_bio_X509(bio, certificate))
		err = signer_fail_openssl(SIGNER_ERR_CRYPTO, "PEM encoding");
	char *data = NULL;
	long bytes = bio ? BIO_get_mem_data(bio, &data) : 0;
	if (!err)
		err = keystore_write(ca->credentials_dir, name, data, (size_t)bytes, 0600, false);
	BIO_free(bio);
	if (err)
		token_key_destroy(ca->token, label);
	return err;
}

/* The token label a kept file names into label, or "" when it names none. SIGNER_ERR_KEYS for a
 * label line that is not one of ours. */
static signer_err label_of(const uint8_t *pem, size_t bytes, char label[KEPT_KEY_LABEL_BYTES])
{
	label[0] = '\0';
	size_t line = strlen(KEPT_KEY_LABEL_LINE);
	if (bytes < line || memcmp(pem, KEPT_KEY_LABEL_LINE, line) != 0)
		return SIGNER_OK;
	size_t want = KEPT_KEY_LABEL_BYTES - 1;
	if (bytes < line + want + 1 || pem[line + want] != '\n' ||
	    memcmp(pem + line, KEPT_KEY_LABEL_PREFIX, strlen(KEPT_KEY_LABEL_PREFIX)) != 0)
		return signer_fail(SIGNER_ERR_KEYS, "a kept credential names a malformed token key label");
	memcpy(label, pem + line, want);
	label[want] = '\0';
	return SIGNER_OK;
}

signer_err kept_key_read(signer_ca *ca, const char *name, EVP_PKEY **key, X509 **certificate,
                         char label[KEPT_KEY_LABEL_BYTES])
{
	uint8_t pem[KEYSTORE_FILE_BYTES_MAX];
	size_t bytes = 0;
	char found[KEPT_KEY_LABEL_BYTES];
	signer_err err = keystore_read(ca->credentials_dir, name, pem, sizeof pem, &bytes);
	if (!err)
		err = label_of(pem, bytes, found);
	if (!err && found[0] && !ca->token)
		err =
		    signer_fail(SIGNER_ERR_KEYS, "%s: its key is in a token, and the keys directory names none", name);
	if (!err)
		err = keystore_pem_parse(pem, bytes, found[0] ? NULL : key, certificate);
	if (!err && found[0] && (err = token_key_load(ca->token, found, key)) != SIGNER_OK) {
		X509_free(*certificate);
		*certificate = NULL;
	}
	OPENSSL_cleanse(pem, sizeof pem);
	if (label)
		snprintf(label, KEPT_KEY_LABEL_BYTES, "%s", err ? "" : found);
	return err;
}

signer_err kept_key_destroy(signer_ca *ca, const char *name)
{
	uint8_t pem[KEYSTORE_FILE_BYTES_MAX];
	size_t bytes = 0;
	char label[KEPT_KEY_LABEL_BYTES] = "";
	signer_err err = keystore_read(ca->credentials_dir, name, pem, sizeof pem, &bytes);
	if (!err)
		err = label_of(pem, bytes, label);
	X509 *certificate = NULL;
	if (!err && label[0] && keystore_pem_parse(pem, bytes, NULL, &certificate) == SIGNER_OK) {
		/* A file whose certificate is not its name's serial (a copy) names a key not its own:
		 * only the file goes. */
		char serial[SIGNER_SERIAL_HEX_BYTES], file[SIGNER_SERIAL_HEX_BYTES + sizeof ".pem"];
		signer_serial_hex(certificate, serial);
		snprintf(file, sizeof file, "%s.pem", serial);
		if (strcmp(file, name) != 0)
			label[0] = '\0';
	}
	X509_free(certificate);
	OPENSSL_cleanse(pem, sizeof pem);
	if (!err && label[0]) {
		if (!ca->token)
			return signer_fail(SIGNER_ERR_KEYS,
			                   "%s: its key is in a token, and the keys directory names none", name);
		err = token_key_destroy(ca->token, label);
		if (err == SIGNER_ERR_NOT_FOUND) /* destroyed before a crash that left the file: finish */
			err = SIGNER_OK;
	}
	char path[PATH_MAX];
	if (!err)
		err = keystore_path(path, sizeof path, ca->credentials_dir, name);
	return err ? err : keystore_shred(path);
}

signer_err signer_kept_key_id(signer_ca *ca, const char *serial, char out[SIGNER_KEY_ID_BYTES])
{
	char canonical[SIGNER_SERIAL_HEX_BYTES], name[SIGNER_SERIAL_HEX_BYTES + sizeof ".pem"];
	if (out)
		out[0] = '\0';
	if (!ca || !out || !signer_serial_canonical(serial, canonical))
		return signer_fail(SIGNER_ERR_INVALID, "signer_kept_key_id: NULL argument or a serial not hex");
	snprintf(name, sizeof name, "%s.pem", canonical);
	uint8_t pem[KEYSTORE_FILE_BYTES_MAX];
	size_t bytes = 0;
	char label[KEPT_KEY_LABEL_BYTES] = "";
	signer_err err = keystore_read(ca->credentials_dir, name, pem, sizeof pem, &bytes);
	if (!err)
		err = label_of(pem, bytes, label);
	OPENSSL_cleanse(pem, sizeof pem);
	if (!err && label[0])
		snprintf(out, SIGNER_KEY_ID_BYTES, "token:%s", label);
	else
		snprintf(out, SIGNER_KEY_ID_BYTES, "file:%s", canonical);
	return err;
}
