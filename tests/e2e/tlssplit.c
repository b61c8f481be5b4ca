// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tlssplit.c - a helper of the end-to-end tests: a TLS client whose
 * ClientHello reaches the server in pieces, both across TLS records and
 * across the server's reads, then N HTTP/1.1 requests on the connection.
 *
 *   tlssplit [-s SNI] [-w CMD] [-t SECS] ADDR PORT HOST N
 *
 * OpenSSL makes the handshake through memory BIOs, so that the helper
 * holds the ClientHello before it goes out. Its handshake message is
 * re-framed into three TLS records: the first ends inside the client
 * random, the second inside the SNI's host name (without SNI, inside the
 * extensions). The records go out in three TCP sends: the first ends
 * inside the second record's header, the second inside the third record's
 * body. Before each send after the first, the helper waits until the
 * server has read everything sent so far: its own send queue empty (every
 * byte acknowledged, SIOCOUTQ), then CMD (run by sh, with TG_SPORT set to
 * the connection's local port) exits 0, for instance when the server's
 * socket of that port has nothing left to read. Each wait has a deadline
 * of SECS seconds (default 20). Then the handshake completes and the
 * helper sends N requests for /f?s=I with Host: HOST on the connection,
 * reads each response (with a Content-Length), and closes.
 *
 * Prints one line: the records, sends and requests, and the local port.
 * Exits 0 when every response is 200, 1 on any failure, 2 on a bad
 * command line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REC_HDR 5

static int fd = -1;
static SSL *ssl;
static BIO *rbio, *wbio;
static int deadline_secs = 20;

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tlssplit: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void send_all(const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("cannot send: %s", strerror(errno));
		p += w;
		n -= w;
	}
}

/* What OpenSSL has to send, sent. */
static void flush_out(void)
{
	unsigned char buf[16384];
	int n;

	while ((n = BIO_read(wbio, buf, sizeof(buf))) > 0)
		send_all(buf, n);
}

/* What the server sent, to OpenSSL. */
static void fill_in(void)
{
	unsigned char buf[16384];
	ssize_t n;

	do
		n = recv(fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die("cannot receive: %s", strerror(errno));
	if (n == 0)
		die("the server closed the connection");
	if (BIO_write(rbio, buf, n) != n)
		die("cannot hand %zd bytes to OpenSSL", n);
}

/* Wait until the server has read all that was sent: every byte acked,
 * then @cmd true. */
static void wait_read(const char *cmd)
{
	double end = now_s() + deadline_secs;
	int outq, rc;

	for (;;) {
		if (ioctl(fd, SIOCOUTQ, &outq))
			die("SIOCOUTQ: %s", strerror(errno));
		if (outq == 0) {
			if (!cmd)
				return;
			rc = system(cmd);
			if (rc == 0)
				return;
		}
		if (now_s() > end)
			die("the server did not read the piece within %d s "
			    "(%d bytes not acknowledged)", deadline_secs, outq);
		usleep(10000);	/* poll pacing, not a wait */
	}
}

static unsigned be16(const unsigned char *p)
{
	return p[0] << 8 | p[1];
}

/*
 * Where to cut the handshake message @hs of @n bytes into records: inside
 * the SNI's host name, or without one inside the extensions. 0 when the
 * message cannot be read.
 */
static size_t sni_cut(const unsigned char *hs, size_t n, int *has_sni)
{
	size_t p = 4 + 2 + 32, end, ext0;

	*has_sni = 0;
	if (n < p + 1 || hs[0] != 1)
		return 0;
	p += 1 + hs[p];				/* session id */
	if (p + 2 > n)
		return 0;
	p += 2 + be16(hs + p);			/* cipher suites */
	if (p + 1 > n)
		return 0;
	p += 1 + hs[p];				/* compression methods */
	if (p + 2 > n)
		return 0;
	end = p + 2 + be16(hs + p);
	p += 2;
	ext0 = p;
	if (end > n)
		return 0;
	while (p + 4 <= end) {
		unsigned type = be16(hs + p), len = be16(hs + p + 2);

		/* server_name: list length (2), type (1), name length (2) */
		if (type == 0 && len >= 5 + 4 && p + 4 + len <= end) {
			*has_sni = 1;
			return p + 4 + 5 + 3;
		}
		p += 4 + len;
	}
	return ext0 + 10 < end ? ext0 + 10 : 0;
}

/* Read a whole HTTP/1.1 response; its status. */
static int read_response(void)
{
	static char buf[65536];
	size_t have = 0, head, body = 0;
	char *eoh, *cl;
	int status, r;

	for (;;) {
		r = SSL_read(ssl, buf + have, sizeof(buf) - 1 - have);
		if (r > 0) {
			have += r;
			buf[have] = 0;
			eoh = strstr(buf, "\r\n\r\n");
			if (eoh)
				break;
			if (have == sizeof(buf) - 1)
				die("a response head over %zu bytes", have);
			continue;
		}
		r = SSL_get_error(ssl, r);
		if (r != SSL_ERROR_WANT_READ)
			die("SSL_read failed (%d)", r);
		flush_out();
		fill_in();
	}
	head = eoh + 4 - buf;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		die("not an HTTP/1.x response: %.40s", buf);
	*eoh = 0;
	for (cl = buf; (cl = strchr(cl, '\n')); cl++)
		if (!strncasecmp(cl + 1, "content-length:", 15))
			break;
	if (!cl)
		die("a response without Content-Length");
	body = strtoull(cl + 16, NULL, 10);
	have -= head;
	while (have < body) {
		r = SSL_read(ssl, buf, sizeof(buf));
		if (r > 0) {
			have += r;
			continue;
		}
		r = SSL_get_error(ssl, r);
		if (r != SSL_ERROR_WANT_READ)
			die("SSL_read failed (%d)", r);
		flush_out();
		fill_in();
	}
	if (have != body)
		die("%zu bytes after a body of %zu", have - body, body);
	return status;
}

static void usage(void)
{
	fprintf(stderr, "usage: tlssplit [-s SNI] [-w CMD] [-t SECS] ADDR "
		"PORT HOST N\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *sni = NULL, *cmd = NULL, *host;
	unsigned char ch[16384], wire[16384 + 3 * REC_HDR];
	size_t chn, hsn, cut, cuts[2], rec[3], w = 0, i, sent;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	char req[1024], env[16];
	int opt, one = 1, has_sni, r, n, ok = 0;
	SSL_CTX *ctx;

	while ((opt = getopt(argc, argv, "s:w:t:")) != -1) {
		if (opt == 's')
			sni = optarg;
		else if (opt == 'w')
			cmd = optarg;
		else if (opt == 't')
			deadline_secs = atoi(optarg);
		else
			usage();
	}
	if (argc - optind != 4 || deadline_secs <= 0)
		usage();
	if (inet_pton(AF_INET, argv[optind], &sa.sin_addr) != 1)
		usage();
	sa.sin_port = htons(atoi(argv[optind + 1]));
	host = argv[optind + 2];
	n = atoi(argv[optind + 3]);
	if (n < 1)
		usage();

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("cannot connect to %s:%s: %s", argv[optind],
		    argv[optind + 1], strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (getsockname(fd, (struct sockaddr *)&sa, &sl))
		die("getsockname: %s", strerror(errno));
	snprintf(env, sizeof(env), "%u", ntohs(sa.sin_port));
	setenv("TG_SPORT", env, 1);

	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		die("SSL_CTX_new");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	ssl = SSL_new(ctx);
	rbio = BIO_new(BIO_s_mem());
	wbio = BIO_new(BIO_s_mem());
	if (!ssl || !rbio || !wbio)
		die("cannot make the TLS client");
	SSL_set_bio(ssl, rbio, wbio);
	SSL_set_connect_state(ssl);
	if (sni && !SSL_set_tlsext_host_name(ssl, sni))
		die("cannot set the SNI");
	if (SSL_set_alpn_protos(ssl, (const unsigned char *)"\x08http/1.1",
				9))
		die("cannot set ALPN");

	/* The ClientHello, held back: one record. */
	r = SSL_do_handshake(ssl);
	if (r == 1 || SSL_get_error(ssl, r) != SSL_ERROR_WANT_READ)
		die("the handshake did not wait for the server");
	r = BIO_read(wbio, ch, sizeof(ch));
	if (r < REC_HDR || ch[0] != 22 || BIO_ctrl_pending(wbio))
		die("the ClientHello is not one handshake record");
	chn = r;
	hsn = be16(ch + 3);
	if (hsn + REC_HDR != chn)
		die("the ClientHello is not one record (%zu of %zu bytes)",
		    hsn, chn - REC_HDR);
	cut = sni_cut(ch + REC_HDR, hsn, &has_sni);
	if (cut <= 8 || cut >= hsn - 4)
		die("cannot find where to cut the ClientHello");
	if (sni && !has_sni)
		die("the ClientHello has no SNI");

	/* Three records: [0, 7), [7, cut), [cut, end). */
	rec[0] = 7;
	rec[1] = cut - 7;
	rec[2] = hsn - cut;
	for (i = 0, sent = 0; i < 3; i++) {
		memcpy(wire + w, ch, 3);	/* type and version */
		wire[w + 3] = rec[i] >> 8;
		wire[w + 4] = rec[i] & 0xff;
		memcpy(wire + w + REC_HDR, ch + REC_HDR + sent, rec[i]);
		w += REC_HDR + rec[i];
		sent += rec[i];
	}
	/* Three sends: inside the second record's header, and two bytes
	 * into the third record's body. */
	cuts[0] = REC_HDR + rec[0] + 2;
	cuts[1] = 2 * REC_HDR + rec[0] + rec[1] + REC_HDR + 2;
	send_all(wire, cuts[0]);
	wait_read(cmd);
	send_all(wire + cuts[0], cuts[1] - cuts[0]);
	wait_read(cmd);
	send_all(wire + cuts[1], w - cuts[1]);

	for (;;) {
		r = SSL_do_handshake(ssl);
		flush_out();
		if (r == 1)
			break;
		if (SSL_get_error(ssl, r) != SSL_ERROR_WANT_READ)
			die("the handshake failed");
		fill_in();
	}

	for (i = 0; i < (size_t)n; i++) {
		int len = snprintf(req, sizeof(req), "GET /f?s=%zu HTTP/1.1\r\n"
				   "Host: %s\r\nUser-Agent: tlssplit\r\n\r\n",
				   i + 1, host);

		if (SSL_write(ssl, req, len) != len)
			die("SSL_write failed");
		flush_out();
		if (read_response() == 200)
			ok++;
	}
	SSL_shutdown(ssl);
	flush_out();
	close(fd);
	printf("tlssplit: %s SNI, ClientHello of %zu bytes in 3 records and "
	       "3 sends, %d of %d requests answered 200, local port %s\n",
	       has_sni ? "with" : "without", hsn, ok, n, env);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return ok == n ? 0 : 1;
}
