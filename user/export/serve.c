// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * serve.c - the export stage's metrics endpoint: GET /metrics over HTTP (or
 * HTTPS), from libmicrohttpd's own threads.
 *
 * The collection loop renders the page and publishes it here; a scrape
 * takes a reference on the last page published, under a mutex held for
 * a pointer, so no number of slow or stuck clients can hold up the loop,
 * and no HTTP thread ever reads a BPF map. Requests libmicrohttpd cannot
 * parse get its own 400 and the server carries on.
 *
 * Connections, beyond libmicrohttpd's idle timeout (serve.h has the
 * numbers):
 * - each one is tracked from its accept (a notify callback) to its close,
 *   with its client: an IPv4 address, or an IPv6 /64, since one host
 *   holds a whole /64;
 * - the accept policy refuses a client's connection beyond its share, and
 *   when all are taken, shuts down the one that has waited longest for a
 *   request head to make room (or refuses when none waits);
 * - a reaper thread shuts down every connection whose request head is not
 *   in SERVE_HEAD_TIMEOUT seconds after its accept or its last answer,
 *   whatever it trickles meanwhile, and every one whose answer has not
 *   moved in the kernel's send queue for SERVE_STALL_TIMEOUT seconds;
 * - send buffers are SERVE_SNDBUF, and a connection closed with bytes
 *   its client never read is reset (SO_LINGER 0), so that they do not
 *   linger in kernel memory that the gateway's traffic shares.
 * shutdown(2) is all the server does to a libmicrohttpd socket: the
 * library sees the end of the stream and closes it itself. A socket is
 * closed only after the close notification, which takes the lock the
 * reaper holds, so the reaper never touches a descriptor number that was
 * reused.
 *
 * With users configured, every request needs HTTP basic authentication,
 * checked by auth.c: a password that passed before costs one HMAC here;
 * any other suspends the connection until auth.c's thread has run
 * bcrypt, so bcrypt never runs on the threads that answer scrapes. Each
 * client may start SERVE_AUTH_BURST checks at once and one more every
 * SERVE_AUTH_REFILL seconds (429 with Retry-After beyond, at once), and
 * at most AUTH_QUEUE wait (503 beyond).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <unistd.h>
#include <microhttpd.h>

#include "export/auth.h"
#include "export/clients.h"
#include "export/metrics.h"
#include "export/serve.h"
#include "lib/log.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define REALM "tollgate"
#define MAX_PAGE_FILE (1u << 20)	/* TLS key or certificate */
#define REAP_EVERY_MS 250
#define REPORT_EVERY 60			/* seconds between refusal reports */
/* A connection closed this long after its last answer, with bytes of it
 * unacknowledged, has a client that does not read. */
#define LINGER_GRACE 2.0

/* The last page published; scrapes hold references to it. */
struct page {
	atomic_uint refs;
	size_t len;
	char *data;
};

enum phase {
	PH_HEAD,	/* waiting for a request head (and body) */
	PH_BUSY,	/* answering */
	PH_AUTH,	/* suspended: the password is being checked */
};


/* One connection, from its accept to its close. */
struct conn {
	struct conn *prev, *next;
	struct metrics_server *s;
	struct MHD_Connection *c;
	int fd;
	unsigned char key[CLIENT_KEY_SIZE];	/* its client */
	bool counted;		/* in the client's connections */
	enum phase phase;
	bool doomed;		/* shut down by the server */
	double since;		/* the head's clock started (mono) */
	double answered;	/* last answer queued (mono), 0: none */
	int outq;		/* bytes unacknowledged at the last look */
	double outq_since;	/* ... unchanged since */
	enum auth_verdict verdict;	/* of the password check */
};

struct metrics_server {
	struct MHD_Daemon *d;
	struct auth *auth;

	pthread_mutex_t lock;	/* page */
	struct page *page;

	pthread_mutex_t clock;	/* conns, clients, counters; reaper */
	pthread_cond_t reap_cond;
	struct conn *conns;
	unsigned int nr_conns, nr_doomed;
	struct clients *clients;
	unsigned long refused_client, refused_full, evicted, expired,
		stalled, limited;
	unsigned char last_refused[CLIENT_KEY_SIZE];	/* for the log */
	double reported;
	pthread_t reaper;
	bool reaper_started, stopping;

	char *tls_key, *tls_cert;
	int fd;			/* listening socket until the daemon runs */
	unsigned int flags;	/* MHD_USE_* */
	unsigned int want_connections, cap, mhd_limit, per_client;
	unsigned int timeout, head_timeout, stall_timeout;
	bool loopback, anonymous;
	char listen[64];	/* as given, for messages */
	unsigned int port;
	char last_log[256];	/* libmicrohttpd's last message */
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int metrics_parse_listen(const char *s, struct sockaddr_storage *ss)
{
	char host[64];
	const char *colon, *h = s;
	unsigned long port;
	size_t hl;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		h = s + 1;
		hl = rb - h;
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hl = colon - s;
	}
	if (!hl || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || errno || port > 65535)
		return -EINVAL;
	if (*s != '[') {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		return inet_pton(AF_INET, host, &in->sin_addr) == 1 ? 0 :
								      -EINVAL;
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	return inet_pton(AF_INET6, host, &in6->sin6_addr) == 1 ? 0 : -EINVAL;
}

bool metrics_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a =
			&((const struct sockaddr_in6 *)ss)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

unsigned int metrics_connection_cap(unsigned long nofile, unsigned int want)
{
	unsigned long reserve = SERVE_FD_RESERVE + nofile / 8, cap;

	if (!want)
		want = SERVE_MAX_CONNECTIONS;
	/* What is left after the reserve, and an eighth of that for the
	 * connections being shut down to make room, which hold their
	 * descriptors until libmicrohttpd has closed them. */
	cap = nofile > reserve ? (nofile - reserve) * 8 / 9 : 0;
	if (cap < 4)
		cap = 4;
	return cap < want ? (unsigned int)cap : want;
}

/* A whole small file, NUL-terminated, for the TLS options. */
static int read_small(const char *path, char **out)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;
	int err;

	if (!f) {
		err = -errno;
		pr_warn("metrics: cannot open '%s': %s", path, strerror(-err));
		return err;
	}
	buf = malloc(MAX_PAGE_FILE + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, MAX_PAGE_FILE + 1, f);
	err = ferror(f) ? -EIO : n > MAX_PAGE_FILE ? -EFBIG : 0;
	fclose(f);
	if (err) {
		pr_warn("metrics: cannot read '%s': %s", path, strerror(-err));
		free(buf);
		return err;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

/* --- connections -------------------------------------------------------- */

/* Shut @k down; libmicrohttpd closes it. With s->clock held. */
static void doom(struct metrics_server *s, struct conn *k)
{
	if (k->doomed)
		return;
	k->doomed = true;
	s->nr_doomed++;
	shutdown(k->fd, SHUT_RDWR);
}

static struct conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* Accept policy: the client's share, and room (made if need be). */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr,
				 socklen_t addrlen)
{
	struct metrics_server *s = cls;
	unsigned char key[CLIENT_KEY_SIZE];
	struct conn *k, *oldest = NULL;
	bool ok = true;

	client_key(addr, key);
	pthread_mutex_lock(&s->clock);
	if (clients_conns(s->clients, key) >= s->per_client) {
		s->refused_client++;
		memcpy(s->last_refused, key, CLIENT_KEY_SIZE);
		ok = false;
	} else if (s->nr_conns - s->nr_doomed >= s->cap) {
		for (k = s->conns; k; k = k->next)
			if (k->phase == PH_HEAD && !k->doomed &&
			    (!oldest || k->since < oldest->since))
				oldest = k;
		if (oldest && s->nr_conns < s->mhd_limit) {
			doom(s, oldest);
			s->evicted++;
		} else {
			s->refused_full++;
			ok = false;
		}
	}
	pthread_mutex_unlock(&s->clock);
	return ok ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **ctx,
			  enum MHD_ConnectionNotificationCode what)
{
	struct metrics_server *s = cls;
	const union MHD_ConnectionInfo *ci;
	struct conn *k = *ctx;
	double now = mono();

	if (what == MHD_CONNECTION_NOTIFY_STARTED) {
		int sndbuf = SERVE_SNDBUF;

		k = calloc(1, sizeof(*k));
		if (!k)
			return;	/* served, untracked */
		k->c = c;
		k->s = s;
		ci = MHD_get_connection_info(c,
					     MHD_CONNECTION_INFO_CONNECTION_FD);
		k->fd = ci ? ci->connect_fd : -1;
		ci = MHD_get_connection_info(c,
					     MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		client_key(ci ? ci->client_addr : NULL, k->key);
		k->since = now;
		if (k->fd >= 0)
			setsockopt(k->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf,
				   sizeof(sndbuf));
		pthread_mutex_lock(&s->clock);
		/* The table holds twice the connections: room for all. */
		k->counted = !clients_conn_add(s->clients, k->key, now);
		k->next = s->conns;
		if (s->conns)
			s->conns->prev = k;
		s->conns = k;
		s->nr_conns++;
		pthread_mutex_unlock(&s->clock);
		*ctx = k;
		return;
	}
	if (!k)
		return;
	pthread_mutex_lock(&s->clock);
	if (k->prev)
		k->prev->next = k->next;
	else
		s->conns = k->next;
	if (k->next)
		k->next->prev = k->prev;
	s->nr_conns--;
	if (k->doomed)
		s->nr_doomed--;
	if (k->counted)
		clients_conn_del(s->clients, k->key, now);
	pthread_mutex_unlock(&s->clock);
	/* Bytes the client never read: drop them with a reset rather than
	 * leave them to the kernel for minutes. An answer closed right
	 * after it was queued (Connection: close) is still on its way. */
	if (k->fd >= 0) {
		int outq = 0;

		if (k->doomed ||
		    (!ioctl(k->fd, SIOCOUTQ, &outq) && outq > 0 &&
		     (k->phase != PH_HEAD || now - k->answered > LINGER_GRACE))) {
			struct linger l = { .l_onoff = 1, .l_linger = 0 };

			setsockopt(k->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
	}
	*ctx = NULL;
	free(k);
}

/* A request is over: the next head's clock starts. */
static void on_completed(void *cls, struct MHD_Connection *c, void **state,
			 enum MHD_RequestTerminationCode toe)
{
	struct metrics_server *s = cls;
	struct conn *k = conn_of(c);

	if (!k)
		return;
	pthread_mutex_lock(&s->clock);
	k->phase = PH_HEAD;
	k->since = mono();
	pthread_mutex_unlock(&s->clock);
}

static void report(struct metrics_server *s, double now)
{
	unsigned long rc = s->refused_client, rf = s->refused_full,
		      ev = s->evicted, ex = s->expired, st = s->stalled,
		      li = s->limited;
	char who[64] = "";

	if (now - s->reported < REPORT_EVERY)
		return;
	s->reported = now;
	if (!(rc | rf | ev | ex | st | li))
		return;
	s->refused_client = s->refused_full = s->evicted = s->expired =
		s->stalled = s->limited = 0;
	if (rc || li)
		client_key_str(s->last_refused, who, sizeof(who));
	pr_warn("metrics: in the last %d s: refused %lu connections over a "
		"client's %u and %lu with all %u in use, closed %lu to make "
		"room, %lu without a request head in %u s, %lu that did not "
		"read for %u s; %lu password checks over a client's "
		"allowance%s%s",
		REPORT_EVERY, rc, s->per_client, rf, s->cap, ev, ex,
		s->head_timeout, st, s->stall_timeout, li,
		who[0] ? "; one client refused: " : "", who);
}

/* Deadlines no idle timeout enforces. */
static void *reaper(void *arg)
{
	struct metrics_server *s = arg;
	struct timespec ts;
	struct conn *k;
	double now;

	pthread_mutex_lock(&s->clock);
	s->reported = mono();
	while (!s->stopping) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += REAP_EVERY_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->reap_cond, &s->clock, &ts);
		if (s->stopping)
			break;
		now = mono();
		for (k = s->conns; k; k = k->next) {
			int outq = 0;

			if (k->doomed || k->fd < 0)
				continue;
			if (k->phase == PH_HEAD &&
			    now - k->since > s->head_timeout) {
				s->expired++;
				doom(s, k);
				continue;
			}
			if (ioctl(k->fd, SIOCOUTQ, &outq) || outq <= 0) {
				k->outq = 0;
				continue;
			}
			if (outq != k->outq) {
				k->outq = outq;
				k->outq_since = now;
			} else if (now - k->outq_since > s->stall_timeout) {
				s->stalled++;
				doom(s, k);
			}
		}
		report(s, now);
	}
	pthread_mutex_unlock(&s->clock);
	return NULL;
}

/* --- authentication ----------------------------------------------------- */

/* auth_submit()'s hold: the connection waits for the check. */
static void hold(void *ctx)
{
	struct conn *k = ctx;

	MHD_suspend_connection(k->c);
}

/* auth_submit()'s done, on auth.c's thread. */
static void checked(void *ctx, enum auth_verdict v)
{
	struct conn *k = ctx;
	struct metrics_server *s = k->s;
	double now = mono();

	pthread_mutex_lock(&s->clock);
	if (v == AUTH_OK)
		clients_refund(s->clients, k->key, now);
	k->verdict = v;
	k->phase = PH_BUSY;
	pthread_mutex_unlock(&s->clock);
	MHD_resume_connection(k->c);
}

/* --- answers ------------------------------------------------------------ */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status,
			     const char *text, const char *header,
			     const char *value)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(text), (void *)text,
					    MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; charset=utf-8");
	if (header)
		MHD_add_response_header(r, header, value);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result deny(struct MHD_Connection *c)
{
	static const char msg[] = "authentication required\n";
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
					    MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	ret = MHD_queue_basic_auth_fail_response(c, REALM, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result retry_later(struct MHD_Connection *c,
				   unsigned int status, int secs)
{
	char v[16];

	snprintf(v, sizeof(v), "%d", secs > 0 ? secs : 1);
	return reply(c, status,
		     status == MHD_HTTP_TOO_MANY_REQUESTS ?
			     "too many password checks; try again later\n" :
			     "busy checking passwords; try again later\n",
		     MHD_HTTP_HEADER_RETRY_AFTER, v);
}

static void page_put(void *arg)
{
	struct page *p = arg;

	if (p && atomic_fetch_sub(&p->refs, 1) == 1) {
		free(p->data);
		free(p);
	}
}

static const char landing[] =
	"<html><head><title>tollgate</title></head><body>\n"
	"<h1>tollgate</h1>\n"
	"<p><a href=\"/metrics\">Metrics</a></p>\n"
	"</body></html>\n";

/* Request states in *state. */
#define ST_HEAD ((void *)1)	/* head seen, body being discarded */
#define ST_AUTH ((void *)2)	/* suspended for a password check */

/*
 * Basic authentication. Returns MHD_YES with *@pass true to go on, or
 * what answering (401, 429, 503) or suspending returned.
 */
static enum MHD_Result authenticate(struct metrics_server *s,
				    struct MHD_Connection *c, struct conn *k,
				    void **state, bool *pass_ok)
{
	unsigned char digest[AUTH_DIGEST_SIZE];
	char *pass = NULL, *user;
	enum MHD_Result ret = MHD_YES;
	enum auth_verdict v;
	int wait, err;

	*pass_ok = false;
	if (*state == ST_AUTH) {
		/* Resumed: the check's word. */
		pthread_mutex_lock(&s->clock);
		v = k->verdict;
		pthread_mutex_unlock(&s->clock);
		*state = ST_HEAD;
		if (v == AUTH_OK)
			*pass_ok = true;
		else if (v == AUTH_DOWN)
			return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				     "shutting down\n", NULL, NULL);
		else
			return deny(c);
		return MHD_YES;
	}
	user = MHD_basic_auth_get_username_password(c, &pass);
	if (!user || !pass) {
		ret = deny(c);
		goto out;
	}
	if (auth_remembered(s->auth, user, pass, digest)) {
		*pass_ok = true;
		goto out;
	}
	if (!k) {
		ret = reply(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "out of memory\n", NULL, NULL);
		goto out;
	}
	pthread_mutex_lock(&s->clock);
	wait = clients_take(s->clients, k->key, mono());
	if (wait) {
		s->limited++;
		memcpy(s->last_refused, k->key, CLIENT_KEY_SIZE);
	} else {
		k->phase = PH_AUTH;
		k->verdict = AUTH_BAD;
	}
	pthread_mutex_unlock(&s->clock);
	if (wait) {
		ret = retry_later(c, MHD_HTTP_TOO_MANY_REQUESTS, wait);
		goto out;
	}
	err = auth_submit(s->auth, user, pass, digest, hold, checked, k);
	if (!err) {
		*state = ST_AUTH;
		goto out;
	}
	pthread_mutex_lock(&s->clock);
	clients_refund(s->clients, k->key, mono());
	k->phase = PH_BUSY;
	pthread_mutex_unlock(&s->clock);
	if (err == -EBUSY)
		ret = retry_later(c, MHD_HTTP_SERVICE_UNAVAILABLE, 1);
	else
		ret = reply(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "cannot check passwords now\n", NULL, NULL);
out:
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		MHD_free(pass);
	}
	if (user)
		MHD_free(user);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_len, void **state)
{
	struct metrics_server *s = cls;
	bool head = !strcmp(method, MHD_HTTP_METHOD_HEAD);
	bool get = !strcmp(method, MHD_HTTP_METHOD_GET);
	struct conn *k = conn_of(c);
	struct MHD_Response *r;
	enum MHD_Result ret;
	struct page *p;
	bool need_auth, ok;

	/* First call: headers only. Answer then; a body is never read. */
	if (!*state) {
		*state = ST_HEAD;
		if (!get && !head)
			goto answer;	/* 405 before any body arrives */
		return MHD_YES;
	}
	if (*upload_len) {
		*upload_len = 0;	/* discard a body */
		return MHD_YES;
	}
answer:
	/* The request is in: the head's deadline no longer applies. */
	if (k) {
		pthread_mutex_lock(&s->clock);
		k->phase = PH_BUSY;
		k->answered = mono();
		pthread_mutex_unlock(&s->clock);
	}
	/* HTTP/1.1 requires a Host header (RFC 9112 3.2); libmicrohttpd
	 * lets it pass. */
	if (!strcmp(version, MHD_HTTP_VERSION_1_1) &&
	    !MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_HOST))
		return reply(c, MHD_HTTP_BAD_REQUEST, "no Host header\n", NULL,
			     NULL);
	need_auth = auth_nr_users(s->auth) > 0;
	if (need_auth || *state == ST_AUTH) {
		ret = authenticate(s, c, k, state, &ok);
		if (!ok)
			return ret;
	}
	if (!strcmp(url, "/")) {
		if (!get && !head)
			return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
				     "method not allowed\n",
				     MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
		r = MHD_create_response_from_buffer(sizeof(landing) - 1,
						    (void *)landing,
						    MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					"text/html; charset=utf-8");
		ret = MHD_queue_response(c, MHD_HTTP_OK, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "not found; try /metrics\n",
			     NULL, NULL);
	if (!get && !head)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			     "method not allowed\n", MHD_HTTP_HEADER_ALLOW,
			     "GET, HEAD");

	pthread_mutex_lock(&s->lock);
	p = s->page;
	if (p)
		atomic_fetch_add(&p->refs, 1);
	pthread_mutex_unlock(&s->lock);
	if (!p)
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			     "no collection yet\n", NULL, NULL);
	r = MHD_create_response_from_buffer_with_free_callback_cls(
		p->len, p->data, page_put, p);
	if (!r) {
		page_put(p);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* libmicrohttpd's messages: about clients, so only with -v; the last
 * one is kept for when the daemon does not start. */
static void on_log(void *cls, const char *fmt, va_list ap)
{
	struct metrics_server *s = cls;
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (!s->d)
		memcpy(s->last_log, msg, sizeof(msg));
	pr_debug("metrics: %s", msg);
}

/* --- users -------------------------------------------------------------- */

int metrics_server_set_users(struct metrics_server *s,
			     const struct tg_metrics_user *users, size_t nr)
{
	if (!nr && !s->loopback && !s->anonymous &&
	    auth_nr_users(s->auth)) {
		pr_warn("metrics: NOT removing the last user: %s is reachable "
			"beyond loopback, and without users anyone who reaches "
			"it reads every tenant's traffic; the users in force "
			"stay (set metrics.anonymous: true to serve it open)",
			s->listen);
		return -EACCES;
	}
	return auth_set_users(s->auth, users, nr);
}

/* --- life cycle --------------------------------------------------------- */

/* The port of @ss, for libmicrohttpd's messages. */
static uint16_t listen_port(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET6 ?
			     ((const struct sockaddr_in6 *)ss)->sin6_port :
			     ((const struct sockaddr_in *)ss)->sin_port);
}

/* Bind and listen on @ss: errors (a port in use) come out here, before
 * the agent attaches anything. */
static int open_socket(struct metrics_server *s,
		       const struct sockaddr_storage *ss, const char *addr)
{
	socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						   sizeof(struct sockaddr_in);
	struct sockaddr_storage bound;
	int one = 1, sndbuf = SERVE_SNDBUF, err;

	s->fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		       0);
	if (s->fd < 0)
		goto fail;
	/* Accepted sockets inherit the send buffer: bounded from their
	 * first byte on. */
	if (setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf,
		       sizeof(sndbuf)) ||
	    (ss->ss_family == AF_INET6 &&
	     setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(s->fd, (const struct sockaddr *)ss, len) ||
	    listen(s->fd, SOMAXCONN))
		goto fail;
	len = sizeof(bound);
	if (getsockname(s->fd, (struct sockaddr *)&bound, &len))
		goto fail;
	s->port = listen_port(&bound);
	return 0;
fail:
	err = -errno;
	pr_warn("metrics: cannot listen on %s: %s", addr, strerror(-err));
	return err;
}

int metrics_server_open(struct metrics_server **out,
			const struct metrics_server_opts *o)
{
	struct sockaddr_storage ss;
	struct metrics_server *s;
	int err;

	*out = NULL;
	if (metrics_parse_listen(o->listen, &ss)) {
		pr_warn("metrics: cannot listen on '%s': not ADDR:PORT or "
			"[ADDR6]:PORT", o->listen);
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->clock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->reap_cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	s->flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
		   MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	if (ss.ss_family == AF_INET6)
		s->flags |= MHD_USE_IPv6;
	s->want_connections = o->max_connections ? o->max_connections :
						   SERVE_MAX_CONNECTIONS;
	s->per_client = o->per_client ? o->per_client : SERVE_PER_CLIENT;
	s->timeout = o->timeout ? o->timeout : SERVE_TIMEOUT;
	s->head_timeout = o->head_timeout ? o->head_timeout :
					    SERVE_HEAD_TIMEOUT;
	s->stall_timeout = o->stall_timeout ? o->stall_timeout :
					      SERVE_STALL_TIMEOUT;
	s->loopback = metrics_is_loopback(&ss);
	s->anonymous = o->anonymous;
	snprintf(s->listen, sizeof(s->listen), "%s", o->listen);
	s->auth = auth_new();
	if (!s->auth) {
		err = -errno;
		goto fail;
	}
	if (!s->loopback && !o->nr_users) {
		if (!o->anonymous) {
			pr_warn("metrics: refusing to serve %s without "
				"authentication: it is reachable beyond "
				"loopback, and anyone who reaches it would read "
				"every tenant's traffic; add metrics.users "
				"(with tls), listen on 127.0.0.1, or set "
				"metrics.anonymous: true",
				o->listen);
			err = -EACCES;
			goto fail;
		}
		pr_warn("metrics: WARNING: serving %s to anyone who can reach "
			"it, without authentication (metrics.anonymous)",
			o->listen);
	}
	err = metrics_server_set_users(s, o->users, o->nr_users);
	if (err)
		goto fail;
	if (o->tls_cert) {
		if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
			pr_warn("metrics: this libmicrohttpd has no TLS");
			err = -ENOTSUP;
			goto fail;
		}
		/* Read now: the key may be readable by root alone. */
		err = read_small(o->tls_cert, &s->tls_cert);
		if (!err)
			err = read_small(o->tls_key, &s->tls_key);
		if (err)
			goto fail;
		s->flags |= MHD_USE_TLS;
	}
	err = open_socket(s, &ss, o->listen);
	if (err)
		goto fail;
	*out = s;
	return 0;
fail:
	metrics_server_stop(s);
	return err;
}

int metrics_server_run(struct metrics_server *s)
{
	struct rlimit rl = { .rlim_cur = 1024 };
	int err;

	/* The cap fits the descriptors this process may hold now, after a
	 * privilege drop, leaving the rest of the agent its share. */
	getrlimit(RLIMIT_NOFILE, &rl);
	s->cap = metrics_connection_cap(rl.rlim_cur, s->want_connections);
	s->mhd_limit = s->cap + s->cap / 8 + 2;
	s->clients = clients_new(s->mhd_limit, SERVE_AUTH_BURST,
				 SERVE_AUTH_REFILL);
	if (!s->clients)
		return -errno;
	err = auth_start(s->auth);
	if (err)
		return err;
	err = pthread_create(&s->reaper, NULL, reaper, s);
	if (err)
		return -err;
	s->reaper_started = true;

	/* MHD_start_daemon() takes options as a va_list: TLS or not, the
	 * list must end in MHD_OPTION_END, so the TLS pair comes last. */
	errno = 0;
	s->d = MHD_start_daemon(
		s->flags, s->port, on_accept, s, on_request, s,
		MHD_OPTION_EXTERNAL_LOGGER, on_log, s,
		MHD_OPTION_LISTEN_SOCKET, s->fd,
		MHD_OPTION_THREAD_POOL_SIZE, 2u,
		MHD_OPTION_CONNECTION_LIMIT, s->mhd_limit,
		MHD_OPTION_CONNECTION_TIMEOUT, s->timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		s->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
		s->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, s->tls_key,
		MHD_OPTION_END);
	if (!s->d) {
		err = errno ? -errno : -EIO;
		pr_warn("metrics: cannot serve on %s%s: %s", s->listen,
			s->tls_cert ? " with TLS" : "",
			s->last_log[0] ? s->last_log : strerror(-err));
		return err;
	}
	s->fd = -1;	/* libmicrohttpd's now: it closes it */
	pr_info("metrics: at most %u connections (descriptor limit %llu), "
		"%u per client; request heads within %u s",
		s->cap, (unsigned long long)rl.rlim_cur, s->per_client,
		s->head_timeout);
	return 0;
}

int metrics_server_start(struct metrics_server **out,
			 const struct metrics_server_opts *o)
{
	int err = metrics_server_open(out, o);

	if (!err && (err = metrics_server_run(*out))) {
		metrics_server_stop(*out);
		*out = NULL;
	}
	return err;
}

unsigned int metrics_server_port(const struct metrics_server *s)
{
	return s->port;
}

void metrics_server_publish(struct metrics_server *s, char *page, size_t len)
{
	struct page *p = malloc(sizeof(*p)), *old;

	if (!p) {
		free(page);
		return;	/* the old page stays */
	}
	atomic_init(&p->refs, 1);
	p->data = page;
	p->len = len;
	pthread_mutex_lock(&s->lock);
	old = s->page;
	s->page = p;
	pthread_mutex_unlock(&s->lock);
	page_put(old);
}

void metrics_server_stop(struct metrics_server *s)
{
	if (!s)
		return;
	/* Every suspended connection is resumed before libmicrohttpd
	 * stops: what waits for a check is answered 503. */
	if (s->auth)
		auth_stop(s->auth);
	if (s->reaper_started) {
		pthread_mutex_lock(&s->clock);
		s->stopping = true;
		pthread_cond_signal(&s->reap_cond);
		pthread_mutex_unlock(&s->clock);
		pthread_join(s->reaper, NULL);
	}
	if (s->d)
		MHD_stop_daemon(s->d);
	if (s->fd >= 0)
		close(s->fd);
	auth_free(s->auth);
	clients_free(s->clients);
	page_put(s->page);
	if (s->tls_key) {
		explicit_bzero(s->tls_key, strlen(s->tls_key));
		free(s->tls_key);
	}
	free(s->tls_cert);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->clock);
	pthread_cond_destroy(&s->reap_cond);
	free(s);
}
