/*
 * transport.c — sipd's SIP transports: UDP sockets and TCP listeners on
 * every sip.listen address, TCP connections with stream framing, and
 * sending.  It knows nothing of SIP beyond framing: whole messages go up
 * to msg_received(), whole buffers come down through tp_send().
 *
 * UDP: datagrams are read in batches with recvmmsg; on a wildcard socket
 * IP_PKTINFO / IPV6_RECVPKTINFO tell which local address a datagram came
 * to, which sipd then uses in its Via and Record-Route.
 *
 * TCP: each connection has an id (never reused) so transactions and
 * registrations can name "the connection this came on" without holding a
 * pointer.  Framing follows RFC 3261 18.3 (Content-Length is mandatory on
 * streams); CRLF keep-alive pings ("\r\n\r\n") are answered with a pong
 * ("\r\n", RFC 5626 4.4.1).  A connection that breaks framing or idles
 * longer than tp_idle_ms() is closed.  Sends never block: what the kernel does not
 * take waits in the connection's output buffer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "sipd.h"

#define TP_UDP_BATCH	32
#define TP_TCP_MAX	4096			/* connections at once */
#define TP_TCP_OUTMAX	(1024 * 1024)		/* queued bytes before we give up */

struct tp_udp {
	int		fd;
	struct tp_addr	local;
	int		wildcard;
};

struct tp_listener {
	int		fd;
	struct tp_addr	local;
};

struct tp_conn {
	uint64_t		 id;
	int			 fd;
	struct tp_addr		 peer, local;
	char			*in;
	size_t			 inlen, incap;
	char			*out;
	size_t			 outlen, outcap;
	int			 connecting;
	struct loop_timer	 t_idle;
	struct tp		*tp;
	struct tp_conn		*idnext;	/* hash by id */
};

struct tp {
	struct sipd		 *sd;
	struct tp_udp		 *udp;
	size_t			  nudp;
	struct tp_listener	 *tcp;
	size_t			  ntcp;
	struct tp_conn		**conns;	/* hash by id, TP_CONN_BUCKETS */
	size_t			  nconns;
	uint64_t		  next_id;
	struct tp_addr		 *locals;	/* every local address, for tp_is_local */
	size_t			  nlocals;
	/* UDP receive batch */
	struct mmsghdr		  mm[TP_UDP_BATCH];
	struct iovec		  iov[TP_UDP_BATCH];
	struct sockaddr_storage	  from[TP_UDP_BATCH];
	char			  ctrl[TP_UDP_BATCH][64];
	char			 *rxbuf;	/* TP_UDP_BATCH * (SIPD_MSG_MAX + 1) */
};

#define TP_CONN_BUCKETS 1024

static void tp_conn_close(struct tp *tp, struct tp_conn *c);

/*
 * How long a TCP connection may stay silent: longer than the longest
 * registration, plus a transaction's lifetime, since a phone registered
 * over TCP is reached over its own connection and may say nothing until
 * it refreshes.
 */
static uint64_t
tp_idle_ms(const struct tp *tp)
{
	return (uint64_t)tp->sd->conf->max_expires * 1000 + 64 * SIPD_T1;
}

/* ------------------------------------------------------------ addresses */

const char *
tp_addr_host(const struct tp_addr *a, char *buf, size_t len)
{
	const void *src;

	if (a->ss.ss_family == AF_INET6)
		src = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
	else if (a->ss.ss_family == AF_INET)
		src = &((const struct sockaddr_in *)&a->ss)->sin_addr;
	else {
		snprintf(buf, len, "?");
		return buf;
	}
	if (inet_ntop(a->ss.ss_family, src, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

int
tp_addr_port(const struct tp_addr *a)
{
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	return 0;
}

static void
tp_addr_set_port(struct tp_addr *a, int port)
{
	if (a->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a->ss)->sin6_port = htons((uint16_t)port);
	else if (a->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&a->ss)->sin_port = htons((uint16_t)port);
}

static int
tp_addr_host_equal(const struct tp_addr *a, const struct tp_addr *b)
{
	if (a->ss.ss_family != b->ss.ss_family)
		return 0;
	if (a->ss.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)&b->ss)->sin_addr.s_addr;
	if (a->ss.ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr,
		    &((const struct sockaddr_in6 *)&b->ss)->sin6_addr,
		    sizeof(struct in6_addr)) == 0;
	return 0;
}

int
tp_addr_equal(const struct tp_addr *a, const struct tp_addr *b)
{
	return tp_addr_host_equal(a, b) && tp_addr_port(a) == tp_addr_port(b);
}

static int
tp_addr_parse(const char *host, int port, struct tp_addr *out)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->ss;
	char h[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(host);

	memset(out, 0, sizeof(*out));
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		if (n - 2 >= sizeof(h))
			return EINVAL;
		memcpy(h, host + 1, n - 2);
		h[n - 2] = '\0';
		host = h;
	}
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		out->len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*s6);
		return 0;
	}
	return EINVAL;
}

const char *
tp_addr_str(const struct tp_addr *a, char *buf, size_t len)
{
	char h[INET6_ADDRSTRLEN];

	tp_addr_host(a, h, sizeof(h));
	snprintf(buf, len, a->ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", h, tp_addr_port(a));
	return buf;
}

const char *
tp_source_str(const struct tp_source *s, char *buf, size_t len)
{
	char h[INET6_ADDRSTRLEN];

	tp_addr_host(&s->peer, h, sizeof(h));
	snprintf(buf, len, s->peer.ss.ss_family == AF_INET6 ? "%s:[%s]:%d" : "%s:%s:%d",
	    s->proto == TP_TCP ? "tcp" : "udp", h, tp_addr_port(&s->peer));
	return buf;
}

static int
tp_is_any(const struct tp_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (a->ss.ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
	return 0;
}

int
tp_is_local(struct sipd *sd, const char *host, int port)
{
	struct tp *tp = sd->tp;
	struct tp_addr a;
	size_t i;
	int port_ok = 0;

	/* our domain is us whatever the port; an address without a port too */
	if (strcasecmp(host, sd->conf->domain) == 0)
		return 1;
	if (port == 0)
		port_ok = 1;
	for (i = 0; i < tp->nudp; i++)
		if (tp_addr_port(&tp->udp[i].local) == port)
			port_ok = 1;
	for (i = 0; i < tp->ntcp; i++)
		if (tp_addr_port(&tp->tcp[i].local) == port)
			port_ok = 1;
	if (!port_ok)
		return 0;
	if (tp_addr_parse(host, port, &a) != 0)
		return 0;
	for (i = 0; i < tp->nlocals; i++)
		if (tp_addr_host_equal(&tp->locals[i], &a))
			return 1;
	return 0;
}

int
tp_resolve(struct sipd *sd, const char *host, int port, enum tp_proto proto,
    struct tp_source *dst)
{
	struct tp *tp = sd->tp;
	size_t i;
	int err;

	memset(dst, 0, sizeof(*dst));
	dst->proto = proto;
	dst->sock = -1;
	if ((err = tp_addr_parse(host, port ? port : 5060, &dst->peer)) != 0)
		return EHOSTUNREACH;	/* names are not resolved: never block */
	/* pick the UDP socket of the same family, for the local address */
	for (i = 0; i < tp->nudp; i++)
		if (tp->udp[i].local.ss.ss_family == dst->peer.ss.ss_family) {
			dst->sock = (int)i;
			dst->local = tp->udp[i].local;
			break;
		}
	if (dst->local.len == 0 || tp_is_any(&dst->local)) {
		/* ask the kernel which source address it would use */
		int fd = socket(dst->peer.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct tp_addr l;

		l.len = sizeof(l.ss);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&dst->peer.ss, dst->peer.len) == 0 &&
		    getsockname(fd, (struct sockaddr *)&l.ss, &l.len) == 0) {
			int lport = dst->local.len ? tp_addr_port(&dst->local) : 5060;

			dst->local = l;
			tp_addr_set_port(&dst->local, lport);
		}
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

/* ------------------------------------------------------------ sockets */

/* Reads UDP datagrams in batches; the socket index is found by fd. */
static void
tp_udp_cb(int fd, uint32_t events, void *arg)
{
	struct tp *tp = arg;
	struct sipd *sd = tp->sd;
	size_t idx;
	int n, i, rounds;

	for (idx = 0; idx < tp->nudp; idx++)
		if (tp->udp[idx].fd == fd)
			break;
	if (idx == tp->nudp)
		return;

	for (rounds = 0; rounds < 8; rounds++) {
		for (i = 0; i < TP_UDP_BATCH; i++) {
			tp->iov[i].iov_base = tp->rxbuf + (size_t)i * (SIPD_MSG_MAX + 1);
			tp->iov[i].iov_len = SIPD_MSG_MAX;
			memset(&tp->mm[i].msg_hdr, 0, sizeof(tp->mm[i].msg_hdr));
			tp->mm[i].msg_hdr.msg_name = &tp->from[i];
			tp->mm[i].msg_hdr.msg_namelen = sizeof(tp->from[i]);
			tp->mm[i].msg_hdr.msg_iov = &tp->iov[i];
			tp->mm[i].msg_hdr.msg_iovlen = 1;
			tp->mm[i].msg_hdr.msg_control = tp->ctrl[i];
			tp->mm[i].msg_hdr.msg_controllen = sizeof(tp->ctrl[i]);
		}
		n = recvmmsg(fd, tp->mm, TP_UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("transport: udp recv");
			return;
		}
		for (i = 0; i < n; i++) {
			struct tp_source src;
			struct msghdr *h = &tp->mm[i].msg_hdr;
			char *buf = tp->iov[i].iov_base;
			size_t len = tp->mm[i].msg_len;

			memset(&src, 0, sizeof(src));
			src.proto = TP_UDP;
			src.sock = (int)idx;
			memcpy(&src.peer.ss, &tp->from[i], h->msg_namelen);
			src.peer.len = h->msg_namelen;
			src.local = tp->udp[idx].local;
			if (tp->udp[idx].wildcard) {
				struct cmsghdr *cm;

				for (cm = CMSG_FIRSTHDR(h); cm != NULL; cm = CMSG_NXTHDR(h, cm)) {
					if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
						struct in_pktinfo pi;

						memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
						((struct sockaddr_in *)&src.local.ss)->sin_addr = pi.ipi_addr;
					} else if (cm->cmsg_level == IPPROTO_IPV6 &&
					    cm->cmsg_type == IPV6_PKTINFO) {
						struct in6_pktinfo pi;

						memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
						((struct sockaddr_in6 *)&src.local.ss)->sin6_addr = pi.ipi6_addr;
					}
				}
			}
			if (h->msg_flags & MSG_TRUNC) {
				sd->stats.dropped++;
				continue;
			}
			buf[len] = '\0';
			msg_received(sd, buf, len, &src);
		}
		if (n < TP_UDP_BATCH)
			return;
	}
}

static int
tp_bind(const struct conf_listen *l, int type, struct tp_addr *local, int *fdp)
{
	int fd = -1, one = 1, err;

	if ((err = tp_addr_parse(l->host, l->port, local)) != 0)
		return err;
	fd = socket(local->ss.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return errno;
	/*
	 * TCP only: a restarted sipd must rebind despite TIME_WAIT.  On UDP the
	 * option would let a second sipd share the port and split the traffic.
	 */
	if (type == SOCK_STREAM &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (local->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (type == SOCK_DGRAM) {
		int sz = 4 * 1024 * 1024;

		/* a burst of registrations must not be dropped by the kernel */
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		if (local->ss.ss_family == AF_INET)
			setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		else
			setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&local->ss, local->len) < 0)
		goto fail;
	if (type == SOCK_STREAM && listen(fd, 512) < 0)
		goto fail;
	*fdp = fd;
	return 0;
fail:
	err = errno;
	close(fd);
	return err;
}

/* ------------------------------------------------------------ TCP connections */

static struct tp_conn *
tp_conn_by_id(struct tp *tp, uint64_t id)
{
	struct tp_conn *c;

	for (c = tp->conns[id % TP_CONN_BUCKETS]; c != NULL; c = c->idnext)
		if (c->id == id)
			return c;
	return NULL;
}

static struct tp_conn *
tp_conn_by_peer(struct tp *tp, const struct tp_addr *peer)
{
	size_t b;
	struct tp_conn *c;

	/* few TCP phones on a small PBX: a scan is fine here */
	for (b = 0; b < TP_CONN_BUCKETS; b++)
		for (c = tp->conns[b]; c != NULL; c = c->idnext)
			if (tp_addr_equal(&c->peer, peer))
				return c;
	return NULL;
}

size_t
tp_tcp_connections(struct sipd *sd)
{
	return sd->tp->nconns;
}

static void tp_conn_cb(int fd, uint32_t events, void *arg);

static void
tp_conn_idle(void *arg)
{
	struct tp_conn *c = arg;

	log_debug("transport: closing idle tcp connection %llu", (unsigned long long)c->id);
	tp_conn_close(c->tp, c);
}

static struct tp_conn *
tp_conn_new(struct tp *tp, int fd, const struct tp_addr *peer, const struct tp_addr *local)
{
	struct tp_conn *c = xcalloc(1, sizeof(*c));
	int one = 1;

	c->id = ++tp->next_id;
	c->fd = fd;
	c->peer = *peer;
	c->local = *local;
	c->tp = tp;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	loop_timer_init(&c->t_idle, tp_conn_idle, c);
	loop_timer_start(tp->sd->loop, &c->t_idle, tp_idle_ms(tp));
	if (loop_fd_add(tp->sd->loop, fd, EPOLLIN, tp_conn_cb, c) != 0) {
		loop_timer_stop(tp->sd->loop, &c->t_idle);
		close(fd);
		free(c);
		return NULL;
	}
	c->idnext = tp->conns[c->id % TP_CONN_BUCKETS];
	tp->conns[c->id % TP_CONN_BUCKETS] = c;
	tp->nconns++;
	return c;
}

static void
tp_conn_close(struct tp *tp, struct tp_conn *c)
{
	struct tp_conn **pp;

	for (pp = &tp->conns[c->id % TP_CONN_BUCKETS]; *pp != NULL; pp = &(*pp)->idnext)
		if (*pp == c) {
			*pp = c->idnext;
			break;
		}
	tp->nconns--;
	loop_timer_stop(tp->sd->loop, &c->t_idle);
	loop_fd_del(tp->sd->loop, c->fd);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

static int
tp_conn_flush(struct tp *tp, struct tp_conn *c)
{
	while (c->outlen > 0) {
		ssize_t n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			return errno;
		}
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
	}
	loop_fd_mod(tp->sd->loop, c->fd, c->outlen > 0 ? EPOLLIN | EPOLLOUT : EPOLLIN);
	return 0;
}

static int
tp_conn_queue(struct tp *tp, struct tp_conn *c, const char *buf, size_t len)
{
	if (c->outlen + len > TP_TCP_OUTMAX)
		return ENOBUFS;
	if (c->outlen + len > c->outcap) {
		c->outcap = c->outlen + len + 4096;
		c->out = xrealloc(c->out, c->outcap);
	}
	memcpy(c->out + c->outlen, buf, len);
	c->outlen += len;
	if (c->connecting)
		return 0;
	return tp_conn_flush(tp, c);
}

/*
 * Length of the first whole message in buf, 0 if more is needed, or -1 if
 * the stream is broken (no or bad Content-Length, too large).
 */
static ssize_t
tp_frame(const char *buf, size_t len)
{
	const char *end, *p;
	size_t hlen;
	long clen = -1;

	end = memmem(buf, len, "\r\n\r\n", 4);
	if (end == NULL)
		return len > SIPD_MSG_MAX ? -1 : 0;
	hlen = (size_t)(end - buf) + 4;
	for (p = buf; p < end; ) {
		const char *eol = memmem(p, (size_t)(end - p) + 2, "\r\n", 2);
		const char *colon;
		size_t nlen;

		if (eol == NULL)
			break;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon != NULL) {
			nlen = (size_t)(colon - p);
			while (nlen > 0 && (p[nlen - 1] == ' ' || p[nlen - 1] == '\t'))
				nlen--;
			if ((nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0) ||
			    (nlen == 1 && (p[0] == 'l' || p[0] == 'L'))) {
				const char *v = colon + 1;
				char *e;

				while (v < eol && (*v == ' ' || *v == '\t'))
					v++;
				if (v == eol || *v < '0' || *v > '9')
					return -1;
				clen = strtol(v, &e, 10);
				while (e < eol && (*e == ' ' || *e == '\t'))
					e++;
				if (e != eol || clen < 0 || clen > SIPD_MSG_MAX)
					return -1;
			}
		}
		p = eol + 2;
	}
	if (clen < 0)
		clen = 0;	/* RFC says mandatory; be lenient, treat as empty */
	if (hlen + (size_t)clen > SIPD_MSG_MAX)
		return -1;
	if (len < hlen + (size_t)clen)
		return 0;
	return (ssize_t)(hlen + (size_t)clen);
}

static void
tp_conn_input(struct tp *tp, struct tp_conn *c)
{
	struct sipd *sd = tp->sd;
	uint64_t id = c->id;

	while (c->inlen > 0) {
		size_t skip = 0;
		ssize_t mlen;
		struct tp_source src;
		char save;

		/* keep-alive: CRLFCRLF ping gets a CRLF pong; lone CRLFs are skipped */
		while (skip + 1 < c->inlen && c->in[skip] == '\r' && c->in[skip + 1] == '\n') {
			if (skip + 3 < c->inlen && c->in[skip + 2] == '\r' && c->in[skip + 3] == '\n') {
				tp_conn_queue(tp, c, "\r\n", 2);
				skip += 4;
			} else
				skip += 2;
		}
		if (skip > 0) {
			memmove(c->in, c->in + skip, c->inlen - skip);
			c->inlen -= skip;
			continue;
		}
		if (c->inlen == 1 && c->in[0] == '\r')
			return;
		mlen = tp_frame(c->in, c->inlen);
		if (mlen == 0)
			return;
		if (mlen < 0) {
			log_info("transport: tcp connection %llu broke framing, closing",
			    (unsigned long long)c->id);
			sd->stats.bad++;
			tp_conn_close(tp, c);
			return;
		}
		memset(&src, 0, sizeof(src));
		src.proto = TP_TCP;
		src.peer = c->peer;
		src.local = c->local;
		src.sock = -1;
		src.conn_id = c->id;
		save = c->in[mlen];
		c->in[mlen] = '\0';
		msg_received(sd, c->in, (size_t)mlen, &src);
		/* the handler may have closed c (a send error) */
		if ((c = tp_conn_by_id(tp, id)) == NULL)
			return;
		c->in[mlen] = save;
		memmove(c->in, c->in + mlen, c->inlen - (size_t)mlen);
		c->inlen -= (size_t)mlen;
	}
}

static void
tp_conn_cb(int fd, uint32_t events, void *arg)
{
	struct tp_conn *c = arg;
	struct tp *tp = c->tp;

	loop_timer_start(tp->sd->loop, &c->t_idle, tp_idle_ms(tp));
	if (c->connecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		int err = 0;
		socklen_t elen = sizeof(err);

		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
		if (err != 0) {
			errno = err;
			log_warn("transport: tcp connect to connection %llu",
			    (unsigned long long)c->id);
			tp_conn_close(tp, c);
			return;
		}
		c->connecting = 0;
	}
	if (events & EPOLLOUT) {
		if (tp_conn_flush(tp, c) != 0) {
			tp_conn_close(tp, c);
			return;
		}
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		for (;;) {
			ssize_t n;

			if (c->incap - c->inlen < 4096) {
				c->incap = c->incap ? c->incap * 2 : 8192;
				if (c->incap > SIPD_MSG_MAX * 2 + 8192) {
					log_info("transport: tcp connection %llu sent an oversized message",
					    (unsigned long long)c->id);
					tp_conn_close(tp, c);
					return;
				}
				c->in = xrealloc(c->in, c->incap + 1);
			}
			n = recv(fd, c->in + c->inlen, c->incap - c->inlen, MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
				tp_conn_close(tp, c);
				return;
			}
			if (n < 0)
				break;
			c->inlen += (size_t)n;
			{
				uint64_t id = c->id;

				tp_conn_input(tp, c);
				if ((c = tp_conn_by_id(tp, id)) == NULL)
					return;
			}
		}
	}
}

static void
tp_accept_cb(int fd, uint32_t events, void *arg)
{
	struct tp *tp = arg;
	size_t i;
	struct tp_addr *local = NULL;

	for (i = 0; i < tp->ntcp; i++)
		if (tp->tcp[i].fd == fd)
			local = &tp->tcp[i].local;
	for (;;) {
		struct tp_addr peer, l;
		int cfd;

		peer.len = sizeof(peer.ss);
		cfd = accept4(fd, (struct sockaddr *)&peer.ss, &peer.len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("transport: accept");
			return;
		}
		if (tp->nconns >= TP_TCP_MAX) {
			log_warnx("transport: %d tcp connections, refusing more", TP_TCP_MAX);
			close(cfd);
			continue;
		}
		l.len = sizeof(l.ss);
		if (getsockname(cfd, (struct sockaddr *)&l.ss, &l.len) < 0 && local != NULL)
			l = *local;
		tp_conn_new(tp, cfd, &peer, &l);
	}
}

static struct tp_conn *
tp_conn_connect(struct tp *tp, const struct tp_addr *peer)
{
	struct tp_addr l;
	struct tp_conn *c;
	int fd;

	if (tp->nconns >= TP_TCP_MAX)
		return NULL;
	fd = socket(peer->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	if (connect(fd, (const struct sockaddr *)&peer->ss, peer->len) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return NULL;
	}
	l.len = sizeof(l.ss);
	getsockname(fd, (struct sockaddr *)&l.ss, &l.len);
	if ((c = tp_conn_new(tp, fd, peer, &l)) == NULL)
		return NULL;
	c->connecting = 1;
	loop_fd_mod(tp->sd->loop, fd, EPOLLIN | EPOLLOUT);
	return c;
}

/* ------------------------------------------------------------ sending */

int
tp_send(struct sipd *sd, const struct tp_source *dst, const char *buf, size_t len)
{
	struct tp *tp = sd->tp;

	if (dst->proto == TP_TCP) {
		struct tp_conn *c = NULL;
		int err;

		if (dst->conn_id != 0)
			c = tp_conn_by_id(tp, dst->conn_id);
		if (c == NULL)
			c = tp_conn_by_peer(tp, &dst->peer);
		if (c == NULL)
			c = tp_conn_connect(tp, &dst->peer);
		if (c == NULL)
			return ECONNREFUSED;
		if ((err = tp_conn_queue(tp, c, buf, len)) != 0) {
			tp_conn_close(tp, c);
			return err;
		}
		sd->stats.tx++;
		return 0;
	} else {
		int fd = -1;
		size_t i;

		if (dst->sock >= 0 && (size_t)dst->sock < tp->nudp &&
		    tp->udp[dst->sock].local.ss.ss_family == dst->peer.ss.ss_family)
			fd = tp->udp[dst->sock].fd;
		for (i = 0; fd < 0 && i < tp->nudp; i++)
			if (tp->udp[i].local.ss.ss_family == dst->peer.ss.ss_family)
				fd = tp->udp[i].fd;
		if (fd < 0)
			return EAFNOSUPPORT;
		if (sendto(fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)&dst->peer.ss,
		    dst->peer.len) < 0) {
			log_debug("transport: udp send: %s", strerror(errno));
			return errno;
		}
		sd->stats.tx++;
		return 0;
	}
}

/* ------------------------------------------------------------ set-up */

static void
tp_add_local(struct tp *tp, const struct tp_addr *a)
{
	tp->locals = xrealloc(tp->locals, (tp->nlocals + 1) * sizeof(*tp->locals));
	tp->locals[tp->nlocals++] = *a;
}

int
tp_open(struct sipd *sd)
{
	struct tp *tp = xcalloc(1, sizeof(*tp));
	size_t i;
	int err, any = 0;

	sd->tp = tp;
	tp->sd = sd;
	tp->conns = xcalloc(TP_CONN_BUCKETS, sizeof(*tp->conns));
	tp->rxbuf = xmalloc((size_t)TP_UDP_BATCH * (SIPD_MSG_MAX + 1));
	tp->udp = xcalloc(sd->conf->nlisten, sizeof(*tp->udp));
	tp->tcp = xcalloc(sd->conf->nlisten, sizeof(*tp->tcp));
	for (i = 0; i < sd->conf->nlisten; i++) {
		const struct conf_listen *l = &sd->conf->listen[i];
		struct tp_addr local;
		int fd = -1;

		if ((err = tp_bind(l, l->transport == CONF_UDP ? SOCK_DGRAM : SOCK_STREAM,
		    &local, &fd)) != 0) {
			errno = err;
			log_warn(strchr(l->host, ':') != NULL ? "transport: cannot listen on %s:[%s]:%d" :
			    "transport: cannot listen on %s:%s:%d",
			    l->transport == CONF_UDP ? "udp" : "tcp", l->host, l->port);
			return err;
		}
		if (tp_is_any(&local))
			any = 1;
		else
			tp_add_local(tp, &local);
		if (l->transport == CONF_UDP) {
			tp->udp[tp->nudp].fd = fd;
			tp->udp[tp->nudp].local = local;
			tp->udp[tp->nudp].wildcard = tp_is_any(&local);
			err = loop_fd_add(sd->loop, fd, EPOLLIN, tp_udp_cb, tp);
			tp->nudp++;
		} else {
			tp->tcp[tp->ntcp].fd = fd;
			tp->tcp[tp->ntcp].local = local;
			err = loop_fd_add(sd->loop, fd, EPOLLIN, tp_accept_cb, tp);
			tp->ntcp++;
		}
		if (err != 0)
			return err;
		log_info(strchr(l->host, ':') != NULL ? "transport: listening on %s:[%s]:%d" :
		    "transport: listening on %s:%s:%d",
		    l->transport == CONF_UDP ? "udp" : "tcp", l->host, l->port);
	}
	if (any) {
		struct ifaddrs *ifa, *p;

		if (getifaddrs(&ifa) == 0) {
			for (p = ifa; p != NULL; p = p->ifa_next) {
				struct tp_addr a;

				if (p->ifa_addr == NULL || (p->ifa_addr->sa_family != AF_INET &&
				    p->ifa_addr->sa_family != AF_INET6))
					continue;
				memset(&a, 0, sizeof(a));
				a.len = p->ifa_addr->sa_family == AF_INET ?
				    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
				memcpy(&a.ss, p->ifa_addr, a.len);
				tp_add_local(tp, &a);
			}
			freeifaddrs(ifa);
		}
	}
	return 0;
}

void
tp_close(struct sipd *sd)
{
	struct tp *tp = sd->tp;
	size_t i;

	if (tp == NULL)
		return;
	for (i = 0; i < TP_CONN_BUCKETS; i++)
		while (tp->conns[i] != NULL)
			tp_conn_close(tp, tp->conns[i]);
	for (i = 0; i < tp->nudp; i++) {
		loop_fd_del(sd->loop, tp->udp[i].fd);
		close(tp->udp[i].fd);
	}
	for (i = 0; i < tp->ntcp; i++) {
		loop_fd_del(sd->loop, tp->tcp[i].fd);
		close(tp->tcp[i].fd);
	}
	free(tp->udp);
	free(tp->tcp);
	free(tp->conns);
	free(tp->locals);
	free(tp->rxbuf);
	free(tp);
	sd->tp = NULL;
}
