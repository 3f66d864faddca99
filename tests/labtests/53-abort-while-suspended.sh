#!/bin/bash
# SIGTERM after ferry's policy suspended the guest: the job is aborted and the guest is resumed
# on its source -- never left paused, never on two hosts.
. "$(dirname "$0")/lib.sh"
g=t53-dirty
remove_guest $g
"$LAB_DIR/guest.sh" create $g dirty a "mib=64"
sleep 1

# Suspended at 3 s with ~90 MiB left at 10 MiB/s: the job would end at ~12 s; SIGTERM at 6 s.
FERRY_RC=0
op timeout -k 30 -s TERM --preserve-status 6 "$FERRY_BIN" migrate $g --to hostB --bandwidth 10 \
    --timeout 3 >"$OUT/out" 2>"$OUT/err" || FERRY_RC=$?
check "ferry exits 1 on SIGTERM" test "$FERRY_RC" = 1
check "the policy had suspended the guest" ferry_output_has "suspend: completion timeout 3.0 s"
check "ferry says it resumed the guest on hostA and for how long it was suspended" \
    grep -qE "'$g' runs on hostA again \(resumed by (ferry|libvirt)\); ferry had suspended it for [0-9.]+ s" "$OUT/err"
check "the guest runs on hostA (not paused)" test "$(state a $g)" = running
check "the guest is not on hostB" test "$(state b $g)" = absent
[ "$(state a $g)" = running ] || diag "$OUT/err"

remove_guest $g
done_testing
