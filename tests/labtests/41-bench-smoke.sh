#!/bin/bash
# ferry bench, the smoke version of tests/bench/bench-lab.sh (one tiny cell: a 64 MiB guest
# with 12 MiB on its local disk, block, one ferry run hostA -> hostB then one plain virsh run
# back): the table, CSV, JSON and PNG exist and parse, their figures are positive and agree,
# and the hosts say both runs moved the guest (it runs on hostA in a new qemu process, its disk
# unchanged, no copy left on hostB).  Also: bad arguments, and a run that fails, change nothing.
. "$(dirname "$0")/lib.sh"

g=t41-bench
cleanup() { remove_guest $g; }
on_exit cleanup
cleanup

"$LAB_DIR/guest.sh" create $g local a
lv a suspend $g >/dev/null
SUM0=$(checksum $g a)
lv a resume $g >/dev/null
PID0=$(qemu_pids a $g)

B=$OUT/bench
rc=0
FERRY_BIN=$FERRY_BIN "$(dirname "$0")/../bench/bench-lab.sh" smoke "$B" $g >"$OUT/out" 2>"$OUT/err" || rc=$?
check "bench exits 0" test $rc = 0
[ $rc = 0 ] || diag "$OUT/err"
check "the table has a ferry row and a virsh row for block $g" \
    grep -qE "^ferry +block +$g .*" "$OUT/out"
check "... and the virsh row" grep -qE "^virsh +block +$g " "$OUT/out"
check "the progress line counts the runs: run 2 of 2" grep -q "run 2 of 2" "$OUT/err"

# the runs, from the CSV and the JSON: the same figures, positive and consistent
B=$B/smoke
export B g
pycheck() {
    check "$1" python3 - "$2" <<'PY'
import csv, json, os, sys
B = os.environ["B"]; g = os.environ["g"]
rows = list(csv.DictReader(open(B + "/bench.csv")))
doc = json.load(open(B + "/bench.json"))
runs = doc["runs"]
f = lambda v: float(v)
ok = eval(sys.argv[1])
if not ok:
    print("# failed: %s\n# csv: %s\n# json runs: %s" % (sys.argv[1], rows, runs), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}
pycheck "CSV: two runs, ferry hostA->hostB then virsh hostB->hostA, both ok" \
    '[(r["tool"], r["src"], r["dst"], r["ok"], r["guest"], r["mode"]) for r in rows] == [("ferry", "hostA", "hostB", "1", g, "block"), ("virsh", "hostB", "hostA", "1", g, "block")]'
pycheck "JSON: the same runs with the same wall times" \
    'len(runs) == 2 and all(abs(j["wall_s"] - f(r["wall_s"])) < 0.001 and j["tool"] == r["tool"] for j, r in zip(runs, rows))'
pycheck "both: wall > job > 0, downtime > 0, 0 < paused < job, CPU and peak RSS > 0" \
    'all(f(r["wall_s"]) > f(r["job_s"]) > 0 and f(r["downtime_ms"]) > 0 and 0 < f(r["paused_s"]) < f(r["job_s"]) and f(r["cpu_s"]) > 0 and int(r["peak_rss_kib"]) > 1000 for r in rows)'
pycheck "both moved the disk's 12 MiB of data (no more than its 64 MiB) and some memory" \
    'all(12 << 20 <= int(r["disk_bytes"]) <= 64 << 20 and int(r["mem_bytes"]) > 0 and int(r["iterations"]) >= 1 for r in rows)'
pycheck "throughput = (memory + disk bytes) / job time" \
    'all(abs(f(r["throughput_bps"]) - (int(r["mem_bytes"]) + int(r["disk_bytes"])) / f(r["job_s"])) <= 0.01 * f(r["throughput_bps"]) + 1 for r in rows)'
pycheck "ferry: its libvirt call within its wall time, own overhead = wall - call, phases add up below it" \
    'f(rows[0]["job_s"]) <= f(rows[0]["call_s"]) < f(rows[0]["wall_s"]) and abs(f(rows[0]["own_s"]) - (f(rows[0]["wall_s"]) - f(rows[0]["call_s"]))) < 0.002 and 0 < f(rows[0]["precheck_s"]) + f(rows[0]["prepare_s"]) + f(rows[0]["verify_s"]) + f(rows[0]["cleanup_s"]) < f(rows[0]["own_s"])'
pycheck "JSON cell: ferry/virsh ratio of the one pair, median = min = max = ferry wall / virsh wall" \
    '[c["ratio_wall_ferry_virsh"]["median"] for c in doc["cells"] if c["tool"] == "ferry"] == [runs[0]["wall_s"] / runs[1]["wall_s"]]'
check "PNG: a 1000x700 PNG image drawn by gnuplot" \
    python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(); sys.exit(not (d[:8]==b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", d[16:24])==(1000,700) and len(d) > 5000))' "$B/bench.png"

# the hosts: it went away and came back, intact
check "$g runs on hostA only" only_on a $g running
PID1=$(qemu_pids a $g)
check "... in a new qemu process (it left and came back: $PID0 -> $PID1)" \
    test -n "$PID1" -a "$PID0" != "$PID1"
check "no copy of its disk left on hostB (ferry's and virsh's runs cleaned up)" image_absent b $g
lv a suspend $g >/dev/null
check "its disk contents are unchanged" test "$(checksum $g a)" = "$SUM0"
lv a resume $g >/dev/null

# bad input: a clear error, exit 2, nothing touched
snapshot_take
ferry bench --from hostA --to hostA --out "$OUT"
check "same host twice: exit 2, says so" test $FERRY_RC = 2 -a "$(grep -c 'two different hosts' "$OUT/err")" = 1
ferry bench --from hostA --to hostB --guest t41-nosuch --modes block --out "$OUT"
check "a guest not on hostA: exit 2 naming it" test $FERRY_RC = 2 -a "$(grep -c "t41-nosuch" "$OUT/err")" = 1
ferry bench --from hostA --to hostB --modes cold --out "$OUT"
check "--modes cold: exit 2 (live modes only)" test $FERRY_RC = 2
ferry bench --from hostA --to hostB --guest $g --modes shared --reps 1 --out "$OUT"
check "a run that fails (shared mode, a local disk): exit 1, ferry's reason and where the hosts say $g is" \
    test $FERRY_RC = 1 -a "$(grep -c "ferry moving '$g' from 'hostA' to 'hostB' failed .*local to 'hostA'.*(the hosts say '$g' is running on hostA, absent on hostB)" "$OUT/err")" = 1
check "nothing changed on the hosts" unchanged_since_snapshot
done_testing
