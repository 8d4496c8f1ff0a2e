/*
 * tap.c — recording a relayed 1:1 call: the relay passes each RTP packet
 * of the call's first audio stream on untouched, and hands a copy of its
 * payload here.  Per leg a jitter buffer and decoder (mix.c, codec.c)
 * turn it into 20 ms of PCM at the recording's rate; the caller's, the
 * callee's and their sum (the mix) go to recd through recout.c.
 *
 * One 20 ms clock (a timerfd) serves every recorded call.  At each tick
 * every recorded call takes one frame per leg: decoded, concealed (a
 * packet lost or late), or nothing (the phone sends nothing: hold,
 * silence suppression, before its first packet).  A leg with nothing puts
 * no frame; recd writes silence there, so each file's length is the wall
 * time from the start of the recording, and the three files stay aligned.
 * A tick that came late is caught up (at most TAP_CATCHUP frames); beyond
 * that the time passes as silence.  The recording's length is the wall
 * time from RECORD to its end, to the sample, not a count of ticks.
 *
 * The payload formats come from each phone's SDP (SESSION_UPDATE's fmt_*
 * lists).  A phone sends with the numbers of the SDP it received, so a
 * packet's payload type is looked up in the other phone's formats first,
 * then in its own.  A leg whose codec mediad cannot decode (Opus, G.722)
 * is recorded as silence, its codec named in the sidecar.
 *
 * An EVS call cannot be decoded either, but is kept as the phones sent
 * it: each leg a file of EVS storage frames (common/evs.h), each frame
 * placed by its RTP timestamp (no jitter buffer: a late frame is placed
 * where it belongs, or dropped when its place is written); no mix.
 *
 * The recording's rate is that of the codec the call agreed on (the
 * answer's first format): 16 kHz for AMR-WB, else 8 kHz; a leg that
 * switches to a codec of the other rate is resampled.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/evs.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "codec.h"
#include "mediad.h"
#include "mix.h"

#define TAP_TICK_MS	20
#define TAP_CATCHUP	25	/* late ticks caught up at once: 500 ms */
/*
 * A recording is not heard live, so its jitter buffer can be deep: it
 * plays TAP_DEPTH frames behind the first packet and trims only beyond
 * TAP_AHEAD, so a tick that comes up to ~400 ms late (a saturated loop)
 * still finds its frames.  Frames are stamped with the time they were
 * sent (TAP_DEPTH ticks before they are played), and a stop plays out
 * what is buffered, so the files stay aligned with the call's time.
 */
#define TAP_EVS_JUMP_S	3	/* an EVS timestamp this far from its arrival starts over */
#define TAP_DEPTH	20
#define TAP_AHEAD	30

/* one phone's audio, on its way to PCM */
struct tap_leg {
	struct codec_fmt	 fmt;		/* the format being decoded; id NONE: none yet */
	struct jbuf		 jb;
	struct codec_dec	*dec;
	struct mix_resampler	*rs;		/* codec rate to the recording's, or NULL */
	int			 stream;	/* recout stream, -1: no file of its own */
	int16_t			 pcm[CODEC_FRAME_MAX];
	int			 got;		/* pcm holds this tick's audio */
	/* EVS: where the first frame went, and the next place not yet written */
	int			 evs_started;
	uint32_t		 evs_ssrc, evs_rtp0;
	uint64_t		 evs_ts0, evs_next;
};

struct tap_call {
	struct session		*s;
	struct recout		*out;
	unsigned		 rate;
	uint64_t		 ticks;
	uint64_t		 started;	/* monotonic ms of media timestamp 0 */
	int			 audio;		/* index of the recorded stream */
	int			 mix;		/* recout stream of the mix, -1: none */
	int			 evs;		/* an EVS call: legs kept as sent */
	struct tap_leg		 leg[2];
	struct tap_call		*next, *prev;
};

struct tap_table {
	struct tap_call		*head;
	size_t			 count;
	int			 tfd;
	int16_t			 tmp[CODEC_FRAME_MAX], mixed[CODEC_FRAME_MAX];
	int32_t			 sum[CODEC_FRAME_MAX];
};

size_t
tap_count(const struct mediad *md)
{
	return md->taps != NULL ? md->taps->count : 0;
}

/* ------------------------------------------------------------ formats */

void
tap_fmts_set(struct session *s, int leg, const struct proto_session_update *u)
{
	struct session_fmts *f;
	size_t i, n = u->fmt_pts.n;

	if (n == 0 || u->fmt_names.n != n)
		return;		/* no audio formats said: keep what we had */
	if ((f = s->fmts[leg]) == NULL)
		f = s->fmts[leg] = xcalloc(1, sizeof(*f));
	f->n = n < PROTO_FORMATS_MAX ? n : PROTO_FORMATS_MAX;
	for (i = 0; i < f->n; i++) {
		memset(&f->f[i], 0, sizeof(f->f[i]));
		f->f[i].id = codec_by_name(u->fmt_names.v[i]);
		f->f[i].pt = (uint8_t)(u->fmt_pts.v[i] & 0x7f);
		f->f[i].octet_align = i < u->fmt_octet_align.n && u->fmt_octet_align.v[i] != 0;
		f->evs[i] = strcasecmp(u->fmt_names.v[i], "EVS") == 0;
	}
	snprintf(f->first, sizeof(f->first), "%s", u->fmt_names.v[0]);
}

/*
 * Where payload type pt of a packet from leg is in the phones' formats:
 * the other phone's SDP first (what leg's phone was told to send), then
 * its own.  With decodable, only a format mediad can decode counts.  Its
 * formats in *fp and its index, or -1.
 */
static int
tap_fmt_of(const struct session *s, int leg, int pt, int decodable,
    const struct session_fmts **fp)
{
	const struct session_fmts *f;
	size_t i;
	int k;

	for (k = 0; k < 2; k++) {
		if ((f = s->fmts[k == 0 ? !leg : leg]) == NULL)
			continue;
		for (i = 0; i < f->n; i++)
			if (f->f[i].pt == pt && (!decodable || f->f[i].id != CODEC_NONE)) {
				*fp = f;
				return (int)i;
			}
	}
	return -1;
}

/*
 * An EVS packet of leg tl: its frames to the recording, by RTP timestamp
 * from the first packet.  A new SSRC, or a timestamp more than
 * TAP_EVS_JUMP_S away from where the packet's arrival puts it (a sender
 * that restarted its clock, a hold, a crafted packet), starts over from
 * the arrival: a timestamp alone never moves a file far ahead.
 */
static void
tap_evs_in(struct tap_call *tc, struct tap_leg *tl, uint32_t ssrc, uint32_t rtp_ts,
    const uint8_t *pl, size_t len)
{
	uint8_t frames[EVS_FRAMES_MAX * EVS_FRAME_MAX];
	uint16_t lens[EVS_FRAMES_MAX];
	unsigned fs = tc->rate / 50;
	uint64_t now = tc->ticks * fs, at;
	size_t off = 0;
	int n, i;

	if (tl->stream < 0 ||
	    (n = evs_rtp_to_storage(pl, len, frames, sizeof(frames), lens, EVS_FRAMES_MAX)) <= 0)
		return;
	at = tl->evs_ts0 + (uint64_t)(uint32_t)(rtp_ts - tl->evs_rtp0) * tc->rate / EVS_CLOCK;
	if (!tl->evs_started || ssrc != tl->evs_ssrc ||
	    at > now + (uint64_t)TAP_EVS_JUMP_S * tc->rate ||
	    at + (uint64_t)TAP_EVS_JUMP_S * tc->rate < now) {
		tl->evs_started = 1;
		tl->evs_ssrc = ssrc;
		tl->evs_rtp0 = rtp_ts;
		tl->evs_ts0 = now > tl->evs_next ? now : tl->evs_next;
	}
	for (i = 0; i < n; off += lens[i], i++) {
		uint64_t ts = tl->evs_ts0 + (uint64_t)(uint32_t)(rtp_ts - tl->evs_rtp0) *
		    tc->rate / EVS_CLOCK + (uint64_t)i * fs;

		if (ts < tl->evs_next)
			continue;	/* its place is written: a duplicate, or too late */
		recout_put_payload(tc->out, tl->stream, ts, frames + off, lens[i]);
		tl->evs_next = ts + fs;
	}
}

/* A leg's format changes (or is first seen): new decoder, buffer, resampler. */
static int
tap_leg_switch(struct tap_call *tc, struct tap_leg *tl, const struct codec_fmt *f)
{
	struct codec_dec *d = codec_dec_new(f);

	if (d == NULL)
		return -1;
	codec_dec_free(tl->dec);
	mix_resampler_free(tl->rs);
	tl->rs = NULL;
	tl->dec = d;
	tl->fmt = *f;
	jbuf_init_depth(&tl->jb, codec_rate(f->id) / 50, TAP_DEPTH, TAP_AHEAD);
	if (codec_rate(f->id) != tc->rate)
		tl->rs = mix_resampler_new(codec_rate(f->id), tc->rate);
	log_debug("tap: %s leg %d: decoding %s", tc->s->call, (int)(tl - tc->leg),
	    codec_name(f->id));
	return 0;
}

/* ------------------------------------------------------------ the packet path in */

void
tap_rtp_in(struct media_leg *l, const uint8_t *pkt, size_t len)
{
	struct session *s = l->s;
	struct tap_call *tc = s->tap;
	struct tap_leg *tl = &tc->leg[l->idx];
	struct codec_frame fr[CODEC_FRAMES_MAX];
	const struct session_fmts *f;
	struct rtp_hdr h;
	int i, n, cmr;

	if (l != &s->st[tc->audio].leg[l->idx] || rtp_parse(pkt, len, &h) != 0)
		return;
	if (tc->evs) {
		if ((i = tap_fmt_of(s, l->idx, h.pt, 0, &f)) >= 0 && f->evs[i])
			tap_evs_in(tc, tl, h.ssrc, h.ts, h.pl, h.len);
		return;
	}
	if (tl->fmt.id == CODEC_NONE || tl->fmt.pt != h.pt) {
		if ((i = tap_fmt_of(s, l->idx, h.pt, 1, &f)) < 0)
			return;		/* DTMF, comfort noise, a codec we cannot decode */
		if (tap_leg_switch(tc, tl, &f->f[i]) != 0)
			return;
	}
	n = codec_unpack(&tl->fmt, h.pl, h.len, fr, CODEC_FRAMES_MAX, &cmr);
	if (n > 0)
		jbuf_put(&tl->jb, h.ssrc, h.ts, fr, n);
}

/* ------------------------------------------------------------ the tick */

/* This tick's audio of leg tl into tl->pcm at the recording's rate; tl->got. */
static void
tap_take(struct tap_table *t, struct tap_call *tc, struct tap_leg *tl)
{
	struct codec_frame fr;
	enum jbuf_get got;

	tl->got = 0;
	if (tl->dec == NULL || (got = jbuf_get(&tl->jb, &fr)) == JBUF_SILENT)
		return;
	mix_decode(tl->dec, tl->fmt.id, got == JBUF_FRAME ? &fr : NULL, tl->rs, t->tmp, tl->pcm,
	    tc->rate / 50);
	tl->got = 1;
}

static void
tap_frame(struct tap_table *t, struct tap_call *tc, int decode)
{
	unsigned n = tc->rate / 50;
	uint64_t at = tc->ticks, ts;
	int i;

	tc->ticks++;
	if (!decode)
		return;		/* too late to catch up: silence */
	for (i = 0; i < 2; i++)
		tap_take(t, tc, &tc->leg[i]);
	if (at < TAP_DEPTH)
		return;		/* nothing can have been buffered that long */
	ts = (at - TAP_DEPTH) * n;	/* when it was sent */
	for (i = 0; i < 2; i++)
		if (tc->leg[i].got && tc->leg[i].stream >= 0)
			recout_put(tc->out, tc->leg[i].stream, ts, tc->leg[i].pcm);
	if (tc->mix < 0 || (!tc->leg[0].got && !tc->leg[1].got))
		return;
	memset(t->sum, 0, n * sizeof(t->sum[0]));
	for (i = 0; i < 2; i++)
		if (tc->leg[i].got)
			mix_add(t->sum, tc->leg[i].pcm, n);
	mix_minus(t->mixed, t->sum, NULL, n);
	recout_put(tc->out, tc->mix, ts, t->mixed);
}

static void
tap_on_tick(int fd, uint32_t events, void *arg)
{
	struct mediad *md = arg;
	struct tap_table *t = md->taps;
	struct tap_call *tc;
	uint64_t exp = 0, i;

	(void)events;
	if (read(fd, &exp, sizeof(exp)) != (ssize_t)sizeof(exp) || exp == 0)
		return;
	if (exp > TAP_CATCHUP)
		log_warnx("tap: %llu ticks late: %llu ms of %zu recording(s) passed as silence",
		    (unsigned long long)(exp - 1),
		    (unsigned long long)(exp - TAP_CATCHUP) * TAP_TICK_MS, t->count);
	else if (exp > 1)
		log_debug("tap: %llu tick(s) late", (unsigned long long)(exp - 1));
	for (tc = t->head; tc != NULL; tc = tc->next)
		for (i = 0; i < exp; i++)
			tap_frame(t, tc, i < TAP_CATCHUP);
}

/* ------------------------------------------------------------ start, stop */

static void
tap_clock(struct mediad *md, int on)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };

	if (on) {
		its.it_interval.tv_nsec = TAP_TICK_MS * 1000000L;
		its.it_value.tv_nsec = TAP_TICK_MS * 1000000L;
	}
	(void)timerfd_settime(md->taps->tfd, 0, &its, NULL);
}

int
tap_record(struct mediad *md, struct session *s, const struct proto_record *m,
    const void *owner, size_t owner_len)
{
	struct tap_table *t = md->taps;
	const struct session_fmts *neg;
	struct tap_call *tc;
	const char *codec;
	unsigned rate = 8000;
	int audio = -1, evs, i;
	size_t k;

	if (s->tap != NULL)
		return 0;	/* recorded already */
	for (i = 0; i < s->nst && audio < 0; i++)
		if (s->st[i].used && s->st[i].kind == PROTO_KIND_AUDIO)
			audio = i;
	if (audio < 0)
		return EINVAL;	/* nothing to record */
	/* what was agreed: the answer's first format (the callee's SDP, recorded after the answer) */
	neg = s->fmts[1] != NULL && s->fmts[1]->n > 0 ? s->fmts[1] : s->fmts[0];
	codec = neg != NULL ? neg->first : "";
	if (neg != NULL && neg->n > 0 && neg->f[0].id != CODEC_NONE)
		rate = codec_rate(neg->f[0].id);
	evs = neg != NULL && neg->n > 0 && neg->evs[0];
	if (evs && !m->legs)
		return EINVAL;	/* an EVS call has no mix to record: only its legs */
	if (evs)
		rate = 16000;
	for (i = 0; i < s->nst; i++)
		if (s->st[i].used)
			kfwd_drop(&s->st[i].leg[0]);	/* the tap needs every packet */
	tc = xcalloc(1, sizeof(*tc));
	if ((tc->out = recout_new(md, PROTO_REC_CALL, s->call, s->call, rate, owner,
	    owner_len)) == NULL) {
		free(tc);
		return EEXIST;
	}
	tc->s = s;
	tc->rate = rate;
	tc->started = clock_mono_ms();
	tc->audio = audio;
	tc->mix = -1;
	tc->evs = evs;
	for (i = 0; i < 2; i++) {
		tc->leg[i].stream = m->legs ? recout_stream_add(tc->out, i == 0 ? "caller" :
		    "callee", codec, evs ? PROTO_REC_EVS : PROTO_REC_WAV) : -1;
		jbuf_init_depth(&tc->leg[i].jb, 160, TAP_DEPTH, TAP_AHEAD);
	}
	if (m->mix && !evs)
		tc->mix = recout_stream_add(tc->out, "mix", "", PROTO_REC_WAV);
	for (k = 0; k < m->participants.n; k++)
		recout_part_add(tc->out, m->participants.v[k]);
	recout_begin(tc->out);
	s->tap = tc;
	tc->next = t->head;
	if (t->head != NULL)
		t->head->prev = tc;
	t->head = tc;
	if (t->count++ == 0)
		tap_clock(md, 1);
	log_info("tap: %s: recording (%s%s), %u Hz", s->call, m->legs ? "legs" : "",
	    m->mix ? (m->legs ? " and mix" : "mix") : "", rate);
	return 0;
}

void
tap_stop(struct mediad *md, struct session *s, const char *reason)
{
	struct tap_table *t = md->taps;
	struct tap_call *tc = s->tap;
	uint64_t len;
	int i;

	if (tc == NULL)
		return;
	len = recout_length(tc->started, tc->rate, tc->ticks > TAP_DEPTH ? tc->ticks - TAP_DEPTH : 0);
	for (i = 0; i < TAP_DEPTH; i++)
		tap_frame(t, tc, 1);	/* what is still buffered */
	recout_stop(tc->out, len, reason);
	if (tc->prev != NULL)
		tc->prev->next = tc->next;
	else
		t->head = tc->next;
	if (tc->next != NULL)
		tc->next->prev = tc->prev;
	if (--t->count == 0)
		tap_clock(md, 0);
	for (i = 0; i < 2; i++) {
		codec_dec_free(tc->leg[i].dec);
		mix_resampler_free(tc->leg[i].rs);
	}
	free(tc);
	s->tap = NULL;
}

int
tap_init(struct mediad *md)
{
	struct tap_table *t = xcalloc(1, sizeof(*t));

	if ((t->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0 ||
	    loop_fd_add(md->loop, t->tfd, EPOLLIN, tap_on_tick, md) != 0) {
		if (t->tfd >= 0)
			close(t->tfd);
		free(t);
		return errno != 0 ? errno : EINVAL;
	}
	md->taps = t;
	return 0;
}

void
tap_shutdown(struct mediad *md)
{
	struct tap_table *t = md->taps;

	if (t == NULL)
		return;
	while (t->head != NULL)
		tap_stop(md, t->head->s, "mediad stopped");
	loop_fd_del(md->loop, t->tfd);
	close(t->tfd);
	free(t);
	md->taps = NULL;
}
