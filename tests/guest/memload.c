// SPDX-License-Identifier: MIT
// memload: test-guest workload that fills memory with realistic pages, keeps dirtying them and verifies every page.
//
// Configured from the kernel command line (/proc/cmdline), or from --cmdline "..." when run on a host
// (--dump FILE then writes the filled memory to FILE and exits, to study the content model):
//   lh.mem=MB        active memory (default 64)
//   lh.seed=N        layout seed: page order and the guest's private edits (default 1)
//   lh.image=N       image seed: the content every guest of this "image" shares (default fixed)
//   lh.dirty=P       pages edited per second (default 256; 0 = never)
//   lh.edit=MODE     small | full | mix (default mix = 85 % small edits, 15 % full rewrites)
//   lh.mix=Z,D,T,R   percent of zero, duplicated-template, text and random pages (default 25,20,35,20)
//   lh.private=P     percent of the random pages private to this guest, the rest the image's (default 50)
//   lh.check=MS      start a full verification pass at most every MS milliseconds (default 1000)
//   lh.corrupt=S     negative control: S seconds after LH-READY flip one bit of one page behind the checksum's back
//   lh.run=S         exit after S seconds (default 0 = forever; for host runs)
//
// Content model ("same image, own layout"): logical page L's content depends only on lh.image and L, so two
// guests of one image hold the same page contents. lh.seed permutes which slot (virtual page, and so
// roughly which guest-physical frame) holds which logical page, decides the private share of the random pages
// and a 5 % sprinkle of private small edits.
//
// Verification: a 64-bit XXH3 (seeded with the slot number) per slot. Every edit first re-verifies the page,
// then changes it and re-hashes it; each edit writes a unique, increasing sequence number into the page, so
// one lost write leaves a page whose hash no longer matches, and a later edit cannot hide it.
// Console protocol (one line each, on stdout = /dev/console = ttyS0):
//   LH-START ..., LH-MARKER nonce=<32 hex> slot=S, LH-READY ..., LH-MEMCHECK ok gen=G pages=N ...,
//   LH-MEMCHECK FAIL page=S ..., LH-MEMCHECK FAIL gen=G bad=K ..., LH-CORRUPT page=S
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define NTEMPLATES 12u
#define CORPUS_LINES 6000u
#define VERIFY_SLICE 256u /* pages hashed between two dirtying rounds */
#define MAX_FAIL_LINES 8u

enum edit_mode { EDIT_SMALL, EDIT_FULL, EDIT_MIX };
enum page_class { PC_ZERO, PC_TEMPLATE, PC_TEXT, PC_RANDOM };

struct config {
	uint64_t mem_mb, seed, image, dirty, check_ms, run_s;
	int64_t corrupt_s;
	enum edit_mode edit;
	unsigned mix[4]; /* percent per enum page_class */
	unsigned private_pct; /* of PC_RANDOM pages, private to this guest */
};

struct state {
	struct config cfg;
	uint8_t *mem;
	uint64_t *sums;
	size_t npages, marker_slot;
	char **corpus;
	size_t *corpus_len;
	uint8_t *templates;
	uint64_t seq, edits, rng, gen;
	uint64_t class_count[4];
	uint64_t fail_total;
};

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t
mix2(uint64_t a, uint64_t b)
{
	uint64_t s = a ^ (b * 0xd6e8feb86659fd93ull);
	return splitmix(&s);
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* ---- configuration ---- */

static bool
parse_u64(const char *key, const char *val, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(val, &end, 0);
	if (errno || end == val || (*end && *end != ' ' && *end != '\n')) {
		say("LH-ERROR bad value for %s: `%s'", key, val);
		return false;
	}
	*out = v;
	return true;
}

static bool
parse_mix(const char *val, unsigned mix[4])
{
	unsigned z, d, t, r;
	if (sscanf(val, "%u,%u,%u,%u", &z, &d, &t, &r) != 4 || z + d + t + r != 100) {
		say("LH-ERROR lh.mix wants Z,D,T,R summing to 100: `%s'", val);
		return false;
	}
	mix[PC_ZERO] = z, mix[PC_TEMPLATE] = d, mix[PC_TEXT] = t, mix[PC_RANDOM] = r;
	return true;
}

static bool
apply_option(struct config *c, const char *key, const char *val)
{
	uint64_t v;
	if (!strcmp(key, "mem"))
		return parse_u64(key, val, &c->mem_mb) && c->mem_mb > 0;
	if (!strcmp(key, "seed"))
		return parse_u64(key, val, &c->seed);
	if (!strcmp(key, "image"))
		return parse_u64(key, val, &c->image);
	if (!strcmp(key, "dirty"))
		return parse_u64(key, val, &c->dirty);
	if (!strcmp(key, "check"))
		return parse_u64(key, val, &c->check_ms);
	if (!strcmp(key, "run"))
		return parse_u64(key, val, &c->run_s);
	if (!strcmp(key, "corrupt")) {
		if (!parse_u64(key, val, &v))
			return false;
		c->corrupt_s = (int64_t)v;
		return true;
	}
	if (!strcmp(key, "mix"))
		return parse_mix(val, c->mix);
	if (!strcmp(key, "private")) {
		if (!parse_u64(key, val, &v))
			return false;
		if (v > 100) {
			say("LH-ERROR lh.private wants a percentage 0..100: `%s'", val);
			return false;
		}
		c->private_pct = (unsigned)v;
		return true;
	}
	if (!strcmp(key, "edit")) {
		if (!strncmp(val, "small", 5))
			c->edit = EDIT_SMALL;
		else if (!strncmp(val, "full", 4))
			c->edit = EDIT_FULL;
		else if (!strncmp(val, "mix", 3))
			c->edit = EDIT_MIX;
		else {
			say("LH-ERROR lh.edit wants small|full|mix: `%s'", val);
			return false;
		}
		return true;
	}
	return true; /* lh.ip and friends belong to /init */
}

static bool
parse_cmdline(struct config *c, const char *line)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", line);
	for (char *save = NULL, *tok = strtok_r(buf, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		if (strncmp(tok, "lh.", 3))
			continue;
		char *eq = strchr(tok, '=');
		if (!eq)
			continue;
		*eq = '\0';
		if (!apply_option(c, tok + 3, eq + 1))
			return false;
	}
	return true;
}

/* ---- content generators (all driven by the image seed unless noted) ---- */

static const char *const words[] = {
	"alpha", "backup", "cache", "daemon", "eth0", "fsync", "gateway", "handshake", "inode", "journal",
	"kernel", "lease", "mount", "netlink", "offset", "packet", "queue", "replica", "session", "timeout",
	"uplink", "volume", "worker", "xfer", "zone", "accepted", "closed", "connection", "dropped", "error",
	"failed", "granted", "heartbeat", "idle", "key", "listening", "migrated", "notice", "opened", "pending",
	"refused", "started", "stopped", "user", "warning", "checkpoint", "compaction", "segment", "snapshot",
	"tenant", "throttle", "vacuum", "write", "read", "flush", "commit", "rollback", "restart", "reload",
	"config", "route", "socket", "thread", "buffer",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))
static const char *const daemons[] = { "sshd", "systemd", "nginx", "postgres", "cron", "kernel", "dnsmasq",
	"containerd", "chronyd", "rsyslogd" };
static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
	"Nov", "Dec" };

static const char *
pick(const char *const *arr, size_t n, uint64_t *r)
{
	return arr[splitmix(r) % n];
}

/* One log/config-like line, as found in page cache and heaps of a real small server. */
static int
corpus_line(char *out, size_t cap, uint64_t *r)
{
	uint64_t k = splitmix(r) % 5, a = splitmix(r), b = splitmix(r);
	switch (k) {
	case 0:
		return snprintf(out, cap, "%s %2u %02u:%02u:%02u web-%02u %s[%u]: %s %s %s from 198.18.%u.%u port %u\n",
		    pick(months, 12, r), (unsigned)(a % 28 + 1), (unsigned)(a >> 8) % 24, (unsigned)(a >> 16) % 60,
		    (unsigned)(a >> 24) % 60, (unsigned)(b % 16), pick(daemons, 10, r), (unsigned)(b >> 8) % 32768,
		    pick(words, NWORDS, r), pick(words, NWORDS, r), pick(words, NWORDS, r), (unsigned)(b >> 24) % 256,
		    (unsigned)(b >> 32) % 256, (unsigned)(b >> 40) % 65536);
	case 1:
		return snprintf(out, cap, "%s.%s_%s = %u\n", pick(words, NWORDS, r), pick(words, NWORDS, r),
		    pick(words, NWORDS, r), (unsigned)(a % 100000));
	case 2:
		return snprintf(out, cap,
		    "198.18.%u.%u - - [%02u/%s/2024:%02u:%02u:%02u +0000] \"GET /%s/%s?id=%u HTTP/1.1\" %u %u\n",
		    (unsigned)a % 256, (unsigned)(a >> 8) % 256, (unsigned)(a >> 16) % 28 + 1, pick(months, 12, r),
		    (unsigned)(a >> 24) % 24, (unsigned)(a >> 32) % 60, (unsigned)(a >> 40) % 60,
		    pick(words, NWORDS, r), pick(words, NWORDS, r), (unsigned)b % 100000,
		    (b >> 20) % 7 ? 200u : 404u, (unsigned)(b >> 24) % 90000);
	case 3:
		return snprintf(out, cap, "{\"ts\":%" PRIu64 ",\"level\":\"%s\",\"msg\":\"%s %s\",\"req\":%u}\n",
		    (uint64_t)(1700000000000ull + a % 100000000000ull), (b & 3) ? "info" : "warn", pick(words, NWORDS, r),
		    pick(words, NWORDS, r), (unsigned)(b >> 8) % 1000000);
	default:
		return snprintf(out, cap, "[%5u.%06u] %s: %s %s %s\n", (unsigned)(a % 90000),
		    (unsigned)(a >> 20) % 1000000, pick(words, NWORDS, r), pick(words, NWORDS, r),
		    pick(words, NWORDS, r), pick(words, NWORDS, r));
	}
}

static bool
build_corpus(struct state *st)
{
	uint64_t r = mix2(st->cfg.image, 0xc0);
	char line[256];
	st->corpus = calloc(CORPUS_LINES, sizeof(*st->corpus));
	st->corpus_len = calloc(CORPUS_LINES, sizeof(*st->corpus_len));
	if (!st->corpus || !st->corpus_len)
		return false;
	for (size_t i = 0; i < CORPUS_LINES; i++) {
		int n = corpus_line(line, sizeof(line), &r);
		if (n < 0 || (size_t)n >= sizeof(line))
			n = (int)strlen(line);
		st->corpus[i] = strdup(line);
		if (!st->corpus[i])
			return false;
		st->corpus_len[i] = (size_t)n;
	}
	return true;
}

/* Templates stand for pages that occur many times (shared-library code, zeroed-then-initialised structs):
 * half random bytes, half short repeated patterns, so zstd halves them and only dedup removes them. */
static bool
build_templates(struct state *st)
{
	st->templates = malloc((size_t)NTEMPLATES * PAGE);
	if (!st->templates)
		return false;
	for (unsigned t = 0; t < NTEMPLATES; t++) {
		uint64_t r = mix2(st->cfg.image, 0x7e000 + t);
		uint8_t *p = st->templates + (size_t)t * PAGE;
		for (unsigned off = 0; off < PAGE; off += 16) {
			uint64_t a = splitmix(&r), b = splitmix(&r);
			if (a & 1) {
				memcpy(p + off, &a, 8);
				memcpy(p + off + 8, &b, 8);
			} else {
				memset(p + off, (int)(b & 0xff), 16);
				p[off] = (uint8_t)t;
			}
		}
	}
	return true;
}

static void
fill_text(const struct state *st, uint8_t *p, uint64_t r)
{
	size_t off = 0;
	while (off < PAGE) {
		size_t i = splitmix(&r) % CORPUS_LINES, n = st->corpus_len[i];
		if (n > PAGE - off)
			n = PAGE - off;
		memcpy(p + off, st->corpus[i], n);
		/* Perturb a digit now and then so text pages are similar, not identical. */
		if ((splitmix(&r) & 3) == 0 && n > 4)
			p[off + 1 + splitmix(&r) % (n - 2)] = (uint8_t)('0' + splitmix(&r) % 10);
		off += n;
	}
}

static void
fill_random(uint8_t *p, uint64_t r)
{
	for (unsigned off = 0; off < PAGE; off += 8) {
		uint64_t v = splitmix(&r);
		memcpy(p + off, &v, 8);
	}
}

static enum page_class
class_of(const struct state *st, uint64_t logical)
{
	unsigned h = (unsigned)(mix2(st->cfg.image, logical) % 100), acc = 0;
	for (unsigned c = PC_ZERO; c <= PC_RANDOM; c++) {
		acc += st->cfg.mix[c];
		if (h < acc)
			return (enum page_class)c;
	}
	return PC_RANDOM;
}

static void
fill_logical(struct state *st, uint8_t *p, uint64_t logical)
{
	uint64_t h = mix2(st->cfg.image ^ 0x5eed, logical);
	enum page_class c = class_of(st, logical);
	st->class_count[c]++;
	switch (c) {
	case PC_ZERO:
		memset(p, 0, PAGE);
		break;
	case PC_TEMPLATE:
		memcpy(p, st->templates + (h % NTEMPLATES) * PAGE, PAGE);
		break;
	case PC_TEXT:
		fill_text(st, p, h);
		break;
	case PC_RANDOM:
		/* Shared with the image (compressed files, keys baked in), or private to this guest (its own keys,
		 * encrypted buffers): lh.private percent of them. */
		fill_random(p, (h >> 8) % 100 >= st->cfg.private_pct ? h : mix2(st->cfg.seed, h));
		break;
	}
}

/* ---- edits ---- */

static uint64_t
page_hash(const struct state *st, size_t slot)
{
	return XXH3_64bits_withSeed(st->mem + slot * PAGE, PAGE, slot);
}

static void
report_bad(struct state *st, size_t slot, const char *where, uint64_t got)
{
	st->fail_total++;
	if (st->fail_total <= 64)
		say("LH-MEMCHECK FAIL page=%zu where=%s gen=%" PRIu64 " want=%016" PRIx64 " got=%016" PRIx64, slot, where,
		    st->gen, st->sums[slot], got);
}

/* A small edit: 8 to ~90 bytes, always containing the unique sequence number. */
static void
small_edit(struct state *st, uint8_t *p, uint64_t r)
{
	uint64_t seq = st->seq;
	char buf[128];
	size_t off;
	int n;
	switch (splitmix(&r) % 3) {
	case 0: /* counter */
		off = (splitmix(&r) % (PAGE / 8)) * 8;
		memcpy(p + off, &seq, 8);
		break;
	case 1: /* timestamp */
		n = snprintf(buf, sizeof(buf), "ts=%016" PRIx64 ";", seq);
		off = splitmix(&r) % (PAGE - (size_t)n);
		memcpy(p + off, buf, (size_t)n);
		break;
	default: { /* log line written over older text */
		size_t i = splitmix(&r) % CORPUS_LINES;
		n = snprintf(buf, sizeof(buf), "#%" PRIx64 " %.*s", seq, 72, st->corpus[i]);
		if (n >= (int)sizeof(buf))
			n = (int)sizeof(buf) - 1;
		off = splitmix(&r) % (PAGE - (size_t)n);
		memcpy(p + off, buf, (size_t)n);
		break;
	}
	}
}

static void
full_edit(struct state *st, uint8_t *p, uint64_t r)
{
	if (splitmix(&r) & 1)
		fill_text(st, p, r);
	else
		fill_random(p, r);
	memcpy(p, &st->seq, 8);
}

static size_t
pick_slot(struct state *st)
{
	/* 80 % of edits hit a hot tenth of memory: precopy then re-sends the same pages round after round. */
	size_t hot = st->npages / 10 ? st->npages / 10 : 1, s;
	if (splitmix(&st->rng) % 100 < 80)
		s = (size_t)((splitmix(&st->rng) % hot) * 10 % st->npages);
	else
		s = (size_t)(splitmix(&st->rng) % st->npages);
	if (s == st->marker_slot)
		s = (s + 1) % st->npages;
	return s;
}

static void
edit_slot(struct state *st, size_t slot, bool full)
{
	uint8_t *p = st->mem + slot * PAGE;
	uint64_t before = page_hash(st, slot);
	if (before != st->sums[slot])
		report_bad(st, slot, "edit", before);
	st->seq++;
	if (full)
		full_edit(st, p, splitmix(&st->rng));
	else
		small_edit(st, p, splitmix(&st->rng));
	st->sums[slot] = page_hash(st, slot);
	st->edits++;
}

static void
edit_one(struct state *st)
{
	bool full = st->cfg.edit == EDIT_FULL || (st->cfg.edit == EDIT_MIX && splitmix(&st->rng) % 100 < 15);
	edit_slot(st, pick_slot(st), full);
}

/* ---- setup ---- */

static bool
fill_memory(struct state *st)
{
	size_t n = st->npages;
	uint32_t *perm = malloc(n * sizeof(*perm));
	if (!perm)
		return false;
	for (size_t i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	uint64_t r = mix2(st->cfg.seed, 0x1a7);
	for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates with the layout seed */
		size_t j = (size_t)(splitmix(&r) % (i + 1));
		uint32_t t = perm[i];
		perm[i] = perm[j], perm[j] = t;
	}
	for (size_t s = 0; s < n; s++) {
		if (perm[s] == 0) {
			st->marker_slot = s;
			continue;
		}
		fill_logical(st, st->mem + s * PAGE, perm[s]);
		st->sums[s] = page_hash(st, s);
	}
	free(perm);

	/* The marker page: a nonce the host can find in a migration stream (negative-control test). */
	uint8_t nonce[16];
	if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
		return false;
	char hex[33];
	for (unsigned i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", nonce[i]);
	uint8_t *m = st->mem + st->marker_slot * PAGE;
	for (unsigned off = 0; off + 64 <= PAGE; off += 64)
		snprintf((char *)m + off, 64, "LH-MARKER-PAGE %s seed=%" PRIu64 " line %02u", hex, st->cfg.seed,
		    off / 64);
	st->sums[st->marker_slot] = page_hash(st, st->marker_slot);
	say("LH-MARKER nonce=%s slot=%zu", hex, st->marker_slot);

	/* The guest's own small edits: 5 % of pages differ slightly from the image. */
	st->rng = mix2(st->cfg.seed, 0xed17);
	for (size_t k = 0; k < n / 20; k++)
		edit_slot(st, pick_slot(st), false);
	st->edits = 0;
	return true;
}

/* ---- main loop ---- */

static void
verify_range(struct state *st, size_t from, size_t to, uint64_t *bad)
{
	for (size_t s = from; s < to; s++) {
		uint64_t h = page_hash(st, s);
		if (h != st->sums[s]) {
			(*bad)++;
			if (*bad <= MAX_FAIL_LINES)
				report_bad(st, s, "check", h);
			else
				st->fail_total++;
			st->sums[s] = h; /* report each damaged page once */
		}
	}
}

static void
corrupt_one(struct state *st)
{
	size_t slot = pick_slot(st);
	st->mem[slot * PAGE + 100] ^= 0x01;
	say("LH-CORRUPT page=%zu", slot);
}

static int
run(struct state *st)
{
	const struct config *c = &st->cfg;
	uint64_t start = mono_ms(), last = start, pass_start = 0, next_pass = start, bad = 0;
	size_t cursor = 0;
	bool verifying = false, corrupted = c->corrupt_s < 0;
	double debt = 0;
	for (;;) {
		uint64_t now = mono_ms();
		if (c->run_s && now - start >= c->run_s * 1000u)
			return st->fail_total ? 1 : 0;
		if (!corrupted && now - start >= (uint64_t)c->corrupt_s * 1000u) {
			corrupt_one(st);
			corrupted = true;
		}
		debt += (double)(now - last) * (double)c->dirty / 1000.0;
		if (debt > (double)c->dirty / 10.0 + 1.0) /* no bursts after a pause (or a migration downtime) */
			debt = (double)c->dirty / 10.0 + 1.0;
		last = now;
		for (; debt >= 1.0; debt -= 1.0)
			edit_one(st);

		if (!verifying && now >= next_pass) {
			verifying = true;
			cursor = 0, bad = 0, pass_start = now;
		}
		if (verifying) {
			size_t to = cursor + VERIFY_SLICE < st->npages ? cursor + VERIFY_SLICE : st->npages;
			verify_range(st, cursor, to, &bad);
			cursor = to;
			if (cursor == st->npages) {
				st->gen++;
				if (bad || st->fail_total)
					say("LH-MEMCHECK FAIL gen=%" PRIu64 " bad=%" PRIu64 " total_bad=%" PRIu64
					    " pages=%zu", st->gen, bad, st->fail_total, st->npages);
				else
					say("LH-MEMCHECK ok gen=%" PRIu64 " pages=%zu edits=%" PRIu64 " ms=%" PRIu64,
					    st->gen, st->npages, st->edits, mono_ms() - pass_start);
				verifying = false;
				next_pass = pass_start + c->check_ms;
			}
			continue;
		}
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

static char *
read_proc_cmdline(void)
{
	static char buf[4096];
	FILE *f = fopen("/proc/cmdline", "r");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static int
write_dump(const struct state *st, const char *path)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(st->mem, PAGE, st->npages, f) != st->npages || fclose(f) != 0) {
		fprintf(stderr, "memload: writing %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static struct state st;
	st.cfg = (struct config){ .mem_mb = 64, .seed = 1, .image = 0x10c4a01, .dirty = 256, .check_ms = 1000,
		.corrupt_s = -1, .edit = EDIT_MIX, .mix = { 25, 20, 35, 20 }, .private_pct = 50 };
	const char *line = NULL, *dump = NULL;
	if (argc >= 3 && !strcmp(argv[1], "--cmdline"))
		line = argv[2];
	if (argc == 5 && !strcmp(argv[3], "--dump"))
		dump = argv[4];
	if (argc != 1 && argc != 3 && !dump) {
		fprintf(stderr, "usage: %s [--cmdline \"lh.mem=MB lh.seed=N ...\" [--dump FILE]]\n", argv[0]);
		return 2;
	}
	if (!line && !(line = read_proc_cmdline())) {
		say("LH-ERROR cannot read /proc/cmdline: %s", strerror(errno));
		return 1;
	}
	if (!parse_cmdline(&st.cfg, line))
		return 1;
	const struct config *c = &st.cfg;
	st.npages = (size_t)(c->mem_mb * 1024 * 1024 / PAGE);
	say("LH-START mem=%" PRIu64 "MiB pages=%zu seed=%" PRIu64 " image=%#" PRIx64 " dirty=%" PRIu64
	    " edit=%s mix=%u,%u,%u,%u private=%u", c->mem_mb, st.npages, c->seed, c->image, c->dirty,
	    c->edit == EDIT_SMALL ? "small" : c->edit == EDIT_FULL ? "full" : "mix", c->mix[0], c->mix[1], c->mix[2],
	    c->mix[3], c->private_pct);
	uint64_t t0 = mono_ms();
	st.mem = mmap(NULL, st.npages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	st.sums = mmap(NULL, st.npages * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (st.mem == MAP_FAILED || st.sums == MAP_FAILED) {
		say("LH-ERROR mmap %" PRIu64 " MiB: %s", c->mem_mb, strerror(errno));
		return 1;
	}
	/* 4 KiB pages only: khugepaged would copy pages to new frames behind our back. */
	madvise(st.mem, st.npages * PAGE, MADV_NOHUGEPAGE);
	if (!build_corpus(&st) || !build_templates(&st) || !fill_memory(&st)) {
		say("LH-ERROR setup failed: out of memory");
		return 1;
	}
	if (mlock(st.mem, st.npages * PAGE) != 0)
		say("LH-WARN mlock: %s", strerror(errno));
	say("LH-READY pages=%zu fill_ms=%" PRIu64 " zero=%" PRIu64 " template=%" PRIu64 " text=%" PRIu64
	    " random=%" PRIu64, st.npages, mono_ms() - t0, st.class_count[PC_ZERO], st.class_count[PC_TEMPLATE],
	    st.class_count[PC_TEXT], st.class_count[PC_RANDOM]);
	if (dump) /* host-side analysis of the content model: write the filled memory and stop */
		return write_dump(&st, dump);
	st.rng = mix2(c->seed, mono_ms());
	return run(&st);
}
