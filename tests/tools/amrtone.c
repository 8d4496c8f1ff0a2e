/*
 * amrtone.c — prints a sine tone encoded by mediad's codec as AMR or
 * AMR-WB RTP payloads, one per line in hex (no RTP header), for
 * tests/integration/amr_ffmpeg.sh to hand to an independent decoder.
 *
 *   amrtone AMR|AMR-WB octet|be MODE FREQ SECONDS [FRAMES-PER-PAYLOAD]
 *
 * Each 20 ms goes through codec_encode; with more than one frame per
 * payload the single-frame payloads are split (codec_unpack) and joined
 * again (codec_pack), so the multi-frame packing is checked too.  The
 * tone is at -12 dBFS.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "mediad/codec.h"
#include "tests/tools/amrtool.h"

static void
usage(void)
{
	fprintf(stderr, "usage: amrtone AMR|AMR-WB octet|be MODE FREQ SECONDS [FRAMES-PER-PAYLOAD]\n");
	exit(2);
}

static void
print_hex(const uint8_t *p, int n)
{
	int i;

	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
	putchar('\n');
}

int
main(int argc, char **argv)
{
	struct codec_fmt f;
	struct codec_enc *e;
	struct codec_frame fr[CODEC_FRAMES_MAX];
	uint8_t pl[CODEC_PAYLOAD_MAX];
	int16_t pcm[CODEC_FRAME_MAX];
	double freq, seconds;
	unsigned rate, spf, i, t = 0, frames, k;
	int mode, per, held = 0, n, cmr;

	if (argc < 6 || argc > 7 || amrtool_fmt(argv[1], argv[2], &f) != 0)
		usage();
	mode = atoi(argv[3]);
	freq = atof(argv[4]);
	seconds = atof(argv[5]);
	per = argc == 7 ? atoi(argv[6]) : 1;
	if (!codec_amr_mode_valid(f.id, mode) || freq <= 0 || seconds <= 0 ||
	    per < 1 || per > CODEC_FRAMES_MAX)
		usage();
	f.mode_set = (uint16_t)(1u << mode);
	if ((e = codec_enc_new(&f)) == NULL) {
		fprintf(stderr, "amrtone: no encoder\n");
		return 1;
	}
	rate = codec_rate(f.id);
	spf = codec_frame_samples(f.id);
	frames = (unsigned)lrint(seconds * 50);
	for (k = 0; k < frames; k++) {
		for (i = 0; i < spf; i++, t++)
			pcm[i] = (int16_t)lrint(8000 * sin(2 * M_PI * freq * t / rate));
		n = codec_encode(e, pcm, pl, sizeof(pl));
		if (n > 0 && per > 1)
			n = codec_unpack(&f, pl, (size_t)n, &fr[held], 1, &cmr);
		if (n < 0) {
			fprintf(stderr, "amrtone: frame %u not encoded\n", k);
			return 1;
		}
		if (per == 1) {
			print_hex(pl, n);
			continue;
		}
		if (++held == per || k == frames - 1) {
			n = codec_pack(&f, CODEC_CMR_NONE, fr, held, pl, sizeof(pl));
			if (n < 0) {
				fprintf(stderr, "amrtone: %d frames not packed\n", held);
				return 1;
			}
			print_hex(pl, n);
			held = 0;
		}
	}
	codec_enc_free(e);
	return 0;
}
