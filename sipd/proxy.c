/*
 * proxy.c — how sipd routes a request (RFC 3261 section 16): the
 * transaction-stateful proxy core.
 *
 * For each new request it checks Max-Forwards (483) and loops (482), pops
 * its own Route entries, and then:
 *   - in-dialog requests (To tag) go to the other party of the call they
 *     belong to, at the address that party's messages come from (NAT);
 *   - REGISTER goes to the registrar; OPTIONS to sipd itself is answered;
 *   - an out-of-dialog INVITE or MESSAGE to a local user is authenticated
 *     (407) and forked to every registered contact of the callee in
 *     parallel: provisional responses go up, the first 2xx wins and the
 *     other branches are CANCELled, else the best final response goes up
 *     when every branch has answered (16.7);  sip.no_answer_timeout ends
 *     an unanswered INVITE with 408 and CANCELs the branches.
 * ACKs for 2xx and stray 2xx retransmissions are forwarded statelessly.
 *
 * In relay mode (media.c) every SDP is anchored on mediad before it goes
 * on: a request waits in its server transaction for mediad's answer, and
 * responses going up wait in a queue so they keep their order.
 *
 * A proxy context (struct pctx) lives from the request until its server
 * transaction has a final response, every branch has ended and nothing
 * waits on mediad.  It does
 * not own the call record (call.c); it refers to it by Call-ID.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/osip_port.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "sipd.h"

#define PROXY_ALLOW "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE, REFER, NOTIFY, MESSAGE, PRACK"

struct pctx;

/* a response on its way up, waiting for mediad (or behind one that does) */
struct pup {
	struct txn		*st;
	osip_message_t		*resp;		/* owned */
	struct media_op		*op;
	int			 ready;
	int			 err;		/* mediad could not anchor it */
	struct pctx		*ctx;
	struct pup		*next;
};

struct pbranch {
	struct pctx		*ctx;
	struct txn		*ct;		/* NULL once final */
	struct tp_source	 dst;
};

struct pctx {
	struct sipd		*sd;
	struct txn		*st;		/* NULL once a final went up */
	struct pbranch		*br;
	int			 nbr, npending;
	int			 best_status;	/* 0: none yet */
	osip_message_t		*best;		/* NULL with a synthetic status */
	int			 initial_invite;
	int			 cancelled, noanswer, answered;
	char			*method;
	char			*call_id;
	char			*refer_to;
	struct loop_timer	 t_noanswer;
	/* relay mode */
	int			 from_leg;	/* the request's sender: 0 caller, 1 callee */
	struct media_op		*mop;		/* the request waits on mediad */
	struct pup		*upq;		/* responses waiting to go up, in order */
	int			 mwait;		/* of those, how many wait on mediad */
	struct tp_source	 src, dst;	/* kept for the continuation */
	char			 looptag[17];
};

/* ------------------------------------------------------------ helpers */

static int
proxy_uri_port(const osip_uri_t *u)
{
	return u->port != NULL ? atoi(u->port) : 0;
}

static int
proxy_uri_is_local(struct sipd *sd, const osip_uri_t *u)
{
	return u != NULL && u->host != NULL && tp_is_local(sd, u->host, proxy_uri_port(u));
}

static enum tp_proto
proxy_uri_proto(const osip_uri_t *u)
{
	osip_uri_param_t *p = NULL;

	if (osip_uri_uparam_get_byname((osip_uri_t *)u, "transport", &p) == 0 && p != NULL &&
	    p->gvalue != NULL && strcasecmp(p->gvalue, "tcp") == 0)
		return TP_TCP;
	return TP_UDP;
}

/* The hash that marks our branches, to recognise a request coming back (482). */
static void
proxy_loop_tag(const osip_message_t *m, char out[17])
{
	uint64_t h = 1469598103934665603ULL;
	const char *parts[5];
	char *ruri = NULL;
	size_t i;

	osip_uri_to_str(m->req_uri, &ruri);
	parts[0] = ruri ? ruri : "";
	parts[1] = m->call_id->number;
	parts[2] = m->cseq->number;
	parts[3] = msg_from_tag(m) ? msg_from_tag(m) : "";
	parts[4] = msg_to_tag(m) ? msg_to_tag(m) : "";
	for (i = 0; i < 5; i++) {
		const char *s;

		for (s = parts[i]; *s; s++) {
			h ^= (unsigned char)*s;
			h *= 1099511628211ULL;
		}
		h ^= '|';
		h *= 1099511628211ULL;
	}
	osip_free(ruri);
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static int
proxy_is_loop(struct sipd *sd, const osip_message_t *m, const char *tag)
{
	int pos;

	for (pos = 1; pos < osip_list_size(&m->vias); pos++) {
		osip_via_t *v = osip_list_get(&m->vias, pos);
		osip_generic_param_t *br = NULL;
		const char *dot;

		if (v == NULL || v->host == NULL ||
		    !tp_is_local(sd, v->host, v->port ? atoi(v->port) : 0))
			continue;
		if (osip_via_param_get_byname(v, "branch", &br) != 0 || br == NULL ||
		    br->gvalue == NULL)
			continue;
		if ((dot = strrchr(br->gvalue, '.')) != NULL && strcmp(dot + 1, tag) == 0)
			return 1;
	}
	return 0;
}

/* Our branch gets ".<loop tag>" appended (see proxy_is_loop). */
static void
proxy_add_via(struct sipd *sd, osip_message_t *fwd, const struct tp_source *dst,
    const char *looptag)
{
	osip_via_t *v;
	osip_generic_param_t *br = NULL;

	txn_add_via(sd, fwd, dst);
	v = osip_list_get(&fwd->vias, 0);
	if (looptag != NULL && v != NULL && osip_via_param_get_byname(v, "branch", &br) == 0 &&
	    br != NULL && br->gvalue != NULL) {
		char *nb;

		xasprintf(&nb, "%s.%s", br->gvalue, looptag);
		osip_free(br->gvalue);
		br->gvalue = osip_strdup(nb);
		free(nb);
	}
}

/* Removes our own entries from the top of the Route set; 1 if there were any. */
static int
proxy_pop_routes(struct sipd *sd, osip_message_t *m)
{
	int popped = 0;

	while (osip_list_size(&m->routes) > 0) {
		osip_route_t *r = osip_list_get(&m->routes, 0);

		if (r == NULL || r->url == NULL || !proxy_uri_is_local(sd, r->url))
			break;
		osip_list_remove(&m->routes, 0);
		osip_route_free(r);
		popped = 1;
	}
	return popped;
}

static void
proxy_decrement_mf(osip_message_t *m)
{
	osip_header_t *h = NULL;
	char buf[16];

	if (osip_message_header_get_byname(m, "max-forwards", 0, &h) >= 0 && h != NULL &&
	    h->hvalue != NULL) {
		int mf = atoi(h->hvalue);

		snprintf(buf, sizeof(buf), "%d", mf > 0 ? mf - 1 : 0);
		osip_free(h->hvalue);
		h->hvalue = osip_strdup(buf);
	} else
		osip_message_set_header(m, "Max-Forwards", "69");
}

/* Drops the credentials meant for us (RFC 3261 22.3): they help nobody downstream. */
static void
proxy_strip_credentials(osip_message_t *m)
{
	while (osip_list_size(&m->proxy_authorizations) > 0) {
		osip_proxy_authorization_t *a = osip_list_get(&m->proxy_authorizations, 0);

		osip_list_remove(&m->proxy_authorizations, 0);
		osip_proxy_authorization_free(a);
	}
}

static void
proxy_uri_of_addr(const struct tp_addr *a, enum tp_proto proto, char *buf, size_t len)
{
	char h[64];

	tp_addr_host(a, h, sizeof(h));
	snprintf(buf, len, a->ss.ss_family == AF_INET6 ? "<sip:[%s]:%d;lr%s>" : "<sip:%s:%d;lr%s>",
	    h, tp_addr_port(a) ? tp_addr_port(a) : 5060, proto == TP_TCP ? ";transport=tcp" : "");
}

static void
proxy_push_rr(osip_message_t *m, const char *uri)
{
	osip_record_route_t *rr = NULL;

	if (osip_record_route_init(&rr) != 0)
		return;
	if (osip_record_route_parse(rr, uri) != 0) {
		osip_record_route_free(rr);
		return;
	}
	osip_list_add(&m->record_routes, rr, 0);
}

/*
 * Record-Route so the dialog's requests pass through us: one entry when
 * both sides reach us on the same address and transport, else two (the
 * caller's side below, the callee's side on top; RFC 3261 16.6 item 4).
 */
static void
proxy_record_route(osip_message_t *fwd, const struct tp_source *in, const struct tp_source *out)
{
	char a[128], b[128];

	proxy_uri_of_addr(&in->local, in->proto, a, sizeof(a));
	proxy_uri_of_addr(&out->local, out->proto, b, sizeof(b));
	proxy_push_rr(fwd, a);
	if (strcmp(a, b) != 0)
		proxy_push_rr(fwd, b);
}

/* Does the URI text name sipd itself?  (A binding like that would loop.) */
static int
proxy_uri_text_is_local(struct sipd *sd, const char *text)
{
	osip_uri_t *u = NULL;
	int local = 0;

	if (osip_uri_init(&u) == 0 && osip_uri_parse(u, text) == 0)
		local = proxy_uri_is_local(sd, u);
	osip_uri_free(u);
	return local;
}

/* Where a URI is reached: a registered contact at its source address, else the URI. */
static int
proxy_resolve_uri(struct sipd *sd, const osip_uri_t *u, struct tp_source *dst)
{
	struct reg_binding *b;
	char *s = msg_uri_str(u);

	b = reg_find_contact(sd, s);
	free(s);
	if (b != NULL) {
		*dst = b->src;
		return 0;
	}
	if (u->host == NULL)
		return EINVAL;
	return tp_resolve(sd, u->host, proxy_uri_port(u), proxy_uri_proto(u), dst);
}

/* ------------------------------------------------------------ context */

static void proxy_drop_queued(struct pctx *ctx);

static void
proxy_ctx_free(struct pctx *ctx)
{
	int i;

	for (i = 0; i < ctx->nbr; i++)
		if (ctx->br[i].ct != NULL)
			txn_detach(ctx->br[i].ct);
	loop_timer_stop(ctx->sd->loop, &ctx->t_noanswer);
	media_op_cancel(ctx->sd, ctx->mop);
	proxy_drop_queued(ctx);
	if (ctx->best != NULL)
		osip_message_free(ctx->best);
	free(ctx->br);
	free(ctx->method);
	free(ctx->call_id);
	free(ctx->refer_to);
	free(ctx);
}

static void
proxy_ctx_maybe_done(struct pctx *ctx)
{
	if (ctx->st == NULL && ctx->npending == 0 && ctx->mop == NULL && ctx->upq == NULL)
		proxy_ctx_free(ctx);
}

/*
 * Sends resp up server transaction st, minus our Via, with the operator's
 * reason phrase.  resp is modified in place (no copy: this is the hot path
 * of every relayed response); the caller still owns and frees it.
 */
static void
proxy_up_now(struct sipd *sd, struct txn *st, osip_message_t *up)
{
	osip_via_t *v;
	int status = up->status_code;
	const char *phrase = conf_reason_phrase(sd->conf, status);
	char *buf;
	size_t len;

	v = osip_list_get(&up->vias, 0);
	osip_list_remove(&up->vias, 0);
	osip_via_free(v);
	if (phrase != NULL) {
		osip_free(up->reason_phrase);
		up->reason_phrase = osip_strdup(phrase);
	}
	if (status == 503) {
		/* RFC 3261 16.7 item 6: a 503 downstream must not read as "we are overloaded" */
		up->status_code = 500;
		osip_free(up->reason_phrase);
		up->reason_phrase = osip_strdup(msg_reason(sd, 500, NULL));
	}
	if (msg_to_str(up, &buf, &len) == 0)
		txn_reply_text(sd, st, up->status_code, buf, len);
}

/*
 * resp went up; err: its SDP could not be anchored.  The 2xx to the
 * initial INVITE ends the call when its media has no relay (rather than
 * leave it mute), else starts its recording (mediad has both legs' SDP).
 */
static void
proxy_up_sent(struct pctx *ctx, const osip_message_t *resp, int err)
{
	struct call *c;

	if (resp->status_code / 100 != 2 || !ctx->initial_invite || ctx->call_id == NULL ||
	    strcmp(ctx->method, "INVITE") != 0)
		return;
	if (err != 0)
		call_hangup_by(ctx->sd, ctx->call_id, "timeout", "media-lost");
	else if ((c = call_find(ctx->sd, ctx->call_id)) != NULL)
		recording_call_answered(ctx->sd, c);
}

/* Sends the queued responses that are ready, in order. */
static void
proxy_up_flush(struct pctx *ctx)
{
	struct pup *u;

	while ((u = ctx->upq) != NULL && u->ready) {
		ctx->upq = u->next;
		proxy_up_now(ctx->sd, u->st, u->resp);
		proxy_up_sent(ctx, u->resp, u->err);
		osip_message_free(u->resp);
		free(u);
	}
}

/*
 * sipd sends a final response of its own: provisional responses still in
 * the queue are moot, and their transaction may end before mediad answers.
 */
static void
proxy_drop_queued(struct pctx *ctx)
{
	struct pup *u;

	while ((u = ctx->upq) != NULL) {
		ctx->upq = u->next;
		if (u->op != NULL) {
			media_op_cancel(ctx->sd, u->op);
			ctx->mwait--;
		}
		osip_message_free(u->resp);
		free(u);
	}
}

static void
proxy_up_media_cb(struct sipd *sd, int err, void *arg)
{
	struct pup *u = arg;
	struct pctx *ctx = u->ctx;

	u->op = NULL;
	u->ready = 1;
	u->err = err;
	if (err != 0)
		log_warnx("proxy: call %s: a %d goes on with its SDP as it is", ctx->call_id,
		    u->resp->status_code);
	ctx->mwait--;
	proxy_up_flush(ctx);
	proxy_ctx_maybe_done(ctx);
}

/*
 * Sends resp up the server transaction.  In relay mode its SDP is anchored
 * on mediad first, and it waits (a copy) in ctx's queue behind any that
 * wait already.  The caller still owns resp.
 */
static void
proxy_send_up(struct pctx *ctx, osip_message_t *up)
{
	struct sipd *sd = ctx->sd;
	struct txn *st = ctx->st;
	struct call *c;
	struct pup *u, **pp;
	int r;

	if (st == NULL)
		return;
	if (up->status_code >= 200)
		ctx->st = NULL;	/* final: later 2xx of other forks go up statelessly */
	c = ctx->call_id != NULL ? call_find(sd, ctx->call_id) : NULL;
	if (ctx->upq == NULL && (c == NULL || !c->relay || osip_list_size(&up->bodies) == 0)) {
		proxy_up_now(sd, st, up);
		proxy_up_sent(ctx, up, 0);
		return;
	}
	u = xcalloc(1, sizeof(*u));
	u->st = st;
	u->ctx = ctx;
	if (osip_message_clone(up, &u->resp) != 0) {
		free(u);
		return;
	}
	for (pp = &ctx->upq; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = u;
	r = media_sdp(sd, c, u->resp, 1 - ctx->from_leg, &st->peer, proxy_up_media_cb, u, &u->op);
	if (r == MEDIA_LATER) {
		ctx->mwait++;
		return;
	}
	if (r != MEDIA_NOW) {
		log_warnx("proxy: call %s: SDP of a %d not anchored (%s): sent as it is",
		    ctx->call_id, up->status_code, strerror(r));
		u->err = r;
	}
	u->ready = 1;
	proxy_up_flush(ctx);
}

/* The journal outcome of an initial INVITE that ended unanswered. */
static void
proxy_call_unanswered(struct pctx *ctx, int status)
{
	struct call *c;

	if (!ctx->initial_invite || ctx->call_id == NULL)
		return;
	if ((c = call_find(ctx->sd, ctx->call_id)) != NULL && c->state < CALL_ANSWERED)
		call_unanswered(ctx->sd, c, status,
		    ctx->noanswer ? CALL_OUT_NOANSWER :
		    ctx->cancelled ? CALL_OUT_CANCEL : CALL_OUT_REJECTED);
}

static void
proxy_cancel_branches(struct pctx *ctx)
{
	int i;

	for (i = 0; i < ctx->nbr; i++)
		if (ctx->br[i].ct != NULL)
			txn_cancel(ctx->sd, ctx->br[i].ct);
}

/* Every branch has a final response and none was 2xx: send the best one up. */
static void
proxy_send_best(struct pctx *ctx)
{
	int status = ctx->best_status ? ctx->best_status : 408;

	if (ctx->st == NULL)
		return;
	proxy_call_unanswered(ctx, status);
	if (ctx->best != NULL)
		proxy_send_up(ctx, ctx->best);
	else {
		struct txn *st = ctx->st;

		ctx->st = NULL;
		proxy_drop_queued(ctx);
		txn_reply_status(ctx->sd, st, status, NULL);
	}
}

/* RFC 3261 16.7 item 6: 6xx first, else the lowest class; real answers over our 408. */
static int
proxy_better(int status, int synthetic, int best, int best_synthetic)
{
	if (best == 0)
		return 1;
	if (best / 100 == 6)
		return 0;
	if (status / 100 == 6)
		return 1;
	if (status / 100 != best / 100)
		return status / 100 < best / 100;
	return best_synthetic && !synthetic;
}

static void
proxy_branch_cb(struct sipd *sd, struct txn *ct, osip_message_t *resp, int status, void *arg)
{
	struct pbranch *b = arg;
	struct pctx *ctx = b->ctx;

	if (status < 200) {
		if (status == 100 || resp == NULL)
			return;
		if (ctx->initial_invite && ctx->call_id != NULL && ctx->st != NULL) {
			struct call *c = call_find(sd, ctx->call_id);

			if (c != NULL)
				call_invite_response(sd, c, resp, &b->dst);
		}
		proxy_send_up(ctx, resp);
		return;
	}

	/* final on this branch */
	b->ct = NULL;
	ctx->npending--;
	if (status / 100 == 2) {
		if (ctx->initial_invite && !ctx->answered) {
			struct call *c = ctx->call_id ? call_find(sd, ctx->call_id) : NULL;

			ctx->answered = 1;
			loop_timer_stop(sd->loop, &ctx->t_noanswer);
			if (c != NULL)
				call_invite_response(sd, c, resp, &b->dst);
			proxy_cancel_branches(ctx);
		}
		if (ctx->refer_to != NULL && ctx->call_id != NULL) {
			struct call *c = call_find(sd, ctx->call_id);

			if (c != NULL)
				call_transfer(sd, c, ctx->refer_to);
		}
		if (ctx->st != NULL)
			proxy_send_up(ctx, resp);
		else
			proxy_stray_response(sd, resp);	/* a 2xx of another fork */
	} else if (ctx->st != NULL && !ctx->answered) {
		if (proxy_better(status, resp == NULL, ctx->best_status, ctx->best == NULL)) {
			if (ctx->best != NULL)
				osip_message_free(ctx->best);
			ctx->best = NULL;
			ctx->best_status = status;
			if (resp != NULL)
				osip_message_clone(resp, &ctx->best);
		}
		if (status / 100 == 6)
			proxy_cancel_branches(ctx);
		if (ctx->npending == 0)
			proxy_send_best(ctx);
	}
	proxy_ctx_maybe_done(ctx);
}

static void
proxy_noanswer_cb(void *arg)
{
	struct pctx *ctx = arg;
	struct txn *st = ctx->st;

	if (st == NULL || ctx->answered)
		return;
	log_info("proxy: call %s not answered in %d s", ctx->call_id, ctx->sd->conf->no_answer_timeout);
	ctx->noanswer = 1;
	proxy_call_unanswered(ctx, 408);
	ctx->st = NULL;
	proxy_drop_queued(ctx);
	txn_reply_status(ctx->sd, st, 408, NULL);
	proxy_cancel_branches(ctx);
	proxy_ctx_maybe_done(ctx);
}

static struct pctx *
proxy_ctx_new(struct sipd *sd, struct txn *st, const osip_message_t *req)
{
	struct pctx *ctx = xcalloc(1, sizeof(*ctx));

	ctx->sd = sd;
	ctx->st = st;
	ctx->method = xstrdup(req->sip_method);
	ctx->call_id = xstrdup(req->call_id->number);
	loop_timer_init(&ctx->t_noanswer, proxy_noanswer_cb, ctx);
	st->tu = ctx;
	return ctx;
}

/*
 * Forwards req to dst as one more branch of ctx: a copy, or req itself when
 * last (then the server transaction gives it up).  ruri replaces the
 * Request-URI when not NULL.  Returns 0 or an errno value.
 */
static int
proxy_fork(struct pctx *ctx, osip_message_t *req, int last, const char *ruri,
    const struct tp_source *in, const struct tp_source *dst, int record_route,
    const char *looptag)
{
	struct sipd *sd = ctx->sd;
	osip_message_t *fwd = NULL;
	struct pbranch *b;
	struct txn *ct;
	int i;

	if (last && ctx->st != NULL && ctx->st->req == req) {
		/*
		 * The last branch takes the parsed request itself: the server
		 * transaction answers from the request's text from now on.
		 */
		fwd = req;
		ctx->st->req = NULL;
	} else if (osip_message_clone(req, &fwd) != 0)
		return ENOMEM;
	if (ruri != NULL) {
		osip_uri_t *u = NULL;

		if (osip_uri_init(&u) != 0 || osip_uri_parse(u, ruri) != 0) {
			osip_uri_free(u);
			osip_message_free(fwd);
			return EINVAL;
		}
		osip_uri_free(fwd->req_uri);
		fwd->req_uri = u;
	}
	proxy_decrement_mf(fwd);
	proxy_strip_credentials(fwd);
	if (record_route)
		proxy_record_route(fwd, in, dst);
	proxy_add_via(sd, fwd, dst, looptag);

	ctx->br = xrealloc(ctx->br, (size_t)(ctx->nbr + 1) * sizeof(*ctx->br));
	/* txn callbacks hold &br[i]: re-point them after the move */
	for (i = 0; i < ctx->nbr; i++)
		if (ctx->br[i].ct != NULL)
			ctx->br[i].ct->tu = &ctx->br[i];
	b = &ctx->br[ctx->nbr];
	b->ctx = ctx;
	b->dst = *dst;
	b->ct = NULL;
	ct = txn_client(sd, fwd, dst, proxy_branch_cb, b);
	if (ct == NULL)
		return EHOSTUNREACH;
	b->ct = ct;
	ctx->nbr++;
	ctx->npending++;
	return 0;
}

/* ------------------------------------------------------------ request kinds */

static void
proxy_options_self(struct sipd *sd, struct txn *st)
{
	txn_reply_hdrs(sd, st, 200, NULL,
	    "Allow: " PROXY_ALLOW "\r\nAccept: application/sdp\r\n");
}

/*
 * Authenticates an out-of-dialog request from a local user; 0 when it may
 * go on, else it has been answered (407, 403, 400).
 */
static int
proxy_authenticate(struct sipd *sd, struct txn *st, const struct tp_source *src)
{
	const osip_message_t *req = st->req;
	const char *why = NULL, *user = req->from->url->username;
	char addr[80], hdr[512];

	if (!sd->conf->auth)
		return 0;
	switch (auth_check(sd, req, user ? user : "", 1, &why)) {
	case AUTH_OK:
		return 0;
	case AUTH_CHALLENGE:
		auth_challenge_hdr(sd, 1, auth_last_stale(sd), hdr, sizeof(hdr));
		txn_reply_hdrs(sd, st, 407, NULL, hdr);
		return 1;
	case AUTH_FORBIDDEN:
		tp_addr_str(&src->peer, addr, sizeof(addr));
		journal_write(sd->journal, "auth-fail", "user", user ? user : "", "addr", addr,
		    "method", req->sip_method, "reason", why, (char *)NULL);
		snprintf(hdr, sizeof(hdr), "Warning: 399 %s \"%s\"\r\n", sd->conf->domain,
		    why ? why : "forbidden");
		txn_reply_hdrs(sd, st, 403, NULL, hdr);
		return 1;
	default:
		txn_reply_status(sd, st, 400, why ? why : "Bad credentials");
		return 1;
	}
}

/*
 * Forks st's request to every registered contact of its callee (the most
 * recent one only for pager-mode MESSAGE), and arms the no-answer timer
 * of an INVITE.
 */
static void
proxy_fork_all(struct pctx *ctx)
{
	struct sipd *sd = ctx->sd;
	struct txn *st = ctx->st;
	osip_message_t *req = st->req;
	const char *user = req->req_uri->username;
	struct reg_binding *b = reg_lookup(sd, user);
	int invite = ctx->initial_invite;
	int sent = 0, loops = 0;

	for (; b != NULL; b = b->next) {
		int last = b->next == NULL || !invite;

		if (proxy_uri_text_is_local(sd, b->contact)) {
			/* a contact naming sipd itself would come straight back */
			log_info("proxy: %s's contact %s is this server: not forwarded",
			    user, b->contact);
			loops++;
		} else if (proxy_fork(ctx, req, last, b->contact, &ctx->src, &b->src, invite,
		    ctx->looptag) == 0)
			sent++;
		if (last)
			break;
	}
	if (sent == 0) {
		int status = loops > 0 ? 482 : 480;

		proxy_call_unanswered(ctx, status);
		ctx->st = NULL;
		txn_reply_status(sd, st, status, NULL);
		proxy_ctx_maybe_done(ctx);
		return;
	}
	if (invite)
		loop_timer_start(sd->loop, &ctx->t_noanswer,
		    (uint64_t)sd->conf->no_answer_timeout * 1000);
}

/* An INVITE that cannot get media: 503 with Retry-After, or 488 for an SDP we cannot read. */
static void
proxy_media_refused(struct pctx *ctx, int err)
{
	struct txn *st = ctx->st;
	char hdr[256];

	if (st == NULL)
		return;
	if (err == EBADMSG) {
		proxy_call_unanswered(ctx, 488);
		snprintf(hdr, sizeof(hdr), "Warning: 399 %s \"SDP not understood\"\r\n",
		    ctx->sd->conf->domain);
		ctx->st = NULL;
		txn_reply_hdrs(ctx->sd, st, 488, NULL, hdr);
	} else {
		proxy_call_unanswered(ctx, 503);
		ctx->st = NULL;
		txn_reply_hdrs(ctx->sd, st, 503, err == ENOSPC ? "No free media ports" :
		    "No media relay available", "Retry-After: 5\r\n");
	}
}

static void
proxy_invite_media_cb(struct sipd *sd, int err, void *arg)
{
	struct pctx *ctx = arg;

	ctx->mop = NULL;
	if (ctx->st != NULL) {	/* else CANCELled meanwhile, and answered */
		if (err != 0)
			proxy_media_refused(ctx, err);
		else
			proxy_fork_all(ctx);
	}
	proxy_ctx_maybe_done(ctx);
}

/* relay or p2p: an explicit users[].media "relay" on either side wins, then "p2p", then media.mode */
static const char *
proxy_media_mode(struct sipd *sd, const char *caller, const char *callee)
{
	const struct conf_user *a = caller ? conf_user_find(sd->conf, caller) : NULL;
	const struct conf_user *b = callee ? conf_user_find(sd->conf, callee) : NULL;
	const char *ma = a ? a->media : NULL, *mb = b ? b->media : NULL;

	if ((ma && strcmp(ma, "relay") == 0) || (mb && strcmp(mb, "relay") == 0))
		return "relay";
	if ((ma && strcmp(ma, "p2p") == 0) || (mb && strcmp(mb, "p2p") == 0))
		return "p2p";
	return sd->conf->media_mode;
}

static void
proxy_to_user(struct sipd *sd, struct txn *st, const struct tp_source *src, const char *looptag)
{
	osip_message_t *req = st->req;
	const char *user = req->req_uri->username;
	struct reg_binding *b;
	struct pctx *ctx;
	struct call *c;
	int invite = strcmp(req->sip_method, "INVITE") == 0, r, rec;

	if (proxy_authenticate(sd, st, src))
		return;
	if (user == NULL || (!auth_user_exists(sd, user) && reg_lookup(sd, user) == NULL)) {
		if (invite)
			journal_write(sd->journal, "call-fail", "call", req->call_id->number,
			    "from", req->from->url->username, "to", user ? user : "",
			    "status", "404", (char *)NULL);
		txn_reply_status(sd, st, 404, NULL);
		return;
	}
	if ((b = reg_lookup(sd, user)) == NULL) {
		if (invite)
			journal_write(sd->journal, "call-fail", "call", req->call_id->number,
			    "from", req->from->url->username, "to", user,
			    "status", "480", (char *)NULL);
		txn_reply_status(sd, st, 480, NULL);
		return;
	}
	ctx = proxy_ctx_new(sd, st, req);
	ctx->src = *src;
	memcpy(ctx->looptag, looptag, sizeof(ctx->looptag));
	if (!invite) {
		proxy_fork_all(ctx);
		return;
	}
	ctx->initial_invite = 1;
	/* a recorded call needs its media on mediad, whatever the mode */
	rec = conf_record_call(sd->conf, req->from->url->username, user);
	c = call_start(sd, req, src, rec ? "relay" :
	    proxy_media_mode(sd, req->from->url->username, user));
	c->record = rec;
	if (strcmp(c->media, "relay") == 0) {
		if ((r = media_call_begin(sd, c)) != 0) {
			log_warnx("proxy: call %s: no live mediad: 503", c->call_id);
			proxy_media_refused(ctx, r);
			proxy_ctx_maybe_done(ctx);
			return;
		}
		r = media_sdp(sd, c, req, 0, &b->src, proxy_invite_media_cb, ctx, &ctx->mop);
		if (r == MEDIA_LATER)
			return;		/* proxy_invite_media_cb goes on */
		if (r != MEDIA_NOW) {
			proxy_media_refused(ctx, r);
			proxy_ctx_maybe_done(ctx);
			return;
		}
	}
	proxy_fork_all(ctx);
}

/* Sends st's in-dialog request on to ctx->dst. */
static void
proxy_dialog_forward(struct pctx *ctx)
{
	struct txn *st = ctx->st;

	if (proxy_fork(ctx, st->req, 1, NULL, &ctx->src, &ctx->dst, 0, ctx->looptag) != 0) {
		ctx->st = NULL;
		txn_reply_status(ctx->sd, st, 503, "Next hop unreachable");
	}
	proxy_ctx_maybe_done(ctx);
}

/* A re-INVITE or UPDATE whose SDP mediad could not take. */
static void
proxy_dialog_refused(struct pctx *ctx, int err)
{
	struct txn *st = ctx->st;

	ctx->st = NULL;
	if (err == EBADMSG)
		txn_reply_status(ctx->sd, st, 488, "SDP not understood");
	else
		txn_reply_hdrs(ctx->sd, st, 503, err == ENOSPC ? "No free media ports" :
		    "No media relay available", "Retry-After: 5\r\n");
	proxy_ctx_maybe_done(ctx);
}

static void
proxy_dialog_media_cb(struct sipd *sd, int err, void *arg)
{
	struct pctx *ctx = arg;

	ctx->mop = NULL;
	if (ctx->st == NULL)
		proxy_ctx_maybe_done(ctx);
	else if (err != 0)
		proxy_dialog_refused(ctx, err);
	else
		proxy_dialog_forward(ctx);
}

/* A request within a dialog (To tag), to the other party of its call. */
static void
proxy_in_dialog(struct sipd *sd, struct txn *st, const struct tp_source *src,
    int had_route, const char *looptag)
{
	osip_message_t *req = st->req;
	struct call *c = call_find(sd, req->call_id->number);
	struct call_leg *leg = NULL;
	struct tp_source dst;
	struct pctx *ctx;
	int is_bye = strcmp(req->sip_method, "BYE") == 0;
	int by_caller = 0;

	if (c != NULL) {
		by_caller = msg_from_tag(req) != NULL && c->caller.tag != NULL &&
		    strcmp(msg_from_tag(req), c->caller.tag) == 0;
		leg = call_in_dialog(sd, c, req, src);
	}
	if (leg != NULL && leg->src.peer.len != 0)
		dst = leg->src;
	else if (!had_route && c == NULL) {
		txn_reply_status(sd, st, 481, NULL);
		return;
	} else if (osip_list_size(&req->routes) > 0) {
		osip_route_t *r = osip_list_get(&req->routes, 0);

		if (proxy_resolve_uri(sd, r->url, &dst) != 0) {
			txn_reply_status(sd, st, 404, "Next hop unknown");
			return;
		}
	} else if (proxy_resolve_uri(sd, req->req_uri, &dst) != 0) {
		txn_reply_status(sd, st, 404, "Remote target unknown");
		return;
	}
	ctx = proxy_ctx_new(sd, st, req);
	if (strcmp(req->sip_method, "REFER") == 0) {
		const char *rt = msg_header(req, "refer-to");

		ctx->refer_to = xstrdup(rt ? rt : "");
	}
	ctx->from_leg = by_caller ? 0 : 1;
	ctx->src = *src;
	ctx->dst = dst;
	memcpy(ctx->looptag, looptag, sizeof(ctx->looptag));
	if (is_bye && c != NULL) {
		/* the journal's call-end is the BYE itself, whatever its answer */
		call_end(sd, c, by_caller ? "caller" : "callee");
		c = NULL;
	}
	if (c != NULL && leg != NULL) {
		int r = media_sdp(sd, c, req, ctx->from_leg, &dst, proxy_dialog_media_cb, ctx,
		    &ctx->mop);

		if (r == MEDIA_LATER)
			return;		/* proxy_dialog_media_cb goes on */
		if (r != MEDIA_NOW) {
			proxy_dialog_refused(ctx, r);
			return;
		}
	}
	proxy_dialog_forward(ctx);
}

/* an ACK waiting for mediad */
struct pack {
	osip_message_t		*ack;
	struct tp_source	 dst;
};

static void
proxy_ack_media_cb(struct sipd *sd, int err, void *arg)
{
	struct pack *pa = arg;
	char *buf;
	size_t len;

	if (err != 0)
		log_warnx("proxy: an ACK's SDP not anchored (%s): sent as it is", strerror(err));
	txn_add_via(sd, pa->ack, &pa->dst);
	if (msg_to_str(pa->ack, &buf, &len) == 0) {
		tp_send(sd, &pa->dst, buf, len);
		osip_free(buf);
	}
	osip_message_free(pa->ack);
	free(pa);
}

/* An ACK for a 2xx: a transaction of its own, forwarded statelessly. */
static void
proxy_ack(struct sipd *sd, osip_message_t *req, const struct tp_source *src)
{
	struct call *c;
	struct call_leg *leg = NULL;
	struct tp_source dst;
	osip_message_t *fwd = NULL;
	char *buf;
	size_t len;
	int had_route;

	had_route = proxy_pop_routes(sd, req);
	c = call_find(sd, req->call_id->number);
	if (c != NULL)
		leg = call_in_dialog(sd, c, req, src);
	if (leg != NULL && leg->src.peer.len != 0)
		dst = leg->src;
	else if (!had_route)
		return;
	else if (osip_list_size(&req->routes) > 0) {
		osip_route_t *r = osip_list_get(&req->routes, 0);

		if (proxy_resolve_uri(sd, r->url, &dst) != 0)
			return;
	} else if (proxy_resolve_uri(sd, req->req_uri, &dst) != 0)
		return;
	proxy_decrement_mf(req);
	if (c != NULL && c->relay && osip_list_size(&req->bodies) > 0) {
		/* an ACK with the answer to a late offer: a copy waits for mediad */
		struct pack *pa = xcalloc(1, sizeof(*pa));
		struct media_op *op;
		int r;

		pa->dst = dst;
		if (osip_message_clone(req, &pa->ack) != 0) {
			free(pa);
			return;
		}
		r = media_sdp(sd, c, pa->ack, leg == &c->callee ? 0 : 1, &dst, proxy_ack_media_cb,
		    pa, &op);
		if (r == MEDIA_LATER)
			return;
		proxy_ack_media_cb(sd, r == MEDIA_NOW ? 0 : r, pa);
		return;
	}
	/* in place: the caller frees req right after */
	fwd = req;
	txn_add_via(sd, fwd, &dst);
	if (msg_to_str(fwd, &buf, &len) == 0) {
		tp_send(sd, &dst, buf, len);
		osip_free(buf);
	}
}

/* ------------------------------------------------------------ entry points */

void
proxy_request(struct sipd *sd, struct txn *st, osip_message_t *req, const struct tp_source *src)
{
	const char *method = req->sip_method, *mf;
	char looptag[17];
	int had_route;

	if (st == NULL) {
		if (msg_to_tag(req) == NULL || room_in_dialog(sd, NULL, req, src) != 0)
			proxy_ack(sd, req, src);
		return;
	}
	mf = msg_header(req, "max-forwards");
	if (mf != NULL && atoi(mf) == 0 && !(strcmp(method, "OPTIONS") == 0 &&
	    req->req_uri->username == NULL && proxy_uri_is_local(sd, req->req_uri))) {
		txn_reply_status(sd, st, 483, NULL);
		return;
	}
	proxy_loop_tag(req, looptag);
	if (proxy_is_loop(sd, req, looptag)) {
		txn_reply_status(sd, st, 482, NULL);
		return;
	}
	had_route = proxy_pop_routes(sd, req);

	if (msg_to_tag(req) != NULL) {
		if (room_in_dialog(sd, st, req, src) != 0)
			proxy_in_dialog(sd, st, src, had_route, looptag);
		return;
	}
	if (!proxy_uri_is_local(sd, req->req_uri)) {
		/* not for us, and not in a dialog we route: we are no open relay */
		txn_reply_status(sd, st, 403, "Relaying denied");
		return;
	}
	if (strcmp(method, "REGISTER") == 0) {
		reg_request(sd, st, req);
		return;
	}
	if (room_is_room(sd, req->req_uri->username)) {
		/* a room: sipd is the UAS */
		if (strcmp(method, "INVITE") == 0) {
			if (!proxy_authenticate(sd, st, src))
				room_invite(sd, st, src);
		} else if (strcmp(method, "OPTIONS") == 0)
			proxy_options_self(sd, st);
		else
			txn_reply_hdrs(sd, st, 405, NULL, "Allow: INVITE, OPTIONS\r\n");
		return;
	}
	if (strcmp(method, "OPTIONS") == 0) {
		if (req->req_uri->username == NULL)
			proxy_options_self(sd, st);
		else
			proxy_to_user(sd, st, src, looptag);
		return;
	}
	if (strcmp(method, "INVITE") == 0 || strcmp(method, "MESSAGE") == 0) {
		proxy_to_user(sd, st, src, looptag);
		return;
	}
	if (strcmp(method, "BYE") == 0 || strcmp(method, "INFO") == 0 ||
	    strcmp(method, "UPDATE") == 0 || strcmp(method, "PRACK") == 0 ||
	    strcmp(method, "NOTIFY") == 0) {
		txn_reply_status(sd, st, 481, NULL);
		return;
	}
	if (strcmp(method, "SUBSCRIBE") == 0 || strcmp(method, "PUBLISH") == 0 ||
	    strcmp(method, "REFER") == 0) {
		txn_reply_hdrs(sd, st, 405, NULL, "Allow: " PROXY_ALLOW "\r\n");
		return;
	}
	txn_reply_hdrs(sd, st, 501, NULL, "Allow: " PROXY_ALLOW "\r\n");
}

void
proxy_cancel(struct sipd *sd, struct txn *ist)
{
	struct pctx *ctx;

	if (room_cancel(sd, ist))
		return;
	ctx = ist->tu;
	if (ctx == NULL || ctx->answered)
		return;
	ctx->cancelled = 1;
	if (ctx->npending == 0 && ctx->st != NULL) {
		/* nothing left to CANCEL downstream: end it here */
		struct txn *st = ctx->st;

		proxy_call_unanswered(ctx, 487);
		ctx->st = NULL;
		proxy_drop_queued(ctx);
		txn_reply_status(sd, st, 487, NULL);
		proxy_ctx_maybe_done(ctx);
		return;
	}
	proxy_cancel_branches(ctx);
}

void
proxy_stray_response(struct sipd *sd, osip_message_t *resp)
{
	osip_message_t *up = NULL;
	osip_via_t *v, *next;
	osip_generic_param_t *p = NULL;
	struct tp_source dst;
	const char *host;
	int port;
	char *buf;
	size_t len;

	/* only responses to what we forwarded: the top Via must be ours, MAC and all */
	v = osip_list_get(&resp->vias, 0);
	if (v == NULL || v->host == NULL || !tp_is_local(sd, v->host, v->port ? atoi(v->port) : 0) ||
	    osip_list_size(&resp->vias) < 2 ||
	    osip_via_param_get_byname(v, "branch", &p) != 0 || p == NULL ||
	    !msg_branch_ours(p->gvalue)) {
		sd->stats.dropped++;
		return;
	}
	p = NULL;
	up = resp;	/* in place: the caller frees it */
	if (up->call_id != NULL && up->call_id->number != NULL) {
		/* a retransmitted 2xx carries the SDP mediad has already taken */
		struct call *c = call_find(sd, up->call_id->number);
		const char *ftag = msg_from_tag(up);
		int from_leg = c != NULL && c->caller.tag != NULL && ftag != NULL &&
		    strcmp(ftag, c->caller.tag) == 0 ? 1 : 0;

		if (c != NULL && media_sdp_again(sd, c, up, from_leg) != 0)
			log_info("proxy: call %s: a 2xx with a new SDP from another fork "
			    "goes on unanchored", c->call_id);
	}
	v = osip_list_get(&up->vias, 0);
	osip_list_remove(&up->vias, 0);
	osip_via_free(v);
	next = osip_list_get(&up->vias, 0);
	host = next->host;
	port = next->port ? atoi(next->port) : 5060;
	if (osip_via_param_get_byname(next, "received", &p) == 0 && p != NULL && p->gvalue != NULL)
		host = p->gvalue;
	p = NULL;
	if (osip_via_param_get_byname(next, "rport", &p) == 0 && p != NULL && p->gvalue != NULL)
		port = atoi(p->gvalue);
	if (tp_resolve(sd, host, port,
	    next->protocol && strcasecmp(next->protocol, "TCP") == 0 ? TP_TCP : TP_UDP, &dst) == 0 &&
	    msg_to_str(up, &buf, &len) == 0) {
		tp_send(sd, &dst, buf, len);
		osip_free(buf);
	}
}

int
proxy_init(struct sipd *sd)
{
	(void)sd;
	return 0;
}

void
proxy_shutdown(struct sipd *sd)
{
	(void)sd;
}
