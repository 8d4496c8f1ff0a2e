# lib.sh — shared helpers for Parley's integration tests; sourced by each
# tests/integration/*.sh.  Gives: TAP output, a per-test temp dir, free
# loopback ports, a parley.conf writer, sipd, mediad and recd start/stop, JSON
# checks, call-journal assertions, a test-tone check, and a sipp runner
# that never uses sipp's default ports.
#
# Every test runs its own sipd on 127.0.0.1 with ports picked at random and
# checked with ss(8), so tests can run in parallel (make -j).  The temp dir
# is removed when every assertion passed and kept (its path printed) when
# one failed.  Nothing here asserts on time: waits poll for a condition and
# give up after a generous limit.
#
# Environment: top_srcdir and top_builddir (absolute; the Makefile sets
# them); for a manual run they default to this script's ../.. and the
# current directory.  PARLEY_TEST_KEEP=1 keeps the temp dir even on success.

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
export top_srcdir top_builddir

IT_DIR=$top_srcdir/tests/integration
SCENARIOS=$IT_DIR/scenarios
SIPD=$top_builddir/sipd/sipd
MEDIAD=$top_builddir/mediad/mediad
RECD=$top_builddir/recd/recd
RECFEED=$top_builddir/tests/tools/recfeed
SIPCTL=$top_builddir/sipctl/sipctl
# the interpreter itself, not a version manager's shim in front of it
# (pyenv's doubles the start-up time of every helper call)
PYTHON=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3)}
SIPMSG="$PYTHON $IT_DIR/sipmsg.py"
DOMAIN=pbx.test
JOURNAL_WAIT=${JOURNAL_WAIT:-10}	# s to wait for a journal line
SIPP_TIMEOUT=${SIPP_TIMEOUT:-20}	# s before a sipp instance gives up

# ------------------------------------------------------------------ TAP

_tap_n=0
_tap_failed=0
_tap_done=0
_bg_pids=()		# processes we started: killed on exit if still alive
_at_exit=()		# commands (eval'd) run on exit once those are gone

# diag TEXT... | diag < file — prints as TAP comments
diag() {
	if [ $# -gt 0 ]; then
		printf '%s\n' "$*" | sed 's/^/# /'
	else
		sed 's/^/# /'
	fi
}

pass() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1"
}

# fail DESC [DIAG-LINE...]
fail() {
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $1"
	shift
	[ $# -gt 0 ] && printf '%s\n' "$@" | diag
	return 0
}

skip() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP ${2:-}"
}

# check DESC CMD [ARG...] — runs CMD; pass if it exits 0, else fail with
# its output as diagnostics.
check() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		pass "$desc"
	else
		fail "$desc" "command: $* (exit $rc)" "$out"
	fi
	return $rc
}

# result DESC PROBLEMS — pass when PROBLEMS is empty, else fail listing them
result() {
	if [ -z "$2" ]; then
		pass "$1"
	else
		fail "$1" "$2"
		return 1
	fi
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "expected: $2" "     got: $3"
		return 1
	fi
}

# Everything ends here: kills what is still running, prints the plan,
# removes or keeps the temp dir, sets the exit status.
_finish() {
	local rc=$? pid
	trap - EXIT
	if [ $_tap_done -eq 0 ] && [ $rc -ne 0 ]; then
		fail "test script ended early (exit $rc)"
	fi
	for pid in "${_bg_pids[@]}"; do
		kill -0 "$pid" 2>/dev/null || continue
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${_bg_pids[@]}"; do
		_wait_gone "$pid" 30 || kill -KILL "$pid" 2>/dev/null
	done
	_run_at_exit
	echo "1..$_tap_n"
	if [ $_tap_failed -gt 0 ] || [ "${PARLEY_TEST_KEEP:-0}" = 1 ]; then
		echo "# temp dir kept: $T"
	else
		rm -rf "$T"
	fi
	[ $_tap_failed -eq 0 ] && exit 0
	exit 1
}

# at_exit CMD — CMD (a string, eval'd) runs when the script exits, however
# it exits (after the background processes are killed, before the temp dir
# goes), in the order given; for what a test set up outside its temp dir
# (network namespaces).  CMD must be harmless when run twice or when what
# it undoes is already gone.
at_exit() {
	_at_exit+=("$1")
}

_run_at_exit() {
	local c
	for c in "${_at_exit[@]}"; do
		eval "$c" > /dev/null 2>&1
	done
	_at_exit=()
}

# done_testing — call at the end of every test script
done_testing() {
	_tap_done=1
	exit 0
}

# _wait_gone PID TENTHS — waits until PID is gone (not our child: polls)
_wait_gone() {
	local i=0
	while kill -0 "$1" 2>/dev/null; do
		[ $i -ge "$2" ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 0
}

# skip_all REASON — the whole script is skipped (TAP "1..0 # SKIP")
skip_all() {
	echo "1..0 # SKIP $1"
	trap - EXIT
	_run_at_exit
	rm -rf "$T"
	exit 0
}

# need CMD... — skip the whole script when a tool is missing
need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "$c not installed"
	done
}

T=$(mktemp -d "${TMPDIR:-/tmp}/parley-it.XXXXXX") || { echo "Bail out! mktemp"; exit 1; }
trap _finish EXIT
trap 'exit 130' INT TERM

need "$PYTHON" ss
[ -x "$SIPD" ] || { echo "Bail out! $SIPD not built"; exit 1; }

# ---------------------------------------------------------------- ports

# The kernel's ephemeral range is avoided where possible, so that a
# connect() elsewhere cannot take a port between our check and the bind.
_port_hi=60000
if read -r _eph_lo _ < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null &&
    [ "$_eph_lo" -gt 21000 ] && [ "$_eph_lo" -le 60000 ]; then
	_port_hi=$((_eph_lo - 1))
fi
# The next port to try lives in a file, so that $(free_port) in a subshell
# still moves it on.
echo $((20000 + (RANDOM * 32768 + RANDOM) % (_port_hi - 20000 - 200))) > "$T/.port_next"

# _port_used PORT — is PORT bound by anything (UDP or TCP, any state)?
_port_used() {
	ss -Htuan "( sport = :$1 )" 2>/dev/null | grep -q .
}

# free_port [N] — prints the first of N consecutive ports free on UDP and
# TCP (N = 1 by default).  Ports handed out are never handed out again by
# this script.
free_port() {
	local n=${1:-1} p i ok
	p=$(cat "$T/.port_next")
	while :; do
		[ $((p + n)) -ge $_port_hi ] && p=20000
		ok=1
		for ((i = 0; i < n; i++)); do
			if _port_used $((p + i)); then
				ok=0
				break
			fi
		done
		if [ $ok = 1 ]; then
			echo $((p + n)) > "$T/.port_next"
			echo "$p"
			return 0
		fi
		p=$((p + i + 1))
	done
}

# wait_udp_bound PORT [TENTHS] — until something is bound to UDP PORT
wait_udp_bound() {
	local i=0
	until ss -Huan "( sport = :$1 )" 2>/dev/null | grep -q .; do
		[ $i -ge "${2:-50}" ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# take_udp_port PORT — binds UDP 127.0.0.1:PORT in the background for 30 s
# (for a daemon that must fail to start), until it is bound; $TAKER_PID
take_udp_port() {
	$PYTHON -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
time.sleep(30)' "$1" &
	TAKER_PID=$!
	_bg_pids+=("$TAKER_PID")
	wait_udp_bound "$1"
}

# --------------------------------------------------------------- config

SIPD_PORT=$(free_port)
CONF=$T/parley.conf
JOURNAL=$T/calls.log
SIPCTL_EP=ipc://$T/sipctl.sock

# write_config [FILE] [options] — a parley.conf for this test:
#   --no-answer-timeout N   sip.no_answer_timeout (default 10)
#   --min-expires N         sip.min_expires (default 2)
#   --nonce-ttl N           sip.nonce_ttl (default 300)
#   --journal-format F      text (default) or json
#   --log-level L           default debug
#   --auth B                true (default) or false
#   --media-mode M          media.mode (default p2p: most tests run no mediad)
#   --media TEXT            extra lines inside media: { } (rtp_ports, bind …)
#   --kernel-interfaces L   media.kernel_interfaces as written (default
#                           [ "lo" ]: mediad's forwarding program never
#                           goes on the host's real interfaces)
#   --control-media V       control.media as written (default
#                           "ipc://$T/media.sock"; a list for several nodes)
#   --user-media U=M        users[].media = M for user U (may be repeated)
#   --user-record U=B       users[].record = B (true/false) for user U (may
#                           be repeated)
#   --sip TEXT              extra lines inside sip: { }
#   --daemon TEXT           the daemon section (default: the user running
#                           the test, so a test run as root stays root)
#   --recording TEXT        extra lines inside recording: { } (calls = true; ...)
#   --extra TEXT            extra top-level text
# Listens on udp and tcp 127.0.0.1:$SIPD_PORT, domain pbx.test, users
# 1001..1005 with passwords pw1001..pw1005, the journal at $JOURNAL and
# the control sockets in the temp dir.
write_config() {
	local file=$CONF nat=10 minexp=2 ttl=300 jfmt=text lvl=debug auth=true
	local media=p2p media_extra="" ctl_media="\"ipc://$T/media.sock\"" sip_extra="" extra=""
	local rec_extra="" kifs='[ "lo" ]'
	local daemon="daemon: { user = \"$(id -un)\"; };"
	local -A uextra=()
	if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
		file=$1
		shift
	fi
	while [ $# -gt 0 ]; do
		case $1 in
		--no-answer-timeout) nat=$2 ;;
		--min-expires) minexp=$2 ;;
		--nonce-ttl) ttl=$2 ;;
		--journal-format) jfmt=$2 ;;
		--log-level) lvl=$2 ;;
		--auth) auth=$2 ;;
		--media-mode) media=$2 ;;
		--media) media_extra=$2 ;;
		--kernel-interfaces) kifs=$2 ;;
		--control-media) ctl_media=$2 ;;
		--user-media) uextra[${2%%=*}]+="media = \"${2#*=}\"; " ;;
		--user-record) uextra[${2%%=*}]+="record = ${2#*=}; " ;;
		--sip) sip_extra=$2 ;;
		--daemon) daemon=$2 ;;
		--extra) extra=$2 ;;
		--recording) rec_extra=$2 ;;
		*) echo "write_config: unknown option $1" >&2; return 2 ;;
		esac
		shift 2
	done
	cat > "$file" <<EOF
# parley.conf written by tests/integration/lib.sh
sip: {
  listen = [ "udp:127.0.0.1:$SIPD_PORT", "tcp:127.0.0.1:$SIPD_PORT" ];
  domain = "$DOMAIN";
  auth = $auth;
  no_answer_timeout = $nat;
  min_expires = $minexp;
  nonce_ttl = $ttl;
$sip_extra
};
users = (
  { name = "1001"; password = "pw1001"; display = "Alice"; ${uextra[1001]:-}},
  { name = "1002"; password = "pw1002"; display = "Bob"; ${uextra[1002]:-}},
  { name = "1003"; password = "pw1003"; ${uextra[1003]:-}},
  { name = "1004"; password = "pw1004"; ${uextra[1004]:-}},
  { name = "1005"; password = "pw1005"; ${uextra[1005]:-}}
);
media: {
  mode = "$media";
  kernel_interfaces = $kifs;
$media_extra
};
recording: { dir = "$T/recordings"; $rec_extra };
journal: { path = "$JOURNAL"; format = "$jfmt"; };
control: {
  sipctl = "$SIPCTL_EP";
  media = $ctl_media;
  recorder = "ipc://$T/recorder.sock";
};
log: { level = "$lvl"; };
$daemon
$extra
EOF
}

# ----------------------------------------------------------------- sipd

SIPD_PID=
_sipd_runs=0

# start_sipd [CONF] — runs sipd -f in the background (stderr to
# $T/sipd.N.log, $SIPD_LOG) and waits until it answers an OPTIONS.  A TAP
# line says whether it came up; returns 1 if not.
start_sipd() {
	local conf=${1:-$CONF} i
	_sipd_runs=$((_sipd_runs + 1))
	SIPD_LOG=$T/sipd.$_sipd_runs.log
	"$SIPD" -f -c "$conf" 2> "$SIPD_LOG" > "$T/sipd.$_sipd_runs.out" &
	SIPD_PID=$!
	_bg_pids+=("$SIPD_PID")
	for ((i = 0; i < 50; i++)); do
		if ! kill -0 "$SIPD_PID" 2>/dev/null; then
			wait "$SIPD_PID"
			fail "sipd starts and answers OPTIONS" "sipd exited with status $? before answering" \
			    "$(tail -n 30 "$SIPD_LOG")"
			SIPD_PID=
			return 1
		fi
		if $SIPMSG ping 127.0.0.1 "$SIPD_PORT" --timeout 0.1 > /dev/null 2>&1; then
			pass "sipd starts and answers OPTIONS (udp:127.0.0.1:$SIPD_PORT)"
			return 0
		fi
	done
	fail "sipd starts and answers OPTIONS" "no answer to OPTIONS on udp:127.0.0.1:$SIPD_PORT within 5 s" \
	    "$(tail -n 30 "$SIPD_LOG")"
	return 1
}

# stop_sipd — SIGTERM, wait, a TAP line that it exited 0
stop_sipd() {
	local rc
	if [ -z "$SIPD_PID" ]; then
		fail "sipd stops cleanly on SIGTERM" "sipd is not running"
		return 1
	fi
	kill -TERM "$SIPD_PID" 2>/dev/null
	wait "$SIPD_PID"
	rc=$?
	SIPD_PID=
	if [ $rc -eq 0 ]; then
		pass "sipd stops cleanly on SIGTERM (exit 0)"
	else
		fail "sipd stops cleanly on SIGTERM" "exit status $rc" "$(tail -n 30 "$SIPD_LOG")"
		return 1
	fi
}

# sipd_alive — TAP line: sipd is still running
sipd_alive() {
	if [ -n "$SIPD_PID" ] && kill -0 "$SIPD_PID" 2>/dev/null; then
		pass "sipd still running"
	else
		fail "sipd still running" "$(tail -n 30 "$SIPD_LOG")"
		return 1
	fi
}

# -------------------------------------------------------------- mediad
#
# mediad nodes are known by their node name (media.node in their config).
# sipd must be running: a node is up when sipd says so (sipctl status).

declare -A _mediad_pid _mediad_inst _mediad_log
_mediad_runs=0

# json_test EXPR — reads JSON on stdin; exit 0 if the Python expression
# EXPR (the JSON bound to j) is true, 1 if false or not JSON
json_test() {
	$PYTHON -c '
import json, sys
try:
    j = json.load(sys.stdin)
    sys.exit(0 if eval("(" + sys.argv[1] + "\n)") else 1)
except Exception as e:
    print("json_test: %s" % e, file=sys.stderr)
    sys.exit(1)' "$1"
}

# json_print EXPR — reads JSON on stdin, prints the value of EXPR (j is
# the JSON; strings as they are, anything else as JSON); exit 1 if EXPR
# fails
json_print() {
	$PYTHON -c '
import json, sys
try:
    j = json.load(sys.stdin)
    v = eval("(" + sys.argv[1] + "\n)")
except Exception as e:
    print("json_print: %s" % e, file=sys.stderr)
    sys.exit(1)
print(v if isinstance(v, str) else json.dumps(v))' "$1"
}

# media_node NODE FIELD — FIELD of NODE in `sipctl --json status`'s
# media_nodes (empty, exit 1, if sipd does not list NODE)
media_node() {
	sipctl --json status 2>/dev/null |
	    json_print "[n for n in j['media_nodes'] if n.get('node') == '$1'][0]['$2']"
}

# _mediad_up NODE OLD-INSTANCE — sipd lists NODE live with another instance
_mediad_up() {
	sipctl --json status 2>/dev/null | json_test "
any(n.get('node') == '$1' and n.get('live') is True and str(n.get('instance')) != '$2'
    for n in j['media_nodes'])"
}

# start_mediad NODE [CONF] — runs mediad -f -c CONF (default $CONF, whose
# media.node must be NODE) in the background, stderr to $T/mediad-NODE.N.log
# ($MEDIAD_LOG), and waits until sipd lists NODE live, with an instance
# other than the one it had before (a restart).  A TAP line says whether it
# came up; returns 1 if not.  MEDIAD_WRAP (an array, default empty) is put
# before the command, e.g. MEDIAD_WRAP=(ip netns exec NS) to run mediad in
# a network namespace; it must exec mediad (the pid is mediad's).
MEDIAD_WRAP=()
start_mediad() {
	local node=$1 conf=${2:-$CONF} pid i
	_mediad_runs=$((_mediad_runs + 1))
	MEDIAD_LOG=$T/mediad-$node.$_mediad_runs.log
	_mediad_log[$node]=$MEDIAD_LOG
	"${MEDIAD_WRAP[@]}" "$MEDIAD" -f -c "$conf" 2> "$MEDIAD_LOG" > "$T/mediad-$node.$_mediad_runs.out" &
	pid=$!
	_mediad_pid[$node]=$pid
	_bg_pids+=("$pid")
	for ((i = 0; i < 150; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			fail "mediad $node starts and sipd sees it live" \
			    "mediad exited with status $? (see $MEDIAD_LOG)" "$(tail -n 30 "$MEDIAD_LOG")"
			_mediad_pid[$node]=
			return 1
		fi
		if _mediad_up "$node" "${_mediad_inst[$node]:-none}"; then
			_mediad_inst[$node]=$(media_node "$node" instance)
			pass "mediad $node starts and sipd sees it live (sipctl status)"
			return 0
		fi
		sleep 0.1
	done
	fail "mediad $node starts and sipd sees it live" \
	    "sipd did not list node $node live within 15 s" \
	    "sipctl --json status: $(sipctl --json status 2>&1)" \
	    "--- mediad log:" "$(tail -n 30 "$MEDIAD_LOG")" "--- sipd log:" "$(tail -n 20 "$SIPD_LOG")"
	return 1
}

# _daemon_stop PROG NAME — SIGTERM instance NAME of PROG (mediad, recd:
# its pid and log in _PROG_pid and _PROG_log), wait, a TAP line that it
# exited 0
_daemon_stop() {
	local prog=$1 name=$2 pid rc
	local -n _pids=_${prog}_pid _logs=_${prog}_log
	pid=${_pids[$name]:-}
	if [ -z "$pid" ]; then
		fail "$prog $name stops cleanly on SIGTERM" "$prog $name is not running"
		return 1
	fi
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	_pids[$name]=
	if [ $rc -eq 0 ]; then
		pass "$prog $name stops cleanly on SIGTERM (exit 0)"
	else
		fail "$prog $name stops cleanly on SIGTERM" "exit status $rc" "$(tail -n 30 "${_logs[$name]}")"
		return 1
	fi
}

# _daemon_kill PROG NAME — SIGKILL instance NAME of PROG, and reap it (no TAP line)
_daemon_kill() {
	local prog=$1 name=$2 pid
	local -n _pids=_${prog}_pid
	pid=${_pids[$name]:-}
	[ -n "$pid" ] || return 1
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	_pids[$name]=
}

# stop_mediad NODE — SIGTERM, wait, a TAP line that it exited 0
stop_mediad() { _daemon_stop mediad "$1"; }

# kill_mediad NODE — SIGKILL, and reap it (no TAP line)
kill_mediad() { _daemon_kill mediad "$1"; }

# ---------------------------------------------------------------- recd
#
# recd instances are known by a name of the test's choosing; each needs a
# configuration of its own (recording.dir, control.recorder) when several
# run at once.

declare -A _recd_pid _recd_log
_recd_runs=0

# start_recd NAME [CONF] — runs recd -f -c CONF (default $CONF) in the
# background, stderr to $T/recd-NAME.N.log ($RECD_LOG), and waits until it
# says it is ready (its control socket is bound).  A TAP line says whether
# it came up; returns 1 if not.
start_recd() {
	local name=$1 conf=${2:-$CONF} pid i
	_recd_runs=$((_recd_runs + 1))
	RECD_LOG=$T/recd-$name.$_recd_runs.log
	_recd_log[$name]=$RECD_LOG
	"$RECD" -f -c "$conf" 2> "$RECD_LOG" > /dev/null &
	pid=$!
	_recd_pid[$name]=$pid
	_bg_pids+=("$pid")
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			fail "recd $name starts" "recd exited with status $?" "$(tail -n 30 "$RECD_LOG")"
			_recd_pid[$name]=
			return 1
		fi
		if grep -q ' recd .* ready: ' "$RECD_LOG"; then
			pass "recd $name starts (pid $pid)"
			return 0
		fi
		sleep 0.05
	done
	fail "recd $name starts" "not ready within 5 s" "$(tail -n 30 "$RECD_LOG")"
	return 1
}

# stop_recd NAME — SIGTERM, wait, a TAP line that it exited 0
stop_recd() { _daemon_stop recd "$1"; }

# kill_recd NAME — SIGKILL, and reap it (no TAP line)
kill_recd() { _daemon_kill recd "$1"; }

# recd_alive NAME — is recd NAME still running?
recd_alive() {
	local pid=${_recd_pid[$1]:-}
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# wait_until TENTHS CMD [ARG...] — polls CMD every 0.1 s until it succeeds;
# returns 1 if it never did within TENTHS tenths of a second
wait_until() {
	local n=$1 i=0
	shift
	until "$@" > /dev/null 2>&1; do
		[ $i -ge "$n" ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# sipctl ARG... — runs the built sipctl against this test's sipd
sipctl() {
	"$SIPCTL" -s "$SIPCTL_EP" "$@"
}

# -------------------------------------------------------------- journal
#
# Conditions: KEY=VALUE (equal), KEY~REGEX (full match), KEY (present).

# journal_has EVENT [COND...] — a line with EVENT matching every COND
journal_has() {
	$SIPMSG journal "$JOURNAL" has "$@"
}

# journal_count EVENT [COND...] — prints the number of matching lines
journal_count() {
	$SIPMSG journal "$JOURNAL" count "$@"
}

# journal_get EVENT KEY [COND...] — prints KEY of the last matching line
journal_get() {
	$SIPMSG journal "$JOURNAL" get "$@"
}

# journal_wait EVENT [COND...] — until a matching line appears (up to
# $JOURNAL_WAIT s); returns 1 if it never does
journal_wait() {
	$SIPMSG journal "$JOURNAL" wait "$JOURNAL_WAIT" "$@"
}

# check_journal DESC EVENT [COND...] — TAP line; waits for the line
check_journal() {
	local desc=$1
	shift
	if journal_wait "$@"; then
		pass "$desc"
	else
		fail "$desc" "no journal line: $*" "journal ($JOURNAL):" "$(tail -n 20 "$JOURNAL" 2>/dev/null)"
		return 1
	fi
}

# check_no_journal DESC EVENT [COND...] — TAP line; no such line (now)
check_no_journal() {
	local desc=$1
	shift
	if journal_has "$@"; then
		fail "$desc" "unexpected journal line: $*" "$(tail -n 20 "$JOURNAL")"
		return 1
	fi
	pass "$desc"
}

# check_tone DESC WAV FREQ [SECONDS] — TAP line: WAV is a test tone of
# FREQ Hz within 2 % (tonecheck.py: zero crossings over the part where
# something was heard), at a plausible level (RMS 0.1 to 0.7 of full
# scale: the tones are made at half scale), heard for at least 90 % of
# SECONDS (default 1)
check_tone() {
	local desc=$1 wav=$2 freq=$3 secs=${4:-1} st
	st=$($PYTHON "$IT_DIR/tonecheck.py" "$wav" 2>&1)
	diag "$wav: $st"
	if printf '%s' "$st" | json_test "
abs(j['freq'] - $freq) <= 0.02 * $freq and 0.1 <= j['rms'] <= 0.7 and j['sound'] >= 0.9 * $secs"; then
		pass "$desc"
	else
		fail "$desc" "expected $freq Hz +-2 %, RMS 0.1-0.7, at least 90 % of $secs s" "$st"
		return 1
	fi
}

# ----------------------------------------------------------------- sipp
#
# Each sipp instance has a NAME; its files are $T/NAME.{msg,err,screen,
# out,logs,xml}.  Options before the scenario file:
#   --port P    the SIP port (default: a free one; see sipp_port NAME)
#   --tcp       -t t1 (default -t u1)
#   --uas       no remote host (a callee waiting for requests)
#   --user U    -key user U, -au U, -ap pwU (default 1001)
#   --pass P    -ap P instead of pwU
#   --to U      -s U: the user called (default 1002)
#   --timeout S -timeout Ss (default $SIPP_TIMEOUT)
#   --sub K=V   @K@ in the scenario file becomes V (the scenario is copied;
#               --sub may also come after the scenario)
# Everything else after the scenario file goes to sipp as is (-key k v).
# Always passed: -i 127.0.0.1 -p -mp -cp (explicit ports), -m 1,
# -timeout with -timeout_error, -nostdin, -trace_msg, -trace_err, the
# keys domain, user, maxf (70), expires (600) unless given, -cid_str
# making the Call-ID NAME.RUN-1@127.0.0.1 (see sipp_callid NAME).

RUN_ID=$$.$RANDOM
declare -A _sipp_pid _sipp_port

# sipp_callid NAME — the Call-ID of the first call of sipp instance NAME
sipp_callid() {
	echo "$1.$RUN_ID-1@127.0.0.1"
}

sipp_port() {
	echo "${_sipp_port[$1]}"
}

# _sipp_cmd NAME [opts] SCENARIO [sipp args] — fills the array _cmd
_sipp_cmd() {
	local name=$1 port="" transport=u1 uas=0 user=1001 pass="" to=1002 timeout=$SIPP_TIMEOUT
	local scen src mp cp
	local -a subs=() extra=()
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--port) port=$2; shift 2 ;;
		--tcp) transport=t1; shift ;;
		--uas) uas=1; shift ;;
		--user) user=$2; shift 2 ;;
		--pass) pass=$2; shift 2 ;;
		--to) to=$2; shift 2 ;;
		--timeout) timeout=$2; shift 2 ;;
		--sub) subs+=("$2"); shift 2 ;;
		*) break ;;
		esac
	done
	src=$1
	shift
	# --sub may also follow the scenario
	while [ $# -gt 0 ]; do
		if [ "$1" = --sub ]; then
			subs+=("$2")
			shift 2
		else
			extra+=("$1")
			shift
		fi
	done
	case $src in
	/*) ;;
	*) src=$SCENARIOS/$src ;;
	esac
	scen=$T/$name.xml
	cp "$src" "$scen"
	local s
	for s in "${subs[@]}"; do
		sed -i "s|@${s%%=*}@|${s#*=}|g" "$scen"
	done
	[ -n "$port" ] || port=$(free_port)
	mp=$(free_port 4)
	cp=$(free_port)
	_sipp_port[$name]=$port
	_cmd=(sipp -sf "$scen" -i 127.0.0.1 -p "$port" -mp "$mp" -cp "$cp"
	    -t "$transport" -m 1 -timeout "${timeout}s" -timeout_error -nostdin
	    -cid_str "$name.$RUN_ID-%u@%s"
	    -trace_msg -message_file "$T/$name.msg"
	    -trace_err -error_file "$T/$name.err"
	    -trace_screen -screen_file "$T/$name.screen"
	    -trace_logs -log_file "$T/$name.logs"
	    -s "$to" -au "$user" -ap "${pass:-pw$user}"
	    -key domain "$DOMAIN" -key user "$user")
	# defaults for keys the scenarios use, unless the caller set them
	local k
	for k in maxf:70 expires:600 contact: authz:; do
		case " ${extra[*]} " in
		*" -key ${k%%:*} "*) ;;
		*) [ -n "${k#*:}" ] && _cmd+=(-key "${k%%:*}" "${k#*:}") ;;
		esac
	done
	_cmd+=("${extra[@]}")
	if [ $uas = 0 ]; then
		_cmd+=(-auth_uri "${SIPP_AUTH_URI:-$to@$DOMAIN}" "127.0.0.1:$SIPD_PORT")
	fi
}

# sipp_run NAME [opts] SCENARIO [sipp args] — runs sipp in the
# foreground; returns its exit code (0: the call went as scripted).
# SIPP_CMD_HOOK names a function that may edit the built command (_cmd)
# before it runs, e.g. to move it to IPv6 (transport.sh).
sipp_run() {
	local name=$1 rc
	local -a _cmd
	_sipp_cmd "$@" || return 2
	[ -z "${SIPP_CMD_HOOK:-}" ] || "$SIPP_CMD_HOOK"
	echo "${_cmd[*]}" > "$T/$name.cmd"
	"${_cmd[@]}" > "$T/$name.out" 2>&1
	rc=$?
	echo "$rc" > "$T/$name.rc"
	return $rc
}

# sipp_start NAME [opts] SCENARIO [sipp args] — the same in the
# background; waits until its SIP port is bound (UDP) or a moment (TCP)
sipp_start() {
	local name=$1
	local -a _cmd
	_sipp_cmd "$@" || return 2
	[ -z "${SIPP_CMD_HOOK:-}" ] || "$SIPP_CMD_HOOK"
	echo "${_cmd[*]}" > "$T/$name.cmd"
	"${_cmd[@]}" > "$T/$name.out" 2>&1 &
	_sipp_pid[$name]=$!
	_bg_pids+=("$!")
	wait_udp_bound "${_sipp_port[$name]}" 50
}

# sipp_wait NAME — waits for a background sipp; returns its exit code
sipp_wait() {
	local rc
	wait "${_sipp_pid[$1]}"
	rc=$?
	echo "$rc" > "$T/$1.rc"
	return $rc
}

# sipp_diag NAME — the useful part of a sipp run, for a failure message
sipp_diag() {
	local name=$1
	echo "sipp $name: exit $(cat "$T/$name.rc" 2>/dev/null || echo '?') (see $T/$name.*)"
	[ -s "$T/$name.err" ] && { echo "--- $name errors:"; tail -n 40 "$T/$name.err"; }
	[ -s "$T/$name.msg" ] && { echo "--- $name messages (last 60 lines):"; tail -n 60 "$T/$name.msg"; }
	grep -iE "error|warning|unexpected|aborted" "$T/$name.out" 2>/dev/null | tail -n 5
}

# check_sipp DESC NAME RC — TAP line for a sipp run that should succeed
check_sipp() {
	if [ "$3" -eq 0 ]; then
		pass "$1"
	else
		fail "$1" "$(sipp_diag "$2")"
		return 1
	fi
}

# sipp_trace NAME (recv|sent) START_REGEX [--nth N] — a message from the
# trace of sipp instance NAME (the last matching one by default)
sipp_trace() {
	local name=$1
	shift
	$SIPMSG trace "$T/$name.msg" "$@"
}

# check_trace DESC NAME (recv|sent) START_REGEX LINE_REGEX [--nth N] —
# the message has a line matching LINE_REGEX (grep -E, case-insensitive)
check_trace() {
	local desc=$1 name=$2 dir=$3 start=$4 rx=$5 msg
	shift 5
	if ! msg=$(sipp_trace "$name" "$dir" "$start" "$@"); then
		fail "$desc" "no $dir message matching '$start' in $T/$name.msg" "$(sipp_diag "$name")"
		return 1
	fi
	if printf '%s\n' "$msg" | grep -qiE -- "$rx"; then
		pass "$desc"
	else
		fail "$desc" "no line matching /$rx/ in:" "$msg"
		return 1
	fi
}

# ------------------------------------------------------ phones (callees)

# register NAME USER [--port P] [--tcp] [--expires N] [--contact C]
#          [--pass P] [--final STATUS] [sipp args after --]
#   — REGISTER for USER (password pwUSER) with sipp: 401, then credentials,
#   then STATUS (default 200); returns sipp's code.  The default contact is
#   <sip:USER@127.0.0.1:PORT;transport=UDP|TCP>.
register() {
	local name=$1 user=$2 expires=600 contact="" port="" tcp="" pass="" final=200
	local -a more=()
	shift 2
	while [ $# -gt 0 ]; do
		case $1 in
		--) shift; more=("$@"); break ;;
		--pass) pass=$2 ;;
		--final) final=$2 ;;
		--port) port=$2 ;;
		--tcp) tcp=--tcp; shift; continue ;;
		--expires) expires=$2 ;;
		--contact) contact=$2 ;;
		*) echo "register: unknown option $1" >&2; return 2 ;;
		esac
		shift 2
	done
	[ -n "$port" ] || port=$(free_port)
	local tr=UDP
	[ -n "$tcp" ] && tr=TCP
	[ -n "$contact" ] || contact="<sip:$user@127.0.0.1:$port;transport=$tr>"
	SIPP_AUTH_URI=$DOMAIN sipp_run "$name" --port "$port" $tcp --user "$user" \
	    ${pass:+--pass "$pass"} --sub FINAL="$final" register.xml \
	    -key expires "$expires" -key contact "$contact" "${more[@]}"
}

# register_load NAME USER N RATE — starts (sipp_start) N REGISTERs of USER
# at RATE per second from a port of its own ($LOAD_PORT), each with a new
# Call-ID and Expires 1<call number>, so that each is journaled and its
# line names it.  sipp_wait NAME for the result; `$SIPMSG load-check
# $T/NAME.msg $LOAD_PORT USER FILE...` checks the journal files.
register_load() {
	local name=$1 user=$2
	sed 's/^\( *\)Expires: \[expires\]/\1Expires: 1[call_number]/' "$SCENARIOS/register.xml" \
	    > "$T/$name-register.xml"
	LOAD_PORT=$(free_port)
	SIPP_AUTH_URI=$DOMAIN sipp_start "$name" --port "$LOAD_PORT" --user "$user" --sub FINAL=200 \
	    "$T/$name-register.xml" -key contact "<sip:$user@127.0.0.1:$LOAD_PORT;transport=UDP>" \
	    -m "$3" -r "$4" -l 20
}

# phone NAME USER [--keep] SCENARIO [sipp args] — a callee: removes every
# binding USER has (Contact: *, unless --keep: a second phone for a user),
# registers USER from a fresh port, then starts the UAS scenario on that
# port in the background (sipp_wait NAME for its result).  Returns
# non-zero (after a failed TAP line) if a registration failed.
phone() {
	local name=$1 user=$2 keep=0 scen port rc
	shift 2
	if [ "$1" = --keep ]; then
		keep=1
		shift
	fi
	scen=$1
	shift
	if [ $keep = 0 ]; then
		register "$name-clear" "$user" --contact '*' --expires 0
		rc=$?
		if [ $rc -ne 0 ]; then
			fail "phone $name: the old bindings of $user are removed" "$(sipp_diag "$name-clear")"
			return 1
		fi
	fi
	port=$(free_port)
	register "$name-reg" "$user" --port "$port"
	rc=$?
	if [ $rc -ne 0 ]; then
		fail "phone $name registers as $user" "$(sipp_diag "$name-reg")"
		return 1
	fi
	sipp_start "$name" --port "$port" --uas --user "$user" --to "$user" "$scen" "$@"
}

# ------------------------------------------------------------- install
#
# For the tests of what `make install` puts in place (install.sh, sysv.sh,
# logrotate.sh, completion.sh): this build installed under a directory of
# the test's own.

# install_to DIR [TARGET] — `make install` (or TARGET, e.g. uninstall) of
# this build with every directory under DIR: DIR/sbin, DIR/etc (parley/,
# init.d/, logrotate.d/), DIR/var, DIR/run, DIR/lib/systemd/system,
# DIR/share; output in $T/install.log.  Returns make's status.  The outer
# make's jobserver is not passed on.
install_to() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$top_builddir" "${2:-install}" \
	    prefix="$1" exec_prefix="$1" bindir="$1/bin" sbindir="$1/sbin" \
	    sysconfdir="$1/etc" localstatedir="$1/var" runstatedir="$1/run" \
	    datarootdir="$1/share" mandir="$1/share/man" \
	    systemdsystemunitdir="$1/lib/systemd/system" \
	    bashcompletiondir="$1/share/bash-completion/completions" \
	    >> "$T/install.log" 2>&1
}

# need_root_user — skips the whole script unless it runs as root, and
# creates the system user and group parley (as scripts/install-service.sh
# does) if they are missing
need_root_user() {
	[ "$(id -u)" = 0 ] || skip_all "needs root (daemons started as root drop to the user parley)"
	if ! getent passwd parley > /dev/null; then
		useradd --system --user-group --home-dir /var/lib/parley --no-create-home \
		    --shell /usr/sbin/nologin parley || { echo "Bail out! useradd parley"; exit 1; }
	fi
	PARLEY_UID=$(id -u parley)
	PARLEY_GID=$(getent group parley | cut -d: -f3)
	# the daemons, once they are parley, must reach their files below $T
	chmod 0755 "$T"
}

# proc_ids PID — "uid gid groups" of a process: its real, effective, saved
# and filesystem uids, then gids, then supplementary groups, as in
# /proc/PID/status
proc_ids() {
	awk '/^Uid:/ { u = $2 " " $3 " " $4 " " $5 } /^Gid:/ { g = $2 " " $3 " " $4 " " $5 }
	    /^Groups:/ { $1 = ""; s = $0 } END { print u " | " g " |" s }' "/proc/$1/status"
}
