/*
 * zsock.c — ZeroMQ helpers shared by sipd, mediad and recd (see zsock.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
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
	int linger = 0, err;
	size_t sz = sizeof(*fdp);

	*pathp = NULL;
	if ((sock = zmq_socket(zmq, ZMQ_ROUTER)) == NULL)
		return errno;
	if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
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
