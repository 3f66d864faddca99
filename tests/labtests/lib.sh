# tests/labtests/lib.sh -- sourced by every lab test: TAP output and lab helpers.
# Needs a lab brought up by tests/lab/up.sh and FERRY_BIN (the ferry binary to test).
. "$(dirname "${BASH_SOURCE[0]}")/../lab/env.sh"

FERRY_BIN=${FERRY_BIN:?set FERRY_BIN to the ferry binary}
TAP_N=0
TAP_FAILED=0
OUT=$(mktemp -d /tmp/ferry-labtest.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

ok() {
    TAP_N=$((TAP_N + 1))
    echo "ok $TAP_N - $*"
}
not_ok() {
    TAP_N=$((TAP_N + 1))
    TAP_FAILED=$((TAP_FAILED + 1))
    echo "not ok $TAP_N - $*"
}
# check DESCRIPTION COMMAND...: one TAP line from a command's exit status.
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}
diag() { sed 's/^/# /' "$@"; }
done_testing() {
    echo "1..$TAP_N"
    [ "$TAP_FAILED" = 0 ]
}

# ferry ARGS...: runs ferry on the operator machine; stdout -> $OUT/out, stderr -> $OUT/err,
# exit status -> $FERRY_RC.  Never fails the script itself.
ferry() {
    FERRY_RC=0
    op timeout 300 "$FERRY_BIN" "$@" >"$OUT/out" 2>"$OUT/err" || FERRY_RC=$?
    return 0
}
ferry_output_has() { grep -qF -- "$1" "$OUT/out" "$OUT/err"; }

# state HOST NAME: "running", "shut off", "paused" ... or "absent".
state() {
    local s
    s=$(lv "$1" domstate "$2" 2>/dev/null | head -1) || s=""
    echo "${s:-absent}"
}
persistent() { lv "$1" dominfo "$2" 2>/dev/null | grep -q '^Persistent: *yes'; }

# All domains of all hosts with their states: to show that nothing changed.
cluster_state() {
    for h in $LAB_HOSTS; do lv "$h" list --all | sed "s/^/host$h /"; done | awk '{$2=""; print}'
}

image_exists() { hx "$1" test -e "$(lab_images_dir "$1")/$2.qcow2"; }
image_absent() { ! image_exists "$@"; }

# remove_guest NAME: destroy and undefine it wherever it is, remove its disk everywhere.
remove_guest() {
    for h in $LAB_HOSTS; do
        lv "$h" destroy "$1" >/dev/null 2>&1 || true
        lv "$h" undefine "$1" >/dev/null 2>&1 || true
        hx "$h" rm -f "$(lab_images_dir "$h")/$1.qcow2"
    done
}
