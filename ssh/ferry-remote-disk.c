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

static const char *const known_formats[] = {"raw", "qcow2", "qed", "vmdk", "vdi", "vpc", "vhdx",
                                             NULL};

gboolean
ferry_image_format_is_known(const char *format)
{
    return format && g_strv_contains(known_formats, format);
}

static GPtrArray *
argv_new(void)
{
    return g_ptr_array_new();
}

static void
argv_add(GPtrArray *argv, const char *arg)
{
    g_ptr_array_add(argv, (gpointer)arg);
}

GPtrArray *
ferry_image_info_argv(const char *format, const char *path)
{
    GPtrArray *argv = argv_new();

    argv_add(argv, "qemu-img");
    argv_add(argv, "info");
    argv_add(argv, "-U");
    argv_add(argv, "-f");
    argv_add(argv, format);
    argv_add(argv, "--output=json");
    argv_add(argv, "--");
    argv_add(argv, path);
    argv_add(argv, NULL);
    return argv;
}

GPtrArray *
ferry_image_create_argv(const char *format, const char *backing_file, const char *backing_format,
                        const char *path, const char *size)
{
    GPtrArray *argv = argv_new();

    argv_add(argv, "qemu-img");
    argv_add(argv, "create");
    argv_add(argv, "-q");
    argv_add(argv, "-f");
    argv_add(argv, format);
    if (backing_file) {
        argv_add(argv, "-b");
        argv_add(argv, backing_file);
        argv_add(argv, "-F");
        argv_add(argv, backing_format);
    }
    argv_add(argv, "--");
    argv_add(argv, path);
    argv_add(argv, size);
    argv_add(argv, NULL);
    return argv;
}

GPtrArray *
ferry_image_rebase_argv(const char *format, const char *backing_file, const char *backing_format,
                        const char *path)
{
    GPtrArray *argv = argv_new();

    argv_add(argv, "qemu-img");
    argv_add(argv, "rebase");
    argv_add(argv, "-u");
    argv_add(argv, "-f");
    argv_add(argv, format);
    argv_add(argv, "-b");
    argv_add(argv, backing_file);
    argv_add(argv, "-F");
    argv_add(argv, backing_format);
    argv_add(argv, "--");
    argv_add(argv, path);
    argv_add(argv, NULL);
    return argv;
}

char *
ferry_image_backing_path(const char *image, const char *backing)
{
    g_autofree char *dir = g_path_get_dirname(image);

    return g_canonicalize_filename(backing, dir);
}

gboolean
ferry_image_path_is_under(const char *path, const char *const *dirs)
{
    g_autofree char *clean = g_canonicalize_filename(path, "/");

    for (guint i = 0; dirs && dirs[i]; i++) {
        g_autofree char *dir = g_canonicalize_filename(dirs[i], "/");
        gsize len = strlen(dir);

        if (g_str_equal(dir, "/") ||
            (g_str_has_prefix(clean, dir) && clean[len] == '/' && clean[len + 1] != '\0'))
            return TRUE;
    }
    return FALSE;
}

gboolean
ferry_image_settle_backing(FerryImageInfo *image, const char *image_path,
                           const char *declared_format, const char *const *allowed_dirs,
                           GError **error)
{
    g_autofree char *backing = NULL;
    g_autofree char *dirs = NULL;

    if (!image->backing_file)
        return TRUE;
    if (*image->backing_file == '\0' || looks_like_protocol(image->backing_file)) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID,
                    "image '%s' names backing file '%s', which is not a plain path: refused",
                    image_path, image->backing_file);
        return FALSE;
    }
    backing = ferry_image_backing_path(image_path, image->backing_file);
    if (!ferry_image_path_is_under(backing, allowed_dirs)) {
        dirs = allowed_dirs ? g_strjoinv("', '", (char **)allowed_dirs) : g_strdup("");
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID,
                    "image '%s' names backing file '%s', which is outside the host's images_dir "
                    "and shared_dirs ('%s'): refused, ferry neither reads nor copies it",
                    image_path, backing, dirs);
        return FALSE;
    }
    if (declared_format && image->backing_format &&
        !g_str_equal(declared_format, image->backing_format)) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID,
                    "image '%s': the domain XML declares its backing file '%s' as %s, but the "
                    "image records %s: refused",
                    image_path, backing, declared_format, image->backing_format);
        return FALSE;
    }
    if (!declared_format && !image->backing_format) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID,
                    "image '%s' names backing file '%s' without its format, and the domain XML "
                    "declares none: ferry, like libvirt, never guesses a format from contents "
                    "(record it with qemu-img rebase -u -F FORMAT)",
                    image_path, backing);
        return FALSE;
    }
    if (!ferry_image_format_is_known(declared_format ? declared_format : image->backing_format)) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID,
                    "image '%s': backing file '%s' has format '%s', which ferry does not handle",
                    image_path, backing, declared_format ? declared_format : image->backing_format);
        return FALSE;
    }
    if (!image->backing_format)
        image->backing_format = g_strdup(declared_format);
    return TRUE;
}

static gboolean
check_format(FerrySshSession *session, const char *what, const char *path, const char *format,
             GError **error)
{
    if (ferry_image_format_is_known(format))
        return TRUE;
    if (!format)
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID,
                    "cannot %s '%s' on '%s': its format is not declared, and ferry, like "
                    "libvirt, never guesses a format from an image's contents",
                    what, path, ferry_ssh_session_get_name(session));
    else
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID,
                    "cannot %s '%s' on '%s': format '%s' is not one ferry handles (%s)", what,
                    path, ferry_ssh_session_get_name(session), format, "raw, qcow2, qed, vmdk, "
                    "vdi, vpc, vhdx");
    return FALSE;
}

FerryImageInfo *
ferry_remote_image_info(FerrySshSession *session, const char *path, const char *format,
                        GError **error)
{
    g_autoptr(GPtrArray) argv = NULL;
    g_autofree char *out = NULL;
    FerryImageInfo *info;

    if (!check_absolute(session, "inspect image", path, error) ||
        !check_format(session, "inspect image", path, format, error))
        return NULL;
    argv = ferry_image_info_argv(format, path);
    if (!ferry_ssh_session_check(session, (const char *const *)argv->pdata, &out, error) ||
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

gboolean
ferry_remote_image_create(FerrySshSession *session, const char *path, const char *format,
                          guint64 virtual_size, const char *backing_file,
                          const char *backing_format, GError **error)
{
    const char *name = ferry_ssh_session_get_name(session);
    g_autofree char *size = g_strdup_printf("%" G_GUINT64_FORMAT, virtual_size);
    g_autofree char *dir = NULL;
    g_autoptr(GPtrArray) argv = NULL;
    gboolean exists = FALSE;

    if (!check_absolute(session, "create image", path, error) ||
        !check_format(session, "create image", path, format, error))
        return FALSE;
    if (backing_file && !check_format(session, "create image", path, backing_format, error)) {
        g_prefix_error(error, "backing file '%s': ", backing_file);
        return FALSE;
    }
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
    argv = ferry_image_create_argv(format, backing_file, backing_format, path, size);
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
    FerrySshStat st;

    if (!check_absolute(session, "remove", path, error))
        return FALSE;
    /* `rm -f` done over SFTP (lstat, then unlink the name itself): no process to start on the
     * host, where an `rm` over ssh costs a fork and exec (0.1-0.3 s on a busy host) */
    if (!ferry_ssh_sftp_stat(session, path, FALSE, &st, error)) {
        g_prefix_error(error, "cannot remove '%s' on '%s': ", path,
                       ferry_ssh_session_get_name(session));
        return FALSE;
    }
    return !st.exists || ferry_ssh_sftp_unlink(session, path, error);
}

gboolean
ferry_remote_fsync(FerrySshSession *session, const char *path, guint64 bytes, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    const char *argv[] = {"sync", "--", path, dir, NULL};
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    int status = 0;

    if (!check_absolute(session, "fsync", path, error))
        return FALSE;
    if (!ferry_ssh_session_run_within(session, argv, ferry_ssh_deadline_for_bytes(bytes), &out,
                                      &err, &status, error))
        goto fail;
    if (status != 0) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE, "sync exited with %d: %s",
                    status, g_strstrip(err));
        goto fail;
    }
    return TRUE;

fail:
    g_prefix_error(error, "cannot fsync '%s' on '%s': ", path, ferry_ssh_session_get_name(session));
    return FALSE;
}

GPtrArray *
ferry_file_sha256_durable_argv(const char *path)
{
    GPtrArray *argv = argv_new();

    argv_add(argv, "sh");
    argv_add(argv, "-c");
    /* count=0 only opens the file: O_DIRECT refused (EINVAL) means a plain read.  sh has no
     * pipefail: a dd that fails mid-way gives a sum that does not match, never a false match. */
    argv_add(argv, "if dd if=\"$1\" iflag=direct count=0 status=none 2>/dev/null; then "
                   "dd if=\"$1\" iflag=direct bs=4M status=none | sha256sum; "
                   "else sha256sum <\"$1\"; fi");
    argv_add(argv, "sh");
    argv_add(argv, path);
    argv_add(argv, NULL);
    return argv;
}

static char *
file_sha256(FerrySshSession *session, const char *path, const char *const *argv, guint64 size,
            GError **error)
{
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    const char *hash;
    int status = 0;

    if (!check_absolute(session, "hash", path, error))
        return NULL;
    if (!ferry_ssh_session_run_within(session, argv, ferry_ssh_deadline_for_bytes(size), &out,
                                      &err, &status, error)) {
        g_prefix_error(error, "cannot hash '%s' on '%s': ", path,
                       ferry_ssh_session_get_name(session));
        return NULL;
    }
    if (status != 0) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE,
                    "cannot hash '%s' on '%s': '%s' exited with %d: %s", path,
                    ferry_ssh_session_get_name(session), argv[0], status, g_strstrip(err));
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

char *
ferry_remote_file_sha256_sized(FerrySshSession *session, const char *path, guint64 size,
                               GError **error)
{
    const char *argv[] = {"sha256sum", "--", path, NULL};

    return file_sha256(session, path, argv, size, error);
}

char *
ferry_remote_file_sha256(FerrySshSession *session, const char *path, GError **error)
{
    return ferry_remote_file_sha256_sized(session, path, 0, error);
}

char *
ferry_remote_file_sha256_durable(FerrySshSession *session, const char *path, guint64 size,
                                 GError **error)
{
    g_autoptr(GPtrArray) argv = ferry_file_sha256_durable_argv(path);

    return file_sha256(session, path, (const char *const *)argv->pdata, size, error);
}
