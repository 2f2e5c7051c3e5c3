#!/bin/bash
# Runs the libFuzzer targets of .build-fuzz/debug/bastion-fuzz (docs/security.md, "Fuzzing") for SECONDS each and
# prints one line per target: executions per second, run time, corpus size (inputs, bytes), crashes.
#   scripts/fuzz.sh SECONDS TARGET...
# Seeds are read from Fuzz/Corpus/TARGET (never written), with Fuzz/Dictionaries/TARGET.dict when there is one;
# what a run learns is kept in .build-fuzz/corpus/TARGET, and a crashing input in .build-fuzz/crashes/TARGET-crash-*.
# Exits 1 when any target crashed.
set -u
seconds=$1; shift
binary=.build-fuzz/debug/bastion-fuzz
[ -x "$binary" ] || { echo "no $binary: run make fuzz-build" >&2; exit 2; }
mkdir -p .build-fuzz/crashes .build-fuzz/logs
failed=0
printf '%-10s %10s %8s %14s %8s\n' target 'exec/s' 'time' 'corpus' crashes
for target in "$@"; do
    corpus=.build-fuzz/corpus/$target
    log=.build-fuzz/logs/$target.log
    mkdir -p "$corpus"
    dict=()
    [ -f "Fuzz/Dictionaries/$target.dict" ] && dict=("-dict=Fuzz/Dictionaries/$target.dict")
    before=$(ls .build-fuzz/crashes | grep -c "^$target-" || true)
    start=$(date +%s)
    # Without the Swift runtime's backtracer, which takes minutes over this binary: libFuzzer reports the crash.
    SWIFT_BACKTRACE=enable=no BASTION_FUZZ_TARGET=$target "$binary" "$corpus" "Fuzz/Corpus/$target" \
        -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix=".build-fuzz/crashes/$target-" \
        -detect_leaks=0 "${dict[@]}" >"$log" 2>&1
    status=$?
    elapsed=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    size=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 | sed 's/corp: //')
    crashes=$(($(ls .build-fuzz/crashes | grep -c "^$target-" || true) - before))
    printf '%-10s %10s %7ss %14s %8s\n' "$target" "${execs:-?}" "$elapsed" "${size:-?}" "$crashes"
    if [ "$status" -ne 0 ] || [ "$crashes" -gt 0 ]; then
        failed=1
        echo "  $target failed (exit $status): $log" >&2
        grep -E 'ERROR|property failed|Fatal error|Test unit written' "$log" | head -5 | sed 's/^/  /' >&2
    fi
done
exit $failed
