/*
 * recout.c — mediad's side of recording: the DEALER to recd
 * (control.recorder) and every recording mediad feeds through it.
 *
 * A producer (tap.c for a relayed call, room.c for a room) makes a
 * recording, adds its streams, puts one 20 ms frame at a time into a
 * stream with its media timestamp (samples since the recording's start;
 * a frame it has no audio for is simply not put: recd writes silence
 * there), and stops it with the recording's length.  From then on the
 * recording belongs to this file until recd has closed it.
 *
 * The protocol is proto_msgs.h's (REC_START ... REC_DONE).  Per stream
 * every frame put gets the next sequence number and is kept in 1 s chunks
 * until an ACK's file length is past it (recd acknowledges every half
 * second), for at most RECOUT_KEEP_S seconds: a recd that is restarted within that time gets every frame it
 * missed (a resend ACK rewinds the stream to the file's end); what was let
 * go by then is announced as a REC_GAP, and to sipd as a REC_EVENT GAP.
 *
 * recd's HELLO answers tell a restart (a new instance): every recording
 * is then started again (REC_START with the same fields, which reopens
 * the files at their end).  Frames go out every RECOUT_FLUSH_MS in
 * batches of up to RECOUT_BATCH consecutive frames, never while a
 * recording waits for the ACKs of its REC_START.  REC_STOP follows the
 * last frame and is repeated until REC_DONE; what REC_DONE says goes to
 * the sipd that asked for the recording (REC_EVENT DONE or FAILED).
 *
 * A stream of a codec mediad cannot decode (EVS) carries the phone's own
 * frames instead of PCM (EVS storage frames, REC_PAYLOADS), in the same
 * slots and with the same sequence numbers, timestamps and acks.
 *
 * No allocation per frame: chunks of 0.5 s come from a free list per
 * slot size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <zmq.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mediad.h"

#define RECOUT_CHUNK		25	/* frames per chunk: 0.5 s */
#define RECOUT_KEEP_S		32	/* seconds of unacknowledged frames kept (at least 30) */
#define RECOUT_BATCH		25	/* frames per REC_FRAMES at most (fits PROTO_PCM_MAX at 16 kHz) */
#define RECOUT_FLUSH_MS		100	/* frames go out this often */
#define RECOUT_HELLO_MS		1000
#define RECOUT_DOWN_MS		3000	/* recd silent this long is down */
#define RECOUT_RETRY_MS		2000	/* an unanswered REC_START / REC_STOP goes again */
#define RECOUT_GIVEUP_MS	(RECOUT_KEEP_S * 1000)	/* a stopped recording recd never closed */
#define RECOUT_BUCKETS		1024
#define RECOUT_DRAIN		512	/* messages read per wake-up */

enum recout_state {
	RO_STARTING,		/* REC_START sent, waiting for an ACK per stream */
	RO_RUNNING,		/* frames flow */
	RO_STOPPING,		/* REC_STOP sent, waiting for REC_DONE */
	RO_DEAD			/* recd failed it: frames are dropped until the producer stops */
};

struct recout_chunk {
	struct recout_chunk	*next;
	uint32_t		 seq0;		/* sequence number of frame 0 */
	unsigned		 n;		/* frames in it */
	uint64_t		 ts[RECOUT_CHUNK];
	uint16_t		 len[RECOUT_CHUNK];	/* bytes of a payload frame */
	int16_t			 pcm[];		/* RECOUT_CHUNK frames */
};

/* bytes of a frame's slot: 20 ms of PCM at 8 kHz, or at 16 kHz (and any EVS frame) */
#define RECOUT_SLOT_8K		(CODEC_FRAME_MAX)
#define RECOUT_SLOT_BIG		(2 * CODEC_FRAME_MAX)

struct recout_stream {
	char			 name[PROTO_STREAM_MAX + 1];
	char			 codec[PROTO_CODEC_MAX + 1];
	int			 format;	/* enum proto_rec_format */
	char			*path;		/* from recd's ACK */
	struct recout_chunk	*head, *tail;	/* kept frames, oldest first */
	uint32_t		 next;		/* the next frame put gets this seq */
	uint32_t		 send;		/* the next frame to send */
	uint64_t		 lost_end;	/* end of the last frame let go unacknowledged */
	uint64_t		 acked;		/* recd's file length, samples */
	uint64_t		 end_ts;	/* the end of the last frame put */
	uint64_t		 ms;		/* from REC_DONE */
	int			 started;	/* acked since the last REC_START */
};

struct recout {
	struct recout		*next, *hnext;
	struct mediad		*md;
	char			*id, *target;
	int			 kind;
	unsigned		 rate, fs;	/* fs: samples per frame */
	uint64_t		 start_ms;
	struct recout_stream	*st;
	size_t			 nst;
	char			**parts;
	size_t			 nparts;
	enum recout_state	 state;
	uint32_t		 start_reqid, stop_reqid;
	uint64_t		 asked_at;
	int			 announced;	/* REC_EVENT STARTED sent */
	int			 stopped;	/* the producer is done with it */
	uint64_t		 stopped_at, end_ms, samples;
	char			*reason;
	uint8_t			 owner[256];	/* the sipd that asked */
	size_t			 owner_len;
};

struct recout_link {
	void			*sock;
	int			 fd;
	uint64_t		 instance;	/* recd's, from its HELLO; 0 unknown */
	uint64_t		 heard;		/* ms recd was last heard */
	uint64_t		 hello_at;
	uint64_t		 resync_at;	/* every recording last started again */
	uint32_t		 reqid;
	uint64_t		 let_go;	/* frames let go since the last warning */
	struct recout		*head;
	struct recout		*bucket[RECOUT_BUCKETS];
	size_t			 count;
	struct recout_chunk	*free[2];	/* spare chunks: RECOUT_SLOT_8K, RECOUT_SLOT_BIG */
	struct loop_timer	 t;
	uint8_t			 pcm[PROTO_PCM_MAX];	/* one REC_FRAMES being built */
};

static uint32_t
recout_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h % RECOUT_BUCKETS;
}

static struct recout *
recout_find(struct recout_link *k, const char *id)
{
	struct recout *r;

	for (r = k->bucket[recout_hash(id)]; r != NULL; r = r->hnext)
		if (strcmp(r->id, id) == 0)
			return r;
	return NULL;
}

static struct recout_stream *
recout_stream_find(struct recout *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nst; i++)
		if (strcmp(r->st[i].name, name) == 0)
			return &r->st[i];
	return NULL;
}

int
recout_up(const struct mediad *md)
{
	const struct recout_link *k = md->recout;

	return k != NULL && k->heard != 0 && loop_now(md->loop) - k->heard < RECOUT_DOWN_MS;
}

size_t
recout_count(const struct mediad *md)
{
	return md->recout != NULL ? md->recout->count : 0;
}

/* ------------------------------------------------------------ sending */

/* Sends buf (freed); 0, or an errno value (EAGAIN: recd's queue is full). */
static int
recout_send(struct recout_link *k, void *buf, size_t len)
{
	int rc = zmq_send(k->sock, buf, len, ZMQ_DONTWAIT);

	free(buf);
	return rc < 0 ? errno : 0;
}

static void
recout_send_start(struct recout_link *k, struct recout *r)
{
	const char *names[PROTO_REC_STREAMS_MAX], *codecs[PROTO_REC_STREAMS_MAX];
	uint32_t formats[PROTO_REC_STREAMS_MAX];
	size_t i, n = r->nst < PROTO_REC_STREAMS_MAX ? r->nst : PROTO_REC_STREAMS_MAX;
	void *buf;
	size_t len;

	for (i = 0; i < n; i++) {
		names[i] = r->st[i].name;
		codecs[i] = r->st[i].codec;
		formats[i] = (uint32_t)r->st[i].format;
		r->st[i].started = 0;
	}
	r->start_reqid = ++k->reqid;
	r->state = RO_STARTING;
	r->asked_at = loop_now(r->md->loop);
	if (proto_encode_rec_start(r->start_reqid, r->id, (uint32_t)r->kind, r->rate, r->start_ms,
	    n, names, n, codecs, r->nparts, (const char *const *)r->parts, n, formats, &buf,
	    &len) != 0) {
		log_warnx("recout: %s: cannot encode REC_START", r->id);
		return;
	}
	(void)recout_send(k, buf, len);
	log_debug("recout: %s: REC_START (%zu streams)", r->id, n);
}

static void
recout_send_stop(struct recout_link *k, struct recout *r)
{
	void *buf;
	size_t len;

	r->stop_reqid = ++k->reqid;
	r->state = RO_STOPPING;
	r->asked_at = loop_now(r->md->loop);
	if (proto_encode_rec_stop(r->stop_reqid, r->id, r->end_ms, r->samples,
	    r->reason != NULL ? r->reason : "", &buf, &len) != 0)
		return;
	(void)recout_send(k, buf, len);
	log_debug("recout: %s: REC_STOP", r->id);
}

/*
 * The chunk holding frame seq of s, or NULL when it is not kept.  The
 * frame to send is nearly always in the newest chunk: that one is tried
 * first, so that a stream whose acks lag (recd busy: up to RECOUT_KEEP_S
 * of chunks kept) does not cost a walk through all of them per batch.
 */
static struct recout_chunk *
recout_chunk_of(struct recout_stream *s, uint32_t seq)
{
	struct recout_chunk *c;

	if ((c = s->tail) != NULL && seq - c->seq0 < c->n)
		return c;
	for (c = s->head; c != NULL; c = c->next)
		if (seq - c->seq0 < c->n)
			return c;
	return NULL;
}

/* How many frames from chunk c's frame at go in one message: consecutive in it and in time. */
static unsigned
recout_run(const struct recout *r, const struct recout_chunk *c, unsigned at)
{
	unsigned n;

	for (n = 1; at + n < c->n && n < RECOUT_BATCH &&
	    c->ts[at + n] == c->ts[at] + (uint64_t)n * r->fs; n++)
		;
	return n;
}

/*
 * The n frames of s from chunk c's frame at as one message: REC_FRAMES
 * (PCM, 16-bit little-endian on the wire) or, for an EVS stream,
 * REC_PAYLOADS.  0 or an errno value.
 */
static int
recout_encode(struct recout_link *k, const struct recout *r, const struct recout_stream *s,
    const struct recout_chunk *c, unsigned at, unsigned n, void **buf, size_t *len)
{
	uint32_t lens[RECOUT_BATCH];
	size_t w = 0, i;
	unsigned f;

	for (f = at; f < at + n; f++) {
		if (s->format == PROTO_REC_EVS) {
			lens[f - at] = c->len[f];
			memcpy(k->pcm + w, (const uint8_t *)c->pcm + (size_t)f * RECOUT_SLOT_BIG,
			    c->len[f]);
			w += c->len[f];
			continue;
		}
		for (i = 0; i < r->fs; i++, w += 2) {
			uint16_t v = (uint16_t)c->pcm[(size_t)f * r->fs + i];

			k->pcm[w] = (uint8_t)(v & 0xff);
			k->pcm[w + 1] = (uint8_t)(v >> 8);
		}
	}
	if (s->format == PROTO_REC_EVS)
		return proto_encode_rec_payloads(++k->reqid, r->id, s->name, s->send, c->ts[at], n,
		    lens, k->pcm, w, buf, len);
	return proto_encode_rec_frames(++k->reqid, r->id, s->name, s->send, c->ts[at], k->pcm, w,
	    buf, len);
}

/* Sends what is due of stream s; 0, or EAGAIN when recd's queue is full. */
static int
recout_flush_stream(struct recout_link *k, struct recout *r, struct recout_stream *s)
{
	struct recout_chunk *c;
	unsigned n, at;
	void *buf;
	size_t len;
	int err;

	while (s->send != s->next) {
		if ((c = recout_chunk_of(s, s->send)) == NULL) {
			/* let go before it was sent: recd will ask, and hear of the gap */
			s->send = s->head != NULL ? s->head->seq0 : s->next;
			continue;
		}
		at = s->send - c->seq0;
		n = recout_run(r, c, at);
		if (recout_encode(k, r, s, c, at, n, &buf, &len) != 0)
			return EINVAL;
		if ((err = recout_send(k, buf, len)) != 0)
			return err;
		s->send += n;
	}
	return 0;
}

static void
recout_event(struct recout *r, uint32_t state, const char *reason, const char *sidecar,
    const char *stream, uint32_t gap_ms)
{
	const char *files[PROTO_REC_STREAMS_MAX];
	uint64_t ms[PROTO_REC_STREAMS_MAX];
	size_t i, n = 0;

	for (i = 0; i < r->nst && n < PROTO_REC_STREAMS_MAX; i++) {
		if (r->st[i].path == NULL)
			continue;
		files[n] = r->st[i].path;
		ms[n++] = r->st[i].ms;
	}
	ctl_send_rec_event(r->md, r->owner, r->owner_len, (uint32_t)r->kind, r->target, r->id,
	    state, n, files, n, ms, sidecar, reason, stream, gap_ms);
}

/* ------------------------------------------------------------ recordings */

/* Is a slot of s RECOUT_SLOT_BIG? */
static int
recout_big(const struct recout *r, const struct recout_stream *s)
{
	return r->rate > 8000 || s->format == PROTO_REC_EVS;
}

static void
recout_chunk_put(struct recout_link *k, const struct recout *r, const struct recout_stream *s,
    struct recout_chunk *c)
{
	struct recout_chunk **fl = &k->free[recout_big(r, s)];

	c->next = *fl;
	*fl = c;
}

static void
recout_chunks_free(struct recout_link *k, const struct recout *r, struct recout_stream *s)
{
	struct recout_chunk *c;

	while ((c = s->head) != NULL) {
		s->head = c->next;
		recout_chunk_put(k, r, s, c);
	}
	s->tail = NULL;
}

static void
recout_free(struct recout_link *k, struct recout *r)
{
	struct recout **pp;
	size_t i;

	for (pp = &k->head; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	for (pp = &k->bucket[recout_hash(r->id)]; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == r) {
			*pp = r->hnext;
			break;
		}
	k->count--;
	for (i = 0; i < r->nst; i++) {
		recout_chunks_free(k, r, &r->st[i]);
		free(r->st[i].path);
	}
	for (i = 0; i < r->nparts; i++)
		free(r->parts[i]);
	free(r->parts);
	free(r->st);
	free(r->id);
	free(r->target);
	free(r->reason);
	free(r);
}

struct recout *
recout_new(struct mediad *md, int kind, const char *id, const char *target, unsigned rate,
    const void *owner, size_t owner_len)
{
	struct recout_link *k = md->recout;
	struct recout *r;
	uint32_t h;

	if (k == NULL || owner_len > sizeof(r->owner) || recout_find(k, id) != NULL)
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->md = md;
	r->id = xstrdup(id);
	r->target = xstrdup(target);
	r->kind = kind;
	r->rate = rate;
	r->fs = rate / 50;
	r->start_ms = clock_wall_ms();
	memcpy(r->owner, owner, owner_len);
	r->owner_len = owner_len;
	r->state = RO_STARTING;
	r->next = k->head;
	k->head = r;
	h = recout_hash(id);
	r->hnext = k->bucket[h];
	k->bucket[h] = r;
	k->count++;
	log_info("recout: %s: recording at %u Hz", id, rate);
	return r;
}

int
recout_stream_add(struct recout *r, const char *name, const char *codec, int format)
{
	struct recout_stream *s;

	if ((s = recout_stream_find(r, name)) != NULL)
		return (int)(s - r->st);
	if (r->nst == PROTO_REC_STREAMS_MAX || strlen(name) > PROTO_STREAM_MAX)
		return -1;
	r->st = xrealloc(r->st, (r->nst + 1) * sizeof(*r->st));
	s = &r->st[r->nst];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->codec, sizeof(s->codec), "%s", codec != NULL ? codec : "");
	s->format = format;
	r->nst++;
	return (int)r->nst - 1;
}

void
recout_part_add(struct recout *r, const char *who)
{
	if (r->nparts == PROTO_REC_STREAMS_MAX)
		return;		/* REC_START names no more (a huge room's sidecar lists the first) */
	xstrv_add_once(&r->parts, &r->nparts, who);
}

void
recout_begin(struct recout *r)
{
	if (r->state != RO_DEAD)
		recout_send_start(r->md->recout, r);
}

/* Files one frame (len bytes; PCM: 2 * fs) of stream at ts. */
static void
recout_keep(struct recout *r, int stream, uint64_t ts, const void *frame, size_t len)
{
	struct recout_link *k = r->md->recout;
	struct recout_stream *s;
	struct recout_chunk *c;
	size_t slot;

	if (r->state == RO_DEAD || stream < 0 || (size_t)stream >= r->nst)
		return;
	s = &r->st[stream];
	slot = recout_big(r, s) ? RECOUT_SLOT_BIG : RECOUT_SLOT_8K;
	if (len > slot)
		return;
	if ((c = s->tail) == NULL || c->n == RECOUT_CHUNK) {
		struct recout_chunk **fl = &k->free[recout_big(r, s)];

		if ((c = *fl) != NULL)
			*fl = c->next;
		else
			c = xmalloc(sizeof(*c) + RECOUT_CHUNK * slot);
		c->next = NULL;
		c->n = 0;
		c->seq0 = s->next;
		if (s->tail != NULL)
			s->tail->next = c;
		else
			s->head = c;
		s->tail = c;
	}
	s->end_ts = ts + r->fs;
	c->ts[c->n] = ts;
	c->len[c->n] = (uint16_t)len;
	memcpy((uint8_t *)c->pcm + (size_t)c->n * slot, frame, len);
	c->n++;
	s->next++;
	/* more than RECOUT_KEEP_S kept: the oldest chunk is let go */
	if (s->next - s->head->seq0 > RECOUT_KEEP_S * 50u + RECOUT_CHUNK) {
		c = s->head;
		s->lost_end = c->ts[c->n - 1] + r->fs;
		s->head = c->next;
		recout_chunk_put(k, r, s, c);
		k->let_go += c->n;
		log_debug("recout: %s %s: %u ms let go unacknowledged", r->id, s->name, c->n * 20);
	}
}

void
recout_put(struct recout *r, int stream, uint64_t ts, const int16_t *pcm)
{
	recout_keep(r, stream, ts, pcm, r->fs * sizeof(*pcm));
}

void
recout_put_payload(struct recout *r, int stream, uint64_t ts, const uint8_t *frame, size_t len)
{
	recout_keep(r, stream, ts, frame, len);
}

uint64_t
recout_length(uint64_t started, unsigned rate, uint64_t ticks)
{
	uint64_t now = clock_mono_ms(), wall = 0, frames = ticks * (rate / 50);

	if (now > started)
		wall = (now - started) * rate / 1000;
	return wall > frames ? wall : frames;
}

void
recout_stop(struct recout *r, uint64_t samples, const char *reason)
{
	r->stopped = 1;
	r->stopped_at = loop_now(r->md->loop);
	r->end_ms = clock_wall_ms();
	r->samples = samples;
	free(r->reason);
	r->reason = xstrdup(reason != NULL ? reason : "");
	log_info("recout: %s: stopped (%s) after %llu ms", r->id, r->reason,
	    (unsigned long long)(r->rate ? samples * 1000 / r->rate : 0));
	if (r->state == RO_DEAD) {
		recout_free(r->md->recout, r);
		return;
	}
}

/* ------------------------------------------------------------ recd's messages */

/* Frees s's chunks whose every frame ends at or before samples. */
static void
recout_release(struct recout_link *k, struct recout *r, struct recout_stream *s, uint64_t samples)
{
	struct recout_chunk *c;

	while ((c = s->head) != NULL && c->n == RECOUT_CHUNK &&
	    c->ts[c->n - 1] + r->fs <= samples && c != s->tail) {
		s->head = c->next;
		recout_chunk_put(k, r, s, c);
	}
}

/* recd misses s's frames past samples: send them again, or say they are gone. */
static void
recout_rewind(struct recout_link *k, struct recout *r, struct recout_stream *s, uint64_t samples)
{
	struct recout_chunk *c;
	uint32_t from = s->next;
	uint64_t gap_end = 0;
	unsigned i;
	void *buf;
	size_t len;

	for (c = s->head; c != NULL && from == s->next; c = c->next)
		for (i = 0; i < c->n; i++)
			if (c->ts[i] + r->fs > samples) {
				from = c->seq0 + i;
				gap_end = c->ts[i];
				break;
			}
	if (samples < s->lost_end) {
		/* frames recd never got were let go: lost for good */
		uint64_t end = from != s->next ? gap_end : s->lost_end;
		uint32_t ms = (uint32_t)((end - samples) * 1000 / r->rate);

		if (end > samples && proto_encode_rec_gap(++k->reqid, r->id, s->name, from, samples,
		    ms > 0 ? ms : 1, &buf, &len) == 0) {
			(void)recout_send(k, buf, len);
			log_warnx("recout: %s %s: %u ms lost while recd was away", r->id, s->name, ms);
			recout_event(r, PROTO_RECST_GAP, "", "", s->name, ms);
		}
	}
	s->send = from;
}

static void
recout_on_ack(struct recout_link *k, uint32_t reqid, const struct proto_rec_ack *m)
{
	struct recout *r = recout_find(k, m->rec);
	struct recout_stream *s;
	size_t i;

	if (r == NULL || (s = recout_stream_find(r, m->stream)) == NULL)
		return;
	s->acked = m->samples;
	if (m->path[0] != '\0' && (s->path == NULL || strcmp(s->path, m->path) != 0)) {
		free(s->path);
		s->path = xstrdup(m->path);
	}
	recout_release(k, r, s, m->samples);
	if (m->resend)
		recout_rewind(k, r, s, m->samples);
	if (r->state == RO_STARTING && reqid == r->start_reqid) {
		s->started = 1;
		for (i = 0; i < r->nst && r->st[i].started; i++)
			;
		if (i == r->nst) {
			r->state = RO_RUNNING;
			if (!r->announced) {
				r->announced = 1;
				recout_event(r, PROTO_RECST_STARTED, "", "", "", 0);
			}
		}
	}
}

static void
recout_on_done(struct recout_link *k, uint32_t reqid, const struct proto_rec_done *m)
{
	struct recout *r = recout_find(k, m->rec);
	struct recout_stream *s;
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < m->files.n && i < r->nst; i++) {
		s = &r->st[i];
		if (s->path == NULL || strcmp(s->path, m->files.v[i]) != 0) {
			free(s->path);
			s->path = xstrdup(m->files.v[i]);
		}
		s->ms = i < m->ms.n ? m->ms.v[i] : 0;
	}
	if (m->status == PROTO_REC_OK && !r->stopped)
		return;		/* not asked for: nothing is over */
	if (m->status != PROTO_REC_OK)
		log_warnx("recout: %s: recording failed: %s", r->id, m->reason);
	else
		log_info("recout: %s: done", r->id);
	recout_event(r, m->status == PROTO_REC_OK ? PROTO_RECST_DONE : PROTO_RECST_FAILED,
	    m->reason, m->sidecar, "", 0);
	(void)reqid;
	if (r->stopped)
		recout_free(k, r);
	else {
		r->state = RO_DEAD;	/* the producer stops it later */
		for (i = 0; i < r->nst; i++)
			recout_chunks_free(k, r, &r->st[i]);
	}
}

static void
recout_on_error(struct mediad *md, struct recout_link *k, uint32_t reqid,
    const struct proto_error *m)
{
	struct recout *r;

	for (r = k->head; r != NULL; r = r->next)
		if (reqid != 0 && (reqid == r->start_reqid || reqid == r->stop_reqid))
			break;
	if (r == NULL) {
		/*
		 * Frames of a recording recd no longer has open (it restarted, or
		 * gave the recording up while it heard nothing from us): which
		 * one, the ERROR does not say, so every running recording is
		 * started again (recd resumes its files; a repeat changes nothing).
		 */
		log_debug("recout: recd refused request %u: %s", reqid, m->text);
		if (m->code == PROTO_ERR_NOSESSION &&
		    loop_now(md->loop) - k->resync_at >= RECOUT_RETRY_MS) {
			k->resync_at = loop_now(md->loop);
			for (r = k->head; r != NULL; r = r->next)
				if (r->state == RO_RUNNING)
					recout_send_start(k, r);
		}
		return;
	}
	log_warnx("recout: %s: recd refused %s: %s", r->id,
	    reqid == r->start_reqid ? "REC_START" : "REC_STOP", m->text);
	if (m->code == PROTO_ERR_NOSESSION && reqid == r->stop_reqid) {
		recout_send_start(k, r);	/* recd lost it: open it again, then stop */
		return;
	}
	recout_event(r, PROTO_RECST_FAILED, m->text, "", "", 0);
	if (r->stopped)
		recout_free(k, r);
	else
		r->state = RO_DEAD;
}

static void
recout_on_hello(struct recout_link *k, const struct proto_hello *m)
{
	struct recout *r;

	if (k->instance != 0 && m->instance != k->instance) {
		log_warnx("recout: recd restarted: %zu recording(s) started again", k->count);
		for (r = k->head; r != NULL; r = r->next)
			if (r->state != RO_DEAD)
				recout_send_start(k, r);
	} else if (k->instance == 0)
		log_info("recout: recd %s answers", m->node);
	k->instance = m->instance;
}

static void
recout_read(struct recout_link *k, struct mediad *md)
{
	struct proto_msg m;
	zmq_msg_t msg;
	int i;

	for (i = 0; i < RECOUT_DRAIN; i++) {
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, k->sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			return;
		}
		if (proto_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &m) != 0) {
			log_warnx("recout: undecodable message from recd");
			zmq_msg_close(&msg);
			continue;
		}
		k->heard = loop_now(md->loop);
		switch (m.type) {
		case PROTO_HELLO:
			recout_on_hello(k, &m.u.hello);
			break;
		case PROTO_REC_ACK:
			recout_on_ack(k, m.reqid, &m.u.rec_ack);
			break;
		case PROTO_REC_DONE:
			recout_on_done(k, m.reqid, &m.u.rec_done);
			break;
		case PROTO_ERROR:
			recout_on_error(md, k, m.reqid, &m.u.error);
			break;
		default:
			log_debug("recout: %s from recd ignored", proto_type_name(m.type));
			break;
		}
		proto_msg_free(&m);
		zmq_msg_close(&msg);
	}
}

static void
recout_on_sock(int fd, uint32_t events, void *arg)
{
	struct mediad *md = arg;

	(void)fd;
	(void)events;
	recout_read(md->recout, md);
}

/* Every RECOUT_FLUSH_MS: HELLO, frames, stops, retries. */
static void
recout_on_timer(void *arg)
{
	struct mediad *md = arg;
	struct recout_link *k = md->recout;
	struct recout *r, *next;
	uint64_t now = loop_now(md->loop);
	int full = 0;
	size_t i;
	void *buf;
	size_t len;

	recout_read(k, md);
	if (now - k->hello_at >= RECOUT_HELLO_MS) {
		k->hello_at = now;
		if (proto_encode_hello(++k->reqid, "mediad", md->node, md->instance, &buf, &len) == 0)
			(void)recout_send(k, buf, len);
		if (k->let_go > 0) {
			log_warnx("recout: %.1f s of recorded audio let go unacknowledged "
			    "(recd behind or away)", (double)k->let_go / 50);
			k->let_go = 0;
		}
	}
	for (r = k->head; r != NULL; r = next) {
		next = r->next;
		switch (r->state) {
		case RO_STARTING:
			if (now - r->asked_at >= RECOUT_RETRY_MS)
				recout_send_start(k, r);
			break;
		case RO_RUNNING:
			for (i = 0; i < r->nst && !full; i++)
				if (recout_flush_stream(k, r, &r->st[i]) == EAGAIN)
					full = 1;
			if (!r->stopped || full)
				break;
			/* everything sent, and acknowledged (or recd had 2 s for it) */
			for (i = 0; i < r->nst && r->st[i].send == r->st[i].next &&
			    (r->st[i].acked >= r->st[i].end_ts || now - r->stopped_at >= RECOUT_RETRY_MS);
			    i++)
				;
			if (i == r->nst)
				recout_send_stop(k, r);
			break;
		case RO_STOPPING:
			if (now - r->asked_at >= RECOUT_RETRY_MS)
				recout_send_stop(k, r);
			break;
		case RO_DEAD:
			break;
		}
		if (r->stopped && r->state != RO_DEAD && now - r->stopped_at >= RECOUT_GIVEUP_MS) {
			log_warnx("recout: %s: recd did not close it in %d s: given up", r->id,
			    RECOUT_GIVEUP_MS / 1000);
			recout_event(r, PROTO_RECST_FAILED, "recd not reachable", "", "", 0);
			recout_free(k, r);
		}
	}
	recout_read(k, md);
	loop_timer_start(md->loop, &k->t, RECOUT_FLUSH_MS);
}

/* ------------------------------------------------------------ start, stop */

int
recout_init(struct mediad *md)
{
	struct recout_link *k = xcalloc(1, sizeof(*k));
	int linger = 0, hwm = 200000;
	size_t fdlen = sizeof(k->fd);

	if ((k->sock = zmq_socket(md->zmq, ZMQ_DEALER)) == NULL ||
	    zmq_setsockopt(k->sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(k->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_connect(k->sock, md->conf->ctl_recorder) != 0 ||
	    zmq_getsockopt(k->sock, ZMQ_FD, &k->fd, &fdlen) != 0) {
		log_warnx("recout: %s: %s", md->conf->ctl_recorder, zmq_strerror(errno));
		if (k->sock != NULL)
			zmq_close(k->sock);
		free(k);
		return EINVAL;
	}
	if (loop_fd_add(md->loop, k->fd, EPOLLIN, recout_on_sock, md) != 0) {
		zmq_close(k->sock);
		free(k);
		return EINVAL;
	}
	md->recout = k;
	loop_timer_init(&k->t, recout_on_timer, md);
	loop_timer_start(md->loop, &k->t, 0);
	log_info("recout: recorder at %s", md->conf->ctl_recorder);
	return 0;
}

/*
 * mediad stops: the producers have stopped every recording; what recd can
 * still take goes now, and REC_DONE is awaited for at most wait_ms.
 */
void
recout_shutdown(struct mediad *md, uint64_t wait_ms)
{
	struct recout_link *k = md->recout;
	struct recout *r;
	uint64_t until = clock_mono_ms() + wait_ms;
	struct recout_chunk *c;
	size_t i;

	if (k == NULL)
		return;
	loop_timer_stop(md->loop, &k->t);
	loop_fd_del(md->loop, k->fd);
	while (k->count > 0 && recout_up(md) && clock_mono_ms() < until) {
		zmq_pollitem_t pi = { k->sock, 0, ZMQ_POLLIN, 0 };

		for (r = k->head; r != NULL; r = r->next) {
			int sent = 1;

			if (r->state != RO_RUNNING)
				continue;
			for (i = 0; i < r->nst; i++)
				if (recout_flush_stream(k, r, &r->st[i]) != 0)
					sent = 0;	/* recd's queue is full: again next round */
			if (sent)
				recout_send_stop(k, r);
		}
		(void)zmq_poll(&pi, 1, 50);
		recout_read(k, md);
	}
	if (k->count > 0)
		log_warnx("recout: %zu recording(s) not closed by recd", k->count);
	while (k->head != NULL)
		recout_free(k, k->head);
	for (i = 0; i < 2; i++)
		while ((c = k->free[i]) != NULL) {
			k->free[i] = c->next;
			free(c);
		}
	zmq_close(k->sock);
	free(k);
	md->recout = NULL;
}
