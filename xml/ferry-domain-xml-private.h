/*
 * ferry-domain-xml-private.h: what the parse, plan and rewrite files of xml/ share.
 * Not installed, not for the engine.
 */
#pragma once

#include <libxml/tree.h>

#include "xml/ferry-domain-xml.h"

struct _FerryDomainXml {
    xmlDoc *doc;
    char *text; /* the document as parsed, byte for byte: what a rewrite that changes nothing
                   returns */
    char *origin;
    FerryDomainDef def;
};

/* Element children of @parent named @name (no namespace), in document order. */
#define FERRY_XML_FOREACH_CHILD(parent, name, var)                                                 \
    for (xmlNode *var = ferry_xml_child_next((parent)->children, (name)); var != NULL;             \
         var = ferry_xml_child_next(var->next, (name)))

xmlNode *ferry_xml_child_next(xmlNode *from, const char *name);
xmlNode *ferry_xml_child(const xmlNode *parent, const char *name);
gboolean ferry_xml_node_is(const xmlNode *node, const char *name);
/* Attribute value as a g_malloc'ed string, NULL when absent. */
char *ferry_xml_prop(const xmlNode *node, const char *name);
gboolean ferry_xml_prop_is(const xmlNode *node, const char *name, const char *value);
int ferry_xml_line(const xmlNode *node);

/* <disk> elements of the domain in the order FerryDomainDef.disks lists them. */
GPtrArray *ferry_xml_disk_nodes(xmlNode *root);
/* Name of the <source> attribute that holds the path for a disk/backingStore of @type
 * ("file", "dev", "dir"), NULL for a type without a path. */
const char *ferry_xml_path_attr_for_type(const char *type);

/* Mapping helpers. */
gboolean ferry_xml_path_is_canonical(const char *path);
gboolean ferry_xml_path_has_prefix(const char *path, const char *prefix);
gboolean ferry_xml_mapping_is_shared(const FerryXmlMapping *map, const char *path);
/* Destination path of @path under the longest matching path_maps prefix, NULL when none. */
char *ferry_xml_mapping_map_path(const FerryXmlMapping *map, const char *path,
                                 const FerryXmlPair **matched);
const char *ferry_xml_pairs_lookup(const GPtrArray *pairs, const char *from);
/* What @address becomes on the destination, NULL when it stays. */
const char *ferry_xml_mapping_map_address(const FerryXmlMapping *map, const char *address);

/* Plan of one disk: used by the plan and by the rewrite. */
FerryDiskPlan *ferry_disk_plan_classify(const FerryDomainDisk *disk, const FerryXmlMapping *map);
void ferry_disk_plan_free(FerryDiskPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryDiskPlan, ferry_disk_plan_free)

/* The document as libvirt would write it: single-quoted attributes, no XML declaration.  Two
 * documents that save alike are the same document to any XML reader. */
char *ferry_xml_save(xmlDoc *doc);
