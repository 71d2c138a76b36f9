/*
 * tlog.h: a transparency log's cryptography, with no storage, clock or randomness of its own.
 *
 * - The Merkle tree of RFC 9162 (Certificate Transparency v2) §2.1 over the log's entries:
 *   leaf hashes, an incremental tree (a compact range: one hash per full subtree of the
 *   current size, O(log n) per append), the root of any past size, inclusion and consistency
 *   proofs (generated from stored subtree hashes through a callback, verified from the proof
 *   alone).
 * - The C2SP text formats: signed-note (Ed25519 note signatures, key IDs, verifier keys),
 *   tlog-checkpoint (the tree head a log signs) and tlog-cosignature/v1 (a witness's
 *   timestamped Ed25519 signature of a checkpoint).
 *
 * docs/tlog.md gives every byte, so that a third party can verify without this code.
 *
 * Errors are returned as tlog_err; tlog_strerror() names them, and tlog_last_error() says
 * which input was bad (a thread-local message, valid until the thread's next tlog call).
 * Nothing here calls exit(), reads the clock or draws random bytes: keys (as 32-byte seeds)
 * and times are arguments. Outputs are caller-allocated and sized by the caller; a function
 * that writes text into `out` takes its capacity and never writes past it.
 * Thread safety: no global state but the error message; a tlog_tree or tlog_mem_store is used
 * by one thread at a time.
 */
#ifndef TLOG_TLOG_H
#define TLOG_TLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLOG_HASH_BYTES 32
/* A tree of 2^64 - 1 leaves has at most 64 full subtrees. */
#define TLOG_TREE_LEVELS_MAX 64
/* RFC 9162: an inclusion proof has at most ceil(log2(n)) hashes, a consistency proof at most
 * ceil(log2(n)) + 1; with n < 2^64 both fit in 65. */
#define TLOG_PROOF_HASHES_MAX 65

typedef enum {
	TLOG_OK = 0,
	TLOG_ERR_INVALID,             /* a bad argument (a bug in the caller): NULL, a size out of order */
	TLOG_ERR_RANGE,               /* an index or tree size past what the tree or store holds */
	TLOG_ERR_NOT_FOUND,           /* the subtree source has no hash for a subtree asked for */
	TLOG_ERR_STORE,               /* the subtree source failed (its own error is in its context) */
	TLOG_ERR_NOMEM,               /* out of memory */
	TLOG_ERR_BUFFER_TOO_SMALL,    /* the output does not fit in the capacity given */
	TLOG_ERR_TOO_LARGE,           /* an input over one of the limits below */
	TLOG_ERR_PROOF,               /* the proof does not prove what it is said to */
	TLOG_ERR_MALFORMED,           /* text not in its format: note, checkpoint, key, base64 */
	TLOG_ERR_BAD_SIGNATURE,       /* a signature by a known key does not verify: reject the note */
	TLOG_ERR_NO_SIGNATURE,        /* no signature by a required known key */
	TLOG_ERR_DUPLICATE_SIGNATURE, /* one known key signed the note twice */
} tlog_err;

/* A static string naming err. Never NULL. */
const char *tlog_strerror(tlog_err err);

/* What the last failing call on this thread found wrong, naming the input ("" if nothing). */
const char *tlog_last_error(void);

/* ---------------------------------------------------------------------------------------- */
/* Hashes (RFC 9162 §2.1.1)                                                                  */

/* SHA-256 of the concatenation of parts (OpenSSL's EVP: the CPU's SHA instructions). */
typedef struct tlog_bytes {
	const void *bytes;
	size_t n;
} tlog_bytes;
void tlog_sha256(const tlog_bytes *parts, size_t count, uint8_t out[TLOG_HASH_BYTES]);

/* SHA-256(0x00 || entry): the hash of one entry as a leaf of the tree. */
void tlog_leaf_hash(const uint8_t *entry, size_t entry_bytes, uint8_t out[TLOG_HASH_BYTES]);

/* SHA-256(0x01 || left || right): the hash of an interior node. */
void tlog_node_hash(const uint8_t left[TLOG_HASH_BYTES], const uint8_t right[TLOG_HASH_BYTES],
                    uint8_t out[TLOG_HASH_BYTES]);

/* SHA-256 of nothing: the root of the empty tree. */
void tlog_empty_root(uint8_t out[TLOG_HASH_BYTES]);

/* ---------------------------------------------------------------------------------------- */
/* Stored subtree hashes                                                                     */

/*
 * A full subtree is 2^level consecutive leaves starting at a multiple of 2^level: subtree
 * (level, index) covers the leaves [index * 2^level, (index + 1) * 2^level). Its hash is the
 * RFC 9162 hash of those leaves (level 0: a leaf hash). Appending leaf n - 1 completes the
 * subtrees ending at n, one per trailing zero bit of n plus the leaf itself; they never change
 * afterwards, so a store writes each once. Every root and proof is computed from them.
 *
 * get returns TLOG_OK and the hash, TLOG_ERR_NOT_FOUND if it holds no such subtree, or
 * TLOG_ERR_STORE (its own error kept in ctx). put is called by tlog_tree_append for every
 * subtree the append completes, smallest first; it returns TLOG_OK or TLOG_ERR_STORE /
 * TLOG_ERR_NOMEM. An LMDB store keys them by (level, index) and writes them in the commit
 * transaction; tlog_mem_store below keeps them in memory.
 */
typedef struct tlog_subtree_store {
	tlog_err (*get)(void *ctx, unsigned level, uint64_t index, uint8_t out[TLOG_HASH_BYTES]);
	tlog_err (*put)(void *ctx, unsigned level, uint64_t index, const uint8_t hash[TLOG_HASH_BYTES]);
	void *ctx;
} tlog_subtree_store;

/* The in-memory store: one growing array of hashes per level. */
typedef struct tlog_mem_store {
	uint8_t (*levels[TLOG_TREE_LEVELS_MAX])[TLOG_HASH_BYTES];
	uint64_t counts[TLOG_TREE_LEVELS_MAX];     /* hashes held per level */
	uint64_t capacities[TLOG_TREE_LEVELS_MAX]; /* hashes allocated per level */
} tlog_mem_store;

/* An empty store. Free it with tlog_mem_store_free(). */
void tlog_mem_store_init(tlog_mem_store *m);
void tlog_mem_store_free(tlog_mem_store *m);
/* The tlog_subtree_store interface over m (which must outlive its use). */
tlog_subtree_store tlog_mem_store_interface(tlog_mem_store *m);

/* ---------------------------------------------------------------------------------------- */
/* The incremental tree                                                                      */

/*
 * The tree head kept by the writer: its size and the hashes of its full subtrees (one per
 * set bit of size, largest and leftmost first). Appending costs O(log n) hashes; the root is
 * one fold of at most 64 hashes. A plain value: copy it, keep it, no resources.
 */
typedef struct tlog_tree {
	uint64_t size;
	unsigned peak_count;
	uint8_t peaks[TLOG_TREE_LEVELS_MAX][TLOG_HASH_BYTES];
} tlog_tree;

/* The empty tree. */
void tlog_tree_init(tlog_tree *t);

/*
 * Appends one leaf (its tlog_leaf_hash) and hands every subtree this completes to store->put
 * (store may be NULL: nothing is kept). On error (TLOG_ERR_RANGE when the tree is full, or the
 * store's error) *t is unchanged, but some subtrees may have been put: they are the ones the
 * same append will put again, with the same hashes.
 */
tlog_err tlog_tree_append(tlog_tree *t, const uint8_t leaf_hash[TLOG_HASH_BYTES], const tlog_subtree_store *store);

/* The root hash of t (tlog_empty_root for size 0). */
void tlog_tree_root(const tlog_tree *t, uint8_t out[TLOG_HASH_BYTES]);

/* Rebuilds the tree head of `size` leaves from a store (a restart), with at most 64 gets. */
tlog_err tlog_tree_load(const tlog_subtree_store *store, uint64_t size, tlog_tree *out);

/* ---------------------------------------------------------------------------------------- */
/* Roots and proofs (RFC 9162 §2.1.3, §2.1.4)                                                */

/* Up to TLOG_PROOF_HASHES_MAX hashes, in the order of RFC 9162 (from the leaf upwards). */
typedef struct tlog_proof {
	size_t count;
	uint8_t hashes[TLOG_PROOF_HASHES_MAX][TLOG_HASH_BYTES];
} tlog_proof;

/* The root of the tree of the first `size` leaves the store holds (a past tree head). */
tlog_err tlog_root_at(const tlog_subtree_store *store, uint64_t size, uint8_t out[TLOG_HASH_BYTES]);

/*
 * The inclusion proof of leaf `index` in the tree of `size` leaves: RFC 9162 PATH(index,
 * D[0:size]). TLOG_ERR_RANGE unless index < size; the store's error if it lacks a subtree.
 */
tlog_err tlog_prove_inclusion(const tlog_subtree_store *store, uint64_t index, uint64_t size, tlog_proof *out);

/*
 * The consistency proof from the tree of old_size leaves to the tree of new_size leaves: RFC
 * 9162 PROOF(old_size, D[0:new_size]). Empty when old_size is 0 or equals new_size.
 * TLOG_ERR_RANGE if old_size > new_size.
 */
tlog_err tlog_prove_consistency(const tlog_subtree_store *store, uint64_t old_size, uint64_t new_size, tlog_proof *out);

/*
 * Verifies an inclusion proof (RFC 9162 §2.1.3.2): TLOG_OK if leaf_hash is leaf `index` of
 * the tree of `size` leaves whose root is `root`; TLOG_ERR_PROOF otherwise (also for
 * index >= size, and for a proof with hashes too many or too few).
 */
tlog_err tlog_verify_inclusion(const uint8_t leaf_hash[TLOG_HASH_BYTES], uint64_t index, uint64_t size,
                               const tlog_proof *proof, const uint8_t root[TLOG_HASH_BYTES]);

/*
 * Verifies a consistency proof (RFC 9162 §2.1.4.2): TLOG_OK if the tree of old_size leaves
 * with old_root is a prefix of the tree of new_size leaves with new_root. Sizes equal: the
 * proof must be empty and the roots equal. old_size 0: the proof must be empty and old_root
 * the empty root (every tree extends the empty one). TLOG_ERR_PROOF otherwise, also when
 * old_size > new_size.
 */
tlog_err tlog_verify_consistency(uint64_t old_size, uint64_t new_size, const uint8_t old_root[TLOG_HASH_BYTES],
                                 const uint8_t new_root[TLOG_HASH_BYTES], const tlog_proof *proof);

/* ---------------------------------------------------------------------------------------- */
/* C2SP signed-note                                                                          */

/* Key names: at most this many bytes; non-empty UTF-8 with no Unicode space and no '+'. */
#define TLOG_NAME_BYTES_MAX 255
/* A whole note (text and signature lines), and the text of a note to sign. */
#define TLOG_NOTE_BYTES_MAX (64u * 1024u)
/* Signature lines in one note; the spec asks verifiers to accept at least 16. */
#define TLOG_NOTE_SIGNATURES_MAX 100
/* Verifier keys given to one tlog_note_open. */
#define TLOG_VERIFIERS_MAX           32
#define TLOG_KEY_ID_BYTES            4
#define TLOG_PUBLIC_KEY_BYTES        32
#define TLOG_SEED_BYTES              32
#define TLOG_ED25519_SIGNATURE_BYTES 64
/* Signature type bytes (c2sp.org/signed-note, "Signature types"). */
#define TLOG_TYPE_ED25519        0x01 /* a note signature: Ed25519 over the note text */
#define TLOG_TYPE_COSIGNATURE_V1 0x04 /* c2sp.org/tlog-cosignature: timestamped Ed25519 */
/* A verifier key's text: name + '+' + 8 hex + '+' + base64 of 33 bytes (44 chars). */
#define TLOG_VKEY_BYTES_MAX (TLOG_NAME_BYTES_MAX + 1 + 8 + 1 + 44)
/* A cosignature's timestamp is at most 2^63 - 1 (c2sp.org/tlog-cosignature). */
#define TLOG_TIMESTAMP_MAX INT64_MAX

/* A public key a note's reader trusts. */
typedef struct tlog_verifier {
	char name[TLOG_NAME_BYTES_MAX + 1];
	uint8_t type; /* TLOG_TYPE_ED25519 or TLOG_TYPE_COSIGNATURE_V1 */
	uint8_t key_id[TLOG_KEY_ID_BYTES];
	uint8_t public_key[TLOG_PUBLIC_KEY_BYTES];
} tlog_verifier;

/* A private key, from a 32-byte Ed25519 seed. Wipe it with tlog_signer_wipe() when done. */
typedef struct tlog_signer {
	tlog_verifier verifier;
	uint8_t secret_key[64]; /* libsodium's form: seed || public key */
} tlog_signer;

/*
 * key ID = SHA-256(name || 0x0A || type || public_key)[:4]. The name must be valid
 * (TLOG_ERR_MALFORMED otherwise).
 */
tlog_err tlog_key_id(const char *name, uint8_t type, const uint8_t public_key[TLOG_PUBLIC_KEY_BYTES],
                     uint8_t out[TLOG_KEY_ID_BYTES]);

/* The signer of `type` named `name` whose Ed25519 key is derived from seed. */
tlog_err tlog_signer_init(tlog_signer *s, const char *name, uint8_t type, const uint8_t seed[TLOG_SEED_BYTES]);
void tlog_signer_wipe(tlog_signer *s);

/* "name+hhhhhhhh+base64(type || public key)", NUL-terminated, into out[cap]. */
tlog_err tlog_vkey_format(const tlog_verifier *v, char *out, size_t cap);
/* Parses a verifier key; TLOG_ERR_MALFORMED names what is wrong, including a key ID that is
 * not the one the name, type and key give, or a type other than the two above. */
tlog_err tlog_vkey_parse(const char *vkey, tlog_verifier *out);

/*
 * Signs `text` (which must be a valid note text: non-empty, ending in '\n', UTF-8 without
 * control characters other than '\n', at most TLOG_NOTE_BYTES_MAX bytes) and writes the signed
 * note (text, '\n', one signature line) into out[cap], NUL-terminated; *out_bytes excludes the
 * NUL. A TLOG_TYPE_COSIGNATURE_V1 signer signs the cosignature/v1 message at `timestamp`
 * (ignored for TLOG_TYPE_ED25519).
 */
tlog_err tlog_note_sign(const char *text, size_t text_bytes, const tlog_signer *signer, uint64_t timestamp, char *out,
                        size_t cap, size_t *out_bytes);

/*
 * Adds one signature line to a signed note (a witness cosigning a checkpoint): the note is
 * checked for syntax only (its signatures are not verified: verify them first), and the new
 * line goes after the existing ones. Output as tlog_note_sign.
 */
tlog_err tlog_note_add_signature(const char *note, size_t note_bytes, const tlog_signer *signer, uint64_t timestamp,
                                 char *out, size_t cap, size_t *out_bytes);

/* What tlog_note_open found. verified[i] and timestamps[i] refer to verifiers[i]. */
typedef struct tlog_note_result {
	size_t text_bytes;      /* the text is note[0, text_bytes) */
	size_t signature_count; /* signature lines */
	size_t unknown_count;   /* lines from keys not among the verifiers: ignored */
	bool verified[TLOG_VERIFIERS_MAX];
	uint64_t timestamps[TLOG_VERIFIERS_MAX]; /* cosignatures' times; 0 for note signatures */
} tlog_note_result;

/*
 * Parses a signed note and verifies every signature line whose (name, key ID) is one of the
 * verifiers; lines from other keys are ignored, as the spec requires. Refused, in this order:
 * the note too large (TLOG_ERR_TOO_LARGE); not valid UTF-8, a control character, no blank
 * line before the signatures, a malformed signature line or more than
 * TLOG_NOTE_SIGNATURES_MAX lines (TLOG_ERR_MALFORMED); a known key's signature that does not
 * verify, or of the wrong length (TLOG_ERR_BAD_SIGNATURE); one known key on two lines
 * (TLOG_ERR_DUPLICATE_SIGNATURE); no known key's signature at all (TLOG_ERR_NO_SIGNATURE).
 * The caller decides which of the verified keys it requires (result->verified).
 */
tlog_err tlog_note_open(const char *note, size_t note_bytes, const tlog_verifier *verifiers, size_t verifier_count,
                        tlog_note_result *result);

/* ---------------------------------------------------------------------------------------- */
/* C2SP tlog-checkpoint                                                                      */

#define TLOG_ORIGIN_BYTES_MAX     TLOG_NAME_BYTES_MAX
#define TLOG_EXTENSIONS_BYTES_MAX 1024u
/* origin + '\n' + 20 digits + '\n' + 44 base64 + '\n' + extension lines */
#define TLOG_CHECKPOINT_TEXT_BYTES_MAX (TLOG_ORIGIN_BYTES_MAX + 1 + 20 + 1 + 44 + 1 + TLOG_EXTENSIONS_BYTES_MAX)

typedef struct tlog_checkpoint {
	char origin[TLOG_ORIGIN_BYTES_MAX + 1];
	uint64_t size;
	uint8_t root[TLOG_HASH_BYTES];
	/* Extension lines, each ending in '\n', NUL-terminated; "" for none (the usual case). */
	char extensions[TLOG_EXTENSIONS_BYTES_MAX + 1];
} tlog_checkpoint;

/* The checkpoint's note text ("origin\nsize\nbase64(root)\n" + extensions) into out[cap]. */
tlog_err tlog_checkpoint_format(const tlog_checkpoint *c, char *out, size_t cap, size_t *out_bytes);

/* Parses a checkpoint's note text (not a signed note: see tlog_checkpoint_open). */
tlog_err tlog_checkpoint_parse(const char *text, size_t text_bytes, tlog_checkpoint *out);

/*
 * Opens a signed checkpoint: tlog_note_open with the log's key and the witnesses' keys, then
 * the text parsed as a checkpoint. TLOG_ERR_NO_SIGNATURE unless the log's own signature
 * verified; cosignatures are optional here (result->verified[1 + i] for witness i: the caller
 * applies its quorum). TLOG_ERR_MALFORMED if the origin is not the log key's name.
 */
tlog_err tlog_checkpoint_open(const char *note, size_t note_bytes, const tlog_verifier *log_key,
                              const tlog_verifier *witnesses, size_t witness_count, tlog_checkpoint *out,
                              tlog_note_result *result);

/* ---------------------------------------------------------------------------------------- */
/* Base64 (RFC 4648 §4, padded), the encoding of every hash and signature in these formats.  */

/* Encodes bin into out[cap], NUL-terminated; TLOG_ERR_BUFFER_TOO_SMALL if it does not fit. */
tlog_err tlog_base64_encode(const uint8_t *bin, size_t bin_bytes, char *out, size_t cap);
/* Decodes exactly text[0, text_bytes) (canonical, padded, nothing else) into out[cap]. */
tlog_err tlog_base64_decode(const char *text, size_t text_bytes, uint8_t *out, size_t cap, size_t *out_bytes);

/* ---------------------------------------------------------------------------------------- */
/* Witness files (docs/log-format.md section 10): a witness's key, and its state, the        */
/* checkpoint it cosigned last.                                                               */

/*
 * A witness key file's text: its name on the first line, its 32-byte Ed25519 seed in base64
 * on the second (what `ledger-audit witness-key` writes), into a TLOG_TYPE_COSIGNATURE_V1
 * signer. text[0, text_bytes) is modified: its two lines are NUL-terminated. The caller wipes
 * text, and the signer with tlog_signer_wipe.
 */
tlog_err tlog_witness_key_parse(char *text, size_t text_bytes, tlog_signer *out);

/*
 * Writes a witness's state (the cosigned checkpoint) to path through path.tmp, fsync and a
 * rename: the state is whole, new or old. False (errno set) if it cannot.
 */
bool tlog_witness_state_write(const char *path, const char *note, size_t note_bytes);

#endif
