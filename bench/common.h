/*
 * common.h: what the benchmarks share: reading the machine's and a process's counters from
 * /proc, with checked number parsing.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The first line of /proc/stat: cumulative CPU ticks of the machine. */
typedef struct bench_cpu_ticks {
	unsigned long long user, nice, system, idle, iowait, irq, softirq, steal;
} bench_cpu_ticks;

/* Reads count whitespace-separated decimal numbers at *text, moving *text past them. */
bool bench_read_numbers(const char **text, unsigned long long *values, int count);

/* The machine's CPU ticks; false if /proc/stat cannot be read. */
bool bench_cpu_ticks_read(bench_cpu_ticks *out);

/* User + system CPU time of process pid in nanoseconds, or -1. */
int64_t bench_process_cpu_ns(pid_t pid);

/* The 1-minute load average, or -1. */
double bench_load_average(void);

/* The write_bytes line of /proc/self/io (bytes this process caused to be written), or 0. */
unsigned long long bench_self_write_bytes(void);

#endif
