/*
 * relay.c — mediad's packet path: RTP and RTCP arrive on the sockets
 * facing one phone and leave, as received, from the sockets facing the
 * other phone of the same stream.
 *
 * Per readable socket: one recvmmsg(2) of up to RELAY_BATCH packets into
 * static buffers, the latching check and the figures per packet, then one
 * sendmmsg(2) of everything that goes on.  No allocation, no copy, no
 * decode: SSRC, sequence numbers, timestamps and payload pass untouched.
 *
 * oRTP is not on this path: an oRTP session would copy each packet into an
 * mblk_t it allocates, reorder it through its jitter buffer and rewrite
 * its header, all of which a relay must not do.  The RFC 3550 receive
 * figures it would give are computed in session.c instead.
 *
 * Latching (symmetric RTP, for phones behind NAT): until the first packet
 * comes from a phone, mediad sends to the address of its SDP; from then on
 * to the packet's source address, and packets from any other source are
 * dropped.  The latch is released when the phone's SDP names a new address
 * or port (re-INVITE, UPDATE: session.c), and may move to a new source once
 * the latched one has been silent for MEDIAD_RELATCH_MS (a NAT that
 * rebinds).  RTP and RTCP latch separately.
 *
 * A latched socket is connect(2)ed to the phone's address: the kernel then
 * drops strangers' packets itself and sends to the phone over a cached
 * route (no route lookup per packet).  It is disconnected again when the
 * latch is released, and after MEDIAD_RELATCH_MS of silence so that a new
 * source can reach the latch check.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mediad.h"

#define RELAY_BATCH	32
#define RELAY_MTU	2048	/* larger datagrams are cut: RTP on a LAN is far smaller */

struct relay {
	struct mmsghdr		 in[RELAY_BATCH], out[RELAY_BATCH];
	struct iovec		 iov_in[RELAY_BATCH], iov_out[RELAY_BATCH];
	struct sockaddr_storage	 src[RELAY_BATCH];
	uint8_t			 buf[RELAY_BATCH][RELAY_MTU];
};

static uint64_t
relay_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int
relay_addr_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return 0;
}

/*
 * Is src the phone of this socket?  Latches on the first packet, and moves
 * the latch when the latched source has been silent long enough.
 */
/* Connects the socket rs to its latched phone (or, with lat NULL, disconnects it). */
static void
relay_connect(struct relay_sock *rs, const struct sockaddr_storage *lat, socklen_t len)
{
	struct sockaddr un = { .sa_family = AF_UNSPEC };

	if (lat != NULL) {
		if (connect(rs->fd, (const struct sockaddr *)lat, len) == 0)
			rs->connected = 1;
	} else if (rs->connected) {
		(void)connect(rs->fd, &un, sizeof(un));
		rs->connected = 0;
	}
}

static int
relay_latch(struct relay_sock *rs, const struct sockaddr_storage *src, socklen_t slen,
    uint64_t now_ms)
{
	struct media_leg *l = rs->leg;
	int rtcp = rs->rtcp;
	struct sockaddr_storage *lat = rtcp ? &l->lat_rtcp : &l->lat_rtp;
	socklen_t *llen = rtcp ? &l->lat_rtcp_len : &l->lat_rtp_len;
	uint64_t *seen = rtcp ? &l->lat_rtcp_seen : &l->lat_rtp_seen;

	if (lat->ss_family != 0 && relay_addr_eq(lat, src)) {
		*seen = now_ms;
		if (!rs->connected)
			relay_connect(rs, lat, *llen);
		return 1;
	}
	if (lat->ss_family != 0 && now_ms - *seen < MEDIAD_RELATCH_MS)
		return 0;
	if (lat->ss_family != 0) {
		log_info("relay: %s leg %d: %s source moved after %llu ms of silence",
		    l->s != NULL ? l->s->call : "room", l->idx, rtcp ? "RTCP" : "RTP",
		    (unsigned long long)(now_ms - *seen));
		if (!rtcp)
			kfwd_drop(l);	/* back in once the new source is latched */
	}
	memcpy(lat, src, slen);
	*llen = slen;
	*seen = now_ms;
	relay_connect(rs, lat, slen);
	return 1;
}

void
relay_unlatch(struct media_leg *l)
{
	kfwd_drop(l);
	memset(&l->lat_rtp, 0, sizeof(l->lat_rtp));
	memset(&l->lat_rtcp, 0, sizeof(l->lat_rtcp));
	relay_connect(&l->rtp, NULL, 0);
	relay_connect(&l->rtcp, NULL, 0);
}

void
relay_idle_check(struct media_leg *l, uint64_t now_ms)
{
	/* silent long enough: let a new source reach the latch check */
	if (l->rtp.connected && now_ms - l->lat_rtp_seen >= MEDIAD_RELATCH_MS)
		relay_connect(&l->rtp, NULL, 0);
	if (l->rtcp.connected && now_ms - l->lat_rtcp_seen >= MEDIAD_RELATCH_MS)
		relay_connect(&l->rtcp, NULL, 0);
}

/* Where packets for the phone of leg l go: its latched source, else its SDP. */
static const struct sockaddr_storage *
relay_dest(const struct media_leg *l, int rtcp, socklen_t *len)
{
	if (rtcp && l->lat_rtcp.ss_family != 0) {
		*len = l->lat_rtcp_len;
		return &l->lat_rtcp;
	}
	if (!rtcp && l->lat_rtp.ss_family != 0) {
		*len = l->lat_rtp_len;
		return &l->lat_rtp;
	}
	if (l->sdp_len == 0)
		return NULL;
	*len = l->sdp_len;
	return rtcp ? &l->sdp_rtcp : &l->sdp_rtp;
}

/* Packets of a room participant: to the mixer, not on to a peer. */
static void
relay_to_room(struct relay_sock *rs, int n, uint64_t now_us)
{
	struct media_leg *l = rs->leg;
	struct relay *r = rs->md->relay;
	int i;

	for (i = 0; i < n; i++) {
		size_t len = r->in[i].msg_len;

		if (!relay_latch(rs, &r->src[i], r->in[i].msg_hdr.msg_namelen, now_us / 1000)) {
			l->dropped++;
			continue;
		}
		if (rs->rtcp) {
			l->rtcp_in++;
			session_rtcp_seen(l, r->buf[i], len);
		} else {
			session_rtp_seen(l, r->buf[i], len, now_us);
			room_rtp_in(l->part, r->buf[i], len);
		}
	}
}

int
rtp_parse(const uint8_t *pkt, size_t len, struct rtp_hdr *h)
{
	size_t off = 12;

	if (len < 12 || (pkt[0] >> 6) != 2)
		return -1;
	h->pt = pkt[1] & 0x7f;
	h->ts = (uint32_t)pkt[4] << 24 | (uint32_t)pkt[5] << 16 | (uint32_t)pkt[6] << 8 | pkt[7];
	h->ssrc = (uint32_t)pkt[8] << 24 | (uint32_t)pkt[9] << 16 | (uint32_t)pkt[10] << 8 |
	    pkt[11];
	off += (size_t)(pkt[0] & 0x0f) * 4;			/* CSRCs */
	if ((pkt[0] & 0x10) && off + 4 <= len)			/* header extension */
		off += 4 + (size_t)(pkt[off + 2] << 8 | pkt[off + 3]) * 4;
	if (off >= len)
		return -1;
	if (pkt[0] & 0x20) {	/* padding: its count is the last byte */
		if (pkt[len - 1] == 0 || pkt[len - 1] > len - off)
			return -1;	/* more padding than payload */
		len -= pkt[len - 1];
		if (off >= len)
			return -1;
	}
	h->pl = pkt + off;
	h->len = len - off;
	return 0;
}

void
relay_send_rtp(struct media_leg *l, const uint8_t *pkt, size_t len)
{
	const struct sockaddr_storage *dst;
	socklen_t dlen = 0;
	ssize_t n;

	if ((dst = relay_dest(l, 0, &dlen)) == NULL) {
		l->dropped++;
		return;
	}
	if (l->rtp.connected && dst == &l->lat_rtp) {
		dst = NULL;	/* the socket is connected to exactly there */
		dlen = 0;
	}
	n = sendto(l->rtp.fd, pkt, len, MSG_DONTWAIT, (const struct sockaddr *)dst, dlen);
	if (n < 0 && errno == ECONNREFUSED)	/* an ICMP for an earlier packet: once more */
		n = sendto(l->rtp.fd, pkt, len, MSG_DONTWAIT, (const struct sockaddr *)dst, dlen);
	if (n < 0) {
		l->dropped++;
		return;
	}
	l->pkts_out++;
	l->bytes_out += len;
}

static void
relay_on_sock(int fd, uint32_t events, void *arg)
{
	struct relay_sock *rs = arg;
	struct media_leg *l = rs->leg, *peer = l->peer;
	struct relay *r = rs->md->relay;
	const struct sockaddr_storage *dst;
	struct relay_sock *out;
	socklen_t dlen = 0;
	uint64_t now_us, now_ms;
	int n, i, k = 0, sent, to_connected = 0;

	(void)events;
	for (i = 0; i < RELAY_BATCH; i++)
		r->in[i].msg_hdr.msg_namelen = sizeof(r->src[i]);
	n = recvmmsg(fd, r->in, RELAY_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0) {
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNREFUSED)
			log_warn("relay: %s: receive", l->s != NULL ? l->s->call : "room");
		return;
	}
	now_us = relay_now_us();
	now_ms = now_us / 1000;
	if (l->part != NULL) {
		relay_to_room(rs, n, now_us);
		return;
	}
	out = rs->rtcp ? &peer->rtcp : &peer->rtp;
	dst = relay_dest(peer, rs->rtcp, &dlen);
	if (dst != NULL && out->connected && dst == (rs->rtcp ? &peer->lat_rtcp : &peer->lat_rtp)) {
		/* the socket toward the peer is connected to exactly there */
		dst = NULL;
		to_connected = 1;
	}
	for (i = 0; i < n; i++) {
		size_t len = r->in[i].msg_len;

		if (!relay_latch(rs, &r->src[i], r->in[i].msg_hdr.msg_namelen, now_ms)) {
			l->dropped++;
			continue;
		}
		if (rs->rtcp) {
			l->rtcp_in++;
			session_rtcp_seen(l, r->buf[i], len);
		} else {
			session_rtp_seen(l, r->buf[i], len, now_us);
			if (l->s->tap != NULL)
				tap_rtp_in(l, r->buf[i], len);	/* a copy for the recording */
		}
		if (dst == NULL && !to_connected) {
			l->dropped++;	/* the other phone's SDP is not known yet */
			continue;
		}
		r->iov_out[k].iov_base = r->buf[i];
		r->iov_out[k].iov_len = len;
		r->out[k].msg_hdr.msg_name = (void *)dst;
		r->out[k].msg_hdr.msg_namelen = dst != NULL ? dlen : 0;
		k++;
		if (!rs->rtcp) {
			peer->pkts_out++;
			peer->bytes_out += len;
		}
	}
	if (!rs->rtcp && !l->kfwd && l->lat_rtp.ss_family != 0 && peer->lat_rtp.ss_family != 0)
		kfwd_consider(l);	/* both phones latched: the kernel takes it from here */
	if (k == 0)
		return;
	for (i = 0; i < k; i += sent) {
		sent = sendmmsg(out->fd, r->out + i, (unsigned)(k - i), MSG_DONTWAIT);
		if (sent <= 0 && errno == ECONNREFUSED)	/* an ICMP for an earlier packet: once more */
			sent = sendmmsg(out->fd, r->out + i, (unsigned)(k - i), MSG_DONTWAIT);
		if (sent <= 0) {
			/* EAGAIN: the socket buffer is full; lost, as on the wire */
			if (errno != ECONNREFUSED && errno != EAGAIN)
				log_debug("relay: call %s: send: %s", l->s->call, strerror(errno));
			peer->dropped++;
			sent = 1;
		}
	}
}

int
relay_add(struct mediad *md, struct media_leg *l)
{
	int err;

	l->rtp.md = l->rtcp.md = md;
	l->rtp.leg = l->rtcp.leg = l;
	l->rtp.connected = l->rtcp.connected = 0;
	l->rtp.rtcp = 0;
	l->rtcp.rtcp = 1;
	if ((err = loop_fd_add(md->loop, l->rtp.fd, EPOLLIN, relay_on_sock, &l->rtp)) != 0)
		return err;
	if ((err = loop_fd_add(md->loop, l->rtcp.fd, EPOLLIN, relay_on_sock, &l->rtcp)) != 0) {
		loop_fd_del(md->loop, l->rtp.fd);
		return err;
	}
	return 0;
}

void
relay_del(struct mediad *md, struct media_leg *l)
{
	loop_fd_del(md->loop, l->rtp.fd);
	loop_fd_del(md->loop, l->rtcp.fd);
}

int
relay_init(struct mediad *md)
{
	struct relay *r = xcalloc(1, sizeof(*r));
	int i;

	for (i = 0; i < RELAY_BATCH; i++) {
		r->iov_in[i].iov_base = r->buf[i];
		r->iov_in[i].iov_len = RELAY_MTU;
		r->in[i].msg_hdr.msg_iov = &r->iov_in[i];
		r->in[i].msg_hdr.msg_iovlen = 1;
		r->in[i].msg_hdr.msg_name = &r->src[i];
		r->out[i].msg_hdr.msg_iov = &r->iov_out[i];
		r->out[i].msg_hdr.msg_iovlen = 1;
	}
	md->relay = r;
	return 0;
}

void
relay_shutdown(struct mediad *md)
{
	free(md->relay);
	md->relay = NULL;
}
