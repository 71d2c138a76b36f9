/*
 * token_wire.h: the messages between ledgerd and its signer process (signer/token_wire.c;
 * docs/signer.md#the-signer-process). Private to signer/.
 *
 * ledgerd's end (token_remote.c) sends one request and waits for its reply, one at a time, over
 * a SOCK_SEQPACKET socketpair: a message is one packet, so a request never runs into the next.
 * The operations are those of pkcs11_token.h and nothing else: generate a key, load it (its
 * public key comes back), sign a SHA-256 digest with it, destroy it, count the objects bearing a
 * label, read a key's protection attributes. There is no operation that returns a private key,
 * the PIN, or any other attribute of the token.
 *
 * Request: version (1 byte, TOKEN_WIRE_VERSION), type (1 byte, token_wire_type), label length
 * (1 byte, 1..TOKEN_KEY_LABEL_BYTES_MAX), the label (TOKEN_WIRE_LABEL_CHARS only), then for
 * TOKEN_WIRE_SIGN the digest (TOKEN_WIRE_DIGEST_BYTES); nothing else, nothing more.
 * Reply: version, the request's type (0 for the greeting the signer process sends once it has
 * logged in), status (a signer_err), then the body: on success a public key (LOAD: DER
 * SubjectPublicKeyInfo), a signature (SIGN: DER ECDSA-Sig-Value), a count (COUNT: 4 bytes, big
 * endian), two booleans (PROTECTION: sensitive, extractable) or nothing; on an error, its
 * message (printable text, at most TOKEN_WIRE_MESSAGE_BYTES_MAX bytes).
 */
#ifndef SIGNER_TOKEN_WIRE_H
#define SIGNER_TOKEN_WIRE_H

#include "pkcs11_token.h"

#include <stddef.h>
#include <stdint.h>

#define TOKEN_WIRE_VERSION              1u
#define TOKEN_WIRE_DIGEST_BYTES         32u  /* SHA-256: every signature of ours signs one */
#define TOKEN_WIRE_HEADER_BYTES         3u   /* version, type, label length / status */
#define TOKEN_WIRE_PUBLIC_KEY_BYTES_MAX 128u /* a P-256 SubjectPublicKeyInfo is 91 bytes */
#define TOKEN_WIRE_SIGNATURE_BYTES_MAX  80u  /* a P-256 ECDSA-Sig-Value is at most 72 bytes */
#define TOKEN_WIRE_MESSAGE_BYTES_MAX    SIGNER_ERROR_BYTES_MAX
#define TOKEN_WIRE_REQUEST_BYTES_MAX    (TOKEN_WIRE_HEADER_BYTES + TOKEN_KEY_LABEL_BYTES_MAX + TOKEN_WIRE_DIGEST_BYTES)
#define TOKEN_WIRE_REPLY_BYTES_MAX      (TOKEN_WIRE_HEADER_BYTES + TOKEN_WIRE_MESSAGE_BYTES_MAX)
/* The bytes a label may hold: our labels are role names ("signer-ca") and "cred-" + hex. */
#define TOKEN_WIRE_LABEL_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

typedef enum {
	TOKEN_WIRE_HELLO = 0, /* reply only: the signer process has logged in (or says why not) */
	TOKEN_WIRE_GENERATE,
	TOKEN_WIRE_LOAD,
	TOKEN_WIRE_SIGN,
	TOKEN_WIRE_DESTROY,
	TOKEN_WIRE_COUNT,
	TOKEN_WIRE_PROTECTION,
	TOKEN_WIRE_TYPE_END
} token_wire_type;

typedef struct token_wire_request {
	token_wire_type type;
	char label[TOKEN_KEY_LABEL_BYTES_MAX + 1];
	uint8_t digest[TOKEN_WIRE_DIGEST_BYTES]; /* TOKEN_WIRE_SIGN only */
} token_wire_request;

typedef struct token_wire_reply {
	token_wire_type type;
	signer_err status;
	uint8_t body[TOKEN_WIRE_MESSAGE_BYTES_MAX];
	size_t body_bytes;
} token_wire_reply;

/* Whether label is one a request may carry: 1..TOKEN_KEY_LABEL_BYTES_MAX bytes of
 * TOKEN_WIRE_LABEL_CHARS. */
bool token_wire_label_valid(const char *label);

/* Encodes r into out (*bytes long). SIGNER_ERR_INVALID, naming the fault, for a type that is not
 * a request or a label token_wire_label_valid() refuses. */
signer_err token_wire_request_encode(const token_wire_request *r, uint8_t out[TOKEN_WIRE_REQUEST_BYTES_MAX],
                                     size_t *bytes);

/* Decodes the bytes of one request into *r: SIGNER_ERR_INVALID, the message naming the first fault
 * (empty, another version, an unknown type, a label empty, too long or of other bytes, a digest
 * missing, bytes left over), or SIGNER_ERR_TOO_LARGE beyond TOKEN_WIRE_REQUEST_BYTES_MAX. Reads
 * nothing past bytes; *r is zeroed on an error. */
signer_err token_wire_request_decode(const uint8_t *in, size_t bytes, token_wire_request *r);

/* Encodes a reply: its body is body_bytes of body, or, when status is an error, message (cut to
 * TOKEN_WIRE_MESSAGE_BYTES_MAX, bytes outside printable ASCII replaced). Returns the bytes. */
size_t token_wire_reply_encode(token_wire_type type, signer_err status, const uint8_t *body, size_t body_bytes,
                               const char *message, uint8_t out[TOKEN_WIRE_REPLY_BYTES_MAX]);

/* Decodes one reply to a request of type expected (TOKEN_WIRE_HELLO for the greeting): the version,
 * the type, a status that is a signer_err, a body of the size that type and status call for.
 * SIGNER_ERR_CRYPTO, naming the fault, otherwise. */
signer_err token_wire_reply_decode(const uint8_t *in, size_t bytes, token_wire_type expected, token_wire_reply *r);

#endif
