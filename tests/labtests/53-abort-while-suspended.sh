#!/bin/bash
# SIGTERM after ferry's policy suspended the guest: the job is aborted and the guest is resumed
# on its source -- never left paused, never on two hosts.  hostA's libvirt events show the
# pause and the resume (and how long the guest was paused, which ferry reports); hostB's show
# the incoming guest never ran there.
. "$(dirname "$0")/lib.sh"
g=t53-dirty
remove_guest $g
"$LAB_DIR/guest.sh" create $g dirty a "mib=64"
sleep 1
events_start a
events_start b
diff_s() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "") printf "%.3f", b - a }'; }

# Timeout at 3 s; the suspend lands at the end of the pass then running (the first ends at
# ~7.5 s; ferry-suspend-timing.c) and the paused pass would take ~7 s more: SIGTERM 1 s after
# hostA shows the guest paused.
FERRY_RC=0
t0=$EPOCHREALTIME # ferry's timeout counts from its migration call, which comes after this
# (not through op(), a shell function: in the background its PID would be a subshell's; ip
# netns exec and env exec, so this PID is timeout's, which passes the SIGTERM on to ferry)
ip netns exec "$P-op" env FERRY_CONFIG="$LAB/inventory.ini" \
    timeout -k 30 -s TERM --preserve-status 60 "$FERRY_BIN" migrate $g --to hostB --bandwidth 10 \
    --timeout 3 >"$OUT/out" 2>"$OUT/err" &
ferry_pid=$!
for _ in $(seq 400); do [ "$(state a $g)" = paused ] && break; sleep 0.1; done
sleep 1
kill -TERM $ferry_pid
wait $ferry_pid || FERRY_RC=$?
sleep 0.3
{ events a $g; events b $g; } | sed 's/^/# /' | cut -c1-160
check "ferry exits 1 on SIGTERM" test "$FERRY_RC" = 1
check "the policy had suspended the guest" ferry_output_has "suspend: completion timeout 3.0 s"
paused=$(event_time a $g '^lifecycle Suspended' || true)
resumed=$(event_time a $g '^lifecycle Resumed' || true)
at=$(diff_s "$t0" "$paused")
# after the 3 s timeout (counted from the migration call, which follows ferry's start by its
# pre-checks, about 1 s), at the end of a pass
check "hosts: hostA paused the guest ${at:-?} s after ferry started: after the 3 s timeout, at the end of a pass" \
    awk -v x="${at:-x}" 'BEGIN { exit !(x ~ /^[0-9.]+$/ && x >= 3 && x <= 25) }'
check "ferry says it resumed the guest on hostA and for how long it was suspended" \
    grep -qE "'$g' runs on hostA again \(resumed by (ferry|libvirt)\); ferry had suspended it for [0-9.]+ s" "$OUT/err"
said=$(sed -n "s/.*ferry had suspended it for \([0-9.]*\) s.*/\1/p" "$OUT/err")
said=${said%%$'\n'*}
pause=$(diff_s "$paused" "$resumed")
check "hosts: hostA resumed it ${pause:-?} s after pausing it, as ferry says (${said:-?} s, +-0.6 s)" \
    within "${said:-x}" "${pause:-y}" 0.6
check "the guest runs on hostA (not paused)" test "$(state a $g)" = running
[ "$(state a $g)" = running ] || diag "$OUT/err"
check "the guest is not on hostB" test "$(state b $g)" = absent
check "never on two hosts: hostB never resumed the incoming guest, no qemu for it is left there" \
    test -z "$(events b $g | grep ' lifecycle Resumed')" -a "$(qemu_count b $g)" = 0
check "hostA has no job left" test "$(lv a domjobinfo $g | awk '/^Job type/ {print $3}')" = None

remove_guest $g
done_testing
