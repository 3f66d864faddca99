/*
 * ferry-monitor.h: run a blocking migration call in a worker thread and watch its job.
 *
 * The calling thread samples virDomainGetJobStats() every interval and hands each sample to a
 * callback.  With a policy (ferry-policy.h) it asks ferry_policy_decide() what to do after each
 * sample and applies the decision to the source domain: a new maximum downtime, suspend,
 * post-copy or abort.  When the cancellable fires it aborts the job (virDomainAbortJob), which
 * makes the migration call fail and leaves the guest on the source.
 */
#pragma once

#include <gio/gio.h>
#include <libvirt/libvirt.h>

#include "engine/ferry-job-sample.h"
#include "engine/ferry-policy.h"

G_BEGIN_DECLS

/* The blocking call (virDomainMigrateToURI3 / virDomainMigrate3 wrapper).  Runs in the worker
 * thread; must set @error on failure from that thread's libvirt error. */
typedef gboolean (*FerryMonitorCall)(gpointer call_data, GError **error);

/* @outlook: what the policy will do next by itself (NULL when there is no policy). */
typedef void (*FerryMonitorSampleFunc)(const FerryJobSample *sample,
                                       const FerryPolicyOutlook *outlook, gpointer user_data);

/* One policy decision the monitor applied (or could not apply), or a reason the policy gave
 * without acting (action NONE). */
typedef struct {
    double elapsed_s;
    FerryPolicyAction action;
    guint downtime_ms;  /* SET_DOWNTIME */
    const char *reason; /* the policy's sentence */
    const char *error;  /* NULL when applied; libvirt's message when it failed */
} FerryMonitorAction;

typedef void (*FerryMonitorActionFunc)(const FerryMonitorAction *action, gpointer user_data);

/* Changes requested while the job runs, from any thread (e.g. the CLI's).  Applied by the
 * monitor at its next tick. */
typedef struct _FerryMonitorControl FerryMonitorControl;

FerryMonitorControl *ferry_monitor_control_new(void);
void ferry_monitor_control_free(FerryMonitorControl *control);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryMonitorControl, ferry_monitor_control_free)

/* Asks for a new bandwidth limit (MiB/s, virDomainMigrateSetMaxSpeed) for the running job. */
void ferry_monitor_control_set_bandwidth(FerryMonitorControl *control, guint64 mib_per_s);

typedef struct {
    virDomainPtr domain; /* the source domain */
    guint interval_ms;   /* 0 = 500 */
    GCancellable *cancellable;
    FerryMonitorSampleFunc sample_func;
    FerryMonitorActionFunc action_func;
    gpointer user_data;
    const FerryPolicySettings *policy; /* NULL: watch only */
    guint64 mem_bytes;                 /* guest RAM, for the policy's scaling (0: learnt) */
    guint64 disk_bytes;                /* disk to copy, likewise */
    FerryMonitorControl *control;      /* NULL: no changes during the job */
    gboolean copies_disks;             /* block migration: a bandwidth change also applies to
                                        * the disk mirrors */
    /* What a post-copy switch means for an abort asked for after it (ferry-abort.h): the gate
     * is closed with this sentence just before the switch.  NULL: a generic one. */
    const char *postcopy_no_abort;
} FerryMonitorSpec;

typedef struct {
    FerryJobSample last; /* last sample taken while the job ran */
    guint n_samples;
    gboolean aborted;               /* ferry asked libvirt to abort the job (cancel or policy) */
    gboolean policy_aborted;        /* ... because the policy said so */
    FerryPolicyAction final_action; /* the final action the policy took, NONE if none */
    double final_action_s;          /* when */
    char final_reason[320];
    gboolean suspended;        /* ferry suspended the guest */
    gint64 suspended_since_us; /* g_get_monotonic_time() of that suspend */
    gboolean postcopy;         /* ferry switched the job to post-copy */
    gint64 finished_us;        /* monotonic time the migration call returned */
    double elapsed_s;
} FerryMonitorReport;

/* Returns the call's result.  When ferry aborted the job on cancellation, the error is
 * G_IO_ERROR_CANCELLED with libvirt's message appended; when the policy aborted it,
 * G_IO_ERROR_TIMED_OUT with the policy's reason. */
gboolean ferry_monitor_run(const FerryMonitorSpec *spec, FerryMonitorCall call, gpointer call_data,
                           FerryMonitorReport *report, GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
