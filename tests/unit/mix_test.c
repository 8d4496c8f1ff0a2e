/*
 * mix_test.c — unit tests of the room mixer's arithmetic (mediad/mix.c):
 * the jitter buffer (order, loss, late and reordered packets, 10 ms G.711
 * packets, a new SSRC, pauses, a fast clock, timestamp wrap), the N-1 mix
 * with saturation, the talk level, and the speexdsp resampler glue
 * (frame sizes, frequency and level kept).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "mediad/mix.h"
#include "unit.h"

/* an AMR-like frame (ft >= 0) whose first byte tells which it is */
static struct codec_frame
frame(int tag)
{
	struct codec_frame f;

	memset(&f, 0, sizeof(f));
	f.ft = 7;
	f.q = 1;
	f.len = 31;
	f.data[0] = (uint8_t)tag;
	return f;
}

/* a G.711 frame of n samples, each byte = tag */
static struct codec_frame
g711(int tag, unsigned n)
{
	struct codec_frame f;

	memset(&f, 0, sizeof(f));
	f.ft = -1;
	f.len = n;
	memset(f.data, tag, n);
	return f;
}

/* puts frame tag at frame index i (timestamp base + i * 160) */
static void
put(struct jbuf *jb, uint32_t base, int i)
{
	struct codec_frame f = frame(i);

	ck_assert_int_eq(jbuf_put(jb, 0x1234, base + (uint32_t)i * 160, &f, 1), 1);
}

/* the next tick must give frame tag */
static void
expect_frame(struct jbuf *jb, int tag)
{
	struct codec_frame out;

	ck_assert_int_eq(jbuf_get(jb, &out), JBUF_FRAME);
	ck_assert_int_eq(out.data[0], tag);
}

static void
expect(struct jbuf *jb, enum jbuf_get want)
{
	struct codec_frame out;

	ck_assert_int_eq(jbuf_get(jb, &out), want);
}

START_TEST(test_jbuf_in_order)
{
	struct jbuf jb;
	int i;

	jbuf_init(&jb, 160);
	expect(&jb, JBUF_SILENT);		/* nothing yet: no audio, no concealment */
	put(&jb, 1000, 0);
	/* playout starts JBUF_DEPTH frames behind the first packet */
	for (i = 0; i < JBUF_DEPTH; i++)
		expect(&jb, JBUF_MISSING);
	for (i = 1; i < 50; i++) {
		put(&jb, 1000, i);
		expect_frame(&jb, i - 1);
	}
	ck_assert_uint_eq(jb.late, 0);
	ck_assert_uint_eq(jb.skipped, 0);
}
END_TEST

START_TEST(test_jbuf_loss_late_reorder)
{
	struct jbuf jb;
	struct codec_frame f;
	int i;

	jbuf_init(&jb, 160);
	put(&jb, 0, 0);
	put(&jb, 0, 1);
	put(&jb, 0, 2);
	put(&jb, 0, 3);
	for (i = 0; i < JBUF_DEPTH; i++)
		expect(&jb, JBUF_MISSING);
	expect_frame(&jb, 0);
	/* 5 comes before 4: both play in order */
	put(&jb, 0, 5);
	put(&jb, 0, 4);
	expect_frame(&jb, 1);
	expect_frame(&jb, 2);
	expect_frame(&jb, 3);
	expect_frame(&jb, 4);
	expect_frame(&jb, 5);
	/* 6 never comes: concealed; when it comes after its tick it is late */
	put(&jb, 0, 7);
	expect(&jb, JBUF_MISSING);
	f = frame(6);
	ck_assert_int_eq(jbuf_put(&jb, 0x1234, 6 * 160, &f, 1), 0);
	ck_assert_uint_eq(jb.late, 1);
	expect_frame(&jb, 7);
	ck_assert_uint_ge(jb.concealed, 1);
}
END_TEST

START_TEST(test_jbuf_g711_10ms)
{
	struct jbuf jb;
	struct codec_frame f, out;
	int i;

	jbuf_init(&jb, 160);
	/* 10 ms packets: two fill one 20 ms frame, in either order */
	f = g711(0x11, 80);
	jbuf_put(&jb, 7, 0, &f, 1);
	f = g711(0x22, 80);
	jbuf_put(&jb, 7, 80, &f, 1);
	f = g711(0x44, 80);
	jbuf_put(&jb, 7, 240, &f, 1);
	f = g711(0x33, 80);
	jbuf_put(&jb, 7, 160, &f, 1);
	for (i = 0; i < JBUF_DEPTH; i++)
		expect(&jb, JBUF_MISSING);
	ck_assert_int_eq(jbuf_get(&jb, &out), JBUF_FRAME);
	ck_assert_uint_eq(out.len, 160);
	ck_assert_int_eq(out.data[0], 0x11);
	ck_assert_int_eq(out.data[79], 0x11);
	ck_assert_int_eq(out.data[80], 0x22);
	ck_assert_int_eq(out.data[159], 0x22);
	ck_assert_int_eq(jbuf_get(&jb, &out), JBUF_FRAME);
	ck_assert_int_eq(out.data[0], 0x33);
	ck_assert_int_eq(out.data[80], 0x44);
	/* a half-filled frame plays its missing half as silence, not old bytes */
	f = g711(0x55, 80);
	jbuf_put(&jb, 7, 320, &f, 1);
	ck_assert_int_eq(jbuf_get(&jb, &out), JBUF_FRAME);
	ck_assert_int_eq(out.data[0], 0x55);
	ck_assert_int_eq(out.data[80], 0);
	ck_assert_int_eq(out.data[159], 0);
}
END_TEST

START_TEST(test_jbuf_new_ssrc_and_pause)
{
	struct jbuf jb;
	struct codec_frame f;
	int i;

	jbuf_init(&jb, 160);
	for (i = 0; i < 3; i++)
		put(&jb, 0, i);
	for (i = 0; i < JBUF_DEPTH; i++)
		expect(&jb, JBUF_MISSING);
	expect_frame(&jb, 0);
	/* the phone restarts its stream: a new SSRC starts playout anew */
	f = frame(100);
	jbuf_put(&jb, 0x9999, 555555, &f, 1);
	for (i = 0; i < JBUF_DEPTH; i++)
		expect(&jb, JBUF_MISSING);
	expect_frame(&jb, 100);
	/* then it pauses (hold, DTX): after JBUF_IDLE missing ticks, silence */
	for (i = 0; i < JBUF_IDLE - 1; i++)
		expect(&jb, JBUF_MISSING);
	expect(&jb, JBUF_SILENT);
	expect(&jb, JBUF_SILENT);
	/* and comes back far ahead in time: a fresh start */
	f = frame(101);
	jbuf_put(&jb, 0x9999, 555555 + 160 * 1000, &f, 1);
	for (i = 0; i < JBUF_DEPTH; i++)
		expect(&jb, JBUF_MISSING);
	expect_frame(&jb, 101);
}
END_TEST

START_TEST(test_jbuf_fast_clock_and_wrap)
{
	struct jbuf jb;
	uint32_t base = UINT32_MAX - 160 * 10;	/* the timestamps wrap past 2^32 */
	int i, got = 0;

	jbuf_init(&jb, 160);
	/* a phone sending faster than the room's clock: two frames per tick */
	for (i = 0; i < 40; i++) {
		struct codec_frame out;

		put(&jb, base, 2 * i);
		put(&jb, base, 2 * i + 1);
		if (jbuf_get(&jb, &out) == JBUF_FRAME)
			got++;
		ck_assert_uint_le(jbuf_depth(&jb), JBUF_DEPTH + 4);
	}
	ck_assert_int_ge(got, 30);
	ck_assert_uint_gt(jb.skipped, 0);	/* the delay did not grow */
	ck_assert_uint_eq(jb.late, 0);
}
END_TEST

START_TEST(test_mix_n_minus_1)
{
	int16_t a[4] = { 100, -200, 30000, -30000 };
	int16_t b[4] = { 1, 2, 30000, -30000 };
	int16_t c[4] = { -50, 50, 0, 0 };
	int16_t out[4];
	int32_t sum[4] = { 0, 0, 0, 0 };

	mix_add(sum, a, 4);
	mix_add(sum, b, 4);
	mix_add(sum, c, 4);
	/* a hears b + c exactly */
	mix_minus(out, sum, a, 4);
	ck_assert_int_eq(out[0], 1 - 50);
	ck_assert_int_eq(out[1], 2 + 50);
	ck_assert_int_eq(out[2], 30000);
	ck_assert_int_eq(out[3], -30000);
	/* a listener hears everyone; 60000 saturates, it does not wrap */
	mix_minus(out, sum, NULL, 4);
	ck_assert_int_eq(out[0], 51);
	ck_assert_int_eq(out[1], -148);
	ck_assert_int_eq(out[2], INT16_MAX);
	ck_assert_int_eq(out[3], INT16_MIN);
}
END_TEST

START_TEST(test_mix_many_talkers)
{
	int16_t loud[2] = { INT16_MAX, INT16_MIN };
	int16_t out[2];
	int32_t sum[2] = { 0, 0 };
	int i;

	/* 1,000 full-scale talkers fit in 32 bits and saturate cleanly */
	for (i = 0; i < 1000; i++)
		mix_add(sum, loud, 2);
	ck_assert_int_eq(sum[0], 1000 * INT16_MAX);
	mix_minus(out, sum, loud, 2);
	ck_assert_int_eq(out[0], INT16_MAX);
	ck_assert_int_eq(out[1], INT16_MIN);
}
END_TEST

START_TEST(test_mix_level)
{
	int16_t pcm[160];
	int i;

	memset(pcm, 0, sizeof(pcm));
	ck_assert_uint_eq(mix_level(pcm, 160), 0);
	for (i = 0; i < 160; i++)
		pcm[i] = (int16_t)(i % 2 ? -1000 : 1000);
	ck_assert_uint_eq(mix_level(pcm, 160), 1000);
	ck_assert_uint_gt(mix_level(pcm, 160), MIX_TALK_LEVEL);
	for (i = 0; i < 160; i++)
		pcm[i] = (int16_t)(i % 2 ? -20 : 20);	/* line noise: not talk */
	ck_assert_uint_lt(mix_level(pcm, 160), MIX_TALK_LEVEL);
}
END_TEST

/* frequency (zero crossings) and RMS of n samples */
static void
measure(const int16_t *x, size_t n, unsigned rate, double *freq, double *rms)
{
	size_t i, cross = 0;
	double acc = 0;

	for (i = 1; i < n; i++)
		if ((x[i - 1] < 0) != (x[i] < 0))
			cross++;
	for (i = 0; i < n; i++)
		acc += (double)x[i] * x[i];
	*freq = cross / 2.0 * rate / n;
	*rms = sqrt(acc / n);
}

/* 1 s of a tone through the resampler, 20 ms at a time */
static void
resample_tone(unsigned in_rate, unsigned out_rate, double hz)
{
	struct mix_resampler *r = mix_resampler_new(in_rate, out_rate);
	unsigned fin = in_rate / 50, fout = out_rate / 50, k;
	int16_t in[CODEC_FRAME_MAX], *all = calloc(out_rate, sizeof(int16_t));
	double f, rms;
	size_t i;

	ck_assert_ptr_nonnull(r);
	for (k = 0; k < 50; k++) {
		for (i = 0; i < fin; i++)
			in[i] = (int16_t)(10000 * sin(2 * M_PI * hz * (k * fin + i) / in_rate));
		ck_assert_uint_eq(mix_resample(r, in, all + k * fout), fout);
	}
	/* the first 100 ms hold the filter's start */
	measure(all + out_rate / 10, out_rate - out_rate / 10, out_rate, &f, &rms);
	ck_assert_msg(fabs(f - hz) < 0.02 * hz, "%u -> %u: %.1f Hz, not %.0f", in_rate, out_rate,
	    f, hz);
	ck_assert_msg(fabs(20 * log10(rms / (10000 / M_SQRT2))) < 1.0, "%u -> %u: level %.0f",
	    in_rate, out_rate, rms);
	mix_resampler_free(r);
	free(all);
}

START_TEST(test_resampler)
{
	resample_tone(8000, 16000, 1000);
	resample_tone(8000, 16000, 400);
	resample_tone(16000, 8000, 1000);
	resample_tone(16000, 8000, 700);
	ck_assert_ptr_null(mix_resampler_new(48000, 8000));	/* frames larger than ours */
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("mix");
	TCase *tc = tcase_create("mix");

	tcase_add_test(tc, test_jbuf_in_order);
	tcase_add_test(tc, test_jbuf_loss_late_reorder);
	tcase_add_test(tc, test_jbuf_g711_10ms);
	tcase_add_test(tc, test_jbuf_new_ssrc_and_pause);
	tcase_add_test(tc, test_jbuf_fast_clock_and_wrap);
	tcase_add_test(tc, test_mix_n_minus_1);
	tcase_add_test(tc, test_mix_many_talkers);
	tcase_add_test(tc, test_mix_level);
	tcase_add_test(tc, test_resampler);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
