#!/bin/bash
# A guest whose disk is on the storage host (NBD) moves without a disk copy, and back.
. "$(dirname "$0")/lib.sh"
g=t30-shared
remove_guest $g
"$LAB_DIR/guest.sh" create $g shared a nbd1

ferry migrate $g --to hostB
check "ferry migrate $g --to hostB exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "mode chosen is shared" ferry_output_has "mode:       shared"
check "no disk bytes copied" grep -qE 'disk: +0 B' "$OUT/out"
check "guest runs on hostB" test "$(state b $g)" = running
check "guest is gone from hostA" test "$(state a $g)" = absent

ferry migrate $g --to hostA --mode block
check "--mode block on a shared-only guest is refused" test "$FERRY_RC" = 2
check "... saying there is no local disk" ferry_output_has "no local writable disk to stream"
check "... and the guest still runs on hostB" test "$(state b $g)" = running

ferry migrate $g --to hostA --no-p2p
check "managed (--no-p2p) migration back to hostA exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "summary says managed" ferry_output_has "managed by ferry"
check "guest runs on hostA" test "$(state a $g)" = running
check "guest is gone from hostB" test "$(state b $g)" = absent
remove_guest $g
done_testing
