#!/bin/bash
# Pre-checks on the destination, before anything moves: a CPU it cannot provide, too little
# memory or disk space, "shared" storage that is not shared, and an ssh trust the source's
# libvirtd needs that does not hold.  Each is refused with its reason; nothing changes anywhere.
# Then the same guest moves over a qemu+ssh peer URI once the trust holds.
. "$(dirname "$0")/lib.sh"
g=t45-local
remove_guest $g
remove_guest t45-cpu
"$LAB_DIR/guest.sh" create $g local a

# inventory_with NAME SED-EXPRESSION: a copy of the lab inventory, changed
inventory_with() {
    sed -e "$2" "$LAB/inventory.ini" >"$OUT/$1.ini"
    echo "$OUT/$1.ini"
}
unchanged() {
    test "$(state a $g)" = running && test "$(state b $g)" = absent && image_absent b $g
}

# -- CPU: a guest that requires a feature TCG's qemu64 does not have (defined, shut off)
cat >"$OUT/cpu.xml" <<XML
<domain type='qemu'><name>t45-cpu</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model>
<feature policy='require' name='avx512f'/></cpu>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>
XML
lv a define "$OUT/cpu.xml" >/dev/null
ferry migrate t45-cpu --to hostB
check "CPU the destination lacks: exit 1" test "$FERRY_RC" = 1
check "... names the missing feature" ferry_output_has "does not provide required features: avx512f"
check "... and the guest stays defined on hostA only" \
    test "$(state a t45-cpu)/$(state b t45-cpu)" = "shut off/absent"
remove_guest t45-cpu

# -- memory: hostB keeps (much) more memory in reserve than it has
inv=$(inventory_with memory '/^\[host hostB\]/a reserved_memory_mib = 100000000')
ferry --config "$inv" migrate $g --to hostB
check "not enough memory on hostB: exit 1" test "$FERRY_RC" = 1
check "... says how much there is and is needed" ferry_output_has "MiB of free memory; the guest needs 64 MiB plus the host's reserve of 100000000 MiB"
check "... nothing changed" unchanged

# -- disk space: the same for the images directory
inv=$(inventory_with disk '/^\[host hostB\]/a reserved_disk_mib = 100000000')
ferry --config "$inv" migrate $g --to hostB
check "not enough disk space on hostB: exit 1" test "$FERRY_RC" = 1
check "... names the directory" ferry_output_has "'/var/lib/libvirt/images' on 'hostB' has"
check "... nothing changed" unchanged

# -- "shared" storage that is not: local images dirs listed as shared_dirs on both hosts
inv=$(inventory_with shared '/^images_dir = \/var\/lib\/libvirt\/images$/a shared_dirs = /var/lib/libvirt/images')
ferry --config "$inv" migrate $g --to hostB
check "shared_dirs that are not shared: exit 1" test "$FERRY_RC" = 1
check "... says it is not the same storage" ferry_output_has "is not the same storage on 'hostA' and 'hostB'"
check "... nothing changed" unchanged

# -- the source's libvirtd reaches hostB over ssh: that trust must hold
inv=$(inventory_with ssh 's|^peer_uri = qemu+tcp://hostb/system|peer_uri = qemu+ssh://root@hostb/system|')
cp -p "$LAB/b/rootssh/authorized_keys" "$OUT/authorized_keys.b"
grep -vF "$(cut -d' ' -f2 "$LAB/a/rootssh/id_ed25519.pub")" "$OUT/authorized_keys.b" >"$LAB/b/rootssh/authorized_keys"
ferry --config "$inv" migrate $g --to hostB
check "qemu+ssh peer without trust: exit 1" test "$FERRY_RC" = 1
check "... names the failure class and a remedy" ferry_output_has "but that trust does not hold: key-refused"
check "... nothing changed" unchanged
cp -p "$OUT/authorized_keys.b" "$LAB/b/rootssh/authorized_keys"

ferry --config "$inv" migrate $g --to hostB
check "qemu+ssh peer with trust: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "... the trust was checked first" ferry_output_has "ssh trust hostA -> hostB holds"
check "... and the migration went over qemu+ssh" ferry_output_has "qemu+ssh://root@hostb/system"
check "guest runs on hostB" test "$(state b $g)" = running
remove_guest $g
done_testing
