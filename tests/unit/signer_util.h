/*
 * signer_util.h: what the signer's tests share. Real PDFs made with mupdf (its own context,
 * independent of the signer's), scratch directories, files, and running the independent
 * validators (pdfsig, qpdf, openssl, pdftoppm) with their output captured.
 */
#ifndef TESTS_SIGNER_UTIL_H
#define TESTS_SIGNER_UTIL_H

#include "../check.h"
#include "../support/scratch.h"

#include <mupdf/fitz.h>
#include <mupdf/pdf.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define A4_WIDTH_PT  595.0f
#define A4_HEIGHT_PT 842.0f

typedef struct test_page {
	float width_pt, height_pt; /* the MediaBox */
	int rotate;                /* /Rotate */
} test_page;

/* A PDF written by mupdf whose pages show "Page N" near the top-left corner of the MediaBox
 * (before rotation), in Helvetica 24. *out is malloc'd. */
static inline bool make_pdf(const test_page *pages, int count, uint8_t **out, size_t *out_bytes)
{
	fz_context *ctx = fz_new_context(NULL, NULL, FZ_STORE_DEFAULT);
	if (!ctx)
		return false;
	pdf_document *doc = NULL;
	pdf_obj *resources = NULL, *page = NULL;
	fz_buffer *contents = NULL, *buffer = NULL;
	fz_output *output = NULL;
	bool ok = false;
	fz_var(doc), fz_var(resources), fz_var(page), fz_var(contents), fz_var(buffer), fz_var(output);
	fz_try(ctx)
	{
		doc = pdf_create_document(ctx);
		resources = pdf_new_dict(ctx, doc, 1);
		pdf_obj *f1 = pdf_dict_puts_dict(ctx, pdf_dict_put_dict(ctx, resources, PDF_NAME(Font), 1), "F1", 3);
		pdf_dict_put(ctx, f1, PDF_NAME(Type), PDF_NAME(Font));
		pdf_dict_put(ctx, f1, PDF_NAME(Subtype), PDF_NAME(Type1));
		pdf_dict_put_drop(ctx, f1, PDF_NAME(BaseFont), pdf_new_name(ctx, "Helvetica"));
		for (int i = 0; i < count; i++) {
			contents = fz_new_buffer(ctx, 64);
			fz_append_printf(ctx, contents, "BT /F1 24 Tf 36 %g Td (Page %d) Tj ET\n",
			                 (double)pages[i].height_pt - 60, i + 1);
			page = pdf_add_page(ctx, doc, fz_make_rect(0, 0, pages[i].width_pt, pages[i].height_pt),
			                    pages[i].rotate, resources, contents);
			pdf_insert_page(ctx, doc, -1, page);
			pdf_drop_obj(ctx, page);
			page = NULL;
			fz_drop_buffer(ctx, contents);
			contents = NULL;
		}
		buffer = fz_new_buffer(ctx, 4096);
		output = fz_new_output_with_buffer(ctx, buffer);
		pdf_write_options options = pdf_default_write_options;
		pdf_write_document(ctx, doc, output, &options);
		fz_close_output(ctx, output);
		*out = malloc(buffer->len);
		if (*out) {
			memcpy(*out, buffer->data, buffer->len);
			*out_bytes = buffer->len;
			ok = true;
		}
	}
	fz_always(ctx)
	{
		fz_drop_output(ctx, output);
		fz_drop_buffer(ctx, buffer);
		fz_drop_buffer(ctx, contents);
		pdf_drop_obj(ctx, page);
		pdf_drop_obj(ctx, resources);
		pdf_drop_document(ctx, doc);
	}
	fz_catch(ctx)
	{
		fprintf(stderr, "make_pdf: %s\n", fz_caught_message(ctx));
		ok = false;
	}
	fz_drop_context(ctx);
	return ok;
}

/* Grows data (malloc'd) to twice *capacity, which it updates; frees data and returns NULL when
 * out of memory. */
static inline uint8_t *grow_twice(uint8_t *data, size_t *capacity)
{
	uint8_t *grown = realloc(data, *capacity *= 2);
	if (!grown)
		free(data);
	return grown;
}

/* The whole file, malloc'd (NULL when unreadable). */
static inline uint8_t *read_file(const char *path, size_t *bytes)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t capacity = 1 << 16, n = 0, got;
	uint8_t *data = malloc(capacity);
	while (data && (got = fread(data + n, 1, capacity - n, f)) > 0) {
		n += got;
		if (n == capacity)
			data = grow_twice(data, &capacity);
	}
	fclose(f);
	*bytes = n;
	return data;
}

/* Runs a shell command with stderr merged into stdout, keeping the first output_bytes - 1
 * bytes of its output. Returns its exit status (-1 if it could not run). */
static inline int run(const char *command, char *output, size_t output_bytes)
{
	char full[4096];
	snprintf(full, sizeof full, "%s 2>&1", command);
	FILE *p = popen(full, "r");
	if (!p)
		return -1;
	size_t n = 0;
	char chunk[4096];
	size_t got;
	while ((got = fread(chunk, 1, sizeof chunk, p)) > 0) {
		size_t keep = output_bytes - 1 - n < got ? output_bytes - 1 - n : got;
		memcpy(output + n, chunk, keep);
		n += keep;
	}
	output[n] = '\0';
	int status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define TEST_THREADS_MAX 64

/* Runs body on a thread of its own for each of the count items (item_bytes apart, the i-th
 * item the i-th thread's argument) and waits for them all. False if a thread could not be
 * started (or count is over TEST_THREADS_MAX); those started are waited for all the same. */
static inline bool run_threads(void *(*body)(void *), void *items, size_t item_bytes, int count)
{
	pthread_t ids[TEST_THREADS_MAX];
	int started = 0;
	while (count <= TEST_THREADS_MAX && started < count &&
	       pthread_create(&ids[started], NULL, body, (char *)items + (size_t)started * item_bytes) == 0)
		started++;
	for (int i = 0; i < started; i++)
		pthread_join(ids[i], NULL);
	return started == count;
}

/* How many times needle occurs in haystack. */
static inline int count_of(const char *haystack, const char *needle)
{
	int n = 0;
	for (const char *p = haystack; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

#endif
