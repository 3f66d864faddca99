/*
 * ferry-cmd-migrate.c: `ferry migrate DOMAIN --to HOST`: options, then the engine's
 * ferry_migrate() with ferry-cli-progress.c showing what it does.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/cli/ferry-cli-json.h"
#include <json-glib/json-glib.h>

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

/* ---- --dry-run ----------------------------------------------------------------------------- */

static void
print_dry_run(const FerryMigrateResult *r, gboolean json)
{
    if (json) {
        g_autoptr(FerryJson) j = ferry_json_new_event("result");
        GVariant *disks = ferry_disk_plan_to_variant(r->disk_plan);
        g_autoptr(JsonNode) disks_node = json_gvariant_serialize(disks);
        g_autofree char *disks_text = json_to_string(disks_node, FALSE);

        ferry_json_string(j, "command", "migrate");
        ferry_json_bool(j, "ok", TRUE);
        ferry_json_bool(j, "dry_run", TRUE);
        ferry_json_string(j, "domain", r->domain);
        ferry_json_string(j, "source", r->src_host);
        ferry_json_string(j, "destination", r->dst_host);
        ferry_json_string(j, "mode", ferry_migrate_mode_to_string(r->mode));
        ferry_json_raw(j, "disks", disks_text);
        ferry_json_print(g_steal_pointer(&j));
        return;
    }
    {
        g_autofree char *plan = ferry_disk_plan_format(r->disk_plan);

        printf("dry run: '%s' can move from %s to %s, mode %s; every check passed, nothing was "
               "changed\n",
               r->domain, r->src_host, r->dst_host, ferry_migrate_mode_to_string(r->mode));
        printf("Disk plan %s -> %s:\n%s\n", r->src_host, r->dst_host, plan);
        printf("(the destination XML: ferry xml %s --to %s --xml-only)\n", r->domain, r->dst_host);
    }
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
    gboolean dry_run;
    char *xml_file;
    gint64 diverge_passes;
    gboolean tls;
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
    g_free(a->xml_file);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(FerryMigrateArgs, migrate_args_clear)

#define MAX_DOWNTIME_UNSET G_MININT64 /* --max-downtime not given: the policy's default */
#define DIVERGE_PASSES_UNSET G_MININT64 /* --diverge-passes not given: likewise */

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
    if (a->diverge_passes != DIVERGE_PASSES_UNSET) {
        if (a->diverge_passes < 0 || a->diverge_passes > 1000) {
            ferry_cli_usage_error(error, "--diverge-passes takes 0 (off) to 1000 passes, not %"
                                         G_GINT64_FORMAT, a->diverge_passes);
            return FALSE;
        }
        policy->diverge_passes = (guint)a->diverge_passes;
    }
    policy->completion_timeout_s = a->timeout;
    if (a->max_downtime != MAX_DOWNTIME_UNSET)
        policy->max_downtime_ms = (guint)a->max_downtime;
    return TRUE;
}

/* --json and the command stopped before the engine ran (options, inventory): the error as the
 * result line, as every --json failure ends. */
static void
print_json_refusal(const GError *error, const char *domain, const char *to)
{
    g_autoptr(FerryJson) j = ferry_json_new_event("result");

    ferry_json_string(j, "command", "migrate");
    ferry_json_bool(j, "ok", FALSE);
    ferry_json_error(j, "error", error);
    ferry_json_bool(j, "refused", TRUE);
    ferry_json_string(j, "domain", domain);
    ferry_json_null(j, "source");
    ferry_json_string(j, "destination", to);
    ferry_json_begin_object(j, "files");
    ferry_json_begin_array(j, "created");
    ferry_json_end_array(j);
    ferry_json_begin_array(j, "removed");
    ferry_json_end_array(j);
    ferry_json_begin_array(j, "kept");
    ferry_json_end_array(j);
    ferry_json_end_object(j);
    ferry_json_print(g_steal_pointer(&j));
}

static gboolean migrate_run(FerryCli *cli, int argc, char **argv, gboolean *engine_ran,
                            GError **error);

gboolean
ferry_cmd_migrate(FerryCli *cli, int argc, char **argv, GError **error)
{
    gboolean json = FALSE, engine_ran = FALSE;
    const char *domain = NULL, *to = NULL;

    for (int i = 1; i < argc && !g_str_equal(argv[i], "--"); i++) {
        json = json || g_str_equal(argv[i], "--json");
        if (g_str_equal(argv[i], "--to") && i + 1 < argc)
            to = argv[i + 1];
        else if (g_str_has_prefix(argv[i], "--to="))
            to = argv[i] + strlen("--to=");
        else if (argv[i][0] != '-' && !domain && !(i > 1 && argv[i - 1][0] == '-' &&
                                                   !strchr(argv[i - 1], '=')))
            domain = argv[i];
    }
    if (migrate_run(cli, argc, argv, &engine_ran, error))
        return TRUE;
    if (json && !engine_ran)
        print_json_refusal(*error, domain, to);
    return FALSE;
}

static gboolean
migrate_run(FerryCli *cli, int argc, char **argv, gboolean *engine_ran, GError **error)
{
    g_auto(FerryMigrateArgs) a = {.max_downtime = MAX_DOWNTIME_UNSET,
                                  .diverge_passes = DIVERGE_PASSES_UNSET};
    const GOptionEntry entries[] = {
        {"to", 0, 0, G_OPTION_ARG_STRING, &a.to, "Destination host (inventory name)", "HOST"},
        {"from", 0, 0, G_OPTION_ARG_STRING, &a.from, "Source host (default: found by looking)",
         "HOST"},
        {"mode", 0, 0, G_OPTION_ARG_STRING, &a.mode,
         "auto (default: cold for a shut-off guest, else block if a disk is local, else "
         "shared), shared, block, block-full or cold",
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
        {"diverge-passes", 0, 0, G_OPTION_ARG_INT64, &a.diverge_passes,
         "Act early (post-copy if allowed, else the --on-timeout action) once this many passes "
         "in a row predict the job cannot converge before the timeout (default 3; 0: off)",
         "N"},
        {"max-downtime", 0, 0, G_OPTION_ARG_INT64, &a.max_downtime,
         "Allowed downtime, reached in steps (default 500; 0: leave libvirt's)", "MS"},
        {"auto-converge", 0, 0, G_OPTION_ARG_NONE, &a.auto_converge,
         "Let QEMU throttle the guest's CPUs while it does not converge", NULL},
        {"compress", 0, 0, G_OPTION_ARG_NONE, &a.compress, "Compress the memory pages", NULL},
        {"parallel", 0, 0, G_OPTION_ARG_INT64, &a.parallel,
         "Migrate memory over N parallel connections", "N"},
        {"tls", 0, 0, G_OPTION_ARG_NONE, &a.tls,
         "Encrypt the memory and disk streams (QEMU's TLS; both hosts need certificates)",
         NULL},
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
        {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &a.dry_run,
         "Run every check on both hosts and print the plan; change nothing", NULL},
        {"xml", 0, 0, G_OPTION_ARG_FILENAME, &a.xml_file,
         "The destination XML to use instead of ferry's (e.g. 'ferry xml --xml-only' edited): "
         "same name and UUID; copied disks go to the paths it names",
         "FILE"},
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
    g_autofree char *log_path = NULL;
    g_autofree char *dest_xml = NULL;

    g_option_context_set_summary(
        context,
        "Moves a guest to another host, in one of these modes:\n"
        "  block       running guest, live; its local disks streamed by libvirt (the top "
        "image;\n              block-full: the whole disk)\n"
        "  shared      running guest, live; its disks on storage both hosts see, not copied\n"
        "  cold        shut-off guest: ferry copies its local disks (sha256-checked), then "
        "moves\n              the definition (defined on the destination, undefined on the "
        "source)\n"
        "--mode auto (the default) picks cold for a shut-off guest, else block when a disk is "
        "local,\nelse shared.  A live migration that does not converge within the timeout is "
        "suspended\n(or switched to post-copy, or aborted) so that it finishes.  Every "
        "destination check\nruns before anything moves; a failure leaves the guest running on "
        "its source.");
    g_option_context_set_description(context, "Exit status: 0 moved; 1 failed (the message says "
                                              "where the guest is); 2 refused before anything "
                                              "changed; 75 moved, Nova sync queued.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!ferry_cli_parse(context, &argc, &argv, entries, error))
        return FALSE;
    if (argc != 2) {
        ferry_cli_usage_error(error, "migrate takes exactly one DOMAIN (see --help)");
        /* migrate ga-local hostB: the second word names a host */
        if (argc == 3 && !a.to && ferry_cli_inventory(cli, NULL) &&
            ferry_inventory_get_host(cli->inventory, argv[2], NULL)) {
            char *message = g_strdup_printf("%s (did you mean '--to %s'?)", (*error)->message,
                                            argv[2]);

            g_free((*error)->message);
            (*error)->message = message;
        }
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
    if (!ferry_inventory_get_host(inventory, a.to, error)) {
        ferry_cli_suggest_host(cli, *error, a.to);
        return FALSE;
    }
    if (a.from && !ferry_inventory_get_host(inventory, a.from, error)) {
        ferry_cli_suggest_host(cli, *error, a.from);
        return FALSE;
    }
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

    if (a.xml_file) {
        g_autoptr(GError) local = NULL;

        if (!g_file_get_contents(a.xml_file, &dest_xml, NULL, &local)) {
            ferry_cli_usage_error(error, "--xml: %s", local->message);
            return FALSE;
        }
        options.dest_xml = dest_xml;
        options.dest_xml_origin = a.xml_file;
    }
    cancellable = ferry_cli_signal_cancellable();
    /* what ferry says from here on also goes to the operation's log file: a lost terminal
     * (SIGHUP) or a closed stdout stops nothing, and the rest is read there (a dry run changes
     * nothing, and has none) */
    if (!a.dry_run) {
        if (!(log_path = ferry_cli_log_start(cli, "migrate", error)))
            return FALSE;
        ferry_cli_error("log: %s", log_path);
    }
    options.dry_run = a.dry_run;
    progress = ferry_progress_new(a.json, a.quiet, samples, argv[1], a.to);
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
    options.log_path = log_path;
    options.policy = &policy;
    options.postcopy = a.postcopy;
    options.auto_converge = a.auto_converge;
    options.compressed = a.compress;
    options.parallel_connections = (guint)a.parallel;
    options.tls = a.tls;
    if (a.control_stdin) {
        reader.control = control = ferry_monitor_control_new();
        options.control = control;
        reader_thread = g_thread_new("ferry-control", control_thread, &reader);
    }

    *engine_ran = TRUE;
    result = ferry_migrate(inventory, &options, error);
    if (reader_thread) {
        g_atomic_int_set(&reader.stop, 1);
        g_thread_join(reader_thread);
    }
    if (samples)
        fclose(samples);
    if (!result) {
        ferry_cli_suggest_domain(cli, *error, argv[1]);
        /* the same status for the same outcome: whatever stopped it in the precheck, nothing
         * had changed */
        if (ferry_progress_refused(progress))
            cli->status = FERRY_EXIT_USAGE;
        ferry_progress_error(progress, *error);
        return FALSE;
    }
    if (result->dry_run) {
        print_dry_run(result, a.json);
        return TRUE;
    }
    ferry_progress_result(progress, result);
    if (result->nova_queued)
        cli->status = FERRY_EXIT_QUEUED;
    /* the definitions cache follows the guest (for `ferry rescue`); never fails the move */
    if (!ferry_definitions_record_move(inventory, result->uuid, result->src_host, result->dst_host,
                                       &cache_error))
        ferry_cli_error("warning: the definitions cache was not updated: %s", cache_error->message);
    return TRUE;
}
