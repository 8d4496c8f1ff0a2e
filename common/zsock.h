/*
 * zsock.h — ZeroMQ glue shared by the daemons: binding an endpoint (an ipc
 * socket file gets its directories and mode 0660, so group parley may use
 * it), taking one whole multipart message off a socket, sending a message
 * behind a routing envelope, and asking whether more is waiting.
 *
 * Every call is non-blocking.  No state of its own, no daemon header.
 */
#ifndef PARLEY_ZSOCK_H
#define PARLEY_ZSOCK_H

#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

/*
 * Binds sock to ep.  For ipc://PATH (not the abstract ipc://@name) creates
 * the missing parent directories (0750), chmods the socket file 0660, gives
 * both to the user and group root will be dropped for (service_owner) and
 * sets *pathp to a malloc'd PATH for zsock_unlink; else *pathp = NULL.
 * 0 or an errno value (logged).
 */
int	 zsock_bind(void *sock, const char *ep, const char *what, char **pathp);
/*
 * A ROUTER socket bound on ep (see zsock_bind), linger 0, refusing messages
 * over maxmsg bytes; *fdp is its ZMQ_FD for the event loop (edge-triggered:
 * drain it).  0 or an errno value; nothing is left open on error.
 */
int	 zsock_router(void *zmq, const char *ep, int64_t maxmsg, const char *what,
	    void **sockp, int *fdp, char **pathp);
/* Removes the ipc file zsock_bind made (ZeroMQ 4.3 leaves it) and frees path. */
void	 zsock_unlink(char *path);
/*
 * Receives one whole message into parts[0..*n): 0; EAGAIN when nothing is
 * waiting; E2BIG when it had more than max parts (the message is consumed
 * and dropped, *n = 0).  The caller closes the *n parts it got.
 */
int	 zsock_recv(void *sock, zmq_msg_t *parts, size_t max, size_t *n);
/* Sends the nenv envelope frames, then buf as the last frame.  0 or an errno value. */
int	 zsock_send(void *sock, const zmq_msg_t *env, size_t nenv, const void *buf,
	    size_t len);
/* 1 when a message is waiting on sock (ZMQ_EVENTS), else 0. */
int	 zsock_readable(void *sock);

#endif
