/*
 * proto_test.c — unit tests of proto/: an encode→decode round trip for
 * every message of proto_msgs.h (a message without a sample here does not
 * compile), the rejection of every kind of bad buffer (truncated at every
 * length, wrong magic, other version, unknown type, lying lengths, strings
 * longer than the buffer, empty argv, wrong field kinds, trailing bytes),
 * the U32V/U64V/STRV lists at and past PROTO_STREAMS_MAX and PROTO_ROWS_MAX
 * in encoders and decoders, lists whose count and length disagree, empty
 * lists, every ERROR code, dispatch, and a fuzz loop of random and mutated
 * buffers that must never crash (run it under ASan: --enable-sanitizers;
 * tests/fuzz/ has the coverage-guided fuzz target).
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "common/log.h"
#include "proto/proto.h"

/* ---------------------------------------------------------------- helpers */

/* a small deterministic PRNG (xorshift64*), so failures reproduce */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void
be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* hand-made buffers: a header, then fields appended one by one */
struct craft {
	uint8_t	b[1024];
	size_t	len;
};

static void
craft_hdr(struct craft *c, uint32_t magic, uint16_t version, uint16_t type, uint32_t reqid)
{
	be32(c->b, magic);
	be16(c->b + 4, version);
	be16(c->b + 6, type);
	be32(c->b + 8, reqid);
	be32(c->b + 12, 0);
	c->len = PROTO_HDR_LEN;
}

static void
craft_raw(struct craft *c, const void *p, size_t n)
{
	ck_assert(c->len + n <= sizeof(c->b));
	memcpy(c->b + c->len, p, n);
	c->len += n;
}

static void
craft_u8(struct craft *c, uint8_t v)
{
	craft_raw(c, &v, 1);
}

static void
craft_u32(struct craft *c, uint32_t v)
{
	uint8_t b[4];

	be32(b, v);
	craft_raw(c, b, 4);
}

/* kinds as on the wire (proto.c): U32 1, STR 3, STRV 4 */
static void
craft_field_u32(struct craft *c, uint32_t v)
{
	craft_u8(c, 1);
	craft_u32(c, 4);
	craft_u32(c, v);
}

static void
craft_field_str(struct craft *c, const char *s, size_t n)
{
	craft_u8(c, 3);
	craft_u32(c, (uint32_t)n);
	craft_raw(c, s, n);
}

/*
 * A list field (kind 6 U32V, 7 U64V, 4 STRV) that says it has says items
 * and holds has items of size bytes, all zero (for a STRV, size 4: empty
 * strings).
 */
static void
craft_list(struct craft *c, uint8_t kind, uint32_t says, uint32_t has, size_t size)
{
	size_t i;

	craft_u8(c, kind);
	craft_u32(c, (uint32_t)(4 + has * size));
	craft_u32(c, says);
	for (i = 0; i < has * size; i++)
		craft_u8(c, 0);
}

/* sets the header's body length to what follows it */
static void
craft_seal(struct craft *c)
{
	be32(c->b + 12, (uint32_t)(c->len - PROTO_HDR_LEN));
}

static int
decode_and_free(const void *buf, size_t len)
{
	struct proto_msg m;
	int err;

	err = proto_decode(buf, len, &m);
	proto_msg_free(&m);
	return err;
}

/* ---------------------------------------------------------------- samples */

/*
 * One sample per message, filled with awkward but valid values; the
 * PROTO_MESSAGES expansions below need a sample_<name> for each.
 */
static const char *const sample_argv[] = { "call", "hangup", "", "65418859@192.168.2.159",
	"Obsadené ☎" };

static void
sample_error(struct proto_msg *m)
{
	m->u.error.code = PROTO_ERR_VERSION;
	m->u.error.text = (char *)"protocol version 9 not supported";
}

static void
sample_admin_req(struct proto_msg *m)
{
	m->u.admin_req.argv.n = sizeof(sample_argv) / sizeof(sample_argv[0]);
	m->u.admin_req.argv.v = (char **)sample_argv;
}

static void
sample_admin_rep(struct proto_msg *m)
{
	m->u.admin_rep.status = PROTO_ADMIN_REFUSED;
	m->u.admin_rep.body = (char *)"{\"error\": \"no such call: x\"}";
}

static void
sample_hello(struct proto_msg *m)
{
	m->u.hello.process = (char *)"sipd";
	m->u.hello.node = (char *)"pbx-1";
	m->u.hello.instance = UINT64_C(0x8000000000000001);
}

static void
sample_media_status(struct proto_msg *m)
{
	m->u.media_status.node = (char *)"media-2";
	m->u.media_status.instance = UINT64_MAX;
	m->u.media_status.address = (char *)"";
	m->u.media_status.capacity = 5000;
	m->u.media_status.free = 4998;
	m->u.media_status.sessions = 1;
	m->u.media_status.load = 731;
	m->u.media_status.recorder = 1;
	m->u.media_status.recordings = 3;
	m->u.media_status.kernel = 1;
	m->u.media_status.kernel_legs = 4;
}

static uint32_t sample_kinds[] = { PROTO_KIND_AUDIO, PROTO_KIND_VIDEO };
static const char *const sample_addrs[] = { "192.168.2.159", "::1" };
static uint32_t sample_ports[] = { 40000, 0 };
static uint32_t sample_rtcp[] = { 40001, 0 };
static uint32_t sample_dirs[] = { PROTO_DIR_SENDONLY, PROTO_DIR_INACTIVE };
static uint32_t sample_clocks[] = { 8000, 90000 };
static uint32_t sample_fmt_pts[] = { 96, 8, 101 };
static const char *const sample_fmt_names[] = { "AMR-WB", "PCMA", "telephone-event" };
static uint32_t sample_fmt_oa[] = { 1, 0, 0 };

static void
sample_session_update(struct proto_msg *m)
{
	struct proto_session_update *u = &m->u.session_update;

	u->call = (char *)"65418859@192.168.2.159";
	u->leg = 1;
	u->kinds.n = 2;
	u->kinds.v = sample_kinds;
	u->addrs.n = 2;
	u->addrs.v = (char **)sample_addrs;
	u->ports.n = 2;
	u->ports.v = sample_ports;
	u->rtcp_ports.n = 2;
	u->rtcp_ports.v = sample_rtcp;
	u->dirs.n = 2;
	u->dirs.v = sample_dirs;
	u->clocks.n = 2;
	u->clocks.v = sample_clocks;
	u->fmt_pts.n = 3;
	u->fmt_pts.v = sample_fmt_pts;
	u->fmt_names.n = 3;
	u->fmt_names.v = (char **)sample_fmt_names;
	u->fmt_octet_align.n = 3;
	u->fmt_octet_align.v = sample_fmt_oa;
}

static uint32_t sample_pa[] = { 20000, 20004 };
static uint32_t sample_pb[] = { 20002, 0 };

static void
sample_session_ports(struct proto_msg *m)
{
	m->u.session_ports.call = (char *)"a";
	m->u.session_ports.address = (char *)"10.0.0.1";
	m->u.session_ports.ports_a.n = 2;
	m->u.session_ports.ports_a.v = sample_pa;
	m->u.session_ports.ports_b.n = 2;
	m->u.session_ports.ports_b.v = sample_pb;
}

static void
sample_session_delete(struct proto_msg *m)
{
	m->u.session_delete.call = (char *)"65418859@192.168.2.159";
	m->u.session_delete.reason = (char *)"callee";
}

static void
sample_stats_req(struct proto_msg *m)
{
	m->u.stats_req.call = (char *)"";
}

static const char *const sample_calls[] = { "c1", "c1", "c2" };
static const char *const sample_latched[] = { "127.0.0.1:4000", "", "[::1]:6000" };
static uint32_t sample_u32[] = { 0, 1, UINT32_MAX };
static uint64_t sample_u64[] = { 0, 50, UINT64_MAX };

static void
sample_stats(struct proto_msg *m)
{
	struct proto_stats *s = &m->u.stats;

#define SAMPLE_ROWS_(f, arr)	do { s->f.n = 3; s->f.v = arr; } while (0)
	s->calls.n = 3;
	s->calls.v = (char **)sample_calls;
	SAMPLE_ROWS_(streams, sample_u32);
	SAMPLE_ROWS_(legs, sample_u32);
	SAMPLE_ROWS_(kinds, sample_u32);
	SAMPLE_ROWS_(pkts_in, sample_u64);
	SAMPLE_ROWS_(bytes_in, sample_u64);
	SAMPLE_ROWS_(pkts_out, sample_u64);
	SAMPLE_ROWS_(bytes_out, sample_u64);
	SAMPLE_ROWS_(lost, sample_u64);
	SAMPLE_ROWS_(jitter_us, sample_u32);
	SAMPLE_ROWS_(rr_lost, sample_u32);
	SAMPLE_ROWS_(rr_jitter_us, sample_u32);
#undef SAMPLE_ROWS_
	s->latched.n = 3;
	s->latched.v = (char **)sample_latched;
	s->kernel.n = 3;
	s->kernel.v = sample_u32;
}

static void
sample_session_timeout(struct proto_msg *m)
{
	m->u.session_timeout.call = (char *)"65418859@192.168.2.159";
	m->u.session_timeout.idle_ms = 30012;
}

static void
sample_room_join(struct proto_msg *m)
{
	struct proto_room_join *j = &m->u.room_join;

	j->room = (char *)"800";
	j->participant = 3;
	j->call = (char *)"65418859@192.168.2.159";
	j->addr = (char *)"::1";
	j->port = 40000;
	j->rtcp_port = 40001;
	j->dir = PROTO_DIR_SENDRECV;
	j->codec = (char *)"AMR-WB";
	j->pt = 96;
	j->octet_align = 1;
	j->mode_set = 0x1ff;
	j->dtmf_pt = 101;
	j->muted = 0;
	j->user = (char *)"1001";
}

static void
sample_room_port(struct proto_msg *m)
{
	m->u.room_port.room = (char *)"conference";
	m->u.room_port.participant = UINT32_MAX;
	m->u.room_port.address = (char *)"10.0.0.1";
	m->u.room_port.port = 20000;
}

static void
sample_room_leave(struct proto_msg *m)
{
	m->u.room_leave.room = (char *)"800";
	m->u.room_leave.participant = 1;
}

static void
sample_room_mute(struct proto_msg *m)
{
	m->u.room_mute.room = (char *)"800";
	m->u.room_mute.participant = 2;
	m->u.room_mute.muted = 1;
}

static void
sample_room_stats_req(struct proto_msg *m)
{
	m->u.room_stats_req.room = (char *)"";
}

static const char *const sample_rooms[] = { "800", "800", "conference" };
static const char *const sample_codecs[] = { "PCMA", "AMR", "AMR-WB" };

static void
sample_room_stats(struct proto_msg *m)
{
	struct proto_room_stats *s = &m->u.room_stats;

#define SAMPLE_ROWS_(f, arr)	do { s->f.n = 3; s->f.v = (void *)arr; } while (0)
	SAMPLE_ROWS_(r_rooms, sample_rooms);
	SAMPLE_ROWS_(r_rates, sample_u32);
	SAMPLE_ROWS_(r_ticks, sample_u64);
	SAMPLE_ROWS_(r_late, sample_u64);
	SAMPLE_ROWS_(r_encodes, sample_u32);
	SAMPLE_ROWS_(p_rooms, sample_rooms);
	SAMPLE_ROWS_(p_ids, sample_u32);
	SAMPLE_ROWS_(p_codecs, sample_codecs);
	SAMPLE_ROWS_(p_pkts_in, sample_u64);
	SAMPLE_ROWS_(p_pkts_out, sample_u64);
	SAMPLE_ROWS_(p_lost, sample_u64);
	SAMPLE_ROWS_(p_concealed, sample_u64);
	SAMPLE_ROWS_(p_jitter_us, sample_u32);
	SAMPLE_ROWS_(p_muted, sample_u32);
	SAMPLE_ROWS_(p_talking, sample_u32);
	SAMPLE_ROWS_(p_held, sample_u32);
	SAMPLE_ROWS_(p_latched, sample_latched);
#undef SAMPLE_ROWS_
}

static void
sample_node_reset(struct proto_msg *m)
{
	m->u.node_reset.why = (char *)"node came back after 3 s without heartbeat";
}

static const char *const sample_streams[] = { "caller", "callee", "mix" };
static const char *const sample_rec_codecs[] = { "PCMA", "AMR-WB", "" };
static const char *const sample_parts[] = { "1001", "Obsadené ☎" };

static uint32_t sample_rec_formats[] = { PROTO_REC_EVS, PROTO_REC_EVS, PROTO_REC_WAV };

static void
sample_rec_start(struct proto_msg *m)
{
	struct proto_rec_start *r = &m->u.rec_start;

	r->rec = (char *)"65418859@192.168.2.159";
	r->kind = PROTO_REC_CALL;
	r->rate = 16000;
	r->start_ms = UINT64_C(1795176569389);
	r->streams.n = 3;
	r->streams.v = (char **)sample_streams;
	r->codecs.n = 3;
	r->codecs.v = (char **)sample_rec_codecs;
	r->participants.n = 2;
	r->participants.v = (char **)sample_parts;
	r->formats.n = 3;
	r->formats.v = sample_rec_formats;
}

/* two EVS storage frames: 13.2 kbit/s primary and NO_DATA */
static uint8_t sample_evs[35] = { 0x04, 0xff, [33] = 0x80, [34] = 0x0f };
static uint32_t sample_evs_lens[] = { 34, 1 };

static void
sample_rec_payloads(struct proto_msg *m)
{
	struct proto_rec_payloads *p = &m->u.rec_payloads;

	p->rec = (char *)"65418859@192.168.2.159";
	p->stream = (char *)"callee";
	p->seq = 7;
	p->ts = 2240;
	p->lens.n = 2;
	p->lens.v = sample_evs_lens;
	p->data.p = sample_evs;
	p->data.len = sizeof(sample_evs);
}

/* two 20 ms frames at 8000 Hz, a sample of each extreme among them */
static uint8_t sample_pcm[640] = { 0xff, 0x7f, 0x00, 0x80 };

static void
sample_rec_frames(struct proto_msg *m)
{
	struct proto_rec_frames *f = &m->u.rec_frames;

	f->rec = (char *)"room-800";
	f->stream = (char *)"p12";
	f->seq = UINT32_MAX;
	f->ts = UINT64_C(1) << 40;
	f->pcm.p = sample_pcm;
	f->pcm.len = sizeof(sample_pcm);
}

static void
sample_rec_ack(struct proto_msg *m)
{
	m->u.rec_ack.rec = (char *)"a";
	m->u.rec_ack.stream = (char *)"mix";
	m->u.rec_ack.seq = 0;
	m->u.rec_ack.samples = 80160;
	m->u.rec_ack.resend = 1;
	m->u.rec_ack.path = (char *)"/var/lib/parley/recordings/2026/11/20/120929_a_mix.wav";
}

static void
sample_rec_gap(struct proto_msg *m)
{
	m->u.rec_gap.rec = (char *)"room-conference";
	m->u.rec_gap.stream = (char *)"caller";
	m->u.rec_gap.seq = 1700;
	m->u.rec_gap.ts = 272000;
	m->u.rec_gap.ms = 1;
}

static void
sample_rec_stop(struct proto_msg *m)
{
	m->u.rec_stop.rec = (char *)"65418859@192.168.2.159";
	m->u.rec_stop.end_ms = UINT64_MAX;
	m->u.rec_stop.samples = 0;
	m->u.rec_stop.reason = (char *)"";
}

static const char *const sample_files[] = {
	"/var/lib/parley/recordings/2026/11/20/120929_65418859_192.168.2.159_caller.wav",
	"/var/lib/parley/recordings/2026/11/20/120929_65418859_192.168.2.159_mix.wav" };

static void
sample_rec_done(struct proto_msg *m)
{
	struct proto_rec_done *d = &m->u.rec_done;

	d->rec = (char *)"65418859@192.168.2.159";
	d->status = PROTO_REC_FAILED;
	d->reason = (char *)"120929_65418859_192.168.2.159_mix.wav: No space left on device";
	d->sidecar = (char *)"";
	d->files.n = 2;
	d->files.v = (char **)sample_files;
	d->ms.n = 2;
	d->ms.v = sample_u64;
}

static void
sample_record(struct proto_msg *m)
{
	struct proto_record *r = &m->u.record;

	r->kind = PROTO_REC_CALL;
	r->target = (char *)"65418859@192.168.2.159";
	r->legs = 1;
	r->mix = 0;
	r->participants.n = 2;
	r->participants.v = (char **)sample_parts;
}

static void
sample_rec_event(struct proto_msg *m)
{
	struct proto_rec_event *r = &m->u.rec_event;

	r->kind = PROTO_REC_ROOM;
	r->target = (char *)"800";
	r->rec = (char *)"room-800";
	r->state = PROTO_RECST_GAP;
	r->files.n = 2;
	r->files.v = (char **)sample_files;
	r->ms.n = 2;
	r->ms.v = sample_u64;
	r->sidecar = (char *)"/var/lib/parley/recordings/2026/11/20/120929_room-800.json";
	r->reason = (char *)"";
	r->stream = (char *)"p3";
	r->gap_ms = 35020;
}

struct sample {
	uint16_t	 type;
	const char	*name;
	void		(*fill)(struct proto_msg *);
};

static const struct sample samples[] = {
#define SAMPLE_(id, NAME, name)	{ PROTO_##NAME, #NAME, sample_##name },
	PROTO_MESSAGES(SAMPLE_)
#undef SAMPLE_
};
#define NSAMPLES	(sizeof(samples) / sizeof(samples[0]))

static void
sample_encode(size_t i, uint32_t reqid, void **buf, size_t *len)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = samples[i].type;
	m.reqid = reqid;
	samples[i].fill(&m);
	ck_assert_int_eq(proto_encode(&m, buf, len), 0);
}

/* ---------------------------------------------------------------- round trips */

/* every message: encode, decode, encode again gives the same bytes */
START_TEST(test_roundtrip_every_message)
{
	struct proto_msg m;
	void *b1, *b2;
	size_t l1, l2, i;

	for (i = 0; i < NSAMPLES; i++) {
		sample_encode(i, 0x01020304u + (uint32_t)i, &b1, &l1);
		ck_assert_int_eq(proto_decode(b1, l1, &m), 0);
		ck_assert_uint_eq(m.type, samples[i].type);
		ck_assert_uint_eq(m.reqid, 0x01020304u + (uint32_t)i);
		ck_assert_str_eq(proto_type_name(m.type), samples[i].name);
		ck_assert_int_eq(proto_encode(&m, &b2, &l2), 0);
		ck_assert_uint_eq(l1, l2);
		ck_assert(memcmp(b1, b2, l1) == 0);
		proto_msg_free(&m);
		free(b1);
		free(b2);
	}
}
END_TEST

START_TEST(test_roundtrip_error)
{
	struct proto_msg m;
	void *buf;
	size_t len;

	ck_assert_int_eq(proto_encode_error(42, PROTO_ERR_TYPE, "unknown message type 999",
	    &buf, &len), 0);
	ck_assert_int_eq(proto_decode(buf, len, &m), 0);
	ck_assert_uint_eq(m.type, PROTO_ERROR);
	ck_assert_uint_eq(m.reqid, 42);
	ck_assert_uint_eq(m.u.error.code, PROTO_ERR_TYPE);
	ck_assert_str_eq(m.u.error.text, "unknown message type 999");
	proto_msg_free(&m);
	ck_assert_uint_eq(m.type, 0);
	ck_assert_ptr_null(m.u.error.text);
	free(buf);

	/* empty text */
	ck_assert_int_eq(proto_encode_error(0, PROTO_ERR_INTERNAL, "", &buf, &len), 0);
	ck_assert_int_eq(proto_decode(buf, len, &m), 0);
	ck_assert_str_eq(m.u.error.text, "");
	proto_msg_free(&m);
	free(buf);
}
END_TEST

START_TEST(test_roundtrip_admin_req)
{
	const char *words[PROTO_ARGV_MAX];
	struct proto_msg m;
	void *buf;
	size_t len, i, n = sizeof(sample_argv) / sizeof(sample_argv[0]);

	ck_assert_int_eq(proto_encode_admin_req(7, n, sample_argv, &buf, &len), 0);
	ck_assert_int_eq(proto_decode(buf, len, &m), 0);
	ck_assert_uint_eq(m.type, PROTO_ADMIN_REQ);
	ck_assert_uint_eq(m.reqid, 7);
	ck_assert_uint_eq(m.u.admin_req.argv.n, n);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(m.u.admin_req.argv.v[i], sample_argv[i]);
	ck_assert_ptr_null(m.u.admin_req.argv.v[n]);
	proto_msg_free(&m);
	free(buf);

	/* one word, and the most words allowed */
	ck_assert_int_eq(proto_encode_admin_req(8, 1, sample_argv, &buf, &len), 0);
	ck_assert_int_eq(proto_decode(buf, len, &m), 0);
	ck_assert_uint_eq(m.u.admin_req.argv.n, 1);
	ck_assert_str_eq(m.u.admin_req.argv.v[0], "call");
	proto_msg_free(&m);
	free(buf);
	for (i = 0; i < PROTO_ARGV_MAX; i++)
		words[i] = "w";
	ck_assert_int_eq(proto_encode_admin_req(9, PROTO_ARGV_MAX, words, &buf, &len), 0);
	ck_assert_int_eq(proto_decode(buf, len, &m), 0);
	ck_assert_uint_eq(m.u.admin_req.argv.n, PROTO_ARGV_MAX);
	proto_msg_free(&m);
	free(buf);
}
END_TEST

START_TEST(test_roundtrip_admin_rep)
{
	static const char json[] = "{\"version\":\"0.1.0\",\"uptime\":12,\"messages\":{\"rx\":1}}";
	struct proto_msg m;
	void *buf;
	size_t len;
	char *big;

	ck_assert_int_eq(proto_encode_admin_rep(0xffffffffu, PROTO_ADMIN_DONE, json, &buf,
	    &len), 0);
	ck_assert_int_eq(proto_decode(buf, len, &m), 0);
	ck_assert_uint_eq(m.type, PROTO_ADMIN_REP);
	ck_assert_uint_eq(m.reqid, 0xffffffffu);
	ck_assert_uint_eq(m.u.admin_rep.status, PROTO_ADMIN_DONE);
	ck_assert_str_eq(m.u.admin_rep.body, json);
	proto_msg_free(&m);
	free(buf);

	/* a large body (many registrations) */
	big = malloc(1 << 20);
	memset(big, 'x', (1 << 20) - 1);
	big[(1 << 20) - 1] = '\0';
	ck_assert_int_eq(proto_encode_admin_rep(1, PROTO_ADMIN_DONE, big, &buf, &len), 0);
	ck_assert_int_eq(proto_decode(buf, len, &m), 0);
	ck_assert_uint_eq(strlen(m.u.admin_rep.body), (1 << 20) - 1);
	proto_msg_free(&m);
	free(buf);
	free(big);
}
END_TEST

/* ---------------------------------------------------------------- encoder refusals */

START_TEST(test_encode_refuses)
{
	const char *const withnull[] = { "call", NULL };
	const char *words[PROTO_ARGV_MAX + 1];
	struct proto_msg m;
	void *buf = NULL;
	size_t len = 0, i;
	char *longword;

	/* zero-length argv */
	ck_assert_int_eq(proto_encode_admin_req(1, 0, sample_argv, &buf, &len), EINVAL);
	ck_assert_int_eq(proto_encode_admin_req(1, 0, NULL, &buf, &len), EINVAL);
	/* too many words, a NULL word, a word too long */
	for (i = 0; i <= PROTO_ARGV_MAX; i++)
		words[i] = "w";
	ck_assert_int_eq(proto_encode_admin_req(1, PROTO_ARGV_MAX + 1, words, &buf, &len),
	    EINVAL);
	ck_assert_int_eq(proto_encode_admin_req(1, 2, withnull, &buf, &len), EINVAL);
	longword = malloc(PROTO_STRV_ITEM_MAX + 2);
	memset(longword, 'a', PROTO_STRV_ITEM_MAX + 1);
	longword[PROTO_STRV_ITEM_MAX + 1] = '\0';
	words[0] = longword;
	ck_assert_int_eq(proto_encode_admin_req(1, 1, words, &buf, &len), EINVAL);
	free(longword);
	/* status out of range, NULL body, text too long */
	ck_assert_int_eq(proto_encode_admin_rep(1, 2, "{}", &buf, &len), EINVAL);
	ck_assert_int_eq(proto_encode_admin_rep(1, 0, NULL, &buf, &len), EINVAL);
	longword = malloc(PROTO_TEXT_MAX + 2);
	memset(longword, 'a', PROTO_TEXT_MAX + 1);
	longword[PROTO_TEXT_MAX + 1] = '\0';
	ck_assert_int_eq(proto_encode_error(1, 1, longword, &buf, &len), EINVAL);
	free(longword);
	/* unknown type */
	memset(&m, 0, sizeof(m));
	m.type = 999;
	ck_assert_int_eq(proto_encode(&m, &buf, &len), EINVAL);
	/* nothing was handed out */
	ck_assert_ptr_null(buf);
	ck_assert_uint_eq(len, 0);
}
END_TEST

/* ---------------------------------------------------------------- decoder rejections */

START_TEST(test_truncated_every_length)
{
	uint8_t *cut;
	void *buf;
	size_t len, i, k;
	int err;

	for (i = 0; i < NSAMPLES; i++) {
		sample_encode(i, 5, &buf, &len);
		for (k = 0; k < len; k++) {
			/* a fresh allocation of exactly k bytes, so ASan sees overreads */
			cut = malloc(k ? k : 1);
			memcpy(cut, buf, k);
			ck_assert_int_eq(decode_and_free(cut, k), EBADMSG);
			/* the same, with the header's length telling the truth */
			if (k >= PROTO_HDR_LEN) {
				be32(cut + 12, (uint32_t)(k - PROTO_HDR_LEN));
				err = decode_and_free(cut, k);
				ck_assert_msg(err == EBADMSG, "%s cut at %zu: %d", samples[i].name,
				    k, err);
			}
			free(cut);
		}
		ck_assert_int_eq(decode_and_free(buf, len), 0);
		ck_assert_int_eq(decode_and_free(NULL, 0), EBADMSG);
		free(buf);
	}
}
END_TEST

START_TEST(test_wrong_magic)
{
	struct proto_hdr h;
	uint8_t *b;
	void *buf;
	size_t len;

	sample_encode(0, 5, &buf, &len);
	b = buf;
	b[0] ^= 0x20;
	ck_assert_int_eq(decode_and_free(buf, len), EBADMSG);
	ck_assert_int_eq(proto_header(buf, len, &h), EBADMSG);
	b[0] ^= 0x20;
	b[3] = 'Z';
	ck_assert_int_eq(decode_and_free(buf, len), EBADMSG);
	free(buf);
}
END_TEST

START_TEST(test_wrong_version)
{
	struct proto_msg m;
	uint8_t *b;
	void *buf;
	size_t len;

	ck_assert_int_eq(proto_encode_admin_req(3, 1, sample_argv, &buf, &len), 0);
	b = buf;
	be16(b + 4, PROTO_VERSION + 1);
	ck_assert_int_eq(decode_and_free(buf, len), EPROTONOSUPPORT);
	be16(b + 4, 0);
	ck_assert_int_eq(decode_and_free(buf, len), EPROTONOSUPPORT);
	be16(b + 4, 0xffff);
	ck_assert_int_eq(decode_and_free(buf, len), EPROTONOSUPPORT);
	free(buf);

	/* an ERROR is read whatever its version (but never version 0) */
	ck_assert_int_eq(proto_encode_error(3, PROTO_ERR_VERSION, "speak 1", &buf, &len), 0);
	b = buf;
	be16(b + 4, PROTO_VERSION + 1);
	ck_assert_int_eq(proto_decode(buf, len, &m), 0);
	ck_assert_uint_eq(m.u.error.code, PROTO_ERR_VERSION);
	proto_msg_free(&m);
	be16(b + 4, 0);
	ck_assert_int_eq(decode_and_free(buf, len), EPROTONOSUPPORT);
	free(buf);
}
END_TEST

START_TEST(test_unknown_type)
{
	struct craft c;
	uint16_t t;

	for (t = 0; t < 512; t++) {
		if (proto_type_name(t) != NULL)
			continue;
		craft_hdr(&c, PROTO_MAGIC, PROTO_VERSION, t, 77);
		craft_field_u32(&c, 1);
		craft_seal(&c);
		ck_assert_int_eq(decode_and_free(c.b, c.len), ENOMSG);
	}
	ck_assert_ptr_null(proto_type_name(0));
	ck_assert_ptr_null(proto_type_name(0xffff));
	ck_assert_str_eq(proto_type_name(PROTO_ADMIN_REQ), "ADMIN_REQ");
}
END_TEST

START_TEST(test_body_length_lies)
{
	uint8_t *b;
	void *buf;
	size_t len;

	ck_assert_int_eq(proto_encode_admin_rep(3, 0, "{}", &buf, &len), 0);
	b = buf;
	/* claims more than there is */
	be32(b + 12, (uint32_t)(len - PROTO_HDR_LEN + 1));
	ck_assert_int_eq(decode_and_free(buf, len), EBADMSG);
	be32(b + 12, 0x7fffffff);
	ck_assert_int_eq(decode_and_free(buf, len), EMSGSIZE);
	be32(b + 12, PROTO_BODY_MAX);
	ck_assert_int_eq(decode_and_free(buf, len), EBADMSG);
	/* claims less than there is */
	be32(b + 12, (uint32_t)(len - PROTO_HDR_LEN - 1));
	ck_assert_int_eq(decode_and_free(buf, len), EBADMSG);
	be32(b + 12, 0);
	ck_assert_int_eq(decode_and_free(buf, len), EBADMSG);
	free(buf);
}
END_TEST

START_TEST(test_string_longer_than_buffer)
{
	struct craft c;

	/* ADMIN_REP whose body string says 1000 bytes, holds 2 */
	craft_hdr(&c, PROTO_MAGIC, PROTO_VERSION, PROTO_ADMIN_REP, 1);
	craft_field_u32(&c, 0);
	craft_u8(&c, 3);
	craft_u32(&c, 1000);
	craft_raw(&c, "{}", 2);
	craft_seal(&c);
	ck_assert_int_eq(decode_and_free(c.b, c.len), EBADMSG);

	/* a string length of 4 GiB - 1 */
	craft_hdr(&c, PROTO_MAGIC, PROTO_VERSION, PROTO_ADMIN_REP, 1);
	craft_field_u32(&c, 0);
	craft_u8(&c, 3);
	craft_u32(&c, 0xffffffffu);
	craft_raw(&c, "{}", 2);
	craft_seal(&c);
	ck_assert_int_eq(decode_and_free(c.b, c.len), EBADMSG);

	/* an argv word longer than its list */
	craft_hdr(&c, PROTO_MAGIC, PROTO_VERSION, PROTO_ADMIN_REQ, 1);
	craft_u8(&c, 4);
	craft_u32(&c, 4 + 4 + 6);
	craft_u32(&c, 1);
	craft_u32(&c, 200);
	craft_raw(&c, "status", 6);
	craft_seal(&c);
	ck_assert_int_eq(decode_and_free(c.b, c.len), EBADMSG);

	/* an argv list claiming 2^32-1 words in 8 bytes: no huge allocation */
	craft_hdr(&c, PROTO_MAGIC, PROTO_VERSION, PROTO_ADMIN_REQ, 1);
	craft_u8(&c, 4);
	craft_u32(&c, 8);
	craft_u32(&c, 0xffffffffu);
	craft_u32(&c, 0);
	craft_seal(&c);
	ck_assert_int_eq(decode_and_free(c.b, c.len), EBADMSG);

	/* the list's length shorter than its words */
	craft_hdr(&c, PROTO_MAGIC, PROTO_VERSION, PROTO_ADMIN_REQ, 1);
	craft_u8(&c, 4);
	craft_u32(&c, 4 + 4 + 3);
	craft_u32(&c, 1);
	craft_u32(&c, 6);
	craft_raw(&c, "status", 6);
	craft_seal(&c);
	ck_assert_int_eq(decode_and_free(c.b, c.len), EBADMSG);
}
END_TEST

START_TEST(test_zero_length_argv)
{
	struct craft c;

	craft_hdr(&c, PROTO_MAGIC, PROTO_VERSION, PROTO_ADMIN_REQ, 1);
	craft_u8(&c, 4);
	craft_u32(&c, 4);
	craft_u32(&c, 0);
	craft_seal(&c);
	ck_assert_int_eq(decode_and_free(c.b, c.len), EBADMSG);

	/* no argv field at all */
	craft_hdr(&c, PROTO_MAGIC, PROTO_VERSION, PROTO_ADMIN_REQ, 1);
	craft_seal(&c);
	ck_assert_int_eq(decode_and_free(c.b, c.len), EBADMSG);
}
END_TEST

START_TEST(test_bad_fields)
{
	struct proto_msg m;
	struct craft c;

	/* a good hand-made ADMIN_REP first, to show the crafting is right */
	craft_hdr(&c, PROTO_MAGIC, PROTO_VERSION, PROTO_ADMIN_REP, 9);
	craft_field_u32(&c, 1);
	craft_field_str(&c, "{}", 2);
	craft_seal(&c);
	ck_assert_int_eq(proto_decode(c.b, c.len, &m), 0);
	ck_assert_uint_eq(m.u.admin_rep.status, 1);
	ck_assert_str_eq(m.u.admin_rep.body, "{}");
	proto_msg_free(&m);

	/* fields swapped: wrong kinds */
	craft_hdr(&c, PROTO_MAGIC, PROTO_VERSION, PROTO_ADMIN_REP, 9);
	craft_field_str(&c, "{}", 2);
	craft_field_u32(&c, 1);
	craft_seal(&c);
	ck_assert_int_eq(decode_and_free(c.b, c.len), EBADMSG);

	/* status out of bounds */
	craft_hdr(&c, PROTO_MAGIC, PROTO_VERSION, PROTO_ADMIN_REP, 9);
	craft_field_u32(&c, 2);
	craft_field_str(&c, "{}", 2);
	craft_seal(&c);
	ck_assert_int_eq(decode_and_free(c.b, c.len), EBADMSG);

	/* a U32 whose length is not 4 */
	craft_hdr(&c, PROTO_MAGIC, PROTO_VERSION, PROTO_ADMIN_REP, 9);
	craft_u8(&c, 1);
	craft_u32(&c, 5);
	craft_u32(&c, 0);
	craft_u8(&c, 0);
	craft_field_str(&c, "{}", 2);
	craft_seal(&c);
	ck_assert_int_eq(decode_and_free(c.b, c.len), EBADMSG);

	/* a NUL inside a string */
	craft_hdr(&c, PROTO_MAGIC, PROTO_VERSION, PROTO_ADMIN_REP, 9);
	craft_field_u32(&c, 0);
	craft_field_str(&c, "{\0}", 3);
	craft_seal(&c);
	ck_assert_int_eq(decode_and_free(c.b, c.len), EBADMSG);

	/* bytes after the last field */
	craft_hdr(&c, PROTO_MAGIC, PROTO_VERSION, PROTO_ADMIN_REP, 9);
	craft_field_u32(&c, 0);
	craft_field_str(&c, "{}", 2);
	craft_u8(&c, 0);
	craft_seal(&c);
	ck_assert_int_eq(decode_and_free(c.b, c.len), EBADMSG);

	/* an error text over PROTO_TEXT_MAX is refused (built by hand) */
	{
		uint8_t *b = malloc(PROTO_HDR_LEN + 9 + 5 + PROTO_TEXT_MAX + 1);
		size_t n = PROTO_HDR_LEN + 9 + 5 + PROTO_TEXT_MAX + 1;

		memset(b, 'a', n);
		be32(b, PROTO_MAGIC);
		be16(b + 4, PROTO_VERSION);
		be16(b + 6, PROTO_ERROR);
		be32(b + 8, 1);
		be32(b + 12, (uint32_t)(n - PROTO_HDR_LEN));
		b[16] = 1;
		be32(b + 17, 4);
		be32(b + 21, 1);
		b[25] = 3;
		be32(b + 26, PROTO_TEXT_MAX + 1);
		ck_assert_int_eq(decode_and_free(b, n), EBADMSG);
		/* one byte less is fine */
		be32(b + 12, (uint32_t)(n - 1 - PROTO_HDR_LEN));
		be32(b + 26, PROTO_TEXT_MAX);
		ck_assert_int_eq(decode_and_free(b, n - 1), 0);
		free(b);
	}
}
END_TEST

/* ---------------------------------------------------------------- list fields */

/*
 * A SESSION_UPDATE whose list number which (0 kinds, 1 addrs, 2 ports,
 * 3 rtcp_ports, 4 dirs, 5 clocks; -1 none) says says items and holds has;
 * every other list holds and says others.
 */
static void
craft_session_update(struct craft *c, int which, uint32_t says, uint32_t has, uint32_t others)
{
	static const uint8_t kinds[6] = { 6, 4, 6, 6, 6, 6 };
	int i;

	craft_hdr(c, PROTO_MAGIC, PROTO_VERSION, PROTO_SESSION_UPDATE, 1);
	craft_field_str(c, "c", 1);
	craft_field_u32(c, 0);
	for (i = 0; i < 6; i++) {
		if (i == which)
			craft_list(c, kinds[i], says, has, 4);
		else
			craft_list(c, kinds[i], others, others, 4);
	}
	/* the payload formats: empty */
	craft_list(c, 6, 0, 0, 4);
	craft_list(c, 4, 0, 0, 4);
	craft_list(c, 6, 0, 0, 4);
	craft_seal(c);
}

/* STATS's 14 lists in wire order: their kinds, and the bytes of one item */
#define STATS_LISTS	14
static const uint8_t stats_kinds[STATS_LISTS] = { 4, 6, 6, 6, 7, 7, 7, 7, 7, 6, 6, 6, 4, 6 };
#define STATS_ITEM(k)	((k) == 7 ? 8u : 4u)

/*
 * A STATS, too large for struct craft, whose list which says says items
 * and holds has (zeros; empty strings for a STRV); the others are empty.
 * A new buffer of *lenp bytes.
 */
static uint8_t *
stats_craft(size_t which, uint32_t says, uint32_t has, size_t *lenp)
{
	size_t len = PROTO_HDR_LEN + STATS_LISTS * 9 + (size_t)has * STATS_ITEM(stats_kinds[which]);
	uint8_t *b = calloc(1, len), *w;
	size_t i, n;

	ck_assert_ptr_nonnull(b);
	be32(b, PROTO_MAGIC);
	be16(b + 4, PROTO_VERSION);
	be16(b + 6, PROTO_STATS);
	be32(b + 8, 1);
	be32(b + 12, (uint32_t)(len - PROTO_HDR_LEN));
	for (w = b + PROTO_HDR_LEN, i = 0; i < STATS_LISTS; i++) {
		n = i == which ? (size_t)has * STATS_ITEM(stats_kinds[i]) : 0;
		w[0] = stats_kinds[i];
		be32(w + 1, (uint32_t)(4 + n));
		be32(w + 5, i == which ? says : 0);
		w += 9 + n;
	}
	*lenp = len;
	return b;
}

static int
stats_craft_decode(size_t which, uint32_t says, uint32_t has)
{
	size_t len;
	uint8_t *b = stats_craft(which, says, has, &len);
	int err = decode_and_free(b, len);

	free(b);
	return err;
}

/* counts at and over PROTO_STREAMS_MAX, and counts that lie, per list */
START_TEST(test_lists_decode_streams)
{
	struct proto_msg m;
	struct craft c;
	int i;

	craft_session_update(&c, -1, 0, 0, PROTO_STREAMS_MAX);
	ck_assert_int_eq(proto_decode(c.b, c.len, &m), 0);
	ck_assert_uint_eq(m.u.session_update.kinds.n, PROTO_STREAMS_MAX);
	ck_assert_uint_eq(m.u.session_update.addrs.n, PROTO_STREAMS_MAX);
	ck_assert_str_eq(m.u.session_update.addrs.v[PROTO_STREAMS_MAX - 1], "");
	ck_assert_uint_eq(m.u.session_update.clocks.n, PROTO_STREAMS_MAX);
	proto_msg_free(&m);

	for (i = 0; i < 6; i++) {
		craft_session_update(&c, i, PROTO_STREAMS_MAX + 1, PROTO_STREAMS_MAX + 1, 1);
		ck_assert_msg(decode_and_free(c.b, c.len) == EBADMSG, "list %d over the bound", i);
		craft_session_update(&c, i, PROTO_STREAMS_MAX, PROTO_STREAMS_MAX, 1);
		ck_assert_msg(decode_and_free(c.b, c.len) == 0, "list %d at the bound", i);
		/* the count says more, or fewer, than the bytes hold */
		craft_session_update(&c, i, 3, 2, 2);
		ck_assert_msg(decode_and_free(c.b, c.len) == EBADMSG, "list %d says 3, has 2", i);
		craft_session_update(&c, i, 2, 3, 2);
		ck_assert_msg(decode_and_free(c.b, c.len) == EBADMSG, "list %d says 2, has 3", i);
		craft_session_update(&c, i, 0, 1, 2);
		ck_assert_msg(decode_and_free(c.b, c.len) == EBADMSG, "list %d says 0, has 1", i);
		/* a count that would overflow count * 4 in 32 bits */
		craft_session_update(&c, i, 0x40000001u, 1, 2);
		ck_assert_msg(decode_and_free(c.b, c.len) == EBADMSG, "list %d says 2^30+1", i);
	}

	/* a U32V whose bytes are not a whole number of items */
	craft_hdr(&c, PROTO_MAGIC, PROTO_VERSION, PROTO_SESSION_PORTS, 1);
	craft_field_str(&c, "c", 1);
	craft_field_str(&c, "", 0);
	craft_u8(&c, 6);
	craft_u32(&c, 4 + 5);
	craft_u32(&c, 1);
	craft_u32(&c, 40000);
	craft_u8(&c, 0);
	craft_list(&c, 6, 0, 0, 4);
	craft_seal(&c);
	ck_assert_int_eq(decode_and_free(c.b, c.len), EBADMSG);
	/* a U32V with no room for its count */
	craft_hdr(&c, PROTO_MAGIC, PROTO_VERSION, PROTO_SESSION_PORTS, 1);
	craft_field_str(&c, "c", 1);
	craft_field_str(&c, "", 0);
	craft_u8(&c, 6);
	craft_u32(&c, 2);
	craft_u8(&c, 0);
	craft_u8(&c, 0);
	craft_list(&c, 6, 0, 0, 4);
	craft_seal(&c);
	ck_assert_int_eq(decode_and_free(c.b, c.len), EBADMSG);
}
END_TEST

/* every STATS list at PROTO_ROWS_MAX is taken, one more row is not */
START_TEST(test_lists_decode_rows)
{
	struct proto_msg m;
	uint8_t *b;
	size_t i, len;

	for (i = 0; i < STATS_LISTS; i++) {
		ck_assert_msg(stats_craft_decode(i, PROTO_ROWS_MAX + 1, PROTO_ROWS_MAX + 1) == EBADMSG,
		    "STATS list %zu over the bound", i);
		ck_assert_msg(stats_craft_decode(i, 3, 2) == EBADMSG, "STATS list %zu says 3", i);
		ck_assert_msg(stats_craft_decode(i, 1, 2) == EBADMSG, "STATS list %zu says 1", i);
		ck_assert_msg(stats_craft_decode(i, UINT32_MAX, 2) == EBADMSG,
		    "STATS list %zu says 2^32-1", i);
		b = stats_craft(i, PROTO_ROWS_MAX, PROTO_ROWS_MAX, &len);
		ck_assert_msg(proto_decode(b, len, &m) == 0, "STATS list %zu at the bound", i);
		ck_assert_uint_eq(m.u.stats.calls.n + m.u.stats.streams.n + m.u.stats.pkts_in.n +
		    m.u.stats.lost.n + m.u.stats.rr_jitter_us.n + m.u.stats.latched.n +
		    m.u.stats.legs.n + m.u.stats.kinds.n + m.u.stats.bytes_in.n +
		    m.u.stats.pkts_out.n + m.u.stats.bytes_out.n + m.u.stats.jitter_us.n +
		    m.u.stats.rr_lost.n + m.u.stats.kernel.n, PROTO_ROWS_MAX);
		proto_msg_free(&m);
		free(b);
	}
	/* a U64V holding U32-sized items */
	b = stats_craft(4, 2, 1, &len);
	ck_assert_int_eq(decode_and_free(b, len), EBADMSG);
	free(b);
}
END_TEST

/* SESSION_UPDATE by its encoder, list which (as above) n long, the others 1 */
static int
encode_update(int which, size_t n, uint32_t *nums, const char *const *strs, void **buf,
    size_t *len)
{
	size_t k[6];
	int i;

	for (i = 0; i < 6; i++)
		k[i] = i == which ? n : 1;
	return proto_encode_session_update(1, "c", 0, k[0], nums, k[1], strs, k[2], nums, k[3],
	    nums, k[4], nums, k[5], nums, 0, nums, 0, strs, 0, nums, buf, len);
}

/* a STATS whose list which (wire order) has n rows and the others none */
static int
encode_stats(size_t which, size_t n, uint32_t *u32, uint64_t *u64, const char *const *strs,
    void **buf, size_t *len)
{
	struct proto_msg m;
	struct proto_stats *s = &m.u.stats;
	struct proto_strv *sv[2] = { &s->calls, &s->latched };
	struct proto_u32v *l32[7] = { &s->streams, &s->legs, &s->kinds, &s->jitter_us,
		&s->rr_lost, &s->rr_jitter_us, &s->kernel };
	struct proto_u64v *l64[5] = { &s->pkts_in, &s->bytes_in, &s->pkts_out, &s->bytes_out,
		&s->lost };

	memset(&m, 0, sizeof(m));
	m.type = PROTO_STATS;
	if (which == 0 || which == 12) {
		sv[which == 12]->n = n;
		sv[which == 12]->v = (char **)strs;
	} else if (stats_kinds[which] == 6) {
		size_t k = which < 4 ? which - 1 : which < 12 ? which - 6 : 6;

		l32[k]->n = n;
		l32[k]->v = u32;
	} else {
		l64[which - 4]->n = n;
		l64[which - 4]->v = u64;
	}
	return proto_encode(&m, buf, len);
}

START_TEST(test_lists_encode_bounds)
{
	uint32_t *u32 = calloc(PROTO_ROWS_MAX + 1, sizeof(*u32));
	uint64_t *u64 = calloc(PROTO_ROWS_MAX + 1, sizeof(*u64));
	const char **strs = calloc(PROTO_ROWS_MAX + 1, sizeof(*strs));
	struct proto_msg m;
	void *buf = NULL;
	size_t len = 0, i;
	int w;

	ck_assert(u32 != NULL && u64 != NULL && strs != NULL);
	for (i = 0; i <= PROTO_ROWS_MAX; i++)
		strs[i] = "";

	for (w = 0; w < 6; w++) {
		ck_assert_int_eq(encode_update(w, PROTO_STREAMS_MAX + 1, u32, strs, &buf, &len),
		    EINVAL);
		ck_assert_ptr_null(buf);
		ck_assert_int_eq(encode_update(w, PROTO_STREAMS_MAX, u32, strs, &buf, &len), 0);
		ck_assert_int_eq(proto_decode(buf, len, &m), 0);
		ck_assert_uint_eq(m.u.session_update.kinds.n, w == 0 ? PROTO_STREAMS_MAX : 1);
		ck_assert_uint_eq(m.u.session_update.clocks.n, w == 5 ? PROTO_STREAMS_MAX : 1);
		proto_msg_free(&m);
		free(buf);
		buf = NULL;
		/* items but no array */
		ck_assert_int_eq(encode_update(w, 1, NULL, NULL, &buf, &len), EINVAL);
	}

	for (i = 0; i < STATS_LISTS; i++) {
		ck_assert_msg(encode_stats(i, PROTO_ROWS_MAX + 1, u32, u64, strs, &buf, &len) ==
		    EINVAL, "STATS list %zu over the bound", i);
		ck_assert_ptr_null(buf);
		ck_assert_msg(encode_stats(i, 1, NULL, NULL, NULL, &buf, &len) == EINVAL,
		    "STATS list %zu without an array", i);
		ck_assert_msg(encode_stats(i, PROTO_ROWS_MAX, u32, u64, strs, &buf, &len) == 0,
		    "STATS list %zu at the bound", i);
		ck_assert_int_eq(decode_and_free(buf, len), 0);
		free(buf);
		buf = NULL;
	}

	/*
	 * PROTO_ROWS_MAX rows in every list do not fit PROTO_BODY_MAX (72
	 * bytes a row at the least): the body's bound is the one that holds.
	 */
	memset(&m, 0, sizeof(m));
	m.type = PROTO_STATS;
#define ROWS_(f, arr)	do { m.u.stats.f.n = PROTO_ROWS_MAX; m.u.stats.f.v = arr; } while (0)
	ROWS_(calls, (char **)strs);
	ROWS_(streams, u32);
	ROWS_(legs, u32);
	ROWS_(kinds, u32);
	ROWS_(pkts_in, u64);
	ROWS_(bytes_in, u64);
	ROWS_(pkts_out, u64);
	ROWS_(bytes_out, u64);
	ROWS_(lost, u64);
	ROWS_(jitter_us, u32);
	ROWS_(rr_lost, u32);
	ROWS_(rr_jitter_us, u32);
	ROWS_(kernel, u32);
	ROWS_(latched, (char **)strs);
#undef ROWS_
	ck_assert_int_eq(proto_encode(&m, &buf, &len), EMSGSIZE);
	ck_assert_ptr_null(buf);

	free(u32);
	free(u64);
	free(strs);
}
END_TEST

/* messages whose lists are all empty: encode, decode, the same bytes again */
START_TEST(test_lists_empty)
{
	static const uint16_t types[] = { PROTO_SESSION_UPDATE, PROTO_SESSION_PORTS, PROTO_STATS };
	struct proto_msg m, d;
	void *b1, *b2;
	size_t l1, l2, i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		memset(&m, 0, sizeof(m));
		m.type = types[i];
		m.reqid = 3;
		/* the strings of these messages; every list stays n 0, v NULL */
		if (types[i] == PROTO_SESSION_UPDATE)
			m.u.session_update.call = (char *)"c";
		else if (types[i] == PROTO_SESSION_PORTS) {
			m.u.session_ports.call = (char *)"c";
			m.u.session_ports.address = (char *)"";
		}
		ck_assert_int_eq(proto_encode(&m, &b1, &l1), 0);
		ck_assert_int_eq(proto_decode(b1, l1, &d), 0);
		ck_assert_int_eq(proto_encode(&d, &b2, &l2), 0);
		ck_assert_uint_eq(l1, l2);
		ck_assert(memcmp(b1, b2, l1) == 0);
		proto_msg_free(&d);
		free(b1);
		free(b2);
	}

	ck_assert_int_eq(proto_encode_session_ports(4, "c", "10.0.0.1", 0, NULL, 0, NULL, &b1,
	    &l1), 0);
	ck_assert_int_eq(proto_decode(b1, l1, &d), 0);
	ck_assert_uint_eq(d.u.session_ports.ports_a.n, 0);
	ck_assert_uint_eq(d.u.session_ports.ports_b.n, 0);
	proto_msg_free(&d);
	free(b1);

	memset(&m, 0, sizeof(m));
	m.type = PROTO_STATS;
	ck_assert_int_eq(proto_encode(&m, &b1, &l1), 0);
	ck_assert_int_eq(proto_decode(b1, l1, &d), 0);
	ck_assert_uint_eq(d.u.stats.calls.n, 0);
	ck_assert_ptr_null(d.u.stats.calls.v[0]);
	ck_assert_uint_eq(d.u.stats.pkts_in.n, 0);
	ck_assert_uint_eq(d.u.stats.latched.n, 0);
	proto_msg_free(&d);
	free(b1);
}
END_TEST

#define STR_(v)	#v
#define STR(v)	STR_(v)	/* STR(PROTO_VERSION): "3" */

/* ---------------------------------------------------------------- errors, dispatch */

/* every ERROR code: from its errno value, its text, in a refusal */
START_TEST(test_errcodes)
{
	/* a refusal of a SESSION_DELETE (type 35) of this version says refusal */
	static const struct {
		int		 err;
		uint32_t	 code;
		const char	*text, *refusal;
	} t[] = {
		{ EBADMSG, PROTO_ERR_MALFORMED, "malformed message", "malformed message" },
		{ EPROTONOSUPPORT, PROTO_ERR_VERSION, "unsupported protocol version",
			"protocol version " STR(PROTO_VERSION) " not supported" },
		{ ENOMSG, PROTO_ERR_TYPE, "unknown message type", "unknown message type 35" },
		{ ENOTSUP, PROTO_ERR_UNEXPECTED, "message not accepted here",
			"message SESSION_DELETE not accepted here" },
		{ EMSGSIZE, PROTO_ERR_TOOBIG, "message too large", "message too large" },
		{ ENOMEM, PROTO_ERR_INTERNAL, "internal error", "internal error: " },
		{ ENOSPC, PROTO_ERR_NOPORTS, "no free relay ports", "no free relay ports" },
		{ ENOENT, PROTO_ERR_NOSESSION, "no such session", "no such session" },
		{ EINVAL, PROTO_ERR_INVALID, "invalid request", "invalid request" },
	};
	struct proto_msg m;
	struct craft c;
	void *buf;
	size_t len, i;

	craft_hdr(&c, PROTO_MAGIC, PROTO_VERSION, PROTO_SESSION_DELETE, 808);
	craft_seal(&c);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_uint_eq(proto_errcode(t[i].err), t[i].code);
		ck_assert_str_eq(proto_errcode_str(t[i].code), t[i].text);
		ck_assert_int_eq(proto_encode_refusal(c.b, c.len, t[i].err, &buf, &len), 0);
		ck_assert_int_eq(proto_decode(buf, len, &m), 0);
		ck_assert_uint_eq(m.reqid, 808);
		ck_assert_uint_eq(m.u.error.code, t[i].code);
		ck_assert_msg(strncmp(m.u.error.text, t[i].refusal, strlen(t[i].refusal)) == 0,
		    "%s: \"%s\"", t[i].text, m.u.error.text);
		proto_msg_free(&m);
		free(buf);
	}
	ck_assert_uint_eq(proto_errcode(0), PROTO_ERR_INTERNAL);
	ck_assert_uint_eq(proto_errcode(EAGAIN), PROTO_ERR_INTERNAL);
	ck_assert_str_eq(proto_errcode_str(0), "unknown error");
	ck_assert_str_eq(proto_errcode_str(PROTO_ERR_INVALID + 1), "unknown error");
}
END_TEST


START_TEST(test_refusal)
{
	struct proto_msg m;
	struct craft c;
	void *buf;
	size_t len;

	/* unknown type: the ERROR keeps the request id */
	craft_hdr(&c, PROTO_MAGIC, PROTO_VERSION, 999, 1234);
	craft_seal(&c);
	ck_assert_int_eq(proto_encode_refusal(c.b, c.len, ENOMSG, &buf, &len), 0);
	ck_assert_int_eq(proto_decode(buf, len, &m), 0);
	ck_assert_uint_eq(m.type, PROTO_ERROR);
	ck_assert_uint_eq(m.reqid, 1234);
	ck_assert_uint_eq(m.u.error.code, PROTO_ERR_TYPE);
	ck_assert_str_eq(m.u.error.text, "unknown message type 999");
	proto_msg_free(&m);
	free(buf);

	/* other version */
	craft_hdr(&c, PROTO_MAGIC, 7, PROTO_ADMIN_REQ, 55);
	craft_seal(&c);
	ck_assert_int_eq(decode_and_free(c.b, c.len), EPROTONOSUPPORT);
	ck_assert_int_eq(proto_encode_refusal(c.b, c.len, EPROTONOSUPPORT, &buf, &len), 0);
	ck_assert_int_eq(proto_decode(buf, len, &m), 0);
	ck_assert_uint_eq(m.reqid, 55);
	ck_assert_uint_eq(m.u.error.code, PROTO_ERR_VERSION);
	ck_assert(strstr(m.u.error.text, "version 7") != NULL);
	proto_msg_free(&m);
	free(buf);

	/* garbage: request id 0 */
	ck_assert_int_eq(proto_encode_refusal("hello", 5, EBADMSG, &buf, &len), 0);
	ck_assert_int_eq(proto_decode(buf, len, &m), 0);
	ck_assert_uint_eq(m.reqid, 0);
	ck_assert_uint_eq(m.u.error.code, PROTO_ERR_MALFORMED);
	proto_msg_free(&m);
	free(buf);
	ck_assert_int_eq(proto_encode_refusal(NULL, 0, ENOMEM, &buf, &len), 0);
	ck_assert_int_eq(proto_decode(buf, len, &m), 0);
	ck_assert_uint_eq(m.u.error.code, PROTO_ERR_INTERNAL);
	proto_msg_free(&m);
	free(buf);

	ck_assert_uint_eq(proto_errcode(EBADMSG), PROTO_ERR_MALFORMED);
	ck_assert_uint_eq(proto_errcode(ENOTSUP), PROTO_ERR_UNEXPECTED);
	ck_assert_uint_eq(proto_errcode(EMSGSIZE), PROTO_ERR_TOOBIG);
	ck_assert_str_eq(proto_errcode_str(PROTO_ERR_TYPE), "unknown message type");
	ck_assert_str_eq(proto_errcode_str(12345), "unknown error");
}
END_TEST

struct seen {
	int		 calls;
	uint32_t	 reqid;
	size_t		 argc;
};

static int
on_admin_req(uint32_t reqid, const struct proto_admin_req *msg, void *arg)
{
	struct seen *s = arg;

	s->calls++;
	s->reqid = reqid;
	s->argc = msg->argv.n;
	return 0;
}

START_TEST(test_dispatch)
{
	struct proto_handlers h;
	struct proto_msg m;
	struct seen s;
	void *buf;
	size_t len;

	memset(&h, 0, sizeof(h));
	memset(&s, 0, sizeof(s));
	h.admin_req = on_admin_req;
	ck_assert_int_eq(proto_encode_admin_req(31, 3, sample_argv, &buf, &len), 0);
	ck_assert_int_eq(proto_decode(buf, len, &m), 0);
	ck_assert_int_eq(proto_dispatch(&m, &h, &s), 0);
	ck_assert_int_eq(s.calls, 1);
	ck_assert_uint_eq(s.reqid, 31);
	ck_assert_uint_eq(s.argc, 3);
	proto_msg_free(&m);
	free(buf);

	/* no handler for ADMIN_REP */
	ck_assert_int_eq(proto_encode_admin_rep(32, 0, "{}", &buf, &len), 0);
	ck_assert_int_eq(proto_decode(buf, len, &m), 0);
	ck_assert_int_eq(proto_dispatch(&m, &h, &s), ENOTSUP);
	ck_assert_int_eq(s.calls, 1);
	proto_msg_free(&m);
	free(buf);

	/* unknown type */
	memset(&m, 0, sizeof(m));
	m.type = 999;
	ck_assert_int_eq(proto_dispatch(&m, &h, &s), ENOMSG);
}
END_TEST

/* ---------------------------------------------------------------- fuzz */

/*
 * 100000 buffers: random bytes (some behind a valid header, so the field
 * decoder is reached), and valid messages with bits flipped, bytes
 * replaced, cut or extended.  Nothing may crash or leak; whatever decodes
 * must encode again.
 */
START_TEST(test_fuzz)
{
	void *good[NSAMPLES], *re;
	size_t goodlen[NSAMPLES], n, len, i, j, relen;
	struct proto_msg m;
	uint8_t *b;
	int accepted = 0, rejected = 0;

	for (i = 0; i < NSAMPLES; i++)
		sample_encode(i, (uint32_t)i, &good[i], &goodlen[i]);
	for (i = 0; i < 100000; i++) {
		uint64_t r = rng();

		if (r % 4 == 0) {
			/* random bytes */
			len = (size_t)(rng() % 300);
			b = malloc(len ? len : 1);
			for (j = 0; j < len; j++)
				b[j] = (uint8_t)rng();
			if (len >= PROTO_HDR_LEN && (r >> 8) % 2 == 0) {
				be32(b, PROTO_MAGIC);
				be16(b + 4, PROTO_VERSION);
				be16(b + 6, samples[(r >> 16) % NSAMPLES].type);
				be32(b + 12, (uint32_t)(len - PROTO_HDR_LEN));
			}
		} else {
			/* a mutated valid message */
			n = (size_t)((r >> 8) % NSAMPLES);
			len = goodlen[n];
			if ((r >> 16) % 8 == 0)
				len = (size_t)(rng() % (goodlen[n] + 40));
			b = malloc(len ? len : 1);
			memcpy(b, good[n], len < goodlen[n] ? len : goodlen[n]);
			for (j = goodlen[n]; j < len; j++)
				b[j] = (uint8_t)rng();
			for (j = 0; len > 0 && j < 1 + (r >> 24) % 4; j++) {
				size_t at = (size_t)(rng() % len);

				if ((r >> 30) % 2 == 0)
					b[at] ^= (uint8_t)(1u << (rng() % 8));
				else
					b[at] = (uint8_t)rng();
			}
			if (len >= PROTO_HDR_LEN && (r >> 32) % 2 == 0)
				be32(b + 12, (uint32_t)(len - PROTO_HDR_LEN));
		}
		if (proto_decode(b, len, &m) == 0) {
			accepted++;
			ck_assert_ptr_nonnull(proto_type_name(m.type));
			ck_assert_int_eq(proto_encode(&m, &re, &relen), 0);
			free(re);
			proto_msg_free(&m);
		} else {
			rejected++;
			ck_assert_uint_eq(m.type, 0);
			ck_assert_int_eq(proto_encode_refusal(b, len, EBADMSG, &re, &relen), 0);
			free(re);
		}
		free(b);
	}
	for (i = 0; i < NSAMPLES; i++)
		free(good[i]);
	ck_assert_int_gt(accepted, 0);
	ck_assert_int_gt(rejected, 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("proto");

	log_init("proto_test", 1, LOG_LVL_WARN);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_roundtrip_every_message);
	tcase_add_test(tc, test_roundtrip_error);
	tcase_add_test(tc, test_roundtrip_admin_req);
	tcase_add_test(tc, test_roundtrip_admin_rep);
	tcase_add_test(tc, test_encode_refuses);
	tcase_add_test(tc, test_truncated_every_length);
	tcase_add_test(tc, test_wrong_magic);
	tcase_add_test(tc, test_wrong_version);
	tcase_add_test(tc, test_unknown_type);
	tcase_add_test(tc, test_body_length_lies);
	tcase_add_test(tc, test_string_longer_than_buffer);
	tcase_add_test(tc, test_zero_length_argv);
	tcase_add_test(tc, test_bad_fields);
	tcase_add_test(tc, test_lists_decode_streams);
	tcase_add_test(tc, test_lists_decode_rows);
	tcase_add_test(tc, test_lists_encode_bounds);
	tcase_add_test(tc, test_lists_empty);
	tcase_add_test(tc, test_errcodes);
	tcase_add_test(tc, test_refusal);
	tcase_add_test(tc, test_dispatch);
	tcase_add_test(tc, test_fuzz);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
