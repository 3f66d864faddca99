/*
 * ferry-src-cleanup.c: the cleanup phase.  After a verified migration the streamed disks live
 * on the destination and the source's copies are stale: they are removed, unless
 * --keep-source-disks.  An image file is deleted; a logical volume is removed (lvremove); a
 * pool volume is deleted through libvirt; any other block device (a partition, a multipath
 * LUN) is the host's, never wiped, and said so.  The guest's NVRAM, copied to the destination
 * before the move, goes with its disks (kernel and initrd are the host's, and stay).  Shared
 * disks are the guest's own and never touched; a failure to remove is told, not fatal (the
 * guest has moved).
 */
#include <libvirt/virterror.h>

#include "engine/ferry-migration-private.h"
#include "engine/ferry-virt-util.h"

/* Is @path a logical volume on the source (lvs knows it)? */
static gboolean
src_is_lv(FerryMigration *m, const char *path)
{
    const char *argv[] = {"lvs", "--noheadings", "-o", "lv_name", "--", path, NULL};
    g_autoptr(GError) error = NULL;

    return ferry_ssh_session_check(m->src_ssh, argv, NULL, &error);
}

static gboolean
src_remove_volume(FerryMigration *m, const FerryDiskPlan *p, GError **error)
{
    virStoragePoolPtr pool = virStoragePoolLookupByName(m->sconn, p->src_pool);
    virStorageVolPtr vol = pool ? virStorageVolLookupByName(pool, p->src_volume) : NULL;
    gboolean ok = vol && virStorageVolDelete(vol, 0) == 0;

    if (!ok)
        ferry_virt_set_error(error, "cannot delete volume '%s' of pool '%s'", p->src_volume,
                             p->src_pool);
    if (vol)
        virStorageVolFree(vol);
    if (pool)
        virStoragePoolFree(pool);
    return ok;
}

static gboolean
src_remove(FerryMigration *m, const FerryDiskPlan *p, GError **error)
{
    switch (p->storage) {
    case FERRY_DISK_STORAGE_VOLUME:
        return src_remove_volume(m, p, error);
    case FERRY_DISK_STORAGE_BLOCK: {
        const char *argv[] = {"lvremove", "-f", "-y", "--", p->disk->source, NULL};

        return ferry_ssh_session_check(m->src_ssh, argv, NULL, error);
    }
    case FERRY_DISK_STORAGE_FILE:
    case FERRY_DISK_STORAGE_LAST:
        break;
    }
    return ferry_remote_file_remove(m->src_ssh, p->disk->source, error);
}

void
ferry_migration_src_cleanup_disks(FerryMigration *m)
{
    /* no session: nothing was streamed (the precheck opens them whenever a disk is) */
    if (!m->src_ssh)
        return;
    for (guint i = 0; i < m->streamed->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(m->streamed, i);
        g_autoptr(GError) error = NULL;

        if (m->options->keep_source_disks) {
            ferry_migration_file(m, FERRY_FILE_KEPT, m->src, p->disk->source,
                                 "kept the source copy '%s' on %s", p->disk->source, m->src->name);
            continue;
        }
        if (p->storage == FERRY_DISK_STORAGE_BLOCK && !src_is_lv(m, p->disk->source)) {
            ferry_migration_info(m,
                                 "kept block device '%s' on %s: it is not a logical volume, "
                                 "ferry does not wipe devices",
                                 p->disk->source, m->src->name);
            continue;
        }
        if (!src_remove(m, p, &error))
            ferry_migration_info(m, "could not remove the source copy '%s' on %s: %s",
                                 p->disk->source, m->src->name, error->message);
        else
            ferry_migration_file(m, FERRY_FILE_REMOVED, m->src, p->disk->source,
                                 "removed the source copy '%s' on %s", p->disk->source,
                                 m->src->name);
    }
    for (guint i = 0; m->file_copies && i < m->file_copies->len; i++) {
        const FerryFileCopy *c = g_ptr_array_index(m->file_copies, i);
        g_autoptr(GError) error = NULL;

        if (!g_str_equal(c->what, "nvram"))
            continue;
        if (m->options->keep_source_disks)
            ferry_migration_info(m, "kept the source's NVRAM '%s' on %s", c->src_path,
                                 m->src->name);
        else if (!ferry_remote_file_remove(m->src_ssh, c->src_path, &error))
            ferry_migration_info(m, "could not remove the source's NVRAM '%s' on %s: %s",
                                 c->src_path, m->src->name, error->message);
        else
            ferry_migration_info(m, "removed the source's NVRAM '%s' on %s", c->src_path,
                                 m->src->name);
    }
}
