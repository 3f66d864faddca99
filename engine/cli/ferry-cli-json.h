/*
 * ferry-cli-json.h: the JSON every `--json` prints, written by one small writer so that every
 * command follows the same conventions (docs/json-schema.json holds them):
 *
 *   - one object per line; each has "event" ("phase", "sample", ..., "result");
 *   - bytes are integers, their keys end in _bytes; rates in bytes/s end in _bps;
 *   - times are numbers with exactly 3 decimals (milliseconds), keys ending in _s, or
 *     integers with keys ending in _ms;
 *   - an error is {"kind": STABLE-NAME, "message": TEXT} (ferry_cli_error_kind());
 *   - a value not known is null, never a made-up 0.
 *
 * json-glib prints doubles with 17 significant digits (0.50076900000000002): hence this writer.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _FerryJson FerryJson;

/* A writer with an open top-level object. */
FerryJson *ferry_json_new(void);
void ferry_json_free(FerryJson *json);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryJson, ferry_json_free)

/* A new writer whose object starts with "event": @event. */
FerryJson *ferry_json_new_event(const char *event);

/* Members of the open object (@name) or elements of the open array (@name NULL). */
void ferry_json_string(FerryJson *json, const char *name, const char *value); /* NULL: null */
void ferry_json_int(FerryJson *json, const char *name, gint64 value);
void ferry_json_uint(FerryJson *json, const char *name, guint64 value);
void ferry_json_bool(FerryJson *json, const char *name, gboolean value);
void ferry_json_null(FerryJson *json, const char *name);
/* A time or a ratio: a number with exactly 3 decimals in the C locale (null if not finite). */
void ferry_json_fixed3(FerryJson *json, const char *name, double value);
/* A percentage 0..100 with one decimal, clamped (null if not finite). */
void ferry_json_percent(FerryJson *json, const char *name, double value);
/* Already-serialised JSON (a value json-glib wrote). */
void ferry_json_raw(FerryJson *json, const char *name, const char *text);
/* {"kind": ferry_cli_error_kind(error), "message": error->message} */
void ferry_json_error(FerryJson *json, const char *name, const GError *error);

void ferry_json_begin_object(FerryJson *json, const char *name);
void ferry_json_end_object(FerryJson *json);
void ferry_json_begin_array(FerryJson *json, const char *name);
void ferry_json_end_array(FerryJson *json);

/* Closes what is open and returns the text (one line, no newline); the writer is freed. */
char *ferry_json_finish(FerryJson *json);
/* ferry_json_finish(), printed as one line on stdout and flushed. */
void ferry_json_print(FerryJson *json);

/* Whether a {"event":"result",...} line was printed already by this process. */
gboolean ferry_json_result_printed(void);
/* Unless a result line was printed already: {"event":"result","command":@command,"ok":false,
 * "error":{...}} -- for a command that fails before it has anything else to say. */
void ferry_json_print_failure(const char *command, const GError *error);

/* A stable, short name for an error, for scripts: "usage", "inventory", "not-found",
 * "ambiguous", "precheck", "migration-failed", "cancelled", "verify-failed", "not-converged",
 * "nova-queued", "nova", "ssh", "libvirt", "journal", "locked", "unreachable", "host-alive",
 * "no-witness", "not-fenced", "fence-failed", "cannot-probe", "no-definitions", "split-brain",
 * "incomplete", "host-map", "capacity", "definitions", "failed". */
const char *ferry_cli_error_kind(const GError *error);

G_END_DECLS
