#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_calls_restart.sh - test_calls.sh with the agent killed (SIGKILL)
# and started again midway, under keep-alive load: calls must still equal
# gw's access-log lines exactly.
export TG_CALLS_RESTART=1
# shellcheck source=test_calls.sh
. "${0%/*}/test_calls.sh"
