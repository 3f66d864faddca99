/*
 * ferry-definitions.c: the definitions cache (see the header for its layout).
 */
#include "engine/ferry-definitions.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libvirt/virterror.h>
#include <string.h>
#include <unistd.h>

#include "engine/ferry-journal.h"
#include "engine/ferry-virt-util.h"

/* clang-format off */
G_DEFINE_QUARK(ferry-definitions-error-quark, ferry_definitions_error)
/* clang-format on */

#define XML_FLAGS (VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_MIGRATABLE)

void
ferry_definition_free(FerryDefinition *def)
{
    if (!def)
        return;
    g_free(def->host);
    g_free(def->name);
    g_free(def->uuid);
    g_free(def->xml);
    g_free(def->state);
    g_free(def->origin);
    g_free(def);
}

static char *
host_dir(const FerryInventory *inventory, const char *host)
{
    g_autofree char *state_dir = ferry_journal_state_dir(inventory);

    return g_build_filename(state_dir, "definitions", host, NULL);
}

static gboolean
is_uuid(const char *s)
{
    return s && strlen(s) == 36 && g_uuid_string_is_valid(s);
}

static gboolean
fsync_dir(const char *dir, GError **error)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0 || fsync(fd) < 0) {
        int e = errno;

        if (fd >= 0)
            close(fd);
        g_set_error(error, FERRY_DEFINITIONS_ERROR, FERRY_DEFINITIONS_ERROR_IO,
                    "cannot sync directory '%s': %s", dir, g_strerror(e));
        return FALSE;
    }
    close(fd);
    return TRUE;
}

/* tmp + fsync + rename (g_file_set_contents_full DURABLE), mode 0600. */
static gboolean
write_atomic(const char *path, const char *data, GError **error)
{
    g_autoptr(GError) local = NULL;

    if (!g_file_set_contents_full(path, data, -1,
                                  G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                  0600, &local)) {
        g_set_error(error, FERRY_DEFINITIONS_ERROR, FERRY_DEFINITIONS_ERROR_IO,
                    "cannot write the definition '%s': %s", path, local->message);
        return FALSE;
    }
    return TRUE;
}

static gboolean
ensure_dir(const char *dir, GError **error)
{
    if (g_mkdir_with_parents(dir, 0700) < 0) {
        g_set_error(error, FERRY_DEFINITIONS_ERROR, FERRY_DEFINITIONS_ERROR_IO,
                    "cannot create the definitions directory '%s': %s", dir, g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

static char *
meta_json(const FerryDefinition *def)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc(def->seen_unix_s);
    g_autofree char *iso = g_date_time_format_iso8601(when);

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, def->name);
    json_builder_set_member_name(b, "uuid");
    json_builder_add_string_value(b, def->uuid);
    json_builder_set_member_name(b, "host");
    json_builder_add_string_value(b, def->host);
    json_builder_set_member_name(b, "state");
    json_builder_add_string_value(b, def->state);
    json_builder_set_member_name(b, "active");
    json_builder_add_boolean_value(b, def->active);
    json_builder_set_member_name(b, "autostart");
    json_builder_add_boolean_value(b, def->autostart);
    json_builder_set_member_name(b, "persistent");
    json_builder_add_boolean_value(b, def->persistent);
    json_builder_set_member_name(b, "origin");
    json_builder_add_string_value(b, def->origin);
    json_builder_set_member_name(b, "seen");
    json_builder_add_string_value(b, iso);
    json_builder_set_member_name(b, "seen_unix_s");
    json_builder_add_int_value(b, def->seen_unix_s);
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    return json_generator_to_data(gen, NULL);
}

static gboolean
write_definition(const FerryInventory *inventory, const FerryDefinition *def, GError **error)
{
    g_autofree char *dir = host_dir(inventory, def->host);
    g_autofree char *xml_path = NULL;
    g_autofree char *json_path = NULL;
    g_autofree char *meta = meta_json(def);

    if (!is_uuid(def->uuid)) {
        g_set_error(error, FERRY_DEFINITIONS_ERROR, FERRY_DEFINITIONS_ERROR_INVALID,
                    "guest '%s' on '%s' has no valid UUID", def->name, def->host);
        return FALSE;
    }
    xml_path = g_strdup_printf("%s/%s.xml", dir, def->uuid);
    json_path = g_strdup_printf("%s/%s.json", dir, def->uuid);
    return ensure_dir(dir, error) && write_atomic(xml_path, def->xml, error) &&
           write_atomic(json_path, meta, error) && fsync_dir(dir, error);
}

gboolean
ferry_definitions_record(const FerryInventory *inventory, const char *host, virDomainPtr dom,
                         GError **error)
{
    g_autoptr(FerryDefinition) def = g_new0(FerryDefinition, 1);
    char uuid[VIR_UUID_STRING_BUFLEN] = "";
    int state = 0, reason = 0, autostart = 0;
    char *xml;

    def->host = g_strdup(host);
    def->name = g_strdup(virDomainGetName(dom));
    if (virDomainGetUUIDString(dom, uuid) < 0 || virDomainGetState(dom, &state, &reason, 0) < 0 ||
        !(xml = virDomainGetXMLDesc(dom, XML_FLAGS))) {
        ferry_virt_set_error(error, "cannot read the definition of '%s' on '%s'", def->name, host);
        return FALSE;
    }
    def->xml = g_strdup(xml);
    free(xml);
    def->uuid = g_strdup(uuid);
    def->state = g_strdup(ferry_virt_state_to_string(state));
    def->active = virDomainIsActive(dom) == 1;
    def->persistent = virDomainIsPersistent(dom) == 1;
    def->autostart = virDomainGetAutostart(dom, &autostart) == 0 && autostart;
    virResetLastError();
    def->seen_unix_s = g_get_real_time() / G_USEC_PER_SEC;
    def->origin = g_strdup_printf("libvirt on '%s'", host);
    return write_definition(inventory, def, error);
}

gboolean
ferry_definitions_forget(const FerryInventory *inventory, const char *host, const char *uuid,
                         GError **error)
{
    g_autofree char *dir = host_dir(inventory, host);
    const char *const exts[] = {"json", "xml"};

    if (!is_uuid(uuid))
        return TRUE;
    for (gsize i = 0; i < G_N_ELEMENTS(exts); i++) {
        g_autofree char *path = g_strdup_printf("%s/%s.%s", dir, uuid, exts[i]);

        if (g_unlink(path) < 0 && errno != ENOENT) {
            g_set_error(error, FERRY_DEFINITIONS_ERROR, FERRY_DEFINITIONS_ERROR_IO,
                        "cannot remove the definition '%s': %s", path, g_strerror(errno));
            return FALSE;
        }
    }
    return !g_file_test(dir, G_FILE_TEST_IS_DIR) || fsync_dir(dir, error);
}

/* The UUIDs of @host's entries. */
static GPtrArray *
list_uuids(const FerryInventory *inventory, const char *host, GError **error)
{
    g_autofree char *dir = host_dir(inventory, host);
    g_autoptr(GPtrArray) uuids = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GDir) d = NULL;
    g_autoptr(GError) local = NULL;
    const char *entry;

    if (!(d = g_dir_open(dir, 0, &local))) {
        if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return g_steal_pointer(&uuids);
        g_set_error(error, FERRY_DEFINITIONS_ERROR, FERRY_DEFINITIONS_ERROR_IO,
                    "cannot read the definitions of '%s': %s", host, local->message);
        return NULL;
    }
    while ((entry = g_dir_read_name(d))) {
        g_autofree char *uuid = NULL;

        if (!g_str_has_suffix(entry, ".json"))
            continue;
        uuid = g_strndup(entry, strlen(entry) - 5);
        if (is_uuid(uuid))
            g_ptr_array_add(uuids, g_steal_pointer(&uuid));
    }
    return g_steal_pointer(&uuids);
}

gboolean
ferry_definitions_record_survey(const FerryInventory *inventory, const FerrySurvey *survey,
                                guint *recorded, GError **error)
{
    guint n = 0;

    for (guint h = 0; h < survey->hosts->len; h++) {
        const FerrySurveyHost *sh = g_ptr_array_index(survey->hosts, h);
        g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
        g_autoptr(GPtrArray) old = NULL;

        if (!sh->reachable)
            continue;
        for (guint i = 0; i < sh->guests->len; i++) {
            const FerrySurveyGuest *g = g_ptr_array_index(sh->guests, i);
            g_autoptr(virDomain) dom = NULL;

            if (!g->uuid)
                continue;
            if (!(dom = virDomainLookupByUUIDString(sh->conn, g->uuid))) {
                /* gone since the survey: not this host's any more */
                virResetLastError();
                continue;
            }
            if (!ferry_definitions_record(inventory, sh->host->name, dom, error))
                return FALSE;
            g_hash_table_add(seen, g->uuid);
            n++;
        }
        if (!(old = list_uuids(inventory, sh->host->name, error)))
            return FALSE;
        for (guint i = 0; i < old->len; i++) {
            const char *uuid = g_ptr_array_index(old, i);

            if (!g_hash_table_contains(seen, uuid) &&
                !ferry_definitions_forget(inventory, sh->host->name, uuid, error))
                return FALSE;
        }
    }
    if (recorded)
        *recorded = n;
    return TRUE;
}

gboolean
ferry_definitions_record_move(const FerryInventory *inventory, const char *uuid, const char *src,
                              const char *dst, GError **error)
{
    const FerryHost *host = ferry_inventory_get_host(inventory, dst, error);
    g_autoptr(virConnect) conn = NULL;
    g_autoptr(virDomain) dom = NULL;

    if (!host)
        return FALSE;
    if (!(conn = ferry_virt_connect_full(host->uri, host->name, inventory->connect_timeout, error)))
        return FALSE;
    if (!(dom = virDomainLookupByUUIDString(conn, uuid))) {
        ferry_virt_set_error(error, "cannot find guest %s on '%s'", uuid, dst);
        return FALSE;
    }
    return ferry_definitions_record(inventory, dst, dom, error) &&
           (!src || ferry_definitions_forget(inventory, src, uuid, error));
}

static FerryDefinition *
load_one(const char *dir, const char *host, const char *uuid, GError **error)
{
    g_autofree char *json_path = g_strdup_printf("%s/%s.json", dir, uuid);
    g_autofree char *xml_path = g_strdup_printf("%s/%s.xml", dir, uuid);
    g_autoptr(FerryDefinition) def = g_new0(FerryDefinition, 1);
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) local = NULL;
    JsonNode *root;
    JsonObject *o;

    if (!json_parser_load_from_file(parser, json_path, &local) ||
        !g_file_get_contents(xml_path, &def->xml, NULL, &local)) {
        g_set_error(error, FERRY_DEFINITIONS_ERROR, FERRY_DEFINITIONS_ERROR_INVALID,
                    "cannot read the cached definition of %s on '%s': %s", uuid, host,
                    local->message);
        return NULL;
    }
    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root) ||
        !json_object_has_member((o = json_node_get_object(root)), "name") ||
        !json_object_has_member(o, "seen_unix_s")) {
        g_set_error(error, FERRY_DEFINITIONS_ERROR, FERRY_DEFINITIONS_ERROR_INVALID,
                    "'%s': not a definition entry written by ferry", json_path);
        return NULL;
    }
    def->host = g_strdup(host);
    def->uuid = g_strdup(uuid);
    def->name = g_strdup(json_object_get_string_member_with_default(o, "name", ""));
    def->state = g_strdup(json_object_get_string_member_with_default(o, "state", "unknown"));
    def->origin = g_strdup(json_object_get_string_member_with_default(o, "origin", ""));
    def->active = json_object_get_boolean_member_with_default(o, "active", FALSE);
    def->autostart = json_object_get_boolean_member_with_default(o, "autostart", FALSE);
    def->persistent = json_object_get_boolean_member_with_default(o, "persistent", TRUE);
    def->seen_unix_s = json_object_get_int_member_with_default(o, "seen_unix_s", 0);
    return g_steal_pointer(&def);
}

static gint
def_by_name(gconstpointer a, gconstpointer b)
{
    return g_strcmp0((*(FerryDefinition *const *)a)->name, (*(FerryDefinition *const *)b)->name);
}

GPtrArray *
ferry_definitions_load_host(const FerryInventory *inventory, const char *host, GError **error)
{
    g_autofree char *dir = host_dir(inventory, host);
    g_autoptr(GPtrArray) uuids = list_uuids(inventory, host, error);
    g_autoptr(GPtrArray) defs = NULL;

    if (!uuids)
        return NULL;
    defs = g_ptr_array_new_with_free_func((GDestroyNotify)ferry_definition_free);
    for (guint i = 0; i < uuids->len; i++) {
        FerryDefinition *def = load_one(dir, host, g_ptr_array_index(uuids, i), error);

        if (!def)
            return NULL;
        g_ptr_array_add(defs, def);
    }
    g_ptr_array_sort(defs, def_by_name);
    return g_steal_pointer(&defs);
}
