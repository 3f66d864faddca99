/*
 * ferry-bench.h: `ferry bench`: a matrix of migrations (modes x guests x repetitions) moved
 * back and forth between two hosts, each run by ferry and, interleaved with it, by plain
 * `virsh migrate` with the same flags on the same guest, measured the same way from outside
 * both tools (the source's job-completed event, lifecycle events on both hosts, the tool's
 * rusage), each run verified on the hosts.  The library never prints: the CLI formats.
 */
#pragma once

#include <gio/gio.h>

#include "engine/ferry-inventory.h"
#include "engine/ferry-migrate.h"

G_BEGIN_DECLS

#define FERRY_BENCH_ERROR (ferry_bench_error_quark())
GQuark ferry_bench_error_quark(void);

typedef enum {
    FERRY_BENCH_ERROR_INVALID, /* options that cannot make a matrix */
    FERRY_BENCH_ERROR_SETUP,   /* a test guest could not be made or removed */
    FERRY_BENCH_ERROR_RUN,     /* a run failed, or its result is not as it must be */
} FerryBenchErrorCode;

typedef enum {
    FERRY_BENCH_TOOL_FERRY,
    FERRY_BENCH_TOOL_VIRSH,
    FERRY_BENCH_TOOL_LAST
} FerryBenchTool;

const char *ferry_bench_tool_to_string(FerryBenchTool tool);

typedef void (*FerryBenchProgressFunc)(guint index, guint total, double eta_s, const char *what,
                                       gpointer user_data);

typedef struct {
    const char *host_a; /* guests start here */
    const char *host_b;
    const FerryMigrateMode *modes; /* shared, block or block-full */
    guint n_modes;
    const char *const *guests; /* named guests (running on host_a), NULL-terminated; or NULL */
    /* test guests (when @guests is NULL): one per disk size for block modes (a local qcow2 with
     * that size, written whole), one without a disk for shared mode */
    guint64 ram_mib;
    const guint64 *disk_data_mib;
    guint n_sizes;
    const char *virt_type;       /* "kvm" or "qemu" (TCG) */
    const char *workload_kernel; /* test guests boot this kernel (a dirtying workload), or NULL */
    const char *workload_args;
    guint reps;
    double link_mbit;       /* the link's rate, for link use; 0: unknown */
    gboolean with_virsh;    /* interleave plain `virsh migrate` runs */
    double timeout_s;       /* > 0: suspend at this timeout (ferry --timeout N --on-timeout
                             * suspend; virsh --timeout N --timeout-suspend) */
    gboolean tls;           /* --tls for both */
    const char *ferry_path; /* the ferry binary run for ferry's side */
    const char *virsh_path; /* NULL: "virsh" from PATH */
    FerryBenchProgressFunc progress_func;
    gpointer progress_data;
    GCancellable *cancellable;
} FerryBenchOptions;

typedef struct {
    guint index;
    FerryBenchTool tool;
    FerryMigrateMode mode;
    char *guest;
    guint64 disk_data_mib; /* test guests; 0 for named ones and shared mode */
    guint rep;
    char *src;
    char *dst;
    gboolean ok;
    char *error;   /* why not ok */
    double wall_s; /* the tool's process, start to exit */
    double job_s;  /* the libvirt job (source's job-completed event) */
    double call_s; /* ferry: libvirt's migrate call; virsh: 0 (not known) */
    double own_s;  /* ferry: wall - call (ferry's own overhead); virsh: 0 */
    double downtime_ms;
    double paused_s;    /* first pause on the source -> last resume on the destination */
    double suspended_s; /* ferry: time it kept the guest suspended (its own report) */
    guint64 mem_bytes;
    guint64 disk_bytes;
    guint64 iterations;
    double throughput_bps;            /* bytes / job time */
    double link_use;                  /* bytes / (job time * rate); 0: no rate given */
    char *actions;                    /* ferry: its policy actions "suspend@6.1 ..." */
    guint64 peak_rss_kib;             /* the tool's own peak RSS */
    double cpu_s;                     /* the tool's own user + system CPU time */
    double phase_s[FERRY_PHASE_LAST]; /* ferry: its phases */
} FerryBenchRun;

typedef struct {
    guint n;
    double median, min, max;
} FerryBenchStat;

/* One cell of the matrix: a tool, a mode, a guest. */
typedef struct {
    FerryBenchTool tool;
    FerryMigrateMode mode;
    char *guest;
    guint64 disk_data_mib;
    FerryBenchStat wall_s, job_s, own_s, downtime_ms, paused_s, bytes, link_use, cpu_s, rss_kib;
    FerryBenchStat ratio_wall; /* ferry cells: ferry / virsh per repetition (pairs) */
    FerryBenchStat ratio_job;
} FerryBenchCell;

/* Marginal figures of one tool and mode from its two smallest disk sizes. */
typedef struct {
    FerryBenchTool tool;
    FerryMigrateMode mode;
    double delta_bytes;
    double delta_wall_s;
    double marginal_link_use; /* delta_bytes / delta_wall_s / rate; 0 without a rate */
    double fixed_s;           /* wall time at zero bytes (the line through both sizes) */
} FerryBenchMarginal;

typedef struct {
    GPtrArray *runs;   /* FerryBenchRun* in the order they ran */
    GPtrArray *cells;  /* FerryBenchCell* */
    GArray *marginals; /* FerryBenchMarginal */
    double link_mbit;
    gboolean with_virsh;
    double started_unix;
    double elapsed_s;
} FerryBenchReport;

void ferry_bench_report_free(FerryBenchReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryBenchReport, ferry_bench_report_free)

/* Runs the matrix.  Test guests it made are removed at the end, also after a failure; named
 * guests end where they started when the number of runs on them is even.  A failed run stops
 * the bench (the guest's place is checked on the hosts first). */
FerryBenchReport *ferry_bench_run(FerryInventory *inventory, const FerryBenchOptions *options,
                                  GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Statistics of @values (NaN-free). */
void ferry_bench_stat(const double *values, guint n, FerryBenchStat *stat);

gboolean ferry_bench_write_csv(const FerryBenchReport *report, const char *path,
                               GError **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean ferry_bench_write_json(const FerryBenchReport *report, const char *path,
                                GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Writes @prefix.dat and @prefix.gp and runs gnuplot on them, which writes @prefix.png. */
gboolean ferry_bench_write_plot(const FerryBenchReport *report, const char *prefix,
                                GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
