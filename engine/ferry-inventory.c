/*
 * ferry-inventory.c: load and check the host inventory.
 */
#include "engine/ferry-inventory.h"

#include <string.h>

/* clang-format off */
G_DEFINE_QUARK(ferry-inventory-error-quark, ferry_inventory_error)
/* clang-format on */

#define HOST_GROUP_PREFIX "host "

/* Keys each section may hold; anything else is a typo we refuse rather than ignore. */
static const char *const ferry_keys[] = {"ssh_user",       "ssh_key",       "known_hosts",
                                         "migration_user", "migration_key", "ssh_connect_timeout",
                                         "state_dir",      "connect_timeout", NULL};
static const char *const host_keys[] = {"uri",
                                        "peer_uri",
                                        "address",
                                        "migration_address",
                                        "ssh_host",
                                        "ssh_port",
                                        "ssh_user",
                                        "images_dir",
                                        "shared_dirs",
                                        "bridges",
                                        "networks",
                                        "volume_groups",
                                        "pools",
                                        "nova_host",
                                        "reserved_memory_mib",
                                        "reserved_disk_mib",
                                        "fence_command",
                                        NULL};

static void
ferry_host_free(FerryHost *host)
{
    if (!host)
        return;
    g_free(host->name);
    g_free(host->uri);
    g_free(host->peer_uri);
    g_free(host->address);
    g_free(host->migration_address);
    g_free(host->ssh_host);
    g_free(host->ssh_user);
    g_free(host->images_dir);
    g_strfreev(host->shared_dirs);
    g_clear_pointer(&host->bridges, g_hash_table_unref);
    g_clear_pointer(&host->networks, g_hash_table_unref);
    g_clear_pointer(&host->volume_groups, g_hash_table_unref);
    g_clear_pointer(&host->pools, g_hash_table_unref);
    g_strfreev(host->fence_command);
    g_free(host);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryHost, ferry_host_free)

void
ferry_inventory_free(FerryInventory *inventory)
{
    if (!inventory)
        return;
    g_free(inventory->path);
    g_clear_pointer(&inventory->keyfile, g_key_file_unref);
    g_free(inventory->ssh_key);
    g_free(inventory->known_hosts);
    g_free(inventory->migration_user);
    g_free(inventory->migration_key);
    g_clear_pointer(&inventory->hosts, g_ptr_array_unref);
    g_free(inventory);
}

const char *
ferry_inventory_resolve_path(const char *path)
{
    if (path && *path)
        return path;
    path = g_getenv("FERRY_CONFIG");
    if (path && *path)
        return path;
    return FERRY_INVENTORY_DEFAULT_PATH;
}

static gboolean
check_keys(GKeyFile *kf, const char *path, const char *group, const char *const *allowed,
           GError **error)
{
    g_auto(GStrv) keys = g_key_file_get_keys(kf, group, NULL, NULL);

    for (char **k = keys; k && *k; k++) {
        /* Other modules' sections are checked by those modules; only ours here. */
        if (!g_strv_contains(allowed, *k)) {
            g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_INVALID,
                        "%s: unknown key '%s' in [%s]", path, *k, group);
            return FALSE;
        }
    }
    return TRUE;
}

static char *
get_string(GKeyFile *kf, const char *group, const char *key)
{
    g_autofree char *value = g_key_file_get_string(kf, group, key, NULL);

    if (value)
        g_strstrip(value);
    if (!value || !*value)
        return NULL;
    return g_steal_pointer(&value);
}

/* "a=b;c=d" -> hash table, refusing entries without '='. */
static gboolean
parse_name_map(GKeyFile *kf, const char *path, const char *group, const char *key, GHashTable **out,
               GError **error)
{
    g_autoptr(GHashTable) map = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_auto(GStrv) items = g_key_file_get_string_list(kf, group, key, NULL, NULL);

    for (char **it = items; it && *it; it++) {
        char *item = g_strstrip(*it);
        const char *eq = strchr(item, '=');

        if (!*item)
            continue;
        if (!eq || eq == item || !eq[1]) {
            g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_INVALID,
                        "%s: [%s] %s: '%s' is not of the form NAME=%s", path, group, key, item,
                        g_str_equal(key, "bridges")         ? "BRIDGE"
                        : g_str_equal(key, "volume_groups") ? "VOLUME_GROUP"
                        : g_str_equal(key, "pools")         ? "POOL"
                                                            : "NETWORK");
            return FALSE;
        }
        g_hash_table_replace(map, g_strndup(item, eq - item), g_strdup(eq + 1));
    }
    *out = g_steal_pointer(&map);
    return TRUE;
}

/* A non-negative size in MiB, @fallback when absent. */
static gboolean
get_mib(GKeyFile *kf, const char *path, const char *group, const char *key, guint64 fallback,
        guint64 *out, GError **error)
{
    g_autofree char *text = get_string(kf, group, key);
    guint64 value;

    if (!text) {
        *out = fallback;
        return TRUE;
    }
    if (!g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT32, &value, NULL)) {
        g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_INVALID,
                    "%s: [%s] %s '%s' is not a size in MiB", path, group, key, text);
        return FALSE;
    }
    *out = value;
    return TRUE;
}

/* Whole seconds in [@min, @max], @fallback when absent: a deadline of 0 or of days is a typo. */
static gboolean
get_seconds(GKeyFile *kf, const char *path, const char *group, const char *key, guint fallback,
            guint min, guint max, guint *out, GError **error)
{
    g_autofree char *text = get_string(kf, group, key);
    guint64 value;

    if (!text) {
        *out = fallback;
        return TRUE;
    }
    if (!g_ascii_string_to_unsigned(text, 10, min, max, &value, NULL)) {
        g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_INVALID,
                    "%s: [%s] %s '%s' is not a number of seconds from %u to %u", path, group, key,
                    text, min, max);
        return FALSE;
    }
    *out = (guint)value;
    return TRUE;
}

static gboolean
is_absolute_dir(const char *path)
{
    return path && g_path_is_absolute(path);
}

/* fence_command: an argument vector (split with shell quoting rules, never run by a shell). */
static gboolean
parse_fence_command(GKeyFile *kf, const char *path, const char *group, GStrv *out, GError **error)
{
    g_autofree char *value = get_string(kf, group, "fence_command");
    g_autoptr(GError) local = NULL;
    g_auto(GStrv) argv = NULL;

    if (!value)
        return TRUE;
    if (!g_shell_parse_argv(value, NULL, &argv, &local)) {
        g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_INVALID,
                    "%s: [%s] fence_command: %s", path, group, local->message);
        return FALSE;
    }
    *out = g_steal_pointer(&argv);
    return TRUE;
}

static FerryHost *
load_host(GKeyFile *kf, const char *path, const char *group, const char *default_user,
          GError **error)
{
    g_autoptr(FerryHost) host = g_new0(FerryHost, 1);
    g_autoptr(GError) local = NULL;
    gint port;

    host->name = g_strdup(group + strlen(HOST_GROUP_PREFIX));
    g_strstrip(host->name);
    if (!*host->name || strpbrk(host->name, " \t/")) {
        g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_INVALID,
                    "%s: [%s]: a host name must be one word", path, group);
        return NULL;
    }
    if (!check_keys(kf, path, group, host_keys, error))
        return NULL;

    host->uri = get_string(kf, group, "uri");
    if (!host->uri) {
        g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_INVALID,
                    "%s: [%s] has no 'uri' (the libvirt URI ferry connects to)", path, group);
        return NULL;
    }
    host->peer_uri = get_string(kf, group, "peer_uri");
    if (!host->peer_uri)
        host->peer_uri = g_strdup(host->uri);
    host->address = get_string(kf, group, "address");
    host->migration_address = get_string(kf, group, "migration_address");
    if (host->migration_address &&
        (!*host->migration_address ||
         strspn(host->migration_address,
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:-") !=
             strlen(host->migration_address))) {
        g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_INVALID,
                    "%s: [%s] migration_address '%s' is not a host name or IP address", path,
                    group, host->migration_address);
        return NULL;
    }
    host->ssh_host = get_string(kf, group, "ssh_host");
    if (!host->ssh_host)
        host->ssh_host = g_strdup(host->address);
    host->ssh_user = get_string(kf, group, "ssh_user");
    if (!host->ssh_user)
        host->ssh_user = g_strdup(default_user ? default_user : "root");

    port = g_key_file_get_integer(kf, group, "ssh_port", &local);
    if (local && !g_error_matches(local, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND)) {
        g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_INVALID,
                    "%s: [%s] ssh_port: %s", path, group, local->message);
        return NULL;
    }
    if (!local && (port <= 0 || port > 65535)) {
        g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_INVALID,
                    "%s: [%s] ssh_port %d is not a TCP port", path, group, port);
        return NULL;
    }
    host->ssh_port = local ? 22 : (guint)port;

    host->images_dir = get_string(kf, group, "images_dir");
    if (!host->images_dir)
        host->images_dir = g_strdup("/var/lib/libvirt/images");
    if (!is_absolute_dir(host->images_dir)) {
        g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_INVALID,
                    "%s: [%s] images_dir '%s' is not an absolute path", path, group,
                    host->images_dir);
        return NULL;
    }
    host->shared_dirs = g_key_file_get_string_list(kf, group, "shared_dirs", NULL, NULL);
    if (!host->shared_dirs)
        host->shared_dirs = g_new0(char *, 1);
    for (char **d = host->shared_dirs; *d; d++) {
        g_strstrip(*d);
        if (!is_absolute_dir(*d)) {
            g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_INVALID,
                        "%s: [%s] shared_dirs entry '%s' is not an absolute path", path, group, *d);
            return NULL;
        }
    }
    if (!get_mib(kf, path, group, "reserved_memory_mib", 512, &host->reserved_memory_mib, error) ||
        !get_mib(kf, path, group, "reserved_disk_mib", 0, &host->reserved_disk_mib, error))
        return NULL;
    if (!parse_name_map(kf, path, group, "bridges", &host->bridges, error) ||
        !parse_name_map(kf, path, group, "networks", &host->networks, error) ||
        !parse_name_map(kf, path, group, "volume_groups", &host->volume_groups, error) ||
        !parse_name_map(kf, path, group, "pools", &host->pools, error))
        return NULL;
    if (!parse_fence_command(kf, path, group, &host->fence_command, error))
        return NULL;
    return g_steal_pointer(&host);
}

/* Sections other than [host NAME]: [ferry] read here, [nova] by engine/nova. */
static const char *const other_groups[] = {"ferry", "nova", NULL};

static guint
line_of(const char *text, const char *at)
{
    guint line = 1;

    for (const char *p = text; p < at; p++)
        line += *p == '\n';
    return line;
}

/* GKeyFile merges a section written twice into one, so the second [host A] would silently
 * change the first: refused, naming the line. */
static gboolean
check_sections_once(const char *path, const char *contents, GError **error)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_auto(GStrv) lines = g_strsplit(contents, "\n", -1);

    for (guint i = 0; lines[i]; i++) {
        const char *line = lines[i];
        const char *end;
        char *name;

        while (g_ascii_isspace(*line))
            line++;
        if (*line != '[' || !(end = strrchr(line, ']')))
            continue;
        name = g_strndup(line + 1, end - line - 1);
        if (!g_hash_table_add(seen, name)) {
            g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_INVALID,
                        "%s: line %u: section [%s] is defined twice", path, i + 1, name);
            return FALSE;
        }
    }
    return TRUE;
}

FerryInventory *
ferry_inventory_load(const char *path, GError **error)
{
    g_autoptr(FerryInventory) inv = g_new0(FerryInventory, 1);
    g_autoptr(GError) local = NULL;
    g_auto(GStrv) groups = NULL;
    g_autofree char *default_user = NULL;
    g_autofree char *contents = NULL;
    const char *bad = NULL;
    gsize length = 0;

    inv->path = g_strdup(ferry_inventory_resolve_path(path));
    inv->keyfile = g_key_file_new();
    inv->hosts = g_ptr_array_new_with_free_func((GDestroyNotify)ferry_host_free);

    if (!g_file_get_contents(inv->path, &contents, &length, &local) ||
        !g_key_file_load_from_data(inv->keyfile, contents, length, G_KEY_FILE_NONE, &local)) {
        g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_FILE,
                    "cannot read inventory '%s': %s%s", inv->path, local->message,
                    path ? "" : " (choose one with --config or FERRY_CONFIG)");
        return NULL;
    }
    if (!g_utf8_validate(contents, length, &bad)) {
        g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_FILE,
                    "%s: line %u is not valid UTF-8 (write the inventory in UTF-8)", inv->path,
                    line_of(contents, bad));
        return NULL;
    }
    if (!check_sections_once(inv->path, contents, error))
        return NULL;

    if (g_key_file_has_group(inv->keyfile, "ferry")) {
        if (!check_keys(inv->keyfile, inv->path, "ferry", ferry_keys, error))
            return NULL;
        default_user = get_string(inv->keyfile, "ferry", "ssh_user");
        inv->ssh_key = get_string(inv->keyfile, "ferry", "ssh_key");
        inv->known_hosts = get_string(inv->keyfile, "ferry", "known_hosts");
        inv->migration_user = get_string(inv->keyfile, "ferry", "migration_user");
        inv->migration_key = get_string(inv->keyfile, "ferry", "migration_key");
        if (!get_seconds(inv->keyfile, inv->path, "ferry", "ssh_connect_timeout",
                         FERRY_INVENTORY_DEFAULT_SSH_CONNECT_TIMEOUT, 1, 300,
                         &inv->ssh_connect_timeout, error))
            return NULL;
        if (!get_seconds(inv->keyfile, inv->path, "ferry", "connect_timeout",
                         FERRY_INVENTORY_DEFAULT_CONNECT_TIMEOUT, 1, 300, &inv->connect_timeout,
                         error))
            return NULL;
        if (inv->migration_key && !g_path_is_absolute(inv->migration_key)) {
            g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_INVALID,
                        "%s: [ferry] migration_key '%s' is not an absolute path", inv->path,
                        inv->migration_key);
            return NULL;
        }
    }

    groups = g_key_file_get_groups(inv->keyfile, NULL);
    for (char **g = groups; *g; g++) {
        FerryHost *host;

        if (!g_str_has_prefix(*g, HOST_GROUP_PREFIX)) {
            if (g_strv_contains(other_groups, *g))
                continue;
            g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_INVALID,
                        "%s: unknown section [%s] (known: [ferry], [host NAME], [nova])", inv->path,
                        *g);
            return NULL;
        }
        host = load_host(inv->keyfile, inv->path, *g, default_user, error);
        if (!host)
            return NULL;
        for (guint i = 0; i < inv->hosts->len; i++) {
            const FerryHost *other = g_ptr_array_index(inv->hosts, i);
            if (g_ascii_strcasecmp(other->name, host->name) == 0) {
                g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_INVALID,
                            "%s: host '%s' is defined twice", inv->path, host->name);
                ferry_host_free(host);
                return NULL;
            }
        }
        g_ptr_array_add(inv->hosts, host);
    }
    if (inv->hosts->len == 0) {
        g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_INVALID,
                    "%s: no hosts: add a section like [host hostA] with a 'uri'", inv->path);
        return NULL;
    }
    return g_steal_pointer(&inv);
}

gboolean
ferry_inventory_require_ssh(const FerryInventory *inventory, GError **error)
{
    const char *missing = !inventory->ssh_key       ? "ssh_key"
                          : !inventory->known_hosts ? "known_hosts"
                                                    : NULL;

    if (missing) {
        g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_INVALID,
                    "%s: [ferry] has no %s: ferry needs it to reach the hosts over ssh",
                    inventory->path, missing);
        return FALSE;
    }
    return TRUE;
}

const FerryHost *
ferry_inventory_get_host(const FerryInventory *inventory, const char *name, GError **error)
{
    g_autoptr(GString) known = g_string_new(NULL);

    for (guint i = 0; i < inventory->hosts->len; i++) {
        const FerryHost *host = g_ptr_array_index(inventory->hosts, i);
        if (g_str_equal(host->name, name))
            return host;
    }
    for (guint i = 0; i < inventory->hosts->len; i++) {
        const FerryHost *host = g_ptr_array_index(inventory->hosts, i);
        if (g_ascii_strcasecmp(host->name, name) == 0)
            return host;
        g_string_append_printf(known, "%s'%s'", i ? ", " : "", host->name);
    }
    g_set_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_UNKNOWN_HOST,
                "unknown host '%s': the inventory '%s' has %s", name, inventory->path, known->str);
    return NULL;
}

void
ferry_inventory_ssh_config(const FerryInventory *inventory, const FerryHost *host,
                           FerrySshConfig *config)
{
    memset(config, 0, sizeof(*config));
    config->host = host->ssh_host ? host->ssh_host : host->name;
    config->port = host->ssh_port;
    config->user = host->ssh_user;
    config->private_key = inventory->ssh_key;
    config->known_hosts = inventory->known_hosts;
    config->name = host->name;
    config->connect_timeout_ms = inventory->ssh_connect_timeout * 1000;
}

GStrv
ferry_host_storage_dirs(const FerryHost *host)
{
    g_autoptr(GStrvBuilder) dirs = g_strv_builder_new();

    if (host->images_dir)
        g_strv_builder_add(dirs, host->images_dir);
    for (guint i = 0; host->shared_dirs && host->shared_dirs[i]; i++)
        g_strv_builder_add(dirs, host->shared_dirs[i]);
    return g_strv_builder_end(dirs);
}

void
ferry_inventory_peer(const FerryInventory *inventory, const FerryHost *src, const FerryHost *dst,
                     FerrySshPeer *peer)
{
    memset(peer, 0, sizeof(*peer));
    peer->user = inventory->migration_user ? inventory->migration_user : src->ssh_user;
    peer->key = inventory->migration_key;
    peer->host = dst->address ? dst->address : dst->ssh_host ? dst->ssh_host : dst->name;
    peer->port = dst->ssh_port;
    peer->name = dst->name;
    peer->connect_timeout = inventory->ssh_connect_timeout;
}

/* For each cluster-wide name both hosts define, source's value -> destination's value. */
static void
map_names(GHashTable *src, GHashTable *dst, FerryXmlMapping *map,
          void (*add)(FerryXmlMapping *, const char *, const char *))
{
    g_autoptr(GList) names = g_hash_table_get_keys(src);

    names = g_list_sort(names, (GCompareFunc)g_strcmp0);
    for (GList *l = names; l; l = l->next) {
        const char *to = g_hash_table_lookup(dst, l->data);
        if (to)
            add(map, g_hash_table_lookup(src, l->data), to);
    }
}

FerryXmlMapping *
ferry_inventory_mapping(const FerryHost *src, const FerryHost *dst)
{
    g_autoptr(FerryXmlMapping) map = ferry_xml_mapping_new();

    for (char **d = src->shared_dirs; *d; d++) {
        if (g_strv_contains((const char *const *)dst->shared_dirs, *d))
            ferry_xml_mapping_add_shared(map, *d);
    }
    ferry_xml_mapping_add_path(map, src->images_dir, dst->images_dir);
    map_names(src->bridges, dst->bridges, map, ferry_xml_mapping_add_bridge);
    map_names(src->networks, dst->networks, map, ferry_xml_mapping_add_network);
    map_names(src->volume_groups, dst->volume_groups, map, ferry_xml_mapping_add_volume_group);
    map_names(src->pools, dst->pools, map, ferry_xml_mapping_add_pool);
    ferry_xml_mapping_set_addresses(map, src->address, dst->address);
    return g_steal_pointer(&map);
}
