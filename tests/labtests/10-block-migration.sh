#!/bin/bash
# Block migration of a guest with a local disk: the disk arrives identical, the guest runs on
# the destination only, and it can come back.
. "$(dirname "$0")/lib.sh"
g=t10-local
remove_guest $g
"$LAB_DIR/guest.sh" create $g local a --no-start
before=$(checksum $g a)
lv a start $g >/dev/null

ferry migrate $g --to hostB
check "ferry migrate $g --to hostB exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "summary says block mode" ferry_output_has "mode:       block (peer-to-peer)"
check "summary reports disk bytes" grep -qE 'disk: +[1-9]' "$OUT/out"
check "summary reports downtime" grep -qE 'downtime: +[0-9]+ ms' "$OUT/out"
check "guest runs on hostB" test "$(state b $g)" = running
check "guest is persistent on hostB" persistent b $g
check "guest is gone from hostA" test "$(state a $g)" = absent
check "source copy removed from hostA" image_absent a $g

lv b destroy $g >/dev/null
after=$(checksum $g b)
check "disk content identical on hostB ($before)" test "$before" = "$after"
lv b start $g >/dev/null

ferry migrate $g --to hostA
check "migrating back to hostA exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "guest runs on hostA again" test "$(state a $g)" = running
check "guest is gone from hostB" test "$(state b $g)" = absent
lv a destroy $g >/dev/null
back=$(checksum $g a)
check "disk content identical after the round trip" test "$before" = "$back"

remove_guest $g
done_testing
