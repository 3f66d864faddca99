#!/bin/bash
# A guest whose disk is on the storage host (NBD) moves without a disk copy, and back: the
# destination's qemu reads the same NBD export, no image appears on the destination.  The way
# back is managed by ferry (--no-p2p): the source's libvirtd never contacts the destination's.
. "$(dirname "$0")/lib.sh"
g=t30-shared
remove_guest $g
"$LAB_DIR/guest.sh" create $g shared a nbd1
net_watch b a 16509 # hostA's libvirtd -> hostB's
net_watch a b 16509 # hostB's libvirtd -> hostA's
net_watch a op 16509
# images_of HOST: the files under HOST's images directory (path, size, mtime)
images_of() { hx "$1" find "$(lab_images_dir "$1")" -printf '%p %s %T@\n' | sort; }
# nbd_client HOST NAME: the guest's qemu on HOST holds a connection to the storage host's NBD
# server (the kernel's socket table, whatever the XML says)
nbd_client() {
    local pid s
    pid=$(qemu_pids "$1" "$2") || return 1
    s=$(ip netns exec "$P-$1" ss -tnpH state established dst "$(lab_ip s)" dport = 10809) || return 1
    [ -n "$pid" ] && grep -q "pid=$pid," <<<"$s"
}
images_b=$(images_of b)

ferry migrate $g --to hostB
check "ferry migrate $g --to hostB exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "mode chosen is shared" ferry_output_has "mode:       shared"
check "no disk bytes copied" grep -qE 'disk: +0 B' "$OUT/out"
check "shared: no image was made on hostB (its images directory is as it was)" \
    test "$(images_of b)" = "$images_b"
check "shared: qemu on hostB reads the disk from the storage host's NBD server" nbd_client b $g
check "peer-to-peer: hostA's libvirtd connected to hostB's" test "$(net_conns b a 16509)" -ge 1
check "guest runs on hostB, and only there" only_on b $g running
check "guest is gone from hostA" test "$(state a $g)" = absent

snapshot_take
ferry migrate $g --to hostA --mode block
check "--mode block on a shared-only guest is refused" test "$FERRY_RC" = 2
check "... saying there is no local disk" ferry_output_has "no local writable disk to stream"
check "... and the guest still runs on hostB" test "$(state b $g)" = running
check "... and nothing changed on any host (domains and files)" unchanged_since_snapshot

net_zero a
ferry migrate $g --to hostA --no-p2p
check "managed (--no-p2p) migration back to hostA exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "summary says managed" ferry_output_has "managed by ferry"
check "managed: hostB's libvirtd never connected to hostA's ($(net_conns a b 16509) connections)" \
    test "$(net_conns a b 16509)" = 0
check "managed: ferry (the operator machine) connected to hostA's libvirtd" \
    test "$(net_conns a op 16509)" -ge 1
check "guest runs on hostA, and only there" only_on a $g running
check "guest is gone from hostB" test "$(state b $g)" = absent
check "qemu on hostA reads the disk from the storage host's NBD server" nbd_client a $g
remove_guest $g
done_testing
