/*
 * ferry-test-xml-util.c: mapping files, case lists and golden-file comparison for xml/ tests.
 */
#include "tests/xml/ferry-test-xml-util.h"

#include <glib/gstdio.h>

#include <string.h>

typedef void (*FerryTestAddPair)(FerryXmlMapping *map, const char *from, const char *to);

typedef struct {
    const char *key;
    FerryTestAddPair add;
} FerryTestPairKey;

static const FerryTestPairKey pair_keys[] = {
    {.key = "path", .add = ferry_xml_mapping_add_path},
    {.key = "network", .add = ferry_xml_mapping_add_network},
    {.key = "bridge", .add = ferry_xml_mapping_add_bridge},
    {.key = "volume_group", .add = ferry_xml_mapping_add_volume_group},
    {.key = "pool", .add = ferry_xml_mapping_add_pool},
    {.key = "direct", .add = ferry_xml_mapping_add_direct_dev},
};

FerryXmlMapping *
ferry_test_load_mapping(const char *path, GError **error)
{
    g_autoptr(FerryXmlMapping) map = ferry_xml_mapping_new();
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_auto(GStrv) shared = NULL;
    g_autofree char *src = NULL;
    g_autofree char *dst = NULL;
    g_autofree char *name = NULL;

    if (!g_file_test(path, G_FILE_TEST_EXISTS))
        return g_steal_pointer(&map);
    g_key_file_set_list_separator(kf, ';');
    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, error))
        return NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(pair_keys); i++) {
        g_auto(GStrv) items = g_key_file_get_string_list(kf, "map", pair_keys[i].key, NULL, NULL);

        for (size_t j = 0; items != NULL && items[j] != NULL; j++) {
            const char *colon = strchr(items[j], ':');
            g_autofree char *from = NULL;

            if (colon == NULL) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "%s: '%s=%s' is not 'from:to'", path, pair_keys[i].key, items[j]);
                return NULL;
            }
            from = g_strndup(items[j], colon - items[j]);
            pair_keys[i].add(map, from, colon + 1);
        }
    }
    shared = g_key_file_get_string_list(kf, "map", "shared", NULL, NULL);
    for (size_t j = 0; shared != NULL && shared[j] != NULL; j++)
        ferry_xml_mapping_add_shared(map, shared[j]);
    src = g_key_file_get_string(kf, "map", "src_address", NULL);
    dst = g_key_file_get_string(kf, "map", "dst_address", NULL);
    ferry_xml_mapping_set_addresses(map, src, dst);
    name = g_key_file_get_string(kf, "map", "new_name", NULL);
    ferry_xml_mapping_set_new_name(map, name);
    return g_steal_pointer(&map);
}

char *
ferry_test_xml_dir(const char *sub)
{
    const char *top = g_getenv("FERRY_TEST_DATA");

    if (top == NULL)
        top = FERRY_TEST_SRCDIR;
    return g_build_filename(top, "xml", sub, NULL);
}

static int
compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

GPtrArray *
ferry_test_list_cases(const char *dir, const char *suffix)
{
    GPtrArray *cases = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *entry;

    while (d != NULL && (entry = g_dir_read_name(d)) != NULL) {
        if (g_str_has_suffix(entry, suffix))
            g_ptr_array_add(cases, g_strndup(entry, strlen(entry) - strlen(suffix)));
    }
    g_ptr_array_sort(cases, compare_strings);
    return cases;
}

void
ferry_test_compare_file(const char *path, const char *actual)
{
    g_autofree char *expected = NULL;
    g_autoptr(GError) error = NULL;

    if (g_strcmp0(g_getenv("FERRY_TEST_REGENERATE"), "1") == 0) {
        if (actual == NULL) {
            g_unlink(path);
            return;
        }
        g_file_set_contents(path, actual, -1, &error);
        g_assert_no_error(error);
        return;
    }
    if (actual == NULL) {
        if (g_file_test(path, G_FILE_TEST_EXISTS))
            g_test_fail_printf("expected %s, but nothing was produced", path);
        return;
    }
    if (!g_file_get_contents(path, &expected, NULL, &error)) {
        g_test_fail_printf("cannot read expected %s: %s\n--- actual ---\n%s", path, error->message,
                           actual);
        return;
    }
    if (!g_str_equal(expected, actual))
        g_test_fail_printf("%s differs\n--- expected ---\n%s--- actual ---\n%s", path, expected,
                           actual);
}
