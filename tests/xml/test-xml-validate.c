/*
 * test-xml-validate.c: every corpus guest (tests/xml/corpus/NAME.xml), rewritten with
 * tests/xml/corpus/corpus.map, must be valid for libvirt: accepted by its RNG schema
 * (virt-xml-validate) and by its test driver (test:///default define).  With nothing to map, the
 * rewrite must be the same document (compared in canonical form).
 */
#include "tests/xml/ferry-test-xml-util.h"

#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/c14n.h>
#include <libxml/parser.h>

#include <string.h>
#include <unistd.h>

static virConnectPtr test_conn;

static void
silence_libvirt(void *opaque, virErrorPtr err)
{
}

static char *
read_case(const char *name, const char *suffix)
{
    g_autofree char *dir = ferry_test_xml_dir("corpus");
    g_autofree char *file = g_strconcat(name, suffix, NULL);
    g_autofree char *path = g_build_filename(dir, file, NULL);
    g_autoptr(GError) error = NULL;
    char *text = NULL;

    g_file_get_contents(path, &text, NULL, &error);
    g_assert_no_error(error);
    return text;
}

static FerryXmlMapping *
corpus_mapping(void)
{
    g_autofree char *dir = ferry_test_xml_dir("corpus");
    g_autofree char *path = g_build_filename(dir, "corpus.map", NULL);
    g_autoptr(GError) error = NULL;
    FerryXmlMapping *map = ferry_test_load_mapping(path, &error);

    g_assert_no_error(error);
    return map;
}

static char *
rewrite_case(const char *name, const FerryXmlMapping *map)
{
    g_autofree char *text = read_case(name, ".xml");
    g_autoptr(FerryDomainXml) xml = NULL;
    g_autoptr(GPtrArray) plan = NULL;
    g_autoptr(GError) error = NULL;
    char *out;

    xml = ferry_domain_xml_parse(text, name, &error);
    g_assert_no_error(error);
    plan = ferry_disk_plan_build(xml, map, &error);
    g_assert_no_error(error);
    for (guint i = 0; i < plan->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(plan, i);

        g_assert_nonnull(p->reason);
        g_assert_cmpint(p->action, <, FERRY_DISK_LAST);
    }
    out = ferry_domain_xml_rewrite(xml, map, &error);
    g_assert_no_error(error);
    return out;
}

/* The one change a rewrite makes with nothing mapped: a live XML's port with autoport='yes' is
 * the source's pick, and goes (libvirt's migratable XML drops it too). */
static void
drop_autoports(xmlNode *node)
{
    for (xmlNode *n = node; n != NULL; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (xmlStrEqual(n->name, (const xmlChar *)"graphics")) {
            xmlChar *autoport = xmlGetProp(n, (const xmlChar *)"autoport");

            if (xmlStrEqual(autoport, (const xmlChar *)"yes")) {
                xmlChar *port = xmlGetProp(n, (const xmlChar *)"port");
                xmlChar *tls = xmlGetProp(n, (const xmlChar *)"tlsPort");

                if (!xmlStrEqual(port, (const xmlChar *)"-1"))
                    xmlUnsetProp(n, (const xmlChar *)"port");
                if (!xmlStrEqual(tls, (const xmlChar *)"-1"))
                    xmlUnsetProp(n, (const xmlChar *)"tlsPort");
                xmlFree(port);
                xmlFree(tls);
            }
            xmlFree(autoport);
        }
        drop_autoports(n->children);
    }
}

static char *
canonical(const char *text)
{
    xmlDoc *doc = xmlReadMemory(text, (int)strlen(text), NULL, NULL, XML_PARSE_NONET);
    xmlChar *c14n = NULL;
    char *ret;

    g_assert_nonnull(doc);
    drop_autoports(doc->children);
    g_assert_cmpint(xmlC14NDocDumpMemory(doc, NULL, XML_C14N_1_0, NULL, 1, &c14n), >=, 0);
    ret = g_strdup((const char *)c14n);
    xmlFree(c14n);
    xmlFreeDoc(doc);
    return ret;
}

static void
test_roundtrip(gconstpointer data)
{
    const char *name = data;
    g_autoptr(FerryXmlMapping) identity = ferry_xml_mapping_new();
    g_autofree char *in = NULL;
    g_autofree char *out = NULL;
    g_autofree char *a = NULL;
    g_autofree char *b = NULL;

    /* every local path stays where it is: nothing to map */
    ferry_xml_mapping_add_path(identity, "/", "/");
    in = read_case(name, ".xml");
    out = rewrite_case(name, identity);
    a = canonical(in);
    b = canonical(out);

    g_assert_cmpstr(a, ==, b);
}

static void
test_schema(gconstpointer data)
{
    const char *name = data;
    g_autoptr(FerryXmlMapping) map = corpus_mapping();
    g_autofree char *out = rewrite_case(name, map);
    g_autofree char *validator = g_find_program_in_path("virt-xml-validate");
    g_autofree char *tmp = NULL;
    g_autofree char *child_out = NULL;
    g_autofree char *child_err = NULL;
    g_autoptr(GError) error = NULL;
    int fd;
    int status = -1;

    if (validator == NULL) {
        g_test_skip("virt-xml-validate not installed (Debian package libvirt-clients)");
        return;
    }
    fd = g_file_open_tmp("ferry-xml-XXXXXX.xml", &tmp, &error);
    g_assert_no_error(error);
    close(fd);
    g_file_set_contents(tmp, out, -1, &error);
    g_assert_no_error(error);
    {
        const char *argv[] = {validator, tmp, "domain", NULL};

        g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &child_out, &child_err,
                     &status, &error);
    }
    g_unlink(tmp);
    g_assert_no_error(error);
    if (!g_spawn_check_wait_status(status, NULL))
        g_test_fail_printf("rewritten %s does not validate:\n%s%s\n--- rewritten ---\n%s", name,
                           child_out, child_err, out);
}

static void
test_define(gconstpointer data)
{
    const char *name = data;
    g_autoptr(FerryXmlMapping) map = corpus_mapping();
    g_autofree char *out = rewrite_case(name, map);
    virDomainPtr dom;

    if (test_conn == NULL) {
        g_test_skip("cannot open libvirt's test:///default driver");
        return;
    }
    dom = virDomainDefineXML(test_conn, out);
    if (dom == NULL) {
        const char *msg = virGetLastErrorMessage();

        g_test_fail_printf("test driver refuses rewritten %s: %s\n--- rewritten ---\n%s", name, msg,
                           out);
        return;
    }
    virDomainUndefine(dom);
    virDomainFree(dom);
}

int
main(int argc, char **argv)
{
    g_autofree char *dir = NULL;
    g_autoptr(GPtrArray) cases = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    virSetErrorFunc(NULL, silence_libvirt);
    test_conn = virConnectOpen("test:///default");

    dir = ferry_test_xml_dir("corpus");
    cases = ferry_test_list_cases(dir, ".xml");
    g_assert_cmpuint(cases->len, >=, 30);
    for (guint i = 0; i < cases->len; i++) {
        const char *name = g_ptr_array_index(cases, i);
        g_autofree char *p1 = g_strdup_printf("/xml/corpus/%s/roundtrip-unmapped", name);
        g_autofree char *p2 = g_strdup_printf("/xml/corpus/%s/rewritten-validates", name);
        g_autofree char *p3 = g_strdup_printf("/xml/corpus/%s/rewritten-defines", name);

        g_test_add_data_func(p1, name, test_roundtrip);
        g_test_add_data_func(p2, name, test_schema);
        g_test_add_data_func(p3, name, test_define);
    }
    ret = g_test_run();
    if (test_conn != NULL)
        virConnectClose(test_conn);
    return ret;
}
