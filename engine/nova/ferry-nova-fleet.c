/*
 * ferry-nova-fleet.c: what the fleet commands ask of Nova: where an instance is recorded
 * (`ferry locate`), and the nova-compute service disabled before an evacuation and enabled
 * after it (`ferry evacuate --reenable`).
 */
#include "engine/nova/ferry-nova-db.h"

void
ferry_nova_where_free(FerryNovaWhere *where)
{
    if (!where)
        return;
    g_free(where->host);
    g_free(where->node);
    g_free(where->task_state);
    g_free(where->vm_state);
    g_free(where);
}

FerryNovaWhere *
ferry_nova_instance_where(FerryNovaConfig *config, const char *uuid, GError **error)
{
    g_autoptr(FerryNovaDb) db = NULL;
    g_autoptr(FerryNovaRows) rows = NULL;
    FerryNovaWhere *where;

    if (!(db = ferry_nova_db_open(config, FERRY_NOVA_ROLE_NOVA, error)))
        return NULL;
    rows = ferry_nova_db_query(db,
                               "SELECT host, node, task_state, vm_state FROM instances "
                               "WHERE uuid = ? AND deleted = 0",
                               NP_ARGS(NP_STR(uuid)), error);
    if (!rows)
        return NULL;
    if (rows->rows->len != 1) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_NOT_FOUND,
                    "Nova has no instance '%s'", uuid);
        return NULL;
    }
    where = g_new0(FerryNovaWhere, 1);
    where->host = g_strdup(ferry_nova_rows_get(rows, 0, "host"));
    where->node = g_strdup(ferry_nova_rows_get(rows, 0, "node"));
    where->task_state = g_strdup(ferry_nova_rows_get(rows, 0, "task_state"));
    where->vm_state = g_strdup(ferry_nova_rows_get(rows, 0, "vm_state"));
    return where;
}

gboolean
ferry_nova_service_set_disabled(FerryNovaConfig *config, const char *host, gboolean disabled,
                                const char *reason, GError **error)
{
    g_autoptr(FerryNovaDb) db = NULL;
    g_autoptr(FerryNovaRows) rows = NULL;

    if (!(db = ferry_nova_db_open(config, FERRY_NOVA_ROLE_NOVA, error)) ||
        !ferry_nova_db_begin(db, error))
        return FALSE;
    rows = ferry_nova_db_query(db,
                               "SELECT id FROM services WHERE host = ? AND `binary` = "
                               "'nova-compute' AND deleted = 0 FOR UPDATE",
                               NP_ARGS(NP_STR(host)), error);
    if (!rows) {
        ferry_nova_db_rollback(db);
        return FALSE;
    }
    if (rows->rows->len != 1) {
        ferry_nova_db_rollback(db);
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_NOT_FOUND,
                    "Nova has %u nova-compute service(s) on host '%s' (expected one; set "
                    "nova_host in the inventory if Nova names the host otherwise)",
                    rows->rows->len, host);
        return FALSE;
    }
    if (!ferry_nova_db_exec(db, disabled ? "disabling the nova-compute service"
                                         : "enabling the nova-compute service",
                            "UPDATE services SET disabled = ?, disabled_reason = ?, "
                            "updated_at = UTC_TIMESTAMP() WHERE id = ? AND deleted = 0",
                            NP_ARGS(NP_INT(disabled ? 1 : 0), NP_STR(disabled ? reason : NULL),
                                    NP_INT(ferry_nova_rows_get_int(rows, 0, "id"))),
                            /* the row is locked: a same-second update may change nothing */
                            -1, NULL, error) ||
        !ferry_nova_db_commit(db, error)) {
        ferry_nova_db_rollback(db);
        return FALSE;
    }
    return TRUE;
}
