/*
 * test-cli.c: the pure parts of the ferry command -- the JSON writer, "did you mean", and the
 * figures the progress display shows (each true to its label, never above 100 %).
 */
#include <math.h>

#include "engine/cli/ferry-cli-json.h"
#include "engine/cli/ferry-cli-progress.h"
#include "engine/cli/ferry-cli.h"
#include "engine/ferry-migrate.h"

#define MIB (1024ull * 1024)

static void
test_json_conventions(void)
{
    g_autoptr(FerryJson) j = ferry_json_new_event("result");
    g_autoptr(GError) error =
        g_error_new(FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK, "not \"there\"\n");
    g_autofree char *text = NULL;

    ferry_json_fixed3(j, "total_s", 0.50076900000000002);
    ferry_json_fixed3(j, "tiny_s", -0.0001);
    ferry_json_fixed3(j, "eta_s", NAN);
    ferry_json_percent(j, "memory_percent", 355.2);
    ferry_json_uint(j, "memory_bytes", G_MAXUINT64);
    ferry_json_string(j, "path", "/a\tb\x01");
    ferry_json_string(j, "none", NULL);
    ferry_json_error(j, "error", error);
    ferry_json_begin_array(j, "list");
    ferry_json_int(j, NULL, -3);
    ferry_json_begin_object(j, NULL);
    ferry_json_bool(j, "ok", TRUE);
    ferry_json_end_object(j);
    ferry_json_end_array(j);
    text = ferry_json_finish(g_steal_pointer(&j));
    g_assert_cmpstr(text, ==,
                    "{\"event\":\"result\",\"total_s\":0.501,\"tiny_s\":0.000,\"eta_s\":null,"
                    "\"memory_percent\":100.0,\"memory_bytes\":18446744073709551615,"
                    "\"path\":\"/a\\tb\\u0001\",\"none\":null,"
                    "\"error\":{\"kind\":\"precheck\",\"message\":\"not \\\"there\\\"\\n\"},"
                    "\"list\":[-3,{\"ok\":true}]}");
}

/* The stable kinds scripts match on. */
static void
test_json_error_kinds(void)
{
    const struct {
        GQuark domain;
        int code;
        const char *kind;
    } cases[] = {
        {FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_NOT_FOUND, "not-found"},
        {FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_AMBIGUOUS, "ambiguous"},
        {FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_CANCELLED, "cancelled"},
        {FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_NOT_CONVERGED, "not-converged"},
        {FERRY_CLI_ERROR, FERRY_CLI_ERROR_USAGE, "usage"},
        {G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION, "usage"},
        {FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_UNKNOWN_HOST, "inventory"},
        {G_FILE_ERROR, G_FILE_ERROR_NOENT, "failed"},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) e = g_error_new_literal(cases[i].domain, cases[i].code, "x");
        g_assert_cmpstr(ferry_cli_error_kind(e), ==, cases[i].kind);
    }
}

static void
test_suggest(void)
{
    const char *commands[] = {"migrate", "xml", "nova-sync", "check", "recover", "help"};
    const char *options[] = {"--to", "--from", "--bandwidth", "--mode", "--timeout"};
    const char *guests[] = {"ga-local", "gb-shared", "gc-overlay", "gd-dirty"};
    const char *hosts[] = {"hostA", "hostB", "hostC"};

    g_assert_cmpstr(ferry_cli_suggest("migrat", commands, 6), ==, "migrate");
    g_assert_cmpstr(ferry_cli_suggest("mgirate", commands, 6), ==, "migrate");
    g_assert_cmpstr(ferry_cli_suggest("--bandwith", options, 5), ==, "--bandwidth");
    g_assert_cmpstr(ferry_cli_suggest("--band", options, 5), ==, "--bandwidth");
    g_assert_cmpstr(ferry_cli_suggest("ga-locl", guests, 4), ==, "ga-local");
    g_assert_cmpstr(ferry_cli_suggest("hsotB", hosts, 3), ==, "hostB");
    /* two equally close: no guess */
    g_assert_null(ferry_cli_suggest("hostD", hosts, 3));
    /* far from everything */
    g_assert_null(ferry_cli_suggest("teleport", commands, 6));
    g_assert_null(ferry_cli_suggest("", commands, 6));
    g_assert_cmpuint(ferry_cli_edit_distance("abc", "acb"), ==, 1);
    g_assert_cmpuint(ferry_cli_edit_distance("kitten", "sitting"), ==, 3);
}

/* The "memory 456.1 MiB / 128.4 MiB 100%, 49.8 MiB left": processed counts resent
 * pages; what is in sync is total - remaining. */
static void
test_figures_memory_in_sync(void)
{
    FerryJobSample s = {
        .elapsed_s = 20,
        .mem_total = 128 * MIB,
        .mem_processed = 456 * MIB,
        .mem_remaining = 32 * MIB,
        .mem_bps = 10 * MIB,
        .mem_dirty_rate = 256, /* pages/s: 1 MiB/s */
        .mem_page_size = 4096,
        .mem_iteration = 3,
    };
    FerryProgressFigures f;

    ferry_progress_figures(&s, NULL, FALSE, &f);
    g_assert_cmpfloat_with_epsilon(f.memory_percent, 75.0, 1e-9);
    g_assert_true(isnan(f.disk_percent));
    g_assert_true(f.dirty_known);
    g_assert_cmpuint(f.dirty_bps, ==, 1 * MIB);
    /* what is left, at what is sent minus what is dirtied again */
    g_assert_cmpstr(f.eta_of, ==, "memory");
    g_assert_cmpfloat_with_epsilon(f.eta_s, 32.0 / 9.0, 1e-9);

    /* remaining above the total (QEMU counts a page twice): still 0 %, never negative */
    s.mem_remaining = 200 * MIB;
    ferry_progress_figures(&s, NULL, FALSE, &f);
    g_assert_cmpfloat(f.memory_percent, ==, 0.0);
}

static void
test_figures_paused_postcopy_diverging(void)
{
    FerryJobSample s = {
        .elapsed_s = 20,
        .mem_total = 128 * MIB,
        .mem_processed = 300 * MIB,
        .mem_remaining = 40 * MIB,
        .mem_bps = 10 * MIB,
        .mem_dirty_rate = 1152, /* 4.5 MiB/s: QEMU's leftover figure */
        .mem_iteration = 5,
        .paused = TRUE,
    };
    FerryProgressFigures f;

    ferry_progress_figures(&s, NULL, FALSE, &f);
    g_assert_false(f.dirty_known);
    g_assert_true(isnan(f.eta_s));
    g_assert_nonnull(f.why_no_eta);

    s.paused = FALSE;
    s.postcopy = TRUE;
    ferry_progress_figures(&s, NULL, FALSE, &f);
    g_assert_false(f.dirty_known);
    g_assert_true(isnan(f.eta_s));

    /* dirtying as fast as sending: no ETA, and it says why */
    s.postcopy = FALSE;
    s.mem_dirty_rate = 2560; /* 10 MiB/s */
    ferry_progress_figures(&s, NULL, FALSE, &f);
    g_assert_true(f.dirty_known);
    g_assert_true(isnan(f.eta_s));
    g_assert_nonnull(strstr(f.why_no_eta, "not converging"));
}

/* The NBD disk mirror reports no rate: it comes from disk_processed over the window. */
static void
test_figures_disk_rate(void)
{
    FerryJobSample older = {.elapsed_s = 1.0, .disk_total = 100 * MIB, .disk_processed = 10 * MIB,
                            .disk_remaining = 90 * MIB};
    FerryJobSample s = {.elapsed_s = 3.0, .disk_total = 100 * MIB, .disk_processed = 30 * MIB,
                        .disk_remaining = 70 * MIB};
    FerryProgressFigures f;

    ferry_progress_figures(&s, &older, FALSE, &f);
    g_assert_true(f.disk_bps_known);
    g_assert_cmpuint(f.disk_bps, ==, 10 * MIB);
    g_assert_cmpfloat_with_epsilon(f.disk_percent, 30.0, 1e-9);
    g_assert_cmpstr(f.eta_of, ==, "disks");
    g_assert_cmpfloat_with_epsilon(f.eta_s, 7.0, 1e-9);
    /* no earlier sample: not known, rather than "0 B/s" */
    ferry_progress_figures(&s, NULL, FALSE, &f);
    g_assert_false(f.disk_bps_known);
    g_assert_true(isnan(f.eta_s));
    /* more processed than the total: 100 %, not more */
    s.disk_processed = 120 * MIB;
    s.disk_remaining = 0;
    ferry_progress_figures(&s, &older, FALSE, &f);
    g_assert_cmpfloat(f.disk_percent, ==, 100.0);
}

/* A cold copy: its own figures, the rate the copy measured. */
static void
test_figures_cold_copy(void)
{
    FerryJobSample s = {.elapsed_s = 2.0, .disk_total = 40 * MIB, .disk_processed = 8 * MIB,
                        .disk_remaining = 32 * MIB, .disk_bps = 4 * MIB};
    FerryProgressFigures f;

    ferry_progress_figures(&s, NULL, TRUE, &f);
    g_assert_cmpstr(f.eta_of, ==, "copy");
    g_assert_cmpfloat_with_epsilon(f.eta_s, 8.0, 1e-9);
    g_assert_cmpfloat_with_epsilon(f.disk_percent, 20.0, 1e-9);
    g_assert_false(f.dirty_known);
}

static void
test_format_duration(void)
{
    const struct {
        double s;
        const char *text;
    } cases[] = {{0.2, "1s"}, {59.0, "59s"}, {61.5, "1m01s"}, {3725, "1h02m"}, {NAN, "?"},
                 {-1, "?"}};

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *t = ferry_progress_format_duration(cases[i].s);
        g_assert_cmpstr(t, ==, cases[i].text);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cli/json/fixed-precision-units-and-escapes", test_json_conventions);
    g_test_add_func("/cli/json/error-kinds-are-stable-names", test_json_error_kinds);
    g_test_add_func("/cli/suggest/commands-options-hosts-guests", test_suggest);
    g_test_add_func("/cli/figures/memory-percent-is-what-is-in-sync", test_figures_memory_in_sync);
    g_test_add_func("/cli/figures/no-dirty-rate-or-eta-while-paused",
                    test_figures_paused_postcopy_diverging);
    g_test_add_func("/cli/figures/disk-rate-from-successive-samples", test_figures_disk_rate);
    g_test_add_func("/cli/figures/cold-copy-has-its-own", test_figures_cold_copy);
    g_test_add_func("/cli/format/duration", test_format_duration);
    return g_test_run();
}
