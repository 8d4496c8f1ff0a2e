/*
 * journal_test.c — unit tests of sipd/journal.c: the text and JSON line
 * formats (UTC timestamps with milliseconds, quoting and escaping, numbers
 * in JSON, no way to forge a line from a value), and the file side: the
 * parent directory is created, lines are appended, and journal_reopen
 * follows a rename as logrotate does.  And the recording lines of
 * sipd/recording.c (rec-start, rec-gap, rec-done) as mediad's REC_EVENTs
 * and a lost node make them.
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

/* ------------------------------------------------------------ recordings (recording.c) */

static struct sipd rsd;
static char rpath[PATH_MAX + 32];

/* a sipd with only what recording.c needs: its journal, calls, rooms */
static void
rec_open(int json)
{
	memset(&rsd, 0, sizeof(rsd));
	snprintf(rpath, sizeof(rpath), "%s/calls.log", dir);
	ck_assert_int_eq(journal_open(&rsd.journal, rpath, json), 0);
	ck_assert_int_eq(call_init(&rsd), 0);
	ck_assert_int_eq(room_init(&rsd), 0);
	ck_assert_int_eq(recording_init(&rsd), 0);
}

static void
rec_close(void)
{
	recording_shutdown(&rsd);
	room_shutdown(&rsd);
	call_shutdown(&rsd);
	journal_close(rsd.journal);
}

/* REC_EVENT from node 0 (or node) with nfiles files f and their ms */
static void
rec_event(int node, uint32_t kind, const char *target, const char *rec, uint32_t state,
    size_t nfiles, const char *const *f, const uint64_t *ms, const char *sidecar,
    const char *reason, const char *stream, uint32_t gap_ms)
{
	struct proto_rec_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.target = (char *)target;
	ev.rec = (char *)rec;
	ev.state = state;
	ev.files.n = nfiles;
	ev.files.v = (char **)f;
	ev.ms.n = ms != NULL ? nfiles : 0;
	ev.ms.v = (uint64_t *)ms;
	ev.sidecar = (char *)sidecar;
	ev.reason = (char *)reason;
	ev.stream = (char *)stream;
	ev.gap_ms = gap_ms;
	recording_event(&rsd, node, &ev);
}

/* The journal's lines without their timestamps ("event k=v ...\n" each). */
static const char *
rec_lines(void)
{
	static char out[8192];
	const char *s = slurp(rpath), *nl;
	size_t n = 0;

	for (; *s != '\0'; s = nl + 1) {
		const char *sp = strchr(s, ' ');

		nl = strchr(s, '\n');
		ck_assert_ptr_nonnull(nl);
		ck_assert_ptr_nonnull(sp);
		memcpy(out + n, sp + 1, (size_t)(nl - sp));
		n += (size_t)(nl - sp);
	}
	out[n] = '\0';
	return out;
}

struct rec_seen {
	char	 text[2048];
	size_t	 n;
};

static void
rec_visit(const struct recording *r, void *arg)
{
	struct rec_seen *v = arg;

	v->n++;
	snprintf(v->text + strlen(v->text), sizeof(v->text) - strlen(v->text), "%s:%s:%s ",
	    r->rec, r->target, recording_state_name(r->state));
}

START_TEST(test_rec_lines)
{
	static const char *const files[] = { "/r/2026/11/20/120929_c1_caller.wav",
	    "/r/2026/11/20/120929_c1_callee.wav", "/r/2026/11/20/120929_c1_mix.wav" };
	static const uint64_t ms[] = { 72364, 72365, 72001 };
	static const char *const rfiles[] = { "/r/2026/11/20/121000_room-800_mix.wav" };
	static const uint64_t rms[] = { 5000 };
	struct rec_seen seen = { "", 0 };

	rec_open(0);
	rec_event(0, PROTO_REC_CALL, "c1@host", "c1@host", PROTO_RECST_STARTED, 3, files, NULL,
	    "", "", "", 0);
	rec_event(0, PROTO_REC_CALL, "c1@host", "c1@host", PROTO_RECST_GAP, 0, NULL, NULL,
	    "", "", "mix", 1500);
	rec_event(1, PROTO_REC_ROOM, "800", "room-800", PROTO_RECST_STARTED, 1, rfiles, NULL,
	    "", "", "", 0);
	recording_foreach(&rsd, rec_visit, &seen);
	ck_assert_str_eq(seen.text, "c1@host:c1@host:recording room-800:800:recording ");
	rec_event(0, PROTO_REC_CALL, "c1@host", "c1@host", PROTO_RECST_DONE, 3, files, ms,
	    "/r/2026/11/20/120929_c1.json", "", "", 0);
	rec_event(1, PROTO_REC_ROOM, "800", "room-800", PROTO_RECST_FAILED, 1, rfiles, rms,
	    "/r/2026/11/20/121000_room-800.json",
	    "121000_room-800_mix.wav: No space left on device", "", 0);
	ck_assert_str_eq(rec_lines(),
	    "rec-start call=c1@host rec=c1@host files=/r/2026/11/20/120929_c1_caller.wav,"
	    "/r/2026/11/20/120929_c1_callee.wav,/r/2026/11/20/120929_c1_mix.wav\n"
	    "rec-gap call=c1@host rec=c1@host stream=mix ms=1500\n"
	    "rec-start room=800 rec=room-800 files=/r/2026/11/20/121000_room-800_mix.wav\n"
	    "rec-done call=c1@host rec=c1@host status=ok files=/r/2026/11/20/120929_c1_caller.wav,"
	    "/r/2026/11/20/120929_c1_callee.wav,/r/2026/11/20/120929_c1_mix.wav seconds=72.365 "
	    "sidecar=/r/2026/11/20/120929_c1.json\n"
	    "rec-done room=800 rec=room-800 status=failed "
	    "reason=\"121000_room-800_mix.wav: No space left on device\" "
	    "files=/r/2026/11/20/121000_room-800_mix.wav seconds=5.000 "
	    "sidecar=/r/2026/11/20/121000_room-800.json\n");
	seen.text[0] = '\0';
	recording_foreach(&rsd, rec_visit, &seen);
	ck_assert_str_eq(seen.text, "c1@host:c1@host:done room-800:800:failed ");
	rec_close();
}
END_TEST

START_TEST(test_rec_json)
{
	static const char *const files[] = { "/r/a.wav", "/r/b.wav" };
	static const uint64_t ms[] = { 1000, 61250 };
	const char *s;

	rec_open(1);
	rec_event(0, PROTO_REC_CALL, "c2", "c2", PROTO_RECST_GAP, 0, NULL, NULL, "", "",
	    "caller", 40);
	rec_event(0, PROTO_REC_CALL, "c2", "c2", PROTO_RECST_DONE, 2, files, ms, "/r/c2.json",
	    "", "", 0);
	s = slurp(rpath);
	ck_assert_ptr_nonnull(strstr(s, "\"event\":\"rec-gap\",\"call\":\"c2\",\"rec\":\"c2\","
	    "\"stream\":\"caller\",\"ms\":40}\n"));
	ck_assert_ptr_nonnull(strstr(s, "\"event\":\"rec-done\",\"call\":\"c2\",\"rec\":\"c2\","
	    "\"status\":\"ok\",\"files\":\"/r/a.wav,/r/b.wav\",\"seconds\":61.250,"
	    "\"sidecar\":\"/r/c2.json\"}\n"));
	ck_assert_int_eq(count_lines(s), 2);
	rec_close();
}
END_TEST

/* a lost node fails its open recordings once; what it says later is ignored */
START_TEST(test_rec_node_lost)
{
	static const char *const files[] = { "/r/x_mix.wav" };
	static const uint64_t ms[] = { 3000 };
	const char *s;
	int i;

	rec_open(0);
	rec_event(0, PROTO_REC_CALL, "on0", "on0", PROTO_RECST_STARTED, 1, files, NULL, "", "",
	    "", 0);
	rec_event(1, PROTO_REC_CALL, "on1", "on1", PROTO_RECST_STARTED, 1, files, NULL, "", "",
	    "", 0);
	recording_media_lost(&rsd, 0);
	recording_media_lost(&rsd, 0);
	/* the same mediad (back with its instance) goes on about it: ignored */
	rec_event(0, PROTO_REC_CALL, "on0", "on0", PROTO_RECST_STARTED, 1, files, NULL, "", "",
	    "", 0);
	rec_event(0, PROTO_REC_CALL, "on0", "on0", PROTO_RECST_DONE, 1, files, ms, "/r/x.json",
	    "", "", 0);
	s = rec_lines();
	ck_assert_int_eq(count_lines(s), 3);
	ck_assert_ptr_nonnull(strstr(s, "rec-done call=on0 rec=on0 status=failed "
	    "reason=\"mediad lost\" files=/r/x_mix.wav seconds=0."));
	ck_assert_ptr_null(strstr(s, "rec=on1 status"));
	/* a recording sipd did not see start (it restarted): still one line */
	rec_event(1, PROTO_REC_ROOM, "801", "room-801", PROTO_RECST_FAILED, 0, NULL, NULL, "",
	    "", "", 0);
	ck_assert_ptr_nonnull(strstr(rec_lines(), "rec-done room=801 rec=room-801 status=failed "
	    "reason=unknown files=\"\" seconds=0.000\n"));
	/* a recording done as it should be, then one of the same id: a new one */
	rec_event(1, PROTO_REC_ROOM, "802", "room-802", PROTO_RECST_STARTED, 1, files, NULL, "",
	    "", "", 0);
	rec_event(1, PROTO_REC_ROOM, "802", "room-802", PROTO_RECST_DONE, 1, files, ms, "", "",
	    "", 0);
	rec_event(1, PROTO_REC_ROOM, "802", "room-802", PROTO_RECST_STARTED, 1, files, NULL, "",
	    "", "", 0);
	rec_event(1, PROTO_REC_ROOM, "802", "room-802", PROTO_RECST_DONE, 1, files, ms, "", "",
	    "", 0);
	s = rec_lines();
	ck_assert_int_eq(count_lines(s), 8);
	ck_assert_ptr_nonnull(strstr(s, "rec-start room=802 rec=room-802 files=/r/x_mix.wav\n"
	    "rec-done room=802 rec=room-802 status=ok files=/r/x_mix.wav seconds=3.000\n"
	    "rec-start room=802"));
	/* the finished ones kept are the last RECORDING_KEEP */
	for (i = 0; i < RECORDING_KEEP + 5; i++) {
		char id[16];

		snprintf(id, sizeof(id), "k%d", i);
		rec_event(1, PROTO_REC_CALL, id, id, PROTO_RECST_DONE, 1, files, ms, "", "", "", 0);
	}
	{
		struct rec_seen seen = { "", 0 };

		recording_foreach(&rsd, rec_visit, &seen);
		ck_assert_uint_eq(seen.n, 1 + RECORDING_KEEP);	/* on1, open, and 100 */
		ck_assert_ptr_nonnull(strstr(seen.text, "on1:on1:recording k5:k5:done "));
	}
	rec_close();
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
	tcase_add_test(tfile, test_rec_lines);
	tcase_add_test(tfile, test_rec_json);
	tcase_add_test(tfile, test_rec_node_lost);
	suite_add_tcase(s, tfile);
	return unit_run(s);
}
