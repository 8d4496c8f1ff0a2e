/*
 * txn.c — RFC 3261 section 17 transactions (with the RFC 6026 Accepted
 * state), written for sipd rather than taken from libosip2's layer: that
 * one keeps transactions in linear lists, which does not hold the tens of
 * thousands of live transactions a busy registrar has (every UDP
 * transaction lingers 32 s in Completed).  Here they live in one hash
 * table keyed by branch, sent-by and method, and every timer is a
 * loop_timer embedded in the transaction.
 *
 * Server side: a retransmitted request is answered with the last response
 * (or absorbed), never passed up twice; final non-2xx INVITE responses are
 * retransmitted until the ACK (timers G, H, I); Completed lingers for
 * timer J.  A server transaction keeps the parsed request only until its
 * final response; after that only the serialized response is kept.
 *
 * Client side: retransmission over UDP (timers A, E), timeouts reported to
 * the TU as status 408 (timers B, F), the ACK for non-2xx final responses
 * (timer D), CANCEL (sent once a provisional has arrived, RFC 3261 9.1;
 * after it, the INVITE is given up after 64*T1 with no final response).
 *
 * It does not route: new requests go to proxy_request(), responses of its
 * client transactions to their TU's callback, anything unmatched to
 * proxy_stray_response().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/osip_port.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "sipd.h"

struct txn_table {
	struct txn	**buckets;
	size_t		  nbuckets;
	size_t		  count;
};

#define TXN_64T1	(64 * SIPD_T1)

static void txn_terminate(struct sipd *sd, struct txn *t);

/* ------------------------------------------------------------ table */

static uint64_t
txn_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static void
txn_table_grow(struct txn_table *tt)
{
	size_t n = tt->nbuckets * 2, i;
	struct txn **b = xcalloc(n, sizeof(*b));

	for (i = 0; i < tt->nbuckets; i++) {
		struct txn *t = tt->buckets[i], *next;

		for (; t != NULL; t = next) {
			size_t k = txn_hash(t->key) & (n - 1);

			next = t->hnext;
			t->hnext = b[k];
			b[k] = t;
		}
	}
	free(tt->buckets);
	tt->buckets = b;
	tt->nbuckets = n;
}

static struct txn *
txn_lookup(struct sipd *sd, const char *key)
{
	struct txn_table *tt = sd->txns;
	struct txn *t;

	for (t = tt->buckets[txn_hash(key) & (tt->nbuckets - 1)]; t != NULL; t = t->hnext)
		if (strcmp(t->key, key) == 0)
			return t;
	return NULL;
}

static void
txn_insert(struct sipd *sd, struct txn *t)
{
	struct txn_table *tt = sd->txns;
	size_t k;

	if (tt->count >= tt->nbuckets)
		txn_table_grow(tt);
	k = txn_hash(t->key) & (tt->nbuckets - 1);
	t->hnext = tt->buckets[k];
	tt->buckets[k] = t;
	tt->count++;
}

static void
txn_remove(struct sipd *sd, struct txn *t)
{
	struct txn_table *tt = sd->txns;
	struct txn **pp = &tt->buckets[txn_hash(t->key) & (tt->nbuckets - 1)];

	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == t) {
			*pp = t->hnext;
			tt->count--;
			return;
		}
}

size_t
txn_count(struct sipd *sd)
{
	return sd->txns->count;
}

int
txn_init(struct sipd *sd)
{
	sd->txns = xcalloc(1, sizeof(*sd->txns));
	sd->txns->nbuckets = 4096;
	sd->txns->buckets = xcalloc(sd->txns->nbuckets, sizeof(struct txn *));
	return 0;
}

void
txn_shutdown(struct sipd *sd)
{
	struct txn_table *tt = sd->txns;
	size_t i;

	if (tt == NULL)
		return;
	for (i = 0; i < tt->nbuckets; i++)
		while (tt->buckets[i] != NULL) {
			struct txn *t = tt->buckets[i];

			t->on_response = NULL;
			txn_terminate(sd, t);
		}
	free(tt->buckets);
	free(tt);
	sd->txns = NULL;
}

/* ------------------------------------------------------------ keys */

/*
 * Server key: branch + sent-by + method (ACK counts as INVITE, RFC 3261
 * 17.2.3).  Requests without the RFC 3261 magic cookie fall back to the
 * dialog and sequence identifiers of RFC 2543.
 */
static char *
txn_server_key(const osip_message_t *m, const char *method)
{
	osip_via_t *via = osip_list_get(&m->vias, 0);
	osip_generic_param_t *br = NULL;
	char *key;

	osip_via_param_get_byname(via, "branch", &br);
	if (br != NULL && br->gvalue != NULL && strncmp(br->gvalue, "z9hG4bK", 7) == 0)
		xasprintf(&key, "s|%s|%s:%s|%s", br->gvalue, via->host,
		    via->port ? via->port : "", method);
	else
		xasprintf(&key, "s2543|%s|%s|%s|%s:%s|%s", m->call_id->number,
		    m->cseq->number, msg_from_tag(m) ? msg_from_tag(m) : "",
		    via->host, via->port ? via->port : "", method);
	return key;
}

static char *
txn_client_key(const char *branch, const char *method)
{
	char *key;

	xasprintf(&key, "c|%s|%s", branch, method);
	return key;
}

static const char *
txn_top_branch(const osip_message_t *m)
{
	osip_via_t *via = osip_list_get(&m->vias, 0);
	osip_generic_param_t *br = NULL;

	if (via == NULL || osip_via_param_get_byname(via, "branch", &br) != 0 || br == NULL)
		return NULL;
	return br->gvalue;
}

/* ------------------------------------------------------------ life cycle */

static struct txn *
txn_new(struct sipd *sd, int server, char *key, osip_message_t *req,
    const struct tp_source *peer)
{
	struct txn *t = xcalloc(1, sizeof(*t));

	t->sd = sd;
	t->server = server;
	t->invite = strcmp(req->sip_method, "INVITE") == 0;
	t->state = TXN_TRYING;
	t->key = key;
	t->req = req;
	t->peer = *peer;
	t->retx_ms = SIPD_T1;
	loop_timer_init(&t->t_retx, NULL, t);
	loop_timer_init(&t->t_end, NULL, t);
	txn_insert(sd, t);
	return t;
}

static void
txn_terminate(struct sipd *sd, struct txn *t)
{
	if (!t->server && t->on_response != NULL && t->state < TXN_COMPLETED) {
		txn_response_cb cb = t->on_response;

		/* the TU is owed a final answer */
		t->on_response = NULL;
		cb(sd, t, NULL, 408, t->tu);
	}
	loop_timer_stop(sd->loop, &t->t_retx);
	loop_timer_stop(sd->loop, &t->t_end);
	txn_remove(sd, t);
	if (t->req != NULL)
		osip_message_free(t->req);
	free(t->raw);
	free(t->out);
	free(t->key);
	free(t);
}

static void
txn_end_cb(void *arg)
{
	struct txn *t = arg;

	txn_terminate(t->sd, t);
}

/* Keeps t for ms more (0: ends it now) to absorb retransmissions. */
static void
txn_linger(struct sipd *sd, struct txn *t, uint64_t ms)
{
	loop_timer_stop(sd->loop, &t->t_retx);
	if (ms == 0) {
		txn_terminate(sd, t);
		return;
	}
	t->t_end.cb = txn_end_cb;
	loop_timer_start(sd->loop, &t->t_end, ms);
}

static void
txn_store_out(struct txn *t, char *buf, size_t len)
{
	free(t->out);
	t->out = xmalloc(len + 1);
	memcpy(t->out, buf, len);
	t->out[len] = '\0';
	t->outlen = len;
}

/* ------------------------------------------------------------ server side */

static void
txn_retx_server_cb(void *arg)
{
	struct txn *t = arg;

	/* timer G: the final non-2xx response to an INVITE until the ACK */
	tp_send(t->sd, &t->peer, t->out, t->outlen);
	t->retx_ms = t->retx_ms * 2 > SIPD_T2 ? SIPD_T2 : t->retx_ms * 2;
	loop_timer_start(t->sd->loop, &t->t_retx, t->retx_ms);
}

static void txn_server_final(struct sipd *sd, struct txn *st, int status);

void
txn_reply_text(struct sipd *sd, struct txn *st, int status, char *buf, size_t len)
{
	if (st->state >= TXN_COMPLETED && !(st->state == TXN_ACCEPTED && status / 100 == 2)) {
		free(buf);	/* already final: nothing more to say */
		return;
	}
	tp_send(sd, &st->peer, buf, len);
	free(st->out);
	st->out = buf;
	st->outlen = len;
	st->status = status;
	if (status < 200) {
		st->state = TXN_PROCEEDING;
		return;
	}
	txn_server_final(sd, st, status);
}

void
txn_reply(struct sipd *sd, struct txn *st, osip_message_t *resp)
{
	char *buf;
	size_t len;
	int status = resp->status_code;

	if (msg_to_str(resp, &buf, &len) != 0) {
		osip_message_free(resp);
		return;
	}
	osip_message_free(resp);
	/* osip's buffer is malloc'd (osip_malloc is malloc here) */
	txn_reply_text(sd, st, status, buf, len);
}

void
txn_reply_hdrs(struct sipd *sd, struct txn *st, int status, const char *reason, const char *hdrs)
{
	char *buf;
	size_t len;

	if (st->raw != NULL &&
	    msg_response_raw(sd, st->raw, st->rawlen, &st->peer, status, reason, hdrs,
	    &buf, &len) == 0) {
		txn_reply_text(sd, st, status, buf, len);
		return;
	}
	if (st->req != NULL) {
		osip_message_t *r = msg_make_response(sd, st->req, status, reason);

		if (hdrs != NULL)
			log_warnx("txn: %d response without its request text: headers lost", status);
		txn_reply(sd, st, r);
	}
}

/* After a final response: state, timers, and the request is let go. */
static void
txn_server_final(struct sipd *sd, struct txn *st, int status)
{
	int udp = st->peer.proto == TP_UDP;

	st->on_response = NULL;
	st->tu = NULL;
	if (st->req != NULL) {
		osip_message_free(st->req);
		st->req = NULL;
	}
	free(st->raw);
	st->raw = NULL;
	if (st->invite && status / 100 == 2) {
		st->state = TXN_ACCEPTED;	/* RFC 6026: absorb INVITE retransmissions */
		txn_linger(sd, st, TXN_64T1);
	} else if (st->invite) {
		st->state = TXN_COMPLETED;
		if (udp) {
			st->retx_ms = SIPD_T1;
			st->t_retx.cb = txn_retx_server_cb;
			loop_timer_start(sd->loop, &st->t_retx, st->retx_ms);
		}
		st->t_end.cb = txn_end_cb;	/* timer H */
		loop_timer_start(sd->loop, &st->t_end, TXN_64T1);
	} else {
		st->state = TXN_COMPLETED;
		txn_linger(sd, st, udp ? TXN_64T1 : 0);	/* timer J */
	}
}

void
txn_reply_status(struct sipd *sd, struct txn *st, int status, const char *reason)
{
	txn_reply_hdrs(sd, st, status, reason, NULL);
}

void
txn_request(struct sipd *sd, osip_message_t *m, const struct tp_source *src,
    const char *raw, size_t rawlen)
{
	const char *method = m->sip_method;
	struct txn *st, *ist;
	char *key;

	if (strcmp(method, "ACK") == 0) {
		key = txn_server_key(m, "INVITE");
		st = txn_lookup(sd, key);
		free(key);
		if (st != NULL && st->state == TXN_COMPLETED) {
			/* the ACK of our non-2xx: stop retransmitting (timer I) */
			st->state = TXN_CONFIRMED;
			txn_linger(sd, st, st->peer.proto == TP_UDP ? SIPD_T4 : 0);
		} else if (st == NULL || st->state != TXN_CONFIRMED) {
			/* the ACK of a 2xx is a request of its own: route it */
			proxy_request(sd, NULL, m, src);
		}
		osip_message_free(m);
		return;
	}

	key = txn_server_key(m, method);
	if ((st = txn_lookup(sd, key)) != NULL) {
		/* a retransmission: answer it from the transaction */
		free(key);
		if (st->out != NULL)
			tp_send(sd, &st->peer, st->out, st->outlen);
		osip_message_free(m);
		return;
	}

	st = txn_new(sd, 1, key, m, src);
	st->raw = xstrndup(raw, rawlen);
	st->rawlen = rawlen;
	if (strcmp(method, "CANCEL") == 0) {
		char *ikey = txn_server_key(m, "INVITE");

		ist = txn_lookup(sd, ikey);
		free(ikey);
		if (ist == NULL) {
			txn_reply_status(sd, st, 481, NULL);
			return;
		}
		txn_reply_status(sd, st, 200, NULL);
		if (ist->state < TXN_COMPLETED && ist->tu != NULL)
			proxy_cancel(sd, ist);
		return;
	}
	if (st->invite) {
		/* stop the caller's retransmissions at once (RFC 3261 16.2) */
		txn_reply_status(sd, st, 100, NULL);
	}
	proxy_request(sd, st, m, src);
}

/* ------------------------------------------------------------ client side */

static void
txn_retx_client_cb(void *arg)
{
	struct txn *t = arg;

	/* timers A (INVITE, doubling) and E (non-INVITE, capped at T2) */
	tp_send(t->sd, &t->peer, t->out, t->outlen);
	t->retx_ms *= 2;
	if (!t->invite && (t->retx_ms > SIPD_T2 || t->state == TXN_PROCEEDING))
		t->retx_ms = SIPD_T2;
	loop_timer_start(t->sd->loop, &t->t_retx, t->retx_ms);
}

static void
txn_timeout_cb(void *arg)
{
	struct txn *t = arg;

	/* timers B and F, and 64*T1 after a CANCEL: give up with 408 */
	log_debug("txn: %s client transaction timed out", t->req ? t->req->sip_method : "?");
	txn_terminate(t->sd, t);
}

void
txn_add_via(struct sipd *sd, osip_message_t *req, const struct tp_source *dst)
{
	char host[INET6_ADDRSTRLEN + 2], branch[40], *via;
	osip_via_t *v = NULL;

	if (dst->local.ss.ss_family == AF_INET6) {
		char h[INET6_ADDRSTRLEN];

		snprintf(host, sizeof(host), "[%s]", tp_addr_host(&dst->local, h, sizeof(h)));
	} else
		tp_addr_host(&dst->local, host, sizeof(host));
	msg_branch_make(branch, sizeof(branch));
	xasprintf(&via, "SIP/2.0/%s %s:%d;branch=%s;rport",
	    dst->proto == TP_TCP ? "TCP" : "UDP", host,
	    tp_addr_port(&dst->local) ? tp_addr_port(&dst->local) : 5060, branch);
	if (osip_via_init(&v) == 0 && osip_via_parse(v, via) == 0)
		osip_list_add(&req->vias, v, 0);
	else if (v != NULL)
		osip_via_free(v);
	free(via);
}

struct txn *
txn_client(struct sipd *sd, osip_message_t *req, const struct tp_source *dst,
    txn_response_cb cb, void *tu)
{
	const char *branch = txn_top_branch(req);
	struct tp_source tcp;
	struct txn *ct;
	char *buf;
	size_t len;

	if (branch == NULL || msg_to_str(req, &buf, &len) != 0) {
		osip_message_free(req);
		return NULL;
	}
	if (dst->proto == TP_UDP && len > SIPD_UDP_MAX) {
		/* RFC 3261 18.1.1: too large for UDP: TCP to the same address, Via says so */
		osip_via_t *v = osip_list_get(&req->vias, 0);

		log_debug("txn: %zu-byte %s goes over TCP", len, req->sip_method);
		osip_free(v->protocol);
		v->protocol = osip_strdup("TCP");
		osip_free(buf);
		if (msg_to_str(req, &buf, &len) != 0) {
			osip_message_free(req);
			return NULL;
		}
		tcp = *dst;
		tcp.proto = TP_TCP;
		tcp.conn_id = 0;
		dst = &tcp;
	}
	if (tp_send(sd, dst, buf, len) != 0) {
		osip_free(buf);
		osip_message_free(req);
		return NULL;
	}
	ct = txn_new(sd, 0, txn_client_key(branch, req->sip_method), req, dst);
	txn_store_out(ct, buf, len);
	osip_free(buf);
	ct->on_response = cb;
	ct->tu = tu;
	if (dst->proto == TP_UDP) {
		ct->t_retx.cb = txn_retx_client_cb;
		loop_timer_start(sd->loop, &ct->t_retx, ct->retx_ms);
	}
	ct->t_end.cb = txn_timeout_cb;
	loop_timer_start(sd->loop, &ct->t_end, TXN_64T1);
	return ct;
}

void
txn_detach(struct txn *ct)
{
	ct->on_response = NULL;
	ct->tu = NULL;
}

/*
 * A request on the same hop as client INVITE ct, as RFC 3261 9.1 (CANCEL)
 * and 17.1.1.3 (ACK for non-2xx) describe them: ct's Request-URI, top Via,
 * From, Call-ID, CSeq number and Route set; To from `to` (the final
 * response's, with its tag, for an ACK).
 */
static osip_message_t *
txn_hop_request(struct sipd *sd, struct txn *ct, const char *method, const osip_to_t *to)
{
	osip_message_t *m = NULL;
	osip_via_t *via = NULL;
	int pos;

	if (ct->req == NULL || osip_message_init(&m) != 0)
		return NULL;
	osip_message_set_method(m, osip_strdup(method));
	osip_message_set_version(m, osip_strdup("SIP/2.0"));
	osip_uri_clone(ct->req->req_uri, &m->req_uri);
	if (osip_via_clone(osip_list_get(&ct->req->vias, 0), &via) == 0)
		osip_list_add(&m->vias, via, 0);
	osip_from_clone(ct->req->from, &m->from);
	osip_to_clone(to, &m->to);
	osip_call_id_clone(ct->req->call_id, &m->call_id);
	osip_cseq_clone(ct->req->cseq, &m->cseq);
	osip_free(m->cseq->method);
	m->cseq->method = osip_strdup(method);
	for (pos = 0; pos < osip_list_size(&ct->req->routes); pos++) {
		osip_route_t *r = osip_list_get(&ct->req->routes, pos), *rc = NULL;

		if (osip_route_clone(r, &rc) == 0)
			osip_list_add(&m->routes, rc, -1);
	}
	osip_message_set_header(m, "Max-Forwards", "70");
	osip_message_set_header(m, "User-Agent", sd->server_name);
	osip_message_set_content_length(m, "0");
	return m;
}

/* Sends the CANCEL for client INVITE ct, a client transaction of its own. */
static void
txn_send_cancel(struct sipd *sd, struct txn *ct)
{
	osip_message_t *c = txn_hop_request(sd, ct, "CANCEL", ct->req ? ct->req->to : NULL);

	if (c == NULL)
		return;
	txn_client(sd, c, &ct->peer, NULL, NULL);
	/* no final response within 64*T1 of the CANCEL: give the INVITE up */
	ct->t_end.cb = txn_timeout_cb;
	loop_timer_start(sd->loop, &ct->t_end, TXN_64T1);
}

void
txn_cancel(struct sipd *sd, struct txn *ct)
{
	if (ct->server || !ct->invite || ct->cancel != NULL || ct->state >= TXN_COMPLETED)
		return;
	ct->cancel = ct;	/* marks "CANCEL wanted"; sent once there is a provisional */
	if (ct->state == TXN_PROCEEDING)
		txn_send_cancel(sd, ct);
}

/* The hop-by-hop ACK for a non-2xx final response (RFC 3261 17.1.1.3). */
static void
txn_send_ack(struct sipd *sd, struct txn *ct, const osip_message_t *resp)
{
	osip_message_t *a = txn_hop_request(sd, ct, "ACK", resp->to);
	char *buf;
	size_t len;

	if (a == NULL)
		return;
	if (msg_to_str(a, &buf, &len) == 0) {
		tp_send(sd, &ct->peer, buf, len);
		txn_store_out(ct, buf, len);	/* re-sent for retransmitted finals */
		osip_free(buf);
	}
	osip_message_free(a);
}

void
txn_response(struct sipd *sd, osip_message_t *m, const struct tp_source *src)
{
	const char *branch = txn_top_branch(m);
	struct txn *ct = NULL;
	txn_response_cb cb;
	uint64_t linger;
	int status = m->status_code;
	char *key;

	if (branch != NULL) {
		key = txn_client_key(branch, m->cseq->method);
		ct = txn_lookup(sd, key);
		free(key);
	}
	if (ct == NULL) {
		proxy_stray_response(sd, m);
		osip_message_free(m);
		return;
	}
	if (ct->state == TXN_COMPLETED) {
		/* a retransmitted final: our ACK again (INVITE), else nothing */
		if (ct->invite && status >= 300 && ct->out != NULL)
			tp_send(sd, &ct->peer, ct->out, ct->outlen);
		osip_message_free(m);
		return;
	}
	if (ct->state == TXN_ACCEPTED) {
		/* 2xx retransmissions go up as they are; the UAC ACKs them */
		if (status / 100 == 2)
			proxy_stray_response(sd, m);
		osip_message_free(m);
		return;
	}
	cb = ct->on_response;
	if (status < 200) {
		if (ct->state == TXN_TRYING) {
			ct->state = TXN_PROCEEDING;
			if (ct->invite) {
				/* timer A stops; timer B too: the TU's timer C rules now */
				loop_timer_stop(sd->loop, &ct->t_retx);
				loop_timer_stop(sd->loop, &ct->t_end);
				if (ct->cancel != NULL)
					txn_send_cancel(sd, ct);
			}
		}
		if (cb != NULL)
			cb(sd, ct, m, status, ct->tu);
		osip_message_free(m);
		return;
	}

	/* final */
	ct->status = status;
	ct->on_response = NULL;
	loop_timer_stop(sd->loop, &ct->t_retx);
	loop_timer_stop(sd->loop, &ct->t_end);
	if (ct->invite && status / 100 == 2) {
		ct->state = TXN_ACCEPTED;
		linger = TXN_64T1;					/* timer M */
	} else if (ct->invite) {
		ct->state = TXN_COMPLETED;
		txn_send_ack(sd, ct, m);
		linger = ct->peer.proto == TP_UDP ? 32000 : 0;		/* timer D */
	} else {
		ct->state = TXN_COMPLETED;
		linger = ct->peer.proto == TP_UDP ? SIPD_T4 : 0;	/* timer K */
	}
	if (cb != NULL)
		cb(sd, ct, m, status, ct->tu);
	ct->tu = NULL;
	if (ct->req != NULL) {
		osip_message_free(ct->req);
		ct->req = NULL;
	}
	txn_linger(sd, ct, linger);
	osip_message_free(m);
}
