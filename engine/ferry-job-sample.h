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

/*
 * Text form of samples, for recorded sequences (tests/policy/data/NAME.samples): one sample per
 * line, whitespace-separated columns in the order named by a header line (field names as in the
 * struct), '#' starts a comment line, '-' is a missing value (0).  Numbers are written and read
 * in the C locale: elapsed_s as a decimal, the rest as unsigned integers, booleans as 0/1.
 *
 * The monitor can dump a sequence with:
 *   header = ferry_job_sample_format_header();  line = ferry_job_sample_format_line(&sample);
 */
#define FERRY_JOB_SAMPLE_ERROR (ferry_job_sample_error_quark())
GQuark ferry_job_sample_error_quark(void);

typedef enum {
    FERRY_JOB_SAMPLE_ERROR_PARSE,
} FerryJobSampleError;

#define FERRY_JOB_SAMPLE_N_FIELDS 18

/* Column order of a sample file; the default is every field in struct order. */
typedef struct {
    guint n_columns;
    guint8 field[FERRY_JOB_SAMPLE_N_FIELDS];
} FerryJobSampleColumns;

/* "elapsed_s data_total ... paused": every field, in struct order. */
char *ferry_job_sample_format_header(void);

/* The values of every field, in the order of ferry_job_sample_format_header(). */
char *ferry_job_sample_format_line(const FerryJobSample *sample);

/* Parses a line written by ferry_job_sample_format_line() (all fields, struct order). */
G_GNUC_WARN_UNUSED_RESULT
gboolean ferry_job_sample_parse_line(const char *line, FerryJobSample *sample, GError **error);

void ferry_job_sample_columns_init_default(FerryJobSampleColumns *columns);

/* Parses a header line naming a subset of the fields in any order; each at most once. */
G_GNUC_WARN_UNUSED_RESULT
gboolean ferry_job_sample_columns_parse_header(FerryJobSampleColumns *columns, const char *line,
                                               GError **error);

/* Parses a line with the columns of @columns; fields not named are 0. */
G_GNUC_WARN_UNUSED_RESULT
gboolean ferry_job_sample_parse_line_columns(const FerryJobSampleColumns *columns, const char *line,
                                             FerryJobSample *sample, GError **error);

G_END_DECLS
