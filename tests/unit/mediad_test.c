/*
 * mediad_test.c — unit tests of mediad's port pool, sessions and packet
 * path, on real UDP sockets on 127.0.0.1: pairs are even/odd and reused
 * last, exhaustion is ENOSPC and changes nothing, a port another program
 * holds is skipped, an RTP packet is relayed as received to the other
 * leg, latching follows the real source, and the loss/RTCP figures.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "common/conf.h"
#include "common/log.h"
#include "mediad/mediad.h"

static int base;	/* first of 8 free ports */

static int
udp_bound(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* an even port with the next 7 free, from a pseudo-random start */
static void
find_base(void)
{
	int p, i, fds[8], ok;

	for (p = 40000 + (getpid() % 1000) * 2; p < 60000; p += 16) {
		ok = 1;
		for (i = 0; i < 8; i++)
			if ((fds[i] = udp_bound(p + i)) < 0)
				ok = 0;
		for (i = 0; i < 8; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		if (ok) {
			base = p;
			return;
		}
	}
	ck_abort_msg("no 8 free UDP ports");
}

START_TEST(pool_pairs_fifo_and_exhaustion)
{
	struct ports *p;
	int r[4], c[4];
	uint16_t port[4];

	find_base();
	ck_assert_int_eq(ports_alloc_pool(&p, "127.0.0.1", base + 1, base + 6), 0);
	/* base+1 is odd: the pool starts at base+2; pairs (base+2,3) (base+4,5) */
	ck_assert_uint_eq(ports_capacity(p), 2);
	ck_assert_int_eq(ports_get(p, &r[0], &c[0], &port[0]), 0);
	ck_assert_int_eq(port[0], base + 2);
	ck_assert_int_eq(ports_get(p, &r[1], &c[1], &port[1]), 0);
	ck_assert_int_eq(port[1], base + 4);
	ck_assert_int_eq(ports_get(p, &r[2], &c[2], &port[2]), ENOSPC);
	ck_assert_uint_eq(ports_free_count(p), 0);
	ports_put(p, r[0], c[0], port[0]);
	ports_put(p, r[1], c[1], port[1]);
	/* freed pairs come back in the order they were freed */
	ck_assert_int_eq(ports_get(p, &r[0], &c[0], &port[0]), 0);
	ck_assert_int_eq(port[0], base + 2);
	ports_put(p, r[0], c[0], port[0]);
	ck_assert_int_eq(ports_get(p, &r[0], &c[0], &port[0]), 0);
	ck_assert_int_eq(port[0], base + 4);
	ports_put(p, r[0], c[0], port[0]);
	ports_free_pool(p);
}
END_TEST

START_TEST(pool_skips_ports_held_elsewhere)
{
	struct ports *p;
	int r, c, other;
	uint16_t port;

	find_base();
	other = udp_bound(base + 1);	/* the RTCP port of the first pair */
	ck_assert_int_ge(other, 0);
	ck_assert_int_eq(ports_alloc_pool(&p, "127.0.0.1", base, base + 3), 0);
	ck_assert_int_eq(ports_get(p, &r, &c, &port), 0);
	ck_assert_int_eq(port, base + 2);
	ck_assert_uint_eq(ports_free_count(p), 1);	/* the held pair stays in the pool */
	ports_put(p, r, c, port);
	close(other);
	ports_free_pool(p);
}
END_TEST

/* ------------------------------------------------------------ sessions on a real loop */

static struct mediad md;

static void
md_setup(void)
{
	char err[256];

	find_base();
	memset(&md, 0, sizeof(md));
	ck_assert_int_eq(conf_load(NULL, &md.conf, err, sizeof(err)), 0);
	ck_assert_int_eq(loop_alloc(&md.loop), 0);
	/* two pairs: one stream of one call */
	ck_assert_int_eq(ports_alloc_pool(&md.ports, "127.0.0.1", base, base + 3), 0);
	md.advertise = "127.0.0.1";
	ck_assert_int_eq(relay_init(&md), 0);
	ck_assert_int_eq(session_init(&md), 0);
}

static void
md_teardown(void)
{
	session_shutdown(&md);
	relay_shutdown(&md);
	ports_free_pool(md.ports);
	loop_free(md.loop);
	conf_free(md.conf);
}

static int
update(const char *call, uint32_t leg, uint32_t port, const uint32_t **pa,
    const uint32_t **pb)
{
	struct proto_session_update u;
	uint32_t kinds[1] = { PROTO_KIND_AUDIO }, ports[1] = { port }, rtcp[1] = { port + 1 };
	uint32_t dirs[1] = { PROTO_DIR_SENDRECV }, clocks[1] = { 8000 };
	const char *addrs[1] = { "127.0.0.1" };
	size_t n;

	memset(&u, 0, sizeof(u));
	u.call = (char *)call;
	u.leg = leg;
	u.kinds.n = u.ports.n = u.rtcp_ports.n = u.dirs.n = u.clocks.n = u.addrs.n = 1;
	u.kinds.v = kinds;
	u.ports.v = ports;
	u.rtcp_ports.v = rtcp;
	u.dirs.v = dirs;
	u.clocks.v = clocks;
	u.addrs.v = (char **)addrs;
	return session_update(&md, &u, "x", 1, pa, pb, &n);
}

static void
stop_cb(void *arg)
{
	loop_stop(arg);
}

/* runs the loop for ms milliseconds */
static void
spin(int ms)
{
	struct loop_timer t;

	loop_timer_init(&t, stop_cb, md.loop);
	loop_timer_start(md.loop, &t, (uint64_t)ms);
	loop_run(md.loop);
}

static void
send_to(int fd, int port, const void *buf, size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(sendto(fd, buf, len, 0, (struct sockaddr *)&a, sizeof(a)), (ssize_t)len);
}

static void
rtp(uint8_t *p, uint16_t seq)
{
	memset(p, 0, 172);
	p[0] = 0x80;
	p[1] = 8;
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	p[11] = 0x42;	/* SSRC */
	p[12] = (uint8_t)seq;	/* payload */
}

START_TEST(relay_forwards_as_received_and_latches)
{
	const uint32_t *pa, *pb;
	int caller = udp_bound(base + 4), callee = udp_bound(base + 6), nat;
	uint8_t pkt[172], got[256];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	ssize_t n;
	struct session *s;
	struct session_rows rows;

	ck_assert_int_ge(caller, 0);
	ck_assert_int_ge(callee, 0);
	/* the caller's SDP names base+4, the callee's base+6 */
	ck_assert_int_eq(update("c1", 0, (uint32_t)base + 4, &pa, &pb), 0);
	ck_assert_int_eq(update("c1", 1, (uint32_t)base + 6, &pa, &pb), 0);
	ck_assert_uint_ne(pa[0], pb[0]);
	ck_assert_uint_eq(pa[0] % 2, 0);
	ck_assert_uint_eq(pb[0] % 2, 0);
	/* a second call finds no ports: ENOSPC, and nothing is left behind */
	ck_assert_int_eq(update("c2", 0, 9000, &pa, &pb), ENOSPC);
	ck_assert_uint_eq(session_count(&md), 1);
	ck_assert_ptr_null(session_find(&md, "c2"));
	ck_assert_int_eq(update("c1", 0, (uint32_t)base + 4, &pa, &pb), 0);

	/* caller -> mediad (port facing the caller) -> callee, from the port facing it */
	rtp(pkt, 1);
	send_to(caller, (int)pa[0], pkt, sizeof(pkt));
	spin(50);
	n = recvfrom(callee, got, sizeof(got), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
	ck_assert_int_eq(n, sizeof(pkt));
	ck_assert_mem_eq(got, pkt, sizeof(pkt));
	ck_assert_int_eq(ntohs(from.sin_port), (int)pb[0]);

	/* the callee sends from another port than its SDP says (NAT): latched */
	nat = udp_bound(base + 7);
	ck_assert_int_ge(nat, 0);
	rtp(pkt, 100);
	send_to(nat, (int)pb[0], pkt, sizeof(pkt));
	spin(50);
	n = recv(caller, got, sizeof(got), MSG_DONTWAIT);
	ck_assert_int_eq(n, sizeof(pkt));
	rtp(pkt, 2);
	send_to(caller, (int)pa[0], pkt, sizeof(pkt));
	spin(50);
	n = recv(callee, got, sizeof(got), MSG_DONTWAIT);
	ck_assert_int_eq(n, -1);			/* no longer to the SDP port ... */
	n = recv(nat, got, sizeof(got), MSG_DONTWAIT);
	ck_assert_int_eq(n, sizeof(pkt));		/* ... but to where it came from */
	/* a stranger on the callee's port is dropped once the callee is latched */
	send_to(callee, (int)pb[0], pkt, sizeof(pkt));
	spin(50);
	ck_assert_int_eq(recv(caller, got, sizeof(got), MSG_DONTWAIT), -1);

	/* an RFC 4733 event (PT 101, marker, 16-byte payload) passes untouched too */
	{
		uint8_t ev[16] = { 0x80, 0x80 | 101, 0, 3, 0, 0, 0x01, 0x40, 0, 0, 0, 0x42,
			5, 0x8a, 0x03, 0x20 };

		send_to(caller, (int)pa[0], ev, sizeof(ev));
		spin(50);
		n = recv(nat, got, sizeof(got), MSG_DONTWAIT);
		ck_assert_int_eq(n, sizeof(ev));
		ck_assert_mem_eq(got, ev, sizeof(ev));
	}

	/* seq 1, 2, (3 the event), then 5: one lost */
	rtp(pkt, 5);
	send_to(caller, (int)pa[0], pkt, sizeof(pkt));
	spin(50);
	s = session_find(&md, "c1");
	ck_assert_ptr_nonnull(s);
	memset(&rows, 0, sizeof(rows));
	session_stats(&md, s, &rows);
	ck_assert_uint_eq(rows.n, 2);
	ck_assert_uint_eq(rows.legs[0], 0);
	ck_assert_uint_eq(rows.pkts_in[0], 4);
	ck_assert_uint_eq(rows.bytes_in[0], 3 * 172 + 16);
	ck_assert_uint_eq(rows.lost[0], 1);
	ck_assert_uint_eq(rows.pkts_out[1], 4);	/* sent to the callee */
	ck_assert_uint_eq(rows.pkts_in[1], 1);
	{
		char want[32];

		snprintf(want, sizeof(want), "127.0.0.1:%d", base + 7);
		ck_assert_str_eq(rows.latched[1], want);
	}
	session_rows_free(&rows);
	close(caller);
	close(callee);
	close(nat);
}
END_TEST

START_TEST(rtcp_receiver_report)
{
	const uint32_t *pa, *pb;
	struct session *s;
	/* RR, one report block: fraction 0, cumulative lost 7, jitter 80 */
	uint8_t rr[32] = { 0x81, 201, 0, 7, 0, 0, 0, 1,  0, 0, 0, 2,  0, 0, 0, 7,
		0, 0, 0, 9,  0, 0, 0, 80,  0, 0, 0, 0,  0, 0, 0, 0 };

	ck_assert_int_eq(update("c1", 0, 9000, &pa, &pb), 0);
	s = session_find(&md, "c1");
	session_rtcp_seen(&s->st[0].leg[0], rr, sizeof(rr));
	ck_assert_uint_eq(s->st[0].leg[0].rr_lost, 7);
	ck_assert_uint_eq(s->st[0].leg[0].rr_jitter, 80);
	/* a report block cut short is ignored, not read past the end */
	s->st[0].leg[0].rr_lost = 0;
	session_rtcp_seen(&s->st[0].leg[0], rr, 20);
	ck_assert_uint_eq(s->st[0].leg[0].rr_lost, 0);
}
END_TEST

/* rtp_parse: header fields, CSRCs, extension, padding; lengths that do not fit refused */
START_TEST(rtp_parse_lengths)
{
	uint8_t p[64];
	struct rtp_hdr h;

	memset(p, 0, sizeof(p));
	p[0] = 0x80;
	p[1] = 0x80 | 8;			/* marker, PCMA */
	p[4] = 0x01;				/* ts 0x01000000 */
	p[11] = 0x2a;				/* ssrc 42 */
	ck_assert_int_eq(rtp_parse(p, 32, &h), 0);
	ck_assert_int_eq(h.pt, 8);
	ck_assert_uint_eq(h.ts, 0x01000000u);
	ck_assert_uint_eq(h.ssrc, 42);
	ck_assert_ptr_eq(h.pl, p + 12);
	ck_assert_uint_eq(h.len, 20);
	ck_assert_int_eq(rtp_parse(p, 12, &h), -1);	/* no payload */
	ck_assert_int_eq(rtp_parse(p, 11, &h), -1);
	/* two CSRCs and an extension of one word */
	p[0] = 0x80 | 0x10 | 2;
	p[20 + 3] = 1;
	ck_assert_int_eq(rtp_parse(p, 40, &h), 0);
	ck_assert_ptr_eq(h.pl, p + 12 + 8 + 8);
	ck_assert_uint_eq(h.len, 12);
	p[20 + 2] = 0xff;			/* an extension longer than the packet */
	ck_assert_int_eq(rtp_parse(p, 40, &h), -1);
	/* padding: 4 bytes of it; more than the payload, or 0, is refused */
	memset(p, 0, sizeof(p));
	p[0] = 0x80 | 0x20;
	p[31] = 4;
	ck_assert_int_eq(rtp_parse(p, 32, &h), 0);
	ck_assert_uint_eq(h.len, 16);
	p[31] = 20;				/* exactly the payload: none left */
	ck_assert_int_eq(rtp_parse(p, 32, &h), -1);
	p[31] = 255;				/* would wrap the length */
	ck_assert_int_eq(rtp_parse(p, 32, &h), -1);
	p[31] = 0;
	ck_assert_int_eq(rtp_parse(p, 32, &h), -1);
	p[0] = 0x40;				/* version 1 */
	ck_assert_int_eq(rtp_parse(p, 32, &h), -1);
}
END_TEST

static Suite *
mediad_suite(void)
{
	Suite *s = suite_create("mediad");
	TCase *tc = tcase_create("ports");
	TCase *ts = tcase_create("sessions");

	tcase_add_test(tc, pool_pairs_fifo_and_exhaustion);
	tcase_add_test(tc, pool_skips_ports_held_elsewhere);
	tcase_add_test(tc, rtp_parse_lengths);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(ts, md_setup, md_teardown);
	tcase_add_test(ts, relay_forwards_as_received_and_latches);
	tcase_add_test(ts, rtcp_receiver_report);
	suite_add_tcase(s, ts);
	return s;
}

int
main(void)
{
	log_init("mediad_test", 1, LOG_LVL_WARN);
	return unit_run(mediad_suite());
}
