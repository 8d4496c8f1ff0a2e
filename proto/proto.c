/*
 * proto.c — see proto.h.  Encodes and decodes every message of
 * proto_msgs.h from one field table per message, generated from the list;
 * the per-message code here is only what the X-macros expand to.
 *
 * It does not send or receive anything, log, or know what a message means:
 * bounds are checked here, meaning is checked by whoever handles it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "proto/proto.h"

enum proto_kind {
	PROTO_K_U32 = 1,
	PROTO_K_U64 = 2,
	PROTO_K_STR = 3,
	PROTO_K_STRV = 4,
	PROTO_K_BYTES = 5,
	PROTO_K_U32V = 6,
	PROTO_K_U64V = 7
};

#define PROTO_FIELD_HDR	5	/* kind u8 + length u32 */

struct proto_field {
	const char	*name;
	enum proto_kind	 kind;
	size_t		 off;		/* in struct proto_<msg> */
	uint64_t	 min, max;
};

struct proto_desc {
	uint16_t			 type;
	const char			*name;
	const struct proto_field	*fields;
	size_t				 nfields;
};

/* the field table and descriptor of each message */
#define PROTO_FIELD_(m, kind, field, lo, hi)				\
	{ #field, PROTO_K_##kind, offsetof(struct proto_##m, field), (lo), (hi) },
#define PROTO_DESC_(id, NAME, name)					\
	static const struct proto_field proto_fields_##name[] = {	\
		PROTO_FIELDS_##name(PROTO_FIELD_, name)			\
	};								\
	static const struct proto_desc proto_desc_##name = {		\
		id, #NAME, proto_fields_##name,				\
		sizeof(proto_fields_##name) / sizeof(proto_fields_##name[0]) \
	};
PROTO_MESSAGES(PROTO_DESC_)
#undef PROTO_DESC_
#undef PROTO_FIELD_

/* A switch, so that two messages with one id do not compile. */
static const struct proto_desc *
proto_desc_find(uint16_t type)
{
	switch (type) {
#define PROTO_CASE_(id, NAME, name)	case id: return &proto_desc_##name;
	PROTO_MESSAGES(PROTO_CASE_)
#undef PROTO_CASE_
	default:
		return NULL;
	}
}

const char *
proto_type_name(uint16_t type)
{
	const struct proto_desc *d = proto_desc_find(type);

	return d != NULL ? d->name : NULL;
}

/* ---------------------------------------------------------------- encoding */

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t)(v >> 32));
	put_u32(p + 4, (uint32_t)v);
}

static int
in_bounds(const struct proto_field *f, uint64_t v)
{
	return v >= f->min && v <= f->max;
}

/* Checks field f of body and adds its encoded size to *size. */
static int
field_size(const struct proto_field *f, const void *body, size_t *size)
{
	const char *p = (const char *)body + f->off;
	const struct proto_u32v *v32;
	const struct proto_u64v *v64;
	const struct proto_strv *sv;
	const struct proto_bytes *b;
	size_t n = 0, i, l;
	const char *s;

	switch (f->kind) {
	case PROTO_K_U32:
		if (!in_bounds(f, *(const uint32_t *)(const void *)p))
			return EINVAL;
		n = 4;
		break;
	case PROTO_K_U64:
		if (!in_bounds(f, *(const uint64_t *)(const void *)p))
			return EINVAL;
		n = 8;
		break;
	case PROTO_K_STR:
		if ((s = *(char *const *)(const void *)p) == NULL)
			return EINVAL;
		n = strlen(s);
		if (!in_bounds(f, n))
			return EINVAL;
		break;
	case PROTO_K_BYTES:
		b = (const void *)p;
		if (!in_bounds(f, b->len) || (b->len > 0 && b->p == NULL))
			return EINVAL;
		n = b->len;
		break;
	case PROTO_K_U32V:
		v32 = (const void *)p;
		if (!in_bounds(f, v32->n) || (v32->n > 0 && v32->v == NULL))
			return EINVAL;
		if (v32->n > PROTO_BODY_MAX / 4)
			return EMSGSIZE;
		n = 4 + 4 * v32->n;
		break;
	case PROTO_K_U64V:
		v64 = (const void *)p;
		if (!in_bounds(f, v64->n) || (v64->n > 0 && v64->v == NULL))
			return EINVAL;
		if (v64->n > PROTO_BODY_MAX / 8)
			return EMSGSIZE;
		n = 4 + 8 * v64->n;
		break;
	case PROTO_K_STRV:
		sv = (const void *)p;
		if (!in_bounds(f, sv->n) || (sv->n > 0 && sv->v == NULL))
			return EINVAL;
		n = 4;
		for (i = 0; i < sv->n; i++) {
			if (sv->v[i] == NULL)
				return EINVAL;
			if ((l = strlen(sv->v[i])) > PROTO_STRV_ITEM_MAX)
				return EINVAL;
			n += 4 + l;
			if (n > PROTO_BODY_MAX)
				return EMSGSIZE;
		}
		break;
	default:
		return EINVAL;
	}
	if (n > PROTO_BODY_MAX || *size + PROTO_FIELD_HDR + n > PROTO_BODY_MAX)
		return EMSGSIZE;
	*size += PROTO_FIELD_HDR + n;
	return 0;
}

/* Writes field f of body at w (field_size has checked it); returns the end. */
static uint8_t *
field_write(const struct proto_field *f, const void *body, uint8_t *w)
{
	const char *p = (const char *)body + f->off;
	const struct proto_u32v *v32;
	const struct proto_u64v *v64;
	const struct proto_strv *sv;
	const struct proto_bytes *b;
	uint8_t *start = w + PROTO_FIELD_HDR;
	size_t i, l;
	const char *s;

	w = start;
	switch (f->kind) {
	case PROTO_K_U32:
		put_u32(w, *(const uint32_t *)(const void *)p);
		w += 4;
		break;
	case PROTO_K_U64:
		put_u64(w, *(const uint64_t *)(const void *)p);
		w += 8;
		break;
	case PROTO_K_STR:
		s = *(char *const *)(const void *)p;
		l = strlen(s);
		memcpy(w, s, l);
		w += l;
		break;
	case PROTO_K_BYTES:
		b = (const void *)p;
		if (b->len > 0)
			memcpy(w, b->p, b->len);
		w += b->len;
		break;
	case PROTO_K_U32V:
		v32 = (const void *)p;
		put_u32(w, (uint32_t)v32->n);
		w += 4;
		for (i = 0; i < v32->n; i++, w += 4)
			put_u32(w, v32->v[i]);
		break;
	case PROTO_K_U64V:
		v64 = (const void *)p;
		put_u32(w, (uint32_t)v64->n);
		w += 4;
		for (i = 0; i < v64->n; i++, w += 8)
			put_u64(w, v64->v[i]);
		break;
	case PROTO_K_STRV:
		sv = (const void *)p;
		put_u32(w, (uint32_t)sv->n);
		w += 4;
		for (i = 0; i < sv->n; i++) {
			l = strlen(sv->v[i]);
			put_u32(w, (uint32_t)l);
			memcpy(w + 4, sv->v[i], l);
			w += 4 + l;
		}
		break;
	}
	start[-PROTO_FIELD_HDR] = (uint8_t)f->kind;
	put_u32(start - 4, (uint32_t)(w - start));
	return w;
}

int
proto_encode(const struct proto_msg *m, void **bufp, size_t *lenp)
{
	const struct proto_desc *d;
	size_t body = 0, i;
	uint8_t *buf, *w;
	int err;

	if ((d = proto_desc_find(m->type)) == NULL)
		return EINVAL;
	for (i = 0; i < d->nfields; i++)
		if ((err = field_size(&d->fields[i], &m->u, &body)) != 0)
			return err;

	buf = xmalloc(PROTO_HDR_LEN + body);
	put_u32(buf, PROTO_MAGIC);
	put_u16(buf + 4, PROTO_VERSION);
	put_u16(buf + 6, m->type);
	put_u32(buf + 8, m->reqid);
	put_u32(buf + 12, (uint32_t)body);
	w = buf + PROTO_HDR_LEN;
	for (i = 0; i < d->nfields; i++)
		w = field_write(&d->fields[i], &m->u, w);

	*bufp = buf;
	*lenp = PROTO_HDR_LEN + body;
	return 0;
}

/* proto_encode_<name>(reqid, fields..., bufp, lenp) for every message */
#define PROTO_SET_U32(dst, f)	(dst) = (f);
#define PROTO_SET_U64(dst, f)	(dst) = (f);
#define PROTO_SET_STR(dst, f)	(dst) = (char *)(f);
#define PROTO_SET_STRV(dst, f)	(dst).n = f##_n; (dst).v = (char **)(f##_v);
#define PROTO_SET_BYTES(dst, f)	(dst).p = (uint8_t *)(f##_p); (dst).len = f##_len;
#define PROTO_SET_U32V(dst, f)	(dst).n = f##_n; (dst).v = (uint32_t *)(f##_v);
#define PROTO_SET_U64V(dst, f)	(dst).n = f##_n; (dst).v = (uint64_t *)(f##_v);
#define PROTO_ASSIGN_(m, kind, field, lo, hi)	PROTO_SET_##kind(msg.u.m.field, field)
#define PROTO_ENCODE_FN_(id, NAME, name)				\
	int								\
	proto_encode_##name(uint32_t reqid,				\
	    PROTO_FIELDS_##name(PROTO_PARAM_, name)			\
	    void **bufp, size_t *lenp)					\
	{								\
		struct proto_msg msg;					\
									\
		memset(&msg, 0, sizeof(msg));				\
		msg.type = PROTO_##NAME;				\
		msg.reqid = reqid;					\
		PROTO_FIELDS_##name(PROTO_ASSIGN_, name)		\
		return proto_encode(&msg, bufp, lenp);			\
	}
PROTO_MESSAGES(PROTO_ENCODE_FN_)
#undef PROTO_ENCODE_FN_
#undef PROTO_ASSIGN_

/* ---------------------------------------------------------------- decoding */

/* What is left to read; every read checks it first. */
struct proto_rd {
	const uint8_t	*p;
	size_t		 left;
};

static int
get_u8(struct proto_rd *r, uint8_t *v)
{
	if (r->left < 1)
		return EBADMSG;
	*v = r->p[0];
	r->p++;
	r->left--;
	return 0;
}

static int
get_u32(struct proto_rd *r, uint32_t *v)
{
	if (r->left < 4)
		return EBADMSG;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | (uint32_t)r->p[3];
	r->p += 4;
	r->left -= 4;
	return 0;
}

static int
get_u64(struct proto_rd *r, uint64_t *v)
{
	uint32_t hi, lo;

	if (r->left < 8)
		return EBADMSG;
	get_u32(r, &hi);
	get_u32(r, &lo);
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

/* n bytes as a new NUL-terminated string; EBADMSG if they hold a NUL. */
static int
get_str(struct proto_rd *r, size_t n, char **out)
{
	char *s;

	if (n > r->left)
		return EBADMSG;
	if (memchr(r->p, '\0', n) != NULL)
		return EBADMSG;
	s = xmalloc(n + 1);
	memcpy(s, r->p, n);
	s[n] = '\0';
	r->p += n;
	r->left -= n;
	*out = s;
	return 0;
}

/*
 * Decodes field f into body.  What it allocates is stored in body at once,
 * so proto_msg_free releases it whether or not the whole message decodes.
 */
static int
field_read(const struct proto_field *f, void *body, struct proto_rd *r)
{
	char *p = (char *)body + f->off;
	struct proto_u32v *v32;
	struct proto_u64v *v64;
	struct proto_strv *sv;
	struct proto_bytes *b;
	struct proto_rd v;
	uint8_t kind;
	uint32_t len, n32, i;
	uint64_t n64;
	int err;

	if ((err = get_u8(r, &kind)) != 0 || (err = get_u32(r, &len)) != 0)
		return err;
	if (kind != f->kind || len > r->left)
		return EBADMSG;
	v.p = r->p;
	v.left = len;
	r->p += len;
	r->left -= len;

	switch (f->kind) {
	case PROTO_K_U32:
		if (len != 4)
			return EBADMSG;
		get_u32(&v, &n32);
		if (!in_bounds(f, n32))
			return EBADMSG;
		*(uint32_t *)(void *)p = n32;
		break;
	case PROTO_K_U64:
		if (len != 8)
			return EBADMSG;
		get_u64(&v, &n64);
		if (!in_bounds(f, n64))
			return EBADMSG;
		*(uint64_t *)(void *)p = n64;
		break;
	case PROTO_K_STR:
		if (!in_bounds(f, len))
			return EBADMSG;
		if ((err = get_str(&v, len, (char **)(void *)p)) != 0)
			return err;
		break;
	case PROTO_K_BYTES:
		if (!in_bounds(f, len))
			return EBADMSG;
		b = (void *)p;
		b->p = xmalloc(len ? len : 1);
		memcpy(b->p, v.p, len);
		b->len = len;
		v.left = 0;
		break;
	case PROTO_K_U32V:
		v32 = (void *)p;
		if ((err = get_u32(&v, &n32)) != 0)
			return err;
		if (!in_bounds(f, n32) || v.left != (size_t)n32 * 4)
			return EBADMSG;
		v32->v = xcalloc((size_t)n32 + 1, sizeof(*v32->v));
		v32->n = n32;
		for (i = 0; i < n32; i++)
			get_u32(&v, &v32->v[i]);
		break;
	case PROTO_K_U64V:
		v64 = (void *)p;
		if ((err = get_u32(&v, &n32)) != 0)
			return err;
		if (!in_bounds(f, n32) || v.left != (size_t)n32 * 8)
			return EBADMSG;
		v64->v = xcalloc((size_t)n32 + 1, sizeof(*v64->v));
		v64->n = n32;
		for (i = 0; i < n32; i++)
			get_u64(&v, &v64->v[i]);
		break;
	case PROTO_K_STRV:
		sv = (void *)p;
		if ((err = get_u32(&v, &n32)) != 0)
			return err;
		/* each string takes at least its 4-byte length */
		if (!in_bounds(f, n32) || n32 > v.left / 4)
			return EBADMSG;
		sv->v = xcalloc((size_t)n32 + 1, sizeof(*sv->v));
		sv->n = n32;
		for (i = 0; i < n32; i++) {
			if ((err = get_u32(&v, &len)) != 0)
				return err;
			if (len > PROTO_STRV_ITEM_MAX)
				return EBADMSG;
			if ((err = get_str(&v, len, &sv->v[i])) != 0)
				return err;
		}
		break;
	default:
		return EBADMSG;
	}
	/* the value's length must be exactly what it held */
	return v.left == 0 ? 0 : EBADMSG;
}

static uint32_t
rd_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int
proto_header(const void *buf, size_t len, struct proto_hdr *h)
{
	const uint8_t *p = buf;

	if (buf == NULL || len < PROTO_HDR_LEN)
		return EBADMSG;
	h->magic = rd_be32(p);
	if (h->magic != PROTO_MAGIC)
		return EBADMSG;
	h->version = (uint16_t)(p[4] << 8 | p[5]);
	h->type = (uint16_t)(p[6] << 8 | p[7]);
	h->reqid = rd_be32(p + 8);
	h->len = rd_be32(p + 12);
	return 0;
}

int
proto_decode(const void *buf, size_t len, struct proto_msg *m)
{
	const struct proto_desc *d;
	struct proto_hdr h;
	struct proto_rd r;
	size_t i;
	int err;

	memset(m, 0, sizeof(*m));
	if ((err = proto_header(buf, len, &h)) != 0)
		return err;
	if (h.version != PROTO_VERSION && !(h.type == PROTO_ERROR && h.version != 0))
		return EPROTONOSUPPORT;
	if (h.len > PROTO_BODY_MAX)
		return EMSGSIZE;
	if (h.len != len - PROTO_HDR_LEN)
		return EBADMSG;
	if ((d = proto_desc_find(h.type)) == NULL)
		return ENOMSG;

	m->type = h.type;
	m->reqid = h.reqid;
	r.p = (const uint8_t *)buf + PROTO_HDR_LEN;
	r.left = h.len;
	for (i = 0; i < d->nfields; i++)
		if ((err = field_read(&d->fields[i], &m->u, &r)) != 0)
			goto out;
	if (r.left != 0)
		err = EBADMSG;
out:
	if (err != 0)
		proto_msg_free(m);
	return err;
}

void
proto_msg_free(struct proto_msg *m)
{
	const struct proto_desc *d;
	struct proto_strv *sv;
	char *p;
	size_t i, j;

	if ((d = proto_desc_find(m->type)) != NULL) {
		for (i = 0; i < d->nfields; i++) {
			p = (char *)&m->u + d->fields[i].off;
			switch (d->fields[i].kind) {
			case PROTO_K_STR:
				free(*(char **)(void *)p);
				break;
			case PROTO_K_BYTES:
				free(((struct proto_bytes *)(void *)p)->p);
				break;
			case PROTO_K_U32V:
				free(((struct proto_u32v *)(void *)p)->v);
				break;
			case PROTO_K_U64V:
				free(((struct proto_u64v *)(void *)p)->v);
				break;
			case PROTO_K_STRV:
				sv = (void *)p;
				if (sv->v != NULL)
					for (j = 0; j < sv->n; j++)
						free(sv->v[j]);
				free(sv->v);
				break;
			default:
				break;
			}
		}
	}
	memset(m, 0, sizeof(*m));
}

/* ---------------------------------------------------------------- errors, dispatch */

uint32_t
proto_errcode(int err)
{
	switch (err) {
	case EBADMSG:
		return PROTO_ERR_MALFORMED;
	case EPROTONOSUPPORT:
		return PROTO_ERR_VERSION;
	case ENOMSG:
		return PROTO_ERR_TYPE;
	case ENOTSUP:
		return PROTO_ERR_UNEXPECTED;
	case EMSGSIZE:
		return PROTO_ERR_TOOBIG;
	case ENOSPC:
		return PROTO_ERR_NOPORTS;
	case ENOENT:
		return PROTO_ERR_NOSESSION;
	case EINVAL:
		return PROTO_ERR_INVALID;
	default:
		return PROTO_ERR_INTERNAL;
	}
}

const char *
proto_errcode_str(uint32_t code)
{
	switch (code) {
	case PROTO_ERR_MALFORMED:
		return "malformed message";
	case PROTO_ERR_VERSION:
		return "unsupported protocol version";
	case PROTO_ERR_TYPE:
		return "unknown message type";
	case PROTO_ERR_UNEXPECTED:
		return "message not accepted here";
	case PROTO_ERR_TOOBIG:
		return "message too large";
	case PROTO_ERR_INTERNAL:
		return "internal error";
	case PROTO_ERR_NOPORTS:
		return "no free relay ports";
	case PROTO_ERR_NOSESSION:
		return "no such session";
	case PROTO_ERR_INVALID:
		return "invalid request";
	default:
		return "unknown error";
	}
}

int
proto_encode_refusal(const void *buf, size_t len, int err, void **bufp, size_t *lenp)
{
	struct proto_hdr h;
	uint32_t code = proto_errcode(err), reqid = 0;
	const char *name;
	char text[160];
	int have;

	have = proto_header(buf, len, &h) == 0;
	if (have)
		reqid = h.reqid;
	switch (code) {
	case PROTO_ERR_VERSION:
		snprintf(text, sizeof(text), "protocol version %u not supported (this peer speaks %d)",
		    have ? h.version : 0u, PROTO_VERSION);
		break;
	case PROTO_ERR_TYPE:
		snprintf(text, sizeof(text), "unknown message type %u", have ? h.type : 0u);
		break;
	case PROTO_ERR_UNEXPECTED:
		name = have ? proto_type_name(h.type) : NULL;
		snprintf(text, sizeof(text), "message %s not accepted here",
		    name != NULL ? name : "?");
		break;
	case PROTO_ERR_INTERNAL:
		snprintf(text, sizeof(text), "internal error: %s", strerror(err));
		break;
	default:
		snprintf(text, sizeof(text), "%s", proto_errcode_str(code));
		break;
	}
	return proto_encode_error(reqid, code, text, bufp, lenp);
}

int
proto_dispatch(const struct proto_msg *m, const struct proto_handlers *h, void *arg)
{
	switch (m->type) {
#define PROTO_DISPATCH_(id, NAME, name)					\
	case PROTO_##NAME:						\
		return h->name != NULL ? h->name(m->reqid, &m->u.name, arg) : ENOTSUP;
	PROTO_MESSAGES(PROTO_DISPATCH_)
#undef PROTO_DISPATCH_
	default:
		return ENOMSG;
	}
}

int
proto_serve(const void *buf, size_t len, const struct proto_handlers *h, void *arg,
    const char *what, void **bufp, size_t *lenp)
{
	struct proto_msg m;
	int err;

	if ((err = proto_decode(buf, len, &m)) == 0) {
		if (m.type == PROTO_ERROR) {
			log_warnx("%s: a peer sent ERROR %u: %s", what, m.u.error.code,
			    m.u.error.text);
			proto_msg_free(&m);
			return 0;
		}
		err = proto_dispatch(&m, h, arg);
		proto_msg_free(&m);
	}
	return err != 0 && proto_encode_refusal(buf, len, err, bufp, lenp) == 0;
}
