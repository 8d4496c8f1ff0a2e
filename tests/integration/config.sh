#!/bin/bash
# config.sh — sipd's command line as an operator meets it: -t accepts a good
# configuration (exit 0) and refuses a bad one (exit 1) with a message
# naming file:line exactly (syntax error, unknown setting, bad listen
# address, missing file); -V prints a version, -h the usage; a listen port
# already taken stops sipd with an error instead of running deaf.
set -u
. "$(dirname "$0")/lib.sh"

# conf_refused DESC FILE LINE [WORD] — sipd -t -c FILE exits 1 and its
# message names FILE:LINE (and WORD, if given)
conf_refused() {
	local desc=$1 file=$2 line=$3 word=${4:-} rc
	"$SIPD" -t -c "$file" > "$T/t.out" 2> "$T/t.err"
	rc=$?
	if [ $rc -ne 1 ]; then
		fail "$desc: exit 1" "exit $rc" "$(cat "$T/t.out" "$T/t.err")"
	else
		pass "$desc: exit 1"
	fi
	if grep -qF -- "$file:$line:" "$T/t.err" "$T/t.out"; then
		pass "$desc: the message names $(basename "$file"):$line"
		diag "$(cat "$T/t.err")"
	else
		fail "$desc: the message names $file:$line" "$(cat "$T/t.out" "$T/t.err")"
	fi
	if [ -n "$word" ]; then
		if grep -qF -- "$word" "$T/t.err" "$T/t.out"; then
			pass "$desc: the message mentions '$word'"
		else
			fail "$desc: the message mentions '$word'" "$(cat "$T/t.out" "$T/t.err")"
		fi
	fi
}

# ------------------------------------------------------------- -t good
write_config
"$SIPD" -t -c "$CONF" > "$T/good.out" 2>&1
check_eq "sipd -t -c good.conf exits 0" 0 $? || diag "$(cat "$T/good.out")"

# --------------------------------------------------------------- -t bad
cat > "$T/syntax.conf" <<EOF
# a syntax error on line 7
sip: {
  listen = [ "udp:127.0.0.1:$SIPD_PORT" ];
  domain = "pbx.test";
};
users = (
  { name = "1001"; password = = "pw1001"; }
);
EOF
conf_refused "syntax error" "$T/syntax.conf" 7

cat > "$T/unknown.conf" <<EOF
# an unknown setting on line 5
sip: {
  listen = [ "udp:127.0.0.1:$SIPD_PORT" ];
  domain = "pbx.test";
  no_such_setting = 42;
};
EOF
conf_refused "unknown setting" "$T/unknown.conf" 5 no_such_setting

cat > "$T/listen.conf" <<EOF
# a bad listen address on line 4
sip: {
  domain = "pbx.test";
  listen = [ "udp:127.0.0.1:99999" ];
};
EOF
conf_refused "bad listen address" "$T/listen.conf" 4 "udp:127.0.0.1:99999"

cat > "$T/listen2.conf" <<EOF
# a listen address without a transport on line 4
sip: {
  domain = "pbx.test";
  listen = [ "127.0.0.1:$SIPD_PORT" ];
};
EOF
conf_refused "listen address without udp:/tcp:" "$T/listen2.conf" 4

"$SIPD" -t -c "$T/does-not-exist.conf" > "$T/t.out" 2> "$T/t.err"
check_eq "sipd -t with a missing file exits 1" 1 $?
if grep -qF "$T/does-not-exist.conf" "$T/t.err" "$T/t.out"; then
	pass "the message names the missing file"
else
	fail "the message names the missing file" "$(cat "$T/t.out" "$T/t.err")"
fi

# ------------------------------------------------------------- -V, -h
out=$("$SIPD" -V 2>&1)
check_eq "sipd -V exits 0" 0 $?
if printf '%s\n' "$out" | grep -qE '[0-9]+\.[0-9]+'; then
	pass "sipd -V prints a version ($out)"
else
	fail "sipd -V prints a version" "$out"
fi

out=$("$SIPD" -h 2>&1)
check_eq "sipd -h exits 0" 0 $?
for opt in -c -f -t -V; do
	if printf '%s\n' "$out" | grep -qE -- "(^|[^A-Za-z])$opt([^A-Za-z]|$)|\[-[a-zA-Z]*${opt#-}[a-zA-Z]*\]"; then
		pass "sipd -h mentions $opt"
	else
		fail "sipd -h mentions $opt" "$out"
	fi
done

"$SIPD" -Q > "$T/badopt.out" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -qi usage "$T/badopt.out"; then
	pass "an unknown option prints the usage and fails (exit $rc)"
else
	fail "an unknown option prints the usage and fails" "exit $rc" "$(cat "$T/badopt.out")"
fi

# ------------------------------------------------------ port in use
if start_sipd; then
	JOURNAL=$T/second.log SIPCTL_EP=ipc://$T/second.sock write_config "$T/second.conf"
	"$SIPD" -f -c "$T/second.conf" > "$T/second.out" 2>&1 &
	pid2=$!
	_bg_pids+=("$pid2")
	if _wait_gone "$pid2" 50; then
		wait "$pid2"
		rc=$?
		if [ $rc -ne 0 ]; then
			pass "a second sipd on a port in use exits non-zero ($rc)"
			diag "$(tail -n 3 "$T/second.out")"
		else
			fail "a second sipd on a port in use exits non-zero" "exit 0" "$(cat "$T/second.out")"
		fi
	else
		fail "a second sipd on a port in use exits non-zero" "still running after 5 s" \
		    "$(cat "$T/second.out")"
	fi
	# UDP alone (no TCP listener to collide on): the second must fail too,
	# not share the port and split the traffic
	sed 's/listen = \[.*\];/listen = [ "udp:127.0.0.1:'"$SIPD_PORT"'" ];/' "$T/second.conf" \
	    > "$T/second-udp.conf"
	if grep -q "listen = \[ \"udp:127.0.0.1:$SIPD_PORT\" \];" "$T/second-udp.conf"; then
		"$SIPD" -f -c "$T/second-udp.conf" > "$T/second-udp.out" 2>&1 &
		pid3=$!
		_bg_pids+=("$pid3")
		if _wait_gone "$pid3" 50; then
			wait "$pid3"
			rc=$?
			if [ $rc -ne 0 ] && grep -q "Address already in use" "$T/second-udp.out"; then
				pass "a second sipd on the same UDP port (UDP only) exits non-zero ($rc)"
			else
				fail "a second sipd on the same UDP port (UDP only) exits non-zero" \
				    "exit $rc" "$(cat "$T/second-udp.out")"
			fi
		else
			fail "a second sipd on the same UDP port (UDP only) exits non-zero" \
			    "still running after 5 s: it shares the port" "$(cat "$T/second-udp.out")"
		fi
	else
		fail "a UDP-only config for the second sipd" "sed found no listen line" \
		    "$(grep -n listen "$T/second.conf")"
	fi
	sipd_alive
	stop_sipd
fi

done_testing
