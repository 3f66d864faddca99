#!/bin/bash
# Fault a: ferry's own connection to the source's libvirtd is cut for 40 s in the middle of a
# peer-to-peer block migration (the operator machine drops its packets to hostA:16509; the hosts
# still reach each other).  libvirt's job runs inside hostA's libvirtd and carries on; ferry's
# call fails when its keepalive gives up.  ferry must not take that failure for the truth: it
# connects again once the link is back, asks both hosts, finds the guest running on hostB and
# gone from hostA, and finishes (verify, source copy removed) -- nothing deleted under the
# running guest, the guest in exactly one place, not paused, its disk contents intact.
. "$(dirname "$0")/lib.sh"
g=t91-local
remove_guest $g
"$LAB_DIR/guest.sh" create $g local a --no-start
before=$(checksum $g a)
lv a start $g >/dev/null
img=$(image_path b $g)
cut="OUTPUT -d $(lab_ip a) -p tcp --dport 16509 -j DROP"
uncut() { ip netns exec "$P-op" iptables -D $cut 2>/dev/null || true; }
on_exit uncut
on_exit "remove_guest $g"

job_running() { local j; j=$(lv a domjobinfo $g 2>/dev/null) && grep -q '^Job type: *Unbounded' <<<"$j"; }
(exec ip netns exec "$P-op" env FERRY_CONFIG="$LAB/inventory.ini" \
    timeout -k 10 170 "$FERRY_BIN" migrate $g --to hostB --bandwidth 1 --on-timeout none \
    >"$OUT/out" 2>"$OUT/err") &
ferry_pid=$!
for _ in $(seq 100); do job_running && break; sleep 0.1; done
check "the migration runs on hostA when ferry's connection is cut" job_running
ip netns exec "$P-op" iptables -I $cut
t0=$SECONDS
sleep 40
check "after the 40 s cut, ferry is still at work (it had no answer from hostA)" kill -0 $ferry_pid
uncut
FERRY_RC=0
wait $ferry_pid || FERRY_RC=$?
diag "$OUT/err"
check "ferry exits 0: it found the guest moved although libvirt's call failed (rc $FERRY_RC)" \
    test "$FERRY_RC" = 0
check "ferry says it asked the hosts and found the guest on hostB" \
    ferry_output_has "but '$g' runs on hostB and is gone from hostA: it has moved"
check "ferry says it connected to hostA again" ferry_output_has "connected to the libvirtd of hostA again"
check "the guest runs on hostB, and only there (not paused)" only_on b $g running
check "it is persistent on hostB" persistent b $g
check "one qemu process for it on hostB, none on hostA" test "$(qemu_count b $g)/$(qemu_count a $g)" = 1/0
check "hostB's image (the one the guest runs from) is there" test "$(file_state b "$img")" = present
check "qemu on hostB has it open" qemu_opened b $g "$img"
check "the stale source copy on hostA was removed" image_absent a $g
check "no saved definition left on hostA" test "$(file_state a /etc/libvirt/qemu/$g.xml)" = absent
lv b destroy $g >/dev/null
check "its disk contents on hostB are those it had on hostA" test "$(checksum $g b)" = "$before"
diag <<<"wall time after the cut began: $((SECONDS - t0)) s"
done_testing
