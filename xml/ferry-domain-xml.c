/*
 * ferry-domain-xml.c: parse a libvirt domain XML into the FerryDomainDef that migration needs.
 *
 * The parser is fed XML that came from a host (or a user's file), so it is treated as untrusted:
 * no network, no DTD loading, no entity substitution, and a document with a DOCTYPE is refused
 * outright (libvirt never writes one, and it is the door to entity expansion attacks).
 */
#include "xml/ferry-domain-xml-private.h"

#include <libxml/parser.h>

#include <string.h>

/* clang-format off */
G_DEFINE_QUARK(ferry-xml-error-quark, ferry_xml_error)
/* clang-format on */

/* Upper bound for <vcpu>: far above any real guest, low enough to catch garbage. */
#define FERRY_XML_MAX_VCPUS 16384

/* ---- small DOM helpers shared by the xml/ files ---- */

gboolean
ferry_xml_node_is(const xmlNode *node, const char *name)
{
    return node != NULL && node->type == XML_ELEMENT_NODE && node->ns == NULL &&
           g_strcmp0((const char *)node->name, name) == 0;
}

xmlNode *
ferry_xml_child_next(xmlNode *from, const char *name)
{
    for (xmlNode *n = from; n != NULL; n = n->next) {
        if (ferry_xml_node_is(n, name))
            return n;
    }
    return NULL;
}

xmlNode *
ferry_xml_child(const xmlNode *parent, const char *name)
{
    if (parent == NULL)
        return NULL;
    return ferry_xml_child_next(parent->children, name);
}

char *
ferry_xml_prop(const xmlNode *node, const char *name)
{
    xmlChar *value;
    char *ret;

    if (node == NULL)
        return NULL;
    value = xmlGetNoNsProp(node, (const xmlChar *)name);
    if (value == NULL)
        return NULL;
    ret = g_strdup((const char *)value);
    xmlFree(value);
    return ret;
}

gboolean
ferry_xml_prop_is(const xmlNode *node, const char *name, const char *value)
{
    g_autofree char *v = ferry_xml_prop(node, name);

    return g_strcmp0(v, value) == 0;
}

int
ferry_xml_line(const xmlNode *node)
{
    long line = node != NULL ? xmlGetLineNo(node) : 0;

    return line > 0 && line < G_MAXINT ? (int)line : 0;
}

static char *
ferry_xml_text(const xmlNode *node)
{
    xmlChar *content;
    char *ret;

    if (node == NULL)
        return NULL;
    content = xmlNodeGetContent(node);
    if (content == NULL)
        return NULL;
    ret = g_strstrip(g_strdup((const char *)content));
    xmlFree(content);
    return ret;
}

GPtrArray *
ferry_xml_disk_nodes(xmlNode *root)
{
    GPtrArray *nodes = g_ptr_array_new();

    FERRY_XML_FOREACH_CHILD(root, "devices", devices)
    {
        FERRY_XML_FOREACH_CHILD(devices, "disk", disk)
        {
            g_ptr_array_add(nodes, disk);
        }
    }
    return nodes;
}

typedef struct {
    const char *type;
    const char *attr;
} FerryXmlPathAttr;

static const FerryXmlPathAttr path_attrs[] = {
    {.type = "file", .attr = "file"},
    {.type = "block", .attr = "dev"},
    {.type = "dir", .attr = "dir"},
};

const char *
ferry_xml_path_attr_for_type(const char *type)
{
    for (size_t i = 0; i < G_N_ELEMENTS(path_attrs); i++) {
        if (g_strcmp0(type, path_attrs[i].type) == 0)
            return path_attrs[i].attr;
    }
    return NULL;
}

/* ---- frees ---- */

static void
ferry_domain_backing_free(FerryDomainBacking *b)
{
    if (b == NULL)
        return;
    g_free(b->path);
    g_free(b->format);
    g_free(b->type);
    g_free(b);
}

static void
ferry_domain_disk_free(FerryDomainDisk *d)
{
    if (d == NULL)
        return;
    g_free(d->type);
    g_free(d->device);
    g_free(d->target);
    g_free(d->bus);
    g_free(d->driver_type);
    g_free(d->cache);
    g_free(d->source);
    g_free(d->protocol);
    g_clear_pointer(&d->hosts, g_ptr_array_unref);
    g_clear_pointer(&d->backing_chain, g_ptr_array_unref);
    g_free(d);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryDomainDisk, ferry_domain_disk_free)

static void
ferry_domain_interface_free(FerryDomainInterface *i)
{
    if (i == NULL)
        return;
    g_free(i->type);
    g_free(i->source);
    g_free(i->mac);
    g_free(i->model);
    g_free(i);
}

static void
ferry_domain_graphics_free(FerryDomainGraphics *g)
{
    if (g == NULL)
        return;
    g_free(g->type);
    g_free(g->listen);
    g_clear_pointer(&g->listens, g_ptr_array_unref);
    g_clear_pointer(&g->listen_networks, g_ptr_array_unref);
    g_free(g);
}

static void
ferry_domain_chardev_free(FerryDomainChardev *c)
{
    if (c == NULL)
        return;
    g_free(c->kind);
    g_free(c->type);
    g_free(c->mode);
    g_free(c->host);
    g_free(c->service);
    g_free(c->path);
    g_free(c);
}

static void
ferry_domain_hostdev_free(FerryDomainHostdev *h)
{
    if (h == NULL)
        return;
    g_free(h->mode);
    g_free(h->type);
    g_free(h->description);
    g_free(h);
}

static void
ferry_domain_def_clear(FerryDomainDef *def)
{
    g_clear_pointer(&def->name, g_free);
    g_clear_pointer(&def->uuid, g_free);
    g_clear_pointer(&def->cpu_mode, g_free);
    g_clear_pointer(&def->cpu_model, g_free);
    g_clear_pointer(&def->domain_type, g_free);
    g_clear_pointer(&def->cpu_features, g_ptr_array_unref);
    g_clear_pointer(&def->disks, g_ptr_array_unref);
    g_clear_pointer(&def->interfaces, g_ptr_array_unref);
    g_clear_pointer(&def->graphics, g_ptr_array_unref);
    g_clear_pointer(&def->chardevs, g_ptr_array_unref);
    g_clear_pointer(&def->hostdevs, g_ptr_array_unref);
}

void
ferry_domain_xml_free(FerryDomainXml *xml)
{
    if (xml == NULL)
        return;
    ferry_domain_def_clear(&xml->def);
    if (xml->doc != NULL)
        xmlFreeDoc(xml->doc);
    g_free(xml->text);
    g_free(xml->origin);
    g_free(xml);
}

const FerryDomainDef *
ferry_domain_xml_get_def(const FerryDomainXml *xml)
{
    g_return_val_if_fail(xml != NULL, NULL);
    return &xml->def;
}

/* ---- parse ---- */

static void set_invalid(GError **error, const FerryDomainXml *xml, const xmlNode *node,
                        const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static void
set_invalid(GError **error, const FerryDomainXml *xml, const xmlNode *node, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;
    int line = ferry_xml_line(node);

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (line > 0)
        g_set_error(error, FERRY_XML_ERROR, FERRY_XML_ERROR_INVALID, "%s: %s (line %d)",
                    xml->origin, msg, line);
    else
        g_set_error(error, FERRY_XML_ERROR, FERRY_XML_ERROR_INVALID, "%s: %s", xml->origin, msg);
}

typedef struct {
    const char *unit;
    guint64 bytes;
} FerryMemoryUnit;

/* libvirt's scaled integers (docs/formatdomain: "unit" attribute of <memory>). */
static const FerryMemoryUnit memory_units[] = {
    {.unit = "b", .bytes = 1},
    {.unit = "bytes", .bytes = 1},
    {.unit = "KB", .bytes = 1000},
    {.unit = "k", .bytes = 1024},
    {.unit = "KiB", .bytes = 1024},
    {.unit = "MB", .bytes = 1000 * 1000},
    {.unit = "M", .bytes = 1024 * 1024},
    {.unit = "MiB", .bytes = 1024 * 1024},
    {.unit = "GB", .bytes = G_GUINT64_CONSTANT(1000) * 1000 * 1000},
    {.unit = "G", .bytes = G_GUINT64_CONSTANT(1024) * 1024 * 1024},
    {.unit = "GiB", .bytes = G_GUINT64_CONSTANT(1024) * 1024 * 1024},
    {.unit = "TB", .bytes = G_GUINT64_CONSTANT(1000) * 1000 * 1000 * 1000},
    {.unit = "T", .bytes = G_GUINT64_CONSTANT(1024) * 1024 * 1024 * 1024},
    {.unit = "TiB", .bytes = G_GUINT64_CONSTANT(1024) * 1024 * 1024 * 1024},
};

static gboolean
parse_memory(FerryDomainXml *xml, xmlNode *root, GError **error)
{
    xmlNode *node = ferry_xml_child(root, "memory");
    g_autofree char *text = NULL;
    g_autofree char *unit = NULL;
    guint64 value = 0;
    guint64 scale = 0;

    if (node == NULL) {
        set_invalid(error, xml, root, "missing required element <memory> in <domain>");
        return FALSE;
    }
    text = ferry_xml_text(node);
    unit = ferry_xml_prop(node, "unit");
    if (unit == NULL) {
        scale = 1024;
    } else {
        for (size_t i = 0; i < G_N_ELEMENTS(memory_units); i++) {
            /* libvirt compares units case-insensitively except that "b" and "B" both mean bytes */
            if (g_ascii_strcasecmp(unit, memory_units[i].unit) == 0) {
                scale = memory_units[i].bytes;
                break;
            }
        }
        if (scale == 0) {
            set_invalid(error, xml, node, "unknown unit '%s' in <memory>", unit);
            return FALSE;
        }
    }
    if (!g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT64, &value, NULL)) {
        set_invalid(error, xml, node, "invalid <memory> value '%s'", text);
        return FALSE;
    }
    if (value > G_MAXUINT64 / scale) {
        set_invalid(error, xml, node, "<memory> value '%s' %s is too large", text,
                    unit != NULL ? unit : "KiB");
        return FALSE;
    }
    xml->def.memory_kib = (value * scale) / 1024;
    return TRUE;
}

static gboolean
parse_vcpu(FerryDomainXml *xml, xmlNode *root, GError **error)
{
    xmlNode *node = ferry_xml_child(root, "vcpu");
    g_autofree char *text = NULL;
    g_autofree char *current = NULL;
    guint64 value = 1;
    guint64 cur;

    if (node != NULL) {
        text = ferry_xml_text(node);
        if (!g_ascii_string_to_unsigned(text, 10, 1, FERRY_XML_MAX_VCPUS, &value, NULL)) {
            set_invalid(error, xml, node, "invalid <vcpu> value '%s'", text);
            return FALSE;
        }
    }
    xml->def.vcpus = (guint)value;
    cur = value;
    current = ferry_xml_prop(node, "current");
    if (current != NULL && !g_ascii_string_to_unsigned(current, 10, 1, value, &cur, NULL)) {
        set_invalid(error, xml, node, "invalid <vcpu current='%s'> for %u vCPUs", current,
                    xml->def.vcpus);
        return FALSE;
    }
    xml->def.vcpus_current = (guint)cur;
    return TRUE;
}

static void
parse_cpu(FerryDomainXml *xml, xmlNode *root)
{
    xmlNode *cpu = ferry_xml_child(root, "cpu");

    if (cpu == NULL)
        return;
    xml->def.cpu_mode = ferry_xml_prop(cpu, "mode");
    xml->def.cpu_model = ferry_xml_text(ferry_xml_child(cpu, "model"));
    if (xml->def.cpu_model != NULL && xml->def.cpu_model[0] == '\0')
        g_clear_pointer(&xml->def.cpu_model, g_free);
    /* libvirt: a <cpu> without mode is mode='custom' */
    if (xml->def.cpu_mode == NULL && xml->def.cpu_model != NULL)
        xml->def.cpu_mode = g_strdup("custom");
    FERRY_XML_FOREACH_CHILD(cpu, "feature", feature)
    {
        g_autofree char *policy = ferry_xml_prop(feature, "policy");
        g_autofree char *name = ferry_xml_prop(feature, "name");

        if (name == NULL)
            continue;
        g_ptr_array_add(xml->def.cpu_features,
                        g_strdup_printf("%s:%s", policy != NULL ? policy : "require", name));
    }
}

/* "" in an attribute means the same as no attribute for every source we read. */
static char *
nonempty(char *s)
{
    if (s != NULL && s[0] == '\0') {
        g_free(s);
        return NULL;
    }
    return s;
}

static void
parse_backing_chain(FerryDomainDisk *disk, xmlNode *disk_node)
{
    xmlNode *bs = ferry_xml_child(disk_node, "backingStore");

    /* Iterative, not recursive: the chain length is whatever the input says. */
    while (bs != NULL) {
        xmlNode *source = ferry_xml_child(bs, "source");
        FerryDomainBacking *b;
        g_autofree char *type = ferry_xml_prop(bs, "type");
        const char *attr;

        if (source == NULL && type == NULL)
            break; /* <backingStore/>: explicitly the end of the chain */
        b = g_new0(FerryDomainBacking, 1);
        b->type = g_steal_pointer(&type);
        b->format = ferry_xml_prop(ferry_xml_child(bs, "format"), "type");
        attr = ferry_xml_path_attr_for_type(b->type != NULL ? b->type : "file");
        if (attr != NULL)
            b->path = nonempty(ferry_xml_prop(source, attr));
        else if (g_strcmp0(b->type, "network") == 0)
            b->path = nonempty(ferry_xml_prop(source, "name"));
        g_ptr_array_add(disk->backing_chain, b);
        bs = ferry_xml_child(bs, "backingStore");
    }
}

static gboolean
parse_disk(FerryDomainXml *xml, xmlNode *node, GError **error)
{
    g_autoptr(FerryDomainDisk) disk = g_new0(FerryDomainDisk, 1);
    xmlNode *source = ferry_xml_child(node, "source");
    xmlNode *driver = ferry_xml_child(node, "driver");
    xmlNode *target = ferry_xml_child(node, "target");
    const char *attr;

    disk->line = ferry_xml_line(node);
    disk->hosts = g_ptr_array_new_with_free_func(g_free);
    disk->backing_chain = g_ptr_array_new_with_free_func((GDestroyNotify)ferry_domain_backing_free);
    /* libvirt's defaults when the attributes are absent */
    disk->type = ferry_xml_prop(node, "type");
    if (disk->type == NULL)
        disk->type = g_strdup("file");
    disk->device = ferry_xml_prop(node, "device");
    if (disk->device == NULL)
        disk->device = g_strdup("disk");
    disk->target = nonempty(ferry_xml_prop(target, "dev"));
    if (disk->target == NULL) {
        set_invalid(error, xml, node, "<disk> has no <target dev='...'>");
        return FALSE;
    }
    disk->bus = ferry_xml_prop(target, "bus");
    disk->driver_type = ferry_xml_prop(driver, "type");
    disk->cache = ferry_xml_prop(driver, "cache");
    disk->readonly = ferry_xml_child(node, "readonly") != NULL;
    disk->shareable = ferry_xml_child(node, "shareable") != NULL;

    attr = ferry_xml_path_attr_for_type(disk->type);
    if (attr != NULL) {
        disk->source = nonempty(ferry_xml_prop(source, attr));
    } else if (g_strcmp0(disk->type, "network") == 0) {
        if (source == NULL) {
            set_invalid(error, xml, node, "network <disk> '%s' has no <source>", disk->target);
            return FALSE;
        }
        disk->protocol = ferry_xml_prop(source, "protocol");
        if (disk->protocol == NULL) {
            set_invalid(error, xml, source, "network <disk> '%s' has no <source protocol>",
                        disk->target);
            return FALSE;
        }
        disk->source = nonempty(ferry_xml_prop(source, "name"));
        FERRY_XML_FOREACH_CHILD(source, "host", host)
        {
            g_autofree char *name = ferry_xml_prop(host, "name");
            g_autofree char *port = ferry_xml_prop(host, "port");
            g_autofree char *socket = ferry_xml_prop(host, "socket");

            if (name != NULL && port != NULL)
                g_ptr_array_add(disk->hosts, g_strdup_printf("%s:%s", name, port));
            else if (name != NULL)
                g_ptr_array_add(disk->hosts, g_steal_pointer(&name));
            else if (socket != NULL)
                g_ptr_array_add(disk->hosts, g_strdup_printf("unix:%s", socket));
        }
    } else if (g_strcmp0(disk->type, "volume") == 0) {
        g_autofree char *pool = ferry_xml_prop(source, "pool");
        g_autofree char *volume = ferry_xml_prop(source, "volume");

        if (pool != NULL && volume != NULL)
            disk->source = g_strdup_printf("%s/%s", pool, volume);
    } else if (g_strcmp0(disk->type, "nvme") == 0) {
        xmlNode *address = ferry_xml_child(source, "address");
        g_autofree char *domain = ferry_xml_prop(address, "domain");
        g_autofree char *bus = ferry_xml_prop(address, "bus");
        g_autofree char *slot = ferry_xml_prop(address, "slot");
        g_autofree char *function = ferry_xml_prop(address, "function");

        if (address != NULL)
            disk->source = g_strdup_printf("%s:%s:%s.%s", domain ? domain : "?", bus ? bus : "?",
                                           slot ? slot : "?", function ? function : "?");
    } else if (source != NULL) {
        /* vhostuser and future types: keep something readable for the plan */
        disk->source = nonempty(ferry_xml_prop(source, "path"));
    }
    disk->removable_empty = disk->source == NULL && g_strcmp0(disk->type, "network") != 0;
    parse_backing_chain(disk, node);
    g_ptr_array_add(xml->def.disks, g_steal_pointer(&disk));
    return TRUE;
}

typedef struct {
    const char *type;
    const char *attr;
} FerryIfaceSource;

static const FerryIfaceSource iface_sources[] = {
    {.type = "network", .attr = "network"}, {.type = "bridge", .attr = "bridge"},
    {.type = "direct", .attr = "dev"},      {.type = "vhostuser", .attr = "path"},
    {.type = "vdpa", .attr = "dev"},
};

static void
parse_interface(FerryDomainXml *xml, xmlNode *node)
{
    FerryDomainInterface *iface = g_new0(FerryDomainInterface, 1);
    xmlNode *source = ferry_xml_child(node, "source");

    iface->line = ferry_xml_line(node);
    iface->type = ferry_xml_prop(node, "type");
    for (size_t i = 0; i < G_N_ELEMENTS(iface_sources); i++) {
        if (g_strcmp0(iface->type, iface_sources[i].type) == 0) {
            iface->source = ferry_xml_prop(source, iface_sources[i].attr);
            break;
        }
    }
    iface->mac = ferry_xml_prop(ferry_xml_child(node, "mac"), "address");
    iface->model = ferry_xml_prop(ferry_xml_child(node, "model"), "type");
    g_ptr_array_add(xml->def.interfaces, iface);

    if (g_strcmp0(iface->type, "hostdev") == 0) {
        FerryDomainHostdev *h = g_new0(FerryDomainHostdev, 1);

        h->mode = g_strdup("subsystem");
        h->type = g_strdup("pci");
        h->description = g_strdup_printf("SR-IOV interface%s%s", iface->mac ? " " : "",
                                         iface->mac ? iface->mac : "");
        h->line = iface->line;
        g_ptr_array_add(xml->def.hostdevs, h);
    }
}

static gboolean
parse_graphics(FerryDomainXml *xml, xmlNode *node, GError **error)
{
    FerryDomainGraphics *g = g_new0(FerryDomainGraphics, 1);
    g_autofree char *port = ferry_xml_prop(node, "port");
    g_autofree char *autoport = ferry_xml_prop(node, "autoport");
    gint64 p = -1;

    g->line = ferry_xml_line(node);
    g->listens = g_ptr_array_new_with_free_func(g_free);
    g->listen_networks = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(xml->def.graphics, g);
    g->type = ferry_xml_prop(node, "type");
    g->listen = ferry_xml_prop(node, "listen");
    if (port != NULL && !g_ascii_string_to_signed(port, 10, -1, 65535, &p, NULL)) {
        set_invalid(error, xml, node, "invalid <graphics port='%s'>", port);
        return FALSE;
    }
    g->port = (int)p;
    /* libvirt: port='-1' (or no port for vnc) means autoport */
    g->autoport = g_strcmp0(autoport, "yes") == 0 || (autoport == NULL && p == -1);
    FERRY_XML_FOREACH_CHILD(node, "listen", listen)
    {
        g_autofree char *type = ferry_xml_prop(listen, "type");
        char *address = ferry_xml_prop(listen, "address");

        if (g_strcmp0(type, "network") == 0) {
            char *network = ferry_xml_prop(listen, "network");

            if (network != NULL)
                g_ptr_array_add(g->listen_networks, network);
            g_free(address);
        } else if (address != NULL) {
            g_ptr_array_add(g->listens, address);
        }
    }
    return TRUE;
}

static void
parse_chardev(FerryDomainXml *xml, xmlNode *node)
{
    FerryDomainChardev *c = g_new0(FerryDomainChardev, 1);
    xmlNode *source = ferry_xml_child(node, "source");

    c->kind = g_strdup((const char *)node->name);
    c->type = ferry_xml_prop(node, "type");
    c->mode = ferry_xml_prop(source, "mode");
    c->host = ferry_xml_prop(source, "host");
    c->service = ferry_xml_prop(source, "service");
    c->path = ferry_xml_prop(source, "path");
    c->line = ferry_xml_line(node);
    g_ptr_array_add(xml->def.chardevs, c);
}

static void
parse_hostdev(FerryDomainXml *xml, xmlNode *node)
{
    FerryDomainHostdev *h = g_new0(FerryDomainHostdev, 1);
    xmlNode *source = ferry_xml_child(node, "source");
    xmlNode *address = ferry_xml_child(source, "address");
    g_autofree char *domain = ferry_xml_prop(address, "domain");
    g_autofree char *bus = ferry_xml_prop(address, "bus");
    g_autofree char *slot = ferry_xml_prop(address, "slot");
    g_autofree char *function = ferry_xml_prop(address, "function");
    g_autofree char *vendor = ferry_xml_prop(ferry_xml_child(source, "vendor"), "id");
    g_autofree char *product = ferry_xml_prop(ferry_xml_child(source, "product"), "id");
    g_autofree char *uuid = ferry_xml_prop(address, "uuid");

    h->mode = ferry_xml_prop(node, "mode");
    h->type = ferry_xml_prop(node, "type");
    h->line = ferry_xml_line(node);
    if (g_strcmp0(h->type, "pci") == 0 && domain != NULL && bus != NULL && slot != NULL)
        h->description = g_strdup_printf("pci %s:%s:%s.%s", domain, bus, slot,
                                         function != NULL ? function : "0x0");
    else if (g_strcmp0(h->type, "usb") == 0 && vendor != NULL && product != NULL)
        h->description = g_strdup_printf("usb %s:%s", vendor, product);
    else if (g_strcmp0(h->type, "mdev") == 0 && uuid != NULL)
        h->description = g_strdup_printf("mdev %s", uuid);
    else
        h->description = g_strdup(h->type != NULL ? h->type : "unknown");
    g_ptr_array_add(xml->def.hostdevs, h);
}

static const char *const chardev_kinds[] = {"serial", "console", "parallel", "channel"};

static gboolean
parse_devices(FerryDomainXml *xml, xmlNode *root, GError **error)
{
    FERRY_XML_FOREACH_CHILD(root, "devices", devices)
    {
        for (xmlNode *n = devices->children; n != NULL; n = n->next) {
            if (n->type != XML_ELEMENT_NODE || n->ns != NULL)
                continue;
            if (ferry_xml_node_is(n, "disk")) {
                if (!parse_disk(xml, n, error))
                    return FALSE;
            } else if (ferry_xml_node_is(n, "interface")) {
                parse_interface(xml, n);
            } else if (ferry_xml_node_is(n, "graphics")) {
                if (!parse_graphics(xml, n, error))
                    return FALSE;
            } else if (ferry_xml_node_is(n, "hostdev")) {
                parse_hostdev(xml, n);
            } else {
                for (size_t i = 0; i < G_N_ELEMENTS(chardev_kinds); i++) {
                    if (ferry_xml_node_is(n, chardev_kinds[i]))
                        parse_chardev(xml, n);
                }
            }
        }
    }
    xml->def.n_hostdevs = xml->def.hostdevs->len;
    return TRUE;
}

/* libxml2 keeps only the last error; the first one is the one that names the real problem
 * ("Opening and ending tag mismatch" rather than "Premature end of data"). */
typedef struct {
    char *message;
    int line;
} FerryXmlFirstError;

static void
keep_first_error(void *user_data, xmlErrorPtr err)
{
    xmlParserCtxt *ctxt = user_data;
    FerryXmlFirstError *first = ctxt->_private;

    if (first == NULL || first->message != NULL || err == NULL || err->level < XML_ERR_ERROR)
        return;
    first->message = g_strstrip(g_strdup(err->message != NULL ? err->message : "unknown error"));
    first->line = err->line;
}

static xmlDoc *
read_document(const char *text, const char *origin, GError **error)
{
    xmlParserCtxt *ctxt;
    xmlDoc *doc;
    FerryXmlFirstError first = {0};
    size_t len = strlen(text);
    /* No XML_PARSE_NOENT, no XML_PARSE_DTDLOAD, no XML_PARSE_HUGE: entities are not substituted,
     * external DTDs are not fetched, and libxml2's default size/depth limits apply. */
    const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                        XML_PARSE_BIG_LINES | XML_PARSE_NOCDATA;

    if (len > G_MAXINT) {
        g_set_error(error, FERRY_XML_ERROR, FERRY_XML_ERROR_PARSE, "%s: document too large",
                    origin);
        return NULL;
    }
    ctxt = xmlNewParserCtxt();
    if (ctxt == NULL || ctxt->sax == NULL) {
        g_set_error(error, FERRY_XML_ERROR, FERRY_XML_ERROR_PARSE, "%s: cannot allocate XML parser",
                    origin);
        if (ctxt != NULL)
            xmlFreeParserCtxt(ctxt);
        return NULL;
    }
    ctxt->_private = &first;
    ctxt->sax->serror = keep_first_error;
    doc = xmlCtxtReadMemory(ctxt, text, (int)len, NULL, NULL, options);
    if (doc == NULL || !ctxt->wellFormed) {
        const char *msg = first.message != NULL ? first.message : "unknown error";

        if (first.line > 0)
            g_set_error(error, FERRY_XML_ERROR, FERRY_XML_ERROR_PARSE,
                        "%s: malformed XML at line %d: %s", origin, first.line, msg);
        else
            g_set_error(error, FERRY_XML_ERROR, FERRY_XML_ERROR_PARSE, "%s: malformed XML: %s",
                        origin, msg);
        if (doc != NULL)
            xmlFreeDoc(doc);
        doc = NULL;
    }
    g_free(first.message);
    xmlFreeParserCtxt(ctxt);
    return doc;
}

FerryDomainXml *
ferry_domain_xml_parse(const char *text, const char *origin, GError **error)
{
    g_autoptr(FerryDomainXml) xml = g_new0(FerryDomainXml, 1);
    xmlNode *root;
    xmlNode *name;
    xmlNode *uuid;

    g_return_val_if_fail(text != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    xml->origin = g_strdup(origin != NULL ? origin : "domain XML");
    xml->def.cpu_features = g_ptr_array_new_with_free_func(g_free);
    xml->def.disks = g_ptr_array_new_with_free_func((GDestroyNotify)ferry_domain_disk_free);
    xml->def.interfaces =
        g_ptr_array_new_with_free_func((GDestroyNotify)ferry_domain_interface_free);
    xml->def.graphics = g_ptr_array_new_with_free_func((GDestroyNotify)ferry_domain_graphics_free);
    xml->def.chardevs = g_ptr_array_new_with_free_func((GDestroyNotify)ferry_domain_chardev_free);
    xml->def.hostdevs = g_ptr_array_new_with_free_func((GDestroyNotify)ferry_domain_hostdev_free);

    xml->text = g_strdup(text);
    xml->doc = read_document(text, xml->origin, error);
    if (xml->doc == NULL)
        return NULL;
    if (xml->doc->intSubset != NULL || xml->doc->extSubset != NULL) {
        set_invalid(error, xml, NULL,
                    "a domain XML must not contain a <!DOCTYPE> (entities are not accepted)");
        return NULL;
    }
    root = xmlDocGetRootElement(xml->doc);
    if (root == NULL || !ferry_xml_node_is(root, "domain")) {
        set_invalid(error, xml, root, "root element is <%s>, expected <domain>",
                    root != NULL ? (const char *)root->name : "");
        return NULL;
    }
    xml->def.domain_type = ferry_xml_prop(root, "type");
    name = ferry_xml_child(root, "name");
    if (name == NULL) {
        set_invalid(error, xml, root, "missing required element <name> in <domain>");
        return NULL;
    }
    xml->def.name = ferry_xml_text(name);
    if (xml->def.name == NULL || xml->def.name[0] == '\0') {
        set_invalid(error, xml, name, "empty <name>");
        return NULL;
    }
    uuid = ferry_xml_child(root, "uuid");
    if (uuid != NULL)
        xml->def.uuid = ferry_xml_text(uuid);
    if (!parse_memory(xml, root, error) || !parse_vcpu(xml, root, error))
        return NULL;
    parse_cpu(xml, root);
    if (!parse_devices(xml, root, error))
        return NULL;
    return g_steal_pointer(&xml);
}

gboolean
ferry_domain_xml_check_movable(const FerryDomainXml *xml, GError **error)
{
    g_return_val_if_fail(xml != NULL, FALSE);

    if (xml->def.hostdevs->len > 0) {
        const FerryDomainHostdev *h = g_ptr_array_index(xml->def.hostdevs, 0);

        g_set_error(error, FERRY_XML_ERROR, FERRY_XML_ERROR_REFUSED,
                    "%s: host device passthrough (%s, line %d) cannot be migrated; detach it "
                    "first",
                    xml->origin, h->description, h->line);
        return FALSE;
    }
    return TRUE;
}
