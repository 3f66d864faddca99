/*
 * ferry-migrate-nova.c: the Nova glue of one migration, in two phases as Nova itself does.
 * Before the move, Nova's own lock on the instance and a running migration record; after it,
 * the instance, the record and the allocations moved (ferry_migration_nova_finish), or, when
 * the guest did not move, the lock released (ferry_migration_nova_abort).  Without a [nova]
 * section, or with --no-nova, nothing here does anything.
 */
#include "engine/ferry-migration-private.h"

static const char *
nova_migration_type(const FerryMigration *m)
{
    return m->cold ? "migration" : "live-migration";
}

/* With the database down the guest still moves (that is when ferry is needed most) and the
 * sync is queued after the move. */
gboolean
ferry_migration_nova_begin(FerryMigration *m, GError **error)
{
    g_autofree char *src = NULL;
    g_autofree char *dst = NULL;
    g_autoptr(GError) local = NULL;

    if (m->options->no_nova)
        return TRUE;
    m->nova = ferry_nova_config_load(m->inventory->keyfile, m->inventory->path, &local);
    if (!m->nova) {
        /* no [nova] section: no error, nothing to do */
        if (!local)
            return TRUE;
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    /* Ctrl-C interrupts a database call in progress, as it does a copy or the job. */
    ferry_nova_set_cancellable(m->options->cancellable);
    src = ferry_nova_config_service_host(m->inventory->keyfile, m->src->name);
    dst = ferry_nova_config_service_host(m->inventory->keyfile, m->dst->name);
    m->nova_sync =
        ferry_nova_sync_begin(m->nova, m->uuid, src, dst, nova_migration_type(m), &local);
    if (m->nova_sync) {
        ferry_migration_info(m,
                             "nova: instance %s locked (task_state migrating), migration %s "
                             "recorded",
                             m->uuid, ferry_nova_sync_get_migration_uuid(m->nova_sync));
        return TRUE;
    }
    if (g_error_matches(local, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_UNREACHABLE)) {
        ferry_migration_info(m, "nova: %s: moving without Nova's lock; the sync will be queued",
                             local->message);
        return TRUE;
    }
    g_propagate_prefixed_error(
        error, g_steal_pointer(&local),
        "nova refuses the move of '%s' (nothing was moved): ", m->domain_name);
    return FALSE;
}

/* A sync that cannot run now is queued: the migration has happened and is not undone for it. */
void
ferry_migration_nova_finish(FerryMigration *m, FerryMigrateResult *result)
{
    g_autoptr(GError) error = NULL;
    int power = ferry_nova_power_state_from_libvirt(m->dst_state);
    gboolean ok;

    if (!m->nova)
        return;
    if (m->nova_sync) {
        ok = ferry_nova_sync_finish(m->nova_sync, power, &error);
        if (ok)
            result->nova_status = g_strdup_printf("synced (undo with: ferry nova-sync --undo %s)",
                                                  ferry_nova_sync_get_journal_id(m->nova_sync));
    } else {
        /* begun without Nova's lock (the database was away): one transaction now */
        g_autofree char *src = ferry_nova_config_service_host(m->inventory->keyfile, m->src->name);
        g_autofree char *dst = ferry_nova_config_service_host(m->inventory->keyfile, m->dst->name);
        g_autoptr(FerryNovaResult) r = ferry_nova_sync_oneshot(m->nova, m->uuid, src, dst, power,
                                                               nova_migration_type(m), 0, &error);
        ok = r != NULL;
        if (ok)
            result->nova_status = g_strdup_printf("synced (undo with: ferry nova-sync --undo %s)",
                                                  r->journal_id ? r->journal_id : "-");
    }
    result->nova_queued = !ok && g_error_matches(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_QUEUED);
    if (!ok)
        result->nova_status =
            g_strdup_printf("%s: %s",
                            g_error_matches(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_QUEUED)
                                ? "queued (run: ferry nova-sync --pending)"
                                : "NOT SYNCED",
                            error ? error->message : "no reason given");
    ferry_migration_info(m, "nova: %s", result->nova_status);
}

/* The guest did not move: release Nova's lock (queued if the database is away). */
void
ferry_migration_nova_abort(FerryMigration *m)
{
    g_autoptr(GError) error = NULL;

    if (!m->nova_sync)
        return;
    if (!ferry_nova_sync_abort(m->nova_sync, &error))
        g_warning("nova: releasing the lock on %s: %s", m->uuid, error->message);
    else
        ferry_migration_info(m, "nova: lock on %s released, migration marked failed", m->uuid);
}
