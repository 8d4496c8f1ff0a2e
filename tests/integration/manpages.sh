#!/bin/bash
# manpages.sh — the manual pages (man/sipd.8, man/mediad.8, man/recd.8, man/sipctl.8,
# man/parley.conf.5) are well-formed and say what the code does:
#   (a) lint: `mandoc -T lint` reports nothing (the one message allowed is
#       STYLE "referenced manual not found" for Parley's own pages, which
#       mandoc looks for only among the installed ones), and `groff -mandoc
#       -ww -z` (what man(1) renders with on Debian) warns of nothing;
#   (b) sipd: every option letter of `sipd -h` is in sipd.8's SYNOPSIS and
#       has an item in the option list, and sipd.8 documents no option that
#       sipd lacks; every journal event sipd's sources write (journal_write
#       calls) is listed in CALL JOURNAL with exactly the keys it writes
#       (a key written only under a condition may be left out) and no event
#       is listed that sipd does not write;
#   (b') mediad, recd: the same for the options of `mediad -h` and mediad.8,
#       of `recd -h` and recd.8;
#   (c) sipctl: every option (short and long) and every command of
#       `sipctl --help`, with its number of arguments, is in sipctl.8, and
#       the other way round; every exit status of the help is explained;
#   (d) parley.conf.5: every section and key of etc/parley.conf and every
#       key common/conf.c accepts is documented (a key of a section as an
#       item of that section), with the default etc/parley.conf gives; the
#       configurations in the page's EXAMPLES pass `sipd -t`;
#   (e) mediad.8, recd.8: CONFIGURATION lists exactly the keys the daemon's
#       sources
#       and common/service.c read (the parley_conf fields they use, each
#       traced to its key in common/conf.c), and each of them is in
#       parley.conf.5 in its section and in etc/parley.conf (set, or
#       named in a comment); the
#       configurations in its EXAMPLES pass `mediad -t` (`recd -t`).
# So a new option, command, key or event cannot land without its page.
#
# Environment: top_srcdir and top_builddir (absolute; the Makefile sets
# them); for a manual run they default to this script's ../.. and the
# current directory.  Needs mandoc or groff for (a) and to render the
# example; (b)-(e) read the page sources with awk.
set -u

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

MAN=$top_srcdir/man
SIPD=$top_builddir/sipd/sipd
MEDIAD=$top_builddir/mediad/mediad
RECD=$top_builddir/recd/recd
SIPCTL=$top_builddir/sipctl/sipctl
PAGES="sipd.8 mediad.8 recd.8 sipctl.8 parley.conf.5"

# ------------------------------------------------------------------ TAP

n=0
nfailed=0
T=$(mktemp -d "${TMPDIR:-/tmp}/parley-man.XXXXXX") || { echo "Bail out! mktemp"; exit 1; }
trap 'rm -rf "$T"' EXIT

diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() {
	n=$((n + 1))
	nfailed=$((nfailed + 1))
	echo "not ok $n - $1"
	shift
	[ $# -gt 0 ] && diag "$@"
	return 0
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP ${2:-}"; }
# result DESC PROBLEMS — pass when PROBLEMS is empty, else fail listing them
result() {
	if [ -z "$2" ]; then
		pass "$1"
	else
		fail "$1" "$2"
	fi
}

for p in $PAGES; do
	[ -f "$MAN/$p" ] || { echo "Bail out! $MAN/$p missing"; exit 1; }
done
[ -x "$SIPD" ] || { echo "Bail out! $SIPD not built"; exit 1; }
[ -x "$MEDIAD" ] || { echo "Bail out! $MEDIAD not built"; exit 1; }
[ -x "$RECD" ] || { echo "Bail out! $RECD not built"; exit 1; }
[ -x "$SIPCTL" ] || { echo "Bail out! $SIPCTL not built"; exit 1; }

# ------------------------------------------------------------------ page helpers

# sh_src PAGE SECTION — the source lines of .Sh SECTION
sh_src() {
	awk -v s="$2" '/^\.Sh / { on = (substr($0, 5) == s); next } on' "$MAN/$1"
}

# ss_src PAGE SUBSECTION — the source lines of .Ss SUBSECTION
ss_src() {
	awk -v s="$2" '/^\.S[hs] / { on = ($1 == ".Ss" && substr($0, 5) == s); next } on' "$MAN/$1"
}

# render PAGE — the page as plain text
render() {
	if command -v mandoc >/dev/null 2>&1; then
		mandoc -T utf8 "$MAN/$1" | col -bx
	else
		groff -mandoc -K utf8 -T utf8 -P -c "$MAN/$1" 2>/dev/null | col -bx
	fi
}

# fl_letters — the option letters of the Fl macros on stdin's lines
fl_letters() {
	awk '{ for (i = 1; i < NF; i++) if ($i == "Fl") print $(i + 1) }' |
	    sed 's/[^A-Za-z]//g' | fold -w1 | sort -u
}

# ------------------------------------------------------------------ (a) lint

have_mandoc=0
command -v mandoc >/dev/null 2>&1 && have_mandoc=1
have_groff=0
command -v groff >/dev/null 2>&1 && have_groff=1

for p in $PAGES; do
	if [ $have_mandoc = 1 ]; then
		out=$(mandoc -T lint "$MAN/$p" 2>&1)
		rc=$?
		# Parley's own pages are not installed while they are linted; the
		# "outdated mandoc.db" notes are about the system's database
		own=$(printf '%s\n' "$out" | grep -E 'STYLE: referenced manual not found: Xr (sipd 8|mediad 8|recd 8|sipctl 8|parley\.conf 5)')
		rest=$(printf '%s\n' "$out" | grep -vE 'STYLE: referenced manual not found: Xr (sipd 8|mediad 8|recd 8|sipctl 8|parley\.conf 5)' |
		    grep -v 'outdated mandoc.db lacks' | grep -v '^$')
		if [ -z "$rest" ] && [ $rc -le 1 ]; then
			pass "mandoc -T lint $p: clean"
			[ -n "$own" ] && diag "allowed (Parley's own pages are not installed yet):" "$own"
		else
			fail "mandoc -T lint $p: clean" "exit $rc" "$rest"
		fi
	else
		skip "mandoc -T lint $p" "mandoc not installed"
	fi
	if [ $have_groff = 1 ]; then
		out=$(groff -mandoc -ww -z -K utf8 "$MAN/$p" 2>&1)
		rc=$?
		if [ -z "$out" ] && [ $rc -eq 0 ]; then
			pass "groff -mandoc -ww $p: no warnings"
		else
			fail "groff -mandoc -ww $p: no warnings" "exit $rc" "$out"
		fi
	else
		skip "groff -mandoc -ww $p" "groff not installed"
	fi
	if [ $have_mandoc = 1 ] || [ $have_groff = 1 ]; then
		title=$(echo "$p" | sed 's/\.[0-9]$//' | tr '[:lower:]' '[:upper:]')
		if render "$p" > "$T/$p.txt" && grep -q '^NAME' "$T/$p.txt" &&
		    grep -qF "$title(" "$T/$p.txt"; then
			pass "$p renders, with NAME and its title"
		else
			fail "$p renders, with NAME and its title" "$(head -5 "$T/$p.txt")"
		fi
	fi
done

# ------------------------------------------------------------------ (b) sipd, (b') mediad, recd

# check_options NAME PROGRAM PAGE — every option letter of `PROGRAM -h` is
# in PAGE's SYNOPSIS and has an item `.It Fl X`, and PAGE has no others
check_options() {
	local name=$1 prog=$2 page=$3 help check_rc opts syn items bad o
	help=$("$prog" -h 2>&1)
	check_rc=$?
	if [ $check_rc -ne 0 ] || [ -z "$help" ]; then
		fail "$name -h prints the usage" "exit $check_rc" "$help"
	fi
	opts=$(printf '%s\n' "$help" | grep -oE -- '(^|[[:space:][])-[A-Za-z]+' | sed 's/.*-//' |
	    fold -w1 | sort -u)
	syn=$(sh_src "$page" SYNOPSIS | fl_letters)
	items=$(grep -E '^\.It Fl [A-Za-z]( |$)' "$MAN/$page" | awk '{ print $3 }' | sort -u)
	bad=""
	for o in $opts; do
		printf '%s\n' "$syn" | grep -qx -- "$o" || bad="$bad -$o not in SYNOPSIS;"
		printf '%s\n' "$items" | grep -qx -- "$o" || bad="$bad no .It Fl $o;"
	done
	for o in $syn $items; do
		printf '%s\n' "$opts" | grep -qx -- "$o" || bad="$bad -$o documented but not in $name -h;"
	done
	if [ -z "$opts" ]; then
		fail "$name -h options are in $page" "no options found in: $help"
	else
		result "$name -h options ($(echo $opts | tr -d ' ')) are in $page's SYNOPSIS and option list, and no others" "$bad"
	fi
}

check_options sipd "$SIPD" sipd.8
check_options mediad "$MEDIAD" mediad.8
check_options recd "$RECD" recd.8

# Events and keys of every journal_write call in sipd's sources, one line
# per event: "event key key* ..." (key* = written only under a condition).
# An event given as a variable is taken from `event = "..."` and from
# `*_journal(sd, "...")` calls in the same file.
code_events() {
	local f
	for f in "$top_srcdir"/sipd/*.c; do
		[ "$(basename "$f")" = journal.c ] && continue
		awk '
		function flush(call,   i, c, depth, inq, args, na, cur, ev, keys, k, v) {
			sub(/^[^(]*journal_write[ \t]*\(/, "", call)
			sub(/\)[ \t]*;[ \t]*$/, "", call)
			na = 0; cur = ""; depth = 0; inq = 0
			for (i = 1; i <= length(call); i++) {
				c = substr(call, i, 1)
				if (inq) {
					cur = cur c
					if (c == "\\") { i++; cur = cur substr(call, i, 1) }
					else if (c == "\"") inq = 0
					continue
				}
				if (c == "\"") inq = 1
				else if (c == "(") depth++
				else if (c == ")") depth--
				else if (c == "," && depth == 0) { args[++na] = cur; cur = ""; continue }
				cur = cur c
			}
			args[++na] = cur
			for (i = 1; i <= na; i++) { gsub(/^[ \t]+|[ \t]+$/, "", args[i]) }
			ev = args[2]
			keys = ""
			for (i = 3; i + 1 <= na; i += 2) {
				k = args[i]; v = args[i + 1]
				if (k ~ /NULL/) break
				gsub(/"/, "", k)
				if (v ~ /\?.*:[ \t]*(\(char \*\))?NULL$/) k = k "*"
				keys = keys " " k
			}
			ncalls++
			if (ev ~ /^"/) { gsub(/"/, "", ev); print ev keys }
			else varkeys[ncalls] = keys
		}
		{ text = text "\n" $0 }
		incall { call = call " " $0; if ($0 ~ /\)[ \t]*;[ \t]*$/) { flush(call); incall = 0 }; next }
		/journal_write[ \t]*\(/ && $0 !~ /^[a-z_]+[ \t]*\(/ && $0 !~ /^[ \t]*\*/ {
			call = $0
			if ($0 ~ /\)[ \t]*;[ \t]*$/) flush(call); else incall = 1
		}
		END {
			for (c in varkeys) {
				t = text
				while (match(t, /(event = |_journal\(sd, )"[a-z-]+"/)) {
					e = substr(t, RSTART, RLENGTH)
					sub(/^[^"]*"/, "", e); sub(/"$/, "", e)
					if (!(e in seen)) { seen[e] = 1; print e varkeys[c] }
					t = substr(t, RSTART + RLENGTH)
				}
			}
		}' "$f"
	done | sort -u
}

# "event key key ..." of every .It Cm EVENT Li KEYS in sipd.8's CALL JOURNAL
page_events() {
	sh_src sipd.8 "CALL JOURNAL" | awk '
	/^\.It Cm [a-z-]+/ {
		line = $3
		if ($4 == "Li") for (i = 5; i <= NF; i++) line = line " " $i
		print line
	}' | sort -u
}

code_events > "$T/code.events"
page_events > "$T/page.events"
if [ "$(wc -l < "$T/code.events")" -lt 10 ]; then
	fail "journal events read from sipd's sources" \
	    "found only these; has the journal_write pattern changed?" "$(cat "$T/code.events")"
else
	pass "journal events read from sipd's sources ($(wc -l < "$T/code.events"))"
	diag "$(cat "$T/code.events")"
fi
bad=""
while read -r ev keys; do
	pline=$(awk -v e="$ev" '$1 == e' "$T/page.events")
	if [ -z "$pline" ]; then
		bad="$bad $ev: not in CALL JOURNAL;"
		continue
	fi
	pkeys=" $(printf '%s\n' "$pline" | cut -d' ' -f2-) "
	[ "$pkeys" = " $ev " ] && pkeys="  "
	for k in $keys; do
		case $k in
		*\*)	;;	# conditional: may be left out
		*)	case $pkeys in *" $k "*) ;; *) bad="$bad $ev: key $k missing;" ;; esac ;;
		esac
	done
	for k in $pkeys; do
		case " $keys " in
		*" $k "* | *" $k* "*) ;;
		*)	bad="$bad $ev: key $k documented but not written;" ;;
		esac
	done
done < "$T/code.events"
while read -r ev _; do
	awk -v e="$ev" '$1 == e { f = 1 } END { exit !f }' "$T/code.events" ||
	    bad="$bad $ev: documented but sipd does not write it;"
done < "$T/page.events"
result "sipd.8 CALL JOURNAL lists every event sipd writes, with its keys, and no others" "$bad"

# ------------------------------------------------------------------ (c) sipctl

help=$("$SIPCTL" --help 2>&1)
check_rc=$?
if [ $check_rc -ne 0 ] || [ -z "$help" ]; then
	fail "sipctl --help prints the usage" "exit $check_rc" "$help"
fi

# options: "  -c, --config FILE ..."
bad=""
shorts=""
syn=$(sh_src sipctl.8 SYNOPSIS | fl_letters)
while read -r s l; do
	[ -n "$s" ] || continue
	shorts="$shorts $s"
	printf '%s\n' "$syn" | grep -qx -- "$s" || bad="$bad -$s not in SYNOPSIS;"
	grep -qE "^\.It Fl $s( .*)?, Fl \\\\-$l( |$)" "$MAN/sipctl.8" ||
	    bad="$bad no '.It Fl $s ..., Fl \\-$l';"
done <<EOF
$(printf '%s\n' "$help" | sed -nE 's/^[[:space:]]+-([A-Za-z]), --([a-z-]+).*/\1 \2/p')
EOF
for o in $(grep -E '^\.It Fl [A-Za-z]( |$)' "$MAN/sipctl.8" | awk '{ print $3 }') $syn; do
	case " $shorts " in *" $o "*) ;; *) bad="$bad -$o documented but not in sipctl --help;" ;; esac
done
if [ -z "$shorts" ]; then
	fail "sipctl --help options are in sipctl.8" "no options found in: $help"
else
	result "sipctl --help options ($(echo $shorts | tr -d ' ')) are in sipctl.8, short and long, and no others" "$bad"
fi

# commands: "  room kick ROOM PARTICIPANT      help text" -> "room kick|2"
help_cmds=$(printf '%s\n' "$help" | awk '
	/^commands:/ { on = 1; next }
	/^[^ ]/ { on = 0 }
	on {
		sub(/^  /, ""); sub(/  .*/, "")
		w = ""; a = 0
		for (i = 1; i <= NF; i++)
			if ($i ~ /^[a-z]+$/) w = w (w == "" ? "" : " ") $i; else a++
		print w "|" a
	}' | sort -u)
page_cmds=$(ss_src sipctl.8 Commands | awk '
	/^\.It Cm / {
		w = ""; a = 0; inar = 0
		for (i = 3; i <= NF; i++) {
			if ($i == "Ar") { inar = 1; continue }
			if (inar) a++; else w = w (w == "" ? "" : " ") $i
		}
		print w "|" a
	}' | sort -u)
bad=""
for c in $(printf '%s\n' "$help_cmds" | tr ' ' '_'); do
	c=$(echo "$c" | tr '_' ' ')
	printf '%s\n' "$page_cmds" | grep -qxF -- "$c" ||
	    bad="$bad '${c%|*}' with ${c#*|} argument(s) not in sipctl.8 Commands;"
done
for c in $(printf '%s\n' "$page_cmds" | tr ' ' '_'); do
	c=$(echo "$c" | tr '_' ' ')
	printf '%s\n' "$help_cmds" | grep -qxF -- "$c" ||
	    bad="$bad '${c%|*}' with ${c#*|} argument(s) documented but not in sipctl --help;"
done
if [ "$(printf '%s\n' "$help_cmds" | grep -c .)" -lt 4 ]; then
	fail "sipctl --help commands are in sipctl.8" "no commands found in: $help"
else
	result "sipctl --help commands ($(printf '%s\n' "$help_cmds" | grep -c .)) are in sipctl.8 with their arguments, and no others" "$bad"
fi

# exit status: "exit status: 0 done, 1 refused by sipd, ..."
codes=$(printf '%s\n' "$help" | sed -n 's/^exit status: //p' | grep -oE '(^|, )[0-9]+ ' | tr -dc '0-9\n')
bad=""
for c in $codes; do
	sh_src sipctl.8 "EXIT STATUS" | grep -qx "\.It $c" || bad="$bad $c;"
done
if [ -z "$codes" ]; then
	fail "sipctl exit statuses are in sipctl.8" "no 'exit status:' line in: $help"
else
	result "sipctl exit statuses ($(echo $codes | tr -d ' ')) are explained in EXIT STATUS" "${bad:+missing:$bad}"
fi

# ------------------------------------------------------------------ (d) parley.conf

# "section key default-text" of every .It Ic KEY of every .Ss SECTION
awk '
	/^\.Sh / { sec = ""; next }
	/^\.Ss / { flush(); sec = $2; depth = 0; next }
	sec == "" { next }
	/^\.Bl/ { depth++; if (key != "") text = text " " $0; next }
	/^\.El/ { depth--; if (depth == 0) flush(); else text = text " " $0; next }
	depth == 1 && /^\.It Ic / { flush(); key = $3; next }
	key != "" { text = text " " $0 }
	function flush() {
		if (key != "") {
			gsub(/\\&/, "", text); gsub(/\\e/, "\\", text)
			print sec "\t" key "\t" text
		}
		key = ""; text = ""
	}
	END { flush() }' "$MAN/parley.conf.5" > "$T/page.keys"

# etc/parley.conf: "section key value" for the settings of each group, and
# the keys named in comments (examples such as the users' keys)
awk '
	/^[ \t]*#/ {
		t = $0
		while (match(t, /[a-z_][a-z0-9_]*[ \t]+=([ \t]|$)/)) {
			k = substr(t, RSTART, RLENGTH); sub(/[ \t]*=.*$/, "", k)
			print "#\t" k "\t"
			t = substr(t, RSTART + RLENGTH)
		}
		next
	}
	{
		line = $0; sub(/#.*/, "", line)
		if (depth == 0 && match(line, /^[ \t]*[a-z_][a-z0-9_]*[ \t]*[:=]/)) {
			sec = substr(line, RSTART, RLENGTH); sub(/[ \t]*[:=]$/, "", sec)
			gsub(/[ \t]/, "", sec)
			print "top\t" sec "\t"
		} else if (depth == 1 && match(line, /^[ \t]*[a-z_][a-z0-9_]*[ \t]*=/)) {
			k = substr(line, RSTART, RLENGTH); sub(/[ \t]*=$/, "", k); gsub(/[ \t]/, "", k)
			v = substr(line, RSTART + RLENGTH)
			sub(/^[ \t]+/, "", v); sub(/[ \t]*;[ \t]*$/, "", v)
			print sec "\t" k "\t" v
		}
		t = line; gsub(/"[^"]*"/, "", t)
		depth += gsub(/[{(]/, "", t) - gsub(/[})]/, "", t)
	}' "$top_srcdir/etc/parley.conf" > "$T/etc.keys"

bad=""
nkeys=0
while IFS=$'\t' read -r sec key val; do
	nkeys=$((nkeys + 1))
	case $sec in
	top)
		grep -qx "\.Ss $key" "$MAN/parley.conf.5" || bad="$bad section $key: no .Ss;"
		;;
	\#)
		grep -qE "(^\.|[[:space:]])Ic $key([[:space:]]|$)" "$MAN/parley.conf.5" ||
		    bad="$bad $key (in a comment): not in the page;"
		;;
	*)
		text=$(awk -F'\t' -v s="$sec" -v k="$key" '$1 == s && $2 == k { print $3 }' "$T/page.keys")
		if [ -z "$text" ]; then
			bad="$bad $sec.$key: no item in .Ss $sec;"
			continue
		fi
		case $val in \(*) continue ;; esac	# a list of groups: no scalar default
		def=${text#*Default:}
		if [ "$def" = "$text" ]; then
			bad="$bad $sec.$key: no 'Default:';"
			continue
		fi
		vals=$(printf '%s\n' "$val" | sed 's/^\[//; s/\]$//' | tr ',' '\n' | sed 's/^ *//; s/ *$//')
		while read -r v; do
			[ -n "$v" ] || continue
			case $v in
			\"*)	case $def in *"$v"*) ;; *) bad="$bad $sec.$key: default $v not in the page;" ;; esac ;;
			*)	printf '%s\n' "$def" | grep -qE "(^|[^A-Za-z0-9_])$v([^A-Za-z0-9_]|$)" ||
				    bad="$bad $sec.$key: default $v not in the page;" ;;
			esac
		done <<-EOF
		$vals
		EOF
		;;
	esac
done < "$T/etc.keys"
if [ $nkeys -lt 30 ]; then
	fail "etc/parley.conf keys read" "found only $nkeys:" "$(cat "$T/etc.keys")"
else
	result "every section and key of etc/parley.conf ($nkeys) is in parley.conf.5, in its section, with its default" "$bad"
fi

# common/conf.c: the names conf_check_keys allows in each group, the
# NULL-terminated arrays `static const char *const x[] = { "...", NULL };`
awk '
	/static const char \*const [a-z]+\[\] = \{/ {
		on = 1; body = ""; name = $0; sub(/.*\*const /, "", name); sub(/\[.*/, "", name)
	}
	on {
		body = body " " $0
		if ($0 ~ /\}[ \t]*;/) {
			on = 0
			if (body !~ /NULL[ \t]*\}/) next
			while (match(body, /"[a-z_]+"/)) {
				print name "\t" substr(body, RSTART + 1, RLENGTH - 2)
				body = substr(body, RSTART + RLENGTH)
			}
		}
	}' "$top_srcdir/common/conf.c" > "$T/conf.keys"
bad=""
while IFS=$'\t' read -r arr key; do
	if [ "$arr" = top ]; then
		grep -qx "\.Ss $key" "$MAN/parley.conf.5" || bad="$bad section $key: no .Ss;"
	else
		grep -qE "(^\.|[[:space:]])Ic $key([[:space:]]|$)" "$MAN/parley.conf.5" ||
		    bad="$bad $key ($arr[] in conf.c): not in the page;"
	fi
done < "$T/conf.keys"
if [ "$(wc -l < "$T/conf.keys")" -lt 30 ]; then
	fail "common/conf.c keys read" "found only:" "$(cat "$T/conf.keys")"
else
	result "every key common/conf.c accepts ($(wc -l < "$T/conf.keys")) is in parley.conf.5" "$bad"
fi

# check_examples PAGE NAME PROGRAM — the configurations shown in PAGE's
# EXAMPLES, each block that starts with a group ("sip: {") or the users'
# list ("users = ("), pass `PROGRAM -t`
check_examples() {
	local page=$1 name=$2 prog=$3 nex=0 f out rc
	if [ $have_mandoc = 0 ] && [ $have_groff = 0 ]; then
		skip "$page examples pass $name -t" "neither mandoc nor groff installed"
		return
	fi
	render "$page" | awk -v dir="$T" -v page="$page" '
		/^EXAMPLES/ { ex = 1; next }
		/^[A-Z]/ { ex = 0 }
		ex && !on && /^ +([a-z_]+: \{|users = \()/ { nb++; on = 1; match($0, /^ +/); ind = RLENGTH }
		on && /^     [^ ]/ { on = 0 }
		on { print substr($0, ind + 1) > (dir "/" page ".example" nb ".conf") }'
	for f in "$T/$page".example*.conf; do
		[ -f "$f" ] || continue
		nex=$((nex + 1))
		out=$("$prog" -t -c "$f" 2>&1)
		rc=$?
		if [ $rc -eq 0 ]; then
			pass "$page example $nex passes $name -t"
		else
			fail "$page example $nex passes $name -t" "exit $rc: $out" "$(cat "$f")"
		fi
	done
	[ $nex -gt 0 ] || fail "$page EXAMPLES has a configuration starting 'sip: {' or the like"
}

check_examples parley.conf.5 sipd "$SIPD"
check_examples mediad.8 mediad "$MEDIAD"
check_examples recd.8 recd "$RECD"

# ------------------------------------------------------------------ (e) mediad.8, recd.8 CONFIGURATION

# "field group.key" for every parley_conf field common/conf.c sets from a
# key: `"key", &c->field` in a conf_get_* call, or `c->field = ...` after
# the key was looked up (`(cx, g, "key"`, `_member(g, "key")`: "rtp_ports",
# "level" ...), within the group of the function (conf_load_sip) or of the
# last config_lookup(cfg, "group")
awk '
	/^[a-z_]+\(/ {
		grp = ""; key = ""
		if ($0 ~ /^conf_load_sip\(/) grp = "sip"
		if ($0 ~ /^conf_load_users\(/) grp = "users"
	}
	match($0, /config_lookup\(cfg, "[a-z_]+"\)/) {
		grp = substr($0, RSTART + 20, RLENGTH - 22); key = ""
	}
	{
		t = $0
		while (match(t, /(\(cx, [a-z]+, |_member\([a-z]+, )"[a-z_]+"|c->[a-z_]+[ \t]*=[^=]/)) {
			m = substr(t, RSTART, RLENGTH)
			t = substr(t, RSTART + RLENGTH)
			if (m ~ /"$/) { sub(/^[^"]*"/, "", m); key = substr(m, 1, length(m) - 1); continue }
			sub(/^c->/, "", m); sub(/[ \t]*=.*$/, "", m)
			if (grp != "" && key != "" && !(m in seen)) { seen[m] = 1; print m "\t" grp "." key }
		}
		t = $0
		while (match(t, /"[a-z_]+", &c->[a-z_]+/)) {
			m = substr(t, RSTART, RLENGTH)
			t = substr(t, RSTART + RLENGTH)
			k = m; sub(/^"/, "", k); sub(/".*$/, "", k)
			sub(/^.*&c->/, "", m)
			if (grp != "" && !(m in seen)) { seen[m] = 1; print m "\t" grp "." k }
		}
	}' "$top_srcdir/common/conf.c" | sort -u > "$T/conf.fields"

# check_config_keys NAME — NAME.8's CONFIGURATION lists exactly the keys
# NAME reads: the fields its sources (NAME/*.c) and common/service.c, which
# every daemon runs at start, take from a parley_conf (conf->field, or
# through a pointer named c or nc: proto messages have fields of the same
# names, such as codecs); and each of them is in parley.conf.5 and
# etc/parley.conf
check_config_keys() {
	local name=$1 k sec key bad
	grep -ohE -- '\<(conf|c|nc)->[a-z_]+' "$top_srcdir/$name"/*.c "$top_srcdir"/common/service.c |
	    sed 's/^.*->//' | sort -u > "$T/$name.names"
	awk -F'\t' 'NR == FNR { used[$1] = 1; next } ($1 in used) { print $2 }' \
	    "$T/$name.names" "$T/conf.fields" | sort -u > "$T/$name.keys"
	sh_src "$name.8" CONFIGURATION | awk '/^\.It Ic [a-z_]+\.[a-z_]+$/ { print $3 }' | sort -u \
	    > "$T/$name.page"

	if [ "$(wc -l < "$T/conf.fields")" -lt 30 ] || [ "$(wc -l < "$T/$name.keys")" -lt 3 ]; then
		fail "the keys $name reads, traced through common/conf.c" \
		    "found only these fields:" "$(cat "$T/conf.fields")" "$name reads:" "$(cat "$T/$name.keys")"
	else
		pass "the keys $name reads, traced through common/conf.c ($(wc -l < "$T/$name.keys"))"
		diag "$(cat "$T/$name.keys")"
	fi
	bad=""
	for k in $(comm -23 "$T/$name.keys" "$T/$name.page"); do
		bad="$bad $k: read by $name, not in CONFIGURATION;"
	done
	for k in $(comm -13 "$T/$name.keys" "$T/$name.page"); do
		bad="$bad $k: in CONFIGURATION, not read by $name;"
	done
	result "$name.8 CONFIGURATION lists every key $name reads, and no others" "$bad"
	bad=""
	while IFS=. read -r sec key; do
		awk -F'\t' -v s="$sec" -v k="$key" '$1 == s && $2 == k { f = 1 } END { exit !f }' \
		    "$T/page.keys" || bad="$bad $sec.$key: no item in parley.conf.5 .Ss $sec;"
		awk -F'\t' -v s="$sec" -v k="$key" '($1 == s || $1 == "#") && $2 == k { f = 1 } END { exit !f }' \
		    "$T/etc.keys" || bad="$bad $sec.$key: not in etc/parley.conf;"
	done < "$T/$name.page"
	result "the keys of $name.8 CONFIGURATION are in parley.conf.5 and etc/parley.conf" "$bad"
}

check_config_keys mediad
check_config_keys recd

echo "1..$n"
[ $nfailed -eq 0 ]
