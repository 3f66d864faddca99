#!/bin/bash
# tests/lab/op.sh CMD... -- run CMD on the lab's operator machine (network namespace ${P}-op),
# with FERRY_CONFIG pointing at the lab inventory.  Example:
#   tests/lab/op.sh build/engine/cli/ferry migrate ga-local --to hostB
set -euo pipefail
. "$(dirname "$0")/env.sh"
op "$@"
