/*
 * ferry-remote-disk.h: disk image operations on a compute host, over a FerrySshSession.
 */
#pragma once

#include "ssh/ferry-ssh-session.h"

G_BEGIN_DECLS

typedef struct {
    char *format;          /* "qcow2", "raw", ... */
    guint64 virtual_size;  /* bytes */
    guint64 actual_size;   /* bytes allocated on the host */
    char *backing_file;    /* as recorded in the image (may be relative), NULL if none */
    char *backing_format;  /* NULL if none / unknown */
} FerryImageInfo;

void ferry_image_info_free(FerryImageInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryImageInfo, ferry_image_info_free)

/* Formats are never guessed from an image's contents: a guest that writes a qcow2 header into
 * its raw disk would otherwise make qemu-img open any file it names as a backing file.  Every
 * qemu-img command here gets -f (and -F for a backing file) from what the domain XML declares,
 * as libvirt itself does (it refuses to probe formats unless told to). */

/* Is @format a name ferry passes to qemu-img -f?  (raw, qcow2, qed, vmdk, vdi, vpc, vhdx) */
gboolean ferry_image_format_is_known(const char *format);

/* The argv of `qemu-img info -U -f FORMAT --output=json -- PATH` (no --backing-chain: the backing
 * file is not opened).  @format and @path are borrowed; free with g_ptr_array_unref. */
GPtrArray *ferry_image_info_argv(const char *format, const char *path);

/* The argv of `qemu-img create -q -f FORMAT [-b BACKING -F BACKING_FORMAT] -- PATH SIZE`. */
GPtrArray *ferry_image_create_argv(const char *format, const char *backing_file,
                                   const char *backing_format, const char *path,
                                   const char *size);

/* The argv of `qemu-img rebase -u -f FORMAT -b BACKING -F BACKING_FORMAT -- PATH`. */
GPtrArray *ferry_image_rebase_argv(const char *format, const char *backing_file,
                                   const char *backing_format, const char *path);

/* @path (absolute) with "." and ".." removed, or @backing resolved against the directory of
 * @image when it is relative.  Lexical only: symlinks on the host are not followed. */
char *ferry_image_backing_path(const char *image, const char *backing);

/* Is @path (absolute, normalised) inside one of @dirs (NULL-terminated, NULL entries skipped)? */
gboolean ferry_image_path_is_under(const char *path, const char *const *dirs);

/* Settles @image's backing file (read from @image_path's header) before anything opens it: it
 * must lie inside one of @allowed_dirs (the host's images_dir and shared_dirs), else it is
 * refused (FERRY_SSH_ERROR_INVALID), never read nor copied; its format is @declared_format (the
 * domain XML's <backingStore><format>), else the one the header records, and must agree with
 * both when both exist; none is refused.  On success image->backing_format is set. */
gboolean ferry_image_settle_backing(FerryImageInfo *image, const char *image_path,
                                    const char *declared_format, const char *const *allowed_dirs,
                                    GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Reads @path on the host as @format (required: FERRY_SSH_ERROR_INVALID naming the path when
 * NULL or unknown); the backing file the header names is reported, not opened. */
FerryImageInfo *ferry_remote_image_info(FerrySshSession *session, const char *path,
                                        const char *format,
                                        GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Creates an image (parent directories too): qemu-img create -f FORMAT [-b BACKING -F BFMT]
 * PATH SIZE.  Refuses to overwrite an existing file (FERRY_SSH_ERROR_REMOTE).  All paths here
 * must be absolute (FERRY_SSH_ERROR_INVALID otherwise); @backing_file may be relative to the
 * image's directory, and needs @backing_format (never probed). */
gboolean ferry_remote_image_create(FerrySshSession *session, const char *path,
                                   const char *format, guint64 virtual_size,
                                   const char *backing_file, const char *backing_format,
                                   GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Sets *exists (lstat over SFTP: a dangling symlink exists).  FALSE only when the check itself
 * could not be made. */
gboolean ferry_remote_path_exists(FerrySshSession *session, const char *path, gboolean *exists,
                                  GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* rm -f: a missing file is not an error. */
gboolean ferry_remote_file_remove(FerrySshSession *session, const char *path, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

/* fsync(2) of @path (a file or a directory) and of its directory, on the host (coreutils
 * `sync -- PATH DIR`), bounded by a deadline for @bytes yet unwritten. */
gboolean ferry_remote_fsync(FerrySshSession *session, const char *path, guint64 bytes,
                            GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* sha256 of a file of @size bytes, its deadline scaled to the size. */
char *ferry_remote_file_sha256_sized(FerrySshSession *session, const char *path, guint64 size,
                                     GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* sha256 of the file as its disk holds it: read with O_DIRECT (dd iflag=direct), past the page
 * cache, where the file system takes it; else (tmpfs, some network file systems refuse
 * O_DIRECT) a plain read, which after an fsync is what the file system will return. */
char *ferry_remote_file_sha256_durable(FerrySshSession *session, const char *path, guint64 size,
                                       GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* sha256 of a file's contents on the host, lowercase hex. */
char *ferry_remote_file_sha256(FerrySshSession *session, const char *path, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

/* The argv of ferry_remote_file_sha256_durable(). */
GPtrArray *ferry_file_sha256_durable_argv(const char *path);

G_END_DECLS
