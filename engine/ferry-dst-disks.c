/*
 * ferry-dst-disks.c: the destination's disks -- created for a block migration, copied for a
 * cold one -- and the guard that removes exactly what ferry created there.
 */
#include "engine/ferry-dst-disks.h"

#include "ssh/ferry-remote-copy.h"
#include "ssh/ferry-remote-disk.h"

struct _FerryDstDisks {
    FerryMigration *m;  /* borrowed: the destination's session and name, events */
    GPtrArray *created; /* char*: files ferry created on the destination, in creation order */
    gboolean kept;      /* the guest uses them now: nothing is removed */
};

FerryDstDisks *
ferry_dst_disks_new(FerryMigration *m)
{
    FerryDstDisks *disks = g_new0(FerryDstDisks, 1);

    disks->m = m;
    disks->created = g_ptr_array_new_with_free_func(g_free);
    return disks;
}

static void
dst_disks_own(FerryDstDisks *disks, const char *path)
{
    g_ptr_array_add(disks->created, g_strdup(path));
}

void
ferry_dst_disks_keep(FerryDstDisks *disks)
{
    if (disks)
        disks->kept = TRUE;
}

void
ferry_dst_disks_remove(FerryDstDisks *disks)
{
    FerryMigration *m;

    if (!disks || disks->kept)
        return;
    m = disks->m;
    for (guint i = 0; i < disks->created->len; i++) {
        const char *path = g_ptr_array_index(disks->created, i);
        g_autoptr(GError) error = NULL;

        /* a command that timed out broke the session: what ferry created still goes */
        if ((ferry_ssh_session_is_broken(m->dst_ssh) &&
             !ferry_ssh_session_reconnect(m->dst_ssh, &error)) ||
            !ferry_remote_file_remove(m->dst_ssh, path, &error))
            g_warning("cannot remove '%s' on '%s' after the failed migration: %s", path,
                      m->dst->name, error->message);
        else
            ferry_migration_file(m, FERRY_FILE_REMOVED, m->dst, path,
                                 "removed '%s' from %s (created for the failed migration)", path,
                                 m->dst->name);
    }
    g_ptr_array_set_size(disks->created, 0);
}

void
ferry_dst_disks_remove_unused(FerryDstDisks *disks, GHashTable *in_use)
{
    g_autoptr(GPtrArray) kept = NULL;

    if (!disks || disks->kept)
        return;
    kept = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < disks->created->len; i++) {
        const char *path = g_ptr_array_index(disks->created, i);

        if (g_hash_table_contains(in_use, path)) {
            ferry_migration_file(disks->m, FERRY_FILE_KEPT, disks->m->dst, path,
                                 "'%s' on %s is not removed: a domain there uses it", path,
                                 disks->m->dst->name);
            g_ptr_array_add(kept, g_strdup(path));
        }
    }
    for (guint i = 0; i < kept->len; i++) {
        for (guint j = 0; j < disks->created->len; j++) {
            if (g_str_equal(g_ptr_array_index(disks->created, j), g_ptr_array_index(kept, i))) {
                g_ptr_array_remove_index(disks->created, j);
                break;
            }
        }
    }
    ferry_dst_disks_remove(disks);
}

void
ferry_dst_disks_free(FerryDstDisks *disks)
{
    if (!disks)
        return;
    ferry_dst_disks_remove(disks);
    g_ptr_array_unref(disks->created);
    g_free(disks);
}

static FerryDstDisks *
dst_disks_guard(FerryMigration *m)
{
    if (!m->dst_disks)
        m->dst_disks = ferry_dst_disks_new(m);
    return m->dst_disks;
}

/* The destination path of @p's backing file, made sure to exist there: mapped to the
 * destination's layout, and when missing, copied from the source (host to host over the checked
 * trust, else relayed through ferry), checksum-verified, and owned by the guard.
 * *@out_backing is NULL when the image has no backing file. */
static gboolean
dst_backing_ready(FerryMigration *m, const FerryDiskPlan *p, const FerryImageInfo *image,
                  const FerryXmlMapping *map, char **out_backing, GError **error)
{
    g_autofree char *backing = NULL;
    g_autofree char *src_dir = NULL;
    g_autofree char *src_backing = NULL;
    g_autoptr(FerryImageInfo) backing_info = NULL;
    FerrySshPeer peer;
    FerryCopyResult copied = {0};
    gboolean exists = FALSE;

    *out_backing = NULL;
    if (!image->backing_file)
        return TRUE;
    if (p->dest_backing && p->dest_backing->len)
        backing = g_strdup(g_ptr_array_index(p->dest_backing, 0));
    else if (ferry_xml_mapping_is_shared(map, image->backing_file) ||
             !(backing = ferry_xml_mapping_map_path(map, image->backing_file, NULL)))
        backing = g_strdup(image->backing_file);
    if (!ferry_remote_path_exists(m->dst_ssh, backing, &exists, error))
        return FALSE;
    if (exists) {
        *out_backing = g_steal_pointer(&backing);
        return TRUE;
    }

    src_dir = g_path_get_dirname(p->disk->source);
    src_backing = g_path_is_absolute(image->backing_file)
                      ? g_strdup(image->backing_file)
                      : g_build_filename(src_dir, image->backing_file, NULL);
    if (!(backing_info = ferry_remote_image_info(m->src_ssh, src_backing, image->backing_format,
                                                 error)))
        return FALSE;
    if (backing_info->backing_file) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                    "backing file '%s' of disk %s is missing on '%s' and has a backing file of "
                    "its own: copy the chain there first, or use --mode block-full",
                    backing, p->disk->target, m->dst->name);
        return FALSE;
    }
    ferry_inventory_peer(m->inventory, m->src, m->dst, &peer);
    if (!ferry_remote_copy_file(m->src_ssh, m->dst_ssh, src_backing, backing, &peer,
                                FERRY_COPY_AUTO, NULL, NULL, &copied, error)) {
        g_prefix_error(error, "backing file of disk %s: ", p->disk->target);
        return FALSE;
    }
    dst_disks_own(dst_disks_guard(m), backing);
    ferry_migration_file(
        m, FERRY_FILE_CREATED, m->dst, backing, "copied backing file '%s' (%" G_GUINT64_FORMAT " bytes, %s, sha256 %s) to %s", backing,
        copied.bytes, ferry_copy_mode_to_string(copied.mode_used), copied.sha256, m->dst->name);
    *out_backing = g_steal_pointer(&backing);
    return TRUE;
}

gboolean
ferry_migration_dst_create_disks(FerryMigration *m, gboolean full, GError **error)
{
    g_autoptr(FerryXmlMapping) map = ferry_inventory_mapping(m->src, m->dst);

    if (!ferry_migration_open_ssh(m, error))
        return FALSE;
    for (guint i = 0; i < m->streamed->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(m->streamed, i);
        const FerryImageInfo *image;
        g_autofree char *backing = NULL;

        if (!(image = ferry_migration_stream_image(m, p, error)))
            return FALSE;
        if (!full && !dst_backing_ready(m, p, image, map, &backing, error))
            return FALSE;
        if (!ferry_remote_image_create(m->dst_ssh, p->dest_source, image->format,
                                       image->virtual_size, backing,
                                       backing ? image->backing_format : NULL, error)) {
            g_prefix_error(error, "cannot prepare disk %s on '%s': ", p->disk->target,
                           m->dst->name);
            return FALSE;
        }
        dst_disks_own(dst_disks_guard(m), p->dest_source);
        m->disk_copy_bytes += image->virtual_size;
        ferry_migration_file(m, FERRY_FILE_CREATED, m->dst, p->dest_source,
                             "created %s image '%s' (%" G_GUINT64_FORMAT " bytes%s%s) on %s",
                             image->format, p->dest_source, image->virtual_size,
                             backing ? ", backing " : "", backing ? backing : "", m->dst->name);
    }
    return TRUE;
}

/* A disk copy by ferry (cold): its progress as a sample of the prepare phase, timed from the
 * start of that disk's copy. */
typedef struct {
    FerryMigration *m;
    gint64 start;
} FerryCopyWatch;

static void
on_copy_progress(guint64 done, guint64 total, guint64 bytes_per_s, gpointer user_data)
{
    FerryCopyWatch *watch = user_data;
    FerryJobSample sample = {
        .elapsed_s = (g_get_monotonic_time() - watch->start) / (double)G_USEC_PER_SEC,
        .disk_total = total,
        .disk_processed = done,
        .disk_remaining = total - MIN(done, total),
        .disk_bps = bytes_per_s,
    };

    ferry_migration_emit(watch->m, FERRY_EVENT_SAMPLE, NULL, &sample, NULL);
}

/* The copied header still names the source's backing path: only the name moves, the data is
 * the same file (-u), so nothing is rewritten but the header. */
static gboolean
dst_rebase(FerryMigration *m, const FerryDiskPlan *p, const FerryImageInfo *image,
           const char *backing, GError **error)
{
    g_autoptr(GPtrArray) argv =
        ferry_image_rebase_argv(image->format, backing, image->backing_format, p->dest_source);

    if (!ferry_ssh_session_check(m->dst_ssh, (const char *const *)argv->pdata, NULL, error)) {
        g_prefix_error(error,
                       "cannot point '%s' at its backing file '%s' on '%s': ", p->dest_source,
                       backing, m->dst->name);
        return FALSE;
    }
    ferry_migration_info(m, "'%s' now backs onto '%s'", p->dest_source, backing);
    return TRUE;
}

gboolean
ferry_migration_dst_copy_disks(FerryMigration *m, guint64 *bytes, GError **error)
{
    g_autoptr(FerryXmlMapping) map = ferry_inventory_mapping(m->src, m->dst);
    FerrySshPeer peer;

    if (!ferry_migration_open_ssh(m, error))
        return FALSE;
    ferry_inventory_peer(m->inventory, m->src, m->dst, &peer);
    for (guint i = 0; i < m->streamed->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(m->streamed, i);
        const FerryImageInfo *image;
        g_autofree char *backing = NULL;
        FerryCopyResult copied = {0};
        FerryCopyWatch watch = {.m = m};

        if (!(image = ferry_migration_stream_image(m, p, error)) ||
            !dst_backing_ready(m, p, image, map, &backing, error))
            return FALSE;
        watch.start = g_get_monotonic_time();
        if (!ferry_remote_copy_file(m->src_ssh, m->dst_ssh, p->disk->source, p->dest_source, &peer,
                                    FERRY_COPY_AUTO, on_copy_progress, &watch, &copied, error)) {
            g_prefix_error(error, "disk %s of '%s': ", p->disk->target, m->domain_name);
            return FALSE;
        }
        dst_disks_own(dst_disks_guard(m), p->dest_source);
        *bytes += copied.bytes;
        ferry_migration_file(
            m, FERRY_FILE_CREATED, m->dst, p->dest_source, "copied disk %s to '%s' on %s (%" G_GUINT64_FORMAT " bytes, %s, sha256 %s)",
            p->disk->target, p->dest_source, m->dst->name, copied.bytes,
            ferry_copy_mode_to_string(copied.mode_used), copied.sha256);
        if (backing && g_strcmp0(backing, image->backing_file) != 0 &&
            !dst_rebase(m, p, image, backing, error))
            return FALSE;
    }
    return TRUE;
}
