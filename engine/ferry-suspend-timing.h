/*
 * ferry-suspend-timing.h: WHEN, within a pass of the memory copy, a suspend the policy has
 * already decided is applied.  (What to do, and whether, stays the policy's: ferry-policy.c.)
 *
 * QEMU copies memory in passes: at the end of each one (when what is left could go within the
 * allowed downtime) it syncs the dirty bitmap -- the iteration counter advances -- and the next
 * pass sends every page dirtied since the previous sync.  A guest suspended in the middle of a
 * pass stays paused for the rest of that pass and then for a whole further pass.  Suspended
 * right after a sync it is paused for one pass only if it dirties little in the moment between
 * the sync and the suspend; a guest that rewrites its whole working set in a few tens of
 * milliseconds (measured in the lab: it re-dirtied the whole set in the ~40 ms it took) makes
 * that two passes as well.  Suspended just BEFORE the sync, it is paused for the end of the
 * current pass and exactly one pass of the pages dirtied while it ran: the working set once.
 *
 * So the monitor, once the policy says SUSPEND, polls the job quickly and suspends when the
 * current pass has at most FERRY_SUSPEND_TIMING_LEAD_S left at its rate (QEMU syncs when what
 * is left fits in the allowed downtime, at most 0.5 s by default, so the lead covers that and
 * the poll and suspend latency).  It waits no longer than twice the rest of the pass it was
 * decided in, + 2 s (at most 60 s), and not at all while no memory pass runs yet (the disk
 * phase of a block migration), or the guest is already paused or in post-copy.
 */
#pragma once

#include "engine/ferry-job-sample.h"

G_BEGIN_DECLS

/* How often the monitor polls the job while it waits for the end of a pass. */
#define FERRY_SUSPEND_TIMING_POLL_MS 40
/* Suspend when the current pass has this long left. */
#define FERRY_SUSPEND_TIMING_LEAD_S 0.6

/* The longest wait after a suspend was decided at @decided. */
double ferry_suspend_timing_max_wait(const FerryJobSample *decided);

/* TRUE when the suspend decided at @decided is to be applied now: @now (a later sample, or the
 * same one; NULL when the job could not be read) shows the end of a pass near, or there is no
 * pass to wait for, or the wait (@waited_s) is over. */
gboolean ferry_suspend_timing_apply_now(const FerryJobSample *decided, const FerryJobSample *now,
                                        double waited_s);

G_END_DECLS
