#!/bin/bash
# tests/lab/demo.sh -- ferry's main job, end to end, on this one machine (root, Debian 12):
# installs what is missing, builds ferry, brings up the lab, live-migrates a running guest from
# hostA to hostB by block migration (its local disk is streamed), shows it running on hostB
# with an identical disk, and tears the lab down.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lab/env.sh

step() { printf '\n\033[1m### %s\033[0m\n' "$*"; }

step "Installing what is missing and building ferry"
tests/setup.sh
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null

# (virsh on a terminal complains that there is no polkit agent: the lab needs none, so the
# listings below send virsh's stderr away)
step "Bringing up the lab (3 libvirt hosts, storage host, operator machine)"
trap 'step "Tearing the lab down"; tests/lab/down.sh' EXIT
inventory=$(tests/lab/up.sh | tail -1)
echo "inventory: $inventory"
for h in a b; do echo "host$h:"; lv "$h" list --all 2>/dev/null | sed 's/^/    /'; done

g=ga-local
before=$(tests/lab/guest.sh checksum $g a)
echo "disk of $g on hostA: sha256 $before"

step "ferry migrate $g --to hostB   (bandwidth capped at 4 MiB/s so the progress can be seen)"
tests/lab/op.sh build/engine/cli/ferry migrate $g --to hostB --bandwidth 4

step "Where is $g now?"
for h in a b; do echo "host$h:"; lv "$h" list --all 2>/dev/null | sed 's/^/    /'; done
after=$(tests/lab/guest.sh checksum $g b)
echo "disk of $g on hostB: sha256 $after"
if [ "$(lv b domstate $g 2>/dev/null | head -1)" = running ] && [ "$before" = "$after" ]; then
    echo "OK: $g runs on hostB with an identical disk"
else
    echo "FAILED: $g is not running on hostB with an identical disk" >&2
    exit 1
fi
