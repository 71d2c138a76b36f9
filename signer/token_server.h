/*
 * token_server.h: the signer process's side of token_wire.h (signer/token_server.c). Private to
 * signer/; the program is ledger_signer.c.
 */
#ifndef SIGNER_TOKEN_SERVER_H
#define SIGNER_TOKEN_SERVER_H

#include "token_wire.h"

/* The descriptor on which the signer process finds its end of the socketpair. */
#define TOKEN_SERVER_FD 3

/*
 * Answers one request (in[bytes], as received) with the token t into out; returns the reply's
 * bytes. A request token_wire_request_decode() refuses gets its error (type 0xff when even the
 * type could not be read): never a crash, and the token is not touched.
 */
size_t token_server_answer(token *t, const uint8_t *in, size_t bytes, uint8_t out[TOKEN_WIRE_REPLY_BYTES_MAX]);

/*
 * Serves requests on fd (a SOCK_SEQPACKET socket) with the token t, one at a time, until the
 * other end closes it (returns 0) or the socket fails (returns -1, having printed why). Only
 * requests sent by this process's parent are answered; others are dropped (token_server.c says
 * why). fd must have SO_PASSCRED set before the parent sends anything (it is set here too, but a
 * packet sent before is dropped).
 */
int token_server_run(token *t, int fd);

#endif
