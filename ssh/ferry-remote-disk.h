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

/* `qemu-img info -U --output=json PATH` on the host. */
FerryImageInfo *ferry_remote_image_info(FerrySshSession *session, const char *path,
                                        GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Creates an image (parent directories too): qemu-img create -f FORMAT [-b BACKING -F BFMT]
 * PATH SIZE.  Refuses to overwrite an existing file (FERRY_SSH_ERROR_REMOTE).  All paths here
 * must be absolute (FERRY_SSH_ERROR_INVALID otherwise); @backing_file may be relative to the
 * image's directory, and its format is probed with qemu-img info when @backing_format is NULL. */
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

/* sha256 of a file's contents on the host, lowercase hex. */
char *ferry_remote_file_sha256(FerrySshSession *session, const char *path, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
