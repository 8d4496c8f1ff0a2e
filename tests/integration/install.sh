#!/bin/bash
# install.sh — what `make install` puts in place, installed under a
# directory of the test's own (lib.sh's install_to):
#   (a) the layout: sipd, mediad and recd in sbin, sipctl in bin, the sample
#       parley.conf (mode 0640) in etc/parley, the directories var/lib/
#       parley/recordings, var/log/parley and run/parley, the init scripts,
#       the logrotate file, the systemd units and parley.target, the bash
#       completion and the man pages; every template filled in
#       (no @name@ left) with the installed paths, which exist;
#   (b) the systemd units: `systemd-analyze verify` says nothing (every key
#       known, every command and man page there), their exposure by
#       `systemd-analyze security --offline` stays low, and they have what
#       the service needs (Type=notify, ExecReload with HUP, User=parley,
#       Restart=on-failure, the directories, the hardening, and
#       CAP_NET_BIND_SERVICE for sipd, CAP_BPF and CAP_NET_ADMIN for mediad's
#       start, none for recd, the recordings for recd);
#   (c) the installed man pages: `man -l` renders each with no warning, and
#       man finds each by name in the installed tree;
#   (d) a second `make install` keeps an edited parley.conf; `make
#       uninstall` removes every file but that one.
set -u
. "$(dirname "$0")/lib.sh"

P=$T/inst
if install_to "$P"; then
	pass "make install into a directory of the test's own"
else
	fail "make install into a directory of the test's own" "$(tail -n 30 "$T/install.log")"
	done_testing
fi

# ------------------------------------------------------------ (a) layout
bad=""
for f in sbin/sipd sbin/mediad sbin/recd bin/sipctl etc/init.d/parley-sipd etc/init.d/parley-mediad \
    etc/init.d/parley-recd; do
	[ -f "$P/$f" ] && [ -x "$P/$f" ] || bad="$bad $f: missing or not executable;"
done
for f in etc/logrotate.d/parley lib/systemd/system/parley-sipd.service \
    lib/systemd/system/parley-mediad.service lib/systemd/system/parley-recd.service \
    lib/systemd/system/parley.target share/bash-completion/completions/sipctl \
    share/man/man8/sipd.8 share/man/man8/mediad.8 share/man/man8/recd.8 \
    share/man/man8/sipctl.8 share/man/man5/parley.conf.5; do
	[ -f "$P/$f" ] || bad="$bad $f: missing;"
done
for d in var/lib/parley/recordings var/log/parley run/parley; do
	[ -d "$P/$d" ] || bad="$bad $d/: missing;"
done
result "every program, script, unit, page and directory is in its place" "$bad"

if cmp -s "$top_srcdir/etc/parley.conf" "$P/etc/parley/parley.conf"; then
	pass "etc/parley/parley.conf is the commented sample"
else
	fail "etc/parley/parley.conf is the commented sample" "$(ls -l "$P/etc/parley" 2>&1)"
fi
check_eq "parley.conf has mode 0640 (it will hold passwords)" 640 \
    "$(stat -c %a "$P/etc/parley/parley.conf" 2>/dev/null)"

gen="$P/etc/init.d/parley-sipd $P/etc/init.d/parley-mediad $P/etc/init.d/parley-recd
    $P/etc/logrotate.d/parley $P/lib/systemd/system/parley-sipd.service
    $P/lib/systemd/system/parley-mediad.service $P/lib/systemd/system/parley-recd.service
    $P/lib/systemd/system/parley.target"
# shellcheck disable=SC2086
left=$(grep -nE '@[A-Za-z_]+@' $gen)
result "the templates are filled in (no @name@ left)" "$left"
bad=""
# shellcheck disable=SC2086
for path in $(grep -ohE "$P/[A-Za-z0-9_./-]+" $gen | sort -u); do
	case $path in
	*/default/*) ;;		# optional, the admin's
	*/run/\$NAME.pid | */run/parley-*.pid) ;;	# made at start
	*/var/log/parley/\*.log) ;;
	*) [ -e "$path" ] || bad="$bad $path;" ;;
	esac
done
result "every installed path the scripts and units name exists" "${bad:+missing:$bad}"
grep -q "^DAEMON=$P/sbin/sipd\$" "$P/etc/init.d/parley-sipd" &&
    grep -q "^# Provides: *parley-sipd\$" "$P/etc/init.d/parley-sipd" &&
    grep -q "^# Provides: *parley-mediad\$" "$P/etc/init.d/parley-mediad" &&
    grep -q "^# Provides: *parley-recd\$" "$P/etc/init.d/parley-recd"
check_eq "each init script is its daemon's (DAEMON=, LSB Provides:)" 0 $?
if sh -n "$P/etc/init.d/parley-sipd" && sh -n "$P/etc/init.d/parley-mediad" &&
    sh -n "$P/etc/init.d/parley-recd"; then
	pass "the init scripts are valid sh"
else
	fail "the init scripts are valid sh"
fi
bad=""
for a in start stop restart reload force-reload status; do
	grep -qE "^(\\s*|.*\\| *)$a(\\)| *\\|)" "$P/etc/init.d/parley-sipd" || bad="$bad $a;"
done
grep -q '^### BEGIN INIT INFO' "$P/etc/init.d/parley-sipd" &&
    grep -q '^### END INIT INFO' "$P/etc/init.d/parley-sipd" || bad="$bad no LSB header;"
result "the init scripts have an LSB header and start, stop, restart, reload, force-reload, status" "$bad"

# ------------------------------------------------------------ (b) systemd
U=$P/lib/systemd/system
if ! command -v systemd-analyze > /dev/null 2>&1; then
	skip "systemd-analyze verify the units" "systemd-analyze not installed"
else
	out=$(MANPATH=$P/share/man systemd-analyze verify "$U/parley-sipd.service" \
	    "$U/parley-mediad.service" "$U/parley-recd.service" "$U/parley.target" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ -z "$out" ]; then
		pass "systemd-analyze verify: the units and parley.target are clean"
	else
		fail "systemd-analyze verify: the units and parley.target are clean" "exit $rc" "$out"
	fi
	for u in parley-sipd parley-mediad parley-recd; do
		out=$(systemd-analyze security --offline=yes --threshold=25 "$U/$u.service" 2>&1)
		rc=$?
		lvl=$(printf '%s\n' "$out" | sed -n 's/.*exposure level for [^:]*: \([0-9.]*\).*/\1/p')
		if [ $rc -eq 0 ] && [ -n "$lvl" ]; then
			pass "systemd-analyze security: $u's exposure is $lvl (at most 2.5)"
		else
			fail "systemd-analyze security: $u's exposure is at most 2.5" "exit $rc" \
			    "$(printf '%s\n' "$out" | grep -E '✗|exposure')"
		fi
	done
fi
bad=""
for u in parley-sipd parley-mediad parley-recd; do
	for kv in Type=notify 'ExecReload=/bin/kill -HUP $MAINPID' Restart=on-failure User=parley \
	    Group=parley RuntimeDirectory=parley RuntimeDirectoryPreserve=yes ProtectSystem=strict \
	    NoNewPrivileges=yes PrivateTmp=yes PrivateDevices=yes ProtectHome=yes \
	    PartOf=parley.target WantedBy=parley.target; do
		grep -qxF "$kv" "$U/$u.service" || bad="$bad $u: no $kv;"
	done
	grep -qx "ExecStart=$P/sbin/${u#parley-} -f -c $P/etc/parley/parley.conf" "$U/$u.service" ||
	    bad="$bad $u: ExecStart is not '${u#parley-} -f -c' the installed parley.conf;"
done
grep -qx "LogsDirectory=parley" "$U/parley-sipd.service" || bad="$bad sipd: no LogsDirectory=parley;"
grep -qx "AmbientCapabilities=CAP_NET_BIND_SERVICE" "$U/parley-sipd.service" &&
    grep -qx "CapabilityBoundingSet=CAP_NET_BIND_SERVICE" "$U/parley-sipd.service" ||
    bad="$bad sipd: not CAP_NET_BIND_SERVICE alone;"
# mediad: the two its start needs to load and attach its forwarding program
# (it gives them up before it serves: relay_kernel.sh), and the bpf(2) and
# capset(2) calls that @privileged would refuse
grep -qx "AmbientCapabilities=CAP_BPF CAP_NET_ADMIN" "$U/parley-mediad.service" &&
    grep -qx "CapabilityBoundingSet=CAP_BPF CAP_NET_ADMIN" "$U/parley-mediad.service" &&
    grep -qx "SystemCallFilter=bpf capset" "$U/parley-mediad.service" ||
    bad="$bad mediad: not CAP_BPF and CAP_NET_ADMIN alone, or bpf/capset filtered;"
grep -qx "CapabilityBoundingSet=" "$U/parley-recd.service" &&
    ! grep -q "AmbientCapabilities" "$U/parley-recd.service" ||
    bad="$bad recd: has capabilities;"
grep -qx "StateDirectory=parley/recordings" "$U/parley-recd.service" ||
    bad="$bad recd: no StateDirectory=parley/recordings;"
grep -qx "Wants=parley-sipd.service parley-mediad.service parley-recd.service" "$U/parley.target" &&
    grep -qx "WantedBy=multi-user.target" "$U/parley.target" ||
    bad="$bad parley.target: does not want both services, or is not wanted by multi-user.target;"
result "the units: notify, reload by HUP, restart on failure, user parley, directories, hardening, CAP_NET_BIND_SERVICE for sipd, CAP_BPF+CAP_NET_ADMIN for mediad, none for recd, the recordings for recd, parley.target" "$bad"

# ------------------------------------------------------------ (c) man pages
if ! command -v man > /dev/null 2>&1; then
	skip "man -l renders the installed pages" "man not installed"
else
	for page in man8/sipd.8 man8/mediad.8 man8/recd.8 man8/sipctl.8 man5/parley.conf.5; do
		out=$(MANWIDTH=80 man --warnings -l "$P/share/man/$page" 2>&1 > "$T/page.txt")
		rc=$?
		if [ $rc -eq 0 ] && [ -z "$out" ] && grep -q '^NAME' "$T/page.txt"; then
			pass "man -l $page: rendered, no warning"
		else
			fail "man -l $page: rendered, no warning" "exit $rc" "$out"
		fi
	done
	bad=""
	for name in 8:sipd 8:mediad 8:recd 8:sipctl 5:parley.conf; do
		f=$(man -M "$P/share/man" -w "${name%%:*}" "${name#*:}" 2>&1)
		[ "$f" = "$P/share/man/man${name%%:*}/${name#*:}.${name%%:*}" ] || bad="$bad ${name#*:}: $f;"
	done
	result "man -M finds sipd(8), mediad(8), recd(8), sipctl(8) and parley.conf(5) in the installed tree" "$bad"
fi

# ------------------------------------------------------------ (d) again, uninstall
echo '# the admin was here' >> "$P/etc/parley/parley.conf"
if install_to "$P" && grep -q '^# the admin was here$' "$P/etc/parley/parley.conf"; then
	pass "a second make install keeps the edited parley.conf"
else
	fail "a second make install keeps the edited parley.conf" "$(tail -n 20 "$T/install.log")"
fi
if install_to "$P" uninstall; then
	left=$(find "$P" -type f | sed "s|^$P/||" | sort | tr '\n' ' ')
	check_eq "make uninstall leaves no file but the edited parley.conf" "etc/parley/parley.conf " "$left"
else
	fail "make uninstall" "$(tail -n 20 "$T/install.log")"
fi

done_testing
