#!/bin/bash
# Requests ferry must refuse with a clear error and a non-zero exit, changing nothing.
. "$(dirname "$0")/lib.sh"
g=t40-local
remove_guest $g
"$LAB_DIR/guest.sh" create $g local a
snapshot=$(cluster_state)

ferry migrate $g --to hostA
check "same host: exit status 2" test "$FERRY_RC" = 2
check "same host: says so" ferry_output_has "is already on 'hostA'"

ferry migrate no-such-guest --to hostB
check "unknown domain: exit status 2" test "$FERRY_RC" = 2
check "unknown domain: names it" ferry_output_has "domain 'no-such-guest' was not found on any host"

ferry migrate $g --to hostZ
check "unknown host: exit status 2" test "$FERRY_RC" = 2
check "unknown host: names it and the known ones" ferry_output_has "unknown host 'hostZ'"

ferry migrate $g --to hostB --from hostC
check "wrong --from: non-zero exit" test "$FERRY_RC" != 0
check "wrong --from: says where it looked" ferry_output_has "not defined on 'hostC'"

ferry migrate $g --to hostB --mode sideways
check "bad --mode: exit status 2" test "$FERRY_RC" = 2
check "bad --mode: lists the modes" ferry_output_has "use auto, shared, block, block-full or cold"

ferry migrate $g
check "missing --to: exit status 2" test "$FERRY_RC" = 2

FERRY_RC=0
ip netns exec "$P-op" env FERRY_CONFIG=/nonexistent.ini timeout 60 "$FERRY_BIN" migrate $g --to hostB \
    >"$OUT/out" 2>"$OUT/err" || FERRY_RC=$?
check "missing inventory: exit status 2" test "$FERRY_RC" = 2
check "missing inventory: names the file" ferry_output_has "/nonexistent.ini"

# a stale image at the destination path is never overwritten
hx b qemu-img create -q -f qcow2 /var/lib/libvirt/images/$g.qcow2 1M
snapshot=$(cluster_state)
ferry migrate $g --to hostB
check "existing destination image: refused" test "$FERRY_RC" = 1
check "existing destination image: says so" ferry_output_has "already exists on 'hostB'"
check "existing destination image: left as it was" \
    test "$(hx b qemu-img info --output=json /var/lib/libvirt/images/$g.qcow2 | grep -o '"virtual-size": [0-9]*')" = '"virtual-size": 1048576'
hx b rm -f /var/lib/libvirt/images/$g.qcow2

check "nothing changed on any host" test "$snapshot" = "$(cluster_state)"
check "guest still runs on hostA" test "$(state a $g)" = running
remove_guest $g
done_testing
