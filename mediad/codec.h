/*
 * codec.h — the audio codecs of mediad's room mixer: G.711 (PCMU, PCMA),
 * AMR-NB and AMR-WB with their RFC 4867 RTP payloads (octet-aligned and
 * bandwidth-efficient, CMR, mode-set).
 *
 * The mixer works in 20 ms frames of 16-bit linear PCM at the codec's own
 * rate (8 kHz, AMR-WB 16 kHz).  A received RTP payload is first split into
 * frames (codec_unpack: no codec state, so the jitter buffer can hold
 * frames in any order), then each frame is decoded in playout order
 * (codec_decode); a frame that never came is concealed by the decoder.
 * The way out is codec_encode: 20 ms of PCM to one RTP payload.
 *
 * Neither this file nor codec.c knows about sockets, rooms or sessions.
 */
#ifndef PARLEY_MEDIAD_CODEC_H
#define PARLEY_MEDIAD_CODEC_H

#include <stddef.h>
#include <stdint.h>

enum codec_id {
	CODEC_NONE = 0,
	CODEC_PCMU,
	CODEC_PCMA,
	CODEC_AMR,		/* AMR-NB, 8 kHz */
	CODEC_AMR_WB		/* 16 kHz */
};

#define CODEC_RATE_MAX		16000
#define CODEC_FRAME_MAX		320	/* samples of 20 ms at 16 kHz */
#define CODEC_PAYLOAD_MAX	1200	/* bytes of one RTP payload we build or take */
#define CODEC_FRAMES_MAX	16	/* 20 ms frames in one received payload */
#define CODEC_CMR_NONE		15	/* "no mode request" */

/* One negotiated payload format (from the SDP's rtpmap and fmtp). */
struct codec_fmt {
	enum codec_id	 id;
	uint8_t		 pt;		/* RTP payload type */
	int		 octet_align;	/* AMR: 1 octet-aligned, 0 bandwidth-efficient */
	uint16_t	 mode_set;	/* AMR: bit m set = mode m allowed; 0 = every mode */
};

/*
 * One 20 ms frame as carried in an RTP payload, before decoding.
 *   AMR:   ft is the frame type (NB 0-7 speech, WB 0-8 speech, 8 / 9 SID,
 *          15 NO_DATA), q the quality bit, data the speech bits packed
 *          from the most significant bit of data[0] (no ToC), len their
 *          bytes (bits rounded up).
 *   G.711: ft = -1, data the samples as sent, len their count (160 for a
 *          full 20 ms frame; fewer for a shorter packet's last piece).
 */
struct codec_frame {
	int		 ft;
	int		 q;
	unsigned	 len;
	uint8_t		 data[160];
};

/* "PCMU", "PCMA", "AMR", "AMR-WB"; "" for CODEC_NONE */
const char	*codec_name(enum codec_id id);
/* The codec of an rtpmap encoding name (case-insensitive), or CODEC_NONE. */
enum codec_id	 codec_by_name(const char *name);
/* Sample rate of the PCM and RTP clock: 8000 or 16000. */
unsigned	 codec_rate(enum codec_id id);
/* Samples in 20 ms: 160 or 320. */
unsigned	 codec_frame_samples(enum codec_id id);
/* Is mode a speech mode of AMR / AMR-WB (NB 0-7, WB 0-8)? */
int		 codec_amr_mode_valid(enum codec_id id, int mode);
/* The highest mode mode_set allows (every mode when 0). */
int		 codec_amr_mode_max(enum codec_id id, uint16_t mode_set);

/*
 * Splits an RTP payload of format f into frames (at most max, in order):
 * returns their count, or -1 when the payload is malformed (a ToC that
 * runs past the end, a frame type that does not exist, too short for what
 * the ToC says, too many frames).  *cmr gets the payload's CMR
 * (CODEC_CMR_NONE for G.711).  Only reads pl[0..len-1].
 */
int	 codec_unpack(const struct codec_fmt *f, const uint8_t *pl, size_t len,
	    struct codec_frame *fr, int max, int *cmr);
/*
 * The RTP payload of frames fr[0..n-1] in format f with CMR cmr: returns
 * its length, or -1 if it does not fit in cap or a frame is invalid.
 */
int	 codec_pack(const struct codec_fmt *f, int cmr, const struct codec_frame *fr, int n,
	    uint8_t *out, size_t cap);

struct codec_dec;
struct codec_enc;

/* NULL when f names no codec (or the codec library has no memory). */
struct codec_dec *codec_dec_new(const struct codec_fmt *f);
void	 codec_dec_free(struct codec_dec *d);
/*
 * Decodes one frame into pcm (codec_frame_samples() samples, or fr->len
 * for a short G.711 frame); returns the samples written.  fr == NULL: the
 * frame was lost or came too late; the decoder conceals it (AMR: its own
 * bad-frame handling; G.711: the last frame repeated, fading, then
 * silence), so a gap never plays stale audio at full level.
 */
int	 codec_decode(struct codec_dec *d, const struct codec_frame *fr, int16_t *pcm);

/* An encoder at the highest mode the format allows (AMR); G.711 has no state.
 * NULL when f names no codec or its mode_set allows no mode of it. */
struct codec_enc *codec_enc_new(const struct codec_fmt *f);
void	 codec_enc_free(struct codec_enc *e);
/* AMR: follow a CMR from the phone (kept within mode_set; 15 = back to the highest). */
void	 codec_enc_request(struct codec_enc *e, int cmr);
/* The AMR mode in use; -1 for G.711. */
int	 codec_enc_mode(const struct codec_enc *e);
/*
 * Encodes 20 ms of pcm (codec_frame_samples() samples; never modified)
 * into one RTP payload with CMR 15; returns its length, or -1.
 */
int	 codec_encode(struct codec_enc *e, const int16_t *pcm, uint8_t *out, size_t cap);

#endif
