/* SPDX-License-Identifier: MIT */
/* main.c: lh-wanem, a userspace WAN emulator forwarding frames between two interfaces with delay, jitter, loss and rate. */
#include "forward.h"
#include "port.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

/* Ethernet header + one VLAN tag on top of the MTU. */
#define L2_OVERHEAD 18
/* Batching interval while frames are queued: ~16 frames at 1 Gbit/s. */
#define DEFAULT_QUANTUM_US 200
/*
 * Forwarding threads run SCHED_FIFO at this priority: kernel netem runs in
 * softirq context, ahead of every task, and an emulator that waits behind
 * busy tasks sends frames late (measured: up to 36 ms on a loaded 2-core VM)
 * and falsifies the link. Low enough to stay below kernel RT threads; the
 * threads sleep whenever nothing is due, and RT throttling bounds them.
 */
#define DEFAULT_RT_PRIORITY 10

enum shape_dirs { SHAPE_BOTH, SHAPE_AB, SHAPE_BA };

struct options {
	const char *if_a, *if_b, *stats_path, *pid_path;
	struct wan_params link;
	enum shape_dirs shape;
	uint64_t quantum_ns;
	int rt_priority;
	bool seed_given;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: lh-wanem --a IFACE --b IFACE [options]\n"
		"Forwards every frame between IFACE a and IFACE b (AF_PACKET), each direction\n"
		"shaped like one direction of a WAN link.\n"
		"  --delay-ms MS      one-way delay (default 0)\n"
		"  --jitter-ms MS     uniform +-jitter, <= delay (default 0)\n"
		"  --loss-pct PCT     random loss per direction (default 0)\n"
		"  --rate-mbit MBIT   token-bucket rate per direction, L2 bytes (default unlimited)\n"
		"  --burst-bytes N    token bucket depth (default 0: pure pacing)\n"
		"  --limit PKTS       frames held per direction before tail drop (default 1000)\n"
		"  --reorder          let jitter reorder frames (default: never)\n"
		"  --seed N           seed for loss and jitter (default: random)\n"
		"  --quantum-us US    longest sleep while frames are queued (default 200)\n"
		"  --rt-priority N    SCHED_FIFO priority of the forwarding threads (default 10, 0: normal)\n"
		"  --shape both|ab|ba directions that get the link model; others just forward\n"
		"  --stats FILE       JSON counters, rewritten every second\n"
		"  --pidfile FILE     written once forwarding has started\n");
}

static bool parse_double(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || isnan(v) || v < lo || v > hi) {
		fprintf(stderr, "lh-wanem: --%s: `%s' is not a number in [%g, %g]\n", opt, s, lo, hi);
		return false;
	}
	*out = v;
	return true;
}

static bool parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "a", required_argument, NULL, 'a' },
		{ "b", required_argument, NULL, 'b' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "jitter-ms", required_argument, NULL, 'j' },
		{ "loss-pct", required_argument, NULL, 'l' },
		{ "rate-mbit", required_argument, NULL, 'r' },
		{ "burst-bytes", required_argument, NULL, 'B' },
		{ "limit", required_argument, NULL, 'L' },
		{ "reorder", no_argument, NULL, 'R' },
		{ "seed", required_argument, NULL, 's' },
		{ "shape", required_argument, NULL, 'S' },
		{ "stats", required_argument, NULL, 'o' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "quantum-us", required_argument, NULL, 'q' },
		{ "rt-priority", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	double v;
	int c;

	memset(o, 0, sizeof(*o));
	o->link.limit = 1000;
	o->quantum_ns = DEFAULT_QUANTUM_US * 1000ULL;
	o->rt_priority = DEFAULT_RT_PRIORITY;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		const char *name = longopts[0].name;

		for (const struct option *lo = longopts; lo->name; lo++)
			if (lo->val == c)
				name = lo->name;
		switch (c) {
		case 'a': o->if_a = optarg; break;
		case 'b': o->if_b = optarg; break;
		case 'd':
			if (!parse_double(name, optarg, 0, 60000, &v)) return false;
			o->link.delay_ns = (uint64_t)llround(v * 1e6);
			break;
		case 'j':
			if (!parse_double(name, optarg, 0, 60000, &v)) return false;
			o->link.jitter_ns = (uint64_t)llround(v * 1e6);
			break;
		case 'l':
			if (!parse_double(name, optarg, 0, 100, &v)) return false;
			o->link.loss = v / 100.0;
			break;
		case 'r':
			if (!parse_double(name, optarg, 0, 1e6, &v)) return false;
			o->link.rate_bps = (uint64_t)llround(v * 1e6);
			break;
		case 'B':
			if (!parse_double(name, optarg, 0, 1 << 30, &v)) return false;
			o->link.burst_bytes = (uint32_t)v;
			break;
		case 'L':
			if (!parse_double(name, optarg, 1, 1 << 22, &v)) return false;
			o->link.limit = (uint32_t)v;
			break;
		case 'R': o->link.allow_reorder = true; break;
		case 's':
			if (!parse_double(name, optarg, 0, 9007199254740992.0, &v)) return false;
			o->link.seed = (uint64_t)v;
			o->seed_given = true;
			break;
		case 'S':
			if (!strcmp(optarg, "both")) o->shape = SHAPE_BOTH;
			else if (!strcmp(optarg, "ab")) o->shape = SHAPE_AB;
			else if (!strcmp(optarg, "ba")) o->shape = SHAPE_BA;
			else {
				fprintf(stderr, "lh-wanem: --shape: `%s' is not both, ab or ba\n", optarg);
				return false;
			}
			break;
		case 'q':
			if (!parse_double(name, optarg, 1, 10000, &v)) return false;
			o->quantum_ns = (uint64_t)llround(v * 1e3);
			break;
		case 'P':
			if (!parse_double(name, optarg, 0, 99, &v)) return false;
			o->rt_priority = (int)v;
			break;
		case 'o': o->stats_path = optarg; break;
		case 'p': o->pid_path = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return false;
		}
	}
	if (optind != argc || !o->if_a || !o->if_b) {
		usage(stderr);
		return false;
	}
	if (o->link.jitter_ns > o->link.delay_ns) {
		fprintf(stderr, "lh-wanem: --jitter-ms must not exceed --delay-ms\n");
		return false;
	}
	if (!o->seed_given)
		o->link.seed = (uint64_t)time(NULL) * 1000003ULL ^ (uint64_t)getpid();
	return true;
}

static void write_stats(const char *path, struct fwd *dirs, int n, uint64_t started)
{
	char tmp[4096];
	FILE *fp;

	if (!path)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fp = fopen(tmp, "w");
	if (!fp)
		return;
	fprintf(fp, "{\"pid\": %d, \"uptime_s\": %llu, \"directions\": [", (int)getpid(),
		(unsigned long long)(time(NULL) - (time_t)started));
	for (int i = 0; i < n; i++) {
		struct fwd *f = &dirs[i];
#define C(x) (unsigned long long)atomic_load_explicit(&f->st.x, memory_order_relaxed)
		fprintf(fp, "%s{\"name\": \"%s\", \"state\": \"%s\", \"rx\": %llu, \"tx\": %llu, "
			"\"lost\": %llu, \"limit_drops\": %llu, \"socket_drops\": %llu, "
			"\"oversize\": %llu, \"tx_errors\": %llu, \"late\": %llu, \"max_late_us\": %llu}",
			i ? ", " : "", f->name, fwd_state_name(atomic_load(&f->state)),
			C(rx), C(tx), C(lost), C(limit_drops), C(socket_drops), C(oversize), C(tx_errors),
			C(late), C(max_late_ns) / 1000);
#undef C
	}
	fprintf(fp, "]}\n");
	if (fclose(fp) == 0)
		rename(tmp, path);
}

static bool write_pidfile(const char *path)
{
	FILE *fp;

	if (!path)
		return true;
	fp = fopen(path, "w");
	if (!fp || fprintf(fp, "%d\n", (int)getpid()) < 0 || fclose(fp) != 0) {
		fprintf(stderr, "lh-wanem: %s: %s\n", path, strerror(errno));
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	static atomic_bool stop;
	struct options o;
	struct wan_params shaped, plain;
	struct fwd dirs[2];
	pthread_t threads[2];
	sigset_t sigs;
	int mtu_a, mtu_b, frame_max, rc = 1, started = 0;
	uint64_t t0 = (uint64_t)time(NULL);

	if (!parse_options(argc, argv, &o))
		return 2;
	mtu_a = port_mtu(o.if_a);
	mtu_b = port_mtu(o.if_b);
	if (mtu_a < 0 || mtu_b < 0)
		return 1;
	frame_max = (mtu_a > mtu_b ? mtu_a : mtu_b) + L2_OVERHEAD;

	shaped = o.link;
	plain = (struct wan_params){ .limit = o.link.limit, .seed = o.link.seed };
	/* Precise sleeps: the default 50 us timer slack is noise we can avoid. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);

	memset(dirs, 0, sizeof(dirs));
	dirs[0].rx_fd = dirs[0].tx_fd = dirs[1].rx_fd = dirs[1].tx_fd = -1;
	if (fwd_init(&dirs[0], o.if_a, o.if_b, o.shape == SHAPE_BA ? &plain : &shaped,
		     (uint32_t)frame_max, o.quantum_ns, &stop))
		goto out;
	/* A different stream for the other direction, still reproducible. */
	shaped.seed = o.link.seed ^ 0xa5a5a5a5deadbeefULL;
	plain.seed = shaped.seed;
	if (fwd_init(&dirs[1], o.if_b, o.if_a, o.shape == SHAPE_AB ? &plain : &shaped,
		     (uint32_t)frame_max, o.quantum_ns, &stop))
		goto out;

	/* Threads inherit the mask: signals are only taken by sigtimedwait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	for (; started < 2; started++) {
		if (pthread_create(&threads[started], NULL, fwd_run, &dirs[started])) {
			fprintf(stderr, "lh-wanem: cannot start thread\n");
			goto out;
		}
		if (o.rt_priority) {
			struct sched_param sp = { .sched_priority = o.rt_priority };
			int err = pthread_setschedparam(threads[started], SCHED_FIFO, &sp);

			if (err)
				fprintf(stderr, "lh-wanem: %s: SCHED_FIFO %d: %s (running unprioritized)\n",
					dirs[started].name, o.rt_priority, strerror(err));
		}
	}
	write_stats(o.stats_path, dirs, 2, t0);
	if (!write_pidfile(o.pid_path))
		goto out;
	fprintf(stderr, "lh-wanem: forwarding %s <-> %s, frames up to %d bytes\n",
		o.if_a, o.if_b, frame_max);

	rc = 0;
	for (;;) {
		struct timespec one_s = { .tv_sec = 1 };
		int sig = sigtimedwait(&sigs, NULL, &one_s);

		write_stats(o.stats_path, dirs, 2, t0);
		if (sig > 0)
			break;
		if (atomic_load(&dirs[0].state) == FWD_FAILED ||
		    atomic_load(&dirs[1].state) == FWD_FAILED) {
			rc = 1;
			break;
		}
	}
out:
	atomic_store(&stop, true);
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	write_stats(o.stats_path, dirs, 2, t0);
	for (int i = 0; i < 2; i++)
		fwd_teardown(&dirs[i], rc ? "error" : NULL);
	return rc;
}
