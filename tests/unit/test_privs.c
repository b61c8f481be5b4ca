// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_privs.c - what --user accepts: a user name (with its primary group),
 * UID, UID:GID; and what it refuses: root, either way, and anything that is
 * neither a known name nor numbers. Then, as root, in child processes, the
 * drop itself: to a user with no capability left on a kernel that reads
 * maps without one, and with CAP_BPF alone on a kernel that wants it (an
 * old kernel, played by a wrapper of bpf_map_lookup_elem() that refuses
 * without CAP_BPF in effect), or a clear failure when there is none to
 * keep.
 */
#include <errno.h>
#include <pwd.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <bpf/bpf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "load/loader.h"
#include "load/privs.h"

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

static bool old_kernel;	/* the wrapper refuses without CAP_BPF */

static __u64 caps(int which)	/* 0: effective, 1: permitted */
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return ~0ull;
	return which ? (__u64)d[1].permitted << 32 | d[0].permitted :
		       (__u64)d[1].effective << 32 | d[0].effective;
}

int __real_bpf_map_lookup_elem(int fd, const void *key, void *value);
int __wrap_bpf_map_lookup_elem(int fd, const void *key, void *value);

int __wrap_bpf_map_lookup_elem(int fd, const void *key, void *value)
{
	if (old_kernel && !(caps(0) & (1ull << CAP_BPF))) {
		errno = EPERM;
		return -1;
	}
	return __real_bpf_map_lookup_elem(fd, key, value);
}

/*
 * In a child: drop to 65534 over a real map, and exit 0 when the result is
 * @want_caps in effect and permitted (~0: privs_drop() must fail with
 * EPERM), uid 65534 and no_new_privs; else a code saying what was wrong.
 */
static int drop_child(int fd, bool old, bool without_bpf, __u64 want_caps)
{
	struct privs p = { .uid = 65534, .gid = 65534, .set = true };
	pid_t pid = fork();
	int status, err;

	if (pid < 0)
		return -1;
	if (pid) {
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
			return -1;
		return WEXITSTATUS(status);
	}
	old_kernel = old;
	if (without_bpf && prctl(PR_CAPBSET_DROP, CAP_BPF, 0, 0, 0))
		_exit(10);
	if (without_bpf) {
		struct __user_cap_header_struct h = {
			.version = _LINUX_CAPABILITY_VERSION_3,
		};
		struct __user_cap_data_struct d[2];

		if (syscall(SYS_capget, &h, d))
			_exit(11);
		d[1].permitted &= ~(1u << (CAP_BPF - 32));
		d[1].effective &= ~(1u << (CAP_BPF - 32));
		d[1].inheritable = 0;
		if (syscall(SYS_capset, &h, d))
			_exit(12);
	}
	err = privs_drop(&p, fd);
	if (want_caps == ~0ull)
		_exit(err == -EPERM ? 0 : 13);
	if (err)
		_exit(14);
	if (getuid() != 65534 || geteuid() != 65534 || getgid() != 65534)
		_exit(15);
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		_exit(16);
	if (caps(0) != want_caps || caps(1) != want_caps)
		_exit(17);
	_exit(0);
}

static void test_drop(void **state)
{
	int fd;

	if (geteuid() != 0)
		skip();
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "tg_privs_test", 4,
			    sizeof(struct tg_meta), 1, NULL);
	if (fd < 0)
		skip();
	/* This kernel (or the wrapper's) reads maps without CAP_BPF. */
	assert_int_equal(drop_child(fd, false, false, 0), 0);
	/* An old kernel: CAP_BPF stays, alone. */
	assert_int_equal(drop_child(fd, true, false, 1ull << CAP_BPF), 0);
	/* An old kernel and no CAP_BPF to keep: the drop fails at once. */
	assert_int_equal(drop_child(fd, true, true, ~0ull), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_user),
		cmocka_unit_test(test_parse_name),
		cmocka_unit_test(test_drop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
