#!/bin/bash
# A live migration that fails after ferry created images on the destination removes them again
# (when the destination's libvirtd is dead and cannot say whether a domain uses them, only once
# 'ferry recover' runs after it is back), every way it can fail: the destination's libvirtd
# killed mid-job, the 'abort' policy at the completion timeout (an overlay whose backing file
# ferry had copied: both go), SIGINT mid-job
# (to hostC, its own images dir), a second disk that cannot be created after the first was, and
# the destination unable to store the definition once the whole guest was copied.
# Each time, on the hosts: the destination's images directory is exactly as before (what ferry
# created is gone, what was there is untouched, byte for byte), no guest and no qemu process for
# it there, and the guest runs -- not paused -- on its source only, its disk contents intact.
. "$(dirname "$0")/lib.sh"

# qemu_on HOST NAME: pids of NAME's qemu processes in HOST's network namespace
qemu_on() {
    local ns pid
    ns=$(readlink "/proc/$(cat "$LAB/$1/anchor.pid")/ns/net")
    for pid in $(pgrep -f -- "guest=$2," || true); do
        [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$ns" ] && echo "$pid"
    done
    return 0
}
# listing HOST: every file under HOST's images dir with size, mtime and sha256 (fails loudly)
listing() {
    hx "$1" sh -ec 'cd "$1"; find . \( -type f -o -type l \) | sort | while read -r f; do
        echo "$f $(stat -c "%s %Y" "$f") $(sha256sum <"$f" | cut -c1-64)"; done' sh "$(lab_images_dir "$1")"
}
# wait_for SECONDS CMD...: until CMD succeeds (polled every 0.2 s); fails after SECONDS
wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.2
    done
}
job_running() { local j; j=$(lv "$1" domjobinfo "$2" 2>/dev/null) && grep -q '^Job type: *Unbounded' <<<"$j"; }
no_job() { local j; j=$(lv "$1" domjobinfo "$2") && grep -q '^Job type: *None' <<<"$j"; }
sum_disk() { hx "$1" sh -c 't=$(mktemp) && qemu-img convert -U -O raw "$1" "$t" && sha256sum <"$t" | cut -c1-64; rc=$?; rm -f "$t"; exit $rc' sh "$2"; }
# ferry_bg ARGS...: ferry on the operator machine in the background, under timeout(1), whose pid
# is FERRY_PID (timeout passes SIGINT and SIGTERM on to ferry)
ferry_bg() {
    (exec ip netns exec "$P-op" env FERRY_CONFIG="$LAB/inventory.ini" \
        timeout -k 10 120 "$FERRY_BIN" "$@" >"$OUT/out" 2>"$OUT/err") &
    FERRY_PID=$!
}
ferry_wait() { FERRY_RC=0; wait "$FERRY_PID" || FERRY_RC=$?; }

A=/var/lib/libvirt/images
C=/var/lib/libvirt/images-c
start_libvirtd_b() {
    hx b /usr/sbin/libvirtd --listen --daemon --pid-file /run/libvirtd.pid \
        --config /etc/libvirt/libvirtd.conf
    wait_for 15 lv b uri >/dev/null 2>&1
}
cleanup() {
    lv b uri >/dev/null 2>&1 || start_libvirtd_b
    hx b umount "$A/t80sub" 2>/dev/null || true
    hx b rmdir "$A/t80sub" 2>/dev/null || true
    [ -e "$LAB/b/lib/images/base.qcow2" ] || cp -p "$LAB/a/lib/images/base.qcow2" "$LAB/b/lib/images/base.qcow2"
    for g in t80-local t80-overlay t80-int t80-two; do remove_guest $g; done
    hx a rm -rf "$A/t80sub"
    hx b rm -f "$A/t80-keep.qcow2" "$A/t80-keep.txt"
    hx c rm -f "$C/t80-keep.qcow2"
}
on_exit cleanup
# a journal of its own, for 'ferry recover' (case 1) to find this test's migrations alone
export FERRY_STATE_DIR="$LAB/state-t80"
rm -rf "$FERRY_STATE_DIR"
on_exit 'rm -rf "$FERRY_STATE_DIR"'
for g in t80-local t80-overlay t80-int t80-two; do remove_guest $g; done

# files that were on the destinations before: they must stay exactly as they are
hx b qemu-img create -q -f qcow2 "$A/t80-keep.qcow2" 16M
hx b sh -c 'echo "not ferry'"'"'s" >"$1"' sh "$A/t80-keep.txt"
hx c qemu-img create -q -f qcow2 "$C/t80-keep.qcow2" 16M

# ---- 1. hostB's libvirtd killed while the disk is being mirrored -----------------------------
# 12 MiB of data at --bandwidth 1 (MiB/s, the NBD mirror too): ~12 s of disk copy.
g=t80-local
"$LAB_DIR/guest.sh" create $g local a --no-start
sum_before=$(sum_disk a $A/$g.qcow2)
lv a start $g >/dev/null
before_b=$(listing b)
ferry_bg migrate $g --to hostB --bandwidth 1 --on-timeout none
wait_for 30 job_running a $g
wait_for 10 test "$(file_state b $A/$g.qcow2)" = present
sleep 1
check "1: ferry created $A/$g.qcow2 on hostB and the job runs" \
    test "$(file_state b $A/$g.qcow2)/$(job_running a $g && echo job)" = present/job
kill -9 "$(cat "$LAB/b/run/libvirtd.pid")"
ferry_wait
check "1: ferry exits 1" test "$FERRY_RC" = 1
check "1: ... saying the guest stays on hostA" ferry_output_has "'$g' stays on 'hostA'"
# hostB cannot say whether a domain there uses the image: it stays until 'ferry recover'
check "1: ... and that hostB could not be asked: 'ferry recover' once both answer" \
    ferry_output_has "run 'ferry recover' once both answer"
[ "$FERRY_RC" = 1 ] || diag "$OUT/err"
check "1: the image ferry created on hostB is left while hostB's libvirtd is down" \
    test "$(file_state b $A/$g.qcow2)" = present
start_libvirtd_b
sleep 1
op timeout -k 10 120 "$FERRY_BIN" recover >"$OUT/out" 2>"$OUT/err" || { diag "$OUT/err"; exit 1; }
check "1: hostB's images dir is exactly as before (pre-existing files untouched)" \
    test "$before_b" = "$(listing b)"
check "1: the guest runs on hostA only (not paused), hostB's libvirtd back" \
    test "$(where $g)" = "a=running b=absent c=absent"
check "1: no qemu process for it on hostB" test -z "$(qemu_on b $g)"
check "1: hostA's copy of the disk is still there" test "$(file_state a $A/$g.qcow2)" = present
lv a destroy $g >/dev/null
check "1: hostA's disk contents are intact" test "$(sum_disk a $A/$g.qcow2)" = "$sum_before"
remove_guest $g

# ---- 2. 'abort' policy at --timeout, an overlay whose backing file ferry copied -----------------
# base.qcow2 is missing on hostB: ferry copies it there, creates the overlay, starts the mirror
# (26 MiB at 1 MiB/s); at 3 s the policy aborts.  Both the copied base and the overlay go.
g=t80-overlay
"$LAB_DIR/guest.sh" create $g overlay a --no-start
hx a qemu-io -f qcow2 -c 'write -P 0x7e 8M 24M' $A/$g.qcow2 >/dev/null
sum_before=$(sum_disk a $A/$g.qcow2)
base_sum_a=$(hx a sha256sum $A/base.qcow2 | cut -c1-64)
lv a start $g >/dev/null
hx b rm -f $A/base.qcow2
before_b=$(listing b)
ferry migrate $g --to hostB --bandwidth 1 --timeout 3 --on-timeout abort --json
check "2: ferry exits 1" test "$FERRY_RC" = 1
check "2: the policy aborted at the completion timeout" \
    ferry_output_has '"action":"abort","reason":"completion timeout 3.0 s'
check "2: ferry had copied the backing file to hostB" ferry_output_has "copied backing file '$A/base.qcow2'"
check "2: ferry had created the overlay on hostB" ferry_output_has "created qcow2 image '$A/$g.qcow2'"
check "2: ferry says it removed both" sh -c "grep -c \"removed '$A/\(base\|$g\).qcow2' from hostB\" '$OUT/out' | grep -qx 2"
[ "$FERRY_RC" = 1 ] || diag "$OUT/err"
check "2: neither the overlay nor the copied base is left on hostB" \
    test "$(file_state b $A/$g.qcow2)/$(file_state b $A/base.qcow2)" = absent/absent
check "2: hostB's images dir is exactly as before" test "$before_b" = "$(listing b)"
check "2: the guest runs on hostA only (not paused)" test "$(where $g)" = "a=running b=absent c=absent"
check "2: no qemu process for it on hostB" test -z "$(qemu_on b $g)"
check "2: hostA's base image is untouched" test "$(hx a sha256sum $A/base.qcow2 | cut -c1-64)" = "$base_sum_a"
lv a destroy $g >/dev/null
check "2: hostA's disk contents are intact" test "$(sum_disk a $A/$g.qcow2)" = "$sum_before"
cp -p "$LAB/a/lib/images/base.qcow2" "$LAB/b/lib/images/base.qcow2"
remove_guest $g

# ---- 3. SIGINT while the disk is mirrored to hostC (another images dir) -----------------------
g=t80-int
"$LAB_DIR/guest.sh" create $g local a --no-start
sum_before=$(sum_disk a $A/$g.qcow2)
lv a start $g >/dev/null
before_c=$(listing c)
ferry_bg migrate $g --to hostC --bandwidth 1 --on-timeout none
wait_for 30 job_running a $g
wait_for 10 test "$(file_state c $C/$g.qcow2)" = present
sleep 1
check "3: ferry created $C/$g.qcow2 on hostC and the job runs" \
    test "$(file_state c $C/$g.qcow2)/$(job_running a $g && echo job)" = present/job
kill -INT "$FERRY_PID"
ferry_wait
check "3: ferry exits 1 on SIGINT" test "$FERRY_RC" = 1
check "3: ... saying the migration was aborted and the guest stays on hostA" \
    sh -c "grep -q 'migration aborted' '$OUT/err' && grep -q \"'$g' stays on 'hostA'\" '$OUT/err'"
[ "$FERRY_RC" = 1 ] || diag "$OUT/err"
check "3: the image ferry created on hostC is gone" test "$(file_state c $C/$g.qcow2)" = absent
check "3: hostC's images dir is exactly as before" test "$before_c" = "$(listing c)"
check "3: the guest runs on hostA only (not paused)" test "$(where $g)" = "a=running b=absent c=absent"
check "3: no qemu process for it on hostC" test -z "$(qemu_on c $g)"
check "3: no migration job left on hostA" no_job a $g
lv a destroy $g >/dev/null
check "3: hostA's disk contents are intact" test "$(sum_disk a $A/$g.qcow2)" = "$sum_before"
remove_guest $g

# ---- 4. the second disk cannot be created after the first was ---------------------------------
# vdb lives in $A/t80sub, which on hostB is a read-only mount: the checks pass (nothing is
# there, the space is), vda's image is created, vdb's creation fails.
g=t80-two
hx a mkdir -p $A/t80sub
hx a qemu-img create -q -f qcow2 $A/$g.qcow2 64M
hx a qemu-io -f qcow2 -c 'write -P 0x11 0 4M' $A/$g.qcow2 >/dev/null
hx a qemu-img create -q -f qcow2 $A/t80sub/$g-b.qcow2 32M
hx a qemu-io -f qcow2 -c 'write -P 0x22 0 2M' $A/t80sub/$g-b.qcow2 >/dev/null
sed -e "s|@NAME@|$g|g" -e "s|@MEM_MIB@|64|g" -e "s|@DISK@|$A/$g.qcow2|" \
    -e "s|@DISK2@|$A/t80sub/$g-b.qcow2|" "$LAB_DIR/guests/two-disks.xml" >"$LAB/a/$g.xml"
lv a define "$LAB/a/$g.xml" >/dev/null
sum_a=$(sum_disk a $A/$g.qcow2)
sum_b=$(sum_disk a $A/t80sub/$g-b.qcow2)
lv a start $g >/dev/null
hx b sh -ec 'mkdir -p "$1"; mount --bind "$1" "$1"; mount -o remount,bind,ro "$1"' sh $A/t80sub
before_b=$(listing b)
ferry migrate $g --to hostB
check "4: ferry exits 1" test "$FERRY_RC" = 1
check "4: ... naming the disk it could not prepare" ferry_output_has "cannot prepare disk vdb on 'hostB'"
check "4: ... after it had created vda's image, which it removed" \
    ferry_output_has "removed '$A/$g.qcow2' from hostB (created for the failed migration)"
[ "$FERRY_RC" = 1 ] || diag "$OUT/err"
check "4: vda's image is gone from hostB" test "$(file_state b $A/$g.qcow2)" = absent
check "4: hostB's images dir is exactly as before" test "$before_b" = "$(listing b)"
check "4: the guest runs on hostA only (not paused)" test "$(where $g)" = "a=running b=absent c=absent"
lv a destroy $g >/dev/null
check "4: both of hostA's disks are intact" \
    test "$(sum_disk a $A/$g.qcow2)/$(sum_disk a $A/t80sub/$g-b.qcow2)" = "$sum_a/$sum_b"
remove_guest $g
hx b umount $A/t80sub
hx b rmdir $A/t80sub

# ---- 5. the whole guest was copied, then hostC cannot store the definition (PERSIST_DEST) ------
g=t80-local
"$LAB_DIR/guest.sh" create $g local a --no-start
sum_before=$(sum_disk a $A/$g.qcow2)
lv a start $g >/dev/null
hx c sh -ec 'mount --bind /etc/libvirt/qemu /etc/libvirt/qemu; mount -o remount,bind,ro /etc/libvirt/qemu'
on_exit 'hx c umount /etc/libvirt/qemu 2>/dev/null || true'
before_c=$(listing c)
ferry migrate $g --to hostC
hx c umount /etc/libvirt/qemu
check "5: ferry exits 1" test "$FERRY_RC" = 1
check "5: ... saying the guest stays on hostA, after libvirt could not store it on hostC" \
    ferry_output_has "'$g' stays on 'hostA': migration of '$g' from 'hostA' to 'hostC' failed: Failed to create file '/etc/libvirt/qemu/$g.xml.new'"
check "5: ... and that it removed the image it created" \
    ferry_output_has "removed '$C/$g.qcow2' from hostC (created for the failed migration)"
[ "$FERRY_RC" = 1 ] || diag "$OUT/err"
check "5: hostC's images dir is exactly as before" test "$before_c" = "$(listing c)"
check "5: the guest runs on hostA only (not paused)" test "$(where $g)" = "a=running b=absent c=absent"
check "5: no qemu process for it on hostC" test -z "$(qemu_on c $g)"
lv a destroy $g >/dev/null
check "5: hostA's disk contents are intact" test "$(sum_disk a $A/$g.qcow2)" = "$sum_before"

done_testing
