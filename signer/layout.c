/*
 * layout.c: PDFs the platform writes itself (the evidence bundle's certificate of completion and
 * attestations, docs/evidence.md), laid out from HTML by mupdf's story engine, and the text of
 * a PDF, to check what such a document says.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define A4_WIDTH_PT           595.0f
#define A4_HEIGHT_PT          842.0f
#define MARGIN_PT             48.0f
#define LAYOUT_PAGES_MAX      500 /* a certificate of a collection at its largest is far from this */
#define LAYOUT_PAGES_MAX_TEXT "500"

signer_err signer_pdf_from_html(const char *html, const char *css, uint8_t **pdf, size_t *pdf_bytes)
{
	if (pdf)
		*pdf = NULL;
	if (pdf_bytes)
		*pdf_bytes = 0;
	if (!html || !pdf || !pdf_bytes)
		return signer_fail(SIGNER_ERR_INVALID, "signer_pdf_from_html: a NULL argument");
	signer_fz fz;
	signer_err err = signer_fz_open(&fz, SIGNER_MUPDF_BYTES_MAX);
	if (err)
		return err;
	fz_context *ctx = fz.ctx;
	fz_buffer *in = NULL, *out = NULL;
	fz_story *story = NULL;
	fz_document_writer *writer = NULL;
	fz_var(in);
	fz_var(out);
	fz_var(story);
	fz_var(writer);
	fz_try(ctx)
	{
		in = fz_new_buffer_from_copied_data(ctx, (const unsigned char *)html, strlen(html));
		story = fz_new_story(ctx, in, css, 10.0f, NULL);
		out = fz_new_buffer(ctx, 64 * 1024);
		/* The writer owns the output (and keeps out alive through it until it is dropped). */
		writer = fz_new_pdf_writer_with_output(ctx, fz_new_output_with_buffer(ctx, out), "compress");
		fz_rect page = {0, 0, A4_WIDTH_PT, A4_HEIGHT_PT};
		fz_rect where = {MARGIN_PT, MARGIN_PT, A4_WIDTH_PT - MARGIN_PT, A4_HEIGHT_PT - MARGIN_PT};
		int more = 1;
		for (int pages = 0; more; pages++) {
			if (pages == LAYOUT_PAGES_MAX)
				signer_fz_limit(&fz, "the document would pass " LAYOUT_PAGES_MAX_TEXT " pages");
			fz_rect filled;
			fz_device *dev = fz_begin_page(ctx, writer, page);
			more = fz_place_story(ctx, story, where, &filled);
			fz_draw_story(ctx, story, dev, fz_identity);
			fz_end_page(ctx, writer);
		}
		fz_close_document_writer(ctx, writer);
		unsigned char *data;
		size_t n = fz_buffer_storage(ctx, out, &data);
		if (!(*pdf = malloc(n)))
			fz_throw(ctx, FZ_ERROR_MEMORY, "cannot hold a PDF of %zu bytes", n);
		memcpy(*pdf, data, n);
		*pdf_bytes = n;
	}
	fz_always(ctx)
	{
		fz_drop_document_writer(ctx, writer);
		fz_drop_story(ctx, story);
		fz_drop_buffer(ctx, out);
		fz_drop_buffer(ctx, in);
	}
	fz_catch(ctx)
	{
		err = signer_fz_caught(&fz, SIGNER_ERR_PDF_WRITE, "laying out the document");
	}
	signer_fz_close(&fz);
	return err;
}

signer_err signer_pdf_text(const uint8_t *pdf, size_t pdf_bytes, char **text, size_t *text_bytes)
{
	if (text)
		*text = NULL;
	if (text_bytes)
		*text_bytes = 0;
	if (!pdf || !text || !text_bytes)
		return signer_fail(SIGNER_ERR_INVALID, "signer_pdf_text: a NULL argument");
	signer_pdf_info *info = malloc(sizeof *info);
	if (!info)
		return signer_fail(SIGNER_ERR_NOMEM, "signer_pdf_text: out of memory");
	signer_fz fz;
	signer_err err = signer_fz_open(&fz, SIGNER_MUPDF_BYTES_MAX);
	pdf_document *doc = NULL;
	if (!err)
		err = signer_pdf_open_checked(&fz, pdf, pdf_bytes, SIGNER_PDF_BYTES_MAX, info, &doc);
	if (err) {
		free(info);
		signer_fz_close(&fz);
		return err;
	}
	fz_context *ctx = fz.ctx;
	fz_buffer *all = NULL, *page_text = NULL;
	fz_stext_page *page = NULL;
	fz_var(all);
	fz_var(page_text);
	fz_var(page);
	fz_try(ctx)
	{
		all = fz_new_buffer(ctx, 4096);
		for (uint32_t i = 0; i < info->page_count; i++) {
			page = fz_new_stext_page_from_page_number(ctx, (fz_document *)doc, (int)i, NULL);
			page_text = fz_new_buffer_from_stext_page(ctx, page);
			fz_append_buffer(ctx, all, page_text);
			fz_drop_buffer(ctx, page_text);
			page_text = NULL;
			fz_drop_stext_page(ctx, page);
			page = NULL;
		}
		unsigned char *data;
		size_t n = fz_buffer_storage(ctx, all, &data);
		if (!(*text = malloc(n + 1)))
			fz_throw(ctx, FZ_ERROR_MEMORY, "cannot hold %zu bytes of text", n);
		memcpy(*text, data, n);
		(*text)[n] = '\0';
		*text_bytes = n;
	}
	fz_always(ctx)
	{
		fz_drop_buffer(ctx, page_text);
		fz_drop_stext_page(ctx, page);
		fz_drop_buffer(ctx, all);
		pdf_drop_document(ctx, doc);
	}
	fz_catch(ctx)
	{
		err = signer_fz_caught(&fz, SIGNER_ERR_CORRUPT, "reading the text");
	}
	free(info);
	signer_fz_close(&fz);
	return err;
}
