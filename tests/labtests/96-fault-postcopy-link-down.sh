#!/bin/bash
# Fault f: post-copy, and the link between the hosts goes down right after the switch, for 45 s.
# From the switch on, the guest's memory is split between hostA and hostB: the source must never
# run again and nothing may be deleted.  libvirt's call fails (its keepalive between the hosts
# gives up); ferry asks both hosts, sees post-copy, lets it run for a while, then pauses it
# (VIR_DOMAIN_ABORT_JOB_POSTCOPY) and retries VIR_MIGRATE_POSTCOPY_RESUME until the link is
# back: the migration completes.  On the hosts: the guest runs on hostB only, not paused, a
# single qemu process for it; hostA never ran it again (no Resumed event there after the switch)
# and holds no definition of it.  (The dirtying guest has no disk: post-copy moves memory.)
. "$(dirname "$0")/lib.sh"
g=t96-dirty
remove_guest $g
"$LAB_DIR/guest.sh" create $g dirty a "mib=64"
ipb=$(lab_ip b)
link() { hx a iptables -I OUTPUT -d "$ipb" -j DROP && hx a iptables -I INPUT -s "$ipb" -j DROP; }
relink() { while hx a iptables -D OUTPUT -d "$ipb" -j DROP 2>/dev/null; do :; done
    while hx a iptables -D INPUT -s "$ipb" -j DROP 2>/dev/null; do :; done; }
on_exit "remove_guest $g"
on_exit relink
on_exit '"$LAB_DIR/shape.sh" off'
# 40 Mbit/s: the dirtying guest does not converge, and post-copy takes a while
"$LAB_DIR/shape.sh" 40mbit
events_start a
events_start b

reason() { lv a domstate --reason $g 2>/dev/null || true; }
(exec ip netns exec "$P-op" env FERRY_CONFIG="$LAB/inventory.ini" \
    timeout -k 10 200 "$FERRY_BIN" migrate $g --to hostB --timeout 4 --postcopy \
    --on-timeout postcopy >"$OUT/out" 2>"$OUT/err") &
ferry_pid=$!
dst_reason() { lv b domstate --reason $g 2>/dev/null || true; }
# after the switch: hostA paused by post-copy, hostB running the guest in post-copy
for _ in $(seq 300); do [[ $(dst_reason) == "running (post-copy)" ]] && break; sleep 0.1; done
check "the job switched to post-copy (hostA: $(reason); hostB: $(dst_reason))" \
    test "$(reason)/$(dst_reason)" = "paused (post-copy)/running (post-copy)"
link
t0=$SECONDS
sleep 45
check "45 s after the link went down, hostA has not run the guest again ($(reason))" \
    test "$(lv a domstate $g 2>/dev/null || true)" != running
relink
FERRY_RC=0
wait $ferry_pid || FERRY_RC=$?
diag "$OUT/err"
check "ferry exits 0 (rc $FERRY_RC)" test "$FERRY_RC" = 0
check "ferry saw the post-copy and did not resume the source" \
    ferry_output_has "post-copy of '$g' started and did not finish: ferry recovers it"
check "ferry resumed the post-copy (VIR_MIGRATE_POSTCOPY_RESUME)" \
    ferry_output_has "post-copy of '$g' resumed and completed (VIR_MIGRATE_POSTCOPY_RESUME)"
check "the guest runs on hostB, and only there (not paused)" only_on b $g running
check "it is persistent on hostB" persistent b $g
check "one qemu process for it on hostB, none on hostA" test "$(qemu_count b $g)/$(qemu_count a $g)" = 1/0
check "no saved definition on hostA" test "$(file_state a /etc/libvirt/qemu/$g.xml)" = absent
sleep 0.3
{ events a $g; events b $g; } | sed 's/^/# /' | cut -c1-160
# hostA's events show the switch, and no Resumed after it
never_resumed_after_switch() {
    local e
    e=$(events a $g) || return 1
    grep -q 'Suspended Post-copy' <<<"$e" || return 1
    ! awk '/Suspended Post-copy/ {s = 1} s && /lifecycle Resumed/ {r = 1} END {exit !r}' <<<"$e"
}
check "hostA never resumed the guest after the switch" never_resumed_after_switch
diag <<<"wall time after the link went down: $((SECONDS - t0)) s"
done_testing
