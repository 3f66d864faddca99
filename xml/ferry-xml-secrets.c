/*
 * ferry-xml-secrets.c: domain XML fit to print: without graphics passwords.
 *
 * ferry migrates with the passwords (libvirt puts them into the migratable XML), but never
 * prints them.  The document is parsed (with the same safe options as every domain ferry
 * reads) and the passwd attribute of every <graphics> element removed from the tree: text in
 * comments or CDATA sections that merely looks like a <graphics> tag is never mistaken for one.
 */
#include "xml/ferry-domain-xml-private.h"

static guint
strip_graphics_passwords(xmlNode *node)
{
    guint removed = 0;

    for (xmlNode *n = node; n != NULL; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (ferry_xml_node_is(n, "graphics") && xmlHasProp(n, (const xmlChar *)"passwd")) {
            xmlUnsetProp(n, (const xmlChar *)"passwd");
            removed++;
        }
        removed += strip_graphics_passwords(n->children);
    }
    return removed;
}

char *
ferry_domain_xml_without_secrets(const char *text, GError **error)
{
    g_autoptr(FerryDomainXml) xml = ferry_domain_xml_parse(text, "the domain XML", error);

    if (!xml)
        return NULL;
    if (strip_graphics_passwords(xmlDocGetRootElement(xml->doc)) == 0)
        return g_strdup(text);
    return ferry_xml_save(xml->doc);
}
