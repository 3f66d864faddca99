/*
 * ferry-cmd-xml.c: `ferry xml` -- the destination XML and disk plan, without migrating.
 */
#include <json-glib/json-glib.h>
#include <libvirt/libvirt.h>
#include <stdio.h>
#include <string.h>

#include "engine/cli/ferry-cli-json.h"
#include "engine/cli/ferry-cli.h"
#include "engine/ferry-dest-xml.h"
#include "engine/ferry-inventory.h"
#include "engine/ferry-locate.h"
#include "engine/ferry-migrate.h"
#include "engine/ferry-virt-util.h"

/* With reachable hosts: every destination check `ferry migrate --dry-run` makes (the same
 * code).  NULL when they pass, else the error. */
static GError *
run_checks(FerryInventory *inventory, const char *domain, const FerryHost *src,
           const FerryHost *dst)
{
    g_autoptr(FerryMigrateResult) result = NULL;
    GError *local = NULL;
    FerryMigrateOptions options = {
        .domain = domain,
        .src_host = src->name,
        .dst_host = dst->name,
        .mode = FERRY_MIGRATE_MODE_AUTO,
        .dry_run = TRUE,
    };

    result = ferry_migrate(inventory, &options, &local);
    return local;
}

static void
print_json(const FerryDestXml *dest, const char *shown_xml, const char *src, const char *dst,
           gboolean checked, const GError *checks)
{
    g_autoptr(FerryJson) j = ferry_json_new_event("result");
    g_autoptr(GError) check = NULL;
    gboolean movable = ferry_dest_xml_check(dest, &check);
    GVariant *plan = ferry_disk_plan_to_variant(dest->plan);
    g_autoptr(JsonNode) plan_node = json_gvariant_serialize(plan);
    g_autofree char *plan_text = json_to_string(plan_node, FALSE);
    GVariant *files = ferry_file_plan_to_variant(dest->files);
    g_autoptr(JsonNode) files_node = json_gvariant_serialize(files);
    g_autofree char *files_text = json_to_string(files_node, FALSE);

    ferry_json_string(j, "command", "xml");
    ferry_json_bool(j, "ok", movable);
    ferry_json_string(j, "source", src);
    ferry_json_string(j, "destination", dst);
    ferry_json_bool(j, "movable", movable);
    ferry_json_raw(j, "disks", plan_text);
    ferry_json_raw(j, "files", files_text);
    if (check)
        ferry_json_error(j, "error", check);
    else
        ferry_json_null(j, "error");
    if (!checked) {
        ferry_json_null(j, "checks");
    } else {
        ferry_json_begin_object(j, "checks");
        ferry_json_bool(j, "ok", checks == NULL);
        if (checks)
            ferry_json_error(j, "error", checks);
        else
            ferry_json_null(j, "error");
        ferry_json_end_object(j);
    }
    ferry_json_string(j, "xml", shown_xml);
    ferry_json_print(g_steal_pointer(&j));
}

/* --json and the request failed before a plan: the error as the result line. */
static void
print_json_error(const GError *error, const char *domain, const char *src, const char *dst)
{
    g_autoptr(FerryJson) j = ferry_json_new_event("result");

    ferry_json_string(j, "command", "xml");
    ferry_json_bool(j, "ok", FALSE);
    ferry_json_string(j, "domain", domain);
    ferry_json_string(j, "source", src);
    ferry_json_string(j, "destination", dst);
    ferry_json_error(j, "error", error);
    ferry_json_print(g_steal_pointer(&j));
}

static gboolean xml_run(FerryCli *cli, int argc, char **argv, gboolean *json, GError **error);

gboolean
ferry_cmd_xml(FerryCli *cli, int argc, char **argv, GError **error)
{
    gboolean json = FALSE;
    g_autofree char *domain = argc >= 2 && argv[1][0] != '-' ? g_strdup(argv[1]) : NULL;

    if (xml_run(cli, argc, argv, &json, error))
        return TRUE;
    /* a plan that was printed carries its own error */
    if (json && *error && !g_error_matches(*error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_FAILED))
        print_json_error(*error, domain, NULL, NULL);
    return FALSE;
}

static gboolean
xml_run(FerryCli *cli, int argc, char **argv, gboolean *json_out, GError **error)
{
    g_autofree char *to = NULL;
    g_autofree char *from = NULL;
    g_autofree char *file = NULL;
    gboolean json = FALSE, xml_only = FALSE;
    const GOptionEntry entries[] = {
        {"to", 0, 0, G_OPTION_ARG_STRING, &to, "Destination host", "HOST"},
        {"from", 0, 0, G_OPTION_ARG_STRING, &from,
         "Source host (default: found by looking; required with --file)", "HOST"},
        {"file", 0, 0, G_OPTION_ARG_FILENAME, &file,
         "Read the domain XML from FILE instead of the source host (touches no host)", "FILE"},
        {"xml-only", 0, 0, G_OPTION_ARG_NONE, &xml_only, "Print only the destination XML", NULL},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json,
         "Print the plan and XML, or the error, as one JSON line", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("[DOMAIN] --to HOST");
    g_autoptr(GError) local = NULL;
    FerryInventory *inventory;
    g_autoptr(FerryLocation) loc = NULL;
    g_autoptr(FerryDestXml) dest = NULL;
    g_autofree char *text = NULL;
    g_autofree char *origin = NULL;
    g_autofree char *shown_xml = NULL;
    g_autoptr(GError) checks = NULL;
    const FerryHost *src, *dst;

    g_option_context_set_summary(context,
                                 "Prints the XML the destination would run and the disk plan "
                                 "(streamed, shared, skipped, refused, and why), without "
                                 "migrating; then, with the hosts reachable, every destination "
                                 "check of 'ferry migrate --dry-run'.\nWith --file, works "
                                 "offline from a saved XML (no check).");
    g_option_context_add_main_entries(context, entries, NULL);
    /* --json is known before parsing, so that a bad option is a JSON error too */
    for (int i = 1; i < argc && !g_str_equal(argv[i], "--"); i++)
        *json_out = *json_out || g_str_equal(argv[i], "--json");
    if (!ferry_cli_parse(context, &argc, &argv, entries, error))
        return FALSE;
    if (!to) {
        ferry_cli_usage_error(error, "xml needs --to HOST");
        return FALSE;
    }
    if (file ? argc != 1 : argc != 2) {
        ferry_cli_usage_error(error, file ? "xml --file takes no DOMAIN"
                                          : "xml takes exactly one DOMAIN (or --file FILE)");
        return FALSE;
    }
    if (file && !from) {
        ferry_cli_usage_error(error,
                              "xml --file needs --from HOST (whose storage layout the XML uses)");
        return FALSE;
    }
    if (json && xml_only) {
        ferry_cli_usage_error(error, "--json and --xml-only exclude each other");
        return FALSE;
    }
    if (!(inventory = ferry_cli_inventory(cli, error)))
        return FALSE;
    if (!(dst = ferry_inventory_get_host(inventory, to, error))) {
        ferry_cli_suggest_host(cli, *error, to);
        return FALSE;
    }
    if (from && !ferry_inventory_get_host(inventory, from, error)) {
        ferry_cli_suggest_host(cli, *error, from);
        return FALSE;
    }
    if (file) {
        if (!(src = ferry_inventory_get_host(inventory, from, error)))
            return FALSE;
        if (!g_file_get_contents(file, &text, NULL, &local)) {
            ferry_cli_usage_error(error, "%s", local->message);
            return FALSE;
        }
        origin = g_strdup(file);
    } else {
        if (!(loc = ferry_locate_domain(inventory, argv[1], from, error))) {
            ferry_cli_suggest_domain(cli, *error, argv[1]);
            return FALSE;
        }
        src = loc->host;
        /* The XML ferry migrate reads (with VIR_DOMAIN_XML_SECURE it would be the same: libvirt
         * includes graphics passwords in the migratable XML); they are removed when printed. */
        text = virDomainGetXMLDesc(loc->domain, VIR_DOMAIN_XML_MIGRATABLE);
        if (!text) {
            ferry_virt_set_error(error, "cannot read the XML of '%s' on '%s'", loc->name,
                                 src->name);
            return FALSE;
        }
        origin = g_strdup_printf("domain '%s' on '%s'", loc->name, src->name);
    }
    if (src == dst) {
        ferry_cli_usage_error(error, "source and destination are the same host '%s'", dst->name);
        return FALSE;
    }
    if (!(dest = ferry_dest_xml_build(text, origin, src, dst, &local))) {
        /* An XML file the operator gave that is not a domain is bad input. */
        if (file)
            ferry_cli_usage_error(error, "%s", local->message);
        else
            g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    if (dest->dest_xml && !(shown_xml = ferry_domain_xml_without_secrets(dest->dest_xml, error)))
        return FALSE;
    /* the hosts are reachable (not --file): the destination's checks, as migrate makes them */
    if (!file && ferry_dest_xml_check(dest, NULL))
        checks = run_checks(inventory, loc->name, src, dst);
    if (json) {
        print_json(dest, shown_xml, src->name, dst->name, !file && ferry_dest_xml_check(dest, NULL),
                   checks);
        /* an error from here on is in the result line already (main still prints it on
         * stderr): no second result line */
        *json_out = FALSE;
        if (!ferry_dest_xml_check(dest, error))
            return FALSE;
        if (checks) {
            g_propagate_error(error, g_steal_pointer(&checks));
            return FALSE;
        }
        return TRUE;
    } else {
        if (!xml_only) {
            g_autofree char *plan = ferry_disk_plan_format(dest->plan);
            g_autofree char *files = ferry_file_plan_format(dest->files);

            printf("Disk plan %s -> %s:\n%s\n", src->name, dst->name, plan);
            if (*files)
                printf("Files outside <disk> %s -> %s:\n%s\n", src->name, dst->name, files);
        }
        if (shown_xml)
            printf("%s%s", shown_xml, g_str_has_suffix(shown_xml, "\n") ? "" : "\n");
        if (!file && ferry_dest_xml_check(dest, NULL))
            fprintf(stderr, "Checks on %s (as ferry migrate --dry-run): %s\n",
                    dst->name, checks ? "FAILED" : "all passed");
    }
    if (!ferry_dest_xml_check(dest, error))
        return FALSE;
    if (checks) {
        g_propagate_error(error, g_steal_pointer(&checks));
        return FALSE;
    }
    return TRUE;
}
