/*
 * ferry-monitor.h: run a blocking migration call in a worker thread and watch its job.
 *
 * The calling thread samples virDomainGetJobStats() every interval and hands each sample to a
 * callback; when the cancellable fires it aborts the job (virDomainAbortJob), which makes the
 * migration call fail and leaves the guest on the source.
 */
#pragma once

#include <gio/gio.h>
#include <libvirt/libvirt.h>

#include "engine/ferry-job-sample.h"

G_BEGIN_DECLS

/* The blocking call (virDomainMigrateToURI3 / virDomainMigrate3 wrapper).  Runs in the worker
 * thread; must set @error on failure from that thread's libvirt error. */
typedef gboolean (*FerryMonitorCall)(gpointer call_data, GError **error);

typedef void (*FerryMonitorSampleFunc)(const FerryJobSample *sample, gpointer user_data);

typedef struct {
    virDomainPtr domain;           /* the source domain */
    guint interval_ms;             /* 0 = 500 */
    GCancellable *cancellable;
    FerryMonitorSampleFunc sample_func;
    gpointer user_data;
} FerryMonitorSpec;

typedef struct {
    FerryJobSample last;           /* last sample taken while the job ran */
    guint n_samples;
    gboolean aborted;              /* ferry asked libvirt to abort the job */
    double elapsed_s;
} FerryMonitorReport;

/* Returns the call's result.  When ferry aborted the job on cancellation, the error is
 * G_IO_ERROR_CANCELLED with libvirt's message appended. */
gboolean ferry_monitor_run(const FerryMonitorSpec *spec, FerryMonitorCall call, gpointer call_data,
                           FerryMonitorReport *report, GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
