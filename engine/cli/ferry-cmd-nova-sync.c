/*
 * ferry-cmd-nova-sync.c: `ferry nova-sync`, tell Nova about a guest moved earlier.
 *
 *   ferry nova-sync UUID --to HOST [--from HOST] [--power-state running] [--dry-run]
 *   ferry nova-sync --undo ID
 *   ferry nova-sync --pending          replay syncs queued while the database was down
 *   ferry nova-sync --list-pending
 */
#include <glib.h>

#include "engine/cli/ferry-cmd-nova-sync.h"
#include "engine/ferry-inventory.h"
#include "engine/nova/ferry-nova.h"

#define EXIT_USAGE 2
#define EXIT_QUEUED 75

static char *opt_to;
static char *opt_from;
static char *opt_power = NULL;
static char *opt_type = NULL;
static char *opt_undo;
static gboolean opt_dry_run;
static gboolean opt_pending;
static gboolean opt_list_pending;

static const GOptionEntry entries[] = {
    {"to", 't', 0, G_OPTION_ARG_STRING, &opt_to,
     "Host the guest runs on now (inventory name or Nova service host)", "HOST"},
    {"from", 'f', 0, G_OPTION_ARG_STRING, &opt_from,
     "Host Nova must still record (default: whatever it records)", "HOST"},
    {"power-state", 0, 0, G_OPTION_ARG_STRING, &opt_power,
     "Guest power state on the destination: running, paused, shutdown, crashed, suspended "
     "(default running)",
     "STATE"},
    {"type", 0, 0, G_OPTION_ARG_STRING, &opt_type,
     "Migration type to record: live-migration (default) or migration", "TYPE"},
    {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &opt_dry_run,
     "Print every statement with its values; change nothing", NULL},
    {"undo", 0, 0, G_OPTION_ARG_STRING, &opt_undo, "Restore the rows saved before sync ID", "ID"},
    {"pending", 0, 0, G_OPTION_ARG_NONE, &opt_pending,
     "Replay syncs queued while the database was unreachable", NULL},
    {"list-pending", 0, 0, G_OPTION_ARG_NONE, &opt_list_pending, "List queued syncs", NULL},
    {NULL},
};

static void
reset_options(void)
{
    g_clear_pointer(&opt_to, g_free);
    g_clear_pointer(&opt_from, g_free);
    g_clear_pointer(&opt_power, g_free);
    g_clear_pointer(&opt_type, g_free);
    g_clear_pointer(&opt_undo, g_free);
    opt_dry_run = opt_pending = opt_list_pending = FALSE;
}

static int
usage_error(GOptionContext *ctx, const char *message)
{
    g_printerr("ferry nova-sync: %s\n", message);
    g_printerr("Try 'ferry nova-sync --help'.\n");
    return EXIT_USAGE;
}

static int
run_sync(FerryNovaConfig *config, GKeyFile *inventory, const char *uuid)
{
    g_autofree char *dst = ferry_nova_config_service_host(inventory, opt_to);
    g_autofree char *src = opt_from ? ferry_nova_config_service_host(inventory, opt_from) : NULL;
    g_autoptr(FerryNovaResult) result = NULL;
    g_autoptr(GError) error = NULL;
    int power = ferry_nova_power_state_from_name(opt_power ? opt_power : "running");

    if (power < 0) {
        g_printerr("ferry nova-sync: unknown power state '%s'\n", opt_power);
        return EXIT_USAGE;
    }
    result = ferry_nova_sync_oneshot(config, uuid, src, dst, power, opt_type,
                                     opt_dry_run ? FERRY_NOVA_SYNC_DRY_RUN : 0, &error);
    if (!result) {
        g_printerr("ferry nova-sync: %s\n", error->message);
        return g_error_matches(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_QUEUED) ? EXIT_QUEUED : 1;
    }
    if (opt_dry_run) {
        for (guint i = 0; i < result->statements->len; i++) {
            const char *s = g_ptr_array_index(result->statements, i);

            g_print("%s%s\n", s, g_str_has_prefix(s, "--") ? "" : ";");
        }
        g_print("-- dry run: nothing was written\n");
        return 0;
    }
    g_print("instance %s now on '%s' in Nova (migration %s); undo with: "
            "ferry nova-sync --undo %s\n",
            uuid, dst, result->migration_uuid, result->journal_id);
    return 0;
}

static int
run_pending(FerryNovaConfig *config)
{
    g_autoptr(FerryNovaReplay) replay = NULL;
    g_autoptr(GError) error = NULL;

    replay = ferry_nova_replay_pending(config, &error);
    if (!replay) {
        g_printerr("ferry nova-sync: %s\n", error->message);
        return 1;
    }
    g_print("replayed %u, already applied %u, still queued %u, set aside %u\n", replay->replayed,
            replay->already, replay->remaining, replay->failed->len);
    for (guint i = 0; i < replay->failed->len; i++)
        g_printerr("ferry nova-sync: set aside %s\n",
                   (const char *)g_ptr_array_index(replay->failed, i));
    if (replay->failed->len > 0)
        return 1;
    return replay->remaining > 0 ? EXIT_QUEUED : 0;
}

int
ferry_cmd_nova_sync(int argc, char **argv, const char *config_path)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("[UUID] - tell Nova where a guest runs");
    g_autoptr(GKeyFile) inventory = g_key_file_new();
    g_autoptr(FerryNovaConfig) config = NULL;
    g_autoptr(GError) error = NULL;
    int modes;
    int rc;

    reset_options();
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Needs a [nova] section in the inventory (host, port or socket, user, "
             "password_file or password_env, databases, journal_dir).");
    if (!g_option_context_parse(ctx, &argc, &argv, &error))
        return usage_error(ctx, error->message);

    /* One mode at a time, checked before anything is opened. */
    modes = (argc > 1) + (opt_undo != NULL) + opt_pending + opt_list_pending;
    if (modes != 1 || argc > 2) {
        rc = usage_error(ctx, "give exactly one of: UUID --to HOST, --undo ID, --pending, "
                              "--list-pending");
        goto out;
    }
    if (argc > 1 && !opt_to) {
        rc = usage_error(ctx, "UUID needs --to HOST");
        goto out;
    }
    if (argc == 1 && (opt_to || opt_from || opt_power || opt_type || opt_dry_run)) {
        rc = usage_error(ctx, "--to, --from, --power-state, --type and --dry-run go with UUID");
        goto out;
    }
    /* --config, else $FERRY_CONFIG, else the default: as every other command. */
    config_path = ferry_inventory_resolve_path(config_path);
    if (!g_key_file_load_from_file(inventory, config_path, G_KEY_FILE_NONE, &error)) {
        g_printerr("ferry nova-sync: cannot read inventory '%s': %s\n", config_path,
                   error->message);
        rc = 1;
        goto out;
    }
    config = ferry_nova_config_load(inventory, config_path, &error);
    if (!config) {
        if (error)
            g_printerr("ferry nova-sync: %s\n", error->message);
        else
            g_printerr("ferry nova-sync: inventory '%s' has no [nova] section\n", config_path);
        rc = 1;
        goto out;
    }

    if (argc > 1) {
        rc = run_sync(config, inventory, argv[1]);
    } else if (opt_undo) {
        if (ferry_nova_undo(config, opt_undo, &error)) {
            g_print("Nova sync %s undone\n", opt_undo);
            rc = 0;
        } else {
            g_printerr("ferry nova-sync: %s\n", error->message);
            rc = 1;
        }
    } else if (opt_pending) {
        rc = run_pending(config);
    } else {
        g_autoptr(GPtrArray) ids = ferry_nova_list_pending(config, &error);

        rc = ids ? 0 : 1;
        if (!ids)
            g_printerr("ferry nova-sync: %s\n", error->message);
        for (guint i = 0; ids && i < ids->len; i++)
            g_print("%s\n", (const char *)g_ptr_array_index(ids, i));
    }
out:
    reset_options();
    return rc;
}
