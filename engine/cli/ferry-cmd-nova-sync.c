/*
 * ferry-cmd-nova-sync.c: `ferry nova-sync`, tell Nova about a guest moved earlier.
 *
 *   ferry nova-sync UUID --to HOST [--from HOST] [--power-state running] [--dry-run]
 *   ferry nova-sync --undo ID
 *   ferry nova-sync --pending          replay syncs queued while the database was down
 *   ferry nova-sync --list-pending
 */
#include <glib.h>

#include "engine/cli/ferry-cli.h"
#include "engine/ferry-inventory.h"
#include "engine/nova/ferry-nova.h"

typedef struct {
    char *to;
    char *from;
    char *power;
    char *type;
    char *undo;
    gboolean dry_run;
    gboolean pending;
    gboolean list_pending;
} FerryNovaSyncArgs;

static void
nova_sync_args_clear(FerryNovaSyncArgs *a)
{
    g_free(a->to);
    g_free(a->from);
    g_free(a->power);
    g_free(a->type);
    g_free(a->undo);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(FerryNovaSyncArgs, nova_sync_args_clear)

static gboolean
run_sync(const FerryNovaSyncArgs *a, FerryNovaConfig *config, GKeyFile *inventory,
         const char *uuid, GError **error)
{
    g_autofree char *dst = ferry_nova_config_service_host(inventory, a->to);
    g_autofree char *src = a->from ? ferry_nova_config_service_host(inventory, a->from) : NULL;
    g_autoptr(FerryNovaResult) result = NULL;
    int power = ferry_nova_power_state_from_name(a->power ? a->power : "running");

    if (power < 0) {
        ferry_cli_usage_error(error, "unknown power state '%s'", a->power);
        return FALSE;
    }
    result = ferry_nova_sync_oneshot(config, uuid, src, dst, power, a->type,
                                     a->dry_run ? FERRY_NOVA_SYNC_DRY_RUN : 0, error);
    if (!result)
        return FALSE;
    if (a->dry_run) {
        for (guint i = 0; i < result->statements->len; i++) {
            const char *s = g_ptr_array_index(result->statements, i);

            g_print("%s%s\n", s, g_str_has_prefix(s, "--") ? "" : ";");
        }
        g_print("-- dry run: nothing was written\n");
        return TRUE;
    }
    g_print("instance %s now on '%s' in Nova (migration %s); undo with: "
            "ferry nova-sync --undo %s\n",
            uuid, dst, result->migration_uuid, result->journal_id);
    return TRUE;
}

static gboolean
run_pending(FerryNovaConfig *config, GError **error)
{
    g_autoptr(FerryNovaReplay) replay = ferry_nova_replay_pending(config, error);

    if (!replay)
        return FALSE;
    g_print("replayed %u, already applied %u, still queued %u, set aside %u\n", replay->replayed,
            replay->already, replay->remaining, replay->failed->len);
    for (guint i = 0; i < replay->failed->len; i++)
        ferry_cli_error("set aside %s", (const char *)g_ptr_array_index(replay->failed, i));
    if (replay->failed->len > 0) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_JOURNAL,
                    "%u queued syncs could not be replayed and were set aside",
                    replay->failed->len);
        return FALSE;
    }
    if (replay->remaining > 0) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_QUEUED,
                    "%u syncs are still queued (the database is not reachable)",
                    replay->remaining);
        return FALSE;
    }
    return TRUE;
}

gboolean
ferry_cmd_nova_sync(FerryCli *cli, int argc, char **argv, GError **error)
{
    g_auto(FerryNovaSyncArgs) a = {0};
    const GOptionEntry entries[] = {
        {"to", 't', 0, G_OPTION_ARG_STRING, &a.to,
         "Host the guest runs on now (inventory name or Nova service host)", "HOST"},
        {"from", 'f', 0, G_OPTION_ARG_STRING, &a.from,
         "Host Nova must still record (default: whatever it records)", "HOST"},
        {"power-state", 0, 0, G_OPTION_ARG_STRING, &a.power,
         "Guest power state on the destination: running, paused, shutdown, crashed, suspended "
         "(default running)",
         "STATE"},
        {"type", 0, 0, G_OPTION_ARG_STRING, &a.type,
         "Migration type to record: live-migration (default) or migration", "TYPE"},
        {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &a.dry_run,
         "Print every statement with its values; change nothing", NULL},
        {"undo", 0, 0, G_OPTION_ARG_STRING, &a.undo, "Restore the rows saved before sync ID",
         "ID"},
        {"pending", 0, 0, G_OPTION_ARG_NONE, &a.pending,
         "Replay syncs queued while the database was unreachable", NULL},
        {"list-pending", 0, 0, G_OPTION_ARG_NONE, &a.list_pending, "List queued syncs", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("[UUID] - tell Nova where a guest runs");
    g_autoptr(FerryNovaConfig) config = NULL;
    g_autoptr(GCancellable) cancellable = NULL;
    FerryInventory *inventory;
    int modes;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Needs a [nova] section in the inventory (host, port or socket, user, "
             "password_file or password_env, databases, journal_dir).\n"
             "Exit status 75: the database is unreachable, the sync is queued (--pending).");
    if (!ferry_cli_parse(ctx, &argc, &argv, entries, error))
        return FALSE;

    /* One mode at a time, checked before anything is opened. */
    modes = (argc > 1) + (a.undo != NULL) + a.pending + a.list_pending;
    if (modes != 1 || argc > 2) {
        ferry_cli_usage_error(error, "nova-sync takes exactly one of: UUID --to HOST, --undo ID, "
                                     "--pending, --list-pending");
        return FALSE;
    }
    if (argc > 1 && !a.to) {
        ferry_cli_usage_error(error, "nova-sync UUID needs --to HOST");
        return FALSE;
    }
    if (argc > 1 && !g_uuid_string_is_valid(argv[1])) {
        ferry_cli_usage_error(error, "'%s' is not an instance UUID", argv[1]);
        return FALSE;
    }
    if (argc == 1 && (a.to || a.from || a.power || a.type || a.dry_run)) {
        ferry_cli_usage_error(error,
                              "--to, --from, --power-state, --type and --dry-run go with UUID");
        return FALSE;
    }
    if (!(inventory = ferry_cli_inventory(cli, error)))
        return FALSE;
    /* Ctrl-C or SIGTERM interrupts a database call in progress */
    cancellable = ferry_cli_signal_cancellable();
    ferry_nova_set_cancellable(cancellable);
    config = ferry_nova_config_load(inventory->keyfile, inventory->path, error);
    if (!config) {
        if (error && !*error)
            g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_CONFIG,
                        "the inventory '%s' has no [nova] section", inventory->path);
        return FALSE;
    }
    if (argc > 1)
        return run_sync(&a, config, inventory->keyfile, argv[1], error);
    if (a.undo) {
        if (!ferry_nova_undo(config, a.undo, error))
            return FALSE;
        g_print("Nova sync %s undone\n", a.undo);
        return TRUE;
    }
    if (a.pending)
        return run_pending(config, error);
    {
        g_autoptr(GPtrArray) ids = ferry_nova_list_pending(config, error);

        for (guint i = 0; ids && i < ids->len; i++)
            g_print("%s\n", (const char *)g_ptr_array_index(ids, i));
        return ids != NULL;
    }
}
