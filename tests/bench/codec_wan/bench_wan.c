/* SPDX-License-Identifier: MIT */
/* bench_wan: the WAN encoding against zstd -1 and the dedup-then-zstd reference R, per VM, in one run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <xxhash.h>
#include <zstd.h>
#include "lh_stream.h"
#include "lh_wan.h"

#define MAX_FILES 64
#define BATCH (256u << 10)
#define REPS 5 /* best of: the host is shared, single runs are noisy */

/* Wall time and this thread's CPU time. The host's 2 cores are shared with other jobs, so wall
 * times swing by 2x between runs; CPU time (user + kernel, page faults included) is what the
 * targets are judged on, with zstd and the encoder measured the same way, interleaved. */
typedef struct {
	double wall, cpu;
} tspan;

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static tspan tnow(void) { return (tspan){ clock_s(CLOCK_MONOTONIC), clock_s(CLOCK_THREAD_CPUTIME_ID) }; }
static tspan tsince(tspan t0)
{
	tspan t = tnow();
	return (tspan){ t.wall - t0.wall, t.cpu - t0.cpu };
}
/* the whole process: both threads of a decoder that works ahead (lh_wan_dec_announce) */
static tspan tnow_proc(void) { return (tspan){ clock_s(CLOCK_MONOTONIC), clock_s(CLOCK_PROCESS_CPUTIME_ID) }; }
static tspan tsince_proc(tspan t0)
{
	tspan t = tnow_proc();
	return (tspan){ t.wall - t0.wall, t.cpu - t0.cpu };
}
static void tbest(tspan *best, tspan t, int first)
{
	if (first || t.wall < best->wall)
		best->wall = t.wall;
	if (first || t.cpu < best->cpu)
		best->cpu = t.cpu;
}

typedef struct {
	uint8_t *b;
	size_t len, cap;
} vec;

static void put(vec *v, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (v->len + n > v->cap) {
		size_t nc = v->cap ? v->cap * 2 : 1 << 20;
		while (nc < v->len + n)
			nc *= 2;
		v->b = realloc(v->b, nc);
		if (!v->b)
			abort();
		v->cap = nc;
	}
	memcpy(v->b + v->len, p, n);
	v->len += n;
}

static int load(const char *path, vec *v)
{
	FILE *f = fopen(path, "rb");
	uint8_t buf[1 << 16];
	size_t n;
	if (!f)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		put(v, buf, n);
	fclose(f);
	return 0;
}

/* ---- the reference R: exact page dedup (across all earlier VMs too), then zstd -1 ---- */

typedef struct {
	uint64_t *keys; /* open addressing on XXH3-128 low halves; hi stored alongside */
	uint64_t *his;
	size_t mask, n;
} hset;

static int hset_add(hset *h, XXH128_hash_t x) /* 1 if new */
{
	if (h->n * 2 >= h->mask) {
		hset o = *h;
		size_t cap = o.mask ? (o.mask + 1) * 2 : 1 << 16;
		h->keys = calloc(cap, 8);
		h->his = calloc(cap, 8);
		h->mask = cap - 1;
		h->n = 0;
		for (size_t i = 0; o.mask && i <= o.mask; i++)
			if (o.keys[i] || o.his[i])
				hset_add(h, (XXH128_hash_t){ .low64 = o.keys[i], .high64 = o.his[i] });
		free(o.keys);
		free(o.his);
	}
	for (size_t i = x.low64 & h->mask;; i = (i + 1) & h->mask) {
		if (!h->keys[i] && !h->his[i]) {
			h->keys[i] = x.low64;
			h->his[i] = x.high64;
			h->n++;
			return 1;
		}
		if (h->keys[i] == x.low64 && h->his[i] == x.high64)
			return 0;
	}
}

typedef struct {
	hset *seen;
	vec *kept;
	uint64_t pages, dup_pages;
} ref_ctx;

static int ref_cb(void *opaque, const lh_event *ev)
{
	ref_ctx *c = opaque;
	const uint8_t *page = NULL;
	if (ev->type == LH_EV_RAM_PAGE && ev->u.ram.data_len == 4096 && ev->u.ram.data == ev->raw + ev->raw_len - 4096)
		page = ev->u.ram.data;
	else if (ev->type == LH_EV_MULTIFD_PAGE && ev->raw_len == 4096)
		page = ev->raw;
	if (!page) {
		put(c->kept, ev->raw, ev->raw_len);
		return 0;
	}
	c->pages++;
	put(c->kept, ev->raw, ev->raw_len - 4096);
	if (hset_add(c->seen, XXH3_128bits(page, 4096)))
		put(c->kept, page, 4096);
	else
		c->dup_pages++;
	return 0;
}

/* `zstd -1 -T1` of p: its size (0 on error); the time into *secs and the
 * compressed bytes into *keep (the caller frees them) when asked for. */
static size_t zstd1_keep(const uint8_t *p, size_t n, tspan *secs, uint8_t **keep)
{
	size_t cap = ZSTD_compressBound(n);
	uint8_t *dst = malloc(cap);
	ZSTD_CCtx *c = ZSTD_createCCtx();
	/* like `zstd -1 -T1`: one frame, level 1, single thread */
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1);
	tspan t0 = tnow();
	size_t r = ZSTD_compress2(c, dst, cap, p, n);
	if (secs)
		*secs = tsince(t0);
	ZSTD_freeCCtx(c);
	if (keep && !ZSTD_isError(r))
		*keep = dst;
	else
		free(dst);
	return ZSTD_isError(r) ? 0 : r;
}

static size_t zstd1(const uint8_t *p, size_t n, tspan *secs) { return zstd1_keep(p, n, secs, NULL); }

/* zstd's own decompression speed on this machine, for scale: `zstd -1` of p, then the best
 * of REPS single-shot decompressions (CPU seconds into *secs). */
static void zstd1_decode_time(const uint8_t *p, size_t n, tspan *secs)
{
	uint8_t *z = NULL, *out = malloc(n);
	size_t zn = zstd1_keep(p, n, NULL, &z);
	ZSTD_DCtx *d = ZSTD_createDCtx();
	for (int rep = 0; rep < REPS && zn; rep++) {
		tspan t0 = tnow();
		size_t r = ZSTD_decompressDCtx(d, out, n, z, zn);
		if (ZSTD_isError(r) || r != n)
			break;
		tbest(secs, tsince(t0), rep == 0);
	}
	ZSTD_freeDCtx(d);
	free(out);
	free(z);
}

/* ---- the trace: pages that went as deltas against their previous version ---- */

typedef struct {
	vec pages[2];     /* [0] every DELTA_PREV page, [1] only small deltas (<= 256 bytes) */
	uint64_t dbytes[2];
} trace_ctx;

static void trace_cb(void *opaque, uint32_t sid, lh_wan_op op, const uint8_t *page, size_t enc_len)
{
	trace_ctx *t = opaque;
	if (op != LH_WAN_OP_DELTA_PREV)
		return;
	put(&t->pages[0], page, 4096);
	t->dbytes[0] += enc_len;
	if (enc_len <= 256) {
		put(&t->pages[1], page, 4096);
		t->dbytes[1] += enc_len;
	}
}

/* literal+zstd of those pages: zstd -1 in the encoder's batch size */
static size_t zstd_batches(const vec *v)
{
	size_t total = 0;
	for (size_t off = 0; off < v->len; off += BATCH)
		total += zstd1(v->b + off, v->len - off < BATCH ? v->len - off : BATCH, NULL);
	return total;
}

typedef struct {
	char name[512];
	int nfiles;
	const char *files[MAX_FILES];
	vec data[MAX_FILES];
	uint64_t raw, zraw, R, enc, enc_exact, pages, dup_pages;
	tspan enc_t, z_t;
	tspan encw_t;               /* with the zstd worker (LH_WAN_P_THREADS 2): wall, and both threads' CPU */
	lh_wan_stats st;
} vm_in;

/* commit: LH_WAN_P_STORE_COMMIT, and the first open (which starts the session and commits the
 * store) is left out of the first VM's time, as for a gateway session started long before.
 * exact_only: exact dedup, zero pages and zstd only (no deltas, no page transforms), for comparison.
 * threads: LH_WAN_P_THREADS; with 2, times are the whole process's CPU (both threads). */
static void encode_run(vm_in *vms, int nvm, int64_t store_mb, int commit, int exact_only, int threads,
		       trace_ctx *tr, vec *frames, tspan *times)
{
	static uint8_t frame[LH_WAN_FRAME_MAX];
	lh_wan_enc *e = lh_wan_enc_create();
	uint32_t sid = 1;
	lh_wan_enc_set_param(e, LH_WAN_P_STORE_MB, store_mb);
	lh_wan_enc_set_param(e, LH_WAN_P_STORE_COMMIT, commit);
	lh_wan_enc_set_param(e, LH_WAN_P_THREADS, threads);
	tspan (*now)(void) = threads > 1 ? tnow_proc : tnow;
	tspan (*since)(tspan) = threads > 1 ? tsince_proc : tsince;
	if (exact_only) { /* dedup, then zstd: no deltas, no page transforms */
		lh_wan_enc_set_param(e, LH_WAN_P_RESEMBLANCE, 0);
		lh_wan_enc_set_param(e, LH_WAN_P_DELTA_PREV, 0);
		lh_wan_enc_set_param(e, LH_WAN_P_PTR_REL, 0);
		lh_wan_enc_set_param(e, LH_WAN_P_REC_HDR, 0);
	}
	if (tr)
		lh_wan_enc_set_trace(e, trace_cb, tr);
	for (int k = 0; k < nvm; k++) {
		vm_in *v = &vms[k];
		/* the WAN encoding: this VM's channels round-robin in 1 MiB pieces, as they arrive live */
		size_t before = frames->len, off[MAX_FILES] = { 0 };
		tspan t0 = now();
		for (int f = 0; f < v->nfiles; f++) {
			lh_wan_enc_open(e, sid + (uint32_t)f, (uint32_t)k + 1, LH_CHAN_AUTO, v->files[f]);
			if (commit && k == 0 && f == 0)
				t0 = now();
		}
		for (int busy = 1; busy;) {
			busy = 0;
			for (int f = 0; f < v->nfiles; f++) {
				size_t n = v->data[f].len - off[f];
				if (n > (1u << 20))
					n = 1u << 20;
				if (!n)
					continue;
				busy = 1;
				long r = lh_wan_enc_feed(e, sid + (uint32_t)f, v->data[f].b + off[f], n);
				if (r < 0)
					exit(1);
				off[f] += (size_t)r;
				long m;
				while ((m = lh_wan_enc_pull(e, frame, sizeof(frame))) > 0)
					put(frames, frame, (size_t)m);
			}
		}
		for (int f = 0; f < v->nfiles; f++) {
			lh_wan_stats st;
			lh_wan_enc_end(e, sid + (uint32_t)f, &st);
			if (!tr)
				continue;
			for (int o = 0; o < LH_WAN_OP__COUNT; o++)
				v->st.pages[o] += st.pages[o];
			v->st.parse_fallbacks += st.parse_fallbacks;
			v->st.delta_bytes[0] += st.delta_bytes[0];
			v->st.delta_bytes[1] += st.delta_bytes[1];
			v->st.other_bytes += st.other_bytes;
		}
		long m;
		while ((m = lh_wan_enc_pull(e, frame, sizeof(frame))) > 0)
			put(frames, frame, (size_t)m);
		times[k] = since(t0);
		if (exact_only)
			v->enc_exact = frames->len - before;
		else
			v->enc = frames->len - before;
		sid += (uint32_t)v->nfiles;
	}
	lh_wan_enc_free(e);
}

/* Where one VM's encoded bytes go, from its frames: frame headers, ops, Z after zstd, R (raw pages). */
typedef struct {
	uint64_t hdr, ops, z, z_raw, b, b_raw, r, other_frames;
} wire_split;

static size_t get_varint(const uint8_t *p, size_t n, uint64_t *v)
{
	uint64_t r = 0;
	for (size_t i = 0; i < n && i < 10; i++) {
		r |= (uint64_t)(p[i] & 0x7F) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = r;
			return i + 1;
		}
	}
	return 0;
}

static void split_wire(const uint8_t *f, size_t len, wire_split *w)
{
	memset(w, 0, sizeof(*w));
	for (size_t at = 0; at < len;) {
		long n = lh_wan_frame_size(f + at, len - at);
		if (n <= 0)
			break;
		const uint8_t *b = f + at + LH_WAN_FRAME_HDR;
		uint64_t v[6] = { 0 };
		size_t k = 1;
		if (f[at + 3] == LH_WAN_FRAME_DATA) {
			/* flags bit 1: a B section (two more lengths), FORMAT.md */
			for (int i = 0; i < (b[0] & 2 ? 6 : 4); i++)
				k += get_varint(b + k, (size_t)n - LH_WAN_FRAME_HDR - k, &v[i]);
			w->hdr += LH_WAN_FRAME_HDR + k;
			/* flags bit 2: the ops travel at the end of Z (counted there) */
			w->ops += b[0] & 4 ? 0 : v[0];
			w->z_raw += v[1];
			w->z += v[2];
			w->r += v[3];
			w->b_raw += v[4];
			w->b += v[5];
		} else {
			w->other_frames += (uint64_t)n;
		}
		at += (size_t)n;
	}
}

static void target(const char *what, double got, const char *cmp, double want, const char *note)
{
	int met = !strcmp(cmp, "<=") ? got <= want : got >= want;
	printf("  %-58s %8.3f  (target %s %.2f)  %-8s %s\n", what, got, cmp, want, met ? "met" : "NOT MET", note);
}

int main(int argc, char **argv)
{
	int64_t store_mb = 1024;
	int reps = REPS, sizes_only = 0;
	vm_in vms[16];
	int nvm = 0;
	hset seen = { 0 };
	static uint8_t dst[LH_WAN_FRAME_RAW_MAX];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--sizes-only")) {
			/* encoded sizes only (one encode, no decode and no speed figures): another content model */
			sizes_only = 1;
			reps = 1;
			continue;
		}
		if (!strcmp(argv[i], "--store-mb") && i + 1 < argc) {
			store_mb = atoll(argv[++i]);
			continue;
		}
		if (nvm == 16)
			return 2;
		vm_in *v = &vms[nvm++];
		memset(v, 0, sizeof(*v));
		for (char *s = NULL, *tok = strtok_r(argv[i], ",", &s); tok && v->nfiles < MAX_FILES;
		     tok = strtok_r(NULL, ",", &s))
			v->files[v->nfiles++] = tok;
		/* shown as the first file's directory and the number of channels */
		const char *f0 = v->files[0], *slash = strrchr(f0, '/');
		int dl = slash ? (int)(slash - f0) : 0;
		snprintf(v->name, sizeof(v->name), "%.*s%s (%d file%s)", dl, f0, dl ? "" : ".", v->nfiles,
			 v->nfiles == 1 ? "" : "s");
	}
	if (!nvm) {
		fprintf(stderr, "usage: bench_wan [--store-mb N] [--sizes-only] VM1_FILE[,FILE...] [VM2...]\n");
		return 2;
	}

	trace_ctx tr = { 0 };
	vec frames = { 0 };
	for (int k = 0; k < nvm; k++) {
		vm_in *v = &vms[k];
		vec kept = { 0 };
		for (int f = 0; f < v->nfiles; f++) {
			if (load(v->files[f], &v->data[f]) < 0) {
				perror(v->files[f]);
				return 1;
			}
			v->raw += v->data[f].len;
			/* R: dedup against everything before, this VM's earlier pages included */
			ref_ctx rc = { &seen, &kept, 0, 0 };
			lh_parser *p = lh_parser_create();
			if (lh_parser_feed(p, v->data[f].b, v->data[f].len, ref_cb, &rc) < 0 || lh_parser_finish(p, ref_cb, &rc) < 0)
				fprintf(stderr, "bench_wan: %s: parser: %s\n", v->files[f], lh_parser_error(p)->detail);
			lh_parser_free(p);
			v->pages += rc.pages;
			v->dup_pages += rc.dup_pages;
		}
		v->R = zstd1(kept.b, kept.len, NULL);
		free(kept.b);
	}
	tspan enc1_commit_t = { 0, 0 };
	/* Speed, interleaved so both face the same load: zstd -1 of the raw capture file by file (how it
	 * would travel without longhaul), then the WAN encoding of the VMs in order through one fresh
	 * store (the first VM pays for committing store pages). Best of REPS for each. */
	for (int rep = 0; rep < reps; rep++) {
		for (int k = 0; k < nvm; k++) {
			vm_in *v = &vms[k];
			tspan sum = { 0, 0 }, t;
			v->zraw = 0;
			for (int f = 0; f < v->nfiles; f++) {
				v->zraw += zstd1(v->data[f].b, v->data[f].len, &t);
				sum.wall += t.wall;
				sum.cpu += t.cpu;
			}
			tbest(&v->z_t, sum, rep == 0);
		}
		tspan t[16];
		vec fr = { 0 };
		encode_run(vms, nvm, store_mb, 0, 0, 1, rep == 0 ? &tr : NULL, &fr, t);
		for (int k = 0; k < nvm; k++)
			tbest(&vms[k].enc_t, t[k], rep == 0);
		if (rep == 0)
			frames = fr;
		else
			free(fr.b);
		if (sizes_only)
			continue;
		vec fw = { 0 };
		encode_run(vms, nvm, store_mb, 0, 0, 2, NULL, &fw, t);
		for (int k = 0; k < nvm; k++)
			tbest(&vms[k].encw_t, t[k], rep == 0);
		if (fw.len != frames.len || memcmp(fw.b, frames.b, fw.len)) {
			fprintf(stderr, "bench_wan: the encoder with a worker thread gave other frames than without\n");
			exit(1);
		}
		free(fw.b);
		vec fc = { 0 };
		encode_run(vms, nvm, store_mb, 1, 0, 1, NULL, &fc, t);
		tbest(&enc1_commit_t, t[0], rep == 0);
		free(fc.b);
	}
	/* what the deltas add: the same encoder with exact dedup only (the issue expects ~0.85 x R there) */
	{
		tspan t[16];
		vec fx = { 0 };
		encode_run(vms, nvm, store_mb, 0, 1, 1, NULL, &fx, t);
		free(fx.b);
	}

	/* decode everything, in order (best of REPS fresh decoders); END frames verify every stream.
	 * [0]: the store is committed page by page as it fills (the kernel zeroes each page on first
	 * write, inside the timed decode). [1]: LH_WAN_P_STORE_COMMIT, the store committed at HELLO,
	 * as a gateway session does long before its first migration: HELLO is timed on its own. */
	/* for scale: how fast this machine's zstd decodes the raw captures' zstd -1 */
	tspan zdec_t = { 0, 0 };
	uint64_t zdec_bytes = 0;
	for (int k = 0; k < nvm && !sizes_only; k++)
		for (int f = 0; f < vms[k].nfiles; f++) {
			tspan t = { 0, 0 };
			zstd1_decode_time(vms[k].data[f].b, vms[k].data[f].len, &t);
			zdec_t.cpu += t.cpu;
			zdec_t.wall += t.wall;
			zdec_bytes += vms[k].data[f].len;
		}
	/* [2], [3]: the same with frames announced ahead (lh_wan_dec_announce), their zstd sections
	 * decompressed on a second thread: wall time is what counts there; cpu is both threads' (the process's) */
	uint64_t out_bytes = 0;
	tspan dec_t[4] = { { 0, 0 } }, hello_t = { 0, 0 };
	for (int rep = 0; rep < 4 * reps; rep++) { /* sizes only: still decoded once, to verify */
		int commit = rep & 1, ahead = (rep >> 1) & 1;
		lh_wan_dec *d = lh_wan_dec_create();
		lh_wan_dec_set_param(d, LH_WAN_P_STORE_COMMIT, commit);
		out_bytes = 0;
		tspan t0 = ahead ? tnow_proc() : tnow();
		size_t ann = 0; /* ahead: frames from here on are not announced yet */
		for (size_t at = 0; at < frames.len;) {
			long n = lh_wan_frame_size(frames.b + at, frames.len - at);
			/* announce this frame (when nothing is queued) and up to AHEAD-1 after it */
			for (int k = 0; ahead && k < LH_WAN_DEC_AHEAD_MAX; k++) {
				size_t p = ann > at ? ann : at;
				long pn = p < frames.len ? lh_wan_frame_size(frames.b + p, frames.len - p) : 0;
				if (pn <= 0 || lh_wan_dec_announce(d, frames.b + p, (size_t)pn) != 1)
					break;
				ann = p + (size_t)pn;
			}
			lh_wan_frame_info info;
			long r = lh_wan_dec_frame(d, frames.b + at, (size_t)n, dst, sizeof(dst), &info);
			if (r < 0) {
				fprintf(stderr, "bench_wan: decode%s: %s: %s\n", ahead ? " ahead" : "",
					lh_err_name((int)r), lh_wan_dec_error(d)->detail);
				return 1;
			}
			out_bytes += (uint64_t)r;
			at += (size_t)n;
			if (commit && info.type == LH_WAN_FRAME_HELLO) {
				if (!ahead)
					tbest(&hello_t, tsince(t0), rep < 2);
				t0 = ahead ? tnow_proc() : tnow();
			}
		}
		tbest(&dec_t[2 * ahead + commit], ahead ? tsince_proc(t0) : tsince(t0), rep < 4);
		lh_wan_dec_free(d);
	}

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);

	printf("\n%-44s %10s %10s %10s %10s %8s %8s %9s %9s\n", "input (VM, in order, one store)", "raw MB",
	       "zstd-1 MB", "R MB", "enc MB", "enc/R", "enc/zstd", "enc MB/s", "zstd MB/s");
	uint64_t traw = 0;
	double tenc = 0, tz = 0;
	for (int k = 0; k < nvm; k++) {
		vm_in *v = &vms[k];
		const char *nm = v->name;
		size_t nl = strlen(nm);
		printf("%-44s %10.2f %10.2f %10.2f %10.2f %8.3f %8.3f %9.0f %9.0f\n", nl > 44 ? nm + nl - 44 : nm,
		       v->raw / 1e6, v->zraw / 1e6, v->R / 1e6, v->enc / 1e6, (double)v->enc / (double)v->R,
		       (double)v->enc / (double)v->zraw, v->raw / 1e6 / v->enc_t.cpu, v->raw / 1e6 / v->z_t.cpu);
		traw += v->raw;
		tenc += v->enc_t.cpu;
		tz += v->z_t.cpu;
	}
	printf("\npages by operation (per VM): zero ref delta_prev delta_sim literal literal_raw | R: pages, exact dups\n");
	for (int k = 0; k < nvm; k++) {
		const uint64_t *p = vms[k].st.pages;
		printf("  VM %d: %llu %llu %llu %llu %llu %llu | %llu %llu%s\n", k + 1, (unsigned long long)p[0],
		       (unsigned long long)p[1], (unsigned long long)p[2], (unsigned long long)p[3], (unsigned long long)p[4],
		       (unsigned long long)p[5], (unsigned long long)vms[k].pages, (unsigned long long)vms[k].dup_pages,
		       vms[k].st.parse_fallbacks ? " (parser fallback!)" : "");
	}
	printf("\nincompressible pages (sent raw, random content private to a VM) bound every design:\n");
	for (int k = 0; k < nvm; k++) {
		double rawp = (double)vms[k].st.pages[LH_WAN_OP_LITERAL_RAW] * 4096;
		printf("  VM %d: %.2f MB of them (%.3f x R alone); without them enc/R = %.3f\n", k + 1, rawp / 1e6,
		       rawp / (double)vms[k].R, ((double)vms[k].enc - rawp) / ((double)vms[k].R - rawp));
	}
	printf("\nwhere the encoded bytes go (MB): frame headers, ops outside Z, Z and B after zstd <- before zstd "
	       "(literal pages in Z and B + deltas + other stream bytes; Z also holds the ops), R (raw pages), "
	       "other frames\n");
	size_t at = 0;
	for (int k = 0; k < nvm; k++) {
		wire_split w;
		const lh_wan_stats *st = &vms[k].st;
		split_wire(frames.b + at, vms[k].enc, &w);
		at += vms[k].enc;
		printf("  VM %d: hdr %.3f, ops %.3f, Z %.3f + B %.3f <- %.2f + %.2f (%.2f + %.2f + %.2f), R %.2f, other %.3f\n",
		       k + 1, w.hdr / 1e6, w.ops / 1e6, w.z / 1e6, w.b / 1e6, w.z_raw / 1e6, w.b_raw / 1e6,
		       st->pages[LH_WAN_OP_LITERAL] * 4096 / 1e6, (st->delta_bytes[0] + st->delta_bytes[1]) / 1e6,
		       st->other_bytes / 1e6, w.r / 1e6, w.other_frames / 1e6);
	}
	size_t zl0 = zstd_batches(&tr.pages[0]), zl1 = zstd_batches(&tr.pages[1]);
	printf("\nre-sent pages as deltas against their previous version:\n");
	printf("  all:   %zu pages, literal+zstd-1 %zu B, delta %llu B (before zstd): %.1fx smaller\n",
	       tr.pages[0].len / 4096, zl0, (unsigned long long)tr.dbytes[0], tr.dbytes[0] ? (double)zl0 / tr.dbytes[0] : 0);
	printf("  small (delta <= 256 B): %zu pages, literal+zstd-1 %zu B, delta %llu B: %.1fx smaller\n",
	       tr.pages[1].len / 4096, zl1, (unsigned long long)tr.dbytes[1], tr.dbytes[1] ? (double)zl1 / tr.dbytes[1] : 0);
	printf("\nexact dedup alone (the same encoder without deltas and page transforms) against all of it:\n");
	for (int k = 0; k < nvm; k++)
		printf("  VM %d: enc/R %.3f exact dedup alone, %.3f with deltas\n", k + 1,
		       (double)vms[k].enc_exact / (double)vms[k].R, (double)vms[k].enc / (double)vms[k].R);
	if (sizes_only) {
		printf("\nsizes (issue 3 size targets; speed is measured on the default captures):\n");
		target("VM 1: enc / R", (double)vms[0].enc / (double)vms[0].R, "<=", 0.95, "");
		for (int k = 1; k < nvm; k++) {
			char what[64];
			snprintf(what, sizeof(what), "VM %d (same image, same store): enc / R", k + 1);
			target(what, (double)vms[k].enc / (double)vms[k].R, "<=", 0.35, "");
		}
		return 0;
	}
	printf("\nspeed (CPU time of this thread, best of %d, interleaved; wall time in brackets):\n", REPS);
	for (int k = 0; k < nvm; k++)
		printf("  VM %d: encode %.0f MB/s [%.0f] vs zstd -1 -T1 %.0f MB/s [%.0f] on the same bytes: %.2fx [%.2fx]\n",
		       k + 1, vms[k].raw / 1e6 / vms[k].enc_t.cpu, vms[k].raw / 1e6 / vms[k].enc_t.wall,
		       vms[k].raw / 1e6 / vms[k].z_t.cpu, vms[k].raw / 1e6 / vms[k].z_t.wall,
		       vms[k].z_t.cpu / vms[k].enc_t.cpu, vms[k].z_t.wall / vms[k].enc_t.wall);
	for (int k = 0; k < nvm; k++)
		printf("  VM %d with the zstd worker thread (LH_WAN_P_THREADS 2, same frames): encode %.0f MB/s wall vs "
		       "zstd -1 -T1 %.0f MB/s wall: %.2fx; both threads' CPU %.0f MB/s per second\n",
		       k + 1, vms[k].raw / 1e6 / vms[k].encw_t.wall, vms[k].raw / 1e6 / vms[k].z_t.wall,
		       vms[k].z_t.wall / vms[k].encw_t.wall, vms[k].raw / 1e6 / vms[k].encw_t.cpu);
	printf("  VM 1 with the store committed at session start (LH_WAN_P_STORE_COMMIT): encode %.0f MB/s: %.2fx\n",
	       vms[0].raw / 1e6 / enc1_commit_t.cpu, vms[0].z_t.cpu / enc1_commit_t.cpu);
	printf("  all:  encode %.0f MB/s vs zstd -1 -T1 %.0f MB/s: %.2fx\n", traw / 1e6 / tenc, traw / 1e6 / tz, tz / tenc);
	printf("  decode %.2f GB/s of output [%.2f] (%llu bytes from fresh decoders, every stream's XXH3-128 verified)\n",
	       out_bytes / 1e9 / dec_t[0].cpu, out_bytes / 1e9 / dec_t[0].wall, (unsigned long long)out_bytes);
	printf("  decode %.2f GB/s of output [%.2f] with the store committed at HELLO (LH_WAN_P_STORE_COMMIT; "
	       "HELLO took %.0f ms CPU)\n",
	       out_bytes / 1e9 / dec_t[1].cpu, out_bytes / 1e9 / dec_t[1].wall, hello_t.cpu * 1e3);
	for (int c = 0; c < 2; c++)
		printf("  decode ahead (two threads: lh_wan_dec_announce), %s: %.2f GB/s of output in wall time, "
		       "%.2f GB/s per CPU second of both threads\n", c ? "store committed at HELLO" : "fresh store",
		       out_bytes / 1e9 / dec_t[2 + c].wall, out_bytes / 1e9 / dec_t[2 + c].cpu);
	printf("  for scale: zstd -d of the raw captures' zstd -1 runs at %.2f GB/s of output [%.2f] here\n",
	       zdec_bytes / 1e9 / zdec_t.cpu, zdec_bytes / 1e9 / zdec_t.wall);
	printf("peak RSS of this process %.0f MiB (it also holds the inputs and all frames: %.0f MiB)\n",
	       ru.ru_maxrss / 1024.0, (traw + frames.len) / 1048576.0);

	/* issue 3 targets: the first VM fills the store, later VMs of the same image reuse it */
	char note[160];
	printf("\ntargets (issue 3), this run:\n");
	target("VM 1: enc / R", (double)vms[0].enc / (double)vms[0].R, "<=", 0.95, "");
	target("VM 1: enc / zstd -1 of the raw capture", (double)vms[0].enc / (double)vms[0].zraw, "<=", 0.92, "");
	for (int k = 1; k < nvm; k++) {
		double rawp = (double)vms[k].st.pages[LH_WAN_OP_LITERAL_RAW] * 4096;
		snprintf(note, sizeof(note), "(exact dedup alone: %.3f; its incompressible private pages alone: %.3f x R)",
			 (double)vms[k].enc_exact / (double)vms[k].R, rawp / (double)vms[k].R);
		char what[64];
		snprintf(what, sizeof(what), "VM %d (same image, same store): enc / R", k + 1);
		target(what, (double)vms[k].enc / (double)vms[k].R, "<=", 0.35, note);
	}
	target("re-sent pages: literal+zstd / delta", tr.dbytes[0] ? (double)zl0 / tr.dbytes[0] : 0, ">=", 20, "");
	snprintf(note, sizeof(note), "(wall: %.2fx)", vms[0].z_t.wall / vms[0].enc_t.wall);
	target("VM 1: encode, one thread / zstd -1 -T1 (CPU)", vms[0].z_t.cpu / vms[0].enc_t.cpu, ">=", 1.0, note);
	target("VM 1: the same, store committed at session start", vms[0].z_t.cpu / enc1_commit_t.cpu, ">=", 1.0, "");
	snprintf(note, sizeof(note), "(VM 2: %.2fx; both threads' CPU against zstd's: %.2fx)",
		 nvm > 1 ? vms[1].z_t.wall / vms[1].encw_t.wall : 0, vms[0].z_t.cpu / vms[0].encw_t.cpu);
	target("VM 1: encode with the zstd worker / zstd -1 -T1 (wall)", vms[0].z_t.wall / vms[0].encw_t.wall, ">=", 1.0,
	       note);
	snprintf(note, sizeof(note), "(wall: %.2f GB/s; %.2fx this machine's zstd -d)", out_bytes / 1e9 / dec_t[0].wall,
		 (out_bytes / dec_t[0].cpu) / (zdec_bytes / zdec_t.cpu));
	target("decode GB/s of output (CPU), fresh store", out_bytes / 1e9 / dec_t[0].cpu, ">=", 2.0, note);
	snprintf(note, sizeof(note), "(wall: %.2f GB/s; %.2fx zstd -d; committing %lld MiB at HELLO: %.0f ms)",
		 out_bytes / 1e9 / dec_t[1].wall, (out_bytes / dec_t[1].cpu) / (zdec_bytes / zdec_t.cpu),
		 (long long)store_mb, hello_t.cpu * 1e3);
	target("decode GB/s of output (CPU), store committed at HELLO", out_bytes / 1e9 / dec_t[1].cpu, ">=", 2.0, note);
	snprintf(note, sizeof(note), "(%.2fx one thread's wall time; both threads' CPU: %.2f GB/s per second)",
		 dec_t[0].wall / dec_t[2].wall, out_bytes / 1e9 / dec_t[2].cpu);
	target("decode ahead, two threads: GB/s of output (wall), fresh store", out_bytes / 1e9 / dec_t[2].wall, ">=", 2.0,
	       note);
	snprintf(note, sizeof(note), "(%.2fx one thread's wall time; both threads' CPU: %.2f GB/s per second)",
		 dec_t[1].wall / dec_t[3].wall, out_bytes / 1e9 / dec_t[3].cpu);
	target("decode ahead, two threads: the same, store committed at HELLO", out_bytes / 1e9 / dec_t[3].wall, ">=",
	       2.0, note);
	printf("  memory: see lhcodec's peak RSS below (run-bench)\n");
	return 0;
}
