#!/bin/bash
# Fault g: the source's libvirtd is killed (SIGKILL) in the middle of a peer-to-peer block
# migration, and started again 10 s later.  The guest's qemu on hostA lives on; the job dies
# with the daemon that ran it.  ferry's call fails; ferry does not take that for the truth: it
# connects to hostA again once its libvirtd is back, asks both hosts, finds the guest running on
# hostA only, and rolls back: the image it made on hostB is removed (no domain there uses it).
# On the hosts: the guest runs on hostA only, not paused, its disk contents intact; hostB has no
# domain, no qemu process, no image and no saved definition for it.
. "$(dirname "$0")/lib.sh"
g=t97-local
remove_guest $g
"$LAB_DIR/guest.sh" create $g local a --no-start
before=$(checksum $g a)
lv a start $g >/dev/null
img=$(image_path b $g)

start_libvirtd_a() {
    hx a /usr/sbin/libvirtd --listen --daemon --pid-file /run/libvirtd.pid \
        --config /etc/libvirt/libvirtd.conf
    for _ in $(seq 300); do lv a uri >/dev/null 2>&1 && return 0; sleep 0.05; done
    return 1
}
# whatever happens, hostA's libvirtd must run again for the next tests
on_exit "remove_guest $g"
on_exit 'lv a uri >/dev/null 2>&1 || start_libvirtd_a'

job_running() { local j; j=$(lv a domjobinfo $g 2>/dev/null) && grep -q '^Job type: *Unbounded' <<<"$j"; }
(exec ip netns exec "$P-op" env FERRY_CONFIG="$LAB/inventory.ini" \
    timeout -k 10 170 "$FERRY_BIN" migrate $g --to hostB --bandwidth 1 --on-timeout none \
    >"$OUT/out" 2>"$OUT/err") &
ferry_pid=$!
for _ in $(seq 100); do job_running && break; sleep 0.1; done
check "the migration runs on hostA" job_running
check "... hostB holds the image ferry made for it" test "$(file_state b "$img")" = present
t0=$SECONDS
kill -9 "$(cat "$LAB/a/run/libvirtd.pid")"
sleep 10
check "10 s after hostA's libvirtd was killed, ferry still waits for it" kill -0 $ferry_pid
check "hostA's libvirtd starts again" start_libvirtd_a
FERRY_RC=0
wait $ferry_pid || FERRY_RC=$?
diag "$OUT/err"
check "ferry exits 1" test "$FERRY_RC" = 1
check "ferry connected to hostA again and asked where the guest is" \
    ferry_output_has "connected to the libvirtd of hostA again"
check "ferry found it on hostA only" ferry_output_has "where '$g' is: 'hostA' has it running, 'hostB' has no such domain (on the source)"
check "the error names the failed migration" ferry_output_has "migration of '$g' from 'hostA' to 'hostB' failed"
check "the error says the guest stays on hostA" ferry_output_has "'$g' stays on 'hostA' (both hosts asked)"
check "the guest runs on hostA, and only there (not paused)" only_on a $g running
check "one qemu process for it on hostA, none on hostB" test "$(qemu_count a $g)/$(qemu_count b $g)" = 1/0
check "ferry removed the image it made on hostB" test "$(file_state b "$img")" = absent
check "no saved definition on hostB" test "$(file_state b /etc/libvirt/qemu/$g.xml)" = absent
check "hostA's image is still there" image_exists a $g
lv a destroy $g >/dev/null
check "its disk contents are intact" test "$(checksum $g a)" = "$before"
diag <<<"wall time after the kill: $((SECONDS - t0)) s"
done_testing
