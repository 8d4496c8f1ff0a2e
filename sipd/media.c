/*
 * media.c — anchoring a 1:1 call's media on mediad (relay mode): the SDP
 * of every offer and answer sipd forwards is read, sent to the call's
 * mediad node (SESSION_UPDATE) and rewritten to mediad's address and
 * ports before it goes on.
 *
 * Legs: 0 is the caller's side, 1 the callee's.  An SDP that leg X sends
 * names where X wants media; mediad answers with its port facing each
 * leg, and the SDP forwarded to leg Y names mediad's port facing Y.
 *
 * Rewriting is line by line, so everything sipd does not need to change
 * passes byte for byte: c= lines (session and media level) take mediad's
 * address, m= ports mediad's ports (a refused m= line keeps port 0),
 * a=rtcp the port above, and ICE attributes are removed (their candidates
 * would lead the phones around the relay).  Direction attributes (hold)
 * pass as they are.
 *
 * sipd never waits for mediad: media_sdp returns MEDIA_LATER and calls
 * back when the answer (or a timeout) comes; the message waits in its
 * transaction meanwhile.  The last SDP from each leg and its rewritten
 * form are kept, so a retransmitted 2xx is rewritten at once, the same way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/osip_port.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "sipd.h"

struct media_op {
	struct sipd		*sd;
	char			*call_id;
	osip_message_t		*msg;		/* the caller's: rewritten in place */
	int			 from_leg;
	struct tp_source	 toward;	/* where msg goes */
	char			*sdp;		/* msg's SDP as it came */
	uint32_t		 reqid;
	media_done_cb		 cb;
	void			*arg;
};

/* ------------------------------------------------------------ SDP */

static const char *const media_ice_attrs[] = {
	"candidate:", "ice-ufrag:", "ice-pwd:", "ice-options:", "ice-lite",
	"ice-mismatch", "remote-candidates:", "end-of-candidates", NULL
};

static int
media_is_ice(const char *attr, size_t len)
{
	int i;

	for (i = 0; media_ice_attrs[i] != NULL; i++) {
		size_t l = strlen(media_ice_attrs[i]);

		if (len >= l && strncasecmp(attr, media_ice_attrs[i], l) == 0)
			return 1;
	}
	return 0;
}

static int
media_dir_of(const char *a, size_t len)
{
	if (len == 8 && strncmp(a, "sendrecv", 8) == 0)
		return PROTO_DIR_SENDRECV;
	if (len == 8 && strncmp(a, "sendonly", 8) == 0)
		return PROTO_DIR_SENDONLY;
	if (len == 8 && strncmp(a, "recvonly", 8) == 0)
		return PROTO_DIR_RECVONLY;
	if (len == 8 && strncmp(a, "inactive", 8) == 0)
		return PROTO_DIR_INACTIVE;
	return -1;
}

/* "IN IP4 1.2.3.4" → addr; 0 or EINVAL */
static int
media_conn_addr(const char *v, size_t len, char *addr, size_t alen)
{
	char buf[128], nettype[8], atype[8], a[64];

	if (len >= sizeof(buf))
		return EINVAL;
	memcpy(buf, v, len);
	buf[len] = '\0';
	if (sscanf(buf, "%7s %7s %63s", nettype, atype, a) != 3 || strcmp(nettype, "IN") != 0 ||
	    (strcmp(atype, "IP4") != 0 && strcmp(atype, "IP6") != 0))
		return EINVAL;
	a[strcspn(a, "/")] = '\0';	/* multicast TTL */
	if (strlen(a) >= alen)
		return EINVAL;
	memcpy(addr, a, strlen(a) + 1);
	return 0;
}

/* The RTP clock rate of a static payload type (RFC 3551), 0 if unknown. */
static unsigned
media_static_clock(int pt)
{
	if (pt == 10 || pt == 11)
		return 44100;
	if (pt == 6)
		return 16000;
	if (pt == 16)
		return 11025;
	if (pt == 17)
		return 22050;
	if (pt >= 0 && pt <= 18)
		return 8000;
	if (pt >= 25 && pt <= 34)
		return 90000;
	return 0;
}

int
media_sdp_parse(const char *body, size_t blen, struct media_sdp *out)
{
	const char *p = body, *end = body + blen, *nl, *v;
	char sess_addr[64] = "";
	int sess_dir = PROTO_DIR_SENDRECV, cur = -1, i, first_pt[PROTO_STREAMS_MAX];
	int have_dir[PROTO_STREAMS_MAX], audio = -1;
	struct offer_fmt fmts[PROTO_FORMATS_MAX];
	size_t len, nfmts = 0;

	memset(out, 0, sizeof(*out));
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		len = (size_t)(nl - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len < 2 || p[1] != '=')
			continue;
		v = p + 2;
		len -= 2;
		switch (p[0]) {
		case 'm': {
			char mline[256], kind[32];
			unsigned port;

			if (out->n == PROTO_STREAMS_MAX || len >= sizeof(mline))
				return EINVAL;
			memcpy(mline, v, len);
			mline[len] = '\0';
			cur = out->n++;
			if (sscanf(mline, "%31s %u", kind, &port) != 2 || port > 65535)
				return EINVAL;
			out->s[cur].kind = strcmp(kind, "audio") == 0 ? PROTO_KIND_AUDIO :
			    strcmp(kind, "video") == 0 ? PROTO_KIND_VIDEO : PROTO_KIND_OTHER;
			out->s[cur].port = port;
			out->s[cur].rtcp_port = port ? port + 1 : 0;
			out->s[cur].dir = -1;
			have_dir[cur] = 0;
			first_pt[cur] = -1;
			{
				/* the first format: "m=audio 4000 RTP/AVP 8 0 101" */
				char proto[32];
				int pt;

				if (sscanf(mline, "%*s %*s %31s %d", proto, &pt) == 2)
					first_pt[cur] = pt;
			}
			if (audio < 0 && out->s[cur].kind == PROTO_KIND_AUDIO) {
				int off = 0;

				audio = cur;
				if (sscanf(mline, "%*s %*s %*s %n", &off) >= 0 && off > 0)
					nfmts = offer_fmts_init(mline + off, fmts,
					    PROTO_FORMATS_MAX);
			}
			break;
		}
		case 'c':
			if (cur < 0) {
				if (media_conn_addr(v, len, sess_addr, sizeof(sess_addr)) != 0)
					return EINVAL;
			} else if (media_conn_addr(v, len, out->s[cur].addr,
			    sizeof(out->s[cur].addr)) != 0)
				return EINVAL;
			break;
		case 'a': {
			int d = media_dir_of(v, len);

			if (cur == audio && cur >= 0 && nfmts > 0) {
				char line[1024];

				snprintf(line, sizeof(line), "%.*s", (int)len + 2, p);
				(void)offer_fmt_attr(line, fmts, nfmts);
			}
			if (d >= 0) {
				if (cur < 0)
					sess_dir = d;
				else {
					out->s[cur].dir = d;
					have_dir[cur] = 1;
				}
			} else if (cur >= 0 && len > 5 && strncmp(v, "rtcp:", 5) == 0) {
				unsigned rp = (unsigned)strtoul(v + 5, NULL, 10);

				if (rp > 0 && rp <= 65535)
					out->s[cur].rtcp_port = rp;
			} else if (cur >= 0 && len > 7 && strncmp(v, "rtpmap:", 7) == 0) {
				char map[128];
				int pt;
				unsigned clock;

				if (len >= sizeof(map))
					break;
				memcpy(map, v, len);
				map[len] = '\0';
				if (sscanf(map, "rtpmap:%d %*[^/]/%u", &pt, &clock) == 2 &&
				    pt == first_pt[cur])
					out->s[cur].clock = clock;
			}
			break;
		}
		default:
			break;
		}
	}
	if (out->n == 0)
		return EINVAL;
	for (i = 0; i < (int)nfmts; i++) {
		out->fmt_pt[i] = fmts[i].pt;
		snprintf(out->fmt_name[i], sizeof(out->fmt_name[i]), "%s", fmts[i].name);
		out->fmt_octet_align[i] = (uint32_t)offer_octet_align(fmts[i].fmtp);
	}
	out->nfmts = (int)nfmts;
	for (i = 0; i < out->n; i++) {
		struct media_sdp_stream *s = &out->s[i];

		if (s->addr[0] == '\0')
			snprintf(s->addr, sizeof(s->addr), "%s", sess_addr);
		if (s->addr[0] == '\0' && s->port != 0)
			return EINVAL;
		if (!have_dir[i])
			s->dir = sess_dir;
		/* RFC 2543 hold: c=0.0.0.0 */
		if (strcmp(s->addr, "0.0.0.0") == 0)
			s->dir = PROTO_DIR_INACTIVE;
		if (s->clock == 0)
			s->clock = media_static_clock(first_pt[i]);
		if (s->clock == 0)
			s->clock = s->kind == PROTO_KIND_VIDEO ? 90000 : 8000;
	}
	return 0;
}

char *
media_sdp_rewrite(const char *body, size_t blen, const char *addr, const uint32_t *ports,
    int nports, size_t *outlen)
{
	const char *p = body, *end = body + blen, *nl, *v;
	const char *atype = strchr(addr, ':') != NULL ? "IP6" : "IP4";
	size_t cap = blen + 256, n = 0, len;
	char *out = xmalloc(cap);
	int cur = -1;
	unsigned port = 0;

#define EMIT_(...)	do {							\
		int k_;							\
		for (;;) {						\
			k_ = snprintf(out + n, cap - n, __VA_ARGS__);	\
			if (k_ >= 0 && (size_t)k_ < cap - n)		\
				break;					\
			cap = cap * 2 + (size_t)(k_ > 0 ? k_ : 0);	\
			out = xrealloc(out, cap);			\
		}							\
		n += (size_t)k_;					\
	} while (0)

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		len = (size_t)(nl - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len == 0)
			continue;
		v = p + 2;
		if (len >= 2 && p[1] == '=' && p[0] == 'm') {
			const char *sp = memchr(v, ' ', len - 2), *rest;
			unsigned orig;

			cur++;
			if (sp == NULL) {
				EMIT_("%.*s\r\n", (int)len, p);
				continue;
			}
			orig = (unsigned)strtoul(sp + 1, NULL, 10);
			port = (cur < nports && orig != 0) ? ports[cur] : 0;
			rest = memchr(sp + 1, ' ', (size_t)(p + len - sp - 1));
			if (rest == NULL)
				rest = p + len;
			/* keep a "/count" after the port out: one port pair per line */
			EMIT_("%.*s %u%.*s\r\n", (int)(sp - p), p, port, (int)(p + len - rest), rest);
		} else if (len >= 2 && p[1] == '=' && p[0] == 'c') {
			EMIT_("c=IN %s %s\r\n", atype, addr);
		} else if (len >= 2 && p[1] == '=' && p[0] == 'a' && media_is_ice(v, len - 2)) {
			continue;
		} else if (len > 7 && strncmp(p, "a=rtcp:", 7) == 0 && cur >= 0) {
			if (port != 0)
				EMIT_("a=rtcp:%u\r\n", port + 1);
		} else
			EMIT_("%.*s\r\n", (int)len, p);
	}
#undef EMIT_
	*outlen = n;
	return out;
}

/* ------------------------------------------------------------ the body of a message */

/* The SDP body of m (NUL-terminated by libosip2), or NULL. */
static osip_body_t *
media_sdp_body(const osip_message_t *m)
{
	osip_body_t *b = NULL;
	const osip_content_type_t *ct = m->content_type;

	if (osip_list_size(&m->bodies) != 1 || osip_message_get_body(m, 0, &b) != 0 ||
	    b == NULL || b->body == NULL || b->length == 0)
		return NULL;
	if (ct != NULL && ct->type != NULL &&
	    !(strcasecmp(ct->type, "application") == 0 && ct->subtype != NULL &&
	    strcasecmp(ct->subtype, "sdp") == 0))
		return NULL;
	return b;
}

static void
media_set_body(osip_message_t *m, const char *sdp, size_t len)
{
	char cl[24];

	osip_list_special_free(&m->bodies, (void (*)(void *))osip_body_free);
	osip_message_set_body(m, sdp, len);
	osip_content_length_free(m->content_length);
	m->content_length = NULL;
	snprintf(cl, sizeof(cl), "%zu", len);
	osip_message_set_content_length(m, cl);
	osip_message_force_update(m);
}

/* ------------------------------------------------------------ asking mediad */

int
media_call_begin(struct sipd *sd, struct call *c)
{
	const struct node_info *ni;

	c->relay = 1;
	if ((c->node = node_pick(sd)) < 0)
		return EHOSTDOWN;
	ni = node_info(sd, c->node);
	c->node_instance = ni->instance;
	return 0;
}

static void
media_op_free(struct media_op *op)
{
	free(op->call_id);
	free(op->sdp);
	free(op);
}

static void
media_on_ports(struct sipd *sd, const struct proto_msg *m, int err, void *arg)
{
	struct media_op *op = arg;
	struct call *c = call_find(sd, op->call_id);
	const struct proto_session_ports *sp;
	const struct proto_u32v *ports;
	char host[64], *out;
	const char *addr;
	size_t outlen;
	int to_leg = 1 - op->from_leg;

	if (err == 0 && c == NULL)
		err = ECANCELED;	/* the call ended meanwhile */
	if (err == 0 && m->type != PROTO_SESSION_PORTS)
		err = EPROTO;
	if (err != 0) {
		log_warnx("media: call %s: mediad did not anchor the SDP: %s", op->call_id,
		    strerror(err));
		op->cb(sd, err, op->arg);
		media_op_free(op);
		return;
	}
	sp = &m->u.session_ports;
	ports = to_leg == 0 ? &sp->ports_a : &sp->ports_b;
	if (sp->address[0] != '\0')
		addr = sp->address;
	else if (op->toward.local.len != 0)
		addr = tp_addr_host(&op->toward.local, host, sizeof(host));
	else
		addr = sd->conf->listen[0].host;
	out = media_sdp_rewrite(op->sdp, strlen(op->sdp), addr, ports->v, (int)ports->n, &outlen);
	media_set_body(op->msg, out, outlen);
	/* kept for a retransmission of the same SDP */
	free(c->sdp_in[op->from_leg]);
	free(c->sdp_out[op->from_leg]);
	c->sdp_in[op->from_leg] = op->sdp;
	c->sdp_out[op->from_leg] = out;
	op->sdp = NULL;
	op->cb(sd, 0, op->arg);
	media_op_free(op);
}

int
media_sdp(struct sipd *sd, struct call *c, osip_message_t *m, int from_leg,
    const struct tp_source *toward, media_done_cb cb, void *arg, struct media_op **opp)
{
	struct media_sdp sdp;
	struct proto_msg pm;
	struct media_op *op;
	osip_body_t *b;
	uint32_t kinds[PROTO_STREAMS_MAX], ports[PROTO_STREAMS_MAX], rtcp[PROTO_STREAMS_MAX];
	uint32_t dirs[PROTO_STREAMS_MAX], clocks[PROTO_STREAMS_MAX];
	const char *addrs[PROTO_STREAMS_MAX], *names[PROTO_FORMATS_MAX];
	int i, err;

	*opp = NULL;
	if (c == NULL || !c->relay || (b = media_sdp_body(m)) == NULL)
		return MEDIA_NOW;
	if (c->sdp_in[from_leg] != NULL && strcmp(c->sdp_in[from_leg], b->body) == 0) {
		/* the same SDP again (a retransmission): the same answer */
		media_set_body(m, c->sdp_out[from_leg], strlen(c->sdp_out[from_leg]));
		return MEDIA_NOW;
	}
	if (media_sdp_parse(b->body, b->length, &sdp) != 0)
		return EBADMSG;
	if (c->node < 0)
		return EHOSTDOWN;
	for (i = 0; i < sdp.n; i++) {
		kinds[i] = (uint32_t)sdp.s[i].kind;
		addrs[i] = sdp.s[i].addr;
		ports[i] = sdp.s[i].port;
		rtcp[i] = sdp.s[i].rtcp_port;
		dirs[i] = (uint32_t)sdp.s[i].dir;
		clocks[i] = sdp.s[i].clock;
	}
	memset(&pm, 0, sizeof(pm));
	pm.type = PROTO_SESSION_UPDATE;
	pm.u.session_update.call = c->call_id;
	pm.u.session_update.leg = (uint32_t)from_leg;
#define LIST_(f, arr)	do { pm.u.session_update.f.n = (size_t)sdp.n; \
		pm.u.session_update.f.v = arr; } while (0)
	LIST_(kinds, kinds);
	LIST_(ports, ports);
	LIST_(rtcp_ports, rtcp);
	LIST_(dirs, dirs);
	LIST_(clocks, clocks);
	LIST_(addrs, (char **)addrs);
#undef LIST_
	for (i = 0; i < sdp.nfmts; i++)
		names[i] = sdp.fmt_name[i];
	pm.u.session_update.fmt_pts.n = (size_t)sdp.nfmts;
	pm.u.session_update.fmt_pts.v = sdp.fmt_pt;
	pm.u.session_update.fmt_names.n = (size_t)sdp.nfmts;
	pm.u.session_update.fmt_names.v = (char **)names;
	pm.u.session_update.fmt_octet_align.n = (size_t)sdp.nfmts;
	pm.u.session_update.fmt_octet_align.v = sdp.fmt_octet_align;
	op = xcalloc(1, sizeof(*op));
	op->sd = sd;
	op->call_id = xstrdup(c->call_id);
	op->msg = m;
	op->from_leg = from_leg;
	op->toward = *toward;
	op->sdp = xstrdup(b->body);
	op->cb = cb;
	op->arg = arg;
	if ((err = node_request(sd, c->node, &pm, media_on_ports, op, &op->reqid)) != 0) {
		media_op_free(op);
		return err;
	}
	c->updates_sent = 1;
	*opp = op;
	return MEDIA_LATER;
}

int
media_sdp_again(struct sipd *sd, struct call *c, osip_message_t *m, int from_leg)
{
	osip_body_t *b;

	(void)sd;
	if (c == NULL || !c->relay || (b = media_sdp_body(m)) == NULL)
		return 0;
	if (c->sdp_in[from_leg] == NULL || strcmp(c->sdp_in[from_leg], b->body) != 0)
		return ENOENT;
	media_set_body(m, c->sdp_out[from_leg], strlen(c->sdp_out[from_leg]));
	return 0;
}

void
media_op_cancel(struct sipd *sd, struct media_op *op)
{
	if (op == NULL)
		return;
	node_cancel(sd, op->reqid);
	media_op_free(op);
}

/* ------------------------------------------------------------ the end of a call */

struct media_end {
	media_end_cb	 cb;
	void		*arg;
};

static void
media_on_deleted(struct sipd *sd, const struct proto_msg *m, int err, void *arg)
{
	struct media_end *me = arg;
	struct media_totals tot;
	size_t i;

	memset(&tot, 0, sizeof(tot));
	if (err == 0 && m->type == PROTO_STATS) {
		const struct proto_stats *s = &m->u.stats;

		for (i = 0; i < s->legs.n && i < s->pkts_in.n && i < s->lost.n; i++) {
			uint32_t leg = s->legs.v[i] ? 1 : 0;

			tot.pkts[leg] += s->pkts_in.v[i];
			tot.lost[leg] += s->lost.v[i];
		}
		me->cb(sd, &tot, me->arg);
	} else
		me->cb(sd, NULL, me->arg);
	free(me);
}

int
media_call_end(struct sipd *sd, struct call *c, const char *why, media_end_cb cb, void *arg)
{
	struct proto_msg pm;
	struct media_end *me;
	int err;

	if (!c->relay || c->node < 0)
		return ENOENT;
	node_released(sd, c->node);
	if (!c->updates_sent)
		return ENOENT;
	memset(&pm, 0, sizeof(pm));
	pm.type = PROTO_SESSION_DELETE;
	pm.u.session_delete.call = c->call_id;
	pm.u.session_delete.reason = (char *)why;
	me = xcalloc(1, sizeof(*me));
	me->cb = cb;
	me->arg = arg;
	if ((err = node_request(sd, c->node, &pm, media_on_deleted, me, NULL)) != 0) {
		free(me);
		return err;
	}
	return 0;
}
