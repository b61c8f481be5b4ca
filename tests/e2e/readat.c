// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * readat.c - a helper of the end-to-end tests that reads counters at given
 * instants: files holding one number each (an interface's statistics in
 * sysfs), all read once at every step of a wall-clock grid.
 *
 *   readat FROM TO STEP FILE...
 *
 * FROM and TO are Unix times, STEP a duration, all in nanoseconds
 * (CLOCK_REALTIME). readat opens the files and reads all of them in turn
 * at FROM, FROM + STEP, FROM + 2 STEP, ... before TO (a step it was too
 * late for is left out), sleeping in between so that it leaves the CPU to
 * the traffic it measures. It runs as a
 * real-time task (SCHED_FIFO, the lowest priority) where it may: on a
 * busy machine a normal task is woken milliseconds late and loses the CPU
 * in the middle of a reading. Each reading is kept in memory and printed
 * at the end, one line each: the instant it began and the instant it
 * ended (ns), then the files' numbers in the order given. Every value of
 * a line was read between its two instants. Exits 0, 1 when a file cannot
 * be read, 2 on a bad command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The number in file @fd, read from its start. */
static int read_num(int fd, uint64_t *v)
{
	char buf[32];
	char *end;
	ssize_t n;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	errno = 0;
	*v = strtoull(buf, &end, 10);
	return errno || end == buf ? -1 : 0;
}

int main(int argc, char **argv)
{
	uint64_t from, to, step, at, *rows = NULL, *r;
	size_t nf, cols, nr = 0, cap = 0, i, j;
	struct sched_param rt = {.sched_priority = 1};
	struct timespec until;
	char *end;
	int *fds;

	if (argc < 5) {
		fprintf(stderr, "usage: readat FROM TO STEP FILE...\n");
		return 2;
	}
	from = strtoull(argv[1], &end, 10);
	if (*end || !from)
		goto usage;
	to = strtoull(argv[2], &end, 10);
	if (*end || to <= from)
		goto usage;
	step = strtoull(argv[3], &end, 10);
	if (*end || !step)
		goto usage;
	nf = argc - 4;
	cols = nf + 2;
	fds = calloc(nf, sizeof(*fds));
	if (!fds) {
		perror("readat");
		return 1;
	}
	for (i = 0; i < nf; i++) {
		fds[i] = open(argv[i + 4], O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			fprintf(stderr, "readat: cannot open '%s': %s\n",
				argv[i + 4], strerror(errno));
			return 1;
		}
	}
	if (sched_setscheduler(0, SCHED_FIFO, &rt))
		fprintf(stderr,
			"readat: not a real-time task (%s): "
			"readings may come late\n",
			strerror(errno));
	for (at = from; at < to;) {
		until.tv_sec = at / 1000000000ull;
		until.tv_nsec = at % 1000000000ull;
		while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &until,
				       NULL) == EINTR)
			;
		if (nr == cap) {
			cap = cap ? 2 * cap : 4096;
			rows = realloc(rows, cap * cols * sizeof(*rows));
			if (!rows) {
				perror("readat");
				return 1;
			}
		}
		r = rows + nr * cols;
		r[0] = now_ns();
		for (i = 0; i < nf; i++)
			if (read_num(fds[i], &r[i + 2])) {
				fprintf(stderr,
					"readat: cannot read a number "
					"from '%s'\n",
					argv[i + 4]);
				return 1;
			}
		r[1] = now_ns();
		nr++;
		/* Woken late: the steps that passed meanwhile are gone. */
		do
			at += step;
		while (at <= r[1]);
	}
	for (j = 0; j < nr; j++) {
		r = rows + j * cols;
		for (i = 0; i < cols; i++)
			printf("%s%llu", i ? " " : "",
			       (unsigned long long)r[i]);
		putchar('\n');
	}
	return fflush(stdout) ? 1 : 0;
usage:
	fprintf(stderr, "readat: FROM and TO are Unix times in ns, "
			"FROM < TO, STEP ns > 0\n");
	return 2;
}
