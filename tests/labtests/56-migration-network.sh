#!/bin/bash
# A migration network (issue 15, point 8): [host X] migration_address.  The lab gets a second
# bridge for the test (br1 in the switch namespace, eth1 10.78.0.11 on hostA and .12 on hostB;
# hostC has none), removed at the end (down.sh removes it too: it lives in the lab's
# namespaces).  With an inventory naming those addresses:
#  1. a block migration hostA -> hostB sends its memory and its disk over the migration
#     network: hostB counts (iptables) at least the disk's 12 MiB arriving on eth1, and less than
#     1 MiB of anything but ssh and libvirt's RPC arriving from hostA on the lab network; the
#     guest runs on hostB only, its disk as before.
#  2. to hostC, whose migration_address 10.78.0.13 nobody answers: refused before anything
#     moves, naming the address, the host and the inventory key; nothing changed.
. "$(dirname "$0")/lib.sh"

export FERRY_STATE_DIR="$LAB/state-t56"
g=t56-mignet
A=/var/lib/libvirt/images
MNET=10.78.0

sum_disk() { hx "$1" sh -c 't=$(mktemp) && qemu-img convert -U -O raw "$1" "$t" && sha256sum <"$t" | cut -c1-64; rc=$?; rm -f "$t"; exit $rc' sh "$2"; }
counter() { # counter COMMENT: bytes counted by hostB's rule COMMENT
    ip netns exec "$P-b" iptables -L INPUT -v -n -x | awk -v c="/* t56 $1 */" 'index($0, c) { print $2; f = 1 } END { exit !f }'
}
net_down() {
    ip netns exec "$P-b" iptables -D INPUT -i eth1 -p tcp -m comment --comment "t56 mignet" 2>/dev/null || true
    ip netns exec "$P-b" iptables -D INPUT -i eth0 -s "$(lab_ip a)" -p tcp -m multiport ! --dports 22,16509 -m comment --comment "t56 labnet" 2>/dev/null || true
    for h in a b; do ip -n "$P-sw" link del "m-$h" 2>/dev/null || true; done
    ip -n "$P-sw" link del br1 2>/dev/null || true
}
cleanup() {
    remove_guest $g
    net_down
    rm -rf "$FERRY_STATE_DIR"
}
on_exit cleanup
remove_guest $g
net_down
rm -rf "$FERRY_STATE_DIR"

# the second network
ip -n "$P-sw" link add br1 type bridge
ip -n "$P-sw" link set br1 up
for h in a b; do
    ip -n "$P-sw" link add "m-$h" type veth peer name eth1 netns "$P-$h"
    ip -n "$P-sw" link set "m-$h" master br1
    ip -n "$P-sw" link set "m-$h" up
    ip -n "$P-$h" addr add "$MNET.$(lab_ip "$h" | cut -d. -f4)/24" dev eth1
    ip -n "$P-$h" link set eth1 up
done
ip netns exec "$P-b" iptables -I INPUT -i eth1 -p tcp -m comment --comment "t56 mignet"
ip netns exec "$P-b" iptables -I INPUT -i eth0 -s "$(lab_ip a)" -p tcp -m multiport ! --dports 22,16509 -m comment --comment "t56 labnet"
sed -e "/^\[host hostA\]/a migration_address = $MNET.11" -e "/^\[host hostB\]/a migration_address = $MNET.12" \
    -e "/^\[host hostC\]/a migration_address = $MNET.13" "$LAB/inventory.ini" >"$OUT/inventory.ini"

"$LAB_DIR/guest.sh" create $g local a --no-start
sum0=$(sum_disk a $A/$g.qcow2)
lv a start $g >/dev/null

# ---- 1. over the migration network ---------------------------------------------------------
ferry --config "$OUT/inventory.ini" migrate $g --to hostB
diag "$OUT/err"
mig=$(counter mignet)
lab=$(counter labnet)
diag <<<"bytes into hostB: migration network $mig, lab network from hostA (not ssh/libvirt RPC) $lab"
check "migrate with migration_address: exit 0, $g on hostB only, its disk as before" \
    eval '[ "$FERRY_RC" = 0 ] && only_on b $g running && [ "$(lv b suspend $g >/dev/null && sum_disk b $A/$g.qcow2; lv b resume $g >/dev/null)" = "$sum0" ]'
check "the source was checked to reach it, and said so" \
    ferry_output_has "migration network: hostA reaches hostB at $MNET.12; memory and disks go there"
check "the memory and the disk went over the migration network (>= 12 MiB on hostB's eth1)" \
    eval '[ "$mig" -ge $((12 * 1024 * 1024)) ]'
check "... and not over the lab network (< 1 MiB from hostA but ssh and libvirt RPC)" \
    eval '[ "$lab" -lt $((1024 * 1024)) ]'

# ---- 2. a migration address nobody answers ---------------------------------------------------
snapshot_take
ferry --config "$OUT/inventory.ini" migrate $g --to hostC
diag "$OUT/err"
check "to hostC (migration_address $MNET.13 unanswered): refused before anything moves" \
    eval '[ "$FERRY_RC" != 0 ] && grep -q "migration_address .$MNET.13. of .hostC. is not reachable from .hostB. (TCP to port 49152: .*): fix \[host hostC\] migration_address in the inventory" "$OUT/err"'
check "... nothing changed on any host" unchanged_since_snapshot
done_testing
