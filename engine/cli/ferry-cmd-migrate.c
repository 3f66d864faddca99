/*
 * ferry-cmd-migrate.c: `ferry migrate DOMAIN --to HOST`.
 */
#include <stdio.h>

#include "engine/cli/ferry-cli.h"
#include "engine/ferry-inventory.h"
#include "engine/ferry-migrate.h"

typedef struct {
    gboolean tty;
    gboolean quiet;
    double last_line;   /* elapsed time of the last plain progress line */
    gboolean line_open; /* a \r progress line is on the terminal */
} FerryProgress;

static void
progress_close_line(FerryProgress *p)
{
    if (p->line_open) {
        fputc('\n', stderr);
        p->line_open = FALSE;
    }
}

static void
print_sample(FerryProgress *p, const FerryJobSample *s)
{
    g_autofree char *mem_done = ferry_cli_format_bytes(s->mem_processed);
    g_autofree char *mem_total = ferry_cli_format_bytes(s->mem_total);
    g_autofree char *disk_done = ferry_cli_format_bytes(s->disk_processed);
    g_autofree char *disk_total = ferry_cli_format_bytes(s->disk_total);
    g_autofree char *rate = ferry_cli_format_bytes(s->mem_bps + s->disk_bps);
    g_autofree char *line = NULL;

    line = g_strdup_printf("[%6.1fs] disk %s / %s  memory %s / %s  %s/s  iteration %" G_GUINT64_FORMAT
                           "%s",
                           s->elapsed_s, disk_done, disk_total, mem_done, mem_total, rate,
                           s->mem_iteration, s->paused ? "  (paused)" : "");
    if (p->tty) {
        fprintf(stderr, "\r\033[K%s", line);
        p->line_open = TRUE;
    } else if (s->elapsed_s - p->last_line >= 2.0 || p->last_line == 0) {
        fprintf(stderr, "%s\n", line);
        p->last_line = s->elapsed_s;
    }
}

static void
on_event(const FerryMigrateEvent *ev, gpointer user_data)
{
    FerryProgress *p = user_data;

    if (p->quiet)
        return;
    switch (ev->kind) {
    case FERRY_EVENT_PHASE:
        progress_close_line(p);
        fprintf(stderr, "== %s\n", ev->message);
        break;
    case FERRY_EVENT_INFO:
        progress_close_line(p);
        fprintf(stderr, "   %s\n", ev->message);
        break;
    case FERRY_EVENT_SAMPLE:
        print_sample(p, ev->sample);
        break;
    }
}

static void
print_summary(const FerryMigrateResult *r)
{
    g_autofree char *mem = ferry_cli_format_bytes(r->mem_bytes);
    g_autofree char *disk = ferry_cli_format_bytes(r->disk_bytes);

    printf("migrated '%s' from %s to %s\n", r->domain, r->src_host, r->dst_host);
    printf("  mode:       %s (%s)\n", ferry_migrate_mode_to_string(r->mode),
           r->p2p ? "peer-to-peer" : "managed by ferry");
    printf("  total time: %.2f s (migration job %.2f s)\n", r->total_s, r->migration_s);
    printf("  memory:     %s\n", mem);
    printf("  disk:       %s\n", disk);
    printf("  downtime:   %" G_GUINT64_FORMAT " ms\n", r->downtime_ms);
    printf("  state:      %s on %s\n", r->dst_state, r->dst_host);
    if (r->nova_status)
        printf("  nova:       %s\n", r->nova_status);
}

int
ferry_cmd_migrate(int argc, char **argv, const FerryGlobals *globals)
{
    g_autofree char *to = NULL;
    g_autofree char *from = NULL;
    g_autofree char *mode_name = NULL;
    gint64 bandwidth = 0;
    gboolean no_p2p = FALSE, keep = FALSE, quiet = FALSE, no_nova = FALSE;
    const GOptionEntry entries[] = {
        {"to", 0, 0, G_OPTION_ARG_STRING, &to, "Destination host (inventory name)", "HOST"},
        {"from", 0, 0, G_OPTION_ARG_STRING, &from, "Source host (default: found by looking)",
         "HOST"},
        {"mode", 0, 0, G_OPTION_ARG_STRING, &mode_name,
         "auto (default), shared, block or block-full", "MODE"},
        {"no-p2p", 0, 0, G_OPTION_ARG_NONE, &no_p2p,
         "ferry holds both connections (for when the source cannot reach the destination's "
         "libvirtd)",
         NULL},
        {"bandwidth", 0, 0, G_OPTION_ARG_INT64, &bandwidth, "Bandwidth limit in MiB/s", "MIB"},
        {"keep-source-disks", 0, 0, G_OPTION_ARG_NONE, &keep,
         "After block migration, keep the source's copies of the streamed disks", NULL},
        {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print only the summary", NULL},
        {"no-nova", 0, 0, G_OPTION_ARG_NONE, &no_nova,
         "Do not tell Nova, even when the inventory has a [nova] section", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("DOMAIN --to HOST");
    g_autoptr(GError) error = NULL;
    g_autoptr(FerryInventory) inventory = NULL;
    g_autoptr(FerryMigrateResult) result = NULL;
    g_autoptr(GCancellable) cancellable = NULL;
    FerryProgress progress = {.tty = ferry_cli_stderr_is_tty()};
    FerryMigrateOptions options = {0};

    g_option_context_set_summary(context,
                                 "Live-migrates a running guest.  Local disks are streamed "
                                 "(block migration), shared ones are not.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!ferry_cli_parse(context, &argc, &argv))
        return FERRY_EXIT_USAGE;
    if (argc != 2) {
        ferry_cli_error("migrate takes exactly one DOMAIN (see --help)");
        return FERRY_EXIT_USAGE;
    }
    if (!to) {
        ferry_cli_error("migrate needs --to HOST");
        return FERRY_EXIT_USAGE;
    }
    if (bandwidth < 0) {
        ferry_cli_error("--bandwidth must be a positive number of MiB/s");
        return FERRY_EXIT_USAGE;
    }
    options.mode = FERRY_MIGRATE_MODE_AUTO;
    if (mode_name && !ferry_migrate_mode_from_string(mode_name, &options.mode, &error)) {
        ferry_cli_error("%s", error->message);
        return FERRY_EXIT_USAGE;
    }
    inventory = ferry_inventory_load(globals->config_path, &error);
    if (!inventory) {
        ferry_cli_error("%s", error->message);
        return FERRY_EXIT_USAGE;
    }

    cancellable = ferry_cli_signal_cancellable();
    progress.quiet = quiet;
    options.domain = argv[1];
    options.src_host = from;
    options.dst_host = to;
    options.managed = no_p2p;
    options.bandwidth_mib = (guint64)bandwidth;
    options.keep_source_disks = keep;
    options.no_nova = no_nova;
    options.event_func = on_event;
    options.event_data = &progress;
    options.cancellable = cancellable;

    result = ferry_migrate(inventory, &options, &error);
    progress_close_line(&progress);
    if (!result) {
        ferry_cli_error("%s", error->message);
        if (g_error_matches(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_UNKNOWN_HOST) ||
            g_error_matches(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID) ||
            g_error_matches(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_NOT_FOUND))
            return FERRY_EXIT_USAGE;
        return FERRY_EXIT_FAILED;
    }
    print_summary(result);
    return FERRY_EXIT_OK;
}
