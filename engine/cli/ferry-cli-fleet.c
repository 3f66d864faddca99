/*
 * ferry-cli-fleet.c: the tables and JSON of the fleet commands (see ferry-cli-fleet.h).
 */
#include "engine/cli/ferry-cli-fleet.h"

#include "engine/cli/ferry-cli-json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/ferry-definitions.h"
#include "engine/ferry-hostmap.h"
#include "engine/ferry-inventory.h"
#include "engine/ferry-journal.h"
#include "engine/ferry-locate.h"
#include "engine/ferry-virt-util.h"
#include "engine/nova/ferry-nova.h"

static char *
mib(guint64 bytes)
{
    return g_strdup_printf("%" G_GUINT64_FORMAT " MiB", (bytes + (1 << 19)) >> 20);
}

/* ---- the definitions cache ---------------------------------------------------------------- */

void
ferry_cli_fleet_record(const FerryInventory *inventory, const FerrySurvey *survey)
{
    g_autoptr(GError) local = NULL;

    if (!ferry_definitions_record_survey(inventory, survey, NULL, &local))
        ferry_cli_error("warning: the definitions cache (for ferry rescue) was not refreshed: %s",
                        local->message);
}

/* ---- ferry list ---------------------------------------------------------------------------- */

static char *
guest_disks(const FerrySurveyGuest *g)
{
    g_autoptr(GString) s = g_string_new(NULL);

    for (guint i = 0; i < g->disks->len; i++) {
        const FerrySurveyDisk *d = g_ptr_array_index(g->disks, i);

        g_string_append_printf(s, "%s%s %s", s->len ? ", " : "", d->target,
                               ferry_survey_disk_kind_to_string(d->kind));
        if (d->kind == FERRY_SURVEY_DISK_LOCAL) {
            g_autofree char *size = ferry_cli_format_bytes(d->stream_bytes);
            g_string_append_printf(s, " (%s)", size);
        }
    }
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/* Null where the host could not tell (unreachable). */
static void
host_figure(FerryJson *j, const char *name, const FerrySurveyHost *sh, guint64 value)
{
    if (sh->reachable)
        ferry_json_uint(j, name, value);
    else
        ferry_json_null(j, name);
}

void
ferry_cli_fleet_json_hosts(FerryJson *j, const FerrySurvey *survey)
{
    ferry_json_begin_array(j, "hosts");
    for (guint i = 0; i < survey->hosts->len; i++) {
        const FerrySurveyHost *sh = g_ptr_array_index(survey->hosts, i);

        ferry_json_begin_object(j, NULL);
        ferry_json_string(j, "name", sh->host->name);
        ferry_json_bool(j, "reachable", sh->reachable);
        if (sh->reachable) {
            ferry_json_null(j, "error");
        } else {
            ferry_json_begin_object(j, "error");
            ferry_json_string(j, "kind", "unreachable");
            ferry_json_string(j, "message", sh->error ? sh->error : "no answer");
            ferry_json_end_object(j);
        }
        host_figure(j, "memory_total_bytes", sh, sh->mem_total_bytes);
        host_figure(j, "memory_available_bytes", sh, sh->mem_available_bytes);
        ferry_json_uint(j, "memory_reserved_bytes", (guint64)sh->host->reserved_memory_mib << 20);
        host_figure(j, "cpus", sh, sh->cpus);
        host_figure(j, "vcpus_committed", sh, sh->vcpus_committed);
        host_figure(j, "guests", sh, sh->guests->len);
        ferry_json_end_object(j);
    }
    ferry_json_end_array(j);
}

static void
json_list(const FerrySurvey *survey)
{
    FerryJson *j = ferry_json_new_event("result");

    ferry_json_string(j, "command", "list");
    ferry_json_bool(j, "ok", TRUE);
    ferry_cli_fleet_json_hosts(j, survey);
    ferry_json_begin_array(j, "guests");
    for (guint i = 0; i < survey->hosts->len; i++) {
        const FerrySurveyHost *sh = g_ptr_array_index(survey->hosts, i);

        for (guint k = 0; k < sh->guests->len; k++) {
            const FerrySurveyGuest *g = g_ptr_array_index(sh->guests, k);

            ferry_json_begin_object(j, NULL);
            ferry_json_string(j, "name", g->name);
            ferry_json_string(j, "uuid", g->uuid);
            ferry_json_string(j, "host", g->host);
            ferry_json_string(j, "state", ferry_virt_state_to_string(g->state));
            ferry_json_bool(j, "persistent", g->persistent);
            ferry_json_bool(j, "autostart", g->autostart);
            ferry_json_uint(j, "memory_bytes", g->memory_bytes);
            ferry_json_uint(j, "vcpus", g->vcpus);
            ferry_json_uint(j, "stream_bytes", g->stream_bytes);
            ferry_json_begin_array(j, "disks");
            for (guint d = 0; d < g->disks->len; d++) {
                const FerrySurveyDisk *disk = g_ptr_array_index(g->disks, d);

                ferry_json_begin_object(j, NULL);
                ferry_json_string(j, "target", disk->target);
                ferry_json_string(j, "source", disk->source);
                ferry_json_string(j, "kind", ferry_survey_disk_kind_to_string(disk->kind));
                ferry_json_uint(j, "stream_bytes", disk->stream_bytes);
                ferry_json_end_object(j);
            }
            ferry_json_end_array(j);
            ferry_json_string(j, "flag", g->flag);
            ferry_json_string(j, "refused", g->refused);
            ferry_json_end_object(j);
        }
    }
    ferry_json_end_array(j);
    ferry_json_null(j, "error");
    ferry_json_print(j);
}

void
ferry_cli_fleet_print_list(const FerrySurvey *survey, gboolean json)
{
    if (json) {
        json_list(survey);
        return;
    }
    printf("%-12s %-11s %10s %10s %10s %5s %6s %6s\n", "HOST", "STATE", "AVAILABLE", "RESERVED",
           "TOTAL", "CPUS", "VCPUS", "GUESTS");
    for (guint i = 0; i < survey->hosts->len; i++) {
        const FerrySurveyHost *sh = g_ptr_array_index(survey->hosts, i);
        g_autofree char *avail = mib(sh->mem_available_bytes);
        g_autofree char *reserved = mib(sh->host->reserved_memory_mib << 20);
        g_autofree char *total = mib(sh->mem_total_bytes);

        if (!sh->reachable) {
            printf("%-12s unreachable: %s\n", sh->host->name, sh->error);
            continue;
        }
        printf("%-12s %-11s %10s %10s %10s %5u %6u %6u\n", sh->host->name, "up", avail, reserved,
               total, sh->cpus, sh->vcpus_committed, sh->guests->len);
    }
    printf("\n%-16s %-8s %-9s %8s %5s  %s\n", "GUEST", "HOST", "STATE", "MEMORY", "VCPUS",
           "DISKS");
    for (guint i = 0; i < survey->hosts->len; i++) {
        const FerrySurveyHost *sh = g_ptr_array_index(survey->hosts, i);

        for (guint j = 0; j < sh->guests->len; j++) {
            const FerrySurveyGuest *g = g_ptr_array_index(sh->guests, j);
            g_autofree char *disks = guest_disks(g);
            g_autofree char *mem = mib(g->memory_bytes);

            printf("%-16s %-8s %-9s %8s %5u  %s%s%s%s%s\n", g->name, g->host,
                   ferry_virt_state_to_string(g->state), mem, g->vcpus, disks,
                   g->persistent ? "" : " [transient]", g->flag ? " [!! " : "",
                   g->flag ? g->flag : "", g->flag ? "]" : "");
        }
    }
}

/* ---- plans --------------------------------------------------------------------------------- */

void
ferry_cli_fleet_print_plan(const FerryPlacePlan *plan, FILE *out)
{
    if (plan->moves->len) {
        fprintf(out, "%-16s %-8s    %-8s %-11s %8s %10s  %s\n", "GUEST", "FROM", "TO", "MODE",
                "MEMORY", "DISK COPY", "WHY");
        for (guint i = 0; i < plan->moves->len; i++) {
            const FerryPlaceMove *m = g_ptr_array_index(plan->moves, i);
            g_autofree char *mem = mib(m->memory_bytes);
            g_autofree char *disk = mib(m->stream_bytes);

            fprintf(out, "%-16s %-8s -> %-8s %-11s %8s %10s  %s\n", m->guest, m->src, m->dst,
                    ferry_place_move_mode_to_string(m->mode), mem, disk, m->why);
        }
    }
    for (guint i = 0; i < plan->in_place->len; i++) {
        const FerryPlaceOutcome *o = g_ptr_array_index(plan->in_place, i);
        fprintf(out, "in place: '%s' is already on %s\n", o->guest, o->host);
    }
    for (guint i = 0; i < plan->misfits->len; i++) {
        const FerryPlaceOutcome *o = g_ptr_array_index(plan->misfits, i);
        fprintf(out, "does not fit: '%s'%s%s: %s\n", o->guest, o->host ? " on " : "",
                o->host ? o->host : "", o->reason);
    }
    if (!plan->moves->len && !plan->misfits->len)
        fprintf(out, "nothing to move\n");
}

void
ferry_cli_fleet_json_plan(FerryJson *j, const FerryPlacePlan *plan)
{
    if (!plan) {
        ferry_json_null(j, "moves");
        ferry_json_null(j, "in_place");
        ferry_json_null(j, "misfits");
        return;
    }
    ferry_json_begin_array(j, "moves");
    for (guint i = 0; i < plan->moves->len; i++) {
        const FerryPlaceMove *m = g_ptr_array_index(plan->moves, i);

        ferry_json_begin_object(j, NULL);
        ferry_json_string(j, "guest", m->guest);
        ferry_json_string(j, "uuid", m->uuid);
        ferry_json_string(j, "from", m->src);
        ferry_json_string(j, "to", m->dst);
        ferry_json_string(j, "mode", ferry_place_move_mode_to_string(m->mode));
        ferry_json_uint(j, "memory_bytes", m->memory_bytes);
        ferry_json_uint(j, "stream_bytes", m->stream_bytes);
        ferry_json_string(j, "why", m->why);
        ferry_json_end_object(j);
    }
    ferry_json_end_array(j);
    ferry_json_begin_array(j, "in_place");
    for (guint i = 0; i < plan->in_place->len; i++) {
        const FerryPlaceOutcome *o = g_ptr_array_index(plan->in_place, i);

        ferry_json_begin_object(j, NULL);
        ferry_json_string(j, "guest", o->guest);
        ferry_json_string(j, "host", o->host);
        ferry_json_end_object(j);
    }
    ferry_json_end_array(j);
    ferry_json_begin_array(j, "misfits");
    for (guint i = 0; i < plan->misfits->len; i++) {
        const FerryPlaceOutcome *o = g_ptr_array_index(plan->misfits, i);

        ferry_json_begin_object(j, NULL);
        ferry_json_string(j, "guest", o->guest);
        ferry_json_string(j, "host", o->host);
        ferry_json_string(j, "reason", o->reason);
        ferry_json_end_object(j);
    }
    ferry_json_end_array(j);
}

/* ---- while it runs ------------------------------------------------------------------------- */

struct _FerryFleetDisplay {
    gboolean json;
    gboolean tty;
    guint n_moves;
    guint lines_drawn;     /* of the live table, to redraw over */
    gint64 last_draw_us;
    GPtrArray *moves;      /* const FerryFleetMove*, as seen in events (by index) */
    GHashTable *last_phase; /* index -> phase last printed (plain lines) */
};

FerryFleetDisplay *
ferry_fleet_display_new(gboolean json, guint n_moves)
{
    FerryFleetDisplay *d = g_new0(FerryFleetDisplay, 1);

    d->json = json;
    d->tty = !json && ferry_cli_stderr_is_tty();
    d->n_moves = n_moves;
    d->moves = g_ptr_array_new();
    g_ptr_array_set_size(d->moves, n_moves);
    d->last_phase = g_hash_table_new(NULL, NULL);
    return d;
}

void
ferry_fleet_display_free(FerryFleetDisplay *display)
{
    if (!display)
        return;
    g_ptr_array_unref(display->moves);
    g_hash_table_unref(display->last_phase);
    g_free(display);
}

static const char *
move_phase(const FerryFleetMove *m)
{
    if (m->state != FERRY_FLEET_MOVE_RUNNING)
        return ferry_fleet_move_state_to_string(m->state);
    return ferry_phase_to_string(m->phase);
}

static void
display_draw(FerryFleetDisplay *d)
{
    if (d->lines_drawn)
        fprintf(stderr, "\033[%uA", d->lines_drawn);
    d->lines_drawn = 0;
    for (guint i = 0; i < d->n_moves; i++) {
        const FerryFleetMove *m = g_ptr_array_index(d->moves, i);
        char pct[16] = "";
        g_autofree char *rate = NULL;

        if (!m)
            continue;
        if (m->percent >= 0)
            g_snprintf(pct, sizeof(pct), "%5.1f%%", m->percent);
        rate = m->rate_bps && m->state == FERRY_FLEET_MOVE_RUNNING &&
                       m->phase == FERRY_PHASE_MIGRATE
                   ? ferry_cli_format_bytes(m->rate_bps)
                   : g_strdup("");
        fprintf(stderr, "\033[2K%-16s %-8s -> %-8s %-9s %7s %12s%s\n", m->move->guest,
                m->move->src, m->move->dst, move_phase(m), pct, rate, *rate ? "/s" : "");
        d->lines_drawn++;
    }
    fflush(stderr);
}

static void
display_json(const FerryFleetEvent *event)
{
    const FerryFleetMove *m = event->move;
    FerryJson *j =
        ferry_json_new_event(event->kind == FERRY_FLEET_EVENT_STARTED    ? "move-started"
                             : event->kind == FERRY_FLEET_EVENT_FINISHED ? "move-finished"
                                                                         : "move-phase");

    ferry_json_string(j, "guest", m->move->guest);
    ferry_json_string(j, "from", m->move->src);
    ferry_json_string(j, "to", m->move->dst);
    ferry_json_string(j, "state", ferry_fleet_move_state_to_string(m->state));
    ferry_json_string(j, "phase", ferry_phase_to_string(m->phase));
    if (event->kind == FERRY_FLEET_EVENT_FINISHED) {
        ferry_json_fixed3(j, "elapsed_s", m->elapsed_s);
        if (m->error)
            ferry_json_error(j, "error", m->error);
        else
            ferry_json_null(j, "error");
    }
    ferry_json_print(j);
}

void
ferry_fleet_display_on_event(const FerryFleetEvent *event, gpointer user_data)
{
    FerryFleetDisplay *d = user_data;
    const FerryFleetMove *m = event->move;
    gint64 now = g_get_monotonic_time();

    d->moves->pdata[event->index] = (gpointer)m;
    if (d->json) {
        if (event->kind != FERRY_FLEET_EVENT_MIGRATE ||
            event->migrate->kind == FERRY_EVENT_PHASE)
            display_json(event);
        return;
    }
    if (d->tty) {
        if (event->kind != FERRY_FLEET_EVENT_MIGRATE ||
            event->migrate->kind == FERRY_EVENT_PHASE || now - d->last_draw_us > G_USEC_PER_SEC) {
            display_draw(d);
            d->last_draw_us = now;
        }
        return;
    }
    /* plain: a line when a move starts, changes phase or ends */
    if (event->kind == FERRY_FLEET_EVENT_STARTED) {
        fprintf(stderr, "%s: %s -> %s (%s) started\n", m->move->guest, m->move->src,
                m->move->dst, ferry_place_move_mode_to_string(m->move->mode));
    } else if (event->kind == FERRY_FLEET_EVENT_FINISHED) {
        if (m->error)
            fprintf(stderr, "%s: %s: %s\n", m->move->guest,
                    ferry_fleet_move_state_to_string(m->state), m->error->message);
        else
            fprintf(stderr, "%s: done in %.1f s\n", m->move->guest, m->elapsed_s);
    } else if (event->migrate->kind == FERRY_EVENT_PHASE && m->phase != FERRY_PHASE_DONE &&
               GPOINTER_TO_INT(g_hash_table_lookup(d->last_phase, GUINT_TO_POINTER(event->index))) !=
                   (int)m->phase + 1) {
        g_hash_table_insert(d->last_phase, GUINT_TO_POINTER(event->index),
                            GINT_TO_POINTER((int)m->phase + 1));
        fprintf(stderr, "%s: %s\n", m->move->guest, ferry_phase_to_string(m->phase));
    }
    fflush(stderr);
}

FerryFleetAnswer
ferry_fleet_display_prompt(const FerryPlaceMove *move, gpointer user_data)
{
    FerryFleetDisplay *d = user_data;

    for (;;) {
        char line[64];

        fprintf(stderr, "move '%s' %s -> %s (%s)? [y]es, [n]o, [a]ll, [q]uit: ", move->guest,
                move->src, move->dst, ferry_place_move_mode_to_string(move->mode));
        fflush(stderr);
        if (!fgets(line, sizeof(line), stdin)) {
            fprintf(stderr, "\n");
            return FERRY_FLEET_ANSWER_QUIT;
        }
        g_strstrip(line);
        d->lines_drawn = 0; /* the live table starts again below the answer */
        if (!g_ascii_strcasecmp(line, "y") || !g_ascii_strcasecmp(line, "yes"))
            return FERRY_FLEET_ANSWER_YES;
        if (!g_ascii_strcasecmp(line, "n") || !g_ascii_strcasecmp(line, "no"))
            return FERRY_FLEET_ANSWER_NO;
        if (!g_ascii_strcasecmp(line, "a") || !g_ascii_strcasecmp(line, "all"))
            return FERRY_FLEET_ANSWER_ALL;
        if (!g_ascii_strcasecmp(line, "q") || !g_ascii_strcasecmp(line, "quit"))
            return FERRY_FLEET_ANSWER_QUIT;
    }
}

/* ---- the end ------------------------------------------------------------------------------- */

static const char *
done_mode(const FerryFleetMove *m)
{
    if (m->result)
        return ferry_migrate_mode_to_string(m->result->mode);
    return ferry_place_move_mode_to_string(m->move->mode);
}

void
ferry_cli_fleet_print_run(const FerryFleetRun *run)
{
    printf("%-16s %-8s    %-8s %-7s %8s %9s  %s\n", "GUEST", "FROM", "TO", "MODE", "TIME",
           "DOWNTIME", "RESULT");
    for (guint i = 0; i < run->moves->len; i++) {
        const FerryFleetMove *m = g_ptr_array_index(run->moves, i);
        char time[32] = "-", downtime[32] = "-";

        if (m->state == FERRY_FLEET_MOVE_DONE || m->state == FERRY_FLEET_MOVE_FAILED)
            g_snprintf(time, sizeof(time), "%.1f s", m->elapsed_s);
        if (m->result && m->result->mode != FERRY_MIGRATE_MODE_COLD)
            g_snprintf(downtime, sizeof(downtime), "%" G_GUINT64_FORMAT " ms",
                       m->result->downtime_ms);
        printf("%-16s %-8s -> %-8s %-7s %8s %9s  %s%s%s\n", m->move->guest, m->move->src,
               m->move->dst, done_mode(m), time, downtime,
               ferry_fleet_move_state_to_string(m->state), m->error ? ": " : "",
               m->error ? m->error->message : "");
    }
    printf("%u moved, %u failed, %u not begun, in %.1f s\n", run->n_done, run->n_failed,
           run->n_skipped, run->total_s);
    fflush(stdout);
}

void
ferry_cli_fleet_json_run(FerryJson *j, const FerryFleetRun *run)
{
    if (!run) {
        ferry_json_null(j, "results");
        ferry_json_null(j, "moved");
        ferry_json_null(j, "failed");
        ferry_json_null(j, "not_begun");
        ferry_json_null(j, "total_s");
        return;
    }
    ferry_json_begin_array(j, "results");
    for (guint i = 0; i < run->moves->len; i++) {
        const FerryFleetMove *m = g_ptr_array_index(run->moves, i);
        gboolean begun = m->state == FERRY_FLEET_MOVE_DONE || m->state == FERRY_FLEET_MOVE_FAILED;

        ferry_json_begin_object(j, NULL);
        ferry_json_string(j, "guest", m->move->guest);
        ferry_json_string(j, "uuid", m->move->uuid);
        ferry_json_string(j, "from", m->move->src);
        ferry_json_string(j, "to", m->move->dst);
        ferry_json_string(j, "mode", done_mode(m));
        ferry_json_string(j, "result", ferry_fleet_move_state_to_string(m->state));
        ferry_json_fixed3(j, "started_s", begun ? m->started_s : NAN);
        ferry_json_fixed3(j, "elapsed_s", begun ? m->elapsed_s : NAN);
        if (m->result) {
            if (m->result->mode == FERRY_MIGRATE_MODE_COLD)
                ferry_json_null(j, "downtime_ms");
            else
                ferry_json_uint(j, "downtime_ms", m->result->downtime_ms);
            ferry_json_uint(j, "memory_bytes", m->result->mem_bytes);
            ferry_json_uint(j, "disk_bytes", m->result->disk_bytes);
            ferry_json_string(j, "state", m->result->dst_state);
            ferry_json_string(j, "nova", m->result->nova_status);
        } else {
            ferry_json_null(j, "downtime_ms");
            ferry_json_null(j, "memory_bytes");
            ferry_json_null(j, "disk_bytes");
            ferry_json_null(j, "state");
            ferry_json_null(j, "nova");
        }
        if (m->error)
            ferry_json_error(j, "error", m->error);
        else
            ferry_json_null(j, "error");
        ferry_json_end_object(j);
    }
    ferry_json_end_array(j);
    ferry_json_uint(j, "moved", run->n_done);
    ferry_json_uint(j, "failed", run->n_failed);
    ferry_json_uint(j, "not_begun", run->n_skipped);
    ferry_json_fixed3(j, "total_s", run->total_s);
}

void
ferry_cli_fleet_print_still_on(const FerryInventory *inventory, GPtrArray *hosts)
{
    g_autoptr(FerrySurvey) survey = NULL;

    if (!hosts->len)
        return;
    survey = ferry_survey_run(inventory, 0);
    for (guint i = 0; i < hosts->len; i++) {
        const FerrySurveyHost *sh = ferry_survey_get_host(survey, g_ptr_array_index(hosts, i));
        g_autoptr(GString) names = g_string_new(NULL);

        if (!sh)
            continue;
        if (!sh->reachable) {
            printf("%s: cannot tell which guests are still on it: %s\n", sh->host->name,
                   sh->error);
            continue;
        }
        for (guint j = 0; j < sh->guests->len; j++) {
            const FerrySurveyGuest *g = g_ptr_array_index(sh->guests, j);
            g_string_append_printf(names, "%s%s (%s)", names->len ? ", " : "", g->name,
                                   ferry_virt_state_to_string(g->state));
        }
        if (names->len)
            printf("still on %s: %s\n", sh->host->name, names->str);
        else
            printf("%s: no guest left\n", sh->host->name);
    }
}
