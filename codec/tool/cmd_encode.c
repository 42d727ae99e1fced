/* SPDX-License-Identifier: MIT */
/* lhcodec encode: captured streams -> one file of WAN frames, through one page store. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "lh_wan.h"
#include "lhcodec.h"
#include "wan_cli.h"

#define CHUNK (1u << 20)

typedef struct {
	const char *path;
	FILE *f;
	const uint8_t *map;         /* a regular file is mapped: no copy out of the page cache */
	size_t map_len, map_off;
	uint32_t sid, vm;
	int done;
	lh_wan_stats st;
} input;

static int drain(lh_wan_enc *e, FILE *out, uint8_t *frame, double *t)
{
	for (;;) {
		double t0 = lh_cli_now();
		long n = lh_wan_enc_pull(e, frame, LH_WAN_FRAME_MAX);
		*t += lh_cli_now() - t0;
		if (n < 0)
			return (int)n;
		if (n == 0)
			return 0;
		if (fwrite(frame, 1, (size_t)n, out) != (size_t)n)
			return -LH_E_STATE;
	}
}

/*
 * A mapped input that another process truncates while we read it raises
 * SIGBUS at the first page past its new end. That is bad input, not a crash:
 * the handler returns to feed_chunk, which reports it. Nothing else runs
 * with the jump armed, and the encoder only reads the input there (no
 * allocation is ever interrupted), so it can still be freed afterwards.
 */
static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_armed;

static void on_sigbus(int sig)
{
	if (bus_armed)
		siglongjmp(bus_jmp, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Feeds one chunk of an input, draining frames whenever the encoder asks. */
static int feed_chunk(lh_wan_enc *e, input *in, FILE *out, uint8_t *buf, uint8_t *frame, double *t)
{
	size_t n;
	int r;
	if (in->map && sigsetjmp(bus_jmp, 1)) {
		bus_armed = 0;
		fprintf(stderr, "lhcodec encode: %s: the file shrank while it was being read (now shorter than %zu bytes)\n",
			in->path, in->map_len);
		return -1;
	}
	if (in->map) {
		n = in->map_len - in->map_off < CHUNK ? in->map_len - in->map_off : CHUNK;
		buf = (uint8_t *)in->map + in->map_off;
		in->map_off += n;
	} else {
		n = fread(buf, 1, CHUNK, in->f);
	}
	if (n == 0) {
		if (!in->map && ferror(in->f)) {
			fprintf(stderr, "lhcodec encode: %s: %s\n", in->path, strerror(errno));
			return -1;
		}
		double t0 = lh_cli_now();
		r = lh_wan_enc_end(e, in->sid, &in->st);
		*t += lh_cli_now() - t0;
		in->done = 1;
		return r < 0 ? r : drain(e, out, frame, t);
	}
	for (size_t off = 0; off < n;) {
		double t0 = lh_cli_now();
		bus_armed = in->map != NULL;
		long k = lh_wan_enc_feed(e, in->sid, buf + off, n - off);
		bus_armed = 0;
		*t += lh_cli_now() - t0;
		if (k < 0)
			return (int)k;
		off += (size_t)k;
		if ((r = drain(e, out, frame, t)) < 0)
			return r;
	}
	/* the encoder keeps no pointer into what it was fed: drop the chunk from this process, or the
	 * mapped inputs would count in its memory (the page cache keeps them) */
	if (in->map)
		madvise(buf, n, MADV_DONTNEED);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: lhcodec encode [--store-mb N] [--level auto|0..19] [--no-resemblance] [--no-delta]\n"
			"                      [--threads 1|2] [--stats] IN[,IN...] [IN...] OUT\n"
			"  IN,IN,...: channels of one migration (main,multifd...), encoded as one VM\n"
			"  --threads 2 (default): zstd compresses each frame on a worker thread while the next\n"
			"  is built, like zstd -T1; 1: one thread. The output is the same either way.\n");
}

int encode_main(int argc, char **argv)
{
	lh_wan_enc *e = lh_wan_enc_create();
	int64_t store_mb = 1024, level = LH_WAN_LEVEL_AUTO;
	int stats = 0, resemblance = 1, delta = 1, threads = 2, rc = 1, r = 0;
	const char *paths[256];
	uint32_t vms[256];
	int npaths = 0, nvm = 0;
	input *ins = NULL;
	FILE *out = NULL;
	uint8_t *buf = malloc(CHUNK), *frame = malloc(LH_WAN_FRAME_MAX);
	double t = 0;

	if (!e || !buf || !frame)
		goto out;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--store-mb") && i + 1 < argc) {
			store_mb = strtoll(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--level") && i + 1 < argc) {
			i++;
			level = !strcmp(argv[i], "auto") ? LH_WAN_LEVEL_AUTO : strtoll(argv[i], NULL, 10);
		} else if (!strcmp(argv[i], "--stats")) {
			stats = 1;
		} else if (!strcmp(argv[i], "--no-resemblance")) {
			resemblance = 0;
		} else if (!strcmp(argv[i], "--no-delta")) {
			delta = 0;
		} else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
			threads = atoi(argv[++i]);
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "lhcodec encode: unknown option `%s'\n", argv[i]);
			usage();
			goto out;
		} else {
			/* a comma-separated group is one VM: its channels share page history */
			char *save = NULL;
			for (char *tok = strtok_r(argv[i], ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				if (npaths == 256)
					goto out;
				vms[npaths] = (uint32_t)nvm;
				paths[npaths++] = tok;
			}
			nvm++;
		}
	}
	if (npaths < 2 || vms[npaths - 1] == vms[npaths - 2]) {
		usage();
		goto out;
	}
	npaths--; /* the last one is OUT */
	if (lh_wan_enc_set_param(e, LH_WAN_P_STORE_MB, store_mb) < 0 ||
	    lh_wan_enc_set_param(e, LH_WAN_P_LEVEL, level) < 0 || lh_wan_enc_set_param(e, LH_WAN_P_THREADS, threads) < 0) {
		fprintf(stderr, "lhcodec encode: --store-mb, --level or --threads out of range\n");
		goto out;
	}
	lh_wan_enc_set_param(e, LH_WAN_P_RESEMBLANCE, resemblance);
	lh_wan_enc_set_param(e, LH_WAN_P_DELTA_PREV, delta);
	ins = calloc((size_t)npaths, sizeof(*ins));
	if (!ins)
		goto out;
	for (int i = 0; i < npaths; i++) {
		ins[i].path = paths[i];
		ins[i].sid = (uint32_t)i + 1;
		ins[i].vm = vms[i] + 1;
		if (!(ins[i].f = fopen(paths[i], "rb"))) {
			fprintf(stderr, "lhcodec encode: %s: %s\n", paths[i], strerror(errno));
			goto out;
		}
		if (lh_cli_is_file(paths[npaths], fileno(ins[i].f))) { /* opening OUT would empty it */
			fprintf(stderr, "lhcodec encode: OUT %s is also an input\n", paths[npaths]);
			goto out;
		}
		struct stat sb;
		if (fstat(fileno(ins[i].f), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) {
			void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fileno(ins[i].f), 0);
			if (m != MAP_FAILED) { /* else read() it */
				madvise(m, (size_t)sb.st_size, MADV_SEQUENTIAL);
				ins[i].map = m;
				ins[i].map_len = (size_t)sb.st_size;
			}
		}
	}
	if (!(out = fopen(paths[npaths], "wb"))) {
		fprintf(stderr, "lhcodec encode: %s: %s\n", paths[npaths], strerror(errno));
		goto out;
	}
	signal(SIGBUS, on_sigbus);
	/* VMs one after another; the channels of one VM round-robin, as they arrive live */
	for (int first = 0; first < npaths && r >= 0;) {
		int last = first;
		while (last + 1 < npaths && ins[last + 1].vm == ins[first].vm)
			last++;
		for (int i = first; i <= last && r >= 0; i++)
			r = lh_wan_enc_open(e, ins[i].sid, ins[i].vm, LH_CHAN_AUTO, lh_cli_basename(ins[i].path));
		for (int busy = 1; busy && r >= 0;) {
			busy = 0;
			for (int i = first; i <= last && r >= 0; i++) {
				if (ins[i].done)
					continue;
				busy = 1;
				r = feed_chunk(e, &ins[i], out, buf, frame, &t);
			}
		}
		first = last + 1;
	}
	if (r == -1)
		goto out;
	if (r < 0) {
		const lh_wan_error *er = lh_wan_enc_error(e);
		fprintf(stderr, "lhcodec encode: %s (%s)\n", lh_err_name(r), er->code ? er->detail : "");
		goto out;
	}
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "lhcodec encode: %s: write error\n", paths[npaths]);
		goto out;
	}
	if (stats) {
		printf("{");
		lh_cli_print_stats(stdout, lh_wan_enc_stats(e), t);
		printf(", \"store_mb\": %lld, \"inputs\": [", (long long)store_mb);
		for (int i = 0; i < npaths; i++) {
			printf("%s{\"name\": ", i ? ", " : "");
			lh_cli_json_string(stdout, ins[i].path);
			printf(", \"vm\": %u, ", ins[i].vm);
			lh_cli_print_stats(stdout, &ins[i].st, -1);
			printf("}");
		}
		printf("]}\n");
	}
	rc = 0;
out:
	if (ins)
		for (int i = 0; i < npaths; i++)
			if (ins[i].f) {
				if (ins[i].map)
					munmap((void *)ins[i].map, ins[i].map_len);
				fclose(ins[i].f);
			}
	/* a half-written file must not look like an encoding of the inputs (a pipe or device stays) */
	struct stat ob;
	int out_reg = out && fstat(fileno(out), &ob) == 0 && S_ISREG(ob.st_mode);
	if (out && fclose(out) != 0)
		rc = 1;
	if (out_reg && rc != 0)
		remove(paths[npaths]);
	free(ins);
	free(buf);
	free(frame);
	lh_wan_enc_free(e);
	return rc;
}
