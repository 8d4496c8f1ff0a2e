/*
 * codec_test.c — unit tests of mediad/codec.c: G.711 against reference
 * values and round trips; the RFC 4867 payloads of AMR and AMR-WB in both
 * formats for every frame type (exact lengths, hand-made bit vectors, F
 * bit, CMR, refusal of every truncation and of unknown frame types); tones
 * through encode, payload and decode of every codec (frequency and level);
 * concealment of lost frames; mode-set and CMR; and the library traps the
 * codec works around (the AMR-NB encoder writing to its input).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "mediad/codec.h"
#include "common/evs.h"

/* speech bits per frame type, from RFC 4867 / TS 26.101 and 26.201 */
static const int nb_bits[16] = { 95, 103, 118, 134, 148, 159, 204, 244, 39,
	-1, -1, -1, -1, -1, -1, 0 };
static const int wb_bits[16] = { 132, 177, 253, 285, 317, 365, 397, 461, 477, 40,
	-1, -1, -1, -1, 0, 0 };

static int
frame_bits(enum codec_id id, int ft)
{
	return id == CODEC_AMR ? nb_bits[ft] : wb_bits[ft];
}

static struct codec_fmt
fmt_of(enum codec_id id, int octet_align, uint16_t mode_set)
{
	struct codec_fmt f = { .id = id, .pt = 96, .octet_align = octet_align,
		.mode_set = mode_set };

	return f;
}

/* a frame of type ft with a bit pattern that depends on seed, pad bits zero */
static void
frame_fill(struct codec_frame *fr, enum codec_id id, int ft, int q, unsigned seed)
{
	int bits = frame_bits(id, ft);
	unsigned i;

	memset(fr, 0, sizeof(*fr));
	fr->ft = ft;
	fr->q = q;
	fr->len = (unsigned)(bits + 7) / 8;
	for (i = 0; i < fr->len; i++)
		fr->data[i] = (uint8_t)(0xa5 ^ (i * 37 + seed * 11));
	if (bits % 8 != 0)
		fr->data[fr->len - 1] &= (uint8_t)(0xff << (8 - bits % 8));
}

static void
frame_eq(const struct codec_frame *got, const struct codec_frame *want)
{
	ck_assert_int_eq(got->ft, want->ft);
	ck_assert_int_eq(got->q, want->q);
	ck_assert_uint_eq(got->len, want->len);
	ck_assert_mem_eq(got->data, want->data, want->len);
}

/* every payload cut short is refused, read from a heap copy of exactly
 * that size (so ASan sees a read past the end) */
static void
truncations_refused(const struct codec_fmt *f, const uint8_t *pl, size_t len)
{
	struct codec_frame fr[CODEC_FRAMES_MAX];
	size_t cut;
	int cmr;

	for (cut = 0; cut < len; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);

		memcpy(p, pl, cut);
		ck_assert_msg(codec_unpack(f, p, cut, fr, CODEC_FRAMES_MAX, &cmr) == -1,
		    "%s %s: payload of %zu bytes cut to %zu accepted", codec_name(f->id),
		    f->octet_align ? "octet" : "be", len, cut);
		free(p);
	}
}

/* ------------------------------------------------------------ tones */

static void
tone(int16_t *pcm, unsigned n, unsigned rate, double freq, double amp, unsigned *t)
{
	unsigned i;

	for (i = 0; i < n; i++, (*t)++)
		pcm[i] = (int16_t)lrint(amp * sin(2 * M_PI * freq * *t / rate + 0.3));
}

static double
rms(const int16_t *pcm, unsigned n)
{
	double s = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		s += (double)pcm[i] * pcm[i];
	return n ? sqrt(s / n) : 0;
}

/* frequency from the rising zero crossings, interpolated between samples */
static double
zero_crossing_freq(const int16_t *pcm, unsigned n, unsigned rate)
{
	double first = -1, last = -1, at;
	unsigned i, count = 0;

	for (i = 1; i < n; i++) {
		if (pcm[i - 1] < 0 && pcm[i] >= 0) {
			at = i - 1 + (double)-pcm[i - 1] / (pcm[i] - pcm[i - 1]);
			if (count++ == 0)
				first = at;
			last = at;
		}
	}
	return count < 2 ? 0 : (count - 1) * (double)rate / (last - first);
}

/*
 * How pure a tone at freq is: the power of the sine that fits pcm best
 * (least squares) over the power of what is left, in dB.  Unlike an SNR
 * against the input it does not mind the phase a codec moves.
 */
static double
tone_purity_db(const int16_t *pcm, unsigned n, double freq, unsigned rate)
{
	double ss = 0, cc = 0, sc = 0, ys = 0, yc = 0, det, a, b, fit, sig = 0, err = 0;
	double w = 2 * M_PI * freq / rate;
	unsigned i;

	for (i = 0; i < n; i++) {
		ss += sin(w * i) * sin(w * i);
		cc += cos(w * i) * cos(w * i);
		sc += sin(w * i) * cos(w * i);
		ys += pcm[i] * sin(w * i);
		yc += pcm[i] * cos(w * i);
	}
	det = ss * cc - sc * sc;
	a = (ys * cc - yc * sc) / det;
	b = (yc * ss - ys * sc) / det;
	for (i = 0; i < n; i++) {
		fit = a * sin(w * i) + b * cos(w * i);
		sig += fit * fit;
		err += (pcm[i] - fit) * (pcm[i] - fit);
	}
	return 10 * log10(sig / (err + 1e-9));
}

/* ------------------------------------------------------------ G.711 */

START_TEST(names_and_rates)
{
	ck_assert_str_eq(codec_name(CODEC_PCMU), "PCMU");
	ck_assert_str_eq(codec_name(CODEC_AMR_WB), "AMR-WB");
	ck_assert_str_eq(codec_name(CODEC_NONE), "");
	ck_assert_int_eq(codec_by_name("amr-wb"), CODEC_AMR_WB);
	ck_assert_int_eq(codec_by_name("pcma"), CODEC_PCMA);
	ck_assert_int_eq(codec_by_name("AMR"), CODEC_AMR);
	ck_assert_int_eq(codec_by_name("G729"), CODEC_NONE);
	ck_assert_uint_eq(codec_rate(CODEC_AMR_WB), 16000);
	ck_assert_uint_eq(codec_rate(CODEC_PCMU), 8000);
	ck_assert_uint_eq(codec_frame_samples(CODEC_AMR_WB), 320);
	ck_assert_uint_eq(codec_frame_samples(CODEC_AMR), 160);
	ck_assert_uint_eq(codec_frame_samples(CODEC_NONE), 0);
	ck_assert_ptr_null(codec_dec_new(&(struct codec_fmt){ .id = CODEC_NONE }));
	ck_assert_ptr_null(codec_enc_new(&(struct codec_fmt){ .id = CODEC_NONE }));
}
END_TEST

/* decode a full frame of one code, encode it back */
static int16_t
g711_decode_code(struct codec_dec *d, uint8_t code)
{
	struct codec_frame fr = { .ft = -1, .q = 1, .len = 160 };
	int16_t pcm[160];

	memset(fr.data, code, sizeof(fr.data));
	ck_assert_int_eq(codec_decode(d, &fr, pcm), 160);
	return pcm[159];
}

static uint8_t
g711_encode_value(struct codec_enc *e, int16_t v)
{
	int16_t pcm[160];
	uint8_t out[160];
	int i;

	for (i = 0; i < 160; i++)
		pcm[i] = v;
	ck_assert_int_eq(codec_encode(e, pcm, out, sizeof(out)), 160);
	return out[0];
}

START_TEST(g711_every_code_round_trips)
{
	static const enum codec_id law[] = { CODEC_PCMU, CODEC_PCMA };
	struct codec_fmt f;
	struct codec_dec *d;
	struct codec_enc *e;
	int i, c;
	int16_t v;

	for (i = 0; i < 2; i++) {
		f = fmt_of(law[i], 0, 0);
		d = codec_dec_new(&f);
		e = codec_enc_new(&f);
		for (c = 0; c < 256; c++) {
			v = g711_decode_code(d, (uint8_t)c);
			/* µ-law's two zeros (0xff, 0x7f) both encode as 0xff */
			ck_assert_msg(g711_encode_value(e, v) == (law[i] == CODEC_PCMU && c == 0x7f ? 0xff : c),
			    "%s code 0x%02x -> %d -> 0x%02x", codec_name(law[i]), c, v,
			    g711_encode_value(e, v));
		}
		codec_dec_free(d);
		codec_enc_free(e);
	}
}
END_TEST

START_TEST(g711_reference_values)
{
	static const struct { enum codec_id id; uint8_t code; int16_t value; } dec[] = {
		{ CODEC_PCMU, 0xff, 0 },	{ CODEC_PCMU, 0x7f, 0 },
		{ CODEC_PCMU, 0xfe, 8 },	{ CODEC_PCMU, 0xf0, 120 },
		{ CODEC_PCMU, 0xef, 132 },	{ CODEC_PCMU, 0xce, 988 },
		{ CODEC_PCMU, 0x81, 31100 },	{ CODEC_PCMU, 0x80, 32124 },
		{ CODEC_PCMU, 0x00, -32124 },	{ CODEC_PCMU, 0x7e, -8 },
		{ CODEC_PCMA, 0xd5, 8 },	{ CODEC_PCMA, 0x55, -8 },
		{ CODEC_PCMA, 0xd4, 24 },	{ CODEC_PCMA, 0xc5, 264 },
		{ CODEC_PCMA, 0xfa, 1008 },	{ CODEC_PCMA, 0xaa, 32256 },
		{ CODEC_PCMA, 0x2a, -32256 },
	};
	static const struct { enum codec_id id; int16_t value; uint8_t code; } enc[] = {
		{ CODEC_PCMU, 0, 0xff },	{ CODEC_PCMU, 1000, 0xce },
		{ CODEC_PCMU, 32767, 0x80 },	{ CODEC_PCMU, -32768, 0x00 },
		{ CODEC_PCMU, -1, 0x7e },	{ CODEC_PCMU, 3, 0xff },	/* 14-bit -1, 0 */
		{ CODEC_PCMA, 0, 0xd5 },	{ CODEC_PCMA, 1000, 0xfa },
		{ CODEC_PCMA, 32767, 0xaa },	{ CODEC_PCMA, -32768, 0x2a },
		{ CODEC_PCMA, -1, 0x55 },
	};
	struct codec_fmt f;
	struct codec_dec *d;
	struct codec_enc *e;
	size_t i;

	for (i = 0; i < sizeof(dec) / sizeof(dec[0]); i++) {
		f = fmt_of(dec[i].id, 0, 0);
		d = codec_dec_new(&f);
		ck_assert_msg(g711_decode_code(d, dec[i].code) == dec[i].value, "%s 0x%02x",
		    codec_name(dec[i].id), dec[i].code);
		codec_dec_free(d);
	}
	for (i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
		f = fmt_of(enc[i].id, 0, 0);
		e = codec_enc_new(&f);
		ck_assert_msg(g711_encode_value(e, enc[i].value) == enc[i].code, "%s %d",
		    codec_name(enc[i].id), enc[i].value);
		codec_enc_free(e);
	}
}
END_TEST

START_TEST(g711_unpack_splits_into_frames)
{
	struct codec_fmt f = fmt_of(CODEC_PCMA, 0, 0);
	struct codec_frame fr[4];
	uint8_t pl[400], out[400];
	int i, cmr = 0;

	for (i = 0; i < 400; i++)
		pl[i] = (uint8_t)(i * 7);
	ck_assert_int_eq(codec_unpack(&f, pl, sizeof(pl), fr, 4, &cmr), 3);
	ck_assert_int_eq(cmr, CODEC_CMR_NONE);
	ck_assert_uint_eq(fr[0].len, 160);
	ck_assert_uint_eq(fr[1].len, 160);
	ck_assert_uint_eq(fr[2].len, 80);
	ck_assert_int_eq(fr[2].ft, -1);
	ck_assert_mem_eq(fr[2].data, pl + 320, 80);
	ck_assert_int_eq(codec_pack(&f, CODEC_CMR_NONE, fr, 3, out, sizeof(out)), 400);
	ck_assert_mem_eq(out, pl, 400);
	ck_assert_int_eq(codec_pack(&f, CODEC_CMR_NONE, fr, 3, out, 399), -1);
	/* more frames than the caller takes */
	ck_assert_int_eq(codec_unpack(&f, pl, sizeof(pl), fr, 2, &cmr), -1);
	ck_assert_int_eq(codec_unpack(&f, pl, 0, fr, 4, &cmr), 0);
}
END_TEST

/* ------------------------------------------------------ AMR payloads */

struct pack_case {
	enum codec_id	 id;
	int		 ft;
	int		 octet_align;
	unsigned	 len;		/* the payload of that one frame */
};

/* bandwidth-efficient: ceil((4 + 6 + bits) / 8); octet-aligned: 2 + ceil(bits / 8) */
static const struct pack_case pack_cases[] = {
	{ CODEC_AMR, 0, 0, 14 },	{ CODEC_AMR, 0, 1, 14 },
	{ CODEC_AMR, 1, 0, 15 },	{ CODEC_AMR, 1, 1, 15 },
	{ CODEC_AMR, 2, 0, 16 },	{ CODEC_AMR, 2, 1, 17 },
	{ CODEC_AMR, 3, 0, 18 },	{ CODEC_AMR, 3, 1, 19 },
	{ CODEC_AMR, 4, 0, 20 },	{ CODEC_AMR, 4, 1, 21 },
	{ CODEC_AMR, 5, 0, 22 },	{ CODEC_AMR, 5, 1, 22 },
	{ CODEC_AMR, 6, 0, 27 },	{ CODEC_AMR, 6, 1, 28 },
	{ CODEC_AMR, 7, 0, 32 },	{ CODEC_AMR, 7, 1, 33 },
	{ CODEC_AMR, 8, 0, 7 },		{ CODEC_AMR, 8, 1, 7 },
	{ CODEC_AMR, 15, 0, 2 },	{ CODEC_AMR, 15, 1, 2 },
	{ CODEC_AMR_WB, 0, 0, 18 },	{ CODEC_AMR_WB, 0, 1, 19 },
	{ CODEC_AMR_WB, 1, 0, 24 },	{ CODEC_AMR_WB, 1, 1, 25 },
	{ CODEC_AMR_WB, 2, 0, 33 },	{ CODEC_AMR_WB, 2, 1, 34 },
	{ CODEC_AMR_WB, 3, 0, 37 },	{ CODEC_AMR_WB, 3, 1, 38 },
	{ CODEC_AMR_WB, 4, 0, 41 },	{ CODEC_AMR_WB, 4, 1, 42 },
	{ CODEC_AMR_WB, 5, 0, 47 },	{ CODEC_AMR_WB, 5, 1, 48 },
	{ CODEC_AMR_WB, 6, 0, 51 },	{ CODEC_AMR_WB, 6, 1, 52 },
	{ CODEC_AMR_WB, 7, 0, 59 },	{ CODEC_AMR_WB, 7, 1, 60 },
	{ CODEC_AMR_WB, 8, 0, 61 },	{ CODEC_AMR_WB, 8, 1, 62 },
	{ CODEC_AMR_WB, 9, 0, 7 },	{ CODEC_AMR_WB, 9, 1, 7 },
	{ CODEC_AMR_WB, 14, 0, 2 },	{ CODEC_AMR_WB, 14, 1, 2 },
	{ CODEC_AMR_WB, 15, 0, 2 },	{ CODEC_AMR_WB, 15, 1, 2 },
};
#define PACK_CASES	((int)(sizeof(pack_cases) / sizeof(pack_cases[0])))

START_TEST(amr_one_frame_every_type)
{
	const struct pack_case *pc = &pack_cases[_i];
	struct codec_fmt f = fmt_of(pc->id, pc->octet_align, 0);
	struct codec_frame in, out[CODEC_FRAMES_MAX];
	uint8_t pl[CODEC_PAYLOAD_MAX];
	int q, cmr, got_cmr, n;

	for (q = 0; q <= 1; q++) {
		cmr = q ? CODEC_CMR_NONE : (pc->id == CODEC_AMR ? 5 : 8);
		frame_fill(&in, pc->id, pc->ft, q, (unsigned)_i);
		n = codec_pack(&f, cmr, &in, 1, pl, sizeof(pl));
		ck_assert_int_eq(n, (int)pc->len);
		ck_assert_int_eq(codec_unpack(&f, pl, (size_t)n, out, CODEC_FRAMES_MAX, &got_cmr), 1);
		ck_assert_int_eq(got_cmr, cmr);
		frame_eq(&out[0], &in);
		truncations_refused(&f, pl, (size_t)n);
		/* too small a buffer to pack into */
		ck_assert_int_eq(codec_pack(&f, cmr, &in, 1, pl, (size_t)n - 1), -1);
	}
}
END_TEST

/* vectors written out bit by bit by hand */
START_TEST(amr_known_bits)
{
	struct codec_fmt be = fmt_of(CODEC_AMR, 0, 0), oa = fmt_of(CODEC_AMR, 1, 0);
	struct codec_frame fr;
	uint8_t pl[64];
	/* CMR 1111 | F 0, FT 1000, Q 1 | 39 ones | pad */
	static const uint8_t sid_be[] = { 0xf4, 0x7f, 0xff, 0xff, 0xff, 0xff, 0x80 };
	/* CMR 1111 rrrr | 0 1000 1 00 | 39 ones, pad */
	static const uint8_t sid_oa[] = { 0xf0, 0x44, 0xff, 0xff, 0xff, 0xff, 0xfe };
	/* CMR 0111 | F 0, FT 0111, Q 1 | 244 zeros | pad */
	static const uint8_t mr122_be_head[] = { 0x73, 0xc0, 0x00 };

	memset(&fr, 0, sizeof(fr));
	fr.ft = 8;
	fr.q = 1;
	fr.len = 5;
	memset(fr.data, 0xff, 4);
	fr.data[4] = 0xfe;
	ck_assert_int_eq(codec_pack(&be, CODEC_CMR_NONE, &fr, 1, pl, sizeof(pl)), 7);
	ck_assert_mem_eq(pl, sid_be, 7);
	ck_assert_int_eq(codec_pack(&oa, CODEC_CMR_NONE, &fr, 1, pl, sizeof(pl)), 7);
	ck_assert_mem_eq(pl, sid_oa, 7);

	memset(&fr, 0, sizeof(fr));
	fr.ft = 7;
	fr.q = 1;
	fr.len = 31;
	ck_assert_int_eq(codec_pack(&be, 7, &fr, 1, pl, sizeof(pl)), 32);
	ck_assert_mem_eq(pl, mr122_be_head, 3);
	/* the last speech bit, bit 253 of the payload, is 0x04 of byte 31 */
	fr.data[30] = 0x10;
	ck_assert_int_eq(codec_pack(&be, 7, &fr, 1, pl, sizeof(pl)), 32);
	ck_assert_uint_eq(pl[31], 0x04);
}
END_TEST

START_TEST(amr_several_frames)
{
	static const enum codec_id ids[] = { CODEC_AMR, CODEC_AMR_WB };
	struct codec_frame in[4], out[CODEC_FRAMES_MAX];
	uint8_t pl[CODEC_PAYLOAD_MAX];
	struct codec_fmt f;
	int i, k, oa, n, cmr;

	for (i = 0; i < 2; i++)
		for (oa = 0; oa <= 1; oa++) {
			f = fmt_of(ids[i], oa, 0);
			/* speech, speech at another mode, SID, NO_DATA */
			frame_fill(&in[0], ids[i], 7, 1, 1);
			frame_fill(&in[1], ids[i], 2, 0, 2);
			frame_fill(&in[2], ids[i], ids[i] == CODEC_AMR ? 8 : 9, 1, 3);
			frame_fill(&in[3], ids[i], 15, 1, 4);
			n = codec_pack(&f, 1, in, 4, pl, sizeof(pl));
			ck_assert_int_gt(n, 0);
			if (oa) {
				/* the ToC bytes: F set on all but the last */
				ck_assert_uint_eq(pl[1], 0x80 | 7 << 3 | 1 << 2);
				ck_assert_uint_eq(pl[2], 0x80 | 2 << 3);
				ck_assert_uint_eq(pl[3], 0x80 | in[2].ft << 3 | 1 << 2);
				ck_assert_uint_eq(pl[4], 15 << 3 | 1 << 2);
				ck_assert_int_eq(n, 5 + (int)(in[0].len + in[1].len + in[2].len));
			} else {
				int bits = 4 + 4 * 6 + frame_bits(ids[i], 7) + frame_bits(ids[i], 2) +
				    frame_bits(ids[i], in[2].ft);

				ck_assert_int_eq(n, (bits + 7) / 8);
				/* CMR 0001 | F 1, FT 0111, Q 1 | F 1, FT 0010, Q 0 | ... */
				ck_assert_uint_eq(pl[0], 0x1b);	/* 0001 1011 */
				ck_assert_uint_eq(pl[1], 0xe4);	/* 11 1001 00 */
			}
			ck_assert_int_eq(codec_unpack(&f, pl, (size_t)n, out, CODEC_FRAMES_MAX, &cmr), 4);
			ck_assert_int_eq(cmr, 1);
			for (k = 0; k < 4; k++)
				frame_eq(&out[k], &in[k]);
			truncations_refused(&f, pl, (size_t)n);
			/* fewer frames than the payload has */
			ck_assert_int_eq(codec_unpack(&f, pl, (size_t)n, out, 3, &cmr), -1);
		}
}
END_TEST

START_TEST(amr_cmr_values)
{
	static const enum codec_id ids[] = { CODEC_AMR, CODEC_AMR_WB };
	struct codec_frame in, out[CODEC_FRAMES_MAX];
	uint8_t pl[CODEC_PAYLOAD_MAX];
	struct codec_fmt f;
	int i, oa, v, n, cmr, modes;

	for (i = 0; i < 2; i++)
		for (oa = 0; oa <= 1; oa++) {
			f = fmt_of(ids[i], oa, 0);
			modes = ids[i] == CODEC_AMR ? 8 : 9;
			frame_fill(&in, ids[i], 0, 1, 0);
			for (v = 0; v < 16; v++) {
				n = codec_pack(&f, v, &in, 1, pl, sizeof(pl));
				if (v < modes || v == CODEC_CMR_NONE) {
					ck_assert_int_gt(n, 0);
					ck_assert_int_eq(codec_unpack(&f, pl, (size_t)n, out, 1, &cmr), 1);
					ck_assert_int_eq(cmr, v);
					continue;
				}
				/* we never send a CMR that is no mode, and ignore one received */
				ck_assert_int_eq(n, -1);
				n = codec_pack(&f, CODEC_CMR_NONE, &in, 1, pl, sizeof(pl));
				pl[0] = (uint8_t)(v << 4 | (pl[0] & 0x0f));
				ck_assert_int_eq(codec_unpack(&f, pl, (size_t)n, out, 1, &cmr), 1);
				ck_assert_int_eq(cmr, CODEC_CMR_NONE);
			}
		}
}
END_TEST

START_TEST(amr_unknown_frame_types_refused)
{
	static const enum codec_id ids[] = { CODEC_AMR, CODEC_AMR_WB };
	struct codec_frame fr[CODEC_FRAMES_MAX];
	uint8_t pl[64];
	struct codec_fmt f;
	int i, oa, ft, cmr, want;

	for (i = 0; i < 2; i++)
		for (oa = 0; oa <= 1; oa++) {
			f = fmt_of(ids[i], oa, 0);
			for (ft = 0; ft < 16; ft++) {
				/* one frame of type ft, followed by plenty of bytes */
				memset(pl, 0, sizeof(pl));
				if (oa) {
					pl[0] = 0xf0;
					pl[1] = (uint8_t)(ft << 3 | 1 << 2);
				} else {
					/* CMR 1111 | F 0, FT, Q 1 */
					pl[0] = (uint8_t)(0xf0 | ft >> 1);
					pl[1] = (uint8_t)((ft & 1) << 7 | 1 << 6);
				}
				want = frame_bits(ids[i], ft) < 0 ? -1 : 1;
				ck_assert_msg(codec_unpack(&f, pl, sizeof(pl), fr, CODEC_FRAMES_MAX, &cmr) == want,
				    "%s %s ft %d", codec_name(ids[i]), oa ? "octet" : "be", ft);
				if (want == 1) {
					ck_assert_int_eq(fr[0].ft, ft);
					continue;
				}
				/* nor do we pack one, whatever its length */
				memset(&fr[0], 0, sizeof(fr[0]));
				fr[0].ft = ft;
				fr[0].q = 1;
				ck_assert_int_eq(codec_pack(&f, CODEC_CMR_NONE, fr, 1, pl, sizeof(pl)), -1);
				fr[0].len = 10;
				ck_assert_int_eq(codec_pack(&f, CODEC_CMR_NONE, fr, 1, pl, sizeof(pl)), -1);
			}
		}
}
END_TEST

START_TEST(amr_no_data_and_frame_limits)
{
	struct codec_fmt oa = fmt_of(CODEC_AMR, 1, 0), be = fmt_of(CODEC_AMR, 0, 0);
	struct codec_frame fr[CODEC_FRAMES_MAX + 1];
	uint8_t pl[64];
	static const uint8_t nodata_oa[] = { 0xf0, 0x7c };
	static const uint8_t nodata_be[] = { 0xf7, 0xc0 };
	int cmr, i;

	ck_assert_int_eq(codec_unpack(&oa, nodata_oa, 2, fr, CODEC_FRAMES_MAX, &cmr), 1);
	ck_assert_int_eq(fr[0].ft, 15);
	ck_assert_uint_eq(fr[0].len, 0);
	ck_assert_int_eq(codec_unpack(&be, nodata_be, 2, fr, CODEC_FRAMES_MAX, &cmr), 1);
	ck_assert_int_eq(fr[0].ft, 15);
	ck_assert_int_eq(codec_pack(&be, CODEC_CMR_NONE, fr, 1, pl, sizeof(pl)), 2);
	ck_assert_mem_eq(pl, nodata_be, 2);

	/* CODEC_FRAMES_MAX + 1 NO_DATA frames: one too many */
	pl[0] = 0xf0;
	for (i = 1; i <= CODEC_FRAMES_MAX + 1; i++)
		pl[i] = 0x80 | 15 << 3;
	pl[CODEC_FRAMES_MAX + 1] = 15 << 3;
	ck_assert_int_eq(codec_unpack(&oa, pl, CODEC_FRAMES_MAX + 2, fr, CODEC_FRAMES_MAX, &cmr), -1);
	ck_assert_int_eq(codec_unpack(&oa, pl + 1, CODEC_FRAMES_MAX + 1, fr, CODEC_FRAMES_MAX, &cmr),
	    CODEC_FRAMES_MAX);
	/* a ToC whose F bit promises another entry that never comes */
	pl[CODEC_FRAMES_MAX + 1] = 0x80 | 15 << 3;
	ck_assert_int_eq(codec_unpack(&oa, pl, CODEC_FRAMES_MAX + 2, fr, CODEC_FRAMES_MAX + 1, &cmr), -1);

	/* packing refuses no frames and a frame whose length is not its type's */
	ck_assert_int_eq(codec_pack(&oa, CODEC_CMR_NONE, fr, 0, pl, sizeof(pl)), -1);
	frame_fill(&fr[0], CODEC_AMR, 7, 1, 0);
	fr[0].len--;
	ck_assert_int_eq(codec_pack(&oa, CODEC_CMR_NONE, fr, 1, pl, sizeof(pl)), -1);
}
END_TEST

/* random payloads: never a read past the end (ASan), and what is accepted
 * has frames of their type's length */
START_TEST(amr_random_payloads)
{
	struct codec_frame fr[CODEC_FRAMES_MAX];
	struct codec_fmt f;
	unsigned seed = 1, i, len, k;
	int n, cmr, j;

	for (i = 0; i < 20000; i++) {
		uint8_t *pl;

		f = fmt_of(i % 4 < 2 ? CODEC_AMR : CODEC_AMR_WB, i % 2, 0);
		len = (unsigned)rand_r(&seed) % 80;
		pl = malloc(len ? len : 1);
		for (k = 0; k < len; k++)
			pl[k] = (uint8_t)rand_r(&seed);
		if (len > 1 && i % 3 == 0)	/* mostly valid frame types */
			pl[1] &= 0x3f;
		n = codec_unpack(&f, pl, len, fr, CODEC_FRAMES_MAX, &cmr);
		ck_assert_int_ge(n, -1);
		for (j = 0; j < n; j++)
			ck_assert_uint_eq(fr[j].len, (unsigned)(frame_bits(f.id, fr[j].ft) + 7) / 8);
		free(pl);
	}
}
END_TEST

/* --------------------------------------------------- tones, end to end */

struct tone_case {
	enum codec_id	 id;
	int		 mode;		/* -1: G.711 */
	double		 freq;
	double		 max_db;	/* level error allowed */
	double		 min_purity;	/* dB, see tone_purity_db */
};

/* purity measured: G.711 39-48 dB; AMR 17-36 (lowest at 4.75 and 6.60
 * kbit/s, 1 kHz), the same as the libraries give without our payloads */
static const struct tone_case tone_cases[] = {
	{ CODEC_PCMU, -1, 1000, 0.5, 35 },	{ CODEC_PCMA, -1, 1000, 0.5, 35 },
	{ CODEC_PCMU, -1, 400, 0.5, 35 },	{ CODEC_PCMA, -1, 400, 0.5, 35 },
	{ CODEC_AMR, 0, 1000, 3, 12 },		{ CODEC_AMR, 0, 400, 3, 12 },
	{ CODEC_AMR, 4, 1000, 3, 12 },		{ CODEC_AMR, 4, 400, 3, 12 },
	{ CODEC_AMR, 7, 1000, 3, 12 },		{ CODEC_AMR, 7, 400, 3, 12 },
	{ CODEC_AMR_WB, 0, 1000, 3, 12 },	{ CODEC_AMR_WB, 0, 400, 3, 12 },
	{ CODEC_AMR_WB, 2, 1000, 3, 12 },	{ CODEC_AMR_WB, 2, 400, 3, 12 },
	{ CODEC_AMR_WB, 8, 1000, 3, 12 },	{ CODEC_AMR_WB, 8, 400, 3, 12 },
};
#define TONE_CASES	((int)(sizeof(tone_cases) / sizeof(tone_cases[0])))
#define TONE_FRAMES	50	/* 1 s */
#define TONE_SETTLE	5	/* frames left out of the figures */

START_TEST(tone_through_codec)
{
	const struct tone_case *tc = &tone_cases[_i];
	unsigned rate = codec_rate(tc->id), spf = codec_frame_samples(tc->id), t = 0, k;
	struct codec_fmt f = fmt_of(tc->id, _i % 2, tc->mode < 0 ? 0 : (uint16_t)(1u << tc->mode));
	struct codec_enc *e = codec_enc_new(&f);
	struct codec_dec *d = codec_dec_new(&f);
	static int16_t in[TONE_FRAMES * CODEC_FRAME_MAX], out[TONE_FRAMES * CODEC_FRAME_MAX];
	int16_t copy[CODEC_FRAME_MAX];
	struct codec_frame fr[CODEC_FRAMES_MAX];
	uint8_t pl[CODEC_PAYLOAD_MAX];
	int n, cmr;
	double fin, fout, db, purity;

	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(codec_enc_mode(e), tc->mode);
	tone(in, TONE_FRAMES * spf, rate, tc->freq, 8000, &t);
	for (k = 0; k < TONE_FRAMES; k++) {
		memcpy(copy, in + k * spf, spf * sizeof(copy[0]));
		n = codec_encode(e, in + k * spf, pl, sizeof(pl));
		ck_assert_int_gt(n, 0);
		/* the caller's pcm is left alone (AMR-NB's encoder writes to its input) */
		ck_assert_mem_eq(copy, in + k * spf, spf * sizeof(copy[0]));
		ck_assert_int_eq(codec_unpack(&f, pl, (size_t)n, fr, CODEC_FRAMES_MAX, &cmr), 1);
		if (tc->mode >= 0) {
			ck_assert_int_eq(fr[0].ft, tc->mode);
			ck_assert_int_eq(cmr, CODEC_CMR_NONE);
		}
		ck_assert_int_eq(codec_decode(d, &fr[0], out + k * spf), (int)spf);
	}
	k = TONE_SETTLE * spf;
	fin = zero_crossing_freq(in + k, (TONE_FRAMES - TONE_SETTLE) * spf, rate);
	fout = zero_crossing_freq(out + k, (TONE_FRAMES - TONE_SETTLE) * spf, rate);
	db = 20 * log10(rms(out + k, (TONE_FRAMES - TONE_SETTLE) * spf) /
	    rms(in + k, (TONE_FRAMES - TONE_SETTLE) * spf));
	ck_assert_msg(fabs(fout - tc->freq) <= tc->freq * 0.02,
	    "%s mode %d: %.0f Hz came out as %.1f Hz (in: %.1f)", codec_name(tc->id), tc->mode,
	    tc->freq, fout, fin);
	ck_assert_msg(fabs(db) <= tc->max_db, "%s mode %d, %.0f Hz: level off by %.2f dB",
	    codec_name(tc->id), tc->mode, tc->freq, db);
	purity = tone_purity_db(out + k, (TONE_FRAMES - TONE_SETTLE) * spf, tc->freq, rate);
	ck_assert_msg(purity >= tc->min_purity, "%s mode %d, %.0f Hz: tone only %.1f dB above the rest",
	    codec_name(tc->id), tc->mode, tc->freq, purity);
	codec_enc_free(e);
	codec_dec_free(d);
}
END_TEST

/* --------------------------------------------------------- concealment */

static const enum codec_id every_codec[] = { CODEC_PCMU, CODEC_PCMA, CODEC_AMR, CODEC_AMR_WB };

START_TEST(lost_frames_fade_to_silence)
{
	enum codec_id id = every_codec[_i];
	unsigned rate = codec_rate(id), spf = codec_frame_samples(id), t = 0, k;
	struct codec_fmt f = fmt_of(id, 1, 0);
	struct codec_enc *e = codec_enc_new(&f);
	struct codec_dec *d = codec_dec_new(&f);
	int16_t in[CODEC_FRAME_MAX], out[CODEC_FRAME_MAX];
	struct codec_frame fr[CODEC_FRAMES_MAX];
	uint8_t pl[CODEC_PAYLOAD_MAX];
	int n, cmr;
	double level;

	for (k = 0; k < 10; k++) {
		tone(in, spf, rate, 1000, 8000, &t);
		n = codec_encode(e, in, pl, sizeof(pl));
		ck_assert_int_eq(codec_unpack(&f, pl, (size_t)n, fr, CODEC_FRAMES_MAX, &cmr), 1);
		ck_assert_int_eq(codec_decode(d, &fr[0], out), (int)spf);
	}
	level = rms(out, spf);
	ck_assert_double_gt(level, 4000);
	for (k = 1; k <= 6; k++) {
		/* the stale buffer must not come back: fill it with the tone */
		memcpy(out, in, sizeof(out));
		ck_assert_int_eq(codec_decode(d, NULL, out), (int)spf);
		ck_assert_msg(rms(out, spf) < level * 0.9, "%s: lost frame %u at rms %.0f (tone %.0f)",
		    codec_name(id), k, rms(out, spf), level);
	}
	ck_assert_msg(rms(out, spf) < level / 100, "%s: rms %.0f after 6 lost frames (tone %.0f)",
	    codec_name(id), rms(out, spf), level);
	/* and a frame that comes again is heard again */
	tone(in, spf, rate, 1000, 8000, &t);
	for (k = 0; k < 5; k++) {
		n = codec_encode(e, in, pl, sizeof(pl));
		ck_assert_int_eq(codec_unpack(&f, pl, (size_t)n, fr, CODEC_FRAMES_MAX, &cmr), 1);
		codec_decode(d, &fr[0], out);
	}
	ck_assert_double_gt(rms(out, spf), level / 4);
	codec_enc_free(e);
	codec_dec_free(d);
}
END_TEST

/* a frame marked damaged (Q = 0) is concealed, not played (neither
 * library decoder looks at Q by itself) */
START_TEST(damaged_frames_concealed)
{
	enum codec_id id = _i ? CODEC_AMR_WB : CODEC_AMR;
	unsigned rate = codec_rate(id), spf = codec_frame_samples(id), t = 0, k;
	struct codec_fmt f = fmt_of(id, 0, 0);
	struct codec_enc *e = codec_enc_new(&f);
	struct codec_dec *good = codec_dec_new(&f), *damaged = codec_dec_new(&f);
	int16_t in[CODEC_FRAME_MAX], out_good[CODEC_FRAME_MAX], out_damaged[CODEC_FRAME_MAX];
	struct codec_frame fr[CODEC_FRAMES_MAX];
	uint8_t pl[CODEC_PAYLOAD_MAX];
	int n, cmr;

	/* ten frames to both decoders, then the eleventh marked damaged to one */
	for (k = 0; k < 11; k++) {
		tone(in, spf, rate, 1000, 8000, &t);
		n = codec_encode(e, in, pl, sizeof(pl));
		ck_assert_int_eq(codec_unpack(&f, pl, (size_t)n, fr, CODEC_FRAMES_MAX, &cmr), 1);
		codec_decode(good, &fr[0], out_good);
		fr[0].q = k < 10;
		codec_decode(damaged, &fr[0], out_damaged);
	}
	ck_assert_msg(rms(out_damaged, spf) < rms(out_good, spf) * 0.9,
	    "%s: damaged frame at rms %.0f, good one %.0f", codec_name(id),
	    rms(out_damaged, spf), rms(out_good, spf));
	codec_enc_free(e);
	codec_dec_free(good);
	codec_dec_free(damaged);
}
END_TEST

START_TEST(g711_concealment_steps)
{
	struct codec_fmt f = fmt_of(CODEC_PCMU, 0, 0);
	struct codec_dec *d = codec_dec_new(&f);
	struct codec_frame fr = { .ft = -1, .q = 1, .len = 160 };
	int16_t out[160];
	double level;
	int k, i;

	/* nothing decoded yet: silence */
	ck_assert_int_eq(codec_decode(d, NULL, out), 160);
	for (i = 0; i < 160; i++)
		ck_assert_int_eq(out[i], 0);
	memset(fr.data, 0x80, sizeof(fr.data));	/* +32124 */
	codec_decode(d, &fr, out);
	level = rms(out, 160);
	/* -6 dB a frame, ramped: the end of lost frame k is at 2^-k */
	for (k = 1; k <= 3; k++) {
		ck_assert_int_eq(codec_decode(d, NULL, out), 160);
		ck_assert_double_lt(fabs(out[159] - 32124.0 * (k < 3 ? pow(0.5, k) : 0)), 32124.0 * 0.01);
		ck_assert_double_lt(rms(out, 160), level * pow(0.5, k - 1));
	}
	ck_assert_int_eq(codec_decode(d, NULL, out), 160);
	for (i = 0; i < 160; i++)
		ck_assert_int_eq(out[i], 0);
	codec_dec_free(d);
}
END_TEST

START_TEST(decoder_refuses_foreign_frames)
{
	struct codec_fmt nb = fmt_of(CODEC_AMR, 1, 0), wb = fmt_of(CODEC_AMR_WB, 1, 0);
	struct codec_fmt mu = fmt_of(CODEC_PCMU, 0, 0);
	struct codec_dec *dnb = codec_dec_new(&nb), *dwb = codec_dec_new(&wb), *dmu = codec_dec_new(&mu);
	struct codec_frame fr;
	int16_t out[CODEC_FRAME_MAX];
	int ft;

	/* frame types AMR-NB's decoder does not know: it would write nothing */
	for (ft = 9; ft <= 14; ft++) {
		memset(&fr, 0, sizeof(fr));
		fr.ft = ft;
		fr.q = 1;
		fr.len = 10;
		ck_assert_int_eq(codec_decode(dnb, &fr, out), -1);
	}
	/* SID, NO_DATA and (WB) SPEECH_LOST are decoded */
	frame_fill(&fr, CODEC_AMR, 8, 1, 0);
	ck_assert_int_eq(codec_decode(dnb, &fr, out), 160);
	frame_fill(&fr, CODEC_AMR, 15, 1, 0);
	ck_assert_int_eq(codec_decode(dnb, &fr, out), 160);
	frame_fill(&fr, CODEC_AMR_WB, 9, 1, 0);
	ck_assert_int_eq(codec_decode(dwb, &fr, out), 320);
	frame_fill(&fr, CODEC_AMR_WB, 14, 1, 0);
	ck_assert_int_eq(codec_decode(dwb, &fr, out), 320);
	/* a frame shorter than its type */
	frame_fill(&fr, CODEC_AMR_WB, 8, 1, 0);
	fr.len--;
	ck_assert_int_eq(codec_decode(dwb, &fr, out), -1);
	/* an AMR frame to G.711 and the other way round */
	ck_assert_int_eq(codec_decode(dmu, &fr, out), -1);
	memset(&fr, 0, sizeof(fr));
	fr.ft = -1;
	fr.len = 160;
	ck_assert_int_eq(codec_decode(dnb, &fr, out), -1);
	codec_dec_free(dnb);
	codec_dec_free(dwb);
	codec_dec_free(dmu);
}
END_TEST

/* ------------------------------------------------------ mode-set, CMR */

/* the frame type of the next payload e makes */
static int
encoded_ft(struct codec_enc *e, const struct codec_fmt *f)
{
	int16_t pcm[CODEC_FRAME_MAX];
	struct codec_frame fr[CODEC_FRAMES_MAX];
	uint8_t pl[CODEC_PAYLOAD_MAX];
	unsigned t = 0;
	int n, cmr;

	tone(pcm, codec_frame_samples(f->id), codec_rate(f->id), 1000, 8000, &t);
	n = codec_encode(e, pcm, pl, sizeof(pl));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(codec_unpack(f, pl, (size_t)n, fr, CODEC_FRAMES_MAX, &cmr), 1);
	return fr[0].ft;
}

START_TEST(mode_set_and_requests)
{
	static const struct {
		enum codec_id	 id;
		uint16_t	 mode_set;
		int		 first;		/* the mode it starts at */
		int		 req[8];	/* requests ... */
		int		 mode[8];	/* ... and the mode each leaves */
	} cases[] = {
		{ CODEC_AMR, 1 << 0 | 1 << 2, 2,
		  { 0, 1, 7, 15, 8, 2, 14, 0 }, { 0, 0, 2, 2, 2, 2, 2, 0 } },
		{ CODEC_AMR, 1 << 2 | 1 << 5, 5,
		  { 0, 4, 6, 1, 9, 15, 5, 3 }, { 2, 2, 5, 2, 2, 5, 5, 2 } },
		{ CODEC_AMR, 0, 7,
		  { 0, 3, 15, 8, 6, 7, 12, 1 }, { 0, 3, 7, 7, 6, 7, 7, 1 } },
		{ CODEC_AMR_WB, 1 << 1 | 1 << 8, 8,
		  { 0, 1, 7, 15, 9, 2, 14, 8 }, { 1, 1, 1, 8, 8, 1, 1, 8 } },
		{ CODEC_AMR_WB, 0, 8,
		  { 0, 8, 5, 15, 10, 2, 3, 4 }, { 0, 8, 5, 8, 8, 2, 3, 4 } },
	};
	struct codec_fmt f;
	struct codec_enc *e;
	size_t i, k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f = fmt_of(cases[i].id, (int)i % 2, cases[i].mode_set);
		e = codec_enc_new(&f);
		ck_assert_int_eq(codec_enc_mode(e), cases[i].first);
		ck_assert_int_eq(encoded_ft(e, &f), cases[i].first);
		for (k = 0; k < 8; k++) {
			codec_enc_request(e, cases[i].req[k]);
			ck_assert_msg(codec_enc_mode(e) == cases[i].mode[k],
			    "%s mode_set 0x%x: request %d left mode %d, not %d", codec_name(f.id),
			    f.mode_set, cases[i].req[k], codec_enc_mode(e), cases[i].mode[k]);
			ck_assert_int_eq(encoded_ft(e, &f), cases[i].mode[k]);
		}
		codec_enc_free(e);
	}
}
END_TEST

START_TEST(mode_helpers)
{
	struct codec_fmt f = fmt_of(CODEC_AMR, 0, 1 << 8);
	struct codec_enc *e;

	ck_assert_int_eq(codec_amr_mode_max(CODEC_AMR, 0), 7);
	ck_assert_int_eq(codec_amr_mode_max(CODEC_AMR_WB, 0), 8);
	ck_assert_int_eq(codec_amr_mode_max(CODEC_AMR, 0x05), 2);
	ck_assert_int_eq(codec_amr_mode_max(CODEC_AMR, 0x300), -1);
	ck_assert_int_eq(codec_amr_mode_max(CODEC_AMR_WB, 0x300), 8);
	ck_assert_int_eq(codec_amr_mode_max(CODEC_PCMU, 0), -1);
	ck_assert(codec_amr_mode_valid(CODEC_AMR, 7));
	ck_assert(!codec_amr_mode_valid(CODEC_AMR, 8));
	ck_assert(codec_amr_mode_valid(CODEC_AMR_WB, 8));
	ck_assert(!codec_amr_mode_valid(CODEC_AMR_WB, 9));
	ck_assert(!codec_amr_mode_valid(CODEC_AMR_WB, -1));
	ck_assert(!codec_amr_mode_valid(CODEC_PCMA, 0));
	/* a mode_set with no mode of the codec */
	ck_assert_ptr_null(codec_enc_new(&f));
	/* G.711 has no modes and ignores requests */
	f = fmt_of(CODEC_PCMU, 0, 0);
	e = codec_enc_new(&f);
	ck_assert_int_eq(codec_enc_mode(e), -1);
	codec_enc_request(e, 3);
	ck_assert_int_eq(codec_enc_mode(e), -1);
	codec_enc_free(e);
}
END_TEST

/* ---------------------------------------------------------------- EVS (kept, not decoded) */

/* bit i (from the most significant bit of b[0]) */
static int
bit_at(const uint8_t *b, size_t i)
{
	return (b[i / 8] >> (7 - i % 8)) & 1;
}

START_TEST(evs_compact_payloads)
{
	uint8_t pl[64], out[4 * EVS_FRAME_MAX];
	uint16_t lens[EVS_FRAMES_MAX];
	size_t i;
	static const struct {
		size_t	 bytes;
		uint8_t	 toc;
	} primary[] = { { 33, 0x04 }, { 7, 0x00 }, { 6, 0x0c }, { 18, 0x01 }, { 61, 0x06 } };

	for (i = 0; i < sizeof(pl); i++)
		pl[i] = (uint8_t)(i * 37 + 11);
	/* primary: the payload is the frame, behind its ToC */
	for (i = 0; i < sizeof(primary) / sizeof(primary[0]); i++) {
		ck_assert_int_eq(evs_rtp_to_storage(pl, primary[i].bytes, out, sizeof(out), lens,
		    EVS_FRAMES_MAX), 1);
		ck_assert_uint_eq(lens[0], 1 + primary[i].bytes);
		ck_assert_uint_eq(out[0], primary[i].toc);
		ck_assert(memcmp(out + 1, pl, primary[i].bytes) == 0);
	}
	/* AMR-WB IO 12.65 (32 bytes): 3 CMR bits dropped, 253 speech bits, 3 zero bits */
	ck_assert_int_eq(evs_rtp_to_storage(pl, 32, out, sizeof(out), lens, EVS_FRAMES_MAX), 1);
	ck_assert_uint_eq(out[0], 0x32);
	ck_assert_uint_eq(lens[0], 1 + 32);
	for (i = 0; i < 253; i++)
		ck_assert_int_eq(bit_at(out + 1, i), bit_at(pl, i + 3));
	for (i = 253; i < 256; i++)
		ck_assert_int_eq(bit_at(out + 1, i), 0);
	/* AMR-WB IO 23.85: 480 bits, 477 of speech */
	ck_assert_int_eq(evs_rtp_to_storage(pl, 60, out, sizeof(out), lens, EVS_FRAMES_MAX), 1);
	ck_assert_uint_eq(out[0], 0x38);
	ck_assert_uint_eq(lens[0], 1 + 60);
}
END_TEST

START_TEST(evs_header_full_payloads)
{
	uint8_t pl[128], out[4 * EVS_FRAME_MAX];
	uint16_t lens[EVS_FRAMES_MAX];

	/* a CMR byte, two ToCs (13.2 kbit/s, the first with F), two frames of 33 bytes */
	memset(pl, 0, sizeof(pl));
	pl[0] = 0x80 | 0x04;
	pl[1] = 0x40 | 0x04;
	pl[2] = 0x04;
	memset(pl + 3, 0xaa, 33);
	memset(pl + 36, 0x55, 33);
	ck_assert_int_eq(evs_rtp_to_storage(pl, 69, out, sizeof(out), lens, EVS_FRAMES_MAX), 2);
	ck_assert_uint_eq(lens[0], 34);
	ck_assert_uint_eq(lens[1], 34);
	ck_assert_uint_eq(out[0], 0x04);		/* F cleared */
	ck_assert_uint_eq(out[1], 0xaa);
	ck_assert_uint_eq(out[34], 0x04);
	ck_assert_uint_eq(out[35], 0x55);
	/* one ToC, no CMR: 16.4 kbit/s (41 bytes) in 42 */
	pl[0] = 0x05;
	ck_assert_int_eq(evs_rtp_to_storage(pl, 42, out, sizeof(out), lens, EVS_FRAMES_MAX), 1);
	ck_assert_uint_eq(lens[0], 42);
	/* NO_DATA in a header-full payload: a ToC with nothing after it */
	pl[0] = 0x40 | 0x0f;
	pl[1] = 0x04;
	memset(pl + 2, 0x11, 33);
	/* bytes after the last frame (padding) are let be */
	ck_assert_int_eq(evs_rtp_to_storage(pl, 37, out, sizeof(out), lens, EVS_FRAMES_MAX), 2);
	ck_assert_int_eq(evs_rtp_to_storage(pl, 35, out, sizeof(out), lens, EVS_FRAMES_MAX), 2);
	ck_assert_uint_eq(lens[0], 1);
	ck_assert_uint_eq(out[0], 0x0f);
	/* malformed: too short for its ToC, a reserved rate, ToCs running off the end */
	pl[0] = 0x04;
	ck_assert_int_eq(evs_rtp_to_storage(pl, 30, out, sizeof(out), lens, EVS_FRAMES_MAX), -1);
	pl[0] = 0x0d;
	ck_assert_int_eq(evs_rtp_to_storage(pl, 30, out, sizeof(out), lens, EVS_FRAMES_MAX), -1);
	memset(pl, 0x40 | 0x0f, sizeof(pl));
	ck_assert_int_eq(evs_rtp_to_storage(pl, 21, out, sizeof(out), lens, EVS_FRAMES_MAX), -1);
	ck_assert_int_eq(evs_rtp_to_storage(pl, 0, out, sizeof(out), lens, EVS_FRAMES_MAX), -1);
	/* no room in out */
	pl[0] = 0x05;
	ck_assert_int_eq(evs_rtp_to_storage(pl, 42, out, 20, lens, EVS_FRAMES_MAX), -1);
	/* ToC sizes */
	ck_assert_int_eq(evs_toc_bytes(0x0f), 0);
	ck_assert_int_eq(evs_toc_bytes(0x0b), 320);
	ck_assert_int_eq(evs_toc_bytes(0x0d), -1);
	ck_assert_int_eq(evs_toc_bytes(0x39), 5);
	ck_assert_int_eq(evs_toc_bytes(0x84), -1);
}
END_TEST

static Suite *
codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tg = tcase_create("g711");
	TCase *tp = tcase_create("amr_payload");
	TCase *tt = tcase_create("tones");
	TCase *tl = tcase_create("loss");
	TCase *tm = tcase_create("modes");

	tcase_add_test(tg, names_and_rates);
	tcase_add_test(tg, g711_every_code_round_trips);
	tcase_add_test(tg, g711_reference_values);
	tcase_add_test(tg, g711_unpack_splits_into_frames);
	suite_add_tcase(s, tg);
	tcase_add_loop_test(tp, amr_one_frame_every_type, 0, PACK_CASES);
	tcase_add_test(tp, amr_known_bits);
	tcase_add_test(tp, amr_several_frames);
	tcase_add_test(tp, amr_cmr_values);
	tcase_add_test(tp, amr_unknown_frame_types_refused);
	tcase_add_test(tp, amr_no_data_and_frame_limits);
	tcase_add_test(tp, amr_random_payloads);
	suite_add_tcase(s, tp);
	tcase_add_loop_test(tt, tone_through_codec, 0, TONE_CASES);
	tcase_set_timeout(tt, 30);
	suite_add_tcase(s, tt);
	tcase_add_loop_test(tl, lost_frames_fade_to_silence, 0, 4);
	tcase_add_loop_test(tl, damaged_frames_concealed, 0, 2);
	tcase_add_test(tl, g711_concealment_steps);
	tcase_add_test(tl, decoder_refuses_foreign_frames);
	suite_add_tcase(s, tl);
	tcase_add_test(tm, mode_set_and_requests);
	tcase_add_test(tm, mode_helpers);
	tcase_add_test(tm, evs_compact_payloads);
	tcase_add_test(tm, evs_header_full_payloads);
	suite_add_tcase(s, tm);
	return s;
}

int
main(void)
{
	return unit_run(codec_suite());
}
