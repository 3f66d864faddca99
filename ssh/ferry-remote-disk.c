/*
 * ferry-remote-disk.c: disk image operations on a compute host, over a FerrySshSession.
 *
 * Paths must be absolute: qemu-img reads "proto:..." as a protocol, and a path starting with '/'
 * can never be one.  Every command is an argument vector quoted by the session.
 */
#include "ssh/ferry-remote-disk.h"
#include "ssh/ferry-ssh-private.h"

#include <json-glib/json-glib.h>
#include <string.h>

#define SHA256_HEX_LEN 64

void
ferry_image_info_free(FerryImageInfo *info)
{
    if (!info)
        return;
    g_free(info->format);
    g_free(info->backing_file);
    g_free(info->backing_format);
    g_free(info);
}

static gboolean
check_absolute(FerrySshSession *session, const char *what, const char *path, GError **error)
{
    if (path && path[0] == '/')
        return TRUE;
    g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID,
                "cannot %s '%s' on '%s': the path is not absolute", what, path ? path : "",
                ferry_ssh_session_get_name(session));
    return FALSE;
}

/* qemu-img takes a ':' before the first '/' as a protocol prefix ("nbd:", "json:"). */
static gboolean
looks_like_protocol(const char *name)
{
    const char *colon = strchr(name, ':');
    const char *slash = strchr(name, '/');

    return colon && (!slash || colon < slash);
}

static gboolean
member_int(JsonObject *obj, const char *name, gboolean required, guint64 *out)
{
    JsonNode *node = json_object_get_member(obj, name);

    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64 ||
        json_node_get_int(node) < 0)
        return !required;
    *out = (guint64)json_node_get_int(node);
    return TRUE;
}

static char *
member_string(JsonObject *obj, const char *name)
{
    JsonNode *node = json_object_get_member(obj, name);

    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return NULL;
    return g_strdup(json_node_get_string(node));
}

static FerryImageInfo *
parse_image_info(const char *json, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(FerryImageInfo) info = g_new0(FerryImageInfo, 1);
    g_autoptr(GError) local = NULL;
    JsonNode *root;
    JsonObject *obj;

    if (!json_parser_load_from_data(parser, json, -1, &local)) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE,
                    "qemu-img printed invalid JSON: %s", local->message);
        return NULL;
    }
    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error_literal(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE,
                            "qemu-img printed JSON that is not an object");
        return NULL;
    }
    obj = json_node_get_object(root);
    info->format = member_string(obj, "format");
    if (!info->format || !member_int(obj, "virtual-size", TRUE, &info->virtual_size)) {
        g_set_error_literal(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE,
                            "qemu-img's JSON lacks 'format' or 'virtual-size'");
        return NULL;
    }
    (void)member_int(obj, "actual-size", FALSE, &info->actual_size);
    info->backing_file = member_string(obj, "backing-filename");
    info->backing_format = member_string(obj, "backing-filename-format");
    return g_steal_pointer(&info);
}

FerryImageInfo *
ferry_remote_image_info(FerrySshSession *session, const char *path, GError **error)
{
    const char *argv[] = {"qemu-img", "info", "-U", "--output=json", "--", path, NULL};
    g_autofree char *out = NULL;
    FerryImageInfo *info;

    if (!check_absolute(session, "inspect image", path, error))
        return NULL;
    if (!ferry_ssh_session_check(session, argv, &out, error) ||
        !(info = parse_image_info(out, error))) {
        g_prefix_error(error, "cannot inspect image '%s' on '%s': ", path,
                       ferry_ssh_session_get_name(session));
        return NULL;
    }
    return info;
}

gboolean
ferry_remote_path_exists(FerrySshSession *session, const char *path, gboolean *exists,
                         GError **error)
{
    FerrySshStat st;

    /* lstat: a dangling symlink exists too, and qemu-img would write through it. */
    if (!ferry_ssh_sftp_stat(session, path, FALSE, &st, error))
        return FALSE;
    *exists = st.exists;
    return TRUE;
}

/* The backing file's format when the caller does not know it: qemu-img refuses -b without -F. */
static char *
probe_backing_format(FerrySshSession *session, const char *path, const char *backing,
                     GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *resolved =
        g_path_is_absolute(backing) ? g_strdup(backing) : g_build_filename(dir, backing, NULL);
    g_autoptr(FerryImageInfo) info = ferry_remote_image_info(session, resolved, error);

    if (!info)
        return NULL;
    return g_steal_pointer(&info->format);
}

gboolean
ferry_remote_image_create(FerrySshSession *session, const char *path, const char *format,
                          guint64 virtual_size, const char *backing_file,
                          const char *backing_format, GError **error)
{
    const char *name = ferry_ssh_session_get_name(session);
    g_autofree char *size = g_strdup_printf("%" G_GUINT64_FORMAT, virtual_size);
    g_autofree char *dir = NULL;
    g_autofree char *probed_format = NULL;
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    gboolean exists = FALSE;

    g_return_val_if_fail(format != NULL, FALSE);

    if (!check_absolute(session, "create image", path, error))
        return FALSE;
    if (backing_file && (*backing_file == '\0' || looks_like_protocol(backing_file))) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID,
                    "cannot create image '%s' on '%s': backing file '%s' is not a plain path", path,
                    name, backing_file);
        return FALSE;
    }
    if (!ferry_remote_path_exists(session, path, &exists, error))
        goto fail;
    if (exists) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE,
                    "cannot create image '%s' on '%s': the file already exists", path, name);
        return FALSE;
    }
    dir = g_path_get_dirname(path);
    if (!ferry_ssh_sftp_mkdir_p(session, dir, 0755, error))
        goto fail;
    if (backing_file && !backing_format) {
        if (!(probed_format = probe_backing_format(session, path, backing_file, error)))
            goto fail;
        backing_format = probed_format;
    }

    g_ptr_array_add(argv, (gpointer) "qemu-img");
    g_ptr_array_add(argv, (gpointer) "create");
    g_ptr_array_add(argv, (gpointer) "-q");
    g_ptr_array_add(argv, (gpointer) "-f");
    g_ptr_array_add(argv, (gpointer)format);
    if (backing_file) {
        g_ptr_array_add(argv, (gpointer) "-b");
        g_ptr_array_add(argv, (gpointer)backing_file);
        g_ptr_array_add(argv, (gpointer) "-F");
        g_ptr_array_add(argv, (gpointer)backing_format);
    }
    g_ptr_array_add(argv, (gpointer) "--");
    g_ptr_array_add(argv, (gpointer)path);
    g_ptr_array_add(argv, size);
    g_ptr_array_add(argv, NULL);
    if (!ferry_ssh_session_check(session, (const char *const *)argv->pdata, NULL, error))
        goto fail;
    return TRUE;

fail:
    g_prefix_error(error, "cannot create image '%s' on '%s': ", path, name);
    return FALSE;
}

gboolean
ferry_remote_file_remove(FerrySshSession *session, const char *path, GError **error)
{
    const char *argv[] = {"rm", "-f", "--", path, NULL};

    if (!check_absolute(session, "remove", path, error))
        return FALSE;
    if (!ferry_ssh_session_check(session, argv, NULL, error)) {
        g_prefix_error(error, "cannot remove '%s' on '%s': ", path,
                       ferry_ssh_session_get_name(session));
        return FALSE;
    }
    return TRUE;
}

char *
ferry_remote_file_sha256(FerrySshSession *session, const char *path, GError **error)
{
    const char *argv[] = {"sha256sum", "--", path, NULL};
    g_autofree char *out = NULL;
    const char *hash;

    if (!check_absolute(session, "hash", path, error))
        return NULL;
    if (!ferry_ssh_session_check(session, argv, &out, error)) {
        g_prefix_error(error, "cannot hash '%s' on '%s': ", path,
                       ferry_ssh_session_get_name(session));
        return NULL;
    }
    /* sha256sum starts the line with '\' when it escaped the file name. */
    hash = out[0] == '\\' ? out + 1 : out;
    if (strlen(hash) < SHA256_HEX_LEN || strspn(hash, "0123456789abcdef") != SHA256_HEX_LEN ||
        (hash[SHA256_HEX_LEN] != ' ' && hash[SHA256_HEX_LEN] != '\0')) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE,
                    "cannot hash '%s' on '%s': sha256sum printed no hash", path,
                    ferry_ssh_session_get_name(session));
        return NULL;
    }
    return g_strndup(hash, SHA256_HEX_LEN);
}
