/*
 * mix.h — the arithmetic of mediad's room mixer, apart from sockets and
 * rooms so the unit tests can drive it: the jitter buffer that turns
 * packets into one 20 ms frame per tick, the N-1 mix with saturation, the
 * talk detector, and the glue to speexdsp's resampler.
 */
#ifndef PARLEY_MEDIAD_MIX_H
#define PARLEY_MEDIAD_MIX_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

/* ---------------------------------------------------------------- jitter buffer */

#define JBUF_SLOTS	32	/* frames held at most: 640 ms */
#define JBUF_DEPTH	3	/* frames buffered before playout starts: 60 ms */
#define JBUF_IDLE	5	/* frames missing in a row with nothing buffered: the phone paused */

struct jbuf_slot {
	uint32_t		 ts;		/* RTP timestamp of the frame's first sample */
	int			 used;
	struct codec_frame	 f;
};

/*
 * Frames of one participant, by RTP timestamp, played out one per tick a
 * fixed JBUF_DEPTH frames behind the newest arrival at start.  A frame
 * arriving after its tick is late and dropped; a tick without its frame
 * is concealed.  When the phone pauses (hold, DTX, a dead link) playout
 * stops, and restarts JBUF_DEPTH frames behind the next packet.  A clock
 * drifting fast fills the buffer: beyond JBUF_DEPTH + 4 frames the oldest
 * is skipped.  A new SSRC or a timestamp jump outside the window restarts.
 */
struct jbuf {
	int			 playing;
	uint32_t		 ssrc;
	uint32_t		 next_ts;	/* timestamp of the frame the next tick plays */
	unsigned		 head;		/* its slot */
	uint32_t		 frame_ts;	/* RTP clock units per 20 ms frame */
	unsigned		 depth;		/* frames behind the newest at start */
	unsigned		 max_ahead;	/* frames buffered beyond which the oldest goes */
	unsigned		 missing;	/* ticks in a row without a frame */
	unsigned		 late_run;	/* late packets in a row */
	uint64_t		 late, concealed, skipped;
	struct jbuf_slot	 slot[JBUF_SLOTS];
};

/* A buffer of JBUF_DEPTH frames, trimmed beyond JBUF_DEPTH + 4 (a room's). */
void	 jbuf_init(struct jbuf *jb, uint32_t frame_ts);
/*
 * One that starts depth frames behind and lets ahead frames build up
 * before it trims (ahead < JBUF_SLOTS): a recording trades delay for
 * riding out a late tick.
 */
void	 jbuf_init_depth(struct jbuf *jb, uint32_t frame_ts, unsigned depth, unsigned ahead);
/*
 * Files the n frames of one packet (timestamp ts, source ssrc; frame i
 * starts at ts + i * frame_ts, or at its sample offset for a short G.711
 * frame).  Returns the frames taken; late ones are counted and dropped.
 */
int	 jbuf_put(struct jbuf *jb, uint32_t ssrc, uint32_t ts, const struct codec_frame *fr,
	    int n);
enum jbuf_get { JBUF_FRAME = 1, JBUF_MISSING = 0, JBUF_SILENT = -1 };
/*
 * The frame of this tick: JBUF_FRAME (*out set), JBUF_MISSING (conceal
 * it), or JBUF_SILENT (not playing: the participant contributes nothing).
 */
enum jbuf_get jbuf_get(struct jbuf *jb, struct codec_frame *out);
/* Frames buffered ahead of playout. */
unsigned jbuf_depth(const struct jbuf *jb);

/* ---------------------------------------------------------------- mixing */

/* sum += pcm (n samples), in 32 bits: no overflow for 65,536 talkers */
void	 mix_add(int32_t *sum, const int16_t *pcm, size_t n);
/* out = saturate(sum - own) (own NULL: saturate(sum)), n samples */
void	 mix_minus(int16_t *out, const int32_t *sum, const int16_t *own, size_t n);
/* Mean absolute amplitude of pcm, the talk detector's measure. */
unsigned mix_level(const int16_t *pcm, size_t n);

#define MIX_TALK_LEVEL	60	/* mean |sample| above this is speech (about -55 dBFS) */
#define MIX_TALK_HANG	15	/* ticks a talker stays mixed after its level drops: 300 ms */

/* ---------------------------------------------------------------- resampling */

struct mix_resampler;

/*
 * One tick's frame of a jitter buffer's participant, to PCM: fr decoded
 * (NULL: concealed) by d into tmp (a frame of the codec's rate), what the
 * decoder did not fill silent, then resampled by rs (NULL: same rate) into
 * out, n samples.  Rooms and recordings take their audio this way.
 */
void	 mix_decode(struct codec_dec *d, enum codec_id id, const struct codec_frame *fr,
	    struct mix_resampler *rs, int16_t *tmp, int16_t *out, size_t n);

/* 8000 <-> 16000 Hz (any rates speexdsp takes); NULL if it cannot */
struct mix_resampler *mix_resampler_new(unsigned in_rate, unsigned out_rate);
void	 mix_resampler_free(struct mix_resampler *r);
/*
 * 20 ms of in (in_rate / 50 samples) to out (out_rate / 50 samples): the
 * filter's start-up delay is paid once, then every call gives a whole
 * frame.  Returns the samples written (out_rate / 50).
 */
size_t	 mix_resample(struct mix_resampler *r, const int16_t *in, int16_t *out);

#endif
