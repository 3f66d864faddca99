#!/bin/bash
# tests/lab/guest.sh create NAME KIND HOST [ARG] [--no-start]
#   KIND local    qcow2 disk in the host's images dir, NAME.qcow2 (64 MiB) holding a known
#                 pattern (bytes 0xa5 over the first 8 MiB, 0x3c over 16..20 MiB)
#        local-nic like local, plus a NIC on the host's guest bridge
#        overlay  qcow2 overlay NAME.qcow2 on base.qcow2 (base must exist on every host),
#                 with 0xc3 over 1..3 MiB written into the overlay
#        shared   disk on the storage host's NBD export ARG (default nbd0)
#        dirty    the memory-dirtying kernel; ARG is its command line (default "mib=64")
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
    dirty)
        [ -e "$LAB/$h/lib/images/dirty.elf" ] || cp "$LAB/kernel/dirty.elf" "$LAB/$h/lib/images/dirty.elf"
        MEM_MIB=${MEM_MIB:-128} fill -e "s|@CMDLINE@|${arg:-mib=64}|g" "$LAB_DIR/guests/dirty.xml" >"$xml"
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
    hx "$h" sh -c 't=$(mktemp) && qemu-img convert -U -O raw "$1" "$t" && sha256sum <"$t" | cut -d" " -f1; rc=$?; rm -f "$t"; exit $rc' sh "$img"
    ;;
*)
    sed -n '2,13p' "$0" >&2
    exit 2
    ;;
esac
