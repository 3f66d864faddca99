#!/bin/bash
# hostC keeps guest disks in another directory and names its guest bridge differently: the
# guest must arrive running from the rewritten disk path, on the rewritten bridge, in both its
# live and its saved definition.  `ferry xml` shows the same rewrite and changes nothing.
. "$(dirname "$0")/lib.sh"
g=t25-nic
remove_guest $g
"$LAB_DIR/guest.sh" create $g local-nic a --no-start
before=$(checksum $g a)
lv a start $g >/dev/null
dst_img=$(image_path c $g) # /var/lib/libvirt/images-c/...

snapshot_take
ferry xml $g --to hostC --xml-only
check "ferry xml shows the destination path" grep -q "$dst_img" "$OUT/out"
check "ferry xml shows the destination bridge" grep -q "bridge='br-vm'" "$OUT/out"
check "ferry xml changed nothing on any host (domains and files)" unchanged_since_snapshot

ferry migrate $g --to hostC
check "ferry migrate $g --to hostC exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "guest runs on hostC, and only there" only_on c $g running
check "guest is gone from hostA" test "$(state a $g)" = absent
check "source copy removed from hostA" image_absent a $g
check "hostC has the disk at its own path" image_exists c $g
check "nothing was made under hostA's layout on hostC (/var/lib/libvirt/images)" \
    test "$(file_state c /var/lib/libvirt/images)" = absent
xml_has() {
    local x
    x=$(lv c dumpxml $1 $g) || return 1
    grep -q "$2" <<<"$x"
}
check "live definition uses the hostC path" xml_has "" "$dst_img"
check "saved definition uses the hostC path" xml_has --inactive "$dst_img"
check "live definition uses bridge br-vm" xml_has "" "bridge='br-vm'"
check "saved definition uses bridge br-vm" xml_has --inactive "bridge='br-vm'"
# the guest's own NIC (as libvirt names it on hostC) is a port of br-vm in hostC's network
nic_on_bridge() {
    local ifs nic ports
    ifs=$(lv c domiflist $g) || return 1
    nic=$(awk '$2 == "bridge" && $3 == "br-vm" { print $1 }' <<<"$ifs")
    ports=$(ip -n "$P-c" -o link show master br-vm) || return 1
    [ -n "$nic" ] && grep -q " $nic[:@]" <<<"$ports"
}
check "the guest's NIC is on br-vm on hostC" nic_on_bridge
check "qemu on hostC opened the rewritten path" qemu_opened c $g "$dst_img"
lv c destroy $g >/dev/null
after=$(checksum $g c)
check "disk content identical at the new path" test "$before" = "$after"
remove_guest $g
done_testing
