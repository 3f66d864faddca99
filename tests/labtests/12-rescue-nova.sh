#!/bin/bash
# ferry rescue with [nova] (issue 12 item 5): the Nova instance the seed puts on hostA runs there
# from an NBD disk; hostA dies outright; `ferry rescue hostA --confirm-dead hostA --to hostB`
# starts it on hostB and syncs Nova as Nova's own evacuation does: the real nova-api reports the
# instance on hostB (host, node, power state, no task), an 'evacuation' migration hostA -> hostB
# left 'done' (what hostA's nova-compute looks for when it returns) and the action 'evacuate';
# placement holds its allocations on hostB's provider only.  Then hostA returns and
# `rescue --cleanup` removes its stale definition.  The lab's guests end on hostA as up.sh left
# them.
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
HOSTCTL=$LAB_DIR/hostctl.sh
g=t12-nova
uuid=a1a1a1a1-0000-4000-8000-000000000001 # the instance tests/nova/data/seed.sql seeds on hostA

restore() {
    "$HOSTCTL" revive a >/dev/null 2>&1 || true
    remove_guest $g
    for n in gb-shared gd-dirty; do
        for h in b c; do
            lv $h destroy $n >/dev/null 2>&1 || true
            lv $h undefine $n >/dev/null 2>&1 || true
        done
        if [ "$(state a $n)" = absent ]; then lv a define "$LAB/a/$n.xml" >/dev/null || true; fi
    done
    for n in ga-local gb-shared gc-overlay; do
        if [ "$(state a $n)" != running ]; then lv a start $n >/dev/null || true; fi
    done
}
on_exit restore
if ! nova_harness_up "$OUT/nova-up.log"; then
    not_ok "the Nova harness came up"
    diag "$OUT/nova-up.log"
    done_testing
    exit 1
fi
. "$FERRY_NOVA_LAB/state.env"
{
    echo "CREATE USER IF NOT EXISTS 'ferry'@'localhost' IDENTIFIED BY '$(cat "$db_password_file")';"
    for db in nova nova_api placement; do
        echo "GRANT SELECT, INSERT, UPDATE, DELETE ON $db.* TO 'ferry'@'localhost';"
    done
} | mariadb --defaults-file="$FERRY_NOVA_LAB/etc/my.cnf" -uroot

remove_guest $g
"$LAB_DIR/guest.sh" create $g shared a nbd2 --no-start
sed -i "s|</name>|</name>\n  <uuid>$uuid</uuid>|" "$LAB/a/$g.xml"
lv a undefine $g >/dev/null
lv a define "$LAB/a/$g.xml" >/dev/null
lv a start $g >/dev/null

inv=$OUT/inventory.ini
sed 's|^state_dir = .*|&\nconnect_timeout = 3|' "$LAB/inventory.ini" >"$inv"
cat >>"$inv" <<INI

[nova]
socket = $FERRY_NOVA_LAB/run/mysqld.sock
user = ferry
password_file = $db_password_file
journal_dir = $OUT/journal
INI

ferry --config "$inv" snapshot
[ "$FERRY_RC" = 0 ] || { diag "$OUT/err"; exit 1; }
"$HOSTCTL" kill a
ferry --config "$inv" rescue hostA --confirm-dead hostA --to hostB --json
diag "$OUT/err"
check "rescue with [nova]: exit 0" test "$FERRY_RC" = 0
check "the instance runs on hostB" test "$(state b $g)" = running
guest_json() {
    python3 -c 'import json,sys
g = [x for x in json.load(open(sys.argv[1]))["guests"] if x["name"] == sys.argv[2]][0]
print(g[sys.argv[3]])' "$OUT/out" $g "$1"
}
check "JSON: rescued to hostB" test "$(guest_json outcome)/$(guest_json destination)" = rescued/hostB
check "JSON: nova synced as an evacuation" grep -q '^synced as an evacuation' <<<"$(guest_json nova)"

api() { curl -sf -H "X-Auth-Token: admin:admin" -H "X-OpenStack-Nova-API-Version: 2.80" "$nova_url$1"; }
placement() { curl -sf -H "X-Auth-Token: admin" -H "OpenStack-API-Version: placement 1.39" "$placement_url$1"; }
api "/servers/$uuid" >"$OUT/server.json"
check "nova-api: host is hostB" grep -q '"OS-EXT-SRV-ATTR:host": "hostB"' "$OUT/server.json"
check "nova-api: hypervisor hostname is hostB's node" \
    grep -q '"OS-EXT-SRV-ATTR:hypervisor_hostname": "hostb.example.org"' "$OUT/server.json"
check "nova-api: no task in progress, power state running (1)" \
    test "$(grep -o '"OS-EXT-STS:task_state": null' "$OUT/server.json")/$(grep -o '"OS-EXT-STS:power_state": [0-9]*' "$OUT/server.json")" = '"OS-EXT-STS:task_state": null/"OS-EXT-STS:power_state": 1'
api "/os-migrations?instance_uuid=$uuid" >"$OUT/migrations.json"
check "nova-api: an evacuation hostA -> hostB, 'done' as Nova leaves it" \
    python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["migrations"]; sys.exit(not any(x["status"]=="done" and x["migration_type"]=="evacuation" and x["source_compute"]=="hostA" and x["dest_compute"]=="hostB" for x in m))' "$OUT/migrations.json"
api "/servers/$uuid/os-instance-actions" >"$OUT/actions.json"
check "nova-api: the instance action is 'evacuate'" \
    python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["instanceActions"]; sys.exit(not any(x["action"]=="evacuate" for x in a))' "$OUT/actions.json"
rp_b=$(placement "/resource_providers?name=hostb.example.org" | python3 -c 'import json,sys; print(json.load(sys.stdin)["resource_providers"][0]["uuid"])')
placement "/allocations/$uuid" >"$OUT/alloc.json"
check "placement: allocations only on hostB's provider" \
    python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["allocations"]; sys.exit(list(a) != [sys.argv[2]])' "$OUT/alloc.json" "$rp_b"

"$HOSTCTL" revive a
ferry --config "$inv" rescue --cleanup hostA
diag "$OUT/err"
check "hostA back: rescue --cleanup exits 0" test "$FERRY_RC" = 0
check "... the instance's stale definition is gone from hostA; it runs on hostB only" only_on b $g running
done_testing
