/*
 * test-bench.c: ferry bench's statistics and its files (engine/ferry-bench.c); the runs
 * themselves are lab test 41.
 */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "engine/ferry-bench.h"

static void
test_stat_odd_even(void)
{
    const double odd[] = {3.0, 1.0, 2.0};
    const double even[] = {4.0, 1.0, 3.0, 2.0};
    FerryBenchStat s;

    ferry_bench_stat(odd, G_N_ELEMENTS(odd), &s);
    g_assert_cmpuint(s.n, ==, 3);
    g_assert_cmpfloat(s.median, ==, 2.0);
    g_assert_cmpfloat(s.min, ==, 1.0);
    g_assert_cmpfloat(s.max, ==, 3.0);
    ferry_bench_stat(even, G_N_ELEMENTS(even), &s);
    g_assert_cmpfloat(s.median, ==, 2.5);
    g_assert_cmpfloat(s.min, ==, 1.0);
    g_assert_cmpfloat(s.max, ==, 4.0);
    ferry_bench_stat(NULL, 0, &s);
    g_assert_cmpuint(s.n, ==, 0);
    g_assert_cmpfloat(s.median, ==, 0.0);
}

/* One hand-made run written as CSV and JSON: a header and a line with the same figures; an
 * error with commas and quotes stays in its column. */
static void
test_files(void)
{
    g_autoptr(FerryBenchReport) report = g_new0(FerryBenchReport, 1);
    FerryBenchRun *run = g_new0(FerryBenchRun, 1);
    g_autofree char *dir = g_dir_make_tmp("ferry-bench-XXXXXX", NULL);
    g_autofree char *csv = g_build_filename(dir, "bench.csv", NULL);
    g_autofree char *json = g_build_filename(dir, "bench.json", NULL);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    g_auto(GStrv) header = NULL;
    g_auto(GStrv) fields = NULL;
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonObject *root, *r;

    run->tool = FERRY_BENCH_TOOL_VIRSH;
    run->mode = FERRY_MIGRATE_MODE_BLOCK;
    run->guest = g_strdup("g1");
    run->src = g_strdup("hostA");
    run->dst = g_strdup("hostB");
    run->wall_s = 2.5;
    run->job_s = 0.5;
    run->disk_bytes = 12 << 20;
    run->error = g_strdup("a, \"quoted\" error");
    report->runs = g_ptr_array_new();
    g_ptr_array_add(report->runs, run);
    report->cells = g_ptr_array_new();
    report->marginals = g_array_new(FALSE, TRUE, sizeof(FerryBenchMarginal));

    g_assert_true(ferry_bench_write_csv(report, csv, NULL));
    g_assert_true(g_file_get_contents(csv, &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, 3); /* header, the run, "" */
    header = g_strsplit(lines[0], ",", -1);
    fields = g_strsplit(lines[1], ",", -1);
    g_assert_cmpuint(g_strv_length(fields), ==, g_strv_length(header));
    g_assert_cmpstr(fields[1], ==, "virsh");
    g_assert_cmpstr(fields[2], ==, "block");
    g_assert_cmpstr(fields[9], ==, "2.500");
    g_assert_cmpstr(header[9], ==, "wall_s");

    g_assert_true(ferry_bench_write_json(report, json, NULL));
    g_assert_true(json_parser_load_from_file(parser, json, NULL));
    root = json_node_get_object(json_parser_get_root(parser));
    r = json_array_get_object_element(json_object_get_array_member(root, "runs"), 0);
    g_assert_cmpstr(json_object_get_string_member(r, "guest"), ==, "g1");
    g_assert_cmpfloat(json_object_get_double_member(r, "wall_s"), ==, 2.5);
    g_assert_cmpint(json_object_get_int_member(r, "disk_bytes"), ==, 12 << 20);
    g_assert_cmpstr(json_object_get_string_member(r, "error"), ==, "a, \"quoted\" error");

    g_unlink(csv);
    g_unlink(json);
    g_rmdir(dir);
    g_free(run->guest);
    g_free(run->src);
    g_free(run->dst);
    g_free(run->error);
    g_free(run);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bench/stat/median-min-max", test_stat_odd_even);
    g_test_add_func("/bench/files/csv-and-json", test_files);
    return g_test_run();
}
