/*
 * amrtool.h — what amrtone and amrdepack share: the payload format named
 * on their command line ("AMR" or "AMR-WB", then "octet" or "be").
 */
#ifndef PARLEY_AMRTOOL_H
#define PARLEY_AMRTOOL_H

#include <string.h>

#include "mediad/codec.h"

/* fills *f from the two arguments; -1 if they name no AMR payload format */
static inline int
amrtool_fmt(const char *codec, const char *format, struct codec_fmt *f)
{
	memset(f, 0, sizeof(*f));
	f->id = codec_by_name(codec);
	f->pt = 96;
	if (f->id != CODEC_AMR && f->id != CODEC_AMR_WB)
		return -1;
	if (strcmp(format, "octet") == 0)
		f->octet_align = 1;
	else if (strcmp(format, "be") != 0)
		return -1;
	return 0;
}

#endif
