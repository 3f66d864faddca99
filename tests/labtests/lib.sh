# tests/labtests/lib.sh -- sourced by every lab test: TAP output and lab helpers.
# Needs a lab brought up by tests/lab/up.sh and FERRY_BIN (the ferry binary to test).
#
# Rules every lab test follows (tests/run.sh and tests/manifest hold them to it):
# - setup stops at the first failed step: `set -e` is on, and a step that fails outside a
#   check ends the script with "Bail out!" naming the line, so the remaining checks are
#   missing and the run is red (the manifest knows how many there should be);
# - cleanup is registered with `on_exit CMD` (never `trap ... EXIT`, which would replace the
#   bail-out detection);
# - helpers never turn "could not ask" into a passing answer: state() says "error: ..." when
#   virsh fails for any reason other than an unknown domain, file_state() says "error" when the
#   host could not be asked, checksum() ends the script when it cannot compute a sum.
set -eE -o pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lab/env.sh"

FERRY_BIN=${FERRY_BIN:?set FERRY_BIN to the ferry binary}
TAP_N=0
TAP_FAILED=0
TAP_DONE=0
OUT=$(mktemp -d /tmp/ferry-labtest.XXXXXX)
_ON_EXIT=()

# on_exit CMD: run CMD (a string for eval) when the script ends, last registered first.
on_exit() { _ON_EXIT=("$1" "${_ON_EXIT[@]}"); }
_lib_exit() {
    local rc=$? c
    set +e
    if [ "$TAP_DONE" != 1 ]; then
        echo "Bail out! $(basename "$0") ended (status $rc) after $TAP_N checks, before done_testing"
        [ "$rc" != 0 ] || rc=1
    fi
    for c in "${_ON_EXIT[@]}"; do eval "$c"; done
    rm -rf "$OUT"
    exit "$rc"
}
trap _lib_exit EXIT
trap 'echo "# $(basename "$0") line $LINENO: step failed (status $?): $BASH_COMMAND" >&2' ERR

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
diag() { sed 's/^/# /' "$@" || true; }
done_testing() {
    echo "1..$TAP_N"
    TAP_DONE=1
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

# state HOST NAME: "running", "shut off", "paused" ... or "absent" when HOST's libvirtd
# answers that it has no such domain; "error: ..." when it could not be asked.
state() {
    local s rc=0
    s=$(lv "$1" domstate "$2" 2>&1) || rc=$?
    if [ $rc = 0 ]; then
        echo "${s%%$'\n'*}"
    elif grep -q "Domain not found" <<<"$s"; then
        echo absent
    else
        echo "error: ${s//$'\n'/ }"
    fi
}
persistent() { lv "$1" dominfo "$2" 2>/dev/null | grep -q '^Persistent: *yes'; }
# active_domains HOST: names of the running (or paused) domains on HOST; fails if it cannot ask.
active_domains() { lv "$1" list --name; }

# file_state HOST PATH: "present", "absent", or "error" when HOST could not be asked.
file_state() {
    local s
    s=$(hx "$1" sh -c 'if [ -e "$1" ] || [ -L "$1" ]; then echo present; else echo absent; fi' sh "$2" 2>/dev/null) || s=""
    case "$s" in present | absent) echo "$s" ;; *) echo error ;; esac
}
image_path() { echo "$(lab_images_dir "$1")/$2.qcow2"; }
image_exists() { test "$(file_state "$1" "$(image_path "$1" "$2")")" = present; }
image_absent() { test "$(file_state "$1" "$(image_path "$1" "$2")")" = absent; }

# checksum NAME HOST: sha256 of the guest's disk contents on HOST; ends the script (Bail out)
# when it cannot be computed, so two failures never compare equal.
checksum() {
    local s
    s=$("$LAB_DIR/guest.sh" checksum "$1" "$2") || s=""
    if ! [[ $s =~ ^[0-9a-f]{64}$ ]]; then
        echo "# checksum of $1 on host$2 failed" >&2
        exit 1
    fi
    echo "$s"
}

# All domains of all hosts with their states, persistence, and every file (path, size, mtime,
# sha256 of small files) under the hosts' images directories: to show that nothing changed.
# Fails (empty output and status 1) when a host cannot be asked.
cluster_state() {
    local h d
    for h in $LAB_HOSTS; do
        lv "$h" list --all | awk -v h="host$h" '{$1=""; print h $0}' || return 1
        for d in /var/lib/libvirt/images /var/lib/libvirt/images-c; do
            hx "$h" sh -c '[ -d "$1" ] || exit 0; cd "$1" && find . -printf "%p %s %T@ %y\n" | sort' sh "$d" |
                sed "s|^|host$h:$d/|" || return 1
        done
    done
}

# remove_guest NAME: destroy and undefine it wherever it is, remove its disk everywhere.
remove_guest() {
    local h
    for h in $LAB_HOSTS; do
        lv "$h" destroy "$1" >/dev/null 2>&1 || true
        lv "$h" undefine --nvram "$1" >/dev/null 2>&1 || lv "$h" undefine "$1" >/dev/null 2>&1 || true
        hx "$h" rm -f "$(image_path "$h" "$1")"
    done
}
