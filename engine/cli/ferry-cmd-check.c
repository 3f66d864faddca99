/*
 * ferry-cmd-check.c: `ferry check ssh --from A --to B | --all` and
 * `ferry check shared --from A --to B [--dir DIR]`.
 */
#include <stdio.h>
#include <string.h>

#include "engine/cli/ferry-cli-json.h"
#include "engine/cli/ferry-cli.h"
#include "engine/ferry-inventory.h"
#include "ssh/ferry-ssh-storage.h"
#include "ssh/ferry-ssh-trust.h"

#define CHECK_THREADS 8

/* A check: like a command, and *json set when --json was given (then its errors are JSON too). */
typedef gboolean (*FerryCheckFunc)(FerryCli *cli, int argc, char **argv, gboolean *json,
                                   GError **error);

/* ------------------------------------------------------------------ ssh */

/*
 * A migration uses three ssh hops: this machine (where ferry runs) to the source and to the
 * destination (ferry's own sessions: disk images, copies, checks), and the source to the
 * destination (the migration user's: peer-to-peer qemu+ssh, host-to-host copies).  `check ssh`
 * checks each; a failed one is named by its class with a remedy that exists.
 */

/* Why ferry's own login to a host failed (the hop from this machine). */
typedef enum {
    FERRY_LOGIN_OK,
    FERRY_LOGIN_UNREACHABLE,
    FERRY_LOGIN_HOSTKEY_UNKNOWN,
    FERRY_LOGIN_HOSTKEY_CHANGED,
    FERRY_LOGIN_HOSTKEY_REVOKED,
    FERRY_LOGIN_NO_KEY,
    FERRY_LOGIN_REFUSED,
    FERRY_LOGIN_CHECK_FAILED,
    FERRY_LOGIN_LAST
} FerryLoginClass;

static const char *const login_class_names[] = {
    [FERRY_LOGIN_OK] = "ok",
    [FERRY_LOGIN_UNREACHABLE] = "unreachable",
    [FERRY_LOGIN_HOSTKEY_UNKNOWN] = "hostkey-unknown",
    [FERRY_LOGIN_HOSTKEY_CHANGED] = "hostkey-changed",
    [FERRY_LOGIN_HOSTKEY_REVOKED] = "hostkey-revoked",
    [FERRY_LOGIN_NO_KEY] = "no-key",
    [FERRY_LOGIN_REFUSED] = "login-refused",
    [FERRY_LOGIN_CHECK_FAILED] = "check-failed",
};
G_STATIC_ASSERT(G_N_ELEMENTS(login_class_names) == FERRY_LOGIN_LAST);

static FerryLoginClass
login_classify(const GError *error)
{
    if (!error)
        return FERRY_LOGIN_OK;
    if (error->domain != FERRY_SSH_ERROR)
        return FERRY_LOGIN_CHECK_FAILED;
    switch ((FerrySshErrorCode)error->code) {
    case FERRY_SSH_ERROR_CONNECT:
    case FERRY_SSH_ERROR_HANDSHAKE:
    case FERRY_SSH_ERROR_TIMEOUT:
        return FERRY_LOGIN_UNREACHABLE;
    case FERRY_SSH_ERROR_HOSTKEY_UNKNOWN:
        return FERRY_LOGIN_HOSTKEY_UNKNOWN;
    case FERRY_SSH_ERROR_HOSTKEY_CHANGED:
        return FERRY_LOGIN_HOSTKEY_CHANGED;
    case FERRY_SSH_ERROR_HOSTKEY_REVOKED:
        return FERRY_LOGIN_HOSTKEY_REVOKED;
    case FERRY_SSH_ERROR_KEYFILE:
        return FERRY_LOGIN_NO_KEY;
    case FERRY_SSH_ERROR_AUTH:
        return FERRY_LOGIN_REFUSED;
    default:
        return FERRY_LOGIN_CHECK_FAILED;
    }
}

/* One hop's verdict, as printed and as JSON. */
typedef struct {
    const char *from; /* NULL: this machine */
    const char *to;
    const char *klass;
    char *detail;
    char *remedy; /* NULL when ok */
} FerryHop;

static void
hop_clear(FerryHop *hop)
{
    g_free(hop->detail);
    g_free(hop->remedy);
}

typedef struct {
    const FerryInventory *inventory;
    const FerryHost *host;
    FerryLoginClass klass;
    char *detail;
} FerryLoginCheck;

static void
login_check_run(FerryLoginCheck *c)
{
    FerrySshConfig config;
    g_autoptr(FerrySshSession) session = NULL;
    g_autoptr(GError) error = NULL;

    ferry_inventory_ssh_config(c->inventory, c->host, &config);
    session = ferry_ssh_session_open(&config, &error);
    c->klass = login_classify(error);
    c->detail = error ? g_strdup(error->message)
                      : g_strdup_printf("ferry logs in to %s (%s port %u) as %s by key, host key "
                                        "known",
                                        c->host->name, config.host, config.port ? config.port : 22,
                                        config.user ? config.user : "root");
}

/* What to do about a failed login to @host: the inventory's files and the commands by name. */
static char *
login_remedy(FerryLoginClass klass, const FerryInventory *inv, const FerryHost *host,
             const char *address, guint port)
{
    switch (klass) {
    case FERRY_LOGIN_OK:
        return NULL;
    case FERRY_LOGIN_UNREACHABLE:
        return g_strdup_printf("this machine cannot reach the sshd of %s at %s port %u: check "
                               "that sshd runs there, and the host's ssh_host/ssh_port in the "
                               "inventory, routes and firewalls",
                               host->name, address, port);
    case FERRY_LOGIN_HOSTKEY_UNKNOWN:
        return g_strdup_printf("ferry's known_hosts '%s' has no key for %s: on %s, print its "
                               "fingerprint (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub); "
                               "here, fetch the key (ssh-keyscan -t ed25519 -p %u %s), compare "
                               "the fingerprints, then append that line to '%s'",
                               inv->known_hosts, host->name, host->name, port, address,
                               inv->known_hosts);
    case FERRY_LOGIN_HOSTKEY_CHANGED:
        return g_strdup_printf("%s offers another host key than the one in '%s': if it was "
                               "reinstalled, remove the old entry (ssh-keygen -R '[%s]:%u' -f "
                               "'%s') and add the new key after checking its fingerprint on the "
                               "host; otherwise investigate",
                               host->name, inv->known_hosts, address, port, inv->known_hosts);
    case FERRY_LOGIN_HOSTKEY_REVOKED:
        return g_strdup_printf("'%s' marks the key %s offers as @revoked: its identity is in "
                               "doubt; investigate before anything moves there",
                               inv->known_hosts, host->name);
    case FERRY_LOGIN_NO_KEY:
        return g_strdup_printf("ferry's private key '%s' cannot be used: create it (ssh-keygen "
                               "-t ed25519 -N '' -f '%s') or fix ssh_key in the inventory's "
                               "[ferry] section, then authorize its public key on %s",
                               inv->ssh_key, inv->ssh_key, host->name);
    case FERRY_LOGIN_REFUSED:
        return g_strdup_printf("%s refused ferry's key: add the public key of '%s' to the "
                               "ssh_user's ~/.ssh/authorized_keys on %s (an RSA key cannot be "
                               "used: libssh2 1.10 signs only ssh-rsa; use ed25519)",
                               host->name, inv->ssh_key, host->name);
    case FERRY_LOGIN_CHECK_FAILED:
    case FERRY_LOGIN_LAST:
        break;
    }
    return g_strdup("the check could not be completed: see the detail");
}

static void
login_hop(const FerryLoginCheck *c, FerryHop *hop)
{
    FerrySshConfig config;

    ferry_inventory_ssh_config(c->inventory, c->host, &config);
    hop->from = NULL;
    hop->to = c->host->name;
    hop->klass = login_class_names[c->klass];
    hop->detail = g_strdup(c->detail);
    hop->remedy = login_remedy(c->klass, c->inventory, c->host, config.host,
                               config.port ? config.port : 22u);
}

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

static void
pair_hop(const FerryPairCheck *pair, FerryHop *hop)
{
    hop->from = pair->from->name;
    hop->to = pair->to->name;
    hop->klass = ferry_trust_class_to_string(pair->result->klass);
    hop->detail = g_strdup(pair->result->detail);
    if (pair->result->klass != FERRY_TRUST_OK)
        hop->remedy = g_strdup(ferry_trust_class_remedy(pair->result->klass));
}

/* The checks of an --all run (logins, then pairs), worked off by CHECK_THREADS threads that are
 * joined before the command returns (a GThreadPool keeps idle threads, whose per-thread state
 * -- OpenSSL's, through libssh2 -- would outlive the command). */
typedef struct {
    FerryLoginCheck *logins;
    guint n_logins;
    FerryPairCheck *pairs;
    guint n_pairs;
    gint next;
} FerryCheckQueue;

static gpointer
check_worker(gpointer data)
{
    FerryCheckQueue *q = data;
    guint k;

    while ((k = (guint)g_atomic_int_add(&q->next, 1)) < q->n_logins + q->n_pairs) {
        if (k < q->n_logins)
            login_check_run(&q->logins[k]);
        else if (q->pairs[k - q->n_logins].from != q->pairs[k - q->n_logins].to)
            pair_check_run(&q->pairs[k - q->n_logins]);
    }
    return NULL;
}

static void
check_queue_run(FerryCheckQueue *queue)
{
    GThread *threads[CHECK_THREADS];
    guint n_threads = MIN(CHECK_THREADS, queue->n_logins + queue->n_pairs);

    for (guint t = 0; t < n_threads; t++)
        threads[t] = g_thread_new("ferry-check", check_worker, queue);
    for (guint t = 0; t < n_threads; t++)
        g_thread_join(threads[t]);
}

static void
hop_print(const FerryHop *hop, gboolean with_detail)
{
    printf("%s -> %s: %s\n", hop->from ? hop->from : "this machine", hop->to, hop->klass);
    if (hop->remedy || with_detail)
        printf("  %s\n", hop->detail);
    if (hop->remedy)
        printf("  remedy: %s\n", hop->remedy);
}

static void
hops_print_json(const GArray *hops, gboolean ok, guint failed)
{
    g_autoptr(FerryJson) j = ferry_json_new_event("result");

    ferry_json_string(j, "command", "check-ssh");
    ferry_json_bool(j, "ok", ok);
    ferry_json_uint(j, "failed", failed);
    ferry_json_begin_array(j, "hops");
    for (guint i = 0; i < hops->len; i++) {
        const FerryHop *hop = &g_array_index(hops, FerryHop, i);

        ferry_json_begin_object(j, NULL);
        ferry_json_string(j, "from", hop->from);
        ferry_json_string(j, "to", hop->to);
        ferry_json_bool(j, "ok", hop->remedy == NULL);
        ferry_json_string(j, "class", hop->klass);
        ferry_json_string(j, "detail", hop->detail);
        ferry_json_string(j, "remedy", hop->remedy);
        ferry_json_end_object(j);
    }
    ferry_json_end_array(j);
    ferry_json_print(g_steal_pointer(&j));
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
check_ssh(FerryCli *cli, int argc, char **argv, gboolean *json, GError **error)
{
    g_autofree char *from = NULL;
    g_autofree char *to = NULL;
    gboolean all = FALSE;
    const GOptionEntry entries[] = {
        {"from", 0, 0, G_OPTION_ARG_STRING, &from, "Source host (inventory name)", "HOST"},
        {"to", 0, 0, G_OPTION_ARG_STRING, &to, "Destination host (inventory name)", "HOST"},
        {"all", 0, 0, G_OPTION_ARG_NONE, &all,
         "Every host from this machine, and every ordered pair of hosts (a matrix)", NULL},
        {"json", 0, 0, G_OPTION_ARG_NONE, json, "One JSON line with every hop's verdict", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("--from HOST --to HOST | --all");
    FerryInventory *inv;
    g_autofree FerryLoginCheck *logins = NULL;
    g_autofree FerryPairCheck *pairs = NULL;
    g_autoptr(GArray) hops = g_array_new(FALSE, TRUE, sizeof(FerryHop));
    FerryCheckQueue queue = {0};
    guint n, failed = 0;

    g_array_set_clear_func(hops, (GDestroyNotify)hop_clear);
    g_option_context_set_summary(
        context, "Checks every ssh hop a migration uses: this machine to the source and to the "
                 "destination\n(ferry's own logins: inventory ssh_key, known_hosts), and the "
                 "source to the destination\n(the migration user, by key, the destination's "
                 "host key known on the source).\nEach failure is named by its class, with a "
                 "remedy.");
    g_option_context_set_description(context, "Exit status: 0 every hop holds; 1 one does not; "
                                              "2 bad arguments or inventory.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!ferry_cli_parse(context, &argc, &argv, entries, error))
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
        const FerryHost *a, *b;
        FerryPairCheck pair = {.inventory = inv};

        if (!(a = ferry_inventory_get_host(inv, from, error))) {
            ferry_cli_suggest_host(cli, *error, from);
            return FALSE;
        }
        if (!(b = ferry_inventory_get_host(inv, to, error))) {
            ferry_cli_suggest_host(cli, *error, to);
            return FALSE;
        }
        if (a == b) {
            ferry_cli_usage_error(error, "--from and --to name the same host '%s'", a->name);
            return FALSE;
        }
        logins = g_new0(FerryLoginCheck, 2);
        logins[0] = (FerryLoginCheck){.inventory = inv, .host = a};
        logins[1] = (FerryLoginCheck){.inventory = inv, .host = b};
        pair.from = a;
        pair.to = b;
        queue = (FerryCheckQueue){.logins = logins, .n_logins = 2, .pairs = &pair, .n_pairs = 1};
        check_queue_run(&queue);
        for (guint i = 0; i < 2; i++) {
            FerryHop hop = {0};

            login_hop(&logins[i], &hop);
            g_array_append_val(hops, hop);
            g_free(logins[i].detail);
        }
        {
            FerryHop hop = {0};

            pair_hop(&pair, &hop);
            g_array_append_val(hops, hop);
            ferry_trust_result_free(pair.result);
        }
        for (guint i = 0; i < hops->len; i++) {
            const FerryHop *hop = &g_array_index(hops, FerryHop, i);

            failed += hop->remedy != NULL;
            if (!*json)
                /* the host-to-host line keeps its detail: what was checked */
                hop_print(hop, i == hops->len - 1);
        }
        if (*json)
            hops_print_json(hops, failed == 0, failed);
        if (failed) {
            g_set_error(error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_FAILED,
                        "%u of the 3 ssh hops of a migration %s -> %s do not hold", failed,
                        a->name, b->name);
            return FALSE;
        }
        return TRUE;
    }

    n = inv->hosts->len;
    logins = g_new0(FerryLoginCheck, n);
    pairs = g_new0(FerryPairCheck, n * n);
    for (guint i = 0; i < n; i++) {
        logins[i] = (FerryLoginCheck){.inventory = inv, .host = g_ptr_array_index(inv->hosts, i)};
        for (guint j = 0; j < n; j++) {
            FerryPairCheck *p = &pairs[i * n + j];

            p->inventory = inv;
            p->from = g_ptr_array_index(inv->hosts, i);
            p->to = g_ptr_array_index(inv->hosts, j);
        }
    }
    queue = (FerryCheckQueue){.logins = logins, .n_logins = n, .pairs = pairs, .n_pairs = n * n};
    check_queue_run(&queue);

    for (guint i = 0; i < n; i++) {
        FerryHop hop = {0};

        login_hop(&logins[i], &hop);
        g_array_append_val(hops, hop);
        g_free(logins[i].detail);
    }
    for (guint k = 0; k < n * n; k++) {
        FerryHop hop = {0};

        if (pairs[k].from == pairs[k].to)
            continue;
        pair_hop(&pairs[k], &hop);
        g_array_append_val(hops, hop);
    }
    for (guint i = 0; i < hops->len; i++)
        failed += g_array_index(hops, FerryHop, i).remedy != NULL;
    if (*json) {
        hops_print_json(hops, failed == 0, failed);
    } else {
        for (guint i = 0; i < n; i++)
            printf("this machine -> %s: %s\n", g_array_index(hops, FerryHop, i).to,
                   g_array_index(hops, FerryHop, i).klass);
        printf("\n");
        print_matrix(inv, pairs);
        if (failed)
            printf("\n");
        for (guint i = 0; i < hops->len; i++) {
            if (g_array_index(hops, FerryHop, i).remedy)
                hop_print(&g_array_index(hops, FerryHop, i), FALSE);
        }
    }
    for (guint k = 0; k < n * n; k++)
        ferry_trust_result_free(pairs[k].result);
    if (failed) {
        if (!*json)
            printf("\n%u of %u hops failed\n", failed, n + n * (n - 1));
        g_set_error(error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_FAILED, "%u of %u hops failed",
                    failed, n + n * (n - 1));
        return FALSE;
    }
    return TRUE;
}

/* ------------------------------------------------------------------ shared */

static gboolean
check_shared(FerryCli *cli, int argc, char **argv, gboolean *json, GError **error)
{
    g_autofree char *from = NULL;
    g_autofree char *to = NULL;
    g_auto(GStrv) dirs = NULL;
    const GOptionEntry entries[] = {
        {"from", 0, 0, G_OPTION_ARG_STRING, &from, "Source host (inventory name)", "HOST"},
        {"to", 0, 0, G_OPTION_ARG_STRING, &to, "Destination host (inventory name)", "HOST"},
        {"dir", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &dirs,
         "Directory to check (repeatable; default: images_dir and shared_dirs)", "DIR"},
        {"json", 0, 0, G_OPTION_ARG_NONE, json, "One JSON line with each directory's verdict",
         NULL},
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
    g_autoptr(FerryJson) j = NULL;

    g_option_context_set_summary(context,
                                 "Tells whether each directory is shared between two hosts: "
                                 "creates a uniquely named file on the destination and looks "
                                 "for it on the source.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!ferry_cli_parse(context, &argc, &argv, entries, error))
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
    if (!(inv = ferry_cli_inventory(cli, error)) || !ferry_inventory_require_ssh(inv, error))
        return FALSE;
    if (!(a = ferry_inventory_get_host(inv, from, error))) {
        ferry_cli_suggest_host(cli, *error, from);
        return FALSE;
    }
    if (!(b = ferry_inventory_get_host(inv, to, error))) {
        ferry_cli_suggest_host(cli, *error, to);
        return FALSE;
    }
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
    if (*json) {
        j = ferry_json_new_event("result");
        ferry_json_string(j, "command", "check-shared");
        ferry_json_string(j, "source", a->name);
        ferry_json_string(j, "destination", b->name);
        ferry_json_begin_array(j, "dirs");
    }
    for (guint i = 0; i < check->len; i++) {
        const char *dir = g_ptr_array_index(check, i);
        g_autoptr(GError) local = NULL;
        gboolean shared = FALSE;
        gboolean ok = ferry_storage_is_shared(src, dst, dir, &shared, &local);

        failed = failed || !ok;
        if (j) {
            ferry_json_begin_object(j, NULL);
            ferry_json_string(j, "dir", dir);
            if (ok)
                ferry_json_bool(j, "shared", shared);
            else
                ferry_json_null(j, "shared");
            if (ok)
                ferry_json_null(j, "error");
            else
                ferry_json_error(j, "error", local);
            ferry_json_end_object(j);
        } else if (!ok) {
            printf("%s: error: %s\n", dir, local->message);
        } else {
            printf("%s: %s between %s and %s\n", dir, shared ? "shared" : "not shared",
                   a->name, b->name);
        }
    }
    if (j) {
        ferry_json_end_array(j);
        ferry_json_bool(j, "ok", !failed);
        ferry_json_print(g_steal_pointer(&j));
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
    {"ssh", check_ssh,
     "every ssh hop of a migration: this machine to both hosts, and host to host (--from A "
     "--to B, or --all)"},
    {"shared", check_shared, "which directories two hosts share (--from A --to B [--dir DIR])"},
};

static void
check_usage(FILE *out)
{
    fprintf(out, "Usage: ferry check WHAT [OPTIONS...] [--json]\n\n");
    for (gsize i = 0; i < G_N_ELEMENTS(checks); i++)
        fprintf(out, "  %-8s %s\n", checks[i].name, checks[i].summary);
    fprintf(out, "\n'ferry check WHAT --help' describes one.  Exit status: 0 it holds, 1 it "
                 "does not, 2 bad arguments or inventory.\n");
}

/* --json and the check could not be run (bad arguments, inventory): the error as a result. */
static void
print_json_error(const char *what, const GError *error)
{
    g_autoptr(FerryJson) j = ferry_json_new_event("result");
    g_autofree char *command = g_strdup_printf("check-%s", what ? what : "unknown");

    ferry_json_string(j, "command", what ? command : "check");
    ferry_json_bool(j, "ok", FALSE);
    ferry_json_error(j, "error", error);
    ferry_json_print(g_steal_pointer(&j));
}

gboolean
ferry_cmd_check(FerryCli *cli, int argc, char **argv, GError **error)
{
    const char *names[G_N_ELEMENTS(checks)];
    gboolean json = FALSE;

    for (int i = 1; i < argc && !g_str_equal(argv[i], "--"); i++)
        json = json || g_str_equal(argv[i], "--json");
    if (argc >= 2 && (g_str_equal(argv[1], "--help") || g_str_equal(argv[1], "-h"))) {
        check_usage(stdout);
        return TRUE;
    }
    if (argc < 2 || argv[1][0] == '-') {
        if (!json)
            check_usage(stderr);
        ferry_cli_usage_error(error, "check needs WHAT: ssh or shared");
        if (json)
            print_json_error(NULL, *error);
        return FALSE;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(checks); i++) {
        names[i] = checks[i].name;
        if (g_str_equal(argv[1], checks[i].name)) {
            gboolean json_given = json;

            if (checks[i].func(cli, argc - 1, argv + 1, &json, error))
                return TRUE;
            /* a check that ran printed its own result; one that could not run did not */
            if ((json || json_given) &&
                !g_error_matches(*error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_FAILED))
                print_json_error(checks[i].name, *error);
            return FALSE;
        }
    }
    ferry_cli_usage_error(error, "unknown check '%s': use ssh or shared", argv[1]);
    ferry_cli_error_suggest(*error, argv[1], names, G_N_ELEMENTS(checks));
    if (json)
        print_json_error(NULL, *error);
    return FALSE;
}
