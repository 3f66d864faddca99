/*
 * test-policy.c: the non-convergence policy, replayed on recorded job-stat sequences.
 *
 * A case NAME is three files under $FERRY_TEST_DATA/policy/data/:
 *   NAME.samples   header line of FerryJobSample field names, then one sample per line
 *   NAME.settings  GKeyFile: [policy] (see ferry_policy_settings_load_key_file()),
 *                  [guest] mem-bytes / disk-bytes (optional; otherwise learnt from samples),
 *                  [replay] samples = OTHER (replay OTHER.samples instead of NAME.samples),
 *                           fail = ACTION (the monitor's first attempt at ACTION fails)
 *   NAME.expected  every decision other than "none": "ELAPSED ACTION [DOWNTIME_MS]", '#' comments
 * FERRY_TEST_REGENERATE=1 (exactly "1") rewrites the .expected files (with the reasons as
 * comments) for review.
 *
 * lab-NAME: samples recorded in the lab by tests/policy/record-lab-samples.sh, which also writes
 * the .settings ferry ran with and the .expected decisions ferry took live: the replay must take
 * the same decisions at the same samples.  synthetic-NAME: sequences written by
 * synthesize-samples.py (synthetic-missing-fields by hand) to put the policy's edges where a
 * test wants them; they are not recordings.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>

#include "engine/ferry-job-sample.h"
#include "engine/ferry-policy.h"

#define MIB (G_GUINT64_CONSTANT(1024) * 1024)
#define GIB (MIB * 1024)

static char *
data_path(const char *name, const char *suffix)
{
    const char *top = g_getenv("FERRY_TEST_DATA");
    g_autofree char *file = g_strconcat(name, suffix, NULL);

    return g_build_filename(top ? top : ".", "policy", "data", file, NULL);
}

/* "12.5", "8.0", "10.375": at least one decimal, no trailing zeros beyond it. */
static char *
format_elapsed(double elapsed)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    gsize len;

    g_ascii_formatd(buf, sizeof(buf), "%.3f", elapsed);
    len = strlen(buf);
    while (len > 0 && buf[len - 1] == '0' && buf[len - 2] != '.')
        buf[--len] = '\0';
    return g_strdup(buf);
}

static char *
format_decision(double elapsed, const FerryPolicyDecision *decision)
{
    g_autofree char *when = format_elapsed(elapsed);

    if (decision->action == FERRY_POLICY_ACTION_SET_DOWNTIME)
        return g_strdup_printf("%s %s %u", when, ferry_policy_action_to_string(decision->action),
                               decision->downtime_ms);
    return g_strdup_printf("%s %s", when, ferry_policy_action_to_string(decision->action));
}

/* Strips comments and blank lines, collapses whitespace. */
static GPtrArray *
read_expected(const char *path)
{
    g_autofree char *contents = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) lines = NULL;
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);

    g_file_get_contents(path, &contents, NULL, &error);
    g_assert_no_error(error);
    lines = g_strsplit(contents, "\n", -1);
    for (gsize i = 0; lines[i]; i++) {
        char *hash = strchr(lines[i], '#');
        g_auto(GStrv) words = NULL;
        g_autoptr(GString) norm = g_string_new(NULL);

        if (hash)
            *hash = '\0';
        words = g_strsplit_set(lines[i], " \t\r", -1);
        for (gsize j = 0; words[j]; j++) {
            if (words[j][0] == '\0')
                continue;
            if (norm->len)
                g_string_append_c(norm, ' ');
            g_string_append(norm, words[j]);
        }
        if (norm->len)
            g_ptr_array_add(out, g_string_free(g_steal_pointer(&norm), FALSE));
    }
    return out;
}

static gboolean
load_samples(const char *path, GArray *samples, GError **error)
{
    g_autofree char *contents = NULL;
    g_auto(GStrv) lines = NULL;
    FerryJobSampleColumns columns;
    gboolean have_header = FALSE;

    if (!g_file_get_contents(path, &contents, NULL, error))
        return FALSE;
    lines = g_strsplit(contents, "\n", -1);
    for (gsize i = 0; lines[i]; i++) {
        const char *line = lines[i];
        FerryJobSample sample;

        while (g_ascii_isspace(*line))
            line++;
        if (*line == '\0' || *line == '#')
            continue;
        if (!have_header) {
            if (!ferry_job_sample_columns_parse_header(&columns, line, error))
                return FALSE;
            have_header = TRUE;
            continue;
        }
        if (!ferry_job_sample_parse_line_columns(&columns, line, &sample, error)) {
            g_prefix_error(error, "%s:%" G_GSIZE_FORMAT ": ", path, i + 1);
            return FALSE;
        }
        g_array_append_val(samples, sample);
    }
    return TRUE;
}

static void
test_case(gconstpointer data)
{
    const char *name = data;
    g_autofree char *settings_path = data_path(name, ".settings");
    g_autofree char *samples_path = NULL;
    g_autofree char *samples_name = NULL;
    g_autofree char *expected_path = data_path(name, ".expected");
    g_autoptr(GKeyFile) key_file = g_key_file_new();
    g_autoptr(GArray) samples = g_array_new(FALSE, FALSE, sizeof(FerryJobSample));
    g_autoptr(GPtrArray) actual = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) expected = NULL;
    g_autoptr(GString) regenerated = g_string_new(NULL);
    g_autoptr(GError) error = NULL;
    g_autofree char *fail_name = NULL;
    FerryPolicyAction fail = FERRY_POLICY_ACTION_NONE;
    guint64 fail_times = 1;
    FerryPolicySettings settings;
    FerryPolicyState state;

    g_key_file_load_from_file(key_file, settings_path, G_KEY_FILE_NONE, &error);
    g_assert_no_error(error);

    /* several cases replay the same recording with different settings */
    samples_name = g_key_file_get_string(key_file, "replay", "samples", NULL);
    samples_path = data_path(samples_name ? samples_name : name, ".samples");
    g_assert_true(load_samples(samples_path, samples, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(samples->len, >, 0);

    ferry_policy_settings_init_defaults(&settings);
    g_assert_true(ferry_policy_settings_load_key_file(&settings, key_file, "policy", &error));
    g_assert_no_error(error);

    fail_name = g_key_file_get_string(key_file, "replay", "fail", NULL);
    if (fail_name) {
        g_assert_true(ferry_policy_action_from_string(fail_name, &fail, &error));
        g_assert_no_error(error);
        if (g_key_file_has_key(key_file, "replay", "fail-times", NULL))
            fail_times = g_key_file_get_uint64(key_file, "replay", "fail-times", NULL);
    }

    ferry_policy_state_init(&state, g_key_file_get_uint64(key_file, "guest", "mem-bytes", NULL),
                            g_key_file_get_uint64(key_file, "guest", "disk-bytes", NULL));

    for (guint i = 0; i < samples->len; i++) {
        const FerryJobSample *sample = &g_array_index(samples, FerryJobSample, i);
        FerryPolicyDecision decision = ferry_policy_decide(&settings, &state, sample);
        char *line;

        g_assert_cmpuint(strlen(decision.reason), <, sizeof(decision.reason) - 1);
        if (decision.reason[0])
            g_test_message("%s: %.3f %s: %s", name, sample->elapsed_s,
                           ferry_policy_action_to_string(decision.action), decision.reason);
        if (decision.action == FERRY_POLICY_ACTION_NONE)
            continue;
        g_assert_cmpstr(decision.reason, !=, "");

        line = format_decision(sample->elapsed_s, &decision);
        g_ptr_array_add(actual, line);
        g_string_append_printf(regenerated, "%-24s # %s\n", line, decision.reason);

        if (decision.action == fail) {
            ferry_policy_note_failed(&state, fail);
            if (--fail_times == 0)
                fail = FERRY_POLICY_ACTION_NONE;
        }
    }

    if (g_strcmp0(g_getenv("FERRY_TEST_REGENERATE"), "1") == 0) {
        g_file_set_contents(expected_path, regenerated->str, -1, &error);
        g_assert_no_error(error);
    }

    expected = read_expected(expected_path);
    for (guint i = 0; i < MAX(expected->len, actual->len); i++) {
        const char *want = i < expected->len ? g_ptr_array_index(expected, i) : "(nothing)";
        const char *got = i < actual->len ? g_ptr_array_index(actual, i) : "(nothing)";

        if (!g_str_equal(want, got))
            g_test_message("%s: decision %u: expected '%s', got '%s'", name, i, want, got);
        g_assert_cmpstr(got, ==, want);
    }
}

typedef struct {
    const char *path;
    const char *name;
} PolicyCase;

static const PolicyCase policy_cases[] = {
    {"/policy/stall/suspends-after-window", "synthetic-stall-dirty-guest"},
    {"/policy/stall/exactly-at-window-boundary", "synthetic-stall-window-boundary"},
    {"/policy/stall/slow-steady-disk-mirror-is-not-a-stall", "synthetic-disk-mirror-steady"},
    {"/policy/stall/stuck-disk-mirror-is-a-stall", "synthetic-disk-stuck"},
    {"/policy/converge/idle-guest-gets-no-action", "synthetic-converging-idle"},
    {"/policy/timeout/scaled-by-size", "synthetic-timeout-scaled"},
    {"/policy/timeout/sizes-learnt-from-samples", "synthetic-timeout-learnt-sizes"},
    {"/policy/timeout/abort", "synthetic-timeout-abort"},
    {"/policy/postcopy/switches-after-timeout", "synthetic-postcopy-switch"},
    {"/policy/postcopy/not-allowed-suspends-instead", "synthetic-postcopy-not-allowed"},
    {"/policy/postcopy/deferred-until-memory-phase", "synthetic-postcopy-deferred"},
    {"/policy/postcopy/failed-switch-suspends-instead", "synthetic-postcopy-failed"},
    {"/policy/downtime/steps-follow-schedule", "synthetic-downtime-steps"},
    {"/policy/final/taken-only-once", "synthetic-final-once"},
    {"/policy/final/none-does-nothing", "synthetic-action-none"},
    {"/policy/final/stuck-suspend-escalates-to-abort", "synthetic-suspend-escalates"},
    {"/policy/final/failed-suspend-retried-once-then-aborts", "synthetic-suspend-fails-twice"},
    {"/policy/samples/zero-and-missing-fields", "synthetic-missing-fields"},
    {"/policy/lab/dirty-guest-suspended-at-timeout", "lab-dirty-suspend"},
    {"/policy/lab/dirty-guest-switched-to-postcopy", "lab-dirty-postcopy"},
    {"/policy/lab/dirty-guest-without-action-only-steps-downtime", "lab-dirty-none"},
    {"/policy/lab/dirty-guest-stall-aborts", "lab-dirty-stall"},
    {"/policy/predict/dirty-guest-suspended-before-timeout", "synthetic-predict-suspends"},
    {"/policy/predict/auto-converge-gets-more-passes", "synthetic-predict-auto-converge"},
    {"/policy/predict/lab-dirty-guest-switched-to-postcopy", "lab-predict-postcopy"},
};

static void
test_action_names(void)
{
    g_autoptr(GError) error = NULL;
    FerryPolicyAction action = FERRY_POLICY_ACTION_LAST;

    for (guint i = 0; i < FERRY_POLICY_ACTION_LAST; i++)
        g_assert_nonnull(ferry_policy_action_to_string(i));
    g_assert_null(ferry_policy_action_to_string(FERRY_POLICY_ACTION_LAST));

    g_assert_true(ferry_policy_action_from_string("postcopy", &action, &error));
    g_assert_no_error(error);
    g_assert_cmpint(action, ==, FERRY_POLICY_ACTION_POSTCOPY);
    g_assert_true(ferry_policy_action_from_string("none", &action, &error));
    g_assert_cmpint(action, ==, FERRY_POLICY_ACTION_NONE);

    /* set-downtime is a decision, not something to do on timeout */
    g_assert_false(ferry_policy_action_from_string("set-downtime", &action, &error));
    g_assert_error(error, FERRY_POLICY_ERROR, FERRY_POLICY_ERROR_INVALID);
    g_assert_cmpint(action, ==, FERRY_POLICY_ACTION_NONE);
    g_clear_error(&error);

    g_assert_false(ferry_policy_action_from_string("Suspend", &action, &error));
    g_assert_cmpstr(error->message, ==,
                    "unknown timeout action 'Suspend': expected 'suspend', 'postcopy', 'abort' "
                    "or 'none'");
}

static void
test_timeout_function(void)
{
    FerryPolicySettings settings;

    ferry_policy_settings_init_defaults(&settings);
    /* 800 s per GiB of RAM + copied disk, as Nova's live_migration_completion_timeout */
    g_assert_cmpfloat_with_epsilon(ferry_policy_completion_timeout(&settings, 4 * GIB, 0), 3200,
                                   1e-9);
    g_assert_cmpfloat_with_epsilon(ferry_policy_completion_timeout(&settings, 1 * GIB, 2 * GIB),
                                   2400, 1e-9);
    g_assert_cmpfloat_with_epsilon(ferry_policy_completion_timeout(&settings, 128 * MIB, 0), 100,
                                   1e-9);
    /* the floor: a 64 MiB lab guest would get 50 s */
    g_assert_cmpfloat_with_epsilon(ferry_policy_completion_timeout(&settings, 64 * MIB, 0), 60,
                                   1e-9);
    settings.completion_timeout_s = 8;
    g_assert_cmpfloat_with_epsilon(ferry_policy_completion_timeout(&settings, 4 * GIB, 0), 8, 1e-9);
}

static void
test_downtime_schedule_like_nova(void)
{
    /* Nova's downtime_steps() docstring: 400 ms, 10 steps, 30 s per GiB, 3 GiB:
     * 0 s -> 40 ms, 90 s -> 76 ms, ... 900 s -> 400 ms. */
    FerryPolicySettings settings;
    /* Nova's downtime_steps() for 111 ms in 5 steps, 75 s per GiB, 1.5 GiB: the delay
     * int(112.5) = 112 s, and its floating point leaves the last step at 110 ms, not 111. */
    static const FerryPolicyDowntimeStep odd[] = {{0, 22},   {112, 39}, {224, 57},
                                                  {336, 75}, {448, 93}, {560, 110}};

    ferry_policy_settings_init_defaults(&settings);
    settings.max_downtime_ms = 400;
    settings.downtime_delay_per_gib_s = 30;
    g_assert_cmpuint(ferry_policy_downtime_step_count(&settings), ==, 11);
    for (guint i = 0; i <= 10; i++) {
        FerryPolicyDowntimeStep step = ferry_policy_downtime_step(&settings, 3 * GIB, i);

        g_assert_cmpfloat_with_epsilon(step.at_s, 90.0 * i, 1e-9);
        g_assert_cmpuint(step.downtime_ms, ==, 40 + 36 * i);
    }

    /* the defaults for the lab's 128 MiB guest: int(75 s * 0.125) = 9 s, not 9.375 s */
    ferry_policy_settings_init_defaults(&settings);
    for (guint i = 0; i <= 10; i++) {
        FerryPolicyDowntimeStep step = ferry_policy_downtime_step(&settings, 128 * MIB, i);

        g_assert_cmpfloat(step.at_s, ==, 9.0 * i);
        g_assert_cmpuint(step.downtime_ms, ==, 50 + 45 * i);
    }
    /* a tiny guest: int(75 s / 1024) = 0 s, raised to the 1 s floor */
    g_assert_cmpfloat(ferry_policy_downtime_step(&settings, 1 * MIB, 3).at_s, ==, 3.0);

    settings.max_downtime_ms = 111;
    settings.downtime_steps = 5;
    for (guint i = 0; i < G_N_ELEMENTS(odd); i++) {
        FerryPolicyDowntimeStep step = ferry_policy_downtime_step(&settings, 1536 * MIB, i);

        g_assert_cmpfloat(step.at_s, ==, odd[i].at_s);
        g_assert_cmpuint(step.downtime_ms, ==, odd[i].downtime_ms);
    }

    settings.max_downtime_ms = 0;
    g_assert_cmpuint(ferry_policy_downtime_step_count(&settings), ==, 0);

    settings.max_downtime_ms = 300;
    settings.downtime_steps = 0;
    g_assert_cmpuint(ferry_policy_downtime_step_count(&settings), ==, 1);
    g_assert_cmpuint(ferry_policy_downtime_step(&settings, 3 * GIB, 0).downtime_ms, ==, 300);
}

/* A step is taken on the first sample past its time, as Nova's update_downtime() does
 * (elapsed > step time), never on a sample exactly at it. */
static void
test_downtime_step_after_its_time(void)
{
    FerryPolicySettings settings;
    FerryPolicyState state;
    FerryPolicyDecision decision;
    FerryJobSample sample = {
        .mem_total = 128 * MIB,
        .mem_iteration = 1,
        .mem_processed = 1,
        .mem_remaining = 100 * MIB,
    };

    ferry_policy_settings_init_defaults(&settings);
    ferry_policy_state_init(&state, 128 * MIB, 0);

    sample.elapsed_s = 1.0; /* the memory phase starts here */
    decision = ferry_policy_decide(&settings, &state, &sample);
    g_assert_cmpint(decision.action, ==, FERRY_POLICY_ACTION_SET_DOWNTIME);
    g_assert_cmpuint(decision.downtime_ms, ==, 50);

    sample.elapsed_s = 10.0; /* exactly 9 s later: not yet */
    decision = ferry_policy_decide(&settings, &state, &sample);
    g_assert_cmpint(decision.action, ==, FERRY_POLICY_ACTION_NONE);

    sample.elapsed_s = 10.5;
    decision = ferry_policy_decide(&settings, &state, &sample);
    g_assert_cmpint(decision.action, ==, FERRY_POLICY_ACTION_SET_DOWNTIME);
    g_assert_cmpuint(decision.downtime_ms, ==, 95);
    g_assert_cmpstr(decision.reason, ==,
                    "memory phase running for 9.5 s: max downtime 95 ms (step 1 of 10)");
}

static void
test_stall_reason_text(void)
{
    FerryPolicySettings settings;
    FerryPolicyState state;
    FerryPolicyDecision decision;
    FerryJobSample sample = {
        .mem_total = 128 * MIB,
        .mem_iteration = 2,
        .mem_processed = 100 * MIB,
    };

    ferry_policy_settings_init_defaults(&settings);
    settings.stall_window_s = 10;
    settings.max_downtime_ms = 0;
    ferry_policy_state_init(&state, 128 * MIB, 0);

    sample.elapsed_s = 7.5;
    sample.mem_remaining = 11744051; /* 11.2 MiB */
    decision = ferry_policy_decide(&settings, &state, &sample);
    g_assert_cmpint(decision.action, ==, FERRY_POLICY_ACTION_NONE);

    sample.elapsed_s = 17.5;
    sample.mem_remaining = 64 * MIB;
    decision = ferry_policy_decide(&settings, &state, &sample);
    g_assert_cmpint(decision.action, ==, FERRY_POLICY_ACTION_SUSPEND);
    g_assert_cmpstr(decision.reason, ==,
                    "remaining memory has not dropped below 11.2 MiB for 10.0 s (stall)");

    /* never twice */
    sample.elapsed_s = 30;
    decision = ferry_policy_decide(&settings, &state, &sample);
    g_assert_cmpint(decision.action, ==, FERRY_POLICY_ACTION_NONE);
    g_assert_cmpstr(decision.reason, ==, "");
}

static void
test_timeout_reason_text(void)
{
    FerryPolicySettings settings;
    FerryPolicyState state;
    FerryPolicyDecision decision;
    FerryJobSample sample = {.elapsed_s = 8.0,
                             .mem_total = 128 * MIB,
                             .mem_iteration = 1,
                             .mem_processed = 1,
                             .mem_remaining = 80 * MIB};

    ferry_policy_settings_init_defaults(&settings);
    settings.completion_timeout_s = 8;
    settings.max_downtime_ms = 0;
    settings.final_action = FERRY_POLICY_ACTION_POSTCOPY;
    ferry_policy_state_init(&state, 0, 0);

    decision = ferry_policy_decide(&settings, &state, &sample);
    g_assert_cmpint(decision.action, ==, FERRY_POLICY_ACTION_SUSPEND);
    g_assert_cmpstr(decision.reason, ==,
                    "completion timeout 8.0 s reached after 8.0 s; post-copy was not enabled for "
                    "this job, suspending instead");
}

static void
test_settings_key_file(void)
{
    g_autoptr(GKeyFile) key_file = g_key_file_new();
    g_autoptr(GError) error = NULL;
    FerryPolicySettings settings;
    const char *good = "[policy]\naction=abort\nstall-window=12.5\nmax-downtime=300\n"
                       "postcopy-allowed=true\n";

    ferry_policy_settings_init_defaults(&settings);
    g_assert_true(g_key_file_load_from_data(key_file, good, -1, G_KEY_FILE_NONE, NULL));
    g_assert_true(ferry_policy_settings_load_key_file(&settings, key_file, "policy", &error));
    g_assert_no_error(error);
    g_assert_cmpint(settings.final_action, ==, FERRY_POLICY_ACTION_ABORT);
    g_assert_cmpfloat(settings.stall_window_s, ==, 12.5);
    g_assert_cmpuint(settings.max_downtime_ms, ==, 300);
    g_assert_true(settings.postcopy_allowed);
    g_assert_cmpuint(settings.downtime_steps, ==, 10); /* default kept */

    g_assert_true(g_key_file_load_from_data(key_file, "[policy]\nstall-windo=3\n", -1,
                                            G_KEY_FILE_NONE, NULL));
    g_assert_false(ferry_policy_settings_load_key_file(&settings, key_file, "policy", &error));
    g_assert_cmpstr(error->message, ==, "unknown policy setting 'stall-windo' in group 'policy'");
    g_clear_error(&error);

    g_assert_true(g_key_file_load_from_data(key_file, "[policy]\nstall-window=-1\n", -1,
                                            G_KEY_FILE_NONE, NULL));
    g_assert_false(ferry_policy_settings_load_key_file(&settings, key_file, "policy", &error));
    g_assert_error(error, FERRY_POLICY_ERROR, FERRY_POLICY_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_cmpfloat(settings.stall_window_s, ==, 12.5); /* untouched on error */

    g_assert_true(g_key_file_load_from_data(key_file, "[policy]\naction=set-downtime\n", -1,
                                            G_KEY_FILE_NONE, NULL));
    g_assert_false(ferry_policy_settings_load_key_file(&settings, key_file, "policy", &error));
    g_assert_error(error, FERRY_POLICY_ERROR, FERRY_POLICY_ERROR_INVALID);
}

static void
test_sample_round_trip(void)
{
    FerryJobSample in = {
        .elapsed_s = 17.5,
        .data_total = 201326592,
        .data_processed = 190000000,
        .data_remaining = 88080384,
        .mem_total = 134217728,
        .mem_processed = 122473677,
        .mem_remaining = 88080384,
        .mem_bps = 10485760,
        .mem_dirty_rate = 2540,
        .mem_page_size = 4096,
        .mem_iteration = 4,
        .disk_total = 67108864,
        .disk_processed = 67108864,
        .disk_remaining = 0,
        .disk_bps = 8388608,
        .expected_downtime_ms = 6400,
        .postcopy = FALSE,
        .paused = TRUE,
    };
    FerryJobSample out;
    g_autofree char *header = ferry_job_sample_format_header();
    g_autofree char *line = ferry_job_sample_format_line(&in);
    g_autoptr(GError) error = NULL;
    FerryJobSampleColumns columns;
    const char *old_locale = setlocale(LC_NUMERIC, NULL);
    g_autofree char *saved_locale = g_strdup(old_locale);

    g_assert_true(g_str_has_prefix(header, "elapsed_s data_total data_processed"));
    g_assert_true(g_str_has_suffix(header, "postcopy paused"));
    g_assert_cmpstr(line, ==,
                    "17.500 201326592 190000000 88080384 134217728 122473677 88080384 10485760 "
                    "2540 4096 4 67108864 67108864 0 8388608 6400 0 1");

    g_assert_true(ferry_job_sample_parse_line(line, &out, &error));
    g_assert_no_error(error);
    g_assert_cmpmem(&in, sizeof(in), &out, sizeof(out));

    g_assert_true(ferry_job_sample_columns_parse_header(&columns, header, &error));
    g_assert_cmpuint(columns.n_columns, ==, FERRY_JOB_SAMPLE_N_FIELDS);

    /* decimal comma locales must not change the file format */
    if (setlocale(LC_NUMERIC, "de_DE.UTF-8")) {
        g_autofree char *line_de = ferry_job_sample_format_line(&in);

        g_assert_cmpstr(line_de, ==, line);
        g_assert_true(ferry_job_sample_parse_line(line, &out, &error));
        g_assert_cmpfloat(out.elapsed_s, ==, 17.5);
        setlocale(LC_NUMERIC, saved_locale);
    }
}

static void
test_sample_columns(void)
{
    g_autoptr(GError) error = NULL;
    FerryJobSampleColumns columns;
    FerryJobSample sample;

    g_assert_true(
        ferry_job_sample_columns_parse_header(&columns, "  mem_remaining\telapsed_s  ", &error));
    g_assert_no_error(error);
    g_assert_cmpuint(columns.n_columns, ==, 2);
    g_assert_true(ferry_job_sample_parse_line_columns(&columns, "1024 2.25", &sample, &error));
    g_assert_cmpuint(sample.mem_remaining, ==, 1024);
    g_assert_cmpfloat(sample.elapsed_s, ==, 2.25);
    g_assert_cmpuint(sample.mem_total, ==, 0);
    g_assert_true(ferry_job_sample_parse_line_columns(&columns, "- 3", &sample, &error));
    g_assert_cmpuint(sample.mem_remaining, ==, 0);

    g_assert_false(ferry_job_sample_parse_line_columns(&columns, "1 2 3", &sample, &error));
    g_assert_error(error, FERRY_JOB_SAMPLE_ERROR, FERRY_JOB_SAMPLE_ERROR_PARSE);
    g_clear_error(&error);
    g_assert_false(ferry_job_sample_parse_line_columns(&columns, "1", &sample, &error));
    g_assert_cmpstr(error->message, ==, "job sample line has 1 values, the header names 2");
    g_clear_error(&error);
    g_assert_false(ferry_job_sample_parse_line_columns(&columns, "-5 1", &sample, &error));
    g_assert_error(error, G_NUMBER_PARSER_ERROR, G_NUMBER_PARSER_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_false(ferry_job_sample_parse_line_columns(&columns, "5 1,5", &sample, &error));
    g_assert_cmpstr(error->message, ==,
                    "invalid value '1,5' for 'elapsed_s': expected seconds >= 0");
    g_clear_error(&error);

    g_assert_false(ferry_job_sample_columns_parse_header(&columns, "elapsed_s remaining", &error));
    g_assert_cmpstr(error->message, ==, "unknown job sample field 'remaining' in header");
    g_clear_error(&error);
    g_assert_false(ferry_job_sample_columns_parse_header(&columns, "paused paused", &error));
    g_assert_error(error, FERRY_JOB_SAMPLE_ERROR, FERRY_JOB_SAMPLE_ERROR_PARSE);
    g_clear_error(&error);
    g_assert_false(ferry_job_sample_parse_line("1 2", &sample, &error));
    g_assert_error(error, FERRY_JOB_SAMPLE_ERROR, FERRY_JOB_SAMPLE_ERROR_PARSE);
}

/* The outlook the CLI shows ("suspend in 90s") comes from the policy's own state and sizes:
 * the scaled timeout of a 128 MiB guest is 100 s (800 s/GiB), counted from the job's start;
 * nothing is scheduled once the guest is paused, in post-copy, or the action is 'none'; a
 * post-copy that is not allowed shows as the suspend it becomes. */
/* The prediction (rule 3b) as the outlook shows it: nothing before pass 2; then the rates, the
 * passes counted, what will be done and when it converges (never: < 0). */
static void
test_outlook_prediction(void)
{
    FerryPolicySettings settings;
    FerryPolicyState state;
    FerryJobSample s = {
        .elapsed_s = 5, .mem_total = 128 * MIB, .mem_remaining = 60 * MIB, .mem_processed = MIB,
        .mem_iteration = 1, .mem_bps = 10 * MIB, .mem_dirty_rate = 3000, .mem_page_size = 4096,
    };
    FerryPolicyOutlook o;

    ferry_policy_settings_init_defaults(&settings);
    settings.postcopy_allowed = TRUE;
    ferry_policy_state_init(&state, 128 * MIB, 0);
    (void)ferry_policy_decide(&settings, &state, &s);
    o = ferry_policy_outlook(&settings, &state, &s);
    g_assert_false(o.predicted);
    g_assert_cmpuint(o.diverging_passes_needed, ==, 3);
    g_assert_cmpint(o.early_action, ==, FERRY_POLICY_ACTION_POSTCOPY);
    /* pass 2: 11.7 MiB/s dirtied, 10 MiB/s sent: never */
    s.elapsed_s = 10;
    s.mem_iteration = 2;
    (void)ferry_policy_decide(&settings, &state, &s);
    o = ferry_policy_outlook(&settings, &state, &s);
    g_assert_true(o.predicted);
    g_assert_false(o.converging);
    g_assert_cmpfloat(o.converge_in_s, <, 0);
    g_assert_cmpuint(o.diverging_passes, ==, 1);
    g_assert_cmpfloat_with_epsilon(o.dirty_bps, 3000.0 * 4096, 1e-6);
    g_assert_cmpfloat_with_epsilon(o.sent_bps, 10.0 * MIB, 1e-6);
    /* pass 3: a guest that calmed down converges: the count resets */
    s.elapsed_s = 15;
    s.mem_iteration = 3;
    s.mem_dirty_rate = 100;
    (void)ferry_policy_decide(&settings, &state, &s);
    o = ferry_policy_outlook(&settings, &state, &s);
    g_assert_true(o.converging);
    g_assert_cmpfloat(o.converge_in_s, >, 0);
    g_assert_cmpuint(o.diverging_passes, ==, 0);
}

static void
test_outlook(void)
{
    FerryPolicySettings settings;
    FerryPolicyState state;
    FerryJobSample sample = {.elapsed_s = 10, .mem_total = 128ull << 20};
    FerryPolicyOutlook o;

    ferry_policy_settings_init_defaults(&settings);
    ferry_policy_state_init(&state, 128ull << 20, 0);
    o = ferry_policy_outlook(&settings, &state, &sample);
    g_assert_cmpint(o.action, ==, FERRY_POLICY_ACTION_SUSPEND);
    g_assert_cmpfloat_with_epsilon(o.in_s, 90.0, 1e-9);
    sample.paused = TRUE;
    g_assert_cmpint(ferry_policy_outlook(&settings, &state, &sample).action, ==,
                    FERRY_POLICY_ACTION_NONE);
    sample.paused = FALSE;
    sample.postcopy = TRUE;
    g_assert_cmpint(ferry_policy_outlook(&settings, &state, &sample).action, ==,
                    FERRY_POLICY_ACTION_NONE);
    sample.postcopy = FALSE;
    settings.final_action = FERRY_POLICY_ACTION_POSTCOPY;
    settings.postcopy_allowed = FALSE;
    g_assert_cmpint(ferry_policy_outlook(&settings, &state, &sample).action, ==,
                    FERRY_POLICY_ACTION_SUSPEND);
    settings.postcopy_allowed = TRUE;
    g_assert_cmpint(ferry_policy_outlook(&settings, &state, &sample).action, ==,
                    FERRY_POLICY_ACTION_POSTCOPY);
    sample.elapsed_s = 100;
    g_assert_cmpint(ferry_policy_outlook(&settings, &state, &sample).action, ==,
                    FERRY_POLICY_ACTION_NONE);
    settings.final_action = FERRY_POLICY_ACTION_NONE;
    sample.elapsed_s = 10;
    g_assert_cmpint(ferry_policy_outlook(&settings, &state, &sample).action, ==,
                    FERRY_POLICY_ACTION_NONE);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/policy/action/names-and-parsing", test_action_names);
    g_test_add_func("/policy/timeout/scaled-per-gib-with-floor", test_timeout_function);
    g_test_add_func("/policy/outlook/what-the-display-shows", test_outlook);
    g_test_add_func("/policy/outlook/prediction", test_outlook_prediction);
    g_test_add_func("/policy/downtime/schedule-like-nova", test_downtime_schedule_like_nova);
    g_test_add_func("/policy/downtime/step-after-its-time", test_downtime_step_after_its_time);
    g_test_add_func("/policy/reason/stall-text", test_stall_reason_text);
    g_test_add_func("/policy/reason/timeout-postcopy-not-allowed", test_timeout_reason_text);
    g_test_add_func("/policy/settings/key-file", test_settings_key_file);
    g_test_add_func("/job-sample/format/round-trip", test_sample_round_trip);
    g_test_add_func("/job-sample/parse/columns-and-errors", test_sample_columns);
    for (gsize i = 0; i < G_N_ELEMENTS(policy_cases); i++)
        g_test_add_data_func(policy_cases[i].path, policy_cases[i].name, test_case);

    return g_test_run();
}
