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
 * sample is written (ferry-job-sample.h format). */
FerryProgress *ferry_progress_new(gboolean json, gboolean quiet, FILE *samples_file);
void ferry_progress_free(FerryProgress *progress);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryProgress, ferry_progress_free)

/* A FerryMigrateEventFunc: @user_data is the FerryProgress. */
void ferry_progress_on_event(const FerryMigrateEvent *event, gpointer user_data);

/* The end: the summary (or the JSON result line), or with --json the error as the last line. */
void ferry_progress_result(FerryProgress *progress, const FerryMigrateResult *result);
void ferry_progress_error(FerryProgress *progress, const GError *error);

G_END_DECLS
