/*
 * context.c: errors, and the mupdf context each call creates.
 *
 * Why one fz_context per call rather than one per thread with locks: a context is cheap next to
 * opening and checking a PDF, it holds no state from one document to the next (nothing leaks
 * between tenants), its allocator can cap what one document may make mupdf allocate, and no
 * lock is ever taken, so ledgerd's worker threads never wait on each other here.
 */
#include "internal.h"

#include <assert.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The store (mupdf's cache of decoded objects) gets a quarter of the cap: enough for fonts
 * and page trees, and it is emptied first when an allocation would pass the cap. */
#define SIGNER_FZ_STORE_DIVISOR 4u

static _Thread_local char last_error[SIGNER_ERROR_BYTES_MAX];

const char *signer_strerror(signer_err err)
{
	switch (err) {
	case SIGNER_OK: return "ok";
	case SIGNER_ERR_INVALID: return "invalid argument";
	case SIGNER_ERR_TOO_LARGE: return "over a limit";
	case SIGNER_ERR_NOT_PDF: return "not a PDF";
	case SIGNER_ERR_ENCRYPTED: return "encrypted PDF";
	case SIGNER_ERR_CORRUPT: return "damaged PDF";
	case SIGNER_ERR_RECT: return "signature rectangle not on the page";
	case SIGNER_ERR_EXISTS: return "a CA exists already";
	case SIGNER_ERR_NOT_FOUND: return "no CA";
	case SIGNER_ERR_KEYS: return "unusable key or certificate file";
	case SIGNER_ERR_EXPIRED: return "certificate not valid at that time";
	case SIGNER_ERR_IO: return "file system error";
	case SIGNER_ERR_CRYPTO: return "cryptography error";
	case SIGNER_ERR_PDF_WRITE: return "cannot write the signed PDF";
	case SIGNER_ERR_NOMEM: return "out of memory";
	case SIGNER_ERR_TSA: return "time-stamping authority failed";
	case SIGNER_ERR_CLOCK: return "clock disagrees with the time-stamping authority";
	case SIGNER_ERR_REVOKED: return "certificate revoked";
	case SIGNER_ERR_NO_TIMESTAMP: return "no document time-stamp to renew";
	}
	return "unknown error";
}

const char *signer_last_error(void)
{
	return last_error;
}

signer_err signer_fail(signer_err err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof last_error, fmt, ap);
	va_end(ap);
	return err;
}

signer_err signer_fail_openssl(signer_err err, const char *what)
{
	char reason[160] = "no reason given";
	unsigned long code = ERR_peek_error();
	if (code != 0)
		ERR_error_string_n(code, reason, sizeof reason);
	ERR_clear_error();
	return signer_fail(err, "%s: %s", what, reason);
}

signer_err signer_der_take(unsigned char *out, int n, const char *what, uint8_t **der, size_t *der_bytes)
{
	signer_err err = SIGNER_OK;
	if (n <= 0) {
		err = signer_fail_openssl(SIGNER_ERR_CRYPTO, what);
	} else if (!(*der = malloc((size_t)n))) {
		err = signer_fail(SIGNER_ERR_NOMEM, "%s", what);
	} else {
		memcpy(*der, out, (size_t)n);
		*der_bytes = (size_t)n;
	}
	OPENSSL_free(out);
	return err;
}

/* ----- the capped allocator ----- */

/* Each block carries its size in front, aligned for any type, so that free and realloc can
 * keep the count exact. */
typedef union block_header {
	size_t bytes;
	max_align_t align;
} block_header;

static void *capped_malloc(void *user, size_t bytes)
{
	signer_fz *fz = user;
	if (bytes > fz->bytes_max - fz->bytes_used) {
		fz->over_memory = true;
		return NULL;
	}
	block_header *h = malloc(sizeof *h + bytes);
	if (!h)
		return NULL;
	h->bytes = bytes;
	fz->bytes_used += bytes;
	return h + 1;
}

static void capped_free(void *user, void *p)
{
	signer_fz *fz = user;
	if (!p)
		return;
	block_header *h = (block_header *)p - 1;
	assert(h->bytes <= fz->bytes_used); /* else a double free, or a block that is not ours */
	fz->bytes_used -= h->bytes;
	free(h);
}

static void *capped_realloc(void *user, void *p, size_t bytes)
{
	signer_fz *fz = user;
	if (!p)
		return capped_malloc(user, bytes);
	if (bytes == 0) {
		capped_free(user, p);
		return NULL;
	}
	block_header *h = (block_header *)p - 1;
	size_t old = h->bytes;
	if (bytes > old && bytes - old > fz->bytes_max - fz->bytes_used) {
		fz->over_memory = true;
		return NULL;
	}
	block_header *n = realloc(h, sizeof *n + bytes);
	if (!n)
		return NULL;
	n->bytes = bytes;
	fz->bytes_used = fz->bytes_used - old + bytes;
	return n + 1;
}

static void keep_message(void *user, const char *message)
{
	signer_fz *fz = user;
	snprintf(fz->message, sizeof fz->message, "%s", message);
}

signer_err signer_fz_open(signer_fz *fz, size_t bytes_max)
{
	memset(fz, 0, sizeof *fz);
	fz->bytes_max = bytes_max;
	fz_alloc_context alloc = {fz, capped_malloc, capped_realloc, capped_free};
	fz->ctx = fz_new_context(&alloc, NULL, bytes_max / SIGNER_FZ_STORE_DIVISOR);
	if (!fz->ctx)
		return signer_fail(SIGNER_ERR_NOMEM, "cannot create a mupdf context");
	fz_set_error_callback(fz->ctx, keep_message, fz);
	fz_set_warning_callback(fz->ctx, keep_message, fz);
	return SIGNER_OK;
}

void signer_fz_close(signer_fz *fz)
{
	if (!fz->ctx)
		return;
	fz_drop_context(fz->ctx);
	fz->ctx = NULL;
	assert(fz->bytes_used == 0); /* else mupdf released less than it took: a reference we leaked */
}

void signer_fz_limit(signer_fz *fz, const char *what)
{
	fz->over_limit = true;
	fz_throw(fz->ctx, FZ_ERROR_GENERIC, "%s", what);
}

signer_err signer_fz_caught(signer_fz *fz, signer_err otherwise, const char *doing)
{
	const char *message = fz_caught_message(fz->ctx);
	if (fz->over_memory || fz_caught(fz->ctx) == FZ_ERROR_MEMORY) {
		if (fz->over_memory)
			return signer_fail(SIGNER_ERR_TOO_LARGE, "%s: needs more than %u MiB of memory (%s)", doing,
			                   SIGNER_MUPDF_BYTES_MAX >> 20, message);
		return signer_fail(SIGNER_ERR_NOMEM, "%s: %s", doing, message);
	}
	if (fz->over_limit)
		return signer_fail(SIGNER_ERR_TOO_LARGE, "%s: %s", doing, message);
	if (fz->write_failed)
		return signer_fail(SIGNER_ERR_PDF_WRITE, "%s: %s", doing, message);
	return signer_fail(otherwise, "%s: %s", doing, message);
}

bool signer_text_valid(const char *s, size_t bytes_max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, bytes_max + 1);
	if (n > bytes_max)
		return false;
	for (size_t i = 0; i < n;) {
		unsigned c = p[i];
		size_t len = c < 0x80             ? 1
		             : (c & 0xe0) == 0xc0 ? 2
		             : (c & 0xf0) == 0xe0 ? 3
		             : (c & 0xf8) == 0xf0 ? 4
		                                  : 0;
		if (len == 0 || n - i < len || c < 0x20 || c == 0x7f || c == 0xc0 || c == 0xc1 || c > 0xf4)
			return false;
		for (size_t k = 1; k < len; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
		i += len;
	}
	return true;
}
