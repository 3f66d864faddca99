#!/bin/bash
# Fault b: the link between the two hosts goes down for 40 s in the middle of a peer-to-peer
# block migration (hostA drops every packet to and from hostB; ferry still reaches both), then
# comes back.  libvirt gives the job up when its keepalive between the hosts does (~30 s), the
# guest goes on running on hostA.  ferry decides from what both hosts say, not from libvirt's
# message: the guest runs on hostA only, so it rolls back and removes the image it made on
# hostB, once libvirt has removed the paused incoming copy there.  On the hosts: the guest runs
# on hostA only, not paused, its disk contents intact; nothing of it is left on hostB.
. "$(dirname "$0")/lib.sh"
g=t92-local
remove_guest $g
"$LAB_DIR/guest.sh" create $g local a --no-start
before=$(checksum $g a)
lv a start $g >/dev/null
img=$(image_path b $g)
ipb=$(lab_ip b)
link() { hx a iptables "$1" OUTPUT -d "$ipb" -j DROP && hx a iptables "$1" INPUT -s "$ipb" -j DROP; }
relink() { while hx a iptables -D OUTPUT -d "$ipb" -j DROP 2>/dev/null; do :; done
    while hx a iptables -D INPUT -s "$ipb" -j DROP 2>/dev/null; do :; done; }
on_exit "remove_guest $g"
on_exit relink

job_running() { local j; j=$(lv a domjobinfo $g 2>/dev/null) && grep -q '^Job type: *Unbounded' <<<"$j"; }
(exec ip netns exec "$P-op" env FERRY_CONFIG="$LAB/inventory.ini" \
    timeout -k 10 170 "$FERRY_BIN" migrate $g --to hostB --bandwidth 1 --on-timeout none \
    >"$OUT/out" 2>"$OUT/err") &
ferry_pid=$!
for _ in $(seq 100); do job_running && break; sleep 0.1; done
check "the migration runs on hostA when the link goes down" job_running
check "... hostB holds the image ferry made and the incoming qemu" \
    test "$(file_state b "$img")/$(qemu_count b $g)" = present/1
link -I
t0=$SECONDS
sleep 40
relink
check "hostA reaches hostB again (its sshd)" hx a timeout 5 bash -c ": </dev/tcp/$ipb/22"
FERRY_RC=0
wait $ferry_pid || FERRY_RC=$?
diag "$OUT/err"
check "ferry exits 1" test "$FERRY_RC" = 1
check "ferry asked both hosts and found the guest on hostA only" \
    ferry_output_has "where '$g' is: 'hostA' has it running, 'hostB' has no such domain (on the source)"
check "the error says the guest stays on hostA" ferry_output_has "'$g' stays on 'hostA'"
check "the guest runs on hostA, and only there (not paused)" only_on a $g running
check "one qemu process for it on hostA, none on hostB" test "$(qemu_count a $g)/$(qemu_count b $g)" = 1/0
check "ferry removed the image it made on hostB" test "$(file_state b "$img")" = absent
check "no saved definition on hostB" test "$(file_state b /etc/libvirt/qemu/$g.xml)" = absent
check "hostA's image and definition are still there" \
    test "$(file_state a "$(image_path a $g)")/$(file_state a /etc/libvirt/qemu/$g.xml)" = present/present
lv a destroy $g >/dev/null
check "its disk contents are intact" test "$(checksum $g a)" = "$before"
diag <<<"wall time after the link went down: $((SECONDS - t0)) s"
done_testing
