#!/bin/bash
# tests/nova/nova-up.sh -- bring up a real Nova control plane for the nova state-sync tests:
# a private MariaDB, schemas made by nova-manage / placement-manage (Debian 12, Zed),
# placement-api and nova-api (noauth2, fake:// transport) plus a Neutron stand-in that
# answers every list with [] (GET /servers/ID asks Neutron for ports).
#
#   nova-up.sh start      install what is missing, start everything, write $LAB/state.env
#   nova-up.sh reset-db   restore the freshly synced databases and load data/seed.sql
#   nova-up.sh newer-schema  add the columns of Nova 2023.2 (instances.compute_id, ...)
#   nova-up.sh db-stop    stop only MariaDB (the database is down; the APIs keep running)
#   nova-up.sh db-start   start MariaDB again after db-stop, same datadir, socket and port
#   nova-up.sh stop       stop what start started (by recorded PID only)
#
# Env: FERRY_NOVA_LAB (default /tmp/ferry-nova-lab.$UID), FERRY_NOVA_SKIP_APT=1.
# Passwords live in 0600 files under $LAB/etc, never on a command line.
set -euo pipefail

LAB=${FERRY_NOVA_LAB:-/tmp/ferry-nova-lab.$(id -u)}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3
PKGS=(mariadb-server mariadb-client nova-common python3-nova python3-placement python3-pymysql curl)
ROOT=(mariadb --defaults-file="$LAB/etc/my.cnf" -uroot)

say() { echo "# nova-up: $*" >&2; }
die() { echo "# nova-up: error: $*" >&2; exit 1; }

install_packages() {
    local missing=() p added=0
    for p in "${PKGS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "${FERRY_NOVA_SKIP_APT:-0}" = 1 ] && die "missing packages: ${missing[*]}"
    say "apt-get install ${missing[*]}"
    # postinst must not start the packaged services: we run private instances.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        added=1
    fi
    local rc=0
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends "${missing[@]}" > "$LAB/log/apt.log" 2>&1 || rc=$?
    [ $added = 1 ] && rm -f /usr/sbin/policy-rc.d
    [ $rc = 0 ] || { tail -20 "$LAB/log/apt.log" >&2; die "apt-get install failed"; }
}

free_port() {
    $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

alive() { [ -f "$LAB/run/$1.pid" ] && kill -0 "$(cat "$LAB/run/$1.pid")" 2>/dev/null; }

wait_http() {
    local i
    for ((i = 0; i < $2 * 4; i++)); do
        curl -fs -o /dev/null "$1" && return 0
        sleep 0.25
    done
    return 1
}

new_secret() { $PY -c 'import secrets; print(secrets.token_hex(16))'; }

launch_mariadbd() {
    /usr/sbin/mariadbd --defaults-file="$LAB/etc/my.cnf" >> "$LAB/log/mariadbd.log" 2>&1 &
    echo $! > "$LAB/run/mariadbd.pid"
    local i
    for ((i = 0; i < 120; i++)); do
        mariadb-admin --defaults-file="$LAB/etc/my.cnf" -uroot ping > /dev/null 2>&1 && break
        sleep 0.25
    done
    mariadb-admin --defaults-file="$LAB/etc/my.cnf" -uroot ping > /dev/null 2>&1 \
        || { tail "$LAB/log/mariadbd.log" >&2; die "mariadbd did not start"; }
}

# stop_pid NAME: stop what run/NAME.pid names (if it still runs) and wait until it is gone.
stop_pid() {
    local p i
    alive "$1" || { rm -f "$LAB/run/$1.pid"; return 0; }
    p=$(cat "$LAB/run/$1.pid")
    kill "$p"
    for ((i = 0; i < 120; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$p" 2>/dev/null; then say "$1 (pid $p) did not stop"; return 1; fi
    rm -f "$LAB/run/$1.pid"
}

start_mariadb() {
    cat > "$LAB/etc/my.cnf" <<CNF
[mysqld]
datadir=$LAB/mysql
socket=$LAB/run/mysqld.sock
pid-file=$LAB/run/mysqld.pid
port=$DB_PORT
bind-address=127.0.0.1
user=mysql
skip-name-resolve
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
innodb_buffer_pool_size=64M
innodb_flush_log_at_trx_commit=2
[client]
socket=$LAB/run/mysqld.sock
CNF
    local fresh=0
    if [ ! -d "$LAB/mysql/mysql" ]; then
        mariadb-install-db --defaults-file="$LAB/etc/my.cnf" --skip-test-db \
            --auth-root-authentication-method=socket > "$LAB/log/install-db.log" 2>&1 \
            || { head -5 "$LAB/log/install-db.log" >&2; die "mariadb-install-db failed"; }
        fresh=1
    fi
    launch_mariadbd
    [ $fresh = 1 ] || return 0
    # Passwords go through stdin to the client, never argv.
    local db
    {
        echo "CREATE USER 'nova'@'127.0.0.1' IDENTIFIED BY '$(cat "$LAB/etc/nova-db-password")';"
        echo "CREATE USER 'ferry'@'127.0.0.1' IDENTIFIED BY '$(cat "$LAB/etc/ferry-db-password")';"
        for db in nova_api nova nova_cell0 placement; do
            echo "CREATE DATABASE $db; GRANT ALL PRIVILEGES ON $db.* TO 'nova'@'127.0.0.1';"
        done
        for db in nova_api nova placement; do
            echo "GRANT SELECT, INSERT, UPDATE, DELETE ON $db.* TO 'ferry'@'127.0.0.1';"
        done
    } | "${ROOT[@]}"
}

write_config() {
    local url="mysql+pymysql://nova:$(cat "$LAB/etc/nova-db-password")@127.0.0.1:$DB_PORT"
    mkdir -p "$LAB/etc/nova" "$LAB/etc/placement"
    cp /usr/share/nova-common/api-paste.ini "$LAB/etc/nova/api-paste.ini"
    (umask 077
    cat > "$LAB/etc/nova/nova.conf" <<CONF
[DEFAULT]
host = controller
state_path = $LAB/state
transport_url = fake://
use_stderr = true
[api]
auth_strategy = noauth2
[api_database]
connection = $url/nova_api
[database]
connection = $url/nova
[oslo_concurrency]
lock_path = $LAB/state
[oslo_policy]
enforce_scope = false
enforce_new_defaults = false
[wsgi]
api_paste_config = $LAB/etc/nova/api-paste.ini
[placement]
auth_type = admin_token
token = admin
endpoint_override = http://127.0.0.1:$PLACEMENT_PORT
[neutron]
auth_type = none
endpoint_override = http://127.0.0.1:$NEUTRON_PORT
CONF
    cat > "$LAB/etc/placement/placement.conf" <<CONF
[DEFAULT]
use_stderr = true
state_path = $LAB/state
[api]
auth_strategy = noauth2
[placement_database]
connection = $url/placement
[oslo_policy]
enforce_scope = false
enforce_new_defaults = false
CONF
    )
}

sync_schemas() {
    local n=(nova-manage --config-file "$LAB/etc/nova/nova.conf")
    (cd "$LAB"
    "${n[@]}" api_db sync > "$LAB/log/api_db-sync.log" 2>&1
    "${n[@]}" cell_v2 map_cell0 > "$LAB/log/map_cell0.log" 2>&1
    "${n[@]}" cell_v2 create_cell --name cell1 > "$LAB/log/create_cell.log" 2>&1
    "${n[@]}" db sync > "$LAB/log/db-sync.log" 2>&1
    placement-manage --config-file "$LAB/etc/placement/placement.conf" db sync \
        > "$LAB/log/placement-sync.log" 2>&1) || die "schema sync failed (logs in $LAB/log)"
    say "schemas synced by nova-manage and placement-manage"
}

start_apis() {
    (cd "$LAB"
    OS_PLACEMENT_CONFIG_DIR="$LAB/etc/placement" $PY /usr/bin/placement-api \
        --host 127.0.0.1 --port "$PLACEMENT_PORT" > "$LAB/log/placement-api.log" 2>&1 &
    echo $! > "$LAB/run/placement-api.pid"
    $PY "$HERE/neutron-stub.py" 127.0.0.1 "$NEUTRON_PORT" > "$LAB/log/neutron-stub.log" 2>&1 &
    echo $! > "$LAB/run/neutron-stub.pid"
    OS_NOVA_CONFIG_DIR="$LAB/etc/nova" $PY /usr/bin/nova-api-wsgi \
        --host 127.0.0.1 --port "$NOVA_PORT" > "$LAB/log/nova-api.log" 2>&1 &
    echo $! > "$LAB/run/nova-api.pid")
    wait_http "http://127.0.0.1:$PLACEMENT_PORT/" 60 || die "placement-api does not answer"
    wait_http "http://127.0.0.1:$NEUTRON_PORT/" 20 || die "neutron stand-in does not answer"
    wait_http "http://127.0.0.1:$NOVA_PORT/" 90 || die "nova-api does not answer"
}

cmd_start() {
    mkdir -p "$LAB"/{mysql,run,log,etc,state}
    # mariadbd runs as mysql and must reach its datadir; the secrets stay in etc/ (0700).
    chmod 755 "$LAB"
    chmod 700 "$LAB/etc"
    install_packages
    alive mariadbd && die "already started (state in $LAB/state.env)"
    chown mysql:mysql "$LAB/mysql" "$LAB/run"
    local f
    for f in nova-db-password ferry-db-password; do
        [ -s "$LAB/etc/$f" ] || (umask 077; new_secret > "$LAB/etc/$f")
    done
    DB_PORT=$(free_port); PLACEMENT_PORT=$(free_port); NOVA_PORT=$(free_port); NEUTRON_PORT=$(free_port)
    DOWN_PORT=$(free_port)  # nothing listens there: "the database is down"
    start_mariadb
    write_config
    if [ -f "$LAB/pristine.sql" ]; then fix_cell_mappings "$DB_PORT"; else sync_schemas; fi
    start_apis
    # Taken after placement-api's first start, which fills resource_classes and traits.
    if [ ! -f "$LAB/pristine.sql" ]; then
        mariadb-dump --defaults-file="$LAB/etc/my.cnf" -uroot --skip-comments \
            --databases nova_api nova nova_cell0 placement > "$LAB/pristine.sql"
    fi
    cat > "$LAB/state.env" <<ENV
lab=$LAB
db_host=127.0.0.1
db_port=$DB_PORT
down_port=$DOWN_PORT
db_user=ferry
db_password_file=$LAB/etc/ferry-db-password
nova_url=http://127.0.0.1:$NOVA_PORT/v2.1
placement_url=http://127.0.0.1:$PLACEMENT_PORT
harness=$HERE/nova-up.sh
ENV
    say "ready: db 127.0.0.1:$DB_PORT nova-api :$NOVA_PORT placement-api :$PLACEMENT_PORT"
    echo "$LAB/state.env"
}

# cell_mappings hold the URL of the cell databases, with the port of the run that
# created them: point them at this run's server.
fix_cell_mappings() {
    echo "UPDATE nova_api.cell_mappings SET database_connection =
          REGEXP_REPLACE(database_connection, '@127\\.0\\.0\\.1:[0-9]+/', '@127.0.0.1:$1/');" |
        "${ROOT[@]}"
}

cmd_reset_db() {
    [ -f "$LAB/pristine.sql" ] && [ -f "$LAB/state.env" ] || die "not started"
    "${ROOT[@]}" < "$LAB/pristine.sql"
    fix_cell_mappings "$(sed -n 's/^db_port=//p' "$LAB/state.env")"
    "${ROOT[@]}" < "$HERE/data/seed.sql"
}

# The columns Nova 2023.2 (alembic 1acf2c98e646) adds, to test schema detection with the
# Zed tools Debian 12 ships.  reset-db drops them again (the dump recreates the tables).
cmd_newer_schema() {
    "${ROOT[@]}" <<'SQL'
ALTER TABLE nova.instances ADD COLUMN compute_id BIGINT NULL;
ALTER TABLE nova.migrations ADD COLUMN dest_compute_id BIGINT NULL;
SQL
}

# The database goes away (its socket with it) while nova-api and placement-api stay up.
cmd_db_stop() {
    [ -f "$LAB/state.env" ] || die "not started"
    alive mariadbd || die "mariadbd is not running"
    stop_pid mariadbd || die "cannot stop mariadbd"
    say "mariadbd stopped"
}

cmd_db_start() {
    [ -f "$LAB/state.env" ] && [ -f "$LAB/etc/my.cnf" ] || die "not started"
    alive mariadbd && die "mariadbd is running already"
    launch_mariadbd
    say "mariadbd started again"
}

cmd_stop() {
    local n
    for n in nova-api neutron-stub placement-api mariadbd; do
        stop_pid "$n" || true
    done
    rm -f "$LAB/state.env"
}

case "${1:-}" in
start) cmd_start ;;
reset-db) cmd_reset_db ;;
newer-schema) cmd_newer_schema ;;
db-stop) cmd_db_stop ;;
db-start) cmd_db_start ;;
stop) cmd_stop ;;
*) die "usage: $0 start|reset-db|newer-schema|db-stop|db-start|stop" ;;
esac
