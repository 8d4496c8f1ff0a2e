/*
 * recd_test.c — unit tests of recd: file names (filesystem-safe ids, UTC
 * date directories whatever the local time zone), the writer (silence to
 * the exact sample count, duplicates and overlaps dropped, a file reopened
 * and appended to, another format refused), and recordings (frames in
 * sequence, a frame out of sequence not written, a gap, padding at the
 * stop, the sidecar's content, resuming after a stop of recd with the
 * earlier sidecar's streams and gaps kept, a repeated REC_STOP, frames of
 * unknown and finished recordings, implausible timestamps, a directory
 * that cannot be made).  No socket: recd's ctl is not open, so what rec.c
 * would send goes nowhere.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sndfile.h>

#include "tests/unit/unit.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "recd/recd.h"

/* 2026-11-20T12:09:29.389Z */
#define T_START		UINT64_C(1795176569389)
#define RATE		8000
#define FS		160	/* samples per 20 ms frame at RATE */

static char tmpdir[64];

static void
tmp_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/recd_test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
tmp_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static char *
tmp_path(const char *name)
{
	char *p;

	xasprintf(&p, "%s/%s", tmpdir, name);
	return p;
}

/* n samples of a 1 kHz tone starting at sample from, never 0 */
static void
tone(int16_t *pcm, size_t n, uint64_t from)
{
	size_t i;

	for (i = 0; i < n; i++)
		pcm[i] = (int16_t)(8000 * sin(2 * M_PI * 1000 * (double)(from + i) / RATE) +
		    (((from + i) % 2) ? 100 : -100));
}

/* The whole file: *n samples (malloc'd); fails the test if not a 16-bit mono WAV. */
static int16_t *
read_wav(const char *path, size_t *n, int *rate)
{
	SF_INFO info;
	SNDFILE *sf;
	int16_t *pcm;

	memset(&info, 0, sizeof(info));
	sf = sf_open(path, SFM_READ, &info);
	ck_assert_msg(sf != NULL, "%s: %s", path, sf_strerror(NULL));
	ck_assert_int_eq(info.channels, 1);
	ck_assert_int_eq(info.format, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
	pcm = xcalloc((size_t)info.frames + 1, sizeof(*pcm));
	ck_assert_int_eq(sf_read_short(sf, pcm, info.frames), info.frames);
	sf_close(sf);
	*n = (size_t)info.frames;
	if (rate != NULL)
		*rate = info.samplerate;
	return pcm;
}

/* ---------------------------------------------------------------- names */

START_TEST(safe_ids)
{
	char *s, *t, big[301];

	s = rec_safe_id("65418859@192.168.2.159");
	ck_assert_str_eq(s, "65418859_192.168.2.159");
	free(s);
	s = rec_safe_id("a/b:c d\\e*f?\"g<h>|i~j%k\x01l\xc3\xa9m");
	ck_assert_str_eq(s, "a_b_c_d_e_f__g_h__i_j_k_l__m");
	free(s);
	s = rec_safe_id("room-800");
	ck_assert_str_eq(s, "room-800");
	free(s);
	s = rec_safe_id("../../etc/passwd");
	ck_assert_ptr_null(strchr(s, '/'));
	free(s);
	/* a long id is cut, and a hash of the whole keeps two such apart */
	memset(big, 'x', 300);
	big[300] = '\0';
	s = rec_safe_id(big);
	big[299] = 'y';
	t = rec_safe_id(big);
	ck_assert_uint_eq(strlen(s), RECD_SAFE_ID_MAX);
	ck_assert_uint_eq(strlen(t), RECD_SAFE_ID_MAX);
	ck_assert_str_ne(s, t);
	ck_assert_int_eq(strncmp(s, big, RECD_SAFE_ID_MAX - 9), 0);
	free(s);
	free(t);
}
END_TEST

START_TEST(base_paths_in_utc)
{
	char *b;

	/* a local time zone far from UTC must not move the date or the hour */
	setenv("TZ", "Pacific/Kiritimati", 1);
	tzset();
	b = rec_base("/rec", T_START, "c1");
	ck_assert_str_eq(b, "/rec/2026/11/20/120929_c1");
	free(b);
	/* the last ms of a day, the first of the next */
	b = rec_base("/rec", UINT64_C(1767225599999), "x");
	ck_assert_str_eq(b, "/rec/2025/12/31/235959_x");
	free(b);
	b = rec_base("/rec", UINT64_C(1767225600000), "x");
	ck_assert_str_eq(b, "/rec/2026/01/01/000000_x");
	free(b);
	unsetenv("TZ");
	tzset();
	ck_assert(rec_stream_name_ok("caller"));
	ck_assert(rec_stream_name_ok("p12"));
	ck_assert(rec_stream_name_ok("a-b"));
	ck_assert(!rec_stream_name_ok(""));
	ck_assert(!rec_stream_name_ok("a/b"));
	ck_assert(!rec_stream_name_ok("a_b"));
	ck_assert(!rec_stream_name_ok(".."));
}
END_TEST

/* ---------------------------------------------------------------- writer */

START_TEST(writer_fills_silence_exactly)
{
	char *path = tmp_path("w.wav");
	struct writer *w;
	int16_t a[FS], b[FS], *pcm;
	size_t n, i;
	int rate;

	tone(a, FS, 0);
	tone(b, FS, 800);
	ck_assert_int_eq(writer_open(&w, path, RATE, 0), 0);
	ck_assert_int_eq(writer_resumed(w), 0);
	ck_assert_int_eq(writer_put(w, 0, a, FS), 0);
	/* 640 samples (80 ms) missing before the next frame: silence, exactly */
	ck_assert_int_eq(writer_put(w, 800, b, FS), 0);
	ck_assert_uint_eq(writer_samples(w), 960);
	ck_assert_int_eq(writer_fill(w, 1003), 0);
	ck_assert_uint_eq(writer_samples(w), 1003);
	ck_assert_int_eq(writer_fill(w, 10), 0);	/* shorter: nothing */
	ck_assert_uint_eq(writer_samples(w), 1003);
	ck_assert_int_eq(writer_close(w), 0);

	pcm = read_wav(path, &n, &rate);
	ck_assert_int_eq(rate, RATE);
	ck_assert_uint_eq(n, 1003);
	ck_assert(memcmp(pcm, a, sizeof(a)) == 0);
	for (i = FS; i < 800; i++)
		ck_assert_int_eq(pcm[i], 0);
	ck_assert(memcmp(pcm + 800, b, sizeof(b)) == 0);
	for (i = 960; i < 1003; i++)
		ck_assert_int_eq(pcm[i], 0);
	free(pcm);
	free(path);
}
END_TEST

START_TEST(writer_drops_duplicates)
{
	char *path = tmp_path("d.wav");
	struct writer *w;
	int16_t a[2 * FS], *pcm;
	size_t n;

	tone(a, 2 * FS, 0);
	ck_assert_int_eq(writer_open(&w, path, RATE, 0), 0);
	ck_assert_int_eq(writer_put(w, 0, a, FS), 0);
	ck_assert_int_eq(writer_put(w, 0, a, FS), 0);		/* the same again */
	ck_assert_uint_eq(writer_samples(w), FS);
	/* half of this one is there already: only the rest is written */
	ck_assert_int_eq(writer_put(w, FS / 2, a + FS / 2, FS), 0);
	ck_assert_uint_eq(writer_samples(w), FS + FS / 2);
	ck_assert_int_eq(writer_put(w, FS + FS / 2, a + FS + FS / 2, FS / 2), 0);
	ck_assert_int_eq(writer_put(w, FS, a + FS, FS), 0);	/* behind the end: dropped */
	ck_assert_uint_eq(writer_samples(w), 2 * FS);
	ck_assert_int_eq(writer_close(w), 0);

	pcm = read_wav(path, &n, NULL);
	ck_assert_uint_eq(n, 2 * FS);
	ck_assert(memcmp(pcm, a, sizeof(a)) == 0);	/* the tone, unbroken */
	free(pcm);
	free(path);
}
END_TEST

START_TEST(writer_resumes_at_the_end)
{
	char *path = tmp_path("r.wav");
	struct writer *w;
	int16_t a[10 * FS], *pcm;
	size_t n;

	tone(a, 10 * FS, 0);
	ck_assert_int_eq(writer_open(&w, path, RATE, 0), 0);
	ck_assert_int_eq(writer_put(w, 0, a, 6 * FS), 0);
	ck_assert_int_eq(writer_close(w), 0);

	ck_assert_int_eq(writer_open(&w, path, RATE, 0), 0);
	ck_assert_int_eq(writer_resumed(w), 1);
	ck_assert_uint_eq(writer_samples(w), 6 * FS);
	/* a resend from before the end: only what is new is appended */
	ck_assert_int_eq(writer_put(w, 5 * FS, a + 5 * FS, 5 * FS), 0);
	ck_assert_uint_eq(writer_samples(w), 10 * FS);
	ck_assert_int_eq(writer_close(w), 0);

	pcm = read_wav(path, &n, NULL);
	ck_assert_uint_eq(n, 10 * FS);
	ck_assert(memcmp(pcm, a, sizeof(a)) == 0);
	free(pcm);

	/* another rate, or a file that is not a WAV: not appended to */
	ck_assert_int_eq(writer_open(&w, path, 16000, 0), WRITER_EFORMAT);
	ck_assert_str_eq(writer_strerror(WRITER_EFORMAT), "the file exists, in another format");
	free(path);
	path = tmp_path("junk.wav");
	{
		FILE *fp = fopen(path, "w");

		fputs("not a wav file at all, but long enough to look at", fp);
		fclose(fp);
	}
	ck_assert_int_ne(writer_open(&w, path, RATE, 0), 0);
	free(path);
	/* a directory that is not there */
	path = tmp_path("none/x.wav");
	ck_assert_int_eq(writer_open(&w, path, RATE, 0), ENOENT);
	free(path);
}
END_TEST

/* Samples gather until writer_flush; what is on disk is always a whole WAV to its last write. */
START_TEST(writer_gathers_until_flush)
{
	char *path = tmp_path("g.wav");
	struct writer *w;
	int16_t a[3 * FS], *pcm;
	size_t n;

	tone(a, 3 * FS, 0);
	ck_assert_int_eq(writer_open(&w, path, RATE, 0), 0);
	ck_assert_int_eq(writer_put(w, 0, a, 2 * FS), 0);
	ck_assert_uint_eq(writer_samples(w), 2 * FS);
	pcm = read_wav(path, &n, NULL);		/* a killed recd would leave this */
	ck_assert_uint_eq(n, 0);
	free(pcm);
	ck_assert_int_eq(writer_flush(w), 0);
	pcm = read_wav(path, &n, NULL);
	ck_assert_uint_eq(n, 2 * FS);
	ck_assert(memcmp(pcm, a, 2 * FS * sizeof(*a)) == 0);
	free(pcm);
	ck_assert_int_eq(writer_put(w, 2 * FS, a + 2 * FS, FS), 0);
	ck_assert_int_eq(writer_close(w), 0);		/* close writes the rest */
	pcm = read_wav(path, &n, NULL);
	ck_assert_uint_eq(n, 3 * FS);
	ck_assert(memcmp(pcm, a, sizeof(a)) == 0);
	free(pcm);
	free(path);
}
END_TEST

/* the bytes of a file */
static uint8_t *
slurp(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *b = malloc(1 << 16);

	ck_assert_ptr_nonnull(fp);
	*n = fread(b, 1, 1 << 16, fp);
	fclose(fp);
	return b;
}

/* An EVS file: header, frames in place, NO_DATA for a gap, duplicates skipped, resumed. */
START_TEST(writer_evs_storage)
{
	char *path = tmp_path("e.evs");
	uint8_t f[3 * 34], *b;
	uint32_t lens[3] = { 34, 34, 34 };
	struct writer *w;
	size_t n, i;
	FILE *fp;

	for (i = 0; i < 3; i++) {
		f[i * 34] = 0x04;			/* primary 13.2 kbit/s: 33 bytes */
		memset(f + i * 34 + 1, (int)(0x11 * (i + 1)), 33);
	}
	ck_assert_int_eq(writer_open(&w, path, 16000, 1), 0);
	ck_assert_int_eq(writer_put(w, 0, (const int16_t *)f, 1), EINVAL);	/* no PCM here */
	ck_assert_int_eq(writer_put_frames(w, 0, f, lens, 2), 0);
	ck_assert_uint_eq(writer_samples(w), 2 * 320);
	/* frame 1 again and frame 2: only frame 2 is new */
	ck_assert_int_eq(writer_put_frames(w, 320, f + 34, lens, 2), 0);
	ck_assert_uint_eq(writer_samples(w), 3 * 320);
	/* two frames missing, then one: NO_DATA twice */
	ck_assert_int_eq(writer_put_frames(w, 5 * 320, f, lens, 1), 0);
	ck_assert_uint_eq(writer_samples(w), 6 * 320);
	ck_assert_int_eq(writer_fill(w, 7 * 320 + 1), 0);	/* up to a frame past it */
	ck_assert_uint_eq(writer_samples(w), 8 * 320);
	ck_assert_int_eq(writer_close(w), 0);

	b = slurp(path, &n);
	ck_assert_uint_eq(n, 16 + 4 * 34 + 4);
	ck_assert(memcmp(b, "#!EVS_MC1.0\n\0\0\0\1", 16) == 0);
	ck_assert(memcmp(b + 16, f, 3 * 34) == 0);
	ck_assert_int_eq(b[16 + 3 * 34], 0x0f);
	ck_assert_int_eq(b[16 + 3 * 34 + 1], 0x0f);
	ck_assert(memcmp(b + 16 + 3 * 34 + 2, f, 34) == 0);
	ck_assert_int_eq(b[n - 2], 0x0f);
	ck_assert_int_eq(b[n - 1], 0x0f);
	free(b);

	/* recd killed in the middle of a frame: a reopen cuts it off and counts the rest */
	fp = fopen(path, "ab");
	fwrite(f, 1, 10, fp);
	fclose(fp);
	ck_assert_int_eq(writer_open(&w, path, 16000, 1), 0);
	ck_assert_int_eq(writer_resumed(w), 1);
	ck_assert_uint_eq(writer_samples(w), 8 * 320);
	ck_assert_int_eq(writer_put_frames(w, 8 * 320, f + 68, lens, 1), 0);
	ck_assert_int_eq(writer_close(w), 0);
	b = slurp(path, &n);
	ck_assert_uint_eq(n, 16 + 5 * 34 + 4);
	ck_assert(memcmp(b + n - 34, f + 68, 34) == 0);
	free(b);
	/* a WAV is not an EVS file */
	free(path);
	path = tmp_path("w2.wav");
	ck_assert_int_eq(writer_open(&w, path, 16000, 0), 0);
	ck_assert_int_eq(writer_close(w), 0);
	ck_assert_int_eq(writer_open(&w, path, 16000, 1), WRITER_EFORMAT);
	free(path);
}
END_TEST

/* ---------------------------------------------------------------- recordings */

static struct recd rd;

static void
rd_setup(void)
{
	tmp_setup();
	memset(&rd, 0, sizeof(rd));
	ck_assert_int_eq(loop_alloc(&rd.loop), 0);
	rd.dir = tmp_path("rec");
	rec_init(&rd);
}

static void
rd_teardown(void)
{
	rec_shutdown(&rd);
	loop_free(rd.loop);
	free(rd.dir);
	tmp_teardown();
}

static const char *const three[] = { "caller", "callee", "mix" };
static const char *const codecs3[] = { "PCMA", "AMR", "" };
static const char *const parts2[] = { "1001", "1002" };

static struct rec *
start(const char *id, uint64_t start_ms, size_t ns, const char *const *streams,
    const char *const *codecs, size_t np, const char *const *parts)
{
	struct proto_rec_start m = {
		.rec = (char *)id, .kind = PROTO_REC_CALL, .rate = RATE, .start_ms = start_ms,
		.streams = { ns, (char **)streams }, .codecs = { codecs ? ns : 0, (char **)codecs },
		.participants = { np, (char **)parts },
	};
	struct rec *r = NULL;

	ck_assert_int_eq(rec_start(&rd, &m, "owner", 5, &r), 0);
	ck_assert_ptr_nonnull(r);
	return r;
}

/* REC_FRAMES of nframes 20 ms frames of the tone from frame seq, at media time ts */
static int
frames(const char *id, const char *stream, uint32_t seq, uint64_t ts, size_t nframes)
{
	static uint8_t pcm[PROTO_PCM_MAX];
	int16_t t[PROTO_PCM_MAX / 2];
	struct proto_rec_frames m = {
		.rec = (char *)id, .stream = (char *)stream, .seq = seq, .ts = ts,
		.pcm = { nframes * FS * 2, pcm },
	};
	size_t i;

	tone(t, nframes * FS, ts);
	for (i = 0; i < nframes * FS; i++) {
		pcm[2 * i] = (uint8_t)((uint16_t)t[i] & 0xff);
		pcm[2 * i + 1] = (uint8_t)((uint16_t)t[i] >> 8);
	}
	return rec_frames(&rd, &m, "owner", 5);
}

static struct rec *
stop(const char *id, uint64_t samples)
{
	struct proto_rec_stop m = { .rec = (char *)id, .end_ms = 0, .samples = samples,
	    .reason = (char *)"hangup" };
	struct rec *r = NULL;

	ck_assert_int_eq(rec_stop(&rd, &m, &r), 0);
	return r;
}

static json_t *
load_json(const char *path)
{
	json_error_t jerr;
	json_t *o = json_load_file(path, 0, &jerr);

	ck_assert_msg(o != NULL, "%s: %s", path, jerr.text);
	return o;
}

START_TEST(recording_files_sidecar_and_padding)
{
	uint64_t t0 = clock_wall_ms() - 60000;
	struct proto_rec_gap g = { .rec = (char *)"c1@host", .stream = (char *)"callee",
	    .seq = 10, .ts = 5 * FS, .ms = 100 };
	struct rec *r = start("c1@host", t0, 3, three, codecs3, 2, parts2);
	char *base, *want, *p;
	json_t *o, *a;
	int16_t *pcm, t[10 * FS];
	size_t n, i;
	struct stat st;

	ck_assert_int_eq(r->status, REC_RECORDING);
	base = rec_base(rd.dir, t0, "c1_host");
	ck_assert_str_eq(r->base, base);
	for (i = 0; i < 3; i++) {
		xasprintf(&want, "%s_%s.wav", base, three[i]);
		ck_assert_str_eq(r->streams[i].path, want);
		ck_assert_int_eq(stat(want, &st), 0);
		free(want);
	}
	xasprintf(&want, "%s.json", base);
	ck_assert_str_eq(r->sidecar, want);
	o = load_json(want);
	ck_assert_str_eq(json_string_value(json_object_get(o, "status")), "recording");
	json_decref(o);

	/* caller: 10 frames, in twos */
	for (i = 0; i < 10; i += 2)
		ck_assert_int_eq(frames("c1@host", "caller", (uint32_t)i, i * FS, 2), 0);
	/* callee: frames 0-4, then frame 6 comes before 5: not written */
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(frames("c1@host", "callee", (uint32_t)i, i * FS, 1), 0);
	ck_assert_int_eq(frames("c1@host", "callee", 6, 6 * FS, 1), 0);
	ck_assert_uint_eq(r->streams[1].samples, 5 * FS);
	ck_assert_uint_eq(r->out_of_seq, 1);
	ck_assert_int_eq(r->streams[1].resend, 0);	/* asked (and sent nowhere) */
	ck_assert_uint_ne(r->streams[1].resend_at, 0);
	/* then frames 5..9 are lost for good: a gap of 100 ms, then frame 10 */
	ck_assert_int_eq(rec_gap(&rd, &g, "owner", 5), 0);
	ck_assert_uint_eq(r->streams[1].samples, 10 * FS);
	ck_assert_int_eq(rec_gap(&rd, &g, "owner", 5), 0);	/* a repeat: nothing */
	ck_assert_uint_eq(r->streams[1].samples, 10 * FS);
	ck_assert_uint_eq(r->ngaps, 1);
	ck_assert_int_eq(frames("c1@host", "callee", 10, 10 * FS, 1), 0);
	/* mix: frame 0, then frame 1 stamped 3 frames later (a hold) */
	ck_assert_int_eq(frames("c1@host", "mix", 0, 0, 1), 0);
	ck_assert_int_eq(frames("c1@host", "mix", 1, 4 * FS, 1), 0);
	ck_assert_uint_eq(r->streams[2].samples, 5 * FS);
	/* a duplicate by sequence number */
	ck_assert_int_eq(frames("c1@host", "mix", 0, 0, 1), 0);
	ck_assert_uint_eq(r->dups, 1);

	/* refused: no such stream, not whole frames, far past the wall clock */
	ck_assert_int_eq(frames("c1@host", "p1", 0, 0, 1), EINVAL);
	ck_assert_int_eq(frames("nope", "mix", 0, 0, 1), ENOENT);
	{
		struct proto_rec_frames m = { .rec = (char *)"c1@host", .stream = (char *)"mix",
		    .seq = 2, .ts = 5 * FS, .pcm = { 100, (uint8_t *)t } };

		ck_assert_int_eq(rec_frames(&rd, &m, "owner", 5), EINVAL);
	}
	ck_assert_int_eq(frames("c1@host", "mix", 2, (uint64_t)RATE * 7200, 1), EINVAL);

	/* stop: every file padded to 12 frames */
	r = stop("c1@host", 12 * FS);
	ck_assert_int_eq(r->status, REC_OK);
	ck_assert_ptr_null(rec_find(&rd, "c1@host"));
	for (i = 0; i < 3; i++) {
		pcm = read_wav(r->streams[i].path, &n, NULL);
		ck_assert_uint_eq(n, 12 * FS);
		if (i == 0) {
			tone(t, 10 * FS, 0);
			ck_assert(memcmp(pcm, t, sizeof(t)) == 0);
		}
		if (i == 1) {	/* the gap is silence, frame 10 is the tone */
			ck_assert_int_eq(pcm[5 * FS], 0);
			ck_assert_int_eq(pcm[10 * FS - 1], 0);
			ck_assert_int_ne(pcm[10 * FS + 1], 0);
		}
		if (i == 2) {	/* the hold is silence */
			ck_assert_int_eq(pcm[FS], 0);
			ck_assert_int_eq(pcm[4 * FS - 1], 0);
			ck_assert_int_ne(pcm[4 * FS + 1], 0);
		}
		free(pcm);
	}
	/* frames after the end are dropped quietly; a repeated stop answers the same */
	ck_assert_int_eq(frames("c1@host", "mix", 12, 12 * FS, 1), 0);
	ck_assert_ptr_eq(stop("c1@host", 12 * FS), r);

	o = load_json(want);
	ck_assert_str_eq(json_string_value(json_object_get(o, "id")), "c1@host");
	ck_assert_str_eq(json_string_value(json_object_get(o, "kind")), "call");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "rate")), RATE);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "start_ms")), (json_int_t)t0);
	ck_assert(json_is_integer(json_object_get(o, "end_ms")));
	ck_assert_str_eq(json_string_value(json_object_get(o, "status")), "ok");
	ck_assert_str_eq(json_string_value(json_object_get(o, "stop_reason")), "hangup");
	p = xstrdup(json_string_value(json_object_get(o, "start")));
	ck_assert_uint_eq(strlen(p), 24);
	ck_assert_int_eq(p[23], 'Z');
	free(p);
	a = json_object_get(o, "participants");
	ck_assert_uint_eq(json_array_size(a), 2);
	ck_assert_str_eq(json_string_value(json_array_get(a, 1)), "1002");
	a = json_object_get(o, "files");
	ck_assert_uint_eq(json_array_size(a), 3);
	for (i = 0; i < 3; i++) {
		json_t *fo = json_array_get(a, i);

		ck_assert_str_eq(json_string_value(json_object_get(fo, "stream")), three[i]);
		ck_assert_str_eq(json_string_value(json_object_get(fo, "codec")), codecs3[i]);
		ck_assert_str_eq(json_string_value(json_object_get(fo, "file")),
		    strrchr(r->streams[i].path, '/') + 1);
		ck_assert(fabs(json_real_value(json_object_get(fo, "seconds")) - 0.24) < 1e-9);
		ck_assert_int_eq(json_integer_value(json_object_get(fo, "samples")), 12 * FS);
	}
	a = json_object_get(o, "gaps");
	ck_assert_uint_eq(json_array_size(a), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "stream")),
	    "callee");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(a, 0), "ms")), 100);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(a, 0), "ts")), 5 * FS);
	json_decref(o);
	free(want);
	free(base);
}
END_TEST

START_TEST(recording_resumes_after_recd_stopped)
{
	uint64_t t0 = clock_wall_ms() - 60000;
	struct proto_rec_gap g = { .rec = (char *)"room-800", .stream = (char *)"p2",
	    .seq = 3, .ts = 0, .ms = 60 };
	static const char *const mix_p2[] = { "mix", "p2" };
	static const char *const mix[] = { "mix" };
	static const char *const p3[] = { "1003" };
	struct rec *r = start("room-800", t0, 2, mix_p2, NULL, 2, parts2);
	char *sidecar = xstrdup(r->sidecar), *mixpath = xstrdup(r->streams[0].path);
	json_t *o;
	int16_t *pcm, t[8 * FS];
	size_t n, i;

	for (i = 0; i < 5; i++)
		ck_assert_int_eq(frames("room-800", "mix", (uint32_t)i, i * FS, 1), 0);
	/* p2 joined 60 ms late */
	ck_assert_int_eq(rec_gap(&rd, &g, "owner", 5), 0);
	ck_assert_uint_eq(r->streams[1].samples, 3 * FS);

	/* recd stops: the files are closed, the sidecar says interrupted */
	rec_shutdown(&rd);
	o = load_json(sidecar);
	ck_assert_str_eq(json_string_value(json_object_get(o, "status")), "interrupted");
	json_decref(o);

	/* a new recd gets the same REC_START (here with the mix only, one more user) */
	rec_init(&rd);
	r = start("room-800", t0, 1, mix, NULL, 1, p3);
	ck_assert_int_eq(r->status, REC_RECORDING);
	ck_assert_uint_eq(r->nstreams, 2);		/* p2 from the sidecar */
	ck_assert_str_eq(r->streams[1].name, "p2");
	ck_assert_uint_eq(r->streams[0].samples, 5 * FS);
	ck_assert_uint_eq(r->streams[1].samples, 3 * FS);
	/* what its REC_ACKs say: resend from the files' ends, no sequence yet */
	ck_assert_int_eq(r->streams[0].resend, 1);
	ck_assert_int_eq(r->streams[0].seq_known, 0);
	ck_assert_uint_eq(r->ngaps, 1);
	ck_assert_uint_eq(r->nparts, 3);

	/* the resend starts a frame early: its copy is dropped, the rest appended */
	ck_assert_int_eq(frames("room-800", "mix", 4, 4 * FS, 4), 0);
	ck_assert_uint_eq(r->streams[0].samples, 8 * FS);
	ck_assert_int_eq(frames("room-800", "mix", 9, 9 * FS, 1), 0);	/* 8 is due */
	ck_assert_uint_eq(r->streams[0].samples, 8 * FS);
	r = stop("room-800", 8 * FS);
	ck_assert_int_eq(r->status, REC_OK);

	pcm = read_wav(mixpath, &n, NULL);
	ck_assert_uint_eq(n, 8 * FS);
	tone(t, 8 * FS, 0);
	ck_assert(memcmp(pcm, t, sizeof(t)) == 0);	/* no seam */
	free(pcm);
	o = load_json(sidecar);
	ck_assert_str_eq(json_string_value(json_object_get(o, "status")), "ok");
	ck_assert_str_eq(json_string_value(json_object_get(o, "kind")), "call");
	ck_assert_uint_eq(json_array_size(json_object_get(o, "participants")), 3);
	ck_assert_uint_eq(json_array_size(json_object_get(o, "files")), 2);
	ck_assert_uint_eq(json_array_size(json_object_get(o, "gaps")), 1);
	json_decref(o);
	free(sidecar);
	free(mixpath);
}
END_TEST

START_TEST(recording_names_taken_and_failures)
{
	uint64_t t0 = clock_wall_ms() - 60000;
	static const char *const mix[] = { "mix" };
	static const char *const bad[] = { "a/b" };
	static const char *const twice[] = { "mix", "mix" };
	struct proto_rec_start m = {
		.rec = (char *)"x@y", .kind = PROTO_REC_CALL, .rate = RATE, .start_ms = t0,
		.streams = { 1, (char **)mix },
	};
	struct rec *r;
	FILE *fp;

	/* "x:y" and "x@y" have one safe form: the second may not take the first's files */
	r = start("x:y", t0, 1, mix, NULL, 0, NULL);
	stop("x:y", 0);
	ck_assert_int_eq(rec_start(&rd, &m, "owner", 5, &r), EEXIST);
	/* requests that make no sense */
	m.rate = 11025;
	ck_assert_int_eq(rec_start(&rd, &m, "owner", 5, &r), EINVAL);
	m.rate = RATE;
	m.streams.v = (char **)bad;
	ck_assert_int_eq(rec_start(&rd, &m, "owner", 5, &r), EINVAL);
	m.streams.n = 2;
	m.streams.v = (char **)twice;
	ck_assert_int_eq(rec_start(&rd, &m, "owner", 5, &r), EINVAL);
	m.streams.v = (char **)three;
	m.codecs.n = 1;
	m.codecs.v = (char **)codecs3;
	ck_assert_int_eq(rec_start(&rd, &m, "owner", 5, &r), EINVAL);
	m.codecs.n = 0;
	/* a start that bounds nothing: older than a day, or far ahead */
	m.start_ms = clock_wall_ms() - RECD_START_AGE_MS - 1000;
	ck_assert_int_eq(rec_start(&rd, &m, "owner", 5, &r), EINVAL);
	m.start_ms = clock_wall_ms() + RECD_START_AHEAD_MS + 1000;
	ck_assert_int_eq(rec_start(&rd, &m, "owner", 5, &r), EINVAL);
	m.start_ms = t0;

	/* recording.dir is a file: the recording fails, with the reason */
	free(rd.dir);
	rd.dir = tmp_path("plain");
	fp = fopen(rd.dir, "w");
	fclose(fp);
	r = start("c2", t0, 1, mix, NULL, 0, NULL);
	ck_assert_int_eq(r->status, REC_FAILED);
	ck_assert_ptr_nonnull(strstr(r->reason, "Not a directory"));
	ck_assert_ptr_null(rec_find(&rd, "c2"));
	ck_assert_int_eq(frames("c2", "mix", 0, 0, 1), 0);	/* dropped */
	ck_assert_ptr_eq(stop("c2", 0), r);

	/* it works again once the directory can be made */
	unlink(rd.dir);
	r = start("c2", t0, 1, mix, NULL, 0, NULL);
	ck_assert_int_eq(r->status, REC_RECORDING);
	ck_assert_int_eq(frames("c2", "mix", 0, 0, 1), 0);
	ck_assert_int_eq(stop("c2", 0)->status, REC_OK);

	/* REC_START again for an open recording: streams added, nothing reopened */
	r = start("c3", t0, 1, mix, NULL, 0, NULL);
	ck_assert_int_eq(frames("c3", "mix", 0, 0, 1), 0);
	ck_assert_ptr_eq(start("c3", t0, 3, three, codecs3, 1, parts2), r);
	ck_assert_uint_eq(r->nstreams, 3);
	ck_assert_uint_eq(r->streams[0].samples, FS);
	ck_assert_int_eq(r->streams[0].seq_known, 1);
	/* ... and with another start, the old one ends and a new one begins */
	ck_assert_ptr_ne(start("c3", t0 + 1000, 1, mix, NULL, 0, NULL), r);
	ck_assert_uint_eq(rec_count(&rd), 1);
}
END_TEST

static Suite *
recd_suite(void)
{
	Suite *s = suite_create("recd");
	TCase *tn = tcase_create("names");
	TCase *tw = tcase_create("writer");
	TCase *tr = tcase_create("recordings");

	tcase_add_test(tn, safe_ids);
	tcase_add_test(tn, base_paths_in_utc);
	suite_add_tcase(s, tn);
	tcase_add_checked_fixture(tw, tmp_setup, tmp_teardown);
	tcase_add_test(tw, writer_fills_silence_exactly);
	tcase_add_test(tw, writer_drops_duplicates);
	tcase_add_test(tw, writer_resumes_at_the_end);
	tcase_add_test(tw, writer_evs_storage);
	tcase_add_test(tw, writer_gathers_until_flush);
	suite_add_tcase(s, tw);
	tcase_add_checked_fixture(tr, rd_setup, rd_teardown);
	tcase_add_test(tr, recording_files_sidecar_and_padding);
	tcase_add_test(tr, recording_resumes_after_recd_stopped);
	tcase_add_test(tr, recording_names_taken_and_failures);
	suite_add_tcase(s, tr);
	return s;
}

int
main(void)
{
	log_init("recd_test", 1, LOG_LVL_WARN);
	return unit_run(recd_suite());
}
