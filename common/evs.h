/*
 * evs.h — EVS (3GPP TS 26.445), which Parley does not decode but records
 * as it came: RTP payloads (Annex A.2.1 compact and A.2.2 header-full
 * formats) turned into the frames of the EVS MIME storage format (Annex
 * A.2.6), and that format's file header.  mediad converts, recd writes
 * and, after a restart, reads back how many frames a file holds.
 *
 * A storage frame is one ToC byte (H = 0, F = 0, the EVS mode bit, the Q
 * bit, the bit-rate index) followed by its speech bits, most significant
 * first, padded to whole bytes; 20 ms each.  A frame that never came is
 * a NO_DATA ToC with nothing after it.  No state, no allocation.
 */
#ifndef PARLEY_EVS_H
#define PARLEY_EVS_H

#include <stddef.h>
#include <stdint.h>

#define EVS_MAGIC		"#!EVS_MC1.0\n"
#define EVS_HEADER_LEN		16	/* the magic and a 32-bit channel field (1 channel) */
#define EVS_FRAME_MAX		(1 + 320)	/* ToC and 128 kbit/s of 20 ms */
#define EVS_FRAMES_MAX		16	/* frames in one RTP payload */
#define EVS_TOC_NO_DATA		0x0f
#define EVS_CLOCK		16000	/* the RTP clock of EVS, whatever its bandwidth */

/* The file header: EVS_HEADER_LEN bytes into out. */
void	 evs_header(uint8_t *out);
/* Bytes of speech data a storage ToC announces, or -1 for one that means nothing. */
int	 evs_toc_bytes(uint8_t toc);
/*
 * Splits an RTP payload into storage frames, written one after the other
 * into out (cap bytes), their lengths (ToC included) into lens (at most
 * max).  Returns the frame count, or -1 when the payload is neither a
 * compact size nor a well-formed header-full payload.
 */
int	 evs_rtp_to_storage(const uint8_t *pl, size_t len, uint8_t *out, size_t cap,
	    uint16_t *lens, int max);

#endif
