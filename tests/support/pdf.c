/* pdf.c: see pdf.h. */
#include "pdf.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define PAGE_WIDTH_PT  595
#define PAGE_HEIGHT_PT 842

/* The PDF being written: n bytes of out's cap so far; full once something did not fit. */
typedef struct writer {
	size_t n;
	size_t cap;
	bool full;
	char *out;
} writer;

__attribute__((format(printf, 2, 3))) static void put(writer *w, const char *fmt, ...)
{
	if (w->full)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(w->out + w->n, w->cap - w->n, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= w->cap - w->n)
		w->full = true;
	else
		w->n += (size_t)n;
}

static void pad(writer *w, size_t bytes)
{
	if (bytes < 2 || w->full)
		return;
	if (w->n + bytes >= w->cap) {
		w->full = true;
		return;
	}
	w->out[w->n] = '%';
	memset(w->out + w->n + 1, 'x', bytes - 2);
	w->out[w->n + bytes - 1] = '\n';
	w->n += bytes;
}

/* The objects: 1 the catalog, 2 the page tree, then the pages, their content streams, the font. */
int test_pdf_page_object(int i)
{
	return 3 + i;
}

static int page_content_object(const test_pdf_spec *s, int i)
{
	return 3 + s->pages + i;
}

static int font_object(const test_pdf_spec *s)
{
	return 3 + 2 * s->pages;
}

static void page_write(writer *w, const test_pdf_spec *s, int i, size_t *offsets)
{
	int object = test_pdf_page_object(i);
	offsets[object] = w->n;
	put(w,
	    "%d 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R"
	    " /Resources << /Font << /F1 %d 0 R >> >> >>\nendobj\n",
	    object, PAGE_WIDTH_PT, PAGE_HEIGHT_PT, page_content_object(s, i), font_object(s));
}

static void content_write(writer *w, const test_pdf_spec *s, int i, size_t *offsets)
{
	const char *text = s->texts ? s->texts[i] : NULL;
	char content[TEST_PDF_TEXT_MAX + 96];
	int object = page_content_object(s, i);
	int n = snprintf(content, sizeof content, "0.5 g 72 72 200 100 re f");
	if (text)
		n += snprintf(content + n, sizeof content - (size_t)n, "\nBT /F1 12 Tf 72 720 Td (%.*s) Tj ET",
		              TEST_PDF_TEXT_MAX, text);
	offsets[object] = w->n;
	put(w, "%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n", object, n, content);
}

size_t test_pdf_write(uint8_t *out, size_t cap, const test_pdf_spec *s)
{
	if (s->pages < 1 || s->pages > TEST_PDF_PAGES_MAX || cap == 0)
		return 0;
	writer w = {.cap = cap, .out = (char *)out};
	size_t offsets[4 + 2 * TEST_PDF_PAGES_MAX];
	int objects = font_object(s);
	put(&w, "%%PDF-1.7\n%%\xe2\xe3\xcf\xd3\n");
	if (s->tag)
		put(&w, "%%%s\n", s->tag);
	pad(&w, s->padding);
	offsets[1] = w.n;
	put(&w, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
	offsets[2] = w.n;
	put(&w, "2 0 obj\n<< /Type /Pages /Count %d /Kids [", s->pages);
	for (int i = 0; i < s->pages; i++)
		put(&w, " %d 0 R", test_pdf_page_object(i));
	put(&w, " ] >>\nendobj\n");
	for (int i = 0; i < s->pages; i++)
		page_write(&w, s, i, offsets);
	for (int i = 0; i < s->pages; i++)
		content_write(&w, s, i, offsets);
	offsets[objects] = w.n;
	put(&w, "%d 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n", objects);
	size_t xref = w.n;
	put(&w, "xref\n0 %d\n0000000000 65535 f \n", objects + 1);
	for (int i = 1; i <= objects; i++)
		put(&w, "%010zu 00000 n \n", offsets[i] + s->xref_skew);
	put(&w, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n", objects + 1, xref);
	return w.full ? 0 : w.n;
}

size_t test_pdf_text(uint8_t *out, size_t cap, const char *text)
{
	return test_pdf_write(out, cap, &(test_pdf_spec){.tag = text, .pages = 1, .texts = &text});
}

size_t test_pdf_sized(uint8_t *out, size_t cap, const char *tag, size_t bytes)
{
	test_pdf_spec s = {.tag = tag, .pages = 1};
	size_t n = test_pdf_write(out, cap, &s);
	if (n == 0 || n + 2 > bytes)
		return 0;
	/* The padding moves startxref, whose digits may grow: converge in a few rounds. */
	for (int round = 0; round < 4 && n != bytes; round++) {
		s.padding = (size_t)((long long)s.padding + (long long)bytes - (long long)n);
		n = test_pdf_write(out, cap, &s);
	}
	return n == bytes ? n : 0;
}
