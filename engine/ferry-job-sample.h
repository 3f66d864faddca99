/*
 * ferry-job-sample.h: one sample of a running migration job, as read from
 * virDomainGetJobStats().  Plain numbers, so policies can be tested with recorded samples.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
    double elapsed_s;             /* since ferry started the migration */
    guint64 data_total;           /* bytes: memory + disk */
    guint64 data_processed;
    guint64 data_remaining;
    guint64 mem_total;
    guint64 mem_processed;
    guint64 mem_remaining;
    guint64 mem_bps;              /* memory transfer rate, bytes/s */
    guint64 mem_dirty_rate;       /* pages/s */
    guint64 mem_page_size;        /* bytes; 0 when unknown (assume 4096) */
    guint64 mem_iteration;        /* 0 during the disk phase */
    guint64 disk_total;
    guint64 disk_processed;
    guint64 disk_remaining;
    guint64 disk_bps;
    guint64 expected_downtime_ms; /* 0 when not reported */
    gboolean postcopy;            /* the job is in post-copy */
    gboolean paused;              /* the guest is paused on the source */
} FerryJobSample;

G_END_DECLS
