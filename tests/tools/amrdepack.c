/*
 * amrdepack.c — turns AMR or AMR-WB RTP payloads into an RFC 4867 storage
 * file (the .amr / .awb that ffmpeg, sox and players read), through
 * mediad's codec_unpack, so that an independent decoder can check what
 * our encoder and packer produce.
 *
 *   amrdepack AMR|AMR-WB octet|be < payloads > file
 *
 * stdin: one payload per line in hex (no RTP header); blank lines are
 * skipped.  stdout: "#!AMR\n" or "#!AMR-WB\n", then each frame as a ToC
 * byte (0|FT|Q|00) and its speech bytes.  A line that is not hex or not a
 * valid payload ends the run with status 1 and says which line it was.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mediad/codec.h"
#include "tests/tools/amrtool.h"

static int
hex_nibble(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* the bytes of a hex line (white space ignored); -1 if it is not hex or too long */
static int
hex_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1, v;

	for (; *s != '\0'; s++) {
		if (isspace((unsigned char)*s))
			continue;
		if ((v = hex_nibble(*s)) < 0)
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == cap)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return hi < 0 ? (int)n : -1;
}

int
main(int argc, char **argv)
{
	struct codec_fmt f;
	struct codec_frame fr[CODEC_FRAMES_MAX];
	uint8_t pl[CODEC_PAYLOAD_MAX], toc;
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	int len, n, i, cmr;

	if (argc != 3 || amrtool_fmt(argv[1], argv[2], &f) != 0) {
		fprintf(stderr, "usage: amrdepack AMR|AMR-WB octet|be < payloads > file\n");
		return 2;
	}
	fputs(f.id == CODEC_AMR ? "#!AMR\n" : "#!AMR-WB\n", stdout);
	while (getline(&line, &cap, stdin) >= 0) {
		lineno++;
		if ((len = hex_decode(line, pl, sizeof(pl))) < 0) {
			fprintf(stderr, "amrdepack: line %u: not a hex payload\n", lineno);
			return 1;
		}
		if (len == 0)
			continue;
		if ((n = codec_unpack(&f, pl, (size_t)len, fr, CODEC_FRAMES_MAX, &cmr)) < 0) {
			fprintf(stderr, "amrdepack: line %u: malformed %s payload\n", lineno,
			    codec_name(f.id));
			return 1;
		}
		for (i = 0; i < n; i++) {
			toc = (uint8_t)(fr[i].ft << 3 | (fr[i].q != 0) << 2);
			fwrite(&toc, 1, 1, stdout);
			fwrite(fr[i].data, 1, fr[i].len, stdout);
		}
	}
	free(line);
	return fflush(stdout) == 0 ? 0 : 1;
}
