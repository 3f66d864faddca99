#!/bin/bash
# Hostile names -- spaces, quotes, $(...), ';' in the domain name, the disk path and the backing
# file path (copied host to host, so quoted twice) -- reach no shell: nothing is executed (the
# file every injection would create is not there; run by a shell, one does create it), and the
# migration works: the backing file's bytes went from hostA to hostB (hostB's packet counters),
# the disk is at the same hostile path on hostB and gone from hostA.  Also newlines and quotes in
# a --dir for `ferry check shared`, whose answer the hosts confirm.
. "$(dirname "$0")/lib.sh"
shopt -u patsub_replacement 2>/dev/null || true

# Every injection attempt touches ~/ferry-pwned-t62 (no '/' in it: these are also file and
# domain names, where '/' is a directory separator or refused).
pwned=/root/ferry-pwned-t62
rm -f "$pwned"
inject='$(cd;touch ferry-pwned-t62)'
name="t62 it's \"q\" $inject; \`cd;touch ferry-pwned-t62\`"
dir="/var/lib/libvirt/images/t62 dir $inject 'a' \"b\""
base="$dir/base $inject.qcow2"
disk="$dir/disk;cd;touch ferry-pwned-t62;\`cd;touch ferry-pwned-t62\`.qcow2"

xml_escape() {
    local s=$1
    s=${s//&/&amp;}
    s=${s//</&lt;}
    s=${s//>/&gt;}
    s=${s//\"/&quot;}
    s=${s//\'/&apos;}
    printf '%s' "$s"
}
cleanup() {
    for h in $LAB_HOSTS; do
        lv "$h" destroy "$name" >/dev/null 2>&1 || true
        lv "$h" undefine "$name" >/dev/null 2>&1 || true
        hx "$h" rm -rf -- "$dir"
        rm -f "$pwned"
    done
}
on_exit 'cleanup'
cleanup

hx a mkdir -p -- "$dir"
hx a qemu-img create -q -f qcow2 -- "$base" 32M
hx a qemu-io -f qcow2 -c 'write -P 0x77 0 2M' -- "$base" >/dev/null
hx a qemu-img create -q -f qcow2 -F qcow2 -b "$base" -- "$disk" 32M
hx a qemu-io -f qcow2 -c 'write -P 0x11 4M 1M' -- "$disk" >/dev/null
xml=$(cat "$LAB_DIR/guests/disk.xml")
xml=${xml//@NAME@/$(xml_escape "$name")}
xml=${xml//@MEM_MIB@/64}
xml=${xml//@DISK@/$(xml_escape "$disk")}
xml=${xml//@FMT@/qcow2}
printf '%s\n' "$xml" >"$OUT/t62.xml"
lv a define "$OUT/t62.xml" >/dev/null
lv a start "$name" >/dev/null
check "hostile guest runs on hostA" test "$(state a "$name")" = running
want=$(file_sha a "$base")
size=$(hx a stat -c %s -- "$base")
net_watch b a 22
net_watch b op 22
# the detector works: the injection, run by a shell on a host, does create $pwned
hx a sh -c "echo $inject" >/dev/null
check "the injection run by a shell does create $pwned (the check below can see it)" test -e "$pwned"
rm -f "$pwned"

ferry migrate "$name" --to hostB
check "migrate hostile guest (backing file missing on hostB): exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "its backing file was copied host to host" grep -q "copied backing file .*host-to-host" "$OUT/err"
from_a=$(net_bytes b a 22) from_op=$(net_bytes b op 22)
check "hostB's ssh received its $size bytes from hostA ($from_a bytes), not from the operator ($from_op)" \
    test "$from_a" -ge "$size" -a "$from_op" -lt "$size"
check "the copy on hostB has the same sha256" test "$(file_sha b "$base")" = "$want"
check "guest runs on hostB, and only there" only_on b "$name" running
check "guest gone from hostA" test "$(state a "$name")" = absent
check "its disk is at the same hostile path on hostB, and gone from hostA" \
    test "$(file_state b "$disk")/$(file_state a "$disk")" = present/absent
check "nothing was executed (no $pwned)" test ! -e "$pwned"

# -- check shared with hostile directory names, one of them with a newline
hostile_dir="$dir/sub"$'\n'"line $inject"
hx a mkdir -p -- "$hostile_dir"
hx b mkdir -p -- "$hostile_dir"
ferry check shared --from hostA --to hostB --dir "$hostile_dir"
check "check shared on a hostile directory: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/out" "$OUT/err"
check "... not shared" grep -q ": not shared between hostA and hostB" "$OUT/out"
# empty_dir HOST DIR: DIR exists on HOST and holds nothing
empty_dir() {
    local l
    l=$(hx "$1" ls -A -- "$2") || return 1
    [ -z "$l" ]
}
no_marker() { empty_dir a "$hostile_dir" && empty_dir b "$hostile_dir"; }
check "... left no marker file (on hostA or hostB)" no_marker
hx a touch -- "$hostile_dir/probe"
seen_on_b=$(file_state b "$hostile_dir/probe")
hx a rm -f -- "$hostile_dir/probe"
check "... the hosts agree: a file made there on hostA is not on hostB" test "$seen_on_b" = absent
check "nothing was executed (no $pwned)" test ! -e "$pwned"
done_testing
