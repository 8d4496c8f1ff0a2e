/*
 * auth.c — digest authentication of SIP requests (RFC 2617 / RFC 7616 with
 * MD5, qop=auth, and the older form without qop), the user table, and the
 * nonces.
 *
 * Users: built once at auth_init from sip users into a hash table, each
 * with its HA1 = MD5(name:realm:password) in lower-case hex (or the ha1 the
 * config gives), so a request costs no password hashing and no list walk.
 * The realm is sip.domain.
 *
 * Nonces are stateless:  EEEEEEEE SSSSSSSSSSSSSSSS MMMM...(32)
 * E = expiry in seconds of CLOCK_MONOTONIC (8 hex), S = a 64-bit sequence
 * number started at random (16 hex; makes every challenge's nonce unique),
 * M = HMAC-MD5 of "ES" under a random 64-byte key drawn at auth_init.  Only
 * this process can make them, so a nonce from before a restart is "not
 * ours": it gets a fresh challenge (with stale=true when the response was
 * otherwise right), never a 403, so phones recover by themselves.
 *
 * Replays: for each nonce in use we keep the highest nonce-count seen, in a
 * ring of at most AUTH_NC_MAX entries (oldest first) with a hash index on S.
 * Entries leave the ring when their nonce expires, or, when it is full, the
 * oldest is evicted; nonces with S at or below the highest S evicted while
 * still valid are then refused as stale (a fresh challenge), so eviction
 * never opens a replay window.  An entry is written only after the response
 * was verified, so forged requests cannot poison it, and it remembers (a
 * hash of) the user, so one user cannot use up another's nonce-counts with
 * a nonce seen on the wire (a stale challenge instead).  qop=auth: nc not above
 * the last seen is a replay (403).  No qop (no nc): a nonce is good for one
 * request; reuse gets a stale challenge, which RFC 2069 clients answer.
 *
 * Not here: deciding which requests need auth (reg.c, proxy.c), building
 * the 401/407 response itself (the caller makes it, auth_challenge fills in
 * the header).  Hot path: no allocation beyond osip's parse of the request.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include <osipparser2/osip_md5.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "sipd.h"

#define AUTH_NC_MAX	(1u << 20)	/* nonces tracked for nonce-count replay */
#define AUTH_NONCE_LEN	56		/* 8 + 16 + 32 hex */
#define AUTH_PREFIX_LEN	24		/* the MAC'd part: expiry + sequence */

struct auth_user {
	char			*name;
	char			 ha1[33];
	uint32_t		 hash;		/* of name */
	struct auth_user	*next;
};

/* One nonce in use: its highest nonce-count. */
struct auth_nc {
	uint64_t	 seq;
	uint32_t	 expires;	/* monotonic s */
	uint32_t	 nc;
	uint32_t	 hnext;		/* index + 1 of the next in the bucket, 0 none */
	uint32_t	 uhash;		/* of the user who first used it */
};

struct auth {
	struct auth_user	**users;
	size_t			  nbuckets;	/* power of two */
	size_t			  nusers;

	osip_MD5_CTX		  hmac_in, hmac_out;	/* keyed, precomputed */
	uint64_t		  seq;
	int			  last_stale;
	char			  chal_prefix[640];	/* Digest realm="...", nonce=" */

	struct auth_nc		 *ring;		/* AUTH_NC_MAX, oldest at head */
	uint32_t		 *ncbuckets;	/* AUTH_NC_MAX, index + 1 */
	size_t			  nchead, nccount;
	uint64_t		  evicted_seq;	/* highest seq evicted while valid */
	int			  evicted;
};

/* ------------------------------------------------------------ MD5 */

static const char auth_hexdig[] = "0123456789abcdef";

static void
auth_hex(const unsigned char *in, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = auth_hexdig[in[i] >> 4];
		out[2 * i + 1] = auth_hexdig[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
auth_md5_add(osip_MD5_CTX *c, const char *s, size_t len)
{
	osip_MD5Update(c, (unsigned char *)(uintptr_t)s, (unsigned int)len);
}

static void
auth_md5_adds(osip_MD5_CTX *c, const char *s)
{
	auth_md5_add(c, s, strlen(s));
}

static void
auth_md5_final_hex(osip_MD5_CTX *c, char out[33])
{
	unsigned char d[16];

	osip_MD5Final(d, c);
	auth_hex(d, 16, out);
}

void
auth_md5_hex(const char *in, size_t len, char out[33])
{
	osip_MD5_CTX c;

	osip_MD5Init(&c);
	auth_md5_add(&c, in, len);
	auth_md5_final_hex(&c, out);
}

void
auth_digest_response(const char *ha1, const char *nonce, const char *nc,
    const char *cnonce, const char *qop, const char *method, const char *uri,
    char out[33])
{
	osip_MD5_CTX c;
	char ha2[33];

	osip_MD5Init(&c);
	auth_md5_adds(&c, method);
	auth_md5_add(&c, ":", 1);
	auth_md5_adds(&c, uri);
	auth_md5_final_hex(&c, ha2);

	osip_MD5Init(&c);
	auth_md5_add(&c, ha1, 32);
	auth_md5_add(&c, ":", 1);
	auth_md5_adds(&c, nonce);
	auth_md5_add(&c, ":", 1);
	if (qop != NULL && qop[0] != '\0') {
		auth_md5_adds(&c, nc);
		auth_md5_add(&c, ":", 1);
		auth_md5_adds(&c, cnonce);
		auth_md5_add(&c, ":", 1);
		auth_md5_adds(&c, qop);
		auth_md5_add(&c, ":", 1);
	}
	auth_md5_add(&c, ha2, 32);
	auth_md5_final_hex(&c, out);
}

/* Compares two 32-character strings in time independent of their content. */
static int
auth_equal32(const char *a, const char *b)
{
	unsigned diff = 0;
	size_t i;

	for (i = 0; i < 32; i++)
		diff |= (unsigned)(unsigned char)a[i] ^ (unsigned)(unsigned char)b[i];
	return diff == 0;
}

/* ------------------------------------------------------------ nonces */

static uint32_t
auth_now_s(void)
{
	return (uint32_t)(clock_mono_ms() / 1000);
}

static void
auth_hmac_hex(const struct auth *a, const char *msg, size_t len, char out[33])
{
	osip_MD5_CTX c = a->hmac_in;
	unsigned char d[16];

	auth_md5_add(&c, msg, len);
	osip_MD5Final(d, &c);
	c = a->hmac_out;
	osip_MD5Update(&c, d, sizeof(d));
	auth_md5_final_hex(&c, out);
}

static int
auth_hmac_key(struct auth *a)
{
	unsigned char key[64 + 8], pad[64];	/* the HMAC key, then the seq start */
	size_t got = 0, i;
	int fd, err = 0;

	while (got < sizeof(key)) {
		ssize_t n = getrandom(key + got, sizeof(key) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof(key)) {
		/* old kernel: fall back to the device */
		if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) < 0)
			return errno;
		got = 0;
		while (got < sizeof(key)) {
			ssize_t n = read(fd, key + got, sizeof(key) - got);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				err = n < 0 ? errno : EIO;
				break;
			}
			got += (size_t)n;
		}
		close(fd);
		if (err != 0)
			return err;
	}
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = key[i] ^ 0x36;
	osip_MD5Init(&a->hmac_in);
	osip_MD5Update(&a->hmac_in, pad, sizeof(pad));
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = key[i] ^ 0x5c;
	osip_MD5Init(&a->hmac_out);
	osip_MD5Update(&a->hmac_out, pad, sizeof(pad));
	memcpy(&a->seq, key + 64, sizeof(a->seq));	/* a random start, far from wrapping */
	a->seq &= (UINT64_C(1) << 62) - 1;
	memset(key, 0, sizeof(key));
	memset(pad, 0, sizeof(pad));
	return 0;
}

void
auth_nonce_make(struct sipd *sd, char *buf, size_t len)
{
	struct auth *a = sd->auth;
	char nonce[AUTH_NONCE_LEN + 1];
	uint32_t expires = auth_now_s() + (uint32_t)sd->conf->nonce_ttl;

	snprintf(nonce, sizeof(nonce), "%08x%016llx", (unsigned)expires,
	    (unsigned long long)a->seq++);
	auth_hmac_hex(a, nonce, AUTH_PREFIX_LEN, nonce + AUTH_PREFIX_LEN);
	snprintf(buf, len, "%s", nonce);
}

static int
auth_hexval(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		const char *p = strchr(auth_hexdig, s[i]);

		if (s[i] == '\0' || p == NULL)
			return EINVAL;
		v = (v << 4) | (uint64_t)(p - auth_hexdig);
	}
	*out = v;
	return 0;
}

/* auth_nonce_check, also giving the nonce's expiry and sequence number. */
static int
auth_nonce_parse(struct auth *a, const char *nonce, uint32_t *expires, uint64_t *seq)
{
	char mac[33];
	uint64_t e;

	if (strlen(nonce) != AUTH_NONCE_LEN ||
	    auth_hexval(nonce, 8, &e) != 0 || auth_hexval(nonce + 8, 16, seq) != 0)
		return EINVAL;
	auth_hmac_hex(a, nonce, AUTH_PREFIX_LEN, mac);
	if (!auth_equal32(mac, nonce + AUTH_PREFIX_LEN))
		return EINVAL;
	*expires = (uint32_t)e;
	if (auth_now_s() >= *expires)
		return ESTALE;
	return 0;
}

int
auth_nonce_check(struct sipd *sd, const char *nonce)
{
	uint32_t expires;
	uint64_t seq;

	return auth_nonce_parse(sd->auth, nonce, &expires, &seq);
}

/* ------------------------------------------------------------ nonce counts */

static uint32_t
auth_nc_bucket(uint64_t seq)
{
	return (uint32_t)((seq * 0x9e3779b97f4a7c15ull) >> 44) & (AUTH_NC_MAX - 1);
}

static struct auth_nc *
auth_nc_find(struct auth *a, uint64_t seq)
{
	uint32_t i = a->ncbuckets[auth_nc_bucket(seq)];

	while (i != 0) {
		struct auth_nc *e = &a->ring[i - 1];

		if (e->seq == seq)
			return e;
		i = e->hnext;
	}
	return NULL;
}

/* Drops the oldest entry. */
static void
auth_nc_pop(struct auth *a)
{
	uint32_t idx = (uint32_t)a->nchead + 1;
	struct auth_nc *e = &a->ring[a->nchead];
	uint32_t *pp = &a->ncbuckets[auth_nc_bucket(e->seq)];

	while (*pp != 0 && *pp != idx)
		pp = &a->ring[*pp - 1].hnext;
	if (*pp == idx)
		*pp = e->hnext;
	a->nchead = (a->nchead + 1) % AUTH_NC_MAX;
	a->nccount--;
}

static void
auth_nc_add(struct auth *a, uint64_t seq, uint32_t expires, uint32_t nc, uint32_t uhash,
    uint32_t now)
{
	struct auth_nc *e;
	uint32_t *b;
	size_t i;

	while (a->nccount > 0 && a->ring[a->nchead].expires <= now)
		auth_nc_pop(a);
	if (a->nccount == AUTH_NC_MAX) {
		e = &a->ring[a->nchead];
		if (!a->evicted || e->seq > a->evicted_seq)
			a->evicted_seq = e->seq;
		a->evicted = 1;
		auth_nc_pop(a);
	}
	i = (a->nchead + a->nccount) % AUTH_NC_MAX;
	e = &a->ring[i];
	e->seq = seq;
	e->expires = expires;
	e->nc = nc;
	e->uhash = uhash;
	b = &a->ncbuckets[auth_nc_bucket(seq)];
	e->hnext = *b;
	*b = (uint32_t)i + 1;
	a->nccount++;
}

/* ------------------------------------------------------------ users */

static uint32_t
auth_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct auth_user *
auth_user_find(const struct auth *a, const char *name)
{
	struct auth_user *u;

	for (u = a->users[auth_hash(name) & (a->nbuckets - 1)]; u != NULL; u = u->next)
		if (strcmp(u->name, name) == 0)
			return u;
	return NULL;
}

int
auth_user_exists(struct sipd *sd, const char *user)
{
	return sd->auth != NULL && user != NULL && auth_user_find(sd->auth, user) != NULL;
}

/* Writes s into dst as the inside of a quoted-string. */
static int
auth_quote(char *dst, size_t len, const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (n + 3 > len)
			return E2BIG;
		if (*s == '"' || *s == '\\')
			dst[n++] = '\\';
		dst[n++] = *s;
	}
	dst[n] = '\0';
	return 0;
}

int
auth_init(struct sipd *sd)
{
	const struct parley_conf *c = sd->conf;
	struct auth *a = xcalloc(1, sizeof(*a));
	char realm[512];
	size_t i;
	int err = 0;

	if ((err = auth_hmac_key(a)) != 0) {
		log_warnx("auth: no random key for nonces: %s", strerror(err));
		goto out;
	}
	if (auth_quote(realm, sizeof(realm), c->domain) != 0) {
		log_warnx("auth: sip.domain is too long to be a realm");
		err = EINVAL;
		goto out;
	}
	snprintf(a->chal_prefix, sizeof(a->chal_prefix), "Digest realm=\"%s\", nonce=\"", realm);

	for (a->nbuckets = 16; a->nbuckets < 2 * c->nusers; a->nbuckets *= 2)
		;
	a->users = xcalloc(a->nbuckets, sizeof(*a->users));
	for (i = 0; i < c->nusers; i++) {
		const struct conf_user *cu = &c->users[i];
		struct auth_user *u;
		uint32_t b;

		if (cu->name == NULL || auth_user_find(a, cu->name) != NULL)
			continue;	/* conf.c refuses both; be safe */
		u = xcalloc(1, sizeof(*u));
		u->name = xstrdup(cu->name);
		if (cu->ha1 != NULL) {
			size_t k;

			for (k = 0; k < 32 && cu->ha1[k] != '\0'; k++)
				u->ha1[k] = (char)((cu->ha1[k] >= 'A' && cu->ha1[k] <= 'F') ?
				    cu->ha1[k] - 'A' + 'a' : cu->ha1[k]);
			u->ha1[k] = '\0';
		} else {
			osip_MD5_CTX m;

			osip_MD5Init(&m);
			auth_md5_adds(&m, cu->name);
			auth_md5_add(&m, ":", 1);
			auth_md5_adds(&m, c->domain);
			auth_md5_add(&m, ":", 1);
			auth_md5_adds(&m, cu->password != NULL ? cu->password : "");
			auth_md5_final_hex(&m, u->ha1);
		}
		u->hash = auth_hash(u->name);
		b = u->hash & (uint32_t)(a->nbuckets - 1);
		u->next = a->users[b];
		a->users[b] = u;
		a->nusers++;
	}

	/* large, but calloc'd: pages are only touched as nonces come into use */
	a->ring = xcalloc(AUTH_NC_MAX, sizeof(*a->ring));
	a->ncbuckets = xcalloc(AUTH_NC_MAX, sizeof(*a->ncbuckets));
	sd->auth = a;
	log_debug("auth: %zu users, realm \"%s\"", a->nusers, c->domain);
out:
	if (err != 0) {
		free(a);
		return err;
	}
	return 0;
}

int
auth_reload(struct sipd *sd)
{
	struct auth *old = sd->auth, *a;
	int err;

	sd->auth = NULL;
	if (old == NULL || (err = auth_init(sd)) != 0) {
		sd->auth = old;
		return old == NULL ? EINVAL : err;
	}
	a = sd->auth;
	/*
	 * Nonces handed out before stay good: the same key, sequence and
	 * nonce counts (a SIGHUP from logrotate must not turn every
	 * registration in flight into a stale challenge).
	 */
	a->hmac_in = old->hmac_in;
	a->hmac_out = old->hmac_out;
	a->seq = old->seq;
	free(a->ring);
	free(a->ncbuckets);
	a->ring = old->ring;
	a->ncbuckets = old->ncbuckets;
	a->nchead = old->nchead;
	a->nccount = old->nccount;
	a->evicted_seq = old->evicted_seq;
	a->evicted = old->evicted;
	old->ring = NULL;
	old->ncbuckets = NULL;
	sd->auth = old;
	auth_shutdown(sd);
	sd->auth = a;
	return 0;
}

void
auth_shutdown(struct sipd *sd)
{
	struct auth *a = sd->auth;
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->nbuckets; i++) {
		struct auth_user *u, *next;

		for (u = a->users[i]; u != NULL; u = next) {
			next = u->next;
			free(u->name);
			free(u);
		}
	}
	free(a->users);
	free(a->ring);
	free(a->ncbuckets);
	memset(a, 0, sizeof(*a));
	free(a);
	sd->auth = NULL;
}

/* ------------------------------------------------------------ checking */

/*
 * Copies a parameter value osip kept with its quotes into buf, without
 * them (and without quoted-pair backslashes).  0, ENOENT if absent, E2BIG
 * if it does not fit, EINVAL if the quotes do not close.
 */
static int
auth_unquote(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	if (s == NULL)
		return ENOENT;
	if (*s != '"') {
		if (strlen(s) >= len)
			return E2BIG;
		memcpy(buf, s, strlen(s) + 1);
		return 0;
	}
	for (s++; *s != '\0' && *s != '"'; s++) {
		if (*s == '\\' && s[1] != '\0')
			s++;
		if (n + 1 >= len)
			return E2BIG;
		buf[n++] = *s;
	}
	if (*s != '"' || s[1] != '\0')
		return EINVAL;
	buf[n] = '\0';
	return 0;
}

/* The credentials of the first Authorization header for our realm. */
static osip_authorization_t *
auth_find_credentials(struct sipd *sd, const osip_message_t *req, int proxy)
{
	const osip_list_t *l = proxy ? &req->proxy_authorizations : &req->authorizations;
	char realm[512];
	int i, n = osip_list_size(l);

	for (i = 0; i < n; i++) {
		osip_authorization_t *h = osip_list_get(l, i);

		if (h == NULL || h->auth_type == NULL || strcasecmp(h->auth_type, "Digest") != 0)
			continue;
		if (auth_unquote(h->realm, realm, sizeof(realm)) == 0 &&
		    strcmp(realm, sd->conf->domain) == 0)
			return h;
	}
	return NULL;
}

enum auth_result
auth_check(struct sipd *sd, const osip_message_t *req, const char *user,
    int proxy, const char **why)
{
	struct auth *a = sd->auth;
	osip_authorization_t *h;
	struct auth_user *u;
	struct auth_nc *e;
	char username[256], nonce[128], uri[2048], response[64], alg[32];
	char qop[32], ncs[32], cnonce[256], expect[33];
	unsigned long nc = 0;
	uint32_t expires;
	uint64_t seq;
	size_t i;
	int has_qop, nonce_state;
	char *end;

	*why = NULL;
	if (a == NULL) {	/* auth_init failed (e.g. on a reload) */
		*why = "authentication unavailable";
		return AUTH_FORBIDDEN;
	}
	a->last_stale = 0;
	if ((h = auth_find_credentials(sd, req, proxy)) == NULL)
		return AUTH_CHALLENGE;	/* nothing for our realm: ask */

	if (auth_unquote(h->username, username, sizeof(username)) != 0 || username[0] == '\0') {
		*why = "missing or bad username";
		return AUTH_BAD;
	}
	if ((u = auth_user_find(a, username)) == NULL) {
		*why = "unknown user";
		return AUTH_FORBIDDEN;
	}
	if (user != NULL && strcmp(username, user) != 0) {
		*why = proxy ? "username does not match the From user" :
		    "username does not match the To user";
		return AUTH_FORBIDDEN;
	}
	if (auth_unquote(h->uri, uri, sizeof(uri)) != 0 || uri[0] == '\0') {
		*why = "missing or bad uri";
		return AUTH_BAD;
	}
	if (h->algorithm != NULL && (auth_unquote(h->algorithm, alg, sizeof(alg)) != 0 ||
	    strcasecmp(alg, "MD5") != 0)) {
		*why = "unsupported algorithm";
		return AUTH_BAD;
	}
	if (auth_unquote(h->nonce, nonce, sizeof(nonce)) != 0 || nonce[0] == '\0') {
		*why = "missing or bad nonce";
		return AUTH_BAD;
	}
	if (auth_unquote(h->response, response, sizeof(response)) != 0 ||
	    strlen(response) != 32) {
		*why = "missing or bad response";
		return AUTH_BAD;
	}
	for (i = 0; i < 32; i++) {
		char ch = response[i];

		if (ch >= 'A' && ch <= 'F')
			response[i] = (char)(ch - 'A' + 'a');
		else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
			*why = "missing or bad response";
			return AUTH_BAD;
		}
	}
	has_qop = h->message_qop != NULL;
	if (has_qop) {
		if (auth_unquote(h->message_qop, qop, sizeof(qop)) != 0 ||
		    strcasecmp(qop, "auth") != 0) {
			*why = "unsupported qop";
			return AUTH_BAD;
		}
		if (auth_unquote(h->nonce_count, ncs, sizeof(ncs)) != 0 ||
		    auth_unquote(h->cnonce, cnonce, sizeof(cnonce)) != 0 ||
		    ncs[0] == '\0' || strlen(ncs) > 8) {
			*why = "missing or bad nc or cnonce";
			return AUTH_BAD;
		}
		nc = strtoul(ncs, &end, 16);
		if (*end != '\0' || nc == 0 || strspn(ncs, "0123456789abcdefABCDEF") != strlen(ncs)) {
			*why = "bad nc";
			return AUTH_BAD;
		}
	}

	auth_digest_response(u->ha1, nonce, has_qop ? ncs : NULL, has_qop ? cnonce : NULL,
	    has_qop ? qop : NULL, req->sip_method != NULL ? req->sip_method : "", uri, expect);
	if (!auth_equal32(expect, response)) {
		*why = "wrong password";
		return AUTH_FORBIDDEN;
	}

	/* the client knows the password; now is the nonce good and fresh? */
	nonce_state = auth_nonce_parse(a, nonce, &expires, &seq);
	if (nonce_state != 0) {
		/* ESTALE: expired; EINVAL: from before a restart (or mangled) */
		a->last_stale = 1;
		return AUTH_CHALLENGE;
	}
	if ((e = auth_nc_find(a, seq)) != NULL) {
		if (e->uhash != u->hash) {
			/* another user's nonce: never let one user spend another's counts */
			a->last_stale = 1;
			return AUTH_CHALLENGE;
		}
		if (!has_qop) {
			a->last_stale = 1;	/* one request per nonce without nc */
			return AUTH_CHALLENGE;
		}
		if (nc <= e->nc) {
			*why = "nonce-count replay";
			return AUTH_FORBIDDEN;
		}
		e->nc = (uint32_t)nc;
		return AUTH_OK;
	}
	if (a->evicted && seq <= a->evicted_seq) {
		/* its entry may have been evicted: cannot tell a replay, ask again */
		a->last_stale = 1;
		return AUTH_CHALLENGE;
	}
	auth_nc_add(a, seq, expires, has_qop ? (uint32_t)nc : 0, u->hash, auth_now_s());
	return AUTH_OK;
}

int
auth_last_stale(struct sipd *sd)
{
	return sd->auth != NULL && sd->auth->last_stale;
}

void
auth_challenge(struct sipd *sd, osip_message_t *resp, int proxy, int stale)
{
	struct auth *a = sd->auth;
	char nonce[64], hv[sizeof(a->chal_prefix) + 128];

	if (a == NULL)
		return;
	auth_nonce_make(sd, nonce, sizeof(nonce));
	snprintf(hv, sizeof(hv), "%s%s\", algorithm=MD5, qop=\"auth\"%s", a->chal_prefix,
	    nonce, stale ? ", stale=true" : "");
	if (proxy)
		osip_message_set_proxy_authenticate(resp, hv);
	else
		osip_message_set_www_authenticate(resp, hv);
}

void
auth_challenge_hdr(struct sipd *sd, int proxy, int stale, char *buf, size_t len)
{
	struct auth *a = sd->auth;
	char nonce[64];

	if (a == NULL) {
		if (len > 0)
			buf[0] = '\0';
		return;
	}
	auth_nonce_make(sd, nonce, sizeof(nonce));
	snprintf(buf, len, "%s: %s%s\", algorithm=MD5, qop=\"auth\"%s\r\n",
	    proxy ? "Proxy-Authenticate" : "WWW-Authenticate", a->chal_prefix, nonce,
	    stale ? ", stale=true" : "");
}
