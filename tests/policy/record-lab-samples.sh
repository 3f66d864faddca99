#!/bin/bash
# tests/policy/record-lab-samples.sh [OUTDIR] -- records the policy's lab cases,
# tests/policy/data/lab-*.{samples,settings,expected}, by running ferry against the lab.
#
# A guest that dirties a 64 MiB hot set of its 128 MiB RAM faster than --bandwidth 10 carries
# it never converges by itself.  It is migrated four times, each run's --json output turned
# into a case by lab-json-to-samples.py: the job samples ferry's monitor saw, the settings the
# command line gave the policy, and the decisions ferry took live (test-policy replays the
# samples and must take the same decisions at the same samples):
#   lab-dirty-none      hostA -> hostB, --on-timeout none --timeout 12, SIGINT at 16 s: only the
#                       downtime steps, nothing at the timeout; the guest stays on hostA
#   lab-dirty-stall     hostA -> hostB, --on-timeout abort --stall-window 10 --diverge-passes 0
#                       (no prediction, or it would act before the stall): no pass over the
#                       hot set (~6.5 s each) ends lower than an earlier one, ferry aborts
#   lab-dirty-suspend   hostA -> hostB, --timeout 6: suspended at the timeout, it completes
#   lab-dirty-postcopy  hostB -> hostA, --timeout 6 --postcopy --on-timeout postcopy
# A run that does not end that way (e.g. a stall that did not happen) fails the script and
# writes nothing for that case.
#
# Needs root and a built ferry: FERRY_BIN (default build/engine/cli/ferry).  Uses the lab at
# FERRY_LAB / FERRY_LAB_PREFIX (tests/lab/env.sh) if it is up, else brings one up and tears it
# down at the end.  Takes about two minutes.  Review the diff before committing: timings move
# from one recording to the next, the decisions should not.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lab/env.sh"

FERRY_BIN=${FERRY_BIN:-$top/build/engine/cli/ferry}
outdir=$(cd "${1:-$top/tests/policy/data}" && pwd)
convert=$top/tests/policy/lab-json-to-samples.py
g=rec-dirty

die() {
    echo "record-lab-samples.sh: $*" >&2
    exit 1
}
[ "$(id -u)" = 0 ] || die "needs root (the lab)"
[ -x "$FERRY_BIN" ] || die "no ferry at $FERRY_BIN (build it, or set FERRY_BIN)"
command -v python3 >/dev/null || die "needs python3"

tmp=$(mktemp -d /tmp/ferry-record.XXXXXX)
lab_started=0
cleanup() {
    local rc=$?
    set +e
    if [ -e "$LAB/inventory.ini" ]; then
        for h in a b; do
            lv "$h" destroy $g >/dev/null 2>&1
            lv "$h" undefine $g >/dev/null 2>&1
        done
    fi
    [ $lab_started = 1 ] && "$LAB_DIR/down.sh" >&2
    [ $rc = 0 ] || echo "record-lab-samples.sh: failed; ferry's output is kept in $tmp" >&2
    [ $rc != 0 ] || rm -rf "$tmp"
    exit $rc
}
trap cleanup EXIT

if [ ! -e "$LAB/inventory.ini" ]; then
    lab_started=1
    "$LAB_DIR/up.sh" >"$tmp/up.log" 2>&1 || {
        cat "$tmp/up.log" >&2
        die "tests/lab/up.sh failed"
    }
fi

# where NAME runs: its state on host H ("absent" when H has no such domain)
where() {
    local h
    for h in a b; do
        [ "$(lv "$h" domstate $g 2>/dev/null)" = running ] && echo "host${h^^}"
    done
    return 0
}

# the kernel on both hosts the guest moves between
for h in a b; do cp "$LAB/kernel/dirty.elf" "$LAB/$h/lib/images/dirty.elf"; done
"$LAB_DIR/guest.sh" create $g dirty a "mib=64"
mem_kib=$(lv a dominfo $g | awk '/^Max memory:/ {print $3}')
[[ $mem_kib =~ ^[0-9]+$ ]] || die "cannot read $g's memory size"
sleep 2 # let the guest start dirtying

# record NAME EXPECT_FINAL[:REASON] EXPECT_RC EXPECT_WHERE INTERRUPT_AFTER DESCRIPTION -- ARGS...
#   the run must end with final action EXPECT_FINAL (for a reason containing REASON), ferry
#   exit with EXPECT_RC and the guest run on EXPECT_WHERE; INTERRUPT_AFTER > 0: SIGINT then.
record() {
    local name=$1 final=${2%%:*} reason='' want_rc=$3 want_where=$4 interrupt=$5 describe=$6
    local rc=0 at
    [[ $2 == *:* ]] && reason=${2#*:}
    shift 7
    echo "recording $name: ferry migrate $*" >&2
    if [ "$interrupt" != 0 ]; then
        op timeout -k 30 -s INT --preserve-status "$interrupt" "$FERRY_BIN" migrate "$@" \
            >"$tmp/$name.json" 2>"$tmp/$name.err" || rc=$?
    else
        op timeout 300 "$FERRY_BIN" migrate "$@" >"$tmp/$name.json" 2>"$tmp/$name.err" || rc=$?
    fi
    [ "$rc" = "$want_rc" ] || {
        cat "$tmp/$name.err" >&2
        die "$name: ferry exited $rc, expected $want_rc"
    }
    at=$(where)
    [ "$at" = "$want_where" ] || die "$name: the guest runs on '$at', expected $want_where"
    python3 "$convert" --name "$name" --outdir "$tmp" --describe "$describe" \
        --mem-bytes $((mem_kib * 1024)) --exit-status "$rc" --expect-final "$final" \
        ${reason:+--expect-reason "$reason"} -- "$@" <"$tmp/$name.json"
}

record lab-dirty-none none 1 hostA 16 \
    "128 MiB guest dirtying a 64 MiB hot set (dirty.elf mib=64), hostA -> hostB, --bandwidth 10. \
--on-timeout none: the policy steps the downtime and does nothing at the 12 s timeout; SIGINT \
at 16 s (between two downtime steps) aborts the job, the guest stays on hostA. The samples that \
follow the SIGINT were not given to the policy live." \
    -- $g --to hostB --bandwidth 10 --timeout 12 --on-timeout none --json
record lab-dirty-stall "abort:(stall)" 1 hostA 0 \
    "The same guest, hostA -> hostB, --bandwidth 10: each pass over the hot set (~6.5 s) ends \
near 0 MiB remaining, the next starts again from ~62 MiB; once no pass has gone below the \
lowest remaining memory seen for the 10 s stall window, ferry aborts; the guest stays on hostA." \
    -- $g --to hostB --bandwidth 10 --on-timeout abort --stall-window 10 --diverge-passes 0 --json
record lab-dirty-suspend "suspend:completion timeout" 0 hostB 0 \
    "The same guest, hostA -> hostB, --bandwidth 10 --timeout 6: ferry suspends it at the \
timeout, the paused guest's remaining memory drains and it is resumed on hostB." \
    -- $g --to hostB --bandwidth 10 --timeout 6 --json
record lab-dirty-postcopy "postcopy:completion timeout" 0 hostA 0 \
    "The same guest back, hostB -> hostA, --bandwidth 10 --timeout 6 --postcopy: ferry switches \
to post-copy at the timeout and the guest runs on hostA from then on." \
    -- $g --to hostA --bandwidth 10 --timeout 6 --postcopy --on-timeout postcopy --json

for name in lab-dirty-none lab-dirty-stall lab-dirty-suspend lab-dirty-postcopy; do
    cp "$tmp/$name".{samples,settings,expected} "$outdir/"
done
echo "wrote $outdir/lab-dirty-{none,stall,suspend,postcopy}.{samples,settings,expected}" >&2
