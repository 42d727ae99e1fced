/* SPDX-License-Identifier: MIT */
/* Daemon logging, relayd style: one event per line with timestamp and level, stderr or syslog. */
#ifndef LH_GATEWAY_LOG_H
#define LH_GATEWAY_LOG_H

#include <stdarg.h>

/* Verbosity; a message is emitted when its level <= the configured level. */
enum lh_log_level {
	LH_LOG_WARN = 0,  /* warnings and errors only */
	LH_LOG_INFO = 1,  /* + state changes (default) */
	LH_LOG_DEBUG = 2, /* + per-connection detail */
};

/*
 * to_stderr != 0: lines "2026-11-25T18:40:00.123Z longhauld[pid]: info: msg" on stderr
 * (foreground / tests); otherwise syslog(LOG_DAEMON) with ident progname.
 * May be called again (e.g. after --check), it replaces the previous setup.
 */
void log_init(const char *progname, int level, int to_stderr);
void log_set_level(int level);
int log_get_level(void);

/* "warn", "info", "debug" <-> enum; parse returns -1 for anything else. */
int log_level_parse(const char *name);
const char *log_level_name(int level);

/* log_warn appends ": strerror(errno)"; log_warnx does not. errno is preserved. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* At error severity, without exiting: something an operator must fix soon (an expired certificate). */
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vlog(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Log at error severity and exit(1); fatal appends strerror(errno). */
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
