/*
 * ferry-cmd-check.c: `ferry check ssh --from A --to B | --all` and
 * `ferry check shared --from A --to B [--dir DIR]`.
 */
#include <stdio.h>
#include <string.h>

#include "engine/cli/ferry-cli.h"
#include "engine/ferry-inventory.h"
#include "ssh/ferry-ssh-storage.h"
#include "ssh/ferry-ssh-trust.h"

#define CHECK_THREADS 8

typedef gboolean (*FerryCheckFunc)(FerryCli *cli, int argc, char **argv, GError **error);

/* ------------------------------------------------------------------ ssh */

typedef struct {
    const FerryInventory *inventory;
    const FerryHost *from;
    const FerryHost *to;
    FerryTrustResult *result;
} FerryPairCheck;

static void
pair_check_run(FerryPairCheck *pair)
{
    FerrySshConfig config;
    FerrySshPeer peer;

    ferry_inventory_ssh_config(pair->inventory, pair->from, &config);
    ferry_inventory_peer(pair->inventory, pair->from, pair->to, &peer);
    pair->result = ferry_trust_check(&config, &peer);
}

/* The pairs of an --all check, worked off by CHECK_THREADS threads that are joined before
 * the command returns (a GThreadPool keeps idle threads, whose per-thread state -- OpenSSL's,
 * through libssh2 -- would outlive the command). */
typedef struct {
    FerryPairCheck *pairs;
    guint n;
    gint next;
} FerryPairQueue;

static gpointer
pair_check_worker(gpointer data)
{
    FerryPairQueue *q = data;
    guint k;

    while ((k = (guint)g_atomic_int_add(&q->next, 1)) < q->n) {
        if (q->pairs[k].from != q->pairs[k].to)
            pair_check_run(&q->pairs[k]);
    }
    return NULL;
}

static void
print_failure(const FerryPairCheck *pair)
{
    const FerryTrustResult *r = pair->result;

    printf("%s -> %s: %s\n  %s\n  remedy: %s\n", pair->from->name, pair->to->name,
           ferry_trust_class_to_string(r->klass), r->detail, ferry_trust_class_remedy(r->klass));
}

/* Rows are sources, columns destinations. */
static void
print_matrix(const FerryInventory *inv, FerryPairCheck *pairs)
{
    int width = (int)strlen("from \\ to");
    int cell = 0;
    guint n = inv->hosts->len;

    for (guint i = 0; i < n; i++) {
        const FerryHost *h = g_ptr_array_index(inv->hosts, i);
        width = MAX(width, (int)strlen(h->name));
        cell = MAX(cell, (int)strlen(h->name));
    }
    for (guint c = 0; c < FERRY_TRUST_LAST; c++)
        cell = MAX(cell, (int)strlen(ferry_trust_class_to_string(c)));

    printf("%-*s", width, "from \\ to");
    for (guint j = 0; j < n; j++)
        printf("  %-*s", cell, ((const FerryHost *)g_ptr_array_index(inv->hosts, j))->name);
    printf("\n");
    for (guint i = 0; i < n; i++) {
        printf("%-*s", width, ((const FerryHost *)g_ptr_array_index(inv->hosts, i))->name);
        for (guint j = 0; j < n; j++) {
            const FerryPairCheck *p = &pairs[i * n + j];
            printf("  %-*s", cell, i == j ? "-" : ferry_trust_class_to_string(p->result->klass));
        }
        printf("\n");
    }
}

static gboolean
check_ssh(FerryCli *cli, int argc, char **argv, GError **error)
{
    g_autofree char *from = NULL;
    g_autofree char *to = NULL;
    gboolean all = FALSE;
    const GOptionEntry entries[] = {
        {"from", 0, 0, G_OPTION_ARG_STRING, &from, "Source host (inventory name)", "HOST"},
        {"to", 0, 0, G_OPTION_ARG_STRING, &to, "Destination host (inventory name)", "HOST"},
        {"all", 0, 0, G_OPTION_ARG_NONE, &all, "Check every ordered pair of the inventory", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("--from HOST --to HOST | --all");
    FerryInventory *inv;
    g_autofree FerryPairCheck *pairs = NULL;
    guint n, failed = 0;

    g_option_context_set_summary(
        context, "Checks that the source host reaches the destination over ssh by key, as the "
                 "migration user, with the destination's host key known; names each failure "
                 "and its remedy.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!ferry_cli_parse(context, &argc, &argv, error))
        return FALSE;
    if (argc != 1) {
        ferry_cli_usage_error(error, "check ssh takes no arguments besides options (see --help)");
        return FALSE;
    }
    if (all && (from || to)) {
        ferry_cli_usage_error(error, "--all cannot be combined with --from or --to");
        return FALSE;
    }
    if (!all && (!from || !to)) {
        ferry_cli_usage_error(error, "check ssh needs --from HOST and --to HOST, or --all");
        return FALSE;
    }
    if (!(inv = ferry_cli_inventory(cli, error)) || !ferry_inventory_require_ssh(inv, error))
        return FALSE;

    if (!all) {
        FerryPairCheck pair = {.inventory = inv};
        g_autoptr(FerryTrustResult) result = NULL;

        if (!(pair.from = ferry_inventory_get_host(inv, from, error)) ||
            !(pair.to = ferry_inventory_get_host(inv, to, error)))
            return FALSE;
        if (pair.from == pair.to) {
            ferry_cli_usage_error(error, "--from and --to name the same host '%s'",
                                  pair.from->name);
            return FALSE;
        }
        pair_check_run(&pair);
        result = pair.result;
        if (result->klass == FERRY_TRUST_OK) {
            printf("%s -> %s: ok\n  %s\n", pair.from->name, pair.to->name, result->detail);
            return TRUE;
        }
        print_failure(&pair);
        g_set_error(error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_FAILED,
                    "the ssh trust %s -> %s does not hold", pair.from->name, pair.to->name);
        return FALSE;
    }

    n = inv->hosts->len;
    pairs = g_new0(FerryPairCheck, n * n);
    for (guint i = 0; i < n; i++) {
        for (guint j = 0; j < n; j++) {
            FerryPairCheck *p = &pairs[i * n + j];

            p->inventory = inv;
            p->from = g_ptr_array_index(inv->hosts, i);
            p->to = g_ptr_array_index(inv->hosts, j);
        }
    }
    {
        FerryPairQueue queue = {.pairs = pairs, .n = n * n};
        GThread *threads[CHECK_THREADS];
        guint n_threads = MIN(CHECK_THREADS, n * n);

        for (guint t = 0; t < n_threads; t++)
            threads[t] = g_thread_new("ferry-check", pair_check_worker, &queue);
        for (guint t = 0; t < n_threads; t++)
            g_thread_join(threads[t]);
    }

    print_matrix(inv, pairs);
    for (guint k = 0; k < n * n; k++) {
        if (pairs[k].result && pairs[k].result->klass != FERRY_TRUST_OK) {
            if (failed++ == 0)
                printf("\n");
            print_failure(&pairs[k]);
        }
    }
    for (guint k = 0; k < n * n; k++)
        ferry_trust_result_free(pairs[k].result);
    if (failed) {
        printf("\n%u of %u pairs failed\n", failed, n * (n - 1));
        g_set_error(error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_FAILED, "%u of %u pairs failed",
                    failed, n * (n - 1));
        return FALSE;
    }
    return TRUE;
}

/* ------------------------------------------------------------------ shared */

static gboolean
check_shared(FerryCli *cli, int argc, char **argv, GError **error)
{
    g_autofree char *from = NULL;
    g_autofree char *to = NULL;
    g_auto(GStrv) dirs = NULL;
    const GOptionEntry entries[] = {
        {"from", 0, 0, G_OPTION_ARG_STRING, &from, "Source host (inventory name)", "HOST"},
        {"to", 0, 0, G_OPTION_ARG_STRING, &to, "Destination host (inventory name)", "HOST"},
        {"dir", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &dirs,
         "Directory to check (repeatable; default: images_dir and shared_dirs)", "DIR"},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("--from HOST --to HOST");
    FerryInventory *inv;
    g_autoptr(FerrySshSession) src = NULL;
    g_autoptr(FerrySshSession) dst = NULL;
    g_autoptr(GPtrArray) check = g_ptr_array_new_with_free_func(g_free);
    const FerryHost *a, *b;
    FerrySshConfig config;
    gboolean failed = FALSE;

    g_option_context_set_summary(context,
                                 "Tells whether each directory is shared between two hosts: "
                                 "creates a uniquely named file on the destination and looks "
                                 "for it on the source.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!ferry_cli_parse(context, &argc, &argv, error))
        return FALSE;
    if (argc != 1 || !from || !to) {
        ferry_cli_usage_error(error, "check shared needs --from HOST and --to HOST (see --help)");
        return FALSE;
    }
    for (char **d = dirs; d && *d; d++) {
        if (!g_path_is_absolute(*d)) {
            ferry_cli_usage_error(error, "--dir '%s' is not an absolute path", *d);
            return FALSE;
        }
    }
    if (!(inv = ferry_cli_inventory(cli, error)) || !ferry_inventory_require_ssh(inv, error) ||
        !(a = ferry_inventory_get_host(inv, from, error)) ||
        !(b = ferry_inventory_get_host(inv, to, error)))
        return FALSE;
    if (a == b) {
        ferry_cli_usage_error(error, "--from and --to name the same host '%s'", a->name);
        return FALSE;
    }
    if (dirs) {
        for (char **d = dirs; *d; d++)
            g_ptr_array_add(check, g_strdup(*d));
    } else {
        g_ptr_array_add(check, g_strdup(a->images_dir));
        for (char **d = a->shared_dirs; *d; d++)
            g_ptr_array_add(check, g_strdup(*d));
    }

    ferry_inventory_ssh_config(inv, a, &config);
    if (!(src = ferry_ssh_session_open(&config, error)))
        return FALSE;
    ferry_inventory_ssh_config(inv, b, &config);
    if (!(dst = ferry_ssh_session_open(&config, error)))
        return FALSE;
    for (guint i = 0; i < check->len; i++) {
        const char *dir = g_ptr_array_index(check, i);
        g_autoptr(GError) local = NULL;
        gboolean shared = FALSE;

        if (!ferry_storage_is_shared(src, dst, dir, &shared, &local)) {
            printf("%s: error: %s\n", dir, local->message);
            failed = TRUE;
            continue;
        }
        printf("%s: %s between %s and %s\n", dir, shared ? "shared" : "not shared", a->name,
               b->name);
    }
    if (failed) {
        g_set_error(error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_FAILED,
                    "a directory could not be checked");
        return FALSE;
    }
    return TRUE;
}

/* ------------------------------------------------------------------ dispatch */

static const struct {
    const char *name;
    FerryCheckFunc func;
    const char *summary;
} checks[] = {
    {"ssh", check_ssh, "ssh trust between hosts (--from A --to B, or --all for a matrix)"},
    {"shared", check_shared, "which directories two hosts share (--from A --to B [--dir DIR])"},
};

static void
check_usage(FILE *out)
{
    fprintf(out, "Usage: ferry check WHAT [OPTIONS...]\n\n");
    for (gsize i = 0; i < G_N_ELEMENTS(checks); i++)
        fprintf(out, "  %-8s %s\n", checks[i].name, checks[i].summary);
}

gboolean
ferry_cmd_check(FerryCli *cli, int argc, char **argv, GError **error)
{
    if (argc >= 2 && (g_str_equal(argv[1], "--help") || g_str_equal(argv[1], "-h"))) {
        check_usage(stdout);
        return TRUE;
    }
    if (argc < 2) {
        check_usage(stderr);
        ferry_cli_usage_error(error, "check needs WHAT: ssh or shared");
        return FALSE;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(checks); i++) {
        if (g_str_equal(argv[1], checks[i].name))
            return checks[i].func(cli, argc - 1, argv + 1, error);
    }
    ferry_cli_usage_error(error, "unknown check '%s': use ssh or shared", argv[1]);
    return FALSE;
}
