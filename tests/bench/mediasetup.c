/*
 * mediasetup.c — sets up relay calls on mediad over its control socket,
 * for tests/bench/media.sh (run by rtpload -s); the counterpart of
 * ngsetup.py for rtpengine.
 *
 *   mediasetup [-r] ENDPOINT < "CALL CALLER_PORT CALLEE_PORT" lines
 *                            > "CALL PORT_A PORT_B" lines
 *   mediasetup -D ENDPOINT < "CALL ..." lines
 *
 * It speaks as sipd would: a ZeroMQ DEALER connected to mediad's
 * control.media ENDPOINT, per call one SESSION_UPDATE for leg 0 (the
 * caller's SDP: one PCMA audio stream, 127.0.0.1, its port, RTCP on the
 * next port, sendrecv, 8000 Hz) and one for leg 1 (the callee's); the
 * SESSION_PORTS answer to the second gives ports_a[0], where the caller
 * sends, and ports_b[0], where the callee sends.  Calls are named
 * "bench-CALL".  Up to WINDOW requests are in flight; an ERROR answer, a
 * malformed one or no answer within TIMEOUT_MS ends it with status 1.
 * Messages it did not ask for (SESSION_TIMEOUT) are ignored.
 *
 * -r records every call (tests/bench/recording.sh): the SESSION_UPDATEs
 * name PCMA (payload type 8) as the audio format, and a RECORD (legs and
 * mix) follows each call's second answer.  -D ends the calls instead
 * (SESSION_DELETE, reason "caller"), which closes their recordings.
 *
 * Reads all of stdin before sending anything (rtpload's contract).  Not
 * timed by the bench: clarity over speed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "proto/proto.h"

#define WINDOW		64
#define TIMEOUT_MS	10000

struct call {
	unsigned	 id;
	uint32_t	 port[2];	/* caller's, callee's */
	uint32_t	 relay[2];	/* port_a, port_b */
	int		 done;
};

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("mediasetup: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* request id of one leg's update: 1 + 2 * call index + leg (never 0) */
static int record;

static void
send_msg(void *sock, void *buf, size_t len)
{
	if (zmq_send(sock, buf, len, 0) < 0)
		die("send: %s", zmq_strerror(errno));
	free(buf);
}

/* RECORD of a call: both legs and the mix (not answered but by ERROR) */
static void
send_record(void *sock, const struct call *c)
{
	const char *const parts[2] = { "bench-caller", "bench-callee" };
	char name[32];
	void *buf;
	size_t len;

	snprintf(name, sizeof(name), "bench-%u", c->id);
	if (proto_encode_record(0, PROTO_REC_CALL, name, 1, 1, 2, parts, &buf, &len) != 0)
		die("encode RECORD");
	send_msg(sock, buf, len);
}

/* SESSION_DELETE of every call, each answered (STATS) or refused: counted */
static int
delete_all(void *sock, const struct call *calls, size_t n)
{
	size_t i, answered = 0, refused = 0;
	char name[32];
	void *buf;
	size_t len;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "bench-%u", calls[i].id);
		if (proto_encode_session_delete((uint32_t)(i + 1), name, "caller", &buf, &len) != 0)
			die("encode SESSION_DELETE");
		send_msg(sock, buf, len);
	}
	while (answered < n) {
		struct proto_msg m;
		zmq_msg_t msg;

		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, sock, 0) < 0)
			die("no answer from mediad within %d ms (%zu of %zu deletes answered)",
			    TIMEOUT_MS, answered, n);
		if (proto_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &m) == 0) {
			if (m.reqid != 0 && (m.type == PROTO_STATS || m.type == PROTO_ERROR)) {
				answered++;
				refused += m.type == PROTO_ERROR;
			}
			proto_msg_free(&m);
		}
		zmq_msg_close(&msg);
	}
	if (refused > 0)
		fprintf(stderr, "mediasetup: %zu of %zu calls were not there\n", refused, n);
	return refused > 0;
}

static void
send_update(void *sock, const struct call *c, size_t i, unsigned leg)
{
	const uint32_t kinds[1] = { PROTO_KIND_AUDIO };
	const char *const addrs[1] = { "127.0.0.1" };
	const uint32_t ports[1] = { c->port[leg] };
	const uint32_t rtcp[1] = { c->port[leg] + 1 };
	const uint32_t dirs[1] = { PROTO_DIR_SENDRECV };
	const uint32_t clocks[1] = { 8000 };
	const uint32_t pts[1] = { 8 }, oa[1] = { 0 };
	const char *const names[1] = { "PCMA" };
	size_t nf = record ? 1 : 0;
	char name[32];
	void *buf;
	size_t len;
	int err;

	snprintf(name, sizeof(name), "bench-%u", c->id);
	err = proto_encode_session_update((uint32_t)(1 + 2 * i + leg), name, leg,
	    1, kinds, 1, addrs, 1, ports, 1, rtcp, 1, dirs, 1, clocks, nf, pts, nf, names, nf,
	    oa, &buf, &len);
	if (err != 0)
		die("encode: %s", strerror(err));
	send_msg(sock, buf, len);
}

int
main(int argc, char **argv)
{
	struct call *calls = NULL;
	size_t n = 0, cap = 0, next = 0, answered = 0, inflight = 0, i;
	unsigned id, a, b;
	void *ctx, *sock;
	int timeout = TIMEOUT_MS, zero = 0, r, del = 0;
	char line[256];

	if (argc == 3 && strcmp(argv[1], "-r") == 0)
		record = 1;
	else if (argc == 3 && strcmp(argv[1], "-D") == 0)
		del = 1;
	else if (argc != 2)
		die("usage: mediasetup [-r | -D] ENDPOINT < calls");
	argv += argc - 2;
	while (fgets(line, sizeof(line), stdin) != NULL) {
		a = b = 0;
		if (sscanf(line, "%u %u %u", &id, &a, &b) < (del ? 1 : 3))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			if ((calls = realloc(calls, cap * sizeof(*calls))) == NULL)
				die("out of memory");
		}
		memset(&calls[n], 0, sizeof(calls[n]));
		calls[n].id = id;
		calls[n].port[0] = a;
		calls[n].port[1] = b;
		n++;
	}
	if ((ctx = zmq_ctx_new()) == NULL || (sock = zmq_socket(ctx, ZMQ_DEALER)) == NULL)
		die("ZeroMQ: %s", zmq_strerror(errno));
	zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
	if (zmq_connect(sock, argv[1]) != 0)
		die("connect %s: %s", argv[1], zmq_strerror(errno));
	if (del) {
		r = delete_all(sock, calls, n);
		zmq_close(sock);
		zmq_ctx_term(ctx);
		free(calls);
		return r;
	}

	while (answered < 2 * n) {
		while (next < 2 * n && inflight < WINDOW) {
			send_update(sock, &calls[next / 2], next / 2, (unsigned)(next % 2));
			next++;
			inflight++;
		}
		{
			struct proto_msg m;
			zmq_msg_t msg;
			uint32_t q;

			zmq_msg_init(&msg);
			if (zmq_msg_recv(&msg, sock, 0) < 0)
				die("no answer from mediad at %s within %d ms (%zu of %zu answered)",
				    argv[1], TIMEOUT_MS, answered, 2 * n);
			r = proto_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &m);
			zmq_msg_close(&msg);
			if (r != 0)
				die("undecodable answer: %s", strerror(r));
			q = m.reqid;
			if (m.type == PROTO_ERROR)
				die("request %u refused: %s (%s)", q,
				    proto_errcode_str(m.u.error.code), m.u.error.text);
			if (m.type != PROTO_SESSION_PORTS || q == 0 || q > 2 * n) {
				proto_msg_free(&m);	/* not ours to answer */
				continue;
			}
			i = (q - 1) / 2;
			if (m.u.session_ports.ports_a.n != 1 || m.u.session_ports.ports_b.n != 1)
				die("call %u: %zu/%zu ports for one stream", calls[i].id,
				    m.u.session_ports.ports_a.n, m.u.session_ports.ports_b.n);
			if (m.u.session_ports.address[0] != '\0' &&
			    strcmp(m.u.session_ports.address, "127.0.0.1") != 0)
				die("call %u: mediad says address %s, not 127.0.0.1", calls[i].id,
				    m.u.session_ports.address);
			if ((q - 1) % 2 == 1) {
				calls[i].relay[0] = m.u.session_ports.ports_a.v[0];
				calls[i].relay[1] = m.u.session_ports.ports_b.v[0];
				calls[i].done = 1;
				if (record)
					send_record(sock, &calls[i]);
			}
			proto_msg_free(&m);
			answered++;
			inflight--;
		}
	}
	if (record) {
		int linger = 5000;	/* the last RECORDs must reach mediad */

		zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
	}
	for (i = 0; i < n; i++) {
		if (!calls[i].done || calls[i].relay[0] == 0 || calls[i].relay[1] == 0)
			die("call %u: no relay ports", calls[i].id);
		printf("%u %u %u\n", calls[i].id, calls[i].relay[0], calls[i].relay[1]);
	}
	zmq_close(sock);
	zmq_ctx_term(ctx);
	free(calls);
	return fflush(stdout) == 0 ? 0 : 1;
}
