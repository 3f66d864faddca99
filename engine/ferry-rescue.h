/*
 * ferry-rescue.h: the guests of a dead host started elsewhere from their shared disks.
 *
 * The host cannot be asked, so its guests are those of the definitions cache
 * (ferry-definitions.h).  For each:
 *   - already defined on a host that answers (same UUID): left alone ("elsewhere");
 *   - rescuable only when every disk is on storage the other hosts see (a network disk such as
 *     NBD or RBD, a path under shared_dirs) or has no medium; a local disk died with the host:
 *     "not rescuable", naming it;
 *   - placed by ferry-placement (capacity, vCPUs, CPU compared on each candidate, --to);
 *   - rescued: the XML rewritten for the destination (ferry-dest-xml), defined there, started
 *     when it was running (paused: started paused), autostart as it was; journaled (mode
 *     "rescue"), so that `ferry rescue --cleanup` knows which stale definitions are its own.
 * Before each guest is started ferry checks again that the host does not answer
 * (ferry_fence_still_dead).  Fencing itself (ferry-fence.h) is the caller's first step.
 * Nothing here prints.
 */
#pragma once

#include "engine/ferry-definitions.h"
#include "engine/ferry-fleet-survey.h"
#include "engine/ferry-inventory.h"

G_BEGIN_DECLS

#define FERRY_RESCUE_ERROR (ferry_rescue_error_quark())
GQuark ferry_rescue_error_quark(void);

typedef enum {
    FERRY_RESCUE_ERROR_UNKNOWN_HOST,   /* not in the inventory */
    FERRY_RESCUE_ERROR_NO_DEFINITIONS, /* ferry never recorded the host's guests */
    FERRY_RESCUE_ERROR_FAILED,         /* a guest could not be rescued / cleaned up */
    FERRY_RESCUE_ERROR_SPLIT_BRAIN,    /* cleanup: a rescued guest runs on the returned host */
    FERRY_RESCUE_ERROR_UNREACHABLE,    /* cleanup: the returned host does not answer */
} FerryRescueErrorCode;

typedef enum {
    FERRY_RESCUE_PLANNED,       /* will be (dry run: would be) defined on dst */
    FERRY_RESCUE_RESCUED,       /* defined (and started) on dst */
    FERRY_RESCUE_NOT_RESCUABLE, /* a local disk, a disk ferry cannot move, bad XML */
    FERRY_RESCUE_NO_ROOM,       /* placement found no host */
    FERRY_RESCUE_ELSEWHERE,     /* already defined on a host that answers */
    FERRY_RESCUE_FAILED,        /* define or start failed (nothing left defined) */
    FERRY_RESCUE_STOPPED,       /* not tried: the host answered again, or an earlier stop */
    FERRY_RESCUE_LAST
} FerryRescueOutcome;

const char *ferry_rescue_outcome_to_string(FerryRescueOutcome outcome);

typedef struct {
    const FerryDefinition *def; /* borrowed from the plan */
    FerryRescueOutcome outcome;
    char *dst;
    char *reason;     /* why not rescuable / no room / where else; or why this host */
    char *warning;    /* autostart on: the host may start its stale copy when it returns */
    char *error_kind; /* FAILED/STOPPED: a stable string (define, start, alive, journal...) */
    char *error;
    char *nova; /* with [nova]: "synced ...", "queued ...", "NOT SYNCED: ..." */
    guint64 memory_bytes;
    guint vcpus;
    double elapsed_s;
} FerryRescueGuest;

typedef struct {
    char *host;
    GPtrArray *defs;   /* FerryDefinition*, owning */
    GPtrArray *guests; /* FerryRescueGuest*, by name */
} FerryRescuePlan;

void ferry_rescue_plan_free(FerryRescuePlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryRescuePlan, ferry_rescue_plan_free)

/* The plan for @host's cached guests, over the hosts @survey reached (@to: only these, NULL:
 * any).  Fails (NO_DEFINITIONS) when ferry never recorded a guest of @host. */
FerryRescuePlan *ferry_rescue_plan(const FerryInventory *inventory, const FerrySurvey *survey,
                                   const char *host, const char *const *to,
                                   GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Rescues @guest (PLANNED) on its destination: outcome RESCUED, FAILED or STOPPED set in
 * @guest; FALSE (with @error) only when it is not RESCUED.  @cancellable stops before the next
 * step. */
gboolean ferry_rescue_guest(const FerryInventory *inventory, const FerrySurvey *survey,
                            const FerryRescuePlan *plan, FerryRescueGuest *guest,
                            GCancellable *cancellable, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* ---- after the host returns */

typedef enum {
    FERRY_CLEANUP_UNDEFINE,      /* stale: rescued by ferry, defined elsewhere: undefined here */
    FERRY_CLEANUP_RUNNING,       /* rescued, yet running here: the split brain; refused */
    FERRY_CLEANUP_NOT_RESCUED,   /* on two hosts, but not rescued by ferry: left alone */
    FERRY_CLEANUP_NOT_ELSEWHERE, /* rescued once, but no other host holds it now: kept */
    FERRY_CLEANUP_LAST
} FerryCleanupAction;

const char *ferry_cleanup_action_to_string(FerryCleanupAction action);

typedef struct {
    char *name;
    char *uuid;
    char *state; /* on the returned host */
    gboolean autostart;
    char *elsewhere; /* "'hostB' (running)" */
    char *rescue_op; /* the journal operation that rescued it */
    FerryCleanupAction action;
    gboolean done; /* undefined */
    char *error;
} FerryCleanupGuest;

void ferry_cleanup_guest_free(FerryCleanupGuest *guest);

/* What `rescue --cleanup` finds on the returned @host (FerryCleanupGuest*): every guest of
 * @host that is also defined on another host, or that ferry rescued.  UNREACHABLE when @host
 * did not answer the survey. */
GPtrArray *ferry_rescue_cleanup_plan(const FerryInventory *inventory, const FerrySurvey *survey,
                                     const char *host, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Undefines the UNDEFINE guests of @guests on @host (never a disk; NVRAM and TPM state kept),
 * each after asking again that it is not running there.  FALSE when any guest was refused
 * (SPLIT_BRAIN, naming them) or failed. */
gboolean ferry_rescue_cleanup(const FerryInventory *inventory, const FerrySurvey *survey,
                              const char *host, GPtrArray *guests,
                              GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
