/*
 * sipctl.c — the operator's command line: sends one admin command to sipd's
 * control socket (a ZeroMQ DEALER to control.sipctl, one ADMIN_REQ) and
 * prints the answer, as aligned tables for people or, with --json, the
 * daemon's JSON exactly as it came (one line: sipd sends it compact; pipe
 * it to jq for more).  With --json a refusal's {"error": ...} goes to
 * stdout too, its reason to stderr as always.
 *
 * It checks the command words and their count before sending, so a typo
 * is a usage error (exit 2) without a daemon.  It holds no state and
 * waits for one answer at most -t milliseconds.  Exit status
 * (docs/contract.md): 0 done, 1 refused by sipd (its reason on stderr),
 * 2 usage error, 3 sipd cannot be reached.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

#include "config.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "proto/proto.h"

#define SIPCTL_EXIT_DONE	0
#define SIPCTL_EXIT_REFUSED	1
#define SIPCTL_EXIT_USAGE	2
#define SIPCTL_EXIT_UNREACHABLE	3

#define SIPCTL_TIMEOUT		3000	/* ms */
#define SIPCTL_TIMEOUT_MAX	3600000

/* how a command prints its answer */
enum sipctl_view {
	VIEW_STATUS, VIEW_REGS, VIEW_CALLS, VIEW_HANGUP, VIEW_MEDIA, VIEW_ROOMS, VIEW_ROOM,
	VIEW_ROOM_ACT, VIEW_RECS, VIEW_GENERIC
};

/* the contract's command set; sipd/ctl.c checks the same counts */
static const struct sipctl_cmd {
	const char	*word, *sub;	/* sub NULL: one-word command */
	size_t		 nargs;
	int		 numeric;	/* the last argument is a count N >= 0 */
	const char	*usage, *help;
	enum sipctl_view view;
} sipctl_cmds[] = {
	{ "status", NULL, 0, 0, "status",
	    "versions, uptime, counts, mediad nodes and their recorders", VIEW_STATUS },
	{ "registrations", NULL, 0, 0, "registrations",
	    "user, contact, source address, transport, expires in", VIEW_REGS },
	{ "calls", NULL, 0, 0, "calls",
	    "call id, from, to, state, since, media mode, packets, recording", VIEW_CALLS },
	{ "call", "hangup", 1, 0, "call hangup CALL-ID",
	    "end a 1:1 call (BYE both ways)", VIEW_HANGUP },
	{ "rooms", NULL, 0, 0, "rooms",
	    "room, participants, limit, since, recording", VIEW_ROOMS },
	{ "room", "show", 1, 0, "room show ROOM",
	    "participants of a room", VIEW_ROOM },
	{ "room", "kick", 2, 0, "room kick ROOM PARTICIPANT",
	    "PARTICIPANT: the id from `room show` or the user", VIEW_ROOM_ACT },
	{ "room", "mute", 2, 0, "room mute ROOM PARTICIPANT",
	    "the others stop hearing PARTICIPANT", VIEW_ROOM_ACT },
	{ "room", "unmute", 2, 0, "room unmute ROOM PARTICIPANT",
	    "the others hear PARTICIPANT again", VIEW_ROOM_ACT },
	{ "room", "limit", 2, 1, "room limit ROOM N",
	    "0 = no limit; a full room answers 486", VIEW_GENERIC },
	{ "room", "max", 1, 1, "room max N",
	    "most rooms at once; 0 = no limit", VIEW_GENERIC },
	{ "media", "stats", 0, 0, "media stats",
	    "per call leg and stream: packets, bytes, loss, jitter, latched address",
	    VIEW_MEDIA },
	{ "recordings", NULL, 0, 0, "recordings",
	    "open and recent recordings with their files", VIEW_RECS },
};
#define SIPCTL_NCMDS	(sizeof(sipctl_cmds) / sizeof(sipctl_cmds[0]))

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: sipctl [-c FILE] [-s ENDPOINT] [-t TIMEOUT_MS] [--json] COMMAND ...\n"
	    "  -c, --config FILE     read control.sipctl from FILE (default "
	    CONF_DEFAULT_PATH " if it\n"
	    "                        exists, else the built-in default)\n"
	    "  -s, --socket ENDPOINT sipd's control endpoint, e.g. ipc:///run/parley/sipctl.sock\n"
	    "  -t, --timeout MS      wait at most MS milliseconds for sipd (default %d)\n"
	    "  -j, --json            print sipd's JSON answer as is, on one line\n"
	    "  -V, --version         print the version and exit\n"
	    "  -h, --help            this help\n"
	    "options may follow the command; put -- before a word that starts with '-'\n"
	    "commands:\n", SIPCTL_TIMEOUT);
	for (i = 0; i < SIPCTL_NCMDS; i++)
		fprintf(f, "  %-31s %s\n", sipctl_cmds[i].usage, sipctl_cmds[i].help);
	fprintf(f, "exit status: 0 done, 1 refused by sipd, 2 usage error, "
	    "3 sipd cannot be reached\n");
}

/* ---------------------------------------------------------------- checking the command */

static int
sipctl_is_count(const char *s)
{
	size_t i;

	if (*s == '\0' || strlen(s) > 9)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* The command of words[0..n), or NULL after saying why on stderr. */
static const struct sipctl_cmd *
sipctl_find(char **words, size_t n)
{
	const struct sipctl_cmd *cmd = NULL;
	size_t i, nwords;
	int known = 0;

	for (i = 0; i < SIPCTL_NCMDS; i++) {
		if (strcmp(words[0], sipctl_cmds[i].word) != 0)
			continue;
		known = 1;
		if (sipctl_cmds[i].sub == NULL ||
		    (n > 1 && strcmp(words[1], sipctl_cmds[i].sub) == 0)) {
			cmd = &sipctl_cmds[i];
			break;
		}
	}
	if (cmd == NULL) {
		if (known && n > 1)
			fprintf(stderr, "sipctl: unknown command: %s %s\n", words[0], words[1]);
		else if (known)
			fprintf(stderr, "sipctl: incomplete command: %s\n", words[0]);
		else
			fprintf(stderr, "sipctl: unknown command: %s\n", words[0]);
		usage(stderr);
		return NULL;
	}
	nwords = cmd->sub != NULL ? 2 : 1;
	if (n != nwords + cmd->nargs) {
		fprintf(stderr, "usage: sipctl %s\n(sipctl -h lists every command)\n",
		    cmd->usage);
		return NULL;
	}
	if (cmd->numeric && !sipctl_is_count(words[n - 1])) {
		fprintf(stderr, "sipctl: N must be a number, 0 or more: %s\n"
		    "usage: sipctl %s\n", words[n - 1], cmd->usage);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (strlen(words[i]) > PROTO_STRV_ITEM_MAX) {
			fprintf(stderr, "sipctl: argument too long\n");
			return NULL;
		}
	}
	return cmd;
}

/* ---------------------------------------------------------------- printing */

/* Terminal-safe text of s: control characters become '?'. */
static void
sipctl_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* Display width of UTF-8 text: code points, not bytes. */
static size_t
sipctl_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* "1d 02:03:04", "0:01:05" */
static void
sipctl_hms(json_int_t secs, char *buf, size_t len)
{
	long long s = secs < 0 ? 0 : (long long)secs;

	if (s >= 86400)
		snprintf(buf, len, "%lldd %02lld:%02lld:%02lld", s / 86400, s / 3600 % 24,
		    s / 60 % 60, s % 60);
	else
		snprintf(buf, len, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
}

enum sipctl_fmt { FMT_TEXT, FMT_SECS, FMT_HMS, FMT_BOOL, FMT_DEC3 };

/* A cell or value as text (malloc'd, terminal-safe). */
static char *
sipctl_text(const json_t *v, enum sipctl_fmt fmt)
{
	char buf[64], *s;
	size_t i;

	if (v == NULL || json_is_null(v))
		return xstrdup("-");
	if (json_is_string(v)) {
		s = xstrdup(json_string_value(v));
		sipctl_clean(s);
		return s;
	}
	if (json_is_boolean(v)) {
		if (fmt == FMT_BOOL)
			return xstrdup(json_is_true(v) ? "yes" : "no");
		return xstrdup(json_is_true(v) ? "true" : "false");
	}
	if (json_is_integer(v)) {
		if (fmt == FMT_HMS)
			sipctl_hms(json_integer_value(v), buf, sizeof(buf));
		else
			snprintf(buf, sizeof(buf), "%lld%s", (long long)json_integer_value(v),
			    fmt == FMT_SECS ? "s" : "");
		return xstrdup(buf);
	}
	if (json_is_real(v)) {
		snprintf(buf, sizeof(buf), fmt == FMT_DEC3 ? "%.3f" : "%g", json_real_value(v));
		return xstrdup(buf);
	}
	if (json_is_array(v)) {
		/* scalars joined by commas; anything else by count */
		char *out, *item, *tmp;

		if (json_array_size(v) == 0)
			return xstrdup("-");
		out = xstrdup("");

		for (i = 0; i < json_array_size(v); i++) {
			const json_t *e = json_array_get(v, i);

			if (json_is_object(e) || json_is_array(e)) {
				free(out);
				snprintf(buf, sizeof(buf), "(%zu)", json_array_size(v));
				return xstrdup(buf);
			}
			item = sipctl_text(e, fmt);
			xasprintf(&tmp, "%s%s%s", out, i > 0 ? "," : "", item);
			free(out);
			free(item);
			out = tmp;
		}
		return out;
	}
	if ((s = json_dumps(v, JSON_COMPACT)) == NULL)
		return xstrdup("?");
	sipctl_clean(s);
	return s;
}

struct sipctl_col {
	const char	*key, *head;
	enum sipctl_fmt	 fmt;
};

/*
 * Prints the objects of rows as a table: a header line, then one line per
 * row, columns aligned (two spaces apart), the last one not padded.
 */
static void
sipctl_table(const json_t *rows, const struct sipctl_col *cols, size_t ncols)
{
	size_t nrows = json_array_size(rows), r, c, *w;
	char **cell;

	w = xcalloc(ncols, sizeof(*w));
	cell = xcalloc(nrows * ncols + 1, sizeof(*cell));
	for (c = 0; c < ncols; c++)
		w[c] = sipctl_width(cols[c].head);
	for (r = 0; r < nrows; r++) {
		const json_t *row = json_array_get(rows, r);

		for (c = 0; c < ncols; c++) {
			const json_t *v = json_is_object(row) ?
			    json_object_get(row, cols[c].key) : NULL;

			cell[r * ncols + c] = sipctl_text(v, cols[c].fmt);
			if (sipctl_width(cell[r * ncols + c]) > w[c])
				w[c] = sipctl_width(cell[r * ncols + c]);
		}
	}
	for (r = 0; r <= nrows; r++) {
		for (c = 0; c < ncols; c++) {
			const char *t = r == 0 ? cols[c].head : cell[(r - 1) * ncols + c];

			fputs(t, stdout);
			if (c + 1 < ncols)
				printf("%*s", (int)(w[c] - sipctl_width(t) + 2), "");
		}
		putchar('\n');
	}
	for (r = 0; r < nrows * ncols; r++)
		free(cell[r]);
	free(cell);
	free(w);
}

/* key: value lines, nested objects flattened to "a.b", values aligned */
struct sipctl_kv {
	char	**keys, **vals;
	size_t	  n;
};

static void
sipctl_kv_collect(struct sipctl_kv *kv, const json_t *o, const char *prefix)
{
	const char *key;
	json_t *v;
	char *full;

	json_object_foreach((json_t *)o, key, v) {
		xasprintf(&full, "%s%s%s", prefix, *prefix ? "." : "", key);
		if (json_is_object(v)) {
			sipctl_kv_collect(kv, v, full);
			free(full);
			continue;
		}
		sipctl_clean(full);
		kv->keys = xrealloc(kv->keys, (kv->n + 1) * sizeof(*kv->keys));
		kv->vals = xrealloc(kv->vals, (kv->n + 1) * sizeof(*kv->vals));
		kv->keys[kv->n] = full;
		kv->vals[kv->n] = sipctl_text(v, strcmp(key, "uptime") == 0 ||
		    strcmp(key, "duration") == 0 ? FMT_HMS : FMT_TEXT);
		kv->n++;
	}
}

static void
sipctl_print_kv(const json_t *o)
{
	struct sipctl_kv kv = { NULL, NULL, 0 };
	size_t i, w = 0;

	sipctl_kv_collect(&kv, o, "");
	for (i = 0; i < kv.n; i++)
		if (sipctl_width(kv.keys[i]) > w)
			w = sipctl_width(kv.keys[i]);
	for (i = 0; i < kv.n; i++) {
		printf("%s:%*s%s\n", kv.keys[i], (int)(w - sipctl_width(kv.keys[i]) + 2), "",
		    kv.vals[i]);
		free(kv.keys[i]);
		free(kv.vals[i]);
	}
	free(kv.keys);
	free(kv.vals);
}

/*
 * For answers sipctl has no layout for: an object holding one list of
 * objects is a table with a column per key, anything else key: value lines.
 */
static void
sipctl_print_generic(const json_t *o)
{
	struct sipctl_col *cols = NULL;
	const json_t *rows = NULL, *row;
	const char *key;
	json_t *v;
	size_t ncols = 0, i, c;
	char *h;

	if (json_object_size(o) == 1 && json_is_true(json_object_get(o, "ok"))) {
		printf("ok\n");
		return;
	}
	if (json_object_size(o) == 1) {
		json_object_foreach((json_t *)o, key, v)
			rows = v;
	}
	if (rows == NULL || !json_is_array(rows)) {
		sipctl_print_kv(o);
		return;
	}
	for (i = 0; i < json_array_size(rows); i++) {
		row = json_array_get(rows, i);
		if (!json_is_object(row)) {
			sipctl_print_kv(o);
			goto out;
		}
		json_object_foreach((json_t *)row, key, v) {
			for (c = 0; c < ncols; c++)
				if (strcmp(cols[c].key, key) == 0)
					break;
			if (c < ncols)
				continue;
			cols = xrealloc(cols, (ncols + 1) * sizeof(*cols));
			cols[ncols].key = key;
			h = xstrdup(key);
			for (c = 0; h[c] != '\0'; c++)
				h[c] = h[c] == '_' ? '-' : (char)(h[c] >= 'a' && h[c] <= 'z' ?
				    h[c] - 'a' + 'A' : h[c]);
			sipctl_clean(h);
			cols[ncols].head = h;
			cols[ncols].fmt = FMT_TEXT;
			ncols++;
		}
	}
	if (ncols > 0)
		sipctl_table(rows, cols, ncols);
out:
	for (c = 0; c < ncols; c++)
		free((char *)cols[c].head);
	free(cols);
}

static const struct sipctl_col sipctl_reg_cols[] = {
	{ "user", "USER", FMT_TEXT },
	{ "contact", "CONTACT", FMT_TEXT },
	{ "source", "SOURCE", FMT_TEXT },
	{ "transport", "TRANSPORT", FMT_TEXT },
	{ "expires_in", "EXPIRES", FMT_SECS },
};

static const struct sipctl_col sipctl_call_cols[] = {
	{ "call_id", "CALL-ID", FMT_TEXT },
	{ "from", "FROM", FMT_TEXT },
	{ "to", "TO", FMT_TEXT },
	{ "state", "STATE", FMT_TEXT },
	{ "since", "SINCE", FMT_TEXT },
	{ "duration", "DURATION", FMT_HMS },
	{ "media", "MEDIA", FMT_TEXT },
	{ "caller_pkts", "PKTS-IN-A", FMT_TEXT },
	{ "callee_pkts", "PKTS-IN-B", FMT_TEXT },
	{ "recording", "REC", FMT_BOOL },
};

static const struct sipctl_col sipctl_node_cols[] = {
	{ "node", "NODE", FMT_TEXT },
	{ "endpoint", "ENDPOINT", FMT_TEXT },
	{ "live", "LIVE", FMT_BOOL },
	{ "sessions", "SESSIONS", FMT_TEXT },
	{ "free", "FREE-PORTS", FMT_TEXT },
	{ "capacity", "CAPACITY", FMT_TEXT },
	{ "load", "CPU%", FMT_TEXT },
	{ "recorder", "RECORDER", FMT_TEXT },
	{ "recordings", "RECORDINGS", FMT_TEXT },
	{ "kernel", "KERNEL", FMT_TEXT },
	{ "kernel_legs", "KERNEL-LEGS", FMT_TEXT },
};

static const struct sipctl_col sipctl_rec_cols[] = {
	{ "rec", "REC", FMT_TEXT },
	{ "kind", "KIND", FMT_TEXT },
	{ "target", "TARGET", FMT_TEXT },
	{ "state", "STATE", FMT_TEXT },
	{ "started", "STARTED", FMT_TEXT },
	{ "seconds", "SECONDS", FMT_DEC3 },
	{ "files", "FILES", FMT_TEXT },
};

static const struct sipctl_col sipctl_stream_cols[] = {
	{ "call", "CALL-ID", FMT_TEXT },
	{ "leg", "LEG", FMT_TEXT },
	{ "stream", "M", FMT_TEXT },
	{ "kind", "KIND", FMT_TEXT },
	{ "pkts_in", "PKTS-IN", FMT_TEXT },
	{ "pkts_out", "PKTS-OUT", FMT_TEXT },
	{ "bytes_in", "BYTES-IN", FMT_TEXT },
	{ "bytes_out", "BYTES-OUT", FMT_TEXT },
	{ "lost", "LOST", FMT_TEXT },
	{ "jitter_ms", "JITTER-MS", FMT_TEXT },
	{ "latched", "LATCHED", FMT_TEXT },
	{ "path", "PATH", FMT_TEXT },
};

static const struct sipctl_col sipctl_room_cols[] = {
	{ "room", "ROOM", FMT_TEXT },
	{ "participants", "PARTICIPANTS", FMT_TEXT },
	{ "limit", "LIMIT", FMT_TEXT },
	{ "since", "SINCE", FMT_TEXT },
	{ "node", "NODE", FMT_TEXT },
	{ "recording", "REC", FMT_BOOL },
};

static const struct sipctl_col sipctl_member_cols[] = {
	{ "participant", "ID", FMT_TEXT },
	{ "user", "USER", FMT_TEXT },
	{ "codec", "CODEC", FMT_TEXT },
	{ "muted", "MUTED", FMT_BOOL },
	{ "held", "HOLD", FMT_BOOL },
	{ "talking", "TALKING", FMT_BOOL },
	{ "joined", "JOINED", FMT_TEXT },
	{ "pkts_in", "PKTS-IN", FMT_TEXT },
	{ "pkts_out", "PKTS-OUT", FMT_TEXT },
	{ "lost", "LOST", FMT_TEXT },
	{ "concealed", "CONCEALED", FMT_TEXT },
	{ "latched", "LATCHED", FMT_TEXT },
};

/* Prints a done answer for people; 0, or EBADMSG if it is not what it should be. */
static int
sipctl_print(const struct sipctl_cmd *cmd, char **words, const char *body)
{
	const json_t *rows;
	json_error_t jerr;
	json_t *o;
	char *id;
	int err = 0;

	if ((o = json_loads(body, 0, &jerr)) == NULL || !json_is_object(o)) {
		err = EBADMSG;
		goto out;
	}
	switch (cmd->view) {
	case VIEW_STATUS:
		rows = json_object_get(o, "media_nodes");
		if (rows != NULL)
			json_incref((json_t *)rows);
		json_object_del(o, "media_nodes");
		sipctl_print_kv(o);
		if (json_is_array(rows) && json_array_size(rows) > 0) {
			printf("\nmediad nodes:\n");
			sipctl_table(rows, sipctl_node_cols,
			    sizeof(sipctl_node_cols) / sizeof(sipctl_node_cols[0]));
		}
		json_decref((json_t *)rows);
		break;
	case VIEW_MEDIA:
		rows = json_object_get(o, "streams");
		if (!json_is_array(rows)) {
			err = EBADMSG;
			goto out;
		}
		sipctl_table(rows, sipctl_stream_cols,
		    sizeof(sipctl_stream_cols) / sizeof(sipctl_stream_cols[0]));
		break;
	case VIEW_REGS:
	case VIEW_CALLS:
	case VIEW_RECS:
		rows = json_object_get(o, cmd->view == VIEW_REGS ? "registrations" :
		    cmd->view == VIEW_CALLS ? "calls" : "recordings");
		if (!json_is_array(rows)) {
			err = EBADMSG;
			goto out;
		}
		if (cmd->view == VIEW_REGS)
			sipctl_table(rows, sipctl_reg_cols,
			    sizeof(sipctl_reg_cols) / sizeof(sipctl_reg_cols[0]));
		else if (cmd->view == VIEW_CALLS)
			sipctl_table(rows, sipctl_call_cols,
			    sizeof(sipctl_call_cols) / sizeof(sipctl_call_cols[0]));
		else
			sipctl_table(rows, sipctl_rec_cols,
			    sizeof(sipctl_rec_cols) / sizeof(sipctl_rec_cols[0]));
		break;
	case VIEW_ROOMS:
	case VIEW_ROOM:
		rows = json_object_get(o, cmd->view == VIEW_ROOMS ? "rooms" : "participants");
		if (!json_is_array(rows)) {
			err = EBADMSG;
			goto out;
		}
		json_incref((json_t *)rows);
		json_object_del(o, cmd->view == VIEW_ROOMS ? "rooms" : "participants");
		sipctl_print_kv(o);
		putchar('\n');
		if (cmd->view == VIEW_ROOMS)
			sipctl_table(rows, sipctl_room_cols,
			    sizeof(sipctl_room_cols) / sizeof(sipctl_room_cols[0]));
		else
			sipctl_table(rows, sipctl_member_cols,
			    sizeof(sipctl_member_cols) / sizeof(sipctl_member_cols[0]));
		json_decref((json_t *)rows);
		break;
	case VIEW_ROOM_ACT:
		id = xstrdup(words[2]);
		sipctl_clean(id);
		printf("room %s: %lld participant(s) %s\n", id,
		    (long long)json_integer_value(json_object_get(o, "participants")),
		    strcmp(words[1], "kick") == 0 ? "kicked (BYE sent)" :
		    strcmp(words[1], "mute") == 0 ? "muted" : "unmuted");
		free(id);
		break;
	case VIEW_HANGUP:
		id = xstrdup(words[2]);
		sipctl_clean(id);
		printf("call %s: hung up (BYE sent both ways)\n", id);
		free(id);
		break;
	default:
		sipctl_print_generic(o);
		break;
	}
out:
	json_decref(o);
	return err;
}

/* The reason of a refusal, from {"error": "..."}, terminal-safe. */
static char *
sipctl_reason(const char *body)
{
	json_error_t jerr;
	json_t *o;
	char *why;

	o = json_loads(body, 0, &jerr);
	if (o != NULL && json_is_string(json_object_get(o, "error")))
		why = xstrdup(json_string_value(json_object_get(o, "error")));
	else
		why = xstrdup(body);
	json_decref(o);
	sipctl_clean(why);
	return why;
}

/* ---------------------------------------------------------------- talking to sipd */

/*
 * For an ipc:// endpoint, finds out at once whether sipd is there: ZeroMQ
 * would otherwise retry a missing or refused socket silently until the
 * timeout.  0 if it may be; else an errno value, with a message.
 */
static int
sipctl_probe_ipc(const char *ep, const char *from)
{
	struct sockaddr_un sa;
	const char *path = ep + 6;
	struct stat st;
	int fd, err = 0;

	if (path[0] == '@' || strlen(path) >= sizeof(sa.sun_path))
		return 0;	/* abstract or too long to probe: let ZeroMQ try */
	if (stat(path, &st) != 0) {
		err = errno;
		fprintf(stderr, "sipctl: cannot reach sipd: %s: %s%s (endpoint from %s)\n", path,
		    strerror(err), err == ENOENT ? ", is sipd running?" : "", from);
		return err;
	}
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "sipctl: cannot reach sipd: %s is not a socket\n", path);
		return ENOTSOCK;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		err = errno;
		if (err == ECONNREFUSED)
			fprintf(stderr, "sipctl: cannot reach sipd: %s: nobody listens "
			    "(sipd is not running)\n", path);
		else if (err == EACCES)
			fprintf(stderr, "sipctl: cannot reach sipd: %s: %s (sipctl needs "
			    "write access: run it as root or as a member of the socket's group)\n",
			    path, strerror(err));
		else
			fprintf(stderr, "sipctl: cannot reach sipd: %s: %s\n", path,
			    strerror(err));
	}
	close(fd);
	return err;
}

static uint32_t
sipctl_reqid(void)
{
	uint32_t id = 0;
	struct timespec ts;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		id = (uint32_t)ts.tv_nsec ^ (uint32_t)getpid() << 16;
	}
	return id != 0 ? id : 1;
}

static int64_t
sipctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Sends the request and waits for the answer with reqid: *reply is the
 * decoded ADMIN_REP or ERROR.  0, or an errno value after a message on
 * stderr (ETIMEDOUT: no answer in time).
 */
static int
sipctl_exchange(const char *ep, const void *req, size_t reqlen, uint32_t reqid,
    int timeout, struct proto_msg *reply)
{
	void *ctx = NULL, *sock = NULL;
	int linger = 0, err = 0, said = 0, n;
	int64_t deadline = sipctl_now_ms() + timeout, left;
	zmq_pollitem_t pi;
	zmq_msg_t part;

	if ((ctx = zmq_ctx_new()) == NULL || (sock = zmq_socket(ctx, ZMQ_DEALER)) == NULL) {
		err = errno;
		goto out;
	}
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout, sizeof(timeout));
	if (zmq_connect(sock, ep) != 0 || zmq_send(sock, req, reqlen, 0) < 0) {
		err = errno == EAGAIN ? ETIMEDOUT : errno;
		goto out;
	}
	for (;;) {
		if ((left = deadline - sipctl_now_ms()) <= 0) {
			err = ETIMEDOUT;
			goto out;
		}
		pi.socket = sock;
		pi.fd = -1;
		pi.events = ZMQ_POLLIN;
		pi.revents = 0;
		if ((n = zmq_poll(&pi, 1, (long)left)) < 0 && errno != EINTR) {
			err = errno;
			goto out;
		}
		if (n <= 0)
			continue;
		/* the answer is the last frame of the message */
		zmq_msg_init(&part);
		do {
			zmq_msg_close(&part);
			zmq_msg_init(&part);
			if (zmq_msg_recv(&part, sock, ZMQ_DONTWAIT) < 0) {
				err = errno;
				zmq_msg_close(&part);
				goto out;
			}
		} while (zmq_msg_more(&part));
		err = proto_decode(zmq_msg_data(&part), zmq_msg_size(&part), reply);
		zmq_msg_close(&part);
		if (err != 0) {
			fprintf(stderr, "sipctl: sipd answered a message sipctl cannot read: "
			    "%s\n", proto_errcode_str(proto_errcode(err)));
			said = 1;
			goto out;
		}
		if (reply->reqid == reqid &&
		    (reply->type == PROTO_ADMIN_REP || reply->type == PROTO_ERROR))
			break;
		/* not the answer to this request: wait on */
		proto_msg_free(reply);
	}
out:
	if (err == ETIMEDOUT)
		fprintf(stderr, "sipctl: cannot reach sipd at %s: no answer within %d ms\n", ep,
		    timeout);
	else if (err != 0 && !said)
		fprintf(stderr, "sipctl: cannot reach sipd at %s: %s\n", ep, zmq_strerror(err));
	if (sock != NULL)
		zmq_close(sock);
	if (ctx != NULL)
		zmq_ctx_term(ctx);
	return err;
}

/* ---------------------------------------------------------------- main */

/*
 * The endpoint to use: -s, else control.sipctl of the config file.  Sets
 * *from to where it came from, for messages.  0 or SIPCTL_EXIT_USAGE.
 */
static int
sipctl_endpoint(const char *sflag, const char *cflag, char **ep, const char **from)
{
	struct parley_conf *conf = NULL;
	const char *path = cflag;
	char err[512];

	if (sflag != NULL) {
		*ep = xstrdup(sflag);
		*from = "-s";
		return 0;
	}
	if (path == NULL && access(CONF_DEFAULT_PATH, F_OK) == 0) {
		path = CONF_DEFAULT_PATH;
		/* the operator may not read it (it holds passwords): the default then */
		if (access(path, R_OK) != 0)
			path = NULL;
	}
	if (conf_load(path, &conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "sipctl: %s\n", err);
		return SIPCTL_EXIT_USAGE;
	}
	*ep = xstrdup(conf->ctl_sipctl);
	*from = path != NULL ? (cflag != NULL ? "-c FILE" : CONF_DEFAULT_PATH) :
	    "the built-in default";
	conf_free(conf);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cflag = NULL, *sflag = NULL, *from;
	const struct sipctl_cmd *cmd;
	struct proto_msg reply;
	char *ep = NULL, *end, *why;
	void *req = NULL;
	size_t reqlen, nwords;
	int ch, json = 0, timeout = SIPCTL_TIMEOUT, rc, err;
	uint32_t reqid;
	long l;

	log_init("sipctl", 1, LOG_LVL_WARN);
	memset(&reply, 0, sizeof(reply));
	while ((ch = getopt_long(argc, argv, "c:s:t:jVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cflag = optarg;
			break;
		case 's':
			sflag = optarg;
			break;
		case 't':
			errno = 0;
			l = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg || l < 1 ||
			    l > SIPCTL_TIMEOUT_MAX) {
				fprintf(stderr, "sipctl: bad timeout '%s' (1 to %d ms)\n", optarg,
				    SIPCTL_TIMEOUT_MAX);
				usage(stderr);
				return SIPCTL_EXIT_USAGE;
			}
			timeout = (int)l;
			break;
		case 'j':
			json = 1;
			break;
		case 'V':
			printf("sipctl (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return SIPCTL_EXIT_DONE;
		case 'h':
			usage(stdout);
			return SIPCTL_EXIT_DONE;
		default:
			usage(stderr);
			return SIPCTL_EXIT_USAGE;
		}
	}
	nwords = (size_t)(argc - optind);
	if (nwords == 0) {
		usage(stderr);
		return SIPCTL_EXIT_USAGE;
	}
	if ((cmd = sipctl_find(argv + optind, nwords)) == NULL)
		return SIPCTL_EXIT_USAGE;
	if ((rc = sipctl_endpoint(sflag, cflag, &ep, &from)) != 0)
		return rc;

	rc = SIPCTL_EXIT_UNREACHABLE;
	if (strncmp(ep, "ipc://", 6) == 0 && sipctl_probe_ipc(ep, from) != 0)
		goto out;
	reqid = sipctl_reqid();
	if ((err = proto_encode_admin_req(reqid, nwords, (const char *const *)(argv + optind),
	    &req, &reqlen)) != 0) {
		fprintf(stderr, "sipctl: cannot encode the request: %s\n", strerror(err));
		rc = SIPCTL_EXIT_USAGE;
		goto out;
	}
	if (sipctl_exchange(ep, req, reqlen, reqid, timeout, &reply) != 0)
		goto out;

	if (reply.type == PROTO_ERROR) {
		why = xstrdup(reply.u.error.text);
		sipctl_clean(why);
		fprintf(stderr, "sipctl: sipd refused the request: %s (%s)\n", why,
		    proto_errcode_str(reply.u.error.code));
		free(why);
		rc = SIPCTL_EXIT_REFUSED;
		goto out;
	}
	if (json) {
		/* as sipd sent it, refused or not: scripts read the JSON */
		fputs(reply.u.admin_rep.body, stdout);
		putchar('\n');
	}
	if (reply.u.admin_rep.status == PROTO_ADMIN_REFUSED) {
		why = sipctl_reason(reply.u.admin_rep.body);
		fprintf(stderr, "sipctl: %s\n", why);
		free(why);
		rc = SIPCTL_EXIT_REFUSED;
		goto out;
	}
	rc = SIPCTL_EXIT_DONE;
	if (!json && sipctl_print(cmd, argv + optind, reply.u.admin_rep.body) != 0) {
		fprintf(stderr, "sipctl: sipd's answer is not what sipctl expects; "
		    "--json shows it as is\n");
		rc = SIPCTL_EXIT_UNREACHABLE;
	}
out:
	proto_msg_free(&reply);
	free(req);
	free(ep);
	return rc;
}
