#!/bin/bash
# Nova's database is down (MariaDB stopped) during `ferry migrate` with [nova]: the guest
# moves anyway and the Nova sync is queued durably in the journal.  `ferry nova-sync
# --pending` keeps it queued while the database is still down, replays it once the database
# is back (nova-api and placement-api then report the instance on hostB), and replaying again
# is idempotent: with the queue empty, and with the entry put back as if ferry had died
# between committing and removing it (found already applied, nothing written twice).
# Then the database goes away in the middle of a migration that had taken Nova's lock: the
# finish is queued, the lock held, and the replay completes the migration record begun.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../nova/labtest-nova.sh"
nova_up
g=t73-local
nova_guest $g local a
test "$(nova_server)" = "hostA hostA None active"
nova_dump "$OUT/rows.before"

# The database goes away; nova-api and placement-api keep running without it.
nova_db_stop
check "the database is down (its socket is gone, the client cannot connect)" db_down

nferry migrate $g --to hostB
check "ferry migrate with the database down: exit 75 (the guest moves anyway, the Nova sync is queued)" test "$FERRY_RC" = 75
[ "$FERRY_RC" = 75 ] || diag "$OUT/err"
check "it says it moves without Nova's lock" \
    ferry_output_has "moving without Nova's lock; the sync will be queued"
check "summary: nova queued" grep -q "^  nova: *queued (run: ferry nova-sync --pending)" "$OUT/out"
check "the guest runs on hostB, and on no other host" only_on b $g running
check "... persistent there" test "$(persistence b $g)" = yes

nferry nova-sync --list-pending
pending=$(cat "$OUT/out")
check "nova-sync --list-pending lists one queued sync" \
    test "$FERRY_RC" = 0 -a "$(wc -l <"$OUT/out")" = 1 -a -n "$pending"
check "the queue holds it: pending/ID.json, a one-shot of this instance hostA -> hostB" \
    python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); sys.exit(not (e["op"]=="oneshot" and e["instance"]==sys.argv[2] and e["src_host"]=="hostA" and e["dst_host"]=="hostB" and e["power_state"]==1))' \
    "$JOURNAL/pending/$pending.json" "$NOVA_UUID"
check "nothing was journaled as applied" journal_empty undo
cp "$JOURNAL/pending/$pending.json" "$OUT/queued.json"

nferry nova-sync --pending
check "nova-sync --pending with the database still down: exit 75 (still queued)" test "$FERRY_RC" = 75
check "... it says 1 still queued" ferry_output_has "replayed 0, already applied 0, still queued 1, set aside 0"
check "... the entry stays in the queue" test "$(journal_files pending)" = "$pending.json"

# ---------------------------------------------------------------- the database is back
nova_db_start
nova_dump "$OUT/rows.back"
check "the database is back with every row as before the move" \
    same_rows "$OUT/rows.before" "$OUT/rows.back"
check "nova-api still reports the instance on hostA (not synced yet)" \
    test "$(nova_server)" = "hostA hostA None active"

nferry nova-sync --pending
check "nova-sync --pending: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "... it says 1 replayed" ferry_output_has "replayed 1, already applied 0, still queued 0, set aside 0"
check "... the queue is empty" journal_empty pending failed
check "... the replayed sync is journaled (undo possible)" test "$(journal_files undo | wc -l)" = 1
check "nova-api: on hostB (node hostb.example.org), no task" \
    test "$(nova_server)" = "hostB hostb.example.org None active"
check "nova-api: one completed live-migration hostA -> hostB" \
    test "$(nova_migrations)" = "completed live-migration hostA hostB hostb.example.org"
check "placement-api: the allocations are on hostB's provider only" \
    test "$(placement_holders)" = hostb.example.org
nova_dump "$OUT/rows.replayed"

# ---------------------------------------------------------------- replaying again
nferry nova-sync --pending
check "a second --pending: exit 0, nothing to replay" \
    test "$FERRY_RC" = 0 -a "$(cat "$OUT/out")" = "replayed 0, already applied 0, still queued 0, set aside 0"
nova_dump "$OUT/rows.again"
check "... every row as after the first replay" same_rows "$OUT/rows.replayed" "$OUT/rows.again"

# As if ferry had died after committing the replay but before removing the entry.
cp "$OUT/queued.json" "$JOURNAL/pending/$pending.json"
nferry nova-sync --pending
check "the same entry queued again: exit 0, found already applied" \
    test "$FERRY_RC" = 0 -a "$(cat "$OUT/out")" = "replayed 0, already applied 1, still queued 0, set aside 0"
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "... the entry is dropped from the queue" journal_empty pending failed
nova_dump "$OUT/rows.again2"
check "... every row as after the first replay (nothing applied twice)" \
    same_rows "$OUT/rows.replayed" "$OUT/rows.again2"
check "nova-api: still on hostB with one completed migration" \
    test "$(nova_server) / $(nova_migrations)" = \
    "hostB hostb.example.org None active / completed live-migration hostA hostB hostb.example.org"

# ---------------------------------------------------------------- down during the move
# The database is there when the migration begins (Nova's lock is taken) and goes away before
# it ends: the finish is queued, the lock stays until the replay, which completes the very
# migration record the begin wrote.
remove_guest $g
g=t73-dirty
nova_guest $g dirty b "mib=64"
sleep 1
# 64 MiB dirtied over 10 MiB/s: after 4 s the suspend policy pauses the guest so it completes.
ferry_bg migrate $g --to hostA --bandwidth 10 --timeout 4 --on-timeout suspend
check "the migration job runs on hostB" wait_job b $g
check "database: locked (task_state 'migrating'), a running migration hostB -> hostA" \
    test "$(nova_sql "SELECT i.task_state, m.status, m.source_compute, m.dest_compute FROM nova.instances i JOIN nova.migrations m ON m.instance_uuid = i.uuid AND m.status = 'running' WHERE i.uuid = '$NOVA_UUID'")" = \
    "migrating${TAB}running${TAB}hostB${TAB}hostA"
nova_db_stop
check "the database went down while the job was still running" test "$(job_type b $g)" = Unbounded
check "the database is down" db_down
ferry_wait
check "ferry migrate: exit 75 (moved, the Nova sync queued)" test "$FERRY_RC" = 75
[ "$FERRY_RC" = 75 ] || diag "$OUT/err"
check "summary: nova queued" grep -q "^  nova: *queued (run: ferry nova-sync --pending)" "$OUT/out"
check "the guest runs on hostA (resumed there), and on no other host" only_on a $g running
begun=$(sed -n "s/.*nova: instance $NOVA_UUID locked (task_state migrating), migration \([0-9a-f-]*\) recorded$/\1/p" "$OUT/err")
nferry nova-sync --list-pending
check "one sync is queued: the finish of the begun migration hostB -> hostA" \
    python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); sys.exit(not (e["op"]=="finish" and e["instance"]==sys.argv[2] and e["src_host"]=="hostB" and e["dst_host"]=="hostA" and e["migration_uuid"]==sys.argv[3]))' \
    "$JOURNAL/pending/$(cat "$OUT/out").json" "$NOVA_UUID" "$begun"
nova_db_start
check "database back: still locked, the migration still 'running'" \
    test "$(nova_sql "SELECT i.task_state, m.status FROM nova.instances i JOIN nova.migrations m ON m.instance_uuid = i.uuid WHERE i.uuid = '$NOVA_UUID' AND m.uuid = '$begun'")" = \
    "migrating${TAB}running"
nferry nova-sync --pending
check "nova-sync --pending: exit 0, 1 replayed" \
    test "$FERRY_RC $(cat "$OUT/out")" = "0 replayed 1, already applied 0, still queued 0, set aside 0"
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "nova-api: on hostA (node hostA), no task" test "$(nova_server)" = "hostA hostA None active"
check "nova-api: the begun migration hostB -> hostA is now 'completed'" \
    test "$(nova_migrations)" = "completed live-migration hostA hostB hostb.example.org
completed live-migration hostB hostA hostA"
check "database: that is the row the begin wrote" \
    test "$(nova_sql "SELECT status FROM nova.migrations WHERE uuid = '$begun'")" = completed
check "placement-api: the allocations are on hostA's provider only" test "$(placement_holders)" = hostA
done_testing
