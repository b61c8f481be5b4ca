// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_closed.c - the user-space side of counting closed connections: the
 * length of the segments the kernel sends for them (tg_reply_bytes()),
 * whether a TIME_WAIT socket acknowledged a segment (tg_tw_acked()), both
 * shared with the kernel side in include/meter.h; and which tracers a
 * kernel can run, read from its BTF (meter_tp_args(), played here by BTF
 * made up for each case, and the running kernel's when there is one) and
 * decided from the arguments its tracepoints pass
 * (meter_closed_parts()).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/btf.h>

#include "load/loader.h"
#include "meter.h"

/* IP bytes as tcpdump shows them on the test gateway's links. */
static void test_reply_bytes(void **state)
{
	(void)state;
	assert_int_equal(tg_reply_bytes(0, 0, 0), 40);	/* IPv4 reset */
	assert_int_equal(tg_reply_bytes(1, 0, 0), 60);	/* IPv6 reset */
	assert_int_equal(tg_reply_bytes(0, 1, 0), 52);	/* IPv4 ACK, TS */
	assert_int_equal(tg_reply_bytes(1, 1, 0), 72);	/* IPv6 ACK, TS */
	assert_int_equal(tg_reply_bytes(0, 0, 1), 60);	/* MD5 */
	assert_int_equal(tg_reply_bytes(0, 1, 1), 72);	/* TS and MD5 */
}

#define FA (TG_TCP_FIN | TG_TCP_ACK)
#define A TG_TCP_ACK

/* What tcp_timewait_state_process() does with each kind of segment, and
 * what closed_drop() sees of it afterwards. */
static const struct {
	const char *what;
	__u8 flags;
	__u32 seq_len;
	int oow_moved, reset_sent, acked;
} tw_cases[] = {
	{ "the peer's FIN after ours (FIN_WAIT2 turns TIME_WAIT)", FA, 1, 0, 0, 1 },
	{ "a retransmitted FIN (out of window, never rate-limited)", FA, 1, 0, 0, 1 },
	{ "FIN with data", FA | 0x08, 101, 0, 0, 1 },
	{ "late data (out of window)", A, 1448, 0, 0, 1 },
	{ "data in window after our FIN: reset", A, 1448, 0, 1, 0 },
	{ "a FIN past the window's edge: reset", FA, 1, 0, 1, 0 },
	{ "a duplicate bare ACK", A, 0, 0, 0, 0 },
	{ "a bare ACK out of window, acknowledged", A, 0, 1, 0, 1 },
	{ "a bare ACK out of window, rate-limited", A, 0, 0, 0, 0 },
	{ "a reset in window: the socket goes", TG_TCP_RST, 0, 0, 0, 0 },
	{ "a reset out of window, acknowledged", TG_TCP_RST | A, 0, 1, 0, 1 },
	{ "a SYN out of window, acknowledged", TG_TCP_SYN, 1, 1, 0, 1 },
	{ "a SYN out of window, rate-limited", TG_TCP_SYN, 1, 0, 0, 0 },
	{ "a SYN in window: reset", TG_TCP_SYN, 1, 0, 1, 0 },
	{ "data without ACK in window: let be", TG_TCP_FIN, 1, 0, 0, 0 },
};

static void test_tw_acked(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(tw_cases) / sizeof(tw_cases[0]); i++) {
		int got = tg_tw_acked(tw_cases[i].flags, tw_cases[i].seq_len,
				      tw_cases[i].oow_moved,
				      tw_cases[i].reset_sent);

		if (got != tw_cases[i].acked)
			fail_msg("%s: acknowledged %d, expected %d",
				 tw_cases[i].what, got, tw_cases[i].acked);
	}
}

/* BTF holding, for each name, a tracepoint prototype of that many
 * arguments after the context: typedef void (*btf_trace_NAME)(void *,
 * int, ...). A negative count makes the typedef point at an int. */
static struct btf *fake_btf(const char *const names[], const int args[],
			    int n)
{
	struct btf *btf = btf__new_empty();
	int i_int, i_void_ptr;

	assert_non_null(btf);
	i_int = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	i_void_ptr = btf__add_ptr(btf, 0);
	assert_true(i_int > 0 && i_void_ptr > 0);
	for (int i = 0; i < n; i++) {
		char name[64];
		int proto, ptr;

		snprintf(name, sizeof(name), "btf_trace_%s", names[i]);
		if (args[i] < 0) {
			assert_true(btf__add_typedef(btf, name, i_int) > 0);
			continue;
		}
		proto = btf__add_func_proto(btf, 0);
		assert_true(proto > 0);
		assert_int_equal(btf__add_func_param(btf, "__data",
						     i_void_ptr), 0);
		for (int a = 0; a < args[i]; a++)
			assert_int_equal(btf__add_func_param(btf, "a", i_int),
					 0);
		ptr = btf__add_ptr(btf, proto);
		assert_true(ptr > 0);
		assert_true(btf__add_typedef(btf, name, ptr) > 0);
	}
	return btf;
}

static void test_tp_args(void **state)
{
	static const char *const names[] = {
		"tcp_send_reset", "kfree_skb", "odd",
	};
	static const int args[] = { 3, 4, -1 };
	struct btf *btf = fake_btf(names, args, 3);

	(void)state;
	assert_int_equal(meter_tp_args(btf, "tcp_send_reset"), 3);
	assert_int_equal(meter_tp_args(btf, "kfree_skb"), 4);
	assert_int_equal(meter_tp_args(btf, "odd"), 0);
	assert_int_equal(meter_tp_args(btf, "sock_recv_length"), 0);
	btf__free(btf);
}

/* The kernel under the tests, when it has BTF: this tollgate's tracers
 * can all run on the kernels it is tested on. */
static void test_tp_args_kernel(void **state)
{
	int args[METER_CLOSED_TPS];
	struct btf *btf;

	(void)state;
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		print_message("skip: this kernel has no BTF to read\n");
		skip();
	}
	btf = btf__load_vmlinux_btf();
	assert_non_null(btf);
	args[0] = meter_tp_args(btf, "tcp_send_reset");
	args[1] = meter_tp_args(btf, "kfree_skb");
	btf__free(btf);
	assert_true(args[0] >= 2);
	assert_true(args[1] >= 3);
	if (args[1] < 4) {
		print_message("skip: kfree_skb passes no receiving socket "
			      "here\n");
		skip();
	}
	assert_int_equal(meter_closed_parts(args),
			 TG_CLOSED_RESET | TG_CLOSED_DROP);
}

static void test_closed_parts(void **state)
{
	static const struct {
		int args[METER_CLOSED_TPS];
		unsigned int parts;
	} cases[] = {
		{ { 3, 4 }, TG_CLOSED_RESET | TG_CLOSED_DROP },
		/* kfree_skb without the receiving socket (older kernels) */
		{ { 3, 3 }, TG_CLOSED_RESET },
		/* tcp_send_reset of (sk, skb) only */
		{ { 2, 4 }, TG_CLOSED_RESET | TG_CLOSED_DROP },
		{ { 0, 4 }, TG_CLOSED_DROP },
		{ { 1, 2 }, 0 },
		{ { 0, 0 }, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (meter_closed_parts(cases[i].args) != cases[i].parts)
			fail_msg("tracepoints with %d, %d arguments: parts "
				 "%#x, expected %#x", cases[i].args[0],
				 cases[i].args[1],
				 meter_closed_parts(cases[i].args),
				 cases[i].parts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_bytes),
		cmocka_unit_test(test_tw_acked),
		cmocka_unit_test(test_tp_args),
		cmocka_unit_test(test_tp_args_kernel),
		cmocka_unit_test(test_closed_parts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
