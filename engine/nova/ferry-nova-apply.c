/*
 * ferry-nova-apply.c: the statements that tell Nova a guest moved, as Nova 26 (Zed) itself
 * writes them in a live migration (conductor/tasks/live_migrate.py,
 * compute/manager.py post_live_migration_at_destination / _rollback_live_migration).
 *
 * begin:  cell DB    instances.task_state NULL -> 'migrating' (Nova's own lock),
 *                    INSERT migrations ('running'), INSERT instance_actions
 * finish: cell DB    instances host/node/power_state/task_state/progress/availability_zone
 *                    [compute_id], instance_extra.migration_context NULL, the migration
 *                    'completed' (or INSERTed so for a one-shot), dead attempts 'error'
 *         placement  the instance consumer's allocations from the source compute node's
 *                    provider to the destination's, generations bumped, dead attempts'
 *                    consumers and allocations deleted
 * abort:  cell DB    task_state NULL, the migration 'error'
 *
 * Every row is locked (SELECT ... FOR UPDATE) and imaged before it is written; every
 * write names the values it expects and must hit exactly the rows expected.
 *
 * Each operation is one statement.  Columns newer schemas add ([compute_id] above, and
 * migrations.dest_compute_id) are in its column list, marked; the statement sent names
 * them where the database has them (FerryNovaSet, ferry-nova-db.h).
 */
#include <string.h>

#include "engine/nova/ferry-nova-apply.h"
#include "engine/nova/ferry-nova-db.h"
#include "engine/nova/ferry-nova-journal.h"

/* Statuses of a migration that is still in flight (nova/objects/migration.py). */
#define IN_FLIGHT_STATUSES                                                                         \
    "('queued', 'accepted', 'pre-migrating', 'preparing', 'running', 'post-migrating', "           \
    "'migrating')"

static const char *const op_names[] = {
    [FERRY_NOVA_OP_BEGIN] = "begin",
    [FERRY_NOVA_OP_FINISH] = "finish",
    [FERRY_NOVA_OP_ONESHOT] = "oneshot",
    [FERRY_NOVA_OP_ABORT] = "abort",
};
G_STATIC_ASSERT(G_N_ELEMENTS(op_names) == FERRY_NOVA_OP_LAST);

const char *
ferry_nova_op_name(FerryNovaOp op)
{
    g_return_val_if_fail(op < FERRY_NOVA_OP_LAST, "?");
    return op_names[op];
}

gboolean
ferry_nova_op_from_name(const char *name, FerryNovaOp *op)
{
    for (guint i = 0; i < G_N_ELEMENTS(op_names); i++) {
        if (g_strcmp0(name, op_names[i]) == 0) {
            *op = i;
            return TRUE;
        }
    }
    return FALSE;
}

void
ferry_nova_result_free(FerryNovaResult *result)
{
    if (!result)
        return;
    g_free(result->journal_id);
    g_free(result->migration_uuid);
    if (result->statements)
        g_ptr_array_unref(result->statements);
    g_free(result);
}

static FerryNovaResult *
result_new(const FerryNovaRequest *req, gboolean dry_run)
{
    FerryNovaResult *result = g_new0(FerryNovaResult, 1);

    result->migration_uuid = g_strdup(req->migration_uuid);
    if (dry_run)
        result->statements = g_ptr_array_new_with_free_func(g_free);
    return result;
}

/* In a dry run every statement of @role's database goes to result->statements. */
static FerryNovaDb *
open_db(FerryNovaConfig *config, FerryNovaRole role, FerryNovaResult *result, GError **error)
{
    FerryNovaDb *db = ferry_nova_db_open(config, role, error);

    if (db && result->statements)
        ferry_nova_db_set_dry_run(db, result->statements);
    return db;
}

static char *
request_id_for(const char *migration_uuid)
{
    return g_strdup_printf("req-%s", migration_uuid);
}

/* ------------------------------------------------------------------ lookups */

typedef struct {
    gint64 id;
    char *uuid;
    char *host;
    char *node;
    char *host_ip;
} ComputeNode;

static void
compute_node_clear(ComputeNode *cn)
{
    g_clear_pointer(&cn->uuid, g_free);
    g_clear_pointer(&cn->host, g_free);
    g_clear_pointer(&cn->node, g_free);
    g_clear_pointer(&cn->host_ip, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ComputeNode, compute_node_clear)

/* The destination's node is looked up, never assumed equal to the host: libvirt's
 * hypervisor_hostname is often an FQDN.  @node NULL: the host must have exactly one. */
static gboolean
lookup_compute_node(FerryNovaDb *nova, const char *host, const char *node, ComputeNode *out,
                    GError **error)
{
    g_autoptr(FerryNovaRows) rows = NULL;

    rows = ferry_nova_db_query(nova,
                               "SELECT id, uuid, host, hypervisor_hostname, host_ip "
                               "FROM compute_nodes WHERE host = ? AND "
                               "(? IS NULL OR hypervisor_hostname = ?) AND deleted = 0",
                               NP_ARGS(NP_STR(host), NP_STR(node), NP_STR(node)), error);
    if (!rows)
        return FALSE;
    if (rows->rows->len == 0) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_NOT_FOUND,
                    "Nova knows no compute node on host '%s'%s%s%s (is it the Nova service "
                    "host name? set nova_host in the inventory)",
                    host, node ? " with node '" : "", node ? node : "", node ? "'" : "");
        return FALSE;
    }
    if (rows->rows->len > 1) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_UNSUPPORTED,
                    "Nova host '%s' has %u compute nodes: cannot tell which one the guest "
                    "runs on",
                    host, rows->rows->len);
        return FALSE;
    }
    out->id = ferry_nova_rows_get_int(rows, 0, "id");
    out->uuid = g_strdup(ferry_nova_rows_get(rows, 0, "uuid"));
    out->host = g_strdup(ferry_nova_rows_get(rows, 0, "host"));
    out->node = g_strdup(ferry_nova_rows_get(rows, 0, "hypervisor_hostname"));
    out->host_ip = g_strdup(ferry_nova_rows_get(rows, 0, "host_ip"));
    return TRUE;
}

/* What conductor sets: the AZ of the destination's aggregates, else the default. */
static char *
lookup_availability_zone(FerryNovaConfig *config, FerryNovaDb *api, const char *host,
                         GError **error)
{
    g_autoptr(FerryNovaRows) rows = NULL;
    g_autoptr(GString) az = g_string_new(NULL);

    rows = ferry_nova_db_query(api,
                               "SELECT DISTINCT am.value AS value FROM aggregate_hosts ah "
                               "JOIN aggregate_metadata am ON am.aggregate_id = ah.aggregate_id "
                               "AND am.`key` = 'availability_zone' WHERE ah.host = ? "
                               "ORDER BY am.value",
                               NP_ARGS(NP_STR(host)), error);
    if (!rows)
        return NULL;
    for (guint i = 0; i < rows->rows->len; i++)
        g_string_append_printf(az, "%s%s", i ? "," : "", ferry_nova_rows_get(rows, i, "value"));
    return az->len ? g_string_free(g_steal_pointer(&az), FALSE) : g_strdup(config->default_az);
}

/* NUMA-pinned and PCI-passthrough guests need Nova's own claim logic on the destination. */
static gboolean
check_instance_movable(FerryNovaDb *nova, const char *instance, GError **error)
{
    g_autoptr(FerryNovaRows) extra = NULL;
    g_autoptr(FerryNovaRows) pci = NULL;

    extra = ferry_nova_db_query(nova,
                                "SELECT numa_topology FROM instance_extra "
                                "WHERE instance_uuid = ? AND deleted = 0",
                                NP_ARGS(NP_STR(instance)), error);
    if (!extra)
        return FALSE;
    if (extra->rows->len > 0 && ferry_nova_rows_get(extra, 0, "numa_topology")) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_UNSUPPORTED,
                    "instance '%s' has a NUMA topology (pinning, huge pages): Nova must "
                    "claim it on the destination itself; refusing a thin sync",
                    instance);
        return FALSE;
    }
    pci = ferry_nova_db_query(nova,
                              "SELECT COUNT(*) AS n FROM pci_devices "
                              "WHERE instance_uuid = ? AND deleted = 0",
                              NP_ARGS(NP_STR(instance)), error);
    if (!pci)
        return FALSE;
    if (ferry_nova_rows_get_int(pci, 0, "n") > 0) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_UNSUPPORTED,
                    "instance '%s' holds PCI devices: refusing a thin sync", instance);
        return FALSE;
    }
    return TRUE;
}

/* ------------------------------------------------------------------ placement */

typedef struct {
    gint64 src_rp; /* -1: the source node has no provider (nothing to move) */
    gint64 src_generation;
    gint64 dst_rp;
    gint64 dst_generation;
    char *dst_name;
    guint n_src; /* the instance's allocation rows on the source provider */
    guint n_dst; /* ... already on the destination (a dead attempt claimed it) */
} PlacementPlan;

static void
placement_plan_clear(PlacementPlan *plan)
{
    g_clear_pointer(&plan->dst_name, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(PlacementPlan, placement_plan_clear)

static gint64
count_rows(FerryNovaDb *db, const char *sql, const FerryNovaParam *params, gsize n, GError **error)
{
    g_autoptr(FerryNovaRows) rows = ferry_nova_db_query(db, sql, params, n, error);

    return rows ? ferry_nova_rows_get_int(rows, 0, "n") : -1;
}

/* The allocation rows of @consumer on provider @rp; -1 on error. */
static gint64
count_allocations(FerryNovaDb *pl, const char *consumer, gint64 rp, GError **error)
{
    return count_rows(pl,
                      "SELECT COUNT(*) AS n FROM allocations WHERE consumer_id = ? "
                      "AND resource_provider_id = ?",
                      NP_ARGS(NP_STR(consumer), NP_INT(rp)), error);
}

/* Locks both providers and checks, as placement would on PUT /allocations, that the
 * destination can hold what the instance holds on the source.  Read-only. */
static gboolean
placement_prepare(FerryNovaDb *pl, const char *instance, const ComputeNode *src,
                  const ComputeNode *dst, PlacementPlan *plan, GError **error)
{
    g_autoptr(FerryNovaRows) rps = NULL;
    g_autoptr(FerryNovaRows) bad = NULL;
    gint64 n;

    plan->src_rp = -1;
    rps = ferry_nova_db_query(pl,
                              "SELECT id, uuid, name, generation FROM resource_providers "
                              "WHERE uuid IN (?, ?) ORDER BY id FOR UPDATE",
                              NP_ARGS(NP_STR(src->uuid), NP_STR(dst->uuid)), error);
    if (!rps)
        return FALSE;
    plan->dst_rp = -1;
    for (guint i = 0; i < rps->rows->len; i++) {
        const char *uuid = ferry_nova_rows_get(rps, i, "uuid");

        if (g_strcmp0(uuid, src->uuid) == 0) {
            plan->src_rp = ferry_nova_rows_get_int(rps, i, "id");
            plan->src_generation = ferry_nova_rows_get_int(rps, i, "generation");
        }
        if (g_strcmp0(uuid, dst->uuid) == 0) {
            plan->dst_rp = ferry_nova_rows_get_int(rps, i, "id");
            plan->dst_generation = ferry_nova_rows_get_int(rps, i, "generation");
            plan->dst_name = g_strdup(ferry_nova_rows_get(rps, i, "name"));
        }
    }
    if (plan->dst_rp < 0) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_NOT_FOUND,
                    "placement has no resource provider '%s' for compute node '%s' of host "
                    "'%s'",
                    dst->uuid, dst->node, dst->host);
        return FALSE;
    }
    /* Allocations on child providers (vGPU, bandwidth) would need a mapping to the
     * destination's children, which only Nova's scheduler can make. */
    n = count_rows(pl,
                   "SELECT COUNT(*) AS n FROM allocations a JOIN resource_providers rp "
                   "ON rp.id = a.resource_provider_id WHERE a.consumer_id = ? "
                   "AND rp.root_provider_id = ? AND rp.id <> rp.root_provider_id",
                   NP_ARGS(NP_STR(instance), NP_INT(plan->src_rp)), error);
    if (n < 0)
        return FALSE;
    if (n > 0) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_UNSUPPORTED,
                    "instance '%s' holds %" G_GINT64_FORMAT " allocation(s) on nested "
                    "providers under compute node '%s': refusing to move them",
                    instance, n, src->node);
        return FALSE;
    }
    n = count_allocations(pl, instance, plan->src_rp, error);
    if (n < 0)
        return FALSE;
    plan->n_src = n;
    n = count_allocations(pl, instance, plan->dst_rp, error);
    if (n < 0)
        return FALSE;
    plan->n_dst = n;
    if (plan->n_src == 0 || plan->n_dst > 0)
        return TRUE;

    /* placement's _check_capacity_exceeded: an inventory of each class, min_unit <= used
     * <= max_unit, used % step_size == 0, usage + used <= (total - reserved) * ratio. */
    bad = ferry_nova_db_query(
        pl,
        "SELECT COALESCE(rc.name, CONCAT('class ', a.resource_class_id)) AS class, "
        "a.used AS used, inv.id IS NOT NULL AS has_inventory, "
        "COALESCE(u.used, 0) AS usage_now, "
        "FLOOR((inv.total - inv.reserved) * inv.allocation_ratio) AS capacity "
        "FROM allocations a "
        "LEFT JOIN resource_classes rc ON rc.id = a.resource_class_id "
        "LEFT JOIN inventories inv ON inv.resource_provider_id = ? "
        "AND inv.resource_class_id = a.resource_class_id "
        "LEFT JOIN (SELECT resource_class_id, SUM(used) AS used FROM allocations "
        "WHERE resource_provider_id = ? GROUP BY resource_class_id) u "
        "ON u.resource_class_id = a.resource_class_id "
        "WHERE a.consumer_id = ? AND a.resource_provider_id = ? "
        "AND (inv.id IS NULL OR a.used < inv.min_unit OR a.used > inv.max_unit "
        "OR MOD(a.used, inv.step_size) <> 0 "
        "OR COALESCE(u.used, 0) + a.used > (inv.total - inv.reserved) * inv.allocation_ratio) "
        "ORDER BY class",
        NP_ARGS(NP_INT(plan->dst_rp), NP_INT(plan->dst_rp), NP_STR(instance), NP_INT(plan->src_rp)),
        error);
    if (!bad)
        return FALSE;
    if (bad->rows->len > 0) {
        g_autoptr(GString) why = g_string_new(NULL);

        for (guint i = 0; i < bad->rows->len; i++) {
            if (i > 0)
                g_string_append(why, "; ");
            if (ferry_nova_rows_get_int(bad, i, "has_inventory") == 0)
                g_string_append_printf(why, "%s %s: no inventory",
                                       ferry_nova_rows_get(bad, i, "class"),
                                       ferry_nova_rows_get(bad, i, "used"));
            else
                g_string_append_printf(
                    why, "%s %s: %s of %s used", ferry_nova_rows_get(bad, i, "class"),
                    ferry_nova_rows_get(bad, i, "used"), ferry_nova_rows_get(bad, i, "usage_now"),
                    ferry_nova_rows_get(bad, i, "capacity"));
        }
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_CAPACITY,
                    "destination provider '%s' cannot hold the allocations of instance '%s' "
                    "(%s)",
                    plan->dst_name, instance, why->str);
        return FALSE;
    }
    return TRUE;
}

/* What a dead attempt's migration consumer held on the source: gone, with the consumer. */
static gboolean
delete_stale_consumer(FerryNovaDb *pl, FerryNovaJournal *journal, const char *uuid, GError **error)
{
    gint64 n_allocs;
    gint64 n_consumers;

    if (!ferry_nova_journal_capture(journal, pl, "allocations", "consumer_id = ?",
                                    NP_ARGS(NP_STR(uuid)), error) ||
        !ferry_nova_journal_capture(journal, pl, "consumers", "uuid = ?", NP_ARGS(NP_STR(uuid)),
                                    error))
        return FALSE;
    n_allocs = count_rows(pl, "SELECT COUNT(*) AS n FROM allocations WHERE consumer_id = ?",
                          NP_ARGS(NP_STR(uuid)), error);
    if (n_allocs < 0)
        return FALSE;
    n_consumers = count_rows(pl, "SELECT COUNT(*) AS n FROM consumers WHERE uuid = ?",
                             NP_ARGS(NP_STR(uuid)), error);
    if (n_consumers < 0)
        return FALSE;
    return ferry_nova_db_exec(pl, "delete the allocations of a dead migration attempt",
                              "DELETE FROM allocations WHERE consumer_id = ?",
                              NP_ARGS(NP_STR(uuid)), n_allocs, NULL, error) &&
           ferry_nova_db_exec(pl, "delete the consumer of a dead migration attempt",
                              "DELETE FROM consumers WHERE uuid = ?", NP_ARGS(NP_STR(uuid)),
                              n_consumers, NULL, error);
}

static void
journal_set_int(FerryNovaJournal *journal, const char *key, gint64 value)
{
    g_autofree char *text = g_strdup_printf("%" G_GINT64_FORMAT, value);

    ferry_nova_journal_set_string(journal, key, text);
}

/* What undo needs to move the allocations back (ferry-nova-undo.c): the two providers and
 * the generations this step left, which must be unchanged when undo runs.  The source
 * provider's is as it was: placement bumps only the providers that receive allocations. */
static void
journal_placement_after(FerryNovaJournal *journal, const PlacementPlan *plan,
                        const FerryNovaRows *consumer)
{
    journal_set_int(journal, "pl_src_rp", plan->src_rp);
    journal_set_int(journal, "pl_dst_rp", plan->dst_rp);
    journal_set_int(journal, "pl_src_generation", plan->src_generation);
    journal_set_int(journal, "pl_dst_generation", plan->dst_generation + 1);
    if (consumer->rows->len == 1)
        journal_set_int(journal, "pl_consumer_generation",
                        ferry_nova_rows_get_int(consumer, 0, "generation") + 1);
    else
        ferry_nova_journal_set_string(journal, "pl_consumer_generation", NULL);
}

static gboolean
placement_write(FerryNovaDb *pl, FerryNovaJournal *journal, const char *instance,
                const PlacementPlan *plan, GPtrArray *stale_uuids, GError **error)
{
    g_autoptr(FerryNovaRows) consumer = NULL;

    if (!ferry_nova_journal_capture(journal, pl, "allocations", "consumer_id = ?",
                                    NP_ARGS(NP_STR(instance)), error) ||
        !ferry_nova_journal_capture(journal, pl, "consumers", "uuid = ?", NP_ARGS(NP_STR(instance)),
                                    error) ||
        !ferry_nova_journal_capture(journal, pl, "resource_providers", "id = ?",
                                    NP_ARGS(NP_INT(plan->dst_rp)), error))
        return FALSE;
    for (guint i = 0; i < stale_uuids->len; i++) {
        if (!delete_stale_consumer(pl, journal, g_ptr_array_index(stale_uuids, i), error))
            return FALSE;
    }
    if (plan->n_src == 0)
        return TRUE;
    consumer = ferry_nova_db_query(pl, "SELECT generation FROM consumers WHERE uuid = ?",
                                   NP_ARGS(NP_STR(instance)), error);
    if (!consumer)
        return FALSE;

    if (plan->n_dst == 0) {
        if (!ferry_nova_db_exec(
                pl, "move the instance's allocations to the destination",
                "UPDATE allocations SET resource_provider_id = ?, "
                "updated_at = UTC_TIMESTAMP() "
                "WHERE consumer_id = ? AND resource_provider_id = ?",
                NP_ARGS(NP_INT(plan->dst_rp), NP_STR(instance), NP_INT(plan->src_rp)), plan->n_src,
                NULL, error))
            return FALSE;
    } else {
        /* A dead Nova attempt already claimed the destination for the instance. */
        if (!ferry_nova_db_exec(pl, "drop the instance's allocations on the source",
                                "DELETE FROM allocations "
                                "WHERE consumer_id = ? AND resource_provider_id = ?",
                                NP_ARGS(NP_STR(instance), NP_INT(plan->src_rp)), plan->n_src, NULL,
                                error))
            return FALSE;
    }
    /* Placement bumps the providers that receive allocations, and the consumer. */
    if (!ferry_nova_db_exec(pl, "bump the destination provider's generation",
                            "UPDATE resource_providers SET generation = generation + 1, "
                            "updated_at = UTC_TIMESTAMP() WHERE id = ? AND generation = ?",
                            NP_ARGS(NP_INT(plan->dst_rp), NP_INT(plan->dst_generation)), 1, NULL,
                            error))
        return FALSE;
    if (consumer->rows->len == 1 &&
        !ferry_nova_db_exec(
            pl, "bump the instance consumer's generation",
            "UPDATE consumers SET generation = generation + 1, "
            "updated_at = UTC_TIMESTAMP() WHERE uuid = ? AND generation = ?",
            NP_ARGS(NP_STR(instance), NP_INT(ferry_nova_rows_get_int(consumer, 0, "generation"))),
            1, NULL, error))
        return FALSE;
    journal_placement_after(journal, plan, consumer);
    return TRUE;
}

/* ------------------------------------------------------------------ the cell database */

typedef struct {
    gint64 id;
    char *host;
    char *node;
    char *vm_state;
    char *task_state;
    gint64 instance_type_id;
    char *user_id;
    char *project_id;
} Instance;

static void
instance_clear(Instance *inst)
{
    g_clear_pointer(&inst->host, g_free);
    g_clear_pointer(&inst->node, g_free);
    g_clear_pointer(&inst->vm_state, g_free);
    g_clear_pointer(&inst->task_state, g_free);
    g_clear_pointer(&inst->user_id, g_free);
    g_clear_pointer(&inst->project_id, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Instance, instance_clear)

static gboolean
lock_instance(FerryNovaDb *nova, const char *uuid, Instance *out, GError **error)
{
    g_autoptr(FerryNovaRows) rows = NULL;

    rows = ferry_nova_db_query(nova,
                               "SELECT id, host, node, vm_state, task_state, instance_type_id, "
                               "user_id, project_id FROM instances "
                               "WHERE uuid = ? AND deleted = 0 FOR UPDATE",
                               NP_ARGS(NP_STR(uuid)), error);
    if (!rows)
        return FALSE;
    if (rows->rows->len != 1) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_NOT_FOUND,
                    "Nova has no instance '%s'", uuid);
        return FALSE;
    }
    out->id = ferry_nova_rows_get_int(rows, 0, "id");
    out->host = g_strdup(ferry_nova_rows_get(rows, 0, "host"));
    out->node = g_strdup(ferry_nova_rows_get(rows, 0, "node"));
    out->vm_state = g_strdup(ferry_nova_rows_get(rows, 0, "vm_state"));
    out->task_state = g_strdup(ferry_nova_rows_get(rows, 0, "task_state"));
    out->instance_type_id = ferry_nova_rows_get_int(rows, 0, "instance_type_id");
    out->user_id = g_strdup(ferry_nova_rows_get(rows, 0, "user_id"));
    out->project_id = g_strdup(ferry_nova_rows_get(rows, 0, "project_id"));
    return TRUE;
}

/* The migration row @uuid of @instance, locked: zero or one row of id, status,
 * source_compute, source_node. */
static FerryNovaRows *
lock_migration(FerryNovaDb *nova, const char *uuid, const char *instance, GError **error)
{
    return ferry_nova_db_query(nova,
                               "SELECT id, status, source_compute, source_node FROM migrations "
                               "WHERE uuid = ? AND instance_uuid = ? AND deleted = 0 FOR UPDATE",
                               NP_ARGS(NP_STR(uuid), NP_STR(instance)), error);
}

/* The guard repeats every value read under the lock: if any changed, 0 rows. */
static gboolean
move_instance(FerryNovaDb *nova, const Instance *inst, const char *instance, const ComputeNode *src,
              const ComputeNode *dst, int power_state, const char *az, GError **error)
{
    const FerryNovaSet set[] = {
        {.column = "host", .value = NP_STR(dst->host)},
        {.column = "node", .value = NP_STR(dst->node)},
        {.column = "compute_id",
         .value = NP_INT(dst->id),
         .only_if = FERRY_NOVA_COLUMN_INSTANCES_COMPUTE_ID},
        {.column = "power_state", .value = NP_INT(power_state)},
        {.column = "task_state", .sql = "NULL"},
        {.column = "progress", .sql = "0"},
        {.column = "availability_zone", .value = NP_STR(az)},
        {.column = "updated_at", .sql = "UTC_TIMESTAMP()"},
    };

    return ferry_nova_db_update(nova, "move the instance to the destination", "instances", set,
                                G_N_ELEMENTS(set),
                                "id = ? AND uuid = ? AND deleted = 0 AND host = ? AND node = ? "
                                "AND task_state <=> ?",
                                NP_ARGS(NP_INT(inst->id), NP_STR(instance), NP_STR(src->host),
                                        NP_STR(src->node), NP_STR(inst->task_state)),
                                1, error);
}

static gboolean
insert_migration(FerryNovaDb *nova, FerryNovaJournal *journal, const char *uuid, const char *status,
                 const char *type, const char *instance, const Instance *inst, const char *src_host,
                 const char *src_node, const ComputeNode *dst, GError **error)
{
    const FerryNovaSet set[] = {
        {.column = "created_at", .sql = "UTC_TIMESTAMP()"},
        {.column = "updated_at", .sql = "UTC_TIMESTAMP()"},
        {.column = "source_compute", .value = NP_STR(src_host)},
        {.column = "dest_compute", .value = NP_STR(dst->host)},
        {.column = "dest_host", .value = NP_STR(dst->host_ip)},
        {.column = "status", .value = NP_STR(status)},
        {.column = "instance_uuid", .value = NP_STR(instance)},
        {.column = "old_instance_type_id", .value = NP_INT(inst->instance_type_id)},
        {.column = "new_instance_type_id", .value = NP_INT(inst->instance_type_id)},
        {.column = "source_node", .value = NP_STR(src_node)},
        {.column = "dest_node", .value = NP_STR(dst->node)},
        {.column = "deleted", .sql = "0"},
        {.column = "migration_type", .value = NP_STR(type)},
        {.column = "hidden", .sql = "0"},
        {.column = "uuid", .value = NP_STR(uuid)},
        {.column = "cross_cell_move", .sql = "0"},
        {.column = "dest_compute_id",
         .value = NP_INT(dst->id),
         .only_if = FERRY_NOVA_COLUMN_MIGRATIONS_DEST_COMPUTE_ID},
    };
    gint64 id = 0;

    if (!ferry_nova_db_insert(nova, "record the migration", "migrations", set, G_N_ELEMENTS(set),
                              &id, error))
        return FALSE;
    if (!ferry_nova_db_is_dry_run(nova))
        ferry_nova_journal_add_inserted(journal, FERRY_NOVA_ROLE_NOVA, "migrations", id);
    return TRUE;
}

static gboolean
complete_migration(FerryNovaDb *nova, gint64 id, const ComputeNode *dst, GError **error)
{
    const FerryNovaSet set[] = {
        {.column = "status", .sql = "'completed'"},
        {.column = "dest_compute", .value = NP_STR(dst->host)},
        {.column = "dest_node", .value = NP_STR(dst->node)},
        {.column = "dest_host", .value = NP_STR(dst->host_ip)},
        {.column = "dest_compute_id",
         .value = NP_INT(dst->id),
         .only_if = FERRY_NOVA_COLUMN_MIGRATIONS_DEST_COMPUTE_ID},
        {.column = "updated_at", .sql = "UTC_TIMESTAMP()"},
    };

    return ferry_nova_db_update(nova, "complete the migration", "migrations", set,
                                G_N_ELEMENTS(set), "id = ? AND status = 'running'",
                                NP_ARGS(NP_INT(id)), 1, error);
}

/* Nova's rollback of a migration: 'error', if it still has the status seen under the lock. */
static gboolean
fail_migration(FerryNovaDb *nova, const char *what, gint64 id, const char *status, GError **error)
{
    return ferry_nova_db_exec(nova, what,
                              "UPDATE migrations SET status = 'error', "
                              "updated_at = UTC_TIMESTAMP() WHERE id = ? AND status = ?",
                              NP_ARGS(NP_INT(id), NP_STR(status)), 1, NULL, error);
}

/* An evacuation (`ferry rescue`) is recorded as Nova's own: the compute API records the action
 * 'evacuate' (instance_actions.EVACUATE), and the destination's resource tracker
 * (finish_evacuation) leaves the migration 'done' -- the status the source's nova-compute
 * looks for when it comes back (_destroy_evacuated_instances), then sets 'completed'. */
static gboolean
is_evacuation(const char *type)
{
    return g_strcmp0(type, "evacuation") == 0;
}

/* GET /servers/ID/os-instance-actions then lists the move, as after Nova's own. */
static gboolean
insert_action(FerryNovaDb *nova, FerryNovaJournal *journal, const char *instance,
              const Instance *inst, const char *request_id, const char *migration_type,
              gboolean finished, GError **error)
{
    const char *action = is_evacuation(migration_type) ? "evacuate" : "live-migration";
    gint64 id = 0;

    if (!ferry_nova_db_exec(nova, "record the instance action",
                            "INSERT INTO instance_actions (created_at, updated_at, action, "
                            "instance_uuid, request_id, user_id, project_id, start_time, "
                            "finish_time, deleted) VALUES (UTC_TIMESTAMP(), UTC_TIMESTAMP(), "
                            "?, ?, ?, ?, ?, UTC_TIMESTAMP(), "
                            "IF(?, UTC_TIMESTAMP(), NULL), 0)",
                            NP_ARGS(NP_STR(action), NP_STR(instance), NP_STR(request_id),
                                    NP_STR(inst->user_id), NP_STR(inst->project_id),
                                    NP_INT(finished)),
                            1, &id, error))
        return FALSE;
    if (!ferry_nova_db_is_dry_run(nova))
        ferry_nova_journal_add_inserted(journal, FERRY_NOVA_ROLE_NOVA, "instance_actions", id);
    return TRUE;
}

/* The action begin recorded ends; @message (NULL: as it is) says how, as Nova's does. */
static gboolean
finish_action(FerryNovaDb *nova, const char *instance, const char *request_id, const char *message,
              GError **error)
{
    return ferry_nova_db_exec(nova, "finish the instance action",
                              "UPDATE instance_actions SET finish_time = UTC_TIMESTAMP(), "
                              "updated_at = UTC_TIMESTAMP(), message = COALESCE(?, message) "
                              "WHERE instance_uuid = ? AND request_id = ?",
                              NP_ARGS(NP_STR(message), NP_STR(instance), NP_STR(request_id)), 1,
                              NULL, error);
}

/* Commits the cell database and then placement, with the before-image on disk first and
 * each commit recorded in it.  Any failure from the cell database's COMMIT on is PARTIAL:
 * the caller queues the step, whose replay finds the cell part done (the migration row is
 * 'completed') and finishes placement; the message says what was written. */
static gboolean
commit_all(FerryNovaConfig *config, FerryNovaJournal *journal, FerryNovaDb *nova, FerryNovaDb *pl,
           GError **error)
{
    g_autoptr(GError) local = NULL;

    /* A dry run's commit rolls back and says so. */
    if (ferry_nova_db_is_dry_run(nova))
        return ferry_nova_db_commit(nova, error) && (!pl || ferry_nova_db_commit(pl, error));
    if (!ferry_nova_journal_save(journal, config->journal_dir, "prepared", error))
        return FALSE;
    if (!ferry_nova_db_commit(nova, &local)) {
        if (!pl) {
            g_propagate_error(error, g_steal_pointer(&local));
            return FALSE;
        }
        /* A COMMIT without an answer may have applied: only a replay can tell. */
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_PARTIAL,
                    "the COMMIT of the cell database '%s' failed, so it may or may not have "
                    "been written; placement '%s' was not written: %s",
                    config->db_nova, config->db_placement, local->message);
        return FALSE;
    }
    if (pl) {
        if (!ferry_nova_journal_save(journal, config->journal_dir, "cell-committed", &local)) {
            g_warning("%s", local->message);
            g_clear_error(&local);
        }
        if (!ferry_nova_db_commit(pl, &local)) {
            g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_PARTIAL,
                        "the cell database '%s' was written (instance '%s' on host '%s', "
                        "migration '%s' completed) but placement '%s' was not (the "
                        "allocations are still on host '%s'): %s",
                        config->db_nova, ferry_nova_journal_get_string(journal, "instance"),
                        ferry_nova_journal_get_string(journal, "after_host"),
                        ferry_nova_journal_get_string(journal, "migration_uuid"),
                        config->db_placement, ferry_nova_journal_get_string(journal, "src_host"),
                        local->message);
            return FALSE;
        }
    }
    /* The databases are right; an entry left "cell-committed" is undone as what it is. */
    if (!ferry_nova_journal_save(journal, config->journal_dir, "committed", &local))
        g_warning("%s", local->message);
    return TRUE;
}

static void
rollback_all(FerryNovaDb *nova, FerryNovaDb *pl)
{
    ferry_nova_db_rollback(nova);
    ferry_nova_db_rollback(pl);
}

/* ------------------------------------------------------------------ begin */

static FerryNovaResult *
apply_begin(FerryNovaConfig *config, const FerryNovaRequest *req, gboolean dry_run, GError **error)
{
    g_autoptr(FerryNovaResult) result = result_new(req, dry_run);
    g_autoptr(FerryNovaDb) nova = NULL;
    g_autoptr(FerryNovaDb) pl = NULL;
    g_autoptr(FerryNovaJournal) journal = NULL;
    g_auto(Instance) inst = {0};
    g_auto(ComputeNode) src = {0};
    g_auto(ComputeNode) dst = {0};
    g_auto(PlacementPlan) plan = {0};
    g_autofree char *request_id = request_id_for(req->migration_uuid);

    if (!(nova = open_db(config, FERRY_NOVA_ROLE_NOVA, result, error)) ||
        !(pl = open_db(config, FERRY_NOVA_ROLE_PLACEMENT, result, error)))
        return NULL;
    if (!ferry_nova_db_begin(nova, error) || !ferry_nova_db_begin(pl, error) ||
        !ferry_nova_db_load_schema(nova, error) ||
        !lock_instance(nova, req->instance, &inst, error))
        goto fail;
    if (g_strcmp0(inst.host, req->src_host) != 0) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED,
                    "Nova records instance '%s' on host '%s', not on the source '%s'",
                    req->instance, inst.host ? inst.host : "(none)", req->src_host);
        goto fail;
    }
    if (inst.task_state) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED,
                    "Nova is busy with instance '%s' (task_state '%s'): its lock is taken",
                    req->instance, inst.task_state);
        goto fail;
    }
    if (g_strcmp0(inst.vm_state, "active") != 0 && g_strcmp0(inst.vm_state, "paused") != 0) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED,
                    "instance '%s' is '%s' in Nova: only active or paused instances migrate",
                    req->instance, inst.vm_state ? inst.vm_state : "(none)");
        goto fail;
    }
    if (!check_instance_movable(nova, req->instance, error) ||
        !lookup_compute_node(nova, inst.host, inst.node, &src, error) ||
        !lookup_compute_node(nova, req->dst_host, NULL, &dst, error))
        goto fail;
    /* Refuse before the guest moves, not after. */
    if (!placement_prepare(pl, req->instance, &src, &dst, &plan, error))
        goto fail;
    ferry_nova_db_rollback(pl);

    journal = ferry_nova_journal_new(ferry_nova_op_name(req->op), req->instance);
    ferry_nova_journal_set_string(journal, "after_host", req->src_host);
    ferry_nova_journal_set_string(journal, "after_task_state", "migrating");
    ferry_nova_journal_set_string(journal, "migration_uuid", req->migration_uuid);
    if (!ferry_nova_journal_capture(journal, nova, "instances", "id = ?", NP_ARGS(NP_INT(inst.id)),
                                    error) ||
        !ferry_nova_db_exec(nova, "take Nova's lock on the instance",
                            "UPDATE instances SET task_state = 'migrating', "
                            "updated_at = UTC_TIMESTAMP() WHERE id = ? AND uuid = ? "
                            "AND deleted = 0 AND host = ? AND task_state IS NULL "
                            "AND vm_state IN ('active', 'paused')",
                            NP_ARGS(NP_INT(inst.id), NP_STR(req->instance), NP_STR(req->src_host)),
                            1, NULL, error) ||
        !insert_migration(nova, journal, req->migration_uuid, "running", req->migration_type,
                          req->instance, &inst, req->src_host, src.node, &dst, error) ||
        !insert_action(nova, journal, req->instance, &inst, request_id, req->migration_type, FALSE,
                       error) ||
        !commit_all(config, journal, nova, NULL, error))
        goto fail;
    if (!dry_run)
        result->journal_id = g_strdup(ferry_nova_journal_get_id(journal));
    return g_steal_pointer(&result);

fail:
    rollback_all(nova, pl);
    return NULL;
}

/* ------------------------------------------------------------------ finish */

static FerryNovaResult *
apply_finish(FerryNovaConfig *config, const FerryNovaRequest *req, gboolean dry_run, GError **error)
{
    g_autoptr(FerryNovaResult) result = result_new(req, dry_run);
    g_autoptr(FerryNovaDb) nova = NULL;
    g_autoptr(FerryNovaDb) api = NULL;
    g_autoptr(FerryNovaDb) pl = NULL;
    g_autoptr(FerryNovaJournal) journal = NULL;
    g_autoptr(FerryNovaRows) mig = NULL;
    g_autoptr(FerryNovaRows) stale = NULL;
    g_autoptr(GPtrArray) stale_uuids = g_ptr_array_new_with_free_func(g_free);
    g_auto(Instance) inst = {0};
    g_auto(ComputeNode) src = {0};
    g_auto(ComputeNode) dst = {0};
    g_auto(PlacementPlan) plan = {0};
    g_autofree char *az = NULL;
    g_autofree char *request_id = request_id_for(req->migration_uuid);
    gboolean begun = req->op == FERRY_NOVA_OP_FINISH;
    gboolean cell_done = FALSE;
    const char *src_host;
    const char *src_node;

    if (!(nova = open_db(config, FERRY_NOVA_ROLE_NOVA, result, error)) ||
        !(api = open_db(config, FERRY_NOVA_ROLE_API, result, error)) ||
        !(pl = open_db(config, FERRY_NOVA_ROLE_PLACEMENT, result, error)))
        return NULL;
    if (!ferry_nova_db_begin(nova, error) || !ferry_nova_db_begin(pl, error) ||
        !ferry_nova_db_load_schema(nova, error) ||
        !lock_instance(nova, req->instance, &inst, error) ||
        !(mig = lock_migration(nova, req->migration_uuid, req->instance, error)))
        goto fail;

    if (mig->rows->len == 1 &&
        (g_strcmp0(ferry_nova_rows_get(mig, 0, "status"), "completed") == 0 ||
         (is_evacuation(req->migration_type) &&
          g_strcmp0(ferry_nova_rows_get(mig, 0, "status"), "done") == 0))) {
        /* This very sync ran before (a replay, a retry): the cell part is done. */
        if (g_strcmp0(inst.host, req->dst_host) != 0) {
            g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED,
                        "migration '%s' is completed but Nova records instance '%s' on '%s', "
                        "not on '%s': it moved again since",
                        req->migration_uuid, req->instance, inst.host, req->dst_host);
            goto fail;
        }
        cell_done = TRUE;
        src_host = ferry_nova_rows_get(mig, 0, "source_compute");
        src_node = ferry_nova_rows_get(mig, 0, "source_node");
    } else {
        if (begun && (mig->rows->len != 1 ||
                      g_strcmp0(ferry_nova_rows_get(mig, 0, "status"), "running") != 0)) {
            g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED,
                        "migration '%s' of instance '%s' is not running (%s): was it aborted?",
                        req->migration_uuid, req->instance,
                        mig->rows->len ? ferry_nova_rows_get(mig, 0, "status") : "missing");
            goto fail;
        }
        if (!begun && mig->rows->len > 0) {
            g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED,
                        "a migration '%s' already exists", req->migration_uuid);
            goto fail;
        }
        src_host = req->src_host ? req->src_host : inst.host;
        src_node = inst.node;
        if (g_strcmp0(inst.host, src_host) != 0) {
            g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED,
                        "Nova records instance '%s' on host '%s', not on the source '%s'%s",
                        req->instance, inst.host ? inst.host : "(none)", src_host,
                        g_strcmp0(inst.host, req->dst_host) == 0
                            ? " (it is already on the destination)"
                            : "");
            goto fail;
        }
        if (g_strcmp0(src_host, req->dst_host) == 0) {
            g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED,
                        "instance '%s' is already on '%s' in Nova", req->instance, src_host);
            goto fail;
        }
        if (begun ? g_strcmp0(inst.task_state, "migrating") != 0
                  : (inst.task_state && g_strcmp0(inst.task_state, "migrating") != 0)) {
            g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED,
                        "Nova is busy with instance '%s' (task_state '%s')", req->instance,
                        inst.task_state ? inst.task_state : "none");
            goto fail;
        }
        if (!check_instance_movable(nova, req->instance, error))
            goto fail;
    }
    if (!lookup_compute_node(nova, src_host, src_node, &src, error) ||
        !lookup_compute_node(nova, req->dst_host, NULL, &dst, error) ||
        !(az = lookup_availability_zone(config, api, dst.host, error)) ||
        !placement_prepare(pl, req->instance, &src, &dst, &plan, error))
        goto fail;
    if (cell_done && plan.n_src == 0) {
        rollback_all(nova, pl);
        result->already_done = TRUE;
        return g_steal_pointer(&result);
    }

    journal = ferry_nova_journal_new(ferry_nova_op_name(req->op), req->instance);
    ferry_nova_journal_set_string(journal, "after_host", dst.host);
    ferry_nova_journal_set_string(journal, "after_task_state", NULL);
    ferry_nova_journal_set_string(journal, "migration_uuid", req->migration_uuid);
    ferry_nova_journal_set_string(journal, "src_host", src.host);
    ferry_nova_journal_set_string(journal, "dst_host", dst.host);

    if (!cell_done) {
        /* Attempts of Nova's own that died half-way: closed as its rollback would. */
        stale =
            ferry_nova_db_query(nova,
                                "SELECT id, uuid, status FROM migrations "
                                "WHERE instance_uuid = ? AND deleted = 0 AND uuid <> ? "
                                "AND status IN " IN_FLIGHT_STATUSES " FOR UPDATE",
                                NP_ARGS(NP_STR(req->instance), NP_STR(req->migration_uuid)), error);
        if (!stale ||
            !ferry_nova_journal_capture(journal, nova, "instances", "id = ?",
                                        NP_ARGS(NP_INT(inst.id)), error) ||
            !ferry_nova_journal_capture(journal, nova, "instance_extra",
                                        "instance_uuid = ? AND deleted = 0",
                                        NP_ARGS(NP_STR(req->instance)), error) ||
            !ferry_nova_journal_capture(journal, nova, "migrations",
                                        "instance_uuid = ? AND deleted = 0 AND (uuid = ? OR "
                                        "status IN " IN_FLIGHT_STATUSES ")",
                                        NP_ARGS(NP_STR(req->instance), NP_STR(req->migration_uuid)),
                                        error) ||
            !ferry_nova_journal_capture(journal, nova, "instance_actions",
                                        "instance_uuid = ? AND request_id = ?",
                                        NP_ARGS(NP_STR(req->instance), NP_STR(request_id)), error))
            goto fail;
        for (guint i = 0; i < stale->rows->len; i++)
            g_ptr_array_add(stale_uuids, g_strdup(ferry_nova_rows_get(stale, i, "uuid")));

        if (!move_instance(nova, &inst, req->instance, &src, &dst, req->power_state, az, error))
            goto fail;
        for (guint i = 0; i < stale->rows->len; i++) {
            if (!fail_migration(nova, "close a dead migration attempt",
                                ferry_nova_rows_get_int(stale, i, "id"),
                                ferry_nova_rows_get(stale, i, "status"), error))
                goto fail;
        }
        if (!ferry_nova_db_exec(nova, "drop the migration context",
                                "UPDATE instance_extra SET migration_context = NULL, "
                                "updated_at = UTC_TIMESTAMP() "
                                "WHERE instance_uuid = ? AND deleted = 0",
                                NP_ARGS(NP_STR(req->instance)), 1, NULL, error))
            goto fail;
        if (begun) {
            if (!complete_migration(nova, ferry_nova_rows_get_int(mig, 0, "id"), &dst, error) ||
                !finish_action(nova, req->instance, request_id, NULL, error))
                goto fail;
        } else if (!insert_migration(nova, journal, req->migration_uuid,
                                     is_evacuation(req->migration_type) ? "done" : "completed",
                                     req->migration_type, req->instance, &inst, src.host, src.node,
                                     &dst, error) ||
                   !insert_action(nova, journal, req->instance, &inst, request_id,
                                  req->migration_type, TRUE, error)) {
            goto fail;
        }
    }
    if (!placement_write(pl, journal, req->instance, &plan, stale_uuids, error) ||
        !commit_all(config, journal, nova, pl, error))
        goto fail;
    if (!dry_run)
        result->journal_id = g_strdup(ferry_nova_journal_get_id(journal));
    return g_steal_pointer(&result);

fail:
    rollback_all(nova, pl);
    return NULL;
}

/* ------------------------------------------------------------------ abort */

static FerryNovaResult *
apply_abort(FerryNovaConfig *config, const FerryNovaRequest *req, gboolean dry_run, GError **error)
{
    g_autoptr(FerryNovaResult) result = result_new(req, dry_run);
    g_autoptr(FerryNovaDb) nova = NULL;
    g_autoptr(FerryNovaJournal) journal = NULL;
    g_autoptr(FerryNovaRows) mig = NULL;
    g_autofree char *request_id = request_id_for(req->migration_uuid);
    g_auto(Instance) inst = {0};
    gint64 mig_id;

    if (!(nova = open_db(config, FERRY_NOVA_ROLE_NOVA, result, error)))
        return NULL;
    if (!ferry_nova_db_begin(nova, error) || !lock_instance(nova, req->instance, &inst, error) ||
        !(mig = lock_migration(nova, req->migration_uuid, req->instance, error)))
        goto fail;
    if (mig->rows->len != 1) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_NOT_FOUND,
                    "no migration '%s' of instance '%s'", req->migration_uuid, req->instance);
        goto fail;
    }
    if (g_strcmp0(ferry_nova_rows_get(mig, 0, "status"), "error") == 0 && !inst.task_state) {
        ferry_nova_db_rollback(nova);
        result->already_done = TRUE;
        return g_steal_pointer(&result);
    }
    mig_id = ferry_nova_rows_get_int(mig, 0, "id");
    journal = ferry_nova_journal_new(ferry_nova_op_name(req->op), req->instance);
    ferry_nova_journal_set_string(journal, "after_host", inst.host);
    ferry_nova_journal_set_string(journal, "after_task_state", NULL);
    ferry_nova_journal_set_string(journal, "migration_uuid", req->migration_uuid);
    if (!ferry_nova_journal_capture(journal, nova, "instances", "id = ?", NP_ARGS(NP_INT(inst.id)),
                                    error) ||
        !ferry_nova_journal_capture(journal, nova, "migrations", "id = ?", NP_ARGS(NP_INT(mig_id)),
                                    error) ||
        !ferry_nova_journal_capture(journal, nova, "instance_actions",
                                    "instance_uuid = ? AND request_id = ?",
                                    NP_ARGS(NP_STR(req->instance), NP_STR(request_id)), error) ||
        !ferry_nova_db_exec(nova, "release Nova's lock on the instance",
                            "UPDATE instances SET task_state = NULL, progress = 0, "
                            "updated_at = UTC_TIMESTAMP() WHERE id = ? AND deleted = 0 "
                            "AND host = ? AND task_state = 'migrating'",
                            NP_ARGS(NP_INT(inst.id), NP_STR(req->src_host)), 1, NULL, error) ||
        !fail_migration(nova, "mark the migration failed", mig_id, "running", error) ||
        !finish_action(nova, req->instance, request_id, "Error", error) ||
        !commit_all(config, journal, nova, NULL, error))
        goto fail;
    if (!dry_run)
        result->journal_id = g_strdup(ferry_nova_journal_get_id(journal));
    return g_steal_pointer(&result);

fail:
    ferry_nova_db_rollback(nova);
    return NULL;
}

FerryNovaResult *
ferry_nova_apply(FerryNovaConfig *config, const FerryNovaRequest *request, gboolean dry_run,
                 GError **error)
{
    switch (request->op) {
    case FERRY_NOVA_OP_BEGIN:
        return apply_begin(config, request, dry_run, error);
    case FERRY_NOVA_OP_FINISH:
    case FERRY_NOVA_OP_ONESHOT:
        return apply_finish(config, request, dry_run, error);
    case FERRY_NOVA_OP_ABORT:
        return apply_abort(config, request, dry_run, error);
    case FERRY_NOVA_OP_LAST:
        break;
    }
    g_return_val_if_reached(NULL);
}
