/*
 * ferry-cmd-bench.c: `ferry bench --from A --to B ...`: options, then the engine's
 * ferry_bench_run() (engine/ferry-bench.c), a progress line while it runs, and the results: a
 * table on stdout, CSV, JSON and a PNG drawn by gnuplot in --out DIR.
 */
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "engine/cli/ferry-cli.h"
#include "engine/ferry-bench.h"
#include "engine/ferry-inventory.h"
#include "engine/ferry-virt-util.h"

typedef struct {
    char *from;
    char *to;
    char *modes;
    char **guests;
    gint64 ram_mib;
    char *disk_data;
    char *virt_type;
    char *workload_kernel;
    char *workload_args;
    gint64 reps;
    double link_mbit;
    gboolean no_virsh;
    double timeout;
    gboolean tls;
    char *out;
    char *virsh;
} FerryBenchArgs;

static void
bench_args_clear(FerryBenchArgs *a)
{
    g_free(a->from);
    g_free(a->to);
    g_free(a->modes);
    g_strfreev(a->guests);
    g_free(a->disk_data);
    g_free(a->virt_type);
    g_free(a->workload_kernel);
    g_free(a->workload_args);
    g_free(a->out);
    g_free(a->virsh);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(FerryBenchArgs, bench_args_clear)

typedef struct {
    gboolean tty;
} FerryBenchProgress;

static void
on_progress(guint index, guint total, double eta_s, const char *what, gpointer user_data)
{
    FerryBenchProgress *p = user_data;
    g_autofree char *eta = eta_s < 0
                               ? g_strdup("ETA --")
                               : g_strdup_printf("ETA %dm%02ds", (int)eta_s / 60, (int)eta_s % 60);

    fprintf(stderr, "%srun %u of %u, %s: %s%s", p->tty ? "\r\033[K" : "", index, total, eta, what,
            p->tty ? "" : "\n");
    fflush(stderr);
}

static gboolean
parse_modes(const char *text, GArray *modes, GError **error)
{
    g_auto(GStrv) names = g_strsplit(text, ",", -1);

    for (guint i = 0; names[i]; i++) {
        FerryMigrateMode mode;

        if (!ferry_migrate_mode_from_string(g_strstrip(names[i]), &mode, error)) {
            ferry_error_recode(error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_USAGE);
            g_prefix_error(error, "--modes: ");
            return FALSE;
        }
        g_array_append_val(modes, mode);
    }
    return TRUE;
}

static gboolean
parse_sizes(const char *text, GArray *sizes, GError **error)
{
    g_auto(GStrv) words = g_strsplit(text, ",", -1);

    for (guint i = 0; words[i]; i++) {
        guint64 mib;

        if (!g_ascii_string_to_unsigned(g_strstrip(words[i]), 10, 1, 1024 * 1024, &mib, NULL)) {
            ferry_cli_usage_error(error,
                                  "--disk-data takes MiB from 1 to 1048576 separated by "
                                  "commas, not '%s'",
                                  words[i]);
            return FALSE;
        }
        g_array_append_val(sizes, mib);
    }
    return TRUE;
}

static char *
stat_text(const FerryBenchStat *s, int digits)
{
    g_autofree char *med = g_strdup_printf("%.*f", digits, s->median);
    g_autofree char *min = g_strdup_printf("%.*f", digits, s->min);
    g_autofree char *max = g_strdup_printf("%.*f", digits, s->max);

    if (!s->n)
        return g_strdup("-");
    if (s->n == 1)
        return g_steal_pointer(&med);
    return g_strdup_printf("%s (%s-%s)", med, min, max);
}

static void
print_table(const FerryBenchReport *report)
{
    printf("%-5s %-10s %-20s %-20s %-20s %-17s %-17s %-19s %-9s %-17s %s\n", "tool", "mode",
           "guest", "total s", "job s", "ferry own s", "downtime ms", "paused s", "MiB", "link use",
           "ferry/virsh total");
    for (guint i = 0; i < report->cells->len; i++) {
        const FerryBenchCell *c = g_ptr_array_index(report->cells, i);
        g_autofree char *wall = stat_text(&c->wall_s, 2);
        g_autofree char *job = stat_text(&c->job_s, 2);
        g_autofree char *own =
            c->tool == FERRY_BENCH_TOOL_FERRY ? stat_text(&c->own_s, 2) : g_strdup("-");
        g_autofree char *down = stat_text(&c->downtime_ms, 0);
        g_autofree char *paused = stat_text(&c->paused_s, 2);
        g_autofree char *mib = g_strdup_printf("%.1f", c->bytes.median / (1024.0 * 1024));
        g_autofree char *use = report->link_mbit > 0 ? stat_text(&c->link_use, 2) : g_strdup("-");
        g_autofree char *ratio = c->ratio_wall.n ? stat_text(&c->ratio_wall, 2) : g_strdup("-");

        printf("%-5s %-10s %-20s %-20s %-20s %-17s %-17s %-19s %-9s %-17s %s\n",
               ferry_bench_tool_to_string(c->tool), ferry_migrate_mode_to_string(c->mode), c->guest,
               wall, job, own, down, paused, mib, use, ratio);
    }
    for (guint i = 0; i < report->marginals->len; i++) {
        const FerryBenchMarginal *m = &g_array_index(report->marginals, FerryBenchMarginal, i);

        printf("%s %s: marginal %.1f MiB in %.2f s", ferry_bench_tool_to_string(m->tool),
               ferry_migrate_mode_to_string(m->mode), m->delta_bytes / (1024.0 * 1024),
               m->delta_wall_s);
        if (report->link_mbit > 0)
            printf(", link use of the marginal bytes %.2f", m->marginal_link_use);
        printf(", fixed cost per migration %.2f s\n", m->fixed_s);
    }
}

gboolean
ferry_cmd_bench(FerryCli *cli, int argc, char **argv, GError **error)
{
    g_auto(FerryBenchArgs) a = {.ram_mib = 64, .reps = 3};
    const GOptionEntry entries[] = {
        {"from", 0, 0, G_OPTION_ARG_STRING, &a.from, "First host: guests start here", "HOST"},
        {"to", 0, 0, G_OPTION_ARG_STRING, &a.to, "Second host", "HOST"},
        {"modes", 0, 0, G_OPTION_ARG_STRING, &a.modes,
         "Modes, comma-separated: shared, block, block-full (default block)", "LIST"},
        {"guest", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a.guests,
         "A guest running on --from (repeatable); without it bench makes test guests", "NAME"},
        {"ram", 0, 0, G_OPTION_ARG_INT64, &a.ram_mib, "Test guests' RAM (default 64)", "MIB"},
        {"disk-data", 0, 0, G_OPTION_ARG_STRING, &a.disk_data,
         "Test guests' disk data written, one guest per size (default 16,48)", "MIB,MIB"},
        {"virt-type", 0, 0, G_OPTION_ARG_STRING, &a.virt_type,
         "Test guests' domain type: kvm (default) or qemu (TCG)", "TYPE"},
        {"workload-kernel", 0, 0, G_OPTION_ARG_FILENAME, &a.workload_kernel,
         "Test guests boot this kernel, a dirtying workload (the path on the hosts)", "PATH"},
        {"workload-args", 0, 0, G_OPTION_ARG_STRING, &a.workload_args, "Its command line", "ARGS"},
        {"reps", 0, 0, G_OPTION_ARG_INT64, &a.reps, "Repetitions (default 3)", "N"},
        {"link-mbit", 0, 0, G_OPTION_ARG_DOUBLE, &a.link_mbit,
         "The link's rate, for link use (bytes / (time x rate))", "MBIT"},
        {"no-virsh", 0, 0, G_OPTION_ARG_NONE, &a.no_virsh,
         "Do not interleave plain 'virsh migrate' runs", NULL},
        {"timeout", 0, 0, G_OPTION_ARG_DOUBLE, &a.timeout,
         "Suspend at this timeout: ferry --on-timeout suspend, virsh --timeout-suspend", "SECONDS"},
        {"tls", 0, 0, G_OPTION_ARG_NONE, &a.tls, "Encrypted migration, both tools", NULL},
        {"out", 0, 0, G_OPTION_ARG_FILENAME, &a.out,
         "Write bench.csv, bench.json and bench.png here (default: .)", "DIR"},
        {"virsh", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &a.virsh, "virsh binary", "PATH"},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("--from HOST --to HOST");
    g_autoptr(GArray) modes = g_array_new(FALSE, FALSE, sizeof(FerryMigrateMode));
    g_autoptr(GArray) sizes = g_array_new(FALSE, FALSE, sizeof(guint64));
    g_autoptr(FerryBenchReport) report = NULL;
    g_autoptr(GCancellable) cancellable = NULL;
    g_autofree char *self = NULL;
    g_autofree char *prefix = NULL;
    g_autofree char *csv = NULL;
    g_autofree char *json = NULL;
    FerryBenchProgress progress = {.tty = ferry_cli_stderr_is_tty()};
    FerryBenchOptions o = {0};
    FerryInventory *inventory;

    g_option_context_set_summary(
        context, "Migrates guests back and forth between two hosts, each run by ferry and, "
                 "interleaved, by plain 'virsh migrate' with the same flags, and reports time, "
                 "downtime, paused time, bytes, link use and each tool's own cost.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!ferry_cli_parse(context, &argc, &argv, entries, error))
        return FALSE;
    if (argc != 1) {
        ferry_cli_usage_error(error, "bench takes no arguments (see --help)");
        return FALSE;
    }
    if (!a.from || !a.to || g_str_equal(a.from, a.to)) {
        ferry_cli_usage_error(error, "bench needs two different hosts: --from HOST --to HOST");
        return FALSE;
    }
    if (!parse_modes(a.modes ? a.modes : "block", modes, error) ||
        !parse_sizes(a.disk_data ? a.disk_data : "16,48", sizes, error))
        return FALSE;
    if (a.reps < 1 || a.reps > 1000) {
        ferry_cli_usage_error(error, "--reps takes 1 to 1000, not %" G_GINT64_FORMAT, a.reps);
        return FALSE;
    }
    if (a.ram_mib < 16 || a.ram_mib > 1024 * 1024) {
        ferry_cli_usage_error(error, "--ram takes MiB from 16, not %" G_GINT64_FORMAT, a.ram_mib);
        return FALSE;
    }
    if (!isfinite(a.link_mbit) || a.link_mbit < 0 || !isfinite(a.timeout) || a.timeout < 0) {
        ferry_cli_usage_error(error, "--link-mbit and --timeout take positive numbers");
        return FALSE;
    }
    if (a.virt_type && !g_str_equal(a.virt_type, "kvm") && !g_str_equal(a.virt_type, "qemu")) {
        ferry_cli_usage_error(error, "--virt-type is kvm or qemu, not '%s'", a.virt_type);
        return FALSE;
    }
    if (a.guests && (a.disk_data || a.workload_kernel)) {
        ferry_cli_usage_error(error, "--disk-data and --workload-kernel are for test guests, "
                                     "not with --guest");
        return FALSE;
    }
    if (!g_file_test(a.out ? a.out : ".", G_FILE_TEST_IS_DIR)) {
        ferry_cli_usage_error(error, "--out: '%s' is not a directory", a.out);
        return FALSE;
    }
    if (!(self = g_file_read_link("/proc/self/exe", error)))
        return FALSE;
    if (!(inventory = ferry_cli_inventory(cli, error)))
        return FALSE;

    cancellable = ferry_cli_signal_cancellable();
    o.host_a = a.from;
    o.host_b = a.to;
    o.modes = (const FerryMigrateMode *)modes->data;
    o.n_modes = modes->len;
    o.guests = (const char *const *)a.guests;
    o.ram_mib = (guint64)a.ram_mib;
    o.disk_data_mib = (const guint64 *)sizes->data;
    o.n_sizes = sizes->len;
    o.virt_type = a.virt_type ? a.virt_type : "kvm";
    o.workload_kernel = a.workload_kernel;
    o.workload_args = a.workload_args;
    o.reps = (guint)a.reps;
    o.link_mbit = a.link_mbit;
    o.with_virsh = !a.no_virsh;
    o.timeout_s = a.timeout;
    o.tls = a.tls;
    o.ferry_path = self;
    o.virsh_path = a.virsh;
    o.progress_func = on_progress;
    o.progress_data = &progress;
    o.cancellable = cancellable;

    report = ferry_bench_run(inventory, &o, error);
    if (progress.tty)
        fprintf(stderr, "\n");
    if (!report) {
        if (g_error_matches(*error, FERRY_BENCH_ERROR, FERRY_BENCH_ERROR_INVALID))
            ferry_error_recode(error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_USAGE);
        return FALSE;
    }
    prefix = g_build_filename(a.out ? a.out : ".", "bench", NULL);
    csv = g_strdup_printf("%s.csv", prefix);
    json = g_strdup_printf("%s.json", prefix);
    print_table(report);
    if (!ferry_bench_write_csv(report, csv, error) ||
        !ferry_bench_write_json(report, json, error) ||
        !ferry_bench_write_plot(report, prefix, error))
        return FALSE;
    printf("wrote %s, %s and %s.png (%u runs in %.0f s)\n", csv, json, prefix, report->runs->len,
           report->elapsed_s);
    return TRUE;
}
