/*
 * recfeed.c — speaks to recd as mediad does, for tests/integration/recd.sh:
 * REC_START, a tone per stream as REC_FRAMES (at real time or as fast as
 * recd takes them), REC_STOP, and prints the REC_DONE.
 *
 * It keeps what recd has not acknowledged, as mediad must: the last -b
 * seconds of frames.  A REC_ACK that asks for a resend rewinds the stream
 * to the file's end; what it no longer keeps goes as a REC_GAP.  A HELLO
 * every half second tells a restarted recd (a new instance), which gets
 * REC_START again, as does an ERROR saying recd has no such recording.
 *
 *   recfeed -s ENDPOINT -i ID [-k call|room] [-r RATE] [-d SECONDS]
 *           [-S caller,callee,mix] [-F 440,660,880] [-R] [-b SECONDS]
 *           [-n FRAMES] [-P user,user] [-x] [-T SECONDS] [-v]
 *   -R  real time (a 20 ms frame every 20 ms); default: as fast as it goes
 *   -b  seconds of frames kept for resending (default 30)
 *   -n  frames per REC_FRAMES (default 1)
 *   -x  no REC_STOP: exit once recd has acknowledged every frame
 *   -T  give up after this many seconds (default 30)
 * Output, one line each: "restart" when recd came back, "gap STREAM TS MS"
 * for each REC_GAP, "acked" (with -x), then "done ok|failed REASON",
 * "sidecar PATH" and "file PATH MS" per file.  Exit 0 when done ok, 1
 * failed (or refused), 2 usage, 3 no answer in time.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "common/loop.h"
#include "common/xmalloc.h"
#include "proto/proto.h"

#define FEED_MAX_STREAMS	16

enum feed_phase { FEED_STARTING, FEED_RUNNING, FEED_STOPPING };

struct feed_stream {
	const char	*name;
	double		 freq;
	int16_t		*pcm;		/* the whole tone */
	uint64_t	 acked;		/* recd's file length, samples */
	uint64_t	 next;		/* the next frame to send */
	int		 started;	/* REC_START answered for it */
};

static struct {
	void			*sock;
	const char		*id;
	uint32_t		 kind, rate;
	uint64_t		 start_ms, total;	/* total: frames per stream */
	uint64_t		 t0;			/* monotonic ms of frame 0 */
	size_t			 fs;			/* samples per frame */
	struct feed_stream	 s[FEED_MAX_STREAMS];
	size_t			 ns;
	const char		*parts[FEED_MAX_STREAMS];
	size_t			 nparts;
	int			 realtime, nostop, verbose, per_msg;
	uint64_t		 keep;			/* frames kept for resending */
	enum feed_phase		 phase;
	uint32_t		 reqid, start_reqid, stop_reqid;
	uint64_t		 asked_at;		/* when the last request went */
	uint64_t		 instance;
} f;

static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	va_list ap;

	if (!f.verbose)
		return;
	va_start(ap, fmt);
	fputs("recfeed: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Sends buf (freed); 0 or EAGAIN (nothing sent: try again later). */
static int
feed_send(void *buf, size_t len)
{
	int rc = zmq_send(f.sock, buf, len, ZMQ_DONTWAIT);

	free(buf);
	return rc < 0 ? errno : 0;
}

static void
feed_rec_start(void)
{
	const char *codecs[FEED_MAX_STREAMS], *names[FEED_MAX_STREAMS];
	void *buf;
	size_t len, i;

	for (i = 0; i < f.ns; i++) {
		names[i] = f.s[i].name;
		codecs[i] = strcmp(f.s[i].name, "mix") == 0 ? "" : "PCMA";
		f.s[i].started = 0;
	}
	f.start_reqid = ++f.reqid;
	if (proto_encode_rec_start(f.start_reqid, f.id, f.kind, f.rate, f.start_ms, f.ns, names,
	    f.ns, codecs, f.nparts, f.parts, 0, NULL, &buf, &len) != 0) {
		fprintf(stderr, "recfeed: cannot encode REC_START\n");
		exit(2);
	}
	(void)feed_send(buf, len);
	f.phase = FEED_STARTING;
	f.asked_at = clock_mono_ms();
	say("REC_START %u", f.start_reqid);
}

static void
feed_rec_stop(void)
{
	void *buf;
	size_t len;

	f.stop_reqid = ++f.reqid;
	if (proto_encode_rec_stop(f.stop_reqid, f.id, f.start_ms + f.total * 20, f.total * f.fs,
	    "hangup", &buf, &len) != 0)
		exit(2);
	(void)feed_send(buf, len);
	f.phase = FEED_STOPPING;
	f.asked_at = clock_mono_ms();
	say("REC_STOP %u", f.stop_reqid);
}

/* The first frame still kept: those before it were acknowledged or let go. */
static uint64_t
feed_first_kept(const struct feed_stream *s, uint64_t avail)
{
	uint64_t acked = s->acked / f.fs;

	return avail > f.keep && avail - f.keep > acked ? avail - f.keep : acked;
}

static uint64_t
feed_available(uint64_t now)
{
	uint64_t n;

	if (!f.realtime)
		return f.total;
	n = (now - f.t0) / 20 + 1;
	return n < f.total ? n : f.total;
}

/* recd wants stream s again from the end of its file. */
static void
feed_rewind(struct feed_stream *s, uint64_t now)
{
	uint64_t from = s->acked / f.fs, kept = feed_first_kept(s, feed_available(now));
	void *buf;
	size_t len;

	if (from < kept) {
		/* gone from our buffer: lost for good */
		uint32_t ms = (uint32_t)((kept * f.fs - s->acked) * 1000 / f.rate);

		if (ms > 0 && proto_encode_rec_gap(++f.reqid, f.id, s->name, (uint32_t)kept,
		    s->acked, ms, &buf, &len) == 0) {
			(void)feed_send(buf, len);
			printf("gap %s %llu %u\n", s->name, (unsigned long long)s->acked, ms);
			fflush(stdout);
		}
		from = kept;
	}
	s->next = from;
	say("%s: resend from frame %llu", s->name, (unsigned long long)from);
}

static struct feed_stream *
feed_stream(const char *name)
{
	size_t i;

	for (i = 0; i < f.ns; i++)
		if (strcmp(f.s[i].name, name) == 0)
			return &f.s[i];
	return NULL;
}

static int
feed_done(const struct proto_rec_done *d)
{
	size_t i;

	printf("done %s %s\n", d->status == PROTO_REC_OK ? "ok" : "failed", d->reason);
	printf("sidecar %s\n", d->sidecar);
	for (i = 0; i < d->files.n && i < d->ms.n; i++)
		printf("file %s %llu\n", d->files.v[i], (unsigned long long)d->ms.v[i]);
	fflush(stdout);
	return d->status == PROTO_REC_OK ? 0 : 1;
}

/* One message from recd; -1 to go on, else the exit status. */
static int
feed_recv(uint64_t now)
{
	struct feed_stream *s;
	struct proto_msg m;
	zmq_msg_t msg;
	int rc = -1;
	size_t i;

	zmq_msg_init(&msg);
	if (zmq_msg_recv(&msg, f.sock, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&msg);
		return -2;
	}
	if (proto_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &m) != 0) {
		fprintf(stderr, "recfeed: undecodable message from recd\n");
		zmq_msg_close(&msg);
		return -1;
	}
	switch (m.type) {
	case PROTO_HELLO:
		if (f.instance != 0 && m.u.hello.instance != f.instance) {
			printf("restart\n");
			fflush(stdout);
			feed_rec_start();
		}
		f.instance = m.u.hello.instance;
		break;
	case PROTO_REC_ACK:
		if ((s = feed_stream(m.u.rec_ack.stream)) == NULL)
			break;
		s->acked = m.u.rec_ack.samples;
		say("ack %s seq %u samples %llu%s", s->name, m.u.rec_ack.seq,
		    (unsigned long long)s->acked, m.u.rec_ack.resend ? " resend" : "");
		if (m.u.rec_ack.resend)
			feed_rewind(s, now);
		if (f.phase == FEED_STARTING && m.reqid == f.start_reqid) {
			s->started = 1;
			for (i = 0; i < f.ns && f.s[i].started; i++)
				;
			if (i == f.ns)
				f.phase = FEED_RUNNING;
		}
		break;
	case PROTO_REC_DONE:
		if (m.reqid == 0 || m.reqid == f.stop_reqid || m.reqid == f.start_reqid)
			rc = feed_done(&m.u.rec_done);
		break;
	case PROTO_ERROR:
		say("ERROR %u: %s", m.u.error.code, m.u.error.text);
		if (m.u.error.code == PROTO_ERR_NOSESSION) {
			if (f.phase == FEED_RUNNING || now - f.asked_at >= 500)
				feed_rec_start();	/* recd does not know it (any more) */
		} else {
			printf("refused %s\n", m.u.error.text);
			rc = 1;
		}
		break;
	default:
		break;
	}
	proto_msg_free(&m);
	zmq_msg_close(&msg);
	return rc;
}

/* Sends what is due of stream s; 0, or EAGAIN when recd's queue is full. */
static int
feed_frames(struct feed_stream *s, uint64_t avail)
{
	uint8_t pcm[PROTO_PCM_MAX];
	uint64_t n, k;
	size_t len, j;
	void *buf;
	int err;

	while (s->next < avail) {
		n = avail - s->next < (uint64_t)f.per_msg ? avail - s->next : (uint64_t)f.per_msg;
		for (j = 0, k = s->next * f.fs; j < n * f.fs; j++, k++) {
			pcm[2 * j] = (uint8_t)((uint16_t)s->pcm[k] & 0xff);
			pcm[2 * j + 1] = (uint8_t)((uint16_t)s->pcm[k] >> 8);
		}
		if (proto_encode_rec_frames(++f.reqid, f.id, s->name, (uint32_t)s->next,
		    s->next * f.fs, pcm, n * f.fs * 2, &buf, &len) != 0)
			exit(2);
		if ((err = feed_send(buf, len)) != 0)
			return err;
		s->next += n;
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: recfeed -s ENDPOINT -i ID [-k call|room] [-r RATE] "
	    "[-d SECONDS] [-S STREAMS] [-F FREQS] [-R] [-b SECONDS] [-n FRAMES] [-P USERS] "
	    "[-x] [-T SECONDS] [-v]\n");
	exit(2);
}

/* Splits a comma list in place into v (at most max). */
static size_t
split(char *s, const char **v, size_t max)
{
	size_t n = 0;
	char *t;

	for (t = strtok(s, ","); t != NULL && n < max; t = strtok(NULL, ","))
		v[n++] = t;
	return n;
}

int
main(int argc, char **argv)
{
	const char *ep = NULL, *streams[FEED_MAX_STREAMS], *freqs[FEED_MAX_STREAMS];
	char *sopt = xstrdup("caller,callee,mix"), *fopt = xstrdup("440,660,880");
	double secs = 10, timeout = 30, keep = 30;
	size_t nfreqs, i, k;
	uint64_t now, deadline, hello_at = 0;
	void *ctx, *buf;
	size_t len;
	int ch, linger = 0, rc;

	f.kind = PROTO_REC_CALL;
	f.rate = 8000;
	f.per_msg = 1;
	while ((ch = getopt(argc, argv, "s:i:k:r:d:S:F:Rb:n:P:xT:v")) != -1) {
		switch (ch) {
		case 's': ep = optarg; break;
		case 'i': f.id = optarg; break;
		case 'k': f.kind = strcmp(optarg, "room") == 0 ? PROTO_REC_ROOM : PROTO_REC_CALL; break;
		case 'r': f.rate = (uint32_t)atoi(optarg); break;
		case 'd': secs = atof(optarg); break;
		case 'S': free(sopt); sopt = xstrdup(optarg); break;
		case 'F': free(fopt); fopt = xstrdup(optarg); break;
		case 'R': f.realtime = 1; break;
		case 'b': keep = atof(optarg); break;
		case 'n': f.per_msg = atoi(optarg); break;
		case 'P': f.nparts = split(optarg, f.parts, FEED_MAX_STREAMS); break;
		case 'x': f.nostop = 1; break;
		case 'T': timeout = atof(optarg); break;
		case 'v': f.verbose = 1; break;
		default: usage();
		}
	}
	if (ep == NULL || f.id == NULL || (f.rate != 8000 && f.rate != 16000) || secs <= 0 ||
	    f.per_msg < 1 || (size_t)f.per_msg * f.rate / 50 * 2 > PROTO_PCM_MAX)
		usage();
	f.fs = f.rate / 50;
	f.total = (uint64_t)(secs * 50 + 0.5);
	f.keep = (uint64_t)(keep * 50 + 0.5);
	f.ns = split(sopt, streams, FEED_MAX_STREAMS);
	nfreqs = split(fopt, freqs, FEED_MAX_STREAMS);
	for (i = 0; i < f.ns; i++) {
		struct feed_stream *s = &f.s[i];

		s->name = streams[i];
		s->freq = nfreqs ? atof(freqs[i < nfreqs ? i : nfreqs - 1]) : 440;
		s->pcm = xcalloc(f.total * f.fs, sizeof(*s->pcm));
		for (k = 0; k < f.total * f.fs; k++)
			s->pcm[k] = (int16_t)lrint(16384.0 * sin(2 * M_PI * s->freq * (double)k / f.rate));
	}
	f.start_ms = clock_wall_ms();

	if ((ctx = zmq_ctx_new()) == NULL || (f.sock = zmq_socket(ctx, ZMQ_DEALER)) == NULL ||
	    zmq_setsockopt(f.sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_connect(f.sock, ep) != 0) {
		fprintf(stderr, "recfeed: %s: %s\n", ep, zmq_strerror(errno));
		return 2;
	}
	now = clock_mono_ms();
	deadline = now + (uint64_t)(timeout * 1000);
	feed_rec_start();
	f.t0 = now;
	for (rc = -1; rc < 0; ) {
		zmq_pollitem_t pi = { f.sock, 0, ZMQ_POLLIN, 0 };

		now = clock_mono_ms();
		if (now >= deadline) {
			printf("timeout\n");
			rc = 3;
			break;
		}
		if (now - hello_at >= 500) {
			if (proto_encode_hello(++f.reqid, "mediad", "recfeed", 1, &buf, &len) == 0)
				(void)feed_send(buf, len);
			hello_at = now;
		}
		while ((rc = feed_recv(now)) == -1)
			;
		if (rc >= 0)
			break;
		rc = -1;
		/* no answer to a request: recd may not have been up yet */
		if (f.phase == FEED_STARTING && now - f.asked_at >= 2000)
			feed_rec_start();
		if (f.phase == FEED_STOPPING && now - f.asked_at >= 2000)
			feed_rec_stop();
		if (f.phase == FEED_RUNNING) {
			uint64_t avail = feed_available(now);
			int all_acked = avail == f.total;

			for (i = 0; i < f.ns; i++) {
				if (feed_frames(&f.s[i], avail) != 0)
					break;
				if (f.s[i].acked < f.total * f.fs)
					all_acked = 0;
			}
			if (all_acked && f.nostop) {
				printf("acked\n");
				rc = 0;
				break;
			}
			if (all_acked)
				feed_rec_stop();
		}
		zmq_poll(&pi, 1, 10);
	}
	fflush(stdout);
	zmq_close(f.sock);
	zmq_ctx_term(ctx);
	for (i = 0; i < f.ns; i++)
		free(f.s[i].pcm);
	free(sopt);
	free(fopt);
	return rc;
}
