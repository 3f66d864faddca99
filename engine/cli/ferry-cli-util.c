/*
 * ferry-cli-util.c: the inventory, option parsing, errors and exit statuses, signals.
 */
#include "engine/cli/ferry-cli.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/ferry-abort.h"
#include "engine/ferry-fence.h"
#include "engine/ferry-hostmap.h"
#include "engine/ferry-journal.h"
#include "engine/ferry-locate.h"
#include "engine/ferry-migrate.h"
#include "engine/ferry-rescue.h"
#include "engine/ferry-virt-util.h"
#include "engine/nova/ferry-nova.h"

/* clang-format off */
G_DEFINE_QUARK(ferry-cli-error-quark, ferry_cli_error)
/* clang-format on */

FerryInventory *
ferry_cli_inventory(FerryCli *cli, GError **error)
{
    if (!cli->inventory)
        cli->inventory = ferry_inventory_load(cli->config_arg, error);
    return cli->inventory;
}

void
ferry_cli_usage_error(GError **error, const char *format, ...)
{
    va_list args;

    va_start(args, format);
    g_propagate_error(error, g_error_new_valist(FERRY_CLI_ERROR, FERRY_CLI_ERROR_USAGE, format,
                                                args));
    va_end(args);
}

int
ferry_cli_exit_status(const GError *error)
{
    if (!error)
        return FERRY_EXIT_OK;
    /* refused before anything changed (a failed destination check is told apart by
     * ferry_cmd_migrate, from the phase it failed in) */
    if (error->domain == G_OPTION_ERROR || error->domain == FERRY_INVENTORY_ERROR ||
        g_error_matches(error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_USAGE) ||
        g_error_matches(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID) ||
        g_error_matches(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_NOT_FOUND) ||
        g_error_matches(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_AMBIGUOUS) ||
        g_error_matches(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK) ||
        g_error_matches(error, FERRY_LOCATE_ERROR, FERRY_LOCATE_ERROR_NOT_FOUND) ||
        g_error_matches(error, FERRY_LOCATE_ERROR, FERRY_LOCATE_ERROR_AMBIGUOUS) ||
        g_error_matches(error, FERRY_JOURNAL_ERROR, FERRY_JOURNAL_ERROR_BUSY) ||
        g_error_matches(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_CONFIG) ||
        /* rescue: not proven dead and fenced, nothing recorded, a host that cannot be asked
         * what to clean up; an impossible host map */
        error->domain == FERRY_FENCE_ERROR || error->domain == FERRY_HOST_MAP_ERROR ||
        g_error_matches(error, FERRY_RESCUE_ERROR, FERRY_RESCUE_ERROR_UNKNOWN_HOST) ||
        g_error_matches(error, FERRY_RESCUE_ERROR, FERRY_RESCUE_ERROR_NO_DEFINITIONS) ||
        g_error_matches(error, FERRY_RESCUE_ERROR, FERRY_RESCUE_ERROR_UNREACHABLE))
        return FERRY_EXIT_USAGE;
    if (g_error_matches(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_QUEUED))
        return FERRY_EXIT_QUEUED;
    return FERRY_EXIT_FAILED;
}

void
ferry_cli_error(const char *format, ...)
{
    g_autofree char *message = NULL;
    va_list args;

    va_start(args, format);
    message = g_strdup_vprintf(format, args);
    va_end(args);
    fprintf(stderr, "ferry: %s\n", message);
}

gboolean
ferry_cli_parse(GOptionContext *context, int *argc, char ***argv, const GOptionEntry *entries,
                GError **error)
{
    /* parsing may leave argv half rearranged: the words as typed, for "did you mean" */
    g_auto(GStrv) typed = g_strdupv(*argv);
    g_autofree char *name = g_strdup((*argv)[0]);

    if (!g_option_context_parse(context, argc, argv, error)) {
        if (entries)
            ferry_cli_suggest_option(*error, (int)g_strv_length(typed), typed, entries);
        g_prefix_error(error, "%s: ", name);
        return FALSE;
    }
    return TRUE;
}

void
ferry_cli_error_suggest(GError *error, const char *word, const char *const *candidates, gsize n)
{
    const char *best = ferry_cli_suggest(word, candidates, n);
    char *message;

    if (!error || !best)
        return;
    message = g_strdup_printf("%s (did you mean '%s'?)", error->message, best);
    g_free(error->message);
    error->message = message;
}

void
ferry_cli_suggest_option(GError *error, int argc, char **argv, const GOptionEntry *entries)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);

    if (!g_error_matches(error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION))
        return;
    for (const GOptionEntry *e = entries; e->long_name; e++) {
        if (!(e->flags & G_OPTION_FLAG_HIDDEN))
            g_ptr_array_add(names, g_strdup_printf("--%s", e->long_name));
    }
    g_ptr_array_add(names, g_strdup("--help"));
    for (int i = 1; i < argc; i++) {
        g_autofree char *word = NULL;
        const char *eq;
        gboolean known = FALSE;

        if (g_str_equal(argv[i], "--"))
            break;
        if (!g_str_has_prefix(argv[i], "--"))
            continue;
        eq = strchr(argv[i], '=');
        word = eq ? g_strndup(argv[i], eq - argv[i]) : g_strdup(argv[i]);
        for (guint j = 0; j < names->len; j++)
            known = known || g_str_equal(word, g_ptr_array_index(names, j));
        if (known || !strstr(error->message, word))
            continue;
        ferry_cli_error_suggest(error, word, (const char *const *)names->pdata, names->len);
        return;
    }
}

void
ferry_cli_suggest_host(FerryCli *cli, GError *error, const char *host)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new();

    if (!cli->inventory || !host ||
        !g_error_matches(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_UNKNOWN_HOST))
        return;
    for (guint i = 0; i < cli->inventory->hosts->len; i++)
        g_ptr_array_add(names, ((FerryHost *)g_ptr_array_index(cli->inventory->hosts, i))->name);
    ferry_cli_error_suggest(error, host, (const char *const *)names->pdata, names->len);
}

void
ferry_cli_suggest_domain(FerryCli *cli, GError *error, const char *domain)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);

    if (!cli->inventory || !domain ||
        !(g_error_matches(error, FERRY_LOCATE_ERROR, FERRY_LOCATE_ERROR_NOT_FOUND) ||
          g_error_matches(error, FERRY_LOCATE_ERROR, FERRY_LOCATE_ERROR_UNREACHABLE) ||
          g_error_matches(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_NOT_FOUND)))
        return;
    /* only now, on the way out with an error: ask each host that answers at once for its
     * guests (a host that did not answer the lookup gets 2 s, not the full deadline again) */
    for (guint i = 0; i < cli->inventory->hosts->len; i++) {
        const FerryHost *h = g_ptr_array_index(cli->inventory->hosts, i);
        g_autoptr(virConnect) conn = ferry_virt_connect_full(
            h->uri, h->name, MIN(MAX(cli->inventory->connect_timeout, 1), 2), NULL);
        virDomainPtr *doms = NULL;
        int n;

        if (!conn) {
            virResetLastError();
            continue;
        }
        n = virConnectListAllDomains(conn, &doms, 0);
        for (int j = 0; j < n; j++) {
            const char *name = virDomainGetName(doms[j]);
            gboolean seen = FALSE;

            for (guint k = 0; name && k < names->len; k++)
                seen = seen || g_str_equal(name, g_ptr_array_index(names, k));
            if (name && !seen)
                g_ptr_array_add(names, g_strdup(name));
            virDomainFree(doms[j]);
        }
        free(doms);
        virResetLastError();
    }
    ferry_cli_error_suggest(error, domain, (const char *const *)names->pdata, names->len);
}

static const char *
signal_name(int sig)
{
    switch (sig) {
    case SIGINT:
        return "SIGINT";
    case SIGTERM:
        return "SIGTERM";
    case SIGHUP:
        return "SIGHUP";
    default:
        return "a signal";
    }
}

static void
signal_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM); /* also how `ferry abort` from another shell asks */
    /* a lost terminal stops nothing: the operation carries on, its log file gets the rest */
    sigaddset(set, SIGHUP);
}

static gpointer
signal_thread(gpointer data)
{
    GCancellable *cancellable = data;
    sigset_t set;
    int sig;

    signal_set(&set);
    for (;;) {
        g_autofree char *why = NULL;

        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            const char *log = ferry_cli_log_path();

            fprintf(stderr, "\nferry: SIGHUP received (terminal lost): the operation carries "
                            "on to its end%s%s\n",
                    log ? "; its output goes on in " : "", log ? log : "");
            continue;
        }
        if (g_cancellable_is_cancelled(cancellable)) {
            g_autofree char *running = ferry_journal_describe_running();

            fprintf(stderr, "\nferry: %s received again: still aborting%s%s\n",
                    signal_name(sig), running ? ": " : "", running ? running : "");
        } else if (ferry_abort_request(cancellable, &why)) {
            /* (stderr may be gone with the terminal: what is written here may be lost, the
             * abort is not) */
            fprintf(stderr, "\nferry: %s received: aborting and rolling back (a second one "
                            "says what is still running)\n",
                    signal_name(sig));
        } else {
            fprintf(stderr, "\nferry: %s received: abort is no longer possible: %s\n",
                    signal_name(sig), why);
        }
    }
    return NULL;
}

GCancellable *
ferry_cli_signal_cancellable(void)
{
    GCancellable *cancellable = g_cancellable_new();
    sigset_t set;

    /* Blocked here, before any other thread exists, so every thread inherits the mask and only
     * signal_thread receives them. */
    signal_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    g_thread_unref(g_thread_new("ferry-signals", signal_thread, g_object_ref(cancellable)));
    return cancellable;
}

gboolean
ferry_cli_stderr_is_tty(void)
{
    return ferry_cli_log_stderr_was_tty();
}

char *
ferry_cli_format_bytes(guint64 bytes)
{
    if (bytes >= 1024ull * 1024 * 1024)
        return g_strdup_printf("%.2f GiB", bytes / (1024.0 * 1024 * 1024));
    if (bytes >= 1024ull * 1024)
        return g_strdup_printf("%.1f MiB", bytes / (1024.0 * 1024));
    if (bytes >= 1024)
        return g_strdup_printf("%.1f KiB", bytes / 1024.0);
    return g_strdup_printf("%" G_GUINT64_FORMAT " B", bytes);
}
