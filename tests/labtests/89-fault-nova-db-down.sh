#!/bin/bash
# Fault matrix, case e: the Nova database stops between the begin and the finish of a real
# `ferry migrate` (block migration of a guest with a local disk that dirties its memory).  The
# begin takes Nova's lock before anything moves; MariaDB is stopped while the job runs.  The
# guest must end in exactly one place (hostB, running, not paused), its disk identical, no
# stray image or definition; the finish queued (Nova's lock and the running migration record
# kept, nothing of the finish written); `ferry nova-sync --pending` keeps it while the
# database is down and, once it is back, replays it: nova-api and placement-api report hostB,
# the begun migration completed; ferry's operation journal, its Nova journal and Nova agree.
# (73 covers the queue itself: a sync queued with no lock, replays idempotent.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../nova/labtest-nova.sh"
nova_up
export FERRY_STATE_DIR=$OUT/state
g=t89-nova

# The guest: the memory-dirtying kernel plus a local qcow2 disk holding a pattern (written
# before it starts; the kernel never touches the disk), carrying the seeded instance's UUID.
remove_guest $g
on_exit "remove_guest $g"
"$LAB_DIR/guest.sh" create $g dirty-disk a "mib=64" --no-start
hx a qemu-io -f qcow2 -c 'write -P 0x5a 0 4M' -c 'write -P 0xe1 8M 2M' "$(image_path a $g)" >/dev/null
sum_before=$(checksum $g a)
sed -i "s|</name>|</name>\n  <uuid>$NOVA_UUID</uuid>|" "$LAB/a/$g.xml"
lv a undefine $g >/dev/null
lv a define "$LAB/a/$g.xml" >/dev/null
lv a start $g >/dev/null
test "$(lv a domuuid $g)" = "$NOVA_UUID"
test "$(nova_server)" = "hostA hostA None active"
sleep 1

# ---------------------------------------------------------------- the fault
# 64 MiB dirtied over 10 MiB/s: after 4 s the suspend policy pauses the guest so it completes;
# the database goes away while the job runs.
ferry_bg migrate $g --to hostB --bandwidth 10 --timeout 4 --on-timeout suspend
check "the migration job runs on hostA" wait_job a $g
check "begin took Nova's lock before the move: task_state 'migrating', a running migration hostA -> hostB" \
    test "$(nova_sql "SELECT i.task_state, m.status, m.source_compute, m.dest_compute FROM nova.instances i JOIN nova.migrations m ON m.instance_uuid = i.uuid WHERE i.uuid = '$NOVA_UUID'")" = \
    "migrating${TAB}running${TAB}hostA${TAB}hostB"
begun=$(nova_sql "SELECT uuid FROM nova.migrations WHERE instance_uuid = '$NOVA_UUID' AND status = 'running'")
nova_dump "$OUT/rows.begun"
nova_db_stop
check "the database went down while the job was still running" test "$(job_type a $g)" = Unbounded
check "the database is down" db_down
ferry_wait
check "ferry migrate: exit 75 (the guest moved; the Nova finish is queued)" test "$FERRY_RC" = 75
[ "$FERRY_RC" = 75 ] || diag "$OUT/err"
check "summary: nova queued" grep -q "^  nova: *queued (run: ferry nova-sync --pending)" "$OUT/out"
check "... saying nothing was written and naming the queued entry" \
    ferry_output_has "nothing was written to Nova's databases; the Nova finish of instance '$NOVA_UUID' is queued as"

# ---------------------------------------------------------------- where the guest is
check "the guest runs on hostB, not paused, and is absent from every other host" only_on b $g running
check "exactly one qemu of it: on hostB, none on hostA" \
    test "$(qemu_count a $g) $(qemu_count b $g)" = "0 1"
check "... persistent on hostB" test "$(persistence b $g)" = yes
check "its disk on hostB holds exactly what it held on hostA" test "$(checksum $g b)" = "$sum_before"
check "no stray image: the source copy is removed from hostA" image_absent a $g
check "... and none on hostC" image_absent c $g

# ---------------------------------------------------------------- the queue and the journals
nferry nova-sync --list-pending
pending=$(cat "$OUT/out")
check "one sync is queued: the finish of the begun migration hostA -> hostB, power_state running" \
    python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); sys.exit(not (e["op"]=="finish" and e["instance"]==sys.argv[2] and e["src_host"]=="hostA" and e["dst_host"]=="hostB" and e["migration_uuid"]==sys.argv[3] and e["power_state"]==1))' \
    "$JOURNAL/pending/$pending.json" "$NOVA_UUID" "$begun"
# journal_states: "op state after_host migration_uuid" of each Nova journal entry, sorted.
journal_states() {
    local f
    for f in "$JOURNAL"/undo/*.json; do
        python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); print(e["op"], e["state"], e.get("after_host"), e.get("migration_uuid"))' "$f" || return 1
    done | sort
}
check "Nova journal: the begin, committed; nothing of the finish" \
    test "$(journal_states)" = "begin committed hostA $begun"
opj=$(ls "$FERRY_STATE_DIR"/journal/*.jsonl 2>/dev/null | head -1) || true
# op_steps: the steps of ferry's operation journal, "step[:value]" one a line.
op_steps() {
    python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    v = r.get("migration") or r.get("status") or r.get("result") or ""
    print(r["step"] + (":" + v.split(":")[0] if v else ""))' "$opj"
}
check "ferry's operation journal: nova-begun with that migration, nova-finished queued, end done" \
    sh -c 'steps=$1; printf "%s\n" "$steps" | grep -qx "nova-begun:$2" &&
        printf "%s\n" "$steps" | grep -qx "nova-finished:queued (run" &&
        [ "$(printf "%s\n" "$steps" | tail -1)" = "end:done" ]' sh "$(op_steps)" "$begun"

nferry nova-sync --pending
check "nova-sync --pending with the database still down: exit 75, still queued" \
    test "$FERRY_RC $(cat "$OUT/out")" = "75 replayed 0, already applied 0, still queued 1, set aside 0"

# ---------------------------------------------------------------- the database is back
nova_db_start
nova_dump "$OUT/rows.back"
check "database back: every row as the begin left it (lock held, migration running)" \
    same_rows "$OUT/rows.begun" "$OUT/rows.back"
nferry nova-sync --pending
check "nova-sync --pending: exit 0, 1 replayed" \
    test "$FERRY_RC $(cat "$OUT/out")" = "0 replayed 1, already applied 0, still queued 0, set aside 0"
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "... the queue is empty" journal_empty pending failed
check "nova-api: on hostB (node hostb.example.org), no task, active" \
    test "$(nova_server)" = "hostB hostb.example.org None active"
check "nova-api: the one migration, hostA -> hostB, completed" \
    test "$(nova_migrations)" = "completed live-migration hostA hostB hostb.example.org"
check "database: it is the very row the begin wrote" \
    test "$(nova_sql "SELECT status FROM nova.migrations WHERE uuid = '$begun'")" = completed
check "placement-api: the allocations are on hostB's provider only" \
    test "$(placement_holders)" = hostb.example.org
check "the Nova journal and Nova agree: begin and finish committed, the finish left the instance where Nova has it" \
    test "$(journal_states)" = "begin committed hostA $begun
finish committed hostB $begun"
check "and the hosts agree with Nova: the guest runs on hostB only" only_on b $g running
done_testing
