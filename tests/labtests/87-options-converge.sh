#!/bin/bash
# Convergence options through the command line, each seen in what libvirt and QEMU report while
# the job runs (virsh domjobinfo, virsh migrate-getmaxdowntime on the source, sampled every
# 0.5 s) or in the destination's statistics of the finished job -- with a guest that dirties
# 32 MiB of its 64 MiB continuously at --bandwidth 8 (MiB/s):
#   --max-downtime 1234  ferry's downtime steps start at 1234/10 = 123 ms and never pass 1234;
#                        the source's QEMU has them (the default steps start at 500/10 = 50 ms)
#   --auto-converge      QEMU throttles the guest's CPU ("Auto converge throttle" appears)
#   --compress           QEMU sends pages XBZRLE-compressed (compression cache and compressed
#                        pages in the job statistics)
# Each run without an option is the other's control; each ends with the guest running in one
# place.
. "$(dirname "$0")/lib.sh"
g=t87-dirty
on_exit 'remove_guest $g'
remove_guest $g
MEM_MIB=64 "$LAB_DIR/guest.sh" create $g dirty a "mib=32"
sleep 1

# run_sampled SRC ARGS...: ferry migrate $g ARGS --json in the background; meanwhile one line
# per 0.5 s in $OUT/samples: the source's domjobinfo (on one line) and migrate-getmaxdowntime
run_sampled() {
    local src=$1 j d
    shift
    : >"$OUT/samples"
    (exec ip netns exec "$P-op" env FERRY_CONFIG="$LAB/inventory.ini" \
        timeout -k 10 180 "$FERRY_BIN" migrate $g "$@" --json >"$OUT/out" 2>"$OUT/err") &
    local pid=$!
    while kill -0 $pid 2>/dev/null; do
        j=$(lv "$src" domjobinfo $g 2>/dev/null | tr -s ' ' | tr '\n' '|') || j=""
        d=$(lv "$src" migrate-getmaxdowntime $g 2>/dev/null) || d=""
        echo "$j maxdowntime=$d" >>"$OUT/samples"
        sleep 0.5
    done
    FERRY_RC=0
    wait $pid || FERRY_RC=$?
    keep_json
}
# in_job: the samples taken while the migration job ran
in_job() { grep '^Job type: Unbounded' "$OUT/samples" || true; }
# downtimes_seen: distinct max downtimes the source reported during the job
downtimes_seen() { in_job | sed -n 's/.* maxdowntime=\([0-9]*\)$/\1/p' | sort -un | tr '\n' ' '; }
# ferry_downtimes: the max downtimes ferry set (its JSON summary's actions)
ferry_downtimes() {
    python3 -c 'import json,sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print(" ".join(str(a["downtime_ms"]) for a in d.get("actions", []) if a["action"] == "set-downtime"))' "$OUT/out"
}
# completed HOST KEY: KEY of the destination's raw statistics of the finished job ("" if none)
completed() { lv "$1" domjobinfo --completed --keep-completed --rawstats $g | sed -n "s/^$2: //p"; }

# ---- run 1: --max-downtime 1234 --auto-converge, hostA -> hostB --------------------------------
run_sampled a --to hostB --bandwidth 8 --max-downtime 1234 --auto-converge --timeout 14
check "run 1: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "run 1: the guest runs on hostB only" only_on b $g running
check "run 1: the job was sampled while it ran" test "$(in_job | wc -l)" -ge 6
set_by_ferry=$(ferry_downtimes)
seen=$(downtimes_seen)
check "max-downtime: ferry's first step is 123 ms (1234/10) [$set_by_ferry]" test "${set_by_ferry%% *}" = 123
check "max-downtime: no step of ferry's above 1234 ms" \
    python3 -c 'import sys; v = [int(x) for x in sys.argv[1].split()]; sys.exit(not v or max(v) > 1234)' "$set_by_ferry"
check "max-downtime: the source's QEMU had 123 ms during the job [seen: $seen]" grep -qw 123 <<<"$seen"
check "max-downtime: every value it had was one of ferry's steps (or QEMU's 300 ms before the first)" \
    python3 -c 'import sys; s = set(sys.argv[1].split()) | {"300"}; sys.exit(not set(sys.argv[2].split()) <= s)' "$set_by_ferry" "$seen"
check "auto-converge: QEMU throttled the guest's CPU during the job" \
    sh -c "grep '^Job type: Unbounded' '$OUT/samples' | grep -qE 'Auto converge throttle: [1-9][0-9]*'"
check "control for --compress: no compression in the job" sh -c "! grep -q 'Compress' '$OUT/samples'"
check "control for --compress: none in hostB's statistics of the finished job" \
    test "$(completed b compression_pages)" = ""

# ---- run 2: --compress, hostB -> hostA -----------------------------------------------------------
run_sampled b --to hostA --bandwidth 8 --compress --timeout 20
check "run 2: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "run 2: the guest runs on hostA only" only_on a $g running
pages=$(completed a compression_pages)
cache=$(completed a compression_cache)
check "compress: hostA's statistics of the job count compressed pages ($pages) and a cache ($cache B)" \
    sh -c "[ '${pages:-0}' -gt 0 ] && [ '${cache:-0}' -gt 0 ]"
check "compress: the source reported XBZRLE compression while the job ran" \
    sh -c "grep '^Job type: Unbounded' '$OUT/samples' | grep -q 'Compression cache:'"
seen=$(downtimes_seen)
set_by_ferry=$(ferry_downtimes)
default_steps() { test "${set_by_ferry%% *}" = 50 && grep -qw 50 <<<"$seen" && ! grep -qw 123 <<<"$seen"; }
check "control for --max-downtime: the default steps start at 50 ms [$set_by_ferry; seen: $seen]" default_steps
check "control for --auto-converge: no throttling" sh -c "! grep -q 'Auto converge throttle' '$OUT/samples'"

done_testing
