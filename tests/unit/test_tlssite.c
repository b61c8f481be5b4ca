// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_tlssite.c - where the loader hooks a TLS library's writes
 * (user/load/tlssite.c): the first call of a prologue, decoded; the
 * common callee of SSL_write and SSL_write_ex in an OpenSSL 3.0 libssl,
 * and no callee in a file that is not one.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "load/tlssite.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Prologues, with the offset of the call's target or -1 for none. */
static void test_first_call(void **state)
{
	/* OpenSSL 3.0.19's SSL_write (Debian 12), its call at +0x1e */
	static const unsigned char ssl_write[] = {
		0x48, 0x83, 0xec, 0x18,			/* sub $0x18,%rsp */
		0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0, /* mov %fs:0x28 */
		0x48, 0x89, 0x44, 0x24, 0x08,		/* mov %rax,8(%rsp) */
		0x31, 0xc0,				/* xor %eax,%eax */
		0x85, 0xd2,				/* test %edx,%edx */
		0x78, 0x2f,				/* js */
		0x48, 0x89, 0xe1,			/* mov %rsp,%rcx */
		0x48, 0x63, 0xd2,			/* movslq %edx,%rdx */
		0xe8, 0xfd, 0xfb, 0xff, 0xff,		/* call -0x403 */
		0x85, 0xc0,
	};
	/* Its SSL_write_ex: sub $8,%rsp; call */
	static const unsigned char ssl_write_ex[] = {
		0x48, 0x83, 0xec, 0x08, 0xe8, 0x87, 0xfb, 0xff, 0xff, 0x31,
	};
	/* endbr64; push %r14; push %rbx; lea rip+x,%rax; mov $imm64,%rcx;
	 * je rel32; nopw; call +0x10 */
	static const unsigned char cet[] = {
		0xf3, 0x0f, 0x1e, 0xfa, 0x41, 0x56, 0x53,
		0x48, 0x8d, 0x05, 1, 2, 3, 4,
		0x48, 0xb9, 1, 2, 3, 4, 5, 6, 7, 8,
		0x0f, 0x84, 0x10, 0, 0, 0,
		0x0f, 0x1f, 0x44, 0x00, 0x00,
		0xe8, 0x10, 0, 0, 0,
	};
	/* A return before any call */
	static const unsigned char ret[] = { 0x48, 0x83, 0xec, 0x08, 0xc3,
					     0xe8, 0, 0, 0, 0 };
	/* An indirect call (call *x(%rip)) is not decoded */
	static const unsigned char indirect[] = { 0xff, 0x15, 0, 0, 0, 0,
						  0xe8, 0, 0, 0, 0 };
	/* An operand-size prefix changes immediates: not decoded */
	static const unsigned char opsize[] = { 0x66, 0x81, 0xc1, 1, 0,
						0xe8, 0, 0, 0, 0 };
	/* A call cut short by the end of the bytes */
	static const unsigned char cut[] = { 0x53, 0xe8, 0x10, 0x00 };
	/* A ModRM with SIB and disp32 cut short */
	static const unsigned char cutmodrm[] = { 0x48, 0x8b, 0x84, 0x24, 1 };
	static const struct {
		const char *name;
		const unsigned char *code;
		size_t len;
		long target;
	} cases[] = {
		{ "SSL_write", ssl_write, LEN(ssl_write), 0x1e + 5 - 0x403 },
		{ "SSL_write_ex", ssl_write_ex, LEN(ssl_write_ex),
		  4 + 5 - 0x479 },
		{ "endbr64 prologue", cet, LEN(cet), 35 + 5 + 0x10 },
		{ "ret", ret, LEN(ret), -1 },
		{ "indirect", indirect, LEN(indirect), -1 },
		{ "operand size", opsize, LEN(opsize), -1 },
		{ "cut call", cut, LEN(cut), -1 },
		{ "cut ModRM", cutmodrm, LEN(cutmodrm), -1 },
		{ "empty", ret, 0, -1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < LEN(cases); i++) {
		long t = 12345;
		int r = tls_first_call(cases[i].code, cases[i].len, &t);

		if (cases[i].target == -1) {
			if (r != -1)
				fail_msg("%s: found a call to %ld", cases[i].name,
					 t);
		} else if (r || t != cases[i].target) {
			fail_msg("%s: got %d, target %ld, expected %ld",
				 cases[i].name, r, t, cases[i].target);
		}
	}
}

/* Files that are no 3.0 libssl have no callee. */
static void test_no_site(void **state)
{
	unsigned long off = 7;

	(void)state;
	assert_int_equal(tls_write_site("/nonexistent/libssl.so.3", &off),
			 -ENOENT);
	assert_int_equal(tls_write_site("/dev/null", &off), -ENOENT);
	assert_int_equal(tls_write_site("/proc/self/status", &off), -ENOENT);
	/* An ELF file without SSL_write: this test itself. */
	assert_int_equal(tls_write_site("/proc/self/exe", &off), -ENOENT);
	assert_int_equal(off, 7);
}

/*
 * The system's libssl, when it is an OpenSSL 3.0 one: its callee is found
 * and begins with a push (one the kernel emulates), and it is neither
 * SSL_write nor SSL_write_ex. Skipped without such a library.
 */
static void test_system_libssl(void **state)
{
	static const char *const paths[] = {
		"/usr/lib/x86_64-linux-gnu/libssl.so.3",
		"/lib/x86_64-linux-gnu/libssl.so.3",
	};
	unsigned char b[2];
	unsigned long off;
	size_t i;
	FILE *f;
	int r;

	(void)state;
	for (i = 0; i < LEN(paths); i++) {
		r = tls_write_site(paths[i], &off);
		if (r == -ENOENT)
			continue;
		assert_int_equal(r, 0);
		f = fopen(paths[i], "rb");
		assert_non_null(f);
		assert_int_equal(fseek(f, (long)off, SEEK_SET), 0);
		assert_int_equal(fread(b, 1, 2, f), 2);
		fclose(f);
		if (!((b[0] >= 0x50 && b[0] <= 0x57) ||
		      (b[0] == 0x41 && b[1] >= 0x50 && b[1] <= 0x57) ||
		      (b[0] == 0xf3)))
			fail_msg("%s: the callee at 0x%lx begins with %02x %02x",
				 paths[i], off, b[0], b[1]);
		return;
	}
	skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_call),
		cmocka_unit_test(test_no_site),
		cmocka_unit_test(test_system_libssl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
