// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_metrics.c - what a scrape costs with 1,000 and 10,000 series.
 *
 * For each size: N label sets in the transmit and receive families (so
 * about 5 x N samples: bytes, packets and calls), then
 *   render  metrics_render() in the collection loop, once per interval;
 *   scrape  GET /metrics from the real server (libmicrohttpd, loopback),
 *           connect to last byte, one connection per scrape, which is what
 *           Prometheus pays;
 * median and 99th percentile over the runs. No BPF, no root.
 *
 *   bench_metrics [RUNS]      (default 200)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "export/metrics.h"
#include "export/serve.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One scrape: the bytes received (headers and page), or -1. */
static long scrape(unsigned int port)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: bench\r\n"
				  "Connection: close\r\n\r\n";
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	char buf[65536];
	long total = 0;
	ssize_t n;
	int fd;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    write(fd, req, sizeof(req) - 1) != sizeof(req) - 1) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	return n < 0 ? -1 : total;
}

static void report(const char *what, size_t series, double *t, int runs,
		   long bytes)
{
	qsort(t, runs, sizeof(*t), cmp_double);
	printf("%-7s %6zu series  %8ld bytes  median %8.3f ms  p99 %8.3f ms\n",
	       what, series, bytes, t[runs / 2] * 1e3,
	       t[(runs * 99) / 100 < runs ? (runs * 99) / 100 : runs - 1] * 1e3);
}

static int bench(struct metrics_server *srv, size_t n, int runs)
{
	const char *labels[ML_NR] = { "outbound_client", "", "api", "", "",
				      "public", "client" };
	char tenant[32], *page = NULL;
	double *t = calloc(runs, sizeof(*t)), t0;
	struct metrics *m = metrics_new(n);
	size_t len = 0, i;
	long got = 0;
	int r;

	if (!t || !m)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		snprintf(tenant, sizeof(tenant), "tenant-%05zu", i);
		labels[ML_TENANT] = tenant;
		labels[ML_TRAFFIC_TYPE] = "outbound_client";
		if (metrics_add(m, METRICS_TX, labels, 123456789ULL * (i + 1),
				98765 + i, 0) < 0)
			return -ENOMEM;
		labels[ML_TRAFFIC_TYPE] = "inbound";
		if (metrics_add(m, METRICS_RX, labels, 987654321ULL + i,
				12345 + i, 0) < 0)
			return -ENOMEM;
	}
	for (r = 0; r < runs; r++) {
		free(page);
		t0 = now();
		if (metrics_render(m, &page, &len))
			return -ENOMEM;
		t[r] = now() - t0;
	}
	report("render", n, t, runs, (long)len);
	metrics_server_publish(srv, page, len);
	for (r = 0; r < runs; r++) {
		t0 = now();
		got = scrape(metrics_server_port(srv));
		t[r] = now() - t0;
		if (got < (long)len) {
			fprintf(stderr, "scrape failed: %ld of %zu bytes\n",
				got, len);
			return -EIO;
		}
	}
	report("scrape", n, t, runs, got);
	metrics_free(m);
	free(t);
	return 0;
}

int main(int argc, char **argv)
{
	struct metrics_server *srv;
	int runs = argc > 1 ? atoi(argv[1]) : 200;

	if (runs < 1)
		runs = 200;
	if (metrics_server_start(&srv, &(struct metrics_server_opts){
					       .listen = "127.0.0.1:0" }))
		return 1;
	printf("bench_metrics: %d runs each, loopback, one connection per "
	       "scrape\n", runs);
	if (bench(srv, 1000, runs) || bench(srv, 10000, runs)) {
		metrics_server_stop(srv);
		return 1;
	}
	metrics_server_stop(srv);
	return 0;
}
