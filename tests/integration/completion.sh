#!/bin/bash
# completion.sh — sipctl's bash completion, as `make install` puts it, says
# what `sipctl --help` says: the first words of its commands, the words that
# follow call, room and media, every short and long option; a prefix
# completes; after -c, file names; after `call hangup`, the Call-IDs of
# `sipctl --json calls`, asked with the -s given on the line (a stand-in
# sipctl answers, so no sipd is needed).
set -u
. "$(dirname "$0")/lib.sh"

P=$T/inst
if ! install_to "$P"; then
	fail "make install into a directory of the test's own" "$(tail -n 30 "$T/install.log")"
	done_testing
fi
COMP=$P/share/bash-completion/completions/sipctl

# completions WORD... — what the completion offers for the last WORD of
# the command line WORD... (sorted, one line, space-separated)
completions() {
	bash -c '
		. "$1"
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		_sipctl
		[ ${#COMPREPLY[@]} -eq 0 ] ||
		    printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' completions "$COMP" "$@"
}

help=$("$SIPCTL" --help)
# the words of each command in the help: "room kick", "status", ...
cmds=$(printf '%s\n' "$help" | awk '
	/^commands:/ { on = 1; next } /^[^ ]/ { on = 0 }
	on { w = ""; for (i = 1; i <= NF && $i ~ /^[a-z]+$/; i++) w = w (w == "" ? "" : " ") $i; print w }')
want=$(printf '%s\n' "$cmds" | awk '{ print $1 }' | sort -u | tr '\n' ' ')
check_eq "sipctl <TAB>: the first words of sipctl --help's commands" "$want" "$(completions sipctl '')"
for first in call room media; do
	want=$(printf '%s\n' "$cmds" | awk -v f="$first" '$1 == f && NF > 1 { print $2 }' | sort -u | tr '\n' ' ')
	check_eq "sipctl $first <TAB>: the words sipctl --help has after $first" "$want" \
	    "$(completions sipctl "$first" '')"
done
want=$(printf '%s\n' "$help" | grep -oE '^ +-[A-Za-z], --[a-z-]+' |
    sed -E 's/^ +(-[A-Za-z]), (--[a-z-]+)/\1\n\2/' | sort | tr '\n' ' ')
check_eq "sipctl -<TAB>: every short and long option of sipctl --help" "$want" \
    "$(completions sipctl -)"
check_eq "sipctl -j st<TAB>: status" "status " "$(completions sipctl -j st)"
check_eq "sipctl status <TAB>: nothing more" "" "$(completions sipctl status '')"
touch "$T/site.conf"
check_eq "sipctl -c <TAB>: file names" "$T/site.conf " "$(completions sipctl -c "$T/site.c")"

# a stand-in sipctl: records its arguments, answers `calls` with two calls
cat > "$T/sipctl" <<EOF
#!/bin/sh
echo "\$*" > "$T/stub.args"
echo '{"calls":[{"call_id":"a1@192.0.2.1","from":"1001","to":"1002"},{"call_id":"b2@192.0.2.9","from":"1003","to":"1001"}]}'
EOF
chmod +x "$T/sipctl"
check_eq "sipctl -s EP call hangup <TAB>: the Call-IDs sipd has" "a1@192.0.2.1 b2@192.0.2.9 " \
    "$(completions "$T/sipctl" -s ipc:///x/sipctl.sock call hangup '')"
check_eq "... asked with the -s of the line and --json calls" "-s ipc:///x/sipctl.sock --json calls" \
    "$(cat "$T/stub.args" 2>&1)"
check_eq "sipctl call hangup b<TAB>: the matching Call-ID" "b2@192.0.2.9 " \
    "$(completions "$T/sipctl" call hangup b)"

done_testing
