/*
 * ferry-cmd-rescue.c: `ferry rescue HOST` -- the guests of a dead host started elsewhere from
 * their shared disks, after proving the host dead and fenced; `ferry rescue --cleanup HOST`
 * removes the stale definitions the host still holds when it returns.
 *
 * Order: arguments checked (nothing asked yet); reachability of HOST from ferry and from the
 * other hosts (ferry-fence); the survey of the other hosts and the plan from the definitions
 * cache (ferry-rescue); --dry-run stops here; fencing (fence_command, else --confirm-dead);
 * each guest rescued, HOST probed again just before.  A table per guest at the end, or one
 * JSON result line with --json (ferry-cli-json.h; docs/json-schema.json), also on a refusal.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/cli/ferry-cli-json.h"
#include "engine/cli/ferry-cli.h"
#include "engine/ferry-fence.h"
#include "engine/ferry-fleet-survey.h"
#include "engine/ferry-rescue.h"

#define FENCE_TIMEOUT_S 120

typedef struct {
    char **to;
    char *confirm_dead;
    gboolean dry_run;
    gboolean json;
    gboolean cleanup;
} RescueArgs;

static void
args_clear(RescueArgs *a)
{
    g_strfreev(a->to);
    g_free(a->confirm_dead);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(RescueArgs, args_clear)

static char *
format_age(gint64 age_s)
{
    if (age_s < 120)
        return g_strdup_printf("%" G_GINT64_FORMAT " s", age_s);
    if (age_s < 2 * 3600)
        return g_strdup_printf("%" G_GINT64_FORMAT " min", age_s / 60);
    if (age_s < 2 * 86400)
        return g_strdup_printf("%" G_GINT64_FORMAT " h", age_s / 3600);
    return g_strdup_printf("%" G_GINT64_FORMAT " days", age_s / 86400);
}

/* A guest's error kind (ferry-rescue.c names the step that failed) as the JSON kinds. */
static const char *
guest_error_kind(const char *kind)
{
    if (!kind)
        return "failed";
    if (g_str_equal(kind, "start") || g_str_equal(kind, "define"))
        return "libvirt";
    if (g_str_equal(kind, "stopped"))
        return "cancelled";
    return kind;
}

static void
json_kind_error(FerryJson *j, const char *name, const char *kind, const char *message)
{
    if (!message) {
        ferry_json_null(j, name);
        return;
    }
    ferry_json_begin_object(j, name);
    ferry_json_string(j, "kind", kind);
    ferry_json_string(j, "message", message);
    ferry_json_end_object(j);
}

static void
json_gerror(FerryJson *j, const char *name, const GError *error)
{
    if (error)
        ferry_json_error(j, name, error);
    else
        ferry_json_null(j, name);
}

static void
print_probes(const FerryFenceCheck *check)
{
    printf("fencing '%s': is it reachable?\n", check->host);
    for (guint i = 0; i < check->probes->len; i++) {
        const FerryProbe *p = g_ptr_array_index(check->probes, i);

        printf("  %-8s -> %-8s %s:%u  %s (%.3f s)%s%s\n", p->from, p->service,
               p->address ? p->address : "-", p->port, ferry_probe_result_to_string(p->result),
               p->elapsed_s, p->detail ? ": " : "", p->detail ? p->detail : "");
    }
}

static void
json_fencing(FerryJson *j, const FerryFenceCheck *check, const char *fenced_by,
             const char *fence_output)
{
    if (!check) {
        ferry_json_null(j, "fencing");
        return;
    }
    ferry_json_begin_object(j, "fencing");
    ferry_json_bool(j, "unreachable", check->unreachable);
    ferry_json_begin_array(j, "witnesses");
    for (guint i = 0; i < check->witnesses->len; i++)
        ferry_json_string(j, NULL, g_ptr_array_index(check->witnesses, i));
    ferry_json_end_array(j);
    ferry_json_begin_array(j, "probes");
    for (guint i = 0; i < check->probes->len; i++) {
        const FerryProbe *p = g_ptr_array_index(check->probes, i);

        ferry_json_begin_object(j, NULL);
        ferry_json_string(j, "from", p->from);
        ferry_json_string(j, "service", p->service);
        ferry_json_string(j, "address", p->address);
        ferry_json_uint(j, "port", p->port);
        ferry_json_string(j, "result", ferry_probe_result_to_string(p->result));
        ferry_json_string(j, "detail", p->detail);
        ferry_json_fixed3(j, "elapsed_s", p->elapsed_s);
        ferry_json_end_object(j);
    }
    ferry_json_end_array(j);
    ferry_json_string(j, "fenced_by", fenced_by);
    ferry_json_string(j, "fence_output", fence_output);
    ferry_json_end_object(j);
}

static void
print_plan(const FerryRescuePlan *plan, gint64 now)
{
    printf("plan for the guests of '%s' (from ferry's definitions cache):\n", plan->host);
    printf("  %-20s %-10s %-10s %-10s %s\n", "GUEST", "WAS", "DEF AGE", "TO", "WHY");
    for (guint i = 0; i < plan->guests->len; i++) {
        const FerryRescueGuest *g = g_ptr_array_index(plan->guests, i);
        g_autofree char *age = format_age(now - g->def->seen_unix_s);

        printf("  %-20s %-10s %-10s %-10s %s: %s\n", g->def->name, g->def->state, age,
               g->dst ? g->dst : "-", ferry_rescue_outcome_to_string(g->outcome),
               g->reason ? g->reason : "");
        if (g->def->origin && !g_str_has_prefix(g->def->origin, "libvirt on"))
            printf("  %-20s definition: %s\n", "", g->def->origin);
        if (g->warning)
            printf("  %-20s warning: %s\n", "", g->warning);
    }
}

static void
print_table(const FerryRescuePlan *plan)
{
    printf("%-20s %-14s %-10s %-10s %s\n", "GUEST", "RESULT", "WHERE", "TIME", "DETAIL");
    for (guint i = 0; i < plan->guests->len; i++) {
        const FerryRescueGuest *g = g_ptr_array_index(plan->guests, i);
        g_autofree char *time =
            g->elapsed_s > 0 ? g_strdup_printf("%.3f s", g->elapsed_s) : g_strdup("-");
        const char *detail = g->error ? g->error : g->reason;
        g_autofree char *more = NULL;

        if (g->outcome == FERRY_RESCUE_RESCUED)
            more = g_strdup_printf(
                "%s on '%s'%s%s",
                g_strcmp0(g->def->state, "shut off") == 0 ? "defined (it was shut off)" : "started",
                g->dst, g->nova ? "; nova: " : "", g->nova ? g->nova : "");
        printf("%-20s %-14s %-10s %-10s %s\n", g->def->name,
               ferry_rescue_outcome_to_string(g->outcome),
               g->outcome == FERRY_RESCUE_RESCUED ? g->dst : "-", time,
               more     ? more
               : detail ? detail
                        : "");
    }
}

static void
json_guests(FerryJson *j, const FerryRescuePlan *plan, gint64 now)
{
    if (!plan) {
        ferry_json_null(j, "guests");
        return;
    }
    ferry_json_begin_array(j, "guests");
    for (guint i = 0; i < plan->guests->len; i++) {
        const FerryRescueGuest *g = g_ptr_array_index(plan->guests, i);
        g_autoptr(GDateTime) seen = g_date_time_new_from_unix_utc(g->def->seen_unix_s);
        g_autofree char *seen_iso = g_date_time_format_iso8601(seen);

        ferry_json_begin_object(j, NULL);
        ferry_json_string(j, "name", g->def->name);
        ferry_json_string(j, "uuid", g->def->uuid);
        ferry_json_string(j, "state", g->def->state);
        ferry_json_bool(j, "autostart", g->def->autostart);
        ferry_json_string(j, "definition_seen", seen_iso);
        ferry_json_fixed3(j, "definition_age_s", (double)MAX(now - g->def->seen_unix_s, 0));
        ferry_json_string(j, "definition_origin", g->def->origin);
        ferry_json_uint(j, "memory_bytes", g->memory_bytes);
        ferry_json_uint(j, "vcpus", g->vcpus);
        ferry_json_string(j, "outcome", ferry_rescue_outcome_to_string(g->outcome));
        ferry_json_string(j, "destination", g->dst);
        ferry_json_string(j, "reason", g->reason);
        ferry_json_string(j, "warning", g->warning);
        ferry_json_string(j, "nova", g->nova);
        /* the time of a rescue tried; null for a guest only planned or not rescuable */
        ferry_json_fixed3(j, "elapsed_s", g->elapsed_s > 0 ? g->elapsed_s : NAN);
        json_kind_error(j, "error", guest_error_kind(g->error_kind), g->error);
        ferry_json_end_object(j);
    }
    ferry_json_end_array(j);
}

/* The result line of `ferry rescue HOST` (not --cleanup): what it got to, each part null when
 * it did not get that far; @would_refuse: a dry run's verdict that a rescue would be refused. */
static void
print_result(const RescueArgs *a, const FerryHost *host, const FerryFenceCheck *check,
             const char *fenced_by, const char *fence_output, const FerryRescuePlan *plan,
             gint64 now, double elapsed_s, const GError *would_refuse, const GError *error)
{
    FerryJson *j = ferry_json_new_event("result");

    ferry_json_string(j, "command", "rescue");
    ferry_json_bool(j, "ok", error == NULL);
    ferry_json_string(j, "host", host->name);
    ferry_json_bool(j, "cleanup", FALSE);
    ferry_json_bool(j, "dry_run", a->dry_run);
    json_fencing(j, check, fenced_by, fence_output);
    json_guests(j, plan, now);
    ferry_json_fixed3(j, "elapsed_s", elapsed_s);
    json_gerror(j, "would_refuse", would_refuse);
    json_gerror(j, "error", error);
    ferry_json_print(j);
}

static gboolean
refuse(RescueArgs *a, const FerryHost *host, const FerryFenceCheck *check, gint64 t0, GError *cause,
       GError **error)
{
    if (a->json)
        print_result(a, host, check, NULL, NULL, NULL, 0, (g_get_monotonic_time() - t0) / 1e6, NULL,
                     cause);
    g_propagate_error(error, cause);
    return FALSE;
}

static gboolean
run_cleanup(FerryInventory *inventory, const FerryHost *host, RescueArgs *a, GError **error)
{
    g_autoptr(FerrySurvey) survey = ferry_survey_run(inventory, 0);
    g_autoptr(GPtrArray) guests = NULL;
    g_autoptr(GError) local = NULL;
    gboolean ok = TRUE;

    if (!(guests = ferry_rescue_cleanup_plan(inventory, survey, host->name, error)))
        return FALSE;
    if (!a->dry_run)
        ok = ferry_rescue_cleanup(inventory, survey, host->name, guests, &local);
    if (a->json) {
        FerryJson *j = ferry_json_new_event("result");

        ferry_json_string(j, "command", "rescue");
        ferry_json_bool(j, "ok", ok);
        ferry_json_string(j, "host", host->name);
        ferry_json_bool(j, "cleanup", TRUE);
        ferry_json_bool(j, "dry_run", a->dry_run);
        ferry_json_begin_array(j, "guests");
        for (guint i = 0; i < guests->len; i++) {
            const FerryCleanupGuest *g = g_ptr_array_index(guests, i);

            ferry_json_begin_object(j, NULL);
            ferry_json_string(j, "name", g->name);
            ferry_json_string(j, "uuid", g->uuid);
            ferry_json_string(j, "state", g->state);
            ferry_json_bool(j, "autostart", g->autostart);
            ferry_json_string(j, "elsewhere", g->elsewhere);
            ferry_json_string(j, "rescue_op", g->rescue_op);
            ferry_json_string(j, "action", ferry_cleanup_action_to_string(g->action));
            ferry_json_bool(j, "undefined", g->done);
            if (g->action == FERRY_CLEANUP_RUNNING)
                json_kind_error(j, "error", "split-brain", "running on the returned host");
            else
                json_kind_error(j, "error", "libvirt", g->error);
            ferry_json_end_object(j);
        }
        ferry_json_end_array(j);
        json_gerror(j, "error", local);
        ferry_json_print(j);
    } else {
        printf("cleanup of '%s'%s: %u guest(s) also on another host or rescued by ferry\n",
               host->name, a->dry_run ? " (dry run: nothing changed)" : "", guests->len);
        printf("%-20s %-10s %-22s %-22s %s\n", "GUEST", "STATE", "ELSEWHERE", "ACTION", "DONE");
        for (guint i = 0; i < guests->len; i++) {
            const FerryCleanupGuest *g = g_ptr_array_index(guests, i);

            printf("%-20s %-10s %-22s %-22s %s\n", g->name, g->state,
                   g->elsewhere ? g->elsewhere : "-", ferry_cleanup_action_to_string(g->action),
                   g->done    ? "undefined (disks untouched)"
                   : g->error ? g->error
                   : a->dry_run && g->action == FERRY_CLEANUP_UNDEFINE ? "would undefine"
                                                                       : "left alone");
        }
    }
    if (!ok) {
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    return TRUE;
}

static gboolean
rescue_run(FerryCli *cli, int argc, char **argv, gboolean *json, GError **error)
{
    g_auto(RescueArgs) a = {0};
    const GOptionEntry entries[] = {
        {"to", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a.to,
         "Only these hosts may take the guests (repeatable; default: any other host)", "HOST"},
        {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &a.dry_run,
         "Check reachability and print the plan; fence nothing, change nothing", NULL},
        {"json", 0, 0, G_OPTION_ARG_NONE, &a.json,
         "One JSON result line on stdout (docs/json-schema.json)", NULL},
        {"confirm-dead", 0, 0, G_OPTION_ARG_STRING, &a.confirm_dead,
         "The operator's word that HOST is powered off (type its name again)", "HOST"},
        {"cleanup", 0, 0, G_OPTION_ARG_NONE, &a.cleanup,
         "HOST came back: undefine the stale definitions of the guests ferry rescued", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("HOST");
    g_autoptr(FerryFenceCheck) check = NULL;
    g_autoptr(FerrySurvey) survey = NULL;
    g_autoptr(FerryRescuePlan) plan = NULL;
    g_autoptr(GError) local = NULL;
    g_autoptr(GCancellable) cancellable = NULL;
    g_autofree char *fence_output = NULL;
    const char *fenced_by = NULL;
    FerryInventory *inventory;
    const FerryHost *host;
    gint64 now, t0 = g_get_monotonic_time();
    guint failed = 0, no_room = 0;
    gboolean stop = FALSE;

    g_option_context_set_summary(context,
                                 "Starts the guests of a dead host on other hosts, from their "
                                 "shared or network disks,\nonce the host is proven unreachable "
                                 "(from ferry and another host) and fenced\n(its fence_command, "
                                 "else --confirm-dead HOST).");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!ferry_cli_parse(context, &argc, &argv, entries, error))
        return FALSE;
    *json = a.json;
    if (argc != 2) {
        ferry_cli_usage_error(error, "rescue takes one HOST (the dead host)");
        return FALSE;
    }
    if (a.cleanup && (a.to || a.confirm_dead)) {
        ferry_cli_usage_error(error, "--cleanup takes neither --to nor --confirm-dead");
        return FALSE;
    }
    if (!(inventory = ferry_cli_inventory(cli, error)) ||
        !(host = ferry_inventory_get_host(inventory, argv[1], error)))
        return FALSE;
    if (a.confirm_dead && g_strcmp0(a.confirm_dead, host->name) != 0) {
        ferry_cli_usage_error(error,
                              "--confirm-dead '%s' does not name the host to rescue '%s': type "
                              "the dead host's name again; nothing was changed",
                              a.confirm_dead, host->name);
        return FALSE;
    }
    for (char **t = a.to; t && *t; t++) {
        const FerryHost *th = ferry_inventory_get_host(inventory, *t, error);

        if (!th)
            return FALSE;
        if (th == host) {
            ferry_cli_usage_error(error, "--to '%s' is the host to rescue", *t);
            return FALSE;
        }
    }
    if (a.cleanup)
        return run_cleanup(inventory, host, &a, error);

    /* 1. dead?  From ferry and from the other hosts. */
    check = ferry_fence_check(inventory, host);
    if (!a.json)
        print_probes(check);
    if (!ferry_fence_check_verdict(check, &local)) {
        if (!a.dry_run)
            return refuse(&a, host, check, t0, g_steal_pointer(&local), error);
        if (!a.json)
            printf("  would refuse: %s\n", local->message);
    } else if (!a.json) {
        g_autoptr(GString) w = g_string_new(NULL);

        for (guint i = 0; i < check->witnesses->len; i++)
            g_string_append_printf(w, "%s'%s'", i ? ", " : "",
                                   (char *)g_ptr_array_index(check->witnesses, i));
        printf("  '%s' answers neither ferry nor %s\n", host->name, w->str);
    }

    /* 2. the plan, over the hosts that answer */
    survey = ferry_survey_run(inventory, 0);
    if (!(plan =
              ferry_rescue_plan(inventory, survey, host->name, (const char *const *)a.to, error))) {
        if (a.json)
            print_result(&a, host, check, NULL, NULL, NULL, 0, (g_get_monotonic_time() - t0) / 1e6,
                         local, *error);
        return FALSE;
    }
    now = g_get_real_time() / G_USEC_PER_SEC;
    if (!a.json)
        print_plan(plan, now);
    if (a.dry_run) {
        if (!a.json) {
            if (host->fence_command) {
                g_autofree char *cmd = g_strjoinv(" ", host->fence_command);
                printf("dry run: nothing was changed; would fence '%s' with: %s\n", host->name,
                       cmd);
            } else {
                printf("dry run: nothing was changed; '%s' has no fence_command: --confirm-dead "
                       "%s will be needed\n",
                       host->name, host->name);
            }
        } else {
            print_result(&a, host, check, NULL, NULL, plan, now,
                         (g_get_monotonic_time() - t0) / 1e6, local, NULL);
        }
        return TRUE;
    }

    /* 3. fenced: its fence_command, else the operator's word */
    if (host->fence_command) {
        if (ferry_fence_run(host, FENCE_TIMEOUT_S, &fence_output, &local)) {
            fenced_by = "fence_command";
        } else if (a.confirm_dead) {
            if (!a.json)
                printf("  %s; going on on --confirm-dead %s\n", local->message, host->name);
            g_clear_error(&local);
            fenced_by = "confirm-dead";
        } else {
            GError *e = g_error_new(FERRY_FENCE_ERROR, FERRY_FENCE_ERROR_FENCE_FAILED,
                                    "'%s' is not fenced: %s; nothing was changed (fix the "
                                    "fence, or power the host off yourself and run again with "
                                    "--confirm-dead %s)",
                                    host->name, local->message, host->name);

            return refuse(&a, host, check, t0, e, error);
        }
    } else if (a.confirm_dead) {
        fenced_by = "confirm-dead";
    } else {
        GError *e = g_error_new(
            FERRY_FENCE_ERROR, FERRY_FENCE_ERROR_NOT_FENCED,
            "'%s' does not answer, but it is not fenced: [host %s] in '%s' has no "
            "fence_command, and --confirm-dead %s was not given; nothing was changed (make sure "
            "it is powered off, then run again with --confirm-dead %s)",
            host->name, host->name, inventory->path, host->name, host->name);
        return refuse(&a, host, check, t0, e, error);
    }
    if (!a.json)
        printf("  fenced: %s%s%s\n", fenced_by, fence_output && *fence_output ? ": " : "",
               fence_output ? fence_output : "");

    /* 4. each guest, the host probed again just before */
    cancellable = ferry_cli_signal_cancellable();
    for (guint i = 0; i < plan->guests->len; i++) {
        FerryRescueGuest *g = g_ptr_array_index(plan->guests, i);

        if (g->outcome == FERRY_RESCUE_NO_ROOM)
            no_room++;
        if (g->outcome != FERRY_RESCUE_PLANNED)
            continue;
        if (stop) {
            g->outcome = FERRY_RESCUE_STOPPED;
            g->error_kind = g_strdup("stopped");
            g->error = g_strdup("not tried: an earlier guest stopped the rescue");
            failed++;
            continue;
        }
        if (!ferry_rescue_guest(inventory, survey, plan, g, cancellable, &local)) {
            failed++;
            stop = g->outcome == FERRY_RESCUE_STOPPED;
            if (!a.json)
                ferry_cli_error("%s", local->message);
            g_clear_error(&local);
        } else if (!a.json) {
            printf("rescued '%s' on '%s' (%.3f s)\n", g->def->name, g->dst, g->elapsed_s);
        }
    }
    if (a.json) {
        g_autoptr(GError) incomplete = NULL;

        if (failed || no_room)
            incomplete =
                g_error_new(FERRY_RESCUE_ERROR, FERRY_RESCUE_ERROR_FAILED,
                            "%u guest(s) of '%s' not rescued", failed + no_room, host->name);
        print_result(&a, host, check, fenced_by, fence_output, plan, now,
                     (g_get_monotonic_time() - t0) / 1e6, NULL, incomplete);
    } else {
        print_table(plan);
    }
    if (failed || no_room) {
        g_set_error(error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_FAILED,
                    "%u guest(s) of '%s' not rescued", failed + no_room, host->name);
        if (!a.json)
            ferry_cli_error("%u guest(s) of '%s' could not be rescued (see the table)",
                            failed + no_room, host->name);
        return FALSE;
    }
    return TRUE;
}

gboolean
ferry_cmd_rescue(FerryCli *cli, int argc, char **argv, GError **error)
{
    gboolean json = FALSE;

    if (rescue_run(cli, argc, argv, &json, error))
        return TRUE;
    if (json)
        ferry_json_print_failure("rescue", *error);
    return FALSE;
}
