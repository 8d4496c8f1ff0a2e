/*
 * ctl.c — recd's control socket: a ZeroMQ ROUTER bound on
 * control.recorder that each mediad's DEALER connects to.
 *
 * Only the wire layer: each message is decoded (proto/), handed to one
 * handler that calls rec.c, and answered with the same request id;
 * anything refused is answered with an ERROR naming why.  Handled:
 *   HELLO       -> HELLO (recd's node and instance: a new one = restarted)
 *   REC_START   -> REC_ACK per stream, or REC_DONE (failed), or ERROR
 *   REC_FRAMES  -> nothing, or ERROR (no such recording, invalid)
 *   REC_PAYLOADS -> nothing, or ERROR (as REC_FRAMES, for an EVS stream)
 *   REC_GAP     -> nothing, or ERROR
 *   REC_STOP    -> REC_DONE, or ERROR (no such recording)
 * and sent unasked to the mediad that last spoke of a recording: REC_ACK
 * (rec.c's timer, or a frame out of sequence) and REC_DONE (a failure).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "common/zsock.h"
#include "recd.h"

#define CTL_BUDGET	256	/* messages per wake-up before yielding to timers */

/* the message being handled: who sent it */
struct ctl_req {
	struct recd	*rd;
	zmq_msg_t	*env;
	size_t		 nenv;
};

static void
ctl_reply(struct recd *rd, const struct ctl_req *rq, void *buf, size_t len)
{
	zsock_srv_reply(rd->ctl, rq->env, rq->nenv, buf, len);
}

/* Sends buf (freed) to the peer with routing id id, unasked. */
static void
ctl_send_to(struct recd *rd, const void *id, size_t idlen, void *buf, size_t len)
{
	if (rd->ctl == NULL) {
		free(buf);
		return;
	}
	zsock_srv_send_to(rd->ctl, id, idlen, buf, len);
}

void
ctl_send_ack(struct recd *rd, struct rec *r, size_t i, uint32_t reqid)
{
	struct rec_stream *s = &r->streams[i];
	uint32_t seq = s->seq_known ? s->next_seq : 0;
	void *buf;
	size_t len;

	if (proto_encode_rec_ack(reqid, r->id, s->name, seq, s->samples, (uint32_t)s->resend,
	    s->path, &buf, &len) != 0)
		return;
	s->acked_seq = s->next_seq;
	s->acked_samples = s->samples;
	if (s->resend) {
		log_debug("rec %s: %s: resend asked from %.3f s", r->id, s->name,
		    (double)s->samples / r->rate);
		s->resend_at = loop_now(rd->loop);
		s->resend = 0;
	}
	ctl_send_to(rd, r->owner, r->owner_len, buf, len);
}

static int
ctl_encode_done(const struct rec *r, uint32_t reqid, void **bufp, size_t *lenp)
{
	const char **files = xcalloc(r->nstreams + 1, sizeof(*files));
	uint64_t *ms = xcalloc(r->nstreams + 1, sizeof(*ms));
	size_t i;
	int err;

	for (i = 0; i < r->nstreams; i++) {
		files[i] = r->streams[i].path;
		ms[i] = rec_stream_ms(r, i);
	}
	err = proto_encode_rec_done(reqid, r->id,
	    r->status == REC_FAILED ? PROTO_REC_FAILED : PROTO_REC_OK,
	    r->reason != NULL ? r->reason : "", r->sidecar_ok ? r->sidecar : "",
	    r->nstreams, files, r->nstreams, ms, bufp, lenp);
	free(files);
	free(ms);
	return err;
}

void
ctl_send_done(struct recd *rd, const struct rec *r, uint32_t reqid)
{
	void *buf;
	size_t len;

	if (ctl_encode_done(r, reqid, &buf, &len) == 0)
		ctl_send_to(rd, r->owner, r->owner_len, buf, len);
}

/* ---------------------------------------------------------------- handlers */

static int
ctl_on_hello(uint32_t reqid, const struct proto_hello *m, void *arg)
{
	const struct ctl_req *rq = arg;
	struct recd *rd = rq->rd;
	void *buf;
	size_t len;
	int err;

	log_debug("ctl: HELLO from %s %s (instance %016llx)", m->process, m->node,
	    (unsigned long long)m->instance);
	rec_owner_seen(rd, zmq_msg_data(&rq->env[0]), zmq_msg_size(&rq->env[0]));
	if ((err = proto_encode_hello(reqid, "recd", rd->node, rd->instance, &buf, &len)) != 0)
		return err;
	ctl_reply(rd, rq, buf, len);
	return 0;
}

static int
ctl_on_rec_start(uint32_t reqid, const struct proto_rec_start *m, void *arg)
{
	const struct ctl_req *rq = arg;
	struct recd *rd = rq->rd;
	struct rec *r;
	void *buf;
	size_t len, i;
	int err;

	err = rec_start(rd, m, zmq_msg_data(&rq->env[0]), zmq_msg_size(&rq->env[0]), &r);
	if (err == EEXIST) {
		/* files of that name are another recording's: say so plainly */
		if (proto_encode_error(reqid, PROTO_ERR_INVALID,
		    "recording files of that name and start belong to another recording",
		    &buf, &len) == 0)
			ctl_reply(rd, rq, buf, len);
		return 0;
	}
	if (err != 0) {
		log_info("ctl: REC_START %s refused: %s", m->rec, strerror(err));
		return err;
	}
	if (r->status == REC_FAILED) {
		if ((err = ctl_encode_done(r, reqid, &buf, &len)) != 0)
			return err;
		ctl_reply(rd, rq, buf, len);
		return 0;
	}
	for (i = 0; i < r->nstreams; i++)
		ctl_send_ack(rd, r, i, reqid);
	return 0;
}

static int
ctl_on_rec_frames(uint32_t reqid, const struct proto_rec_frames *m, void *arg)
{
	const struct ctl_req *rq = arg;

	return rec_frames(rq->rd, m, zmq_msg_data(&rq->env[0]), zmq_msg_size(&rq->env[0]));
}

static int
ctl_on_rec_payloads(uint32_t reqid, const struct proto_rec_payloads *m, void *arg)
{
	const struct ctl_req *rq = arg;

	return rec_payloads(rq->rd, m, zmq_msg_data(&rq->env[0]), zmq_msg_size(&rq->env[0]));
}

static int
ctl_on_rec_gap(uint32_t reqid, const struct proto_rec_gap *m, void *arg)
{
	const struct ctl_req *rq = arg;

	return rec_gap(rq->rd, m, zmq_msg_data(&rq->env[0]), zmq_msg_size(&rq->env[0]));
}

static int
ctl_on_rec_stop(uint32_t reqid, const struct proto_rec_stop *m, void *arg)
{
	const struct ctl_req *rq = arg;
	struct rec *r;
	void *buf;
	size_t len;
	int err;

	if ((err = rec_stop(rq->rd, m, &r)) != 0)
		return err;
	if ((err = ctl_encode_done(r, reqid, &buf, &len)) != 0)
		return err;
	ctl_reply(rq->rd, rq, buf, len);
	return 0;
}

static const struct proto_handlers ctl_handlers = {
	.hello = ctl_on_hello,
	.rec_start = ctl_on_rec_start,
	.rec_frames = ctl_on_rec_frames,
	.rec_gap = ctl_on_rec_gap,
	.rec_payloads = ctl_on_rec_payloads,
	.rec_stop = ctl_on_rec_stop,
};

/* ---------------------------------------------------------------- the socket */

static void
ctl_recv(struct zsock_srv *srv, zmq_msg_t *env, size_t nenv, const void *data,
    size_t len, void *arg)
{
	struct ctl_req rq = { .rd = arg, .env = env, .nenv = nenv };
	size_t blen;
	void *buf;

	if (proto_serve(data, len, &ctl_handlers, &rq, "ctl", &buf, &blen))
		ctl_reply(rq.rd, &rq, buf, blen);
}

int
ctl_open(struct recd *rd)
{
	const char *ep = rd->conf->ctl_recorder;
	int err;

	/* a REC_START may list many streams and participants */
	if ((err = zsock_srv_open(&rd->ctl, rd->loop, rd->zmq, ep, PROTO_HDR_LEN + PROTO_BODY_MAX,
	    CTL_BUDGET, "ctl", ctl_recv, rd)) != 0)
		return err;
	log_info("ctl: control socket on %s", ep);
	return 0;
}

void
ctl_close(struct recd *rd)
{
	zsock_srv_close(rd->ctl);
	rd->ctl = NULL;
}
