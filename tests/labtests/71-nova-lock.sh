#!/bin/bash
# Nova's lock during `ferry migrate` with [nova]: ferry takes it before the guest moves
# (task_state 'migrating', a 'running' live-migration record), RELEASES it when the migration
# fails (the guest stays on its source: task_state back to none, the record 'error'; with
# the database down at that moment the release is queued, and `ferry nova-sync --pending`
# applies it once the database is back), and KEEPS it when the guest moved but verify
# rejects the result (the guest is not where and how it must be: someone must look before
# Nova is told anything).  Then the operator, having looked, syncs with `ferry nova-sync` as
# ferry's message says.  Nova's state is read through the real nova-api and placement-api,
# and from the database rows.
#
# How verify is made to reject, for real: hostA's libvirtd gets a qemu hook ("release end",
# run synchronously when the source's QEMU process is released at the very end of a
# successful migration, before the migration call returns to ferry) that undefines the guest
# on hostB.  The guest has arrived and runs on hostB, but is no longer persistent there, so
# ferry's verify says "runs on 'hostB' but is not persistent there".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../nova/labtest-nova.sh"
nova_up

# ---------------------------------------------------------------- the migration fails
g=t71-dirty
nova_guest $g dirty a "mib=64"
test "$(nova_server)" = "hostA hostA None active"
sleep 1

# 64 MiB dirtied continuously over 10 MiB/s never converges: the abort policy gives up.
ferry_bg migrate $g --to hostB --bandwidth 10 --timeout 10 --on-timeout abort
check "the migration job runs on hostA" wait_job a $g
check "while the guest moves, nova-api reports it locked (task_state migrating) on hostA" \
    test "$(nova_server)" = "hostA hostA migrating active"
check "while the guest moves, nova-api lists a running live-migration hostA -> hostB" \
    test "$(nova_migrations)" = "running live-migration hostA hostB hostb.example.org"
check "the migration job was still running on hostA when Nova was asked" \
    test "$(job_type a $g)" = Unbounded
ferry_wait
check "ferry exits 1 (the abort policy gave up)" test "$FERRY_RC" = 1
check "ferry says the guest stays on hostA" ferry_output_has "'$g' stays on 'hostA'"
check "ferry says it released Nova's lock" ferry_output_has "nova: lock on $NOVA_UUID released"
[ "$FERRY_RC" = 1 ] || diag "$OUT/err"
check "the guest runs on hostA, and on no other host" only_on a $g running
check "nova-api: on hostA, no task in progress (the lock is released)" \
    test "$(nova_server)" = "hostA hostA None active"
check "nova-api: the live-migration record is 'error'" \
    test "$(nova_migrations)" = "error live-migration hostA hostB hostb.example.org"
check "placement-api: the allocations stay on hostA's provider" test "$(placement_holders)" = hostA
check "database: instances row on hostA/hostA, task_state NULL" \
    test "$(nova_sql "SELECT host, node, task_state FROM nova.instances WHERE uuid = '$NOVA_UUID'")" = \
    "hostA${TAB}hostA${TAB}NULL"
check "database: the one migration row is 'error'" \
    test "$(nova_sql "SELECT status FROM nova.migrations WHERE instance_uuid = '$NOVA_UUID'")" = error
check "database: the instance action is finished, with message 'Error'" \
    test "$(nova_sql "SELECT action, finish_time IS NOT NULL, message FROM nova.instance_actions WHERE instance_uuid = '$NOVA_UUID'")" = \
    "live-migration${TAB}1${TAB}Error"

# ---------------------------------------------------------------- ... with the database down
# The database goes away while the doomed migration runs: the release cannot be written when
# the migration fails, so it is queued, and the lock stays until the queue is replayed.
sleep 1
ferry_bg migrate $g --to hostB --bandwidth 10 --timeout 10 --on-timeout abort
check "the migration job runs on hostA again" wait_job a $g
check "database: locked again (task_state 'migrating')" \
    test "$(nova_sql "SELECT task_state FROM nova.instances WHERE uuid = '$NOVA_UUID'")" = migrating
nova_db_stop
check "the database went down while the job was still running" \
    test "$(job_type a $g)" = Unbounded
check "the database is down" db_down
ferry_wait
check "ferry exits 1 (the abort policy gave up)" test "$FERRY_RC" = 1
check "ferry says the release of Nova's lock is queued" \
    ferry_output_has "the Nova abort of instance '$NOVA_UUID' is queued"
[ "$FERRY_RC" = 1 ] || diag "$OUT/err"
check "the guest runs on hostA, and on no other host" only_on a $g running
nferry nova-sync --list-pending
check "one sync is queued" test "$FERRY_RC" = 0 -a "$(wc -l <"$OUT/out")" = 1
check "the queued entry is the abort of this instance's migration from hostA" \
    python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); sys.exit(not (e["op"]=="abort" and e["instance"]==sys.argv[2] and e["src_host"]=="hostA"))' \
    "$JOURNAL/pending/$(cat "$OUT/out").json" "$NOVA_UUID"
nova_db_start
check "database back: the lock is still held (the release waits in the queue)" \
    test "$(nova_sql "SELECT task_state FROM nova.instances WHERE uuid = '$NOVA_UUID'")" = migrating
nferry nova-sync --pending
check "nova-sync --pending: exit 0, 1 replayed" \
    test "$FERRY_RC $(cat "$OUT/out")" = "0 replayed 1, already applied 0, still queued 0, set aside 0"
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "nova-api: on hostA, no task in progress (the lock is released)" \
    test "$(nova_server)" = "hostA hostA None active"
check "nova-api: both live-migration records are 'error'" \
    test "$(nova_migrations)" = "error live-migration hostA hostB hostb.example.org
error live-migration hostA hostB hostb.example.org"
check "placement-api: the allocations stay on hostA's provider" test "$(placement_holders)" = hostA
remove_guest $g

# ---------------------------------------------------------------- verify rejects the move
g=t71-local
nova_guest $g local a
hook=$LAB/a/etc/hooks/qemu
flag=$LAB/a/etc/hooks/t71-undefine-on-hostb
restart_libvirtd_a() {
    local pid
    pid=$(cat "$LAB/a/run/libvirtd.pid")
    kill "$pid"
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    ! kill -0 "$pid" 2>/dev/null || return 1
    hx a /usr/sbin/libvirtd --listen --daemon --pid-file /run/libvirtd.pid \
        --config /etc/libvirt/libvirtd.conf
    for _ in $(seq 300); do lv a uri >/dev/null 2>&1 && return 0; sleep 0.05; done
    return 1
}
# libvirtd looks for hooks when it starts: restart it with the hook, and without it at the end.
test ! -e "$hook"
mkdir -p "$(dirname "$hook")"
cat >"$hook" <<'HOOK'
#!/bin/sh
# qemu hook of lab hostA (tests/labtests/71-nova-lock.sh): when the flag file names the guest
# whose QEMU process is released, undefine that guest on hostB (the migration's destination).
flag=/etc/libvirt/hooks/t71-undefine-on-hostb
[ "$2" = release ] && [ "$3" = end ] && [ -f "$flag" ] && [ "$(cat "$flag")" = "$1" ] || exit 0
rm -f "$flag"
/usr/bin/virsh -q -c qemu+tcp://hostb/system undefine "$1" >/etc/libvirt/hooks/t71.log 2>&1
exit 0
HOOK
chmod 755 "$hook"
on_exit 'rm -f "$hook" "$flag" "$LAB/a/etc/hooks/t71.log"; restart_libvirtd_a'
restart_libvirtd_a
test "$(state a $g)" = running
echo $g >"$flag"

nferry migrate $g --to hostB
check "ferry exits 1: verify rejects the result" test "$FERRY_RC" = 1
check "the error says the guest is not persistent on hostB" \
    ferry_output_has "'$g' runs on 'hostB' but is not persistent there"
check "the error says Nova's lock is kept and how to sync after checking" \
    ferry_output_has "Nova's lock on $NOVA_UUID is kept (after checking, run 'ferry nova-sync $NOVA_UUID --to hostB')"
[ "$FERRY_RC" = 1 ] || diag "$OUT/err"
check "the hook did undefine it on hostB (its flag is consumed)" test ! -e "$flag"
[ ! -s "$LAB/a/etc/hooks/t71.log" ] || diag "$LAB/a/etc/hooks/t71.log"
check "the guest runs on hostB, and on no other host" only_on b $g running
check "... and is not persistent there" test "$(persistence b $g)" = no
check "nova-api: still on hostA, locked (task_state migrating)" \
    test "$(nova_server)" = "hostA hostA migrating active"
check "nova-api: the earlier records 'error', this one still 'running'" \
    test "$(nova_migrations)" = "error live-migration hostA hostB hostb.example.org
error live-migration hostA hostB hostb.example.org
running live-migration hostA hostB hostb.example.org"
check "placement-api: the allocations are still on hostA's provider" test "$(placement_holders)" = hostA
check "database: instances row on hostA, task_state 'migrating'" \
    test "$(nova_sql "SELECT host, task_state FROM nova.instances WHERE uuid = '$NOVA_UUID'")" = \
    "hostA${TAB}migrating"
check "database: migrations 'error', 'error' and 'running'" \
    test "$(nova_sql "SELECT status FROM nova.migrations WHERE instance_uuid = '$NOVA_UUID' ORDER BY id" | tr '\n' ' ')" = \
    "error error running "

# The operator looks: the guest does run on hostB; makes it persistent there, then tells Nova.
lv b dumpxml --inactive --security-info $g >"$OUT/$g.xml"
lv b define "$OUT/$g.xml" >/dev/null
check "after the operator defines it again, the guest runs on hostB, persistent" \
    test "$(state b $g) $(persistence b $g)" = "running yes"
nferry nova-sync "$NOVA_UUID" --to hostB
check "ferry nova-sync UUID --to hostB exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "nova-api: on hostB (node hostb.example.org), no task in progress" \
    test "$(nova_server)" = "hostB hostb.example.org None active"
check "nova-api: the kept attempt closed as 'error', the sync's record 'completed'" \
    test "$(nova_migrations)" = "error live-migration hostA hostB hostb.example.org
error live-migration hostA hostB hostb.example.org
error live-migration hostA hostB hostb.example.org
completed live-migration hostA hostB hostb.example.org"
check "placement-api: the allocations are on hostB's provider only" \
    test "$(placement_holders)" = hostb.example.org
done_testing
