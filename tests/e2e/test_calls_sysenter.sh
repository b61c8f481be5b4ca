#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_calls_sysenter.sh - test_calls.sh on the agent's fallback: reads
# noted on the raw tracepoint sys_enter, as on a kernel without syscall
# tracepoints (forced with TOLLGATE_CALLS_ENTRY=sys_enter). Midway, the
# agent is killed and started again on the per-syscall tracepoints, under
# load: calls must still equal gw's access-log lines exactly.
export TOLLGATE_CALLS_ENTRY=sys_enter
export TG_CALLS_SWITCH=syscalls
# shellcheck source=test_calls.sh
. "${0%/*}/test_calls.sh"
