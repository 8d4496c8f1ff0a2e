/*
 * sipd.h — the private header of sipd: its context struct and the
 * prototypes of every sipd file, grouped by file.
 *
 * The SIP core is layered:
 *   transport.c  sockets (UDP, TCP), framing, sending          tp_*
 *   msg.c        libosip2 glue: parse, build responses, headers msg_*
 *   txn.c        RFC 3261 transactions (retransmission, timers) txn_*
 *   auth.c       digest authentication, nonces, users          auth_*
 *   reg.c        registrar and location table                  reg_*
 *   proxy.c      request routing: local users, forking, CANCEL proxy_*
 *   call.c       dialog state of 1:1 calls, hangup, journal     call_*
 *   room.c       rooms: sipd as the UAS of each participant     room_*
 *   offer.c      a room participant's SDP offer and our answer  offer_*
 *   media.c      relay mode: SDP read, anchored on mediad, rewritten media_*
 *   node.c       the mediad nodes: ZeroMQ, heartbeat, requests   node_*
 *   recording.c  what is recorded: RECORD, REC_EVENT, rec-* lines recording_*
 *   journal.c    the call journal writer                        journal_*
 *   ctl.c        the admin control socket (ZeroMQ) for sipctl   ctl_*
 *   main.c       options, config, logging, sockets, the loop
 */
#ifndef PARLEY_SIPD_H
#define PARLEY_SIPD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <osipparser2/osip_parser.h>

#include "common/conf.h"
#include "common/loop.h"
#include "proto/proto.h"

#define SIPD_T1		500	/* ms, RFC 3261 timer values */
#define SIPD_T2		4000
#define SIPD_T4		5000
#define SIPD_UDP_MAX	1300	/* requests larger than this go over TCP (RFC 3261 18.1.1) */
#define SIPD_MSG_MAX	65535	/* largest message accepted on any transport */

struct sipd;
struct txn;
struct call;

/* ---------------------------------------------------------------- transport.c */

enum tp_proto { TP_UDP = 0, TP_TCP = 1 };

struct tp_addr {
	struct sockaddr_storage	ss;
	socklen_t		len;
};

/*
 * Where a message came from (or goes to) and how to reach it again.
 * For UDP, sock is the listening socket index; for TCP, conn_id names
 * the connection (0: none yet, connect to peer).  local is the address
 * the message arrived at, used for our Via, Record-Route and Contact.
 */
struct tp_source {
	enum tp_proto	proto;
	struct tp_addr	peer;
	struct tp_addr	local;
	int		sock;		/* UDP: index into the UDP sockets */
	uint64_t	conn_id;	/* TCP */
};

int	 tp_open(struct sipd *sd);	/* binds every sip.listen address */
void	 tp_close(struct sipd *sd);
/*
 * Sends a whole message to dst.  UDP: from the socket dst->sock (or one
 * of the right family).  TCP: over conn_id if it is alive, else over any
 * live connection to dst->peer, else over a new connection.  Returns 0 or
 * an errno value; never blocks.
 */
int	 tp_send(struct sipd *sd, const struct tp_source *dst, const char *buf, size_t len);
/* Fills dst to reach host:port with proto; 0 or an errno value (numeric hosts only). */
int	 tp_resolve(struct sipd *sd, const char *host, int port, enum tp_proto proto,
	    struct tp_source *dst);
/* "1.2.3.4" / "::1" and port of an address; buf at least 64 bytes */
const char *tp_addr_host(const struct tp_addr *a, char *buf, size_t len);
int	 tp_addr_port(const struct tp_addr *a);
/* "1.2.3.4:5060" or "[::1]:5060", as the journal's addr= */
const char *tp_addr_str(const struct tp_addr *a, char *buf, size_t len);
/* "udp:1.2.3.4:5060" for logs, the journal and sipctl */
const char *tp_source_str(const struct tp_source *s, char *buf, size_t len);
int	 tp_addr_equal(const struct tp_addr *a, const struct tp_addr *b);
/* Is host:port one of our own SIP addresses (or our domain)? port 0: any of ours */
int	 tp_is_local(struct sipd *sd, const char *host, int port);
size_t	 tp_tcp_connections(struct sipd *sd);

/* ---------------------------------------------------------------- msg.c */

/*
 * Entry point of every message transport.c has framed: parses it, answers
 * 400 (with a reason) where a response can be routed, and hands good
 * messages to the transaction layer.  Never fails.  From here on,
 * m->call_id->number holds the whole Call-ID (libosip2's split at '@' is
 * joined back) and m->call_id->host is NULL.
 */
void	 msg_received(struct sipd *sd, const char *buf, size_t len, const struct tp_source *src);

/* A response to req with status; reason NULL = configured or standard phrase. */
osip_message_t *msg_make_response(struct sipd *sd, const osip_message_t *req, int status,
	    const char *reason);
/* The reason phrase to use for status: sip.reason_phrases, else the RFC one. */
const char *msg_reason(struct sipd *sd, int status, const char *fallback);
/*
 * The text of a response to the request text raw (as received from src):
 * Via (top one with received/rport), From, To (a tag added above 100),
 * Call-ID and CSeq copied (those a malformed request has); hdrs (whole
 * header lines with CRLF, or NULL) added.  *out is malloc'd.  0, or EINVAL
 * when raw has no Via to answer to.
 */
int	 msg_response_raw(struct sipd *sd, const char *raw, size_t len,
	    const struct tp_source *src, int status, const char *reason, const char *hdrs,
	    char **out, size_t *outlen);
/* Serializes m into a malloc'd buffer; 0 or an errno value. */
int	 msg_to_str(osip_message_t *m, char **buf, size_t *len);
/* Value of the first header named name (case-insensitive), or NULL. */
const char *msg_header(const osip_message_t *m, const char *name);
const char *msg_from_tag(const osip_message_t *m);
const char *msg_to_tag(const osip_message_t *m);
/* "sip:user@host" of From / To, malloc'd */
char	*msg_uri_str(const osip_uri_t *u);
int	 msg_cseq_num(const osip_message_t *m);
/* A fresh random token (tags, nonces' salt) into buf, hex. */
void	 msg_random_token(char *buf, size_t len);
/* A Via branch of ours: magic cookie, random part and a keyed MAC of it. */
void	 msg_branch_make(char *buf, size_t len);
/* Is branch one msg_branch_make made (a ".tag" suffix allowed)? */
int	 msg_branch_ours(const char *branch);
/* Counters for sipctl status */
struct msg_stats {
	uint64_t	rx, tx, bad, dropped;
};

/* ---------------------------------------------------------------- txn.c */

enum txn_state {
	TXN_TRYING = 0, TXN_PROCEEDING, TXN_COMPLETED, TXN_ACCEPTED,
	TXN_CONFIRMED, TXN_TERMINATED
};

/*
 * A client transaction reports each response to its TU with this; a timeout
 * or transport error arrives as resp == NULL with status 408 or 503.  After
 * a final response the TU is not called again (2xx retransmissions and the
 * 2xx of other forks go to proxy_stray_response).
 */
typedef void (*txn_response_cb)(struct sipd *sd, struct txn *ct, osip_message_t *resp,
	    int status, void *arg);

struct txn {
	int			 server;	/* 1 server, 0 client */
	int			 invite;
	enum txn_state		 state;
	char			*key;
	struct tp_source	 peer;		/* server: the sender; client: the next hop */
	osip_message_t		*req;		/* server: as received; client: as sent */
	char			*raw;		/* server: the request's text, until final */
	size_t			 rawlen;
	char			*out;		/* last response (server) or the request (client) */
	size_t			 outlen;
	int			 status;	/* last response status */
	uint64_t		 retx_ms;
	struct loop_timer	 t_retx, t_end;
	/* the transaction user (proxy.c, reg.c): cleared once final */
	txn_response_cb		 on_response;
	void			*tu;
	struct txn		*hnext;
	struct sipd		*sd;
	struct txn		*cancel;	/* client INVITE: the CANCEL we sent */
};

int	 txn_init(struct sipd *sd);
void	 txn_shutdown(struct sipd *sd);
size_t	 txn_count(struct sipd *sd);
/*
 * Called by msg.c for each parsed request: matches it to a server
 * transaction (retransmissions are answered from there, ACKs for non-2xx
 * absorbed) or creates one and passes it to proxy_request().  Takes m.
 */
void	 txn_request(struct sipd *sd, osip_message_t *m, const struct tp_source *src,
	    const char *raw, size_t rawlen);
/* The same for responses: to their client transaction, else stray. Takes m. */
void	 txn_response(struct sipd *sd, osip_message_t *m, const struct tp_source *src);
/* Sends buf (taken, malloc'd), the text of a response with status, on st. */
void	 txn_reply_text(struct sipd *sd, struct txn *st, int status, char *buf, size_t len);
/* Sends resp (taken) on server transaction st and stores it for retransmission. */
void	 txn_reply(struct sipd *sd, struct txn *st, osip_message_t *resp);
/*
 * A response sipd makes itself, built from the request's text (fast; see
 * msg_response_raw): status, reason (NULL = configured or standard) and
 * hdrs (extra header lines, each ending in CRLF, or NULL).
 */
void	 txn_reply_hdrs(struct sipd *sd, struct txn *st, int status, const char *reason,
	    const char *hdrs);
void	 txn_reply_status(struct sipd *sd, struct txn *st, int status, const char *reason);
/*
 * Sends req (taken; its top Via must be ours, see txn_add_via) to dst as a
 * new client transaction.  Returns the transaction, or NULL if it could
 * not be sent (then cb has not been called and req is freed).
 */
struct txn *txn_client(struct sipd *sd, osip_message_t *req, const struct tp_source *dst,
	    txn_response_cb cb, void *tu);
/* Pushes our Via (fresh branch) onto req for the hop to dst. */
void	 txn_add_via(struct sipd *sd, osip_message_t *req, const struct tp_source *dst);
/* CANCELs a pending client INVITE (waits for a provisional if none yet). */
void	 txn_cancel(struct sipd *sd, struct txn *ct);
/* The TU goes away: no more callbacks from ct. */
void	 txn_detach(struct txn *ct);

/* ---------------------------------------------------------------- auth.c */

enum auth_result {
	AUTH_OK = 0,		/* credentials good */
	AUTH_CHALLENGE,		/* none, or a stale nonce: answer 401/407 */
	AUTH_FORBIDDEN,		/* wrong password, unknown user, replay: 403 */
	AUTH_BAD		/* malformed credentials: 400 */
};

int	 auth_init(struct sipd *sd);	/* user table from conf, nonce secret */
/* SIGHUP: the user table again from sd->conf; nonces and their counts are kept. */
int	 auth_reload(struct sipd *sd);
void	 auth_shutdown(struct sipd *sd);
/*
 * Checks the Authorization (REGISTER, proxy = 0) or Proxy-Authorization
 * (proxy = 1) of req for user.  On AUTH_FORBIDDEN/AUTH_BAD *why says why.
 */
enum auth_result auth_check(struct sipd *sd, const osip_message_t *req, const char *user,
	    int proxy, const char **why);
/* Adds a WWW-/Proxy-Authenticate challenge to resp (stale = 1 after an old nonce). */
void	 auth_challenge(struct sipd *sd, osip_message_t *resp, int proxy, int stale);
/* The same challenge as a whole header line with CRLF, into buf. */
void	 auth_challenge_hdr(struct sipd *sd, int proxy, int stale, char *buf, size_t len);
/* Did the last auth_check of this request fail only because the nonce was stale? */
int	 auth_last_stale(struct sipd *sd);
int	 auth_user_exists(struct sipd *sd, const char *user);
/* helpers, exposed for the unit tests */
void	 auth_md5_hex(const char *in, size_t len, char out[33]);
void	 auth_digest_response(const char *ha1, const char *nonce, const char *nc,
	    const char *cnonce, const char *qop, const char *method, const char *uri,
	    char out[33]);
/* A nonce valid for sip.nonce_ttl seconds from now; buf >= 64 bytes. */
void	 auth_nonce_make(struct sipd *sd, char *buf, size_t len);
/* 0 good, ESTALE expired, EINVAL not ours */
int	 auth_nonce_check(struct sipd *sd, const char *nonce);

/* ---------------------------------------------------------------- reg.c */

struct reg_binding {
	char			*user;
	char			*contact;	/* the Contact URI as registered */
	char			*call_id;
	int			 cseq;
	struct tp_source	 src;		/* where it registered from (NAT) */
	uint64_t		 expires_at;	/* monotonic ms */
	struct loop_timer	 t_expire;
	struct reg_binding	*next;		/* next binding of the same user */
	struct reg_user		*owner;
};

int	 reg_init(struct sipd *sd);
void	 reg_shutdown(struct sipd *sd);
/* Handles REGISTER on server transaction st (auth, bindings, 200/4xx). */
void	 reg_request(struct sipd *sd, struct txn *st, osip_message_t *req);
/* The bindings of user, or NULL. */
struct reg_binding *reg_lookup(struct sipd *sd, const char *user);
/* A binding whose contact URI is uri, any user (routing in-dialog requests). */
struct reg_binding *reg_find_contact(struct sipd *sd, const char *uri);
typedef void (*reg_visit_cb)(const struct reg_binding *b, void *arg);
void	 reg_foreach(struct sipd *sd, reg_visit_cb cb, void *arg);
size_t	 reg_count(struct sipd *sd);

/* ---------------------------------------------------------------- proxy.c */

/* A new request on server transaction st (st is NULL for ACK). Takes nothing. */
void	 proxy_request(struct sipd *sd, struct txn *st, osip_message_t *req,
	    const struct tp_source *src);
/* A response that matches no live client transaction: forward by Via. */
void	 proxy_stray_response(struct sipd *sd, osip_message_t *resp);
/* CANCEL matched to INVITE server transaction ist (already answered 200). */
void	 proxy_cancel(struct sipd *sd, struct txn *ist);
int	 proxy_init(struct sipd *sd);
void	 proxy_shutdown(struct sipd *sd);

/* ---------------------------------------------------------------- call.c */

enum call_state { CALL_TRYING = 0, CALL_RINGING, CALL_ANSWERED, CALL_ENDED };

/* One side of a 1:1 call, as seen by sipd. */
struct call_leg {
	char			*uri;		/* From (caller) or To (callee) URI */
	char			*tag;
	char			*contact;	/* its Contact URI: the remote target */
	struct tp_source	 src;		/* where its messages come from */
	int			 cseq;		/* highest CSeq it sent in the dialog */
	int			 cseq_known;
};

struct media_op;

struct call {
	char			*call_id;
	enum call_state		 state;
	struct call_leg		 caller, callee;
	char			*media;		/* "relay" or "p2p" */
	/* relay mode (media.c) */
	int			 relay;
	int			 node;		/* mediad node index; -1 none */
	uint64_t		 node_instance;
	int			 updates_sent;	/* mediad has (or will have) a session */
	char			*sdp_in[2], *sdp_out[2];	/* last SDP per leg, as rewritten */
	/* recording (recording.c) */
	int			 record;	/* the config says record it (so relayed) */
	int			 rec_asked;	/* RECORD sent: once per call */
	int			 recording;	/* asked, not refused, not finished */
	time_t			 start_wall;	/* for sipctl */
	uint64_t		 start_ms, answer_ms;	/* monotonic */
	struct call		*hnext;
	struct call		*lnext, *lprev;	/* list in start order, for sipctl */
};

int	 call_init(struct sipd *sd);
void	 call_shutdown(struct sipd *sd);
/* An INVITE was accepted for routing: call-start.  Returns the call. */
struct call *call_start(struct sipd *sd, const osip_message_t *invite,
	    const struct tp_source *src, const char *media);
struct call *call_find(struct sipd *sd, const char *call_id);
/* A response of the callee to the initial INVITE passes through sipd. */
void	 call_invite_response(struct sipd *sd, struct call *c, const osip_message_t *resp,
	    const struct tp_source *src);
enum call_outcome {
	CALL_OUT_REJECTED = 0,	/* a final response from the callee (or none) */
	CALL_OUT_CANCEL,	/* the caller CANCELled */
	CALL_OUT_NOANSWER	/* sip.no_answer_timeout ran out */
};
/* The INVITE transaction ended unanswered with status: journal, free. */
void	 call_unanswered(struct sipd *sd, struct call *c, int status, enum call_outcome how);
/* An in-dialog request passes through; returns the leg it goes to (or NULL). */
struct call_leg *call_in_dialog(struct sipd *sd, struct call *c, const osip_message_t *req,
	    const struct tp_source *src);
/* A REFER was accepted (2xx) in call c. */
void	 call_transfer(struct sipd *sd, struct call *c, const char *target);
/*
 * Ends the call: who is "caller", "callee", "timeout" or "admin"; reason
 * (NULL: none) goes to the journal line.  In relay mode the line waits for
 * mediad's final figures (caller_pkts, callee_pkts, ...), a moment at most.
 */
void	 call_end(struct sipd *sd, struct call *c, const char *who);
void	 call_end_reason(struct sipd *sd, struct call *c, const char *who, const char *reason);
/* mediad reported no RTP for idle_ms on call_id: BYEs and call-end by=timeout. */
void	 call_media_timeout(struct sipd *sd, const char *call_id, uint32_t idle_ms);
/* mediad node lost its sessions (died, restarted): end the calls and rooms that were on it. */
void	 call_media_lost(struct sipd *sd, int node);
/*
 * A BYE to the phone of leg `to` in dialog call_id, sent by sipd speaking
 * for leg `from` (RFC 3261 15.1.1; from's CSeq goes up), with why as its
 * Reason text.  0 or EINVAL (no contact to send to).
 */
int	 call_leg_bye(struct sipd *sd, const char *call_id, struct call_leg *from,
	    struct call_leg *to, const char *why);
/* sipctl call hangup: BYE to both legs; 0, ENOENT (no such call) or EBUSY (not answered yet). */
int	 call_hangup(struct sipd *sd, const char *call_id);
/* BYEs to both legs and call-end with who and reason; the same errors. */
int	 call_hangup_by(struct sipd *sd, const char *call_id, const char *who, const char *reason);
/*
 * The user part of l's URI ("1001"), or the whole URI when it has none:
 * the journal's from/to.  Valid until the call after next.
 */
const char *call_leg_user(const struct call_leg *l);
typedef void (*call_visit_cb)(const struct call *c, void *arg);
void	 call_foreach(struct sipd *sd, call_visit_cb cb, void *arg);
size_t	 call_count(struct sipd *sd);
const char *call_state_name(enum call_state s);

/* ---------------------------------------------------------------- media.c */

enum { MEDIA_NOW = -1, MEDIA_LATER = -2 };

/* One m= line of an SDP, as media.c reads it. */
struct media_sdp_stream {
	int		 kind;		/* enum proto_media_kind */
	char		 addr[64];	/* c= (media, else session level) */
	unsigned	 port, rtcp_port;
	int		 dir;		/* enum proto_media_dir */
	unsigned	 clock;		/* RTP clock of the first format */
};

struct media_sdp {
	int			 n;
	struct media_sdp_stream	 s[PROTO_STREAMS_MAX];
	/* the payload formats of the first audio m= line, in its order */
	int			 nfmts;
	uint32_t		 fmt_pt[PROTO_FORMATS_MAX];
	char			 fmt_name[PROTO_FORMATS_MAX][32];	/* "" if unknown */
	uint32_t		 fmt_octet_align[PROTO_FORMATS_MAX];
};

typedef void (*media_done_cb)(struct sipd *sd, int err, void *arg);

/*
 * Reads an SDP body; 0 or EINVAL (no m= line, too many, an m= without
 * address).  The formats of the first audio m= line are named by their
 * a=rtpmap (static 0 and 8 without one: PCMU, PCMA), octet-align from
 * a=fmtp.
 */
int	 media_sdp_parse(const char *body, size_t len, struct media_sdp *out);
/*
 * The SDP body with c= set to addr, the i-th m= port to ports[i] (0 stays
 * 0), a=rtcp to the port above, ICE attributes removed; malloc'd.
 */
char	*media_sdp_rewrite(const char *body, size_t len, const char *addr,
	    const uint32_t *ports, int nports, size_t *outlen);
/* c goes through mediad: picks the least-loaded live node; 0 or EHOSTDOWN. */
int	 media_call_begin(struct sipd *sd, struct call *c);
/*
 * m, from leg from_leg (0 caller, 1 callee) of c, is about to go toward
 * `toward`.  Returns MEDIA_NOW when m may go as it is now (no SDP, not
 * relayed, or the same SDP as last time, rewritten again at once);
 * MEDIA_LATER when mediad was asked: cb(sd, err, arg) comes once, with m
 * rewritten when err is 0, unless media_op_cancel(*opp) is called first;
 * else an errno: EBADMSG (SDP unreadable), EHOSTDOWN (no live mediad).
 */
int	 media_sdp(struct sipd *sd, struct call *c, osip_message_t *m, int from_leg,
	    const struct tp_source *toward, media_done_cb cb, void *arg, struct media_op **opp);
void	 media_op_cancel(struct sipd *sd, struct media_op *op);
/*
 * A retransmission, rewritten at once as the same SDP was the last time:
 * 0 (done, or nothing to rewrite) or ENOENT (an SDP mediad has not seen).
 */
int	 media_sdp_again(struct sipd *sd, struct call *c, osip_message_t *m, int from_leg);
struct media_totals {
	uint64_t	 pkts[2], lost[2];	/* RTP received from each leg's phone */
};
typedef void (*media_end_cb)(struct sipd *sd, const struct media_totals *t, void *arg);
/*
 * Deletes c's session on mediad; why is who ended it, as call-end's by=
 * ("" for a call that ended unanswered), for its recording.  cb gets its
 * final figures (NULL if mediad did not answer).  0, or ENOENT when c has
 * no session (cb not called).
 */
int	 media_call_end(struct sipd *sd, struct call *c, const char *why, media_end_cb cb,
	    void *arg);

/* ---------------------------------------------------------------- offer.c */

/* What an audio m= line says about one of its payload types. */
struct offer_fmt {
	unsigned	 pt;
	char		 name[32];	/* a=rtpmap's encoding name; "" if unknown */
	unsigned	 clock;		/* 0 if unknown */
	char		 fmtp[256];	/* a=fmtp's parameters, "" if none */
};

/*
 * The formats of an m= line's format list ("96 8 101") into fmts (at most
 * max, in that order); static 0 and 8 get "PCMU" and "PCMA" at 8000 Hz,
 * as they need no rtpmap (RFC 3551).  Returns how many.
 */
size_t	 offer_fmts_init(const char *fmtlist, struct offer_fmt *fmts, size_t max);
/*
 * Takes one attribute line of that m= line ("a=rtpmap:96 AMR-WB/16000/1",
 * "a=fmtp:96 octet-align=1"): 1 if it described one of fmts, else 0.
 */
int	 offer_fmt_attr(const char *line, struct offer_fmt *fmts, size_t n);
/* The value of key in an fmtp parameter list ("a=1; b=2"), into val; 0 or ENOENT. */
int	 offer_fmtp_get(const char *fmtp, const char *key, char *val, size_t len);
/* Does an fmtp parameter list say octet-align=1 (RFC 4867)? */
int	 offer_octet_align(const char *fmtp);

/* One m= line of an offer, as it was (for declining it in the answer). */
struct offer_m {
	char		 media[16];
	char		 proto[32];
	char		 fmts[256];
};

/* A room participant's offer and the codec chosen from it. */
struct room_offer {
	int		 n;			/* m= lines */
	struct offer_m	 m[PROTO_STREAMS_MAX];
	int		 audio;			/* the m= line mixed */
	char		 addr[64];		/* where the phone wants RTP */
	unsigned	 port, rtcp_port;
	int		 ip6;
	int		 dir;			/* enum proto_media_dir, as offered */
	char		 codec[16];		/* "PCMA", "AMR-WB", ... */
	unsigned	 pt, clock;
	int		 octet_align;
	unsigned	 mode_set;		/* bit m: mode m; 0 all */
	int		 has_mode_set;
	char		 mode_set_text[64];
	int		 dtmf_pt;		/* telephone-event, -1 none */
};

/*
 * Reads an offer and picks its codec: prefer (a codec name, or NULL) if
 * offered, else the first of codecs that the offer has and mediad can mix.
 * 0, EBADMSG (unreadable), ENOENT (no audio m= line with plain RTP),
 * ENOTSUP (no usable codec).
 */
int	 offer_parse(const char *body, size_t len, char *const *codecs, size_t ncodecs,
	    const char *prefer, struct room_offer *o);
/* The answer to o: mediad at addr:port, the chosen codec, the rest declined; malloc'd. */
char	*offer_answer(const struct room_offer *o, const char *addr, unsigned port,
	    uint64_t sess_id, unsigned version, size_t *len);

/* ---------------------------------------------------------------- room.c */

enum member_state {
	MEMBER_JOINING = 0,	/* INVITE in, mediad asked, no final answer yet */
	MEMBER_ANSWERED,	/* 200 sent, waiting for the ACK */
	MEMBER_IN,		/* in the room */
	MEMBER_GONE		/* CANCELled or refused while mediad was asked */
};

/* One participant of a room: sipd is the UAS of its dialog. */
struct room_member {
	struct sipd		*sd;
	struct sroom		*room;
	uint32_t		 id;		/* per room, from 1 */
	char			*user;		/* the From user */
	char			*call_id;
	struct call_leg		 phone;		/* the phone's side of the dialog */
	struct call_leg		 self;		/* ours: the room URI, our tag, our CSeq */
	enum member_state	 state;
	int			 joined;	/* room-join written */
	struct txn		*st;		/* (re-)INVITE or UPDATE waiting for mediad */
	uint32_t		 reqid;		/* that mediad request */
	struct room_offer	 offer;		/* the last offer taken */
	int			 muted, held;
	unsigned		 sdp_version;
	uint64_t		 sess_id;
	char			 address[64];	/* mediad's RTP address and port for it */
	unsigned		 port;
	char			*ok;		/* our last 2xx to an INVITE, until its ACK */
	size_t			 oklen;
	uint64_t		 ok_since, retx_ms;
	struct loop_timer	 t_retx;
	time_t			 joined_wall;
	uint64_t		 joined_ms;
	struct room_member	*next;		/* in its room, in join order */
	struct room_member	*hnext;		/* by Call-ID */
};

/* A room as sipd keeps it: its participants and the mediad node it is on. */
struct sroom {
	char			*name;
	int			 node;
	uint64_t		 node_instance;
	struct room_member	*members;
	size_t			 nmembers;	/* not gone */
	uint32_t		 next_id;
	int			 created;	/* room-create written */
	int			 rec_asked;	/* RECORD sent (recording.c) */
	int			 recording;	/* asked, not refused, not finished */
	time_t			 since;
	uint64_t		 since_ms;
	struct sroom		*next;
};

int	 room_init(struct sipd *sd);
void	 room_shutdown(struct sipd *sd);
typedef void (*room_visit_cb)(const struct sroom *r, void *arg);
void	 room_foreach(struct sipd *sd, room_visit_cb cb, void *arg);
const struct sroom *room_find(struct sipd *sd, const char *name);
struct sroom *room_get(struct sipd *sd, const char *name);
/* The participant limit of room name (sipctl room limit, else rooms.max_participants). */
int	 room_limit(struct sipd *sd, const char *name);
int	 room_max(struct sipd *sd);
/* sipctl room limit / room max; EINVAL for a name that is no room. */
int	 room_set_limit(struct sipd *sd, const char *name, int limit);
void	 room_set_max(struct sipd *sd, int max);
/*
 * sipctl room kick / mute / unmute: who is a participant id or a user
 * name (then every participant of that user).  *n gets how many.  0,
 * ENOENT (no room, no such participant), EHOSTDOWN (its mediad is gone).
 */
int	 room_kick(struct sipd *sd, const char *room, const char *who, int *n);
int	 room_set_mute(struct sipd *sd, const char *room, const char *who, int muted, int *n);
/* Is the request URI's user a room (rooms.numbers)? */
int	 room_is_room(struct sipd *sd, const char *user);
/* An authenticated INVITE to a room, out of dialog, on server transaction st. */
void	 room_invite(struct sipd *sd, struct txn *st, const struct tp_source *src);
/* A request in a participant's dialog (st NULL: an ACK); 0 if it was one, else ENOENT. */
int	 room_in_dialog(struct sipd *sd, struct txn *st, osip_message_t *req,
	    const struct tp_source *src);
/* CANCEL of INVITE ist: 1 if it was a room's (answered 487), else 0. */
int	 room_cancel(struct sipd *sd, struct txn *ist);
/* mediad reported no RTP from participant call_id: 1 if it was one (BYE sent). */
int	 room_media_timeout(struct sipd *sd, const char *call_id, uint32_t idle_ms);
/* A mediad node is lost: every room on it ends. */
void	 room_media_lost(struct sipd *sd, int node);
/* SIGTERM: BYE to every participant; returns how many. */
size_t	 room_end_all(struct sipd *sd);
size_t	 room_count(struct sipd *sd);

/* ---------------------------------------------------------------- node.c */

/* What sipd knows of a mediad node (sipctl status). */
struct node_info {
	int		 live;
	char		 name[256];
	char		 address[64];	/* its SDP address; "" = sipd's own */
	uint64_t	 instance;
	uint32_t	 capacity, free, sessions, load;
	uint32_t	 recorder;	/* 1: its recd answers it */
	uint32_t	 kernel;	/* 1: it forwards latched legs in the kernel */
	uint32_t	 kernel_legs;	/* ... this many now */
	uint32_t	 recordings;	/* it feeds recd */
	uint64_t	 hello_sent;
};

/* The answer m to a request (NULL with err: ETIMEDOUT, EHOSTDOWN, or from an ERROR); a request sent with no callback is not answered to anyone. */
typedef void (*node_reply_cb)(struct sipd *sd, const struct proto_msg *m, int err, void *arg);

int	 node_open(struct sipd *sd);	/* connects to every control.media endpoint */
void	 node_close(struct sipd *sd);
/* The least-loaded live node (counted as one call busier), or -1. */
int	 node_pick(struct sipd *sd);
/* A call picked for node has ended: count it off until the next heartbeat. */
void	 node_released(struct sipd *sd, int node);
/*
 * Sends m (its reqid is set here) to node; cb comes once with the answer
 * or an error.  0, or EHOSTDOWN (node not live) or another errno (cb not
 * called).  *reqidp names the request for node_cancel.
 */
int	 node_request(struct sipd *sd, int node, struct proto_msg *m, node_reply_cb cb,
	    void *arg, uint32_t *reqidp);
/*
 * Sends m, a message answered only when refused (RECORD, NODE_RESET), to
 * node: cb (may be NULL) comes once, with the errno of an ERROR, or 0 when
 * none came in time.  0, or EHOSTDOWN or another errno (cb not called).
 */
int	 node_post(struct sipd *sd, int node, struct proto_msg *m, node_reply_cb cb,
	    void *arg);
void	 node_cancel(struct sipd *sd, uint32_t reqid);
const struct node_info *node_info(struct sipd *sd, int node);
const char *node_endpoint(struct sipd *sd, int node);
int	 node_count(struct sipd *sd);
/* The errno for an ERROR code from mediad. */
int	 node_errno(uint32_t code);

/* ---------------------------------------------------------------- recording.c */

#define RECORDING_KEEP	100	/* finished recordings sipctl recordings lists */

/* A recording, as mediad's REC_EVENTs tell of it. */
struct recording {
	char			*rec;		/* recd's id of it (the key) */
	int			 kind;		/* enum proto_rec_kind */
	char			*target;	/* the Call-ID, or the room's name */
	int			 node;		/* the mediad node that feeds it */
	uint64_t		 instance;	/* that node's mediad instance then */
	int			 lost;		/* finished because the node was lost */
	int			 state;		/* PROTO_RECST_STARTED (open), _DONE, _FAILED */
	uint64_t		 started;	/* UTC ms: when sipd heard of it */
	uint64_t		 ms;		/* finished: its longest file, in ms */
	char			**files;	/* paths */
	size_t			 nfiles;
	char			*sidecar;	/* "" until known */
	char			*reason;	/* FAILED: why */
	struct recording	*next;
};

int	 recording_init(struct sipd *sd);
void	 recording_shutdown(struct sipd *sd);
/*
 * The 2xx to c's INVITE has gone to the caller with its SDP anchored on
 * mediad: a call to be recorded gets its RECORD now, once.
 */
void	 recording_call_answered(struct sipd *sd, struct call *c);
/* Room r's first participant got its 200: RECORD when recording.rooms says so. */
void	 recording_room_created(struct sipd *sd, struct sroom *r);
/* mediad's REC_EVENT: the recording's state and the journal's rec-* lines. */
void	 recording_event(struct sipd *sd, int node, const struct proto_rec_event *ev);
/* mediad node is lost: its open recordings are done, failed "mediad lost". */
void	 recording_media_lost(struct sipd *sd, int node);
typedef void (*recording_visit_cb)(const struct recording *r, void *arg);
/* The open recordings, then the last RECORDING_KEEP finished, each oldest first. */
void	 recording_foreach(struct sipd *sd, recording_visit_cb cb, void *arg);
const char *recording_state_name(int state);	/* "recording", "done", "failed" */

/* ---------------------------------------------------------------- journal.c */

struct journal;

/*
 * Opens (creates, appends to) the journal at path; json = 1 writes one JSON
 * object per line.  The parent directory is created if missing.
 */
int	 journal_open(struct journal **jp, const char *path, int json);
/* Reopens the same path (SIGHUP, after logrotate moved the file). */
int	 journal_reopen(struct journal *j);
void	 journal_close(struct journal *j);
/*
 * Appends one line: the UTC timestamp, event, then key/value string pairs
 * ending with NULL.  A pair whose value is NULL is left out.  One write(2)
 * per line, so a reader never sees half a line.
 */
void	 journal_write(struct journal *j, const char *event, ...)
	    __attribute__((sentinel));
/* Formats one line into buf (no I/O; for the unit tests); returns its length. */
size_t	 journal_format(char *buf, size_t len, int json, const struct timespec *ts,
	    const char *event, const char *const *kv, size_t nkv);

/* ---------------------------------------------------------------- ctl.c */

int	 ctl_open(struct sipd *sd);	/* binds control.sipctl */
void	 ctl_close(struct sipd *sd);

/* ---------------------------------------------------------------- main.c / sipd */

struct tp;
struct txn_table;
struct reg_table;
struct auth;
struct call_table;
struct proxy;
struct ctl;
struct node_table;
struct room_table;
struct recording_table;

struct sipd {
	struct parley_conf	*conf;
	char			*conf_path;	/* NULL: built-in default */
	struct loop		*loop;
	struct journal		*journal;
	struct tp		*tp;
	struct txn_table	*txns;
	struct auth		*auth;
	struct reg_table	*reg;
	struct proxy		*proxy;
	struct call_table	*calls;
	struct room_table	*rooms;
	struct recording_table	*recs;
	struct ctl		*ctl;
	struct node_table	*nodes;
	void			*zmq;		/* ZeroMQ context */
	struct msg_stats	 stats;
	time_t			 started;	/* wall clock, for sipctl status */
	uint64_t		 started_ms;
	const char		*server_name;	/* "Parley/0.1.0" */
	int			 stopping;
	int			 stopping_hard;	/* freeing everything: no more messages */
};

/* Graceful shutdown: end calls with BYE, then stop the loop. */
void	 sipd_shutdown(struct sipd *sd);

#endif
