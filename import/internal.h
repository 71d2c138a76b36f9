/*
 * internal.h: what the readers of import/ share (import.h is the module's contract).
 *
 * import/: the first column of an imported collaborator list, from .csv, .txt, .xls, .xlsx,
 * one file per format (parse.c holds the parse and the entry point).
 *
 * One parse is one `parse` value: the cells found so far and the first error. Each format's
 * reader calls import_add_cell() once per first-column cell, in row order; finish() then skips the
 * header and checks the row limit; on any error everything found is freed, so a caller that
 * forgets to test the result still grants nothing.
 *
 * The libraries do the parsing (libcsv, freexl, libzip, libxml2's xmlReader); what is written
 * here is the glue and the limits, because none of these libraries bounds what a hostile file
 * can make it allocate: the file size is checked first, the cells as they arrive, zip entries
 * before and while inflating, XML depth as the reader walks. Nothing recurses on the input.
 */
#ifndef IMPORT_INTERNAL_H
#define IMPORT_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create, mkostemp, memmem (the build sets it too) */
#endif
#include "import.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct parse {
	import_rows rows;
	size_t capacity;
	import_err err; /* the first error; later ones are ignored */
	char *why;
	size_t why_bytes;
} parse;

/* parse.c: the first error (later ones are ignored), with its message in p->why. */
__attribute__((format(printf, 3, 4))) import_err import_fail(parse *p, import_err err, const char *fmt, ...);
/* parse.c: one first-column cell of row, trimmed; in row order. */
import_err import_add_cell(parse *p, uint32_t row, const char *text, size_t len);
/* parse.c: *text and *len without the ASCII spaces around them. */
void import_trim(const char **text, size_t *len);

/* text.c: the bytes of a text list as UTF-8, controls refused (see text.c for encodings). */
import_err import_text_decode(parse *p, const uint8_t *bytes, size_t n, char **out, size_t *out_n);
/* The readers, one per format: each calls import_add_cell once per first-column cell. */
void import_txt_read(parse *p, const char *s, size_t n);
void import_csv_read(parse *p, const char *s, size_t n);
void import_xls_read(parse *p, const uint8_t *bytes, size_t n);
void import_xlsx_read(parse *p, const uint8_t *bytes, size_t n);

#endif
