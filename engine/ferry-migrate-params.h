/*
 * ferry-migrate-params.h: the typed parameters and flags of one migration, built in one place
 * for both paths (peer-to-peer virDomainMigrateToURI3 and managed virDomainMigrate3).
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

typedef struct {
    gboolean p2p;
    gboolean copy_storage;      /* stream local disks */
    gboolean copy_full;         /* NON_SHARED_DISK instead of NON_SHARED_INC */
    const char *dest_xml;       /* goes in DEST_XML, and in PERSIST_XML unless persist_xml */
    const char *persist_xml;    /* NULL: dest_xml */
    const char *const *migrate_disks; /* NULL-terminated target names; NULL/empty: none */
    guint64 bandwidth_mib;      /* 0: unlimited */
    const char *dest_name;      /* NULL: keep */
    gboolean postcopy;          /* allow switching to post-copy (VIR_MIGRATE_POSTCOPY) */
    gboolean auto_converge;     /* QEMU throttles the guest's vCPUs while it does not converge */
    gboolean compressed;        /* VIR_MIGRATE_COMPRESSED (QEMU's default method, xbzrle) */
    guint parallel_connections; /* > 0: VIR_MIGRATE_PARALLEL with that many connections */
    /* The destination's address on the migration network ([host] migration_address), or NULL:
     * then the memory stream (URI "tcp://ADDR", the destination QEMU listening there:
     * LISTEN_ADDRESS) and the disks' NBD stream (DISKS_URI "tcp://ADDR") go over it. */
    const char *migration_address;
    gboolean tls;               /* VIR_MIGRATE_TLS: QEMU encrypts memory and disk streams */
} FerryMigrateSpec;

typedef struct {
    virTypedParameterPtr params;
    int nparams;
    int maxparams;
    unsigned int flags;
} FerryMigrateParams;

void ferry_migrate_params_clear(FerryMigrateParams *params);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(FerryMigrateParams, ferry_migrate_params_clear)

gboolean ferry_migrate_params_build(const FerryMigrateSpec *spec, FerryMigrateParams *params,
                                    GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* "LIVE|PEER2PEER|..." for logs and tests. */
char *ferry_migrate_flags_to_string(unsigned int flags);

G_END_DECLS
