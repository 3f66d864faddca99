/*
 * ferry-disk-plan.c: decide, for each disk of a guest, what a move to the destination does with
 * it (stream, shared, skip, refuse), and why.
 *
 * The rules are checked in order; the first that applies decides.  They follow what libvirt's
 * block migration does (qemuMigrationSrcIsSafe, qemuMigrationAnyCopyDisk): read-only and empty
 * drives are never copied, network disks are never copied, and a local writable disk must be.
 */
#include "xml/ferry-domain-xml-private.h"

#include <string.h>

static const char *const action_names[] = {
    [FERRY_DISK_STREAM] = "stream",
    [FERRY_DISK_SHARED] = "shared",
    [FERRY_DISK_SKIP] = "skip",
    [FERRY_DISK_REFUSE] = "refuse",
};
G_STATIC_ASSERT(G_N_ELEMENTS(action_names) == FERRY_DISK_LAST);

static const char *const storage_names[] = {
    [FERRY_DISK_STORAGE_FILE] = "file",
    [FERRY_DISK_STORAGE_BLOCK] = "block",
    [FERRY_DISK_STORAGE_VOLUME] = "volume",
};
G_STATIC_ASSERT(G_N_ELEMENTS(storage_names) == FERRY_DISK_STORAGE_LAST);

const char *
ferry_disk_storage_to_string(FerryDiskStorage storage)
{
    if ((guint)storage >= FERRY_DISK_STORAGE_LAST)
        return "unknown";
    return storage_names[storage];
}

const char *
ferry_disk_action_to_string(FerryDiskAction action)
{
    if ((guint)action >= FERRY_DISK_LAST)
        return "unknown";
    return action_names[action];
}

void
ferry_disk_plan_free(FerryDiskPlan *plan)
{
    if (plan == NULL)
        return;
    g_free(plan->reason);
    g_free(plan->dest_source);
    g_free(plan->dest_vg);
    g_free(plan->dest_lv);
    g_free(plan->src_pool);
    g_free(plan->src_volume);
    g_free(plan->dest_pool);
    g_clear_pointer(&plan->dest_backing, g_ptr_array_unref);
    g_free(plan);
}

static FerryDiskPlan *
plan_new(const FerryDomainDisk *disk)
{
    FerryDiskPlan *plan = g_new0(FerryDiskPlan, 1);

    plan->disk = disk;
    plan->dest_backing = g_ptr_array_new_with_free_func(g_free);
    return plan;
}

static FerryDiskPlan *plan_set(FerryDiskPlan *plan, FerryDiskAction action, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static FerryDiskPlan *
plan_set(FerryDiskPlan *plan, FerryDiskAction action, const char *fmt, ...)
{
    va_list ap;

    plan->action = action;
    va_start(ap, fmt);
    g_free(plan->reason);
    plan->reason = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return plan;
}

/* Where a local path lives on the destination: mapped when under a path_maps prefix, the same
 * path when shared or when no mapping applies (the engine checks that it exists there). */
static char *
dest_path(const FerryXmlMapping *map, const char *path)
{
    char *mapped;

    if (ferry_xml_mapping_is_shared(map, path))
        return g_strdup(path);
    mapped = ferry_xml_mapping_map_path(map, path, NULL);
    return mapped != NULL ? mapped : g_strdup(path);
}

static void
plan_backing(FerryDiskPlan *plan, const FerryXmlMapping *map)
{
    const FerryDomainDisk *disk = plan->disk;

    if (disk->backing_chain == NULL)
        return;
    for (guint i = 0; i < disk->backing_chain->len; i++) {
        const FerryDomainBacking *b = g_ptr_array_index(disk->backing_chain, i);

        if (b->path == NULL)
            continue;
        if (ferry_xml_path_attr_for_type(b->type != NULL ? b->type : "file") != NULL)
            g_ptr_array_add(plan->dest_backing, dest_path(map, b->path));
        else
            g_ptr_array_add(plan->dest_backing, g_strdup(b->path));
    }
}

static gboolean
host_is_loopback(const char *host)
{
    return g_str_has_prefix(host, "127.") || g_str_equal(host, "localhost") ||
           g_str_has_prefix(host, "localhost:") || g_str_equal(host, "::1") ||
           g_str_has_prefix(host, "[::1]") || g_str_has_prefix(host, "unix:");
}

/* A network disk served by the source host itself does not follow the guest. */
static const char *
network_host_on_source(const FerryDomainDisk *disk, const FerryXmlMapping *map)
{
    for (guint i = 0; disk->hosts != NULL && i < disk->hosts->len; i++) {
        const char *host = g_ptr_array_index(disk->hosts, i);
        size_t srclen = map != NULL && map->src_address != NULL ? strlen(map->src_address) : 0;

        if (host_is_loopback(host))
            return host;
        if (srclen > 0 && strncmp(host, map->src_address, srclen) == 0 &&
            (host[srclen] == '\0' || host[srclen] == ':'))
            return host;
    }
    return NULL;
}

static FerryDiskPlan *
classify_network(FerryDiskPlan *plan, const FerryXmlMapping *map)
{
    const FerryDomainDisk *disk = plan->disk;
    const char *local = network_host_on_source(disk, map);

    if (local != NULL)
        return plan_set(plan, FERRY_DISK_REFUSE,
                        "network disk (%s) is served by the source host itself ('%s'); the "
                        "destination cannot reach it there",
                        disk->protocol, local);
    if (disk->source == NULL && (disk->hosts == NULL || disk->hosts->len == 0))
        return plan_set(plan, FERRY_DISK_SKIP, "network drive without a medium");
    return plan_set(plan, FERRY_DISK_SHARED, "network disk (%s%s%s) is reachable from both hosts",
                    disk->protocol, disk->source != NULL ? " " : "",
                    disk->source != NULL ? disk->source : "");
}

/* A block device (an LVM logical volume, a partition, a SAN LUN seen as a disk): streamed into
 * a device of the same (or volume-group mapped) path on the destination, which the engine
 * checks to be large enough, or creates as a logical volume. */
static FerryDiskPlan *
classify_block(FerryDiskPlan *plan, const FerryXmlMapping *map)
{
    const FerryDomainDisk *disk = plan->disk;

    plan->storage = FERRY_DISK_STORAGE_BLOCK;
    plan->dest_source = ferry_xml_mapping_map_block(map, disk->source, &plan->dest_vg,
                                                    &plan->dest_lv);
    if (plan->dest_vg != NULL)
        return plan_set(plan, FERRY_DISK_STREAM,
                        "block device: streamed into '%s' on the destination (used if it exists "
                        "and is large enough, else created in volume group '%s')",
                        plan->dest_source, plan->dest_vg);
    return plan_set(plan, FERRY_DISK_STREAM,
                    "block device: streamed into '%s' on the destination, which must exist "
                    "and be large enough",
                    plan->dest_source);
}

/* Path-based disks: file, block, dir. */
static FerryDiskPlan *
classify_local(FerryDiskPlan *plan, const FerryXmlMapping *map)
{
    const FerryDomainDisk *disk = plan->disk;
    g_autofree char *mapped = NULL;
    const FerryXmlPair *pair = NULL;
    gboolean read_only = disk->readonly || g_strcmp0(disk->device, "cdrom") == 0;

    if (!ferry_xml_path_is_canonical(disk->source))
        return plan_set(plan, FERRY_DISK_REFUSE,
                        "source path '%s' is not an absolute path without '.' or '..' "
                        "(disk %s, line %d)",
                        disk->source, disk->target, disk->line);

    if (ferry_xml_mapping_is_shared(map, disk->source)) {
        plan->dest_source = g_strdup(disk->source);
        plan_backing(plan, map);
        if (read_only)
            return plan_set(plan, FERRY_DISK_SKIP, "read-only %s on shared storage", disk->device);
        return plan_set(plan, FERRY_DISK_SHARED, "'%s' is on shared storage", disk->source);
    }

    mapped = ferry_xml_mapping_map_path(map, disk->source, &pair);
    if (read_only) {
        plan_backing(plan, map);
        if (mapped != NULL) {
            plan->dest_source = g_steal_pointer(&mapped);
            return plan_set(plan, FERRY_DISK_SKIP,
                            "read-only %s is not copied; '%s' must exist on the destination",
                            disk->device, plan->dest_source);
        }
        plan->dest_source = g_strdup(disk->source);
        return plan_set(plan, FERRY_DISK_SKIP,
                        "read-only %s is not copied; no path mapping, so '%s' must exist on the "
                        "destination",
                        disk->device, disk->source);
    }

    if (disk->shareable)
        return plan_set(plan, FERRY_DISK_REFUSE,
                        "writable shareable disk '%s' is not on shared storage and cannot be "
                        "streamed safely",
                        disk->source);
    if (g_strcmp0(disk->type, "dir") == 0)
        return plan_set(plan, FERRY_DISK_REFUSE,
                        "directory-backed disk '%s' (vvfat) cannot be streamed", disk->source);
    if (g_strcmp0(disk->type, "block") == 0)
        return classify_block(plan, map);
    plan->storage = FERRY_DISK_STORAGE_FILE;
    plan_backing(plan, map);
    if (mapped == NULL) {
        /* as libvirt and Nova do: a local file outside every mapping keeps its path */
        plan->same_path = TRUE;
        plan->dest_source = g_strdup(disk->source);
        return plan_set(plan, FERRY_DISK_STREAM,
                        "local writable disk outside every path mapping: copied to the same path on the "
                        "destination (its directory created with the source's owner and mode)");
    }
    plan->dest_source = g_steal_pointer(&mapped);
    return plan_set(plan, FERRY_DISK_STREAM, "local writable disk, copied under '%s' -> '%s'",
                    pair->from, pair->to);
}

/* A storage pool volume: created through libvirt in the destination's pool of the same (or
 * mapped) name, then streamed. */
static FerryDiskPlan *
classify_volume(FerryDiskPlan *plan, const FerryXmlMapping *map)
{
    const FerryDomainDisk *disk = plan->disk;
    const char *slash = disk->source != NULL ? strchr(disk->source, '/') : NULL;
    const char *to;

    if (disk->source == NULL)
        return plan_set(plan, FERRY_DISK_SKIP, "empty drive (no medium)");
    if (slash == NULL || slash == disk->source || slash[1] == '\0')
        return plan_set(plan, FERRY_DISK_REFUSE,
                        "storage pool volume '%s' does not name both its pool and its volume "
                        "(disk %s, line %d)",
                        disk->source, disk->target, disk->line);
    plan->storage = FERRY_DISK_STORAGE_VOLUME;
    plan->src_pool = g_strndup(disk->source, slash - disk->source);
    plan->src_volume = g_strdup(slash + 1);
    to = map != NULL ? ferry_xml_pairs_lookup(map->pools, plan->src_pool) : NULL;
    plan->dest_pool = g_strdup(to != NULL ? to : plan->src_pool);
    plan->dest_source = g_strdup_printf("%s/%s", plan->dest_pool, plan->src_volume);
    if (disk->readonly || g_strcmp0(disk->device, "cdrom") == 0)
        return plan_set(plan, FERRY_DISK_SKIP,
                        "read-only %s is not copied; volume '%s' must exist on the destination",
                        disk->device, plan->dest_source);
    if (disk->shareable)
        return plan_set(plan, FERRY_DISK_REFUSE,
                        "writable shareable volume '%s' cannot be streamed safely", disk->source);
    return plan_set(plan, FERRY_DISK_STREAM,
                    "storage pool volume: created in pool '%s' on the destination (same capacity "
                    "and format) and streamed",
                    plan->dest_pool);
}

FerryDiskPlan *
ferry_disk_plan_classify(const FerryDomainDisk *disk, const FerryXmlMapping *map)
{
    FerryDiskPlan *plan = plan_new(disk);

    if (g_strcmp0(disk->device, "lun") == 0)
        return plan_set(plan, FERRY_DISK_REFUSE,
                        "LUN passthrough (device='lun') cannot be moved: the guest talks to the "
                        "host's SCSI device directly");
    if (g_strcmp0(disk->type, "network") == 0)
        return classify_network(plan, map);
    if (g_strcmp0(disk->type, "volume") == 0)
        return classify_volume(plan, map);
    if (g_strcmp0(disk->type, "nvme") == 0)
        return plan_set(plan, FERRY_DISK_REFUSE,
                        "NVMe passthrough (disk type='nvme') cannot be moved: the guest drives "
                        "the source host's NVMe controller directly");
    if (g_strcmp0(disk->type, "vhostuser") == 0)
        return plan_set(plan, FERRY_DISK_REFUSE,
                        "disk served over a vhost-user socket%s%s%s local to the source cannot "
                        "be moved: its server runs on the source host",
                        disk->source != NULL ? " '" : "", disk->source != NULL ? disk->source : "",
                        disk->source != NULL ? "'" : "");
    if (ferry_xml_path_attr_for_type(disk->type) == NULL)
        return plan_set(plan, FERRY_DISK_REFUSE, "disk type '%s' (%s) cannot be moved",
                        disk->type != NULL ? disk->type : "?",
                        disk->source != NULL ? disk->source : "no source");
    if (disk->source == NULL)
        return plan_set(plan, FERRY_DISK_SKIP, "empty drive (no medium)");
    return classify_local(plan, map);
}

GPtrArray *
ferry_disk_plan_build(const FerryDomainXml *xml, const FerryXmlMapping *map, GError **error)
{
    g_autoptr(GPtrArray) plans =
        g_ptr_array_new_with_free_func((GDestroyNotify)ferry_disk_plan_free);

    g_return_val_if_fail(xml != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    for (guint i = 0; i < xml->def.disks->len; i++)
        g_ptr_array_add(plans, ferry_disk_plan_classify(g_ptr_array_index(xml->def.disks, i), map));
    return g_steal_pointer(&plans);
}

char *
ferry_disk_plan_format(GPtrArray *plan)
{
    GString *out = g_string_new(NULL);

    if (plan == NULL || plan->len == 0)
        return g_string_free(g_string_append(out, "no disks\n"), FALSE);
    for (guint i = 0; i < plan->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(plan, i);
        const FerryDomainDisk *d = p->disk;

        g_string_append_printf(out, "%s: %s (%s %s", d->target,
                               ferry_disk_action_to_string(p->action), d->type, d->device);
        if (d->driver_type != NULL)
            g_string_append_printf(out, ", %s", d->driver_type);
        if (d->line > 0)
            g_string_append_printf(out, ", line %d", d->line);
        g_string_append(out, ")\n");
        if (d->protocol != NULL) {
            g_string_append_printf(out, "  source: %s:%s", d->protocol,
                                   d->source != NULL ? d->source : "");
            for (guint h = 0; d->hosts != NULL && h < d->hosts->len; h++)
                g_string_append_printf(out, "%s%s", h == 0 ? " @ " : ",",
                                       (const char *)g_ptr_array_index(d->hosts, h));
            g_string_append_c(out, '\n');
        } else if (d->source != NULL) {
            g_string_append_printf(out, "  source: %s\n", d->source);
        }
        if (p->dest_source != NULL)
            g_string_append_printf(out, "  destination: %s\n", p->dest_source);
        for (guint b = 0; p->dest_backing != NULL && b < p->dest_backing->len; b++) {
            const FerryDomainBacking *src =
                b < d->backing_chain->len ? g_ptr_array_index(d->backing_chain, b) : NULL;
            const char *dst = g_ptr_array_index(p->dest_backing, b);

            if (src != NULL && g_strcmp0(src->path, dst) != 0)
                g_string_append_printf(out, "  backing: %s -> %s\n", src->path, dst);
            else
                g_string_append_printf(out, "  backing: %s\n", dst);
        }
        g_string_append_printf(out, "  reason: %s\n", p->reason);
    }
    return g_string_free(out, FALSE);
}

GPtrArray *
ferry_disk_plan_stream_targets(GPtrArray *plan)
{
    GPtrArray *targets = g_ptr_array_new_with_free_func(g_free);

    for (guint i = 0; plan != NULL && i < plan->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(plan, i);

        if (p->action == FERRY_DISK_STREAM)
            g_ptr_array_add(targets, g_strdup(p->disk->target));
    }
    return targets;
}

gboolean
ferry_disk_plan_check(GPtrArray *plan, GError **error)
{
    for (guint i = 0; plan != NULL && i < plan->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(plan, i);

        if (p->action != FERRY_DISK_REFUSE)
            continue;
        g_set_error(error, FERRY_XML_ERROR, FERRY_XML_ERROR_REFUSED, "disk '%s' cannot be moved: %s", p->disk->target, p->reason);
        return FALSE;
    }
    return TRUE;
}

GVariant *
ferry_disk_plan_to_variant(GPtrArray *plan)
{
    GVariantBuilder all;

    g_variant_builder_init(&all, G_VARIANT_TYPE("aa{sv}"));
    for (guint i = 0; plan != NULL && i < plan->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(plan, i);
        const FerryDomainDisk *d = p->disk;
        GVariantBuilder one;
        GVariantBuilder backing;

        g_variant_builder_init(&one, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&one, "{sv}", "target", g_variant_new_string(d->target));
        g_variant_builder_add(&one, "{sv}", "action",
                              g_variant_new_string(ferry_disk_action_to_string(p->action)));
        g_variant_builder_add(&one, "{sv}", "reason", g_variant_new_string(p->reason));
        g_variant_builder_add(&one, "{sv}", "type", g_variant_new_string(d->type));
        g_variant_builder_add(&one, "{sv}", "device", g_variant_new_string(d->device));
        if (d->source != NULL)
            g_variant_builder_add(&one, "{sv}", "source", g_variant_new_string(d->source));
        if (p->dest_source != NULL)
            g_variant_builder_add(&one, "{sv}", "dest_source",
                                  g_variant_new_string(p->dest_source));
        g_variant_builder_init(&backing, G_VARIANT_TYPE("as"));
        for (guint b = 0; p->dest_backing != NULL && b < p->dest_backing->len; b++)
            g_variant_builder_add(&backing, "s",
                                  (const char *)g_ptr_array_index(p->dest_backing, b));
        g_variant_builder_add(&one, "{sv}", "dest_backing", g_variant_builder_end(&backing));
        g_variant_builder_add(&one, "{sv}", "line", g_variant_new_int32(d->line));
        g_variant_builder_add(&all, "a{sv}", &one);
    }
    return g_variant_builder_end(&all);
}
