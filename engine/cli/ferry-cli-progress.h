/*
 * ferry-cli-progress.h: the live display, the JSON lines and the summary of `ferry migrate`.
 */
#pragma once

#include <stdio.h>

#include "engine/cli/ferry-cli.h"
#include "engine/ferry-migrate.h"

G_BEGIN_DECLS

typedef struct _FerryProgress FerryProgress;

/* @json: JSON lines on stdout; @quiet: only the summary; @samples_file: NULL, or where each job
 * sample is written (ferry-job-sample.h format); @domain and @dst_host: the request, named by a
 * failure result until the engine's events say more. */
FerryProgress *ferry_progress_new(gboolean json, gboolean quiet, FILE *samples_file,
                                  const char *domain, const char *dst_host);
void ferry_progress_free(FerryProgress *progress);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryProgress, ferry_progress_free)

/* A FerryMigrateEventFunc: @user_data is the FerryProgress. */
void ferry_progress_on_event(const FerryMigrateEvent *event, gpointer user_data);

/* The end: the summary (or the JSON result line), or with --json the error as the last line. */
void ferry_progress_result(FerryProgress *progress, const FerryMigrateResult *result);
void ferry_progress_error(FerryProgress *progress, const GError *error);

/* The failure came before anything changed (in the precheck phase): a refusal. */
gboolean ferry_progress_refused(const FerryProgress *progress);

/*
 * The figures shown for one sample, each derived only from quantities that mean what its label
 * says.  Pure, unit-tested (tests/cli/test-cli.c).
 *
 * - memory_percent: how much of the guest's RAM is in sync on the destination in the current
 *   pass, (total - remaining) / total.  Not processed / total: processed counts the dirty pages
 *   sent again, so it passes the total after the first pass.
 * - disk_percent: the disk bytes copied of those to copy.
 * - disk_bps: libvirt's rate if it gives one, else from disk_processed over the window to
 *   @older (libvirt reports no rate for the NBD disk mirror).
 * - dirty_bps: the guest's dirtying rate, not known while it is paused or in post-copy (QEMU's
 *   figure is then the last one computed, not a rate).
 * - eta_s: of what eta_of names ("copy", "disks", "memory"), NAN when not known, and why_no_eta
 *   says why (paused: the rest is sent at once; post-copy; not converging; no rate yet).
 * Percentages never leave 0..100.
 */
typedef struct {
    double memory_percent; /* NAN: no memory figures (yet) */
    double disk_percent;   /* NAN: no disk to copy */
    gboolean disk_bps_known;
    guint64 disk_bps;
    gboolean dirty_known;
    guint64 dirty_bps;
    double eta_s;          /* NAN: not known */
    const char *eta_of;    /* "copy", "disks", "memory" or NULL */
    const char *why_no_eta; /* when eta_s is NAN */
} FerryProgressFigures;

/* @copy: a disk copy by ferry (cold), not a libvirt job; @older: NULL or an earlier sample of
 * the same job, a few seconds before (for the disk rate). */
void ferry_progress_figures(const FerryJobSample *sample, const FerryJobSample *older,
                            gboolean copy, FerryProgressFigures *figures);

/* "42s", "3m07s", "1h02m" */
char *ferry_progress_format_duration(double seconds);

G_END_DECLS
