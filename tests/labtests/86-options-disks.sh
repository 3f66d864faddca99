#!/bin/bash
# Disk options through the command line, each seen on the hosts:
#   --keep-source-disks  the source's image stays after the move, its contents unchanged (and
#                        ferry never overwrites it: migrating back to it is refused);
#   --mode block-full    the whole disk is copied: the destination image has no backing file and
#                        holds the data of the whole chain, where --mode block (incremental)
#                        copies only the overlay's own data onto the destination's base.
. "$(dirname "$0")/lib.sh"
A=/var/lib/libvirt/images
k=t86-keep
o=t86-overlay
on_exit 'remove_guest $k; remove_guest $o'
remove_guest $k
remove_guest $o

sum_disk() { hx "$1" sh -c 't=$(mktemp) && qemu-img convert -U -O raw "$1" "$t" && sha256sum <"$t" | cut -c1-64; rc=$?; rm -f "$t"; exit $rc' sh "$2"; }
backing_of() { hx "$1" qemu-img info -U --output=json "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("backing-filename", "none"))'; }

# ---- --keep-source-disks ------------------------------------------------------------------------
"$LAB_DIR/guest.sh" create $k local a --no-start
before=$(sum_disk a $A/$k.qcow2)
lv a start $k >/dev/null
ferry migrate $k --to hostB --keep-source-disks
check "keep: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "keep: ferry says it kept the source copy" ferry_output_has "kept the source copy '$A/$k.qcow2' on hostA"
check "keep: the guest runs on hostB only" only_on b $k running
check "keep: hostA's image is still there" test "$(file_state a $A/$k.qcow2)" = present
check "keep: hostA's image has the contents it had before the move" test "$(sum_disk a $A/$k.qcow2)" = "$before"
check "keep: no qemu process has it open on hostA" test "$(qemu_count a $k)" = 0
lv b destroy $k >/dev/null
check "keep: hostB's copy is identical" test "$(sum_disk b $A/$k.qcow2)" = "$before"
lv b start $k >/dev/null
snapshot=$(cluster_state)
ferry migrate $k --to hostA
check "keep: migrating back onto the kept copy is refused (exit 2)" test "$FERRY_RC" = 2
check "keep: ... because the file exists there" ferry_output_has "'$A/$k.qcow2' already exists on 'hostA'"
check "keep: ... and nothing changed" test "$snapshot" = "$(cluster_state)"
remove_guest $k

# ---- --mode block (incremental) and --mode block-full of an overlay ------------------------------
"$LAB_DIR/guest.sh" create $o overlay a --no-start
before=$(sum_disk a $A/$o.qcow2)
own_a=$(image_alloc a $A/$o.qcow2)
base_b=$(file_sha b $A/base.qcow2)
base_a=$(file_sha a $A/base.qcow2)
lv a start $o >/dev/null

ferry migrate $o --to hostB --mode block --json
check "block: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "block: libvirt was asked for NON_SHARED_INC" ferry_output_has "NON_SHARED_INC"
check "block: hostB's image is an overlay on hostB's base" test "$(backing_of b $A/$o.qcow2)" = "$A/base.qcow2"
inc_alloc=$(image_alloc b $A/$o.qcow2)
check "block: it holds only the overlay's own data ($inc_alloc B vs $own_a B on hostA)" test "$inc_alloc" = "$own_a"
inc_bytes=$(json_result disk_bytes)
check "block: disk_bytes ($inc_bytes) is the overlay's data" within "$inc_bytes" "$own_a" 1048576
check "block: hostB's base is untouched" test "$(file_sha b $A/base.qcow2)" = "$base_b"
check "block: the guest runs on hostB only" only_on b $o running
# the whole chain's data, as the guest sees it: what a full copy must hold
chain=$(hx b qemu-img map -U --output=json $A/$o.qcow2 | python3 -c 'import json,sys; print(sum(e["length"] for e in json.load(sys.stdin) if e["data"]))')

ferry migrate $o --to hostA --mode block-full --json
check "block-full: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "block-full: libvirt was asked for NON_SHARED_DISK" ferry_output_has "NON_SHARED_DISK"
check "block-full: the summary says mode block-full" test "$(json_result mode)" = block-full
check "block-full: hostA's image has no backing file" test "$(backing_of a $A/$o.qcow2)" = none
full_alloc=$(image_alloc a $A/$o.qcow2)
check "block-full: it holds the whole chain's data ($full_alloc B of $chain B), more than the overlay's ($own_a B)" \
    sh -c "[ '$full_alloc' -ge '$chain' ] && [ '$full_alloc' -gt '$own_a' ]"
full_bytes=$(json_result disk_bytes)
vsize=$(hx a qemu-img info -U --output=json $A/$o.qcow2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
check "block-full: disk_bytes ($full_bytes) is the whole disk ($vsize B), not the incremental copy's ($inc_bytes)" \
    sh -c "[ '$full_bytes' = '$vsize' ] && [ '$full_bytes' -gt '$inc_bytes' ]"
check "block-full: hostA's base is untouched" test "$(file_sha a $A/base.qcow2)" = "$base_a"
check "block-full: the guest runs on hostA only" only_on a $o running
lv a destroy $o >/dev/null
check "block-full: the guest's disk contents are identical after both moves" test "$(sum_disk a $A/$o.qcow2)" = "$before"

done_testing
