#!/bin/bash
# Fleet operations with [nova] (the real nova-api, placement-api and MariaDB of tests/nova):
#  - `ferry locate` says where Nova records the instance; after a move behind Nova's back
#    (--no-nova) it shows the drift and the `ferry nova-sync` command that fixes it, which does.
#  - `ferry evacuate hostB --to hostA --reason ...` disables hostB's nova-compute service first
#    (nova-api then reports it disabled, with the reason), moves the guest, and Nova reports the
#    instance on hostA, where libvirt runs it, with no task in progress.
#  - `ferry evacuate hostB --reenable` on the now empty host enables the service again.
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
export FERRY_STATE_DIR="$LAB/state-t33"
g=t33-nova
on_exit 'remove_guest $g; rm -rf "$FERRY_STATE_DIR"'
if ! nova_harness_up "$OUT/nova-up.log"; then
    not_ok "the Nova harness came up"
    diag "$OUT/nova-up.log"
    done_testing
    exit 1
fi
. "$FERRY_NOVA_LAB/state.env"
uuid=a1a1a1a1-0000-4000-8000-000000000001 # the instance tests/nova/data/seed.sql seeds on hostA
{
    echo "CREATE USER IF NOT EXISTS 'ferry'@'localhost' IDENTIFIED BY '$(cat "$db_password_file")';"
    for db in nova nova_api placement; do
        echo "GRANT SELECT, INSERT, UPDATE, DELETE ON $db.* TO 'ferry'@'localhost';"
    done
} | mariadb --defaults-file="$FERRY_NOVA_LAB/etc/my.cnf" -uroot

remove_guest $g
rm -rf "$FERRY_STATE_DIR"
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
api() { curl -sf -H "X-Auth-Token: admin:admin" -H "X-OpenStack-Nova-API-Version: 2.80" "$nova_url$1"; }
server() { api "/servers/$uuid" | python3 -c 'import json,sys; s=json.load(sys.stdin)["server"]; print(s["OS-EXT-SRV-ATTR:host"], s["OS-EXT-STS:task_state"])'; }
service() { api "/os-services?host=$1&binary=nova-compute" | python3 -c 'import json,sys; s=json.load(sys.stdin)["services"][0]; print(s["status"] + "|" + str(s["disabled_reason"]))'; }

# ---- locate, drift, fix
ferry --config "$inv" locate $g
diag "$OUT/out"
check "locate: nova records it on hostA, as libvirt runs it: no drift" \
    eval '[ "$FERRY_RC" = 0 ] && grep -q "nova: *host hostA, node hostA, task_state none" "$OUT/out" && ! grep -q drift "$OUT/out"'
ferry --config "$inv" migrate $g --to hostB --no-nova
check "moved behind Nova's back (--no-nova): exit 0, on hostB only" \
    eval '[ "$FERRY_RC" = 0 ] && only_on b $g running'
ferry --config "$inv" locate $g --json
fix=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nova"]["fix"])' "$OUT/out")
check "locate --json: the drift, with the command that fixes it" \
    test "$fix" = "ferry nova-sync $uuid --to hostB"
ferry --config "$inv" ${fix#ferry }
check "... that command fixes it: nova-api reports the instance on hostB" \
    eval '[ "$FERRY_RC" = 0 ] && [ "$(server)" = "hostB None" ]'

# ---- evacuate hostB: service disabled first, with the reason; the instance synced
check "before: hostB's nova-compute is enabled" test "$(service hostB)" = "enabled|None"
ferry --config "$inv" evacuate hostB --to hostA --reason "t33 drain: memory errors"
diag "$OUT/err"
check "ferry evacuate hostB with [nova]: exit 0, says the service is disabled" \
    eval '[ "$FERRY_RC" = 0 ] && grep -q "nova-compute on hostB disabled (t33 drain: memory errors)" "$OUT/out"'
check "nova-api: hostB's nova-compute disabled, with the reason" \
    test "$(service hostB)" = "disabled|t33 drain: memory errors"
check "the guest runs on hostA only" only_on a $g running
check "nova-api: the instance on hostA (where libvirt runs it), no task in progress" \
    test "$(server)" = "hostA None"
check "hostA's service untouched" test "$(service hostA)" = "enabled|None"

# ---- --reenable once the host is empty
ferry --config "$inv" evacuate hostB --reenable
check "evacuate hostB --reenable (empty): exit 0, says so" \
    eval '[ "$FERRY_RC" = 0 ] && grep -q "^hostB is empty" "$OUT/out" && grep -q "nova-compute on hostB: enabled again" "$OUT/out"'
check "nova-api: hostB's nova-compute enabled again, no reason left" test "$(service hostB)" = "enabled|None"
done_testing
