/*
 * ferry-nova-db.c: one connection to one of Nova's databases, prepared statements only.
 *
 * Every value travels as a bound parameter (mysql_stmt_*): host names and uuids never
 * become SQL text.  Connections use CLIENT_FOUND_ROWS so a guarded UPDATE reports the
 * rows it matched, not only those it changed: "hit exactly one row" is then a real check.
 *
 * A write whose columns differ between Nova's schema versions is given as one column list
 * (FerryNovaSet), each optional column marked; the statement is assembled from the list's
 * literal names and the columns information_schema says exist, its values still bound.
 */
#include <string.h>
#include <sys/socket.h>

#include <mysql.h>
#include <errmsg.h>

#include "engine/nova/ferry-nova-db.h"

struct _FerryNovaDb {
    MYSQL *conn;
    FerryNovaRole role;
    char *database;
    char *where;        /* "nova@127.0.0.1:3306", for messages */
    GPtrArray *dry_log; /* borrowed; non-NULL in dry runs */
    gboolean schema_loaded;
    gboolean has_column[FERRY_NOVA_COLUMN_LAST];
    GCancellable *cancellable; /* interrupts this connection's calls (see below) */
    gulong cancel_id;
};

/* The cancellable of the operation (Ctrl-C, SIGTERM): a database call in progress when it
 * fires is interrupted -- its connection is shut down, so the call fails at once as on a lost
 * connection (the step is queued or rolled back like any other) instead of running on for up
 * to the read timeout.  Connections opened after it fired (the rollback's) are not touched. */
static GMutex cancellable_lock;
static GCancellable *operation_cancellable;

void
ferry_nova_set_cancellable(GCancellable *cancellable)
{
    g_mutex_lock(&cancellable_lock);
    g_clear_object(&operation_cancellable);
    if (cancellable)
        operation_cancellable = g_object_ref(cancellable);
    g_mutex_unlock(&cancellable_lock);
}

static void
on_cancelled(GCancellable *cancellable, gpointer data)
{
    FerryNovaDb *db = data;

    /* The call blocked in the client library returns with "lost connection". */
    shutdown(mysql_get_socket(db->conn), SHUT_RDWR);
}

static void
watch_cancellable(FerryNovaDb *db)
{
    g_mutex_lock(&cancellable_lock);
    if (operation_cancellable && !g_cancellable_is_cancelled(operation_cancellable)) {
        db->cancellable = g_object_ref(operation_cancellable);
        db->cancel_id =
            g_cancellable_connect(db->cancellable, G_CALLBACK(on_cancelled), db, NULL);
    }
    g_mutex_unlock(&cancellable_lock);
}

/* Where each optional column lives. */
static const struct {
    FerryNovaRole role;
    const char *table;
    const char *column;
} optional_columns[] = {
    [FERRY_NOVA_COLUMN_ANY_SCHEMA] = {0},
    [FERRY_NOVA_COLUMN_INSTANCES_COMPUTE_ID] = {FERRY_NOVA_ROLE_NOVA, "instances", "compute_id"},
    [FERRY_NOVA_COLUMN_MIGRATIONS_DEST_COMPUTE_ID] = {FERRY_NOVA_ROLE_NOVA, "migrations",
                                                      "dest_compute_id"},
};
G_STATIC_ASSERT(G_N_ELEMENTS(optional_columns) == FERRY_NOVA_COLUMN_LAST);

static gboolean
errno_is_unreachable(unsigned int code)
{
    static const unsigned int codes[] = {CR_CONNECTION_ERROR, CR_CONN_HOST_ERROR, CR_UNKNOWN_HOST,
                                         CR_SERVER_GONE_ERROR, CR_SERVER_LOST};

    for (gsize i = 0; i < G_N_ELEMENTS(codes); i++) {
        if (codes[i] == code)
            return TRUE;
    }
    return FALSE;
}

/* The one place MariaDB errors become GErrors; called before the object is freed. */
static void
set_db_error(GError **error, FerryNovaDb *db, unsigned int code, const char *message,
             const char *doing)
{
    g_set_error(error, FERRY_NOVA_ERROR,
                errno_is_unreachable(code) ? FERRY_NOVA_ERROR_UNREACHABLE : FERRY_NOVA_ERROR_DB,
                "%s on database '%s' (%s): %s (error %u)", doing, db->database, db->where, message,
                code);
}

void
ferry_nova_db_free(FerryNovaDb *db)
{
    if (!db)
        return;
    if (db->cancellable) {
        /* waits for a running on_cancelled(): the connection outlives it */
        g_cancellable_disconnect(db->cancellable, db->cancel_id);
        g_object_unref(db->cancellable);
    }
    if (db->conn)
        mysql_close(db->conn);
    g_free(db->database);
    g_free(db->where);
    g_free(db);
}

static gpointer
library_init(gpointer data)
{
    mysql_library_init(0, NULL, NULL);
    return NULL;
}

FerryNovaDb *
ferry_nova_db_open(const FerryNovaConfig *config, FerryNovaRole role, GError **error)
{
    static GOnce once = G_ONCE_INIT;
    g_autoptr(FerryNovaDb) db = g_new0(FerryNovaDb, 1);
    unsigned int timeout = config->connect_timeout;
    my_bool off = 0;

    g_once(&once, library_init, NULL);
    db->role = role;
    db->database = g_strdup(ferry_nova_config_database(config, role));
    db->where = config->socket ? g_strdup(config->socket)
                               : g_strdup_printf("%s:%u", config->host, config->port);
    db->conn = mysql_init(NULL);
    if (!db->conn) {
        g_set_error_literal(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_DB,
                            "cannot allocate a MariaDB client handle");
        return NULL;
    }
    mysql_options(db->conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(db->conn, MYSQL_OPT_READ_TIMEOUT, &(unsigned int){60});
    mysql_options(db->conn, MYSQL_OPT_WRITE_TIMEOUT, &(unsigned int){60});
    mysql_options(db->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(db->conn, MYSQL_REPORT_DATA_TRUNCATION, &off);
    /* Never read ~/.my.cnf or /etc/mysql: the inventory is the whole configuration. */
    if (!mysql_real_connect(db->conn, config->socket ? NULL : config->host, config->user,
                            config->password, db->database, config->socket ? 0 : config->port,
                            config->socket, CLIENT_FOUND_ROWS)) {
        set_db_error(error, db, mysql_errno(db->conn), mysql_error(db->conn), "cannot connect");
        return NULL;
    }
    if (mysql_autocommit(db->conn, 0) != 0) {
        set_db_error(error, db, mysql_errno(db->conn), mysql_error(db->conn),
                     "cannot turn autocommit off");
        return NULL;
    }
    watch_cancellable(db);
    return g_steal_pointer(&db);
}

void
ferry_nova_db_set_dry_run(FerryNovaDb *db, GPtrArray *log)
{
    db->dry_log = log;
}

gboolean
ferry_nova_db_is_dry_run(const FerryNovaDb *db)
{
    return db->dry_log != NULL;
}

FerryNovaRole
ferry_nova_db_get_role(const FerryNovaDb *db)
{
    return db->role;
}

gboolean
ferry_nova_db_begin(FerryNovaDb *db, GError **error)
{
    /* autocommit is off: a transaction starts with the first statement.  Ending any
     * leftover one makes the start explicit. */
    if (mysql_rollback(db->conn) != 0) {
        set_db_error(error, db, mysql_errno(db->conn), mysql_error(db->conn),
                     "cannot start a transaction");
        return FALSE;
    }
    if (db->dry_log)
        g_ptr_array_add(db->dry_log, g_strdup_printf("-- %s: START TRANSACTION", db->database));
    return TRUE;
}

gboolean
ferry_nova_db_commit(FerryNovaDb *db, GError **error)
{
    if (db->dry_log) {
        g_ptr_array_add(db->dry_log,
                        g_strdup_printf("-- %s: COMMIT (not sent: dry run)", db->database));
        ferry_nova_db_rollback(db);
        return TRUE;
    }
    if (mysql_commit(db->conn) != 0) {
        set_db_error(error, db, mysql_errno(db->conn), mysql_error(db->conn), "COMMIT failed");
        return FALSE;
    }
    return TRUE;
}

void
ferry_nova_db_rollback(FerryNovaDb *db)
{
    if (!db || !db->conn || mysql_rollback(db->conn) == 0)
        return;
    /* A connection already lost has no transaction left: the server rolled it back. */
    if (errno_is_unreachable(mysql_errno(db->conn)))
        g_debug("ROLLBACK on database '%s' (%s): the connection is gone: %s", db->database,
                db->where, mysql_error(db->conn));
    else
        g_warning("ROLLBACK failed on database '%s' (%s): %s", db->database, db->where,
                  mysql_error(db->conn));
}

/* "SQL -- values: 1, 'hostB', NULL": what a dry run shows. */
static char *
format_statement(const char *sql, const FerryNovaParam *params, gsize n_params)
{
    GString *out = g_string_new(NULL);
    g_autofree char *flat = g_strdup(sql);

    /* One line per statement, whatever the source layout. */
    g_strdelimit(flat, "\n\t", ' ');
    for (const char *p = flat; *p; p++) {
        if (*p == ' ' && (p[1] == ' ' || out->len == 0))
            continue;
        g_string_append_c(out, *p);
    }
    if (n_params > 0) {
        g_string_append(out, " -- values: ");
        for (gsize i = 0; i < n_params; i++) {
            if (i > 0)
                g_string_append(out, ", ");
            switch (params[i].type) {
            case FERRY_NOVA_PARAM_NULL:
                g_string_append(out, "NULL");
                break;
            case FERRY_NOVA_PARAM_INT:
                g_string_append_printf(out, "%" G_GINT64_FORMAT, params[i].num);
                break;
            case FERRY_NOVA_PARAM_STR: {
                g_autofree char *esc = g_strescape(params[i].str, NULL);

                g_string_append_printf(out, "'%s'", esc);
                break;
            }
            }
        }
    }
    return g_string_free(out, FALSE);
}

static void
stmt_close(MYSQL_STMT *stmt)
{
    if (stmt)
        mysql_stmt_close(stmt);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MYSQL_STMT, stmt_close)

static MYSQL_STMT *
prepare_and_execute(FerryNovaDb *db, const char *sql, const FerryNovaParam *params, gsize n_params,
                    GError **error)
{
    g_autoptr(MYSQL_STMT) stmt = mysql_stmt_init(db->conn);
    g_autofree MYSQL_BIND *bind = g_new0(MYSQL_BIND, MAX(n_params, 1));
    g_autofree unsigned long *lengths = g_new0(unsigned long, MAX(n_params, 1));

    if (!stmt) {
        set_db_error(error, db, mysql_errno(db->conn), mysql_error(db->conn),
                     "cannot allocate a statement");
        return NULL;
    }
    if (mysql_stmt_prepare(stmt, sql, strlen(sql)) != 0) {
        set_db_error(error, db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt),
                     "cannot prepare a statement");
        return NULL;
    }
    if (mysql_stmt_param_count(stmt) != n_params) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_DB,
                    "statement has %lu placeholders but %" G_GSIZE_FORMAT " values: %s",
                    mysql_stmt_param_count(stmt), n_params, sql);
        return NULL;
    }
    for (gsize i = 0; i < n_params; i++) {
        switch (params[i].type) {
        case FERRY_NOVA_PARAM_NULL:
            bind[i].buffer_type = MYSQL_TYPE_NULL;
            break;
        case FERRY_NOVA_PARAM_INT:
            bind[i].buffer_type = MYSQL_TYPE_LONGLONG;
            bind[i].buffer = (void *)&params[i].num;
            break;
        case FERRY_NOVA_PARAM_STR:
            lengths[i] = strlen(params[i].str);
            bind[i].buffer_type = MYSQL_TYPE_STRING;
            bind[i].buffer = (void *)params[i].str;
            bind[i].buffer_length = lengths[i];
            bind[i].length = &lengths[i];
            break;
        }
    }
    if (n_params > 0 && mysql_stmt_bind_param(stmt, bind) != 0) {
        set_db_error(error, db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt),
                     "cannot bind parameters");
        return NULL;
    }
    if (mysql_stmt_execute(stmt) != 0) {
        set_db_error(error, db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt), "statement failed");
        return NULL;
    }
    return g_steal_pointer(&stmt);
}

void
ferry_nova_rows_free(FerryNovaRows *rows)
{
    if (!rows)
        return;
    /* a query that failed before its result arrived has neither array */
    g_clear_pointer(&rows->columns, g_ptr_array_unref);
    g_clear_pointer(&rows->rows, g_ptr_array_unref);
    g_free(rows);
}

const char *
ferry_nova_rows_get(const FerryNovaRows *rows, guint row, const char *column)
{
    GPtrArray *values;

    g_return_val_if_fail(row < rows->rows->len, NULL);
    values = g_ptr_array_index(rows->rows, row);
    for (guint i = 0; i < rows->columns->len; i++) {
        if (g_str_equal(g_ptr_array_index(rows->columns, i), column))
            return g_ptr_array_index(values, i);
    }
    g_critical("no column '%s' in the result", column);
    return NULL;
}

gint64
ferry_nova_rows_get_int(const FerryNovaRows *rows, guint row, const char *column)
{
    const char *text = ferry_nova_rows_get(rows, row, column);

    return text ? g_ascii_strtoll(text, NULL, 10) : 0;
}

FerryNovaRows *
ferry_nova_db_query(FerryNovaDb *db, const char *sql, const FerryNovaParam *params, gsize n_params,
                    GError **error)
{
    g_autoptr(MYSQL_STMT) stmt = NULL;
    g_autoptr(FerryNovaRows) rows = g_new0(FerryNovaRows, 1);
    g_autofree MYSQL_BIND *bind = NULL;
    g_autofree unsigned long *lengths = NULL;
    g_autofree my_bool *nulls = NULL;
    MYSQL_RES *meta;
    MYSQL_FIELD *fields;
    unsigned int n_cols;
    int rc;

    if (db->dry_log)
        g_ptr_array_add(db->dry_log, format_statement(sql, params, n_params));
    stmt = prepare_and_execute(db, sql, params, n_params, error);
    if (!stmt)
        return NULL;
    meta = mysql_stmt_result_metadata(stmt);
    if (!meta) {
        set_db_error(error, db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt),
                     "statement returned no result");
        return NULL;
    }
    n_cols = mysql_num_fields(meta);
    fields = mysql_fetch_fields(meta);
    rows->columns = g_ptr_array_new_with_free_func(g_free);
    rows->rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
    for (unsigned int i = 0; i < n_cols; i++)
        g_ptr_array_add(rows->columns, g_strdup(fields[i].name));
    mysql_free_result(meta);

    /* Bind every column as text with no buffer: fetch reports each length, then each
     * value is fetched into a buffer of its size. */
    bind = g_new0(MYSQL_BIND, MAX(n_cols, 1));
    lengths = g_new0(unsigned long, MAX(n_cols, 1));
    nulls = g_new0(my_bool, MAX(n_cols, 1));
    for (unsigned int i = 0; i < n_cols; i++) {
        bind[i].buffer_type = MYSQL_TYPE_STRING;
        bind[i].length = &lengths[i];
        bind[i].is_null = &nulls[i];
    }
    if (mysql_stmt_bind_result(stmt, bind) != 0 || mysql_stmt_store_result(stmt) != 0) {
        set_db_error(error, db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt),
                     "cannot read a result");
        return NULL;
    }
    while ((rc = mysql_stmt_fetch(stmt)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
        GPtrArray *values = g_ptr_array_new_with_free_func(g_free);

        g_ptr_array_add(rows->rows, values);
        for (unsigned int i = 0; i < n_cols; i++) {
            MYSQL_BIND col = {0};
            char *buf;

            if (nulls[i]) {
                g_ptr_array_add(values, NULL);
                continue;
            }
            buf = g_malloc0(lengths[i] + 1);
            g_ptr_array_add(values, buf);
            col.buffer_type = MYSQL_TYPE_STRING;
            col.buffer = buf;
            col.buffer_length = lengths[i] + 1;
            if (lengths[i] > 0 && mysql_stmt_fetch_column(stmt, &col, i, 0) != 0) {
                set_db_error(error, db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt),
                             "cannot fetch a column");
                return NULL;
            }
        }
    }
    if (rc != MYSQL_NO_DATA) {
        set_db_error(error, db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt),
                     "cannot fetch a row");
        return NULL;
    }
    return g_steal_pointer(&rows);
}

gboolean
ferry_nova_db_exec(FerryNovaDb *db, const char *what, const char *sql, const FerryNovaParam *params,
                   gsize n_params, gint64 expect, gint64 *insert_id, GError **error)
{
    g_autoptr(MYSQL_STMT) stmt = NULL;
    my_ulonglong affected;

    if (db->dry_log) {
        g_ptr_array_add(db->dry_log, format_statement(sql, params, n_params));
        if (insert_id)
            *insert_id = 0;
        return TRUE;
    }
    stmt = prepare_and_execute(db, sql, params, n_params, error);
    if (!stmt) {
        g_prefix_error(error, "%s: ", what);
        return FALSE;
    }
    affected = mysql_stmt_affected_rows(stmt);
    if (expect >= 0 && affected != (my_ulonglong)expect) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_CONFLICT,
                    "%s: expected to hit %" G_GINT64_FORMAT " row(s) in '%s', hit %llu: "
                    "the rows changed under us; nothing was written",
                    what, expect, db->database, (unsigned long long)affected);
        return FALSE;
    }
    if (insert_id)
        *insert_id = (gint64)mysql_stmt_insert_id(stmt);
    return TRUE;
}

gboolean
ferry_nova_db_load_schema(FerryNovaDb *db, GError **error)
{
    for (gsize i = 0; i < G_N_ELEMENTS(optional_columns); i++) {
        g_autoptr(FerryNovaRows) rows = NULL;

        if (!optional_columns[i].table || optional_columns[i].role != db->role)
            continue;
        rows = ferry_nova_db_query(
            db,
            "SELECT COUNT(*) AS n FROM information_schema.columns "
            "WHERE table_schema = DATABASE() AND table_name = ? "
            "AND column_name = ?",
            NP_ARGS(NP_STR(optional_columns[i].table), NP_STR(optional_columns[i].column)), error);
        if (!rows)
            return FALSE;
        db->has_column[i] = ferry_nova_rows_get_int(rows, 0, "n") > 0;
    }
    db->schema_loaded = TRUE;
    return TRUE;
}

static gboolean
set_needs_schema(const FerryNovaSet *set, gsize n_set)
{
    for (gsize i = 0; i < n_set; i++) {
        if (set[i].only_if != FERRY_NOVA_COLUMN_ANY_SCHEMA)
            return TRUE;
    }
    return FALSE;
}

/* The columns of @set this database has: "a = ?, b = expr" into @columns for an UPDATE
 * (@values NULL), or "a, b" into @columns and "?, expr" into @values for an INSERT; the
 * bound values, in the same order, into @params. */
static void
append_set(const FerryNovaDb *db, const FerryNovaSet *set, gsize n_set, GString *columns,
           GString *values, GArray *params)
{
    const char *sep = "";

    for (gsize i = 0; i < n_set; i++) {
        const char *value = set[i].sql ? set[i].sql : "?";

        if (set[i].only_if != FERRY_NOVA_COLUMN_ANY_SCHEMA && !db->has_column[set[i].only_if])
            continue;
        if (values) {
            g_string_append_printf(columns, "%s%s", sep, set[i].column);
            g_string_append_printf(values, "%s%s", sep, value);
        } else {
            g_string_append_printf(columns, "%s%s = %s", sep, set[i].column, value);
        }
        if (!set[i].sql)
            g_array_append_val(params, set[i].value);
        sep = ", ";
    }
}

gboolean
ferry_nova_db_insert(FerryNovaDb *db, const char *what, const char *table, const FerryNovaSet *set,
                     gsize n_set, gint64 *insert_id, GError **error)
{
    g_autoptr(GString) columns = g_string_new(NULL);
    g_autoptr(GString) values = g_string_new(NULL);
    g_autoptr(GArray) params = g_array_new(FALSE, TRUE, sizeof(FerryNovaParam));
    g_autofree char *sql = NULL;

    g_return_val_if_fail(db->schema_loaded || !set_needs_schema(set, n_set), FALSE);
    append_set(db, set, n_set, columns, values, params);
    sql = g_strdup_printf("INSERT INTO %s (%s) VALUES (%s)", table, columns->str, values->str);
    return ferry_nova_db_exec(db, what, sql, (const FerryNovaParam *)params->data, params->len, 1,
                              insert_id, error);
}

gboolean
ferry_nova_db_update(FerryNovaDb *db, const char *what, const char *table, const FerryNovaSet *set,
                     gsize n_set, const char *where, const FerryNovaParam *params, gsize n_params,
                     gint64 expect, GError **error)
{
    g_autoptr(GString) columns = g_string_new(NULL);
    g_autoptr(GArray) all = g_array_new(FALSE, TRUE, sizeof(FerryNovaParam));
    g_autofree char *sql = NULL;

    g_return_val_if_fail(db->schema_loaded || !set_needs_schema(set, n_set), FALSE);
    append_set(db, set, n_set, columns, NULL, all);
    g_array_append_vals(all, params, n_params);
    sql = g_strdup_printf("UPDATE %s SET %s WHERE %s", table, columns->str, where);
    return ferry_nova_db_exec(db, what, sql, (const FerryNovaParam *)all->data, all->len, expect,
                              NULL, error);
}
