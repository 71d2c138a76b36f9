/*
 * scratch.h: what the C tests share for their files: scratch directories (in /dev/shm when
 * there is one, so thousands of fsyncs stay fast), removing them without a shell, writing a file.
 */
#ifndef TESTS_SUPPORT_SCRATCH_H
#define TESTS_SUPPORT_SCRATCH_H

#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A new directory NAME-XXXXXX; the caller frees the path (NULL if it cannot be made). */
static inline char *scratch_dir(const char *name)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", name);
	return mkdtemp(path) ? strdup(path) : NULL;
}

static inline int scratch_remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	if (remove(path) != 0)
		fprintf(stderr, "could not remove %s\n", path);
	return 0;
}

/* Removes dir and everything under it, naming what it cannot remove. True when dir is gone (or
 * was never there, or is NULL). */
static inline bool remove_dir(const char *dir)
{
	if (!dir)
		return true;
	if (nftw(dir, scratch_remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
		fprintf(stderr, "could not remove %s\n", dir);
	return access(dir, F_OK) != 0;
}

static inline bool write_file(const char *path, const void *data, size_t bytes)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return false;
	bool ok = fwrite(data, 1, bytes, f) == bytes;
	return fclose(f) == 0 && ok;
}

/* The whole file at path, read to its end (it may be a pipe): malloc'd, *bytes long; NULL if
 * it cannot be read. */
static inline uint8_t *read_whole_file(const char *path, size_t *bytes)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t *data = NULL;
	size_t n = 0, cap = 0;
	bool ok;
	for (;;) {
		if (n == cap) {
			size_t bigger = cap ? 2 * cap : 65536;
			uint8_t *grown = realloc(data, bigger);
			if (!grown) {
				ok = false;
				break;
			}
			data = grown, cap = bigger;
		}
		size_t got = fread(data + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			ok = !ferror(f);
			break;
		}
	}
	fclose(f);
	if (!ok) {
		free(data);
		return NULL;
	}
	*bytes = n;
	return data;
}

#endif
