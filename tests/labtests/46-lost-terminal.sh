#!/bin/bash
# A lost terminal stops nothing (issue 15, point 1).
#  1. SIGHUP twice mid block migration (hostA -> hostB, --bandwidth 2: ~10 s): ferry carries on
#     to its end, exit 0: the guest runs on hostB only, not paused, its disk as before, the
#     source's image removed (cleanup ran), the journal ends "done"; the log file whose path
#     ferry printed at start holds everything to the summary, and says the SIGHUP changed
#     nothing.  Meanwhile `ferry status` lists the operation running (its pid, last step, the
#     job's progress asked of hostA, the log path), and afterwards as done (also --json).
#  2. stdout and stderr both closed mid-move (`ferry migrate ... 2>&1 | head -1`, hostB ->
#     hostA): the move completes the same way, and the log has the end.
. "$(dirname "$0")/lib.sh"

export FERRY_STATE_DIR="$LAB/state-t46"
g=t46-hup
A=/var/lib/libvirt/images

wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.2
    done
}
sum_disk() { hx "$1" sh -c 't=$(mktemp) && qemu-img convert -U -O raw "$1" "$t" && sha256sum <"$t" | cut -c1-64; rc=$?; rm -f "$t"; exit $rc' sh "$2"; }
ferry_bg() {
    (exec ip netns exec "$P-op" env FERRY_CONFIG="$LAB/inventory.ini" \
        timeout -k 10 120 "$FERRY_BIN" "$@" >"$OUT/out1" 2>"$OUT/err1") &
    FERRY_PID=$!
}
ferry_pid() { sed -n 's/^pid \([0-9]*\) since .*/\1/p' "$FERRY_STATE_DIR/locks/$1.lock"; }
log_of() { sed -n 's/^ferry: log: //p' "$1" | head -1; }
in_migrate() { [ -n "$(ferry_pid "$uuid")" ] && grep -q '^== migrate' "$(log_of "$OUT/err1")"; }
last_journal() { ls -t "$FERRY_STATE_DIR"/journal/*-${uuid:0:8}-*.jsonl | head -1; }
cleanup() {
    [ -z "${FERRY_PID:-}" ] || kill "$FERRY_PID" 2>/dev/null || true
    remove_guest $g
    rm -rf "$FERRY_STATE_DIR"
}
on_exit cleanup
remove_guest $g
rm -rf "$FERRY_STATE_DIR"

"$LAB_DIR/guest.sh" create $g local a --no-start
sum0=$(sum_disk a $A/$g.qcow2)
uuid=$(lv a domuuid $g | head -1)
lv a start $g >/dev/null

# ---- 1. SIGHUP mid-move ------------------------------------------------------------------
ferry_bg migrate $g --to hostB --bandwidth 2
wait_for 30 eval '[ -n "$(log_of "$OUT/err1")" ]'
log1=$(log_of "$OUT/err1")
wait_for 30 in_migrate
pid=$(ferry_pid "$uuid")
kill -HUP "$pid"
sleep 0.3
kill -HUP "$pid"
# (asked until hostA's job reports its disk copy: the job's first figures come after a moment)
status_has_disk() { ferry status; cp "$OUT/out" "$OUT/status1"; grep -q '^    job on hostA: .*, disk ' "$OUT/status1"; }
wait_for 20 status_has_disk || true
rc=0
wait "$FERRY_PID" || rc=$?
FERRY_PID=
diag "$OUT/err1"
diag "$OUT/status1"
check "SIGHUP twice mid-move: ferry went on to its end, exit 0" test "$rc" = 0
check "... $g runs on hostB only, not paused" only_on b $g running
check "... its disk as before, and the source's image was removed (cleanup ran)" \
    eval '[ "$(sum_disk b $A/$g.qcow2)" = "$sum0" ] && image_absent a $g'
check "... the journal ends done" eval 'tail -1 "$(last_journal)" | grep -q "\"step\":\"end\",\"result\":\"done\""'
check "the log file named at start (under the state directory) has the SIGHUP and the end" \
    eval '[[ $log1 == "$FERRY_STATE_DIR"/logs/*.log ]] &&
          grep -q "SIGHUP received (terminal lost): the operation carries on to its end; its output goes on in $log1" "$log1" &&
          grep -q "^== cleanup" "$log1" && grep -q "^migrated .$g. from hostA to hostB" "$log1" &&
          grep -q "^  state:      running on hostB" "$log1"'
check "... and the journal names that log" grep -qF "\"step\":\"log\",\"path\":\"$log1\"" "$(last_journal)"
check "ferry status while it ran: running with its pid, the job on hostA, the log" \
    eval 'grep -q "^[0-9T.]*-${uuid:0:8}-$pid .$g. hostA -> hostB block: running (pid $pid); last step" "$OUT/status1" &&
          grep -q "^    job on hostA: [0-9.]* s, memory .* of .*, disk .* of " "$OUT/status1" &&
          grep -qF "    log: $log1" "$OUT/status1"'
ferry status
diag "$OUT/out"
check "ferry status afterwards: done, last step 'end'" \
    grep -q "^[0-9T.]*-${uuid:0:8}-$pid .$g. hostA -> hostB block: done; last step 'end'" "$OUT/out"
ferry status --json
check "ferry status --json: one object for it, state done, its log" \
    python3 -c 'import json,sys
lines = [json.loads(l) for l in open(sys.argv[1])]
ops = [o for o in lines if o["event"] == "operation"]
assert lines[-1]["event"] == "result" and lines[-1]["operations"] == len(ops)
mine = [o for o in ops if o["op"].endswith("-%s" % sys.argv[2]) and o["domain"] == sys.argv[3]]
sys.exit(not (len(mine) == 1 and mine[0]["state"] == "done" and mine[0]["log"] == sys.argv[4]
              and mine[0]["pid"] is None and mine[0]["job"] is None and mine[0]["last_step"] == "end"))' \
    "$OUT/out" "$pid" "$g" "$log1"

# ---- 2. stdout and stderr closed mid-move ------------------------------------------------
sum1=$(sum_disk b $A/$g.qcow2)
rc=0
op timeout 120 "$FERRY_BIN" migrate $g --to hostA --bandwidth 2 2>&1 | head -1 >"$OUT/head" || rc=$?
# (head exits after the first line, the log's path; ferry goes on without its reader)
wait_for 60 eval '[ -z "$(ferry_pid "$uuid")" ]'
log2=$(log_of "$OUT/head")
diag "$log2"
check "stdout and stderr closed (| head -1): the move completes, $g runs on hostA only" \
    only_on a $g running
check "... its disk as before, the image on hostB removed" \
    eval '[ "$(sum_disk a $A/$g.qcow2)" = "$sum1" ] && image_absent b $g'
check "... the log file has the end" \
    eval '[ -n "$log2" ] && grep -q "^== done" "$log2" && grep -q "^migrated .$g. from hostB to hostA" "$log2"'
done_testing
