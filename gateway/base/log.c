/* SPDX-License-Identifier: MIT */
/* Daemon logging, relayd style: one event per line with timestamp and level, stderr or syslog. */
#include "gateway/base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static struct {
	char progname[32];
	int level;
	int to_stderr;
	int syslog_open;
} log_state = { "longhaul", LH_LOG_INFO, 1, 0 };

/* Severity words used in stderr lines; fatal messages are "error". */
#define LOG_SEV_ERROR (-1)

void log_init(const char *progname, int level, int to_stderr)
{
	snprintf(log_state.progname, sizeof(log_state.progname), "%s",
		 progname ? progname : "longhaul");
	log_state.level = level;
	log_state.to_stderr = to_stderr;
	if (log_state.syslog_open) {
		closelog();
		log_state.syslog_open = 0;
	}
	if (!to_stderr) {
		openlog(log_state.progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_state.syslog_open = 1;
	}
}

void log_set_level(int level)
{
	log_state.level = level;
}

int log_get_level(void)
{
	return log_state.level;
}

static const char *const level_names[] = { "warn", "info", "debug" };

int log_level_parse(const char *name)
{
	for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

const char *log_level_name(int level)
{
	if (level == LOG_SEV_ERROR)
		return "error";
	if (level < 0 || level > LH_LOG_DEBUG)
		return "?";
	return level_names[level];
}

static int syslog_priority(int level)
{
	switch (level) {
	case LOG_SEV_ERROR: return LOG_CRIT;
	case LH_LOG_WARN: return LOG_WARNING;
	case LH_LOG_INFO: return LOG_INFO;
	default: return LOG_DEBUG;
	}
}

/* Formats the whole line first so that concurrent writers never interleave inside it. */
static void log_emit(int level, const char *msg)
{
	if (!log_state.to_stderr) {
		syslog(syslog_priority(level), "%s", msg);
		return;
	}
	struct timespec ts;
	struct tm tm;
	char stamp[32], line[2048];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	int n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%d]: %s: %s\n", stamp,
			 ts.tv_nsec / 1000000, log_state.progname, (int)getpid(),
			 log_level_name(level), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) { /* truncated: keep the newline */
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* one write(2) per event; a short write to stderr is not worth retrying */
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}

void vlog(int level, const char *fmt, va_list ap)
{
	char msg[1800];

	if (level > log_state.level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* keep one event on one line */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	log_emit(level, msg);
}

static void vlog_errno(int level, int saved, const char *fmt, va_list ap)
{
	char msg[1600];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (level == LOG_SEV_ERROR || level <= log_state.level) {
		char full[1800];

		snprintf(full, sizeof(full), "%s: %s", msg, strerror(saved));
		for (char *p = full; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		log_emit(level, full);
	}
}

void log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog_errno(LH_LOG_WARN, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

#define LOG_AT(fn, lvl)                                     \
	void fn(const char *fmt, ...)                       \
	{                                                   \
		int saved = errno;                          \
		va_list ap;                                 \
		va_start(ap, fmt);                          \
		vlog(lvl, fmt, ap);                         \
		va_end(ap);                                 \
		errno = saved;                              \
	}
LOG_AT(log_warnx, LH_LOG_WARN)
LOG_AT(log_info, LH_LOG_INFO)
LOG_AT(log_debug, LH_LOG_DEBUG)

void log_errx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_SEV_ERROR, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog_errno(LOG_SEV_ERROR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	char msg[1800];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_emit(LOG_SEV_ERROR, msg);
	exit(1);
}
