/*
 * ferry-cli-fleet.c: the tables and JSON of the fleet commands (see ferry-cli-fleet.h).
 */
#include "engine/cli/ferry-cli-fleet.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/ferry-hostmap.h"
#include "engine/ferry-inventory.h"
#include "engine/ferry-journal.h"
#include "engine/ferry-locate.h"
#include "engine/ferry-virt-util.h"
#include "engine/nova/ferry-nova.h"

/* ---- JSON ---------------------------------------------------------------------------------- */

const char *
ferry_cli_fleet_error_kind(const GError *error)
{
    static const struct {
        const char *domain;
        int code;
        const char *kind;
    } kinds[] = {
        {"ferry-migrate-error-quark", FERRY_MIGRATE_ERROR_NOT_FOUND, "not-found"},
        {"ferry-migrate-error-quark", FERRY_MIGRATE_ERROR_AMBIGUOUS, "ambiguous"},
        {"ferry-migrate-error-quark", FERRY_MIGRATE_ERROR_INVALID, "invalid"},
        {"ferry-migrate-error-quark", FERRY_MIGRATE_ERROR_PRECHECK, "precheck"},
        {"ferry-migrate-error-quark", FERRY_MIGRATE_ERROR_FAILED, "failed"},
        {"ferry-migrate-error-quark", FERRY_MIGRATE_ERROR_CANCELLED, "cancelled"},
        {"ferry-migrate-error-quark", FERRY_MIGRATE_ERROR_VERIFY, "verify"},
        {"ferry-migrate-error-quark", FERRY_MIGRATE_ERROR_NOT_CONVERGED, "not-converged"},
        {"ferry-locate-error-quark", FERRY_LOCATE_ERROR_NOT_FOUND, "not-found"},
        {"ferry-locate-error-quark", FERRY_LOCATE_ERROR_AMBIGUOUS, "ambiguous"},
        {"ferry-locate-error-quark", FERRY_LOCATE_ERROR_UNREACHABLE, "unreachable"},
        {"ferry-journal-error-quark", FERRY_JOURNAL_ERROR_BUSY, "busy"},
        {"ferry-journal-error-quark", FERRY_JOURNAL_ERROR_IO, "journal"},
        {"ferry-host-map-error-quark", FERRY_HOST_MAP_ERROR_CAPACITY, "capacity"},
        {"ferry-precheck-error-quark", -1, "precheck"},
        {"ferry-host-map-error-quark", -1, "host-map"},
        {"ferry-inventory-error-quark", -1, "inventory"},
        {"ferry-nova-error-quark", -1, "nova"},
        {"g-io-error-quark", G_IO_ERROR_CANCELLED, "skipped"},
        {"ferry-cli-error-quark", FERRY_CLI_ERROR_USAGE, "usage"},
        {"g-option-context-error-quark", -1, "usage"},
    };

    if (!error)
        return NULL;
    for (gsize i = 0; i < G_N_ELEMENTS(kinds); i++) {
        if (g_str_equal(g_quark_to_string(error->domain), kinds[i].domain) &&
            (kinds[i].code < 0 || kinds[i].code == error->code))
            return kinds[i].kind;
    }
    return "failed";
}

void
ferry_cli_json_print(JsonBuilder *builder)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = json_builder_get_root(builder);
    g_autofree char *text = NULL;

    json_generator_set_root(gen, root);
    text = json_generator_to_data(gen, NULL);
    printf("%s\n", text);
    fflush(stdout);
}

static void
jstr(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    if (value)
        json_builder_add_string_value(b, value);
    else
        json_builder_add_null_value(b);
}

static void
jint(JsonBuilder *b, const char *name, gint64 value)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, value);
}

static void
jsec(JsonBuilder *b, const char *name, double value)
{
    json_builder_set_member_name(b, name);
    json_builder_add_double_value(b, round(value * 1000) / 1000);
}

static void
jbool(JsonBuilder *b, const char *name, gboolean value)
{
    json_builder_set_member_name(b, name);
    json_builder_add_boolean_value(b, value);
}

void
ferry_cli_json_error(JsonBuilder *b, const char *member, const GError *error)
{
    json_builder_set_member_name(b, member);
    if (!error) {
        json_builder_add_null_value(b);
        return;
    }
    json_builder_begin_object(b);
    jstr(b, "kind", ferry_cli_fleet_error_kind(error));
    jstr(b, "message", error->message);
    json_builder_end_object(b);
}

static char *
mib(guint64 bytes)
{
    return g_strdup_printf("%" G_GUINT64_FORMAT " MiB", (bytes + (1 << 19)) >> 20);
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

static void
json_list(const FerrySurvey *survey)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "hosts");
    json_builder_begin_array(b);
    for (guint i = 0; i < survey->hosts->len; i++) {
        const FerrySurveyHost *sh = g_ptr_array_index(survey->hosts, i);

        json_builder_begin_object(b);
        jstr(b, "name", sh->host->name);
        jbool(b, "reachable", sh->reachable);
        jstr(b, "error", sh->error);
        if (sh->reachable) {
            jint(b, "memory_total_bytes", sh->mem_total_bytes);
            jint(b, "memory_available_bytes", sh->mem_available_bytes);
            jint(b, "memory_reserved_bytes", sh->host->reserved_memory_mib << 20);
            jint(b, "cpus", sh->cpus);
            jint(b, "vcpus_committed", sh->vcpus_committed);
            jint(b, "guests", sh->guests->len);
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "guests");
    json_builder_begin_array(b);
    for (guint i = 0; i < survey->hosts->len; i++) {
        const FerrySurveyHost *sh = g_ptr_array_index(survey->hosts, i);

        for (guint j = 0; j < sh->guests->len; j++) {
            const FerrySurveyGuest *g = g_ptr_array_index(sh->guests, j);

            json_builder_begin_object(b);
            jstr(b, "name", g->name);
            jstr(b, "uuid", g->uuid);
            jstr(b, "host", g->host);
            jstr(b, "state", ferry_virt_state_to_string(g->state));
            jbool(b, "persistent", g->persistent);
            jbool(b, "autostart", g->autostart);
            jint(b, "memory_bytes", g->memory_bytes);
            jint(b, "vcpus", g->vcpus);
            jint(b, "stream_bytes", g->stream_bytes);
            json_builder_set_member_name(b, "disks");
            json_builder_begin_array(b);
            for (guint k = 0; k < g->disks->len; k++) {
                const FerrySurveyDisk *d = g_ptr_array_index(g->disks, k);

                json_builder_begin_object(b);
                jstr(b, "target", d->target);
                jstr(b, "source", d->source);
                jstr(b, "kind", ferry_survey_disk_kind_to_string(d->kind));
                jint(b, "stream_bytes", d->stream_bytes);
                json_builder_end_object(b);
            }
            json_builder_end_array(b);
            jstr(b, "flag", g->flag);
            jstr(b, "refused", g->refused);
            json_builder_end_object(b);
        }
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    ferry_cli_json_print(b);
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
ferry_cli_fleet_json_plan(JsonBuilder *b, const FerryPlacePlan *plan)
{
    json_builder_set_member_name(b, "moves");
    json_builder_begin_array(b);
    for (guint i = 0; i < plan->moves->len; i++) {
        const FerryPlaceMove *m = g_ptr_array_index(plan->moves, i);

        json_builder_begin_object(b);
        jstr(b, "guest", m->guest);
        jstr(b, "uuid", m->uuid);
        jstr(b, "from", m->src);
        jstr(b, "to", m->dst);
        jstr(b, "mode", ferry_place_move_mode_to_string(m->mode));
        jint(b, "memory_bytes", m->memory_bytes);
        jint(b, "stream_bytes", m->stream_bytes);
        jstr(b, "why", m->why);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "in_place");
    json_builder_begin_array(b);
    for (guint i = 0; i < plan->in_place->len; i++) {
        const FerryPlaceOutcome *o = g_ptr_array_index(plan->in_place, i);

        json_builder_begin_object(b);
        jstr(b, "guest", o->guest);
        jstr(b, "host", o->host);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "misfits");
    json_builder_begin_array(b);
    for (guint i = 0; i < plan->misfits->len; i++) {
        const FerryPlaceOutcome *o = g_ptr_array_index(plan->misfits, i);

        json_builder_begin_object(b);
        jstr(b, "guest", o->guest);
        jstr(b, "host", o->host);
        jstr(b, "reason", o->reason);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
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
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    jstr(b, "event", event->kind == FERRY_FLEET_EVENT_STARTED    ? "move-started"
                     : event->kind == FERRY_FLEET_EVENT_FINISHED ? "move-finished"
                                                                 : "move-phase");
    jstr(b, "guest", m->move->guest);
    jstr(b, "from", m->move->src);
    jstr(b, "to", m->move->dst);
    jstr(b, "state", ferry_fleet_move_state_to_string(m->state));
    jstr(b, "phase", ferry_phase_to_string(m->phase));
    if (event->kind == FERRY_FLEET_EVENT_FINISHED) {
        jsec(b, "elapsed_s", m->elapsed_s);
        ferry_cli_json_error(b, "error", m->error);
    }
    json_builder_end_object(b);
    ferry_cli_json_print(b);
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
ferry_cli_fleet_json_run(JsonBuilder *b, const FerryFleetRun *run)
{
    json_builder_set_member_name(b, "results");
    json_builder_begin_array(b);
    for (guint i = 0; i < run->moves->len; i++) {
        const FerryFleetMove *m = g_ptr_array_index(run->moves, i);

        json_builder_begin_object(b);
        jstr(b, "guest", m->move->guest);
        jstr(b, "uuid", m->move->uuid);
        jstr(b, "from", m->move->src);
        jstr(b, "to", m->move->dst);
        jstr(b, "mode", done_mode(m));
        jstr(b, "result", ferry_fleet_move_state_to_string(m->state));
        jsec(b, "started_s", m->started_s);
        jsec(b, "elapsed_s", m->elapsed_s);
        if (m->result) {
            jint(b, "downtime_ms", m->result->downtime_ms);
            jint(b, "memory_bytes", m->result->mem_bytes);
            jint(b, "disk_bytes", m->result->disk_bytes);
            jstr(b, "state", m->result->dst_state);
            jstr(b, "nova", m->result->nova_status);
        }
        ferry_cli_json_error(b, "error", m->error);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    jint(b, "moved", run->n_done);
    jint(b, "failed", run->n_failed);
    jint(b, "not_begun", run->n_skipped);
    jsec(b, "total_s", run->total_s);
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
