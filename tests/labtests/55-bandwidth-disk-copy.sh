#!/bin/bash
# A bandwidth change reaches the disk copy of a block migration (issue 15, point 3).
# libvirt sets the disk mirrors' speed once, from the migration's bandwidth, when it starts
# them; virDomainMigrateSetMaxSpeed changes the memory stream's limit only.  ferry sets the
# mirrors' speed too (QEMU's block-job-set-speed).  Measured: a guest with 12 MiB of allocated
# disk block-migrated hostA -> hostB at --bandwidth 1, raised to 100 MiB/s (--control-stdin) as
# soon as the disk copy runs, then back at --bandwidth 2 as it is (the baseline): the raised
# job takes less than half the baseline's time, and it ended sooner than the disk data left at
# the raise could have gone at 1 MiB/s; the change is reported as applied to memory and to 1
# disk mirror; before it, hostA's mirror ran at 1 MiB/s (virsh blockjob --info).
. "$(dirname "$0")/lib.sh"

export FERRY_STATE_DIR="$LAB/state-t55"
g=t55-diskbw
A=/var/lib/libvirt/images

wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.1
    done
}
cleanup() {
    exec 7>&- || true
    remove_guest $g
    rm -rf "$FERRY_STATE_DIR"
}
on_exit cleanup
remove_guest $g
rm -rf "$FERRY_STATE_DIR"
"$LAB_DIR/guest.sh" create $g local a
# migration_s of the JSON result in FILE
job_s() { python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["migration_s"])' "$1"; }
disk_sampled() { grep -q '"event":"sample".*"disk_total_bytes":[1-9]' "$OUT/out1" 2>/dev/null; }

# ---- raised: hostA -> hostB ----
mkfifo "$OUT/ctl"
(exec ip netns exec "$P-op" env FERRY_CONFIG="$LAB/inventory.ini" \
    timeout -k 10 120 "$FERRY_BIN" migrate $g --to hostB --bandwidth 1 --control-stdin --json \
    <"$OUT/ctl" >"$OUT/out1" 2>"$OUT/err1") &
FERRY_PID=$!
exec 7>"$OUT/ctl"
wait_for 30 disk_sampled
left=$(python3 -c 'import json,sys
s=[json.loads(l) for l in open(sys.argv[1]) if "\"sample\"" in l][-1]
print(s["job"]["data_remaining_bytes"])' "$OUT/out1")
mirror=$(lv a blockjob $g vda --info 2>&1 || true)
echo "bandwidth 100" >&7
exec 7>&-
rc=0
wait "$FERRY_PID" || rc=$?
keep_json "$OUT/out1"
grep -v '"sample"' "$OUT/out1" | diag
diag <<<"mirror before the raise: $mirror"
raised=$(job_s "$OUT/out1")
check "raised to 100 MiB/s mid disk copy: the move completes (exit 0), $g on hostB only" \
    eval '[ "$rc" = 0 ] && only_on b $g running'
check "... the change applied to memory and to the disk mirror" \
    grep -q '"reason":"bandwidth limit set to 100 MiB/s for memory and 1 disk mirror(s)","error":null' "$OUT/out1"
check "... before it, hostA's disk mirror ran at the start's limit (libvirt sets it once)" \
    grep -q 'Bandwidth limit: 1048576 bytes/s' <<<"$mirror"

# ---- baseline: hostB -> hostA at 2 MiB/s (twice the raised job's start) ----
ferry migrate $g --to hostA --bandwidth 2 --json
base=$(job_s "$OUT/out")
diag <<<"job: raised ${raised}s, baseline ${base}s; disk left at the raise: $left bytes"
check "baseline at 2 MiB/s completes (exit 0)" eval '[ "$FERRY_RC" = 0 ] && only_on a $g running'
check "the raised job took less than half the baseline's time" \
    less "$raised" "$(awk -v b="$base" 'BEGIN { print b / 2 }')"
check "... and less than the disk data left at the raise needs at 1 MiB/s" \
    less "$raised" "$(awk -v l="$left" 'BEGIN { print l / 1048576 }')"
done_testing
