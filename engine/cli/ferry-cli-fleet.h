/*
 * ferry-cli-fleet.h: what `ferry list`, `locate`, `evacuate`, `plan` and `apply` print: tables
 * for people, one JSON document (or JSON lines while moves run) with --json.
 *
 * JSON conventions: sizes are integers in keys ending in _bytes, times numbers in keys ending
 * in _s or _ms (rounded to 3 decimals), errors {"kind": STABLE-STRING, "message": TEXT}.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <stdio.h>

#include "engine/cli/ferry-cli.h"
#include "engine/ferry-fleet-run.h"
#include "engine/ferry-fleet-survey.h"
#include "engine/ferry-placement.h"

G_BEGIN_DECLS

/* A stable name for an error's kind: "not-found", "precheck", "cancelled", ... */
const char *ferry_cli_fleet_error_kind(const GError *error);

void ferry_cli_json_print(JsonBuilder *builder);
void ferry_cli_json_error(JsonBuilder *b, const char *member, const GError *error);

/* `ferry list`: the hosts and the guests. */
void ferry_cli_fleet_print_list(const FerrySurvey *survey, gboolean json);

/* The plan: the moves (guest, source -> destination, mode, why), the guests in place and
 * those that do not fit.  With @json, adds "moves", "in_place", "misfits" to @b. */
void ferry_cli_fleet_print_plan(const FerryPlacePlan *plan, FILE *out);
void ferry_cli_fleet_json_plan(JsonBuilder *b, const FerryPlacePlan *plan);

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
void ferry_cli_fleet_json_run(JsonBuilder *b, const FerryFleetRun *run);

/* For `ferry recover`: the guests still on each host of @hosts (char*), asked of the hosts:
 * "still on hostA: g1, g2" or "hostA: no guest left". */
void ferry_cli_fleet_print_still_on(const FerryInventory *inventory, GPtrArray *hosts);

G_END_DECLS
