/*
 * proto_msgs.h — the one list of every message Parley's processes send
 * each other, with the fields of each.  proto.h and proto.c expand it into
 * the message type enum, one struct per message, the type names, the wire
 * field tables and the dispatch helper; nothing else lists messages.
 *
 * It holds only macros: no code, no other Parley header.
 *
 * PROTO_MESSAGES(X) calls X(id, NAME, name) once per message:
 *   id    its number on the wire.  Never reuse or renumber one: a retired
 *         message keeps its id, listed under "retired" below.  Ranges:
 *           1-15    any peer (errors, hello)
 *           16-31   sipctl <-> sipd (admin)
 *           32-127  sipd <-> mediad
 *           128-191 mediad <-> recd
 *   NAME  gives the enum constant PROTO_<NAME> and the printed name.
 *   name  gives struct proto_<name>, the union member msg.u.<name> and
 *         the handler proto_handlers.<name>.
 *
 * PROTO_FIELDS_<name>(F, m) calls F(m, KIND, field, min, max) once per
 * field, in wire order.  Kinds and what min/max bound:
 *   U32   uint32_t                       the value
 *   U64   uint64_t                       the value
 *   STR   char * (NUL-terminated, no NUL inside)   the length in bytes
 *   STRV  struct proto_strv (list of STR)          the number of strings;
 *         each string at most PROTO_STRV_ITEM_MAX bytes
 *   BYTES struct proto_bytes                       the length in bytes
 *   U32V  struct proto_u32v (list of uint32_t)     the number of values
 *   U64V  struct proto_u64v (list of uint64_t)     the number of values
 * Encoders refuse and decoders reject a field outside its bounds.
 *
 * To add a message: take the next free id of its range, add an X line,
 * add its PROTO_FIELDS_ macro, add a round-trip case to
 * tests/unit/proto_test.c.  Changing the fields of an existing message
 * changes the wire format: bump PROTO_VERSION (proto.h).
 */
#ifndef PARLEY_PROTO_MSGS_H
#define PARLEY_PROTO_MSGS_H

#include <stdint.h>

/* limits shared by the field lists below */
#define PROTO_BODY_MAX		(4u << 20)	/* bytes of one message body */
#define PROTO_TEXT_MAX		4096		/* an error text */
#define PROTO_ARGV_MAX		64		/* words of an admin command */
#define PROTO_STRV_ITEM_MAX	4096		/* bytes of one string in a STRV */
#define PROTO_ID_MAX		1024		/* a Call-ID, a node name */
#define PROTO_STREAMS_MAX	16		/* m= lines of one session */
#define PROTO_ROWS_MAX		(1u << 18)	/* rows of one STATS answer */
#define PROTO_ROOM_MAX		64		/* a room's name */
#define PROTO_CODEC_MAX		32		/* a codec's name */
#define PROTO_REC_STREAMS_MAX	1024		/* files of one recording */
#define PROTO_STREAM_MAX	32		/* a recorded stream's name */
#define PROTO_REASON_MAX	64		/* why a recording stopped */
#define PROTO_PATH_MAX		4096		/* a file's path */
#define PROTO_PCM_MAX		32000		/* PCM bytes of one REC_FRAMES: 1 s at 16 kHz */
#define PROTO_FORMATS_MAX	32		/* payload formats of one m= line */

/*
 * Retired ids (never reuse): none yet.
 */
#define PROTO_MESSAGES(X)				\
	X(1,	ERROR,		error)			\
	X(2,	HELLO,		hello)			\
	X(16,	ADMIN_REQ,	admin_req)		\
	X(17,	ADMIN_REP,	admin_rep)		\
	X(32,	MEDIA_STATUS,	media_status)		\
	X(33,	SESSION_UPDATE,	session_update)		\
	X(34,	SESSION_PORTS,	session_ports)		\
	X(35,	SESSION_DELETE,	session_delete)		\
	X(36,	STATS_REQ,	stats_req)		\
	X(37,	STATS,		stats)			\
	X(38,	SESSION_TIMEOUT, session_timeout)	\
	X(39,	ROOM_JOIN,	room_join)		\
	X(40,	ROOM_PORT,	room_port)		\
	X(41,	ROOM_LEAVE,	room_leave)		\
	X(42,	ROOM_MUTE,	room_mute)		\
	X(43,	ROOM_STATS_REQ,	room_stats_req)		\
	X(44,	ROOM_STATS,	room_stats)		\
	X(45,	NODE_RESET,	node_reset)		\
	X(46,	RECORD,		record)			\
	X(47,	REC_EVENT,	rec_event)		\
	X(128,	REC_START,	rec_start)		\
	X(129,	REC_FRAMES,	rec_frames)		\
	X(130,	REC_ACK,	rec_ack)		\
	X(131,	REC_GAP,	rec_gap)		\
	X(132,	REC_STOP,	rec_stop)		\
	X(133,	REC_DONE,	rec_done)		\
	X(134,	REC_PAYLOADS,	rec_payloads)

/*
 * ERROR — the answer to a message that could not be taken: malformed,
 * unknown type, other protocol version, or a type this peer does not
 * accept.  Its header carries the request id of the refused message (0 if
 * that could not be read).  Its layout never changes, so a peer of any
 * version can read it; it is never answered.
 *   code  one of enum proto_errcode (proto.h)
 *   text  for people and logs
 */
#define PROTO_FIELDS_error(F, m)					\
	F(m, U32,	code,	0, UINT32_MAX)				\
	F(m, STR,	text,	0, PROTO_TEXT_MAX)

/*
 * HELLO — a peer says who it is, when it connects and then every second
 * (sipd to each mediad node: the heartbeat ping, answered by MEDIA_STATUS;
 * mediad to recd: answered by recd's own HELLO, whose new instance tells
 * mediad that recd restarted and must be sent its REC_STARTs again).
 *   process   "sipd", "mediad", "recd"
 *   node      the sender's node name (host name unless configured)
 *   instance  random, new at every start of the process
 */
#define PROTO_FIELDS_hello(F, m)					\
	F(m, STR,	process,	1, 32)				\
	F(m, STR,	node,		0, PROTO_ID_MAX)		\
	F(m, U64,	instance,	0, UINT64_MAX)

/*
 * ADMIN_REQ — sipctl to sipd: one command, as the words the operator
 * typed ("call", "hangup", "abc@host").
 */
#define PROTO_FIELDS_admin_req(F, m)					\
	F(m, STRV,	argv,	1, PROTO_ARGV_MAX)

/*
 * ADMIN_REP — sipd to sipctl: the answer to an ADMIN_REQ with its
 * request id.
 *   status  PROTO_ADMIN_DONE or PROTO_ADMIN_REFUSED
 *   body    a JSON text; when refused, {"error": "why"}
 */
#define PROTO_FIELDS_admin_rep(F, m)					\
	F(m, U32,	status,	0, 1)					\
	F(m, STR,	body,	0, PROTO_BODY_MAX - 64)

/*
 * MEDIA_STATUS — mediad to sipd, the answer to each HELLO: the node's
 * announcement and heartbeat.  A new instance means mediad restarted and
 * holds none of the sessions it had.
 *   address   the RTP address phones are told; "" when mediad listens on
 *             a wildcard address (sipd then writes its own address toward
 *             each phone)
 *   capacity  relay port pairs in all; free: not in use
 *   load      CPU used by mediad over the last second, per mille of a core
 *   recorder  1: recd (control.recorder) answered mediad's HELLO within
 *             the last 3 s; 0: it did not (recordings wait in mediad)
 *   recordings  recordings mediad is feeding to recd
 *   kernel    1: mediad forwards latched legs in the kernel (kfwd), 0: all
 *             in userspace
 *   kernel_legs  legs being forwarded in the kernel now
 */
#define PROTO_FIELDS_media_status(F, m)					\
	F(m, STR,	node,		0, PROTO_ID_MAX)		\
	F(m, U64,	instance,	0, UINT64_MAX)			\
	F(m, STR,	address,	0, 64)				\
	F(m, U32,	capacity,	0, UINT32_MAX)			\
	F(m, U32,	free,		0, UINT32_MAX)			\
	F(m, U32,	sessions,	0, UINT32_MAX)			\
	F(m, U32,	load,		0, UINT32_MAX)			\
	F(m, U32,	recorder,	0, 1)				\
	F(m, U32,	recordings,	0, UINT32_MAX)			\
	F(m, U32,	kernel,		0, 1)				\
	F(m, U32,	kernel_legs,	0, UINT32_MAX)

/*
 * SESSION_UPDATE — sipd to mediad: the SDP of one leg of call (leg 0 the
 * caller, 1 the callee), one entry per m= line in SDP order in each list.
 * Creates the session (and its relay ports) on first use.  Answered by
 * SESSION_PORTS, or ERROR (PROTO_ERR_NOPORTS, PROTO_ERR_INVALID).
 *   kinds       enum proto_media_kind
 *   addrs       where that phone wants the stream (c= address)
 *   ports       its RTP port; 0: the stream is refused (no relay)
 *   rtcp_ports  its RTCP port (a=rtcp, else port + 1)
 *   dirs        enum proto_media_dir as that phone sent it
 *   clocks      RTP clock rate of its first payload type (for jitter)
 * and the payload formats of its first audio m= line, one entry per
 * format in SDP order (what a recording decodes that phone's RTP with):
 *   fmt_pts     payload types
 *   fmt_names   their encoding names from a=rtpmap ("PCMA", "AMR-WB";
 *               "PCMU"/"PCMA" for static 0/8 without one)
 *   fmt_octet_align  AMR fmtp octet-align (0 or 1)
 */
#define PROTO_FIELDS_session_update(F, m)				\
	F(m, STR,	call,		1, PROTO_ID_MAX)		\
	F(m, U32,	leg,		0, 1)				\
	F(m, U32V,	kinds,		0, PROTO_STREAMS_MAX)		\
	F(m, STRV,	addrs,		0, PROTO_STREAMS_MAX)		\
	F(m, U32V,	ports,		0, PROTO_STREAMS_MAX)		\
	F(m, U32V,	rtcp_ports,	0, PROTO_STREAMS_MAX)		\
	F(m, U32V,	dirs,		0, PROTO_STREAMS_MAX)		\
	F(m, U32V,	clocks,		0, PROTO_STREAMS_MAX)		\
	F(m, U32V,	fmt_pts,	0, PROTO_FORMATS_MAX)		\
	F(m, STRV,	fmt_names,	0, PROTO_FORMATS_MAX)		\
	F(m, U32V,	fmt_octet_align, 0, PROTO_FORMATS_MAX)

/*
 * SESSION_PORTS — mediad to sipd, the answer to SESSION_UPDATE: per m=
 * line, mediad's RTP port facing the caller (ports_a) and facing the
 * callee (ports_b); RTCP is the next port up.  0: not relayed.
 *   address  as in MEDIA_STATUS
 */
#define PROTO_FIELDS_session_ports(F, m)				\
	F(m, STR,	call,		1, PROTO_ID_MAX)		\
	F(m, STR,	address,	0, 64)				\
	F(m, U32V,	ports_a,	0, PROTO_STREAMS_MAX)		\
	F(m, U32V,	ports_b,	0, PROTO_STREAMS_MAX)

/*
 * SESSION_DELETE — sipd to mediad: the call is over; free its ports (and
 * stop its recording).  Answered by STATS with the session's final
 * figures, or ERROR (PROTO_ERR_NOSESSION).
 *   reason  who ended it, as the journal's by= ("caller", "callee",
 *           "timeout", "admin"), for a recording's sidecar
 */
#define PROTO_FIELDS_session_delete(F, m)				\
	F(m, STR,	call,		1, PROTO_ID_MAX)		\
	F(m, STR,	reason,		0, PROTO_REASON_MAX)

/*
 * STATS_REQ — sipd to mediad: the figures of call, or of every session
 * when call is "".  Answered by STATS.
 */
#define PROTO_FIELDS_stats_req(F, m)					\
	F(m, STR,	call,		0, PROTO_ID_MAX)

/*
 * STATS — mediad to sipd: one row per leg of each relayed stream; every
 * list has one entry per row.
 *   legs      0 caller, 1 callee;  streams: m= line index
 *   pkts_in, bytes_in    RTP received from that phone
 *   pkts_out, bytes_out  RTP sent to that phone
 *   lost      packets from that phone missing by sequence number (RFC 3550 A.3)
 *   jitter_us interarrival jitter of that phone's stream (RFC 3550 A.8), in µs
 *   rr_lost   cumulative loss that phone reported in RTCP (what it misses)
 *   rr_jitter_us  the jitter that phone reported in RTCP, in µs
 *   latched   "addr:port" RTP comes from, "" until latched
 *   kernel    1: that phone's RTP is forwarded in the kernel now
 */
#define PROTO_FIELDS_stats(F, m)					\
	F(m, STRV,	calls,		0, PROTO_ROWS_MAX)		\
	F(m, U32V,	streams,	0, PROTO_ROWS_MAX)		\
	F(m, U32V,	legs,		0, PROTO_ROWS_MAX)		\
	F(m, U32V,	kinds,		0, PROTO_ROWS_MAX)		\
	F(m, U64V,	pkts_in,	0, PROTO_ROWS_MAX)		\
	F(m, U64V,	bytes_in,	0, PROTO_ROWS_MAX)		\
	F(m, U64V,	pkts_out,	0, PROTO_ROWS_MAX)		\
	F(m, U64V,	bytes_out,	0, PROTO_ROWS_MAX)		\
	F(m, U64V,	lost,		0, PROTO_ROWS_MAX)		\
	F(m, U32V,	jitter_us,	0, PROTO_ROWS_MAX)		\
	F(m, U32V,	rr_lost,	0, PROTO_ROWS_MAX)		\
	F(m, U32V,	rr_jitter_us,	0, PROTO_ROWS_MAX)		\
	F(m, STRV,	latched,	0, PROTO_ROWS_MAX)		\
	F(m, U32V,	kernel,		0, PROTO_ROWS_MAX)

/*
 * SESSION_TIMEOUT — mediad to sipd, unasked: no RTP has arrived on any
 * stream of call for idle_ms (at least media.rtp_timeout; never while a
 * stream is on hold).  Sent again every media.rtp_timeout while it lasts.
 */
#define PROTO_FIELDS_session_timeout(F, m)				\
	F(m, STR,	call,		1, PROTO_ID_MAX)		\
	F(m, U32,	idle_ms,	0, UINT32_MAX)

/*
 * ROOM_JOIN — sipd to mediad: participant of room joins with the audio
 * stream its SDP offered, or (same room and participant again) changes it
 * (re-INVITE: hold, resume, a new address or codec).  The first join
 * creates the room; the room goes when its last participant leaves.
 * Answered by ROOM_PORT, or ERROR (PROTO_ERR_NOPORTS, PROTO_ERR_INVALID:
 * a codec mediad cannot mix, a bad address).
 *   call         the participant's Call-ID (SESSION_TIMEOUT names it)
 *   addr, port, rtcp_port   where the phone wants RTP and RTCP
 *   dir          enum proto_media_dir as the phone sent it; a participant
 *                on hold (sendonly, inactive) is not mixed and hears nothing
 *   codec, pt    the payload format sipd chose ("PCMA", "AMR-WB", ...)
 *   octet_align, mode_set   AMR fmtp (mode_set: bit m = mode m; 0 = all)
 *   dtmf_pt      telephone-event payload type, 128 = none
 *   muted        1: the participant is heard by no one (sipctl room mute)
 *   user         who it is (the From user), for a recording's sidecar
 */
#define PROTO_FIELDS_room_join(F, m)					\
	F(m, STR,	room,		1, PROTO_ROOM_MAX)		\
	F(m, U32,	participant,	1, UINT32_MAX)			\
	F(m, STR,	call,		1, PROTO_ID_MAX)		\
	F(m, STR,	addr,		1, 64)				\
	F(m, U32,	port,		0, 65535)			\
	F(m, U32,	rtcp_port,	0, 65535)			\
	F(m, U32,	dir,		0, 3)				\
	F(m, STR,	codec,		1, PROTO_CODEC_MAX)		\
	F(m, U32,	pt,		0, 127)				\
	F(m, U32,	octet_align,	0, 1)				\
	F(m, U32,	mode_set,	0, 0x1ff)			\
	F(m, U32,	dtmf_pt,	0, 128)				\
	F(m, U32,	muted,		0, 1)				\
	F(m, STR,	user,		0, PROTO_ID_MAX)

/*
 * ROOM_PORT — mediad to sipd, the answer to ROOM_JOIN: mediad's RTP port
 * for that participant (RTCP is the next one up).
 *   address  as in MEDIA_STATUS
 */
#define PROTO_FIELDS_room_port(F, m)					\
	F(m, STR,	room,		1, PROTO_ROOM_MAX)		\
	F(m, U32,	participant,	1, UINT32_MAX)			\
	F(m, STR,	address,	0, 64)				\
	F(m, U32,	port,		1, 65535)

/*
 * ROOM_LEAVE — sipd to mediad: the participant has left (BYE, kick,
 * timeout); its ports are freed, and the room with its last participant.
 * Answered by ROOM_STATS with the participant's final row, or ERROR
 * (PROTO_ERR_NOSESSION).
 */
#define PROTO_FIELDS_room_leave(F, m)					\
	F(m, STR,	room,		1, PROTO_ROOM_MAX)		\
	F(m, U32,	participant,	1, UINT32_MAX)

/*
 * ROOM_MUTE — sipd to mediad: muted 1 takes the participant's audio out
 * of the mix (it still hears the others), 0 puts it back.  Answered by
 * ROOM_STATS with the participant's row, or ERROR (PROTO_ERR_NOSESSION).
 */
#define PROTO_FIELDS_room_mute(F, m)					\
	F(m, STR,	room,		1, PROTO_ROOM_MAX)		\
	F(m, U32,	participant,	1, UINT32_MAX)			\
	F(m, U32,	muted,		0, 1)

/*
 * ROOM_STATS_REQ — sipd to mediad: the figures of room, or of every room
 * when room is "".  Answered by ROOM_STATS.
 */
#define PROTO_FIELDS_room_stats_req(F, m)				\
	F(m, STR,	room,		0, PROTO_ROOM_MAX)

/*
 * ROOM_STATS — mediad to sipd: two tables.  Per room (every r_ list one
 * entry per room): its mixing rate (8000, 16000), mixer ticks run, ticks
 * that came late (a 20 ms tick that started more than a tick after it was
 * due: the mixer could not keep up), and how many mixes were encoded in
 * the last tick (one per codec for the listeners who are not talking,
 * plus one per talker).  Per participant (every p_ list one entry per
 * participant):
 *   p_rooms, p_ids   which participant of which room
 *   p_codecs         its codec name
 *   p_pkts_in, p_pkts_out   RTP received from / sent to that phone
 *   p_lost           packets from that phone missing by sequence number
 *   p_concealed      20 ms frames it had none for in time (lost, late)
 *   p_jitter_us      interarrival jitter of its stream (RFC 3550 A.8)
 *   p_muted, p_talking, p_held   0 or 1
 *   p_latched        "addr:port" its RTP comes from, "" until latched
 */
#define PROTO_FIELDS_room_stats(F, m)					\
	F(m, STRV,	r_rooms,	0, PROTO_ROWS_MAX)		\
	F(m, U32V,	r_rates,	0, PROTO_ROWS_MAX)		\
	F(m, U64V,	r_ticks,	0, PROTO_ROWS_MAX)		\
	F(m, U64V,	r_late,		0, PROTO_ROWS_MAX)		\
	F(m, U32V,	r_encodes,	0, PROTO_ROWS_MAX)		\
	F(m, STRV,	p_rooms,	0, PROTO_ROWS_MAX)		\
	F(m, U32V,	p_ids,		0, PROTO_ROWS_MAX)		\
	F(m, STRV,	p_codecs,	0, PROTO_ROWS_MAX)		\
	F(m, U64V,	p_pkts_in,	0, PROTO_ROWS_MAX)		\
	F(m, U64V,	p_pkts_out,	0, PROTO_ROWS_MAX)		\
	F(m, U64V,	p_lost,		0, PROTO_ROWS_MAX)		\
	F(m, U64V,	p_concealed,	0, PROTO_ROWS_MAX)		\
	F(m, U32V,	p_jitter_us,	0, PROTO_ROWS_MAX)		\
	F(m, U32V,	p_muted,	0, PROTO_ROWS_MAX)		\
	F(m, U32V,	p_talking,	0, PROTO_ROWS_MAX)		\
	F(m, U32V,	p_held,		0, PROTO_ROWS_MAX)		\
	F(m, STRV,	p_latched,	0, PROTO_ROWS_MAX)

/*
 * NODE_RESET — sipd to mediad, unanswered: sipd has given up everything it
 * had on this node (it took the node for dead, and the node came back with
 * the same instance), so mediad frees every session and room that sipd
 * made.  Requests sipd sent before it are taken first: a join that was
 * still queued is undone at once.
 *   why  for mediad's log
 */
#define PROTO_FIELDS_node_reset(F, m)					\
	F(m, STR,	why,		0, PROTO_TEXT_MAX)

/*
 * RECORD — sipd to mediad, unanswered but by ERROR (PROTO_ERR_NOSESSION:
 * no such call or room; PROTO_ERR_INVALID): record call or room target
 * from now until it ends (SESSION_DELETE; the room's last participant
 * leaving).  mediad decodes the first audio stream of each leg (a room:
 * each participant), mixes, and feeds recd; what happens to the
 * recording comes back as REC_EVENT.  A second RECORD of the same target
 * changes nothing.
 *   kind          enum proto_rec_kind
 *   target        the call's Call-ID, or the room's name
 *   legs          1: a file per party (caller and callee; a room's p<N>)
 *   mix           1: the mixed file
 *   participants  a call's caller and callee users, for the sidecar
 *                 (a room's come with each ROOM_JOIN)
 */
#define PROTO_FIELDS_record(F, m)					\
	F(m, U32,	kind,		0, 1)				\
	F(m, STR,	target,		1, PROTO_ID_MAX)		\
	F(m, U32,	legs,		0, 1)				\
	F(m, U32,	mix,		0, 1)				\
	F(m, STRV,	participants,	0, PROTO_STREAMS_MAX)

/*
 * REC_EVENT — mediad to sipd, unasked: what became of a recording that
 * RECORD asked for.
 *   kind, target  as in RECORD;  rec  recd's id of it
 *   state    enum proto_rec_state: STARTED (recd opened every file; files
 *            says which), GAP (recd was away longer than mediad keeps
 *            audio: ms of stream were lost and are silence in the file),
 *            DONE (closed; files, ms per file, sidecar), FAILED (reason;
 *            what was written is in files)
 *   stream   GAP: the stream ("mix", "caller", "p3")
 *   gap_ms   GAP: how much
 */
#define PROTO_FIELDS_rec_event(F, m)					\
	F(m, U32,	kind,		0, 1)				\
	F(m, STR,	target,		1, PROTO_ID_MAX)		\
	F(m, STR,	rec,		1, PROTO_ID_MAX)		\
	F(m, U32,	state,		0, 3)				\
	F(m, STRV,	files,		0, PROTO_REC_STREAMS_MAX)	\
	F(m, U64V,	ms,		0, PROTO_REC_STREAMS_MAX)	\
	F(m, STR,	sidecar,	0, PROTO_PATH_MAX)		\
	F(m, STR,	reason,		0, PROTO_TEXT_MAX)		\
	F(m, STR,	stream,		0, PROTO_STREAM_MAX)		\
	F(m, U32,	gap_ms,		0, UINT32_MAX)

/*
 * Recording: mediad to recd and back.  A recording (rec, e.g. a Call-ID
 * or "room-800") has one or more streams, each one WAV file of 16-bit
 * mono PCM at the recording's rate; recd names the files (under
 * recording.dir, see docs/contract.md), mediad never sends a path.
 *
 * Per stream, mediad numbers the 20 ms frames it sends (seq, from 0, one
 * per frame, never skipped) and stamps each with its media timestamp (ts,
 * in samples since the recording's start).  seq says what was sent: recd
 * writes only in seq order, so a frame lost on the way is noticed.  ts
 * says where it goes in the file: a frame ahead of the file's end gets
 * silence before it (hold, late join, loss mediad concealed by sending
 * nothing), a frame behind it is a duplicate and is dropped.  A file's
 * length in samples ("samples") is thus the media time it covers, and
 * everything before it is final.
 *
 * mediad keeps every frame recd has not acknowledged (at least 30 s of
 * them) and frees a frame once an ACK's samples is past its end.  When an
 * ACK says resend, mediad sends again, in order, every frame it keeps
 * whose end is past the ACK's samples; when the first frame it keeps
 * starts later than samples (it had to let frames go), it first sends a
 * REC_GAP for what is missing.  After a recd restart (a new HELLO
 * instance, or ERROR PROTO_ERR_NOSESSION for a REC_FRAMES) mediad sends
 * REC_START again, with the same fields: recd reopens the files where
 * they end and answers with resend ACKs.  Until those ACKs come, mediad
 * sends no REC_FRAMES of that recording: recd takes the sequence number
 * of the first frame after a reopen as it comes.
 */

/*
 * REC_START — mediad to recd: open (or reopen) recording rec.  recd
 * creates YYYY/MM/DD/<HHMMSS>_<id>_<stream>.wav per stream and
 * <HHMMSS>_<id>.json under recording.dir, from start_ms in UTC and rec
 * made filesystem-safe; files of that name that exist (recd restarted, or
 * this is a repeat) are reopened and written on at their end.  Sent again
 * for an open recording with the same start_ms it adds the streams it
 * does not have yet (a room's late joiner) and the participants; with
 * another start_ms the old recording is closed as failed and a new one
 * begins.  Answered by one REC_ACK per stream (resend 1), or by REC_DONE
 * (failed, with the reason) when the files cannot be opened, or ERROR
 * (PROTO_ERR_INVALID: a bad rate or stream name, codecs not one per
 * stream).
 *   kind          enum proto_rec_kind (proto.h)
 *   rate          8000 or 16000, of every stream
 *   start_ms      UTC, ms since 1970, of media timestamp 0
 *   streams       "caller", "callee", "mix", "p<participant>": letters,
 *                 digits, '-'
 *   codecs        one per stream: what the party spoke ("PCMA", "AMR-WB";
 *                 "" for a mix), for the sidecar
 *   participants  who takes part, as sipd names them (users), for the
 *                 sidecar (at most PROTO_REC_STREAMS_MAX)
 *   formats       one per stream, or none (every stream a WAV): enum
 *                 proto_rec_format.  An EVS stream is a file of EVS MIME
 *                 storage frames (<stream>.evs), fed by REC_PAYLOADS
 */
#define PROTO_FIELDS_rec_start(F, m)					\
	F(m, STR,	rec,		1, PROTO_ID_MAX)		\
	F(m, U32,	kind,		0, 1)				\
	F(m, U32,	rate,		8000, 16000)			\
	F(m, U64,	start_ms,	0, UINT64_MAX)			\
	F(m, STRV,	streams,	1, PROTO_REC_STREAMS_MAX)	\
	F(m, STRV,	codecs,		0, PROTO_REC_STREAMS_MAX)	\
	F(m, STRV,	participants,	0, PROTO_REC_STREAMS_MAX)		\
	F(m, U32V,	formats,	0, PROTO_REC_STREAMS_MAX)

/*
 * REC_FRAMES — mediad to recd: consecutive 20 ms frames of one stream,
 * pcm 16-bit little-endian mono samples, a whole number of frames (320
 * bytes a frame at 8000 Hz, 640 at 16000).  Frame i has sequence number
 * seq + i and media timestamp ts + i * samples per frame.  Not answered
 * (recd acknowledges with REC_ACK every half second), except by ERROR:
 * PROTO_ERR_NOSESSION when recd has no such recording open (it
 * restarted: send REC_START again), PROTO_ERR_INVALID for a stream it
 * does not have or a length that is not whole frames.
 */
#define PROTO_FIELDS_rec_frames(F, m)					\
	F(m, STR,	rec,		1, PROTO_ID_MAX)		\
	F(m, STR,	stream,		1, PROTO_STREAM_MAX)		\
	F(m, U32,	seq,		0, UINT32_MAX)			\
	F(m, U64,	ts,		0, UINT64_MAX)			\
	F(m, BYTES,	pcm,		1, PROTO_PCM_MAX)

/*
 * REC_ACK — recd to mediad: what one stream's file holds, in answer to
 * REC_START (with its request id) and unasked (request id 0) every half
 * second while it grows.
 *   seq      the next sequence number recd expects: every frame below it
 *            is written.  0 when recd has written none of this stream
 *            since it (re)opened the file; it then takes the seq of the
 *            next frame that fits
 *   samples  the file's length in samples: the media time it covers
 *   resend   1: recd misses frames after samples (it reopened the file,
 *            or a frame came out of sequence); send every kept frame
 *            whose end is past samples, in order
 *   path     the file's path
 */
#define PROTO_FIELDS_rec_ack(F, m)					\
	F(m, STR,	rec,		1, PROTO_ID_MAX)		\
	F(m, STR,	stream,		1, PROTO_STREAM_MAX)		\
	F(m, U32,	seq,		0, UINT32_MAX)			\
	F(m, U64,	samples,	0, UINT64_MAX)			\
	F(m, U32,	resend,		0, 1)				\
	F(m, STR,	path,		0, PROTO_PATH_MAX)

/*
 * REC_GAP — mediad to recd: the frames of a stream from media timestamp
 * ts, ms long, are lost for good (recd was away longer than mediad keeps
 * frames); the next frame mediad sends has sequence number seq.  recd
 * writes silence up to ts + ms (nothing that the file already covers, so
 * a repeated REC_GAP changes nothing), notes the gap in the sidecar and
 * expects seq next.  Not answered, but by ERROR as for REC_FRAMES.
 */
#define PROTO_FIELDS_rec_gap(F, m)					\
	F(m, STR,	rec,		1, PROTO_ID_MAX)		\
	F(m, STR,	stream,		1, PROTO_STREAM_MAX)		\
	F(m, U32,	seq,		0, UINT32_MAX)			\
	F(m, U64,	ts,		0, UINT64_MAX)			\
	F(m, U32,	ms,		1, UINT32_MAX)

/*
 * REC_STOP — mediad to recd: the recording is over; send it after the
 * last REC_FRAMES (once they are acknowledged, or resent).  recd pads
 * every file with silence to samples (the recording's media length; 0:
 * no padding), closes the files and writes the sidecar's end.  Answered
 * by REC_DONE; again for a recording recd finished lately (a repeated
 * REC_STOP gets the same answer), else ERROR (PROTO_ERR_NOSESSION).
 *   end_ms   UTC, ms since 1970
 *   reason   why, for the sidecar: "hangup", "timeout", "admin", ...
 */
#define PROTO_FIELDS_rec_stop(F, m)					\
	F(m, STR,	rec,		1, PROTO_ID_MAX)		\
	F(m, U64,	end_ms,		0, UINT64_MAX)			\
	F(m, U64,	samples,	0, UINT64_MAX)			\
	F(m, STR,	reason,		0, PROTO_REASON_MAX)

/*
 * REC_DONE — recd to mediad: recording rec is closed, in answer to
 * REC_STOP or REC_START, or unasked (request id 0) when writing failed
 * (a full disk): then recd has closed what it wrote, takes no more frames
 * of it, and mediad should stop sending them.
 *   status   enum proto_rec_status (proto.h)
 *   reason   why it failed, e.g. "120929_c1_mix.wav: No space left on
 *            device"; "" when ok
 *   sidecar  the JSON file's path ("" if none could be written)
 *   files    every WAV's path, in the order of REC_START's streams
 *   ms       the length of each file, in ms
 */
#define PROTO_FIELDS_rec_done(F, m)					\
	F(m, STR,	rec,		1, PROTO_ID_MAX)		\
	F(m, U32,	status,		0, 1)				\
	F(m, STR,	reason,		0, PROTO_TEXT_MAX)		\
	F(m, STR,	sidecar,	0, PROTO_PATH_MAX)		\
	F(m, STRV,	files,		0, PROTO_REC_STREAMS_MAX)	\
	F(m, U64V,	ms,		0, PROTO_REC_STREAMS_MAX)

/*
 * REC_PAYLOADS — mediad to recd: consecutive 20 ms frames of an EVS
 * stream (REC_START format PROTO_REC_EVS), each one EVS storage frame (a
 * ToC byte and its data, common/evs.h) as the phone sent it; as REC_FRAMES
 * otherwise: frame i has sequence number seq + i and media timestamp
 * ts + i * samples per frame at the recording's rate, a frame missing in
 * time is NO_DATA in the file, and the answers are the same.
 *   lens   the bytes of each frame
 *   data   the frames, one after the other
 */
#define PROTO_FIELDS_rec_payloads(F, m)					\
	F(m, STR,	rec,		1, PROTO_ID_MAX)		\
	F(m, STR,	stream,		1, PROTO_STREAM_MAX)		\
	F(m, U32,	seq,		0, UINT32_MAX)			\
	F(m, U64,	ts,		0, UINT64_MAX)			\
	F(m, U32V,	lens,		1, 256)				\
	F(m, BYTES,	data,		1, PROTO_PCM_MAX)

#endif
