/*
 * ferry-nova-sync.c: a sync as ferry's callers hold it.  A two-phase sync is begun before
 * the guest moves and then ends once, finished or aborted (phases never go back); a
 * one-shot tells Nova about a guest moved earlier.  A finish, abort or one-shot that cannot
 * reach the database is queued durably (ferry-nova-pending.c); a begin never is.
 *
 * The statements themselves are in ferry-nova-apply.c.
 */
#include "engine/nova/ferry-nova-apply.h"
#include "engine/nova/ferry-nova-pending.h"

typedef enum {
    SYNC_PHASE_BEGUN,
    SYNC_PHASE_FINISHED,
    SYNC_PHASE_ABORTED,
    SYNC_PHASE_QUEUED,
    SYNC_PHASE_LAST,
} SyncPhase;

static const char *const sync_phase_names[] = {
    [SYNC_PHASE_BEGUN] = "begun",
    [SYNC_PHASE_FINISHED] = "finished",
    [SYNC_PHASE_ABORTED] = "aborted",
    [SYNC_PHASE_QUEUED] = "queued",
};
G_STATIC_ASSERT(G_N_ELEMENTS(sync_phase_names) == SYNC_PHASE_LAST);

struct _FerryNovaSync {
    FerryNovaConfig *config; /* borrowed: the caller keeps it alive */
    char *instance;
    char *src_host;
    char *dst_host;
    char *migration_type;
    char *migration_uuid;
    char *journal_id;
    SyncPhase phase;
};

void
ferry_nova_sync_free(FerryNovaSync *sync)
{
    if (!sync)
        return;
    g_free(sync->instance);
    g_free(sync->src_host);
    g_free(sync->dst_host);
    g_free(sync->migration_type);
    g_free(sync->migration_uuid);
    g_free(sync->journal_id);
    g_free(sync);
}

const char *
ferry_nova_sync_get_migration_uuid(const FerryNovaSync *sync)
{
    return sync->migration_uuid;
}

const char *
ferry_nova_sync_get_journal_id(const FerryNovaSync *sync)
{
    return sync->journal_id;
}

/* A begun sync ends once, finished or aborted; a queued one is out of our hands. */
static gboolean
sync_set_phase(FerryNovaSync *sync, SyncPhase phase, GError **error)
{
    if (sync->phase != SYNC_PHASE_BEGUN) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED,
                    "Nova sync of instance '%s' is already %s, cannot make it %s", sync->instance,
                    sync_phase_names[sync->phase], sync_phase_names[phase]);
        return FALSE;
    }
    sync->phase = phase;
    return TRUE;
}

static gboolean
check_migration_type(const char *type, GError **error)
{
    /* evacuation: `ferry rescue` (the guest restarted from shared disks, its host dead) */
    if (g_strcmp0(type, "live-migration") == 0 || g_strcmp0(type, "migration") == 0 ||
        g_strcmp0(type, "evacuation") == 0)
        return TRUE;
    g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED,
                "migration type '%s' is not 'live-migration', 'migration' or 'evacuation'",
                type ? type : "(null)");
    return FALSE;
}

/* Applies @request; when the database cannot be reached, or only the cell database could
 * be written, queues it and fails with QUEUED, saying what was written. */
static FerryNovaResult *
apply_or_queue(FerryNovaConfig *config, const FerryNovaRequest *request, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *id = NULL;
    FerryNovaResult *result;
    gboolean partial;

    result = ferry_nova_apply(config, request, FALSE, &local);
    if (result)
        return result;
    partial = g_error_matches(local, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_PARTIAL);
    if (!partial && !g_error_matches(local, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_UNREACHABLE)) {
        g_propagate_error(error, g_steal_pointer(&local));
        return NULL;
    }
    id = ferry_nova_pending_add(config, request, error);
    if (!id) {
        g_prefix_error(error, "%s%s; and it cannot be queued: ", local->message,
                       partial ? "" : "; nothing was written to Nova's databases");
        return NULL;
    }
    g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_QUEUED,
                "%s%s; the Nova %s of instance '%s' is queued as '%s': run "
                "'ferry nova-sync --pending' %s",
                local->message, partial ? "" : "; nothing was written to Nova's databases",
                ferry_nova_op_name(request->op), request->instance, id,
                partial ? "to finish it" : "when the database is back");
    return NULL;
}

FerryNovaSync *
ferry_nova_sync_begin(FerryNovaConfig *config, const char *instance_uuid, const char *src_host,
                      const char *dst_host, const char *migration_type, GError **error)
{
    g_autoptr(FerryNovaSync) sync = NULL;
    g_autoptr(FerryNovaResult) result = NULL;
    FerryNovaRequest req;

    g_return_val_if_fail(config && instance_uuid && src_host && dst_host, NULL);
    if (!check_migration_type(migration_type, error))
        return NULL;
    sync = g_new0(FerryNovaSync, 1);
    sync->config = config;
    sync->instance = g_strdup(instance_uuid);
    sync->src_host = g_strdup(src_host);
    sync->dst_host = g_strdup(dst_host);
    sync->migration_type = g_strdup(migration_type);
    sync->migration_uuid = g_uuid_string_random();
    req = (FerryNovaRequest){
        .op = FERRY_NOVA_OP_BEGIN,
        .instance = sync->instance,
        .src_host = sync->src_host,
        .dst_host = sync->dst_host,
        .migration_type = sync->migration_type,
        .migration_uuid = sync->migration_uuid,
    };
    result = ferry_nova_apply(config, &req, FALSE, error);
    if (!result) {
        g_prefix_error(error, "cannot begin the Nova sync: ");
        return NULL;
    }
    sync->journal_id = g_steal_pointer(&result->journal_id);
    sync->phase = SYNC_PHASE_BEGUN;
    return g_steal_pointer(&sync);
}

/* Ends a begun sync with @op (finish or abort). */
static gboolean
sync_end(FerryNovaSync *sync, FerryNovaOp op, int power_state, GError **error)
{
    FerryNovaRequest req = {
        .op = op,
        .instance = sync->instance,
        .src_host = sync->src_host,
        .dst_host = sync->dst_host,
        .power_state = power_state,
        .migration_type = sync->migration_type,
        .migration_uuid = sync->migration_uuid,
    };
    g_autoptr(FerryNovaResult) result = NULL;
    g_autoptr(GError) local = NULL;

    if (!sync_set_phase(sync, op == FERRY_NOVA_OP_FINISH ? SYNC_PHASE_FINISHED : SYNC_PHASE_ABORTED,
                        error))
        return FALSE;
    result = apply_or_queue(sync->config, &req, &local);
    if (!result) {
        /* Unless it is queued nothing was written: the other end is still possible. */
        if (g_error_matches(local, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_QUEUED))
            sync->phase = SYNC_PHASE_QUEUED;
        else
            sync->phase = SYNC_PHASE_BEGUN;
        g_propagate_prefixed_error(error, g_steal_pointer(&local),
                                   "cannot %s the Nova sync: ", ferry_nova_op_name(op));
        return FALSE;
    }
    g_free(sync->journal_id);
    sync->journal_id = g_steal_pointer(&result->journal_id);
    return TRUE;
}

gboolean
ferry_nova_sync_finish(FerryNovaSync *sync, int power_state, GError **error)
{
    return sync_end(sync, FERRY_NOVA_OP_FINISH, power_state, error);
}

gboolean
ferry_nova_sync_abort(FerryNovaSync *sync, GError **error)
{
    return sync_end(sync, FERRY_NOVA_OP_ABORT, 0, error);
}

FerryNovaResult *
ferry_nova_sync_oneshot(FerryNovaConfig *config, const char *instance_uuid, const char *src_host,
                        const char *dst_host, int power_state, const char *migration_type,
                        FerryNovaSyncFlags flags, GError **error)
{
    g_autofree char *uuid = g_uuid_string_random();
    FerryNovaRequest req = {
        .op = FERRY_NOVA_OP_ONESHOT,
        .instance = instance_uuid,
        .src_host = src_host,
        .dst_host = dst_host,
        .power_state = power_state,
        .migration_type = migration_type ? migration_type : "live-migration",
        .migration_uuid = uuid,
    };

    g_return_val_if_fail(config && instance_uuid && dst_host, NULL);
    if (!check_migration_type(req.migration_type, error))
        return NULL;
    if (flags & FERRY_NOVA_SYNC_DRY_RUN)
        return ferry_nova_apply(config, &req, TRUE, error);
    return apply_or_queue(config, &req, error);
}
