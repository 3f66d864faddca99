/*
 * ferry-cmd-evacuate.c: `ferry evacuate HOST` (every guest off HOST), `ferry plan --host-map
 * FILE` (the moves a host map needs) and `ferry apply --host-map FILE` (carry them out).
 *
 * All three: survey every host at once, place (ferry-placement.c: capacity, CPU, largest
 * first), refuse a plan that does not fit before anything moves, then run the moves
 * (ferry-fleet-run.c) with the concurrency limits, and at the end ask the hosts where the
 * guests are.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/cli/ferry-cli-fleet.h"
#include "engine/cli/ferry-cli.h"
#include "engine/ferry-fleet-run.h"
#include "engine/ferry-fleet-survey.h"
#include "engine/ferry-hostmap.h"
#include "engine/ferry-placement.h"
#include "engine/ferry-policy.h"
#include "engine/ferry-virt-util.h"
#include "engine/nova/ferry-nova.h"

typedef struct {
    char **to;
    char *host_map;
    gboolean dry_run;
    gboolean json;
    gboolean yes;
    gboolean reenable;
    gboolean no_nova;
    gint64 per_source;
    gint64 per_dest;
    gint64 concurrency;
    gint64 bandwidth;
    double timeout;
    double vcpu_ratio;
    char *reason;
} FerryFleetArgs;

static void
fleet_args_clear(FerryFleetArgs *a)
{
    g_strfreev(a->to);
    g_free(a->host_map);
    g_free(a->reason);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(FerryFleetArgs, fleet_args_clear)

#define RUN_ENTRIES(a)                                                                             \
    {"concurrency", 0, 0, G_OPTION_ARG_INT64, &(a).concurrency,                                    \
     "Moves at once in all (default " G_STRINGIFY(FERRY_FLEET_DEFAULT_TOTAL) ")", "N"},            \
        {"per-source", 0, 0, G_OPTION_ARG_INT64, &(a).per_source,                                  \
         "Moves at once out of one host (default " G_STRINGIFY(FERRY_FLEET_DEFAULT_PER_SOURCE) ")", \
         "N"},                                                                                     \
        {"per-dest", 0, 0, G_OPTION_ARG_INT64, &(a).per_dest,                                      \
         "Moves at once into one host (default " G_STRINGIFY(FERRY_FLEET_DEFAULT_PER_DEST) ")",    \
         "N"},                                                                                     \
        {"bandwidth", 0, 0, G_OPTION_ARG_INT64, &(a).bandwidth,                                    \
         "Total bandwidth in MiB/s, shared by the live moves running (default: unlimited)",       \
         "MIB"},                                                                                   \
        {"timeout", 0, 0, G_OPTION_ARG_DOUBLE, &(a).timeout,                                       \
         "Completion timeout per guest in seconds (default: scaled by its size, as migrate)",     \
         "SECONDS"},                                                                               \
        {"vcpu-ratio", 0, 0, G_OPTION_ARG_DOUBLE, &(a).vcpu_ratio,                                 \
         "vCPUs a host may hold per CPU (default 4.0)", "R"},                                      \
        {"no-nova", 0, 0, G_OPTION_ARG_NONE, &(a).no_nova,                                         \
         "Do not tell Nova, even when the inventory has a [nova] section", NULL},                  \
        {"json", 0, 0, G_OPTION_ARG_NONE, &(a).json,                                               \
         "JSON lines while moves run, then the result line (the plan and the results)",            \
         NULL }

static gboolean
check_args(const FerryFleetArgs *a, GError **error)
{
    const struct {
        const char *option;
        gint64 value;
    } counts[] = {
        {"--concurrency", a->concurrency},
        {"--per-source", a->per_source},
        {"--per-dest", a->per_dest},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(counts); i++) {
        if (counts[i].value < 0 || counts[i].value > 64) {
            ferry_cli_usage_error(error, "%s takes 1 to 64 moves, not %" G_GINT64_FORMAT,
                                  counts[i].option, counts[i].value);
            return FALSE;
        }
    }
    if (a->bandwidth < 0 || a->bandwidth > G_MAXUINT32) {
        ferry_cli_usage_error(error, "--bandwidth takes MiB/s from 0 (unlimited) to %u, not %"
                                     G_GINT64_FORMAT, G_MAXUINT32, a->bandwidth);
        return FALSE;
    }
    if (!isfinite(a->timeout) || a->timeout < 0 || a->timeout > 365.0 * 24 * 3600) {
        ferry_cli_usage_error(error, "--timeout takes a number of seconds from 0 to 31536000, "
                                     "not %g", a->timeout);
        return FALSE;
    }
    if (!isfinite(a->vcpu_ratio) || a->vcpu_ratio < 0 || a->vcpu_ratio > 64) {
        ferry_cli_usage_error(error, "--vcpu-ratio takes a number from 0.1 to 64, not %g",
                              a->vcpu_ratio);
        return FALSE;
    }
    return TRUE;
}

/* The plan printed (stdout without --json, stderr with it: stdout then carries JSON only). */
static void
show_plan(const FerryFleetArgs *a, const FerryPlacePlan *plan)
{
    if (!a->json)
        ferry_cli_fleet_print_plan(plan, stdout);
    /* before any prompt or progress line on stderr */
    fflush(stdout);
}

/* The result line of evacuate (@host), plan or apply (@a->host_map): the plan, the run and
 * what is still on the host, each null when the command did not get that far. */
static void
print_result(const char *command, const FerryFleetArgs *a, const char *host,
             const FerryPlacePlan *plan, const FerryFleetRun *run, GPtrArray *left,
             const char *nova_status, const GError *error)
{
    FerryJson *j = ferry_json_new_event("result");

    ferry_json_string(j, "command", command);
    ferry_json_bool(j, "ok", error == NULL);
    if (host) {
        ferry_json_string(j, "host", host);
        ferry_json_bool(j, "dry_run", a->dry_run);
    } else {
        ferry_json_string(j, "host_map", a->host_map);
    }
    ferry_cli_fleet_json_plan(j, plan);
    if (!g_str_equal(command, "plan"))
        ferry_cli_fleet_json_run(j, run);
    if (host) {
        if (left) {
            ferry_json_begin_array(j, "still_on_host");
            for (guint i = 0; i < left->len; i++)
                ferry_json_string(j, NULL, g_ptr_array_index(left, i));
            ferry_json_end_array(j);
        } else {
            ferry_json_null(j, "still_on_host");
        }
        ferry_json_string(j, "nova_service", nova_status);
    }
    if (error)
        ferry_json_error(j, "error", error);
    else
        ferry_json_null(j, "error");
    ferry_json_print(j);
}

/* Runs @plan's moves with the live display; the run is returned for the final table. */
static FerryFleetRun *
run_plan(FerryInventory *inventory, const FerryFleetArgs *a, const FerryPlacePlan *plan,
         gboolean prompt, GCancellable *cancellable)
{
    g_autoptr(FerryFleetDisplay) display = ferry_fleet_display_new(a->json, plan->moves->len);
    FerryPolicySettings policy;
    FerryMigrateOptions migrate = {0};
    FerryFleetRunOptions options = {0};

    ferry_policy_settings_init_defaults(&policy);
    policy.completion_timeout_s = a->timeout;
    migrate.policy = &policy;
    migrate.no_nova = a->no_nova;
    options.per_source = (guint)a->per_source;
    options.per_dest = (guint)a->per_dest;
    options.total = (guint)a->concurrency;
    options.bandwidth_mib = (guint64)a->bandwidth;
    options.migrate = &migrate;
    options.event_func = ferry_fleet_display_on_event;
    options.event_data = display;
    if (prompt) {
        options.prompt_func = ferry_fleet_display_prompt;
        options.prompt_data = display;
    }
    options.cancellable = cancellable;
    return ferry_fleet_run(inventory, plan, &options);
}

/* The guests of @names still on @host, asked of the hosts (a new survey).  FALSE when @host
 * cannot be asked. */
static gboolean
still_on_host(FerryInventory *inventory, const char *host, GPtrArray *left, GError **error)
{
    g_autoptr(FerrySurvey) after = ferry_survey_run(inventory, 0);
    FerrySurveyHost *sh = ferry_survey_get_host(after, host);

    if (!sh->reachable) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_FAILED,
                    "cannot ask '%s' what is left on it: %s", host, sh->error);
        return FALSE;
    }
    for (guint i = 0; i < sh->guests->len; i++) {
        const FerrySurveyGuest *g = g_ptr_array_index(sh->guests, i);
        g_ptr_array_add(left, g_strdup(g->name));
    }
    return TRUE;
}

/* A plan with misfits is refused before anything moves. */
static gboolean
refuse_misfits(const FerryPlacePlan *plan, const char *what, GError **error)
{
    g_autoptr(GString) names = g_string_new(NULL);

    if (!plan->misfits->len)
        return TRUE;
    for (guint i = 0; i < plan->misfits->len; i++) {
        const FerryPlaceOutcome *o = g_ptr_array_index(plan->misfits, i);
        g_string_append_printf(names, "%s'%s'", names->len ? ", " : "", o->guest);
    }
    /* the reasons are in the plan printed above (or in its JSON) */
    g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                "%s: %u guest(s) do not fit: %s (see why above); nothing was moved", what,
                plan->misfits->len, names->str);
    return FALSE;
}

static gboolean
nova_service(FerryNovaConfig *nova, FerryInventory *inventory, const char *host,
             gboolean disable, const char *reason, GError **error)
{
    g_autofree char *service = ferry_nova_config_service_host(inventory->keyfile, host);

    if (!ferry_nova_service_set_disabled(nova, service, disable, reason, error)) {
        g_prefix_error(error, "cannot %s the nova-compute service of '%s' (Nova host '%s'): ",
                       disable ? "disable" : "enable", host, service);
        return FALSE;
    }
    return TRUE;
}

static gboolean
evacuate_run(FerryCli *cli, int argc, char **argv, gboolean *json, GError **error)
{
    g_auto(FerryFleetArgs) a = {0};
    const GOptionEntry entries[] = {
        {"to", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a.to,
         "A destination (repeat for several; default: every other host)", "HOST"},
        {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &a.dry_run, "Print the plan only", NULL},
        {"reenable", 0, 0, G_OPTION_ARG_NONE, &a.reenable,
         "With [nova]: enable the host's nova-compute service again once the host is empty",
         NULL},
        {"reason", 0, 0, G_OPTION_ARG_STRING, &a.reason,
         "With [nova]: why the service is disabled (default: 'evacuated by ferry')", "TEXT"},
        RUN_ENTRIES(a),
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("HOST");
    g_autoptr(FerrySurvey) survey = NULL;
    g_autoptr(GPtrArray) hosts = NULL;
    g_autoptr(GPtrArray) guests = NULL;
    g_autoptr(GHashTable) cpu = NULL;
    g_autoptr(FerryPlacePlan) plan = NULL;
    g_autoptr(FerryFleetRun) run = NULL;
    g_autoptr(GPtrArray) left = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(FerryNovaConfig) nova = NULL;
    g_autoptr(GError) left_error = NULL;
    g_autoptr(GCancellable) cancellable = NULL;
    g_autofree char *nova_status = NULL;
    FerryPlaceSettings settings = {0};
    FerrySurveyHost *src;
    FerryInventory *inventory;
    const FerryHost *host;
    gboolean ok;

    g_option_context_set_summary(
        context, "Moves every guest off HOST: running ones live, shut-off ones cold, paused "
                 "ones live and left paused, each to the host with the most memory left (minus "
                 "its reserve; vCPU over-commit and disk space for copied disks checked, CPU "
                 "compared), largest first.  A plan that does not fit is refused before "
                 "anything moves.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!ferry_cli_parse(context, &argc, &argv, entries, error))
        return FALSE;
    *json = a.json;
    if (argc != 2) {
        ferry_cli_usage_error(error, "evacuate takes exactly one HOST (see --help)");
        return FALSE;
    }
    if (!check_args(&a, error))
        return FALSE;
    if (!(inventory = ferry_cli_inventory(cli, error)))
        return FALSE;
    if (!(host = ferry_inventory_get_host(inventory, argv[1], error)))
        return FALSE;
    for (char **t = a.to; t && *t; t++) {
        const FerryHost *dst = ferry_inventory_get_host(inventory, *t, error);

        if (!dst) {
            g_prefix_error(error, "--to: ");
            return FALSE;
        }
        if (dst == host) {
            ferry_cli_usage_error(error, "--to %s: that is the host being evacuated", *t);
            return FALSE;
        }
        g_free(*t);
        *t = g_strdup(dst->name);
    }
    if (!a.no_nova &&
        !(nova = ferry_nova_config_load(inventory->keyfile, inventory->path, error)) && *error)
        return FALSE;
    /* before any thread exists (the survey's, libvirt's event loop): they all inherit the
     * blocked signals, which only the signal thread then receives */
    cancellable = ferry_cli_signal_cancellable();

    survey = ferry_survey_run(inventory, FERRY_SURVEY_DISK_SPACE);
    ferry_cli_fleet_record(inventory, survey);
    src = ferry_survey_get_host(survey, host->name);
    if (!src->reachable) {
        /* refused before anything changed (exit 2), as any check before a move */
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                    "cannot evacuate '%s': %s; nothing was moved", host->name, src->error);
        return FALSE;
    }
    hosts = ferry_survey_place_hosts(survey);
    guests = ferry_survey_place_guests(survey, host->name);
    cpu = ferry_survey_cpu_refusals(survey, guests, (const char *const *)a.to);
    settings.vcpu_ratio = a.vcpu_ratio;
    settings.allowed = (const char *const *)a.to;
    settings.cpu_refused = cpu;
    plan = ferry_placement_plan(hosts, guests, &settings);
    show_plan(&a, plan);
    if (!refuse_misfits(plan, host->name, error))
        goto json_error;
    if (a.dry_run) {
        if (a.json)
            print_result("evacuate", &a, host->name, plan, NULL, NULL, NULL, NULL);
        return TRUE;
    }
    /* (an empty host with --reenable: only the enabling is asked for) */
    if (nova && (plan->moves->len || !a.reenable)) {
        if (!nova_service(nova, inventory, host->name, TRUE,
                          a.reason ? a.reason : "evacuated by ferry", error)) {
            /* Nova refusing, before anything moved: exit 2, as migrate's precheck */
            cli->status = FERRY_EXIT_USAGE;
            goto json_error;
        }
        nova_status = g_strdup("disabled");
        if (!a.json)
            printf("nova-compute on %s disabled (%s)\n", host->name,
                   a.reason ? a.reason : "evacuated by ferry");
    }
    run = run_plan(inventory, &a, plan, FALSE, cancellable);
    ok = still_on_host(inventory, host->name, left, &left_error);
    if (ok && !left->len && nova && a.reenable) {
        g_autoptr(GError) local = NULL;

        if (nova_service(nova, inventory, host->name, FALSE, NULL, &local)) {
            g_free(nova_status);
            nova_status = g_strdup("enabled again");
        } else {
            ferry_cli_error("%s", local->message);
            g_free(nova_status);
            nova_status = g_strdup_printf("still disabled: %s", local->message);
        }
    }
    if (!ok) {
        g_propagate_error(error, g_steal_pointer(&left_error));
    } else if (run->n_failed || run->n_skipped || left->len) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_FAILED,
                    "%s is not empty: %u guest(s) still on it (%u move(s) failed, %u not begun)",
                    host->name, left->len, run->n_failed, run->n_skipped);
    }
    if (a.json) {
        print_result("evacuate", &a, host->name, plan, run, ok ? left : NULL, nova_status, *error);
    } else {
        g_autofree char *list = NULL;

        ferry_cli_fleet_print_run(run);
        g_ptr_array_add(left, NULL);
        list = g_strjoinv(", ", (char **)left->pdata);
        g_ptr_array_remove_index(left, left->len - 1);
        if (ok)
            printf(left->len ? "still on %s: %s\n" : "%s is empty%s\n", host->name, list);
        if (nova && a.reenable)
            printf("nova-compute on %s: %s\n", host->name, nova_status);
        fflush(stdout);
    }
    return *error == NULL;

json_error:
    if (a.json)
        print_result("evacuate", &a, host->name, plan, NULL, NULL, nova_status, *error);
    return FALSE;
}

gboolean
ferry_cmd_evacuate(FerryCli *cli, int argc, char **argv, GError **error)
{
    gboolean json = FALSE;

    if (evacuate_run(cli, argc, argv, &json, error))
        return TRUE;
    if (json)
        ferry_json_print_failure("evacuate", *error);
    return FALSE;
}

/* ---- host maps ----------------------------------------------------------------------------- */

/* The plan of a host map: survey, the map matched to the guests, placement, refusals. */
static FerryPlacePlan *
host_map_plan(FerryInventory *inventory, const FerryFleetArgs *a, FerrySurvey **survey_out,
              GError **error)
{
    g_autoptr(FerryHostMap) map = NULL;
    g_autoptr(FerrySurvey) survey = NULL;
    g_autoptr(GPtrArray) hosts = NULL;
    g_autoptr(GPtrArray) guests = NULL;
    g_autoptr(GPtrArray) named = NULL;
    g_autoptr(GHashTable) cpu = NULL;
    g_autoptr(FerryPlacePlan) plan = NULL;
    FerryPlaceSettings settings = {0};

    if (!(map = ferry_host_map_load(a->host_map, inventory, error)))
        return NULL;
    survey = ferry_survey_run(inventory, FERRY_SURVEY_DISK_SPACE);
    hosts = ferry_survey_place_hosts(survey);
    guests = ferry_survey_place_guests(survey, NULL);
    if (!(named = ferry_host_map_apply(map, guests, error)))
        return NULL;
    cpu = ferry_survey_cpu_refusals(survey, named, NULL);
    settings.vcpu_ratio = a->vcpu_ratio;
    settings.cpu_refused = cpu;
    plan = ferry_placement_plan(hosts, named, &settings);
    if (!ferry_host_map_check_plan(map, plan, error))
        return NULL;
    if (survey_out)
        *survey_out = g_steal_pointer(&survey);
    return g_steal_pointer(&plan);
}

static gboolean
host_map_command(FerryCli *cli, int argc, char **argv, gboolean apply, gboolean *json,
                 GError **error)
{
    g_auto(FerryFleetArgs) a = {0};
    const GOptionEntry entries[] = {
        {"host-map", 'm', 0, G_OPTION_ARG_FILENAME, &a.host_map,
         "JSON {\"host\": [\"guest\", ...]}: hosts by inventory or Nova name, guests by name or "
         "UUID",
         "FILE"},
        {"yes", 'y', 0, G_OPTION_ARG_NONE, &a.yes, "Do not ask before each move (apply)", NULL},
        RUN_ENTRIES(a),
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("--host-map FILE");
    g_autoptr(FerryPlacePlan) plan = NULL;
    g_autoptr(FerrySurvey) survey = NULL;
    g_autoptr(FerryFleetRun) run = NULL;
    g_autoptr(GString) misplaced = g_string_new(NULL);
    g_autoptr(GCancellable) cancellable = NULL;
    FerryInventory *inventory;

    g_option_context_set_summary(
        context, apply ? "Carries out a host map: each guest it names moved to its host (live, "
                         "cold, or live and left paused), asking before each move unless --yes.  "
                         "An impossible map (unknown host or guest, a guest named twice, a host "
                         "over capacity) is refused before anything moves."
                       : "Prints the moves a host map needs and the guests already in place; "
                         "refuses an impossible map (unknown host or guest, a guest named twice, "
                         "a host over capacity), naming the file, the key and the reason.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!ferry_cli_parse(context, &argc, &argv, entries, error))
        return FALSE;
    *json = a.json;
    if (argc != 1) {
        ferry_cli_usage_error(error, "%s takes no argument but --host-map FILE (see --help)",
                              argv[0]);
        return FALSE;
    }
    if (!a.host_map) {
        ferry_cli_usage_error(error, "%s needs --host-map FILE", argv[0]);
        return FALSE;
    }
    if (!apply && a.yes) {
        ferry_cli_usage_error(error, "plan moves nothing: --yes is for apply");
        return FALSE;
    }
    if (!check_args(&a, error))
        return FALSE;
    if (!(inventory = ferry_cli_inventory(cli, error)))
        return FALSE;
    /* before any thread exists (see evacuate) */
    if (apply)
        cancellable = ferry_cli_signal_cancellable();
    if (!(plan = host_map_plan(inventory, &a, &survey, error))) {
        /* an impossible map is bad input: nothing was touched */
        if (a.json)
            print_result(argv[0], &a, NULL, NULL, NULL, NULL, NULL, *error);
        return FALSE;
    }
    show_plan(&a, plan);
    if (!apply || !plan->moves->len) {
        if (a.json)
            print_result(argv[0], &a, NULL, plan, NULL, NULL, NULL, NULL);
        return TRUE;
    }
    run = run_plan(inventory, &a, plan, !a.yes, cancellable);
    /* the hosts say where each guest is now */
    {
        g_autoptr(FerrySurvey) after = ferry_survey_run(inventory, 0);

        for (guint i = 0; i < plan->moves->len; i++) {
            const FerryPlaceMove *m = g_ptr_array_index(plan->moves, i);
            const FerrySurveyGuest *g = ferry_survey_find_guest(after, m->dst, m->guest);

            if (!g || ferry_survey_find_guest(after, m->src, m->guest))
                g_string_append_printf(misplaced, "%s'%s'", misplaced->len ? ", " : "",
                                       m->guest);
        }
    }
    if (misplaced->len)
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_FAILED,
                    "not where '%s' puts them: %s (%u move(s) failed, %u not begun)", a.host_map,
                    misplaced->str, run->n_failed, run->n_skipped);
    if (a.json)
        print_result(argv[0], &a, NULL, plan, run, NULL, NULL, *error);
    else
        ferry_cli_fleet_print_run(run);
    return *error == NULL;
}

static gboolean
host_map_main(FerryCli *cli, int argc, char **argv, gboolean apply, GError **error)
{
    g_autofree char *command = g_strdup(argv[0]);
    gboolean json = FALSE;

    if (host_map_command(cli, argc, argv, apply, &json, error))
        return TRUE;
    if (json)
        ferry_json_print_failure(command, *error);
    return FALSE;
}

gboolean
ferry_cmd_plan(FerryCli *cli, int argc, char **argv, GError **error)
{
    return host_map_main(cli, argc, argv, FALSE, error);
}

gboolean
ferry_cmd_apply(FerryCli *cli, int argc, char **argv, GError **error)
{
    return host_map_main(cli, argc, argv, TRUE, error);
}
