#!/bin/bash
# ferry migrate --tls: QEMU encrypts the memory and NBD disk streams (VIR_MIGRATE_TLS) with the
# lab's certificates (tests/lab/up.sh: a CA, per-host server and client certificates in each
# host's private /etc/libvirt/pki/qemu, named by its qemu.conf).  A block migration there and
# back moves the guest intact.  That TLS is really in use: a destination whose server
# certificate comes from another CA makes the job fail in the handshake (the guest stays on its
# source, running, nothing left behind).  A host without its certificate is refused by the
# precheck, naming the host and the file, and nothing changes.
. "$(dirname "$0")/lib.sh"

g=t42-tls
PKI=/etc/libvirt/pki/qemu
restore_pki() {
    local h
    for h in a b; do
        for f in server-cert.pem server-key.pem client-cert.pem; do
            if hx $h test -e $PKI/$f.t42; then hx $h mv -f $PKI/$f.t42 $PKI/$f; fi
        done
    done
}
cleanup() { restore_pki; remove_guest $g; }
on_exit cleanup
cleanup

"$LAB_DIR/guest.sh" create $g local a
lv a suspend $g >/dev/null
SUM0=$(checksum $g a)
lv a resume $g >/dev/null

# ---- there, encrypted
ferry migrate $g --to hostB --tls
check "--tls: block migration hostA -> hostB exits 0" test $FERRY_RC = 0
[ $FERRY_RC = 0 ] || diag "$OUT/err"
check "... libvirt was asked for TLS" grep -qE 'virDomainMigrateToURI3 .*\|TLS' "$OUT/err"
check "... it runs on hostB only" only_on b $g running
check "... no copy left on hostA" image_absent a $g
lv b suspend $g >/dev/null
check "... its disk is intact" test "$(checksum $g b)" = "$SUM0"
lv b resume $g >/dev/null

# ---- a destination whose server certificate another CA signed: the handshake fails
other=$OUT/other-ca
mkdir -p "$other"
certtool --generate-privkey --key-type=ecdsa --outfile "$other/ca-key.pem" 2>/dev/null
printf 'cn = "not the lab CA"\nca\ncert_signing_key\nexpiration_days = 1\n' >"$other/ca.info"
certtool --generate-self-signed --load-privkey "$other/ca-key.pem" --template "$other/ca.info" \
    --outfile "$other/ca-cert.pem" >/dev/null 2>&1
certtool --generate-privkey --key-type=ecdsa --outfile "$other/server-key.pem" 2>/dev/null
printf 'cn = "hosta"\ndns_name = "hosta"\nip_address = "%s"\ntls_www_server\nencryption_key\nsigning_key\nexpiration_days = 1\n' \
    "$(lab_ip a)" >"$other/server.info"
certtool --generate-certificate --load-privkey "$other/server-key.pem" \
    --load-ca-certificate "$other/ca-cert.pem" --load-ca-privkey "$other/ca-key.pem" \
    --template "$other/server.info" --outfile "$other/server-cert.pem" >/dev/null 2>&1
for f in server-cert.pem server-key.pem; do
    hx a mv $PKI/$f $PKI/$f.t42
    hx a cp "$other/$f" $PKI/$f
done
ferry migrate $g --to hostA --tls
check "a server certificate from another CA on hostA: the job fails (exit 1)" test $FERRY_RC = 1
check "... in the TLS handshake: the error says so" grep -qiE 'certificate|tls|handshake' "$OUT/err"
grep -qiE 'certificate|tls|handshake' "$OUT/err" || diag "$OUT/err"
check "... the guest runs on hostB only" only_on b $g running
check "... nothing left on hostA" image_absent a $g
restore_pki

# ---- a host without its certificate: refused before anything moves
snapshot_take
hx a mv $PKI/server-cert.pem $PKI/server-cert.pem.t42
ferry migrate $g --to hostA --tls
check "no server certificate on the destination hostA: exit 2 (refused before anything moved)" test $FERRY_RC = 2
check "... one line naming hostA, the file and where the directory comes from" \
    test "$(grep -c "ferry: --tls: destination 'hostA' has no '$PKI/server-cert.pem' (the QEMU server certificate directory, default_tls_x509_cert_dir in /etc/libvirt/qemu.conf)" "$OUT/err")" = 1
restore_pki
hx b mv $PKI/client-cert.pem $PKI/client-cert.pem.t42
ferry migrate $g --to hostA --tls
check "no client certificate on the source hostB: exit 2, naming hostB and the file" \
    test $FERRY_RC = 2 -a "$(grep -c "source 'hostB' has no '$PKI/client-cert.pem'" "$OUT/err")" = 1
restore_pki
check "... nothing changed on the hosts" unchanged_since_snapshot

# ---- back, encrypted
ferry migrate $g --to hostA --tls
check "--tls: back to hostA exits 0" test $FERRY_RC = 0
check "... it runs on hostA only, nothing left on hostB" eval 'only_on a $g running && image_absent b $g'
lv a suspend $g >/dev/null
check "... its disk is intact" test "$(checksum $g a)" = "$SUM0"
lv a resume $g >/dev/null
done_testing
