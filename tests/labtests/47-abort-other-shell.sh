#!/bin/bash
# `ferry abort DOMAIN` from another shell (issue 15, point 1), and Ctrl-C after a post-copy
# switch telling the truth.
#  1. before any switch: a guest dirtying its memory faster than --bandwidth 10 can send it
#     (--on-timeout none: it would never end) is migrated hostA -> hostB; in its memory phase
#     `ferry abort` asks the running ferry (SIGTERM to the lock's holder), which aborts the job
#     and rolls back: abort reports "aborted ... stays on hostA" (exit 0), the migrate exits 1,
#     the guest runs on hostA only, not paused, nothing of it on hostB, the journal ends
#     rolled-back.  A second abort finds nothing running (exit 2).
#  2. after a switch to post-copy (--postcopy --timeout 2 --on-timeout postcopy): SIGINT to the
#     running ferry (Ctrl-C) and `ferry abort` both say that abort is no longer possible and
#     that the guest finishes moving to hostB (abort exits 1); the migrate exits 0 and never
#     said it aborts: the guest runs on hostB only, the journal ends done.
. "$(dirname "$0")/lib.sh"

export FERRY_STATE_DIR="$LAB/state-t47"
g=t47-abort

wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.2
    done
}
ferry_bg() {
    (exec ip netns exec "$P-op" env FERRY_CONFIG="$LAB/inventory.ini" \
        timeout -k 10 120 "$FERRY_BIN" "$@" >"$OUT/out1" 2>"$OUT/err1") &
    FERRY_PID=$!
}
ferry_pid() { sed -n 's/^pid \([0-9]*\) since .*/\1/p' "$FERRY_STATE_DIR/locks/$1.lock"; }
mem_phase() {
    local j
    j=$(lv "$1" domjobinfo "$2" 2>/dev/null) || return 1
    awk '/^Memory processed:/ { f = ($3 + 0 > 0) } END { exit !f }' <<<"$j"
}
last_journal() { ls -t "$FERRY_STATE_DIR"/journal/*-${uuid:0:8}-*.jsonl | head -1; }
switched() { grep -q '"step":"postcopy-switched"' "$(last_journal)" 2>/dev/null; }
cleanup() {
    [ -z "${FERRY_PID:-}" ] || kill "$FERRY_PID" 2>/dev/null || true
    remove_guest $g
    rm -rf "$FERRY_STATE_DIR"
}
on_exit cleanup
remove_guest $g
rm -rf "$FERRY_STATE_DIR"

"$LAB_DIR/guest.sh" create $g dirty a
uuid=$(lv a domuuid $g | head -1)

# ---- 1. abort before any switch ----------------------------------------------------------
ferry_bg migrate $g --to hostB --bandwidth 10 --on-timeout none
wait_for 60 mem_phase a $g
pid=$(ferry_pid "$uuid")
ferry abort $g
cp "$OUT/out" "$OUT/abort1"
rc=0
wait "$FERRY_PID" || rc=$?
FERRY_PID=
diag "$OUT/abort1"
diag "$OUT/err1"
check "ferry abort: asked pid $pid, reports '$g' aborted and kept on hostA (exit 0)" \
    eval '[ "$FERRY_RC" = 0 ] && grep -q "^asked ferry pid $pid to abort op .*-${uuid:0:8}-$pid ('"'$g'"' hostA -> hostB)" "$OUT/abort1" &&
          grep -q "^aborted: .$g. stays on hostA (rolled back)" "$OUT/abort1"'
check "the running ferry took it as Ctrl-C: aborted, rolled back, exit 1" \
    eval '[ "$rc" = 1 ] && grep -q "SIGTERM received: aborting and rolling back" "$OUT/err1"'
check "... $g runs on hostA only, not paused, nothing of it on hostB" \
    eval 'only_on a $g running && image_absent b $g'
check "... the journal ends rolled-back" eval 'tail -1 "$(last_journal)" | grep -q "\"result\":\"rolled-back\""'
ferry abort $g
check "a second abort finds nothing running (exit 2)" \
    eval '[ "$FERRY_RC" = 2 ] && grep -q "no ferry is running an operation on .$g." "$OUT/err"'

# ---- 2. after a post-copy switch ---------------------------------------------------------
ferry_bg migrate $g --to hostB --bandwidth 10 --postcopy --timeout 2 --on-timeout postcopy
wait_for 60 switched
pid=$(ferry_pid "$uuid")
kill -INT "$pid"
ferry abort $g
cp "$OUT/out" "$OUT/abort2"
cp "$OUT/err" "$OUT/abort2.err"
rc=0
wait "$FERRY_PID" || rc=$?
FERRY_PID=
diag "$OUT/abort2"
diag "$OUT/err1"
check "after the post-copy switch, Ctrl-C says abort is no longer possible and what happens" \
    grep -q "SIGINT received: abort is no longer possible: .$g. has switched to post-copy: it runs on hostB and cannot return to hostA; ferry lets the copy finish there, then verifies the move and cleans up" "$OUT/err1"
check "... ferry abort says the same (exit 1), and the running ferry answered it alike" \
    eval '[ "$FERRY_RC" = 1 ] && grep -q "abort of .$g. (op .*, ferry pid $pid) is no longer possible: it has switched to post-copy" "$OUT/abort2" &&
          grep -q "SIGTERM received: abort is no longer possible: .$g. has switched to post-copy" "$OUT/err1"'
check "... nothing said it aborts; the migrate completed, exit 0" \
    eval '[ "$rc" = 0 ] && ! grep -q "aborting" "$OUT/err1" && grep -q "^migrated .$g. from hostA to hostB" "$OUT/out1"'
check "... $g runs on hostB only, the journal ends done" \
    eval 'only_on b $g running && tail -1 "$(last_journal)" | grep -q "\"result\":\"done\""'
done_testing
