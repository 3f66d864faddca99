/*
 * ferry-ssh-sftp.c: file operations on a compute host over the session's SFTP channel.
 *
 * The session is in blocking mode here; libssh2_session_set_timeout() (the command timeout)
 * bounds every call.
 */
#include "ssh/ferry-ssh-private.h"

#include <string.h>
#include <sys/stat.h>

#define READ_CHUNK 32768

static gboolean
check_usable(FerrySshSession *self, const char *what, const char *path, GError **error)
{
    if (!self->broken)
        return TRUE;
    g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_SFTP,
                "cannot %s '%s' on '%s' (%s): the connection is no longer usable after an "
                "earlier failure",
                what, path, self->name, self->address);
    return FALSE;
}

LIBSSH2_SFTP *
ferry_ssh_session_get_sftp(FerrySshSession *self, GError **error)
{
    if (self->sftp)
        return self->sftp;
    if (self->broken) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_SFTP,
                    "cannot start SFTP on '%s' (%s): the connection is no longer usable after an "
                    "earlier failure",
                    self->name, self->address);
        return NULL;
    }
    self->sftp = libssh2_sftp_init(self->ssh);
    if (!self->sftp)
        ferry_ssh_session_set_error(self, error, FERRY_SSH_ERROR_SFTP,
                                    "cannot start SFTP on '%s' (%s)", self->name, self->address);
    return self->sftp;
}

static gboolean
is_missing(LIBSSH2_SESSION *ssh, LIBSSH2_SFTP *sftp)
{
    unsigned long status;

    if (libssh2_session_last_errno(ssh) != LIBSSH2_ERROR_SFTP_PROTOCOL)
        return FALSE;
    status = libssh2_sftp_last_error(sftp);
    return status == LIBSSH2_FX_NO_SUCH_FILE || status == LIBSSH2_FX_NO_SUCH_PATH;
}

gboolean
ferry_ssh_sftp_stat(FerrySshSession *self, const char *path, gboolean follow_symlinks,
                    FerrySshStat *out, GError **error)
{
    LIBSSH2_SFTP_ATTRIBUTES attrs = {0};
    LIBSSH2_SFTP *sftp;
    FerrySshStat result = {0};

    if (!check_usable(self, "stat", path, error) ||
        !(sftp = ferry_ssh_session_get_sftp(self, error)))
        return FALSE;
    if (libssh2_sftp_stat_ex(sftp, path, strlen(path),
                             follow_symlinks ? LIBSSH2_SFTP_STAT : LIBSSH2_SFTP_LSTAT,
                             &attrs) != 0) {
        if (!is_missing(self->ssh, sftp)) {
            ferry_ssh_session_set_error(self, error, FERRY_SSH_ERROR_SFTP,
                                        "cannot stat '%s' on '%s' (%s)", path, self->name,
                                        self->address);
            return FALSE;
        }
    } else {
        result.exists = TRUE;
        if (attrs.flags & LIBSSH2_SFTP_ATTR_SIZE)
            result.size = attrs.filesize;
        if (attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS)
            result.mode = (guint32)attrs.permissions;
    }
    *out = result;
    return TRUE;
}

gboolean
ferry_ssh_sftp_mkdir_p(FerrySshSession *self, const char *path, int mode, GError **error)
{
    g_autoptr(GString) prefix = g_string_new(NULL);
    g_auto(GStrv) parts = g_strsplit(path, "/", -1);
    LIBSSH2_SFTP *sftp;

    if (!check_usable(self, "create directory", path, error) ||
        !(sftp = ferry_ssh_session_get_sftp(self, error)))
        return FALSE;

    for (guint i = 0; parts[i]; i++) {
        FerrySshStat st;

        if (*parts[i] == '\0' || strcmp(parts[i], ".") == 0)
            continue;
        if (prefix->len > 0 || path[0] == '/')
            g_string_append_c(prefix, '/');
        g_string_append(prefix, parts[i]);

        if (!ferry_ssh_sftp_stat(self, prefix->str, TRUE, &st, error))
            return FALSE;
        if (!st.exists) {
            if (libssh2_sftp_mkdir_ex(sftp, prefix->str, prefix->len, mode) == 0)
                continue;
            ferry_ssh_session_set_error(self, error, FERRY_SSH_ERROR_SFTP,
                                        "cannot create directory '%s' on '%s' (%s)", prefix->str,
                                        self->name, self->address);
            /* Someone else may have created it meanwhile. */
            if (!ferry_ssh_sftp_stat(self, prefix->str, TRUE, &st, NULL) || !st.exists ||
                !S_ISDIR(st.mode))
                return FALSE;
            g_clear_error(error);
        } else if (!S_ISDIR(st.mode)) {
            g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_SFTP,
                        "cannot create directory '%s' on '%s' (%s): '%s' exists and is not a "
                        "directory",
                        path, self->name, self->address, prefix->str);
            return FALSE;
        }
    }
    return TRUE;
}

void
ferry_ssh_sftp_handle_close(LIBSSH2_SFTP_HANDLE *handle)
{
    if (handle)
        libssh2_sftp_close_handle(handle);
}

gboolean
ferry_ssh_sftp_read_file(FerrySshSession *self, const char *path, gsize max_size, char **contents,
                         gsize *length, GError **error)
{
    g_autoptr(LIBSSH2_SFTP_HANDLE) handle = NULL;
    g_autoptr(GByteArray) data = g_byte_array_new();
    LIBSSH2_SFTP *sftp;
    char buf[READ_CHUNK];

    if (!check_usable(self, "read", path, error) ||
        !(sftp = ferry_ssh_session_get_sftp(self, error)))
        return FALSE;
    handle =
        libssh2_sftp_open_ex(sftp, path, strlen(path), LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE);
    if (!handle) {
        ferry_ssh_session_set_error(self, error, FERRY_SSH_ERROR_SFTP,
                                    "cannot open '%s' on '%s' (%s)", path, self->name,
                                    self->address);
        return FALSE;
    }
    for (;;) {
        ssize_t n = libssh2_sftp_read(handle, buf, sizeof(buf));

        if (n == 0)
            break;
        if (n < 0) {
            ferry_ssh_session_set_error(self, error, FERRY_SSH_ERROR_SFTP,
                                        "cannot read '%s' on '%s' (%s)", path, self->name,
                                        self->address);
            return FALSE;
        }
        if (data->len + (gsize)n > max_size) {
            g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_SFTP,
                        "cannot read '%s' on '%s' (%s): the file is larger than %" G_GSIZE_FORMAT
                        " bytes",
                        path, self->name, self->address, max_size);
            return FALSE;
        }
        g_byte_array_append(data, (const guint8 *)buf, n);
    }
    if (length)
        *length = data->len;
    g_byte_array_append(data, (const guint8 *)"", 1);
    *contents = (char *)g_byte_array_free(g_steal_pointer(&data), FALSE);
    return TRUE;
}

/* Removes a temporary file left by a failed write; its failure is logged, never returned, so the
 * first error stays the one reported. */
static void
remove_leftover(FerrySshSession *self, const char *path)
{
    g_autoptr(GError) local = NULL;

    if (!ferry_ssh_sftp_unlink(self, path, &local))
        g_warning("cannot remove temporary file: %s", local->message);
}

gboolean
ferry_ssh_sftp_write_all(FerrySshSession *self, LIBSSH2_SFTP_HANDLE *handle, const char *path,
                         const void *data, gsize length, GError **error)
{
    gsize done = 0;

    while (done < length) {
        ssize_t n = libssh2_sftp_write(handle, (const char *)data + done, length - done);

        if (n < 0) {
            ferry_ssh_session_set_error(self, error, FERRY_SSH_ERROR_SFTP,
                                        "cannot write '%s' on '%s' (%s)", path, self->name,
                                        self->address);
            return FALSE;
        }
        done += n;
    }
    return TRUE;
}

static gboolean
write_all(FerrySshSession *self, LIBSSH2_SFTP_HANDLE *handle, const char *path, int mode,
          const void *data, gsize length, GError **error)
{
    LIBSSH2_SFTP_ATTRIBUTES attrs = {.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS,
                                     .permissions = (unsigned long)mode};

    if (!ferry_ssh_sftp_write_all(self, handle, path, data, length, error))
        return FALSE;
    /* open's mode is filtered by the server's umask; the caller asked for exactly @mode. */
    if (libssh2_sftp_fsetstat(handle, &attrs) != 0 || libssh2_sftp_fsync(handle) != 0) {
        ferry_ssh_session_set_error(self, error, FERRY_SSH_ERROR_SFTP,
                                    "cannot write '%s' on '%s' (%s)", path, self->name,
                                    self->address);
        return FALSE;
    }
    return TRUE;
}

gboolean
ferry_ssh_sftp_write_file(FerrySshSession *self, const char *path, const void *data, gsize length,
                          int mode, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *tmp = g_strdup_printf("%s/.%s.ferry-%08x", dir, base, g_random_int());
    LIBSSH2_SFTP_HANDLE *handle;
    LIBSSH2_SFTP *sftp;
    gboolean ok;

    if (!check_usable(self, "write", path, error) ||
        !(sftp = ferry_ssh_session_get_sftp(self, error)))
        return FALSE;
    handle = libssh2_sftp_open_ex(sftp, tmp, strlen(tmp),
                                  LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL,
                                  mode & 0777, LIBSSH2_SFTP_OPENFILE);
    if (!handle) {
        ferry_ssh_session_set_error(self, error, FERRY_SSH_ERROR_SFTP,
                                    "cannot create '%s' on '%s' (%s)", tmp, self->name,
                                    self->address);
        return FALSE;
    }
    ok = write_all(self, handle, path, mode, data, length, error);
    if (libssh2_sftp_close_handle(handle) != 0 && ok) {
        ferry_ssh_session_set_error(self, error, FERRY_SSH_ERROR_SFTP,
                                    "cannot write '%s' on '%s' (%s)", path, self->name,
                                    self->address);
        ok = FALSE;
    }
    if (ok)
        ok = ferry_ssh_sftp_rename(self, tmp, path, TRUE, error);
    if (!ok)
        remove_leftover(self, tmp);
    return ok;
}

gboolean
ferry_ssh_sftp_rename(FerrySshSession *self, const char *from, const char *to, gboolean overwrite,
                      GError **error)
{
    LIBSSH2_SFTP *sftp;

    if (!check_usable(self, "rename", from, error))
        return FALSE;
    if (overwrite) {
        /* libssh2 1.10 speaks SFTP v3 only, whose rename never replaces an existing file, and it
         * cannot send OpenSSH's posix-rename extension; mv(1) within a directory is rename(2). */
        const char *argv[] = {"mv", "-f", "-T", "--", from, to, NULL};

        if (!ferry_ssh_session_check(self, argv, NULL, error)) {
            g_prefix_error(error, "cannot rename '%s' to '%s' on '%s': ", from, to, self->name);
            return FALSE;
        }
        return TRUE;
    }
    if (!(sftp = ferry_ssh_session_get_sftp(self, error)))
        return FALSE;
    if (libssh2_sftp_rename_ex(sftp, from, strlen(from), to, strlen(to),
                               LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE) != 0) {
        ferry_ssh_session_set_error(self, error, FERRY_SSH_ERROR_SFTP,
                                    "cannot rename '%s' to '%s' on '%s' (%s)", from, to, self->name,
                                    self->address);
        return FALSE;
    }
    return TRUE;
}

gboolean
ferry_ssh_sftp_unlink(FerrySshSession *self, const char *path, GError **error)
{
    LIBSSH2_SFTP *sftp;

    if (!check_usable(self, "remove", path, error) ||
        !(sftp = ferry_ssh_session_get_sftp(self, error)))
        return FALSE;
    if (libssh2_sftp_unlink_ex(sftp, path, strlen(path)) != 0) {
        ferry_ssh_session_set_error(self, error, FERRY_SSH_ERROR_SFTP,
                                    "cannot remove '%s' on '%s' (%s)", path, self->name,
                                    self->address);
        return FALSE;
    }
    return TRUE;
}

gboolean
ferry_ssh_sftp_statvfs(FerrySshSession *self, const char *path, guint64 *free_bytes, GError **error)
{
    LIBSSH2_SFTP_STATVFS st = {0};
    LIBSSH2_SFTP *sftp;

    if (!check_usable(self, "get free space of", path, error) ||
        !(sftp = ferry_ssh_session_get_sftp(self, error)))
        return FALSE;
    if (libssh2_sftp_statvfs(sftp, path, strlen(path), &st) != 0) {
        ferry_ssh_session_set_error(self, error, FERRY_SSH_ERROR_SFTP,
                                    "cannot get free space of '%s' on '%s' (%s)", path, self->name,
                                    self->address);
        return FALSE;
    }
    *free_bytes = (guint64)st.f_bavail * st.f_frsize;
    return TRUE;
}
