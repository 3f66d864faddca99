/*
 * ferry-cmd-migrate.c: `ferry migrate DOMAIN --to HOST`: options, then the engine's
 * ferry_migrate() with ferry-cli-progress.c showing what it does.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "engine/cli/ferry-cli-progress.h"
#include "engine/cli/ferry-cli.h"
#include "engine/ferry-definitions.h"
#include "engine/ferry-inventory.h"
#include "engine/ferry-job-sample.h"
#include "engine/ferry-migrate.h"
#include "engine/ferry-policy.h"
#include "engine/ferry-virt-util.h"

/* ---- changes during the job ---------------------------------------------------------------- */

/* --control-stdin: reads "bandwidth MIB" lines from stdin while the migration runs (for scripts;
 * operators at a terminal can use `virsh migrate-setspeed` likewise). */
typedef struct {
    FerryMonitorControl *control;
    gint stop;
} FerryControlReader;

static gpointer
control_thread(gpointer data)
{
    FerryControlReader *r = data;
    char line[128];

    while (!g_atomic_int_get(&r->stop)) {
        struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
        g_auto(GStrv) words = NULL;
        guint64 mib = 0;

        /* wake up now and then to notice the end of the migration */
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        if (!fgets(line, sizeof(line), stdin))
            break;
        words = g_strsplit_set(g_strstrip(line), " \t", -1);
        if (g_strv_length(words) == 2 && g_str_equal(words[0], "bandwidth") &&
            g_ascii_string_to_unsigned(words[1], 10, 0, G_MAXUINT32, &mib, NULL))
            ferry_monitor_control_set_bandwidth(r->control, mib);
        else if (line[0])
            ferry_cli_error("--control-stdin: ignoring '%s' (expected 'bandwidth MIB')", line);
    }
    return NULL;
}

/* ---- options ------------------------------------------------------------------------------- */

typedef struct {
    char *to;
    char *from;
    char *mode;
    gint64 bandwidth;
    gboolean no_p2p;
    gboolean keep;
    gboolean quiet;
    gboolean json;
    double timeout;
    char *on_timeout;
    char *stall_window; /* NULL: the policy's default */
    gint64 max_downtime;
    gboolean auto_converge;
    gboolean compress;
    gint64 parallel;
    gboolean postcopy;
    char *samples_file;
    gboolean control_stdin;
    gboolean no_nova;
} FerryMigrateArgs;

static void
migrate_args_clear(FerryMigrateArgs *a)
{
    g_free(a->to);
    g_free(a->from);
    g_free(a->mode);
    g_free(a->on_timeout);
    g_free(a->samples_file);
    g_free(a->stall_window);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(FerryMigrateArgs, migrate_args_clear)

#define MAX_DOWNTIME_UNSET G_MININT64 /* --max-downtime not given: the policy's default */

/* A number of seconds an option may take: finite, >= 0, at most a year. */
static gboolean
check_seconds(const char *option, double value, GError **error)
{
    if (!isfinite(value) || value < 0 || value > 365.0 * 24 * 3600) {
        ferry_cli_usage_error(error, "%s takes a number of seconds from 0 to 31536000, not %g",
                              option, value);
        return FALSE;
    }
    return TRUE;
}

static gboolean
parse_seconds(const char *option, const char *text, double *value, GError **error)
{
    char *end = NULL;

    *value = g_ascii_strtod(text, &end);
    if (!*text || !end || *end) {
        ferry_cli_usage_error(error, "%s takes a number of seconds, not '%s'", option, text);
        return FALSE;
    }
    return check_seconds(option, *value, error);
}

/* Conflicting or impossible options are refused before anything is touched. */
static gboolean
settings_from_args(const FerryMigrateArgs *a, FerryPolicySettings *policy, GError **error)
{
    ferry_policy_settings_init_defaults(policy);
    if (a->on_timeout &&
        !ferry_policy_action_from_string(a->on_timeout, &policy->final_action, error)) {
        ferry_error_recode(error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_USAGE);
        g_prefix_error(error, "--on-timeout: ");
        return FALSE;
    }
    if (!check_seconds("--timeout", a->timeout, error) ||
        (a->stall_window && !parse_seconds("--stall-window", a->stall_window,
                                           &policy->stall_window_s, error)))
        return FALSE;
    if (a->max_downtime != MAX_DOWNTIME_UNSET &&
        (a->max_downtime < 0 || a->max_downtime > 3600 * 1000)) {
        ferry_cli_usage_error(error, "--max-downtime takes milliseconds from 0 to 3600000, not %"
                                     G_GINT64_FORMAT, a->max_downtime);
        return FALSE;
    }
    if (a->bandwidth < 0 || a->bandwidth > G_MAXUINT32) {
        ferry_cli_usage_error(error, "--bandwidth takes MiB/s from 0 (unlimited) to %u, not %"
                                     G_GINT64_FORMAT, G_MAXUINT32, a->bandwidth);
        return FALSE;
    }
    if (a->parallel < 0 || a->parallel > 255) {
        ferry_cli_usage_error(error, "--parallel takes 1 to 255 connections, not %" G_GINT64_FORMAT,
                              a->parallel);
        return FALSE;
    }
    if (policy->final_action == FERRY_POLICY_ACTION_POSTCOPY && !a->postcopy) {
        ferry_cli_usage_error(error, "--on-timeout postcopy needs --postcopy (the job must start "
                                     "with post-copy allowed)");
        return FALSE;
    }
    if (a->parallel && (a->postcopy || a->compress)) {
        ferry_cli_usage_error(error, "--parallel cannot be combined with %s (QEMU refuses it)",
                              a->postcopy ? "--postcopy" : "--compress");
        return FALSE;
    }
    policy->completion_timeout_s = a->timeout;
    if (a->max_downtime != MAX_DOWNTIME_UNSET)
        policy->max_downtime_ms = (guint)a->max_downtime;
    return TRUE;
}

gboolean
ferry_cmd_migrate(FerryCli *cli, int argc, char **argv, GError **error)
{
    g_auto(FerryMigrateArgs) a = {.max_downtime = MAX_DOWNTIME_UNSET};
    const GOptionEntry entries[] = {
        {"to", 0, 0, G_OPTION_ARG_STRING, &a.to, "Destination host (inventory name)", "HOST"},
        {"from", 0, 0, G_OPTION_ARG_STRING, &a.from, "Source host (default: found by looking)",
         "HOST"},
        {"mode", 0, 0, G_OPTION_ARG_STRING, &a.mode, "auto (default), shared, block or block-full",
         "MODE"},
        {"no-p2p", 0, 0, G_OPTION_ARG_NONE, &a.no_p2p,
         "ferry holds both connections (for when the source cannot reach the destination's "
         "libvirtd)",
         NULL},
        {"bandwidth", 0, 0, G_OPTION_ARG_INT64, &a.bandwidth, "Bandwidth limit in MiB/s", "MIB"},
        {"keep-source-disks", 0, 0, G_OPTION_ARG_NONE, &a.keep,
         "After block migration, keep the source's copies of the streamed disks", NULL},
        {"timeout", 0, 0, G_OPTION_ARG_DOUBLE, &a.timeout,
         "Completion timeout in seconds (default 0: 800 s per GiB of RAM and copied disk, at "
         "least 60 s)",
         "SECONDS"},
        {"on-timeout", 0, 0, G_OPTION_ARG_STRING, &a.on_timeout,
         "What to do on timeout or stall: suspend (default), postcopy, abort or none", "ACTION"},
        {"stall-window", 0, 0, G_OPTION_ARG_STRING, &a.stall_window,
         "No progress for this long is a stall (default " G_STRINGIFY(
             FERRY_POLICY_DEFAULT_STALL_WINDOW_S) "; 0: off)",
         "SECONDS"},
        {"max-downtime", 0, 0, G_OPTION_ARG_INT64, &a.max_downtime,
         "Allowed downtime, reached in steps (default 500; 0: leave libvirt's)", "MS"},
        {"auto-converge", 0, 0, G_OPTION_ARG_NONE, &a.auto_converge,
         "Let QEMU throttle the guest's CPUs while it does not converge", NULL},
        {"compress", 0, 0, G_OPTION_ARG_NONE, &a.compress, "Compress the memory pages", NULL},
        {"parallel", 0, 0, G_OPTION_ARG_INT64, &a.parallel,
         "Migrate memory over N parallel connections", "N"},
        {"postcopy", 0, 0, G_OPTION_ARG_NONE, &a.postcopy,
         "Allow switching to post-copy (needed by --on-timeout postcopy)", NULL},
        {"json", 0, 0, G_OPTION_ARG_NONE, &a.json,
         "JSON lines on stdout: one per event, then one with the summary", NULL},
        {"control-stdin", 0, 0, G_OPTION_ARG_NONE, &a.control_stdin,
         "Read 'bandwidth MIB' lines from stdin during the migration (0: unlimited)", NULL},
        {"samples-file", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &a.samples_file,
         "Record the job samples (tests/policy/data format)", "FILE"},
        {"quiet", 'q', 0, G_OPTION_ARG_NONE, &a.quiet, "Print only the summary", NULL},
        {"no-nova", 0, 0, G_OPTION_ARG_NONE, &a.no_nova,
         "Do not tell Nova, even when the inventory has a [nova] section", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("DOMAIN --to HOST");
    FerryInventory *inventory;
    g_autoptr(FerryMigrateResult) result = NULL;
    g_autoptr(GError) cache_error = NULL;
    g_autoptr(GCancellable) cancellable = NULL;
    g_autoptr(FerryProgress) progress = NULL;
    FILE *samples = NULL;
    FerryMigrateOptions options = {0};
    FerryPolicySettings policy;
    g_autoptr(FerryMonitorControl) control = NULL;
    FerryControlReader reader = {0};
    GThread *reader_thread = NULL;

    g_option_context_set_summary(
        context, "Moves a guest: a running one live (local disks streamed: block migration; "
                 "shared ones not), a shut-off one cold.  A migration that does not converge "
                 "within the timeout is suspended (or switched to post-copy, or aborted) so "
                 "that it finishes.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!ferry_cli_parse(context, &argc, &argv, error))
        return FALSE;
    if (argc != 2) {
        ferry_cli_usage_error(error, "migrate takes exactly one DOMAIN (see --help)");
        return FALSE;
    }
    if (!a.to) {
        ferry_cli_usage_error(error, "migrate needs --to HOST");
        return FALSE;
    }
    if (!settings_from_args(&a, &policy, error))
        return FALSE;
    options.mode = FERRY_MIGRATE_MODE_AUTO;
    if (a.mode && !ferry_migrate_mode_from_string(a.mode, &options.mode, error))
        return FALSE;
    if (!(inventory = ferry_cli_inventory(cli, error)))
        return FALSE;
    if (a.samples_file) {
        g_autofree char *header = ferry_job_sample_format_header();
        samples = fopen(a.samples_file, "w");
        if (!samples) {
            ferry_cli_usage_error(error, "cannot write '%s': %s", a.samples_file,
                                  g_strerror(errno));
            return FALSE;
        }
        fprintf(samples, "%s\n", header);
    }

    cancellable = ferry_cli_signal_cancellable();
    progress = ferry_progress_new(a.json, a.quiet, samples);
    options.domain = argv[1];
    options.src_host = a.from;
    options.dst_host = a.to;
    options.managed = a.no_p2p;
    options.bandwidth_mib = (guint64)a.bandwidth;
    options.keep_source_disks = a.keep;
    options.no_nova = a.no_nova;
    options.event_func = ferry_progress_on_event;
    options.event_data = progress;
    options.cancellable = cancellable;
    options.policy = &policy;
    options.postcopy = a.postcopy;
    options.auto_converge = a.auto_converge;
    options.compressed = a.compress;
    options.parallel_connections = (guint)a.parallel;
    if (a.control_stdin) {
        reader.control = control = ferry_monitor_control_new();
        options.control = control;
        reader_thread = g_thread_new("ferry-control", control_thread, &reader);
    }

    result = ferry_migrate(inventory, &options, error);
    if (reader_thread) {
        g_atomic_int_set(&reader.stop, 1);
        g_thread_join(reader_thread);
    }
    if (samples)
        fclose(samples);
    if (!result) {
        ferry_progress_error(progress, *error);
        return FALSE;
    }
    ferry_progress_result(progress, result);
    /* the definitions cache follows the guest (for `ferry rescue`); never fails the move */
    if (!ferry_definitions_record_move(inventory, result->uuid, result->src_host, result->dst_host,
                                       &cache_error))
        ferry_cli_error("warning: the definitions cache was not updated: %s", cache_error->message);
    return TRUE;
}
