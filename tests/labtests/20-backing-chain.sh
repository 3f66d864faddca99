#!/bin/bash
# Block migration of a guest whose disk is a qcow2 overlay on a backing image present on every
# host: only the overlay is streamed, the destination image keeps the same backing file.
. "$(dirname "$0")/lib.sh"
g=t20-overlay
remove_guest $g
"$LAB_DIR/guest.sh" create $g overlay a --no-start
before=$(checksum $g a)
lv a start $g >/dev/null

ferry migrate $g --to hostC
check "ferry migrate $g --to hostC exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "guest runs on hostC" test "$(state c $g)" = running
check "guest is gone from hostA" test "$(state a $g)" = absent
backing=$(hx c qemu-img info -U --output=json /var/lib/libvirt/images-c/$g.qcow2 | grep -o '"backing-filename": "[^"]*"')
check "destination overlay has the backing file of its own layout ($backing)" \
    test "$backing" = '"backing-filename": "/var/lib/libvirt/images-c/base.qcow2"'
lv c destroy $g >/dev/null
after=$(checksum $g c)
check "guest-visible disk content identical on hostC" test "$before" = "$after"
remove_guest $g
done_testing
