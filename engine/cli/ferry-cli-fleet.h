/*
 * ferry-cli-fleet.h: what `ferry list`, `locate`, `evacuate`, `plan` and `apply` print: tables
 * for people; with --json, JSON lines through the one writer (ferry-cli-json.h: events while
 * moves run, then the result line), as docs/json-schema.json describes them.
 */
#pragma once

#include <stdio.h>

#include "engine/cli/ferry-cli-json.h"
#include "engine/cli/ferry-cli.h"
#include "engine/ferry-fleet-run.h"
#include "engine/ferry-fleet-survey.h"
#include "engine/ferry-placement.h"

G_BEGIN_DECLS

/* Records what @survey saw in the definitions cache for `ferry rescue`
 * (ferry_definitions_record_survey()); a failure is a warning on stderr, never an error. */
void ferry_cli_fleet_record(const FerryInventory *inventory, const FerrySurvey *survey);

/* `ferry list`: the hosts and the guests (--json: the result line). */
void ferry_cli_fleet_print_list(const FerrySurvey *survey, gboolean json);
/* "hosts": [...] as `ferry list --json` has it. */
void ferry_cli_fleet_json_hosts(FerryJson *j, const FerrySurvey *survey);

/* The plan: the moves (guest, source -> destination, mode, why), the guests in place and
 * those that do not fit.  ferry_cli_fleet_json_plan() adds "moves", "in_place", "misfits" to
 * @j (null each when there is no plan). */
void ferry_cli_fleet_print_plan(const FerryPlacePlan *plan, FILE *out);
void ferry_cli_fleet_json_plan(FerryJson *j, const FerryPlacePlan *plan);

/* While a run goes: a live table on a terminal (stderr), plain lines otherwise, JSON lines on
 * stdout with @json. */
typedef struct _FerryFleetDisplay FerryFleetDisplay;

FerryFleetDisplay *ferry_fleet_display_new(gboolean json, guint n_moves);
void ferry_fleet_display_free(FerryFleetDisplay *display);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryFleetDisplay, ferry_fleet_display_free)
/* A FerryFleetEventFunc; @user_data is the display. */
void ferry_fleet_display_on_event(const FerryFleetEvent *event, gpointer user_data);
/* A FerryFleetPromptFunc on the terminal (stdin): yes / no / all / quit; EOF is quit. */
FerryFleetAnswer ferry_fleet_display_prompt(const FerryPlaceMove *move, gpointer user_data);

/* The final table, one line per guest: destination, mode, time, downtime, result. */
void ferry_cli_fleet_print_run(const FerryFleetRun *run);
/* "results", "moved", "failed", "not_begun", "total_s" (null each when nothing ran). */
void ferry_cli_fleet_json_run(FerryJson *j, const FerryFleetRun *run);

/* For `ferry recover`: the guests still on each host of @hosts (char*), asked of the hosts:
 * "still on hostA: g1, g2" or "hostA: no guest left". */
void ferry_cli_fleet_print_still_on(const FerryInventory *inventory, GPtrArray *hosts);

G_END_DECLS
