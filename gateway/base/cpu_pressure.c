/* SPDX-License-Identifier: MIT */
#include "gateway/base/cpu_pressure.h"

#include <stdio.h>
#include <sys/resource.h>

static double clamp01(double v)
{
	return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
}

static int read_proc_stat(unsigned long long *idle, unsigned long long *total)
{
	unsigned long long v[10] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	if (!f)
		return -1;
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		       &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	fclose(f);
	if (n < 4)
		return -1;
	/* guest and guest_nice (8, 9) are already counted in user and nice */
	*total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
	*idle = v[3] + v[4];
	return 0;
}

void cpu_meter_sample(struct cpu_meter *m, double now, struct cpu_load *load)
{
	struct rusage ru;
	double proc = m->proc_s;
	unsigned long long idle = 0, total = 0;
	int have_sys = read_proc_stat(&idle, &total) == 0;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		proc = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		       ru.ru_stime.tv_usec / 1e6;
	load->own_busy = 0.0;
	load->sys_idle = 1.0;
	if (m->at > 0 && now > m->at)
		load->own_busy = clamp01((proc - m->proc_s) / (now - m->at));
	if (m->at > 0 && have_sys && m->have_sys && total > m->sys_total)
		load->sys_idle = clamp01((double)(idle - m->sys_idle) / (double)(total - m->sys_total));
	m->proc_s = proc;
	m->sys_idle = idle;
	m->sys_total = total;
	m->have_sys = have_sys;
	m->at = now;
}

/*
 * The codec maps pressure to a zstd level: < 10 none, < 30 -3, < 60 1, < 80 3,
 * < 95 6, else 9 (codec/wan_batch.c). Here:
 *   - our own loop saturated: we are the bottleneck; step down (one level's
 *     worth per call, to raw literals at the bottom) rather than drop to raw
 *     at once, which on a full link would bounce between 9 and 0;
 *   - our loop busy but not saturated: hold where we are;
 *   - otherwise level 1 while the send queues have room, rising with their fill
 *     (the link is the bottleneck: bytes saved are time saved);
 *   - but no more than level 1 while the machine has no idle CPU: heavier zstd
 *     would take the CPU from whoever else runs here. Measured in the lab, where
 *     a TCG source QEMU shares two cores with both gateways: a 512 MiB guest
 *     took 3.5 s through the pair at the levels the link asked for, 2.7 s at 1.
 */
double cpu_pressure_target(double queue_fill, const struct cpu_load *load, double current)
{
	double fill = clamp01(queue_fill);

	if (load->own_busy >= 0.9)
		return current > 25.0 ? current - 25.0 : 0.0;
	if (load->own_busy >= 0.75)
		return current;
	double t = 30.0 + 70.0 * fill;
	if (load->sys_idle < 0.10 && t > 55.0)
		t = 55.0;
	return t;
}
