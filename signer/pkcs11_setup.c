/*
 * pkcs11_setup.c: setting a token up for a keys directory (signer.h: signer_token_embedded_create,
 * signer_token_configure): the embedded SoftHSM2 token's files and PIN, or the configuration
 * naming a token initialised beforehand. Split from pkcs11_token.c, which keeps the token's
 * operations; ledgerd init runs these in process (it serves nothing), serve never does.
 */
#include "keystore.h"
#include "pkcs11_token.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOKEN_SECRET_HEX_BYTES        (2u * 16u) /* the PINs we draw: 16 random bytes, in hex */
#define TOKEN_SOFTHSM2_CONF_BYTES_MAX (PATH_MAX + 256u)

/* A random secret of TOKEN_SECRET_HEX_BYTES hex digits into out (that plus a NUL). */
static signer_err secret_new(char out[TOKEN_SECRET_HEX_BYTES + 1])
{
	unsigned char bytes[TOKEN_SECRET_HEX_BYTES / 2];
	if (RAND_bytes(bytes, sizeof bytes) != 1)
		return signer_fail_openssl(SIGNER_ERR_CRYPTO, "drawing a PIN");
	for (size_t i = 0; i < sizeof bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", bytes[i]);
	OPENSSL_cleanse(bytes, sizeof bytes);
	return SIGNER_OK;
}

/* keys_dir/SIGNER_SOFTHSM2_CONF_FILE: the token directory by absolute path (SoftHSM2 would
 * read a relative one against the working directory of the day). */
static signer_err softhsm2_conf_write(const char *keys_dir, const char *token_dir)
{
	if (strpbrk(token_dir, "\n\r"))
		return signer_fail(SIGNER_ERR_INVALID, "a line break in %s", token_dir);
	char text[TOKEN_SOFTHSM2_CONF_BYTES_MAX];
	int n = snprintf(text, sizeof text,
	                 "# The embedded token of ledgerd (docs/signer.md#token), written by ledgerd init.\n"
	                 "directories.tokendir = %s\n"
	                 "objectstore.backend = file\n"
	                 "log.level = ERROR\n"
	                 "slots.removable = false\n",
	                 token_dir);
	if (n < 0 || (size_t)n >= sizeof text)
		return signer_fail(SIGNER_ERR_INVALID, "path too long: %s", token_dir);
	return keystore_write(keys_dir, SIGNER_SOFTHSM2_CONF_FILE, text, (size_t)n, 0600, false);
}

/* keys_dir/SIGNER_TOKEN_CONFIG_FILE, created exclusively. */
static signer_err config_write(const char *keys_dir, const signer_token_config *c, const char *softhsm2_conf)
{
	char text[TOKEN_CONFIG_BYTES_MAX];
	int n = snprintf(text, sizeof text,
	                 "# The token of the signer's private keys (docs/signer.md#token).\n"
	                 "module = %s\ntoken = %s\n%s = %s\n%s%s%s",
	                 c->module_path, c->token_label, c->pin_file ? "pin-file" : "pin-env",
	                 c->pin_file ? c->pin_file : c->pin_env, softhsm2_conf ? "softhsm2-conf = " : "",
	                 softhsm2_conf ? softhsm2_conf : "", softhsm2_conf ? "\n" : "");
	if (n < 0 || (size_t)n >= sizeof text)
		return signer_fail(SIGNER_ERR_INVALID, "the token's configuration is too long");
	return keystore_write(keys_dir, SIGNER_TOKEN_CONFIG_FILE, text, (size_t)n, 0644, false);
}

static signer_err config_absent(const char *keys_dir)
{
	char path[PATH_MAX];
	signer_err err = keystore_path(path, sizeof path, keys_dir, SIGNER_TOKEN_CONFIG_FILE);
	if (!err && access(path, F_OK) == 0)
		err = signer_fail(SIGNER_ERR_EXISTS, "%s exists already", path);
	return err;
}

signer_err signer_token_embedded_create(const char *keys_dir)
{
	if (!keys_dir)
		return signer_fail(SIGNER_ERR_INVALID, "signer_token_embedded_create: NULL directory");
	char absolute[PATH_MAX], token_dir[PATH_MAX];
	signer_err err = keystore_mkdir(keys_dir);
	if (!err)
		err = config_absent(keys_dir);
	if (!err && !realpath(keys_dir, absolute))
		err = signer_fail(SIGNER_ERR_IO, "%s: %s", keys_dir, strerror(errno));
	if (!err)
		err = keystore_path(token_dir, sizeof token_dir, absolute, SIGNER_SOFTHSM2_TOKEN_DIR);
	if (!err)
		err = keystore_mkdir(token_dir);
	if (!err)
		err = softhsm2_conf_write(keys_dir, token_dir);
	char pin[TOKEN_SECRET_HEX_BYTES + 2], so_pin[TOKEN_SECRET_HEX_BYTES + 1];
	if (!err)
		err = secret_new(pin);
	if (!err)
		err = secret_new(so_pin);
	if (!err) {
		pin[TOKEN_SECRET_HEX_BYTES] = '\n';
		err = keystore_write(keys_dir, SIGNER_TOKEN_PIN_FILE, pin, TOKEN_SECRET_HEX_BYTES + 1, 0600, false);
		pin[TOKEN_SECRET_HEX_BYTES] = '\0';
	}
	token_config c = {.module_path = SIGNER_SOFTHSM2_MODULE, .token_label = SIGNER_TOKEN_LABEL};
	if (!err)
		err = keystore_path(c.softhsm2_conf, sizeof c.softhsm2_conf, absolute, SIGNER_SOFTHSM2_CONF_FILE);
	if (!err)
		err = token_initialise(&c, so_pin, pin);
	OPENSSL_cleanse(pin, sizeof pin);
	OPENSSL_cleanse(so_pin, sizeof so_pin);
	signer_token_config written = {SIGNER_SOFTHSM2_MODULE, SIGNER_TOKEN_LABEL, SIGNER_TOKEN_PIN_FILE, NULL};
	if (!err)
		err = config_write(keys_dir, &written, SIGNER_SOFTHSM2_CONF_FILE);
	return err;
}

signer_err signer_token_configure(const char *keys_dir, const signer_token_config *config)
{
	if (!keys_dir || !config || !config->module_path || config->module_path[0] != '/' || !config->token_label ||
	    !config->token_label[0] || strlen(config->token_label) > TOKEN_LABEL_BYTES_MAX ||
	    !config->pin_file == !config->pin_env || (config->pin_file && config->pin_file[0] != '/'))
		return signer_fail(SIGNER_ERR_INVALID,
		                   "a token needs an absolute module path, a label of 1..%u bytes "
		                   "and one PIN source (a file by absolute path, or a variable)",
		                   TOKEN_LABEL_BYTES_MAX);
	token_config c = {0};
	signer_err err = keystore_mkdir(keys_dir);
	if (!err)
		err = config_absent(keys_dir);
	if (!err)
		err = token_setting_copy(c.module_path, sizeof c.module_path, config->module_path, "module");
	if (!err)
		err = token_setting_copy(c.token_label, sizeof c.token_label, config->token_label, "token");
	if (!err && config->pin_file)
		err = token_setting_copy(c.pin_file, sizeof c.pin_file, config->pin_file, "pin-file");
	if (!err && config->pin_env)
		err = token_setting_copy(c.pin_env, sizeof c.pin_env, config->pin_env, "pin-env");
	token *t = NULL;
	if (!err)
		err = token_open(&c, &t);
	token_close(t);
	if (!err)
		err = config_write(keys_dir, config, NULL);
	return err;
}
