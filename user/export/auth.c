// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * auth.c - the metrics endpoint's password checks. See auth.h.
 *
 * Hashes are checked with crypt_r(3) (libcrypt's bcrypt); HMAC-SHA-256
 * and constant-time comparison come from GnuTLS, which libmicrohttpd
 * links for its TLS anyway.
 */
#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "export/auth.h"

struct user {
	char *name;
	char *hash;		/* bcrypt */
};

/* A password that passed: the HMAC of "user\0password", for the user's
 * hash of the time. */
struct remembered {
	unsigned char digest[AUTH_DIGEST_SIZE];
	char *name, *hash;	/* NULL: a free slot */
	double used;
};

struct job {
	char *name, *pass;
	unsigned char digest[AUTH_DIGEST_SIZE];
	void (*done)(void *ctx, enum auth_verdict v);
	void *ctx;
};

struct auth {
	pthread_mutex_t lock;	/* users, remembered */
	struct user *users;
	size_t nr_users;
	char *dummy;		/* the slowest user's hash */
	struct remembered mem[AUTH_REMEMBERED];
	unsigned char key[32];	/* of the HMAC */

	pthread_mutex_t qlock;	/* the queue */
	pthread_cond_t qcond;
	struct job queue[AUTH_QUEUE];
	size_t q_head, q_len;
	bool running, stop;
	pthread_t thread;
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void free_users(struct user *u, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		free(u[i].name);
		free(u[i].hash);
	}
	free(u);
}

static void forget(struct remembered *m)
{
	free(m->name);
	free(m->hash);
	memset(m, 0, sizeof(*m));
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

struct auth *auth_new(void)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	if (getrandom(a->key, sizeof(a->key), 0) != sizeof(a->key)) {
		free(a);
		return NULL;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->qlock, NULL);
	pthread_cond_init(&a->qcond, NULL);
	return a;
}

/* The bcrypt cost of @hash ("$2b$12$..."), 0 when it has none. */
static unsigned int bcrypt_cost(const char *hash)
{
	if (strlen(hash) < 7 || hash[0] != '$' || hash[1] != '2' ||
	    hash[3] != '$' || hash[4] < '0' || hash[4] > '9' ||
	    hash[5] < '0' || hash[5] > '9' || hash[6] != '$')
		return 0;
	return (hash[4] - '0') * 10 + (hash[5] - '0');
}

int auth_set_users(struct auth *a, const struct tg_metrics_user *users,
		   size_t nr)
{
	struct user *u, *old;
	char *dummy = NULL;
	size_t i, j, old_nr;

	u = calloc(nr + 1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		u[i].name = strdup(users[i].name);
		u[i].hash = strdup(users[i].hash);
		if (!u[i].name || !u[i].hash) {
			free_users(u, i + 1);
			return -ENOMEM;
		}
		if (!dummy || bcrypt_cost(u[i].hash) > bcrypt_cost(dummy))
			dummy = u[i].hash;
	}
	if (dummy && !(dummy = strdup(dummy))) {
		free_users(u, nr);
		return -ENOMEM;
	}
	pthread_mutex_lock(&a->lock);
	old = a->users;
	old_nr = a->nr_users;
	a->users = u;
	a->nr_users = nr;
	free(a->dummy);
	a->dummy = dummy;
	/* A password remembered for a hash no longer configured is not
	 * one any more. */
	for (i = 0; i < AUTH_REMEMBERED; i++) {
		struct remembered *m = &a->mem[i];

		if (!m->name)
			continue;
		for (j = 0; j < nr; j++)
			if (!strcmp(u[j].name, m->name) &&
			    !strcmp(u[j].hash, m->hash))
				break;
		if (j == nr)
			forget(m);
	}
	pthread_mutex_unlock(&a->lock);
	free_users(old, old_nr);
	return 0;
}

size_t auth_nr_users(struct auth *a)
{
	size_t nr;

	pthread_mutex_lock(&a->lock);
	nr = a->nr_users;
	pthread_mutex_unlock(&a->lock);
	return nr;
}

/* HMAC-SHA-256 of "user\0pass"; on failure a value no HMAC is likely to
 * take, which matches nothing remembered. */
static void digest_of(const struct auth *a, const char *user,
		      const char *pass, unsigned char out[AUTH_DIGEST_SIZE])
{
	size_t ul = strlen(user), n = ul + 1 + strlen(pass);
	char *buf = malloc(n);

	if (buf) {
		memcpy(buf, user, ul + 1);
		memcpy(buf + ul + 1, pass, n - ul - 1);
	}
	if (!buf || gnutls_hmac_fast(GNUTLS_MAC_SHA256, a->key,
				     sizeof(a->key), buf, n, out)) {
		memset(out, 0xa5, AUTH_DIGEST_SIZE);
	}
	if (buf) {
		explicit_bzero(buf, n);
		free(buf);
	}
}

bool auth_remembered(struct auth *a, const char *user, const char *pass,
		     unsigned char digest[AUTH_DIGEST_SIZE])
{
	bool found = false;
	size_t i;

	digest_of(a, user, pass, digest);
	pthread_mutex_lock(&a->lock);
	/* Every slot, free or not: the time says nothing of which. */
	for (i = 0; i < AUTH_REMEMBERED; i++) {
		struct remembered *m = &a->mem[i];
		bool eq = !gnutls_memcmp(m->digest, digest, AUTH_DIGEST_SIZE);

		if (eq && m->name) {
			found = true;
			m->used = mono();
		}
	}
	pthread_mutex_unlock(&a->lock);
	return found;
}

static void remember(struct auth *a, const char *name, const char *hash,
		     const unsigned char digest[AUTH_DIGEST_SIZE])
{
	struct remembered *slot = NULL;
	size_t i;

	pthread_mutex_lock(&a->lock);
	for (i = 0; i < AUTH_REMEMBERED; i++) {
		struct remembered *m = &a->mem[i];

		if (m->name && !memcmp(m->digest, digest, AUTH_DIGEST_SIZE))
			goto out;	/* checked twice meanwhile */
		if (!slot || !m->name || (slot->name && m->used < slot->used))
			slot = m;
	}
	/* Still the user's hash? It may have changed during the check. */
	for (i = 0; i < a->nr_users; i++)
		if (!strcmp(a->users[i].name, name) &&
		    !strcmp(a->users[i].hash, hash))
			break;
	if (i == a->nr_users)
		goto out;
	forget(slot);
	slot->name = strdup(name);
	slot->hash = strdup(hash);
	if (!slot->name || !slot->hash) {
		forget(slot);
		goto out;
	}
	memcpy(slot->digest, digest, AUTH_DIGEST_SIZE);
	slot->used = mono();
out:
	pthread_mutex_unlock(&a->lock);
}

enum auth_verdict auth_check(struct auth *a, const char *user,
			     const char *pass, const unsigned char *digest)
{
	unsigned char d[AUTH_DIGEST_SIZE];
	struct crypt_data *cd;
	char *hash = NULL;
	bool known = false, ok = false;
	const char *h;
	size_t i;

	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->nr_users; i++)
		if (!strcmp(a->users[i].name, user)) {
			hash = strdup(a->users[i].hash);
			known = true;
			break;
		}
	if (!known && a->dummy)
		hash = strdup(a->dummy);
	pthread_mutex_unlock(&a->lock);
	cd = calloc(1, sizeof(*cd));	/* 32 KiB: not on a thread's stack */
	if (hash && cd) {
		h = crypt_r(pass, hash, cd);
		/* Hashes are of public length: only their bytes are
		 * secret. */
		ok = h && h[0] != '*' && strlen(h) == strlen(hash) &&
		     !gnutls_memcmp(h, hash, strlen(hash)) && known;
	}
	if (ok) {
		if (!digest) {
			digest_of(a, user, pass, d);
			digest = d;
		}
		remember(a, user, hash, digest);
	}
	if (cd) {
		explicit_bzero(cd, sizeof(*cd));
		free(cd);
	}
	free(hash);
	return ok ? AUTH_OK : AUTH_BAD;
}

static void *checker(void *arg)
{
	struct auth *a = arg;
	struct job j;

	pthread_mutex_lock(&a->qlock);
	for (;;) {
		while (!a->q_len && !a->stop)
			pthread_cond_wait(&a->qcond, &a->qlock);
		if (!a->q_len)
			break;
		j = a->queue[a->q_head];
		a->q_head = (a->q_head + 1) % AUTH_QUEUE;
		a->q_len--;
		bool stop = a->stop;

		pthread_mutex_unlock(&a->qlock);
		j.done(j.ctx, stop ? AUTH_DOWN :
				     auth_check(a, j.name, j.pass, j.digest));
		wipe_free(j.pass);
		free(j.name);
		pthread_mutex_lock(&a->qlock);
	}
	pthread_mutex_unlock(&a->qlock);
	return NULL;
}

int auth_start(struct auth *a)
{
	int err;

	pthread_mutex_lock(&a->qlock);
	a->stop = false;
	err = a->running ? 0 : -pthread_create(&a->thread, NULL, checker, a);
	if (!err)
		a->running = true;
	pthread_mutex_unlock(&a->qlock);
	return err;
}

void auth_stop(struct auth *a)
{
	bool running;

	pthread_mutex_lock(&a->qlock);
	a->stop = true;
	running = a->running;
	a->running = false;
	pthread_cond_signal(&a->qcond);
	pthread_mutex_unlock(&a->qlock);
	if (running)
		pthread_join(a->thread, NULL);
}

int auth_submit(struct auth *a, const char *user, const char *pass,
		const unsigned char digest[AUTH_DIGEST_SIZE],
		void (*hold)(void *ctx),
		void (*done)(void *ctx, enum auth_verdict v), void *ctx)
{
	struct job j = { .done = done, .ctx = ctx };
	int err = 0;

	j.name = strdup(user);
	j.pass = strdup(pass);
	if (!j.name || !j.pass) {
		err = -ENOMEM;
		goto fail;
	}
	memcpy(j.digest, digest, AUTH_DIGEST_SIZE);
	pthread_mutex_lock(&a->qlock);
	if (!a->running || a->stop)
		err = -ESHUTDOWN;
	else if (a->q_len == AUTH_QUEUE)
		err = -EBUSY;
	if (!err) {
		hold(ctx);
		a->queue[(a->q_head + a->q_len) % AUTH_QUEUE] = j;
		a->q_len++;
		pthread_cond_signal(&a->qcond);
	}
	pthread_mutex_unlock(&a->qlock);
	if (!err)
		return 0;
fail:
	wipe_free(j.pass);
	free(j.name);
	return err;
}

void auth_free(struct auth *a)
{
	size_t i;

	if (!a)
		return;
	auth_stop(a);
	free_users(a->users, a->nr_users);
	free(a->dummy);
	for (i = 0; i < AUTH_REMEMBERED; i++)
		forget(&a->mem[i]);
	explicit_bzero(a->key, sizeof(a->key));
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->qlock);
	pthread_cond_destroy(&a->qcond);
	free(a);
}
