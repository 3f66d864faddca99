#!/bin/bash
# The bandwidth limit changes while the job runs (--control-stdin "bandwidth MIB"): the job's
# transfer rate follows, and the change is reported with its time.
. "$(dirname "$0")/lib.sh"
g=t54-dirty
remove_guest $g
"$LAB_DIR/guest.sh" create $g dirty a "mib=64"
sleep 1

FERRY_RC=0
(sleep 3; echo "bandwidth 40"; sleep 10) |
    op timeout -k 30 -s INT --preserve-status 7 "$FERRY_BIN" migrate $g --to hostB \
        --bandwidth 10 --on-timeout none --control-stdin --json >"$OUT/out" 2>"$OUT/err" ||
    FERRY_RC=$?
check "interrupted, ferry exits 1" test "$FERRY_RC" = 1
check "the change is reported" ferry_output_has '"reason":"bandwidth limit set to 40 MiB/s"'
# 10 MiB/s = 10485760 B/s before; 40 MiB/s after (8 digits from 10^7 up: >= 30 MiB/s)
check "samples before the change run at about 10 MiB/s" grep -qE '"mem_bps":(9[0-9]{6}|10[0-9]{6}),' "$OUT/out"
check "samples after the change run at about 40 MiB/s" grep -qE '"mem_bps":(3[2-9]|4[0-2])[0-9]{6},' "$OUT/out"
check "the guest runs on hostA" test "$(state a $g)" = running
check "the guest is not on hostB" test "$(state b $g)" = absent

remove_guest $g
done_testing
