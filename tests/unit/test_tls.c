// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_tls.c - finding the TLS library a process uses in its memory map
 * (user/load/tls.c): the file whose SSL_read the meter hooks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <cmocka.h>

#include "load/tls.h"

static void test_is_libssl(void **state)
{
	static const struct {
		const char *path;
		bool yes;
	} cases[] = {
		{ "/usr/lib/x86_64-linux-gnu/libssl.so.3", true },
		{ "/usr/lib/libssl.so.1.1", true },
		{ "/opt/openresty/openssl/lib/libssl.so", true },
		{ "libssl.so.3", true },
		{ "/usr/lib/x86_64-linux-gnu/libcrypto.so.3", false },
		{ "/usr/lib/libssl3.so", false },	/* NSS */
		{ "/usr/lib/libssl.so-old/x", false },
		{ "/usr/lib/libssl.sox", false },
		{ "/usr/lib/libssl.so.3/", false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (tls_is_libssl(cases[i].path) != cases[i].yes)
			fail_msg("%s: expected %d", cases[i].path, cases[i].yes);
}

static void test_maps(void **state)
{
	static const char nginx[] =
		"55d0c8a00000-55d0c8a2c000 r--p 00000000 08:01 1234 /usr/sbin/nginx\n"
		"7f3792a00000-7f3792a28000 r--p 00000000 08:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
		"7f3792b00000-7f3792b20000 r--p 00000000 08:01 77 /usr/lib/x86_64-linux-gnu/libcrypto.so.3\n"
		"7f3792bab000-7f3792bc8000 r--p 00000000 08:01 78 /usr/lib/x86_64-linux-gnu/libssl.so.3\n"
		"7f3792bc8000-7f3792c20000 r-xp 0001d000 08:01 78 /usr/lib/x86_64-linux-gnu/libssl.so.3\n"
		"7ffd1c000000-7ffd1c021000 rw-p 00000000 00:00 0 [stack]\n";
	static const char anon[] =
		"55d0c8a00000-55d0c8a2c000 r--p 00000000 08:01 1234 /usr/sbin/nginx\n"
		"7f3792a00000-7f3792a28000 rw-p 00000000 00:00 0 \n"
		"7ffd1c000000-7ffd1c021000 rw-p 00000000 00:00 0 [stack]";
	static const char deleted[] =
		"7f3792bab000-7f3792bc8000 r--p 00000000 08:01 78 /usr/lib/libssl.so.3 (deleted)\n"
		"7f3792bab000-7f3792bc8000 r--p 00000000 08:01 79 /opt/ssl/lib/libssl.so.1.1";
	static const char spaces[] =
		"7f3792bab000-7f3792bc8000 r--p 00000000 08:01 78 /srv/my app/libssl.so.3\n";
	char out[PATH_MAX], tiny[8];

	(void)state;
	assert_true(tls_maps_libssl(nginx, out, sizeof(out)));
	assert_string_equal(out, "/usr/lib/x86_64-linux-gnu/libssl.so.3");
	/* statically linked, or no TLS at all: the caller tries the binary */
	assert_false(tls_maps_libssl(anon, out, sizeof(out)));
	assert_false(tls_maps_libssl("", out, sizeof(out)));
	/* a replaced file cannot be hooked by path; the last line has no
	 * newline */
	assert_true(tls_maps_libssl(deleted, out, sizeof(out)));
	assert_string_equal(out, "/opt/ssl/lib/libssl.so.1.1");
	assert_true(tls_maps_libssl(spaces, out, sizeof(out)));
	assert_string_equal(out, "/srv/my app/libssl.so.3");
	/* a path that does not fit is skipped, never cut */
	assert_false(tls_maps_libssl(nginx, tiny, sizeof(tiny)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_libssl),
		cmocka_unit_test(test_maps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
