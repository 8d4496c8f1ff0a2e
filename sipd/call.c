/*
 * call.c — the 1:1 calls sipd routes: one record per initial INVITE it
 * accepted, keyed by Call-ID, from call-start until call-end (or an
 * unanswered outcome).  It keeps what the operator sees (sipctl calls) and
 * what sipd needs to speak for a party: each leg's tags, remote target,
 * source address and highest CSeq, so that `sipctl call hangup` can send
 * both phones a BYE they accept.  Every journal line about a call is
 * written here.
 *
 * It does not route (proxy.c does) and never sends anything but the
 * admin's BYEs.  Limits: the BYEs of a hangup go straight to each phone;
 * a dialog that crosses further proxies beyond sipd is not supported.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <osipparser2/osip_port.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "sipd.h"

struct call_table {
	struct call	**buckets;
	size_t		  nbuckets;
	size_t		  count;
	struct call	 *head, *tail;	/* in start order */
};

static uint64_t
call_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

int
call_init(struct sipd *sd)
{
	sd->calls = xcalloc(1, sizeof(*sd->calls));
	sd->calls->nbuckets = 4096;
	sd->calls->buckets = xcalloc(sd->calls->nbuckets, sizeof(struct call *));
	return 0;
}

static void
call_leg_free(struct call_leg *l)
{
	free(l->uri);
	free(l->tag);
	free(l->contact);
}

static void
call_end_ignored(struct sipd *sd, const struct media_totals *t, void *arg)
{
	(void)sd;
	(void)t;
	(void)arg;
}

static void
call_free(struct sipd *sd, struct call *c)
{
	struct call_table *ct = sd->calls;
	struct call **pp = &ct->buckets[call_hash(c->call_id) & (ct->nbuckets - 1)];

	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	if (c->lprev != NULL)
		c->lprev->lnext = c->lnext;
	else
		ct->head = c->lnext;
	if (c->lnext != NULL)
		c->lnext->lprev = c->lprev;
	else
		ct->tail = c->lprev;
	ct->count--;
	/* a session left on mediad (a call that ended unanswered): delete it */
	if (c->node >= 0 && !sd->stopping_hard)
		(void)media_call_end(sd, c, "", call_end_ignored, NULL);
	call_leg_free(&c->caller);
	call_leg_free(&c->callee);
	free(c->call_id);
	free(c->media);
	free(c->sdp_in[0]);
	free(c->sdp_in[1]);
	free(c->sdp_out[0]);
	free(c->sdp_out[1]);
	free(c);
}

void
call_shutdown(struct sipd *sd)
{
	if (sd->calls == NULL)
		return;
	while (sd->calls->head != NULL)
		call_free(sd, sd->calls->head);
	free(sd->calls->buckets);
	free(sd->calls);
	sd->calls = NULL;
}

const char *
call_state_name(enum call_state s)
{
	switch (s) {
	case CALL_TRYING: return "trying";
	case CALL_RINGING: return "ringing";
	case CALL_ANSWERED: return "answered";
	default: return "ended";
	}
}

const char *
call_leg_user(const struct call_leg *l)
{
	const char *at, *colon;
	static char buf[2][256];
	static int k;

	if (l->uri == NULL)
		return "";
	colon = strchr(l->uri, ':');
	at = strchr(l->uri, '@');
	if (colon == NULL || at == NULL || at < colon || (size_t)(at - colon - 1) >= sizeof(buf[0]))
		return l->uri;
	k ^= 1;
	memcpy(buf[k], colon + 1, (size_t)(at - colon - 1));
	buf[k][at - colon - 1] = '\0';
	return buf[k];
}

static char *
call_contact_of(const osip_message_t *m)
{
	osip_contact_t *ct = osip_list_get(&m->contacts, 0);

	if (ct == NULL || ct->url == NULL)
		return NULL;
	return msg_uri_str(ct->url);
}

struct call *
call_find(struct sipd *sd, const char *call_id)
{
	struct call_table *ct = sd->calls;
	struct call *c;

	for (c = ct->buckets[call_hash(call_id) & (ct->nbuckets - 1)]; c != NULL; c = c->hnext)
		if (strcmp(c->call_id, call_id) == 0)
			return c;
	return NULL;
}

struct call *
call_start(struct sipd *sd, const osip_message_t *invite, const struct tp_source *src,
    const char *media)
{
	struct call_table *ct = sd->calls;
	struct call *c;
	size_t k;

	if ((c = call_find(sd, invite->call_id->number)) != NULL)
		return c;
	c = xcalloc(1, sizeof(*c));
	c->call_id = xstrdup(invite->call_id->number);
	c->state = CALL_TRYING;
	c->caller.uri = msg_uri_str(invite->from->url);
	c->caller.tag = msg_from_tag(invite) ? xstrdup(msg_from_tag(invite)) : NULL;
	c->caller.contact = call_contact_of(invite);
	c->caller.src = *src;
	c->caller.cseq = msg_cseq_num(invite);
	c->caller.cseq_known = 1;
	c->callee.uri = msg_uri_str(invite->to->url);
	c->media = xstrdup(media);
	c->node = -1;
	c->start_wall = time(NULL);
	c->start_ms = loop_now(sd->loop);

	if (ct->count >= ct->nbuckets) {
		/* grow: rehash every call */
		size_t n = ct->nbuckets * 2, i;
		struct call **b = xcalloc(n, sizeof(*b));

		for (i = 0; i < ct->nbuckets; i++) {
			struct call *x = ct->buckets[i], *next;

			for (; x != NULL; x = next) {
				next = x->hnext;
				k = call_hash(x->call_id) & (n - 1);
				x->hnext = b[k];
				b[k] = x;
			}
		}
		free(ct->buckets);
		ct->buckets = b;
		ct->nbuckets = n;
	}
	k = call_hash(c->call_id) & (ct->nbuckets - 1);
	c->hnext = ct->buckets[k];
	ct->buckets[k] = c;
	c->lprev = ct->tail;
	if (ct->tail != NULL)
		ct->tail->lnext = c;
	else
		ct->head = c;
	ct->tail = c;
	ct->count++;
	journal_write(sd->journal, "call-start", "call", c->call_id,
	    "from", call_leg_user(&c->caller), "to", call_leg_user(&c->callee),
	    "media", c->media, (char *)NULL);
	return c;
}

void
call_invite_response(struct sipd *sd, struct call *c, const osip_message_t *resp,
    const struct tp_source *src)
{
	int status = resp->status_code;

	if ((status == 180 || status == 183) && c->state == CALL_TRYING) {
		c->state = CALL_RINGING;
		journal_write(sd->journal, "call-ringing", "call", c->call_id,
		    "from", call_leg_user(&c->caller), "to", call_leg_user(&c->callee),
		    (char *)NULL);
	} else if (status / 100 == 2 && c->state < CALL_ANSWERED) {
		c->state = CALL_ANSWERED;
		c->answer_ms = loop_now(sd->loop);
		free(c->callee.tag);
		c->callee.tag = msg_to_tag(resp) ? xstrdup(msg_to_tag(resp)) : NULL;
		free(c->callee.contact);
		c->callee.contact = call_contact_of(resp);
		c->callee.src = *src;
		journal_write(sd->journal, "call-answer", "call", c->call_id,
		    "from", call_leg_user(&c->caller), "to", call_leg_user(&c->callee),
		    "media", c->media, (char *)NULL);
	}
}

void
call_unanswered(struct sipd *sd, struct call *c, int status, enum call_outcome how)
{
	const char *event;
	char st[8];

	if (how == CALL_OUT_NOANSWER)
		event = "call-noanswer";
	else if (how == CALL_OUT_CANCEL || status == 487)
		event = "call-cancel";
	else if (status == 486 || status == 600)
		event = "call-busy";
	else if (status == 603)
		event = "call-decline";
	else
		event = "call-fail";
	snprintf(st, sizeof(st), "%d", status);
	journal_write(sd->journal, event, "call", c->call_id, "from", call_leg_user(&c->caller),
	    "to", call_leg_user(&c->callee), "status", st, (char *)NULL);
	call_free(sd, c);
}

struct call_leg *
call_in_dialog(struct sipd *sd, struct call *c, const osip_message_t *req,
    const struct tp_source *src)
{
	const char *ftag = msg_from_tag(req);
	struct call_leg *from = NULL, *to = NULL;
	int cseq = msg_cseq_num(req);

	if (ftag == NULL)
		return NULL;
	if (c->caller.tag != NULL && strcmp(ftag, c->caller.tag) == 0) {
		from = &c->caller;
		to = &c->callee;
	} else if (c->callee.tag != NULL && strcmp(ftag, c->callee.tag) == 0) {
		from = &c->callee;
		to = &c->caller;
	} else
		return NULL;
	if (strcmp(req->sip_method, "ACK") != 0 && strcmp(req->sip_method, "CANCEL") != 0 &&
	    (!from->cseq_known || cseq > from->cseq)) {
		from->cseq = cseq;
		from->cseq_known = 1;
	}
	if (strcmp(req->sip_method, "INVITE") == 0 || strcmp(req->sip_method, "UPDATE") == 0) {
		/* a target refresh (RFC 3261 12.2.2) */
		char *contact = call_contact_of(req);

		if (contact != NULL) {
			free(from->contact);
			from->contact = contact;
		}
	}
	(void)src;
	return to;
}

void
call_transfer(struct sipd *sd, struct call *c, const char *target)
{
	char *t = xstrdup(target), *p;

	/* the bare URI of Refer-To, without <> and its Replaces header */
	p = t;
	if (*p == '<')
		p++;
	p[strcspn(p, ">?")] = '\0';
	journal_write(sd->journal, "call-transfer", "call", c->call_id,
	    "from", call_leg_user(&c->caller), "to", call_leg_user(&c->callee), "target", p,
	    (char *)NULL);
	free(t);
}

/* a call-end line waiting for mediad's final figures */
struct call_end_line {
	char	*call_id, *from, *to, *by, *reason;
	char	 dur[32];
};

static void
call_end_write(struct sipd *sd, const struct call_end_line *e, const struct media_totals *t)
{
	char n[4][24];

	if (t != NULL) {
		snprintf(n[0], sizeof(n[0]), "%llu", (unsigned long long)t->pkts[0]);
		snprintf(n[1], sizeof(n[1]), "%llu", (unsigned long long)t->pkts[1]);
		snprintf(n[2], sizeof(n[2]), "%llu", (unsigned long long)t->lost[0]);
		snprintf(n[3], sizeof(n[3]), "%llu", (unsigned long long)t->lost[1]);
	}
	journal_write(sd->journal, "call-end", "call", e->call_id, "from", e->from,
	    "to", e->to, "by", e->by, "duration", e->dur, "reason", e->reason,
	    "caller_pkts", t ? n[0] : NULL, "callee_pkts", t ? n[1] : NULL,
	    "caller_lost", t ? n[2] : NULL, "callee_lost", t ? n[3] : NULL, (char *)NULL);
}

static void
call_end_line_free(struct call_end_line *e)
{
	free(e->call_id);
	free(e->from);
	free(e->to);
	free(e->by);
	free(e->reason);
	free(e);
}

static void
call_end_figures(struct sipd *sd, const struct media_totals *t, void *arg)
{
	struct call_end_line *e = arg;

	if (t == NULL)
		log_warnx("call %s: mediad gave no final figures", e->call_id);
	call_end_write(sd, e, t);
	call_end_line_free(e);
}

void
call_end_reason(struct sipd *sd, struct call *c, const char *who, const char *reason)
{
	struct call_end_line *e = xcalloc(1, sizeof(*e));
	uint64_t now = loop_now(sd->loop);

	if (c->state == CALL_ANSWERED)
		snprintf(e->dur, sizeof(e->dur), "%.3f", (double)(now - c->answer_ms) / 1000.0);
	else
		snprintf(e->dur, sizeof(e->dur), "0.000");
	e->call_id = xstrdup(c->call_id);
	e->from = xstrdup(call_leg_user(&c->caller));
	e->to = xstrdup(call_leg_user(&c->callee));
	e->by = xstrdup(who);
	e->reason = reason ? xstrdup(reason) : NULL;
	if (c->node >= 0 && media_call_end(sd, c, who, call_end_figures, e) == 0) {
		c->node = -1;	/* deleted: call_free leaves mediad alone */
		call_free(sd, c);
		return;
	}
	c->node = -1;
	call_end_write(sd, e, NULL);
	call_end_line_free(e);
	call_free(sd, c);
}

void
call_end(struct sipd *sd, struct call *c, const char *who)
{
	call_end_reason(sd, c, who, NULL);
}

void
call_media_timeout(struct sipd *sd, const char *call_id, uint32_t idle_ms)
{
	struct call *c = call_find(sd, call_id);

	if (c == NULL && room_media_timeout(sd, call_id, idle_ms))
		return;		/* a room participant's */
	if (c == NULL || c->state != CALL_ANSWERED)
		return;		/* ringing: no media expected yet */
	log_info("call %s: no RTP for %u ms: hanging up", call_id, idle_ms);
	call_hangup_by(sd, call_id, "timeout", NULL);
}

void
call_media_lost(struct sipd *sd, int node)
{
	struct call *c, *next;

	room_media_lost(sd, node);
	for (c = sd->calls->head; c != NULL; c = next) {
		next = c->lnext;
		if (c->node != node)
			continue;
		c->node = -1;		/* its session is gone with the node */
		c->updates_sent = 0;
		if (c->state == CALL_ANSWERED) {
			log_warnx("call %s: its mediad is lost: hanging up", c->call_id);
			call_hangup_by(sd, c->call_id, "timeout", "media-lost");
		}
	}
}

int
call_leg_bye(struct sipd *sd, const char *call_id, struct call_leg *from, struct call_leg *to,
    const char *why)
{
	osip_message_t *bye = NULL;
	osip_uri_t *u = NULL;
	char *buf, cseq[16];
	int err = EINVAL;

	if (to->contact == NULL || osip_message_init(&bye) != 0)
		return EINVAL;
	osip_message_set_method(bye, osip_strdup("BYE"));
	osip_message_set_version(bye, osip_strdup("SIP/2.0"));
	if (osip_uri_init(&u) != 0 || osip_uri_parse(u, to->contact) != 0) {
		osip_uri_free(u);
		goto out;
	}
	bye->req_uri = u;
	xasprintf(&buf, "<%s>%s%s", from->uri, from->tag ? ";tag=" : "", from->tag ? from->tag : "");
	osip_message_set_from(bye, buf);
	free(buf);
	xasprintf(&buf, "<%s>%s%s", to->uri, to->tag ? ";tag=" : "", to->tag ? to->tag : "");
	osip_message_set_to(bye, buf);
	free(buf);
	osip_message_set_call_id(bye, call_id);
	from->cseq = from->cseq_known ? from->cseq + 1 : 1;
	from->cseq_known = 1;
	snprintf(cseq, sizeof(cseq), "%d BYE", from->cseq);
	osip_message_set_cseq(bye, cseq);
	osip_message_set_header(bye, "Max-Forwards", "70");
	xasprintf(&buf, "SIP;cause=200;text=\"%s\"", why);
	osip_message_set_header(bye, "Reason", buf);
	free(buf);
	osip_message_set_header(bye, "User-Agent", sd->server_name);
	osip_message_set_content_length(bye, "0");
	txn_add_via(sd, bye, &to->src);
	if (txn_client(sd, bye, &to->src, NULL, NULL) != NULL)
		err = 0;
	return err;
out:
	osip_message_free(bye);
	return err;
}

int
call_hangup_by(struct sipd *sd, const char *call_id, const char *who, const char *reason)
{
	struct call *c = call_find(sd, call_id);
	const char *why;
	int e1, e2;

	if (c == NULL)
		return ENOENT;
	if (c->state != CALL_ANSWERED)
		return EBUSY;	/* not answered yet: the caller's CANCEL ends it */
	why = strcmp(who, "admin") == 0 ? "Call ended by the operator" :
	    reason != NULL ? "Media relay lost" : "No media (RTP timeout)";
	e1 = call_leg_bye(sd, c->call_id, &c->caller, &c->callee, why);
	e2 = call_leg_bye(sd, c->call_id, &c->callee, &c->caller, why);
	if (e1 || e2)
		log_warnx("call %s: could not send every BYE of the hangup", call_id);
	call_end_reason(sd, c, who, reason);
	return 0;
}

int
call_hangup(struct sipd *sd, const char *call_id)
{
	return call_hangup_by(sd, call_id, "admin", NULL);
}

void
call_foreach(struct sipd *sd, call_visit_cb cb, void *arg)
{
	struct call *c;

	for (c = sd->calls->head; c != NULL; c = c->lnext)
		cb(c, arg);
}

size_t
call_count(struct sipd *sd)
{
	return sd->calls->count;
}
