/*
 * ferry-ssh-storage.c: shared-storage detection between two compute hosts.
 */
#include "ssh/ferry-ssh-storage.h"

#include <string.h>
#include <sys/stat.h>

gboolean
ferry_storage_is_shared(FerrySshSession *src, FerrySshSession *dst, const char *dir,
                        gboolean *shared, GError **error)
{
    g_autofree char *uuid = g_uuid_string_random();
    g_autofree char *marker = NULL;
    g_autoptr(GError) cleanup_error = NULL;
    FerrySshStat st = {0};
    gboolean ok;

    if (!dir || dir[0] != '/') {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID,
                    "cannot check whether '%s' is shared: the path is not absolute",
                    dir ? dir : "");
        return FALSE;
    }
    if (!ferry_ssh_sftp_stat(dst, dir, TRUE, &st, error))
        return FALSE;
    if (!st.exists || !S_ISDIR(st.mode)) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID,
                    "cannot check whether '%s' is shared: it is not a directory on '%s'", dir,
                    ferry_ssh_session_get_name(dst));
        return FALSE;
    }
    marker = g_strdup_printf("%s/.ferry-shared-check-%s", dir, uuid);
    if (!ferry_ssh_sftp_write_file(dst, marker, uuid, strlen(uuid), 0600, error)) {
        g_prefix_error(error, "cannot check whether '%s' is shared: ", dir);
        return FALSE;
    }
    ok = ferry_ssh_sftp_stat(src, marker, FALSE, &st, error);
    if (!ferry_ssh_sftp_unlink(dst, marker, &cleanup_error))
        g_warning("cannot remove marker file: %s", cleanup_error->message);
    if (!ok) {
        g_prefix_error(error, "cannot check whether '%s' is shared: ", dir);
        return FALSE;
    }
    *shared = st.exists;
    return TRUE;
}
