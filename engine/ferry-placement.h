/*
 * ferry-placement.h: where each guest of an evacuation or a host map goes.  Pure: numbers in
 * (the hosts' capacity, the guests, the CPU checks the caller made), a plan out; no libvirt, no
 * host is asked.  The survey (ferry-fleet-survey.h) gathers the numbers.
 *
 * The rules:
 *   - A guest needs, on its destination: its memory within the host's available memory minus
 *     reserved_memory_mib (a shut-off guest too: it is placed where it can be started again);
 *     its vCPUs within the host's CPUs x the over-commit ratio (default 4.0), counting the vCPUs
 *     of the guests already running there; the bytes of its streamed (local) disks within the
 *     free space of the host's images directory minus reserved_disk_mib (when known); a CPU the
 *     host can provide (the caller's check, given as refusals); a host that answered.
 *   - What the plan gives a host is taken from its capacity at once; what leaves a host is not
 *     given back (moves run concurrently: the memory is free only once the guest has left).
 *   - Largest first (memory, then streamed bytes, then name), each to the allowed host with the
 *     most memory left after it (spreading the load), ties to the host with fewer moves planned,
 *     then the inventory order.
 *   - A guest with a wanted host (a host map) goes there or does not fit; one already there is
 *     "in place".
 *   - Running guests move live, paused ones live and stay paused, shut-off ones cold.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define FERRY_PLACEMENT_DEFAULT_VCPU_RATIO 4.0

typedef enum {
    FERRY_PLACE_RUNNING,
    FERRY_PLACE_PAUSED,
    FERRY_PLACE_SHUTOFF,
    FERRY_PLACE_STATE_LAST
} FerryPlaceState;

typedef enum {
    FERRY_PLACE_MOVE_LIVE,        /* running: live (block or shared) */
    FERRY_PLACE_MOVE_LIVE_PAUSED, /* paused: live, and left paused on the destination */
    FERRY_PLACE_MOVE_COLD,        /* shut off: ferry copies its disks, moves the definition */
    FERRY_PLACE_MOVE_LAST
} FerryPlaceMoveMode;

const char *ferry_place_state_to_string(FerryPlaceState state);
const char *ferry_place_move_mode_to_string(FerryPlaceMoveMode mode);

typedef struct {
    const char *name;
    gboolean reachable;          /* FALSE: never a destination */
    guint64 mem_available_bytes; /* free + buffers + cache, before the reserve */
    guint64 mem_reserved_bytes;  /* reserved_memory_mib */
    guint cpus;
    guint vcpus_committed;       /* vCPUs of the guests running there */
    gboolean disk_known;         /* FALSE: free space not known, not checked here */
    guint64 disk_free_bytes;     /* images_dir's filesystem */
    guint64 disk_reserved_bytes; /* reserved_disk_mib */
} FerryPlaceHost;

typedef struct {
    const char *name;
    const char *uuid;
    const char *host;         /* where it is now */
    FerryPlaceState state;
    guint64 memory_bytes;
    guint vcpus;
    guint64 stream_bytes;     /* what moving it streams (its local disks' allocation) */
    const char *wanted_host;  /* NULL: chosen; else where it must go (host map) */
    const char *refused;      /* NULL, or why it cannot move at all (running on two hosts, a
                               * refused disk): it does not fit, with this reason */
} FerryPlaceGuest;

typedef struct {
    double vcpu_ratio;             /* <= 0: FERRY_PLACEMENT_DEFAULT_VCPU_RATIO */
    const char *const *allowed;    /* NULL: every host but the guest's own; else these only */
    /* CPU checks made by the caller: guest name -> (host name -> reason it cannot run there).
     * NULL: none refused. */
    GHashTable *cpu_refused;
} FerryPlaceSettings;

typedef struct {
    char *guest;
    char *uuid;
    char *src;
    char *dst;
    FerryPlaceMoveMode mode;
    guint64 memory_bytes;
    guint64 stream_bytes;
    char *why;                /* why this host: "most memory left after it: ..." */
} FerryPlaceMove;

typedef struct {
    char *guest;
    char *host;   /* where it is (in place), or where it was wanted (NULL: chosen) */
    char *reason; /* does not fit: why, host by host */
} FerryPlaceOutcome;

typedef struct {
    GPtrArray *moves;    /* FerryPlaceMove*, in the order placed (largest first) */
    GPtrArray *in_place; /* FerryPlaceOutcome*: already where they must be */
    GPtrArray *misfits;  /* FerryPlaceOutcome*: cannot be placed, with the reason */
} FerryPlacePlan;

void ferry_place_plan_free(FerryPlacePlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryPlacePlan, ferry_place_plan_free)

/* Places @guests (FerryPlaceGuest*) on @hosts (FerryPlaceHost*, inventory order).  Never fails:
 * what does not fit is in the plan's misfits. */
FerryPlacePlan *ferry_placement_plan(GPtrArray *hosts, GPtrArray *guests,
                                     const FerryPlaceSettings *settings);

/* The vCPUs @host may hold in all: cpus x ratio, rounded down. */
guint ferry_placement_vcpu_capacity(const FerryPlaceHost *host, double ratio);

G_END_DECLS
