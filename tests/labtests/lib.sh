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

# nova_harness_up LOG: a real Nova control plane (tests/nova/nova-up.sh) with its databases
# fresh (data/seed.sql): FERRY_NOVA_LAB set and exported, $FERRY_NOVA_LAB/state.env to source.
# tests/run.sh starts one harness for all the lab tests (FERRY_NOVA_SHARED_LAB): then only its
# databases are reset, after MariaDB is started again if a test left it stopped; a test run
# alone starts a private one, stopped when it ends.  Fails (the log in LOG) when it cannot.
nova_harness_up() {
    local log=$1 harness
    harness=$(cd "$(dirname "${BASH_SOURCE[0]}")/../nova" && pwd)/nova-up.sh
    if [ -n "${FERRY_NOVA_SHARED_LAB:-}" ]; then
        export FERRY_NOVA_LAB=$FERRY_NOVA_SHARED_LAB
        "$harness" db-start >"$log" 2>&1 || true # "running already" is what it says mostly
        "$harness" reset-db >>"$log" 2>&1
        return
    fi
    FERRY_NOVA_LAB=$(mktemp -d /tmp/ferry-nova-lab.XXXXXX)
    export FERRY_NOVA_LAB
    on_exit "'$harness' stop >/dev/null 2>&1; rm -rf '$FERRY_NOVA_LAB'"
    "$harness" start >"$log" 2>&1 && "$harness" reset-db >>"$log" 2>&1
}

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
# the failed step, where it is, and the calls that led there (a failing helper names its caller)
_lib_err() {
    local rc=$1 line=$2 cmd=$3 i where
    # set -E hands this trap to $(...) too, where set -e is off and a failing command (a grep
    # finding nothing) ends nothing: only the script's own shell reports
    [ "$BASH_SUBSHELL" = 0 ] || return 0
    where="$(basename "${BASH_SOURCE[1]}") line $line"
    for ((i = 1; i < ${#FUNCNAME[@]} - 1; i++)); do
        where+=", in ${FUNCNAME[i]}() called from $(basename "${BASH_SOURCE[i + 1]}") line ${BASH_LINENO[i]}"
    done
    echo "# $where: step failed (status $rc): $cmd" >&2
}
trap '_lib_err $? $LINENO "$BASH_COMMAND"' ERR

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
    [ "$TAP_FAILED" = 0 ] || exit 1
}

# ferry ARGS...: runs ferry on the operator machine; stdout -> $OUT/out, stderr -> $OUT/err,
# exit status -> $FERRY_RC.  Never fails the script itself.
ferry() {
    FERRY_RC=0
    op timeout 300 "$FERRY_BIN" "$@" >"$OUT/out" 2>"$OUT/err" || FERRY_RC=$?
    case " $* " in *" --json "*) keep_json ;; esac
    return 0
}
# keep_json [FILE]: a copy of ferry's --json output (default $OUT/out) for the suite
# lab/json-schema, which validates every line the lab tests printed against
# docs/json-schema.json (tests/json/validate.py) after the last lab test.
_JSON_N=0
keep_json() {
    local d="$LAB/json-out"
    mkdir -p "$d"
    _JSON_N=$((_JSON_N + 1))
    cp "${1:-$OUT/out}" "$d/$(basename "$0" .sh)-$_JSON_N.jsonl" 2>/dev/null || true
}
ferry_output_has() { grep -qF -- "$1" "$OUT/out" "$OUT/err"; }

# state HOST NAME: "running", "shut off", "paused" ... or "absent" when HOST's libvirtd lists
# no domain of that name; "error: ..." when it could not be asked.  (virsh prints the same
# "failed to get domain" for an unknown domain as for a failed lookup, so absence is read from
# the domain list, which either answers or fails.)
state() {
    local names s
    if ! names=$(lv "$1" list --all --name 2>&1); then
        echo "error: ${names//$'\n'/ }"
    elif ! grep -qxF -- "$2" <<<"$names"; then
        echo absent
    elif s=$(lv "$1" domstate "$2" 2>&1); then
        echo "${s%%$'\n'*}"
    else
        echo "error: ${s//$'\n'/ }"
    fi
}
# where NAME: its state on every host, "a=running b=absent c=absent"
where() {
    local h out=""
    for h in $LAB_HOSTS; do out+="$h=$(state "$h" "$1") "; done
    echo "${out% }"
}
# (never `cmd | grep -q`: with pipefail, grep -q quitting early fails the pipeline by SIGPIPE)
persistent() {
    local s
    s=$(lv "$1" dominfo "$2" 2>/dev/null) || return 1
    grep -q '^Persistent: *yes' <<<"$s"
}
# only_on HOST NAME STATE: NAME is STATE on HOST and absent from every other host (a guest
# lives in exactly one place).  Says on stderr what it found when it is not so.
only_on() {
    local h s bad=0
    for h in $LAB_HOSTS; do
        s=$(state "$h" "$2")
        if { [ "$h" = "$1" ] && [ "$s" != "$3" ]; } || { [ "$h" != "$1" ] && [ "$s" != absent ]; }; then
            echo "# $2 on host${h^^}: $s" >&2
            bad=1
        fi
    done
    return $bad
}
# qemu_pids HOST NAME: the qemu processes for guest NAME running in HOST (what the kernel lists
# in HOST's network namespace, whatever libvirtd believes); qemu_count HOST NAME: how many.
qemu_pids() {
    local pid c pids
    pids=$(ip netns pids "$P-$1") || return 1
    for pid in $pids; do
        c=$(tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline") || continue
        if grep -qxF -- "guest=$2,debug-threads=on" <<<"$c"; then echo "$pid"; fi
    done
}
qemu_count() {
    local p
    p=$(qemu_pids "$@") || return 1
    [ -z "$p" ] && echo 0 || wc -l <<<"$p"
}
# qemu_opened HOST NAME PATH: a qemu process of NAME on HOST has PATH open (its file descriptors)
qemu_opened() {
    local pid fd
    for pid in $(qemu_pids "$1" "$2"); do
        for fd in /proc/"$pid"/fd/*; do
            [ "$(readlink "$fd" 2>/dev/null)" = "$3" ] && return 0
        done
    done
    return 1
}

# file_state HOST PATH: "present", "absent", or "error" when HOST could not be asked.
file_state() {
    local s
    s=$(hx "$1" sh -c 'if [ -e "$1" ] || [ -L "$1" ]; then echo present; else echo absent; fi' sh "$2" 2>/dev/null) || s=""
    case "$s" in present | absent) echo "$s" ;; *) echo error ;; esac
}
image_path() { echo "$(lab_images_dir "$1")/$2.qcow2"; }
image_exists() { test "$(file_state "$1" "$(image_path "$1" "$2")")" = present; }
image_absent() { test "$(file_state "$1" "$(image_path "$1" "$2")")" = absent; }

# image_alloc HOST PATH: bytes of data the image holds in its own layer (not its backing file),
# as qemu-img map counts them; fails when it cannot be asked.
image_alloc() {
    local m
    m=$(hx "$1" qemu-img map -U --output=json -- "$2") || return 1
    python3 -c 'import json,sys; print(sum(e["length"] for e in json.load(sys.stdin) if e["data"] and e["depth"] == 0))' <<<"$m"
}
# file_sha HOST PATH: sha256 of a file on HOST; ends the script (Bail out) when it cannot.
file_sha() {
    local s
    s=$(hx "$1" sha256sum -- "$2") || s=""
    s=${s%% *}
    if ! [[ $s =~ ^[0-9a-f]{64}$ ]]; then
        echo "# sha256 of $2 on host${1^^} failed" >&2
        exit 1
    fi
    echo "$s"
}
# json_result KEY: KEY of ferry's last JSON line (the result event) in $OUT/out ("" if none).
json_result() {
    python3 -c 'import json,sys
try: v = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]).get(sys.argv[2], "")
except Exception: v = ""
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$OUT/out" "$1"
}

# ---- what the hosts record while ferry works ----
# Background recorders (libvirt events, log files) run until watch_stop, which the first one
# registers on exit.
_WATCH_PIDS=()
_watch_started() {
    [ ${#_WATCH_PIDS[@]} != 0 ] || on_exit 'watch_stop'
    _WATCH_PIDS+=("$1")
}
watch_stop() {
    local p
    for p in "${_WATCH_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${_WATCH_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    _WATCH_PIDS=()
}

# events_start HOST: records the domain events HOST's libvirtd sends (virsh event --timestamp:
# stamped with the time they arrive, from this machine's clock, which every lab host shares) in
# $OUT/events.HOST.
events_start() {
    : >"$OUT/events.$1"
    # virsh itself in the background (not the lv function, whose subshell would outlive a kill)
    virsh -q -c "qemu+unix:///system?socket=$LAB/$1/run/libvirt/libvirt-sock" \
        event --all --loop --timestamp >>"$OUT/events.$1" 2>&1 &
    _watch_started $!
    sleep 0.5 # connected and registered before anything happens
}
# events HOST NAME: NAME's events recorded on HOST, one a line, "EPOCH TYPE DETAIL...":
#   1796006334.512 lifecycle Suspended Paused
#   1796006342.191 job-completed downtime=9502 memory_iteration=4 ...
events() {
    python3 - "$OUT/events.$1" "$2" <<'PY'
import datetime, re, sys
head = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)([+-]\d{4}): event '([^']+)' for domain '(.*)':(.*)$")
cur = None
def emit():
    if cur and cur[2] == sys.argv[2]:
        print("%.3f %s %s" % (cur[0], cur[1], " ".join(cur[3])))
for line in open(sys.argv[1], errors="replace"):
    line = line.rstrip("\n")
    m = head.match(line)
    if m:
        emit()
        t = datetime.datetime.strptime(m.group(1) + m.group(2), "%Y-%m-%d %H:%M:%S.%f%z").timestamp()
        cur = [t, m.group(3), m.group(4), [m.group(5).strip()] if m.group(5).strip() else []]
    elif cur and line.startswith("\t") and ":" in line:
        k, v = line.strip().split(":", 1)
        cur[3].append("%s=%s" % (k.strip(), v.strip()))
emit()
PY
}
# event_time HOST NAME REGEX: when the first of NAME's events on HOST matching REGEX (against
# "TYPE DETAIL") arrived; fails when there is none.
event_time() {
    local e
    e=$(events "$1" "$2" | awk -v re="$3" '!f { t = $1; $1 = ""; if (substr($0, 2) ~ re) { print t; f = 1 } }')
    [ -n "$e" ] && echo "$e"
}
# job_stat HOST NAME KEY: KEY of the last job-completed event for NAME on HOST (libvirt's
# statistics of the finished migration job, e.g. downtime, memory_iteration); fails if none.
job_stat() {
    local v
    v=$(events "$1" "$2" | awk -v k="$3" '$2 == "job-completed" { for (i = 3; i <= NF; i++) if (index($i, k "=") == 1) v = substr($i, length(k) + 2) } END { print v }')
    [ -n "$v" ] && echo "$v"
}

# log_watch HOST-FILE TAG: records the lines appended to FILE (a path on this machine, e.g.
# $LAB/b/log/sshd.log), each stamped with the time it was read, in $OUT/log.TAG.
log_watch() {
    : >"$OUT/log.$2"
    python3 -u - "$1" "$OUT/log.$2" <<'PY' &
import sys, time
f = open(sys.argv[1], errors="replace")
f.seek(0, 2)
out = open(sys.argv[2], "a", buffering=1)
buf = ""
while True:
    chunk = f.read()
    if not chunk:
        time.sleep(0.02)
        continue
    t = time.time()
    buf += chunk
    *lines, buf = buf.split("\n")
    for l in lines:
        out.write("%.3f %s\n" % (t, l.rstrip("\r")))
PY
    _watch_started $!
    sleep 0.2
}
# ssh_sessions TAG FROM: the ssh logins from lab machine FROM in sshd's log watched as TAG
# (log_watch $LAB/HOST/log/sshd.log TAG), one a line: "PORT ACCEPTED-TIME DISCONNECTED-TIME"
# (the last is "-" while the session is open), in the order they were accepted.
ssh_sessions() {
    awk -v ip="$(lab_ip "$2")" '
        $2 == "Accepted" && $3 == "publickey" && $7 == ip { port[++n] = $9; acc[$9] = $1 }
        $2 == "Disconnected" && $3 == "from" && $6 == ip && ($8 in acc) { dis[$8] = $1 }
        END { for (i = 1; i <= n; i++) print port[i], acc[port[i]], (port[i] in dis) ? dis[port[i]] : "-" }
    ' "$OUT/log.$1"
}

# net_watch HOST FROM PORT: counts what reaches HOST's TCP PORT from lab machine FROM (a, b, c,
# op, s): iptables rules in HOST's own network namespace, removed on exit.  net_conns and
# net_bytes read the number of connections (SYNs) and the bytes so far.
net_watch() {
    local src
    src=$(lab_ip "$2")
    ip netns exec "$P-$1" iptables -I INPUT -p tcp -s "$src" --dport "$3" -m comment --comment "labtest bytes $2:$3"
    ip netns exec "$P-$1" iptables -I INPUT -p tcp --syn -s "$src" --dport "$3" -m comment --comment "labtest conns $2:$3"
    on_exit "ip netns exec '$P-$1' iptables -D INPUT -p tcp -s '$src' --dport '$3' -m comment --comment 'labtest bytes $2:$3' 2>/dev/null; ip netns exec '$P-$1' iptables -D INPUT -p tcp --syn -s '$src' --dport '$3' -m comment --comment 'labtest conns $2:$3' 2>/dev/null || true"
}
_net_counter() {
    local t
    t=$(ip netns exec "$P-$1" iptables -L INPUT -v -n -x) || return 1
    awk -v c="/* labtest $2 $3:$4 */" -v col="$5" 'index($0, c) { print $col; f = 1 } END { exit !f }' <<<"$t"
}
net_conns() { _net_counter "$1" conns "$2" "$3" 1; }
net_bytes() { _net_counter "$1" bytes "$2" "$3" 2; }
# net_zero HOST: sets HOST's counters back to 0
net_zero() { ip netns exec "$P-$1" iptables -Z INPUT; }

# within A B TOLERANCE: |A - B| <= TOLERANCE;  less A B: A < B.  Decimal numbers only: an
# empty or non-numeric argument (a figure that could not be read) is false, never 0.
_num() { [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || { echo "# not a number: '$1'" >&2; return 1; }; }
within() {
    _num "$1" && _num "$2" && _num "$3" &&
        awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'
}
less() { _num "$1" && _num "$2" && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# checksum NAME HOST: sha256 of the guest's disk contents on HOST; ends the script (Bail out)
# when it cannot be computed, so two failures never compare equal.
checksum() {
    local s
    s=$("$LAB_DIR/guest.sh" checksum "$1" "$2") || s=""
    if ! [[ $s =~ ^[0-9a-f]{64}$ ]]; then
        echo "# checksum of $1 on host${2^^} failed" >&2
        exit 1
    fi
    echo "$s"
}

# cluster_state: every host's domains (name, state, persistent or transient) and every file
# (path, size, mtime, type, and the sha256 of each regular file; directories by path, as their
# mtime only says an entry came and went) under the images directories
# (both layouts, on every host: a directory appearing where it should not is a change too) and
# under /etc/libvirt/qemu (the saved definitions): to show that nothing changed.
# Fails (status 1) when a host cannot be asked.
cluster_state() {
    local h H
    for h in $LAB_HOSTS; do
        H=host${h^^}
        lv "$h" list --all --persistent | awk -v h="$H" 'NF {$1=""; print h " domain" $0 " (persistent)"}' || return 1
        lv "$h" list --transient | awk -v h="$H" 'NF {$1=""; print h " domain" $0 " (transient)"}' || return 1
        # (sh has no pipefail: the listing is taken whole, then sorted)
        hx "$h" sh -c 'l=$(for d; do
                [ -d "$d" ] || continue
                find "$d" \( -type d -printf "%p %y\n" \) -o -printf "%p %s %T@ %y\n" &&
                    find "$d" -type f -exec sha256sum {} + || exit 1
            done) || exit 1
            printf "%s\n" "$l" | sort' sh /var/lib/libvirt/images /var/lib/libvirt/images-c /etc/libvirt/qemu |
            sed "s|^|$H |" || return 1
    done
}

# snapshot_take: records cluster_state in $SNAPSHOT (the script ends if a host cannot be asked).
# unchanged_since_snapshot: the hosts' domains and files are exactly as recorded; if not, the
# differences go to stderr as TAP comments.
snapshot_take() { SNAPSHOT=$(cluster_state); }
unchanged_since_snapshot() {
    local now
    now=$(cluster_state) || { echo "# cannot ask the hosts" >&2; return 1; }
    [ "$now" = "$SNAPSHOT" ] && return 0
    diff <(echo "$SNAPSHOT") <(echo "$now") | sed 's/^/# /' >&2
    return 1
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

# lab_blockdev HOST NAME MIB: a block device of MIB MiB at /dev/$P-vg/NAME inside HOST's mount
# namespace (the same path on every host, a different device on each, as an LVM volume of the
# same name would be): a loop device over $LAB/HOST/blockdev/NAME.img, its node made on a tmpfs
# mounted at /dev/$P-vg in that namespace only.  Made lazily by the tests that need it;
# tests/lab/down.sh detaches the loop devices and removes /dev/$P-vg.  Prints the path.
lab_blockdev() {
    local h=$1 name=$2 mib=$3 img dev
    img=$LAB/$h/blockdev/$name.img
    mkdir -p "$LAB/$h/blockdev" "/dev/$P-vg"
    truncate -s "${mib}M" "$img"
    dev=$(losetup -f --show "$img")
    hx "$h" sh -ec '
        mountpoint -q "$1" || mount -t tmpfs -o mode=0755,size=64k tmpfs "$1"
        rm -f "$1/$2"
        mknod "$1/$2" b "$(printf %d 0x$(stat -c %t "$3"))" "$(printf %d 0x$(stat -c %T "$3"))"' \
        sh "/dev/$P-vg" "$name" "$dev"
    echo "/dev/$P-vg/$name"
}
# lab_blockdev_remove HOST NAME: its node and loop device go again.
lab_blockdev_remove() {
    local h=$1 name=$2 img=$LAB/$1/blockdev/$2.img dev
    hx "$h" rm -f "/dev/$P-vg/$name" 2>/dev/null || true
    for dev in $(losetup -j "$img" -O NAME -n 2>/dev/null || true); do losetup -d "$dev" || true; done
    rm -f "$img"
}
