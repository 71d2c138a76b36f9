/*
 * csv_cell.c: a CSV cell, quoted and neutralised (csv_cell.h).
 */
#include "csv_cell.h"

#include <string.h>

bool proj_csv_cell_is_formula(const char *field)
{
	return field[0] != '\0' && strchr("=+-@\t\r", field[0]) != NULL;
}

size_t proj_csv_cell(char *out, const char *field)
{
	bool formula = proj_csv_cell_is_formula(field);
	if (!formula && !strpbrk(field, ",\"\r\n")) {
		size_t n = strlen(field);
		memcpy(out, field, n); /* RFC 4180: quoted only when it must be */
		return n;
	}
	size_t w = 0;
	out[w++] = '"';
	if (formula)
		out[w++] = '\'';
	for (const char *c = field; *c; c++) {
		if (*c == '"')
			out[w++] = '"'; /* a quote inside a quoted cell is doubled */
		out[w++] = *c;
	}
	out[w++] = '"';
	return w;
}

void proj_csv_cell_fputs(FILE *out, const char *field)
{
	bool formula = proj_csv_cell_is_formula(field);
	if (!formula && !strpbrk(field, ",\"\r\n")) {
		fputs(field, out);
		return;
	}
	fputc('"', out);
	if (formula)
		fputc('\'', out);
	for (const char *c = field; *c; c++) {
		if (*c == '"')
			fputc('"', out);
		fputc(*c, out);
	}
	fputc('"', out);
}
