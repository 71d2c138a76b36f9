/*
 * keys.c: the key files of a data directory. Secret keys are written 0600 in a 0700
 * directory, created exclusively (O_EXCL) so an existing key is never overwritten.
 */
#include "tlog.h"
#include "token.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_TEXT_BYTES_MAX 256u

static bool write_key(const char *dir, const char *name, const uint8_t *key, size_t n, mode_t mode)
{
	char path[PATH_MAX], text[KEY_TEXT_BYTES_MAX];
	if (snprintf(path, sizeof path, "%s/keys/%s", dir, name) >= (int)sizeof path)
		return false;
	sodium_bin2base64(text, sizeof text, key, n, sodium_base64_VARIANT_ORIGINAL);
	size_t len = strlen(text);
	text[len++] = '\n';
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return false;
	bool ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
	sodium_memzero(text, sizeof text);
	return close(fd) == 0 && ok;
}

bool api_keys_create(const char *dir, const char **why)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/keys", dir) >= (int)sizeof path)
		return *why = "path too long", false;
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return *why = "cannot create the keys directory", false;
	uint8_t personal[32];
	if (!api_personal_key(dir, personal, why))
		return false;
	sodium_memzero(personal, sizeof personal);
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	const char *names[2][2] = {{"idp.pk", "idp.sk"}, {"service.pk", "service.sk"}};
	for (int i = 0; i < 2; i++) {
		crypto_sign_keypair(pk, sk);
		bool ok = write_key(dir, names[i][1], sk, sizeof sk, 0600) &&
		          write_key(dir, names[i][0], pk, sizeof pk, 0644);
		sodium_memzero(sk, sizeof sk);
		if (!ok)
			return *why = "cannot write a key file (does one exist already?)", false;
	}
	return true;
}

bool api_personal_key(const char *dir, uint8_t key[32], const char **why)
{
	if (api_key_load(dir, "personal.key", key, 32, why))
		return true;
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/keys", dir) >= (int)sizeof path)
		return *why = "path too long", false;
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return *why = "cannot create the keys directory", false;
	randombytes_buf(key, 32);
	if (!write_key(dir, "personal.key", key, 32, 0600))
		return *why = "cannot create keys/personal.key", false;
	return true;
}

bool api_key_load(const char *dir, const char *name, uint8_t *key, size_t n, const char **why)
{
	char path[PATH_MAX], text[KEY_TEXT_BYTES_MAX];
	if (snprintf(path, sizeof path, "%s/keys/%s", dir, name) >= (int)sizeof path)
		return *why = "path too long", false;
	FILE *f = fopen(path, "re");
	if (!f)
		return *why = "cannot read the key file (is this an initialised data directory?)", false;
	size_t len = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[len] = '\0';
	size_t got;
	bool ok =
	    sodium_base642bin(key, n, text, len, "\n\r ", &got, NULL, sodium_base64_VARIANT_ORIGINAL) == 0 && got == n;
	sodium_memzero(text, sizeof text);
	if (!ok)
		*why = "the key file is not a base64 key of the right size";
	return ok;
}

bool api_token_mint_from_dir(const char *data_dir, const char *sub, bool platform, int64_t iat_s, int64_t ttl_s,
                             const char *aud, char out[API_TOKEN_BYTES_MAX], const char **why)
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	if (!api_key_load(data_dir, "idp.sk", sk, sizeof sk, why))
		return false;
	api_claims c = {.iat = iat_s, .exp = iat_s + ttl_s, .platform = platform};
	snprintf(c.sub, sizeof c.sub, "%s", sub);
	snprintf(c.aud, sizeof c.aud, "%s", aud ? aud : API_TOKEN_AUDIENCE);
	bool ok = api_token_mint(&c, sk, out, API_TOKEN_BYTES_MAX);
	sodium_memzero(sk, sizeof sk);
	if (!ok)
		*why = "the claims do not fit a token (a subject of 1 to 254 bytes)";
	return ok;
}

/* Writes text to DIR/keys/NAME, created exclusively with mode. */
static bool write_text(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/keys/%s", dir, name) >= (int)sizeof path)
		return false;
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return false;
	bool ok = write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	return close(fd) == 0 && ok;
}

bool api_log_key_create(const char *dir, const char *origin, char *vkey, size_t vkey_cap, const char **why)
{
	uint8_t seed[TLOG_SEED_BYTES];
	randombytes_buf(seed, sizeof seed);
	tlog_signer s;
	tlog_err err = tlog_signer_init(&s, origin, TLOG_TYPE_ED25519, seed);
	if (err) {
		sodium_memzero(seed, sizeof seed);
		return *why = tlog_last_error(), false;
	}
	err = tlog_vkey_format(&s.verifier, vkey, vkey_cap);
	tlog_signer_wipe(&s);
	bool ok = err == TLOG_OK && write_key(dir, "log.key", seed, sizeof seed, 0600) &&
	          write_text(dir, "log.vkey", vkey, 0644);
	sodium_memzero(seed, sizeof seed);
	if (!ok)
		*why = "cannot write keys/log.key or keys/log.vkey (does one exist already?)";
	return ok;
}

bool api_log_key_load(const char *dir, tlog_signer *out, const char **why)
{
	char path[PATH_MAX], text[TLOG_VKEY_BYTES_MAX + 2];
	if (snprintf(path, sizeof path, "%s/keys/log.vkey", dir) >= (int)sizeof path)
		return *why = "path too long", false;
	FILE *f = fopen(path, "re");
	if (!f)
		return *why = "cannot read keys/log.vkey (a data directory initialised before the log key existed: "
		              "see docs/operations.md)",
		       false;
	size_t len = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[len] = '\0';
	if (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	tlog_verifier v;
	if (tlog_vkey_parse(text, &v) != TLOG_OK)
		return *why = "keys/log.vkey is not a C2SP verifier key", false;
	uint8_t seed[TLOG_SEED_BYTES];
	if (!api_key_load(dir, "log.key", seed, sizeof seed, why))
		return false;
	tlog_err err = tlog_signer_init(out, v.name, TLOG_TYPE_ED25519, seed);
	sodium_memzero(seed, sizeof seed);
	if (err)
		return *why = "keys/log.key: not a usable Ed25519 seed", false;
	if (memcmp(out->verifier.public_key, v.public_key, sizeof v.public_key) != 0) {
		tlog_signer_wipe(out);
		return *why = "keys/log.key is not the private half of keys/log.vkey", false;
	}
	return true;
}
