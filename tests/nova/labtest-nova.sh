# shellcheck shell=bash disable=SC2034,SC2154  # variables shared with the tests and state.env
# tests/nova/labtest-nova.sh -- sourced by the Nova lab tests (tests/labtests/7x-nova-*.sh)
# after tests/labtests/lib.sh: a private Nova harness (nova-up.sh: MariaDB, nova-api,
# placement-api) for this test only, an inventory with [nova], the seeded instance's guest, and
# ways to ask Nova what it records: through nova-api and placement-api as an operator would,
# and through the database rows themselves.
#
# ferry runs on the lab's operator machine (its own network namespace) and reaches MariaDB
# through the unix socket (the harness listens on the root namespace's loopback only).
# Every helper that asks fails (non-zero, or the script bails out when used as a step) when
# it cannot ask: "could not ask" never reads as an answer.

NOVA_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# the instance tests/nova/data/seed.sql seeds on hostA (node hostA); hostB's node is
# hostb.example.org, in availability zone az-b
NOVA_UUID=a1a1a1a1-0000-4000-8000-000000000001
TAB=$'\t'

# nova_up: start the harness, load the seed, grant ferry@localhost (the socket login) what
# ferry@127.0.0.1 has, write $OUT/inventory.ini (the lab's plus [nova]).  Stopped at exit.
nova_up() {
    if ! nova_harness_up "$OUT/nova-up.log"; then
        echo "# the Nova harness did not come up:" >&2
        sed 's/^/#   /' "$OUT/nova-up.log" >&2
        return 1
    fi
    . "$FERRY_NOVA_LAB/state.env"
    {
        echo "CREATE USER IF NOT EXISTS 'ferry'@'localhost' IDENTIFIED BY '$(cat "$db_password_file")';"
        for db in nova nova_api placement; do
            echo "GRANT SELECT, INSERT, UPDATE, DELETE ON $db.* TO 'ferry'@'localhost';"
        done
    } | nova_root
    INV=$OUT/inventory.ini
    JOURNAL=$OUT/journal
    cp "$LAB/inventory.ini" "$INV"
    cat >>"$INV" <<INI

[nova]
socket = $FERRY_NOVA_LAB/run/mysqld.sock
user = ferry
password_file = $db_password_file
journal_dir = $JOURNAL
connect_timeout = 3
INI
}

# nova_root: the mariadb client as the database's root (SQL on stdin or as arguments).
nova_root() { mariadb --defaults-file="$FERRY_NOVA_LAB/etc/my.cnf" -uroot "$@"; }
# nova_sql SQL: the rows, tab-separated, NULL as "NULL".
nova_sql() { nova_root -N -B -e "$1"; }

# nova_dump FILE: every row of Nova's three databases (data only, in primary-key order), to
# show that nothing changed or that an undo put back exactly what was there.  Fails when the
# database cannot be read, or when the dump lacks the seeded instance.
nova_dump() {
    mariadb-dump --defaults-file="$FERRY_NOVA_LAB/etc/my.cnf" -uroot --no-create-info \
        --skip-comments --skip-extended-insert --order-by-primary --skip-dump-date \
        --databases nova nova_api placement >"$1" &&
        grep -q "INSERT INTO \`instances\` VALUES (.*'$NOVA_UUID'" "$1"
}
# nova_dump_cell FILE: like nova_dump, the cell and API databases only (nova, nova_api): what an
# undo restores row for row (placement's allocations it moves back, generations forward).
nova_dump_cell() {
    mariadb-dump --defaults-file="$FERRY_NOVA_LAB/etc/my.cnf" -uroot --no-create-info \
        --skip-comments --skip-extended-insert --order-by-primary --skip-dump-date \
        --databases nova nova_api >"$1" &&
        grep -q "INSERT INTO \`instances\` VALUES (.*'$NOVA_UUID'" "$1"
}
# placement_generations: "hostA hostB consumer": the generations of the seeded providers and of
# the instance's consumer (seeded 2 1 1).
placement_generations() {
    nova_sql "SELECT a.generation, b.generation, c.generation FROM placement.resource_providers a,
        placement.resource_providers b, placement.consumers c WHERE a.name = 'hostA'
        AND b.name = 'hostb.example.org' AND c.uuid = '$NOVA_UUID'" | tr '\t' ' '
}
# same_rows A B: the two dumps are equal; the difference goes to the TAP log when not.
same_rows() {
    if diff -u "$1" "$2" >"$OUT/rows.diff"; then return 0; fi
    head -40 "$OUT/rows.diff" | sed 's/^/# /'
    return 1
}

rows_differ() { [ -s "$1" ] && [ -s "$2" ] && ! cmp -s "$1" "$2"; }

# nova_api PATH / placement_api PATH: GET as the admin (noauth2), body on stdout.
nova_api() {
    curl -sf -H "X-Auth-Token: admin:admin" -H "X-OpenStack-Nova-API-Version: 2.80" "$nova_url$1"
}
placement_api() {
    curl -sf -H "X-Auth-Token: admin" -H "OpenStack-API-Version: placement 1.39" "$placement_url$1"
}

# nova_server: "host node task_state vm_state" of the instance as nova-api reports it
# (None for null).
nova_server() {
    local json
    json=$(nova_api "/servers/$NOVA_UUID") || return 1
    python3 -c 'import json,sys
s = json.loads(sys.argv[1])["server"]
print(*(s[k] for k in ("OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:hypervisor_hostname",
                       "OS-EXT-STS:task_state", "OS-EXT-STS:vm_state")))' "$json"
}

# nova_migrations: one line per migration record nova-api lists for the instance, oldest
# first: "status migration_type source_compute dest_compute dest_node".
nova_migrations() {
    local json
    json=$(nova_api "/os-migrations?instance_uuid=$NOVA_UUID") || return 1
    python3 -c 'import json,sys
for m in sorted(json.loads(sys.argv[1])["migrations"], key=lambda m: m["id"]):
    print(m["status"], m["migration_type"], m["source_compute"], m["dest_compute"], m["dest_node"])' "$json"
}

# no_migrations: nova-api answers, and lists no migration record for the instance.
no_migrations() {
    local m
    m=$(nova_migrations) || return 1
    [ -z "$m" ] || { echo "# nova-api lists: $m" >&2; return 1; }
}

# placement_holders: the names of the resource providers holding the instance's allocations,
# as placement-api reports them, one per line, sorted.
placement_holders() {
    local allocs rps
    allocs=$(placement_api "/allocations/$NOVA_UUID") || return 1
    rps=$(placement_api "/resource_providers") || return 1
    python3 -c 'import json,sys
names = {rp["uuid"]: rp["name"] for rp in json.loads(sys.argv[2])["resource_providers"]}
for uuid in sorted(json.loads(sys.argv[1])["allocations"]):
    print(names.get(uuid, uuid))' "$allocs" "$rps" | sort
}

# nova_guest NAME KIND HOST [ARG]: a lab guest (tests/lab/guest.sh kinds) carrying the seeded
# instance's UUID, running on HOST.  Removed at exit.
nova_guest() {
    local name=$1 kind=$2 h=$3 arg=${4:-}
    remove_guest "$name"
    on_exit "remove_guest $name"
    if [ -n "$arg" ]; then
        "$LAB_DIR/guest.sh" create "$name" "$kind" "$h" "$arg" --no-start
    else
        "$LAB_DIR/guest.sh" create "$name" "$kind" "$h" --no-start
    fi
    sed -i "s|</name>|</name>\n  <uuid>$NOVA_UUID</uuid>|" "$LAB/$h/$name.xml"
    lv "$h" undefine "$name" >/dev/null
    lv "$h" define "$LAB/$h/$name.xml" >/dev/null
    lv "$h" start "$name" >/dev/null
    test "$(lv "$h" domuuid "$name")" = "$NOVA_UUID"
}

# nferry ARGS...: ferry with this test's inventory (--config), like lib.sh's ferry.
nferry() { ferry --config "$INV" "$@"; }

# journal_files SUBDIR: the files under the Nova journal's SUBDIR (undo, pending, failed),
# one per line; nothing when it does not exist; fails when it cannot be listed.
journal_files() {
    if [ -d "$JOURNAL/$1" ]; then (cd "$JOURNAL/$1" && ls -1); elif [ -e "$JOURNAL/$1" ]; then return 1; fi
}
# journal_empty SUBDIR...: none of them holds a file (and each could be listed).
journal_empty() {
    local d f
    for d; do
        f=$(journal_files "$d") || return 1
        [ -z "$f" ] || { echo "# $d: $f" >&2; return 1; }
    done
}

# persistence HOST NAME: "yes" or "no" as HOST's libvirtd reports it; "error" when it could not
# be asked (so that "not persistent" never reads from a failed virsh).
persistence() {
    local s
    s=$(lv "$1" dominfo "$2" 2>/dev/null) || { echo error; return 0; }
    s=$(sed -n 's/^Persistent: *//p' <<<"$s")
    echo "${s:-error}"
}

# job_type HOST NAME: the type of NAME's current job on HOST ("Unbounded" while a migration
# runs, "None" when none does); "error" when it could not be asked.
job_type() {
    local s
    s=$(lv "$1" domjobinfo "$2" 2>/dev/null) || { echo error; return 0; }
    s=$(awk '/^Job type/ {print $3}' <<<"$s")
    echo "${s:-error}"
}
# wait_job HOST NAME: until a job of NAME runs on HOST (at most 60 s).
wait_job() {
    for _ in $(seq 300); do
        [ "$(job_type "$1" "$2")" = Unbounded ] && return 0
        sleep 0.2
    done
    return 1
}
# ferry_bg ARGS...: nferry in the background; ferry_wait: its exit status in $FERRY_RC.
ferry_bg() {
    op timeout -k 30 180 "$FERRY_BIN" --config "$INV" "$@" >"$OUT/out" 2>"$OUT/err" &
    FERRY_PID=$!
}
ferry_wait() {
    FERRY_RC=0
    wait "$FERRY_PID" || FERRY_RC=$?
}
# db_down: MariaDB is really down (its socket gone, the client cannot connect).
db_down() {
    test ! -e "$FERRY_NOVA_LAB/run/mysqld.sock" && ! nova_root -e 'SELECT 1' >"$OUT/db" 2>&1 &&
        grep -q "Can't connect to local server through socket" "$OUT/db"
}
nova_db_stop() { "$NOVA_TOP/tests/nova/nova-up.sh" db-stop 2>/dev/null; }
nova_db_start() { "$NOVA_TOP/tests/nova/nova-up.sh" db-start 2>/dev/null; }
