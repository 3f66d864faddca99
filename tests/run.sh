#!/bin/bash
# tests/run.sh -- install what is missing, build ferry (with ASan/UBSan), and run every test:
#   unit tests (GTest, no hosts), lab tests (a real libvirt/qemu/sshd cluster brought up by
#   tests/lab/up.sh and torn down at the end), and the Nova tests when present.
# Every test speaks TAP; the last line is "N passed, N failed, N skipped".
# Environment: FERRY_BUILD (build dir, default build-test), FERRY_SKIP_LAB=1, FERRY_SKIP_NOVA=1,
#              FERRY_FUZZ_SECONDS (fuzzing time, default 60 in CI, 0 otherwise).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

tests/setup.sh || exit 1

build=${FERRY_BUILD:-build-test}
if [ ! -d "$build" ]; then
    meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true >/dev/null ||
        { echo "run.sh: meson setup failed" >&2; exit 1; }
fi
meson compile -C "$build" >"$top/$build/compile.log" 2>&1 ||
    { tail -40 "$top/$build/compile.log" >&2; echo "0 passed, 1 failed"; exit 1; }

# A second, plain build for valgrind (valgrind and ASan do not mix).
plain=$build-plain
[ -d "$plain" ] || meson setup "$plain" -Dwerror=true >/dev/null || exit 1
meson compile -C "$plain" >"$top/$build/compile-plain.log" 2>&1 ||
    { tail -40 "$top/$build/compile-plain.log" >&2; echo "0 passed, 1 failed"; exit 1; }
export FERRY_BIN_PLAIN=$top/$plain/engine/cli/ferry

logs=$top/$build/test-logs
rm -rf "$logs"
mkdir -p "$logs"
passed=0 failed=0 skipped=0

# run_tap NAME TIMEOUT COMMAND...: runs one TAP-speaking test and counts its results.  A test
# that dies without reporting a failure counts as one failure.
run_tap() {
    local name=$1 limit=$2 rc=0 p f s log
    shift 2
    log=$logs/${name//\//-}.log
    timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1 || rc=$?
    p=$(grep -cE '^ok [0-9]+' "$log")
    s=$(grep -cE '^ok [0-9]+.*# (SKIP|skip)' "$log")
    f=$(grep -cE '^not ok [0-9]+' "$log")
    p=$((p - s))
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        f=1
        echo "not ok - $name exited with status $rc" >>"$log"
    fi
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
    printf '%-28s %3d passed, %d failed, %d skipped%s\n' "$name" "$p" "$f" "$s" \
        "$([ "$f" != 0 ] && echo "   <- see $log")"
    if [ "$f" != 0 ]; then
        grep -E '^not ok|^# |ERROR|error' "$log" | head -20 | sed 's/^/    /'
    fi
}

export FERRY_TEST_DATA=$top/tests
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "== unit tests"
for t in "$build"/tests/test-*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    run_tap "unit/$(basename "$t" | sed 's/^test-//')" 300 "$t" --tap
done

if [ "${FERRY_SKIP_LAB:-0}" != 1 ]; then
    echo "== lab tests"
    export FERRY_BIN=$top/$build/engine/cli/ferry
    if lab_inventory=$(tests/lab/up.sh 2>"$logs/lab-up.log" | tail -1) && [ -f "$lab_inventory" ]; then
        trap 'tests/lab/down.sh >"$logs/lab-down.log" 2>&1' EXIT
        trap 'exit 130' INT TERM
        for t in tests/labtests/[0-9]*.sh; do
            run_tap "lab/$(basename "$t" .sh)" 900 "$t"
        done
        if tests/lab/down.sh >"$logs/lab-down.log" 2>&1; then
            passed=$((passed + 1)); echo "lab/teardown-leaves-nothing      1 passed"
        else
            failed=$((failed + 1)); echo "lab/teardown-leaves-nothing      FAILED: $(tail -3 "$logs/lab-down.log")"
        fi
        trap - EXIT
    else
        failed=$((failed + 1))
        echo "lab: tests/lab/up.sh failed:"
        tail -20 "$logs/lab-up.log" | sed 's/^/    /'
    fi
fi

if [ "${FERRY_SKIP_NOVA:-0}" != 1 ] && [ -x tests/nova/run-nova-tests.sh ]; then
    echo "== nova tests"
    run_tap nova/state-sync 1200 tests/nova/run-nova-tests.sh "$top/$build"
fi

fuzz_seconds=${FERRY_FUZZ_SECONDS:-$([ "${CI:-}" = true ] && echo 60 || echo 0)}
if [ "$fuzz_seconds" != 0 ] && [ -x tests/fuzz/run-fuzz.sh ]; then
    echo "== fuzzing ($fuzz_seconds s)"
    run_tap fuzz/domain-xml $((fuzz_seconds + 600)) sh -c \
        'tests/fuzz/run-fuzz.sh "$1" && echo "ok 1 - parse+plan+rewrite fuzzed $1 s, no crash"' sh "$fuzz_seconds"
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
