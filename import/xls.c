/*
 * xls.c: .xls workbooks, read with freexl in a child process limited in time and memory.
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
		import_add_cell(p, row, number, strlen(number));
		break;
	case FREEXL_CELL_DOUBLE:
		snprintf(number, sizeof number, "%.15g", cell->value.double_value);
		import_add_cell(p, row, number, strlen(number));
		break;
	case FREEXL_CELL_TEXT:
	case FREEXL_CELL_SST_TEXT:
	case FREEXL_CELL_DATE:
	case FREEXL_CELL_DATETIME:
	case FREEXL_CELL_TIME:
		if (cell->value.text_value)
			import_add_cell(p, row, cell->value.text_value, strlen(cell->value.text_value));
		break;
	default: break; /* FREEXL_CELL_NULL: an empty cell */
	}
}

static void xls_first_column(parse *p, const void *xls)
{
	unsigned info = 0;
	if (freexl_get_info(xls, FREEXL_BIFF_PASSWORD, &info) == FREEXL_OK && info == FREEXL_BIFF_OBFUSCATED) {
		import_fail(p, IMPORT_ERR_MALFORMED, "the workbook is password-protected");
		return;
	}
	if (freexl_get_info(xls, FREEXL_BIFF_SHEET_COUNT, &info) != FREEXL_OK || info == 0)
		return; /* no worksheet: no rows */
	unsigned rows = 0;
	unsigned short columns = 0;
	if (freexl_select_active_worksheet(xls, 0) != FREEXL_OK ||
	    freexl_worksheet_dimensions(xls, &rows, &columns) != FREEXL_OK) {
		import_fail(p, IMPORT_ERR_MALFORMED, "the first worksheet cannot be read");
		return;
	}
	for (unsigned r = 0; columns > 0 && r < rows && !p->err; r++) {
		FreeXL_CellValue cell;
		if (freexl_get_cell_value(xls, r, 0, &cell) != FREEXL_OK)
			import_fail(p, IMPORT_ERR_MALFORMED, "row %u: the first cell cannot be read", r + 1);
		else
			xls_cell(p, r + 1, &cell);
	}
}

/* freexl in the child process (see xls_isolated). */
static void xls_read(parse *p, const uint8_t *bytes, size_t n)
{
	spill sp;
	if (!spill_open(&sp, bytes, n)) {
		import_fail(p, IMPORT_ERR_NOMEM, "cannot hand the .xls to freexl: %s", strerror(errno));
		return;
	}
	const void *xls = NULL;
	int rc = freexl_open(sp.path, &xls);
	spill_close(&sp);
	if (rc == FREEXL_BIFF_WORKBOOK_NOT_FOUND)
		import_fail(p, IMPORT_ERR_TYPE, "an OLE2 file without an Excel workbook (a Word document?)");
	else if (rc != FREEXL_OK)
		import_fail(p, IMPORT_ERR_MALFORMED, "not a readable .xls workbook (freexl error %d)", rc);
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
 * import_add_cell() like any other input. A child that crashes, dies of a limit or says anything
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

#ifndef IMPORT_UNDER_ASAN /* under ASan the child's address space is not limited (below) */
/* The address space this process maps now, in bytes (0 if /proc cannot say). The child inherits
 * its parent's whole mapping, which in a threaded server is mostly reserved and never touched
 * (glibc's malloc arenas reserve 64 MiB each, up to 8 per core): its memory limit counts from
 * there. open, read and close only: this runs between fork and exec in a threaded program. */
static size_t xls_mapped_bytes(void)
{
	char text[4096];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, text, sizeof text - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	const char *p = strstr(text, "VmSize:");
	size_t kib = 0;
	for (p = p ? p + strlen("VmSize:") : text + n; *p == ' ' || *p == '\t'; p++)
		;
	for (; *p >= '0' && *p <= '9' && kib < ((size_t)1 << 40); p++)
		kib = kib * 10 + (size_t)(*p - '0');
	return kib * 1024;
}
#endif

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
	/* what freexl may map on top of what the child inherited */
	rlim_t limit = (rlim_t)xls_mapped_bytes() + IMPORT_XLS_MEMORY_BYTES_MAX;
	struct rlimit memory = {limit, limit};
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
		import_fail(p, (import_err)status.a, "%.*s", (int)status.b, (const char *)buf + sizeof status);
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
		import_add_cell(p, cell.a, (const char *)buf + at, cell.b);
		at += cell.b;
	}
	return;
malformed:
	import_fail(p, IMPORT_ERR_MALFORMED, "the .xls reader returned a malformed reply");
}

void import_xls_read(parse *p, const uint8_t *bytes, size_t n)
{
	int fds[2];
	uint8_t *buf = malloc(XLS_REPLY_BYTES_MAX);
	if (!buf || pipe2(fds, O_CLOEXEC) != 0) {
		free(buf);
		import_fail(p, IMPORT_ERR_NOMEM, "cannot start the .xls reader: %s", strerror(errno));
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
		import_fail(p, IMPORT_ERR_NOMEM, "cannot start the .xls reader: %s", strerror(errno));
	else if (!received || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		import_fail(p, IMPORT_ERR_MALFORMED, "the .xls reader failed on this file (%s %d): corrupt or hostile",
		            WIFSIGNALED(status) ? "signal" : "status",
		            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	else
		xls_decode(p, buf, len);
	free(buf);
}
