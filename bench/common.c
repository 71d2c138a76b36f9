/*
 * common.c: /proc readers of the benchmarks (common.h).
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool bench_read_numbers(const char **text, unsigned long long *values, int count)
{
	const char *p = *text;
	for (int i = 0; i < count; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p < '0' || *p > '9')
			return false;
		char *end;
		errno = 0;
		values[i] = strtoull(p, &end, 10);
		if (errno)
			return false;
		p = end;
	}
	*text = p;
	return true;
}

/* Reads a small /proc file whole, NUL-terminated. */
static bool read_proc(const char *path, char *text, size_t bytes)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(text, 1, bytes - 1, f);
	fclose(f);
	text[n] = '\0';
	return n > 0;
}

bool bench_cpu_ticks_read(bench_cpu_ticks *out)
{
	char text[512];
	if (!read_proc("/proc/stat", text, sizeof text) || strncmp(text, "cpu ", 4) != 0)
		return false;
	unsigned long long v[8];
	const char *p = text + 4;
	if (!bench_read_numbers(&p, v, 8))
		return false;
	*out = (bench_cpu_ticks){v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
	return true;
}

int64_t bench_process_cpu_ns(pid_t pid)
{
	char path[64], text[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if (pid <= 0 || !read_proc(path, text, sizeof text))
		return -1;
	/* Fields after the command name, which is in parentheses and may hold spaces: state, then
	 * ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime. */
	const char *p = strrchr(text, ')');
	if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
		return -1;
	p += 4;
	unsigned long long counts[7]; /* flags minflt cminflt majflt cmajflt utime stime */
	/* ppid pgrp session tty_nr tpgid: tty_nr and tpgid may be negative, skipped as text. */
	for (int field = 0; field < 5; field++) {
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
	}
	if (!bench_read_numbers(&p, counts, 7))
		return -1;
	unsigned long long utime = counts[5], stime = counts[6];
	return (int64_t)((utime + stime) * (1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK)));
}

double bench_load_average(void)
{
	char text[128];
	if (!read_proc("/proc/loadavg", text, sizeof text))
		return -1.0;
	char *end;
	errno = 0;
	double load = strtod(text, &end);
	return errno || end == text ? -1.0 : load;
}

unsigned long long bench_self_write_bytes(void)
{
	char text[1024];
	if (!read_proc("/proc/self/io", text, sizeof text))
		return 0;
	const char *p = strstr(text, "write_bytes: ");
	unsigned long long v = 0;
	if (p) {
		p += strlen("write_bytes: ");
		if (!bench_read_numbers(&p, &v, 1))
			v = 0;
	}
	return v;
}
