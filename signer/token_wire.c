/*
 * token_wire.c: encoding and checking the messages of the signer process (token_wire.h says
 * their layout). Both ends check what they receive: the signer process every request (ledgerd
 * parses hostile input, so a request is not trusted to be well formed), ledgerd every reply (a
 * reply whose size does not fit its type is refused, not read past).
 */
#include "token_wire.h"

#include <assert.h>
#include <string.h>

bool token_wire_label_valid(const char *label)
{
	size_t bytes = label ? strnlen(label, TOKEN_KEY_LABEL_BYTES_MAX + 1) : 0;
	return bytes > 0 && bytes <= TOKEN_KEY_LABEL_BYTES_MAX && strspn(label, TOKEN_WIRE_LABEL_CHARS) == bytes;
}

signer_err token_wire_request_encode(const token_wire_request *r, uint8_t out[TOKEN_WIRE_REQUEST_BYTES_MAX],
                                     size_t *bytes)
{
	*bytes = 0;
	if (r->type <= TOKEN_WIRE_HELLO || r->type >= TOKEN_WIRE_TYPE_END)
		return signer_fail(SIGNER_ERR_INVALID, "the signer process: request type %d is not one", (int)r->type);
	if (!token_wire_label_valid(r->label))
		return signer_fail(SIGNER_ERR_INVALID,
		                   "the signer process: a key label must be 1..%u bytes of [A-Za-z0-9._-]",
		                   TOKEN_KEY_LABEL_BYTES_MAX);
	size_t label_bytes = strlen(r->label);
	out[0] = TOKEN_WIRE_VERSION;
	out[1] = (uint8_t)r->type;
	out[2] = (uint8_t)label_bytes;
	memcpy(out + TOKEN_WIRE_HEADER_BYTES, r->label, label_bytes);
	*bytes = TOKEN_WIRE_HEADER_BYTES + label_bytes;
	if (r->type == TOKEN_WIRE_SIGN) {
		memcpy(out + *bytes, r->digest, TOKEN_WIRE_DIGEST_BYTES);
		*bytes += TOKEN_WIRE_DIGEST_BYTES;
	}
	assert(*bytes <= TOKEN_WIRE_REQUEST_BYTES_MAX);
	return SIGNER_OK;
}

/* The checks of a request, in the order they are made; the first that fails is reported. */
static signer_err request_check(const uint8_t *in, size_t bytes, token_wire_request *r)
{
	if (bytes > TOKEN_WIRE_REQUEST_BYTES_MAX)
		return signer_fail(SIGNER_ERR_TOO_LARGE, "a request of %zu bytes (at most %u)", bytes,
		                   TOKEN_WIRE_REQUEST_BYTES_MAX);
	if (bytes < TOKEN_WIRE_HEADER_BYTES)
		return signer_fail(SIGNER_ERR_INVALID, "a request of %zu bytes: shorter than its header", bytes);
	if (in[0] != TOKEN_WIRE_VERSION)
		return signer_fail(SIGNER_ERR_INVALID, "protocol version %u (this signer speaks %u)", in[0],
		                   TOKEN_WIRE_VERSION);
	if (in[1] <= TOKEN_WIRE_HELLO || in[1] >= TOKEN_WIRE_TYPE_END)
		return signer_fail(SIGNER_ERR_INVALID, "request type %u is not one", in[1]);
	r->type = (token_wire_type)in[1];
	size_t label_bytes = in[2];
	if (label_bytes == 0 || label_bytes > TOKEN_KEY_LABEL_BYTES_MAX)
		return signer_fail(SIGNER_ERR_INVALID, "a key label of %zu bytes (1..%u)", label_bytes,
		                   TOKEN_KEY_LABEL_BYTES_MAX);
	size_t want =
	    TOKEN_WIRE_HEADER_BYTES + label_bytes + (r->type == TOKEN_WIRE_SIGN ? TOKEN_WIRE_DIGEST_BYTES : 0);
	if (bytes != want)
		return signer_fail(SIGNER_ERR_INVALID, "a request of type %u is %zu bytes, not %zu (%s)", in[1], bytes,
		                   want, r->type == TOKEN_WIRE_SIGN ? "a label and a 32-byte digest" : "a label only");
	memcpy(r->label, in + TOKEN_WIRE_HEADER_BYTES, label_bytes);
	r->label[label_bytes] = '\0';
	/* every byte counted: a NUL inside would cut the label the token sees short */
	if (strnlen(r->label, label_bytes) != label_bytes || !token_wire_label_valid(r->label))
		return signer_fail(SIGNER_ERR_INVALID, "a key label with bytes outside [A-Za-z0-9._-]");
	if (r->type == TOKEN_WIRE_SIGN)
		memcpy(r->digest, in + TOKEN_WIRE_HEADER_BYTES + label_bytes, TOKEN_WIRE_DIGEST_BYTES);
	return SIGNER_OK;
}

signer_err token_wire_request_decode(const uint8_t *in, size_t bytes, token_wire_request *r)
{
	memset(r, 0, sizeof *r);
	signer_err err = in || bytes == 0 ? request_check(in, bytes, r) : signer_fail(SIGNER_ERR_INVALID, "no request");
	if (err)
		memset(r, 0, sizeof *r);
	return err;
}

size_t token_wire_reply_encode(token_wire_type type, signer_err status, const uint8_t *body, size_t body_bytes,
                               const char *message, uint8_t out[TOKEN_WIRE_REPLY_BYTES_MAX])
{
	out[0] = TOKEN_WIRE_VERSION;
	out[1] = (uint8_t)type;
	out[2] = (uint8_t)status;
	size_t at = TOKEN_WIRE_HEADER_BYTES;
	if (status == SIGNER_OK) {
		assert(body_bytes <= TOKEN_WIRE_MESSAGE_BYTES_MAX);
		if (body_bytes)
			memcpy(out + at, body, body_bytes);
		return at + body_bytes;
	}
	for (size_t i = 0; message && message[i] && i < TOKEN_WIRE_MESSAGE_BYTES_MAX; i++, at++)
		out[at] = message[i] >= 0x20 && message[i] < 0x7f ? (uint8_t)message[i] : (uint8_t)'?';
	return at;
}

/* Whether a successful reply of type may carry body_bytes. */
static bool body_fits(token_wire_type type, size_t body_bytes)
{
	switch (type) {
	case TOKEN_WIRE_LOAD: return body_bytes > 0 && body_bytes <= TOKEN_WIRE_PUBLIC_KEY_BYTES_MAX;
	case TOKEN_WIRE_SIGN: return body_bytes > 0 && body_bytes <= TOKEN_WIRE_SIGNATURE_BYTES_MAX;
	case TOKEN_WIRE_COUNT: return body_bytes == 4;
	case TOKEN_WIRE_PROTECTION: return body_bytes == 2;
	default: return body_bytes == 0;
	}
}

signer_err token_wire_reply_decode(const uint8_t *in, size_t bytes, token_wire_type expected, token_wire_reply *r)
{
	memset(r, 0, sizeof *r);
	if (bytes < TOKEN_WIRE_HEADER_BYTES || bytes > TOKEN_WIRE_REPLY_BYTES_MAX || in[0] != TOKEN_WIRE_VERSION)
		return signer_fail(SIGNER_ERR_CRYPTO, "the signer process: a reply of %zu bytes that is not one",
		                   bytes);
	if (in[1] != (uint8_t)expected)
		return signer_fail(SIGNER_ERR_CRYPTO, "the signer process: a reply of type %u to a request of type %d",
		                   in[1], (int)expected);
	if (in[2] > SIGNER_ERR_REVOKED)
		return signer_fail(SIGNER_ERR_CRYPTO, "the signer process: status %u is not one", in[2]);
	r->type = expected;
	r->status = (signer_err)in[2];
	r->body_bytes = bytes - TOKEN_WIRE_HEADER_BYTES;
	if (r->status == SIGNER_OK && !body_fits(expected, r->body_bytes))
		return signer_fail(SIGNER_ERR_CRYPTO, "the signer process: a reply of type %d with a body of %zu bytes",
		                   (int)expected, r->body_bytes);
	memcpy(r->body, in + TOKEN_WIRE_HEADER_BYTES, r->body_bytes);
	return SIGNER_OK;
}
