// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * opts.c - the commands' option tables (opts.h) parsed with getopt_long,
 * every value checked the same way and every fault said the same way.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/opts.h"
#include "lib/log.h"
#include "lib/util.h"

#define MAX_OPTS 32

static const char *const format_names[] = { "table", "json", "csv" };

/* "table, json" for the formats in @mask. */
static const char *formats_list(unsigned int mask, char *buf, size_t len)
{
	size_t n = 0, i;

	buf[0] = '\0';
	for (i = 0; i < 3; i++)
		if (mask & (1u << i))
			n += snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
				      format_names[i]);
	return buf;
}

static int number(const struct opt *o, const char *arg)
{
	const char *what = o->what ? o->what : "a number";
	__u64 v;

	if (parse_u64(arg, o->min, o->max, &v)) {
		pr_warn("--%s: '%s' is not %s from %llu to %llu", o->name, arg,
			what, (unsigned long long)o->min,
			(unsigned long long)o->max);
		return -EINVAL;
	}
	if (o->type == OPT_U32)
		*(__u32 *)o->dst = v;
	else
		*(__u64 *)o->dst = v;
	return 0;
}

/* Take @arg for option @o. Returns 0 or -EINVAL after saying why. */
static int take(const struct opt *o, const char *arg)
{
	unsigned int mask = o->formats ? o->formats : 7;
	enum out_format fmt;
	const char **list;
	char names[32];

	if ((o->type == OPT_STR || o->type == OPT_STR_LIST) && o->nonempty &&
	    !*arg) {
		pr_warn("--%s: empty", o->name);
		return -EINVAL;
	}
	switch (o->type) {
	case OPT_FLAG:
		*(bool *)o->dst = true;
		return 0;
	case OPT_SET:
		*(int *)o->dst = o->val;
		return 0;
	case OPT_COUNT:
		++*(int *)o->dst;
		return 0;
	case OPT_STR:
		*(const char **)o->dst = arg;
		return 0;
	case OPT_STR_LIST:
		for (list = o->dst; *list; list++)
			;
		*list = arg;
		return 0;
	case OPT_U32:
	case OPT_U64:
		return number(o, arg);
	case OPT_FORMAT:
		if (format_parse(arg, &fmt) || !(mask & (1u << fmt))) {
			pr_warn("--%s: '%s' is not one of %s", o->name, arg,
				formats_list(mask, names, sizeof(names)));
			return -EINVAL;
		}
		*(enum out_format *)o->dst = fmt;
		return 0;
	case OPT_FN:
		return o->fn(o->name, arg, o->dst);
	}
	return -EINVAL;
}

static bool has_arg(const struct opt *o)
{
	return o->type != OPT_FLAG && o->type != OPT_SET &&
	       o->type != OPT_COUNT;
}

int opts_parse(int argc, char **argv, const struct opt *opts,
	       const char *usage)
{
	struct option longopts[MAX_OPTS + 2] = {};
	char shorts[2 * MAX_OPTS + 4] = "";
	size_t n = 0, s = 0;
	int c, idx;

	/* GNU order: options may follow operands, as they always could. */
	for (; opts[n].name; n++) {
		if (n == MAX_OPTS)
			return -EINVAL;
		longopts[n] = (struct option){ opts[n].name,
					       has_arg(&opts[n]) ?
						       required_argument :
						       no_argument,
					       NULL, 256 + (int)n };
		if (opts[n].key) {
			shorts[s++] = opts[n].key;
			if (has_arg(&opts[n]))
				shorts[s++] = ':';
		}
	}
	longopts[n] = (struct option){ "help", no_argument, NULL, 'h' };
	shorts[s++] = 'h';
	while ((c = getopt_long(argc, argv, shorts, longopts, &idx)) != -1) {
		const struct opt *o = NULL;
		size_t i;

		if (c == 'h') {
			fputs(usage, stdout);
			exit(0);
		}
		if (c >= 256 && (size_t)(c - 256) < n)
			o = &opts[c - 256];
		for (i = 0; !o && i < n; i++)
			if (opts[i].key == c)
				o = &opts[i];
		if (!o) {
			fputs(usage, stderr);
			return -EINVAL;
		}
		if (take(o, has_arg(o) ? optarg : NULL))
			return -EINVAL;
	}
	return optind;
}

int opts_none_left(int argc, char **argv, int first)
{
	if (first >= argc)
		return 0;
	pr_warn("%s: unexpected argument '%s'", argv[0], argv[first]);
	return -EINVAL;
}
