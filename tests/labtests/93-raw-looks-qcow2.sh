#!/bin/bash
# Fault h: a raw disk whose guest wrote a qcow2 header into its first bytes, naming a "backing
# file" outside the images directory (a secret of the host's).  The domain XML says raw, so ferry
# reads and moves it as raw -- cold (ferry copies the file) and live (block migration) -- and the
# file the header names is never read nor copied: the destination's images directory gains the
# disk only, the named file appears nowhere on the destination, ferry never mentions it, and the
# disk arrives byte for byte as it left.  (A disk defined without a format is not tested here:
# libvirt records it as raw itself; ferry refuses a disk whose XML has none, unit-tested.)
. "$(dirname "$0")/lib.sh"

g=t93-raw
I=/var/lib/libvirt/images
DISK=$I/$g.img
SECRET=/var/lib/libvirt/t93-secret # outside images_dir, on every compute host's private /var

listing() {
    hx "$1" sh -ec 'cd "$1"; find . \( -type f -o -type l \) | sort' sh "$(lab_images_dir "$1")"
}
# plus LISTING FILE: LISTING with FILE added, sorted
plus() { { [ -z "$1" ] || echo "$1"; echo "$2"; } | sort; }
cleanup() {
    remove_guest $g
    for h in $LAB_HOSTS; do hx "$h" rm -f "$(lab_images_dir "$h")/$g.img" "$SECRET" "${SECRET%/*}/t93-moved" "/tmp/$g.hdr"; done
}
on_exit cleanup
cleanup

# the secret, on the source only: the old code copied a missing backing file over
hx a sh -c 'echo "t93 secret of a" >"$1"' sh "$SECRET"
# a 64 MiB raw disk with data, whose first cluster is a qcow2 header naming $SECRET as its
# raw backing file (made with -u: qemu-img does not open it)
hx a qemu-img create -q -f raw "$DISK" 64M
hx a qemu-io -f raw -c 'write -P 0x6b 1M 8M' "$DISK" >/dev/null
hx a qemu-img create -q -u -f qcow2 -F raw -b "$SECRET" "/tmp/$g.hdr" 64M
hx a dd if="/tmp/$g.hdr" of="$DISK" bs=64k count=1 conv=notrunc status=none
hx a rm -f "/tmp/$g.hdr"
probe=$(hx a qemu-img info --output=json "$DISK")
looks_qcow2() { grep -q '"format": "qcow2"' <<<"$probe" && grep -qF "\"backing-filename\": \"$SECRET\"" <<<"$probe"; }
check "setup: probed, the raw disk looks like a qcow2 overlay of $SECRET" looks_qcow2
sed -e "s|@NAME@|$g|g" -e "s|@MEM_MIB@|64|g" -e "s|@DISK@|$DISK|g" -e "s|@FMT@|raw|g" \
    "$LAB_DIR/guests/disk.xml" >"$LAB/a/$g.xml"
lv a define "$LAB/a/$g.xml" >/dev/null
sum0=$(file_sha a "$DISK")
size0=$(hx a stat -c %s "$DISK")

# ---- cold: hostA -> hostB, ferry copies the file ----------------------------------------------
before_b=$(listing b)
ferry migrate $g --to hostB
check "cold: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "cold: defined, shut off, on hostB only" test "$(where $g)" = "a=absent b=shut off c=absent"
check "cold: hostB's disk is byte for byte the source's ($size0 bytes)" \
    test "$(file_sha b "$DISK")/$(hx b stat -c %s "$DISK")" = "$sum0/$size0"
check "cold: hostB's images dir gained the disk and nothing else" \
    test "$(listing b)" = "$(plus "$before_b" ./$g.img)"
check "cold: no copy of $SECRET on hostB" test "$(file_state b "$SECRET")" = absent
check "cold: no copy of the named file in hostB's images dir" \
    test -z "$(hx b find "$(lab_images_dir b)" -name 't93-secret*')"
check "cold: ferry never names the file the header points to" sh -c "! grep -q t93-secret '$OUT/out' '$OUT/err'"
says_raw() { lv "$1" dumpxml $g | grep -q "<driver name='qemu' type='raw'"; }
check "cold: hostB's definition still says raw" says_raw b

# ---- live: hostB -> hostA, block migration ----------------------------------------------------
lv b start $g >/dev/null
before_a=$(listing a)
hx a mv "$SECRET" "${SECRET%/*}/t93-moved"
hx b sh -c 'echo "t93 secret of b" >"$1"' sh "$SECRET"
ferry migrate $g --to hostA --mode block
check "live: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "live: running on hostA only" only_on a $g running
check "live: hostA's images dir gained the disk and nothing else" \
    test "$(listing a)" = "$(plus "$before_a" ./$g.img)"
check "live: no copy of $SECRET on hostA" test "$(file_state a "$SECRET")" = absent
check "live: no copy of the named file in hostA's images dir" \
    test -z "$(hx a find "$(lab_images_dir a)" -name 't93-secret*')"
check "live: ferry never names the file the header points to" sh -c "! grep -q t93-secret '$OUT/out' '$OUT/err'"
check "live: ferry created a raw image for it" ferry_output_has "created raw image '$DISK'"
lv a suspend $g >/dev/null
check "live: hostA's disk is byte for byte the source's ($size0 bytes)" \
    test "$(file_sha a "$DISK")/$(hx a stat -c %s "$DISK")" = "$sum0/$size0"
lv a resume $g >/dev/null

done_testing
