/*
 * roomload.c — the load tool of tests/bench/rooms.sh: one room of N
 * participants on a real mediad, a few of them talking, and what the
 * mixing costs mediad.
 *
 *   roomload -e ENDPOINT -n N [-C PCMA|AMR-WB] [-T TALKERS] [-p MEDIAD_PID [-c CPU]]
 *            [-b FIRST_PORT] [-w WARMUP_S] [-t WINDOW_S] [-S [-g TICK_US]]
 *
 * Setup, as sipd would do it: a ZeroMQ DEALER connected to mediad's
 * control.media ENDPOINT sends one ROOM_JOIN per participant (room
 * "bench", participant i + 1, sendrecv, the codec with PT 8 for PCMA or 96
 * octet-aligned for AMR-WB, every mode allowed) naming its own UDP socket
 * on 127.0.0.1 (even ports from -b up, skipping ports in use); the
 * ROOM_PORT answer gives mediad's port, to which that socket is then
 * connected.
 *
 * Load: every participant sends one 20 ms RTP packet every 20 ms, the send
 * times of all participants spread evenly over the 20 ms and kept in a
 * fixed schedule.  The first TALKERS participants send a tone (talker k at
 * 400 + 200 k Hz, -12 dBFS); the others send silence, as a phone does that
 * hears but does not speak (G.711: 160 bytes of A-law silence; AMR-WB: the
 * codec's speech frames of silence, no DTX).  Payloads come from mediad's
 * own codec (codec.c), encoded once at start: G.711 tones repeat every
 * frame (whole cycles in 20 ms), AMR-WB replays one second of coded tone
 * or silence.  A packet is its participant's clip frame behind a header
 * whose sequence number and timestamp are patched: nothing is encoded
 * while the load runs.
 *
 * Figures over the measured window (after -w s of warm-up, -t s long):
 *   - mediad's utime+stime (/proc/PID/stat, all threads) and, with -c, the
 *     ksoftirqd of its CPU; the time it was on a CPU and the time it waited
 *     for one (another task had it), from schedstat: in ns, so a check of
 *     the tick-sampled utime+stime where mediad uses little;
 *   - ROOM_STATS asked at both edges: mixer ticks and late ticks in the
 *     window, encodes in the last tick, talkers, and from the participant
 *     rows the packets mediad took in and sent, frames it concealed and
 *     packets it found missing by sequence number;
 *   - what came back, per participant: packets received in the window
 *     (the mix of every tick: 50 per second expected), sequence gaps
 *     (loss), packets of the wrong payload type or size;
 *   - the audio of one listener (the last participant) and of talker 0,
 *     decoded with codec.c: the level of each talker's tone (Goertzel, one
 *     bin per frame).  A listener hears every tone; a talker every tone but
 *     its own (N-1);
 *   - roomload's own CPU and, when it busy-polls (the default), the share
 *     of its loop turns that found work.
 * Busy polling keeps the schedule to the microsecond (in a VM a sleep and
 * wake-up costs 15-30 us); -S sleeps in epoll instead, -g rounding the
 * wake-ups to TICK_US.
 *
 * Output: a report on stderr and one "RESULT key=value ..." line on
 * stdout for the bench script.  Loopback only; one thread; no allocation
 * per packet.  Run it pinned to its own CPU (taskset).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <sched.h>
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
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "mediad/codec.h"
#include "proto/proto.h"
#include "tests/bench/procstat.h"

#define ROOM		"bench"
#define PERIOD_NS	20000000ull	/* one frame */
#define RTP_HDR		12
#define CLIP_FRAMES	50		/* AMR-WB: one second of coded audio, replayed */
#define CLIP_PL_MAX	192		/* bytes of one clip payload (PCMA 160, AMR-WB <= 62) */
#define TONE_AMP	8000		/* -12 dBFS */
#define MAX_PARTS	8192
#define MAX_TALKERS	8
#define MAX_EVENTS	256
#define RECV_BATCH	4		/* datagrams per recvmmsg on one socket */
#define SEND_BURST	256		/* most sends in one go */
#define SEND_CHECK	32		/* sockets read between send checks */
#define JOIN_WINDOW	64		/* ROOM_JOINs in flight */
#define CTL_TIMEOUT_MS	10000
#define STATS_REQID	0x80000000u	/* request ids of ROOM_STATS_REQ: this and up */
#define LATE_BINS	2001		/* send lateness, 10 us bins, the last one open */

/* the payloads one participant sends, in turn */
struct clip {
	int		 n;
	uint16_t	 len[CLIP_FRAMES];
	uint8_t		 pl[CLIP_FRAMES][CLIP_PL_MAX];
};

struct part {
	int		 fd;
	uint16_t	 port;		/* ours */
	uint16_t	 mport;		/* mediad's, from ROOM_PORT */
	const struct clip *clip;
	/* sending */
	uint32_t	 ssrc, ts;
	uint16_t	 seq;
	uint32_t	 frame;		/* frames sent: the clip's next is frame % clip->n */
	uint64_t	 tx_win;
	/* receiving: the mix mediad sends it */
	int		 rx_started;
	uint16_t	 rx_max;	/* highest sequence number seen */
	uint64_t	 rx, rx_win, lost_win, bad;
};

/* ROOM_STATS of the room at one moment */
struct room_snap {
	int		 have;
	uint64_t	 ticks, late;
	uint32_t	 encodes, rate, talking, parts;
	uint64_t	 pkts_in, pkts_out, lost, concealed;
};

/* what one checked participant heard: tone levels summed per frame */
struct ear {
	uint32_t	 part;
	struct codec_dec *dec;
	uint64_t	 frames, bad;
	double		 amp[MAX_TALKERS];
	double		 rms;
};

static struct part	*parts;
static uint32_t		 nparts, ntalkers = 3;
static struct codec_fmt	 fmt;
static struct clip	 clips[MAX_TALKERS + 1];	/* [ntalkers]: silence */
static uint64_t		 w0, w1;
static uint64_t		 late_hist[LATE_BINS], late_n;
static uint64_t		 n_send_err, n_recv_err;
static struct ear	 ears[2];
static volatile sig_atomic_t stop;

static void
die(const char *fmt_, ...)
{
	va_list ap;

	va_start(ap, fmt_);
	fputs("roomload: ", stderr);
	vfprintf(stderr, fmt_, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double
tone_hz(unsigned k)
{
	return 400.0 + 200.0 * k;
}

/* ------------------------------------------------------------ payloads */

/*
 * Talker k's tone (k < ntalkers) or silence (k == ntalkers), through
 * mediad's encoder.  AMR-WB gets a second of warm-up first, so that the
 * clip starts from a settled encoder.
 */
static void
clip_make(struct clip *c, unsigned k)
{
	unsigned spf = codec_frame_samples(fmt.id), rate = codec_rate(fmt.id), i, f, t = 0;
	unsigned warm = fmt.id == CODEC_AMR_WB ? CLIP_FRAMES : 0;
	struct codec_enc *e = codec_enc_new(&fmt);
	uint8_t pl[CODEC_PAYLOAD_MAX];
	int16_t pcm[CODEC_FRAME_MAX];
	int n;

	if (e == NULL)
		die("no %s encoder", codec_name(fmt.id));
	c->n = fmt.id == CODEC_AMR_WB ? CLIP_FRAMES : 1;
	for (f = 0; f < warm + (unsigned)c->n; f++) {
		for (i = 0; i < spf; i++, t++)
			pcm[i] = k < ntalkers ?
			    (int16_t)lrint(TONE_AMP * sin(2 * M_PI * tone_hz(k) * t / rate)) : 0;
		n = codec_encode(e, pcm, pl, sizeof(pl));
		if (n <= 0 || n > CLIP_PL_MAX)
			die("%s: frame %u not encoded (%d)", codec_name(fmt.id), f, n);
		if (f >= warm) {
			memcpy(c->pl[f - warm], pl, (size_t)n);
			c->len[f - warm] = (uint16_t)n;
		}
	}
	codec_enc_free(e);
}

/* ------------------------------------------------------------ sockets */

/* p's socket on 127.0.0.1, the first free even port from *next up */
static void
part_bind(struct part *p, uint32_t *next)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		die("socket: %s", strerror(errno));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (;; *next += 2) {
		if (*next > 65534)
			die("no free port left");
		sa.sin_port = htons((uint16_t)*next);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		if (errno != EADDRINUSE && errno != EACCES)
			die("bind 127.0.0.1:%u: %s", *next, strerror(errno));
	}
	p->fd = fd;
	p->port = (uint16_t)*next;
	*next += 2;
}

/* From now on p sends to, and hears only, its port on mediad. */
static void
part_connect(struct part *p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(p->mport);
	if (connect(p->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("connect to mediad port %u: %s", p->mport, strerror(errno));
}

/* ------------------------------------------------------------ control */

static void
ctl_send(void *sock, void *buf, size_t len)
{
	if (zmq_send(sock, buf, len, 0) < 0)
		die("send to mediad: %s", zmq_strerror(errno));
	free(buf);
}

static void
ctl_join(void *sock, uint32_t i)
{
	char call[32];
	void *buf;
	size_t len;
	int err;

	snprintf(call, sizeof(call), "roombench-%u", i + 1);
	err = proto_encode_room_join(i + 1, ROOM, i + 1, call, "127.0.0.1", parts[i].port,
	    parts[i].port + 1u, PROTO_DIR_SENDRECV, codec_name(fmt.id), fmt.pt,
	    (uint32_t)fmt.octet_align, fmt.mode_set, 128, 0, "", &buf, &len);
	if (err != 0)
		die("encode ROOM_JOIN: %s", strerror(err));
	ctl_send(sock, buf, len);
}

static void
ctl_stats_req(void *sock, uint32_t reqid)
{
	void *buf;
	size_t len;
	int err;

	if ((err = proto_encode_room_stats_req(reqid, ROOM, &buf, &len)) != 0)
		die("encode ROOM_STATS_REQ: %s", strerror(err));
	ctl_send(sock, buf, len);
}

/* One message from mediad into *m: 1, or 0 when none is waiting (flags ZMQ_DONTWAIT). */
static int
ctl_recv(void *sock, struct proto_msg *m, int flags)
{
	zmq_msg_t msg;
	int r;

	zmq_msg_init(&msg);
	if (zmq_msg_recv(&msg, sock, flags) < 0) {
		zmq_msg_close(&msg);
		if (errno == EAGAIN && (flags & ZMQ_DONTWAIT))
			return 0;
		die("no answer from mediad within %d ms: %s", CTL_TIMEOUT_MS, zmq_strerror(errno));
	}
	r = proto_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), m);
	zmq_msg_close(&msg);
	if (r != 0)
		die("undecodable message from mediad: %s", strerror(r));
	if (m->type == PROTO_ERROR)
		die("request %u refused: %s (%s)", m->reqid, proto_errcode_str(m->u.error.code),
		    m->u.error.text);
	return 1;
}

/* Every participant joins; the answers give mediad's ports. */
static void
ctl_join_all(void *sock)
{
	uint32_t next = 0, answered = 0, i;
	struct proto_msg m;

	while (answered < nparts) {
		while (next < nparts && next - answered < JOIN_WINDOW)
			ctl_join(sock, next++);
		ctl_recv(sock, &m, 0);
		if (m.type != PROTO_ROOM_PORT || m.reqid == 0 || m.reqid > nparts) {
			proto_msg_free(&m);	/* not an answer of ours (SESSION_TIMEOUT) */
			continue;
		}
		i = m.reqid - 1;
		if (m.u.room_port.participant != i + 1 || parts[i].mport != 0)
			die("ROOM_PORT %u: participant %u", m.reqid, m.u.room_port.participant);
		if (m.u.room_port.address[0] != '\0' &&
		    strcmp(m.u.room_port.address, "127.0.0.1") != 0)
			die("mediad says address %s, not 127.0.0.1", m.u.room_port.address);
		parts[i].mport = (uint16_t)m.u.room_port.port;
		part_connect(&parts[i]);
		proto_msg_free(&m);
		answered++;
	}
}

/* The room's figures from a ROOM_STATS answer. */
static void
snap_fill(struct room_snap *s, const struct proto_room_stats *rs)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < rs->r_rooms.n; i++) {
		if (strcmp(rs->r_rooms.v[i], ROOM) != 0)
			continue;
		s->have = 1;
		s->ticks = rs->r_ticks.v[i];
		s->late = rs->r_late.v[i];
		s->encodes = rs->r_encodes.v[i];
		s->rate = rs->r_rates.v[i];
	}
	for (i = 0; i < rs->p_rooms.n; i++) {
		if (strcmp(rs->p_rooms.v[i], ROOM) != 0)
			continue;
		s->parts++;
		s->talking += rs->p_talking.v[i];
		s->pkts_in += rs->p_pkts_in.v[i];
		s->pkts_out += rs->p_pkts_out.v[i];
		s->lost += rs->p_lost.v[i];
		s->concealed += rs->p_concealed.v[i];
	}
}

/* ------------------------------------------------------------ sending */

static void
send_one(struct part *p, uint64_t when, uint64_t now)
{
	const struct clip *c = p->clip;
	uint32_t f = p->frame % (uint32_t)c->n;
	uint8_t pkt[RTP_HDR + CLIP_PL_MAX];
	size_t len = RTP_HDR + c->len[f];
	uint64_t late;

	pkt[0] = 0x80;
	pkt[1] = (uint8_t)(fmt.pt | (p->frame == 0 ? 0x80 : 0));
	pkt[2] = (uint8_t)(p->seq >> 8);
	pkt[3] = (uint8_t)p->seq;
	pkt[4] = (uint8_t)(p->ts >> 24);
	pkt[5] = (uint8_t)(p->ts >> 16);
	pkt[6] = (uint8_t)(p->ts >> 8);
	pkt[7] = (uint8_t)p->ts;
	pkt[8] = (uint8_t)(p->ssrc >> 24);
	pkt[9] = (uint8_t)(p->ssrc >> 16);
	pkt[10] = (uint8_t)(p->ssrc >> 8);
	pkt[11] = (uint8_t)p->ssrc;
	memcpy(pkt + RTP_HDR, c->pl[f], c->len[f]);
	if (send(p->fd, pkt, len, MSG_DONTWAIT) != (ssize_t)len)
		n_send_err++;
	else if (now >= w0 && now < w1) {
		p->tx_win++;
		late = (now > when ? now - when : 0) / 10000;
		late_hist[late < LATE_BINS ? late : LATE_BINS - 1]++;
		late_n++;
	}
	/* a packet that did not leave still takes its number: a gap, as on the wire */
	p->seq++;
	p->ts += codec_frame_samples(fmt.id);
	p->frame++;
}

/*
 * The schedule: participant pos sends at t0 + cycle * 20 ms + pos * 20 ms / N.
 * send_due sends what is due at now, at most SEND_BURST: behind schedule
 * it catches up between receptions, and the lateness is measured.
 */
static uint64_t	 t0, cycle, due;
static uint32_t	 pos;

static uint64_t
slot_at(uint32_t k)
{
	return t0 + cycle * PERIOD_NS + (uint64_t)k * PERIOD_NS / nparts;
}

static int
send_due(uint64_t now)
{
	int k = 0;

	while (due <= now && k < SEND_BURST) {
		send_one(&parts[pos], due, now);
		if (++pos == nparts) {
			pos = 0;
			cycle++;
		}
		due = slot_at(pos);
		if (++k % 64 == 0)
			now = procstat_mono_ns();
	}
	return k;
}

/* ------------------------------------------------------------ receiving */

/* The level of each talker's tone in one decoded frame: a Goertzel bin each. */
static void
ear_frame(struct ear *e, const int16_t *pcm, unsigned n)
{
	unsigned rate = codec_rate(fmt.id), k, i;
	double s0, s1, s2, coeff, sum = 0;

	for (k = 0; k < ntalkers; k++) {
		coeff = 2 * cos(2 * M_PI * tone_hz(k) / rate);
		s1 = s2 = 0;
		for (i = 0; i < n; i++) {
			s0 = pcm[i] + coeff * s1 - s2;
			s2 = s1;
			s1 = s0;
		}
		e->amp[k] += 2 * sqrt(fmax(s1 * s1 + s2 * s2 - coeff * s1 * s2, 0)) / n;
	}
	for (i = 0; i < n; i++)
		sum += (double)pcm[i] * pcm[i];
	e->rms += sqrt(sum / n);
	e->frames++;
}

static void
ear_packet(struct ear *e, const uint8_t *pl, size_t len)
{
	struct codec_frame fr[CODEC_FRAMES_MAX];
	int16_t pcm[CODEC_FRAME_MAX];
	int n, i, k, cmr;

	n = codec_unpack(&fmt, pl, len, fr, CODEC_FRAMES_MAX, &cmr);
	if (n <= 0) {
		e->bad++;
		return;
	}
	for (i = 0; i < n; i++)
		if ((k = codec_decode(e->dec, &fr[i], pcm)) > 0)
			ear_frame(e, pcm, (unsigned)k);
}

static void
rx_packet(uint32_t i, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct part *p = &parts[i];
	int inwin = now >= w0 && now < w1, k;
	uint16_t seq;
	int16_t d;

	if (len < RTP_HDR || (pkt[0] >> 6) != 2 || (pkt[1] & 0x7f) != fmt.pt ||
	    (fmt.id == CODEC_PCMA && len != RTP_HDR + 160)) {
		p->bad++;
		return;
	}
	seq = (uint16_t)(pkt[2] << 8 | pkt[3]);
	if (!p->rx_started) {
		p->rx_started = 1;
		p->rx_max = seq;
	} else if ((d = (int16_t)(seq - p->rx_max)) > 0) {
		if (inwin)
			p->lost_win += (uint64_t)(d - 1);
		p->rx_max = seq;
	}
	p->rx++;
	if (!inwin)
		return;
	p->rx_win++;
	for (k = 0; k < 2; k++)
		if (ears[k].dec != NULL && ears[k].part == i)
			ear_packet(&ears[k], pkt + RTP_HDR, len - RTP_HDR);
}

static struct mmsghdr	 rmsg[RECV_BATCH];
static struct iovec	 riov[RECV_BATCH];
static uint8_t		 rbuf[RECV_BATCH][2048];

static void
rx_part(uint32_t i)
{
	uint64_t now;
	int n, k;

	for (k = 0; k < RECV_BATCH; k++) {
		riov[k].iov_base = rbuf[k];
		riov[k].iov_len = sizeof(rbuf[k]);
		memset(&rmsg[k].msg_hdr, 0, sizeof(rmsg[k].msg_hdr));
		rmsg[k].msg_hdr.msg_iov = &riov[k];
		rmsg[k].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(parts[i].fd, rmsg, RECV_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNREFUSED)
			n_recv_err++;
		return;
	}
	now = procstat_mono_ns();
	for (k = 0; k < n; k++)
		rx_packet(i, rbuf[k], rmsg[k].msg_len, now);
}

/* ------------------------------------------------------------ main */

struct cpu_snap {
	uint64_t	 t;		/* CLOCK_MONOTONIC ns */
	uint64_t	 mediad, softirqd;	/* clock ticks */
	uint64_t	 mediad_run, mediad_wait, self_wait, sirq_run[2];	/* ns */
	uint64_t	 self;		/* ns */
};

static pid_t	 softirqd, softirqd_self;

static void
cpu_read(struct cpu_snap *s, pid_t mediad)
{
	uint64_t run;

	s->t = procstat_mono_ns();
	s->mediad = procstat_ticks(mediad);
	s->softirqd = procstat_ticks(softirqd);
	s->self = procstat_self_ns();
	procstat_sched(mediad, &s->mediad_run, &s->mediad_wait);
	procstat_sched(getpid(), &run, &s->self_wait);
	procstat_sched(softirqd, &s->sirq_run[0], &run);
	procstat_sched(softirqd_self, &s->sirq_run[1], &run);
}

static double
late_q(double q)
{
	uint64_t want = (uint64_t)(q * (double)late_n), acc = 0;
	size_t i;

	for (i = 0; i < LATE_BINS; i++) {
		acc += late_hist[i];
		if (acc > want)
			break;
	}
	return (double)(i + 1) * 10.0;
}

static double
db(double amp)
{
	return amp > 0 ? 20 * log10(amp / 32768.0) : -120;
}

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
	    "usage: roomload -e ENDPOINT -n PARTICIPANTS [-C PCMA|AMR-WB] [-T TALKERS]\n"
	    "                [-p MEDIAD_PID [-c CPU]] [-b FIRST_PORT] [-w WARMUP_S] [-t WINDOW_S]\n"
	    "                [-S [-g TICK_US]]\n"
	    "  -e  mediad's control.media endpoint (ipc://..., tcp://127.0.0.1:...)\n"
	    "  -C  the codec every participant speaks (default PCMA)\n"
	    "  -T  how many participants send a tone (default 3); the others send silence\n"
	    "  -p  mediad's pid, for its CPU over the window; -c its CPU, to count the\n"
	    "      ksoftirqd there too\n"
	    "  -b  first local port (default 30000; even ports, one per participant)\n"
	    "  -w  warm-up seconds (default 5), -t measured seconds (default 20)\n"
	    "  -S  sleep in epoll between sends instead of busy polling; -g: wake only\n"
	    "      on TICK_US boundaries\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *endpoint = NULL, *codec = "PCMA";
	double warmup = 5, window = 20;
	uint32_t next_port = 30000, i;
	pid_t mediad = 0;
	int ch, busy = 1, epfd, n, c, k, zero = 0, timeout = CTL_TIMEOUT_MS;
	uint64_t now, last = 0, idle_ns = 0, tick_ns = 0, hz;
	int idle_iter = 0, have_s0 = 0, have_s1 = 0, asked = 0;
	struct epoll_event ev, evs[MAX_EVENTS];
	struct room_snap r0, r1;
	struct cpu_snap s0, s1;
	struct timespec to;
	void *zctx, *zsock;

	while ((ch = getopt(argc, argv, "e:n:C:T:p:c:b:w:t:Sg:")) != -1) {
		switch (ch) {
		case 'e': endpoint = optarg; break;
		case 'n': nparts = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'C': codec = optarg; break;
		case 'T': ntalkers = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'p': mediad = (pid_t)strtol(optarg, NULL, 10); break;
		case 'c': softirqd = procstat_softirqd(atoi(optarg)); break;
		case 'b': next_port = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'w': warmup = strtod(optarg, NULL); break;
		case 't': window = strtod(optarg, NULL); break;
		case 'S': busy = 0; break;
		case 'g': tick_ns = strtoull(optarg, NULL, 10) * 1000; break;
		default: usage();
		}
	}
	memset(&fmt, 0, sizeof(fmt));
	fmt.id = codec_by_name(codec);
	if (endpoint == NULL || nparts == 0 || nparts > MAX_PARTS || ntalkers > MAX_TALKERS ||
	    ntalkers > nparts || (fmt.id != CODEC_PCMA && fmt.id != CODEC_AMR_WB) ||
	    next_port < 1024 || next_port > 65534 || warmup < 0 || window <= 0)
		usage();
	fmt.pt = fmt.id == CODEC_PCMA ? 8 : 96;
	fmt.octet_align = 1;
	hz = (uint64_t)sysconf(_SC_CLK_TCK);
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	{
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}

	for (k = 0; k <= (int)ntalkers; k++)
		clip_make(&clips[k], (unsigned)k);
	if ((parts = calloc(nparts, sizeof(*parts))) == NULL)
		die("out of memory");
	srandom((unsigned)(procstat_mono_ns() ^ (uint64_t)getpid()));
	for (i = 0; i < nparts; i++) {
		part_bind(&parts[i], &next_port);
		parts[i].clip = &clips[i < ntalkers ? i : ntalkers];
		parts[i].ssrc = (uint32_t)random() ^ ((uint32_t)random() << 16);
		parts[i].seq = (uint16_t)random();
		parts[i].ts = (uint32_t)random();
	}
	/* the ears: the last participant (a listener unless all talk) and talker 0 */
	ears[0].part = nparts - 1;
	ears[1].part = 0;
	for (k = 0; k < (ntalkers > 0 && nparts > 1 ? 2 : 1); k++)
		if ((ears[k].dec = codec_dec_new(&fmt)) == NULL)
			die("no %s decoder", codec_name(fmt.id));

	if ((zctx = zmq_ctx_new()) == NULL || (zsock = zmq_socket(zctx, ZMQ_DEALER)) == NULL)
		die("ZeroMQ: %s", zmq_strerror(errno));
	zmq_setsockopt(zsock, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(zsock, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
	if (zmq_connect(zsock, endpoint) != 0)
		die("connect %s: %s", endpoint, zmq_strerror(errno));
	ctl_join_all(zsock);

	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1: %s", strerror(errno));
	for (i = 0; i < nparts; i++) {
		ev.events = EPOLLIN;
		ev.data.u32 = i;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, parts[i].fd, &ev) != 0)
			die("epoll_ctl: %s", strerror(errno));
	}
	softirqd_self = procstat_softirqd(sched_getcpu());
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	memset(&r0, 0, sizeof(r0));
	memset(&r1, 0, sizeof(r1));
	t0 = procstat_mono_ns() + 1000000;
	w0 = t0 + (uint64_t)(warmup * 1e9);
	w1 = w0 + (uint64_t)(window * 1e9);
	due = slot_at(0);

	/* sends until the end of the window and the answer to the last ROOM_STATS_REQ */
	while (!stop && !r1.have) {
		now = procstat_mono_ns();
		if (idle_iter && now >= w0 && now < w1)
			idle_ns += now - last;
		last = now;
		if (!have_s0 && now >= w0) {
			cpu_read(&s0, mediad);
			ctl_stats_req(zsock, STATS_REQID);
			have_s0 = asked = 1;
		}
		if (!have_s1 && now >= w1) {
			cpu_read(&s1, mediad);
			ctl_stats_req(zsock, STATS_REQID + 1);
			have_s1 = asked = 1;
		}
		if (now >= w1 + (uint64_t)CTL_TIMEOUT_MS * 1000000)
			die("no ROOM_STATS from mediad within %d ms", CTL_TIMEOUT_MS);
		k = send_due(now);
		if (asked) {
			struct proto_msg m;

			while (ctl_recv(zsock, &m, ZMQ_DONTWAIT)) {
				if (m.type == PROTO_ROOM_STATS && m.reqid == STATS_REQID)
					snap_fill(&r0, &m.u.room_stats);
				else if (m.type == PROTO_ROOM_STATS && m.reqid == STATS_REQID + 1)
					snap_fill(&r1, &m.u.room_stats);
				proto_msg_free(&m);
			}
			asked = !(r0.have && (!have_s1 || r1.have));
		}
		if (busy || asked) {
			to.tv_sec = 0;
			to.tv_nsec = 0;
		} else {
			uint64_t until = due;

			if (tick_ns)
				until = (until + tick_ns - 1) / tick_ns * tick_ns;
			if (!have_s0 && w0 < until)
				until = w0;
			if (!have_s1 && w1 < until)
				until = w1;
			now = procstat_mono_ns();
			to.tv_sec = 0;
			to.tv_nsec = until > now ? (long)(until - now) : 0;
			if (to.tv_nsec >= 1000000000L) {
				to.tv_sec = to.tv_nsec / 1000000000L;
				to.tv_nsec %= 1000000000L;
			}
		}
		n = epoll_pwait2(epfd, evs, MAX_EVENTS, &to, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_pwait2: %s", strerror(errno));
		}
		idle_iter = busy && k == 0 && n == 0;
		for (c = 0; c < n; c++) {
			rx_part(evs[c].data.u32);
			if ((c + 1) % SEND_CHECK == 0)
				send_due(procstat_mono_ns());
		}
	}
	if (!r0.have || !r1.have)
		die("interrupted before the end of the window");

	{
		double wall = (double)(s1.t - s0.t) / 1e9;
		double md_pct = 100.0 * (double)(s1.mediad - s0.mediad) / (double)hz / wall;
		double run_pct = 100.0 * (double)(s1.mediad_run - s0.mediad_run) / 1e9 / wall;
		double sirq_pct = 100.0 * (double)(s1.softirqd - s0.softirqd) / (double)hz / wall;
		double self_pct = 100.0 * (double)(s1.self - s0.self) / 1e9 / wall;
		double work_pct = busy ? 100.0 * (1.0 - (double)idle_ns / 1e9 / window) : self_pct;
		double us_part = (md_pct + sirq_pct) / 100.0 * 1e6 / nparts;
		double pps, pps_min = 1e9, pps_max = 0, pps_sum = 0, mwait, swait;
		uint64_t tx = 0, rx = 0, lost = 0, bad = 0, ticks = r1.ticks - r0.ticks;
		uint32_t short_parts = 0;
		int64_t w;

		w = (int64_t)(s1.mediad_wait - s0.mediad_wait) - (int64_t)(s1.sirq_run[0] - s0.sirq_run[0]);
		mwait = w > 0 ? 100.0 * (double)w / 1e9 / wall : 0;
		w = (int64_t)(s1.self_wait - s0.self_wait) - (int64_t)(s1.sirq_run[1] - s0.sirq_run[1]);
		swait = w > 0 ? 100.0 * (double)w / 1e9 / wall : 0;
		for (i = 0; i < nparts; i++) {
			pps = (double)parts[i].rx_win / window;
			pps_sum += pps;
			if (pps < pps_min)
				pps_min = pps;
			if (pps > pps_max)
				pps_max = pps;
			if (pps < 49.5)
				short_parts++;
			tx += parts[i].tx_win;
			rx += parts[i].rx_win;
			lost += parts[i].lost_win;
			bad += parts[i].bad;
		}
		fprintf(stderr,
		    "roomload: %u %s participants, %u talking, window %.1f s\n"
		    "  mediad: CPU %.1f %% of a core (+ ksoftirqd %.1f %%), %.1f us per participant per second;\n"
		    "    on the CPU %.1f %% of the time (schedstat);\n"
		    "    %" PRIu64 " ticks (%.0f expected), %" PRIu64 " late; %u encodes in the last tick; "
		    "mixing at %u Hz; %u talking\n"
		    "    took in %" PRIu64 " packets, sent %" PRIu64 ", found %" PRIu64
		    " missing, concealed %" PRIu64 " frames\n"
		    "  roomload: sent %" PRIu64 " (%.0f/s), received %" PRIu64
		    " (per participant %.2f/s min, %.2f mean, %.2f max; %u under 49.5/s),\n"
		    "    lost %" PRIu64 ", bad %" PRIu64 ", send errors %" PRIu64 ", receive errors %" PRIu64
		    "\n    CPU %.1f %%, working %.1f %%, send lateness p99 %.0f us\n"
		    "  waiting for a CPU (another task than ksoftirqd on it): mediad %.2f %%, roomload %.2f %%\n",
		    nparts, codec_name(fmt.id), ntalkers, wall, md_pct, sirq_pct, us_part, run_pct,
		    ticks, window * 50, r1.late - r0.late, r1.encodes, r1.rate, r1.talking,
		    r1.pkts_in - r0.pkts_in, r1.pkts_out - r0.pkts_out, r1.lost - r0.lost,
		    r1.concealed - r0.concealed, tx, (double)tx / window, rx, pps_min,
		    pps_sum / nparts, pps_max, short_parts, lost, bad, n_send_err, n_recv_err,
		    self_pct, work_pct, late_q(.99), mwait, swait);
		printf("RESULT parts=%u codec=%s talkers=%u window_s=%.2f mediad_cpu_pct=%.1f "
		    "softirqd_pct=%.1f us_per_part_s=%.1f mediad_run_pct=%.1f ticks=%" PRIu64
		    " ticks_expected=%.0f "
		    "late=%" PRIu64 " encodes=%u rate=%u talking=%u md_in=%" PRIu64
		    " md_out=%" PRIu64 " md_missing=%" PRIu64 " md_concealed=%" PRIu64
		    " sent=%" PRIu64 " sent_pps=%.0f target_pps=%.0f received=%" PRIu64
		    " pps_min=%.2f pps_mean=%.2f pps_max=%.2f short_parts=%u lost=%" PRIu64
		    " bad=%" PRIu64 " send_err=%" PRIu64 " recv_err=%" PRIu64
		    " tool_cpu_pct=%.1f tool_work_pct=%.1f late_p99_us=%.0f mediad_wait_pct=%.2f "
		    "tool_wait_pct=%.2f",
		    nparts, codec_name(fmt.id), ntalkers, wall, md_pct, sirq_pct, us_part, run_pct,
		    ticks, window * 50, r1.late - r0.late, r1.encodes, r1.rate, r1.talking,
		    r1.pkts_in - r0.pkts_in, r1.pkts_out - r0.pkts_out, r1.lost - r0.lost,
		    r1.concealed - r0.concealed, tx, (double)tx / window, nparts * 50.0, rx,
		    pps_min, pps_sum / nparts, pps_max, short_parts, lost, bad, n_send_err,
		    n_recv_err, self_pct, work_pct, late_q(.99), mwait, swait);
		/* what the ears heard: each tone's mean level, dBFS */
		for (k = 0; k < 2; k++) {
			struct ear *e = &ears[k];
			const char *who = k == 0 ? "listener" : "talker0";
			uint32_t t;

			if (e->dec == NULL || e->frames == 0)
				continue;
			fprintf(stderr, "  %s (participant %u) heard %.1f dBFS rms:", who,
			    e->part + 1, db(e->rms / (double)e->frames * sqrt(2)));
			printf(" %s_dbfs=%.1f", who, db(e->rms / (double)e->frames * sqrt(2)));
			for (t = 0; t < ntalkers; t++) {
				fprintf(stderr, " %.0f Hz %.1f dBFS", tone_hz(t),
				    db(e->amp[t] / (double)e->frames));
				printf(" %s_tone%u_dbfs=%.1f", who, t, db(e->amp[t] / (double)e->frames));
			}
			fprintf(stderr, "%s\n", e->bad ? " (undecodable payloads)" : "");
		}
		printf("\n");
	}
	zmq_close(zsock);
	zmq_ctx_term(zctx);
	return 0;
}
