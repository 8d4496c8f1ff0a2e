/*
 * conf.c — loads and validates parley.conf with libconfig.  Every key has a
 * built-in default; unknown keys inside a known section are errors (a typo
 * must not silently fall back to a default).  Errors carry file:line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libconfig.h>

#include "config.h"
#include "conf.h"
#include "log.h"
#include "xmalloc.h"

/* the characters of a portable user or group name (POSIX 3.437) */
#define CONF_NAME_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

struct conf_ctx {
	const char	*file;
	char		*err;
	size_t		 errlen;
};

static int
conf_err(struct conf_ctx *cx, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
conf_err(struct conf_ctx *cx, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;
	int n;
	const char *file = cx->file;
	int line = 0;

	if (s != NULL) {
		if (config_setting_source_file(s) != NULL)
			file = config_setting_source_file(s);
		line = (int)config_setting_source_line(s);
	}
	n = snprintf(cx->err, cx->errlen, "%s:%d: ", file ? file : "(built-in)", line);
	if (n < 0 || (size_t)n >= cx->errlen)
		return EINVAL;
	va_start(ap, fmt);
	vsnprintf(cx->err + n, cx->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return EINVAL;
}

static void
conf_defaults(struct parley_conf *c)
{
	c->nlisten = 2;
	c->listen = xcalloc(2, sizeof(*c->listen));
	c->listen[0].transport = CONF_UDP;
	c->listen[0].host = xstrdup("0.0.0.0");
	c->listen[0].port = 5060;
	c->listen[1].transport = CONF_TCP;
	c->listen[1].host = xstrdup("0.0.0.0");
	c->listen[1].port = 5060;
	c->domain = xstrdup("pbx.local");
	c->auth = 1;
	c->no_answer_timeout = 60;
	c->min_expires = 60;
	c->max_expires = 3600;
	c->default_expires = 3600;
	c->nonce_ttl = 300;
	c->max_participants = 0;
	c->max_rooms = 0;
	c->nroom_numbers = 2;
	c->room_numbers = xcalloc(2, sizeof(char *));
	c->room_numbers[0] = xstrdup("800-899");
	c->room_numbers[1] = xstrdup("conference");
	c->media_mode = xstrdup("relay");
	c->rtp_port_min = 20000;
	c->rtp_port_max = 29999;
	c->ncodecs = 4;
	c->codecs = xcalloc(4, sizeof(char *));
	c->codecs[0] = xstrdup("AMR-WB");
	c->codecs[1] = xstrdup("AMR");
	c->codecs[2] = xstrdup("PCMA");
	c->codecs[3] = xstrdup("PCMU");
	c->rtp_timeout = 30;
	c->media_bind = xstrdup("0.0.0.0");
	c->media_kernel = 1;
	c->media_advertise = xstrdup("");
	c->media_node = xstrdup("");
	c->rec_dir = xstrdup("/var/lib/parley/recordings");
	c->rec_calls = 0;
	c->rec_rooms = 0;
	c->rec_legs = 1;
	c->rec_mix = 1;
	c->journal_path = xstrdup("/var/log/parley/calls.log");
	c->journal_json = 0;
	c->ctl_sipctl = xstrdup("ipc:///run/parley/sipctl.sock");
	c->nctl_media = 1;
	c->ctl_media = xcalloc(2, sizeof(char *));
	c->ctl_media[0] = xstrdup("ipc:///run/parley/media.sock");
	c->ctl_recorder = xstrdup("ipc:///run/parley/recorder.sock");
	c->log_level = LOG_LVL_INFO;
	c->daemon_user = xstrdup("parley");
	c->daemon_group = NULL;
}

int
conf_parse_listen(const char *s, struct conf_listen *out)
{
	const char *p, *colon;
	char *end;
	long port;

	if (strncmp(s, "udp:", 4) == 0)
		out->transport = CONF_UDP;
	else if (strncmp(s, "tcp:", 4) == 0)
		out->transport = CONF_TCP;
	else
		return EINVAL;
	p = s + 4;
	if (*p == '[') {
		const char *close = strchr(p, ']');

		if (close == NULL || close[1] != ':')
			return EINVAL;
		out->host = xstrndup(p + 1, (size_t)(close - p - 1));
		colon = close + 1;
	} else {
		colon = strrchr(p, ':');
		if (colon == NULL || colon == p)
			return EINVAL;
		out->host = xstrndup(p, (size_t)(colon - p));
		if (strchr(out->host, ':') != NULL) {	/* IPv6 needs brackets */
			free(out->host);
			out->host = NULL;
			return EINVAL;
		}
	}
	{
		/* a literal address: names would need a blocking resolver at start */
		unsigned char a[sizeof(struct in6_addr)];

		if (inet_pton(AF_INET, out->host, a) != 1 && inet_pton(AF_INET6, out->host, a) != 1) {
			free(out->host);
			out->host = NULL;
			return EINVAL;
		}
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end != '\0' || port < 1 || port > 65535) {
		free(out->host);
		out->host = NULL;
		return EINVAL;
	}
	out->port = (int)port;
	return 0;
}

/* Checks that every child of group s is one of the names in allowed. */
static int
conf_check_keys(struct conf_ctx *cx, const config_setting_t *s, const char *const *allowed)
{
	int i, n = config_setting_length(s);

	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_name(e);
		const char *const *a;

		for (a = allowed; *a != NULL; a++)
			if (strcmp(*a, name) == 0)
				break;
		if (*a == NULL)
			return conf_err(cx, e, "unknown setting '%s'", name);
	}
	return 0;
}

static int
conf_get_int(struct conf_ctx *cx, const config_setting_t *g, const char *name,
    int *out, int min, int max)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	long long v;

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return conf_err(cx, s, "'%s' must be a whole number", name);
	v = config_setting_get_int64(s);
	if (v < min || v > max)
		return conf_err(cx, s, "'%s' must be between %d and %d", name, min, max);
	*out = (int)v;
	return 0;
}

static int
conf_get_bool(struct conf_ctx *cx, const config_setting_t *g, const char *name, int *out)
{
	const config_setting_t *s = config_setting_get_member(g, name);

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return conf_err(cx, s, "'%s' must be true or false", name);
	*out = config_setting_get_bool(s);
	return 0;
}

static int
conf_get_str(struct conf_ctx *cx, const config_setting_t *g, const char *name, char **out)
{
	const config_setting_t *s = config_setting_get_member(g, name);

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return conf_err(cx, s, "'%s' must be a string", name);
	if (config_setting_get_string(s)[0] == '\0')
		return conf_err(cx, s, "'%s' must not be empty", name);
	free(*out);
	*out = xstrdup(config_setting_get_string(s));
	return 0;
}

/* Is value (of key name in g) a numeric IPv4/IPv6 address, or empty? */
static int
conf_check_addr(struct conf_ctx *cx, const config_setting_t *g, const char *name,
    const char *value)
{
	unsigned char a[16];

	if (value[0] == '\0' || inet_pton(AF_INET, value, a) == 1 ||
	    inet_pton(AF_INET6, value, a) == 1)
		return 0;
	return conf_err(cx, config_setting_get_member(g, name),
	    "'%s' must be a numeric IPv4 or IPv6 address, not '%s'", name, value);
}

static void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
conf_get_strv(struct conf_ctx *cx, const config_setting_t *g, const char *name,
    char ***out, size_t *nout)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	char **v;
	int i, n;

	if (s == NULL)
		return 0;
	if (!config_setting_is_aggregate(s) || config_setting_is_group(s))
		return conf_err(cx, s, "'%s' must be a list of strings", name);
	n = config_setting_length(s);
	v = xcalloc((size_t)n + 1, sizeof(char *));
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			strv_free(v, (size_t)i);
			return conf_err(cx, e, "'%s' must be a list of strings", name);
		}
		v[i] = xstrdup(config_setting_get_string(e));
	}
	strv_free(*out, *nout);
	*out = v;
	*nout = (size_t)n;
	return 0;
}

/* characters a user name or room name (a SIP user part) may not hold */
#define CONF_NOT_IN_USER	" \t\r\n:@;<>\""

/* "800-899": its two bounds; 0, or EINVAL when entry is not a range of digits */
static int
conf_room_range(const char *entry, unsigned long *lo, unsigned long *hi, size_t *width)
{
	const char *dash = strchr(entry, '-');
	size_t n1, n2;

	if (dash == NULL)
		return EINVAL;
	n1 = (size_t)(dash - entry);
	n2 = strlen(dash + 1);
	if (n1 == 0 || n1 > 9 || n1 != n2 || strspn(entry, "0123456789") != n1 ||
	    strspn(dash + 1, "0123456789") != n2)
		return EINVAL;
	*lo = strtoul(entry, NULL, 10);
	*hi = strtoul(dash + 1, NULL, 10);
	*width = n1;
	return *lo <= *hi ? 0 : EINVAL;
}

int
conf_room_match(const struct parley_conf *c, const char *user)
{
	unsigned long lo, hi, v;
	size_t i, w;

	if (user == NULL || *user == '\0')
		return 0;
	for (i = 0; i < c->nroom_numbers; i++) {
		const char *e = c->room_numbers[i];

		if (conf_room_range(e, &lo, &hi, &w) == 0) {
			/* same number of digits: "0800" is not room 800 */
			if (strlen(user) != w || strspn(user, "0123456789") != w)
				continue;
			v = strtoul(user, NULL, 10);
			if (v >= lo && v <= hi)
				return 1;
		} else if (strcmp(e, user) == 0)
			return 1;
	}
	return 0;
}

/* rooms.numbers: ranges of digits or names a SIP user part may hold, no user among them */
static int
conf_check_rooms(struct conf_ctx *cx, const struct parley_conf *c, const config_setting_t *g)
{
	const config_setting_t *s = config_setting_get_member(g, "numbers");
	unsigned long lo, hi;
	size_t i, w;

	for (i = 0; i < c->nroom_numbers; i++) {
		const char *e = c->room_numbers[i];

		if (strchr(e, '-') != NULL && strspn(e, "0123456789") > 0 &&
		    conf_room_range(e, &lo, &hi, &w) != 0)
			return conf_err(cx, s, "room range '%s' must be FIRST-LAST, digits of "
			    "the same length, FIRST <= LAST", e);
		if (*e == '\0' || strlen(e) > 64 || strpbrk(e, CONF_NOT_IN_USER) != NULL)
			return conf_err(cx, s, "room '%s' has characters not allowed in a SIP "
			    "user part (or is empty or longer than 64)", e);
	}
	for (i = 0; i < c->nusers; i++)
		if (conf_room_match(c, c->users[i].name))
			return conf_err(cx, s, "'%s' is both a user and a room number",
			    c->users[i].name);
	return 0;
}

/* media.codecs: names this project knows, no one twice */
static int
conf_check_codecs(struct conf_ctx *cx, const struct parley_conf *c, const config_setting_t *g)
{
	static const char *const known[] = { "AMR-WB", "AMR", "PCMA", "PCMU", "EVS", NULL };
	const config_setting_t *s = config_setting_get_member(g, "codecs");
	size_t i, j, k;

	if (s != NULL && c->ncodecs == 0)
		return conf_err(cx, s, "'codecs' must name at least one codec");
	for (i = 0; i < c->ncodecs; i++) {
		for (k = 0; known[k] != NULL && strcasecmp(known[k], c->codecs[i]) != 0; k++)
			;
		if (known[k] == NULL)
			return conf_err(cx, s, "unknown codec '%s' (known: AMR-WB, AMR, PCMA, "
			    "PCMU, EVS)", c->codecs[i]);
		for (j = 0; j < i; j++)
			if (strcasecmp(c->codecs[j], c->codecs[i]) == 0)
				return conf_err(cx, s, "codec '%s' is listed twice", c->codecs[i]);
	}
	return 0;
}

static int
conf_load_sip(struct conf_ctx *cx, struct parley_conf *c, const config_setting_t *g)
{
	static const char *const keys[] = { "listen", "domain", "auth",
	    "no_answer_timeout", "min_expires", "max_expires", "default_expires",
	    "nonce_ttl", "reason_phrases", NULL };
	const config_setting_t *s;
	int err, i, n;

	if ((err = conf_check_keys(cx, g, keys)) ||
	    (err = conf_get_str(cx, g, "domain", &c->domain)) ||
	    (err = conf_get_bool(cx, g, "auth", &c->auth)) ||
	    (err = conf_get_int(cx, g, "no_answer_timeout", &c->no_answer_timeout, 1, 3600)) ||
	    (err = conf_get_int(cx, g, "min_expires", &c->min_expires, 1, 86400)) ||
	    (err = conf_get_int(cx, g, "max_expires", &c->max_expires, 1, 604800)) ||
	    (err = conf_get_int(cx, g, "default_expires", &c->default_expires, 1, 604800)) ||
	    (err = conf_get_int(cx, g, "nonce_ttl", &c->nonce_ttl, 5, 86400)))
		return err;
	if (c->min_expires > c->max_expires)
		return conf_err(cx, config_setting_get_member(g, "min_expires"),
		    "'min_expires' is larger than 'max_expires'");
	if (c->default_expires < c->min_expires || c->default_expires > c->max_expires)
		return conf_err(cx, config_setting_get_member(g, "default_expires") ?
		    config_setting_get_member(g, "default_expires") : g,
		    "'default_expires' (%d) must lie between 'min_expires' (%d) and 'max_expires' (%d)",
		    c->default_expires, c->min_expires, c->max_expires);

	if ((s = config_setting_get_member(g, "listen")) != NULL) {
		struct conf_listen *l;

		if (!config_setting_is_array(s) && !config_setting_is_list(s))
			return conf_err(cx, s, "'listen' must be a list of \"udp:ADDR:PORT\" or \"tcp:ADDR:PORT\"");
		n = config_setting_length(s);
		if (n == 0)
			return conf_err(cx, s, "'listen' is empty: sipd would serve nothing");
		l = xcalloc((size_t)n, sizeof(*l));
		for (i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			const char *v = config_setting_get_string(e);

			if (v == NULL || conf_parse_listen(v, &l[i]) != 0) {
				int j;

				for (j = 0; j < i; j++)
					free(l[j].host);
				free(l);
				return conf_err(cx, e, "bad listen address '%s' (want a literal address: \"udp:ADDR:PORT\", \"tcp:[V6]:PORT\")",
				    v ? v : "(not a string)");
			}
		}
		for (i = 0; (size_t)i < c->nlisten; i++)
			free(c->listen[i].host);
		free(c->listen);
		c->listen = l;
		c->nlisten = (size_t)n;
	}

	if ((s = config_setting_get_member(g, "reason_phrases")) != NULL) {
		if (!config_setting_is_list(s) && !config_setting_is_array(s))
			return conf_err(cx, s, "'reason_phrases' must be a list of { code = N; text = \"...\"; }");
		n = config_setting_length(s);
		c->reasons = xcalloc((size_t)n + 1, sizeof(*c->reasons));
		for (i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			static const char *const rkeys[] = { "code", "text", NULL };
			int code = 0;
			char *text = NULL;

			if (!config_setting_is_group(e))
				return conf_err(cx, e, "reason phrase must be { code = N; text = \"...\"; }");
			if ((err = conf_check_keys(cx, e, rkeys)) ||
			    (err = conf_get_int(cx, e, "code", &code, 100, 699)) ||
			    (err = conf_get_str(cx, e, "text", &text)))
				return err;
			if (code == 0 || text == NULL) {
				free(text);
				return conf_err(cx, e, "reason phrase needs both 'code' and 'text'");
			}
			if (strpbrk(text, "\r\n") != NULL) {
				free(text);
				return conf_err(cx, e, "reason phrase must be one line");
			}
			c->reasons[c->nreasons].code = code;
			c->reasons[c->nreasons].text = text;
			c->nreasons++;
		}
	}
	return 0;
}

static int
conf_hex32(const char *s)
{
	size_t i;

	if (strlen(s) != 32)
		return 0;
	for (i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

static int
conf_load_users(struct conf_ctx *cx, struct parley_conf *c, const config_setting_t *s)
{
	static const char *const keys[] = { "name", "password", "ha1", "display", "media", "record",
	    NULL };
	int i, n, err;

	if (!config_setting_is_list(s) && !config_setting_is_array(s))
		return conf_err(cx, s, "'users' must be a list of { name = ...; password = ...; }");
	n = config_setting_length(s);
	c->users = xcalloc((size_t)n + 1, sizeof(*c->users));
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		struct conf_user *u = &c->users[c->nusers];

		if (!config_setting_is_group(e))
			return conf_err(cx, e, "a user must be { name = ...; password = ...; }");
		c->nusers++;
		u->record = -1;
		if ((err = conf_check_keys(cx, e, keys)) ||
		    (err = conf_get_str(cx, e, "name", &u->name)) ||
		    (err = conf_get_str(cx, e, "password", &u->password)) ||
		    (err = conf_get_str(cx, e, "ha1", &u->ha1)) ||
		    (err = conf_get_str(cx, e, "display", &u->display)) ||
		    (err = conf_get_str(cx, e, "media", &u->media)) ||
		    (err = conf_get_bool(cx, e, "record", &u->record)))
			return err;
		if (u->name == NULL)
			return conf_err(cx, e, "user without 'name'");
		if (strpbrk(u->name, CONF_NOT_IN_USER) != NULL)
			return conf_err(cx, e, "user name '%s' has characters not allowed in a SIP user part", u->name);
		if ((u->password == NULL) == (u->ha1 == NULL))
			return conf_err(cx, e, "user '%s' needs exactly one of 'password' or 'ha1'", u->name);
		if (u->ha1 != NULL && !conf_hex32(u->ha1))
			return conf_err(cx, config_setting_get_member(e, "ha1"),
			    "ha1 of user '%s' must be 32 hex digits (MD5 of name:realm:password)", u->name);
		if (u->media != NULL && strcmp(u->media, "relay") != 0 && strcmp(u->media, "p2p") != 0)
			return conf_err(cx, config_setting_get_member(e, "media"),
			    "media of user '%s' must be \"relay\" or \"p2p\"", u->name);
		if (conf_user_find(c, u->name) != u)
			return conf_err(cx, e, "user '%s' is defined twice", u->name);
	}
	return 0;
}

static int
conf_load_rest(struct conf_ctx *cx, struct parley_conf *c, config_t *cfg)
{
	static const char *const top[] = { "sip", "users", "rooms", "media",
	    "recording", "journal", "control", "log", "daemon", NULL };
	static const char *const rooms[] = { "numbers", "max_participants", "max_rooms", NULL };
	static const char *const media[] = { "mode", "rtp_ports", "codecs", "rtp_timeout",
		"bind", "advertise", "node", "kernel", "kernel_interfaces", NULL };
	static const char *const rec[] = { "dir", "calls", "rooms", "legs", "mix", NULL };
	static const char *const jr[] = { "path", "format", NULL };
	static const char *const ctl[] = { "sipctl", "media", "recorder", NULL };
	static const char *const lg[] = { "level", NULL };
	static const char *const dmn[] = { "user", "group", NULL };
	const config_setting_t *root = config_root_setting(cfg), *g, *s;
	int err;

	if ((err = conf_check_keys(cx, root, top)) != 0)
		return err;
	{
		static const char *const groups[] = { "sip", "rooms", "media", "recording",
		    "journal", "control", "log", "daemon", NULL };
		const char *const *gn;

		for (gn = groups; *gn != NULL; gn++)
			if ((g = config_lookup(cfg, *gn)) != NULL && !config_setting_is_group(g))
				return conf_err(cx, g, "'%s' must be a group: %s: { ... };", *gn, *gn);
	}
	if ((g = config_lookup(cfg, "sip")) != NULL &&
	    (err = conf_load_sip(cx, c, g)) != 0)
		return err;
	if ((g = config_lookup(cfg, "users")) != NULL &&
	    (err = conf_load_users(cx, c, g)) != 0)
		return err;
	if ((g = config_lookup(cfg, "rooms")) != NULL) {
		if ((err = conf_check_keys(cx, g, rooms)) ||
		    (err = conf_get_strv(cx, g, "numbers", &c->room_numbers, &c->nroom_numbers)) ||
		    (err = conf_get_int(cx, g, "max_participants", &c->max_participants, 0, 100000)) ||
		    (err = conf_get_int(cx, g, "max_rooms", &c->max_rooms, 0, 100000)) ||
		    (err = conf_check_rooms(cx, c, g)))
			return err;
	}
	if ((g = config_lookup(cfg, "media")) != NULL) {
		if ((err = conf_check_keys(cx, g, media)) ||
		    (err = conf_get_str(cx, g, "mode", &c->media_mode)) ||
		    (err = conf_get_strv(cx, g, "codecs", &c->codecs, &c->ncodecs)) ||
		    (err = conf_get_int(cx, g, "rtp_timeout", &c->rtp_timeout, 0, 86400)) ||
		    (err = conf_get_str(cx, g, "bind", &c->media_bind)) ||
		    (err = conf_get_str(cx, g, "node", &c->media_node)) ||
		    (err = conf_get_str(cx, g, "advertise", &c->media_advertise)) ||
		    (err = conf_get_bool(cx, g, "kernel", &c->media_kernel)) ||
		    (err = conf_get_strv(cx, g, "kernel_interfaces", &c->kernel_ifs,
		    &c->nkernel_ifs)) ||
		    (err = conf_check_codecs(cx, c, g)))
			return err;
		if ((err = conf_check_addr(cx, g, "bind", c->media_bind)) ||
		    (err = conf_check_addr(cx, g, "advertise", c->media_advertise)))
			return err;
		if (strcmp(c->media_mode, "relay") != 0 && strcmp(c->media_mode, "p2p") != 0)
			return conf_err(cx, config_setting_get_member(g, "mode"),
			    "media mode must be \"relay\" or \"p2p\"");
		if ((s = config_setting_get_member(g, "rtp_ports")) != NULL) {
			const config_setting_t *a, *b;

			if (config_setting_length(s) != 2 ||
			    (a = config_setting_get_elem(s, 0)) == NULL ||
			    (b = config_setting_get_elem(s, 1)) == NULL ||
			    config_setting_type(a) != CONFIG_TYPE_INT ||
			    config_setting_type(b) != CONFIG_TYPE_INT)
				return conf_err(cx, s, "'rtp_ports' must be [ FIRST, LAST ]");
			c->rtp_port_min = config_setting_get_int(a);
			c->rtp_port_max = config_setting_get_int(b);
			if (c->rtp_port_min < 1024 || c->rtp_port_max > 65535 ||
			    c->rtp_port_min + 3 > c->rtp_port_max)
				return conf_err(cx, s, "'rtp_ports' must be a range within 1024-65535 of at least 4 ports");
		}
	}
	if ((g = config_lookup(cfg, "recording")) != NULL) {
		if ((err = conf_check_keys(cx, g, rec)) ||
		    (err = conf_get_str(cx, g, "dir", &c->rec_dir)) ||
		    (err = conf_get_bool(cx, g, "calls", &c->rec_calls)) ||
		    (err = conf_get_bool(cx, g, "rooms", &c->rec_rooms)) ||
		    (err = conf_get_bool(cx, g, "legs", &c->rec_legs)) ||
		    (err = conf_get_bool(cx, g, "mix", &c->rec_mix)))
			return err;
	}
	if ((g = config_lookup(cfg, "journal")) != NULL) {
		char *fmt = NULL;

		if ((err = conf_check_keys(cx, g, jr)) ||
		    (err = conf_get_str(cx, g, "path", &c->journal_path)) ||
		    (err = conf_get_str(cx, g, "format", &fmt)))
			return err;
		if (fmt != NULL) {
			int bad = strcmp(fmt, "text") != 0 && strcmp(fmt, "json") != 0;

			c->journal_json = strcmp(fmt, "json") == 0;
			free(fmt);
			if (bad)
				return conf_err(cx, config_setting_get_member(g, "format"),
				    "journal format must be \"text\" or \"json\"");
		}
	}
	if ((g = config_lookup(cfg, "control")) != NULL) {
		if ((err = conf_check_keys(cx, g, ctl)) ||
		    (err = conf_get_str(cx, g, "sipctl", &c->ctl_sipctl)) ||
		    (err = conf_get_str(cx, g, "recorder", &c->ctl_recorder)))
			return err;
		if ((s = config_setting_get_member(g, "media")) != NULL) {
			if (config_setting_type(s) == CONFIG_TYPE_STRING) {
				char *one = NULL;

				if ((err = conf_get_str(cx, g, "media", &one)) != 0)
					return err;
				strv_free(c->ctl_media, c->nctl_media);
				c->ctl_media = xcalloc(2, sizeof(char *));
				c->ctl_media[0] = one;
				c->nctl_media = 1;
			} else if ((err = conf_get_strv(cx, g, "media", &c->ctl_media,
			    &c->nctl_media)) != 0)
				return err;
			if (c->nctl_media == 0)
				return conf_err(cx, s, "'media' must name at least one endpoint");
		}
	}
	if ((g = config_lookup(cfg, "log")) != NULL) {
		char *lvl = NULL;

		if ((err = conf_check_keys(cx, g, lg)) ||
		    (err = conf_get_str(cx, g, "level", &lvl)))
			return err;
		if (lvl != NULL) {
			static const char *const names[] = { "error", "warning", "info", "debug" };
			int i, found = -1;

			for (i = 0; i < 4; i++)
				if (strcmp(lvl, names[i]) == 0)
					found = i;
			free(lvl);
			if (found < 0)
				return conf_err(cx, config_setting_get_member(g, "level"),
				    "log level must be \"error\", \"warning\", \"info\" or \"debug\"");
			c->log_level = found;
		}
	}
	if ((g = config_lookup(cfg, "daemon")) != NULL) {
		if ((err = conf_check_keys(cx, g, dmn)) ||
		    (err = conf_get_str(cx, g, "user", &c->daemon_user)) ||
		    (err = conf_get_str(cx, g, "group", &c->daemon_group)))
			return err;
		/* POSIX's portable user names: whether the user exists is seen at start */
		if (strspn(c->daemon_user, CONF_NAME_CHARS) != strlen(c->daemon_user) ||
		    c->daemon_user[0] == '-')
			return conf_err(cx, config_setting_get_member(g, "user"),
			    "'user' must be a user name (letters, digits, '.', '_', '-')");
		if (c->daemon_group != NULL &&
		    (strspn(c->daemon_group, CONF_NAME_CHARS) != strlen(c->daemon_group) ||
		    c->daemon_group[0] == '-'))
			return conf_err(cx, config_setting_get_member(g, "group"),
			    "'group' must be a group name (letters, digits, '.', '_', '-')");
	}
	return 0;
}

int
conf_load(const char *path, struct parley_conf **out, char *err, size_t errlen)
{
	struct parley_conf *c = xcalloc(1, sizeof(*c));
	struct conf_ctx cx = { path, err, errlen };
	config_t cfg;
	int rc = 0;

	conf_defaults(c);
	if (path == NULL) {
		c->builtin = 1;
		*out = c;
		return 0;
	}
	c->path = xstrdup(path);
	config_init(&cfg);
	if (!config_read_file(&cfg, path)) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO) {
			snprintf(err, errlen, "%s:0: cannot read the file", path);
			rc = errno ? errno : ENOENT;
		} else {
			snprintf(err, errlen, "%s:%d: %s",
			    config_error_file(&cfg) ? config_error_file(&cfg) : path,
			    config_error_line(&cfg), config_error_text(&cfg));
			rc = EINVAL;
		}
		goto out;
	}
	rc = conf_load_rest(&cx, c, &cfg);
out:
	config_destroy(&cfg);
	if (rc != 0) {
		conf_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void
conf_free(struct parley_conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->path);
	for (i = 0; i < c->nlisten; i++)
		free(c->listen[i].host);
	free(c->listen);
	free(c->domain);
	for (i = 0; i < c->nreasons; i++)
		free(c->reasons[i].text);
	free(c->reasons);
	for (i = 0; i < c->nusers; i++) {
		free(c->users[i].name);
		free(c->users[i].password);
		free(c->users[i].ha1);
		free(c->users[i].display);
		free(c->users[i].media);
	}
	free(c->users);
	strv_free(c->room_numbers, c->nroom_numbers);
	free(c->media_mode);
	strv_free(c->codecs, c->ncodecs);
	free(c->rec_dir);
	free(c->journal_path);
	free(c->ctl_sipctl);
	strv_free(c->ctl_media, c->nctl_media);
	strv_free(c->kernel_ifs, c->nkernel_ifs);
	free(c->media_bind);
	free(c->media_advertise);
	free(c->media_node);
	free(c->ctl_recorder);
	free(c->daemon_user);
	free(c->daemon_group);
	free(c);
}

const struct conf_user *
conf_user_find(const struct parley_conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nusers; i++)
		if (c->users[i].name != NULL && strcmp(c->users[i].name, name) == 0)
			return &c->users[i];
	return NULL;
}

int
conf_record_call(const struct parley_conf *c, const char *caller, const char *callee)
{
	const struct conf_user *a = caller != NULL ? conf_user_find(c, caller) : NULL;
	const struct conf_user *b = callee != NULL ? conf_user_find(c, callee) : NULL;
	int ra = a != NULL ? a->record : -1, rb = b != NULL ? b->record : -1;

	if (!c->rec_legs && !c->rec_mix)
		return 0;
	if (ra == 1 || rb == 1)
		return 1;
	return c->rec_calls && ra != 0 && rb != 0;
}

int
conf_record_rooms(const struct parley_conf *c)
{
	return c->rec_rooms && (c->rec_legs || c->rec_mix);
}

const char *
conf_reason_phrase(const struct parley_conf *c, int code)
{
	size_t i;

	for (i = 0; i < c->nreasons; i++)
		if (c->reasons[i].code == code)
			return c->reasons[i].text;
	return NULL;
}

int
conf_load_main(const char *progname, const char *path, int explicit, struct parley_conf **out)
{
	char err[512];
	int rc;

	if (!explicit && access(CONF_DEFAULT_PATH, F_OK) != 0)
		path = NULL;	/* no file anywhere: the built-in default */
	if ((rc = conf_load(path, out, err, sizeof(err))) != 0)
		fprintf(stderr, "%s: %s\n", progname, err);
	return rc;
}

char *
conf_abspath(const char *path)
{
	char cwd[4096], *out;

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(path);
	xasprintf(&out, "%s/%s", cwd, path);
	return out;
}

static void
conf_usage(FILE *f, const char *progname)
{
	fprintf(f,
	    "usage: %s [-fdtVh] [-c FILE] [-p FILE]\n"
	    "  -c FILE  configuration file (default " CONF_DEFAULT_PATH
	    "; without one, the built-in default)\n"
	    "  -p FILE  write the process id to FILE once the sockets are bound\n"
	    "  -f       stay in the foreground and log to stderr\n"
	    "  -d       debug logging\n"
	    "  -t       check the configuration and exit (0 good, 1 bad)\n"
	    "  -V       print the version and exit\n"
	    "  -h       this help\n", progname);
}

int
conf_main(const char *progname, int argc, char **argv, struct conf_main_opts *o)
{
	const char *path = CONF_DEFAULT_PATH;
	int ch, check = 0, explicit = 0;

	memset(o, 0, sizeof(*o));
	while ((ch = getopt(argc, argv, "c:p:fdtVh")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			explicit = 1;
			break;
		case 'p':
			o->pidfile = optarg;
			break;
		case 'f':
			o->foreground = 1;
			break;
		case 'd':
			o->debug = 1;
			break;
		case 't':
			check = 1;
			break;
		case 'V':
			printf("%s (%s) %s\n", progname, PACKAGE_NAME, PACKAGE_VERSION);
			return 0;
		case 'h':
			conf_usage(stdout, progname);
			return 0;
		default:
			conf_usage(stderr, progname);
			return 2;
		}
	}
	if (optind != argc) {
		conf_usage(stderr, progname);
		return 2;
	}
	if (conf_load_main(progname, path, explicit, &o->conf) != 0)
		return 1;
	if (check) {
		printf("%s: %s: configuration good\n", progname,
		    o->conf->path ? o->conf->path : "built-in default");
		conf_free(o->conf);
		o->conf = NULL;
		return 0;
	}
	return -1;
}

