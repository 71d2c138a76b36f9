/*
 * import.h: reading the first column of an imported collaborator list (docs/design.md §4).
 *
 * An EC uploads a .csv, .txt, .xls or .xlsx file holding one collaborator's email address per
 * row, in the first column. This module turns the file's bytes into a list of (row number,
 * cell text) pairs and nothing more: it does not judge addresses (the server normalises each
 * cell with proj_email_normalise and reports INVALID_ADDRESS, NO_ACCOUNT, DUPLICATE or GRANTED
 * per row), and it never touches the ledger.
 *
 * Every format is read by a maintained library, never by a hand-written parser: libcsv for
 * .csv, freexl for .xls (in a child process: freexl 1.0.6 is not safe on hostile files), libzip
 * and libxml2's streaming xmlReader for .xlsx; .txt is a line per address. The input is
 * hostile until proven otherwise: every size below is a hard limit with its own error, and any
 * error returns no rows at all, so a bad file grants nothing.
 *
 * The rules every format shares:
 *   - The type is chosen by the file name's extension (case-insensitive) and must match the
 *     bytes: .xls is an OLE2 compound file, .xlsx a zip archive, .csv and .txt text (UTF-8 with
 *     or without a BOM, UTF-16 with a BOM, or Windows-1252, the Latin-1 superset French Excel
 *     writes; no NUL or control byte other than tab, CR and LF). Anything else: IMPORT_ERR_TYPE.
 *   - Row numbers are 1-based and are the ones a spreadsheet shows: the record number in a .csv
 *     (a quoted field spanning lines is one row; empty lines count), the line number in a .txt,
 *     the row of the first worksheet in .xls and .xlsx.
 *   - A cell is trimmed of ASCII white space and no-break spaces (U+00A0); cells left empty are
 *     skipped, their rows still count.
 *   - Header: if the first non-empty cell holds no '@', it is taken for a column title and
 *     skipped; its row number is reported in import_rows.header_row.
 *   - Cells are returned as NUL-terminated UTF-8, whatever the file's encoding.
 *
 * Per format:
 *   - .txt: the first token of each line, up to a space, tab, ';' or ','. Lines end in LF,
 *     CRLF or CR.
 *   - .csv: the first field of each record. The separator is the most frequent of ';' (French
 *     Excel), ',' and tab outside quotes on the first lines, ';' on a tie. Quoting is strict: a
 *     stray quote or a quoted field left open is IMPORT_ERR_MALFORMED.
 *   - .xls: the first worksheet's column A; numbers as "%.15g", dates as freexl spells them.
 *   - .xlsx: the first <sheet> of xl/workbook.xml, its part found in
 *     xl/_rels/workbook.xml.rels; cells whose reference is column A (or, without a reference,
 *     the first of their row): shared strings, inline strings (rich text joined, phonetic
 *     guides left out) and plain values as written (numbers, formula results). A DTD in any
 *     part, rows out of order, or a shared string that does not exist: IMPORT_ERR_MALFORMED.
 */
#ifndef API_IMPORT_H
#define API_IMPORT_H

#include <stddef.h>
#include <stdint.h>

/* The whole file, in bytes. A list of 10 000 addresses is about 300 KiB as .csv. */
#define IMPORT_BYTES_MAX (5u * 1024u * 1024u)
/* Addresses returned (non-empty first cells, the header excluded). */
#define IMPORT_ROWS_MAX 10000u
/* One first-column cell in bytes of UTF-8, before trimming. An address has at most 254. Cells
 * of other columns are not read, so are not limited beyond the file's size. */
#define IMPORT_CELL_BYTES_MAX 320u
/* .csv: any field of any column, in bytes, so that libcsv's buffer stays small. Over it:
 * IMPORT_ERR_CELL_TOO_LARGE. */
#define IMPORT_CSV_FIELD_BYTES_MAX (64u * 1024u)
/* .xlsx: the sum of the uncompressed sizes of the archive's entries, as declared by the
 * archive and as counted while inflating the entries read (headers can lie). */
#define IMPORT_XLSX_UNCOMPRESSED_MAX (50u * 1024u * 1024u)
/* .xlsx: uncompressed / compressed size of one entry, checked for entries over
 * IMPORT_XLSX_RATIO_MIN_BYTES (small XML parts compress well and cannot hurt). */
#define IMPORT_XLSX_RATIO_MAX       100u
#define IMPORT_XLSX_RATIO_MIN_BYTES (1024u * 1024u)
/* .xlsx: entries in the archive (a real workbook has about ten). */
#define IMPORT_XLSX_ENTRIES_MAX 1000u
/* .xlsx: nesting depth of any XML part (a worksheet needs 6). */
#define IMPORT_XML_DEPTH_MAX 32u
/* Attributes on one element (namespace declarations included): Excel writes at most about 15.
 * libxml2 checks duplicate attributes in quadratic time, so 100 000 attributes on one element
 * cost seconds of CPU; the bound is checked by a linear scan before libxml2 sees the part. */
#define IMPORT_XML_ATTRIBUTES_MAX 256u
/* Nodes the reader may visit in one part (elements, end tags, text): a sheet of
 * IMPORT_ROWS_MAX rows needs about 10 per row. */
#define IMPORT_XML_NODES_MAX 1000000u
/* .xls: freexl runs in a child process (see import/xls.c) killed after this many seconds of CPU or
 * wall-clock time, and limited to this much address space beyond what it inherits. */
#define IMPORT_XLS_SECONDS_MAX      10u
#define IMPORT_XLS_MEMORY_BYTES_MAX (1024u * 1024u * 1024u)
/* .xlsx: the largest row number, Excel's own (rows are 1..1048576). */
#define IMPORT_XLSX_ROW_NUMBER_MAX 1048576u

typedef enum {
	IMPORT_OK = 0,
	IMPORT_ERR_TYPE,           /* unknown extension, or bytes not of the extension's type */
	IMPORT_ERR_TOO_LARGE,      /* the file is over IMPORT_BYTES_MAX */
	IMPORT_ERR_TOO_MANY_ROWS,  /* more than IMPORT_ROWS_MAX addresses */
	IMPORT_ERR_CELL_TOO_LARGE, /* a first-column cell over IMPORT_CELL_BYTES_MAX */
	IMPORT_ERR_MALFORMED,      /* truncated, corrupt, encrypted, a DTD in XML, or kills the .xls reader */
	IMPORT_ERR_ZIP_BOMB,       /* .xlsx over IMPORT_XLSX_UNCOMPRESSED_MAX, _RATIO_MAX or _ENTRIES_MAX */
	IMPORT_ERR_NOMEM,
	IMPORT_ERR_INVALID, /* a NULL argument: a bug in the caller */
} import_err;

/* A static string naming err ("not a file of its extension's type", ...). Never NULL. */
const char *import_strerror(import_err err);

typedef struct import_row {
	uint32_t row; /* 1-based, as a spreadsheet shows it */
	char *cell;   /* the first column's text: trimmed, non-empty, UTF-8, NUL-terminated */
} import_row;

typedef struct import_rows {
	import_row *items; /* in increasing row order; NULL when count is 0 */
	size_t count;
	uint32_t header_row; /* the row skipped as a header, 0 if none */
} import_rows;

/*
 * Process setup: initialises libxml2. Call once before threads call import_parse; a
 * single-threaded program may skip it.
 */
void import_init(void);

/*
 * Reads the first column of the list in bytes[0..n) named filename (only its extension is
 * used: .csv .txt .xls .xlsx, case-insensitive). On IMPORT_OK *out holds the cells, owned by
 * the caller, to be freed with import_rows_free; zero rows is a success (an empty list, or a
 * header alone). On any error *out is empty (nothing to free) and, if why is not NULL, why
 * receives a one-line explanation for the user naming the row, part or limit at fault.
 * Reentrant: calls share no state. An .xls is read in a forked child process (see import/xls.c).
 */
import_err import_parse(const char *filename, const uint8_t *bytes, size_t n, import_rows *out, char *why,
                        size_t why_bytes);

/* Frees the cells and the array, and empties rows. Accepts an empty or zeroed rows. */
void import_rows_free(import_rows *rows);

#endif
