#!/bin/bash
# tests/bench/bench-lab.sh full OUTDIR -- reproduces the figures of README's "Benchmark" on the
#   lab (tests/lab/up.sh first, with the same FERRY_LAB / FERRY_LAB_PREFIX); ~10 minutes on a
#   2-core machine.  Each part writes bench.csv, bench.json and bench.png (gnuplot) under
#   OUTDIR/PART and its table to OUTDIR/PART/table.txt:
#     block     test guests (64 MiB RAM, 32 and 96 MiB written to a local qcow2), block and
#               block-full, links shaped to 100 Mbit/s: ferry/virsh ratios, marginal link use
#     overhead  unshaped, a tiny guest (8 MiB written), block and shared: ferry's own overhead
#     pause     gd-dirty (dirties 64 MiB faster than the link), links at 80 Mbit/s, suspend at a
#               3 s timeout: paused time, ferry against virsh --timeout 3 --timeout-suspend
#     plain96, tls96  unshaped, a guest with 96 MiB written, block, without and with --tls
#               (the lab's certificates, tests/lab/up.sh): what TLS costs
# tests/bench/bench-lab.sh smoke OUTDIR GUEST -- one tiny cell (GUEST, running on hostA, block,
#   one ferry run and one virsh run): what CI runs (lab test 41) so that the bench cannot rot.
# FERRY_BIN: the ferry binary (default build/engine/cli/ferry).  BENCH_PARTS="block pause"
# runs only those parts of full.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lab=$here/../lab
. "$lab/env.sh"
FERRY_BIN=${FERRY_BIN:-$here/../../build/engine/cli/ferry}
what=${1:?usage: bench-lab.sh full|smoke OUTDIR [GUEST]}
out=${2:?usage: bench-lab.sh full|smoke OUTDIR [GUEST]}
mkdir -p "$out"

want() { [ -z "${BENCH_PARTS:-}" ] || [[ " $BENCH_PARTS " == *" $1 "* ]]; }
bench() {
    local part=$1
    shift
    want "$part" || return 0
    mkdir -p "$out/$part"
    echo "== $part: ferry bench $*" >&2
    op "$FERRY_BIN" bench --from hostA --to hostB --out "$out/$part" "$@" \
        | tee "$out/$part/table.txt"
}

case "$what" in
smoke)
    guest=${3:?smoke needs the GUEST to move}
    bench smoke --guest "$guest" --modes block --reps 1
    ;;
full)
    trap '"$lab/shape.sh" off' EXIT
    "$lab/shape.sh" 100mbit
    bench block --modes block,block-full --ram 64 --disk-data 32,96 --virt-type qemu --reps 3 \
        --link-mbit 100
    "$lab/shape.sh" off
    bench overhead --modes block,shared --ram 32 --disk-data 8 --virt-type qemu --reps 5
    "$lab/shape.sh" 80mbit
    if want pause && [ "$(lv a domstate gd-dirty)" != running ]; then lv a start gd-dirty >/dev/null; fi
    bench pause --guest gd-dirty --modes shared --timeout 3 --reps 2 --link-mbit 80
    [ "$(lv a domstate gd-dirty)" != running ] || lv a destroy gd-dirty >/dev/null
    "$lab/shape.sh" off
    bench plain96 --modes block --ram 64 --disk-data 96 --virt-type qemu --reps 3
    bench tls96 --modes block --ram 64 --disk-data 96 --virt-type qemu --reps 3 --tls
    ;;
*)
    echo "bench-lab.sh: full or smoke, not '$what'" >&2
    exit 2
    ;;
esac
