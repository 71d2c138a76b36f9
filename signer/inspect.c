/*
 * inspect.c: opening untrusted PDF bytes, and the checks every document passes before it is
 * signed. signer_pdf_inspect() and signer_pades_sign() share signer_pdf_open_checked(), so a
 * document that inspection accepts is one signing accepts, and the reverse.
 *
 * The checks are strict where a lenient reader would guess: a file mupdf had to repair is
 * refused (its xref was wrong, so which objects a viewer shows is the viewer's guess, and an
 * incremental update cannot be appended to bytes that were re-interpreted). They are lenient
 * where mupdf is: a content stream with a bad operator draws what it can in every viewer and is
 * not our business. Every page's content is decoded once, though, so that a decompression bomb
 * or an undecodable page tree fails here with a typed error rather than later in a viewer.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PDF_HEADER       "%PDF-"
#define PDF_HEADER_BYTES 5u
/* Decoded content is skipped through in chunks this size: nothing is kept. */
#define CONTENT_CHUNK_BYTES (1u << 20)
/* Resource dictionaries read per document at most (read_resources): a document has a few per
 * page; the bound keeps one whose resources fan out without end from costing more. */
#define RESOURCE_DICTIONARIES_MAX 20000u

static signer_err open_document(signer_fz *fz, const uint8_t *pdf, size_t pdf_bytes, pdf_document **out)
{
	fz_context *ctx = fz->ctx;
	fz_stream *stm = NULL;
	pdf_document *doc = NULL;
	fz_var(stm);
	fz_var(doc);
	fz_try(ctx)
	{
		stm = fz_open_memory(ctx, pdf, pdf_bytes);
		doc = pdf_open_document_with_stream(ctx, stm);
	}
	fz_always(ctx)
	{
		fz_drop_stream(ctx, stm); /* the document keeps its own reference */
	}
	fz_catch(ctx)
	{
		/* It says it is a PDF (the header was checked), so it is a damaged one. */
		return signer_fz_caught(fz, SIGNER_ERR_CORRUPT, "mupdf cannot open it");
	}
	*out = doc;
	return SIGNER_OK;
}

/* Reads and discards the page's decoded content, counting it against the document's budget:
 * a content stream that inflates past it (a decompression bomb) ends the inspection. Throws. */
static void decode_content(signer_fz *fz, pdf_document *doc, pdf_obj *page, size_t *content_bytes)
{
	fz_context *ctx = fz->ctx;
	pdf_obj *contents = pdf_dict_get(ctx, page, PDF_NAME(Contents));
	if (!contents)
		return;
	fz_stream *stm = pdf_open_contents_stream(ctx, doc, contents);
	fz_try(ctx)
	{
		for (;;) {
			size_t n = fz_skip(ctx, stm, CONTENT_CHUNK_BYTES);
			if (n == 0)
				break;
			*content_bytes += n;
			if (*content_bytes > SIGNER_CONTENT_BYTES_MAX)
				signer_fz_limit(fz, "the pages' content decodes to more than SIGNER_CONTENT_BYTES_MAX");
		}
	}
	fz_always(ctx)
	{
		fz_drop_stream(ctx, stm);
	}
	fz_catch(ctx)
	{
		fz_rethrow(ctx);
	}
}

/*
 * Reads each of the page's annotation objects, as loading the page does (a visible signature
 * loads its page): one whose xref entry is wrong makes mupdf repair the file, which
 * check_document then refuses. Throws.
 */
static void read_annotations(fz_context *ctx, pdf_obj *page)
{
	pdf_obj *annots = pdf_dict_get(ctx, page, PDF_NAME(Annots));
	int count = pdf_array_len(ctx, annots);
	for (int i = 0; i < count; i++)
		(void)pdf_is_dict(ctx, pdf_array_get(ctx, annots, i));
}

/* The resource dictionaries read_resources has still to read, each marked (pdf_mark_obj) when
 * found so that it is taken once however often, or circularly, it is referenced. */
typedef struct resource_walk {
	pdf_obj **found; /* every one marked, to unmark at the end; [next, count) still to read */
	size_t next, count, capacity;
} resource_walk;

static void resources_found(fz_context *ctx, resource_walk *w, pdf_obj *resources)
{
	if (!pdf_is_dict(ctx, resources) || w->count >= RESOURCE_DICTIONARIES_MAX || pdf_obj_marked(ctx, resources))
		return;
	if (w->count == w->capacity) {
		size_t capacity = w->capacity ? 2 * w->capacity : 16;
		w->found = fz_realloc_array(ctx, w->found, capacity, pdf_obj *);
		w->capacity = capacity;
	}
	pdf_mark_obj(ctx, resources);
	w->found[w->count++] = resources;
}

/* The objects of resources that mupdf's scan for transparency and overprint reads when a page
 * is loaded: each /ExtGState; each /Pattern, its /ExtGState and its /Resources; each /XObject,
 * a form's /Group and its /Resources. Throws. */
static void read_resource_dictionary(fz_context *ctx, resource_walk *w, pdf_obj *resources)
{
	pdf_obj *states = pdf_dict_get(ctx, resources, PDF_NAME(ExtGState));
	for (int i = 0, n = pdf_dict_len(ctx, states); i < n; i++)
		(void)pdf_dict_get(ctx, pdf_dict_get_val(ctx, states, i), PDF_NAME(BM));
	pdf_obj *patterns = pdf_dict_get(ctx, resources, PDF_NAME(Pattern));
	for (int i = 0, n = pdf_dict_len(ctx, patterns); i < n; i++) {
		pdf_obj *pattern = pdf_dict_get_val(ctx, patterns, i);
		(void)pdf_dict_get(ctx, pdf_dict_get(ctx, pattern, PDF_NAME(ExtGState)), PDF_NAME(BM));
		resources_found(ctx, w, pdf_dict_get(ctx, pattern, PDF_NAME(Resources)));
	}
	pdf_obj *xobjects = pdf_dict_get(ctx, resources, PDF_NAME(XObject));
	for (int i = 0, n = pdf_dict_len(ctx, xobjects); i < n; i++) {
		pdf_obj *xobject = pdf_dict_get_val(ctx, xobjects, i);
		(void)pdf_dict_getp(ctx, xobject, "Group/S");
		resources_found(ctx, w, pdf_dict_get(ctx, xobject, PDF_NAME(Resources)));
	}
}

/*
 * Reads the page's resources as loading the page does (a visible signature loads its page, and
 * mupdf then scans them for transparency and overprint): an object there whose xref entry is
 * wrong makes mupdf repair the file, which check_document then refuses. Without recursion (a
 * chain of forms can be as deep as a file is long) and within RESOURCE_DICTIONARIES_MAX for the
 * document (*budget, what is left of it). Throws.
 */
static void read_resources(signer_fz *fz, pdf_obj *page, size_t *budget)
{
	fz_context *ctx = fz->ctx;
	resource_walk w = {0};
	fz_var(w);
	fz_try(ctx)
	{
		resources_found(ctx, &w, pdf_dict_get_inheritable(ctx, page, PDF_NAME(Resources)));
		while (w.next<w.count && * budget> 0) {
			read_resource_dictionary(ctx, &w, w.found[w.next++]);
			(*budget)--;
		}
	}
	fz_always(ctx)
	{
		for (size_t i = 0; i < w.count; i++)
			pdf_unmark_obj(ctx, w.found[i]);
		fz_free(ctx, w.found);
	}
	fz_catch(ctx)
	{
		fz_rethrow(ctx);
	}
}

/*
 * Reads every page object as signing does: the object, which signing adds the signature widget
 * to, its size as displayed (pdf_bound_page's arithmetic, on the object), and its decoded
 * content, its annotations' objects and its resources as mupdf's scan reads them. mupdf answers a page object it cannot
 * parse (nested past its parser's limit, damaged) with null, and pdf_load_page with a default box: such a page could be
 * shown, never signed, so it is refused here rather than failing at signing.
 *
 * The page is not loaded (pdf_load_page): that loads its annotations and synthesises an
 * appearance for every one without (an empty signature field's costs 0.4 ms of font loading
 * and layout), which edits the document from a check that only reads, and which our update
 * would then write out as if it were ours.
 */
static signer_err check_pages(signer_fz *fz, pdf_document *doc, int count, signer_pdf_info *info)
{
	fz_context *ctx = fz->ctx;
	size_t content_bytes = 0, resources_budget = RESOURCE_DICTIONARIES_MAX;
	int i = 0;
	bool empty_box = false, unreadable = false;
	fz_var(i);
	fz_var(empty_box);
	fz_var(unreadable);
	fz_try(ctx)
	{
		for (i = 0; i < count && !empty_box && !unreadable; i++) {
			pdf_obj *page = pdf_lookup_page_obj(ctx, doc, i);
			unreadable = !pdf_is_dict(ctx, page);
			if (unreadable)
				break;
			fz_rect mediabox;
			fz_matrix ctm;
			pdf_page_obj_transform(ctx, page, &mediabox, &ctm);
			fz_rect box = fz_transform_rect(mediabox, ctm);
			float width = box.x1 - box.x0, height = box.y1 - box.y0;
			empty_box = !isfinite(width) || !isfinite(height) || width <= 0 || height <= 0;
			info->pages[i] = (signer_page_size){width, height};
			decode_content(fz, doc, page, &content_bytes);
			read_annotations(ctx, page);
			read_resources(fz, page, &resources_budget);
		}
	}
	fz_catch(ctx)
	{
		char doing[64];
		snprintf(doing, sizeof doing, "page %d", i + 1);
		return signer_fz_caught(fz, SIGNER_ERR_CORRUPT, doing);
	}
	if (unreadable)
		return signer_fail(SIGNER_ERR_CORRUPT, "page %d: mupdf cannot read the page object (%s)", i + 1,
		                   fz->message[0] ? fz->message : "not a dictionary");
	if (empty_box)
		return signer_fail(SIGNER_ERR_CORRUPT, "page %d has an empty or infinite box", i);
	return SIGNER_OK;
}

/* A repair that followed a refused allocation was mupdf's way around the memory cap. */
static signer_err repaired_error(const signer_fz *fz)
{
	if (fz->over_memory)
		return signer_fail(SIGNER_ERR_TOO_LARGE, "needs more than %u MiB of memory (%s)",
		                   SIGNER_MUPDF_BYTES_MAX >> 20, fz->message);
	return signer_fail(SIGNER_ERR_CORRUPT, "mupdf had to repair the document (%s)", fz->message);
}

/* Encryption, repair, pages and signatures, in the order signer_pdf_inspect() documents. */
static signer_err check_document(signer_fz *fz, pdf_document *doc, signer_pdf_info *info)
{
	fz_context *ctx = fz->ctx;
	int encrypted = 0, repaired = 0, pages = 0, signatures = 0;
	fz_var(encrypted);
	fz_var(repaired);
	fz_var(pages);
	fz_try(ctx)
	{
		encrypted = pdf_needs_password(ctx, doc) || pdf_dict_get(ctx, pdf_trailer(ctx, doc), PDF_NAME(Encrypt));
		repaired = pdf_was_repaired(ctx, doc);
		if (!encrypted && !repaired)
			pages = pdf_count_pages(ctx, doc);
	}
	fz_catch(ctx)
	{
		return signer_fz_caught(fz, SIGNER_ERR_CORRUPT, "cannot read the page tree");
	}
	if (encrypted)
		return signer_fail(SIGNER_ERR_ENCRYPTED, "the document is encrypted");
	if (repaired)
		return repaired_error(fz);
	if (pages <= 0)
		return signer_fail(SIGNER_ERR_CORRUPT, "the document has no page");
	if ((unsigned)pages > SIGNER_PAGES_MAX)
		return signer_fail(SIGNER_ERR_TOO_LARGE, "%d pages, more than SIGNER_PAGES_MAX (%u)", pages,
		                   SIGNER_PAGES_MAX);
	signer_err err = check_pages(fz, doc, pages, info);
	if (err)
		return err;
	fz_var(signatures);
	fz_try(ctx)
	{
		signatures = pdf_count_signatures(ctx, doc);
		repaired = pdf_was_repaired(ctx, doc); /* an object missing where the xref said */
	}
	fz_catch(ctx)
	{
		return signer_fz_caught(fz, SIGNER_ERR_CORRUPT, "cannot read the form fields");
	}
	if (repaired)
		return repaired_error(fz);
	info->page_count = (uint32_t)pages;
	info->signature_count = signatures > 0 ? (uint32_t)signatures : 0;
	return SIGNER_OK;
}

signer_err signer_pdf_open_checked(signer_fz *fz, const uint8_t *pdf, size_t pdf_bytes, size_t pdf_bytes_max,
                                   signer_pdf_info *info, pdf_document **doc)
{
	*doc = NULL;
	memset(info, 0, sizeof *info);
	if (pdf_bytes > pdf_bytes_max)
		return signer_fail(SIGNER_ERR_TOO_LARGE, "%zu bytes, more than the limit of %zu", pdf_bytes,
		                   pdf_bytes_max);
	if (pdf_bytes < PDF_HEADER_BYTES || memcmp(pdf, PDF_HEADER, PDF_HEADER_BYTES) != 0)
		return signer_fail(SIGNER_ERR_NOT_PDF, "the bytes do not start with %s", PDF_HEADER);
	pdf_document *opened = NULL;
	signer_err err = open_document(fz, pdf, pdf_bytes, &opened);
	if (!err)
		err = check_document(fz, opened, info);
	if (err) {
		pdf_drop_document(fz->ctx, opened);
		memset(info, 0, sizeof *info);
		return err;
	}
	*doc = opened;
	return SIGNER_OK;
}

signer_err signer_pdf_inspect(const uint8_t *pdf, size_t pdf_bytes, size_t pdf_bytes_max, signer_pdf_info *info)
{
	if (!info || (!pdf && pdf_bytes > 0))
		return signer_fail(SIGNER_ERR_INVALID, "signer_pdf_inspect: NULL argument");
	memset(info, 0, sizeof *info);
	if (pdf_bytes > pdf_bytes_max) /* before mupdf sees a byte */
		return signer_fail(SIGNER_ERR_TOO_LARGE, "%zu bytes, more than the limit of %zu", pdf_bytes,
		                   pdf_bytes_max);
	signer_fz fz;
	signer_err err = signer_fz_open(&fz, SIGNER_MUPDF_BYTES_MAX);
	if (err)
		return err;
	pdf_document *doc = NULL;
	err = signer_pdf_open_checked(&fz, pdf ? pdf : (const uint8_t *)"", pdf_bytes, pdf_bytes_max, info, &doc);
	pdf_drop_document(fz.ctx, doc);
	signer_fz_close(&fz);
	return err;
}

signer_err signer_rect_check(const signer_pdf_info *info, const signer_rect *rect)
{
	if (!info || !rect)
		return signer_fail(SIGNER_ERR_INVALID, "signer_rect_check: NULL argument");
	if (rect->page_index >= info->page_count || rect->page_index >= SIGNER_PAGES_MAX)
		return signer_fail(SIGNER_ERR_RECT, "page index %u, but the document has %u pages", rect->page_index,
		                   info->page_count);
	if (!isfinite(rect->x0) || !isfinite(rect->y0) || !isfinite(rect->x1) || !isfinite(rect->y1))
		return signer_fail(SIGNER_ERR_RECT, "a coordinate is not a finite number");
	if (rect->x1 - rect->x0 < SIGNER_RECT_SIDE_PT_MIN || rect->y1 - rect->y0 < SIGNER_RECT_SIDE_PT_MIN)
		return signer_fail(SIGNER_ERR_RECT, "the rectangle is empty, inverted or under %.0f pt",
		                   (double)SIGNER_RECT_SIDE_PT_MIN);
	const signer_page_size *page = &info->pages[rect->page_index];
	if (rect->x0 < 0 || rect->y0 < 0 || rect->x1 > page->width_pt || rect->y1 > page->height_pt)
		return signer_fail(SIGNER_ERR_RECT, "the rectangle leaves page %u (%.1f x %.1f pt)",
		                   rect->page_index + 1, (double)page->width_pt, (double)page->height_pt);
	return SIGNER_OK;
}
