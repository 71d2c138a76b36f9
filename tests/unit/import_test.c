/*
 * import_test.c: import/, the reader of imported collaborator lists.
 *
 * Real files first: the same list saved by LibreOffice as .csv (Windows-1252, ';'), .xls and
 * .xlsx (tests/fixtures/import/) must give the same rows, numbered as the spreadsheet numbers
 * them. Then every limit at its edge, files of the wrong type, truncated files, and the hostile
 * .xlsx made at test time by tests/fixtures/import/make_hostile.py (zip bombs, huge cells,
 * DTDs...): each must fail with its own error and return no rows.
 *
 * Usage: import_test FIXTURES_DIR HOSTILE_DIR
 */
#include "../check.h"
#include "import.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static const char *fixtures_dir, *hostile_dir;

static uint8_t *slurp(const char *dir, const char *name, size_t *n)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		return NULL;
	}
	size_t capacity = 1 << 20, len = 0;
	uint8_t *buf = malloc(capacity);
	size_t r;
	while (buf && (r = fread(buf + len, 1, capacity - len, f)) > 0) {
		len += r;
		if (len == capacity)
			buf = realloc(buf, capacity *= 2);
	}
	fclose(f);
	*n = len;
	return buf;
}

typedef struct expected {
	uint32_t row;
	const char *cell;
} expected;

static void check_rows(const char *what, const import_rows *rows, uint32_t header_row, const expected *want,
                       size_t want_count)
{
	CHECK(rows->header_row == header_row, "%s: header row %u, want %u", what, rows->header_row, header_row);
	CHECK(rows->count == want_count, "%s: %zu rows, want %zu", what, rows->count, want_count);
	for (size_t i = 0; i < rows->count && i < want_count; i++) {
		CHECK(rows->items[i].row == want[i].row, "%s: item %zu at row %u, want %u", what, i, rows->items[i].row,
		      want[i].row);
		CHECK(strcmp(rows->items[i].cell, want[i].cell) == 0, "%s: row %u is [%s], want [%s]", what,
		      rows->items[i].row, rows->items[i].cell, want[i].cell);
	}
}

/* Parses bytes named `name` and checks the rows. */
static void expect_rows(const char *name, const void *bytes, size_t n, uint32_t header_row, const expected *want,
                        size_t want_count)
{
	import_rows rows;
	char why[256];
	import_err err = import_parse(name, bytes, n, &rows, why, sizeof why);
	CHECK(err == IMPORT_OK, "%s: %s (%s)", name, import_strerror(err), why);
	if (err == IMPORT_OK)
		check_rows(name, &rows, header_row, want, want_count);
	import_rows_free(&rows);
}

/* Parses bytes named `name`, expecting `want`, no rows, and a reason. */
static void expect_error(const char *name, const void *bytes, size_t n, import_err want)
{
	import_rows rows;
	char why[256];
	import_err err = import_parse(name, bytes, n, &rows, why, sizeof why);
	CHECK(err == want, "%s: %s (%s), want %s", name, import_strerror(err), why, import_strerror(want));
	CHECK(rows.count == 0 && rows.items == NULL && rows.header_row == 0, "%s: rows returned with an error", name);
	CHECK(err == IMPORT_OK || why[0] != '\0', "%s: no reason given", name);
	import_rows_free(&rows);
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* A string literal and its length, NULs included. */
#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1

/* ----- real files ----- */

/* tests/fixtures/import/collaborateurs.csv, and the .xls and .xlsx LibreOffice made of it: a
 * header, a padded address, a row without address, an empty line, a value that is no address,
 * a duplicate, quotes, and a field spanning two lines (row 9 is one row). */
static const expected COLLABORATEURS[] = {
    {2, "claire.dupont@cabinet-dupont.fr"}, {3, "Hélène.Lefèvre@Cabinet-Dupont.fr"}, {6, "pas-une-adresse"},
    {7, "claire.dupont@cabinet-dupont.fr"}, {8, "jean-noël.müller@exemple.fr"},      {9, "marc.bénard@exemple.fr"},
    {10, "océane.roux@exemple.fr"},
};

static void test_real_files(void)
{
	static const char *const names[] = {"collaborateurs.csv", "collaborateurs.xls", "collaborateurs.xlsx",
	                                    "COLLABORATEURS.CSV"};
	for (size_t i = 0; i < COUNT(names); i++) {
		size_t n;
		uint8_t *bytes = slurp(fixtures_dir, i == 3 ? names[0] : names[i], &n);
		REQUIRE_VOID(bytes);
		expect_rows(names[i], bytes, n, 1, COLLABORATEURS, COUNT(COLLABORATEURS));
		free(bytes);
	}
	static const expected comma[] = {{2, "alice@example.com"}, {3, "bob@example.com"}, {5, "carol@example.com"}};
	static const expected list[] = {{1, "alice@example.com"},
	                                {2, "bob@example.com"},
	                                {3, "carol@example.com"},
	                                {5, "dave@example.com"},
	                                {6, "eve@example.com"}};
	size_t n;
	uint8_t *bytes = slurp(fixtures_dir, "comma.csv", &n);
	REQUIRE_VOID(bytes);
	expect_rows("comma.csv", bytes, n, 1, comma, COUNT(comma));
	free(bytes);
	bytes = slurp(fixtures_dir, "list.txt", &n);
	REQUIRE_VOID(bytes);
	expect_rows("C:\\Users\\ec\\Mes documents\\liste.v2.TXT", bytes, n, 0, list, COUNT(list));
	free(bytes);
}

/* The .xls child's memory limit counts from what the parent already maps, not from zero: a
 * ledgerd whose threads' malloc arenas reserve a gigabyte of address space (16 arenas of 64 MiB
 * on two cores) forked a child already past a 1 GiB RLIMIT_AS, whose freexl then failed to load
 * iconv's modules ("freexl error -21") on a good file, now and then. */
static void test_xls_from_a_large_parent(void)
{
	size_t reserve = (size_t)3 << 29; /* 1.5 GiB of address space, no memory */
	void *big = mmap(NULL, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	REQUIRE_VOID(big != MAP_FAILED);
	size_t n;
	uint8_t *bytes = slurp(fixtures_dir, "collaborateurs.xls", &n);
	REQUIRE_VOID(bytes);
	expect_rows("from-a-parent-mapping-1.5-GiB.xls", bytes, n, 1, COLLABORATEURS, COUNT(COLLABORATEURS));
	free(bytes);
	munmap(big, reserve);
}

/* ----- text: encodings, line ends, separators ----- */

static void test_text_encodings(void)
{
	/* The same list as "CSV UTF-8" (with a BOM), as Excel's other French export. */
	const char utf8[] = "\xef\xbb\xbf"
	                    "Adresse e-mail;Nom\r\n"
	                    "claire.dupont@cabinet-dupont.fr;Dupont\r\n"
	                    "  Hélène.Lefèvre@Cabinet-Dupont.fr ;Lefèvre\r\n";
	expect_rows("utf8-bom.csv", utf8, strlen(utf8), 1, COLLABORATEURS, 2);

	/* Excel's "Unicode text" is UTF-16LE with a BOM, tab-separated. */
	const char *ascii = "Courriel\tNom\r\nzoe@exemple.fr\tZo\xc3\xa9\r\n";
	uint8_t utf16[128] = {0xff, 0xfe};
	size_t n = 2;
	for (const char *c = ascii; *c; c++) {
		if ((unsigned char)*c == 0xc3) { /* é: U+00E9 */
			utf16[n++] = 0xe9, utf16[n++] = 0, c++;
			continue;
		}
		utf16[n++] = (uint8_t)*c, utf16[n++] = 0;
	}
	static const expected zoe[] = {{2, "zoe@exemple.fr"}};
	expect_rows("unicode.txt", utf16, n, 1, zoe, 1);

	/* Windows-1252 bytes come back as UTF-8; a no-break space (A0) is trimmed. */
	const char cp1252[] = "\xa0z\xe9lie@exemple.fr\xa0;Z\xe9lie\n";
	static const expected zelie[] = {{1, "zélie@exemple.fr"}};
	expect_rows("latin.csv", cp1252, strlen(cp1252), 0, zelie, 1);

	/* A UTF-8 BOM on bytes that are not UTF-8: not text. */
	expect_error("bad-bom.csv", LIT("\357\273\277a\351@b.fr\n") /* BOM, then Latin-1 */, IMPORT_ERR_TYPE);
}

static void test_txt(void)
{
	/* Lines end in LF, CRLF or CR; the first token is the address; a line of separators is empty. */
	const char text[] = "a@b.fr\r\n\r\nc@d.fr;Nom\rd@e.fr, Nom\n\te@f.fr  autre\n;;\n,g@h.fr\n";
	static const expected want[] = {{1, "a@b.fr"}, {3, "c@d.fr"}, {4, "d@e.fr"}, {5, "e@f.fr"}};
	expect_rows("lines.txt", text, strlen(text), 0, want, COUNT(want));
	/* A last line without its newline. */
	static const expected last[] = {{1, "a@b.fr"}, {2, "b@c.fr"}};
	expect_rows("last.txt", LIT("a@b.fr\nb@c.fr"), 0, last, 2);
	/* The header rule takes the first non-empty cell only. */
	static const expected header[] = {{3, "a@b.fr"}, {4, "nom"}};
	expect_rows("header.txt", LIT("\nemail\na@b.fr\nnom\n"), 2, header, 2);
}

static void test_csv(void)
{
	/* Comma, tab and semicolon found on the first lines; quotes hide separators. */
	static const expected ab[] = {{2, "a@b.fr"}, {3, "c@d.fr"}};
	expect_rows("comma.csv", LIT("\"Email, pro\",\"Nom; X\"\na@b.fr,\"Dupont; A\"\nc@d.fr,X\n"), 1, ab, 2);
	expect_rows("tab.csv", LIT("Email\tNom\na@b.fr\tA, B\nc@d.fr\tC\n"), 1, ab, 2);
	expect_rows("semicolon.csv", LIT("Email;Nom\na@b.fr;A, B\nc@d.fr;C, D\n"), 1, ab, 2);
	/* A quoted first field spanning lines is one row; the next row is numbered after it. */
	static const expected multi[] = {{1, "a@b.fr\nsuite"}, {2, "c@d.fr"}};
	expect_rows("multi.csv", LIT("\"a@b.fr\nsuite\";x\nc@d.fr;y\n"), 0, multi, 2);
	/* Empty lines and CRLF: rows as a spreadsheet shows them. */
	static const expected crlf[] = {{1, "a@b.fr"}, {4, "c@d.fr"}};
	expect_rows("crlf.csv", LIT("a@b.fr;x\r\n\r\n;y\r\nc@d.fr\r\n"), 0, crlf, 2);
	/* Strict quoting: a stray quote, or a quoted field never closed (a truncated file). */
	expect_error("stray.csv", LIT("Email;Nom\na@b.fr;Du\"pont\n"), IMPORT_ERR_MALFORMED);
	expect_error("open.csv", LIT("Email;Nom\na@b.fr;\"Dupont\nc@d.fr;X\n"), IMPORT_ERR_MALFORMED);
}

/* ----- limits at their edges ----- */

static void test_cell_limit(void)
{
	char text[1024];
	for (int extra = 0; extra <= 1; extra++) {
		/* "xxx...x@b.fr;y\n", its first cell len bytes long */
		size_t len = IMPORT_CELL_BYTES_MAX + (size_t)extra;
		memset(text, 'x', len);
		memcpy(text + len - 5, "@b.fr", 5);
		memcpy(text + len, ";y\n", 3);
		import_rows rows;
		char why[256];
		for (int k = 0; k < 2; k++) {
			const char *name = k ? "cell.txt" : "cell.csv";
			import_err err = import_parse(name, (const uint8_t *)text, len + 3, &rows, why, sizeof why);
			if (extra == 0)
				CHECK(err == IMPORT_OK && rows.count == 1 && strlen(rows.items[0].cell) == len,
				      "%s: a %zu-byte cell: %s (%s)", name, len, import_strerror(err), why);
			else
				CHECK(err == IMPORT_ERR_CELL_TOO_LARGE && rows.count == 0, "%s: a %zu-byte cell: %s",
				      name, len, import_strerror(err));
			import_rows_free(&rows);
		}
	}
	/* libcsv's fields are bounded in every column, not only the first. */
	size_t n = IMPORT_CSV_FIELD_BYTES_MAX + 100;
	char *big = malloc(n);
	REQUIRE_VOID(big);
	memset(big, 'y', n);
	memcpy(big, "a@b.fr;", 7);
	big[n - 1] = '\n';
	expect_error("wide.csv", big, n, IMPORT_ERR_CELL_TOO_LARGE);
	/* .txt reads the first token only: the rest of a long line does not matter. */
	static const expected a[] = {{1, "a@b.fr"}};
	memset(big + 7, ' ', 10);
	expect_rows("wide.txt", big, n, 0, a, 1);
	free(big);
}

/* A list of `count` addresses after a header, one per line. */
static char *numbered_list(size_t count, size_t *n)
{
	char *text = malloc(32 * (count + 1));
	if (!text)
		return NULL;
	size_t len = (size_t)sprintf(text, "Adresse;Nom\r\n");
	for (size_t i = 0; i < count; i++)
		len += (size_t)sprintf(text + len, "user%zu@exemple.fr;N\r\n", i);
	*n = len;
	return text;
}

static void test_row_limit(void)
{
	static const size_t counts[] = {IMPORT_ROWS_MAX, IMPORT_ROWS_MAX + 1, 20000};
	for (size_t i = 0; i < COUNT(counts); i++) {
		size_t n;
		char *text = numbered_list(counts[i], &n);
		REQUIRE_VOID(text);
		import_rows rows;
		char why[256];
		import_err err = import_parse("list.csv", (const uint8_t *)text, n, &rows, why, sizeof why);
		if (counts[i] <= IMPORT_ROWS_MAX) {
			CHECK(err == IMPORT_OK && rows.count == counts[i] && rows.header_row == 1, "%zu rows: %s (%s)",
			      counts[i], import_strerror(err), why);
			CHECK(rows.count > 0 && rows.items[rows.count - 1].row == counts[i] + 1 &&
			          strcmp(rows.items[rows.count - 1].cell, "user9999@exemple.fr") == 0,
			      "the last row");
		} else {
			CHECK(err == IMPORT_ERR_TOO_MANY_ROWS && rows.count == 0, "%zu rows: %s", counts[i],
			      import_strerror(err));
		}
		import_rows_free(&rows);
		free(text);
	}
}

static void test_size_limit(void)
{
	size_t n = IMPORT_BYTES_MAX + 1;
	uint8_t *bytes = malloc(n);
	REQUIRE_VOID(bytes);
	memset(bytes, '\n', n);
	memcpy(bytes, "a@b.fr\n", 7);
	static const char *const names[] = {"big.csv", "big.txt", "big.xls", "big.xlsx"};
	for (size_t i = 0; i < COUNT(names); i++)
		expect_error(names[i], bytes, n, IMPORT_ERR_TOO_LARGE);
	/* At the limit exactly: read (5 MiB of line ends after one address). */
	static const expected a[] = {{1, "a@b.fr"}};
	expect_rows("limit.txt", bytes, IMPORT_BYTES_MAX, 0, a, 1);
	expect_rows("limit.csv", bytes, IMPORT_BYTES_MAX, 0, a, 1);
	free(bytes);
}

/* ----- wrong types, empty, junk, truncated ----- */

static void test_types(void)
{
	size_t xls_n, xlsx_n, csv_n;
	uint8_t *xls = slurp(fixtures_dir, "collaborateurs.xls", &xls_n);
	uint8_t *xlsx = slurp(fixtures_dir, "collaborateurs.xlsx", &xlsx_n);
	uint8_t *csv = slurp(fixtures_dir, "collaborateurs.csv", &csv_n);
	REQUIRE_VOID(xls && xlsx && csv);
	expect_error("liste.xlsx", csv, csv_n, IMPORT_ERR_TYPE);
	expect_error("liste.xls", csv, csv_n, IMPORT_ERR_TYPE);
	expect_error("liste.xls", xlsx, xlsx_n, IMPORT_ERR_TYPE);
	expect_error("liste.xlsx", xls, xls_n, IMPORT_ERR_TYPE);
	expect_error("liste.csv", xlsx, xlsx_n, IMPORT_ERR_TYPE);
	expect_error("liste.txt", xls, xls_n, IMPORT_ERR_TYPE);
	expect_error("liste.pdf", csv, csv_n, IMPORT_ERR_TYPE);
	expect_error("liste", csv, csv_n, IMPORT_ERR_TYPE);
	expect_error("liste.csv.exe", csv, csv_n, IMPORT_ERR_TYPE);
	expect_error("", csv, csv_n, IMPORT_ERR_TYPE);
	static const char *const names[] = {"vide.csv", "vide.txt", "vide.xls", "vide.xlsx"};
	for (size_t i = 0; i < COUNT(names); i++)
		expect_error(names[i], LIT(""), IMPORT_ERR_MALFORMED);
	/* Binary junk, and text with a NUL or a control byte. */
	uint8_t junk[4096];
	uint32_t state = 12345;
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)((state = state * 1103515245u + 12345u) >> 24);
	expect_error("junk.csv", junk, sizeof junk, IMPORT_ERR_TYPE);
	expect_error("junk.txt", junk, sizeof junk, IMPORT_ERR_TYPE);
	expect_error("junk.xls", junk, sizeof junk, IMPORT_ERR_TYPE);
	expect_error("nul.csv", LIT("a@b.fr\0;x\n"), IMPORT_ERR_TYPE);
	expect_error("escape.txt", LIT("a@b.fr\n\x1b[31m\n"), IMPORT_ERR_TYPE);
	expect_error("pdf.csv", LIT("%PDF-1.7\n"), IMPORT_ERR_TYPE);
	/* Junk after the right magic number. */
	memcpy(junk, xls, 8);
	expect_error("junk-magic.xls", junk, sizeof junk, IMPORT_ERR_MALFORMED);
	memcpy(junk, "PK\x03\x04", 4);
	expect_error("junk-magic.xlsx", junk, sizeof junk, IMPORT_ERR_MALFORMED);
	free(xls);
	free(xlsx);
	free(csv);
}

/* Every prefix length of the real .xlsx and .xls below their size fails cleanly (sampled). */
static void test_truncated(void)
{
	static const char *const names[] = {"collaborateurs.xlsx", "collaborateurs.xls"};
	for (size_t k = 0; k < COUNT(names); k++) {
		size_t n;
		uint8_t *bytes = slurp(fixtures_dir, names[k], &n);
		REQUIRE_VOID(bytes);
		size_t failures = 0, tries = 0;
		for (size_t len = 8; len < n; len += len < 64 ? 1 : 97) {
			import_rows rows;
			char why[256];
			import_err err = import_parse(names[k], bytes, len, &rows, why, sizeof why);
			tries++;
			failures += err != IMPORT_OK;
			CHECK(err != IMPORT_OK || rows.count <= COUNT(COLLABORATEURS), "%s cut at %zu", names[k], len);
			CHECK(err == IMPORT_OK || rows.count == 0, "%s cut at %zu: rows with an error", names[k], len);
			import_rows_free(&rows);
		}
		/* A zip has its directory at the end: any cut is an error. */
		if (k == 0)
			CHECK(failures == tries, "%s: %zu of %zu cuts accepted", names[k], tries - failures, tries);
		expect_error(names[k], bytes, n / 2, IMPORT_ERR_MALFORMED);
		free(bytes);
	}
}

/* ----- hostile .xlsx made by make_hostile.py ----- */

static void expect_hostile(const char *name, import_err want)
{
	size_t n;
	uint8_t *bytes = slurp(hostile_dir, name, &n);
	REQUIRE_VOID(bytes);
	expect_error(name, bytes, n, want);
	free(bytes);
}

static void test_hostile(void)
{
	static const struct {
		const char *name;
		import_err want;
	} cases[] = {
	    {"bomb_sheet.xlsx", IMPORT_ERR_ZIP_BOMB},   /* a 60 MB sheet of zeros */
	    {"bomb_side.xlsx", IMPORT_ERR_ZIP_BOMB},    /* a 60 MB entry the parser never reads */
	    {"bomb_ratio.xlsx", IMPORT_ERR_ZIP_BOMB},   /* 10 MB from 10 KB */
	    {"bomb_lying.xlsx", IMPORT_ERR_ZIP_BOMB},   /* declares 2 KB, inflates to 60 MB */
	    {"many_entries.xlsx", IMPORT_ERR_ZIP_BOMB}, /* 1006 entries */
	    {"huge_cell_inline.xlsx", IMPORT_ERR_CELL_TOO_LARGE},
	    {"huge_cell_shared.xlsx", IMPORT_ERR_CELL_TOO_LARGE},
	    {"rows_20000.xlsx", IMPORT_ERR_TOO_MANY_ROWS},
	    {"laughs_strings.xlsx", IMPORT_ERR_MALFORMED}, /* billion laughs */
	    {"laughs_sheet.xlsx", IMPORT_ERR_MALFORMED},
	    {"external_entity.xlsx", IMPORT_ERR_MALFORMED}, /* file:///etc/passwd */
	    {"deep.xlsx", IMPORT_ERR_MALFORMED},            /* 5000 nested elements */
	    /* 100 000 attributes on one element: 18 s in libxml2's quadratic duplicate check
	     * before IMPORT_XML_ATTRIBUTES_MAX; refused by the linear pre-scan now. */
	    {"attributes.xlsx", IMPORT_ERR_MALFORMED},
	    {"attributes_257.xlsx", IMPORT_ERR_MALFORMED},
	    {"rows_out_of_order.xlsx", IMPORT_ERR_MALFORMED},
	    {"missing_string.xlsx", IMPORT_ERR_MALFORMED},
	    {"bad_target.xlsx", IMPORT_ERR_MALFORMED}, /* ../../etc/passwd */
	    {"not_well_formed.xlsx", IMPORT_ERR_MALFORMED},
	    {"not_a_workbook.xlsx", IMPORT_ERR_TYPE}, /* a zip, but no xl/workbook.xml */
	};
	for (size_t i = 0; i < COUNT(cases); i++)
		expect_hostile(cases[i].name, cases[i].want);
}

/* The parts of SpreadsheetML LibreOffice does not write, in valid.xlsx (see make_hostile.py):
 * the first tab is sheet2.xml, shared strings in xl/strings.xml, rich text, phonetic guides,
 * cells without references, numbers, formulas, CDATA, character references. */
static void test_hand_made_xlsx(void)
{
	static const expected want[] = {{2, "anne@exemple.fr"},    {3, "paul@exemple.fr"},   {5, "612345678"},
	                                {7, "formule@exemple.fr"}, {8, "kenji@exemple.jp"},  {11, "anne@exemple.fr"},
	                                {12, "cdata@exemple.fr"},  {13, "léa&co@exemple.fr"}};
	static const char *const names[] = {"valid.xlsx", "valid_stream.xlsx", "huge_cell_column_b.xlsx",
	                                    "rows_10000.xlsx", "attributes_256.xlsx"};
	for (size_t i = 0; i < COUNT(names); i++) {
		size_t n;
		uint8_t *bytes = slurp(hostile_dir, names[i], &n);
		REQUIRE_VOID(bytes);
		static const expected column_b[] = {{2, "a@exemple.fr"}};
		if (i < 2)
			expect_rows(names[i], bytes, n, 1, want, COUNT(want));
		else if (i == 2 || i == 4) /* 4: IMPORT_XML_ATTRIBUTES_MAX attributes on one element */
			expect_rows(names[i], bytes, n, 0, column_b, 1);
		else {
			import_rows rows;
			import_err err = import_parse(names[i], bytes, n, &rows, NULL, 0);
			CHECK(err == IMPORT_OK && rows.count == IMPORT_ROWS_MAX && rows.header_row == 1 &&
			          rows.items[IMPORT_ROWS_MAX - 1].row == IMPORT_ROWS_MAX + 1,
			      "%s: %s, %zu rows", names[i], import_strerror(err), rows.count);
			import_rows_free(&rows);
		}
		free(bytes);
	}
}

/* Inputs the fuzzer found (tests/fuzz), kept so that they stay harmless. */
static void test_regressions(void)
{
	/* collaborateurs.xls with a directory entry's name length set to ~55 000: freexl 1.0.6 reads
	 * that many bytes off its stack. The child process it runs in dies or fails; we do not. */
	size_t n;
	uint8_t *bytes = slurp(fixtures_dir, "freexl_dirent_overread.xls", &n);
	REQUIRE_VOID(bytes);
	expect_error("freexl_dirent_overread.xls", bytes, n, IMPORT_ERR_MALFORMED);
	free(bytes);
}

/* ----- the API's edges ----- */

static void test_api(void)
{
	import_rows rows = {0};
	CHECK(import_parse("a.csv", LIT("x"), NULL, NULL, 0) == IMPORT_ERR_INVALID, "NULL out");
	CHECK(import_parse(NULL, LIT("x"), &rows, NULL, 0) == IMPORT_ERR_INVALID, "NULL name");
	CHECK(import_parse("a.csv", NULL, 1, &rows, NULL, 0) == IMPORT_ERR_INVALID, "NULL bytes");
	/* why may be NULL or tiny; it is always terminated. */
	char why[8] = "garbage";
	CHECK(import_parse("a.xlsx", LIT("abc"), &rows, why, sizeof why) == IMPORT_ERR_TYPE, "type");
	CHECK(strlen(why) < sizeof why, "why terminated");
	CHECK(import_parse("a.csv", LIT("a@b.fr\n"), &rows, why, sizeof why) == IMPORT_OK && why[0] == '\0',
	      "why emptied on success");
	import_rows_free(&rows);
	import_rows_free(&rows); /* twice: emptied the first time */
	import_rows_free(NULL);
	/* A header alone, or only empty cells: success with no rows. */
	CHECK(import_parse("a.csv", LIT("Email;Nom\n;\n"), &rows, NULL, 0) == IMPORT_OK && rows.count == 0 &&
	          rows.items == NULL && rows.header_row == 1,
	      "a header alone");
	import_rows_free(&rows);
	for (int e = IMPORT_OK; e <= IMPORT_ERR_INVALID + 1; e++)
		CHECK(import_strerror((import_err)e) != NULL, "strerror %d", e);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: import_test FIXTURES_DIR HOSTILE_DIR\n");
		return 2;
	}
	fixtures_dir = argv[1];
	hostile_dir = argv[2];
	import_init();
	test_real_files();
	test_xls_from_a_large_parent();
	test_text_encodings();
	test_txt();
	test_csv();
	test_cell_limit();
	test_row_limit();
	test_size_limit();
	test_types();
	test_truncated();
	test_hostile();
	test_hand_made_xlsx();
	test_regressions();
	test_api();
	return check_report(__FILE__);
}
