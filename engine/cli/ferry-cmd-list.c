/*
 * ferry-cmd-list.c: `ferry list` (every host and guest of the inventory, asked at once) and
 * `ferry locate NAME|UUID` (where a guest is defined and where it runs; with [nova], where
 * Nova thinks it is).
 */
#include <stdio.h>
#include <string.h>

#include "engine/cli/ferry-cli-fleet.h"
#include "engine/cli/ferry-cli-json.h"
#include "engine/cli/ferry-cli.h"
#include "engine/ferry-fleet-survey.h"
#include "engine/ferry-locate.h"
#include "engine/ferry-migrate.h"
#include "engine/ferry-virt-util.h"
#include "engine/nova/ferry-nova.h"

static gboolean
list_run(FerryCli *cli, int argc, char **argv, gboolean *json, GError **error)
{
    const GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, json,
         "One JSON result line on stdout (docs/json-schema.json)", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("");
    g_autoptr(FerrySurvey) survey = NULL;
    FerryInventory *inventory;

    g_option_context_set_summary(context, "Lists every host of the inventory (reachable or why "
                                          "not, memory, CPUs) and every guest (host, state, "
                                          "memory, disks: local, shared or volume), asking all "
                                          "hosts at once.  A guest on two hosts is flagged.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!ferry_cli_parse(context, &argc, &argv, entries, error))
        return FALSE;
    if (argc != 1) {
        ferry_cli_usage_error(error, "list takes no argument (see --help)");
        return FALSE;
    }
    if (!(inventory = ferry_cli_inventory(cli, error)))
        return FALSE;
    survey = ferry_survey_run(inventory, 0);
    ferry_cli_fleet_record(inventory, survey);
    ferry_cli_fleet_print_list(survey, *json);
    return TRUE;
}

gboolean
ferry_cmd_list(FerryCli *cli, int argc, char **argv, GError **error)
{
    gboolean json = FALSE;

    if (list_run(cli, argc, argv, &json, error))
        return TRUE;
    if (json)
        ferry_json_print_failure("list", *error);
    return FALSE;
}

/* ---- locate -------------------------------------------------------------------------------- */

typedef struct {
    const FerrySurveyGuest *guest;
} LocateHit;

static gboolean
guest_matches(const FerrySurveyGuest *g, const char *query)
{
    return g_strcmp0(g->name, query) == 0 || (g->uuid && g_ascii_strcasecmp(g->uuid, query) == 0);
}

static void
locate_json(const char *query, GPtrArray *hits, const FerrySurveyGuest *runs, guint n_running,
            const char *unreachable, const FerryNovaConfig *nova, const FerryNovaWhere *where,
            const GError *nova_error, const char *drift, const GError *error)
{
    const FerrySurveyGuest *g = hits->len ? g_ptr_array_index(hits, 0) : NULL;
    FerryJson *j = ferry_json_new_event("result");

    ferry_json_string(j, "command", "locate");
    ferry_json_bool(j, "ok", error == NULL);
    ferry_json_string(j, "query", query);
    ferry_json_string(j, "name", g ? g->name : NULL);
    ferry_json_string(j, "uuid", g ? g->uuid : NULL);
    ferry_json_begin_array(j, "hosts");
    for (guint i = 0; i < hits->len; i++) {
        const FerrySurveyGuest *hit = g_ptr_array_index(hits, i);

        ferry_json_begin_object(j, NULL);
        ferry_json_string(j, "host", hit->host);
        ferry_json_string(j, "state", ferry_virt_state_to_string(hit->state));
        ferry_json_bool(j, "running", hit->active);
        ferry_json_bool(j, "persistent", hit->persistent);
        ferry_json_end_object(j);
    }
    ferry_json_end_array(j);
    ferry_json_string(j, "running_on", n_running == 1 ? runs->host : NULL);
    ferry_json_string(j, "flag", g ? g->flag : NULL);
    ferry_json_string(j, "unreachable", unreachable && *unreachable ? unreachable : NULL);
    if (nova) {
        ferry_json_begin_object(j, "nova");
        ferry_json_string(j, "host", where ? where->host : NULL);
        ferry_json_string(j, "node", where ? where->node : NULL);
        ferry_json_string(j, "task_state", where ? where->task_state : NULL);
        ferry_json_string(j, "vm_state", where ? where->vm_state : NULL);
        ferry_json_string(j, "fix", drift);
        if (nova_error)
            ferry_json_error(j, "error", nova_error);
        else
            ferry_json_null(j, "error");
        ferry_json_end_object(j);
    } else {
        ferry_json_null(j, "nova");
    }
    if (error)
        ferry_json_error(j, "error", error);
    else
        ferry_json_null(j, "error");
    ferry_json_print(j);
}

static gboolean
locate_run(FerryCli *cli, int argc, char **argv, gboolean *json_out, GError **error)
{
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &json,
         "One JSON result line on stdout (docs/json-schema.json)", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("NAME|UUID");
    g_autoptr(FerrySurvey) survey = NULL;
    g_autoptr(GPtrArray) hits = g_ptr_array_new();
    g_autoptr(GString) running = g_string_new(NULL);
    g_autoptr(GString) defined = g_string_new(NULL);
    g_autoptr(GString) unreachable = g_string_new(NULL);
    g_autoptr(FerryNovaConfig) nova = NULL;
    g_autoptr(FerryNovaWhere) where = NULL;
    g_autoptr(GError) nova_error = NULL;
    g_autofree char *drift = NULL;
    const FerrySurveyGuest *runs = NULL;
    guint n_running = 0;
    FerryInventory *inventory;
    const char *query;

    g_option_context_set_summary(context, "Says where a guest is defined and where it runs, "
                                          "asking every host; with a [nova] section, also where "
                                          "Nova records it, and the command that fixes a drift.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!ferry_cli_parse(context, &argc, &argv, entries, error))
        return FALSE;
    *json_out = json;
    if (argc != 2) {
        ferry_cli_usage_error(error, "locate takes exactly one NAME or UUID (see --help)");
        return FALSE;
    }
    query = argv[1];
    if (!(inventory = ferry_cli_inventory(cli, error)))
        return FALSE;
    if (!(nova = ferry_nova_config_load(inventory->keyfile, inventory->path, error)) && *error)
        return FALSE;
    survey = ferry_survey_run(inventory, 0);
    ferry_cli_fleet_record(inventory, survey);
    for (guint h = 0; h < survey->hosts->len; h++) {
        const FerrySurveyHost *sh = g_ptr_array_index(survey->hosts, h);

        if (!sh->reachable) {
            g_string_append_printf(unreachable, "%s%s", unreachable->len ? "; " : "", sh->error);
            continue;
        }
        for (guint i = 0; i < sh->guests->len; i++) {
            const FerrySurveyGuest *g = g_ptr_array_index(sh->guests, i);

            if (!guest_matches(g, query))
                continue;
            g_ptr_array_add(hits, (gpointer)g);
            if (g->persistent)
                g_string_append_printf(defined, "%s%s", defined->len ? ", " : "", g->host);
            if (g->active) {
                g_string_append_printf(running, "%s%s (%s)", running->len ? ", " : "", g->host,
                                       ferry_virt_state_to_string(g->state));
                runs = g;
                n_running++;
            }
        }
    }
    if (!hits->len) {
        g_set_error(error, FERRY_LOCATE_ERROR,
                    unreachable->len ? FERRY_LOCATE_ERROR_UNREACHABLE
                                     : FERRY_LOCATE_ERROR_NOT_FOUND,
                    "domain '%s' was not found on any host of '%s'%s%s%s", query, inventory->path,
                    unreachable->len ? " (not reachable: " : "", unreachable->str,
                    unreachable->len ? ")" : "");
        return FALSE;
    }
    if (nova && hits->len) {
        const FerrySurveyGuest *g = runs ? runs : g_ptr_array_index(hits, 0);

        where = ferry_nova_instance_where(nova, g->uuid, &nova_error);
        if (where && n_running == 1) {
            g_autofree char *service = ferry_nova_config_service_host(inventory->keyfile,
                                                                      runs->host);

            if (g_strcmp0(where->host, service) != 0)
                drift = g_strdup_printf("ferry nova-sync %s --to %s", runs->uuid, runs->host);
        }
    }
    /* a guest running on two hosts: as a refusal (ferry does not pick one of two copies) */
    if (n_running > 1)
        g_set_error(error, FERRY_LOCATE_ERROR, FERRY_LOCATE_ERROR_AMBIGUOUS,
                    "domain '%s' is running on several hosts (%s)", query, running->str);
    if (json) {
        locate_json(query, hits, runs, n_running, unreachable->str, nova, where, nova_error, drift,
                    *error);
    } else {
        const FerrySurveyGuest *g = g_ptr_array_index(hits, 0);

        printf("%s (%s)\n", g->name, g->uuid ? g->uuid : "no uuid");
        printf("  defined on: %s\n", defined->len ? defined->str : "(no host: transient)");
        printf("  running on: %s\n", running->len ? running->str : "(no host)");
        if (g->flag)
            printf("  !! %s\n", g->flag);
        if (unreachable->len)
            printf("  not asked: %s\n", unreachable->str);
        if (nova) {
            if (where)
                printf("  nova:       host %s, node %s, task_state %s, vm_state %s%s\n",
                       where->host ? where->host : "(none)", where->node ? where->node : "(none)",
                       where->task_state ? where->task_state : "none",
                       where->vm_state ? where->vm_state : "?",
                       drift ? " -- drift" : "");
            else
                printf("  nova:       cannot tell: %s\n", nova_error->message);
            if (drift)
                printf("  fix:        %s\n", drift);
        }
    }
    return n_running <= 1;
}

gboolean
ferry_cmd_locate(FerryCli *cli, int argc, char **argv, GError **error)
{
    gboolean json = FALSE;

    if (locate_run(cli, argc, argv, &json, error))
        return TRUE;
    if (json)
        ferry_json_print_failure("locate", *error);
    return FALSE;
}
