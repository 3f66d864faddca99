#!/bin/bash
# Block migration of an overlay whose backing file is missing on the destination: ferry copies
# it from the source -- host to host over the checked ssh trust, or relayed through ferry when
# that trust is broken -- verifies its checksum, and the guest's disk arrives identical.
# Which way the bytes went is read from the destination's own packet counters (iptables): from
# the source host's ssh, or from the operator machine's; no temporary copy is left behind.
. "$(dirname "$0")/lib.sh"
g=t61-overlay
# each host's own base image (hostC keeps its images elsewhere: lab_images_dir)
base_of() { echo "$(lab_images_dir "$1")/base.qcow2"; }
sum() { file_sha "$1" "$(base_of "$1")"; }
# no_temporary HOST: HOST's images directory holds no temporary copy (.NAME.ferry-copy-UUID)
no_temporary() {
    local l
    l=$(hx "$1" ls -A "$(lab_images_dir "$1")") || return 1
    ! grep -q "ferry-copy" <<<"$l"
}

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
size=$(hx a stat -c %s "$(base_of a)")
net_watch c a 22
net_watch c op 22
net_watch b c 22
net_watch b op 22

# -- host to host: hostA -> hostC, base.qcow2 missing on hostC
hx c rm -f "$(base_of c)"
ferry migrate $g --to hostC
check "migrate to hostC with its backing file missing: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "the backing file was copied host to host" grep -q "copied backing file '$(base_of c)' .*host-to-host" "$OUT/err"
from_a=$(net_bytes c a 22) from_op=$(net_bytes c op 22)
check "hostC's ssh received the $size bytes from hostA ($from_a bytes), not from the operator ($from_op)" \
    test "$from_a" -ge "$size" -a "$from_op" -lt "$size"
check "backing file on hostC has the source's sha256" test "$(sum c)" = "$want"
check "no temporary copy left on hostC" no_temporary c
check "guest runs on hostC, and only there" only_on c $g running
check "source overlay removed from hostA" image_absent a $g

# -- relay: hostC -> hostB, with hostC's key removed from hostB's authorized_keys
hx b rm -f "$(base_of b)"
grep -vF "$(cut -d' ' -f2 "$LAB/c/rootssh/id_ed25519.pub")" "$OUT/authorized_keys.b" >"$LAB/b/rootssh/authorized_keys"
ferry check ssh --from hostC --to hostB
check "hostC -> hostB trust is broken (key-refused)" grep -q "^hostC -> hostB: key-refused$" "$OUT/out"
real=$(hx c ssh -o BatchMode=yes -o ConnectTimeout=5 root@hostb true 2>&1 || true)
check "... the hosts agree: OpenSSH from hostC to hostB is refused (publickey)" \
    grep -q "Permission denied (publickey)" <<<"$real"
net_zero b
ferry migrate $g --to hostB
check "migrate to hostB without host trust: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "the backing file was relayed through ferry" grep -q "copied backing file '$(base_of b)' .*relay" "$OUT/err"
from_c=$(net_bytes b c 22) from_op=$(net_bytes b op 22)
check "hostB's ssh received the $size bytes from the operator ($from_op bytes), not from hostC ($from_c)" \
    test "$from_op" -ge "$size" -a "$from_c" -lt "$size"
check "backing file on hostB has the source's sha256" test "$(sum b)" = "$want"
check "no temporary copy left on hostB" no_temporary b
check "guest runs on hostB, and only there" only_on b $g running
check "hostC's overlay removed" image_absent c $g
cp -p "$OUT/authorized_keys.b" "$LAB/b/rootssh/authorized_keys"

lv b destroy $g >/dev/null
after=$(checksum $g b)
check "guest-visible disk content identical after two hops" test "$before" = "$after"
remove_guest $g
done_testing
