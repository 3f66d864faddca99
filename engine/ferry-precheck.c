/*
 * ferry-precheck.c: destination CPU, memory and disk space checks.
 */
#include "engine/ferry-precheck.h"

#include <libvirt/virterror.h>
#include <string.h>

#include "engine/ferry-virt-util.h"

/* clang-format off */
G_DEFINE_QUARK(ferry-precheck-error-quark, ferry_precheck_error)
/* clang-format on */

char *
ferry_precheck_cpu_xml(const FerryDomainDef *def)
{
    g_autoptr(GString) xml = NULL;
    g_autofree char *model = NULL;

    if (!def->cpu_model || (def->cpu_mode && !g_str_equal(def->cpu_mode, "custom")))
        return NULL;
    xml = g_string_new("<cpu mode='custom' match='exact'>");
    model = g_markup_escape_text(def->cpu_model, -1);
    g_string_append_printf(xml, "<model fallback='forbid'>%s</model>", model);
    for (guint i = 0; def->cpu_features && i < def->cpu_features->len; i++) {
        const char *feature = g_ptr_array_index(def->cpu_features, i);
        const char *colon = strchr(feature, ':');
        g_autofree char *policy = NULL;
        g_autofree char *name = NULL;

        if (!colon)
            continue;
        policy = g_markup_escape_text(feature, colon - feature);
        name = g_markup_escape_text(colon + 1, -1);
        g_string_append_printf(xml, "<feature policy='%s' name='%s'/>", policy, name);
    }
    g_string_append(xml, "</cpu>");
    return g_string_free(g_steal_pointer(&xml), FALSE);
}

gboolean
ferry_precheck_cpu(virConnectPtr dconn, const FerryDomainDef *def, const char *dst_name,
                   GError **error)
{
    g_autofree char *xml = ferry_precheck_cpu_xml(def);
    int rc;

    if (!xml)
        return TRUE;
    /* FAIL_INCOMPATIBLE: libvirt's error then names the missing features. */
    rc = virConnectCompareHypervisorCPU(dconn, NULL, NULL, NULL, def->domain_type, xml,
                                        VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE);
    if (rc == VIR_CPU_COMPARE_IDENTICAL || rc == VIR_CPU_COMPARE_SUPERSET)
        return TRUE;
    if (rc == VIR_CPU_COMPARE_INCOMPATIBLE || virGetLastErrorCode() == VIR_ERR_CPU_INCOMPATIBLE) {
        ferry_virt_set_error_full(error, FERRY_PRECHECK_ERROR, FERRY_PRECHECK_ERROR_CPU,
                                  "'%s' cannot run guest '%s' (CPU model %s)", dst_name, def->name,
                                  def->cpu_model);
        return FALSE;
    }
    ferry_virt_set_error_full(error, FERRY_PRECHECK_ERROR, FERRY_PRECHECK_ERROR_FAILED,
                              "cannot compare the CPU of '%s' with what '%s' provides", def->name,
                              dst_name);
    return FALSE;
}

gboolean
ferry_precheck_memory(virConnectPtr dconn, guint64 memory_kib, guint64 reserve_mib,
                      const char *dst_name, GError **error)
{
    unsigned long long free_bytes = virNodeGetFreeMemory(dconn);
    guint64 need = memory_kib * 1024 + reserve_mib * 1024 * 1024;

    if (free_bytes == 0) {
        ferry_virt_set_error_full(error, FERRY_PRECHECK_ERROR, FERRY_PRECHECK_ERROR_FAILED,
                                  "cannot read the free memory of '%s'", dst_name);
        return FALSE;
    }
    if (free_bytes < need) {
        g_set_error(error, FERRY_PRECHECK_ERROR, FERRY_PRECHECK_ERROR_MEMORY,
                    "'%s' has %llu MiB of free memory; the guest needs %" G_GUINT64_FORMAT
                    " MiB plus the host's reserve of %" G_GUINT64_FORMAT " MiB",
                    dst_name, free_bytes >> 20, memory_kib >> 10, reserve_mib);
        return FALSE;
    }
    return TRUE;
}

gboolean
ferry_precheck_disk_space(FerrySshSession *dst, const char *dir, guint64 need_bytes,
                          guint64 reserve_mib, const char *dst_name, GError **error)
{
    guint64 free_bytes = 0;
    guint64 need = need_bytes + reserve_mib * 1024 * 1024;

    if (!ferry_ssh_sftp_statvfs(dst, dir, &free_bytes, error)) {
        g_prefix_error(error, "cannot read the free space of '%s' on '%s': ", dir, dst_name);
        return FALSE;
    }
    if (free_bytes < need) {
        g_set_error(error, FERRY_PRECHECK_ERROR, FERRY_PRECHECK_ERROR_DISK,
                    "'%s' on '%s' has %" G_GUINT64_FORMAT
                    " MiB free; the disks to copy need %" G_GUINT64_FORMAT
                    " MiB plus the host's reserve of %" G_GUINT64_FORMAT " MiB",
                    dir, dst_name, free_bytes >> 20, (need_bytes + (1 << 20) - 1) >> 20,
                    reserve_mib);
        return FALSE;
    }
    return TRUE;
}
