#!/bin/bash
# Fault d: the destination's images directory is a small file system (a 40 MiB ext4 loop-mounted
# over hostB's images dir in hostB's mount namespace); the guest's disk is 64 MiB virtual with
# ~12 MiB of data.  A full copy (--mode block-full: 64 MiB) is refused by the free-space check
# before anything moves.  An incremental block migration fits when it starts, but the file
# system fills up mid-job (something else on hostB takes every free byte while the disk is being
# mirrored): ferry fails, the guest runs on its source only, not paused, its disk unchanged, and
# nothing of the migration is left on hostB (no domain, no qemu, no image).
. "$(dirname "$0")/lib.sh"

g=t95-full
I=/var/lib/libvirt/images
FS=$LAB/b/t95.ext4
# cluster_state, but the mtime of hostA's saved definition of the guest left out: libvirt writes
# it again (the same bytes: its sha256 is still compared) when a migration fails.
state_now() { cluster_state | sed -E "s|^(hostA /etc/libvirt/qemu/$g.xml [0-9]+) [0-9.]+ f$|\1 f|"; }
unchanged() {
    local now
    now=$(state_now) || return 1
    [ "$now" = "$SNAP" ] && return 0
    diff <(echo "$SNAP") <(echo "$now") | sed 's/^/# /' >&2
    return 1
}
cleanup() {
    hx b umount $I 2>/dev/null || true
    rm -f "$FS"
    remove_guest $g
}
on_exit cleanup
remove_guest $g
"$LAB_DIR/guest.sh" create $g local a
truncate -s 40M "$FS"
mkfs.ext4 -q -F "$FS"
hx b mount -o loop "$FS" $I
hx b mountpoint -q $I
free_kib=$(hx b df -k --output=avail $I | tail -1)
check "setup: hostB's images dir is a small file system (${free_kib} KiB free < the 64 MiB disk)" \
    test "$free_kib" -lt 65536
sleep 1
lv a suspend $g >/dev/null
before=$(checksum $g a)
lv a resume $g >/dev/null
SNAP=$(state_now)

# ---- a full copy does not fit: refused before anything moves ---------------------------------
ferry migrate $g --to hostB --mode block-full
check "block-full: refused, exit 2" test "$FERRY_RC" = 2
[ "$FERRY_RC" = 2 ] || diag "$OUT/out" "$OUT/err"
check "block-full: the message names hostB's free space" grep -qi "free" "$OUT/err"
check "block-full: nothing changed on any host" unchanged
check "block-full: the guest runs on hostA only" only_on a $g running

# ---- the incremental copy fits at first; hostB's file system fills up mid-job ---------------------
FERRY_RC=0
op timeout -k 30 120 "$FERRY_BIN" migrate $g --to hostB --mode block --bandwidth 1 \
    >"$OUT/out" 2>"$OUT/err" &
ferry_pid=$!
for _ in $(seq 200); do
    [ "$(file_state b $I/$g.qcow2)" = present ] && break
    sleep 0.1
done
check "mid-job: ferry created the image on hostB and the mirror runs" \
    test "$(file_state b $I/$g.qcow2)" = present
sleep 1
# every free byte taken (dd ends with ENOSPC)
hx b dd if=/dev/zero of=$I/t95-filler bs=1M status=none 2>/dev/null || true
wait "$ferry_pid" || FERRY_RC=$?
hx b rm -f $I/t95-filler
check "mid-job: ferry fails, exit 1" test "$FERRY_RC" = 1
[ "$FERRY_RC" = 1 ] || diag "$OUT/out" "$OUT/err"
check "mid-job: ferry says the guest is on its source" grep -q "on its source\|on hostA\|stays on" "$OUT/err"
check "mid-job: the guest runs on hostA only, not paused" only_on a $g running
check "mid-job: no qemu for it on hostB" test "$(qemu_count b $g)" = 0
check "mid-job: no image left on hostB, nothing else changed on any host" unchanged
check "mid-job: the failure named is the full disk" grep -q "No space left on device" "$OUT/err"
lv a suspend $g >/dev/null
check "mid-job: the disk on hostA is as before" test "$(checksum $g a)" = "$before"
lv a resume $g >/dev/null
done_testing
