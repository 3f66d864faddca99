#!/bin/bash
# Block migration of an overlay whose backing file is missing on the destination: ferry copies
# it from the source -- host to host over the checked ssh trust, or relayed through ferry when
# that trust is broken -- verifies its checksum, and the guest's disk arrives identical.
. "$(dirname "$0")/lib.sh"
g=t61-overlay
# each host's own base image (hostC keeps its images elsewhere: lab_images_dir)
base_of() { echo "$(lab_images_dir "$1")/base.qcow2"; }
sum() { hx "$1" sha256sum "$(base_of "$1")" | cut -d' ' -f1; }

cp -p "$LAB/b/rootssh/authorized_keys" "$OUT/authorized_keys.b"
restore() {
    cp -p "$OUT/authorized_keys.b" "$LAB/b/rootssh/authorized_keys"
    # every host must hold the lab's base image again (identical everywhere)
    for h in b c; do
        d=$LAB/$h/lib/$(basename "$(lab_images_dir "$h")")
        [ -e "$d/base.qcow2" ] || cp -p "$LAB/a/lib/images/base.qcow2" "$d/base.qcow2"
    done
}
on_exit 'restore'

remove_guest $g
"$LAB_DIR/guest.sh" create $g overlay a --no-start
before=$(checksum $g a)
lv a start $g >/dev/null
want=$(sum a)

# -- host to host: hostA -> hostC, base.qcow2 missing on hostC
hx c rm -f "$(base_of c)"
ferry migrate $g --to hostC
check "migrate to hostC with its backing file missing: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "the backing file was copied host to host" grep -q "copied backing file '$(base_of c)' .*host-to-host" "$OUT/err"
check "backing file on hostC has the source's sha256" test "$(sum c)" = "$want"
check "no temporary copy left on hostC" test -z "$(hx c sh -c 'ls -A /var/lib/libvirt/images-c | grep ferry-copy')"
check "guest runs on hostC" test "$(state c $g)" = running

# -- relay: hostC -> hostB, with hostC's key removed from hostB's authorized_keys
hx b rm -f "$(base_of b)"
grep -vF "$(cut -d' ' -f2 "$LAB/c/rootssh/id_ed25519.pub")" "$OUT/authorized_keys.b" >"$LAB/b/rootssh/authorized_keys"
ferry check ssh --from hostC --to hostB
check "hostC -> hostB trust is broken (key-refused)" grep -q "^hostC -> hostB: key-refused$" "$OUT/out"
ferry migrate $g --to hostB
check "migrate to hostB without host trust: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "the backing file was relayed through ferry" grep -q "copied backing file '$(base_of b)' .*relay" "$OUT/err"
check "backing file on hostB has the source's sha256" test "$(sum b)" = "$want"
check "guest runs on hostB" test "$(state b $g)" = running
cp -p "$OUT/authorized_keys.b" "$LAB/b/rootssh/authorized_keys"

lv b destroy $g >/dev/null
after=$(checksum $g b)
check "guest-visible disk content identical after two hops" test "$before" = "$after"
remove_guest $g
done_testing
