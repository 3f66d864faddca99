/*
 * ferry-monitor.c: the migration job watcher.
 */
#include "engine/ferry-monitor.h"

#include <string.h>

#include <libvirt/virterror.h>

#include "engine/ferry-virt-util.h"

typedef struct {
    FerryMonitorCall call;
    gpointer call_data;
    GMutex lock;
    GCond cond;
    gboolean done;
    gboolean ok;
    GError *error;
} FerryWorker;

static gpointer
worker_main(gpointer data)
{
    FerryWorker *w = data;
    GError *error = NULL;
    gboolean ok = w->call(w->call_data, &error);

    g_mutex_lock(&w->lock);
    w->ok = ok;
    w->error = error;
    w->done = TRUE;
    g_cond_signal(&w->cond);
    g_mutex_unlock(&w->lock);
    return NULL;
}

/* Waits up to @ms for the worker; TRUE when it has finished. */
static gboolean
worker_wait(FerryWorker *w, guint ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)ms * G_TIME_SPAN_MILLISECOND;
    gboolean done;

    g_mutex_lock(&w->lock);
    while (!w->done && g_cond_wait_until(&w->cond, &w->lock, deadline))
        ;
    done = w->done;
    g_mutex_unlock(&w->lock);
    return done;
}

/* One sample; FALSE when there is no job (any more): the last poll of a finished job fails with
 * "domain is not running" or "not found", which means finished, not failed. */
static gboolean
take_sample(virDomainPtr domain, double elapsed, FerryJobSample *sample)
{
    virTypedParameterPtr params = NULL;
    int nparams = 0;
    int type = VIR_DOMAIN_JOB_NONE;
    int state = 0, reason = 0;

    if (virDomainGetJobStats(domain, &type, &params, &nparams, 0) < 0) {
        virResetLastError();
        return FALSE;
    }
    if (type == VIR_DOMAIN_JOB_NONE) {
        virTypedParamsFree(params, nparams);
        return FALSE;
    }
    memset(sample, 0, sizeof(*sample));
    sample->elapsed_s = elapsed;
    ferry_job_sample_from_params(sample, params, nparams);
    virTypedParamsFree(params, nparams);
    if (virDomainGetState(domain, &state, &reason, 0) == 0) {
        sample->paused = state == VIR_DOMAIN_PAUSED;
        sample->postcopy = state == VIR_DOMAIN_PAUSED
                               ? reason == VIR_DOMAIN_PAUSED_POSTCOPY
                               : (state == VIR_DOMAIN_RUNNING &&
                                  reason == VIR_DOMAIN_RUNNING_POSTCOPY);
    } else {
        virResetLastError();
    }
    return TRUE;
}

gboolean
ferry_monitor_run(const FerryMonitorSpec *spec, FerryMonitorCall call, gpointer call_data,
                  FerryMonitorReport *report, GError **error)
{
    FerryWorker w = {.call = call, .call_data = call_data};
    guint interval = spec->interval_ms ? spec->interval_ms : 500;
    gint64 start = g_get_monotonic_time();
    GThread *thread;
    gboolean ok;

    memset(report, 0, sizeof(*report));
    g_mutex_init(&w.lock);
    g_cond_init(&w.cond);
    thread = g_thread_new("ferry-migrate", worker_main, &w);

    for (;;) {
        FerryJobSample sample;
        double elapsed;

        /* Wake often enough to react to Ctrl-C quickly, sample at the interval. */
        for (guint waited = 0; waited < interval; waited += 100) {
            if (worker_wait(&w, MIN(100, interval - waited)))
                goto finished;
            if (!report->aborted && g_cancellable_is_cancelled(spec->cancellable))
                break;
        }
        if (!report->aborted && g_cancellable_is_cancelled(spec->cancellable)) {
            report->aborted = TRUE;
            if (virDomainAbortJob(spec->domain) < 0) {
                /* The job may have just finished; the worker's result tells. */
                g_debug("abort job: %s", virGetLastErrorMessage());
                virResetLastError();
            }
        }
        elapsed = (g_get_monotonic_time() - start) / (double)G_USEC_PER_SEC;
        if (take_sample(spec->domain, elapsed, &sample)) {
            report->last = sample;
            report->n_samples++;
            if (spec->sample_func)
                spec->sample_func(&sample, spec->user_data);
        }
    }

finished:
    g_thread_join(thread);
    report->elapsed_s = (g_get_monotonic_time() - start) / (double)G_USEC_PER_SEC;
    ok = w.ok;
    if (!ok) {
        if (report->aborted) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "migration aborted (%s)",
                        w.error ? w.error->message : "no error from libvirt");
            g_clear_error(&w.error);
        } else {
            g_propagate_error(error, w.error);
        }
    }
    g_mutex_clear(&w.lock);
    g_cond_clear(&w.cond);
    return ok;
}
