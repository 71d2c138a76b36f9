/*
 * pkcs11_config.c: where a token is and how to log in to it: keys_dir/SIGNER_TOKEN_CONFIG_FILE
 * parsed into a token_config, and the user PIN read from the file or variable it names
 * (pkcs11_token.h declares both; docs/signer.md#token describes the file).
 */
#include "pkcs11_token.h"

#include "keystore.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN_CONFIG_LINES_MAX 32u

/* ----- the configuration file ----- */

/* value, resolved against dir when relative, into out. */
static signer_err resolve_path(char out[PATH_MAX], const char *dir, const char *value)
{
	if (value[0] == '/') {
		int n = snprintf(out, PATH_MAX, "%s", value);
		return n < PATH_MAX ? SIGNER_OK : signer_fail(SIGNER_ERR_KEYS, "path too long: %s", value);
	}
	return keystore_path(out, PATH_MAX, dir, value);
}

signer_err token_setting_copy(char *out, size_t out_bytes, const char *value, const char *setting)
{
	int n = snprintf(out, out_bytes, "%s", value);
	if (n < 0 || (size_t)n >= out_bytes || !value[0])
		return signer_fail(SIGNER_ERR_KEYS, "%s: empty or longer than %zu bytes", setting, out_bytes - 1);
	return SIGNER_OK;
}

/* One "name = value" line of the configuration file. */
static signer_err config_setting(token_config *c, const char *keys_dir, const char *name, const char *value)
{
	if (strcmp(name, "module") == 0) {
		if (value[0] != '/')
			return signer_fail(SIGNER_ERR_KEYS, "module %s: an absolute path is required", value);
		return token_setting_copy(c->module_path, sizeof c->module_path, value, name);
	}
	if (strcmp(name, "token") == 0)
		return token_setting_copy(c->token_label, sizeof c->token_label, value, name);
	if (strcmp(name, "pin-env") == 0)
		return token_setting_copy(c->pin_env, sizeof c->pin_env, value, name);
	if (strcmp(name, "pin-file") == 0)
		return resolve_path(c->pin_file, keys_dir, value);
	if (strcmp(name, "softhsm2-conf") == 0)
		return resolve_path(c->softhsm2_conf, keys_dir, value);
	return signer_fail(SIGNER_ERR_KEYS, "%s: unknown setting %s", SIGNER_TOKEN_CONFIG_FILE, name);
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

signer_err token_config_read(const char *keys_dir, token_config *config)
{
	if (!keys_dir || !config)
		return signer_fail(SIGNER_ERR_INVALID, "token_config_read: NULL argument");
	memset(config, 0, sizeof *config);
	char text[TOKEN_CONFIG_BYTES_MAX + 1];
	size_t bytes = 0;
	signer_err err =
	    keystore_read(keys_dir, SIGNER_TOKEN_CONFIG_FILE, (uint8_t *)text, TOKEN_CONFIG_BYTES_MAX, &bytes);
	if (err)
		return err;
	text[bytes] = '\0';
	if (strlen(text) != bytes)
		return signer_fail(SIGNER_ERR_KEYS, "%s/%s: a NUL byte", keys_dir, SIGNER_TOKEN_CONFIG_FILE);
	char *save = NULL;
	size_t lines = 0;
	for (char *line = strtok_r(text, "\n", &save); line && !err; line = strtok_r(NULL, "\n", &save)) {
		char *equals = strchr(line, '=');
		line = trim(line);
		if (++lines > TOKEN_CONFIG_LINES_MAX)
			err = signer_fail(SIGNER_ERR_KEYS, "%s: over %u lines", SIGNER_TOKEN_CONFIG_FILE,
			                  TOKEN_CONFIG_LINES_MAX);
		else if (line[0] == '\0' || line[0] == '#')
			continue;
		else if (!equals)
			err = signer_fail(SIGNER_ERR_KEYS, "%s: \"%s\" is not name = value", SIGNER_TOKEN_CONFIG_FILE,
			                  line);
		else {
			*equals = '\0';
			err = config_setting(config, keys_dir, trim(line), trim(equals + 1));
		}
	}
	if (!err && (!config->module_path[0] || !config->token_label[0]))
		err = signer_fail(SIGNER_ERR_KEYS, "%s/%s: module and token are required", keys_dir,
		                  SIGNER_TOKEN_CONFIG_FILE);
	if (!err && !config->pin_file[0] == !config->pin_env[0])
		err = signer_fail(SIGNER_ERR_KEYS, "%s/%s: one of pin-file and pin-env is required", keys_dir,
		                  SIGNER_TOKEN_CONFIG_FILE);
	return err;
}

/* ----- the PIN ----- */

signer_err token_pin_read(const token_config *c, char pin[TOKEN_PIN_BYTES_MAX + 1])
{
	memset(pin, 0, TOKEN_PIN_BYTES_MAX + 1);
	if (c->pin_env[0]) {
		const char *value = getenv(c->pin_env);
		if (!value || !value[0] || strlen(value) > TOKEN_PIN_BYTES_MAX)
			return signer_fail(SIGNER_ERR_KEYS, "the variable %s holds no PIN of 1..%u bytes", c->pin_env,
			                   TOKEN_PIN_BYTES_MAX);
		memcpy(pin, value, strlen(value));
		return SIGNER_OK;
	}
	int fd = open(c->pin_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return signer_fail(SIGNER_ERR_KEYS, "cannot open the PIN file %s: %s", c->pin_file, strerror(errno));
	struct stat st;
	signer_err err = SIGNER_OK;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0)
		err = signer_fail(SIGNER_ERR_KEYS, "the PIN file %s: not a regular file that only its owner may read",
		                  c->pin_file);
	ssize_t n = err ? 0 : read(fd, pin, TOKEN_PIN_BYTES_MAX + 1);
	close(fd);
	while (!err && n > 0 && (pin[n - 1] == '\n' || pin[n - 1] == '\r'))
		pin[--n] = '\0';
	if (!err && (n <= 0 || n > (ssize_t)TOKEN_PIN_BYTES_MAX || strlen(pin) != (size_t)n))
		err = signer_fail(SIGNER_ERR_KEYS, "the PIN file %s holds no PIN of 1..%u bytes", c->pin_file,
		                  TOKEN_PIN_BYTES_MAX);
	if (err)
		OPENSSL_cleanse(pin, TOKEN_PIN_BYTES_MAX + 1);
	return err;
}
