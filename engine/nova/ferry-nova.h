/*
 * ferry-nova.h: keep OpenStack Nova's databases in step with a guest that ferry moved.
 *
 * Nova records where each instance runs (nova.instances.host/node), the migration that
 * moved it (nova.migrations) and what it consumes where (placement.allocations).  When
 * ferry moves a guest behind Nova's back these go stale; this module rewrites them the
 * way Nova's own live migration does, in one guarded transaction per database, with a
 * before-image of every row it touches (for undo) and a durable queue for when the
 * database cannot be reached.
 *
 * Host names here are Nova service host names (nova.services.host).  The inventory maps
 * its host names to them with a `nova_host` key; see ferry_nova_config_service_host().
 *
 * Nothing here prints.  Dry runs return the statements they would execute.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define FERRY_NOVA_ERROR (ferry_nova_error_quark())
GQuark ferry_nova_error_quark(void);

typedef enum {
    FERRY_NOVA_ERROR_CONFIG,      /* bad [nova] section, unsafe password file */
    FERRY_NOVA_ERROR_UNREACHABLE, /* cannot connect / connection lost: worth retrying */
    FERRY_NOVA_ERROR_DB,          /* the server refused a statement */
    FERRY_NOVA_ERROR_NOT_FOUND,   /* no such instance, compute node, provider, journal entry */
    FERRY_NOVA_ERROR_REFUSED,     /* Nova's state does not allow it (wrong host, locked, ...) */
    FERRY_NOVA_ERROR_CAPACITY,    /* the destination provider cannot hold the allocations */
    FERRY_NOVA_ERROR_UNSUPPORTED, /* nested allocations, NUMA/PCI instances, several nodes */
    FERRY_NOVA_ERROR_CONFLICT,    /* a guarded statement hit other rows than expected */
    FERRY_NOVA_ERROR_JOURNAL,     /* before-images or the queue cannot be written/read */
    FERRY_NOVA_ERROR_QUEUED,      /* not applied now, but queued durably for --pending */
    FERRY_NOVA_ERROR_PARTIAL,     /* the cell database written (or maybe), placement not: the
                                   * sync queues it and returns QUEUED saying so */
} FerryNovaErrorCode;

/* Nova's power_state values (nova/compute/power_state.py). */
typedef enum {
    FERRY_NOVA_POWER_NOSTATE = 0,
    FERRY_NOVA_POWER_RUNNING = 1,
    FERRY_NOVA_POWER_PAUSED = 3,
    FERRY_NOVA_POWER_SHUTDOWN = 4,
    FERRY_NOVA_POWER_CRASHED = 6,
    FERRY_NOVA_POWER_SUSPENDED = 7,
} FerryNovaPowerState;

/* virDomainState (as int, so this header needs no libvirt) -> Nova power_state, the
 * mapping of nova/virt/libvirt/guest.py.  Unknown values give NOSTATE. */
int ferry_nova_power_state_from_libvirt(int vir_domain_state);
/* "running", "paused", "shutdown", "crashed", "suspended", "nostate" -> value; -1 if unknown */
int ferry_nova_power_state_from_name(const char *name);

/* ------------------------------------------------------------------ configuration */

typedef struct _FerryNovaConfig FerryNovaConfig;

/*
 * Reads the [nova] section of the inventory.  Returns NULL without an error when there is
 * none (Nova sync is off).  Keys:
 *   host = 127.0.0.1      port = 3306          socket = (unix socket; wins over host/port)
 *   user = nova           password_file = PATH (mode 0600/0400, owned by us)
 *                         password_env = NAME  (environment variable; one of the two)
 *   nova_database = nova  api_database = nova_api   placement_database = placement
 *   connect_timeout = 5   default_availability_zone = nova
 *   journal_dir = DIR     (relative to the inventory; default $XDG_STATE_HOME/ferry/nova)
 * The password is read here and kept only in memory (wiped on free).
 */
FerryNovaConfig *ferry_nova_config_load(GKeyFile *inventory, const char *inventory_path,
                                        GError **error) G_GNUC_WARN_UNUSED_RESULT;
void ferry_nova_config_free(FerryNovaConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryNovaConfig, ferry_nova_config_free)

/* The Nova service host of inventory host @name: its `nova_host` key, else @name itself.
 * Never fails; returns a new string. */
char *ferry_nova_config_service_host(GKeyFile *inventory, const char *name);

/* ------------------------------------------------------------------ the sync */

typedef struct _FerryNovaSync FerryNovaSync;

typedef enum {
    FERRY_NOVA_SYNC_DRY_RUN = 1 << 0, /* read, but write nothing; collect the statements */
} FerryNovaSyncFlags;

/*
 * Phase 1, before the guest moves: takes Nova's own lock on the instance (task_state
 * 'migrating', only when it was NULL and vm_state is active/paused, the instance on
 * @src_host) and records a migration of @migration_type ("live-migration" or
 * "migration") as 'running'.  The destination's compute node must exist.
 * Fails with UNREACHABLE when the database cannot be reached (nothing is queued: the
 * caller decides whether to move without Nova's lock).
 */
FerryNovaSync *ferry_nova_sync_begin(FerryNovaConfig *config, const char *instance_uuid,
                                     const char *src_host, const char *dst_host,
                                     const char *migration_type,
                                     GError **error) G_GNUC_WARN_UNUSED_RESULT;

/*
 * Phase 2 after the guest runs on the destination: moves the instance, completes the
 * migration, moves the allocations (see ferry-nova-sync.c for every statement).  When the
 * database cannot be reached the finish is queued durably and this fails with QUEUED.
 */
gboolean ferry_nova_sync_finish(FerryNovaSync *sync, int power_state,
                                GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Phase 2 when the guest did not move: releases the lock, marks the migration 'error'.
 * Queued like finish when the database cannot be reached. */
gboolean ferry_nova_sync_abort(FerryNovaSync *sync, GError **error) G_GNUC_WARN_UNUSED_RESULT;

void ferry_nova_sync_free(FerryNovaSync *sync);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryNovaSync, ferry_nova_sync_free)

/* The uuid of the migration row begin created (and finish completes). */
const char *ferry_nova_sync_get_migration_uuid(const FerryNovaSync *sync);
/* The journal id of the last step that wrote (for `ferry nova-sync --undo ID`), or NULL. */
const char *ferry_nova_sync_get_journal_id(const FerryNovaSync *sync);

typedef struct {
    char *journal_id;      /* undo id; NULL for dry runs and no-ops */
    char *migration_uuid;  /* the migration row written */
    gboolean already_done; /* the instance was already synced by this id: nothing written */
    GPtrArray *statements; /* char*: every statement with its values (dry run only) */
} FerryNovaResult;

void ferry_nova_result_free(FerryNovaResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryNovaResult, ferry_nova_result_free)

/*
 * One-shot finish for a guest that was moved earlier (by ferry without [nova], or by
 * hand): the same end state as begin+finish, with a migration row recorded as completed.
 * @src_host may be NULL: then the host Nova records now is the source.
 * Queued (QUEUED error) when the database cannot be reached, unless DRY_RUN.
 */
FerryNovaResult *ferry_nova_sync_oneshot(FerryNovaConfig *config, const char *instance_uuid,
                                         const char *src_host, const char *dst_host,
                                         int power_state, const char *migration_type,
                                         FerryNovaSyncFlags flags,
                                         GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* ------------------------------------------------------------------ journal */

/* Undoes the step saved under @journal_id, after checking the instance is still where that
 * step left it: the cell database's rows are restored from their before-image; the
 * placement allocations the step moved are moved back from the consumer's current
 * allocations, generations bumped forward, and only when placement has not changed the
 * consumer or either provider since (their generations are what the step left); otherwise
 * REFUSED, saying what changed, with nothing written.  A second undo of the same id fails. */
gboolean ferry_nova_undo(FerryNovaConfig *config, const char *journal_id,
                         GError **error) G_GNUC_WARN_UNUSED_RESULT;

typedef struct {
    guint replayed;    /* applied now */
    guint already;     /* had been applied already: dropped from the queue */
    guint remaining;   /* still queued (database still unreachable) */
    GPtrArray *failed; /* char*: "ID: reason" for entries moved aside (refused) */
} FerryNovaReplay;

void ferry_nova_replay_free(FerryNovaReplay *replay);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryNovaReplay, ferry_nova_replay_free)

/* Replays queued finishes/aborts, oldest first, each at most once (a lock file keeps two
 * replays apart; the migration uuid chosen when queuing detects one already applied). */
FerryNovaReplay *ferry_nova_replay_pending(FerryNovaConfig *config,
                                           GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Ids of queued entries, oldest first (char*). */
GPtrArray *ferry_nova_list_pending(FerryNovaConfig *config,
                                   GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* ------------------------------------------------------------------ fleet operations */

/* Where Nova records instance @uuid (nova.instances, not deleted). */
typedef struct {
    char *host;
    char *node;
    char *task_state; /* NULL: none */
    char *vm_state;
} FerryNovaWhere;

void ferry_nova_where_free(FerryNovaWhere *where);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryNovaWhere, ferry_nova_where_free)

FerryNovaWhere *ferry_nova_instance_where(FerryNovaConfig *config, const char *uuid,
                                          GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Disables (with @reason) or enables the nova-compute service of Nova service host @host, as
 * `openstack compute service set --disable --disable-reason` does: nova.services disabled,
 * disabled_reason (NULL when enabled) and updated_at, one row exactly (NOT_FOUND otherwise).
 * (Nova's API also asks a running nova-compute to set the COMPUTE_STATUS_DISABLED trait on its
 * provider; a compute that is down -- or not asked -- syncs it from this row when it next
 * updates its resources.) */
gboolean ferry_nova_service_set_disabled(FerryNovaConfig *config, const char *host,
                                         gboolean disabled, const char *reason,
                                         GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Database calls in progress when @cancellable fires (Ctrl-C, SIGTERM) are interrupted:
 * their connection is shut down and the call fails at once, as on a lost connection (the step
 * is queued or rolled back like any other).  Connections opened after it fired -- a rollback's
 * -- are not touched.  NULL: none.  One per process (the operation's). */
void ferry_nova_set_cancellable(GCancellable *cancellable);

G_END_DECLS
