/*
 * zsock.c — ZeroMQ helpers shared by sipd, mediad and recd (see zsock.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/service.h"
#include "common/xmalloc.h"
#include "common/zsock.h"

int
zsock_bind(void *sock, const char *ep, const char *what, char **pathp)
{
	const char *path = NULL;
	uid_t uid;
	gid_t gid;
	int err;

	*pathp = NULL;
	/* ipc://@name is Linux's abstract namespace: no file */
	if (strncmp(ep, "ipc://", 6) == 0 && ep[6] != '@' && ep[6] != '\0') {
		path = ep + 6;
		if ((err = service_mkparents(path)) != 0)
			return err;
	}
	if (zmq_bind(sock, ep) != 0) {
		err = errno;
		log_warnx("%s: cannot bind %s: %s", what, ep, zmq_strerror(err));
		return err;
	}
	if (path != NULL && chmod(path, 0660) != 0) {
		err = errno;
		log_warn("%s: chmod %s", what, path);
		return err;
	}
	/* the daemon must still reach (and remove) it once it is not root */
	if (path != NULL && service_owner(&uid, &gid) && chown(path, uid, gid) != 0) {
		err = errno;
		log_warn("%s: chown %s", what, path);
		return err;
	}
	if (path != NULL)
		*pathp = xstrdup(path);
	return 0;
}

int
zsock_router(void *zmq, const char *ep, int64_t maxmsg, const char *what, void **sockp,
    int *fdp, char **pathp)
{
	void *sock;
	int linger = 0, hwm = ZSOCK_ROUTER_HWM, err;
	size_t sz = sizeof(*fdp);

	*pathp = NULL;
	if ((sock = zmq_socket(zmq, ZMQ_ROUTER)) == NULL)
		return errno;
	if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) != 0) {
		err = errno;
		goto fail;
	}
	if ((err = zsock_bind(sock, ep, what, pathp)) != 0)
		goto fail;
	if (zmq_getsockopt(sock, ZMQ_FD, fdp, &sz) != 0) {
		err = errno;
		goto fail;
	}
	*sockp = sock;
	return 0;
fail:
	zmq_close(sock);
	zsock_unlink(*pathp);
	*pathp = NULL;
	return err;
}

void
zsock_unlink(char *path)
{
	if (path != NULL && unlink(path) != 0 && errno != ENOENT)
		log_warn("unlink %s", path);
	free(path);
}

int
zsock_recv(void *sock, zmq_msg_t *parts, size_t max, size_t *n)
{
	zmq_msg_t spare, *p;
	int more, toomany = 0;

	*n = 0;
	for (;;) {
		p = *n < max ? &parts[*n] : &spare;
		zmq_msg_init(p);
		if (zmq_msg_recv(p, sock, ZMQ_DONTWAIT) < 0) {
			int err = errno;

			zmq_msg_close(p);
			/* a multipart message arrives whole: EAGAIN comes only first */
			while (*n > 0)
				zmq_msg_close(&parts[--*n]);
			return err;
		}
		more = zmq_msg_more(p);
		if (p == &spare) {
			zmq_msg_close(p);
			toomany = 1;
		} else
			(*n)++;
		if (!more)
			break;
	}
	if (toomany) {
		while (*n > 0)
			zmq_msg_close(&parts[--*n]);
		return E2BIG;
	}
	return 0;
}

int
zsock_send(void *sock, const zmq_msg_t *env, size_t nenv, const void *buf, size_t len)
{
	size_t i;

	for (i = 0; i < nenv; i++)
		if (zmq_send(sock, zmq_msg_data((zmq_msg_t *)&env[i]), zmq_msg_size((zmq_msg_t *)&env[i]),
		    ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
			return errno;
	if (zmq_send(sock, buf, len, ZMQ_DONTWAIT) < 0)
		return errno;
	return 0;
}

int
zsock_readable(void *sock)
{
	size_t sz;
	int ev;

	for (;;) {
		sz = sizeof(ev);
		if (zmq_getsockopt(sock, ZMQ_EVENTS, &ev, &sz) == 0)
			return (ev & ZMQ_POLLIN) != 0;
		if (errno != EINTR) {
			log_warnx("ZMQ_EVENTS: %s", zmq_strerror(errno));
			return 0;
		}
	}
}

/* ---------------------------------------------------------------- served ROUTER */

#define ZSOCK_SRV_PARTS	3	/* routing id, optional empty delimiter, payload */

struct zsock_srv {
	struct loop		*loop;
	void			*sock;
	int			 fd;
	char			*path;
	char			*what;
	size_t			 budget;
	struct loop_timer	 t_more;
	zsock_srv_cb		 cb;
	void			*arg;
};

static void
zsock_srv_recv(struct zsock_srv *s)
{
	zmq_msg_t parts[ZSOCK_SRV_PARTS];
	size_t n = 0, i;
	int err;

	if ((err = zsock_recv(s->sock, parts, ZSOCK_SRV_PARTS, &n)) != 0) {
		if (err != EAGAIN)
			log_warnx("%s: receive: %s", s->what, zmq_strerror(err));
		return;
	}
	if (n < 2)
		log_warnx("%s: dropped a message of too few frames", s->what);
	else
		s->cb(s, parts, n - 1, zmq_msg_data(&parts[n - 1]), zmq_msg_size(&parts[n - 1]),
		    s->arg);
	for (i = 0; i < n; i++)
		zmq_msg_close(&parts[i]);
}

static void
zsock_srv_drain(struct zsock_srv *s)
{
	size_t n;

	for (n = 0; zsock_readable(s->sock); n++) {
		if (n == s->budget) {
			loop_timer_start(s->loop, &s->t_more, 0);
			return;
		}
		zsock_srv_recv(s);
	}
}

static void
zsock_srv_on_fd(int fd, uint32_t events, void *arg)
{
	zsock_srv_drain(arg);
}

static void
zsock_srv_on_more(void *arg)
{
	zsock_srv_drain(arg);
}

int
zsock_srv_open(struct zsock_srv **sp, struct loop *l, void *zmq, const char *ep, int64_t maxmsg,
    size_t budget, const char *what, zsock_srv_cb cb, void *arg)
{
	struct zsock_srv *s = xcalloc(1, sizeof(*s));
	int err;

	s->loop = l;
	s->budget = budget;
	s->cb = cb;
	s->arg = arg;
	loop_timer_init(&s->t_more, zsock_srv_on_more, s);
	if ((err = zsock_router(zmq, ep, maxmsg, what, &s->sock, &s->fd, &s->path)) != 0) {
		free(s);
		return err;
	}
	if ((err = loop_fd_add(l, s->fd, EPOLLIN, zsock_srv_on_fd, s)) != 0) {
		zmq_close(s->sock);
		zsock_unlink(s->path);
		free(s);
		return err;
	}
	s->what = xstrdup(what);
	*sp = s;
	zsock_srv_drain(s);
	return 0;
}

void
zsock_srv_close(struct zsock_srv *s)
{
	if (s == NULL)
		return;
	loop_timer_stop(s->loop, &s->t_more);
	loop_fd_del(s->loop, s->fd);
	zmq_close(s->sock);
	zsock_unlink(s->path);
	free(s->what);
	free(s);
}

void
zsock_srv_reply(struct zsock_srv *s, const zmq_msg_t *env, size_t nenv, void *buf, size_t len)
{
	int err = zsock_send(s->sock, env, nenv, buf, len);

	if (err != 0)
		log_warnx("%s: answer dropped: %s", s->what, zmq_strerror(err));
	free(buf);
}

void
zsock_srv_send_to(struct zsock_srv *s, const void *id, size_t idlen, void *buf, size_t len)
{
	if (idlen > 0 && (zmq_send(s->sock, id, idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    zmq_send(s->sock, buf, len, ZMQ_DONTWAIT) < 0))
		log_warnx("%s: message dropped: %s", s->what, zmq_strerror(errno));
	if (!loop_timer_armed(&s->t_more))
		loop_timer_start(s->loop, &s->t_more, 0);
	free(buf);
}
