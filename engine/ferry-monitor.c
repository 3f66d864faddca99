/*
 * ferry-monitor.c: the migration job watcher and the hand that applies the policy.
 */
#include "engine/ferry-monitor.h"

#include <string.h>

#include <json-glib/json-glib.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>
#include <stdlib.h>

#include "engine/ferry-abort.h"
#include "engine/ferry-suspend-timing.h"
#include "engine/ferry-virt-util.h"

struct _FerryMonitorControl {
    GMutex lock;
    gboolean bandwidth_pending;
    guint64 bandwidth_mib;
};

FerryMonitorControl *
ferry_monitor_control_new(void)
{
    FerryMonitorControl *control = g_new0(FerryMonitorControl, 1);

    g_mutex_init(&control->lock);
    return control;
}

void
ferry_monitor_control_free(FerryMonitorControl *control)
{
    if (!control)
        return;
    g_mutex_clear(&control->lock);
    g_free(control);
}

void
ferry_monitor_control_set_bandwidth(FerryMonitorControl *control, guint64 mib_per_s)
{
    g_mutex_lock(&control->lock);
    control->bandwidth_pending = TRUE;
    control->bandwidth_mib = mib_per_s;
    g_mutex_unlock(&control->lock);
}

/* The speed of every disk mirror of the job (block migration).  libvirt sets it once, from the
 * migration's bandwidth, when it starts the mirrors; virDomainMigrateSetMaxSpeed changes QEMU's
 * migration max-bandwidth only, and virDomainBlockJobSetSpeed needs a MODIFY job, which the
 * migration's async job does not allow (it waits for the migration's end).  QEMU's own
 * block-job-set-speed through the monitor passthrough (a QUERY job, allowed) is what reaches
 * them; libvirt marks the domain "custom-monitor" tainted in its log for it.  Returns how many
 * mirrors were set, -1 with @error on failure. */
static int
set_mirror_speed(virDomainPtr domain, guint64 mib, GError **error)
{
    char *reply = NULL;
    g_autofree char *reply_owned = NULL;
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonNode *root;
    JsonArray *jobs;
    int n = 0;

    if (virDomainQemuMonitorCommand(domain, "{\"execute\":\"query-block-jobs\"}", &reply, 0) <
        0) {
        ferry_virt_set_error(error, "cannot list the disk mirrors (query-block-jobs)");
        return -1;
    }
    reply_owned = reply;
    if (!json_parser_load_from_data(parser, reply, -1, NULL) ||
        !(root = json_parser_get_root(parser)) || !JSON_NODE_HOLDS_OBJECT(root) ||
        !json_object_has_member(json_node_get_object(root), "return") ||
        !JSON_NODE_HOLDS_ARRAY(json_object_get_member(json_node_get_object(root), "return"))) {
        g_set_error(error, FERRY_VIRT_ERROR, VIR_ERR_INTERNAL_ERROR,
                    "unexpected query-block-jobs reply: %.200s", reply);
        return -1;
    }
    jobs = json_object_get_array_member(json_node_get_object(root), "return");
    for (guint i = 0; i < json_array_get_length(jobs); i++) {
        JsonObject *job = json_array_get_object_element(jobs, i);
        const char *device = job ? json_object_get_string_member_with_default(job, "device", NULL)
                                 : NULL;
        g_autofree char *cmd = NULL;
        g_autofree char *escaped = NULL;
        char *set_reply = NULL;

        if (!device ||
            g_strcmp0(json_object_get_string_member_with_default(job, "type", ""), "mirror"))
            continue;
        escaped = g_strescape(device, NULL);
        cmd = g_strdup_printf("{\"execute\":\"block-job-set-speed\",\"arguments\":"
                              "{\"device\":\"%s\",\"speed\":%" G_GUINT64_FORMAT "}}",
                              escaped, mib << 20);
        if (virDomainQemuMonitorCommand(domain, cmd, &set_reply, 0) < 0) {
            ferry_virt_set_error(error, "cannot set the speed of disk mirror '%s'", device);
            return -1;
        }
        if (strstr(set_reply, "\"error\"")) {
            g_set_error(error, FERRY_VIRT_ERROR, VIR_ERR_INTERNAL_ERROR,
                        "QEMU refused the speed of disk mirror '%s': %.200s", device, set_reply);
            free(set_reply);
            return -1;
        }
        free(set_reply);
        n++;
    }
    return n;
}

/* Applies a pending bandwidth change; reported like a policy action without one. */
static void
apply_control(const FerryMonitorSpec *spec, double elapsed)
{
    gboolean pending;
    guint64 mib;
    g_autofree char *reason = NULL;
    FerryMonitorAction action = {.elapsed_s = elapsed, .action = FERRY_POLICY_ACTION_NONE};

    if (!spec->control)
        return;
    g_mutex_lock(&spec->control->lock);
    pending = spec->control->bandwidth_pending;
    mib = spec->control->bandwidth_mib;
    spec->control->bandwidth_pending = FALSE;
    g_mutex_unlock(&spec->control->lock);
    if (!pending)
        return;
    reason = g_strdup_printf("bandwidth limit set to %" G_GUINT64_FORMAT " MiB/s%s", mib,
                             mib ? "" : " (unlimited)");
    action.reason = reason;
    if (virDomainMigrateSetMaxSpeed(spec->domain, mib, 0) < 0) {
        action.error = virGetLastErrorMessage();
        if (spec->action_func)
            spec->action_func(&action, spec->user_data);
        virResetLastError();
        return;
    }
    /* and the disks' copies: the same limit, for each mirror still running */
    if (spec->copies_disks) {
        g_autoptr(GError) local = NULL;
        g_autofree char *full = NULL;
        int n = set_mirror_speed(spec->domain, mib, &local);

        if (n < 0) {
            full = g_strdup_printf("%s for memory; not for the disk copy: %s", reason,
                                   local->message);
            action.reason = full;
            action.error = local->message;
        } else {
            full = g_strdup_printf("%s for memory and %d disk mirror(s)", reason, n);
            action.reason = full;
        }
        if (spec->action_func)
            spec->action_func(&action, spec->user_data);
        return;
    }
    if (spec->action_func)
        spec->action_func(&action, spec->user_data);
}

typedef struct {
    FerryMonitorCall call;
    gpointer call_data;
    GMutex lock;
    GCond cond;
    gboolean done;
    gboolean ok;
    GError *error;
    gint64 finished_us;
} FerryWorker;

static gpointer
worker_main(gpointer data)
{
    FerryWorker *w = data;
    GError *error = NULL;
    gboolean ok = w->call(w->call_data, &error);

    g_mutex_lock(&w->lock);
    w->finished_us = g_get_monotonic_time();
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
        sample->postcopy = state == VIR_DOMAIN_PAUSED ? reason == VIR_DOMAIN_PAUSED_POSTCOPY
                                                      : (state == VIR_DOMAIN_RUNNING &&
                                                         reason == VIR_DOMAIN_RUNNING_POSTCOPY);
    } else {
        virResetLastError();
    }
    return TRUE;
}

/* Applies one decision of the policy to the source domain.  Runs in the monitor's thread, while
 * the worker thread sits in the migration call: libvirt lets these calls into the job. */
static void
apply_decision(const FerryMonitorSpec *spec, FerryPolicyState *state, const FerryPolicyDecision *d,
               double elapsed, FerryMonitorReport *report)
{
    FerryMonitorAction action = {
        .elapsed_s = elapsed,
        .action = d->action,
        .downtime_ms = d->downtime_ms,
        .reason = d->reason,
    };
    gint64 now = g_get_monotonic_time();
    int rc = 0;

    switch (d->action) {
    case FERRY_POLICY_ACTION_NONE:
        break;
    case FERRY_POLICY_ACTION_SET_DOWNTIME:
        rc = virDomainMigrateSetMaxDowntime(spec->domain, d->downtime_ms, 0);
        break;
    case FERRY_POLICY_ACTION_SUSPEND:
        rc = virDomainSuspend(spec->domain);
        if (rc == 0) {
            report->suspended = TRUE;
            report->suspended_since_us = now;
        }
        break;
    case FERRY_POLICY_ACTION_POSTCOPY:
        /* past the switch an abort is no longer possible: an abort asked for before it wins
         * (the loop aborts the job at its next turn), one asked for after it is refused */
        if (!ferry_abort_gate_close(spec->cancellable,
                                    spec->postcopy_no_abort
                                        ? spec->postcopy_no_abort
                                        : "the migration has switched to post-copy: the guest "
                                          "runs on the destination and finishes moving there"))
            return;
        rc = virDomainMigrateStartPostCopy(spec->domain, 0);
        report->postcopy = rc == 0;
        if (rc < 0)
            ferry_abort_gate_open();
        break;
    case FERRY_POLICY_ACTION_ABORT:
        report->aborted = TRUE;
        report->policy_aborted = TRUE;
        rc = virDomainAbortJob(spec->domain);
        break;
    case FERRY_POLICY_ACTION_LAST:
        return;
    }
    if (rc < 0) {
        action.error = virGetLastErrorMessage();
        ferry_policy_note_failed(state, d->action);
    } else if (d->action >= FERRY_POLICY_ACTION_SUSPEND) {
        report->final_action = d->action;
        report->final_action_s = elapsed;
        g_strlcpy(report->final_reason, d->reason, sizeof(report->final_reason));
    }
    if (spec->action_func)
        spec->action_func(&action, spec->user_data);
    if (rc < 0)
        virResetLastError();
}

/* A suspend the policy decided (on @decided) waits for the end of a pass of the memory copy
 * (ferry-suspend-timing.c says when): the job is polled every FERRY_SUSPEND_TIMING_POLL_MS
 * meanwhile.  FALSE when the suspend is not to be applied at all:
 * the migration call returned meanwhile, or the operator cancelled. */
static gboolean
wait_for_pass_end(const FerryMonitorSpec *spec, FerryWorker *w, const FerryJobSample *decided,
                    gint64 start)
{
    gint64 decided_us = g_get_monotonic_time();

    for (;;) {
        FerryJobSample now;
        double elapsed = (g_get_monotonic_time() - start) / (double)G_USEC_PER_SEC;
        gboolean have = take_sample(spec->domain, elapsed, &now);
        double waited = (g_get_monotonic_time() - decided_us) / (double)G_USEC_PER_SEC;

        if (ferry_suspend_timing_apply_now(decided, have ? &now : NULL, waited)) {
            g_debug("suspend applied %.2f s after the decision (iteration %" G_GUINT64_FORMAT
                    " -> %" G_GUINT64_FORMAT ")",
                    waited, decided->mem_iteration, have ? now.mem_iteration : 0);
            return TRUE;
        }
        if (worker_wait(w, FERRY_SUSPEND_TIMING_POLL_MS) ||
            g_cancellable_is_cancelled(spec->cancellable))
            return FALSE;
    }
}

gboolean
ferry_monitor_run(const FerryMonitorSpec *spec, FerryMonitorCall call, gpointer call_data,
                  FerryMonitorReport *report, GError **error)
{
    FerryWorker w = {.call = call, .call_data = call_data};
    guint interval = spec->interval_ms ? spec->interval_ms : 500;
    gint64 start = g_get_monotonic_time();
    GThread *thread;
    FerryPolicyState policy_state;
    gboolean ok;

    memset(report, 0, sizeof(*report));
    if (spec->policy)
        ferry_policy_state_init(&policy_state, spec->mem_bytes, spec->disk_bytes);
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
        /* once aborted, libvirt's job has no figures left to show */
        if (take_sample(spec->domain, elapsed, &sample) &&
            !(report->aborted && !sample.data_total && !sample.mem_total)) {
            report->last = sample;
            report->n_samples++;
            if (spec->sample_func) {
                FerryPolicyOutlook outlook;

                if (spec->policy)
                    outlook = ferry_policy_outlook(spec->policy, &policy_state, &sample);
                spec->sample_func(&sample, spec->policy ? &outlook : NULL, spec->user_data);
            }
            if (spec->policy && !report->aborted) {
                FerryPolicyDecision d = ferry_policy_decide(spec->policy, &policy_state, &sample);

                /* a suspend lands at the end of a pass: paused for one pass, not two */
                if (d.action == FERRY_POLICY_ACTION_SUSPEND) {
                    if (!wait_for_pass_end(spec, &w, &sample, start))
                        continue;
                    elapsed = (g_get_monotonic_time() - start) / (double)G_USEC_PER_SEC;
                }
                if (d.action != FERRY_POLICY_ACTION_NONE || d.reason[0])
                    apply_decision(spec, &policy_state, &d, elapsed, report);
            }
            if (!report->aborted)
                apply_control(spec, elapsed);
        }
    }

finished:
    g_thread_join(thread);
    report->elapsed_s = (g_get_monotonic_time() - start) / (double)G_USEC_PER_SEC;
    report->finished_us = w.finished_us;
    ok = w.ok;
    if (!ok) {
        if (report->policy_aborted) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                        "the migration did not converge (%s) and the policy aborted it (%s)",
                        report->final_reason, w.error ? w.error->message : "no error from libvirt");
            g_clear_error(&w.error);
        } else if (report->aborted) {
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
