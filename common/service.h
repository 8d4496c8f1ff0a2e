/*
 * service.h — what every Parley daemon does to run as a system service,
 * between reading its command line and serving: detach (unless -f), and
 * once its sockets are bound, write the pid file (-p), drop root for
 * daemon.user / daemon.group, and say it is ready; then on SIGHUP and
 * SIGTERM say it is reloading or stopping.
 *
 * "Ready" goes to systemd's $NOTIFY_SOCKET (Type=notify: READY=1,
 * RELOADING=1, STOPPING=1; a path or an abstract '@' name) and, after a
 * detach, to the parent process, which waits for it so that whoever
 * started the daemon (an init script) learns whether it came up: the
 * parent exits 0 once the child is ready, 1 if the child died first.
 *
 * Written to the notify protocol rather than linked with libsystemd: one
 * datagram on a unix socket is all a daemon needs, and systems without
 * systemd need no extra library.  No daemon header; state is per process.
 */
#ifndef PARLEY_SERVICE_H
#define PARLEY_SERVICE_H

#include <sys/types.h>

#include "common/conf.h"
#include "common/loop.h"

/*
 * Call right after log_init: detaches unless o->foreground (the parent
 * stays until service_ready or the child's death, and exits), then, when
 * running as root, looks up the user and group of o->conf (fatal if there
 * is no such user).  Keeps o->pidfile (made absolute) for service_ready.
 */
void	 service_start(const char *progname, const struct conf_main_opts *o);
/*
 * Call once every socket is bound: writes the pid file, drops root (when
 * running as root; fatal if root could be regained), tells systemd
 * READY=1 and releases the waiting parent.
 */
void	 service_ready(void);
/*
 * A daemon that runs as a user other than root and was given capabilities
 * for its start (systemd's AmbientCapabilities=) gives them all up: the
 * ambient, inheritable, permitted and effective sets.  Root keeps its own.
 */
void	 service_caps_clear(void);
/*
 * loop_signal for SIGTERM and SIGINT (term) and SIGHUP (hup), telling
 * systemd STOPPING=1 before term, RELOADING=1 before hup and READY=1
 * after it.  0 or an errno value.
 */
int	 service_signals(struct loop *l, loop_signal_cb term, loop_signal_cb hup, void *arg);
/*
 * The owner that files a daemon creates before service_ready should get
 * (sockets, their directories) so that it can still use them after the
 * drop: 1 and *uid, *gid when root is to be dropped, else 0.
 */
int	 service_owner(uid_t *uid, gid_t *gid);
/*
 * Creates the missing directories above the file path (mode 0750, whatever
 * the umask; owned by the user root is dropped for, see service_owner),
 * each logged; those that exist are left as they are.  0 or an errno value
 * (logged).  For the socket files and recordings a daemon makes.
 */
int	 service_mkparents(const char *path);
/* Sends state ("READY=1" ...) to $NOTIFY_SOCKET, if set.  0 or an errno value. */
int	 service_notify(const char *state);

#endif
