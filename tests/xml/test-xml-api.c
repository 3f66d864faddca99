/*
 * test-xml-api.c: what the golden files do not show: parsed fields, plan accessors, and that any
 * truncated input fails cleanly.
 */
#include "tests/xml/ferry-test-xml-util.h"

#include <string.h>

static char *
read_corpus(const char *name)
{
    g_autofree char *dir = ferry_test_xml_dir("corpus");
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(GError) error = NULL;
    char *text = NULL;

    g_file_get_contents(path, &text, NULL, &error);
    g_assert_no_error(error);
    return text;
}

static FerryDomainXml *
parse_ok(const char *text)
{
    g_autoptr(GError) error = NULL;
    FerryDomainXml *xml = ferry_domain_xml_parse(text, "test", &error);

    g_assert_no_error(error);
    g_assert_nonnull(xml);
    return xml;
}

static void
test_parse_fields(void)
{
    g_autofree char *text = read_corpus("nova-custom-cpu.xml");
    g_autoptr(FerryDomainXml) xml = parse_ok(text);
    const FerryDomainDef *def = ferry_domain_xml_get_def(xml);
    const FerryDomainDisk *root;
    const FerryDomainInterface *nic;
    const FerryDomainGraphics *gfx;
    const FerryDomainChardev *serial;

    g_assert_cmpstr(def->name, ==, "instance-0000000d");
    g_assert_nonnull(def->uuid);
    g_assert_cmpstr(def->domain_type, ==, "kvm");
    g_assert_cmpuint(def->memory_kib, ==, 2048 * 1024);
    g_assert_cmpuint(def->vcpus, ==, 2);
    g_assert_cmpuint(def->vcpus_current, ==, 2);
    g_assert_cmpstr(def->cpu_mode, ==, "custom");
    g_assert_cmpstr(def->cpu_model, ==, "Cascadelake-Server-noTSX");
    g_assert_cmpuint(def->cpu_features->len, ==, 3);
    g_assert_cmpstr(g_ptr_array_index(def->cpu_features, 0), ==, "require:vmx");
    g_assert_cmpstr(g_ptr_array_index(def->cpu_features, 1), ==, "disable:mpx");

    g_assert_cmpuint(def->disks->len, ==, 2);
    root = g_ptr_array_index(def->disks, 0);
    g_assert_cmpstr(root->type, ==, "file");
    g_assert_cmpstr(root->device, ==, "disk");
    g_assert_cmpstr(root->target, ==, "vda");
    g_assert_cmpstr(root->bus, ==, "virtio");
    g_assert_cmpstr(root->driver_type, ==, "qcow2");
    g_assert_cmpstr(root->cache, ==, "none");
    g_assert_true(g_str_has_suffix(root->source, "/disk"));
    g_assert_cmpuint(root->backing_chain->len, ==, 1);
    g_assert_cmpstr(((FerryDomainBacking *)g_ptr_array_index(root->backing_chain, 0))->format, ==,
                    "raw");
    g_assert_true(((FerryDomainDisk *)g_ptr_array_index(def->disks, 1))->readonly);
    g_assert_cmpint(root->line, >, 0);

    g_assert_cmpuint(def->interfaces->len, ==, 1);
    nic = g_ptr_array_index(def->interfaces, 0);
    g_assert_cmpstr(nic->type, ==, "bridge");
    g_assert_cmpstr(nic->source, ==, "br-int");
    g_assert_cmpstr(nic->model, ==, "virtio");
    g_assert_true(g_str_has_prefix(nic->mac, "fa:16:3e:"));

    g_assert_cmpuint(def->graphics->len, ==, 1);
    gfx = g_ptr_array_index(def->graphics, 0);
    g_assert_cmpstr(gfx->type, ==, "vnc");
    g_assert_cmpstr(gfx->listen, ==, "192.0.2.10");
    g_assert_cmpuint(gfx->listens->len, ==, 1);
    g_assert_true(gfx->autoport);
    g_assert_cmpint(gfx->port, ==, -1);

    g_assert_cmpuint(def->chardevs->len, ==, 2);
    serial = g_ptr_array_index(def->chardevs, 0);
    g_assert_cmpstr(serial->kind, ==, "serial");
    g_assert_cmpstr(serial->type, ==, "pty");
    g_assert_cmpuint(def->n_hostdevs, ==, 0);
}

static void
test_parse_network_disk(void)
{
    g_autofree char *text = read_corpus("nova-rbd-root.xml");
    g_autoptr(FerryDomainXml) xml = parse_ok(text);
    const FerryDomainDisk *disk = g_ptr_array_index(ferry_domain_xml_get_def(xml)->disks, 0);

    g_assert_cmpstr(disk->type, ==, "network");
    g_assert_cmpstr(disk->protocol, ==, "rbd");
    g_assert_true(g_str_has_prefix(disk->source, "vms/"));
    g_assert_cmpuint(disk->hosts->len, ==, 3);
    g_assert_cmpstr(g_ptr_array_index(disk->hosts, 0), ==, "10.20.0.11:6789");
}

typedef struct {
    const char *memory;
    guint64 kib;
} MemoryCase;

static const MemoryCase memory_cases[] = {
    {.memory = "<memory>1024</memory>", .kib = 1024},
    {.memory = "<memory unit='KiB'>2048</memory>", .kib = 2048},
    {.memory = "<memory unit='MiB'>512</memory>", .kib = 512 * 1024},
    {.memory = "<memory unit='G'>4</memory>", .kib = 4 * 1024 * 1024},
    {.memory = "<memory unit='GB'>1</memory>", .kib = 976562},
    {.memory = "<memory unit='bytes'>1048576</memory>", .kib = 1024},
    {.memory = "<memory unit='TiB'>1</memory>", .kib = G_GUINT64_CONSTANT(1) << 30},
};

static void
test_parse_memory_units(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(memory_cases); i++) {
        g_autofree char *text =
            g_strdup_printf("<domain type='kvm'><name>m</name>%s</domain>", memory_cases[i].memory);
        g_autoptr(FerryDomainXml) xml = parse_ok(text);

        g_assert_cmpuint(ferry_domain_xml_get_def(xml)->memory_kib, ==, memory_cases[i].kib);
    }
}

static const char *const invalid_values[] = {
    "<domain><name>m</name><memory unit='EiB'>1</memory></domain>",
    "<domain><name>m</name><memory unit='TiB'>99999999999</memory></domain>",
    "<domain><name>m</name><memory>-1</memory></domain>",
    "<domain><name>m</name><memory>1</memory><vcpu>0</vcpu></domain>",
    "<domain><name>m</name><memory>1</memory><vcpu current='3'>2</vcpu></domain>",
    "<domain><name> </name><memory>1</memory></domain>",
    "<domain><name>m</name><memory>1</memory><devices><graphics type='vnc' port='x'/>"
    "</devices></domain>",
    "<domain><name>m</name><memory>1</memory><devices><disk type='network'><target dev='vda'/>"
    "</disk></devices></domain>",
};

static void
test_parse_invalid_values(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(invalid_values); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(FerryDomainXml) xml = ferry_domain_xml_parse(invalid_values[i], "t", &error);

        g_assert_null(xml);
        g_assert_error(error, FERRY_XML_ERROR, FERRY_XML_ERROR_INVALID);
    }
}

/* Every prefix of every corpus file either parses or fails with our error; never a crash.  What
 * parses goes through plan and rewrite too. */
static void
test_parse_truncated(void)
{
    g_autofree char *dir = ferry_test_xml_dir("corpus");
    g_autoptr(GPtrArray) cases = ferry_test_list_cases(dir, ".xml");
    g_autoptr(FerryXmlMapping) map = ferry_xml_mapping_new();

    ferry_xml_mapping_add_path(map, "/", "/");
    for (guint c = 0; c < cases->len; c++) {
        g_autofree char *file = g_strconcat(g_ptr_array_index(cases, c), ".xml", NULL);
        g_autofree char *text = read_corpus(file);
        size_t len = strlen(text);

        for (size_t cut = 0; cut < len; cut += 1 + cut / 16) {
            g_autofree char *prefix = g_strndup(text, cut);
            g_autoptr(GError) error = NULL;
            g_autoptr(FerryDomainXml) xml = ferry_domain_xml_parse(prefix, file, &error);

            if (xml == NULL) {
                g_assert_true(error != NULL && error->domain == FERRY_XML_ERROR);
                g_assert_true(g_str_has_prefix(error->message, file));
            } else {
                g_autoptr(GPtrArray) plan = ferry_disk_plan_build(xml, map, NULL);
                g_autofree char *out = ferry_domain_xml_rewrite(xml, map, NULL);

                g_assert_nonnull(plan);
                g_assert_nonnull(out);
            }
        }
    }
}

static void
test_check_movable(void)
{
    g_autofree char *gpu = read_corpus("pci-passthrough-gpu.xml");
    g_autofree char *plain = read_corpus("nova-basic-qcow2.xml");
    g_autoptr(FerryDomainXml) a = parse_ok(gpu);
    g_autoptr(FerryDomainXml) b = parse_ok(plain);
    g_autoptr(GError) error = NULL;

    g_assert_cmpuint(ferry_domain_xml_get_def(a)->n_hostdevs, ==, 1);
    g_assert_false(ferry_domain_xml_check_movable(a, &error));
    g_assert_error(error, FERRY_XML_ERROR, FERRY_XML_ERROR_REFUSED);
    g_assert_nonnull(strstr(error->message, "pci 0x0000:0x41:0x00.0x0"));
    g_assert_true(ferry_domain_xml_check_movable(b, NULL));
}

static void
test_plan_accessors(void)
{
    g_autofree char *text = read_corpus("nova-ephemeral-and-volume.xml");
    g_autoptr(FerryDomainXml) xml = parse_ok(text);
    g_autoptr(FerryXmlMapping) map = ferry_xml_mapping_new();
    g_autoptr(GPtrArray) plan = NULL;
    g_autoptr(GPtrArray) targets = NULL;
    g_autoptr(GVariant) variant = NULL;
    g_autoptr(GVariant) first = NULL;
    g_autoptr(GError) error = NULL;
    const char *s = NULL;

    ferry_xml_mapping_add_path(map, "/var/lib/nova/instances/", "/srv/nova/");
    ferry_xml_mapping_add_shared(map, "/var/lib/nova/instances/_base");
    plan = ferry_disk_plan_build(xml, map, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(plan->len, ==, 4);

    targets = ferry_disk_plan_stream_targets(plan);
    g_assert_cmpuint(targets->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(targets, 0), ==, "vda");
    g_assert_cmpstr(g_ptr_array_index(targets, 1), ==, "vdb");
    g_assert_true(ferry_disk_plan_check(plan, NULL));
    g_assert_true(
        g_str_has_prefix(((FerryDiskPlan *)g_ptr_array_index(plan, 0))->dest_source, "/srv/nova/"));

    variant = g_variant_ref_sink(ferry_disk_plan_to_variant(plan));
    g_assert_cmpstr(g_variant_get_type_string(variant), ==, "aa{sv}");
    first = g_variant_get_child_value(variant, 0);
    g_assert_true(g_variant_lookup(first, "action", "&s", &s));
    g_assert_cmpstr(s, ==, "stream");
    g_assert_true(g_variant_lookup(first, "target", "&s", &s));
    g_assert_cmpstr(s, ==, "vda");

    g_assert_cmpstr(ferry_disk_action_to_string(FERRY_DISK_SHARED), ==, "shared");
    g_assert_cmpstr(ferry_disk_action_to_string(FERRY_DISK_LAST), ==, "unknown");
}

static void
test_plan_check_refuses(void)
{
    g_autofree char *text = read_corpus("block-lvm-and-lun.xml");
    g_autoptr(FerryDomainXml) xml = parse_ok(text);
    g_autoptr(GPtrArray) plan = ferry_disk_plan_build(xml, NULL, NULL);
    g_autoptr(GError) error = NULL;

    /* the logical volume streams; the LUN passthrough cannot move */
    g_assert_cmpint(((FerryDiskPlan *)g_ptr_array_index(plan, 0))->action, ==, FERRY_DISK_STREAM);
    g_assert_false(ferry_disk_plan_check(plan, &error));
    g_assert_error(error, FERRY_XML_ERROR, FERRY_XML_ERROR_REFUSED);
    g_assert_nonnull(strstr(error->message, "'sda'"));
    g_assert_nonnull(strstr(error->message, "LUN passthrough"));
}

/* A local disk no mapping applies to keeps its path, as libvirt and Nova keep it. */
static void
test_rewrite_unmapped(void)
{
    g_autofree char *text = read_corpus("linux-bridge-two-nics.xml");
    g_autoptr(FerryDomainXml) xml = parse_ok(text);
    g_autoptr(GError) error = NULL;
    g_autofree char *out = ferry_domain_xml_rewrite(xml, NULL, &error);
    g_autoptr(GPtrArray) plan = ferry_disk_plan_build(xml, NULL, &error);
    const FerryDiskPlan *vda = g_ptr_array_index(plan, 0);

    g_assert_no_error(error);
    g_assert_cmpstr(out, ==, text);
    g_assert_cmpint(vda->action, ==, FERRY_DISK_STREAM);
    g_assert_true(vda->same_path);
    g_assert_cmpstr(vda->dest_source, ==, vda->disk->source);
}

static void
test_rewrite_ipv6_any(void)
{
    const char *text = "<domain><name>v6</name><memory>1</memory><devices>"
                       "<graphics type='vnc' autoport='yes' listen='2001:db8::10'/>"
                       "</devices></domain>";
    g_autoptr(FerryDomainXml) xml = parse_ok(text);
    g_autoptr(FerryXmlMapping) map = ferry_xml_mapping_new();
    g_autofree char *out = NULL;

    ferry_xml_mapping_set_addresses(map, "2001:db8::10", NULL);
    out = ferry_domain_xml_rewrite(xml, map, NULL);
    g_assert_nonnull(strstr(out, "listen='::'"));
}

/* Printed XML has no graphics password: every <graphics> loses passwd (vnc and spice), text
 * that only looks like a tag (a comment, CDATA, another element's attribute) is left alone and
 * cannot hide the real one; XML without passwords comes back byte for byte. */
static void
test_without_secrets(void)
{
    const char *with =
        "<domain type=\"qemu\"><name>g</name><memory>65536</memory>"
        "<os><type>hvm</type></os>"
        "<description><![CDATA[<graphics a=']]></description>"
        "<!-- <graphics passwd=' --><devices>"
        "<graphics type='vnc' port='-1' passwd='s3cret-vnc' listen='0.0.0.0'/>"
        "<graphics type=\"spice\" passwd=\"s3cret-spice\"><listen type='address'/></graphics>"
        "<video><model type='vga' passwd='not-graphics'/></video>"
        "</devices></domain>";
    const char *without = "<domain type='qemu'><name>g</name><memory>65536</memory>"
                          "<os><type>hvm</type></os></domain>";
    g_autoptr(GError) error = NULL;
    g_autofree char *out = ferry_domain_xml_without_secrets(with, &error);
    g_autofree char *same = NULL;
    g_autofree char *bad = NULL;

    g_assert_no_error(error);
    g_assert_null(strstr(out, "s3cret"));
    g_assert_nonnull(strstr(out, "type='vnc'"));
    g_assert_nonnull(strstr(out, "listen='0.0.0.0'"));
    g_assert_nonnull(strstr(out, "not-graphics"));
    g_assert_nonnull(strstr(out, "<!-- <graphics passwd=' -->"));
    same = ferry_domain_xml_without_secrets(without, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(same, ==, without);
    bad = ferry_domain_xml_without_secrets("<domain><graphics passwd='x'", &error);
    g_assert_null(bad);
    g_assert_nonnull(error);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/xml/parse/reads-what-migration-needs", test_parse_fields);
    g_test_add_func("/xml/without-secrets/graphics-passwords", test_without_secrets);
    g_test_add_func("/xml/parse/network-disk-hosts", test_parse_network_disk);
    g_test_add_func("/xml/parse/memory-units", test_parse_memory_units);
    g_test_add_func("/xml/parse/refuses-invalid-values", test_parse_invalid_values);
    g_test_add_func("/xml/parse/truncated-input-fails-cleanly", test_parse_truncated);
    g_test_add_func("/xml/check-movable/refuses-pci-passthrough", test_check_movable);
    g_test_add_func("/xml/plan/stream-targets-and-variant", test_plan_accessors);
    g_test_add_func("/xml/plan/check-names-refused-disk", test_plan_check_refuses);
    g_test_add_func("/xml/rewrite/unmapped-stream-disk-keeps-its-path", test_rewrite_unmapped);
    g_test_add_func("/xml/rewrite/graphics-listen-any-ipv6", test_rewrite_ipv6_any);
    return g_test_run();
}
