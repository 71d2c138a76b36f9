/*
 * request_seeds.c: writes the request fuzzer's seed corpus (request_corpus.c), one file per
 * request, named after it, into the directory given.
 *
 * usage: request_fuzz_seeds DIR
 */
#include "../support/scratch.h"
#include "request_corpus.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fputs("usage: request_fuzz_seeds DIR\n", stderr);
		return 2;
	}
	if (sodium_init() < 0 || (mkdir(argv[1], 0755) != 0 && errno != EEXIST)) {
		fprintf(stderr, "request_fuzz_seeds: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	size_t count = request_corpus_count();
	for (size_t i = 0; i < count; i++) {
		size_t n;
		const char *name;
		uint8_t *bytes = request_corpus_envelope(i, &n, &name);
		char path[PATH_MAX];
		if (!bytes || snprintf(path, sizeof path, "%s/%s", argv[1], name) >= (int)sizeof path ||
		    !write_file(path, bytes, n)) {
			fprintf(stderr, "request_fuzz_seeds: cannot write seed %zu into %s\n", i, argv[1]);
			free(bytes);
			return 1;
		}
		free(bytes);
	}
	printf("request_fuzz_seeds: %zu seeds in %s\n", count, argv[1]);
	return 0;
}
