#!/bin/bash
# tests/bench/run.sh — sipd against Kamailio, same sipp scenarios, one run.
#
#   tests/bench/run.sh [BUILD_DIR]        (BUILD_DIR default: /work/main/build,
#                                          or $BUILD; sipd is BUILD_DIR/sipd/sipd)
#
# For each server (Kamailio first, then sipd) and each scenario it finds the
# highest call rate sipp sustains with 0 failed calls: each step sends
# rate x STEP_SECONDS calls (sipp -r RATE -m COUNT), the rate doubles until a
# step fails, then it is bisected.  A step passes when the calling sipp exits
# 0, reports 0 failed calls, every call succeeded, and sipp really reached
# >= 95 % of the target rate (a sipp that cannot keep up fails the step, and
# the step is marked sipp-bound when sipp used >= 90 % of a CPU).  A step that
# fell short of the rate, or ran while other programs used >= 15 % CPU, is
# tried once more.  Every search starts on a freshly started server.
#
# CPU: the server's utime+stime (all its processes, /proc/PID/stat) around
# each step.  The comparable figure comes from one more step per scenario at a
# common rate (half Kamailio's maximum) on a freshly started server, counting
# the CPU until TAIL_SECONDS after the step (transactions linger 32 s after
# their answer, and expiring them is part of the cost).
#
# Scenarios (sipp files beside this script):
#   reg-auth    REGISTER -> 401 -> REGISTER with digest -> 200   (2 transactions)
#   call-auth   INVITE -> 407 -> ACK, INVITE with Proxy-Authorization -> 100
#               -> 180 -> 200 -> ACK -> BYE -> 200 between two sipp (3 transactions)
#   reg-plain   REGISTER -> 200, server with auth off            (1 transaction)
#   call-plain  INVITE -> 100 -> 180 -> 200 -> ACK -> BYE -> 200, auth off
#               (2 transactions; only with CALL_PLAIN=1)
# (ACK is not counted as a transaction.)
#
# Everything runs on 127.0.0.1 with explicit ports (BASE_PORT .. BASE_PORT+12
# and BASE_PORT+1000 .. +1110 for sipp's media ports); sipp 3.6 binds its
# control socket (-cp, BASE_PORT+11/+12) on every address and has no option
# against it, nothing is sent there.  Output: a table on
# stdout, the section "## sipd vs Kamailio" of docs/benchmarks.md (unless
# NO_DOC=1), and every step's sipp files under $OUT (printed at the end).
#
# Environment knobs (defaults):
#   STEP_SECONDS=5  seconds of traffic per step
#   TIME_BUDGET=900 seconds for the whole run, half per server; searches
#                   that would start later are skipped
#   ONLY=           "kamailio" or "sipd" to run one server only
#   CALL_PLAIN=0    also search calls without auth
#   SCENARIOS="reg-auth call-auth reg-plain"   which searches to run
#   MAX_REG=60000 MAX_CALL=12000     highest rates tried
#   START_REG=4000 START_CALL=1000   first rates tried
#   NREG=10000 NPAIRS=5000           registering users, caller/callee pairs
#   SEARCH_BUDGET=90 MAX_STEPS=12 PRECISION=5   per search: seconds, steps, %
#   TAIL_SECONDS=33  CPU counted after a common-rate step
#   BASE_PORT=25060  NO_DOC=0
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUILD=${1:-${BUILD:-$TOP/build}}
SIPD=$BUILD/sipd/sipd
KAMAILIO=${KAMAILIO:-kamailio}
SIPP=${SIPP:-sipp}

STEP_SECONDS=${STEP_SECONDS:-5}
TIME_BUDGET=${TIME_BUDGET:-900}
ONLY=${ONLY:-}
CALL_PLAIN=${CALL_PLAIN:-0}
SCENARIOS=${SCENARIOS:-reg-auth call-auth reg-plain$([ "$CALL_PLAIN" = 1 ] && echo " call-plain")}
MAX_REG=${MAX_REG:-60000}
MAX_CALL=${MAX_CALL:-12000}
START_REG=${START_REG:-4000}
START_CALL=${START_CALL:-1000}
NREG=${NREG:-10000}
NPAIRS=${NPAIRS:-5000}
BASE_PORT=${BASE_PORT:-25060}
NO_DOC=${NO_DOC:-0}
MAX_STEPS=${MAX_STEPS:-12}	# per search
SEARCH_BUDGET=${SEARCH_BUDGET:-90}	# seconds per search
TAIL_SECONDS=${TAIL_SECONDS:-33}	# after a common-rate step, CPU counted this long
PRECISION=${PRECISION:-5}	# stop bisecting at this % of the rate

DOMAIN=bench.local
HOST=127.0.0.1
KAM_PORT=$BASE_PORT
SIPD_PORT=$((BASE_PORT + 10))
UAC_PORT=$((BASE_PORT + 1))
UAS_PORT=$((BASE_PORT + 2))
UAC_CPORT=$((BASE_PORT + 11))
UAS_CPORT=$((BASE_PORT + 12))
UAC_MPORT=$((BASE_PORT + 1000))
UAS_MPORT=$((BASE_PORT + 1100))
NUSERS=$((NREG + 2 * NPAIRS))	# users 1001 .. 1000+NUSERS
HZ=$(getconf CLK_TCK)
ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)

T0=$(date +%s)
TSTART=$T0
OUT=$(mktemp -d /tmp/parley-bench.XXXXXX)
SERVER_PID=
SERVER_PIDS=
SERVER_NAME=
BG_PIDS=

BENCH=run.sh
. "$HERE/lib.sh"
now() { date +%s.%N; }
elapsed() { echo $(( $(date +%s) - TSTART )); }

cleanup() {
	local p
	for p in $BG_PIDS; do pkill -P "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
	stop_server
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v "$SIPP" >/dev/null || die "sipp not found (apt-get install sip-tester)"

# ------------------------------------------------------------------ users

mkcsv() {
	local i c
	{
		echo SEQUENTIAL
		for ((i = 1001; i < 1001 + NREG; i++)); do
			echo "$i;[authentication username=$i password=pw$i];$DOMAIN"
		done
	} > "$OUT/users.csv"
	{
		echo SEQUENTIAL
		for ((i = 0; i < NPAIRS; i++)); do
			c=$((1001 + NREG + i))
			echo "$c;[authentication username=$c password=pw$c];$DOMAIN"
		done
	} > "$OUT/callees.csv"
	{
		echo SEQUENTIAL
		for ((i = 0; i < NPAIRS; i++)); do
			c=$((1001 + NREG + NPAIRS + i))
			echo "$c;[authentication username=$c password=pw$c];$DOMAIN;$((1001 + NREG + i))"
		done
	} > "$OUT/calls.csv"
}

sipd_conf() {	# $1 = auth true|false
	local i
	{
		cat <<EOF
# generated by tests/bench/run.sh
sip: {
  listen = [ "udp:$HOST:$SIPD_PORT" ];
  domain = "$DOMAIN";
  auth = $1;
  min_expires = 60;
  max_expires = 3600;
  default_expires = 3600;
  nonce_ttl = 300;
};
media: { mode = "p2p"; };
recording: { dir = "$OUT/rec"; calls = false; rooms = false; };
journal: { path = "$OUT/sipd-calls.log"; format = "text"; };
control: {
  sipctl = "ipc://$OUT/sipctl.sock";
  media = "ipc://$OUT/media.sock";
  recorder = "ipc://$OUT/recorder.sock";
};
log: { level = "warning"; };
users = (
EOF
		for ((i = 1001; i < 1001 + NUSERS; i++)); do
			[ $i -gt 1001 ] && echo ","
			printf '  { name = "%d"; password = "pw%d"; }' $i $i
		done
		printf '\n);\n'
	} > "$OUT/sipd-$1.conf"
}

# ------------------------------------------------------------------ CPU

# utime+stime (ticks) summed over the given pids
cpu_ticks() {
	local p s sum=0 rest
	for p in "$@"; do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		rest=${s##*) }	# fields from 3 on; comm may hold spaces
		set -- $rest
		sum=$((sum + ${12} + ${13}))
	done
	echo $sum
}

# busy ticks of the whole machine (all CPUs), from /proc/stat
machine_ticks() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# ticks a `time` file (user sys real) accounts for
time_ticks() {
	awk -v hz=$HZ '{ printf "%d", ($1 + $2) * hz }' "$1" 2>/dev/null || echo 0
}

children_of() {	# pid and its children (Kamailio forks its workers)
	local p=$1
	echo "$p $(pgrep -P "$p" | tr '\n' ' ')"
}

# Wait (at most $1 s) until the server uses under 2 % of a CPU over a second:
# the work a step leaves behind (transactions kept 32 s, timers) is done.
wait_idle() {
	local max=$1 i a b
	for ((i = 0; i < max; i++)); do
		a=$(cpu_ticks $SERVER_PIDS)
		sleep 1
		b=$(cpu_ticks $SERVER_PIDS)
		[ $((b - a)) -le $((HZ / 50)) ] && return 0
	done
	return 1
}

udp_bound() {	# port
	ss -Hunl "sport = :$1" 2>/dev/null | grep -q .
}

wait_port() {	# port pid
	local i
	for ((i = 0; i < 100; i++)); do
		udp_bound "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# ------------------------------------------------------------------ servers

start_kamailio() {	# $1 = auth|noauth
	local def=
	[ "$1" = noauth ] && def="-A NOAUTH"
	udp_bound $KAM_PORT && die "port $KAM_PORT is in use"
	$KAMAILIO -f "$HERE/kamailio.cfg" -DD -E -m 1024 -M 64 \
	    -l "udp:$HOST:$KAM_PORT" -A NUSERS=$NUSERS $def \
	    >> "$OUT/kamailio-$1.log" 2>&1 &
	SERVER_PID=$!
	SERVER_NAME=kamailio
	wait_port $KAM_PORT $SERVER_PID || { tail "$OUT/kamailio-$1.log" >&2; die "kamailio did not start"; }
	sleep 0.5
	SERVER_PIDS=$(children_of $SERVER_PID)
	SERVER_PORT=$KAM_PORT
}

start_sipd() {	# $1 = auth|noauth
	local a=true
	[ "$1" = noauth ] && a=false
	[ -x "$SIPD" ] || die "no sipd at $SIPD (build first, or pass the build dir)"
	udp_bound $SIPD_PORT && die "port $SIPD_PORT is in use"
	sipd_conf $a
	"$SIPD" -f -c "$OUT/sipd-$a.conf" >> "$OUT/sipd-$1.log" 2>&1 &
	SERVER_PID=$!
	SERVER_NAME=sipd
	wait_port $SIPD_PORT $SERVER_PID || { tail "$OUT/sipd-$1.log" >&2; die "sipd did not start"; }
	sleep 0.3
	SERVER_PIDS=$(children_of $SERVER_PID)
	SERVER_PORT=$SIPD_PORT
}

stop_server() {
	bench_stop "$SERVER_PID" 5
	SERVER_PID=
}

server_alive() { kill -0 "$SERVER_PID" 2>/dev/null; }

# Another program bound to the server's port too (SO_REUSEADDR/REUSEPORT lets
# a second server start silently and take part of the traffic)?
port_shared() {
	[ "$(ss -Hunlp "sport = :$SERVER_PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | sort -u | grep -vc "pid=\($(echo $SERVER_PIDS | sed 's/ /\\|/g')\)\$")" -gt 0 ]
}

# ------------------------------------------------------------------ sipp

SIPP_COMMON="-i $HOST -nostdin -default_behaviors abortunexp -recv_timeout 5000 -buff_size 4194304 -trace_err -trace_stat -trace_screen"

# field of the last line of a sipp -trace_stat file, by column name
stat_field() {	# file name
	awk -F';' -v n="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == n) c = i; next }
	    { last = $c } END { print (last == "" ? "?" : last) }' "$1" 2>/dev/null
}

# sipp in the foreground, timed: $1 = tag, rest = sipp args; sets SIPP_RC, SIPP_CPU (%)
run_sipp() {
	local tag=$1; shift
	local t0 t1
	t0=$(now)
	( TIMEFORMAT='%U %S %R'; time "$SIPP" "$@" > /dev/null 2> "$OUT/$tag.err" ) 2> "$OUT/$tag.time"
	SIPP_RC=$?
	SIPP_CPU=$(awk '{ if ($3 > 0) printf "%d", 100 * ($1 + $2) / $3; else print 0 }' "$OUT/$tag.time" 2>/dev/null)
}

register_callees() {	# once per server start with auth on
	local tag=$SERVER_NAME-callees
	run_sipp $tag "$HOST:$SERVER_PORT" -sf "$HERE/reg_auth.xml" -inf "$OUT/callees.csv" \
	    -p $UAS_PORT -mp $UAS_MPORT -cp $UAS_CPORT -r 2000 -m $NPAIRS -l 4000 -timeout 60 \
	    $SIPP_COMMON -stf "$OUT/$tag.stat" -error_file "$OUT/$tag.errors" -screen_file "$OUT/$tag.screen"
	[ "$SIPP_RC" = 0 ] || { say "registering the callees on $SERVER_NAME failed (sipp rc $SIPP_RC), see $OUT/$tag.*"; return 1; }
}

# One step.  Sets STEP_OK (1/0), STEP_WHY, STEP_US (CPU us per op),
# STEP_SRVPCT, STEP_SIPPPCT, STEP_RETRANS.
step() {	# scenario rate [tail]
	local sc=$1 rate=$2 tail=${3:-} count tag xml inf uas_pid= uas_tag c0 c1 t0 t1 wall
	local c2 ok fail succ crate retr uas_rc=0 uas_fail=0 lim m0 m1 created clen arate other uas_ticks=0 uas_t0 uas_pct=0 i
	count=$((rate * STEP_SECONDS))
	tag=$SERVER_NAME-$sc-$rate
	# most calls open at once: 4 s of traffic, below sipp's open-files check
	lim=$((rate * 4))
	[ $lim -gt $((NOFILE / 2 - 100)) ] && lim=$((NOFILE / 2 - 100))
	case $sc in
	reg-auth) xml=reg_auth.xml; inf=users.csv ;;
	reg-plain) xml=reg_plain.xml; inf=users.csv ;;
	call-auth) xml=call_uac_auth.xml; inf=calls.csv ;;
	call-plain) xml=call_uac.xml; inf=calls.csv ;;
	esac
	if [ "${sc#call}" != "$sc" ]; then
		uas_tag=$tag-uas
		# The callee lives as long as the caller: stale retransmissions of
		# earlier steps' failed calls (a server retransmits for 32 s) reach it
		# as unexpected messages, so its own counts are only shown, and the
		# caller's view decides whether a call succeeded.
		"$SIPP" "$HOST:$SERVER_PORT" -sf "$HERE/call_uas.xml" \
		    -p $UAS_PORT -mp $UAS_MPORT -cp $UAS_CPORT -m $((count * 3)) -l $((lim * 2)) \
		    -timeout $((STEP_SECONDS * 3 + 30)) $SIPP_COMMON -stf "$OUT/$uas_tag.stat" \
		    -error_file "$OUT/$uas_tag.errors" -screen_file "$OUT/$uas_tag.screen" \
		    > /dev/null 2> "$OUT/$uas_tag.err" &
		uas_pid=$!
		uas_t0=$(now)
		BG_PIDS="$BG_PIDS $uas_pid"
		wait_port $UAS_PORT $uas_pid
	fi
	[ -n "$tail" ] && wait_idle 40
	c0=$(cpu_ticks $SERVER_PIDS)
	m0=$(machine_ticks)
	t0=$(now)
	run_sipp $tag "$HOST:$SERVER_PORT" -sf "$HERE/$xml" -inf "$OUT/$inf" \
	    -p $UAC_PORT -mp $UAC_MPORT -cp $UAC_CPORT -r $rate -rp 1000 -m $count -l $lim \
	    -timeout $((STEP_SECONDS * 3 + 15)) $SIPP_COMMON -fd $((STEP_SECONDS * 2 + 5)) \
	    -stf "$OUT/$tag.stat" -error_file "$OUT/$tag.errors" -screen_file "$OUT/$tag.screen"
	t1=$(now)
	c1=$(cpu_ticks $SERVER_PIDS)
	m1=$(machine_ticks)
	STEP_TAIL_US=-

	if [ -n "$uas_pid" ]; then
		# calls in flight end within the caller's run; stop the callee
		uas_ticks=$(cpu_ticks $uas_pid)
		uas_pct=$(awk -v c=$uas_ticks -v hz=$HZ -v a=$uas_t0 -v b="$(now)" 'BEGIN { printf "%d", 100 * c / hz / (b - a) }')
		kill -USR1 $uas_pid 2>/dev/null
		for ((i = 0; i < 80; i++)); do kill -0 $uas_pid 2>/dev/null || break; sleep 0.1; done
		kill -0 $uas_pid 2>/dev/null && { kill -INT $uas_pid 2>/dev/null; sleep 0.5; }
		kill -0 $uas_pid 2>/dev/null && kill -KILL $uas_pid 2>/dev/null
		wait $uas_pid; uas_rc=$?
		BG_PIDS=${BG_PIDS/ $uas_pid/}
		uas_fail=$(stat_field "$OUT/$uas_tag.stat" 'FailedCall(C)')
	fi
	if [ -n "$tail" ]; then
		# CPU the step leaves behind belongs to it: a transaction lingers
		# 32 s after its answer (RFC 3261 Timers J, K, D), so wait that long
		sleep "$TAIL_SECONDS"
		wait_idle 15 || say "  ($SERVER_NAME still busy $((TAIL_SECONDS + 15)) s after the step)"
		c2=$(cpu_ticks $SERVER_PIDS)
		STEP_TAIL_US=$(awk -v c=$((c2 - c0)) -v hz=$HZ -v n=$count 'BEGIN { printf "%.1f", c * 1e6 / hz / n }')
	fi
	fail=$(stat_field "$OUT/$tag.stat" 'FailedCall(C)')
	succ=$(stat_field "$OUT/$tag.stat" 'SuccessfulCall(C)')
	crate=$(stat_field "$OUT/$tag.stat" 'CallRate(C)')
	retr=$(stat_field "$OUT/$tag.stat" 'Retransmissions(C)')
	created=$(stat_field "$OUT/$tag.stat" 'TotalCallCreated')
	clen=$(stat_field "$OUT/$tag.stat" 'CallLength(C)')
	# rate sipp really reached: calls created / (elapsed - mean call length)
	arate=$(awk -v n="$created" -v r="$crate" -v l="$clen" 'BEGIN {
	    split(l, a, ":"); len = a[1] * 3600 + a[2] * 60 + a[3] + a[4] / 1e6;
	    if (r + 0 <= 0 || n + 0 <= 0) { print 0; exit }
	    e = n / r - len; if (e <= 0) e = n / r; printf "%d", n / e }')
	# CPU the rest of the machine used meanwhile (other programs, not this bench)
	other=$(awk -v m=$((m1 - m0)) -v c=$((c1 - c0)) -v s=$(time_ticks "$OUT/$tag.time") -v u=$uas_ticks \
	    -v hz=$HZ -v w="$(awk -v a=$t0 -v b=$t1 'BEGIN { print b - a }')" \
	    'BEGIN { o = (m - c - s - u) / hz / w * 100; if (o < 0) o = 0; printf "%d", o }')
	wall=$(awk -v a=$t0 -v b=$t1 'BEGIN { printf "%.2f", b - a }')
	STEP_US=$(awk -v c=$((c1 - c0)) -v hz=$HZ -v n=$count 'BEGIN { printf "%.1f", c * 1e6 / hz / n }')
	STEP_SRVPCT=$(awk -v c=$((c1 - c0)) -v hz=$HZ -v w=$wall 'BEGIN { printf "%d", 100 * c / hz / w }')
	STEP_SIPPPCT=$SIPP_CPU
	if [ -n "$uas_pid" ]; then
		STEP_UASPCT=$uas_pct
		[ "${STEP_UASPCT:-0}" -gt "${SIPP_CPU:-0}" ] && SIPP_CPU=$STEP_UASPCT
		STEP_SIPPPCT="$STEP_SIPPPCT/$STEP_UASPCT"
	fi
	STEP_RETRANS=$retr
	STEP_OTHER=$other
	STEP_RATE_SHORT=0
	STEP_OK=1
	STEP_WHY=ok
	if ! server_alive; then
		STEP_OK=0; STEP_WHY="server died"
	elif port_shared; then
		STEP_OK=0; STEP_WHY="another program is bound to port $SERVER_PORT too: step invalid"
		say "WARNING: $(ss -Hunlp "sport = :$SERVER_PORT")"
	elif [ "$SIPP_RC" != 0 ] || [ "$fail" != 0 ] || [ "$succ" != "$count" ]; then
		STEP_OK=0; STEP_WHY="failed=$fail ok=$succ/$count rc=$SIPP_RC"
	elif [ -n "$uas_pid" ] && [ "$uas_rc" -gt 1 ]; then
		STEP_OK=0; STEP_WHY="callee sipp exited with $uas_rc, see $OUT/$uas_tag.err"
	elif [ "$arate" -lt $((rate * 95 / 100)) ]; then
		STEP_OK=0; STEP_WHY="rate reached ${arate}/s"; STEP_RATE_SHORT=1
	fi
	if [ $STEP_OK = 0 ] && [ "${SIPP_CPU:-0}" -ge 90 ] && [ "$(printf %.0f "$wall")" -ge 2 ]; then
		STEP_WHY="$STEP_WHY, sipp-bound (sipp ${SIPP_CPU}% CPU)"
	fi
	[ "$other" -ge 15 ] && STEP_WHY="$STEP_WHY (other programs used ${other}% CPU)"
	[ -n "$uas_pid" ] && [ "$uas_fail" != 0 ] && STEP_WHY="$STEP_WHY [callee sipp: $uas_fail failed/stale]"
	[ -n "$tail" ] && STEP_WHY="$STEP_WHY; with the CPU until idle: $STEP_TAIL_US us/op"
	printf '  %-8s %-10s %6d/s  %-4s cpu %7s us/op  server %3s%%  sipp %5s%%  other %3s%%  retrans %s  %s\n' \
	    "$SERVER_NAME" "$sc" $rate "$([ $STEP_OK = 1 ] && echo ok || echo FAIL)" "$STEP_US" \
	    "$STEP_SRVPCT" "$STEP_SIPPPCT" "$other" "$retr" "$STEP_WHY" | tee -a "$OUT/steps.txt" >&2
	if [ $STEP_OK = 0 ]; then
		# the first error lines, for the report
		{ echo "== $tag: $STEP_WHY"; grep -hv 'epoll\|^The following events' "$OUT/$tag.errors" "$OUT/$tag.err" \
		    ${uas_tag:+"$OUT/$uas_tag.errors" "$OUT/$uas_tag.err"} 2>/dev/null | head -40; } >> "$OUT/failures.txt"
	fi
	# a moment of quiet between steps; longer after a failure (retransmissions)
	sleep 1; [ $STEP_OK = 1 ] || sleep 4
}

# Search the highest passing rate.  Sets BEST, BEST_US, BEST_SRV, BEST_SIPP,
# BEST_RETRANS, LIMIT.
search() {	# scenario start max
	local sc=$1 rate=$2 max=$3 lo=0 hi=0 n=0 ts
	ts=$(date +%s)
	BEST=0 BEST_US=- BEST_SRV=- BEST_SIPP=- BEST_RETRANS=- BEST_OTHER=- LIMIT="no step passed"
	while :; do
		if [ $(( $(date +%s) - T0 )) -ge $((TIME_BUDGET / 2)) ]; then LIMIT="${LIMIT#no step passed; }; run time budget"; break; fi
		if [ $(( $(date +%s) - ts )) -ge "$SEARCH_BUDGET" ] || [ $n -ge "$MAX_STEPS" ]; then
			[ $hi = 0 ] && LIMIT="step/time limit of the search before any failure" || LIMIT="$LIMIT; step/time limit of the search"; break
		fi
		step "$sc" "$rate"
		n=$((n + 1))
		if [ $STEP_OK = 0 ] && server_alive && { [ $STEP_RATE_SHORT = 1 ] || [ "$STEP_OTHER" -ge 15 ]; }; then
			# sipp fell short of the rate, or other programs were busy: once more
			step "$sc" "$rate"
			n=$((n + 1))
		fi
		if ! server_alive; then LIMIT="server died at $rate/s"; break; fi
		if [ $STEP_OK = 1 ]; then
			lo=$rate
			BEST=$rate BEST_US=$STEP_US BEST_SRV=$STEP_SRVPCT BEST_SIPP=$STEP_SIPPPCT BEST_RETRANS=$STEP_RETRANS BEST_OTHER=$STEP_OTHER
			if [ $hi = 0 ]; then
				[ $rate -ge "$max" ] && { LIMIT="max rate tried ($max/s)"; break; }
				rate=$((rate * 2)); [ $rate -gt "$max" ] && rate=$max
			else
				rate=$(((lo + hi) / 2))
			fi
		else
			hi=$rate
			LIMIT="$rate/s: $STEP_WHY"
			rate=$(((lo + hi) / 2))
		fi
		if [ $hi != 0 ] && [ $((hi - lo)) -le $((lo * PRECISION / 100)) ]; then break; fi
		if [ $hi != 0 ] && [ $lo = 0 ] && [ $hi -le 100 ]; then break; fi
		rate=$(((rate + 49) / 50 * 50))	# round to 50/s
		[ $rate -le $lo ] || [ $rate -ge $hi -a $hi != 0 ] && break
	done
}

declare -A R_REFOK R_OTHER R_MAX R_US R_SRV R_SIPP R_RETR R_LIMIT R_REF R_REFUS
REFRATE_DEFAULT_reg_auth=4000
REFRATE_DEFAULT_reg_plain=8000
REFRATE_DEFAULT_call_auth=1000
REFRATE_DEFAULT_call_plain=1000

refrate() {	# scenario -> common rate: half of Kamailio's max
	local k=${1//-/_} v
	v=${R_MAX[kamailio,$1]:-}
	if [ -n "$v" ] && [ "$v" -gt 0 ] 2>/dev/null; then
		echo $(( (v / 2 + 49) / 50 * 50 ))
	else
		v=REFRATE_DEFAULT_$k; echo ${!v}
	fi
}

bench_scenario() {	# scenario start max mode
	local sc=$1 mode=$4 ref
	search "$sc" "$2" "$3"
	R_MAX[$SERVER_NAME,$sc]=$BEST R_US[$SERVER_NAME,$sc]=$BEST_US R_SRV[$SERVER_NAME,$sc]=$BEST_SRV
	R_SIPP[$SERVER_NAME,$sc]=$BEST_SIPP R_OTHER[$SERVER_NAME,$sc]=$BEST_OTHER R_RETR[$SERVER_NAME,$sc]=$BEST_RETRANS R_LIMIT[$SERVER_NAME,$sc]=$LIMIT
	ref=$(refrate "$sc")
	# The common-rate step runs on a freshly started server, so that no
	# earlier step's leftovers (failed calls' transactions, timers) count.
	stop_server
	start_$SERVER_NAME $mode
	if [ "${sc#call}" != "$sc" ]; then
		register_callees || return
		# the registrations' own leftovers must not count for the calls
		sleep "$TAIL_SECONDS"
	fi
	step "$sc" "$ref" tail
	R_REF[$SERVER_NAME,$sc]=$ref
	R_REFUS[$SERVER_NAME,$sc]=$([ $STEP_OK = 1 ] && echo "$STEP_TAIL_US" || echo "$STEP_TAIL_US (failed)")
	R_REFOK[$SERVER_NAME,$sc]=$STEP_OK
}

want() { case " $SCENARIOS " in *" $1 "*) return 0 ;; esac; return 1; }

bench_server() {	# kamailio|sipd
	local srv=$1 sc mode
	T0=$(date +%s)	# each server gets half the run's time budget
	for sc in reg-auth call-auth reg-plain call-plain; do
		want $sc || continue
		case $sc in *-auth) mode=auth ;; *) mode=noauth ;; esac
		if [ $(( $(date +%s) - T0 )) -ge $((TIME_BUDGET / 2)) ]; then
			say "== $srv $sc: skipped, its half of the time budget ($TIME_BUDGET s) is spent"
			continue
		fi
		say "== $srv, $sc (a fresh $srv, auth $([ $mode = auth ] && echo on || echo off))"
		start_$srv $mode
		if [ "${sc#call}" = "$sc" ] || register_callees; then
			case $sc in
			reg-*) bench_scenario $sc $START_REG $MAX_REG $mode ;;
			call-*) bench_scenario $sc $START_CALL $MAX_CALL $mode ;;
			esac
		fi
		server_alive || say "$srv died; its log: $OUT/$srv-$mode.log"
		stop_server
	done
}

# ------------------------------------------------------------------ report

txns() { case $1 in reg-auth) echo 2 ;; reg-plain) echo 1 ;; call-auth) echo 3 ;; call-plain) echo 2 ;; esac; }
label() {
	case $1 in
	reg-auth) echo "REGISTER, digest auth" ;;
	reg-plain) echo "REGISTER, no auth" ;;
	call-auth) echo "call, INVITE proxy auth" ;;
	call-plain) echo "call, no auth" ;;
	esac
}

table() {
	local srv sc per ref
	echo "| server | scenario | max rate, 0 failed (/s) | common rate (/s) | CPU µs per op at common rate | CPU ms per 1,000 transactions at common rate | CPU µs per op at max rate | server CPU at max | sipp CPU at max (caller/callee) | other programs' CPU at max | retransmissions at max | what stopped the search |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	for sc in reg-auth reg-plain call-auth call-plain; do
		for srv in kamailio sipd; do
			[ -n "${R_MAX[$srv,$sc]+x}" ] || continue
			per=$(awk -v u="${R_REFUS[$srv,$sc]:-}" -v t=$(txns $sc) 'BEGIN { if (u + 0 > 0) printf "%.1f", u / t; else print "-" }')
			[ "${R_REFOK[$srv,$sc]:-1}" = 1 ] || per="$per (failed)"
			echo "| $srv | $(label $sc) | ${R_MAX[$srv,$sc]} | ${R_REF[$srv,$sc]:--} | ${R_REFUS[$srv,$sc]:--} | $per | ${R_US[$srv,$sc]} | ${R_SRV[$srv,$sc]}% | ${R_SIPP[$srv,$sc]}% | ${R_OTHER[$srv,$sc]}% | ${R_RETR[$srv,$sc]} | ${R_LIMIT[$srv,$sc]} |"
		done
	done
}

verdict() {
	local sc k s ku su srv
	for sc in reg-auth reg-plain call-auth call-plain; do
		[ -n "${R_MAX[kamailio,$sc]+x}" ] && [ -n "${R_MAX[sipd,$sc]+x}" ] || continue
		k=${R_MAX[kamailio,$sc]} s=${R_MAX[sipd,$sc]}
		ku=${R_REFUS[kamailio,$sc]:-} su=${R_REFUS[sipd,$sc]:-}
		awk -v l="$(label $sc)" -v k="$k" -v s="$s" -v ku="${ku%% *}" -v su="${su%% *}" \
		    -v kok="${R_REFOK[kamailio,$sc]:-0}" -v sok="${R_REFOK[sipd,$sc]:-0}" 'BEGIN {
			r = (k > 0) ? sprintf("%d %%", 100 * s / k) : "-";
			c = (ku + 0 > 0 && su + 0 > 0) ? sprintf("%d %%", 100 * su / ku) : "-";
			ok = (s >= k && su + 0 > 0 && su + 0 < ku + 0 && kok && sok) ? "yes" : "NO";
			printf "- %s: sipd %d/s vs Kamailio %d/s (%s); CPU per op at the common rate %s vs %s µs (%s). sipd at least as fast with less CPU: %s",
			    l, s, k, r, su, ku, c, ok }'
		for srv in kamailio sipd; do
			case ${R_SIPP[$srv,$sc]%%/*} in
			9[0-9]|1[0-9][0-9]) printf '; sipp used %s%% CPU at %s'"'"'s max, so sipp (same machine) may be what limited it' "${R_SIPP[$srv,$sc]%%/*}" $srv ;;
			esac
		done
		echo .
	done
}

write_doc() {	# table file
	local doc=$TOP/docs/benchmarks.md sec
	sec=$OUT/section.md
	{
		echo "## sipd vs Kamailio"
		echo
		echo "Measured by \`tests/bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), one run, both servers"
		echo "one after the other on the same machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),"
		echo "$(uname -sr); $($KAMAILIO -v 2>/dev/null | head -1 | sed 's/^version: //; s/ *$//'); $("$SIPD" -V 2>/dev/null | head -1)"
		echo "(commit $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$TOP" diff --quiet HEAD -- sipd common proto 2>/dev/null || echo ' + local changes'), built in \`$BUILD\`); SIPp $($SIPP -v 2>&1 | grep -o 'v[0-9][^ ]*' | head -1 | sed 's/\.$//')."
		echo "sipp runs on the same machine (UDP over 127.0.0.1); Kamailio has 2 UDP workers"
		echo "(\`tests/bench/kamailio.cfg\`: usrloc in memory, registrar, tm + rr proxy, digest auth"
		echo "with passwords in an htable), sipd its default single process.  $NUSERS users."
		echo
		echo "- *max rate*: highest rate (steps of $STEP_SECONDS s, doubling then bisecting to ${PRECISION} %) at which"
		echo "  every call succeeded for the calling sipp (0 failed) and sipp reached ≥ 95 % of the rate."
		echo "  Every search starts on a freshly started server."
		echo "- *CPU*: the server's utime+stime (all its processes, \`/proc/PID/stat\`).  The comparable"
		echo "  figure is the one at the *common rate* (half Kamailio's max, the same for both servers):"
		echo "  that step runs on a freshly started server and counts the CPU until $TAIL_SECONDS s after its end"
		echo "  and the server is idle, so work a step leaves behind (transactions kept for 32 s after"
		echo "  their answer, timers) is charged to it.  Per"
		echo "  operation (one registration, or one call) and per 1,000 SIP transactions (REGISTER with"
		echo "  auth = 2, REGISTER = 1, call with INVITE auth = 3: INVITE/407, INVITE/200, BYE; call without"
		echo "  auth = 2; ACK not counted).  *CPU at max rate* is only the step itself (deferred work not"
		echo "  counted, earlier steps' deferred work counted)."
		echo "- Calls are benchmarked **with** INVITE proxy auth (407 challenge, as a PBX runs), the same for"
		echo "  both; 100 ms ringing and 100 ms talk time; no media (sipd \`media.mode = \"p2p\"\`)."
		echo "- *sipp CPU* near 100 % means sipp itself was the limit (one CPU for sipp, the other"
		echo "  for the server on this 2-CPU machine): the server's real limit is then higher."
		echo "  Server and sipp CPU are in % of one CPU.  *other programs' CPU*: what the rest of the"
		echo "  machine used during that step (a busy machine makes the figures worse; > 15 % is flagged)."
		echo
		cat "$1"
		echo
		verdict
		echo
	} > "$sec"
	if [ -f "$doc" ]; then
		awk -v sec="$sec" '
		    /^## sipd vs Kamailio[ \t]*$/ { while ((getline l < sec) > 0) print l; skip = 1; done = 1; next }
		    skip && /^## / { skip = 0 }
		    !skip { print }
		    END { if (!done) { print ""; while ((getline l < sec) > 0) print l } }' "$doc" > "$doc.new" &&
		    mv "$doc.new" "$doc"
	else
		{ echo "# Benchmarks"; echo; cat "$sec"; } > "$doc"
	fi
	say "wrote $doc"
}

# ------------------------------------------------------------------ main

mkcsv
say "parley bench: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), output in $OUT"
[ "$ONLY" = sipd ] || bench_server kamailio
[ "$ONLY" = kamailio ] || bench_server sipd

table > "$OUT/table.md"
echo
cat "$OUT/table.md"
echo
verdict
echo
[ -s "$OUT/failures.txt" ] && say "failed steps (first lines of sipp's errors): $OUT/failures.txt"
say "every step: $OUT/steps.txt; run took $(elapsed) s"
[ "$NO_DOC" = 1 ] || write_doc "$OUT/table.md"
