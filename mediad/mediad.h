/*
 * mediad.h — the private header of mediad: its context struct, the media
 * session model, and the prototypes of every mediad file, grouped by file.
 *
 * mediad is layered like sipd:
 *   ctl.c      the control socket (ZeroMQ ROUTER): decodes proto messages
 *              from sipd, calls session.c, encodes the answers     ctl_*
 *   session.c  media sessions: one per call, one stream per m= line, two
 *              legs per stream; figures, RTP timeouts              session_*
 *   room.c     rooms: participants, the 20 ms mixer clock, RTP in
 *              and out of the mix                                  room_*
 *   mix.c      the mixer's arithmetic: jitter buffer, N-1 mix,
 *              resampler glue (mix.h)                              jbuf_*, mix_*
 *   codec.c    G.711, AMR, AMR-WB and their RTP payloads (codec.h) codec_*
 *   tap.c      recording a relayed call: its legs decoded and mixed
 *              at a 20 ms clock                                    tap_*
 *   recout.c   feeding recordings to recd (control.recorder): frames
 *              kept until acknowledged, restarts, gaps, stop       recout_*
 *   ports.c    the pool of RTP/RTCP port pairs from media.rtp_ports ports_*
 *   relay.c    the packet path: receive, latch, count, forward     relay_*
 *   kfwd.c     the same path in the kernel for latched legs: a tc
 *              BPF program (kfwd.bpf.c) and its map                kfwd_*
 *   main.c     options, config, logging, the loop
 * The packet path never parses control messages; session.c never calls
 * zmq_*.
 */
#ifndef PARLEY_MEDIAD_H
#define PARLEY_MEDIAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/conf.h"
#include "common/loop.h"
#include "proto/proto.h"
#include "codec.h"

#define MEDIAD_RELATCH_MS	2000	/* a latched source silent this long may be replaced */
#define MEDIAD_ORPHAN_MS	10000	/* a session whose sipd is silent this long is freed */

struct mediad;
struct session;
struct media_leg;
struct room_part;
struct recout;
struct tap_call;

/* ---------------------------------------------------------------- ports.c */

struct ports;

/*
 * The pool of even/odd port pairs in [min, max], bound on addr.  Freed
 * pairs go to the back of the queue, so a port is not reused at once
 * (late packets of an ended call do not reach the next one).
 */
int	 ports_alloc_pool(struct ports **pp, const char *addr, int min, int max);
void	 ports_free_pool(struct ports *p);
/*
 * Takes a pair and binds its RTP (even) and RTCP (odd) UDP sockets,
 * non-blocking; a port some other program holds is skipped.  0, or ENOSPC
 * when every pair is in use.
 */
int	 ports_get(struct ports *p, int *rtp_fd, int *rtcp_fd, uint16_t *port);
/* Closes the two sockets and returns the pair to the pool. */
void	 ports_put(struct ports *p, int rtp_fd, int rtcp_fd, uint16_t port);
uint32_t ports_capacity(const struct ports *p);
uint32_t ports_free_count(const struct ports *p);
int	 ports_family(const struct ports *p);	/* AF_INET or AF_INET6 */

/* ---------------------------------------------------------------- relay.c */

/* one UDP socket of mediad facing one phone: RTP or RTCP of one leg */
struct relay_sock {
	int			 fd;
	int			 rtcp;
	int			 connected;	/* to the latched phone */
	struct media_leg	*leg;
	struct mediad		*md;
};

/* An RTP packet's header fields and payload (after CSRCs, extension, padding). */
struct rtp_hdr {
	int		 pt;
	uint32_t	 ts, ssrc;
	const uint8_t	*pl;
	size_t		 len;		/* of the payload, at least 1 */
};
/* 0 and *h, or -1 for a packet that is not RTP or is malformed (lengths that do not fit). */
int	 rtp_parse(const uint8_t *pkt, size_t len, struct rtp_hdr *h);
/* Releases the leg's latches (a new SDP address or port). */
void	 relay_unlatch(struct media_leg *l);
/* Once a second: a latch silent for MEDIAD_RELATCH_MS may move (disconnects). */
void	 relay_idle_check(struct media_leg *l, uint64_t now_ms);
/* Sends one RTP packet we made to leg l's phone (latched, else SDP address). */
void	 relay_send_rtp(struct media_leg *l, const uint8_t *pkt, size_t len);
/* Adds the leg's two sockets to the loop / removes them. */
int	 relay_add(struct mediad *md, struct media_leg *l);
void	 relay_del(struct mediad *md, struct media_leg *l);
int	 relay_init(struct mediad *md);
void	 relay_shutdown(struct mediad *md);

/* ---------------------------------------------------------------- kfwd.c */

/*
 * Loads the in-kernel forwarding program and attaches it (media.kernel);
 * call before privileges are dropped.  0 (md->kfwd set), or an errno
 * value after a log line: the userspace relay then does everything.
 */
int	 kfwd_open(struct mediad *md);
void	 kfwd_close(struct mediad *md);
/*
 * After privileges are gone: can mediad still write the table?  (Before
 * Linux 5.19 not without CAP_BPF.)  0, or EPERM after turning it off.
 */
int	 kfwd_check(struct mediad *md);
/* Once a second: the program forwards only while mediad beats. */
void	 kfwd_beat(struct mediad *md);
/* Both RTP legs of l's stream into the kernel, if both are latched (IPv4) and no tap. */
void	 kfwd_consider(struct media_leg *l);
/* ... and out again, their figures folded in (a latch moves, a tap, the end). */
void	 kfwd_drop(struct media_leg *l);
/* Folds the kernel's figures of leg l into it (packets, bytes, last seen, RFC 3550). */
void	 kfwd_sync(struct media_leg *l);
/* 1 when on, with *legs in the kernel; else 0. */
int	 kfwd_status(const struct mediad *md, uint32_t *legs);

/* ---------------------------------------------------------------- session.c */

/* RFC 3550 A.1 / A.3 / A.8 receive state of one phone's RTP stream */
struct rtp_rx {
	int		 init;
	uint32_t	 ssrc;
	uint16_t	 max_seq;
	uint32_t	 cycles;
	uint32_t	 base_seq;
	uint64_t	 received;
	int64_t		 last_transit;	/* in RTP clock units */
	uint64_t	 jitter16;	/* jitter * 16, RTP clock units */
};

/*
 * One leg of one stream: the phone on that side and mediad's two sockets
 * facing it.  Packets that arrive on these sockets came from this phone
 * and go out of the peer leg's sockets to the peer phone.
 */
struct media_leg {
	struct session		*s;		/* a 1:1 call's leg, or */
	struct room_part	*part;		/* a room participant's (peer NULL) */
	struct media_leg	*peer;
	uint64_t		*last_rtp;	/* ms of its owner's last RTP packet */
	int			 idx;		/* 0 caller, 1 callee */
	uint16_t		 port;		/* mediad's RTP port; RTCP is port + 1 */
	struct relay_sock	 rtp, rtcp;
	/* where the phone said it wants media (SDP); family 0: not known */
	struct sockaddr_storage	 sdp_rtp, sdp_rtcp;
	socklen_t		 sdp_len;
	/* where its packets really come from (latching), family 0: not yet */
	struct sockaddr_storage	 lat_rtp, lat_rtcp;
	socklen_t		 lat_rtp_len, lat_rtcp_len;
	uint64_t		 lat_rtp_seen, lat_rtcp_seen;	/* ms of the last packet */
	int			 dir;		/* enum proto_media_dir */
	uint32_t		 clock;		/* RTP clock rate, Hz */
	/* figures */
	uint64_t		 pkts_in, bytes_in, pkts_out, bytes_out;
	uint64_t		 rtcp_in, dropped;	/* dropped: from a stranger, or nowhere to go */
	struct rtp_rx		 rx;
	uint32_t		 rr_lost, rr_jitter;	/* from this phone's RTCP reports */
	/* in-kernel forwarding (kfwd.c): 1 its RTP is in the program's map, -1 refused (until a latch moves) */
	int			 kfwd;
	uint64_t		 k_pkts, k_bytes;	/* the map's counts already folded in */
	uint64_t		 k_urx;		/* RTP userspace received while in the kernel */
};

struct media_stream {
	int			 kind;		/* enum proto_media_kind */
	int			 used;		/* ports allocated */
	struct media_leg	 leg[2];
};

/* the payload formats of one phone's first audio m= line (SESSION_UPDATE) */
struct session_fmts {
	size_t			 n;
	struct codec_fmt	 f[PROTO_FORMATS_MAX];	/* id CODEC_NONE: one we cannot decode */
	uint8_t			 evs[PROTO_FORMATS_MAX];	/* 1: that one is EVS */
	char			 first[PROTO_CODEC_MAX + 1];	/* the preferred one's name */
};

struct session {
	char			*call;
	struct media_stream	 st[PROTO_STREAMS_MAX];
	int			 nst;
	int			 have_leg[2];	/* an update came for the leg */
	uint64_t		 last_rtp;	/* ms of the last RTP packet (or of the answer) */
	uint64_t		 last_timeout;	/* ms a SESSION_TIMEOUT was last sent */
	uint64_t		 created;	/* ms */
	uint8_t			 owner[256];	/* routing id of the sipd that made it */
	size_t			 owner_len;
	struct session_fmts	*fmts[2];	/* per leg, NULL until said */
	struct tap_call		*tap;		/* being recorded, or NULL */
	struct session		*hnext;
	struct session		*lnext, *lprev;
};

int	 session_init(struct mediad *md);
void	 session_shutdown(struct mediad *md);
/*
 * Applies one leg's SDP (SESSION_UPDATE) and fills *ports_a / *ports_b
 * (n entries, static until the next call).  owner is the routing id of the
 * sender.  0, EINVAL (lists of different lengths, a bad address), ENOSPC.
 */
int	 session_update(struct mediad *md, const struct proto_session_update *u,
	    const void *owner, size_t owner_len, const uint32_t **ports_a,
	    const uint32_t **ports_b, size_t *n);
struct session *session_find(struct mediad *md, const char *call);
/*
 * addr:port into a sockaddr of family; 0 or EINVAL.  "0.0.0.0" and "::"
 * (and port 0) give *len = 0: nowhere to send.
 */
int	 session_sockaddr(const char *addr, uint32_t port, int family,
	    struct sockaddr_storage *out, socklen_t *len);
/* Frees s; a recording of it ends with reason ("caller", "timeout", ...). */
void	 session_delete(struct mediad *md, struct session *s, const char *reason);
/* Frees every session the sipd with routing id owner made; returns how many. */
size_t	 session_drop_owner(struct mediad *md, const void *owner, size_t len);
size_t	 session_count(struct mediad *md);

/* The rows of a STATS message, built by session_stats; free with session_rows_free. */
struct session_rows {
	size_t		  n, cap;
	char		**calls, **latched;
	uint32_t	 *streams, *legs, *kinds, *jitter_us, *rr_lost, *rr_jitter_us, *kernel;
	uint64_t	 *pkts_in, *bytes_in, *pkts_out, *bytes_out, *lost;
};
/* Adds the rows of s (NULL: of every session). */
void	 session_stats(struct mediad *md, struct session *s, struct session_rows *r);
void	 session_rows_free(struct session_rows *r);
/* The packet path saw RTP from leg l at now (ms): figures and timeout clock. */
void	 session_rtp_seen(struct media_leg *l, const uint8_t *pkt, size_t len, uint64_t now_us);
/* ... and RTCP: the phone's reception report. */
void	 session_rtcp_seen(struct media_leg *l, const uint8_t *pkt, size_t len);

/* ---------------------------------------------------------------- room.c */

/* The rows of a ROOM_STATS message, built by room_stats; free with room_rows_free. */
struct room_rows {
	size_t		  nr, rcap, np, pcap;
	char		**r_rooms;
	uint32_t	 *r_rates, *r_encodes;
	uint64_t	 *r_ticks, *r_late;
	char		**p_rooms, **p_codecs, **p_latched;
	uint32_t	 *p_ids, *p_jitter_us, *p_muted, *p_talking, *p_held;
	uint64_t	 *p_pkts_in, *p_pkts_out, *p_lost, *p_concealed;
};

int	 room_init(struct mediad *md);
void	 room_shutdown(struct mediad *md);
/*
 * A participant joins (or changes its stream): creates the room on first
 * use, takes a port pair, starts the room's clock.  *port gets mediad's
 * RTP port for it.  0, EINVAL (a codec mediad cannot mix, a bad address),
 * ENOSPC (no ports).
 */
int	 room_join(struct mediad *md, const struct proto_room_join *j, const void *owner,
	    size_t owner_len, uint16_t *port);
/* The participant leaves; its final row goes into r (may be NULL).  0 or ENOENT. */
int	 room_leave(struct mediad *md, const char *room, uint32_t id, struct room_rows *r);
/* Mutes or unmutes; its row goes into r.  0 or ENOENT. */
int	 room_mute(struct mediad *md, const char *room, uint32_t id, int muted,
	    struct room_rows *r);
/* Rows of room (NULL: every room); 0 or ENOENT. */
int	 room_stats(struct mediad *md, const char *room, struct room_rows *r);
void	 room_rows_free(struct room_rows *r);
/* The packet path got RTP from a participant's phone (after latching). */
void	 room_rtp_in(struct room_part *p, const uint8_t *pkt, size_t len);
size_t	 room_count(struct mediad *md);
/* Frees every room the sipd with routing id owner made; returns how many. */
size_t	 room_drop_owner(struct mediad *md, const void *owner, size_t len);
size_t	 room_participants(struct mediad *md);

/*
 * RECORD of a room: records it from now until it ends (the mix, and a
 * p<N> per participant with legs).  0, ENOENT (no such room), EEXIST
 * (no recording could be made).
 */
int	 room_record(struct mediad *md, const struct proto_record *m, const void *owner,
	    size_t owner_len);

/* ---------------------------------------------------------------- tap.c */

int	 tap_init(struct mediad *md);
void	 tap_shutdown(struct mediad *md);
/* SESSION_UPDATE's payload formats of leg (0 caller, 1 callee) into s->fmts. */
void	 tap_fmts_set(struct session *s, int leg, const struct proto_session_update *u);
/*
 * RECORD of session s: its first audio stream is decoded and recorded
 * from now on.  0 (also when it is already), EINVAL (no audio stream),
 * EEXIST (a recording of that id is still being closed).
 */
int	 tap_record(struct mediad *md, struct session *s, const struct proto_record *m,
	    const void *owner, size_t owner_len);
/* The recording of s ends (reason for the sidecar); nothing if none. */
void	 tap_stop(struct mediad *md, struct session *s, const char *reason);
/* The packet path got RTP from leg l of a recorded session (s->tap). */
void	 tap_rtp_in(struct media_leg *l, const uint8_t *pkt, size_t len);
size_t	 tap_count(const struct mediad *md);

/* ---------------------------------------------------------------- recout.c */

int	 recout_init(struct mediad *md);	/* connects to control.recorder */
/* Feeds recd what it can still take and waits at most wait_ms for REC_DONEs. */
void	 recout_shutdown(struct mediad *md, uint64_t wait_ms);
/* Has recd answered within the last 3 s? */
int	 recout_up(const struct mediad *md);
/* Recordings being fed (or closed). */
size_t	 recout_count(const struct mediad *md);
/*
 * A new recording id (kind enum proto_rec_kind; target the Call-ID or
 * room for REC_EVENTs to the sipd with routing id owner) at rate, starting
 * now; NULL when one of that id is still open.  Add its streams and
 * participants, then recout_begin.
 */
struct recout *recout_new(struct mediad *md, int kind, const char *id, const char *target,
	    unsigned rate, const void *owner, size_t owner_len);
/*
 * Adds a stream of format (enum proto_rec_format; the same name again:
 * the same one); its index, or -1.
 */
int	 recout_stream_add(struct recout *r, const char *name, const char *codec, int format);
void	 recout_part_add(struct recout *r, const char *who);
/* Sends REC_START: again after streams or participants were added. */
void	 recout_begin(struct recout *r);
/* One 20 ms frame (rate / 50 samples) of stream at media timestamp ts. */
void	 recout_put(struct recout *r, int stream, uint64_t ts, const int16_t *pcm);
/* One 20 ms EVS storage frame (ToC and data, len bytes) of an EVS stream at ts. */
void	 recout_put_payload(struct recout *r, int stream, uint64_t ts, const uint8_t *frame,
	    size_t len);
/*
 * A recording's length in samples: the wall time since started (monotonic
 * ms of its media timestamp 0), or the ticks it put if that is more.
 */
uint64_t recout_length(uint64_t started, unsigned rate, uint64_t ticks);
/* The producer is done: samples long.  r is recout.c's from now on. */
void	 recout_stop(struct recout *r, uint64_t samples, const char *reason);

/* ---------------------------------------------------------------- ctl.c */

int	 ctl_open(struct mediad *md);	/* binds control.media */
void	 ctl_close(struct mediad *md);
/*
 * Has the peer with routing id id said HELLO within the last within_ms?
 * 1 as well for a peer that never said HELLO: only a sipd that went
 * silent is known to be gone.
 */
int	 ctl_peer_alive(struct mediad *md, const void *id, size_t len, uint64_t within_ms);
/* Sends REC_EVENT to the sipd with routing id owner (see proto_msgs.h). */
void	 ctl_send_rec_event(struct mediad *md, const void *owner, size_t owner_len,
	    uint32_t kind, const char *target, const char *rec, uint32_t state, size_t nfiles,
	    const char *const *files, size_t nms, const uint64_t *ms, const char *sidecar,
	    const char *reason, const char *stream, uint32_t gap_ms);
/* Sends SESSION_TIMEOUT for call to the sipd with routing id owner. */
void	 ctl_send_timeout(struct mediad *md, const void *owner, size_t owner_len,
	    const char *call, uint32_t idle_ms);

/* ---------------------------------------------------------------- main.c */

struct ctl;
struct session_table;
struct relay;
struct room_table;
struct recout_link;
struct tap_table;
struct kfwd;

struct mediad {
	struct parley_conf	*conf;
	char			*conf_path;
	struct loop		*loop;
	void			*zmq;
	struct ctl		*ctl;
	struct ports		*ports;
	struct relay		*relay;
	struct session_table	*sessions;
	struct room_table	*rooms;
	struct tap_table	*taps;
	struct recout_link	*recout;	/* NULL: not connected (tests) */
	struct kfwd		*kfwd;		/* NULL: in-kernel forwarding off */
	char			 node[256];
	uint64_t		 instance;	/* random per start */
	const char		*advertise;	/* address for SDP, "" = sipd's choice */
	uint32_t		 load;		/* per mille of a CPU, last second */
};

#endif
