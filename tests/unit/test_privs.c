// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_privs.c - what --user accepts: a user name (with its primary group),
 * UID, UID:GID; and what it refuses: root, either way, and anything that is
 * neither a known name nor numbers.
 */
#include <errno.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tollgate.h"

static const struct {
	const char *spec;
	int ret;
	__u32 uid, gid;
} cases[] = {
	{ "65534", 0, 65534, 65534 },
	{ "1000:2000", 0, 1000, 2000 },
	{ "4242", 0, 4242, 4242 },
	{ "2147483647:1", 0, 2147483647, 1 },
	{ "0", -EINVAL, 0, 0 },
	{ "0:5", -EINVAL, 0, 0 },
	{ "5:0", -EINVAL, 0, 0 },
	{ "root", -EINVAL, 0, 0 },
	{ "", -EINVAL, 0, 0 },
	{ ":", -EINVAL, 0, 0 },
	{ "1:", -EINVAL, 0, 0 },
	{ ":1", -EINVAL, 0, 0 },
	{ "12x", -EINVAL, 0, 0 },
	{ "-1", -EINVAL, 0, 0 },
	{ "1:2:3", -EINVAL, 0, 0 },
	{ "2147483648", -EINVAL, 0, 0 },
	{ "no-such-user-tollgate", -EINVAL, 0, 0 },
	{ "123456789012345678901234567890123456789", -EINVAL, 0, 0 },
};

static void test_parse_user(void **state)
{
	struct privs p;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = privs_parse_user(cases[i].spec, &p);

		if (ret != cases[i].ret)
			fail_msg("'%s': got %d, want %d", cases[i].spec, ret,
				 cases[i].ret);
		if (ret)
			continue;
		assert_true(p.set);
		assert_int_equal(p.uid, cases[i].uid);
		assert_int_equal(p.gid, cases[i].gid);
	}
}

/* A name resolves to its uid and primary group, whatever they are here. */
static void test_parse_name(void **state)
{
	struct passwd *pw = getpwnam("nobody");
	struct privs p;

	if (!pw || !pw->pw_uid || !pw->pw_gid)
		skip();
	assert_int_equal(privs_parse_user("nobody", &p), 0);
	assert_int_equal(p.uid, pw->pw_uid);
	assert_int_equal(p.gid, pw->pw_gid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_user),
		cmocka_unit_test(test_parse_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
