#!/bin/bash
# The destination's libvirtd dies in the middle of a migration: ferry fails with an error that
# says so, the guest keeps running on its source, and once that libvirtd is back the guest is
# not running there too.
. "$(dirname "$0")/lib.sh"
g=t52-dirty
remove_guest $g
"$LAB_DIR/guest.sh" create $g dirty a "mib=64"

start_libvirtd_b() {
    hx b /usr/sbin/libvirtd --listen --daemon --pid-file /run/libvirtd.pid \
        --config /etc/libvirt/libvirtd.conf
    for _ in $(seq 300); do lv b uri >/dev/null 2>&1 && return 0; sleep 0.05; done
    return 1
}
# Whatever happens, hostB's libvirtd must be running again for the next tests.
on_exit 'lv b uri >/dev/null 2>&1 || start_libvirtd_b'
sleep 1

FERRY_RC=0
op timeout -k 30 60 "$FERRY_BIN" migrate $g --to hostB --bandwidth 10 --on-timeout none \
    >"$OUT/out" 2>"$OUT/err" &
ferry_pid=$!
sleep 5
check "the migration is still running after 5 s" test "$(lv a domjobinfo $g | awk '/^Job type/ {print $3}')" = Unbounded
kill -9 "$(cat "$LAB/b/run/libvirtd.pid")"
wait $ferry_pid || FERRY_RC=$?
check "ferry exits 1" test "$FERRY_RC" = 1
diag "$OUT/err"
check "the error says the connection to hostB's libvirtd was lost" ferry_output_has "connection to the libvirtd of 'hostB' is lost"
check "the error names the failed migration to hostB" \
    ferry_output_has "migration of '$g' from 'hostA' to 'hostB' failed"
check "the error says the guest stays on hostA" ferry_output_has "'$g' stays on 'hostA'"
check "the guest runs on hostA" test "$(state a $g)" = running

check "hostB's libvirtd starts again" start_libvirtd_b
sleep 1
check "the guest is not on hostB (the half-migrated copy was removed)" test "$(state b $g)" = absent
check "the guest still runs on hostA" test "$(state a $g)" = running

remove_guest $g
done_testing
