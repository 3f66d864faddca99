/*
 * ferry-nova-undo.c: put back, exactly, the rows a journaled step changed.
 *
 * Rows the step inserted are deleted; rows it changed are rewritten column by column
 * from their before-image; rows it deleted are inserted again with their old id.  Only
 * when the instance is still where that step left it: undo never overrides a later move.
 */
#include "engine/nova/ferry-nova-journal.h"

/* The tables a step may touch; nothing else is ever written from a journal file. */
static const struct {
    FerryNovaRole role;
    const char *table;
} undo_tables[] = {
    {FERRY_NOVA_ROLE_NOVA, "instances"},
    {FERRY_NOVA_ROLE_NOVA, "instance_extra"},
    {FERRY_NOVA_ROLE_NOVA, "migrations"},
    {FERRY_NOVA_ROLE_NOVA, "instance_actions"},
    {FERRY_NOVA_ROLE_PLACEMENT, "allocations"},
    {FERRY_NOVA_ROLE_PLACEMENT, "consumers"},
    {FERRY_NOVA_ROLE_PLACEMENT, "resource_providers"},
};

static gboolean
entry_target(JsonObject *entry, FerryNovaRole *role, const char **table, GError **error)
{
    const char *db = json_object_get_string_member_with_default(entry, "database", NULL);
    const char *name = json_object_get_string_member_with_default(entry, "table", NULL);

    if (ferry_nova_role_from_name(db, role)) {
        for (gsize i = 0; i < G_N_ELEMENTS(undo_tables); i++) {
            if (undo_tables[i].role == *role && g_strcmp0(undo_tables[i].table, name) == 0) {
                *table = undo_tables[i].table;
                return TRUE;
            }
        }
    }
    g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_JOURNAL,
                "journal names table '%s.%s', which ferry never writes", db ? db : "?",
                name ? name : "?");
    return FALSE;
}

static gboolean
restore_row(FerryNovaDb *db, const char *table, JsonObject *row, GError **error)
{
    g_autoptr(GList) members = json_object_get_members(row);
    g_autoptr(GArray) params = g_array_new(FALSE, TRUE, sizeof(FerryNovaParam));
    g_autoptr(GString) sql = g_string_new(NULL);
    g_autoptr(GString) values = g_string_new(NULL);
    g_autoptr(FerryNovaRows) exists = NULL;
    const char *id = json_object_get_string_member_with_default(row, "id", NULL);
    gint64 row_id;
    gboolean update;

    if (!id) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_JOURNAL, "a saved %s row has no id",
                    table);
        return FALSE;
    }
    row_id = g_ascii_strtoll(id, NULL, 10);
    /* The table name comes from undo_tables, never from the file. */
    {
        g_autofree char *q = g_strdup_printf("SELECT id FROM `%s` WHERE id = ? FOR UPDATE", table);

        exists = ferry_nova_db_query(db, q, NP_ARGS(NP_INT(row_id)), error);
    }
    if (!exists)
        return FALSE;
    update = exists->rows->len == 1;
    g_string_printf(sql, update ? "UPDATE `%s` SET " : "INSERT INTO `%s` (", table);
    for (GList *l = members; l; l = l->next) {
        const char *column = l->data;
        JsonNode *node = json_object_get_member(row, column);
        FerryNovaParam p = {0};

        if (!ferry_nova_identifier_valid(column) ||
            (!JSON_NODE_HOLDS_NULL(node) &&
             (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING))) {
            g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_JOURNAL,
                        "saved %s row %s has a bad column '%s'", table, id, column);
            return FALSE;
        }
        if (update && g_str_equal(column, "id"))
            continue;
        if (params->len > 0) {
            g_string_append(sql, ", ");
            g_string_append(values, ", ");
        }
        g_string_append_printf(sql, update ? "`%s` = ?" : "`%s`", column);
        g_string_append(values, "?");
        p.type = JSON_NODE_HOLDS_NULL(node) ? FERRY_NOVA_PARAM_NULL : FERRY_NOVA_PARAM_STR;
        p.str = JSON_NODE_HOLDS_NULL(node) ? NULL : json_node_get_string(node);
        g_array_append_val(params, p);
    }
    if (update) {
        FerryNovaParam p = NP_INT(row_id);

        g_string_append(sql, " WHERE id = ?");
        g_array_append_val(params, p);
    } else {
        g_string_append_printf(sql, ") VALUES (%s)", values->str);
    }
    return ferry_nova_db_exec(db, update ? "restore a changed row" : "restore a deleted row",
                              sql->str, (FerryNovaParam *)params->data, params->len, 1, NULL,
                              error);
}

static gboolean
undo_role(FerryNovaJournal *journal, FerryNovaDb *db, GError **error)
{
    JsonArray *inserted = ferry_nova_journal_get_inserted(journal);
    JsonArray *images = ferry_nova_journal_get_images(journal);
    FerryNovaRole want = ferry_nova_db_get_role(db);

    for (guint i = 0; i < json_array_get_length(inserted); i++) {
        JsonObject *ins = json_array_get_object_element(inserted, i);
        g_autofree char *sql = NULL;
        FerryNovaRole role;
        const char *table;

        if (!entry_target(ins, &role, &table, error))
            return FALSE;
        if (role != want)
            continue;
        sql = g_strdup_printf("DELETE FROM `%s` WHERE id = ?", table);
        if (!ferry_nova_db_exec(db, "remove a row the step inserted", sql,
                                NP_ARGS(NP_INT(json_object_get_int_member(ins, "id"))), 1, NULL,
                                error))
            return FALSE;
    }
    for (guint i = 0; i < json_array_get_length(images); i++) {
        JsonObject *image = json_array_get_object_element(images, i);
        FerryNovaRole role;
        const char *table;

        if (!entry_target(image, &role, &table, error))
            return FALSE;
        if (role != want)
            continue;
        if (!restore_row(db, table, json_object_get_object_member(image, "row"), error))
            return FALSE;
    }
    return TRUE;
}

/* The instance must be where the step left it: host and task_state as it wrote them. */
static gboolean
check_after_state(FerryNovaJournal *journal, FerryNovaDb *nova, GError **error)
{
    const char *instance = ferry_nova_journal_get_string(journal, "instance");
    const char *host = ferry_nova_journal_get_string(journal, "after_host");
    const char *task_state = ferry_nova_journal_get_string(journal, "after_task_state");
    g_autoptr(FerryNovaRows) rows = NULL;

    rows = ferry_nova_db_query(nova,
                               "SELECT host, task_state FROM instances "
                               "WHERE uuid = ? AND deleted = 0 FOR UPDATE",
                               NP_ARGS(NP_STR(instance)), error);
    if (!rows)
        return FALSE;
    if (rows->rows->len != 1) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_NOT_FOUND,
                    "Nova has no instance '%s' any more", instance);
        return FALSE;
    }
    if (g_strcmp0(ferry_nova_rows_get(rows, 0, "host"), host) != 0 ||
        g_strcmp0(ferry_nova_rows_get(rows, 0, "task_state"), task_state) != 0) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED,
                    "instance '%s' changed since this step (host '%s', task_state '%s'; the "
                    "step left host '%s', task_state '%s'): refusing to undo over it",
                    instance, ferry_nova_rows_get(rows, 0, "host"),
                    ferry_nova_rows_get(rows, 0, "task_state")
                        ? ferry_nova_rows_get(rows, 0, "task_state")
                        : "none",
                    host, task_state ? task_state : "none");
        return FALSE;
    }
    return TRUE;
}

gboolean
ferry_nova_undo(FerryNovaConfig *config, const char *journal_id, GError **error)
{
    g_autoptr(FerryNovaJournal) journal = NULL;
    g_autoptr(FerryNovaDb) nova = NULL;
    g_autoptr(FerryNovaDb) pl = NULL;
    const char *state;

    journal = ferry_nova_journal_load(config->journal_dir, journal_id, error);
    if (!journal)
        return FALSE;
    state = ferry_nova_journal_get_string(journal, "state");
    if (g_strcmp0(state, "undone") == 0) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED,
                    "Nova sync '%s' was undone already", journal_id);
        return FALSE;
    }
    if (!(nova = ferry_nova_db_open(config, FERRY_NOVA_ROLE_NOVA, error)) ||
        !(pl = ferry_nova_db_open(config, FERRY_NOVA_ROLE_PLACEMENT, error)) ||
        !ferry_nova_db_begin(nova, error) || !ferry_nova_db_begin(pl, error))
        goto fail;
    if (!check_after_state(journal, nova, error) || !undo_role(journal, nova, error) ||
        !undo_role(journal, pl, error))
        goto fail;
    if (!ferry_nova_db_commit(nova, error) || !ferry_nova_db_commit(pl, error))
        goto fail;
    if (!ferry_nova_journal_save(journal, config->journal_dir, "undone", error)) {
        g_prefix_error(error, "undone, but cannot record it: ");
        return FALSE;
    }
    return TRUE;

fail:
    if (nova)
        ferry_nova_db_rollback(nova);
    if (pl)
        ferry_nova_db_rollback(pl);
    g_prefix_error(error, "cannot undo Nova sync '%s': ", journal_id);
    return FALSE;
}
