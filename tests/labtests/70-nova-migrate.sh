#!/bin/bash
# ferry migrate with [nova] in the inventory: a real live migration in the lab, then the real
# nova-api and placement-api report the guest on its new host with its allocations moved, where
# libvirt runs it.
# ferry runs on the operator machine and reaches the Nova databases through MariaDB's unix
# socket (the harness listens on the root namespace's loopback only).
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
if ! nova_harness_up "$OUT/nova-up.log"; then
    not_ok "the Nova harness came up"
    diag "$OUT/nova-up.log"
    done_testing
    exit 1
fi
. "$FERRY_NOVA_LAB/state.env"
uuid=a1a1a1a1-0000-4000-8000-000000000001 # the instance tests/nova/data/seed.sql seeds on hostA

# the socket login is ferry@localhost: same password and grants as ferry@127.0.0.1
{
    echo "CREATE USER IF NOT EXISTS 'ferry'@'localhost' IDENTIFIED BY '$(cat "$db_password_file")';"
    for db in nova nova_api placement; do
        echo "GRANT SELECT, INSERT, UPDATE, DELETE ON $db.* TO 'ferry'@'localhost';"
    done
} | mariadb --defaults-file="$FERRY_NOVA_LAB/etc/my.cnf" -uroot

g=t70-nova
remove_guest $g
"$LAB_DIR/guest.sh" create $g local a --no-start
sed -i "s|</name>|</name>\n  <uuid>$uuid</uuid>|" "$LAB/a/$g.xml"
lv a undefine $g >/dev/null
lv a define "$LAB/a/$g.xml" >/dev/null
lv a start $g >/dev/null

inv=$OUT/inventory.ini
cp "$LAB/inventory.ini" "$inv"
cat >>"$inv" <<INI

[nova]
socket = $FERRY_NOVA_LAB/run/mysqld.sock
user = ferry
password_file = $db_password_file
journal_dir = $OUT/journal
INI

ferry --config "$inv" migrate $g --to hostB
check "ferry migrate with [nova]: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "summary: nova synced" grep -q "nova: *synced" "$OUT/out"
check "guest runs on hostB, and only there" only_on b $g running
check "its disk is on hostB and gone from hostA" \
    test "$(file_state b "$(image_path b $g)")/$(file_state a "$(image_path a $g)")" = present/absent

api() { curl -sf -H "X-Auth-Token: admin:admin" -H "X-OpenStack-Nova-API-Version: 2.80" "$nova_url$1"; }
placement() { curl -sf -H "X-Auth-Token: admin" -H "OpenStack-API-Version: placement 1.39" "$placement_url$1"; }
api "/servers/$uuid" >"$OUT/server.json"
check "nova-api: host is hostB" grep -q '"OS-EXT-SRV-ATTR:host": "hostB"' "$OUT/server.json"
check "nova-api: hypervisor hostname is hostB's node" \
    grep -q '"OS-EXT-SRV-ATTR:hypervisor_hostname": "hostb.example.org"' "$OUT/server.json"
check "nova-api: no task in progress" grep -q '"OS-EXT-STS:task_state": null' "$OUT/server.json"
# Nova's power_state 1 is RUNNING: what ferry wrote must be what libvirt on hostB says
check "nova-api: power state running (1), as libvirt on hostB has it ($(state b $g))" \
    test "$(grep -o '"OS-EXT-STS:power_state": [0-9]*' "$OUT/server.json")/$(state b $g)" = '"OS-EXT-STS:power_state": 1/running'
api "/os-migrations?instance_uuid=$uuid" >"$OUT/migrations.json"
check "nova-api: a completed live-migration record hostA -> hostB" \
    python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["migrations"]; sys.exit(not any(x["status"]=="completed" and x["migration_type"]=="live-migration" and x["source_compute"]=="hostA" and x["dest_compute"]=="hostB" for x in m))' "$OUT/migrations.json"
rp_b=$(placement "/resource_providers?name=hostb.example.org" | python3 -c 'import json,sys; print(json.load(sys.stdin)["resource_providers"][0]["uuid"])')
placement "/allocations/$uuid" >"$OUT/alloc.json"
check "placement: allocations only on hostB's provider" \
    python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["allocations"]; sys.exit(list(a) != [sys.argv[2]])' "$OUT/alloc.json" "$rp_b"
remove_guest $g
done_testing
