/*
 * ferry-precheck-disks.c: each streamed disk and each file outside <disk>, asked of both hosts
 * before anything moves.
 *
 * A streamed disk is an image file (created at its mapped path, or at the same path when no
 * mapping applies: its missing directories are made with the source directory's owner and
 * mode), a block device (written into a device of the same path that exists and is large
 * enough, or into a logical volume ferry creates in the destination's volume group), or a
 * storage pool volume (created by libvirt in the destination's pool).  Whatever would be
 * created must not exist yet; whatever exists and would be written into must not be used by a
 * domain there.  Nothing here changes anything on any host.
 */
#include <libvirt/virterror.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/ferry-migration-private.h"
#include "engine/ferry-virt-util.h"
#include "ssh/ferry-remote-disk.h"

void
ferry_stream_disk_free(FerryStreamDisk *disk)
{
    if (!disk)
        return;
    g_free(disk->src_path);
    g_clear_pointer(&disk->image, ferry_image_info_free);
    g_free(disk->dst_path);
    g_clear_pointer(&disk->dirs, g_ptr_array_unref);
    g_free(disk->dirs_owner);
    g_free(disk->dirs_mode);
    g_free(disk);
}

void
ferry_file_copy_free(FerryFileCopy *copy)
{
    if (!copy)
        return;
    g_free(copy->what);
    g_free(copy->src_path);
    g_free(copy->dst_path);
    g_free(copy);
}

/* Runs @argv on @session and returns its stdout, stripped; NULL with @error on a non-zero exit. */
static char *
ssh_output(FerrySshSession *session, const char *const *argv, GError **error)
{
    g_autofree char *out = NULL;

    if (!ferry_ssh_session_check(session, argv, &out, error))
        return NULL;
    return g_strstrip(g_steal_pointer(&out));
}

/* The size of block device @path on @session's host, in bytes. */
static gboolean
block_device_size(FerrySshSession *session, const char *path, guint64 *size, GError **error)
{
    const char *argv[] = {"blockdev", "--getsize64", path, NULL};
    g_autofree char *out = ssh_output(session, argv, error);

    if (!out)
        return FALSE;
    if (!g_ascii_string_to_unsigned(out, 10, 0, G_MAXUINT64, size, NULL)) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_FAILED,
                    "'blockdev --getsize64 %s' printed '%s' on '%s'", path, out,
                    ferry_ssh_session_get_name(session));
        return FALSE;
    }
    return TRUE;
}

/* A path no domain on the destination may use: it would be written into. */
static gboolean
dst_path_unused(FerryMigration *m, const char *path, const char *what, GError **error)
{
    g_autoptr(GHashTable) in_use = ferry_migration_dst_paths_in_use(m, error);

    if (!in_use)
        return FALSE;
    if (g_hash_table_contains(in_use, path)) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                    "%s '%s' on '%s' is used by a domain there: refusing to write into it", what,
                    path, m->dst->name);
        return FALSE;
    }
    return TRUE;
}

/* Image file: the path must be free; its missing directories are made later, with the owner
 * and mode of the source's own directory (as Nova makes an instance directory). */
static gboolean
stream_dst_file(FerryMigration *m, FerryStreamDisk *sd, GError **error)
{
    const FerryDiskPlan *p = sd->plan;
    g_autofree char *dir = g_path_get_dirname(p->dest_source);
    g_autofree char *src_dir = g_path_get_dirname(sd->src_path);
    gboolean exists = FALSE;

    if (!ferry_remote_path_exists(m->dst_ssh, p->dest_source, &exists, error))
        return FALSE;
    if (exists) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                    "'%s' already exists on '%s' (disk %s of '%s'): refusing to overwrite it; "
                    "remove it if it is stale",
                    p->dest_source, m->dst->name, p->disk->target, m->domain_name);
        return FALSE;
    }
    sd->prep = FERRY_DST_PREP_IMAGE;
    sd->dst_path = g_strdup(p->dest_source);
    sd->dirs = g_ptr_array_new_with_free_func(g_free);
    while (!g_str_equal(dir, "/")) {
        FerrySshStat st = {0};
        char *up;

        if (!ferry_ssh_sftp_stat(m->dst_ssh, dir, TRUE, &st, error))
            return FALSE;
        if (st.exists && !S_ISDIR(st.mode)) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                        "'%s' exists on '%s' and is not a directory (disk %s of '%s' goes to "
                        "'%s')",
                        dir, m->dst->name, p->disk->target, m->domain_name, p->dest_source);
            return FALSE;
        }
        if (st.exists)
            break;
        g_ptr_array_insert(sd->dirs, 0, g_strdup(dir));
        up = g_path_get_dirname(dir);
        g_free(dir);
        dir = up;
    }
    if (sd->dirs->len) {
        const char *argv[] = {"stat", "-L", "-c", "%u:%g %a", "--", src_dir, NULL};
        g_autofree char *out = ssh_output(m->src_ssh, argv, error);
        char *space = out ? strchr(out, ' ') : NULL;

        if (!space) {
            g_prefix_error(error, "cannot read the owner of '%s' on '%s': ", src_dir,
                           m->src->name);
            return FALSE;
        }
        sd->dirs_owner = g_strndup(out, space - out);
        sd->dirs_mode = g_strdup(space + 1);
    }
    return TRUE;
}

/* Block device: one of the same path, large enough and unused; else a logical volume ferry
 * creates in the destination's volume group. */
static gboolean
stream_dst_block(FerryMigration *m, FerryStreamDisk *sd, GError **error)
{
    const FerryDiskPlan *p = sd->plan;
    FerrySshStat st = {0};
    guint64 size = 0;

    sd->dst_path = g_strdup(p->dest_source);
    if (!ferry_ssh_sftp_stat(m->dst_ssh, p->dest_source, TRUE, &st, error))
        return FALSE;
    if (st.exists) {
        if (!S_ISBLK(st.mode)) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                        "'%s' exists on '%s' and is not a block device (disk %s of '%s')",
                        p->dest_source, m->dst->name, p->disk->target, m->domain_name);
            return FALSE;
        }
        if (!block_device_size(m->dst_ssh, p->dest_source, &size, error))
            return FALSE;
        if (size < sd->image->virtual_size) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                        "block device '%s' on '%s' has %" G_GUINT64_FORMAT
                        " bytes; disk %s of '%s' needs %" G_GUINT64_FORMAT,
                        p->dest_source, m->dst->name, size, p->disk->target, m->domain_name,
                        sd->image->virtual_size);
            return FALSE;
        }
        /* QEMU's drive-mirror refuses a target of another size ("Source and target image
         * have different sizes"); a cold copy writes the bytes into a larger device as well */
        if (!m->cold && size != sd->image->virtual_size) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                        "block device '%s' on '%s' has %" G_GUINT64_FORMAT
                        " bytes, the source's %" G_GUINT64_FORMAT
                        " (disk %s of '%s'): a live block migration needs the same size (QEMU's "
                        "mirror refuses another); resize it, or move the guest shut off",
                        p->dest_source, m->dst->name, size, sd->image->virtual_size,
                        p->disk->target, m->domain_name);
            return FALSE;
        }
        if (!dst_path_unused(m, p->dest_source, "block device", error))
            return FALSE;
        sd->prep = FERRY_DST_PREP_DEVICE;
        return TRUE;
    }
    if (!p->dest_vg) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                    "block device '%s' does not exist on '%s' and is not a logical volume ferry "
                    "can create (disk %s of '%s'): create it there (at least %" G_GUINT64_FORMAT
                    " bytes) first",
                    p->dest_source, m->dst->name, p->disk->target, m->domain_name,
                    sd->image->virtual_size);
        return FALSE;
    }
    {
        const char *argv[] = {"vgs",   "--noheadings", "--nosuffix", "--units", "b",
                              "-o",    "vg_free",      "--",         p->dest_vg, NULL};
        g_autoptr(GError) local = NULL;
        g_autofree char *out = ssh_output(m->dst_ssh, argv, &local);
        guint64 free_bytes = 0;

        if (!out || !g_ascii_string_to_unsigned(out, 10, 0, G_MAXUINT64, &free_bytes, NULL)) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                        "block device '%s' does not exist on '%s', and volume group '%s' to "
                        "create it in is not there (%s): create the volume group, or map it "
                        "with volume_groups in the inventory",
                        p->dest_source, m->dst->name, p->dest_vg,
                        local ? local->message : out);
            return FALSE;
        }
        if (free_bytes < sd->image->virtual_size) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                        "volume group '%s' on '%s' has %" G_GUINT64_FORMAT
                        " bytes free; logical volume '%s' needs %" G_GUINT64_FORMAT,
                        p->dest_vg, m->dst->name, free_bytes, p->dest_lv,
                        sd->image->virtual_size);
            return FALSE;
        }
    }
    sd->prep = FERRY_DST_PREP_LV;
    return TRUE;
}

/* Pool volume: the destination's pool exists and runs, and has no volume of that name. */
static gboolean
stream_dst_volume(FerryMigration *m, FerryStreamDisk *sd, GError **error)
{
    const FerryDiskPlan *p = sd->plan;
    virStoragePoolPtr pool = virStoragePoolLookupByName(m->dconn, p->dest_pool);
    virStorageVolPtr vol;
    virStoragePoolInfo info;

    if (!pool) {
        ferry_virt_set_error_full(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                                  "'%s' has no storage pool '%s' for volume '%s' (disk %s of "
                                  "'%s'): define it there, or map it with pools in the inventory",
                                  m->dst->name, p->dest_pool, p->src_volume, p->disk->target,
                                  m->domain_name);
        return FALSE;
    }
    if (virStoragePoolIsActive(pool) != 1 || virStoragePoolGetInfo(pool, &info) < 0) {
        ferry_virt_set_error_full(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                                  "storage pool '%s' on '%s' is not active", p->dest_pool,
                                  m->dst->name);
        virStoragePoolFree(pool);
        return FALSE;
    }
    vol = virStorageVolLookupByName(pool, p->src_volume);
    virResetLastError();
    virStoragePoolFree(pool);
    if (vol) {
        virStorageVolFree(vol);
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                    "volume '%s' already exists in pool '%s' on '%s' (disk %s of '%s'): "
                    "refusing to overwrite it; delete it if it is stale",
                    p->src_volume, p->dest_pool, m->dst->name, p->disk->target, m->domain_name);
        return FALSE;
    }
    if (info.available < sd->image->virtual_size) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                    "storage pool '%s' on '%s' has %llu bytes available; volume '%s' needs "
                    "%" G_GUINT64_FORMAT,
                    p->dest_pool, m->dst->name, info.available, p->src_volume,
                    sd->image->virtual_size);
        return FALSE;
    }
    sd->prep = FERRY_DST_PREP_VOLUME;
    return TRUE;
}

/* The path of the source's volume, from its pool on the source. */
static char *
src_volume_path(FerryMigration *m, const FerryDiskPlan *p, GError **error)
{
    virStoragePoolPtr pool = virStoragePoolLookupByName(m->sconn, p->src_pool);
    virStorageVolPtr vol = pool ? virStorageVolLookupByName(pool, p->src_volume) : NULL;
    char *path = vol ? virStorageVolGetPath(vol) : NULL;
    char *ret = NULL;

    if (!path)
        ferry_virt_set_error(error, "cannot find volume '%s' of pool '%s' on '%s' (disk %s)",
                             p->src_volume, p->src_pool, m->src->name, p->disk->target);
    else
        ret = g_strdup(path);
    free(path);
    if (vol)
        virStorageVolFree(vol);
    if (pool)
        virStoragePoolFree(pool);
    return ret;
}

/* The backing file @image names, settled before anything opens it: inside the source's
 * images_dir or shared_dirs -- or, for a disk kept at its own path, beside it, and for a Nova
 * instance directory (instances/UUID) under instances/ (Nova's _base) -- its format the one the
 * XML declares (else the image's header). */
gboolean
ferry_migration_settle_backing(FerryMigration *m, const FerryDiskPlan *p, FerryImageInfo *image,
                               const char *path, guint depth, GError **error)
{
    g_auto(GStrv) dirs = ferry_host_storage_dirs(m->src);
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    g_auto(GStrv) allowed = NULL;
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(dir);
    g_autofree char *parent = g_path_get_dirname(dir);
    const FerryDomainBacking *declared =
        p->disk->backing_chain && depth < p->disk->backing_chain->len
            ? g_ptr_array_index(p->disk->backing_chain, depth)
            : NULL;

    g_strv_builder_addv(b, (const char **)dirs);
    if (p->same_path && !g_str_equal(dir, "/"))
        g_strv_builder_add(b, dir);
    if (p->same_path && m->uuid[0] && g_str_equal(base, m->uuid) &&
        g_str_has_suffix(parent, "/instances"))
        g_strv_builder_add(b, parent);
    allowed = g_strv_builder_end(b);
    return ferry_image_settle_backing(image, path, declared ? declared->format : NULL,
                                      (const char *const *)allowed, error);
}

const FerryStreamDisk *
ferry_migration_stream_disk(FerryMigration *m, const FerryDiskPlan *p, GError **error)
{
    g_autoptr(FerryStreamDisk) sd = NULL;
    const FerryStreamDisk *known;
    gboolean ok = FALSE;

    if (!m->stream_disks)
        m->stream_disks = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                                (GDestroyNotify)ferry_stream_disk_free);
    if ((known = g_hash_table_lookup(m->stream_disks, p)) != NULL)
        return known;
    if (!ferry_migration_open_ssh(m, error))
        return NULL;
    sd = g_new0(FerryStreamDisk, 1);
    sd->plan = p;
    if (p->storage == FERRY_DISK_STORAGE_VOLUME) {
        if (!p->disk->driver_type) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                        "disk %s of '%s' (volume '%s') declares no format (<driver type=...>): "
                        "ferry never guesses one",
                        p->disk->target, m->domain_name, p->disk->source);
            return NULL;
        }
        if (!(sd->src_path = src_volume_path(m, p, error)))
            return NULL;
    } else {
        sd->src_path = g_strdup(p->disk->source);
    }
    sd->image = ferry_remote_image_info(m->src_ssh, sd->src_path,
                                        p->disk->driver_type ? p->disk->driver_type
                                        : p->storage == FERRY_DISK_STORAGE_BLOCK ? "raw"
                                                                                  : NULL,
                                        error);
    if (!sd->image || !ferry_migration_settle_backing(m, p, sd->image, sd->src_path, 0, error)) {
        g_prefix_error(error, "disk %s of '%s': ", p->disk->target, m->domain_name);
        return NULL;
    }
    if (p->storage != FERRY_DISK_STORAGE_FILE && sd->image->backing_file) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                    "disk %s of '%s' ('%s') has a backing file '%s': ferry streams backing "
                    "chains of image files only",
                    p->disk->target, m->domain_name, sd->src_path, sd->image->backing_file);
        return NULL;
    }
    switch (p->storage) {
    case FERRY_DISK_STORAGE_FILE:
        ok = stream_dst_file(m, sd, error);
        break;
    case FERRY_DISK_STORAGE_BLOCK:
        ok = stream_dst_block(m, sd, error);
        break;
    case FERRY_DISK_STORAGE_VOLUME:
        ok = stream_dst_volume(m, sd, error);
        break;
    case FERRY_DISK_STORAGE_LAST:
        break;
    }
    if (!ok)
        return NULL;
    known = sd;
    g_hash_table_insert(m->stream_disks, (gpointer)p, g_steal_pointer(&sd));
    return known;
}

/* ---- files outside <disk> */

static void
file_copy_add(FerryMigration *m, const char *what, const char *src, const char *dst)
{
    FerryFileCopy *copy = g_new0(FerryFileCopy, 1);

    copy->what = g_strdup(what);
    copy->src_path = g_strdup(src);
    copy->dst_path = g_strdup(dst);
    g_ptr_array_add(m->file_copies, copy);
}

static gboolean
precheck_file(FerryMigration *m, const FerryFilePlan *f, GError **error)
{
    const char *what = ferry_file_kind_to_string(f->kind);
    gboolean src_exists = FALSE, dst_exists = FALSE;
    g_autofree char *src_sum = NULL;
    g_autofree char *dst_sum = NULL;

    if (f->action == FERRY_FILE_SHARED || f->action == FERRY_FILE_REFUSE)
        return TRUE;
    if (!ferry_remote_path_exists(m->dst_ssh, f->dest, &dst_exists, error))
        return FALSE;
    if (f->action == FERRY_FILE_REQUIRE) {
        if (!dst_exists) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                        "%s '%s' (line %d) does not exist on '%s': install it there (the "
                        "firmware package) before moving '%s'",
                        what, f->dest, f->line, m->dst->name, m->domain_name);
            return FALSE;
        }
        return TRUE;
    }
    if (!ferry_remote_path_exists(m->src_ssh, f->source, &src_exists, error))
        return FALSE;
    if (!src_exists) {
        /* libvirt makes a missing NVRAM from its template at the next start */
        if (f->kind == FERRY_FILE_NVRAM && m->cold)
            return TRUE;
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                    "%s '%s' (line %d) of '%s' does not exist on its source '%s'", what,
                    f->source, f->line, m->domain_name, m->src->name);
        return FALSE;
    }
    if (f->action == FERRY_FILE_COPY) {
        if (dst_exists) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                        "%s '%s' already exists on '%s': refusing to overwrite it with the "
                        "guest's; remove it if it is stale",
                        what, f->dest, m->dst->name);
            return FALSE;
        }
        file_copy_add(m, what, f->source, f->dest);
        return TRUE;
    }
    /* ENSURE: read at start, so the destination's bytes must be the source's */
    if (!dst_exists) {
        file_copy_add(m, what, f->source, f->dest);
        return TRUE;
    }
    if (!(src_sum = ferry_remote_file_sha256(m->src_ssh, f->source, error)) ||
        !(dst_sum = ferry_remote_file_sha256(m->dst_ssh, f->dest, error)))
        return FALSE;
    if (!g_str_equal(src_sum, dst_sum)) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                    "%s '%s' on '%s' is not the source's '%s' (sha256 %.12s..., source %.12s...): "
                    "'%s' would boot other bytes there; remove or replace it",
                    what, f->dest, m->dst->name, f->source, dst_sum, src_sum, m->domain_name);
        return FALSE;
    }
    ferry_migration_info(m, "%s '%s' on %s is the source's (sha256 %s)", what, f->dest,
                         m->dst->name, dst_sum);
    return TRUE;
}

/* Nova's instance directory (instances/UUID/ with the guest's UUID) holds, beside the disks,
 * disk.info (the disks' formats) and console.log: they follow the disks, libvirt.xml does not
 * (Nova writes its own on the destination). */
static gboolean
precheck_nova_dir(FerryMigration *m, GHashTable *seen, const FerryDiskPlan *p, GError **error)
{
    static const char *const beside[] = {"disk.info", "console.log"};
    g_autofree char *dir = g_path_get_dirname(p->disk->source);
    g_autofree char *base = g_path_get_basename(dir);
    g_autofree char *parent = g_path_get_dirname(dir);
    g_autofree char *parent_base = g_path_get_basename(parent);
    g_autofree char *dst_dir = g_path_get_dirname(p->dest_source);

    if (!m->uuid[0] || !g_str_equal(base, m->uuid) || !g_str_equal(parent_base, "instances") ||
        g_hash_table_contains(seen, dir))
        return TRUE;
    g_hash_table_add(seen, g_strdup(dir));
    for (size_t i = 0; i < G_N_ELEMENTS(beside); i++) {
        g_autofree char *src = g_build_filename(dir, beside[i], NULL);
        g_autofree char *dst = g_build_filename(dst_dir, beside[i], NULL);
        gboolean src_exists = FALSE, dst_exists = FALSE;

        if (!ferry_remote_path_exists(m->src_ssh, src, &src_exists, error) ||
            !ferry_remote_path_exists(m->dst_ssh, dst, &dst_exists, error))
            return FALSE;
        if (src_exists && !dst_exists)
            file_copy_add(m, beside[i], src, dst);
    }
    return TRUE;
}

gboolean
ferry_migration_precheck_files(FerryMigration *m, GError **error)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    m->file_copies = g_ptr_array_new_with_free_func((GDestroyNotify)ferry_file_copy_free);
    for (guint i = 0; m->files && i < m->files->len; i++) {
        if (!precheck_file(m, g_ptr_array_index(m->files, i), error))
            return FALSE;
    }
    for (guint i = 0; i < m->streamed->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(m->streamed, i);

        if (p->storage == FERRY_DISK_STORAGE_FILE && !precheck_nova_dir(m, seen, p, error))
            return FALSE;
    }
    for (guint i = 0; i < m->file_copies->len; i++) {
        const FerryFileCopy *c = g_ptr_array_index(m->file_copies, i);

        ferry_migration_info(m, "%s '%s' is missing on %s: copied from %s", c->what, c->dst_path,
                             m->dst->name, m->src->name);
    }
    return TRUE;
}
