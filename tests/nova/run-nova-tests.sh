#!/bin/bash
# run-nova-tests.sh [BUILD_DIR] -- bring the Nova harness up, run the Nova state-sync tests
# against it (TAP on stdout), stop the harness.  BUILD_DIR defaults to <repo>/build and must
# hold a built tests/nova/test-nova-sync.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${1:-${BUILD_DIR:-$HERE/../../build}}
TEST=$BUILD/tests/test-nova-sync
[ -x "$TEST" ] || TEST=$BUILD/tests/nova/test-nova-sync
# tests/run.sh may have one up already, shared with the lab tests (each test resets the
# databases itself): then it is used as it is, and left to run.sh to stop.
SHARED=${FERRY_NOVA_SHARED_LAB:-}
if [ -n "$SHARED" ]; then
    FERRY_NOVA_LAB=$SHARED
elif [ -z "${FERRY_NOVA_LAB:-}" ]; then
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
    [ -z "$SHARED" ] || return 0
    "$HERE/nova-up.sh" stop >&2 || true
    # The datadir is ~200 MB: keep it only when something failed, for its logs.
    if [ "${OWN_LAB:-0}" = 1 ] && [ "$rc" = 0 ]; then rm -rf "$FERRY_NOVA_LAB"; fi
}
trap stop EXIT

if [ -n "$SHARED" ]; then
    "$HERE/nova-up.sh" db-start >&2 2>/dev/null || true # a lab test may have left it stopped
elif ! "$HERE/nova-up.sh" start >&2; then
    echo "Bail out! the Nova harness did not come up (logs in $FERRY_NOVA_LAB/log)"
    exit 1
fi
export FERRY_NOVA_STATE=$FERRY_NOVA_LAB/state.env
export G_TEST_BUILDDIR=$BUILD/tests G_TEST_SRCDIR=$HERE/..
"$TEST" --tap
rc=$?
exit $rc
