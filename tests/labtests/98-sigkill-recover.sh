#!/bin/bash
# Fault c: ferry killed by SIGKILL mid-job, then `ferry recover`.
#  1. live: a guest that dirties its memory, with a local disk, block-migrated hostA -> hostB at
#     --bandwidth 10 (it never converges): ferry is SIGKILLed in the memory phase.  libvirt's
#     peer-to-peer job carries on, watched by nobody.  `ferry recover --dry-run` says what it
#     would do and changes nothing; `ferry recover` aborts the job and rolls back: the guest runs
#     on hostA only, not paused, its disk as before, and the image ferry created on hostB is gone.
#  1b. live, shared storage: ferry SIGKILLed just after its policy suspended the guest (--timeout
#     3 --on-timeout suspend): after `ferry recover` it runs, not paused, in exactly one place
#     (wherever the job ended), with one qemu process in all.
#  2. cold: a shut-off guest whose disk ferry is copying hostA -> hostB over a slow link: ferry is
#     SIGKILLed mid-copy.  `ferry recover` keeps the guest defined on hostA only (the copy was
#     never verified), its disk as before, and removes the half-copied temporary file on hostB.
#  3. (no recover) SIGTERM twice mid cold copy (what `ferry abort` sends; a SIGHUP stops nothing,
#     see 46): ferry stops within ~2 s, rolls back, and the second signal says what is still
#     running; stdout closed mid live move (| head -c 1): it completes.
# Each time the journal marks the operation resolved, the guest's lock is free, and a second
# `ferry recover` finds nothing left to do.
. "$(dirname "$0")/lib.sh"

export FERRY_STATE_DIR="$LAB/state-t98"
A=/var/lib/libvirt/images
gl=t98-live
gc=t98-cold

wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.2
    done
}
# mem_phase HOST NAME: NAME's migration job on HOST has begun copying memory
mem_phase() {
    local j
    j=$(lv "$1" domjobinfo "$2" 2>/dev/null) || return 1
    awk '/^Memory processed:/ { f = ($3 + 0 > 0) } END { exit !f }' <<<"$j"
}
no_job() { local j; j=$(lv "$1" domjobinfo "$2") && grep -q '^Job type: *None' <<<"$j"; }
sum_disk() { hx "$1" sh -c 't=$(mktemp) && qemu-img convert -U -O raw "$1" "$t" && sha256sum <"$t" | cut -c1-64; rc=$?; rm -f "$t"; exit $rc' sh "$2"; }
ferry_bg() {
    (exec ip netns exec "$P-op" env FERRY_CONFIG="$LAB/inventory.ini" \
        timeout -k 10 120 "$FERRY_BIN" "$@" >"$OUT/out1" 2>"$OUT/err1") &
    FERRY_PID=$!
}
# ferry_pid UUID: the pid of the ferry holding UUID's lock
ferry_pid() { sed -n 's/^pid \([0-9]*\) since .*/\1/p' "$FERRY_STATE_DIR/locks/$1.lock"; }
# temporaries HOST NAME: ferry's half-copied files of NAME.qcow2 in HOST's images dir
temporaries() { hx "$1" sh -c 'ls -a "$1" | grep -F ".$2.qcow2.ferry-copy-" || true' sh "$A" "$2"; }
journal_of() { grep -l "\"uuid\":\"$1\"" "$FERRY_STATE_DIR"/journal/*.jsonl; }
resolved() { tail -1 "$(journal_of "$1")" | grep -q '"step":"recovered","result":"resolved"'; }
cleanup() {
    "$LAB_DIR/shape.sh" off
    [ -z "${FERRY_PID:-}" ] || kill "$FERRY_PID" 2>/dev/null || true
    remove_guest $gl
    remove_guest $gc
    remove_guest t98-susp
    remove_guest t98-pipe
    hx b sh -c 'rm -f "$1"/.t98-*.ferry-copy-*' sh "$A"
    rm -rf "$FERRY_STATE_DIR"
}
on_exit cleanup
remove_guest $gl
remove_guest $gc
remove_guest t98-susp
rm -rf "$FERRY_STATE_DIR"

# ---- 1. live, SIGKILL in the memory phase ----------------------------------------------------
"$LAB_DIR/guest.sh" create $gl dirty-disk a --no-start
sum_live=$(sum_disk a $A/$gl.qcow2)
uuid_live=$(lv a domuuid $gl | head -1)
lv a start $gl >/dev/null
ferry_bg migrate $gl --to hostB --bandwidth 10 --on-timeout none
wait_for 60 mem_phase a $gl
pid=$(ferry_pid "$uuid_live")
kill -KILL "$pid"
{ wait "$FERRY_PID" || true; } 2>/dev/null
FERRY_PID=
check "ferry (pid $pid) is gone, the job it started still runs on hostA" \
    eval '! kill -0 "$pid" 2>/dev/null && mem_phase a $gl'
check "the journal has no end for it" eval '! grep -q "\"step\":\"end\"" "$(journal_of "$uuid_live")"'

ferry recover --dry-run
diag "$OUT/out"
check "recover --dry-run says it would abort the job, and exits 1 (unresolved)" \
    eval '[ "$FERRY_RC" = 1 ] && grep -q "would abort the migration job on hostA" "$OUT/out"'
check "... and changes nothing: the job still runs" mem_phase a $gl

ferry recover
diag "$OUT/out"
diag "$OUT/err"
check "ferry recover resolves it (exit 0), saying it aborted the job and removed the image" \
    eval '[ "$FERRY_RC" = 0 ] && grep -q "aborted the migration job on hostA" "$OUT/out" &&
          grep -q "removed $A/$gl.qcow2 on hostB" "$OUT/out"'
check "$gl runs on hostA only" only_on a $gl running
check "no migration job left on hostA" no_job a $gl
check "no qemu process for it on hostB" test "$(qemu_count b $gl)" = 0
check "its disk holds what it held" test "$(sum_disk a $A/$gl.qcow2)" = "$sum_live"
check "the image ferry created on hostB is gone, and no temporary copy" \
    eval 'image_absent b $gl && [ -z "$(temporaries b $gl)" ]'
check "the journal marks it resolved" resolved "$uuid_live"
check "its lock is free" flock -n "$FERRY_STATE_DIR/locks/$uuid_live.lock" true

# ---- 1b. live, SIGKILL just after ferry's policy suspended the guest -------------------------
# Wherever the job ends (aborted by recover, or completed by libvirt meanwhile), the guest must
# run, not paused, in exactly one place.
gs=t98-susp
"$LAB_DIR/guest.sh" create $gs dirty a --no-start
uuid_susp=$(lv a domuuid $gs | head -1)
lv a start $gs >/dev/null
ferry_bg migrate $gs --to hostB --bandwidth 10 --timeout 3 --on-timeout suspend
wait_for 60 eval 'grep -qs "\"step\":\"suspended-by-ferry\"" "$FERRY_STATE_DIR"/journal/*-${uuid_susp:0:8}-*.jsonl'
pid=$(ferry_pid "$uuid_susp")
kill -KILL "$pid"
{ wait "$FERRY_PID" || true; } 2>/dev/null
FERRY_PID=
check "ferry was killed after suspending $gs: it is paused on hostA (or already moved)" \
    eval '[ "$(state a $gs)" = paused ] || [ "$(state b $gs)" != absent ]'
ferry recover
diag "$OUT/out"
diag "$OUT/err"
check "ferry recover resolves it (exit 0)" test "$FERRY_RC" = 0
if [ "$(state a $gs)" = absent ]; then on=b; else on=a; fi
check "$gs runs, not paused, in exactly one place (host${on^^})" only_on $on $gs running
check "one qemu process for it in all" \
    test "$(( $(qemu_count a $gs) + $(qemu_count b $gs) + $(qemu_count c $gs) ))" = 1
check "the journal marks it resolved" resolved "$uuid_susp"
remove_guest $gs

# ---- 2. cold, SIGKILL mid-copy ---------------------------------------------------------------
"$LAB_DIR/guest.sh" create $gc local a --no-start
sum_cold=$(checksum $gc a)
uuid_cold=$(lv a domuuid $gc | head -1)
"$LAB_DIR/shape.sh" 8mbit
ferry_bg migrate $gc --to hostB
wait_for 60 eval '[ -n "$(temporaries b $gc)" ]'
sleep 1
pid=$(ferry_pid "$uuid_cold")
kill -KILL "$pid"
{ wait "$FERRY_PID" || true; } 2>/dev/null
FERRY_PID=
"$LAB_DIR/shape.sh" off
check "ferry (pid $pid) was killed while a temporary copy of the disk was on hostB" \
    eval '! kill -0 "$pid" 2>/dev/null && [ -n "$(temporaries b $gc)" ]'

ferry recover
diag "$OUT/out"
diag "$OUT/err"
check "ferry recover resolves it (exit 0)" test "$FERRY_RC" = 0
check "$gc is defined, shut off, on hostA only" only_on a $gc "shut off"
check "... persistently" persistent a $gc
check "its disk holds what it held" test "$(checksum $gc a)" = "$sum_cold"
# the copy on hostA may still be finishing after its ferry died: give it a moment, then look
sleep 2
check "nothing of it on hostB: no image, no temporary copy" \
    eval 'image_absent b $gc && [ -z "$(temporaries b $gc)" ]'
check "the journal marks it resolved" resolved "$uuid_cold"

# ---- 3. SIGTERM mid cold copy, twice; stdout closed mid live move --------------------------
# No recover needed: ferry stops the copy within ~2 s and rolls back by itself; the second signal
# says what is still running.
"$LAB_DIR/shape.sh" 8mbit
ferry_bg migrate $gc --to hostB
wait_for 60 eval '[ -n "$(temporaries b $gc)" ]'
pid=$(ferry_pid "$uuid_cold")
t0=$(date +%s.%N)
kill -TERM "$pid"
sleep 0.3
kill -TERM "$pid" 2>/dev/null || true
{ wait "$FERRY_PID" || true; } 2>/dev/null
t1=$(date +%s.%N)
FERRY_PID=
"$LAB_DIR/shape.sh" off
diag "$OUT/err1"
check "SIGTERM mid-copy: ferry stopped within 3 s" \
    less "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" 3
check "... saying it rolls back, and on the second SIGTERM what is still running" \
    eval 'grep -q "SIGTERM received: aborting and rolling back" "$OUT/err1" &&
          grep -q "SIGTERM received again: still aborting: moving .$gc. hostA -> hostB" "$OUT/err1"'
check "... $gc is defined on hostA only, nothing of it on hostB" \
    eval 'only_on a $gc "shut off" && image_absent b $gc && [ -z "$(temporaries b $gc)" ]'
check "... its disk holds what it held, and the journal says rolled back" \
    eval '[ "$(checksum $gc a)" = "$sum_cold" ] &&
          tail -1 "$(ls -t "$FERRY_STATE_DIR"/journal/*-${uuid_cold:0:8}-*.jsonl | head -1)" | grep -q "\"result\":\"rolled-back\""'

gp=t98-pipe
"$LAB_DIR/guest.sh" create $gp local a --no-start
sum_pipe=$(sum_disk a $A/$gp.qcow2)
lv a start $gp >/dev/null
rc=0
op timeout 120 "$FERRY_BIN" migrate $gp --to hostB --json 2>"$OUT/err2" | head -c 1 >/dev/null || rc=$?
diag "$OUT/err2"
check "stdout closed under a live move (| head -c 1): the move completes, $gp runs on hostB only" \
    only_on b $gp running
check "... its disk as before" test "$(sum_disk b $A/$gp.qcow2)" = "$sum_pipe"
remove_guest $gp

ferry recover
diag "$OUT/out"
check "a second ferry recover finds nothing unfinished (exit 0)" \
    eval '[ "$FERRY_RC" = 0 ] && grep -q "no unfinished operation" "$OUT/out"'
done_testing
