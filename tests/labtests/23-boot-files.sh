#!/bin/bash
# Files outside <disk>: a direct-kernel guest and a UEFI guest, each live-migrated and then
# cold-migrated.
#
# Kernel: on the source only; ferry copies it to the destination before the move (sha256
# verified), keeps it where the destination already has the same bytes, and refuses, before
# anything moves, a destination whose file at that path holds other bytes.
# UEFI: OVMF (Debian's ovmf: code and template are the hosts' own); the guest's NVRAM is copied
# before the live move and with the cold one, the source's stale copy removed; an NVRAM
# template the destination lacks is refused with its path.
. "$(dirname "$0")/lib.sh"

# ---- direct kernel
g=t23-kernel
kernel_a=$(lab_images_dir a)/t23-kernel.elf
kernel_c=$(lab_images_dir c)/t23-kernel.elf
cleanup_kernel() {
    remove_guest t23-kernel
    for h in a b c; do hx $h rm -f "$(lab_images_dir $h)/t23-kernel.elf" || true; done
}
on_exit cleanup_kernel
remove_guest $g
hx a cp "$LAB/kernel/dirty.elf" "$kernel_a"
MEM_MIB=32 sed -e "s|@NAME@|$g|g" -e "s|@MEM_MIB@|32|g" -e "s|@CMDLINE@|mib=4|g" \
    -e "s|<kernel>/var/lib/libvirt/images/dirty.elf</kernel>|<kernel>$kernel_a</kernel>|" \
    "$LAB_DIR/guests/dirty.xml" >"$OUT/$g.xml"
lv a define "$OUT/$g.xml" >/dev/null
lv a start $g >/dev/null
kernel_sum=$(file_sha a "$kernel_a")

ferry migrate $g --to hostB
check "kernel: live migration to hostB exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "kernel: guest runs on hostB only" only_on b $g running
check "kernel: copied to hostB before the move (sha256)" test "$(file_sha b "$kernel_a")" = "$kernel_sum"
check "kernel: ferry says it was missing and copied" ferry_output_has "kernel '$kernel_a' is missing on hostB"
hx c sh -c 'head -c 4096 /dev/urandom >"$1"' sh "$kernel_c"
snapshot_take
ferry migrate $g --to hostC
check "kernel: a destination with other bytes at the kernel's path is refused (exit 2)" test "$FERRY_RC" = 2
check "kernel: the refusal names the path on hostC" ferry_output_has "kernel '$kernel_c' on 'hostC' is not the source's"
check "kernel: nothing moved or changed" unchanged_since_snapshot
check "kernel: guest still runs on hostB only" only_on b $g running
lv b destroy $g >/dev/null
ferry migrate $g --to hostA
check "kernel: cold migration back to hostA exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "kernel: defined on hostA only, shut off" only_on a $g "shut off"
check "kernel: hostA's own copy, the same bytes, is used as it is" \
    ferry_output_has "kernel '$kernel_a' on hostA is the source's (sha256 $kernel_sum)"
lv a start $g >/dev/null
check "kernel: the guest starts on hostA" test "$(state a $g)" = running

# ---- UEFI
g=t23-uefi
nvram=/var/lib/libvirt/qemu/nvram/${g}_VARS.fd
cleanup_uefi() { remove_guest t23-uefi; for h in a b c; do hx $h rm -f "$nvram" || true; done; }
on_exit cleanup_uefi
remove_guest $g
cat >"$OUT/$g.xml" <<XML
<domain type='qemu'>
  <name>$g</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>
    <nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>$nvram</nvram>
  </os>
  <features><acpi/></features>
  <cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model></cpu>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'><source path='/var/log/libvirt/qemu/$g.serial.log'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
XML
lv a define "$OUT/$g.xml" >/dev/null
lv a start $g >/dev/null
# paused, the firmware writes no variable: the file is what moves
lv a suspend $g >/dev/null
nvram_sum=$(file_sha a "$nvram")

ferry migrate $g --to hostB
check "uefi: live migration to hostB exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "uefi: guest on hostB only, paused as it was" only_on b $g paused
check "uefi: hostB's NVRAM is the guest's (sha256)" test "$(file_sha b "$nvram")" = "$nvram_sum"
check "uefi: hostA's stale NVRAM removed" test "$(file_state a "$nvram")" = absent
lv b resume $g >/dev/null
check "uefi: the guest runs on hostB" test "$(state b $g)" = running
lv b destroy $g >/dev/null
nvram_sum=$(file_sha b "$nvram")
ferry migrate $g --to hostA
check "uefi: cold migration back to hostA exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "uefi: defined on hostA only, shut off" only_on a $g "shut off"
check "uefi: hostA's NVRAM is the guest's (sha256)" test "$(file_sha a "$nvram")" = "$nvram_sum"
check "uefi: hostB's stale NVRAM removed" test "$(file_state b "$nvram")" = absent
# an NVRAM template only hostA has
template=$(lab_images_dir a)/t23-VARS.fd
hx a cp /usr/share/OVMF/OVMF_VARS_4M.fd "$template"
on_exit "hx a rm -f '$template' || true"
lv a dumpxml --inactive $g | sed "s|template='/usr/share/OVMF/OVMF_VARS_4M.fd'|template='$template'|" >"$OUT/$g.xml"
lv a define "$OUT/$g.xml" >/dev/null
line=$(grep -n "template='$template'" "$OUT/$g.xml" | cut -d: -f1)
snapshot_take
ferry migrate $g --to hostB
check "uefi: an NVRAM template missing on the destination is refused (exit 2)" test "$FERRY_RC" = 2
check "uefi: the refusal names the template's path" \
    ferry_output_has "nvram-template '$template' (line $line) does not exist on 'hostB'"
check "uefi: nothing moved or changed" unchanged_since_snapshot
done_testing
