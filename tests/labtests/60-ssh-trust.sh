#!/bin/bash
# ferry check ssh: every failure class of the host-to-host trust check, produced for real in the
# lab (keys removed, host keys replaced, sshd stopped, ...), each named with its own class and
# remedy; the lab's ssh state is restored at the end.
. "$(dirname "$0")/lib.sh"

ssh_state_save() {
    for h in $LAB_HOSTS; do
        cp -p "$LAB/$h/rootssh/authorized_keys" "$OUT/authorized_keys.$h"
        cp -p "$LAB/$h/rootssh/known_hosts" "$OUT/known_hosts.$h"
    done
}
ssh_state_restore() {
    for h in $LAB_HOSTS; do
        cp -p "$OUT/authorized_keys.$h" "$LAB/$h/rootssh/authorized_keys"
        cp -p "$OUT/known_hosts.$h" "$LAB/$h/rootssh/known_hosts"
    done
    rm -f "$LAB/a/rootssh/id_rsa" "$LAB/a/rootssh/id_rsa.pub"
    sshd_start b
}
sshd_running() { [ -s "$LAB/$1/run/sshd.pid" ] && kill -0 "$(cat "$LAB/$1/run/sshd.pid")" 2>/dev/null; }
sshd_start() {
    sshd_running "$1" || hx "$1" /usr/sbin/sshd -f "$LAB/$1/sshd/sshd_config" -E "$LAB/$1/log/sshd.log"
}
sshd_stop() {
    local pid
    pid=$(cat "$LAB/$1/run/sshd.pid")
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}
# inventory NAME SED-EXPRESSION...: a modified copy of the lab inventory.
inventory() {
    local f="$OUT/$1.ini"
    shift
    sed "$@" "$LAB/inventory.ini" >"$f"
    echo "$f"
}
# expect_class WHAT CLASS: the last `ferry check ssh` failed with exit 1, naming CLASS and a remedy.
expect_class() {
    check "$1: exit status 1" test "$FERRY_RC" = 1
    check "$1: class '$2'" grep -q "^hostA -> hostB: $2\$" "$OUT/out"
    check "$1: prints a remedy" grep -q "^  remedy: " "$OUT/out"
    grep -q "^hostA -> hostB: $2\$" "$OUT/out" || diag "$OUT/out" "$OUT/err"
}

ssh_state_save
on_exit 'ssh_state_restore'

# -- everything in order
ferry check ssh --all
check "--all on the lab: exit 0" test "$FERRY_RC" = 0
check "--all: matrix has a row per host, all ok" \
    test "$(grep -cE '^host[ABC] ' "$OUT/out")" = 3 -a "$(grep -oE '\bok\b' "$OUT/out" | wc -l)" = 6
[ "$FERRY_RC" = 0 ] || diag "$OUT/out" "$OUT/err"
ferry check ssh --from hostA --to hostB
check "hostA -> hostB: ok" grep -q "^hostA -> hostB: ok$" "$OUT/out"

# -- usage errors
ferry check ssh --all --from hostA
check "--all with --from: exit 2" test "$FERRY_RC" = 2
ferry check ssh --from hostA
check "missing --to: exit 2" test "$FERRY_RC" = 2
ferry check ssh --from hostA --to hostZ
check "unknown host: exit 2" test "$FERRY_RC" = 2

# -- A unreachable: the storage host runs no sshd
inv=$(inventory a-unreachable "/^\[host hostA\]/,/^\[/ s/^ssh_host = .*/ssh_host = $(lab_ip s)/")
ferry --config "$inv" check ssh --from hostA --to hostB
expect_class "source unreachable" src-unreachable

# -- ferry's own login to A refused: a key nobody authorized
ssh-keygen -q -t ed25519 -N '' -f "$OUT/stranger"
inv=$(inventory a-refused "s|^ssh_key = .*|ssh_key = $OUT/stranger|")
ferry --config "$inv" check ssh --from hostA --to hostB
expect_class "login to source refused" src-login-refused

# -- migration user missing on A
inv=$(inventory user-missing "/^\[ferry\]/a migration_user = nosuchuser")
ferry --config "$inv" check ssh --from hostA --to hostB
expect_class "user missing" user-missing
check "user missing: names the user" ferry_output_has "'nosuchuser' does not exist"

# -- no private key
inv=$(inventory no-key "/^\[ferry\]/a migration_key = /root/.ssh/id_missing")
ferry --config "$inv" check ssh --from hostA --to hostB
expect_class "no key" no-key

# -- another user (run through runuser) who cannot read the configured key
inv=$(inventory unreadable-key "/^\[ferry\]/a migration_user = nobody\nmigration_key = /root/.ssh/id_ed25519")
ferry --config "$inv" check ssh --from hostA --to hostB
expect_class "key unreadable for the migration user" no-key
check "key unreadable: says user 'nobody' cannot use it" ferry_output_has "user 'nobody' cannot use private key"

# -- B's host key unknown to A
sed -i '/^hostb,/d' "$LAB/a/rootssh/known_hosts"
ferry check ssh --from hostA --to hostB
expect_class "host key unknown" hostkey-unknown
ssh_state_restore

# -- B's host key changed (another key recorded under B's names)
ssh-keygen -q -t ed25519 -N '' -f "$OUT/otherhostkey"
sed -i "s|^\(hostb,[^ ]*\) .*|\1 $(cut -d' ' -f1,2 "$OUT/otherhostkey.pub")|" "$LAB/a/rootssh/known_hosts"
ferry check ssh --from hostA --to hostB
expect_class "host key changed" hostkey-changed
ssh_state_restore

# -- A's key not in B's authorized_keys
grep -vF "$(cut -d' ' -f2 "$LAB/a/rootssh/id_ed25519.pub")" "$OUT/authorized_keys.b" >"$LAB/b/rootssh/authorized_keys"
ferry check ssh --from hostA --to hostB
expect_class "key not authorized" key-refused
ssh_state_restore

# -- B unreachable from A: B's sshd stopped
sshd_stop b
ferry check ssh --from hostA --to hostB
expect_class "destination unreachable" dst-unreachable
ferry check ssh --all
check "--all with hostB down: exit 1" test "$FERRY_RC" = 1
[ "$FERRY_RC" = 1 ] || { echo "# exit status $FERRY_RC"; diag "$OUT/out" "$OUT/err"; }
check "--all: hostA row shows dst-unreachable for hostB" grep -qE '^hostA +- +dst-unreachable +ok' "$OUT/out"
check "--all: hostB row is src-unreachable" grep -qE '^hostB +src-unreachable +- +src-unreachable' "$OUT/out"
check "--all: says how many pairs failed" grep -q "^4 of 6 pairs failed" "$OUT/out"
ssh_state_restore

# -- an RSA key: OpenSSH's client manages, libssh2 1.10 would not
ssh-keygen -q -t rsa -b 2048 -N '' -f "$LAB/a/rootssh/id_rsa"
cat "$LAB/a/rootssh/id_rsa.pub" >>"$LAB/b/rootssh/authorized_keys"
inv=$(inventory rsa "/^\[ferry\]/a migration_key = /root/.ssh/id_rsa")
ferry --config "$inv" check ssh --from hostA --to hostB
expect_class "RSA key" rsa-key
check "RSA key: recommends ed25519" grep -q "remedy: .*ed25519" "$OUT/out"
ssh_state_restore

ferry check ssh --all
check "lab restored: --all exit 0 again" test "$FERRY_RC" = 0
done_testing
