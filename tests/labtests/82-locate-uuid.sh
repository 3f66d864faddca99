#!/bin/bash
# Finding the guest and refusing what would give it two homes: a guest running on two hosts is
# refused (by name and by UUID); a destination that already has a domain of the same name, or
# of the same UUID under another name, is refused; nothing changes anywhere (every domain and
# every image file of every host compared before and after).  Then a guest given by its UUID
# migrates: it runs on the destination only, with the same UUID and an identical disk.
. "$(dirname "$0")/lib.sh"

# snapshot: cluster_state (lib.sh) or end the script: an empty snapshot never compares equal
snapshot() {
    local s
    s=$(cluster_state) && [ -n "$s" ] || { echo "# cluster_state failed" >&2; exit 1; }
    echo "$s"
}
sum_disk() { hx "$1" sh -c 't=$(mktemp) && qemu-img convert -U -O raw "$1" "$t" && sha256sum <"$t" | cut -c1-64; rc=$?; rm -f "$t"; exit $rc' sh "$2"; }

A=/var/lib/libvirt/images
g=t82-twice
u=t82-uuid
cleanup() { for x in $g $u t82-twin; do remove_guest $x; done; }
on_exit cleanup
cleanup

# ---- b. the same guest (same name and UUID, each host its own disk) runs on hostA and hostB ----
"$LAB_DIR/guest.sh" create $g local a
uuid=$(lv a domuuid $g)
lv a dumpxml --inactive $g >"$LAB/b/$g.xml"
hx b qemu-img create -q -f qcow2 $A/$g.qcow2 64M
lv b define "$LAB/b/$g.xml" >/dev/null
lv b start $g >/dev/null
check "b: setup: $g runs on hostA and hostB with the same UUID" \
    test "$(where $g) $(lv b domuuid $g)" = "a=running b=running c=absent $uuid"
before=$(snapshot)
ferry migrate $g --to hostC
check "b: by name: refused (exit 2)" test "$FERRY_RC" = 2
check "b: ... saying where it runs" \
    ferry_output_has "domain '$g' is running on several hosts ('hostA', 'hostB'): refusing to touch it"
ferry migrate "$uuid" --to hostC
check "b: by UUID: refused (exit 2)" test "$FERRY_RC" = 2
check "b: ... saying where it runs" \
    ferry_output_has "domain '$uuid' is running on several hosts ('hostA', 'hostB'): refusing to touch it"
ferry xml $g --to hostC
check "b: ferry xml refuses it too (exit 2, as migrate)" test "$FERRY_RC" = 2
check "b: ... for the same reason" ferry_output_has "is running on several hosts"
check "b: nothing changed on any host (domains, states, image files)" test "$before" = "$(snapshot)"
check "b: both copies still run, nothing on hostC" test "$(where $g)" = "a=running b=running c=absent"
remove_guest $g

# ---- c. the destination already has a domain of that name / of that UUID ---------------------
"$LAB_DIR/guest.sh" create $u local a
uuid=$(lv a domuuid $u)
sum_a=$(sum_disk a $A/$u.qcow2)
# c1: another guest (its own UUID) called $u is defined, shut off, on hostB
sed -e "s|@NAME@|$u|g" -e "s|@MEM_MIB@|64|g" -e "s|@DISK@|$A/t82-other.qcow2|" -e "s|@FMT@|qcow2|g" \
    "$LAB_DIR/guests/disk.xml" >"$LAB/b/$u.xml"
lv b define "$LAB/b/$u.xml" >/dev/null
check "c1: setup: hostB has a shut-off '$u' with another UUID" \
    test "$(state b $u)" = "shut off" -a "$(lv b domuuid $u)" != "$uuid"
before=$(snapshot)
ferry migrate $u --to hostB
check "c1: same name on the destination: refused (exit 2)" test "$FERRY_RC" = 2
check "c1: ... naming it" \
    ferry_output_has "'hostB' already has a domain '$u' (same name or UUID): refusing to create a second copy"
check "c1: nothing changed on any host" test "$before" = "$(snapshot)"
check "c1: the guest runs on hostA, the other '$u' is still shut off on hostB" \
    test "$(where $u)" = "a=running b=shut off c=absent"
check "c1: no image of it was created on hostB" test "$(file_state b $A/$u.qcow2)" = absent
lv b undefine $u >/dev/null

# c2: hostB has a domain with the guest's UUID under another name
lv a dumpxml --inactive $u | sed -e "s|<name>$u</name>|<name>t82-twin</name>|" \
    -e "s|$A/$u.qcow2|$A/t82-twin.qcow2|" >"$LAB/b/t82-twin.xml"
lv b define "$LAB/b/t82-twin.xml" >/dev/null
check "c2: setup: hostB has 't82-twin' with the UUID of '$u'" test "$(lv b domuuid t82-twin)" = "$uuid"
before=$(snapshot)
ferry migrate $u --to hostB
check "c2: same UUID on the destination: refused (exit 2)" test "$FERRY_RC" = 2
check "c2: ... naming the domain that has it" \
    ferry_output_has "'hostB' already has a domain 't82-twin' (same name or UUID): refusing to create a second copy"
check "c2: nothing changed on any host" test "$before" = "$(snapshot)"
check "c2: the guest runs on hostA only, 't82-twin' still shut off on hostB" \
    test "$(where $u) $(state b t82-twin)" = "a=running b=absent c=absent shut off"
remove_guest t82-twin

# ---- d. migrating by UUID -----------------------------------------------------------------------
ferry migrate "$uuid" --to hostB --json
check "d: ferry migrate UUID --to hostB exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "d: the summary names the guest and its UUID" \
    sh -c "tail -1 '$OUT/out' | grep -q '\"ok\":true,\"domain\":\"$u\",\"uuid\":\"$uuid\",\"source\":\"hostA\",\"destination\":\"hostB\"'"
check "d: it runs on hostB only" test "$(where $u)" = "a=absent b=running c=absent"
check "d: with the same UUID" test "$(lv b domuuid $u)" = "$uuid"
ferry migrate "$uuid" --from hostB --to hostC
check "d: by UUID with --from hostB, to hostC: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "d: it runs on hostC only" test "$(where $u)" = "a=absent b=absent c=running"
lv c destroy $u >/dev/null
check "d: its disk arrived identical after two hops" \
    test "$(sum_disk c /var/lib/libvirt/images-c/$u.qcow2)" = "$sum_a"

done_testing
