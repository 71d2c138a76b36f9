/*
 * update.c: the document a signing call appends to, and the signatures it fills in.
 *
 * Why this file exists: a B-LTA signature was three incremental updates (the signature, the
 * /DSS, the document time-stamp; now two, the last two in one, pades.c), and each used to copy the whole file into a
 * new buffer, have mupdf stream the whole file back through a range filter to hash it, and compare the result with its
 * input. On a 5 MB document that was most of the time spent beyond the hash itself
 * (docs/benchmarks.md, "bench-sign"). Here:
 *
 * - the document is one buffer, allocated once with room for every update of the call
 *   (SIGNER_SIGNATURE_GROWTH_BYTES_MAX): mupdf appends to it in place, and each reopened
 *   pdf_document reads the same bytes (the buffer never moves, so a stream on it stays valid);
 * - what the file held before an update is sealed: mupdf may read it, never write it (a write or
 *   a truncation below the seal throws), which is the promise to earlier signatures, checked as
 *   it is kept rather than by comparing megabytes afterwards;
 * - mupdf writes the signature dictionary as any other object, with placeholders; we find it in
 *   the bytes it appended (we know its object number and the layout we gave it), write the
 *   /ByteRange, hash the two ranges straight from the buffer with OpenSSL, and write /Contents.
 *   mupdf's own path (pdf_xref_store_unsaved_signature) hashes through an fz_stream and writes
 *   the hex with one fz_write_printf per byte;
 * - one SHA-256 context runs along the file: a signature's first range is the file up to its
 *   /Contents, a prefix of every later document time-stamp's, so the context is copied there
 *   and carries on over the /Contents and the updates after it. The file is hashed once,
 *   whatever the level.
 */
#include "internal.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What sign_field writes in /ByteRange until the real one is known: four numbers this wide
 * leave room for any offset of a document under 2 GiB. */
#define BYTE_RANGE_PLACEHOLDER INT_MAX
#define OBJECT_HEADER_BYTES    32u
/* While mupdf copies the input in, the running hash follows it in steps this size, so that it
 * reads bytes still in the cache (a 5 MB file read back from memory hashes 10 % slower). */
#define HASH_STEP_BYTES (64u * 1024u)

signer_err signer_document_init(signer_document *d, const uint8_t *pdf, size_t pdf_bytes)
{
	memset(d, 0, sizeof *d);
	if (pdf_bytes > (size_t)INT_MAX - SIGNER_SIGNATURE_GROWTH_BYTES_MAX)
		return signer_fail(SIGNER_ERR_TOO_LARGE, "%zu bytes: no room for a /ByteRange", pdf_bytes);
	d->capacity = pdf_bytes + SIGNER_SIGNATURE_GROWTH_BYTES_MAX;
	d->data = malloc(d->capacity); /* the pages past the input are touched only if written */
	d->hash = EVP_MD_CTX_new();
	if (!d->data || !d->hash || !EVP_DigestInit_ex(d->hash, EVP_sha256(), NULL)) {
		signer_document_free(d);
		return signer_fail(SIGNER_ERR_NOMEM, "the signed document (%zu bytes)", pdf_bytes);
	}
	/* Not copied here: the first update's writer copies it (signer_document_append). */
	d->original = pdf;
	d->sealed_bytes = pdf_bytes;
	return SIGNER_OK;
}

void signer_document_free(signer_document *d)
{
	free(d->data);
	EVP_MD_CTX_free(d->hash);
	memset(d, 0, sizeof *d);
}

void signer_document_take(signer_document *d, uint8_t **out, size_t *out_bytes)
{
	/* Not shrunk: the room past the end was never touched, so it costs address space only, and a
	 * block freed at its full size lets glibc's allocator reuse it for the next signature instead
	 * of mapping (and faulting in) fresh pages each time (docs/benchmarks.md, bench-sign). */
	*out = d->data;
	*out_bytes = d->bytes;
	d->data = NULL;
	signer_document_free(d);
}

signer_err signer_document_open(signer_fz *fz, const signer_document *d, pdf_document **doc)
{
	fz_context *ctx = fz->ctx;
	fz_stream *stm = NULL;
	*doc = NULL;
	fz_var(stm);
	fz_try(ctx)
	{
		/* before the first update, the input itself */
		stm = d->original ? fz_open_memory(ctx, d->original, d->sealed_bytes)
		                  : fz_open_memory(ctx, d->data, d->bytes);
		*doc = pdf_open_document_with_stream(ctx, stm);
	}
	fz_always(ctx) fz_drop_stream(ctx, stm);
	fz_catch(ctx) return signer_fz_caught(fz, SIGNER_ERR_PDF_WRITE, "reopening the signed document");
	return SIGNER_OK;
}

/* ----- the output mupdf writes to: d's buffer, past the seal ----- */

/* Hashes d from where its running hash stands to `to`. */
static bool hash_to(signer_document *d, size_t to)
{
	assert(to >= d->hashed_bytes && to <= d->bytes);
	bool ok = EVP_DigestUpdate(d->hash, d->data + d->hashed_bytes, to - d->hashed_bytes);
	d->hashed_bytes = to;
	return ok;
}

typedef struct document_output {
	signer_fz *fz;
	signer_document *d;
	size_t position;
} document_output;

/* Below the seal, only the first update's copy of the input is written, and it must repeat the
 * input byte for byte (compared while the bytes are in cache). */
static void output_write(fz_context *ctx, void *state, const void *data, size_t n)
{
	document_output *o = state;
	const signer_document *d = o->d;
	if (o->position < d->sealed_bytes &&
	    (!d->original || n > d->sealed_bytes - o->position || memcmp(data, d->original + o->position, n) != 0))
		fz_throw(ctx, FZ_ERROR_GENERIC, "a write at %zu changes the document as it was before the update",
		         o->position);
	if (n > o->d->capacity - o->position)
		signer_fz_limit(o->fz, "the signed document would grow by more than SIGNER_SIGNATURE_GROWTH_BYTES_MAX");
	memcpy(o->d->data + o->position, data, n);
	o->position += n;
	o->d->bytes = o->position > o->d->bytes ? o->position : o->d->bytes;
	/* the input's bytes are final: every range and time-stamp to come starts with them */
	if (d->original && o->position <= d->sealed_bytes && o->position >= d->hashed_bytes + HASH_STEP_BYTES &&
	    !hash_to(o->d, o->position))
		fz_throw(ctx, FZ_ERROR_GENERIC, "SHA-256 of the document");
}

static void output_seek(fz_context *ctx, void *state, int64_t offset, int whence)
{
	document_output *o = state;
	int64_t base = whence == SEEK_CUR ? (int64_t)o->position : whence == SEEK_END ? (int64_t)o->d->bytes : 0;
	if (offset < -base || offset > (int64_t)o->d->bytes - base)
		fz_throw(ctx, FZ_ERROR_GENERIC, "seek outside the written document");
	o->position = (size_t)(base + offset);
}

static int64_t output_tell(fz_context *ctx, void *state)
{
	(void)ctx;
	return (int64_t)((document_output *)state)->position;
}

/* mupdf reads back what it wrote; it never writes while this stream is open. */
static fz_stream *output_as_stream(fz_context *ctx, void *state)
{
	document_output *o = state;
	return fz_open_memory(ctx, o->d->data, o->d->bytes);
}

static void output_truncate(fz_context *ctx, void *state)
{
	document_output *o = state;
	if (o->position < o->d->sealed_bytes)
		fz_throw(ctx, FZ_ERROR_GENERIC, "a truncation at %zu, inside the document as it was before the update",
		         o->position);
	o->d->bytes = o->position;
}

signer_err signer_document_append(signer_fz *fz, signer_document *d, pdf_document *doc, size_t *update_start)
{
	fz_context *ctx = fz->ctx;
	document_output state = {.fz = fz, .d = d, .position = d->bytes};
	pdf_write_options options = pdf_default_write_options;
	options.do_incremental = 1;
	fz_output *output = NULL;
	fz_var(output);
	if (!d->original) /* the first update seals the input, which it copies */
		d->sealed_bytes = d->bytes;
	fz->write_failed = true;
	fz_try(ctx)
	{
		output = fz_new_output(ctx, 0, &state, output_write, NULL, NULL);
		output->seek = output_seek;
		output->tell = output_tell;
		output->as_stream = output_as_stream;
		output->truncate = output_truncate;
		pdf_write_document(ctx, doc, output, &options);
		fz_close_output(ctx, output);
	}
	fz_always(ctx) fz_drop_output(ctx, output);
	fz_catch(ctx) return signer_fz_caught(fz, SIGNER_ERR_PDF_WRITE, "writing the signed document");
	fz->write_failed = false;
	if (d->bytes <= d->sealed_bytes)
		return signer_fail(SIGNER_ERR_PDF_WRITE, "mupdf wrote no incremental update");
	d->original = NULL; /* the input is all in d now */
	*update_start = d->sealed_bytes;
	return SIGNER_OK;
}

/* ----- the signature's /ByteRange and /Contents ----- */

/* The first occurrence of the n bytes of needle in [from, to) of d, or SIZE_MAX. */
static size_t find(const signer_document *d, size_t from, size_t to, const char *needle, size_t n)
{
	if (from > to || to - from < n)
		return SIZE_MAX;
	const uint8_t *at = memmem(d->data + from, to - from, needle, n);
	return at ? (size_t)(at - d->data) : SIZE_MAX;
}

/* Where sign_field's dictionary sits in the update: [range_at, range_end) is the /ByteRange
 * array, [contents_at, contents_end) the /Contents hex string, <> included. */
typedef struct signature_place {
	size_t range_at, range_end, contents_at, contents_end;
} signature_place;

/* Finds object value_num in [update_start, d->bytes) as mupdf writes it ("N 0 obj\n", the
 * dictionary tight, its keys in the order sign_field gave them). */
static signer_err find_signature(const signer_document *d, size_t update_start, int value_num, signature_place *p)
{
	char header[OBJECT_HEADER_BYTES];
	int n = snprintf(header, sizeof header, "\n%d 0 obj\n<</ByteRange[", value_num);
	assert(n > 0 && (size_t)n < sizeof header);
	size_t at = find(d, update_start, d->bytes, header, (size_t)n); /* mupdf starts an update with '\n' */
	size_t contents = at == SIZE_MAX ? SIZE_MAX : find(d, at, d->bytes, "]/Contents<", 11);
	size_t end = contents == SIZE_MAX ? SIZE_MAX : find(d, contents, d->bytes, ">", 1);
	size_t hex_digits = end == SIZE_MAX ? 0 : end - contents - 11; /* sign_field's room, in hex */
	if (hex_digits == 0 || hex_digits % 2 != 0 || hex_digits > 2u * SIGNER_CMS_BYTES_MAX)
		return signer_fail(SIGNER_ERR_PDF_WRITE,
		                   "the signature dictionary (object %d) is not where or as it was written", value_num);
	p->range_at = at + (size_t)n - 1; /* the '[' */
	p->range_end = contents + 1;      /* after the ']' */
	p->contents_at = contents + 10;   /* the '<' */
	p->contents_end = end + 1;
	return SIGNER_OK;
}

/* The SHA-256 of the byte range: the running hash up to /Contents, then a copy of it carried on
 * past /Contents to the end. The running hash stays at /Contents, which is written next. */
static signer_err range_digest(signer_document *d, const signature_place *p, uint8_t digest[SIGNER_SHA256_BYTES])
{
	EVP_MD_CTX *rest = EVP_MD_CTX_new();
	bool ok = rest && hash_to(d, p->contents_at) && EVP_MD_CTX_copy_ex(rest, d->hash) &&
	          EVP_DigestUpdate(rest, d->data + p->contents_end, d->bytes - p->contents_end) &&
	          EVP_DigestFinal_ex(rest, digest, NULL);
	EVP_MD_CTX_free(rest);
	return ok ? SIGNER_OK : signer_fail_openssl(SIGNER_ERR_CRYPTO, "SHA-256 of the byte range");
}

signer_err signer_document_sign(signer_document *d, size_t update_start, int value_num, signer_contents_fn contents,
                                void *state)
{
	assert(update_start >= d->sealed_bytes && update_start < d->bytes);
	signature_place p = {0};
	signer_err err = find_signature(d, update_start, value_num, &p);
	if (err)
		return err;
	char range[OBJECT_HEADER_BYTES * 2];
	int n =
	    snprintf(range, sizeof range, "[0 %zu %zu %zu]", p.contents_at, p.contents_end, d->bytes - p.contents_end);
	/* the placeholder's four numbers are as wide as any this can hold; spaces pad it, as mupdf does */
	assert(n > 0 && (size_t)n <= p.range_end - p.range_at);
	memcpy(d->data + p.range_at, range, (size_t)n);
	memset(d->data + p.range_at + n, ' ', p.range_end - p.range_at - (size_t)n);
	uint8_t digest[SIGNER_SHA256_BYTES], *der = NULL;
	size_t der_bytes = 0;
	err = range_digest(d, &p, digest);
	if (!err)
		err = contents(state, digest, &der, &der_bytes);
	size_t room = (p.contents_end - p.contents_at - 2) / 2;
	if (!err && der_bytes > room)
		err = signer_fail(SIGNER_ERR_TOO_LARGE,
		                  "the /Contents value takes %zu bytes, more than the %zu reserved", der_bytes, room);
	if (!err) {
		static const char hex[] = "0123456789abcdef";
		uint8_t *out = d->data + p.contents_at + 1; /* the rest stays the placeholder's zeros */
		for (size_t i = 0; i < der_bytes; i++) {
			out[2 * i] = (uint8_t)hex[der[i] >> 4];
			out[2 * i + 1] = (uint8_t)hex[der[i] & 15u];
		}
	}
	OPENSSL_free(der);
	d->sealed_bytes = d->bytes; /* the update is complete */
	return err;
}

void signer_document_placeholder(fz_context *ctx, pdf_obj *value)
{
	pdf_obj *range = pdf_dict_put_array(ctx, value, PDF_NAME(ByteRange), 4);
	for (int i = 0; i < 4; i++)
		pdf_array_push_int(ctx, range, BYTE_RANGE_PLACEHOLDER);
}
