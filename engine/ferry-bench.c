/*
 * ferry-bench.c: the bench matrix (see ferry-bench.h).
 *
 * Both tools are run as processes (ferry's own binary, `ferry migrate --json`, and `virsh
 * migrate`), so that each one's wall time, peak RSS and CPU time are its own, and both are
 * measured the same way from outside: the libvirt job's time, downtime and bytes from the
 * source's job-completed event, the paused time from lifecycle events (the first pause on the
 * source to the last resume on the destination).  After each run the hosts are asked where the
 * guest is: running on the destination, not defined on the source.
 */
#include "engine/ferry-bench.h"

#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "engine/ferry-virt-util.h"
#include "ssh/ferry-remote-disk.h"
#include "ssh/ferry-ssh-session.h"
#include "xml/ferry-domain-xml.h"

/* clang-format off */
G_DEFINE_QUARK(ferry-bench-error-quark, ferry_bench_error)
/* clang-format on */

static const char *const tool_names[] = {
    [FERRY_BENCH_TOOL_FERRY] = "ferry",
    [FERRY_BENCH_TOOL_VIRSH] = "virsh",
};
G_STATIC_ASSERT(G_N_ELEMENTS(tool_names) == FERRY_BENCH_TOOL_LAST);

const char *
ferry_bench_tool_to_string(FerryBenchTool tool)
{
    return tool < FERRY_BENCH_TOOL_LAST ? tool_names[tool] : "?";
}

static void
bench_run_free(gpointer data)
{
    FerryBenchRun *r = data;

    g_free(r->guest);
    g_free(r->src);
    g_free(r->dst);
    g_free(r->error);
    g_free(r->actions);
    g_free(r);
}

static void
bench_cell_free(gpointer data)
{
    FerryBenchCell *c = data;

    g_free(c->guest);
    g_free(c);
}

void
ferry_bench_report_free(FerryBenchReport *report)
{
    if (!report)
        return;
    g_clear_pointer(&report->runs, g_ptr_array_unref);
    g_clear_pointer(&report->cells, g_ptr_array_unref);
    g_clear_pointer(&report->marginals, g_array_unref);
    g_free(report);
}

static int
compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

void
ferry_bench_stat(const double *values, guint n, FerryBenchStat *stat)
{
    g_autofree double *v = NULL;

    memset(stat, 0, sizeof(*stat));
    if (!n)
        return;
    v = g_memdup2(values, n * sizeof(double));
    qsort(v, n, sizeof(double), compare_doubles);
    stat->n = n;
    stat->min = v[0];
    stat->max = v[n - 1];
    stat->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- what the hosts say (events, states) ----------------------------------------------- */

typedef struct {
    GMutex lock;
    char *name;             /* the guest of the current run */
    virConnectPtr src_conn; /* the current run's source */
    gint64 src_paused_us;   /* first SUSPENDED event on the source (0: none) */
    gint64 dst_resumed_us;  /* last RESUMED event on the destination */
    gboolean completed;     /* the source's job-completed event arrived */
    guint64 job_ms, downtime_ms, mem_bytes, disk_bytes, iterations;
} BenchWatch;

static gboolean
watch_is_current(BenchWatch *w, virDomainPtr dom)
{
    const char *name = virDomainGetName(dom);

    return w->name && name && g_str_equal(name, w->name);
}

static int
on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    BenchWatch *w = opaque;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&w->lock);
    gint64 now = g_get_monotonic_time();

    if (!watch_is_current(w, dom))
        return 0;
    if (conn == w->src_conn && event == VIR_DOMAIN_EVENT_SUSPENDED && !w->src_paused_us)
        w->src_paused_us = now;
    else if (conn != w->src_conn && event == VIR_DOMAIN_EVENT_RESUMED)
        w->dst_resumed_us = now;
    return 0;
}

static int
on_job_completed(virConnectPtr conn, virDomainPtr dom, virTypedParameterPtr params, int nparams,
                 void *opaque)
{
    BenchWatch *w = opaque;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&w->lock);
    unsigned long long v;

    if (conn != w->src_conn || !watch_is_current(w, dom))
        return 0;
    w->completed = TRUE;
    if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_TIME_ELAPSED, &v) == 1)
        w->job_ms = v;
    if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_DOWNTIME, &v) == 1)
        w->downtime_ms = v;
    if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_MEMORY_PROCESSED, &v) == 1)
        w->mem_bytes = v;
    if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_DISK_PROCESSED, &v) == 1)
        w->disk_bytes = v;
    if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_MEMORY_ITERATION, &v) == 1)
        w->iterations = v;
    return 0;
}

typedef struct {
    const FerryHost *host;
    virConnectPtr conn;
    FerrySshSession *ssh;
    int lifecycle_id;
    int completed_id;
} BenchHost;

typedef struct {
    FerryInventory *inventory;
    const FerryBenchOptions *o;
    BenchHost hosts[2];
    BenchWatch watch;
    GPtrArray *created; /* char*: names of the test guests bench made */
} FerryBench;

typedef struct {
    char *name;
    guint64 disk_data_mib;
    FerryMigrateMode *modes; /* the modes this guest is run in */
    guint n_modes;
    int at; /* index of the host it is on */
} BenchGuest;

static void
bench_guest_clear(gpointer data)
{
    BenchGuest *g = data;

    g_free(g->name);
    g_free(g->modes);
}

/* Is @name defined (and how) on @h?  FALSE with @error when the host cannot say. */
static gboolean
host_domain_state(BenchHost *h, const char *name, gboolean *defined, int *state, GError **error)
{
    g_autoptr(virDomain) dom = virDomainLookupByName(h->conn, name);
    int reason;

    *defined = FALSE;
    *state = VIR_DOMAIN_NOSTATE;
    if (!dom) {
        virErrorPtr err = virGetLastError();

        if (err && err->code == VIR_ERR_NO_DOMAIN) {
            virResetLastError();
            return TRUE;
        }
        ferry_virt_set_error(error, "cannot ask '%s' about guest '%s'", h->host->name, name);
        return FALSE;
    }
    if (virDomainGetState(dom, state, &reason, 0) < 0) {
        ferry_virt_set_error(error, "cannot read the state of '%s' on '%s'", name, h->host->name);
        return FALSE;
    }
    *defined = TRUE;
    return TRUE;
}

/* ---- running a tool ------------------------------------------------------------------- */

typedef struct {
    char *out;
    char *err;
    int status;
    double wall_s;
    struct rusage usage;
} BenchProcess;

static void
bench_process_clear(BenchProcess *p)
{
    g_free(p->out);
    g_free(p->err);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(BenchProcess, bench_process_clear)

static gboolean
read_all(int fd, GString *into)
{
    char buf[4096];
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return FALSE;
        }
        g_string_append_len(into, buf, n);
    }
    return TRUE;
}

typedef struct {
    int fd;
    GString *text;
} BenchReader;

static gpointer
reader_main(gpointer data)
{
    BenchReader *r = data;

    read_all(r->fd, r->text);
    return NULL;
}

/* Runs @argv (no shell), its output collected, its rusage kept (wait4). */
static gboolean
bench_spawn(const char *const *argv, BenchProcess *p, GError **error)
{
    GPid pid;
    int out_fd, err_fd, status;
    gint64 start = g_get_monotonic_time();
    BenchReader out = {.text = g_string_new(NULL)}, err = {.text = g_string_new(NULL)};
    GThread *threads[2];

    if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                  G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH, NULL, NULL, &pid,
                                  NULL, &out_fd, &err_fd, error)) {
        g_string_free(out.text, TRUE);
        g_string_free(err.text, TRUE);
        return FALSE;
    }
    out.fd = out_fd;
    err.fd = err_fd;
    threads[0] = g_thread_new("bench-out", reader_main, &out);
    threads[1] = g_thread_new("bench-err", reader_main, &err);
    while (wait4(pid, &status, 0, &p->usage) < 0 && errno == EINTR)
        ;
    p->wall_s = (g_get_monotonic_time() - start) / (double)G_USEC_PER_SEC;
    g_thread_join(threads[0]);
    g_thread_join(threads[1]);
    close(out_fd);
    close(err_fd);
    g_spawn_close_pid(pid);
    p->out = g_string_free(out.text, FALSE);
    p->err = g_string_free(err.text, FALSE);
    p->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return TRUE;
}

/* The message of a failed result's "error" ({"kind", "message"}: docs/json-schema.json). */
static const char *
ferry_result_error(JsonObject *obj)
{
    JsonObject *error;

    if (!obj)
        return "no JSON result";
    if (json_object_has_member(obj, "error") &&
        JSON_NODE_HOLDS_OBJECT(json_object_get_member(obj, "error")) &&
        (error = json_object_get_object_member(obj, "error")))
        return json_object_get_string_member_with_default(error, "message", "no message");
    return "no error in the result";
}

/* The last line of ferry's --json output, its result. */
static JsonObject *
ferry_result_object(JsonParser *parser, const char *out)
{
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);

    for (int i = (int)g_strv_length(lines) - 1; i >= 0; i--) {
        JsonNode *root;
        JsonObject *obj;

        if (!lines[i][0] || !json_parser_load_from_data(parser, lines[i], -1, NULL))
            continue;
        root = json_parser_get_root(parser);
        if (!JSON_NODE_HOLDS_OBJECT(root))
            continue;
        obj = json_node_get_object(root);
        if (g_strcmp0(json_object_get_string_member_with_default(obj, "event", ""), "result") == 0)
            return obj;
    }
    return NULL;
}

static void
ferry_result_apply(JsonObject *obj, FerryBenchRun *run)
{
    JsonArray *actions = json_object_get_array_member(obj, "actions");
    JsonObject *phases = json_object_get_object_member(obj, "phases");
    g_autoptr(GString) text = g_string_new(NULL);

    run->call_s = json_object_get_double_member_with_default(obj, "call_s", 0);
    run->suspended_s = json_object_get_double_member_with_default(obj, "suspended_s", 0);
    for (guint i = 0; actions && i < json_array_get_length(actions); i++) {
        JsonObject *a = json_array_get_object_element(actions, i);
        const char *name = json_object_get_string_member_with_default(a, "action", "?");

        g_string_append_printf(text, "%s%s@%.1f", text->len ? " " : "", name,
                               json_object_get_double_member_with_default(a, "at_s", 0));
    }
    run->actions = g_string_free(g_steal_pointer(&text), FALSE);
    for (int i = 0; phases && i < FERRY_PHASE_DONE; i++) {
        g_autofree char *key = g_strdup_printf("%s_s", ferry_phase_to_string(i));

        run->phase_s[i] = json_object_get_double_member_with_default(phases, key, 0);
    }
}

/* ---- test guests ---------------------------------------------------------------------- */

static char *
test_guest_image(const FerryHost *host, const char *name)
{
    return g_strdup_printf("%s/%s.qcow2", host->images_dir, name);
}

static char *
test_guest_xml(const FerryBenchOptions *o, const char *name, const char *image)
{
    g_autoptr(GString) xml = g_string_new(NULL);
    g_autofree char *head = g_markup_printf_escaped(
        "<domain type='%s'>\n  <name>%s</name>\n  <memory unit='MiB'>%" G_GUINT64_FORMAT
        "</memory>\n  <vcpu>1</vcpu>\n  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n",
        o->virt_type, name, o->ram_mib);

    g_string_append(xml, head);
    if (o->workload_kernel) {
        g_autofree char *k =
            g_markup_printf_escaped("    <kernel>%s</kernel>\n    <cmdline>%s</cmdline>\n",
                                    o->workload_kernel, o->workload_args ? o->workload_args : "");
        g_string_append(xml, k);
    } else {
        g_string_append(xml, "    <boot dev='hd'/>\n");
    }
    g_string_append(xml, "  </os>\n  <features><acpi/></features>\n"
                         "  <cpu mode='custom' match='exact'><model fallback='forbid'>qemu64"
                         "</model></cpu>\n  <clock offset='utc'/>\n  <devices>\n");
    if (image) {
        g_autofree char *d = g_markup_printf_escaped(
            "    <disk type='file' device='disk'>\n"
            "      <driver name='qemu' type='qcow2' cache='none'/>\n"
            "      <source file='%s'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n",
            image);
        g_string_append(xml, d);
    }
    g_string_append(xml, "    <memballoon model='none'/>\n  </devices>\n</domain>\n");
    return g_string_free(g_steal_pointer(&xml), FALSE);
}

static gboolean
ssh_check(BenchHost *h, const char *const *argv, GError **error)
{
    return ferry_ssh_session_check(h->ssh, argv, NULL, error);
}

static gboolean
test_guest_create(FerryBench *b, BenchGuest *g, GError **error)
{
    BenchHost *h = &b->hosts[0];
    g_autofree char *image = NULL;
    g_autofree char *xml = NULL;
    g_autoptr(virDomain) dom = NULL;

    for (int i = 0; i < 2; i++) {
        gboolean defined;
        int state;

        if (!host_domain_state(&b->hosts[i], g->name, &defined, &state, error))
            return FALSE;
        if (defined) {
            g_set_error(error, FERRY_BENCH_ERROR, FERRY_BENCH_ERROR_SETUP,
                        "test guest '%s' already exists on '%s' (left by an earlier bench?): "
                        "remove it first",
                        g->name, b->hosts[i].host->name);
            return FALSE;
        }
    }
    if (g->disk_data_mib) {
        /* written whole: the bytes libvirt counts as processed (zero regions included) are the
         * bytes that cross the link, so that link use means what it says */
        g_autofree char *size = g_strdup_printf("%" G_GUINT64_FORMAT "M", g->disk_data_mib);
        g_autofree char *write =
            g_strdup_printf("write -P 0xa5 0 %" G_GUINT64_FORMAT "M", g->disk_data_mib);
        g_autoptr(GPtrArray) create = NULL;

        image = test_guest_image(h->host, g->name);
        for (int i = 0; i < 2; i++) {
            const char *test[] = {"test", "!", "-e", image, NULL};
            g_autofree char *other = test_guest_image(b->hosts[i].host, g->name);

            test[3] = other;
            if (!ssh_check(&b->hosts[i], test, error)) {
                g_prefix_error(error, "a file '%s' is in the way on '%s': ", other,
                               b->hosts[i].host->name);
                return FALSE;
            }
        }
        create = ferry_image_create_argv("qcow2", NULL, NULL, image, size);
        {
            const char *io[] = {"qemu-io", "-f", "qcow2", "-c", write, image, NULL};

            g_ptr_array_add(b->created, g_strdup(g->name));
            if (!ssh_check(h, (const char *const *)create->pdata, error) ||
                !ssh_check(h, io, error)) {
                g_prefix_error(error, "cannot make the disk of test guest '%s' on '%s': ", g->name,
                               h->host->name);
                return FALSE;
            }
        }
    } else {
        g_ptr_array_add(b->created, g_strdup(g->name));
    }
    xml = test_guest_xml(b->o, g->name, image);
    if (!(dom = virDomainDefineXML(h->conn, xml)) || virDomainCreate(dom) < 0) {
        ferry_virt_set_error(error, "cannot start test guest '%s' on '%s'", g->name, h->host->name);
        return FALSE;
    }
    g->at = 0;
    return TRUE;
}

/* Removes a test guest bench made, wherever the hosts say it is, with its disk there. */
static void
test_guest_remove(FerryBench *b, const char *name)
{
    for (int i = 0; i < 2; i++) {
        BenchHost *h = &b->hosts[i];
        g_autoptr(virDomain) dom = virDomainLookupByName(h->conn, name);
        g_autofree char *image = test_guest_image(h->host, name);
        const char *rm[] = {"rm", "-f", "--", image, NULL};

        if (!dom) {
            virResetLastError();
            /* a disk without its guest here is a copy bench or ferry left: not the only one */
        } else {
            if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0)
                virResetLastError();
            if (virDomainUndefine(dom) < 0) {
                virResetLastError();
                continue; /* still defined: keep its disk */
            }
        }
        if (!ferry_ssh_session_run(h->ssh, rm, NULL, NULL, NULL, NULL))
            g_debug("cannot remove '%s' on '%s'", image, h->host->name);
    }
}

/* ---- one run -------------------------------------------------------------------------- */

/* The disks virsh must find on the destination: block modes need them created there (ferry
 * does that itself).  Only plain local images in the source's images_dir are supported. */
static gboolean
virsh_dst_prepare(FerryBench *b, BenchHost *src, BenchHost *dst, const char *name, GString *targets,
                  GError **error)
{
    g_autoptr(virDomain) dom = virDomainLookupByName(src->conn, name);
    g_autofree char *text = NULL;
    g_autoptr(FerryDomainXml) xml = NULL;

    if (!dom || !(text = virDomainGetXMLDesc(dom, 0))) {
        ferry_virt_set_error(error, "cannot read '%s' on '%s'", name, src->host->name);
        return FALSE;
    }
    if (!(xml = ferry_domain_xml_parse(text, name, error)))
        return FALSE;
    if (g_strcmp0(src->host->images_dir, dst->host->images_dir) != 0) {
        g_set_error(error, FERRY_BENCH_ERROR, FERRY_BENCH_ERROR_INVALID,
                    "the virsh side needs the same images_dir on '%s' and '%s'", src->host->name,
                    dst->host->name);
        return FALSE;
    }
    for (guint i = 0; i < ferry_domain_xml_get_def(xml)->disks->len; i++) {
        FerryDomainDisk *d = g_ptr_array_index(ferry_domain_xml_get_def(xml)->disks, i);
        virDomainBlockInfo info;
        g_autofree char *size = NULL;
        g_autoptr(GPtrArray) argv = NULL;

        if (g_strcmp0(d->type, "file") != 0 || g_strcmp0(d->device, "disk") != 0 || d->readonly ||
            d->shareable || !d->source || !g_str_has_prefix(d->source, src->host->images_dir))
            continue;
        if (d->backing_chain && d->backing_chain->len) {
            g_set_error(error, FERRY_BENCH_ERROR, FERRY_BENCH_ERROR_INVALID,
                        "disk '%s' of '%s' has a backing file: the virsh side supports plain "
                        "images only",
                        d->target, name);
            return FALSE;
        }
        if (virDomainGetBlockInfo(dom, d->target, &info, 0) < 0) {
            ferry_virt_set_error(error, "cannot read the size of disk '%s' of '%s'", d->target,
                                 name);
            return FALSE;
        }
        size = g_strdup_printf("%llu", info.capacity);
        argv = ferry_image_create_argv(d->driver_type ? d->driver_type : "raw", NULL, NULL,
                                       d->source, size);
        if (!ssh_check(dst, (const char *const *)argv->pdata, error)) {
            g_prefix_error(error, "cannot create '%s' on '%s' for virsh: ", d->source,
                           dst->host->name);
            return FALSE;
        }
        g_string_append_printf(targets, "%s%s", targets->len ? "," : "", d->target);
    }
    return TRUE;
}

/* After a virsh block run the source keeps its copies (virsh does not remove them): removed
 * once the hosts say the guest runs on the destination and is not defined on the source. */
static void
virsh_src_cleanup(FerryBench *b, BenchHost *src, BenchHost *dst, const char *name)
{
    g_autoptr(virDomain) dom = virDomainLookupByName(dst->conn, name);
    g_autofree char *text = dom ? virDomainGetXMLDesc(dom, 0) : NULL;
    g_autoptr(FerryDomainXml) xml = text ? ferry_domain_xml_parse(text, name, NULL) : NULL;

    if (!xml) {
        virResetLastError();
        return;
    }
    for (guint i = 0; i < ferry_domain_xml_get_def(xml)->disks->len; i++) {
        FerryDomainDisk *d = g_ptr_array_index(ferry_domain_xml_get_def(xml)->disks, i);
        const char *rm[] = {"rm", "-f", "--", d->source, NULL};

        if (g_strcmp0(d->type, "file") != 0 || g_strcmp0(d->device, "disk") != 0 || d->readonly ||
            d->shareable || !d->source || !g_str_has_prefix(d->source, src->host->images_dir))
            continue;
        if (!ferry_ssh_session_run(src->ssh, rm, NULL, NULL, NULL, NULL))
            g_debug("cannot remove '%s' on '%s'", d->source, src->host->name);
    }
}

static const char *
virsh_storage_flag(FerryMigrateMode mode)
{
    switch (mode) {
    case FERRY_MIGRATE_MODE_BLOCK:
        return "--copy-storage-inc";
    case FERRY_MIGRATE_MODE_BLOCK_FULL:
        return "--copy-storage-all";
    default:
        return NULL;
    }
}

static void
watch_begin(BenchWatch *w, const char *name, virConnectPtr src_conn)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&w->lock);

    g_free(w->name);
    w->name = g_strdup(name);
    w->src_conn = src_conn;
    w->src_paused_us = w->dst_resumed_us = 0;
    w->completed = FALSE;
    w->job_ms = w->downtime_ms = w->mem_bytes = w->disk_bytes = w->iterations = 0;
}

/* The hosts' word on the run: running on @dst, not defined on @src. */
static gboolean
run_verify(FerryBench *b, BenchHost *src, BenchHost *dst, const char *name, GError **error)
{
    gboolean src_defined, dst_defined;
    int src_state, dst_state;

    if (!host_domain_state(src, name, &src_defined, &src_state, error) ||
        !host_domain_state(dst, name, &dst_defined, &dst_state, error))
        return FALSE;
    if (src_defined || !dst_defined || dst_state != VIR_DOMAIN_RUNNING) {
        g_set_error(error, FERRY_BENCH_ERROR, FERRY_BENCH_ERROR_RUN,
                    "after the run '%s' is %s on '%s' and %s on '%s'", name,
                    src_defined ? ferry_virt_state_to_string(src_state) : "absent", src->host->name,
                    dst_defined ? ferry_virt_state_to_string(dst_state) : "absent",
                    dst->host->name);
        return FALSE;
    }
    return TRUE;
}

static gboolean
bench_one(FerryBench *b, BenchGuest *g, FerryBenchTool tool, FerryMigrateMode mode,
          FerryBenchRun *run, GError **error)
{
    const FerryBenchOptions *o = b->o;
    BenchHost *src = &b->hosts[g->at], *dst = &b->hosts[1 - g->at];
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GString) targets = g_string_new(NULL);
    g_auto(BenchProcess) p = {0};
    gint64 wait_until;

    run->src = g_strdup(src->host->name);
    run->dst = g_strdup(dst->host->name);
    if (tool == FERRY_BENCH_TOOL_FERRY) {
        g_ptr_array_add(argv, g_strdup(o->ferry_path));
        g_ptr_array_add(argv, g_strdup("--config"));
        g_ptr_array_add(argv, g_strdup(b->inventory->path));
        g_ptr_array_add(argv, g_strdup("migrate"));
        g_ptr_array_add(argv, g_strdup(g->name));
        g_ptr_array_add(argv, g_strdup("--from"));
        g_ptr_array_add(argv, g_strdup(src->host->name));
        g_ptr_array_add(argv, g_strdup("--to"));
        g_ptr_array_add(argv, g_strdup(dst->host->name));
        g_ptr_array_add(argv, g_strdup("--mode"));
        g_ptr_array_add(argv, g_strdup(ferry_migrate_mode_to_string(mode)));
        g_ptr_array_add(argv, g_strdup("--json"));
        g_ptr_array_add(argv, g_strdup("--no-nova"));
        if (o->timeout_s > 0) {
            g_ptr_array_add(argv, g_strdup("--timeout"));
            g_ptr_array_add(argv, g_strdup_printf("%g", o->timeout_s));
            g_ptr_array_add(argv, g_strdup("--on-timeout"));
            g_ptr_array_add(argv, g_strdup("suspend"));
        }
    } else {
        const char *storage = virsh_storage_flag(mode);

        if (storage && !virsh_dst_prepare(b, src, dst, g->name, targets, error))
            return FALSE;
        g_ptr_array_add(argv, g_strdup(o->virsh_path ? o->virsh_path : "virsh"));
        g_ptr_array_add(argv, g_strdup("-q"));
        g_ptr_array_add(argv, g_strdup("-c"));
        g_ptr_array_add(argv, g_strdup(src->host->uri));
        g_ptr_array_add(argv, g_strdup("migrate"));
        g_ptr_array_add(argv, g_strdup("--live"));
        g_ptr_array_add(argv, g_strdup("--p2p"));
        g_ptr_array_add(argv, g_strdup("--persistent"));
        g_ptr_array_add(argv, g_strdup("--undefinesource"));
        if (storage && targets->len) {
            g_ptr_array_add(argv, g_strdup(storage));
            g_ptr_array_add(argv, g_strdup("--migrate-disks"));
            g_ptr_array_add(argv, g_strdup(targets->str));
        }
        if (o->timeout_s > 0) {
            g_ptr_array_add(argv, g_strdup("--timeout"));
            g_ptr_array_add(argv, g_strdup_printf("%d", MAX(1, (int)lround(o->timeout_s))));
            g_ptr_array_add(argv, g_strdup("--timeout-suspend"));
        }
    }
    if (o->tls)
        g_ptr_array_add(argv, g_strdup("--tls"));
    if (tool == FERRY_BENCH_TOOL_VIRSH) {
        g_ptr_array_add(argv, g_strdup(g->name));
        g_ptr_array_add(argv, g_strdup(dst->host->peer_uri));
    }
    g_ptr_array_add(argv, NULL);

    watch_begin(&b->watch, g->name, src->conn);
    if (!bench_spawn((const char *const *)argv->pdata, &p, error))
        return FALSE;
    run->wall_s = p.wall_s;
    run->cpu_s = p.usage.ru_utime.tv_sec + p.usage.ru_utime.tv_usec / 1e6 +
                 p.usage.ru_stime.tv_sec + p.usage.ru_stime.tv_usec / 1e6;
    run->peak_rss_kib = (guint64)p.usage.ru_maxrss;

    if (tool == FERRY_BENCH_TOOL_FERRY) {
        g_autoptr(JsonParser) parser = json_parser_new();
        JsonObject *obj = ferry_result_object(parser, p.out);

        if (obj && json_object_get_boolean_member_with_default(obj, "ok", FALSE))
            ferry_result_apply(obj, run);
        else if (p.status == 0)
            p.status = -2;
        if (p.status != 0)
            run->error = g_strdup(ferry_result_error(obj));
        run->own_s = run->call_s > 0 ? run->wall_s - run->call_s : 0;
    } else if (p.status != 0) {
        run->error = g_strdup(g_strstrip(p.err));
    }

    /* the events of the end of the job may still be on their way */
    wait_until = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
    for (;;) {
        gboolean done;

        g_mutex_lock(&b->watch.lock);
        done = b->watch.completed && b->watch.dst_resumed_us;
        g_mutex_unlock(&b->watch.lock);
        if (done || p.status != 0 || g_get_monotonic_time() > wait_until)
            break;
        g_usleep(20000);
    }
    g_mutex_lock(&b->watch.lock);
    run->job_s = b->watch.job_ms / 1000.0;
    run->downtime_ms = (double)b->watch.downtime_ms;
    run->mem_bytes = b->watch.mem_bytes;
    run->disk_bytes = b->watch.disk_bytes;
    run->iterations = b->watch.iterations;
    if (b->watch.src_paused_us && b->watch.dst_resumed_us > b->watch.src_paused_us)
        run->paused_s = (b->watch.dst_resumed_us - b->watch.src_paused_us) / (double)G_USEC_PER_SEC;
    g_mutex_unlock(&b->watch.lock);
    if (run->job_s > 0) {
        run->throughput_bps = (run->mem_bytes + run->disk_bytes) / run->job_s;
        if (o->link_mbit > 0)
            run->link_use = run->throughput_bps * 8 / (o->link_mbit * 1e6);
    }

    if (p.status != 0) {
        g_set_error(error, FERRY_BENCH_ERROR, FERRY_BENCH_ERROR_RUN,
                    "%s moving '%s' from '%s' to '%s' failed (status %d): %s",
                    ferry_bench_tool_to_string(tool), g->name, src->host->name, dst->host->name,
                    p.status, run->error ? run->error : "");
        return FALSE;
    }
    if (!run_verify(b, src, dst, g->name, error))
        return FALSE;
    if (tool == FERRY_BENCH_TOOL_VIRSH && targets->len)
        virsh_src_cleanup(b, src, dst, g->name);
    if (!b->watch.completed) {
        g_set_error(error, FERRY_BENCH_ERROR, FERRY_BENCH_ERROR_RUN,
                    "no job-completed event from '%s' for '%s'", src->host->name, g->name);
        return FALSE;
    }
    g->at = 1 - g->at;
    run->ok = TRUE;
    return TRUE;
}

/* ---- the matrix ----------------------------------------------------------------------- */

/* After a failed run: where the hosts say the guest is, added to *@error (set). */
static void
bench_tell_where(FerryBench *b, const char *name, GError **error)
{
    g_autoptr(GString) where = g_string_new(NULL);

    for (int i = 0; i < 2; i++) {
        g_autoptr(GError) local = NULL;
        gboolean defined;
        int state;

        if (!host_domain_state(&b->hosts[i], name, &defined, &state, &local))
            g_string_append_printf(where, "%s%s cannot say (%s)", i ? ", " : "",
                                   b->hosts[i].host->name, local->message);
        else
            g_string_append_printf(where, "%s%s on %s", i ? ", " : "",
                                   defined ? ferry_virt_state_to_string(state) : "absent",
                                   b->hosts[i].host->name);
    }
    {
        GError *old = *error;

        *error = g_error_new(old->domain, old->code, "%s (the hosts say '%s' is %s)", old->message,
                             name, where->str);
        g_error_free(old);
    }
}

static gboolean
bench_connect(FerryBench *b, int i, const char *name, GError **error)
{
    BenchHost *h = &b->hosts[i];
    FerrySshConfig config;

    if (!(h->host = ferry_inventory_get_host(b->inventory, name, error)))
        return FALSE;
    if (!(h->conn = ferry_virt_connect_full(h->host->uri, h->host->name,
                                            b->inventory->connect_timeout, error)))
        return FALSE;
    ferry_inventory_ssh_config(b->inventory, h->host, &config);
    if (!(h->ssh = ferry_ssh_session_open(&config, error)))
        return FALSE;
    h->lifecycle_id =
        virConnectDomainEventRegisterAny(h->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                         VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), &b->watch, NULL);
    h->completed_id = virConnectDomainEventRegisterAny(
        h->conn, NULL, VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
        VIR_DOMAIN_EVENT_CALLBACK(on_job_completed), &b->watch, NULL);
    if (h->lifecycle_id < 0 || h->completed_id < 0) {
        ferry_virt_set_error(error, "cannot watch the events of '%s'", h->host->name);
        return FALSE;
    }
    return TRUE;
}

static void
bench_disconnect(BenchHost *h)
{
    if (h->conn) {
        if (h->lifecycle_id >= 0)
            virConnectDomainEventDeregisterAny(h->conn, h->lifecycle_id);
        if (h->completed_id >= 0)
            virConnectDomainEventDeregisterAny(h->conn, h->completed_id);
        virResetLastError();
    }
    g_clear_pointer(&h->ssh, ferry_ssh_session_free);
    g_clear_pointer(&h->conn, virConnectClose);
}

static gboolean
same_cell(const FerryBenchRun *r, FerryBenchTool tool, FerryMigrateMode mode, const char *guest)
{
    return r->ok && r->tool == tool && r->mode == mode && g_str_equal(r->guest, guest);
}

#define STAT_OF(field, expr)                                                                       \
    do {                                                                                           \
        guint n_ = 0;                                                                              \
        for (guint k_ = 0; k_ < runs->len; k_++) {                                                 \
            const FerryBenchRun *x = g_ptr_array_index(runs, k_);                                  \
            if (same_cell(x, c->tool, c->mode, c->guest))                                          \
                v[n_++] = (expr);                                                                  \
        }                                                                                          \
        ferry_bench_stat(v, n_, &c->field);                                                        \
    } while (0)

static void
report_cells(FerryBenchReport *report)
{
    GPtrArray *runs = report->runs;
    g_autofree double *v = g_new0(double, runs->len + 1);
    g_autofree double *w = g_new0(double, runs->len + 1);

    report->cells = g_ptr_array_new_with_free_func(bench_cell_free);
    for (guint i = 0; i < runs->len; i++) {
        const FerryBenchRun *r = g_ptr_array_index(runs, i);
        FerryBenchCell *c;
        gboolean seen = FALSE;

        for (guint j = 0; j < report->cells->len && !seen; j++) {
            c = g_ptr_array_index(report->cells, j);
            seen = c->tool == r->tool && c->mode == r->mode && g_str_equal(c->guest, r->guest);
        }
        if (seen || !r->ok)
            continue;
        c = g_new0(FerryBenchCell, 1);
        c->tool = r->tool;
        c->mode = r->mode;
        c->guest = g_strdup(r->guest);
        c->disk_data_mib = r->disk_data_mib;
        STAT_OF(wall_s, x->wall_s);
        STAT_OF(job_s, x->job_s);
        STAT_OF(own_s, x->own_s);
        STAT_OF(downtime_ms, x->downtime_ms);
        STAT_OF(paused_s, x->paused_s);
        STAT_OF(bytes, (double)(x->mem_bytes + x->disk_bytes));
        STAT_OF(link_use, x->link_use);
        STAT_OF(cpu_s, x->cpu_s);
        STAT_OF(rss_kib, (double)x->peak_rss_kib);
        g_ptr_array_add(report->cells, c);
    }

    /* ferry / virsh: each ferry run against the virsh run that followed it (same repetition) */
    for (guint j = 0; j < report->cells->len; j++) {
        FerryBenchCell *c = g_ptr_array_index(report->cells, j);
        guint n = 0;

        if (c->tool != FERRY_BENCH_TOOL_FERRY)
            continue;
        for (guint i = 0; i < runs->len; i++) {
            const FerryBenchRun *f = g_ptr_array_index(runs, i);

            if (!same_cell(f, FERRY_BENCH_TOOL_FERRY, c->mode, c->guest))
                continue;
            for (guint k = i + 1; k < runs->len; k++) {
                const FerryBenchRun *x = g_ptr_array_index(runs, k);

                if (x->rep == f->rep && same_cell(x, FERRY_BENCH_TOOL_VIRSH, c->mode, c->guest) &&
                    x->wall_s > 0 && x->job_s > 0) {
                    v[n] = f->wall_s / x->wall_s;
                    w[n++] = f->job_s / x->job_s;
                    break;
                }
            }
        }
        ferry_bench_stat(v, n, &c->ratio_wall);
        ferry_bench_stat(w, n, &c->ratio_job);
    }
}

/* Δbytes ÷ Δtime between the two smallest disk sizes of each tool and mode. */
static void
report_marginals(FerryBenchReport *report)
{
    report->marginals = g_array_new(FALSE, TRUE, sizeof(FerryBenchMarginal));
    for (int tool = 0; tool < FERRY_BENCH_TOOL_LAST; tool++) {
        for (int mode = 0; mode < FERRY_MIGRATE_MODE_LAST; mode++) {
            const FerryBenchCell *lo = NULL, *hi = NULL;
            FerryBenchMarginal m = {.tool = tool, .mode = mode};

            for (guint j = 0; j < report->cells->len; j++) {
                const FerryBenchCell *c = g_ptr_array_index(report->cells, j);

                if ((int)c->tool != tool || (int)c->mode != mode || !c->disk_data_mib)
                    continue;
                if (!lo || c->disk_data_mib < lo->disk_data_mib) {
                    hi = lo;
                    lo = c;
                } else if (!hi || c->disk_data_mib < hi->disk_data_mib) {
                    hi = c;
                }
            }
            if (!lo || !hi)
                continue;
            m.delta_bytes = hi->bytes.median - lo->bytes.median;
            m.delta_wall_s = hi->wall_s.median - lo->wall_s.median;
            if (m.delta_wall_s <= 0 || m.delta_bytes <= 0)
                continue;
            if (report->link_mbit > 0)
                m.marginal_link_use =
                    m.delta_bytes * 8 / m.delta_wall_s / (report->link_mbit * 1e6);
            m.fixed_s = lo->wall_s.median - lo->bytes.median * m.delta_wall_s / m.delta_bytes;
            g_array_append_val(report->marginals, m);
        }
    }
}

static gboolean
bench_check_options(const FerryBenchOptions *o, GError **error)
{
    if (!o->host_a || !o->host_b || g_str_equal(o->host_a, o->host_b)) {
        g_set_error(error, FERRY_BENCH_ERROR, FERRY_BENCH_ERROR_INVALID,
                    "bench needs two different hosts");
        return FALSE;
    }
    if (!o->n_modes || !o->reps || (!o->guests && !o->ram_mib) || !o->ferry_path) {
        g_set_error(error, FERRY_BENCH_ERROR, FERRY_BENCH_ERROR_INVALID,
                    "bench needs modes, repetitions and guests (named, or a RAM size)");
        return FALSE;
    }
    for (guint i = 0; i < o->n_modes; i++) {
        if (o->modes[i] != FERRY_MIGRATE_MODE_SHARED && o->modes[i] != FERRY_MIGRATE_MODE_BLOCK &&
            o->modes[i] != FERRY_MIGRATE_MODE_BLOCK_FULL) {
            g_set_error(error, FERRY_BENCH_ERROR, FERRY_BENCH_ERROR_INVALID,
                        "bench runs live modes only: shared, block, block-full, not '%s'",
                        ferry_migrate_mode_to_string(o->modes[i]));
            return FALSE;
        }
    }
    return TRUE;
}

/* The guests and the modes each is run in. */
static GArray *
bench_guests(const FerryBenchOptions *o)
{
    GArray *guests = g_array_new(FALSE, TRUE, sizeof(BenchGuest));

    g_array_set_clear_func(guests, bench_guest_clear);
    if (o->guests) {
        for (guint i = 0; o->guests[i]; i++) {
            BenchGuest g = {.name = g_strdup(o->guests[i]), .n_modes = o->n_modes};

            g.modes = g_memdup2(o->modes, o->n_modes * sizeof(FerryMigrateMode));
            g_array_append_val(guests, g);
        }
        return guests;
    }
    for (guint i = 0; i < o->n_modes; i++) {
        gboolean shared = o->modes[i] == FERRY_MIGRATE_MODE_SHARED;

        for (guint s = 0; s < (shared ? 1 : MAX(o->n_sizes, 1)); s++) {
            guint64 mib = shared || !o->n_sizes ? 0 : o->disk_data_mib[s];
            g_autofree char *name =
                mib ? g_strdup_printf("fbench-m%" G_GUINT64_FORMAT "-d%" G_GUINT64_FORMAT,
                                      o->ram_mib, mib)
                    : g_strdup_printf("fbench-m%" G_GUINT64_FORMAT "-nodisk", o->ram_mib);
            BenchGuest *found = NULL;

            for (guint j = 0; j < guests->len && !found; j++) {
                BenchGuest *g = &g_array_index(guests, BenchGuest, j);
                if (g_str_equal(g->name, name))
                    found = g;
            }
            if (!found) {
                BenchGuest g = {.name = g_steal_pointer(&name), .disk_data_mib = mib};

                g.modes = g_new0(FerryMigrateMode, o->n_modes);
                g_array_append_val(guests, g);
                found = &g_array_index(guests, BenchGuest, guests->len - 1);
            }
            found->modes[found->n_modes++] = o->modes[i];
        }
    }
    return guests;
}

FerryBenchReport *
ferry_bench_run(FerryInventory *inventory, const FerryBenchOptions *o, GError **error)
{
    g_autoptr(FerryBenchReport) report = g_new0(FerryBenchReport, 1);
    g_autoptr(GArray) guests = NULL;
    FerryBench b = {.inventory = inventory, .o = o};
    g_autoptr(GError) local = NULL;
    guint total = 0, index = 0;
    guint ntools = o->with_virsh ? 2 : 1;
    gint64 start = g_get_monotonic_time();

    if (!bench_check_options(o, error))
        return NULL;
    g_mutex_init(&b.watch.lock);
    b.hosts[0].lifecycle_id = b.hosts[0].completed_id = -1;
    b.hosts[1].lifecycle_id = b.hosts[1].completed_id = -1;
    b.created = g_ptr_array_new_with_free_func(g_free);
    report->runs = g_ptr_array_new_with_free_func(bench_run_free);
    report->link_mbit = o->link_mbit;
    report->with_virsh = o->with_virsh;
    report->started_unix = g_get_real_time() / (double)G_USEC_PER_SEC;
    guests = bench_guests(o);

    if (!bench_connect(&b, 0, o->host_a, &local) || !bench_connect(&b, 1, o->host_b, &local))
        goto out;
    for (guint i = 0; i < guests->len; i++) {
        BenchGuest *g = &g_array_index(guests, BenchGuest, i);

        total += g->n_modes * o->reps * ntools;
        if (!o->guests) {
            if (!test_guest_create(&b, g, &local))
                goto out;
        } else {
            gboolean defined;
            int state;

            if (!host_domain_state(&b.hosts[0], g->name, &defined, &state, &local))
                goto out;
            if (!defined || state != VIR_DOMAIN_RUNNING) {
                g_set_error(&local, FERRY_BENCH_ERROR, FERRY_BENCH_ERROR_INVALID,
                            "guest '%s' must be running on '%s' (it is %s there)", g->name,
                            o->host_a, defined ? ferry_virt_state_to_string(state) : "absent");
                goto out;
            }
        }
    }

    for (guint rep = 0; rep < o->reps; rep++) {
        for (guint m = 0; m < o->n_modes; m++) {
            for (guint i = 0; i < guests->len; i++) {
                BenchGuest *g = &g_array_index(guests, BenchGuest, i);
                gboolean in_mode = FALSE;

                for (guint k = 0; k < g->n_modes; k++)
                    in_mode |= g->modes[k] == o->modes[m];
                if (!in_mode)
                    continue;
                for (guint t = 0; t < ntools; t++) {
                    FerryBenchRun *run = g_new0(FerryBenchRun, 1);
                    double done_s = (g_get_monotonic_time() - start) / (double)G_USEC_PER_SEC;
                    g_autofree char *what = NULL;

                    if (g_cancellable_set_error_if_cancelled(o->cancellable, &local)) {
                        bench_run_free(run);
                        goto out;
                    }
                    run->index = index;
                    run->tool = t;
                    run->mode = o->modes[m];
                    run->guest = g_strdup(g->name);
                    run->disk_data_mib = g->disk_data_mib;
                    run->rep = rep;
                    g_ptr_array_add(report->runs, run);
                    what =
                        g_strdup_printf("%s %s %s %s -> %s", ferry_bench_tool_to_string(t),
                                        ferry_migrate_mode_to_string(run->mode), g->name,
                                        b.hosts[g->at].host->name, b.hosts[1 - g->at].host->name);
                    if (o->progress_func)
                        o->progress_func(index + 1, total,
                                         index ? done_s / index * (total - index) : -1, what,
                                         o->progress_data);
                    index++;
                    if (!bench_one(&b, g, t, run->mode, run, &local)) {
                        if (!run->error)
                            run->error = g_strdup(local->message);
                        bench_tell_where(&b, g->name, &local);
                        goto out;
                    }
                }
            }
        }
    }

out:
    for (guint i = 0; i < b.created->len; i++)
        test_guest_remove(&b, g_ptr_array_index(b.created, i));
    bench_disconnect(&b.hosts[0]);
    bench_disconnect(&b.hosts[1]);
    g_ptr_array_unref(b.created);
    g_free(b.watch.name);
    g_mutex_clear(&b.watch.lock);
    if (local) {
        g_propagate_error(error, g_steal_pointer(&local));
        return NULL;
    }
    report->elapsed_s = (g_get_monotonic_time() - start) / (double)G_USEC_PER_SEC;
    report_cells(report);
    report_marginals(report);
    return g_steal_pointer(&report);
}

/* ---- output files --------------------------------------------------------------------- */

static gboolean
write_file(const char *path, const char *text, GError **error)
{
    if (!g_file_set_contents(path, text, -1, error)) {
        g_prefix_error(error, "cannot write '%s': ", path);
        return FALSE;
    }
    return TRUE;
}

gboolean
ferry_bench_write_csv(const FerryBenchReport *report, const char *path, GError **error)
{
    g_autoptr(GString) s = g_string_new(
        "index,tool,mode,guest,disk_data_mib,rep,src,dst,ok,wall_s,job_s,call_s,own_s,"
        "downtime_ms,paused_s,suspended_s,mem_bytes,disk_bytes,iterations,throughput_bps,"
        "link_use,peak_rss_kib,cpu_s,precheck_s,prepare_s,verify_s,cleanup_s,actions,error\n");

    for (guint i = 0; i < report->runs->len; i++) {
        const FerryBenchRun *r = g_ptr_array_index(report->runs, i);
        g_autofree char *err = g_strdup(r->error ? r->error : "");

        /* the free-text fields lose their commas and quotes, never a column */
        g_strdelimit(err, ",\"\n", ';');
        g_string_append_printf(
            s,
            "%u,%s,%s,%s,%" G_GUINT64_FORMAT ",%u,%s,%s,%d,%.3f,%.3f,%.3f,%.3f,%.0f,%.3f,%.3f,"
            "%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
            ",%.0f,%.4f,%" G_GUINT64_FORMAT ",%.3f,%.3f,%.3f,%.3f,%.3f,%s,%s\n",
            r->index, ferry_bench_tool_to_string(r->tool), ferry_migrate_mode_to_string(r->mode),
            r->guest, r->disk_data_mib, r->rep, r->src, r->dst, r->ok, r->wall_s, r->job_s,
            r->call_s, r->own_s, r->downtime_ms, r->paused_s, r->suspended_s, r->mem_bytes,
            r->disk_bytes, r->iterations, r->throughput_bps, r->link_use, r->peak_rss_kib, r->cpu_s,
            r->phase_s[FERRY_PHASE_PRECHECK], r->phase_s[FERRY_PHASE_PREPARE],
            r->phase_s[FERRY_PHASE_VERIFY], r->phase_s[FERRY_PHASE_CLEANUP],
            r->actions ? r->actions : "", err);
    }
    return write_file(path, s->str, error);
}

static void
json_stat(JsonBuilder *b, const char *name, const FerryBenchStat *st)
{
    json_builder_set_member_name(b, name);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "median");
    json_builder_add_double_value(b, st->median);
    json_builder_set_member_name(b, "min");
    json_builder_add_double_value(b, st->min);
    json_builder_set_member_name(b, "max");
    json_builder_add_double_value(b, st->max);
    json_builder_set_member_name(b, "n");
    json_builder_add_int_value(b, st->n);
    json_builder_end_object(b);
}

#define JSON_D(b, name, value)                                                                     \
    do {                                                                                           \
        json_builder_set_member_name(b, name);                                                     \
        json_builder_add_double_value(b, value);                                                   \
    } while (0)
#define JSON_I(b, name, value)                                                                     \
    do {                                                                                           \
        json_builder_set_member_name(b, name);                                                     \
        json_builder_add_int_value(b, (gint64)(value));                                            \
    } while (0)
#define JSON_S(b, name, value)                                                                     \
    do {                                                                                           \
        json_builder_set_member_name(b, name);                                                     \
        if (value)                                                                                 \
            json_builder_add_string_value(b, value);                                               \
        else                                                                                       \
            json_builder_add_null_value(b);                                                        \
    } while (0)

gboolean
ferry_bench_write_json(const FerryBenchReport *report, const char *path, GError **error)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *text = NULL;

    json_builder_begin_object(b);
    JSON_D(b, "link_mbit", report->link_mbit);
    JSON_D(b, "started_unix", report->started_unix);
    JSON_D(b, "elapsed_s", report->elapsed_s);
    json_builder_set_member_name(b, "runs");
    json_builder_begin_array(b);
    for (guint i = 0; i < report->runs->len; i++) {
        const FerryBenchRun *r = g_ptr_array_index(report->runs, i);

        json_builder_begin_object(b);
        JSON_I(b, "index", r->index);
        JSON_S(b, "tool", ferry_bench_tool_to_string(r->tool));
        JSON_S(b, "mode", ferry_migrate_mode_to_string(r->mode));
        JSON_S(b, "guest", r->guest);
        JSON_I(b, "disk_data_mib", r->disk_data_mib);
        JSON_I(b, "rep", r->rep);
        JSON_S(b, "src", r->src);
        JSON_S(b, "dst", r->dst);
        json_builder_set_member_name(b, "ok");
        json_builder_add_boolean_value(b, r->ok);
        JSON_S(b, "error", r->error);
        JSON_D(b, "wall_s", r->wall_s);
        JSON_D(b, "job_s", r->job_s);
        JSON_D(b, "call_s", r->call_s);
        JSON_D(b, "own_s", r->own_s);
        JSON_D(b, "downtime_ms", r->downtime_ms);
        JSON_D(b, "paused_s", r->paused_s);
        JSON_D(b, "suspended_s", r->suspended_s);
        JSON_I(b, "mem_bytes", r->mem_bytes);
        JSON_I(b, "disk_bytes", r->disk_bytes);
        JSON_I(b, "iterations", r->iterations);
        JSON_D(b, "throughput_bps", r->throughput_bps);
        JSON_D(b, "link_use", r->link_use);
        JSON_I(b, "peak_rss_kib", r->peak_rss_kib);
        JSON_D(b, "cpu_s", r->cpu_s);
        JSON_S(b, "actions", r->actions);
        json_builder_set_member_name(b, "phases_s");
        json_builder_begin_object(b);
        for (int k = 0; k < FERRY_PHASE_DONE; k++)
            JSON_D(b, ferry_phase_to_string(k), r->phase_s[k]);
        json_builder_end_object(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "cells");
    json_builder_begin_array(b);
    for (guint i = 0; i < report->cells->len; i++) {
        const FerryBenchCell *c = g_ptr_array_index(report->cells, i);

        json_builder_begin_object(b);
        JSON_S(b, "tool", ferry_bench_tool_to_string(c->tool));
        JSON_S(b, "mode", ferry_migrate_mode_to_string(c->mode));
        JSON_S(b, "guest", c->guest);
        JSON_I(b, "disk_data_mib", c->disk_data_mib);
        json_stat(b, "wall_s", &c->wall_s);
        json_stat(b, "job_s", &c->job_s);
        json_stat(b, "own_s", &c->own_s);
        json_stat(b, "downtime_ms", &c->downtime_ms);
        json_stat(b, "paused_s", &c->paused_s);
        json_stat(b, "bytes", &c->bytes);
        json_stat(b, "link_use", &c->link_use);
        json_stat(b, "cpu_s", &c->cpu_s);
        json_stat(b, "peak_rss_kib", &c->rss_kib);
        if (c->tool == FERRY_BENCH_TOOL_FERRY && c->ratio_wall.n) {
            json_stat(b, "ratio_wall_ferry_virsh", &c->ratio_wall);
            json_stat(b, "ratio_job_ferry_virsh", &c->ratio_job);
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "marginal");
    json_builder_begin_array(b);
    for (guint i = 0; i < report->marginals->len; i++) {
        const FerryBenchMarginal *m = &g_array_index(report->marginals, FerryBenchMarginal, i);

        json_builder_begin_object(b);
        JSON_S(b, "tool", ferry_bench_tool_to_string(m->tool));
        JSON_S(b, "mode", ferry_migrate_mode_to_string(m->mode));
        JSON_D(b, "delta_bytes", m->delta_bytes);
        JSON_D(b, "delta_wall_s", m->delta_wall_s);
        JSON_D(b, "marginal_link_use", m->marginal_link_use);
        JSON_D(b, "fixed_s", m->fixed_s);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);

    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    text = json_generator_to_data(gen, NULL);
    return write_file(path, text, error);
}

/* The plot: per cell (mode, guest) the median wall time and downtime, ferry and virsh side by
 * side, min-max as error bars; drawn by gnuplot from a data file. */
gboolean
ferry_bench_write_plot(const FerryBenchReport *report, const char *prefix, GError **error)
{
    g_autoptr(GString) dat = g_string_new("# cell ferry_wall min max virsh_wall min max "
                                          "ferry_downtime_ms min max virsh_downtime_ms min max\n");
    g_autofree char *dat_path = g_strdup_printf("%s.dat", prefix);
    g_autofree char *gp_path = g_strdup_printf("%s.gp", prefix);
    g_autofree char *png_path = g_strdup_printf("%s.png", prefix);
    g_autofree char *gp = NULL;
    g_autofree char *title = report->link_mbit > 0
                                 ? g_strdup_printf(", link %.0f Mbit/s", report->link_mbit)
                                 : g_strdup("");
    g_autofree char *err = NULL;
    int status;
    const char *argv[] = {"gnuplot", gp_path, NULL};

    for (guint i = 0; i < report->cells->len; i++) {
        const FerryBenchCell *f = g_ptr_array_index(report->cells, i);
        const FerryBenchCell *v = NULL;
        FerryBenchCell none = {0};

        if (f->tool != FERRY_BENCH_TOOL_FERRY)
            continue;
        for (guint j = 0; j < report->cells->len && !v; j++) {
            const FerryBenchCell *c = g_ptr_array_index(report->cells, j);
            if (c->tool == FERRY_BENCH_TOOL_VIRSH && c->mode == f->mode &&
                g_str_equal(c->guest, f->guest))
                v = c;
        }
        if (!v)
            v = &none;
        g_string_append_printf(dat,
                               "\"%s\\n%s\" %.3f %.3f %.3f %.3f %.3f %.3f "
                               "%.0f %.0f %.0f %.0f %.0f %.0f\n",
                               ferry_migrate_mode_to_string(f->mode), f->guest, f->wall_s.median,
                               f->wall_s.min, f->wall_s.max, v->wall_s.median, v->wall_s.min,
                               v->wall_s.max, f->downtime_ms.median, f->downtime_ms.min,
                               f->downtime_ms.max, v->downtime_ms.median, v->downtime_ms.min,
                               v->downtime_ms.max);
    }
    gp = g_strdup_printf(
        "set terminal pngcairo size 1000,700 font 'sans,9'\n"
        "set output '%s'\n"
        "set bmargin 4\n"
        "set multiplot layout 2,1 title 'ferry bench: medians, bars min-max%s'\n"
        "set style data histogram\n"
        "set style histogram errorbars gap 2 lw 1\n"
        "set style fill solid 0.6 border -1\n"
        "set key top left\n"
        "set yrange [0:*]\n"
        "set grid ytics\n"
        "set ylabel 'total time (s)'\n"
        "plot '%s' using 2:3:4:xtic(1) title 'ferry', '' using 5:6:7 title 'virsh migrate'\n"
        "set ylabel 'downtime (ms)'\n"
        "plot '%s' using 8:9:10:xtic(1) title 'ferry', '' using 11:12:13 title 'virsh migrate'\n"
        "unset multiplot\n",
        png_path, title, dat_path, dat_path);
    if (!write_file(dat_path, dat->str, error) || !write_file(gp_path, gp, error))
        return FALSE;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                      NULL, NULL, NULL, &err, &status, error)) {
        g_prefix_error(error, "cannot run gnuplot (Debian package gnuplot-nox): ");
        return FALSE;
    }
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_set_error(error, FERRY_BENCH_ERROR, FERRY_BENCH_ERROR_RUN, "gnuplot failed on '%s': %s",
                    gp_path, g_strstrip(err));
        return FALSE;
    }
    return TRUE;
}
