/*
 * ferry-fleet-run.h: carries out a placement plan's moves, several at once.
 *
 * Each move is one ferry_migrate() in a thread of its own, with everything that makes one
 * move safe (journal, guest lock, rollback, verification on both hosts).  Limits: moves out of
 * one host, into one host, and in all (defaults 2/2/4, oVirt's 2 outgoing and 2 incoming per
 * host); moves start in the plan's order (largest first) as the limits allow.  A total
 * bandwidth is shared equally between the live moves running, and shared again each time one
 * starts or ends.  One move's failure does not stop the others.  Cancelling (Ctrl-C) aborts
 * the moves in flight as `ferry migrate` does and starts no other.  The library never prints:
 * events (one move at a time: they are serialized) and a prompt callback before each move.
 */
#pragma once

#include <gio/gio.h>

#include "engine/ferry-migrate.h"
#include "engine/ferry-placement.h"

G_BEGIN_DECLS

#define FERRY_FLEET_DEFAULT_PER_SOURCE 2
#define FERRY_FLEET_DEFAULT_PER_DEST 2
#define FERRY_FLEET_DEFAULT_TOTAL 4

typedef enum {
    FERRY_FLEET_MOVE_PENDING,
    FERRY_FLEET_MOVE_RUNNING,
    FERRY_FLEET_MOVE_DONE,
    FERRY_FLEET_MOVE_FAILED,
    FERRY_FLEET_MOVE_SKIPPED, /* declined at the prompt, quit, or cancelled before it began */
    FERRY_FLEET_MOVE_LAST
} FerryFleetMoveState;

const char *ferry_fleet_move_state_to_string(FerryFleetMoveState state);

typedef struct {
    const FerryPlaceMove *move;  /* borrowed from the plan */
    FerryFleetMoveState state;
    FerryPhase phase;
    double percent;              /* of the data of the live job; -1 when not known */
    guint64 rate_bps;            /* memory + disk transfer rate of the last sample */
    guint64 bandwidth_mib;       /* the share given now (0: unlimited) */
    double started_s;            /* since the run began */
    double elapsed_s;            /* the move's wall time, once it ended */
    FerryMigrateResult *result;  /* DONE */
    GError *error;               /* FAILED: the move's error; SKIPPED: why */
    FerryMonitorControl *control;
    /* the previous sample, for a rate libvirt does not report */
    guint64 prev_processed;
    double prev_elapsed_s;
} FerryFleetMove;

typedef enum {
    FERRY_FLEET_EVENT_STARTED,
    FERRY_FLEET_EVENT_MIGRATE,  /* ->migrate: the move's own event (phase, info, sample, ...) */
    FERRY_FLEET_EVENT_FINISHED, /* DONE, FAILED or SKIPPED */
} FerryFleetEventKind;

typedef struct {
    FerryFleetEventKind kind;
    guint index;                    /* in the run's moves */
    const FerryFleetMove *move;
    const FerryMigrateEvent *migrate;
} FerryFleetEvent;

typedef void (*FerryFleetEventFunc)(const FerryFleetEvent *event, gpointer user_data);

typedef enum {
    FERRY_FLEET_ANSWER_YES,
    FERRY_FLEET_ANSWER_NO,
    FERRY_FLEET_ANSWER_ALL,  /* this one and every other without asking */
    FERRY_FLEET_ANSWER_QUIT, /* not this one nor any other not yet begun */
} FerryFleetAnswer;

typedef FerryFleetAnswer (*FerryFleetPromptFunc)(const FerryPlaceMove *move, gpointer user_data);

typedef struct {
    guint per_source;          /* 0: FERRY_FLEET_DEFAULT_PER_SOURCE */
    guint per_dest;            /* 0: FERRY_FLEET_DEFAULT_PER_DEST */
    guint total;               /* 0: FERRY_FLEET_DEFAULT_TOTAL */
    guint64 bandwidth_mib;     /* shared by the live moves running; 0: unlimited */
    /* Every move's ferry_migrate() options: domain, hosts, bandwidth, control, events and
     * cancellable are the run's; the rest (policy with its timeout, no_nova, ...) is copied. */
    const FerryMigrateOptions *migrate;
    FerryFleetEventFunc event_func;
    gpointer event_data;
    FerryFleetPromptFunc prompt_func; /* NULL: every move without asking */
    gpointer prompt_data;
    GCancellable *cancellable;
} FerryFleetRunOptions;

typedef struct {
    GPtrArray *moves; /* FerryFleetMove*, the plan's order */
    guint n_done;
    guint n_failed;
    guint n_skipped;
    double total_s;
} FerryFleetRun;

void ferry_fleet_run_free(FerryFleetRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryFleetRun, ferry_fleet_run_free)

/* Runs @plan's moves; never fails as a whole: each move says how it ended. */
FerryFleetRun *ferry_fleet_run(FerryInventory *inventory, const FerryPlacePlan *plan,
                               const FerryFleetRunOptions *options);

G_END_DECLS
