// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_auth.c - the metrics endpoint's password checks: right and wrong
 * passwords, unknown users checked as long as known ones, passwords that
 * passed remembered (and forgotten with their hash), the checking thread
 * (a check is held before the thread sees it, a full queue says so, a
 * stop answers what waits).
 */
#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "export/auth.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bcrypt(const char *pw, unsigned int cost, char *hash, size_t len)
{
	char salt[64];

	assert_non_null(crypt_gensalt_rn("$2b$", cost, NULL, 0, salt,
					 sizeof(salt)));
	snprintf(hash, len, "%s", crypt(pw, salt));
	assert_int_equal(hash[0], '$');
}

static void test_check(void **state)
{
	struct tg_metrics_user u[2] = { { .name = "prom" }, { .name = "ops" } };
	unsigned char d[AUTH_DIGEST_SIZE];
	struct auth *a = auth_new();
	char h1[128], h2[128];

	assert_non_null(a);
	bcrypt("pw", 4, h1, sizeof(h1));
	bcrypt("other", 4, h2, sizeof(h2));
	u[0].hash = h1;
	u[1].hash = h2;
	/* No users: nobody passes. */
	assert_int_equal(auth_check(a, "prom", "pw", NULL), AUTH_BAD);
	assert_int_equal(auth_set_users(a, u, 2), 0);
	assert_int_equal(auth_nr_users(a), 2);

	assert_false(auth_remembered(a, "prom", "pw", d));
	assert_int_equal(auth_check(a, "prom", "wrong", NULL), AUTH_BAD);
	assert_int_equal(auth_check(a, "nobody", "pw", NULL), AUTH_BAD);
	/* Another user's password is not this one's. */
	assert_int_equal(auth_check(a, "prom", "other", NULL), AUTH_BAD);
	assert_int_equal(auth_check(a, "ops", "other", NULL), AUTH_OK);
	assert_int_equal(auth_check(a, "prom", "pw", NULL), AUTH_OK);
	assert_true(auth_remembered(a, "prom", "pw", d));
	assert_true(auth_remembered(a, "ops", "other", d));
	/* Not for another user, nor another password. */
	assert_false(auth_remembered(a, "ops", "pw", d));
	assert_false(auth_remembered(a, "prom", "pw ", d));
	assert_false(auth_remembered(a, "prom", "", d));
	/* A name and password that run into each other differ. */
	assert_false(auth_remembered(a, "pro", "mpw", d));

	/* A new hash for prom forgets its password, not ops's. */
	u[0].hash = h2;
	assert_int_equal(auth_set_users(a, u, 2), 0);
	assert_false(auth_remembered(a, "prom", "pw", d));
	assert_true(auth_remembered(a, "ops", "other", d));
	assert_int_equal(auth_set_users(a, NULL, 0), 0);
	assert_false(auth_remembered(a, "ops", "other", d));
	auth_free(a);
}

static int cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

/* Median seconds of 9 checks of each of @users[0..2], interleaved so
 * that a slower moment of the machine weighs on all alike. */
static void timed(struct auth *a, const char *const users[3], double med[3])
{
	double t[3][9];
	int i, u;

	for (i = 0; i < 9; i++)
		for (u = 0; u < 3; u++) {
			double t0 = now();

			assert_int_equal(auth_check(a, users[u], "wrong", NULL),
					 AUTH_BAD);
			t[u][i] = now() - t0;
		}
	for (u = 0; u < 3; u++) {
		qsort(t[u], 9, sizeof(t[u][0]), cmp);
		med[u] = t[u][4];
	}
}

static void test_same_time(void **state)
{
	struct tg_metrics_user u[2] = { { .name = "fast" }, { .name = "prom" } };
	struct auth *a = auth_new();
	static const char *const users[3] = { "prom", "nosuchuser", "fast" };
	char h1[128], h2[128];
	double med[3];

	assert_non_null(a);
	/* The slowest hash is the one an unknown user is checked against,
	 * whatever the order. */
	bcrypt("x", 4, h1, sizeof(h1));
	bcrypt("pw", 9, h2, sizeof(h2));
	u[0].hash = h1;
	u[1].hash = h2;
	assert_int_equal(auth_set_users(a, u, 2), 0);
	timed(a, users, med);
	print_message("known %.1f ms, unknown %.1f ms, cost 4 %.1f ms\n",
		      med[0] * 1e3, med[1] * 1e3, med[2] * 1e3);
	assert_true(med[0] > 4 * med[2]);
	/* Within noise (a busy machine): an unknown user answered without
	 * bcrypt would take a fraction, as the cost-4 user does. */
	assert_true(med[1] > med[0] * 0.6 && med[1] < med[0] * 1.67);
	auth_free(a);
}

struct waiter {
	pthread_mutex_t lock;
	int held, done, ok, bad, down;
	bool early;		/* done before held */
};

static void on_hold(void *ctx)
{
	struct waiter *w = ctx;

	pthread_mutex_lock(&w->lock);
	w->held++;
	pthread_mutex_unlock(&w->lock);
}

static void on_done(void *ctx, enum auth_verdict v)
{
	struct waiter *w = ctx;

	pthread_mutex_lock(&w->lock);
	if (w->done >= w->held)
		w->early = true;
	w->done++;
	w->ok += v == AUTH_OK;
	w->bad += v == AUTH_BAD;
	w->down += v == AUTH_DOWN;
	pthread_mutex_unlock(&w->lock);
}

static void test_thread(void **state)
{
	struct tg_metrics_user u = { .name = "prom" };
	struct waiter w = { .lock = PTHREAD_MUTEX_INITIALIZER };
	unsigned char d[AUTH_DIGEST_SIZE];
	struct auth *a = auth_new();
	char hash[128];
	int i, n, err;

	assert_non_null(a);
	bcrypt("pw", 6, hash, sizeof(hash));
	u.hash = hash;
	assert_int_equal(auth_set_users(a, &u, 1), 0);
	auth_remembered(a, "prom", "pw", d);
	/* No thread yet. */
	assert_int_equal(auth_submit(a, "prom", "pw", d, on_hold, on_done, &w),
			 -ESHUTDOWN);
	assert_int_equal(w.held, 0);

	assert_int_equal(auth_start(a), 0);
	assert_int_equal(auth_submit(a, "prom", "pw", d, on_hold, on_done, &w),
			 0);
	auth_remembered(a, "prom", "bad", d);
	assert_int_equal(auth_submit(a, "prom", "bad", d, on_hold, on_done, &w),
			 0);
	for (i = 0; i < 500 && w.done < 2; i++)
		usleep(10 * 1000);
	assert_int_equal(w.done, 2);
	assert_int_equal(w.ok, 1);
	assert_int_equal(w.bad, 1);
	assert_false(w.early);
	assert_true(auth_remembered(a, "prom", "pw", d));

	/* Fill the queue: one is being checked, AUTH_QUEUE wait, then
	 * -EBUSY. */
	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.lock, NULL);
	for (n = 0; n < 3 * AUTH_QUEUE; n++) {
		err = auth_submit(a, "prom", "bad", d, on_hold, on_done, &w);
		if (err)
			break;
	}
	assert_int_equal(err, -EBUSY);
	assert_true(n >= AUTH_QUEUE && n <= AUTH_QUEUE + 2);
	/* Stop: what waits is answered AUTH_DOWN, nothing is lost. */
	auth_stop(a);
	assert_int_equal(w.held, n);
	assert_int_equal(w.done, n);
	assert_true(w.down >= n - 2);
	assert_false(w.early);
	assert_int_equal(auth_submit(a, "prom", "pw", d, on_hold, on_done, &w),
			 -ESHUTDOWN);
	auth_free(a);
	auth_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_same_time),
		cmocka_unit_test(test_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
