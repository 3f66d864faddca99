/*
 * ferry-nova-private.h: what the files of engine/nova/ share; not for callers.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "engine/nova/ferry-nova.h"

G_BEGIN_DECLS

struct _FerryNovaConfig {
    char *host;
    guint port;
    char *socket;
    char *user;
    char *password; /* wiped on free; never logged */
    char *db_nova;
    char *db_api;
    char *db_placement;
    guint connect_timeout;
    char *default_az;
    char *journal_dir;
};

/* Which of Nova's databases a statement or a saved row belongs to. */
typedef enum {
    FERRY_NOVA_ROLE_NOVA,
    FERRY_NOVA_ROLE_API,
    FERRY_NOVA_ROLE_PLACEMENT,
    FERRY_NOVA_ROLE_LAST,
} FerryNovaRole;

const char *ferry_nova_role_name(FerryNovaRole role);
gboolean ferry_nova_role_from_name(const char *name, FerryNovaRole *role);
const char *ferry_nova_config_database(const FerryNovaConfig *config, FerryNovaRole role);

/* ------------------------------------------------------------------ statements */

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

/* Whether @table has @column in this database (information_schema). */
gboolean ferry_nova_db_has_column(FerryNovaDb *db, const char *table, const char *column,
                                  gboolean *has, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* "SQL -- values: 1, 'hostB', NULL" */
char *ferry_nova_format_statement(const char *sql, const FerryNovaParam *params, gsize n_params);

/* ------------------------------------------------------------------ journal */

typedef struct _FerryNovaJournal FerryNovaJournal;

FerryNovaJournal *ferry_nova_journal_new(const char *op, const char *instance_uuid);
void ferry_nova_journal_free(FerryNovaJournal *journal);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryNovaJournal, ferry_nova_journal_free)

const char *ferry_nova_journal_get_id(const FerryNovaJournal *journal);
void ferry_nova_journal_set_string(FerryNovaJournal *journal, const char *key, const char *value);
const char *ferry_nova_journal_get_string(const FerryNovaJournal *journal, const char *key);

/* Saves the before-image of every row of @table matching @where (a constant SQL condition
 * with ? placeholders), locking them.  A row saved before keeps its first image. */
gboolean ferry_nova_journal_capture(FerryNovaJournal *journal, FerryNovaDb *db, const char *table,
                                    const char *where, const FerryNovaParam *params, gsize n_params,
                                    GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* A row this step inserted: undo deletes it. */
void ferry_nova_journal_add_inserted(FerryNovaJournal *journal, FerryNovaRole role,
                                     const char *table, gint64 id);

/* Writes journal_dir/undo/ID.json atomically and durably with @state. */
gboolean ferry_nova_journal_save(FerryNovaJournal *journal, const char *journal_dir,
                                 const char *state, GError **error) G_GNUC_WARN_UNUSED_RESULT;
FerryNovaJournal *ferry_nova_journal_load(const char *journal_dir, const char *id,
                                          GError **error) G_GNUC_WARN_UNUSED_RESULT;
JsonArray *ferry_nova_journal_get_images(const FerryNovaJournal *journal);
JsonArray *ferry_nova_journal_get_inserted(const FerryNovaJournal *journal);

/* Ids are what ferry made: [A-Za-z0-9-], so they never leave journal_dir. */
gboolean ferry_nova_journal_id_valid(const char *id);
char *ferry_nova_journal_new_id(void);
/* A random (v4) uuid, as Nova's migration rows carry. */
char *ferry_nova_new_uuid(void);
/* Only [A-Za-z0-9_] names are pasted into SQL (tables and columns from our own lists). */
gboolean ferry_nova_identifier_valid(const char *name);

/* ------------------------------------------------------------------ sync internals */

typedef struct {
    const char *op; /* "finish" (after begin) | "oneshot" | "abort" */
    const char *instance;
    const char *src_host; /* NULL: the host Nova records */
    const char *dst_host;
    int power_state;
    const char *migration_type;
    const char *migration_uuid; /* the begun row, or the uuid to give the new one */
} FerryNovaRequest;

/* Applies @request.  UNREACHABLE errors are returned as they are (the caller queues). */
FerryNovaResult *ferry_nova_apply(FerryNovaConfig *config, const FerryNovaRequest *request,
                                  gboolean dry_run, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Saves @request under journal_dir/pending/ and returns its id. */
char *ferry_nova_pending_add(FerryNovaConfig *config, const FerryNovaRequest *request,
                             GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Applies @request; on UNREACHABLE queues it and fails with QUEUED. */
FerryNovaResult *ferry_nova_apply_or_queue(FerryNovaConfig *config, const FerryNovaRequest *request,
                                           GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
