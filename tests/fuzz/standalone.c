/*
 * standalone.c — a main() for the proto fuzz target (proto_fuzz.c) without
 * libFuzzer: built by $(CC) in every configuration, so the target's checks
 * also run where no libFuzzer is to be had and under --enable-sanitizers.
 * No coverage feedback: it runs the seeds, the inputs named on its command
 * line (a libFuzzer corpus, a crash to reproduce), and deterministic random
 * mutations of the seeds.  It also writes the seed corpus for libFuzzer.
 *
 *   proto_fuzz_standalone -w DIR                 write the seeds into DIR
 *   proto_fuzz_standalone [-n N] [-s S] [PATH...]
 *       PATH a file or a directory of files; N mutations (default 100000)
 *       from random seed S (default 1).  Prints one line of figures.
 *
 * A broken check abort()s (exit by signal); exit 1 for bad usage, a seed
 * that does not encode or a file that cannot be read.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "proto/proto.h"
#include "tests/fuzz/proto_fuzz.h"

struct input {
	uint8_t	*p;
	size_t	 len;
};

/* figures for the closing line */
static size_t n_files, n_seeds, n_mutations, n_decoded;

/* xorshift64*, so that a run can be repeated with its -s */
static uint64_t rng_state;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(0x2545f4914f6cdd1d);
}

/* feeds one input to the target from a buffer of exactly its size */
static void
run_one(const uint8_t *p, size_t len)
{
	struct proto_msg m;
	uint8_t *copy = xmalloc(len ? len : 1);

	memcpy(copy, p, len);
	LLVMFuzzerTestOneInput(copy, len);
	if (proto_decode(copy, len, &m) == 0)
		n_decoded++;
	proto_msg_free(&m);
	free(copy);
}

static int
seeds_make(struct input **seedsp, size_t *np)
{
	size_t i, n = proto_fuzz_nseeds();
	struct input *s = xcalloc(n, sizeof(*s));
	int err;

	for (i = 0; i < n; i++) {
		if ((err = proto_fuzz_seed(i, (void **)&s[i].p, &s[i].len)) != 0) {
			fprintf(stderr, "proto_fuzz_standalone: seed %zu: %s\n", i, strerror(err));
			while (i-- > 0)
				free(s[i].p);
			free(s);
			return err;
		}
	}
	*seedsp = s;
	*np = n;
	return 0;
}

static int
seeds_write(const char *dir, const struct input *s, size_t n)
{
	char path[4096];
	size_t i;
	FILE *f;

	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "proto_fuzz_standalone: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/seed-%03zu", dir, i);
		if ((f = fopen(path, "wb")) == NULL || fwrite(s[i].p, 1, s[i].len, f) != s[i].len ||
		    fclose(f) != 0) {
			fprintf(stderr, "proto_fuzz_standalone: %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	printf("proto_fuzz_standalone: %zu seeds written to %s\n", n, dir);
	return 0;
}

static int
run_file(const char *path)
{
	struct input in = { NULL, 0 };
	uint8_t buf[4096];
	size_t r;
	FILE *f;
	int err = 0;

	if ((f = fopen(path, "rb")) == NULL)
		goto fail;
	while ((r = fread(buf, 1, sizeof(buf), f)) > 0) {
		in.p = xrealloc(in.p, in.len + r);
		memcpy(in.p + in.len, buf, r);
		in.len += r;
	}
	if (ferror(f)) {
		fclose(f);
		goto fail;
	}
	fclose(f);
	run_one(in.p, in.len);
	n_files++;
	goto out;
fail:
	fprintf(stderr, "proto_fuzz_standalone: %s: %s\n", path, strerror(errno));
	err = 1;
out:
	free(in.p);
	return err;
}

/* a file, or every file of a directory */
static int
run_path(const char *path)
{
	char sub[4096];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int err = 0;

	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return run_file(path);
	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "proto_fuzz_standalone: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (err == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (stat(sub, &st) == 0 && S_ISREG(st.st_mode))
			err = run_file(sub);
	}
	closedir(d);
	return err;
}

/* 32-bit values that sit on or next to a bound of the wire format */
static const uint32_t interesting[] = {
	0, 1, 2, 3, 4, 5, 8, 0x7f, 0x80, 0xff, 0x100, 0xffff,
	PROTO_STREAMS_MAX, PROTO_STREAMS_MAX + 1, PROTO_ARGV_MAX, PROTO_ARGV_MAX + 1,
	PROTO_ROWS_MAX, PROTO_ROWS_MAX + 1, PROTO_ID_MAX, PROTO_ID_MAX + 1,
	PROTO_TEXT_MAX, PROTO_TEXT_MAX + 1, PROTO_BODY_MAX, PROTO_BODY_MAX + 1,
	0x3fffffff, 0x40000000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff
};

/*
 * Writes into out (room for cap bytes, at least seed a's and b's) seed a
 * mutated 1 to 4 times: a bit flipped, a byte or a 32-bit word replaced,
 * bytes cut, inserted or replaced by the tail of seed b, a field resized
 * at a bound (proto_fuzz_mutate); then, half the time, the header's body
 * length set to the truth, so that the fields are reached.  Its length.
 */
static size_t
mutate(const struct input *a, const struct input *b, uint8_t *out, size_t cap)
{
	size_t len = a->len, at, n, i, k, rounds = 1 + rng() % 4;
	uint32_t v;

	memcpy(out, a->p, len);
	for (k = 0; k < rounds; k++) {
		at = len > 0 ? (size_t)(rng() % len) : 0;
		switch (rng() % 8) {
		case 0:
			if (len > 0)
				out[at] ^= (uint8_t)(1u << rng() % 8);
			break;
		case 1:
			if (len > 0)
				out[at] = (uint8_t)rng();
			break;
		case 2:
			if (len >= 4) {
				at = (size_t)(rng() % (len - 3));
				v = interesting[rng() % (sizeof(interesting) / sizeof(interesting[0]))];
				if (rng() % 4 == 0)	/* a length near what is left */
					v = (uint32_t)(len - at - 4 + rng() % 9 - 4);
				out[at] = (uint8_t)(v >> 24);
				out[at + 1] = (uint8_t)(v >> 16);
				out[at + 2] = (uint8_t)(v >> 8);
				out[at + 3] = (uint8_t)v;
			}
			break;
		case 3:	/* cut n bytes at at */
			n = len > at ? (size_t)(rng() % (len - at + 1)) : 0;
			memmove(out + at, out + at + n, len - at - n);
			len -= n;
			break;
		case 4:	/* insert n random bytes at at */
			n = (size_t)(1 + rng() % 16);
			if (len + n > cap)
				break;
			memmove(out + at + n, out + at, len - at);
			for (i = 0; i < n; i++)
				out[at + i] = (uint8_t)rng();
			len += n;
			break;
		case 5:	/* truncate */
			len = at;
			break;
		case 6:	/* a field at a bound */
			if ((n = proto_fuzz_mutate(out, len, cap, (uint32_t)rng())) > 0)
				len = n;
			break;
		default: /* the tail of b from at on */
			if (b->len > at) {	/* cap holds every seed */
				memcpy(out + at, b->p + at, b->len - at);
				len = b->len;
			}
			break;
		}
	}
	if (len >= PROTO_HDR_LEN && rng() % 2 == 0) {
		v = (uint32_t)(len - PROTO_HDR_LEN);
		out[12] = (uint8_t)(v >> 24);
		out[13] = (uint8_t)(v >> 16);
		out[14] = (uint8_t)(v >> 8);
		out[15] = (uint8_t)v;
	}
	return len;
}

static void
usage(void)
{
	fprintf(stderr, "usage: proto_fuzz_standalone -w DIR\n"
	    "       proto_fuzz_standalone [-n mutations] [-s random-seed] [path ...]\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	const char *write_dir = NULL;
	unsigned long long mutations = 100000, seed = 1, k;
	struct input *seeds;
	size_t nseeds, i, cap, len;
	uint8_t *out;
	int c, err = 0;

	while ((c = getopt(argc, argv, "n:s:w:")) != -1) {
		switch (c) {
		case 'n':
			mutations = strtoull(optarg, NULL, 10);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 10);
			break;
		case 'w':
			write_dir = optarg;
			break;
		default:
			usage();
		}
	}
	if (seeds_make(&seeds, &nseeds) != 0)
		return 1;
	if (write_dir != NULL) {
		err = seeds_write(write_dir, seeds, nseeds);
		goto out;
	}

	for (i = (size_t)optind; i < (size_t)argc; i++)
		if ((err = run_path(argv[i])) != 0)
			goto out;
	for (i = 0; i < nseeds; i++, n_seeds++)
		run_one(seeds[i].p, seeds[i].len);
	for (cap = 0, i = 0; i < nseeds; i++)
		if (seeds[i].len > cap)
			cap = seeds[i].len;
	if (cap < PROTO_FUZZ_MAX_LEN)
		cap = PROTO_FUZZ_MAX_LEN;
	out = xmalloc(cap);
	rng_state = seed * UINT64_C(0x9e3779b97f4a7c15) | 1;
	for (k = 0; err == 0 && k < mutations; k++, n_mutations++) {
		len = mutate(&seeds[rng() % nseeds], &seeds[rng() % nseeds], out, cap);
		run_one(out, len);
	}
	free(out);
	printf("proto_fuzz_standalone: %zu inputs (%zu files, %zu seeds, %zu mutations), "
	    "%zu decoded\n", n_files + n_seeds + n_mutations, n_files, n_seeds, n_mutations,
	    n_decoded);
out:
	for (i = 0; i < nseeds; i++)
		free(seeds[i].p);
	free(seeds);
	return err;
}
