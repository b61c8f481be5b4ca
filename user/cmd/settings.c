// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * settings.c - the settings the commands share with the agent: the
 * configuration checked as run takes it (settings.h).
 *
 * config_load() knows the file's syntax, and only that: whether a listen
 * address parses, a plan exists or a region is one the plan prices is
 * for the stages that use them. Run used to find out at start (a listen
 * address it could not parse) or not at all (a plan it could not load
 * left the cost gauges out; a misspelt region billed a region's intranet
 * as another region's), while check-config said ok. Here the file is
 * checked against all of them, once, for every command.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "cmd/settings.h"
#include "export/serve.h"
#include "lib/log.h"
#include "rate/plan.h"

#define DEFAULT_PLAN "jdcloud"

const char *settings_plan_name(const struct tg_config *cfg)
{
	return cfg->metrics.plan ? cfg->metrics.plan : DEFAULT_PLAN;
}

struct checker {
	const struct tg_config *cfg;
	struct tg_err *err;
	bool warn;
	int warnings;
};

static int fail(struct checker *c, struct tg_pos at, const char *field,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(struct checker *c, struct tg_pos at, const char *field,
		const char *fmt, ...)
{
	char msg[sizeof(c->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tg_err_set(c->err, c->cfg->path, at.line, at.col, field, "%s", msg);
	return -EINVAL;
}

static void warning(struct checker *c, struct tg_pos at, const char *field,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void warning(struct checker *c, struct tg_pos at, const char *field,
		    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	c->warnings++;
	if (!c->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* As a fault is said, that tools read both alike. */
	fprintf(stderr, "%s:%u:%u: warning: %s: %s\n", c->cfg->path, at.line,
		at.col, field, msg);
}

static bool plan_is_file(const char *s)
{
	size_t n = strlen(s);

	return strchr(s, '/') || (n > 5 && !strcmp(s + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(s + n - 4, ".yml"));
}

/* The plan of the configuration, loaded into @p, and its region. */
static int check_plan(struct checker *c, struct plan *p)
{
	const struct tg_metrics_conf *mc = &c->cfg->metrics;
	const char *name = settings_plan_name(c->cfg);
	const char *const *b = plan_builtins();
	char list[128] = "";
	struct stat st;
	size_t i, n = 0;

	if (!plan_is_file(name)) {
		for (i = 0; b[i]; i++) {
			if (!strcmp(name, b[i]))
				break;
			n += snprintf(list + n, sizeof(list) - n, "%s%s",
				      n ? ", " : "", b[i]);
		}
		if (!b[i])
			return fail(c, mc->plan_at, "metrics.plan",
				    "no built-in plan '%s' (built in: %s; a "
				    "file is a path or ends in .yaml)", name,
				    list);
	} else if (stat(name, &st)) {
		return fail(c, mc->plan_at, "metrics.plan", "'%s': %s", name,
			    strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		return fail(c, mc->plan_at, "metrics.plan", "'%s': not a "
			    "regular file", name);
	}
	/* A plan file's own faults are said by plan_load(), in its terms. */
	if (plan_load(p, name))
		return fail(c, mc->plan_at, "metrics.plan", "plan '%s' does "
			    "not load (above)", name);
	if (!mc->plan_region)
		return 0;
	for (i = 0; i < p->nr_regions; i++)
		if (!strcasecmp(mc->plan_region, p->regions[i].id) ||
		    (*p->regions[i].name &&
		     !strcasecmp(mc->plan_region, p->regions[i].name)))
			return 0;
	for (i = 0, n = 0, list[0] = '\0';
	     i < p->nr_regions && n < sizeof(list); i++)
		n += snprintf(list + n, sizeof(list) - n, "%s%s",
			      n ? ", " : "", p->regions[i].id);
	return fail(c, mc->plan_region_at, "metrics.plan_region",
		    "plan %s has no region '%s' (%s)", p->name, mc->plan_region,
		    p->nr_regions ? list : "it names none");
}

/* A file run reads when it starts: there, and a regular file. */
static int check_file(struct checker *c, const char *path, struct tg_pos at,
		      const char *field)
{
	struct stat st;

	if (stat(path, &st))
		return fail(c, at, field, "'%s': %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(c, at, field, "'%s': not a regular file", path);
	return 0;
}

static int check_metrics(struct checker *c)
{
	const struct tg_metrics_conf *mc = &c->cfg->metrics;
	struct sockaddr_storage ss;
	int err;

	if (mc->listen && metrics_parse_listen(mc->listen, &ss))
		return fail(c, mc->listen_at, "metrics.listen",
			    "'%s' is not ADDR:PORT or [ADDR6]:PORT with a port "
			    "from 0 to 65535", mc->listen);
	if (mc->disabled) {
		/* --listen serves even so, but with the defaults. */
		if (mc->listen)
			warning(c, mc->listen_at, "metrics.listen",
				"not used: metrics.enabled is false");
		if (mc->tls_cert)
			warning(c, mc->tls_cert_at, "metrics.tls",
				"not used: metrics.enabled is false");
		if (mc->nr_users)
			warning(c, mc->users_at, "metrics.users",
				"not used: metrics.enabled is false");
		return 0;
	}
	if (mc->tls_cert &&
	    ((err = check_file(c, mc->tls_cert, mc->tls_cert_at,
			       "metrics.tls.cert")) ||
	     (err = check_file(c, mc->tls_key, mc->tls_key_at,
			       "metrics.tls.key"))))
		return err;
	return 0;
}

static void check_tls_libraries(struct checker *c)
{
	const struct tg_config *cfg = c->cfg;
	char field[48];
	struct stat st;
	size_t i;

	for (i = 0; i < cfg->nr_tls; i++) {
		const char *why = NULL;

		if (stat(cfg->tls[i].library, &st))
			why = strerror(errno);
		else if (!S_ISREG(st.st_mode))
			why = "not a regular file";
		if (!why)
			continue;
		snprintf(field, sizeof(field), "tls[%zu].library", i);
		warning(c, (struct tg_pos){ cfg->tls[i].line, 0 }, field,
			"'%s': %s: run starts without hooking it, and calls "
			"decrypted by it are not counted",
			cfg->tls[i].library, why);
	}
}

/* The names that decide a bill, against the plan's regions. */
static int check_names(struct checker *c, const struct plan *p)
{
	const char *ids[PLAN_MAX_REGIONS], *names[PLAN_MAX_REGIONS];
	size_t i;

	for (i = 0; i < p->nr_regions; i++) {
		ids[i] = p->regions[i].id;
		names[i] = p->regions[i].name;
	}
	struct tg_err w = {};
	int ret;

	ret = config_check_names(c->cfg, p->name, ids, names, p->nr_regions,
				 &w);
	if (ret < 0)
		*c->err = w;
	else if (ret > 0)
		warning(c, (struct tg_pos){ w.line, w.column }, w.field, "%s",
			w.msg);
	return ret < 0 ? ret : 0;
}

int settings_config(const char *path, bool warn, struct tg_config **out,
		    struct tg_err *err, int *warnings)
{
	struct checker c = { .err = err, .warn = warn };
	struct plan plan;
	int ret;

	if (warnings)
		*warnings = 0;
	if (path && !strcmp(path, TG_BUILTIN)) {
		*out = config_default();
		if (!*out) {
			tg_err_set(err, "", 0, 0, "", "out of memory");
			return -ENOMEM;
		}
		return 0;
	}
	ret = config_load_or_default(path, out, err);
	if (ret)
		return ret;
	c.cfg = *out;
	/* The built-in configuration names no plan, region or file. */
	if (!strcmp(c.cfg->path, TG_BUILTIN))
		return 0;
	ret = check_metrics(&c);
	if (!ret)
		ret = check_plan(&c, &plan);
	if (!ret)
		ret = check_names(&c, &plan);
	if (!ret)
		check_tls_libraries(&c);
	if (warnings)
		*warnings = c.warnings;
	if (ret) {
		config_free(*out);
		*out = NULL;
	}
	return ret;
}

bool settings_agent(const char *pin_dir, struct agent_info *ai)
{
	int err = agent_info_read(pin_dir, ai);

	if (err == -EPROTO)
		pr_warn("the agent's settings in %s are another version's: not "
			"used", pin_dir);
	else if (err && err != -ENOENT)
		pr_warn("cannot read the agent's settings in %s: %s", pin_dir,
			strerror(-err));
	return !err;
}

int settings_read_config(const char *pin_dir, const char *given,
			 struct tg_config **out, struct tg_err *err)
{
	struct agent_info ai;
	bool agent = !given && settings_agent(pin_dir, &ai);
	int ret;

	if (agent)
		given = *ai.config ? ai.config : TG_BUILTIN;
	ret = settings_config(given, false, out, err, NULL);
	if (ret && agent)
		pr_warn("the agent on %s runs with %s%s; --config reads "
			"another", pin_dir, *ai.config ? "" : "the built-in ",
			*ai.config ? ai.config : "configuration");
	if (ret || (given && !agent))
		return ret;
	if (agent)
		pr_warn("%s%s (the agent's, recorded in %s)",
			*ai.config ? "configuration " :
				     "the built-in configuration",
			ai.config, pin_dir);
	else if (strcmp((*out)->path, TG_BUILTIN))
		pr_warn("configuration %s (the default: no agent's settings in "
			"%s)", (*out)->path, pin_dir);
	else
		pr_warn("the built-in configuration (no %s, and no agent's "
			"settings in %s)", TG_CONFIG_DEFAULT_PATH, pin_dir);
	return 0;
}
