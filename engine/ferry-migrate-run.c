/*
 * ferry-migrate-run.c: the migrate phase.
 *
 * Live: libvirt's migration call (virDomainMigrateToURI3, or virDomainMigrate3 with --no-p2p)
 * runs in the monitor's worker thread while the monitor (ferry-monitor.c) samples the job and
 * applies what the policy (ferry-policy.c) decides: on a timeout, suspend, post-copy or abort.
 * This file keeps the record of those actions, turns a failed job into one error that says
 * where the guest is, and makes sure it still runs on the source.
 *
 * Cold: ferry moves the definition itself, defined on the destination, then undefined on the
 * source.
 */
#include "engine/ferry-migration-private.h"

#include <libvirt/virterror.h>
#include <string.h>

#include "engine/ferry-migrate-params.h"
#include "engine/ferry-virt-util.h"

typedef struct {
    FerryMigration *m;
    FerryMigrateParams *params;
    gboolean p2p;
} FerryMigrateCallData;

/* Runs in the monitor's worker thread. */
static gboolean
src_migrate_call(gpointer data, GError **error)
{
    FerryMigrateCallData *c = data;
    FerryMigration *m = c->m;

    if (c->p2p) {
        if (virDomainMigrateToURI3(m->sdom, m->dst->peer_uri, c->params->params, c->params->nparams,
                                   c->params->flags) < 0) {
            ferry_virt_set_error(error, "migration of '%s' from '%s' to '%s' failed",
                                 m->domain_name, m->src->name, m->dst->name);
            return FALSE;
        }
    } else {
        virDomainPtr ddom = virDomainMigrate3(m->sdom, m->dconn, c->params->params,
                                              c->params->nparams, c->params->flags);
        if (!ddom) {
            ferry_virt_set_error(error, "migration of '%s' from '%s' to '%s' failed",
                                 m->domain_name, m->src->name, m->dst->name);
            return FALSE;
        }
        virDomainFree(ddom);
    }
    return TRUE;
}

static void
on_sample(const FerryJobSample *sample, const FerryPolicyOutlook *outlook, gpointer user_data)
{
    ferry_migration_emit_sample(user_data, sample, outlook);
}

/* Runs in the monitor's thread (the one that called ferry_migrate()): records what the
 * policy did (or could not do) for the summary, and tells it. */
static void
on_action(const FerryMonitorAction *action, gpointer user_data)
{
    FerryMigration *m = user_data;
    FerryMigrateActionRecord *r = g_new0(FerryMigrateActionRecord, 1);
    g_autofree char *message = NULL;
    const char *name = ferry_policy_action_to_string(action->action);

    r->at_s = action->elapsed_s;
    r->action = action->action;
    r->downtime_ms = action->downtime_ms;
    r->reason = g_strdup(action->reason);
    r->error = g_strdup(action->error);
    g_ptr_array_add(m->actions, r);

    if (action->action == FERRY_POLICY_ACTION_NONE)
        message =
            g_strdup_printf("at %.1f s: %s%s%s", action->elapsed_s, action->reason,
                            action->error ? ": failed: " : "", action->error ? action->error : "");
    else if (action->error)
        message = g_strdup_printf("at %.1f s: %s (%s) failed: %s", action->elapsed_s, name,
                                  action->reason, action->error);
    else if (action->action == FERRY_POLICY_ACTION_SET_DOWNTIME)
        message = g_strdup_printf("at %.1f s: max downtime %u ms (%s)", action->elapsed_s,
                                  action->downtime_ms, action->reason);
    else
        message = g_strdup_printf("at %.1f s: %s: %s", action->elapsed_s, name, action->reason);
    g_debug("policy: %s", message);
    ferry_migration_emit(m, FERRY_EVENT_POLICY, message, NULL, action);
}

/* Runs in libvirt's event-loop thread. */
static void
on_job_completed(virConnectPtr conn, virDomainPtr dom, virTypedParameterPtr params, int nparams,
                 void *opaque)
{
    FerryMigration *m = opaque;
    unsigned long long elapsed = 0;

    g_mutex_lock(&m->stats_lock);
    memset(&m->completed, 0, sizeof(m->completed));
    ferry_job_sample_from_params(&m->completed, params, nparams);
    if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_TIME_ELAPSED, &elapsed) == 1)
        m->completed_elapsed_ms = elapsed;
    m->have_completed = TRUE;
    g_mutex_unlock(&m->stats_lock);
}

/* Runs in libvirt's event-loop thread: when the guest started running on the destination
 * (the end of the pause ferry's suspend caused, not the later return of the migrate call). */
static void
on_dst_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    FerryMigration *m = opaque;
    char uuid[VIR_UUID_STRING_BUFLEN] = "";

    if (event != VIR_DOMAIN_EVENT_RESUMED && event != VIR_DOMAIN_EVENT_STARTED)
        return;
    if (virDomainGetUUIDString(dom, uuid) < 0 || g_strcmp0(uuid, m->uuid) != 0) {
        virResetLastError();
        return;
    }
    g_mutex_lock(&m->stats_lock);
    if (event == VIR_DOMAIN_EVENT_RESUMED)
        m->dst_resumed_us = g_get_monotonic_time();
    g_mutex_unlock(&m->stats_lock);
}

/* The source's own statistics of the finished job: they alone have the disk figures. */
static void
src_apply_completed_stats(FerryMigration *m, FerryMigrateResult *result)
{
    for (int i = 0; i < 20; i++) {
        gboolean have;

        g_mutex_lock(&m->stats_lock);
        have = m->have_completed;
        if (have) {
            result->mem_bytes = m->completed.mem_processed;
            result->disk_bytes = m->completed.disk_processed;
            result->iterations = m->completed.mem_iteration;
            /* for a completed job, DOWNTIME is the real downtime, not an estimate */
            result->downtime_ms = m->completed.expected_downtime_ms;
            if (m->completed_elapsed_ms)
                result->migration_s = m->completed_elapsed_ms / 1000.0;
        }
        g_mutex_unlock(&m->stats_lock);
        if (have)
            return;
        g_usleep(50 * 1000);
    }
}

/* After a failed migration, the hosts having said the guest is on the source (and only there):
 * it must run there, never left paused by us.  Never called once post-copy started: then the
 * source must not run again. */
void
ferry_migration_src_ensure_running(FerryMigration *m)
{
    int state = 0, reason = 0;
    int state_before = m->src_state_before;

    if (!m->sdom || virDomainGetState(m->sdom, &state, &reason, 0) < 0) {
        g_warning("cannot read the state of '%s' on '%s' after the failed migration: %s",
                  m->domain_name, m->src->name, virGetLastErrorMessage());
        virResetLastError();
        return;
    }
    if (state == VIR_DOMAIN_PAUSED &&
        (reason == VIR_DOMAIN_PAUSED_POSTCOPY || reason == VIR_DOMAIN_PAUSED_POSTCOPY_FAILED)) {
        g_warning("'%s' is paused on '%s' by post-copy: not resumed", m->domain_name,
                  m->src->name);
        return;
    }
    if (state == VIR_DOMAIN_PAUSED && state_before == VIR_DOMAIN_RUNNING) {
        if (virDomainResume(m->sdom) < 0) {
            g_warning("cannot resume '%s' on '%s': %s", m->domain_name, m->src->name,
                      virGetLastErrorMessage());
            virResetLastError();
        } else if (m->ferry_suspended) {
            ferry_migration_info(
                m, "'%s' runs on %s again (resumed by ferry); ferry had suspended it for %.2f s",
                m->domain_name, m->src->name,
                (g_get_monotonic_time() - m->suspended_since_us) / (double)G_USEC_PER_SEC);
        } else {
            ferry_migration_info(m, "resumed '%s' on %s", m->domain_name, m->src->name);
        }
    } else if (state == VIR_DOMAIN_RUNNING && m->ferry_suspended) {
        /* libvirt resumes a guest that ran when the job started once the job is aborted */
        ferry_migration_info(
            m, "'%s' runs on %s again (resumed by libvirt); ferry had suspended it for %.2f s",
            m->domain_name, m->src->name,
            (g_get_monotonic_time() - m->suspended_since_us) / (double)G_USEC_PER_SEC);
    } else if (state == VIR_DOMAIN_PAUSED) {
        ferry_migration_info(m, "'%s' stays paused on %s, as it was before the migration",
                             m->domain_name, m->src->name);
    }
}

/* One error for a job that failed, saying why and where the guest is: a policy abort is
 * NOT_CONVERGED, an operator's abort CANCELLED, anything else FAILED.  @cause is consumed. */
static void
src_job_failed(FerryMigration *m, const FerryMonitorReport *report, GError *cause, GError **error)
{
    g_autoptr(GError) local = cause;
    const char *stays = "";
    const char *lost = "";
    g_autofree char *stays_text = NULL;
    g_autofree char *lost_text = NULL;

    if (!local)
        local = g_error_new(FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_FAILED,
                            "migration of '%s' from '%s' to '%s' failed without a reason",
                            m->domain_name, m->src->name, m->dst->name);
    if (report->postcopy) {
        /* After the switch the guest's memory is split between the hosts: libvirt keeps it
         * paused on both until its post-copy recovery runs; ferry cannot resume it. */
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_FAILED,
                    "post-copy failed after the switch, '%s' is paused and needs "
                    "'virsh migrate --postcopy-resume': %s",
                    m->domain_name, local->message);
        return;
    }
    if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
        g_error_matches(local, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        g_set_error(error, FERRY_MIGRATE_ERROR,
                    local->code == G_IO_ERROR_TIMED_OUT ? FERRY_MIGRATE_ERROR_NOT_CONVERGED
                                                        : FERRY_MIGRATE_ERROR_CANCELLED,
                    "%s; '%s' stays on '%s'", local->message, m->domain_name, m->src->name);
        return;
    }
    if (virDomainIsActive(m->sdom) == 1)
        stays = stays_text = g_strdup_printf("'%s' stays on '%s': ", m->domain_name, m->src->name);
    else
        virResetLastError();
    /* libvirt says only "client socket is closed" when the destination's libvirtd died:
     * ferry's own connection to it tells. */
    if (m->dconn && virConnectIsAlive(m->dconn) != 1) {
        lost = lost_text = g_strdup_printf(
            " (ferry's own connection to the libvirtd of '%s' is lost too: is it running?)",
            m->dst->name);
        virResetLastError();
    }
    g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_FAILED, "%s%s%s", stays,
                local->message, lost);
}

/* The monitor samples on a connection of its own: on the one the migration call waits on,
 * its calls were answered only every keepalive interval (5 s) in the lab.  NULL: share it. */
static virDomainPtr
src_monitor_domain(FerryMigration *m, virConnectPtr *mconn)
{
    virDomainPtr mdom = NULL;

    *mconn = ferry_virt_connect_full(m->src->uri, m->src->name, m->inventory->connect_timeout,
                                     NULL);
    if (*mconn && m->uuid[0]) {
        mdom = virDomainLookupByUUIDString(*mconn, m->uuid);
        virResetLastError();
    }
    if (!mdom)
        g_debug("no second connection to '%s' for the monitor: sharing the migration's",
                m->src->name);
    return mdom;
}

/* The one description of this migration's libvirt call: the job, and a post-copy resume. */
static gboolean
src_migrate_params(FerryMigration *m, FerryMigrateParams *params, GError **error)
{
    const FerryMigrateOptions *o = m->options;
    g_autoptr(GPtrArray) disks = ferry_disk_plan_stream_targets(m->plan);
    FerryMigrateSpec mspec = {
        .p2p = !o->managed,
        .copy_storage =
            m->mode == FERRY_MIGRATE_MODE_BLOCK || m->mode == FERRY_MIGRATE_MODE_BLOCK_FULL,
        .copy_full = m->mode == FERRY_MIGRATE_MODE_BLOCK_FULL,
        .dest_xml = m->dest_live_xml ? m->dest_live_xml : m->dest_xml,
        .persist_xml = m->dest_xml,
        .bandwidth_mib = o->bandwidth_mib,
        .postcopy = o->postcopy,
        .auto_converge = o->auto_converge,
        .compressed = o->compressed,
        .parallel_connections = o->parallel_connections,
        .migration_address = m->dst->migration_address,
        .tls = o->tls,
    };

    g_ptr_array_add(disks, NULL);
    mspec.migrate_disks = (const char *const *)disks->pdata;
    return ferry_migrate_params_build(&mspec, params, error);
}

gboolean
ferry_migration_src_postcopy_resume(FerryMigration *m, GError **error)
{
    g_auto(FerryMigrateParams) params = {0};
    FerryMigrateCallData call = {.m = m, .params = &params, .p2p = !m->options->managed};

    if (!m->sdom) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_FAILED,
                    "'%s' cannot be found on '%s' to resume its post-copy", m->domain_name,
                    m->src->name);
        return FALSE;
    }
    if (!src_migrate_params(m, &params, error))
        return FALSE;
    params.flags |= VIR_MIGRATE_POSTCOPY | VIR_MIGRATE_POSTCOPY_RESUME;
    return src_migrate_call(&call, error);
}

char *
ferry_migration_postcopy_resume_command(FerryMigration *m)
{
    const gboolean block =
        m->mode == FERRY_MIGRATE_MODE_BLOCK || m->mode == FERRY_MIGRATE_MODE_BLOCK_FULL;

    return g_strdup_printf("virsh -c '%s' migrate --live %s--persistent --undefinesource "
                           "--postcopy --postcopy-resume%s '%s' '%s'",
                           m->src->uri, m->options->managed ? "" : "--p2p ",
                           block ? (m->mode == FERRY_MIGRATE_MODE_BLOCK ? " --copy-storage-inc"
                                                                         : " --copy-storage-all")
                                 : "",
                           m->domain_name, m->options->managed ? m->dst->uri : m->dst->peer_uri);
}

gboolean
ferry_migration_src_perform_live(FerryMigration *m, FerryMigrateResult *result, GError **error)
{
    const FerryMigrateOptions *o = m->options;
    g_auto(FerryMigrateParams) params = {0};
    g_autofree char *flags = NULL;
    g_autofree char *postcopy_no_abort = NULL;
    g_autoptr(GError) local = NULL;
    FerryMonitorReport report;
    FerryPolicySettings policy;
    FerryMonitorSpec spec = {
        .domain = m->sdom,
        .interval_ms = o->sample_interval_ms,
        .cancellable = o->cancellable,
        .sample_func = on_sample,
        .action_func = on_action,
        .user_data = m,
        .disk_bytes = m->disk_copy_bytes,
        .control = o->control,
        .copies_disks =
            m->mode == FERRY_MIGRATE_MODE_BLOCK || m->mode == FERRY_MIGRATE_MODE_BLOCK_FULL,
    };
    virDomainInfo dominfo;
    g_autoptr(virConnect) mconn = NULL;
    g_autoptr(virDomain) mdom = NULL;
    FerryMigrateCallData call = {.m = m, .params = &params, .p2p = !o->managed};
    int state_before = 0, reason = 0;
    int callback_id, dst_callback_id;
    gint64 call_start;
    gboolean ok;

    if (!src_migrate_params(m, &params, error))
        return FALSE;
    flags = ferry_migrate_flags_to_string(params.flags);
    ferry_migration_info(m, "%s %s -> %s with %s",
                         call.p2p ? "virDomainMigrateToURI3" : "virDomainMigrate3", m->src->name,
                         call.p2p ? m->dst->peer_uri : m->dst->uri, flags);

    postcopy_no_abort = g_strdup_printf(
        "'%s' has switched to post-copy: it runs on %s and cannot return to %s; ferry lets the "
        "copy finish there, then verifies the move and cleans up",
        m->domain_name, m->dst->name, m->src->name);
    spec.postcopy_no_abort = postcopy_no_abort;
    if (o->policy) {
        policy = *o->policy;
        policy.postcopy_allowed = o->postcopy;
        policy.auto_converge = o->auto_converge;
        spec.policy = &policy;
    }
    if (virDomainGetInfo(m->sdom, &dominfo) == 0)
        spec.mem_bytes = (guint64)dominfo.maxMem * 1024;
    else
        virResetLastError();
    m->actions = g_ptr_array_new_with_free_func(ferry_migrate_action_record_free);

    if (virDomainGetState(m->sdom, &state_before, &reason, 0) < 0)
        virResetLastError();
    m->src_state_before = state_before;
    if (g_cancellable_set_error_if_cancelled(o->cancellable, error))
        return FALSE;
    callback_id =
        virConnectDomainEventRegisterAny(m->sconn, m->sdom, VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
                                         VIR_DOMAIN_EVENT_CALLBACK(on_job_completed), m, NULL);
    if (callback_id < 0)
        virResetLastError();
    if ((mdom = src_monitor_domain(m, &mconn)))
        spec.domain = mdom;
    dst_callback_id =
        m->dconn ? virConnectDomainEventRegisterAny(m->dconn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                    VIR_DOMAIN_EVENT_CALLBACK(on_dst_lifecycle),
                                                    m, NULL)
                 : -1;
    if (dst_callback_id < 0)
        virResetLastError();

    call_start = g_get_monotonic_time();
    ok = ferry_monitor_run(&spec, src_migrate_call, &call, &report, &local);
    result->call_s = (g_get_monotonic_time() - call_start) / (double)G_USEC_PER_SEC;

    m->ferry_suspended = report.suspended;
    m->suspended_since_us = report.suspended_since_us;
    m->finished_us = report.finished_us;
    m->postcopy_started = report.postcopy;
    result->final_action = report.final_action;
    result->final_action_s = report.final_action_s;
    if (report.final_action != FERRY_POLICY_ACTION_NONE)
        result->final_reason = g_strdup(report.final_reason);
    if (ok) {
        result->migration_s = report.elapsed_s;
        result->mem_bytes = report.last.mem_processed;
        result->disk_bytes = report.last.disk_processed;
        result->iterations = report.last.mem_iteration;
        if (callback_id >= 0)
            src_apply_completed_stats(m, result);
    }
    if (callback_id >= 0 && virConnectDomainEventDeregisterAny(m->sconn, callback_id) < 0)
        virResetLastError();
    if (dst_callback_id >= 0 && virConnectDomainEventDeregisterAny(m->dconn, dst_callback_id) < 0)
        virResetLastError();
    if (!ok) {
        /* where the guest is, and whether it runs again on the source, is for the hosts to
         * say (ferry_migration_whereis): not for this call's return value */
        src_job_failed(m, &report, g_steal_pointer(&local), error);
        return FALSE;
    }
    return TRUE;
}

/*
 * A shut-off guest: its disks are on the destination already; ferry moves the definition
 * itself, defined on the destination first, then undefined on the source.  libvirt's own
 * define removes a definition it could not save, where its offline migration (9.0) leaves an
 * inactive transient copy on the destination that can be neither undefined nor destroyed when
 * its Finish step fails.  If the source refuses the undefine, the new definition on the
 * destination is removed again: the guest is defined in exactly one place.  NVRAM and TPM
 * state files on the source are kept (never delete what may be the only copy).
 */
gboolean
ferry_migration_perform_cold(FerryMigration *m, FerryMigrateResult *result, GError **error)
{
    const unsigned int undefine_flags =
        VIR_DOMAIN_UNDEFINE_KEEP_NVRAM | VIR_DOMAIN_UNDEFINE_KEEP_TPM;
    g_autoptr(virDomain) ddom = NULL;
    gint64 start = g_get_monotonic_time();

    if (g_cancellable_set_error_if_cancelled(m->options->cancellable, error))
        return FALSE;
    ferry_migration_info(m,
                         "defining '%s' on %s (virDomainDefineXMLFlags), then undefining it on %s",
                         m->domain_name, m->dst->name, m->src->name);
    ddom = virDomainDefineXMLFlags(m->dconn, m->dest_xml, VIR_DOMAIN_DEFINE_VALIDATE);
    if (!ddom) {
        ferry_virt_set_error_full(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_FAILED,
                                  "migration of '%s' from '%s' to '%s' failed: cannot define "
                                  "'%s' on '%s'",
                                  m->domain_name, m->src->name, m->dst->name, m->domain_name,
                                  m->dst->name);
        return FALSE;
    }
    if (virDomainUndefineFlags(m->sdom, undefine_flags) < 0) {
        g_autoptr(GError) local = NULL;

        ferry_virt_set_error_full(&local, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_FAILED,
                                  "migration of '%s' from '%s' to '%s' failed: cannot undefine "
                                  "it on '%s'",
                                  m->domain_name, m->src->name, m->dst->name, m->src->name);
        /* rollback keeps the first error: the undefine's, prefixed if even this fails */
        if (virDomainUndefineFlags(ddom, undefine_flags) < 0) {
            g_prefix_error(&local,
                           "'%s' is now defined on both '%s' and '%s' (shut off on both; "
                           "undefine it on '%s' by hand: %s): ",
                           m->domain_name, m->src->name, m->dst->name, m->dst->name,
                           virGetLastErrorMessage());
            virResetLastError();
        }
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    result->migration_s = (g_get_monotonic_time() - start) / (double)G_USEC_PER_SEC;
    return TRUE;
}
