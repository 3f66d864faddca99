/*
 * ferry-migration-private.h: one migration's state, shared by the files of its phases only.
 *
 *   ferry-migrate.c        the orchestrator: precheck -> prepare -> migrate -> verify -> cleanup
 *   ferry-precheck.c       find the guest, plan its disks, choose the mode, check the destination
 *   ferry-dst-disks.c      prepare: the destination's disks (created, copied) and their guard
 *   ferry-migrate-run.c    migrate: libvirt's job (live) or the definition's move (cold)
 *   ferry-verify.c         verify: where the guest is now, asked of both hosts
 *   ferry-src-cleanup.c    cleanup: the source's stale disk copies
 *   ferry-migrate-nova.c   Nova's lock before the move, its records after
 *
 * Each phase fills its own group of fields below and reads the earlier groups.  Functions named
 * ...src... act on the source host, ...dst... on the destination, as in libvirt.
 */
#pragma once

#include <libvirt/libvirt.h>

#include "engine/ferry-journal.h"
#include "engine/ferry-migrate.h"
#include "engine/nova/ferry-nova.h"
#include "ssh/ferry-remote-copy.h"
#include "ssh/ferry-remote-disk.h"
#include "ssh/ferry-ssh-session.h"

G_BEGIN_DECLS

typedef struct _FerryDstDisks FerryDstDisks;

/* How the destination of a streamed disk is made ready: decided by the precheck
 * (ferry-precheck-disks.c), done by the preparation (ferry-dst-disks.c). */
typedef enum {
    FERRY_DST_PREP_IMAGE,  /* an image file ferry creates (live) or copies (cold) */
    FERRY_DST_PREP_DEVICE, /* a block device already there, large enough: written into, never
                              created nor removed by ferry */
    FERRY_DST_PREP_LV,     /* a logical volume ferry creates (lvcreate), removed on rollback */
    FERRY_DST_PREP_VOLUME, /* a pool volume ferry creates through libvirt, removed on rollback */
    FERRY_DST_PREP_LAST
} FerryDstPrep;

typedef struct {
    const FerryDiskPlan *plan;
    char *src_path;        /* the file or device on the source (a volume's path there) */
    FerryImageInfo *image; /* read from the source, as the XML's format */
    FerryDstPrep prep;
    char *dst_path;        /* the file or device on the destination (VOLUME: once created) */
    GPtrArray *dirs;       /* IMAGE: char*, directories to create on the destination, top down */
    char *dirs_owner;      /* "UID:GID" and octal mode of the source's directory */
    char *dirs_mode;
} FerryStreamDisk;

void ferry_stream_disk_free(FerryStreamDisk *disk);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryStreamDisk, ferry_stream_disk_free)

/* A file outside <disk> (kernel, NVRAM, Nova's disk.info, ...) the destination lacks: copied by
 * the preparation, owned by FerryDstDisks. */
typedef struct {
    char *what; /* "kernel", "nvram", "disk.info", ... */
    char *src_path;
    char *dst_path;
} FerryFileCopy;

void ferry_file_copy_free(FerryFileCopy *copy);

typedef struct {
    /* ---- what was asked */
    FerryInventory *inventory;
    const FerryMigrateOptions *options;
    FerryPhase phase; /* changed only by ferry_migration_set_phase() */
    gint64 phase_start_us;              /* when @phase was entered (monotonic) */
    double phase_s[FERRY_PHASE_LAST];   /* time spent in each phase so far */

    /* ---- precheck (ferry-precheck.c) */
    const FerryHost *src;
    const FerryHost *dst;
    virConnectPtr sconn;
    virConnectPtr dconn;
    virDomainPtr sdom; /* the guest on the source */
    char *domain_name; /* its name (the request may be a UUID) */
    char uuid[VIR_UUID_STRING_BUFLEN];
    gboolean cold;            /* it is shut off: it moves cold */
    FerryMigrateMode mode;    /* never AUTO once chosen */
    FerryDomainXml *xml;      /* the source's migratable XML, parsed */
    GPtrArray *plan;          /* FerryDiskPlan*, one per disk, borrowing from @xml */
    GPtrArray *streamed;      /* const FerryDiskPlan*: the STREAM entries of @plan, the disks
                                 ferry or libvirt copies (borrowed from @plan) */
    char *dest_xml;           /* what the destination will run */
    FerrySshSession *src_ssh; /* opened when a check or a copy needs them */
    FerrySshSession *dst_ssh;
    GThread *ssh_opening[2];  /* opening src_ssh and dst_ssh ahead (ferry_migration_open_ssh_ahead) */
    gpointer ssh_opening_data[2];
    GHashTable *stream_disks; /* const FerryDiskPlan* -> FerryStreamDisk*, asked once */
    GPtrArray *files;         /* FerryFilePlan*: the files outside <disk> */
    GPtrArray *file_copies;   /* FerryFileCopy*: what the destination lacks of them */

    /* ---- prepare (ferry-dst-disks.c) */
    FerryDstDisks *dst_disks; /* guard: exactly what ferry created on the destination */
    char *dest_live_xml;      /* what the destination runs while pool volumes are streamed into
                                 (they are files there); NULL: dest_xml */
    guint64 disk_copy_bytes;  /* virtual size of the streamed disks (policy's scaling) */
    FerryCopyMode copy_mode;  /* how ferry's copies go: AUTO until the trust is checked once */

    /* ---- migrate (ferry-migrate-run.c) */
    /* the source's completed-job statistics, written by libvirt's event thread */
    GMutex stats_lock;
    gboolean have_completed;
    FerryJobSample completed;
    guint64 completed_elapsed_ms;
    GPtrArray *actions;        /* FerryMigrateActionRecord*: everything the policy did */
    gboolean ferry_suspended;  /* ferry's policy paused the guest ... */
    gint64 suspended_since_us; /* ... at this monotonic time */
    gint64 finished_us;        /* the migration call returned (or the guest resumed) */
    int src_state_before;      /* virDomainState of the guest on the source before the job */
    gint64 dst_resumed_us;     /* it resumed on the destination (lifecycle event; stats_lock) */
    gboolean postcopy_started; /* ferry switched the job to post-copy */

    /* ---- verify (ferry-verify.c) */
    int dst_state; /* virDomainState of the guest on the destination */

    /* ---- Nova (ferry-migrate-nova.c), when the inventory has [nova] */
    FerryNovaConfig *nova;
    FerryNovaSync *nova_sync; /* begun: Nova's lock is held */

    /* ---- journal and guest lock (ferry-journal.c), from the precheck to the end */
    FerryJournal *journal;
} FerryMigration;

/* ferry-migrate.c: events (the engine never prints) and the one place the phase changes */
void ferry_migration_emit(FerryMigration *m, FerryEventKind kind, const char *message,
                          const FerryJobSample *sample, const FerryMonitorAction *action);
void ferry_migration_emit_sample(FerryMigration *m, const FerryJobSample *sample,
                                 const FerryPolicyOutlook *outlook);
void ferry_migration_info(FerryMigration *m, const char *format, ...) G_GNUC_PRINTF(2, 3);
/* An INFO event that also says what happened to a file (created, removed, kept) on @host. */
void ferry_migration_file(FerryMigration *m, FerryFileChange change, const FerryHost *host,
                          const char *path, const char *format, ...) G_GNUC_PRINTF(5, 6);
/* Fills @ev's domain and hosts from what the migration knows so far. */
void ferry_migration_event_identify(const FerryMigration *m, FerryMigrateEvent *ev);
void ferry_migration_set_phase(FerryMigration *m, FerryPhase phase);
/* ssh sessions to both hosts, opened once, when first needed */
gboolean ferry_migration_open_ssh(FerryMigration *m, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Starts opening both sessions, each in a thread of its own, while the precheck asks libvirt;
 * ferry_migration_open_ssh() then takes them (or their errors) when first needed. */
void ferry_migration_open_ssh_ahead(FerryMigration *m);
void ferry_migrate_action_record_free(gpointer record);

/* ferry-precheck.c: finds the guest's host, plans its disks, chooses the mode, and checks
 * everything that must hold on the destination before anything moves.  Touches nothing. */
gboolean ferry_migration_precheck(FerryMigration *m, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* ferry-precheck-disks.c: streamed disk @p on both hosts -- its source image, and how its
 * destination is made ready (a free path, a large enough device, a volume group or pool with
 * room) -- asked once: the precheck and the preparation both need it.  Owned by @m. */
const FerryStreamDisk *ferry_migration_stream_disk(FerryMigration *m, const FerryDiskPlan *p,
                                                   GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Settles the backing file named by layer @depth of @p's chain (@image, read from @path) before
 * anything opens it: inside the source's images_dir or shared_dirs (or beside a disk kept at its
 * own path), its format the XML's (else the header's). */
#define FERRY_BACKING_DEPTH_MAX 16
gboolean ferry_migration_settle_backing(FerryMigration *m, const FerryDiskPlan *p,
                                        FerryImageInfo *image, const char *path, guint depth,
                                        GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* The files outside <disk> on the destination: kernel, initrd and dtb the same bytes as the
 * source's (or missing: copied), the NVRAM not there yet (copied), firmware code and NVRAM
 * template present; Nova's disk.info and console.log beside its disks.  Fills
 * @m->file_copies. */
gboolean ferry_migration_precheck_files(FerryMigration *m, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

/* ferry-migrate-nova.c */
gboolean ferry_migration_nova_begin(FerryMigration *m, GError **error) G_GNUC_WARN_UNUSED_RESULT;
void ferry_migration_nova_finish(FerryMigration *m, FerryMigrateResult *result);
void ferry_migration_nova_abort(FerryMigration *m);

/* ferry-migrate-run.c: the guest moves.  On failure it is still on the source, running if it
 * ran before (never left paused by ferry). */
gboolean ferry_migration_src_perform_live(FerryMigration *m, FerryMigrateResult *result,
                                          GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* After a failed job with the guest on the source: it runs again if ferry's job paused it. */
void ferry_migration_src_ensure_running(FerryMigration *m);
/* After a post-copy failure: VIR_MIGRATE_POSTCOPY_RESUME with the job's own parameters. */
gboolean ferry_migration_src_postcopy_resume(FerryMigration *m, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
/* The virsh command an operator runs to do the same. */
char *ferry_migration_postcopy_resume_command(FerryMigration *m);
gboolean ferry_migration_perform_cold(FerryMigration *m, FerryMigrateResult *result,
                                      GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* ferry-whereis.c: where the guest is, asked of both hosts (the hosts are the truth). */
typedef enum {
    FERRY_WHEREIS_ON_SOURCE, /* active on the source only: it has not moved */
    FERRY_WHEREIS_ON_DEST,   /* active on the destination only: it has moved */
    FERRY_WHEREIS_POSTCOPY,  /* post-copy started: its memory is split between the two */
    FERRY_WHEREIS_AMBIGUOUS, /* active on both, or on neither */
    FERRY_WHEREIS_UNKNOWN,   /* a host could not be asked */
    FERRY_WHEREIS_LAST
} FerryWhereisOutcome;

typedef struct {
    gboolean known;      /* the host answered */
    gboolean present;    /* it has the domain (by UUID) */
    gboolean active;     /* running, paused, ... (not shut off) */
    gboolean persistent;
    gboolean postcopy;   /* its state's reason says post-copy (running, paused or failed) */
    int state;           /* virDomainState */
    int reason;
    int job;             /* virDomainJobType of its current job */
    char why[256];       /* !known: why */
} FerryWhereisSide;

typedef struct {
    FerryWhereisSide src;
    FerryWhereisSide dst;
    const char *src_name;
    const char *dst_name;
    FerryWhereisOutcome outcome;
} FerryWhereis;

const char *ferry_whereis_outcome_to_string(FerryWhereisOutcome outcome);
/* Pure: the outcome of two hosts' answers. */
FerryWhereisOutcome ferry_whereis_classify(const FerryWhereisSide *src,
                                           const FerryWhereisSide *dst);
/* "'hostA' has it running, 'hostB' has no such domain" */
void ferry_whereis_describe(const FerryWhereis *w, char *buf, gsize len);
/* Asks both hosts, connecting again (bounded) where the connection dropped, after waiting for a
 * job libvirt still runs on the source.  FALSE when a host could not be asked (UNKNOWN). */
gboolean ferry_migration_whereis(FerryMigration *m, FerryWhereis *w);
/* Every disk and backing path a domain on the destination uses (running or defined); NULL
 * when that cannot be known -- then no destination disk may be removed. */
GHashTable *ferry_migration_dst_paths_in_use(FerryMigration *m, GError **error);

/* ferry-verify.c: the guest runs (or, cold, is defined) and is persistent on the destination,
 * and is gone from the source; the summary's figures completed from the destination. */
gboolean ferry_migration_verify(FerryMigration *m, FerryMigrateResult *result,
                                GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* ferry-src-cleanup.c: removes the source's copies of the streamed disks (or says they are
 * kept).  Failures are told, never fatal: the guest has moved. */
void ferry_migration_src_cleanup_disks(FerryMigration *m);

G_END_DECLS
