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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

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

/* Answers a bad request directly (no transaction: it would not match one). */
static void
msg_reject(struct sipd *sd, osip_message_t *req, const struct tp_source *src, int status,
    const char *why)
{
	osip_message_t *r;
	char *buf;
	size_t len;

	sd->stats.bad++;
	if (req->sip_method != NULL && strcmp(req->sip_method, "ACK") == 0)
		return;
	if (osip_list_size(&req->vias) == 0)
		return;	/* no way back */
	r = msg_make_response(sd, req, status, status == 400 ? why : NULL);
	if (status != 400 && why != NULL)
		osip_message_set_header(r, "Warning", why);
	if (msg_to_str(r, &buf, &len) == 0) {
		tp_send(sd, src, buf, len);
		osip_free(buf);
	}
	osip_message_free(r);
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
	if (m->from == NULL || m->from->url == NULL)
		return "Missing or bad From";
	if (m->to == NULL || m->to->url == NULL)
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
		if (m->req_uri->host == NULL || m->req_uri->host[0] == '\0')
			return "Bad Request-URI";
		if (strcmp(m->cseq->method, m->sip_method) != 0)
			return "CSeq method does not match the request";
		mf = msg_header(m, "max-forwards");
		if (mf != NULL && (!msg_is_digits(mf, 3) || atoi(mf) > 255))
			return "Bad Max-Forwards";
		if (m->from->url->host == NULL || m->to->url->host == NULL)
			return "Bad From or To URI";
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
	const char *why;
	int status;
	size_t i;

	sd->stats.rx++;
	/* UDP keep-alives (CRLF) and empty datagrams carry nothing */
	for (i = 0; i < len && (buf[i] == '\r' || buf[i] == '\n' || buf[i] == ' '); i++)
		;
	if (i == len)
		return;
	if (len - i < 12 || memchr(buf + i, '\0', len - i) != NULL) {
		sd->stats.dropped++;
		return;
	}
	if (osip_message_init(&m) != 0)
		fatalx("msg: osip_message_init");
	if (osip_message_parse(m, buf + i, len - i) != 0 ||
	    (m->sip_method == NULL && m->status_code == 0)) {
		char peer[80];

		log_debug("msg: unparseable message from %s dropped",
		    tp_source_str(src, peer, sizeof(peer)));
		sd->stats.dropped++;
		osip_message_free(m);
		return;
	}
	if ((why = msg_check(m, &status)) != NULL) {
		char peer[80];

		log_info("msg: bad %s from %s: %s", MSG_IS_REQUEST(m) ? "request" : "response",
		    tp_source_str(src, peer, sizeof(peer)), why);
		if (MSG_IS_REQUEST(m))
			msg_reject(sd, m, src, status, why);
		else
			sd->stats.dropped++;
		osip_message_free(m);
		return;
	}
	msg_join_call_id(m);
	if (MSG_IS_REQUEST(m)) {
		msg_fix_via(m, src);
		txn_request(sd, m, src);
	} else
		txn_response(sd, m, src);
}
