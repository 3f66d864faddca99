#!/bin/bash
# Fault j: two ferry processes on the same guest.  While a first `ferry migrate` moves a running
# guest hostA -> hostB (block migration at --bandwidth 1, ~15 s), a second one on the same guest
# -- by name to hostC, and by UUID to hostB -- is refused at once (exit 1, within 5 s), its
# message naming the first (its pid, which is alive and is that ferry, and since when), and
# touches nothing: the first completes normally, the guest runs on hostB only, not paused, its
# disk contents as before, nothing of it left on hostA or hostC.  The journal records the
# first operation from start to end (done) and the lock is free again.
# Then a guest of that name running on two hosts (a second copy started on hostA) is refused
# even with --from naming either host: the message names both, nothing changes.
. "$(dirname "$0")/lib.sh"

export FERRY_STATE_DIR="$LAB/state-t99"
g=t99-twice
A=/var/lib/libvirt/images
C=/var/lib/libvirt/images-c

wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.2
    done
}
job_running() { local j; j=$(lv "$1" domjobinfo "$2" 2>/dev/null) && grep -q '^Job type: *Unbounded' <<<"$j"; }
sum_disk() { hx "$1" sh -c 't=$(mktemp) && qemu-img convert -U -O raw "$1" "$t" && sha256sum <"$t" | cut -c1-64; rc=$?; rm -f "$t"; exit $rc' sh "$2"; }
ferry_bg() {
    (exec ip netns exec "$P-op" env FERRY_CONFIG="$LAB/inventory.ini" \
        timeout -k 10 120 "$FERRY_BIN" "$@" >"$OUT/out1" 2>"$OUT/err1") &
    FERRY_PID=$!
}
cleanup() {
    [ -z "${FERRY_PID:-}" ] || kill "$FERRY_PID" 2>/dev/null || true
    remove_guest $g
    rm -rf "$FERRY_STATE_DIR"
}
on_exit cleanup
remove_guest $g
rm -rf "$FERRY_STATE_DIR"

"$LAB_DIR/guest.sh" create $g local a --no-start
sum_before=$(sum_disk a $A/$g.qcow2)
uuid=$(lv a domuuid $g | head -1)
lv a start $g >/dev/null

ferry_bg migrate $g --to hostB --bandwidth 1 --on-timeout none
wait_for 40 job_running a $g
lock="$FERRY_STATE_DIR/locks/$uuid.lock"
holder=$(sed -n 's/^pid \([0-9]*\) since .*/\1/p' "$lock")
check "the first ferry holds the guest's lock, naming its pid" test -n "$holder"
check "that pid is the first ferry, alive, moving $g" \
    grep -qa -- "migrate" "/proc/$holder/cmdline"

t0=$(date +%s.%N)
ferry migrate $g --to hostC
t1=$(date +%s.%N)
diag "$OUT/err"
check "a second ferry on the same guest (by name) is refused: exit 2" test "$FERRY_RC" = 2
check "... at once (within 5 s)" less "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" 5
check "... naming the first ferry's pid and since when" \
    grep -qE "is being handled by ferry pid $holder since [0-9]{4}-" "$OUT/err"
ferry migrate "$uuid" --to hostB
diag "$OUT/err"
check "a second ferry on the same guest by its UUID is refused too, naming pid $holder" \
    eval '[ "$FERRY_RC" = 2 ] && grep -q "ferry pid $holder since" "$OUT/err"'
check "the first migration's job is still running on hostA" job_running a $g

rc=0
wait "$FERRY_PID" || rc=$?
FERRY_PID=
sed 's/^/# first: /' "$OUT/err1" | tail -3
check "the first ferry completes normally (exit 0)" test "$rc" = 0
check "$g runs on hostB only" only_on b $g running
check "its disk on hostB holds what it held on hostA" \
    test "$(lv b suspend $g >/dev/null && sum_disk b $A/$g.qcow2; lv b resume $g >/dev/null)" = "$sum_before"
check "nothing of it left on hostA or hostC" \
    eval 'image_absent a $g && [ "$(file_state c $C/$g.qcow2)" = absent ]'
journal=$(ls "$FERRY_STATE_DIR"/journal/*.jsonl)
check "one journal, for the first operation only" test "$(wc -l <<<"$journal")" = 1
check "the journal runs from start to end: done" \
    eval 'head -1 "$journal" | grep -q "\"step\":\"start\"" && tail -1 "$journal" | grep -q "\"result\":\"done\""'
check "the lock is free again" flock -n "$lock" true
ferry recover
diag "$OUT/out"
check "ferry recover finds nothing unfinished (exit 0)" \
    eval '[ "$FERRY_RC" = 0 ] && grep -q "no unfinished operation" "$OUT/out"'

# a second copy of the name running on hostA: refused even with --from
"$LAB_DIR/guest.sh" create $g local a >/dev/null
snapshot_take
ferry migrate $g --from hostB --to hostC
diag "$OUT/err"
r1=$FERRY_RC
cp "$OUT/err" "$OUT/err-from-b"
ferry migrate $g --from hostA --to hostC
diag "$OUT/err"
check "$g running on hostA and hostB: refused with --from hostB and with --from hostA" \
    eval '[ "$r1" != 0 ] && [ "$FERRY_RC" != 0 ] &&
          grep -q "domain .$g. is running on several hosts (.hostA., .hostB.): refusing to touch it" "$OUT/err-from-b" &&
          grep -q "domain .$g. is running on several hosts (.hostA., .hostB.): refusing to touch it" "$OUT/err"'
check "... nothing changed on any host" unchanged_since_snapshot
done_testing
