/*
 * txt.c: .txt lists: the first token of each line.
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

/* ----- .txt: the first token of each line ----- */

static bool txt_is_separator(char c)
{
	return c == ' ' || c == '\t' || c == ';' || c == ',';
}

/* One address per line; a line may go on after a space, tab, ';' or ',' (the rest is ignored).
 * Lines end with LF, CRLF or CR. */
void import_txt_read(parse *p, const char *s, size_t n)
{
	uint32_t line = 1;
	size_t i = 0;
	while (i < n && !p->err) {
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		size_t start = i;
		while (i < n && !txt_is_separator(s[i]) && s[i] != '\r' && s[i] != '\n')
			i++;
		import_add_cell(p, line, s + start, i - start);
		while (i < n && s[i] != '\r' && s[i] != '\n')
			i++;
		if (i + 1 < n && s[i] == '\r' && s[i + 1] == '\n')
			i++;
		i++;
		line++;
	}
}
