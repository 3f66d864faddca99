/*
 * ferry-xml-files.c: the files a guest needs that are not <disk>s -- a direct-boot kernel, its
 * initrd and device tree, the UEFI firmware and the guest's NVRAM, the TPM emulator's state --
 * and what a move does with each.
 *
 * Kernel, initrd and dtb are read once at start: the destination needs the same bytes
 * (checked by checksum, copied when missing).  The NVRAM holds the guest's own UEFI variables:
 * QEMU migrates its contents as device state, but the destination opens the file, so it is
 * copied before a live move, and with a cold one.  The firmware code and an NVRAM template are
 * the destination host's own (its firmware package): they must exist there.  swtpm keeps its
 * state in a directory of the source host; only shared storage makes it follow.
 */
#include "xml/ferry-domain-xml-private.h"

#include <string.h>

static const char *const kind_names[] = {
    [FERRY_FILE_KERNEL] = "kernel",
    [FERRY_FILE_INITRD] = "initrd",
    [FERRY_FILE_DTB] = "dtb",
    [FERRY_FILE_LOADER] = "loader",
    [FERRY_FILE_NVRAM] = "nvram",
    [FERRY_FILE_NVRAM_TEMPLATE] = "nvram-template",
    [FERRY_FILE_TPM_STATE] = "tpm-state",
};
G_STATIC_ASSERT(G_N_ELEMENTS(kind_names) == FERRY_FILE_KIND_LAST);

static const char *const file_action_names[] = {
    [FERRY_FILE_ENSURE] = "ensure",
    [FERRY_FILE_COPY] = "copy",
    [FERRY_FILE_REQUIRE] = "require",
    [FERRY_FILE_SHARED] = "shared",
    [FERRY_FILE_REFUSE] = "refuse",
};
G_STATIC_ASSERT(G_N_ELEMENTS(file_action_names) == FERRY_FILE_ACTION_LAST);

/* libvirt's default swtpm state directory (qemu.conf swtpm_storage_dir). */
#define SWTPM_STATE_DIR "/var/lib/libvirt/swtpm"

const char *
ferry_file_kind_to_string(FerryFileKind kind)
{
    if ((guint)kind >= FERRY_FILE_KIND_LAST)
        return "unknown";
    return kind_names[kind];
}

const char *
ferry_file_action_to_string(FerryFileAction action)
{
    if ((guint)action >= FERRY_FILE_ACTION_LAST)
        return "unknown";
    return file_action_names[action];
}

void
ferry_file_plan_free(FerryFilePlan *plan)
{
    if (plan == NULL)
        return;
    g_free(plan->source);
    g_free(plan->dest);
    g_free(plan->reason);
    g_free(plan);
}

static FerryFilePlan *file_plan_add(GPtrArray *plans, FerryFileKind kind, const char *source,
                                    int line, FerryFileAction action, const char *fmt, ...)
    G_GNUC_PRINTF(6, 7);

static FerryFilePlan *
file_plan_add(GPtrArray *plans, FerryFileKind kind, const char *source, int line,
              FerryFileAction action, const char *fmt, ...)
{
    FerryFilePlan *plan = g_new0(FerryFilePlan, 1);
    va_list ap;

    plan->kind = kind;
    plan->source = g_strdup(source);
    plan->line = line;
    plan->action = action;
    va_start(ap, fmt);
    plan->reason = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(plans, plan);
    return plan;
}

/* The element's text, stripped; NULL when empty or not plain text. */
static char *
node_text(const xmlNode *node)
{
    g_autofree char *text = NULL;

    if (node == NULL || node->children == NULL || node->children->type != XML_TEXT_NODE ||
        node->children->next != NULL)
        return NULL;
    text = g_strstrip(g_strdup((const char *)node->children->content));
    return text[0] != '\0' ? g_steal_pointer(&text) : NULL;
}

/* Where a file lives on the destination: the same path when shared or unmapped (as the
 * rewrite leaves it), else mapped. */
static char *
file_dest(const FerryXmlMapping *map, const char *path)
{
    char *mapped;

    if (ferry_xml_mapping_is_shared(map, path))
        return g_strdup(path);
    mapped = ferry_xml_mapping_map_path(map, path, NULL);
    return mapped != NULL ? mapped : g_strdup(path);
}

/* A file the guest reads or writes, by path: refused when the path proves nothing. */
static void
plan_path(GPtrArray *plans, const FerryXmlMapping *map, FerryFileKind kind, const char *path,
          int line, FerryFileAction action, const char *why)
{
    FerryFilePlan *plan;

    if (!ferry_xml_path_is_canonical(path)) {
        file_plan_add(plans, kind, path, line, FERRY_FILE_REFUSE,
                      "%s path '%s' is not an absolute path without '.' or '..' (line %d)",
                      ferry_file_kind_to_string(kind), path, line);
        return;
    }
    if (action != FERRY_FILE_REQUIRE && ferry_xml_mapping_is_shared(map, path)) {
        plan = file_plan_add(plans, kind, path, line, FERRY_FILE_SHARED, "'%s' is on shared storage",
                             path);
    } else {
        plan = file_plan_add(plans, kind, path, line, action, "%s", why);
    }
    plan->dest = action == FERRY_FILE_REQUIRE ? g_strdup(path) : file_dest(map, path);
}

static void
plan_os(GPtrArray *plans, const FerryXmlMapping *map, xmlNode *os)
{
    static const struct {
        const char *element;
        FerryFileKind kind;
    } boot[] = {
        {"kernel", FERRY_FILE_KERNEL},
        {"initrd", FERRY_FILE_INITRD},
        {"dtb", FERRY_FILE_DTB},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(boot); i++) {
        FERRY_XML_FOREACH_CHILD(os, boot[i].element, node)
        {
            g_autofree char *path = node_text(node);

            if (path != NULL)
                plan_path(plans, map, boot[i].kind, path, ferry_xml_line(node), FERRY_FILE_ENSURE,
                          "read at start: the same bytes on the destination (sha256), copied "
                          "when missing");
        }
    }
    FERRY_XML_FOREACH_CHILD(os, "loader", node)
    {
        g_autofree char *path = node_text(node);

        if (path != NULL)
            plan_path(plans, map, FERRY_FILE_LOADER, path, ferry_xml_line(node),
                      FERRY_FILE_REQUIRE,
                      "firmware code of the destination host (its firmware package): must exist "
                      "there, never copied");
    }
    FERRY_XML_FOREACH_CHILD(os, "nvram", node)
    {
        g_autofree char *path = node_text(node);
        g_autofree char *template = ferry_xml_prop(node, "template");

        if (path == NULL) {
            xmlNode *source = ferry_xml_child(node, "source");
            path = ferry_xml_prop(source, "file");
        }
        if (template != NULL)
            plan_path(plans, map, FERRY_FILE_NVRAM_TEMPLATE, template, ferry_xml_line(node),
                      FERRY_FILE_REQUIRE,
                      "NVRAM template of the destination host: must exist there, never copied");
        if (path != NULL)
            plan_path(plans, map, FERRY_FILE_NVRAM, path, ferry_xml_line(node), FERRY_FILE_COPY,
                      "the guest's UEFI variables: copied before the move (QEMU migrates their "
                      "contents, the destination needs the file)");
    }
}

static void
plan_tpm(GPtrArray *plans, const FerryXmlMapping *map, const FerryDomainXml *xml, xmlNode *tpm)
{
    xmlNode *backend = ferry_xml_child(tpm, "backend");
    g_autofree char *type = ferry_xml_prop(backend, "type");
    g_autofree char *state = NULL;
    int line = ferry_xml_line(tpm);

    if (g_strcmp0(type, "emulator") != 0) {
        g_autofree char *dev = ferry_xml_prop(ferry_xml_child(backend, "device"), "path");

        file_plan_add(plans, FERRY_FILE_TPM_STATE, dev != NULL ? dev : "", line,
                      FERRY_FILE_REFUSE,
                      "TPM %s backend (line %d) is the source host's own TPM: it cannot move",
                      type != NULL ? type : "passthrough", line);
        return;
    }
    state = g_build_filename(SWTPM_STATE_DIR, xml->def.uuid != NULL ? xml->def.uuid : "", NULL);
    if (ferry_xml_mapping_is_shared(map, state)) {
        FerryFilePlan *plan = file_plan_add(plans, FERRY_FILE_TPM_STATE, state, line,
                                            FERRY_FILE_SHARED, "'%s' is on shared storage",
                                            state);
        plan->dest = g_strdup(state);
        return;
    }
    file_plan_add(plans, FERRY_FILE_TPM_STATE, state, line, FERRY_FILE_REFUSE,
                  "TPM emulator state '%s' (line %d) is local to the source: ferry moves it only "
                  "on shared storage (list %s in shared_dirs of both hosts), or remove the TPM",
                  state, line, SWTPM_STATE_DIR);
}

GPtrArray *
ferry_file_plan_build(const FerryDomainXml *xml, const FerryXmlMapping *map)
{
    GPtrArray *plans = g_ptr_array_new_with_free_func((GDestroyNotify)ferry_file_plan_free);
    xmlNode *root;

    g_return_val_if_fail(xml != NULL, plans);
    root = xmlDocGetRootElement(xml->doc);
    FERRY_XML_FOREACH_CHILD(root, "os", os)
    {
        plan_os(plans, map, os);
    }
    FERRY_XML_FOREACH_CHILD(root, "devices", devices)
    {
        FERRY_XML_FOREACH_CHILD(devices, "tpm", tpm)
        {
            plan_tpm(plans, map, xml, tpm);
        }
    }
    return plans;
}

char *
ferry_file_plan_format(GPtrArray *plan)
{
    GString *out = g_string_new(NULL);

    for (guint i = 0; plan != NULL && i < plan->len; i++) {
        const FerryFilePlan *p = g_ptr_array_index(plan, i);

        g_string_append_printf(out, "%s: %s", ferry_file_kind_to_string(p->kind),
                               ferry_file_action_to_string(p->action));
        if (p->line > 0)
            g_string_append_printf(out, " (line %d)", p->line);
        g_string_append_printf(out, "\n  source: %s\n", p->source);
        if (p->dest != NULL && !g_str_equal(p->dest, p->source))
            g_string_append_printf(out, "  destination: %s\n", p->dest);
        g_string_append_printf(out, "  reason: %s\n", p->reason);
    }
    return g_string_free(out, FALSE);
}

gboolean
ferry_file_plan_check(GPtrArray *plan, GError **error)
{
    for (guint i = 0; plan != NULL && i < plan->len; i++) {
        const FerryFilePlan *p = g_ptr_array_index(plan, i);

        if (p->action != FERRY_FILE_REFUSE)
            continue;
        g_set_error(error, FERRY_XML_ERROR, FERRY_XML_ERROR_REFUSED, "%s cannot be moved: %s",
                    ferry_file_kind_to_string(p->kind), p->reason);
        return FALSE;
    }
    return TRUE;
}

GVariant *
ferry_file_plan_to_variant(GPtrArray *plan)
{
    GVariantBuilder all;

    g_variant_builder_init(&all, G_VARIANT_TYPE("aa{sv}"));
    for (guint i = 0; plan != NULL && i < plan->len; i++) {
        const FerryFilePlan *p = g_ptr_array_index(plan, i);
        GVariantBuilder one;

        g_variant_builder_init(&one, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&one, "{sv}", "kind",
                              g_variant_new_string(ferry_file_kind_to_string(p->kind)));
        g_variant_builder_add(&one, "{sv}", "action",
                              g_variant_new_string(ferry_file_action_to_string(p->action)));
        g_variant_builder_add(&one, "{sv}", "source", g_variant_new_string(p->source));
        if (p->dest != NULL)
            g_variant_builder_add(&one, "{sv}", "dest", g_variant_new_string(p->dest));
        g_variant_builder_add(&one, "{sv}", "reason", g_variant_new_string(p->reason));
        g_variant_builder_add(&one, "{sv}", "line", g_variant_new_int32(p->line));
        g_variant_builder_add(&all, "a{sv}", &one);
    }
    return g_variant_builder_end(&all);
}
