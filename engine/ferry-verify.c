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
    if (m->ferry_suspended)
        result->suspended_s = (m->finished_us - m->suspended_since_us) / (double)G_USEC_PER_SEC;
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

/* Nothing of the guest is left defined on the source. */
static gboolean
verify_src_gone(FerryMigration *m, GError **error)
{
    virDomainPtr left = virDomainLookupByName(m->sconn, m->domain_name);

    if (left) {
        virDomainFree(left);
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_VERIFY,
                    "'%s' runs on '%s' but is still defined on '%s'", m->domain_name, m->dst->name,
                    m->src->name);
        return FALSE;
    }
    virResetLastError();
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
    if (!verify_dst(m, ddom, result, error) || !verify_src_gone(m, error))
        return FALSE;
    verify_dst_completed_stats(m, ddom, result);
    ferry_migration_info(m, "'%s' is %s and persistent on %s, gone from %s", m->domain_name,
                         result->dst_state, m->dst->name, m->src->name);
    return TRUE;
}
