/*
 * ferry-nova-journal.h: the before-image of every row a step touches, for undo.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "engine/nova/ferry-nova-db.h"

G_BEGIN_DECLS

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
/* Reads an entry back; one whose shape is not what save writes is refused (JOURNAL). */
FerryNovaJournal *ferry_nova_journal_load(const char *journal_dir, const char *id,
                                          GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Objects {"database", "table", "row": {column: text or null}}. */
JsonArray *ferry_nova_journal_get_images(const FerryNovaJournal *journal);
/* Objects {"database", "table", "id": integer}. */
JsonArray *ferry_nova_journal_get_inserted(const FerryNovaJournal *journal);

/* Ids are what ferry made: [A-Za-z0-9-], so they never leave journal_dir. */
gboolean ferry_nova_journal_id_valid(const char *id);
char *ferry_nova_journal_new_id(void);
/* Only [A-Za-z0-9_] names are pasted into SQL (tables and columns from our own lists). */
gboolean ferry_nova_identifier_valid(const char *name);

G_END_DECLS
