/*
 * ferry-remote-copy.h: copy a file (a disk image) from one compute host to another.
 *
 * Host to host: the source runs `ssh DEST 'cat > TMP'` as the migration user with the file on
 * stdin, over the trust that ferry_trust_check_session() checks.  Relay: ferry reads the file
 * over SFTP from the source and writes it over SFTP to the destination.  Either way the data goes
 * to a temporary file next to the destination path, which is fsynced with its directory; both
 * ends' sha256 are compared (the destination's read back after the fsync), and only then is it
 * renamed to the final name and the directory fsynced again; on any failure the temporary file
 * is removed.  Every command is bounded by a deadline scaled to the file's size
 * (ferry_ssh_deadline_for_bytes), not a fixed one.
 */
#pragma once

#include "ssh/ferry-ssh-trust.h"

G_BEGIN_DECLS

typedef enum {
    FERRY_COPY_AUTO,         /* host to host when the trust check passes, else relay */
    FERRY_COPY_HOST_TO_HOST, /* only host to host */
    FERRY_COPY_RELAY,        /* only through ferry */
    FERRY_COPY_LAST
} FerryCopyMode;

const char *ferry_copy_mode_to_string(FerryCopyMode mode);

/* @done of @total bytes, at @bytes_per_s on average since the copy began; called in the
 * caller's thread: as the relay writes, and once a second during a host-to-host copy (the size
 * of the destination's temporary file). */
typedef void (*FerryCopyProgressFunc)(guint64 done, guint64 total, guint64 bytes_per_s,
                                      gpointer user_data);

typedef struct {
    FerryCopyMode mode_used; /* HOST_TO_HOST or RELAY */
    guint64 bytes;
    char sha256[65];
} FerryCopyResult;

/* Copies @src_path on @src to @dst_path on @dst (parent directories are created).  An existing
 * @dst_path is refused.  @peer says how @src reaches @dst (host to host); it may be NULL only
 * with FERRY_COPY_RELAY.  @result may be NULL. */
gboolean ferry_remote_copy_file(FerrySshSession *src, FerrySshSession *dst, const char *src_path,
                                const char *dst_path, const FerrySshPeer *peer, FerryCopyMode mode,
                                FerryCopyProgressFunc progress, gpointer progress_data,
                                FerryCopyResult *result, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Writes the first @size bytes of @src_path on @src (a file or a block device) into @dst_path on
 * @dst, which must exist: a block device (written in place, it may be larger) or a file made
 * by libvirt's storage API (replaced).  Host to host only, over @peer's checked trust; dd's
 * conv=fsync makes the bytes durable, then the sha256 of those @size bytes is compared on both
 * ends.  Nothing is removed on failure: the target is not ferry's to remove here. */
gboolean ferry_remote_copy_into(FerrySshSession *src, FerrySshSession *dst, const char *src_path,
                                const char *dst_path, guint64 size, const FerrySshPeer *peer,
                                FerryCopyResult *result, GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
