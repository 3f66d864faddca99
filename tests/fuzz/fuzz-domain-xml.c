/*
 * fuzz-domain-xml.c: libFuzzer target over parse -> plan (disks, files) -> rewrite.
 *
 * Beyond "no crash, no sanitizer report", it checks one invariant: whatever the rewrite writes
 * parses again, with the same number of disks.
 */
#include "xml/ferry-domain-xml.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FerryXmlMapping *
fuzz_mapping(void)
{
    FerryXmlMapping *map = ferry_xml_mapping_new();

    ferry_xml_mapping_add_path(map, "/var/lib/libvirt/images", "/srv/images");
    ferry_xml_mapping_add_path(map, "/var/lib/nova/instances", "/srv/nova");
    ferry_xml_mapping_add_path(map, "/", "/");
    ferry_xml_mapping_add_shared(map, "/mnt/nfs");
    ferry_xml_mapping_add_network(map, "default", "ferry-net");
    ferry_xml_mapping_add_bridge(map, "br-ex", "br-provider");
    ferry_xml_mapping_add_direct_dev(map, "eth0", "eth1");
    ferry_xml_mapping_add_volume_group(map, "vg0", "vg1");
    ferry_xml_mapping_add_pool(map, "default", "fast");
    ferry_xml_mapping_set_addresses(map, "192.0.2.10", NULL);
    ferry_xml_mapping_set_new_name(map, "fuzzed");
    return map;
}

static void
exercise(const FerryDomainXml *xml, const FerryXmlMapping *map)
{
    g_autoptr(GPtrArray) plan = NULL;
    g_autoptr(GPtrArray) files = NULL;
    g_autoptr(GVariant) files_variant = NULL;
    g_autofree char *files_text = NULL;
    g_autoptr(GPtrArray) targets = NULL;
    g_autoptr(GVariant) variant = NULL;
    g_autoptr(FerryDomainXml) again = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL;
    g_autofree char *out = NULL;

    plan = ferry_disk_plan_build(xml, map, &error);
    if (plan == NULL)
        abort();
    text = ferry_disk_plan_format(plan);
    targets = ferry_disk_plan_stream_targets(plan);
    variant = g_variant_ref_sink(ferry_disk_plan_to_variant(plan));
    if (!ferry_disk_plan_check(plan, &error))
        g_clear_error(&error);
    if (!ferry_domain_xml_check_movable(xml, &error))
        g_clear_error(&error);
    files = ferry_file_plan_build(xml, map);
    files_text = ferry_file_plan_format(files);
    files_variant = g_variant_ref_sink(ferry_file_plan_to_variant(files));
    if (!ferry_file_plan_check(files, &error))
        g_clear_error(&error);

    out = ferry_domain_xml_rewrite(xml, map, &error);
    if (out == NULL)
        return;
    again = ferry_domain_xml_parse(out, "rewritten", &error);
    if (again == NULL ||
        ferry_domain_xml_get_def(again)->disks->len != ferry_domain_xml_get_def(xml)->disks->len)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FerryXmlMapping *map;
    g_autofree char *text = g_strndup((const char *)data, size);
    g_autoptr(FerryDomainXml) xml = NULL;
    g_autoptr(GError) error = NULL;

    if (map == NULL)
        map = fuzz_mapping();
    xml = ferry_domain_xml_parse(text, "fuzz", &error);
    if (xml == NULL)
        return 0;
    exercise(xml, map);
    exercise(xml, NULL);
    return 0;
}
