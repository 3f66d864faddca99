#!/bin/bash
# tests/bench/evacuate.sh [RATE] -- evacuation benchmark on a shaped lab link (root, a lab up:
# FERRY_LAB / FERRY_LAB_PREFIX as for tests/lab/up.sh; FERRY_BIN the ferry binary).
#
# Six running guests on hostB, each with a local disk holding 44 MiB of data (block migration
# streams it) and 64 MiB of RAM, are evacuated to hostA and hostC over links limited to RATE
# (default 100mbit, tests/lab/shape.sh: every lab link, both directions), twice in one run:
#   1. sequentially: --concurrency 1
#   2. concurrently: --concurrency 4 --per-source 4 --per-dest 2 (the source's own limit raised,
#      since here a single host is emptied and its link is the one shared); $BENCH_CONCURRENT
#      replaces these options
# with the guests put back on hostB (unshaped) in between.  Prints each run's wall time and
# bytes (memory + disk as libvirt reports them), then concurrent/sequential and
# concurrent / (bytes moved / link rate): the physical bound, as every byte leaves hostB through
# its one shaped link.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lab/env.sh"
FERRY_BIN=${FERRY_BIN:?set FERRY_BIN to the ferry binary}
rate=${1:-100mbit}
mbit=${rate%mbit}
[[ $mbit =~ ^[0-9]+$ ]] || { echo "evacuate.sh: RATE must be like 100mbit" >&2; exit 2; }
export FERRY_STATE_DIR="$LAB/state-bench"
names=(bx1 bx2 bx3 bx4 bx5 bx6)
out=$(mktemp -d /tmp/ferry-bench.XXXXXX)

cleanup() {
    "$top/tests/lab/shape.sh" off || true
    for g in "${names[@]}"; do
        for h in $LAB_HOSTS; do
            lv "$h" destroy "$g" >/dev/null 2>&1 || true
            lv "$h" undefine "$g" >/dev/null 2>&1 || true
            hx "$h" rm -f "$(lab_images_dir "$h")/$g.qcow2"
        done
    done
    rm -rf "$FERRY_STATE_DIR" "$out"
}
trap cleanup EXIT
cleanup 2>/dev/null || true
out=$(mktemp -d /tmp/ferry-bench.XXXXXX)

for g in "${names[@]}"; do
    "$top/tests/lab/guest.sh" create "$g" local b --no-start
    hx b qemu-io -f qcow2 -c 'write -P 0x77 24M 32M' "$(lab_images_dir b)/$g.qcow2" >/dev/null
    lv b start "$g" >/dev/null
done
ferry() { op timeout 900 "$FERRY_BIN" "$@"; }

run() { # run LABEL ARGS...: evacuate hostB with ARGS, shaped; prints "LABEL SECONDS BYTES"
    local label=$1 t0 t1
    shift
    "$top/tests/lab/shape.sh" "$rate"
    t0=$(date +%s.%N)
    ferry evacuate hostB --to hostA --to hostC --json "$@" >"$out/$label.json" 2>"$out/$label.err" ||
        { echo "evacuate.sh: the $label evacuation failed:" >&2; tail -5 "$out/$label.err" >&2; exit 1; }
    t1=$(date +%s.%N)
    "$top/tests/lab/shape.sh" off
    python3 - "$out/$label.json" "$label" "$t0" "$t1" 2>>"$out/detail" <<'PY'
import json, sys
doc = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
assert doc["moved"] == 6 and not doc["still_on_host"], doc
b = sum(r["memory_bytes"] + r["disk_bytes"] for r in doc["results"])
for r in doc["results"]:
    print("#  %s %-4s %s -> %s  started %5.1f s  took %5.1f s  %5.1f MB" % (sys.argv[2], r["guest"],
          r["from"], r["to"], r["started_s"], r["elapsed_s"], (r["memory_bytes"] + r["disk_bytes"]) / 1e6),
          file=sys.stderr)
print("#  %s: moves %.1f s of %.1f s wall (the rest: surveying the hosts before and after)" % (
      sys.argv[2], doc["total_s"], float(sys.argv[4]) - float(sys.argv[3])), file=sys.stderr)
print(sys.argv[2], "%.3f" % (float(sys.argv[4]) - float(sys.argv[3])), b)
PY
}
back() { # every guest back on hostB, unshaped
    printf '{"hostB": ["%s"]}' "$(IFS=,; echo "${names[*]}" | sed 's/,/", "/g')" >"$LAB/bench-back.json"
    ferry apply --yes --host-map "$LAB/bench-back.json" --per-dest 4 --concurrency 4 >"$out/back.out" 2>&1 ||
        { echo "evacuate.sh: putting the guests back on hostB failed" >&2; tail -5 "$out/back.out" >&2; exit 1; }
}

read -r _ seq_s seq_b < <(run sequential --concurrency 1 --per-source 1 --per-dest 1)
back
# shellcheck disable=SC2086
read -r _ con_s con_b < <(run concurrent ${BENCH_CONCURRENT:---concurrency 4 --per-source 4 --per-dest 2})
python3 - "$seq_s" "$seq_b" "$con_s" "$con_b" "$mbit" "$(nproc)" <<'PY'
import sys
seq_s, seq_b, con_s, con_b, mbit, cpus = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
rate = mbit * 1e6 / 8
bound = con_b / rate
print("link %d Mbit/s (%.1f MB/s), %s CPUs, six guests 64 MiB RAM + 44 MiB disk data each" % (mbit, rate / 1e6, cpus))
print("sequential  %7.1f s  %6.1f MB moved" % (seq_s, seq_b / 1e6))
print("concurrent  %7.1f s  %6.1f MB moved  (bound: %.1f s at the link rate)" % (con_s, con_b / 1e6, bound))
print("concurrent / sequential = %.2f" % (con_s / seq_s))
print("concurrent / bound      = %.2f" % (con_s / bound))
PY
cat "$out/detail"
