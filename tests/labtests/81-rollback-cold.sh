#!/bin/bash
# A cold migration that fails after ferry copied disks to the destination removes every copy it
# made -- the disks and the backing file it copied -- whether the failure is a later disk that
# cannot be written (a read-only directory on the destination) or libvirt refusing the
# definition after all disks were copied (the destination's config directory read-only).  On the
# hosts: the destination's images directory is exactly as before, no definition there, and the
# guest is defined, shut off, on its source only, with both disks intact.
. "$(dirname "$0")/lib.sh"

listing() {
    hx "$1" sh -ec 'cd "$1"; find . \( -type f -o -type l \) | sort | while read -r f; do
        echo "$f $(stat -c "%s %Y" "$f") $(sha256sum <"$f" | cut -c1-64)"; done' sh "$(lab_images_dir "$1")"
}
sum_disk() { hx "$1" sh -c 't=$(mktemp) && qemu-img convert -U -O raw "$1" "$t" && sha256sum <"$t" | cut -c1-64; rc=$?; rm -f "$t"; exit $rc' sh "$2"; }
ro_mount() { hx "$1" sh -ec 'mkdir -p "$1"; mount --bind "$1" "$1"; mount -o remount,bind,ro "$1"' sh "$2"; }

A=/var/lib/libvirt/images
g=t81-cold
start_libvirtd_b() {
    hx b /usr/sbin/libvirtd --listen --daemon --pid-file /run/libvirtd.pid \
        --config /etc/libvirt/libvirtd.conf
    for _ in $(seq 300); do lv b uri >/dev/null 2>&1 && return 0; sleep 0.05; done
    return 1
}
cleanup() {
    # a transient leftover (which ferry must not leave) goes only when hostB's libvirtd restarts
    if [ "$(state b $g)" = "shut off" ] && ! lv b dominfo $g | grep -q '^Persistent: *yes'; then
        kill "$(cat "$LAB/b/run/libvirtd.pid")"
        for _ in $(seq 100); do lv b uri >/dev/null 2>&1 || break; sleep 0.1; done
        start_libvirtd_b
    fi
    hx b umount "$A/t81sub" 2>/dev/null || true
    hx b rmdir "$A/t81sub" 2>/dev/null || true
    hx b umount /etc/libvirt/qemu 2>/dev/null || true
    [ -e "$LAB/b/lib/images/base.qcow2" ] || cp -p "$LAB/a/lib/images/base.qcow2" "$LAB/b/lib/images/base.qcow2"
    remove_guest $g
    hx a rm -rf "$A/t81sub"
    hx b rm -f "$A/t81-keep.qcow2"
}
on_exit cleanup
remove_guest $g

# vda: an overlay on base.qcow2 (missing on hostB: ferry copies it); vdb in $A/t81sub
hx a mkdir -p $A/t81sub
hx a qemu-img create -q -f qcow2 -F qcow2 -b $A/base.qcow2 $A/$g.qcow2 64M
hx a qemu-io -f qcow2 -c 'write -P 0x33 1M 3M' $A/$g.qcow2 >/dev/null
hx a qemu-img create -q -f qcow2 $A/t81sub/$g-b.qcow2 32M
hx a qemu-io -f qcow2 -c 'write -P 0x44 0 2M' $A/t81sub/$g-b.qcow2 >/dev/null
sed -e "s|@NAME@|$g|g" -e "s|@MEM_MIB@|64|g" -e "s|@DISK@|$A/$g.qcow2|" \
    -e "s|@DISK2@|$A/t81sub/$g-b.qcow2|" "$LAB_DIR/guests/two-disks.xml" >"$LAB/a/$g.xml"
lv a define "$LAB/a/$g.xml" >/dev/null
sum_a=$(sum_disk a $A/$g.qcow2)
sum_b=$(sum_disk a $A/t81sub/$g-b.qcow2)
files_a=$(listing a)
hx b qemu-img create -q -f qcow2 $A/t81-keep.qcow2 8M
hx b rm -f $A/base.qcow2

# ---- 1. vdb cannot be written on hostB: the base and vda were copied already -----------------
ro_mount b $A/t81sub
before_b=$(listing b)
ferry migrate $g --to hostB --json
check "1: ferry exits 1" test "$FERRY_RC" = 1
check "1: the failure names disk vdb" sh -c "tail -1 '$OUT/out' | grep -q '\"ok\":false,\"error\":{\"kind\":\"[a-z-]*\",\"message\":\"disk vdb of .$g.'"
check "1: ferry had copied the backing file and vda" \
    sh -c "grep -q \"copied backing file '$A/base.qcow2'\" '$OUT/out' && grep -q \"copied disk vda to '$A/$g.qcow2' on hostB\" '$OUT/out'"
check "1: ferry says it removed both" \
    sh -c "grep -c \"removed '$A/\(base\|$g\).qcow2' from hostB\" '$OUT/out' | grep -qx 2"
[ "$FERRY_RC" = 1 ] || diag "$OUT/err"
check "1: the copies of vda and base.qcow2 are gone from hostB" \
    test "$(file_state b $A/$g.qcow2)/$(file_state b $A/base.qcow2)" = absent/absent
check "1: hostB's images dir is exactly as before (pre-existing files untouched)" \
    test "$before_b" = "$(listing b)"
check "1: the guest is defined, shut off, on hostA only" test "$(where $g)" = "a=shut off b=absent c=absent"
check "1: hostA's images are untouched" test "$files_a" = "$(listing a)"
hx b umount $A/t81sub
hx b rmdir $A/t81sub

# ---- 2. every disk copied, then libvirt cannot store the definition on hostB -----------------
ro_mount b /etc/libvirt/qemu
before_b=$(listing b)
ferry migrate $g --to hostB --json
check "2: ferry exits 1" test "$FERRY_RC" = 1
check "2: ferry had copied the base and both disks" \
    sh -c "grep -c \"copied \(backing file '$A/base.qcow2'\|disk vda to '$A/$g.qcow2'\|disk vdb to '$A/t81sub/$g-b.qcow2'\)\" '$OUT/out' | grep -qx 3"
check "2: the failure is the migration of the definition" \
    sh -c "tail -1 '$OUT/out' | grep -q \"migration of '$g' from 'hostA' to 'hostB' failed\""
check "2: ferry says it removed all three" \
    sh -c "grep -c \"removed '$A/\(base\|$g\|t81sub/$g-b\).qcow2' from hostB\" '$OUT/out' | grep -qx 3"
[ "$FERRY_RC" = 1 ] || diag "$OUT/err"
check "2: no copy is left on hostB" \
    test "$(file_state b $A/$g.qcow2)/$(file_state b $A/t81sub/$g-b.qcow2)/$(file_state b $A/base.qcow2)" = absent/absent/absent
check "2: hostB's images dir is exactly as before" test "$before_b" = "$(listing b)"
check "2: no definition of it stored on hostB" test "$(file_state b /etc/libvirt/qemu/$g.xml)" = absent
check "2: the guest is defined, shut off and persistent, on hostA" \
    sh -c "test '$(state a $g)' = 'shut off' && virsh -q -c 'qemu+unix:///system?socket=$LAB/a/run/libvirt/libvirt-sock' dominfo $g | grep -q '^Persistent: *yes'"
check "2: ferry's error says hostB could not define it" \
    grep -q "cannot define '$g' on 'hostB'" "$OUT/err"
# ferry defines the guest on the destination itself (libvirt's define removes what it could not
# save; its offline migration left an inactive transient copy nobody could remove).
check "2: nothing of it on hostB or hostC, not even a transient shut-off leftover" \
    test "$(state b $g)/$(state c $g)" = "absent/absent"
check "2: hostA's images are untouched" test "$files_a" = "$(listing a)"
check "2: both of hostA's disks are intact" \
    test "$(sum_disk a $A/$g.qcow2)/$(sum_disk a $A/t81sub/$g-b.qcow2)" = "$sum_a/$sum_b"

done_testing
