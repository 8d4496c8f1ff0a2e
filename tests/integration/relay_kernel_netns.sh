#!/bin/bash
# relay_kernel_netns.sh — mediad's in-kernel forwarding to phones that are
# not on the PBX host: the program's bpf_redirect_neigh path (out of the
# interface the packet came in on, route and ARP by the kernel), which the
# loopback tests (relay_kernel.sh) never take.  Run as root (skipped
# otherwise, without `ip netns`, or when mediad logs that in-kernel
# forwarding is off).
#
# Two network namespaces of the test's own, joined by one veth pair and
# removed on every exit: PBX (pbx0, 10.231.0.1/24), where mediad runs bound
# to 10.231.0.1 with its program on pbx0 only, IP forwarding off as on a
# PBX; PHONES (ph0, 10.231.0.2/24 and 10.231.0.3/24: two desk phones on
# one office LAN), where rtpprobe.py holds the phones' RTP sockets.  ph0
# computes its UDP checksums itself (tx checksumming off), so the phones'
# stack verifies every checksum the program rewrote.  sipd and sipp stay
# on 127.0.0.1 in the root namespace; mediad's and the probe's control
# sockets are files.  No other address or interface is touched.
#
# Asserted: mediad attaches to pbx0 (tc filter) and sipctl status says
# kernel on; 1001 calls 1002 in relay mode and each phone's SDP names
# 10.231.0.1 and a mediad port; 250 packets each way (the first ones
# latch in userspace), then sipctl media stats says path=kernel for both
# legs and sipctl status 2 kernel legs; each phone gets every packet of
# the other byte for byte from 10.231.0.1:<mediad's port facing it>; 200
# more each way with both legs in the kernel also all arrive, while the
# PBX namespace's UDP counters do not move (no datagram reached mediad or
# left it: the kernel forwarded them) and the phones' stack counts no
# checksum error; with the PBX's ARP entries flushed, 50 more each way
# also arrive without a datagram through its UDP stack (the kernel
# resolves the phones again itself); media stats and the journal's
# call-end by=timeout count 500 packets each way, none lost; no leg is
# left in the kernel; mediad removes its filter at exit; mediad and sipd
# stop cleanly; the namespaces are gone.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/media.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (network namespaces, mediad's tc program)"
need sipp ip
ip netns list > /dev/null 2>&1 || skip_all "ip netns is not available"

NS_PBX=pk-pbx-$$
NS_PH=pk-ph-$$
PBX_IP=10.231.0.1
A_IP=10.231.0.2
B_IP=10.231.0.3
at_exit "ip netns del $NS_PBX; ip netns del $NS_PH"

# tx_csum_off IFACE — in the PHONES namespace, IFACE's UDP checksums are
# computed in software (ethtool -K IFACE tx off, without ethtool): the
# packets carry a real checksum and the receiving stack checks it, where
# veth would otherwise pass them as "checksum offloaded", unchecked
tx_csum_off() {
	ip netns exec "$NS_PH" "$PYTHON" -c '
import array, fcntl, socket, struct, sys
SIOCETHTOOL, ETHTOOL_GTXCSUM, ETHTOOL_STXCSUM = 0x8946, 0x16, 0x17
def ethtool(cmd, data=0):
    buf = array.array("B", struct.pack("II", cmd, data))
    ifr = struct.pack("16sP", sys.argv[1].encode(), buf.buffer_info()[0]).ljust(40, b"\0")
    fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifr)
    return struct.unpack("II", buf.tobytes())[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
ethtool(ETHTOOL_STXCSUM, 0)
sys.exit(ethtool(ETHTOOL_GTXCSUM) != 0)' "$1"
}

netns_setup() {
	ip netns add "$NS_PBX" && ip netns add "$NS_PH" &&
	ip -n "$NS_PBX" link add pbx0 type veth peer name ph0 netns "$NS_PH" &&
	ip -n "$NS_PBX" addr add $PBX_IP/24 dev pbx0 &&
	ip -n "$NS_PH" addr add $A_IP/24 dev ph0 &&
	ip -n "$NS_PH" addr add $B_IP/24 dev ph0 &&
	ip -n "$NS_PBX" link set lo up && ip -n "$NS_PH" link set lo up &&
	ip -n "$NS_PBX" link set pbx0 up && ip -n "$NS_PH" link set ph0 up
}
if ! out=$(netns_setup 2>&1); then
	skip_all "cannot set up network namespaces here: $out"
fi
tx_csum_off ph0 || diag "could not turn ph0's tx checksumming off: checksums are not verified"
fwd=$(ip netns exec "$NS_PBX" cat /proc/sys/net/ipv4/ip_forward)

# in_pbx CMD... / in_phones CMD... — CMD in that namespace
in_pbx() { ip netns exec "$NS_PBX" "$@"; }
in_phones() { ip netns exec "$NS_PH" "$@"; }

# udp_counters NS FIELD... — those fields of the Udp line of NS's /proc/net/snmp
udp_counters() {
	local ns=$1
	shift
	ip netns exec "$ns" awk -v want="$*" '
	$1 == "Udp:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
	$1 == "Udp:" { n = split(want, w, " "); s = ""
	    for (i = 1; i <= n; i++) s = s (i > 1 ? " " : "") $col[w[i]]; print s }' /proc/net/snmp
}

TMO=4
relay_config --pairs 10 --timeout $TMO --bind $PBX_IP --kernel-interfaces '[ "pbx0" ]'
start_sipd || exit 1
MEDIAD_WRAP=(ip netns exec "$NS_PBX")
start_mediad m1 || exit 1

need_kernel "sipctl status: node m1 (in the PBX namespace) forwards in the kernel (kernel on, 0 legs)"
filters=$(in_pbx tc filter show dev pbx0 ingress 2>&1)
if printf '%s\n' "$filters" | grep -q "bpf .*kfwd_ingress.*direct-action" &&
    grep -q "kfwd: in-kernel forwarding on (tc ingress of pbx0," "$MEDIAD_LOG"; then
	pass "mediad's program is on pbx0's ingress, and only there (PBX namespace, ip_forward=$fwd)"
else
	fail "mediad's program is on pbx0's ingress, and only there" "tc: $filters" \
	    "mediad: $(grep kfwd "$MEDIAD_LOG")"
fi

a=$(free_port 2); b=$(free_port 2)
PROBE_WRAP=(ip netns exec "$NS_PH")
probe_start a=$A_IP:$a ac=$A_IP:$((a + 1)) b=$B_IP:$b bc=$B_IP:$((b + 1)) || exit 1


# ------------------------------------------------ the call
phone callee 1002 relay_uas_bye.xml $(offer_keys 0 $B_IP $b $((b + 1)) 0 sendrecv) || exit 1
sipp_start caller --user 1001 --to 1002 relay_uac_bye.xml \
    $(offer_keys 0 $A_IP $a $((a + 1)) 0 sendrecv)
cid=$(sipp_callid caller)
if ! wait_trace caller 2 sent '^ACK'; then
	fail "1001 ($A_IP) calls 1002 ($B_IP) in relay mode" "$(sipp_diag caller)" "$(sipp_diag callee)"
	exit 1
fi
save_msg inv callee recv '^INVITE'
save_msg 200 caller recv '^SIP/2.0 200' --has '^CSeq:.*INVITE'
MB=$(sdp inv audio.port)
MA=$(sdp 200 audio.port)
pass "1001 ($A_IP) calls 1002 ($B_IP) in relay mode"
if [ "$(sdp inv c)" = $PBX_IP ] && in_media_range "$MB"; then
	pass "the INVITE reaching 1002 names mediad's $PBX_IP:$MB, not 1001's $A_IP"
else
	fail "the INVITE reaching 1002 names mediad's $PBX_IP, not 1001's $A_IP" "$(cat "$T/msg/inv")"
fi
if [ "$(sdp 200 c)" = $PBX_IP ] && in_media_range "$MA"; then
	pass "the 200 reaching 1001 names mediad's $PBX_IP:$MA, not 1002's $B_IP"
else
	fail "the 200 reaching 1001 names mediad's $PBX_IP, not 1002's $B_IP" "$(cat "$T/msg/200")"
fi

# ------------------------------------------------ 1: latching, into the kernel
probe send sock=a to=$PBX_IP:$MA ssrc=0xA11CE001 count=250 tag=a1 > /dev/null
probe send sock=b to=$PBX_IP:$MB ssrc=0xB0B00001 count=250 tag=b1 > /dev/null
check_in_kernel "once both phones are latched, media stats says path=kernel for both legs" "$cid"
wait_until 30 kernel_legs 2
check_eq "sipctl status: kernel on, 2 legs in the kernel" '["on", 2]' "$(node_kernel)"
probe_done a1 b1
check_relayed "1002 ($B_IP) gets all 250 of 1001's packets unchanged, from mediad's $PBX_IP:$MB" b a1 "$PBX_IP:$MB"
check_relayed "1001 ($A_IP) gets all 250 of 1002's packets unchanged, from mediad's $PBX_IP:$MA" a b1 "$PBX_IP:$MA"

# ------------------------------------------------ 2: in the kernel only
check_eq "the legs are still in the kernel" "kernel kernel" "$(leg_paths "$cid")"
udp0=$(udp_counters "$NS_PBX" InDatagrams OutDatagrams NoPorts InErrors)
# both_ways PHASE N SEQ TS DESC — both phones send N more packets (from
# sequence number SEQ, timestamp TS); TAP lines: each gets all of the
# other's, unchanged, from mediad's port facing it
both_ways() {
	local mk_a mk_b
	mk_a=$(probe mark sock=a | json_print "j['mark']")
	mk_b=$(probe mark sock=b | json_print "j['mark']")
	probe send sock=a to=$PBX_IP:$MA ssrc=0xA11CE001 count=$2 interval=10 seq=$3 ts=$4 tag=a$1 > /dev/null
	probe send sock=b to=$PBX_IP:$MB ssrc=0xB0B00001 count=$2 interval=10 seq=$3 ts=$4 tag=b$1 > /dev/null
	probe_done a$1 b$1
	check_relayed "$5: 1002 gets $2 more of 1001's packets unchanged, from $PBX_IP:$MB" \
	    b a$1 "$PBX_IP:$MB" since=$mk_b
	check_relayed "$5: 1001 gets $2 more of 1002's packets unchanged, from $PBX_IP:$MA" \
	    a b$1 "$PBX_IP:$MA" since=$mk_a
}
both_ways 2 200 1250 200000 "in the kernel"
udp1=$(udp_counters "$NS_PBX" InDatagrams OutDatagrams NoPorts InErrors)
diag "PBX namespace Udp InDatagrams OutDatagrams NoPorts InErrors: before $udp0, after $udp1"
check_eq "none of those 400 packets went through the PBX namespace's UDP stack (Udp InDatagrams OutDatagrams NoPorts InErrors unchanged): the kernel forwarded them" \
    "$udp0" "$udp1"

# ------------------------------------------------ 3: ARP by the kernel
# the PBX forgets the phones' MAC addresses: bpf_redirect_neigh asks again
in_pbx ip neigh flush dev pbx0
check_eq "the PBX namespace's neighbour entries for the phones are flushed" "" \
    "$(in_pbx ip neigh show dev pbx0 | awk -v a=$A_IP -v b=$B_IP '($1 == a || $1 == b) && $NF != "FAILED"')"
both_ways 3 50 1450 232000 "with the ARP entries gone"
udp2=$(udp_counters "$NS_PBX" InDatagrams OutDatagrams NoPorts InErrors)
check_eq "... the kernel resolved the phones itself: still no datagram through the PBX namespace's UDP stack" \
    "$udp0" "$udp2"
nb=$(in_pbx ip neigh show dev pbx0 | awk -v a=$A_IP -v b=$B_IP '$1 == a || $1 == b { print $1, $NF }' | sort | paste -sd ' ')
diag "PBX namespace neighbours: $nb"
if [[ $nb =~ ^$A_IP\ (REACHABLE|STALE|DELAY|PROBE)\ $B_IP\ (REACHABLE|STALE|DELAY|PROBE)$ ]]; then
	pass "the PBX namespace has neighbour entries for both phones again"
else
	fail "the PBX namespace has neighbour entries for both phones again" "$(in_pbx ip neigh show dev pbx0)"
fi
check_eq "the phones' stack found no bad UDP checksum (Udp InCsumErrors InErrors)" "0 0" \
    "$(udp_counters "$NS_PH" InCsumErrors InErrors)"
rows=$(media_rows "$cid")
diag "media stats: $rows"
if printf '%s' "$rows" | json_test "
[c['pkts_in'] == 500 and c['pkts_out'] == 500 and e['pkts_in'] == 500 and e['pkts_out'] == 500 and
c['bytes_in'] == e['bytes_out'] and c['bytes_out'] == e['bytes_in'] and c['bytes_in'] in (500 * 172, 500 * 160) and
c['lost'] == 0 and e['lost'] == 0 and
c['latched'] == '$A_IP:$a' and e['latched'] == '$B_IP:$b' and c['path'] == e['path'] == 'kernel'
 for c in j if c['leg'] == 'caller' for e in j if e['leg'] == 'callee'] == [True]"; then
	pass "media stats: 500 packets in and out on each leg, none lost, latched to $A_IP:$a and $B_IP:$b"
else
	fail "media stats: 500 packets in and out on each leg, none lost" "$rows"
fi

# ------------------------------------------------ the end
sipp_wait caller
check_sipp "after the media stopped, 1001 gets sipd's BYE (RTP timeout)" caller $?
sipp_wait callee
check_sipp "... and 1002 too" callee $?
check_journal "call-end by=timeout with the kernel's packet counts (500 each way, none lost)" \
    call-end "call=$cid" by=timeout caller_pkts=500 callee_pkts=500 caller_lost=0 callee_lost=0
wait_until 30 kernel_legs 0
check_eq "sipctl status: no leg left in the kernel" '["on", 0]' "$(node_kernel)"

probe quit > /dev/null 2>&1
stop_mediad m1
check_eq "mediad removed its program from pbx0 at exit" "" "$(in_pbx tc filter show dev pbx0 ingress 2>&1)"
stop_sipd
ip netns del "$NS_PBX"
ip netns del "$NS_PH"
left=$(ip netns list | awk -v a="$NS_PBX" -v b="$NS_PH" '$1 == a || $1 == b')
check_eq "the test's network namespaces are gone" "" "$left"
done_testing
