/*
 * evs.c — EVS RTP payloads to MIME storage frames (3GPP TS 26.445 Annex
 * A.2), for recording a codec Parley does not decode.  See evs.h.
 *
 * Compact format (A.2.1): the payload's size alone says what it is, one
 * frame: an EVS primary frame as it is, or an AMR-WB IO frame behind a
 * 3-bit CMR that the storage format does not keep.  Any other size is the
 * header-full format (A.2.2): an optional CMR byte (H bit set), ToC bytes
 * (H clear; F set when another ToC follows), then each frame's data
 * padded to whole bytes, in ToC order.
 */
#include <string.h>

#include "common/evs.h"

/* speech bits per bit-rate index: EVS primary (mode bit 0), AMR-WB IO (1); -1 reserved */
static const int evs_bits[2][16] = {
	{ 56, 144, 160, 192, 264, 328, 488, 640, 960, 1280, 1920, 2560, 48, -1, 0, 0 },
	{ 132, 177, 253, 285, 317, 365, 397, 461, 477, 40, -1, -1, -1, -1, 0, 0 },
};

/* compact payload sizes in bits, and the storage ToC of each */
static const struct {
	int	 bits;
	uint8_t	 toc;
} evs_compact[] = {
	{ 48, 0x0c }, { 56, 0x00 }, { 144, 0x01 }, { 160, 0x02 }, { 192, 0x03 },
	{ 264, 0x04 }, { 328, 0x05 }, { 488, 0x06 }, { 640, 0x07 }, { 960, 0x08 },
	{ 1280, 0x09 }, { 1920, 0x0a }, { 2560, 0x0b },
	/* AMR-WB IO: mode bit and Q bit set; 3 CMR bits before the speech */
	{ 136, 0x30 }, { 184, 0x31 }, { 256, 0x32 }, { 288, 0x33 }, { 320, 0x34 },
	{ 368, 0x35 }, { 400, 0x36 }, { 464, 0x37 }, { 480, 0x38 },
};

void
evs_header(uint8_t *out)
{
	memcpy(out, EVS_MAGIC, 12);
	out[12] = out[13] = out[14] = 0;
	out[15] = 1;		/* one channel */
}

int
evs_toc_bytes(uint8_t toc)
{
	int bits;

	if (toc & 0xc0)
		return -1;	/* H or F set: not a storage ToC */
	bits = evs_bits[(toc >> 5) & 1][toc & 0x0f];
	return bits < 0 ? -1 : (bits + 7) / 8;
}

/* A compact payload: one storage frame, or -1. */
static int
evs_compact_frame(const uint8_t *pl, size_t len, uint8_t *out, size_t cap, uint16_t *lens)
{
	size_t i, k, n;

	for (i = 0; i < sizeof(evs_compact) / sizeof(evs_compact[0]); i++) {
		if ((size_t)evs_compact[i].bits != len * 8)
			continue;
		n = (size_t)evs_toc_bytes(evs_compact[i].toc);
		if (cap < 1 + n)
			return -1;
		out[0] = evs_compact[i].toc;
		if (!(evs_compact[i].toc & 0x20)) {
			memcpy(out + 1, pl, n);		/* primary: the payload is the frame */
		} else {
			/* AMR-WB IO: drop the 3 CMR bits, the speech moves up */
			for (k = 0; k < n; k++)
				out[1 + k] = (uint8_t)(pl[k] << 3 | (k + 1 < len ? pl[k + 1] >> 5 : 0));
			n = (size_t)evs_bits[1][evs_compact[i].toc & 0x0f];
			if (n % 8 != 0)		/* padding bits are zero */
				out[n / 8 + 1] &= (uint8_t)(0xff << (8 - n % 8));
			n = (n + 7) / 8;
		}
		lens[0] = (uint16_t)(1 + n);
		return 1;
	}
	return 0;
}

int
evs_rtp_to_storage(const uint8_t *pl, size_t len, uint8_t *out, size_t cap, uint16_t *lens,
    int max)
{
	size_t off = 0, data, w = 0;
	int n = 0, k, got, more;

	if (len == 0 || max < 1)
		return -1;
	if ((got = evs_compact_frame(pl, len, out, cap, lens)) != 0)
		return got;
	/* header-full: a CMR byte maybe, then the ToCs */
	if (pl[0] & 0x80)
		off = 1;
	do {
		if (off >= len || n == max || n == EVS_FRAMES_MAX)
			return -1;
		more = (pl[off] & 0x40) != 0;
		if (evs_toc_bytes(pl[off] & 0x3f) < 0 || (pl[off] & 0x80))
			return -1;
		n++;
		off++;
	} while (more);
	data = off;
	for (k = 0; k < n; k++) {
		uint8_t toc = pl[off - (size_t)n + (size_t)k] & 0x3f;
		size_t b = (size_t)evs_toc_bytes(toc);

		if (data + b > len || w + 1 + b > cap)
			return -1;
		out[w] = toc;
		memcpy(out + w + 1, pl + data, b);
		lens[k] = (uint16_t)(1 + b);
		w += 1 + b;
		data += b;
	}
	return n;
}
