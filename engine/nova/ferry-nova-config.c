/*
 * ferry-nova-config.c: the [nova] section of the inventory and the database password.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "engine/nova/ferry-nova-private.h"

#define NOVA_GROUP "nova"
#define PASSWORD_MAX 4096

/* clang-format off */
G_DEFINE_QUARK(ferry-nova-error-quark, ferry_nova_error)
/* clang-format on */

static const char *const role_names[] = {
    [FERRY_NOVA_ROLE_NOVA] = "nova",
    [FERRY_NOVA_ROLE_API] = "nova_api",
    [FERRY_NOVA_ROLE_PLACEMENT] = "placement",
};
G_STATIC_ASSERT(G_N_ELEMENTS(role_names) == FERRY_NOVA_ROLE_LAST);

const char *
ferry_nova_role_name(FerryNovaRole role)
{
    g_return_val_if_fail(role < FERRY_NOVA_ROLE_LAST, "?");
    return role_names[role];
}

gboolean
ferry_nova_role_from_name(const char *name, FerryNovaRole *role)
{
    for (guint i = 0; i < G_N_ELEMENTS(role_names); i++) {
        if (g_strcmp0(name, role_names[i]) == 0) {
            *role = i;
            return TRUE;
        }
    }
    return FALSE;
}

const char *
ferry_nova_config_database(const FerryNovaConfig *config, FerryNovaRole role)
{
    switch (role) {
    case FERRY_NOVA_ROLE_NOVA:
        return config->db_nova;
    case FERRY_NOVA_ROLE_API:
        return config->db_api;
    case FERRY_NOVA_ROLE_PLACEMENT:
    case FERRY_NOVA_ROLE_LAST:
        break;
    }
    return config->db_placement;
}

void
ferry_nova_config_free(FerryNovaConfig *config)
{
    if (!config)
        return;
    if (config->password) {
        explicit_bzero(config->password, strlen(config->password));
        g_free(config->password);
    }
    g_free(config->host);
    g_free(config->socket);
    g_free(config->user);
    g_free(config->db_nova);
    g_free(config->db_api);
    g_free(config->db_placement);
    g_free(config->default_az);
    g_free(config->journal_dir);
    g_free(config);
}

char *
ferry_nova_config_service_host(GKeyFile *inventory, const char *name)
{
    g_autofree char *group = g_strdup_printf("host %s", name);
    g_autofree char *nova_host = NULL;

    if (inventory)
        nova_host = g_key_file_get_string(inventory, group, "nova_host", NULL);
    if (nova_host && *g_strstrip(nova_host))
        return g_steal_pointer(&nova_host);
    return g_strdup(name);
}

static char *
key_string(GKeyFile *kf, const char *key, const char *fallback)
{
    g_autofree char *value = g_key_file_get_string(kf, NOVA_GROUP, key, NULL);

    if (value && *g_strstrip(value))
        return g_steal_pointer(&value);
    return g_strdup(fallback);
}

static gboolean
key_uint(GKeyFile *kf, const char *key, guint fallback, guint max, guint *out, GError **error)
{
    g_autofree char *text = key_string(kf, key, NULL);
    guint64 value;

    if (!text) {
        *out = fallback;
        return TRUE;
    }
    if (!g_ascii_string_to_unsigned(text, 10, 1, max, &value, NULL)) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_CONFIG,
                    "[nova] %s = '%s' is not a number between 1 and %u", key, text, max);
        return FALSE;
    }
    *out = value;
    return TRUE;
}

/* The file must belong to us and be readable by nobody else: a password that others can
 * read is refused rather than used. */
static char *
read_password_file(const char *path, GError **error)
{
    g_autofree char *buf = NULL;
    struct stat st;
    ssize_t n;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_CONFIG,
                    "cannot open [nova] password_file '%s': %s", path, g_strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_CONFIG,
                    "[nova] password_file '%s' is not a regular file", path);
        return NULL;
    }
    if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        close(fd);
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_CONFIG,
                    "[nova] password_file '%s' must be owned by uid %u and readable only by "
                    "its owner (mode %04o found; chmod 600 it)",
                    path, (unsigned)geteuid(), (unsigned)(st.st_mode & 07777));
        return NULL;
    }
    buf = g_malloc0(PASSWORD_MAX + 1);
    n = read(fd, buf, PASSWORD_MAX);
    close(fd);
    if (n < 0) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_CONFIG,
                    "cannot read [nova] password_file '%s': %s", path, g_strerror(errno));
        return NULL;
    }
    /* One line; the newline editors add is not part of the password. */
    buf[strcspn(buf, "\r\n")] = '\0';
    return g_steal_pointer(&buf);
}

static char *
resolve_path(const char *path, const char *inventory_path)
{
    g_autofree char *dir = NULL;

    if (g_path_is_absolute(path) || !inventory_path)
        return g_strdup(path);
    dir = g_path_get_dirname(inventory_path);
    return g_build_filename(dir, path, NULL);
}

/* The keys of [nova]; "password" is known only to be refused with its own message. */
static const char *const nova_keys[] = {
    "host",          "port",          "socket",      "user",
    "password",      "password_file", "password_env", "nova_database",
    "api_database",  "placement_database", "default_availability_zone", "connect_timeout",
    "journal_dir",   NULL,
};

static gboolean
check_known_keys(GKeyFile *inventory, const char *inventory_path, GError **error)
{
    g_auto(GStrv) keys = g_key_file_get_keys(inventory, NOVA_GROUP, NULL, NULL);

    for (char **k = keys; k && *k; k++) {
        if (!g_strv_contains(nova_keys, *k)) {
            g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_CONFIG,
                        "%s: unknown key '%s' in [nova]", inventory_path ? inventory_path : "",
                        *k);
            return FALSE;
        }
    }
    return TRUE;
}

FerryNovaConfig *
ferry_nova_config_load(GKeyFile *inventory, const char *inventory_path, GError **error)
{
    g_autoptr(FerryNovaConfig) config = NULL;
    g_autofree char *password_file = NULL;
    g_autofree char *password_env = NULL;
    g_autofree char *journal_dir = NULL;

    if (!g_key_file_has_group(inventory, NOVA_GROUP))
        return NULL;
    if (!check_known_keys(inventory, inventory_path, error))
        return NULL;

    config = g_new0(FerryNovaConfig, 1);
    config->host = key_string(inventory, "host", "127.0.0.1");
    config->socket = key_string(inventory, "socket", NULL);
    config->user = key_string(inventory, "user", "nova");
    config->db_nova = key_string(inventory, "nova_database", "nova");
    config->db_api = key_string(inventory, "api_database", "nova_api");
    config->db_placement = key_string(inventory, "placement_database", "placement");
    config->default_az = key_string(inventory, "default_availability_zone", "nova");
    if (!key_uint(inventory, "port", 3306, 65535, &config->port, error) ||
        !key_uint(inventory, "connect_timeout", 5, 3600, &config->connect_timeout, error))
        return NULL;

    if (g_key_file_has_key(inventory, NOVA_GROUP, "password", NULL)) {
        g_set_error_literal(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_CONFIG,
                            "[nova] password is not accepted in the inventory: use "
                            "password_file (mode 0600) or password_env");
        return NULL;
    }
    password_file = key_string(inventory, "password_file", NULL);
    password_env = key_string(inventory, "password_env", NULL);
    if (password_file && password_env) {
        g_set_error_literal(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_CONFIG,
                            "[nova] password_file and password_env exclude each other");
        return NULL;
    }
    if (password_file) {
        g_autofree char *path = resolve_path(password_file, inventory_path);

        config->password = read_password_file(path, error);
        if (!config->password)
            return NULL;
    } else if (password_env) {
        const char *value = g_getenv(password_env);

        if (!value) {
            g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_CONFIG,
                        "[nova] password_env names '%s', which is not set", password_env);
            return NULL;
        }
        config->password = g_strdup(value);
    }

    journal_dir = key_string(inventory, "journal_dir", NULL);
    if (journal_dir)
        config->journal_dir = resolve_path(journal_dir, inventory_path);
    else
        config->journal_dir = g_build_filename(g_get_user_state_dir(), "ferry", "nova", NULL);

    return g_steal_pointer(&config);
}
