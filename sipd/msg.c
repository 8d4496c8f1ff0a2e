/*
 * msg.c — libosip2 glue: every framed message enters sipd here.  It is
 * parsed, checked for the headers RFC 3261 requires (8.1.1, 8.2.2), given
 * rport/received on its top Via (RFC 3581), and passed to the transaction
 * layer.  A malformed request whose Via can be answered gets a 400 naming
 * what is wrong; anything else malformed is dropped and counted.
 *
 * Also: building responses from a request, reason phrases (with the
 * operator's sip.reason_phrases), serializing, small header accessors.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <osipparser2/osip_md5.h>
#include <osipparser2/osip_port.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "sipd.h"

/* ------------------------------------------------------------ small helpers */

const char *
msg_reason(struct sipd *sd, int status, const char *fallback)
{
	const char *r = conf_reason_phrase(sd->conf, status);

	if (r != NULL)
		return r;
	if (fallback != NULL)
		return fallback;
	r = osip_message_get_reason(status);
	if (r != NULL)
		return r;
	switch (status / 100) {
	case 1: return "Trying";
	case 2: return "OK";
	case 3: return "Redirect";
	case 4: return "Client Error";
	case 5: return "Server Error";
	default: return "Global Failure";
	}
}

int
msg_to_str(osip_message_t *m, char **buf, size_t *len)
{
	osip_message_force_update(m);
	if (osip_message_to_str(m, buf, len) != 0 || *buf == NULL)
		return EINVAL;
	return 0;
}

const char *
msg_header(const osip_message_t *m, const char *name)
{
	osip_header_t *h = NULL;

	if (osip_message_header_get_byname(m, name, 0, &h) < 0 || h == NULL)
		return NULL;
	return h->hvalue;
}

static const char *
msg_tag_of(osip_from_t *f)
{
	osip_generic_param_t *p = NULL;

	if (f == NULL || osip_from_param_get_byname(f, "tag", &p) != 0 || p == NULL)
		return NULL;
	return p->gvalue;
}

const char *
msg_from_tag(const osip_message_t *m)
{
	return msg_tag_of(m->from);
}

const char *
msg_to_tag(const osip_message_t *m)
{
	return msg_tag_of(m->to);
}

char *
msg_uri_str(const osip_uri_t *u)
{
	char *s = NULL, *r;

	if (u == NULL || osip_uri_to_str(u, &s) != 0 || s == NULL)
		return xstrdup("");
	r = xstrdup(s);
	osip_free(s);
	return r;
}

int
msg_cseq_num(const osip_message_t *m)
{
	if (m->cseq == NULL || m->cseq->number == NULL)
		return -1;
	return atoi(m->cseq->number);
}

/* xorshift128+, seeded from getrandom: tags and branches need uniqueness, not secrecy */
static uint64_t msg_rng[2];

static uint64_t
msg_rand64(void)
{
	uint64_t s1 = msg_rng[0];
	const uint64_t s0 = msg_rng[1];

	if (msg_rng[0] == 0 && msg_rng[1] == 0) {
		if (getrandom(msg_rng, sizeof(msg_rng), 0) != sizeof(msg_rng))
			msg_rng[0] = (uint64_t)clock_mono_ms() | 1;
		return msg_rand64();
	}
	msg_rng[0] = s0;
	s1 ^= s1 << 23;
	msg_rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
	return msg_rng[1] + s0;
}

void
msg_random_token(char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;

	while (i + 1 < len) {
		uint64_t r = msg_rand64();
		int k;

		for (k = 0; k < 16 && i + 1 < len; k++, r >>= 4)
			buf[i++] = hex[r & 15];
	}
	if (len > 0)
		buf[i] = '\0';
}

/* ------------------------------------------------------------ branches
 *
 * Our Via branches are "z9hG4bK" + 16 random hex + 8 hex of MD5(secret,
 * those 16), optionally followed by ".<loop tag>".  A response whose top
 * Via names us but whose branch does not verify was not caused by us: it
 * is dropped instead of being forwarded to the next Via, so sipd cannot be
 * used to reflect forged responses at a third party.
 */
static unsigned char msg_branch_secret[16];
static int msg_branch_keyed;

static void
msg_branch_mac(const char *token, char out[9])
{
	static const char hex[] = "0123456789abcdef";
	osip_MD5_CTX c;
	unsigned char d[16];
	int i;

	if (!msg_branch_keyed) {
		if (getrandom(msg_branch_secret, sizeof(msg_branch_secret), 0) !=
		    (ssize_t)sizeof(msg_branch_secret))
			fatalx("msg: no randomness for the branch key");
		msg_branch_keyed = 1;
	}
	osip_MD5Init(&c);
	osip_MD5Update(&c, msg_branch_secret, sizeof(msg_branch_secret));
	/* osip_MD5Update takes a non-const pointer but does not write */
	osip_MD5Update(&c, (unsigned char *)(uintptr_t)token, 16);
	osip_MD5Final(d, &c);
	for (i = 0; i < 4; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[8] = '\0';
}

void
msg_branch_make(char *buf, size_t len)
{
	char token[17], mac[9];

	msg_random_token(token, sizeof(token));
	msg_branch_mac(token, mac);
	snprintf(buf, len, "z9hG4bK%s%s", token, mac);
}

int
msg_branch_ours(const char *branch)
{
	char mac[9];

	if (branch == NULL || strncmp(branch, "z9hG4bK", 7) != 0 || strlen(branch) < 7 + 24 ||
	    (branch[7 + 24] != '\0' && branch[7 + 24] != '.'))
		return 0;
	msg_branch_mac(branch + 7, mac);
	return memcmp(mac, branch + 7 + 16, 8) == 0;
}

/* ------------------------------------------------------------ responses */

osip_message_t *
msg_make_response(struct sipd *sd, const osip_message_t *req, int status, const char *reason)
{
	osip_message_t *r;
	char tag[17];
	int pos;

	if (osip_message_init(&r) != 0)
		fatalx("msg: osip_message_init");
	osip_message_set_version(r, osip_strdup("SIP/2.0"));
	osip_message_set_status_code(r, status);
	osip_message_set_reason_phrase(r, osip_strdup(msg_reason(sd, status, reason)));
	for (pos = 0; pos < osip_list_size(&req->vias); pos++) {
		osip_via_t *v = osip_list_get(&req->vias, pos), *c = NULL;

		if (osip_via_clone(v, &c) == 0)
			osip_list_add(&r->vias, c, -1);
	}
	if (req->from != NULL)
		osip_from_clone(req->from, &r->from);
	if (req->to != NULL) {
		osip_to_clone(req->to, &r->to);
		if (status > 100 && msg_tag_of(r->to) == NULL) {
			msg_random_token(tag, sizeof(tag));
			osip_to_set_tag(r->to, osip_strdup(tag));
		}
	}
	if (req->call_id != NULL)
		osip_call_id_clone(req->call_id, &r->call_id);
	if (req->cseq != NULL)
		osip_cseq_clone(req->cseq, &r->cseq);
	osip_message_set_header(r, "Server", sd->server_name);
	osip_message_set_content_length(r, "0");
	return r;
}

/* ------------------------------------------------------------ raw text
 *
 * Responses sipd makes itself are built from the request's text, not by
 * cloning libosip2 structures: Via, From, To, Call-ID and CSeq are copied
 * verbatim (RFC 3261 8.2.6.2), the top Via gets received/rport.  This is
 * also how a request that libosip2 cannot parse still gets its 400.
 */

struct msg_raw {
	const char	*via[32];
	size_t		 vialen[32];
	int		 nvia;
	const char	*from, *to, *callid, *cseq, *clen;
	size_t		 fromlen, tolen, callidlen, cseqlen, clenlen;
	size_t		 hdrend;	/* offset of the body */
	const char	*why;		/* first problem seen, or NULL */
};

static int
msg_name_is(const char *n, size_t nlen, const char *full, const char *compact)
{
	return (strlen(full) == nlen && strncasecmp(n, full, nlen) == 0) ||
	    (compact != NULL && nlen == 1 && (n[0] | 0x20) == compact[0]);
}

/* Finds the header lines we copy.  0, or EINVAL when there is no header block. */
static int
msg_raw_scan(const char *buf, size_t len, struct msg_raw *r)
{
	const char *p = buf, *end = buf + len, *eol;

	memset(r, 0, sizeof(*r));
	if ((eol = memchr(p, '\n', len)) == NULL)
		return EINVAL;
	p = eol + 1;	/* past the start line */
	while (p < end) {
		const char *h = p, *colon;
		size_t hlen, nlen;

		if (*p == '\r' || *p == '\n') {	/* the empty line */
			p += (*p == '\r' && p + 1 < end && p[1] == '\n') ? 2 : 1;
			r->hdrend = (size_t)(p - buf);
			return 0;
		}
		/* a header and its continuation lines */
		for (;;) {
			eol = memchr(p, '\n', (size_t)(end - p));
			if (eol == NULL) {
				p = end;
				break;
			}
			p = eol + 1;
			if (p >= end || (*p != ' ' && *p != '\t'))
				break;
		}
		hlen = (size_t)(p - h);
		while (hlen > 0 && (h[hlen - 1] == '\n' || h[hlen - 1] == '\r'))
			hlen--;
		colon = memchr(h, ':', hlen);
		if (colon == NULL) {
			if (r->why == NULL)
				r->why = "Header line without a colon";
			continue;
		}
		nlen = (size_t)(colon - h);
		while (nlen > 0 && (h[nlen - 1] == ' ' || h[nlen - 1] == '\t'))
			nlen--;
		if (msg_name_is(h, nlen, "via", "v")) {
			if (r->nvia < 32) {
				r->via[r->nvia] = h;
				r->vialen[r->nvia++] = hlen;
			}
		} else if (r->from == NULL && msg_name_is(h, nlen, "from", "f")) {
			r->from = h;
			r->fromlen = hlen;
		} else if (r->to == NULL && msg_name_is(h, nlen, "to", "t")) {
			r->to = h;
			r->tolen = hlen;
		} else if (r->callid == NULL && msg_name_is(h, nlen, "call-id", "i")) {
			r->callid = h;
			r->callidlen = hlen;
		} else if (r->cseq == NULL && msg_name_is(h, nlen, "cseq", NULL)) {
			r->cseq = h;
			r->cseqlen = hlen;
		} else if (r->clen == NULL && msg_name_is(h, nlen, "content-length", "l")) {
			r->clen = colon + 1;
			r->clenlen = hlen - (size_t)(colon + 1 - h);
		}
	}
	return EINVAL;	/* no empty line: not a whole message */
}

struct msg_out {
	char	*b;
	size_t	 len, cap;
};

static void
msg_put(struct msg_out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->b = xrealloc(o->b, o->cap);
	}
	memcpy(o->b + o->len, s, n);
	o->len += n;
	o->b[o->len] = '\0';
}

static void
msg_puts(struct msg_out *o, const char *s)
{
	msg_put(o, s, strlen(s));
}

/* The top Via, with rport filled and received added (RFC 3581, 3261 18.2.1). */
static void
msg_put_top_via(struct msg_out *o, const char *h, size_t hlen, const struct tp_source *src)
{
	const char *v = memchr(h, ':', hlen) + 1, *end = h + hlen, *vend, *p, *host;
	char ip[64], port[16], *first;
	size_t hostlen;
	int quoted = 0;

	tp_addr_host(&src->peer, ip, sizeof(ip));
	snprintf(port, sizeof(port), "%d", tp_addr_port(&src->peer));
	for (vend = v; vend < end; vend++) {	/* the end of the first value */
		if (*vend == '"')
			quoted = !quoted;
		else if (*vend == ',' && !quoted)
			break;
	}
	while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
		vend--;
	/* sent-by host: after "SIP/2.0/UDP" */
	for (p = v; p < vend && (*p == ' ' || *p == '\t'); p++)
		;
	while (p < vend && *p != ' ' && *p != '\t')
		p++;
	while (p < vend && (*p == ' ' || *p == '\t'))
		p++;
	host = p;
	if (p < vend && *p == '[') {
		while (p < vend && *p != ']')
			p++;
		host++;
	} else
		while (p < vend && *p != ':' && *p != ';' && *p != ' ')
			p++;
	hostlen = (size_t)(p - host);

	for (p = v; p < vend; ) {
		const char *semi = memchr(p, ';', (size_t)(vend - p));

		if (semi == NULL)
			break;
		if ((size_t)(vend - semi) >= 6 && strncasecmp(semi, ";rport", 6) == 0 &&
		    (semi + 6 == vend || semi[6] == ';' || semi[6] == ' ')) {
			msg_put(o, h, (size_t)(semi + 6 - h));
			msg_puts(o, "=");
			msg_puts(o, port);
			h = semi + 6;
			hlen = (size_t)(end - h);
			break;
		}
		p = semi + 1;
	}
	msg_put(o, h, (size_t)(vend - h));
	first = xstrndup(v, (size_t)(vend - v));
	if ((hostlen != strlen(ip) || strncmp(host, ip, hostlen) != 0) &&
	    strcasestr(first, ";received=") == NULL) {
		msg_puts(o, ";received=");
		msg_puts(o, ip);
	}
	free(first);
	msg_put(o, vend, (size_t)(end - vend));
	msg_puts(o, "\r\n");
}

int
msg_response_raw(struct sipd *sd, const char *raw, size_t len, const struct tp_source *src,
    int status, const char *reason, const char *hdrs, char **out, size_t *outlen)
{
	struct msg_raw r;
	struct msg_out o = { NULL, 0, 0 };
	char line[64];
	int i;

	if (msg_raw_scan(raw, len, &r) != 0 && r.hdrend == 0 && r.nvia == 0)
		return EINVAL;
	if (r.nvia == 0)
		return EINVAL;	/* no way back */
	o.cap = len + 256 + (hdrs ? strlen(hdrs) : 0);
	o.b = xmalloc(o.cap);
	snprintf(line, sizeof(line), "SIP/2.0 %d ", status);
	msg_puts(&o, line);
	msg_puts(&o, msg_reason(sd, status, reason));
	msg_puts(&o, "\r\n");
	msg_put_top_via(&o, r.via[0], r.vialen[0], src);
	for (i = 1; i < r.nvia; i++) {
		msg_put(&o, r.via[i], r.vialen[i]);
		msg_puts(&o, "\r\n");
	}
	/* a malformed request may lack some; answer with what it has */
	if (r.from != NULL) {
		msg_put(&o, r.from, r.fromlen);
		msg_puts(&o, "\r\n");
	}
	if (r.to != NULL) {
		msg_put(&o, r.to, r.tolen);
	}
	if (r.to != NULL && status > 100) {
		char *to = xstrndup(r.to, r.tolen);

		if (strcasestr(to, ";tag=") == NULL) {
			char tag[17];

			msg_random_token(tag, sizeof(tag));
			msg_puts(&o, ";tag=");
			msg_puts(&o, tag);
		}
		free(to);
	}
	if (r.to != NULL)
		msg_puts(&o, "\r\n");
	if (r.callid != NULL) {
		msg_put(&o, r.callid, r.callidlen);
		msg_puts(&o, "\r\n");
	}
	if (r.cseq != NULL) {
		msg_put(&o, r.cseq, r.cseqlen);
		msg_puts(&o, "\r\n");
	}
	if (hdrs != NULL)
		msg_puts(&o, hdrs);
	msg_puts(&o, "Server: ");
	msg_puts(&o, sd->server_name);
	msg_puts(&o, "\r\nContent-Length: 0\r\n\r\n");
	*out = o.b;
	*outlen = o.len;
	return 0;
}

/* Answers a request straight from its text, with no transaction. */
static void
msg_reject_raw(struct sipd *sd, const char *raw, size_t len, const struct tp_source *src,
    int status, const char *why)
{
	char *out;
	size_t outlen;

	sd->stats.bad++;
	if (len >= 4 && strncmp(raw, "ACK ", 4) == 0)
		return;
	if (msg_response_raw(sd, raw, len, src, status, why, NULL, &out, &outlen) != 0) {
		sd->stats.dropped++;
		return;
	}
	tp_send(sd, src, out, outlen);
	free(out);
}

/* ------------------------------------------------------------ checks */

static int
msg_is_digits(const char *s, size_t maxlen)
{
	size_t n = 0;

	if (s == NULL || *s == '\0')
		return 0;
	for (; *s; s++, n++)
		if (*s < '0' || *s > '9' || n >= maxlen)
			return 0;
	return 1;
}

static int
msg_is_token(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || strchr("-.!%*_+`'~", *s) != NULL))
			return 0;
	return 1;
}

/* A host as RFC 3261 25.1 allows: a name, IPv4 or IPv6 (brackets optional). */
static int
msg_host_ok(const char *h)
{
	if (h == NULL || *h == '\0')
		return 0;
	for (; *h; h++)
		if (!((*h >= 'A' && *h <= 'Z') || (*h >= 'a' && *h <= 'z') ||
		    (*h >= '0' && *h <= '9') || strchr(".-_:[]", *h) != NULL))
			return 0;
	return 1;
}

/*
 * The reason a message cannot be processed, or NULL.  *status is the
 * response to send for a request (400, 416 or 505).
 */
static const char *
msg_check(const osip_message_t *m, int *status)
{
	osip_via_t *via;
	const char *mf;

	*status = 400;
	if (osip_list_size(&m->vias) == 0)
		return "Missing Via";
	via = osip_list_get(&m->vias, 0);
	if (via == NULL || via->host == NULL || via->host[0] == '\0' || via->protocol == NULL)
		return "Bad Via";
	if (via->port != NULL && (!msg_is_digits(via->port, 5) || atoi(via->port) > 65535 ||
	    atoi(via->port) == 0))
		return "Bad Via port";
	if (m->from == NULL || m->from->url == NULL || !msg_host_ok(m->from->url->host))
		return "Missing or bad From";
	if (m->to == NULL || m->to->url == NULL || !msg_host_ok(m->to->url->host))
		return "Missing or bad To";
	if (m->call_id == NULL || m->call_id->number == NULL || m->call_id->number[0] == '\0')
		return "Missing Call-ID";
	if (m->cseq == NULL || m->cseq->method == NULL || m->cseq->number == NULL)
		return "Missing or bad CSeq";
	if (!msg_is_digits(m->cseq->number, 10) || strtoul(m->cseq->number, NULL, 10) > 2147483647UL)
		return "Bad CSeq number";
	if (MSG_IS_REQUEST(m)) {
		if (m->sip_version == NULL || strcasecmp(m->sip_version, "SIP/2.0") != 0) {
			*status = 505;
			return "SIP version not supported";
		}
		if (!msg_is_token(m->sip_method))
			return "Bad method";
		if (m->req_uri == NULL || m->req_uri->scheme == NULL)
			return "Bad Request-URI";
		if (strcasecmp(m->req_uri->scheme, "sip") != 0 &&
		    strcasecmp(m->req_uri->scheme, "sips") != 0) {
			*status = 416;
			return "Unsupported URI scheme";
		}
		if (!msg_host_ok(m->req_uri->host))
			return "Bad Request-URI";
		if (strcmp(m->cseq->method, m->sip_method) != 0)
			return "CSeq method does not match the request";
		mf = msg_header(m, "max-forwards");
		if (mf != NULL && (!msg_is_digits(mf, 3) || atoi(mf) > 255))
			return "Bad Max-Forwards";
	} else {
		if (m->status_code < 100 || m->status_code > 699)
			return "Bad status code";
	}
	return NULL;
}

/*
 * libosip2 splits a Call-ID at '@' into number and host; sipd treats the
 * Call-ID as one opaque string (RFC 3261 8.1.1.4), so it is joined back
 * into number.  Serializing gives the same text.
 */
static void
msg_join_call_id(osip_message_t *m)
{
	char *full;
	size_t a, b;

	if (m->call_id->host == NULL)
		return;
	a = strlen(m->call_id->number);
	b = strlen(m->call_id->host);
	full = osip_malloc(a + b + 2);
	memcpy(full, m->call_id->number, a);
	full[a] = '@';
	memcpy(full + a + 1, m->call_id->host, b + 1);
	osip_free(m->call_id->number);
	osip_free(m->call_id->host);
	m->call_id->number = full;
	m->call_id->host = NULL;
}

/* RFC 3581 / RFC 3261 18.2.1: note where the request really came from. */
static void
msg_fix_via(osip_message_t *m, const struct tp_source *src)
{
	osip_via_t *via = osip_list_get(&m->vias, 0);
	osip_generic_param_t *rport = NULL;
	char host[64], port[8];

	tp_addr_host(&src->peer, host, sizeof(host));
	if (strcmp(via->host, host) != 0) {
		osip_generic_param_t *rec = NULL;

		if (osip_via_param_get_byname(via, "received", &rec) == 0 && rec != NULL) {
			osip_free(rec->gvalue);
			rec->gvalue = osip_strdup(host);
		} else
			osip_via_set_received(via, osip_strdup(host));
	}
	if (osip_via_param_get_byname(via, "rport", &rport) == 0 && rport != NULL) {
		snprintf(port, sizeof(port), "%d", tp_addr_port(&src->peer));
		osip_free(rport->gvalue);
		rport->gvalue = osip_strdup(port);
	}
}

void
msg_received(struct sipd *sd, const char *buf, size_t len, const struct tp_source *src)
{
	osip_message_t *m = NULL;
	struct msg_raw raw;
	const char *why;
	int status, is_request;
	size_t i;

	sd->stats.rx++;
	/* UDP keep-alives (CRLF) and empty datagrams carry nothing */
	for (i = 0; i < len && (buf[i] == '\r' || buf[i] == '\n' || buf[i] == ' '); i++)
		;
	if (i == len)
		return;
	buf += i;
	len -= i;
	is_request = len >= 4 && strncmp(buf, "SIP/", 4) != 0;
	if (len < 12 || memchr(buf, '\0', len) != NULL) {
		sd->stats.dropped++;
		return;
	}
	if (msg_raw_scan(buf, len, &raw) != 0) {
		if (is_request)
			msg_reject_raw(sd, buf, len, src, 400, "Incomplete message");
		else
			sd->stats.dropped++;
		return;
	}
	if (raw.clen != NULL) {
		/* RFC 3261 18.3: the body is Content-Length bytes, no more, no less */
		const char *v = raw.clen;
		size_t vl = raw.clenlen, k;
		unsigned long cl = 0;

		while (vl > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vl--;
		}
		while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			vl--;
		for (k = 0; k < vl && v[k] >= '0' && v[k] <= '9' && k < 9; k++)
			cl = cl * 10 + (unsigned long)(v[k] - '0');
		if (vl == 0 || k != vl) {
			if (is_request)
				msg_reject_raw(sd, buf, len, src, 400, "Bad Content-Length");
			else
				sd->stats.dropped++;
			return;
		}
		if (cl > len - raw.hdrend) {
			if (is_request)
				msg_reject_raw(sd, buf, len, src, 400, "Content-Length larger than the body");
			else
				sd->stats.dropped++;
			return;
		}
		len = raw.hdrend + cl;	/* anything after the body is not ours */
	}
	if (raw.why != NULL) {
		if (is_request)
			msg_reject_raw(sd, buf, len, src, 400, raw.why);
		else
			sd->stats.dropped++;
		return;
	}
	if (osip_message_init(&m) != 0)
		fatalx("msg: osip_message_init");
	if (osip_message_parse(m, buf, len) != 0 ||
	    (m->sip_method == NULL && m->status_code == 0)) {
		char peer[80];

		log_debug("msg: unparseable message from %s",
		    tp_source_str(src, peer, sizeof(peer)));
		osip_message_free(m);
		if (is_request)
			msg_reject_raw(sd, buf, len, src, 400, "Malformed message");
		else
			sd->stats.dropped++;
		return;
	}
	if ((why = msg_check(m, &status)) != NULL) {
		char peer[80];

		log_info("msg: bad %s from %s: %s", MSG_IS_REQUEST(m) ? "request" : "response",
		    tp_source_str(src, peer, sizeof(peer)), why);
		if (MSG_IS_REQUEST(m))
			msg_reject_raw(sd, buf, len, src, status, why);
		else
			sd->stats.dropped++;
		osip_message_free(m);
		return;
	}
	msg_join_call_id(m);
	if (MSG_IS_REQUEST(m)) {
		msg_fix_via(m, src);
		txn_request(sd, m, src, buf, len);
	} else
		txn_response(sd, m, src);
}
