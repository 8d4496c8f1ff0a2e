/*
 * room.c — rooms (group calls): sipd answers an INVITE to a room number
 * (rooms.numbers) itself, as the UAS of that participant's dialog, with
 * the SDP of a port mediad opened for it in the room's mixer.
 *
 *   INVITE -> (auth) -> 100 -> offer read, codec chosen (offer.c) ->
 *   ROOM_JOIN to the room's mediad node -> 200 OK with the answer,
 *   retransmitted until the ACK (RFC 3261 13.3.1.4) -> in the room.
 *
 * The first participant creates the room (on the least-loaded live node);
 * the room goes when its last participant leaves.  Journal: room-create,
 * room-join (at the 200), room-leave, room-kick, room-delete; a CANCEL or
 * refusal before the 200 leaves no line and no trace.  In the dialog:
 * BYE leaves; a re-INVITE or UPDATE with SDP changes the stream (hold:
 * sendonly or inactive is neither mixed nor sent to); INFO, OPTIONS and
 * NOTIFY get 200.  Limits (sipctl room limit / room max, else rooms.*):
 * a full room answers 486, too many rooms 503.  Kick is a BYE from sipd;
 * mute and unmute only tell mediad.  When the room's mediad is lost, or a
 * participant's RTP stops (media.rtp_timeout), sipd says BYE.
 *
 * Not done: an INVITE without SDP (late offer) is refused with 488, and a
 * Record-Route set from proxies between the phone and sipd is not kept
 * (phones reach sipd directly).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "sipd.h"

#define ROOM_BUCKETS	1024
#define ROOM_ALLOW	"INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY"
#define ROOM_ACK_WAIT	(64 * SIPD_T1)	/* no ACK for the 200 this long: BYE */

/* a limit sipctl set for one room (kept while sipd runs, the room or not) */
struct room_limit {
	char			*name;
	int			 limit;
	struct room_limit	*next;
};

struct room_table {
	struct sroom		*head;
	size_t			 count;
	struct room_member	*buckets[ROOM_BUCKETS];
	struct room_limit	*limits;
	int			 max;		/* sipctl room max; -1: rooms.max_rooms */
};

static unsigned
room_hash(const char *s)
{
	unsigned h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % ROOM_BUCKETS;
}

int
room_is_room(struct sipd *sd, const char *user)
{
	return conf_room_match(sd->conf, user);
}

size_t
room_count(struct sipd *sd)
{
	return sd->rooms->count;
}

const struct sroom *
room_find(struct sipd *sd, const char *name)
{
	struct sroom *r;

	for (r = sd->rooms->head; r != NULL; r = r->next)
		if (strcmp(r->name, name) == 0)
			return r;
	return NULL;
}

struct sroom *
room_get(struct sipd *sd, const char *name)
{
	return (struct sroom *)room_find(sd, name);
}

void
room_foreach(struct sipd *sd, room_visit_cb cb, void *arg)
{
	struct sroom *r;

	for (r = sd->rooms->head; r != NULL; r = r->next)
		cb(r, arg);
}

int
room_limit(struct sipd *sd, const char *name)
{
	struct room_limit *l;

	for (l = sd->rooms->limits; l != NULL; l = l->next)
		if (strcmp(l->name, name) == 0)
			return l->limit;
	return sd->conf->max_participants;
}

int
room_max(struct sipd *sd)
{
	return sd->rooms->max >= 0 ? sd->rooms->max : sd->conf->max_rooms;
}

int
room_set_limit(struct sipd *sd, const char *name, int limit)
{
	struct room_limit *l;

	if (!room_is_room(sd, name) || limit < 0)
		return EINVAL;
	for (l = sd->rooms->limits; l != NULL; l = l->next)
		if (strcmp(l->name, name) == 0)
			break;
	if (l == NULL) {
		l = xcalloc(1, sizeof(*l));
		l->name = xstrdup(name);
		l->next = sd->rooms->limits;
		sd->rooms->limits = l;
	}
	l->limit = limit;
	log_info("room %s: limit %d participant(s) (sipctl)", name, limit);
	return 0;
}

void
room_set_max(struct sipd *sd, int max)
{
	sd->rooms->max = max;
	log_info("rooms: at most %d at once (sipctl)", max);
}

static struct room_member *
room_member_by_call(struct sipd *sd, const char *call_id)
{
	struct room_member *m;

	for (m = sd->rooms->buckets[room_hash(call_id)]; m != NULL; m = m->hnext)
		if (strcmp(m->call_id, call_id) == 0)
			return m;
	return NULL;
}

/* ------------------------------------------------------------ rooms and members */

static struct sroom *
room_new(struct sipd *sd, const char *name, int node)
{
	struct sroom *r = xcalloc(1, sizeof(*r));
	const struct node_info *ni = node_info(sd, node);

	r->name = xstrdup(name);
	r->node = node;
	r->node_instance = ni != NULL ? ni->instance : 0;
	r->since = time(NULL);
	r->since_ms = loop_now(sd->loop);
	r->next = sd->rooms->head;
	sd->rooms->head = r;
	sd->rooms->count++;
	return r;
}

static void
room_free(struct sipd *sd, struct sroom *r)
{
	struct sroom **pp;

	for (pp = &sd->rooms->head; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	sd->rooms->count--;
	if (r->created) {
		char dur[32];

		snprintf(dur, sizeof(dur), "%.3f", (loop_now(sd->loop) - r->since_ms) / 1000.0);
		journal_write(sd->journal, "room-delete", "room", r->name, "duration", dur,
		    (char *)NULL);
	}
	node_released(sd, r->node);
	free(r->name);
	free(r);
}

static void
room_leg_free(struct call_leg *l)
{
	free(l->uri);
	free(l->tag);
	free(l->contact);
}

/* Takes m out of its room and frees it; the room goes with its last member. */
static void
room_member_free(struct sipd *sd, struct room_member *m)
{
	struct sroom *r = m->room;
	struct room_member **pp;

	if (m->reqid != 0)
		node_cancel(sd, m->reqid);
	if (m->st != NULL && !sd->stopping_hard) {
		/* a re-INVITE or UPDATE still waiting for mediad: the dialog is over */
		txn_reply_status(sd, m->st, 487, NULL);
		m->st = NULL;
	}
	loop_timer_stop(sd->loop, &m->t_retx);
	for (pp = &sd->rooms->buckets[room_hash(m->call_id)]; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == m) {
			*pp = m->hnext;
			break;
		}
	for (pp = &r->members; *pp != NULL; pp = &(*pp)->next)
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	if (m->state != MEMBER_GONE)
		r->nmembers--;
	room_leg_free(&m->phone);
	room_leg_free(&m->self);
	free(m->ok);
	free(m->user);
	free(m->call_id);
	free(m);
	if (r->members == NULL)
		room_free(sd, r);
}

/* Tells mediad that m is gone (no answer awaited). */
static void
room_tell_leave(struct sipd *sd, struct room_member *m)
{
	struct proto_msg pm;

	memset(&pm, 0, sizeof(pm));
	pm.type = PROTO_ROOM_LEAVE;
	pm.u.room_leave.room = m->room->name;
	pm.u.room_leave.participant = m->id;
	if (node_request(sd, m->room->node, &pm, NULL, NULL, NULL) != 0)
		log_debug("room %s: participant %u: mediad not told of the leave", m->room->name,
		    m->id);
}

/*
 * m leaves: mediad is told, the journal gets room-leave (room-kick when
 * kicked) with by, and m is freed.
 */
static void
room_member_leave(struct sipd *sd, struct room_member *m, int kicked, const char *by,
    const char *reason)
{
	char dur[32], id[16];

	room_tell_leave(sd, m);
	if (m->joined) {
		snprintf(dur, sizeof(dur), "%.3f", (loop_now(sd->loop) - m->joined_ms) / 1000.0);
		snprintf(id, sizeof(id), "%u", m->id);
		if (kicked)
			journal_write(sd->journal, "room-kick", "call", m->call_id, "from", m->user,
			    "to", m->room->name, "room", m->room->name, "user", m->user,
			    "participant", id, "by", by, "duration", dur, (char *)NULL);
		else
			journal_write(sd->journal, "room-leave", "call", m->call_id, "from", m->user,
			    "to", m->room->name, "room", m->room->name, "user", m->user,
			    "participant", id, "by", by, "duration", dur, (char *)NULL);
		if (reason != NULL)
			log_info("room %s: participant %u (%s) left: %s", m->room->name, m->id,
			    m->user, reason);
	}
	room_member_free(sd, m);
}

/* ------------------------------------------------------------ answers */

/* "<sip:800@127.0.0.1:5060;transport=tcp>" for the transport m's requests came on */
static void
room_contact(struct sipd *sd, const struct room_member *m, const struct tp_source *src,
    char *buf, size_t len)
{
	char host[64];

	tp_addr_host(&src->local, host, sizeof(host));
	snprintf(buf, len, "<sip:%s@%s%s%s:%d%s>", m->room->name, strchr(host, ':') ? "[" : "",
	    host, strchr(host, ':') ? "]" : "", tp_addr_port(&src->local),
	    src->proto == TP_TCP ? ";transport=tcp" : "");
}

static void
room_retx_cb(void *arg)
{
	struct room_member *m = arg;
	struct sipd *sd = m->sd;

	if (m->ok == NULL)
		return;
	if (loop_now(sd->loop) - m->ok_since >= ROOM_ACK_WAIT) {
		/* the dialog is confirmed, but the session must end (RFC 3261 13.3.1.4) */
		log_warnx("room %s: participant %u: no ACK for the 200: BYE", m->room->name, m->id);
		call_leg_bye(sd, m->call_id, &m->self, &m->phone, "No ACK");
		room_member_leave(sd, m, 0, "timeout", "no ACK");
		return;
	}
	tp_send(sd, &m->phone.src, m->ok, m->oklen);
	m->retx_ms = m->retx_ms * 2 > SIPD_T2 ? SIPD_T2 : m->retx_ms * 2;
	loop_timer_start(sd->loop, &m->t_retx, m->retx_ms);
}

/*
 * A 2xx with sdp (or none) on st; for an INVITE it is kept and sent again
 * until the ACK comes.
 */
static void
room_reply_2xx(struct sipd *sd, struct room_member *m, struct txn *st, const char *sdp,
    size_t sdplen)
{
	osip_message_t *resp = msg_make_response(sd, st->req, 200, NULL);
	int invite = st->invite;
	char contact[256], *buf;
	size_t len;

	if (resp == NULL)
		return;
	if (m->self.tag == NULL) {
		osip_generic_param_t *tag = NULL;

		if (osip_to_get_tag(resp->to, &tag) == 0 && tag != NULL && tag->gvalue != NULL)
			m->self.tag = xstrdup(tag->gvalue);
	}
	room_contact(sd, m, &st->peer, contact, sizeof(contact));
	osip_message_set_contact(resp, contact);
	osip_message_set_header(resp, "Allow", ROOM_ALLOW);
	if (sdp != NULL) {
		osip_message_set_content_type(resp, "application/sdp");
		osip_message_set_body(resp, sdp, sdplen);
	}
	if (msg_to_str(resp, &buf, &len) != 0) {
		osip_message_free(resp);
		return;
	}
	osip_message_free(resp);
	if (invite && st->peer.proto == TP_UDP) {
		free(m->ok);
		m->ok = xmalloc(len);
		memcpy(m->ok, buf, len);
		m->oklen = len;
		m->ok_since = loop_now(sd->loop);
		m->retx_ms = SIPD_T1;
		loop_timer_start(sd->loop, &m->t_retx, m->retx_ms);
	}
	txn_reply_text(sd, st, 200, buf, len);
}

/* The answer SDP to m's current offer, at mediad's address and port: a new version. */
static char *
room_answer_sdp(struct sipd *sd, struct room_member *m, const char *addr, unsigned port,
    size_t *len)
{
	m->sdp_version++;
	return offer_answer(&m->offer, addr, port, m->sess_id, m->sdp_version, len);
}

/* ------------------------------------------------------------ joining */

static void
room_refuse(struct sipd *sd, struct txn *st, int status, const char *why)
{
	char hdr[512];

	if (status == 488)
		snprintf(hdr, sizeof(hdr), "Warning: 305 %s \"%s\"\r\n", sd->conf->domain, why);
	else if (status == 503)
		snprintf(hdr, sizeof(hdr), "Warning: 399 %s \"%s\"\r\nRetry-After: 5\r\n",
		    sd->conf->domain, why);
	else
		snprintf(hdr, sizeof(hdr), "Warning: 399 %s \"%s\"\r\n", sd->conf->domain, why);
	txn_reply_hdrs(sd, st, status, NULL, hdr);
}

/* the ROOM_JOIN of m's current offer */
static int
room_ask(struct sipd *sd, struct room_member *m, node_reply_cb cb)
{
	struct proto_msg pm;
	struct proto_room_join *j = &pm.u.room_join;
	const struct room_offer *o = &m->offer;

	memset(&pm, 0, sizeof(pm));
	pm.type = PROTO_ROOM_JOIN;
	j->room = m->room->name;
	j->participant = m->id;
	j->call = m->call_id;
	j->addr = (char *)o->addr;
	j->port = o->port;
	j->rtcp_port = o->rtcp_port;
	j->dir = (uint32_t)o->dir;
	j->codec = (char *)o->codec;
	j->pt = o->pt;
	j->octet_align = (uint32_t)o->octet_align;
	j->mode_set = o->mode_set;
	j->dtmf_pt = o->dtmf_pt >= 0 ? (uint32_t)o->dtmf_pt : 128;
	j->muted = (uint32_t)m->muted;
	j->user = m->user;
	return node_request(sd, m->room->node, &pm, cb, m, &m->reqid);
}

/* mediad's answer to a ROOM_JOIN for m's (re-)INVITE or UPDATE on m->st. */
static void
room_join_cb(struct sipd *sd, const struct proto_msg *pm, int err, void *arg)
{
	struct room_member *m = arg;
	struct txn *st = m->st;
	char *sdp, id[16];
	size_t len;

	m->reqid = 0;
	m->st = NULL;
	if (m->state == MEMBER_GONE) {
		/* CANCELled (and answered 487) while mediad was asked */
		if (err == 0 || err == ETIMEDOUT)
			room_tell_leave(sd, m);
		room_member_free(sd, m);
		return;
	}
	if (err == 0 && pm->type != PROTO_ROOM_PORT)
		err = EPROTO;
	if (err != 0) {
		log_warnx("room %s: participant %u: mediad refused: %s", m->room->name, m->id,
		    strerror(err));
		if (st != NULL)
			room_refuse(sd, st, err == EINVAL ? 488 : 503,
			    err == ENOSPC ? "no free media ports" : err == EINVAL ?
			    "codec not mixable" : "no media mixer available");
		if (m->state == MEMBER_JOINING) {
			/*
			 * A join that timed out may still be taken by mediad later:
			 * the leave, queued behind it, undoes it there.
			 */
			if (err == ETIMEDOUT)
				room_tell_leave(sd, m);
			m->state = MEMBER_GONE;
			m->room->nmembers--;
			room_member_free(sd, m);
		}
		return;
	}
	if (st == NULL)
		return;
	m->port = pm->u.room_port.port;
	if (pm->u.room_port.address[0] != '\0')
		snprintf(m->address, sizeof(m->address), "%s", pm->u.room_port.address);
	else
		tp_addr_host(&st->peer.local, m->address, sizeof(m->address));
	sdp = room_answer_sdp(sd, m, m->address, m->port, &len);
	m->held = m->offer.dir == PROTO_DIR_SENDONLY || m->offer.dir == PROTO_DIR_INACTIVE;
	room_reply_2xx(sd, m, st, sdp, len);
	free(sdp);
	if (m->state != MEMBER_JOINING)
		return;
	m->state = MEMBER_ANSWERED;
	m->joined = 1;
	m->joined_wall = time(NULL);
	m->joined_ms = loop_now(sd->loop);
	if (!m->room->created) {
		m->room->created = 1;
		journal_write(sd->journal, "room-create", "call", m->call_id, "from", m->user,
		    "to", m->room->name, "room", m->room->name, (char *)NULL);
		recording_room_created(sd, m->room);
	}
	snprintf(id, sizeof(id), "%u", m->id);
	journal_write(sd->journal, "room-join", "call", m->call_id, "from", m->user, "to",
	    m->room->name, "room", m->room->name, "user", m->user, "participant", id, "codec",
	    m->offer.codec, (char *)NULL);
}

/* The From, To and Contact of an out-of-dialog INVITE, as m's dialog. */
static int
room_dialog_init(struct room_member *m, const osip_message_t *req, const struct tp_source *src)
{
	osip_contact_t *ct = osip_list_get(&req->contacts, 0);
	char *curi = NULL;

	if (ct == NULL || ct->url == NULL || osip_uri_to_str(ct->url, &curi) != 0)
		return EINVAL;
	m->phone.contact = xstrdup(curi);
	osip_free(curi);
	m->phone.uri = msg_uri_str(req->from->url);
	m->phone.tag = msg_from_tag(req) ? xstrdup(msg_from_tag(req)) : NULL;
	m->phone.src = *src;
	m->phone.cseq = msg_cseq_num(req);
	m->phone.cseq_known = 1;
	m->self.uri = msg_uri_str(req->to->url);
	return 0;
}

void
room_invite(struct sipd *sd, struct txn *st, const struct tp_source *src)
{
	osip_message_t *req = st->req;
	const char *name = req->req_uri->username;
	osip_body_t *body = osip_list_get(&req->bodies, 0);
	struct room_offer o;
	struct room_member *m;
	struct sroom *r;
	int err, node, limit, max;

	if (room_member_by_call(sd, req->call_id->number) != NULL) {
		txn_reply_status(sd, st, 482, NULL);	/* a second INVITE of a dialog we have */
		return;
	}
	if (body == NULL || body->body == NULL) {
		room_refuse(sd, st, 488, "an SDP offer is needed to join a room");
		return;
	}
	err = offer_parse(body->body, body->length, sd->conf->codecs, sd->conf->ncodecs, NULL, &o);
	if (err == EBADMSG) {
		room_refuse(sd, st, 488, "SDP not understood");
		return;
	}
	if (err != 0) {
		room_refuse(sd, st, 488, err == ENOENT ? "no RTP audio stream offered" :
		    "Incompatible media format: no codec of this server offered");
		return;
	}
	if ((r = room_get(sd, name)) != NULL) {
		limit = room_limit(sd, name);
		if (limit > 0 && r->nmembers >= (size_t)limit) {
			log_info("room %s: full (%d): 486 to %s", name, limit,
			    req->from->url->username ? req->from->url->username : "?");
			txn_reply_status(sd, st, 486, NULL);
			return;
		}
		node = r->node;
		if (node_info(sd, node) == NULL || !node_info(sd, node)->live) {
			room_refuse(sd, st, 503, "the room's media mixer is not reachable");
			return;
		}
	} else {
		max = room_max(sd);
		if (max > 0 && sd->rooms->count >= (size_t)max) {
			log_info("rooms: %d at once already: 503 for room %s", max, name);
			room_refuse(sd, st, 503, "too many rooms");
			return;
		}
		if ((node = node_pick(sd)) < 0) {
			room_refuse(sd, st, 503, "no media mixer available");
			return;
		}
		r = room_new(sd, name, node);
	}
	m = xcalloc(1, sizeof(*m));
	m->room = r;
	m->id = ++r->next_id;
	m->user = xstrdup(req->from->url->username ? req->from->url->username : "");
	m->call_id = xstrdup(req->call_id->number);
	m->offer = o;
	m->st = st;
	m->state = MEMBER_JOINING;
	if (getrandom(&m->sess_id, sizeof(m->sess_id), 0) != sizeof(m->sess_id))
		m->sess_id = loop_now(sd->loop);
	m->sess_id &= 0x7fffffffffffffffULL;
	loop_timer_init(&m->t_retx, room_retx_cb, m);
	m->sd = sd;
	m->hnext = sd->rooms->buckets[room_hash(m->call_id)];
	sd->rooms->buckets[room_hash(m->call_id)] = m;
	m->next = r->members;
	r->members = m;
	r->nmembers++;
	if (room_dialog_init(m, req, src) != 0) {
		room_refuse(sd, st, 400, "INVITE without a Contact");
		m->state = MEMBER_GONE;
		r->nmembers--;
		room_member_free(sd, m);
		return;
	}
	if ((err = room_ask(sd, m, room_join_cb)) != 0) {
		room_refuse(sd, st, 503, "no media mixer available");
		m->state = MEMBER_GONE;
		r->nmembers--;
		room_member_free(sd, m);
		return;
	}
	st->tu = m;	/* so that a CANCEL finds it (room_cancel) */
}

int
room_cancel(struct sipd *sd, struct txn *ist)
{
	struct room_member *m;

	if (ist->req == NULL || ist->req->call_id == NULL ||
	    (m = room_member_by_call(sd, ist->req->call_id->number)) == NULL || m->st != ist)
		return 0;
	if (m->state == MEMBER_JOINING) {
		/* no 200 yet: 487, and no trace in the room once mediad has answered */
		m->state = MEMBER_GONE;
		m->room->nmembers--;
		m->st = NULL;
		txn_reply_status(sd, ist, 487, NULL);
	}
	return 1;
}

/* ------------------------------------------------------------ in the dialog */

/* A re-INVITE or UPDATE with a new offer: mediad first, then 200 with the answer. */
static void
room_reoffer(struct sipd *sd, struct room_member *m, struct txn *st)
{
	osip_body_t *body = osip_list_get(&st->req->bodies, 0);
	struct room_offer o;
	size_t len;
	char *sdp;
	int err;

	if (m->st != NULL) {
		txn_reply_status(sd, st, 491, NULL);	/* one offer at a time (RFC 3261 14.2) */
		return;
	}
	if (body == NULL || body->body == NULL) {
		/* no offer (a refresh): ours again, unchanged; the ACK's answer changes nothing */
		sdp = offer_answer(&m->offer, m->address, m->port, m->sess_id, m->sdp_version, &len);
		room_reply_2xx(sd, m, st, sdp, len);
		free(sdp);
		return;
	}
	err = offer_parse(body->body, body->length, sd->conf->codecs, sd->conf->ncodecs,
	    m->offer.codec, &o);
	if (err != 0) {
		room_refuse(sd, st, 488, err == EBADMSG ? "SDP not understood" :
		    "Incompatible media format: no codec of this server offered");
		return;
	}
	m->offer = o;
	m->st = st;
	if (room_ask(sd, m, room_join_cb) != 0) {
		m->st = NULL;
		room_refuse(sd, st, 503, "the room's media mixer is not reachable");
	}
}

int
room_in_dialog(struct sipd *sd, struct txn *st, osip_message_t *req,
    const struct tp_source *src)
{
	struct room_member *m = req->call_id ? room_member_by_call(sd, req->call_id->number) :
	    NULL;
	const char *method = req->sip_method, *tt = msg_to_tag(req);

	if (m == NULL || m->state == MEMBER_GONE)
		return ENOENT;
	if (tt == NULL || m->self.tag == NULL || strcmp(tt, m->self.tag) != 0) {
		if (st != NULL)
			txn_reply_status(sd, st, 481, NULL);
		return 0;
	}
	m->phone.src = *src;	/* its latest address (NAT) */
	if (st == NULL) {
		/* the ACK of our 200 */
		free(m->ok);
		m->ok = NULL;
		loop_timer_stop(sd->loop, &m->t_retx);
		if (m->state == MEMBER_ANSWERED)
			m->state = MEMBER_IN;
		return 0;
	}
	if (msg_cseq_num(req) > m->phone.cseq)
		m->phone.cseq = msg_cseq_num(req);
	if (strcmp(method, "BYE") == 0) {
		txn_reply_status(sd, st, 200, NULL);
		room_member_leave(sd, m, 0, "participant", NULL);
	} else if (strcmp(method, "INVITE") == 0 || strcmp(method, "UPDATE") == 0) {
		if (strcmp(method, "UPDATE") == 0 && osip_list_size(&req->bodies) == 0)
			txn_reply_status(sd, st, 200, NULL);
		else
			room_reoffer(sd, m, st);
	} else if (strcmp(method, "INFO") == 0 || strcmp(method, "OPTIONS") == 0 ||
	    strcmp(method, "NOTIFY") == 0) {
		txn_reply_status(sd, st, 200, NULL);
	} else
		txn_reply_hdrs(sd, st, 405, NULL, "Allow: " ROOM_ALLOW "\r\n");
	return 0;
}

/* ------------------------------------------------------------ ended by sipd */

/* BYE to m's phone, then it leaves (kicked or not) with by and why. */
static void
room_member_end(struct sipd *sd, struct room_member *m, int kicked, const char *by,
    const char *why)
{
	if (m->state == MEMBER_JOINING) {
		/* not answered yet: the INVITE gets 503 */
		if (m->st != NULL)
			room_refuse(sd, m->st, 503, why);
		m->st = NULL;
		m->state = MEMBER_GONE;
		m->room->nmembers--;
		room_member_free(sd, m);
		return;
	}
	if (call_leg_bye(sd, m->call_id, &m->self, &m->phone, why) != 0)
		log_warnx("room %s: participant %u: BYE not sent", m->room->name, m->id);
	room_member_leave(sd, m, kicked, by, why);
}

int
room_media_timeout(struct sipd *sd, const char *call_id, uint32_t idle_ms)
{
	struct room_member *m = room_member_by_call(sd, call_id);

	if (m == NULL)
		return 0;
	if (m->state == MEMBER_IN || m->state == MEMBER_ANSWERED) {
		log_info("room %s: participant %u: no RTP for %u ms: BYE", m->room->name, m->id,
		    idle_ms);
		room_member_end(sd, m, 0, "timeout", "No media (RTP timeout)");
	}
	return 1;
}

/* Ends every member of r; r is freed with the last. */
static void
room_end(struct sipd *sd, struct sroom *r, const char *by, const char *why)
{
	while (r->members != NULL && r->members->next != NULL)
		room_member_end(sd, r->members, 0, by, why);
	if (r->members != NULL)
		room_member_end(sd, r->members, 0, by, why);
}

void
room_media_lost(struct sipd *sd, int node)
{
	struct sroom *r, *next;

	for (r = sd->rooms->head; r != NULL; r = next) {
		next = r->next;
		if (r->node != node)
			continue;
		log_warnx("room %s: its mediad is lost: ending it", r->name);
		room_end(sd, r, "timeout", "Media mixer lost");
	}
}

size_t
room_end_all(struct sipd *sd)
{
	size_t n = 0;

	while (sd->rooms->head != NULL) {
		n += sd->rooms->head->nmembers;
		room_end(sd, sd->rooms->head, "admin", "Server shutting down");
	}
	return n;
}

/* The members of room name that who names: an id, or a user name. */
static size_t
room_select(struct sipd *sd, const char *name, const char *who, struct room_member **out,
    size_t max)
{
	struct sroom *r = room_get(sd, name);
	struct room_member *m;
	char *end;
	unsigned long id = strtoul(who, &end, 10);
	size_t n = 0;

	if (r == NULL)
		return 0;
	for (m = r->members; m != NULL && n < max; m = m->next) {
		if (m->state == MEMBER_GONE || m->state == MEMBER_JOINING)
			continue;
		if ((*who != '\0' && *end == '\0' && m->id == id) || strcmp(m->user, who) == 0)
			out[n++] = m;
	}
	return n;
}

#define ROOM_SELECT_MAX	64

int
room_kick(struct sipd *sd, const char *room, const char *who, int *np)
{
	struct room_member *sel[ROOM_SELECT_MAX];
	size_t n = room_select(sd, room, who, sel, ROOM_SELECT_MAX), i;

	*np = (int)n;
	if (n == 0)
		return ENOENT;
	for (i = 0; i < n; i++) {
		log_info("room %s: participant %u (%s) kicked by sipctl", room, sel[i]->id,
		    sel[i]->user);
		room_member_end(sd, sel[i], 1, "admin", "Removed from the room by the operator");
	}
	return 0;
}

int
room_set_mute(struct sipd *sd, const char *room, const char *who, int muted, int *np)
{
	struct room_member *sel[ROOM_SELECT_MAX];
	size_t n = room_select(sd, room, who, sel, ROOM_SELECT_MAX), i;
	struct proto_msg pm;

	*np = (int)n;
	if (n == 0)
		return ENOENT;
	for (i = 0; i < n; i++) {
		memset(&pm, 0, sizeof(pm));
		pm.type = PROTO_ROOM_MUTE;
		pm.u.room_mute.room = sel[i]->room->name;
		pm.u.room_mute.participant = sel[i]->id;
		pm.u.room_mute.muted = (uint32_t)muted;
		if (node_request(sd, sel[i]->room->node, &pm, NULL, NULL, NULL) != 0)
			return EHOSTDOWN;
		sel[i]->muted = muted;
		log_info("room %s: participant %u (%s) %s by sipctl", room, sel[i]->id,
		    sel[i]->user, muted ? "muted" : "unmuted");
	}
	return 0;
}

int
room_init(struct sipd *sd)
{
	sd->rooms = xcalloc(1, sizeof(*sd->rooms));
	sd->rooms->max = -1;
	return 0;
}

void
room_shutdown(struct sipd *sd)
{
	struct room_limit *l;

	if (sd->rooms == NULL)
		return;
	while (sd->rooms->head != NULL) {
		struct sroom *r = sd->rooms->head;

		while (r->members != NULL && r->members->next != NULL)
			room_member_free(sd, r->members);
		room_member_free(sd, r->members);	/* frees r */
	}
	while ((l = sd->rooms->limits) != NULL) {
		sd->rooms->limits = l->next;
		free(l->name);
		free(l);
	}
	free(sd->rooms);
	sd->rooms = NULL;
}
