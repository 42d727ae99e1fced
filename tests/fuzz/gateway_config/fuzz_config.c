/* SPDX-License-Identifier: MIT */
/* libFuzzer: config parser via init/line/finish; a config that parses must round-trip through its INI view. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/base/config.h"
#include "gateway/base/json.h"
#include "gateway/base/log.h"

static int parse_buf(const char *data, size_t size, struct lh_config *cfg,
		     struct lh_config_errors *errs)
{
	struct lh_config_parser p;
	size_t off = 0;

	lh_config_parse_init(&p, cfg, errs, "fuzz.conf");
	while (off < size) {
		const char *nl = memchr(data + off, '\n', size - off);
		size_t n = nl ? (size_t)(nl - (data + off)) : size - off;
		lh_config_parse_line(&p, data + off, n);
		off += n + 1;
	}
	return lh_config_parse_finish(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lh_config_errors errs, errs2;
	struct lh_config cfg, again;
	static int init;

	if (!init) {
		log_init("fuzz_config", LH_LOG_WARN, 1);
		init = 1;
	}
	if (size > 1 << 16)
		return 0;
	int rc = parse_buf((const char *)data, size, &cfg, &errs);
	for (unsigned i = 0; i < errs.n && i < LH_CFG_MAX_ERRORS; i++)
		if (strncmp(errs.msg[i], "fuzz.conf:", 10) != 0)
			abort(); /* every message names the file and line */
	if (rc == 0) {
		char *ini = NULL, reason[512];
		size_t len = 0;
		FILE *f = open_memstream(&ini, &len);
		lh_config_write_ini(&cfg, f);
		fclose(f);
		if (parse_buf(ini, len, &again, &errs2) != 0) {
			fprintf(stderr, "INI view does not parse back:\n%s\n", ini);
			lh_config_errors_print(&errs2, stderr);
			abort();
		}
		if (lh_config_reload_check(&cfg, &again, reason, sizeof(reason)) != 0 ||
		    again.n_routes != cfg.n_routes) {
			fprintf(stderr, "INI view differs: %s\n%s\n", reason, ini);
			abort();
		}
		struct lh_jbuf jb;
		struct lh_jdoc doc;
		char err[200];
		lh_jbuf_init(&jb);
		lh_json_obj_begin(&jb, NULL);
		lh_config_to_json(&cfg, &jb);
		lh_json_obj_end(&jb);
		if (jb.oom || lh_json_parse(&doc, jb.buf, jb.len, 8, err, sizeof(err)) != 0) {
			fprintf(stderr, "JSON view does not parse: %s\n%s\n", err, jb.buf);
			abort();
		}
		lh_jdoc_free(&doc);
		lh_jbuf_free(&jb);
		lh_config_free(&again);
		free(ini);
	}
	lh_config_free(&cfg);
	return 0;
}
