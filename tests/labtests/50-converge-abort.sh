#!/bin/bash
# A guest that dirties memory faster than the link carries it never converges: neither
# `virsh migrate` nor ferry without a final action finish it (hostA's job is still copying,
# pass after pass, when it is stopped), Ctrl-C (SIGINT) aborts either and the guest keeps
# running on its source; ferry's 'abort' policy gives up by itself at its timeout, likewise.
# After each: the guest runs (never paused) on hostA only, no job is left on hostA and no qemu
# for it on hostB.
. "$(dirname "$0")/lib.sh"
g=t50-dirty
remove_guest $g
"$LAB_DIR/guest.sh" create $g dirty a "mib=64"
on_exit '"$LAB_DIR/shape.sh" off'
# the same shaped link as 51-converge-suspend-postcopy.sh, where ferry's policy completes it
"$LAB_DIR/shape.sh" 80mbit
sleep 1
events_start a
events_start b

# job_field HOST FIELD: a field of HOST's current job for the guest (virsh domjobinfo)
job_field() {
    local j
    j=$(lv "$1" domjobinfo $g) || return 1
    sed -n "s/^$2: *\([^ ]*\).*/\1/p" <<<"$j"
}
# still_copying WHAT: hostA's job is running, past its first pass, with memory left to send
still_copying() {
    local type iter left
    type=$(job_field a "Job type") iter=$(job_field a "Iteration") left=$(job_field a "Memory remaining")
    echo "# hostA's job: type $type, iteration $iter, memory remaining $left" >&2
    [ "$type" = Unbounded ] && [ "${iter:-0}" -ge 2 ] && [ "${left:-0}" != 0.000 ]
}
# left_clean: after an abort, the guest runs on hostA only, hostA has no job, hostB no qemu
left_clean() {
    only_on a $g running && test "$(job_field a "Job type")" = None && test "$(qemu_count b $g)" = 0
}

# --bandwidth 10 (MiB/s) with a 64 MiB hot set: pass after pass, never done (REPORT 3e).
# virsh with the same flags and no timeout action: still at it after 15 s.  It is stopped with
# domjobabort (virsh itself can hang after SIGINT, and a killed virsh leaves the job running).
op timeout -k 5 60 virsh -q -c "qemu+tcp://$(lab_ip a)/system" migrate --live --p2p \
    --persistent --undefinesource --bandwidth 10 $g qemu+tcp://hostb/system \
    >"$OUT/virsh" 2>&1 &
virsh_pid=$!
sleep 15
check "virsh migrate --bandwidth 10 has not finished after 15 s" kill -0 $virsh_pid
check "... hostA's job is still copying, past its first pass, memory left" still_copying
lv a domjobabort $g >/dev/null 2>&1 || true
wait $virsh_pid && virsh_rc=0 || virsh_rc=$?
check "virsh fails once the job is aborted (rc $virsh_rc)" test "$virsh_rc" != 0
check "after the abort the guest runs on hostA" test "$(state a $g)" = running
check "and is not on hostB" test "$(state b $g)" = absent
check "hostA has no job left, hostB no qemu for the guest" left_clean

FERRY_RC=0
op timeout -k 30 -s INT --preserve-status 15 "$FERRY_BIN" migrate $g --to hostB --bandwidth 10 \
    --on-timeout none >"$OUT/out" 2>"$OUT/err" &
ferry_pid=$!
sleep 12
check "ferry --on-timeout none: hostA's job is still copying after 12 s" still_copying
wait $ferry_pid || FERRY_RC=$?
check "ferry --on-timeout none does not finish in 15 s; SIGINT makes it exit 1" test "$FERRY_RC" = 1
check "the error says the migration was aborted" ferry_output_has "migration aborted"
check "the error says the guest stays on hostA" ferry_output_has "'$g' stays on 'hostA'"
check "the guest runs on hostA" test "$(state a $g)" = running
check "the guest is not on hostB" test "$(state b $g)" = absent
check "hostA has no job left, hostB no qemu for the guest" left_clean
grep -q "pass [1-9]" "$OUT/err" || diag "$OUT/err"

watch_stop
events_start a
events_start b
t0=$EPOCHREALTIME # ferry's timeout counts from its migration call, which comes after this
ferry migrate $g --to hostB --bandwidth 10 --timeout 5 --on-timeout abort --json
check "ferry --on-timeout abort exits 1" test "$FERRY_RC" = 1
check "the error says it did not converge and the policy aborted it" \
    ferry_output_has "did not converge (completion timeout 5.0 s reached"
check "a policy event with action abort was emitted" ferry_output_has '"action":"abort"'
check "the last JSON line is the failed result" sh -c "tail -1 '$OUT/out' | grep -q '\"event\":\"result\",\"command\":\"migrate\",\"ok\":false,\"error\":{\"kind\":\"not-converged\"'"
sleep 0.3
started=$(event_time b $g '^lifecycle Started' || true)
failed=$(event_time b $g '^lifecycle Stopped Failed' || true)
lasted=$(awk -v a="$t0" -v b="$failed" 'BEGIN { if (a != "" && b != "") printf "%.1f", b - a }')
# ferry's pre-checks (about 1 s), 5 s of timeout, the policy's next sample (every 0.5 s) and
# libvirt's abort
check "hostB: the incoming guest started, and was stopped (failed) ${lasted:-?} s after ferry started: given up at the 5 s timeout" \
    awk -v s="$started" -v d="${lasted:-x}" 'BEGIN { exit !(s != "" && d ~ /^[0-9.]+$/ && d >= 5 && d <= 14) }'
check "the guest runs on hostA (not paused)" test "$(state a $g)" = running
check "hostA never paused it (no Suspended event)" test -z "$(events a $g | grep ' lifecycle Suspended')"
check "the guest is not on hostB" test "$(state b $g)" = absent
check "hostA has no job left, hostB no qemu for the guest" left_clean

remove_guest $g
done_testing
