/*
 * ferry-virt-util.c: libvirt error conversion, connections, job stats.
 */
#include "engine/ferry-virt-util.h"

#include <libvirt/virterror.h>

/* clang-format off */
G_DEFINE_QUARK(ferry-virt-error-quark, ferry_virt_error)
/* clang-format on */

G_GNUC_PRINTF(4, 0) static void
set_error_va(GError **error, GQuark domain, int code, const char *context_format, va_list args)
{
    virErrorPtr err = virGetLastError();
    g_autofree char *context = g_strdup_vprintf(context_format, args);

    if (domain == FERRY_VIRT_ERROR)
        code = err ? err->code : VIR_ERR_INTERNAL_ERROR;
    g_set_error(error, domain, code, "%s: %s", context,
                err && err->message ? err->message : "unknown libvirt error");
}

void
ferry_virt_set_error(GError **error, const char *context_format, ...)
{
    va_list args;

    va_start(args, context_format);
    set_error_va(error, FERRY_VIRT_ERROR, 0, context_format, args);
    va_end(args);
}

void
ferry_virt_set_error_full(GError **error, GQuark domain, int code, const char *context_format, ...)
{
    va_list args;

    va_start(args, context_format);
    set_error_va(error, domain, code, context_format, args);
    va_end(args);
}

void
ferry_error_recode(GError **error, GQuark domain, int code)
{
    GError *old;

    if (!error || !*error)
        return;
    old = *error;
    *error = g_error_new_literal(domain, code, old->message);
    g_error_free(old);
}

static gpointer
event_loop_thread(gpointer data)
{
    for (;;)
        virEventRunDefaultImpl();
    return NULL;
}

static gpointer
event_loop_start(gpointer data)
{
    if (virEventRegisterDefaultImpl() < 0)
        return GINT_TO_POINTER(FALSE);
    g_thread_unref(g_thread_new("ferry-libvirt-events", event_loop_thread, NULL));
    return GINT_TO_POINTER(TRUE);
}

static void
silence_libvirt(void *data, virErrorPtr err)
{
    /* libvirt prints every error to stderr by default; ferry reports errors itself. */
}

/* One virConnectOpen() in a thread of its own, so that a libvirtd that accepts the connection
 * but never answers (hung, stopped, a dropped link) costs the caller its deadline, not hours.
 * Shared by the caller and the thread: the last one to let go frees it, and a connection that
 * arrives after the caller gave up is closed by the thread. */
typedef struct {
    gint refs;
    GMutex lock;
    GCond cond;
    char *uri;
    gboolean done;
    virConnectPtr conn;
    char *error; /* libvirt's message (errors are per thread) */
    int code;
} FerryConnectCall;

static void
connect_call_unref(FerryConnectCall *c)
{
    if (!g_atomic_int_dec_and_test(&c->refs))
        return;
    if (c->conn)
        virConnectClose(c->conn);
    g_mutex_clear(&c->lock);
    g_cond_clear(&c->cond);
    g_free(c->uri);
    g_free(c->error);
    g_free(c);
}

static gpointer
connect_thread(gpointer data)
{
    FerryConnectCall *c = data;
    virConnectPtr conn;

    virSetErrorFunc(NULL, silence_libvirt);
    conn = virConnectOpen(c->uri);
    g_mutex_lock(&c->lock);
    if (!conn) {
        virErrorPtr err = virGetLastError();

        c->error = g_strdup(err && err->message ? err->message : "unknown libvirt error");
        c->code = err ? err->code : VIR_ERR_INTERNAL_ERROR;
    }
    c->conn = conn;
    c->done = TRUE;
    g_cond_signal(&c->cond);
    g_mutex_unlock(&c->lock);
    virResetLastError();
    connect_call_unref(c);
    return NULL;
}

virConnectPtr
ferry_virt_connect_full(const char *uri, const char *host_name, guint timeout_s, GError **error)
{
    static GOnce once = G_ONCE_INIT;
    FerryConnectCall *c;
    virConnectPtr conn = NULL;
    gint64 deadline;

    g_once(&once, event_loop_start, NULL);
    virSetErrorFunc(NULL, silence_libvirt);
    if (!timeout_s)
        timeout_s = FERRY_VIRT_CONNECT_TIMEOUT_S;
    c = g_new0(FerryConnectCall, 1);
    c->refs = 2;
    c->uri = g_strdup(uri);
    g_mutex_init(&c->lock);
    g_cond_init(&c->cond);
    g_thread_unref(g_thread_new("ferry-connect", connect_thread, c));

    deadline = g_get_monotonic_time() + (gint64)timeout_s * G_TIME_SPAN_SECOND;
    g_mutex_lock(&c->lock);
    while (!c->done && g_cond_wait_until(&c->cond, &c->lock, deadline))
        ;
    if (!c->done) {
        g_set_error(error, FERRY_VIRT_ERROR, VIR_ERR_OPERATION_TIMEOUT,
                    "cannot connect to libvirt on '%s' (%s): no answer within %u s (is its "
                    "libvirtd hung, or the host unreachable?)",
                    host_name, uri, timeout_s);
    } else if (!c->conn) {
        g_set_error(error, FERRY_VIRT_ERROR, c->code, "cannot connect to libvirt on '%s' (%s): %s",
                    host_name, uri, c->error);
    } else {
        conn = g_steal_pointer(&c->conn);
    }
    g_mutex_unlock(&c->lock);
    connect_call_unref(c);
    if (!conn)
        return NULL;
    /* Notice a dead peer within ~30 s instead of hanging on it. */
    if (GPOINTER_TO_INT(once.retval))
        (void)virConnectSetKeepAlive(conn, 5, 6);
    return conn;
}

virConnectPtr
ferry_virt_connect(const char *uri, const char *host_name, GError **error)
{
    return ferry_virt_connect_full(uri, host_name, 0, error);
}

typedef struct {
    const char *field;
    gsize offset;
} FerrySampleField;

#define SAMPLE_FIELD(name, member)                                                                 \
    {                                                                                              \
        name, G_STRUCT_OFFSET(FerryJobSample, member)                                              \
    }

static const FerrySampleField sample_fields[] = {
    SAMPLE_FIELD(VIR_DOMAIN_JOB_DATA_TOTAL, data_total),
    SAMPLE_FIELD(VIR_DOMAIN_JOB_DATA_PROCESSED, data_processed),
    SAMPLE_FIELD(VIR_DOMAIN_JOB_DATA_REMAINING, data_remaining),
    SAMPLE_FIELD(VIR_DOMAIN_JOB_MEMORY_TOTAL, mem_total),
    SAMPLE_FIELD(VIR_DOMAIN_JOB_MEMORY_PROCESSED, mem_processed),
    SAMPLE_FIELD(VIR_DOMAIN_JOB_MEMORY_REMAINING, mem_remaining),
    SAMPLE_FIELD(VIR_DOMAIN_JOB_MEMORY_BPS, mem_bps),
    SAMPLE_FIELD(VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE, mem_dirty_rate),
    SAMPLE_FIELD(VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE, mem_page_size),
    SAMPLE_FIELD(VIR_DOMAIN_JOB_MEMORY_ITERATION, mem_iteration),
    SAMPLE_FIELD(VIR_DOMAIN_JOB_DISK_TOTAL, disk_total),
    SAMPLE_FIELD(VIR_DOMAIN_JOB_DISK_PROCESSED, disk_processed),
    SAMPLE_FIELD(VIR_DOMAIN_JOB_DISK_REMAINING, disk_remaining),
    SAMPLE_FIELD(VIR_DOMAIN_JOB_DISK_BPS, disk_bps),
};

void
ferry_job_sample_from_params(FerryJobSample *sample, virTypedParameterPtr params, int nparams)
{
    unsigned long long value;

    for (gsize i = 0; i < G_N_ELEMENTS(sample_fields); i++) {
        if (virTypedParamsGetULLong(params, nparams, sample_fields[i].field, &value) == 1)
            G_STRUCT_MEMBER(guint64, sample, sample_fields[i].offset) = value;
    }
    if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_DOWNTIME, &value) == 1)
        sample->expected_downtime_ms = value;
}

static const char *const state_names[] = {
    [VIR_DOMAIN_NOSTATE] = "no state",       [VIR_DOMAIN_RUNNING] = "running",
    [VIR_DOMAIN_BLOCKED] = "blocked",        [VIR_DOMAIN_PAUSED] = "paused",
    [VIR_DOMAIN_SHUTDOWN] = "shutting down", [VIR_DOMAIN_SHUTOFF] = "shut off",
    [VIR_DOMAIN_CRASHED] = "crashed",        [VIR_DOMAIN_PMSUSPENDED] = "pm-suspended",
};
G_STATIC_ASSERT(G_N_ELEMENTS(state_names) == VIR_DOMAIN_PMSUSPENDED + 1);

const char *
ferry_virt_state_to_string(int state)
{
    if (state < 0 || state >= (int)G_N_ELEMENTS(state_names))
        return "unknown";
    return state_names[state];
}

gboolean
ferry_virt_node_memory(virConnectPtr conn, const char *host_name, guint64 *total_bytes,
                       guint64 *available_bytes, GError **error)
{
    virNodeMemoryStatsPtr params = NULL;
    int nparams = 0;
    guint64 total = 0, avail = 0;
    gboolean have_free = FALSE;

    if (virNodeGetMemoryStats(conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, NULL, &nparams, 0) < 0 ||
        nparams <= 0) {
        virNodeInfo info = {0};
        unsigned long long free_bytes;

        /* a driver without memory stats (libvirt's test driver): its free figure is all
         * there is */
        if (virGetLastErrorCode() != VIR_ERR_NO_SUPPORT) {
            ferry_virt_set_error(error, "cannot read the memory of '%s'", host_name);
            return FALSE;
        }
        virResetLastError();
        free_bytes = virNodeGetFreeMemory(conn);
        if (!free_bytes || virNodeGetInfo(conn, &info) < 0) {
            ferry_virt_set_error(error, "cannot read the memory of '%s'", host_name);
            return FALSE;
        }
        if (total_bytes)
            *total_bytes = (guint64)info.memory * 1024;
        if (available_bytes)
            *available_bytes = free_bytes;
        return TRUE;
    }
    params = g_new0(virNodeMemoryStats, nparams);
    if (virNodeGetMemoryStats(conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, params, &nparams, 0) < 0) {
        ferry_virt_set_error(error, "cannot read the memory of '%s'", host_name);
        g_free(params);
        return FALSE;
    }
    /* the values are KiB */
    for (int i = 0; i < nparams; i++) {
        const char *field = params[i].field;

        if (g_str_equal(field, VIR_NODE_MEMORY_STATS_TOTAL)) {
            total = params[i].value * 1024;
        } else if (g_str_equal(field, VIR_NODE_MEMORY_STATS_FREE)) {
            avail += params[i].value * 1024;
            have_free = TRUE;
        } else if (g_str_equal(field, VIR_NODE_MEMORY_STATS_BUFFERS) ||
                   g_str_equal(field, VIR_NODE_MEMORY_STATS_CACHED)) {
            avail += params[i].value * 1024;
        }
    }
    g_free(params);
    if (!have_free || !total) {
        g_set_error(error, FERRY_VIRT_ERROR, VIR_ERR_INTERNAL_ERROR,
                    "cannot read the memory of '%s': libvirt reports no total or free figure",
                    host_name);
        return FALSE;
    }
    if (total_bytes)
        *total_bytes = total;
    if (available_bytes)
        *available_bytes = MIN(avail, total);
    return TRUE;
}
