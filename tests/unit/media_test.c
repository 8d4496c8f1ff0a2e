/*
 * media_test.c — unit tests of sipd/media.c's SDP handling: what is read
 * from an offer (addresses, ports, RTCP port, direction, clock rate per
 * m= line; the payload formats of the first audio one) and how it is
 * rewritten for the relay (c=, m= ports, a=rtcp, ICE removed, everything
 * else byte for byte); and sipd/offer.c's room
 * offer/answer: the codec by server priority, fmtp read and echoed, other
 * m= lines declined, the direction answered.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "sipd/sipd.h"

static const char offer[] =
    "v=0\r\n"
    "o=alice 2890844526 2890844527 IN IP4 192.168.1.10\r\n"
    "s=-\r\n"
    "c=IN IP4 192.168.1.10\r\n"
    "t=0 0\r\n"
    "a=ice-ufrag:F7gI\r\n"
    "m=audio 49170 RTP/AVP 96 8 101\r\n"
    "a=rtpmap:96 AMR-WB/16000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=rtcp:49175 IN IP4 192.168.1.10\r\n"
    "a=candidate:1 1 UDP 2130706431 192.168.1.10 49170 typ host\r\n"
    "a=sendonly\r\n"
    "m=video 51372 RTP/AVP 31\r\n"
    "c=IN IP4 192.168.1.11\r\n"
    "m=application 0 UDP/BFCP *\r\n";

START_TEST(parse_offer)
{
	struct media_sdp s;

	ck_assert_int_eq(media_sdp_parse(offer, strlen(offer), &s), 0);
	ck_assert_int_eq(s.n, 3);
	ck_assert_int_eq(s.s[0].kind, PROTO_KIND_AUDIO);
	ck_assert_str_eq(s.s[0].addr, "192.168.1.10");
	ck_assert_uint_eq(s.s[0].port, 49170);
	ck_assert_uint_eq(s.s[0].rtcp_port, 49175);
	ck_assert_int_eq(s.s[0].dir, PROTO_DIR_SENDONLY);
	ck_assert_uint_eq(s.s[0].clock, 16000);
	ck_assert_int_eq(s.s[1].kind, PROTO_KIND_VIDEO);
	ck_assert_str_eq(s.s[1].addr, "192.168.1.11");
	ck_assert_uint_eq(s.s[1].port, 51372);
	ck_assert_uint_eq(s.s[1].rtcp_port, 51373);
	ck_assert_int_eq(s.s[1].dir, PROTO_DIR_SENDRECV);
	ck_assert_uint_eq(s.s[1].clock, 90000);
	ck_assert_int_eq(s.s[2].kind, PROTO_KIND_OTHER);
	ck_assert_uint_eq(s.s[2].port, 0);
}
END_TEST

START_TEST(parse_session_level_direction_and_old_hold)
{
	static const char sdp[] =
	    "v=0\nc=IN IP4 0.0.0.0\nt=0 0\na=recvonly\nm=audio 4000 RTP/AVP 0\n";
	static const char sdp6[] =
	    "v=0\r\nc=IN IP6 ::1\r\nt=0 0\r\na=inactive\r\nm=audio 4000 RTP/AVP 0\r\n";
	struct media_sdp s;

	ck_assert_int_eq(media_sdp_parse(sdp, strlen(sdp), &s), 0);
	ck_assert_int_eq(s.s[0].dir, PROTO_DIR_INACTIVE);	/* c=0.0.0.0: RFC 2543 hold */
	ck_assert_uint_eq(s.s[0].clock, 8000);
	ck_assert_int_eq(media_sdp_parse(sdp6, strlen(sdp6), &s), 0);
	ck_assert_str_eq(s.s[0].addr, "::1");
	ck_assert_int_eq(s.s[0].dir, PROTO_DIR_INACTIVE);
}
END_TEST

/* the payload formats of the first audio m= line, for SESSION_UPDATE's fmt_* */
START_TEST(parse_audio_formats)
{
	static const char sdp[] =
	    "v=0\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n"
	    "m=video 5000 RTP/AVP 96\r\n"
	    "a=rtpmap:96 H264/90000\r\n"
	    "m=audio 4000 RTP/AVP 97 98 8 0 3 101\r\n"
	    "a=rtpmap:97 AMR-WB/16000/1\r\n"
	    "a=fmtp:97 mode-set=0,1,2; octet-align=1\r\n"
	    "a=rtpmap:98 AMR/8000/1\r\n"
	    "a=fmtp:98 octet-align=0\r\n"
	    "a=rtpmap:101 telephone-event/8000\r\n"
	    "a=fmtp:101 0-15\r\n"
	    "m=audio 4002 RTP/AVP 9\r\n"
	    "a=rtpmap:9 G722/8000\r\n";
	static const char *const names[] = { "AMR-WB", "AMR", "PCMA", "PCMU", "",
	    "telephone-event" };
	static const uint32_t pts[] = { 97, 98, 8, 0, 3, 101 };
	static const uint32_t oa[] = { 1, 0, 0, 0, 0, 0 };
	static const char plain[] = "v=0\nc=IN IP4 192.0.2.5\nt=0 0\nm=audio 4000 RTP/AVP 8 0\n";
	static const char novoice[] = "v=0\nc=IN IP4 192.0.2.5\nt=0 0\nm=video 4000 RTP/AVP 31\n";
	struct media_sdp s;
	int i;

	ck_assert_int_eq(media_sdp_parse(sdp, strlen(sdp), &s), 0);
	ck_assert_int_eq(s.nfmts, 6);
	for (i = 0; i < 6; i++) {
		ck_assert_uint_eq(s.fmt_pt[i], pts[i]);
		ck_assert_str_eq(s.fmt_name[i], names[i]);
		ck_assert_uint_eq(s.fmt_octet_align[i], oa[i]);
	}
	ck_assert_int_eq(media_sdp_parse(plain, strlen(plain), &s), 0);
	ck_assert_int_eq(s.nfmts, 2);
	ck_assert_str_eq(s.fmt_name[0], "PCMA");
	ck_assert_str_eq(s.fmt_name[1], "PCMU");
	ck_assert_int_eq(media_sdp_parse(novoice, strlen(novoice), &s), 0);
	ck_assert_int_eq(s.nfmts, 0);
}
END_TEST

START_TEST(parse_refuses_bad_sdp)
{
	static const char *const bad[] = {
		"v=0\r\n",					/* no m= line */
		"v=0\r\nm=audio 4000 RTP/AVP 0\r\n",		/* no address anywhere */
		"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 70000 RTP/AVP 0\r\n",	/* port */
		"v=0\r\nc=IN XX 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\n",
		"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio\r\n",
	};
	char many[4096];
	struct media_sdp s;
	size_t i, n = 0;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(media_sdp_parse(bad[i], strlen(bad[i]), &s) != 0, "accepted: %s",
		    bad[i]);
	n = (size_t)snprintf(many, sizeof(many), "v=0\r\nc=IN IP4 1.2.3.4\r\n");
	for (i = 0; i <= PROTO_STREAMS_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "m=audio %zu RTP/AVP 0\r\n",
		    4000 + 2 * i);
	ck_assert_int_eq(media_sdp_parse(many, n, &s), EINVAL);
}
END_TEST

START_TEST(rewrite_for_relay)
{
	static const char want[] =
	    "v=0\r\n"
	    "o=alice 2890844526 2890844527 IN IP4 192.168.1.10\r\n"
	    "s=-\r\n"
	    "c=IN IP4 10.0.0.1\r\n"
	    "t=0 0\r\n"
	    "m=audio 20000 RTP/AVP 96 8 101\r\n"
	    "a=rtpmap:96 AMR-WB/16000\r\n"
	    "a=rtpmap:101 telephone-event/8000\r\n"
	    "a=rtcp:20001\r\n"
	    "a=sendonly\r\n"
	    "m=video 20004 RTP/AVP 31\r\n"
	    "c=IN IP4 10.0.0.1\r\n"
	    "m=application 0 UDP/BFCP *\r\n";
	uint32_t ports[] = { 20000, 20004, 20008 };
	size_t len;
	char *out = media_sdp_rewrite(offer, strlen(offer), "10.0.0.1", ports, 3, &len);

	ck_assert_uint_eq(len, strlen(want));
	ck_assert_str_eq(out, want);
	free(out);
}
END_TEST

START_TEST(rewrite_ipv6_and_refused_stream)
{
	static const char in[] = "v=0\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 0\n"
	    "m=video 4002 RTP/AVP 31\n";
	uint32_t ports[] = { 30000, 0 };
	size_t len;
	char *out = media_sdp_rewrite(in, strlen(in), "::1", ports, 2, &len);

	ck_assert_str_eq(out, "v=0\r\nc=IN IP6 ::1\r\nm=audio 30000 RTP/AVP 0\r\n"
	    "m=video 0 RTP/AVP 31\r\n");
	free(out);
}
END_TEST

/* ---------------------------------------------------------------- rooms (offer.c) */

static char *room_codecs[] = { "AMR-WB", "AMR", "PCMA", "PCMU", "EVS" };

#define OFFER_HEAD "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n"

static int
room_offer_of(const char *sdp, const char *prefer, struct room_offer *o)
{
	return offer_parse(sdp, strlen(sdp), room_codecs, 5, prefer, o);
}

START_TEST(room_offer_codec_choice)
{
	struct room_offer o;

	/* server priority, not the phone's: PCMA before PCMU; static types need no rtpmap */
	ck_assert_int_eq(room_offer_of(OFFER_HEAD "m=audio 4000 RTP/AVP 0 8 101\r\n"
	    "a=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n", NULL, &o), 0);
	ck_assert_str_eq(o.codec, "PCMA");
	ck_assert_uint_eq(o.pt, 8);
	ck_assert_int_eq(o.dtmf_pt, 101);
	ck_assert_str_eq(o.addr, "10.0.0.5");
	ck_assert_uint_eq(o.port, 4000);
	ck_assert_uint_eq(o.rtcp_port, 4001);
	ck_assert_int_eq(o.dir, PROTO_DIR_SENDONLY);
	/* AMR-WB first when offered; bandwidth-efficient kept, mode-set read */
	ck_assert_int_eq(room_offer_of(OFFER_HEAD "m=audio 4000 RTP/AVP 8 97 96\r\n"
	    "a=rtpmap:97 AMR/8000/1\r\na=fmtp:97 octet-align=1\r\n"
	    "a=rtpmap:96 AMR-WB/16000/1\r\na=fmtp:96 mode-set=0,1,2\r\n"
	    "a=rtpmap:102 telephone-event/16000\r\n", NULL, &o), 0);
	ck_assert_str_eq(o.codec, "AMR-WB");
	ck_assert_uint_eq(o.pt, 96);
	ck_assert_int_eq(o.octet_align, 0);
	ck_assert_uint_eq(o.mode_set, 0x7);
	/* a codec to keep (re-INVITE) wins when offered */
	ck_assert_int_eq(room_offer_of(OFFER_HEAD "m=audio 4000 RTP/AVP 96 97\r\n"
	    "a=rtpmap:96 AMR-WB/16000/1\r\na=rtpmap:97 AMR/8000/1\r\n"
	    "a=fmtp:97 octet-align=1\r\n", "AMR", &o), 0);
	ck_assert_str_eq(o.codec, "AMR");
	ck_assert_int_eq(o.octet_align, 1);
	/* AMR asking for crc is skipped; EVS is never mixed: nothing usable */
	ck_assert_int_eq(room_offer_of(OFFER_HEAD "m=audio 4000 RTP/AVP 97 8\r\n"
	    "a=rtpmap:97 AMR/8000\r\na=fmtp:97 octet-align=1;crc=1\r\n", NULL, &o), 0);
	ck_assert_str_eq(o.codec, "PCMA");
	ck_assert_int_eq(room_offer_of(OFFER_HEAD "m=audio 4000 RTP/AVP 98\r\n"
	    "a=rtpmap:98 EVS/16000\r\n", NULL, &o), ENOTSUP);
	ck_assert_int_eq(room_offer_of(OFFER_HEAD "m=audio 4000 RTP/AVP 96\r\n"
	    "a=rtpmap:96 AMR-WB/16000\r\na=fmtp:96 mode-set=9\r\n", NULL, &o), ENOTSUP);
	/* no plain RTP audio; unreadable */
	ck_assert_int_eq(room_offer_of(OFFER_HEAD "m=audio 4000 RTP/SAVP 8\r\n", NULL, &o), ENOENT);
	ck_assert_int_eq(room_offer_of(OFFER_HEAD "m=video 5000 RTP/AVP 96\r\n", NULL, &o), ENOENT);
	ck_assert_int_eq(room_offer_of("hello", NULL, &o), EBADMSG);
	ck_assert_int_eq(room_offer_of("v=0\r\nm=audio 4000 RTP/AVP 8\r\n", NULL, &o), EBADMSG);
}
END_TEST

START_TEST(room_offer_answer)
{
	struct room_offer o;
	size_t len;
	char *a;

	ck_assert_int_eq(room_offer_of(OFFER_HEAD "m=video 5000 RTP/AVP 96 97\r\n"
	    "m=audio 4000 RTP/AVP 96 101\r\nc=IN IP4 10.0.0.6\r\n"
	    "a=rtpmap:96 AMR-WB/16000/1\r\na=fmtp:96 octet-align=1;mode-set=2\r\n"
	    "a=rtpmap:101 telephone-event/16000\r\na=rtcp:4011\r\na=recvonly\r\n", NULL, &o), 0);
	ck_assert_str_eq(o.addr, "10.0.0.6");
	ck_assert_uint_eq(o.rtcp_port, 4011);
	a = offer_answer(&o, "127.0.0.1", 20000, 42, 2, &len);
	ck_assert_uint_eq(len, strlen(a));
	/* every m= line answered, in order; video declined with port 0 */
	ck_assert_ptr_nonnull(strstr(a, "o=parley 42 2 IN IP4 127.0.0.1\r\n"));
	ck_assert_ptr_nonnull(strstr(a, "c=IN IP4 127.0.0.1\r\n"));
	ck_assert_ptr_nonnull(strstr(a, "m=video 0 RTP/AVP 96 97\r\nm=audio 20000 RTP/AVP 96 101\r\n"));
	ck_assert_ptr_nonnull(strstr(a, "a=rtpmap:96 AMR-WB/16000/1\r\n"));
	ck_assert_ptr_nonnull(strstr(a, "a=fmtp:96 octet-align=1;mode-set=2\r\n"));
	ck_assert_ptr_nonnull(strstr(a, "a=rtpmap:101 telephone-event/16000\r\n"));
	ck_assert_ptr_nonnull(strstr(a, "a=rtcp:20001\r\n"));
	ck_assert_ptr_nonnull(strstr(a, "a=sendonly\r\n"));	/* to its recvonly */
	free(a);
	/* IPv6, bandwidth-efficient AMR: no octet-align in the answer */
	ck_assert_int_eq(room_offer_of("v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\n"
	    "m=audio 4000 RTP/AVP 97\r\na=rtpmap:97 AMR/8000\r\n", NULL, &o), 0);
	ck_assert_int_eq(o.ip6, 1);
	a = offer_answer(&o, "::1", 20002, 1, 1, &len);
	ck_assert_ptr_nonnull(strstr(a, "c=IN IP6 ::1\r\n"));
	ck_assert_ptr_nonnull(strstr(a, "a=rtpmap:97 AMR/8000/1\r\n"));
	ck_assert_ptr_null(strstr(a, "octet-align"));
	ck_assert_ptr_nonnull(strstr(a, "a=sendrecv\r\n"));
	free(a);
}
END_TEST

static Suite *
media_suite(void)
{
	Suite *s = suite_create("media");
	TCase *tc = tcase_create("sdp");

	tcase_add_test(tc, parse_offer);
	tcase_add_test(tc, parse_session_level_direction_and_old_hold);
	tcase_add_test(tc, parse_audio_formats);
	tcase_add_test(tc, parse_refuses_bad_sdp);
	tcase_add_test(tc, rewrite_for_relay);
	tcase_add_test(tc, rewrite_ipv6_and_refused_stream);
	tcase_add_test(tc, room_offer_codec_choice);
	tcase_add_test(tc, room_offer_answer);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(media_suite());
}
