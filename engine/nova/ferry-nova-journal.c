/*
 * ferry-nova-journal.c: the before-image of every row a step touches, kept as a JSON file
 * per step under journal_dir/undo/ID.json, written durably before the COMMIT.
 *
 * {"id": ID, "op": "finish", "state": "prepared|committed|undone", "instance": UUID, ...,
 *  "images": [{"database": "nova", "table": "instances", "row": {"id": "7", ...}}],
 *  "inserted": [{"database": "nova", "table": "migrations", "id": 12}]}
 * Values are kept as the server's text for them (NULL as null), which is also how they
 * are bound when restored.
 */
#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "engine/nova/ferry-nova-journal.h"

struct _FerryNovaJournal {
    JsonObject *root;
    GHashTable *seen; /* "database.table.id" already imaged */
};

gboolean
ferry_nova_identifier_valid(const char *name)
{
    if (!name || !*name || strlen(name) > 64)
        return FALSE;
    for (const char *p = name; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '_')
            return FALSE;
    }
    return TRUE;
}

gboolean
ferry_nova_journal_id_valid(const char *id)
{
    if (!id || !*id || strlen(id) > 80)
        return FALSE;
    for (const char *p = id; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '-')
            return FALSE;
    }
    return TRUE;
}

char *
ferry_nova_journal_new_id(void)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *stamp = g_date_time_format(now, "%Y%m%dT%H%M%SZ");

    return g_strdup_printf("%s-%08x", stamp, g_random_int());
}

FerryNovaJournal *
ferry_nova_journal_new(const char *op, const char *instance_uuid)
{
    FerryNovaJournal *journal = g_new0(FerryNovaJournal, 1);
    g_autofree char *id = ferry_nova_journal_new_id();
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *created = g_date_time_format_iso8601(now);

    journal->root = json_object_new();
    journal->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    json_object_set_string_member(journal->root, "id", id);
    json_object_set_string_member(journal->root, "op", op);
    json_object_set_string_member(journal->root, "instance", instance_uuid);
    json_object_set_string_member(journal->root, "created", created);
    json_object_set_array_member(journal->root, "images", json_array_new());
    json_object_set_array_member(journal->root, "inserted", json_array_new());
    return journal;
}

void
ferry_nova_journal_free(FerryNovaJournal *journal)
{
    if (!journal)
        return;
    json_object_unref(journal->root);
    g_hash_table_unref(journal->seen);
    g_free(journal);
}

const char *
ferry_nova_journal_get_id(const FerryNovaJournal *journal)
{
    return json_object_get_string_member(journal->root, "id");
}

void
ferry_nova_journal_set_string(FerryNovaJournal *journal, const char *key, const char *value)
{
    if (value)
        json_object_set_string_member(journal->root, key, value);
    else
        json_object_set_null_member(journal->root, key);
}

const char *
ferry_nova_journal_get_string(const FerryNovaJournal *journal, const char *key)
{
    return json_object_get_string_member_with_default(journal->root, key, NULL);
}

JsonArray *
ferry_nova_journal_get_images(const FerryNovaJournal *journal)
{
    return json_object_get_array_member(journal->root, "images");
}

JsonArray *
ferry_nova_journal_get_inserted(const FerryNovaJournal *journal)
{
    return json_object_get_array_member(journal->root, "inserted");
}

gboolean
ferry_nova_journal_capture(FerryNovaJournal *journal, FerryNovaDb *db, const char *table,
                           const char *where, const FerryNovaParam *params, gsize n_params,
                           GError **error)
{
    const char *role = ferry_nova_role_name(ferry_nova_db_get_role(db));
    g_autofree char *sql = NULL;
    g_autoptr(FerryNovaRows) rows = NULL;

    g_return_val_if_fail(ferry_nova_identifier_valid(table), FALSE);
    sql = g_strdup_printf("SELECT * FROM `%s` WHERE %s FOR UPDATE", table, where);
    rows = ferry_nova_db_query(db, sql, params, n_params, error);
    if (!rows)
        return FALSE;
    for (guint r = 0; r < rows->rows->len; r++) {
        GPtrArray *values = g_ptr_array_index(rows->rows, r);
        const char *id = ferry_nova_rows_get(rows, r, "id");
        g_autofree char *key = g_strdup_printf("%s.%s.%s", role, table, id);
        JsonObject *image;
        JsonObject *row;

        if (!id || g_hash_table_contains(journal->seen, key))
            continue;
        row = json_object_new();
        for (guint c = 0; c < rows->columns->len; c++) {
            const char *name = g_ptr_array_index(rows->columns, c);
            const char *value = g_ptr_array_index(values, c);

            if (value && !g_utf8_validate(value, -1, NULL)) {
                json_object_unref(row);
                g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_JOURNAL,
                            "cannot save %s.%s column '%s' of row %s: not UTF-8 text", role, table,
                            name, id);
                return FALSE;
            }
            if (value)
                json_object_set_string_member(row, name, value);
            else
                json_object_set_null_member(row, name);
        }
        image = json_object_new();
        json_object_set_string_member(image, "database", role);
        json_object_set_string_member(image, "table", table);
        json_object_set_object_member(image, "row", row);
        json_array_add_object_element(ferry_nova_journal_get_images(journal), image);
        g_hash_table_add(journal->seen, g_steal_pointer(&key));
    }
    return TRUE;
}

void
ferry_nova_journal_add_inserted(FerryNovaJournal *journal, FerryNovaRole role, const char *table,
                                gint64 id)
{
    JsonObject *ins = json_object_new();

    json_object_set_string_member(ins, "database", ferry_nova_role_name(role));
    json_object_set_string_member(ins, "table", table);
    json_object_set_int_member(ins, "id", id);
    json_array_add_object_element(ferry_nova_journal_get_inserted(journal), ins);
}

gboolean
ferry_nova_journal_save(FerryNovaJournal *journal, const char *journal_dir, const char *state,
                        GError **error)
{
    g_autofree char *dir = g_build_filename(journal_dir, "undo", NULL);
    g_autofree char *name = g_strdup_printf("%s.json", ferry_nova_journal_get_id(journal));
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    g_autofree char *text = NULL;
    g_autoptr(GError) local = NULL;

    json_object_set_string_member(journal->root, "state", state);
    json_node_set_object(node, journal->root);
    text = json_to_string(node, TRUE);
    if (g_mkdir_with_parents(dir, 0700) < 0) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_JOURNAL,
                    "cannot create journal directory '%s': %s", dir, g_strerror(errno));
        return FALSE;
    }
    if (!g_file_set_contents_full(path, text, -1,
                                  G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                  0600, &local)) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_JOURNAL,
                    "cannot write before-image '%s': %s", path, local->message);
        return FALSE;
    }
    return TRUE;
}

static gboolean
member_is(JsonObject *object, const char *name, JsonNodeType type)
{
    JsonNode *node = json_object_get_member(object, name);

    return node && JSON_NODE_TYPE(node) == type;
}

/* An entry is a file anyone with access to journal_dir can edit: undo reads only entries
 * shaped as ferry_nova_journal_save() writes them.  Each row's columns are checked where
 * they are restored. */
static gboolean
journal_shape_valid(JsonObject *root)
{
    JsonArray *images;
    JsonArray *inserted;

    if (!member_is(root, "images", JSON_NODE_ARRAY) ||
        !member_is(root, "inserted", JSON_NODE_ARRAY))
        return FALSE;
    images = json_object_get_array_member(root, "images");
    inserted = json_object_get_array_member(root, "inserted");
    for (guint i = 0; i < json_array_get_length(images); i++) {
        JsonNode *node = json_array_get_element(images, i);

        if (!JSON_NODE_HOLDS_OBJECT(node) ||
            !member_is(json_node_get_object(node), "row", JSON_NODE_OBJECT))
            return FALSE;
    }
    for (guint i = 0; i < json_array_get_length(inserted); i++) {
        JsonNode *node = json_array_get_element(inserted, i);
        JsonNode *id;

        if (!JSON_NODE_HOLDS_OBJECT(node))
            return FALSE;
        id = json_object_get_member(json_node_get_object(node), "id");
        if (!id || !JSON_NODE_HOLDS_VALUE(id) || json_node_get_value_type(id) != G_TYPE_INT64)
            return FALSE;
    }
    return TRUE;
}

FerryNovaJournal *
ferry_nova_journal_load(const char *journal_dir, const char *id, GError **error)
{
    g_autofree char *name = NULL;
    g_autofree char *path = NULL;
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) local = NULL;
    FerryNovaJournal *journal;
    JsonNode *root;

    if (!ferry_nova_journal_id_valid(id)) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_NOT_FOUND,
                    "'%s' is not a journal id (ids look like 20261122T035000Z-1a2b3c4d)", id);
        return NULL;
    }
    name = g_strdup_printf("%s.json", id);
    path = g_build_filename(journal_dir, "undo", name, NULL);
    if (!json_parser_load_from_file(parser, path, &local)) {
        g_set_error(error, FERRY_NOVA_ERROR,
                    g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                        ? FERRY_NOVA_ERROR_NOT_FOUND
                        : FERRY_NOVA_ERROR_JOURNAL,
                    "cannot read journal entry '%s': %s", path, local->message);
        return NULL;
    }
    root = json_parser_get_root(parser);
    if (!JSON_NODE_HOLDS_OBJECT(root) || !journal_shape_valid(json_node_get_object(root))) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_JOURNAL,
                    "journal entry '%s' is not a ferry before-image", path);
        return NULL;
    }
    journal = g_new0(FerryNovaJournal, 1);
    journal->root = json_object_ref(json_node_get_object(root));
    journal->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return journal;
}
