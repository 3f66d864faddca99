/*
 * ferry-policy.c: what to do with a live migration that does not converge.
 * See ferry-policy.h for the rules; this file has no libvirt, no clock and no I/O.
 */
#include "engine/ferry-policy.h"

#include <math.h>
#include <stddef.h>

/* clang-format off */
G_DEFINE_QUARK(ferry-policy-error-quark, ferry_policy_error)
/* clang-format on */

#define GIB ((double)(1024 * 1024 * 1024))
#define MIB ((double)(1024 * 1024))
/* Sample times come from a file or a monotonic clock in ms; this absorbs rounding so that
 * "exactly at the window" is a stall. */
#define TIME_EPSILON 1e-6

/* clang-format off */
static const char *const action_names[] = {
    [FERRY_POLICY_ACTION_NONE] = "none",
    [FERRY_POLICY_ACTION_SET_DOWNTIME] = "set-downtime",
    [FERRY_POLICY_ACTION_SUSPEND] = "suspend",
    [FERRY_POLICY_ACTION_POSTCOPY] = "postcopy",
    [FERRY_POLICY_ACTION_ABORT] = "abort",
};
G_STATIC_ASSERT(G_N_ELEMENTS(action_names) == FERRY_POLICY_ACTION_LAST);

static const char *const phase_names[] = {
    [FERRY_POLICY_PHASE_SETUP] = "setup",
    [FERRY_POLICY_PHASE_DISK] = "disk",
    [FERRY_POLICY_PHASE_MEMORY] = "memory",
    [FERRY_POLICY_PHASE_POSTCOPY] = "postcopy",
};
G_STATIC_ASSERT(G_N_ELEMENTS(phase_names) == FERRY_POLICY_PHASE_LAST);
/* clang-format on */

const char *
ferry_policy_action_to_string(FerryPolicyAction action)
{
    if ((guint)action >= FERRY_POLICY_ACTION_LAST)
        return NULL;
    return action_names[action];
}

const char *
ferry_policy_phase_to_string(FerryPolicyPhase phase)
{
    if ((guint)phase >= FERRY_POLICY_PHASE_LAST)
        return NULL;
    return phase_names[phase];
}

static gboolean
action_is_final(FerryPolicyAction action)
{
    return action != FERRY_POLICY_ACTION_SET_DOWNTIME && action < FERRY_POLICY_ACTION_LAST;
}

gboolean
ferry_policy_action_from_string(const char *name, FerryPolicyAction *action, GError **error)
{
    for (guint i = 0; i < FERRY_POLICY_ACTION_LAST; i++) {
        if (action_is_final(i) && g_strcmp0(name, action_names[i]) == 0) {
            *action = i;
            return TRUE;
        }
    }
    g_set_error(error, FERRY_POLICY_ERROR, FERRY_POLICY_ERROR_INVALID,
                "unknown timeout action '%s': expected 'suspend', 'postcopy', 'abort' or 'none'",
                name ? name : "");
    return FALSE;
}

void
ferry_policy_settings_init_defaults(FerryPolicySettings *settings)
{
    *settings = (FerryPolicySettings){
        .final_action = FERRY_POLICY_ACTION_SUSPEND,
        .postcopy_allowed = FALSE,
        .completion_timeout_s = 0,
        .completion_timeout_per_gib_s = 800,
        .completion_timeout_min_s = 60,
        .stall_window_s = FERRY_POLICY_DEFAULT_STALL_WINDOW_S,
        .max_downtime_ms = 500,
        .initial_downtime_ms = 0,
        .downtime_steps = 10,
        .downtime_delay_per_gib_s = 75,
        .downtime_delay_min_s = 1,
        .diverge_passes = 3,
        .auto_converge = FALSE,
        .auto_converge_passes = 4,
    };
}

typedef enum {
    SETTING_ACTION,
    SETTING_BOOLEAN,
    SETTING_SECONDS,
    SETTING_UINT,
} SettingType;

typedef struct {
    const char *key;
    SettingType type;
    size_t offset;
} SettingInfo;

static const SettingInfo setting_infos[] = {
    {"action", SETTING_ACTION, offsetof(FerryPolicySettings, final_action)},
    {"postcopy-allowed", SETTING_BOOLEAN, offsetof(FerryPolicySettings, postcopy_allowed)},
    {"completion-timeout", SETTING_SECONDS, offsetof(FerryPolicySettings, completion_timeout_s)},
    {"completion-timeout-per-gib", SETTING_SECONDS,
     offsetof(FerryPolicySettings, completion_timeout_per_gib_s)},
    {"completion-timeout-min", SETTING_SECONDS,
     offsetof(FerryPolicySettings, completion_timeout_min_s)},
    {"stall-window", SETTING_SECONDS, offsetof(FerryPolicySettings, stall_window_s)},
    {"max-downtime", SETTING_UINT, offsetof(FerryPolicySettings, max_downtime_ms)},
    {"initial-downtime", SETTING_UINT, offsetof(FerryPolicySettings, initial_downtime_ms)},
    {"downtime-steps", SETTING_UINT, offsetof(FerryPolicySettings, downtime_steps)},
    {"downtime-delay-per-gib", SETTING_SECONDS,
     offsetof(FerryPolicySettings, downtime_delay_per_gib_s)},
    {"downtime-delay-min", SETTING_SECONDS, offsetof(FerryPolicySettings, downtime_delay_min_s)},
    {"diverge-passes", SETTING_UINT, offsetof(FerryPolicySettings, diverge_passes)},
    {"auto-converge", SETTING_BOOLEAN, offsetof(FerryPolicySettings, auto_converge)},
    {"auto-converge-passes", SETTING_UINT, offsetof(FerryPolicySettings, auto_converge_passes)},
};

static const SettingInfo *
setting_info_find(const char *key)
{
    for (gsize i = 0; i < G_N_ELEMENTS(setting_infos); i++) {
        if (g_str_equal(setting_infos[i].key, key))
            return &setting_infos[i];
    }
    return NULL;
}

static gboolean
setting_load(FerryPolicySettings *settings, const SettingInfo *info, GKeyFile *key_file,
             const char *group, GError **error)
{
    char *field = (char *)settings + info->offset;
    GError *local_error = NULL;

    switch (info->type) {
    case SETTING_ACTION: {
        g_autofree char *name = g_key_file_get_string(key_file, group, info->key, error);
        FerryPolicyAction action;

        if (!name || !ferry_policy_action_from_string(name, &action, error))
            return FALSE;
        *(FerryPolicyAction *)field = action;
        return TRUE;
    }
    case SETTING_BOOLEAN: {
        gboolean value = g_key_file_get_boolean(key_file, group, info->key, &local_error);

        if (local_error) {
            g_propagate_error(error, local_error);
            return FALSE;
        }
        *(gboolean *)field = value;
        return TRUE;
    }
    case SETTING_SECONDS: {
        double value = g_key_file_get_double(key_file, group, info->key, &local_error);

        if (local_error) {
            g_propagate_error(error, local_error);
            return FALSE;
        }
        if (!isfinite(value) || value < 0) {
            g_set_error(error, FERRY_POLICY_ERROR, FERRY_POLICY_ERROR_INVALID,
                        "invalid value '%g' for '%s': expected seconds >= 0", value, info->key);
            return FALSE;
        }
        *(double *)field = value;
        return TRUE;
    }
    case SETTING_UINT: {
        guint64 value = g_key_file_get_uint64(key_file, group, info->key, &local_error);

        if (local_error) {
            g_propagate_error(error, local_error);
            return FALSE;
        }
        if (value > G_MAXUINT) {
            g_set_error(error, FERRY_POLICY_ERROR, FERRY_POLICY_ERROR_INVALID,
                        "invalid value '%" G_GUINT64_FORMAT "' for '%s': too large", value,
                        info->key);
            return FALSE;
        }
        *(guint *)field = (guint)value;
        return TRUE;
    }
    }
    g_assert_not_reached();
}

gboolean
ferry_policy_settings_load_key_file(FerryPolicySettings *settings, GKeyFile *key_file,
                                    const char *group, GError **error)
{
    FerryPolicySettings loaded = *settings;
    g_auto(GStrv) keys = NULL;

    if (!g_key_file_has_group(key_file, group))
        return TRUE;

    keys = g_key_file_get_keys(key_file, group, NULL, error);
    if (!keys)
        return FALSE;

    for (gsize i = 0; keys[i]; i++) {
        const SettingInfo *info = setting_info_find(keys[i]);

        if (!info) {
            g_set_error(error, FERRY_POLICY_ERROR, FERRY_POLICY_ERROR_INVALID,
                        "unknown policy setting '%s' in group '%s'", keys[i], group);
            return FALSE;
        }
        if (!setting_load(&loaded, info, key_file, group, error)) {
            g_prefix_error(error, "policy setting '%s': ", keys[i]);
            return FALSE;
        }
    }

    if (loaded.max_downtime_ms > 0 && loaded.initial_downtime_ms > loaded.max_downtime_ms) {
        g_set_error(error, FERRY_POLICY_ERROR, FERRY_POLICY_ERROR_INVALID,
                    "initial downtime %u ms is above the max downtime %u ms",
                    loaded.initial_downtime_ms, loaded.max_downtime_ms);
        return FALSE;
    }

    *settings = loaded;
    return TRUE;
}

double
ferry_policy_completion_timeout(const FerryPolicySettings *settings, guint64 mem_bytes,
                                guint64 disk_bytes)
{
    double gib = ((double)mem_bytes + (double)disk_bytes) / GIB;

    if (settings->completion_timeout_s > 0)
        return settings->completion_timeout_s;
    return MAX(settings->completion_timeout_per_gib_s * gib, settings->completion_timeout_min_s);
}

guint
ferry_policy_downtime_step_count(const FerryPolicySettings *settings)
{
    if (settings->max_downtime_ms == 0)
        return 0;
    return settings->downtime_steps + 1;
}

/* Nova's downtime_steps() (nova/virt/libvirt/migration.py), computed the same way: the delay
 * between steps is truncated to whole seconds, step i comes int(delay * i) s after the start,
 * with int(base + offset * i) ms computed in floating point (base = max / steps, offset =
 * (max - base) / steps), so a last step can fall a millisecond short of the max, as in Nova. */
FerryPolicyDowntimeStep
ferry_policy_downtime_step(const FerryPolicySettings *settings, guint64 mem_bytes, guint index)
{
    double max = settings->max_downtime_ms;
    guint steps = settings->downtime_steps;
    double base;
    double offset;
    double delay;

    if (steps == 0)
        return (FerryPolicyDowntimeStep){.at_s = 0, .downtime_ms = settings->max_downtime_ms};

    index = MIN(index, steps);
    base = settings->initial_downtime_ms ? MIN((double)settings->initial_downtime_ms, max)
                                         : max / steps;
    offset = (max - base) / steps;
    delay = MAX(floor(settings->downtime_delay_per_gib_s * ((double)mem_bytes / GIB)),
                settings->downtime_delay_min_s);

    return (FerryPolicyDowntimeStep){
        .at_s = floor(delay * index),
        .downtime_ms = (guint)(base + offset * index),
    };
}

void
ferry_policy_state_init(FerryPolicyState *state, guint64 mem_bytes, guint64 disk_bytes)
{
    *state = (FerryPolicyState){
        .phase = FERRY_POLICY_PHASE_SETUP,
        .mem_bytes = mem_bytes,
        .disk_bytes = disk_bytes,
        .learn_sizes = mem_bytes == 0 && disk_bytes == 0,
        .final_taken = FERRY_POLICY_ACTION_NONE,
    };
}

static FerryPolicyPhase
sample_phase(const FerryJobSample *sample)
{
    if (sample->postcopy)
        return FERRY_POLICY_PHASE_POSTCOPY;
    if (sample->mem_iteration > 0 || sample->mem_processed > 0)
        return FERRY_POLICY_PHASE_MEMORY;
    /* libvirt copies the disks (NBD) before it starts RAM migration; a synced mirror whose RAM
     * migration has not started yet is still the disk phase. */
    if (sample->disk_total > 0)
        return FERRY_POLICY_PHASE_DISK;
    if (sample->data_total > 0 || sample->mem_total > 0)
        return FERRY_POLICY_PHASE_MEMORY;
    return FERRY_POLICY_PHASE_SETUP;
}

/* The only place the phase changes; a sample that looks like an earlier phase (a field missing
 * in one poll) never takes the state back. */
static void
state_enter_phase(FerryPolicyState *state, FerryPolicyPhase phase, double now)
{
    if (phase <= state->phase)
        return;

    state->phase = phase;
    switch (phase) {
    case FERRY_POLICY_PHASE_DISK:
        state->disk_processed = 0;
        state->disk_progress_since_s = now;
        break;
    case FERRY_POLICY_PHASE_MEMORY:
        state->memory_phase_start_s = now;
        state->have_low_water = FALSE;
        break;
    case FERRY_POLICY_PHASE_SETUP:
    case FERRY_POLICY_PHASE_POSTCOPY:
    case FERRY_POLICY_PHASE_LAST:
        break;
    }
}

/* Remaining guest memory, without the disk mirror's bytes; FALSE if the sample has no data. */
static gboolean
sample_memory_remaining(const FerryJobSample *sample, guint64 *remaining)
{
    if (sample->mem_total > 0) {
        *remaining = sample->mem_remaining;
        return TRUE;
    }
    if (sample->data_total > 0) {
        *remaining = sample->data_remaining > sample->disk_remaining
                         ? sample->data_remaining - sample->disk_remaining
                         : 0;
        return TRUE;
    }
    return FALSE;
}

/* Tracks progress and, if the job stalled, writes why into @why and returns TRUE. */
static gboolean
state_track_stall(const FerryPolicySettings *settings, FerryPolicyState *state,
                  const FerryJobSample *sample, char *why, gsize why_size)
{
    double now = sample->elapsed_s;
    double window = settings->stall_window_s;

    if (state->phase == FERRY_POLICY_PHASE_DISK) {
        /* Zeros here mean the poll did not report disk stats, not that nothing was copied. */
        if (sample->disk_total == 0)
            return FALSE;
        if (sample->disk_processed > state->disk_processed) {
            state->disk_processed = sample->disk_processed;
            state->disk_progress_since_s = now;
            return FALSE;
        }
        if (window > 0 && now - state->disk_progress_since_s >= window - TIME_EPSILON) {
            g_snprintf(why, why_size,
                       "disk copy has not progressed beyond %.1f of %.1f MiB for %.1f s (stall)",
                       state->disk_processed / MIB, sample->disk_total / MIB,
                       now - state->disk_progress_since_s);
            return TRUE;
        }
        return FALSE;
    }

    if (state->phase == FERRY_POLICY_PHASE_MEMORY) {
        guint64 remaining;

        if (!sample_memory_remaining(sample, &remaining))
            return FALSE;
        if (!state->have_low_water || remaining < state->low_water) {
            state->have_low_water = TRUE;
            state->low_water = remaining;
            state->low_water_since_s = now;
            return FALSE;
        }
        if (window > 0 && now - state->low_water_since_s >= window - TIME_EPSILON) {
            g_snprintf(why, why_size,
                       "remaining memory has not dropped below %.1f MiB for %.1f s (stall)",
                       state->low_water / MIB, now - state->low_water_since_s);
            return TRUE;
        }
    }
    return FALSE;
}

/* Turns a due final action into the decision, applying the substitutions of ferry-policy.h. */
static FerryPolicyDecision
state_take_final(const FerryPolicySettings *settings, FerryPolicyState *state, const char *why)
{
    FerryPolicyDecision decision = {.action = FERRY_POLICY_ACTION_NONE};
    FerryPolicyAction action = settings->final_action;
    const char *note = "";

    if (action == FERRY_POLICY_ACTION_POSTCOPY && state->postcopy_failed) {
        action = FERRY_POLICY_ACTION_SUSPEND;
        note = "; post-copy could not be started, suspending instead";
    } else if (action == FERRY_POLICY_ACTION_POSTCOPY && !settings->postcopy_allowed) {
        action = FERRY_POLICY_ACTION_SUSPEND;
        note = "; post-copy was not enabled for this job, suspending instead";
    }

    if (action == FERRY_POLICY_ACTION_POSTCOPY && state->phase != FERRY_POLICY_PHASE_MEMORY) {
        /* QEMU refuses migrate-start-postcopy before RAM migration started. */
        if (!state->final_pending) {
            state->final_pending = TRUE;
            g_strlcpy(state->pending_reason, why, sizeof(state->pending_reason));
            g_snprintf(decision.reason, sizeof(decision.reason),
                       "%s; post-copy deferred until the disk copy is done", why);
        }
        return decision;
    }

    if (action == FERRY_POLICY_ACTION_NONE || !action_is_final(action)) {
        if (!state->none_reported) {
            state->none_reported = TRUE;
            g_snprintf(decision.reason, sizeof(decision.reason),
                       "%s; the policy action is 'none', letting the migration run", why);
        }
        return decision;
    }

    state->final_taken = action;
    state->final_pending = FALSE;
    decision.action = action;
    g_snprintf(decision.reason, sizeof(decision.reason), "%s%s", why, note);
    return decision;
}

static gboolean
state_next_downtime(const FerryPolicySettings *settings, FerryPolicyState *state,
                    const FerryJobSample *sample, FerryPolicyDecision *decision)
{
    guint count = ferry_policy_downtime_step_count(settings);
    gint due = -1;

    if ((guint)state->next_downtime_step >= count)
        return FALSE;

    if (state->next_downtime_step == 0)
        due = 0;
    if (state->phase == FERRY_POLICY_PHASE_MEMORY) {
        double in_memory = sample->elapsed_s - state->memory_phase_start_s;

        for (guint i = MAX(state->next_downtime_step, 1); i < count; i++) {
            FerryPolicyDowntimeStep step =
                ferry_policy_downtime_step(settings, state->mem_bytes, i);

            /* as Nova's update_downtime(): due once the time is past the step's */
            if (in_memory <= step.at_s + TIME_EPSILON)
                break;
            due = i;
        }
    }
    if (due < 0)
        return FALSE;

    state->next_downtime_step = due + 1;
    decision->action = FERRY_POLICY_ACTION_SET_DOWNTIME;
    decision->downtime_ms = ferry_policy_downtime_step(settings, state->mem_bytes, due).downtime_ms;
    if (due == 0) {
        g_snprintf(decision->reason, sizeof(decision->reason), "initial max downtime %u ms",
                   decision->downtime_ms);
    } else {
        g_snprintf(decision->reason, sizeof(decision->reason),
                   "memory phase running for %.1f s: max downtime %u ms (step %d of %u)",
                   sample->elapsed_s - state->memory_phase_start_s, decision->downtime_ms, due,
                   count - 1);
    }
    return TRUE;
}

/* The action a prediction of non-convergence takes: post-copy when allowed, else the final
 * action. */
static FerryPolicyAction
early_action(const FerryPolicySettings *settings, const FerryPolicyState *state)
{
    if (settings->postcopy_allowed && !state->postcopy_failed)
        return FERRY_POLICY_ACTION_POSTCOPY;
    return settings->final_action;
}

static guint
diverging_passes_needed(const FerryPolicySettings *settings)
{
    if (!settings->diverge_passes)
        return 0;
    return settings->diverge_passes +
           (settings->auto_converge ? settings->auto_converge_passes : 0);
}

/* Rule 3b: at a pass boundary, predicts whether the job converges before the timeout; TRUE when
 * it has predicted "not in time" for enough passes in a row, with @why saying so. */
static gboolean
state_predict(const FerryPolicySettings *settings, FerryPolicyState *state,
              const FerryJobSample *sample, double timeout, char *why, gsize why_size)
{
    guint64 page = sample->mem_page_size ? sample->mem_page_size : 4096;
    double dirty = (double)sample->mem_dirty_rate * (double)page;
    double sent = (double)sample->mem_bps;
    double downtime_s = MAX(settings->max_downtime_ms, 1) / 1000.0;
    double budget, r, left_s;
    guint64 remaining;
    guint needed = diverging_passes_needed(settings);

    if (!needed || state->phase != FERRY_POLICY_PHASE_MEMORY ||
        sample->mem_iteration <= state->pass)
        return FALSE;
    state->pass = sample->mem_iteration;
    /* pass 1 has no dirty rate yet; a poll without rates says nothing */
    if (sample->mem_iteration < 2 || dirty <= 0 || sent <= 0 ||
        !sample_memory_remaining(sample, &remaining))
        return FALSE;
    budget = downtime_s * sent;
    r = dirty / sent;
    state->predicted = TRUE;
    state->dirty_bps = dirty;
    state->sent_bps = sent;
    if ((double)remaining <= budget) {
        state->converge_in_s = 0;
    } else if (r >= 1) {
        state->converge_in_s = -1;
    } else {
        double n = ceil(log(budget / (double)remaining) / log(r));

        state->converge_in_s = (double)remaining / sent * (1 - pow(r, n)) / (1 - r);
    }
    left_s = timeout > 0 ? timeout - sample->elapsed_s : -1;
    state->converging =
        state->converge_in_s >= 0 && (left_s < 0 || state->converge_in_s <= left_s);
    if (state->converging) {
        state->diverging_passes = 0;
        return FALSE;
    }
    if (++state->diverging_passes < needed)
        return FALSE;
    if (state->converge_in_s < 0)
        g_snprintf(why, why_size,
                   "dirtying %.1f MiB/s, sending %.1f MiB/s: it cannot converge (predicted at "
                   "%u passes in a row%s)",
                   dirty / MIB, sent / MIB, state->diverging_passes,
                   settings->auto_converge ? ", auto-converge throttling did not help" : "");
    else
        g_snprintf(why, why_size,
                   "dirtying %.1f MiB/s, sending %.1f MiB/s: it would need %.0f s to converge, "
                   "past the %.0f s timeout (predicted at %u passes in a row%s)",
                   dirty / MIB, sent / MIB, state->converge_in_s, timeout,
                   state->diverging_passes,
                   settings->auto_converge ? ", auto-converge throttling did not help" : "");
    return TRUE;
}

/* Takes the early action for @why: post-copy when allowed, else the final action. */
static FerryPolicyDecision
state_take_early(const FerryPolicySettings *settings, FerryPolicyState *state, const char *why)
{
    FerryPolicyDecision decision = {.action = FERRY_POLICY_ACTION_NONE};
    char full[sizeof(decision.reason)];

    if (early_action(settings, state) == FERRY_POLICY_ACTION_POSTCOPY) {
        state->final_taken = FERRY_POLICY_ACTION_POSTCOPY;
        state->final_pending = FALSE;
        decision.action = FERRY_POLICY_ACTION_POSTCOPY;
        g_snprintf(decision.reason, sizeof(decision.reason), "%s: switching to post-copy now",
                   why);
        return decision;
    }
    g_snprintf(full, sizeof(full), "%s%s", why,
               settings->auto_converge ? ""
                                       : "; --postcopy or --auto-converge could let it finish "
                                         "live");
    return state_take_final(settings, state, full);
}

/* How long a SUSPEND taken now may take to let the job complete: three times what is left at
 * the rate the job moves, plus 30 s, at least 60 s; 300 s when no rate is known. */
static void
state_arm_escalation(FerryPolicyState *state, const FerryJobSample *sample)
{
    guint64 remaining = sample->data_remaining
                            ? sample->data_remaining
                            : sample->mem_remaining + sample->disk_remaining;
    guint64 rate = sample->mem_bps + sample->disk_bps;

    state->final_taken_s = sample->elapsed_s;
    if (!rate)
        state->escalate_after_s = 300;
    else
        state->escalate_after_s = MAX(60.0, 3.0 * (double)remaining / (double)rate + 30.0);
}

FerryPolicyDecision
ferry_policy_decide(const FerryPolicySettings *settings, FerryPolicyState *state,
                    const FerryJobSample *sample)
{
    FerryPolicyDecision decision = {.action = FERRY_POLICY_ACTION_NONE};
    char why[sizeof(decision.reason)] = "";
    gboolean stalled;
    double timeout;

    if (state->learn_sizes) {
        state->mem_bytes = MAX(state->mem_bytes, sample->mem_total);
        state->disk_bytes = MAX(state->disk_bytes, sample->disk_total);
    }
    state_enter_phase(state, sample_phase(sample), sample->elapsed_s);

    if (state->phase == FERRY_POLICY_PHASE_POSTCOPY)
        return decision;
    if (state->abort_pending) {
        state->abort_pending = FALSE;
        state->final_taken = FERRY_POLICY_ACTION_ABORT;
        decision.action = FERRY_POLICY_ACTION_ABORT;
        g_strlcpy(decision.reason, state->abort_reason, sizeof(decision.reason));
        return decision;
    }
    if (state->final_taken == FERRY_POLICY_ACTION_SUSPEND &&
        sample->elapsed_s >= state->final_taken_s + state->escalate_after_s - TIME_EPSILON) {
        state->final_taken = FERRY_POLICY_ACTION_ABORT;
        decision.action = FERRY_POLICY_ACTION_ABORT;
        g_snprintf(decision.reason, sizeof(decision.reason),
                   "suspended %.1f s ago and the job has not completed (bound %.0f s): "
                   "aborting, the guest runs on its source again",
                   sample->elapsed_s - state->final_taken_s, state->escalate_after_s);
        return decision;
    }
    if (state->final_taken != FERRY_POLICY_ACTION_NONE)
        return decision;

    /* Progress is tracked even while paused, so that the window restarts sensibly. */
    stalled = state_track_stall(settings, state, sample, why, sizeof(why));
    if (sample->paused)
        return decision;

    timeout = ferry_policy_completion_timeout(settings, state->mem_bytes, state->disk_bytes);
    /* 0 s: scaled by a size not known yet, with no floor */
    if (timeout > 0 && sample->elapsed_s >= timeout - TIME_EPSILON) {
        g_snprintf(why, sizeof(why), "completion timeout %.1f s reached after %.1f s", timeout,
                   sample->elapsed_s);
        decision = state_take_final(settings, state, why);
    } else if (!stalled && state_predict(settings, state, sample, timeout, why, sizeof(why))) {
        decision = state_take_early(settings, state, why);
    } else if (stalled) {
        decision = state_take_final(settings, state, why);
    } else if (state->final_pending) {
        decision = state_take_final(settings, state, state->pending_reason);
    }
    if (decision.action == FERRY_POLICY_ACTION_SUSPEND)
        state_arm_escalation(state, sample);
    /* A final action, or something to say about one, waits for no downtime step; a policy of
     * 'none' or a deferred post-copy still lets the schedule go on. */
    if (decision.action != FERRY_POLICY_ACTION_NONE || decision.reason[0] != '\0')
        return decision;

    state_next_downtime(settings, state, sample, &decision);
    return decision;
}

void
ferry_policy_note_failed(FerryPolicyState *state, FerryPolicyAction action)
{
    if (action == FERRY_POLICY_ACTION_SUSPEND && state->final_taken == action) {
        state->final_taken = FERRY_POLICY_ACTION_NONE;
        if (++state->final_failures >= 2) {
            state->abort_pending = TRUE;
            g_strlcpy(state->abort_reason, "suspend failed twice: aborting the migration",
                      sizeof(state->abort_reason));
        } else {
            state->final_pending = TRUE;
            g_strlcpy(state->pending_reason, "suspend failed: trying it once more",
                      sizeof(state->pending_reason));
        }
        return;
    }
    if (action != FERRY_POLICY_ACTION_POSTCOPY || state->final_taken != action)
        return;

    state->final_taken = FERRY_POLICY_ACTION_NONE;
    state->postcopy_failed = TRUE;
    state->final_pending = TRUE;
    g_strlcpy(state->pending_reason, "post-copy could not be started",
              sizeof(state->pending_reason));
}

FerryPolicyOutlook
ferry_policy_outlook(const FerryPolicySettings *settings, const FerryPolicyState *state,
                     const FerryJobSample *sample)
{
    FerryPolicyOutlook outlook = {
        .action = FERRY_POLICY_ACTION_NONE,
        .predicted = state->predicted,
        .converging = state->converging,
        .converge_in_s = state->converge_in_s,
        .dirty_bps = state->dirty_bps,
        .sent_bps = state->sent_bps,
        .diverging_passes = state->diverging_passes,
        .diverging_passes_needed = diverging_passes_needed(settings),
        .early_action = diverging_passes_needed(settings) ? early_action(settings, state)
                                                          : FERRY_POLICY_ACTION_NONE,
    };
    FerryPolicyAction action = settings->final_action;
    double timeout;

    if (action == FERRY_POLICY_ACTION_NONE || state->final_taken != FERRY_POLICY_ACTION_NONE ||
        sample->postcopy || sample->paused)
        return outlook;
    if (action == FERRY_POLICY_ACTION_POSTCOPY &&
        (!settings->postcopy_allowed || state->postcopy_failed))
        action = FERRY_POLICY_ACTION_SUSPEND;
    timeout = ferry_policy_completion_timeout(settings, state->mem_bytes, state->disk_bytes);
    if (timeout <= 0 || sample->elapsed_s >= timeout)
        return outlook;
    outlook.action = action;
    outlook.in_s = timeout - sample->elapsed_s;
    return outlook;
}
