#!/bin/bash
# tests/runner/test-tap.sh -- the runner's own tests (TAP).  Each case runs fake suites through
# the real run_suite (tests/runner/suite.sh) and the real accounting (tests/tap.py summary)
# against a manifest made for the case, and checks the run's verdict and its final figure:
# a run is red when a suite's plan is short or missing, when it bails out, crashes, exits
# non-zero, prints a test line twice, runs a TODO, vanishes, shrinks, or is not in the
# manifest; stray "ok" lines on stderr count for nothing; skips are counted and listed with
# their reasons.  The lab's lib.sh is checked the same way: a failed setup step or a check
# that prints twice turns the run red.
set -uo pipefail
FERRY_TOP=$(cd "$(dirname "$0")/../.." && pwd)
export FERRY_TOP
. "$FERRY_TOP/tests/runner/suite.sh"
unset FERRY_ONLY

work=$(mktemp -d /tmp/ferry-runner-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }

# fake NAME BODY: a fake suite, a bash script with BODY.
fake() { printf '#!/bin/bash\n%s\n' "$2" >"$work/$1.sh"; }

# run_case MANIFEST-LINES SUITE... : fresh logs/results, runs each fake suite (a name "-x"
# is not run: it vanished), then the summary against the given manifest.  Sets $summary,
# $status (the summary's exit status) and $last (its last line).
run_case() {
    local m=$1 s
    shift
    logs=$work/logs results=$work/results.jsonl
    rm -rf "$logs"
    mkdir -p "$logs"
    : >"$results"
    printf '%s\n' "$m" >"$work/manifest"
    for s in "$@"; do
        case $s in
        -*) ;;
        skip:*) not_run "${s#skip:}" "switched off for this case" ;;
        *) run_suite "$s" "${CASE_LIMIT:-20}" bash "$work/$s.sh" >/dev/null ;;
        esac
    done
    summary=$(python3 "$FERRY_TOP/tests/tap.py" summary "$work/manifest" "$results")
    status=$?
    last=$(tail -1 <<<"$summary")
}
# expect WHAT STATUS LAST-LINE: the case's verdict and final figure.
expect() {
    if [ "$status" = "$2" ] && [ "$last" = "$3" ]; then
        ok "$1: $3"
    else
        not_ok "$1: expected status $2 and '$3', got status $status and:"
        sed 's/^/#   /' <<<"$summary"
    fi
}

fake good 'echo 1..3; echo "ok 1 - a"; echo "ok 2 - b"; echo "ok 3 - c"'
fake good-plan-last 'echo "ok 1 - a"; echo "ok 2 - b"; echo 1..2'
run_case $'good 3\ngood-plan-last 2' good good-plan-last
expect "two good suites (plan first and plan last)" 0 "5 passed, 0 failed, 0 skipped"

fake short 'echo 1..10; echo "ok 1 - a"; echo "ok 2 - b"'
run_case 'short 10' short
expect "a plan of 10 with 2 test lines and exit 0" 1 "2 passed, 8 failed, 0 skipped"
grep -q "plan 1..10 but 2 test lines" <<<"$summary" && ok "... says the plan is short" || not_ok "... says the plan is short"

fake bail 'echo "ok 1 - a"; echo "Bail out! cannot go on"; exit 0'
run_case 'bail 1' bail
expect "'Bail out!' then exit 0" 1 "1 passed, 1 failed, 0 skipped"

fake crash 'echo 1..3; echo "ok 1 - a"; echo "not ok 2 - b"; kill -SEGV $$'
run_case 'crash 3' crash
expect "a crash after one 'not ok'" 1 "1 passed, 2 failed, 0 skipped"
grep -q "killed by signal 11" <<<"$summary" && ok "... names the signal" || not_ok "... names the signal"

fake stray 'echo "ok 7 - from a child" >&2; echo 1..1; echo "ok 1 - a"'
run_case 'stray 1' stray
expect "a stray 'ok 7' on stderr counts for nothing" 0 "1 passed, 0 failed, 0 skipped"

fake twice 'echo 1..2; echo "ok 1 - a"; echo "ok 1 - a"; echo "ok 2 - b"'
run_case 'twice 2' twice
expect "one test line printed twice" 1 "3 passed, 1 failed, 0 skipped"

fake noplan 'echo "ok 1 - a"; echo "ok 2 - b"'
run_case 'noplan 5' noplan
expect "no plan: the suite died half-way" 1 "2 passed, 3 failed, 0 skipped"

fake rc 'echo 1..1; echo "ok 1 - a"; exit 3'
run_case 'rc 1' rc
expect "every test ok but exit status 3" 1 "1 passed, 1 failed, 0 skipped"

fake todo 'echo 1..1; echo "not ok 1 - a # TODO later"'
run_case 'todo 1' todo
expect "a TODO test" 1 "0 passed, 1 failed, 0 skipped"

fake slow 'echo 1..1; sleep 60; echo "ok 1 - a"'
CASE_LIMIT=2 run_case "slow 1" slow
expect "a suite that runs past its time limit" 1 "0 passed, 1 failed, 0 skipped"
grep -q "timed out" <<<"$summary" && ok "... says it timed out" || not_ok "... says it timed out"

run_case $'good 3\ngood-plan-last 2' good -good-plan-last
expect "a suite in the manifest that did not run (file deleted)" 1 "3 passed, 2 failed, 0 skipped"
grep -q "good-plan-last.*FAILED" <<<"$summary" && ok "... names the vanished suite" || not_ok "... names the vanished suite"

fake binary-gone 'exec "$(dirname "$0")/build/tests/test-deleted" --tap'
run_case 'binary-gone 12' binary-gone
expect "a unit binary deleted from the build directory" 1 "0 passed, 12 failed, 0 skipped"

run_case 'good 4' good
expect "a suite with fewer tests than the manifest says, plan consistent" 1 "3 passed, 1 failed, 0 skipped"

run_case 'good 2' good
expect "a suite with more tests than the manifest says" 1 "3 passed, 1 failed, 0 skipped"

run_case 'good 3' good good-plan-last
expect "a suite the manifest does not know" 1 "5 passed, 1 failed, 0 skipped"
grep -q "not in the manifest" <<<"$summary" && ok "... says so" || not_ok "... says so"

fake skipall 'echo "1..0 # SKIP the binary is not built"'
run_case 'skipall 3' skipall
expect "'1..0 \\# SKIP' where the manifest expects 3 tests" 1 "0 passed, 3 failed, 0 skipped"

fake skipone 'echo 1..2; echo "ok 1 - a"; echo "ok 2 # SKIP no widget here"'
run_case 'skipone 2' skipone
expect "one skipped test: counted" 0 "1 passed, 0 failed, 1 skipped"
grep -q "skipone test 2: no widget here" <<<"$summary" && ok "... and listed with its reason" ||
    not_ok "... and listed with its reason"

run_case $'good 3\nother 4' good skip:other
expect "a suite switched off: its tests count as skipped" 0 "3 passed, 0 failed, 4 skipped"
grep -q "other: all 4 tests not run: switched off for this case" <<<"$summary" &&
    ok "... listed with the reason" || not_ok "... listed with the reason"

run_case 'good 3' good good
expect "a suite run twice" 1 "3 passed, 1 failed, 0 skipped"

# The lab tests' lib.sh: a failed setup step ends the script with "Bail out!", and the
# checks it did not reach are missing; a check printed twice is caught.  (lib.sh needs only
# FERRY_BIN and the lab's definitions to be sourced.)
lab_fake() {
    printf '#!/bin/bash\nexport FERRY_BIN=/bin/true\n. "%s/tests/labtests/lib.sh"\n%s\n' "$FERRY_TOP" "$2" >"$work/$1.sh"
}
lab_fake lab-good 'check "one" true; check "two" test 1 = 1; done_testing'
run_case 'lab-good 2' lab-good
expect "lab script: two passing checks" 0 "2 passed, 0 failed, 0 skipped"
lab_fake lab-setup 'check "one" true; cp /nonexistent/a /nonexistent/b; check "two" true; done_testing'
run_case 'lab-setup 2' lab-setup
expect "lab script: a setup step fails between two checks" 1 "1 passed, 1 failed, 0 skipped"
grep -q "Bail out!" "$logs/lab-setup.out" && ok "... it bails out" || not_ok "... it bails out"
lab_fake lab-fail 'check "one" false; check "two" true; done_testing'
run_case 'lab-fail 2' lab-fail
expect "lab script: one failing check" 1 "1 passed, 1 failed, 0 skipped"
lab_fake lab-twice 'check "one" true; echo "ok $TAP_N - one again"; check "two" true; done_testing'
run_case 'lab-twice 2' lab-twice
expect "lab script: a check that prints ok twice" 1 "3 passed, 1 failed, 0 skipped"
lab_fake lab-exit 'check "one" true; exit 0; check "two" true; done_testing'
run_case 'lab-exit 2' lab-exit
expect "lab script: exit 0 half-way" 1 "1 passed, 1 failed, 0 skipped"
lab_fake lab-cleanup "on_exit 'echo cleaned >$work/cleaned'; check one true; done_testing"
rm -f "$work/cleaned"
run_case 'lab-cleanup 1' lab-cleanup
expect "lab script with on_exit cleanup" 0 "1 passed, 0 failed, 0 skipped"
[ -s "$work/cleaned" ] && ok "... the cleanup ran" || not_ok "... the cleanup ran"

# The project's manifest lists exactly the lab test files there are, and the runner's own
# suites: deleting a lab test file (or adding one without a manifest entry) is seen here too.
manifest_labs=$(awk '$1 ~ /^lab\/[0-9]/ {print $1}' "$FERRY_TOP/tests/manifest" | sort)
file_labs=$(cd "$FERRY_TOP/tests/labtests" && for f in [0-9]*.sh; do echo "lab/${f%.sh}"; done | sort)
if [ "$manifest_labs" = "$file_labs" ]; then
    ok "tests/manifest lists every lab test file, and no other"
else
    not_ok "tests/manifest and tests/labtests/ disagree:"
    diff <(echo "$manifest_labs") <(echo "$file_labs") | sed 's/^/#   /'
fi
manifest_units=$(awk '$1 ~ /^unit\// {sub("unit/", "", $1); print $1}' "$FERRY_TOP/tests/manifest" | sort)
meson_units=$(cat "$FERRY_TOP"/tests/*/meson.build | grep -o "'name': '[^']*'" | cut -d"'" -f4 | grep -vx nova-sync | sort)
if [ "$manifest_units" = "$meson_units" ]; then
    ok "tests/manifest lists every unit test the meson files declare"
else
    not_ok "tests/manifest and the meson files disagree on unit tests:"
    diff <(echo "$manifest_units") <(echo "$meson_units") | sed 's/^/#   /'
fi

echo "1..$n"
[ "$failed" = 0 ]
