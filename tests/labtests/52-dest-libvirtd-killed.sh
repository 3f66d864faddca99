#!/bin/bash
# The destination's libvirtd dies in the middle of a (block) migration: ferry fails with an
# error that says so, the guest keeps running on its source with its disk intact.  The image
# ferry made on hostB stays while hostB cannot be asked whether a domain there uses it (the
# hosts are the truth: a destination image is removed only when none does); ferry says so and
# that 'ferry recover' finishes the job once hostB answers.  Once that libvirtd is back and
# 'ferry recover' has run, the half-migrated copy is gone: no domain, no qemu process, no
# image, no saved definition on hostB.
. "$(dirname "$0")/lib.sh"
g=t52-dirty
remove_guest $g
# the dirtying kernel plus a local disk: ferry creates hostB's image before migrating
"$LAB_DIR/guest.sh" create $g dirty-disk a "mib=64" --no-start
before=$(checksum $g a)
lv a start $g >/dev/null
img_b=$(image_path b $g)
# a journal of its own, for 'ferry recover' to find this migration's alone
export FERRY_STATE_DIR="$LAB/state-t52"
rm -rf "$FERRY_STATE_DIR"
on_exit 'rm -rf "$FERRY_STATE_DIR"'

start_libvirtd_b() {
    hx b /usr/sbin/libvirtd --listen --daemon --pid-file /run/libvirtd.pid \
        --config /etc/libvirt/libvirtd.conf
    for _ in $(seq 300); do lv b uri >/dev/null 2>&1 && return 0; sleep 0.05; done
    return 1
}
# Whatever happens, hostB's libvirtd must be running again for the next tests.
on_exit 'lv b uri >/dev/null 2>&1 || start_libvirtd_b'
sleep 1

FERRY_RC=0
op timeout -k 30 60 "$FERRY_BIN" migrate $g --to hostB --bandwidth 10 --on-timeout none \
    >"$OUT/out" 2>"$OUT/err" &
ferry_pid=$!
sleep 5
check "the migration is still running after 5 s" test "$(lv a domjobinfo $g | awk '/^Job type/ {print $3}')" = Unbounded
check "... hostB holds the half-migrated copy: the disk image ferry made and a qemu process" \
    test "$(file_state b "$img_b")/$(qemu_count b $g)" = present/1
kill -9 "$(cat "$LAB/b/run/libvirtd.pid")"
wait $ferry_pid || FERRY_RC=$?
check "ferry exits 1" test "$FERRY_RC" = 1
diag "$OUT/err"
check "the error says the connection to hostB's libvirtd was lost" ferry_output_has "connection to the libvirtd of 'hostB' is lost"
check "the error names the failed migration to hostB" \
    ferry_output_has "migration of '$g' from 'hostA' to 'hostB' failed"
check "the error says the guest stays on hostA" ferry_output_has "'$g' stays on 'hostA'"
check "the guest runs on hostA" test "$(state a $g)" = running
check "ferry kept the image it made on hostB: hostB could not say whether a domain uses it" \
    test "$(file_state b "$img_b")" = present
check "... and says to run 'ferry recover' once both hosts answer" \
    ferry_output_has "run 'ferry recover' once both answer"

check "hostB's libvirtd starts again" start_libvirtd_b
sleep 1
FERRY_RC=0
op timeout -k 30 120 "$FERRY_BIN" recover >"$OUT/out" 2>"$OUT/err" || FERRY_RC=$?
diag "$OUT/out" "$OUT/err"
check "ferry recover exits 0" test "$FERRY_RC" = 0
check "the guest is not on hostB (libvirt)" test "$(state b $g)" = absent
check "the half-migrated copy was removed: no qemu process for it on hostB" test "$(qemu_count b $g)" = 0
check "... no disk image on hostB" test "$(file_state b "$img_b")" = absent
check "... no saved definition on hostB" test "$(file_state b /etc/libvirt/qemu/$g.xml)" = absent
check "the guest still runs on hostA, and only there" only_on a $g running
check "hostA's disk is intact (the only copy)" test "$(checksum $g a)" = "$before"

remove_guest $g
done_testing
