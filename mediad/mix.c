/*
 * mix.c — the room mixer's arithmetic (see mix.h): jitter buffer, N-1
 * mix with saturation, talk level, and the speexdsp resampler glue.
 * Nothing here allocates per frame or touches a socket.
 */
#include <stdlib.h>
#include <string.h>

#include <speex/speex_resampler.h>

#include "common/xmalloc.h"
#include "mix.h"

/* ---------------------------------------------------------------- jitter buffer */

#define JBUF_LATE_RESTART	10	/* late packets in a row: the timestamps jumped back */
void
jbuf_init_depth(struct jbuf *jb, uint32_t frame_ts, unsigned depth, unsigned ahead)
{
	memset(jb, 0, sizeof(*jb));
	jb->frame_ts = frame_ts;
	jb->depth = depth;
	jb->max_ahead = ahead < JBUF_SLOTS ? ahead : JBUF_SLOTS - 1;
}

void
jbuf_init(struct jbuf *jb, uint32_t frame_ts)
{
	jbuf_init_depth(jb, frame_ts, JBUF_DEPTH, JBUF_DEPTH + 4);
}

/* The slot k frames after the one the next tick plays. */
static struct jbuf_slot *
jbuf_slot_at(struct jbuf *jb, uint32_t k)
{
	return &jb->slot[(jb->head + k) % JBUF_SLOTS];
}

/* Playout moves one frame on. */
static void
jbuf_advance(struct jbuf *jb)
{
	jb->slot[jb->head].used = 0;
	jb->head = (jb->head + 1) % JBUF_SLOTS;
	jb->next_ts += jb->frame_ts;
}

/* Playout (re)starts depth frames before the frame at ts. */
static void
jbuf_restart(struct jbuf *jb, uint32_t ssrc, uint32_t ts)
{
	int i;

	for (i = 0; i < JBUF_SLOTS; i++)
		jb->slot[i].used = 0;
	jb->playing = 1;
	jb->ssrc = ssrc;
	jb->next_ts = ts - jb->depth * jb->frame_ts;
	jb->head = 0;
	jb->missing = 0;
	jb->late_run = 0;
}

unsigned
jbuf_depth(const struct jbuf *jb)
{
	unsigned i, n = 0;

	for (i = 0; i < JBUF_SLOTS; i++)
		n += jb->slot[i].used != 0;
	return n;
}

/* Drops the oldest buffered frame: playout moves one frame on. */
static void
jbuf_skip(struct jbuf *jb)
{
	jbuf_advance(jb);
	jb->skipped++;
}

/* Files one frame starting at timestamp ts; 1 taken, 0 dropped as late. */
static int
jbuf_put_one(struct jbuf *jb, uint32_t ssrc, uint32_t ts, const struct codec_frame *f)
{
	int32_t d = (int32_t)(ts - jb->next_ts);
	uint32_t k, off, grid;
	struct jbuf_slot *s;

	if (!jb->playing || ssrc != jb->ssrc) {
		jbuf_restart(jb, ssrc, ts);
		d = (int32_t)(ts - jb->next_ts);
	}
	if (d < 0) {
		if (++jb->late_run < JBUF_LATE_RESTART) {
			jb->late++;
			return 0;
		}
		jbuf_restart(jb, ssrc, ts);	/* the stream's timestamps went back */
		d = (int32_t)(ts - jb->next_ts);
	}
	jb->late_run = 0;
	k = (uint32_t)d / jb->frame_ts;
	off = (uint32_t)d % jb->frame_ts;
	if (k >= JBUF_SLOTS) {
		jbuf_restart(jb, ssrc, ts);	/* a jump ahead beyond the window */
		k = jb->depth;
		off = 0;
	}
	grid = jb->next_ts + k * jb->frame_ts;
	s = jbuf_slot_at(jb, k);
	if (f->ft >= 0) {
		/* AMR: one whole frame per slot */
		s->f = *f;
		s->ts = grid;
		s->used = 1;
	} else {
		/* G.711: samples at their offset; a 10 ms packet fills half a slot */
		if (!s->used || s->ts != grid) {
			memset(&s->f, 0, sizeof(s->f));
			s->f.ft = -1;
			s->ts = grid;
			s->used = 1;
		}
		if (off + f->len > sizeof(s->f.data))
			return 0;
		memcpy(s->f.data + off, f->data, f->len);
		if (off + f->len > s->f.len)
			s->f.len = off + f->len;
	}
	while (k >= jb->max_ahead) {
		jbuf_skip(jb);	/* the phone's clock runs fast: do not let delay grow */
		k--;
	}
	return 1;
}

int
jbuf_put(struct jbuf *jb, uint32_t ssrc, uint32_t ts, const struct codec_frame *fr, int n)
{
	uint32_t at = ts;
	int i, taken = 0;

	for (i = 0; i < n; i++) {
		taken += jbuf_put_one(jb, ssrc, at, &fr[i]);
		at += fr[i].ft >= 0 ? jb->frame_ts : fr[i].len;
	}
	return taken;
}

enum jbuf_get
jbuf_get(struct jbuf *jb, struct codec_frame *out)
{
	struct jbuf_slot *s;

	if (!jb->playing)
		return JBUF_SILENT;
	s = jbuf_slot_at(jb, 0);
	if (s->used && s->ts == jb->next_ts) {
		*out = s->f;
		if (out->ft < 0)
			out->len = sizeof(out->data);	/* a G.711 slot is a whole frame, gaps silent */
		jbuf_advance(jb);
		jb->missing = 0;
		return JBUF_FRAME;
	}
	jbuf_advance(jb);
	if (++jb->missing >= JBUF_IDLE && jbuf_depth(jb) == 0) {
		jb->playing = 0;	/* the phone paused: stop concealing */
		return JBUF_SILENT;
	}
	jb->concealed++;
	return JBUF_MISSING;
}

/* ---------------------------------------------------------------- decoding */

void
mix_decode(struct codec_dec *d, enum codec_id id, const struct codec_frame *fr,
    struct mix_resampler *rs, int16_t *tmp, int16_t *out, size_t n)
{
	unsigned cs = codec_frame_samples(id);
	int k = codec_decode(d, fr, tmp);

	if (k < 0)
		k = 0;
	if ((unsigned)k < cs)
		memset(tmp + k, 0, (cs - (unsigned)k) * sizeof(*tmp));
	if (rs != NULL)
		mix_resample(rs, tmp, out);
	else
		memcpy(out, tmp, n * sizeof(*tmp));
}

/* ---------------------------------------------------------------- mixing */

void
mix_add(int32_t *sum, const int16_t *pcm, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sum[i] += pcm[i];
}

void
mix_minus(int16_t *out, const int32_t *sum, const int16_t *own, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int32_t v = sum[i] - (own != NULL ? own[i] : 0);

		out[i] = (int16_t)(v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v);
	}
}

unsigned
mix_level(const int16_t *pcm, size_t n)
{
	uint64_t acc = 0;
	size_t i;

	for (i = 0; i < n; i++)
		acc += (uint64_t)(pcm[i] < 0 ? -(int32_t)pcm[i] : pcm[i]);
	return n ? (unsigned)(acc / n) : 0;
}

/* ---------------------------------------------------------------- resampling */

/* speexdsp's quality 3 is its "VoIP" setting: good speech, little CPU */
#define MIX_RESAMPLER_QUALITY	3

struct mix_resampler {
	SpeexResamplerState	*st;
	unsigned		 in_frame, out_frame;
};

struct mix_resampler *
mix_resampler_new(unsigned in_rate, unsigned out_rate)
{
	struct mix_resampler *r;
	int err = 0;

	if (in_rate / 50 > CODEC_FRAME_MAX || out_rate / 50 > CODEC_FRAME_MAX)
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->st = speex_resampler_init(1, in_rate, out_rate, MIX_RESAMPLER_QUALITY, &err);
	if (r->st == NULL || err != RESAMPLER_ERR_SUCCESS) {
		free(r);
		return NULL;
	}
	r->in_frame = in_rate / 50;
	r->out_frame = out_rate / 50;
	/* the filter's delay is taken once here instead of as a short first frame */
	speex_resampler_skip_zeros(r->st);
	return r;
}

void
mix_resampler_free(struct mix_resampler *r)
{
	if (r == NULL)
		return;
	speex_resampler_destroy(r->st);
	free(r);
}

size_t
mix_resample(struct mix_resampler *r, const int16_t *in, int16_t *out)
{
	spx_uint32_t in_len = r->in_frame, out_len = r->out_frame;

	speex_resampler_process_int(r->st, 0, in, &in_len, out, &out_len);
	if (out_len < r->out_frame) {
		/* only while the filter fills (or never): hold the last sample, no click */
		int16_t last = out_len > 0 ? out[out_len - 1] : 0;

		while (out_len < r->out_frame)
			out[out_len++] = last;
	}
	return out_len;
}
