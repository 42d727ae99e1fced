/* SPDX-License-Identifier: MIT */
/*
 * The auto level's inputs: what zstd level the codec ends up at for a given queue
 * fill and CPU load (cpu_pressure_target feeding the codec's own mapping), and the
 * CPU meter's arithmetic on real /proc/stat and getrusage readings.
 */
#include <math.h>
#include <time.h>

#include "check.h"
#include "gateway/base/cpu_pressure.h"
#include "lh_wan.h"

static int level_of(lh_wan_enc *e, double p)
{
	CHECK(p >= 0.0 && p <= 100.0);
	CHECK(lh_wan_enc_set_param(e, LH_WAN_P_LINK_PRESSURE, (int64_t)(p + 0.5)) == 0);
	return lh_wan_enc_level(e);
}

/* The level the target asks for, from a current pressure of 50 (zstd 1). */
static int level_for(lh_wan_enc *e, double fill, double own_busy, double sys_idle)
{
	struct cpu_load load = { .own_busy = own_busy, .sys_idle = sys_idle };
	return level_of(e, cpu_pressure_target(fill, &load, 50.0));
}

/* The smoothed pressure after n ticks of the same inputs, as the session runs it. */
static double settle(double p, double fill, double own_busy, double sys_idle, int n)
{
	struct cpu_load load = { .own_busy = own_busy, .sys_idle = sys_idle };
	while (n-- > 0)
		p = 0.7 * p + 0.3 * cpu_pressure_target(fill, &load, p);
	return p;
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	lh_wan_enc *e = lh_wan_enc_create();
	CHECK(e != NULL);

	/* idle link, spare CPU: cheap zstd still saves WAN bytes */
	CHECK(level_for(e, 0.0, 0.1, 0.8) == 1);
	/* the link limits and CPU is spare: heavier levels as the queues fill */
	CHECK(level_for(e, 0.6, 0.3, 0.8) == 3);
	CHECK(level_for(e, 0.85, 0.3, 0.8) == 6);
	CHECK(level_for(e, 1.0, 0.3, 0.8) == 9);
	/* the link limits but the machine has no idle CPU: stay at 1 */
	CHECK(level_for(e, 1.0, 0.3, 0.05) == 1);
	CHECK(level_for(e, 0.0, 0.3, 0.0) == 1);
	/* our own loop is the bottleneck: one step down per tick, whatever the link says */
	CHECK(level_for(e, 1.0, 0.95, 0.8) == -3);
	CHECK(level_of(e, settle(100.0, 1.0, 0.95, 0.8, 1)) == 6);
	CHECK(level_of(e, settle(100.0, 1.0, 0.95, 0.8, 3)) == 3);
	/* ...down to raw literals when it stays saturated */
	CHECK(level_of(e, settle(100.0, 1.0, 1.0, 0.0, 40)) == 0);
	CHECK(level_of(e, settle(50.0, 0.0, 1.0, 0.0, 20)) == 0);
	/* busy but not saturated: hold the level */
	CHECK(level_for(e, 1.0, 0.8, 0.5) == 1);
	CHECK(level_of(e, settle(85.0, 0.0, 0.8, 0.5, 20)) == 6);
	/* a full link with spare CPU climbs to 9 from the start level, and the
	 * machine running out of idle CPU brings it back to 1 */
	double p = settle(50.0, 1.0, 0.3, 0.8, 30);
	CHECK(level_of(e, p) == 9);
	CHECK(level_of(e, settle(p, 1.0, 0.3, 0.0, 30)) == 1);
	/* out-of-range fill is clamped, not extrapolated */
	CHECK(level_for(e, 7.0, 0.3, 0.8) == 9);
	CHECK(level_for(e, -1.0, 0.3, 0.8) == 1);

	/* the meter: first sample has no interval; after burning CPU, own_busy is
	 * near 1 and both figures stay within 0..1 */
	struct cpu_meter m = { 0 };
	struct cpu_load l;
	double t0 = mono();
	cpu_meter_sample(&m, t0, &l);
	CHECK(l.own_busy == 0.0 && l.sys_idle == 1.0);
	volatile double x = 0;
	while (mono() - t0 < 0.2)
		x += sqrt(x + 1.0);
	cpu_meter_sample(&m, mono(), &l);
	CHECK(l.own_busy > 0.5 && l.own_busy <= 1.0);
	CHECK(l.sys_idle >= 0.0 && l.sys_idle <= 1.0);
	CHECK(m.have_sys == 1);
	/* a sample at the same instant does not divide by zero */
	cpu_meter_sample(&m, m.at, &l);
	CHECK(l.own_busy == 0.0);

	lh_wan_enc_free(e);
	if (check_failures)
		fprintf(stderr, "test_pressure: %d failures\n", check_failures);
	return check_failures ? 1 : 0;
}
