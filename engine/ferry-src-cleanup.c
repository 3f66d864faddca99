/*
 * ferry-src-cleanup.c: the cleanup phase.  After a verified migration the streamed disks live
 * on the destination and the source's copies are stale: they are removed, unless
 * --keep-source-disks.  Shared disks are the guest's own and never touched; a failure to remove
 * is told, not fatal (the guest has moved).
 */
#include "engine/ferry-migration-private.h"

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
        if (!ferry_remote_file_remove(m->src_ssh, p->disk->source, &error))
            ferry_migration_info(m, "could not remove the source copy '%s' on %s: %s",
                                 p->disk->source, m->src->name, error->message);
        else
            ferry_migration_file(m, FERRY_FILE_REMOVED, m->src, p->disk->source,
                                 "removed the source copy '%s' on %s", p->disk->source,
                                 m->src->name);
    }
}
