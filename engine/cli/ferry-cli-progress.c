/*
 * ferry-cli-progress.c: what `ferry migrate` shows while it runs and when it ends.
 *
 * Progress goes to stderr: a two-line live display on a terminal (memory and disk apart, rates,
 * ETA), a plain line every few seconds otherwise.  With --json, stdout gets one JSON object per
 * line for each event and, last, one object with the result (docs/json-schema.json).
 */
#include "engine/cli/ferry-cli-progress.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "engine/cli/ferry-cli-json.h"

#define RATE_WINDOW 8       /* samples kept for the disk rate (500 ms apart: 4 s) */
#define RATE_WINDOW_S 3.0   /* the rate is taken over about this long */
#define PLAIN_LINE_EVERY_S 2.0

typedef struct {
    char *host;
    char *path;
} FerryFileRecord;

static void
file_record_free(gpointer data)
{
    FerryFileRecord *r = data;

    g_free(r->host);
    g_free(r->path);
    g_free(r);
}

struct _FerryProgress {
    gboolean tty;
    gboolean quiet;
    gboolean json;
    FILE *samples_file;  /* --samples-file: the job samples, ferry-job-sample.h format */
    gint64 last_line;    /* monotonic time of the last plain progress line (0: none yet) */
    gboolean display_open; /* the two-line live display is on the terminal */
    /* the recent samples of the current job or copy, oldest first, for the disk rate */
    FerryJobSample window[RATE_WINDOW];
    guint n_window;
    FerryPhase phase;
    gboolean precheck_passed;
    char *domain;
    char *src_host;
    char *dst_host;
    GPtrArray *files[FERRY_FILE_KEPT + 1]; /* FerryFileRecord*, by change */
};

/* ---- the figures ---------------------------------------------------------------------------- */

static double
percent(guint64 done, guint64 total)
{
    if (!total)
        return NAN;
    return 100.0 * (double)MIN(done, total) / (double)total;
}

void
ferry_progress_figures(const FerryJobSample *s, const FerryJobSample *older, gboolean copy,
                       FerryProgressFigures *f)
{
    guint64 page = s->mem_page_size ? s->mem_page_size : 4096;
    gboolean disk_phase = s->disk_total && s->disk_remaining && s->mem_iteration == 0;

    f->memory_percent = s->mem_total ? percent(s->mem_total - MIN(s->mem_remaining, s->mem_total),
                                               s->mem_total)
                                     : NAN;
    f->disk_percent = percent(s->disk_processed, s->disk_total);

    f->disk_bps_known = FALSE;
    f->disk_bps = 0;
    if (s->disk_bps) {
        f->disk_bps_known = TRUE;
        f->disk_bps = s->disk_bps;
    } else if (s->disk_total && !s->disk_remaining) {
        f->disk_bps_known = TRUE; /* nothing left to copy: no rate */
    } else if (older && s->elapsed_s - older->elapsed_s >= 0.2 &&
               s->disk_processed >= older->disk_processed) {
        f->disk_bps_known = TRUE;
        f->disk_bps = (guint64)((double)(s->disk_processed - older->disk_processed) /
                                (s->elapsed_s - older->elapsed_s));
    }

    /* QEMU computes the dirty rate from the second pass on; paused or in post-copy its figure
     * is a leftover, not what the guest does */
    f->dirty_known = !copy && !s->paused && !s->postcopy && s->mem_iteration > 1;
    f->dirty_bps = f->dirty_known ? s->mem_dirty_rate * page : 0;

    f->eta_s = NAN;
    f->eta_of = NULL;
    f->why_no_eta = NULL;
    if (copy || disk_phase) {
        f->eta_of = copy ? "copy" : "disks";
        if (f->disk_bps_known && f->disk_bps)
            f->eta_s = (double)s->disk_remaining / (double)f->disk_bps;
        else
            f->why_no_eta = "no rate yet";
        return;
    }
    f->eta_of = "memory";
    if (s->postcopy) {
        f->why_no_eta = "post-copy";
    } else if (s->paused) {
        f->why_no_eta = "paused";
    } else if (!s->mem_total) {
        f->why_no_eta = "no memory figures yet";
    } else if (!s->mem_bps) {
        f->why_no_eta = "no rate yet";
    } else if (f->dirty_known && f->dirty_bps >= s->mem_bps / 10 * 9) {
        f->why_no_eta = "not converging: dirtying as fast as sending";
    } else {
        f->eta_s = (double)s->mem_remaining / (double)(s->mem_bps - f->dirty_bps);
    }
    if (isnan(f->eta_s))
        f->eta_of = NULL;
}

char *
ferry_progress_format_duration(double s)
{
    if (!isfinite(s) || s < 0)
        return g_strdup("?");
    if (s >= 3600)
        return g_strdup_printf("%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    if (s >= 60)
        return g_strdup_printf("%dm%02ds", (int)(s / 60), (int)s % 60);
    return g_strdup_printf("%.0fs", ceil(s));
}

/* The samples of one job or copy, for the disk rate: a sample earlier than the last starts a
 * new one (the next disk's copy). */
static const FerryJobSample *
window_push(FerryProgress *p, const FerryJobSample *s)
{
    const FerryJobSample *older = NULL;

    if (p->n_window && s->elapsed_s < p->window[p->n_window - 1].elapsed_s)
        p->n_window = 0;
    if (p->n_window == RATE_WINDOW) {
        memmove(p->window, p->window + 1, sizeof(p->window[0]) * (RATE_WINDOW - 1));
        p->n_window--;
    }
    p->window[p->n_window++] = *s;
    /* the newest sample at least RATE_WINDOW_S old, else the oldest kept */
    for (guint i = 0; i + 1 < p->n_window; i++) {
        if (s->elapsed_s - p->window[i].elapsed_s >= RATE_WINDOW_S || i == 0)
            older = &p->window[i];
    }
    return older;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void
json_add_file_lists(FerryProgress *p, FerryJson *j)
{
    static const char *const names[] = {
        [FERRY_FILE_CREATED] = "created",
        [FERRY_FILE_REMOVED] = "removed",
        [FERRY_FILE_KEPT] = "kept",
    };

    ferry_json_begin_object(j, "files");
    for (guint c = FERRY_FILE_CREATED; c <= FERRY_FILE_KEPT; c++) {
        ferry_json_begin_array(j, names[c]);
        for (guint i = 0; i < p->files[c]->len; i++) {
            const FerryFileRecord *r = g_ptr_array_index(p->files[c], i);

            ferry_json_begin_object(j, NULL);
            ferry_json_string(j, "host", r->host);
            ferry_json_string(j, "path", r->path);
            ferry_json_end_object(j);
        }
        ferry_json_end_array(j);
    }
    ferry_json_end_object(j);
}

/* libvirt's statistics as read, for recording and replaying (tests/policy). */
static void
json_add_job(FerryJson *j, const FerryJobSample *s)
{
    const struct {
        const char *name;
        guint64 value;
    } fields[] = {
        {"data_total_bytes", s->data_total},
        {"data_processed_bytes", s->data_processed},
        {"data_remaining_bytes", s->data_remaining},
        {"mem_total_bytes", s->mem_total},
        {"mem_processed_bytes", s->mem_processed},
        {"mem_remaining_bytes", s->mem_remaining},
        {"mem_bps", s->mem_bps},
        {"mem_dirty_page_rate", s->mem_dirty_rate},
        {"mem_page_bytes", s->mem_page_size},
        {"mem_iteration", s->mem_iteration},
        {"disk_total_bytes", s->disk_total},
        {"disk_processed_bytes", s->disk_processed},
        {"disk_remaining_bytes", s->disk_remaining},
        {"disk_bps", s->disk_bps},
        {"expected_downtime_ms", s->expected_downtime_ms},
    };

    ferry_json_begin_object(j, "job");
    for (gsize i = 0; i < G_N_ELEMENTS(fields); i++)
        ferry_json_uint(j, fields[i].name, fields[i].value);
    ferry_json_bool(j, "postcopy", s->postcopy);
    ferry_json_bool(j, "paused", s->paused);
    ferry_json_end_object(j);
}

static void
json_add_action(FerryJson *j, double at_s, FerryPolicyAction action, guint downtime_ms,
                const char *reason, const char *error)
{
    ferry_json_fixed3(j, "at_s", at_s);
    ferry_json_string(j, "action", ferry_policy_action_to_string(action));
    if (action == FERRY_POLICY_ACTION_SET_DOWNTIME)
        ferry_json_uint(j, "downtime_ms", downtime_ms);
    ferry_json_string(j, "reason", reason);
    if (error) {
        ferry_json_begin_object(j, "error");
        ferry_json_string(j, "kind", "libvirt");
        ferry_json_string(j, "message", error);
        ferry_json_end_object(j);
    } else {
        ferry_json_null(j, "error");
    }
}

/* What the job is doing: ferry's own copy of a disk (cold), libvirt's disk mirror before the
 * memory, the memory passes, or post-copy. */
static const char *
sample_stage(const FerryJobSample *s, gboolean copy)
{
    if (copy)
        return "copy";
    if (s->postcopy)
        return "post-copy";
    if (s->disk_total && ((s->disk_remaining && !s->mem_iteration) || !s->mem_total))
        return "disks";
    return "memory";
}

static void
json_print_sample(const FerryMigrateEvent *ev, const FerryProgressFigures *f, gboolean copy)
{
    const FerryJobSample *s = ev->sample;
    g_autoptr(FerryJson) j = ferry_json_new_event("sample");

    ferry_json_string(j, "phase", ferry_phase_to_string(ev->phase));
    ferry_json_string(j, "stage", sample_stage(s, copy));
    ferry_json_fixed3(j, "elapsed_s", s->elapsed_s);
    ferry_json_bool(j, "paused", s->paused);
    ferry_json_bool(j, "postcopy", s->postcopy);
    if (s->mem_total) {
        ferry_json_uint(j, "memory_total_bytes", s->mem_total);
        ferry_json_uint(j, "memory_remaining_bytes", MIN(s->mem_remaining, s->mem_total));
        ferry_json_uint(j, "memory_sent_bytes", s->mem_processed);
        ferry_json_uint(j, "memory_pass", s->mem_iteration);
    }
    ferry_json_percent(j, "memory_percent", f->memory_percent);
    if (s->disk_total) {
        ferry_json_uint(j, "disk_total_bytes", s->disk_total);
        ferry_json_uint(j, "disk_done_bytes", MIN(s->disk_processed, s->disk_total));
        ferry_json_uint(j, "disk_remaining_bytes", s->disk_remaining);
    }
    ferry_json_percent(j, "disk_percent", f->disk_percent);
    if (!copy)
        ferry_json_uint(j, "memory_bps", s->mem_bps);
    if (f->disk_bps_known)
        ferry_json_uint(j, "disk_bps", f->disk_bps);
    else
        ferry_json_null(j, "disk_bps");
    if (f->dirty_known)
        ferry_json_uint(j, "dirty_bps", f->dirty_bps);
    else
        ferry_json_null(j, "dirty_bps");
    ferry_json_fixed3(j, "eta_s", f->eta_s);
    ferry_json_string(j, "eta_of", f->eta_of);
    ferry_json_string(j, "why_no_eta", f->why_no_eta);
    if (!copy && s->expected_downtime_ms)
        ferry_json_uint(j, "expected_downtime_ms", s->expected_downtime_ms);
    /* what the policy will do next by itself, and in how many seconds */
    if (ev->outlook && ev->outlook->action != FERRY_POLICY_ACTION_NONE) {
        ferry_json_string(j, "policy_next", ferry_policy_action_to_string(ev->outlook->action));
        ferry_json_fixed3(j, "policy_next_in_s", ev->outlook->in_s);
    }
    /* the policy's prediction: can the copy converge before the timeout, and what it does
     * after enough passes that say no */
    if (ev->outlook && ev->outlook->predicted && !s->paused && !s->postcopy) {
        ferry_json_begin_object(j, "prediction");
        ferry_json_bool(j, "converging", ev->outlook->converging);
        if (ev->outlook->converge_in_s >= 0)
            ferry_json_fixed3(j, "converge_in_s", ev->outlook->converge_in_s);
        else
            ferry_json_null(j, "converge_in_s");
        ferry_json_uint(j, "dirty_bps", (guint64)ev->outlook->dirty_bps);
        ferry_json_uint(j, "sent_bps", (guint64)ev->outlook->sent_bps);
        ferry_json_uint(j, "diverging_passes", ev->outlook->diverging_passes);
        ferry_json_uint(j, "diverging_passes_needed", ev->outlook->diverging_passes_needed);
        ferry_json_string(j, "early_action",
                          ferry_policy_action_to_string(ev->outlook->early_action));
        ferry_json_end_object(j);
    }
    if (!copy)
        json_add_job(j, s);
    ferry_json_print(g_steal_pointer(&j));
}

static void
json_print_event(const FerryMigrateEvent *ev)
{
    static const char *const kinds[] = {
        [FERRY_EVENT_PHASE] = "phase",
        [FERRY_EVENT_INFO] = "info",
        [FERRY_EVENT_SAMPLE] = "sample",
        [FERRY_EVENT_POLICY] = "policy",
    };
    static const char *const changes[] = {
        [FERRY_FILE_CREATED] = "created",
        [FERRY_FILE_REMOVED] = "removed",
        [FERRY_FILE_KEPT] = "kept",
    };
    g_autoptr(FerryJson) j = ferry_json_new_event(kinds[ev->kind]);

    ferry_json_string(j, "phase", ferry_phase_to_string(ev->phase));
    switch (ev->kind) {
    case FERRY_EVENT_PHASE:
    case FERRY_EVENT_INFO:
        ferry_json_string(j, "message", ev->message);
        if (ev->file != FERRY_FILE_NONE) {
            ferry_json_begin_object(j, "file");
            ferry_json_string(j, "change", changes[ev->file]);
            ferry_json_string(j, "host", ev->file_host);
            ferry_json_string(j, "path", ev->path);
            ferry_json_end_object(j);
        }
        break;
    case FERRY_EVENT_SAMPLE:
        g_assert_not_reached();
        break;
    case FERRY_EVENT_POLICY:
        json_add_action(j, ev->action->elapsed_s, ev->action->action, ev->action->downtime_ms,
                        ev->action->reason, ev->action->error);
        ferry_json_string(j, "message", ev->message);
        break;
    }
    ferry_json_print(g_steal_pointer(&j));
}

static void
json_print_result(FerryProgress *p, const FerryMigrateResult *r)
{
    g_autoptr(FerryJson) j = ferry_json_new_event("result");
    gboolean cold = r->mode == FERRY_MIGRATE_MODE_COLD;

    ferry_json_string(j, "command", "migrate");
    ferry_json_bool(j, "ok", TRUE);
    ferry_json_string(j, "domain", r->domain);
    ferry_json_string(j, "uuid", r->uuid);
    ferry_json_string(j, "source", r->src_host);
    ferry_json_string(j, "destination", r->dst_host);
    ferry_json_string(j, "mode", ferry_migrate_mode_to_string(r->mode));
    ferry_json_bool(j, "p2p", r->p2p);
    ferry_json_fixed3(j, "total_s", r->total_s);
    ferry_json_fixed3(j, "migration_s", r->migration_s);
    /* where the rest of total_s went: libvirt's call, and each of ferry's phases */
    ferry_json_fixed3(j, "call_s", r->call_s);
    ferry_json_begin_object(j, "phases");
    for (int i = 0; i < FERRY_PHASE_DONE; i++) {
        g_autofree char *key = g_strdup_printf("%s_s", ferry_phase_to_string(i));

        ferry_json_fixed3(j, key, r->phase_s[i]);
    }
    ferry_json_end_object(j);
    if (cold)
        ferry_json_fixed3(j, "copy_s", r->copy_s);
    ferry_json_uint(j, "downtime_ms", r->downtime_ms);
    ferry_json_uint(j, "memory_bytes", r->mem_bytes);
    ferry_json_uint(j, "disk_bytes", r->disk_bytes);
    /* bytes over the time they took to move: the job's (live), the copy's (cold) */
    if (cold)
        ferry_json_uint(j, "throughput_bps",
                        r->copy_s > 0 ? (guint64)(r->disk_bytes / r->copy_s) : 0);
    else
        ferry_json_uint(j, "throughput_bps",
                        r->migration_s > 0
                            ? (guint64)((r->mem_bytes + r->disk_bytes) / r->migration_s)
                            : 0);
    ferry_json_uint(j, "iterations", r->iterations);
    ferry_json_string(j, "final_action", ferry_policy_action_to_string(r->final_action));
    if (r->final_action != FERRY_POLICY_ACTION_NONE) {
        ferry_json_fixed3(j, "final_action_s", r->final_action_s);
        ferry_json_string(j, "final_reason", r->final_reason);
    }
    ferry_json_fixed3(j, "suspended_s", r->suspended_s);
    ferry_json_bool(j, "resumed_on_destination", r->resumed_on_dst);
    ferry_json_string(j, "state", r->dst_state);
    ferry_json_string(j, "nova", r->nova_status);
    ferry_json_bool(j, "nova_queued", r->nova_queued);
    ferry_json_begin_array(j, "actions");
    for (guint i = 0; r->actions && i < r->actions->len; i++) {
        const FerryMigrateActionRecord *a = g_ptr_array_index(r->actions, i);

        ferry_json_begin_object(j, NULL);
        json_add_action(j, a->at_s, a->action, a->downtime_ms, a->reason, a->error);
        ferry_json_end_object(j);
    }
    ferry_json_end_array(j);
    json_add_file_lists(p, j);
    ferry_json_print(g_steal_pointer(&j));
}

static void
json_print_error(FerryProgress *p, const GError *error)
{
    g_autoptr(FerryJson) j = ferry_json_new_event("result");

    ferry_json_string(j, "command", "migrate");
    ferry_json_bool(j, "ok", FALSE);
    ferry_json_error(j, "error", error);
    ferry_json_bool(j, "refused", ferry_progress_refused(p));
    ferry_json_string(j, "domain", p->domain);
    ferry_json_string(j, "source", p->src_host);
    ferry_json_string(j, "destination", p->dst_host);
    json_add_file_lists(p, j);
    ferry_json_print(g_steal_pointer(&j));
}

/* ---- human progress ------------------------------------------------------------------------ */

static void
progress_close(FerryProgress *p)
{
    if (p->display_open) {
        fputc('\n', stderr);
        p->display_open = FALSE;
    }
}

static char *
format_percent(double pct)
{
    if (isnan(pct))
        return g_strdup("-");
    return g_strdup_printf("%.0f%%", floor(CLAMP(pct, 0.0, 100.0)));
}

static char *
format_rate(gboolean known, guint64 bps)
{
    g_autofree char *b = NULL;

    if (!known)
        return g_strdup("-");
    b = ferry_cli_format_bytes(bps);
    return g_strdup_printf("%s/s", b);
}

static char *
format_eta(const FerryProgressFigures *f)
{
    g_autofree char *d = NULL;

    if (isnan(f->eta_s))
        return g_strdup_printf("ETA - (%s)", f->why_no_eta ? f->why_no_eta : "unknown");
    d = ferry_progress_format_duration(f->eta_s);
    return g_strdup_printf("ETA %s %s", f->eta_of, d);
}

/* What the policy will do next by itself, and when: as the engine says (ev->outlook). */
static char *
format_policy(const FerryPolicyOutlook *outlook, gboolean no_prediction)
{
    g_autofree char *d = NULL;
    g_autofree char *prediction = NULL;

    if (!outlook)
        return g_strdup("");
    /* the prediction (rule 3b): whether the copy can converge before the timeout */
    if (no_prediction) {
        /* paused or in post-copy: no dirty rate, nothing to predict */
    } else if (outlook->predicted && outlook->converging) {
        g_autofree char *in = ferry_progress_format_duration(outlook->converge_in_s);

        prediction = g_strdup_printf("  converging (~%s)", in);
    } else if (outlook->predicted) {
        prediction = g_strdup_printf(
            "  not converging in time (%u of %u passes%s%s)", outlook->diverging_passes,
            outlook->diverging_passes_needed,
            outlook->early_action != FERRY_POLICY_ACTION_NONE ? ", then " : "",
            outlook->early_action != FERRY_POLICY_ACTION_NONE
                ? ferry_policy_action_to_string(outlook->early_action)
                : "");
    }
    if (outlook->action == FERRY_POLICY_ACTION_NONE)
        return g_strdup(prediction ? prediction : "");
    d = ferry_progress_format_duration(outlook->in_s);
    return g_strdup_printf("  %s in %s%s", ferry_policy_action_to_string(outlook->action), d,
                           prediction ? prediction : "");
}

/* The terminal's width: a line longer than it would wrap and break the redraw in place. */
static int
terminal_width(void)
{
    struct winsize ws;

    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        return ws.ws_col - 1;
    return 1000;
}

static void
print_lines(FerryProgress *p, const char *line1, const char *line2)
{
    gint64 now = g_get_monotonic_time();

    if (p->tty) {
        int width = terminal_width();

        /* redraw the two lines in place */
        if (p->display_open)
            fputs("\r\033[1A", stderr);
        fprintf(stderr, "\r\033[K%.*s\n\033[K%.*s", width, line1, width, line2);
        p->display_open = TRUE;
        fflush(stderr);
    } else if (!p->last_line || now - p->last_line >= PLAIN_LINE_EVERY_S * G_USEC_PER_SEC) {
        fprintf(stderr, "%s\n%s\n", line1, line2);
        p->last_line = now;
    }
}

static void
print_copy_sample(FerryProgress *p, const FerryJobSample *s, const FerryProgressFigures *f)
{
    g_autofree char *done = ferry_cli_format_bytes(MIN(s->disk_processed, s->disk_total));
    g_autofree char *total = ferry_cli_format_bytes(s->disk_total);
    g_autofree char *pct = format_percent(f->disk_percent);
    g_autofree char *rate = format_rate(f->disk_bps_known, f->disk_bps);
    g_autofree char *eta = format_eta(f);
    g_autofree char *line1 = g_strdup_printf("[%6.1fs] copying a disk: %s / %s %s", s->elapsed_s,
                                             done, total, pct);
    g_autofree char *line2 = g_strdup_printf("          %s  %s", rate, eta);

    print_lines(p, line1, line2);
}

static void
print_sample(FerryProgress *p, const FerryJobSample *s, const FerryProgressFigures *f,
             const FerryPolicyOutlook *outlook)
{
    g_autofree char *mem = NULL;
    g_autofree char *disk = NULL;
    g_autofree char *mem_rate = format_rate(s->mem_total != 0, s->mem_bps);
    g_autofree char *disk_rate = format_rate(f->disk_bps_known, f->disk_bps);
    g_autofree char *dirty = format_rate(f->dirty_known, f->dirty_bps);
    g_autofree char *eta = format_eta(f);
    g_autofree char *policy = format_policy(outlook, s->paused || s->postcopy);
    g_autofree char *downtime =
        s->expected_downtime_ms
            ? g_strdup_printf("  downtime ~%" G_GUINT64_FORMAT " ms", s->expected_downtime_ms)
            : g_strdup("");
    g_autofree char *line1 = NULL;
    g_autofree char *line2 = NULL;
    const char *state = s->postcopy ? "  [post-copy]" : s->paused ? "  [paused]" : "";

    if (s->disk_total) {
        g_autofree char *done = ferry_cli_format_bytes(MIN(s->disk_processed, s->disk_total));
        g_autofree char *total = ferry_cli_format_bytes(s->disk_total);
        g_autofree char *pct = format_percent(f->disk_percent);
        disk = g_strdup_printf("disk %s / %s %s   ", done, total, pct);
    } else {
        disk = g_strdup("");
    }
    if (s->mem_total) {
        g_autofree char *total = ferry_cli_format_bytes(s->mem_total);
        g_autofree char *left = ferry_cli_format_bytes(MIN(s->mem_remaining, s->mem_total));
        g_autofree char *sent = ferry_cli_format_bytes(s->mem_processed);
        g_autofree char *pct = format_percent(f->memory_percent);
        mem = g_strdup_printf("memory %s: %s in sync, %s left, pass %" G_GUINT64_FORMAT
                              " (%s sent)",
                              total, pct, left, s->mem_iteration, sent);
    } else {
        mem = g_strdup(s->disk_total ? "memory after the disks" : "memory: no figures yet");
    }
    line1 = g_strdup_printf("[%6.1fs] %s%s", s->elapsed_s, disk, mem);
    line2 = g_strdup_printf("          memory %s%s%s  dirty %s%s  %s%s%s", mem_rate,
                            s->disk_total ? "  disk " : "", s->disk_total ? disk_rate : "", dirty,
                            downtime, eta, policy, state);
    print_lines(p, line1, line2);
}

static void
remember_identity(FerryProgress *p, const FerryMigrateEvent *ev)
{
    if (ev->domain && g_strcmp0(ev->domain, p->domain) != 0) {
        g_free(p->domain);
        p->domain = g_strdup(ev->domain);
    }
    if (ev->src_host && g_strcmp0(ev->src_host, p->src_host) != 0) {
        g_free(p->src_host);
        p->src_host = g_strdup(ev->src_host);
    }
    if (ev->dst_host && g_strcmp0(ev->dst_host, p->dst_host) != 0) {
        g_free(p->dst_host);
        p->dst_host = g_strdup(ev->dst_host);
    }
    if (ev->kind == FERRY_EVENT_INFO && ev->file != FERRY_FILE_NONE && ev->path) {
        FerryFileRecord *r = g_new0(FerryFileRecord, 1);

        r->host = g_strdup(ev->file_host);
        r->path = g_strdup(ev->path);
        g_ptr_array_add(p->files[ev->file], r);
    }
    if (ev->phase != p->phase) {
        p->phase = ev->phase;
        p->n_window = 0;
        p->last_line = 0;
    }
    if (ev->phase > FERRY_PHASE_PRECHECK)
        p->precheck_passed = TRUE;
}

void
ferry_progress_on_event(const FerryMigrateEvent *ev, gpointer user_data)
{
    FerryProgress *p = user_data;

    remember_identity(p, ev);
    if (ev->kind == FERRY_EVENT_SAMPLE) {
        /* a sample in the prepare phase is ferry's own copy of a disk (cold) */
        gboolean copy = ev->phase == FERRY_PHASE_PREPARE;
        const FerryJobSample *older = window_push(p, ev->sample);
        FerryProgressFigures f;

        if (p->samples_file && !copy) {
            g_autofree char *line = ferry_job_sample_format_line(ev->sample);
            fprintf(p->samples_file, "%s\n", line);
        }
        ferry_progress_figures(ev->sample, older, copy, &f);
        if (p->json)
            json_print_sample(ev, &f, copy);
        else if (!p->quiet && copy)
            print_copy_sample(p, ev->sample, &f);
        else if (!p->quiet)
            print_sample(p, ev->sample, &f, ev->outlook);
        return;
    }
    if (p->json) {
        json_print_event(ev);
        return;
    }
    if (p->quiet)
        return;
    switch (ev->kind) {
    case FERRY_EVENT_PHASE:
        progress_close(p);
        fprintf(stderr, "== %s\n", ev->message);
        break;
    case FERRY_EVENT_INFO:
        progress_close(p);
        fprintf(stderr, "   %s\n", ev->message);
        break;
    case FERRY_EVENT_POLICY:
        progress_close(p);
        fprintf(stderr, "   %s%s\n",
                ev->action->action == FERRY_POLICY_ACTION_NONE ? "" : "policy ", ev->message);
        break;
    case FERRY_EVENT_SAMPLE:
        break;
    }
}

static void
print_summary(const FerryMigrateResult *r)
{
    g_autofree char *mem = ferry_cli_format_bytes(r->mem_bytes);
    g_autofree char *disk = ferry_cli_format_bytes(r->disk_bytes);

    printf("migrated '%s' from %s to %s\n", r->domain, r->src_host, r->dst_host);
    if (r->mode == FERRY_MIGRATE_MODE_COLD) {
        g_autofree char *rate =
            ferry_cli_format_bytes(r->copy_s > 0 ? (guint64)(r->disk_bytes / r->copy_s) : 0);

        printf("  mode:       cold (disks copied by ferry, then the definition moved)\n");
        printf("  total time: %.2f s\n", r->total_s);
        printf("  disk:       %s copied in %.2f s (%s/s)\n", disk, r->copy_s, rate);
        printf("  definition: moved in %.2f s\n", r->migration_s);
    } else {
        g_autofree char *rate = ferry_cli_format_bytes(
            r->migration_s > 0 ? (guint64)((r->mem_bytes + r->disk_bytes) / r->migration_s) : 0);

        printf("  mode:       %s (%s)\n", ferry_migrate_mode_to_string(r->mode),
               r->p2p ? "peer-to-peer" : "managed by ferry");
        printf("  total time: %.2f s (migration job %.2f s)\n", r->total_s, r->migration_s);
        printf("  memory:     %s\n", mem);
        printf("  disk:       %s\n", disk);
        printf("  throughput: %s/s\n", rate);
        printf("  iterations: %" G_GUINT64_FORMAT "\n", r->iterations);
        printf("  downtime:   %" G_GUINT64_FORMAT " ms\n", r->downtime_ms);
        if (r->final_action != FERRY_POLICY_ACTION_NONE)
            printf("  policy:     %s at %.1f s (%s)\n",
                   ferry_policy_action_to_string(r->final_action), r->final_action_s,
                   r->final_reason);
        else
            printf("  policy:     no final action needed\n");
    }
    if (r->suspended_s > 0)
        printf("  suspended:  %.2f s by ferry%s\n", r->suspended_s,
               r->resumed_on_dst ? " (resumed on the destination by ferry)" : "");
    for (guint i = 0; r->actions && i < r->actions->len; i++) {
        const FerryMigrateActionRecord *a = g_ptr_array_index(r->actions, i);
        if (a->action == FERRY_POLICY_ACTION_SET_DOWNTIME)
            printf("    %6.1f s  max downtime %u ms%s%s\n", a->at_s, a->downtime_ms,
                   a->error ? ": failed: " : "", a->error ? a->error : "");
        else
            printf("    %6.1f s  %s: %s%s%s\n", a->at_s,
                   a->action ? ferry_policy_action_to_string(a->action) : "note", a->reason,
                   a->error ? ": failed: " : "", a->error ? a->error : "");
    }
    printf("  state:      %s on %s\n", r->dst_state, r->dst_host);
    if (r->nova_status)
        printf("  nova:       %s\n", r->nova_status);
}

FerryProgress *
ferry_progress_new(gboolean json, gboolean quiet, FILE *samples_file, const char *domain,
                   const char *dst_host)
{
    FerryProgress *p = g_new0(FerryProgress, 1);

    p->tty = ferry_cli_stderr_is_tty();
    p->json = json;
    p->quiet = quiet;
    p->samples_file = samples_file;
    p->domain = g_strdup(domain);
    p->dst_host = g_strdup(dst_host);
    for (guint c = FERRY_FILE_CREATED; c <= FERRY_FILE_KEPT; c++)
        p->files[c] = g_ptr_array_new_with_free_func(file_record_free);
    return p;
}

void
ferry_progress_free(FerryProgress *p)
{
    if (!p)
        return;
    progress_close(p);
    for (guint c = FERRY_FILE_CREATED; c <= FERRY_FILE_KEPT; c++)
        g_ptr_array_unref(p->files[c]);
    g_free(p->domain);
    g_free(p->src_host);
    g_free(p->dst_host);
    g_free(p);
}

gboolean
ferry_progress_refused(const FerryProgress *p)
{
    return !p->precheck_passed;
}

void
ferry_progress_result(FerryProgress *p, const FerryMigrateResult *result)
{
    progress_close(p);
    if (p->json)
        json_print_result(p, result);
    else
        print_summary(result);
}

void
ferry_progress_error(FerryProgress *p, const GError *error)
{
    progress_close(p);
    if (p->json)
        json_print_error(p, error);
}
