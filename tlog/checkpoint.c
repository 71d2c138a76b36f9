/*
 * checkpoint.c: C2SP tlog-checkpoint, the note text a log signs for one tree head:
 * "<origin>\n<tree size in decimal>\n<base64 root hash>\n" and optional extension lines.
 */
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

tlog_err tlog_checkpoint_format(const tlog_checkpoint *c, char *out, size_t cap, size_t *out_bytes)
{
	if (!c || !out || !out_bytes)
		return tlog_fail(TLOG_ERR_INVALID, "tlog_checkpoint_format: NULL argument");
	size_t origin_bytes = strnlen(c->origin, sizeof c->origin);
	if (!tlog_name_valid(c->origin, origin_bytes))
		return tlog_fail(TLOG_ERR_MALFORMED, "checkpoint origin \"%.80s\": empty, or with a space or '+'",
		                 c->origin);
	size_t ext_bytes = strnlen(c->extensions, sizeof c->extensions), bad = 0;
	if (ext_bytes > TLOG_EXTENSIONS_BYTES_MAX || (ext_bytes && c->extensions[ext_bytes - 1] != '\n') ||
	    strstr(c->extensions, "\n\n") || c->extensions[0] == '\n' ||
	    !tlog_text_valid(c->extensions, ext_bytes, &bad))
		return tlog_fail(TLOG_ERR_MALFORMED,
		                 "checkpoint extensions: not non-empty lines each ending in a newline");
	char root[45];
	tlog_base64_encode(c->root, TLOG_HASH_BYTES, root, sizeof root);
	int n = snprintf(out, cap, "%s\n%" PRIu64 "\n%s\n%s", c->origin, c->size, root, c->extensions);
	if (n < 0 || (size_t)n >= cap)
		return tlog_fail(TLOG_ERR_BUFFER_TOO_SMALL, "checkpoint text does not fit in %zu bytes", cap);
	*out_bytes = (size_t)n;
	return TLOG_OK;
}

/* The decimal tree size: digits only, no leading zero but for "0", at most 2^64 - 1. */
static bool parse_size(const char *s, size_t n, uint64_t *out)
{
	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* The next line of text[*at, n) (without '\n') in *line, *line_bytes; false at the end. */
static bool next_line(const char *text, size_t n, size_t *at, const char **line, size_t *line_bytes)
{
	if (*at >= n)
		return false;
	const char *end = memchr(text + *at, '\n', n - *at);
	if (!end)
		return false;
	*line = text + *at;
	*line_bytes = (size_t)(end - *line);
	*at = (size_t)(end - text) + 1;
	return true;
}

tlog_err tlog_checkpoint_parse(const char *text, size_t text_bytes, tlog_checkpoint *out)
{
	if (!text || !out)
		return tlog_fail(TLOG_ERR_INVALID, "tlog_checkpoint_parse: NULL argument");
	if (text_bytes > TLOG_CHECKPOINT_TEXT_BYTES_MAX)
		return tlog_fail(TLOG_ERR_TOO_LARGE, "checkpoint of %zu bytes (at most %d)", text_bytes,
		                 (int)TLOG_CHECKPOINT_TEXT_BYTES_MAX);
	size_t bad = 0, at = 0, line_bytes = 0;
	if (text_bytes == 0 || text[text_bytes - 1] != '\n' || !tlog_text_valid(text, text_bytes, &bad))
		return tlog_fail(TLOG_ERR_MALFORMED, "checkpoint: not UTF-8 lines each ending in a newline");
	tlog_checkpoint c = {0};
	const char *line;
	if (!next_line(text, text_bytes, &at, &line, &line_bytes) || line_bytes == 0 ||
	    line_bytes > TLOG_ORIGIN_BYTES_MAX)
		return tlog_fail(TLOG_ERR_MALFORMED, "checkpoint line 1: origin empty or over %d bytes",
		                 TLOG_ORIGIN_BYTES_MAX);
	memcpy(c.origin, line, line_bytes);
	if (!next_line(text, text_bytes, &at, &line, &line_bytes) || !parse_size(line, line_bytes, &c.size))
		return tlog_fail(TLOG_ERR_MALFORMED,
		                 "checkpoint line 2: tree size is not a decimal without leading zeros");
	size_t root_bytes = 0;
	if (!next_line(text, text_bytes, &at, &line, &line_bytes) ||
	    tlog_base64_decode(line, line_bytes, c.root, sizeof c.root, &root_bytes) != TLOG_OK ||
	    root_bytes != TLOG_HASH_BYTES)
		return tlog_fail(TLOG_ERR_MALFORMED, "checkpoint line 3: root hash is not base64 of 32 bytes");
	size_t ext_start = at;
	for (unsigned number = 4; next_line(text, text_bytes, &at, &line, &line_bytes); number++)
		if (line_bytes == 0)
			return tlog_fail(TLOG_ERR_MALFORMED, "checkpoint line %u: an empty extension line", number);
	TLOG_ASSERT(at == text_bytes);
	if (text_bytes - ext_start > TLOG_EXTENSIONS_BYTES_MAX)
		return tlog_fail(TLOG_ERR_TOO_LARGE, "checkpoint extensions over %u bytes", TLOG_EXTENSIONS_BYTES_MAX);
	memcpy(c.extensions, text + ext_start, text_bytes - ext_start);
	*out = c;
	return TLOG_OK;
}

tlog_err tlog_checkpoint_open(const char *note, size_t note_bytes, const tlog_verifier *log_key,
                              const tlog_verifier *witnesses, size_t witness_count, tlog_checkpoint *out,
                              tlog_note_result *result)
{
	if (!note || !log_key || !out || !result || (!witnesses && witness_count))
		return tlog_fail(TLOG_ERR_INVALID, "tlog_checkpoint_open: NULL argument");
	if (witness_count + 1 > TLOG_VERIFIERS_MAX)
		return tlog_fail(TLOG_ERR_INVALID, "%zu witnesses (at most %d)", witness_count, TLOG_VERIFIERS_MAX - 1);
	if (log_key->type != TLOG_TYPE_ED25519)
		return tlog_fail(TLOG_ERR_INVALID, "the log key %s is not an Ed25519 note key", log_key->name);
	tlog_verifier keys[TLOG_VERIFIERS_MAX];
	keys[0] = *log_key;
	for (size_t i = 0; i < witness_count; i++)
		keys[1 + i] = witnesses[i];
	tlog_err err = tlog_note_open(note, note_bytes, keys, 1 + witness_count, result);
	if (err == TLOG_OK && !result->verified[0])
		err = tlog_fail(TLOG_ERR_NO_SIGNATURE, "no signature by the log key %s", log_key->name);
	if (err == TLOG_OK)
		err = tlog_checkpoint_parse(note, result->text_bytes, out);
	if (err == TLOG_OK && strcmp(out->origin, log_key->name) != 0)
		err = tlog_fail(TLOG_ERR_MALFORMED, "checkpoint origin \"%.80s\" is not the log key's name %s",
		                out->origin, log_key->name);
	return err;
}
