#!/bin/bash
# Block migration of a guest with a local disk: the disk arrives identical, the guest runs on
# the destination only, and it can come back.  What ferry's summary says (block mode, peer to
# peer, disk bytes, downtime) is held against what the hosts recorded.
. "$(dirname "$0")/lib.sh"
g=t10-local
remove_guest $g
"$LAB_DIR/guest.sh" create $g local a --no-start
before=$(checksum $g a)
alloc=$(image_alloc a "$(image_path a $g)") # the data the source image holds
lv a start $g >/dev/null
net_watch b a 16509 # hostA's libvirtd -> hostB's (peer-to-peer)

ferry migrate $g --to hostB
check "ferry migrate $g --to hostB exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "summary says block mode" ferry_output_has "mode:       block (peer-to-peer)"
check "block: hostB has its own copy of the disk at the same path, holding the source's $alloc bytes of data" \
    test "$(image_alloc b "$(image_path b $g)")" = "$alloc"
check "block: qemu on hostB runs the guest from that local copy" qemu_opened b $g "$(image_path b $g)"
check "peer-to-peer: hostA's libvirtd connected to hostB's ($(net_conns b a 16509) connections)" \
    test "$(net_conns b a 16509)" -ge 1
# the summary prints MiB with one decimal
disk_mib=$(sed -n 's/^  disk: *\([0-9.]*\) MiB$/\1/p' "$OUT/out")
check "summary's disk bytes (${disk_mib:-?} MiB) are the data the source image held ($alloc bytes)" \
    within "${disk_mib:-x}" "$(awk -v b="$alloc" 'BEGIN { printf "%.1f", b / 1048576 }')" 0.1
downtime=$(sed -n 's/^  downtime: *\([0-9]*\) ms$/\1/p' "$OUT/out")
host_downtime=$(lv b domjobinfo --completed $g | sed -n 's/^Total downtime: *\([0-9]*\) *ms$/\1/p')
check "summary's downtime (${downtime:-?} ms) is what hostB's libvirtd recorded (${host_downtime:-?} ms)" \
    within "${downtime:-x}" "${host_downtime:-y}" 5
check "guest runs on hostB, and only there" only_on b $g running
check "guest is persistent on hostB" persistent b $g
check "guest is gone from hostA" test "$(state a $g)" = absent
check "one qemu process for it on hostB, none on hostA" test "$(qemu_count b $g)/$(qemu_count a $g)" = 1/0
check "source copy removed from hostA" image_absent a $g

lv b destroy $g >/dev/null
after=$(checksum $g b)
check "disk content identical on hostB ($before)" test "$before" = "$after"
lv b start $g >/dev/null

ferry migrate $g --to hostA
check "migrating back to hostA exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "guest runs on hostA again, and only there" only_on a $g running
check "guest is gone from hostB" test "$(state b $g)" = absent
check "hostB's copy removed" image_absent b $g
lv a destroy $g >/dev/null
back=$(checksum $g a)
check "disk content identical after the round trip" test "$before" = "$back"

remove_guest $g
done_testing
