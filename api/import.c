/*
 * import.c: the first column of an imported collaborator list, from .csv, .txt, .xls, .xlsx.
 *
 * One parse is one `parse` value: the cells found so far and the first error. Each format's
 * reader calls add_cell() once per first-column cell, in row order; finish() then skips the
 * header and checks the row limit; on any error everything found is freed, so a caller that
 * forgets to test the result still grants nothing.
 *
 * The libraries do the parsing (libcsv, freexl, libzip, libxml2's xmlReader); what is written
 * here is the glue and the limits, because none of these libraries bounds what a hostile file
 * can make it allocate: the file size is checked first, the cells as they arrive, zip entries
 * before and while inflating, XML depth as the reader walks. Nothing recurses on the input.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create, mkostemp, memmem (the build sets it too) */
#endif
#include "import.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <freexl.h>
#include <iconv.h>
#include <libxml/xmlreader.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
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

typedef struct parse {
	import_rows rows;
	size_t capacity;
	import_err err; /* the first error; later ones are ignored */
	char *why;
	size_t why_bytes;
} parse;

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
__attribute__((format(printf, 3, 4))) static import_err fail(parse *p, import_err err, const char *fmt, ...)
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
static void trim(const char **text, size_t *len)
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
static import_err add_cell(parse *p, uint32_t row, const char *text, size_t len)
{
	if (p->err)
		return p->err;
	if (len > IMPORT_CELL_BYTES_MAX)
		return fail(p, IMPORT_ERR_CELL_TOO_LARGE, "row %u: the first cell has %zu bytes, over the limit of %u",
		            row, len, IMPORT_CELL_BYTES_MAX);
	if (memchr(text, '\0', len))
		return fail(p, IMPORT_ERR_MALFORMED, "row %u: a NUL byte in the first cell", row);
	trim(&text, &len);
	if (len == 0)
		return IMPORT_OK;
	if (p->rows.count > IMPORT_ROWS_MAX)
		return fail(p, IMPORT_ERR_TOO_MANY_ROWS, "row %u: more than %u addresses in the file", row,
		            IMPORT_ROWS_MAX);
	if (p->rows.count > 0 && row <= p->rows.items[p->rows.count - 1].row)
		return fail(p, IMPORT_ERR_MALFORMED, "row %u: rows out of order", row);
	if (p->rows.count == p->capacity) {
		size_t capacity = p->capacity ? 2 * p->capacity : 64;
		import_row *items = realloc(p->rows.items, capacity * sizeof *items);
		if (!items)
			return fail(p, IMPORT_ERR_NOMEM, "out of memory at row %u", row);
		p->rows.items = items;
		p->capacity = capacity;
	}
	char *cell = malloc(len + 1);
	if (!cell)
		return fail(p, IMPORT_ERR_NOMEM, "out of memory at row %u", row);
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
		return fail(p, IMPORT_ERR_TOO_MANY_ROWS, "%zu addresses, over the limit of %u", rows->count,
		            IMPORT_ROWS_MAX);
	if (rows->count == 0) {
		free(rows->items);
		rows->items = NULL;
	}
	return IMPORT_OK;
}

/* ----- text: encoding (.csv and .txt) ----- */

/* Converts in[0..n) from charset `from` to a NUL-terminated UTF-8 copy. On a byte that is not
 * of that charset returns EILSEQ with its offset in *bad_at. */
static int iconv_to_utf8(const char *from, const uint8_t *in, size_t n, char **out, size_t *out_n, size_t *bad_at)
{
	iconv_t cd = iconv_open("UTF-8", from);
	if (cd == (iconv_t)-1)
		return errno ? errno : EINVAL;
	size_t capacity = 3 * n + 1; /* Windows-1252 -> 3 bytes at most; UTF-16 -> 1.5x */
	char *buf = malloc(capacity);
	if (!buf) {
		iconv_close(cd);
		return ENOMEM;
	}
	char *ip = (char *)in, *op = buf;
	size_t il = n, ol = capacity - 1;
	int rc = 0;
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 || iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1)
		rc = errno == E2BIG ? ENOMEM : EILSEQ;
	iconv_close(cd);
	if (rc) {
		*bad_at = (size_t)(ip - (char *)in);
		free(buf);
		return rc;
	}
	*op = '\0';
	*out = buf;
	*out_n = (size_t)(op - buf);
	return 0;
}

/* Refuses NUL and control bytes other than tab, CR and LF: the mark of a binary file. */
static import_err text_check_controls(parse *p, const char *s, size_t n)
{
	size_t line = 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			line++;
		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
			return fail(p, IMPORT_ERR_TYPE, "line %zu: control byte 0x%02x: not a text file", line, c);
	}
	return IMPORT_OK;
}

/*
 * The text of a .csv or .txt as UTF-8 (*out, to free). The encoding is the BOM's if there is
 * one (UTF-8, or UTF-16 as Excel's "Unicode text"), else UTF-8 if the bytes are valid UTF-8,
 * else Windows-1252 (what French Excel writes as "CSV (separator: semicolon)"). glibc's iconv
 * does the decoding and rejects overlong forms, surrogates and undefined bytes.
 */
static import_err text_decode(parse *p, const uint8_t *bytes, size_t n, char **out, size_t *out_n)
{
	const char *from = "UTF-8";
	bool bom = true;
	if (n >= 3 && memcmp(bytes, "\xef\xbb\xbf", 3) == 0)
		bytes += 3, n -= 3;
	else if (n >= 2 && memcmp(bytes, "\xff\xfe", 2) == 0)
		from = "UTF-16LE", bytes += 2, n -= 2;
	else if (n >= 2 && memcmp(bytes, "\xfe\xff", 2) == 0)
		from = "UTF-16BE", bytes += 2, n -= 2;
	else
		bom = false;
	size_t bad_at = 0;
	int rc = iconv_to_utf8(from, bytes, n, out, out_n, &bad_at);
	if (rc == EILSEQ && !bom)
		rc = iconv_to_utf8(from = "WINDOWS-1252", bytes, n, out, out_n, &bad_at);
	if (rc == ENOMEM)
		return fail(p, IMPORT_ERR_NOMEM, "out of memory decoding the text");
	if (rc)
		return fail(p, IMPORT_ERR_TYPE, "byte %zu (0x%02x) is %s: not a text file", bad_at,
		            bad_at < n ? bytes[bad_at] : 0,
		            bom ? "not of the encoding its BOM says" : "neither UTF-8 nor Windows-1252");
	if (text_check_controls(p, *out, *out_n)) {
		free(*out);
		*out = NULL;
		return p->err;
	}
	return IMPORT_OK;
}

/* ----- .txt: the first token of each line ----- */

static bool txt_is_separator(char c)
{
	return c == ' ' || c == '\t' || c == ';' || c == ',';
}

/* One address per line; a line may go on after a space, tab, ';' or ',' (the rest is ignored).
 * Lines end with LF, CRLF or CR. */
static void txt_parse(parse *p, const char *s, size_t n)
{
	uint32_t line = 1;
	size_t i = 0;
	while (i < n && !p->err) {
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		size_t start = i;
		while (i < n && !txt_is_separator(s[i]) && s[i] != '\r' && s[i] != '\n')
			i++;
		add_cell(p, line, s + start, i - start);
		while (i < n && s[i] != '\r' && s[i] != '\n')
			i++;
		if (i + 1 < n && s[i] == '\r' && s[i + 1] == '\n')
			i++;
		i++;
		line++;
	}
}

/* ----- .csv: libcsv ----- */

/* French Excel separates with ';', most others with ','; tab-separated exports exist too.
 * Counts each outside quotes on the first lines and takes the most frequent (';' on a tie). */
static unsigned char csv_guess_delimiter(const char *s, size_t n)
{
	static const unsigned char candidates[] = {';', ',', '\t'};
	size_t counts[sizeof candidates] = {0};
	bool quoted = false;
	size_t lines = 0;
	for (size_t i = 0; i < n && i < 64 * 1024 && lines < 20; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"')
			quoted = !quoted;
		else if (!quoted && c == '\n')
			lines++;
		for (size_t k = 0; !quoted && k < sizeof candidates; k++)
			counts[k] += c == candidates[k];
	}
	size_t best = 0;
	for (size_t k = 1; k < sizeof candidates; k++)
		if (counts[k] > counts[best])
			best = k;
	return candidates[best];
}

typedef struct csv_state {
	parse *p;
	uint32_t record;      /* 1-based number of the record being read */
	size_t field;         /* index of the next field in it */
	bool ended_on_cr;     /* the last record ended on CR... */
	bool field_since_end; /* ...and no field came since: a LF now is the rest of a CRLF */
} csv_state;

static void csv_on_field(void *s, size_t len, void *data)
{
	csv_state *st = data;
	st->field_since_end = true;
	if (st->field++ == 0)
		add_cell(st->p, st->record, s ? s : "", s ? len : 0);
}

/* With CSV_REPALL_NL libcsv reports every line end, empty lines included (they are rows in a
 * spreadsheet), but reports CRLF as two: the LF right after a CR ending is not a new row. */
static void csv_on_record(int c, void *data)
{
	csv_state *st = data;
	bool lf_of_crlf = c == '\n' && st->ended_on_cr && !st->field_since_end;
	st->ended_on_cr = c == '\r';
	st->field_since_end = false;
	st->field = 0;
	if (!lf_of_crlf && st->record < UINT32_MAX)
		st->record++;
}

/* libcsv grows a field's buffer without bound; refusing to grow it past the limit makes it
 * stop with CSV_ENOMEM, which csv_parse_chunks() reports as a cell too large. */
static void *csv_realloc_bounded(void *ptr, size_t bytes)
{
	return bytes > IMPORT_CSV_FIELD_BYTES_MAX + 1 ? NULL : realloc(ptr, bytes);
}

static void csv_parse_chunks(parse *p, struct csv_parser *cp, csv_state *st, const char *s, size_t n)
{
	for (size_t at = 0; at < n && !p->err;) {
		size_t len = n - at < 64 * 1024 ? n - at : 64 * 1024;
		if (csv_parse(cp, s + at, len, csv_on_field, csv_on_record, st) != len) {
			int rc = csv_error(cp);
			if (rc == CSV_ENOMEM && cp->entry_size + cp->blk_size > IMPORT_CSV_FIELD_BYTES_MAX)
				fail(p, IMPORT_ERR_CELL_TOO_LARGE, "row %u: a field over %u bytes", st->record,
				     IMPORT_CSV_FIELD_BYTES_MAX);
			else if (rc == CSV_ENOMEM)
				fail(p, IMPORT_ERR_NOMEM, "out of memory at row %u", st->record);
			else
				fail(p, IMPORT_ERR_MALFORMED, "row %u: %s (a quote inside an unquoted field?)",
				     st->record, csv_strerror(rc));
			return;
		}
		at += len;
	}
	if (!p->err && csv_fini(cp, csv_on_field, csv_on_record, st) != 0)
		fail(p, IMPORT_ERR_MALFORMED, "row %u: a quoted field is not closed (truncated file?)", st->record);
}

/* Strict mode: a stray quote or a quoted field left open at the end is an error rather than a
 * guess, since the rows after it would be misread. */
static void csv_read(parse *p, const char *s, size_t n)
{
	struct csv_parser cp;
	if (csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0) {
		fail(p, IMPORT_ERR_NOMEM, "out of memory");
		return;
	}
	csv_set_delim(&cp, csv_guess_delimiter(s, n));
	csv_set_realloc_func(&cp, csv_realloc_bounded);
	csv_set_blk_size(&cp, 4096);
	csv_state st = {.p = p, .record = 1};
	csv_parse_chunks(p, &cp, &st, s, n);
	csv_free(&cp);
}

/* ----- .xls: freexl ----- */

/* freexl reads only from a path: the bytes go to an anonymous memory file (memfd_create), or,
 * where that is missing, to a temporary file unlinked as soon as freexl has opened it. */
typedef struct spill {
	int fd;
	bool temporary;
	char path[256];
} spill;

static bool write_all(int fd, const uint8_t *bytes, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, bytes, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		bytes += w, n -= (size_t)w;
	}
	return true;
}

static bool spill_open(spill *sp, const uint8_t *bytes, size_t n)
{
	sp->temporary = false;
	sp->fd = memfd_create("import.xls", MFD_CLOEXEC);
	if (sp->fd >= 0) {
		snprintf(sp->path, sizeof sp->path, "/proc/self/fd/%d", sp->fd);
		if (access(sp->path, R_OK) != 0) /* no /proc in this sandbox */
			close(sp->fd), sp->fd = -1;
	}
	if (sp->fd < 0) {
		const char *dir = getenv("TMPDIR");
		int len = snprintf(sp->path, sizeof sp->path, "%s/import-XXXXXX", dir && *dir ? dir : "/tmp");
		if (len < 0 || (size_t)len >= sizeof sp->path || (sp->fd = mkostemp(sp->path, O_CLOEXEC)) < 0)
			return false;
		sp->temporary = true;
	}
	if (!write_all(sp->fd, bytes, n)) {
		if (sp->temporary)
			unlink(sp->path);
		close(sp->fd);
		return false;
	}
	return true;
}

static void spill_close(spill *sp)
{
	if (sp->temporary)
		unlink(sp->path);
	close(sp->fd);
}

/* The text of a first-column cell: text as is, numbers as a spreadsheet would show them. */
static void xls_cell(parse *p, uint32_t row, const FreeXL_CellValue *cell)
{
	char number[64];
	switch (cell->type) {
	case FREEXL_CELL_INT:
		snprintf(number, sizeof number, "%d", cell->value.int_value);
		add_cell(p, row, number, strlen(number));
		break;
	case FREEXL_CELL_DOUBLE:
		snprintf(number, sizeof number, "%.15g", cell->value.double_value);
		add_cell(p, row, number, strlen(number));
		break;
	case FREEXL_CELL_TEXT:
	case FREEXL_CELL_SST_TEXT:
	case FREEXL_CELL_DATE:
	case FREEXL_CELL_DATETIME:
	case FREEXL_CELL_TIME:
		if (cell->value.text_value)
			add_cell(p, row, cell->value.text_value, strlen(cell->value.text_value));
		break;
	default: break; /* FREEXL_CELL_NULL: an empty cell */
	}
}

static void xls_first_column(parse *p, const void *xls)
{
	unsigned info = 0;
	if (freexl_get_info(xls, FREEXL_BIFF_PASSWORD, &info) == FREEXL_OK && info == FREEXL_BIFF_OBFUSCATED) {
		fail(p, IMPORT_ERR_MALFORMED, "the workbook is password-protected");
		return;
	}
	if (freexl_get_info(xls, FREEXL_BIFF_SHEET_COUNT, &info) != FREEXL_OK || info == 0)
		return; /* no worksheet: no rows */
	unsigned rows = 0;
	unsigned short columns = 0;
	if (freexl_select_active_worksheet(xls, 0) != FREEXL_OK ||
	    freexl_worksheet_dimensions(xls, &rows, &columns) != FREEXL_OK) {
		fail(p, IMPORT_ERR_MALFORMED, "the first worksheet cannot be read");
		return;
	}
	for (unsigned r = 0; columns > 0 && r < rows && !p->err; r++) {
		FreeXL_CellValue cell;
		if (freexl_get_cell_value(xls, r, 0, &cell) != FREEXL_OK)
			fail(p, IMPORT_ERR_MALFORMED, "row %u: the first cell cannot be read", r + 1);
		else
			xls_cell(p, r + 1, &cell);
	}
}

/* freexl in the child process (see xls_isolated). */
static void xls_read(parse *p, const uint8_t *bytes, size_t n)
{
	spill sp;
	if (!spill_open(&sp, bytes, n)) {
		fail(p, IMPORT_ERR_NOMEM, "cannot hand the .xls to freexl: %s", strerror(errno));
		return;
	}
	const void *xls = NULL;
	int rc = freexl_open(sp.path, &xls);
	spill_close(&sp);
	if (rc == FREEXL_BIFF_WORKBOOK_NOT_FOUND)
		fail(p, IMPORT_ERR_TYPE, "an OLE2 file without an Excel workbook (a Word document?)");
	else if (rc != FREEXL_OK)
		fail(p, IMPORT_ERR_MALFORMED, "not a readable .xls workbook (freexl error %d)", rc);
	else
		xls_first_column(p, xls);
	if (xls)
		freexl_close(xls);
}

/*
 * freexl 1.0.6 (Debian 12) is not safe on hostile input: tests/fuzz found in seconds that
 * freexl_open hands iconv a directory entry's name with the file's 16-bit length, reading up to
 * 64 KiB past a 64-byte field on the stack; it also allocates up to 256 MiB per sheet for as
 * many sheets as the file declares, and spells dates out with a loop as long as the date. No
 * other .xls library is packaged, and an OLE2/BIFF pre-check would be a hand-written parser.
 *
 * So freexl runs in a forked child that can only hurt itself: its address space and CPU time
 * are limited, the parent kills it after IMPORT_XLS_SECONDS_MAX, and its only way back is a
 * pipe of (row, length, text) records that the parent reads with bounds and passes to
 * add_cell() like any other input. A child that crashes, dies of a limit or says anything
 * malformed gives IMPORT_ERR_MALFORMED. The child calls malloc and iconv after a fork in a
 * possibly threaded process: glibc's malloc supports it; an iconv lock held by another thread
 * at the fork would hang the child, which the parent's deadline turns into an error.
 * This contains crashes and resource exhaustion, not code execution: the child is a copy of
 * the server, secrets included. Containing that would take exec'ing a helper under seccomp.
 */
#if defined(__SANITIZE_ADDRESS__)
#define IMPORT_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IMPORT_UNDER_ASAN 1
#endif
#endif
#ifdef IMPORT_UNDER_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

/* The pipe's records: a status (err, why length, why), then per cell (row, length, text). */
typedef struct xls_record {
	uint32_t a, b;
} xls_record;

#define XLS_REPLY_BYTES_MAX                                                                                            \
	(sizeof(xls_record) + 256 + (IMPORT_ROWS_MAX + 1) * (sizeof(xls_record) + IMPORT_CELL_BYTES_MAX))

/* A hostile file must not write to the server's log, and the child's death is handled: under a
 * sanitizer, no inherited death callback (libFuzzer's would record the input as a crash). */
static void xls_child_limits(void)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0)
		dup2(null, STDERR_FILENO);
#ifdef IMPORT_UNDER_ASAN
	__sanitizer_set_death_callback(NULL);
#endif
	struct rlimit cpu = {IMPORT_XLS_SECONDS_MAX, IMPORT_XLS_SECONDS_MAX + 1}, core = {0, 0};
	setrlimit(RLIMIT_CPU, &cpu);
	setrlimit(RLIMIT_CORE, &core); /* a dying child must not dump a server-sized core */
#ifndef IMPORT_UNDER_ASAN              /* ASan reserves terabytes of address space up front */
	struct rlimit memory = {IMPORT_XLS_MEMORY_BYTES_MAX, IMPORT_XLS_MEMORY_BYTES_MAX};
	setrlimit(RLIMIT_AS, &memory);
#endif
}

static _Noreturn void xls_child(int fd, const uint8_t *bytes, size_t n)
{
	xls_child_limits();
	char why[256] = "";
	parse p = {.why = why, .why_bytes = sizeof why};
	xls_read(&p, bytes, n);
	xls_record status = {(uint32_t)p.err, (uint32_t)strlen(why)};
	bool ok =
	    write_all(fd, (const uint8_t *)&status, sizeof status) && write_all(fd, (const uint8_t *)why, status.b);
	for (size_t i = 0; ok && !p.err && i < p.rows.count; i++) {
		const import_row *r = &p.rows.items[i];
		xls_record cell = {r->row, (uint32_t)strlen(r->cell)};
		ok = write_all(fd, (const uint8_t *)&cell, sizeof cell) &&
		     write_all(fd, (const uint8_t *)r->cell, cell.b);
	}
	_exit(ok ? 0 : 1);
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the child's reply into buf until EOF; false on overrun, error or deadline. */
static bool xls_receive(int fd, uint8_t *buf, size_t capacity, size_t *len)
{
	int64_t deadline = monotonic_ms() + 1000 * (int64_t)IMPORT_XLS_SECONDS_MAX;
	*len = 0;
	for (;;) {
		int64_t left = deadline - monotonic_ms();
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int rc = left > 0 ? poll(&pfd, 1, (int)left) : 0;
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return false;
		ssize_t r = read(fd, buf + *len, capacity - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0;
		*len += (size_t)r;
		if (*len == capacity)
			return false; /* more than any honest reply */
	}
}

/* Checks the child's reply and feeds its cells to add_cell. */
static void xls_decode(parse *p, const uint8_t *buf, size_t len)
{
	xls_record status;
	if (len < sizeof status)
		goto malformed;
	memcpy(&status, buf, sizeof status);
	if (status.a > IMPORT_ERR_INVALID || status.b >= 256 || status.b > len - sizeof status)
		goto malformed;
	size_t at = sizeof status + status.b;
	if (status.a != IMPORT_OK) {
		fail(p, (import_err)status.a, "%.*s", (int)status.b, (const char *)buf + sizeof status);
		return;
	}
	while (at < len && !p->err) {
		xls_record cell;
		if (len - at < sizeof cell)
			goto malformed;
		memcpy(&cell, buf + at, sizeof cell);
		at += sizeof cell;
		if (cell.b > len - at)
			goto malformed;
		add_cell(p, cell.a, (const char *)buf + at, cell.b);
		at += cell.b;
	}
	return;
malformed:
	fail(p, IMPORT_ERR_MALFORMED, "the .xls reader returned a malformed reply");
}

static void xls_isolated(parse *p, const uint8_t *bytes, size_t n)
{
	int fds[2];
	uint8_t *buf = malloc(XLS_REPLY_BYTES_MAX);
	if (!buf || pipe2(fds, O_CLOEXEC) != 0) {
		free(buf);
		fail(p, IMPORT_ERR_NOMEM, "cannot start the .xls reader: %s", strerror(errno));
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		xls_child(fds[1], bytes, n);
	}
	close(fds[1]);
	size_t len = 0;
	bool received = pid > 0 && xls_receive(fds[0], buf, XLS_REPLY_BYTES_MAX, &len);
	close(fds[0]);
	int status = 0;
	if (pid > 0 && !received)
		kill(pid, SIGKILL);
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (pid < 0)
		fail(p, IMPORT_ERR_NOMEM, "cannot start the .xls reader: %s", strerror(errno));
	else if (!received || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail(p, IMPORT_ERR_MALFORMED, "the .xls reader failed on this file (%s %d): corrupt or hostile",
		     WIFSIGNALED(status) ? "signal" : "status",
		     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	else
		xls_decode(p, buf, len);
	free(buf);
}

/* ----- .xlsx: zip entries, read through memory with limits ----- */

#define XLSX_PATH_BYTES_MAX 200u

typedef struct xlsx {
	parse *p;
	zip_t *zip;
	uint64_t inflated_bytes; /* counted, over every entry read */
} xlsx;

/* Before reading anything: the entries' count, their declared total and each one's ratio. */
static import_err zip_check_declared(xlsx *x)
{
	zip_int64_t count = zip_get_num_entries(x->zip, 0);
	if (count < 0 || (uint64_t)count > IMPORT_XLSX_ENTRIES_MAX)
		return fail(x->p, IMPORT_ERR_ZIP_BOMB, "%lld entries in the archive, over the limit of %u",
		            (long long)count, IMPORT_XLSX_ENTRIES_MAX);
	uint64_t total = 0;
	for (zip_int64_t i = 0; i < count; i++) {
		zip_stat_t st;
		if (zip_stat_index(x->zip, (zip_uint64_t)i, 0, &st) != 0 ||
		    (st.valid & (ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE)) != (ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE))
			return fail(x->p, IMPORT_ERR_MALFORMED, "entry %lld of the archive cannot be read",
			            (long long)i);
		if (st.size > IMPORT_XLSX_UNCOMPRESSED_MAX - total)
			return fail(x->p, IMPORT_ERR_ZIP_BOMB,
			            "entry %lld inflates to %llu bytes: the archive is over %u bytes uncompressed",
			            (long long)i, (unsigned long long)st.size, IMPORT_XLSX_UNCOMPRESSED_MAX);
		total += st.size;
		if (st.size > IMPORT_XLSX_RATIO_MIN_BYTES && st.size / IMPORT_XLSX_RATIO_MAX > st.comp_size)
			return fail(x->p, IMPORT_ERR_ZIP_BOMB, "entry %lld: %llu bytes from %llu, a ratio over %u",
			            (long long)i, (unsigned long long)st.size, (unsigned long long)st.comp_size,
			            IMPORT_XLSX_RATIO_MAX);
	}
	return IMPORT_OK;
}

/* Reads at most `capacity` bytes of f: one more than the entry declares, so that an entry
 * inflating past its header is caught without inflating it further. */
static import_err zip_read_bounded(xlsx *x, zip_file_t *f, const char *name, uint8_t *buf, size_t capacity, size_t *got)
{
	*got = 0;
	while (*got < capacity) {
		zip_uint64_t want = capacity - *got < 64 * 1024 ? capacity - *got : 64 * 1024;
		zip_int64_t r = zip_fread(f, buf + *got, want);
		if (r < 0)
			return fail(x->p, IMPORT_ERR_MALFORMED, "%s: %s", name, zip_file_strerror(f));
		if (r == 0)
			break;
		*got += (size_t)r;
	}
	return IMPORT_OK;
}

static import_err zip_check_inflated(xlsx *x, const char *name, const zip_stat_t *st, size_t got)
{
	if (got > st->size)
		return fail(x->p, IMPORT_ERR_ZIP_BOMB, "%s inflates past the %llu bytes its header declares", name,
		            (unsigned long long)st->size);
	if (got < st->size)
		return fail(x->p, IMPORT_ERR_MALFORMED, "%s: %zu bytes where the header declares %llu", name, got,
		            (unsigned long long)st->size);
	if (got > IMPORT_XLSX_RATIO_MIN_BYTES && got / IMPORT_XLSX_RATIO_MAX > st->comp_size)
		return fail(x->p, IMPORT_ERR_ZIP_BOMB, "%s: a compression ratio over %u", name, IMPORT_XLSX_RATIO_MAX);
	x->inflated_bytes += got;
	return IMPORT_OK;
}

/* Inflates the entry `name` into *out (to free). A missing entry leaves *out NULL and is an
 * error only if `required`. */
static import_err zip_read_entry(xlsx *x, const char *name, bool required, uint8_t **out, size_t *out_n)
{
	*out = NULL;
	*out_n = 0;
	zip_int64_t index = zip_name_locate(x->zip, name, 0);
	if (index < 0)
		return required ? fail(x->p, IMPORT_ERR_MALFORMED, "%s is missing from the workbook", name) : IMPORT_OK;
	zip_stat_t st;
	if (zip_stat_index(x->zip, (zip_uint64_t)index, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
		return fail(x->p, IMPORT_ERR_MALFORMED, "%s cannot be read", name);
	if (st.size > IMPORT_XLSX_UNCOMPRESSED_MAX - x->inflated_bytes)
		return fail(x->p, IMPORT_ERR_ZIP_BOMB, "%s: %llu bytes uncompressed, over the limit of %u", name,
		            (unsigned long long)st.size, IMPORT_XLSX_UNCOMPRESSED_MAX);
	zip_file_t *f = zip_fopen_index(x->zip, (zip_uint64_t)index, 0);
	if (!f)
		return fail(x->p, IMPORT_ERR_MALFORMED, "%s: %s", name, zip_strerror(x->zip));
	uint8_t *buf = malloc((size_t)st.size + 1);
	size_t got = 0;
	import_err err = buf ? zip_read_bounded(x, f, name, buf, (size_t)st.size + 1, &got)
	                     : fail(x->p, IMPORT_ERR_NOMEM, "out of memory reading %s", name);
	zip_fclose(f);
	if (!err)
		err = zip_check_inflated(x, name, &st, got);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*out_n = got;
	return IMPORT_OK;
}

/* ----- .xlsx: XML parts, walked with libxml2's xmlReader ----- */

typedef enum { WALK_CONTINUE, WALK_STOP } walk_next;
/* Called for each node; reports errors with fail() (the walk stops on p->err). */
typedef walk_next (*xml_visitor)(void *ctx, xmlTextReaderPtr r, int type);

typedef struct xml_errors {
	int count;
	char first[120];
} xml_errors;

#if LIBXML_VERSION >= 21200
static void xml_on_error(void *arg, const xmlError *e)
#else
static void xml_on_error(void *arg, xmlErrorPtr e)
#endif
{
	xml_errors *errors = arg;
	if (e->level < XML_ERR_ERROR || errors->count++ > 0)
		return;
	snprintf(errors->first, sizeof errors->first, "line %d: %s", e->line, e->message ? e->message : "?");
	errors->first[strcspn(errors->first, "\r\n")] = '\0';
}

/*
 * The largest number of attributes on one element of an XML part: '=' signs outside quoted
 * values, counted per tag in one pass. A bound checked before libxml2 runs (whose duplicate
 * attribute check is quadratic), not a parser: what it over-counts (an '=' in a comment)
 * only makes the bound stricter.
 */
static size_t xml_attributes_per_element_max(const uint8_t *xml, size_t n)
{
	size_t most = 0, count = 0;
	bool in_tag = false;
	uint8_t quote = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = xml[i];
		if (!in_tag) {
			if (c == '<') {
				in_tag = true;
				count = 0;
			}
		} else if (quote) {
			if (c == quote)
				quote = 0;
		} else if (c == '"' || c == '\'') {
			quote = c;
		} else if (c == '=') {
			if (++count > most)
				most = count;
		} else if (c == '>') {
			in_tag = false;
		}
	}
	return most;
}

/*
 * Walks an XML part node by node. OOXML forbids DTDs, so a <!DOCTYPE is refused before libxml2
 * sees it: no entity can be declared, let alone expanded (billion laughs, external entities).
 * The reader is also run without XML_PARSE_NOENT, DTDLOAD or HUGE, and with NONET.
 */
static import_err xml_walk(parse *p, const char *part, const uint8_t *xml, size_t n, xml_visitor visit, void *ctx)
{
	if (memmem(xml, n, "<!DOCTYPE", 9))
		return fail(p, IMPORT_ERR_MALFORMED, "%s: a DTD (<!DOCTYPE), which OOXML forbids", part);
	if (xml_attributes_per_element_max(xml, n) > IMPORT_XML_ATTRIBUTES_MAX)
		return fail(p, IMPORT_ERR_MALFORMED, "%s: an element with more than %u attributes", part,
		            IMPORT_XML_ATTRIBUTES_MAX);
	int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
	xmlTextReaderPtr r = xmlReaderForMemory((const char *)xml, (int)n, NULL, "UTF-8", options);
	if (!r)
		return fail(p, IMPORT_ERR_NOMEM, "%s: cannot start the XML reader", part);
	xml_errors errors = {0};
	xmlTextReaderSetStructuredErrorHandler(r, xml_on_error, &errors);
	int rc;
	size_t nodes = 0;
	while (!p->err && (rc = xmlTextReaderRead(r)) == 1) {
		int type = xmlTextReaderNodeType(r), depth = xmlTextReaderDepth(r);
		if (++nodes > IMPORT_XML_NODES_MAX)
			fail(p, IMPORT_ERR_MALFORMED, "%s: more than %u XML nodes", part, IMPORT_XML_NODES_MAX);
		else if (depth < 0 || depth > (int)IMPORT_XML_DEPTH_MAX)
			fail(p, IMPORT_ERR_MALFORMED, "%s: elements nested deeper than %u", part, IMPORT_XML_DEPTH_MAX);
		else if (type == XML_READER_TYPE_DOCUMENT_TYPE || type == XML_READER_TYPE_ENTITY_REFERENCE ||
		         type == XML_READER_TYPE_ENTITY)
			fail(p, IMPORT_ERR_MALFORMED, "%s: a DTD or an entity, which OOXML forbids", part);
		else if (visit(ctx, r, type) == WALK_STOP)
			break;
	}
	if (!p->err && (rc < 0 || errors.count > 0))
		fail(p, IMPORT_ERR_MALFORMED, "%s: not well-formed XML (%s)", part,
		     errors.count ? errors.first : "truncated?");
	xmlFreeTextReader(r);
	return p->err;
}

static const char *const SPREADSHEETML_NS[] = {
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main", /* transitional: what Excel writes */
    "http://purl.oclc.org/ooxml/spreadsheetml/main",             /* strict */
};
static const char *const RELATIONSHIPS_NS[] = {
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
};

/* Is the current node the start (or end) of SpreadsheetML element `local`? */
static bool is_sml(xmlTextReaderPtr r, const char *local)
{
	const char *name = (const char *)xmlTextReaderConstLocalName(r);
	const char *ns = (const char *)xmlTextReaderConstNamespaceUri(r);
	return name && ns && strcmp(name, local) == 0 &&
	       (strcmp(ns, SPREADSHEETML_NS[0]) == 0 || strcmp(ns, SPREADSHEETML_NS[1]) == 0);
}

/* Copies attribute `name` (namespace `ns`, or none) into buf. -1: absent; 1: too long. */
static int attr_copy(xmlTextReaderPtr r, const char *name, const char *ns, char *buf, size_t buf_bytes)
{
	xmlChar *value = ns ? xmlTextReaderGetAttributeNs(r, BAD_CAST name, BAD_CAST ns)
	                    : xmlTextReaderGetAttribute(r, BAD_CAST name);
	if (!value)
		return -1;
	size_t len = strlen((const char *)value);
	if (len < buf_bytes)
		memcpy(buf, value, len + 1);
	xmlFree(value);
	return len < buf_bytes ? 0 : 1;
}

static bool parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	for (; s[i] >= '0' && s[i] <= '9'; i++)
		if (i >= 10 || (v = v * 10 + (uint64_t)(s[i] - '0')) > max)
			return false;
	*out = (uint32_t)v;
	return i > 0 && s[i] == '\0';
}

/* The column of a cell reference ("A12": 1, "AB3": 28): letters then digits; 0 if malformed. */
static uint32_t ref_column(const char *ref)
{
	uint32_t column = 0;
	size_t i = 0;
	for (; (ref[i] >= 'A' && ref[i] <= 'Z') || (ref[i] >= 'a' && ref[i] <= 'z'); i++) {
		if (i == 3)
			return 0;
		column = column * 26 + (uint32_t)((ref[i] | 0x20) - 'a' + 1);
	}
	uint32_t row;
	return i > 0 && parse_u32(ref + i, IMPORT_XLSX_ROW_NUMBER_MAX, &row) && row > 0 ? column : 0;
}

/* ----- .xlsx: workbook.xml and its relationships ----- */

typedef struct workbook {
	parse *p;
	char sheet_id[64];                    /* r:id of the first <sheet> */
	char sheet_path[XLSX_PATH_BYTES_MAX]; /* its part, from the relationships */
	char strings_path[XLSX_PATH_BYTES_MAX];
} workbook;

static walk_next workbook_visit(void *ctx, xmlTextReaderPtr r, int type)
{
	workbook *wb = ctx;
	if (type != XML_READER_TYPE_ELEMENT || !is_sml(r, "sheet"))
		return WALK_CONTINUE;
	int rc = attr_copy(r, "id", RELATIONSHIPS_NS[0], wb->sheet_id, sizeof wb->sheet_id);
	if (rc < 0)
		rc = attr_copy(r, "id", RELATIONSHIPS_NS[1], wb->sheet_id, sizeof wb->sheet_id);
	if (rc != 0)
		fail(wb->p, IMPORT_ERR_MALFORMED, "xl/workbook.xml: the first sheet has no valid r:id");
	return WALK_STOP;
}

/* A relationship's target, relative to xl/ or absolute in the package, as an entry name.
 * Only plain printable names: no "..", no backslash, nothing outside the package. */
static bool resolve_target(const char *target, char *out, size_t out_bytes)
{
	for (const char *c = target; *c; c++)
		if (*c <= ' ' || *c > '~' || *c == '\\')
			return false;
	if (strstr(target, "..") || strchr(target, ':') || target[0] == '\0')
		return false;
	int len =
	    target[0] == '/' ? snprintf(out, out_bytes, "%s", target + 1) : snprintf(out, out_bytes, "xl/%s", target);
	return len > 0 && (size_t)len < out_bytes;
}

static walk_next rels_visit(void *ctx, xmlTextReaderPtr r, int type)
{
	workbook *wb = ctx;
	const char *name = (const char *)xmlTextReaderConstLocalName(r);
	if (type != XML_READER_TYPE_ELEMENT || !name || strcmp(name, "Relationship") != 0)
		return WALK_CONTINUE;
	char id[64], kind[256], target[XLSX_PATH_BYTES_MAX], mode[16];
	if (attr_copy(r, "Id", NULL, id, sizeof id) != 0 || attr_copy(r, "Type", NULL, kind, sizeof kind) != 0 ||
	    attr_copy(r, "Target", NULL, target, sizeof target) != 0)
		return WALK_CONTINUE; /* not one we need */
	bool is_sheet = strcmp(id, wb->sheet_id) == 0;
	size_t kind_len = strlen(kind);
	bool is_strings = kind_len >= 14 && strcmp(kind + kind_len - 14, "/sharedStrings") == 0;
	if (!is_sheet && !is_strings)
		return WALK_CONTINUE;
	bool external = attr_copy(r, "TargetMode", NULL, mode, sizeof mode) != -1;
	char *out = is_sheet ? wb->sheet_path : wb->strings_path;
	if (external || !resolve_target(target, out, XLSX_PATH_BYTES_MAX))
		fail(wb->p, IMPORT_ERR_MALFORMED, "xl/_rels/workbook.xml.rels: relationship %s has a bad target",
		     is_sheet ? "of the first sheet" : "of the shared strings");
	return WALK_CONTINUE;
}

/* Finds the first sheet's part and the shared strings' part (xl/sharedStrings.xml if the
 * relationships do not name one). */
static import_err workbook_read(xlsx *x, workbook *wb)
{
	uint8_t *xml;
	size_t n;
	if (zip_name_locate(x->zip, "xl/workbook.xml", 0) < 0)
		return fail(x->p, IMPORT_ERR_TYPE, "a zip archive but not an Excel workbook (no xl/workbook.xml)");
	if (zip_read_entry(x, "xl/workbook.xml", true, &xml, &n))
		return x->p->err;
	xml_walk(x->p, "xl/workbook.xml", xml, n, workbook_visit, wb);
	free(xml);
	if (!x->p->err && wb->sheet_id[0] == '\0')
		return fail(x->p, IMPORT_ERR_MALFORMED, "xl/workbook.xml lists no sheet");
	if (x->p->err || zip_read_entry(x, "xl/_rels/workbook.xml.rels", true, &xml, &n))
		return x->p->err;
	xml_walk(x->p, "xl/_rels/workbook.xml.rels", xml, n, rels_visit, wb);
	free(xml);
	if (!x->p->err && wb->sheet_path[0] == '\0')
		return fail(x->p, IMPORT_ERR_MALFORMED, "xl/_rels/workbook.xml.rels: no part for the first sheet");
	if (wb->strings_path[0] == '\0')
		snprintf(wb->strings_path, sizeof wb->strings_path, "xl/sharedStrings.xml");
	return x->p->err;
}

/* ----- .xlsx: the first sheet's column A ----- */

/* A cell of column A as found in the sheet: its text, or the index of its shared string. */
typedef struct pending {
	uint32_t row;
	bool shared;
	uint32_t string_index;
	char *text; /* owned; filled in from the shared strings when `shared` */
} pending;

typedef struct pendings {
	pending *items;
	size_t count, capacity;
} pendings;

static void pendings_free(pendings *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->items[i].text);
	free(list->items);
	*list = (pendings){0};
}

typedef struct cellbuf {
	char bytes[IMPORT_CELL_BYTES_MAX + 1];
	size_t len;
} cellbuf;

static bool cellbuf_append(cellbuf *b, const char *s, size_t n)
{
	if (n > IMPORT_CELL_BYTES_MAX - b->len)
		return false;
	memcpy(b->bytes + b->len, s, n);
	b->len += n;
	b->bytes[b->len] = '\0';
	return true;
}

typedef enum { VALUE_PLAIN, VALUE_SHARED, VALUE_INLINE } value_kind;

typedef struct sheet {
	parse *p;
	pendings cells;
	uint32_t row;     /* current row number; 0 before the first */
	uint32_t column;  /* column of the row's last cell */
	bool in_a;        /* inside the <c> of column A */
	bool a_seen;      /* the row's column-A cell was seen */
	bool has_value;   /* it has a <v> or inline <t> */
	bool in_text;     /* inside the <v> or <t> whose text is the value */
	bool in_phonetic; /* inside an <rPh> (a phonetic guide, not the text) */
	value_kind kind;
	cellbuf text;
} sheet;

static void pendings_push(parse *p, pendings *list, pending c)
{
	if (list->count == list->capacity) {
		size_t capacity = list->capacity ? 2 * list->capacity : 64;
		pending *items = realloc(list->items, capacity * sizeof *items);
		if (!items) {
			free(c.text);
			fail(p, IMPORT_ERR_NOMEM, "out of memory at row %u", c.row);
			return;
		}
		list->items = items;
		list->capacity = capacity;
	}
	list->items[list->count++] = c;
}

/* Keeps the cell of column A just read. Text cells empty after trimming are dropped now, shared
 * ones only once their string is known: at most IMPORT_ROWS_MAX + 1 (a header) are kept. */
static void sheet_keep(sheet *s)
{
	const char *text = s->text.bytes;
	size_t len = s->text.len;
	trim(&text, &len);
	bool shared = s->kind == VALUE_SHARED;
	if (!s->has_value || (!shared && len == 0))
		return;
	if (s->cells.count > IMPORT_ROWS_MAX) {
		fail(s->p, IMPORT_ERR_TOO_MANY_ROWS, "row %u: more than %u addresses in the sheet", s->row,
		     IMPORT_ROWS_MAX);
		return;
	}
	pending c = {.row = s->row, .shared = shared};
	if (shared) {
		char digits[16];
		bool ok = len < sizeof digits;
		if (ok) {
			memcpy(digits, text, len);
			digits[len] = '\0';
			ok = parse_u32(digits, UINT32_MAX - 1, &c.string_index);
		}
		if (!ok) {
			fail(s->p, IMPORT_ERR_MALFORMED, "cell A%u: a shared string index that is not a number",
			     s->row);
			return;
		}
	} else if (!(c.text = malloc(len + 1))) {
		fail(s->p, IMPORT_ERR_NOMEM, "out of memory at row %u", s->row);
		return;
	} else {
		memcpy(c.text, text, len);
		c.text[len] = '\0';
	}
	pendings_push(s->p, &s->cells, c);
}

/* <row r="N">: rows go up strictly; a row without r follows the previous one. */
static void sheet_row_start(sheet *s, xmlTextReaderPtr r)
{
	char value[16];
	uint32_t row = s->row + 1;
	int rc = attr_copy(r, "r", NULL, value, sizeof value);
	if (rc == 1 || (rc == 0 && !parse_u32(value, IMPORT_XLSX_ROW_NUMBER_MAX, &row)) || row <= s->row ||
	    row > IMPORT_XLSX_ROW_NUMBER_MAX) {
		fail(s->p, IMPORT_ERR_MALFORMED, "after row %u: a row number out of order or out of range", s->row);
		return;
	}
	s->row = row;
	s->column = 0;
	s->a_seen = false;
}

/* <c r="A12" t="s">: a cell without r follows the previous one in its row. */
static void sheet_cell_start(sheet *s, xmlTextReaderPtr r)
{
	char ref[16], kind[16];
	if (s->row == 0) {
		fail(s->p, IMPORT_ERR_MALFORMED, "a cell outside any row");
		return;
	}
	int rc = attr_copy(r, "r", NULL, ref, sizeof ref);
	uint32_t column = rc == -1 ? s->column + 1 : rc == 0 ? ref_column(ref) : 0;
	if (column == 0 || column > 16384) {
		fail(s->p, IMPORT_ERR_MALFORMED, "row %u: a bad cell reference", s->row);
		return;
	}
	s->column = column;
	if (column != 1)
		return;
	if (s->a_seen) {
		fail(s->p, IMPORT_ERR_MALFORMED, "row %u: two cells in column A", s->row);
		return;
	}
	s->a_seen = true;
	rc = attr_copy(r, "t", NULL, kind, sizeof kind);
	s->kind = rc != 0                          ? VALUE_PLAIN
	          : strcmp(kind, "s") == 0         ? VALUE_SHARED
	          : strcmp(kind, "inlineStr") == 0 ? VALUE_INLINE
	                                           : VALUE_PLAIN;
	s->in_a = !xmlTextReaderIsEmptyElement(r);
	s->has_value = s->in_text = s->in_phonetic = false;
	s->text.len = 0;
	s->text.bytes[0] = '\0';
}

/* Inside column A's cell: the value is the text of <v>, or of the <t>s of an inline string
 * (rich text runs included, phonetic guides <rPh> excluded); a formula <f> is not read. */
static void sheet_value_start(sheet *s, xmlTextReaderPtr r)
{
	bool empty = xmlTextReaderIsEmptyElement(r);
	if (is_sml(r, "rPh")) {
		s->in_phonetic = !empty;
		return;
	}
	bool value = s->kind == VALUE_INLINE ? is_sml(r, "t") && !s->in_phonetic : is_sml(r, "v");
	if (value) {
		s->has_value = true;
		s->in_text = !empty;
	}
}

static void sheet_end(sheet *s, xmlTextReaderPtr r)
{
	if (!s->in_a)
		return;
	if (is_sml(r, "c")) {
		sheet_keep(s);
		s->in_a = false;
	} else if (is_sml(r, "rPh")) {
		s->in_phonetic = false;
	} else if (is_sml(r, "v") || is_sml(r, "t")) {
		s->in_text = false;
	}
}

static void sheet_text(sheet *s, xmlTextReaderPtr r)
{
	if (!s->in_a || !s->in_text)
		return;
	const char *value = (const char *)xmlTextReaderConstValue(r);
	if (value && !cellbuf_append(&s->text, value, strlen(value)))
		fail(s->p, IMPORT_ERR_CELL_TOO_LARGE, "row %u: the first cell has more than %u bytes", s->row,
		     IMPORT_CELL_BYTES_MAX);
}

static walk_next sheet_visit(void *ctx, xmlTextReaderPtr r, int type)
{
	sheet *s = ctx;
	switch (type) {
	case XML_READER_TYPE_ELEMENT:
		if ((is_sml(r, "row") || is_sml(r, "c")) && s->in_a)
			fail(s->p, IMPORT_ERR_MALFORMED, "row %u: a row or cell inside a cell", s->row);
		else if (is_sml(r, "row"))
			sheet_row_start(s, r);
		else if (is_sml(r, "c"))
			sheet_cell_start(s, r);
		else if (s->in_a)
			sheet_value_start(s, r);
		break;
	case XML_READER_TYPE_END_ELEMENT: sheet_end(s, r); break;
	case XML_READER_TYPE_TEXT:
	case XML_READER_TYPE_CDATA:
	case XML_READER_TYPE_WHITESPACE:
	case XML_READER_TYPE_SIGNIFICANT_WHITESPACE: sheet_text(s, r); break;
	default: break;
	}
	return WALK_CONTINUE;
}

static void sheet_read(xlsx *x, const workbook *wb, pendings *cells)
{
	uint8_t *xml;
	size_t n;
	if (zip_read_entry(x, wb->sheet_path, true, &xml, &n))
		return;
	sheet *s = calloc(1, sizeof *s);
	if (!s) {
		free(xml);
		fail(x->p, IMPORT_ERR_NOMEM, "out of memory");
		return;
	}
	s->p = x->p;
	xml_walk(x->p, wb->sheet_path, xml, n, sheet_visit, s);
	free(xml);
	*cells = s->cells;
	free(s);
}

/* ----- .xlsx: the shared strings column A refers to ----- */

/* A reference to a shared string, sorted by index so that one pass over the shared strings,
 * which come in index order, resolves them all and keeps only the strings column A uses. */
typedef struct string_ref {
	uint32_t string_index;
	size_t cell; /* in the pendings */
} string_ref;

static int string_ref_compare(const void *a, const void *b)
{
	const string_ref *x = a, *y = b;
	if (x->string_index != y->string_index)
		return x->string_index < y->string_index ? -1 : 1;
	return x->cell < y->cell ? -1 : x->cell > y->cell;
}

typedef struct strings {
	parse *p;
	pendings *cells;
	const string_ref *refs;
	size_t refs_count, next; /* refs[next..] are not resolved yet */
	uint32_t index;          /* of the current <si> */
	bool in_si, in_text, in_phonetic, wanted;
	cellbuf text;
} strings;

static walk_next strings_complete(strings *st)
{
	while (st->next < st->refs_count && st->refs[st->next].string_index == st->index) {
		pending *c = &st->cells->items[st->refs[st->next].cell];
		if (!(c->text = malloc(st->text.len + 1))) {
			fail(st->p, IMPORT_ERR_NOMEM, "out of memory");
			return WALK_STOP;
		}
		memcpy(c->text, st->text.bytes, st->text.len + 1);
		st->next++;
	}
	st->in_si = st->in_text = st->in_phonetic = false;
	st->index++;
	return st->next == st->refs_count ? WALK_STOP : WALK_CONTINUE;
}

static walk_next strings_element(strings *st, xmlTextReaderPtr r)
{
	bool empty = xmlTextReaderIsEmptyElement(r);
	if (is_sml(r, "si")) {
		if (st->in_si)
			return fail(st->p, IMPORT_ERR_MALFORMED, "shared string %u: <si> inside <si>", st->index),
			       WALK_STOP;
		st->in_si = true;
		st->wanted = st->next < st->refs_count && st->refs[st->next].string_index == st->index;
		st->text.len = 0;
		st->text.bytes[0] = '\0';
		return empty ? strings_complete(st) : WALK_CONTINUE;
	}
	if (st->in_si && is_sml(r, "rPh"))
		st->in_phonetic = !empty;
	else if (st->in_si && is_sml(r, "t") && !st->in_phonetic)
		st->in_text = !empty;
	return WALK_CONTINUE;
}

static walk_next strings_visit(void *ctx, xmlTextReaderPtr r, int type)
{
	strings *st = ctx;
	if (type == XML_READER_TYPE_ELEMENT)
		return strings_element(st, r);
	if (type == XML_READER_TYPE_END_ELEMENT) {
		if (st->in_si && is_sml(r, "si"))
			return strings_complete(st);
		if (is_sml(r, "t"))
			st->in_text = false;
		else if (is_sml(r, "rPh"))
			st->in_phonetic = false;
		return WALK_CONTINUE;
	}
	bool text = type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
	            type == XML_READER_TYPE_WHITESPACE || type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE;
	const char *value = text && st->in_text && st->wanted ? (const char *)xmlTextReaderConstValue(r) : NULL;
	if (value && !cellbuf_append(&st->text, value, strlen(value)))
		fail(st->p, IMPORT_ERR_CELL_TOO_LARGE, "row %u: the first cell has more than %u bytes",
		     st->cells->items[st->refs[st->next].cell].row, IMPORT_CELL_BYTES_MAX);
	return WALK_CONTINUE;
}

static void strings_resolve(xlsx *x, const workbook *wb, pendings *cells)
{
	size_t count = 0;
	for (size_t i = 0; i < cells->count; i++)
		count += cells->items[i].shared;
	if (count == 0)
		return;
	string_ref *refs = malloc(count * sizeof *refs);
	if (!refs) {
		fail(x->p, IMPORT_ERR_NOMEM, "out of memory");
		return;
	}
	for (size_t i = 0, k = 0; i < cells->count; i++)
		if (cells->items[i].shared)
			refs[k++] = (string_ref){.string_index = cells->items[i].string_index, .cell = i};
	qsort(refs, count, sizeof *refs, string_ref_compare);
	uint8_t *xml;
	size_t n;
	if (!zip_read_entry(x, wb->strings_path, true, &xml, &n)) {
		strings *st = calloc(1, sizeof *st);
		if (!st)
			fail(x->p, IMPORT_ERR_NOMEM, "out of memory");
		else {
			*st = (strings){.p = x->p, .cells = cells, .refs = refs, .refs_count = count};
			xml_walk(x->p, wb->strings_path, xml, n, strings_visit, st);
			if (!x->p->err && st->next < count)
				fail(x->p, IMPORT_ERR_MALFORMED, "row %u: shared string %u does not exist",
				     cells->items[refs[st->next].cell].row, refs[st->next].string_index);
			free(st);
		}
		free(xml);
	}
	free(refs);
}

/* ----- .xlsx: the archive ----- */

static zip_t *xlsx_open(parse *p, const uint8_t *bytes, size_t n)
{
	zip_error_t error;
	zip_error_init(&error);
	zip_t *zip = NULL;
	zip_source_t *src = zip_source_buffer_create(bytes, n, 0, &error);
	if (src && !(zip = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &error)))
		zip_source_free(src);
	if (!zip)
		fail(p, src ? IMPORT_ERR_MALFORMED : IMPORT_ERR_NOMEM, "not a readable zip archive (truncated?): %s",
		     zip_error_strerror(&error));
	zip_error_fini(&error);
	return zip;
}

/*
 * .xlsx: xl/workbook.xml names the first sheet, xl/_rels/workbook.xml.rels its part; column A
 * of that part is collected with shared strings as indices, then the shared strings part is
 * read for those indices only. Entries are inflated into memory, each checked against the
 * limits before and while inflating.
 */
static void xlsx_read(parse *p, const uint8_t *bytes, size_t n)
{
	xmlInitParser();
	xlsx x = {.p = p, .zip = xlsx_open(p, bytes, n)};
	if (!x.zip)
		return;
	workbook wb = {.p = p};
	pendings cells = {0};
	if (!zip_check_declared(&x) && !workbook_read(&x, &wb)) {
		sheet_read(&x, &wb, &cells);
		if (!p->err)
			strings_resolve(&x, &wb, &cells);
	}
	for (size_t i = 0; !p->err && i < cells.count; i++) {
		const char *text = cells.items[i].text ? cells.items[i].text : "";
		add_cell(p, cells.items[i].row, text, strlen(text));
	}
	pendings_free(&cells);
	zip_discard(x.zip);
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
		return fail(p, IMPORT_ERR_TYPE, "named .xls but not an OLE2 compound file%s%s", is ? ": it is " : "",
		            is ? is : "");
	if (kind == KIND_XLSX && !(n >= sizeof ZIP_MAGIC && memcmp(bytes, ZIP_MAGIC, sizeof ZIP_MAGIC) == 0))
		return fail(p, IMPORT_ERR_TYPE, "named .xlsx but not a zip archive%s%s", is ? ": it is " : "",
		            is ? is : "");
	if ((kind == KIND_CSV || kind == KIND_TXT) && is)
		return fail(p, IMPORT_ERR_TYPE, "named .%s but not text: it is %s", kind == KIND_CSV ? "csv" : "txt",
		            is);
	return IMPORT_OK;
}

static void text_read(parse *p, file_kind kind, const uint8_t *bytes, size_t n)
{
	char *text;
	size_t len;
	if (text_decode(p, bytes, n, &text, &len))
		return;
	if (kind == KIND_CSV)
		csv_read(p, text, len);
	else
		txt_parse(p, text, len);
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
		return fail(&p, IMPORT_ERR_INVALID, "no file name, or no bytes");
	if (n > IMPORT_BYTES_MAX)
		return fail(&p, IMPORT_ERR_TOO_LARGE, "the file has %zu bytes, over the limit of %u (%u MiB)", n,
		            IMPORT_BYTES_MAX, IMPORT_BYTES_MAX / (1024u * 1024u));
	file_kind kind = kind_of(filename);
	if (kind == KIND_UNKNOWN)
		return fail(&p, IMPORT_ERR_TYPE, "unknown file type: the name must end in .csv, .txt, .xls or .xlsx");
	if (n == 0)
		return fail(&p, IMPORT_ERR_MALFORMED, "the file is empty");
	if (check_type(&p, kind, bytes, n))
		return p.err;
	if (kind == KIND_XLS)
		xls_isolated(&p, bytes, n);
	else if (kind == KIND_XLSX)
		xlsx_read(&p, bytes, n);
	else
		text_read(&p, kind, bytes, n);
	if (finish(&p)) {
		import_rows_free(&p.rows);
		return p.err;
	}
	*out = p.rows;
	return IMPORT_OK;
}
