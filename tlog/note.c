/*
 * note.c: C2SP signed-note: key IDs, verifier keys, signing and opening notes, with Ed25519
 * note signatures (type 0x01) and tlog-cosignature/v1 (type 0x04: a timestamp, then Ed25519
 * over "cosignature/v1\ntime T\n" and the note text).
 *
 * Opening is two passes: the whole note's syntax first, so a malformed note is refused as such
 * whatever keys the reader holds; then the signatures of known keys.
 */
#include "internal.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EM_DASH_SPACE       "\xE2\x80\x94 " /* U+2014, then a space: a signature line's start */
#define EM_DASH_SPACE_BYTES 4
/* A signature line's decoded bytes: key ID and signature. Post-quantum signatures of other
 * keys (ignored, but parsed) run to nearly 5 kB. */
#define SIGNATURE_BYTES_MAX 5120
#define COSIGNATURE_HEADER  "cosignature/v1\ntime "
/* "cosignature/v1\ntime " + 19 digits + "\n" */
#define COSIGNATURE_PREFIX_BYTES_MAX (sizeof COSIGNATURE_HEADER - 1 + 19 + 1)

tlog_err tlog_key_id(const char *name, uint8_t type, const uint8_t public_key[TLOG_PUBLIC_KEY_BYTES],
                     uint8_t out[TLOG_KEY_ID_BYTES])
{
	if (!name || !public_key || !out)
		return tlog_fail(TLOG_ERR_INVALID, "tlog_key_id: NULL argument");
	size_t name_bytes = strlen(name);
	if (!tlog_name_valid(name, name_bytes))
		return tlog_fail(TLOG_ERR_MALFORMED, "key name \"%.*s\": empty, too long, or with a space or '+'",
		                 (int)(name_bytes > 80 ? 80 : name_bytes), name);
	uint8_t hash[crypto_hash_sha256_BYTES];
	const uint8_t newline = 0x0A;
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)name, name_bytes);
	crypto_hash_sha256_update(&st, &newline, 1);
	crypto_hash_sha256_update(&st, &type, 1);
	crypto_hash_sha256_update(&st, public_key, TLOG_PUBLIC_KEY_BYTES);
	crypto_hash_sha256_final(&st, hash);
	memcpy(out, hash, TLOG_KEY_ID_BYTES);
	return TLOG_OK;
}

static bool type_known(uint8_t type)
{
	return type == TLOG_TYPE_ED25519 || type == TLOG_TYPE_COSIGNATURE_V1;
}

tlog_err tlog_signer_init(tlog_signer *s, const char *name, uint8_t type, const uint8_t seed[TLOG_SEED_BYTES])
{
	if (!s || !name || !seed)
		return tlog_fail(TLOG_ERR_INVALID, "tlog_signer_init: NULL argument");
	if (!type_known(type))
		return tlog_fail(TLOG_ERR_INVALID, "signature type 0x%02x is neither 0x01 nor 0x04", type);
	if (strlen(name) > TLOG_NAME_BYTES_MAX)
		return tlog_fail(TLOG_ERR_MALFORMED, "key name longer than %d bytes", TLOG_NAME_BYTES_MAX);
	if (sodium_init() < 0)
		return tlog_fail(TLOG_ERR_INVALID, "libsodium failed to initialise");
	memset(s, 0, sizeof *s);
	crypto_sign_ed25519_seed_keypair(s->verifier.public_key, s->secret_key, seed);
	strcpy(s->verifier.name, name);
	s->verifier.type = type;
	tlog_err err = tlog_key_id(name, type, s->verifier.public_key, s->verifier.key_id);
	if (err)
		tlog_signer_wipe(s);
	return err;
}

void tlog_signer_wipe(tlog_signer *s)
{
	if (s)
		sodium_memzero(s, sizeof *s);
}

/* ---- verifier keys ------------------------------------------------------------------------ */

tlog_err tlog_vkey_format(const tlog_verifier *v, char *out, size_t cap)
{
	if (!v || !out)
		return tlog_fail(TLOG_ERR_INVALID, "tlog_vkey_format: NULL argument");
	uint8_t key[1 + TLOG_PUBLIC_KEY_BYTES] = {v->type};
	memcpy(key + 1, v->public_key, TLOG_PUBLIC_KEY_BYTES);
	char key_b64[sodium_base64_ENCODED_LEN(sizeof key, sodium_base64_VARIANT_ORIGINAL)];
	tlog_base64_encode(key, sizeof key, key_b64, sizeof key_b64);
	int n = snprintf(out, cap, "%s+%02x%02x%02x%02x+%s", v->name, v->key_id[0], v->key_id[1], v->key_id[2],
	                 v->key_id[3], key_b64);
	if (n < 0 || (size_t)n >= cap)
		return tlog_fail(TLOG_ERR_BUFFER_TOO_SMALL, "verifier key of %d bytes does not fit in %zu", n, cap);
	return TLOG_OK;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* upper case is refused: one spelling per key */
}

tlog_err tlog_vkey_parse(const char *vkey, tlog_verifier *out)
{
	if (!vkey || !out)
		return tlog_fail(TLOG_ERR_INVALID, "tlog_vkey_parse: NULL argument");
	const char *plus1 = strchr(vkey, '+');
	const char *plus2 = plus1 ? strchr(plus1 + 1, '+') : NULL;
	if (!plus1 || !plus2 || plus2 - plus1 != 9)
		return tlog_fail(TLOG_ERR_MALFORMED, "verifier key \"%.80s\" is not name+8 hex digits+base64", vkey);
	tlog_verifier v = {0};
	size_t name_bytes = (size_t)(plus1 - vkey);
	if (!tlog_name_valid(vkey, name_bytes))
		return tlog_fail(TLOG_ERR_MALFORMED, "verifier key \"%.80s\": bad key name", vkey);
	memcpy(v.name, vkey, name_bytes);
	uint8_t key_id[TLOG_KEY_ID_BYTES];
	for (int i = 0; i < 8; i++) {
		int d = hex_digit(plus1[1 + i]);
		if (d < 0)
			return tlog_fail(TLOG_ERR_MALFORMED,
			                 "verifier key \"%.80s\": key ID is not 8 lower-case hex digits", vkey);
		key_id[i / 2] = (uint8_t)(i % 2 ? (key_id[i / 2] | d) : d << 4);
	}
	uint8_t key[1 + TLOG_PUBLIC_KEY_BYTES];
	size_t key_bytes = 0;
	if (tlog_base64_decode(plus2 + 1, strlen(plus2 + 1), key, sizeof key, &key_bytes) != TLOG_OK ||
	    key_bytes != sizeof key)
		return tlog_fail(TLOG_ERR_MALFORMED, "verifier key \"%.80s\": key is not base64 of 33 bytes", vkey);
	if (!type_known(key[0]))
		return tlog_fail(TLOG_ERR_MALFORMED,
		                 "verifier key \"%.80s\": signature type 0x%02x is not 0x01 or 0x04", vkey, key[0]);
	v.type = key[0];
	memcpy(v.public_key, key + 1, TLOG_PUBLIC_KEY_BYTES);
	tlog_err err = tlog_key_id(v.name, v.type, v.public_key, v.key_id);
	if (err)
		return err;
	if (memcmp(v.key_id, key_id, TLOG_KEY_ID_BYTES) != 0)
		return tlog_fail(TLOG_ERR_MALFORMED,
		                 "verifier key \"%.80s\": key ID is not the hash of name, type and key", vkey);
	*out = v;
	return TLOG_OK;
}

/* ---- the signed message ------------------------------------------------------------------ */

/* "cosignature/v1\ntime T\n" into prefix; its length. */
static size_t cosignature_prefix(uint64_t timestamp, char prefix[COSIGNATURE_PREFIX_BYTES_MAX + 1])
{
	int n = snprintf(prefix, COSIGNATURE_PREFIX_BYTES_MAX + 1, COSIGNATURE_HEADER "%" PRIu64 "\n", timestamp);
	TLOG_ASSERT(n > 0 && (size_t)n <= COSIGNATURE_PREFIX_BYTES_MAX);
	return (size_t)n;
}

/* The bytes a signer of `type` signs for `text`: the text itself, or (cosignature) the prefix
 * and the text, in a buffer *message the caller frees (NULL when it is the text). */
static tlog_err signed_message(uint8_t type, uint64_t timestamp, const char *text, size_t text_bytes, uint8_t **message,
                               size_t *message_bytes)
{
	*message = NULL;
	if (type == TLOG_TYPE_ED25519) {
		*message_bytes = text_bytes;
		return TLOG_OK;
	}
	char prefix[COSIGNATURE_PREFIX_BYTES_MAX + 1];
	size_t prefix_bytes = cosignature_prefix(timestamp, prefix);
	*message = malloc(prefix_bytes + text_bytes);
	if (!*message)
		return tlog_fail(TLOG_ERR_NOMEM, "cosignature message of %zu bytes", prefix_bytes + text_bytes);
	memcpy(*message, prefix, prefix_bytes);
	memcpy(*message + prefix_bytes, text, text_bytes);
	*message_bytes = prefix_bytes + text_bytes;
	return TLOG_OK;
}

/* ---- parsing ----------------------------------------------------------------------------- */

typedef struct note_line {
	const char *name;
	size_t name_bytes;
	const char *signature_b64;
	size_t signature_b64_bytes;
} note_line;

typedef struct parsed_note {
	size_t text_bytes;
	size_t line_count;
	note_line lines[TLOG_NOTE_SIGNATURES_MAX];
} parsed_note;

/* One "— name base64\n" line at line[0, line_bytes) (without its '\n'). */
static tlog_err parse_signature_line(const char *line, size_t line_bytes, size_t number, note_line *out)
{
	if (line_bytes < EM_DASH_SPACE_BYTES || memcmp(line, EM_DASH_SPACE, EM_DASH_SPACE_BYTES) != 0)
		return tlog_fail(TLOG_ERR_MALFORMED, "signature line %zu does not start with an em dash and a space",
		                 number);
	const char *name = line + EM_DASH_SPACE_BYTES;
	const char *space = memchr(name, ' ', line_bytes - EM_DASH_SPACE_BYTES);
	if (!space)
		return tlog_fail(TLOG_ERR_MALFORMED, "signature line %zu has no space between name and signature",
		                 number);
	out->name = name;
	out->name_bytes = (size_t)(space - name);
	out->signature_b64 = space + 1;
	out->signature_b64_bytes = line_bytes - (size_t)(out->signature_b64 - line);
	if (!tlog_name_valid(out->name, out->name_bytes))
		return tlog_fail(TLOG_ERR_MALFORMED, "signature line %zu: bad key name", number);
	uint8_t decoded[SIGNATURE_BYTES_MAX]; /* decoded and dropped: only the syntax counts here */
	size_t decoded_bytes = 0;
	if (tlog_base64_decode(out->signature_b64, out->signature_b64_bytes, decoded, sizeof decoded, &decoded_bytes) ||
	    decoded_bytes <= TLOG_KEY_ID_BYTES)
		return tlog_fail(TLOG_ERR_MALFORMED,
		                 "signature line %zu: signature is not base64 of key ID and signature", number);
	return TLOG_OK;
}

static tlog_err parse_note(const char *note, size_t note_bytes, parsed_note *p)
{
	if (note_bytes > TLOG_NOTE_BYTES_MAX)
		return tlog_fail(TLOG_ERR_TOO_LARGE, "note of %zu bytes (at most %u)", note_bytes, TLOG_NOTE_BYTES_MAX);
	size_t bad = 0;
	if (!tlog_text_valid(note, note_bytes, &bad))
		return tlog_fail(TLOG_ERR_MALFORMED, "note byte %zu: not UTF-8, or a control character", bad);
	if (note_bytes == 0 || note[note_bytes - 1] != '\n')
		return tlog_fail(TLOG_ERR_MALFORMED, "note does not end in a newline");
	size_t blank = 0; /* offset of the last "\n\n" */
	bool found = false;
	for (size_t i = note_bytes - 1; i-- > 0;) {
		if (note[i] == '\n' && note[i + 1] == '\n') {
			blank = i, found = true;
			break;
		}
	}
	if (!found || blank + 2 >= note_bytes)
		return tlog_fail(TLOG_ERR_MALFORMED, "note has no blank line followed by signature lines");
	p->text_bytes = blank + 1;
	p->line_count = 0;
	for (size_t at = blank + 2; at < note_bytes;) {
		const char *end = memchr(note + at, '\n', note_bytes - at);
		TLOG_ASSERT(end); /* the note ends in '\n' */
		if (p->line_count == TLOG_NOTE_SIGNATURES_MAX)
			return tlog_fail(TLOG_ERR_MALFORMED, "more than %d signature lines", TLOG_NOTE_SIGNATURES_MAX);
		tlog_err err = parse_signature_line(note + at, (size_t)(end - (note + at)), p->line_count + 1,
		                                    &p->lines[p->line_count]);
		if (err)
			return err;
		p->line_count++;
		at = (size_t)(end - note) + 1;
	}
	return TLOG_OK;
}

/* ---- verifying --------------------------------------------------------------------------- */

/* Verifies one line known to be by v (name and key ID match). *timestamp: the cosignature's. */
static tlog_err verify_line(const char *text, size_t text_bytes, const note_line *line, const tlog_verifier *v,
                            uint64_t *timestamp)
{
	uint8_t sig[SIGNATURE_BYTES_MAX];
	size_t sig_bytes = 0;
	tlog_err err = tlog_base64_decode(line->signature_b64, line->signature_b64_bytes, sig, sizeof sig, &sig_bytes);
	TLOG_ASSERT(err == TLOG_OK); /* parse_note decoded it already */
	size_t want = TLOG_KEY_ID_BYTES + (v->type == TLOG_TYPE_COSIGNATURE_V1 ? 8 : 0) + TLOG_ED25519_SIGNATURE_BYTES;
	if (sig_bytes != want)
		return tlog_fail(TLOG_ERR_BAD_SIGNATURE, "signature by %s is %zu bytes, not %zu", v->name, sig_bytes,
		                 want);
	const uint8_t *ed25519 = sig + TLOG_KEY_ID_BYTES;
	*timestamp = 0;
	if (v->type == TLOG_TYPE_COSIGNATURE_V1) {
		uint64_t t = 0;
		for (int i = 0; i < 8; i++)
			t = (t << 8) | sig[TLOG_KEY_ID_BYTES + i];
		if (t > (uint64_t)TLOG_TIMESTAMP_MAX)
			return tlog_fail(TLOG_ERR_BAD_SIGNATURE, "cosignature by %s: timestamp past 2^63 - 1", v->name);
		*timestamp = t;
		ed25519 += 8;
	}
	uint8_t *message;
	size_t message_bytes = 0;
	if ((err = signed_message(v->type, *timestamp, text, text_bytes, &message, &message_bytes)) != TLOG_OK)
		return err;
	int rc = crypto_sign_ed25519_verify_detached(ed25519, message ? message : (const uint8_t *)text, message_bytes,
	                                             v->public_key);
	free(message);
	if (rc != 0)
		return tlog_fail(TLOG_ERR_BAD_SIGNATURE,
		                 "the signature by %s (key ID %02x%02x%02x%02x) does not verify", v->name, v->key_id[0],
		                 v->key_id[1], v->key_id[2], v->key_id[3]);
	return TLOG_OK;
}

/* The verifier whose name and key ID the line carries, or -1. */
static int find_verifier(const note_line *line, const tlog_verifier *verifiers, size_t verifier_count)
{
	uint8_t sig[SIGNATURE_BYTES_MAX];
	size_t sig_bytes = 0;
	if (tlog_base64_decode(line->signature_b64, line->signature_b64_bytes, sig, sizeof sig, &sig_bytes) != TLOG_OK)
		return -1;
	for (size_t i = 0; i < verifier_count; i++) {
		const tlog_verifier *v = &verifiers[i];
		if (strlen(v->name) == line->name_bytes && memcmp(v->name, line->name, line->name_bytes) == 0 &&
		    memcmp(v->key_id, sig, TLOG_KEY_ID_BYTES) == 0)
			return (int)i;
	}
	return -1;
}

tlog_err tlog_note_open(const char *note, size_t note_bytes, const tlog_verifier *verifiers, size_t verifier_count,
                        tlog_note_result *result)
{
	if (!note || !result || (!verifiers && verifier_count))
		return tlog_fail(TLOG_ERR_INVALID, "tlog_note_open: NULL argument");
	if (verifier_count > TLOG_VERIFIERS_MAX)
		return tlog_fail(TLOG_ERR_INVALID, "%zu verifiers (at most %d)", verifier_count, TLOG_VERIFIERS_MAX);
	if (sodium_init() < 0)
		return tlog_fail(TLOG_ERR_INVALID, "libsodium failed to initialise");
	memset(result, 0, sizeof *result);
	parsed_note *p = malloc(sizeof *p);
	if (!p)
		return tlog_fail(TLOG_ERR_NOMEM, "parsing a note");
	tlog_err err = parse_note(note, note_bytes, p);
	size_t verified_count = 0;
	for (size_t i = 0; err == TLOG_OK && i < p->line_count; i++) {
		int known = find_verifier(&p->lines[i], verifiers, verifier_count);
		if (known < 0) {
			result->unknown_count++;
			continue;
		}
		if (result->verified[known]) {
			err = tlog_fail(TLOG_ERR_DUPLICATE_SIGNATURE, "key %s signed the note twice",
			                verifiers[known].name);
			break;
		}
		err = verify_line(note, p->text_bytes, &p->lines[i], &verifiers[known], &result->timestamps[known]);
		if (err == TLOG_OK) {
			result->verified[known] = true;
			verified_count++;
		}
	}
	if (err == TLOG_OK && verified_count == 0)
		err = tlog_fail(TLOG_ERR_NO_SIGNATURE, "no signature by any of the %zu known keys", verifier_count);
	if (err == TLOG_OK) {
		result->text_bytes = p->text_bytes;
		result->signature_count = p->line_count;
	} else {
		memset(result, 0, sizeof *result);
	}
	free(p);
	return err;
}

/* ---- signing ----------------------------------------------------------------------------- */

/* Writes "— name base64(key ID || [timestamp] || signature)\n" for text into out[cap]. */
static tlog_err signature_line(const char *text, size_t text_bytes, const tlog_signer *signer, uint64_t timestamp,
                               char *out, size_t cap, size_t *out_bytes)
{
	const tlog_verifier *v = &signer->verifier;
	if (v->type == TLOG_TYPE_COSIGNATURE_V1 && timestamp > (uint64_t)TLOG_TIMESTAMP_MAX)
		return tlog_fail(TLOG_ERR_INVALID, "cosignature timestamp %" PRIu64 " past 2^63 - 1", timestamp);
	uint8_t sig[TLOG_KEY_ID_BYTES + 8 + TLOG_ED25519_SIGNATURE_BYTES];
	size_t sig_bytes = 0;
	memcpy(sig, v->key_id, TLOG_KEY_ID_BYTES);
	sig_bytes += TLOG_KEY_ID_BYTES;
	if (v->type == TLOG_TYPE_COSIGNATURE_V1) {
		for (int i = 0; i < 8; i++)
			sig[sig_bytes + i] = (uint8_t)(timestamp >> (56 - 8 * i));
		sig_bytes += 8;
	}
	uint8_t *message;
	size_t message_bytes = 0;
	tlog_err err = signed_message(v->type, timestamp, text, text_bytes, &message, &message_bytes);
	if (err)
		return err;
	crypto_sign_ed25519_detached(sig + sig_bytes, NULL, message ? message : (const uint8_t *)text, message_bytes,
	                             signer->secret_key);
	free(message);
	sig_bytes += TLOG_ED25519_SIGNATURE_BYTES;
	char sig_b64[sodium_base64_ENCODED_LEN(sizeof sig, sodium_base64_VARIANT_ORIGINAL)];
	tlog_base64_encode(sig, sig_bytes, sig_b64, sizeof sig_b64);
	int n = snprintf(out, cap, EM_DASH_SPACE "%s %s\n", v->name, sig_b64);
	if (n < 0 || (size_t)n >= cap)
		return tlog_fail(TLOG_ERR_BUFFER_TOO_SMALL, "signature line does not fit in %zu bytes", cap);
	*out_bytes = (size_t)n;
	return TLOG_OK;
}

static tlog_err check_signer(const tlog_signer *signer, const char *in, char *out, size_t *out_bytes)
{
	if (!signer || !in || !out || !out_bytes)
		return tlog_fail(TLOG_ERR_INVALID, "signing: NULL argument");
	if (!type_known(signer->verifier.type))
		return tlog_fail(TLOG_ERR_INVALID, "signer of unknown type 0x%02x", signer->verifier.type);
	if (sodium_init() < 0)
		return tlog_fail(TLOG_ERR_INVALID, "libsodium failed to initialise");
	return TLOG_OK;
}

tlog_err tlog_note_sign(const char *text, size_t text_bytes, const tlog_signer *signer, uint64_t timestamp, char *out,
                        size_t cap, size_t *out_bytes)
{
	tlog_err err = check_signer(signer, text, out, out_bytes);
	if (err)
		return err;
	size_t bad = 0;
	if (text_bytes == 0 || text_bytes > TLOG_NOTE_BYTES_MAX)
		return tlog_fail(TLOG_ERR_TOO_LARGE, "note text of %zu bytes (1 to %u)", text_bytes,
		                 TLOG_NOTE_BYTES_MAX);
	if (!tlog_text_valid(text, text_bytes, &bad))
		return tlog_fail(TLOG_ERR_MALFORMED, "note text byte %zu: not UTF-8, or a control character", bad);
	if (text[text_bytes - 1] != '\n')
		return tlog_fail(TLOG_ERR_MALFORMED, "note text does not end in a newline");
	if (cap < text_bytes + 2)
		return tlog_fail(TLOG_ERR_BUFFER_TOO_SMALL, "signed note does not fit in %zu bytes", cap);
	memmove(out, text, text_bytes); /* out may be text's own buffer */
	out[text_bytes] = '\n';
	size_t line_bytes = 0;
	err =
	    signature_line(out, text_bytes, signer, timestamp, out + text_bytes + 1, cap - text_bytes - 1, &line_bytes);
	if (err)
		return err;
	*out_bytes = text_bytes + 1 + line_bytes;
	return TLOG_OK;
}

tlog_err tlog_note_add_signature(const char *note, size_t note_bytes, const tlog_signer *signer, uint64_t timestamp,
                                 char *out, size_t cap, size_t *out_bytes)
{
	tlog_err err = check_signer(signer, note, out, out_bytes);
	if (err)
		return err;
	parsed_note *p = malloc(sizeof *p);
	if (!p)
		return tlog_fail(TLOG_ERR_NOMEM, "parsing a note");
	err = parse_note(note, note_bytes, p);
	size_t line_count = p->line_count, text_bytes = p->text_bytes;
	free(p);
	if (err)
		return err;
	if (line_count >= TLOG_NOTE_SIGNATURES_MAX)
		return tlog_fail(TLOG_ERR_TOO_LARGE, "the note has %d signatures already", TLOG_NOTE_SIGNATURES_MAX);
	if (cap <= note_bytes)
		return tlog_fail(TLOG_ERR_BUFFER_TOO_SMALL, "signed note does not fit in %zu bytes", cap);
	memmove(out, note, note_bytes); /* out may be note's own buffer */
	size_t line_bytes = 0;
	err = signature_line(out, text_bytes, signer, timestamp, out + note_bytes, cap - note_bytes, &line_bytes);
	if (err)
		return err;
	if (note_bytes + line_bytes > TLOG_NOTE_BYTES_MAX)
		return tlog_fail(TLOG_ERR_TOO_LARGE, "signed note would be over %u bytes", TLOG_NOTE_BYTES_MAX);
	*out_bytes = note_bytes + line_bytes;
	return TLOG_OK;
}
