/*
 * ferry-dst-disks.c: the destination's disks -- created for a block migration, copied for a
 * cold one -- and the guard that removes exactly what ferry created there.
 */
#include "engine/ferry-dst-disks.h"

#include <libvirt/virterror.h>
#include <sys/stat.h>

#include "engine/ferry-virt-util.h"
#include "ssh/ferry-remote-copy.h"
#include "ssh/ferry-remote-disk.h"

/* What ferry made on the destination, and how it goes again. */
typedef enum {
    DST_OWNED_FILE,   /* rm -f */
    DST_OWNED_DIR,    /* rmdir: only when empty */
    DST_OWNED_LV,     /* lvremove */
    DST_OWNED_VOLUME, /* virStorageVolDelete */
} DstOwnedKind;

typedef struct {
    DstOwnedKind kind;
    char *path; /* what a domain there would name (a volume: its path) */
    char *pool; /* VOLUME: its pool and name */
    char *name;
} DstOwned;

struct _FerryDstDisks {
    FerryMigration *m;  /* borrowed: the destination's session and name, events */
    GPtrArray *created; /* DstOwned*: what ferry created on the destination, in creation order */
    gboolean kept;      /* the guest uses them now: nothing is removed */
};

static void
dst_owned_free(DstOwned *owned)
{
    g_free(owned->path);
    g_free(owned->pool);
    g_free(owned->name);
    g_free(owned);
}

FerryDstDisks *
ferry_dst_disks_new(FerryMigration *m)
{
    FerryDstDisks *disks = g_new0(FerryDstDisks, 1);

    disks->m = m;
    disks->created = g_ptr_array_new_with_free_func((GDestroyNotify)dst_owned_free);
    return disks;
}

static void
dst_disks_own_full(FerryDstDisks *disks, DstOwnedKind kind, const char *path, const char *pool,
                   const char *name)
{
    DstOwned *owned = g_new0(DstOwned, 1);

    owned->kind = kind;
    owned->path = g_strdup(path);
    owned->pool = g_strdup(pool);
    owned->name = g_strdup(name);
    g_ptr_array_add(disks->created, owned);
}

static void
dst_disks_own(FerryDstDisks *disks, const char *path)
{
    dst_disks_own_full(disks, DST_OWNED_FILE, path, NULL, NULL);
}

/* Removes one thing ferry created on the destination. */
static gboolean
dst_owned_remove(FerryMigration *m, const DstOwned *owned, GError **error)
{
    switch (owned->kind) {
    case DST_OWNED_FILE:
        return ferry_remote_file_remove(m->dst_ssh, owned->path, error);
    case DST_OWNED_DIR: {
        /* only when empty: anything in it now is not ferry's */
        const char *argv[] = {"sh", "-c", "[ ! -d \"$1\" ] || rmdir -- \"$1\"", "sh",
                              owned->path, NULL};
        return ferry_ssh_session_check(m->dst_ssh, argv, NULL, error);
    }
    case DST_OWNED_LV: {
        const char *argv[] = {"lvremove", "-f", "-y", "--", owned->path, NULL};
        return ferry_ssh_session_check(m->dst_ssh, argv, NULL, error);
    }
    case DST_OWNED_VOLUME: {
        virStoragePoolPtr pool =
            m->dconn ? virStoragePoolLookupByName(m->dconn, owned->pool) : NULL;
        virStorageVolPtr vol = pool ? virStorageVolLookupByName(pool, owned->name) : NULL;
        gboolean ok = vol && virStorageVolDelete(vol, 0) == 0;

        if (!ok)
            ferry_virt_set_error(error, "cannot delete volume '%s' of pool '%s'", owned->name,
                                 owned->pool);
        if (vol)
            virStorageVolFree(vol);
        if (pool)
            virStoragePoolFree(pool);
        return ok;
    }
    }
    return FALSE;
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
    /* newest first: a file before its directory, an overlay before what it backs onto */
    for (guint i = disks->created->len; i-- > 0;) {
        const DstOwned *owned = g_ptr_array_index(disks->created, i);
        const char *path = owned->path;
        g_autoptr(GError) error = NULL;

        /* a command that timed out broke the session: what ferry created still goes */
        if ((ferry_ssh_session_is_broken(m->dst_ssh) &&
             !ferry_ssh_session_reconnect(m->dst_ssh, &error)) ||
            !dst_owned_remove(m, owned, &error))
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
    if (!disks || disks->kept)
        return;
    for (guint i = disks->created->len; i-- > 0;) {
        const DstOwned *owned = g_ptr_array_index(disks->created, i);
        g_autofree char *volume =
            owned->kind == DST_OWNED_VOLUME ? g_strdup_printf("%s/%s", owned->pool, owned->name)
                                            : NULL;

        if (g_hash_table_contains(in_use, owned->path) ||
            (volume && g_hash_table_contains(in_use, volume))) {
            ferry_migration_file(disks->m, FERRY_FILE_KEPT, disks->m->dst, owned->path,
                                 "'%s' on %s is not removed: a domain there uses it",
                                 owned->path, disks->m->dst->name);
            g_ptr_array_remove_index(disks->created, i);
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

static void
dst_owned_dir(FerryMigration *m, const char *dir)
{
    dst_disks_own_full(dst_disks_guard(m), DST_OWNED_DIR, dir, NULL, NULL);
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

/* How files reach the destination, decided once per move rather than once per file: host to
 * host when the source's ssh trust in the destination holds, else relayed through ferry.  A
 * changed or revoked host key of the destination stops the move: relaying would send the data
 * to it all the same. */
static gboolean
dst_copy_mode(FerryMigration *m, const FerrySshPeer *peer, FerryCopyMode *mode, GError **error)
{
    if (m->copy_mode == FERRY_COPY_AUTO) {
        g_autoptr(FerryTrustResult) trust = ferry_trust_check_session(m->src_ssh, peer);

        if (ferry_trust_class_is_fatal(trust->klass)) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_FAILED,
                        "the ssh trust from '%s' to '%s' failed with %s, which ferry does not "
                        "work around by relaying: %s; remedy: %s",
                        m->src->name, m->dst->name, ferry_trust_class_to_string(trust->klass),
                        trust->detail, ferry_trust_class_remedy(trust->klass));
            return FALSE;
        }
        m->copy_mode =
            trust->klass == FERRY_TRUST_OK ? FERRY_COPY_HOST_TO_HOST : FERRY_COPY_RELAY;
    }
    *mode = m->copy_mode;
    return TRUE;
}

/* `qemu-img rebase -u`: the copied header still names the source's backing path; only the name
 * moves, the data is the same file, so nothing is rewritten but the header. */
static gboolean
dst_rebase(FerryMigration *m, const char *path, const char *format, const char *backing,
           const char *backing_format, GError **error)
{
    g_autoptr(GPtrArray) argv = ferry_image_rebase_argv(format, backing, backing_format, path);

    if (!ferry_ssh_session_check(m->dst_ssh, (const char *const *)argv->pdata, NULL, error)) {
        g_prefix_error(error, "cannot point '%s' at its backing file '%s' on '%s': ", path,
                       backing, m->dst->name);
        return FALSE;
    }
    ferry_migration_info(m, "'%s' now backs onto '%s'", path, backing);
    return TRUE;
}

/* Where backing layer @depth (0: the disk's own backing file) named @recorded in its overlay
 * lives on the destination: the plan's path for it when the XML listed the chain, else mapped
 * like any path. */
static char *
dst_backing_path(FerryMigration *m, const FerryDiskPlan *p, const char *recorded, guint depth,
                 const FerryXmlMapping *map)
{
    g_autofree char *mapped = NULL;

    if (p->dest_backing && depth < p->dest_backing->len)
        return g_strdup(g_ptr_array_index(p->dest_backing, depth));
    if (ferry_xml_mapping_is_shared(map, recorded) ||
        !(mapped = ferry_xml_mapping_map_path(map, recorded, NULL)))
        return g_strdup(recorded);
    return g_steal_pointer(&mapped);
}

/* The destination path of the backing file of @image (at @image_path on the source, layer
 * @depth of @p's chain), made sure to exist there: mapped to the destination's layout, and when
 * missing, copied from the source -- its own backing file first, bottom up, at any depth --
 * checksum-verified, pointed at the destination's path of the layer below when that differs,
 * and owned by the guard.  *@out_backing is NULL when the image has no backing file. */
static gboolean
dst_backing_ready(FerryMigration *m, const FerryDiskPlan *p, const char *image_path,
                  const FerryImageInfo *image, guint depth, const FerryXmlMapping *map,
                  char **out_backing, GError **error)
{
    g_autofree char *backing = NULL;
    g_autofree char *src_backing = NULL;
    g_autofree char *lower = NULL;
    g_autoptr(FerryImageInfo) backing_info = NULL;
    FerrySshPeer peer;
    FerryCopyMode mode;
    FerryCopyResult copied = {0};
    gboolean exists = FALSE;

    *out_backing = NULL;
    if (!image->backing_file)
        return TRUE;
    src_backing = ferry_image_backing_path(image_path, image->backing_file);
    backing = dst_backing_path(m, p, src_backing, depth, map);
    if (!ferry_remote_path_exists(m->dst_ssh, backing, &exists, error))
        return FALSE;
    if (exists) {
        *out_backing = g_steal_pointer(&backing);
        return TRUE;
    }
    if (depth >= FERRY_BACKING_DEPTH_MAX) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                    "backing chain of disk %s is deeper than %d layers", p->disk->target,
                    FERRY_BACKING_DEPTH_MAX);
        return FALSE;
    }
    /* the layer's own backing file is settled (allowed place, declared format) before it is
     * opened, as the top's was by the precheck */
    if (!(backing_info = ferry_remote_image_info(m->src_ssh, src_backing, image->backing_format,
                                                 error)) ||
        !ferry_migration_settle_backing(m, p, backing_info, src_backing, depth + 1, error) ||
        !dst_backing_ready(m, p, src_backing, backing_info, depth + 1, map, &lower, error))
        return FALSE;
    ferry_inventory_peer(m->inventory, m->src, m->dst, &peer);
    if (!dst_copy_mode(m, &peer, &mode, error))
        return FALSE;
    if (!ferry_remote_copy_file(m->src_ssh, m->dst_ssh, src_backing, backing, &peer, mode, NULL,
                                NULL, &copied, error)) {
        g_prefix_error(error, "backing file of disk %s: ", p->disk->target);
        return FALSE;
    }
    dst_disks_own(dst_disks_guard(m), backing);
    ferry_migration_file(
        m, FERRY_FILE_CREATED, m->dst, backing,
        "copied backing file '%s' (%" G_GUINT64_FORMAT " bytes, %s, sha256 %s) to %s", backing,
        copied.bytes, ferry_copy_mode_to_string(copied.mode_used), copied.sha256, m->dst->name);
    if (lower && g_strcmp0(lower, backing_info->backing_file) != 0 &&
        !dst_rebase(m, backing, backing_info->format, lower, backing_info->backing_format,
                    error))
        return FALSE;
    *out_backing = g_steal_pointer(&backing);
    return TRUE;
}

/* The directories an image file kept at its own path needs, made with the owner and mode of
 * the source's directory (a Nova instance directory is Nova's, mode 0755 or as the source). */
static gboolean
dst_make_dirs(FerryMigration *m, const FerryStreamDisk *sd, GError **error)
{
    for (guint i = 0; sd->dirs && i < sd->dirs->len; i++) {
        const char *dir = g_ptr_array_index(sd->dirs, i);
        const char *argv[] = {"sh",
                              "-c",
                              "mkdir -m \"$2\" -- \"$1\" && chown \"$3\" -- \"$1\"",
                              "sh",
                              dir,
                              sd->dirs_mode,
                              sd->dirs_owner,
                              NULL};

        if (!ferry_ssh_session_check(m->dst_ssh, argv, NULL, error)) {
            g_prefix_error(error, "cannot create directory '%s' on '%s': ", dir, m->dst->name);
            return FALSE;
        }
        dst_owned_dir(m, dir);
        ferry_migration_file(m, FERRY_FILE_CREATED, m->dst, dir,
                             "created directory '%s' (owner %s, mode %s) on %s", dir,
                             sd->dirs_owner, sd->dirs_mode, m->dst->name);
    }
    return TRUE;
}

/* A logical volume of the source's size in the destination's volume group. */
static gboolean
dst_create_lv(FerryMigration *m, const FerryStreamDisk *sd, GError **error)
{
    const FerryDiskPlan *p = sd->plan;
    g_autofree char *size = g_strdup_printf("%" G_GUINT64_FORMAT "b", sd->image->virtual_size);
    const char *argv[] = {"lvcreate", "-y", "-q", "-L", size, "-n", p->dest_lv, "--",
                          p->dest_vg, NULL};

    if (!ferry_ssh_session_check(m->dst_ssh, argv, NULL, error)) {
        g_prefix_error(error, "cannot create logical volume '%s' in '%s' on '%s': ", p->dest_lv,
                       p->dest_vg, m->dst->name);
        return FALSE;
    }
    dst_disks_own_full(dst_disks_guard(m), DST_OWNED_LV, sd->dst_path, NULL, NULL);
    ferry_migration_file(m, FERRY_FILE_CREATED, m->dst, sd->dst_path,
                         "created logical volume '%s' (%" G_GUINT64_FORMAT " bytes) on %s",
                         sd->dst_path, sd->image->virtual_size, m->dst->name);
    return TRUE;
}

/* A volume of the source's capacity and format in the destination's pool, through libvirt's
 * storage API (libvirt knows it from then on); its path is set in @sd. */
static gboolean
dst_create_volume(FerryMigration *m, FerryStreamDisk *sd, GError **error)
{
    const FerryDiskPlan *p = sd->plan;
    g_autofree char *name = g_markup_escape_text(p->src_volume, -1);
    g_autofree char *format = g_markup_escape_text(sd->image->format, -1);
    g_autofree char *xml = g_strdup_printf(
        "<volume><name>%s</name><capacity unit='bytes'>%" G_GUINT64_FORMAT "</capacity>"
        "<target><format type='%s'/></target></volume>",
        name, sd->image->virtual_size, format);
    virStoragePoolPtr pool = virStoragePoolLookupByName(m->dconn, p->dest_pool);
    virStorageVolPtr vol = pool ? virStorageVolCreateXML(pool, xml, 0) : NULL;
    char *path = vol ? virStorageVolGetPath(vol) : NULL;

    if (vol)
        dst_disks_own_full(dst_disks_guard(m), DST_OWNED_VOLUME, path ? path : p->dest_source,
                           p->dest_pool, p->src_volume);
    if (!path)
        ferry_virt_set_error(error, "cannot create volume '%s' in pool '%s' on '%s'",
                             p->src_volume, p->dest_pool, m->dst->name);
    else
        ferry_migration_file(m, FERRY_FILE_CREATED, m->dst, path,
                             "created %s volume '%s' (%" G_GUINT64_FORMAT
                             " bytes) in pool '%s' on %s: '%s'",
                             sd->image->format, p->src_volume, sd->image->virtual_size,
                             p->dest_pool, m->dst->name, path);
    g_free(sd->dst_path);
    sd->dst_path = g_strdup(path);
    free(path);
    if (vol)
        virStorageVolFree(vol);
    if (pool)
        virStoragePoolFree(pool);
    return sd->dst_path != NULL;
}

/* The disk's destination as the precheck decided it (owned by @m: the volume's path is filled
 * in when it is created). */
static FerryStreamDisk *
dst_stream_disk(FerryMigration *m, const FerryDiskPlan *p, GError **error)
{
    return (FerryStreamDisk *)ferry_migration_stream_disk(m, p, error);
}

/* libvirt streams into the files the created pool volumes are, not into the volumes. */
static gboolean
dst_live_xml(FerryMigration *m, GError **error)
{
    g_autoptr(GHashTable) paths = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(FerryDomainXml) dest = NULL;

    for (guint i = 0; i < m->streamed->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(m->streamed, i);
        const FerryStreamDisk *sd = g_hash_table_lookup(m->stream_disks, p);

        if (sd && sd->prep == FERRY_DST_PREP_VOLUME && sd->dst_path)
            g_hash_table_insert(paths, p->disk->target, sd->dst_path);
    }
    if (!g_hash_table_size(paths))
        return TRUE;
    if (!(dest = ferry_domain_xml_parse(m->dest_xml, "the destination's XML", error)))
        return FALSE;
    g_free(m->dest_live_xml);
    m->dest_live_xml = ferry_domain_xml_volumes_as_files(dest, paths, error);
    return m->dest_live_xml != NULL;
}

gboolean
ferry_migration_dst_create_disks(FerryMigration *m, gboolean full, GError **error)
{
    g_autoptr(FerryXmlMapping) map = ferry_inventory_mapping(m->src, m->dst);

    if (!ferry_migration_open_ssh(m, error))
        return FALSE;
    for (guint i = 0; i < m->streamed->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(m->streamed, i);
        FerryStreamDisk *sd;
        const FerryImageInfo *image;
        g_autofree char *backing = NULL;

        if (!(sd = dst_stream_disk(m, p, error)))
            return FALSE;
        image = sd->image;
        m->disk_copy_bytes += image->virtual_size;
        switch (sd->prep) {
        case FERRY_DST_PREP_DEVICE:
            ferry_migration_info(m, "disk %s streams into block device '%s' on %s",
                                 p->disk->target, sd->dst_path, m->dst->name);
            continue;
        case FERRY_DST_PREP_LV:
            if (!dst_create_lv(m, sd, error))
                return FALSE;
            continue;
        case FERRY_DST_PREP_VOLUME:
            if (!dst_create_volume(m, sd, error))
                return FALSE;
            continue;
        case FERRY_DST_PREP_IMAGE:
        case FERRY_DST_PREP_LAST:
            break;
        }
        if (!dst_make_dirs(m, sd, error))
            return FALSE;
        if (!full && !dst_backing_ready(m, p, sd->src_path, image, 0, map, &backing, error))
            return FALSE;
        if (!ferry_remote_image_create(m->dst_ssh, p->dest_source, image->format,
                                       image->virtual_size, backing,
                                       backing ? image->backing_format : NULL, error)) {
            g_prefix_error(error, "cannot prepare disk %s on '%s': ", p->disk->target,
                           m->dst->name);
            return FALSE;
        }
        dst_disks_own(dst_disks_guard(m), p->dest_source);
        ferry_migration_file(m, FERRY_FILE_CREATED, m->dst, p->dest_source,
                             "created %s image '%s' (%" G_GUINT64_FORMAT " bytes%s%s) on %s",
                             image->format, p->dest_source, image->virtual_size,
                             backing ? ", backing " : "", backing ? backing : "", m->dst->name);
    }
    return dst_live_xml(m, error);
}

/* Cold, into a device or volume: the source's bytes (a device's whole size, a file's length)
 * written in place host to host, sha256 compared. */
static gboolean
dst_copy_into(FerryMigration *m, FerryStreamDisk *sd, const FerrySshPeer *peer, guint64 *bytes,
              GError **error)
{
    FerrySshStat st = {0};
    FerryCopyResult copied = {0};
    guint64 size;

    if (!ferry_ssh_sftp_stat(m->src_ssh, sd->src_path, TRUE, &st, error))
        return FALSE;
    size = S_ISREG(st.mode) ? st.size : sd->image->virtual_size;
    if (!ferry_remote_copy_into(m->src_ssh, m->dst_ssh, sd->src_path, sd->dst_path, size, peer,
                                &copied, error)) {
        g_prefix_error(error, "disk %s of '%s': ", sd->plan->disk->target, m->domain_name);
        return FALSE;
    }
    *bytes += copied.bytes;
    ferry_migration_info(m, "copied disk %s into '%s' on %s (%" G_GUINT64_FORMAT " bytes, sha256 %s)",
                         sd->plan->disk->target, sd->dst_path, m->dst->name, copied.bytes,
                         copied.sha256);
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
        FerryStreamDisk *sd;
        const FerryImageInfo *image;
        g_autofree char *backing = NULL;
        FerryCopyResult copied = {0};
        FerryCopyWatch watch = {.m = m};
        FerryCopyMode mode;

        if (!(sd = dst_stream_disk(m, p, error)))
            return FALSE;
        image = sd->image;
        switch (sd->prep) {
        case FERRY_DST_PREP_DEVICE:
            if (!dst_copy_into(m, sd, &peer, bytes, error))
                return FALSE;
            continue;
        case FERRY_DST_PREP_LV:
            if (!dst_create_lv(m, sd, error) || !dst_copy_into(m, sd, &peer, bytes, error))
                return FALSE;
            continue;
        case FERRY_DST_PREP_VOLUME:
            if (!dst_create_volume(m, sd, error) || !dst_copy_into(m, sd, &peer, bytes, error))
                return FALSE;
            continue;
        case FERRY_DST_PREP_IMAGE:
        case FERRY_DST_PREP_LAST:
            break;
        }
        if (!dst_make_dirs(m, sd, error) ||
            !dst_backing_ready(m, p, sd->src_path, image, 0, map, &backing, error))
            return FALSE;
        if (!dst_copy_mode(m, &peer, &mode, error))
            return FALSE;
        watch.start = g_get_monotonic_time();
        if (!ferry_remote_copy_file(m->src_ssh, m->dst_ssh, sd->src_path, p->dest_source, &peer,
                                    mode, on_copy_progress, &watch, &copied, error)) {
            g_prefix_error(error, "disk %s of '%s': ", p->disk->target, m->domain_name);
            return FALSE;
        }
        dst_disks_own(dst_disks_guard(m), p->dest_source);
        *bytes += copied.bytes;
        ferry_migration_file(
            m, FERRY_FILE_CREATED, m->dst, p->dest_source,
            "copied disk %s to '%s' on %s (%" G_GUINT64_FORMAT " bytes, %s, sha256 %s)",
            p->disk->target, p->dest_source, m->dst->name, copied.bytes,
            ferry_copy_mode_to_string(copied.mode_used), copied.sha256);
        if (backing && g_strcmp0(backing, image->backing_file) != 0 &&
            !dst_rebase(m, p->dest_source, image->format, backing, image->backing_format, error))
            return FALSE;
    }
    return TRUE;
}

gboolean
ferry_migration_dst_copy_files(FerryMigration *m, GError **error)
{
    FerrySshPeer peer;

    if (!m->file_copies || !m->file_copies->len)
        return TRUE;
    if (!ferry_migration_open_ssh(m, error))
        return FALSE;
    ferry_inventory_peer(m->inventory, m->src, m->dst, &peer);
    for (guint i = 0; i < m->file_copies->len; i++) {
        const FerryFileCopy *c = g_ptr_array_index(m->file_copies, i);
        FerryCopyResult copied = {0};
        FerryCopyMode mode;

        if (!dst_copy_mode(m, &peer, &mode, error))
            return FALSE;
        if (!ferry_remote_copy_file(m->src_ssh, m->dst_ssh, c->src_path, c->dst_path, &peer, mode,
                                    NULL, NULL, &copied, error)) {
            g_prefix_error(error, "%s of '%s': ", c->what, m->domain_name);
            return FALSE;
        }
        dst_disks_own(dst_disks_guard(m), c->dst_path);
        ferry_migration_file(m, FERRY_FILE_CREATED, m->dst, c->dst_path,
                             "copied %s '%s' to %s (%" G_GUINT64_FORMAT " bytes, sha256 %s)",
                             c->what, c->dst_path, m->dst->name, copied.bytes, copied.sha256);
    }
    return TRUE;
}
