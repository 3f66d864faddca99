#!/bin/bash
# Requests ferry must refuse with a clear error and a non-zero exit, changing nothing: after
# every refusal each host's domains (state, persistence) and files (images directories and
# saved definitions: names, sizes, mtimes, sha256) are exactly as before it.
. "$(dirname "$0")/lib.sh"
g=t40-local
remove_guest $g
"$LAB_DIR/guest.sh" create $g local a
snapshot_take

# refused WHAT: the hosts are as they were before the refusal
refused() { check "$1: nothing changed on any host (domains and files)" unchanged_since_snapshot; }

ferry migrate $g --to hostA
check "same host: exit status 2" test "$FERRY_RC" = 2
check "same host: says so" ferry_output_has "is already on 'hostA'"
check "same host: the hosts agree, $g runs on hostA only" only_on a $g running
refused "same host"

ferry migrate no-such-guest --to hostB
check "unknown domain: exit status 2" test "$FERRY_RC" = 2
check "unknown domain: names it" ferry_output_has "domain 'no-such-guest' was not found on any host"
check "unknown domain: the hosts agree, none has it" \
    test "$(state a no-such-guest)/$(state b no-such-guest)/$(state c no-such-guest)" = absent/absent/absent
refused "unknown domain"

ferry migrate $g --to hostZ
check "unknown host: exit status 2" test "$FERRY_RC" = 2
check "unknown host: names it and the known ones" ferry_output_has "unknown host 'hostZ'"
refused "unknown host"

ferry migrate $g --to hostB --from hostC
check "wrong --from: non-zero exit" test "$FERRY_RC" != 0
check "wrong --from: says where it looked" ferry_output_has "not defined on 'hostC'"
check "wrong --from: the hosts agree, hostC has no $g" test "$(state c $g)" = absent
refused "wrong --from"

ferry migrate $g --to hostB --mode sideways
check "bad --mode: exit status 2" test "$FERRY_RC" = 2
check "bad --mode: lists the modes" ferry_output_has "use auto, shared, block, block-full or cold"
refused "bad --mode"

ferry migrate $g
check "missing --to: exit status 2" test "$FERRY_RC" = 2
refused "missing --to"

FERRY_RC=0
ip netns exec "$P-op" env FERRY_CONFIG=/nonexistent.ini timeout 60 "$FERRY_BIN" migrate $g --to hostB \
    >"$OUT/out" 2>"$OUT/err" || FERRY_RC=$?
check "missing inventory: exit status 2" test "$FERRY_RC" = 2
check "missing inventory: names the file" ferry_output_has "/nonexistent.ini"
refused "missing inventory"

# a stale image at the destination path is never overwritten
hx b qemu-img create -q -f qcow2 /var/lib/libvirt/images/$g.qcow2 1M
snapshot_take
ferry migrate $g --to hostB
check "existing destination image: refused (exit 2: nothing changed)" test "$FERRY_RC" = 2
check "existing destination image: says so" ferry_output_has "already exists on 'hostB'"
check "existing destination image: left as it was (1 MiB virtual)" \
    test "$(hx b qemu-img info -U --output=json /var/lib/libvirt/images/$g.qcow2 | grep -o '"virtual-size": [0-9]*')" = '"virtual-size": 1048576'
refused "existing destination image"
hx b rm -f /var/lib/libvirt/images/$g.qcow2

check "guest still runs on hostA, and only there" only_on a $g running
remove_guest $g
done_testing
