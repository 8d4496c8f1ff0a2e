#!/bin/bash
# phones.sh — real baresip phones for the integration tests, sourced after
# lib.sh (it uses T, DOMAIN, SIPD_PORT, PYTHON, _bg_pids): a private config
# dir per phone (aufile plays a WAV into the call, sndfile records what the
# phone hears, ctrl_tcp takes commands), start, commands, diagnostics.
# The baresip 1.0 settings that work headless are in phone_config.

MODDIR=${BARESIP_MODULES:-/usr/lib/baresip/modules}

# need_phones — skips the whole test when baresip or a module is missing
need_phones() {
	local m

	need baresip sox
	for m in g711 aufile aubridge sndfile ctrl_tcp menu account; do
		[ -e "$MODDIR/$m.so" ] || skip_all "baresip module $m.so not in $MODDIR"
	done
}

# phone_config NAME USER TONE ANSWERMODE BASE [CODEC RATE] — writes
# $T/NAME/{config,accounts} with ports BASE..BASE+13 and sets NAME_sip,
# NAME_ctrl and NAME_rtp (the first of 10 RTP ports).  CODEC (e.g.
# AMR-WB/16000/1) makes it offer that codec only (baresip's amr module),
# its sound card (TONE, the recording) at RATE Hz (default 8000).
phone_config() {
	local name=$1 user=$2 tone=$3 answer=$4 sip=$5 codec=${6:-} srate=${7:-8000} rtp ctrl
	local codec_lines=""
	local acct_codecs=""
	# baresip 1.0 takes the codec list per account (;audio_codecs=), not in config
	[ -n "$codec" ] && codec_lines="module			amr.so" && acct_codecs=";audio_codecs=$codec"
	ctrl=$((sip + 2))
	rtp=$(( (sip + 4) & ~1 ))
	mkdir -p "$T/$name/rec"
	cat > "$T/$name/config" <<EOF
# baresip config written by tests/integration/phones.sh
poll_method		epoll
sip_listen		127.0.0.1:$sip
net_interface		127.0.0.1
call_local_timeout	120
call_max_calls		4
audio_player		aubridge,nil
audio_alert		aubridge,nil
audio_source		aufile,$tone
ausrc_srate		$srate
auplay_srate		$srate
ausrc_channels		1
auplay_channels		1
audio_level		no
rtp_ports		$rtp-$((rtp + 9))
rtcp_mux		no
jitter_buffer_delay	1-10
module_path		$MODDIR
module			g711.so
$codec_lines
module			aufile.so
module			aubridge.so
module			sndfile.so
module_tmp		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:$ctrl
snd_path		$T/$name/rec
EOF
	echo "<sip:$user@$DOMAIN>;auth_pass=pw$user;outbound=\"sip:127.0.0.1:$SIPD_PORT;transport=udp\";regint=60;answermode=$answer$acct_codecs" \
	    > "$T/$name/accounts"
	printf -v "${name}_sip" %s "$sip"
	printf -v "${name}_rtp" %s "$rtp"
	printf -v "${name}_ctrl" %s "$ctrl"
}

# start_phone NAME — baresip in the background (quits by itself after 90 s);
# BARESIP_TRACE=1 adds its SIP trace (-s) to the log
start_phone() {
	baresip ${BARESIP_TRACE:+-s} -f "$T/$1" -t 90 > "$T/$1.log" 2>&1 &
	printf -v "${1}_pid" %s "$!"
	_bg_pids+=("$!")
}

# ctrl PORT COMMAND PARAMS — one ctrl_tcp command (a JSON netstring); prints
# baresip's response object; exit 0 if it says "ok": true
ctrl() {
	$PYTHON - "$@" <<'EOF'
import json, socket, sys, time
port, cmd, params = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=5)
req = json.dumps({"command": cmd, "params": params, "token": "t1"}).encode()
s.sendall(b"%d:%s," % (len(req), req))
buf, deadline = b"", time.monotonic() + 5
while time.monotonic() < deadline:
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        break
    if not chunk:
        break
    buf += chunk
    while b":" in buf:			# netstrings: events and our response
        n, _, rest = buf.partition(b":")
        if not n.isdigit() or len(rest) < int(n) + 1:
            break
        obj, buf = json.loads(rest[:int(n)]), rest[int(n) + 1:]
        if obj.get("response"):
            print(json.dumps(obj))
            sys.exit(0 if obj.get("ok") else 1)
print("no response from ctrl_tcp", file=sys.stderr)
sys.exit(1)
EOF
}

# phone_diag NAME — the end of a phone's log, for failure messages
phone_diag() {
	echo "--- baresip $1 ($T/$1.log):"
	tr -d '\033' < "$T/$1.log" | tr '\r' '\n' | grep -v 'audio=.*bit/s' | tail -n 40
}

# check_heard NAME WHAT RECORDING [FREQ [SECONDS]] — asserts that phone
# NAME's recording (sndfile's decoded dump) is a test tone of FREQ Hz
# (default 440: 1001's) heard for SECONDS (default 1): lib.sh's check_tone.
check_heard() {
	local name=$1 what=$2 recording=$3 freq=${4:-440} secs=${5:-1} dec

	dec=$(ls "$T/$name"/rec/*-dec.wav 2>/dev/null | head -n 1)
	if [ -z "$dec" ]; then
		fail "$recording exists" "nothing in $T/$name/rec" "$(phone_diag "$name")"
		return
	fi
	check_tone "$what" "$dec" "$freq" "$secs"
}
