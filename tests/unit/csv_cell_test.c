/*
 * csv_cell_test: every CSV cell the project writes (projections/csv_cell.c) is RFC 4180 and
 * never read as a formula: a cell beginning with = + - @, a tab or a CR is quoted behind a
 * single quote (OWASP's CSV injection guidance); quotes are doubled; plain cells stay bare.
 */
#include "../check.h"
#include "csv_cell.h"

#include <stdlib.h>

static void expect_cell(const char *field, const char *want)
{
	char out[256];
	size_t n = proj_csv_cell(out, field);
	CHECK(n <= PROJ_CSV_CELL_BYTES_MAX(strlen(field)), "%s: %zu bytes, over the bound", field, n);
	out[n] = '\0';
	CHECK(strcmp(out, want) == 0, "cell of [%s]: [%s], want [%s]", field, out, want);
	char *streamed = NULL;
	size_t streamed_bytes = 0;
	FILE *f = open_memstream(&streamed, &streamed_bytes);
	REQUIRE_VOID(f);
	proj_csv_cell_fputs(f, field);
	fclose(f);
	CHECK(streamed && strcmp(streamed, want) == 0, "streamed cell of [%s]: [%s]", field, streamed ? streamed : "");
	free(streamed);
}

int main(void)
{
	expect_cell("alice@client.fr", "alice@client.fr");
	expect_cell("", "");
	expect_cell("Durand, Alice \"AD\"", "\"Durand, Alice \"\"AD\"\"\"");
	expect_cell("=HYPERLINK(\"https://evil.example/\",\"x\")",
	            "\"'=HYPERLINK(\"\"https://evil.example/\"\",\"\"x\"\")\"");
	expect_cell("+33611223344", "\"'+33611223344\"");
	expect_cell("-2+3+cmd|' /C calc'!A0", "\"'-2+3+cmd|' /C calc'!A0\"");
	expect_cell("@SUM(1+1)", "\"'@SUM(1+1)\"");
	expect_cell("\t=1", "\"'\t=1\"");
	expect_cell("\r=1", "\"'\r=1\"");
	expect_cell("a=1", "a=1"); /* only a leading character makes a formula */
	expect_cell("line\nbreak", "\"line\nbreak\"");
	CHECK(proj_csv_cell_is_formula("=1") && !proj_csv_cell_is_formula("1=") && !proj_csv_cell_is_formula(""),
	      "formula detection");
	return check_report(__FILE__);
}
