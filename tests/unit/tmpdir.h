/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tmpdir.h - a scratch directory for unit tests that write files (ledgers,
 * exports): made fresh under /tmp by tmpdir_make(), removed with all it
 * holds by tmpdir_remove(). One per test program, in tmpdir.
 */
#ifndef TOLLGATE_TESTS_TMPDIR_H
#define TOLLGATE_TESTS_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

static char tmpdir[64];

/* Make /tmp/tg-@name-XXXXXX. Returns 0 or -1. */
static inline int tmpdir_make(const char *name)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tg-%s-XXXXXX", name);
	return mkdtemp(tmpdir) ? 0 : -1;
}

/* Remove the directory and everything in it. Returns 0 or -1. */
static inline int tmpdir_remove(void)
{
	char cmd[sizeof(tmpdir) + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) ? -1 : 0;
}

#endif /* TOLLGATE_TESTS_TMPDIR_H */
