# tests/runner/suite.sh -- sourced by tests/run.sh (and by the runner's own tests): run one
# TAP-speaking suite and record its verdict.  Needs $logs (a directory for each suite's stdout
# and stderr), $results (the JSON-lines file of records) and $FERRY_TOP (the source tree).

# wanted NAME: is suite NAME selected by $FERRY_ONLY (a regex; default: every suite)?
wanted() { [[ $1 =~ ${FERRY_ONLY:-.} ]]; }

# run_suite NAME TIMEOUT COMMAND...: runs one suite with stdin closed; stdout (the TAP) and
# stderr are kept apart, so a stray "ok" on stderr counts for nothing.  Prints one line.
run_suite() {
    local name=$1 limit=$2 rc=0 base start
    shift 2
    if ! wanted "$name"; then
        not_run "$name" "not selected by FERRY_ONLY=$FERRY_ONLY"
        return 0
    fi
    base=$logs/${name//\//-}
    start=$EPOCHREALTIME
    timeout --kill-after=10 "$limit" "$@" >"$base.out" 2>"$base.err" </dev/null || rc=$?
    python3 "$FERRY_TOP/tests/tap.py" verdict "$name" "$rc" "$base.out" \
        "$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')" >>"$results"
    tail -1 "$results" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
bad = r["failures"] + r["problems"]
print("%-36s %3d passed, %d failed, %d skipped %6.1f s%s" % (r["suite"], r["passed"],
      r["failed"], r["skipped"], r.get("seconds", 0),
      "   <- %s.{out,err}" % sys.argv[1] if bad else ""))
for b in bad[:8]:
    print("    " + b)' "$base"
}

# not_run NAME REASON: the suite is not run on purpose: reported as skipped, with REASON.
not_run() {
    python3 "$FERRY_TOP/tests/tap.py" not-run "$1" "$2" >>"$results"
}
