/*
 * log.c — see log.h.  One line per call, prefixed with the level; in the
 * foreground also with a UTC timestamp so test logs can be read against
 * the call journal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static int log_foreground = 1;
static int log_level = LOG_LVL_INFO;

void
log_init(const char *progname, int foreground, int level)
{
	log_foreground = foreground;
	log_level = level;
	if (!foreground)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int
log_get_level(void)
{
	return log_level;
}

void
log_set_level(int level)
{
	log_level = level;
}

static void log_vwrite(int, const char *, const char *, va_list, int)
	__attribute__((format(printf, 3, 0)));

static void
log_vwrite(int prio, const char *tag, const char *fmt, va_list ap, int errnum)
{
	char msg[2048];
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (errnum && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(errnum));
	if (log_foreground) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		fprintf(stderr, "%02d:%02d:%02d.%03ld %s %s\n", tm.tm_hour,
		    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, tag, msg);
	} else
		syslog(prio, "%s", msg);
}

#define LOG_BODY(prio, tag, errnum)                         \
	do {                                                \
		va_list ap;                                 \
		va_start(ap, fmt);                          \
		log_vwrite(prio, tag, fmt, ap, errnum);     \
		va_end(ap);                                 \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	int saved = errno;

	if (log_level >= LOG_LVL_WARN)
		LOG_BODY(LOG_WARNING, "warn", saved);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	if (log_level >= LOG_LVL_WARN)
		LOG_BODY(LOG_WARNING, "warn", 0);
}

void
log_info(const char *fmt, ...)
{
	if (log_level >= LOG_LVL_INFO)
		LOG_BODY(LOG_INFO, "info", 0);
}

void
log_debug_(const char *fmt, ...)
{
	LOG_BODY(LOG_DEBUG, "debug", 0);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY(LOG_CRIT, "fatal", saved);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, "fatal", 0);
	exit(1);
}
