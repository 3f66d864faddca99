/*
 * ferry-xml-rewrite.c: the domain XML the destination runs (VIR_MIGRATE_PARAM_DEST_XML) and
 * keeps (VIR_MIGRATE_PARAM_PERSIST_XML).
 *
 * Only what the mapping names changes; attributes are replaced in place and whitespace text
 * nodes are kept, so an XML with nothing to map comes out equivalent to what went in.  Nova's
 * get_updated_guest_xml() (nova/virt/libvirt/migration.py) is the reference for the list.
 */
#include "xml/ferry-domain-xml-private.h"

#include <string.h>

typedef struct {
    const FerryDomainXml *xml;
    const FerryXmlMapping *map;
    xmlDoc *doc;
} FerryRewrite;

static void
set_prop_if_changed(xmlNode *node, const char *attr, const char *value)
{
    g_autofree char *old = ferry_xml_prop(node, attr);

    if (value != NULL && g_strcmp0(old, value) != 0)
        xmlSetProp(node, (const xmlChar *)attr, (const xmlChar *)value);
}

/* The path a <source> of @type gets on the destination: shared storage keeps its path, a
 * mapped prefix is replaced, anything else is kept (the plan says whether that is acceptable). */
static void
rewrite_source_path(const FerryRewrite *rw, xmlNode *source, const char *type)
{
    const char *attr = ferry_xml_path_attr_for_type(type != NULL ? type : "file");
    g_autofree char *path = NULL;
    g_autofree char *mapped = NULL;

    if (attr == NULL || source == NULL)
        return;
    path = ferry_xml_prop(source, attr);
    if (path == NULL || ferry_xml_mapping_is_shared(rw->map, path))
        return;
    if (g_strcmp0(type, "block") == 0)
        mapped = ferry_xml_mapping_map_block(rw->map, path, NULL, NULL);
    else
        mapped = ferry_xml_mapping_map_path(rw->map, path, NULL);
    set_prop_if_changed(source, attr, mapped);
}

/* <source pool=...>: the destination's pool of the same cluster-wide name. */
static void
rewrite_source_pool(const FerryRewrite *rw, xmlNode *source)
{
    g_autofree char *pool = ferry_xml_prop(source, "pool");

    if (pool == NULL || rw->map == NULL)
        return;
    set_prop_if_changed(source, "pool", ferry_xml_pairs_lookup(rw->map->pools, pool));
}

/* A path outside <disk> that lives in the guest's directory (Nova keeps console.log, kernel and
 * ramdisk next to the disks): it follows the same mapping, or qemu cannot open it there. */
static void
rewrite_other_path(const FerryRewrite *rw, xmlNode *node, const char *attr)
{
    g_autofree char *path = NULL;
    g_autofree char *mapped = NULL;

    if (node == NULL)
        return;
    if (attr != NULL)
        path = ferry_xml_prop(node, attr);
    else if (node->children != NULL && node->children->type == XML_TEXT_NODE &&
             node->children->next == NULL)
        path = g_strdup((const char *)node->children->content);
    if (path == NULL || ferry_xml_mapping_is_shared(rw->map, path))
        return;
    mapped = ferry_xml_mapping_map_path(rw->map, path, NULL);
    if (mapped == NULL)
        return;
    if (attr != NULL) {
        set_prop_if_changed(node, attr, mapped);
    } else {
        xmlNodeSetContent(node, NULL);
        xmlAddChild(node, xmlNewDocText(rw->doc, (const xmlChar *)mapped));
    }
}

static const char *const os_path_elements[] = {"kernel", "initrd", "dtb", "nvram"};

static void
rewrite_os_paths(const FerryRewrite *rw, xmlNode *root)
{
    FERRY_XML_FOREACH_CHILD(root, "os", os)
    {
        for (size_t i = 0; i < G_N_ELEMENTS(os_path_elements); i++) {
            FERRY_XML_FOREACH_CHILD(os, os_path_elements[i], node)
            {
                rewrite_other_path(rw, node, NULL);
            }
        }
    }
}

static gboolean
rewrite_disks(const FerryRewrite *rw, xmlNode *root, GError **error)
{
    g_autoptr(GPtrArray) nodes = ferry_xml_disk_nodes(root);
    const GPtrArray *disks = rw->xml->def.disks;

    /* The copy has the same disks in the same order as the parsed definition. */
    g_return_val_if_fail(nodes->len == disks->len, FALSE);

    for (guint i = 0; i < nodes->len; i++) {
        xmlNode *node = g_ptr_array_index(nodes, i);
        g_autofree char *type = ferry_xml_prop(node, "type");

        if (g_strcmp0(type, "volume") == 0)
            rewrite_source_pool(rw, ferry_xml_child(node, "source"));
        rewrite_source_path(rw, ferry_xml_child(node, "source"), type);
        for (xmlNode *bs = ferry_xml_child(node, "backingStore"); bs != NULL;
             bs = ferry_xml_child(bs, "backingStore")) {
            g_autofree char *bs_type = ferry_xml_prop(bs, "type");

            if (bs_type != NULL)
                rewrite_source_path(rw, ferry_xml_child(bs, "source"), bs_type);
        }
    }
    return TRUE;
}

typedef struct {
    const char *type;
    const char *attr;
    gsize pairs_offset; /* which FerryXmlMapping list maps it */
} FerryIfaceRule;

static const FerryIfaceRule iface_rules[] = {
    {.type = "network",
     .attr = "network",
     .pairs_offset = G_STRUCT_OFFSET(FerryXmlMapping, networks)},
    {.type = "bridge", .attr = "bridge", .pairs_offset = G_STRUCT_OFFSET(FerryXmlMapping, bridges)},
    {.type = "direct",
     .attr = "dev",
     .pairs_offset = G_STRUCT_OFFSET(FerryXmlMapping, direct_devs)},
};

static void
rewrite_interface(const FerryRewrite *rw, xmlNode *node)
{
    g_autofree char *type = ferry_xml_prop(node, "type");
    xmlNode *source = ferry_xml_child(node, "source");

    if (source == NULL)
        return;
    for (size_t i = 0; i < G_N_ELEMENTS(iface_rules); i++) {
        const GPtrArray *pairs;
        g_autofree char *from = NULL;

        if (g_strcmp0(type, iface_rules[i].type) != 0)
            continue;
        pairs = G_STRUCT_MEMBER(GPtrArray *, rw->map, iface_rules[i].pairs_offset);
        from = ferry_xml_prop(source, iface_rules[i].attr);
        set_prop_if_changed(source, iface_rules[i].attr, ferry_xml_pairs_lookup(pairs, from));
    }
}

static void
rewrite_graphics(const FerryRewrite *rw, xmlNode *node)
{
    g_autofree char *listen = ferry_xml_prop(node, "listen");
    g_autofree char *dropped_address = NULL;

    FERRY_XML_FOREACH_CHILD(node, "listen", child)
    {
        g_autofree char *type = ferry_xml_prop(child, "type");
        g_autofree char *address = ferry_xml_prop(child, "address");

        if (g_strcmp0(type, "network") == 0) {
            g_autofree char *network = ferry_xml_prop(child, "network");
            const char *to = ferry_xml_pairs_lookup(rw->map->networks, network);

            /* The address of a network listen is resolved by the source host at start; with
             * the network renamed it means nothing on the destination. */
            if (to != NULL) {
                set_prop_if_changed(child, "network", to);
                if (address != NULL) {
                    xmlUnsetProp(child, (const xmlChar *)"address");
                    if (dropped_address == NULL)
                        dropped_address = g_steal_pointer(&address);
                }
            }
        } else {
            set_prop_if_changed(child, "address", ferry_xml_mapping_map_address(rw->map, address));
        }
    }
    if (listen != NULL && g_strcmp0(listen, dropped_address) == 0)
        xmlUnsetProp(node, (const xmlChar *)"listen");
    else
        set_prop_if_changed(node, "listen", ferry_xml_mapping_map_address(rw->map, listen));

    /* A live XML shows the port the source picked; with autoport the destination picks its own,
     * and keeping the number could collide there. */
    if (ferry_xml_prop_is(node, "autoport", "yes")) {
        static const char *const ports[] = {"port", "tlsPort"};

        /* port='-1' is libvirt's own spelling of "pick one": not a number to drop */
        for (size_t i = 0; i < G_N_ELEMENTS(ports); i++) {
            if (!ferry_xml_prop_is(node, ports[i], "-1"))
                xmlUnsetProp(node, (const xmlChar *)ports[i]);
        }
    }
}

static void
rewrite_chardev(const FerryRewrite *rw, xmlNode *node)
{
    g_autofree char *type = ferry_xml_prop(node, "type");

    FERRY_XML_FOREACH_CHILD(node, "log", log)
    {
        rewrite_other_path(rw, log, "file");
    }
    if (g_strcmp0(type, "file") == 0) {
        FERRY_XML_FOREACH_CHILD(node, "source", source)
        {
            rewrite_other_path(rw, source, "path");
        }
    }
    if (g_strcmp0(type, "tcp") != 0 && g_strcmp0(type, "udp") != 0)
        return;
    FERRY_XML_FOREACH_CHILD(node, "source", source)
    {
        g_autofree char *mode = ferry_xml_prop(source, "mode");
        g_autofree char *host = ferry_xml_prop(source, "host");
        const char *to = ferry_xml_mapping_map_address(rw->map, host);

        /* A bind address of the source becomes the destination's; a connect to the source host
         * itself follows the guest only when we know the destination's address (connecting to
         * 0.0.0.0 means nothing). */
        if (g_strcmp0(mode, "bind") == 0 || rw->map->dst_address != NULL)
            set_prop_if_changed(source, "host", to);
    }
}

static const char *const chardev_kinds[] = {"serial", "console", "parallel", "channel"};

static void
rewrite_devices(const FerryRewrite *rw, xmlNode *root)
{
    FERRY_XML_FOREACH_CHILD(root, "devices", devices)
    {
        for (xmlNode *n = devices->children; n != NULL; n = n->next) {
            if (ferry_xml_node_is(n, "interface"))
                rewrite_interface(rw, n);
            else if (ferry_xml_node_is(n, "graphics"))
                rewrite_graphics(rw, n);
            for (size_t i = 0; i < G_N_ELEMENTS(chardev_kinds); i++) {
                if (ferry_xml_node_is(n, chardev_kinds[i]))
                    rewrite_chardev(rw, n);
            }
        }
    }
}

static gboolean
rewrite_name(const FerryRewrite *rw, xmlNode *root, GError **error)
{
    const char *name = rw->map->new_name;
    xmlNode *node;

    if (name == NULL)
        return TRUE;
    if (name[0] == '\0' || strchr(name, '/') != NULL || !g_utf8_validate(name, -1, NULL)) {
        g_set_error(error, FERRY_XML_ERROR, FERRY_XML_ERROR_INVALID,
                    "%s: invalid new domain name '%s'", rw->xml->origin, name);
        return FALSE;
    }
    node = ferry_xml_child(root, "name");
    if (node == NULL)
        return TRUE; /* parse guarantees one; nothing to do otherwise */
    xmlNodeSetContent(node, NULL);
    xmlAddChild(node, xmlNewDocText(rw->doc, (const xmlChar *)name));
    return TRUE;
}

char *
ferry_domain_xml_rewrite(const FerryDomainXml *xml, const FerryXmlMapping *map, GError **error)
{
    g_autoptr(FerryXmlMapping) empty = NULL;
    FerryRewrite rw = {.xml = xml, .map = map};
    xmlNode *root;
    char *out = NULL;

    g_return_val_if_fail(xml != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    if (map == NULL) {
        empty = ferry_xml_mapping_new();
        rw.map = empty;
    }
    rw.doc = xmlCopyDoc(xml->doc, 1);
    if (rw.doc == NULL) {
        g_set_error(error, FERRY_XML_ERROR, FERRY_XML_ERROR_INVALID, "%s: cannot copy document",
                    xml->origin);
        return NULL;
    }
    root = xmlDocGetRootElement(rw.doc);
    if (rewrite_name(&rw, root, error) && rewrite_disks(&rw, root, error)) {
        rewrite_os_paths(&rw, root);
        rewrite_devices(&rw, root);
        out = ferry_xml_save(rw.doc);
    }
    xmlFreeDoc(rw.doc);

    /* Nothing changed: the input itself, byte for byte.  Saving normalizes what the tree does
     * not keep (quotes, character references, empty elements, an XML declaration), which would
     * make a rewrite that changes nothing differ from its input, e.g. in the double-quoted
     * namespaces libvirt writes in <metadata>. */
    if (out != NULL) {
        g_autofree char *unchanged = ferry_xml_save(xml->doc);

        if (g_str_equal(out, unchanged)) {
            g_free(out);
            out = g_strdup(xml->text);
        }
    }
    return out;
}

char *
ferry_domain_xml_volumes_as_files(const FerryDomainXml *xml, GHashTable *target_paths,
                                  GError **error)
{
    g_autoptr(GPtrArray) nodes = NULL;
    xmlDoc *doc;
    char *out;

    g_return_val_if_fail(xml != NULL && target_paths != NULL, NULL);

    doc = xmlCopyDoc(xml->doc, 1);
    if (doc == NULL) {
        g_set_error(error, FERRY_XML_ERROR, FERRY_XML_ERROR_INVALID, "%s: cannot copy document",
                    xml->origin);
        return NULL;
    }
    nodes = ferry_xml_disk_nodes(xmlDocGetRootElement(doc));
    for (guint i = 0; i < nodes->len; i++) {
        xmlNode *node = g_ptr_array_index(nodes, i);
        xmlNode *source = ferry_xml_child(node, "source");
        g_autofree char *dev = ferry_xml_prop(ferry_xml_child(node, "target"), "dev");
        const char *path = dev != NULL ? g_hash_table_lookup(target_paths, dev) : NULL;

        if (path == NULL || source == NULL || !ferry_xml_prop_is(node, "type", "volume"))
            continue;
        xmlSetProp(node, (const xmlChar *)"type", (const xmlChar *)"file");
        xmlUnsetProp(source, (const xmlChar *)"pool");
        xmlUnsetProp(source, (const xmlChar *)"volume");
        xmlUnsetProp(source, (const xmlChar *)"mode");
        xmlSetProp(source, (const xmlChar *)"file", (const xmlChar *)path);
    }
    out = ferry_xml_save(doc);
    xmlFreeDoc(doc);
    return out;
}
