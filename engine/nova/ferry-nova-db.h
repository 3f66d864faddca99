/*
 * ferry-nova-db.h: one connection to one of Nova's databases, prepared statements only.
 */
#pragma once

#include "engine/nova/ferry-nova-private.h"

G_BEGIN_DECLS

typedef enum {
    FERRY_NOVA_PARAM_NULL,
    FERRY_NOVA_PARAM_STR,
    FERRY_NOVA_PARAM_INT,
} FerryNovaParamType;

typedef struct {
    FerryNovaParamType type;
    const char *str;
    gint64 num;
} FerryNovaParam;

/* A NULL string binds SQL NULL. */
#define NP_STR(s)                                                                                  \
    ((FerryNovaParam){.type = (s) ? FERRY_NOVA_PARAM_STR : FERRY_NOVA_PARAM_NULL, .str = (s)})
#define NP_INT(n) ((FerryNovaParam){.type = FERRY_NOVA_PARAM_INT, .num = (n)})
#define NP_ARGS(...)                                                                               \
    (const FerryNovaParam[]){__VA_ARGS__}, G_N_ELEMENTS(((const FerryNovaParam[]){__VA_ARGS__}))
#define NP_NONE NULL, 0

/* Rows of a result, every value as text (NULL for SQL NULL). */
typedef struct {
    GPtrArray *columns; /* char* */
    GPtrArray *rows;    /* GPtrArray* of char* */
} FerryNovaRows;

void ferry_nova_rows_free(FerryNovaRows *rows);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryNovaRows, ferry_nova_rows_free)
/* Value of @column in row @row; NULL for SQL NULL (the column must exist). */
const char *ferry_nova_rows_get(const FerryNovaRows *rows, guint row, const char *column);
gint64 ferry_nova_rows_get_int(const FerryNovaRows *rows, guint row, const char *column);

typedef struct _FerryNovaDb FerryNovaDb;

FerryNovaDb *ferry_nova_db_open(const FerryNovaConfig *config, FerryNovaRole role,
                                GError **error) G_GNUC_WARN_UNUSED_RESULT;
void ferry_nova_db_free(FerryNovaDb *db);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryNovaDb, ferry_nova_db_free)

/* Dry run: writes are not sent but appended to @log (borrowed), as are reads. */
void ferry_nova_db_set_dry_run(FerryNovaDb *db, GPtrArray *log);
gboolean ferry_nova_db_is_dry_run(const FerryNovaDb *db);
FerryNovaRole ferry_nova_db_get_role(const FerryNovaDb *db);

gboolean ferry_nova_db_begin(FerryNovaDb *db, GError **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean ferry_nova_db_commit(FerryNovaDb *db, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Failures are logged, never reported: rollback runs on error paths. */
void ferry_nova_db_rollback(FerryNovaDb *db);

FerryNovaRows *ferry_nova_db_query(FerryNovaDb *db, const char *sql, const FerryNovaParam *params,
                                   gsize n_params, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Runs a write.  @expect >= 0: it must hit exactly that many rows (matched, not changed),
 * else CONFLICT naming @what.  @insert_id (may be NULL) gets the AUTO_INCREMENT id. */
gboolean ferry_nova_db_exec(FerryNovaDb *db, const char *what, const char *sql,
                            const FerryNovaParam *params, gsize n_params, gint64 expect,
                            gint64 *insert_id, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* ------------------------------------------------------------------ the schema's variants */

/* Columns only newer Nova schemas have.  A write lists every column it may set, each
 * marked with the one it is (FERRY_NOVA_COLUMN_ANY_SCHEMA: all schemas have it); the
 * statement sent names those the database has. */
typedef enum {
    FERRY_NOVA_COLUMN_ANY_SCHEMA,
    FERRY_NOVA_COLUMN_INSTANCES_COMPUTE_ID,       /* nova.instances.compute_id, 2023.2 */
    FERRY_NOVA_COLUMN_MIGRATIONS_DEST_COMPUTE_ID, /* nova.migrations.dest_compute_id, 2023.2 */
    FERRY_NOVA_COLUMN_LAST,
} FerryNovaColumn;

/* Asks information_schema which of the optional columns of this database exist; needed
 * before a write that lists one. */
gboolean ferry_nova_db_load_schema(FerryNovaDb *db, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* One column a write gives a value: bound from @value, or the constant SQL expression
 * @sql ("UTC_TIMESTAMP()", "NULL", "0") when set.  Column and table names are literals of
 * the calling code, never data. */
typedef struct {
    const char *column;
    FerryNovaParam value;
    const char *sql;
    FerryNovaColumn only_if;
} FerryNovaSet;

/* INSERT INTO @table the columns of @set the database has; must hit one row. */
gboolean ferry_nova_db_insert(FerryNovaDb *db, const char *what, const char *table,
                              const FerryNovaSet *set, gsize n_set, gint64 *insert_id,
                              GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* UPDATE @table SET the columns of @set the database has WHERE @where (a constant
 * condition with ? placeholders for @params); @expect as for ferry_nova_db_exec(). */
gboolean ferry_nova_db_update(FerryNovaDb *db, const char *what, const char *table,
                              const FerryNovaSet *set, gsize n_set, const char *where,
                              const FerryNovaParam *params, gsize n_params, gint64 expect,
                              GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
