/*
 * csv.c: .csv lists, read with libcsv: the first field of each record.
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
		import_add_cell(st->p, st->record, s ? s : "", s ? len : 0);
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
				import_fail(p, IMPORT_ERR_CELL_TOO_LARGE, "row %u: a field over %u bytes", st->record,
				            IMPORT_CSV_FIELD_BYTES_MAX);
			else if (rc == CSV_ENOMEM)
				import_fail(p, IMPORT_ERR_NOMEM, "out of memory at row %u", st->record);
			else
				import_fail(p, IMPORT_ERR_MALFORMED, "row %u: %s (a quote inside an unquoted field?)",
				            st->record, csv_strerror(rc));
			return;
		}
		at += len;
	}
	if (!p->err && csv_fini(cp, csv_on_field, csv_on_record, st) != 0)
		import_fail(p, IMPORT_ERR_MALFORMED, "row %u: a quoted field is not closed (truncated file?)",
		            st->record);
}

/* Strict mode: a stray quote or a quoted field left open at the end is an error rather than a
 * guess, since the rows after it would be misread. */
void import_csv_read(parse *p, const char *s, size_t n)
{
	struct csv_parser cp;
	if (csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0) {
		import_fail(p, IMPORT_ERR_NOMEM, "out of memory");
		return;
	}
	csv_set_delim(&cp, csv_guess_delimiter(s, n));
	csv_set_realloc_func(&cp, csv_realloc_bounded);
	csv_set_blk_size(&cp, 4096);
	csv_state st = {.p = p, .record = 1};
	csv_parse_chunks(p, &cp, &st, s, n);
	csv_free(&cp);
}
