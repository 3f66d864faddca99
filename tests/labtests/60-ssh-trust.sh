#!/bin/bash
# ferry check ssh: every failure class of the host-to-host trust check, produced for real in the
# lab (keys removed, host keys replaced, sshd stopped, ...), each named with its own class and
# remedy, and each held against the hosts' own verdict: OpenSSH's client run on the host (or the
# fact it rests on: no such user, no key file, a key the user cannot read); the lab's ssh state
# is restored at the end.
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

# openssh FROM TO [SSH-OPTION...]: what OpenSSH's client says logging in as root from host FROM
# to host TO (FROM's own key and known_hosts), and "exit N" last.
openssh() {
    local from=$1 to=$2 rc=0 out
    shift 2
    out=$(hx "$from" timeout 20 ssh -o BatchMode=yes -o ConnectTimeout=5 "$@" "root@host$to" true 2>&1) || rc=$?
    printf '%s\nexit %s\n' "$out" "$rc"
}
# openssh_op ADDRESS [KEY]: the same from the operator machine, with ferry's known_hosts and key
# (as the inventory names them) or KEY
openssh_op() {
    local rc=0 out
    out=$(op timeout 20 ssh -o BatchMode=yes -o ConnectTimeout=5 -o IdentitiesOnly=yes \
        -o UserKnownHostsFile="$LAB/op/known_hosts" -i "${2:-$LAB/op/id_ed25519}" "root@$1" true 2>&1) || rc=$?
    printf '%s\nexit %s\n' "$out" "$rc"
}
# agrees WHAT PATTERN OUTPUT: the hosts' verdict (OUTPUT of openssh...) matches PATTERN
agrees() {
    if grep -qE -- "$2" <<<"$3"; then ok "$1"; else
        not_ok "$1"
        sed 's/^/# /' <<<"$3"
    fi
}
# every_pair_logs_in: OpenSSH logs in from every host to every other one
every_pair_logs_in() {
    local h o bad=0
    for h in $LAB_HOSTS; do
        for o in $LAB_HOSTS; do
            [ "$h" != "$o" ] || continue
            grep -qx "exit 0" <<<"$(openssh "$h" "$o")" || { echo "# OpenSSH host$h -> host$o fails" >&2; bad=1; }
        done
    done
    return $bad
}

ssh_state_save
on_exit 'ssh_state_restore'

# -- everything in order
ferry check ssh --all
check "--all on the lab: exit 0" test "$FERRY_RC" = 0
check "--all: this machine reaches every host, and the matrix has a row per host, all ok" \
    test "$(grep -cE '^this machine -> host[ABC]: ok$' "$OUT/out") $(grep -cE '^host[ABC] ' "$OUT/out")" = "3 3" -a "$(grep -oE '\bok\b' "$OUT/out" | wc -l)" = 9
[ "$FERRY_RC" = 0 ] || diag "$OUT/out" "$OUT/err"
check "the hosts agree: OpenSSH logs in between every two hosts" every_pair_logs_in
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
agrees "source unreachable: the hosts agree, nothing listens on $(lab_ip s):22" \
    "Connection refused" "$(openssh_op "$(lab_ip s)")"

# -- ferry's own login to A refused: a key nobody authorized
ssh-keygen -q -t ed25519 -N '' -f "$OUT/stranger"
inv=$(inventory a-refused "s|^ssh_key = .*|ssh_key = $OUT/stranger|")
ferry --config "$inv" check ssh --from hostA --to hostB
expect_class "login to source refused" src-login-refused
agrees "login to source refused: the hosts agree, hostA's sshd refuses that key" \
    "Permission denied \(publickey\)" "$(openssh_op "$(lab_ip a)" "$OUT/stranger")"

# -- migration user missing on A
inv=$(inventory user-missing "/^\[ferry\]/a migration_user = nosuchuser")
ferry --config "$inv" check ssh --from hostA --to hostB
expect_class "user missing" user-missing
check "user missing: names the user" ferry_output_has "'nosuchuser' does not exist"
# getent's exit status 2: the key was not found in the database
agrees "user missing: the hosts agree, hostA has no user 'nosuchuser'" "^exit 2$" \
    "$(hx a sh -c 'getent passwd nosuchuser; echo "exit $?"' 2>&1)"

# -- no private key
inv=$(inventory no-key "/^\[ferry\]/a migration_key = /root/.ssh/id_missing")
ferry --config "$inv" check ssh --from hostA --to hostB
expect_class "no key" no-key
check "no key: the hosts agree, hostA has no /root/.ssh/id_missing" \
    test "$(file_state a /root/.ssh/id_missing)" = absent

# -- another user (run through runuser) who cannot read the configured key
inv=$(inventory unreadable-key "/^\[ferry\]/a migration_user = nobody\nmigration_key = /root/.ssh/id_ed25519")
ferry --config "$inv" check ssh --from hostA --to hostB
expect_class "key unreadable for the migration user" no-key
check "key unreadable: says user 'nobody' cannot use it" ferry_output_has "user 'nobody' cannot use private key"
agrees "key unreadable: the hosts agree, 'nobody' cannot read it on hostA" "Permission denied" \
    "$(hx a runuser -u nobody -- head -c1 /root/.ssh/id_ed25519 2>&1 || true)"

# -- B's host key unknown to A
sed -i '/^hostb,/d' "$LAB/a/rootssh/known_hosts"
ferry check ssh --from hostA --to hostB
expect_class "host key unknown" hostkey-unknown
agrees "host key unknown: the hosts agree, OpenSSH on hostA does not know hostB's key" \
    "No ED25519 host key is known for hostb|Host key verification failed" "$(openssh a b -o StrictHostKeyChecking=yes)"
ssh_state_restore

# -- B's host key changed (another key recorded under B's names)
ssh-keygen -q -t ed25519 -N '' -f "$OUT/otherhostkey"
sed -i "s|^\(hostb,[^ ]*\) .*|\1 $(cut -d' ' -f1,2 "$OUT/otherhostkey.pub")|" "$LAB/a/rootssh/known_hosts"
ferry check ssh --from hostA --to hostB
expect_class "host key changed" hostkey-changed
agrees "host key changed: the hosts agree, OpenSSH on hostA sees another key for hostB" \
    "REMOTE HOST IDENTIFICATION HAS CHANGED" "$(openssh a b)"
ssh_state_restore

# -- A's key not in B's authorized_keys
grep -vF "$(cut -d' ' -f2 "$LAB/a/rootssh/id_ed25519.pub")" "$OUT/authorized_keys.b" >"$LAB/b/rootssh/authorized_keys"
ferry check ssh --from hostA --to hostB
expect_class "key not authorized" key-refused
agrees "key not authorized: the hosts agree, hostB's sshd refuses hostA's key" \
    "Permission denied \(publickey\)" "$(openssh a b)"
ssh_state_restore

# -- B unreachable from A: B's sshd stopped
sshd_stop b
ferry check ssh --from hostA --to hostB
expect_class "destination unreachable" dst-unreachable
agrees "destination unreachable: the hosts agree, nothing listens on hostB:22 for hostA" \
    "Connection refused" "$(openssh a b)"
ferry check ssh --all
check "--all with hostB down: exit 1" test "$FERRY_RC" = 1
[ "$FERRY_RC" = 1 ] || { echo "# exit status $FERRY_RC"; diag "$OUT/out" "$OUT/err"; }
check "--all: hostA row shows dst-unreachable for hostB" grep -qE '^hostA +- +dst-unreachable +ok' "$OUT/out"
check "--all: hostB row is src-unreachable" grep -qE '^hostB +src-unreachable +- +src-unreachable' "$OUT/out"
check "--all: this machine cannot reach hostB either" grep -q "^this machine -> hostB: unreachable$" "$OUT/out"
check "--all: says how many hops failed (this machine -> hostB, and 4 pairs)" grep -q "^5 of 9 hops failed" "$OUT/out"
agrees "--all: the hosts agree, hostC cannot reach hostB either" "Connection refused" "$(openssh c b)"
agrees "--all: the hosts agree, ferry cannot log in to hostB" "Connection refused" "$(openssh_op "$(lab_ip b)")"
ssh_state_restore

# -- an RSA key: OpenSSH's client manages, libssh2 1.10 would not
ssh-keygen -q -t rsa -b 2048 -N '' -f "$LAB/a/rootssh/id_rsa"
cat "$LAB/a/rootssh/id_rsa.pub" >>"$LAB/b/rootssh/authorized_keys"
inv=$(inventory rsa "/^\[ferry\]/a migration_key = /root/.ssh/id_rsa")
ferry --config "$inv" check ssh --from hostA --to hostB
expect_class "RSA key" rsa-key
check "RSA key: recommends ed25519" grep -q "remedy: .*ed25519" "$OUT/out"
agrees "RSA key: OpenSSH's own client logs in with it from hostA to hostB" "^exit 0$" \
    "$(openssh a b -o IdentitiesOnly=yes -i /root/.ssh/id_rsa)"
ssh_state_restore

ferry check ssh --all
check "lab restored: --all exit 0 again" test "$FERRY_RC" = 0
check "lab restored: OpenSSH logs in between every two hosts again" every_pair_logs_in
done_testing
