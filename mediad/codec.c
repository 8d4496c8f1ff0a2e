/*
 * codec.c — the codecs of the room mixer behind codec.h: G.711 µ-law and
 * A-law (our own tables), AMR-NB (opencore-amrnb both ways) and AMR-WB
 * (opencore-amrwb decodes, vo-amrwbenc encodes), and the RFC 4867 RTP
 * payload of AMR in both its formats.
 *
 * The two AMR payload formats differ only in alignment, so one bit cursor
 * reads and writes both: CMR (4 bits), one ToC entry per frame (F, FT, Q:
 * 6 bits), then the frames' speech bits in ToC order.  Octet-aligned pads
 * the CMR to a byte (4 reserved bits), each ToC entry to a byte (2 bits)
 * and each frame's speech to a byte; bandwidth-efficient pads nothing but
 * the end of the payload.  Interleaving and frame CRCs (fmtp options we
 * never offer) are not supported.
 *
 * The libraries take and give one frame in RFC 4867 storage format: a ToC
 * byte 0|FT|Q|00 and the speech bits, in the same bit order as the RTP
 * payload, so decoding and encoding only add or strip that byte.  Facts
 * about them this file depends on, found by trying them (opencore-amr
 * 0.1.6, vo-amrwbenc 0.1.3); tests/unit/codec_test.c checks what we do
 * about each:
 *   - Encoder_Interface_Encode writes to its (const) input: it is always
 *     given a copy.  E_IF_encode leaves its input alone.
 *   - Decoder_Interface_Decode with bfi set decodes NO_DATA, its only way
 *     to conceal; given a frame type it does not know (9-14) it writes
 *     nothing at all, which would replay the caller's stale buffer, so such
 *     frames never reach it.
 *   - Neither decoder looks at the ToC's Q bit: a damaged frame (Q = 0)
 *     is passed with bfi set instead.
 * Both encoders run without DTX: the mixer sends a frame every 20 ms.
 *
 * Nothing here allocates per frame, logs or knows about RTP headers; the
 * caller counts and logs what is refused.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <opencore-amrnb/interf_dec.h>
#include <opencore-amrnb/interf_enc.h>
#include <opencore-amrwb/dec_if.h>
#include <vo-amrwbenc/enc_if.h>

#include "common/xmalloc.h"
#include "codec.h"

#define G711_FRAME		160	/* samples in 20 ms at 8 kHz */
#define AMR_FT_SPEECH_LOST	14	/* AMR-WB only */
#define AMR_FT_NO_DATA		15
#define AMR_STORAGE_MAX		64	/* ToC byte + the largest frame (61 bytes), rounded up */

/* Speech bits per frame type; -1: a frame type that does not exist. */
static const int16_t amrnb_frame_bits[16] = {
	95, 103, 118, 134, 148, 159, 204, 244,	/* modes 0-7 */
	39,					/* SID */
	-1, -1, -1, -1, -1, -1,			/* other systems' SID, reserved */
	0					/* NO_DATA */
};
static const int16_t amrwb_frame_bits[16] = {
	132, 177, 253, 285, 317, 365, 397, 461, 477,	/* modes 0-8 */
	40,						/* SID */
	-1, -1, -1, -1,					/* reserved */
	0, 0						/* SPEECH_LOST, NO_DATA */
};

struct codec_dec {
	struct codec_fmt fmt;
	void		*amr;			/* opencore decoder (AMR, AMR-WB) */
	unsigned	 lost;			/* G.711: frames concealed in a row */
	int16_t		 hist[G711_FRAME];	/* G.711: the last 20 ms decoded */
};

struct codec_enc {
	struct codec_fmt fmt;
	uint16_t	 modes;			/* AMR: mode_set, 0 resolved to every mode */
	int		 mode;			/* AMR: the mode in use */
	void		*amr;			/* opencore-amrnb or vo-amrwbenc encoder */
	int16_t		 speech[G711_FRAME];	/* AMR-NB: the copy its encoder writes to */
};

/* ------------------------------------------------------------- names */

struct codec_info {
	enum codec_id	 id;
	const char	*name;
	unsigned	 rate;
};

static const struct codec_info codec_table[] = {
	{ CODEC_PCMU,	"PCMU",		8000 },
	{ CODEC_PCMA,	"PCMA",		8000 },
	{ CODEC_AMR,	"AMR",		8000 },
	{ CODEC_AMR_WB,	"AMR-WB",	16000 },
};
#define CODEC_COUNT	(sizeof(codec_table) / sizeof(codec_table[0]))

static const struct codec_info *
codec_info(enum codec_id id)
{
	size_t i;

	for (i = 0; i < CODEC_COUNT; i++)
		if (codec_table[i].id == id)
			return &codec_table[i];
	return NULL;
}

const char *
codec_name(enum codec_id id)
{
	return codec_info(id) ? codec_info(id)->name : "";
}

enum codec_id
codec_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < CODEC_COUNT; i++)
		if (strcasecmp(codec_table[i].name, name) == 0)
			return codec_table[i].id;
	return CODEC_NONE;
}

unsigned
codec_rate(enum codec_id id)
{
	return codec_info(id) ? codec_info(id)->rate : 0;
}

unsigned
codec_frame_samples(enum codec_id id)
{
	return codec_rate(id) / 50;
}

/* ------------------------------------------------------------- G.711 */

/*
 * ITU-T G.711: a sign bit, a 3-bit segment (which power of two the
 * magnitude lies under) and 4 bits of mantissa.  µ-law works on 14-bit
 * magnitudes plus a bias of 33, segment k holding biased magnitudes from
 * 32 << k (33 for k = 0) up to 64 << k; A-law on 13-bit magnitudes,
 * segment k >= 1 from 16 << k up to 32 << k and segment 0 below 32, both
 * segments 0 and 1 in steps of 2.  Decoding gives the middle of the
 * step.  On the wire µ-law inverts every bit, A-law the even ones (0x55).
 * The tables are filled once from the formulas below.
 */
#define ULAW_BIAS	33
#define ULAW_CLIP	8158	/* largest 14-bit magnitude before the bias */

static int16_t	ulaw_to_pcm[256];
static int16_t	alaw_to_pcm[256];
static uint8_t	pcm_to_ulaw[1 << 14];	/* by the sample's top 14 bits */
static uint8_t	pcm_to_alaw[1 << 13];	/* by the sample's top 13 bits */
static pthread_once_t g711_once = PTHREAD_ONCE_INIT;

/* the segment of a magnitude: how many times it halves before it is under limit */
static unsigned
g711_segment(unsigned mag, unsigned limit)
{
	unsigned seg = 0;

	while (seg < 8 && mag >= limit << seg)
		seg++;
	return seg;
}

/* sample14: a 14-bit two's complement sample (the 16-bit one >> 2) */
static uint8_t
ulaw_encode(int sample14)
{
	unsigned mag = (unsigned)(sample14 < 0 ? -sample14 : sample14);
	uint8_t sign = sample14 < 0 ? 0x80 : 0x00, seg;

	if (mag > ULAW_CLIP)
		mag = ULAW_CLIP;
	mag += ULAW_BIAS;
	seg = (uint8_t)g711_segment(mag, 64);
	return (uint8_t)~(sign | seg << 4 | ((mag >> (seg + 1)) & 0x0f));
}

static int16_t
ulaw_decode(uint8_t code)
{
	unsigned c = (uint8_t)~code, seg = (c >> 4) & 7;
	/* the middle of the step, 14 bits */
	int mag = (int)((((c & 0x0f) << 1) + ULAW_BIAS) << seg) - ULAW_BIAS;

	return (int16_t)((c & 0x80) ? -mag * 4 : mag * 4);
}

/* sample13: a 13-bit two's complement sample (the 16-bit one >> 3) */
static uint8_t
alaw_encode(int sample13)
{
	unsigned mag = (unsigned)(sample13 < 0 ? -sample13 - 1 : sample13);
	uint8_t sign = sample13 < 0 ? 0x00 : 0x80, seg, mant;

	seg = (uint8_t)g711_segment(mag, 32);	/* 13 bits: at most 7 */
	mant = (uint8_t)((mag >> (seg < 2 ? 1 : seg)) & 0x0f);
	return (uint8_t)((sign | seg << 4 | mant) ^ 0x55);
}

static int16_t
alaw_decode(uint8_t code)
{
	unsigned c = code ^ 0x55u, seg = (c >> 4) & 7;
	int mag = (int)((c & 0x0f) << 1 | 1);	/* the middle of the step */

	if (seg > 0)
		mag = (mag + 32) << (seg - 1);
	return (int16_t)((c & 0x80) ? mag * 8 : -mag * 8);
}

static void
g711_tables_fill(void)
{
	unsigned i;

	for (i = 0; i < 256; i++) {
		ulaw_to_pcm[i] = ulaw_decode((uint8_t)i);
		alaw_to_pcm[i] = alaw_decode((uint8_t)i);
	}
	for (i = 0; i < (1 << 14); i++)
		pcm_to_ulaw[i] = ulaw_encode((int16_t)(i << 2) >> 2);
	for (i = 0; i < (1 << 13); i++)
		pcm_to_alaw[i] = alaw_encode((int16_t)(i << 3) >> 3);
}

static void
g711_encode(enum codec_id id, const int16_t *pcm, unsigned n, uint8_t *out)
{
	unsigned i;

	if (id == CODEC_PCMU)
		for (i = 0; i < n; i++)
			out[i] = pcm_to_ulaw[(uint16_t)pcm[i] >> 2];
	else
		for (i = 0; i < n; i++)
			out[i] = pcm_to_alaw[(uint16_t)pcm[i] >> 3];
}

static int
g711_decode(struct codec_dec *d, const struct codec_frame *fr, int16_t *pcm)
{
	const int16_t *table = d->fmt.id == CODEC_PCMU ? ulaw_to_pcm : alaw_to_pcm;
	unsigned i, n = fr->len;

	if (fr->ft != -1 || n == 0 || n > G711_FRAME)
		return -1;
	for (i = 0; i < n; i++)
		pcm[i] = table[fr->data[i]];
	/* the history is the last 160 samples, whatever the frames' sizes */
	memmove(d->hist, d->hist + n, (G711_FRAME - n) * sizeof(d->hist[0]));
	memcpy(d->hist + G711_FRAME - n, pcm, n * sizeof(pcm[0]));
	d->lost = 0;
	return (int)n;
}

/* Q15 gain at the end of the n'th frame lost in a row: -6 dB a frame,
 * the third fading out; silence from then on */
static const int32_t g711_conceal_gain[] = { 32768, 16384, 8192, 0 };
#define G711_CONCEAL_FRAMES	3

/* the last 20 ms again, its gain ramping down within the frame */
static int
g711_conceal(struct codec_dec *d, int16_t *pcm)
{
	int32_t from, to, g;
	unsigned i;

	if (d->lost >= G711_CONCEAL_FRAMES) {
		memset(pcm, 0, G711_FRAME * sizeof(pcm[0]));
		return G711_FRAME;
	}
	from = g711_conceal_gain[d->lost];
	to = g711_conceal_gain[++d->lost];
	for (i = 0; i < G711_FRAME; i++) {
		g = from + (to - from) * (int32_t)i / G711_FRAME;
		pcm[i] = (int16_t)(d->hist[i] * g / 32768);
	}
	return G711_FRAME;
}

/* --------------------------------------------------- RFC 4867 payload */

static int
amr_frame_bits(enum codec_id id, int ft)
{
	if (ft < 0 || ft > 15)
		return -1;
	if (id == CODEC_AMR)
		return amrnb_frame_bits[ft];
	if (id == CODEC_AMR_WB)
		return amrwb_frame_bits[ft];
	return -1;
}

/* A cursor over a payload's bits, from the most significant bit of byte 0;
 * reading or writing past nbits fails and leaves the buffer alone. */
struct bitcur {
	uint8_t		*out;		/* writing */
	const uint8_t	*in;		/* reading */
	size_t		 nbits;
	size_t		 pos;
};

static int
bits_get(struct bitcur *c, unsigned n, unsigned *v)
{
	unsigned i;

	if (n > c->nbits - c->pos)
		return -1;
	for (*v = 0, i = 0; i < n; i++, c->pos++)
		*v = *v << 1 | ((c->in[c->pos / 8] >> (7 - c->pos % 8)) & 1);
	return 0;
}

static int
bits_put(struct bitcur *c, unsigned v, unsigned n)
{
	unsigned i, bit;

	if (n > c->nbits - c->pos)
		return -1;
	for (i = 0; i < n; i++, c->pos++) {
		bit = 0x80u >> (c->pos % 8);
		if ((v >> (n - 1 - i)) & 1)
			c->out[c->pos / 8] |= (uint8_t)bit;
		else
			c->out[c->pos / 8] &= (uint8_t)~bit;
	}
	return 0;
}

/* the bits up to the next byte boundary: skipped when reading, zeros when writing */
static int
bits_align(struct bitcur *c, int writing)
{
	unsigned pad = (unsigned)((8 - c->pos % 8) % 8), v;

	return writing ? bits_put(c, 0, pad) : bits_get(c, pad, &v);
}

/* the frame's nbits speech bits from the cursor into fr->data, pad bits zero */
static int
bits_get_frame(struct bitcur *c, struct codec_frame *fr, unsigned nbits)
{
	unsigned i, v;

	for (i = 0; i < nbits / 8; i++) {
		if (bits_get(c, 8, &v) != 0)
			return -1;
		fr->data[i] = (uint8_t)v;
	}
	if (nbits % 8 != 0) {
		if (bits_get(c, nbits % 8, &v) != 0)
			return -1;
		fr->data[i] = (uint8_t)(v << (8 - nbits % 8));
	}
	return 0;
}

static int
bits_put_frame(struct bitcur *c, const struct codec_frame *fr, unsigned nbits)
{
	unsigned i;

	for (i = 0; i < nbits / 8; i++)
		if (bits_put(c, fr->data[i], 8) != 0)
			return -1;
	if (nbits % 8 != 0 && bits_put(c, (unsigned)fr->data[i] >> (8 - nbits % 8), nbits % 8) != 0)
		return -1;
	return 0;
}

/* reserved bits after the CMR and after each ToC entry (octet-aligned only) */
#define AMR_CMR_PAD(f)	((f)->octet_align ? 4u : 0u)
#define AMR_TOC_PAD(f)	((f)->octet_align ? 2u : 0u)

static int
amr_unpack(const struct codec_fmt *f, const uint8_t *pl, size_t len,
    struct codec_frame *fr, int max, int *cmr)
{
	struct bitcur c = { .in = pl, .nbits = len * 8 };
	unsigned mode, more, ft, q, reserved;
	int n = 0, i, nbits;

	if (bits_get(&c, 4, &mode) != 0 || bits_get(&c, AMR_CMR_PAD(f), &reserved) != 0)
		return -1;
	/* a CMR that is no mode is ignored (RFC 4867 4.3.1) */
	*cmr = codec_amr_mode_valid(f->id, (int)mode) ? (int)mode : CODEC_CMR_NONE;
	do {
		if (bits_get(&c, 1, &more) != 0 || bits_get(&c, 4, &ft) != 0 ||
		    bits_get(&c, 1, &q) != 0 || bits_get(&c, AMR_TOC_PAD(f), &reserved) != 0)
			return -1;
		if (n >= max || (nbits = amr_frame_bits(f->id, (int)ft)) < 0)
			return -1;
		fr[n].ft = (int)ft;
		fr[n].q = (int)q;
		fr[n].len = (unsigned)(nbits + 7) / 8;
		n++;
	} while (more);
	for (i = 0; i < n; i++) {
		if (bits_get_frame(&c, &fr[i], (unsigned)amr_frame_bits(f->id, fr[i].ft)) != 0)
			return -1;
		if (f->octet_align && bits_align(&c, 0) != 0)
			return -1;
	}
	return n;
}

static int
amr_pack(const struct codec_fmt *f, int cmr, const struct codec_frame *fr, int n,
    uint8_t *out, size_t cap)
{
	struct bitcur c = { .out = out, .nbits = cap * 8 };
	int i, nbits;

	if (n < 1 || (cmr != CODEC_CMR_NONE && !codec_amr_mode_valid(f->id, cmr)))
		return -1;
	for (i = 0; i < n; i++) {
		nbits = amr_frame_bits(f->id, fr[i].ft);
		if (nbits < 0 || fr[i].len != (unsigned)(nbits + 7) / 8)
			return -1;
	}
	if (bits_put(&c, (unsigned)cmr, 4) != 0 || bits_put(&c, 0, AMR_CMR_PAD(f)) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (bits_put(&c, i < n - 1, 1) != 0 || bits_put(&c, (unsigned)fr[i].ft, 4) != 0 ||
		    bits_put(&c, fr[i].q != 0, 1) != 0 || bits_put(&c, 0, AMR_TOC_PAD(f)) != 0)
			return -1;
	for (i = 0; i < n; i++) {
		if (bits_put_frame(&c, &fr[i], (unsigned)amr_frame_bits(f->id, fr[i].ft)) != 0)
			return -1;
		if (f->octet_align && bits_align(&c, 1) != 0)
			return -1;
	}
	if (bits_align(&c, 1) != 0)
		return -1;
	return (int)(c.pos / 8);
}

/* ------------------------------------------------------ frames, payloads */

int
codec_unpack(const struct codec_fmt *f, const uint8_t *pl, size_t len,
    struct codec_frame *fr, int max, int *cmr)
{
	size_t off;
	int n = 0;

	*cmr = CODEC_CMR_NONE;
	switch (f->id) {
	case CODEC_PCMU:
	case CODEC_PCMA:
		for (off = 0; off < len; off += fr[n].len, n++) {
			if (n >= max)
				return -1;
			fr[n].ft = -1;
			fr[n].q = 1;
			fr[n].len = (unsigned)(len - off < G711_FRAME ? len - off : G711_FRAME);
			memcpy(fr[n].data, pl + off, fr[n].len);
		}
		return n;
	case CODEC_AMR:
	case CODEC_AMR_WB:
		return amr_unpack(f, pl, len, fr, max, cmr);
	default:
		return -1;
	}
}

int
codec_pack(const struct codec_fmt *f, int cmr, const struct codec_frame *fr, int n,
    uint8_t *out, size_t cap)
{
	size_t off = 0;
	int i;

	switch (f->id) {
	case CODEC_PCMU:
	case CODEC_PCMA:
		for (i = 0; i < n; i++) {
			if (fr[i].ft != -1 || fr[i].len > G711_FRAME || fr[i].len > cap - off)
				return -1;
			memcpy(out + off, fr[i].data, fr[i].len);
			off += fr[i].len;
		}
		return (int)off;
	case CODEC_AMR:
	case CODEC_AMR_WB:
		return amr_pack(f, cmr, fr, n, out, cap);
	default:
		return -1;
	}
}

/* ------------------------------------------------------------ AMR modes */

/* the speech modes of id that mode_set allows (0: all of them) */
static uint16_t
amr_modes(enum codec_id id, uint16_t mode_set)
{
	uint16_t all = id == CODEC_AMR ? 0x00ff : id == CODEC_AMR_WB ? 0x01ff : 0;

	return mode_set == 0 ? all : mode_set & all;
}

int
codec_amr_mode_valid(enum codec_id id, int mode)
{
	return mode >= 0 && mode < 16 && (amr_modes(id, 0) >> mode & 1);
}

int
codec_amr_mode_max(enum codec_id id, uint16_t mode_set)
{
	uint16_t modes = amr_modes(id, mode_set);
	int m;

	for (m = 15; m >= 0; m--)
		if (modes >> m & 1)
			return m;
	return -1;
}

/* ------------------------------------------------------------- decoders */

struct codec_dec *
codec_dec_new(const struct codec_fmt *f)
{
	struct codec_dec *d;

	if (codec_rate(f->id) == 0)
		return NULL;
	pthread_once(&g711_once, g711_tables_fill);
	d = xcalloc(1, sizeof(*d));
	d->fmt = *f;
	switch (f->id) {
	case CODEC_AMR:
		d->amr = Decoder_Interface_init();
		break;
	case CODEC_AMR_WB:
		d->amr = D_IF_init();
		break;
	default:
		return d;
	}
	if (d->amr == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

void
codec_dec_free(struct codec_dec *d)
{
	if (d == NULL)
		return;
	if (d->fmt.id == CODEC_AMR)
		Decoder_Interface_exit(d->amr);
	else if (d->fmt.id == CODEC_AMR_WB)
		D_IF_exit(d->amr);
	free(d);
}

/*
 * One frame through the library in storage format.  fr == NULL (lost):
 * AMR-NB takes bfi, which it turns into NO_DATA; AMR-WB is told
 * SPEECH_LOST.  A frame with Q = 0 goes with bfi set (neither decoder
 * looks at Q).
 */
static int
amr_decode(struct codec_dec *d, const struct codec_frame *fr, int16_t *pcm)
{
	uint8_t storage[AMR_STORAGE_MAX] = { 0 };
	int nbits, bad;

	if (fr == NULL) {
		storage[0] = (d->fmt.id == CODEC_AMR ? AMR_FT_NO_DATA : AMR_FT_SPEECH_LOST) << 3;
		bad = 1;
	} else {
		nbits = amr_frame_bits(d->fmt.id, fr->ft);
		if (nbits < 0 || fr->len < (unsigned)(nbits + 7) / 8)
			return -1;
		storage[0] = (uint8_t)(fr->ft << 3 | (fr->q != 0) << 2);
		memcpy(storage + 1, fr->data, (unsigned)(nbits + 7) / 8);
		bad = fr->q == 0;
	}
	if (d->fmt.id == CODEC_AMR) {
		Decoder_Interface_Decode(d->amr, storage, pcm, bad);
		return G711_FRAME;
	}
	D_IF_decode(d->amr, storage, pcm, bad);
	return 2 * G711_FRAME;
}

int
codec_decode(struct codec_dec *d, const struct codec_frame *fr, int16_t *pcm)
{
	switch (d->fmt.id) {
	case CODEC_PCMU:
	case CODEC_PCMA:
		return fr == NULL ? g711_conceal(d, pcm) : g711_decode(d, fr, pcm);
	case CODEC_AMR:
	case CODEC_AMR_WB:
		return amr_decode(d, fr, pcm);
	default:
		return -1;
	}
}

/* ------------------------------------------------------------- encoders */

struct codec_enc *
codec_enc_new(const struct codec_fmt *f)
{
	struct codec_enc *e;
	int amr = f->id == CODEC_AMR || f->id == CODEC_AMR_WB;

	if (codec_rate(f->id) == 0 || (amr && amr_modes(f->id, f->mode_set) == 0))
		return NULL;
	pthread_once(&g711_once, g711_tables_fill);
	e = xcalloc(1, sizeof(*e));
	e->fmt = *f;
	e->mode = -1;
	if (!amr)
		return e;
	e->modes = amr_modes(f->id, f->mode_set);
	e->mode = codec_amr_mode_max(f->id, e->modes);
	e->amr = f->id == CODEC_AMR ? Encoder_Interface_init(0) : E_IF_init();
	if (e->amr == NULL) {
		free(e);
		return NULL;
	}
	return e;
}

void
codec_enc_free(struct codec_enc *e)
{
	if (e == NULL)
		return;
	if (e->fmt.id == CODEC_AMR)
		Encoder_Interface_exit(e->amr);
	else if (e->fmt.id == CODEC_AMR_WB)
		E_IF_exit(e->amr);
	free(e);
}

/*
 * RFC 4867 mode-set: the highest allowed mode not above the one asked for,
 * else the lowest allowed.  A CMR that is no mode is ignored.
 */
void
codec_enc_request(struct codec_enc *e, int cmr)
{
	int m;

	if (e->modes == 0)
		return;
	if (cmr == CODEC_CMR_NONE) {
		e->mode = codec_amr_mode_max(e->fmt.id, e->modes);
		return;
	}
	if (!codec_amr_mode_valid(e->fmt.id, cmr))
		return;
	for (m = cmr; m >= 0 && !(e->modes >> m & 1); m--)
		;
	if (m < 0)
		for (m = 0; !(e->modes >> m & 1); m++)
			;
	e->mode = m;
}

int
codec_enc_mode(const struct codec_enc *e)
{
	return e->mode;
}

int
codec_encode(struct codec_enc *e, const int16_t *pcm, uint8_t *out, size_t cap)
{
	uint8_t storage[AMR_STORAGE_MAX];
	struct codec_frame fr;
	int n, nbits;

	switch (e->fmt.id) {
	case CODEC_PCMU:
	case CODEC_PCMA:
		if (cap < G711_FRAME)
			return -1;
		g711_encode(e->fmt.id, pcm, G711_FRAME, out);
		return G711_FRAME;
	case CODEC_AMR:
		memcpy(e->speech, pcm, sizeof(e->speech));
		n = Encoder_Interface_Encode(e->amr, (enum Mode)e->mode, e->speech, storage, 0);
		break;
	case CODEC_AMR_WB:
		n = E_IF_encode(e->amr, e->mode, pcm, storage, 0);
		break;
	default:
		return -1;
	}
	if (n < 1)
		return -1;
	fr.ft = storage[0] >> 3 & 0x0f;
	fr.q = storage[0] >> 2 & 1;
	fr.len = (unsigned)n - 1;
	nbits = amr_frame_bits(e->fmt.id, fr.ft);
	if (nbits < 0 || fr.len != (unsigned)(nbits + 7) / 8)
		return -1;
	memcpy(fr.data, storage + 1, fr.len);
	return codec_pack(&e->fmt, CODEC_CMR_NONE, &fr, 1, out, cap);
}
