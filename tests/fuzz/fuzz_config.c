// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_config.c - libFuzzer target: arbitrary bytes as the YAML
 * configuration. Range files are checked but not read, so the target
 * never wanders the file system. A success must give a configuration
 * whose lookups work; a failure must say where.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const __u8 probe[16] = { [10] = 0xff, [11] = 0xff, [12] = 10 };
	struct tg_config *cfg = NULL;
	struct tg_err err = {};
	int ret;

	ret = config_parse((const char *)data, size, "fuzz.yaml",
			   TG_CONFIG_NO_RANGES, &cfg, &err);
	if (ret) {
		if (cfg || !err.msg[0] || strcmp(err.file, "fuzz.yaml"))
			abort();
		return 0;
	}
	if (!config_match(cfg, probe))
		abort();
	config_backend(cfg, probe, 80);
	config_service(cfg, 443, 6);
	config_free(cfg);
	return 0;
}
