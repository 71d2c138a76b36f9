/*
 * witness.c: a witness's two files (tlog.h, "Witness files"), read and written the same way by
 * `ledgerctl witness` and `ledger-audit witness`.
 */
#include "internal.h"

#include <sodium.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

tlog_err tlog_witness_key_parse(char *text, size_t text_bytes, tlog_signer *out)
{
	if (!text || !out)
		return tlog_fail(TLOG_ERR_INVALID, "tlog_witness_key_parse: NULL argument");
	char *end = text + text_bytes;
	char *name_end = memchr(text, '\n', text_bytes);
	char *seed_text = name_end ? name_end + 1 : NULL;
	char *seed_end = seed_text ? memchr(seed_text, '\n', (size_t)(end - seed_text)) : NULL;
	if (!seed_end)
		return tlog_fail(TLOG_ERR_MALFORMED, "a witness key file is a name line, then a base64 seed line");
	*name_end = *seed_end = '\0';
	uint8_t seed[TLOG_SEED_BYTES];
	size_t seed_bytes = 0;
	tlog_err err = TLOG_ERR_MALFORMED;
	if (sodium_base642bin(seed, sizeof seed, seed_text, strlen(seed_text), NULL, &seed_bytes, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    seed_bytes != sizeof seed)
		tlog_fail(err, "a witness key's seed is not %d bytes in base64", TLOG_SEED_BYTES);
	else
		err = tlog_signer_init(out, text, TLOG_TYPE_COSIGNATURE_V1, seed);
	sodium_memzero(seed, sizeof seed);
	return err;
}

bool tlog_witness_state_write(const char *path, const char *note, size_t note_bytes)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return false;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return false;
	bool ok = write(fd, note, note_bytes) == (ssize_t)note_bytes && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	return ok && rename(tmp, path) == 0;
}
