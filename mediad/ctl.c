/*
 * ctl.c — mediad's control socket: a ZeroMQ ROUTER bound on control.media
 * (the first endpoint when it is a list) that sipd's DEALER connects to.
 *
 * Only the wire layer: each message is decoded (proto/), handed to one
 * handler that calls session.c, and answered with the same request id;
 * anything refused is answered with an ERROR naming why.  Handled:
 *   HELLO           -> MEDIA_STATUS (the node's announcement and heartbeat)
 *   SESSION_UPDATE  -> SESSION_PORTS, or ERROR (no ports, invalid)
 *   SESSION_DELETE  -> STATS (the final figures), or ERROR (no session)
 *   STATS_REQ       -> STATS
 *   ROOM_JOIN       -> ROOM_PORT, or ERROR (no ports, invalid)
 *   ROOM_LEAVE      -> ROOM_STATS (the participant's final row), or ERROR
 *   ROOM_MUTE       -> ROOM_STATS (the participant's row), or ERROR
 *   ROOM_STATS_REQ  -> ROOM_STATS
 *   NODE_RESET      -> (no answer) every session and room of that sipd freed
 *   RECORD          -> (no answer) the call or room recorded (tap.c, room.c),
 *                      or ERROR (no such call or room, invalid)
 * and sent unasked: SESSION_TIMEOUT, to the sipd that made the session
 * (or room: then the call is the participant's Call-ID); REC_EVENT, to the
 * sipd that asked for the recording.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "common/zsock.h"
#include "mediad.h"

#define CTL_BUDGET	256	/* messages per wake-up before yielding to the packet path */

#define CTL_PEERS	16	/* sipd instances remembered */

/* a sipd that says HELLO: its routing id and when it last did */
struct ctl_peer {
	uint8_t		 id[256];
	size_t		 len;
	uint64_t	 seen;
};

struct ctl {
	struct zsock_srv	*srv;		/* the ROUTER, read in the loop */
	struct ctl_peer		 peers[CTL_PEERS];
};

/* the message being handled: who sent it */
struct ctl_req {
	struct mediad	*md;
	zmq_msg_t	*env;
	size_t		 nenv;
};

static void
ctl_reply(struct mediad *md, const struct ctl_req *rq, void *buf, size_t len)
{
	zsock_srv_reply(md->ctl->srv, rq->env, rq->nenv, buf, len);
}

/* Remembers that the peer with routing id id said HELLO now. */
static void
ctl_peer_seen(struct mediad *md, const void *id, size_t len)
{
	struct ctl_peer *p, *oldest = &md->ctl->peers[0];
	int i;

	if (len > sizeof(p->id))
		return;
	for (i = 0; i < CTL_PEERS; i++) {
		p = &md->ctl->peers[i];
		if (p->len == len && memcmp(p->id, id, len) == 0)
			break;
		if (p->seen < oldest->seen)
			oldest = p;
	}
	if (i == CTL_PEERS) {
		p = oldest;
		memcpy(p->id, id, len);
		p->len = len;
	}
	p->seen = loop_now(md->loop);
}

int
ctl_peer_alive(struct mediad *md, const void *id, size_t len, uint64_t within_ms)
{
	uint64_t now = loop_now(md->loop);
	int i;

	if (md->ctl == NULL)
		return 1;
	for (i = 0; i < CTL_PEERS; i++) {
		const struct ctl_peer *p = &md->ctl->peers[i];

		if (p->len == len && memcmp(p->id, id, len) == 0)
			return now - p->seen < within_ms;
	}
	return 1;	/* never said HELLO (a tool, not sipd): cannot tell */
}

static int
ctl_on_hello(uint32_t reqid, const struct proto_hello *m, void *arg)
{
	const struct ctl_req *rq = arg;
	struct mediad *md = rq->md;
	void *buf;
	size_t len;
	uint32_t klegs;
	int err, kernel;

	log_debug("ctl: HELLO from %s %s (instance %016llx)", m->process, m->node,
	    (unsigned long long)m->instance);
	ctl_peer_seen(md, zmq_msg_data(&rq->env[0]), zmq_msg_size(&rq->env[0]));
	kernel = kfwd_status(md, &klegs);
	if ((err = proto_encode_media_status(reqid, md->node, md->instance, md->advertise,
	    ports_capacity(md->ports), ports_free_count(md->ports),
	    (uint32_t)session_count(md), md->load, (uint32_t)recout_up(md),
	    (uint32_t)recout_count(md), (uint32_t)kernel, klegs,
	    &buf, &len)) != 0)
		return err;
	ctl_reply(md, rq, buf, len);
	return 0;
}

static int
ctl_on_session_update(uint32_t reqid, const struct proto_session_update *m, void *arg)
{
	const struct ctl_req *rq = arg;
	struct mediad *md = rq->md;
	const uint32_t *pa, *pb;
	size_t n, olen = zmq_msg_size(&rq->env[0]);
	void *buf;
	size_t len;
	int err;

	if ((err = session_update(md, m, zmq_msg_data(&rq->env[0]), olen, &pa, &pb, &n)) != 0) {
		log_info("ctl: session %s leg %u refused: %s", m->call, m->leg,
		    err == ENOSPC ? "no free ports" : strerror(err));
		return err;
	}
	log_debug("ctl: session %s leg %u: %zu stream(s)", m->call, m->leg, n);
	if ((err = proto_encode_session_ports(reqid, m->call, md->advertise, n, pa, n, pb, &buf,
	    &len)) != 0)
		return err;
	ctl_reply(md, rq, buf, len);
	return 0;
}

static int
ctl_send_stats(struct mediad *md, const struct ctl_req *rq, uint32_t reqid, struct session *s)
{
	struct session_rows r;
	void *buf;
	size_t len, n;
	int err;

	memset(&r, 0, sizeof(r));
	session_stats(md, s, &r);
	n = r.n;
	err = proto_encode_stats(reqid, n, (const char *const *)r.calls, n, r.streams, n, r.legs,
	    n, r.kinds, n, r.pkts_in, n, r.bytes_in, n, r.pkts_out, n, r.bytes_out, n, r.lost,
	    n, r.jitter_us, n, r.rr_lost, n, r.rr_jitter_us, n, (const char *const *)r.latched,
	    n, r.kernel, &buf, &len);
	session_rows_free(&r);
	if (err != 0)
		return err;
	ctl_reply(md, rq, buf, len);
	return 0;
}

static int
ctl_on_session_delete(uint32_t reqid, const struct proto_session_delete *m, void *arg)
{
	const struct ctl_req *rq = arg;
	struct session *s = session_find(rq->md, m->call);
	int err;

	if (s == NULL)
		return ENOENT;
	err = ctl_send_stats(rq->md, rq, reqid, s);
	log_debug("ctl: session %s deleted", m->call);
	session_delete(rq->md, s, m->reason[0] != '\0' ? m->reason : "hangup");
	return err;
}

static int
ctl_on_stats_req(uint32_t reqid, const struct proto_stats_req *m, void *arg)
{
	const struct ctl_req *rq = arg;
	struct session *s = NULL;

	if (m->call[0] != '\0' && (s = session_find(rq->md, m->call)) == NULL)
		return ENOENT;
	return ctl_send_stats(rq->md, rq, reqid, s);
}

static int
ctl_on_room_join(uint32_t reqid, const struct proto_room_join *m, void *arg)
{
	const struct ctl_req *rq = arg;
	struct mediad *md = rq->md;
	uint16_t port;
	void *buf;
	size_t len;
	int err;

	if ((err = room_join(md, m, zmq_msg_data(&rq->env[0]), zmq_msg_size(&rq->env[0]),
	    &port)) != 0) {
		log_info("ctl: room %s participant %u refused: %s", m->room, m->participant,
		    err == ENOSPC ? "no free ports" : strerror(err));
		return err;
	}
	if ((err = proto_encode_room_port(reqid, m->room, m->participant, md->advertise, port,
	    &buf, &len)) != 0)
		return err;
	ctl_reply(md, rq, buf, len);
	return 0;
}

/* Answers with ROOM_STATS of rows t (freed). */
static int
ctl_send_room_rows(struct mediad *md, const struct ctl_req *rq, uint32_t reqid,
    struct room_rows *t)
{
	size_t r = t->nr, p = t->np;
	void *buf;
	size_t len;
	int err;

	err = proto_encode_room_stats(reqid, r, (const char *const *)t->r_rooms, r, t->r_rates,
	    r, t->r_ticks, r, t->r_late, r, t->r_encodes, p, (const char *const *)t->p_rooms,
	    p, t->p_ids, p, (const char *const *)t->p_codecs, p, t->p_pkts_in, p, t->p_pkts_out,
	    p, t->p_lost, p, t->p_concealed, p, t->p_jitter_us, p, t->p_muted, p, t->p_talking,
	    p, t->p_held, p, (const char *const *)t->p_latched, &buf, &len);
	room_rows_free(t);
	if (err != 0)
		return err;
	ctl_reply(md, rq, buf, len);
	return 0;
}

static int
ctl_on_room_leave(uint32_t reqid, const struct proto_room_leave *m, void *arg)
{
	const struct ctl_req *rq = arg;
	struct room_rows t;
	int err;

	memset(&t, 0, sizeof(t));
	if ((err = room_leave(rq->md, m->room, m->participant, &t)) != 0)
		return err;
	return ctl_send_room_rows(rq->md, rq, reqid, &t);
}

static int
ctl_on_room_mute(uint32_t reqid, const struct proto_room_mute *m, void *arg)
{
	const struct ctl_req *rq = arg;
	struct room_rows t;
	int err;

	memset(&t, 0, sizeof(t));
	if ((err = room_mute(rq->md, m->room, m->participant, (int)m->muted, &t)) != 0)
		return err;
	return ctl_send_room_rows(rq->md, rq, reqid, &t);
}

static int
ctl_on_room_stats_req(uint32_t reqid, const struct proto_room_stats_req *m, void *arg)
{
	const struct ctl_req *rq = arg;
	struct room_rows t;
	int err;

	memset(&t, 0, sizeof(t));
	if ((err = room_stats(rq->md, m->room[0] != '\0' ? m->room : NULL, &t)) != 0) {
		room_rows_free(&t);
		return err;
	}
	return ctl_send_room_rows(rq->md, rq, reqid, &t);
}

static int
ctl_on_node_reset(uint32_t reqid, const struct proto_node_reset *m, void *arg)
{
	const struct ctl_req *rq = arg;
	const void *id = zmq_msg_data(&rq->env[0]);
	size_t len = zmq_msg_size(&rq->env[0]);
	size_t ns, nr;

	ns = session_drop_owner(rq->md, id, len);
	nr = room_drop_owner(rq->md, id, len);
	log_info("ctl: reset by sipd (%s): %zu session(s), %zu room(s) freed", m->why, ns, nr);
	return 0;
}

static int
ctl_on_record(uint32_t reqid, const struct proto_record *m, void *arg)
{
	const struct ctl_req *rq = arg;
	const void *id = zmq_msg_data(&rq->env[0]);
	size_t len = zmq_msg_size(&rq->env[0]);
	struct session *s;
	int err;

	(void)reqid;
	if (rq->md->recout == NULL)
		return EINVAL;
	if (m->kind == PROTO_REC_ROOM)
		err = room_record(rq->md, m, id, len);
	else if ((s = session_find(rq->md, m->target)) == NULL)
		err = ENOENT;
	else
		err = tap_record(rq->md, s, m, id, len);
	if (err != 0)
		log_info("ctl: recording of %s refused: %s", m->target, strerror(err));
	return err;
}

static const struct proto_handlers ctl_handlers = {
	.hello = ctl_on_hello,
	.session_update = ctl_on_session_update,
	.session_delete = ctl_on_session_delete,
	.stats_req = ctl_on_stats_req,
	.room_join = ctl_on_room_join,
	.room_leave = ctl_on_room_leave,
	.room_mute = ctl_on_room_mute,
	.room_stats_req = ctl_on_room_stats_req,
	.node_reset = ctl_on_node_reset,
	.record = ctl_on_record,
};

void
ctl_send_rec_event(struct mediad *md, const void *owner, size_t owner_len, uint32_t kind,
    const char *target, const char *rec, uint32_t state, size_t nfiles,
    const char *const *files, size_t nms, const uint64_t *ms, const char *sidecar,
    const char *reason, const char *stream, uint32_t gap_ms)
{
	void *buf;
	size_t len;

	if (md->ctl == NULL || owner_len == 0)
		return;
	if (proto_encode_rec_event(0, kind, target, rec, state, nfiles, files, nms, ms, sidecar,
	    reason, stream, gap_ms, &buf, &len) != 0)
		return;
	zsock_srv_send_to(md->ctl->srv, owner, owner_len, buf, len);
}

void
ctl_send_timeout(struct mediad *md, const void *owner, size_t owner_len, const char *call,
    uint32_t idle_ms)
{
	void *buf;
	size_t len;

	if (md->ctl == NULL || owner_len == 0)
		return;
	if (proto_encode_session_timeout(0, call, idle_ms, &buf, &len) != 0)
		return;
	zsock_srv_send_to(md->ctl->srv, owner, owner_len, buf, len);
}

static void
ctl_recv(struct zsock_srv *srv, zmq_msg_t *env, size_t nenv, const void *data, size_t len,
    void *arg)
{
	struct ctl_req rq = { .md = arg, .env = env, .nenv = nenv };
	size_t blen;
	void *buf;

	if (proto_serve(data, len, &ctl_handlers, &rq, "ctl", &buf, &blen))
		ctl_reply(rq.md, &rq, buf, blen);
}

int
ctl_open(struct mediad *md)
{
	const char *ep = md->conf->ctl_media[0];
	struct ctl *c = xcalloc(1, sizeof(*c));
	int err;

	md->ctl = c;
	/* requests are small */
	if ((err = zsock_srv_open(&c->srv, md->loop, md->zmq, ep, PROTO_HDR_LEN + 64 * 1024,
	    CTL_BUDGET, "ctl", ctl_recv, md)) != 0) {
		md->ctl = NULL;
		free(c);
		return err;
	}
	log_info("ctl: control socket on %s", ep);
	return 0;
}

void
ctl_close(struct mediad *md)
{
	if (md->ctl == NULL)
		return;
	zsock_srv_close(md->ctl->srv);
	free(md->ctl);
	md->ctl = NULL;
}
