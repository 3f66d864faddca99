/*
 * ferry-migrate.h: move one guest (running, paused or shut off) from one host to another.
 *
 *   precheck -> prepare destination -> migrate (monitored) -> verify -> clean up source
 *
 * The engine never prints: it reports through a FerryMigrateEventFunc.  A failure before the
 * guest has moved leaves it on the source as it was, and removes what ferry created on the
 * destination (and nothing else).  Each phase's file is listed in ferry-migrate.c.
 */
#pragma once

#include <gio/gio.h>

#include "engine/ferry-inventory.h"
#include "engine/ferry-job-sample.h"
#include "engine/ferry-monitor.h"
#include "engine/ferry-policy.h"
#include "xml/ferry-domain-xml.h"

G_BEGIN_DECLS

#define FERRY_MIGRATE_ERROR (ferry_migrate_error_quark())
GQuark ferry_migrate_error_quark(void);

typedef enum {
    FERRY_MIGRATE_ERROR_NOT_FOUND,   /* the domain is on no host of the inventory */
    FERRY_MIGRATE_ERROR_AMBIGUOUS,   /* running on several hosts */
    FERRY_MIGRATE_ERROR_INVALID,     /* a request that cannot be done (same host, bad mode) */
    FERRY_MIGRATE_ERROR_PRECHECK,    /* the destination or a disk is not ready */
    FERRY_MIGRATE_ERROR_FAILED,      /* libvirt's migration failed */
    FERRY_MIGRATE_ERROR_CANCELLED,   /* aborted by the operator */
    FERRY_MIGRATE_ERROR_VERIFY,      /* it migrated, but the result is not as it must be */
    FERRY_MIGRATE_ERROR_NOT_CONVERGED, /* the policy aborted a job that did not converge */
} FerryMigrateErrorCode;

typedef enum {
    FERRY_PHASE_PRECHECK,
    FERRY_PHASE_PREPARE,
    FERRY_PHASE_MIGRATE,
    FERRY_PHASE_VERIFY,
    FERRY_PHASE_CLEANUP,
    FERRY_PHASE_DONE,
    FERRY_PHASE_LAST
} FerryPhase;

const char *ferry_phase_to_string(FerryPhase phase);

typedef enum {
    FERRY_MIGRATE_MODE_AUTO,       /* from the disk plan: block if any disk is streamed */
    FERRY_MIGRATE_MODE_SHARED,     /* no disk copy */
    FERRY_MIGRATE_MODE_BLOCK,      /* NON_SHARED_INC: copy the top image of local disks */
    FERRY_MIGRATE_MODE_BLOCK_FULL, /* NON_SHARED_DISK: copy whole local disks */
    FERRY_MIGRATE_MODE_COLD,       /* shut-off guest: ferry copies the disks, then defines it
                                      on the destination and undefines it on the source */
    FERRY_MIGRATE_MODE_LAST
} FerryMigrateMode;

const char *ferry_migrate_mode_to_string(FerryMigrateMode mode);
gboolean ferry_migrate_mode_from_string(const char *name, FerryMigrateMode *mode, GError **error);

typedef enum {
    FERRY_EVENT_PHASE,   /* entered ->phase */
    FERRY_EVENT_INFO,    /* ->message: something worth telling (a disk created, a choice) */
    FERRY_EVENT_SAMPLE,  /* ->sample: job progress */
    FERRY_EVENT_POLICY,  /* ->action: the policy acted, failed to act, or said why not;
                          * ->message: one sentence for humans */
} FerryEventKind;

/* What an INFO event says happened to a file on a host (for the JSON result's file lists). */
typedef enum {
    FERRY_FILE_NONE,
    FERRY_FILE_CREATED, /* ferry created it (an image, a copied disk or backing file) */
    FERRY_FILE_REMOVED, /* ferry removed it (its own after a failure, or a stale source copy) */
    FERRY_FILE_KEPT,    /* ferry would have removed it and did not (in use, --keep-source-disks) */
} FerryFileChange;

typedef struct {
    FerryEventKind kind;
    FerryPhase phase;
    /* which move: the guest's name and its hosts, once the precheck knows them (else NULL) */
    const char *domain;
    const char *src_host;
    const char *dst_host;
    const char *message;
    FerryFileChange file; /* INFO: NONE, or what happened to @path on @file_host */
    const char *path;
    const char *file_host;
    const FerryJobSample *sample;
    const FerryMonitorAction *action;
    const FerryPolicyOutlook *outlook; /* SAMPLE: what the policy will do next by itself, and
                                        * when (NULL without a policy) */
} FerryMigrateEvent;

typedef void (*FerryMigrateEventFunc)(const FerryMigrateEvent *event, gpointer user_data);

typedef struct {
    const char *domain;          /* name or UUID */
    const char *src_host;        /* NULL: found by looking across the inventory */
    const char *dst_host;
    FerryMigrateMode mode;
    gboolean managed;            /* --no-p2p: ferry holds both connections (virDomainMigrate3) */
    guint64 bandwidth_mib;       /* MiB/s, 0 = unlimited */
    gboolean keep_source_disks;  /* after block migration, leave the source's copies */
    guint sample_interval_ms;    /* 0 = 500 */
    /* Convergence.  @policy NULL: watch only, never intervene (like virsh without --timeout).
     * Its postcopy_allowed is taken from @postcopy. */
    const FerryPolicySettings *policy;
    gboolean postcopy;           /* start with VIR_MIGRATE_POSTCOPY: allows switching to it */
    gboolean auto_converge;      /* VIR_MIGRATE_AUTO_CONVERGE */
    gboolean compressed;         /* VIR_MIGRATE_COMPRESSED */
    guint parallel_connections;  /* > 0: VIR_MIGRATE_PARALLEL */
    gboolean tls;                /* VIR_MIGRATE_TLS; the precheck asks both hosts for the
                                  * certificates (ferry-tls.c) */
    FerryMonitorControl *control; /* NULL, or changes during the job (bandwidth) */
    gboolean no_nova;            /* do not sync Nova even when the inventory has [nova] */
    FerryMigrateEventFunc event_func;
    gpointer event_data;
    GCancellable *cancellable;   /* cancel = abort the job, guest stays on the source; an abort
                                  * past the point of no return is refused (ferry-abort.h) */
    const char *log_path;        /* the CLI's log file of this operation, journaled (or NULL) */
    /* Every check, then stop: the result has the plan (disk_plan, dest_xml, mode), nothing is
     * journaled, locked, created or moved. */
    gboolean dry_run;
    /* An operator-edited destination XML (--xml FILE), or NULL: validated (it parses, same name
     * and UUID as the guest, every copied disk's target in it), it is what the destination
     * runs, and the copied disks' destination paths are taken from it. */
    const char *dest_xml;
    const char *dest_xml_origin; /* for messages: the file's name */
} FerryMigrateOptions;

typedef struct {
    char *domain;
    char *uuid;
    char *src_host;
    char *dst_host;
    FerryMigrateMode mode;
    gboolean p2p;
    FerryDomainXml *xml;         /* the source's parsed XML */
    GPtrArray *disk_plan;        /* FerryDiskPlan*, borrowing disks from @xml */
    char *dest_xml;
    double total_s;              /* wall time of the whole operation */
    double migration_s;          /* the libvirt job's elapsed time */
    double call_s;               /* libvirt's migrate call, wall time (live only; 0 cold) */
    double phase_s[FERRY_PHASE_LAST]; /* wall time spent in each phase (DONE: 0) */
    guint64 mem_bytes;           /* memory transferred */
    guint64 disk_bytes;          /* disk transferred */
    double copy_s;               /* cold: the time ferry spent copying the disks */
    guint64 downtime_ms;
    guint64 iterations;
    char *dst_state;             /* "running", ... as verified */
    FerryPolicyAction final_action; /* what the policy finally did: NONE, SUSPEND or POSTCOPY */
    double final_action_s;       /* when, in seconds after the job started */
    char *final_reason;          /* why (NULL when nothing was done) */
    double suspended_s;          /* how long ferry kept the guest suspended (0: never) */
    gboolean resumed_on_dst;     /* it arrived paused because ferry paused it: ferry resumed it */
    GPtrArray *actions;          /* FerryMigrateActionRecord*: everything the policy did */
    char *nova_status;           /* NULL without [nova]; "synced ...", "queued ...", ... */
    gboolean nova_queued;        /* the Nova sync is queued (its database unreachable) */
    gboolean dry_run;            /* only checked (options->dry_run): nothing moved */
} FerryMigrateResult;

typedef struct {
    double at_s;
    FerryPolicyAction action; /* NONE for a bandwidth change or a reason without an action */
    guint downtime_ms;
    char *reason;
    char *error;              /* NULL: applied */
} FerryMigrateActionRecord;

void ferry_migrate_result_free(FerryMigrateResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryMigrateResult, ferry_migrate_result_free)

FerryMigrateResult *ferry_migrate(FerryInventory *inventory, const FerryMigrateOptions *options,
                                  GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
