// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_modes.c - a ledger holds every tenant's usage: whoever creates it,
 * under umask 022 or none at all, the file is 0600, so are the -wal and
 * -shm files SQLite makes beside it, and the directories booking makes
 * for it are 0700. An existing ledger others may read is warned about.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "ledger/book.h"
#include "ledger/ledger.h"
#include "tmpdir.h"

static unsigned int mode_of(const char *dir, const char *name)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (stat(p, &st))
		fail_msg("%s: %s", p, strerror(errno));
	return st.st_mode & 07777;
}

static void check_umask(mode_t mask)
{
	struct book_opts o = { .host = "gw1" };
	char path[320], sub[256];
	struct ledger *l = NULL;
	struct book *c = NULL;
	mode_t old = umask(mask);

	assert_int_equal(tmpdir_make("modes"), 0);
	/* ledger import and friends: the file, and SQLite's beside it */
	snprintf(path, sizeof(path), "%s/ledger.db", tmpdir);
	assert_int_equal(ledger_open(&l, path, LEDGER_CREATE, NULL), 0);
	assert_int_equal(mode_of(tmpdir, "ledger.db"), 0600);
	assert_int_equal(mode_of(tmpdir, "ledger.db-wal"), 0600);
	assert_int_equal(mode_of(tmpdir, "ledger.db-shm"), 0600);
	ledger_close(l);

	/* the agent: directories made on the way, 0700 */
	snprintf(sub, sizeof(sub), "%s/state/tollgate", tmpdir);
	snprintf(path, sizeof(path), "%s/ledger.db", sub);
	o.ledger = path;
	assert_int_equal(book_open(&c, &o), 0);
	assert_int_equal(mode_of(tmpdir, "state"), 0700);
	assert_int_equal(mode_of(tmpdir, "state/tollgate"), 0700);
	assert_int_equal(mode_of(sub, "ledger.db"), 0600);
	assert_int_equal(mode_of(sub, "ledger.db-wal"), 0600);
	assert_int_equal(mode_of(sub, "ledger.db-shm"), 0600);
	book_close(c);
	umask(old);
	assert_int_equal(tmpdir_remove(), 0);
}

static void test_umask_022(void **state)
{
	check_umask(022);
}

static void test_umask_000(void **state)
{
	check_umask(0);
}

static void test_existing(void **state)
{
	struct ledger *l = NULL;
	char path[256], out[512];
	FILE *err;
	int fd;

	assert_int_equal(tmpdir_make("modes"), 0);
	snprintf(path, sizeof(path), "%s/ledger.db", tmpdir);
	assert_int_equal(ledger_open(&l, path, LEDGER_CREATE, NULL), 0);
	ledger_close(l);
	/* An older tollgate's, say: opened all the same, with a warning. */
	assert_int_equal(chmod(path, 0644), 0);
	/* stderr into a file for the while */
	err = tmpfile();
	assert_non_null(err);
	fflush(stderr);
	fd = dup(STDERR_FILENO);
	dup2(fileno(err), STDERR_FILENO);
	assert_int_equal(ledger_open(&l, path, 0, NULL), 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	close(fd);
	rewind(err);
	out[fread(out, 1, sizeof(out) - 1, err)] = '\0';
	fclose(err);
	ledger_close(l);
	assert_non_null(strstr(out, "every user may read it (mode 0644)"));
	assert_int_equal(tmpdir_remove(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_umask_022),
		cmocka_unit_test(test_umask_000),
		cmocka_unit_test(test_existing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
