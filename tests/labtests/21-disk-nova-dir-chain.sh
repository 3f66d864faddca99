#!/bin/bash
# Local disks outside images_dir, and backing chains deeper than one, live-migrated and then
# cold-migrated.
#
# Nova instance directory: /var/lib/nova/instances/UUID/disk (a qcow2 overlay on Nova's
# instances/_base/HASH, raw) with disk.info, console.log and libvirt.xml beside it, in each
# host's own /var/lib/nova (a directory of $LAB bind-mounted in the host's mount namespace).
# No path mapping applies: the disk keeps its path; the directory is made on the destination
# with the source's owner and mode; _base, disk.info and console.log follow, libvirt.xml does not.
# Two-level chain: top.qcow2 -> mid.qcow2 -> base.raw in hostA's images dir, moved to hostC
# (another images dir: every copied layer is rebased onto hostC's paths), then cold to hostB.
. "$(dirname "$0")/lib.sh"

# ---- Nova instance directory
g=t21-nova
uuid=21212121-0000-4000-8000-000000000021
inst=/var/lib/nova/instances/$uuid
base=/var/lib/nova/instances/_base/8d1e6a2c4b3f5e7d9a0b1c2d3e4f5a6b7c8d9e0f
cleanup_nova() {
    remove_guest t21-nova
    for h in a b; do hx $h sh -c 'mountpoint -q /var/lib/nova && umount /var/lib/nova' || true; done
}
on_exit cleanup_nova
remove_guest $g
for h in a b; do
    mkdir -p "$LAB/$h/nova"
    # (the mount point: /var/lib/nova of this machine, made when Nova's packages are absent)
    hx $h sh -ec 'mkdir -p /var/lib/nova; mountpoint -q /var/lib/nova || mount --bind "$1" /var/lib/nova' sh "$LAB/$h/nova"
done
hx a sh -ec '
    mkdir -p "$1" "$(dirname "$2")"
    qemu-img create -q -f raw "$2" 8M
    qemu-io -f raw -c "write -P 0x4e 0 4M" "$2" >/dev/null
    qemu-img create -q -f qcow2 -F raw -b "$2" "$1/disk"
    qemu-io -f qcow2 -c "write -P 0x6f 5M 2M" "$1/disk" >/dev/null
    printf "{\"%s/disk\": \"qcow2\"}" "$1" >"$1/disk.info"
    echo "<domain/>" >"$1/libvirt.xml"
    chown 123:456 "$1"
    chmod 0750 "$1"' sh "$inst" "$base"
sed -e "s|@NAME@|$g|g" -e "s|@MEM_MIB@|64|g" -e "s|@FMT@|qcow2|g" -e "s|@DISK@|$inst/disk|" \
    -e "s|<name>$g</name>|<name>$g</name><uuid>$uuid</uuid>|" \
    -e "s|/var/log/libvirt/qemu/$g.serial.log|$inst/console.log|" \
    "$LAB_DIR/guests/disk.xml" >"$OUT/$g.xml"
lv a define "$OUT/$g.xml" >/dev/null
disk_sum() {
    local s
    s=$(hx "$1" sh -ec 't=$(mktemp); qemu-img convert -U -f qcow2 -O raw "$1" "$t"; sha256sum <"$t"; rm -f "$t"' \
        sh "$2") || s=""
    s=${s%% *}
    [[ $s =~ ^[0-9a-f]{64}$ ]] || { echo "# cannot hash $2 on host${1^^}" >&2; exit 1; }
    echo "$s"
}
before=$(disk_sum a "$inst/disk")
base_sum=$(file_sha a "$base")
info_sum=$(file_sha a "$inst/disk.info")
lv a start $g >/dev/null

ferry migrate $g --to hostB
check "nova dir: live migration to hostB exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "nova dir: guest runs on hostB only" only_on b $g running
check "nova dir: the disk kept its path on hostB" qemu_opened b $g "$inst/disk"
check "nova dir: hostB's instance directory has hostA's owner and mode (123:456 750)" \
    test "$(hx b stat -c '%u:%g %a' "$inst")" = "123:456 750"
check "nova dir: Nova's _base image copied to hostB (sha256)" test "$(file_sha b "$base")" = "$base_sum"
check "nova dir: disk.info copied to hostB (sha256)" test "$(file_sha b "$inst/disk.info")" = "$info_sum"
check "nova dir: console.log is on hostB" test "$(file_state b "$inst/console.log")" = present
check "nova dir: libvirt.xml is not copied" test "$(file_state b "$inst/libvirt.xml")" = absent
check "nova dir: hostA's stale disk removed, its _base kept" \
    test "$(file_state a "$inst/disk") $(file_state a "$base")" = "absent present"
lv b destroy $g >/dev/null
check "nova dir: guest-visible disk content identical on hostB" test "$(disk_sum b "$inst/disk")" = "$before"
ferry migrate $g --to hostA
check "nova dir: cold migration back to hostA exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "nova dir: defined on hostA only, shut off" only_on a $g "shut off"
check "nova dir: guest-visible disk content identical back on hostA" \
    test "$(disk_sum a "$inst/disk")" = "$before"
check "nova dir: hostB's stale disk removed" test "$(file_state b "$inst/disk")" = absent

# ---- two-level backing chain
g=t21-chain
dir_a=$(lab_images_dir a)
dir_c=$(lab_images_dir c)
cleanup_chain() {
    remove_guest t21-chain
    for h in a b c; do
        hx $h sh -c 'rm -f "$1/t21-mid.qcow2" "$1/t21-base.raw"' sh "$(lab_images_dir $h)" || true
    done
}
on_exit cleanup_chain
remove_guest $g
hx a sh -ec '
    cd "$1"
    qemu-img create -q -f raw t21-base.raw 8M
    qemu-io -f raw -c "write -P 0x11 0 4M" t21-base.raw >/dev/null
    qemu-img create -q -f qcow2 -F raw -b "$1/t21-base.raw" t21-mid.qcow2
    qemu-io -f qcow2 -c "write -P 0x22 4M 1M" t21-mid.qcow2 >/dev/null
    qemu-img create -q -f qcow2 -F qcow2 -b "$1/t21-mid.qcow2" t21-chain.qcow2
    qemu-io -f qcow2 -c "write -P 0x33 6M 1M" t21-chain.qcow2 >/dev/null' sh "$dir_a"
sed -e "s|@NAME@|$g|g" -e "s|@MEM_MIB@|64|g" -e "s|@FMT@|qcow2|g" -e "s|@DISK@|$dir_a/$g.qcow2|" \
    "$LAB_DIR/guests/disk.xml" >"$OUT/$g.xml"
lv a define "$OUT/$g.xml" >/dev/null
before=$(checksum $g a)
base_sum=$(file_sha a "$dir_a/t21-base.raw")
lv a start $g >/dev/null
backing_of() { hx "$1" qemu-img info -U --output=json "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("backing-filename", ""))'; }

ferry migrate $g --to hostC
check "chain: live migration to hostC exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "chain: guest runs on hostC only" only_on c $g running
check "chain: the base layer copied to hostC (sha256)" test "$(file_sha c "$dir_c/t21-base.raw")" = "$base_sum"
check "chain: hostC's middle layer backs onto hostC's base" \
    test "$(backing_of c "$dir_c/t21-mid.qcow2")" = "$dir_c/t21-base.raw"
check "chain: hostC's top backs onto hostC's middle layer" \
    test "$(backing_of c "$dir_c/$g.qcow2")" = "$dir_c/t21-mid.qcow2"
lv c destroy $g >/dev/null
check "chain: guest-visible disk content identical on hostC" test "$(checksum $g c)" = "$before"
ferry migrate $g --to hostB
check "chain: cold migration to hostB exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "chain: defined on hostB only, shut off" only_on b $g "shut off"
check "chain: every layer on hostB backs onto hostB's own paths" \
    test "$(backing_of b "$(image_path b $g)") $(backing_of b "$(lab_images_dir b)/t21-mid.qcow2")" = \
    "$(lab_images_dir b)/t21-mid.qcow2 $(lab_images_dir b)/t21-base.raw"
check "chain: guest-visible disk content identical on hostB" test "$(checksum $g b)" = "$before"
done_testing
