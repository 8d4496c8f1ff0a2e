/*
 * log.h — diagnostics for every Parley process: stderr in the foreground,
 * syslog as a daemon.  Not the call journal (sipd/journal.c writes that).
 *
 * log_warn adds strerror(errno); log_warnx does not.  log_debug's
 * arguments are not evaluated unless debug logging is on.  fatal/fatalx
 * exit(1) and are for start-up errors and broken invariants only.
 */
#ifndef PARLEY_LOG_H
#define PARLEY_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_init(const char *progname, int foreground, int level);
int log_get_level(void);
void log_set_level(int level);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define log_debug(...) \
	do { if (log_get_level() >= LOG_LVL_DEBUG) log_debug_(__VA_ARGS__); } while (0)

#endif
