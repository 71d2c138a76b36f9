/*
 * import_fuzz.c: the libFuzzer target of import/.
 *
 * The first byte of an input chooses the extension (its low two bits: .csv .txt .xls .xlsx),
 * the rest is the file. Besides what ASan and UBSan catch, every run checks import_parse's
 * contract and aborts if it is broken: no rows on an error; on success at most IMPORT_ROWS_MAX
 * rows in increasing order, each cell non-empty, trimmed, valid UTF-8, within
 * IMPORT_CELL_BYTES_MAX, and a header row before them.
 */
#include "../support/utf8.h"
#include "import.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool rows_valid(const import_rows *rows)
{
	if (rows->count > IMPORT_ROWS_MAX || (rows->count == 0) != (rows->items == NULL))
		return false;
	uint32_t previous = rows->header_row;
	for (size_t i = 0; i < rows->count; i++) {
		const import_row *r = &rows->items[i];
		size_t len = r->cell ? strlen(r->cell) : 0;
		const unsigned char *cell = (const unsigned char *)r->cell;
		if (r->row == 0 || r->row <= previous || len == 0 || len > IMPORT_CELL_BYTES_MAX || is_space(cell[0]) ||
		    is_space(cell[len - 1]) || !utf8_valid(cell, len))
			return false;
		previous = r->row;
	}
	return true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	import_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"fuzz.csv", "fuzz.txt", "fuzz.xls", "fuzz.xlsx"};
	if (size < 1)
		return 0;
	import_rows rows;
	char why[256];
	import_err err = import_parse(names[data[0] & 3], data + 1, size - 1, &rows, why, sizeof why);
	bool ok = err == IMPORT_OK
	              ? rows_valid(&rows)
	              : rows.count == 0 && rows.items == NULL && why[0] != '\0' && strlen(import_strerror(err)) > 0;
	if (!ok)
		abort();
	import_rows_free(&rows);
	return 0;
}
