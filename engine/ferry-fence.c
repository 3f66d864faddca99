/*
 * ferry-fence.c: probes of a host's libvirtd and sshd, from ferry and from the other hosts,
 * and the fence command.
 */
#include "engine/ferry-fence.h"

#include <string.h>

#include "ssh/ferry-ssh-session.h"

/* clang-format off */
G_DEFINE_QUARK(ferry-fence-error-quark, ferry_fence_error)
/* clang-format on */

#define PROBE_TIMEOUT_S 3
#define WITNESS_COMMAND_MS 15000

static const char *const probe_names[] = {
    [FERRY_PROBE_OPEN] = "accepted",
    [FERRY_PROBE_REFUSED] = "refused",
    [FERRY_PROBE_NO_ANSWER] = "no answer",
    [FERRY_PROBE_FAILED] = "could not ask",
};
G_STATIC_ASSERT(G_N_ELEMENTS(probe_names) == FERRY_PROBE_LAST);

const char *
ferry_probe_result_to_string(FerryProbeResult result)
{
    return result < FERRY_PROBE_LAST ? probe_names[result] : "unknown";
}

static void
probe_free(FerryProbe *probe)
{
    g_free(probe->from);
    g_free(probe->service);
    g_free(probe->address);
    g_free(probe->detail);
    g_free(probe);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryProbe, probe_free)

void
ferry_fence_check_free(FerryFenceCheck *check)
{
    if (!check)
        return;
    g_free(check->host);
    g_ptr_array_unref(check->probes);
    g_ptr_array_unref(check->witnesses);
    g_free(check);
}

/* An address ferry hands to a witness as an argument: a host name or an IP address only. */
static gboolean
address_is_safe(const char *address)
{
    if (!address || !*address || *address == '-' || strlen(address) > 253)
        return FALSE;
    for (const char *p = address; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr(".-:_", *p))
            return FALSE;
    }
    return TRUE;
}

typedef struct {
    const char *service;
    char *address;
    guint port;
} Endpoint;

/* The host's libvirtd and sshd endpoints; INVALID when they cannot be probed. */
static gboolean
endpoints(const FerryHost *host, Endpoint ep[2], GError **error)
{
    g_autoptr(GUri) uri = g_uri_parse(host->uri, G_URI_FLAGS_NONE, NULL);
    const char *scheme = uri ? g_uri_get_scheme(uri) : NULL;
    int port = uri ? g_uri_get_port(uri) : -1;

    if (!uri || !g_uri_get_host(uri) || !*g_uri_get_host(uri)) {
        g_set_error(error, FERRY_FENCE_ERROR, FERRY_FENCE_ERROR_INVALID,
                    "cannot probe the libvirtd of '%s': its uri '%s' names no remote host",
                    host->name, host->uri);
        return FALSE;
    }
    if (port <= 0) {
        if (g_str_has_suffix(scheme, "+tcp"))
            port = 16509;
        else if (strstr(scheme, "ssh"))
            port = host->ssh_port ? (int)host->ssh_port : 22;
        else if (!strchr(scheme, '+') || g_str_has_suffix(scheme, "+tls"))
            port = 16514;
        else {
            g_set_error(error, FERRY_FENCE_ERROR, FERRY_FENCE_ERROR_INVALID,
                        "cannot probe the libvirtd of '%s': transport of uri '%s' has no TCP port",
                        host->name, host->uri);
            return FALSE;
        }
    }
    ep[0] = (Endpoint){
        .service = "libvirtd", .address = g_strdup(g_uri_get_host(uri)), .port = (guint)port};
    ep[1] = (Endpoint){.service = "sshd",
                       .address = g_strdup(host->ssh_host),
                       .port = host->ssh_port ? host->ssh_port : 22};
    for (int i = 0; i < 2; i++) {
        if (!address_is_safe(ep[i].address)) {
            g_set_error(error, FERRY_FENCE_ERROR, FERRY_FENCE_ERROR_INVALID,
                        "cannot probe the %s of '%s': address '%s' is not a host name or IP "
                        "address",
                        ep[i].service, host->name, ep[i].address ? ep[i].address : "");
            g_free(ep[0].address);
            g_free(ep[1].address);
            return FALSE;
        }
    }
    return TRUE;
}

static FerryProbe *
probe_new(const char *from, const Endpoint *ep)
{
    FerryProbe *probe = g_new0(FerryProbe, 1);

    probe->from = g_strdup(from);
    probe->service = g_strdup(ep->service);
    probe->address = g_strdup(ep->address);
    probe->port = ep->port;
    return probe;
}

/* A TCP connect from ferry itself, bounded by PROBE_TIMEOUT_S. */
static FerryProbe *
probe_from_ferry(const Endpoint *ep)
{
    FerryProbe *probe = probe_new("ferry", ep);
    g_autoptr(GSocketClient) client = g_socket_client_new();
    g_autoptr(GSocketConnection) conn = NULL;
    g_autoptr(GError) local = NULL;
    gint64 t0 = g_get_monotonic_time();

    g_socket_client_set_timeout(client, PROBE_TIMEOUT_S);
    conn = g_socket_client_connect_to_host(client, ep->address, ep->port, NULL, &local);
    probe->elapsed_s = (g_get_monotonic_time() - t0) / 1e6;
    if (conn)
        probe->result = FERRY_PROBE_OPEN;
    else if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
        probe->result = FERRY_PROBE_REFUSED;
    else
        probe->result = FERRY_PROBE_NO_ANSWER;
    if (local)
        probe->detail = g_strdup(local->message);
    return probe;
}

static gpointer
probe_thread(gpointer data)
{
    return probe_from_ferry(data);
}

/* Both endpoints at once: a dead host costs one timeout, not two. */
static void
probe_pair_from_ferry(Endpoint ep[2], FerryProbe *out[2])
{
    GThread *t = g_thread_new("ferry-probe", probe_thread, &ep[1]);

    out[0] = probe_from_ferry(&ep[0]);
    out[1] = g_thread_join(t);
}

typedef struct {
    const FerryInventory *inventory;
    const FerryHost *witness;
    Endpoint *ep;
    GPtrArray *probes; /* FerryProbe*, this witness's */
    gboolean answered;
} WitnessJob;

static gpointer
witness_thread(gpointer data)
{
    WitnessJob *job = data;
    FerrySshConfig config;
    g_autoptr(FerrySshSession) ssh = NULL;
    g_autoptr(GError) local = NULL;

    ferry_inventory_ssh_config(job->inventory, job->witness, &config);
    if (!ferry_inventory_require_ssh(job->inventory, &local) ||
        !(ssh = ferry_ssh_session_open(&config, &local))) {
        FerryProbe *probe = probe_new(job->witness->name, &job->ep[0]);

        probe->result = FERRY_PROBE_FAILED;
        probe->detail = g_strdup(local->message);
        g_ptr_array_add(job->probes, probe);
        return NULL;
    }
    job->answered = TRUE;
    for (int i = 0; i < 2; i++) {
        FerryProbe *probe = probe_new(job->witness->name, &job->ep[i]);
        g_autofree char *port = g_strdup_printf("%u", job->ep[i].port);
        g_autofree char *seconds = g_strdup_printf("%d", PROBE_TIMEOUT_S);
        /* the address and port are arguments of the script, never part of it */
        const char *argv[] = {
            "timeout",          seconds, "bash", "-c", "exec 3<>\"/dev/tcp/$1/$2\"", "ferry-probe",
            job->ep[i].address, port,    NULL};
        g_autofree char *err = NULL;
        gint64 t0 = g_get_monotonic_time();
        int status = -1;

        g_clear_error(&local);
        if (!ferry_ssh_session_run_within(ssh, argv, WITNESS_COMMAND_MS, NULL, &err, &status,
                                          &local)) {
            probe->result = FERRY_PROBE_FAILED;
            probe->detail = g_strdup(local->message);
            job->answered = FALSE;
        } else if (status == 0) {
            probe->result = FERRY_PROBE_OPEN;
        } else if (err && strstr(err, "refused")) {
            probe->result = FERRY_PROBE_REFUSED;
        } else if (status == 124 || status == 1) {
            probe->result = FERRY_PROBE_NO_ANSWER;
        } else {
            /* 126/127: no timeout or bash there; anything else is not an answer either */
            probe->result = FERRY_PROBE_FAILED;
            job->answered = FALSE;
        }
        probe->elapsed_s = (g_get_monotonic_time() - t0) / 1e6;
        if (!probe->detail && err && *err)
            probe->detail = g_strdup(g_strstrip(err));
        if (!probe->detail && status == 124)
            probe->detail = g_strdup_printf("no answer within %d s", PROBE_TIMEOUT_S);
        g_ptr_array_add(job->probes, probe);
    }
    return NULL;
}

FerryFenceCheck *
ferry_fence_check(const FerryInventory *inventory, const FerryHost *host)
{
    g_autoptr(FerryFenceCheck) check = g_new0(FerryFenceCheck, 1);
    Endpoint ep[2] = {{0}};
    g_autoptr(GError) local = NULL;
    guint n = inventory->hosts->len;
    g_autofree WitnessJob *jobs = g_new0(WitnessJob, n + 1);
    g_autofree GThread **threads = g_new0(GThread *, n + 1);
    gboolean open = FALSE;

    check->host = g_strdup(host->name);
    check->probes = g_ptr_array_new_with_free_func((GDestroyNotify)probe_free);
    check->witnesses = g_ptr_array_new_with_free_func(g_free);
    if (!endpoints(host, ep, &local)) {
        FerryProbe *probe = g_new0(FerryProbe, 1);

        probe->from = g_strdup("ferry");
        probe->service = g_strdup("libvirtd");
        probe->result = FERRY_PROBE_FAILED;
        probe->detail = g_strdup(local->message);
        g_ptr_array_add(check->probes, probe);
        return g_steal_pointer(&check);
    }
    /* the witnesses work while ferry probes */
    for (guint i = 0; i < n; i++) {
        const FerryHost *w = g_ptr_array_index(inventory->hosts, i);

        if (w == host)
            continue;
        jobs[i] = (WitnessJob){
            .inventory = inventory, .witness = w, .ep = ep, .probes = g_ptr_array_new()};
        threads[i] = g_thread_new("ferry-witness", witness_thread, &jobs[i]);
    }
    {
        FerryProbe *mine[2];

        probe_pair_from_ferry(ep, mine);
        for (int i = 0; i < 2; i++) {
            open |= mine[i]->result == FERRY_PROBE_OPEN;
            g_ptr_array_add(check->probes, mine[i]);
        }
    }
    for (guint i = 0; i < n; i++) {
        if (!threads[i])
            continue;
        g_thread_join(threads[i]);
        for (guint j = 0; j < jobs[i].probes->len; j++) {
            FerryProbe *probe = g_ptr_array_index(jobs[i].probes, j);

            open |= probe->result == FERRY_PROBE_OPEN;
            g_ptr_array_add(check->probes, probe);
        }
        g_ptr_array_unref(jobs[i].probes);
        if (jobs[i].answered)
            g_ptr_array_add(check->witnesses, g_strdup(jobs[i].witness->name));
    }
    check->unreachable = !open && check->witnesses->len > 0;
    g_free(ep[0].address);
    g_free(ep[1].address);
    return g_steal_pointer(&check);
}

gboolean
ferry_fence_check_verdict(const FerryFenceCheck *check, GError **error)
{
    g_autoptr(GString) why_not = g_string_new(NULL);

    for (guint i = 0; i < check->probes->len; i++) {
        const FerryProbe *p = g_ptr_array_index(check->probes, i);

        if (p->result == FERRY_PROBE_FAILED && !p->address) {
            g_set_error(error, FERRY_FENCE_ERROR, FERRY_FENCE_ERROR_INVALID, "%s", p->detail);
            return FALSE;
        }
        if (p->result != FERRY_PROBE_OPEN)
            continue;
        if (g_str_equal(p->from, "ferry"))
            g_set_error(error, FERRY_FENCE_ERROR, FERRY_FENCE_ERROR_ALIVE,
                        "'%s' is not dead: ferry reaches its %s at %s:%u; nothing was changed "
                        "(stop its guests and migrate them, or power it off first)",
                        check->host, p->service, p->address, p->port);
        else
            g_set_error(error, FERRY_FENCE_ERROR, FERRY_FENCE_ERROR_ALIVE,
                        "'%s' is not dead: '%s' reaches its %s at %s:%u, so only ferry's network "
                        "is cut off from it (a partition) and its guests may still run; nothing "
                        "was changed (repair the operator's network, or power '%s' off and run "
                        "again)",
                        check->host, p->from, p->service, p->address, p->port, check->host);
        return FALSE;
    }
    if (check->witnesses->len == 0) {
        for (guint i = 0; i < check->probes->len; i++) {
            const FerryProbe *p = g_ptr_array_index(check->probes, i);

            if (p->result == FERRY_PROBE_FAILED)
                g_string_append_printf(why_not, "%s'%s': %s", why_not->len ? "; " : "", p->from,
                                       p->detail ? p->detail : "no answer");
        }
        g_set_error(error, FERRY_FENCE_ERROR, FERRY_FENCE_ERROR_NO_WITNESS,
                    "cannot prove '%s' dead: no other inventory host could be asked whether it "
                    "reaches it (%s), so a cut in ferry's own network cannot be ruled out; "
                    "nothing was changed (make another host reachable over ssh)",
                    check->host, why_not->len ? why_not->str : "there is no other host");
        return FALSE;
    }
    return TRUE;
}

gboolean
ferry_fence_still_dead(const FerryHost *host, GError **error)
{
    Endpoint ep[2] = {{0}};
    FerryProbe *probes[2];
    gboolean ok = TRUE;

    if (!endpoints(host, ep, error))
        return FALSE;
    probe_pair_from_ferry(ep, probes);
    for (int i = 0; i < 2; i++) {
        g_autoptr(FerryProbe) probe = probes[i];

        if (ok && probe->result == FERRY_PROBE_OPEN) {
            g_set_error(error, FERRY_FENCE_ERROR, FERRY_FENCE_ERROR_ALIVE,
                        "'%s' answers again: its %s at %s:%u accepted a connection", host->name,
                        ep[i].service, ep[i].address, ep[i].port);
            ok = FALSE;
        }
    }
    g_free(ep[0].address);
    g_free(ep[1].address);
    return ok;
}

typedef struct {
    GMutex lock;
    GCond cond;
    gboolean done;
    GSubprocess *proc;
    guint timeout_s;
    gboolean killed;
} FenceTimer;

static gpointer
fence_timer_thread(gpointer data)
{
    FenceTimer *t = data;
    gint64 end = g_get_monotonic_time() + t->timeout_s * G_USEC_PER_SEC;

    g_mutex_lock(&t->lock);
    while (!t->done) {
        if (!g_cond_wait_until(&t->cond, &t->lock, end)) {
            t->killed = TRUE;
            g_subprocess_force_exit(t->proc);
            break;
        }
    }
    g_mutex_unlock(&t->lock);
    return NULL;
}

gboolean
ferry_fence_run(const FerryHost *host, guint timeout_s, char **out_detail, GError **error)
{
    g_autoptr(GSubprocess) proc = NULL;
    g_autoptr(GError) local = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autofree char *command = NULL;
    FenceTimer timer = {.timeout_s = timeout_s};
    GThread *thread;
    gboolean ok;

    if (!host->fence_command || !host->fence_command[0]) {
        g_set_error(error, FERRY_FENCE_ERROR, FERRY_FENCE_ERROR_NOT_FENCED,
                    "'%s' has no fence_command", host->name);
        return FALSE;
    }
    command = g_strjoinv(" ", host->fence_command);
    proc = g_subprocess_newv((const char *const *)host->fence_command,
                             G_SUBPROCESS_FLAGS_STDIN_INHERIT | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                 G_SUBPROCESS_FLAGS_STDERR_PIPE,
                             &local);
    if (!proc) {
        g_set_error(error, FERRY_FENCE_ERROR, FERRY_FENCE_ERROR_FENCE_FAILED,
                    "the fence_command of '%s' (%s) cannot be run: %s", host->name, command,
                    local->message);
        return FALSE;
    }
    g_mutex_init(&timer.lock);
    g_cond_init(&timer.cond);
    timer.proc = proc;
    thread = g_thread_new("ferry-fence-timer", fence_timer_thread, &timer);
    ok = g_subprocess_communicate_utf8(proc, NULL, NULL, &out, &err, &local);
    g_mutex_lock(&timer.lock);
    timer.done = TRUE;
    g_cond_signal(&timer.cond);
    g_mutex_unlock(&timer.lock);
    g_thread_join(thread);
    g_mutex_clear(&timer.lock);
    g_cond_clear(&timer.cond);
    if (ok && !timer.killed)
        ok = g_subprocess_wait(proc, NULL, &local);
    if (!ok || timer.killed || !g_subprocess_get_if_exited(proc) ||
        g_subprocess_get_exit_status(proc) != 0) {
        g_autofree char *status =
            timer.killed ? g_strdup_printf("killed after %u s", timeout_s)
            : !ok        ? g_strdup(local->message)
            : g_subprocess_get_if_exited(proc)
                ? g_strdup_printf("exit status %d", g_subprocess_get_exit_status(proc))
                : g_strdup_printf("killed by signal %d", g_subprocess_get_term_sig(proc));

        g_set_error(error, FERRY_FENCE_ERROR, FERRY_FENCE_ERROR_FENCE_FAILED,
                    "the fence_command of '%s' (%s) failed: %s%s%s", host->name, command, status,
                    err && *err ? ": " : "", err ? g_strstrip(err) : "");
        return FALSE;
    }
    if (out_detail)
        *out_detail = g_strdup(out ? g_strstrip(out) : "");
    return TRUE;
}
