#!/bin/bash
# An evacuation killed mid-way (SIGKILL), then `ferry recover`.
# hostB holds three guests: two that dirty their memory, each with a local disk (at the shared
# 10 MiB/s they never converge), and a plain one with a local disk.  `ferry evacuate hostB --to
# hostC --concurrency 2 --bandwidth 10` starts two moves; while both copy memory, ferry is
# SIGKILLed.  libvirt's jobs run on, watched by nobody.  `ferry recover` resolves both: every
# guest is in exactly one place, running and not paused, its disk as before, no image ferry
# made left on hostC, both journals resolved, and recover says which guests are still on hostB.
# Then the same evacuation interrupted by SIGINT (Ctrl-C): ferry itself rolls the two moves back
# and begins no other; the hosts have all three on hostB, running.
. "$(dirname "$0")/lib.sh"

export FERRY_STATE_DIR="$LAB/state-t32"
gs="t32-a t32-b t32-c"
wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.2
    done
}
mem_phase() {
    local j
    j=$(lv "$1" domjobinfo "$2" 2>/dev/null) || return 1
    awk '/^Memory processed:/ { f = ($3 + 0 > 0) } END { exit !f }' <<<"$j"
}
both_in_memory_phase() { mem_phase b t32-a && mem_phase b t32-b; }
sum_disk() { hx "$1" sh -c 't=$(mktemp) && qemu-img convert -U -O raw "$1" "$t" && sha256sum <"$t" | cut -c1-64; rc=$?; rm -f "$t"; exit $rc' sh "$2"; }
journals_resolved() {
    local f n=0
    for f in "$FERRY_STATE_DIR"/journal/*.jsonl; do
        tail -1 "$f" | grep -q '"step":"end"\|"step":"recovered","result":"resolved"' || return 1
        n=$((n + 1))
    done
    [ $n -ge 2 ]
}
cleanup() {
    [ -z "${FERRY_PID:-}" ] || kill -KILL "$FERRY_PID" 2>/dev/null || true
    for g in $gs; do remove_guest $g; done
    rm -rf "$FERRY_STATE_DIR"
}
on_exit cleanup
for g in $gs; do remove_guest $g; done
rm -rf "$FERRY_STATE_DIR"

"$LAB_DIR/guest.sh" create t32-a dirty-disk b --no-start
"$LAB_DIR/guest.sh" create t32-b dirty-disk b --no-start
"$LAB_DIR/guest.sh" create t32-c local b --no-start
declare -A sum
for g in $gs; do sum[$g]=$(sum_disk b "$(image_path b $g)"); done
for g in $gs; do lv b start $g >/dev/null; done

(exec ip netns exec "$P-op" env FERRY_CONFIG="$LAB/inventory.ini" \
    timeout -k 10 120 "$FERRY_BIN" evacuate hostB --to hostC --concurrency 2 --bandwidth 10 \
    >"$OUT/out1" 2>"$OUT/err1") &
FERRY_PID=$!
wait_for 60 both_in_memory_phase
pids=$(sed -n 's/^pid \([0-9]*\) since .*/\1/p' "$FERRY_STATE_DIR"/locks/*.lock | sort -u)
check "one ferry holds the locks of the two moves in flight" test "$(wc -w <<<"$pids")" = 1
# the total 10 MiB/s shared by the two moves: libvirt's own limit on each job
speed() { local s; s=$(lv b migrate-getspeed "$1") && echo "${s//[^0-9]/}"; }
check "the 10 MiB/s are shared: each job is limited to 5 MiB/s on hostB" \
    wait_for 10 eval '[ "$(speed t32-a)/$(speed t32-b)" = 5/5 ]'
kill -KILL $pids
{ wait "$FERRY_PID" || true; } 2>/dev/null
FERRY_PID=
check "ferry is gone; both migration jobs still run on hostB" \
    eval '! kill -0 $pids 2>/dev/null && mem_phase b t32-a && mem_phase b t32-b'

ferry recover
diag "$OUT/out"
diag "$OUT/err"
check "ferry recover: exit 0" test "$FERRY_RC" = 0
check "... it aborted both jobs" test "$(grep -c "aborted the migration job on hostB" "$OUT/out")" = 2
check "... and says which guests are still on hostB" \
    grep -q "^still on hostB: t32-a (running), t32-b (running), t32-c (running)$" "$OUT/out"
for g in $gs; do
    check "$g runs on hostB only, not paused" only_on b $g running
    check "... one qemu process for it in all" \
        test "$(qemu_count b $g)/$(qemu_count c $g)" = 1/0
    check "... its disk holds what it held" test "$(sum_disk b "$(image_path b $g)")" = "${sum[$g]}"
    check "... no image of it left on hostC" image_absent c $g
done
check "both journals resolved" journals_resolved
ferry recover
check "a second recover finds nothing left to do" \
    eval '[ "$FERRY_RC" = 0 ] && grep -q "^no unfinished operation" "$OUT/out"'

# ---- Ctrl-C (SIGINT) instead: ferry rolls back the moves in flight itself, begins no other
(exec ip netns exec "$P-op" env FERRY_CONFIG="$LAB/inventory.ini" \
    timeout -k 10 120 "$FERRY_BIN" evacuate hostB --to hostC --concurrency 2 --bandwidth 10 \
    >"$OUT/out2" 2>"$OUT/err2") &
FERRY_PID=$!
wait_for 60 both_in_memory_phase
pids=$(sed -n 's/^pid \([0-9]*\) since .*/\1/p' "$FERRY_STATE_DIR"/locks/*.lock | sort -u)
t0=$SECONDS
kill -INT $pids
rc=0
wait "$FERRY_PID" || rc=$?
FERRY_PID=
diag "$OUT/out2"
check "SIGINT: ferry ends by itself within 30 s, exit 1 ($rc)" \
    eval '[ "$rc" = 1 ] && [ $((SECONDS - t0)) -le 30 ]'
check "... the two moves in flight rolled back, the third not begun" \
    eval '[ "$(grep -c "  failed: " "$OUT/out2")" = 2 ] && grep -q "t32-c .*skipped: not begun: the run was cancelled" "$OUT/out2"'
check "... and the hosts say all three are still on hostB" \
    grep -q "^still on hostB: t32-a, t32-b, t32-c$" "$OUT/out2"
for g in $gs; do
    check "$g runs on hostB only, not paused; nothing of it on hostC" \
        eval 'only_on b $g running && image_absent c $g'
done
ferry recover
check "recover after the SIGINT: nothing left to do" \
    eval '[ "$FERRY_RC" = 0 ] && grep -q "^no unfinished operation" "$OUT/out"'
done_testing
