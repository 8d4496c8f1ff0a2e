/*
 * proto.h — Parley's inter-process messages: the structs, the encoder and
 * the decoder of every message listed in proto_msgs.h, and a dispatch
 * helper.  The only header shared between processes.
 *
 * Pure encode/decode on byte buffers: no sockets, no ZeroMQ, no JSON, no
 * daemon header.  One message is one buffer (one ZeroMQ frame).
 *
 * Wire format, all integers big-endian:
 *   header, 16 bytes, the same in every protocol version:
 *     magic u32 "PRLY", version u16, type u16, request id u32, body length u32
 *   body: the message's fields in proto_msgs.h order, each a typed TLV:
 *     kind u8, length u32, value (length bytes)
 *       U32: 4 bytes; U64: 8 bytes; STR, BYTES: the bytes (no NUL);
 *       STRV: count u32, then count times (length u32, bytes).
 *       U32V, U64V: count u32, then count numbers of 4 or 8 bytes.
 *   The body is exactly the fields: nothing may follow the last one.
 *
 * Errors are errno values:
 *   EBADMSG          malformed: bad magic, truncated, a length that lies,
 *                    a wrong field kind, a value out of bounds, trailing bytes
 *   EPROTONOSUPPORT  another protocol version
 *   ENOMSG           unknown message type
 *   EMSGSIZE         body larger than PROTO_BODY_MAX
 *   ENOTSUP          (proto_dispatch) a type the caller has no handler for
 *   EINVAL           (encoders) a field out of its bounds, a NULL string
 * Decoders never read outside buf and never trust a length before checking
 * it against what is left.
 */
#ifndef PARLEY_PROTO_H
#define PARLEY_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto_msgs.h"

#define PROTO_MAGIC	0x50524c59u	/* "PRLY" */
#define PROTO_VERSION	3
#define PROTO_HDR_LEN	16

enum proto_type {
#define PROTO_ENUM_(id, NAME, name)	PROTO_##NAME = id,
	PROTO_MESSAGES(PROTO_ENUM_)
#undef PROTO_ENUM_
};

/* ERROR codes: what went wrong with the refused message */
enum proto_errcode {
	PROTO_ERR_MALFORMED = 1,	/* EBADMSG */
	PROTO_ERR_VERSION = 2,		/* EPROTONOSUPPORT */
	PROTO_ERR_TYPE = 3,		/* ENOMSG: unknown type */
	PROTO_ERR_UNEXPECTED = 4,	/* ENOTSUP: known, but not taken here */
	PROTO_ERR_TOOBIG = 5,		/* EMSGSIZE */
	PROTO_ERR_INTERNAL = 6,		/* anything else */
	PROTO_ERR_NOPORTS = 7,		/* ENOSPC: mediad has no free relay ports */
	PROTO_ERR_NOSESSION = 8,	/* ENOENT: no such session */
	PROTO_ERR_INVALID = 9		/* EINVAL: well-formed, but makes no sense */
};

/* SESSION_UPDATE kinds: the m= line's media */
enum proto_media_kind {
	PROTO_KIND_OTHER = 0,
	PROTO_KIND_AUDIO = 1,
	PROTO_KIND_VIDEO = 2
};

/* SESSION_UPDATE dirs, as the phone wrote them (RFC 4566 6) */
enum proto_media_dir {
	PROTO_DIR_SENDRECV = 0,
	PROTO_DIR_SENDONLY = 1,
	PROTO_DIR_RECVONLY = 2,
	PROTO_DIR_INACTIVE = 3
};

/* ADMIN_REP status */
enum proto_admin_status {
	PROTO_ADMIN_DONE = 0,
	PROTO_ADMIN_REFUSED = 1
};

/* REC_START kinds */
enum proto_rec_kind {
	PROTO_REC_CALL = 0,
	PROTO_REC_ROOM = 1
};

/* REC_START formats: what a stream's file holds */
enum proto_rec_format {
	PROTO_REC_WAV = 0,	/* 16-bit PCM WAV, fed by REC_FRAMES */
	PROTO_REC_EVS = 1	/* EVS storage frames, fed by REC_PAYLOADS */
};

/* REC_EVENT states */
enum proto_rec_state {
	PROTO_RECST_STARTED = 0,
	PROTO_RECST_GAP = 1,
	PROTO_RECST_DONE = 2,
	PROTO_RECST_FAILED = 3
};

/* REC_DONE status */
enum proto_rec_status {
	PROTO_REC_OK = 0,
	PROTO_REC_FAILED = 1
};

/* a decoded STRV: n strings, each NUL-terminated; v[n] is NULL */
struct proto_strv {
	size_t	  n;
	char	**v;
};

struct proto_bytes {
	size_t	 len;
	uint8_t	*p;
};

/* decoded U32V / U64V: n numbers */
struct proto_u32v {
	size_t	  n;
	uint32_t *v;
};

struct proto_u64v {
	size_t	  n;
	uint64_t *v;
};

/* one struct per message: struct proto_error, struct proto_admin_req, ... */
#define PROTO_CTYPE_U32		uint32_t
#define PROTO_CTYPE_U64		uint64_t
#define PROTO_CTYPE_STR		char *
#define PROTO_CTYPE_STRV	struct proto_strv
#define PROTO_CTYPE_BYTES	struct proto_bytes
#define PROTO_CTYPE_U32V	struct proto_u32v
#define PROTO_CTYPE_U64V	struct proto_u64v
#define PROTO_FIELD_DECL_(m, kind, field, min, max)	PROTO_CTYPE_##kind field;
#define PROTO_STRUCT_(id, NAME, name)					\
	struct proto_##name {						\
		PROTO_FIELDS_##name(PROTO_FIELD_DECL_, name)		\
	};
PROTO_MESSAGES(PROTO_STRUCT_)
#undef PROTO_STRUCT_
#undef PROTO_FIELD_DECL_

/* any message; u.<name> is the one type names */
struct proto_msg {
	uint16_t	type;		/* enum proto_type */
	uint32_t	reqid;
	union {
#define PROTO_MEMBER_(id, NAME, name)	struct proto_##name name;
		PROTO_MESSAGES(PROTO_MEMBER_)
#undef PROTO_MEMBER_
	} u;
};

/* the fixed header, as read by proto_header */
struct proto_hdr {
	uint32_t	magic;
	uint16_t	version;
	uint16_t	type;
	uint32_t	reqid;
	uint32_t	len;		/* of the body */
};

/*
 * Encodes m into a new buffer (free(3) it) of *lenp bytes.  The strings of
 * m stay the caller's.  0, EINVAL (a field out of bounds, a NULL string,
 * an unknown type) or EMSGSIZE.  *bufp is set only on success.
 */
int	 proto_encode(const struct proto_msg *m, void **bufp, size_t *lenp);

/*
 * The same, one function per message with its fields as arguments:
 *   proto_encode_<name>(reqid, fields..., bufp, lenp)
 * a STRV field is two arguments (count, strings), BYTES two (pointer,
 * length), U32V and U64V two (count, numbers).  For example:
 *   int proto_encode_error(uint32_t reqid, uint32_t code, const char *text,
 *           void **bufp, size_t *lenp);
 *   int proto_encode_admin_req(uint32_t reqid, size_t argv_n,
 *           const char *const *argv_v, void **bufp, size_t *lenp);
 */
#define PROTO_PTYPE_U32(f)	uint32_t f,
#define PROTO_PTYPE_U64(f)	uint64_t f,
#define PROTO_PTYPE_STR(f)	const char *f,
#define PROTO_PTYPE_STRV(f)	size_t f##_n, const char *const *f##_v,
#define PROTO_PTYPE_BYTES(f)	const void *f##_p, size_t f##_len,
#define PROTO_PTYPE_U32V(f)	size_t f##_n, const uint32_t *f##_v,
#define PROTO_PTYPE_U64V(f)	size_t f##_n, const uint64_t *f##_v,
#define PROTO_PARAM_(m, kind, field, min, max)	PROTO_PTYPE_##kind(field)
#define PROTO_ENCODE_PROTO_(id, NAME, name)				\
	int proto_encode_##name(uint32_t reqid,				\
	    PROTO_FIELDS_##name(PROTO_PARAM_, name)			\
	    void **bufp, size_t *lenp);
PROTO_MESSAGES(PROTO_ENCODE_PROTO_)
#undef PROTO_ENCODE_PROTO_

/*
 * Decodes the message in buf[0..len) into *m, copying every string and
 * list (release them with proto_msg_free).  0 or an error above; on error
 * *m is all zero and holds nothing.  An ERROR message is taken whatever
 * its header's version, so a peer always learns why it was refused.
 */
int	 proto_decode(const void *buf, size_t len, struct proto_msg *m);

/* Frees what proto_decode put in m (not m itself) and zeroes it. */
void	 proto_msg_free(struct proto_msg *m);

/*
 * Reads the fixed header only: 0 if buf holds PROTO_HDR_LEN bytes starting
 * with the magic, else EBADMSG.  Checks nothing else (use it to learn the
 * request id of a message proto_decode refused).
 */
int	 proto_header(const void *buf, size_t len, struct proto_hdr *h);

/* "ADMIN_REQ" for PROTO_ADMIN_REQ; NULL for an unknown type. */
const char *proto_type_name(uint16_t type);

/* The ERROR code for an errno value from proto_decode or proto_dispatch. */
uint32_t proto_errcode(int err);
/* A short text for an ERROR code ("malformed message", ...). */
const char *proto_errcode_str(uint32_t code);

/*
 * The ERROR to answer a message proto_decode or proto_dispatch refused
 * with err: the refused message's request id if its header can be read,
 * the code for err, and a text naming the problem.  Same contract as
 * proto_encode.
 */
int	 proto_encode_refusal(const void *buf, size_t len, int err, void **bufp,
	    size_t *lenp);

/*
 * One handler per message; NULL where the caller takes no such message.
 * A handler's return value is returned by proto_dispatch.
 */
struct proto_handlers {
#define PROTO_HANDLER_(id, NAME, name)					\
	int (*name)(uint32_t reqid, const struct proto_##name *msg, void *arg);
	PROTO_MESSAGES(PROTO_HANDLER_)
#undef PROTO_HANDLER_
};

/*
 * Calls the handler for m's type with its body and arg.  ENOTSUP if that
 * handler is NULL, ENOMSG for an unknown type, else what the handler
 * returned.
 */
int	 proto_dispatch(const struct proto_msg *m, const struct proto_handlers *h,
	    void *arg);

/*
 * One message as a daemon's control socket takes it: decoded and handed
 * to h with arg; an ERROR a peer sent is logged (prefixed with what) and
 * not answered.  Returns 1 with *bufp (malloc'd) the ERROR to answer when
 * the message was refused (malformed, unknown, not taken, or a handler's
 * errno), else 0.
 */
int	 proto_serve(const void *buf, size_t len, const struct proto_handlers *h, void *arg,
	    const char *what, void **bufp, size_t *lenp);

#endif
