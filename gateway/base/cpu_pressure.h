/* SPDX-License-Identifier: MIT */
/*
 * cpu_pressure: what the codec's auto level is told, every 100 ms.
 *
 * The auto level should spend CPU on zstd only where CPU is spare and the link
 * is what limits the migration. Two CPU figures matter: our own event loop
 * (one thread: near 100 % means we are the bottleneck) and the whole machine
 * (no idle time means every CPU cycle we spend is taken from someone else:
 * in a lab or a converged host, the source QEMU producing the stream).
 */
#ifndef LH_GW_CPU_PRESSURE_H
#define LH_GW_CPU_PRESSURE_H

struct cpu_meter {
	double proc_s;                 /* our process's CPU seconds at the last sample */
	unsigned long long sys_idle;   /* /proc/stat idle + iowait ticks, all CPUs */
	unsigned long long sys_total;  /* /proc/stat all ticks, all CPUs */
	double at;                     /* monotonic seconds of the last sample; 0 = none yet */
	int have_sys;                  /* /proc/stat was readable */
};

struct cpu_load {
	double own_busy;   /* 0..1: share of one CPU our process used since the last sample */
	double sys_idle;   /* 0..1: idle share of all CPUs; 1 when unknown */
};

/* Samples now; fills *load with the figures since the previous sample (the first
 * call reports own_busy 0 and sys_idle 1). */
void cpu_meter_sample(struct cpu_meter *m, double now, struct cpu_load *load);

/* Target link pressure 0..100 (LH_WAN_P_LINK_PRESSURE) from how full the WAN send
 * queues are (0..1), the CPU load and the current (smoothed) pressure. Pure; the
 * caller smooths it. */
double cpu_pressure_target(double queue_fill, const struct cpu_load *load, double current);

#endif
