#!/bin/bash
# Fault i: the destination's sshd is down (stopped: connection refused; or its packets dropped:
# no answer) when ferry is asked to move a guest with a local disk.  ferry refuses before
# anything moves: its message names the host and the failure, nothing changed on any host
# (domains, images, definitions), and the guest still runs on its source, not paused.  With the
# packets dropped, the refusal comes within the inventory's [ferry] ssh_connect_timeout.  And
# when hostA's known_hosts holds another key for hostB, or marks hostB's key @revoked, a cold
# copy is refused (hostkey-changed / hostkey-revoked), never relayed through ferry instead.
. "$(dirname "$0")/lib.sh"

g=t94-local
sshd_running() { [ -s "$LAB/$1/run/sshd.pid" ] && kill -0 "$(cat "$LAB/$1/run/sshd.pid")" 2>/dev/null; }
sshd_start() {
    sshd_running "$1" || hx "$1" /usr/sbin/sshd -f "$LAB/$1/sshd/sshd_config" -E "$LAB/$1/log/sshd.log"
}
sshd_stop() {
    local pid
    pid=$(cat "$LAB/$1/run/sshd.pid")
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    return 1
}
drop_ssh() { hx b iptables -"$1" INPUT -p tcp --dport 22 -j DROP; }
KH=$LAB/a/rootssh/known_hosts
cp -p "$KH" "$OUT/known_hosts.a"
cleanup() {
    cp -p "$OUT/known_hosts.a" "$KH"
    drop_ssh D 2>/dev/null || true
    sshd_start b
    remove_guest $g
}
on_exit cleanup
remove_guest $g
"$LAB_DIR/guest.sh" create $g local a
sleep 1

# ---- sshd stopped: connection refused -----------------------------------------------------------
sshd_stop b
snapshot_take
ferry migrate $g --to hostB
check "stopped: ferry exits 2" test "$FERRY_RC" = 2
[ "$FERRY_RC" = 2 ] || diag "$OUT/out" "$OUT/err"
check "stopped: the message names hostB and the refused connection" \
    grep -q "cannot connect to 'hostB' (.*): Connection refused" "$OUT/err"
check "stopped: nothing changed on any host (domains, images, definitions)" unchanged_since_snapshot
check "stopped: the guest runs on hostA only, not paused" only_on a $g running
check "stopped: ferry prepared nothing (no image created, no migration started)" \
    sh -c "! grep -q -e 'created .* image' -e '== migrate' '$OUT/out' '$OUT/err'"

# ---- sshd up, its packets dropped: no answer, bounded by ssh_connect_timeout ----------------------
sshd_start b
drop_ssh A
inv=$OUT/t94.ini
sed 's/^\[ferry\]$/[ferry]\nssh_connect_timeout = 3/' "$LAB/inventory.ini" >"$inv"
grep -q '^ssh_connect_timeout = 3$' "$inv"
snapshot_take
t0=$(date +%s.%N)
ferry --config "$inv" migrate $g --to hostB
t1=$(date +%s.%N)
took=$(echo "$t1 - $t0" | bc)
check "dropped: ferry exits 2" test "$FERRY_RC" = 2
[ "$FERRY_RC" = 2 ] || diag "$OUT/out" "$OUT/err"
check "dropped: the message names hostB and says no answer came within 3000 ms" \
    grep -q "cannot connect to 'hostB' (.*): no answer within 3000 ms" "$OUT/err"
check "dropped: refused within the configured deadline (took ${took}s, < 15 s)" \
    test "$(echo "$took < 15" | bc)" = 1
check "dropped: nothing changed on any host" unchanged_since_snapshot
check "dropped: the guest runs on hostA only, not paused" only_on a $g running
drop_ssh D

# ---- and an absurd deadline is refused naming the file and the key -------------------------------
sed 's/^\[ferry\]$/[ferry]\nssh_connect_timeout = 86400/' "$LAB/inventory.ini" >"$inv"
ferry --config "$inv" migrate $g --to hostB
check "absurd ssh_connect_timeout: exit 2, naming the file and the key" \
    sh -c "[ $FERRY_RC = 2 ] && grep -qF '$inv: [ferry] ssh_connect_timeout' '$OUT/err'"

# ---- hostB's identity in doubt: a cold copy stops, it is not relayed ----------------------------
lv a destroy $g >/dev/null
grep -q '^hostb,' "$KH"
ssh-keygen -q -t ed25519 -N '' -f "$OUT/otherkey"
sed -i "s|^\(hostb,[^ ]*\) .*|\1 $(cut -d' ' -f1,2 "$OUT/otherkey.pub")|" "$KH"
snapshot_take
ferry migrate $g --to hostB
check "changed key: exit 1, hostkey-changed, not relayed" \
    sh -c "[ $FERRY_RC = 1 ] && grep -q 'failed with hostkey-changed, which ferry does not work around by relaying' '$OUT/err'"
[ "$FERRY_RC" = 1 ] || diag "$OUT/out" "$OUT/err"
check "changed key: nothing moved (domains, images, definitions)" unchanged_since_snapshot
cp -p "$OUT/known_hosts.a" "$KH"
sed -n 's/^hostb,/@revoked hostb,/p' "$OUT/known_hosts.a" >>"$KH"
snapshot_take
ferry migrate $g --to hostB
check "revoked key (with its plain line still there): exit 1, hostkey-revoked, not relayed" \
    sh -c "[ $FERRY_RC = 1 ] && grep -q 'failed with hostkey-revoked, which ferry does not work around by relaying' '$OUT/err'"
[ "$FERRY_RC" = 1 ] || diag "$OUT/out" "$OUT/err"
check "revoked key: nothing moved" unchanged_since_snapshot
check "the guest is defined, shut off, on hostA only" test "$(where $g)" = "a=shut off b=absent c=absent"
done_testing
