/*
 * rec.c — recd's recordings: their names on disk, opening or resuming
 * their files, writing frames in sequence, gaps, the acknowledgements
 * mediad frees its buffer by, stopping, and failing.
 *
 * A recording is open (rd->recs) from REC_START until REC_STOP or a
 * failure, then finished (rd->recent, the last RECD_RECENT of them, so
 * that a repeated REC_STOP gets the same REC_DONE and late frames are
 * dropped quietly).  Each stream is one writer (writer.c); the sidecar
 * (sidecar.c) is written at the start, on a gap, at the end and on a
 * failure.
 *
 * Ordering rule: a stream's frames are written only in sequence-number
 * order.  A frame past the next expected number means something was lost
 * on the way (recd restarted, a queue overflowed): it is not written, and
 * an ACK asks mediad to resend from the file's end; placing by media
 * timestamp (writer_put) then drops whatever was there already.
 *
 * Never calls zmq_*: answers and unasked messages go through ctl.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/evs.h"
#include "common/log.h"
#include "common/service.h"
#include "common/xmalloc.h"
#include "recd.h"

/* ---------------------------------------------------------------- names */

char *
rec_safe_id(const char *id)
{
	size_t n = strlen(id), i, keep = n;
	uint32_t h = 2166136261u;	/* FNV-1a of the whole id */
	char *s;

	for (i = 0; i < n; i++)
		h = (h ^ (uint8_t)id[i]) * 16777619u;
	if (n > RECD_SAFE_ID_MAX)
		keep = RECD_SAFE_ID_MAX - 9;	/* '-' and 8 hex digits follow */
	s = xmalloc(RECD_SAFE_ID_MAX + 1);
	for (i = 0; i < keep; i++) {
		char c = id[i];

		s[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == '_' ? c : '_';
	}
	if (keep < n)
		snprintf(s + keep, RECD_SAFE_ID_MAX + 1 - keep, "-%08" PRIx32, h);
	else
		s[keep] = '\0';
	return s;
}

char *
rec_base(const char *dir, uint64_t start_ms, const char *safe)
{
	time_t t = (time_t)(start_ms / 1000);
	struct tm tm;
	char *s;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	xasprintf(&s, "%s/%04d/%02d/%02d/%02d%02d%02d_%s", dir, tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, safe);
	return s;
}

int
rec_stream_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > PROTO_STREAM_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return 1;
}

static const char *
basename_of(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* ---------------------------------------------------------------- the two lists */

/* The bucket of id in rd->bucket (FNV-1a). */
static struct rec **
rec_bucket(struct recd *rd, const char *id)
{
	uint32_t h = 2166136261u;

	while (*id != '\0')
		h = (h ^ (uint8_t)*id++) * 16777619u;
	return &rd->bucket[h % RECD_BUCKETS];
}

/*
 * Every REC_FRAMES looks its recording up: by a hash of the id, not a walk
 * through every open recording (a thousand of them, 30,000 messages a s).
 */
struct rec *
rec_find(struct recd *rd, const char *id)
{
	struct rec *r;

	for (r = *rec_bucket(rd, id); r != NULL; r = r->hnext)
		if (strcmp(r->id, id) == 0)
			return r;
	return NULL;
}

/* r opens: on rd->recs and in its bucket. */
static void
rec_link_open(struct recd *rd, struct rec *r)
{
	struct rec **b = rec_bucket(rd, r->id);

	r->next = rd->recs;
	rd->recs = r;
	r->hnext = *b;
	*b = r;
}

/* Takes r out of its bucket, if it is there. */
static void
rec_unhash(struct recd *rd, struct rec *r)
{
	struct rec **pp;

	for (pp = rec_bucket(rd, r->id); *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == r) {
			*pp = r->hnext;
			r->hnext = NULL;
			return;
		}
}

static struct rec *
rec_find_recent(struct recd *rd, const char *id)
{
	struct rec *r;

	for (r = rd->recent; r != NULL; r = r->next)
		if (strcmp(r->id, id) == 0)
			return r;
	return NULL;
}

/* Takes r out of the list at *head; 1 if it was there. */
static int
rec_unlink(struct rec **head, struct rec *r)
{
	struct rec **pp;

	for (pp = head; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			r->next = NULL;
			return 1;
		}
	return 0;
}

static void
rec_free(struct rec *r)
{
	size_t i;

	for (i = 0; i < r->nstreams; i++) {
		(void)writer_close(r->streams[i].w);
		free(r->streams[i].name);
		free(r->streams[i].codec);
		free(r->streams[i].path);
	}
	for (i = 0; i < r->nparts; i++)
		free(r->parts[i]);
	free(r->parts);
	free(r->streams);
	free(r->gaps);
	free(r->id);
	free(r->safe);
	free(r->base);
	free(r->sidecar);
	free(r->reason);
	free(r->stop_reason);
	free(r);
}

/* Moves r (open) to the front of the finished ones, forgetting the oldest. */
static void
rec_retire(struct recd *rd, struct rec *r)
{
	struct rec **pp;
	size_t n;

	rec_unlink(&rd->recs, r);
	rec_unhash(rd, r);
	r->next = rd->recent;
	rd->recent = r;
	for (pp = &rd->recent, n = 0; *pp != NULL; pp = &(*pp)->next, n++)
		if (n == RECD_RECENT) {
			rec_free(*pp);
			*pp = NULL;
			break;
		}
}

size_t
rec_count(const struct recd *rd)
{
	const struct rec *r;
	size_t n = 0;

	for (r = rd->recs; r != NULL; r = r->next)
		n++;
	return n;
}

uint64_t
rec_stream_ms(const struct rec *r, size_t i)
{
	return r->streams[i].samples * 1000 / (uint64_t)r->rate;
}

/* ---------------------------------------------------------------- streams, participants */

static struct rec_stream *
rec_stream_find(struct rec *r, const char *name, size_t *ip)
{
	size_t i;

	for (i = 0; i < r->nstreams; i++)
		if (strcmp(r->streams[i].name, name) == 0) {
			if (ip != NULL)
				*ip = i;
			return &r->streams[i];
		}
	return NULL;
}

void
rec_stream_add(struct rec *r, const char *name, const char *codec, int evs)
{
	struct rec_stream *s;

	if ((s = rec_stream_find(r, name, NULL)) != NULL) {
		if (s->codec[0] == '\0' && codec[0] != '\0') {
			free(s->codec);
			s->codec = xstrdup(codec);
		}
		return;
	}
	r->streams = xrealloc(r->streams, (r->nstreams + 1) * sizeof(*r->streams));
	s = &r->streams[r->nstreams++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	s->codec = xstrdup(codec);
	s->evs = evs;
	xasprintf(&s->path, "%s_%s.%s", r->base, name, evs ? "evs" : "wav");
}

void
rec_part_add(struct rec *r, const char *who)
{
	xstrv_add_once(&r->parts, &r->nparts, who);
}

void
rec_gap_add(struct rec *r, size_t stream, uint64_t ts, uint32_t ms)
{
	r->gaps = xrealloc(r->gaps, (r->ngaps + 1) * sizeof(*r->gaps));
	r->gaps[r->ngaps].stream = stream;
	r->gaps[r->ngaps].ts = ts;
	r->gaps[r->ngaps].ms = ms;
	r->ngaps++;
}

/* ---------------------------------------------------------------- sidecar, failure */

static void
rec_write_sidecar(struct rec *r)
{
	int err;

	if ((err = sidecar_write(r)) != 0) {
		if (r->sidecar_ok || r->status != REC_RECORDING)
			log_warnx("rec %s: cannot write %s: %s", r->id, r->sidecar, strerror(err));
		r->sidecar_ok = 0;
	} else
		r->sidecar_ok = 1;
}

/* Closes every file of r, noting the first error as the reason if it has none. */
static void
rec_close_files(struct rec *r)
{
	size_t i;
	int err;

	for (i = 0; i < r->nstreams; i++) {
		struct rec_stream *s = &r->streams[i];

		if (s->w == NULL)
			continue;
		err = writer_flush(s->w);
		s->samples = writer_samples(s->w);
		if (writer_close(s->w) != 0 && err == 0)
			err = EIO;
		s->w = NULL;
		if (err != 0 && r->reason == NULL) {
			r->status = REC_FAILED;
			xasprintf(&r->reason, "%s: %s", basename_of(s->path), strerror(err));
		}
	}
}

/*
 * r failed: what (a file name or a directory's path) gave err.  Closes what it wrote,
 * writes the sidecar if it can, and retires r.  The caller tells mediad.
 */
static void
rec_fail(struct recd *rd, struct rec *r, const char *what, int err)
{
	r->status = REC_FAILED;
	if (r->end_ms == 0)
		r->end_ms = clock_wall_ms();
	free(r->reason);
	xasprintf(&r->reason, "%s: %s", what, writer_strerror(err));
	log_warnx("rec %s: failed: %s", r->id, r->reason);
	rec_close_files(r);
	rec_write_sidecar(r);
	rec_retire(rd, r);
}

static void
rec_set_owner(struct rec *r, const void *owner, size_t len)
{
	if (len > sizeof(r->owner))
		len = 0;
	memcpy(r->owner, owner, len);
	r->owner_len = len;
	r->heard = clock_mono_ms();
}

void
rec_owner_seen(struct recd *rd, const void *owner, size_t len)
{
	struct rec *r;
	uint64_t now = clock_mono_ms();

	for (r = rd->recs; r != NULL; r = r->next)
		if (r->owner_len == len && memcmp(r->owner, owner, len) == 0)
			r->heard = now;
}

/*
 * The mediad feeding r has said nothing for RECD_OWNER_MS (killed, or
 * gone with its host): r ends where its files end, failed, and the
 * sidecar says why.  A mediad that restarts has lost what it was
 * recording, so nothing would ever resume it.
 */
static void
rec_orphan(struct recd *rd, struct rec *r)
{
	r->status = REC_FAILED;
	r->end_ms = clock_wall_ms();
	free(r->reason);
	xasprintf(&r->reason, "mediad stopped feeding it (no word for %d s): the files end "
	    "where its audio stopped", RECD_OWNER_MS / 1000);
	log_warnx("rec %s: %s", r->id, r->reason);
	r->orphaned = 1;
	rec_close_files(r);
	rec_write_sidecar(r);
	rec_retire(rd, r);
}

/*
 * Are n samples from media time ts believable for r: not ending far past
 * the wall clock (a garbage timestamp must not fill a disk with silence)?
 */
static int
rec_plausible(const struct rec *r, uint64_t ts, uint64_t n)
{
	uint64_t now = clock_wall_ms(), elapsed = now > r->start_ms ? now - r->start_ms : 0;
	uint64_t limit = (elapsed / 1000 + RECD_AHEAD_MAX_S) * (uint64_t)r->rate;

	return ts <= limit && n <= limit - ts;
}

/* ---------------------------------------------------------------- REC_START */

/* Opens stream i's file; it then wants its frames from its end. */
static int
rec_open_stream(struct rec *r, size_t i)
{
	struct rec_stream *s = &r->streams[i];
	int err;

	if (s->w != NULL)
		return 0;
	if ((err = writer_open(&s->w, s->path, r->rate, s->evs)) != 0)
		return err;
	s->samples = writer_samples(s->w);
	s->seq_known = 0;
	s->next_seq = 0;
	s->resend = 1;
	s->resend_at = 0;
	if (writer_resumed(s->w))
		log_info("rec %s: %s resumed at %.3f s", r->id, s->name,
		    (double)s->samples / r->rate);
	return 0;
}

/* Opens every stream not open yet; 0, or the failure has been dealt with (1). */
static int
rec_open_all(struct recd *rd, struct rec *r)
{
	size_t i;
	int err;

	if ((err = service_mkparents(r->base)) != 0) {
		char *dir = xstrndup(r->base, (size_t)(strrchr(r->base, '/') - r->base));

		rec_fail(rd, r, dir, err);	/* the whole path: which part is wrong? */
		free(dir);
		return 1;
	}
	for (i = 0; i < r->nstreams; i++)
		if ((err = rec_open_stream(r, i)) != 0) {
			rec_fail(rd, r, basename_of(r->streams[i].path), err);
			return 1;
		}
	return 0;
}

static int
rec_start_check(const struct proto_rec_start *m)
{
	uint64_t now = clock_wall_ms();
	size_t i, j;

	if (m->rate != 8000 && m->rate != 16000)
		return EINVAL;
	/*
	 * The start bounds how much a recording may hold (rec_plausible): a
	 * start in the future, or older than a day, is not one mediad sends.
	 */
	if (m->start_ms > now + RECD_START_AHEAD_MS || m->start_ms + RECD_START_AGE_MS < now)
		return EINVAL;
	if (m->codecs.n != 0 && m->codecs.n != m->streams.n)
		return EINVAL;
	if (m->formats.n != 0 && m->formats.n != m->streams.n)
		return EINVAL;
	for (i = 0; i < m->formats.n; i++)
		if (m->formats.v[i] > PROTO_REC_EVS)
			return EINVAL;
	for (i = 0; i < m->streams.n; i++) {
		if (!rec_stream_name_ok(m->streams.v[i]))
			return EINVAL;
		for (j = 0; j < i; j++)
			if (strcmp(m->streams.v[i], m->streams.v[j]) == 0)
				return EINVAL;
	}
	return 0;
}

/* Adds m's streams and participants to r. */
static void
rec_take(struct rec *r, const struct proto_rec_start *m)
{
	size_t i;

	for (i = 0; i < m->streams.n; i++)
		rec_stream_add(r, m->streams.v[i], m->codecs.n ? m->codecs.v[i] : "",
		    m->formats.n ? m->formats.v[i] == PROTO_REC_EVS : 0);
	for (i = 0; i < m->participants.n; i++)
		rec_part_add(r, m->participants.v[i]);
}

int
rec_start(struct recd *rd, const struct proto_rec_start *m, const void *owner, size_t owner_len,
    struct rec **rp)
{
	struct rec *r;
	size_t had, i, n;
	int err;

	if ((err = rec_start_check(m)) != 0)
		return err;
	if ((r = rec_find(rd, m->rec)) != NULL && r->start_ms == m->start_ms &&
	    r->rate == (int)m->rate) {
		/* a repeat, or more streams (a room's late joiner) */
		rec_set_owner(r, owner, owner_len);
		had = r->nstreams;
		for (i = 0, n = had; i < m->streams.n; i++)
			n += rec_stream_find(r, m->streams.v[i], NULL) == NULL;
		if (n > PROTO_REC_STREAMS_MAX)
			return EINVAL;		/* more files than a REC_DONE can name */
		rec_take(r, m);
		if (r->nstreams != had) {
			if (rec_open_all(rd, r) != 0)
				goto out;
			log_info("rec %s: %zu stream(s) added", r->id, r->nstreams - had);
			rec_write_sidecar(r);
		}
		(void)rec_sync(rd, r);	/* its ACKs say what is on disk (or it failed) */
		goto out;
	}
	if (r != NULL) {
		/* its sender has forgotten it: it will never be stopped */
		log_warnx("rec %s: a new recording of the same id ends the old one", r->id);
		r->status = REC_FAILED;
		free(r->reason);
		r->reason = xstrdup("superseded by a new recording of the same id");
		rec_close_files(r);
		rec_write_sidecar(r);
		rec_retire(rd, r);
	}
	if ((r = rec_find_recent(rd, m->rec)) != NULL) {
		rec_unlink(&rd->recent, r);	/* started again: it is open once more */
		rec_free(r);
	}

	r = xcalloc(1, sizeof(*r));
	r->id = xstrdup(m->rec);
	r->safe = rec_safe_id(m->rec);
	r->kind = (int)m->kind;
	r->rate = (int)m->rate;
	r->start_ms = m->start_ms;
	r->base = rec_base(rd->dir, m->start_ms, r->safe);
	xasprintf(&r->sidecar, "%s.json", r->base);
	r->status = REC_RECORDING;
	rec_set_owner(r, owner, owner_len);
	rec_take(r, m);
	/* a recd before this one may have begun it: take its streams, gaps, participants */
	switch ((err = sidecar_load(r))) {
	case 0:
	case ENOENT:
		break;
	case EEXIST:
		log_warnx("rec %s: %s belongs to another recording", r->id, r->sidecar);
		rec_free(r);
		return EEXIST;
	default:
		log_warnx("rec %s: %s unreadable (%s): written anew", r->id, r->sidecar,
		    strerror(err));
		break;
	}
	rec_link_open(rd, r);
	if (rec_open_all(rd, r) != 0)
		goto out;
	rec_write_sidecar(r);
	log_info("rec %s: recording %zu stream(s) at %d Hz to %s_*.wav", r->id, r->nstreams,
	    r->rate, r->base);
out:
	*rp = r;
	return 0;
}

/* ---------------------------------------------------------------- frames, gaps */

/* The open recording and stream a REC_FRAMES or REC_GAP names; see rec_frames. */
static int
rec_lookup(struct recd *rd, const char *id, const char *stream, const void *owner,
    size_t owner_len, struct rec **rp, size_t *ip)
{
	struct rec *r;

	if ((r = rec_find(rd, id)) == NULL) {
		/* a finished one's stragglers are dropped; one given up for a silent mediad
		 * that is still talking must be started again (ENOENT: mediad does) */
		r = rec_find_recent(rd, id);
		return r != NULL && !r->orphaned ? EALREADY : ENOENT;
	}
	if (rec_stream_find(r, stream, ip) == NULL)
		return EINVAL;
	rec_set_owner(r, owner, owner_len);
	*rp = r;
	return 0;
}

/* Writing stream s of r gave err: r fails, and its mediad hears so at once. */
static void
rec_write_failed(struct recd *rd, struct rec *r, const struct rec_stream *s, int err)
{
	rec_fail(rd, r, basename_of(s->path), err);
	ctl_send_done(rd, r, 0);
}

int
rec_sync(struct recd *rd, struct rec *r)
{
	size_t i;
	int err;

	for (i = 0; i < r->nstreams; i++) {
		struct rec_stream *s = &r->streams[i];

		if (s->w == NULL)
			continue;
		err = writer_flush(s->w);
		s->samples = writer_samples(s->w);
		if (err != 0) {
			rec_write_failed(rd, r, s, err);
			return err;
		}
	}
	return 0;
}

/* Asks mediad to resend stream i from the file's end, at most every RECD_ACK_MS. */
static void
rec_want_resend(struct recd *rd, struct rec *r, size_t i)
{
	struct rec_stream *s = &r->streams[i];
	uint64_t now = loop_now(rd->loop);

	if (s->resend_at != 0 && now - s->resend_at < RECD_ACK_MS)
		return;
	if (rec_sync(rd, r) != 0)
		return;
	s->resend = 1;
	ctl_send_ack(rd, r, i, 0);
}

/* Frame seq (n of them) was taken: the next one expected follows it. */
static void
rec_seq_advance(struct rec_stream *s, uint32_t seq, uint32_t n)
{
	uint32_t next = seq + n;

	if (!s->seq_known || (int32_t)(next - s->next_seq) > 0)
		s->next_seq = next;
	s->seq_known = 1;
}

/*
 * Is frame seq of stream i past the one due (one went missing on the
 * way)?  Then recd asks for a resend from the file's end and drops it.
 */
static int
rec_ahead(struct recd *rd, struct rec *r, size_t i, uint32_t seq)
{
	struct rec_stream *s = &r->streams[i];

	if (!s->seq_known || (int32_t)(seq - s->next_seq) <= 0)
		return 0;
	r->out_of_seq++;
	log_debug("rec %s: %s: frame %u while %u is due: resend asked", r->id, s->name, seq,
	    s->next_seq);
	rec_want_resend(rd, r, i);
	return 1;
}

/* After frames seq.. (n of them) went to s's file with err: counts, or the failure. */
static void
rec_wrote(struct recd *rd, struct rec *r, struct rec_stream *s, int err, uint64_t before,
    uint32_t seq, uint32_t n)
{
	s->samples = writer_samples(s->w);
	if (err != 0) {
		rec_write_failed(rd, r, s, err);
		return;
	}
	if (s->samples == before)
		r->dups++;
	r->frames += n;
	rec_seq_advance(s, seq, n);
}

int
rec_frames(struct recd *rd, const struct proto_rec_frames *m, const void *owner,
    size_t owner_len)
{
	struct rec_stream *s;
	struct rec *r;
	size_t i, k, n, frame_bytes;
	uint64_t before;
	const uint8_t *p;
	int err;

	if ((err = rec_lookup(rd, m->rec, m->stream, owner, owner_len, &r, &i)) != 0)
		return err == EALREADY ? 0 : err;	/* a finished one's stragglers */
	s = &r->streams[i];
	frame_bytes = (size_t)r->rate / (1000 / RECD_FRAME_MS) * 2;
	if (m->pcm.len % frame_bytes != 0)
		return EINVAL;
	n = m->pcm.len / 2;
	if (!rec_plausible(r, m->ts, n))
		return EINVAL;
	if (rec_ahead(rd, r, i, m->seq))
		return 0;
	/* 16-bit little-endian on the wire, whatever this host is */
	for (k = 0, p = m->pcm.p; k < n; k++, p += 2)
		rd->pcm[k] = (int16_t)(uint16_t)(p[0] | p[1] << 8);
	before = s->samples;
	err = writer_put(s->w, m->ts, rd->pcm, n);
	rec_wrote(rd, r, s, err, before, m->seq, (uint32_t)(m->pcm.len / frame_bytes));
	return 0;
}

int
rec_payloads(struct recd *rd, const struct proto_rec_payloads *m, const void *owner,
    size_t owner_len)
{
	struct rec_stream *s;
	struct rec *r;
	size_t i, k, total = 0, n = m->lens.n, fs;
	uint64_t before;
	int err;

	if ((err = rec_lookup(rd, m->rec, m->stream, owner, owner_len, &r, &i)) != 0)
		return err == EALREADY ? 0 : err;
	s = &r->streams[i];
	fs = (size_t)r->rate / (1000 / RECD_FRAME_MS);
	if (!s->evs)
		return EINVAL;
	/* whole storage frames, each as long as its ToC says */
	for (k = 0; k < n; k++) {
		int b;

		if (total + m->lens.v[k] > m->data.len || m->lens.v[k] < 1 ||
		    (b = evs_toc_bytes(m->data.p[total])) < 0 || (uint32_t)b + 1 != m->lens.v[k])
			return EINVAL;
		total += m->lens.v[k];
	}
	if (total != m->data.len || !rec_plausible(r, m->ts, n * fs))
		return EINVAL;
	if (rec_ahead(rd, r, i, m->seq))
		return 0;
	before = s->samples;
	err = writer_put_frames(s->w, m->ts, m->data.p, m->lens.v, n);
	rec_wrote(rd, r, s, err, before, m->seq, (uint32_t)n);
	return 0;
}

int
rec_gap(struct recd *rd, const struct proto_rec_gap *m, const void *owner, size_t owner_len)
{
	struct rec_stream *s;
	struct rec *r;
	uint64_t end;
	size_t i;
	int err;

	if ((err = rec_lookup(rd, m->rec, m->stream, owner, owner_len, &r, &i)) != 0)
		return err == EALREADY ? 0 : err;
	s = &r->streams[i];
	if (!rec_plausible(r, m->ts, (uint64_t)m->ms * (uint64_t)r->rate / 1000))
		return EINVAL;
	end = m->ts + (uint64_t)m->ms * (uint64_t)r->rate / 1000;
	if (s->samples < end) {
		log_info("rec %s: %s: %u ms lost at %.3f s", r->id, s->name, m->ms,
		    (double)m->ts / r->rate);
		err = writer_fill(s->w, end);
		s->samples = writer_samples(s->w);
		if (err != 0) {
			rec_write_failed(rd, r, s, err);
			return 0;
		}
		rec_gap_add(r, i, m->ts, m->ms);
		rec_write_sidecar(r);
	}
	rec_seq_advance(s, m->seq, 0);
	return 0;
}

/* ---------------------------------------------------------------- acks */

static void
rec_ack_tick(void *arg)
{
	struct recd *rd = arg;
	struct rec *r, *next;
	uint64_t now = clock_mono_ms();
	size_t i;

	/*
	 * recd itself did not run for a while (a slow disk, a stopped
	 * process): what its mediads said meanwhile is still unread, so
	 * their silence says nothing this time.
	 */
	if (rd->ack_at != 0 && now - rd->ack_at > 2 * RECD_ACK_MS + 500)
		for (r = rd->recs; r != NULL; r = r->next)
			r->heard = now;
	rd->ack_at = now;
	for (r = rd->recs; r != NULL; r = next) {
		next = r->next;
		if (now - r->heard >= RECD_OWNER_MS)
			rec_orphan(rd, r);
	}
	for (r = rd->recs; r != NULL; r = next) {
		next = r->next;
		if (rec_sync(rd, r) != 0)
			continue;	/* failed: mediad has been told */
		for (i = 0; i < r->nstreams; i++) {
			const struct rec_stream *s = &r->streams[i];

			if (s->w != NULL && (s->resend || s->samples != s->acked_samples ||
			    (s->seq_known && s->next_seq != s->acked_seq)))
				ctl_send_ack(rd, r, i, 0);
		}
	}
	loop_timer_start(rd->loop, &rd->t_ack, RECD_ACK_MS);
}

void
rec_init(struct recd *rd)
{
	loop_timer_init(&rd->t_ack, rec_ack_tick, rd);
	loop_timer_start(rd->loop, &rd->t_ack, RECD_ACK_MS);
}

/* ---------------------------------------------------------------- REC_STOP, shutdown */

int
rec_stop(struct recd *rd, const struct proto_rec_stop *m, struct rec **rp)
{
	struct rec *r;
	size_t i;
	int err;

	if ((r = rec_find(rd, m->rec)) == NULL) {
		if ((r = rec_find_recent(rd, m->rec)) == NULL)
			return ENOENT;
		*rp = r;		/* a repeat: the same answer */
		return 0;
	}
	if (m->samples != 0 && !rec_plausible(r, m->samples, 0)) {
		log_warnx("rec %s: stop at %" PRIu64 " samples is past the wall clock: not padded",
		    r->id, m->samples);
	} else if (m->samples != 0) {
		for (i = 0; i < r->nstreams; i++) {
			struct rec_stream *s = &r->streams[i];

			err = writer_fill(s->w, m->samples);
			s->samples = writer_samples(s->w);
			if (err != 0) {
				rec_fail(rd, r, basename_of(s->path), err);
				goto out;
			}
		}
	}
	r->end_ms = m->end_ms != 0 ? m->end_ms : clock_wall_ms();
	r->stop_reason = xstrdup(m->reason);
	rec_close_files(r);
	if (r->status == REC_RECORDING)
		r->status = REC_OK;
	rec_write_sidecar(r);
	rec_retire(rd, r);
	log_info("rec %s: %s, %zu file(s), %.3f s (%" PRIu64 " frames, %" PRIu64
	    " duplicate, %" PRIu64 " out of sequence)", r->id,
	    r->status == REC_OK ? "done" : "failed", r->nstreams,
	    r->nstreams ? (double)r->streams[0].samples / r->rate : 0.0, r->frames, r->dups,
	    r->out_of_seq);
out:
	*rp = r;
	return 0;
}

void
rec_shutdown(struct recd *rd)
{
	struct rec *r;

	loop_timer_stop(rd->loop, &rd->t_ack);
	while ((r = rd->recs) != NULL) {
		rd->recs = r->next;
		rec_unhash(rd, r);
		rec_close_files(r);
		if (r->status == REC_RECORDING)
			r->status = REC_INTERRUPTED;
		rec_write_sidecar(r);
		log_info("rec %s: closed (interrupted at %.3f s)", r->id,
		    r->nstreams ? (double)r->streams[0].samples / r->rate : 0.0);
		rec_free(r);
	}
	while ((r = rd->recent) != NULL) {
		rd->recent = r->next;
		rec_free(r);
	}
}
