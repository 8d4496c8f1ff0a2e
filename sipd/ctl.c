/*
 * ctl.c — sipd's admin control socket: a ZeroMQ ROUTER bound to
 * control.sipctl that takes ADMIN_REQ messages from sipctl, runs the
 * command (status, registrations, calls, rooms, recordings, ...) and answers an
 * ADMIN_REP whose body is JSON.  A command it does not know, or with the
 * wrong arguments, is refused with {"error": "..."}; a message it cannot
 * decode is answered with an ERROR.
 *
 * It reads sipd's state only through the other files' functions (reg_,
 * call_, txn_, tp_) and never blocks: replies go out with ZMQ_DONTWAIT and
 * are dropped, with a warning, if they cannot.  The socket joins the loop
 * through ZMQ_FD, which is edge-triggered: the callback drains while
 * ZMQ_EVENTS has ZMQ_POLLIN, re-checking after every reply it sends, and
 * hands the rest to a zero-delay timer after CTL_BUDGET requests so that a
 * flood of requests cannot starve SIP.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

#include "config.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/xmalloc.h"
#include "common/zsock.h"
#include "proto/proto.h"
#include "sipd.h"

#define CTL_BUDGET	64	/* requests per wake-up before yielding to the loop */
#define CTL_MAX_PARTS	4	/* routing id, optional empty delimiter, payload */
/* the largest ADMIN_REQ: 64 words of 4096 bytes */
#define CTL_REQ_MAX	(PROTO_HDR_LEN + 5 + 4 + PROTO_ARGV_MAX * (4 + PROTO_STRV_ITEM_MAX))

struct ctl {
	void			*sock;		/* ZMQ_ROUTER */
	int			 fd;		/* its ZMQ_FD, in the loop */
	struct loop_timer	 t_more;	/* drain again after CTL_BUDGET */
	char			*path;		/* the ipc socket file, or NULL */
	const struct ctl_req	*cur;		/* the request being handled */
	uint32_t		 cur_reqid;
};

/* One request being answered: where the reply goes. */
struct ctl_req {
	struct sipd	*sd;
	zmq_msg_t	*env;		/* routing envelope, sent back before the reply */
	size_t		 nenv;
};

/* a command answered later: it waits for the mediad nodes' figures */
#define CTL_LATER	2
struct ctl_pending {
	struct sipd	*sd;
	uint32_t	 reqid;
	zmq_msg_t	 env[CTL_MAX_PARTS];
	size_t		 nenv;
	int		 waiting;	/* node answers to come */
	int		 calls;		/* 1: `calls`, 0: `media stats` */
	char		*room;		/* `room show ROOM` */
	json_t		*rows;		/* every node's stream rows */
	json_t		*errors;
};

static void ctl_answer(struct sipd *sd, zmq_msg_t *env, size_t nenv, uint32_t reqid,
    int status, json_t *o);

/* ---------------------------------------------------------------- JSON helpers */

/*
 * A JSON string for s, which comes from SIP and may be any bytes: when it
 * is not UTF-8, its non-ASCII bytes become '?'.  NULL gives null.  May
 * return NULL on out-of-memory; json_object_set_new takes that safely.
 */
static json_t *
ctl_jstr(const char *s)
{
	json_t *j;
	char *copy;
	size_t i;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	copy = xstrdup(s);
	for (i = 0; copy[i] != '\0'; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* Sets *out to {"error": "..."} and returns PROTO_ADMIN_REFUSED. */
static int
ctl_refuse(json_t **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
ctl_refuse(json_t **out, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	*out = json_object();
	if (*out != NULL)
		json_object_set_new(*out, "error", ctl_jstr(why));
	return PROTO_ADMIN_REFUSED;
}

/* "2026-11-20T12:09:29Z" */
static json_t *
ctl_jtime(time_t t)
{
	char buf[32];
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_null();
	return json_string(buf);
}

/* A copy of s fit for one log line: control characters become '?'. */
static const char *
ctl_printable(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

/* ---------------------------------------------------------------- commands */

typedef int (*ctl_cmd_fn)(struct sipd *sd, char *const *args, json_t **out);

/* What sipd knows of each mediad node: live, load, sessions. */
static json_t *
ctl_media_nodes(struct sipd *sd)
{
	json_t *list = json_array(), *o;
	char inst[24];
	int i;

	for (i = 0; i < node_count(sd); i++) {
		const struct node_info *ni = node_info(sd, i);

		if ((o = json_object()) == NULL)
			continue;
		snprintf(inst, sizeof(inst), "%016llx", (unsigned long long)ni->instance);
		json_object_set_new(o, "node", ctl_jstr(ni->name));
		json_object_set_new(o, "endpoint", ctl_jstr(node_endpoint(sd, i)));
		json_object_set_new(o, "live", json_boolean(ni->live));
		json_object_set_new(o, "instance", ni->instance ? json_string(inst) : json_null());
		json_object_set_new(o, "sessions", json_integer(ni->sessions));
		json_object_set_new(o, "capacity", json_integer(ni->capacity));
		json_object_set_new(o, "free", json_integer(ni->free));
		json_object_set_new(o, "load", json_real(ni->load / 10.0));
		json_object_set_new(o, "recorder", !ni->live ? json_null() :
		    json_string(ni->recorder ? "up" : "down"));
		json_object_set_new(o, "recordings", json_integer(ni->recordings));
		json_object_set_new(o, "kernel", !ni->live ? json_null() :
		    json_string(ni->kernel ? "on" : "off"));
		json_object_set_new(o, "kernel_legs", json_integer(ni->kernel_legs));
		json_array_append_new(list, o);
	}
	return list;
}

static int
cmd_status(struct sipd *sd, char *const *args, json_t **out)
{
	uint64_t now = loop_now(sd->loop);
	json_t *o, *msgs;

	if ((o = json_object()) == NULL || (msgs = json_object()) == NULL) {
		json_decref(o);
		return PROTO_ADMIN_DONE;
	}
	json_object_set_new(o, "version", json_string(PACKAGE_VERSION));
	json_object_set_new(o, "started", ctl_jtime(sd->started));
	json_object_set_new(o, "uptime",
	    json_integer((json_int_t)((now - sd->started_ms) / 1000)));
	json_object_set_new(o, "registrations", json_integer((json_int_t)reg_count(sd)));
	json_object_set_new(o, "calls", json_integer((json_int_t)call_count(sd)));
	json_object_set_new(o, "rooms", json_integer((json_int_t)room_count(sd)));
	json_object_set_new(o, "transactions", json_integer((json_int_t)txn_count(sd)));
	json_object_set_new(o, "tcp_connections",
	    json_integer((json_int_t)tp_tcp_connections(sd)));
	json_object_set_new(msgs, "rx", json_integer((json_int_t)sd->stats.rx));
	json_object_set_new(msgs, "tx", json_integer((json_int_t)sd->stats.tx));
	json_object_set_new(msgs, "bad", json_integer((json_int_t)sd->stats.bad));
	json_object_set_new(msgs, "dropped", json_integer((json_int_t)sd->stats.dropped));
	json_object_set_new(o, "messages", msgs);
	json_object_set_new(o, "media_nodes", ctl_media_nodes(sd));
	*out = o;
	return PROTO_ADMIN_DONE;
}

struct ctl_visit {
	json_t		*list;
	uint64_t	 now;
	struct sipd	*sd;
};

/* {"key": list}, list taken; NULL when out of memory. */
static json_t *
ctl_listed(const char *key, json_t *list)
{
	json_t *o;

	if (list == NULL || (o = json_object()) == NULL) {
		json_decref(list);
		return NULL;
	}
	json_object_set_new(o, key, list);
	return o;
}

static void
ctl_add_registration(const struct reg_binding *b, void *arg)
{
	struct ctl_visit *v = arg;
	char src[128];
	uint64_t left;
	json_t *o;

	if ((o = json_object()) == NULL)
		return;
	left = b->expires_at > v->now ? (b->expires_at - v->now + 500) / 1000 : 0;
	json_object_set_new(o, "user", ctl_jstr(b->user));
	json_object_set_new(o, "contact", ctl_jstr(b->contact));
	json_object_set_new(o, "source", ctl_jstr(tp_source_str(&b->src, src, sizeof(src))));
	json_object_set_new(o, "transport", json_string(b->src.proto == TP_TCP ? "tcp" : "udp"));
	json_object_set_new(o, "expires_in", json_integer((json_int_t)left));
	json_array_append_new(v->list, o);
}

static int
cmd_registrations(struct sipd *sd, char *const *args, json_t **out)
{
	struct ctl_visit v = { .now = loop_now(sd->loop) };

	if ((v.list = json_array()) != NULL)
		reg_foreach(sd, ctl_add_registration, &v);
	*out = ctl_listed("registrations", v.list);
	return PROTO_ADMIN_DONE;
}

static void
ctl_add_call(const struct call *c, void *arg)
{
	struct ctl_visit *v = arg;
	json_t *o, *dur;

	if ((o = json_object()) == NULL)
		return;
	if (c->answer_ms != 0 && (c->state == CALL_ANSWERED || c->state == CALL_ENDED))
		dur = json_integer((json_int_t)(v->now > c->answer_ms ?
		    (v->now - c->answer_ms) / 1000 : 0));
	else
		dur = json_null();
	json_object_set_new(o, "call_id", ctl_jstr(c->call_id));
	json_object_set_new(o, "from", ctl_jstr(c->caller.uri));
	json_object_set_new(o, "to", ctl_jstr(c->callee.uri));
	json_object_set_new(o, "state", json_string(call_state_name(c->state)));
	json_object_set_new(o, "since", ctl_jtime(c->start_wall));
	json_object_set_new(o, "duration", dur);
	json_object_set_new(o, "media", ctl_jstr(c->media));
	json_object_set_new(o, "recording", json_boolean(c->recording));
	json_array_append_new(v->list, o);
}

static int
cmd_calls(struct sipd *sd, char *const *args, json_t **out)
{
	struct ctl_visit v = { .now = loop_now(sd->loop) };

	if ((v.list = json_array()) != NULL)
		call_foreach(sd, ctl_add_call, &v);
	*out = ctl_listed("calls", v.list);
	return PROTO_ADMIN_DONE;
}

static int
cmd_call_hangup(struct sipd *sd, char *const *args, json_t **out)
{
	char pr[128];
	int err;

	err = call_hangup(sd, args[0]);
	switch (err) {
	case 0:
		log_info("ctl: call %s hung up by sipctl", ctl_printable(args[0], pr, sizeof(pr)));
		*out = json_pack("{s:b}", "ok", 1);
		return PROTO_ADMIN_DONE;
	case ENOENT:
		return ctl_refuse(out, "no such call: %s", args[0]);
	case EBUSY:
		return ctl_refuse(out, "call %s is not answered yet", args[0]);
	default:
		return ctl_refuse(out, "cannot hang up call %s: %s", args[0], strerror(err));
	}
}

/* ------------------------------------------------------------ rooms */

static void
ctl_add_room(const struct sroom *r, void *arg)
{
	struct ctl_visit *v = arg;
	const struct node_info *ni = node_info(v->sd, r->node);
	json_t *o = json_object();

	if (o == NULL)
		return;
	json_object_set_new(o, "room", ctl_jstr(r->name));
	json_object_set_new(o, "participants", json_integer((json_int_t)r->nmembers));
	json_object_set_new(o, "limit", json_integer(room_limit(v->sd, r->name)));
	json_object_set_new(o, "since", ctl_jtime(r->since));
	json_object_set_new(o, "node", ctl_jstr(ni != NULL ? ni->name : ""));
	json_object_set_new(o, "recording", json_boolean(r->recording));
	json_array_append_new(v->list, o);
}

static int
cmd_rooms(struct sipd *sd, char *const *args, json_t **out)
{
	struct ctl_visit v = { .now = loop_now(sd->loop), .sd = sd };

	if ((v.list = json_array()) != NULL)
		room_foreach(sd, ctl_add_room, &v);
	if ((*out = ctl_listed("rooms", v.list)) != NULL)
		json_object_set_new(*out, "max_rooms", json_integer(room_max(sd)));
	return PROTO_ADMIN_DONE;
}

/* a non-negative decimal of at most 6 digits, else -1 */
static int
ctl_count(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 6 || strspn(s, "0123456789") != n)
		return -1;
	return atoi(s);
}

static int
cmd_room_limit(struct sipd *sd, char *const *args, json_t **out)
{
	char pr[128];
	int n = ctl_count(args[1]);

	if (n < 0)
		return ctl_refuse(out, "limit must be a number of participants (0: no limit): %s",
		    ctl_printable(args[1], pr, sizeof(pr)));
	if (room_set_limit(sd, args[0], n) != 0)
		return ctl_refuse(out, "no such room: %s", ctl_printable(args[0], pr, sizeof(pr)));
	*out = json_pack("{s:s,s:i}", "room", args[0], "limit", n);
	return PROTO_ADMIN_DONE;
}

static int
cmd_room_max(struct sipd *sd, char *const *args, json_t **out)
{
	char pr[128];
	int n = ctl_count(args[0]);

	if (n < 0)
		return ctl_refuse(out, "max must be a number of rooms (0: no limit): %s",
		    ctl_printable(args[0], pr, sizeof(pr)));
	room_set_max(sd, n);
	*out = json_pack("{s:i}", "max_rooms", n);
	return PROTO_ADMIN_DONE;
}

/* kick, mute and unmute: 0 kick, 1 mute, 2 unmute */
static int
ctl_room_act(struct sipd *sd, char *const *args, json_t **out, int act)
{
	char pr[128], pr2[128];
	int n = 0, err;

	if (room_find(sd, args[0]) == NULL)
		return ctl_refuse(out, "no such room: %s", ctl_printable(args[0], pr, sizeof(pr)));
	err = act == 0 ? room_kick(sd, args[0], args[1], &n) :
	    room_set_mute(sd, args[0], args[1], act == 1, &n);
	if (err == ENOENT)
		return ctl_refuse(out, "room %s has no participant %s",
		    ctl_printable(args[0], pr, sizeof(pr)), ctl_printable(args[1], pr2, sizeof(pr2)));
	if (err != 0)
		return ctl_refuse(out, "room %s: %s", ctl_printable(args[0], pr, sizeof(pr)),
		    err == EHOSTDOWN ? "its media mixer is not reachable" : strerror(err));
	*out = json_pack("{s:s,s:i}", "room", args[0], "participants", n);
	return PROTO_ADMIN_DONE;
}

static int
cmd_room_kick(struct sipd *sd, char *const *args, json_t **out)
{
	return ctl_room_act(sd, args, out, 0);
}

static int
cmd_room_mute(struct sipd *sd, char *const *args, json_t **out)
{
	return ctl_room_act(sd, args, out, 1);
}

static int
cmd_room_unmute(struct sipd *sd, char *const *args, json_t **out)
{
	return ctl_room_act(sd, args, out, 2);
}

/* "2026-11-20T12:09:29.389Z" of UTC ms */
static json_t *
ctl_jtime_ms(uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	char buf[40];
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return json_null();
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ".%03uZ", (unsigned)(ms % 1000));
	return json_string(buf);
}

static void
ctl_add_recording(const struct recording *r, void *arg)
{
	struct ctl_visit *v = arg;
	const struct node_info *ni = node_info(v->sd, r->node);
	json_t *o = json_object(), *files = json_array();
	struct timespec now;
	uint64_t ms = r->ms;
	size_t i;

	if (o == NULL || files == NULL) {
		json_decref(o);
		json_decref(files);
		return;
	}
	if (r->state == PROTO_RECST_STARTED) {
		/* open: as long as it has run */
		clock_gettime(CLOCK_REALTIME, &now);
		ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
		ms = ms > r->started ? ms - r->started : 0;
	}
	for (i = 0; i < r->nfiles; i++)
		json_array_append_new(files, ctl_jstr(r->files[i]));
	json_object_set_new(o, "rec", ctl_jstr(r->rec));
	json_object_set_new(o, "kind", json_string(r->kind == PROTO_REC_ROOM ? "room" : "call"));
	json_object_set_new(o, "target", ctl_jstr(r->target));
	json_object_set_new(o, "state", json_string(recording_state_name(r->state)));
	json_object_set_new(o, "started", ctl_jtime_ms(r->started));
	json_object_set_new(o, "seconds", json_real((double)ms / 1000.0));
	json_object_set_new(o, "files", files);
	json_object_set_new(o, "sidecar", r->sidecar[0] != '\0' ? ctl_jstr(r->sidecar) :
	    json_null());
	json_object_set_new(o, "reason", r->state == PROTO_RECST_FAILED ? ctl_jstr(r->reason) :
	    json_null());
	json_object_set_new(o, "node", ctl_jstr(ni != NULL ? ni->name : ""));
	json_array_append_new(v->list, o);
}

static int
cmd_recordings(struct sipd *sd, char *const *args, json_t **out)
{
	struct ctl_visit v = { .now = loop_now(sd->loop), .sd = sd };

	if ((v.list = json_array()) != NULL)
		recording_foreach(sd, ctl_add_recording, &v);
	*out = ctl_listed("recordings", v.list);
	return PROTO_ADMIN_DONE;
}

/* ------------------------------------------------------------ media figures */

static const char *const ctl_kind_names[] = { "other", "audio", "video" };

/* One STATS row as sipctl shows it. */
static json_t *
ctl_stats_row(const struct proto_stats *st, size_t i, const char *node)
{
	json_t *r = json_object();
	uint32_t kind = st->kinds.v[i];

	if (r == NULL)
		return NULL;
	json_object_set_new(r, "call", ctl_jstr(st->calls.v[i]));
	json_object_set_new(r, "leg", json_string(st->legs.v[i] ? "callee" : "caller"));
	json_object_set_new(r, "stream", json_integer(st->streams.v[i]));
	json_object_set_new(r, "kind", json_string(kind < 3 ? ctl_kind_names[kind] : "other"));
	json_object_set_new(r, "pkts_in", json_integer((json_int_t)st->pkts_in.v[i]));
	json_object_set_new(r, "bytes_in", json_integer((json_int_t)st->bytes_in.v[i]));
	json_object_set_new(r, "pkts_out", json_integer((json_int_t)st->pkts_out.v[i]));
	json_object_set_new(r, "bytes_out", json_integer((json_int_t)st->bytes_out.v[i]));
	json_object_set_new(r, "lost", json_integer((json_int_t)st->lost.v[i]));
	json_object_set_new(r, "jitter_ms", json_real(st->jitter_us.v[i] / 1000.0));
	json_object_set_new(r, "rr_lost", json_integer(st->rr_lost.v[i]));
	json_object_set_new(r, "rr_jitter_ms", json_real(st->rr_jitter_us.v[i] / 1000.0));
	json_object_set_new(r, "latched", ctl_jstr(st->latched.v[i]));
	json_object_set_new(r, "path", json_string(st->kernel.v[i] ? "kernel" : "user"));
	json_object_set_new(r, "node", ctl_jstr(node));
	return r;
}

/* `calls` with each call's figures: caller_pkts, callee_pkts and its stream rows */
static void
ctl_calls_with_figures(struct sipd *sd, json_t *rows, json_t **out)
{
	json_t *calls, *c, *r, *v;
	size_t i, j;

	if (cmd_calls(sd, NULL, out) != PROTO_ADMIN_DONE || *out == NULL)
		return;
	calls = json_object_get(*out, "calls");
	json_array_foreach(calls, i, c) {
		const char *id = json_string_value(json_object_get(c, "call_id"));
		json_int_t pk[2] = { 0, 0 };
		json_t *mine = json_array();
		int any = 0;

		json_array_foreach(rows, j, r) {
			v = json_object_get(r, "call");
			if (id == NULL || !json_is_string(v) || strcmp(json_string_value(v), id) != 0)
				continue;
			any = 1;
			pk[strcmp(json_string_value(json_object_get(r, "leg")), "callee") == 0] +=
			    json_integer_value(json_object_get(r, "pkts_in"));
			json_array_append(mine, r);
		}
		json_object_set_new(c, "caller_pkts", any ? json_integer(pk[0]) : json_null());
		json_object_set_new(c, "callee_pkts", any ? json_integer(pk[1]) : json_null());
		json_object_set_new(c, "streams", mine);
	}
}

/* A pending answer to the request being handled: its envelope is kept. */
static struct ctl_pending *
ctl_pending_new(struct sipd *sd)
{
	struct ctl *c = sd->ctl;
	struct ctl_pending *p = xcalloc(1, sizeof(*p));
	size_t i;

	p->sd = sd;
	p->reqid = c->cur_reqid;
	p->rows = json_array();
	p->errors = json_array();
	p->nenv = c->cur->nenv;
	for (i = 0; i < p->nenv; i++) {
		zmq_msg_init(&p->env[i]);
		zmq_msg_copy(&p->env[i], &c->cur->env[i]);
	}
	return p;
}

static void
ctl_pending_free(struct ctl_pending *p)
{
	size_t i;

	for (i = 0; i < p->nenv; i++)
		zmq_msg_close(&p->env[i]);
	json_decref(p->rows);
	json_decref(p->errors);
	free(p->room);
	free(p);
}

static void
ctl_pending_done(struct ctl_pending *p)
{
	json_t *o = NULL;

	if (p->calls)
		ctl_calls_with_figures(p->sd, p->rows, &o);
	else if ((o = json_object()) != NULL)
		json_object_set(o, "streams", p->rows);
	if (o != NULL && json_array_size(p->errors) > 0)
		json_object_set(o, "node_errors", p->errors);
	ctl_answer(p->sd, p->env, p->nenv, p->reqid, PROTO_ADMIN_DONE, o);
	ctl_pending_free(p);
}

/* one node's part of a pending answer */
struct ctl_ask {
	struct ctl_pending	*p;
	int			 node;
};

static void
ctl_on_stats(struct sipd *sd, const struct proto_msg *m, int err, void *arg)
{
	struct ctl_ask *ask = arg;
	struct ctl_pending *p = ask->p;
	const struct node_info *ni = node_info(sd, ask->node);
	const char *node = ni != NULL ? ni->name : "";
	const struct proto_stats *st;
	size_t i, n;

	if (err == 0 && m->type == PROTO_STATS) {
		st = &m->u.stats;
		n = st->calls.n;
		/* every list has one entry per row; a node that says otherwise is ignored */
		if (st->streams.n == n && st->legs.n == n && st->kinds.n == n &&
		    st->pkts_in.n == n && st->bytes_in.n == n && st->pkts_out.n == n &&
		    st->bytes_out.n == n && st->lost.n == n && st->jitter_us.n == n &&
		    st->rr_lost.n == n && st->rr_jitter_us.n == n && st->latched.n == n &&
		    st->kernel.n == n)
			for (i = 0; i < n; i++)
				json_array_append_new(p->rows, ctl_stats_row(st, i, node));
		else
			json_array_append_new(p->errors, json_string("a node sent ragged STATS"));
	} else
		json_array_append_new(p->errors, json_pack("{s:s,s:s}", "node", node,
		    "error", strerror(err ? err : EPROTO)));
	free(ask);
	if (--p->waiting == 0)
		ctl_pending_done(p);
}

/* Asks every live node for its figures; the answer goes out when all have answered. */
static int
ctl_ask_nodes(struct sipd *sd, int calls, json_t **out)
{
	struct ctl_pending *p;
	struct proto_msg m;
	int n;

	p = ctl_pending_new(sd);
	p->calls = calls;
	p->waiting = 1;		/* held until every request is out */
	for (n = 0; n < node_count(sd); n++) {
		struct ctl_ask *ask = xcalloc(1, sizeof(*ask));

		ask->p = p;
		ask->node = n;
		memset(&m, 0, sizeof(m));
		m.type = PROTO_STATS_REQ;
		m.u.stats_req.call = (char *)"";
		if (node_request(sd, n, &m, ctl_on_stats, ask, NULL) == 0)
			p->waiting++;
		else
			free(ask);
	}
	if (--p->waiting == 0)
		ctl_pending_done(p);
	*out = NULL;
	return CTL_LATER;
}

static int
cmd_media_stats(struct sipd *sd, char *const *args, json_t **out)
{
	return ctl_ask_nodes(sd, 0, out);
}

static int
cmd_calls_figures(struct sipd *sd, char *const *args, json_t **out)
{
	return ctl_ask_nodes(sd, 1, out);
}

/* One participant of `room show`: what sipd knows, and mediad's row j of st (or none). */
static json_t *
ctl_member_row(const struct room_member *m, const struct proto_room_stats *st, size_t j)
{
	json_t *r = json_object();
	int have = j < st->p_ids.n;

	if (r == NULL)
		return NULL;
	json_object_set_new(r, "participant", json_integer(m->id));
	json_object_set_new(r, "user", ctl_jstr(m->user));
	json_object_set_new(r, "call_id", ctl_jstr(m->call_id));
	json_object_set_new(r, "codec", ctl_jstr(m->offer.codec));
	json_object_set_new(r, "muted", json_boolean(m->muted));
	json_object_set_new(r, "held", json_boolean(m->held));
	json_object_set_new(r, "joined", ctl_jtime(m->joined_wall));
	json_object_set_new(r, "pkts_in", have ? json_integer((json_int_t)st->p_pkts_in.v[j]) :
	    json_null());
	json_object_set_new(r, "pkts_out", have ? json_integer((json_int_t)st->p_pkts_out.v[j]) :
	    json_null());
	json_object_set_new(r, "lost", have ? json_integer((json_int_t)st->p_lost.v[j]) :
	    json_null());
	json_object_set_new(r, "concealed", have ?
	    json_integer((json_int_t)st->p_concealed.v[j]) : json_null());
	json_object_set_new(r, "jitter_ms", have ? json_real(st->p_jitter_us.v[j] / 1000.0) :
	    json_null());
	json_object_set_new(r, "talking", json_boolean(have && st->p_talking.v[j]));
	json_object_set_new(r, "latched", have ? ctl_jstr(st->p_latched.v[j]) : json_null());
	return r;
}

static void
ctl_on_room_stats(struct sipd *sd, const struct proto_msg *pm, int err, void *arg)
{
	struct ctl_pending *p = arg;
	const struct sroom *r = room_find(sd, p->room);
	const struct proto_room_stats *st = pm != NULL ? &pm->u.room_stats : NULL;
	const struct room_member *m;
	struct proto_room_stats none;
	json_t *o = json_object();
	size_t n, j;

	memset(&none, 0, sizeof(none));
	if (err != 0 || pm->type != PROTO_ROOM_STATS) {
		json_array_append_new(p->errors, json_string(strerror(err ? err : EPROTO)));
		st = &none;
	}
	n = st->p_ids.n;
	if (st->p_pkts_in.n != n || st->p_pkts_out.n != n || st->p_lost.n != n ||
	    st->p_concealed.n != n || st->p_jitter_us.n != n || st->p_talking.n != n ||
	    st->p_latched.n != n || st->r_rates.n != st->r_rooms.n ||
	    st->r_ticks.n != st->r_rooms.n || st->r_late.n != st->r_rooms.n ||
	    st->r_encodes.n != st->r_rooms.n) {
		json_array_append_new(p->errors, json_string("mediad sent ragged ROOM_STATS"));
		st = &none;
		n = 0;
	}
	if (o != NULL && r != NULL) {
		json_object_set_new(o, "room", ctl_jstr(r->name));
		json_object_set_new(o, "limit", json_integer(room_limit(sd, r->name)));
		json_object_set_new(o, "since", ctl_jtime(r->since));
		if (st->r_rooms.n > 0) {
			json_object_set_new(o, "rate", json_integer(st->r_rates.v[0]));
			json_object_set_new(o, "ticks", json_integer((json_int_t)st->r_ticks.v[0]));
			json_object_set_new(o, "ticks_late", json_integer((json_int_t)st->r_late.v[0]));
			json_object_set_new(o, "encodes", json_integer(st->r_encodes.v[0]));
		}
		for (m = r->members; m != NULL; m = m->next) {
			if (m->state == MEMBER_GONE || m->state == MEMBER_JOINING)
				continue;
			for (j = 0; j < n && st->p_ids.v[j] != m->id; j++)
				;
			json_array_append_new(p->rows, ctl_member_row(m, st, j));
		}
		json_object_set(o, "participants", p->rows);
		if (json_array_size(p->errors) > 0)
			json_object_set(o, "node_errors", p->errors);
		ctl_answer(sd, p->env, p->nenv, p->reqid, PROTO_ADMIN_DONE, o);
	} else {
		json_decref(o);
		o = json_pack("{s:s}", "error", "the room has ended");
		ctl_answer(sd, p->env, p->nenv, p->reqid, PROTO_ADMIN_REFUSED, o);
	}
	ctl_pending_free(p);
}

static int
cmd_room_show(struct sipd *sd, char *const *args, json_t **out)
{
	const struct sroom *r = room_find(sd, args[0]);
	struct ctl_pending *p;
	struct proto_msg m;
	char pr[128];

	if (r == NULL)
		return ctl_refuse(out, "no such room: %s", ctl_printable(args[0], pr, sizeof(pr)));
	p = ctl_pending_new(sd);
	p->room = xstrdup(r->name);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_ROOM_STATS_REQ;
	m.u.room_stats_req.room = r->name;
	if (node_request(sd, r->node, &m, ctl_on_room_stats, p, NULL) != 0)
		ctl_on_room_stats(sd, NULL, EHOSTDOWN, p);
	*out = NULL;
	return CTL_LATER;
}

/* the sipctl command set (docs/contract.md); sipctl checks the same counts */
static const struct ctl_cmd {
	const char	*word, *sub;	/* sub NULL: a one-word command */
	size_t		 nargs;		/* words after the command */
	const char	*usage;
	ctl_cmd_fn	 fn;
} ctl_cmds[] = {
	{ "status",	   NULL,     0, "status",			cmd_status },
	{ "registrations", NULL,     0, "registrations",		cmd_registrations },
	{ "calls",	   NULL,     0, "calls",			cmd_calls_figures },
	{ "call",	   "hangup", 1, "call hangup CALL-ID",		cmd_call_hangup },
	{ "rooms",	   NULL,     0, "rooms",			cmd_rooms },
	{ "room",	   "show",   1, "room show ROOM",		cmd_room_show },
	{ "room",	   "kick",   2, "room kick ROOM PARTICIPANT",	cmd_room_kick },
	{ "room",	   "mute",   2, "room mute ROOM PARTICIPANT",	cmd_room_mute },
	{ "room",	   "unmute", 2, "room unmute ROOM PARTICIPANT",	cmd_room_unmute },
	{ "room",	   "limit",  2, "room limit ROOM N",		cmd_room_limit },
	{ "room",	   "max",    1, "room max N",			cmd_room_max },
	{ "media",	   "stats",  0, "media stats",			cmd_media_stats },
	{ "recordings",	   NULL,     0, "recordings",			cmd_recordings },
};

/*
 * Runs the command in argv (at least one word, proto.c checks); sets *out
 * to the JSON answer (NULL only when out of memory) and returns
 * PROTO_ADMIN_DONE or PROTO_ADMIN_REFUSED.
 */
static int
ctl_command(struct sipd *sd, const struct proto_strv *argv, json_t **out)
{
	const struct ctl_cmd *cmd = NULL;
	size_t i, nwords, known = 0;

	*out = NULL;
	for (i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++) {
		if (strcmp(argv->v[0], ctl_cmds[i].word) != 0)
			continue;
		known = 1;
		if (ctl_cmds[i].sub == NULL ||
		    (argv->n > 1 && strcmp(argv->v[1], ctl_cmds[i].sub) == 0)) {
			cmd = &ctl_cmds[i];
			break;
		}
	}
	if (cmd == NULL) {
		if (known && argv->n > 1)
			return ctl_refuse(out, "unknown command: %s %s", argv->v[0], argv->v[1]);
		if (known)
			return ctl_refuse(out, "incomplete command: %s (see sipctl -h)",
			    argv->v[0]);
		return ctl_refuse(out, "unknown command: %s", argv->v[0]);
	}
	nwords = cmd->sub != NULL ? 2 : 1;
	if (argv->n != nwords + cmd->nargs)
		return ctl_refuse(out, "usage: %s", cmd->usage);
	return cmd->fn(sd, argv->v + nwords, out);
}

/* ---------------------------------------------------------------- the socket */

/* Sends the routing envelope of rq, then buf.  Never blocks. */
static void
ctl_send(struct ctl *c, const struct ctl_req *rq, const void *buf, size_t len)
{
	int err = zsock_send(c->sock, rq->env, rq->nenv, buf, len);

	if (err != 0)
		log_warnx("ctl: reply dropped: %s", zmq_strerror(err));
}

/* Encodes and sends the answer o (taken) to the request reqid from env. */
static void
ctl_answer(struct sipd *sd, zmq_msg_t *env, size_t nenv, uint32_t reqid, int status, json_t *o)
{
	struct ctl_req rq = { .sd = sd, .env = env, .nenv = nenv };
	char *text = NULL;
	void *buf = NULL;
	size_t len;

	if (sd->ctl == NULL || o == NULL || (text = json_dumps(o, JSON_COMPACT)) == NULL)
		goto out;
	if (proto_encode_admin_rep(reqid, (uint32_t)status, text, &buf, &len) != 0) {
		size_t big = strlen(text);

		log_warnx("ctl: answer to request %u too large (%zu bytes)", reqid, big);
		free(text);
		xasprintf(&text, "{\"error\":\"the answer is too large (%zu bytes)\"}", big);
		status = PROTO_ADMIN_REFUSED;
		if (proto_encode_admin_rep(reqid, (uint32_t)status, text, &buf, &len) != 0)
			goto out;
	}
	ctl_send(sd->ctl, &rq, buf, len);
out:
	free(buf);
	free(text);
	json_decref(o);
}

static int
ctl_on_admin_req(uint32_t reqid, const struct proto_admin_req *msg, void *arg)
{
	const struct ctl_req *rq = arg;
	struct ctl *c = rq->sd->ctl;
	json_t *o = NULL;
	char pr[64];
	int status;

	log_debug("ctl: request %u: %s (%zu words)", reqid,
	    ctl_printable(msg->argv.v[0], pr, sizeof(pr)), msg->argv.n);
	c->cur = rq;
	c->cur_reqid = reqid;
	status = ctl_command(rq->sd, &msg->argv, &o);
	c->cur = NULL;
	if (status == CTL_LATER)
		return 0;
	if (o == NULL)
		return ENOMEM;
	ctl_answer(rq->sd, rq->env, rq->nenv, reqid, status, o);
	return 0;
}

static const struct proto_handlers ctl_handlers = {
	.admin_req = ctl_on_admin_req,
};

/*
 * Takes one whole (multipart) message off the socket: routing id, maybe an
 * empty delimiter (REQ peers), then the payload, and answers it.
 */
static void
ctl_recv(struct sipd *sd)
{
	struct ctl *c = sd->ctl;
	zmq_msg_t parts[CTL_MAX_PARTS];
	struct ctl_req rq = { .sd = sd };
	struct proto_msg m;
	size_t nparts = 0, i, len, buflen;
	int err;
	const void *data;
	void *buf;

	if ((err = zsock_recv(c->sock, parts, CTL_MAX_PARTS, &nparts)) != 0) {
		if (err == E2BIG)
			log_warnx("ctl: dropped a request of too many frames");
		else if (err != EAGAIN)
			log_warnx("ctl: receive: %s", zmq_strerror(err));
		return;
	}
	if (nparts < 2) {
		log_warnx("ctl: dropped a request of too few frames");
		goto out;
	}

	rq.env = parts;
	rq.nenv = nparts - 1;
	data = zmq_msg_data(&parts[nparts - 1]);
	len = zmq_msg_size(&parts[nparts - 1]);
	if ((err = proto_decode(data, len, &m)) == 0) {
		if (m.type == PROTO_ERROR) {
			/* never answered, or two peers could bounce errors forever */
			log_warnx("ctl: a peer sent ERROR %u: %s", m.u.error.code,
			    proto_errcode_str(m.u.error.code));
			proto_msg_free(&m);
			goto out;
		}
		err = proto_dispatch(&m, &ctl_handlers, &rq);
		proto_msg_free(&m);
	}
	if (err != 0) {
		log_warnx("ctl: refused a message of %zu bytes: %s", len,
		    proto_errcode_str(proto_errcode(err)));
		if (proto_encode_refusal(data, len, err, &buf, &buflen) == 0) {
			ctl_send(c, &rq, buf, buflen);
			free(buf);
		}
	}
out:
	for (i = 0; i < nparts; i++)
		zmq_msg_close(&parts[i]);
}

/* Answers what is waiting, at most CTL_BUDGET requests per call. */
static void
ctl_drain(struct sipd *sd)
{
	struct ctl *c = sd->ctl;
	size_t n;

	for (n = 0; zsock_readable(c->sock); n++) {
		if (n == CTL_BUDGET) {
			loop_timer_start(sd->loop, &c->t_more, 0);
			return;
		}
		ctl_recv(sd);
	}
}

static void
ctl_on_fd(int fd, uint32_t events, void *arg)
{
	ctl_drain(arg);
}

static void
ctl_on_more(void *arg)
{
	ctl_drain(arg);
}

int
ctl_open(struct sipd *sd)
{
	const char *ep = sd->conf->ctl_sipctl;
	struct ctl *c;
	int err;

	if (ep == NULL || *ep == '\0')
		return EINVAL;
	if (sd->zmq == NULL && (sd->zmq = zmq_ctx_new()) == NULL)
		return errno;
	c = xcalloc(1, sizeof(*c));
	loop_timer_init(&c->t_more, ctl_on_more, sd);
	if ((err = zsock_router(sd->zmq, ep, CTL_REQ_MAX, "ctl", &c->sock, &c->fd,
	    &c->path)) != 0) {
		free(c);
		return err;
	}
	if ((err = loop_fd_add(sd->loop, c->fd, EPOLLIN, ctl_on_fd, sd)) != 0) {
		zmq_close(c->sock);
		zsock_unlink(c->path);
		free(c);
		return err;
	}
	sd->ctl = c;
	log_info("ctl: sipctl control socket on %s", ep);
	/* anything that arrived already would not wake an edge-triggered fd */
	ctl_drain(sd);
	return 0;
}

void
ctl_close(struct sipd *sd)
{
	struct ctl *c = sd->ctl;

	if (c == NULL)
		return;
	loop_timer_stop(sd->loop, &c->t_more);
	if (c->fd >= 0)
		loop_fd_del(sd->loop, c->fd);
	zmq_close(c->sock);	/* linger 0: nothing waits */
	zsock_unlink(c->path);
	free(c);
	sd->ctl = NULL;
}
