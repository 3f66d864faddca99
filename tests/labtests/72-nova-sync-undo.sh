#!/bin/bash
# `ferry migrate --no-nova` with [nova] in the inventory moves the guest and leaves every row
# of Nova's databases as it was.  Later `ferry nova-sync UUID --to HOST` tells Nova about that
# move: --dry-run first (prints the statements, writes nothing), then for real (nova-api and
# placement-api report the instance on hostB), and `ferry nova-sync --undo ID` puts back
# exactly the rows of nova and nova_api there were before (compared row by row) and moves the
# allocations back to hostA with placement's generations forward, never back (nova-api and
# placement-api report the instance on hostA again); a second undo of the same id is refused.
# nova-sync reads the inventory from --config, and from $FERRY_CONFIG without it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../nova/labtest-nova.sh"
nova_up
g=t72-local
nova_guest $g local a
test "$(nova_server)" = "hostA hostA None active"
nova_dump "$OUT/rows.before"
nova_dump_cell "$OUT/cell.before"

# ---------------------------------------------------------------- --no-nova
nferry migrate $g --to hostB --no-nova
check "ferry migrate --no-nova: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "the guest runs on hostB, and on no other host" only_on b $g running
check "... persistent there" test "$(persistence b $g)" = yes
says_nothing_of_nova() {
    local text
    text=$(cat "$OUT/out" "$OUT/err") || return 1
    ! grep -qi nova <<<"$text"
}
check "ferry's output says nothing of Nova" says_nothing_of_nova
nova_dump "$OUT/rows.no-nova"
check "every row of nova, nova_api and placement is as before" \
    same_rows "$OUT/rows.before" "$OUT/rows.no-nova"
check "nothing journaled or queued" journal_empty undo pending
check "nova-api still reports the instance on hostA, no task" \
    test "$(nova_server)" = "hostA hostA None active"
check "nova-api lists no migration" no_migrations

# ---------------------------------------------------------------- nova-sync --dry-run
nferry nova-sync "$NOVA_UUID" --to hostB --dry-run
check "nova-sync --dry-run: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "it prints the guarded move of the instance, with its values" \
    grep -q "^UPDATE instances SET host = ?, node = ?, .* -- values: 'hostB', 'hostb.example.org'" "$OUT/out"
check "it prints the move of the allocations" \
    grep -q "^UPDATE allocations SET resource_provider_id = ?" "$OUT/out"
check "it ends with: nothing was written" test "$(tail -1 "$OUT/out")" = "-- dry run: nothing was written"
nova_dump "$OUT/rows.dry-run"
check "every row is as before" same_rows "$OUT/rows.before" "$OUT/rows.dry-run"
check "nothing journaled or queued" journal_empty undo pending

# The inventory from $FERRY_CONFIG (no --config): the same dry run.
FERRY_RC=0
ip netns exec "$P-op" env FERRY_CONFIG="$INV" timeout 300 "$FERRY_BIN" nova-sync "$NOVA_UUID" \
    --to hostB --dry-run >"$OUT/out" 2>"$OUT/err" || FERRY_RC=$?
check "FERRY_CONFIG=inventory ferry nova-sync --dry-run: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "... it read that inventory's [nova]: the statements for hostB" \
    grep -q "^UPDATE instances SET host = ?, node = ?, .* -- values: 'hostB', 'hostb.example.org'" "$OUT/out"
nova_dump "$OUT/rows.dry-run2"
check "... and wrote nothing" same_rows "$OUT/rows.before" "$OUT/rows.dry-run2"

# ---------------------------------------------------------------- nova-sync
nferry nova-sync "$NOVA_UUID" --to hostB
check "nova-sync UUID --to hostB: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
id=$(sed -n 's/.*undo with: ferry nova-sync --undo \([A-Za-z0-9-]*\)$/\1/p' "$OUT/out")
check "it names the undo id, which is journaled" test -n "$id" -a -f "$JOURNAL/undo/$id.json"
check "nova-api: on hostB (node hostb.example.org), no task" \
    test "$(nova_server)" = "hostB hostb.example.org None active"
check "nova-api: one completed live-migration hostA -> hostB" \
    test "$(nova_migrations)" = "completed live-migration hostA hostB hostb.example.org"
check "placement-api: the allocations are on hostB's provider only" \
    test "$(placement_holders)" = hostb.example.org
check "database: instances row on hostB/hostb.example.org in az-b, power_state running (1)" \
    test "$(nova_sql "SELECT host, node, availability_zone, power_state, task_state FROM nova.instances WHERE uuid = '$NOVA_UUID'")" = \
    "hostB${TAB}hostb.example.org${TAB}az-b${TAB}1${TAB}NULL"
nova_dump "$OUT/rows.synced"
check "the rows did change" rows_differ "$OUT/rows.before" "$OUT/rows.synced"
check "the guest still runs on hostB only (nova-sync touches no host)" only_on b $g running

# ---------------------------------------------------------------- --undo
nferry nova-sync --undo "$id"
check "nova-sync --undo ID: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "it says the sync is undone" ferry_output_has "Nova sync $id undone"
nova_dump_cell "$OUT/cell.undone"
check "every row of nova and nova_api is exactly as before the sync" \
    same_rows "$OUT/cell.before" "$OUT/cell.undone"
check "placement: generations forward (hostA +1, hostB as the sync left it, the consumer +1)" \
    test "$(placement_generations)" = "3 2 3"
nova_dump "$OUT/rows.undone"
check "nova-api: back on hostA (node hostA), no task" \
    test "$(nova_server)" = "hostA hostA None active"
check "nova-api: no migration listed any more" no_migrations
check "placement-api: the allocations are on hostA's provider only" test "$(placement_holders)" = hostA

nferry nova-sync --undo "$id"
check "a second --undo of the same id is refused (exit 1)" test "$FERRY_RC" = 1
check "... saying it was undone already" ferry_output_has "Nova sync '$id' was undone already"
nova_dump "$OUT/rows.undone2"
check "... and changes nothing" same_rows "$OUT/rows.undone" "$OUT/rows.undone2"
done_testing
