/*
 * rtpload.c — the RTP load generator of tests/bench/media.sh: N concurrent
 * G.711 calls through an RTP relay (mediad, rtpengine) or, for a
 * baseline, straight from endpoint to endpoint; one-way latency, loss,
 * and the relay's CPU over a measured window.
 *
 *   rtpload -n CALLS (-d | -s 'SETUP COMMAND') [-p RELAY_PID] [options]
 *
 * Each call has two endpoints, a caller and a callee, each one UDP socket
 * on 127.0.0.1 (even ports from -b up, skipping ports in use).  Every
 * endpoint sends a 172-byte RTP packet (12-byte header, 160 bytes of PCMA
 * payload, PT 8, its own SSRC, sequence and timestamp + 160) every 20 ms
 * to the relay port it was given; the send times of all endpoints are
 * spread evenly over the 20 ms (callers in the first half, callees in the
 * second), kept in a fixed schedule that the loop sweeps every period.
 * The payload carries the send time (CLOCK_MONOTONIC, ns), a run id and
 * the sender's index, so the receiver can check where a packet came from.
 *
 * Latency is the receiving socket's kernel timestamp (SO_TIMESTAMPNS: the
 * moment the packet reached it) minus the send time in the payload, so it
 * does not include how long rtpload itself took to read the packet; that
 * lag is measured apart ("lag").  Loss is counted per stream (one
 * direction of one call) by RTP sequence number: packets sent with a send
 * time inside the window, minus distinct ones received (duplicates by
 * sequence number are counted, not received twice).
 *
 * Setup: with -s, rtpload binds its sockets, then runs the command with
 * sh -c, writes it one line per call "CALL CALLER_PORT CALLEE_PORT" and
 * closes its stdin; the command must read all of it, set up the calls on
 * the relay and print one line per call "CALL PORT_A PORT_B": the relay
 * port the caller sends to and the one the callee sends to (on 127.0.0.1).
 * With -d (the baseline) caller and callee send to each other directly.
 *
 * Timeline: warm-up (-w s), measured window (-t s), drain (receive only,
 * at least 1 s and until nothing came for 200 ms, at most 30 s).  At the edges of the window rtpload reads the relay's utime+stime
 * (/proc/PID/stat, all its threads), its own, and every CPU's busy time
 * (/proc/stat); with -P also another process's (the recorder behind the
 * relay) utime+stime, scheduler wait and storage writes (/proc/PID/io).  UDP receive-buffer drops are read from /proc/net/udp for
 * rtpload's ports and the relay's ports before sending and at the end.
 *
 * Output: a report on stderr and one line on stdout,
 * "RESULT key=value ...", for the bench script.  Only loopback: every
 * socket is bound to 127.0.0.1 and sends to 127.0.0.1.  One thread;
 * run it pinned to its own CPU (taskset).  No allocation per packet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/bench/procstat.h"

#define PERIOD_NS	20000000ull	/* 20 ms: one G.711 frame */
#define PKT_LEN		172		/* RTP header + 160 bytes */
#define RTP_HDR		12
#define PT_PCMA		8
#define MAGIC		0x524c4431u	/* "RLD1" */
#define DRAIN_NS	1000000000ull	/* receive-only time after the window, at least, */
#define DRAIN_QUIET_NS	200000000ull	/* then until nothing came for this long, */
#define DRAIN_MAX_NS	30000000000ull	/* at most */
#define MAX_EPS		65536
#define MAX_EVENTS	256
#define RECV_BATCH	4		/* datagrams per recvmmsg on one socket */
#define SEND_CHECK	32		/* received sockets between send checks */
#define SEND_BURST	256		/* most sends in one go */
#define RAW_BATCH	8		/* -R: frames per sendmmsg */
#define FRAME_HDR	(20 + 8)	/* -R: IPv4, UDP */
#define MAX_CPUS	64

/* latency histograms: 100 ns bins below 1 ms, 10 us bins below 1 s */
#define H_FINE		10000
#define H_COARSE	99900
#define H_BINS		(H_FINE + H_COARSE + 1)

struct hist {
	uint64_t	 n;
	uint64_t	 max;
	uint64_t	 bin[H_BINS];
};

struct ep {
	int		 fd;
	uint16_t	 port;		/* ours */
	uint16_t	 dport;		/* where we send (127.0.0.1) */
	uint32_t	 peer;		/* index of the other end of the call */
	struct sockaddr_in dst;
	uint8_t		 hdr[FRAME_HDR];	/* -R: its frames' headers */
	/* what we send */
	uint32_t	 ssrc;
	uint32_t	 ts;
	uint16_t	 seq;
	uint64_t	 tx;		/* packets sent */
	uint64_t	 tx_win;	/* of them, stamped inside the window */
	/* what we receive: the peer's stream */
	int		 rx_started;
	uint16_t	 rx_max;	/* highest sequence number seen */
	uint64_t	 rx_bits;	/* bit i: rx_max - i seen */
	uint64_t	 rx;		/* distinct packets received */
	uint64_t	 rx_win;	/* of them, stamped inside the window */
	uint64_t	 rx_dup;
	uint64_t	 rx_reorder;
	uint64_t	 rx_old;	/* more than 64 behind: not checked */
};

struct cpu_snap {
	uint64_t	 t;		/* CLOCK_MONOTONIC ns */
	uint64_t	 relay;		/* ticks */
	uint64_t	 softirqd;	/* ticks of ksoftirqd on the relay's CPU */
	uint64_t	 backlog_drops;	/* /proc/net/softnet_stat, all CPUs */
	uint64_t	 relay_run, relay_wait;	/* ns, all its threads: schedstat */
	uint64_t	 self_wait;	/* ns rtpload was runnable but not running */
	uint64_t	 sirq_run[2];	/* ns ksoftirqd of the relay's, of our CPU ran */
	uint64_t	 self;		/* ns */
	uint64_t	 other, other_wait, other_io;	/* -P: ticks, ns, bytes written */
	int		 ncpu;
	uint64_t	 busy[MAX_CPUS];	/* ticks */
	uint64_t	 total[MAX_CPUS];
	uint64_t	 softirq[MAX_CPUS];
	uint64_t	 steal[MAX_CPUS];
};

static struct ep	*eps;
static uint32_t		 neps;
static uint32_t		 ncalls;
static uint32_t		 call_base;	/* -i: the first call's number for the setup command */
static uint64_t		*phase;		/* per endpoint, ns into the period */
static uint32_t		 run_id;
static int64_t		 real_minus_mono;	/* ns */
static volatile sig_atomic_t stop;

static pid_t		 other;		/* -P: another process measured over the window */
static uint64_t		 w0, w1;	/* the window, CLOCK_MONOTONIC ns */
static struct hist	 h_lat, h_lag, h_late;
static uint64_t		 n_foreign, n_wrongsrc, n_short, n_send_err, n_recv_err;
static uint64_t		 n_nostamp;

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("rtpload: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t
real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CLOCK_REALTIME - CLOCK_MONOTONIC: kernel receive stamps are realtime */
static int64_t
clock_offset(void)
{
	uint64_t a, r, b, best = UINT64_MAX;
	int64_t off = 0;
	int i;

	for (i = 0; i < 20; i++) {
		a = procstat_mono_ns();
		r = real_ns();
		b = procstat_mono_ns();
		if (b - a < best) {
			best = b - a;
			off = (int64_t)r - (int64_t)(a + (b - a) / 2);
		}
	}
	return off;
}

static void
hist_add(struct hist *h, uint64_t ns)
{
	size_t i;

	if (ns < 1000000)
		i = ns / 100;
	else if (ns < 1000000000)
		i = H_FINE + (ns - 1000000) / 10000;
	else
		i = H_BINS - 1;
	h->bin[i]++;
	h->n++;
	if (ns > h->max)
		h->max = ns;
}

/* the upper edge of the bin holding quantile q, in us */
static double
hist_q(const struct hist *h, double q)
{
	uint64_t want, acc = 0;
	size_t i;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(q * (double)h->n);
	if (want >= h->n)
		want = h->n - 1;
	for (i = 0; i < H_BINS; i++) {
		acc += h->bin[i];
		if (acc > want)
			break;
	}
	if (i < H_FINE)
		return (double)(i + 1) * 0.1;
	if (i < H_BINS - 1)
		return 1000.0 + (double)(i - H_FINE + 1) * 10.0;
	return (double)h->max / 1000.0;
}

/* ------------------------------------------------------------ /proc */

static pid_t	 softirqd;	/* ksoftirqd of the relay's CPU (-c) */
static pid_t	 softirqd_self;	/* ksoftirqd of rtpload's CPU */

static void
cpu_read(struct cpu_snap *s, pid_t relay)
{
	unsigned long long v[10];
	char line[512];
	FILE *f;
	int c, n;

	memset(s, 0, sizeof(*s));
	s->t = procstat_mono_ns();
	s->relay = procstat_ticks(relay);
	s->softirqd = procstat_ticks(softirqd);
	s->self = procstat_self_ns();
	procstat_sched(relay, &s->relay_run, &s->relay_wait);
	{
		uint64_t r, w;

		procstat_sched(getpid(), &r, &s->self_wait);
		procstat_sched(softirqd, &s->sirq_run[0], &w);
		procstat_sched(softirqd_self, &s->sirq_run[1], &w);
		s->other = procstat_ticks(other);
		procstat_sched(other, &r, &s->other_wait);
		s->other_io = procstat_io_write(other);
	}
	if ((f = fopen("/proc/net/softnet_stat", "r")) != NULL) {
		unsigned int processed, dropped;

		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "%x %x", &processed, &dropped) == 2)
				s->backlog_drops += dropped;
		fclose(f);
	}
	if ((f = fopen("/proc/stat", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9')
			continue;
		memset(v, 0, sizeof(v));
		n = sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu",
		    &c, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
		if (n < 9 || c < 0 || c >= MAX_CPUS)
			continue;
		/* user nice system idle iowait irq softirq steal */
		s->busy[c] = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
		s->total[c] = s->busy[c] + v[3] + v[4];
		s->softirq[c] = v[6];
		s->steal[c] = v[7];
		if (c + 1 > s->ncpu)
			s->ncpu = c + 1;
	}
	fclose(f);
}

/*
 * Receive-buffer drops (/proc/net/udp, last column) of the sockets bound
 * to 127.0.0.1 or the wildcard on a port whose bit is set in ours or in
 * relay; the rest of the machine's drops go to *other.
 */
static void
udp_drops(const uint8_t *ours, const uint8_t *relay, uint64_t *d_ours,
    uint64_t *d_relay, uint64_t *d_other)
{
	char line[512], *p;
	unsigned int addr, port;
	unsigned long long drops;
	FILE *f;

	*d_ours = *d_relay = *d_other = 0;
	if ((f = fopen("/proc/net/udp", "r")) == NULL)
		return;
	if (fgets(line, sizeof(line), f) == NULL) {	/* header */
		fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, " %*d: %8x:%4x", &addr, &port) != 2)
			continue;
		line[strcspn(line, "\n")] = '\0';
		while ((p = strrchr(line, ' ')) != NULL && p[1] == '\0')
			*p = '\0';
		if (p == NULL || sscanf(p + 1, "%llu", &drops) != 1)
			continue;
		if (ours[port >> 3] & (1u << (port & 7)))
			*d_ours += drops;
		else if (relay[port >> 3] & (1u << (port & 7)))
			*d_relay += drops;
		else
			*d_other += drops;
	}
	fclose(f);
}

/* ------------------------------------------------------------ setup */

static void
ep_open(struct ep *e, uint16_t *next_port)
{
	struct sockaddr_in sa;
	int one = 1, fd;
	uint32_t p;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		die("socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) != 0)
		die("SO_TIMESTAMPNS: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (p = *next_port; p + 1 <= 65535; p += 2) {
		sa.sin_port = htons((uint16_t)p);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		if (errno != EADDRINUSE && errno != EACCES)
			die("bind 127.0.0.1:%u: %s", p, strerror(errno));
	}
	if (p + 1 > 65535)
		die("no free port pair left from %u up", *next_port);
	e->fd = fd;
	e->port = (uint16_t)p;
	*next_port = (uint16_t)(p + 2 <= 65535 ? p + 2 : 65535);
}

static void
ep_target(struct ep *e, unsigned port)
{
	if (port == 0 || port > 65535)
		die("bad relay port %u", port);
	e->dport = (uint16_t)port;
	memset(&e->dst, 0, sizeof(e->dst));
	e->dst.sin_family = AF_INET;
	e->dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	e->dst.sin_port = htons((uint16_t)port);
}

/*
 * Runs cmd (sh -c), feeds it "CALL CALLER_PORT CALLEE_PORT" lines, reads
 * back "CALL PORT_A PORT_B" lines.  The command reads all its input
 * before it writes, so writing everything first cannot deadlock.
 */
static void
setup_run(const char *cmd)
{
	int in[2], out[2], status;
	unsigned call, pa, pb;
	uint32_t i, got = 0;
	char line[256];
	uint8_t *seen;
	pid_t pid;
	FILE *w, *r;

	if (pipe(in) != 0 || pipe(out) != 0)
		die("pipe: %s", strerror(errno));
	if ((pid = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if ((w = fdopen(in[1], "w")) == NULL || (r = fdopen(out[0], "r")) == NULL)
		die("fdopen: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < ncalls; i++)
		fprintf(w, "%u %u %u\n", call_base + i, eps[2 * i].port, eps[2 * i + 1].port);
	if (fclose(w) != 0)
		die("writing to the setup command: %s", strerror(errno));
	seen = calloc(ncalls, 1);
	while (fgets(line, sizeof(line), r) != NULL) {
		if (sscanf(line, "%u %u %u", &call, &pa, &pb) != 3 || call < call_base ||
		    (call -= call_base) >= ncalls)
			die("setup command said: %s", line);
		if (seen[call]++)
			die("setup command answered call %u twice", call);
		ep_target(&eps[2 * call], pa);
		ep_target(&eps[2 * call + 1], pb);
		got++;
	}
	fclose(r);
	free(seen);
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("setup command failed (status %d)", status);
	if (got != ncalls)
		die("setup command answered %u of %u calls", got, ncalls);
}

/* ------------------------------------------------------------ packets */

/*
 * Sending.  By default each endpoint sends with sendto(2) on its own
 * socket.  With -R all endpoints send through one raw IPv4 socket
 * (IPPROTO_RAW, so it receives nothing), RAW_BATCH packets per
 * sendmmsg(2), each a complete IPv4/UDP datagram from the endpoint's
 * address and port: the relay sees exactly what sendto would have sent
 * (and its answers still reach the endpoint's socket), while rtpload skips
 * the UDP socket layer and most syscalls.  (An AF_PACKET socket on lo
 * would be cheaper still, but its packets have no route attached, and the
 * kernel drops 127.0.0.1 arriving that way as martian.)  The send time is
 * stamped when a packet is filled, at most RAW_BATCH packets before the
 * batch leaves.
 */
static uint8_t	 txbuf[PKT_LEN];
static int	 raw_fd = -1;
static struct sockaddr_in raw_sa;
static uint8_t	 frames[RAW_BATCH][FRAME_HDR + PKT_LEN];
static struct mmsghdr fmsg[RAW_BATCH];
static struct iovec fiov[RAW_BATCH];
static struct {
	struct ep	*e;
	uint64_t	 when, now;
} fpend[RAW_BATCH];
static int	 nframes;

static void
raw_open(void)
{
	int i;

	if ((raw_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW)) < 0)
		die("raw socket (-R needs CAP_NET_RAW): %s", strerror(errno));
	memset(&raw_sa, 0, sizeof(raw_sa));
	raw_sa.sin_family = AF_INET;
	raw_sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < RAW_BATCH; i++) {
		memset(frames[i] + FRAME_HDR, 0xd5, PKT_LEN);
		fiov[i].iov_base = frames[i];
		fiov[i].iov_len = sizeof(frames[i]);
		fmsg[i].msg_hdr.msg_iov = &fiov[i];
		fmsg[i].msg_hdr.msg_iovlen = 1;
		fmsg[i].msg_hdr.msg_name = &raw_sa;
		fmsg[i].msg_hdr.msg_namelen = sizeof(raw_sa);
	}
}

/* the IPv4 and UDP headers of e's packets */
static void
raw_header(struct ep *e)
{
	uint8_t *h = e->hdr;
	uint32_t sum = 0;
	int i;

	memset(h, 0, FRAME_HDR);
	h[0] = 0x45;				/* IPv4, 20-byte header */
	h[2] = (20 + 8 + PKT_LEN) >> 8;
	h[3] = (20 + 8 + PKT_LEN) & 0xff;
	h[6] = 0x40;				/* DF, id 0 */
	h[8] = 64;				/* TTL */
	h[9] = IPPROTO_UDP;
	h[12] = 127; h[15] = 1;			/* 127.0.0.1 -> 127.0.0.1 */
	h[16] = 127; h[19] = 1;
	for (i = 0; i < 20; i += 2)
		sum += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	h[10] = (uint8_t)(~sum >> 8);
	h[11] = (uint8_t)~sum;
	h += 20;
	h[0] = (uint8_t)(e->port >> 8);
	h[1] = (uint8_t)e->port;
	h[2] = (uint8_t)(e->dport >> 8);
	h[3] = (uint8_t)e->dport;
	h[4] = (8 + PKT_LEN) >> 8;
	h[5] = (8 + PKT_LEN) & 0xff;		/* checksum 0: none (IPv4) */
}

/* the RTP packet of e at p, stamped now */
static void
rtp_fill(uint8_t *p, const struct ep *e, uint32_t idx, uint64_t now)
{
	p[0] = 0x80;
	p[1] = (uint8_t)(PT_PCMA | (e->tx == 0 ? 0x80 : 0));	/* marker on the first */
	p[2] = (uint8_t)(e->seq >> 8);
	p[3] = (uint8_t)e->seq;
	p[4] = (uint8_t)(e->ts >> 24);
	p[5] = (uint8_t)(e->ts >> 16);
	p[6] = (uint8_t)(e->ts >> 8);
	p[7] = (uint8_t)e->ts;
	p[8] = (uint8_t)(e->ssrc >> 24);
	p[9] = (uint8_t)(e->ssrc >> 16);
	p[10] = (uint8_t)(e->ssrc >> 8);
	p[11] = (uint8_t)e->ssrc;
	memcpy(p + RTP_HDR, &(uint32_t){ MAGIC }, 4);
	memcpy(p + RTP_HDR + 4, &run_id, 4);
	memcpy(p + RTP_HDR + 8, &idx, 4);
	memcpy(p + RTP_HDR + 12, &now, 8);
}

/* a packet of e stamped now left (ok) or did not */
static void
ep_sent(struct ep *e, uint64_t when, uint64_t now, int ok)
{
	if (!ok) {
		n_send_err++;
		return;
	}
	e->tx++;
	if (now >= w0 && now < w1) {
		e->tx_win++;
		hist_add(&h_late, now > when ? now - when : 0);
	}
}

static void
raw_flush(void)
{
	int r, i;

	if (nframes == 0)
		return;
	r = sendmmsg(raw_fd, fmsg, (unsigned)nframes, 0);
	for (i = 0; i < nframes; i++)
		ep_sent(fpend[i].e, fpend[i].when, fpend[i].now, i < r);
	nframes = 0;
}

static void
ep_send(struct ep *e, uint32_t idx, uint64_t when)
{
	uint64_t now;
	uint8_t *p;
	ssize_t n;

	if (raw_fd >= 0) {
		p = frames[nframes];
		memcpy(p, e->hdr, FRAME_HDR);
		now = procstat_mono_ns();
		rtp_fill(p + FRAME_HDR, e, idx, now);
		fpend[nframes].e = e;
		fpend[nframes].when = when;
		fpend[nframes].now = now;
		if (++nframes == RAW_BATCH)
			raw_flush();
	} else {
		now = procstat_mono_ns();
		rtp_fill(txbuf, e, idx, now);
		n = sendto(e->fd, txbuf, PKT_LEN, 0, (struct sockaddr *)&e->dst,
		    sizeof(e->dst));
		ep_sent(e, when, now, n == PKT_LEN);
	}
	/* a packet that did not leave still takes its sequence number: a gap */
	e->seq++;
	e->ts += 160;
}

/* one datagram that arrived on endpoint e at kernel time rx (mono ns) */
static void
ep_packet(struct ep *e, const uint8_t *p, size_t len,
    const struct sockaddr_in *from, uint64_t rx, uint64_t now)
{
	uint32_t magic, rid, idx;
	uint64_t sent;
	uint16_t seq;
	int16_t d;

	if (len != PKT_LEN) {
		n_short++;
		return;
	}
	memcpy(&magic, p + RTP_HDR, 4);
	memcpy(&rid, p + RTP_HDR + 4, 4);
	memcpy(&idx, p + RTP_HDR + 8, 4);
	memcpy(&sent, p + RTP_HDR + 12, 8);
	if (magic != MAGIC || rid != run_id || idx != e->peer || (p[1] & 0x7f) != PT_PCMA) {
		n_foreign++;
		return;
	}
	if (from->sin_addr.s_addr != htonl(INADDR_LOOPBACK) || from->sin_port != e->dst.sin_port)
		n_wrongsrc++;	/* counted, still taken: not symmetric RTP */
	seq = (uint16_t)(p[2] << 8 | p[3]);
	if (!e->rx_started) {
		e->rx_started = 1;
		e->rx_max = seq;
		e->rx_bits = 1;
	} else if ((d = (int16_t)(seq - e->rx_max)) > 0) {
		e->rx_bits = d >= 64 ? 1 : (e->rx_bits << d) | 1;
		e->rx_max = seq;
	} else if (-d < 64) {
		if (e->rx_bits & (1ull << -d)) {
			e->rx_dup++;
			return;
		}
		e->rx_bits |= 1ull << -d;
		e->rx_reorder++;
	} else {
		e->rx_old++;
	}
	e->rx++;
	if (sent >= w0 && sent < w1) {
		e->rx_win++;
		hist_add(&h_lat, rx > sent ? rx - sent : 0);
		hist_add(&h_lag, now > rx ? now - rx : 0);
	}
}

static struct mmsghdr	 rmsg[RECV_BATCH];
static struct iovec	 riov[RECV_BATCH];
static uint8_t		 rbuf[RECV_BATCH][2048];
static struct sockaddr_in rname[RECV_BATCH];
static union {
	struct cmsghdr	 h;
	char		 b[CMSG_SPACE(sizeof(struct timespec)) + 64];
} rctl[RECV_BATCH];

static void
ep_recv(uint32_t i)
{
	struct ep *e = &eps[i];
	struct cmsghdr *c;
	struct timespec ts;
	uint64_t now, rx;
	int n, k, got;

	for (k = 0; k < RECV_BATCH; k++) {
		riov[k].iov_base = rbuf[k];
		riov[k].iov_len = sizeof(rbuf[k]);
		memset(&rmsg[k].msg_hdr, 0, sizeof(rmsg[k].msg_hdr));
		rmsg[k].msg_hdr.msg_iov = &riov[k];
		rmsg[k].msg_hdr.msg_iovlen = 1;
		rmsg[k].msg_hdr.msg_name = &rname[k];
		rmsg[k].msg_hdr.msg_namelen = sizeof(rname[k]);
		rmsg[k].msg_hdr.msg_control = rctl[k].b;
		rmsg[k].msg_hdr.msg_controllen = sizeof(rctl[k].b);
	}
	n = recvmmsg(e->fd, rmsg, RECV_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			n_recv_err++;
		return;
	}
	now = procstat_mono_ns();
	for (k = 0; k < n; k++) {
		got = 0;
		for (c = CMSG_FIRSTHDR(&rmsg[k].msg_hdr); c != NULL;
		    c = CMSG_NXTHDR(&rmsg[k].msg_hdr, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
				memcpy(&ts, CMSG_DATA(c), sizeof(ts));
				got = 1;
			}
		}
		if (got) {
			rx = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
			rx = (uint64_t)((int64_t)rx - real_minus_mono);
		} else {
			n_nostamp++;
			rx = now;
		}
		ep_packet(e, rbuf[k], rmsg[k].msg_len, &rname[k], rx, now);
	}
}

/* ------------------------------------------------------------ schedule */

/*
 * The schedule: endpoint order[k] sends at t0 + cycle * 20 ms + phase[k];
 * a timing wheel whose slots never change, since every endpoint sends
 * once per period.  send_due sends what is due at now and returns how
 * many, at most SEND_BURST: behind schedule (rtpload saturated) it catches
 * up between receptions, and the lateness is measured.
 */
static uint32_t		*order;
static uint32_t		 pos;
static uint64_t		 t0, cycle, due;

static int
send_due(uint64_t now)
{
	int k = 0;

	while (due <= now && k < SEND_BURST) {
		ep_send(&eps[order[pos]], order[pos], due);
		if (++pos == neps) {
			pos = 0;
			cycle++;
		}
		due = t0 + cycle * PERIOD_NS + phase[pos];
		if (++k % 64 == 0)
			now = procstat_mono_ns();
	}
	if (raw_fd >= 0)
		raw_flush();
	return k;
}

/*
 * -G: spins for secs reading the clock; a gap of more than 10 us between
 * two readings is time this CPU spent elsewhere (another program, an
 * interrupt, the hypervisor).  Tells how quiet the relay's CPU is.  Then
 * times getppid(2), the cheapest system call.
 */
static int
noise_probe(double secs)
{
	uint64_t start = procstat_mono_ns(), prev = start, now, d, lost = 0, max = 0;
	uint64_t g100 = 0, g1ms = 0, end = start + (uint64_t)(secs * 1e9);

	while ((now = procstat_mono_ns()) < end) {
		d = now - prev;
		prev = now;
		if (d > 10000)
			lost += d;
		if (d > 100000)
			g100++;
		if (d > 1000000)
			g1ms++;
		if (d > max)
			max = d;
	}
	/* and what the cheapest system call costs here (VMs differ widely) */
	{
		uint64_t t = procstat_mono_ns();
		int i;

		for (i = 0; i < 100000; i++)
			(void)syscall(SYS_getppid);
		d = (procstat_mono_ns() - t) / 100000;
	}
	printf("RESULT mode=probe secs=%.1f taken_pct=%.2f gaps_100us_per_s=%.1f "
	    "gaps_1ms_per_s=%.1f max_gap_us=%.0f syscall_ns=%" PRIu64 "\n", secs,
	    100.0 * (double)lost / (double)(now - start), (double)g100 / secs,
	    (double)g1ms / secs, (double)max / 1e3, d);
	return 0;
}

/* ------------------------------------------------------------ main */

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: rtpload -n CALLS (-d | -s 'SETUP COMMAND') [-p RELAY_PID [-c CPU]] [-P PID]\n"
	    "               [-b FIRST_PORT] [-i FIRST_CALL] [-w WARMUP_S] [-t WINDOW_S] [-R] [-S [-g TICK_US]]\n"
	    "       rtpload -G SECONDS\n"
	    "  -d  baseline: the two endpoints of a call send to each other\n"
	    "  -i  number the calls for the setup command from FIRST_CALL (default 0), so that\n"
	    "      two rtpload share one relay\n"
	    "  -s  setup command (sh -c): reads 'CALL CALLER_PORT CALLEE_PORT' lines,\n"
	    "      prints 'CALL PORT_A PORT_B' lines (relay ports on 127.0.0.1)\n"
	    "  -p  the relay's pid, for its CPU over the window\n"
	    "  -c  the relay's CPU: also count the CPU of its ksoftirqd (on loopback the\n"
	    "      delivery of what the relay sends is softirq work on its CPU)\n"
	    "  -P  another process (the relay's recorder) to measure over the window:\n"
	    "      its CPU, its wait for a CPU, the bytes it wrote to storage\n"
	    "  -G S  no calls: spin S seconds and report the time this CPU was taken\n"
	    "      away (other programs, interrupts, the hypervisor), then exit\n"
	    "  -b  first local port (default 10000; even ports, two per call)\n"
	    "  -w  warm-up seconds (default 5), -t measured seconds (default 20)\n"
	    "  -R  send through one raw IPv4 socket (needs CAP_NET_RAW), from\n"
	    "      each endpoint's address and port: cheaper for rtpload, the same for the relay\n"
	    "  -S  sleep in epoll between sends instead of busy polling (a wake-up\n"
	    "      costs 15-30 us of CPU in a VM); -g: wake only on TICK_US boundaries\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *setup = NULL;
	int direct = 0, ch, epfd, n, k, c;
	double warmup = 5, window = 20, probe = 0;
	unsigned long first_port = 10000;
	uint16_t next_port;
	pid_t relay = 0;
	struct epoll_event ev, evs[MAX_EVENTS];
	struct cpu_snap s0, s1;
	struct timespec to;
	uint64_t now, stop_at, hz, last = 0, idle_ns = 0, tick_ns = 0, last_rx = 0;
	uint32_t i;
	int sending = 1, have_s0 = 0, have_s1 = 0, busy = 1, idle_iter = 0, raw = 0;
	uint8_t *ours, *relayports;
	uint64_t d0o, d0r, d0x, d1o, d1r, d1x;
	uint64_t exp = 0, rcv = 0, dup = 0, reord = 0, old = 0, lost, maxlost = 0, tx = 0;
	uint64_t lossy = 0, dead = 0;
	double wall, relay_pct, relay_us, self_pct, loss_pct, work_pct, sirq_pct;
	double rwait_pct, swait_pct;

	while ((ch = getopt(argc, argv, "n:i:ds:p:P:b:w:t:g:SRc:G:")) != -1) {
		switch (ch) {
		case 'n': ncalls = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'i': call_base = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'd': direct = 1; break;
		case 's': setup = optarg; break;
		case 'p': relay = (pid_t)strtol(optarg, NULL, 10); break;
		case 'P': other = (pid_t)strtol(optarg, NULL, 10); break;
		case 'c': softirqd = procstat_softirqd(atoi(optarg)); break;
		case 'G': probe = strtod(optarg, NULL); break;
		case 'b': first_port = strtoul(optarg, NULL, 10); break;
		case 'w': warmup = strtod(optarg, NULL); break;
		case 't': window = strtod(optarg, NULL); break;
		case 'g': tick_ns = strtoull(optarg, NULL, 10) * 1000; break;
		case 'S': busy = 0; break;
		case 'R': raw = 1; break;
		default: usage();
		}
	}
	if (probe > 0)
		return noise_probe(probe);
	if (ncalls == 0 || ncalls > MAX_EPS / 2 || direct == (setup != NULL) ||
	    first_port < 1024 || first_port > 65000 || warmup < 0 || window <= 0)
		usage();
	neps = 2 * ncalls;
	hz = (uint64_t)sysconf(_SC_CLK_TCK);

	/* timer slack of 1 ns: the 20 ms schedule is kept to the microsecond */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	{
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	if ((eps = calloc(neps, sizeof(*eps))) == NULL ||
	    (phase = calloc(neps, sizeof(*phase))) == NULL ||
	    (order = calloc(neps, sizeof(*order))) == NULL ||
	    (ours = calloc(8192, 1)) == NULL || (relayports = calloc(8192, 1)) == NULL)
		die("out of memory");
	srandom((unsigned)(procstat_mono_ns() ^ (uint64_t)getpid()));
	run_id = (uint32_t)random() ^ ((uint32_t)random() << 16);
	memset(txbuf, 0xd5, sizeof(txbuf));	/* A-law silence */
	if (raw)
		raw_open();

	next_port = (uint16_t)first_port;
	for (i = 0; i < neps; i++) {
		ep_open(&eps[i], &next_port);
		eps[i].peer = i ^ 1;
		eps[i].ssrc = (uint32_t)random() ^ ((uint32_t)random() << 16);
		eps[i].seq = (uint16_t)random();
		eps[i].ts = (uint32_t)random();
		ours[eps[i].port >> 3] |= (uint8_t)(1u << (eps[i].port & 7));
	}
	if (direct) {
		for (i = 0; i < neps; i++)
			ep_target(&eps[i], eps[i ^ 1].port);
	} else {
		setup_run(setup);
		for (i = 0; i < neps; i++)
			relayports[eps[i].dport >> 3] |= (uint8_t)(1u << (eps[i].dport & 7));
	}

	if (raw)
		for (i = 0; i < neps; i++)
			raw_header(&eps[i]);
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1: %s", strerror(errno));
	for (i = 0; i < neps; i++) {
		ev.events = EPOLLIN;
		ev.data.u32 = i;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, eps[i].fd, &ev) != 0)
			die("epoll_ctl: %s", strerror(errno));
	}
	/* callers over the first half of the period, callees over the second */
	for (i = 0; i < neps; i++) {
		order[i] = i < ncalls ? 2 * i : 2 * (i - ncalls) + 1;
		phase[i] = (uint64_t)i * PERIOD_NS / neps;
	}

	softirqd_self = procstat_softirqd(sched_getcpu());
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	udp_drops(ours, relayports, &d0o, &d0r, &d0x);
	real_minus_mono = clock_offset();
	t0 = procstat_mono_ns() + 1000000;	/* the first sweep starts 1 ms from now */
	w0 = t0 + (uint64_t)(warmup * 1e9);
	w1 = w0 + (uint64_t)(window * 1e9);
	stop_at = w1 + DRAIN_NS;
	/* for scripts that sample something over the window (media.sh: BPF run time) */
	fprintf(stderr, "rtpload: warm-up: %zu calls, sending\n", (size_t)ncalls);
	due = t0 + phase[0];

	for (;;) {
		now = procstat_mono_ns();
		if (idle_iter && now >= w0 && now < w1)
			idle_ns += now - last;
		last = now;
		if (!have_s0 && now >= w0) {
			cpu_read(&s0, relay);
			have_s0 = 1;
		}
		if (sending && now >= w1) {
			cpu_read(&s1, relay);
			have_s1 = 1;
			sending = 0;
		}
		/*
		 * After the window: receive until nothing more comes, so that a
		 * packet still queued in our sockets (rtpload behind on reading)
		 * is not counted as lost.
		 */
		if (stop || (!sending && (now >= w1 + DRAIN_MAX_NS ||
		    (now >= stop_at && now - last_rx >= DRAIN_QUIET_NS))))
			break;
		k = sending ? send_due(now) : 0;
		if (busy) {
			to.tv_sec = 0;
			to.tv_nsec = 0;
		} else {
			uint64_t until = sending ? due : now + DRAIN_QUIET_NS / 10;

			if (tick_ns && sending)	/* wake on the next tick */
				until = (until + tick_ns - 1) / tick_ns * tick_ns;
			if (!have_s0 && w0 < until)
				until = w0;
			now = procstat_mono_ns();
			if (until <= now) {
				to.tv_sec = 0;
				to.tv_nsec = 0;
			} else {
				to.tv_sec = (time_t)((until - now) / 1000000000ull);
				to.tv_nsec = (long)((until - now) % 1000000000ull);
			}
		}
		n = epoll_pwait2(epfd, evs, MAX_EVENTS, &to, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_pwait2: %s", strerror(errno));
		}
		idle_iter = busy && k == 0 && n == 0;
		if (n > 0)
			last_rx = now;
		for (c = 0; c < n; c++) {
			ep_recv(evs[c].data.u32);
			/* a long batch of receptions must not delay the sends */
			if (sending && (c + 1) % SEND_CHECK == 0)
				send_due(procstat_mono_ns());
		}
	}
	if (!have_s0 || !have_s1)
		die("interrupted before the end of the window");
	udp_drops(ours, relayports, &d1o, &d1r, &d1x);

	for (i = 0; i < neps; i++) {
		struct ep *e = &eps[i];
		uint64_t x = eps[e->peer].tx_win;

		tx += e->tx;
		exp += x;
		rcv += e->rx_win;
		dup += e->rx_dup;
		reord += e->rx_reorder;
		old += e->rx_old;
		lost = x > e->rx_win ? x - e->rx_win : 0;
		if (lost > 0)
			lossy++;
		if (lost > maxlost)
			maxlost = lost;
		if (e->rx == 0)
			dead++;
	}
	wall = (double)(s1.t - s0.t) / 1e9;
	relay_pct = relay ? 100.0 * (double)(s1.relay - s0.relay) / (double)hz / wall : 0;
	/* CPU per second over the window / packets per second out of the relay */
	relay_us = rcv ? relay_pct / 100.0 * 1e6 / ((double)rcv / window) : 0;
	self_pct = 100.0 * (double)(s1.self - s0.self) / 1e9 / wall;
	/*
	 * Runnable but not running: the CPU was taken by someone else.  The
	 * ksoftirqd of the same CPU does our own deferred network work, so
	 * its time is not counted as someone else's.
	 */
	{
		int64_t rw = (int64_t)(s1.relay_wait - s0.relay_wait) -
		    (int64_t)(s1.sirq_run[0] - s0.sirq_run[0]);
		int64_t sw = (int64_t)(s1.self_wait - s0.self_wait) -
		    (int64_t)(s1.sirq_run[1] - s0.sirq_run[1]);

		rwait_pct = rw > 0 ? 100.0 * (double)rw / 1e9 / wall : 0;
		swait_pct = sw > 0 ? 100.0 * (double)sw / 1e9 / wall : 0;
	}
	sirq_pct = softirqd ? 100.0 * (double)(s1.softirqd - s0.softirqd) / (double)hz / wall : 0;
	/* busy polling: the time spent in loop turns that found work */
	work_pct = busy ? 100.0 * (1.0 - (double)idle_ns / 1e9 / window) : self_pct;
	loss_pct = exp ? 100.0 * (double)(exp - (rcv < exp ? rcv : exp)) / (double)exp : 0;

	fprintf(stderr,
	    "rtpload: %s, %u calls (%u streams), window %.1f s\n"
	    "  sent %" PRIu64 " in the window (%.0f/s of %.0f/s), received %" PRIu64
	    ", lost %" PRIu64 " (%.4f %%), %" PRIu64 " streams with loss (max %" PRIu64 "), %" PRIu64 " dead\n"
	    "  duplicates %" PRIu64 ", reordered %" PRIu64 ", foreign %" PRIu64
	    ", wrong source %" PRIu64 ", send errors %" PRIu64 "\n"
	    "  latency us: p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f max %.1f\n"
	    "  rtpload: send lateness p99 %.1f max %.1f us, read lag p99 %.1f us, CPU %.1f %%, working %.1f %%\n"
	    "  relay CPU %.1f %% of a core, %.2f us per relayed packet; its CPU's ksoftirqd %.1f %%\n"
	    "  waiting for a CPU (another task than ksoftirqd on it): relay %.2f %%, rtpload %.2f %%\n"
	    "  UDP receive-buffer drops: rtpload %" PRIu64 ", relay %" PRIu64 ", other %" PRIu64
	    "; backlog drops %" PRIu64 "\n",
	    direct ? "direct (baseline)" : "through the relay", ncalls, neps, wall,
	    exp, (double)exp / window, (double)neps * 1e9 / PERIOD_NS, rcv,
	    exp > rcv ? exp - rcv : 0, loss_pct, lossy, maxlost, dead,
	    dup, reord, n_foreign, n_wrongsrc, n_send_err,
	    hist_q(&h_lat, .5), hist_q(&h_lat, .9), hist_q(&h_lat, .99), hist_q(&h_lat, .999),
	    (double)h_lat.max / 1e3,
	    hist_q(&h_late, .99), (double)h_late.max / 1e3, hist_q(&h_lag, .99), self_pct,
	    work_pct, relay_pct, relay_us, sirq_pct, rwait_pct, swait_pct, d1o - d0o, d1r - d0r, d1x - d0x,
	    s1.backlog_drops - s0.backlog_drops);

	printf("RESULT mode=%s calls=%u window_s=%.2f target_pps=%.0f sent_pps=%.0f recv_pps=%.0f "
	    "expected=%" PRIu64 " received=%" PRIu64 " lost=%" PRIu64 " loss_pct=%.4f "
	    "lossy_streams=%" PRIu64 " max_stream_lost=%" PRIu64 " dead_streams=%" PRIu64 " "
	    "dup=%" PRIu64 " reorder=%" PRIu64 " old=%" PRIu64 " foreign=%" PRIu64
	    " wrongsrc=%" PRIu64 " short=%" PRIu64 " nostamp=%" PRIu64
	    " send_err=%" PRIu64 " recv_err=%" PRIu64 " "
	    "lat_p50_us=%.1f lat_p90_us=%.1f lat_p99_us=%.1f lat_p999_us=%.1f lat_max_us=%.1f "
	    "late_p99_us=%.1f late_max_us=%.1f lag_p99_us=%.1f tool_cpu_pct=%.1f tool_work_pct=%.1f "
	    "relay_cpu_pct=%.1f relay_us_per_pkt=%.3f softirqd_pct=%.1f relay_wait_pct=%.2f tool_wait_pct=%.2f "
	    "drops_tool=%" PRIu64 " drops_relay=%" PRIu64 " drops_other=%" PRIu64
	    " backlog_drops=%" PRIu64,
	    direct ? "direct" : "relay", ncalls, wall, (double)neps * 1e9 / PERIOD_NS,
	    (double)exp / window, (double)rcv / window, exp, rcv, exp > rcv ? exp - rcv : 0, loss_pct,
	    lossy, maxlost, dead, dup, reord, old, n_foreign, n_wrongsrc, n_short, n_nostamp,
	    n_send_err, n_recv_err,
	    hist_q(&h_lat, .5), hist_q(&h_lat, .9), hist_q(&h_lat, .99), hist_q(&h_lat, .999),
	    (double)h_lat.max / 1e3, hist_q(&h_late, .99), (double)h_late.max / 1e3,
	    hist_q(&h_lag, .99), self_pct, work_pct, relay_pct, relay_us, sirq_pct, rwait_pct, swait_pct,
	    d1o - d0o, d1r - d0r, d1x - d0x, s1.backlog_drops - s0.backlog_drops);
	for (c = 0; c < s1.ncpu; c++) {
		uint64_t tot = s1.total[c] - s0.total[c];

		printf(" cpu%d_busy_pct=%.1f cpu%d_softirq_pct=%.1f cpu%d_steal_pct=%.1f", c,
		    tot ? 100.0 * (double)(s1.busy[c] - s0.busy[c]) / (double)tot : 0, c,
		    tot ? 100.0 * (double)(s1.softirq[c] - s0.softirq[c]) / (double)tot : 0, c,
		    tot ? 100.0 * (double)(s1.steal[c] - s0.steal[c]) / (double)tot : 0);
	}
	if (other > 0)
		printf(" other_cpu_pct=%.1f other_wait_pct=%.2f other_write_bytes=%" PRIu64,
		    100.0 * (double)(s1.other - s0.other) / (double)hz / wall,
		    100.0 * (double)(s1.other_wait - s0.other_wait) / 1e9 / wall,
		    s1.other_io - s0.other_io);
	printf(" tx_total=%" PRIu64 "\n", tx);
	return 0;
}
