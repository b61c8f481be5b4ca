/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * auth.h - the metrics endpoint's users and passwords: bcrypt checks on a
 * thread of their own, and the passwords that passed remembered.
 *
 * bcrypt is slow on purpose (about 0.2 s at cost 12), so it never runs
 * on the threads that answer scrapes: a check is queued (at most
 * AUTH_QUEUE wait) and the caller is told when it is done. A password
 * that passed is remembered as an HMAC-SHA-256 of user and password
 * under a key made at start, tied to the user's hash of the time: a
 * scrape every few seconds costs one HMAC, not one bcrypt. A user that
 * does not exist is checked against the slowest configured user's hash
 * (and fails), so that the answer takes as long as for a known user's
 * wrong password and tells nothing of who exists.
 */
#ifndef TOLLGATE_AUTH_H
#define TOLLGATE_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "classify/config.h"

#define AUTH_QUEUE	16	/* checks waiting for the thread */
#define AUTH_REMEMBERED	16	/* passwords remembered */
#define AUTH_DIGEST_SIZE 32	/* HMAC-SHA-256 */

struct auth;

enum auth_verdict {
	AUTH_OK,
	AUTH_BAD,	/* no such user, or a wrong password */
	AUTH_DOWN,	/* stopped before the check */
};

/* No users, no thread yet. Returns NULL with errno set. */
struct auth *auth_new(void);

/* Start the checking thread. Returns 0 or -Exxx. */
int auth_start(struct auth *a);

/* Answer every check still queued AUTH_DOWN, and join the thread. */
void auth_stop(struct auth *a);

/* auth_stop(), then free @a (NULL is fine). */
void auth_free(struct auth *a);

/*
 * The users from now on (copied). Remembered passwords stay for users
 * whose hash is unchanged. Returns 0 or -ENOMEM (the old users stay).
 */
int auth_set_users(struct auth *a, const struct tg_metrics_user *users,
		   size_t nr);
size_t auth_nr_users(struct auth *a);

/*
 * Whether @user's @pass passed a check before, for the user's current
 * hash: one HMAC, compared against every remembered one. Fills @digest
 * for auth_submit().
 */
bool auth_remembered(struct auth *a, const char *user, const char *pass,
		     unsigned char digest[AUTH_DIGEST_SIZE]);

/*
 * Queue a bcrypt check of @user and @pass (copied; @digest from
 * auth_remembered()). @hold(@ctx) runs once the check is sure to be
 * queued, before the thread can see it (the caller suspends its
 * connection there); @done(@ctx, verdict) runs on the thread when the
 * check is over. Returns 0, -EBUSY (the queue is full), -ESHUTDOWN (no
 * thread), -ENOMEM; neither callback runs then.
 */
int auth_submit(struct auth *a, const char *user, const char *pass,
		const unsigned char digest[AUTH_DIGEST_SIZE],
		void (*hold)(void *ctx),
		void (*done)(void *ctx, enum auth_verdict v), void *ctx);

/*
 * The check itself, on the caller's thread: bcrypt against @user's hash
 * or, for a user that does not exist, the slowest user's. Remembers a
 * password that passed (@digest may be NULL: computed here).
 */
enum auth_verdict auth_check(struct auth *a, const char *user,
			     const char *pass,
			     const unsigned char *digest);

#endif /* TOLLGATE_AUTH_H */
