/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * settings.h - the settings the commands share with the agent.
 *
 * The configuration as `tollgate run` takes it: loaded (classify/config.h)
 * and then checked against what run uses it with, so that check-config, a
 * start, a SIGHUP reload, dump and classify accept and refuse the same
 * files. Beyond the syntax that means: the metrics endpoint's address,
 * the price plan and its region, the TLS files of the endpoint, and the
 * regions and providers that decide a bill, against the plan's and the
 * range files' (config_check_names()).
 *
 * The agent's own settings, for the read commands: which configuration,
 * ledger and interval the agent on a pin directory runs with, as it
 * recorded them there (load/agentinfo.h), so that dump, classify and
 * status read what the agent uses unless told otherwise.
 */
#ifndef TOLLGATE_SETTINGS_H
#define TOLLGATE_SETTINGS_H

#include <stdbool.h>

#include "classify/config.h"
#include "load/agentinfo.h"

/*
 * Load the configuration at @path (NULL: the default file if it exists,
 * else the built-in configuration; a @path given must exist) and check it
 * as run does. What run would refuse fails the load: @err names the file,
 * line, column and setting. What run would ignore or only warn of (a TLS
 * library that is not there, metrics settings with metrics.enabled false)
 * is a warning, printed when @warn as "FILE:LINE:COLUMN: warning:
 * SETTING: ..." with *@warnings counting them (@warnings may be NULL).
 * Returns 0 with *@out (config_free() it), or what config_load() returns,
 * or -EINVAL.
 */
int settings_config(const char *path, bool warn, struct tg_config **out,
		    struct tg_err *err, int *warnings);

/* The price plan of a configuration: metrics.plan, else the default. */
const char *settings_plan_name(const struct tg_config *cfg);

/*
 * The settings the agent on @pin_dir recorded (load/agentinfo.h) into
 * @ai. Returns true when there are; false, after saying why when it is
 * not simply that there are none, with @ai zeroed.
 */
bool settings_agent(const char *pin_dir, struct agent_info *ai);

/*
 * The configuration of a read command (dump, classify): @given when not
 * NULL (--config); else the one the agent on @pin_dir runs with; else the
 * default file, else the built-in one. Says on standard error which, and
 * where from, unless it was given. Loaded and checked as
 * settings_config() does, without its warnings; same returns.
 */
int settings_read_config(const char *pin_dir, const char *given,
			 struct tg_config **out, struct tg_err *err);

#endif /* TOLLGATE_SETTINGS_H */
