/*
 * ferry-xml-mapping.c: how names and paths of the source host translate to the destination's.
 */
#include "xml/ferry-domain-xml-private.h"

#include <string.h>

static void
ferry_xml_pair_free(FerryXmlPair *pair)
{
    if (pair == NULL)
        return;
    g_free(pair->from);
    g_free(pair->to);
    g_free(pair);
}

/* Prefixes are compared component-wise, so a trailing '/' (other than the root's) is noise. */
static char *
strip_trailing_slashes(const char *path)
{
    char *ret = g_strdup(path);
    size_t len = strlen(ret);

    while (len > 1 && ret[len - 1] == '/')
        ret[--len] = '\0';
    return ret;
}

FerryXmlMapping *
ferry_xml_mapping_new(void)
{
    FerryXmlMapping *map = g_new0(FerryXmlMapping, 1);

    map->path_maps = g_ptr_array_new_with_free_func((GDestroyNotify)ferry_xml_pair_free);
    map->shared_prefixes = g_ptr_array_new_with_free_func(g_free);
    map->networks = g_ptr_array_new_with_free_func((GDestroyNotify)ferry_xml_pair_free);
    map->bridges = g_ptr_array_new_with_free_func((GDestroyNotify)ferry_xml_pair_free);
    map->direct_devs = g_ptr_array_new_with_free_func((GDestroyNotify)ferry_xml_pair_free);
    map->volume_groups = g_ptr_array_new_with_free_func((GDestroyNotify)ferry_xml_pair_free);
    map->pools = g_ptr_array_new_with_free_func((GDestroyNotify)ferry_xml_pair_free);
    return map;
}

void
ferry_xml_mapping_free(FerryXmlMapping *map)
{
    if (map == NULL)
        return;
    g_clear_pointer(&map->path_maps, g_ptr_array_unref);
    g_clear_pointer(&map->shared_prefixes, g_ptr_array_unref);
    g_clear_pointer(&map->networks, g_ptr_array_unref);
    g_clear_pointer(&map->bridges, g_ptr_array_unref);
    g_clear_pointer(&map->direct_devs, g_ptr_array_unref);
    g_clear_pointer(&map->volume_groups, g_ptr_array_unref);
    g_clear_pointer(&map->pools, g_ptr_array_unref);
    g_free(map->src_address);
    g_free(map->dst_address);
    g_free(map->new_name);
    g_free(map);
}

static void
add_pair(GPtrArray *pairs, const char *from, const char *to, gboolean is_path)
{
    FerryXmlPair *pair = g_new0(FerryXmlPair, 1);

    pair->from = is_path ? strip_trailing_slashes(from) : g_strdup(from);
    pair->to = is_path ? strip_trailing_slashes(to) : g_strdup(to);
    g_ptr_array_add(pairs, pair);
}

void
ferry_xml_mapping_add_path(FerryXmlMapping *map, const char *from, const char *to)
{
    g_return_if_fail(map != NULL && from != NULL && to != NULL);
    add_pair(map->path_maps, from, to, TRUE);
}

void
ferry_xml_mapping_add_shared(FerryXmlMapping *map, const char *prefix)
{
    g_return_if_fail(map != NULL && prefix != NULL);
    g_ptr_array_add(map->shared_prefixes, strip_trailing_slashes(prefix));
}

void
ferry_xml_mapping_add_network(FerryXmlMapping *map, const char *from, const char *to)
{
    g_return_if_fail(map != NULL && from != NULL && to != NULL);
    add_pair(map->networks, from, to, FALSE);
}

void
ferry_xml_mapping_add_bridge(FerryXmlMapping *map, const char *from, const char *to)
{
    g_return_if_fail(map != NULL && from != NULL && to != NULL);
    add_pair(map->bridges, from, to, FALSE);
}

void
ferry_xml_mapping_add_direct_dev(FerryXmlMapping *map, const char *from, const char *to)
{
    g_return_if_fail(map != NULL && from != NULL && to != NULL);
    add_pair(map->direct_devs, from, to, FALSE);
}

void
ferry_xml_mapping_add_volume_group(FerryXmlMapping *map, const char *from, const char *to)
{
    g_return_if_fail(map != NULL && from != NULL && to != NULL);
    add_pair(map->volume_groups, from, to, FALSE);
}

void
ferry_xml_mapping_add_pool(FerryXmlMapping *map, const char *from, const char *to)
{
    g_return_if_fail(map != NULL && from != NULL && to != NULL);
    add_pair(map->pools, from, to, FALSE);
}

void
ferry_xml_mapping_set_addresses(FerryXmlMapping *map, const char *src_address,
                                const char *dst_address)
{
    g_return_if_fail(map != NULL);
    g_free(map->src_address);
    map->src_address = g_strdup(src_address);
    g_free(map->dst_address);
    map->dst_address = g_strdup(dst_address);
}

void
ferry_xml_mapping_set_new_name(FerryXmlMapping *map, const char *new_name)
{
    g_return_if_fail(map != NULL);
    g_free(map->new_name);
    map->new_name = g_strdup(new_name);
}

/* An absolute path without "." or ".." components: otherwise a prefix test proves nothing
 * ("/var/lib/nova/../../etc/shadow" starts with "/var/lib/nova"). */
gboolean
ferry_xml_path_is_canonical(const char *path)
{
    g_auto(GStrv) parts = NULL;

    if (path == NULL || path[0] != '/')
        return FALSE;
    parts = g_strsplit(path, "/", -1);
    for (size_t i = 0; parts[i] != NULL; i++) {
        if (g_str_equal(parts[i], ".") || g_str_equal(parts[i], ".."))
            return FALSE;
    }
    return TRUE;
}

gboolean
ferry_xml_path_has_prefix(const char *path, const char *prefix)
{
    size_t plen;

    if (path == NULL || prefix == NULL || prefix[0] == '\0')
        return FALSE;
    if (g_str_equal(prefix, "/"))
        return path[0] == '/';
    plen = strlen(prefix);
    return strncmp(path, prefix, plen) == 0 && (path[plen] == '\0' || path[plen] == '/');
}

gboolean
ferry_xml_mapping_is_shared(const FerryXmlMapping *map, const char *path)
{
    if (map == NULL || !ferry_xml_path_is_canonical(path))
        return FALSE;
    for (guint i = 0; i < map->shared_prefixes->len; i++) {
        if (ferry_xml_path_has_prefix(path, g_ptr_array_index(map->shared_prefixes, i)))
            return TRUE;
    }
    return FALSE;
}

char *
ferry_xml_mapping_map_path(const FerryXmlMapping *map, const char *path,
                           const FerryXmlPair **matched)
{
    const FerryXmlPair *best = NULL;
    size_t best_len = 0;
    const char *rest;

    if (matched != NULL)
        *matched = NULL;
    if (map == NULL || !ferry_xml_path_is_canonical(path))
        return NULL;
    for (guint i = 0; i < map->path_maps->len; i++) {
        const FerryXmlPair *pair = g_ptr_array_index(map->path_maps, i);
        size_t len = strlen(pair->from);

        /* longest prefix wins; on a tie the first one given wins */
        if (ferry_xml_path_has_prefix(path, pair->from) && (best == NULL || len > best_len)) {
            best = pair;
            best_len = len;
        }
    }
    if (best == NULL)
        return NULL;
    if (matched != NULL)
        *matched = best;
    rest = g_str_equal(best->from, "/") ? path : path + best_len;
    if (rest[0] == '\0')
        return g_strdup(best->to);
    if (g_str_equal(best->to, "/"))
        return g_strdup(rest);
    return g_strconcat(best->to, rest, NULL);
}

const char *
ferry_xml_pairs_lookup(const GPtrArray *pairs, const char *from)
{
    if (pairs == NULL || from == NULL)
        return NULL;
    for (guint i = 0; i < pairs->len; i++) {
        const FerryXmlPair *pair = g_ptr_array_index((GPtrArray *)pairs, i);

        if (g_str_equal(pair->from, from))
            return pair->to;
    }
    return NULL;
}

const char *
ferry_xml_mapping_map_address(const FerryXmlMapping *map, const char *address)
{
    if (map == NULL || map->src_address == NULL || address == NULL)
        return NULL;
    if (!g_str_equal(address, map->src_address))
        return NULL;
    if (map->dst_address != NULL)
        return map->dst_address;
    /* the source's own address: the destination listens on every address of the same family */
    return strchr(address, ':') != NULL ? "::" : "0.0.0.0";
}

/* A volume group or logical volume name as LVM allows it (lvm(8) "VALID NAMES"). */
static gboolean
lvm_name_is_valid(const char *name)
{
    if (name[0] == '\0' || name[0] == '-' || g_str_equal(name, ".") || g_str_equal(name, ".."))
        return FALSE;
    for (const char *c = name; *c != '\0'; c++) {
        if (!g_ascii_isalnum(*c) && *c != '+' && *c != '_' && *c != '.' && *c != '-')
            return FALSE;
    }
    return TRUE;
}

char *
ferry_xml_mapping_map_block(const FerryXmlMapping *map, const char *path, char **vg, char **lv)
{
    g_auto(GStrv) parts = NULL;
    const char *to;

    if (vg != NULL)
        *vg = NULL;
    if (lv != NULL)
        *lv = NULL;
    if (!ferry_xml_path_is_canonical(path))
        return g_strdup(path);
    /* /dev/VG/LV: "", "dev", VG, LV.  /dev/mapper/... and /dev/disk/... are not volume groups */
    parts = g_strsplit(path, "/", -1);
    if (g_strv_length(parts) != 4 || !g_str_equal(parts[1], "dev") ||
        g_str_equal(parts[2], "mapper") || g_str_equal(parts[2], "disk") ||
        !lvm_name_is_valid(parts[2]) || !lvm_name_is_valid(parts[3]))
        return g_strdup(path);
    to = map != NULL ? ferry_xml_pairs_lookup(map->volume_groups, parts[2]) : NULL;
    if (to == NULL || !lvm_name_is_valid(to))
        to = parts[2];
    if (vg != NULL)
        *vg = g_strdup(to);
    if (lv != NULL)
        *lv = g_strdup(parts[3]);
    return g_strdup_printf("/dev/%s/%s", to, parts[3]);
}
