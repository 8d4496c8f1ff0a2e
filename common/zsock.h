/*
 * zsock.h — ZeroMQ glue shared by the daemons: binding an endpoint (an ipc
 * socket file gets its directories and mode 0660, so group parley may use
 * it), taking one whole multipart message off a socket, sending a message
 * behind a routing envelope, and asking whether more is waiting.
 *
 * and a served ROUTER (zsock_srv_*: the socket of a daemon's control
 * requests, in the event loop).
 *
 * Every call is non-blocking.  No state of its own but a zsock_srv's, no
 * daemon header.
 */
#ifndef PARLEY_ZSOCK_H
#define PARLEY_ZSOCK_H

#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "common/loop.h"

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
 *
 * A ROUTER drops without a word what it sends to a peer whose queue holds
 * its send high-water mark (ZeroMQ's default: 1000 messages).  recd acks
 * every stream of a mediad at once, 3,000 messages at 1,000 recorded
 * calls, so the mark is ZSOCK_ROUTER_HWM: a bound on memory, not a limit
 * a burst should reach.
 */
#define ZSOCK_ROUTER_HWM	100000
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

/*
 * A served ROUTER: zsock_router's socket in the event loop, drained on
 * every wake-up, at most budget messages at a time (the rest on a
 * zero-delay timer, so that other work gets its turn).  cb gets each
 * message: its envelope (the routing id, and an empty delimiter from a
 * REQ peer) and its last frame; the parts are closed after it returns.
 * Messages of a single frame are dropped (logged).
 */
struct zsock_srv;
typedef void (*zsock_srv_cb)(struct zsock_srv *s, zmq_msg_t *env, size_t nenv,
    const void *data, size_t len, void *arg);
/* 0 and *sp, or an errno value (logged by zsock_bind); what names it in logs */
int	 zsock_srv_open(struct zsock_srv **sp, struct loop *l, void *zmq, const char *ep,
	    int64_t maxmsg, size_t budget, const char *what, zsock_srv_cb cb, void *arg);
void	 zsock_srv_close(struct zsock_srv *s);
/* Answers a message cb got: buf (freed) behind its envelope.  Logged if dropped. */
void	 zsock_srv_reply(struct zsock_srv *s, const zmq_msg_t *env, size_t nenv, void *buf,
	    size_t len);
/*
 * Sends buf (freed) unasked to the peer with routing id id, and makes sure
 * the socket is read again soon (a send may swallow the edge of ZMQ_FD).
 * Logged if dropped.
 */
void	 zsock_srv_send_to(struct zsock_srv *s, const void *id, size_t idlen, void *buf,
	    size_t len);

#endif
