/*
 * ferry-xml-save.c: serialize a document the way libvirt writes domain XML.
 *
 * libxml2's own serializer always uses double quotes; libvirt (virXMLFormatElement,
 * virBufferEscapeString) writes attributes in single quotes and escapes <>&'" everywhere.  Most
 * domain XML ferry sees comes from libvirt, so writing it the same way makes a real rewrite show
 * up as a minimal diff.  It is not the input byte for byte: the tree keeps no quotes, character
 * references or empty-element forms, and libvirt itself writes <metadata> with libxml2's
 * serializer (double quotes).  So a rewrite that changes nothing returns its input instead (see
 * ferry_domain_xml_rewrite()).
 */
#include "xml/ferry-domain-xml-private.h"

static void
escape_into(GString *out, const char *s, gboolean attribute)
{
    for (const char *p = s; p != NULL && *p != '\0'; p++) {
        switch (*p) {
        case '<':
            g_string_append(out, "&lt;");
            break;
        case '>':
            g_string_append(out, "&gt;");
            break;
        case '&':
            g_string_append(out, "&amp;");
            break;
        case '\'':
            g_string_append(out, "&apos;");
            break;
        case '"':
            g_string_append(out, "&quot;");
            break;
        /* In an attribute these would be normalized to spaces when read back. */
        case '\n':
            g_string_append(out, attribute ? "&#10;" : "\n");
            break;
        case '\r':
            g_string_append(out, "&#13;");
            break;
        case '\t':
            g_string_append(out, attribute ? "&#9;" : "\t");
            break;
        default:
            g_string_append_c(out, *p);
        }
    }
}

static void
append_qname(GString *out, const xmlNs *ns, const xmlChar *name)
{
    if (ns != NULL && ns->prefix != NULL)
        g_string_append_printf(out, "%s:", (const char *)ns->prefix);
    g_string_append(out, (const char *)name);
}

static void save_node(GString *out, xmlNode *node);

static void
save_element(GString *out, xmlNode *node)
{
    g_string_append_c(out, '<');
    append_qname(out, node->ns, node->name);
    for (xmlNs *ns = node->nsDef; ns != NULL; ns = ns->next) {
        if (ns->prefix != NULL)
            g_string_append_printf(out, " xmlns:%s='", (const char *)ns->prefix);
        else
            g_string_append(out, " xmlns='");
        escape_into(out, (const char *)ns->href, TRUE);
        g_string_append_c(out, '\'');
    }
    for (xmlAttr *attr = node->properties; attr != NULL; attr = attr->next) {
        xmlChar *value = xmlNodeListGetString(node->doc, attr->children, 1);

        g_string_append_c(out, ' ');
        append_qname(out, attr->ns, attr->name);
        g_string_append(out, "='");
        escape_into(out, (const char *)value, TRUE);
        g_string_append_c(out, '\'');
        xmlFree(value);
    }
    if (node->children == NULL) {
        g_string_append(out, "/>");
        return;
    }
    g_string_append_c(out, '>');
    /* Depth is bounded by libxml2's parser limit (no XML_PARSE_HUGE). */
    for (xmlNode *child = node->children; child != NULL; child = child->next)
        save_node(out, child);
    g_string_append(out, "</");
    append_qname(out, node->ns, node->name);
    g_string_append_c(out, '>');
}

static void
save_node(GString *out, xmlNode *node)
{
    switch (node->type) {
    case XML_ELEMENT_NODE:
        save_element(out, node);
        break;
    case XML_TEXT_NODE:
    case XML_CDATA_SECTION_NODE:
        escape_into(out, (const char *)node->content, FALSE);
        break;
    case XML_COMMENT_NODE:
        g_string_append_printf(out, "<!--%s-->", (const char *)node->content);
        break;
    case XML_PI_NODE:
        g_string_append_printf(out, "<?%s", (const char *)node->name);
        if (node->content != NULL && node->content[0] != '\0')
            g_string_append_printf(out, " %s", (const char *)node->content);
        g_string_append(out, "?>");
        break;
    case XML_ENTITY_REF_NODE:
        /* only reachable with a DTD, which parse refuses */
        g_string_append_printf(out, "&%s;", (const char *)node->name);
        break;
    default:
        break;
    }
}

char *
ferry_xml_save(xmlDoc *doc)
{
    GString *out = g_string_new(NULL);

    for (xmlNode *node = doc->children; node != NULL; node = node->next) {
        if (node->type == XML_DTD_NODE)
            continue;
        save_node(out, node);
        g_string_append_c(out, '\n');
    }
    return g_string_free(out, FALSE);
}
