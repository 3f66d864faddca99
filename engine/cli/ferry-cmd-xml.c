/*
 * ferry-cmd-xml.c: `ferry xml` -- the destination XML and disk plan, without migrating.
 */
#include <json-glib/json-glib.h>
#include <libvirt/libvirt.h>
#include <stdio.h>
#include <string.h>

#include "engine/cli/ferry-cli.h"
#include "engine/ferry-dest-xml.h"
#include "engine/ferry-inventory.h"
#include "engine/ferry-locate.h"
#include "engine/ferry-virt-util.h"

static void
print_json(const FerryDestXml *dest, const char *shown_xml)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *text = NULL;
    GVariant *plan = ferry_disk_plan_to_variant(dest->plan);
    GVariant *files = ferry_file_plan_to_variant(dest->files);

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "movable");
    json_builder_add_boolean_value(b, ferry_dest_xml_check(dest, NULL));
    json_builder_set_member_name(b, "disks");
    json_builder_add_value(b, json_gvariant_serialize(plan));
    json_builder_set_member_name(b, "files");
    json_builder_add_value(b, json_gvariant_serialize(files));
    json_builder_set_member_name(b, "error");
    if (dest->rewrite_error)
        json_builder_add_string_value(b, dest->rewrite_error->message);
    else
        json_builder_add_null_value(b);
    json_builder_set_member_name(b, "xml");
    if (shown_xml)
        json_builder_add_string_value(b, shown_xml);
    else
        json_builder_add_null_value(b);
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    text = json_generator_to_data(gen, NULL);
    printf("%s\n", text);
}

gboolean
ferry_cmd_xml(FerryCli *cli, int argc, char **argv, GError **error)
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
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the plan and XML as one JSON object",
         NULL},
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
    const FerryHost *src, *dst;

    g_option_context_set_summary(context,
                                 "Prints the XML the destination would run and the disk plan "
                                 "(streamed, shared, skipped, refused, and why), without "
                                 "migrating.\nWith --file, works offline from a saved XML.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!ferry_cli_parse(context, &argc, &argv, error))
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
    if (!(inventory = ferry_cli_inventory(cli, error)) ||
        !(dst = ferry_inventory_get_host(inventory, to, error)))
        return FALSE;
    if (file) {
        if (!(src = ferry_inventory_get_host(inventory, from, error)))
            return FALSE;
        if (!g_file_get_contents(file, &text, NULL, &local)) {
            ferry_cli_usage_error(error, "%s", local->message);
            return FALSE;
        }
        origin = g_strdup(file);
    } else {
        if (!(loc = ferry_locate_domain(inventory, argv[1], from, error)))
            return FALSE;
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
    if (json) {
        print_json(dest, shown_xml);
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
    }
    return ferry_dest_xml_check(dest, error);
}
