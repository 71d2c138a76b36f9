/*
 * signer_request_fuzz: the signer process's request decoder and answer (signer/token_wire.c,
 * token_server.c) on arbitrary bytes, as a compromised ledgerd could send them. Checks that
 * nothing is read past the input (ASan), that a decoded request is one the encoder would write
 * back byte for byte (so the decoder accepts nothing looser than the protocol), and that every
 * answer, made without a token (no request may reach one when malformed, and a well-formed one
 * gets a typed error), is a well-formed reply of a bounded size.
 */
#include "token_server.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	token_wire_request r;
	if (token_wire_request_decode(data, size, &r) == SIGNER_OK) {
		uint8_t again[TOKEN_WIRE_REQUEST_BYTES_MAX];
		size_t bytes = 0;
		if (token_wire_request_encode(&r, again, &bytes) != SIGNER_OK || bytes != size ||
		    memcmp(again, data, size) != 0)
			abort();
	}
	uint8_t reply[TOKEN_WIRE_REPLY_BYTES_MAX];
	size_t reply_bytes = token_server_answer(NULL, data, size, reply);
	if (reply_bytes < TOKEN_WIRE_HEADER_BYTES || reply_bytes > TOKEN_WIRE_REPLY_BYTES_MAX ||
	    reply[0] != TOKEN_WIRE_VERSION || reply[2] == SIGNER_OK)
		abort();
	return 0;
}
