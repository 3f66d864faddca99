#!/bin/bash
# tests/run.sh -- install what is missing, build ferry (with ASan/UBSan), and run every test
# suite: the runner's own tests, unit tests (GTest, no hosts), lab tests (a real
# libvirt/qemu/sshd cluster brought up by tests/lab/up.sh and torn down at the end), the Nova
# tests (a real MariaDB, nova-api and placement-api) and a fuzzing run.
#
# Every suite speaks TAP on stdout; tests/tap.py counts tests, not lines, and holds the run
# against tests/manifest (every suite and its number of tests): a missing or short suite, a
# suite the manifest does not know, a missing plan, a "Bail out!", a crash or a non-zero exit
# all fail the run.  The last line is "N passed, N failed, N skipped"; every skip is listed
# with its reason above it.
#
# Environment: FERRY_BUILD (build dir, default build-test), FERRY_MANIFEST (default
#   tests/manifest), FERRY_FUZZ_SECONDS (default 60 in CI, 20 otherwise),
#   FERRY_SKIP_LAB=1 / FERRY_SKIP_NOVA=1 / FERRY_SKIP_FUZZ=1 (those suites are reported as
#   skipped, with the reason, never silently dropped), FERRY_ONLY=REGEX (run only matching
#   suites; the others are reported as skipped).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

tests/setup.sh || exit 1

build=$(realpath -m "${FERRY_BUILD:-build-test}")
manifest=${FERRY_MANIFEST:-$top/tests/manifest}
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true >/dev/null ||
        { echo "run.sh: meson setup failed" >&2; echo "0 passed, 1 failed"; exit 1; }
fi
meson compile -C "$build" >"$build/compile.log" 2>&1 ||
    { tail -40 "$build/compile.log" >&2; echo "0 passed, 1 failed"; exit 1; }

# A second, plain build for valgrind (valgrind and ASan do not mix).
plain=$build-plain
[ -f "$plain/build.ninja" ] || meson setup "$plain" -Dwerror=true >/dev/null ||
    { echo "0 passed, 1 failed"; exit 1; }
meson compile -C "$plain" >"$build/compile-plain.log" 2>&1 ||
    { tail -40 "$build/compile-plain.log" >&2; echo "0 passed, 1 failed"; exit 1; }
export FERRY_BIN_PLAIN=$plain/engine/cli/ferry

logs=$build/test-logs
rm -rf "$logs"
mkdir -p "$logs"
results=$logs/results.jsonl
: >"$results"

export FERRY_TOP=$top
. tests/runner/suite.sh
any_wanted() { local s; for s in "$@"; do wanted "$s" && return 0; done; return 1; }

export FERRY_TEST_DATA=$top/tests
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "== the runner's own tests"
run_suite runner/tap 120 bash tests/runner/test-tap.sh

echo "== unit tests"
# The unit tests meson knows for this source tree (never a glob of the build directory, where
# a removed test's binary may linger).
mapfile -t units < <(meson introspect --tests "$build" | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if any(s.endswith(":unit") for s in t["suite"]):
        print(t["name"] + "\t" + "\t".join(t["cmd"]))')
for u in "${units[@]}"; do
    IFS=$'\t' read -r -a argv <<<"$u"
    run_suite "unit/${argv[0]}" 300 "${argv[@]:1}"
done

echo "== the ferry command against bad input"
FERRY_BIN=$build/engine/cli/ferry run_suite cli/bad-input 300 bash tests/cli/test-bad-input.sh

# The lab tests that use a Nova harness, and the one they share (see nova_harness_up).
nova_lab_suites() {
    local t
    for t in $(grep -lE '^\s*(if ! )?nova_(harness_)?up\b' tests/labtests/[0-9]*.sh); do
        echo "lab/$(basename "$t" .sh)"
    done
}
nova_shared_start() {
    local suites
    suites=$(nova_lab_suites)
    [ -n "$suites" ] && any_wanted $suites || return 0
    nova_shared=$(mktemp -d /tmp/ferry-nova-lab.XXXXXX)
    if FERRY_NOVA_LAB=$nova_shared tests/nova/nova-up.sh start >"$logs/nova-shared-up.log" 2>&1; then
        export FERRY_NOVA_SHARED_LAB=$nova_shared
    else
        echo "lab: the shared Nova harness did not come up (see $logs/nova-shared-up.log)"
    fi
}
nova_shared_stop() {
    [ -n "${nova_shared:-}" ] || return 0
    FERRY_NOVA_LAB=$nova_shared tests/nova/nova-up.sh stop >>"$logs/nova-shared-up.log" 2>&1
    rm -rf "$nova_shared"
    nova_shared=
    unset FERRY_NOVA_SHARED_LAB
}
lab_suites() { for t in tests/labtests/[0-9]*.sh; do echo "lab/$(basename "$t" .sh)"; done; echo lab/json-schema; echo lab/teardown; }
if [ "${FERRY_SKIP_LAB:-0}" = 1 ] || ! any_wanted $(lab_suites); then
    for s in $(lab_suites); do not_run "$s" "FERRY_SKIP_LAB=1, or FERRY_ONLY selects no lab test"; done
else
    echo "== lab tests"
    export FERRY_BIN=$build/engine/cli/ferry
    up_rc=0
    lab_inventory=$(tests/lab/up.sh 2>"$logs/lab-up.log") || up_rc=$?
    lab_inventory=${lab_inventory##*$'\n'}
    if [ "$up_rc" = 0 ] && [ -f "$lab_inventory" ]; then
        trap 'nova_shared_stop; tests/lab/down.sh >"$logs/lab-down.log" 2>&1' EXIT
        trap 'exit 130' INT TERM
        # One Nova harness for every lab test that needs one (nova_harness_up in lib.sh resets
        # its databases for each) and for the nova suite below: starting one takes ~40 s.  If
        # it does not come up, each test starts its own and says what failed.
        nova_shared_start
        for t in tests/labtests/[0-9]*.sh; do
            run_suite "lab/$(basename "$t" .sh)" 900 bash "$t"
        done
        # Every --json line the lab tests printed (kept by lib.sh's keep_json) against the
        # schema docs/json-schema.json.
        run_suite lab/json-schema 300 bash -c '. tests/lab/env.sh && python3 tests/json/validate.py --tap "lab JSON: " "$LAB/json-out"'
        # The teardown must leave nothing behind (down.sh checks and says what is left).
        FERRY_ONLY= run_suite lab/teardown 300 sh -c 'if tests/lab/down.sh >&2; then echo "ok 1 - lab teardown leaves nothing behind"
            else echo "not ok 1 - lab teardown leaves nothing behind"; fi; echo 1..1'
        trap 'nova_shared_stop' EXIT
    else
        echo "lab: tests/lab/up.sh failed; no lab test ran:"
        tail -20 "$logs/lab-up.log" | sed 's/^/    /'
        # exit 3: another lab is up at this FERRY_LAB/FERRY_LAB_PREFIX; it is not ours to remove
        [ "$up_rc" = 3 ] || tests/lab/down.sh >"$logs/lab-down.log" 2>&1
    fi
fi

if [ "${FERRY_SKIP_NOVA:-0}" = 1 ]; then
    not_run nova/state-sync "FERRY_SKIP_NOVA=1"
else
    echo "== nova tests"
    run_suite nova/state-sync 1200 bash tests/nova/run-nova-tests.sh "$build"
fi
nova_shared_stop
trap - EXIT

fuzz_seconds=${FERRY_FUZZ_SECONDS:-$([ "${CI:-}" = true ] && echo 60 || echo 20)}
if [ "${FERRY_SKIP_FUZZ:-0}" = 1 ]; then
    not_run fuzz/domain-xml "FERRY_SKIP_FUZZ=1"
else
    echo "== fuzzing ($fuzz_seconds s)"
    run_suite fuzz/domain-xml $((fuzz_seconds + 600)) sh -c \
        'if sh tests/fuzz/run-fuzz.sh "$1" >&2; then echo "ok 1 - parse+plan+rewrite fuzzed $1 s, no crash"
         else echo "not ok 1 - fuzzing parse+plan+rewrite"; fi; echo 1..1' sh "$fuzz_seconds"
fi

echo
python3 tests/tap.py summary "$manifest" "$results"
