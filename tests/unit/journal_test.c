/*
 * journal_test.c — unit tests of sipd/journal.c: the text and JSON line
 * formats (UTC timestamps with milliseconds, quoting and escaping, numbers
 * in JSON, no way to forge a line from a value), and the file side: the
 * parent directory is created, lines are appended, and journal_reopen
 * follows a rename as logrotate does.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "common/log.h"
#include "sipd/sipd.h"

/* 2026-11-20T12:09:29.389Z */
static const struct timespec ts0 = { 1795176569, 389123456 };

static const char *
fmt(int json, const char *event, const char *const *kv, size_t nkv)
{
	static char buf[1024];
	size_t n = journal_format(buf, sizeof(buf), json, &ts0, event, kv, nkv);

	ck_assert_uint_lt(n, sizeof(buf));
	ck_assert_uint_eq(strlen(buf), n);
	ck_assert_int_eq(buf[n - 1], '\n');
	return buf;
}

START_TEST(test_text_plain)
{
	const char *kv[] = { "call", "65418859@192.168.2.159", "from", "01056785678",
	    "to", "01012341234", "media", "relay" };

	ck_assert_str_eq(fmt(0, "call-answer", kv, 8),
	    "2026-11-20T12:09:29.389Z call-answer call=65418859@192.168.2.159 "
	    "from=01056785678 to=01012341234 media=relay\n");
}
END_TEST

START_TEST(test_timestamp)
{
	struct timespec ts = { 0, 999999999 };
	char buf[128];

	journal_format(buf, sizeof(buf), 0, &ts, "x", NULL, 0);
	ck_assert_str_eq(buf, "1970-01-01T00:00:00.999Z x\n");
	ts.tv_sec = 951782400;	/* a leap day */
	ts.tv_nsec = 5000000;
	journal_format(buf, sizeof(buf), 0, &ts, "x", NULL, 0);
	ck_assert_str_eq(buf, "2000-02-29T00:00:00.005Z x\n");
	journal_format(buf, sizeof(buf), 1, &ts, "x", NULL, 0);
	ck_assert_str_eq(buf, "{\"ts\":\"2000-02-29T00:00:00.005Z\",\"event\":\"x\"}\n");
}
END_TEST

START_TEST(test_text_quoting)
{
	const char *kv[] = {
		"a", "two words",
		"b", "say \"hi\"",
		"c", "back\\slash",
		"d", "",
		"e", "k=v",
		"f", "Obsadené",
	};

	ck_assert_str_eq(fmt(0, "ev", kv, 12),
	    "2026-11-20T12:09:29.389Z ev a=\"two words\" b=\"say \\\"hi\\\"\" "
	    "c=\"back\\\\slash\" d=\"\" e=\"k=v\" f=Obsadené\n");
}
END_TEST

START_TEST(test_text_no_forged_lines)
{
	const char *kv[] = {
		"user", "1001\r\n2026-11-20T12:09:29.389Z register user=evil",
		"x", "tab\there\x01\x7f",
	};
	const char *s = fmt(0, "auth-fail", kv, 4);

	ck_assert_str_eq(s,
	    "2026-11-20T12:09:29.389Z auth-fail user=\"1001\\r\\n2026-11-20T12:09:29.389Z "
	    "register user=evil\" x=\"tab\\there\\x01\\x7f\"\n");
	ck_assert_ptr_eq(strchr(s, '\n'), s + strlen(s) - 1);
	ck_assert_ptr_null(strchr(s, '\r'));
}
END_TEST

START_TEST(test_null_values_left_out)
{
	const char *kv[] = { "a", "1", "b", NULL, "c", "3" };

	ck_assert_str_eq(fmt(0, "ev", kv, 6), "2026-11-20T12:09:29.389Z ev a=1 c=3\n");
	ck_assert_str_eq(fmt(1, "ev", kv, 6),
	    "{\"ts\":\"2026-11-20T12:09:29.389Z\",\"event\":\"ev\",\"a\":\"1\",\"c\":\"3\"}\n");
}
END_TEST

START_TEST(test_json_escaping)
{
	const char *kv[] = {
		"user", "a\"b\\c",
		"crlf", "x\r\ny",
		"ctl", "\x01\x1f",
		"utf8", "Obsadené",
		"bad", "\xff\xc3",
	};

	ck_assert_str_eq(fmt(1, "room-join", kv, 10),
	    "{\"ts\":\"2026-11-20T12:09:29.389Z\",\"event\":\"room-join\","
	    "\"user\":\"a\\\"b\\\\c\",\"crlf\":\"x\\r\\ny\",\"ctl\":\"\\u0001\\u001f\","
	    "\"utf8\":\"Obsadené\",\"bad\":\"\\ufffd\\ufffd\"}\n");
}
END_TEST

START_TEST(test_json_numbers)
{
	const char *kv[] = {
		"expires", "3600",
		"duration", "12.345",
		"status", "486",
		"seconds", "-0.5e3",
		"caller_pkts", "012",	/* not a JSON number */
		"callee_pkts", "1e",	/* nor this */
		"user", "1001",		/* not a numeric key */
		"caller_lost", "",
		"callee_lost", "0",
	};

	ck_assert_str_eq(fmt(1, "call-end", kv, 18),
	    "{\"ts\":\"2026-11-20T12:09:29.389Z\",\"event\":\"call-end\","
	    "\"expires\":3600,\"duration\":12.345,\"status\":486,\"seconds\":-0.5e3,"
	    "\"caller_pkts\":\"012\",\"callee_pkts\":\"1e\",\"user\":\"1001\","
	    "\"caller_lost\":\"\",\"callee_lost\":0}\n");
}
END_TEST

START_TEST(test_truncation)
{
	const char *kv[] = { "a", "0123456789" };
	char buf[16], full[128];
	size_t n, m;

	m = journal_format(full, sizeof(full), 0, &ts0, "ev", kv, 2);
	n = journal_format(buf, sizeof(buf), 0, &ts0, "ev", kv, 2);
	ck_assert_uint_eq(n, m);	/* snprintf-like: the length it needs */
	ck_assert_uint_eq(strlen(buf), sizeof(buf) - 1);
	ck_assert(strncmp(buf, full, sizeof(buf) - 1) == 0);
}
END_TEST

/* ------------------------------------------------------------ the file */

static char dir[PATH_MAX];

static void
file_setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/journal_test.XXXXXX", tmp != NULL ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
file_teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static char *
slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

START_TEST(test_file_write)
{
	struct journal *j = NULL;
	char path[PATH_MAX + 32], sub[PATH_MAX + 16];
	const char *s;
	struct stat st;
	mode_t mask;

	/* the parent directory does not exist yet */
	snprintf(sub, sizeof(sub), "%s/log", dir);
	snprintf(path, sizeof(path), "%s/calls.log", sub);
	ck_assert_int_eq(journal_open(&j, path, 0), 0);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	mask = umask(0);
	umask(mask);
	ck_assert_int_eq(st.st_mode & 0777, 0750 & ~mask);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0077 & ~0040, 0);	/* at most 0640 */

	journal_write(j, "register", "user", "1001", "contact", "sip:1001@10.0.0.5:5060",
	    "addr", "10.0.0.5:5060", "expires", "3600", NULL);
	journal_write(j, "unregister", "user", "1001", "addr", NULL, "contact", "x y", NULL);
	journal_close(j);

	s = slurp(path);
	ck_assert_int_eq(count_lines(s), 2);
	ck_assert_ptr_nonnull(strstr(s, "Z register user=1001 contact=sip:1001@10.0.0.5:5060 "
	    "addr=10.0.0.5:5060 expires=3600\n"));
	ck_assert_ptr_nonnull(strstr(s, "Z unregister user=1001 contact=\"x y\"\n"));
	ck_assert_int_eq(s[4], '-');
	ck_assert_int_eq(s[10], 'T');
	ck_assert_int_eq(s[19], '.');
	ck_assert_int_eq(s[23], 'Z');

	/* appends, never truncates */
	ck_assert_int_eq(journal_open(&j, path, 1), 0);
	journal_write(j, "expire", "user", "1001", "expires", "60", NULL);
	journal_close(j);
	s = slurp(path);
	ck_assert_int_eq(count_lines(s), 3);
	ck_assert_ptr_nonnull(strstr(s, "\",\"event\":\"expire\",\"user\":\"1001\",\"expires\":60}\n"));
}
END_TEST

START_TEST(test_file_reopen_after_rename)
{
	struct journal *j = NULL;
	char path[PATH_MAX + 32], old[PATH_MAX + 32];
	const char *s;

	snprintf(path, sizeof(path), "%s/calls.log", dir);
	snprintf(old, sizeof(old), "%s/calls.log.1", dir);
	ck_assert_int_eq(journal_open(&j, path, 0), 0);
	journal_write(j, "one", NULL);
	ck_assert_int_eq(rename(path, old), 0);
	journal_write(j, "two", NULL);		/* still the old file */
	ck_assert_int_eq(journal_reopen(j), 0);
	journal_write(j, "three", NULL);
	journal_close(j);

	s = slurp(old);
	ck_assert_int_eq(count_lines(s), 2);
	ck_assert_ptr_nonnull(strstr(s, "Z one\n"));
	ck_assert_ptr_nonnull(strstr(s, "Z two\n"));
	s = slurp(path);
	ck_assert_int_eq(count_lines(s), 1);
	ck_assert_ptr_nonnull(strstr(s, "Z three\n"));
}
END_TEST

START_TEST(test_file_long_line)
{
	struct journal *j = NULL;
	char path[PATH_MAX + 32], *big;
	const char *s;

	snprintf(path, sizeof(path), "%s/calls.log", dir);
	big = malloc(6001);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', 6000);
	big[6000] = '\0';
	ck_assert_int_eq(journal_open(&j, path, 0), 0);
	journal_write(j, "long", "v", big, NULL);
	journal_close(j);
	s = slurp(path);
	ck_assert_int_eq(count_lines(s), 1);
	ck_assert_uint_eq(strlen(s), 25 + 5 + 2 + 6000 + 1);
	free(big);
}
END_TEST

START_TEST(test_file_errors)
{
	struct journal *j = NULL;
	char path[PATH_MAX + 32];

	/* two missing levels: only one is created */
	snprintf(path, sizeof(path), "%s/a/b/calls.log", dir);
	ck_assert_int_eq(journal_open(&j, path, 0), ENOENT);
	ck_assert_ptr_null(j);
	journal_write(NULL, "nothing", "a", "b", NULL);	/* no journal: a no-op */
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("journal");
	TCase *tf = tcase_create("format"), *tfile = tcase_create("file");

	log_init("journal_test", 1, LOG_LVL_WARN);
	tcase_add_test(tf, test_text_plain);
	tcase_add_test(tf, test_timestamp);
	tcase_add_test(tf, test_text_quoting);
	tcase_add_test(tf, test_text_no_forged_lines);
	tcase_add_test(tf, test_null_values_left_out);
	tcase_add_test(tf, test_json_escaping);
	tcase_add_test(tf, test_json_numbers);
	tcase_add_test(tf, test_truncation);
	suite_add_tcase(s, tf);
	tcase_add_checked_fixture(tfile, file_setup, file_teardown);
	tcase_add_test(tfile, test_file_write);
	tcase_add_test(tfile, test_file_reopen_after_rename);
	tcase_add_test(tfile, test_file_long_line);
	tcase_add_test(tfile, test_file_errors);
	suite_add_tcase(s, tfile);
	return unit_run(s);
}
