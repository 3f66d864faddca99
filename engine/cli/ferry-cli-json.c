/*
 * ferry-cli-json.c: the one JSON writer of the ferry command (see ferry-cli-json.h).
 */
#include "engine/cli/ferry-cli-json.h"

#include <math.h>
#include <stdio.h>

#include "engine/cli/ferry-cli.h"
#include "engine/ferry-definitions.h"
#include "engine/ferry-fence.h"
#include "engine/ferry-hostmap.h"
#include "engine/ferry-inventory.h"
#include "engine/ferry-journal.h"
#include "engine/ferry-locate.h"
#include "engine/ferry-migrate.h"
#include "engine/ferry-precheck.h"
#include "engine/ferry-rescue.h"
#include "engine/ferry-virt-util.h"
#include "engine/nova/ferry-nova.h"
#include "ssh/ferry-ssh-session.h"

struct _FerryJson {
    GString *text;
    GArray *open;  /* char: '}' or ']' for each open container, innermost last */
    gboolean fresh; /* nothing written yet in the innermost container */
};

FerryJson *
ferry_json_new(void)
{
    FerryJson *json = g_new0(FerryJson, 1);
    char close = '}';

    json->text = g_string_new("{");
    json->open = g_array_new(FALSE, FALSE, sizeof(char));
    g_array_append_val(json->open, close);
    json->fresh = TRUE;
    return json;
}

FerryJson *
ferry_json_new_event(const char *event)
{
    FerryJson *json = ferry_json_new();

    ferry_json_string(json, "event", event);
    return json;
}

void
ferry_json_free(FerryJson *json)
{
    if (!json)
        return;
    g_string_free(json->text, TRUE);
    g_array_unref(json->open);
    g_free(json);
}

static void
json_escape(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    for (const guchar *p = (const guchar *)s; *p; p++) {
        switch (*p) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                g_string_append_printf(out, "\\u%04x", *p);
            else
                g_string_append_c(out, (char)*p);
        }
    }
    g_string_append_c(out, '"');
}

/* The separator and the member's name, before a value. */
static void
json_key(FerryJson *json, const char *name)
{
    if (!json->fresh)
        g_string_append_c(json->text, ',');
    json->fresh = FALSE;
    if (name) {
        json_escape(json->text, name);
        g_string_append_c(json->text, ':');
    }
}

void
ferry_json_string(FerryJson *json, const char *name, const char *value)
{
    json_key(json, name);
    if (!value) {
        g_string_append(json->text, "null");
        return;
    }
    /* invalid UTF-8 (a path from a host) is made valid rather than printed as broken JSON */
    if (!g_utf8_validate(value, -1, NULL)) {
        g_autofree char *valid = g_utf8_make_valid(value, -1);
        json_escape(json->text, valid);
        return;
    }
    json_escape(json->text, value);
}

void
ferry_json_int(FerryJson *json, const char *name, gint64 value)
{
    json_key(json, name);
    g_string_append_printf(json->text, "%" G_GINT64_FORMAT, value);
}

void
ferry_json_uint(FerryJson *json, const char *name, guint64 value)
{
    json_key(json, name);
    g_string_append_printf(json->text, "%" G_GUINT64_FORMAT, value);
}

void
ferry_json_bool(FerryJson *json, const char *name, gboolean value)
{
    json_key(json, name);
    g_string_append(json->text, value ? "true" : "false");
}

void
ferry_json_null(FerryJson *json, const char *name)
{
    json_key(json, name);
    g_string_append(json->text, "null");
}

static void
json_fixed(FerryJson *json, const char *name, double value, const char *format)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    json_key(json, name);
    if (!isfinite(value)) {
        g_string_append(json->text, "null");
        return;
    }
    /* -0.000 is not a time anyone measured */
    if (value < 0 && value > -0.0005)
        value = 0;
    g_string_append(json->text, g_ascii_formatd(buf, sizeof(buf), format, value));
}

void
ferry_json_fixed3(FerryJson *json, const char *name, double value)
{
    json_fixed(json, name, value, "%.3f");
}

void
ferry_json_percent(FerryJson *json, const char *name, double value)
{
    json_fixed(json, name, isfinite(value) ? CLAMP(value, 0.0, 100.0) : value, "%.1f");
}

void
ferry_json_raw(FerryJson *json, const char *name, const char *text)
{
    json_key(json, name);
    g_string_append(json->text, text ? text : "null");
}

void
ferry_json_error(FerryJson *json, const char *name, const GError *error)
{
    ferry_json_begin_object(json, name);
    ferry_json_string(json, "kind", ferry_cli_error_kind(error));
    ferry_json_string(json, "message", error ? error->message : "unknown error");
    ferry_json_end_object(json);
}

static void
json_open(FerryJson *json, const char *name, char open, char close)
{
    json_key(json, name);
    g_string_append_c(json->text, open);
    g_array_append_val(json->open, close);
    json->fresh = TRUE;
}

static void
json_close(FerryJson *json, char close)
{
    g_return_if_fail(json->open->len > 0 &&
                     g_array_index(json->open, char, json->open->len - 1) == close);
    g_string_append_c(json->text, close);
    g_array_set_size(json->open, json->open->len - 1);
    json->fresh = FALSE;
}

void
ferry_json_begin_object(FerryJson *json, const char *name)
{
    json_open(json, name, '{', '}');
}

void
ferry_json_end_object(FerryJson *json)
{
    json_close(json, '}');
}

void
ferry_json_begin_array(FerryJson *json, const char *name)
{
    json_open(json, name, '[', ']');
}

void
ferry_json_end_array(FerryJson *json)
{
    json_close(json, ']');
}

char *
ferry_json_finish(FerryJson *json)
{
    char *text;

    while (json->open->len > 0) {
        g_string_append_c(json->text, g_array_index(json->open, char, json->open->len - 1));
        g_array_set_size(json->open, json->open->len - 1);
    }
    text = g_string_free(g_steal_pointer(&json->text), FALSE);
    g_array_unref(json->open);
    g_free(json);
    return text;
}

/* Whether this process printed a result line (a command's last line) already. */
static gboolean result_printed;

void
ferry_json_print(FerryJson *json)
{
    g_autofree char *text = ferry_json_finish(json);

    if (g_str_has_prefix(text, "{\"event\":\"result\""))
        result_printed = TRUE;
    printf("%s\n", text);
    fflush(stdout);
}

gboolean
ferry_json_result_printed(void)
{
    return result_printed;
}

void
ferry_json_print_failure(const char *command, const GError *error)
{
    FerryJson *json;

    if (result_printed)
        return;
    json = ferry_json_new_event("result");
    ferry_json_string(json, "command", command);
    ferry_json_bool(json, "ok", FALSE);
    ferry_json_error(json, "error", error);
    ferry_json_print(json);
}

/* ---- error kinds ---------------------------------------------------------------------------- */

const char *
ferry_cli_error_kind(const GError *error)
{
    if (!error)
        return "failed";
    if (error->domain == G_OPTION_ERROR ||
        g_error_matches(error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_USAGE))
        return "usage";
    if (error->domain == FERRY_INVENTORY_ERROR)
        return "inventory";
    if (error->domain == FERRY_MIGRATE_ERROR) {
        static const char *const kinds[] = {
            [FERRY_MIGRATE_ERROR_NOT_FOUND] = "not-found",
            [FERRY_MIGRATE_ERROR_AMBIGUOUS] = "ambiguous",
            [FERRY_MIGRATE_ERROR_INVALID] = "usage",
            [FERRY_MIGRATE_ERROR_PRECHECK] = "precheck",
            [FERRY_MIGRATE_ERROR_FAILED] = "migration-failed",
            [FERRY_MIGRATE_ERROR_CANCELLED] = "cancelled",
            [FERRY_MIGRATE_ERROR_VERIFY] = "verify-failed",
            [FERRY_MIGRATE_ERROR_NOT_CONVERGED] = "not-converged",
        };
        if ((guint)error->code < G_N_ELEMENTS(kinds) && kinds[error->code])
            return kinds[error->code];
        return "migration-failed";
    }
    if (error->domain == FERRY_LOCATE_ERROR) {
        switch (error->code) {
        case FERRY_LOCATE_ERROR_NOT_FOUND:
            return "not-found";
        case FERRY_LOCATE_ERROR_AMBIGUOUS:
            return "ambiguous";
        default:
            return "unreachable";
        }
    }
    if (error->domain == FERRY_JOURNAL_ERROR)
        return error->code == FERRY_JOURNAL_ERROR_BUSY ? "locked" : "journal";
    if (error->domain == FERRY_PRECHECK_ERROR)
        return "precheck";
    if (error->domain == FERRY_FENCE_ERROR) {
        switch (error->code) {
        case FERRY_FENCE_ERROR_ALIVE:
            return "host-alive";
        case FERRY_FENCE_ERROR_NO_WITNESS:
            return "no-witness";
        case FERRY_FENCE_ERROR_NOT_FENCED:
            return "not-fenced";
        case FERRY_FENCE_ERROR_FENCE_FAILED:
            return "fence-failed";
        default:
            return "cannot-probe";
        }
    }
    if (error->domain == FERRY_RESCUE_ERROR) {
        switch (error->code) {
        case FERRY_RESCUE_ERROR_UNKNOWN_HOST:
            return "not-found";
        case FERRY_RESCUE_ERROR_NO_DEFINITIONS:
            return "no-definitions";
        case FERRY_RESCUE_ERROR_SPLIT_BRAIN:
            return "split-brain";
        case FERRY_RESCUE_ERROR_UNREACHABLE:
            return "unreachable";
        default:
            return "incomplete";
        }
    }
    if (error->domain == FERRY_HOST_MAP_ERROR)
        return error->code == FERRY_HOST_MAP_ERROR_CAPACITY ? "capacity" : "host-map";
    if (error->domain == FERRY_DEFINITIONS_ERROR)
        return "definitions";
    if (g_error_matches(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_QUEUED))
        return "nova-queued";
    if (g_error_matches(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_CONFIG))
        return "inventory";
    if (error->domain == FERRY_NOVA_ERROR)
        return "nova";
    if (error->domain == FERRY_SSH_ERROR)
        return "ssh";
    if (error->domain == FERRY_VIRT_ERROR)
        return "libvirt";
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return "cancelled";
    return "failed";
}
