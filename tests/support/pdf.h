/*
 * pdf.h: the PDFs the C tests upload, built byte by byte. Each xref entry is exactly 20 bytes
 * ("oooooooooo ggggg n \n") and names the byte offset of its object, and startxref the offset
 * of "xref": mupdf opens them without repairing anything, which is what ledgerd's inspection
 * demands. Pages are A4; each shows a grey rectangle and, when given, a line of text.
 */
#ifndef TESTS_SUPPORT_PDF_H
#define TESTS_SUPPORT_PDF_H

#include <stddef.h>
#include <stdint.h>

#define TEST_PDF_PAGES_MAX 4
#define TEST_PDF_TEXT_MAX  200 /* characters of a page's text; more are cut */

typedef struct test_pdf_spec {
	const char *tag;          /* a comment line (NULL: none): makes the bytes, and so the SHA-256, unique */
	int pages;                /* 1 to TEST_PDF_PAGES_MAX */
	const char *const *texts; /* the text of each page (NULL, or a NULL entry: none); no parentheses */
	size_t padding;           /* a second comment line of exactly this many bytes (0, or at least 2) */
	size_t xref_skew;         /* added to every offset of the xref table: not 0 breaks it */
} test_pdf_spec;

/* Writes the PDF s describes into out; returns its length, 0 if it does not fit in cap or s is
 * out of range. 2048 bytes always hold one page. */
size_t test_pdf_write(uint8_t *out, size_t cap, const test_pdf_spec *s);

/* The object number of page i (from 0): 3 + i. The catalog is object 1, the page tree 2; the
 * pages' content streams follow the pages, the font comes last. */
int test_pdf_page_object(int i);

/* A one-page PDF showing text (which also tags it). */
size_t test_pdf_text(uint8_t *out, size_t cap, const char *text);

/* A valid one-page PDF tagged tag of exactly `bytes` bytes (padded by a comment); 0 if it
 * cannot be made that size. */
size_t test_pdf_sized(uint8_t *out, size_t cap, const char *tag, size_t bytes);

#endif
