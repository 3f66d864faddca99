/*
 * ferry-remote-copy.c: copy a file from one compute host to another, host to host or relayed.
 */
#include "ssh/ferry-remote-copy.h"
#include "ssh/ferry-remote-disk.h"
#include "ssh/ferry-ssh-private.h"

#include <string.h>
#include <sys/stat.h>

#define RELAY_CHUNK (256 * 1024)

static const char *const copy_mode_names[] = {
    [FERRY_COPY_AUTO] = "auto",
    [FERRY_COPY_HOST_TO_HOST] = "host-to-host",
    [FERRY_COPY_RELAY] = "relay",
};
G_STATIC_ASSERT(G_N_ELEMENTS(copy_mode_names) == FERRY_COPY_LAST);

const char *
ferry_copy_mode_to_string(FerryCopyMode mode)
{
    return (guint)mode < FERRY_COPY_LAST ? copy_mode_names[mode] : "invalid";
}

/* The temporary file in the destination directory; removed on failure unless disarmed. */
typedef struct {
    FerrySshSession *dst;
    char *path;
    gboolean armed;
} FerryTmpFile;

static void
tmp_file_clear(FerryTmpFile *tmp)
{
    g_autoptr(GError) error = NULL;

    /* a command that timed out broke the session: the temporary file still goes */
    if (tmp->armed && ferry_ssh_session_is_broken(tmp->dst) &&
        !ferry_ssh_session_reconnect(tmp->dst, &error))
        g_warning("cannot remove temporary copy '%s': %s", tmp->path, error->message);
    else if (tmp->armed && !ferry_remote_file_remove(tmp->dst, tmp->path, &error))
        g_warning("cannot remove temporary copy: %s", error->message);
    g_clear_pointer(&tmp->path, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(FerryTmpFile, tmp_file_clear)

/* On the source: sh -c 'f=$1; shift; exec "$@" <"$f"' sh SRC [runuser -u U --] ssh ... DEST
 * 'sh -c '\''cat > "$1"'\'' sh TMP'.  The file is opened by the login user, ssh runs as the
 * migration user; the command for the destination's shell is quoted here once, and the whole
 * argv once more by the session. */
static gboolean
copy_host_to_host(FerrySshSession *src, FerrySshSession *dst, const char *src_path, const char *tmp,
                  const FerrySshPeer *peer, guint64 total, GError **error)
{
    const char *user = peer->user ? peer->user : src->user;
    const char *remote_argv[] = {"sh", "-c", "umask 022 && exec cat > \"$1\"", "sh", tmp, NULL};
    g_autofree char *remote = ferry_ssh_quote_argv(remote_argv);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    int status = 0;

    g_ptr_array_add(argv, (gpointer) "sh");
    g_ptr_array_add(argv, (gpointer) "-c");
    g_ptr_array_add(argv, (gpointer) "f=$1; shift; exec \"$@\" <\"$f\"");
    g_ptr_array_add(argv, (gpointer) "sh");
    g_ptr_array_add(argv, (gpointer)src_path);
    ferry_trust_append_run_as(src, user, argv);
    ferry_trust_append_ssh(peer, user, peer->key, argv, owned);
    g_ptr_array_add(argv, remote);
    g_ptr_array_add(argv, NULL);

    if (!ferry_ssh_session_run_within(src, (const char *const *)argv->pdata,
                                      ferry_ssh_deadline_for_bytes(total), &out, &err, &status,
                                      error))
        return FALSE;
    if (status != 0) {
        FerryTrustClass klass = ferry_trust_classify_ssh(status, err);

        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE,
                    "copy from '%s' to '%s' over ssh failed with exit status %d (%s): %s",
                    src->name, dst->name, status, ferry_trust_class_to_string(klass),
                    g_strstrip(err));
        return FALSE;
    }
    return TRUE;
}

/* What the copies report to: done of total; the meter adds the rate for the caller. */
typedef void (*CopyTickFunc)(guint64 done, guint64 total, gpointer user_data);

typedef struct {
    FerryCopyProgressFunc func;
    gpointer data;
    gint64 start; /* monotonic, us */
} CopyMeter;

static void
copy_meter_tick(guint64 done, guint64 total, gpointer user_data)
{
    CopyMeter *meter = user_data;
    gint64 us = g_get_monotonic_time() - meter->start;
    guint64 bps = us > 0 ? (guint64)((double)done * G_USEC_PER_SEC / us) : 0;

    meter->func(done, total, bps, meter->data);
}

/* A host-to-host copy runs in a thread of its own (over @src's session only) while the caller's
 * thread reads the temporary file's size on the destination (over @dst's session only) every
 * second and reports it: the progress callback runs in the caller's thread, as for a relay. */
typedef struct {
    FerrySshSession *src;
    FerrySshSession *dst;
    const char *src_path;
    const char *tmp;
    const FerrySshPeer *peer;
    guint64 total;
    gboolean ok;
    GError *error;
    gint done; /* atomic */
} HostCopy;

#define HOST_COPY_POLL_US (1000 * 1000)

static gpointer
host_copy_thread(gpointer data)
{
    HostCopy *c = data;

    c->ok = copy_host_to_host(c->src, c->dst, c->src_path, c->tmp, c->peer, c->total, &c->error);
    g_atomic_int_set(&c->done, 1);
    return NULL;
}

static gboolean
copy_host_to_host_watched(FerrySshSession *src, FerrySshSession *dst, const char *src_path,
                          const char *tmp, const FerrySshPeer *peer, guint64 total,
                          CopyTickFunc progress, gpointer progress_data, GError **error)
{
    HostCopy c = {src, dst, src_path, tmp, peer, total, FALSE, NULL, 0};
    GThread *thread;

    if (progress)
        progress(0, total, progress_data);
    thread = g_thread_new("ferry-copy", host_copy_thread, &c);
    while (!g_atomic_int_get(&c.done)) {
        gint64 next = g_get_monotonic_time() + HOST_COPY_POLL_US;
        FerrySshStat st = {0};
        g_autoptr(GError) local = NULL;

        while (!g_atomic_int_get(&c.done) && g_get_monotonic_time() < next)
            g_usleep(50 * 1000);
        if (g_atomic_int_get(&c.done) || !progress)
            continue;
        /* Progress only: a failed look is not the copy's failure. */
        if (ferry_ssh_sftp_stat(dst, tmp, FALSE, &st, &local) && st.exists)
            progress(MIN(st.size, total), total, progress_data);
    }
    g_thread_join(thread);
    if (!c.ok) {
        g_propagate_error(error, c.error);
        return FALSE;
    }
    if (progress)
        progress(total, total, progress_data);
    return TRUE;
}

static gboolean
copy_relay(FerrySshSession *src, FerrySshSession *dst, const char *src_path, const char *tmp,
           guint64 total, CopyTickFunc progress, gpointer progress_data,
           char **local_sha256, GError **error)
{
    g_autoptr(LIBSSH2_SFTP_HANDLE) in = NULL;
    g_autoptr(LIBSSH2_SFTP_HANDLE) out = NULL;
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_autofree char *buf = g_malloc(RELAY_CHUNK);
    LIBSSH2_SFTP *src_sftp, *dst_sftp;
    guint64 done = 0;
    int rc;

    if (!(src_sftp = ferry_ssh_session_get_sftp(src, error)) ||
        !(dst_sftp = ferry_ssh_session_get_sftp(dst, error)))
        return FALSE;
    in = libssh2_sftp_open_ex(src_sftp, src_path, strlen(src_path), LIBSSH2_FXF_READ, 0,
                              LIBSSH2_SFTP_OPENFILE);
    if (!in) {
        ferry_ssh_session_set_error(src, error, FERRY_SSH_ERROR_SFTP, "cannot open '%s' on '%s'",
                                    src_path, src->name);
        return FALSE;
    }
    out = libssh2_sftp_open_ex(dst_sftp, tmp, strlen(tmp),
                               LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL, 0644,
                               LIBSSH2_SFTP_OPENFILE);
    if (!out) {
        ferry_ssh_session_set_error(dst, error, FERRY_SSH_ERROR_SFTP, "cannot create '%s' on '%s'",
                                    tmp, dst->name);
        return FALSE;
    }
    if (progress)
        progress(0, total, progress_data);
    for (;;) {
        ssize_t n;

        if (ferry_ssh_session_is_cancelled(src) || ferry_ssh_session_is_cancelled(dst)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                        "copy of '%s' from '%s' to '%s' cancelled", src_path, src->name,
                        dst->name);
            return FALSE;
        }
        n = libssh2_sftp_read(in, buf, RELAY_CHUNK);
        if (n == 0)
            break;
        if (n < 0) {
            ferry_ssh_session_set_error(src, error, FERRY_SSH_ERROR_SFTP,
                                        "cannot read '%s' on '%s'", src_path, src->name);
            return FALSE;
        }
        g_checksum_update(sum, (const guchar *)buf, n);
        if (!ferry_ssh_sftp_write_all(dst, out, tmp, buf, n, error))
            return FALSE;
        done += n;
        if (progress)
            progress(done, MAX(total, done), progress_data);
    }
    rc = libssh2_sftp_fsync(out);
    if (rc == 0)
        rc = libssh2_sftp_close_handle(g_steal_pointer(&out));
    if (rc != 0) {
        ferry_ssh_session_set_error(dst, error, FERRY_SSH_ERROR_SFTP, "cannot write '%s' on '%s'",
                                    tmp, dst->name);
        return FALSE;
    }
    *local_sha256 = g_strdup(g_checksum_get_string(sum));
    return TRUE;
}

gboolean
ferry_remote_copy_file(FerrySshSession *src, FerrySshSession *dst, const char *src_path,
                       const char *dst_path, const FerrySshPeer *peer, FerryCopyMode mode,
                       FerryCopyProgressFunc progress, gpointer progress_data,
                       FerryCopyResult *result, GError **error)
{
    g_auto(FerryTmpFile) tmp = {.dst = dst};
    g_autofree char *dir = NULL;
    g_autofree char *base = NULL;
    g_autofree char *uuid = g_uuid_string_random();
    g_autofree char *src_sum = NULL;
    g_autofree char *dst_sum = NULL;
    g_autofree char *relay_sum = NULL;
    FerrySshStat st = {0};
    gboolean exists = FALSE;
    FerryCopyMode used = mode;
    CopyMeter meter = {progress, progress_data, 0};

    g_return_val_if_fail((guint)mode < FERRY_COPY_LAST, FALSE);
    g_return_val_if_fail(peer || mode == FERRY_COPY_RELAY, FALSE);

    if (!src_path || src_path[0] != '/' || !dst_path || dst_path[0] != '/') {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID,
                    "cannot copy '%s' from '%s' to '%s' on '%s': paths must be absolute",
                    src_path ? src_path : "", src->name, dst_path ? dst_path : "", dst->name);
        return FALSE;
    }
    if (!ferry_ssh_sftp_stat(src, src_path, TRUE, &st, error))
        goto fail;
    if (!st.exists || !S_ISREG(st.mode)) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID, "'%s' is %s on '%s'", src_path,
                    st.exists ? "not a regular file" : "missing", src->name);
        goto fail;
    }
    if (!ferry_remote_path_exists(dst, dst_path, &exists, error))
        goto fail;
    if (exists) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE,
                    "'%s' already exists on '%s': refusing to overwrite it", dst_path, dst->name);
        goto fail;
    }
    dir = g_path_get_dirname(dst_path);
    base = g_path_get_basename(dst_path);
    if (!ferry_ssh_sftp_mkdir_p(dst, dir, 0755, error))
        goto fail;
    tmp.path = g_strdup_printf("%s/.%s.ferry-copy-%s", dir, base, uuid);

    if (mode == FERRY_COPY_AUTO) {
        g_autoptr(FerryTrustResult) trust = ferry_trust_check_session(src, peer);

        /* A changed or revoked host key is not a missing trust but a destination whose
         * identity is in doubt: relaying would send the disk to it all the same. */
        if (ferry_trust_class_is_fatal(trust->klass)) {
            g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_HOSTKEY_CHANGED,
                        "the ssh trust from '%s' to '%s' failed with %s, which ferry does not "
                        "work around by relaying: %s; remedy: %s",
                        src->name, dst->name, ferry_trust_class_to_string(trust->klass),
                        trust->detail, ferry_trust_class_remedy(trust->klass));
            goto fail;
        }
        used = trust->klass == FERRY_TRUST_OK ? FERRY_COPY_HOST_TO_HOST : FERRY_COPY_RELAY;
        if (used == FERRY_COPY_RELAY)
            g_debug("copying '%s' through ferry: %s", src_path, trust->detail);
    }

    tmp.armed = TRUE;
    meter.start = g_get_monotonic_time();
    if (used == FERRY_COPY_HOST_TO_HOST) {
        if (!copy_host_to_host_watched(src, dst, src_path, tmp.path, peer, st.size,
                                       progress ? copy_meter_tick : NULL, &meter, error))
            goto fail;
    } else if (!copy_relay(src, dst, src_path, tmp.path, st.size,
                           progress ? copy_meter_tick : NULL, &meter, &relay_sum, error)) {
        goto fail;
    }

    /* Durable before it is believed: the copy and its directory entry reach the destination's
     * disk (fsync of both), and the sum compared is read back after that -- from the disk
     * itself where the file system takes O_DIRECT (see ferry_remote_file_sha256_durable). */
    if (!ferry_remote_fsync(dst, tmp.path, st.size, error) ||
        !(src_sum = ferry_remote_file_sha256_sized(src, src_path, st.size, error)) ||
        !(dst_sum = ferry_remote_file_sha256_durable(dst, tmp.path, st.size, error)))
        goto fail;
    if (!g_str_equal(src_sum, dst_sum) || (relay_sum && !g_str_equal(relay_sum, src_sum))) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE,
                    "checksum mismatch: sha256 %s on '%s', %s on '%s'%s%s", src_sum, src->name,
                    dst_sum, dst->name, relay_sum ? ", relayed " : "", relay_sum ? relay_sum : "");
        goto fail;
    }
    if (!ferry_ssh_sftp_rename(dst, tmp.path, dst_path, FALSE, error))
        goto fail;
    tmp.armed = FALSE;
    /* the rename itself, in the directory */
    if (!ferry_remote_fsync(dst, dir, 0, error))
        goto fail;

    if (result) {
        result->mode_used = used;
        result->bytes = st.size;
        g_strlcpy(result->sha256, src_sum, sizeof(result->sha256));
    }
    return TRUE;

fail:
    g_prefix_error(error, "cannot copy '%s' from '%s' to '%s' on '%s' (%s): ", src_path, src->name,
                   dst_path, dst->name, ferry_copy_mode_to_string(used));
    return FALSE;
}

#define SHA256_HEX_LEN 64

/* sha256 of the first @size bytes of @path (a file or a block device) on the host. */
static char *
sha256_head(FerrySshSession *session, const char *path, guint64 size, GError **error)
{
    g_autofree char *count = g_strdup_printf("%" G_GUINT64_FORMAT, size);
    const char *argv[] = {"sh", "-c", "head -c \"$2\" -- \"$1\" | sha256sum", "sh", path, count,
                          NULL};
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    int status = 0;

    if (!ferry_ssh_session_run_within(session, argv, ferry_ssh_deadline_for_bytes(size), &out,
                                      &err, &status, error))
        return NULL;
    if (status != 0 || !out || strlen(out) < SHA256_HEX_LEN ||
        strspn(out, "0123456789abcdef") != SHA256_HEX_LEN) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE,
                    "cannot hash '%s' on '%s' (status %d): %s", path, session->name, status,
                    err ? g_strstrip(err) : "");
        return NULL;
    }
    return g_strndup(out, SHA256_HEX_LEN);
}

gboolean
ferry_remote_copy_into(FerrySshSession *src, FerrySshSession *dst, const char *src_path,
                       const char *dst_path, guint64 size, const FerrySshPeer *peer,
                       FerryCopyResult *result, GError **error)
{
    const char *user = peer->user ? peer->user : src->user;
    const char *remote_argv[] = {
        "sh", "-c", "exec dd of=\"$1\" bs=4M conv=fsync status=none", "sh", dst_path, NULL};
    g_autofree char *remote = ferry_ssh_quote_argv(remote_argv);
    g_autofree char *count = g_strdup_printf("%" G_GUINT64_FORMAT, size);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(FerryTrustResult) trust = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autofree char *src_sum = NULL;
    g_autofree char *dst_sum = NULL;
    int status = 0;

    if (!src_path || src_path[0] != '/' || !dst_path || dst_path[0] != '/') {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID, "paths must be absolute");
        goto fail;
    }
    trust = ferry_trust_check_session(src, peer);
    if (trust->klass != FERRY_TRUST_OK) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE,
                    "writing into a device or volume is done host to host only, and the ssh "
                    "trust from '%s' to '%s' does not hold: %s: %s; remedy: %s",
                    src->name, dst->name, ferry_trust_class_to_string(trust->klass),
                    trust->detail, ferry_trust_class_remedy(trust->klass));
        goto fail;
    }
    /* On the source: head -c SIZE SRC | [runuser -u U --] ssh ... DEST 'dd of=DST conv=fsync':
     * a device is written in place (O_TRUNC does nothing to it), a volume file replaced. */
    g_ptr_array_add(argv, (gpointer) "sh");
    g_ptr_array_add(argv, (gpointer) "-c");
    g_ptr_array_add(argv, (gpointer) "f=$1; n=$2; shift 2; head -c \"$n\" -- \"$f\" | \"$@\"");
    g_ptr_array_add(argv, (gpointer) "sh");
    g_ptr_array_add(argv, (gpointer)src_path);
    g_ptr_array_add(argv, count);
    ferry_trust_append_run_as(src, user, argv);
    ferry_trust_append_ssh(peer, user, peer->key, argv, owned);
    g_ptr_array_add(argv, remote);
    g_ptr_array_add(argv, NULL);
    if (!ferry_ssh_session_run_within(src, (const char *const *)argv->pdata,
                                      ferry_ssh_deadline_for_bytes(size), &out, &err, &status,
                                      error))
        goto fail;
    if (status != 0) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE,
                    "the copy over ssh failed with exit status %d: %s", status,
                    g_strstrip(err));
        goto fail;
    }
    /* dd's conv=fsync made the bytes durable before it exited; a short or broken pipe gives
     * a sum that does not match, never a false match */
    if (!(src_sum = sha256_head(src, src_path, size, error)) ||
        !(dst_sum = sha256_head(dst, dst_path, size, error)))
        goto fail;
    if (!g_str_equal(src_sum, dst_sum)) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE,
                    "checksum mismatch over the first %" G_GUINT64_FORMAT
                    " bytes: sha256 %s on '%s', %s on '%s'",
                    size, src_sum, src->name, dst_sum, dst->name);
        goto fail;
    }
    if (result) {
        result->mode_used = FERRY_COPY_HOST_TO_HOST;
        result->bytes = size;
        g_strlcpy(result->sha256, src_sum, sizeof(result->sha256));
    }
    return TRUE;

fail:
    g_prefix_error(error, "cannot write '%s' from '%s' into '%s' on '%s': ", src_path, src->name,
                   dst_path, dst->name);
    return FALSE;
}
