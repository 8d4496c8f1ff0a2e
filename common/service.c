/*
 * service.c — a daemon's life as a system service: detach and report
 * readiness to the parent, the pid file, dropping root, and systemd's
 * notify protocol.  See service.h.  Not here: the command line and the
 * configuration (conf.c), logging (log.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/service.h"
#include "common/xmalloc.h"

/* how long the parent of a detaching daemon waits for it (systemd's default) */
#define SERVICE_START_TIMEOUT_MS	90000

static struct {
	const char	*progname;
	char		*pidfile;	/* absolute, or NULL */
	pid_t		 pidfile_pid;	/* who wrote it: only that process removes it */
	int		 ready_fd;	/* the waiting parent's pipe, or -1 */
	int		 drop;		/* root is dropped for user/uid/gid */
	char		*user;
	uid_t		 uid;
	gid_t		 gid;
	loop_signal_cb	 term, hup;
} svc = { .ready_fd = -1 };

int
service_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t n;
	int fd, err = 0;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return 0;
	if ((n = strlen(path)) >= sizeof(sa.sun_path))
		return ENAMETOOLONG;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';	/* the abstract namespace */
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0)
		err = errno;
	close(fd);
	return err;
}

/*
 * Forks.  The child goes on, in a session of its own, in /, with its
 * standard streams on /dev/null.  The parent waits until the child is
 * ready (service_ready) and exits 0, or until it dies and exits 1.
 */
static void
service_detach(void)
{
	struct pollfd pfd;
	pid_t pid;
	char c;
	int p[2], st, fd, rc;

	if (pipe2(p, O_CLOEXEC) != 0)
		fatal("pipe");
	fflush(NULL);
	if ((pid = fork()) < 0)
		fatal("fork");
	if (pid == 0) {
		close(p[0]);
		svc.ready_fd = p[1];
		if (setsid() < 0)
			fatal("setsid");
		if (chdir("/") != 0)
			fatal("chdir /");
		if ((fd = open("/dev/null", O_RDWR)) < 0)
			fatal("/dev/null");
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
		return;
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	while ((rc = poll(&pfd, 1, SERVICE_START_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	if (rc == 0) {
		fprintf(stderr, "%s: not ready after %d s (pid %ld); see the system log\n",
		    svc.progname, SERVICE_START_TIMEOUT_MS / 1000, (long)pid);
		_exit(1);
	}
	if (rc > 0 && read(p[0], &c, 1) == 1)
		_exit(0);
	/* the pipe closed without a word: the child is gone */
	while ((rc = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (rc == pid && WIFEXITED(st))
		fprintf(stderr, "%s: did not start (exit %d); see the system log\n",
		    svc.progname, WEXITSTATUS(st));
	else if (rc == pid && WIFSIGNALED(st))
		fprintf(stderr, "%s: did not start (signal %d); see the system log\n",
		    svc.progname, WTERMSIG(st));
	else
		fprintf(stderr, "%s: did not start; see the system log\n", svc.progname);
	_exit(1);
}

/* Looks up daemon.user and daemon.group when running as root. */
static void
service_lookup(const struct parley_conf *c)
{
	const struct passwd *pw;
	const struct group *gr;

	if (geteuid() != 0)
		return;		/* not root: there is nothing to drop */
	errno = 0;
	if ((pw = getpwnam(c->daemon_user)) == NULL)
		fatalx("daemon.user %s: no such user (create it, e.g. useradd --system "
		    "--user-group %s, or name another in daemon.user)", c->daemon_user,
		    c->daemon_user);
	if (pw->pw_uid == 0)
		return;		/* daemon.user = "root": stay root */
	svc.user = xstrdup(pw->pw_name);
	svc.uid = pw->pw_uid;
	svc.gid = pw->pw_gid;
	if (c->daemon_group != NULL) {
		if ((gr = getgrnam(c->daemon_group)) == NULL)
			fatalx("daemon.group %s: no such group", c->daemon_group);
		svc.gid = gr->gr_gid;
	}
	svc.drop = 1;
}

void
service_start(const char *progname, const struct conf_main_opts *o)
{
	svc.progname = progname;
	if (o->pidfile != NULL)
		svc.pidfile = conf_abspath(o->pidfile);	/* before the chdir to / */
	if (!o->foreground)
		service_detach();
	service_lookup(o->conf);
}

int
service_owner(uid_t *uid, gid_t *gid)
{
	if (!svc.drop)
		return 0;
	*uid = svc.uid;
	*gid = svc.gid;
	return 1;
}

int
service_mkparents(const char *path)
{
	char *dir, *s;
	int err = 0, own;
	uid_t uid;
	gid_t gid;

	own = service_owner(&uid, &gid);
	dir = xstrdup(path);
	if ((s = strrchr(dir, '/')) == NULL || s == dir)
		goto out;
	*s = '\0';
	for (s = dir + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		if (*s == '/')
			*s = '\0';
		else
			s = NULL;
		if (mkdir(dir, 0750) == 0) {
			if (chmod(dir, 0750) != 0 || (own && chown(dir, uid, gid) != 0)) {
				err = errno;
				log_warn("cannot set the mode or owner of %s", dir);
				goto out;
			}
			log_info("created %s", dir);
		} else if (errno != EEXIST) {
			err = errno;
			log_warn("cannot create %s", dir);
			goto out;
		}
		if (s == NULL)
			break;
		*s = '/';
	}
out:
	free(dir);
	return err;
}

static void
service_unlink_pidfile(void)
{
	/* after the drop this may fail; the init script removes it then */
	if (svc.pidfile != NULL && svc.pidfile_pid == getpid())
		(void)unlink(svc.pidfile);
}

static void
service_write_pidfile(void)
{
	char buf[32];
	int fd, n;

	if ((fd = open(svc.pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0644)) < 0)
		fatal("cannot write the pid file %s", svc.pidfile);
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n || close(fd) != 0)
		fatal("cannot write the pid file %s", svc.pidfile);
	svc.pidfile_pid = getpid();
	atexit(service_unlink_pidfile);
}

static void
service_drop(void)
{
	if (initgroups(svc.user, svc.gid) != 0)
		fatal("initgroups %s", svc.user);
	if (setresgid(svc.gid, svc.gid, svc.gid) != 0)
		fatal("setresgid %ld", (long)svc.gid);
	if (setresuid(svc.uid, svc.uid, svc.uid) != 0)
		fatal("setresuid %ld", (long)svc.uid);
	/* every id was set: none of these may work any more */
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0 || setegid(0) == 0)
		fatalx("root could be regained after dropping to user %s", svc.user);
	log_info("running as user %s (uid %ld, gid %ld)", svc.user, (long)svc.uid,
	    (long)svc.gid);
}

void
service_ready(void)
{
	int err;
	char c = 1;

	if (svc.pidfile != NULL)
		service_write_pidfile();
	if (svc.drop)
		service_drop();
	if ((err = service_notify("READY=1")) != 0)
		log_warnx("cannot tell systemd READY=1: %s", strerror(err));
	if (svc.ready_fd >= 0) {
		if (write(svc.ready_fd, &c, 1) != 1)
			log_warn("cannot tell the starting process that %s is ready",
			    svc.progname);
		close(svc.ready_fd);
		svc.ready_fd = -1;
	}
}

void
service_caps_clear(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (geteuid() == 0)
		return;
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) != 0)
		return;
	if ((d[0].permitted | d[1].permitted | d[0].inheritable | d[1].inheritable) == 0)
		return;		/* none: nothing to give up */
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) != 0)
		fatal("cannot give up the capabilities of the start");
	log_info("capabilities of the start given up");
}

static void
service_on_term(int signo, void *arg)
{
	(void)service_notify("STOPPING=1");
	svc.term(signo, arg);
}

static void
service_on_hup(int signo, void *arg)
{
	struct timespec ts;
	char state[64];

	/* MONOTONIC_USEC: newer systemd wants it to tell one reload from the next */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
	(void)service_notify(state);
	svc.hup(signo, arg);
	(void)service_notify("READY=1");
}

int
service_signals(struct loop *l, loop_signal_cb term, loop_signal_cb hup, void *arg)
{
	int err;

	svc.term = term;
	svc.hup = hup;
	if ((err = loop_signal(l, SIGTERM, service_on_term, arg)) != 0 ||
	    (err = loop_signal(l, SIGINT, service_on_term, arg)) != 0 ||
	    (err = loop_signal(l, SIGHUP, service_on_hup, arg)) != 0)
		return err;
	return 0;
}
