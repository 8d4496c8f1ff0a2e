/*
 * session.c — mediad's media sessions: one per call (named by its
 * Call-ID), one stream per m= line, two legs per stream (0 the caller's
 * side, 1 the callee's), each leg with mediad's own RTP/RTCP port pair.
 *
 * sipd sends each leg's SDP as it passes (SESSION_UPDATE); the first one
 * creates the session, a new m= line gets its two port pairs, a leg whose
 * address or port changed loses its latch (see relay.c).  Ports are freed
 * when the session is deleted.
 *
 * Figures per leg (RFC 3550): packets and bytes both ways, loss from the
 * extended highest sequence number against packets received (A.1, A.3),
 * interarrival jitter (A.8), and what the phone itself reports in RTCP.
 *
 * A session whose sipd has not said HELLO for MEDIAD_ORPHAN_MS (it stopped
 * or restarted and forgot its calls) is freed, so its ports come back.
 *
 * RTP timeout: once both legs have SDP, a session that gets no RTP for
 * media.rtp_timeout seconds is reported to its sipd (SESSION_TIMEOUT),
 * again every rtp_timeout while it lasts; never while any stream is on
 * hold (a leg's direction other than sendrecv) — hold resets the clock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mediad.h"

#define SESSION_TICK_MS	1000

struct session_table {
	struct session		**buckets;
	size_t			  nbuckets, count;
	struct session		 *head;
	struct loop_timer	  t_tick;
	uint32_t		  ports_a[PROTO_STREAMS_MAX], ports_b[PROTO_STREAMS_MAX];
};

static uint32_t
session_hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	while (*s != '\0')
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

struct session *
session_find(struct mediad *md, const char *call)
{
	struct session_table *t = md->sessions;
	struct session *s;

	for (s = t->buckets[session_hash(call) & (t->nbuckets - 1)]; s != NULL; s = s->hnext)
		if (strcmp(s->call, call) == 0)
			return s;
	return NULL;
}

static void
session_grow(struct session_table *t)
{
	size_t n = t->nbuckets * 2, i, k;
	struct session **b = xcalloc(n, sizeof(*b)), *x, *next;

	for (i = 0; i < t->nbuckets; i++)
		for (x = t->buckets[i]; x != NULL; x = next) {
			next = x->hnext;
			k = session_hash(x->call) & (n - 1);
			x->hnext = b[k];
			b[k] = x;
		}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

static struct session *
session_new(struct mediad *md, const char *call)
{
	struct session_table *t = md->sessions;
	struct session *s = xcalloc(1, sizeof(*s));
	size_t k;

	s->call = xstrdup(call);
	if (t->count >= t->nbuckets)
		session_grow(t);
	k = session_hash(call) & (t->nbuckets - 1);
	s->hnext = t->buckets[k];
	t->buckets[k] = s;
	s->lnext = t->head;
	if (t->head != NULL)
		t->head->lprev = s;
	t->head = s;
	t->count++;
	s->last_rtp = loop_now(md->loop);
	s->created = s->last_rtp;
	return s;
}

static void
session_free_stream(struct mediad *md, struct media_stream *st)
{
	int i;

	if (!st->used)
		return;
	kfwd_drop(&st->leg[0]);		/* out of the kernel, figures folded in */
	for (i = 0; i < 2; i++) {
		relay_del(md, &st->leg[i]);
		ports_put(md->ports, st->leg[i].rtp.fd, st->leg[i].rtcp.fd, st->leg[i].port);
	}
	st->used = 0;
}

void
session_delete(struct mediad *md, struct session *s, const char *reason)
{
	struct session_table *t = md->sessions;
	struct session **pp;
	int i;

	tap_stop(md, s, reason);
	for (i = 0; i < s->nst; i++)
		session_free_stream(md, &s->st[i]);
	for (pp = &t->buckets[session_hash(s->call) & (t->nbuckets - 1)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	if (s->lprev != NULL)
		s->lprev->lnext = s->lnext;
	else
		t->head = s->lnext;
	if (s->lnext != NULL)
		s->lnext->lprev = s->lprev;
	t->count--;
	free(s->fmts[0]);
	free(s->fmts[1]);
	free(s->call);
	free(s);
}

size_t
session_drop_owner(struct mediad *md, const void *owner, size_t len)
{
	struct session *s, *next;
	size_t n = 0;

	for (s = md->sessions->head; s != NULL; s = next) {
		next = s->lnext;
		if (s->owner_len == len && memcmp(s->owner, owner, len) == 0) {
			session_delete(md, s, "sipd lost");
			n++;
		}
	}
	return n;
}

size_t
session_count(struct mediad *md)
{
	return md->sessions->count;
}

/* Takes the two port pairs of a new stream; 0 or ENOSPC (nothing taken). */
static int
session_open_stream(struct mediad *md, struct session *s, struct media_stream *st)
{
	int i, err;

	for (i = 0; i < 2; i++) {
		struct media_leg *l = &st->leg[i];

		memset(l, 0, sizeof(*l));
		l->s = s;
		l->last_rtp = &s->last_rtp;
		l->idx = i;
		l->peer = &st->leg[1 - i];
		l->clock = 8000;
		if ((err = ports_get(md->ports, &l->rtp.fd, &l->rtcp.fd, &l->port)) != 0 ||
		    (err = relay_add(md, l)) != 0) {
			if (err != ENOSPC)	/* got the ports, the loop refused them */
				ports_put(md->ports, l->rtp.fd, l->rtcp.fd, l->port);
			if (i == 1) {
				relay_del(md, &st->leg[0]);
				ports_put(md->ports, st->leg[0].rtp.fd, st->leg[0].rtcp.fd,
				    st->leg[0].port);
			}
			return err == ENOSPC ? ENOSPC : err;
		}
	}
	st->used = 1;
	return 0;
}

int
session_sockaddr(const char *addr, uint32_t port, int family, struct sockaddr_storage *out,
    socklen_t *len)
{
	memset(out, 0, sizeof(*out));
	if (port > 65535)
		return EINVAL;
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)out;

		if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
			return EINVAL;
		if (s4->sin_addr.s_addr == INADDR_ANY) {
			*len = 0;
			return 0;
		}
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;

		if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
			return EINVAL;
		if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr)) {
			*len = 0;
			return 0;
		}
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
	}
	return 0;
}

static int
session_on_hold(const struct session *s)
{
	int i, j;

	for (i = 0; i < s->nst; i++)
		for (j = 0; j < 2; j++)
			if (s->st[i].used && s->st[i].leg[j].dir != PROTO_DIR_SENDRECV)
				return 1;
	return 0;
}

int
session_update(struct mediad *md, const struct proto_session_update *u, const void *owner,
    size_t owner_len, const uint32_t **ports_a, const uint32_t **ports_b, size_t *np)
{
	struct session_table *t = md->sessions;
	struct session *s;
	size_t n = u->kinds.n, i;
	int created = 0, family = ports_family(md->ports), held, err;
	struct sockaddr_storage rtp[PROTO_STREAMS_MAX], rtcp[PROTO_STREAMS_MAX];
	socklen_t len[PROTO_STREAMS_MAX], l2;

	if (u->addrs.n != n || u->ports.n != n || u->rtcp_ports.n != n || u->dirs.n != n ||
	    u->clocks.n != n || owner_len > sizeof(s->owner))
		return EINVAL;
	for (i = 0; i < n; i++) {
		if (u->dirs.v[i] > PROTO_DIR_INACTIVE)
			return EINVAL;
		/* the phone's address must be of the family mediad relays on */
		if (session_sockaddr(u->addrs.v[i], u->ports.v[i], family, &rtp[i], &len[i]) != 0 ||
		    session_sockaddr(u->addrs.v[i], u->rtcp_ports.v[i], family, &rtcp[i], &l2) != 0)
			return EINVAL;
		if (u->ports.v[i] == 0)
			len[i] = 0;
	}
	if ((s = session_find(md, u->call)) == NULL) {
		s = session_new(md, u->call);
		created = 1;
	}
	memcpy(s->owner, owner, owner_len);
	s->owner_len = owner_len;
	held = session_on_hold(s);

	/* new m= lines first, so that running out of ports changes nothing */
	for (i = 0; i < n; i++) {
		if ((int)i < s->nst && s->st[i].used)
			continue;
		if (u->ports.v[i] == 0)
			continue;	/* refused by this side: no relay until offered */
		if ((err = session_open_stream(md, s, &s->st[i])) != 0) {
			size_t j;

			for (j = 0; j < i; j++)
				if ((int)j >= s->nst)
					session_free_stream(md, &s->st[j]);
			if (created)
				session_delete(md, s, "");
			return err;
		}
		s->st[i].kind = (int)u->kinds.v[i];
	}
	if ((int)n > s->nst)
		s->nst = (int)n;

	for (i = 0; i < n; i++) {
		struct media_stream *st = &s->st[i];
		struct media_leg *l = &st->leg[u->leg];

		t->ports_a[i] = st->used ? st->leg[0].port : 0;
		t->ports_b[i] = st->used ? st->leg[1].port : 0;
		if (!st->used)
			continue;
		st->kind = (int)u->kinds.v[i];
		if (len[i] == 0 || l->sdp_len != len[i] ||
		    memcmp(&l->sdp_rtp, &rtp[i], len[i]) != 0) {
			/* a new address or port for this phone: latch again */
			if (l->sdp_len != 0 || l->lat_rtp.ss_family != 0)
				log_debug("session %s: leg %d stream %zu: new address, latch released",
				    s->call, l->idx, i);
			relay_unlatch(l);
		}
		l->sdp_rtp = rtp[i];
		l->sdp_rtcp = rtcp[i];
		l->sdp_len = len[i];
		l->dir = (int)u->dirs.v[i];
		if (l->clock != (u->clocks.v[i] ? u->clocks.v[i] : 8000))
			kfwd_drop(l);	/* the kernel's jitter uses the clock: back in with the new one */
		l->clock = u->clocks.v[i] ? u->clocks.v[i] : 8000;
		if (u->ports.v[i] == 0) {
			/* this side refuses the stream now: nothing goes to it */
			l->sdp_len = 0;
		}
	}
	if (!s->have_leg[u->leg] || (held && !session_on_hold(s)))
		s->last_rtp = loop_now(md->loop);	/* the timeout counts from the answer or resume */
	s->have_leg[u->leg] = 1;
	tap_fmts_set(s, (int)u->leg, u);
	*ports_a = t->ports_a;
	*ports_b = t->ports_b;
	*np = n;
	return 0;
}

/* ------------------------------------------------------------ figures */

void
session_rtp_seen(struct media_leg *l, const uint8_t *p, size_t len, uint64_t now_us)
{
	struct rtp_rx *rx = &l->rx;
	uint16_t seq, delta;
	uint32_t ssrc, ts;
	int64_t arrival, transit, d;

	l->pkts_in++;
	l->bytes_in += len;
	*l->last_rtp = now_us / 1000;
	if (len < 12 || (p[0] >> 6) != 2)
		return;		/* not RTP: relayed, not analysed */
	seq = (uint16_t)(p[2] << 8 | p[3]);
	ts = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	ssrc = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
	if ((p[1] & 0x7f) >= 72 && (p[1] & 0x7f) <= 76)
		return;		/* RTCP on the RTP port (rtcp-mux): relayed as is */
	if (!rx->init || ssrc != rx->ssrc) {
		/* a new source (first packet, or the phone restarted its stream) */
		memset(rx, 0, sizeof(*rx));
		rx->init = 1;
		rx->ssrc = ssrc;
		rx->base_seq = seq;
		rx->max_seq = seq;
		rx->received = 1;
		rx->last_transit = (int64_t)(now_us * l->clock / 1000000u) - ts;
		return;
	}
	rx->received++;
	if (l->kfwd > 0)
		l->k_urx++;	/* the kernel's copy of rx lacks it (kfwd_sync) */
	delta = (uint16_t)(seq - rx->max_seq);
	if (delta < 0x8000) {
		if (seq < rx->max_seq)
			rx->cycles += 65536;
		rx->max_seq = seq;
	}
	/* RFC 3550 A.8 */
	arrival = (int64_t)(now_us * l->clock / 1000000u);
	transit = arrival - ts;
	d = transit - rx->last_transit;
	rx->last_transit = transit;
	if (d < 0)
		d = -d;
	if (d < (int64_t)l->clock * 10)	/* ignore timestamp jumps (silence, marker) */
		rx->jitter16 += (uint64_t)d - ((rx->jitter16 + 8) >> 4);
}

void
session_rtcp_seen(struct media_leg *l, const uint8_t *p, size_t len)
{
	size_t off = 0;

	/* walk the compound packet; the first report block of an SR or RR */
	while (off + 8 <= len) {
		const uint8_t *h = p + off;
		size_t plen = ((size_t)(h[2] << 8 | h[3]) + 1) * 4;
		unsigned rc = h[0] & 0x1f, pt = h[1];
		size_t rb = pt == 200 ? 28 : pt == 201 ? 8 : 0;

		if ((h[0] >> 6) != 2 || plen > len - off)
			return;
		if (rb != 0 && rc > 0 && rb + 24 <= plen) {
			const uint8_t *b = h + rb;

			l->rr_lost = (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
			if (l->rr_lost & 0x800000)
				l->rr_lost = 0;	/* negative (duplicates): none lost */
			l->rr_jitter = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
			    (uint32_t)b[14] << 8 | b[15];
		}
		off += plen;
	}
}

static uint64_t
session_lost(const struct rtp_rx *rx)
{
	uint64_t expected;

	if (!rx->init)
		return 0;
	expected = (uint64_t)rx->cycles + rx->max_seq - rx->base_seq + 1;
	return expected > rx->received ? expected - rx->received : 0;
}

static const char *
session_addr_str(const struct sockaddr_storage *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)a;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	} else if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)a;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else
		buf[0] = '\0';
	return buf;
}

static void
session_rows_add(struct session_rows *r, const struct session *s, int stream,
    const struct media_leg *l)
{
	char lat[80];
	uint32_t clock = l->clock ? l->clock : 8000;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
#define GROW_(f)	r->f = xrealloc(r->f, r->cap * sizeof(*r->f))
		GROW_(calls); GROW_(latched); GROW_(streams); GROW_(legs); GROW_(kinds);
		GROW_(jitter_us); GROW_(rr_lost); GROW_(rr_jitter_us); GROW_(pkts_in);
		GROW_(bytes_in); GROW_(pkts_out); GROW_(bytes_out); GROW_(lost); GROW_(kernel);
#undef GROW_
	}
	r->calls[r->n] = xstrdup(s->call);
	r->latched[r->n] = xstrdup(session_addr_str(&l->lat_rtp, lat, sizeof(lat)));
	r->streams[r->n] = (uint32_t)stream;
	r->legs[r->n] = (uint32_t)l->idx;
	r->kinds[r->n] = (uint32_t)s->st[stream].kind;
	r->jitter_us[r->n] = (uint32_t)((l->rx.jitter16 >> 4) * 1000000u / clock);
	r->rr_lost[r->n] = l->rr_lost;
	r->rr_jitter_us[r->n] = (uint32_t)((uint64_t)l->rr_jitter * 1000000u / clock);
	r->pkts_in[r->n] = l->pkts_in;
	r->bytes_in[r->n] = l->bytes_in;
	r->pkts_out[r->n] = l->pkts_out;
	r->bytes_out[r->n] = l->bytes_out;
	r->lost[r->n] = session_lost(&l->rx);
	r->kernel[r->n] = (uint32_t)(l->kfwd > 0);
	r->n++;
}

void
session_stats(struct mediad *md, struct session *s, struct session_rows *r)
{
	struct session *x;
	int i, j;

	for (x = s != NULL ? s : md->sessions->head; x != NULL; x = s != NULL ? NULL : x->lnext)
		for (i = 0; i < x->nst; i++)
			if (x->st[i].used) {
				for (j = 0; j < 2; j++)
					kfwd_sync(&x->st[i].leg[j]);	/* each adds to its peer */
				for (j = 0; j < 2; j++)
					session_rows_add(r, x, i, &x->st[i].leg[j]);
			}
}

void
session_rows_free(struct session_rows *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->calls[i]);
		free(r->latched[i]);
	}
	free(r->calls); free(r->latched); free(r->streams); free(r->legs); free(r->kinds);
	free(r->jitter_us); free(r->rr_lost); free(r->rr_jitter_us); free(r->pkts_in);
	free(r->bytes_in); free(r->pkts_out); free(r->bytes_out); free(r->lost); free(r->kernel);
	memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------ timeouts */

static void
session_tick(void *arg)
{
	struct mediad *md = arg;
	struct session *s, *next;
	uint64_t now = loop_now(md->loop), limit = (uint64_t)md->conf->rtp_timeout * 1000;
	int i;

	loop_timer_start(md->loop, &md->sessions->t_tick, SESSION_TICK_MS);
	kfwd_beat(md);
	for (s = md->sessions->head; s != NULL; s = next) {
		next = s->lnext;
		/* its sipd stopped (or restarted): nobody will delete it */
		if (now - s->created > MEDIAD_ORPHAN_MS &&
		    !ctl_peer_alive(md, s->owner, s->owner_len, MEDIAD_ORPHAN_MS)) {
			log_info("session %s: its sipd is gone: freed", s->call);
			session_delete(md, s, "sipd lost");
			continue;
		}
		for (i = 0; i < s->nst; i++)
			if (s->st[i].used) {
				kfwd_sync(&s->st[i].leg[0]);	/* what the kernel forwarded */
				kfwd_sync(&s->st[i].leg[1]);
				relay_idle_check(&s->st[i].leg[0], now);
				relay_idle_check(&s->st[i].leg[1], now);
			}
		if (limit == 0)
			continue;	/* rtp_timeout = 0: never */
		if (!s->have_leg[0] || !s->have_leg[1])
			continue;	/* not answered yet: nothing flows before */
		if (session_on_hold(s)) {
			s->last_rtp = now;
			continue;
		}
		if (now - s->last_rtp < limit || now - s->last_timeout < limit)
			continue;
		s->last_timeout = now;
		log_info("session %s: no RTP for %llu ms", s->call,
		    (unsigned long long)(now - s->last_rtp));
		ctl_send_timeout(md, s->owner, s->owner_len, s->call, (uint32_t)(now - s->last_rtp));
	}
}

int
session_init(struct mediad *md)
{
	struct session_table *t = xcalloc(1, sizeof(*t));

	t->nbuckets = 256;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	loop_timer_init(&t->t_tick, session_tick, md);
	md->sessions = t;
	loop_timer_start(md->loop, &t->t_tick, SESSION_TICK_MS);
	return 0;
}

void
session_shutdown(struct mediad *md)
{
	struct session_table *t = md->sessions;

	if (t == NULL)
		return;
	while (t->head != NULL)
		session_delete(md, t->head, "mediad stopped");
	loop_timer_stop(md->loop, &t->t_tick);
	free(t->buckets);
	free(t);
	md->sessions = NULL;
}
