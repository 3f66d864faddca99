#!/bin/bash
# hostC keeps guest disks in another directory and names its guest bridge differently: the
# guest must arrive running from the rewritten disk path, on the rewritten bridge, in both its
# live and its saved definition.
. "$(dirname "$0")/lib.sh"
g=t25-nic
remove_guest $g
"$LAB_DIR/guest.sh" create $g local-nic a --no-start
before=$(checksum $g a)
lv a start $g >/dev/null

ferry xml $g --to hostC --xml-only
check "ferry xml shows the destination path" grep -q "/var/lib/libvirt/images-c/$g.qcow2" "$OUT/out"
check "ferry xml shows the destination bridge" grep -q "bridge='br-vm'" "$OUT/out"
check "ferry xml changed nothing" test "$(state a $g)" = running

ferry migrate $g --to hostC
check "ferry migrate $g --to hostC exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "guest runs on hostC" test "$(state c $g)" = running
check "guest is gone from hostA" test "$(state a $g)" = absent
xml_has() { lv c dumpxml $1 $g | grep -q "$2"; }
check "live definition uses the hostC path" xml_has "" "/var/lib/libvirt/images-c/$g.qcow2"
check "saved definition uses the hostC path" xml_has --inactive "/var/lib/libvirt/images-c/$g.qcow2"
check "live definition uses bridge br-vm" xml_has "" "bridge='br-vm'"
check "saved definition uses bridge br-vm" xml_has --inactive "bridge='br-vm'"
nic_on_bridge() { ip -n "$P-c" link show master br-vm | grep -q vnet; }
check "the guest's NIC is on br-vm on hostC" nic_on_bridge
qemu_opened() { hx c pgrep -af qemu-system | grep "$g" | grep -q "images-c/$g.qcow2"; }
check "qemu on hostC opened the rewritten path" qemu_opened
lv c destroy $g >/dev/null
after=$(checksum $g c)
check "disk content identical at the new path" test "$before" = "$after"
remove_guest $g
done_testing
