/*
 * room.c — mediad's rooms: the participants sipd joins, their RTP into a
 * jitter buffer, a 20 ms clock per room that mixes, and the mix back out.
 *
 * Each tick of a room (a timerfd, so ticks do not drift and a late one is
 * seen):
 *   1. every participant's next frame comes out of its jitter buffer, is
 *      decoded (or concealed) and resampled to the room rate: 16 kHz when
 *      any participant speaks AMR-WB, else 8 kHz;
 *   2. a participant whose level is above MIX_TALK_LEVEL (or was within
 *      the last MIX_TALK_HANG ticks) is a talker and goes into the sum,
 *      unless muted or on hold;
 *   3. a talker hears the sum without itself (N-1), encoded for it alone;
 *      everyone else hears the whole sum, encoded once per format (codec,
 *      payload form, AMR mode) and shared: a room of 1,000 with 3 talkers
 *      encodes about 4 times per tick, not 1,000.
 * Participants on hold (their SDP says sendonly or inactive) are neither
 * mixed nor sent to; their RTP timestamps run on, and the first packet
 * after the hold carries the marker bit.
 *
 * oRTP is not used here either: its jitter buffer lives inside an
 * RtpSession that owns the socket and schedules itself, while the mixer
 * needs one frame per participant at the room's tick, split into 20 ms
 * AMR frames before decoding (codec_unpack).  mix.c's jitter buffer does
 * exactly that.
 *
 * Sockets, latching and the RFC 3550 figures are the relay's (relay.c,
 * session.c): a participant is a media_leg without a peer.
 *
 * A recorded room (RECORD) gives recout.c, per tick, the whole mix (the
 * sum of the talkers: what a listener who does not talk hears) and, with
 * legs, each participant's decoded audio as stream p<N>, at the rate the
 * room had when the recording began (resampled should the room change
 * rate later).  A tick with nobody talking puts no mix frame, a
 * participant with nothing to play none of its own: recd writes silence
 * there, so every file runs on the room's clock from the recording's
 * start; a participant who joins later gets its stream then.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "codec.h"
#include "mediad.h"
#include "mix.h"

#define ROOM_TICK_MS	20
#define ROOM_CATCHUP	5	/* ticks run at once after a stall, at most */
#define ROOM_GROUPS	16	/* shared encodings per room */
#define ROOM_CHECK_TICKS 50	/* timeouts and orphans checked once a second */

/* The listeners of one format who hear the plain mix: encoded once per tick. */
struct room_group {
	enum codec_id		 id;
	int			 octet_align, mode;
	struct codec_enc	*enc;
	struct mix_resampler	*rs;		/* room rate to the codec's, or NULL */
	uint8_t			 payload[CODEC_PAYLOAD_MAX];
	int			 len;
	uint64_t		 tick;		/* the tick payload was made for */
};

struct room_part {
	struct room		*room;
	uint32_t		 id;
	char			*call;
	struct media_leg	 leg;		/* sockets, SDP address, latching, figures */
	struct codec_fmt	 fmt;
	int			 dtmf_pt;	/* -1: none */
	int			 muted, held, sends;
	struct jbuf		 jb;
	struct codec_dec	*dec;
	struct codec_enc	*enc;		/* its own N-1 mix, while it talks */
	struct mix_resampler	*rs_in, *rs_out;
	int16_t			 pcm[CODEC_FRAME_MAX];	/* this tick, at the room rate */
	int			 talking;
	unsigned		 hang;
	uint64_t		 last_rtp, last_timeout;
	uint32_t		 ssrc, ts;
	uint16_t		 seq;
	int			 marker;
	uint32_t		 dtmf_ts;	/* the last DTMF event logged */
	char			*user;		/* for a recording's sidecar */
	int			 got;		/* pcm holds audio this tick */
	int			 rec_stream;	/* its recout stream, -1: none */
	struct mix_resampler	*rec_rs;	/* room rate to the recording's */
	unsigned		 rec_rs_in;
	struct room_part	*next;
};

struct room {
	struct mediad		*md;
	char			*name;
	unsigned		 rate;
	struct room_part	*parts;
	size_t			 nparts;
	int			 tfd;
	uint64_t		 ticks, late;
	unsigned		 encodes;
	struct room_group	 groups[ROOM_GROUPS];
	int			 ngroups;
	uint8_t			 owner[256];
	size_t			 owner_len;
	uint64_t		 created;
	/* its recording, or NULL */
	struct recout		*rec;
	unsigned		 rec_rate;
	int			 rec_legs, rec_mix;	/* rec_mix: the mix stream, -1: none */
	uint64_t		 rec_ticks;
	uint64_t		 rec_started;	/* monotonic ms of media timestamp 0 */
	struct mix_resampler	*rec_rs;	/* the mix, room rate to the recording's */
	unsigned		 rec_rs_in;
	struct room		*next;
};

struct room_table {
	struct room		*head;
	size_t			 count, parts;
	int32_t			 sum[CODEC_FRAME_MAX];
	int16_t			 pcm[CODEC_FRAME_MAX], out[CODEC_FRAME_MAX];
	uint8_t			 pkt[12 + CODEC_PAYLOAD_MAX];
};

static uint32_t
room_random32(void)
{
	uint32_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)clock_mono_ms() * 2654435761u;
	return v;
}

static struct room *
room_find(struct mediad *md, const char *name)
{
	struct room *r;

	for (r = md->rooms->head; r != NULL; r = r->next)
		if (strcmp(r->name, name) == 0)
			return r;
	return NULL;
}

static struct room_part *
room_part_find(struct room *r, uint32_t id)
{
	struct room_part *p;

	for (p = r->parts; p != NULL; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

size_t
room_count(struct mediad *md)
{
	return md->rooms->count;
}

static void room_free(struct mediad *md, struct room *r, const char *why);

size_t
room_drop_owner(struct mediad *md, const void *owner, size_t len)
{
	struct room *r, *next;
	size_t n = 0;

	for (r = md->rooms->head; r != NULL; r = next) {
		next = r->next;
		if (r->owner_len == len && memcmp(r->owner, owner, len) == 0) {
			room_free(md, r, "sipd lost");
			n++;
		}
	}
	return n;
}

size_t
room_participants(struct mediad *md)
{
	return md->rooms->parts;
}

/* ------------------------------------------------------------ rates and formats */

static void
room_groups_free(struct room *r)
{
	int i;

	for (i = 0; i < r->ngroups; i++) {
		codec_enc_free(r->groups[i].enc);
		mix_resampler_free(r->groups[i].rs);
	}
	r->ngroups = 0;
}

/* The room rate follows its participants; resamplers are made for it. */
static void
room_rate_update(struct room *r)
{
	struct room_part *p;
	unsigned rate = 8000;

	for (p = r->parts; p != NULL; p = p->next)
		if (codec_rate(p->fmt.id) > rate)
			rate = codec_rate(p->fmt.id);
	if (rate != r->rate) {
		log_info("room %s: mixing at %u Hz", r->name, rate);
		r->rate = rate;
		room_groups_free(r);
		for (p = r->parts; p != NULL; p = p->next) {
			mix_resampler_free(p->rs_in);
			mix_resampler_free(p->rs_out);
			p->rs_in = p->rs_out = NULL;
		}
	}
	for (p = r->parts; p != NULL; p = p->next) {
		unsigned cr = codec_rate(p->fmt.id);

		if (cr != rate && p->rs_in == NULL) {
			p->rs_in = mix_resampler_new(cr, rate);
			p->rs_out = mix_resampler_new(rate, cr);
		}
	}
}

/* The shared encoding for listener p, made on first use; NULL if none is left. */
static struct room_group *
room_group_for(struct room *r, const struct room_part *p)
{
	int mode = codec_enc_mode(p->enc), i;
	struct room_group *g;

	for (i = 0; i < r->ngroups; i++) {
		g = &r->groups[i];
		if (g->id == p->fmt.id && g->octet_align == p->fmt.octet_align && g->mode == mode)
			return g;
	}
	if (r->ngroups == ROOM_GROUPS)
		return NULL;
	g = &r->groups[r->ngroups];
	memset(g, 0, sizeof(*g));
	if ((g->enc = codec_enc_new(&p->fmt)) == NULL)
		return NULL;
	codec_enc_request(g->enc, mode);
	if (codec_rate(p->fmt.id) != r->rate &&
	    (g->rs = mix_resampler_new(r->rate, codec_rate(p->fmt.id))) == NULL) {
		codec_enc_free(g->enc);
		return NULL;
	}
	g->id = p->fmt.id;
	g->octet_align = p->fmt.octet_align;
	g->mode = mode;
	g->tick = UINT64_MAX;
	r->ngroups++;
	return g;
}

/* ------------------------------------------------------------ the packet path in */

/* RFC 4733: log each key once, at its end (the end packet comes three times). */
static void
room_dtmf(struct room_part *p, uint32_t ts, const uint8_t *pl, size_t len)
{
	static const char keys[] = "0123456789*#ABCD";

	if (len < 4 || !(pl[1] & 0x80) || ts == p->dtmf_ts)
		return;
	p->dtmf_ts = ts;
	if (pl[0] < 16)
		log_info("room %s: participant %u pressed %c", p->room->name, p->id, keys[pl[0]]);
	else
		log_info("room %s: participant %u sent event %u", p->room->name, p->id, pl[0]);
}

void
room_rtp_in(struct room_part *p, const uint8_t *pkt, size_t len)
{
	struct codec_frame fr[CODEC_FRAMES_MAX];
	struct rtp_hdr h;
	int n, cmr = CODEC_CMR_NONE;

	if (rtp_parse(pkt, len, &h) != 0)
		return;
	if (h.pt == p->dtmf_pt) {
		room_dtmf(p, h.ts, h.pl, h.len);
		return;
	}
	if (h.pt != p->fmt.pt)
		return;		/* a format not negotiated */
	n = codec_unpack(&p->fmt, h.pl, h.len, fr, CODEC_FRAMES_MAX, &cmr);
	if (n <= 0)
		return;
	if (cmr != CODEC_CMR_NONE && codec_amr_mode_valid(p->fmt.id, cmr) &&
	    cmr != codec_enc_mode(p->enc))
		codec_enc_request(p->enc, cmr);
	jbuf_put(&p->jb, h.ssrc, h.ts, fr, n);
}

/* ------------------------------------------------------------ the tick */

/* 1: this tick's audio of p, at the room rate, into p->pcm; talk detection. */
static void
room_take(struct room *r, struct room_part *p, int16_t *tmp)
{
	unsigned rs = r->rate / 50;
	struct codec_frame fr;
	enum jbuf_get got = jbuf_get(&p->jb, &fr);

	p->talking = 0;
	p->got = 0;
	if (got == JBUF_SILENT || p->held) {
		p->hang = 0;
		return;
	}
	mix_decode(p->dec, p->fmt.id, got == JBUF_FRAME ? &fr : NULL, p->rs_in, tmp, p->pcm, rs);
	p->got = 1;
	if (mix_level(p->pcm, rs) > MIX_TALK_LEVEL)
		p->hang = MIX_TALK_HANG;
	else if (p->hang > 0)
		p->hang--;
	p->talking = p->hang > 0 && !p->muted;
}

/* Sends payload pl to p as the next RTP packet. */
static void
room_send(struct room_table *t, struct room_part *p, const uint8_t *pl, int len)
{
	uint8_t *h = t->pkt;

	if (len <= 0 || (size_t)len > CODEC_PAYLOAD_MAX)
		return;
	h[0] = 0x80;
	h[1] = (uint8_t)((p->marker ? 0x80 : 0) | p->fmt.pt);
	h[2] = (uint8_t)(p->seq >> 8);
	h[3] = (uint8_t)p->seq;
	h[4] = (uint8_t)(p->ts >> 24);
	h[5] = (uint8_t)(p->ts >> 16);
	h[6] = (uint8_t)(p->ts >> 8);
	h[7] = (uint8_t)p->ts;
	h[8] = (uint8_t)(p->ssrc >> 24);
	h[9] = (uint8_t)(p->ssrc >> 16);
	h[10] = (uint8_t)(p->ssrc >> 8);
	h[11] = (uint8_t)p->ssrc;
	memcpy(h + 12, pl, (size_t)len);
	relay_send_rtp(&p->leg, h, 12 + (size_t)len);
	p->seq++;
	p->marker = 0;
}

/* 3: what p hears this tick, encoded and sent. */
static void
room_give(struct room *r, struct room_part *p)
{
	struct room_table *t = r->md->rooms;
	unsigned n = r->rate / 50;
	uint8_t pl[CODEC_PAYLOAD_MAX];
	struct room_group *g = NULL;
	const int16_t *src;
	int len;

	if (!p->talking)
		g = room_group_for(r, p);
	if (g != NULL) {
		if (g->tick != r->ticks) {
			mix_minus(t->out, t->sum, NULL, n);
			src = t->out;
			if (g->rs != NULL) {
				mix_resample(g->rs, t->out, t->pcm);
				src = t->pcm;
			}
			g->len = codec_encode(g->enc, src, g->payload, sizeof(g->payload));
			g->tick = r->ticks;
			r->encodes++;
		}
		room_send(t, p, g->payload, g->len);
		return;
	}
	/* a talker (or no shared encoding left): its own mix */
	mix_minus(t->out, t->sum, p->talking ? p->pcm : NULL, n);
	src = t->out;
	if (p->rs_out != NULL) {
		mix_resample(p->rs_out, t->out, t->pcm);
		src = t->pcm;
	}
	len = codec_encode(p->enc, src, pl, sizeof(pl));
	r->encodes++;
	room_send(t, p, pl, len);
}

/* ------------------------------------------------------------ recording */

/*
 * in (20 ms at the room's rate) at the recording's rate: in itself, or
 * resampled into out through *rs (made, or remade after the room changed
 * rate).  NULL when no resampler can be had.
 */
static const int16_t *
room_rec_pcm(struct room *r, struct mix_resampler **rs, unsigned *rs_in, const int16_t *in,
    int16_t *out)
{
	if (r->rate == r->rec_rate)
		return in;
	if (*rs != NULL && *rs_in != r->rate) {
		mix_resampler_free(*rs);
		*rs = NULL;
	}
	if (*rs == NULL && (*rs = mix_resampler_new(r->rate, r->rec_rate)) == NULL)
		return NULL;
	*rs_in = r->rate;
	mix_resample(*rs, in, out);
	return out;
}

/* This tick into the recording: the mix (when anyone talks), and each participant's audio. */
static void
room_rec_tick(struct room *r, int talkers)
{
	struct room_table *t = r->md->rooms;
	uint64_t ts = r->rec_ticks * (r->rec_rate / 50);
	const int16_t *pcm;
	struct room_part *p;

	r->rec_ticks++;
	if (r->rec_mix >= 0 && talkers > 0) {
		mix_minus(t->out, t->sum, NULL, r->rate / 50);
		if ((pcm = room_rec_pcm(r, &r->rec_rs, &r->rec_rs_in, t->out, t->pcm)) != NULL)
			recout_put(r->rec, r->rec_mix, ts, pcm);
	}
	for (p = r->parts; p != NULL; p = p->next) {
		if (p->rec_stream < 0 || !p->got || p->muted)
			continue;
		if ((pcm = room_rec_pcm(r, &p->rec_rs, &p->rec_rs_in, p->pcm, t->out)) != NULL)
			recout_put(r->rec, p->rec_stream, ts, pcm);
	}
}

/* p into r's recording: a participant, and with legs its own stream. */
static void
room_rec_part(struct room *r, struct room_part *p)
{
	char name[PROTO_STREAM_MAX + 1], who[PROTO_ID_MAX + 32];

	snprintf(name, sizeof(name), "p%u", p->id);
	snprintf(who, sizeof(who), "%s (p%u)", p->user != NULL && p->user[0] != '\0' ? p->user :
	    "?", p->id);
	recout_part_add(r->rec, who);
	p->rec_stream = r->rec_legs ? recout_stream_add(r->rec, name, codec_name(p->fmt.id),
	    PROTO_REC_WAV) : -1;
}

int
room_record(struct mediad *md, const struct proto_record *m, const void *owner,
    size_t owner_len)
{
	struct room *r = room_find(md, m->target);
	struct room_part *p;
	char id[PROTO_ROOM_MAX + 8];

	if (r == NULL)
		return ENOENT;
	if (r->rec != NULL)
		return 0;
	snprintf(id, sizeof(id), "room-%s", r->name);
	if ((r->rec = recout_new(md, PROTO_REC_ROOM, id, r->name, r->rate, owner,
	    owner_len)) == NULL)
		return EEXIST;
	r->rec_rate = r->rate;
	r->rec_legs = (int)m->legs;
	r->rec_ticks = 0;
	r->rec_started = clock_mono_ms();
	r->rec_mix = m->mix ? recout_stream_add(r->rec, "mix", "", PROTO_REC_WAV) : -1;
	for (p = r->parts; p != NULL; p = p->next)
		room_rec_part(r, p);
	recout_begin(r->rec);
	log_info("room %s: recording (%s%s), %u Hz", r->name, m->mix ? "mix" : "",
	    m->legs ? (m->mix ? " and participants" : "participants") : "", r->rec_rate);
	return 0;
}

static void
room_mix(struct room *r)
{
	struct room_table *t = r->md->rooms;
	unsigned n = r->rate / 50;
	struct room_part *p;

	int talkers = 0;

	memset(t->sum, 0, n * sizeof(t->sum[0]));
	for (p = r->parts; p != NULL; p = p->next) {
		room_take(r, p, t->pcm);
		if (p->talking) {
			mix_add(t->sum, p->pcm, n);
			talkers++;
		}
	}
	if (r->rec != NULL)
		room_rec_tick(r, talkers);
	r->encodes = 0;
	for (p = r->parts; p != NULL; p = p->next) {
		if (p->sends)
			room_give(r, p);
		else
			p->marker = 1;	/* the first packet after a hold */
		p->ts += codec_frame_samples(p->fmt.id);
	}
	r->ticks++;
}

/* Once a second: RTP timeouts to sipd, and a room whose sipd went away is freed. */
static int
room_check(struct room *r)
{
	struct mediad *md = r->md;
	uint64_t now = loop_now(md->loop), limit = (uint64_t)md->conf->rtp_timeout * 1000;
	struct room_part *p;

	if (now - r->created > MEDIAD_ORPHAN_MS &&
	    !ctl_peer_alive(md, r->owner, r->owner_len, MEDIAD_ORPHAN_MS)) {
		log_info("room %s: its sipd is gone: freed", r->name);
		room_free(md, r, "sipd lost");
		return 1;
	}
	if (limit == 0)
		return 0;
	for (p = r->parts; p != NULL; p = p->next) {
		if (p->held || now - p->last_rtp < limit || now - p->last_timeout < limit)
			continue;
		p->last_timeout = now;
		log_info("room %s: participant %u: no RTP for %llu ms", r->name, p->id,
		    (unsigned long long)(now - p->last_rtp));
		ctl_send_timeout(md, r->owner, r->owner_len, p->call,
		    (uint32_t)(now - p->last_rtp));
	}
	return 0;
}

static void
room_on_tick(int fd, uint32_t events, void *arg)
{
	struct room *r = arg;
	uint64_t exp = 0, i;

	(void)events;
	if (read(fd, &exp, sizeof(exp)) != (ssize_t)sizeof(exp) || exp == 0)
		return;
	if (exp > 1) {
		/* the tick came more than a tick late: the mixer could not keep up */
		r->late += exp - 1;
		log_debug("room %s: %llu tick(s) late", r->name, (unsigned long long)(exp - 1));
	}
	for (i = 0; i < exp && i < ROOM_CATCHUP; i++) {
		room_mix(r);
		if (r->ticks % ROOM_CHECK_TICKS == 0 && room_check(r))
			return;		/* freed */
	}
	if (r->rec != NULL && exp > i)
		r->rec_ticks += exp - i;	/* not caught up: silence in the recording */
}

/* ------------------------------------------------------------ rooms and participants */

static struct room *
room_new(struct mediad *md, const char *name)
{
	struct itimerspec its = {
		.it_interval = { 0, ROOM_TICK_MS * 1000000L },
		.it_value = { 0, ROOM_TICK_MS * 1000000L },
	};
	struct room *r;
	int fd;

	if ((fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->md = md;
	r->name = xstrdup(name);
	r->rate = 8000;
	r->tfd = fd;
	r->created = loop_now(md->loop);
	if (timerfd_settime(fd, 0, &its, NULL) != 0 ||
	    loop_fd_add(md->loop, fd, EPOLLIN, room_on_tick, r) != 0) {
		close(fd);
		free(r->name);
		free(r);
		return NULL;
	}
	r->next = md->rooms->head;
	md->rooms->head = r;
	md->rooms->count++;
	log_info("room %s: created", name);
	return r;
}

static void
room_part_free(struct mediad *md, struct room_part *p)
{
	relay_del(md, &p->leg);
	ports_put(md->ports, p->leg.rtp.fd, p->leg.rtcp.fd, p->leg.port);
	codec_dec_free(p->dec);
	codec_enc_free(p->enc);
	mix_resampler_free(p->rs_in);
	mix_resampler_free(p->rs_out);
	mix_resampler_free(p->rec_rs);
	free(p->call);
	free(p->user);
	free(p);
	md->rooms->parts--;
}

static void
room_free(struct mediad *md, struct room *r, const char *why)
{
	struct room **pp;
	struct room_part *p;

	if (r->rec != NULL)
		recout_stop(r->rec, recout_length(r->rec_started, r->rec_rate, r->rec_ticks), why);
	mix_resampler_free(r->rec_rs);
	while ((p = r->parts) != NULL) {
		r->parts = p->next;
		room_part_free(md, p);
	}
	for (pp = &md->rooms->head; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	md->rooms->count--;
	loop_fd_del(md->loop, r->tfd);
	close(r->tfd);
	room_groups_free(r);
	log_info("room %s: deleted after %llu ticks (%llu late)", r->name,
	    (unsigned long long)r->ticks, (unsigned long long)r->late);
	free(r->name);
	free(r);
}

/* The format of a ROOM_JOIN; 0 or EINVAL (a codec we cannot mix). */
static int
room_fmt(const struct proto_room_join *j, struct codec_fmt *f)
{
	memset(f, 0, sizeof(*f));
	if ((f->id = codec_by_name(j->codec)) == CODEC_NONE)
		return EINVAL;
	f->pt = (uint8_t)j->pt;
	f->octet_align = (int)j->octet_align;
	f->mode_set = (uint16_t)j->mode_set;
	return 0;
}

/* A new participant of r with format f: ports, codecs, loop; NULL with *err. */
static struct room_part *
room_part_new(struct mediad *md, struct room *r, const struct proto_room_join *j,
    const struct codec_fmt *f, int *err)
{
	struct room_part *p = xcalloc(1, sizeof(*p));

	p->room = r;
	p->id = j->participant;
	p->fmt = *f;
	p->leg.part = p;
	p->leg.last_rtp = &p->last_rtp;
	p->leg.clock = codec_rate(f->id);
	if ((*err = ports_get(md->ports, &p->leg.rtp.fd, &p->leg.rtcp.fd, &p->leg.port)) != 0) {
		free(p);
		return NULL;
	}
	if ((*err = relay_add(md, &p->leg)) != 0) {
		ports_put(md->ports, p->leg.rtp.fd, p->leg.rtcp.fd, p->leg.port);
		free(p);
		return NULL;
	}
	p->call = xstrdup(j->call);
	p->ssrc = room_random32();
	p->seq = (uint16_t)room_random32();
	p->ts = room_random32();
	p->marker = 1;
	p->last_rtp = loop_now(md->loop);
	md->rooms->parts++;
	return p;
}

/* (Re)makes p's codec state for format f. */
static int
room_part_codec(struct room_part *p, const struct codec_fmt *f)
{
	struct codec_dec *d = codec_dec_new(f);
	struct codec_enc *e = codec_enc_new(f);

	if (d == NULL || e == NULL) {
		codec_dec_free(d);
		codec_enc_free(e);
		return EINVAL;
	}
	codec_dec_free(p->dec);
	codec_enc_free(p->enc);
	mix_resampler_free(p->rs_in);
	mix_resampler_free(p->rs_out);
	p->rs_in = p->rs_out = NULL;
	p->dec = d;
	p->enc = e;
	p->fmt = *f;
	p->leg.clock = codec_rate(f->id);
	jbuf_init(&p->jb, codec_frame_samples(f->id));
	return 0;
}

int
room_join(struct mediad *md, const struct proto_room_join *j, const void *owner,
    size_t owner_len, uint16_t *port)
{
	struct sockaddr_storage rtp, rtcp;
	socklen_t len, l2;
	struct codec_fmt f;
	struct room *r;
	struct room_part *p;
	int family = ports_family(md->ports), created = 0, err, was_held;

	if (room_fmt(j, &f) != 0 || owner_len > sizeof(r->owner) ||
	    session_sockaddr(j->addr, j->port, family, &rtp, &len) != 0 ||
	    session_sockaddr(j->addr, j->rtcp_port ? j->rtcp_port : j->port + 1, family, &rtcp,
	    &l2) != 0)
		return EINVAL;
	if (j->port == 0)
		len = 0;
	if ((r = room_find(md, j->room)) == NULL) {
		if ((r = room_new(md, j->room)) == NULL)
			return errno ? errno : ENOMEM;
		created = 1;
	}
	memcpy(r->owner, owner, owner_len);
	r->owner_len = owner_len;
	if ((p = room_part_find(r, j->participant)) == NULL) {
		if ((p = room_part_new(md, r, j, &f, &err)) == NULL ||
		    (err = room_part_codec(p, &f)) != 0) {
			if (p != NULL)
				room_part_free(md, p);
			if (created)
				room_free(md, r, "");
			return err;
		}
		p->next = r->parts;
		r->parts = p;
		r->nparts++;
		p->user = xstrdup(j->user);
		p->rec_stream = -1;
		if (r->rec != NULL) {
			room_rec_part(r, p);
			recout_begin(r->rec);	/* its stream: REC_START again */
		}
		log_info("room %s: participant %u joined (%s, pt %u)", r->name, p->id,
		    codec_name(f.id), f.pt);
	} else if (memcmp(&f, &p->fmt, sizeof(f)) != 0) {
		if ((err = room_part_codec(p, &f)) != 0)
			return err;
		log_info("room %s: participant %u now speaks %s", r->name, p->id, codec_name(f.id));
	}
	if (len == 0 || p->leg.sdp_len != len || memcmp(&p->leg.sdp_rtp, &rtp, len) != 0)
		relay_unlatch(&p->leg);		/* a new address: latch again */
	p->leg.sdp_rtp = rtp;
	p->leg.sdp_rtcp = rtcp;
	p->leg.sdp_len = len;
	p->leg.dir = (int)j->dir;
	p->dtmf_pt = j->dtmf_pt < 128 ? (int)j->dtmf_pt : -1;
	p->muted = (int)j->muted;
	was_held = p->held;
	p->held = j->dir == PROTO_DIR_SENDONLY || j->dir == PROTO_DIR_INACTIVE;
	p->sends = !p->held && len != 0;
	if (was_held && !p->held)
		p->last_rtp = loop_now(md->loop);	/* the timeout counts from the resume */
	room_rate_update(r);
	*port = p->leg.port;
	return 0;
}

/* ------------------------------------------------------------ figures */

static void
room_rows_grow(struct room_rows *t, int part)
{
#define GROW_(f, n)	t->f = xrealloc(t->f, (n) * sizeof(*t->f))
	if (part && t->np == t->pcap) {
		t->pcap = t->pcap ? t->pcap * 2 : 16;
		GROW_(p_rooms, t->pcap); GROW_(p_codecs, t->pcap); GROW_(p_latched, t->pcap);
		GROW_(p_ids, t->pcap); GROW_(p_jitter_us, t->pcap); GROW_(p_muted, t->pcap);
		GROW_(p_talking, t->pcap); GROW_(p_held, t->pcap); GROW_(p_pkts_in, t->pcap);
		GROW_(p_pkts_out, t->pcap); GROW_(p_lost, t->pcap); GROW_(p_concealed, t->pcap);
	}
	if (!part && t->nr == t->rcap) {
		t->rcap = t->rcap ? t->rcap * 2 : 8;
		GROW_(r_rooms, t->rcap); GROW_(r_rates, t->rcap); GROW_(r_encodes, t->rcap);
		GROW_(r_ticks, t->rcap); GROW_(r_late, t->rcap);
	}
#undef GROW_
}

static void
room_row_part(struct room_rows *t, const struct room_part *p)
{
	const struct media_leg *l = &p->leg;
	const struct rtp_rx *rx = &l->rx;
	uint64_t expected = rx->init ? (uint64_t)rx->cycles + rx->max_seq - rx->base_seq + 1 : 0;
	char host[64] = "", addr[80] = "";
	size_t i = t->np;

	room_rows_grow(t, 1);
	if (l->lat_rtp.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)&l->lat_rtp;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(addr, sizeof(addr), "%s:%u", host, ntohs(s4->sin_port));
	} else if (l->lat_rtp.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&l->lat_rtp;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(addr, sizeof(addr), "[%s]:%u", host, ntohs(s6->sin6_port));
	}
	t->p_rooms[i] = xstrdup(p->room->name);
	t->p_codecs[i] = xstrdup(codec_name(p->fmt.id));
	t->p_latched[i] = xstrdup(addr);
	t->p_ids[i] = p->id;
	t->p_jitter_us[i] = l->clock ? (uint32_t)((rx->jitter16 >> 4) * 1000000u / l->clock) : 0;
	t->p_muted[i] = (uint32_t)p->muted;
	t->p_talking[i] = (uint32_t)p->talking;
	t->p_held[i] = (uint32_t)p->held;
	t->p_pkts_in[i] = l->pkts_in;
	t->p_pkts_out[i] = l->pkts_out;
	t->p_lost[i] = expected > rx->received ? expected - rx->received : 0;
	t->p_concealed[i] = p->jb.concealed;
	t->np++;
}

static void
room_row_room(struct room_rows *t, const struct room *r)
{
	size_t i = t->nr;

	room_rows_grow(t, 0);
	t->r_rooms[i] = xstrdup(r->name);
	t->r_rates[i] = r->rate;
	t->r_encodes[i] = r->encodes;
	t->r_ticks[i] = r->ticks;
	t->r_late[i] = r->late;
	t->nr++;
}

int
room_stats(struct mediad *md, const char *name, struct room_rows *t)
{
	struct room *r;
	struct room_part *p;

	if (name != NULL && room_find(md, name) == NULL)
		return ENOENT;
	for (r = md->rooms->head; r != NULL; r = r->next) {
		if (name != NULL && strcmp(r->name, name) != 0)
			continue;
		room_row_room(t, r);
		for (p = r->parts; p != NULL; p = p->next)
			room_row_part(t, p);
	}
	return 0;
}

void
room_rows_free(struct room_rows *t)
{
	size_t i;

	for (i = 0; i < t->np; i++) {
		free(t->p_rooms[i]);
		free(t->p_codecs[i]);
		free(t->p_latched[i]);
	}
	for (i = 0; i < t->nr; i++)
		free(t->r_rooms[i]);
	free(t->p_rooms); free(t->p_codecs); free(t->p_latched); free(t->p_ids);
	free(t->p_jitter_us); free(t->p_muted); free(t->p_talking); free(t->p_held);
	free(t->p_pkts_in); free(t->p_pkts_out); free(t->p_lost); free(t->p_concealed);
	free(t->r_rooms); free(t->r_rates); free(t->r_encodes); free(t->r_ticks);
	free(t->r_late);
	memset(t, 0, sizeof(*t));
}

int
room_leave(struct mediad *md, const char *name, uint32_t id, struct room_rows *t)
{
	struct room *r = room_find(md, name);
	struct room_part **pp, *p;

	if (r == NULL)
		return ENOENT;
	for (pp = &r->parts; (p = *pp) != NULL; pp = &p->next)
		if (p->id == id)
			break;
	if (p == NULL)
		return ENOENT;
	if (t != NULL) {
		room_row_room(t, r);
		room_row_part(t, p);
	}
	*pp = p->next;
	r->nparts--;
	log_info("room %s: participant %u left (%llu packets in, %llu out)", r->name, id,
	    (unsigned long long)p->leg.pkts_in, (unsigned long long)p->leg.pkts_out);
	room_part_free(md, p);
	if (r->parts == NULL)
		room_free(md, r, "room ended");
	else
		room_rate_update(r);
	return 0;
}

int
room_mute(struct mediad *md, const char *name, uint32_t id, int muted, struct room_rows *t)
{
	struct room *r = room_find(md, name);
	struct room_part *p;

	if (r == NULL || (p = room_part_find(r, id)) == NULL)
		return ENOENT;
	p->muted = muted;
	if (muted)
		p->talking = 0;
	log_info("room %s: participant %u %s", r->name, id, muted ? "muted" : "unmuted");
	if (t != NULL) {
		room_row_room(t, r);
		room_row_part(t, p);
	}
	return 0;
}

int
room_init(struct mediad *md)
{
	md->rooms = xcalloc(1, sizeof(*md->rooms));
	return 0;
}

void
room_shutdown(struct mediad *md)
{
	if (md->rooms == NULL)
		return;
	while (md->rooms->head != NULL)
		room_free(md, md->rooms->head, "mediad stopped");
	free(md->rooms);
	md->rooms = NULL;
}
