/*
 * ferry-verify.c: the verify phase.  libvirt's word that the migration succeeded is not
 * enough: the guest must run (or, moved cold, be defined) on the destination, be persistent
 * there, and be gone from the source.  Each is asked of the host itself.
 */
#include "engine/ferry-migration-private.h"

#include <libvirt/virterror.h>

#include "engine/ferry-virt-util.h"

/* The guest on the destination: running (or paused as it was), shut off when moved cold, and
 * persistent.  One that arrived paused because ferry paused it is resumed. */
static gboolean
verify_dst(FerryMigration *m, virDomainPtr ddom, FerryMigrateResult *result, GError **error)
{
    int state = 0, reason = 0;

    if (virDomainGetState(ddom, &state, &reason, 0) < 0) {
        ferry_virt_set_error(error, "cannot read the state of '%s' on '%s'", m->domain_name,
                             m->dst->name);
        return FALSE;
    }
    if (state == VIR_DOMAIN_PAUSED && m->ferry_suspended) {
        /* It arrived paused because ferry paused it: it must not stay so. */
        if (virDomainResume(ddom) < 0) {
            ferry_virt_set_error_full(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_VERIFY,
                                      "'%s' arrived paused on '%s' and cannot be resumed",
                                      m->domain_name, m->dst->name);
            return FALSE;
        }
        result->resumed_on_dst = TRUE;
        m->finished_us = g_get_monotonic_time();
        ferry_migration_info(m, "resumed '%s' on %s (ferry had paused it)", m->domain_name,
                             m->dst->name);
        if (virDomainGetState(ddom, &state, &reason, 0) < 0)
            virResetLastError();
    }
    if (m->ferry_suspended) {
        /* paused until it ran again on the destination: the event says when libvirt resumed
         * it there (the migrate call returns later); ferry's own resume is finished_us */
        gint64 resumed_us = 0;

        g_mutex_lock(&m->stats_lock);
        resumed_us = m->dst_resumed_us;
        g_mutex_unlock(&m->stats_lock);
        if (result->resumed_on_dst || resumed_us < m->suspended_since_us)
            resumed_us = m->finished_us;
        result->suspended_s = (resumed_us - m->suspended_since_us) / (double)G_USEC_PER_SEC;
    }
    result->dst_state = g_strdup(ferry_virt_state_to_string(state));
    m->dst_state = state;
    if (m->cold ? state != VIR_DOMAIN_SHUTOFF
                : state != VIR_DOMAIN_RUNNING && state != VIR_DOMAIN_PAUSED) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_VERIFY,
                    "'%s' is %s on '%s' after the migration", m->domain_name, result->dst_state,
                    m->dst->name);
        return FALSE;
    }
    if (virDomainIsPersistent(ddom) != 1) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_VERIFY,
                    "'%s' runs on '%s' but is not persistent there", m->domain_name, m->dst->name);
        return FALSE;
    }
    return TRUE;
}

/* Nothing of the guest is left defined on the source.  An inactive definition left there (a
 * post-copy that completed after libvirt's job had failed leaves one) is removed: the guest
 * runs, persistent, on the destination (its disks, NVRAM and TPM state are not touched). */
static gboolean
verify_src_gone(FerryMigration *m, GError **error)
{
    g_autoptr(virDomain) left = m->uuid[0] ? virDomainLookupByUUIDString(m->sconn, m->uuid)
                                           : virDomainLookupByName(m->sconn, m->domain_name);

    if (!left) {
        virResetLastError();
        return TRUE;
    }
    if (virDomainIsActive(left) != 0) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_VERIFY,
                    "'%s' runs on '%s' but is still active on '%s': nothing was removed; stop "
                    "one copy by hand after checking which one its users see",
                    m->domain_name, m->dst->name, m->src->name);
        virResetLastError();
        return FALSE;
    }
    if (virDomainUndefineFlags(left, VIR_DOMAIN_UNDEFINE_KEEP_NVRAM |
                                         VIR_DOMAIN_UNDEFINE_KEEP_TPM) < 0) {
        ferry_virt_set_error_full(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_VERIFY,
                                  "'%s' runs on '%s' but is still defined (shut off) on '%s', "
                                  "and cannot be undefined there",
                                  m->domain_name, m->dst->name, m->src->name);
        virResetLastError();
        return FALSE;
    }
    ferry_migration_info(m,
                         "removed the leftover inactive definition of '%s' on %s (it runs on %s)",
                         m->domain_name, m->src->name, m->dst->name);
    return TRUE;
}

/* libvirt reports success when it could not delete the source's saved definition (a read-only
 * /etc/libvirt/qemu): the next libvirtd start there would define the guest on both hosts.
 * The file is looked for over ssh; not being able to look is told, not fatal. */
static gboolean
verify_src_config_gone(FerryMigration *m, GError **error)
{
    g_autofree char *path = g_strdup_printf("/etc/libvirt/qemu/%s.xml", m->domain_name);
    g_autoptr(GError) local = NULL;
    gboolean exists = FALSE;

    if (!ferry_migration_open_ssh(m, &local) ||
        !ferry_remote_path_exists(m->src_ssh, path, &exists, &local)) {
        ferry_migration_info(m, "could not check that '%s' is gone from %s: %s", path,
                             m->src->name, local->message);
        return TRUE;
    }
    if (exists) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_VERIFY,
                    "'%s' runs on '%s', but its saved definition '%s' is still on '%s' (libvirt "
                    "could not remove it: is that directory writable?): after a restart of its "
                    "libvirtd it would be defined on both hosts; remove that file on '%s'",
                    m->domain_name, m->dst->name, path, m->src->name, m->src->name);
        return FALSE;
    }
    return TRUE;
}

/* Without the source's job-completed event, the destination's completed-job statistics still
 * tell the downtime. */
static void
verify_dst_completed_stats(FerryMigration *m, virDomainPtr ddom, FerryMigrateResult *result)
{
    virTypedParameterPtr params = NULL;
    int nparams = 0, type = 0;
    unsigned long long v;

    if (m->have_completed || m->cold)
        return;
    if (virDomainGetJobStats(ddom, &type, &params, &nparams, VIR_DOMAIN_JOB_STATS_COMPLETED) < 0) {
        ferry_migration_info(m, "no completed-job statistics on %s: %s", m->dst->name,
                             virGetLastErrorMessage());
        virResetLastError();
        return;
    }
    if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_DOWNTIME, &v) == 1)
        result->downtime_ms = v;
    if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_TIME_ELAPSED, &v) == 1)
        result->migration_s = v / 1000.0;
    if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_MEMORY_PROCESSED, &v) == 1)
        result->mem_bytes = v;
    if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_DISK_PROCESSED, &v) == 1)
        result->disk_bytes = MAX(result->disk_bytes, v);
    if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_MEMORY_ITERATION, &v) == 1)
        result->iterations = v;
    virTypedParamsFree(params, nparams);
}

gboolean
ferry_migration_verify(FerryMigration *m, FerryMigrateResult *result, GError **error)
{
    g_autoptr(virDomain) ddom = virDomainLookupByName(m->dconn, m->domain_name);

    if (!ddom) {
        ferry_virt_set_error_full(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_VERIFY,
                                  "'%s' is not on '%s' after the migration", m->domain_name,
                                  m->dst->name);
        return FALSE;
    }
    if (!verify_dst(m, ddom, result, error) || !verify_src_gone(m, error) ||
        (!m->cold && !verify_src_config_gone(m, error)))
        return FALSE;
    verify_dst_completed_stats(m, ddom, result);
    ferry_migration_info(m, "'%s' is %s and persistent on %s, gone from %s", m->domain_name,
                         result->dst_state, m->dst->name, m->src->name);
    return TRUE;
}
