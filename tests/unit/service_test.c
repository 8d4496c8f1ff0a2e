/*
 * service_test.c — unit tests of common/service.c's notify protocol:
 * service_notify sends its state as one datagram to $NOTIFY_SOCKET, a
 * socket file or an abstract '@' name, does nothing without the variable,
 * and says so when nobody listens.  (Detaching, the pid file and dropping
 * root are run for real by tests/integration/service.sh and privdrop.sh.)
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "common/service.h"

/* A datagram socket bound to name ("@x" abstract); its fd. */
static int
listener(const char *name)
{
	struct sockaddr_un sa;
	size_t n = strlen(name);
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)), 0);
	return fd;
}

static void
expect(int fd, const char *want)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, want);
}

START_TEST(test_notify_path)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(dir, sizeof(dir), "%s/service_test.XXXXXX", tmp != NULL ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = listener(path);
	setenv("NOTIFY_SOCKET", path, 1);
	ck_assert_int_eq(service_notify("READY=1"), 0);
	expect(fd, "READY=1");
	ck_assert_int_eq(service_notify("STOPPING=1"), 0);
	expect(fd, "STOPPING=1");
	close(fd);
	unlink(path);
	/* nobody listens any more: an error, not a crash */
	ck_assert_int_ne(service_notify("READY=1"), 0);
	rmdir(dir);
	unsetenv("NOTIFY_SOCKET");
}
END_TEST

START_TEST(test_notify_abstract)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "@parley-service-test-%ld", (long)getpid());
	fd = listener(name);
	setenv("NOTIFY_SOCKET", name, 1);
	ck_assert_int_eq(service_notify("RELOADING=1\nMONOTONIC_USEC=1"), 0);
	expect(fd, "RELOADING=1\nMONOTONIC_USEC=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}
END_TEST

START_TEST(test_notify_unset)
{
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(service_notify("READY=1"), 0);
	/* only a path or an abstract name is a unix socket address */
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	ck_assert_int_eq(service_notify("READY=1"), 0);
	unsetenv("NOTIFY_SOCKET");
}
END_TEST

START_TEST(test_owner_unprivileged)
{
	uid_t uid;
	gid_t gid;

	/* before service_start nothing is to be dropped */
	ck_assert_int_eq(service_owner(&uid, &gid), 0);
}
END_TEST

static Suite *
service_suite(void)
{
	Suite *s = suite_create("service");
	TCase *tc = tcase_create("notify");

	tcase_add_test(tc, test_notify_path);
	tcase_add_test(tc, test_notify_abstract);
	tcase_add_test(tc, test_notify_unset);
	tcase_add_test(tc, test_owner_unprivileged);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(service_suite());
}
