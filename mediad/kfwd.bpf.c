/*
 * kfwd.bpf.c — mediad's in-kernel RTP forwarding: a tc (cls_bpf,
 * direct-action) program that mediad loads and attaches to the ingress of
 * its interfaces (mediad/kfwd.c).  Built with clang -target bpf; the
 * object is embedded in mediad.
 *
 * For each IPv4 UDP packet it looks up the destination port in kfwd_legs,
 * where mediad puts one entry per relayed leg once both phones of the
 * stream are latched (relay.c).  A packet that matches the entry's latched
 * phone leaves, rewritten, as if the relay's port facing the other phone
 * had sent it: source = mediad's address and port of the peer leg,
 * destination = the peer phone's latched address and port; SSRC, sequence
 * numbers and payload untouched, as the userspace relay does.  Where it
 * goes next:
 *   - the peer phone is at an address of this host (a softphone on the
 *     PBX, every loopback test): on up the stack to its socket (TC_ACT_OK);
 *   - else out of the interface the peer phone's packets come in on
 *     (bpf_redirect_neigh: the kernel's route and neighbour lookup, ARP
 *     included).  Not bpf_fib_lookup: it refuses unless the host forwards
 *     IP (net.ipv4.conf.*.forwarding), which a PBX need not do.
 *     mediad puts a call in only when both phones are on this host or
 *     neither is (kfwd_consider).
 * Each leg learns the interface and the local address its phone's packets
 * arrive on from the first one; until the peer's have come through too,
 * packets go to userspace.  The IP TOS becomes DSCP EF, as mediad's own
 * sockets send.
 * Anything else — a stranger's source, the source on another interface, a
 * VLAN-tagged frame, a fragment, IP options, lengths that do not add up,
 * mediad silent for KFWD_ALIVE_NS — passes
 * untouched (TC_ACT_UNSPEC) to mediad's socket, and userspace decides as
 * it always did: nothing here changes what the relay does, only where.
 *
 * The entry also keeps the leg's figures (packets, bytes, the last
 * packet's time) and the RFC 3550 A.1/A.8 receive state (sequence numbers
 * and jitter), the same arithmetic as session_rtp_seen(); mediad folds
 * them into the leg every second (kfwd_sync).  Two CPUs handling packets
 * of the same phone at once may race on the sequence state; the counters
 * are atomic.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "kfwd.h"

#define AF_INET		2
#define KFWD_TOS	0xb8	/* DSCP EF, as mediad's sockets (ports.c) */
#define KFWD_ALIVE_NS	3000000000ull	/* mediad beats every second */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KFWD_LEGS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* memory as legs come, not 64 Ki entries up front */
	__type(key, __u32);			/* mediad's RTP port, host order */
	__type(value, struct kfwd_leg);
} kfwd_legs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);			/* CLOCK_MONOTONIC ns of mediad's last beat */
} kfwd_alive SEC(".maps");

/* the headers up to the RTP fixed header, as they sit in the packet */
struct kfwd_pkt {
	struct ethhdr	eth;
	struct iphdr	ip;
	struct udphdr	udp;
	__u8		rtp[12];
} __attribute__((packed));

#define IP_OFF		ETH_HLEN
#define UDP_OFF		(ETH_HLEN + sizeof(struct iphdr))
#define IP_CSUM		(IP_OFF + __builtin_offsetof(struct iphdr, check))
#define IP_SADDR	(IP_OFF + __builtin_offsetof(struct iphdr, saddr))
#define IP_DADDR	(IP_OFF + __builtin_offsetof(struct iphdr, daddr))
#define UDP_CSUM	(UDP_OFF + __builtin_offsetof(struct udphdr, check))

/* RFC 3550 A.1 and A.8 for one packet, as session_rtp_seen() does it */
static __always_inline void
kfwd_rx(struct kfwd_leg *v, const __u8 *p, __u64 now_ns)
{
	__u16 seq = (__u16)(p[2] << 8 | p[3]), delta;
	__u32 ts = (__u32)p[4] << 24 | (__u32)p[5] << 16 | (__u32)p[6] << 8 | p[7];
	__u32 ssrc = (__u32)p[8] << 24 | (__u32)p[9] << 16 | (__u32)p[10] << 8 | p[11];
	__s64 arrival, transit, d;

	if ((p[0] >> 6) != 2 || ((p[1] & 0x7f) >= 72 && (p[1] & 0x7f) <= 76))
		return;		/* not RTP, or RTCP on the RTP port: relayed, not analysed */
	arrival = (__s64)(now_ns / 1000 * v->clock / 1000000);
	if (!v->rx_init || ssrc != v->rx_ssrc) {
		v->rx_init = 1;
		v->rx_ssrc = ssrc;
		v->rx_base_seq = seq;
		v->rx_max_seq = seq;
		v->rx_cycles = 0;
		v->rx_received = 1;
		v->rx_jitter16 = 0;
		v->rx_last_transit = arrival - ts;
		return;
	}
	v->rx_received++;
	delta = (__u16)(seq - v->rx_max_seq);
	if (delta < 0x8000) {
		if (seq < v->rx_max_seq)
			v->rx_cycles += 65536;
		v->rx_max_seq = seq;
	}
	transit = arrival - ts;
	d = transit - v->rx_last_transit;
	v->rx_last_transit = transit;
	if (d < 0)
		d = -d;
	if (d < (__s64)v->clock * 10)
		v->rx_jitter16 += (__u64)d - ((v->rx_jitter16 + 8) >> 4);
}

SEC("tc")
int
kfwd_ingress(struct __sk_buff *skb)
{
	struct kfwd_pkt h;
	struct kfwd_leg *v, *peer;
	__u32 key, zero = 0, saddr;
	__u64 *alive, now;

	if (skb->protocol != bpf_htons(ETH_P_IP) || skb->gso_segs > 1 || skb->vlan_present)
		return TC_ACT_UNSPEC;	/* a VLAN-tagged frame belongs to the VLAN's interface */
	if (bpf_skb_load_bytes(skb, 0, &h, sizeof(h)) != 0 || h.eth.h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_UNSPEC;
	if (h.ip.version != 4 || h.ip.ihl != 5 || h.ip.protocol != IPPROTO_UDP ||
	    (h.ip.frag_off & bpf_htons(0x3fff)) != 0)
		return TC_ACT_UNSPEC;
	/* lengths the stack would check: the IP packet within the frame, the UDP datagram its rest */
	if (bpf_ntohs(h.ip.tot_len) > skb->len - ETH_HLEN ||
	    bpf_ntohs(h.udp.len) != bpf_ntohs(h.ip.tot_len) - sizeof(struct iphdr) ||
	    bpf_ntohs(h.udp.len) < sizeof(struct udphdr) + 12)
		return TC_ACT_UNSPEC;
	now = bpf_ktime_get_ns();
	if ((alive = bpf_map_lookup_elem(&kfwd_alive, &zero)) == NULL ||
	    now - *alive > KFWD_ALIVE_NS)
		return TC_ACT_UNSPEC;	/* mediad is gone or stuck: its sockets decide */
	key = bpf_ntohs(h.udp.dest);
	if ((v = bpf_map_lookup_elem(&kfwd_legs, &key)) == NULL)
		return TC_ACT_UNSPEC;
	if ((v->bind_addr != 0 && h.ip.daddr != v->bind_addr) ||
	    h.ip.saddr != v->phone_addr || h.udp.source != v->phone_port)
		return TC_ACT_UNSPEC;	/* not this leg's latched phone */
	if (v->in_ifindex == 0)
		v->in_ifindex = skb->ingress_ifindex;	/* where this phone is */
	else if (v->in_ifindex != skb->ingress_ifindex)
		return TC_ACT_UNSPEC;	/* the same source from elsewhere: not the phone */
	if (v->local_addr != h.ip.daddr)
		v->local_addr = h.ip.daddr;	/* where this phone sends to */
	if ((saddr = v->out_saddr) == 0 || v->out_ifindex == 0) {
		/* learnt from the peer's entry once the peer's packets came through */
		key = bpf_ntohs(v->out_sport);
		if ((peer = bpf_map_lookup_elem(&kfwd_legs, &key)) == NULL ||
		    peer->local_addr == 0 || peer->in_ifindex == 0)
			return TC_ACT_UNSPEC;
		if (saddr == 0)
			v->out_saddr = saddr = peer->local_addr;	/* where the peer sends to */
		v->out_ifindex = peer->in_ifindex;	/* where the peer is */
	}

	__sync_fetch_and_add(&v->pkts, 1);
	__sync_fetch_and_add(&v->bytes, (__u64)bpf_ntohs(h.udp.len) - sizeof(struct udphdr));
	v->last_ns = now;
	kfwd_rx(v, h.rtp, now);

	/* UDP checksum (pseudo-header addresses and ports; 0 stays "none"), then IP */
	bpf_l4_csum_replace(skb, UDP_CSUM, h.ip.saddr, saddr,
	    BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | 4);
	bpf_l4_csum_replace(skb, UDP_CSUM, h.ip.daddr, v->out_daddr,
	    BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | 4);
	bpf_l4_csum_replace(skb, UDP_CSUM, h.udp.source, v->out_sport, BPF_F_MARK_MANGLED_0 | 2);
	bpf_l4_csum_replace(skb, UDP_CSUM, h.udp.dest, v->out_dport, BPF_F_MARK_MANGLED_0 | 2);
	if (h.ip.tos != KFWD_TOS) {
		/* DSCP EF, as mediad's own sockets send (IP_TOS) */
		__u16 oldw, neww;
		__u8 w[2] = { ((__u8 *)&h.ip)[0], KFWD_TOS };

		__builtin_memcpy(&oldw, &h.ip, 2);
		__builtin_memcpy(&neww, w, 2);
		bpf_l3_csum_replace(skb, IP_CSUM, oldw, neww, 2);
		bpf_skb_store_bytes(skb, IP_OFF + 1, &w[1], 1, 0);
	}
	bpf_l3_csum_replace(skb, IP_CSUM, h.ip.saddr, saddr, 4);
	bpf_l3_csum_replace(skb, IP_CSUM, h.ip.daddr, v->out_daddr, 4);
	bpf_skb_store_bytes(skb, IP_SADDR, &saddr, 4, 0);
	bpf_skb_store_bytes(skb, IP_DADDR, &v->out_daddr, 4, 0);
	bpf_skb_store_bytes(skb, UDP_OFF, &v->out_sport, 2, 0);
	bpf_skb_store_bytes(skb, UDP_OFF + 2, &v->out_dport, 2, 0);
	if (v->out_local)
		return TC_ACT_OK;	/* a local address: up the stack to its socket */
	/* out of the peer phone's interface; the kernel finds route and neighbour */
	return bpf_redirect_neigh(v->out_ifindex, NULL, 0, 0);
}

char _license[] SEC("license") = "GPL";
