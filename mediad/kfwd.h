/*
 * kfwd.h — the map entry shared by mediad (kfwd.c) and its in-kernel
 * forwarding program (kfwd.bpf.c): one per relayed leg, keyed by mediad's
 * RTP port that leg's phone sends to.  Addresses and ports in network
 * order; mediad writes the first block, the program the rest.
 */
#ifndef PARLEY_KFWD_H
#define PARLEY_KFWD_H

#include <linux/types.h>

#define KFWD_LEGS_MAX	65536	/* two per relayed stream */

struct kfwd_leg {
	/* set by mediad */
	__u32	bind_addr;	/* mediad's RTP bind address, 0: any */
	__u32	phone_addr;	/* the latched phone: only its packets are forwarded */
	__u16	phone_port;
	__u16	out_sport;	/* mediad's RTP port facing the peer (its entry's key) */
	__u32	out_daddr;	/* the peer phone, latched */
	__u16	out_dport;
	__u16	out_local;	/* 1: the peer phone is at an address of this host */
	__u32	out_saddr;	/* mediad's address toward the peer, 0: learn it */
	__u32	clock;		/* RTP clock rate, Hz */
	/* kept by the program */
	__u32	local_addr;	/* where this phone's packets were sent to */
	__u32	in_ifindex;	/* the interface they come in on (the first one seen) */
	__u32	out_ifindex;	/* ... the peer's: where packets for the peer leave */
	__u32	pad2;
	__u64	pkts, bytes;	/* forwarded; bytes of UDP payload */
	__u64	last_ns;	/* CLOCK_MONOTONIC of the last one */
	/* RFC 3550 A.1 / A.8, as struct rtp_rx */
	__u32	rx_init, rx_ssrc;
	__u32	rx_max_seq, rx_cycles, rx_base_seq, rx_pad;
	__u64	rx_received;
	__s64	rx_last_transit;
	__u64	rx_jitter16;
};

#endif
