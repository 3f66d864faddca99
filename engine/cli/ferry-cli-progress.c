/*
 * ferry-cli-progress.c: what `ferry migrate` shows while it runs and when it ends.
 *
 * Progress goes to stderr: a two-line live display on a terminal (memory and disk apart, rate,
 * ETA), a plain line every few seconds otherwise.  With --json, stdout gets one JSON object per
 * line for each event and, last, one object with the summary (or the error).
 */
#include "engine/cli/ferry-cli-progress.h"

#include <json-glib/json-glib.h>
#include <stdio.h>

struct _FerryProgress {
    gboolean tty;
    gboolean quiet;
    gboolean json;
    FILE *samples_file; /* --samples-file: the job samples, ferry-job-sample.h format */
    double last_line;      /* elapsed time of the last plain progress line */
    gboolean display_open; /* the two-line live display is on the terminal */
    FerryJobSample prev;   /* the previous sample, for rates libvirt does not report */
};

/* ---- JSON ---------------------------------------------------------------------------------- */

static void
json_print(JsonBuilder *builder)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = json_builder_get_root(builder);
    g_autofree char *text = NULL;

    json_generator_set_root(gen, root);
    text = json_generator_to_data(gen, NULL);
    printf("%s\n", text);
    fflush(stdout);
}

static JsonBuilder *
json_event_begin(const char *event)
{
    JsonBuilder *b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "event");
    json_builder_add_string_value(b, event);
    return b;
}

static void
json_member_string(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    if (value)
        json_builder_add_string_value(b, value);
    else
        json_builder_add_null_value(b);
}

static void
json_member_int(JsonBuilder *b, const char *name, gint64 value)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, value);
}

static void
json_member_double(JsonBuilder *b, const char *name, double value)
{
    json_builder_set_member_name(b, name);
    json_builder_add_double_value(b, value);
}

static void
json_member_bool(JsonBuilder *b, const char *name, gboolean value)
{
    json_builder_set_member_name(b, name);
    json_builder_add_boolean_value(b, value);
}

/* Every field of the sample, under the names of ferry-job-sample.h. */
static void
json_add_sample(JsonBuilder *b, const FerryJobSample *s)
{
    const struct {
        const char *name;
        guint64 value;
    } fields[] = {
        {"data_total", s->data_total},
        {"data_processed", s->data_processed},
        {"data_remaining", s->data_remaining},
        {"mem_total", s->mem_total},
        {"mem_processed", s->mem_processed},
        {"mem_remaining", s->mem_remaining},
        {"mem_bps", s->mem_bps},
        {"mem_dirty_rate", s->mem_dirty_rate},
        {"mem_page_size", s->mem_page_size},
        {"mem_iteration", s->mem_iteration},
        {"disk_total", s->disk_total},
        {"disk_processed", s->disk_processed},
        {"disk_remaining", s->disk_remaining},
        {"disk_bps", s->disk_bps},
        {"expected_downtime_ms", s->expected_downtime_ms},
    };

    json_member_double(b, "elapsed_s", s->elapsed_s);
    for (gsize i = 0; i < G_N_ELEMENTS(fields); i++)
        json_member_int(b, fields[i].name, (gint64)fields[i].value);
    json_member_bool(b, "postcopy", s->postcopy);
    json_member_bool(b, "paused", s->paused);
}

static void
json_add_action(JsonBuilder *b, double at_s, FerryPolicyAction action, guint downtime_ms,
                const char *reason, const char *error)
{
    json_member_double(b, "at_s", at_s);
    json_member_string(b, "action", ferry_policy_action_to_string(action));
    if (action == FERRY_POLICY_ACTION_SET_DOWNTIME)
        json_member_int(b, "downtime_ms", downtime_ms);
    json_member_string(b, "reason", reason);
    json_member_string(b, "error", error);
}

static void
json_print_result(const FerryMigrateResult *r)
{
    g_autoptr(JsonBuilder) b = json_event_begin("result");

    json_member_bool(b, "ok", TRUE);
    json_member_string(b, "domain", r->domain);
    json_member_string(b, "uuid", r->uuid);
    json_member_string(b, "source", r->src_host);
    json_member_string(b, "destination", r->dst_host);
    json_member_string(b, "mode", ferry_migrate_mode_to_string(r->mode));
    json_member_bool(b, "p2p", r->p2p);
    json_member_double(b, "total_s", r->total_s);
    json_member_double(b, "migration_s", r->migration_s);
    /* where the rest of total_s went: libvirt's call, and each of ferry's phases */
    json_member_double(b, "call_s", r->call_s);
    json_builder_set_member_name(b, "phases_s");
    json_builder_begin_object(b);
    for (int i = 0; i < FERRY_PHASE_DONE; i++)
        json_member_double(b, ferry_phase_to_string(i), r->phase_s[i]);
    json_builder_end_object(b);
    json_member_int(b, "downtime_ms", (gint64)r->downtime_ms);
    json_member_int(b, "memory_bytes", (gint64)r->mem_bytes);
    json_member_int(b, "disk_bytes", (gint64)r->disk_bytes);
    json_member_double(b, "throughput_bps",
                       r->migration_s > 0 ? (r->mem_bytes + r->disk_bytes) / r->migration_s : 0);
    json_member_int(b, "iterations", (gint64)r->iterations);
    json_member_string(b, "final_action", ferry_policy_action_to_string(r->final_action));
    if (r->final_action != FERRY_POLICY_ACTION_NONE) {
        json_member_double(b, "final_action_s", r->final_action_s);
        json_member_string(b, "final_reason", r->final_reason);
    }
    json_member_double(b, "suspended_s", r->suspended_s);
    json_member_bool(b, "resumed_on_destination", r->resumed_on_dst);
    json_member_string(b, "state", r->dst_state);
    json_member_string(b, "nova", r->nova_status);
    json_builder_set_member_name(b, "actions");
    json_builder_begin_array(b);
    for (guint i = 0; r->actions && i < r->actions->len; i++) {
        const FerryMigrateActionRecord *a = g_ptr_array_index(r->actions, i);
        json_builder_begin_object(b);
        json_add_action(b, a->at_s, a->action, a->downtime_ms, a->reason, a->error);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    json_print(b);
}

static void
json_print_error(const GError *error)
{
    g_autoptr(JsonBuilder) b = json_event_begin("result");

    json_member_bool(b, "ok", FALSE);
    json_member_string(b, "error", error->message);
    json_member_string(b, "error_domain", g_quark_to_string(error->domain));
    json_member_int(b, "error_code", error->code);
    json_builder_end_object(b);
    json_print(b);
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
    g_autoptr(JsonBuilder) b = json_event_begin(kinds[ev->kind]);

    json_member_string(b, "phase", ferry_phase_to_string(ev->phase));
    switch (ev->kind) {
    case FERRY_EVENT_PHASE:
    case FERRY_EVENT_INFO:
        json_member_string(b, "message", ev->message);
        break;
    case FERRY_EVENT_SAMPLE:
        json_add_sample(b, ev->sample);
        /* what the policy will do next by itself, and in how many seconds */
        if (ev->outlook && ev->outlook->action != FERRY_POLICY_ACTION_NONE) {
            json_member_string(b, "policy_next",
                               ferry_policy_action_to_string(ev->outlook->action));
            json_member_double(b, "policy_next_in_s", ev->outlook->in_s);
        }
        break;
    case FERRY_EVENT_POLICY:
        json_add_action(b, ev->action->elapsed_s, ev->action->action, ev->action->downtime_ms,
                        ev->action->reason, ev->action->error);
        json_member_string(b, "message", ev->message);
        break;
    }
    json_builder_end_object(b);
    json_print(b);
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
format_duration(double s)
{
    if (s >= 3600)
        return g_strdup_printf("%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    if (s >= 60)
        return g_strdup_printf("%dm%02ds", (int)(s / 60), (int)s % 60);
    return g_strdup_printf("%.0fs", s);
}

/* Estimated time left: the disk mirror and one more pass over memory at the current rate.  In
 * the memory phase, when the guest dirties memory as fast as it is sent, there is none. */
static char *
format_eta(const FerryJobSample *s)
{
    guint64 page = s->mem_page_size ? s->mem_page_size : 4096;
    guint64 dirty_bps = s->mem_dirty_rate * page;
    guint64 rate = s->mem_bps + s->disk_bps;
    guint64 remaining = s->disk_remaining + s->mem_remaining;

    if (s->postcopy)
        return g_strdup("post-copy");
    if (s->paused && s->mem_bps)
        return format_duration((double)remaining / s->mem_bps);
    if (s->mem_iteration > 1 && dirty_bps >= s->mem_bps * 9 / 10)
        return g_strdup("none (dirtying faster than sending)");
    if (!rate)
        return g_strdup("?");
    if (s->disk_remaining && !s->mem_iteration)
        remaining += s->mem_total; /* the memory phase comes after the disk mirror */
    return format_duration((double)remaining / rate);
}

static char *
format_percent(guint64 done, guint64 total)
{
    if (!total)
        return g_strdup("  - ");
    return g_strdup_printf("%3.0f%%", 100.0 * MIN(done, total) / total);
}

/* What the policy will do next by itself, and when: as the engine says (ev->outlook). */
static char *
format_policy(const FerryPolicyOutlook *outlook)
{
    if (!outlook || outlook->action == FERRY_POLICY_ACTION_NONE)
        return g_strdup("");
    return g_strdup_printf("  %s in %.0fs", ferry_policy_action_to_string(outlook->action),
                           outlook->in_s);
}

/* libvirt reports no rate for the NBD disk mirror: derive it from the previous sample. */
static FerryJobSample
sample_with_rates(FerryProgress *p, const FerryJobSample *sample)
{
    FerryJobSample s = *sample;
    double dt = s.elapsed_s - p->prev.elapsed_s;

    if (!s.disk_bps && dt > 0 && s.disk_processed > p->prev.disk_processed)
        s.disk_bps = (guint64)((s.disk_processed - p->prev.disk_processed) / dt);
    p->prev = *sample;
    return s;
}

static void
print_sample(FerryProgress *p, const FerryJobSample *sample, const FerryPolicyOutlook *outlook)
{
    const FerryJobSample derived = sample_with_rates(p, sample);
    const FerryJobSample *s = &derived;
    g_autofree char *mem_done = ferry_cli_format_bytes(s->mem_processed);
    g_autofree char *mem_total = ferry_cli_format_bytes(s->mem_total);
    g_autofree char *mem_pct = format_percent(s->mem_processed, s->mem_total);
    g_autofree char *disk_done = ferry_cli_format_bytes(s->disk_processed);
    g_autofree char *disk_total = ferry_cli_format_bytes(s->disk_total);
    g_autofree char *disk_pct = format_percent(s->disk_processed, s->disk_total);
    g_autofree char *mem_left = ferry_cli_format_bytes(s->mem_remaining);
    g_autofree char *rate = ferry_cli_format_bytes(s->mem_bps + s->disk_bps);
    g_autofree char *dirty =
        ferry_cli_format_bytes(s->mem_dirty_rate * (s->mem_page_size ? s->mem_page_size : 4096));
    g_autofree char *eta = format_eta(s);
    g_autofree char *policy = format_policy(outlook);
    g_autofree char *line1 = NULL;
    g_autofree char *line2 = NULL;
    const char *state = s->postcopy ? "  [post-copy]" : s->paused ? "  [paused]" : "";

    g_autofree char *disk =
        s->disk_total ? g_strdup_printf("disk %s / %s %s   ", disk_done, disk_total, disk_pct)
                      : g_strdup("");
    g_autofree char *mem =
        s->mem_total || !s->disk_total
            ? g_strdup_printf("memory %s / %s %s, %s left, pass %" G_GUINT64_FORMAT, mem_done,
                              mem_total, mem_pct, mem_left, s->mem_iteration)
            : g_strdup("memory after the disks");

    line1 = g_strdup_printf("[%6.1fs] %s%s", s->elapsed_s, disk, mem);
    line2 = g_strdup_printf("          %s/s  dirty %s/s  downtime ~%" G_GUINT64_FORMAT
                            " ms  ETA %s%s%s",
                            rate, dirty, s->expected_downtime_ms, eta, policy, state);
    if (p->tty) {
        /* redraw the two lines in place */
        if (p->display_open)
            fputs("\r\033[1A", stderr);
        fprintf(stderr, "\r\033[K%s\n\033[K%s", line1, line2);
        p->display_open = TRUE;
        fflush(stderr);
    } else if (s->elapsed_s - p->last_line >= 2.0 || p->last_line == 0) {
        fprintf(stderr, "%s  %s/s  ETA %s%s\n", line1, rate, eta, state);
        p->last_line = s->elapsed_s;
    }
}

void
ferry_progress_on_event(const FerryMigrateEvent *ev, gpointer user_data)
{
    FerryProgress *p = user_data;

    if (ev->kind == FERRY_EVENT_SAMPLE && p->samples_file) {
        g_autofree char *line = ferry_job_sample_format_line(ev->sample);
        fprintf(p->samples_file, "%s\n", line);
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
        print_sample(p, ev->sample, ev->outlook);
        break;
    }
}

static void
print_summary(const FerryMigrateResult *r)
{
    g_autofree char *mem = ferry_cli_format_bytes(r->mem_bytes);
    g_autofree char *disk = ferry_cli_format_bytes(r->disk_bytes);
    g_autofree char *rate = ferry_cli_format_bytes(
        r->migration_s > 0 ? (guint64)((r->mem_bytes + r->disk_bytes) / r->migration_s) : 0);

    printf("migrated '%s' from %s to %s\n", r->domain, r->src_host, r->dst_host);
    printf("  mode:       %s (%s)\n", ferry_migrate_mode_to_string(r->mode),
           r->p2p ? "peer-to-peer" : "managed by ferry");
    printf("  total time: %.2f s (migration job %.2f s)\n", r->total_s, r->migration_s);
    printf("  memory:     %s\n", mem);
    printf("  disk:       %s\n", disk);
    printf("  throughput: %s/s\n", rate);
    printf("  iterations: %" G_GUINT64_FORMAT "\n", r->iterations);
    printf("  downtime:   %" G_GUINT64_FORMAT " ms\n", r->downtime_ms);
    if (r->final_action != FERRY_POLICY_ACTION_NONE)
        printf("  policy:     %s at %.1f s (%s)\n", ferry_policy_action_to_string(r->final_action),
               r->final_action_s, r->final_reason);
    else
        printf("  policy:     no final action needed\n");
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
ferry_progress_new(gboolean json, gboolean quiet, FILE *samples_file)
{
    FerryProgress *p = g_new0(FerryProgress, 1);

    p->tty = ferry_cli_stderr_is_tty();
    p->json = json;
    p->quiet = quiet;
    p->samples_file = samples_file;
    return p;
}

void
ferry_progress_free(FerryProgress *p)
{
    if (!p)
        return;
    progress_close(p);
    g_free(p);
}

void
ferry_progress_result(FerryProgress *p, const FerryMigrateResult *result)
{
    progress_close(p);
    if (p->json)
        json_print_result(result);
    else
        print_summary(result);
}

void
ferry_progress_error(FerryProgress *p, const GError *error)
{
    progress_close(p);
    if (p->json)
        json_print_error(error);
}
