#!/bin/bash
# `ferry migrate --dry-run`, the destination's network checks, `ferry xml` with reachable hosts,
# and `migrate --xml FILE` (issue 15, point 2).  A guest with a local disk and a NIC on the lab
# bridge (guestnet: br-guest on hostA, br-vm on hostC), hostA -> hostC:
#  1. --dry-run: every check passes, the plan is printed (mode, the disk's destination path),
#     and nothing changed: the hosts' domains and files as before, no journal, lock or log.
#  2. an inventory without hostC's bridges mapping: --dry-run fails naming the key to add
#     (bridges = guestnet=BRIDGE in [host hostC]), and `ferry xml` reports the same failed check;
#     a mapping to a bridge hostC does not have: refused naming it.  Nothing changed.
#  3. a leftover file where the disk would be created on hostC: --dry-run reports it.
#  4. --xml FILE (ferry xml --xml-only, edited): another name is refused; the disk's path
#     changed is taken: the dry run's plan shows it, and the real move puts the disk there
#     (hostC's domain uses it, its contents as before).
. "$(dirname "$0")/lib.sh"

export FERRY_STATE_DIR="$LAB/state-t57"
g=t57-dry
A=/var/lib/libvirt/images
C=/var/lib/libvirt/images-c

sum_disk() { hx "$1" sh -c 't=$(mktemp) && qemu-img convert -U -O raw "$1" "$t" && sha256sum <"$t" | cut -c1-64; rc=$?; rm -f "$t"; exit $rc' sh "$2"; }
cleanup() {
    remove_guest $g
    hx c rm -f "$C/$g-edited.qcow2"
    rm -rf "$FERRY_STATE_DIR"
}
on_exit cleanup
remove_guest $g
hx c rm -f "$C/$g-edited.qcow2"
rm -rf "$FERRY_STATE_DIR"
"$LAB_DIR/guest.sh" create $g local-nic a --no-start
sum0=$(sum_disk a $A/$g.qcow2)
lv a start $g >/dev/null

# ---- 1. a dry run that passes ----------------------------------------------------------------
snapshot_take
ferry migrate $g --to hostC --dry-run
diag "$OUT/out"
check "--dry-run: exit 0, every check passed, nothing changed (it says)" \
    eval '[ "$FERRY_RC" = 0 ] && grep -q "^dry run: .$g. can move from hostA to hostC, mode block; every check passed, nothing was changed" "$OUT/out"'
check "... the plan: the disk streamed to hostC's images dir, the bridge checked there" \
    eval 'grep -q "^  destination: $C/$g.qcow2" "$OUT/out" && grep -q "bridge .br-vm. exists on hostC" "$OUT/err"'
check "... the hosts' domains and files are as before" unchanged_since_snapshot
check "... no journal, lock or log written" test ! -e "$FERRY_STATE_DIR"
ferry migrate $g --to hostC --dry-run --json
check "--dry-run --json: exit 0, its result line (dry_run, mode block, hostA -> hostC), nothing changed" \
    eval '[ "$FERRY_RC" = 0 ] &&
          [ "$(json_result command)/$(json_result dry_run)/$(json_result mode)/$(json_result source)/$(json_result destination)" = migrate/true/block/hostA/hostC ] &&
          unchanged_since_snapshot && test ! -e "$FERRY_STATE_DIR"'

# ---- 2. bridges ----------------------------------------------------------------------------
awk '/^\[host hostC\]/ { c = 1 } /^\[/ && !/hostC/ { c = 0 } !(c && /^bridges/)' "$LAB/inventory.ini" >"$OUT/nomap.ini"
sed 's/^bridges = guestnet=br-vm$/bridges = guestnet=br-gone/' "$LAB/inventory.ini" >"$OUT/gone.ini"
ferry --config "$OUT/nomap.ini" migrate $g --to hostC --dry-run
diag "$OUT/err"
check "no bridge mapping for hostC: --dry-run fails naming the key to add" \
    eval '[ "$FERRY_RC" != 0 ] && grep -q "is on bridge .br-guest. (.guestnet. in \[host hostA\] bridges), and \[host hostC\] has no mapping for .guestnet.: add .bridges = guestnet=BRIDGE. to \[host hostC\]" "$OUT/err"'
ferry --config "$OUT/nomap.ini" xml $g --to hostC
check "... ferry xml with the hosts reachable shows the same failed check" \
    eval '[ "$FERRY_RC" != 0 ] && grep -q "^Checks on hostC (as ferry migrate --dry-run): FAILED" "$OUT/err" &&
          grep -q "add .bridges = guestnet=BRIDGE. to \[host hostC\]" "$OUT/err"'
ferry --config "$OUT/gone.ini" migrate $g --to hostC --dry-run
diag "$OUT/err"
check "a mapping to a bridge hostC lacks: refused naming it" \
    eval '[ "$FERRY_RC" != 0 ] && grep -q "needs bridge .br-gone., and .hostC. has no such bridge" "$OUT/err"'
check "... nothing changed" unchanged_since_snapshot

# ---- 3. a leftover file in the way --------------------------------------------------------
hx c sh -c 'echo leftover >"$1"' sh "$C/$g.qcow2"
ferry migrate $g --to hostC --dry-run
hx c rm -f "$C/$g.qcow2"
diag "$OUT/err"
check "a leftover file where the disk would be created: --dry-run reports it" \
    eval '[ "$FERRY_RC" != 0 ] && grep -q "$C/$g.qcow2. already exists on .hostC." "$OUT/err"'

# ---- 4. --xml FILE ---------------------------------------------------------------------------
ferry xml $g --to hostC --xml-only
sed "s|$C/$g.qcow2|$C/$g-edited.qcow2|" "$OUT/out" >"$OUT/edited.xml"
sed "s|<name>$g</name>|<name>other</name>|" "$OUT/edited.xml" >"$OUT/renamed.xml"
ferry migrate $g --to hostC --dry-run --xml "$OUT/renamed.xml"
diag "$OUT/err"
check "--xml with another name: refused (its name and UUID must stay)" \
    eval '[ "$FERRY_RC" != 0 ] && grep -q "is domain .other. .*, not the guest .$g." "$OUT/err"'
ferry migrate $g --to hostC --dry-run --xml "$OUT/edited.xml"
check "--xml with the disk's path edited: the dry run's plan takes it" \
    eval '[ "$FERRY_RC" = 0 ] && grep -q "^  destination: $C/$g-edited.qcow2" "$OUT/out"'
ferry migrate $g --to hostC --xml "$OUT/edited.xml"
diag "$OUT/err"
check "... and the move puts the disk there: $g on hostC only, using it, contents as before" \
    eval '[ "$FERRY_RC" = 0 ] && only_on c $g running && lv c domblklist $g | grep -q "$C/$g-edited.qcow2" &&
          [ "$(lv c suspend $g >/dev/null && sum_disk c $C/$g-edited.qcow2; lv c resume $g >/dev/null)" = "$sum0" ]'
done_testing
