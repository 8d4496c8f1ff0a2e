/*
 * reg_test.c — unit tests of sipd/reg.c through the real path: a REGISTER
 * text goes into msg_received (parse, transaction, proxy routing, then
 * reg_request) and the response comes back over UDP on loopback from a
 * sipd core opened on a free port.  Covers the digest flow (401 then 200),
 * a wrong password (403 with Warning, auth-fail journaled), a foreign
 * domain, expiry rules (per contact, header, default, 423, clamping, 0),
 * several contacts, Contact: *, out-of-order CSeq, queries, refresh
 * journaling, and a binding timing out.  Needs the whole libsipd.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <osipparser2/osip_parser.h>
#include <osipparser2/osip_port.h>

#include "tests/unit/unit.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "sipd/sipd.h"

#define DOMAIN "pbx.test"

static struct sipd sd;
static char dir[PATH_MAX], jpath[PATH_MAX + 32];
static int cfd = -1;		/* the phone's socket */
static int cport;
static struct tp_source src;	/* where the "phone" sends from */
static int branch;

static int
free_udp_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), port;

	ck_assert_int_ge(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	char err[256];
	int sport;

	memset(&sd, 0, sizeof(sd));
	branch = 0;
	snprintf(dir, sizeof(dir), "%s/reg_test.XXXXXX", tmp != NULL ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(jpath, sizeof(jpath), "%s/calls.log", dir);

	ck_assert_int_eq(conf_load(NULL, &sd.conf, err, sizeof(err)), 0);
	free(sd.conf->domain);
	sd.conf->domain = xstrdup(DOMAIN);
	sport = free_udp_port();
	free(sd.conf->listen[0].host);
	free(sd.conf->listen[1].host);
	sd.conf->listen[0].host = xstrdup("127.0.0.1");
	sd.conf->listen[0].port = sport;
	sd.conf->nlisten = 1;
	sd.conf->min_expires = 60;
	sd.conf->max_expires = 3600;
	sd.conf->default_expires = 1800;
	sd.conf->users = xcalloc(2, sizeof(*sd.conf->users));
	sd.conf->nusers = 2;
	sd.conf->users[0].name = xstrdup("1001");
	sd.conf->users[0].password = xstrdup("secret");
	sd.conf->users[1].name = xstrdup("1002");
	sd.conf->users[1].password = xstrdup("pw2");
	sd.server_name = "Parley/test";

	ck_assert_int_eq(loop_alloc(&sd.loop), 0);
	ck_assert_int_eq(journal_open(&sd.journal, jpath, 0), 0);
	ck_assert_int_eq(txn_init(&sd), 0);
	ck_assert_int_eq(auth_init(&sd), 0);
	ck_assert_int_eq(reg_init(&sd), 0);
	ck_assert_int_eq(call_init(&sd), 0);
	ck_assert_int_eq(proxy_init(&sd), 0);
	ck_assert_int_eq(tp_open(&sd), 0);

	cfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(cfd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(cfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(cfd, (struct sockaddr *)&a, &len), 0);
	cport = ntohs(a.sin_port);

	memset(&src, 0, sizeof(src));
	src.proto = TP_UDP;
	src.sock = 0;
	memcpy(&src.peer.ss, &a, sizeof(a));
	src.peer.len = sizeof(a);
	a.sin_port = htons((uint16_t)sport);
	memcpy(&src.local.ss, &a, sizeof(a));
	src.local.len = sizeof(a);
}

static void
teardown(void)
{
	char cmd[PATH_MAX + 16];

	proxy_shutdown(&sd);
	call_shutdown(&sd);
	reg_shutdown(&sd);
	txn_shutdown(&sd);
	tp_close(&sd);
	auth_shutdown(&sd);
	journal_close(sd.journal);
	loop_free(sd.loop);
	conf_free(sd.conf);
	close(cfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* ------------------------------------------------------------ helpers */

/* Sends a REGISTER for user (To and From) with the given extra header lines. */
static osip_message_t *
do_register(const char *user, const char *to_host, const char *callid, int cseq,
    const char *headers)
{
	char msg[4096], buf[65536];
	struct pollfd p = { .fd = cfd, .events = POLLIN };
	osip_message_t *r;
	ssize_t n;

	branch++;
	snprintf(msg, sizeof(msg),
	    "REGISTER sip:" DOMAIN ":%d SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKreg%d;rport\r\n"
	    "Max-Forwards: 70\r\n"
	    "From: <sip:%s@%s>;tag=ft%d\r\n"
	    "To: <sip:%s@%s>\r\n"
	    "Call-ID: %s\r\n"
	    "CSeq: %d REGISTER\r\n"
	    "%s"
	    "Content-Length: 0\r\n\r\n",
	    sd.conf->listen[0].port, cport, branch, user, to_host, branch, user, to_host, callid, cseq, headers);
	msg_received(&sd, msg, strlen(msg), &src);
	ck_assert_msg(poll(&p, 1, 2000) == 1, "no response to the REGISTER");
	n = recv(cfd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_int_eq(osip_message_init(&r), 0);
	ck_assert_int_eq(osip_message_parse(r, buf, (size_t)n), 0);
	ck_assert(MSG_IS_RESPONSE(r));
	return r;
}

/* Registers with auth off; returns the status. */
static int
reg_status(const char *user, const char *callid, int cseq, const char *headers)
{
	osip_message_t *r = do_register(user, DOMAIN, callid, cseq, headers);
	int status = r->status_code;

	osip_message_free(r);
	return status;
}

static const char *
header(osip_message_t *m, const char *name)
{
	osip_header_t *h = NULL;

	if (osip_message_header_get_byname(m, name, 0, &h) < 0 || h == NULL)
		return NULL;
	return h->hvalue;
}

/* Does r carry a Warning that mentions text? */
static int
has_warning(osip_message_t *m, const char *text)
{
	const char *w = header(m, "warning");

	return w != NULL && strstr(w, text) != NULL;
}

/* The ;expires of the response's Contact for uri, or -1. */
static int
contact_expires(osip_message_t *r, const char *uri)
{
	int i;

	for (i = 0; i < osip_list_size(&r->contacts); i++) {
		osip_contact_t *c = osip_list_get(&r->contacts, i);
		osip_generic_param_t *p = NULL;
		char *s = NULL;
		int match;

		if (c->url == NULL || osip_uri_to_str(c->url, &s) != 0)
			continue;
		match = strcmp(s, uri) == 0;
		osip_free(s);
		if (match && osip_contact_param_get_byname(c, "expires", &p) == 0 && p != NULL)
			return atoi(p->gvalue);
	}
	return -1;
}

static char *
journal_text(void)
{
	static char buf[65536];
	FILE *f = fopen(jpath, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int
journal_count(const char *needle)
{
	const char *s = journal_text();
	int n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s++;
	}
	return n;
}

/* Builds the Authorization line answering the challenge in r. */
static void
answer(osip_message_t *r, const char *user, const char *password, const char *nc,
    char *out, size_t len)
{
	osip_www_authenticate_t *w = osip_list_get(&r->www_authenticates, 0);
	char *nonce, *realm, in[256], ha1[33], resp[33];

	ck_assert_ptr_nonnull(w);
	nonce = osip_strdup_without_quote(w->nonce);
	realm = osip_strdup_without_quote(w->realm);
	ck_assert_str_eq(realm, DOMAIN);
	snprintf(in, sizeof(in), "%s:%s:%s", user, realm, password);
	auth_md5_hex(in, strlen(in), ha1);
	auth_digest_response(ha1, nonce, nc, "c0ffee", "auth", "REGISTER", "sip:" DOMAIN, resp);
	snprintf(out, len,
	    "Authorization: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", "
	    "uri=\"sip:" DOMAIN "\", response=\"%s\", algorithm=MD5, qop=auth, "
	    "nc=%s, cnonce=\"c0ffee\"\r\n", user, realm, nonce, resp, nc);
	osip_free(nonce);
	osip_free(realm);
}

/* ------------------------------------------------------------ tests */

START_TEST(test_auth_flow)
{
	osip_message_t *r;
	osip_www_authenticate_t *w;
	struct reg_binding *b;
	char hdrs[2048], auth[1024], expect[256];

	r = do_register("1001", DOMAIN, "c1@test", 1, "Contact: <sip:1001@127.0.0.1:5070>\r\n");
	ck_assert_int_eq(r->status_code, 401);
	w = osip_list_get(&r->www_authenticates, 0);
	ck_assert_ptr_nonnull(w);
	ck_assert_str_eq(w->realm, "\"" DOMAIN "\"");
	ck_assert_str_eq(w->qop_options, "\"auth\"");
	ck_assert_ptr_null(reg_lookup(&sd, "1001"));

	answer(r, "1001", "secret", "00000001", auth, sizeof(auth));
	osip_message_free(r);
	snprintf(hdrs, sizeof(hdrs), "Contact: <sip:1001@127.0.0.1:5070>\r\n%s", auth);
	r = do_register("1001", DOMAIN, "c1@test", 2, hdrs);
	ck_assert_int_eq(r->status_code, 200);
	ck_assert_int_eq(contact_expires(r, "sip:1001@127.0.0.1:5070"), 1800);
	ck_assert_ptr_nonnull(header(r, "date"));
	ck_assert_ptr_nonnull(strstr(header(r, "date"), " GMT"));

	b = reg_lookup(&sd, "1001");
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(b->user, "1001");
	ck_assert_str_eq(b->contact, "sip:1001@127.0.0.1:5070");
	ck_assert_str_eq(b->call_id, "c1@test");
	ck_assert_int_eq(b->cseq, 2);
	ck_assert_int_eq(tp_addr_port(&b->src.peer), cport);
	ck_assert_ptr_eq(reg_find_contact(&sd, "sip:1001@127.0.0.1:5070"), b);
	ck_assert_ptr_null(reg_find_contact(&sd, "sip:1001@127.0.0.1:5071"));
	ck_assert_uint_eq(reg_count(&sd), 1);
	snprintf(expect, sizeof(expect), " register user=1001 contact=sip:1001@127.0.0.1:5070 "
	    "addr=127.0.0.1:%d expires=1800\n", cport);
	ck_assert_ptr_nonnull(strstr(journal_text(), expect));

	/* the same nonce with the same nc: a replay, refused */
	osip_message_free(r);
	r = do_register("1001", DOMAIN, "c1@test", 3, hdrs);
	ck_assert_int_eq(r->status_code, 403);
	ck_assert(has_warning(r, "nonce-count replay"));
	osip_message_free(r);
}
END_TEST

START_TEST(test_wrong_password)
{
	osip_message_t *r;
	char hdrs[2048], auth[1024], expect[256];

	r = do_register("1001", DOMAIN, "c2@test", 1, "Contact: <sip:1001@127.0.0.1:5070>\r\n");
	ck_assert_int_eq(r->status_code, 401);
	answer(r, "1001", "guess", "00000001", auth, sizeof(auth));
	osip_message_free(r);
	snprintf(hdrs, sizeof(hdrs), "Contact: <sip:1001@127.0.0.1:5070>\r\n%s", auth);
	r = do_register("1001", DOMAIN, "c2@test", 2, hdrs);
	ck_assert_int_eq(r->status_code, 403);
	ck_assert_str_eq(r->reason_phrase, "Forbidden");
	ck_assert_ptr_nonnull(header(r, "warning"));
	ck_assert(has_warning(r, "399 " DOMAIN " \"wrong password\""));
	ck_assert_ptr_null(reg_lookup(&sd, "1001"));
	snprintf(expect, sizeof(expect), " auth-fail user=1001 addr=127.0.0.1:%d method=REGISTER "
	    "reason=\"wrong password\"\n", cport);
	ck_assert_ptr_nonnull(strstr(journal_text(), expect));
	osip_message_free(r);
}
END_TEST

START_TEST(test_unknown_user_with_auth)
{
	osip_message_t *r;
	char hdrs[2048], auth[1024];

	r = do_register("7777", DOMAIN, "c3@test", 1, "Contact: <sip:7777@127.0.0.1:5070>\r\n");
	ck_assert_int_eq(r->status_code, 401);	/* no hint whether the user exists */
	answer(r, "7777", "x", "00000001", auth, sizeof(auth));
	osip_message_free(r);
	snprintf(hdrs, sizeof(hdrs), "Contact: <sip:7777@127.0.0.1:5070>\r\n%s", auth);
	r = do_register("7777", DOMAIN, "c3@test", 2, hdrs);
	ck_assert_int_eq(r->status_code, 403);
	ck_assert(has_warning(r, "unknown user"));
	osip_message_free(r);
}
END_TEST

START_TEST(test_auth_off)
{
	sd.conf->auth = 0;
	ck_assert_int_eq(reg_status("5555", "c4@test", 1, "Contact: <sip:5555@10.0.0.9>\r\n"), 200);
	ck_assert_ptr_nonnull(reg_lookup(&sd, "5555"));
	ck_assert_ptr_nonnull(reg_find_contact(&sd, "sip:5555@10.0.0.9"));
}
END_TEST

START_TEST(test_not_our_domain)
{
	osip_message_t *r;

	sd.conf->auth = 0;
	r = do_register("1001", "other.example", "c5@test", 1, "Contact: <sip:1001@10.0.0.9>\r\n");
	ck_assert_int_eq(r->status_code, 403);
	ck_assert(has_warning(r, "not our domain"));
	osip_message_free(r);
	ck_assert_ptr_null(reg_lookup(&sd, "1001"));
	/* our own address is our domain too (no port: the one it came to) */
	r = do_register("1001", "127.0.0.1", "c5b@test", 1, "Contact: <sip:1001@10.0.0.9>\r\n");
	ck_assert_int_eq(r->status_code, 200);
	osip_message_free(r);
	ck_assert_ptr_nonnull(reg_lookup(&sd, "1001"));
}
END_TEST

START_TEST(test_expires_rules)
{
	osip_message_t *r;

	sd.conf->auth = 0;
	/* the Expires header beats the default; ;expires beats the header */
	r = do_register("1001", DOMAIN, "c6@test", 1,
	    "Contact: <sip:1001@10.0.0.1>, <sip:1001@10.0.0.2>;expires=120\r\n"
	    "Contact: <sip:1001@10.0.0.3;transport=tcp>;expires=99999\r\n"
	    "Expires: 300\r\n");
	ck_assert_int_eq(r->status_code, 200);
	ck_assert_int_eq(contact_expires(r, "sip:1001@10.0.0.1"), 300);
	ck_assert_int_eq(contact_expires(r, "sip:1001@10.0.0.2"), 120);
	ck_assert_int_eq(contact_expires(r, "sip:1001@10.0.0.3;transport=tcp"), 3600);
	ck_assert_int_eq(osip_list_size(&r->contacts), 3);
	osip_message_free(r);
	ck_assert_uint_eq(reg_count(&sd), 3);

	/* too brief: 423 with Min-Expires, nothing changed */
	r = do_register("1001", DOMAIN, "c6@test", 2,
	    "Contact: <sip:1001@10.0.0.4>;expires=3600, <sip:1001@10.0.0.5>;expires=30\r\n");
	ck_assert_int_eq(r->status_code, 423);
	ck_assert_str_eq(header(r, "min-expires"), "60");
	osip_message_free(r);
	ck_assert_uint_eq(reg_count(&sd), 3);
	ck_assert_ptr_null(reg_find_contact(&sd, "sip:1001@10.0.0.4"));

	/* expires=0 removes one; the 200 lists the others */
	r = do_register("1001", DOMAIN, "c6@test", 3, "Contact: <sip:1001@10.0.0.2>;expires=0\r\n");
	ck_assert_int_eq(r->status_code, 200);
	ck_assert_int_eq(osip_list_size(&r->contacts), 2);
	ck_assert_int_eq(contact_expires(r, "sip:1001@10.0.0.2"), -1);
	osip_message_free(r);
	ck_assert_uint_eq(reg_count(&sd), 2);
	ck_assert_ptr_null(reg_find_contact(&sd, "sip:1001@10.0.0.2"));
	ck_assert_int_eq(journal_count(" unregister user=1001 contact=sip:1001@10.0.0.2 "), 1);

	/* a bad Expires is a 400 */
	ck_assert_int_eq(reg_status("1001", "c6@test", 4,
	    "Contact: <sip:1001@10.0.0.1>\r\nExpires: soon\r\n"), 400);
	ck_assert_int_eq(reg_status("1001", "c6@test", 5,
	    "Contact: <sip:1001@10.0.0.1>;expires=-1\r\n"), 400);
}
END_TEST

START_TEST(test_wildcard)
{
	struct reg_binding *b;
	osip_message_t *r;

	sd.conf->auth = 0;
	ck_assert_int_eq(reg_status("1001", "c7@test", 1,
	    "Contact: <sip:1001@10.0.0.1>, <sip:1001@10.0.0.2>\r\n"), 200);
	ck_assert_int_eq(reg_status("1002", "c7b@test", 1, "Contact: <sip:1002@10.0.0.7>\r\n"), 200);
	ck_assert_uint_eq(reg_count(&sd), 3);

	/* * needs Expires: 0 and must stand alone */
	ck_assert_int_eq(reg_status("1001", "c7@test", 2, "Contact: *\r\nExpires: 60\r\n"), 400);
	ck_assert_int_eq(reg_status("1001", "c7@test", 3, "Contact: *\r\n"), 400);
	ck_assert_int_eq(reg_status("1001", "c7@test", 4,
	    "Contact: *\r\nContact: <sip:1001@10.0.0.3>\r\nExpires: 0\r\n"), 400);
	ck_assert_uint_eq(reg_count(&sd), 3);

	r = do_register("1001", DOMAIN, "c7@test", 5, "Contact: *\r\nExpires: 0\r\n");
	ck_assert_int_eq(r->status_code, 200);
	ck_assert_int_eq(osip_list_size(&r->contacts), 0);
	osip_message_free(r);
	ck_assert_ptr_null(reg_lookup(&sd, "1001"));
	b = reg_lookup(&sd, "1002");
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(reg_count(&sd), 1);
	ck_assert_int_eq(journal_count(" unregister user=1001 "), 2);
}
END_TEST

START_TEST(test_out_of_order)
{
	sd.conf->auth = 0;
	ck_assert_int_eq(reg_status("1001", "c8@test", 5,
	    "Contact: <sip:1001@10.0.0.1>;expires=600\r\n"), 200);
	/* an older request of the same registration must not undo the newer one */
	ck_assert_int_eq(reg_status("1001", "c8@test", 4,
	    "Contact: <sip:1001@10.0.0.1>;expires=0\r\n"), 400);
	ck_assert_int_eq(reg_status("1001", "c8@test", 5,
	    "Contact: <sip:1001@10.0.0.1>;expires=0\r\n"), 400);
	ck_assert_ptr_nonnull(reg_find_contact(&sd, "sip:1001@10.0.0.1"));
	ck_assert_int_eq(reg_status("1001", "c8@test", 4, "Contact: *\r\nExpires: 0\r\n"), 400);
	ck_assert_ptr_nonnull(reg_find_contact(&sd, "sip:1001@10.0.0.1"));
	/* another Call-ID (the phone restarted) may start low again */
	ck_assert_int_eq(reg_status("1001", "c8-new@test", 1,
	    "Contact: <sip:1001@10.0.0.1>;expires=600\r\n"), 200);
	ck_assert_str_eq(reg_lookup(&sd, "1001")->call_id, "c8-new@test");
	ck_assert_int_eq(reg_lookup(&sd, "1001")->cseq, 1);
}
END_TEST

START_TEST(test_query_and_refresh)
{
	osip_message_t *r;

	sd.conf->auth = 0;
	ck_assert_int_eq(reg_status("1001", "c9@test", 1, "Contact: <sip:1001@10.0.0.1>\r\n"), 200);
	ck_assert_int_eq(journal_count(" register user=1001 "), 1);
	/* a plain refresh from the same place is not journaled */
	ck_assert_int_eq(reg_status("1001", "c9@test", 2, "Contact: <sip:1001@10.0.0.1>\r\n"), 200);
	ck_assert_int_eq(journal_count(" register user=1001 "), 1);
	/* a new Call-ID (the phone restarted) is */
	ck_assert_int_eq(reg_status("1001", "c9-2@test", 1, "Contact: <sip:1001@10.0.0.1>\r\n"), 200);
	ck_assert_int_eq(journal_count(" register user=1001 "), 2);
	ck_assert_uint_eq(reg_count(&sd), 1);

	/* no Contact: a query, nothing changes */
	r = do_register("1001", DOMAIN, "c9-2@test", 2, "");
	ck_assert_int_eq(r->status_code, 200);
	ck_assert_int_eq(osip_list_size(&r->contacts), 1);
	ck_assert_int_eq(contact_expires(r, "sip:1001@10.0.0.1"), 1800);
	osip_message_free(r);
	r = do_register("1002", DOMAIN, "c9-3@test", 1, "");
	ck_assert_int_eq(r->status_code, 200);
	ck_assert_int_eq(osip_list_size(&r->contacts), 0);
	osip_message_free(r);
	ck_assert_uint_eq(reg_count(&sd), 1);
}
END_TEST

static void
count_visit(const struct reg_binding *b, void *arg)
{
	(*(int *)arg)++;
	ck_assert_ptr_nonnull(b->contact);
}

START_TEST(test_many_users)
{
	char user[16], contact[64], callid[32];
	int i, n = 0;

	sd.conf->auth = 0;
	/* enough to make both hashes grow */
	for (i = 0; i < 300; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		snprintf(contact, sizeof(contact), "Contact: <sip:u%d@10.1.%d.%d>\r\n", i, i / 256,
		    i % 256);
		snprintf(callid, sizeof(callid), "m%d@test", i);
		ck_assert_int_eq(reg_status(user, callid, 1, contact), 200);
	}
	ck_assert_uint_eq(reg_count(&sd), 300);
	reg_foreach(&sd, count_visit, &n);
	ck_assert_int_eq(n, 300);
	for (i = 0; i < 300; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		snprintf(contact, sizeof(contact), "sip:u%d@10.1.%d.%d", i, i / 256, i % 256);
		ck_assert_ptr_nonnull(reg_lookup(&sd, user));
		ck_assert_ptr_eq(reg_find_contact(&sd, contact), reg_lookup(&sd, user));
	}
	/* one user may not hold more than a bounded number of contacts */
	for (i = 0; i < 40; i++) {
		snprintf(contact, sizeof(contact), "Contact: <sip:many@10.2.0.%d>\r\n", i);
		if (reg_status("many", "many@test", i + 1, contact) != 200)
			break;
	}
	ck_assert_int_lt(i, 40);
	ck_assert_int_gt(i, 1);
}
END_TEST

static struct loop_timer stop_t;

static void
stop_cb(void *arg)
{
	loop_stop(sd.loop);
}

START_TEST(test_expiry)
{
	char expect[128];

	sd.conf->auth = 0;
	sd.conf->min_expires = 1;
	ck_assert_int_eq(reg_status("1001", "c10@test", 1,
	    "Contact: <sip:1001@10.0.0.1>;expires=1\r\nContact: <sip:1001@10.0.0.2>;expires=60\r\n"),
	    200);
	ck_assert_uint_eq(reg_count(&sd), 2);
	loop_timer_init(&stop_t, stop_cb, NULL);
	loop_timer_start(sd.loop, &stop_t, 1500);
	ck_assert_int_eq(loop_run(sd.loop), 0);
	ck_assert_uint_eq(reg_count(&sd), 1);
	ck_assert_ptr_null(reg_find_contact(&sd, "sip:1001@10.0.0.1"));
	ck_assert_ptr_nonnull(reg_find_contact(&sd, "sip:1001@10.0.0.2"));
	snprintf(expect, sizeof(expect), " expire user=1001 contact=sip:1001@10.0.0.1 "
	    "addr=127.0.0.1:%d\n", cport);
	ck_assert_ptr_nonnull(strstr(journal_text(), expect));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("reg");
	TCase *tc = tcase_create("reg");

	parser_init();
	log_init("reg_test", 1, LOG_LVL_WARN);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_auth_flow);
	tcase_add_test(tc, test_wrong_password);
	tcase_add_test(tc, test_unknown_user_with_auth);
	tcase_add_test(tc, test_auth_off);
	tcase_add_test(tc, test_not_our_domain);
	tcase_add_test(tc, test_expires_rules);
	tcase_add_test(tc, test_wildcard);
	tcase_add_test(tc, test_out_of_order);
	tcase_add_test(tc, test_query_and_refresh);
	tcase_add_test(tc, test_many_users);
	tcase_add_test(tc, test_expiry);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
