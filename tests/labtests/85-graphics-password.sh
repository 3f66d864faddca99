#!/bin/bash
# A guest whose VNC display has a password: ferry never prints it -- not in `ferry xml` (plain,
# --xml-only, --json), not from a saved definition that holds it (--file, single or double
# quotes), not in `ferry --verbose migrate --json` -- yet migrates with it: the destination's
# live and persistent definitions have it (virsh dumpxml --security-info), and the VNC server
# on the destination asks for it (its RFB handshake offers VNC authentication only).
. "$(dirname "$0")/lib.sh"
g=t85-vnc
pw=Qm7tZx4K
A=/var/lib/libvirt/images
on_exit 'remove_guest $g'
remove_guest $g

# no_password: ferry's stdout and stderr do not contain the password
no_password() { ! grep -qF -- "$pw" "$OUT/out" "$OUT/err"; }
# rfb_security HOST PORT: the security types a VNC server offers (RFB 3.8): "2" is VNC
# authentication (a password), "1" is none
rfb_security() {
    op python3 -c 'import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 5)
assert s.recv(12).startswith(b"RFB ")
s.sendall(b"RFB 003.008\n")
n = s.recv(1)[0]
print(" ".join(str(t) for t in s.recv(n)))' "$(lab_ip "$1")" "$2"
}
vnc_port() { lv "$1" dumpxml "$2" | sed -n "s/.*<graphics type='vnc' port='\([0-9]*\)'.*/\1/p"; }

hx a qemu-img create -q -f qcow2 $A/$g.qcow2 64M
hx a qemu-io -f qcow2 -c 'write -P 0x5c 0 4M' $A/$g.qcow2 >/dev/null
sed -e "s|@NAME@|$g|g" -e "s|@MEM_MIB@|64|g" -e "s|@DISK@|$A/$g.qcow2|" -e "s|@FMT@|qcow2|" \
    -e "s|@LISTEN@|$(lab_ip a)|g" -e "s|@PASSWD@|$pw|" "$LAB_DIR/guests/disk-vnc.xml" >"$LAB/a/$g.xml"
lv a define "$LAB/a/$g.xml" >/dev/null
lv a start $g >/dev/null
check "setup: hostA's live definition has the password (--security-info)" \
    sh -c "virsh -q -c 'qemu+unix:///system?socket=$LAB/a/run/libvirt/libvirt-sock' dumpxml --security-info $g | grep -qF \"passwd='$pw'\""
check "setup: hostA's VNC server asks for it" test "$(rfb_security a "$(vnc_port a $g)")" = 2

# ---- ferry xml ----
ferry xml $g --to hostB
check "xml: exit 0" test "$FERRY_RC" = 0
check "xml: the graphics element is there, its listen address mapped to hostB" \
    grep -q "<graphics type='vnc' port='-1' autoport='yes' listen='$(lab_ip b)'>" "$OUT/out"
check "xml: no password printed" no_password
ferry xml $g --to hostB --xml-only
check "xml --xml-only: exit 0, no password printed" sh -c "test '$FERRY_RC' = 0 && ! grep -qF '$pw' '$OUT/out' '$OUT/err'"
ferry xml $g --to hostB --json
check "xml --json: exit 0, no password printed" sh -c "test '$FERRY_RC' = 0 && ! grep -qF '$pw' '$OUT/out' '$OUT/err'"

# ---- ferry xml --file, from definitions that hold the password ----
hx a cat /etc/libvirt/qemu/$g.xml >"$OUT/saved.xml"
check "setup: hostA's saved definition holds the password" grep -qF "passwd='$pw'" "$OUT/saved.xml"
ferry xml --file "$OUT/saved.xml" --from hostA --to hostB
check "xml --file: exit 0, the graphics element there, no password printed" \
    sh -c "test '$FERRY_RC' = 0 && grep -q '<graphics type=.vnc.' '$OUT/out' && ! grep -qF '$pw' '$OUT/out' '$OUT/err'"
sed -e "s|passwd='$pw'|passwd=\"$pw\" |" "$OUT/saved.xml" >"$OUT/saved-dq.xml"
check "setup: the double-quoted variant holds it" grep -qF "passwd=\"$pw\"" "$OUT/saved-dq.xml"
ferry xml --file "$OUT/saved-dq.xml" --from hostA --to hostB --json
check "xml --file --json, double quotes: exit 0, no password printed" \
    sh -c "test '$FERRY_RC' = 0 && ! grep -qF '$pw' '$OUT/out' '$OUT/err'"

# ---- ferry --verbose migrate --json ----
FERRY_RC=0
op timeout 300 "$FERRY_BIN" --verbose migrate $g --to hostB --json >"$OUT/out" 2>"$OUT/err" || FERRY_RC=$?
keep_json
check "migrate: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "migrate: its --json and --verbose output is there (stdout and stderr non-empty)" test -s "$OUT/out" -a -s "$OUT/err"
check "migrate: no password in its output" no_password
check "the guest runs on hostB only" only_on b $g running
check "hostB's live definition has the password" \
    sh -c "virsh -q -c 'qemu+unix:///system?socket=$LAB/b/run/libvirt/libvirt-sock' dumpxml --security-info $g | grep -qF \"passwd='$pw'\""
check "hostB's persistent definition has it too" \
    sh -c "virsh -q -c 'qemu+unix:///system?socket=$LAB/b/run/libvirt/libvirt-sock' dumpxml --inactive --security-info $g | grep -qF \"passwd='$pw'\""
check "hostB's VNC server, on hostB's address, asks for the password" \
    test "$(rfb_security b "$(vnc_port b $g)")" = 2

done_testing
