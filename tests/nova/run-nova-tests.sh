#!/bin/bash
# run-nova-tests.sh [BUILD_DIR] -- bring the Nova harness up, run the Nova state-sync tests
# against it (TAP on stdout), stop the harness.  BUILD_DIR defaults to <repo>/build and must
# hold a built tests/nova/test-nova-sync.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${1:-${BUILD_DIR:-$HERE/../../build}}
TEST=$BUILD/tests/test-nova-sync
[ -x "$TEST" ] || TEST=$BUILD/tests/nova/test-nova-sync
if [ -z "${FERRY_NOVA_LAB:-}" ]; then
    FERRY_NOVA_LAB=$(mktemp -d /tmp/ferry-nova-lab.XXXXXX)
    OWN_LAB=1
fi
export FERRY_NOVA_LAB

if [ ! -x "$TEST" ]; then
    echo "Bail out! test-nova-sync is not built in $BUILD"
    exit 1
fi

rc=1
stop() {
    "$HERE/nova-up.sh" stop >&2 || true
    # The datadir is ~200 MB: keep it only when something failed, for its logs.
    if [ "${OWN_LAB:-0}" = 1 ] && [ "$rc" = 0 ]; then rm -rf "$FERRY_NOVA_LAB"; fi
}
trap stop EXIT

if ! "$HERE/nova-up.sh" start >&2; then
    echo "Bail out! the Nova harness did not come up (logs in $FERRY_NOVA_LAB/log)"
    exit 1
fi
export FERRY_NOVA_STATE=$FERRY_NOVA_LAB/state.env
export G_TEST_BUILDDIR=$BUILD/tests G_TEST_SRCDIR=$HERE/..
"$TEST" --tap
rc=$?
exit $rc
