// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_escape.c - messages that quote input reach the terminal without a
 * control sequence: tg_printable() on C0 and C1 controls, DEL, invalid
 * and overlong UTF-8, bidirectional overrides, truncation; tg_err_str()
 * of a configuration error naming a setting made of escape sequences;
 * what pr_warn() and pr_bare() write to stderr.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "classify/config.h"
#include "lib/log.h"
#include "lib/tgerr.h"

static void test_printable(void **state)
{
	static const struct {
		const char *in;
		size_t n;		/* 0: strlen */
		const char *out;
	} cases[] = {
		{ "plain text: 10.0.0.1:80 'quoted'", 0,
		  "plain text: 10.0.0.1:80 'quoted'" },
		{ "\x1b[31mRED\x1b[0m", 0, "\\x1b[31mRED\\x1b[0m" },
		{ "a\tb\nc\rd", 0, "a\\tb\\nc\\rd" },
		{ "bell\a del\x7f", 0, "bell\\x07 del\\x7f" },
		{ "nul\0after", 9, "nul\\x00after" },
		/* UTF-8 stays, C1 controls do not (CSI is U+009B) */
		{ "租户 tenant ü", 0, "租户 tenant ü" },
		{ "\xc2\x9b" "31m", 0, "\\u009b31m" },
		{ "\xc2\x85", 0, "\\u0085" },
		/* bidirectional override, line separator */
		{ "abc\xe2\x80\xae" "def", 0, "abc\\u202edef" },
		{ "x\xe2\x80\xa8y", 0, "x\\u2028y" },
		/* not UTF-8: a raw C1 byte, overlong, surrogate, truncated */
		{ "\x9b" "2J", 0, "\\x9b2J" },
		{ "\xc0\x9b", 0, "\\xc0\\x9b" },
		{ "\xed\xa0\x80", 0, "\\xed\\xa0\\x80" },
		{ "\xe4\xb8", 0, "\\xe4\\xb8" },
		{ "\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80" },
	};
	char out[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *in = cases[i].in;

		tg_printable(in, cases[i].n ? cases[i].n : strlen(in), out,
			     sizeof(out));
		if (strcmp(out, cases[i].out))
			fail_msg("case %zu: got '%s', want '%s'", i, out,
				 cases[i].out);
	}
	/* Truncated between escapes, never inside one. */
	assert_string_equal(tg_printable("ab\x1b", 3, out, 5), "ab");
	assert_string_equal(tg_printable("ab\x1b", 3, out, 7), "ab\\x1b");
	assert_string_equal(tg_printable("租", 3, out, 3), "");
	assert_string_equal(tg_printable("x", 1, out, 1), "");
}

static void test_err_str(void **state)
{
	/* YAML takes no control character as it is, but writes one as
	 * "\e" in a double-quoted scalar. */
	static const char yaml[] = "region: r\nprovider: p\n"
				   "\"\\e[31mRED\\e[0m\": 1\n";
	struct tg_config *cfg = NULL;
	struct tg_err err = {};
	char msg[512];
	size_t i;

	assert_int_equal(config_parse(yaml, strlen(yaml), "esc\x1b]0;x\a.yaml",
				      0, &cfg, &err),
			 -EINVAL);
	tg_err_str(&err, msg, sizeof(msg));
	for (i = 0; msg[i]; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			fail_msg("byte %zu of '%s' is a control", i, msg);
	assert_non_null(strstr(msg, "esc\\x1b]0;x\\x07.yaml:3:"));
	assert_non_null(strstr(msg, "\\x1b[31mRED\\x1b[0m"));
}

/* What @fn writes to stderr. */
static void captured(void (*fn)(void), char *out, size_t len)
{
	FILE *f = tmpfile();
	int fd;
	size_t n;

	assert_non_null(f);
	fflush(stderr);
	fd = dup(STDERR_FILENO);
	dup2(fileno(f), STDERR_FILENO);
	fn();
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	close(fd);
	rewind(f);
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	fclose(f);
}

static void warn_escape(void)
{
	pr_warn("cannot open '%s': %s", "\x1b[2Jevil\r", "No such file");
}

static void bare_escape(void)
{
	pr_bare("%s:%u: %s", "esc.jsonl", 1, "\x1b[31mRED\x1b[0m: unknown field");
}

static void long_message(void)
{
	char *s = malloc(10001);

	assert_non_null(s);
	memset(s, 'a', 10000);
	s[10000] = '\0';
	s[9998] = '\x1b';
	pr_warn("%s", s);
	free(s);
}

static void test_log(void **state)
{
	char out[32768];

	captured(warn_escape, out, sizeof(out));
	assert_string_equal(out, "tollgate: cannot open '\\x1b[2Jevil\\r': "
				 "No such file\n");
	captured(bare_escape, out, sizeof(out));
	assert_string_equal(out, "esc.jsonl:1: \\x1b[31mRED\\x1b[0m: unknown "
				 "field\n");
	/* Longer than the line buffer: whole, and escaped too. */
	captured(long_message, out, sizeof(out));
	assert_int_equal(strlen(out), strlen("tollgate: ") + 10000 + 3 + 1);
	assert_null(strchr(out, '\x1b'));
	assert_non_null(strstr(out, "a\\x1ba\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_err_str),
		cmocka_unit_test(test_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
