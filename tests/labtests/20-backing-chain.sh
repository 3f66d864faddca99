#!/bin/bash
# Block migration of a guest whose disk is a qcow2 overlay on a backing image present on every
# host: only the overlay is streamed (hostC's overlay holds the source overlay's data and no
# more, hostC's base image is left as it was), the destination image keeps the same backing
# file in hostC's own layout.
. "$(dirname "$0")/lib.sh"
g=t20-overlay
remove_guest $g
"$LAB_DIR/guest.sh" create $g overlay a --no-start
before=$(checksum $g a)
overlay_alloc=$(image_alloc a "$(image_path a $g)") # the overlay's own data, not the base's
base_c=$(lab_images_dir c)/base.qcow2
base_c_sum=$(file_sha c "$base_c")
lv a start $g >/dev/null

ferry migrate $g --to hostC
check "ferry migrate $g --to hostC exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "guest runs on hostC, and only there" only_on c $g running
check "guest is gone from hostA" test "$(state a $g)" = absent
check "source overlay removed from hostA" image_absent a $g
backing=$(hx c qemu-img info -U --output=json "$(image_path c $g)" | grep -o '"backing-filename": "[^"]*"')
check "destination overlay has the backing file of its own layout ($backing)" \
    test "$backing" = "\"backing-filename\": \"$base_c\""
check "only the overlay was streamed: hostC's overlay holds the source overlay's $overlay_alloc bytes, no more" \
    test "$(image_alloc c "$(image_path c $g)")" = "$overlay_alloc"
disk_mib=$(sed -n 's/^  disk: *\([0-9.]*\) MiB$/\1/p' "$OUT/out")
check "summary's disk bytes (${disk_mib:-?} MiB) are the overlay's data, not the base's" \
    within "${disk_mib:-x}" "$(awk -v b="$overlay_alloc" 'BEGIN { printf "%.1f", b / 1048576 }')" 0.1
check "hostC's base image is as it was (sha256)" test "$(file_sha c "$base_c")" = "$base_c_sum"
lv c destroy $g >/dev/null
after=$(checksum $g c)
check "guest-visible disk content identical on hostC" test "$before" = "$after"
remove_guest $g
done_testing
