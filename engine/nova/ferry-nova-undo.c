/*
 * ferry-nova-undo.c: put back what a journaled step changed.
 *
 * The cell database: rows the step inserted are deleted; rows it changed are rewritten
 * column by column from their before-image; rows it deleted are inserted again with their
 * old id.  Only when the instance is still where that step left it: undo never overrides
 * a later move.
 *
 * Placement is not restored from row images: allocations are rows placement itself
 * rewrites (a heal or a re-claim PUTs them again, with new ids), and its generations must
 * never go back.  Undo moves the consumer's current allocations from the destination
 * provider back to the source, bumping the source provider's and the consumer's
 * generations as placement would; only when the consumer's and both providers'
 * generations are still what the step left, else it refuses, saying what changed.  Dead
 * migration attempts' consumers the step deleted are created again (new row ids).
 *
 * Journal states: prepared (written before the COMMITs), cell-committed (the cell database
 * committed, placement not: a queued replay does placement, under its own id), committed,
 * cell-undone (the cell database restored, placement not yet), undone.  Undoing a
 * cell-committed step moves the allocations back too if its replay moved them.
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

/* @new_id: insert the row under a new id (placement rows, whose ids placement owns). */
static gboolean
restore_row(FerryNovaDb *db, const char *table, JsonObject *row, gboolean new_id, GError **error)
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
    if (new_id) {
        update = FALSE;
    } else {
        g_autofree char *q = g_strdup_printf("SELECT id FROM `%s` WHERE id = ? FOR UPDATE", table);

        exists = ferry_nova_db_query(db, q, NP_ARGS(NP_INT(row_id)), error);
        if (!exists)
            return FALSE;
        update = exists->rows->len == 1;
    }
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
        if ((update || new_id) && g_str_equal(column, "id"))
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

/* Cell database rows: the step's inserts removed, its before-images restored. */
static gboolean
undo_cell(FerryNovaJournal *journal, FerryNovaDb *db, GError **error)
{
    JsonArray *inserted = ferry_nova_journal_get_inserted(journal);
    JsonArray *images = ferry_nova_journal_get_images(journal);

    for (guint i = 0; i < json_array_get_length(inserted); i++) {
        JsonObject *ins = json_array_get_object_element(inserted, i);
        g_autofree char *sql = NULL;
        FerryNovaRole role;
        const char *table;

        if (!entry_target(ins, &role, &table, error))
            return FALSE;
        if (role != FERRY_NOVA_ROLE_NOVA)
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
        if (role != FERRY_NOVA_ROLE_NOVA)
            continue;
        if (!restore_row(db, table, json_object_get_object_member(image, "row"), FALSE, error))
            return FALSE;
    }
    return TRUE;
}

/* An integer the step journaled; FALSE (JOURNAL) when it is not one. */
static gboolean
journal_int(FerryNovaJournal *journal, const char *key, gint64 *out, GError **error)
{
    const char *text = ferry_nova_journal_get_string(journal, key);

    if (!text || !g_ascii_string_to_signed(text, 10, G_MININT64, G_MAXINT64, out, NULL)) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_JOURNAL,
                    "journal entry '%s' has no valid '%s'", ferry_nova_journal_get_id(journal),
                    key);
        return FALSE;
    }
    return TRUE;
}

/* Dead migration attempts' consumers the step deleted: created again, with their
 * allocations, under new row ids, if placement has not seen them since. */
static gboolean
recreate_stale_consumers(FerryNovaJournal *journal, FerryNovaDb *pl, const char *instance,
                         GError **error)
{
    JsonArray *images = ferry_nova_journal_get_images(journal);
    g_autoptr(GHashTable) receivers =
        g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    GHashTableIter iter;
    gpointer rp_key;

    for (guint pass = 0; pass < 2; pass++) {
        /* Consumers first: allocations name them. */
        const char *want = pass == 0 ? "consumers" : "allocations";
        const char *key = pass == 0 ? "uuid" : "consumer_id";

        for (guint i = 0; i < json_array_get_length(images); i++) {
            JsonObject *image = json_array_get_object_element(images, i);
            JsonObject *row = json_object_get_object_member(image, "row");
            const char *table;
            const char *uuid;
            FerryNovaRole role;

            if (!entry_target(image, &role, &table, error))
                return FALSE;
            if (role != FERRY_NOVA_ROLE_PLACEMENT || !g_str_equal(table, want))
                continue;
            uuid = json_object_get_string_member_with_default(row, key, NULL);
            if (!uuid || g_str_equal(uuid, instance))
                continue;
            if (pass == 0) {
                g_autoptr(FerryNovaRows) seen = NULL;

                seen = ferry_nova_db_query(pl,
                                           "SELECT (SELECT COUNT(*) FROM consumers WHERE uuid = ?) "
                                           "+ (SELECT COUNT(*) FROM allocations WHERE "
                                           "consumer_id = ?) AS n",
                                           NP_ARGS(NP_STR(uuid), NP_STR(uuid)), error);
                if (!seen)
                    return FALSE;
                if (ferry_nova_rows_get_int(seen, 0, "n") > 0) {
                    g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED,
                                "placement has consumer '%s' again (a migration attempt the "
                                "sync closed): refusing to undo over it; nothing was changed",
                                uuid);
                    return FALSE;
                }
            }
            if (!restore_row(pl, table, row, TRUE, error))
                return FALSE;
            if (pass == 1) {
                gint64 *rp = g_new(gint64, 1);

                *rp = g_ascii_strtoll(
                    json_object_get_string_member_with_default(row, "resource_provider_id", "0"),
                    NULL, 10);
                g_hash_table_add(receivers, rp);
            }
        }
    }
    /* Placement bumps each provider that receives allocations, once. */
    g_hash_table_iter_init(&iter, receivers);
    while (g_hash_table_iter_next(&iter, &rp_key, NULL)) {
        if (!ferry_nova_db_exec(pl, "bump the generation of a provider receiving allocations",
                                "UPDATE resource_providers SET generation = generation + 1, "
                                "updated_at = UTC_TIMESTAMP() WHERE id = ?",
                                NP_ARGS(NP_INT(*(gint64 *)rp_key)), 1, NULL, error))
            return FALSE;
    }
    return TRUE;
}

/* The placement part: the consumer's current allocations moved back, forward-only.
 * @if_moved: the step may not have written placement (its placement COMMIT failed): nothing
 * to move back unless a replay moved the allocations since. */
static gboolean
undo_placement(FerryNovaJournal *journal, FerryNovaDb *pl, gboolean if_moved, GError **error)
{
    const char *instance = ferry_nova_journal_get_string(journal, "instance");
    const char *left_consumer = ferry_nova_journal_get_string(journal, "pl_consumer_generation");
    g_autoptr(FerryNovaRows) consumer = NULL;
    g_autoptr(FerryNovaRows) rps = NULL;
    g_autoptr(FerryNovaRows) allocs = NULL;
    g_autoptr(GString) changed = g_string_new(NULL);
    gint64 src_rp, dst_rp, src_gen, dst_gen;
    gint64 src_now = -1, dst_now = -1, consumer_now = -1;
    const char *src_name = NULL, *dst_name = NULL;
    gint64 n_dst = 0, n_other = 0;

    if (!ferry_nova_journal_get_string(journal, "pl_dst_rp"))
        return recreate_stale_consumers(journal, pl, instance, error); /* nothing was moved */
    if (!journal_int(journal, "pl_src_rp", &src_rp, error) ||
        !journal_int(journal, "pl_dst_rp", &dst_rp, error) ||
        !journal_int(journal, "pl_src_generation", &src_gen, error) ||
        !journal_int(journal, "pl_dst_generation", &dst_gen, error))
        return FALSE;

    consumer = ferry_nova_db_query(pl, "SELECT generation FROM consumers WHERE uuid = ? FOR UPDATE",
                                   NP_ARGS(NP_STR(instance)), error);
    rps = consumer ? ferry_nova_db_query(pl,
                                         "SELECT id, name, generation FROM resource_providers "
                                         "WHERE id IN (?, ?) ORDER BY id FOR UPDATE",
                                         NP_ARGS(NP_INT(src_rp), NP_INT(dst_rp)), error)
                   : NULL;
    allocs =
        rps ? ferry_nova_db_query(pl,
                                  "SELECT resource_provider_id = ? AS on_dst, COUNT(*) AS n "
                                  "FROM allocations WHERE consumer_id = ? "
                                  "GROUP BY resource_provider_id = ? FOR UPDATE",
                                  NP_ARGS(NP_INT(dst_rp), NP_STR(instance), NP_INT(dst_rp)), error)
            : NULL;
    if (!allocs)
        return FALSE;
    for (guint i = 0; i < rps->rows->len; i++) {
        gint64 rp = ferry_nova_rows_get_int(rps, i, "id");

        if (rp == src_rp) {
            src_now = ferry_nova_rows_get_int(rps, i, "generation");
            src_name = ferry_nova_rows_get(rps, i, "name");
        }
        if (rp == dst_rp) {
            dst_now = ferry_nova_rows_get_int(rps, i, "generation");
            dst_name = ferry_nova_rows_get(rps, i, "name");
        }
    }
    for (guint i = 0; i < allocs->rows->len; i++) {
        if (ferry_nova_rows_get_int(allocs, i, "on_dst"))
            n_dst = ferry_nova_rows_get_int(allocs, i, "n");
        else
            n_other = ferry_nova_rows_get_int(allocs, i, "n");
    }
    if (consumer->rows->len == 1)
        consumer_now = ferry_nova_rows_get_int(consumer, 0, "generation");
    if (if_moved && n_dst == 0)
        return TRUE;

    /* Placement's own rule for writing a consumer's allocations: the generation it saw. */
    if (!src_name || !dst_name)
        g_string_append_printf(changed, "%sa resource provider (id %" G_GINT64_FORMAT ") is gone",
                               changed->len ? "; " : "", src_name ? dst_rp : src_rp);
    if (left_consumer
            ? consumer_now < 0 ||
                  g_strcmp0(ferry_nova_rows_get(consumer, 0, "generation"), left_consumer) != 0
            : consumer_now >= 0) {
        g_autofree char *now = consumer_now < 0
                                   ? g_strdup("none")
                                   : g_strdup_printf("%" G_GINT64_FORMAT, consumer_now);

        g_string_append_printf(changed,
                               "%sthe consumer generation of instance '%s' is %s, the sync "
                               "left %s (its allocations were written again since: a heal, a "
                               "re-claim, a later move)",
                               changed->len ? "; " : "", instance, now,
                               left_consumer ? left_consumer : "none");
    }
    if (dst_name && dst_now != dst_gen)
        g_string_append_printf(changed,
                               "%sthe generation of destination provider '%s' is %" G_GINT64_FORMAT
                               ", the sync left %" G_GINT64_FORMAT,
                               changed->len ? "; " : "", dst_name, dst_now, dst_gen);
    if (src_name && src_now != src_gen)
        g_string_append_printf(changed,
                               "%sthe generation of source provider '%s' is %" G_GINT64_FORMAT
                               ", the sync left %" G_GINT64_FORMAT " (its usage or inventory "
                               "changed: the allocations may not fit there any more)",
                               changed->len ? "; " : "", src_name, src_now, src_gen);
    if (changed->len == 0 && (n_dst == 0 || n_other > 0))
        g_string_append_printf(changed,
                               "instance '%s' holds %" G_GINT64_FORMAT " allocation(s) on the "
                               "destination provider and %" G_GINT64_FORMAT " elsewhere",
                               instance, n_dst, n_other);
    if (changed->len > 0) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED,
                    "placement changed since the sync: %s. Refusing to undo: nothing was "
                    "changed. See GET /allocations/%s; if the guest runs on the source, "
                    "'ferry nova-sync %s --to SOURCE' records it there",
                    changed->str, instance, instance);
        return FALSE;
    }
    return ferry_nova_db_exec(pl, "move the instance's allocations back to the source",
                              "UPDATE allocations SET resource_provider_id = ?, "
                              "updated_at = UTC_TIMESTAMP() "
                              "WHERE consumer_id = ? AND resource_provider_id = ?",
                              NP_ARGS(NP_INT(src_rp), NP_STR(instance), NP_INT(dst_rp)), n_dst,
                              NULL, error) &&
           recreate_stale_consumers(journal, pl, instance, error) &&
           ferry_nova_db_exec(pl, "bump the source provider's generation",
                              "UPDATE resource_providers SET generation = generation + 1, "
                              "updated_at = UTC_TIMESTAMP() WHERE id = ? AND generation = ?",
                              NP_ARGS(NP_INT(src_rp), NP_INT(src_gen)), 1, NULL, error) &&
           (consumer_now < 0 ||
            ferry_nova_db_exec(pl, "bump the instance consumer's generation",
                               "UPDATE consumers SET generation = generation + 1, "
                               "updated_at = UTC_TIMESTAMP() WHERE uuid = ? AND generation = ?",
                               NP_ARGS(NP_STR(instance), NP_INT(consumer_now)), 1, NULL, error));
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
    g_autoptr(GError) local = NULL;
    const char *state;
    gboolean do_cell;
    gboolean if_moved;

    journal = ferry_nova_journal_load(config->journal_dir, journal_id, error);
    if (!journal)
        return FALSE;
    state = ferry_nova_journal_get_string(journal, "state");
    if (g_strcmp0(state, "undone") == 0) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED,
                    "Nova sync '%s' was undone already", journal_id);
        return FALSE;
    }
    /* cell-committed: this step's placement COMMIT failed; a replay may have done it since
     * (then it is moved back here, under the same generation guards).  prepared: ferry died
     * around the COMMITs: the databases tell which applied. */
    do_cell = g_strcmp0(state, "cell-undone") != 0;
    if_moved = g_strcmp0(state, "cell-committed") == 0 || g_strcmp0(state, "prepared") == 0;
    if (!(nova = ferry_nova_db_open(config, FERRY_NOVA_ROLE_NOVA, error)) ||
        !(pl = ferry_nova_db_open(config, FERRY_NOVA_ROLE_PLACEMENT, error)) ||
        !ferry_nova_db_begin(nova, error) || !ferry_nova_db_begin(pl, error))
        goto fail;
    if (do_cell && (!check_after_state(journal, nova, error) || !undo_cell(journal, nova, error)))
        goto fail;
    if (!undo_placement(journal, pl, if_moved, error))
        goto fail;
    if (!ferry_nova_db_commit(nova, error))
        goto fail;
    if (!ferry_nova_db_commit(pl, &local)) {
        if (do_cell && !ferry_nova_journal_save(journal, config->journal_dir, "cell-undone", NULL))
            g_warning("cannot record that Nova sync '%s' is undone in the cell database",
                      journal_id);
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_DB,
                    "cannot undo Nova sync '%s': the cell database '%s' was restored but "
                    "placement '%s' was not (%s): run 'ferry nova-sync --undo %s' again to "
                    "finish it",
                    journal_id, config->db_nova, config->db_placement, local->message, journal_id);
        return FALSE;
    }
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
