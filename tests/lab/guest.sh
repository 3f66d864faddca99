#!/bin/bash
# tests/lab/guest.sh create NAME KIND HOST [ARG] [--no-start]
#   KIND local    qcow2 disk in the host's images dir, NAME.qcow2 (64 MiB) holding a known
#                 pattern (bytes 0xa5 over the first 8 MiB, 0x3c over 16..20 MiB)
#        local-nic like local, plus a NIC on the host's guest bridge
#        overlay  qcow2 overlay NAME.qcow2 on base.qcow2 (base must exist on every host),
#                 with 0xc3 over 1..3 MiB written into the overlay
#        shared   disk on the storage host's NBD export ARG (default nbd0)
#        dirty    the memory-dirtying kernel; ARG is its command line (default "mib=64")
#        dirty-disk  like dirty, plus an empty local qcow2 disk NAME.qcow2 (16 MiB) the kernel
#                 never touches: a block migration that does not converge
#   HOST is a lab host letter (a, b, c).  The guest is defined and, unless --no-start, started.
# tests/lab/guest.sh checksum NAME HOST  -- sha256 of the guest's disk image contents as the
#   guest sees them (qemu-img convert to raw), the guest must be stopped or paused.
set -euo pipefail
. "$(dirname "$0")/env.sh"

fill() {
    sed -e "s|@NAME@|$name|g" -e "s|@MEM_MIB@|${MEM_MIB:-64}|g" "$@"
}

case "${1:-}" in
create)
    name=$2 kind=$3 h=$4
    arg=${5:-}
    start=1
    for a in "$@"; do [ "$a" = --no-start ] && start=0; done
    [ "$arg" = --no-start ] && arg=""
    img=$(lab_images_dir "$h")/$name.qcow2
    xml=$LAB/$h/$name.xml
    case "$kind" in
    local)
        hx "$h" qemu-img create -q -f qcow2 "$img" 64M
        hx "$h" qemu-io -f qcow2 -c 'write -P 0xa5 0 8M' -c 'write -P 0x3c 16M 4M' "$img" >/dev/null
        fill -e "s|@DISK@|$img|g" -e "s|@FMT@|qcow2|g" "$LAB_DIR/guests/disk.xml" >"$xml"
        ;;
    local-nic)
        hx "$h" qemu-img create -q -f qcow2 "$img" 64M
        hx "$h" qemu-io -f qcow2 -c 'write -P 0xa5 0 8M' "$img" >/dev/null
        fill -e "s|@DISK@|$img|g" -e "s|@FMT@|qcow2|g" -e "s|@BRIDGE@|$(lab_bridge "$h")|g" \
            "$LAB_DIR/guests/disk-nic.xml" >"$xml"
        ;;
    overlay)
        hx "$h" qemu-img create -q -f qcow2 -F qcow2 -b "$(lab_images_dir "$h")/base.qcow2" "$img" 64M
        hx "$h" qemu-io -f qcow2 -c 'write -P 0xc3 1M 2M' "$img" >/dev/null
        fill -e "s|@DISK@|$img|g" -e "s|@FMT@|qcow2|g" "$LAB_DIR/guests/disk.xml" >"$xml"
        ;;
    shared)
        fill -e "s|@EXPORT@|${arg:-nbd0}|g" -e "s|@NBD_HOST@|$(lab_ip s)|g" "$LAB_DIR/guests/nbd.xml" >"$xml"
        ;;
    dirty | dirty-disk)
        # the kernel goes into every host's own images dir, so the guest can run wherever it is
        # migrated to (hostC keeps them in images-c: lab_images_dir)
        for o in $LAB_HOSTS; do
            hx "$o" cp "$LAB/kernel/dirty.elf" "$(lab_images_dir "$o")/dirty.elf"
        done
        MEM_MIB=${MEM_MIB:-128} fill -e "s|@CMDLINE@|${arg:-mib=64}|g" \
            -e "s|/var/lib/libvirt/images/dirty.elf|$(lab_images_dir "$h")/dirty.elf|" \
            "$LAB_DIR/guests/dirty.xml" >"$xml"
        if [ "$kind" = dirty-disk ]; then
            hx "$h" qemu-img create -q -f qcow2 "$img" 16M
            sed -i "s|</devices>|  <disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source file='$img'/><target dev='vda' bus='virtio'/></disk>\n  </devices>|" "$xml"
        fi
        ;;
    *)
        echo "guest.sh: unknown kind '$kind'" >&2
        exit 2
        ;;
    esac
    lv "$h" define "$xml" >/dev/null
    [ $start = 1 ] && lv "$h" start "$name" >/dev/null
    exit 0
    ;;
checksum)
    name=$2 h=$3
    img=$(lab_images_dir "$h")/$name.qcow2
    # Only a 64-hex sum on stdout and exit 0, or a message on stderr and exit 1: two failed
    # checksums must never compare equal.
    sum=$(hx "$h" sh -c 't=$(mktemp) || exit 1
        qemu-img convert -U -O raw "$1" "$t" && sha256sum <"$t" >"$t.sum"; rc=$?
        [ $rc = 0 ] && cut -d" " -f1 "$t.sum"
        rm -f "$t" "$t.sum"; exit $rc' sh "$img" 2>"$LAB/checksum.$$.err") && rc=0 || rc=$?
    err=$(cat "$LAB/checksum.$$.err" 2>/dev/null || true)
    rm -f "$LAB/checksum.$$.err"
    if [ $rc != 0 ] || ! [[ $sum =~ ^[0-9a-f]{64}$ ]]; then
        echo "guest.sh: cannot compute the checksum of $name's disk $img on host${h^^} (status $rc): ${err:-no sum printed}" >&2
        exit 1
    fi
    echo "$sum"
    ;;
*)
    sed -n '2,14p' "$0" >&2
    exit 2
    ;;
esac
