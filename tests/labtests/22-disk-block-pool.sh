#!/bin/bash
# A guest on a block device, and a guest on a storage pool volume, each live-migrated and then
# cold-migrated back.
#
# Block device: /dev/$P-vg/t22 is a different loop device in each host's mount namespace, at the
# same path (as an LVM volume of the same name would be): the guest's bytes are streamed into
# the destination's device (it exists and is large enough), the source's device is kept (it is
# no logical volume: ferry never wipes devices), and cold the bytes are written into the device
# host to host, sha256 compared.
# Pool volume: a dir pool 'fdpool' defined on each host; the volume is created in the
# destination's pool through libvirt's storage API (same capacity and format) and streamed; the
# source's volume is deleted after the verified move.
. "$(dirname "$0")/lib.sh"

# ---- block device
g=t22-block
remove_guest $g
cleanup_block() {
    remove_guest t22-block
    for h in a b c; do lab_blockdev_remove $h t22; done
}
on_exit cleanup_block
dev=$(lab_blockdev a t22 32)
lab_blockdev b t22 32 >/dev/null
lab_blockdev c t22 40 >/dev/null
hx a qemu-io -f raw -c 'write -P 0x5b 0 8M' -c 'write -P 0x2e 20M 4M' "$dev" >/dev/null
sed -e "s|@NAME@|$g|g" -e "s|@MEM_MIB@|64|g" -e "s|@FMT@|raw|g" \
    -e "s|<disk type='file' device='disk'>|<disk type='block' device='disk'>|" \
    -e "s|<source file='@DISK@'/>|<source dev='$dev'/>|" \
    "$LAB_DIR/guests/disk.xml" >"$OUT/$g.xml"
lv a define "$OUT/$g.xml" >/dev/null
lv a start $g >/dev/null
dev_sum() { hx "$1" sh -c 'head -c 33554432 "$1" | sha256sum' sh "$dev" | cut -d' ' -f1; }

ferry xml $g --to hostB
check "ferry xml plans the block device as streamed into the same path" \
    grep -q "vda: stream (block disk, raw" "$OUT/out"
snapshot_take
ferry migrate $g --to hostC
check "block device: live migration into hostC's larger device refused before anything moves (exit 2)" \
    test "$FERRY_RC" = 2 -a "$(where $g)" = "a=running b=absent c=absent"
check "block device: the refusal names the device and both sizes" \
    ferry_output_has "block device '$dev' on 'hostC' has 41943040 bytes, the source's 33554432"
check "block device: nothing changed on the hosts" unchanged_since_snapshot
ferry migrate $g --to hostB
check "block device: live migration to hostB exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "block device: guest runs on hostB only" only_on b $g running
lv b suspend $g >/dev/null
src_sum=$(dev_sum a)
check "block device: hostB's device holds the guest's bytes (sha256 of the first 32 MiB)" \
    test "$(dev_sum b)" = "$src_sum"
check "block device: hostA's device is kept (no logical volume: never wiped)" \
    test "$(file_state a "$dev")" = present
lv b destroy $g >/dev/null
hx b qemu-io -f raw -c 'write -P 0x77 4M 1M' "$dev" >/dev/null
moved_sum=$(dev_sum b)
ferry migrate $g --to hostA
check "block device: cold migration back to hostA exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "block device: defined on hostA only, shut off" only_on a $g "shut off"
check "block device: hostA's device holds hostB's bytes (sha256 of the first 32 MiB)" \
    test "$(dev_sum a)" = "$moved_sum"
check "block device: ferry says it wrote into the device" ferry_output_has "copied disk vda into '$dev' on hostA"

# ---- storage pool volume
g=t22-vol
vol=$g.qcow2
pool_dir=/var/lib/libvirt/pool-fd
remove_guest $g
cleanup_pool() {
    remove_guest t22-vol
    for h in a b; do
        lv $h vol-delete --pool fdpool t22-vol.qcow2 >/dev/null 2>&1 || true
        lv $h pool-destroy fdpool >/dev/null 2>&1 || true
        lv $h pool-undefine fdpool >/dev/null 2>&1 || true
    done
}
on_exit cleanup_pool
for h in a b; do
    lv $h pool-info fdpool >/dev/null 2>&1 || {
        lv $h pool-define-as fdpool dir --target $pool_dir >/dev/null
        lv $h pool-build fdpool >/dev/null
        lv $h pool-start fdpool >/dev/null
    }
done
# rollback first: a guest with a pool volume and a disk in a directory hostB lacks, whose serial
# file hostB cannot open (its directory exists on hostA only), fails on hostB after ferry made
# the volume, the directory and the image there: all three go again
f=t22-fail
lv a vol-create-as fdpool $f.qcow2 16M --format qcow2 >/dev/null
hx a sh -ec 'mkdir -p /var/lib/libvirt/t22-dir /var/lib/libvirt/t22-only-a
    qemu-img create -q -f qcow2 /var/lib/libvirt/t22-dir/$1.qcow2 16M' sh $f
on_exit "remove_guest $f; lv a vol-delete --pool fdpool $f.qcow2 >/dev/null 2>&1 || true; hx a rm -rf /var/lib/libvirt/t22-dir /var/lib/libvirt/t22-only-a || true"
sed -e "s|@NAME@|$f|g" -e "s|@MEM_MIB@|64|g" -e "s|@FMT@|qcow2|g" \
    -e "s|<disk type='file' device='disk'>|<disk type='volume' device='disk'>|" \
    -e "s|<source file='@DISK@'/>|<source pool='fdpool' volume='$f.qcow2'/>|" \
    -e "s|/var/log/libvirt/qemu/$f.serial.log|/var/lib/libvirt/t22-only-a/serial.log|" \
    -e "s|</devices>|<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/t22-dir/$f.qcow2'/><target dev='vdb' bus='virtio'/></disk></devices>|" \
    "$LAB_DIR/guests/disk.xml" >"$OUT/$f.xml"
lv a define "$OUT/$f.xml" >/dev/null
lv a start $f >/dev/null
ferry migrate $f --to hostB
check "rollback: the move fails on hostB (exit 1), the guest runs on hostA only" \
    test "$FERRY_RC $(where $f)" = "1 a=running b=absent c=absent"
check "rollback: ferry had created the volume and the directory on hostB" \
    ferry_output_has "created directory '/var/lib/libvirt/t22-dir'"
check "rollback: hostB's pool has no volume left (deleted through libvirt)" \
    test "$(lv b vol-list fdpool | grep -c $f)" = 0
check "rollback: the directory ferry made on hostB is gone" \
    test "$(file_state b /var/lib/libvirt/t22-dir)" = absent
remove_guest $f

lv a vol-create-as fdpool $vol 32M --format qcow2 >/dev/null
hx a qemu-io -f qcow2 -c 'write -P 0x6c 0 6M' "$pool_dir/$vol" >/dev/null
sed -e "s|@NAME@|$g|g" -e "s|@MEM_MIB@|64|g" -e "s|@FMT@|qcow2|g" \
    -e "s|<disk type='file' device='disk'>|<disk type='volume' device='disk'>|" \
    -e "s|<source file='@DISK@'/>|<source pool='fdpool' volume='$vol'/>|" \
    "$LAB_DIR/guests/disk.xml" >"$OUT/$g.xml"
lv a define "$OUT/$g.xml" >/dev/null
lv a start $g >/dev/null
vol_sum() {
    local s
    s=$(hx "$1" sh -ec 't=$(mktemp); qemu-img convert -U -f qcow2 -O raw "$1" "$t"; sha256sum <"$t"; rm -f "$t"' \
        sh "$pool_dir/$vol") || s=""
    s=${s%% *}
    [[ $s =~ ^[0-9a-f]{64}$ ]] || { echo "# cannot hash $vol on host${1^^}" >&2; exit 1; }
    echo "$s"
}

ferry migrate $g --to hostB
check "pool volume: live migration to hostB exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "pool volume: guest runs on hostB only" only_on b $g running
check "pool volume: hostB's pool knows the volume (created through libvirt)" \
    eval "lv b vol-key --pool fdpool $vol >/dev/null"
check "pool volume: hostB keeps the definition with the pool volume (not the file it ran on)" \
    grep -q "<source pool='fdpool' volume='$vol'/>" <<<"$(lv b dumpxml --inactive $g)"
check "pool volume: hostA's volume deleted after the verified move" \
    test "$(file_state a "$pool_dir/$vol")" = absent
lv b destroy $g >/dev/null
moved_sum=$(vol_sum b)
check "pool volume: hostB's volume holds the guest's data (pattern at 0..6 MiB)" \
    grep -q "^read 6291456/6291456" <<<"$(hx b qemu-io -f qcow2 -c 'read -P 0x6c 0 6M' "$pool_dir/$vol")"
ferry migrate $g --to hostA
check "pool volume: cold migration back to hostA exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "pool volume: defined on hostA only, shut off" only_on a $g "shut off"
lv a pool-refresh fdpool >/dev/null
check "pool volume: hostA's pool knows the volume again" eval "lv a vol-key --pool fdpool $vol >/dev/null"
check "pool volume: contents identical after the round trip (sha256 of the guest-visible bytes)" \
    test "$(vol_sum a)" = "$moved_sum"
check "pool volume: hostB's volume deleted" test "$(file_state b "$pool_dir/$vol")" = absent
done_testing
