#!/bin/bash
# ferry migrate --json: every line of stdout is one JSON object (with --verbose too), the phases
# come in order, and the last line is the summary, each documented field of the right type and
# agreeing with what the hosts say: the destination's own statistics of the finished job
# (virsh domjobinfo --completed: downtime, memory bytes, iterations, time), the UUID and state
# libvirt reports there, the bytes the disk holds (block: what qemu-img map counts as data,
# never the whole virtual size; cold: the size of the file copied; shared: 0).  A failure's
# last line is {"ok":false, "error":...}.
. "$(dirname "$0")/lib.sh"

A=/var/lib/libvirt/images
C=/var/lib/libvirt/images-c
g=t83-json
s=t83-shared
cleanup() { remove_guest $g; remove_guest $s; }
on_exit cleanup
cleanup

# jcheck DESCRIPTION PYTHON-EXPRESSION: a check on the last JSON line of $OUT/out, as d; the
# environment as e; type helpers I (an int, not a bool), F (a number), S (a string).
jcheck() {
    check "$1" python3 - "$OUT/out" "$2" <<'PY'
import json, os, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
e = os.environ
I = lambda v: type(v) is int
F = lambda v: type(v) in (int, float)
S = lambda v: type(v) is str
ok = eval(sys.argv[2])
if not ok:
    print("# failed: %s\n# on: %s" % (sys.argv[2], json.dumps(d)[:1500]), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}
# all_json: every stdout line parses as a JSON object with an "event"
all_json() {
    python3 -c 'import json,sys
for n, l in enumerate(open(sys.argv[1]), 1):
    o = json.loads(l)
    assert isinstance(o, dict) and "event" in o, "line %d: %s" % (n, l)' "$OUT/out"
}
# phases: the phase events' names, in order
phases() { python3 -c 'import json,sys; print(" ".join(json.loads(l)["phase"] for l in open(sys.argv[1]) if json.loads(l)["event"] == "phase"))' "$OUT/out"; }
# completed HOST NAME: the destination's raw statistics of the finished incoming job, as
# shell assignments J_downtime=... (kept, so that it can be read again)
completed() { lv "$1" domjobinfo --completed --keep-completed --rawstats "$2" | sed -n 's/^\([a-z_]*\): \([0-9]*\)$/J_\1=\2/p'; }

# ---- block migration, with --verbose -----------------------------------------------------------
"$LAB_DIR/guest.sh" create $g local a
export ALLOC VSIZE
ALLOC=$(image_alloc a $A/$g.qcow2)
VSIZE=$(hx a qemu-img info -U --output=json $A/$g.qcow2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
t0=$(date +%s.%N)
FERRY_RC=0
op timeout 300 "$FERRY_BIN" --verbose migrate $g --to hostB --json >"$OUT/out" 2>"$OUT/err" || FERRY_RC=$?
keep_json
export WALL
WALL=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
check "block: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "block: every stdout line is a JSON event, --verbose or not" all_json
check "block: the --verbose debug lines went to stderr" grep -q "ferry-DEBUG" "$OUT/err"
check "block: phases in order" test "$(phases)" = "precheck prepare migrate verify cleanup done"
eval "$(completed b $g)"
export J_downtime J_memory_processed J_memory_iteration J_time_elapsed UUID STATE
UUID=$(lv b domuuid $g)
STATE=$(state b $g)
check "block: setup: hostB reported its completed-job statistics" test -n "$J_downtime" -a -n "$J_memory_processed"
jcheck "block: event result, ok true" 'd["event"] == "result" and d["ok"] is True'
jcheck "block: domain, source, destination" 'd["domain"] == "t83-json" and d["source"] == "hostA" and d["destination"] == "hostB"'
jcheck "block: uuid is the one libvirt reports on hostB" 'S(d["uuid"]) and d["uuid"] == e["UUID"]'
jcheck "block: mode block, p2p true" 'd["mode"] == "block" and d["p2p"] is True'
jcheck "block: state is what hostB says (running)" 'd["state"] == e["STATE"] == "running"'
jcheck "block: 0 < migration_s <= total_s <= the wall time around ferry" \
    'F(d["migration_s"]) and F(d["total_s"]) and 0 < d["migration_s"] <= d["total_s"] <= float(e["WALL"])'
jcheck "block: migration_s within 1 s of hostB's job time" 'abs(d["migration_s"] * 1000 - int(e["J_time_elapsed"])) <= 1000'
jcheck "block: downtime_ms is hostB's downtime, below the job time" \
    'I(d["downtime_ms"]) and d["downtime_ms"] == int(e["J_downtime"]) and d["downtime_ms"] < d["migration_s"] * 1000'
jcheck "block: memory_bytes is hostB's memory processed (> 0)" \
    'I(d["memory_bytes"]) and d["memory_bytes"] == int(e["J_memory_processed"]) > 0'
jcheck "block: iterations is hostB's (>= 1)" 'I(d["iterations"]) and d["iterations"] == int(e["J_memory_iteration"]) >= 1'
jcheck "block: disk_bytes covers the image's data ($ALLOC B) and not its virtual size ($VSIZE B)" \
    'I(d["disk_bytes"]) and int(e["ALLOC"]) <= d["disk_bytes"] <= int(e["ALLOC"]) + 2**21 and d["disk_bytes"] < int(e["VSIZE"])'
jcheck "block: throughput_bps is (memory + disk) / migration_s (an integer; migration_s has 3 decimals)" \
    'I(d["throughput_bps"]) and abs(d["throughput_bps"] - (d["memory_bytes"] + d["disk_bytes"]) / d["migration_s"]) <= 1 + d["throughput_bps"] * 0.0005 / d["migration_s"]'
jcheck "block: no final action, not suspended, not resumed" \
    'd["final_action"] == "none" and "final_reason" not in d and d["suspended_s"] == 0 and d["resumed_on_destination"] is False'
jcheck "block: nova null (no [nova] in the inventory)" 'd["nova"] is None'
jcheck "block: actions a list of set-downtime steps, none above the default 500 ms" \
    'type(d["actions"]) is list and all(a["action"] == "set-downtime" and I(a["downtime_ms"]) and 0 < a["downtime_ms"] <= 500 and F(a["at_s"]) for a in d["actions"])'
check "block: the guest runs on hostB only" only_on b $g running

# ---- cold: disk_bytes is the copied file -------------------------------------------------------
lv b destroy $g >/dev/null
export FSIZE
FSIZE=$(hx b stat -c %s $A/$g.qcow2)
ferry migrate $g --to hostC --json
check "cold: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "cold: every stdout line is a JSON event" all_json
export STATE
STATE=$(state c $g)
jcheck "cold: ok, mode cold, hostB -> hostC" 'd["ok"] is True and d["mode"] == "cold" and d["source"] == "hostB" and d["destination"] == "hostC"'
jcheck "cold: state is what hostC says (shut off)" 'd["state"] == e["STATE"] == "shut off"'
jcheck "cold: disk_bytes is the size of the copied file ($FSIZE B)" 'd["disk_bytes"] == int(e["FSIZE"])'
check "cold: ... which is the size of the file on hostC" test "$(hx c stat -c %s $C/$g.qcow2)" = "$FSIZE"
jcheck "cold: no memory moved, no downtime, no iterations" 'd["memory_bytes"] == 0 and d["downtime_ms"] == 0 and d["iterations"] == 0'
jcheck "cold: 0 < migration_s <= total_s" 'F(d["migration_s"]) and 0 < d["migration_s"] <= d["total_s"]'
jcheck "cold: copy_s is the copy's time, within total_s; throughput_bps is disk_bytes / copy_s (not over the definition's move)" \
    'F(d["copy_s"]) and 0 < d["copy_s"] <= d["total_s"] and abs(d["throughput_bps"] - d["disk_bytes"] / d["copy_s"]) <= 1 + d["throughput_bps"] * 0.0005 / d["copy_s"]'
check "cold: the copy's progress samples are their own (stage copy, no memory figures), never above 100 %" python3 -c '
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])]
s = [o for o in s if o["event"] == "sample"]
sys.exit(not (s and all(o["stage"] == "copy" and "memory_total_bytes" not in o and
                        (o["disk_percent"] is None or 0 <= o["disk_percent"] <= 100) for o in s)))' "$OUT/out"

# ---- shared: no disk bytes ----------------------------------------------------------------------
"$LAB_DIR/guest.sh" create $s shared a nbd2
ferry migrate $s --to hostB --json
check "shared: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
eval "$(completed b $s)"
export J_memory_processed
jcheck "shared: mode shared, disk_bytes 0" 'd["mode"] == "shared" and d["disk_bytes"] == 0'
jcheck "shared: memory_bytes is hostB's memory processed" 'd["memory_bytes"] == int(e["J_memory_processed"]) > 0'
check "shared: it runs on hostB only" only_on b $s running

# ---- a failure: the last line says so ---------------------------------------------------------
ferry migrate $s --to hostB --json
check "failure: exit 2 (already there)" test "$FERRY_RC" = 2
check "failure: every stdout line is a JSON event" all_json
jcheck "failure: ok false, error {kind, message}, refused, naming the guest and hosts, no file touched" \
    'd["event"] == "result" and d["ok"] is False and "is already on" in d["error"]["message"] and d["error"]["kind"] == "usage" and d["refused"] is True and d["domain"] == "t83-shared" and d["destination"] == "hostB" and d["files"] == {"created": [], "removed": [], "kept": []}'

done_testing
