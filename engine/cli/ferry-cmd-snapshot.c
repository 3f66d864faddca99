/*
 * ferry-cmd-snapshot.c: `ferry snapshot` -- records the definition of every guest of every
 * host that answers in ferry's definitions cache (ferry-definitions.h), for `ferry rescue` to
 * start them elsewhere when their host dies.  Meant for cron.  A host that does not answer
 * keeps what was recorded before, with its age.
 */
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "engine/cli/ferry-cli.h"
#include "engine/ferry-definitions.h"
#include "engine/ferry-fleet-survey.h"
#include "engine/ferry-journal.h"

gboolean
ferry_cmd_snapshot(FerryCli *cli, int argc, char **argv, GError **error)
{
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object on stdout", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new(NULL);
    g_autoptr(FerrySurvey) survey = NULL;
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autofree char *state_dir = NULL;
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
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "definitions_dir");
    json_builder_add_string_value(b, state_dir);
    json_builder_set_member_name(b, "hosts");
    json_builder_begin_array(b);
    for (guint h = 0; h < survey->hosts->len; h++) {
        const FerrySurveyHost *sh = g_ptr_array_index(survey->hosts, h);
        g_autoptr(GPtrArray) defs = NULL;
        g_autoptr(GError) local = NULL;
        gint64 oldest = now;

        if (!(defs = ferry_definitions_load_host(inventory, sh->host->name, &local))) {
            g_propagate_error(error, g_steal_pointer(&local));
            return FALSE;
        }
        for (guint i = 0; i < defs->len; i++) {
            const FerryDefinition *d = g_ptr_array_index(defs, i);

            oldest = MIN(oldest, d->seen_unix_s);
        }
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "host");
        json_builder_add_string_value(b, sh->host->name);
        json_builder_set_member_name(b, "reachable");
        json_builder_add_boolean_value(b, sh->reachable);
        json_builder_set_member_name(b, "definitions");
        json_builder_add_int_value(b, defs->len);
        json_builder_set_member_name(b, "oldest_age_s");
        json_builder_add_double_value(b, (double)(now - oldest));
        json_builder_set_member_name(b, "error");
        if (sh->reachable) {
            json_builder_add_null_value(b);
        } else {
            json_builder_begin_object(b);
            json_builder_set_member_name(b, "kind");
            json_builder_add_string_value(b, "unreachable");
            json_builder_set_member_name(b, "message");
            json_builder_add_string_value(b, sh->error ? sh->error : "");
            json_builder_end_object(b);
        }
        json_builder_end_object(b);
        if (json)
            continue;
        if (sh->reachable)
            printf("%s: %u definition(s) recorded\n", sh->host->name, defs->len);
        else
            printf("%s: not reachable (%s): kept its %u definition(s), the oldest seen "
                   "%" G_GINT64_FORMAT " s ago\n",
                   sh->host->name, sh->error ? sh->error : "no answer", defs->len, now - oldest);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    if (json) {
        g_autoptr(JsonGenerator) gen = json_generator_new();
        g_autoptr(JsonNode) root = json_builder_get_root(b);
        g_autofree char *text = NULL;

        json_generator_set_root(gen, root);
        text = json_generator_to_data(gen, NULL);
        printf("%s\n", text);
    } else {
        printf("%u definition(s) in %s/definitions\n", n, state_dir);
    }
    return TRUE;
}
