#!/bin/bash
# Fault g: the source's libvirtd is killed (SIGKILL) in the middle of a peer-to-peer block
# migration, and started again 10 s later.  The guest's qemu on hostA lives on; the job dies
# with the daemon that ran it.  ferry's call fails; ferry does not take that for the truth: it
# connects to hostA again once its libvirtd is back, asks both hosts, finds the guest running on
# hostA only, and rolls back: the image it made on hostB is removed (no domain there uses it).
# On the hosts: the guest runs on hostA only, not paused, its disk contents intact; hostB has no
# domain, no qemu process, no image and no saved definition for it.
# Then hostC's libvirtd hangs (SIGSTOP): ferry's libvirt connect deadline (issue 10 item 9).
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

# A hung libvirtd (stopped, not dead: it accepts connections and never answers) costs ferry its
# connect deadline ([ferry] connect_timeout, 10 s by default), not forever: looking a guest up
# on every host still works, and a migration to the hung host fails naming it.
kill -STOP "$(cat "$LAB/c/run/libvirtd.pid")"
on_exit 'kill -CONT "$(cat "$LAB/c/run/libvirtd.pid")"'
t1=$SECONDS
ferry xml ga-local --to hostB --xml-only
check "with hostC's libvirtd hung, 'ferry xml' (asks every host) still finds ga-local, in $((SECONDS - t1)) s (< 30 s)" \
    test "$FERRY_RC/$((SECONDS - t1 < 30))" = 0/1
t1=$SECONDS
ferry migrate ga-local --to hostC
diag "$OUT/err"
check "a migration to hostC is refused (exit 2, nothing changed) in $((SECONDS - t1)) s (< 40 s), naming hostC and its deadline" \
    test "$FERRY_RC/$((SECONDS - t1 < 40))" = 2/1
check "... the error says hostC's libvirtd gave no answer within 10 s" \
    ferry_output_has "cannot connect to libvirt on 'hostC' (qemu+tcp://$(lab_ip c)/system): no answer within 10 s"
kill -CONT "$(cat "$LAB/c/run/libvirtd.pid")"
check "ga-local still runs on hostA only" only_on a ga-local running
done_testing
