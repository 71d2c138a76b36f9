/*
 * store_check.c: reading a possibly damaged store where a crash is contained.
 *
 * LMDB keeps no page checksums: a flipped byte in a branch page or an overflow pointer makes
 * it follow a wild page number, and the reading process dies (SIGSEGV, SIGBUS, or an LMDB
 * assertion's abort) instead of reporting anything. Before a store is opened for serving or
 * auditing, a forked child walks every database of it, every key and every value byte, in a
 * read-only transaction. The parent only reads what the child reports: a clean walk, an
 * LMDB error, or the signal that killed it and the database it was reading. A damaged store
 * is then refused by name ("store damaged ...: restore from a backup", docs/operations.md).
 *
 * It reads the whole file once (sequentially, through the page cache): O(store) at each open.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK_MESSAGE_BYTES 512

/* Writes the whole line to fd (the report pipe); nothing to do if the parent is gone. */
static void report(int fd, const char *line)
{
	size_t n = strlen(line);
	while (n > 0) {
		ssize_t w = write(fd, line, n);
		if (w <= 0)
			return;
		line += w;
		n -= (size_t)w;
	}
}

/* Reads every byte of every key and value of dbi; the sum only keeps the reads. */
static int walk_database(MDB_txn *txn, MDB_dbi dbi, uint64_t *sum)
{
	MDB_cursor *cursor;
	int rc = mdb_cursor_open(txn, dbi, &cursor);
	if (rc)
		return rc;
	MDB_val k, v;
	while ((rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) == 0) {
		for (size_t i = 0; i < k.mv_size; i++)
			*sum += ((const uint8_t *)k.mv_data)[i];
		for (size_t i = 0; i < v.mv_size; i++)
			*sum += ((const uint8_t *)v.mv_data)[i];
	}
	mdb_cursor_close(cursor);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The child: walks the main database (the names of the others), then each named one, saying
 * on fd which one it is reading. Exits 0 if all read cleanly, 1 with a line if LMDB found damage
 * while reading, 2 if the store does not even open (ledger_open then names the problem). */
static _Noreturn void check_child(const char *dir, int fd)
{
	char line[CHECK_MESSAGE_BYTES];
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	int rc = mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(env, 64);
	if (rc == 0)
		rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600);
	if (rc == 0)
		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	MDB_dbi main_dbi;
	if (rc == 0)
		rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
	if (rc)
		_exit(2); /* not an LMDB store we can open: ledger_open says what it is */
	uint64_t sum = 0;
	report(fd, "db (main)\n");
	if (rc == 0)
		rc = walk_database(txn, main_dbi, &sum);
	MDB_cursor *names = NULL;
	if (rc == 0)
		rc = mdb_cursor_open(txn, main_dbi, &names);
	MDB_val k, v;
	while (rc == 0 && (rc = mdb_cursor_get(names, &k, &v, MDB_NEXT)) == 0) {
		char name[128];
		if (k.mv_size == 0 || k.mv_size >= sizeof name || memchr(k.mv_data, '\0', k.mv_size))
			continue; /* not a database name: a plain key of the main database */
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		snprintf(line, sizeof line, "db %s\n", name);
		report(fd, line);
		MDB_dbi dbi;
		if (mdb_dbi_open(txn, name, 0, &dbi) != 0)
			continue; /* a plain key, not a database (a foreign store): ledger_open refuses it */
		rc = walk_database(txn, dbi, &sum);
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	if (rc) {
		snprintf(line, sizeof line, "error %s\n", mdb_strerror(rc));
		report(fd, line);
	}
	volatile uint64_t read_everything = sum; /* the reads are the point: keep them */
	(void)read_everything;
	_exit(rc ? 1 : 0);
}

ledger_err ledger_store_check(const char *dir)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return ledger_fail(LEDGER_ERR_IO, "%s: cannot check the store: pipe: %s", dir, strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return ledger_fail(LEDGER_ERR_IO, "%s: cannot check the store: fork: %s", dir, strerror(errno));
	}
	if (pid == 0) {
		close(fds[0]);
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGABRT, SIG_DFL);
		check_child(dir, fds[1]);
	}
	close(fds[1]);
	char text[4096];
	size_t got = 0;
	ssize_t n;
	while ((n = read(fds[0], text + got, sizeof text - 1 - got)) > 0 && got + (size_t)n < sizeof text - 1)
		got += (size_t)n;
	if (n > 0)
		got += (size_t)n;
	text[got] = '\0';
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* The last database the child named, and its error line if it had one. */
	const char *db = "(main)";
	char db_name[128] = "";
	for (const char *p = text; (p = strstr(p, "db ")) != NULL; p += 3)
		if (p == text || p[-1] == '\n')
			db = p + 3;
	size_t db_len = strcspn(db, "\n");
	snprintf(db_name, sizeof db_name, "%.*s", (int)(db_len < 100 ? db_len : 100), db);
	const char *error = strstr(text, "error ");
	if (WIFSIGNALED(status))
		return ledger_fail(LEDGER_ERR_CORRUPT,
		                   "%s: store damaged: reading database %s crashed the check (%s); restore data.mdb "
		                   "from a backup (docs/operations.md)",
		                   dir, db_name, strsignal(WTERMSIG(status)));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
		return LEDGER_OK; /* not openable as LMDB: ledger_open gives the typed reason */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return ledger_fail(LEDGER_ERR_CORRUPT,
		                   "%s: store damaged: reading database %s: %.*s; restore data.mdb from a backup "
		                   "(docs/operations.md)",
		                   dir, db_name, error ? (int)strcspn(error + 6, "\n") : 7,
		                   error ? error + 6 : "unknown");
	return LEDGER_OK;
}
