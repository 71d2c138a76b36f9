/*
 * tlog_note_test: the C2SP formats of tlog/. A note signed by the Go reference implementation
 * (golang.org/x/mod/sumdb/note's test key "PeterNeumann") opens; notes, checkpoints and
 * cosignatures round-trip; verifier keys round-trip and every malformed one is refused; a note
 * is refused when a known key's signature is wrong or doubled, when no known key signed it,
 * and when any line breaks the format.
 */
#include "../check.h"
#include "tlog.h"

#include <sodium.h>

#define NOTE_CAP (TLOG_NOTE_BYTES_MAX + 512)

static const char go_vkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char go_note[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xE2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXg"
    "KvqfqdngotpRZb6KE6RyyBwJnAM=\n";

static char buffer[NOTE_CAP], buffer2[NOTE_CAP];

static void seed_of(uint8_t fill, uint8_t seed[TLOG_SEED_BYTES])
{
	memset(seed, fill, TLOG_SEED_BYTES);
}

/* A signer named name, of type `type`, from the seed seed_of(fill) makes. */
static tlog_err signer_make(tlog_signer *s, const char *name, uint8_t type, uint8_t fill)
{
	uint8_t seed[TLOG_SEED_BYTES];
	seed_of(fill, seed);
	return tlog_signer_init(s, name, type, seed);
}

static tlog_err open_one(const char *note, const tlog_verifier *v)
{
	tlog_note_result r;
	return tlog_note_open(note, strlen(note), v, 1, &r);
}

static void test_go_vector(void)
{
	tlog_verifier v;
	REQUIRE_VOID(tlog_vkey_parse(go_vkey, &v) == TLOG_OK);
	CHECK(strcmp(v.name, "PeterNeumann") == 0 && v.type == TLOG_TYPE_ED25519, "parsed name and type");
	uint8_t id[4];
	CHECK(tlog_key_id(v.name, v.type, v.public_key, id) == TLOG_OK && memcmp(id, "\xc7\x4f\x20\xa3", 4) == 0,
	      "key ID of the Go vector");
	char again[TLOG_VKEY_BYTES_MAX + 1];
	CHECK(tlog_vkey_format(&v, again, sizeof again) == TLOG_OK && strcmp(again, go_vkey) == 0, "vkey round trip");
	tlog_note_result r;
	CHECK(tlog_note_open(go_note, strlen(go_note), &v, 1, &r) == TLOG_OK && r.verified[0], "the Go note opens: %s",
	      tlog_last_error());
	CHECK(r.text_bytes == strlen(go_note) - strlen(strstr(go_note, "\n\n")) + 1, "text ends at the blank line");
	/* The text changed by one character. */
	strcpy(buffer, go_note);
	buffer[3] = 'Y';
	CHECK(open_one(buffer, &v) == TLOG_ERR_BAD_SIGNATURE, "a changed text is refused");
}

static void test_vkey_refusals(void)
{
	static const char *bad[] = {
	    "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  /* key ID not the hash */
	    "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  /* upper-case hex */
	    "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",   /* 7 digits */
	    "PeterNeumann+c74f20a3+AhpcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",     /* short key */
	    "PeterNeumann+c74f20a3+AhpcQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW!",  /* not base64 */
	    "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", /* a space in the name */
	    "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",              /* no name */
	    "PeterNeumann+c74f20a3",                                               /* no key */
	    "PeterNeumann",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		tlog_verifier v;
		CHECK(tlog_vkey_parse(bad[i], &v) == TLOG_ERR_MALFORMED, "vkey %s refused", bad[i]);
	}
	/* Type 0x02 (ECDSA) is not one this library verifies. */
	uint8_t key[33] = {0x02};
	char b64[64], vkey[TLOG_VKEY_BYTES_MAX + 1];
	tlog_base64_encode(key, sizeof key, b64, sizeof b64);
	snprintf(vkey, sizeof vkey, "x+00000000+%s", b64);
	tlog_verifier v;
	CHECK(tlog_vkey_parse(vkey, &v) == TLOG_ERR_MALFORMED, "type 0x02 refused");
}

static void test_round_trip_and_refusals(void)
{
	tlog_signer log, other, impostor;
	REQUIRE_VOID(signer_make(&log, "example.org/log", TLOG_TYPE_ED25519, 1) == TLOG_OK);
	REQUIRE_VOID(signer_make(&other, "example.org/other", TLOG_TYPE_ED25519, 2) == TLOG_OK);
	REQUIRE_VOID(signer_make(&impostor, "example.org/log", TLOG_TYPE_ED25519, 2) == TLOG_OK);
	char vkey[TLOG_VKEY_BYTES_MAX + 1];
	tlog_verifier parsed;
	CHECK(tlog_vkey_format(&log.verifier, vkey, sizeof vkey) == TLOG_OK &&
	          tlog_vkey_parse(vkey, &parsed) == TLOG_OK && memcmp(&parsed, &log.verifier, sizeof parsed) == 0,
	      "vkey of a new key round-trips");
	/* Many keys: some base64 parts hold '+', which must not be taken for a separator. */
	int with_plus = 0;
	for (int i = 0; i < 64; i++) {
		tlog_signer s;
		REQUIRE_VOID(signer_make(&s, "k", TLOG_TYPE_COSIGNATURE_V1, (uint8_t)(100 + i)) == TLOG_OK);
		CHECK(tlog_vkey_format(&s.verifier, vkey, sizeof vkey) == TLOG_OK &&
		          tlog_vkey_parse(vkey, &parsed) == TLOG_OK && memcmp(&parsed, &s.verifier, sizeof parsed) == 0,
		      "vkey %s round-trips", vkey);
		with_plus += strchr(vkey + 11, '+') != NULL;
		tlog_signer_wipe(&s);
	}
	CHECK(with_plus > 0, "some of the keys have a '+' in their base64");
	const char *text = "hello\n\nworld\n"; /* an empty line inside the text is allowed */
	size_t n = 0;
	REQUIRE_VOID(tlog_note_sign(text, strlen(text), &log, 0, buffer, sizeof buffer, &n) == TLOG_OK);
	CHECK(n == strlen(buffer), "the note is NUL-terminated at its length");
	tlog_note_result r;
	CHECK(tlog_note_open(buffer, n, &log.verifier, 1, &r) == TLOG_OK && r.text_bytes == strlen(text),
	      "round trip: %s", tlog_last_error());
	CHECK(open_one(buffer, &other.verifier) == TLOG_ERR_NO_SIGNATURE, "another key's note: no known signature");
	CHECK(open_one(buffer, &impostor.verifier) == TLOG_ERR_NO_SIGNATURE, "same name, other key ID: ignored");
	/* Same name and key ID, other public key: the line is the known key's and fails. */
	tlog_verifier collided = log.verifier;
	memcpy(collided.public_key, other.verifier.public_key, 32);
	CHECK(open_one(buffer, &collided) == TLOG_ERR_BAD_SIGNATURE, "a colliding key ID with another key");
	/* The signature's last byte changed (re-encoded canonically). */
	{
		char *b64 = strrchr(buffer, ' ') + 1;
		uint8_t sig[68];
		size_t sig_bytes;
		REQUIRE_VOID(tlog_base64_decode(b64, strlen(b64) - 1, sig, sizeof sig, &sig_bytes) == TLOG_OK);
		sig[67] ^= 1;
		strcpy(buffer2, buffer);
		tlog_base64_encode(sig, sig_bytes, strrchr(buffer2, ' ') + 1, 100);
		strcat(buffer2, "\n");
		CHECK(open_one(buffer2, &log.verifier) == TLOG_ERR_BAD_SIGNATURE, "a changed signature");
		sig[67] ^= 1;
		tlog_base64_encode(sig, 40, strrchr(buffer2, ' ') + 1, 100); /* truncated signature */
		strcat(buffer2, "\n");
		CHECK(open_one(buffer2, &log.verifier) == TLOG_ERR_BAD_SIGNATURE, "a truncated signature");
	}
	/* Two lines by the same key. */
	size_t n2 = 0;
	REQUIRE_VOID(tlog_note_add_signature(buffer, n, &log, 0, buffer2, sizeof buffer2, &n2) == TLOG_OK);
	CHECK(open_one(buffer2, &log.verifier) == TLOG_ERR_DUPLICATE_SIGNATURE, "one key twice");
	/* Another key's line is ignored when the reader does not know it; both verify when it does. */
	REQUIRE_VOID(tlog_note_add_signature(buffer, n, &other, 0, buffer2, sizeof buffer2, &n2) == TLOG_OK);
	CHECK(tlog_note_open(buffer2, n2, &log.verifier, 1, &r) == TLOG_OK && r.unknown_count == 1 &&
	          r.signature_count == 2,
	      "an unknown signature is ignored");
	tlog_verifier both[2] = {log.verifier, other.verifier};
	CHECK(tlog_note_open(buffer2, n2, both, 2, &r) == TLOG_OK && r.verified[0] && r.verified[1], "two signers");
	tlog_signer_wipe(&log);
	tlog_signer_wipe(&other);
	tlog_signer_wipe(&impostor);
}

/* A valid line to build malformed notes from. */
static void test_malformed_notes(void)
{
	uint8_t seed[32];
	tlog_signer log;
	seed_of(7, seed);
	REQUIRE_VOID(tlog_signer_init(&log, "log", TLOG_TYPE_ED25519, seed) == TLOG_OK);
	size_t n = 0;
	REQUIRE_VOID(tlog_note_sign("text\n", 5, &log, 0, buffer, sizeof buffer, &n) == TLOG_OK);
	const char *line = buffer + 6; /* "— log ...\n" */
	struct {
		const char *what, *note;
	} cases[] = {
	    {"no blank line", "text\n"},
	    {"no signature after the blank line", "text\n\n"},
	    {"no final newline", "text\n\n\xE2\x80\x94 log AAAAAAAA"},
	    {"two hyphens instead of an em dash", "text\n\n-- log AAAAAAAA\n"},
	    {"no space after the em dash", "text\n\n\xE2\x80\x94log AAAAAAAA\n"},
	    {"no signature after the name", "text\n\n\xE2\x80\x94 log\n"},
	    {"an empty signature", "text\n\n\xE2\x80\x94 log \n"},
	    {"a '+' in the name", "text\n\n\xE2\x80\x94 lo+g AAAAAAAA\n"},
	    {"a signature of 4 bytes", "text\n\n\xE2\x80\x94 log AAAAAA==\n"},
	    {"bad base64", "text\n\n\xE2\x80\x94 log AAAA*AAA\n"},
	    {"unpadded base64", "text\n\n\xE2\x80\x94 log AAAAAAAAAA\n"},
	    {"a tab in the text", "te\txt\n\n\xE2\x80\x94 log AAAAAAAA\n"},
	    {"a carriage return", "text\r\n\n\xE2\x80\x94 log AAAAAAAA\n"},
	    {"invalid UTF-8", "te\xC3xt\n\n\xE2\x80\x94 log AAAAAAAA\n"},
	    {"an overlong UTF-8 slash", "te\xC0\xAFxt\n\n\xE2\x80\x94 log AAAAAAAA\n"},
	    {"a blank line among signatures", "text\n\n\xE2\x80\x94 log AAAAAAAA\n\n"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CHECK(open_one(cases[i].note, &log.verifier) == TLOG_ERR_MALFORMED, "%s: refused as malformed (%s)",
		      cases[i].what, tlog_last_error());
	/* A good note followed by a malformed line is malformed, whatever the good line says. */
	snprintf(buffer2, sizeof buffer2, "text\n\n%.150s\xE2\x80\x94 log AAAA*AAA\n", line);
	CHECK(open_one(buffer2, &log.verifier) == TLOG_ERR_MALFORMED, "a malformed line after a good one");
	/* TLOG_NOTE_SIGNATURES_MAX lines are read; one more is refused. */
	size_t at = (size_t)snprintf(buffer2, sizeof buffer2, "text\n\n%.150s", line);
	for (int i = 1; i < TLOG_NOTE_SIGNATURES_MAX; i++)
		at += (size_t)snprintf(buffer2 + at, sizeof buffer2 - at, "\xE2\x80\x94 w%d AAAAAAAA\n", i);
	tlog_note_result r;
	CHECK(tlog_note_open(buffer2, at, &log.verifier, 1, &r) == TLOG_OK && r.unknown_count == 99,
	      "%d signature lines: %s", TLOG_NOTE_SIGNATURES_MAX, tlog_last_error());
	at += (size_t)snprintf(buffer2 + at, sizeof buffer2 - at, "\xE2\x80\x94 last AAAAAAAA\n");
	CHECK(tlog_note_open(buffer2, at, &log.verifier, 1, &r) == TLOG_ERR_MALFORMED, "one line too many");
	/* A note over the size limit. */
	memset(buffer2, 'a', TLOG_NOTE_BYTES_MAX);
	buffer2[TLOG_NOTE_BYTES_MAX] = '\n';
	CHECK(tlog_note_open(buffer2, TLOG_NOTE_BYTES_MAX + 1, &log.verifier, 1, &r) == TLOG_ERR_TOO_LARGE,
	      "too large");
	CHECK(tlog_note_sign(buffer2, TLOG_NOTE_BYTES_MAX + 1, &log, 0, buffer, sizeof buffer, &n) ==
	          TLOG_ERR_TOO_LARGE,
	      "too large to sign");
	/* Texts that cannot be signed. */
	CHECK(tlog_note_sign("no newline", 10, &log, 0, buffer, sizeof buffer, &n) == TLOG_ERR_MALFORMED, "no newline");
	CHECK(tlog_note_sign("a\tb\n", 4, &log, 0, buffer, sizeof buffer, &n) == TLOG_ERR_MALFORMED, "a tab");
	CHECK(tlog_note_sign("ok\n", 3, &log, 0, buffer, 20, &n) == TLOG_ERR_BUFFER_TOO_SMALL, "no room");
	tlog_signer bad;
	CHECK(tlog_signer_init(&bad, "has space", TLOG_TYPE_ED25519, seed) == TLOG_ERR_MALFORMED, "name with a space");
	CHECK(tlog_signer_init(&bad, "a\xC2\xA0name", TLOG_TYPE_ED25519, seed) == TLOG_ERR_MALFORMED,
	      "a no-break space");
	CHECK(tlog_signer_init(&bad, "", TLOG_TYPE_ED25519, seed) == TLOG_ERR_MALFORMED, "empty name");
	CHECK(tlog_signer_init(&bad, "x", 0x02, seed) == TLOG_ERR_INVALID, "type 0x02");
	tlog_signer_wipe(&log);
}

static void test_checkpoint_and_cosignature(void)
{
	tlog_signer log, witness, witness2;
	REQUIRE_VOID(signer_make(&log, "example.org/log", TLOG_TYPE_ED25519, 3) == TLOG_OK);
	REQUIRE_VOID(signer_make(&witness, "witness.example/w1", TLOG_TYPE_COSIGNATURE_V1, 4) == TLOG_OK);
	REQUIRE_VOID(signer_make(&witness2, "witness.example/w2", TLOG_TYPE_COSIGNATURE_V1, 5) == TLOG_OK);
	tlog_checkpoint c = {.origin = "example.org/log", .size = 20852163};
	for (int i = 0; i < 32; i++)
		c.root[i] = (uint8_t)i;
	char text[TLOG_CHECKPOINT_TEXT_BYTES_MAX + 1];
	size_t text_bytes = 0;
	REQUIRE_VOID(tlog_checkpoint_format(&c, text, sizeof text, &text_bytes) == TLOG_OK);
	CHECK(strcmp(text, "example.org/log\n20852163\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n") == 0,
	      "checkpoint text: %s", text);
	size_t n = 0, n2 = 0;
	REQUIRE_VOID(tlog_note_sign(text, text_bytes, &log, 0, buffer, sizeof buffer, &n) == TLOG_OK);
	const uint64_t t = 1679315147;
	REQUIRE_VOID(tlog_note_add_signature(buffer, n, &witness, t, buffer2, sizeof buffer2, &n2) == TLOG_OK);
	tlog_checkpoint opened;
	tlog_note_result r;
	CHECK(tlog_checkpoint_open(buffer2, n2, &log.verifier, &witness.verifier, 1, &opened, &r) == TLOG_OK &&
	          r.verified[0] && r.verified[1] && r.timestamps[1] == t,
	      "cosigned checkpoint opens: %s", tlog_last_error());
	CHECK(strcmp(opened.origin, c.origin) == 0 && opened.size == c.size && memcmp(opened.root, c.root, 32) == 0 &&
	          strcmp(opened.extensions, c.extensions) == 0,
	      "checkpoint round trip");
	/* The cosignature's bytes, as c2sp.org/tlog-cosignature spells them. */
	{
		const char *b64 = strrchr(buffer2, ' ') + 1;
		uint8_t sig[76];
		size_t sig_bytes = 0;
		CHECK(tlog_base64_decode(b64, strlen(b64) - 1, sig, sizeof sig, &sig_bytes) == TLOG_OK &&
		          sig_bytes == 76,
		      "cosignature is key ID, timestamp, signature");
		CHECK(memcmp(sig, witness.verifier.key_id, 4) == 0, "cosignature key ID");
		CHECK(memcmp(sig + 4, "\x00\x00\x00\x00\x64\x18\x50\xcb", 8) == 0, "timestamp big-endian");
		char message[512];
		int m = snprintf(message, sizeof message, "cosignature/v1\ntime 1679315147\n%s", text);
		CHECK(crypto_sign_ed25519_verify_detached(sig + 12, (const uint8_t *)message, (size_t)m,
		                                          witness.verifier.public_key) == 0,
		      "Ed25519 over cosignature/v1, time and the checkpoint");
		uint8_t id[4];
		const uint8_t type = 0x04;
		uint8_t pre[64];
		size_t name_bytes = strlen(witness.verifier.name);
		memcpy(pre, witness.verifier.name, name_bytes);
		pre[name_bytes] = '\n';
		pre[name_bytes + 1] = type;
		uint8_t digest[32];
		crypto_hash_sha256_state st;
		crypto_hash_sha256_init(&st);
		crypto_hash_sha256_update(&st, pre, name_bytes + 2);
		crypto_hash_sha256_update(&st, witness.verifier.public_key, 32);
		crypto_hash_sha256_final(&st, digest);
		memcpy(id, digest, 4);
		CHECK(memcmp(id, witness.verifier.key_id, 4) == 0, "cosigner key ID uses type 0x04");
	}
	/* A cosignature alone does not open a checkpoint; the log's signature is required. */
	tlog_verifier witnesses[2] = {witness.verifier, witness2.verifier};
	CHECK(tlog_checkpoint_open(buffer2, n2, &witness2.verifier, witnesses, 1, &opened, &r) == TLOG_ERR_INVALID,
	      "a cosigner key is not a log key");
	CHECK(tlog_checkpoint_open(buffer2, n2, &log.verifier, witnesses, 2, &opened, &r) == TLOG_OK && !r.verified[2],
	      "a witness that did not cosign is reported as such");
	/* A cosignature checked against another timestamp fails: the time is signed. */
	{
		char *b64 = strrchr(buffer2, ' ') + 1;
		uint8_t sig[76];
		size_t sig_bytes;
		REQUIRE_VOID(tlog_base64_decode(b64, strlen(b64) - 1, sig, sizeof sig, &sig_bytes) == TLOG_OK);
		sig[11] ^= 1;
		tlog_base64_encode(sig, sig_bytes, b64, 120);
		strcat(buffer2, "\n");
		CHECK(tlog_checkpoint_open(buffer2, strlen(buffer2), &log.verifier, witnesses, 1, &opened, &r) ==
		          TLOG_ERR_BAD_SIGNATURE,
		      "a changed timestamp");
		sig[11] ^= 1;
		sig[4] = 0x80; /* past 2^63 - 1 */
		tlog_base64_encode(sig, sig_bytes, b64, 120);
		strcat(buffer2, "\n");
		CHECK(tlog_checkpoint_open(buffer2, strlen(buffer2), &log.verifier, witnesses, 1, &opened, &r) ==
		          TLOG_ERR_BAD_SIGNATURE,
		      "a timestamp past 2^63 - 1");
	}
	CHECK(tlog_note_add_signature(buffer, n, &witness, (uint64_t)INT64_MAX + 1, buffer2, sizeof buffer2, &n2) ==
	          TLOG_ERR_INVALID,
	      "no cosignature past 2^63 - 1");
	/* Origin other than the log key's name. */
	tlog_checkpoint foreign = c;
	strcpy(foreign.origin, "example.org/other");
	REQUIRE_VOID(tlog_checkpoint_format(&foreign, text, sizeof text, &text_bytes) == TLOG_OK);
	REQUIRE_VOID(tlog_note_sign(text, text_bytes, &log, 0, buffer, sizeof buffer, &n) == TLOG_OK);
	CHECK(tlog_checkpoint_open(buffer, n, &log.verifier, NULL, 0, &opened, &r) == TLOG_ERR_MALFORMED,
	      "origin is not the log's name");
	tlog_signer_wipe(&log);
	tlog_signer_wipe(&witness);
	tlog_signer_wipe(&witness2);
}

static void test_checkpoint_text(void)
{
	tlog_checkpoint c;
	const char *root = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
	char text[512];
	snprintf(text, sizeof text, "o\n18446744073709551615\n%s\next one\next two\n", root);
	CHECK(tlog_checkpoint_parse(text, strlen(text), &c) == TLOG_OK && c.size == UINT64_MAX &&
	          strcmp(c.extensions, "ext one\next two\n") == 0,
	      "largest size and extension lines: %s", tlog_last_error());
	char again[TLOG_CHECKPOINT_TEXT_BYTES_MAX + 1];
	size_t n;
	CHECK(tlog_checkpoint_format(&c, again, sizeof again, &n) == TLOG_OK && strcmp(again, text) == 0,
	      "format gives the text back");
	snprintf(text, sizeof text, "o\n0\n%s\n", root);
	CHECK(tlog_checkpoint_parse(text, strlen(text), &c) == TLOG_OK && c.size == 0, "size 0");
	static const char *bad_sizes[] = {"01", "18446744073709551616", "-1", "+1", "1 ", "", "1e3", "0x10"};
	for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
		snprintf(text, sizeof text, "o\n%s\n%s\n", bad_sizes[i], root);
		CHECK(tlog_checkpoint_parse(text, strlen(text), &c) == TLOG_ERR_MALFORMED, "size \"%s\" refused",
		      bad_sizes[i]);
	}
	static const char *bad_texts[] = {
	    "o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n",   /* a 31-byte root */
	    "o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n",    /* unpadded */
	    "o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",     /* no final newline */
	    "o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n", /* an empty extension line */
	    "\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",    /* empty origin */
	    "o\n1\n",                                                 /* no root */
	};
	for (size_t i = 0; i < sizeof bad_texts / sizeof bad_texts[0]; i++)
		CHECK(tlog_checkpoint_parse(bad_texts[i], strlen(bad_texts[i]), &c) == TLOG_ERR_MALFORMED,
		      "checkpoint text %zu refused", i);
	tlog_checkpoint bad = {.origin = "has space", .size = 1};
	CHECK(tlog_checkpoint_format(&bad, again, sizeof again, &n) == TLOG_ERR_MALFORMED, "origin with a space");
	tlog_checkpoint bad_ext = {.origin = "o", .extensions = "no newline"};
	CHECK(tlog_checkpoint_format(&bad_ext, again, sizeof again, &n) == TLOG_ERR_MALFORMED, "extension line");
	/* Base64: the last character's unused bits must be zero (one spelling per value). */
	uint8_t out[32];
	size_t out_bytes;
	CHECK(tlog_base64_decode("AB==", 4, out, sizeof out, &out_bytes) == TLOG_ERR_MALFORMED, "non-canonical base64");
	CHECK(tlog_base64_decode("AA==", 4, out, sizeof out, &out_bytes) == TLOG_OK && out_bytes == 1, "canonical");
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_go_vector();
	test_vkey_refusals();
	test_round_trip_and_refusals();
	test_malformed_notes();
	test_checkpoint_and_cosignature();
	test_checkpoint_text();
	return check_report("tlog_note_test");
}
