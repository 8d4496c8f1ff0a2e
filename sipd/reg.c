/*
 * reg.c — the registrar (RFC 3261 §10.3) and the location table.
 *
 * A REGISTER for a user of our domain (To host = sip.domain or one of our
 * addresses) is authenticated when sip.auth is on, then its Contacts are
 * applied as one unit: each contact's ;expires, else the Expires header,
 * else sip.default_expires; 0 removes the binding, less than min_expires is
 * 423, more than max_expires is cut down.  `Contact: *` with `Expires: 0`
 * removes every binding of the user.  A binding whose stored Call-ID equals
 * the request's and whose CSeq is not lower than the request's makes the
 * whole request fail with 400 (RFC 3261 10.3 steps 6-7: an old request
 * overtaken by a newer one must not undo it).  The 200 OK lists every
 * current binding with its remaining seconds and carries a Date.
 *
 * Bindings are keyed by the contact URI as text (osip_uri_to_str of the
 * Contact URL without its ?headers), not by RFC 3261 URI equality: phones
 * send the same text on every refresh.  Each one remembers the transport
 * source it registered from, so requests reach phones behind NAT where
 * they really are.  Users are hashed by name; a second hash on the contact
 * URI serves reg_find_contact.  At most REG_MAX_CONTACTS per user (403
 * beyond that), so one account cannot grow the table without bound.
 *
 * Journal: `register` for a new binding and for a refresh that changes
 * where the phone is (source address or transport) or which registration it
 * is (Call-ID: the phone restarted); a plain refresh is not logged, as
 * phones refresh every minute or so and an operator tailing the journal
 * wants changes, not heartbeats.  `unregister` when a REGISTER removes a
 * binding, `expire` when its timer runs out, `auth-fail` for rejected
 * credentials.  addr is always the binding's own source address.
 *
 * Not here: digest checking (auth.c), sending and retransmitting the
 * response (txn.c), routing to the bindings (proxy.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <osipparser2/osip_port.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "sipd.h"

#define REG_MAX_CONTACTS	32	/* per user, and per request */

struct reg_user {
	char			*name;
	struct reg_binding	*bindings;	/* linked by next */
	size_t			 nbind;
	struct reg_user		*hnext;
};

/* A binding and its place in the contact hash; b first, so they convert. */
struct reg_entry {
	struct reg_binding	 b;
	struct reg_entry	*cnext;
	uint32_t		 chash;
	struct sipd		*sd;
};

struct reg_table {
	struct reg_user		**users;
	size_t			  nubuckets, nusers;	/* power of two */
	struct reg_entry	**contacts;
	size_t			  ncbuckets, nbindings;	/* power of two */
};

/* One Contact of a REGISTER, checked before anything changes. */
struct reg_change {
	char			*contact;	/* osip-allocated */
	int			 expires;	/* s; 0 removes */
	struct reg_binding	*b;		/* the existing binding, or NULL */
};

/* ------------------------------------------------------------ tables */

static uint32_t
reg_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct reg_user *
reg_user_find(struct reg_table *rt, const char *name)
{
	struct reg_user *u;

	for (u = rt->users[reg_hash(name) & (rt->nubuckets - 1)]; u != NULL; u = u->hnext)
		if (strcmp(u->name, name) == 0)
			return u;
	return NULL;
}

static void
reg_users_grow(struct reg_table *rt)
{
	size_t n = rt->nubuckets * 2, i;
	struct reg_user **nb = xcalloc(n, sizeof(*nb));

	for (i = 0; i < rt->nubuckets; i++) {
		struct reg_user *u, *next;

		for (u = rt->users[i]; u != NULL; u = next) {
			uint32_t h = reg_hash(u->name) & (uint32_t)(n - 1);

			next = u->hnext;
			u->hnext = nb[h];
			nb[h] = u;
		}
	}
	free(rt->users);
	rt->users = nb;
	rt->nubuckets = n;
}

static struct reg_user *
reg_user_get(struct reg_table *rt, const char *name)
{
	struct reg_user *u = reg_user_find(rt, name);
	uint32_t h;

	if (u != NULL)
		return u;
	if (rt->nusers >= rt->nubuckets)
		reg_users_grow(rt);
	u = xcalloc(1, sizeof(*u));
	u->name = xstrdup(name);
	h = reg_hash(name) & (uint32_t)(rt->nubuckets - 1);
	u->hnext = rt->users[h];
	rt->users[h] = u;
	rt->nusers++;
	return u;
}

/* Frees u if it has no bindings left. */
static void
reg_user_gc(struct reg_table *rt, struct reg_user *u)
{
	struct reg_user **pp;

	if (u->bindings != NULL)
		return;
	for (pp = &rt->users[reg_hash(u->name) & (rt->nubuckets - 1)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == u) {
			*pp = u->hnext;
			break;
		}
	rt->nusers--;
	free(u->name);
	free(u);
}

static void
reg_contacts_grow(struct reg_table *rt)
{
	size_t n = rt->ncbuckets * 2, i;
	struct reg_entry **nb = xcalloc(n, sizeof(*nb));

	for (i = 0; i < rt->ncbuckets; i++) {
		struct reg_entry *e, *next;

		for (e = rt->contacts[i]; e != NULL; e = next) {
			next = e->cnext;
			e->cnext = nb[e->chash & (n - 1)];
			nb[e->chash & (n - 1)] = e;
		}
	}
	free(rt->contacts);
	rt->contacts = nb;
	rt->ncbuckets = n;
}

static void reg_expire_cb(void *arg);

static struct reg_binding *
reg_binding_add(struct sipd *sd, struct reg_user *u, const char *contact)
{
	struct reg_table *rt = sd->reg;
	struct reg_entry *e = xcalloc(1, sizeof(*e)), **bucket;
	struct reg_binding *b = &e->b;

	if (rt->nbindings >= rt->ncbuckets)
		reg_contacts_grow(rt);
	e->sd = sd;
	e->chash = reg_hash(contact);
	b->user = u->name;
	b->contact = xstrdup(contact);
	b->owner = u;
	loop_timer_init(&b->t_expire, reg_expire_cb, e);
	b->next = u->bindings;
	u->bindings = b;
	u->nbind++;
	bucket = &rt->contacts[e->chash & (rt->ncbuckets - 1)];
	e->cnext = *bucket;
	*bucket = e;
	rt->nbindings++;
	return b;
}

/* Unlinks and frees b; its user stays (see reg_user_gc). */
static void
reg_binding_free(struct sipd *sd, struct reg_binding *b)
{
	struct reg_table *rt = sd->reg;
	struct reg_entry *e = (struct reg_entry *)b, **ep;
	struct reg_user *u = b->owner;
	struct reg_binding **bp;

	loop_timer_stop(sd->loop, &b->t_expire);
	for (bp = &u->bindings; *bp != NULL; bp = &(*bp)->next)
		if (*bp == b) {
			*bp = b->next;
			u->nbind--;
			break;
		}
	for (ep = &rt->contacts[e->chash & (rt->ncbuckets - 1)]; *ep != NULL; ep = &(*ep)->cnext)
		if (*ep == e) {
			*ep = e->cnext;
			rt->nbindings--;
			break;
		}
	free(b->contact);
	free(b->call_id);
	free(e);
}

/* ------------------------------------------------------------ helpers */


static void
reg_journal(struct sipd *sd, const char *event, const struct reg_binding *b, int expires)
{
	char addr[96], exp[16];

	tp_addr_str(&b->src.peer, addr, sizeof(addr));
	if (expires >= 0)
		snprintf(exp, sizeof(exp), "%d", expires);
	journal_write(sd->journal, event, "user", b->user, "contact", b->contact,
	    "addr", addr, "expires", expires >= 0 ? exp : NULL, NULL);
}

static void
reg_expire_cb(void *arg)
{
	struct reg_entry *e = arg;
	struct sipd *sd = e->sd;
	struct reg_user *u = e->b.owner;

	log_debug("reg: %s at %s expired", e->b.user, e->b.contact);
	reg_journal(sd, "expire", &e->b, -1);
	reg_binding_free(sd, &e->b);
	reg_user_gc(sd->reg, u);
}

/* Seconds left of b, rounded up (a binding never shows 0 while alive). */
static int
reg_remaining(struct sipd *sd, const struct reg_binding *b)
{
	uint64_t now = loop_now(sd->loop);

	if (b->expires_at <= now)
		return 1;
	return (int)((b->expires_at - now + 999) / 1000);
}

/*
 * Parses a delta-seconds value (Expires header, ;expires parameter).
 * Values beyond INT_MAX are cut to INT_MAX (RFC 3261 says so for 2^32-1).
 */
static int
reg_parse_delta(const char *s, int *out)
{
	unsigned long long v = 0;

	if (s == NULL)
		return EINVAL;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return EINVAL;
	for (; *s >= '0' && *s <= '9'; s++)
		if (v < (unsigned long long)INT_MAX)
			v = v * 10 + (unsigned long long)(*s - '0');
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '\0')
		return EINVAL;
	*out = v > (unsigned long long)INT_MAX ? INT_MAX : (int)v;
	return 0;
}

/* Does the request's Call-ID equal the stored one? */
static int
reg_callid_equal(const char *stored, const osip_call_id_t *cid)
{
	size_t n;

	if (stored == NULL || cid == NULL || cid->number == NULL)
		return 0;
	n = strlen(cid->number);
	if (strncmp(stored, cid->number, n) != 0)
		return 0;
	if (cid->host == NULL)
		return stored[n] == '\0';
	return stored[n] == '@' && strcmp(stored + n + 1, cid->host) == 0;
}

static char *
reg_callid_str(const osip_call_id_t *cid)
{
	char *s;

	if (cid == NULL || cid->number == NULL)
		return xstrdup("");
	if (cid->host == NULL)
		return xstrdup(cid->number);
	xasprintf(&s, "%s@%s", cid->number, cid->host);
	return s;
}

/* The Contact URL as text, without ?headers; osip-allocated (osip_free). */
static char *
reg_contact_str(const osip_uri_t *url)
{
	osip_uri_t *copy = NULL;
	char *s = NULL;

	if (osip_list_size(&url->url_headers) == 0) {
		if (osip_uri_to_str(url, &s) != 0)
			return NULL;
		return s;
	}
	if (osip_uri_clone(url, &copy) != 0)
		return NULL;
	osip_uri_header_freelist(&copy->url_headers);
	if (osip_uri_to_str(copy, &s) != 0)
		s = NULL;
	osip_uri_free(copy);
	return s;
}

static int
reg_is_ours(struct sipd *sd, const osip_uri_t *to)
{
	int port;

	if (to->host == NULL)
		return 0;
	if (strcasecmp(to->host, sd->conf->domain) == 0)
		return 1;
	if (sd->tp == NULL)
		return 0;
	/* an AOR rarely has a port: without one, any of our addresses will do */
	port = to->port != NULL ? atoi(to->port) : 0;
	return tp_is_local(sd, to->host, port);
}

/* Sends a final response without bindings; warning becomes a Warning: 399. */
static void
reg_reply(struct sipd *sd, struct txn *st, osip_message_t *req, int status,
    const char *reason, const char *warning)
{
	char w[512];

	(void)req;
	if (warning != NULL)
		snprintf(w, sizeof(w), "Warning: 399 %s \"%s\"\r\n", sd->conf->domain, warning);
	txn_reply_hdrs(sd, st, status, reason, warning != NULL ? w : NULL);
}

static void
reg_reply_ok(struct sipd *sd, struct txn *st, osip_message_t *req, struct reg_user *u)
{
	struct reg_binding *b;
	char date[64], *hdrs = NULL;
	size_t len = 0, cap = 0;
	struct tm tm;
	time_t now = time(NULL);

	(void)req;
	for (b = u != NULL ? u->bindings : NULL; b != NULL; b = b->next) {
		size_t need = strlen(b->contact) + 48;

		if (len + need + 1 > cap) {
			cap = (len + need + 1) * 2;
			hdrs = xrealloc(hdrs, cap);
		}
		len += (size_t)snprintf(hdrs + len, cap - len, "Contact: <%s>;expires=%d\r\n",
		    b->contact, reg_remaining(sd, b));
	}
	if (gmtime_r(&now, &tm) != NULL &&
	    strftime(date, sizeof(date), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm) > 0) {
		size_t dl = strlen(date);

		if (len + dl + 1 > cap) {
			cap = len + dl + 1;
			hdrs = xrealloc(hdrs, cap);
		}
		memcpy(hdrs + len, date, dl + 1);
		len += dl;
	}
	txn_reply_hdrs(sd, st, 200, NULL, hdrs);
	free(hdrs);
}

/* ------------------------------------------------------------ REGISTER */

static void
reg_auth_fail(struct sipd *sd, struct txn *st, const char *user, const char *why)
{
	char addr[96];

	tp_addr_str(&st->peer.peer, addr, sizeof(addr));
	log_info("reg: REGISTER of %s from %s refused: %s", user, addr, why);
	journal_write(sd->journal, "auth-fail", "user", user, "addr", addr,
	    "method", "REGISTER", "reason", why, (char *)NULL);
}

/* Removes every binding of u (Contact: *); 0 or EAGAIN for an old request. */
static int
reg_remove_all(struct sipd *sd, struct reg_user *u, const osip_message_t *req, int cseq)
{
	struct reg_binding *b;

	for (b = u->bindings; b != NULL; b = b->next)
		if (reg_callid_equal(b->call_id, req->call_id) && cseq <= b->cseq)
			return EAGAIN;
	while ((b = u->bindings) != NULL) {
		reg_journal(sd, "unregister", b, -1);
		reg_binding_free(sd, b);
	}
	return 0;
}

/* Applies one checked change to user u. */
static void
reg_apply(struct sipd *sd, struct txn *st, const osip_message_t *req, struct reg_user *u,
    struct reg_change *ch, int cseq)
{
	struct reg_binding *b = ch->b;
	int changed = 0;

	if (ch->expires == 0) {
		if (b != NULL) {
			reg_journal(sd, "unregister", b, -1);
			reg_binding_free(sd, b);
		}
		return;
	}
	if (b == NULL) {
		b = reg_binding_add(sd, u, ch->contact);
		changed = 1;
	} else if (b->src.proto != st->peer.proto || !tp_addr_equal(&b->src.peer, &st->peer.peer))
		changed = 1;
	if (!reg_callid_equal(b->call_id, req->call_id)) {
		if (b->call_id != NULL)
			changed = 1;
		free(b->call_id);
		b->call_id = reg_callid_str(req->call_id);
	}
	b->cseq = cseq;
	b->src = st->peer;
	b->expires_at = loop_now(sd->loop) + (uint64_t)ch->expires * 1000;
	loop_timer_start(sd->loop, &b->t_expire, (uint64_t)ch->expires * 1000);
	if (changed)
		reg_journal(sd, "register", b, ch->expires);
	log_debug("reg: %s at %s for %d s", b->user, b->contact, ch->expires);
}

void
reg_request(struct sipd *sd, struct txn *st, osip_message_t *req)
{
	struct reg_table *rt = sd->reg;
	struct reg_change ch[REG_MAX_CONTACTS];
	struct reg_user *u;
	osip_header_t *eh = NULL;
	osip_contact_t *c;
	const char *user, *why = NULL;
	int ncontacts, nch = 0, i, k, hdr_expires = -1, cseq, adds, status = 0;
	const char *reason = NULL, *warning = NULL;
	char minexp[48];

	if (st == NULL || req == NULL)
		return;
	if (req->to == NULL || req->to->url == NULL || req->to->url->username == NULL ||
	    req->to->url->username[0] == '\0') {
		reg_reply(sd, st, req, 400, "Missing user in To", NULL);
		return;
	}
	user = req->to->url->username;
	if (!reg_is_ours(sd, req->to->url)) {
		reg_reply(sd, st, req, 403, NULL, "not our domain");
		return;
	}

	if (sd->conf->auth) {
		switch (auth_check(sd, req, user, 0, &why)) {
		case AUTH_OK:
			break;
		case AUTH_CHALLENGE: {
			char chal[256];

			auth_challenge_hdr(sd, 0, auth_last_stale(sd), chal, sizeof(chal));
			txn_reply_hdrs(sd, st, 401, NULL, chal);
			return;
		}
		case AUTH_FORBIDDEN:
			reg_auth_fail(sd, st, user, why);
			reg_reply(sd, st, req, 403, NULL, why);
			return;
		case AUTH_BAD:
		default:
			reg_auth_fail(sd, st, user, why != NULL ? why : "bad credentials");
			reg_reply(sd, st, req, 400, why, NULL);
			return;
		}
	}

	cseq = msg_cseq_num(req);
	if (osip_message_get_expires(req, 0, &eh) >= 0 && eh != NULL &&
	    reg_parse_delta(eh->hvalue, &hdr_expires) != 0) {
		reg_reply(sd, st, req, 400, "Bad Expires", NULL);
		return;
	}
	u = reg_user_find(rt, user);
	ncontacts = osip_list_size(&req->contacts);
	if (ncontacts == 0) {	/* a query */
		reg_reply_ok(sd, st, req, u);
		return;
	}

	/* Contact: * */
	for (i = 0; i < ncontacts; i++) {
		c = osip_list_get(&req->contacts, i);
		if (c != NULL && c->url == NULL && c->displayname != NULL &&
		    strcmp(c->displayname, "*") == 0)
			break;
	}
	if (i < ncontacts) {
		if (ncontacts != 1 || hdr_expires != 0) {
			reg_reply(sd, st, req, 400, "Invalid wildcard Contact", NULL);
			return;
		}
		if (u != NULL && reg_remove_all(sd, u, req, cseq) != 0) {
			reg_reply(sd, st, req, 400, "Out-of-order CSeq", NULL);
			return;
		}
		if (u != NULL)
			reg_user_gc(rt, u);
		reg_reply_ok(sd, st, req, NULL);
		return;
	}

	/* check every contact before changing anything */
	if (ncontacts > REG_MAX_CONTACTS) {
		reg_reply(sd, st, req, 403, NULL, "too many contacts");
		return;
	}
	for (i = 0; i < ncontacts; i++) {
		osip_generic_param_t *p = NULL;
		struct reg_binding *b;
		char *cs;
		int e;

		c = osip_list_get(&req->contacts, i);
		if (c == NULL || c->url == NULL || (cs = reg_contact_str(c->url)) == NULL) {
			status = 400;
			reason = "Bad Contact";
			goto out;
		}
		if (osip_contact_param_get_byname(c, "expires", &p) == 0 && p != NULL) {
			if (reg_parse_delta(p->gvalue, &e) != 0) {
				osip_free(cs);
				status = 400;
				reason = "Bad Contact expires";
				goto out;
			}
		} else if (hdr_expires >= 0)
			e = hdr_expires;
		else
			e = sd->conf->default_expires;
		if (e != 0 && e < sd->conf->min_expires) {
			osip_free(cs);
			status = 423;
			goto out;
		}
		if (e > sd->conf->max_expires)
			e = sd->conf->max_expires;
		/* the same contact twice: the last one counts */
		for (k = 0; k < nch; k++)
			if (strcmp(ch[k].contact, cs) == 0)
				break;
		if (k < nch) {
			osip_free(cs);
			ch[k].expires = e;
			continue;
		}
		for (b = u != NULL ? u->bindings : NULL; b != NULL; b = b->next)
			if (strcmp(b->contact, cs) == 0)
				break;
		if (b != NULL && reg_callid_equal(b->call_id, req->call_id) && cseq <= b->cseq) {
			osip_free(cs);
			status = 400;
			reason = "Out-of-order CSeq";
			goto out;
		}
		ch[nch].contact = cs;
		ch[nch].expires = e;
		ch[nch].b = b;
		nch++;
	}
	adds = 0;
	for (k = 0; k < nch; k++)
		adds += ch[k].b == NULL && ch[k].expires > 0;
	if ((u != NULL ? u->nbind : 0) + (size_t)adds > REG_MAX_CONTACTS) {
		status = 403;
		warning = "too many contacts";
		goto out;
	}

	if (u == NULL)
		u = reg_user_get(rt, user);
	for (k = 0; k < nch; k++)
		reg_apply(sd, st, req, u, &ch[k], cseq);
	if (u->bindings == NULL) {	/* all removed: forget the user */
		reg_user_gc(rt, u);
		u = NULL;
	}
	reg_reply_ok(sd, st, req, u);
out:
	for (k = 0; k < nch; k++)
		osip_free(ch[k].contact);
	if (status == 423) {
		snprintf(minexp, sizeof(minexp), "Min-Expires: %d\r\n", sd->conf->min_expires);
		txn_reply_hdrs(sd, st, 423, NULL, minexp);
	} else if (status != 0)
		reg_reply(sd, st, req, status, reason, warning);
}

/* ------------------------------------------------------------ the table */

int
reg_init(struct sipd *sd)
{
	struct reg_table *rt = xcalloc(1, sizeof(*rt));

	rt->nubuckets = 64;
	rt->users = xcalloc(rt->nubuckets, sizeof(*rt->users));
	rt->ncbuckets = 64;
	rt->contacts = xcalloc(rt->ncbuckets, sizeof(*rt->contacts));
	sd->reg = rt;
	return 0;
}

void
reg_shutdown(struct sipd *sd)
{
	struct reg_table *rt = sd->reg;
	size_t i;

	if (rt == NULL)
		return;
	for (i = 0; i < rt->nubuckets; i++) {
		struct reg_user *u;

		while ((u = rt->users[i]) != NULL) {
			while (u->bindings != NULL)
				reg_binding_free(sd, u->bindings);
			reg_user_gc(rt, u);
		}
	}
	free(rt->users);
	free(rt->contacts);
	free(rt);
	sd->reg = NULL;
}

struct reg_binding *
reg_lookup(struct sipd *sd, const char *user)
{
	struct reg_user *u;

	if (user == NULL || (u = reg_user_find(sd->reg, user)) == NULL)
		return NULL;
	return u->bindings;
}

struct reg_binding *
reg_find_contact(struct sipd *sd, const char *uri)
{
	struct reg_table *rt = sd->reg;
	struct reg_entry *e;
	uint32_t h;

	if (uri == NULL)
		return NULL;
	h = reg_hash(uri);
	for (e = rt->contacts[h & (rt->ncbuckets - 1)]; e != NULL; e = e->cnext)
		if (e->chash == h && strcmp(e->b.contact, uri) == 0)
			return &e->b;
	return NULL;
}

/* cb must not register or remove anything. */
void
reg_foreach(struct sipd *sd, reg_visit_cb cb, void *arg)
{
	struct reg_table *rt = sd->reg;
	size_t i;

	for (i = 0; i < rt->nubuckets; i++) {
		struct reg_user *u;
		struct reg_binding *b;

		for (u = rt->users[i]; u != NULL; u = u->hnext)
			for (b = u->bindings; b != NULL; b = b->next)
				cb(b, arg);
	}
}

size_t
reg_count(struct sipd *sd)
{
	return sd->reg->nbindings;
}
