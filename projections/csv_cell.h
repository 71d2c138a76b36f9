/*
 * csv_cell.h: one cell of every CSV the project writes (the contacts export, ledger-audit
 * export): RFC 4180 quoting, and spreadsheet formula injection neutralised as OWASP's
 * "CSV Injection" guidance says.
 *
 * A cell that begins with = + - @, a tab or a carriage return is read by spreadsheet programs
 * as a formula (a signer named =HYPERLINK(...) becomes a live link). Such a cell is written
 * with a single quote before it and inside double quotes: '=HYPERLINK(...) is shown as text.
 * The price, documented in docs/platform.md: a phone number +33... reads '+33... in the file.
 */
#ifndef PROJ_CSV_CELL_H
#define PROJ_CSV_CELL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The most bytes proj_csv_cell writes for a field of field_bytes bytes (every character a
 * doubled quote, the quotes around, the neutralising quote). */
#define PROJ_CSV_CELL_BYTES_MAX(field_bytes) (2 * (field_bytes) + 3)

/* Would field be read as a formula? */
bool proj_csv_cell_is_formula(const char *field);

/* Writes field as one cell (no separator) into out, which has room for
 * PROJ_CSV_CELL_BYTES_MAX(strlen(field)) bytes. Returns the bytes written. */
size_t proj_csv_cell(char *out, const char *field);

/* The same cell, written to out. */
void proj_csv_cell_fputs(FILE *out, const char *field);

#endif
