#!/bin/bash
# tests/lab/shape.sh RATE|off -- limit every lab link to RATE (e.g. 80mbit) in both directions
# with a token bucket (tc tbf).  This kernel has no netem, so only the rate can be shaped, not
# delay or loss.
set -euo pipefail
. "$(dirname "$0")/env.sh"
rate=${1:?usage: shape.sh RATE|off}
for h in op $LAB_HOSTS s; do
    if [ "$rate" = off ]; then
        ip netns exec "$P-$h" tc qdisc del dev eth0 root 2>/dev/null || true
        ip netns exec "$P-sw" tc qdisc del dev "v-$h" root 2>/dev/null || true
    else
        ip netns exec "$P-$h" tc qdisc replace dev eth0 root tbf rate "$rate" burst 256kb latency 50ms
        ip netns exec "$P-sw" tc qdisc replace dev "v-$h" root tbf rate "$rate" burst 256kb latency 50ms
    fi
done
