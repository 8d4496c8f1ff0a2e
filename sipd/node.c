/*
 * node.c — sipd's side of the mediad nodes: one ZeroMQ DEALER socket per
 * endpoint of control.media, the heartbeat, and requests with a timeout.
 *
 * Every second sipd sends each node a HELLO; the MEDIA_STATUS answer says
 * the node is alive, how loaded it is and which instance runs.  A node
 * that has not answered for NODE_DEAD_MS is dead; one that answers with a
 * new instance has restarted.  Either way the sessions it held are gone,
 * and node_lost_cb (call.c) ends the calls that were on it.
 *
 * Requests never block: node_request sends and returns; the callback comes
 * with the answer (same request id) or with ETIMEDOUT after NODE_REQ_MS.
 * node_post is for messages answered only when refused (RECORD,
 * NODE_RESET): no answer within NODE_REQ_MS is their success.  REC_EVENT
 * and SESSION_TIMEOUT come unasked and go to recording.c and call.c.
 * Messages are never queued for a node that is not connected
 * (ZMQ_IMMEDIATE), so a restarted mediad never sees stale requests.
 *
 * Only the wire layer: the call logic is in media.c and call.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

#include <zmq.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "common/zsock.h"
#include "sipd.h"

#define NODE_HELLO_MS	1000
#define NODE_DEAD_MS	3000
#define NODE_REQ_MS	2000
#define NODE_BUDGET	256

struct node_req {
	uint32_t		 reqid;
	int			 node;
	uint64_t		 deadline;
	node_reply_cb		 cb;
	void			*arg;
	int			 unanswered;	/* node_post: no answer is the good one */
	struct node_req		*next;
};

struct node {
	struct sipd		*sd;
	int			 idx;
	char			*endpoint;
	void			*sock;		/* ZMQ_DEALER */
	int			 fd;
	struct node_info	 info;
	uint64_t		 last_seen;	/* ms of the last MEDIA_STATUS */
	struct loop_timer	 t_more;
};

struct node_table {
	struct node		*nodes;
	int			 n;
	uint32_t		 next_reqid;
	uint64_t		 my_instance;
	struct node_req		*reqs;		/* pending, oldest first */
	struct loop_timer	 t_tick;
	int			 closing;	/* no more requests */
};

static void
node_send(struct node *nd, void *buf, size_t len)
{
	if (zmq_send(nd->sock, buf, len, ZMQ_DONTWAIT) < 0 && errno != EAGAIN)
		log_warnx("node %s: send: %s", nd->endpoint, zmq_strerror(errno));
	free(buf);
}

/* The node is gone (dead or restarted): fail its requests, end its calls and recordings. */
static void
node_lost(struct sipd *sd, struct node *nd, const char *why)
{
	struct node_table *t = sd->nodes;
	struct node_req **pp = &t->reqs, *r;

	log_warnx("node %s (%s): %s", nd->info.name[0] ? nd->info.name : "?", nd->endpoint, why);
	while ((r = *pp) != NULL) {
		if (r->node == nd->idx) {
			*pp = r->next;
			if (r->cb != NULL)
				r->cb(sd, NULL, EHOSTDOWN, r->arg);
			free(r);
		} else
			pp = &r->next;
	}
	call_media_lost(sd, nd->idx);
	recording_media_lost(sd, nd->idx);
}

/*
 * The node is back with the same instance after sipd took it for dead and
 * ended what it had there: it is told to free all of it, joins and
 * updates still queued to it included (they are taken before this).
 */
static void
node_reset(struct sipd *sd, struct node *nd)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_NODE_RESET;
	m.u.node_reset.why = (char *)"sipd took this node for dead and ended its calls and rooms";
	if (node_post(sd, nd->idx, &m, NULL, NULL) != 0)
		log_warnx("node %s: could not ask it to free what sipd gave up", nd->endpoint);
	else
		log_info("node %s: back with the same instance: asked to free what sipd gave up",
		    nd->endpoint);
}

static void
node_on_status(struct node *nd, const struct proto_media_status *m)
{
	struct sipd *sd = nd->sd;
	int was_live = nd->info.live;
	uint64_t old = nd->info.instance;

	nd->last_seen = loop_now(sd->loop);
	snprintf(nd->info.name, sizeof(nd->info.name), "%s", m->node);
	snprintf(nd->info.address, sizeof(nd->info.address), "%s", m->address);
	nd->info.instance = m->instance;
	nd->info.capacity = m->capacity;
	nd->info.free = m->free;
	nd->info.sessions = m->sessions;
	nd->info.load = m->load;
	nd->info.recorder = m->recorder;
	nd->info.kernel = m->kernel;
	nd->info.kernel_legs = m->kernel_legs;
	nd->info.recordings = m->recordings;
	nd->info.live = 1;
	if (was_live && old != m->instance)
		node_lost(sd, nd, "restarted (new instance): its sessions are gone");
	if (!was_live && old != 0 && old == m->instance)
		node_reset(sd, nd);
	if (!was_live)
		log_info("node %s (%s): live, %u of %u port pairs free", m->node, nd->endpoint,
		    m->free, m->capacity);
}

static void
node_recv(struct node *nd)
{
	struct sipd *sd = nd->sd;
	struct node_table *t = sd->nodes;
	zmq_msg_t part;
	struct proto_msg m;
	struct node_req **pp, *r;
	int err;

	zmq_msg_init(&part);
	if (zmq_msg_recv(&part, nd->sock, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&part);
		return;
	}
	if (zmq_msg_more(&part)) {
		/* mediad sends one frame per message: drain and drop the rest */
		log_warnx("node %s: dropped a message of several frames", nd->endpoint);
		do {
			zmq_msg_close(&part);
			zmq_msg_init(&part);
		} while (zmq_msg_recv(&part, nd->sock, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&part));
		zmq_msg_close(&part);
		return;
	}
	err = proto_decode(zmq_msg_data(&part), zmq_msg_size(&part), &m);
	zmq_msg_close(&part);
	if (err != 0) {
		log_warnx("node %s: undecodable message: %s", nd->endpoint,
		    proto_errcode_str(proto_errcode(err)));
		return;
	}
	if (m.type == PROTO_MEDIA_STATUS)
		node_on_status(nd, &m.u.media_status);
	else if (m.type == PROTO_SESSION_TIMEOUT)
		call_media_timeout(sd, m.u.session_timeout.call, m.u.session_timeout.idle_ms);
	else if (m.type == PROTO_REC_EVENT)
		recording_event(sd, nd->idx, &m.u.rec_event);
	else {
		for (pp = &t->reqs; (r = *pp) != NULL; pp = &r->next)
			if (r->reqid == m.reqid && r->node == nd->idx)
				break;
		if (r != NULL) {
			*pp = r->next;
			if (r->cb != NULL)
				r->cb(sd, &m, m.type == PROTO_ERROR ?
				    node_errno(m.u.error.code) : 0, r->arg);
			free(r);
		} else if (m.type == PROTO_ERROR)
			log_warnx("node %s: ERROR %u: %s", nd->endpoint, m.u.error.code,
			    m.u.error.text);
		else
			log_debug("node %s: late answer %u dropped", nd->endpoint, m.reqid);
	}
	proto_msg_free(&m);
}

static void
node_drain(struct node *nd)
{
	int n;

	for (n = 0; zsock_readable(nd->sock); n++) {
		if (n == NODE_BUDGET) {
			loop_timer_start(nd->sd->loop, &nd->t_more, 0);
			return;
		}
		node_recv(nd);
	}
}

static void
node_on_fd(int fd, uint32_t events, void *arg)
{
	node_drain(arg);
}

static void
node_on_more(void *arg)
{
	node_drain(arg);
}

static void
node_tick(void *arg)
{
	struct sipd *sd = arg;
	struct node_table *t = sd->nodes;
	uint64_t now = loop_now(sd->loop);
	struct node_req *r;
	void *buf;
	size_t len;
	int i;

	loop_timer_start(sd->loop, &t->t_tick, NODE_HELLO_MS / 4);
	/* requests past their time, oldest first */
	while ((r = t->reqs) != NULL && r->deadline <= now) {
		t->reqs = r->next;
		if (!r->unanswered)
			log_warnx("node %d: request %u unanswered", r->node, r->reqid);
		if (r->cb != NULL)
			r->cb(sd, NULL, r->unanswered ? 0 : ETIMEDOUT, r->arg);
		free(r);
	}
	for (i = 0; i < t->n; i++) {
		struct node *nd = &t->nodes[i];

		if (nd->info.live && now - nd->last_seen >= NODE_DEAD_MS) {
			nd->info.live = 0;
			node_lost(sd, nd, "no heartbeat: dead");
		}
		/* a node not (yet) live is asked at every tick: it may just have started */
		if ((!nd->info.live || now - nd->info.hello_sent >= NODE_HELLO_MS) &&
		    proto_encode_hello(0, "sipd", "", t->my_instance, &buf, &len) == 0) {
			nd->info.hello_sent = now;
			node_send(nd, buf, len);
			loop_timer_start(sd->loop, &nd->t_more, 0);
		}
	}
}

int
node_errno(uint32_t code)
{
	switch (code) {
	case PROTO_ERR_NOPORTS:
		return ENOSPC;
	case PROTO_ERR_NOSESSION:
		return ENOENT;
	case PROTO_ERR_INVALID:
		return EINVAL;
	default:
		return EPROTO;
	}
}

static int
node_send_req(struct sipd *sd, int node, struct proto_msg *m, node_reply_cb cb, void *arg,
    uint32_t *reqidp, int unanswered)
{
	struct node_table *t = sd->nodes;
	struct node *nd;
	struct node_req *r, **pp;
	void *buf;
	size_t len;
	int err;

	if (t == NULL || t->closing || node < 0 || node >= t->n || !t->nodes[node].info.live)
		return EHOSTDOWN;
	nd = &t->nodes[node];
	if (++t->next_reqid == 0)
		t->next_reqid = 1;
	m->reqid = t->next_reqid;
	if ((err = proto_encode(m, &buf, &len)) != 0)
		return err;
	if (zmq_send(nd->sock, buf, len, ZMQ_DONTWAIT) < 0) {
		err = errno;
		free(buf);
		return err == EAGAIN ? EHOSTDOWN : err;
	}
	free(buf);
	r = xcalloc(1, sizeof(*r));
	r->reqid = m->reqid;
	r->node = node;
	r->deadline = loop_now(sd->loop) + NODE_REQ_MS;
	r->cb = cb;
	r->arg = arg;
	r->unanswered = unanswered;
	for (pp = &t->reqs; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = r;
	if (reqidp != NULL)
		*reqidp = r->reqid;
	/* sending may leave the edge-triggered fd unsignalled: look again soon */
	loop_timer_start(sd->loop, &nd->t_more, 0);
	return 0;
}

int
node_request(struct sipd *sd, int node, struct proto_msg *m, node_reply_cb cb, void *arg,
    uint32_t *reqidp)
{
	return node_send_req(sd, node, m, cb, arg, reqidp, 0);
}

int
node_post(struct sipd *sd, int node, struct proto_msg *m, node_reply_cb cb, void *arg)
{
	return node_send_req(sd, node, m, cb, arg, NULL, 1);
}

void
node_cancel(struct sipd *sd, uint32_t reqid)
{
	struct node_req **pp, *r;

	for (pp = &sd->nodes->reqs; (r = *pp) != NULL; pp = &r->next)
		if (r->reqid == reqid) {
			*pp = r->next;
			free(r);
			return;
		}
}

int
node_pick(struct sipd *sd)
{
	struct node_table *t = sd->nodes;
	int i, best = -1;
	uint64_t bscore = 0, score;

	for (i = 0; i < t->n; i++) {
		const struct node_info *ni = &t->nodes[i].info;

		if (!ni->live)
			continue;
		/*
		 * The share of ports in use, then CPU: both per mille.  A node that
		 * looks full is still a candidate, last: its figures may be a
		 * second old, and mediad itself says ENOSPC if it really is full.
		 */
		score = (uint64_t)(ni->capacity - ni->free) * 1000 / (ni->capacity ? ni->capacity : 1) +
		    ni->load + (ni->free < 2 ? 1000000 : 0);
		if (best < 0 || score < bscore) {
			best = i;
			bscore = score;
		}
	}
	if (best >= 0) {
		/* count the new call now: the next heartbeat is up to a second away */
		t->nodes[best].info.free -= t->nodes[best].info.free >= 2 ? 2 : 0;
		t->nodes[best].info.sessions++;
	}
	return best;
}

void
node_released(struct sipd *sd, int node)
{
	struct node_info *ni;

	if (node < 0 || node >= sd->nodes->n)
		return;
	/* until the next heartbeat says it exactly */
	ni = &sd->nodes->nodes[node].info;
	ni->free = ni->free + 2 <= ni->capacity ? ni->free + 2 : ni->capacity;
	if (ni->sessions > 0)
		ni->sessions--;
}

const struct node_info *
node_info(struct sipd *sd, int node)
{
	if (sd->nodes == NULL || node < 0 || node >= sd->nodes->n)
		return NULL;
	return &sd->nodes->nodes[node].info;
}

int
node_count(struct sipd *sd)
{
	return sd->nodes ? sd->nodes->n : 0;
}

const char *
node_endpoint(struct sipd *sd, int node)
{
	return sd->nodes->nodes[node].endpoint;
}

int
node_open(struct sipd *sd)
{
	struct node_table *t = xcalloc(1, sizeof(*t));
	int i, one = 1, linger = 0, err = 0;
	size_t sz;

	if (sd->zmq == NULL && (sd->zmq = zmq_ctx_new()) == NULL) {
		free(t);
		return errno;
	}
	if (getrandom(&t->my_instance, sizeof(t->my_instance), 0) != sizeof(t->my_instance))
		t->my_instance = (uint64_t)getpid();
	t->n = (int)sd->conf->nctl_media;
	t->nodes = xcalloc((size_t)t->n, sizeof(*t->nodes));
	sd->nodes = t;
	for (i = 0; i < t->n; i++) {
		struct node *nd = &t->nodes[i];

		nd->sd = sd;
		nd->idx = i;
		nd->endpoint = xstrdup(sd->conf->ctl_media[i]);
		nd->fd = -1;
		loop_timer_init(&nd->t_more, node_on_more, nd);
		if ((nd->sock = zmq_socket(sd->zmq, ZMQ_DEALER)) == NULL ||
		    zmq_setsockopt(nd->sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
		    zmq_setsockopt(nd->sock, ZMQ_IMMEDIATE, &one, sizeof(one)) != 0 ||
		    zmq_connect(nd->sock, nd->endpoint) != 0) {
			err = errno;
			log_warnx("node: cannot connect to %s: %s", nd->endpoint, zmq_strerror(err));
			return err;
		}
		sz = sizeof(nd->fd);
		if (zmq_getsockopt(nd->sock, ZMQ_FD, &nd->fd, &sz) != 0)
			return errno;
		if ((err = loop_fd_add(sd->loop, nd->fd, EPOLLIN, node_on_fd, nd)) != 0)
			return err;
		log_info("node: mediad expected at %s", nd->endpoint);
	}
	loop_timer_init(&t->t_tick, node_tick, sd);
	loop_timer_start(sd->loop, &t->t_tick, 0);
	return 0;
}

void
node_close(struct sipd *sd)
{
	struct node_table *t = sd->nodes;
	struct node_req *r;
	int i;

	if (t == NULL)
		return;
	loop_timer_stop(sd->loop, &t->t_tick);
	t->closing = 1;
	while ((r = t->reqs) != NULL) {
		t->reqs = r->next;
		if (r->cb != NULL)
			r->cb(sd, NULL, ECANCELED, r->arg);
		free(r);
	}
	for (i = 0; i < t->n; i++) {
		struct node *nd = &t->nodes[i];

		loop_timer_stop(sd->loop, &nd->t_more);
		if (nd->fd >= 0)
			loop_fd_del(sd->loop, nd->fd);
		if (nd->sock != NULL)
			zmq_close(nd->sock);
		free(nd->endpoint);
	}
	free(t->nodes);
	free(t);
	sd->nodes = NULL;
}
