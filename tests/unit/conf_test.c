/*
 * conf_test.c — unit tests of common/conf.c: the built-in defaults, a good
 * file with every section, and bad files that must each be refused with an
 * error naming file:line.  Every file is written to a fresh temp dir.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "common/conf.h"

static char dir[PATH_MAX];
static char path[PATH_MAX + 16];

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/conf_test.XXXXXX", tmp != NULL ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/parley.conf", dir);
}

static void
teardown(void)
{
	unlink(path);
	rmdir(dir);
}

static void
write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* Loads text; expects failure with an error that starts "path:line:" and holds what. */
static void
expect_error(const char *text, int line, const char *what)
{
	struct parley_conf *c = NULL;
	char err[512], prefix[PATH_MAX + 64];

	write_file(text);
	ck_assert_int_ne(conf_load(path, &c, err, sizeof(err)), 0);
	ck_assert_ptr_null(c);
	snprintf(prefix, sizeof(prefix), "%s:%d:", path, line);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
	    "error \"%s\" does not start with \"%s\"", err, prefix);
	ck_assert_msg(strstr(err, what) != NULL, "error \"%s\" does not mention \"%s\"", err, what);
}

START_TEST(test_defaults)
{
	struct parley_conf *c = NULL;
	char err[256];

	ck_assert_int_eq(conf_load(NULL, &c, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->builtin, 1);
	ck_assert_ptr_null(c->path);
	ck_assert_uint_eq(c->nlisten, 2);
	ck_assert_int_eq(c->listen[0].transport, CONF_UDP);
	ck_assert_str_eq(c->listen[0].host, "0.0.0.0");
	ck_assert_int_eq(c->listen[0].port, 5060);
	ck_assert_int_eq(c->listen[1].transport, CONF_TCP);
	ck_assert_str_eq(c->domain, "pbx.local");
	ck_assert_int_eq(c->auth, 1);
	ck_assert_int_eq(c->no_answer_timeout, 60);
	ck_assert_int_le(c->min_expires, c->default_expires);
	ck_assert_int_le(c->default_expires, c->max_expires);
	ck_assert_int_gt(c->nonce_ttl, 0);
	ck_assert_uint_eq(c->nusers, 0);
	ck_assert_str_eq(c->media_mode, "relay");
	ck_assert_int_eq(c->rtp_port_min, 20000);
	ck_assert_int_eq(c->rtp_port_max, 29999);
	ck_assert_uint_eq(c->ncodecs, 4);
	ck_assert_str_eq(c->codecs[0], "AMR-WB");
	ck_assert_str_eq(c->journal_path, "/var/log/parley/calls.log");
	ck_assert_int_eq(c->journal_json, 0);
	ck_assert_str_eq(c->ctl_sipctl, "ipc:///run/parley/sipctl.sock");
	ck_assert_str_eq(c->daemon_user, "parley");
	ck_assert_ptr_null(c->daemon_group);
	ck_assert_ptr_null(conf_user_find(c, "1001"));
	ck_assert_ptr_null(conf_reason_phrase(c, 486));
	conf_free(c);
}
END_TEST

START_TEST(test_good_file)
{
	struct parley_conf *c = NULL;
	const struct conf_user *u;
	char err[512];

	write_file(
	    "sip: {\n"
	    "  listen = [ \"udp:127.0.0.1:5070\", \"tcp:[::1]:5071\" ];\n"
	    "  domain = \"pbx.test\";\n"
	    "  auth = false;\n"
	    "  no_answer_timeout = 30;\n"
	    "  min_expires = 30; max_expires = 600; default_expires = 300;\n"
	    "  nonce_ttl = 60;\n"
	    "  reason_phrases = ( { code = 486; text = \"Obsadené\"; } );\n"
	    "};\n"
	    "users = (\n"
	    "  { name = \"1001\"; password = \"secret\"; display = \"Alice\"; },\n"
	    "  { name = \"1002\"; ha1 = \"0123456789ABCDEF0123456789abcdef\"; media = \"p2p\"; }\n"
	    ");\n"
	    "rooms: { numbers = [ \"800-809\" ]; max_participants = 5; max_rooms = 2; };\n"
	    "media: { mode = \"p2p\"; rtp_ports = [ 30000, 30099 ]; codecs = [ \"PCMA\" ]; rtp_timeout = 10; };\n"
	    "recording: { dir = \"/tmp/rec\"; calls = true; rooms = true; legs = false; mix = true; };\n"
	    "journal: { path = \"/tmp/j/calls.log\"; format = \"json\"; };\n"
	    "control: { sipctl = \"ipc:///tmp/s.sock\"; media = \"tcp://127.0.0.1:7000\"; recorder = \"ipc:///tmp/r.sock\"; };\n"
	    "log: { level = \"debug\"; };\n");
	ck_assert_msg(conf_load(path, &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(c->builtin, 0);
	ck_assert_str_eq(c->path, path);
	ck_assert_uint_eq(c->nlisten, 2);
	ck_assert_int_eq(c->listen[0].transport, CONF_UDP);
	ck_assert_str_eq(c->listen[0].host, "127.0.0.1");
	ck_assert_int_eq(c->listen[0].port, 5070);
	ck_assert_int_eq(c->listen[1].transport, CONF_TCP);
	ck_assert_str_eq(c->listen[1].host, "::1");
	ck_assert_int_eq(c->listen[1].port, 5071);
	ck_assert_str_eq(c->domain, "pbx.test");
	ck_assert_int_eq(c->auth, 0);
	ck_assert_int_eq(c->no_answer_timeout, 30);
	ck_assert_int_eq(c->min_expires, 30);
	ck_assert_int_eq(c->max_expires, 600);
	ck_assert_int_eq(c->default_expires, 300);
	ck_assert_int_eq(c->nonce_ttl, 60);
	ck_assert_str_eq(conf_reason_phrase(c, 486), "Obsadené");
	ck_assert_uint_eq(c->nusers, 2);
	u = conf_user_find(c, "1001");
	ck_assert_ptr_nonnull(u);
	ck_assert_str_eq(u->password, "secret");
	ck_assert_str_eq(u->display, "Alice");
	ck_assert_ptr_null(u->ha1);
	u = conf_user_find(c, "1002");
	ck_assert_ptr_nonnull(u);
	ck_assert_ptr_null(u->password);
	ck_assert_str_eq(u->ha1, "0123456789ABCDEF0123456789abcdef");
	ck_assert_str_eq(u->media, "p2p");
	ck_assert_uint_eq(c->nroom_numbers, 1);
	ck_assert_str_eq(c->room_numbers[0], "800-809");
	ck_assert_int_eq(c->max_participants, 5);
	ck_assert_int_eq(c->max_rooms, 2);
	ck_assert_str_eq(c->media_mode, "p2p");
	ck_assert_int_eq(c->rtp_port_min, 30000);
	ck_assert_int_eq(c->rtp_port_max, 30099);
	ck_assert_uint_eq(c->ncodecs, 1);
	ck_assert_int_eq(c->rtp_timeout, 10);
	ck_assert_str_eq(c->rec_dir, "/tmp/rec");
	ck_assert_int_eq(c->rec_calls, 1);
	ck_assert_int_eq(c->rec_legs, 0);
	ck_assert_str_eq(c->journal_path, "/tmp/j/calls.log");
	ck_assert_int_eq(c->journal_json, 1);
	ck_assert_uint_eq(c->nctl_media, 1);
	ck_assert_str_eq(c->ctl_media[0], "tcp://127.0.0.1:7000");
	ck_assert_int_eq(c->log_level, 3);
	conf_free(c);
}
END_TEST

START_TEST(test_missing_file)
{
	struct parley_conf *c = NULL;
	char err[512];

	ck_assert_int_ne(conf_load(path, &c, err, sizeof(err)), 0);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(err, path));
}
END_TEST

START_TEST(test_syntax_error)
{
	expect_error("sip: {\n  domain = \"a\";\n  auth = ;\n};\n", 3, "");
}
END_TEST

START_TEST(test_unknown_key)
{
	expect_error("sip: {\n  domain = \"a\";\n  domian = \"b\";\n};\n", 3, "domian");
}
END_TEST

START_TEST(test_unknown_section)
{
	expect_error("sip: { domain = \"a\"; };\n\nsipp: { x = 1; };\n", 3, "sipp");
}
END_TEST

START_TEST(test_wrong_type)
{
	expect_error("sip: {\n  auth = \"yes\";\n};\n", 2, "auth");
	expect_error("sip: {\n\n  min_expires = \"60\";\n};\n", 3, "min_expires");
	expect_error("journal: {\n  path = 5;\n};\n", 2, "path");
}
END_TEST

START_TEST(test_user_without_password)
{
	expect_error("users = (\n  { name = \"1001\"; password = \"x\"; },\n"
	    "  { name = \"1002\"; display = \"Bob\"; }\n);\n", 3, "1002");
}
END_TEST

START_TEST(test_user_twice)
{
	expect_error("users = (\n  { name = \"1001\"; password = \"x\"; },\n"
	    "  { name = \"1001\"; password = \"y\"; }\n);\n", 3, "twice");
}
END_TEST

START_TEST(test_bad_listen)
{
	expect_error("sip: {\n  listen = [ \"udp:0.0.0.0:5060\",\n"
	    "    \"sctp:1.2.3.4:5060\" ];\n};\n", 3, "sctp:1.2.3.4:5060");
	expect_error("sip: {\n  listen = [ \"udp:1.2.3.4:99999\" ];\n};\n", 2, "listen");
	expect_error("sip: {\n  listen = [ \"udp:::1:5060\" ];\n};\n", 2, "listen");
	/* names would need a resolver at start: only literal addresses */
	expect_error("sip: {\n  listen = [ \"udp:localhost:5060\" ];\n};\n", 2, "literal");
}
END_TEST

START_TEST(test_min_above_max)
{
	expect_error("sip: {\n  max_expires = 100;\n  min_expires = 200;\n};\n", 3, "min_expires");
	/* every REGISTER without an expiry would get 423 */
	expect_error("sip: {\n  min_expires = 120;\n  default_expires = 60;\n};\n", 3,
	    "default_expires");
	/* a section that is not a group must not be ignored */
	expect_error("\nsip = 5;\n", 2, "must be a group");
	expect_error("log = \"x\";\n", 1, "must be a group");
}
END_TEST

START_TEST(test_ha1_not_hex)
{
	expect_error("users = (\n  { name = \"1001\";\n"
	    "    ha1 = \"0123456789abcdef0123456789abcdeg\"; }\n);\n", 3, "ha1");
	expect_error("users = (\n  { name = \"1001\";\n    ha1 = \"abc\"; }\n);\n", 3, "ha1");
}
END_TEST

START_TEST(test_bad_values)
{
	expect_error("media: {\n  mode = \"relay\";\n  rtp_ports = [ 100, 200 ];\n};\n", 3, "rtp_ports");
	expect_error("journal: {\n  format = \"xml\";\n};\n", 2, "format");
	expect_error("log: {\n  level = \"loud\";\n};\n", 2, "level");
	expect_error("daemon: {\n  user = \"par ley\";\n};\n", 2, "user name");
	expect_error("daemon: {\n  group = \"-g\";\n};\n", 2, "group name");
	expect_error("daemon: {\n  uid = 1000;\n};\n", 2, "uid");
}
END_TEST

/* users[].record against recording.calls, legs and mix */
START_TEST(test_record)
{
	struct parley_conf *c = NULL;
	char err[512];

	write_file("users = (\n"
	    "  { name = \"1001\"; password = \"x\"; record = true; },\n"
	    "  { name = \"1002\"; password = \"x\"; record = false; },\n"
	    "  { name = \"1003\"; password = \"x\"; }\n"
	    ");\n");
	ck_assert_int_eq(conf_load(path, &c, err, sizeof(err)), 0);
	ck_assert_int_eq(conf_user_find(c, "1001")->record, 1);
	ck_assert_int_eq(conf_user_find(c, "1002")->record, 0);
	ck_assert_int_eq(conf_user_find(c, "1003")->record, -1);
	/* recording.calls false: only a party's record = true records */
	ck_assert_int_eq(conf_record_call(c, "1001", "1003"), 1);
	ck_assert_int_eq(conf_record_call(c, "1003", "1001"), 1);
	ck_assert_int_eq(conf_record_call(c, "1001", "1002"), 1);
	ck_assert_int_eq(conf_record_call(c, "1003", "1002"), 0);
	ck_assert_int_eq(conf_record_call(c, "1003", "nobody"), 0);
	ck_assert_int_eq(conf_record_call(c, NULL, NULL), 0);
	/* recording.calls true: all but where a party says record = false */
	c->rec_calls = 1;
	ck_assert_int_eq(conf_record_call(c, "1003", "nobody"), 1);
	ck_assert_int_eq(conf_record_call(c, NULL, "1003"), 1);
	ck_assert_int_eq(conf_record_call(c, "1003", "1002"), 0);
	ck_assert_int_eq(conf_record_call(c, "1002", "1003"), 0);
	ck_assert_int_eq(conf_record_call(c, "1001", "1002"), 1);
	/* neither legs nor mix: nothing to write, nothing recorded */
	c->rec_rooms = 1;
	ck_assert_int_eq(conf_record_rooms(c), 1);
	c->rec_legs = 0;
	ck_assert_int_eq(conf_record_call(c, "1003", "nobody"), 1);
	c->rec_mix = 0;
	ck_assert_int_eq(conf_record_call(c, "1001", "1003"), 0);
	ck_assert_int_eq(conf_record_call(c, "1003", "nobody"), 0);
	ck_assert_int_eq(conf_record_rooms(c), 0);
	conf_free(c);

	expect_error("users = (\n  { name = \"1001\"; password = \"x\";\n"
	    "    record = \"yes\"; }\n);\n", 3, "'record' must be true or false");
	expect_error("users = (\n  { name = \"1001\"; password = \"x\"; record = 1; }\n);\n",
	    2, "record");
}
END_TEST

START_TEST(test_daemon)
{
	struct parley_conf *c = NULL;
	char err[512];

	write_file("daemon: {\n  user = \"_parley-1.x\";\n  group = \"operators\";\n};\n");
	ck_assert_int_eq(conf_load(path, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c->daemon_user, "_parley-1.x");
	ck_assert_str_eq(c->daemon_group, "operators");
	conf_free(c);
}
END_TEST

START_TEST(test_rooms_and_codecs)
{
	struct parley_conf *c = NULL;
	char err[512];

	expect_error("rooms: {\n  numbers = [ \"899-800\" ];\n};\n", 2, "899-800");
	expect_error("rooms: {\n  numbers = [ \"80-899\" ];\n};\n", 2, "same length");
	expect_error("rooms: {\n  numbers = [ \"a b\" ];\n};\n", 2, "not allowed");
	expect_error("users = ( { name = \"810\"; password = \"x\"; } );\n"
	    "rooms: {\n  numbers = [ \"800-899\" ];\n};\n", 3, "both a user and a room");
	expect_error("media: {\n  codecs = [ \"PCMA\", \"G729\" ];\n};\n", 2, "G729");
	expect_error("media: {\n  codecs = [ \"PCMA\", \"pcma\" ];\n};\n", 2, "twice");
	expect_error("media: {\n  codecs = [ ];\n};\n", 2, "at least one");

	write_file("rooms: {\n  numbers = [ \"800-899\", \"conference\", \"0-9\" ];\n};\n");
	ck_assert_int_eq(conf_load(path, &c, err, sizeof(err)), 0);
	ck_assert(conf_room_match(c, "800"));
	ck_assert(conf_room_match(c, "899"));
	ck_assert(conf_room_match(c, "845"));
	ck_assert(conf_room_match(c, "conference"));
	ck_assert(conf_room_match(c, "7"));
	ck_assert(!conf_room_match(c, "799"));
	ck_assert(!conf_room_match(c, "900"));
	ck_assert(!conf_room_match(c, "0800"));	/* not the same number of digits */
	ck_assert(!conf_room_match(c, "80"));
	ck_assert(!conf_room_match(c, "8a0"));
	ck_assert(!conf_room_match(c, "Conference"));
	ck_assert(!conf_room_match(c, ""));
	ck_assert(!conf_room_match(c, NULL));
	conf_free(c);
}
END_TEST

START_TEST(test_listen_parse)
{
	struct conf_listen l;

	ck_assert_int_eq(conf_parse_listen("tcp:[2001:db8::1]:5061", &l), 0);
	ck_assert_int_eq(l.transport, CONF_TCP);
	ck_assert_str_eq(l.host, "2001:db8::1");
	ck_assert_int_eq(l.port, 5061);
	free(l.host);
	ck_assert_int_eq(conf_parse_listen("udp:10.0.0.1:0", &l), EINVAL);
	ck_assert_int_eq(conf_parse_listen("udp:10.0.0.1", &l), EINVAL);
	ck_assert_int_eq(conf_parse_listen("udp::5060", &l), EINVAL);
	ck_assert_int_eq(conf_parse_listen("tls:10.0.0.1:5061", &l), EINVAL);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("conf");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_good_file);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_syntax_error);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_unknown_section);
	tcase_add_test(tc, test_wrong_type);
	tcase_add_test(tc, test_user_without_password);
	tcase_add_test(tc, test_user_twice);
	tcase_add_test(tc, test_bad_listen);
	tcase_add_test(tc, test_min_above_max);
	tcase_add_test(tc, test_ha1_not_hex);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_daemon);
	tcase_add_test(tc, test_record);
	tcase_add_test(tc, test_listen_parse);
	tcase_add_test(tc, test_rooms_and_codecs);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(conf_suite());
}
