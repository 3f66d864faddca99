#!/bin/bash
# Cold migration of shut-off guests: ferry copies the disks itself (checksum-verified, host to
# host over the checked ssh trust), points a copied overlay at the destination's own backing
# path, and libvirt moves the definition (VIR_MIGRATE_OFFLINE).  The guest arrives shut off,
# defined once, with an identical disk, and starts there.
. "$(dirname "$0")/lib.sh"
g=t65-cold
remove_guest $g
"$LAB_DIR/guest.sh" create $g overlay a --no-start
before=$(checksum $g a)

ferry migrate $g --to hostB --mode block
check "--mode block on a shut-off guest: exit 2" test "$FERRY_RC" = 2
check "... says it moves cold" ferry_output_has "is shut off (it moves cold)"

ferry migrate $g --to hostC
check "cold migration to hostC: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "summary says cold" ferry_output_has "mode:       cold"
check "the disk was copied and checksummed" grep -q "copied disk vda to '/var/lib/libvirt/images-c/$g.qcow2' on hostC (.*sha256 [0-9a-f]\{64\})" "$OUT/err"
check "guest is defined, shut off, on hostC" test "$(state c $g)" = "shut off"
check "guest is persistent on hostC" persistent c $g
check "guest is gone from hostA" test "$(state a $g)" = absent
check "source copy removed from hostA" image_absent a $g
backing=$(hx c qemu-img info --output=json /var/lib/libvirt/images-c/$g.qcow2 | grep -o '"backing-filename": "[^"]*"')
check "the copied overlay backs onto hostC's base image" \
    test "$backing" = '"backing-filename": "/var/lib/libvirt/images-c/base.qcow2"'
after=$(checksum $g c)
check "guest-visible disk content identical on hostC" test "$before" = "$after"
[ "$before" = "$after" ] || { hx c ls -la /var/lib/libvirt/images-c; diag "$OUT/err"; } | sed 's/^/# /'
lv c start $g >/dev/null 2>&1
check "the guest starts on hostC" test "$(state c $g)" = running

lv c destroy $g >/dev/null
ferry migrate $g --to hostA --mode cold --no-p2p
check "cold migration back, managed (--no-p2p): exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "guest is shut off on hostA" test "$(state a $g)" = "shut off"
check "guest is gone from hostC" test "$(state c $g)" = absent
back=$(checksum $g a)
check "disk identical after the round trip" test "$before" = "$back"

lv a start $g >/dev/null
ferry migrate $g --to hostB --mode cold
check "--mode cold on a running guest: exit 2" test "$FERRY_RC" = 2
check "... says it needs a shut-off guest" ferry_output_has "needs a shut-off guest"
remove_guest $g
done_testing
