/*
 * kernel_relay.bpf.c — an experiment for issue 3, not part of Parley:
 * how cheap an RTP relay is when the kernel forwards the packets.  A tc
 * (cls_bpf, direct-action) program on lo's ingress looks up each UDP
 * packet's destination port in relay_map (a relay port, as mediad would
 * have one per leg) and rewrites source and destination (address and
 * port) to what the map says, so the stack delivers it to the other
 * phone's socket as if the relay port had sent it.  Packets of ports not
 * in the map pass untouched.  Loaded and measured by
 * tests/bench/kernel_relay.sh; built by it with clang -target bpf.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct fwd {
	__u32 saddr, daddr;	/* network order */
	__u16 sport, dport;	/* network order */
	__u64 pkts, bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u16);		/* relay port, network order */
	__type(value, struct fwd);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} relay_map SEC(".maps");

#define IP_CSUM_OFF (ETH_HLEN + __builtin_offsetof(struct iphdr, check))
#define IP_SRC_OFF (ETH_HLEN + __builtin_offsetof(struct iphdr, saddr))
#define IP_DST_OFF (ETH_HLEN + __builtin_offsetof(struct iphdr, daddr))

SEC("tc")
int relay(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct udphdr *udp;
	struct fwd *f;
	__u32 old_s, old_d;
	__u16 old_sp, old_dp;
	int l4;

	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->protocol != 17 || ip->ihl != 5)
		return TC_ACT_OK;
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end)
		return TC_ACT_OK;
	f = bpf_map_lookup_elem(&relay_map, &udp->dest);
	if (f == NULL)
		return TC_ACT_OK;
	old_s = ip->saddr; old_d = ip->daddr; old_sp = udp->source; old_dp = udp->dest;
	l4 = ETH_HLEN + sizeof(struct iphdr);
	/* UDP checksum: pseudo-header addresses and ports */
	bpf_l4_csum_replace(skb, l4 + 6, old_s, f->saddr, BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | 4);
	bpf_l4_csum_replace(skb, l4 + 6, old_d, f->daddr, BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | 4);
	bpf_l4_csum_replace(skb, l4 + 6, old_sp, f->sport, BPF_F_MARK_MANGLED_0 | 2);
	bpf_l4_csum_replace(skb, l4 + 6, old_dp, f->dport, BPF_F_MARK_MANGLED_0 | 2);
	bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_s, f->saddr, 4);
	bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_d, f->daddr, 4);
	bpf_skb_store_bytes(skb, IP_SRC_OFF, &f->saddr, 4, 0);
	bpf_skb_store_bytes(skb, IP_DST_OFF, &f->daddr, 4, 0);
	bpf_skb_store_bytes(skb, l4 + 0, &f->sport, 2, 0);
	bpf_skb_store_bytes(skb, l4 + 2, &f->dport, 2, 0);
	__sync_fetch_and_add(&f->pkts, 1);
	__sync_fetch_and_add(&f->bytes, skb->len);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
