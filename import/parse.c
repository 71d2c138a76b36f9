/*
 * parse.c: one parse of an imported list: its cells, its errors, the file type, and the
 * entry point import_parse() that hands the bytes to the reader of their format.
 */
#include "internal.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <freexl.h>
#include <iconv.h>
#include <libxml/xmlreader.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

/* ----- the parse, its cells and its errors ----- */

const char *import_strerror(import_err err)
{
	switch (err) {
	case IMPORT_OK: return "ok";
	case IMPORT_ERR_TYPE: return "not a file of its extension's type (.csv, .txt, .xls, .xlsx)";
	case IMPORT_ERR_TOO_LARGE: return "file too large";
	case IMPORT_ERR_TOO_MANY_ROWS: return "too many rows";
	case IMPORT_ERR_CELL_TOO_LARGE: return "a cell is too large";
	case IMPORT_ERR_MALFORMED: return "truncated or corrupt file";
	case IMPORT_ERR_ZIP_BOMB: return "archive inflates beyond the limits (zip bomb?)";
	case IMPORT_ERR_NOMEM: return "out of memory";
	case IMPORT_ERR_INVALID: return "invalid argument";
	}
	return "unknown import error";
}

/* Records the first error and its message; returns the error now in force. */
__attribute__((format(printf, 3, 4))) import_err import_fail(parse *p, import_err err, const char *fmt, ...)
{
	if (p->err != IMPORT_OK)
		return p->err;
	p->err = err;
	if (p->why && p->why_bytes > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->why, p->why_bytes, fmt, ap);
		va_end(ap);
	}
	return err;
}

void import_rows_free(import_rows *rows)
{
	if (!rows)
		return;
	for (size_t i = 0; i < rows->count; i++)
		free(rows->items[i].cell);
	free(rows->items);
	*rows = (import_rows){0};
}

static bool is_ascii_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Trims ASCII white space and U+00A0 (C2 A0 in UTF-8: Excel users paste it from the web). */
void import_trim(const char **text, size_t *len)
{
	const unsigned char *s = (const unsigned char *)*text;
	size_t n = *len;
	for (;;) {
		if (n >= 1 && is_ascii_space(s[0]))
			s++, n--;
		else if (n >= 2 && s[0] == 0xc2 && s[1] == 0xa0)
			s += 2, n -= 2;
		else
			break;
	}
	for (;;) {
		if (n >= 1 && is_ascii_space(s[n - 1]))
			n--;
		else if (n >= 2 && s[n - 2] == 0xc2 && s[n - 1] == 0xa0)
			n -= 2;
		else
			break;
	}
	*text = (const char *)s;
	*len = n;
}

/*
 * The sink of every reader: one first-column cell of `row`, untrimmed. Empty cells are dropped.
 * Keeps at most IMPORT_ROWS_MAX + 1 cells (the first may be a header: finish() decides).
 */
import_err import_add_cell(parse *p, uint32_t row, const char *text, size_t len)
{
	if (p->err)
		return p->err;
	if (len > IMPORT_CELL_BYTES_MAX)
		return import_fail(p, IMPORT_ERR_CELL_TOO_LARGE,
		                   "row %u: the first cell has %zu bytes, over the limit of %u", row, len,
		                   IMPORT_CELL_BYTES_MAX);
	if (memchr(text, '\0', len))
		return import_fail(p, IMPORT_ERR_MALFORMED, "row %u: a NUL byte in the first cell", row);
	import_trim(&text, &len);
	if (len == 0)
		return IMPORT_OK;
	if (p->rows.count > IMPORT_ROWS_MAX)
		return import_fail(p, IMPORT_ERR_TOO_MANY_ROWS, "row %u: more than %u addresses in the file", row,
		                   IMPORT_ROWS_MAX);
	if (p->rows.count > 0 && row <= p->rows.items[p->rows.count - 1].row)
		return import_fail(p, IMPORT_ERR_MALFORMED, "row %u: rows out of order", row);
	if (p->rows.count == p->capacity) {
		size_t capacity = p->capacity ? 2 * p->capacity : 64;
		import_row *items = realloc(p->rows.items, capacity * sizeof *items);
		if (!items)
			return import_fail(p, IMPORT_ERR_NOMEM, "out of memory at row %u", row);
		p->rows.items = items;
		p->capacity = capacity;
	}
	char *cell = malloc(len + 1);
	if (!cell)
		return import_fail(p, IMPORT_ERR_NOMEM, "out of memory at row %u", row);
	memcpy(cell, text, len);
	cell[len] = '\0';
	p->rows.items[p->rows.count++] = (import_row){.row = row, .cell = cell};
	return IMPORT_OK;
}

/* The header rule (see import.h), then the row limit, which the header does not count in. */
static import_err finish(parse *p)
{
	if (p->err)
		return p->err;
	import_rows *rows = &p->rows;
	if (rows->count > 0 && !strchr(rows->items[0].cell, '@')) {
		rows->header_row = rows->items[0].row;
		free(rows->items[0].cell);
		memmove(rows->items, rows->items + 1, (rows->count - 1) * sizeof *rows->items);
		rows->count--;
	}
	if (rows->count > IMPORT_ROWS_MAX)
		return import_fail(p, IMPORT_ERR_TOO_MANY_ROWS, "%zu addresses, over the limit of %u", rows->count,
		                   IMPORT_ROWS_MAX);
	if (rows->count == 0) {
		free(rows->items);
		rows->items = NULL;
	}
	return IMPORT_OK;
}

/* ----- the entry point ----- */

typedef enum { KIND_UNKNOWN, KIND_CSV, KIND_TXT, KIND_XLS, KIND_XLSX } file_kind;

static const uint8_t OLE2_MAGIC[8] = {0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1};
static const uint8_t ZIP_MAGIC[4] = {'P', 'K', 0x03, 0x04};

static file_kind kind_of(const char *filename)
{
	const char *base = filename;
	for (const char *c = filename; *c; c++)
		if (*c == '/' || *c == '\\')
			base = c + 1;
	const char *dot = strrchr(base, '.');
	if (!dot)
		return KIND_UNKNOWN;
	static const struct {
		const char *extension;
		file_kind kind;
	} kinds[] = {{"csv", KIND_CSV}, {"txt", KIND_TXT}, {"xls", KIND_XLS}, {"xlsx", KIND_XLSX}};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcasecmp(dot + 1, kinds[i].extension) == 0)
			return kinds[i].kind;
	return KIND_UNKNOWN;
}

/* What the bytes are, to tell the user which extension they should have had. */
static const char *sniff(const uint8_t *bytes, size_t n)
{
	if (n >= sizeof ZIP_MAGIC && memcmp(bytes, ZIP_MAGIC, sizeof ZIP_MAGIC) == 0)
		return "a zip archive (an .xlsx?)";
	if (n >= sizeof OLE2_MAGIC && memcmp(bytes, OLE2_MAGIC, sizeof OLE2_MAGIC) == 0)
		return "an OLE2 compound file (an .xls?)";
	if (n >= 5 && memcmp(bytes, "%PDF-", 5) == 0)
		return "a PDF document";
	return NULL;
}

/* The magic numbers of .xls and .xlsx; text is checked as it is decoded. */
static import_err check_type(parse *p, file_kind kind, const uint8_t *bytes, size_t n)
{
	const char *is = sniff(bytes, n);
	if (kind == KIND_XLS && !(n >= sizeof OLE2_MAGIC && memcmp(bytes, OLE2_MAGIC, sizeof OLE2_MAGIC) == 0))
		return import_fail(p, IMPORT_ERR_TYPE, "named .xls but not an OLE2 compound file%s%s",
		                   is ? ": it is " : "", is ? is : "");
	if (kind == KIND_XLSX && !(n >= sizeof ZIP_MAGIC && memcmp(bytes, ZIP_MAGIC, sizeof ZIP_MAGIC) == 0))
		return import_fail(p, IMPORT_ERR_TYPE, "named .xlsx but not a zip archive%s%s", is ? ": it is " : "",
		                   is ? is : "");
	if ((kind == KIND_CSV || kind == KIND_TXT) && is)
		return import_fail(p, IMPORT_ERR_TYPE, "named .%s but not text: it is %s",
		                   kind == KIND_CSV ? "csv" : "txt", is);
	return IMPORT_OK;
}

static void text_read(parse *p, file_kind kind, const uint8_t *bytes, size_t n)
{
	char *text;
	size_t len;
	if (import_text_decode(p, bytes, n, &text, &len))
		return;
	if (kind == KIND_CSV)
		import_csv_read(p, text, len);
	else
		import_txt_read(p, text, len);
	free(text);
}

void import_init(void)
{
	xmlInitParser();
}

import_err import_parse(const char *filename, const uint8_t *bytes, size_t n, import_rows *out, char *why,
                        size_t why_bytes)
{
	if (why && why_bytes > 0)
		why[0] = '\0';
	if (!out)
		return IMPORT_ERR_INVALID;
	*out = (import_rows){0};
	parse p = {.why = why, .why_bytes = why_bytes};
	if (!filename || (!bytes && n > 0))
		return import_fail(&p, IMPORT_ERR_INVALID, "no file name, or no bytes");
	if (n > IMPORT_BYTES_MAX)
		return import_fail(&p, IMPORT_ERR_TOO_LARGE, "the file has %zu bytes, over the limit of %u (%u MiB)", n,
		                   IMPORT_BYTES_MAX, IMPORT_BYTES_MAX / (1024u * 1024u));
	file_kind kind = kind_of(filename);
	if (kind == KIND_UNKNOWN)
		return import_fail(&p, IMPORT_ERR_TYPE,
		                   "unknown file type: the name must end in .csv, .txt, .xls or .xlsx");
	if (n == 0)
		return import_fail(&p, IMPORT_ERR_MALFORMED, "the file is empty");
	if (check_type(&p, kind, bytes, n))
		return p.err;
	if (kind == KIND_XLS)
		import_xls_read(&p, bytes, n);
	else if (kind == KIND_XLSX)
		import_xlsx_read(&p, bytes, n);
	else
		text_read(&p, kind, bytes, n);
	if (finish(&p)) {
		import_rows_free(&p.rows);
		return p.err;
	}
	*out = p.rows;
	return IMPORT_OK;
}
