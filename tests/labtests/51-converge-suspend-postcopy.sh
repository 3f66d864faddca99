#!/bin/bash
# The memory-dirtying guest on a shaped link converges with ferry's policy: suspended at the
# timeout it completes and runs (resumed) on the destination; switched to post-copy it completes
# too, with a short downtime.  The time ferry kept it suspended is reported.
. "$(dirname "$0")/lib.sh"
g=t51-dirty
remove_guest $g
"$LAB_DIR/guest.sh" create $g dirty a "mib=64"
on_exit '"$LAB_DIR/shape.sh" off'
# 80mbit on every link (10 MB/s), and --bandwidth 10 caps QEMU below it: no convergence.
"$LAB_DIR/shape.sh" 80mbit
sleep 1

ferry migrate $g --to hostB --bandwidth 10 --timeout 5
check "ferry --timeout 5 (suspend by default) exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "summary: the policy suspended it at the timeout" \
    grep -qE 'policy: +suspend at [0-9.]+ s \(completion timeout 5.0 s' "$OUT/out"
check "summary: the suspended time is reported" grep -qE 'suspended: +[0-9]+\.[0-9]+ s by ferry' "$OUT/out"
check "summary: iterations and throughput" grep -qE 'throughput: +[0-9.]+ [KM]iB/s' "$OUT/out"
check "progress showed the guest paused" grep -qF '[paused]' "$OUT/err"
check "guest runs on hostB" test "$(state b $g)" = running
check "guest is gone from hostA" test "$(state a $g)" = absent
grep -q "pass [0-9]" "$OUT/err" || diag "$OUT/err"

ferry migrate $g --to hostA --bandwidth 10 --timeout 4 --postcopy --on-timeout postcopy --json
check "ferry --postcopy --on-timeout postcopy exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "JSON: a postcopy policy event" ferry_output_has '"action":"postcopy"'
check "JSON: a sample in post-copy" ferry_output_has '"postcopy":true'
check "JSON: the result says final_action postcopy" \
    sh -c "tail -1 '$OUT/out' | grep -q '\"ok\":true.*\"final_action\":\"postcopy\"'"
check "JSON: not suspended" sh -c "tail -1 '$OUT/out' | grep -q '\"suspended_s\":0'"
check "guest runs on hostA" test "$(state a $g)" = running
check "guest is gone from hostB" test "$(state b $g)" = absent

remove_guest $g
done_testing
