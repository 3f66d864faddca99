/*
 * ferry-policy.h: what to do with a live migration that does not converge.
 *
 * A pure decision function: it takes the policy settings, its own small state and one job-stat
 * sample, and says what the monitor should do now.  No libvirt, no clock, no I/O, no allocation
 * per call, so it is tested with recorded sample sequences (tests/policy/data/).
 *
 * The monitor calls ferry_policy_decide() once per sample (e.g. every 500 ms) and applies the
 * decision:
 *   FERRY_POLICY_ACTION_SET_DOWNTIME -> virDomainMigrateSetMaxDowntime(dom, downtime_ms, 0)
 *   FERRY_POLICY_ACTION_SUSPEND      -> virDomainSuspend(dom)
 *   FERRY_POLICY_ACTION_POSTCOPY     -> virDomainMigrateStartPostCopy(dom, 0)
 *   FERRY_POLICY_ACTION_ABORT        -> virDomainAbortJob(dom)
 * and logs decision.reason whenever it is not empty (also for FERRY_POLICY_ACTION_NONE: e.g.
 * "completion timeout reached, but the policy action is 'none'").
 *
 * Rules, in order of precedence for one sample:
 *  1. Nothing is done once the job runs in post-copy (sample->postcopy) or once the final action
 *     was taken, with one exception, the escalation: a SUSPEND that has not let the job complete
 *     within a bound derived from what was left to copy when it was taken -- 3 x remaining bytes
 *     / rate + 30 s, at least 60 s (300 s when no rate was known) -- escalates to ABORT (the
 *     guest goes back to running on its source).  A paused guest dirties no memory, so the job
 *     should converge by construction; when it does not, something else is wrong (a link, a
 *     daemon) and the guest must not stay paused.
 *  1b. A final action the monitor could not apply (ferry_policy_note_failed()) is retried once on
 *     the next sample; a SUSPEND that fails twice escalates to ABORT.
 *  2. While the guest is paused (by us or by someone else) no timeout/stall action is taken, for
 *     the same reason.
 *  3. Completion timeout: elapsed >= timeout (explicit, or scaled by guest size, see
 *     ferry_policy_completion_timeout()), counted from the start of the migration, disk phase
 *     included.  A scaled timeout of 0 s (size not known yet, floor 0) never fires.
 *  3b. Prediction (diverge_passes > 0), memory phase: at each pass boundary (mem_iteration
 *     grows, from pass 2 on, when the job reports a dirty rate and a transfer rate), the policy
 *     predicts whether the job can converge before the completion timeout: with r = dirty rate /
 *     rate sent and R the memory left, the job converges once what is left fits in the maximum
 *     downtime (D = max_downtime_ms x rate); it never does when r >= 1, else it needs
 *     ceil(log(D / R) / log(r)) more passes, R / rate x (1 - r^n) / (1 - r) seconds.  A pass
 *     whose prediction is "never" or "not before the timeout" counts; one that predicts
 *     convergence resets the count.  After diverge_passes such passes in a row
 *     (+ auto_converge_passes when the job runs with auto-converge: QEMU throttles the guest's
 *     vCPUs more at each pass, it gets that long to bring the dirty rate down), the policy acts
 *     now rather than at the timeout: POSTCOPY when postcopy_allowed, else the final action
 *     (same substitutions; NONE: said once).  The reason says what it predicted and why.
 *  4. Stall, only if stall_window_s > 0:
 *     - disk-mirror phase (no RAM iteration yet): a stall is "no byte of disk copied for the
 *       window".  A slow but steady mirror is never a stall; its remaining bytes are never
 *       compared with the memory phase's.
 *     - memory phase: a stall is "the low-water mark of remaining memory did not drop for the
 *       window" (like VDSM's progress_timeout).  The mark is reset when the memory phase starts.
 *       Remaining memory is mem_remaining when mem_total is reported, else data_remaining minus
 *       disk_remaining; a sample with neither total is ignored (a poll that returned nothing).
 *     The phase is the memory phase once mem_iteration or mem_processed is non-zero, or when
 *     no disk is copied (disk_total 0) and data is reported; it never goes backwards.
 *     The boundary is inclusive: exactly stall_window_s seconds without improvement is a stall.
 *  5. Otherwise, the downtime schedule, computed as Nova's downtime_steps() and applied as its
 *     update_downtime() (see ferry_policy_downtime_step()): step 0 (initial downtime) on the
 *     first sample; step i on the first sample that comes more than int(delay * i) s after the
 *     memory phase started, delay = int(downtime_delay_per_gib_s * GiB of RAM), at least
 *     downtime_delay_min_s.  Unlike Nova, the delay scales with the RAM alone (Nova: RAM plus
 *     each copied disk, each counted as at least 2 GiB) and the clock starts with the memory
 *     phase (Nova's starts with the job).  When samples skip steps, only the latest due step is
 *     returned.
 *
 * The final action is settings.final_action with these substitutions (the reason says so):
 *  - POSTCOPY while !postcopy_allowed (job not started with VIR_MIGRATE_POSTCOPY): SUSPEND.
 *  - POSTCOPY during the disk phase: deferred to the first memory-phase sample, because QEMU
 *    refuses migrate-start-postcopy before RAM migration started.
 *  - POSTCOPY reported failed by the monitor (ferry_policy_note_failed()): SUSPEND next tick.
 *  - NONE: nothing is done; the reason is reported once.
 */
#pragma once

#include <glib.h>

#include "engine/ferry-job-sample.h"

G_BEGIN_DECLS

#define FERRY_POLICY_ERROR (ferry_policy_error_quark())
GQuark ferry_policy_error_quark(void);

typedef enum {
    FERRY_POLICY_ERROR_INVALID, /* bad action name or setting value */
} FerryPolicyError;

typedef enum {
    FERRY_POLICY_ACTION_NONE,
    FERRY_POLICY_ACTION_SET_DOWNTIME, /* a decision only, never a final action */
    FERRY_POLICY_ACTION_SUSPEND,
    FERRY_POLICY_ACTION_POSTCOPY,
    FERRY_POLICY_ACTION_ABORT,
    FERRY_POLICY_ACTION_LAST
} FerryPolicyAction;

typedef enum {
    FERRY_POLICY_PHASE_SETUP,    /* no sample with data yet */
    FERRY_POLICY_PHASE_DISK,     /* NBD disk mirror, RAM not started */
    FERRY_POLICY_PHASE_MEMORY,   /* pre-copy RAM iterations */
    FERRY_POLICY_PHASE_POSTCOPY, /* running in post-copy: hands off */
    FERRY_POLICY_PHASE_LAST
} FerryPolicyPhase;

/* The default stall window: 150 s, as VDSM (oVirt) has it. */
#define FERRY_POLICY_DEFAULT_STALL_WINDOW_S 150

typedef struct {
    FerryPolicyAction final_action; /* on timeout or stall; default SUSPEND */
    gboolean postcopy_allowed;      /* job started with VIR_MIGRATE_POSTCOPY */

    double completion_timeout_s;         /* > 0: fixed; 0: scaled by size (default) */
    double completion_timeout_per_gib_s; /* 800 s per GiB of RAM + copied disk (Nova) */
    double completion_timeout_min_s;     /* floor of the scaled timeout: 60 s */

    double stall_window_s; /* no progress for this long is a stall; 0 disables;
                              FERRY_POLICY_DEFAULT_STALL_WINDOW_S by default */

    guint max_downtime_ms;           /* last step of the schedule; 0: leave libvirt's alone */
    guint initial_downtime_ms;       /* step 0; 0: max_downtime_ms / downtime_steps (Nova) */
    guint downtime_steps;            /* 10; 0: set max_downtime_ms once at the start */
    double downtime_delay_per_gib_s; /* time between steps per GiB of RAM: 75 s (Nova); the
                                        product is truncated to whole seconds, as in Nova */
    double downtime_delay_min_s;     /* floor of that delay: 1 s */

    guint diverge_passes;       /* rule 3b: act after this many passes predicted not to converge
                                   in a row; 0: no prediction (timeout and stall only); 3 */
    gboolean auto_converge;     /* the job runs with VIR_MIGRATE_AUTO_CONVERGE */
    guint auto_converge_passes; /* with it, this many more passes before acting: 4 */
} FerryPolicySettings;

/* Plain struct so the monitor can keep it on its stack; treat the fields as private. */
typedef struct {
    FerryPolicyPhase phase;
    guint64 mem_bytes; /* guest sizes used for scaling; learnt from samples when 0 */
    guint64 disk_bytes;
    gboolean learn_sizes;
    double memory_phase_start_s;

    gboolean have_low_water;
    guint64 low_water; /* memory phase: lowest remaining memory seen */
    double low_water_since_s;

    guint64 disk_processed; /* disk phase: last disk_processed seen */
    double disk_progress_since_s;

    gint next_downtime_step; /* index of the next step of the schedule to issue */

    FerryPolicyAction final_taken; /* NONE until the final action was returned */
    gboolean final_pending;        /* due, but deferred (post-copy in the disk phase) */
    char pending_reason[192];
    gboolean postcopy_failed;
    gboolean none_reported; /* the "policy is 'none'" reason was given once */

    double final_taken_s;      /* escalation: when SUSPEND was taken ... */
    double escalate_after_s;   /* ... and how long it may take to complete */
    guint final_failures;      /* the final action failed this many times */
    gboolean abort_pending;    /* escalate at the next sample */
    char abort_reason[192];

    /* rule 3b, the prediction, updated at each pass boundary */
    guint64 pass;             /* the last mem_iteration seen */
    gboolean predicted;       /* a prediction was made */
    gboolean converging;      /* the last one: it converges before the timeout */
    double converge_in_s;     /* ... in this many seconds; < 0: never (dirtied as fast as sent) */
    guint diverging_passes;   /* passes in a row predicted not to converge in time */
    double dirty_bps;         /* the rates of the last prediction, bytes/s */
    double sent_bps;
} FerryPolicyState;

typedef struct {
    FerryPolicyAction action;
    guint downtime_ms; /* for FERRY_POLICY_ACTION_SET_DOWNTIME */
    char reason[320];  /* empty when there is nothing to say */
} FerryPolicyDecision;

typedef struct {
    double at_s; /* seconds after the memory phase started (step 0: first sample) */
    guint downtime_ms;
} FerryPolicyDowntimeStep;

void ferry_policy_settings_init_defaults(FerryPolicySettings *settings);

/* Overrides the defaults with the keys present in @group (action, postcopy-allowed,
 * completion-timeout, completion-timeout-per-gib, completion-timeout-min, stall-window,
 * max-downtime, initial-downtime, downtime-steps, downtime-delay-per-gib, downtime-delay-min).
 * Unknown keys are refused, so that a typo does not silently keep a default. */
G_GNUC_WARN_UNUSED_RESULT
gboolean ferry_policy_settings_load_key_file(FerryPolicySettings *settings, GKeyFile *key_file,
                                             const char *group, GError **error);

/* "none", "set-downtime", "suspend", "postcopy", "abort"; NULL when out of range. */
const char *ferry_policy_action_to_string(FerryPolicyAction action);
const char *ferry_policy_phase_to_string(FerryPolicyPhase phase);

/* Parses a final action for the CLI: "suspend", "postcopy", "abort" or "none". */
G_GNUC_WARN_UNUSED_RESULT
gboolean ferry_policy_action_from_string(const char *name, FerryPolicyAction *action,
                                         GError **error);

/* The completion timeout in seconds: settings->completion_timeout_s when > 0, else
 * per_gib * (mem_bytes + disk_bytes) / GiB, at least completion_timeout_min_s. */
double ferry_policy_completion_timeout(const FerryPolicySettings *settings, guint64 mem_bytes,
                                       guint64 disk_bytes);

/* Number of steps in the downtime schedule (0 when max_downtime_ms is 0). */
guint ferry_policy_downtime_step_count(const FerryPolicySettings *settings);

/* Step @index (< ferry_policy_downtime_step_count()) for a guest with @mem_bytes of RAM: Nova's
 * downtime_steps(GiB of RAM), at_s in whole seconds. */
FerryPolicyDowntimeStep ferry_policy_downtime_step(const FerryPolicySettings *settings,
                                                   guint64 mem_bytes, guint index);

/* @mem_bytes / @disk_bytes: RAM and copied disk of the guest, for scaling; 0 when unknown (then
 * the largest mem_total / disk_total seen in samples is used). */
void ferry_policy_state_init(FerryPolicyState *state, guint64 mem_bytes, guint64 disk_bytes);

FerryPolicyDecision ferry_policy_decide(const FerryPolicySettings *settings,
                                        FerryPolicyState *state, const FerryJobSample *sample);

/* The monitor could not apply @action (the libvirt call failed).  A failed POSTCOPY turns into
 * SUSPEND on the next call; a failed SUSPEND is tried once more, then escalates to ABORT; other
 * failures change nothing (SET_DOWNTIME failures are harmless, a failed ABORT is the
 * migration's error to report). */
void ferry_policy_note_failed(FerryPolicyState *state, FerryPolicyAction action);

/* What the policy will do next by itself, for display: the final action the completion timeout
 * will take and in how many seconds.  action NONE when nothing is scheduled (no final action,
 * already taken, post-copy, guest paused, or the timeout is not known yet).  From the same
 * state and sizes ferry_policy_decide() uses: the CLI computes nothing the policy decides. */
typedef struct {
    FerryPolicyAction action;
    double in_s;
    /* the prediction (rule 3b), once the job has passed a pass boundary with rates: */
    gboolean predicted;           /* FALSE: none yet (the fields below are 0) */
    gboolean converging;          /* it converges before the timeout */
    double converge_in_s;         /* in this many seconds; < 0: never */
    double dirty_bps;             /* dirty rate, bytes/s */
    double sent_bps;              /* rate sent, bytes/s */
    guint diverging_passes;       /* passes in a row predicted not to converge in time */
    guint diverging_passes_needed; /* the early action is taken when it reaches this (0: off) */
    FerryPolicyAction early_action; /* what is done then (NONE: nothing) */
} FerryPolicyOutlook;

FerryPolicyOutlook ferry_policy_outlook(const FerryPolicySettings *settings,
                                        const FerryPolicyState *state,
                                        const FerryJobSample *sample);

G_END_DECLS
