/*
 * auth_test.c — unit tests of sipd/auth.c: MD5 against known vectors, the
 * digest response against the RFC 2617 §3.5 example, nonces (good, forged,
 * expired), and auth_check on REGISTER and INVITE messages parsed by osip:
 * a right answer, a wrong password, a replayed nonce-count, an unknown user,
 * malformed credentials, stale and foreign nonces, the no-qop form, and the
 * challenge header auth_challenge writes.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <osipparser2/osip_parser.h>
#include <osipparser2/osip_port.h>

#include "tests/unit/unit.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "sipd/sipd.h"

#define REALM "pbx.test"

static struct sipd sd;

static void
setup(void)
{
	char err[256], in[128], ha1[33];
	size_t i;

	memset(&sd, 0, sizeof(sd));
	ck_assert_int_eq(conf_load(NULL, &sd.conf, err, sizeof(err)), 0);
	ck_assert_int_eq(loop_alloc(&sd.loop), 0);
	free(sd.conf->domain);
	sd.conf->domain = xstrdup(REALM);
	sd.conf->users = xcalloc(3, sizeof(*sd.conf->users));
	sd.conf->nusers = 3;
	sd.conf->users[0].name = xstrdup("1001");
	sd.conf->users[0].password = xstrdup("secret");
	sd.conf->users[1].name = xstrdup("1002");
	/* ha1 given instead of a password, in upper case */
	snprintf(in, sizeof(in), "1002:%s:pw2", REALM);
	auth_md5_hex(in, strlen(in), ha1);
	for (i = 0; i < 32; i++)
		if (ha1[i] >= 'a' && ha1[i] <= 'f')
			ha1[i] = (char)(ha1[i] - 'a' + 'A');
	sd.conf->users[1].ha1 = xstrdup(ha1);
	sd.conf->users[2].name = xstrdup("Mufasa");
	sd.conf->users[2].password = xstrdup("Circle Of Life");
	sd.server_name = "Parley/test";
	ck_assert_int_eq(auth_init(&sd), 0);
}

static void
teardown(void)
{
	auth_shutdown(&sd);
	loop_free(sd.loop);
	conf_free(sd.conf);
}

/* ------------------------------------------------------------ MD5 */

static void
check_md5(const char *in, const char *hex)
{
	char out[33];

	auth_md5_hex(in, strlen(in), out);
	ck_assert_str_eq(out, hex);
}

START_TEST(test_md5_vectors)
{
	char big[201];

	check_md5("", "d41d8cd98f00b204e9800998ecf8427e");
	check_md5("abc", "900150983cd24fb0d6963f7d28e17f72");
	check_md5("message digest", "f96b697d7cb7938d525a2f31aaf161d0");
	check_md5("The quick brown fox jumps over the lazy dog",
	    "9e107d9d372bb6826bd81d3542a419d6");
	memset(big, 'a', 200);		/* several blocks */
	big[200] = '\0';
	check_md5(big, "887f30b43b2867f4a9accceee7d16e6c");
}
END_TEST

START_TEST(test_rfc2617_example)
{
	char ha1[33], resp[33];
	static const char in[] = "Mufasa:testrealm@host.com:Circle Of Life";

	auth_md5_hex(in, strlen(in), ha1);
	ck_assert_str_eq(ha1, "939e7578ed9e3c518a452acee763bce9");
	auth_digest_response(ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", "00000001", "0a4f113b",
	    "auth", "GET", "/dir/index.html", resp);
	ck_assert_str_eq(resp, "6629fae49393a05397450978507c4ef1");
	/* without qop (RFC 2069): MD5(HA1:nonce:HA2) */
	auth_digest_response(ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", NULL, NULL, NULL,
	    "GET", "/dir/index.html", resp);
	ck_assert_str_eq(resp, "670fd8c2df070c60b045671b8b24ff02");
}
END_TEST

/* ------------------------------------------------------------ nonces */

START_TEST(test_nonce_good_and_unique)
{
	char a[64], b[64];

	auth_nonce_make(&sd, a, sizeof(a));
	auth_nonce_make(&sd, b, sizeof(b));
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(auth_nonce_check(&sd, a), 0);
	ck_assert_int_eq(auth_nonce_check(&sd, b), 0);
}
END_TEST

/* SIGHUP reloads the users; nonces handed out before stay good */
START_TEST(test_nonce_survives_reload)
{
	char a[64], b[64];

	auth_nonce_make(&sd, a, sizeof(a));
	ck_assert_int_eq(auth_reload(&sd), 0);
	ck_assert_int_eq(auth_nonce_check(&sd, a), 0);
	auth_nonce_make(&sd, b, sizeof(b));
	ck_assert_str_ne(a, b);		/* the sequence goes on */
	ck_assert_int_eq(auth_nonce_check(&sd, b), 0);
}
END_TEST

START_TEST(test_nonce_forged)
{
	char n[64], f[64];
	size_t i, len;

	auth_nonce_make(&sd, n, sizeof(n));
	len = strlen(n);
	/* flip each character in turn: expiry, sequence and MAC are all covered */
	for (i = 0; i < len; i++) {
		memcpy(f, n, len + 1);
		f[i] = f[i] == '0' ? '1' : '0';
		ck_assert_int_eq(auth_nonce_check(&sd, f), EINVAL);
	}
	memcpy(f, n, len + 1);
	f[len - 1] = '\0';
	ck_assert_int_eq(auth_nonce_check(&sd, f), EINVAL);
	ck_assert_int_eq(auth_nonce_check(&sd, ""), EINVAL);
	ck_assert_int_eq(auth_nonce_check(&sd, "dcd98b7102dd2f0e8b11d0f600bfb0c093"), EINVAL);
}
END_TEST

START_TEST(test_nonce_expired)
{
	char n[64];

	sd.conf->nonce_ttl = 0;		/* expires the moment it is made */
	auth_nonce_make(&sd, n, sizeof(n));
	ck_assert_int_eq(auth_nonce_check(&sd, n), ESTALE);
}
END_TEST

START_TEST(test_nonce_other_instance)
{
	char n[64];

	/* a nonce of an earlier run (another key) is not ours */
	auth_nonce_make(&sd, n, sizeof(n));
	auth_shutdown(&sd);
	ck_assert_int_eq(auth_init(&sd), 0);
	ck_assert_int_eq(auth_nonce_check(&sd, n), EINVAL);
}
END_TEST

/* ------------------------------------------------------------ auth_check */

struct cred {
	const char	*user;		/* Authorization username */
	const char	*password;
	const char	*realm;
	const char	*nonce;
	const char	*nc;		/* NULL: no qop, no nc, no cnonce */
	const char	*uri;
	const char	*extra;		/* more parameters, e.g. ", algorithm=SHA-256" */
	int		 proxy;		/* INVITE with Proxy-Authorization */
	const char	*response;	/* NULL: computed */
};

static osip_message_t *
build(const struct cred *c)
{
	char ha1[33], resp[33], in[256], auth[1024], msg[2048];
	const char *method = c->proxy ? "INVITE" : "REGISTER";
	osip_message_t *m;

	snprintf(in, sizeof(in), "%s:%s:%s", c->user, c->realm, c->password);
	auth_md5_hex(in, strlen(in), ha1);
	auth_digest_response(ha1, c->nonce, c->nc, "0a4f113b", c->nc ? "auth" : NULL, method,
	    c->uri ? c->uri : "", resp);
	snprintf(auth, sizeof(auth),
	    "%s: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\"%s%s%s, response=\"%s\"%s%s%s\r\n",
	    c->proxy ? "Proxy-Authorization" : "Authorization", c->user, c->realm, c->nonce,
	    c->uri ? ", uri=\"" : "", c->uri ? c->uri : "", c->uri ? "\"" : "",
	    c->response ? c->response : resp,
	    c->nc ? ", qop=auth, cnonce=\"0a4f113b\", nc=" : "", c->nc ? c->nc : "",
	    c->extra ? c->extra : "");
	snprintf(msg, sizeof(msg),
	    "%s sip:%s SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc;rport\r\n"
	    "Max-Forwards: 70\r\n"
	    "From: <sip:1001@" REALM ">;tag=f1\r\n"
	    "To: <sip:1001@" REALM ">\r\n"
	    "Call-ID: reg-1@test\r\n"
	    "CSeq: 2 %s\r\n"
	    "Contact: <sip:1001@127.0.0.1:5070>\r\n"
	    "%s"
	    "Content-Length: 0\r\n\r\n",
	    method, c->proxy ? "1002@" REALM : REALM, method, auth);
	ck_assert_int_eq(osip_message_init(&m), 0);
	ck_assert_int_eq(osip_message_parse(m, msg, strlen(msg)), 0);
	return m;
}

static enum auth_result
check(const struct cred *c, const char *user, const char **why)
{
	osip_message_t *m = build(c);
	enum auth_result r = auth_check(&sd, m, user, c->proxy, why);

	osip_message_free(m);
	return r;
}

static struct cred
good_cred(char *nonce)
{
	struct cred c = { "1001", "secret", REALM, nonce, "00000001", "sip:" REALM,
	    NULL, 0, NULL };

	auth_nonce_make(&sd, nonce, 64);
	return c;
}

START_TEST(test_check_ok_then_replay)
{
	char nonce[64];
	struct cred c = good_cred(nonce);
	const char *why = NULL;

	ck_assert_int_eq(check(&c, "1001", &why), AUTH_OK);
	ck_assert_int_eq(auth_last_stale(&sd), 0);
	/* the same nc again: a replay */
	ck_assert_int_eq(check(&c, "1001", &why), AUTH_FORBIDDEN);
	ck_assert_str_eq(why, "nonce-count replay");
	/* the next nc is fine, a lower one again is not */
	c.nc = "00000003";
	ck_assert_int_eq(check(&c, "1001", &why), AUTH_OK);
	c.nc = "00000002";
	ck_assert_int_eq(check(&c, "1001", &why), AUTH_FORBIDDEN);
	ck_assert_str_eq(why, "nonce-count replay");
	c.nc = "0000000a";
	ck_assert_int_eq(check(&c, "1001", &why), AUTH_OK);
}
END_TEST

START_TEST(test_check_other_users_nonce)
{
	char nonce[64];
	struct cred c = good_cred(nonce);
	const char *why = NULL;

	ck_assert_int_eq(check(&c, "1001", &why), AUTH_OK);
	/* 1002 knows its password and saw 1001's nonce: it may not spend its counts */
	c.user = "1002";
	c.password = "pw2";
	c.nc = "00000009";
	ck_assert_int_eq(check(&c, "1002", &why), AUTH_CHALLENGE);
	ck_assert_int_eq(auth_last_stale(&sd), 1);
	c.user = "1001";
	c.password = "secret";
	c.nc = "00000002";
	ck_assert_int_eq(check(&c, "1001", &why), AUTH_OK);
}
END_TEST

START_TEST(test_check_wrong_password)
{
	char nonce[64];
	struct cred c = good_cred(nonce);
	const char *why = NULL;

	c.password = "guess";
	ck_assert_int_eq(check(&c, "1001", &why), AUTH_FORBIDDEN);
	ck_assert_str_eq(why, "wrong password");
	/* a failed attempt does not use up the nonce-count */
	c.password = "secret";
	ck_assert_int_eq(check(&c, "1001", &why), AUTH_OK);
}
END_TEST

START_TEST(test_check_unknown_and_mismatched_user)
{
	char nonce[64];
	struct cred c = good_cred(nonce);
	const char *why = NULL;

	c.user = "9999";
	ck_assert_int_eq(check(&c, "9999", &why), AUTH_FORBIDDEN);
	ck_assert_str_eq(why, "unknown user");
	/* good credentials of 1001 used to register 1002 */
	c.user = "1001";
	ck_assert_int_eq(check(&c, "1002", &why), AUTH_FORBIDDEN);
	ck_assert_ptr_nonnull(why);
	ck_assert_int_eq(auth_user_exists(&sd, "1001"), 1);
	ck_assert_int_eq(auth_user_exists(&sd, "1002"), 1);
	ck_assert_int_eq(auth_user_exists(&sd, "9999"), 0);
	ck_assert_int_eq(auth_user_exists(&sd, NULL), 0);
}
END_TEST

START_TEST(test_check_ha1_user)
{
	char nonce[64];
	struct cred c = good_cred(nonce);
	const char *why = NULL;

	c.user = "1002";
	c.password = "pw2";
	ck_assert_int_eq(check(&c, "1002", &why), AUTH_OK);
}
END_TEST

START_TEST(test_check_no_credentials)
{
	static const char msg[] =
	    "REGISTER sip:" REALM " SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc\r\n"
	    "From: <sip:1001@" REALM ">;tag=f1\r\nTo: <sip:1001@" REALM ">\r\n"
	    "Call-ID: reg-1@test\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n";
	osip_message_t *m;
	const char *why = NULL;
	char nonce[64];
	struct cred c;

	ck_assert_int_eq(osip_message_init(&m), 0);
	ck_assert_int_eq(osip_message_parse(m, msg, strlen(msg)), 0);
	ck_assert_int_eq(auth_check(&sd, m, "1001", 0, &why), AUTH_CHALLENGE);
	ck_assert_int_eq(auth_last_stale(&sd), 0);
	osip_message_free(m);
	/* credentials for another realm only: challenge for ours */
	c = good_cred(nonce);
	c.realm = "elsewhere";
	ck_assert_int_eq(check(&c, "1001", &why), AUTH_CHALLENGE);
	/* Authorization on an INVITE that needs Proxy-Authorization */
	c = good_cred(nonce);
	{
		osip_message_t *r = build(&c);

		ck_assert_int_eq(auth_check(&sd, r, "1001", 1, &why), AUTH_CHALLENGE);
		osip_message_free(r);
	}
}
END_TEST

START_TEST(test_check_proxy)
{
	char nonce[64];
	struct cred c = good_cred(nonce);
	const char *why = NULL;

	c.proxy = 1;
	c.uri = "sip:1002@" REALM;
	ck_assert_int_eq(check(&c, "1001", &why), AUTH_OK);
}
END_TEST

START_TEST(test_check_stale)
{
	char nonce[64];
	struct cred c;
	const char *why = NULL;

	sd.conf->nonce_ttl = 0;
	c = good_cred(nonce);
	ck_assert_int_eq(check(&c, "1001", &why), AUTH_CHALLENGE);
	ck_assert_int_eq(auth_last_stale(&sd), 1);
	/* stale but the wrong password: no stale flag, a 403 */
	c.password = "guess";
	ck_assert_int_eq(check(&c, "1001", &why), AUTH_FORBIDDEN);
	ck_assert_int_eq(auth_last_stale(&sd), 0);
}
END_TEST

START_TEST(test_check_foreign_nonce)
{
	const char *why = NULL;
	struct cred c = { "1001", "secret", REALM, "dcd98b7102dd2f0e8b11d0f600bfb0c093",
	    "00000001", "sip:" REALM, NULL, 0, NULL };

	/* right password, nonce not ours (say, from before a restart): challenge */
	ck_assert_int_eq(check(&c, "1001", &why), AUTH_CHALLENGE);
	ck_assert_int_eq(auth_last_stale(&sd), 1);
}
END_TEST

START_TEST(test_check_no_qop)
{
	char nonce[64];
	struct cred c = good_cred(nonce);
	const char *why = NULL;

	c.nc = NULL;
	ck_assert_int_eq(check(&c, "1001", &why), AUTH_OK);
	/* without nc a nonce is good once; then a stale challenge */
	ck_assert_int_eq(check(&c, "1001", &why), AUTH_CHALLENGE);
	ck_assert_int_eq(auth_last_stale(&sd), 1);
}
END_TEST

START_TEST(test_check_malformed)
{
	char nonce[64];
	struct cred c;
	const char *why;

	c = good_cred(nonce);
	c.extra = ", algorithm=SHA-256";
	why = NULL;
	ck_assert_int_eq(check(&c, "1001", &why), AUTH_BAD);
	ck_assert_ptr_nonnull(why);

	c = good_cred(nonce);
	c.extra = ", algorithm=MD5";
	ck_assert_int_eq(check(&c, "1001", &why), AUTH_OK);

	c = good_cred(nonce);
	c.uri = NULL;
	why = NULL;
	ck_assert_int_eq(check(&c, "1001", &why), AUTH_BAD);
	ck_assert_ptr_nonnull(why);

	c = good_cred(nonce);
	c.response = "not-hex";
	why = NULL;
	ck_assert_int_eq(check(&c, "1001", &why), AUTH_BAD);
	ck_assert_ptr_nonnull(why);

	c = good_cred(nonce);
	c.nc = "zz";
	why = NULL;
	ck_assert_int_eq(check(&c, "1001", &why), AUTH_BAD);
	ck_assert_ptr_nonnull(why);

	c = good_cred(nonce);
	c.nc = "00000000";
	why = NULL;
	ck_assert_int_eq(check(&c, "1001", &why), AUTH_BAD);
	ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(test_rfc2617_user_in_sip)
{
	/* the RFC's user and password, with our realm, through auth_check */
	char nonce[64];
	struct cred c = good_cred(nonce);
	const char *why = NULL;

	c.user = "Mufasa";
	c.password = "Circle Of Life";
	ck_assert_int_eq(check(&c, "Mufasa", &why), AUTH_OK);
}
END_TEST

/* ------------------------------------------------------------ challenges */

static osip_message_t *
blank_response(int status)
{
	osip_message_t *r;

	ck_assert_int_eq(osip_message_init(&r), 0);
	osip_message_set_version(r, osip_strdup("SIP/2.0"));
	osip_message_set_status_code(r, status);
	osip_message_set_reason_phrase(r, osip_strdup("x"));
	return r;
}

START_TEST(test_challenge_header)
{
	osip_message_t *r = blank_response(401);
	osip_www_authenticate_t *w;
	char *nonce;

	auth_challenge(&sd, r, 0, 0);
	ck_assert_int_eq(osip_list_size(&r->www_authenticates), 1);
	ck_assert_int_eq(osip_list_size(&r->proxy_authenticates), 0);
	w = osip_list_get(&r->www_authenticates, 0);
	ck_assert_str_eq(w->auth_type, "Digest");
	ck_assert_str_eq(w->realm, "\"" REALM "\"");
	ck_assert_str_eq(w->qop_options, "\"auth\"");
	ck_assert_str_eq(w->algorithm, "MD5");
	ck_assert_ptr_null(w->stale);
	nonce = osip_strdup_without_quote(w->nonce);
	ck_assert_int_eq(auth_nonce_check(&sd, nonce), 0);
	osip_free(nonce);
	osip_message_free(r);

	r = blank_response(407);
	auth_challenge(&sd, r, 1, 1);
	ck_assert_int_eq(osip_list_size(&r->www_authenticates), 0);
	ck_assert_int_eq(osip_list_size(&r->proxy_authenticates), 1);
	w = osip_list_get(&r->proxy_authenticates, 0);
	ck_assert_str_eq(w->stale, "true");
	osip_message_free(r);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("auth");

	parser_init();
	log_init("auth_test", 1, LOG_LVL_WARN);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_md5_vectors);
	tcase_add_test(tc, test_rfc2617_example);
	tcase_add_test(tc, test_nonce_good_and_unique);
	tcase_add_test(tc, test_nonce_survives_reload);
	tcase_add_test(tc, test_nonce_forged);
	tcase_add_test(tc, test_nonce_expired);
	tcase_add_test(tc, test_nonce_other_instance);
	tcase_add_test(tc, test_check_ok_then_replay);
	tcase_add_test(tc, test_check_other_users_nonce);
	tcase_add_test(tc, test_check_wrong_password);
	tcase_add_test(tc, test_check_unknown_and_mismatched_user);
	tcase_add_test(tc, test_check_ha1_user);
	tcase_add_test(tc, test_check_no_credentials);
	tcase_add_test(tc, test_check_proxy);
	tcase_add_test(tc, test_check_stale);
	tcase_add_test(tc, test_check_foreign_nonce);
	tcase_add_test(tc, test_check_no_qop);
	tcase_add_test(tc, test_check_malformed);
	tcase_add_test(tc, test_rfc2617_user_in_sip);
	tcase_add_test(tc, test_challenge_header);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
