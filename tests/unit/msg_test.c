/*
 * msg_test.c — unit tests of sipd/msg.c: building responses from a parsed
 * request (headers copied, To tag added, configured reason phrases), header
 * accessors, and random tokens.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <osipparser2/osip_parser.h>
#include <osipparser2/osip_port.h>

#include "tests/unit/unit.h"
#include "common/conf.h"
#include "common/log.h"
#include "sipd/sipd.h"

static const char invite[] =
    "INVITE sip:1002@pbx.test SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc;rport\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKdef\r\n"
    "Max-Forwards: 70\r\n"
    "From: \"Alice\" <sip:1001@pbx.test>;tag=ftag1\r\n"
    "To: <sip:1002@pbx.test>\r\n"
    "Call-ID: call-1@test\r\n"
    "CSeq: 7 INVITE\r\n"
    "X-Custom: hello\r\n"
    "Content-Length: 0\r\n\r\n";

static struct sipd sd;

static void
setup(void)
{
	char err[256];

	memset(&sd, 0, sizeof(sd));
	ck_assert_int_eq(conf_load(NULL, &sd.conf, err, sizeof(err)), 0);
	sd.conf->reasons = calloc(1, sizeof(*sd.conf->reasons));
	sd.conf->reasons[0].code = 486;
	sd.conf->reasons[0].text = strdup("Obsadené");
	sd.conf->nreasons = 1;
	sd.server_name = "Parley/test";
}

static void
teardown(void)
{
	conf_free(sd.conf);
}

static osip_message_t *
parse(const char *s)
{
	osip_message_t *m;

	ck_assert_int_eq(osip_message_init(&m), 0);
	ck_assert_int_eq(osip_message_parse(m, s, strlen(s)), 0);
	return m;
}

START_TEST(test_response_copies_headers)
{
	osip_message_t *req = parse(invite), *r;
	char *buf;
	size_t len;

	r = msg_make_response(&sd, req, 180, NULL);
	ck_assert_int_eq(r->status_code, 180);
	ck_assert_str_eq(r->reason_phrase, "Ringing");
	ck_assert_int_eq(osip_list_size(&r->vias), 2);
	ck_assert_str_eq(r->cseq->number, "7");
	ck_assert_str_eq(r->cseq->method, "INVITE");
	ck_assert_str_eq(msg_from_tag(r), "ftag1");
	ck_assert_ptr_nonnull(msg_to_tag(r));
	ck_assert_int_eq(strlen(msg_to_tag(r)), 16);
	ck_assert_int_eq(msg_to_str(r, &buf, &len), 0);
	ck_assert_ptr_nonnull(strstr(buf, "SIP/2.0 180 Ringing\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "Parley/test"));
	ck_assert_ptr_nonnull(strstr(buf, "Call-ID: call-1@test\r\n"));
	osip_free(buf);
	osip_message_free(r);
	osip_message_free(req);
}
END_TEST

START_TEST(test_trying_has_no_tag)
{
	osip_message_t *req = parse(invite), *r;

	r = msg_make_response(&sd, req, 100, NULL);
	ck_assert_ptr_null(msg_to_tag(r));
	osip_message_free(r);
	osip_message_free(req);
}
END_TEST

START_TEST(test_reason_phrases)
{
	ck_assert_str_eq(msg_reason(&sd, 486, NULL), "Obsadené");
	ck_assert_str_eq(msg_reason(&sd, 404, NULL), "Not Found");
	ck_assert_str_eq(msg_reason(&sd, 400, "Missing Call-ID"), "Missing Call-ID");
	ck_assert_str_eq(msg_reason(&sd, 486, "ignored"), "Obsadené");
	ck_assert_str_eq(msg_reason(&sd, 499, NULL), "Client Error");
}
END_TEST

START_TEST(test_header_access)
{
	osip_message_t *req = parse(invite);

	ck_assert_str_eq(msg_header(req, "x-custom"), "hello");
	ck_assert_str_eq(msg_header(req, "X-Custom"), "hello");
	ck_assert_str_eq(msg_header(req, "max-forwards"), "70");
	ck_assert_ptr_null(msg_header(req, "x-missing"));
	ck_assert_int_eq(msg_cseq_num(req), 7);
	ck_assert_ptr_null(msg_to_tag(req));
	osip_message_free(req);
}
END_TEST

START_TEST(test_random_tokens)
{
	char a[33], b[33];
	size_t i;

	msg_random_token(a, sizeof(a));
	msg_random_token(b, sizeof(b));
	ck_assert_int_eq(strlen(a), 32);
	ck_assert_str_ne(a, b);
	for (i = 0; i < 32; i++)
		ck_assert(strchr("0123456789abcdef", a[i]) != NULL);
}
END_TEST

START_TEST(test_branch_mac)
{
	char b[48], t[64];

	msg_branch_make(b, sizeof(b));
	ck_assert_int_eq(strlen(b), 7 + 24);
	ck_assert(strncmp(b, "z9hG4bK", 7) == 0);
	ck_assert(msg_branch_ours(b));
	/* the loop tag proxy.c appends keeps it ours */
	snprintf(t, sizeof(t), "%s.0123456789abcdef", b);
	ck_assert(msg_branch_ours(t));
	/* a forged MAC, a changed random part, someone else's branch */
	memcpy(t, b, sizeof(b));
	t[7 + 16] = t[7 + 16] == '0' ? '1' : '0';
	ck_assert(!msg_branch_ours(t));
	memcpy(t, b, sizeof(b));
	t[8] = t[8] == '0' ? '1' : '0';
	ck_assert(!msg_branch_ours(t));
	ck_assert(!msg_branch_ours("z9hG4bK-12345-1-0"));
	ck_assert(!msg_branch_ours("z9hG4bK0123456789abcdef01234567"));
	ck_assert(!msg_branch_ours(NULL));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("msg");
	TCase *tc = tcase_create("msg");

	parser_init();
	log_init("msg_test", 1, LOG_LVL_WARN);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_response_copies_headers);
	tcase_add_test(tc, test_trying_has_no_tag);
	tcase_add_test(tc, test_reason_phrases);
	tcase_add_test(tc, test_header_access);
	tcase_add_test(tc, test_random_tokens);
	tcase_add_test(tc, test_branch_mac);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
