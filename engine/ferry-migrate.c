/*
 * ferry-migrate.c: one migration, phase by phase -- the orchestrator.
 *
 *   precheck  ferry-precheck.c      find the guest, plan its disks, choose the mode, check the
 *                                   destination; Nova's lock (ferry-migrate-nova.c)
 *   prepare   ferry-dst-disks.c     create (block) or copy (cold) the destination's disks
 *   migrate   ferry-migrate-run.c   libvirt's job, watched by ferry-monitor.c, whose timeout
 *                                   and stall actions ferry-policy.c decides; or, cold, the
 *                                   definition moved
 *   verify    ferry-verify.c        where the guest is now, asked of both hosts; Nova synced
 *   cleanup   ferry-src-cleanup.c   the source's stale disk copies
 *
 * Rollback, until the guest has moved: Nova's lock released, and what ferry created on the
 * destination removed (the FerryDstDisks guard, nothing else).  Once it has moved nothing is
 * undone; a failed verify keeps Nova's lock for someone to look.  Cleanup failures are logged:
 * the error returned is always the first one.
 */
#include "engine/ferry-migrate.h"

#include <libvirt/libvirt.h>

#include "engine/ferry-dst-disks.h"
#include "engine/ferry-migration-private.h"

/* clang-format off */
G_DEFINE_QUARK(ferry-migrate-error-quark, ferry_migrate_error)
/* clang-format on */

static const char *const phase_names[] = {
    [FERRY_PHASE_PRECHECK] = "precheck", [FERRY_PHASE_PREPARE] = "prepare",
    [FERRY_PHASE_MIGRATE] = "migrate",   [FERRY_PHASE_VERIFY] = "verify",
    [FERRY_PHASE_CLEANUP] = "cleanup",   [FERRY_PHASE_DONE] = "done",
};
G_STATIC_ASSERT(G_N_ELEMENTS(phase_names) == FERRY_PHASE_LAST);

const char *
ferry_phase_to_string(FerryPhase phase)
{
    return phase < FERRY_PHASE_LAST ? phase_names[phase] : "unknown";
}

static const char *const mode_names[] = {
    [FERRY_MIGRATE_MODE_AUTO] = "auto",
    [FERRY_MIGRATE_MODE_SHARED] = "shared",
    [FERRY_MIGRATE_MODE_BLOCK] = "block",
    [FERRY_MIGRATE_MODE_BLOCK_FULL] = "block-full",
    [FERRY_MIGRATE_MODE_COLD] = "cold",
};
G_STATIC_ASSERT(G_N_ELEMENTS(mode_names) == FERRY_MIGRATE_MODE_LAST);

const char *
ferry_migrate_mode_to_string(FerryMigrateMode mode)
{
    return mode < FERRY_MIGRATE_MODE_LAST ? mode_names[mode] : "unknown";
}

gboolean
ferry_migrate_mode_from_string(const char *name, FerryMigrateMode *mode, GError **error)
{
    for (guint i = 0; name && i < FERRY_MIGRATE_MODE_LAST; i++) {
        if (g_str_equal(name, mode_names[i])) {
            *mode = i;
            return TRUE;
        }
    }
    g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID,
                "unknown mode '%s': use auto, shared, block, block-full or cold", name ? name : "");
    return FALSE;
}

void
ferry_migrate_action_record_free(gpointer record)
{
    FerryMigrateActionRecord *r = record;

    g_free(r->reason);
    g_free(r->error);
    g_free(r);
}

void
ferry_migrate_result_free(FerryMigrateResult *result)
{
    if (!result)
        return;
    g_free(result->domain);
    g_free(result->uuid);
    g_free(result->src_host);
    g_free(result->dst_host);
    g_clear_pointer(&result->disk_plan, g_ptr_array_unref);
    g_clear_pointer(&result->xml, ferry_domain_xml_free);
    g_free(result->dest_xml);
    g_free(result->dst_state);
    g_free(result->final_reason);
    g_clear_pointer(&result->actions, g_ptr_array_unref);
    g_free(result->nova_status);
    g_free(result);
}

void
ferry_migration_emit(FerryMigration *m, FerryEventKind kind, const char *message,
                     const FerryJobSample *sample, const FerryMonitorAction *action)
{
    FerryMigrateEvent ev = {
        .kind = kind,
        .phase = m->phase,
        .message = message,
        .sample = sample,
        .action = action,
    };

    if (m->options->event_func)
        m->options->event_func(&ev, m->options->event_data);
}

void
ferry_migration_info(FerryMigration *m, const char *format, ...)
{
    g_autofree char *message = NULL;
    va_list args;

    va_start(args, format);
    message = g_strdup_vprintf(format, args);
    va_end(args);
    g_debug("%s", message);
    ferry_migration_emit(m, FERRY_EVENT_INFO, message, NULL, NULL);
}

/* The one place the phase changes; it never goes backwards. */
void
ferry_migration_set_phase(FerryMigration *m, FerryPhase phase)
{
    g_return_if_fail(phase >= m->phase);
    m->phase = phase;
    ferry_migration_emit(m, FERRY_EVENT_PHASE, ferry_phase_to_string(phase), NULL, NULL);
}

static FerrySshSession *
open_ssh(FerryMigration *m, const FerryHost *host, GError **error)
{
    FerrySshConfig config;

    ferry_inventory_ssh_config(m->inventory, host, &config);
    return ferry_ssh_session_open(&config, error);
}

gboolean
ferry_migration_open_ssh(FerryMigration *m, GError **error)
{
    if (!m->src_ssh && !(m->src_ssh = open_ssh(m, m->src, error)))
        return FALSE;
    if (!m->dst_ssh && !(m->dst_ssh = open_ssh(m, m->dst, error)))
        return FALSE;
    return TRUE;
}

static void
migration_clear(FerryMigration *m)
{
    /* the guard first: it removes what it still owns over the destination's session */
    g_clear_pointer(&m->dst_disks, ferry_dst_disks_free);
    g_clear_pointer(&m->nova_sync, ferry_nova_sync_free);
    g_clear_pointer(&m->nova, ferry_nova_config_free);
    g_clear_pointer(&m->images, g_hash_table_unref);
    g_clear_pointer(&m->streamed, g_ptr_array_unref);
    g_clear_pointer(&m->plan, g_ptr_array_unref);
    g_clear_pointer(&m->xml, ferry_domain_xml_free);
    g_clear_pointer(&m->src_ssh, ferry_ssh_session_free);
    g_clear_pointer(&m->dst_ssh, ferry_ssh_session_free);
    g_clear_pointer(&m->sdom, virDomainFree);
    g_clear_pointer(&m->sconn, virConnectClose);
    g_clear_pointer(&m->dconn, virConnectClose);
    g_clear_pointer(&m->dest_xml, g_free);
    g_clear_pointer(&m->domain_name, g_free);
    g_clear_pointer(&m->actions, g_ptr_array_unref);
    g_mutex_clear(&m->stats_lock);
}

/* Block migration: libvirt needs the images to exist.  Cold: ferry copies the disks itself. */
static gboolean
migration_prepare(FerryMigration *m, FerryMigrateResult *result, GError **error)
{
    switch (m->mode) {
    case FERRY_MIGRATE_MODE_BLOCK:
    case FERRY_MIGRATE_MODE_BLOCK_FULL:
        return ferry_migration_dst_create_disks(m, m->mode == FERRY_MIGRATE_MODE_BLOCK_FULL, error);
    case FERRY_MIGRATE_MODE_COLD:
        return !m->streamed->len || ferry_migration_dst_copy_disks(m, &result->disk_bytes, error);
    default:
        return TRUE;
    }
}

static gboolean
migration_perform(FerryMigration *m, FerryMigrateResult *result, GError **error)
{
    if (m->mode == FERRY_MIGRATE_MODE_COLD)
        return ferry_migration_perform_cold(m, result, error);
    return ferry_migration_src_perform_live(m, result, error);
}

static void
result_describe(FerryMigrateResult *result, const FerryMigration *m)
{
    result->domain = g_strdup(m->domain_name);
    result->uuid = m->uuid[0] ? g_strdup(m->uuid) : NULL;
    result->src_host = g_strdup(m->src->name);
    result->dst_host = g_strdup(m->dst->name);
    result->mode = m->mode;
    result->p2p = !m->options->managed;
}

FerryMigrateResult *
ferry_migrate(FerryInventory *inventory, const FerryMigrateOptions *options, GError **error)
{
    g_autoptr(FerryMigrateResult) result = g_new0(FerryMigrateResult, 1);
    g_autoptr(GError) local = NULL;
    FerryMigration m = {.inventory = inventory, .options = options};
    gint64 start = g_get_monotonic_time();

    if (!options->domain || !options->dst_host) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID,
                    "a domain and a destination host are required");
        return NULL;
    }
    g_mutex_init(&m.stats_lock);
    ferry_migration_emit(&m, FERRY_EVENT_PHASE, ferry_phase_to_string(FERRY_PHASE_PRECHECK), NULL,
                         NULL);
    if (!ferry_migration_precheck(&m, &local))
        goto not_moved;
    result_describe(result, &m);
    if (!ferry_migration_nova_begin(&m, &local))
        goto not_moved;

    ferry_migration_set_phase(&m, FERRY_PHASE_PREPARE);
    if (!migration_prepare(&m, result, &local))
        goto not_moved;

    ferry_migration_set_phase(&m, FERRY_PHASE_MIGRATE);
    if (!migration_perform(&m, result, &local))
        goto not_moved;
    /* The guest is on the destination now: from here on nothing is undone, its disks there
     * are its own. */
    ferry_dst_disks_keep(m.dst_disks);

    ferry_migration_set_phase(&m, FERRY_PHASE_VERIFY);
    if (!ferry_migration_verify(&m, result, &local)) {
        /* It moved, but not as it must have: Nova keeps its lock until someone looks. */
        if (m.nova_sync)
            g_prefix_error(&local,
                           "Nova's lock on %s is kept (after checking, run 'ferry nova-sync "
                           "%s --to %s'): ",
                           m.uuid, m.uuid, m.dst->name);
        goto failed;
    }
    ferry_migration_nova_finish(&m, result);

    ferry_migration_set_phase(&m, FERRY_PHASE_CLEANUP);
    ferry_migration_src_cleanup_disks(&m);

    ferry_migration_set_phase(&m, FERRY_PHASE_DONE);
    result->dest_xml = g_steal_pointer(&m.dest_xml);
    /* the plan borrows its disks from the parsed XML: both go to the result */
    result->disk_plan = g_steal_pointer(&m.plan);
    result->actions = g_steal_pointer(&m.actions);
    result->xml = g_steal_pointer(&m.xml);
    result->total_s = (g_get_monotonic_time() - start) / (double)G_USEC_PER_SEC;
    migration_clear(&m);
    return g_steal_pointer(&result);

not_moved:
    /* The guest is still on its source: undo what ferry did elsewhere, keep the first error. */
    ferry_migration_nova_abort(&m);
    ferry_dst_disks_remove(m.dst_disks);
failed:
    migration_clear(&m);
    g_propagate_error(error, g_steal_pointer(&local));
    return NULL;
}
