/*
 * ferry-precheck.h: what must hold on the destination before anything moves -- the guest's CPU
 * is one the destination's hypervisor can provide, and it has the memory and disk space.
 * Failures are FERRY_PRECHECK_ERROR with a sentence naming the host, what is needed and what
 * there is.  One migration's whole precheck, which uses these, is ferry_migration_precheck()
 * (ferry-migration-private.h), in ferry-precheck.c too.
 */
#pragma once

#include <libvirt/libvirt.h>

#include "ssh/ferry-ssh-session.h"
#include "xml/ferry-domain-xml.h"

G_BEGIN_DECLS

#define FERRY_PRECHECK_ERROR (ferry_precheck_error_quark())
GQuark ferry_precheck_error_quark(void);

typedef enum {
    FERRY_PRECHECK_ERROR_CPU,     /* the destination cannot provide the guest's CPU */
    FERRY_PRECHECK_ERROR_MEMORY,  /* not enough free memory on the destination */
    FERRY_PRECHECK_ERROR_DISK,    /* not enough free space for the copied disks */
    FERRY_PRECHECK_ERROR_FAILED,  /* the check itself could not be made */
} FerryPrecheckErrorCode;

/* The <cpu> to compare, or NULL when the guest's CPU is not a fixed model (host-model and
 * host-passthrough are worked out by libvirt at the destination, no <cpu> means the default). */
char *ferry_precheck_cpu_xml(const FerryDomainDef *def);

/* virConnectCompareHypervisorCPU on the destination: refuses a guest CPU it cannot provide
 * ("guest CPU doesn't match specification: missing features" would otherwise come mid-way). */
gboolean ferry_precheck_cpu(virConnectPtr dconn, const FerryDomainDef *def, const char *dst_name,
                            GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Available memory (ferry_virt_node_memory: free + buffers + cache) minus @reserve_mib must
 * hold the guest's memory. */
gboolean ferry_precheck_memory(virConnectPtr dconn, guint64 memory_kib, guint64 reserve_mib,
                               const char *dst_name, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Free space of @dir's filesystem minus @reserve_mib must hold @need_bytes. */
gboolean ferry_precheck_disk_space(FerrySshSession *dst, const char *dir, guint64 need_bytes,
                                   guint64 reserve_mib, const char *dst_name, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
