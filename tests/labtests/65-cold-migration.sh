#!/bin/bash
# Cold migration of shut-off guests: ferry copies the disks itself (checksum-verified, host to
# host over the checked ssh trust), points a copied overlay at the destination's own backing
# path, and moves the definition (defined on the destination, then undefined on the source).  The guest arrives shut off,
# defined once, with an identical disk, and starts there.  The hosts say so too: the sha256
# ferry reports is the source file's, the bytes went from hostA's ssh to hostC's, neither host
# ran the guest while it moved, and refusals change nothing.
. "$(dirname "$0")/lib.sh"
g=t65-cold
remove_guest $g
"$LAB_DIR/guest.sh" create $g overlay a --no-start
before=$(checksum $g a)
src_sum=$(file_sha a "$(image_path a $g)")
src_size=$(hx a stat -c %s "$(image_path a $g)")
net_watch c a 22
net_watch c op 22

snapshot_take
ferry migrate $g --to hostB --mode block
check "--mode block on a shut-off guest: exit 2" test "$FERRY_RC" = 2
check "... says it moves cold" ferry_output_has "is shut off (it moves cold)"
check "... nothing changed on any host (domains and files)" unchanged_since_snapshot

events_start a
events_start c
ferry migrate $g --to hostC
check "cold migration to hostC: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "summary says cold" ferry_output_has "mode:       cold"
sleep 0.3
ran=$({ events a $g; events c $g; } | grep -E ' lifecycle (Started|Resumed)' || true)
defined=$(event_time c $g '^lifecycle Defined' || true)
check "cold: hostC defined the guest, and neither hostA nor hostC ran it while it moved (no Started/Resumed event)" \
    test -n "$defined" -a -z "$ran"
watch_stop
check "the disk was copied and checksummed" grep -q "copied disk vda to '/var/lib/libvirt/images-c/$g.qcow2' on hostC (.*sha256 [0-9a-f]\{64\})" "$OUT/err"
said=$(grep -o "copied disk vda to .*sha256 [0-9a-f]\{64\}" "$OUT/err" | grep -o '[0-9a-f]\{64\}$' || true)
check "... the sha256 it reports is the source file's, as hostA computes it" test "${said:-x}" = "$src_sum"
from_a=$(net_bytes c a 22) from_op=$(net_bytes c op 22)
check "... host to host: hostC's ssh received the $src_size bytes from hostA ($from_a), not from the operator ($from_op)" \
    test "$from_a" -ge "$src_size" -a "$from_op" -lt "$src_size"
check "guest is defined, shut off, on hostC, and only there" only_on c $g "shut off"
check "guest is persistent on hostC" persistent c $g
check "guest is gone from hostA" test "$(state a $g)" = absent
check "source copy removed from hostA" image_absent a $g
backing=$(hx c qemu-img info --output=json /var/lib/libvirt/images-c/$g.qcow2 | grep -o '"backing-filename": "[^"]*"')
check "the copied overlay backs onto hostC's base image" \
    test "$backing" = '"backing-filename": "/var/lib/libvirt/images-c/base.qcow2"'
after=$(checksum $g c)
check "guest-visible disk content identical on hostC" test "$before" = "$after"
[ "$before" = "$after" ] || { hx c ls -la /var/lib/libvirt/images-c | sed 's/^/# /'; diag "$OUT/err"; }
starts_on_c() { lv c start $g >/dev/null && test "$(state c $g)" = running; }
check "the guest starts on hostC" starts_on_c
check "... from hostC's copy" qemu_opened c $g "$(image_path c $g)"

lv c destroy $g >/dev/null
ferry migrate $g --to hostA --mode cold --no-p2p
check "cold migration back, managed (--no-p2p): exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "guest is shut off on hostA, and only there" only_on a $g "shut off"
check "guest is gone from hostC" test "$(state c $g)" = absent
check "hostC's copy removed" image_absent c $g
back=$(checksum $g a)
check "disk identical after the round trip" test "$before" = "$back"

lv a start $g >/dev/null
snapshot_take
ferry migrate $g --to hostB --mode cold
check "--mode cold on a running guest: exit 2" test "$FERRY_RC" = 2
check "... says it needs a shut-off guest" ferry_output_has "needs a shut-off guest"
check "... nothing changed on any host (domains and files)" unchanged_since_snapshot
remove_guest $g
done_testing
