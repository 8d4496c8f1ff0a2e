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

/*
 * Retired ids (never reuse): none yet.
 */
#define PROTO_MESSAGES(X)				\
	X(1,	ERROR,		error)			\
	X(16,	ADMIN_REQ,	admin_req)		\
	X(17,	ADMIN_REP,	admin_rep)

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

#endif
