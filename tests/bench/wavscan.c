/*
 * wavscan.c — what tests/bench/recording.sh finds in the WAVs recd wrote:
 * where each file holds audio and where silence, 20 ms frame by frame.
 *
 *   wavscan FILE.wav ... > one line per file
 *
 * The bench's load (rtpload) sends G.711 A-law whose every byte decodes
 * to a sample other than 0 (A-law has no zero), so in a recording of it
 * a 20 ms frame whose samples are all 0 is silence that recd or mediad
 * put there instead of audio: recd pads with silence what it got no
 * frame for, mediad puts no frame for a tick it had no audio for.
 * Silence before the first frame of audio (the phone had not sent yet)
 * and after the last (the call had stopped sending) is expected; every
 * silent frame between them is a hole: audio that reached mediad as RTP
 * but not the file.  A frame that is not silent but holds a sample
 * that no A-law byte decodes to is mediad's concealment (it fades the
 * last frame out) of a packet that was not there at its tick: *concealed*
 * when real audio follows it (a packet lost or too late), *fade* when
 * none does (the phone stopped sending).  The rest are *real* frames,
 * each the decoding of one packet.  Real and concealed are only
 * meaningful for a leg's own file, not for a mix.
 *
 * Output, per file:
 *   FILE rate=R samples=N frames=F audio=A real=P head=H tail=T holes=X
 *   runs=U max_run=M concealed=C fade=D
 * (frames of 20 ms; audio: frames not silent; head/tail: silent frames
 * before the first / after the last frame of audio; runs: stretches of
 * holes, max_run the longest in frames).  16-bit mono PCM WAV only; anything else is reported on
 * stderr and makes the exit status 1.  Reads each file once, in blocks.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_FRAMES	500	/* 10 s at 8 kHz read at once */
#define MAX_FS		320	/* samples per frame at 16 kHz */

static uint8_t	is_alaw[65536];	/* 1: some A-law byte decodes to this sample */

static int16_t
alaw_decode(uint8_t a)
{
	int t, seg;

	a ^= 0x55;
	t = (a & 0x0f) << 4;
	seg = (a & 0x70) >> 4;
	if (seg == 0)
		t += 8;
	else
		t = (t + 0x108) << (seg - 1);
	return (int16_t)((a & 0x80) ? t : -t);
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Finds fmt and data; leaves f at the first sample.  0, or -1 (reported). */
static int
wav_open(FILE *f, const char *path, unsigned *rate, uint64_t *bytes)
{
	uint8_t h[12], ch[8], fmt[16];
	uint32_t len;
	int have_fmt = 0;

	if (fread(h, 1, 12, f) != 12 || memcmp(h, "RIFF", 4) != 0 || memcmp(h + 8, "WAVE", 4) != 0)
		goto bad;
	while (fread(ch, 1, 8, f) == 8) {
		len = le32(ch + 4);
		if (memcmp(ch, "fmt ", 4) == 0 && len >= 16) {
			if (fread(fmt, 1, 16, f) != 16)
				goto bad;
			/* PCM, mono, 16 bits */
			if ((fmt[0] | fmt[1] << 8) != 1 || (fmt[2] | fmt[3] << 8) != 1 ||
			    (fmt[14] | fmt[15] << 8) != 16)
				goto bad;
			*rate = le32(fmt + 4);
			have_fmt = 1;
			if (fseek(f, (long)(len - 16 + (len & 1)), SEEK_CUR) != 0)
				goto bad;
		} else if (memcmp(ch, "data", 4) == 0) {
			if (!have_fmt || *rate == 0 || *rate % 50 != 0 || *rate / 50 > MAX_FS)
				goto bad;
			*bytes = len;
			return 0;
		} else if (fseek(f, (long)(len + (len & 1)), SEEK_CUR) != 0)
			goto bad;
	}
bad:
	fprintf(stderr, "wavscan: %s: not a 16-bit mono PCM WAV we can read\n", path);
	return -1;
}

static int
scan(const char *path)
{
	static int16_t buf[BLOCK_FRAMES * MAX_FS];
	uint64_t bytes = 0, frames = 0, audio = 0, head = 0, holes = 0, runs = 0;
	uint64_t max_run = 0, pending = 0, concealed = 0, fade = 0, real = 0, samples;
	unsigned rate = 0, fs, i;
	size_t got, k;
	int seen = 0;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "wavscan: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (wav_open(f, path, &rate, &bytes) != 0) {
		fclose(f);
		return -1;
	}
	fs = rate / 50;
	samples = bytes / 2;
	while ((got = fread(buf, 2 * fs, BLOCK_FRAMES, f)) > 0) {
		for (k = 0; k < got; k++) {
			const int16_t *p = buf + k * fs;
			int silent = 1, odd = 0;

			for (i = 0; i < fs; i++) {
				/* little-endian on disk; this bench runs on little-endian hosts */
				if (p[i] != 0)
					silent = 0;
				if (!is_alaw[(uint16_t)p[i]])
					odd = 1;
			}
			frames++;
			if (silent) {
				if (seen)
					pending++;	/* a hole, unless no audio follows */
				else
					head++;
				continue;
			}
			if (pending > 0) {
				holes += pending;
				runs++;
				if (pending > max_run)
					max_run = pending;
				pending = 0;
			}
			seen = 1;
			audio++;
			if (odd) {
				fade++;		/* concealed, if real audio follows */
			} else {
				real++;
				concealed += fade;
				fade = 0;
			}
		}
		if (frames * fs >= samples)
			break;
	}
	fclose(f);
	printf("%s rate=%u samples=%llu frames=%llu audio=%llu real=%llu head=%llu tail=%llu "
	    "holes=%llu runs=%llu max_run=%llu concealed=%llu fade=%llu\n", path, rate,
	    (unsigned long long)samples, (unsigned long long)frames, (unsigned long long)audio,
	    (unsigned long long)real, (unsigned long long)head, (unsigned long long)pending,
	    (unsigned long long)holes, (unsigned long long)runs, (unsigned long long)max_run,
	    (unsigned long long)concealed, (unsigned long long)fade);
	return 0;
}

int
main(int argc, char **argv)
{
	int i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: wavscan FILE.wav ...\n");
		return 2;
	}
	for (i = 0; i < 256; i++)
		is_alaw[(uint16_t)alaw_decode((uint8_t)i)] = 1;
	for (i = 1; i < argc; i++)
		if (scan(argv[i]) != 0)
			rc = 1;
	return fflush(stdout) == 0 ? rc : 1;
}
