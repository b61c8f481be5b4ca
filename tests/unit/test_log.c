// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_log.c - libbpf's messages through our levels (user/lib/log.c):
 * its warnings print at the default level, except around a call whose
 * failure may be no news, where they are held back and print as warnings
 * only when the call failed in earnest, else with -v.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "lib/log.h"

#define WARNED "libbpf: elf: failed to open /nonexistent.bpf.o"

/* Make libbpf warn (it cannot open a file), at verbosity @v, inside a
 * hold released with @problem unless @hold is false; what reached stderr
 * into @out. */
static void libbpf_warns(int v, bool hold, bool problem, char *out,
			 size_t len)
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	size_t n;

	assert_non_null(tmp);
	log_setup(v);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	if (hold)
		log_libbpf_hold();
	assert_null(bpf_object__open_file("/nonexistent.bpf.o", NULL));
	if (hold)
		log_libbpf_release(problem);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, len - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
}

static void test_libbpf_levels(void **state)
{
	char out[1024];

	(void)state;
	/* no hold: a warning prints at the default level */
	libbpf_warns(0, false, false, out, sizeof(out));
	assert_non_null(strstr(out, WARNED));
	/* held, no news: quiet by default, shown with -v */
	libbpf_warns(0, true, false, out, sizeof(out));
	assert_string_equal(out, "");
	libbpf_warns(1, true, false, out, sizeof(out));
	assert_non_null(strstr(out, WARNED));
	/* held, a real problem: a warning again */
	libbpf_warns(0, true, true, out, sizeof(out));
	assert_non_null(strstr(out, WARNED));
	/* the hold ends with its release */
	libbpf_warns(0, false, false, out, sizeof(out));
	assert_non_null(strstr(out, WARNED));
	log_setup(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libbpf_levels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
