#!/bin/sh
# proto_fuzz.sh — make check's run of the proto fuzz target (proto_fuzz.c),
# TAP output.  Writes the seed corpus from the encoders (so it follows
# proto_msgs.h), runs the standalone driver over the seeds and their random
# mutations, then, when configure found libFuzzer, the libFuzzer build for
# a bounded time and the standalone driver over the corpus libFuzzer grew.
# A crash, a leak or a broken check fails; the temp dir (inputs, logs,
# crash files) is kept then and its path printed.
#
# Environment: top_builddir (the Makefile sets it; default .),
# PROTO_LIBFUZZER (the libFuzzer binary; empty when there is none),
# PROTO_FUZZ_SECONDS (20), PROTO_FUZZ_RUNS (5000000) and
# PROTO_FUZZ_MUTATIONS (200000) bound the runs.

top_builddir=${top_builddir:-.}
STANDALONE=$top_builddir/tests/fuzz/proto_fuzz_standalone
SECONDS_MAX=${PROTO_FUZZ_SECONDS:-20}
RUNS_MAX=${PROTO_FUZZ_RUNS:-5000000}
MUTATIONS=${PROTO_FUZZ_MUTATIONS:-200000}

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
diag() { sed 's/^/# /' "$@"; }
finish() {
	echo "1..$n"
	if [ $failed -gt 0 ]; then
		echo "# temp dir kept: $T"
		exit 1
	fi
	rm -rf "$T"
	exit 0
}

[ -x "$STANDALONE" ] || { echo "Bail out! $STANDALONE not built"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/proto_fuzz.XXXXXX") || { echo "Bail out! mktemp"; exit 1; }

# 1. the seeds, from the encoders
if "$STANDALONE" -w "$T/seeds" > "$T/seeds.log" 2>&1; then
	ok "seed corpus: $(ls "$T/seeds" | wc -l) messages made by the encoders"
else
	not_ok "seed corpus: a seed does not encode"
	diag "$T/seeds.log"
	finish
fi

# 2. the standalone driver: seeds and deterministic mutations
if "$STANDALONE" -n "$MUTATIONS" "$T/seeds" > "$T/standalone.log" 2>&1; then
	ok "standalone driver: $(sed -n 's/^proto_fuzz_standalone: //p' "$T/standalone.log")"
else
	not_ok "standalone driver over seeds and $MUTATIONS mutations"
	tail -n 40 "$T/standalone.log" | diag
fi

# 3. libFuzzer, then its corpus through the standalone build
if [ -z "${PROTO_LIBFUZZER:-}" ]; then
	ok "libFuzzer # SKIP configure found no compiler for -fsanitize=fuzzer (step 2 ran the target)"
	finish
fi
mkdir "$T/corpus"
# -max_len: PROTO_FUZZ_MAX_LEN (proto_fuzz.h)
if "$PROTO_LIBFUZZER" -max_total_time="$SECONDS_MAX" -runs="$RUNS_MAX" -max_len=8192 \
    -use_value_profile=1 -print_final_stats=1 -artifact_prefix="$T/" \
    "$T/corpus" "$T/seeds" > "$T/libfuzzer.log" 2>&1; then
	figures=$(awk '
		/^stat::number_of_executed_units/ { runs = $NF }
		/^stat::average_exec_per_sec/ { rate = $NF }
		/^stat::new_units_added/ { added = $NF }
		/^Done [0-9]+ runs in/ { secs = $0; sub(/^.* in /, "", secs); sub(/ .*/, "", secs) }
		/ cov: / { cov = $0; sub(/^.* cov: /, "", cov); sub(/ .*/, "", cov) }
		END { printf "%s runs in %s s, %s exec/s, coverage %s, %s inputs added", runs, secs, rate, cov, added }
	' "$T/libfuzzer.log")
	ok "libFuzzer: $figures"
else
	not_ok "libFuzzer found a crash, a leak or a broken check"
	grep -v '^#[0-9]' "$T/libfuzzer.log" | tail -n 60 | diag
	for f in "$T"/crash-* "$T"/leak-* "$T"/timeout-* "$T"/oom-*; do
		[ -f "$f" ] && echo "# reproduce: $STANDALONE -n 0 $f   (or $PROTO_LIBFUZZER $f)"
	done
fi
if "$STANDALONE" -n 0 "$T/corpus" > "$T/replay.log" 2>&1; then
	ok "standalone driver replays libFuzzer's corpus: $(sed -n 's/^proto_fuzz_standalone: //p' "$T/replay.log")"
else
	not_ok "standalone driver replays libFuzzer's corpus"
	tail -n 40 "$T/replay.log" | diag
fi
finish
