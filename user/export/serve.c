// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * serve.c - the export stage's metrics endpoint: GET /metrics over HTTP (or
 * HTTPS), from libmicrohttpd's own threads.
 *
 * The collection loop renders the page and publishes it here; a scrape
 * copies the last page published under a mutex held for a memcpy, so no
 * number of slow or stuck clients can hold up the loop, and no HTTP thread
 * ever reads a BPF map. libmicrohttpd bounds connections and idle time;
 * requests it cannot parse get its own 400 and the server carries on.
 *
 * With users configured, every request needs HTTP basic authentication
 * against the users' bcrypt hashes, checked with crypt_r(3). bcrypt is
 * slow on purpose, so a password that passed is remembered per user as a
 * SHA-256 crypt with a salt made at start: a scrape every few seconds
 * costs one cheap hash, not one bcrypt.
 */
#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>

#include "export/metrics.h"
#include "export/serve.h"
#include "lib/log.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define REALM "tollgate"
#define MAX_PAGE_FILE (1u << 20)	/* TLS key or certificate */

struct user {
	char *name;
	char *hash;		/* bcrypt */
	char *cached;		/* SHA-256 crypt of the last password that
				 * passed, NULL: none yet */
};

struct metrics_server {
	struct MHD_Daemon *d;
	pthread_mutex_t lock;	/* page, users */
	char *page;
	size_t len;
	struct user *users;
	size_t nr_users;
	char salt[48];		/* "$5$rounds=1000$...$" for the cache */
	char *tls_key, *tls_cert;
	int fd;			/* listening socket until the daemon runs */
	unsigned int flags;	/* MHD_USE_* */
	unsigned int max_connections, timeout;
	char listen[64];	/* as given, for messages */
	unsigned int port;
	char last_log[256];	/* libmicrohttpd's last message */
};

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

static bool same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	/* Constant time over the shorter string: hashes are public-length. */
	for (i = 0; i < la && i < lb; i++)
		d |= a[i] ^ b[i];
	return !d;
}

/* Whether @name with @pass may scrape. Called with s->lock held only to
 * find the user; the hashing runs without it. */
static bool authorized(struct metrics_server *s, const char *name,
		       const char *pass)
{
	struct crypt_data *cd;
	char hash[256], cached[256] = "";
	const char *h;
	bool ok = false;
	size_t i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nr_users; i++)
		if (!strcmp(s->users[i].name, name))
			break;
	if (i == s->nr_users) {
		pthread_mutex_unlock(&s->lock);
		return false;
	}
	snprintf(hash, sizeof(hash), "%s", s->users[i].hash);
	if (s->users[i].cached)
		snprintf(cached, sizeof(cached), "%s", s->users[i].cached);
	pthread_mutex_unlock(&s->lock);

	cd = calloc(1, sizeof(*cd));	/* 32 KiB: not on a thread's stack */
	if (!cd)
		return false;
	if (cached[0]) {
		h = crypt_r(pass, s->salt, cd);
		if (h && same(h, cached)) {
			free(cd);
			return true;
		}
	}
	h = crypt_r(pass, hash, cd);
	ok = h && h[0] != '*' && same(h, hash);
	if (ok && (h = crypt_r(pass, s->salt, cd)) && h[0] != '*') {
		char *c = strdup(h);

		pthread_mutex_lock(&s->lock);
		for (i = 0; i < s->nr_users; i++) {
			if (strcmp(s->users[i].name, name) ||
			    strcmp(s->users[i].hash, hash))
				continue;
			free(s->users[i].cached);
			s->users[i].cached = c;
			c = NULL;
			break;
		}
		pthread_mutex_unlock(&s->lock);
		free(c);
	}
	free(cd);
	return ok;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status,
			     const char *text, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(text), (void *)text,
					    MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static const char landing[] =
	"<html><head><title>tollgate</title></head><body>\n"
	"<h1>tollgate</h1>\n"
	"<p><a href=\"/metrics\">Metrics</a></p>\n"
	"</body></html>\n";

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_len, void **state)
{
	struct metrics_server *s = cls;
	bool head = !strcmp(method, MHD_HTTP_METHOD_HEAD);
	bool get = !strcmp(method, MHD_HTTP_METHOD_GET);
	struct MHD_Response *r;
	enum MHD_Result ret;
	bool need_auth;

	/* First call: headers only. Answer then; a body is never read. */
	if (!*state) {
		*state = (void *)1;
		if (!get && !head)
			goto answer;	/* 405 before any body arrives */
		return MHD_YES;
	}
	if (*upload_len) {
		*upload_len = 0;	/* discard a body */
		return MHD_YES;
	}
answer:
	/* HTTP/1.1 requires a Host header (RFC 9112 3.2); libmicrohttpd
	 * lets it pass. */
	if (!strcmp(version, MHD_HTTP_VERSION_1_1) &&
	    !MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_HOST))
		return reply(c, MHD_HTTP_BAD_REQUEST, "no Host header\n", NULL);
	pthread_mutex_lock(&s->lock);
	need_auth = s->nr_users > 0;
	pthread_mutex_unlock(&s->lock);
	if (need_auth) {
		char *pass = NULL;
		char *user = MHD_basic_auth_get_username_password(c, &pass);
		bool ok = user && pass && authorized(s, user, pass);

		if (pass) {
			explicit_bzero(pass, strlen(pass));
			MHD_free(pass);
		}
		if (user)
			MHD_free(user);
		if (!ok) {
			static const char msg[] = "authentication required\n";

			r = MHD_create_response_from_buffer(
				sizeof(msg) - 1, (void *)msg,
				MHD_RESPMEM_PERSISTENT);
			if (!r)
				return MHD_NO;
			ret = MHD_queue_basic_auth_fail_response(c, REALM, r);
			MHD_destroy_response(r);
			return ret;
		}
	}
	if (!strcmp(url, "/")) {
		if (!get && !head)
			return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
				     "method not allowed\n", "GET, HEAD");
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
			     NULL);
	if (!get && !head)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			     "method not allowed\n", "GET, HEAD");

	pthread_mutex_lock(&s->lock);
	if (!s->page) {
		pthread_mutex_unlock(&s->lock);
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			     "no collection yet\n", NULL);
	}
	r = MHD_create_response_from_buffer(s->len, s->page,
					    MHD_RESPMEM_MUST_COPY);
	pthread_mutex_unlock(&s->lock);
	if (!r)
		return MHD_NO;
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

static void free_users(struct user *u, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		free(u[i].name);
		free(u[i].hash);
		free(u[i].cached);
	}
	free(u);
}

int metrics_server_set_users(struct metrics_server *s,
			     const struct tg_metrics_user *users, size_t nr)
{
	struct user *u = calloc(nr + 1, sizeof(*u)), *old;
	size_t i, old_nr;

	if (!u)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		u[i].name = strdup(users[i].name);
		u[i].hash = strdup(users[i].hash);
		if (!u[i].name || !u[i].hash) {
			free_users(u, i + 1);
			return -ENOMEM;
		}
	}
	pthread_mutex_lock(&s->lock);
	old = s->users;
	old_nr = s->nr_users;
	s->users = u;
	s->nr_users = nr;
	pthread_mutex_unlock(&s->lock);
	free_users(old, old_nr);
	return 0;
}

static int make_salt(char *buf, size_t len)
{
	static const char b64[] =
		"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned char r[16];
	char s[17];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		return -errno;
	for (i = 0; i < sizeof(r); i++)
		s[i] = b64[r[i] & 63];
	s[16] = '\0';
	snprintf(buf, len, "$5$rounds=1000$%s$", s);
	return 0;
}

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
	int one = 1, err;

	s->fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		       0);
	if (s->fd < 0)
		goto fail;
	if (setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
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
	s->flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
		   MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		s->flags |= MHD_USE_IPv6;
	s->max_connections = o->max_connections ? o->max_connections : 1024;
	s->timeout = o->timeout ? o->timeout : 10;
	snprintf(s->listen, sizeof(s->listen), "%s", o->listen);
	err = make_salt(s->salt, sizeof(s->salt));
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
	int err;

	/* MHD_start_daemon() takes options as a va_list: TLS or not, the
	 * list must end in MHD_OPTION_END, so the TLS pair comes last. */
	errno = 0;
	s->d = MHD_start_daemon(
		s->flags, s->port, NULL, NULL, on_request, s,
		MHD_OPTION_LISTEN_SOCKET, s->fd,
		MHD_OPTION_THREAD_POOL_SIZE, 2u,
		MHD_OPTION_CONNECTION_LIMIT, s->max_connections,
		MHD_OPTION_CONNECTION_TIMEOUT, s->timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
		MHD_OPTION_EXTERNAL_LOGGER, on_log, s,
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
	char *old;

	pthread_mutex_lock(&s->lock);
	old = s->page;
	s->page = page;
	s->len = len;
	pthread_mutex_unlock(&s->lock);
	free(old);
}

void metrics_server_stop(struct metrics_server *s)
{
	if (!s)
		return;
	if (s->d)
		MHD_stop_daemon(s->d);
	if (s->fd >= 0)
		close(s->fd);
	free_users(s->users, s->nr_users);
	free(s->page);
	if (s->tls_key) {
		explicit_bzero(s->tls_key, strlen(s->tls_key));
		free(s->tls_key);
	}
	free(s->tls_cert);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
