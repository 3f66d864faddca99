/*
 * ferry-dest-xml.c: plan + rewrite for one source -> destination pair.
 */
#include "engine/ferry-dest-xml.h"

void
ferry_dest_xml_free(FerryDestXml *dest)
{
    if (!dest)
        return;
    /* the plan borrows from the XML: free it first */
    g_clear_pointer(&dest->plan, g_ptr_array_unref);
    g_clear_pointer(&dest->files, g_ptr_array_unref);
    g_clear_pointer(&dest->xml, ferry_domain_xml_free);
    g_free(dest->dest_xml);
    g_clear_error(&dest->rewrite_error);
    g_free(dest);
}

FerryDestXml *
ferry_dest_xml_build(const char *xml_text, const char *origin, const FerryHost *src,
                     const FerryHost *dst, GError **error)
{
    g_autoptr(FerryDestXml) dest = g_new0(FerryDestXml, 1);
    g_autoptr(FerryXmlMapping) map = ferry_inventory_mapping(src, dst);

    dest->xml = ferry_domain_xml_parse(xml_text, origin, error);
    if (!dest->xml)
        return NULL;
    dest->plan = ferry_disk_plan_build(dest->xml, map, error);
    if (!dest->plan)
        return NULL;
    dest->files = ferry_file_plan_build(dest->xml, map);
    dest->dest_xml = ferry_domain_xml_rewrite(dest->xml, map, &dest->rewrite_error);
    return g_steal_pointer(&dest);
}

gboolean
ferry_dest_xml_check(const FerryDestXml *dest, GError **error)
{
    if (!ferry_domain_xml_check_movable(dest->xml, error) ||
        !ferry_disk_plan_check(dest->plan, error) || !ferry_file_plan_check(dest->files, error))
        return FALSE;
    if (!dest->dest_xml) {
        g_propagate_error(error, g_error_copy(dest->rewrite_error));
        return FALSE;
    }
    return TRUE;
}
