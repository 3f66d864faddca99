/*
 * ferry-migrate-params.c: one builder for the flags and typed parameters of a migration.
 */
#include "engine/ferry-migrate-params.h"

#include <libvirt/virterror.h>

#include "engine/ferry-virt-util.h"

void
ferry_migrate_params_clear(FerryMigrateParams *params)
{
    if (params->params)
        virTypedParamsFree(params->params, params->nparams);
    params->params = NULL;
    params->nparams = params->maxparams = 0;
    params->flags = 0;
}

static gboolean
add_string(FerryMigrateParams *p, const char *name, const char *value, GError **error)
{
    if (virTypedParamsAddString(&p->params, &p->nparams, &p->maxparams, name, value) < 0) {
        ferry_virt_set_error(error, "cannot add migration parameter '%s'", name);
        return FALSE;
    }
    return TRUE;
}

gboolean
ferry_migrate_params_build(const FerryMigrateSpec *spec, FerryMigrateParams *params,
                           GError **error)
{
    g_auto(FerryMigrateParams) p = {0};
    guint n_disks = spec->migrate_disks ? g_strv_length((char **)spec->migrate_disks) : 0;

    /* libvirt's typed-parameter helpers use its per-thread error state: initialise it */
    if (virInitialize() < 0) {
        g_set_error(error, FERRY_VIRT_ERROR, VIR_ERR_INTERNAL_ERROR, "cannot initialise libvirt");
        return FALSE;
    }

    /* PERSIST_DEST + UNDEFINE_SOURCE: the guest moves with its definition, not just a copy of
     * its running state; nothing is left defined on the source to be started by mistake. */
    p.flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE;
    if (spec->p2p)
        p.flags |= VIR_MIGRATE_PEER2PEER;
    if (spec->copy_storage) {
        if (n_disks == 0) {
            g_set_error(error, FERRY_VIRT_ERROR, VIR_ERR_INVALID_ARG,
                        "block migration needs at least one disk to stream");
            return FALSE;
        }
        p.flags |= spec->copy_full ? VIR_MIGRATE_NON_SHARED_DISK : VIR_MIGRATE_NON_SHARED_INC;
        /* Only the disks named here are copied: never network, read-only or shared ones. */
        for (guint i = 0; i < n_disks; i++) {
            if (virTypedParamsAddString(&p.params, &p.nparams, &p.maxparams,
                                        VIR_MIGRATE_PARAM_MIGRATE_DISKS,
                                        spec->migrate_disks[i]) < 0) {
                ferry_virt_set_error(error, "cannot add disk '%s'", spec->migrate_disks[i]);
                return FALSE;
            }
        }
    } else if (n_disks > 0) {
        g_set_error(error, FERRY_VIRT_ERROR, VIR_ERR_INVALID_ARG,
                    "disks to stream given, but storage copy is off");
        return FALSE;
    }
    /* With DEST_XML alone the destination's saved definition keeps the source's paths. */
    if (spec->dest_xml &&
        (!add_string(&p, VIR_MIGRATE_PARAM_DEST_XML, spec->dest_xml, error) ||
         !add_string(&p, VIR_MIGRATE_PARAM_PERSIST_XML,
                     spec->persist_xml ? spec->persist_xml : spec->dest_xml, error)))
        return FALSE;
    if (spec->dest_name && !add_string(&p, VIR_MIGRATE_PARAM_DEST_NAME, spec->dest_name, error))
        return FALSE;
    if (spec->bandwidth_mib &&
        virTypedParamsAddULLong(&p.params, &p.nparams, &p.maxparams,
                                VIR_MIGRATE_PARAM_BANDWIDTH, spec->bandwidth_mib) < 0) {
        ferry_virt_set_error(error, "cannot add the bandwidth parameter");
        return FALSE;
    }
    if (spec->migration_address) {
        /* an IPv6 literal goes in brackets in a URI */
        g_autofree char *uri = g_strdup_printf(
            strchr(spec->migration_address, ':') ? "tcp://[%s]" : "tcp://%s",
            spec->migration_address);

        if (!add_string(&p, VIR_MIGRATE_PARAM_URI, uri, error) ||
            !add_string(&p, VIR_MIGRATE_PARAM_LISTEN_ADDRESS, spec->migration_address, error) ||
            (spec->copy_storage && !add_string(&p, VIR_MIGRATE_PARAM_DISKS_URI, uri, error)))
            return FALSE;
    }
    if (spec->postcopy)
        p.flags |= VIR_MIGRATE_POSTCOPY;
    if (spec->auto_converge)
        p.flags |= VIR_MIGRATE_AUTO_CONVERGE;
    if (spec->compressed)
        p.flags |= VIR_MIGRATE_COMPRESSED;
    if (spec->parallel_connections) {
        /* QEMU refuses multifd together with post-copy or compression: say so before starting */
        if (spec->postcopy || spec->compressed) {
            g_set_error(error, FERRY_VIRT_ERROR, VIR_ERR_INVALID_ARG,
                        "parallel connections cannot be combined with %s",
                        spec->postcopy ? "post-copy" : "compression");
            return FALSE;
        }
        p.flags |= VIR_MIGRATE_PARALLEL;
        if (virTypedParamsAddInt(&p.params, &p.nparams, &p.maxparams,
                                 VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS,
                                 (int)spec->parallel_connections) < 0) {
            ferry_virt_set_error(error, "cannot add the parallel-connections parameter");
            return FALSE;
        }
    }
    if (spec->tls)
        p.flags |= VIR_MIGRATE_TLS;
    *params = p;
    p = (FerryMigrateParams){0};
    return TRUE;
}

static const struct {
    unsigned int flag;
    const char *name;
} flag_names[] = {
    {VIR_MIGRATE_LIVE, "LIVE"},
    {VIR_MIGRATE_PEER2PEER, "PEER2PEER"},
    {VIR_MIGRATE_TUNNELLED, "TUNNELLED"},
    {VIR_MIGRATE_PERSIST_DEST, "PERSIST_DEST"},
    {VIR_MIGRATE_UNDEFINE_SOURCE, "UNDEFINE_SOURCE"},
    {VIR_MIGRATE_PAUSED, "PAUSED"},
    {VIR_MIGRATE_NON_SHARED_DISK, "NON_SHARED_DISK"},
    {VIR_MIGRATE_NON_SHARED_INC, "NON_SHARED_INC"},
    {VIR_MIGRATE_CHANGE_PROTECTION, "CHANGE_PROTECTION"},
    {VIR_MIGRATE_UNSAFE, "UNSAFE"},
    {VIR_MIGRATE_OFFLINE, "OFFLINE"},
    {VIR_MIGRATE_COMPRESSED, "COMPRESSED"},
    {VIR_MIGRATE_ABORT_ON_ERROR, "ABORT_ON_ERROR"},
    {VIR_MIGRATE_AUTO_CONVERGE, "AUTO_CONVERGE"},
    {VIR_MIGRATE_POSTCOPY, "POSTCOPY"},
    {VIR_MIGRATE_PARALLEL, "PARALLEL"},
    {VIR_MIGRATE_TLS, "TLS"},
};

char *
ferry_migrate_flags_to_string(unsigned int flags)
{
    g_autoptr(GString) s = g_string_new(NULL);

    for (gsize i = 0; i < G_N_ELEMENTS(flag_names); i++) {
        if (flags & flag_names[i].flag) {
            g_string_append_printf(s, "%s%s", s->len ? "|" : "", flag_names[i].name);
            flags &= ~flag_names[i].flag;
        }
    }
    if (flags)
        g_string_append_printf(s, "%s0x%x", s->len ? "|" : "", flags);
    return g_string_free(g_steal_pointer(&s), FALSE);
}
