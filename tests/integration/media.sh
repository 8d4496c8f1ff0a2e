#!/bin/bash
# media.sh — helpers for the media relay tests (relay*.sh), sourced after
# lib.sh: a parley.conf in relay mode with mediad's port range, the RTP
# probe (rtpprobe.py: the phones' RTP sockets), the SDP of messages in a
# sipp trace, "pokes" that move a waiting sipp scenario on, and the rows
# of sipctl's media figures.
#
# Addresses: mediad binds 127.0.0.1 ($MEDIA_IP); the sipp phones keep their
# SIP on 127.0.0.1 but their media on other loopback addresses (caller
# 127.0.0.2, callee 127.0.0.3), so that an SDP or a packet source naming
# mediad cannot be mistaken for one naming the other phone.

RTPPROBE="$PYTHON $IT_DIR/rtpprobe.py"
MEDIA_IP=127.0.0.1
CALLER_IP=127.0.0.2
CALLEE_IP=127.0.0.3

[ -x "$MEDIAD" ] || { echo "Bail out! $MEDIAD not built"; exit 1; }
[ -x "$SIPCTL" ] || { echo "Bail out! $SIPCTL not built"; exit 1; }

# relay_config [FILE] [--pairs N] [--timeout S] [--node NAME] [--mode M]
#              [--endpoint EP] [--ports LO] [--bind IP] [--advertise IP]
#              [--media-more TEXT] [write_config options...]
#   — write_config with media.mode M (default relay), mediad bound to IP
#   (default $MEDIA_IP) with node name NAME (default m1), N relay port
#   pairs (default 20; sets MEDIA_LO and MEDIA_HI, the first and last port,
#   unless --ports gives LO), media.rtp_timeout S (default 60),
#   media.advertise IP (default: none), control.media EP (default this
#   test's ipc://$T/media.sock; may be a list for sipd), TEXT as more
#   lines inside media: { } (codecs …).
relay_config() {
	local file=$CONF pairs=20 timeout=60 node=m1 mode=relay ep="\"ipc://$T/media.sock\"" lo=""
	local bind=$MEDIA_IP adv="" media_more=""
	local -a more=()
	if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
		file=$1
		shift
	fi
	while [ $# -gt 0 ]; do
		case $1 in
		--pairs) pairs=$2; shift 2 ;;
		--timeout) timeout=$2; shift 2 ;;
		--node) node=$2; shift 2 ;;
		--mode) mode=$2; shift 2 ;;
		--endpoint) ep=$2; shift 2 ;;
		--ports) lo=$2; shift 2 ;;
		--bind) bind=$2; shift 2 ;;
		--advertise) adv="
  advertise = \"$2\";"; shift 2 ;;
		--media-more) media_more="
$2"; shift 2 ;;
		*) more+=("$1"); shift ;;
		esac
	done
	if [ -z "$lo" ]; then
		lo=$(free_port $((2 * pairs + 1)))
		lo=$(( (lo + 1) & ~1 ))
	fi
	MEDIA_LO=$lo
	MEDIA_HI=$((lo + 2 * pairs - 1))
	write_config "$file" --media-mode "$mode" --control-media "$ep" --media "
  rtp_ports = [ $MEDIA_LO, $MEDIA_HI ];
  rtp_timeout = $timeout;
  bind = \"$bind\";
  node = \"$node\";$adv$media_more" "${more[@]}"
}

# in_media_range PORT — an even port of mediad's range (RTP, not RTCP)
in_media_range() {
	[[ ${1:-} =~ ^[0-9]+$ ]] && [ "$1" -ge "$MEDIA_LO" ] && [ "$1" -le "$MEDIA_HI" ] &&
	    [ $(($1 % 2)) -eq 0 ]
}

# ---------------------------------------------------------------- probe

PROBE_CTL=$T/probe.sock

# probe_start NAME=IP:PORT... — the RTP probe with one socket per NAME, in
# the background (log $T/probe.log); returns 1 (after a failed TAP line)
# if it does not answer.  PROBE_WRAP (an array, default empty) is put
# before the command, e.g. PROBE_WRAP=(ip netns exec NS) for the phones'
# sockets in a network namespace; its control socket is a file, so probe
# works from anywhere.
PROBE_WRAP=()
probe_start() {
	"${PROBE_WRAP[@]}" $RTPPROBE serve --ctl "$PROBE_CTL" "$@" > "$T/probe.log" 2>&1 &
	_bg_pids+=("$!")
	if $RTPPROBE ctl "$PROBE_CTL" ping --until 'True' --timeout 10 > /dev/null 2>&1; then
		return 0
	fi
	fail "the RTP probe binds its sockets ($*)" "$(cat "$T/probe.log")"
	return 1
}

# probe COMMAND [KEY=VALUE...] [--until EXPR] [--timeout S] — one probe
# command; prints its JSON reply (see rtpprobe.py)
probe() {
	$RTPPROBE ctl "$PROBE_CTL" "$@"
}

# probe_done TAG... — waits until each sender TAG has sent all it had to
probe_done() {
	local tag
	for tag in "$@"; do
		probe sent "tag=$tag" --until 'j["done"]' --timeout 60 > /dev/null || return 1
	done
}

# check_relayed DESC SOCK TAG SRC [since=MARK] — TAP line: socket SOCK got
# every packet sender TAG sent (polled until it has, up to 10 s), each byte
# for byte as sent (SSRC, sequence number, timestamp, payload), none
# twice, and all of them from SRC (ip:port: mediad's port)
check_relayed() {
	local desc=$1 sock=$2 tag=$3 src=$4 out
	shift 4
	out=$(probe verify "sock=$sock" "tag=$tag" "$@" --until 'j["received"] >= j["sent"]' --timeout 10)
	if printf '%s' "$out" | json_test "
j['sent'] > 0 and j['received'] == j['sent'] and j['identical'] == j['sent']
and j['duplicates'] == 0 and j['sources'] == {'$src': j['sent']}"; then
		pass "$desc"
	else
		fail "$desc" "expected every packet of $tag at $sock, unchanged, from $src" "probe: $out"
		return 1
	fi
}

# check_silent DESC SOCK [since=MARK] — TAP line: nothing arrived at SOCK
check_silent() {
	local desc=$1 sock=$2 out
	shift 2
	out=$(probe got "sock=$sock" "$@")
	if printf '%s' "$out" | json_test "j['pkts'] == 0"; then
		pass "$desc"
	else
		fail "$desc" "probe: $out"
		return 1
	fi
}

# ------------------------------------------------------------ sipp side

# offer_keys K IP AUDIO RTCP VIDEO DIR — the sipp -key arguments of SDP
# offer (or answer) K of the relay_* scenarios
offer_keys() {
	echo "-key ip$1 $2 -key a$1 $3 -key ac$1 $4 -key v$1 $5 -key d$1 $6"
}

# trace_count NAME DIR START_REGEX [--has REGEX] — how many such messages
trace_count() {
	local name=$1
	shift
	$SIPMSG trace "$T/$name.msg" "$@" --count
}

# wait_trace NAME N DIR START_REGEX [--has REGEX] — until sipp NAME's
# trace has at least N such messages (up to 30 s); returns 1 if never
wait_trace() {
	local name=$1 n=$2 i
	shift 2
	for ((i = 0; i < 300; i++)); do
		[ "$(trace_count "$name" "$@" 2>/dev/null || echo 0)" -ge "$n" ] && return 0
		sleep 0.1
	done
	return 1
}

# save_msg LABEL NAME DIR START_REGEX [--nth N] [--has REGEX] — stores a
# message of sipp NAME's trace as $T/msg/LABEL (empty if there is none)
save_msg() {
	local label=$1 name=$2
	shift 2
	mkdir -p "$T/msg"
	sipp_trace "$name" "$@" > "$T/msg/$label" 2>/dev/null
}

# sdp LABEL KEY... — fields of the SDP of a saved message (sipmsg.py sdp),
# on one line separated by spaces (a missing stream's field is empty)
sdp() {
	local label=$1 k
	local -a a=()
	shift
	for k in "$@"; do
		a+=(--get "$k")
	done
	$SIPMSG sdp "${a[@]}" < "$T/msg/$label" | paste -sd ' '
}

# poke NAME N [DIR START_REGEX [--has REGEX]] — moves sipp NAME (a
# relay_uac* caller) past its next <recv request="INFO"/>: waits until
# NAME's trace has N messages like the one just before that INFO (by
# default: sent ACKs), so sipp is waiting for the INFO and not for
# something else it would abort on; then sends it an INFO with its
# Call-ID straight from the test, and waits until NAME's trace shows it.
# Returns 1 (after a failed TAP line) if any of that does not happen.
poke() {
	local name=$1 n=$2 cid port i
	local -a after=(sent '^ACK')
	shift 2
	[ $# -gt 0 ] && after=("$@")
	if ! wait_trace "$name" "$n" "${after[@]}"; then
		fail "sipp $name reaches its next step (${after[*]} number $n)" "$(sipp_diag "$name")"
		return 1
	fi
	i=$(( $(trace_count "$name" recv '^INFO') + 1 ))
	cid=$(sipp_callid "$name")
	port=$(sipp_port "$name")
	printf '%s\n' "INFO sip:test@127.0.0.1:$port SIP/2.0" \
	    "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-poke-$i-$RANDOM" \
	    "From: <sip:test@127.0.0.1>;tag=poke$i" \
	    "To: <sip:test@127.0.0.1:$port>" \
	    "Call-ID: $cid" \
	    "CSeq: $i INFO" \
	    "Max-Forwards: 70" \
	    "Content-Length: 0" "" |
	    $SIPMSG send 127.0.0.1 "$port" - --timeout 0.05 > /dev/null 2>&1
	if ! wait_trace "$name" "$i" recv '^INFO'; then
		fail "sipp $name gets the test's poke (INFO $i)" "$(sipp_diag "$name")"
		return 1
	fi
}

# poke's condition before relay_uac.xml hangs up: the 200 to its UPDATE
UPDATED=(recv '^SIP/2.0 200' --has '^CSeq:.*UPDATE')

# ------------------------------------------------------- sipctl figures

# media_rows CALL-ID — the rows of `sipctl --json media stats` for the call
# (a JSON list; "[]" if there are none or sipctl fails)
media_rows() {
	sipctl --json media stats 2>/dev/null |
	    json_print "[s for s in j['streams'] if s.get('call') == '$1']" 2>/dev/null || echo '[]'
}

# media_row CALL-ID LEG KIND — the first row of that leg and kind ("null")
media_row() {
	media_rows "$1" | json_print "([s for s in j if s.get('leg') == '$2' and s.get('kind') == '$3'] or [None])[0]"
}

# call_listed CALL-ID — sipctl calls lists the call
call_listed() {
	sipctl --json calls 2>/dev/null | json_test "any(c.get('call_id') == '$1' for c in j['calls'])"
}

# ------------------------------------------------ in-kernel forwarding

# node_kernel — ["on"|"off", legs in the kernel] of node m1 (sipctl status)
node_kernel() {
	sipctl --json status 2>/dev/null |
	    json_print "([(n.get('kernel'), n.get('kernel_legs')) for n in j['media_nodes'] if n.get('node') == 'm1'] or [None])[0]"
}

# kernel_legs N — node m1 forwards in the kernel with N legs there
kernel_legs() { [ "$(node_kernel)" = "[\"on\", $1]" ]; }

# need_kernel DESC — TAP line DESC if node m1 forwards in the kernel (0
# legs); else the reason from mediad's log and a skip of the rest
need_kernel() {
	if kernel_legs 0; then
		pass "$1"
		return 0
	fi
	diag "sipctl status: $(node_kernel)"
	diag "mediad: $(grep -h 'kfwd' "$T"/mediad-m1.*.log 2>/dev/null | tail -n 3)"
	skip "in-kernel forwarding is not available here (see mediad's log line above)"
	done_testing
}

# leg_paths CALL-ID — "caller-path callee-path" of the call's rows ("kernel", "user")
leg_paths() {
	media_rows "$1" | json_print "' '.join(str(r.get('path')) for r in sorted(j, key=lambda r: r['leg']))"
}

_in_kernel() { [ "$(leg_paths "$1")" = "kernel kernel" ]; }

# check_in_kernel DESC CALL-ID — TAP line: within 3 s both legs of the
# call are forwarded in the kernel (media stats path=kernel)
check_in_kernel() {
	if wait_until 30 _in_kernel "$2"; then
		pass "$1"
	else
		fail "$1" "$(media_rows "$2")" "--- mediad log:" "$(tail -n 20 "$MEDIAD_LOG")"
	fi
}
