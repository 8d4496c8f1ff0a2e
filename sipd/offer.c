/*
 * offer.c — the SDP offer/answer of a room participant (RFC 3264): reads a
 * phone's offer, picks the audio codec by the server's priority
 * (media.codecs), and writes the answer that points the phone at mediad.
 *
 * The first audio m= line with plain RTP (RTP/AVP or RTP/AVPF) is the one
 * mixed; every other m= line (video, a second audio, SRTP) is declined
 * with port 0, as RFC 3264 6 asks.  A format is usable when its encoding
 * name is one of media.codecs that mediad can mix (PCMU, PCMA, AMR,
 * AMR-WB; EVS cannot be decoded) and, for AMR, its fmtp asks for nothing
 * mediad does not do (crc, robust-sorting, interleaving).  The answer keeps
 * the phone's payload type and echoes octet-align and mode-set as offered;
 * telephone-event at the codec's clock is accepted beside it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xmalloc.h"
#include "sipd.h"

/* the codecs mediad mixes, with their RTP clock */
static const struct {
	const char	*name;
	unsigned	 clock;
	int		 amr;
} offer_mixable[] = {
	{ "AMR-WB", 16000, 1 },
	{ "AMR", 8000, 1 },
	{ "PCMA", 8000, 0 },
	{ "PCMU", 8000, 0 },
};

/* Copies the line at p (up to CR/LF) into buf; returns the next line. */
static const char *
offer_line(const char *p, const char *end, char *buf, size_t len)
{
	size_t n = 0;

	while (p < end && *p != '\r' && *p != '\n') {
		if (n + 1 < len)
			buf[n++] = *p;
		p++;
	}
	buf[n] = '\0';
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	return p;
}

int
offer_fmtp_get(const char *fmtp, const char *key, char *val, size_t len)
{
	size_t kl = strlen(key);
	const char *p = fmtp;

	while (*p != '\0') {
		size_t n;

		while (*p == ' ' || *p == ';')
			p++;
		if (strncasecmp(p, key, kl) == 0 && p[kl] == '=') {
			p += kl + 1;
			for (n = 0; p[n] != '\0' && p[n] != ';' && p[n] != ' ' && n + 1 < len; n++)
				val[n] = p[n];
			val[n] = '\0';
			return 0;
		}
		while (*p != '\0' && *p != ';')
			p++;
	}
	return ENOENT;
}

/* "0,2,4,7" to a bit mask; 0 when malformed or out of range for the codec */
static unsigned
offer_mode_set(const char *s, int wideband)
{
	unsigned mask = 0, max = wideband ? 8 : 7;
	char *end;

	while (*s != '\0') {
		unsigned long m = strtoul(s, &end, 10);

		if (end == s || m > max)
			return 0;
		mask |= 1u << m;
		s = end;
		if (*s == ',')
			s++;
		else if (*s != '\0')
			return 0;
	}
	return mask;
}

int
offer_octet_align(const char *fmtp)
{
	char v[8];

	return offer_fmtp_get(fmtp, "octet-align", v, sizeof(v)) == 0 && strcmp(v, "1") == 0;
}

/* Can mediad take AMR with this fmtp?  Fills octet_align and mode_set. */
static int
offer_amr_ok(const char *fmtp, int wideband, struct room_offer *o)
{
	char v[64];

	o->octet_align = offer_octet_align(fmtp);
	if ((offer_fmtp_get(fmtp, "crc", v, sizeof(v)) == 0 && strcmp(v, "0") != 0) ||
	    (offer_fmtp_get(fmtp, "robust-sorting", v, sizeof(v)) == 0 && strcmp(v, "0") != 0) ||
	    (offer_fmtp_get(fmtp, "interleaving", v, sizeof(v)) == 0))
		return 0;
	o->mode_set = 0;
	o->has_mode_set = 0;
	if (offer_fmtp_get(fmtp, "mode-set", v, sizeof(v)) == 0) {
		if ((o->mode_set = offer_mode_set(v, wideband)) == 0)
			return 0;
		o->has_mode_set = 1;
		snprintf(o->mode_set_text, sizeof(o->mode_set_text), "%s", v);
	}
	return 1;
}

/* The codec of fmts[] that media.codecs puts first (prefer, if offered, wins). */
static int
offer_choose(struct room_offer *o, const struct offer_fmt *fmts, size_t nfmts,
    char *const *codecs, size_t ncodecs, const char *prefer)
{
	size_t c, f, k;
	int pass;

	for (pass = prefer != NULL ? 0 : 1; pass < 2; pass++) {
		for (c = 0; c < ncodecs; c++) {
			const char *want = pass == 0 ? prefer : codecs[c];

			for (k = 0; k < sizeof(offer_mixable) / sizeof(offer_mixable[0]); k++)
				if (strcasecmp(offer_mixable[k].name, want) == 0)
					break;
			if (k == sizeof(offer_mixable) / sizeof(offer_mixable[0]))
				continue;	/* EVS: relayed in calls, not mixed */
			for (f = 0; f < nfmts; f++) {
				if (strcasecmp(fmts[f].name, offer_mixable[k].name) != 0 ||
				    fmts[f].clock != offer_mixable[k].clock)
					continue;
				if (offer_mixable[k].amr &&
				    !offer_amr_ok(fmts[f].fmtp, offer_mixable[k].clock == 16000, o))
					continue;
				snprintf(o->codec, sizeof(o->codec), "%s", offer_mixable[k].name);
				o->pt = fmts[f].pt;
				o->clock = fmts[f].clock;
				if (!offer_mixable[k].amr) {
					o->octet_align = 0;
					o->mode_set = 0;
					o->has_mode_set = 0;
				}
				return 0;
			}
			if (pass == 0)
				break;
		}
	}
	return ENOTSUP;
}

size_t
offer_fmts_init(const char *fmtlist, struct offer_fmt *fmts, size_t max)
{
	size_t n = 0;
	const char *p = fmtlist;
	char *end;

	while (*p != '\0' && n < max) {
		unsigned long pt = strtoul(p, &end, 10);

		if (end == p)
			break;
		if (pt < 128) {
			memset(&fmts[n], 0, sizeof(fmts[n]));
			fmts[n].pt = (unsigned)pt;
			/* static payload types need no rtpmap (RFC 3551) */
			if (pt == 0 || pt == 8) {
				snprintf(fmts[n].name, sizeof(fmts[n].name), "%s", pt ? "PCMA" : "PCMU");
				fmts[n].clock = 8000;
			}
			n++;
		}
		p = end;
		while (*p == ' ')
			p++;
	}
	return n;
}

static struct offer_fmt *
offer_fmt_find(struct offer_fmt *fmts, size_t n, unsigned pt)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fmts[i].pt == pt)
			return &fmts[i];
	return NULL;
}

int
offer_fmt_attr(const char *line, struct offer_fmt *fmts, size_t n)
{
	struct offer_fmt *f;
	unsigned pt, clock;
	char name[32];
	int off = 0;

	if (strncmp(line, "a=rtpmap:", 9) == 0) {
		if (sscanf(line + 9, "%u %31[^/]/%u", &pt, name, &clock) != 3 ||
		    (f = offer_fmt_find(fmts, n, pt)) == NULL)
			return 0;
		snprintf(f->name, sizeof(f->name), "%s", name);
		f->clock = clock;
		return 1;
	}
	if (strncmp(line, "a=fmtp:", 7) == 0) {
		if (sscanf(line + 7, "%u %n", &pt, &off) != 1 || off == 0 ||
		    (f = offer_fmt_find(fmts, n, pt)) == NULL)
			return 0;
		snprintf(f->fmtp, sizeof(f->fmtp), "%s", line + 7 + off);
		return 1;
	}
	return 0;
}

int
offer_parse(const char *body, size_t len, char *const *codecs, size_t ncodecs,
    const char *prefer, struct room_offer *o)
{
	const char *p = body, *end = body + len;
	char line[1024], sess_addr[64] = "", maddr[64] = "";
	struct offer_fmt fmts[PROTO_FORMATS_MAX];
	size_t nfmts = 0;
	int cur = -1, audio = -1, have_tel = -1, sess_dir = PROTO_DIR_SENDRECV;
	int mdir = -1, rtcp = 0, ip6 = 0, sess_ip6 = 0, i;

	memset(o, 0, sizeof(*o));
	o->audio = -1;
	o->dtmf_pt = -1;
	if (len < 4 || strncmp(body, "v=0", 3) != 0)
		return EBADMSG;
	while (p < end) {
		p = offer_line(p, end, line, sizeof(line));
		if (line[0] == '\0' || line[1] != '=')
			continue;
		if (line[0] == 'm') {
			struct offer_m *m;
			char media[16], proto[32];
			unsigned port;
			int off = 0;

			if (o->n == PROTO_STREAMS_MAX)
				return EBADMSG;
			if (sscanf(line + 2, "%15s %u %31s %n", media, &port, proto, &off) < 3 ||
			    off == 0 || port > 65535)
				return EBADMSG;
			m = &o->m[o->n];
			snprintf(m->media, sizeof(m->media), "%s", media);
			snprintf(m->proto, sizeof(m->proto), "%s", proto);
			snprintf(m->fmts, sizeof(m->fmts), "%s", line + 2 + off);
			cur = o->n++;
			if (audio < 0 && strcmp(media, "audio") == 0 && port != 0 &&
			    (strcmp(proto, "RTP/AVP") == 0 || strcmp(proto, "RTP/AVPF") == 0)) {
				audio = cur;
				o->port = port;
				nfmts = offer_fmts_init(m->fmts, fmts, sizeof(fmts) / sizeof(fmts[0]));
			}
			continue;
		}
		if (line[0] == 'c') {
			char net[8], type[8], addr[64];

			if (sscanf(line + 2, "%7s %7s %63s", net, type, addr) != 3 ||
			    strcmp(net, "IN") != 0)
				return EBADMSG;
			if (cur < 0) {
				snprintf(sess_addr, sizeof(sess_addr), "%s", addr);
				sess_ip6 = strcmp(type, "IP6") == 0;
			} else if (cur == audio) {
				snprintf(maddr, sizeof(maddr), "%s", addr);
				ip6 = strcmp(type, "IP6") == 0;
			}
			continue;
		}
		if (line[0] != 'a')
			continue;
		{
			int dir = strcmp(line, "a=sendrecv") == 0 ? PROTO_DIR_SENDRECV :
			    strcmp(line, "a=sendonly") == 0 ? PROTO_DIR_SENDONLY :
			    strcmp(line, "a=recvonly") == 0 ? PROTO_DIR_RECVONLY :
			    strcmp(line, "a=inactive") == 0 ? PROTO_DIR_INACTIVE : -1;

			if (dir >= 0) {
				if (cur < 0)
					sess_dir = dir;
				else if (cur == audio)
					mdir = dir;
				continue;
			}
		}
		if (cur != audio || audio < 0)
			continue;
		if (strncmp(line, "a=rtcp:", 7) == 0)
			rtcp = atoi(line + 7);
		else
			(void)offer_fmt_attr(line, fmts, nfmts);
	}
	if (o->n == 0)
		return EBADMSG;
	if (audio < 0)
		return ENOENT;
	o->audio = audio;
	if (maddr[0] != '\0')
		snprintf(o->addr, sizeof(o->addr), "%s", maddr);
	else if (sess_addr[0] != '\0') {
		snprintf(o->addr, sizeof(o->addr), "%s", sess_addr);
		ip6 = sess_ip6;
	} else
		return EBADMSG;
	o->ip6 = ip6;
	o->rtcp_port = rtcp > 0 && rtcp <= 65535 ? (unsigned)rtcp : o->port + 1;
	o->dir = mdir >= 0 ? mdir : sess_dir;
	if (offer_choose(o, fmts, nfmts, codecs, ncodecs, prefer) != 0)
		return ENOTSUP;
	for (i = 0; i < (int)nfmts; i++)
		if (strcasecmp(fmts[i].name, "telephone-event") == 0 && fmts[i].clock == o->clock) {
			have_tel = (int)fmts[i].pt;
			break;
		}
	o->dtmf_pt = have_tel;
	return 0;
}

/* a=sendonly in the offer is answered recvonly, and so on (RFC 3264 6.1) */
static const char *
offer_answer_dir(int dir)
{
	switch (dir) {
	case PROTO_DIR_SENDONLY:
		return "recvonly";
	case PROTO_DIR_RECVONLY:
		return "sendonly";
	case PROTO_DIR_INACTIVE:
		return "inactive";
	default:
		return "sendrecv";
	}
}

char *
offer_answer(const struct room_offer *o, const char *addr, unsigned port, uint64_t sess_id,
    unsigned version, size_t *lenp)
{
	const char *ipv = strchr(addr, ':') != NULL ? "IP6" : "IP4";
	char *out = NULL, *old;
	int i;

	xasprintf(&out, "v=0\r\no=parley %llu %u IN %s %s\r\ns=parley\r\nc=IN %s %s\r\nt=0 0\r\n",
	    (unsigned long long)sess_id, version, ipv, addr, ipv, addr);
	for (i = 0; i < o->n; i++) {
		const struct offer_m *m = &o->m[i];

		old = out;
		if (i != o->audio) {
			/* declined: port 0, the offered formats kept (RFC 3264 6) */
			xasprintf(&out, "%sm=%s 0 %s %s\r\n", old, m->media, m->proto, m->fmts);
			free(old);
			continue;
		}
		if (o->dtmf_pt >= 0)
			xasprintf(&out, "%sm=audio %u %s %u %d\r\n", old, port, m->proto, o->pt,
			    o->dtmf_pt);
		else
			xasprintf(&out, "%sm=audio %u %s %u\r\n", old, port, m->proto, o->pt);
		free(old);
		old = out;
		if (strncmp(o->codec, "AMR", 3) == 0) {
			char fmtp[128] = "";

			if (o->octet_align)
				snprintf(fmtp, sizeof(fmtp), "octet-align=1");
			if (o->has_mode_set)
				snprintf(fmtp + strlen(fmtp), sizeof(fmtp) - strlen(fmtp),
				    "%smode-set=%s", fmtp[0] ? ";" : "", o->mode_set_text);
			if (fmtp[0])
				xasprintf(&out, "%sa=rtpmap:%u %s/%u/1\r\na=fmtp:%u %s\r\n", old, o->pt,
				    o->codec, o->clock, o->pt, fmtp);
			else
				xasprintf(&out, "%sa=rtpmap:%u %s/%u/1\r\n", old, o->pt, o->codec,
				    o->clock);
		} else
			xasprintf(&out, "%sa=rtpmap:%u %s/%u\r\n", old, o->pt, o->codec, o->clock);
		free(old);
		old = out;
		if (o->dtmf_pt >= 0) {
			xasprintf(&out, "%sa=rtpmap:%d telephone-event/%u\r\na=fmtp:%d 0-15\r\n", old,
			    o->dtmf_pt, o->clock, o->dtmf_pt);
			free(old);
			old = out;
		}
		xasprintf(&out, "%sa=ptime:20\r\na=rtcp:%u\r\na=%s\r\n", old, port + 1,
		    offer_answer_dir(o->dir));
		free(old);
	}
	*lenp = strlen(out);
	return out;
}
