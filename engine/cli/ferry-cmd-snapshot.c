/*
 * ferry-cmd-snapshot.c: `ferry snapshot` -- records the definition of every guest of every
 * host that answers in ferry's definitions cache (ferry-definitions.h), for `ferry rescue` to
 * start them elsewhere when their host dies.  Meant for cron.  A host that does not answer
 * keeps what was recorded before, with its age.
 */
#include <math.h>
#include <stdio.h>

#include "engine/cli/ferry-cli-json.h"
#include "engine/cli/ferry-cli.h"
#include "engine/ferry-definitions.h"
#include "engine/ferry-fleet-survey.h"
#include "engine/ferry-journal.h"

static gboolean
snapshot_run(FerryCli *cli, int argc, char **argv, gboolean *json, GError **error)
{
    const GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, json,
         "One JSON result line on stdout (docs/json-schema.json)", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new(NULL);
    g_autoptr(FerrySurvey) survey = NULL;
    g_autofree char *state_dir = NULL;
    FerryJson *j = NULL;
    FerryInventory *inventory;
    gint64 now;
    guint n = 0;

    g_option_context_set_summary(context,
                                 "Records the definition of every guest of every host that "
                                 "answers,\nfor `ferry rescue` (meant for cron).");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!ferry_cli_parse(context, &argc, &argv, entries, error))
        return FALSE;
    if (argc != 1) {
        ferry_cli_usage_error(error, "snapshot takes no arguments");
        return FALSE;
    }
    if (!(inventory = ferry_cli_inventory(cli, error)))
        return FALSE;
    state_dir = ferry_journal_state_dir(inventory);
    survey = ferry_survey_run(inventory, 0);
    if (!ferry_definitions_record_survey(inventory, survey, &n, error))
        return FALSE;
    now = g_get_real_time() / G_USEC_PER_SEC;
    if (*json) {
        j = ferry_json_new_event("result");
        ferry_json_string(j, "command", "snapshot");
        ferry_json_bool(j, "ok", TRUE);
        ferry_json_string(j, "definitions_dir", state_dir);
        ferry_json_uint(j, "recorded", n);
        ferry_json_begin_array(j, "hosts");
    }
    for (guint h = 0; h < survey->hosts->len; h++) {
        const FerrySurveyHost *sh = g_ptr_array_index(survey->hosts, h);
        g_autoptr(GPtrArray) defs = NULL;
        g_autoptr(GError) local = NULL;
        gint64 oldest = now;

        if (!(defs = ferry_definitions_load_host(inventory, sh->host->name, &local))) {
            g_propagate_error(error, g_steal_pointer(&local));
            ferry_json_free(j);
            return FALSE;
        }
        for (guint i = 0; i < defs->len; i++) {
            const FerryDefinition *d = g_ptr_array_index(defs, i);

            oldest = MIN(oldest, d->seen_unix_s);
        }
        if (*json) {
            ferry_json_begin_object(j, NULL);
            ferry_json_string(j, "host", sh->host->name);
            ferry_json_bool(j, "reachable", sh->reachable);
            ferry_json_uint(j, "definitions", defs->len);
            /* no definition: no age */
            ferry_json_fixed3(j, "oldest_age_s", defs->len ? (double)MAX(now - oldest, 0) : NAN);
            if (sh->reachable) {
                ferry_json_null(j, "error");
            } else {
                ferry_json_begin_object(j, "error");
                ferry_json_string(j, "kind", "unreachable");
                ferry_json_string(j, "message", sh->error ? sh->error : "no answer");
                ferry_json_end_object(j);
            }
            ferry_json_end_object(j);
            continue;
        }
        if (sh->reachable)
            printf("%s: %u definition(s) recorded\n", sh->host->name, defs->len);
        else
            printf("%s: not reachable (%s): kept its %u definition(s), the oldest seen "
                   "%" G_GINT64_FORMAT " s ago\n",
                   sh->host->name, sh->error ? sh->error : "no answer", defs->len, now - oldest);
    }
    if (*json) {
        ferry_json_end_array(j);
        ferry_json_null(j, "error");
        ferry_json_print(j);
    } else {
        printf("%u definition(s) in %s/definitions\n", n, state_dir);
    }
    return TRUE;
}

gboolean
ferry_cmd_snapshot(FerryCli *cli, int argc, char **argv, GError **error)
{
    gboolean json = FALSE;

    if (snapshot_run(cli, argc, argv, &json, error))
        return TRUE;
    if (json)
        ferry_json_print_failure("snapshot", *error);
    return FALSE;
}
