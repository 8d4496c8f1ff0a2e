/*
 * journal.c — the call journal: one line per event appended to a file that
 * operators `tail -f` (docs/contract.md, "Call journal").  Text lines are
 *
 *   2026-11-20T12:09:29.389Z register user=1001 contact=sip:1001@10.0.0.5 ...
 *
 * and JSON lines are one object per line with "ts" and "event" first, then
 * the pairs in the order given.
 *
 * Values come from SIP headers, so they are escaped: in text a value that
 * is empty or holds a space, '"', '\', '=' or a control character is
 * written in double quotes with '"' and '\' escaped and control characters
 * written as \r \n \t or \xNN; bytes >= 0x80 (UTF-8 names) pass as they
 * are.  A line can therefore never be split or forged by what a phone sends.
 * In JSON every value is a string, except for the numeric keys below when
 * the value is a valid JSON number; invalid UTF-8 becomes U+FFFD so that
 * every line stays valid JSON.  JSON is built by hand rather than with
 * jansson: the same escaper serves both formats, journal_format works in
 * the caller's buffer without allocating, and the key order stays as given.
 *
 * Each line goes out in one write(2) on an O_APPEND descriptor, so readers
 * never see half a line.  Write errors (disk full, file removed) are logged
 * at most once every JOURNAL_WARN_MS with the count of lost lines, and are
 * never fatal.  Not here: deciding what is journaled (reg.c, call.c, ...),
 * diagnostics (common/log.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/service.h"
#include "common/xmalloc.h"
#include "sipd.h"

#define JOURNAL_MAX_PAIRS	32
#define JOURNAL_LINE		4096	/* stack buffer; longer lines are malloc'd */
#define JOURNAL_WARN_MS		10000

struct journal {
	char		*path;
	int		 fd;
	int		 json;
	uint64_t	 last_warn_ms;	/* 0: never warned */
	unsigned long	 lost;		/* lines lost since the last warning */
};

/* Keys whose values are JSON numbers (when they are valid numbers). */
static const char *const journal_numeric[] = {
	"expires", "duration", "status", "seconds", "ms",
	"caller_pkts", "callee_pkts", "caller_lost", "callee_lost", NULL
};

/* ------------------------------------------------------------ formatting */

/* Output cursor: counts every byte, stores what fits (snprintf-like). */
struct jbuf {
	char	*p;
	size_t	 len, pos;
};

static void
jb_putc(struct jbuf *b, char c)
{
	if (b->pos < b->len)
		b->p[b->pos] = c;
	b->pos++;
}

static void
jb_puts(struct jbuf *b, const char *s)
{
	while (*s != '\0')
		jb_putc(b, *s++);
}

static void
jb_hex2(struct jbuf *b, unsigned c)
{
	static const char hex[] = "0123456789abcdef";

	jb_putc(b, hex[(c >> 4) & 15]);
	jb_putc(b, hex[c & 15]);
}

static int
journal_needs_quotes(const char *v)
{
	const unsigned char *s = (const unsigned char *)v;

	if (*s == '\0')
		return 1;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s == 0x7f || *s == '"' || *s == '\\' || *s == '=')
			return 1;
	return 0;
}

static void
journal_text_value(struct jbuf *b, const char *v)
{
	const unsigned char *s = (const unsigned char *)v;

	if (!journal_needs_quotes(v)) {
		jb_puts(b, v);
		return;
	}
	jb_putc(b, '"');
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '"':  jb_puts(b, "\\\""); break;
		case '\\': jb_puts(b, "\\\\"); break;
		case '\r': jb_puts(b, "\\r"); break;
		case '\n': jb_puts(b, "\\n"); break;
		case '\t': jb_puts(b, "\\t"); break;
		default:
			if (*s < ' ' || *s == 0x7f) {
				jb_puts(b, "\\x");
				jb_hex2(b, *s);
			} else
				jb_putc(b, (char)*s);
		}
	}
	jb_putc(b, '"');
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not one. */
static size_t
journal_utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;	/* also stops at the terminating NUL */
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;	/* overlong, out of range, or a surrogate */
	return n;
}

static void
journal_json_string(struct jbuf *b, const char *v)
{
	const unsigned char *s = (const unsigned char *)v;

	jb_putc(b, '"');
	while (*s != '\0') {
		size_t n;

		switch (*s) {
		case '"':  jb_puts(b, "\\\""); s++; continue;
		case '\\': jb_puts(b, "\\\\"); s++; continue;
		case '\r': jb_puts(b, "\\r"); s++; continue;
		case '\n': jb_puts(b, "\\n"); s++; continue;
		case '\t': jb_puts(b, "\\t"); s++; continue;
		}
		if (*s < ' ' || *s == 0x7f) {
			jb_puts(b, "\\u00");
			jb_hex2(b, *s);
			s++;
			continue;
		}
		if ((n = journal_utf8_len(s)) == 0) {
			jb_puts(b, "\\ufffd");
			s++;
			continue;
		}
		while (n-- > 0)
			jb_putc(b, (char)*s++);
	}
	jb_putc(b, '"');
}

/* Is v a number by the JSON grammar (so "012", "1.", "nan" are not)? */
static int
journal_is_json_number(const char *v)
{
	const char *s = v;

	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return 0;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (*s < '0' || *s > '9')
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

static int
journal_is_numeric_key(const char *k)
{
	const char *const *n;

	for (n = journal_numeric; *n != NULL; n++)
		if (strcmp(*n, k) == 0)
			return 1;
	return 0;
}

size_t
journal_format(char *buf, size_t len, int json, const struct timespec *ts,
    const char *event, const char *const *kv, size_t nkv)
{
	struct jbuf b = { buf, len, 0 };
	char tsbuf[96];
	struct tm tm;
	size_t i;

	if (gmtime_r(&ts->tv_sec, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(tsbuf, sizeof(tsbuf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)((ts->tv_nsec / 1000000) % 1000));
	if (json) {
		jb_puts(&b, "{\"ts\":\"");
		jb_puts(&b, tsbuf);
		jb_puts(&b, "\",\"event\":");
		journal_json_string(&b, event);
		for (i = 0; i + 1 < nkv; i += 2) {
			if (kv[i] == NULL || kv[i + 1] == NULL)
				continue;
			jb_putc(&b, ',');
			journal_json_string(&b, kv[i]);
			jb_putc(&b, ':');
			if (journal_is_numeric_key(kv[i]) && journal_is_json_number(kv[i + 1]))
				jb_puts(&b, kv[i + 1]);
			else
				journal_json_string(&b, kv[i + 1]);
		}
		jb_putc(&b, '}');
	} else {
		jb_puts(&b, tsbuf);
		jb_putc(&b, ' ');
		/* event and keys are ours, but a line must stay a line */
		journal_text_value(&b, event);
		for (i = 0; i + 1 < nkv; i += 2) {
			if (kv[i] == NULL || kv[i + 1] == NULL)
				continue;
			jb_putc(&b, ' ');
			journal_text_value(&b, kv[i]);
			jb_putc(&b, '=');
			journal_text_value(&b, kv[i + 1]);
		}
	}
	jb_putc(&b, '\n');
	/* NUL-terminate what fits, like snprintf; the return counts no NUL */
	if (len > 0)
		buf[b.pos < len ? b.pos : len - 1] = '\0';
	return b.pos;
}

/* ------------------------------------------------------------ the file */

static int
journal_open_fd(const char *path, int *fdp)
{
	const int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY;
	char *dir = NULL, *slash;
	int fd, err = 0;
	uid_t uid;
	gid_t gid;

	if ((fd = open(path, flags, 0640)) >= 0)
		goto out;
	if (errno != ENOENT) {
		err = errno;
		goto out;
	}
	/* the parent directory is missing: create it (one level only) */
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir) {
		err = ENOENT;
		goto out;
	}
	*slash = '\0';
	if (mkdir(dir, 0750) == 0) {
		/* so the file can be made anew after the drop */
		if (service_owner(&uid, &gid) && chown(dir, uid, gid) != 0)
			log_warn("journal: chown %s", dir);
	} else if (errno != EEXIST) {
		err = errno;
		goto out;
	}
	if ((fd = open(path, flags, 0640)) < 0)
		err = errno;
out:
	free(dir);
	if (err == 0) {
		/* opened as root, written after the drop: the file is the service user's */
		if (service_owner(&uid, &gid) && fchown(fd, uid, gid) != 0)
			log_warn("journal: chown %s", path);
		*fdp = fd;
	}
	return err;
}

int
journal_open(struct journal **jp, const char *path, int json)
{
	struct journal *j;
	int fd, err;

	if ((err = journal_open_fd(path, &fd)) != 0)
		return err;
	j = xcalloc(1, sizeof(*j));
	j->path = xstrdup(path);
	j->fd = fd;
	j->json = json;
	*jp = j;
	return 0;
}

int
journal_reopen(struct journal *j)
{
	int fd, err;

	/* keep writing to the old file if the new one cannot be opened */
	if ((err = journal_open_fd(j->path, &fd)) != 0) {
		log_warnx("journal: cannot reopen %s: %s", j->path, strerror(err));
		return err;
	}
	if (j->fd >= 0)
		close(j->fd);
	j->fd = fd;
	return 0;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j);
}

static void
journal_failed(struct journal *j, int err)
{
	uint64_t now = clock_mono_ms();

	j->lost++;
	if (j->last_warn_ms != 0 && now - j->last_warn_ms < JOURNAL_WARN_MS)
		return;
	j->last_warn_ms = now;
	log_warnx("journal: write to %s failed: %s (%lu line%s lost)", j->path,
	    strerror(err), j->lost, j->lost == 1 ? "" : "s");
	j->lost = 0;
}

static void
journal_put(struct journal *j, const char *buf, size_t len)
{
	ssize_t n;
	size_t off = 0;

	while (off < len) {
		n = write(j->fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			journal_failed(j, errno);
			return;
		}
		if (n == 0) {
			journal_failed(j, EIO);
			return;
		}
		/* a short write (disk full): finish the line rather than leave half */
		off += (size_t)n;
	}
}

void
journal_write(struct journal *j, const char *event, ...)
{
	const char *kv[2 * JOURNAL_MAX_PAIRS];
	char stackbuf[JOURNAL_LINE], *buf = stackbuf;
	struct timespec ts;
	size_t nkv = 0, len;
	const char *k, *v;
	va_list ap;

	if (j == NULL || event == NULL)
		return;
	va_start(ap, event);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (v == NULL)
			continue;
		if (nkv == 2 * JOURNAL_MAX_PAIRS) {
			log_warnx("journal: %s: more than %d pairs, rest left out",
			    event, JOURNAL_MAX_PAIRS);
			break;
		}
		kv[nkv++] = k;
		kv[nkv++] = v;
	}
	va_end(ap);

	clock_gettime(CLOCK_REALTIME, &ts);
	len = journal_format(buf, sizeof(stackbuf), j->json, &ts, event, kv, nkv);
	if (len >= sizeof(stackbuf)) {
		buf = xmalloc(len + 1);
		journal_format(buf, len + 1, j->json, &ts, event, kv, nkv);
	}
	if (j->fd < 0)
		journal_failed(j, EBADF);
	else
		journal_put(j, buf, len);
	if (buf != stackbuf)
		free(buf);
}
