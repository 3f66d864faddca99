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

/* The XML with the passwd attribute of every <graphics> element removed.  libvirt puts graphics
 * passwords into the migratable XML even without VIR_DOMAIN_XML_SECURE, and a saved definition
 * (/etc/libvirt/qemu/NAME.xml, `virsh dumpxml --security-info`) has them too: ferry migrates
 * with them but never prints them.  @xml is the rewriter's output, well-formed, so a start tag
 * is NAME, then (space NAME = quoted value)*, then > or />; quotes are followed, never guessed. */
static char *
without_graphics_passwords(const char *xml)
{
    static const char tag[] = "<graphics";
    GString *out = g_string_sized_new(strlen(xml));
    const char *p = xml;
    const char *found;

    while ((found = strstr(p, tag)) != NULL) {
        g_string_append_len(out, p, found + strlen(tag) - p);
        p = found + strlen(tag);
        if (!g_ascii_isspace(*p))
            continue; /* <graphics> without attributes, or another name (<graphicsX) */
        for (;;) {
            const char *start = p; /* the blanks before an attribute */
            const char *name, *value_end;
            gsize name_len;

            while (g_ascii_isspace(*p))
                p++;
            if (*p == '>' || *p == '/' || *p == '\0') {
                p = start;
                break;
            }
            name = p;
            while (*p && *p != '=' && !g_ascii_isspace(*p) && *p != '>' && *p != '/')
                p++;
            name_len = p - name;
            while (g_ascii_isspace(*p))
                p++;
            if (*p != '=') {
                p = start; /* not well-formed: leave the rest as it is */
                break;
            }
            p++;
            while (g_ascii_isspace(*p))
                p++;
            if ((*p != '\'' && *p != '"') || !(value_end = strchr(p + 1, *p))) {
                p = start;
                break;
            }
            p = value_end + 1;
            if (name_len != strlen("passwd") || strncmp(name, "passwd", name_len) != 0)
                g_string_append_len(out, start, p - start);
        }
    }
    g_string_append(out, p);
    return g_string_free(out, FALSE);
}

static void
print_json(const FerryDestXml *dest, const char *shown_xml)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *text = NULL;
    GVariant *plan = ferry_disk_plan_to_variant(dest->plan);

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "movable");
    json_builder_add_boolean_value(b, ferry_dest_xml_check(dest, NULL));
    json_builder_set_member_name(b, "disks");
    json_builder_add_value(b, json_gvariant_serialize(plan));
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

int
ferry_cmd_xml(int argc, char **argv, const FerryGlobals *globals)
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
    g_autoptr(GError) error = NULL;
    g_autoptr(FerryInventory) inventory = NULL;
    g_autoptr(FerryLocation) loc = NULL;
    g_autoptr(FerryDestXml) dest = NULL;
    g_autofree char *text = NULL;
    g_autofree char *origin = NULL;
    g_autofree char *shown_xml = NULL;
    const FerryHost *src, *dst;
    gboolean movable;

    /* --verbose's debug messages go to stderr: stdout carries only the plan and the XML */
    g_log_writer_default_set_use_stderr(TRUE);
    g_option_context_set_summary(context,
                                 "Prints the XML the destination would run and the disk plan "
                                 "(streamed, shared, skipped, refused, and why), without "
                                 "migrating.\nWith --file, works offline from a saved XML.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!ferry_cli_parse(context, &argc, &argv))
        return FERRY_EXIT_USAGE;
    if (!to) {
        ferry_cli_error("xml needs --to HOST");
        return FERRY_EXIT_USAGE;
    }
    if (file ? argc != 1 : argc != 2) {
        ferry_cli_error(file ? "xml --file takes no DOMAIN" : "xml takes exactly one DOMAIN");
        return FERRY_EXIT_USAGE;
    }
    if (file && !from) {
        ferry_cli_error("xml --file needs --from HOST (whose storage layout the XML uses)");
        return FERRY_EXIT_USAGE;
    }
    if (json && xml_only) {
        ferry_cli_error("--json and --xml-only exclude each other");
        return FERRY_EXIT_USAGE;
    }
    inventory = ferry_inventory_load(globals->config_path, &error);
    if (!inventory) {
        ferry_cli_error("%s", error->message);
        return FERRY_EXIT_USAGE;
    }
    dst = ferry_inventory_get_host(inventory, to, &error);
    if (!dst) {
        ferry_cli_error("%s", error->message);
        return FERRY_EXIT_USAGE;
    }
    if (file) {
        src = ferry_inventory_get_host(inventory, from, &error);
        if (!src || !g_file_get_contents(file, &text, NULL, &error)) {
            ferry_cli_error("%s", error->message);
            return FERRY_EXIT_USAGE;
        }
        origin = g_strdup(file);
    } else {
        loc = ferry_locate_domain(inventory, argv[1], from, &error);
        if (!loc) {
            ferry_cli_error("%s", error->message);
            return FERRY_EXIT_USAGE;
        }
        src = loc->host;
        /* The XML ferry migrate reads (with VIR_DOMAIN_XML_SECURE it would be the same: libvirt
         * includes graphics passwords in the migratable XML); they are removed when printed. */
        text = virDomainGetXMLDesc(loc->domain, VIR_DOMAIN_XML_MIGRATABLE);
        if (!text) {
            ferry_virt_set_error(&error, "cannot read the XML of '%s' on '%s'", loc->name,
                                 src->name);
            ferry_cli_error("%s", error->message);
            return FERRY_EXIT_FAILED;
        }
        origin = g_strdup_printf("domain '%s' on '%s'", loc->name, src->name);
    }
    if (src == dst) {
        ferry_cli_error("source and destination are the same host '%s'", dst->name);
        return FERRY_EXIT_USAGE;
    }
    dest = ferry_dest_xml_build(text, origin, src, dst, &error);
    if (!dest) {
        ferry_cli_error("%s", error->message);
        return FERRY_EXIT_FAILED;
    }
    movable = ferry_dest_xml_check(dest, &error);
    if (dest->dest_xml)
        shown_xml = without_graphics_passwords(dest->dest_xml);
    if (json) {
        print_json(dest, shown_xml);
    } else {
        if (!xml_only) {
            g_autofree char *plan = ferry_disk_plan_format(dest->plan);
            printf("Disk plan %s -> %s:\n%s\n", src->name, dst->name, plan);
        }
        if (shown_xml)
            printf("%s%s", shown_xml, g_str_has_suffix(shown_xml, "\n") ? "" : "\n");
    }
    if (!movable) {
        ferry_cli_error("%s", error->message);
        return FERRY_EXIT_FAILED;
    }
    return FERRY_EXIT_OK;
}
