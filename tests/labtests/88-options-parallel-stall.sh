#!/bin/bash
# More options through the command line, with the guest that dirties 32 MiB of its 64 MiB at
# --bandwidth 8 (MiB/s), each seen on the hosts:
#   --parallel 4       the destination's QEMU accepts the memory over 4 more connections
#                      (multifd): 5 established migration connections from the source, counted
#                      in the destination's socket table while the job runs (1 without it);
#   --stall-window 3   remaining memory that stops falling for 3 s is a stall: with a 300 s
#                      timeout the 'abort' policy acts on the stall alone, within seconds; the
#                      guest keeps running on its source, nothing of it on the destination.
. "$(dirname "$0")/lib.sh"
g=t88-dirty
on_exit 'remove_guest $g'
remove_guest $g
MEM_MIB=64 "$LAB_DIR/guest.sh" create $g dirty a "mib=32"
sleep 1

# migration_conns DST SRC: established TCP connections from SRC to DST's QEMU migration ports
# (49152-49215), in DST's socket table
migration_conns() {
    ip netns exec "$P-$1" ss -Htn state established dst "$(lab_ip "$2")" |
        awk '{ split($3, a, ":"); if (a[2] >= 49152 && a[2] <= 49215) n++ } END { print n + 0 }'
}
# run_sampled DST SRC ARGS...: ferry migrate $g ARGS --json in the background; the most
# migration connections DST had from SRC at any time, in MAX_CONNS
run_sampled() {
    local dst=$1 src=$2 n
    shift 2
    MAX_CONNS=0
    (exec ip netns exec "$P-op" env FERRY_CONFIG="$LAB/inventory.ini" \
        timeout -k 10 180 "$FERRY_BIN" migrate $g "$@" --json >"$OUT/out" 2>"$OUT/err") &
    local pid=$!
    while kill -0 $pid 2>/dev/null; do
        n=$(migration_conns "$dst" "$src") || n=0
        [ "$n" -le "$MAX_CONNS" ] || MAX_CONNS=$n
        sleep 0.3
    done
    FERRY_RC=0
    wait $pid || FERRY_RC=$?
    keep_json
}

# ---- --parallel 4, hostA -> hostB ----------------------------------------------------------------
run_sampled b a --to hostB --bandwidth 8 --parallel 4 --timeout 6
check "parallel: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "parallel: libvirt was asked for PARALLEL" ferry_output_has "|PARALLEL"
check "parallel: hostB's QEMU had 5 migration connections from hostA (1 + 4 channels), saw $MAX_CONNS" \
    test "$MAX_CONNS" = 5
check "parallel: the guest runs on hostB only" only_on b $g running

# ---- --stall-window 3 --timeout 300 --on-timeout abort, hostB -> hostA (no --parallel) ------------
t0=$SECONDS
run_sampled a b --to hostA --bandwidth 8 --stall-window 3 --timeout 300 --on-timeout abort
took=$((SECONDS - t0))
check "stall: ferry exits 1 after $took s, long before the 300 s timeout" sh -c "[ '$FERRY_RC' = 1 ] && [ $took -lt 60 ]"
[ "$FERRY_RC" = 1 ] || diag "$OUT/err"
check "stall: the policy aborted on a 3 s stall" \
    grep -qE '"action":"abort","reason":"remaining memory has not dropped below [0-9.]+ MiB for 3\.[0-9] s \(stall\)"' "$OUT/out"
check "stall: the result says it did not converge and stays on hostB" \
    sh -c "tail -1 '$OUT/out' | grep -q '\"ok\":false,\"error\":{\"kind\":\"not-converged\",\"message\":\"[^\"]*stall[^\"]*.$g. stays on .hostB.'"
check "stall: the guest runs on hostB only (not paused)" only_on b $g running
check "stall: no qemu process of it on hostA" test "$(qemu_count a $g)" = 0
check "control for --parallel: without it, 1 migration connection (saw $MAX_CONNS)" test "$MAX_CONNS" = 1

done_testing
