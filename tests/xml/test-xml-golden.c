/*
 * test-xml-golden.c: data-driven parse -> plan -> rewrite tests.
 *
 * tests/xml/data/<case>.in.xml (+ optional <case>.map) produce <case>.plan (formatted disk plan,
 * then the plan of the files outside <disk>)
 * and <case>.out.xml (rewritten XML), or <case>.err (the error message) when parsing or
 * rewriting fails.  FERRY_TEST_REGENERATE=1 rewrites the expectations for review.
 * A roundtrip-<case> is one the rewrite changes nothing in: its output must be its input, byte
 * for byte, whatever the expectation files say.
 */
#include "tests/xml/ferry-test-xml-util.h"

static void
test_golden_case(gconstpointer data)
{
    const char *name = data;
    g_autofree char *dir = ferry_test_xml_dir("data");
    g_autofree char *base = g_build_filename(dir, name, NULL);
    g_autofree char *in_path = g_strconcat(base, ".in.xml", NULL);
    g_autofree char *map_path = g_strconcat(base, ".map", NULL);
    g_autofree char *plan_path = g_strconcat(base, ".plan", NULL);
    g_autofree char *out_path = g_strconcat(base, ".out.xml", NULL);
    g_autofree char *err_path = g_strconcat(base, ".err", NULL);
    g_autofree char *origin = g_strconcat(name, ".in.xml", NULL);
    g_autofree char *text = NULL;
    g_autofree char *plan_text = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autoptr(FerryXmlMapping) map = NULL;
    g_autoptr(FerryDomainXml) xml = NULL;
    g_autoptr(GPtrArray) plan = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_true(g_file_get_contents(in_path, &text, NULL, &error));
    map = ferry_test_load_mapping(map_path, &error);
    g_assert_no_error(error);

    xml = ferry_domain_xml_parse(text, origin, &error);
    if (xml != NULL) {
        plan = ferry_disk_plan_build(xml, map, &error);
        g_assert_no_error(error);
        g_autoptr(GPtrArray) files = ferry_file_plan_build(xml, map);
        g_autofree char *disks_text = ferry_disk_plan_format(plan);
        g_autofree char *files_text = ferry_file_plan_format(files);

        plan_text = g_strconcat(disks_text, files_text, NULL);
        out = ferry_domain_xml_rewrite(xml, map, &error);
    }
    if (error != NULL) {
        g_assert_true(error->domain == FERRY_XML_ERROR);
        err = g_strdup_printf("%s\n", error->message);
    }
    ferry_test_compare_file(plan_path, plan_text);
    ferry_test_compare_file(out_path, out);
    ferry_test_compare_file(err_path, err);
    if (g_str_has_prefix(name, "roundtrip-")) {
        g_assert_nonnull(out);
        g_assert_cmpstr(out, ==, text);
    }
}

int
main(int argc, char **argv)
{
    g_autofree char *dir = NULL;
    g_autoptr(GPtrArray) cases = NULL;

    g_test_init(&argc, &argv, NULL);
    dir = ferry_test_xml_dir("data");
    cases = ferry_test_list_cases(dir, ".in.xml");
    for (guint i = 0; i < cases->len; i++) {
        const char *name = g_ptr_array_index(cases, i);
        g_autofree char *path = g_strdup_printf("/xml/golden/%s", name);

        g_test_add_data_func(path, name, test_golden_case);
    }
    return g_test_run();
}
