/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * opts.h - the commands' options as tables, the way the configuration
 * loader declares its YAML keys: each option says its names, the type of
 * its value, where the value goes and what range it takes; opts_parse()
 * does the rest (getopt, range checks, uniform messages, -h/--help).
 *
 *	const char *pin_dir = TG_DEFAULT_PIN_DIR;
 *	__u32 interval = 10;
 *	const struct opt opts[] = {
 *		OPT("pin-dir", 'p', OPT_STR, &pin_dir),
 *		OPT("interval", 'i', OPT_U32, &interval,
 *		    .what = "a number of seconds", .min = 1, .max = 3600),
 *		{},
 *	};
 *	int first = opts_parse(argc, argv, opts, usage);
 *
 *	if (first < 0)
 *		return 2;
 */
#ifndef TOLLGATE_OPTS_H
#define TOLLGATE_OPTS_H

#include <stdbool.h>
#include <linux/types.h>

enum opt_type {
	OPT_FLAG,	/* no argument: *(bool *)dst = true */
	OPT_SET,	/* no argument: *(int *)dst = .val */
	OPT_COUNT,	/* no argument: ++*(int *)dst, for -v */
	OPT_STR,	/* *(const char **)dst = the argument */
	OPT_STR_LIST,	/* the argument appended to a NULL-terminated
			 * (const char **)dst with room for every argv entry */
	OPT_U32,	/* *(__u32 *)dst, in [min, max] */
	OPT_U64,	/* *(__u64 *)dst, in [min, max] */
	OPT_FORMAT,	/* *(enum out_format *)dst, one of .formats */
	OPT_FN,		/* .fn(argument, dst); it says why it refuses */
};

/* .formats of OPT_FORMAT */
#define OPT_TABLE	(1u << 0)	/* FMT_TABLE */
#define OPT_JSON	(1u << 1)	/* FMT_JSON */
#define OPT_CSV		(1u << 2)	/* FMT_CSV */

struct opt {
	const char *name;	/* long name, without "--"; NULL ends */
	int key;		/* short option, 0 for none */
	enum opt_type type;
	void *dst;
	const char *what;	/* OPT_U32, OPT_U64: what the number is
				 * ("a number of seconds"; NULL: "a
				 * number") */
	__u64 min, max;		/* OPT_U32, OPT_U64 */
	int val;		/* OPT_SET */
	unsigned int formats;	/* OPT_FORMAT; 0: all three */
	bool nonempty;		/* OPT_STR, OPT_STR_LIST: refuse "" */
	int (*fn)(const char *opt, const char *arg, void *dst);
				/* OPT_FN: takes the argument of --opt,
				 * or says why not and returns -EINVAL */
};

/* One entry: long name, short option (0: none), type, destination, then
 * any of the other fields by name. */
#define OPT(n, k, t, d, ...) \
	{ .name = (n), .key = (k), .type = (t), .dst = (d), __VA_ARGS__ }

/*
 * Parse the options of the command whose arguments are @argc, @argv
 * (argv[0] the command's name) by table @opts. -h and --help print @usage
 * and exit 0. An unknown option prints @usage on stderr; a wrong value
 * says which option and why ("--interval: '0' is not a number of seconds
 * from 1 to 3600"). Returns the index of the first operand, or -EINVAL.
 */
int opts_parse(int argc, char **argv, const struct opt *opts,
	       const char *usage);

/*
 * For commands without operands: says "CMD: unexpected argument 'X'"
 * when argv[@first] exists. Returns 0 or -EINVAL.
 */
int opts_none_left(int argc, char **argv, int first);

#endif /* TOLLGATE_OPTS_H */
