/*
 * test-nova-sync.c: the Nova state-sync against a real MariaDB whose schemas nova-manage
 * and placement-manage made, checked through the real nova-api and placement-api.
 *
 * Needs the harness: FERRY_NOVA_STATE names the state.env that `nova-up.sh start` wrote
 * (tests/nova/run-nova-tests.sh does all of it).  Without it the lab tests skip.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include <mysql.h>

#include "engine/nova/ferry-nova-db.h"

#define INSTANCE "a1a1a1a1-0000-4000-8000-000000000001"
#define RP_A "c0c0c0c0-0000-4000-8000-00000000000a"
#define RP_B "c0c0c0c0-0000-4000-8000-00000000000b"
#define NODE_B "hostb.example.org"
#define DEAD_MIGRATION "e0e0e0e0-0000-4000-8000-000000000001"

typedef struct {
    GHashTable *env; /* state.env */
    char *tmpdir;
    char *inventory_path;
    GKeyFile *inventory;
    FerryNovaConfig *config;
} Lab;

static Lab lab;

/* ------------------------------------------------------------------ the commit hook */

/*
 * A fault between the two COMMITs of a sync, made real: this test binary's mysql_commit()
 * is the one the engine calls (the executable's definition wins over libmariadb's; the
 * product has no hook).  When armed, before the COMMIT of a connection to placement it
 * kills that connection from another session with KILL CONNECTION, then lets the real
 * COMMIT run, which fails as a dropped Galera node or a killed session does.
 */
static void assert_placement_counts_once(const char *rp, const char *other);

static gboolean kill_placement_commit;
static guint placement_commits_killed;

static const char *state(const char *key);

static void
kill_connection(unsigned long thread_id)
{
    const FerryNovaConfig *c = lab.config;
    g_autofree char *password = NULL;
    g_autofree char *sql = g_strdup_printf("KILL CONNECTION %lu", thread_id);
    MYSQL *killer = mysql_init(NULL);

    g_assert_true(g_file_get_contents(state("db_password_file"), &password, NULL, NULL));
    g_strstrip(password);
    g_assert_nonnull(
        mysql_real_connect(killer, c->host, c->user, password, NULL, c->port, NULL, 0));
    if (mysql_query(killer, sql) != 0)
        g_error("%s: %s", sql, mysql_error(killer));
    mysql_close(killer);
}

my_bool STDCALL mysql_commit(MYSQL *mysql);

my_bool STDCALL
mysql_commit(MYSQL *mysql)
{
    static my_bool(STDCALL * real_commit)(MYSQL *);

    if (!real_commit)
        real_commit = (my_bool(STDCALL *)(MYSQL *))dlsym(RTLD_NEXT, "mysql_commit");
    g_assert_nonnull(real_commit);
    if (kill_placement_commit && lab.config && mysql->db &&
        g_str_equal(mysql->db, lab.config->db_placement)) {
        kill_placement_commit = FALSE;
        placement_commits_killed++;
        kill_connection(mysql_thread_id(mysql));
    }
    return real_commit(mysql);
}

/* ------------------------------------------------------------------ harness */

static GHashTable *
read_state(const char *path)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    GHashTable *env;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        const char *eq = strchr(*l, '=');

        if (eq)
            g_hash_table_insert(env, g_strndup(*l, eq - *l), g_strdup(eq + 1));
    }
    return env;
}

static const char *
state(const char *key)
{
    const char *value = g_hash_table_lookup(lab.env, key);

    g_assert_nonnull(value);
    return value;
}

static FerryNovaConfig *
load_config(const char *port, GError **error)
{
    g_autofree char *text = g_strdup_printf("[nova]\n"
                                            "host = 127.0.0.1\n"
                                            "port = %s\n"
                                            "user = %s\n"
                                            "password_file = %s\n"
                                            "connect_timeout = 2\n"
                                            "journal_dir = journal\n"
                                            "\n[host A]\nuri = test:///default\n"
                                            "nova_host = hostA\n"
                                            "\n[host B]\nuri = test:///default\n"
                                            "nova_host = hostB\n",
                                            port, state("db_user"), state("db_password_file"));

    g_assert_true(g_file_set_contents(lab.inventory_path, text, -1, NULL));
    g_clear_pointer(&lab.inventory, g_key_file_unref);
    lab.inventory = g_key_file_new();
    g_assert_true(g_key_file_load_from_file(lab.inventory, lab.inventory_path, 0, NULL));
    return ferry_nova_config_load(lab.inventory, lab.inventory_path, error);
}

static void
run_harness(const char *command)
{
    const char *argv[] = {state("harness"), command, NULL};
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) envp = g_environ_setenv(g_get_environ(), "FERRY_NOVA_LAB", state("lab"), TRUE);
    int status = 0;

    g_assert_true(g_spawn_sync(NULL, (char **)argv, envp, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
                               &status, &error));
    g_assert_no_error(error);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
}

/* Each test starts from the synced schemas plus data/seed.sql, and an empty journal. */
static gboolean
lab_reset(void)
{
    const char *rm[] = {"rm", "-rf", NULL, NULL};
    g_autofree char *journal = NULL;
    g_autoptr(GError) error = NULL;
    int status = 0;

    if (!lab.env) {
        g_test_skip("the Nova harness is not up: run tests/nova/run-nova-tests.sh "
                    "(FERRY_NOVA_STATE names its state.env)");
        return FALSE;
    }
    run_harness("reset-db");
    journal = g_build_filename(lab.tmpdir, "journal", NULL);
    rm[2] = journal;
    g_assert_true(g_spawn_sync(NULL, (char **)rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                               &status, NULL));
    g_clear_pointer(&lab.config, ferry_nova_config_free);
    lab.config = load_config(state("db_port"), &error);
    g_assert_no_error(error);
    g_assert_nonnull(lab.config);
    return TRUE;
}

static FerryNovaDb *
open_db(FerryNovaRole role)
{
    g_autoptr(GError) error = NULL;
    FerryNovaDb *db = ferry_nova_db_open(lab.config, role, &error);

    g_assert_no_error(error);
    return db;
}

static char *
query_value(FerryNovaRole role, const char *sql, const char *arg)
{
    g_autoptr(FerryNovaDb) db = open_db(role);
    g_autoptr(FerryNovaRows) rows = NULL;
    g_autoptr(GError) error = NULL;

    if (arg)
        rows = ferry_nova_db_query(db, sql, NP_ARGS(NP_STR(arg)), &error);
    else
        rows = ferry_nova_db_query(db, sql, NP_NONE, &error);
    g_assert_no_error(error);
    if (rows->rows->len == 0)
        return NULL;
    return g_strdup(g_ptr_array_index((GPtrArray *)g_ptr_array_index(rows->rows, 0), 0));
}

static void
exec_sql(FerryNovaRole role, const char *sql, const char *arg)
{
    g_autoptr(FerryNovaDb) db = open_db(role);
    g_autoptr(GError) error = NULL;

    if (arg)
        g_assert_true(
            ferry_nova_db_exec(db, "test setup", sql, NP_ARGS(NP_STR(arg)), -1, NULL, &error));
    else
        g_assert_true(ferry_nova_db_exec(db, "test setup", sql, NP_NONE, -1, NULL, &error));
    g_assert_no_error(error);
    g_assert_true(ferry_nova_db_commit(db, &error));
}

/* Every row of every table a sync may touch, as text: equal snapshots = identical rows.
 * @placement FALSE: the cell database's only (undo moves allocations forward, it does not
 * restore placement's rows). */
static char *
snapshot_of(gboolean placement)
{
    static const struct {
        FerryNovaRole role;
        const char *table;
    } tables[] = {
        {FERRY_NOVA_ROLE_NOVA, "instances"},
        {FERRY_NOVA_ROLE_NOVA, "instance_extra"},
        {FERRY_NOVA_ROLE_NOVA, "migrations"},
        {FERRY_NOVA_ROLE_NOVA, "instance_actions"},
        {FERRY_NOVA_ROLE_NOVA, "compute_nodes"},
        {FERRY_NOVA_ROLE_NOVA, "services"},
        {FERRY_NOVA_ROLE_PLACEMENT, "allocations"},
        {FERRY_NOVA_ROLE_PLACEMENT, "consumers"},
        {FERRY_NOVA_ROLE_PLACEMENT, "resource_providers"},
        {FERRY_NOVA_ROLE_PLACEMENT, "inventories"},
    };
    GString *out = g_string_new(NULL);

    for (gsize t = 0; t < G_N_ELEMENTS(tables); t++) {
        if (!placement && tables[t].role == FERRY_NOVA_ROLE_PLACEMENT)
            continue;
        g_autoptr(FerryNovaDb) db = open_db(tables[t].role);
        g_autofree char *sql = g_strdup_printf("SELECT * FROM %s ORDER BY id", tables[t].table);
        g_autoptr(FerryNovaRows) rows = NULL;
        g_autoptr(GError) error = NULL;

        rows = ferry_nova_db_query(db, sql, NP_NONE, &error);
        g_assert_no_error(error);
        g_string_append_printf(out, "== %s\n", tables[t].table);
        for (guint r = 0; r < rows->rows->len; r++) {
            GPtrArray *values = g_ptr_array_index(rows->rows, r);

            for (guint c = 0; c < values->len; c++) {
                const char *v = g_ptr_array_index(values, c);

                g_string_append_printf(out, "%s=%s|", (char *)g_ptr_array_index(rows->columns, c),
                                       v ? v : "NULL");
            }
            g_string_append_c(out, '\n');
        }
    }
    return g_string_free(out, FALSE);
}

static char *
snapshot(void)
{
    return snapshot_of(TRUE);
}

/* GET through the real APIs with noauth2 tokens (admin user: admin context). */
static JsonNode *
api_get(const char *service, const char *path)
{
    gboolean nova = g_str_equal(service, "nova");
    g_autofree char *url = g_strconcat(state(nova ? "nova_url" : "placement_url"), path, NULL);
    const char *argv[] = {
        "curl",
        "-sf",
        "-H",
        nova ? "X-Auth-Token: admin:admin" : "X-Auth-Token: admin",
        "-H",
        nova ? "X-OpenStack-Nova-API-Version: 2.80" : "OpenStack-API-Version: placement 1.39",
        url,
        NULL,
    };
    g_autofree char *out = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonParser) parser = json_parser_new();
    int status = 0;

    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                               NULL, &status, &error));
    g_assert_no_error(error);
    if (!g_spawn_check_wait_status(status, NULL))
        g_error("GET %s failed", url);
    g_assert_true(json_parser_load_from_data(parser, out, -1, &error));
    g_assert_no_error(error);
    return json_node_copy(json_parser_get_root(parser));
}

/* PUT @body to placement as a client of placement would (microversion 1.28: consumer
 * generations); returns the HTTP status. */
static int
placement_put(const char *path, const char *body)
{
    g_autofree char *url = g_strconcat(state("placement_url"), path, NULL);
    g_autofree char *file = g_build_filename(lab.tmpdir, "put.json", NULL);
    g_autofree char *data = g_strconcat("@", file, NULL);
    const char *argv[] = {
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-X",
        "PUT",
        "-H",
        "X-Auth-Token: admin",
        "-H",
        "OpenStack-API-Version: placement 1.28",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        data,
        url,
        NULL,
    };
    g_autofree char *out = NULL;
    g_autoptr(GError) error = NULL;
    int status = 0;

    g_assert_true(g_file_set_contents(file, body, -1, NULL));
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                               NULL, &status, &error));
    g_assert_no_error(error);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    return atoi(out);
}

static JsonObject *
server_view(JsonNode *root)
{
    return json_object_get_object_member(json_node_get_object(root), "server");
}

/* What an operator would check after a move: host, node, migration, allocations. */
static void
assert_api_shows(const char *host, const char *node, const char *rp, const char *status)
{
    g_autofree char *path = g_strdup_printf("/servers/%s", INSTANCE);
    g_autoptr(JsonNode) server = api_get("nova", path);
    g_autoptr(JsonNode) allocs = NULL;
    JsonObject *s = server_view(server);
    JsonObject *a;

    g_assert_cmpstr(json_object_get_string_member(s, "OS-EXT-SRV-ATTR:host"), ==, host);
    g_assert_cmpstr(json_object_get_string_member(s, "OS-EXT-SRV-ATTR:hypervisor_hostname"), ==,
                    node);
    g_assert_cmpstr(json_object_get_string_member(s, "status"), ==, status);
    g_free(path);
    path = g_strdup_printf("/allocations/%s", INSTANCE);
    allocs = api_get("placement", path);
    a = json_object_get_object_member(json_node_get_object(allocs), "allocations");
    g_assert_cmpuint(json_object_get_size(a), ==, 1);
    g_assert_true(json_object_has_member(a, rp));
}

/* The migration os-migrations reports for the instance with @status (exactly one). */
static JsonObject *
api_migration(JsonNode **holder, const char *status)
{
    JsonArray *migs;
    JsonObject *found = NULL;

    *holder = api_get("nova", "/os-migrations");
    migs = json_object_get_array_member(json_node_get_object(*holder), "migrations");
    for (guint i = 0; i < json_array_get_length(migs); i++) {
        JsonObject *m = json_array_get_object_element(migs, i);

        if (g_str_equal(json_object_get_string_member(m, "status"), status)) {
            g_assert_null(found);
            found = m;
        }
    }
    g_assert_nonnull(found);
    return found;
}

static void
assert_synced_to_b(void)
{
    g_autoptr(JsonNode) holder = NULL;
    g_autofree char *az = NULL;
    g_autofree char *gen = NULL;
    JsonObject *m;

    assert_api_shows("hostB", NODE_B, RP_B, "ACTIVE");
    m = api_migration(&holder, "completed");
    g_assert_cmpstr(json_object_get_string_member(m, "migration_type"), ==, "live-migration");
    g_assert_cmpstr(json_object_get_string_member(m, "source_compute"), ==, "hostA");
    g_assert_cmpstr(json_object_get_string_member(m, "source_node"), ==, "hostA");
    g_assert_cmpstr(json_object_get_string_member(m, "dest_compute"), ==, "hostB");
    g_assert_cmpstr(json_object_get_string_member(m, "dest_node"), ==, NODE_B);
    g_assert_cmpstr(json_object_get_string_member(m, "dest_host"), ==, "192.0.2.11");
    az = query_value(FERRY_NOVA_ROLE_NOVA,
                     "SELECT CONCAT_WS(',', availability_zone, power_state, "
                     "COALESCE(task_state, 'none'), progress) FROM instances WHERE uuid = ?",
                     INSTANCE);
    g_assert_cmpstr(az, ==, "az-b,1,none,0");
    gen = query_value(FERRY_NOVA_ROLE_PLACEMENT,
                      "SELECT CONCAT_WS(',', rp.generation, c.generation) "
                      "FROM resource_providers rp, consumers c WHERE rp.uuid = ? "
                      "AND c.uuid = '" INSTANCE "'",
                      RP_B);
    g_assert_cmpstr(gen, ==, "2,2");
}

static guint
count_migrations(void)
{
    g_autofree char *n = query_value(
        FERRY_NOVA_ROLE_NOVA, "SELECT COUNT(*) FROM migrations WHERE instance_uuid = ?", INSTANCE);

    return atoi(n);
}

/* ------------------------------------------------------------------ pure tests */

static void
test_power_states(void)
{
    static const struct {
        int libvirt;
        int nova;
    } cases[] = {
        {0, 0}, {1, 1}, {2, 1}, {3, 3}, {4, 4}, {5, 4}, {6, 6}, {7, 7}, {8, 0}, {-1, 0},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
        g_assert_cmpint(ferry_nova_power_state_from_libvirt(cases[i].libvirt), ==, cases[i].nova);
    g_assert_cmpint(ferry_nova_power_state_from_name("paused"), ==, 3);
    g_assert_cmpint(ferry_nova_power_state_from_name("bogus"), ==, -1);
}

static void
test_config_no_section(void)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) error = NULL;

    g_assert_true(g_key_file_load_from_data(kf, "[host a]\naddress = x\n", -1, 0, NULL));
    g_assert_null(ferry_nova_config_load(kf, "/x/inventory", &error));
    g_assert_no_error(error);
}

static void
test_config_password_rules(void)
{
    g_autofree char *dir = g_dir_make_tmp("ferry-nova-XXXXXX", NULL);
    g_autofree char *pw = g_build_filename(dir, "pw", NULL);
    g_autofree char *text = g_strdup_printf("[nova]\npassword_file = %s\n", pw);
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(FerryNovaConfig) config = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_true(g_file_set_contents(pw, "s3cret\n", -1, NULL));
    g_assert_true(g_key_file_load_from_data(kf, text, -1, 0, NULL));
    g_assert_cmpint(g_chmod(pw, 0644), ==, 0);
    g_assert_null(ferry_nova_config_load(kf, NULL, &error));
    g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_CONFIG);
    g_assert_null(strstr(error->message, "s3cret"));
    g_clear_error(&error);

    g_assert_cmpint(g_chmod(pw, 0600), ==, 0);
    config = ferry_nova_config_load(kf, NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(config->password, ==, "s3cret");
    g_clear_pointer(&config, ferry_nova_config_free);

    g_assert_true(g_key_file_load_from_data(kf, "[nova]\npassword = s3cret\n", -1, 0, NULL));
    g_assert_null(ferry_nova_config_load(kf, NULL, &error));
    g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_CONFIG);
    g_clear_error(&error);

    g_setenv("FERRY_TEST_NOVA_PW", "fromenv", TRUE);
    g_assert_true(g_key_file_load_from_data(
        kf, "[nova]\npassword_env = FERRY_TEST_NOVA_PW\n[host a]\nnova_host = compute-a\n", -1, 0,
        NULL));
    config = ferry_nova_config_load(kf, NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(config->password, ==, "fromenv");
    {
        g_autofree char *a = ferry_nova_config_service_host(kf, "a");
        g_autofree char *b = ferry_nova_config_service_host(kf, "b");

        g_assert_cmpstr(a, ==, "compute-a");
        g_assert_cmpstr(b, ==, "b");
    }
    g_unlink(pw);
    g_rmdir(dir);
}

/* ------------------------------------------------------------------ lab tests */

static void
test_oneshot_full(void)
{
    g_autoptr(FerryNovaResult) result = NULL;
    g_autoptr(FerryNovaResult) again = NULL;
    g_autoptr(GError) error = NULL;

    if (!lab_reset())
        return;
    assert_api_shows("hostA", "hostA", RP_A, "ACTIVE");
    result = ferry_nova_sync_oneshot(lab.config, INSTANCE, "hostA", "hostB", 1, "live-migration", 0,
                                     &error);
    g_assert_no_error(error);
    g_assert_nonnull(result->journal_id);
    assert_synced_to_b();
    g_assert_cmpuint(count_migrations(), ==, 1);

    /* A second run must not move anything again. */
    again = ferry_nova_sync_oneshot(lab.config, INSTANCE, "hostA", "hostB", 1, "live-migration", 0,
                                    &error);
    g_assert_null(again);
    g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED);
    g_assert_cmpuint(count_migrations(), ==, 1);
}

static void
test_two_phase_success(void)
{
    g_autoptr(FerryNovaSync) sync = NULL;
    g_autoptr(FerryNovaSync) second = NULL;
    g_autoptr(JsonNode) holder = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *path = g_strdup_printf("/servers/%s", INSTANCE);
    JsonObject *m;

    if (!lab_reset())
        return;
    sync = ferry_nova_sync_begin(lab.config, INSTANCE, "hostA", "hostB", "live-migration", &error);
    g_assert_no_error(error);
    /* While the guest moves, Nova shows it migrating and its lock is held. */
    assert_api_shows("hostA", "hostA", RP_A, "MIGRATING");
    m = api_migration(&holder, "running");
    g_assert_cmpstr(json_object_get_string_member(m, "uuid"), ==,
                    ferry_nova_sync_get_migration_uuid(sync));
    second =
        ferry_nova_sync_begin(lab.config, INSTANCE, "hostA", "hostB", "live-migration", &error);
    g_assert_null(second);
    g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED);
    g_clear_error(&error);

    g_assert_true(ferry_nova_sync_finish(sync, FERRY_NOVA_POWER_RUNNING, &error));
    g_assert_no_error(error);
    assert_synced_to_b();
    g_assert_cmpuint(count_migrations(), ==, 1);
    /* Phases do not go backwards. */
    g_assert_false(ferry_nova_sync_abort(sync, &error));
    g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED);
}

static void
test_two_phase_abort(void)
{
    g_autoptr(FerryNovaSync) sync = NULL;
    g_autoptr(JsonNode) holder = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *task = NULL;
    JsonObject *m;

    if (!lab_reset())
        return;
    sync = ferry_nova_sync_begin(lab.config, INSTANCE, "hostA", "hostB", "live-migration", &error);
    g_assert_no_error(error);
    g_assert_true(ferry_nova_sync_abort(sync, &error));
    g_assert_no_error(error);
    assert_api_shows("hostA", "hostA", RP_A, "ACTIVE");
    m = api_migration(&holder, "error");
    g_assert_cmpstr(json_object_get_string_member(m, "dest_compute"), ==, "hostB");
    task =
        query_value(FERRY_NOVA_ROLE_NOVA,
                    "SELECT COALESCE(task_state, 'none') FROM instances WHERE uuid = ?", INSTANCE);
    g_assert_cmpstr(task, ==, "none");
}

static void
test_wrong_source_refused(void)
{
    g_autoptr(FerryNovaResult) result = NULL;
    g_autoptr(FerryNovaSync) sync = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;

    if (!lab_reset())
        return;
    before = snapshot();
    result = ferry_nova_sync_oneshot(lab.config, INSTANCE, "hostC", "hostB", 1, "live-migration", 0,
                                     &error);
    g_assert_null(result);
    g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED);
    g_assert_nonnull(strstr(error->message, "'hostA'"));
    g_clear_error(&error);
    sync = ferry_nova_sync_begin(lab.config, INSTANCE, "hostC", "hostB", "live-migration", &error);
    g_assert_null(sync);
    g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED);
    after = snapshot();
    g_assert_cmpstr(before, ==, after);
}

static void
test_over_capacity_refused(void)
{
    g_autoptr(FerryNovaResult) result = NULL;
    g_autoptr(FerryNovaSync) sync = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;

    if (!lab_reset())
        return;
    before = snapshot();
    /* hostC has 1024 MB, 512 reserved: the instance's 2048 MB do not fit. */
    sync = ferry_nova_sync_begin(lab.config, INSTANCE, "hostA", "hostC", "live-migration", &error);
    g_assert_null(sync);
    g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_CAPACITY);
    g_assert_nonnull(strstr(error->message, "MEMORY_MB 2048"));
    g_clear_error(&error);
    result = ferry_nova_sync_oneshot(lab.config, INSTANCE, "hostA", "hostC", 1, "live-migration", 0,
                                     &error);
    g_assert_null(result);
    g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_CAPACITY);
    after = snapshot();
    g_assert_cmpstr(before, ==, after);
}

static void
test_nested_refused(void)
{
    g_autoptr(FerryNovaResult) result = NULL;
    g_autoptr(GError) error = NULL;

    if (!lab_reset())
        return;
    /* A vGPU-like child provider of hostA holding one unit for the instance. */
    exec_sql(FERRY_NOVA_ROLE_PLACEMENT,
             "INSERT INTO resource_providers (created_at, uuid, name, generation, "
             "root_provider_id, parent_provider_id) SELECT UTC_TIMESTAMP(), "
             "'c1c1c1c1-0000-4000-8000-00000000000a', 'hostA_pgpu0', 1, id, id "
             "FROM resource_providers WHERE uuid = ?",
             RP_A);
    exec_sql(FERRY_NOVA_ROLE_PLACEMENT,
             "INSERT INTO allocations (created_at, resource_provider_id, consumer_id, "
             "resource_class_id, used) SELECT UTC_TIMESTAMP(), id, '" INSTANCE "', 0, 1 "
             "FROM resource_providers WHERE name = ?",
             "hostA_pgpu0");
    result = ferry_nova_sync_oneshot(lab.config, INSTANCE, "hostA", "hostB", 1, "live-migration", 0,
                                     &error);
    g_assert_null(result);
    g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_UNSUPPORTED);
    g_assert_nonnull(strstr(error->message, "nested"));
}

static void
test_unreachable_queued_replayed_once(void)
{
    g_autoptr(FerryNovaConfig) down = NULL;
    g_autoptr(FerryNovaResult) result = NULL;
    g_autoptr(FerryNovaReplay) replay = NULL;
    g_autoptr(GPtrArray) ids = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *entry = NULL;
    g_autofree char *saved = NULL;
    gsize len;

    if (!lab_reset())
        return;
    /* The database down: the port the harness reserves for it is free. */
    down = load_config(state("down_port"), &error);
    g_assert_no_error(error);
    result =
        ferry_nova_sync_oneshot(down, INSTANCE, "hostA", "hostB", 1, "live-migration", 0, &error);
    g_assert_null(result);
    g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_QUEUED);
    {
        g_autofree char *password = NULL;

        g_assert_true(g_file_get_contents(state("db_password_file"), &password, NULL, NULL));
        g_strstrip(password);
        g_assert_null(strstr(error->message, password));
    }
    g_clear_error(&error);
    ids = ferry_nova_list_pending(down, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(ids->len, ==, 1);
    assert_api_shows("hostA", "hostA", RP_A, "ACTIVE");

    /* Still down: stays queued. */
    replay = ferry_nova_replay_pending(down, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(replay->remaining, ==, 1);
    g_clear_pointer(&replay, ferry_nova_replay_free);

    /* Keep a copy, to play a crash between commit and dequeue afterwards. */
    entry = g_strdup_printf("%s/journal/pending/%s.json", lab.tmpdir,
                            (char *)g_ptr_array_index(ids, 0));
    g_assert_true(g_file_get_contents(entry, &saved, &len, NULL));

    replay = ferry_nova_replay_pending(lab.config, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(replay->replayed, ==, 1);
    g_assert_cmpuint(replay->remaining, ==, 0);
    g_assert_cmpuint(replay->failed->len, ==, 0);
    assert_synced_to_b();
    g_clear_pointer(&replay, ferry_nova_replay_free);

    replay = ferry_nova_replay_pending(lab.config, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(replay->replayed + replay->already + replay->remaining, ==, 0);
    g_clear_pointer(&replay, ferry_nova_replay_free);

    g_assert_true(g_file_set_contents(entry, saved, len, NULL));
    replay = ferry_nova_replay_pending(lab.config, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(replay->replayed, ==, 0);
    g_assert_cmpuint(replay->already, ==, 1);
    g_assert_cmpuint(count_migrations(), ==, 1);
    assert_synced_to_b();
}

/* ferry migrate's path: begin reached the database, finish does not. */
static void
test_two_phase_finish_queued(void)
{
    g_autoptr(FerryNovaSync) sync = NULL;
    g_autoptr(FerryNovaReplay) replay = NULL;
    g_autoptr(GError) error = NULL;
    guint port;

    if (!lab_reset())
        return;
    sync = ferry_nova_sync_begin(lab.config, INSTANCE, "hostA", "hostB", "live-migration", &error);
    g_assert_no_error(error);
    port = lab.config->port;
    lab.config->port = atoi(state("down_port"));
    g_assert_false(ferry_nova_sync_finish(sync, FERRY_NOVA_POWER_RUNNING, &error));
    g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_QUEUED);
    g_clear_error(&error);
    assert_api_shows("hostA", "hostA", RP_A, "MIGRATING");
    lab.config->port = port;

    replay = ferry_nova_replay_pending(lab.config, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(replay->replayed, ==, 1);
    assert_synced_to_b();
    g_assert_cmpuint(count_migrations(), ==, 1);
}

/* Nova 2023.2 adds instances.compute_id and migrations.dest_compute_id: detected, filled. */
static void
test_newer_schema_compute_id(void)
{
    g_autoptr(FerryNovaResult) result = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *dst_id = NULL;
    g_autofree char *compute_id = NULL;
    g_autofree char *dest_compute_id = NULL;

    if (!lab_reset())
        return;
    run_harness("newer-schema");
    result = ferry_nova_sync_oneshot(lab.config, INSTANCE, "hostA", "hostB", 1, "live-migration", 0,
                                     &error);
    g_assert_no_error(error);
    dst_id =
        query_value(FERRY_NOVA_ROLE_NOVA, "SELECT id FROM compute_nodes WHERE host = ?", "hostB");
    compute_id = query_value(FERRY_NOVA_ROLE_NOVA,
                             "SELECT compute_id FROM instances WHERE uuid = ?", INSTANCE);
    dest_compute_id =
        query_value(FERRY_NOVA_ROLE_NOVA, "SELECT dest_compute_id FROM migrations WHERE uuid = ?",
                    result->migration_uuid);
    g_assert_cmpstr(compute_id, ==, dst_id);
    g_assert_cmpstr(dest_compute_id, ==, dst_id);
    assert_synced_to_b();
}

/* The same columns through begin and finish: the running migration gets dest_compute_id;
 * one begun before the upgrade added the column (NULL there) gets it on completion, as the
 * instance gets compute_id; undo puts every column of the newer schema back too. */
static void
test_newer_schema_two_phase(void)
{
    g_autoptr(FerryNovaSync) sync = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *seeded = NULL;
    g_autofree char *now = NULL;
    g_autofree char *dst_id = NULL;
    g_autofree char *compute_id = NULL;
    g_autofree char *dest_compute_id = NULL;
    g_autofree char *begin_id = NULL;
    g_autofree char *running = NULL;

    if (!lab_reset())
        return;
    run_harness("newer-schema");
    seeded = snapshot_of(FALSE);
    dst_id =
        query_value(FERRY_NOVA_ROLE_NOVA, "SELECT id FROM compute_nodes WHERE host = ?", "hostB");
    sync = ferry_nova_sync_begin(lab.config, INSTANCE, "hostA", "hostB", "live-migration", &error);
    g_assert_no_error(error);
    begin_id = g_strdup(ferry_nova_sync_get_journal_id(sync));
    dest_compute_id = query_value(FERRY_NOVA_ROLE_NOVA,
                                  "SELECT CONCAT_WS(',', status, dest_compute_id) FROM migrations "
                                  "WHERE uuid = ?",
                                  ferry_nova_sync_get_migration_uuid(sync));
    running = g_strdup_printf("running,%s", dst_id);
    g_assert_cmpstr(dest_compute_id, ==, running);
    compute_id =
        query_value(FERRY_NOVA_ROLE_NOVA,
                    "SELECT COALESCE(compute_id, 'none') FROM instances WHERE uuid = ?", INSTANCE);
    g_assert_cmpstr(compute_id, ==, "none");
    exec_sql(FERRY_NOVA_ROLE_NOVA, "UPDATE migrations SET dest_compute_id = NULL WHERE uuid = ?",
             ferry_nova_sync_get_migration_uuid(sync));

    g_assert_true(ferry_nova_sync_finish(sync, FERRY_NOVA_POWER_RUNNING, &error));
    g_assert_no_error(error);
    assert_synced_to_b();
    g_free(compute_id);
    compute_id = query_value(FERRY_NOVA_ROLE_NOVA,
                             "SELECT compute_id FROM instances WHERE uuid = ?", INSTANCE);
    g_assert_cmpstr(compute_id, ==, dst_id);
    g_free(dest_compute_id);
    dest_compute_id =
        query_value(FERRY_NOVA_ROLE_NOVA, "SELECT dest_compute_id FROM migrations WHERE uuid = ?",
                    ferry_nova_sync_get_migration_uuid(sync));
    g_assert_cmpstr(dest_compute_id, ==, dst_id);

    g_assert_true(ferry_nova_undo(lab.config, ferry_nova_sync_get_journal_id(sync), &error));
    g_assert_no_error(error);
    g_assert_true(ferry_nova_undo(lab.config, begin_id, &error));
    g_assert_no_error(error);
    now = snapshot_of(FALSE);
    g_assert_cmpstr(seeded, ==, now);
    assert_placement_counts_once(RP_A, RP_B);
}

/* Placement's generations, as "RP_A,RP_B,consumer". */
static char *
generations(void)
{
    return query_value(FERRY_NOVA_ROLE_PLACEMENT,
                       "SELECT CONCAT_WS(',', a.generation, b.generation, c.generation) "
                       "FROM resource_providers a, resource_providers b, consumers c "
                       "WHERE a.uuid = '" RP_A "' AND b.uuid = '" RP_B "' AND c.uuid = ?",
                       INSTANCE);
}

/* Placement, asked through its API, counts the instance once, on @rp: its allocations on one
 * provider, and the seeded amounts used there and nothing on the other. */
static void
assert_placement_counts_once(const char *rp, const char *other)
{
    static const struct {
        const char *cls;
        gint64 used;
    } seeded[] = {{"VCPU", 1}, {"MEMORY_MB", 2048}, {"DISK_GB", 20}};
    g_autofree char *path = g_strdup_printf("/allocations/%s", INSTANCE);
    g_autoptr(JsonNode) allocs = api_get("placement", path);
    JsonObject *a = json_object_get_object_member(json_node_get_object(allocs), "allocations");

    g_assert_cmpuint(json_object_get_size(a), ==, 1);
    g_assert_true(json_object_has_member(a, rp));
    for (guint side = 0; side < 2; side++) {
        g_autofree char *upath =
            g_strdup_printf("/resource_providers/%s/usages", side == 0 ? rp : other);
        g_autoptr(JsonNode) usages = api_get("placement", upath);
        JsonObject *u = json_object_get_object_member(json_node_get_object(usages), "usages");

        for (gsize c = 0; c < G_N_ELEMENTS(seeded); c++)
            g_assert_cmpint(json_object_get_int_member_with_default(u, seeded[c].cls, 0), ==,
                            side == 0 ? seeded[c].used : 0);
    }
}

/* Cell rows come back identical; placement's allocations come back to the source, with its
 * generations moved forward, never back (seeded A=2, B=1, consumer 1; a sync bumps B and the
 * consumer; an undo bumps A and the consumer). */
static void
test_undo_restores_identical_rows(void)
{
    g_autoptr(FerryNovaResult) result = NULL;
    g_autoptr(FerryNovaSync) sync = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *seeded = NULL;
    g_autofree char *begun = NULL;
    g_autofree char *now = NULL;
    g_autofree char *begin_id = NULL;
    g_autofree char *gens = NULL;

    if (!lab_reset())
        return;
    seeded = snapshot_of(FALSE);
    result = ferry_nova_sync_oneshot(lab.config, INSTANCE, NULL, "hostB", 1, "live-migration", 0,
                                     &error);
    g_assert_no_error(error);
    gens = generations();
    g_assert_cmpstr(gens, ==, "2,2,2");
    g_assert_true(ferry_nova_undo(lab.config, result->journal_id, &error));
    g_assert_no_error(error);
    now = snapshot_of(FALSE);
    g_assert_cmpstr(seeded, ==, now);
    assert_api_shows("hostA", "hostA", RP_A, "ACTIVE");
    assert_placement_counts_once(RP_A, RP_B);
    g_free(gens);
    gens = generations();
    g_assert_cmpstr(gens, ==, "3,2,3");
    g_assert_false(ferry_nova_undo(lab.config, result->journal_id, &error));
    g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED);
    g_clear_error(&error);

    /* Two phases, undone in reverse order. */
    sync = ferry_nova_sync_begin(lab.config, INSTANCE, "hostA", "hostB", "live-migration", &error);
    g_assert_no_error(error);
    begin_id = g_strdup(ferry_nova_sync_get_journal_id(sync));
    begun = snapshot_of(FALSE);
    g_assert_true(ferry_nova_sync_finish(sync, 1, &error));
    g_assert_no_error(error);
    /* The begin's after-state is gone: its undo must refuse. */
    g_assert_false(ferry_nova_undo(lab.config, begin_id, &error));
    g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED);
    g_clear_error(&error);
    g_assert_true(ferry_nova_undo(lab.config, ferry_nova_sync_get_journal_id(sync), &error));
    g_assert_no_error(error);
    g_free(now);
    now = snapshot_of(FALSE);
    g_assert_cmpstr(begun, ==, now);
    g_assert_true(ferry_nova_undo(lab.config, begin_id, &error));
    g_assert_no_error(error);
    g_free(now);
    now = snapshot_of(FALSE);
    g_assert_cmpstr(seeded, ==, now);
    assert_placement_counts_once(RP_A, RP_B);
    g_free(gens);
    gens = generations();
    g_assert_cmpstr(gens, ==, "4,3,5");
}

/* The allocations body placement's GET gives, as a PUT of the same allocations (what a heal
 * or a re-claim sends), with the consumer generation it read. */
static char *
reput_body(JsonNode *got)
{
    JsonObject *o = json_node_get_object(got);
    JsonObject *allocs = json_object_get_object_member(o, "allocations");
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) root = NULL;
    g_autoptr(GList) rps = json_object_get_members(allocs);

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "allocations");
    json_builder_begin_object(b);
    for (GList *l = rps; l; l = l->next) {
        JsonObject *entry = json_object_get_object_member(allocs, l->data);

        json_builder_set_member_name(b, l->data);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "resources");
        json_builder_add_value(b, json_node_copy(json_object_get_member(entry, "resources")));
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "consumer_generation");
    json_builder_add_int_value(b, json_object_get_int_member(o, "consumer_generation"));
    json_builder_set_member_name(b, "project_id");
    json_builder_add_string_value(b, json_object_get_string_member(o, "project_id"));
    json_builder_set_member_name(b, "user_id");
    json_builder_add_string_value(b, json_object_get_string_member(o, "user_id"));
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    return json_to_string(root, FALSE);
}

static char *
allocation_ids(void)
{
    return query_value(FERRY_NOVA_ROLE_PLACEMENT,
                       "SELECT GROUP_CONCAT(id ORDER BY id) FROM allocations "
                       "WHERE consumer_id = ?",
                       INSTANCE);
}

/* The reported case: a sync, then the same allocations PUT again through placement (204,
 * new rows, the consumer generation bumped), then undo.  Undo must refuse, say what
 * changed, change nothing; placement still counts the instance once. */
static void
test_undo_refused_after_reput(void)
{
    g_autoptr(FerryNovaResult) result = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) got = NULL;
    g_autofree char *path = g_strdup_printf("/allocations/%s", INSTANCE);
    g_autofree char *body = NULL;
    g_autofree char *ids_synced = NULL;
    g_autofree char *ids_reput = NULL;
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;
    g_autofree char *gens = NULL;

    if (!lab_reset())
        return;
    result = ferry_nova_sync_oneshot(lab.config, INSTANCE, "hostA", "hostB", 1, "live-migration", 0,
                                     &error);
    g_assert_no_error(error);
    ids_synced = allocation_ids();
    got = api_get("placement", path);
    body = reput_body(got);
    g_assert_cmpint(placement_put(path, body), ==, 204);
    ids_reput = allocation_ids();
    g_assert_cmpstr(ids_reput, !=, ids_synced); /* placement wrote new rows */
    gens = generations();
    g_assert_cmpstr(gens, ==, "2,3,3");

    before = snapshot();
    g_assert_false(ferry_nova_undo(lab.config, result->journal_id, &error));
    g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED);
    g_test_message("undo said: %s", error->message);
    g_assert_nonnull(strstr(error->message, "consumer generation of instance '" INSTANCE
                                            "' is 3, the sync left 2"));
    g_assert_nonnull(strstr(error->message, "destination provider '" NODE_B "' is 3"));
    g_assert_nonnull(strstr(error->message, "nothing was changed"));
    g_clear_error(&error);
    after = snapshot();
    g_assert_cmpstr(before, ==, after);
    assert_api_shows("hostB", NODE_B, RP_B, "ACTIVE");
    assert_placement_counts_once(RP_B, RP_A);

    /* Not recorded as undone: it refuses again, the same way. */
    g_assert_false(ferry_nova_undo(lab.config, result->journal_id, &error));
    g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED);
    g_assert_nonnull(strstr(error->message, "consumer generation"));
}

/* Another instance placed on the source since the sync: the source provider's generation
 * moved, the instance may not fit back; refused, nothing changed. */
static void
test_undo_refused_after_source_changed(void)
{
    g_autoptr(FerryNovaResult) result = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;
    g_autofree char *project = NULL;
    g_autofree char *user = NULL;
    g_autofree char *body = NULL;

    if (!lab_reset())
        return;
    result = ferry_nova_sync_oneshot(lab.config, INSTANCE, "hostA", "hostB", 1, "live-migration", 0,
                                     &error);
    g_assert_no_error(error);
    project = query_value(FERRY_NOVA_ROLE_NOVA, "SELECT project_id FROM instances WHERE uuid = ?",
                          INSTANCE);
    user =
        query_value(FERRY_NOVA_ROLE_NOVA, "SELECT user_id FROM instances WHERE uuid = ?", INSTANCE);
    body = g_strdup_printf("{\"allocations\": {\"" RP_A "\": {\"resources\": {\"VCPU\": 2}}}, "
                           "\"consumer_generation\": null, \"project_id\": \"%s\", "
                           "\"user_id\": \"%s\"}",
                           project, user);
    g_assert_cmpint(placement_put("/allocations/b2b2b2b2-0000-4000-8000-000000000002", body), ==,
                    204);
    before = snapshot();
    g_assert_false(ferry_nova_undo(lab.config, result->journal_id, &error));
    g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED);
    g_test_message("undo said: %s", error->message);
    g_assert_nonnull(strstr(error->message, "source provider 'hostA' is 3, the sync left 2"));
    g_assert_null(strstr(error->message, "consumer generation"));
    after = snapshot();
    g_assert_cmpstr(before, ==, after);
    assert_api_shows("hostB", NODE_B, RP_B, "ACTIVE");
}

/* An undo whose placement COMMIT fails (its session killed after the cell database's): it
 * says the cell database was restored and placement not, and running it again finishes
 * placement only. */
static void
test_undo_placement_commit_fails(void)
{
    g_autoptr(FerryNovaResult) result = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *seeded = NULL;
    g_autofree char *now = NULL;
    g_autofree char *gens = NULL;

    if (!lab_reset())
        return;
    seeded = snapshot_of(FALSE);
    result = ferry_nova_sync_oneshot(lab.config, INSTANCE, "hostA", "hostB", 1, "live-migration", 0,
                                     &error);
    g_assert_no_error(error);
    placement_commits_killed = 0;
    kill_placement_commit = TRUE;
    g_assert_false(ferry_nova_undo(lab.config, result->journal_id, &error));
    kill_placement_commit = FALSE;
    g_assert_cmpuint(placement_commits_killed, ==, 1);
    g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_DB);
    g_test_message("undo said: %s", error->message);
    g_assert_nonnull(strstr(error->message, "the cell database 'nova' was restored but "
                                            "placement 'placement' was not"));
    g_assert_nonnull(strstr(error->message, "again to finish it"));
    g_clear_error(&error);
    now = snapshot_of(FALSE);
    g_assert_cmpstr(seeded, ==, now);
    assert_api_shows("hostA", "hostA", RP_B, "ACTIVE");

    g_assert_true(ferry_nova_undo(lab.config, result->journal_id, &error));
    g_assert_no_error(error);
    g_free(now);
    now = snapshot_of(FALSE);
    g_assert_cmpstr(seeded, ==, now);
    assert_api_shows("hostA", "hostA", RP_A, "ACTIVE");
    assert_placement_counts_once(RP_A, RP_B);
    gens = generations();
    g_assert_cmpstr(gens, ==, "3,2,3");
}

/* The cell database commits, then placement's COMMIT fails for real (its session killed
 * between the two): the finish is queued, the message says the cell database was written
 * and placement not, the journal records the cell commit, and --pending completes it. */
static void
test_placement_commit_fails_queued(void)
{
    g_autoptr(FerryNovaSync) sync = NULL;
    g_autoptr(FerryNovaReplay) replay = NULL;
    g_autoptr(GPtrArray) ids = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GDir) dir = NULL;
    g_autofree char *undo_dir = NULL;
    const char *name;
    guint cell_committed = 0;
    g_autofree char *half_id = NULL;
    g_autofree char *gens = NULL;

    if (!lab_reset())
        return;
    sync = ferry_nova_sync_begin(lab.config, INSTANCE, "hostA", "hostB", "live-migration", &error);
    g_assert_no_error(error);
    placement_commits_killed = 0;
    kill_placement_commit = TRUE;
    g_assert_false(ferry_nova_sync_finish(sync, FERRY_NOVA_POWER_RUNNING, &error));
    kill_placement_commit = FALSE;
    g_assert_cmpuint(placement_commits_killed, ==, 1);
    g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_QUEUED);
    g_test_message("finish said: %s", error->message);
    g_assert_nonnull(strstr(error->message, "the cell database 'nova' was written"));
    g_assert_nonnull(strstr(error->message, "placement 'placement' was not"));
    g_assert_nonnull(strstr(error->message, "queued as"));
    g_assert_null(strstr(error->message, "nothing was written"));
    g_clear_error(&error);
    /* Exactly that: Nova says hostB, placement still holds the source. */
    assert_api_shows("hostB", NODE_B, RP_A, "ACTIVE");
    ids = ferry_nova_list_pending(lab.config, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(ids->len, ==, 1);

    undo_dir = g_build_filename(lab.tmpdir, "journal", "undo", NULL);
    dir = g_dir_open(undo_dir, 0, &error);
    g_assert_no_error(error);
    while ((name = g_dir_read_name(dir))) {
        g_autofree char *file = g_build_filename(undo_dir, name, NULL);
        g_autofree char *text = NULL;

        g_assert_true(g_file_get_contents(file, &text, NULL, NULL));
        if (strstr(text, "\"state\" : \"cell-committed\"")) {
            cell_committed++;
            g_free(half_id);
            half_id = g_strndup(name, strlen(name) - strlen(".json"));
        }
    }
    g_assert_cmpuint(cell_committed, ==, 1);

    replay = ferry_nova_replay_pending(lab.config, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(replay->replayed, ==, 1);
    g_assert_cmpuint(replay->remaining, ==, 0);
    g_assert_cmpuint(replay->failed->len, ==, 0);
    assert_synced_to_b();
    assert_placement_counts_once(RP_B, RP_A);
    g_assert_cmpuint(count_migrations(), ==, 1);
    g_clear_pointer(&ids, g_ptr_array_unref);
    ids = ferry_nova_list_pending(lab.config, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(ids->len, ==, 0);

    /* Undoing the half-written step undoes what its replay completed too: back on hostA,
     * counted once there, generations forward (the replay bumped B and the consumer to 2). */
    g_assert_true(ferry_nova_undo(lab.config, half_id, &error));
    g_assert_no_error(error);
    assert_api_shows("hostA", "hostA", RP_A, "MIGRATING");
    assert_placement_counts_once(RP_A, RP_B);
    gens = generations();
    g_assert_cmpstr(gens, ==, "3,2,3");
}

static void
test_dead_attempt_cleaned(void)
{
    g_autoptr(FerryNovaResult) result = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) dead = NULL;
    g_autofree char *status = NULL;
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;

    if (!lab_reset())
        return;
    /* What conductor leaves when a live migration of its own dies half-way: the lock, a
     * running migration, the source allocations under the migration's consumer, the
     * destination claimed for the instance. */
    exec_sql(FERRY_NOVA_ROLE_NOVA, "UPDATE instances SET task_state = 'migrating' WHERE uuid = ?",
             INSTANCE);
    exec_sql(FERRY_NOVA_ROLE_NOVA,
             "INSERT INTO migrations (created_at, source_compute, dest_compute, dest_host, "
             "status, instance_uuid, old_instance_type_id, new_instance_type_id, source_node, "
             "dest_node, deleted, migration_type, hidden, uuid, cross_cell_move) VALUES "
             "(UTC_TIMESTAMP(), 'hostA', 'hostB', '192.0.2.11', 'running', '" INSTANCE "', 1, "
             "1, 'hostA', '" NODE_B "', 0, 'live-migration', 0, ?, 0)",
             DEAD_MIGRATION);
    exec_sql(FERRY_NOVA_ROLE_PLACEMENT,
             "INSERT INTO consumers (created_at, uuid, project_id, user_id, generation) "
             "SELECT UTC_TIMESTAMP(), ?, project_id, user_id, 1 FROM consumers "
             "WHERE uuid = '" INSTANCE "'",
             DEAD_MIGRATION);
    exec_sql(FERRY_NOVA_ROLE_PLACEMENT,
             "UPDATE allocations SET consumer_id = ? WHERE consumer_id = '" INSTANCE "'",
             DEAD_MIGRATION);
    exec_sql(FERRY_NOVA_ROLE_PLACEMENT,
             "INSERT INTO allocations (created_at, resource_provider_id, consumer_id, "
             "resource_class_id, used) SELECT UTC_TIMESTAMP(), (SELECT id FROM "
             "resource_providers WHERE uuid = '" RP_B "'), '" INSTANCE "', resource_class_id, "
             "used FROM allocations WHERE consumer_id = ?",
             DEAD_MIGRATION);

    before = snapshot_of(FALSE);
    result = ferry_nova_sync_oneshot(lab.config, INSTANCE, "hostA", "hostB", 1, "live-migration", 0,
                                     &error);
    g_assert_no_error(error);
    assert_api_shows("hostB", NODE_B, RP_B, "ACTIVE");
    status = query_value(FERRY_NOVA_ROLE_NOVA, "SELECT status FROM migrations WHERE uuid = ?",
                         DEAD_MIGRATION);
    g_assert_cmpstr(status, ==, "error");
    dead = api_get("placement", "/allocations/" DEAD_MIGRATION);
    g_assert_cmpuint(json_object_get_size(
                         json_object_get_object_member(json_node_get_object(dead), "allocations")),
                     ==, 0);

    /* Undo puts the deleted consumer and allocations back too: the cell rows identical,
     * placement's as placement would write them (new row ids; the generation of the provider
     * receiving them bumped, never put back). */
    g_assert_true(ferry_nova_undo(lab.config, result->journal_id, &error));
    g_assert_no_error(error);
    after = snapshot_of(FALSE);
    g_clear_pointer(&dead, json_node_unref);
    dead = api_get("placement", "/allocations/" DEAD_MIGRATION);
    {
        JsonObject *a = json_object_get_object_member(json_node_get_object(dead), "allocations");
        g_autofree char *gens = generations();

        g_assert_cmpuint(json_object_get_size(a), ==, 1);
        g_assert_true(json_object_has_member(a, RP_A));
        g_assert_cmpuint(json_object_get_size(json_object_get_object_member(
                             json_object_get_object_member(a, RP_A), "resources")),
                         ==, 3);
        g_assert_cmpstr(gens, ==, "3,1,1");
    }
    g_assert_cmpstr(before, ==, after);
    assert_api_shows("hostA", "hostA", RP_B, "MIGRATING");
}

static void
test_dry_run_writes_nothing(void)
{
    g_autoptr(FerryNovaResult) result = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;
    gboolean saw_update = FALSE;

    if (!lab_reset())
        return;
    before = snapshot();
    result = ferry_nova_sync_oneshot(lab.config, INSTANCE, "hostA", "hostB", 1, "live-migration",
                                     FERRY_NOVA_SYNC_DRY_RUN, &error);
    g_assert_no_error(error);
    g_assert_null(result->journal_id);
    for (guint i = 0; i < result->statements->len; i++) {
        const char *s = g_ptr_array_index(result->statements, i);

        if (g_str_has_prefix(s, "UPDATE instances SET host = ?") &&
            strstr(s, "values: 'hostB', '" NODE_B "'"))
            saw_update = TRUE;
    }
    g_assert_true(saw_update);
    after = snapshot();
    g_assert_cmpstr(before, ==, after);
    assert_api_shows("hostA", "hostA", RP_A, "ACTIVE");
}

static void
test_hostile_names(void)
{
    static const char *const hostile[] = {
        "hostB' OR '1'='1",
        "hostB'; DROP TABLE instances; -- ",
        "hostB\\' OR 1=1 #",
        "`hostB`",
    };
    const char *evil = "evil'); DELETE FROM instances; -- \"`";
    g_autoptr(FerryNovaResult) result = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;
    g_autofree char *path = g_strdup_printf("/servers/%s", INSTANCE);
    g_autoptr(JsonNode) server = NULL;

    if (!lab_reset())
        return;
    before = snapshot();
    for (gsize i = 0; i < G_N_ELEMENTS(hostile); i++) {
        g_autoptr(FerryNovaResult) r = NULL;
        g_autoptr(FerryNovaSync) s = NULL;

        r = ferry_nova_sync_oneshot(lab.config, INSTANCE, "hostA", hostile[i], 1, "live-migration",
                                    0, &error);
        g_assert_null(r);
        g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_NOT_FOUND);
        g_clear_error(&error);
        r = ferry_nova_sync_oneshot(lab.config, hostile[i], "hostA", "hostB", 1, "live-migration",
                                    0, &error);
        g_assert_null(r);
        g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_NOT_FOUND);
        g_clear_error(&error);
        s = ferry_nova_sync_begin(lab.config, INSTANCE, hostile[i], "hostB", "live-migration",
                                  &error);
        g_assert_null(s);
        g_assert_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED);
        g_clear_error(&error);
    }
    after = snapshot();
    g_assert_cmpstr(before, ==, after);

    /* A destination whose real name is hostile is just a name. */
    exec_sql(FERRY_NOVA_ROLE_NOVA, "UPDATE services SET host = ? WHERE host = 'hostB'", evil);
    exec_sql(FERRY_NOVA_ROLE_NOVA, "UPDATE compute_nodes SET host = ? WHERE host = 'hostB'", evil);
    exec_sql(FERRY_NOVA_ROLE_API, "UPDATE host_mappings SET host = ? WHERE host = 'hostB'", evil);
    result = ferry_nova_sync_oneshot(lab.config, INSTANCE, "hostA", evil, 1, "live-migration", 0,
                                     &error);
    g_assert_no_error(error);
    server = api_get("nova", path);
    g_assert_cmpstr(json_object_get_string_member(server_view(server), "OS-EXT-SRV-ATTR:host"), ==,
                    evil);
    g_free(after);
    after = query_value(FERRY_NOVA_ROLE_NOVA, "SELECT COUNT(*) FROM instances WHERE uuid = ?",
                        INSTANCE);
    g_assert_cmpstr(after, ==, "1");
}

static void
test_cli_dry_run(void)
{
    /* the real ferry command: build/tests/../engine/cli/ferry */
    g_autofree char *cli =
        g_test_build_filename(G_TEST_BUILT, "..", "engine", "cli", "ferry", NULL);
    const char *argv[] = {cli,    "--config", lab.inventory_path, "nova-sync", INSTANCE,
                          "--to", "B",        "--dry-run",        NULL};
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;
    int status = 0;

    if (!lab_reset())
        return;
    if (!g_file_test(cli, G_FILE_TEST_IS_EXECUTABLE)) {
        g_test_skip("the ferry command is not built");
        return;
    }
    before = snapshot();
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &status, &error));
    g_assert_no_error(error);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    /* The inventory name B maps to the Nova host hostB. */
    g_assert_nonnull(strstr(out, "UPDATE instances SET host = ?"));
    g_assert_nonnull(strstr(out, "'hostB', '" NODE_B "'"));
    g_assert_nonnull(strstr(out, "dry run"));
    after = snapshot();
    g_assert_cmpstr(before, ==, after);
}

/* Ctrl-C interrupts a database call in progress: a 30 s query on a connection opened before
 * the cancel fails within 2 s as a lost connection; a connection opened after it (a
 * rollback's) works. */
static gpointer
cancel_thread(gpointer data)
{
    g_usleep(500 * 1000);
    g_cancellable_cancel(data);
    return NULL;
}

static void
test_cancel_interrupts_query(void)
{
    g_autoptr(GCancellable) cancellable = g_cancellable_new();
    g_autoptr(FerryNovaDb) db = NULL;
    g_autoptr(FerryNovaDb) after = NULL;
    g_autoptr(FerryNovaRows) rows = NULL;
    g_autoptr(GError) error = NULL;
    GThread *thread;
    gint64 start;
    double took;

    if (!lab_reset())
        return;
    ferry_nova_set_cancellable(cancellable);
    db = open_db(FERRY_NOVA_ROLE_NOVA);
    thread = g_thread_new("cancel", cancel_thread, cancellable);
    start = g_get_monotonic_time();
    rows = ferry_nova_db_query(db, "SELECT SLEEP(30)", NULL, 0, &error);
    took = (g_get_monotonic_time() - start) / (double)G_USEC_PER_SEC;
    g_thread_join(thread);
    g_assert_null(rows);
    g_assert_nonnull(error);
    g_assert_cmpfloat(took, <, 2.5);
    g_clear_error(&error);
    after = open_db(FERRY_NOVA_ROLE_NOVA);
    rows = ferry_nova_db_query(after, "SELECT 1", NULL, 0, &error);
    g_assert_no_error(error);
    g_assert_nonnull(rows);
    ferry_nova_set_cancellable(NULL);
}

int
main(int argc, char **argv)
{
    const char *state_path = g_getenv("FERRY_NOVA_STATE");
    int rc;

    g_test_init(&argc, &argv, NULL);
    if (state_path)
        lab.env = read_state(state_path);
    lab.tmpdir = g_dir_make_tmp("ferry-nova-test-XXXXXX", NULL);
    lab.inventory_path = g_build_filename(lab.tmpdir, "inventory.ini", NULL);

    g_test_add_func("/nova/power/libvirt-states-map-to-nova", test_power_states);
    g_test_add_func("/nova/config/no-section-means-off", test_config_no_section);
    g_test_add_func("/nova/config/password-file-must-be-private", test_config_password_rules);
    g_test_add_func("/nova/sync/oneshot-moves-instance-migration-allocations", test_oneshot_full);
    g_test_add_func("/nova/sync/two-phase-success", test_two_phase_success);
    g_test_add_func("/nova/sync/two-phase-abort-releases-lock", test_two_phase_abort);
    g_test_add_func("/nova/sync/wrong-source-refused", test_wrong_source_refused);
    g_test_add_func("/nova/sync/destination-over-capacity-refused", test_over_capacity_refused);
    g_test_add_func("/nova/sync/nested-allocations-refused", test_nested_refused);
    g_test_add_func("/nova/sync/dead-nova-attempt-cleaned", test_dead_attempt_cleaned);
    g_test_add_func("/nova/sync/dry-run-writes-nothing", test_dry_run_writes_nothing);
    g_test_add_func("/nova/sync/hostile-names-cannot-inject", test_hostile_names);
    g_test_add_func("/nova/queue/unreachable-queued-replayed-once",
                    test_unreachable_queued_replayed_once);
    g_test_add_func("/nova/queue/two-phase-finish-queued-then-replayed",
                    test_two_phase_finish_queued);
    g_test_add_func("/nova/sync/newer-schema-fills-compute-id", test_newer_schema_compute_id);
    g_test_add_func("/nova/sync/newer-schema-two-phase-fills-compute-id",
                    test_newer_schema_two_phase);
    g_test_add_func("/nova/undo/restores-identical-rows", test_undo_restores_identical_rows);
    g_test_add_func("/nova/undo/refused-after-placement-reput", test_undo_refused_after_reput);
    g_test_add_func("/nova/undo/refused-after-source-provider-changed",
                    test_undo_refused_after_source_changed);
    g_test_add_func("/nova/undo/placement-commit-fails-then-finished",
                    test_undo_placement_commit_fails);
    g_test_add_func("/nova/queue/placement-commit-fails-after-cell-commit",
                    test_placement_commit_fails_queued);
    g_test_add_func("/nova/cli/dry-run-prints-statements", test_cli_dry_run);
    g_test_add_func("/nova/db/cancel-interrupts-a-call-in-progress", test_cancel_interrupts_query);
    rc = g_test_run();

    {
        const char *rm[] = {"rm", "-rf", lab.tmpdir, NULL};

        g_spawn_sync(NULL, (char **)rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                     NULL);
    }
    g_clear_pointer(&lab.config, ferry_nova_config_free);
    g_clear_pointer(&lab.inventory, g_key_file_unref);
    g_clear_pointer(&lab.env, g_hash_table_unref);
    g_free(lab.inventory_path);
    g_free(lab.tmpdir);
    return rc;
}
