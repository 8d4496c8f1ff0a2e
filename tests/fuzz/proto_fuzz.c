/*
 * proto_fuzz.c — the proto decoders as a fuzz target.  Every input goes
 * through proto_decode; then, when it decodes:
 *   - it encodes again to exactly the input bytes (an ERROR of another
 *     version excepted: it is taken, and comes back with ours), so each
 *     message has one spelling and the encoder takes whatever the decoder
 *     gives;
 *   - every field is within its proto_msgs.h bounds, and every string and
 *     list is as long as it says (each is walked, so ASan checks sizes);
 *   - proto_dispatch calls the handler of its type, or says ENOTSUP when
 *     there is none;
 * and when it does not:
 *   - the error is one proto.h lists for proto_decode, and the message is
 *     all zero;
 *   - proto_encode_refusal makes an ERROR that decodes, with the code for
 *     that error and the refused message's request id (0 if its header
 *     cannot be read).
 * A broken promise is a line on stderr and abort().  Leaks are found by
 * the driver's LeakSanitizer; everything decoded is freed here.
 *
 * It also gives both drivers (libFuzzer, standalone.c) what they need to
 * know of the wire format: the seed corpus, each message of proto_msgs.h
 * filled from its fields' bounds three ways (all at their minimum, at
 * their maximum within small caps, half way) and encoded; and a mutation
 * that resizes a field to a bound of it (proto_fuzz_mutate; libFuzzer
 * calls it through LLVMFuzzerCustomMutator when built with
 * PROTO_FUZZ_LIBFUZZER).  Reading files and running inputs are the
 * drivers' part.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "tests/fuzz/proto_fuzz.h"

/* ---------------------------------------------------------------- checks */

static void fuzz_fail(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

static void
fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("proto_fuzz: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

static volatile uint8_t fuzz_sink;

/* reads every byte, so that ASan says so if fewer were allocated */
static void
touch(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t x = 0;
	size_t i;

	for (i = 0; i < n; i++)
		x ^= b[i];
	fuzz_sink = x;
}

static void
check_bounds(uint64_t v, uint64_t lo, uint64_t hi, const char *field)
{
	if (v < lo || v > hi)
		fuzz_fail("%s: %llu outside [%llu, %llu]", field, (unsigned long long)v,
		    (unsigned long long)lo, (unsigned long long)hi);
}

/*
 * One check per field kind, named after it for the X-macro below; unused
 * is for a kind no message has yet.
 */
#define FUZZ_KIND_FN	static __attribute__((unused))

FUZZ_KIND_FN void
check_U32(const uint32_t *v, uint64_t lo, uint64_t hi, const char *field)
{
	check_bounds(*v, lo, hi, field);
}

FUZZ_KIND_FN void
check_U64(const uint64_t *v, uint64_t lo, uint64_t hi, const char *field)
{
	check_bounds(*v, lo, hi, field);
}

FUZZ_KIND_FN void
check_STR(char *const *s, uint64_t lo, uint64_t hi, const char *field)
{
	if (*s == NULL)
		fuzz_fail("%s: NULL", field);
	check_bounds(strlen(*s), lo, hi, field);
}

FUZZ_KIND_FN void
check_STRV(const struct proto_strv *sv, uint64_t lo, uint64_t hi, const char *field)
{
	size_t i;

	check_bounds(sv->n, lo, hi, field);
	if (sv->v == NULL || sv->v[sv->n] != NULL)
		fuzz_fail("%s: no array, or not NULL-terminated", field);
	for (i = 0; i < sv->n; i++) {
		if (sv->v[i] == NULL)
			fuzz_fail("%s[%zu]: NULL", field, i);
		check_bounds(strlen(sv->v[i]), 0, PROTO_STRV_ITEM_MAX, field);
	}
}

FUZZ_KIND_FN void
check_BYTES(const struct proto_bytes *b, uint64_t lo, uint64_t hi, const char *field)
{
	check_bounds(b->len, lo, hi, field);
	if (b->p == NULL)
		fuzz_fail("%s: NULL", field);
	touch(b->p, b->len);
}

FUZZ_KIND_FN void
check_U32V(const struct proto_u32v *l, uint64_t lo, uint64_t hi, const char *field)
{
	check_bounds(l->n, lo, hi, field);
	if (l->v == NULL)
		fuzz_fail("%s: NULL", field);
	touch(l->v, l->n * sizeof(*l->v));
}

FUZZ_KIND_FN void
check_U64V(const struct proto_u64v *l, uint64_t lo, uint64_t hi, const char *field)
{
	check_bounds(l->n, lo, hi, field);
	if (l->v == NULL)
		fuzz_fail("%s: NULL", field);
	touch(l->v, l->n * sizeof(*l->v));
}

/* a handler per message: checks every field, says which type it saw */
#define FUZZ_CHECK_(m, kind, field, lo, hi)				\
	check_##kind(&msg->field, (lo), (hi), #m "." #field);
#define FUZZ_HANDLER_(id, NAME, name)					\
	static int							\
	on_##name(uint32_t reqid, const struct proto_##name *msg, void *arg) \
	{								\
		PROTO_FIELDS_##name(FUZZ_CHECK_, name)			\
		*(uint16_t *)arg = PROTO_##NAME;			\
		return 0;						\
	}
PROTO_MESSAGES(FUZZ_HANDLER_)
#undef FUZZ_HANDLER_
#undef FUZZ_CHECK_

static const struct proto_handlers fuzz_handlers = {
#define FUZZ_ENTRY_(id, NAME, name)	.name = on_##name,
	PROTO_MESSAGES(FUZZ_ENTRY_)
#undef FUZZ_ENTRY_
};
static const struct proto_handlers fuzz_no_handlers;
static const struct proto_msg fuzz_zero_msg;

static unsigned
version_of(const uint8_t *hdr)
{
	return (unsigned)hdr[4] << 8 | hdr[5];
}

static void
check_decoded(const uint8_t *data, size_t size, const struct proto_msg *m)
{
	const char *name = proto_type_name(m->type);
	uint16_t seen = 0;
	uint8_t *re;
	size_t relen;
	int err;

	if (name == NULL)
		fuzz_fail("decoded a message of unknown type %u", m->type);
	if ((err = proto_encode(m, (void **)&re, &relen)) != 0)
		fuzz_fail("%s decodes but does not encode: %s", name, strerror(err));
	/* the same bytes but for the version, checked on its own */
	if (relen != size || memcmp(re, data, 4) != 0 || memcmp(re + 6, data + 6, size - 6) != 0)
		fuzz_fail("%s of %zu bytes encodes again to %zu other bytes", name, size, relen);
	if (version_of(re) != PROTO_VERSION)
		fuzz_fail("%s encoded as version %u", name, version_of(re));
	if (version_of(data) != PROTO_VERSION && m->type != PROTO_ERROR)
		fuzz_fail("%s of version %u taken", name, version_of(data));
	free(re);

	if ((err = proto_dispatch(m, &fuzz_handlers, &seen)) != 0 || seen != m->type)
		fuzz_fail("%s dispatched: %d, to the handler of type %u", name, err, seen);
	if ((err = proto_dispatch(m, &fuzz_no_handlers, NULL)) != ENOTSUP)
		fuzz_fail("%s dispatched without a handler: %d", name, err);
}

static void
check_refused(const uint8_t *data, size_t size, int err, const struct proto_msg *m)
{
	struct proto_msg e;
	struct proto_hdr h;
	uint32_t reqid = 0;
	size_t relen;
	void *re;
	int rerr;

	if (err != EBADMSG && err != EPROTONOSUPPORT && err != ENOMSG && err != EMSGSIZE)
		fuzz_fail("proto_decode: %s, not an error proto.h lists", strerror(err));
	if (memcmp(m, &fuzz_zero_msg, sizeof(*m)) != 0)
		fuzz_fail("refused (%s), but the message is not all zero", strerror(err));
	if (proto_header(data, size, &h) == 0)
		reqid = h.reqid;

	if ((rerr = proto_encode_refusal(data, size, err, &re, &relen)) != 0)
		fuzz_fail("no refusal for %s: %s", strerror(err), strerror(rerr));
	if ((rerr = proto_decode(re, relen, &e)) != 0)
		fuzz_fail("the refusal of %s does not decode: %s", strerror(err), strerror(rerr));
	if (e.type != PROTO_ERROR || e.reqid != reqid || e.u.error.code != proto_errcode(err))
		fuzz_fail("the refusal of %s: type %u, request id %u (not %u), code %u",
		    strerror(err), e.type, e.reqid, reqid, e.u.error.code);
	proto_msg_free(&e);
	free(re);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_msg m;
	int err;

	if ((err = proto_decode(data, size, &m)) == 0) {
		check_decoded(data, size, &m);
		proto_msg_free(&m);
	} else
		check_refused(data, size, err, &m);
	return 0;
}

/* ---------------------------------------------------------------- mutation */

/* field kinds as on the wire (proto.c's enum proto_kind) */
enum { W_U32 = 1, W_U64 = 2, W_STR = 3, W_STRV = 4, W_BYTES = 5, W_U32V = 6, W_U64V = 7 };

#define MUT_MAXFIELDS	32

struct mut_bounds {
	uint64_t	lo, hi;
};

/* each message's field bounds, in wire order, from proto_msgs.h */
#define MUT_BOUND_(m, kind, field, lo, hi)	{ (lo), (hi) },
#define MUT_TABLE_(id, NAME, name)					\
	static const struct mut_bounds mut_bounds_##name[] = {		\
		PROTO_FIELDS_##name(MUT_BOUND_, name)			\
	};
PROTO_MESSAGES(MUT_TABLE_)
#undef MUT_TABLE_
#undef MUT_BOUND_

static const struct mut_bounds *
mut_bounds_of(uint16_t type, size_t *n)
{
	switch (type) {
#define MUT_CASE_(id, NAME, name)					\
	case id:							\
		*n = sizeof(mut_bounds_##name) / sizeof(mut_bounds_##name[0]); \
		return mut_bounds_##name;
	PROTO_MESSAGES(MUT_CASE_)
#undef MUT_CASE_
	default:
		*n = 0;
		return NULL;
	}
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
mut_rng(uint64_t *st)
{
	*st ^= *st >> 12;
	*st ^= *st << 25;
	*st ^= *st >> 27;
	return (uint32_t)((*st * UINT64_C(0x2545f4914f6cdd1d)) >> 32);
}

/* a new count or length near cur or a bound: at lo, hi, one past either */
static uint64_t
mut_target(uint64_t cur, const struct mut_bounds *b, uint64_t *st)
{
	switch (mut_rng(st) % 6) {
	case 0:
		return cur + 1;
	case 1:
		return cur > 0 ? cur - 1 : 0;
	case 2:
		return b->lo;
	case 3:
		return b->lo > 0 ? b->lo - 1 : 0;
	case 4:
		return b->hi;
	default:
		return b->hi < UINT64_MAX ? b->hi + 1 : b->hi;
	}
}

/* makes the n bytes at at n2 long, new bytes fill; 0 if they do not fit max */
static int
mut_resize(uint8_t *data, size_t *size, size_t max, size_t at, size_t n, uint64_t n2, uint8_t fill)
{
	if (n2 > max || *size - n > max - n2)
		return 0;
	memmove(data + at + n2, data + at + n, *size - at - n);
	if (n2 > n)
		memset(data + at + n, fill, n2 - n);
	*size = *size - n + n2;
	return 1;
}

size_t
proto_fuzz_mutate(uint8_t *data, size_t size, size_t max, uint32_t seed)
{
	static const struct mut_bounds item = { 0, PROTO_STRV_ITEM_MAX };
	size_t fields[MUT_MAXFIELDS], nf = 0, nb, at, f, len, i, e;
	const struct mut_bounds *bounds, *b;
	struct mut_bounds any = { 0, UINT32_MAX };
	uint64_t st = (uint64_t)seed << 1 | 1, c, c2, v;
	size_t before = size;
	uint16_t type;

	if (size < PROTO_HDR_LEN || rd32(data) != PROTO_MAGIC)
		return 0;
	type = (uint16_t)(data[6] << 8 | data[7]);
	bounds = mut_bounds_of(type, &nb);
	for (at = PROTO_HDR_LEN; nf < MUT_MAXFIELDS && size - at >= 5; at += 5 + len) {
		if ((len = rd32(data + at + 1)) > size - at - 5)
			break;
		fields[nf++] = at;
	}
	if (nf == 0)
		return 0;
	i = mut_rng(&st) % nf;
	f = fields[i];
	b = i < nb ? &bounds[i] : &any;
	len = rd32(data + f + 1);
	at = f + 5;	/* the value */

	switch (data[f]) {
	case W_U32:
	case W_U64:
		if (len != 4 && len != 8)
			return 0;
		v = rd32(data + at);
		if (len == 8)
			v = v << 32 | rd32(data + at + 4);
		v = mut_target(v, b, &st);
		if (len == 8) {
			wr32(data + at, (uint32_t)(v >> 32));
			at += 4;
		}
		wr32(data + at, (uint32_t)v);
		break;
	case W_STR:
	case W_BYTES:
		if (!mut_resize(data, &size, max, at, len, mut_target(len, b, &st), 'a'))
			return 0;
		break;
	case W_U32V:
	case W_U64V:
		e = data[f] == W_U32V ? 4 : 8;
		if (len < 4)
			return 0;
		c2 = mut_target(rd32(data + at), b, &st);
		if (c2 > UINT32_MAX || c2 > max / e ||
		    !mut_resize(data, &size, max, at + 4, len - 4, c2 * e, 0xa5))
			return 0;
		wr32(data + at, (uint32_t)c2);
		break;
	case W_STRV:
		if (len < 4)
			return 0;
		c = rd32(data + at);
		if (mut_rng(&st) % 2 == 0) {
			/* a count near a bound: empty items added, or items dropped */
			c2 = mut_target(c, b, &st);
			if (c2 > UINT32_MAX || c2 > max / 4)
				return 0;
			if (c2 >= c) {
				if (!mut_resize(data, &size, max, at + len, 0, (c2 - c) * 4, 0))
					return 0;
			} else {
				/* cut after item c2, if the items can be walked that far */
				size_t p = at + 4, k;

				for (k = 0; k < c2 && p + 4 <= at + len; k++)
					p += 4 + rd32(data + p);
				if (k < c2 || p > at + len ||
				    !mut_resize(data, &size, max, p, at + len - p, 0, 0))
					return 0;
			}
			wr32(data + at, (uint32_t)c2);
		} else {
			/* the first item, at or past its length bound */
			size_t il;

			if (c == 0 || len < 8 || (il = rd32(data + at + 4)) > len - 8)
				return 0;
			v = mut_target(il, &item, &st);
			if (!mut_resize(data, &size, max, at + 8, il, v, 'b'))
				return 0;
			wr32(data + at + 4, (uint32_t)v);
		}
		break;
	default:
		return 0;
	}
	/* the field's and the body's lengths: what they now hold */
	if (len + size - before > UINT32_MAX)
		return 0;
	wr32(data + f + 1, (uint32_t)(len + size - before));
	wr32(data + 12, (uint32_t)(size - PROTO_HDR_LEN));
	return size;
}

#ifdef PROTO_FUZZ_LIBFUZZER
/* libFuzzer's: its own mutations, and the hook that replaces them */
size_t	 LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);
size_t	 LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed);

/* half the time a field resized at a bound, else libFuzzer's byte mutations */
size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed)
{
	size_t n;

	if (seed % 2 == 0 && (n = proto_fuzz_mutate(data, size, max, seed / 2)) > 0)
		return n;
	return LLVMFuzzerMutate(data, size, max);
}
#endif

/* ---------------------------------------------------------------- seeds */

#define SEED_VARIANTS	3	/* at the minimum, near the maximum, half way */
#define SEED_STR_MAX	24	/* the longest string a seed asks for... */
#define SEED_LIST_MAX	4	/* ...and list, unless a minimum is higher */
#define SEED_POOL	PROTO_STRV_ITEM_MAX

/* what seed strings and lists point into: only read */
static char seed_pool[SEED_POOL + 1];
static const char *const seed_strv[SEED_LIST_MAX] = { "c1", "", "127.0.0.1:4000",
	"Obsadené ☎" };
static const uint32_t seed_u32[SEED_LIST_MAX] = { 0, 1, 8000, UINT32_MAX };
static const uint64_t seed_u64[SEED_LIST_MAX] = { 0, 1, UINT64_C(1) << 40, UINT64_MAX };

/* a value or length in [lo, hi] for the variant; hi capped at cap (not below lo) */
static uint64_t
seed_pick(uint64_t lo, uint64_t hi, uint64_t cap, int variant)
{
	if (hi > cap)
		hi = cap > lo ? cap : lo;
	switch (variant) {
	case 0:
		return lo;
	case 1:
		return hi;
	default:
		return lo + (hi - lo) / 2;
	}
}

/* one filler per field kind, named after it for the X-macro below */
FUZZ_KIND_FN int
seed_U32(uint32_t *v, uint64_t lo, uint64_t hi, int variant)
{
	*v = (uint32_t)seed_pick(lo, hi, UINT32_MAX, variant);
	return 0;
}

FUZZ_KIND_FN int
seed_U64(uint64_t *v, uint64_t lo, uint64_t hi, int variant)
{
	*v = seed_pick(lo, hi, UINT64_MAX, variant);
	return 0;
}

/* a string's length or a list's count for the variant, in *n; EINVAL if the pools are too short */
static int
seed_size(uint64_t lo, uint64_t hi, uint64_t cap, uint64_t pool, int variant, size_t *n)
{
	uint64_t v = seed_pick(lo, hi, cap, variant);

	*n = v <= pool ? (size_t)v : 0;
	return v <= pool ? 0 : EINVAL;
}

FUZZ_KIND_FN int
seed_STR(char **s, uint64_t lo, uint64_t hi, int variant)
{
	size_t n;
	int err = seed_size(lo, hi, SEED_STR_MAX, SEED_POOL, variant, &n);

	*s = seed_pool + SEED_POOL - n;
	return err;
}

FUZZ_KIND_FN int
seed_BYTES(struct proto_bytes *b, uint64_t lo, uint64_t hi, int variant)
{
	b->p = (uint8_t *)seed_pool;
	return seed_size(lo, hi, SEED_STR_MAX, SEED_POOL, variant, &b->len);
}

FUZZ_KIND_FN int
seed_STRV(struct proto_strv *sv, uint64_t lo, uint64_t hi, int variant)
{
	sv->v = (char **)seed_strv;
	return seed_size(lo, hi, SEED_LIST_MAX, SEED_LIST_MAX, variant, &sv->n);
}

FUZZ_KIND_FN int
seed_U32V(struct proto_u32v *l, uint64_t lo, uint64_t hi, int variant)
{
	l->v = (uint32_t *)seed_u32;
	return seed_size(lo, hi, SEED_LIST_MAX, SEED_LIST_MAX, variant, &l->n);
}

FUZZ_KIND_FN int
seed_U64V(struct proto_u64v *l, uint64_t lo, uint64_t hi, int variant)
{
	l->v = (uint64_t *)seed_u64;
	return seed_size(lo, hi, SEED_LIST_MAX, SEED_LIST_MAX, variant, &l->n);
}

/* seed_<name>(msg, variant) fills msg as message <name> */
#define SEED_FIELD_(m, kind, field, lo, hi)				\
	if (err == 0)							\
		err = seed_##kind(&msg->u.m.field, (lo), (hi), variant);
#define SEED_MSG_(id, NAME, name)					\
	static int							\
	seed_##name(struct proto_msg *msg, int variant)			\
	{								\
		int err = 0;						\
									\
		msg->type = PROTO_##NAME;				\
		PROTO_FIELDS_##name(SEED_FIELD_, name)			\
		return err;						\
	}
PROTO_MESSAGES(SEED_MSG_)
#undef SEED_MSG_
#undef SEED_FIELD_

static int (*const seed_makers[])(struct proto_msg *, int) = {
#define SEED_ENTRY_(id, NAME, name)	seed_##name,
	PROTO_MESSAGES(SEED_ENTRY_)
#undef SEED_ENTRY_
};
#define SEED_NMAKERS	(sizeof(seed_makers) / sizeof(seed_makers[0]))

size_t
proto_fuzz_nseeds(void)
{
	return SEED_NMAKERS * SEED_VARIANTS;
}

int
proto_fuzz_seed(size_t i, void **bufp, size_t *lenp)
{
	static const char text[] = "sip:1001@pbx.test;tag=8d1e ";
	struct proto_msg msg;
	size_t j;
	int err;

	if (i >= proto_fuzz_nseeds())
		return EINVAL;
	if (seed_pool[0] == '\0')
		for (j = 0; j < SEED_POOL; j++)
			seed_pool[j] = text[j % (sizeof(text) - 1)];
	memset(&msg, 0, sizeof(msg));
	msg.reqid = (uint32_t)i;
	if ((err = seed_makers[i / SEED_VARIANTS](&msg, (int)(i % SEED_VARIANTS))) != 0)
		return err;
	return proto_encode(&msg, bufp, lenp);
}
