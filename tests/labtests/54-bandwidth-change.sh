#!/bin/bash
# The bandwidth limit changes while the job runs (--control-stdin "bandwidth MIB"): the job's
# transfer rate follows, and the change is reported with its time.  hostA's libvirtd is asked
# while the job runs: the limit it holds (migrate-getspeed) and the rate it measures
# (domjobinfo) before and after the change.
. "$(dirname "$0")/lib.sh"
g=t54-dirty
remove_guest $g
"$LAB_DIR/guest.sh" create $g dirty a "mib=64"
sleep 1

# sample: hostA's limit (MiB/s) and measured memory rate (MiB/s) for the job, one line
sample() {
    local speed job rate
    speed=$(lv a migrate-getspeed $g 2>/dev/null) || speed=?
    job=$(lv a domjobinfo $g 2>/dev/null) || job=""
    rate=$(sed -n 's/^Memory bandwidth: *\([0-9.]*\) MiB\/s$/\1/p' <<<"$job")
    echo "${speed:-?} ${rate:-?}"
}

FERRY_RC=0
(
    sleep 3
    echo "bandwidth 40"
    sleep 10
) | op timeout -k 30 -s INT --preserve-status 7 "$FERRY_BIN" migrate $g --to hostB \
    --bandwidth 10 --on-timeout none --control-stdin --json >"$OUT/out" 2>"$OUT/err" &
ferry_pid=$!
# asked at about 2.3 s (before the change at 3 s), then at about 4.5, 5.3 and 6.1 s
sleep 2.2
before=$(sample)
after=""
for pause in 2 0.8 0.8; do
    sleep $pause
    after+="$(sample)"$'\n'
done
wait $ferry_pid || FERRY_RC=$?
keep_json
echo "# hostA before the change (limit, rate): $before; after:" $after
check "interrupted, ferry exits 1" test "$FERRY_RC" = 1
check "the change is reported" ferry_output_has '"reason":"bandwidth limit set to 40 MiB/s"'
# 10 MiB/s = 10485760 B/s before; 40 MiB/s after (8 digits from 10^7 up: >= 30 MiB/s)
check "samples before the change run at about 10 MiB/s" grep -qE '"mem_bps":(9[0-9]{6}|10[0-9]{6}),' "$OUT/out"
check "samples after the change run at about 40 MiB/s" grep -qE '"mem_bps":(3[2-9]|4[0-2])[0-9]{6},' "$OUT/out"
check "hostA's libvirtd: limit 10 MiB/s before the change, measuring 8..12 MiB/s ($before)" \
    awk '$1 == 10 && $2 ~ /^[0-9.]+$/ && $2 >= 8 && $2 <= 12 { f = 1 } END { exit !f }' <<<"$before"
check "hostA's libvirtd: limit 40 MiB/s after the change" \
    awk 'NF { n++; if ($1 != 40) bad = 1 } END { exit !(n == 3 && !bad) }' <<<"$after"
check "hostA's libvirtd: measuring 30..45 MiB/s after the change" \
    awk '$2 ~ /^[0-9.]+$/ && $2 >= 30 && $2 <= 45 { f = 1 } END { exit !f }' <<<"$after"
check "the guest runs on hostA, and only there" only_on a $g running
check "the guest is not on hostB" test "$(state b $g)" = absent
check "hostA has no job left, hostB no qemu for the guest" \
    test "$(lv a domjobinfo $g | awk '/^Job type/ {print $3}')/$(qemu_count b $g)" = None/0

remove_guest $g
done_testing
