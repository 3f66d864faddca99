/*
 * ferry-hostmap.c: reading a host map (json-glib) and matching it to the inventory's hosts
 * and the surveyed guests.
 */
#include "engine/ferry-hostmap.h"

#include <json-glib/json-glib.h>

#include "engine/nova/ferry-nova.h"

/* clang-format off */
G_DEFINE_QUARK(ferry-host-map-error-quark, ferry_host_map_error)
/* clang-format on */

static void
entry_free(FerryHostMapEntry *entry)
{
    g_free(entry->key);
    g_free(entry->host);
    g_ptr_array_unref(entry->names);
    g_free(entry);
}

void
ferry_host_map_free(FerryHostMap *map)
{
    if (!map)
        return;
    g_free(map->path);
    g_ptr_array_unref(map->entries);
    g_free(map);
}

/* The inventory host @key names: its inventory name (as ferry_inventory_get_host matches it),
 * else the host whose Nova service name it is. */
static const FerryHost *
host_for_key(const FerryInventory *inventory, const char *key)
{
    const FerryHost *host = ferry_inventory_get_host(inventory, key, NULL);

    if (host)
        return host;
    for (guint i = 0; i < inventory->hosts->len; i++) {
        const FerryHost *h = g_ptr_array_index(inventory->hosts, i);
        g_autofree char *nova = ferry_nova_config_service_host(inventory->keyfile, h->name);

        if (g_strcmp0(nova, key) == 0)
            return h;
    }
    return NULL;
}

static char *
known_hosts(const FerryInventory *inventory)
{
    g_autoptr(GString) s = g_string_new(NULL);

    for (guint i = 0; i < inventory->hosts->len; i++) {
        const FerryHost *h = g_ptr_array_index(inventory->hosts, i);
        g_autofree char *nova = ferry_nova_config_service_host(inventory->keyfile, h->name);

        g_string_append_printf(s, "%s%s", s->len ? ", " : "", h->name);
        if (g_strcmp0(nova, h->name) != 0)
            g_string_append_printf(s, " (Nova: %s)", nova);
    }
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/* What a JSON node is, in words */
static const char *
node_kind(JsonNode *node)
{
    if (!node || JSON_NODE_HOLDS_NULL(node))
        return "null";
    if (JSON_NODE_HOLDS_OBJECT(node))
        return "an object";
    if (JSON_NODE_HOLDS_ARRAY(node))
        return "a list";
    switch (json_node_get_value_type(node)) {
    case G_TYPE_STRING:
        return "a string";
    case G_TYPE_BOOLEAN:
        return "a boolean";
    default:
        return "a number";
    }
}

FerryHostMap *
ferry_host_map_parse(const char *text, gssize length, const char *path,
                     const FerryInventory *inventory, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(FerryHostMap) map = g_new0(FerryHostMap, 1);
    g_autoptr(GList) members = NULL;
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal); /* host -> key */
    g_autoptr(GError) local = NULL;
    JsonNode *root;
    JsonObject *object;

    map->path = g_strdup(path);
    map->entries = g_ptr_array_new_with_free_func((GDestroyNotify)entry_free);
    if (!json_parser_load_from_data(parser, text, length, &local)) {
        g_set_error(error, FERRY_HOST_MAP_ERROR, FERRY_HOST_MAP_ERROR_FILE,
                    "host map '%s': not JSON: %s", path, local->message);
        return NULL;
    }
    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, FERRY_HOST_MAP_ERROR, FERRY_HOST_MAP_ERROR_INVALID,
                    "host map '%s': expected an object {\"host\": [\"guest\", ...]}, found %s",
                    path, root ? node_kind(root) : "nothing");
        return NULL;
    }
    object = json_node_get_object(root);
    members = json_object_get_members(object);
    if (!members) {
        g_set_error(error, FERRY_HOST_MAP_ERROR, FERRY_HOST_MAP_ERROR_INVALID,
                    "host map '%s': names no host", path);
        return NULL;
    }
    for (GList *l = members; l; l = l->next) {
        const char *key = l->data;
        JsonNode *value = json_object_get_member(object, key);
        const FerryHost *host = host_for_key(inventory, key);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        FerryHostMapEntry *entry;
        const char *other;
        JsonArray *array;

        if (!host) {
            g_autofree char *hosts = known_hosts(inventory);
            g_set_error(error, FERRY_HOST_MAP_ERROR, FERRY_HOST_MAP_ERROR_UNKNOWN,
                        "host map '%s', key '%s': unknown host (the inventory '%s' has: %s)",
                        path, key, inventory->path, hosts);
            return NULL;
        }
        if ((other = g_hash_table_lookup(seen, host->name))) {
            g_set_error(error, FERRY_HOST_MAP_ERROR, FERRY_HOST_MAP_ERROR_TWICE,
                        "host map '%s', key '%s': host '%s' is given twice (also as key '%s')",
                        path, key, host->name, other);
            return NULL;
        }
        g_hash_table_insert(seen, (gpointer)host->name, (gpointer)key);
        if (!JSON_NODE_HOLDS_ARRAY(value)) {
            g_set_error(error, FERRY_HOST_MAP_ERROR, FERRY_HOST_MAP_ERROR_INVALID,
                        "host map '%s', key '%s': expected a list of guests, found %s", path,
                        key, node_kind(value));
            return NULL;
        }
        array = json_node_get_array(value);
        for (guint i = 0; i < json_array_get_length(array); i++) {
            JsonNode *item = json_array_get_element(array, i);

            if (!JSON_NODE_HOLDS_VALUE(item) || json_node_get_value_type(item) != G_TYPE_STRING ||
                !*json_node_get_string(item)) {
                g_set_error(error, FERRY_HOST_MAP_ERROR, FERRY_HOST_MAP_ERROR_INVALID,
                            "host map '%s', key '%s': item %u is not a guest name or UUID (%s)",
                            path, key, i + 1,
                            JSON_NODE_HOLDS_VALUE(item) &&
                                    json_node_get_value_type(item) == G_TYPE_STRING
                                ? "an empty string"
                                : node_kind(item));
                return NULL;
            }
            g_ptr_array_add(names, g_strdup(json_node_get_string(item)));
        }
        entry = g_new0(FerryHostMapEntry, 1);
        entry->key = g_strdup(key);
        entry->host = g_strdup(host->name);
        entry->names = g_steal_pointer(&names);
        g_ptr_array_add(map->entries, entry);
    }
    return g_steal_pointer(&map);
}

FerryHostMap *
ferry_host_map_load(const char *path, const FerryInventory *inventory, GError **error)
{
    g_autofree char *text = NULL;
    gsize length = 0;
    g_autoptr(GError) local = NULL;

    if (!g_file_get_contents(path, &text, &length, &local)) {
        g_set_error(error, FERRY_HOST_MAP_ERROR, FERRY_HOST_MAP_ERROR_FILE,
                    "host map '%s': %s", path, local->message);
        return NULL;
    }
    return ferry_host_map_parse(text, (gssize)length, path, inventory, error);
}

static FerryPlaceGuest *
find_guest(GPtrArray *guests, const char *name)
{
    for (guint i = 0; i < guests->len; i++) {
        FerryPlaceGuest *g = g_ptr_array_index(guests, i);

        if (g_strcmp0(g->name, name) == 0)
            return g;
    }
    for (guint i = 0; i < guests->len; i++) {
        FerryPlaceGuest *g = g_ptr_array_index(guests, i);

        if (g->uuid && g_ascii_strcasecmp(g->uuid, name) == 0)
            return g;
    }
    return NULL;
}

GPtrArray *
ferry_host_map_apply(const FerryHostMap *map, GPtrArray *guests, GError **error)
{
    g_autoptr(GPtrArray) named = g_ptr_array_new();
    g_autoptr(GHashTable) where = g_hash_table_new(NULL, NULL); /* guest -> entry */

    for (guint e = 0; e < map->entries->len; e++) {
        const FerryHostMapEntry *entry = g_ptr_array_index(map->entries, e);

        for (guint i = 0; i < entry->names->len; i++) {
            const char *name = g_ptr_array_index(entry->names, i);
            FerryPlaceGuest *guest = find_guest(guests, name);
            const FerryHostMapEntry *other;

            if (!guest) {
                g_set_error(error, FERRY_HOST_MAP_ERROR, FERRY_HOST_MAP_ERROR_UNKNOWN,
                            "host map '%s', key '%s': unknown guest '%s' (no host of the "
                            "inventory has a domain of that name or UUID)",
                            map->path, entry->key, name);
                return NULL;
            }
            if ((other = g_hash_table_lookup(where, guest))) {
                g_set_error(error, FERRY_HOST_MAP_ERROR, FERRY_HOST_MAP_ERROR_TWICE,
                            "host map '%s', key '%s': guest '%s' is named twice (also under "
                            "key '%s')",
                            map->path, entry->key, name, other->key);
                return NULL;
            }
            g_hash_table_insert(where, guest, (gpointer)entry);
            guest->wanted_host = entry->host;
            g_ptr_array_add(named, guest);
        }
    }
    return g_steal_pointer(&named);
}

gboolean
ferry_host_map_check_plan(const FerryHostMap *map, const FerryPlacePlan *plan, GError **error)
{
    if (!plan->misfits->len)
        return TRUE;
    for (guint i = 0; i < plan->misfits->len; i++) {
        const FerryPlaceOutcome *o = g_ptr_array_index(plan->misfits, i);
        const char *key = o->host;

        for (guint e = 0; e < map->entries->len; e++) {
            const FerryHostMapEntry *entry = g_ptr_array_index(map->entries, e);

            if (g_strcmp0(entry->host, o->host) == 0)
                key = entry->key;
        }
        g_set_error(error, FERRY_HOST_MAP_ERROR, FERRY_HOST_MAP_ERROR_CAPACITY,
                    "host map '%s', key '%s': guest '%s' cannot go there: %s%s", map->path,
                    key ? key : "?", o->guest, o->reason,
                    plan->misfits->len > 1 ? " (and more: see ferry plan)" : "");
        return FALSE;
    }
    return FALSE;
}
