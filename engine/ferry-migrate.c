/*
 * ferry-migrate.c: one live migration, from finding the guest to cleaning up the source.
 * Its state is in ferry-migration-private.h; the migrate phase, verify, source cleanup and
 * the Nova glue have files of their own.
 *
 * Source-side steps are named ...Src..., destination-side ...Dst..., as in libvirt.
 */
#include "engine/ferry-migrate.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <string.h>

#include "engine/ferry-dest-xml.h"
#include "engine/ferry-locate.h"
#include "engine/ferry-migrate-params.h"
#include "engine/ferry-migration-private.h"
#include "engine/ferry-precheck.h"
#include "engine/ferry-monitor.h"
#include "engine/ferry-virt-util.h"
#include "ssh/ferry-remote-copy.h"
#include "ssh/ferry-remote-disk.h"
#include "ssh/ferry-ssh-session.h"
#include "ssh/ferry-ssh-storage.h"

/* clang-format off */
G_DEFINE_QUARK(ferry-migrate-error-quark, ferry_migrate_error)
/* clang-format on */

static const char *const phase_names[] = {
    [FERRY_PHASE_PRECHECK] = "precheck", [FERRY_PHASE_PREPARE] = "prepare",
    [FERRY_PHASE_MIGRATE] = "migrate",   [FERRY_PHASE_VERIFY] = "verify",
    [FERRY_PHASE_CLEANUP] = "cleanup",   [FERRY_PHASE_DONE] = "done",
};
G_STATIC_ASSERT(G_N_ELEMENTS(phase_names) == FERRY_PHASE_LAST);

const char *
ferry_phase_to_string(FerryPhase phase)
{
    return phase < FERRY_PHASE_LAST ? phase_names[phase] : "unknown";
}

static const char *const mode_names[] = {
    [FERRY_MIGRATE_MODE_AUTO] = "auto",
    [FERRY_MIGRATE_MODE_SHARED] = "shared",
    [FERRY_MIGRATE_MODE_BLOCK] = "block",
    [FERRY_MIGRATE_MODE_BLOCK_FULL] = "block-full",
    [FERRY_MIGRATE_MODE_COLD] = "cold",
};
G_STATIC_ASSERT(G_N_ELEMENTS(mode_names) == FERRY_MIGRATE_MODE_LAST);

const char *
ferry_migrate_mode_to_string(FerryMigrateMode mode)
{
    return mode < FERRY_MIGRATE_MODE_LAST ? mode_names[mode] : "unknown";
}

gboolean
ferry_migrate_mode_from_string(const char *name, FerryMigrateMode *mode, GError **error)
{
    for (guint i = 0; i < FERRY_MIGRATE_MODE_LAST; i++) {
        if (g_str_equal(name, mode_names[i])) {
            *mode = i;
            return TRUE;
        }
    }
    g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID,
                "unknown mode '%s': use auto, shared, block, block-full or cold", name);
    return FALSE;
}

void
ferry_migrate_action_record_free(gpointer record)
{
    FerryMigrateActionRecord *r = record;

    g_free(r->reason);
    g_free(r->error);
    g_free(r);
}

void
ferry_migrate_result_free(FerryMigrateResult *result)
{
    if (!result)
        return;
    g_free(result->domain);
    g_free(result->uuid);
    g_free(result->src_host);
    g_free(result->dst_host);
    g_clear_pointer(&result->disk_plan, g_ptr_array_unref);
    g_clear_pointer(&result->xml, ferry_domain_xml_free);
    g_free(result->dest_xml);
    g_free(result->dst_state);
    g_free(result->final_reason);
    g_clear_pointer(&result->actions, g_ptr_array_unref);
    g_free(result->nova_status);
    g_free(result);
}

void
ferry_migration_emit(FerryMigration *m, FerryEventKind kind, const char *message,
                     const FerryJobSample *sample, const FerryMonitorAction *action)
{
    FerryMigrateEvent ev = {
        .kind = kind,
        .phase = m->phase,
        .message = message,
        .sample = sample,
        .action = action,
    };

    if (m->options->event_func)
        m->options->event_func(&ev, m->options->event_data);
}

void
ferry_migration_info(FerryMigration *m, const char *format, ...)
{
    g_autofree char *message = NULL;
    va_list args;

    va_start(args, format);
    message = g_strdup_vprintf(format, args);
    va_end(args);
    g_debug("%s", message);
    ferry_migration_emit(m, FERRY_EVENT_INFO, message, NULL, NULL);
}

/* The one place the phase changes; it never goes backwards. */
void
ferry_migration_set_phase(FerryMigration *m, FerryPhase phase)
{
    g_return_if_fail(phase >= m->phase);
    m->phase = phase;
    ferry_migration_emit(m, FERRY_EVENT_PHASE, ferry_phase_to_string(phase), NULL, NULL);
}

/* Removes what ferry created on the destination.  Failures are logged: the first error
 * (why we roll back) is what the caller reports. */
static void
rollback_dst(FerryMigration *m)
{
    if (m->migrated || !m->dst_created)
        return;
    for (guint i = 0; i < m->dst_created->len; i++) {
        const char *path = g_ptr_array_index(m->dst_created, i);
        g_autoptr(GError) error = NULL;

        if (!ferry_remote_file_remove(m->dst_ssh, path, &error))
            g_warning("cannot remove '%s' on '%s' after the failed migration: %s", path,
                      m->dst->name, error->message);
        else
            ferry_migration_info(m, "removed '%s' from %s (created for the failed migration)", path,
                                 m->dst->name);
    }
    g_ptr_array_set_size(m->dst_created, 0);
}

static void
migration_clear(FerryMigration *m)
{
    rollback_dst(m);
    g_clear_pointer(&m->nova_sync, ferry_nova_sync_free);
    g_clear_pointer(&m->nova, ferry_nova_config_free);
    g_clear_pointer(&m->dst_created, g_ptr_array_unref);
    g_clear_pointer(&m->images, g_hash_table_unref);
    g_clear_pointer(&m->streamed, g_ptr_array_unref);
    g_clear_pointer(&m->plan, g_ptr_array_unref);
    g_clear_pointer(&m->xml, ferry_domain_xml_free);
    g_clear_pointer(&m->src_ssh, ferry_ssh_session_free);
    g_clear_pointer(&m->dst_ssh, ferry_ssh_session_free);
    g_clear_pointer(&m->sdom, virDomainFree);
    g_clear_pointer(&m->sconn, virConnectClose);
    g_clear_pointer(&m->dconn, virConnectClose);
    g_clear_pointer(&m->dest_xml, g_free);
    g_clear_pointer(&m->domain_name, g_free);
    g_clear_pointer(&m->actions, g_ptr_array_unref);
}

/* Finds the host the domain runs on: --from if given, else every inventory host is asked. */
static gboolean
precheck_find_source(FerryMigration *m, GError **error)
{
    g_autoptr(FerryLocation) loc =
        ferry_locate_domain(m->inventory, m->options->domain, m->options->src_host, error);

    if (!loc) {
        if (*error && (*error)->domain == FERRY_LOCATE_ERROR) {
            (*error)->domain = FERRY_MIGRATE_ERROR;
            (*error)->code = (*error)->code == FERRY_LOCATE_ERROR_AMBIGUOUS
                                 ? FERRY_MIGRATE_ERROR_AMBIGUOUS
                                 : FERRY_MIGRATE_ERROR_NOT_FOUND;
        }
        return FALSE;
    }
    if (loc->unreachable)
        ferry_migration_info(m, "not reachable, not asked: %s", loc->unreachable);
    m->src = loc->host;
    m->sconn = g_steal_pointer(&loc->conn);
    m->sdom = g_steal_pointer(&loc->domain);
    m->domain_name = g_steal_pointer(&loc->name);
    ferry_migration_info(m, "domain '%s' is on %s", m->domain_name, m->src->name);
    return TRUE;
}

static gboolean
precheck(FerryMigration *m, GError **error)
{
    const FerryMigrateOptions *o = m->options;
    virDomainPtr clash;
    int state = 0, reason = 0;

    m->dst = ferry_inventory_get_host(m->inventory, o->dst_host, error);
    if (!m->dst)
        return FALSE;
    if (!precheck_find_source(m, error))
        return FALSE;
    if (m->src == m->dst) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID,
                    "domain '%s' is already on '%s': source and destination are the same host",
                    m->domain_name, m->dst->name);
        return FALSE;
    }
    if (virDomainGetState(m->sdom, &state, &reason, 0) < 0) {
        ferry_virt_set_error(error, "cannot read the state of '%s' on '%s'", m->domain_name,
                             m->src->name);
        return FALSE;
    }
    m->cold = state == VIR_DOMAIN_SHUTOFF;
    if (!m->cold && state != VIR_DOMAIN_RUNNING && state != VIR_DOMAIN_PAUSED) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID,
                    "domain '%s' on '%s' is %s: ferry moves running, paused or shut-off guests",
                    m->domain_name, m->src->name, ferry_virt_state_to_string(state));
        return FALSE;
    }
    if (m->cold && virDomainIsPersistent(m->sdom) != 1) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID,
                    "domain '%s' on '%s' is shut off and not persistent: nothing to move",
                    m->domain_name, m->src->name);
        return FALSE;
    }

    m->dconn = ferry_virt_connect(m->dst->uri, m->dst->name, error);
    if (!m->dconn)
        return FALSE;
    clash = ferry_locate_lookup(m->dconn, m->domain_name);
    if (!clash) {
        char uuid[VIR_UUID_STRING_BUFLEN];
        if (virDomainGetUUIDString(m->sdom, uuid) == 0)
            clash = virDomainLookupByUUIDString(m->dconn, uuid);
        virResetLastError();
    }
    if (clash) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                    "'%s' already has a domain '%s' (same name or UUID): refusing to create a "
                    "second copy",
                    m->dst->name, virDomainGetName(clash));
        virDomainFree(clash);
        return FALSE;
    }
    return TRUE;
}

static gboolean
plan_disks(FerryMigration *m, GError **error)
{
    g_autofree char *xml = NULL;
    g_autofree char *origin = NULL;
    g_autoptr(FerryDestXml) dest = NULL;

    /* MIGRATABLE: what the destination must be given; SECURE keeps graphics passwords. */
    xml = virDomainGetXMLDesc(m->sdom, VIR_DOMAIN_XML_MIGRATABLE | VIR_DOMAIN_XML_SECURE);
    if (!xml) {
        ferry_virt_set_error(error, "cannot read the XML of '%s' on '%s'", m->domain_name,
                             m->src->name);
        return FALSE;
    }
    origin = g_strdup_printf("domain '%s' on '%s'", m->domain_name, m->src->name);
    dest = ferry_dest_xml_build(xml, origin, m->src, m->dst, error);
    if (!dest)
        return FALSE;
    for (guint i = 0; i < dest->plan->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(dest->plan, i);
        ferry_migration_info(m, "disk %s: %s (%s)", p->disk->target,
                             ferry_disk_action_to_string(p->action), p->reason);
    }
    if (!ferry_dest_xml_check(dest, error)) {
        g_prefix_error(error, "domain '%s' cannot move to '%s': ", m->domain_name, m->dst->name);
        (*error)->domain = FERRY_MIGRATE_ERROR;
        (*error)->code = FERRY_MIGRATE_ERROR_PRECHECK;
        return FALSE;
    }
    m->plan = g_steal_pointer(&dest->plan);
    m->xml = g_steal_pointer(&dest->xml);
    m->dest_xml = g_steal_pointer(&dest->dest_xml);
    m->streamed = g_ptr_array_new();
    for (guint i = 0; i < m->plan->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(m->plan, i);
        if (p->action == FERRY_DISK_STREAM)
            g_ptr_array_add(m->streamed, (gpointer)p);
    }
    return TRUE;
}

static guint
count_streamed(GPtrArray *plan)
{
    guint n = 0;

    for (guint i = 0; i < plan->len; i++)
        n += ((const FerryDiskPlan *)g_ptr_array_index(plan, i))->action == FERRY_DISK_STREAM;
    return n;
}

static gboolean
choose_mode(FerryMigration *m, FerryMigrateMode *mode, GError **error)
{
    guint streamed = count_streamed(m->plan);

    *mode = m->options->mode;
    if (m->cold) {
        if (*mode != FERRY_MIGRATE_MODE_AUTO && *mode != FERRY_MIGRATE_MODE_COLD) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID,
                        "--mode %s needs a running guest, and '%s' is shut off (it moves cold)",
                        ferry_migrate_mode_to_string(*mode), m->domain_name);
            return FALSE;
        }
        *mode = FERRY_MIGRATE_MODE_COLD;
        ferry_migration_info(m, "mode cold: '%s' is shut off; %u local disk(s) copied by ferry",
                             m->domain_name, streamed);
        return TRUE;
    }
    switch (*mode) {
    case FERRY_MIGRATE_MODE_COLD:
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID,
                    "--mode cold needs a shut-off guest, and '%s' is running on '%s'",
                    m->domain_name, m->src->name);
        return FALSE;
    case FERRY_MIGRATE_MODE_AUTO:
        *mode = streamed ? FERRY_MIGRATE_MODE_BLOCK : FERRY_MIGRATE_MODE_SHARED;
        ferry_migration_info(m, "mode %s: %u local disk(s) to stream",
                             ferry_migrate_mode_to_string(*mode), streamed);
        return TRUE;
    case FERRY_MIGRATE_MODE_SHARED:
        if (streamed) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID,
                        "--mode shared, but %u disk(s) of '%s' are local to '%s' and would not "
                        "be copied (use --mode block, or list their directory in shared_dirs "
                        "of both hosts)",
                        streamed, m->domain_name, m->src->name);
            return FALSE;
        }
        return TRUE;
    case FERRY_MIGRATE_MODE_BLOCK:
    case FERRY_MIGRATE_MODE_BLOCK_FULL:
        if (!streamed) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID,
                        "--mode %s, but '%s' has no local writable disk to stream",
                        ferry_migrate_mode_to_string(*mode), m->domain_name);
            return FALSE;
        }
        return TRUE;
    case FERRY_MIGRATE_MODE_LAST:
        break;
    }
    g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID, "invalid mode");
    return FALSE;
}

static FerrySshSession *
open_ssh(FerryMigration *m, const FerryHost *host, GError **error)
{
    FerrySshConfig config;

    ferry_inventory_ssh_config(m->inventory, host, &config);
    return ferry_ssh_session_open(&config, error);
}

/* The destination path of @p's backing file, made sure to exist there: mapped to the
 * destination's layout, and when missing, copied from the source (host to host over the checked
 * trust, else relayed through ferry), checksum-verified, and removed again on rollback.
 * *@out_backing is NULL when the image has no backing file. */
static gboolean
dst_backing_ready(FerryMigration *m, const FerryDiskPlan *p, const FerryImageInfo *image,
                  const FerryXmlMapping *map, char **out_backing, GError **error)
{
    g_autofree char *backing = NULL;
    g_autofree char *src_dir = NULL;
    g_autofree char *src_backing = NULL;
    g_autoptr(FerryImageInfo) backing_info = NULL;
    FerrySshPeer peer;
    FerryCopyResult copied = {0};
    gboolean exists = FALSE;

    *out_backing = NULL;
    if (!image->backing_file)
        return TRUE;
    if (p->dest_backing && p->dest_backing->len)
        backing = g_strdup(g_ptr_array_index(p->dest_backing, 0));
    else if (ferry_xml_mapping_is_shared(map, image->backing_file) ||
             !(backing = ferry_xml_mapping_map_path(map, image->backing_file, NULL)))
        backing = g_strdup(image->backing_file);
    if (!ferry_remote_path_exists(m->dst_ssh, backing, &exists, error))
        return FALSE;
    if (exists) {
        *out_backing = g_steal_pointer(&backing);
        return TRUE;
    }

    src_dir = g_path_get_dirname(p->disk->source);
    src_backing = g_path_is_absolute(image->backing_file)
                      ? g_strdup(image->backing_file)
                      : g_build_filename(src_dir, image->backing_file, NULL);
    if (!(backing_info = ferry_remote_image_info(m->src_ssh, src_backing, error)))
        return FALSE;
    if (backing_info->backing_file) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                    "backing file '%s' of disk %s is missing on '%s' and has a backing file of "
                    "its own: copy the chain there first, or use --mode block-full",
                    backing, p->disk->target, m->dst->name);
        return FALSE;
    }
    ferry_inventory_peer(m->inventory, m->src, m->dst, &peer);
    if (!ferry_remote_copy_file(m->src_ssh, m->dst_ssh, src_backing, backing, &peer,
                                FERRY_COPY_AUTO, NULL, NULL, &copied, error)) {
        g_prefix_error(error, "backing file of disk %s: ", p->disk->target);
        return FALSE;
    }
    g_ptr_array_add(m->dst_created, g_strdup(backing));
    ferry_migration_info(
        m, "copied backing file '%s' (%" G_GUINT64_FORMAT " bytes, %s, sha256 %s) to %s", backing,
        copied.bytes, ferry_copy_mode_to_string(copied.mode_used), copied.sha256, m->dst->name);
    *out_backing = g_steal_pointer(&backing);
    return TRUE;
}

static gboolean
open_sessions(FerryMigration *m, GError **error)
{
    if (!m->src_ssh && !(m->src_ssh = open_ssh(m, m->src, error)))
        return FALSE;
    if (!m->dst_ssh && !(m->dst_ssh = open_ssh(m, m->dst, error)))
        return FALSE;
    if (!m->dst_created)
        m->dst_created = g_ptr_array_new_with_free_func(g_free);
    return TRUE;
}

/* The source image of a streamed disk, and the destination path checked to be free. */
static const FerryImageInfo *
stream_disk_info(FerryMigration *m, const FerryDiskPlan *p, GError **error)
{
    g_autoptr(FerryImageInfo) image = NULL;
    const FerryImageInfo *known;
    gboolean exists = FALSE;

    /* asked once per disk: the precheck and the preparation both need it */
    if (!m->images)
        m->images = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                          (GDestroyNotify)ferry_image_info_free);
    if ((known = g_hash_table_lookup(m->images, p->disk->source)) != NULL)
        return known;
    image = ferry_remote_image_info(m->src_ssh, p->disk->source, error);
    if (!image) {
        g_prefix_error(error, "disk %s of '%s': ", p->disk->target, m->domain_name);
        return NULL;
    }
    if (!ferry_remote_path_exists(m->dst_ssh, p->dest_source, &exists, error))
        return NULL;
    if (exists) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                    "'%s' already exists on '%s' (disk %s of '%s'): refusing to overwrite it; "
                    "remove it if it is stale",
                    p->dest_source, m->dst->name, p->disk->target, m->domain_name);
        return NULL;
    }
    known = image;
    g_hash_table_insert(m->images, p->disk->source, g_steal_pointer(&image));
    return known;
}

/*
 * libvirt refuses NON_SHARED_INC unless the destination images exist ("pre-creation of storage
 * targets for incremental storage migration is not supported"), so ferry creates each one: same
 * format and virtual size, and for an incremental copy the same backing file, which must be on
 * the destination (it is copied there when missing).
 */
static gboolean
prepare_dst_disks(FerryMigration *m, FerryMigrateMode mode, GError **error)
{
    gboolean full = mode == FERRY_MIGRATE_MODE_BLOCK_FULL;
    g_autoptr(FerryXmlMapping) map = ferry_inventory_mapping(m->src, m->dst);

    if (!open_sessions(m, error))
        return FALSE;
    for (guint i = 0; i < m->plan->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(m->plan, i);
        const FerryImageInfo *image;
        g_autofree char *backing = NULL;

        if (p->action != FERRY_DISK_STREAM)
            continue;
        if (!(image = stream_disk_info(m, p, error)))
            return FALSE;
        if (!full && !dst_backing_ready(m, p, image, map, &backing, error))
            return FALSE;
        if (!ferry_remote_image_create(m->dst_ssh, p->dest_source, image->format,
                                       image->virtual_size, backing,
                                       backing ? image->backing_format : NULL, error)) {
            g_prefix_error(error, "cannot prepare disk %s on '%s': ", p->disk->target,
                           m->dst->name);
            return FALSE;
        }
        g_ptr_array_add(m->dst_created, g_strdup(p->dest_source));
        m->disk_copy_bytes += image->virtual_size;
        ferry_migration_info(m, "created %s image '%s' (%" G_GUINT64_FORMAT " bytes%s%s) on %s",
                             image->format, p->dest_source, image->virtual_size,
                             backing ? ", backing " : "", backing ? backing : "", m->dst->name);
    }
    return TRUE;
}

static void
on_copy_progress(guint64 done, guint64 total, gpointer user_data)
{
    FerryMigration *m = user_data;
    FerryJobSample sample = {
        .disk_total = total, .disk_processed = done, .disk_remaining = total - MIN(done, total)};

    ferry_migration_emit(m, FERRY_EVENT_SAMPLE, NULL, &sample, NULL);
}

/*
 * Cold migration: the guest is shut off, so ferry copies each local disk itself (the top image;
 * a backing file is made sure to exist on the destination), points a copied overlay at the
 * destination's backing path, and libvirt then moves only the definition (VIR_MIGRATE_OFFLINE).
 */
static gboolean
copy_cold_disks(FerryMigration *m, FerryMigrateResult *result, GError **error)
{
    g_autoptr(FerryXmlMapping) map = ferry_inventory_mapping(m->src, m->dst);
    FerrySshPeer peer;

    if (!open_sessions(m, error))
        return FALSE;
    ferry_inventory_peer(m->inventory, m->src, m->dst, &peer);
    for (guint i = 0; i < m->plan->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(m->plan, i);
        const FerryImageInfo *image;
        g_autofree char *backing = NULL;
        FerryCopyResult copied = {0};

        if (p->action != FERRY_DISK_STREAM)
            continue;
        if (!(image = stream_disk_info(m, p, error)) ||
            !dst_backing_ready(m, p, image, map, &backing, error))
            return FALSE;
        if (!ferry_remote_copy_file(m->src_ssh, m->dst_ssh, p->disk->source, p->dest_source, &peer,
                                    FERRY_COPY_AUTO, on_copy_progress, m, &copied, error)) {
            g_prefix_error(error, "disk %s of '%s': ", p->disk->target, m->domain_name);
            return FALSE;
        }
        g_ptr_array_add(m->dst_created, g_strdup(p->dest_source));
        result->disk_bytes += copied.bytes;
        ferry_migration_info(
            m, "copied disk %s to '%s' on %s (%" G_GUINT64_FORMAT " bytes, %s, sha256 %s)",
            p->disk->target, p->dest_source, m->dst->name, copied.bytes,
            ferry_copy_mode_to_string(copied.mode_used), copied.sha256);
        if (backing && g_strcmp0(backing, image->backing_file) != 0) {
            /* the copied header still names the source's backing path: only the name moves,
             * the data is the same file (-u), so nothing is rewritten but the header */
            const char *argv[] = {"qemu-img",
                                  "rebase",
                                  "-u",
                                  "-f",
                                  image->format,
                                  "-b",
                                  backing,
                                  "-F",
                                  image->backing_format ? image->backing_format : "qcow2",
                                  p->dest_source,
                                  NULL};
            if (!ferry_ssh_session_check(m->dst_ssh, argv, NULL, error)) {
                g_prefix_error(error, "cannot point '%s' at its backing file '%s' on '%s': ",
                               p->dest_source, backing, m->dst->name);
                return FALSE;
            }
            ferry_migration_info(m, "'%s' now backs onto '%s'", p->dest_source, backing);
        }
    }
    return TRUE;
}

/* Does the source's libvirtd reach the destination's over ssh?  Then that trust must hold. */
static gboolean
peer_uri_uses_ssh(const char *uri)
{
    return strstr(uri, "+ssh://") || strstr(uri, "+libssh2://") || strstr(uri, "+libssh://");
}

/* Everything that must hold on the destination before anything moves. */
static gboolean
precheck_destination(FerryMigration *m, FerryMigrateMode mode, GError **error)
{
    const FerryDomainDef *def = ferry_domain_xml_get_def(m->xml);
    g_autoptr(FerryXmlMapping) map = ferry_inventory_mapping(m->src, m->dst);
    g_autoptr(GHashTable) need = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_autoptr(GHashTable) shared_checked = g_hash_table_new(g_str_hash, g_str_equal);
    gboolean copies = mode != FERRY_MIGRATE_MODE_SHARED && count_streamed(m->plan) > 0;
    GHashTableIter iter;
    gpointer dir, bytes;

    if (!ferry_precheck_cpu(m->dconn, def, m->dst->name, error))
        return FALSE;
    /* a cold guest needs the memory only when it is started again */
    if (!m->cold && !ferry_precheck_memory(m->dconn, def->memory_kib, m->dst->reserved_memory_mib,
                                           m->dst->name, error))
        return FALSE;
    if (!copies && !map->shared_prefixes->len && !peer_uri_uses_ssh(m->dst->peer_uri))
        return TRUE;
    if (!open_sessions(m, error))
        return FALSE;

    if (!m->options->managed && peer_uri_uses_ssh(m->dst->peer_uri)) {
        FerrySshPeer peer;
        g_autoptr(FerryTrustResult) trust = NULL;

        ferry_inventory_peer(m->inventory, m->src, m->dst, &peer);
        trust = ferry_trust_check_session(m->src_ssh, &peer);
        if (trust->klass != FERRY_TRUST_OK) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                        "'%s' reaches '%s' over ssh (%s) but that trust does not hold: %s: %s; "
                        "remedy: %s",
                        m->src->name, m->dst->name, m->dst->peer_uri,
                        ferry_trust_class_to_string(trust->klass), trust->detail,
                        ferry_trust_class_remedy(trust->klass));
            return FALSE;
        }
        ferry_migration_info(m, "ssh trust %s -> %s holds", m->src->name, m->dst->name);
    }

    for (guint i = 0; i < m->plan->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(m->plan, i);
        const FerryImageInfo *image;
        g_autofree char *parent = NULL;
        guint64 *sum;

        /* a disk the inventory calls shared must really be: else it would not be copied */
        if (p->action == FERRY_DISK_SHARED && p->disk->source &&
            g_path_is_absolute(p->disk->source)) {
            for (guint j = 0; j < map->shared_prefixes->len; j++) {
                const char *prefix = g_ptr_array_index(map->shared_prefixes, j);
                gboolean shared = FALSE;

                if (!g_str_has_prefix(p->disk->source, prefix) ||
                    g_hash_table_contains(shared_checked, prefix))
                    continue;
                if (!ferry_storage_is_shared(m->src_ssh, m->dst_ssh, prefix, &shared, error))
                    return FALSE;
                if (!shared) {
                    g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                                "disk %s ('%s') is under shared_dirs '%s', but '%s' is not the "
                                "same storage on '%s' and '%s' (a file made on one is not seen "
                                "on the other): fix shared_dirs in the inventory",
                                p->disk->target, p->disk->source, prefix, prefix, m->src->name,
                                m->dst->name);
                    return FALSE;
                }
                g_hash_table_add(shared_checked, (gpointer)prefix);
                ferry_migration_info(m, "'%s' is shared storage between %s and %s", prefix,
                                     m->src->name, m->dst->name);
            }
        }
        if (!copies || p->action != FERRY_DISK_STREAM)
            continue;
        if (!(image = stream_disk_info(m, p, error)))
            return FALSE;
        parent = g_path_get_dirname(p->dest_source);
        if (!(sum = g_hash_table_lookup(need, parent))) {
            sum = g_new0(guint64, 1);
            g_hash_table_insert(need, g_strdup(parent), sum);
        }
        /* a full copy fills the whole image; the others copy what is allocated */
        *sum += mode == FERRY_MIGRATE_MODE_BLOCK_FULL ? image->virtual_size : image->actual_size;
    }
    g_hash_table_iter_init(&iter, need);
    while (g_hash_table_iter_next(&iter, &dir, &bytes)) {
        g_autofree char *existing = g_strdup(dir);
        gboolean exists = FALSE;

        /* the image directory may not exist yet: measure the nearest existing parent */
        while (!g_str_equal(existing, "/")) {
            char *up;
            if (!ferry_remote_path_exists(m->dst_ssh, existing, &exists, error))
                return FALSE;
            if (exists)
                break;
            up = g_path_get_dirname(existing);
            g_free(existing);
            existing = up;
        }
        if (!ferry_precheck_disk_space(m->dst_ssh, existing, *(guint64 *)bytes,
                                       m->dst->reserved_disk_mib, m->dst->name, error))
            return FALSE;
    }
    return TRUE;
}

FerryMigrateResult *
ferry_migrate(FerryInventory *inventory, const FerryMigrateOptions *options, GError **error)
{
    g_autoptr(FerryMigrateResult) result = g_new0(FerryMigrateResult, 1);
    FerryMigration m = {.inventory = inventory, .options = options};
    gint64 start = g_get_monotonic_time();
    FerryMigrateMode mode;
    gboolean ok = FALSE;

    g_mutex_init(&m.stats_lock);
    if (!options->domain || !options->dst_host) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID,
                    "a domain and a destination host are required");
        return NULL;
    }
    ferry_migration_emit(&m, FERRY_EVENT_PHASE, ferry_phase_to_string(FERRY_PHASE_PRECHECK), NULL,
                         NULL);
    if (!precheck(&m, error) || !plan_disks(&m, error) || !choose_mode(&m, &mode, error))
        goto out;

    result->domain = g_strdup(m.domain_name);
    if (virDomainGetUUIDString(m.sdom, m.uuid) == 0)
        result->uuid = g_strdup(m.uuid);
    result->src_host = g_strdup(m.src->name);
    result->dst_host = g_strdup(m.dst->name);
    result->mode = mode;
    result->p2p = !options->managed;

    if (!precheck_destination(&m, mode, error) || !ferry_migration_nova_begin(&m, error))
        goto out;

    ferry_migration_set_phase(&m, FERRY_PHASE_PREPARE);
    if (mode == FERRY_MIGRATE_MODE_BLOCK || mode == FERRY_MIGRATE_MODE_BLOCK_FULL) {
        if (!prepare_dst_disks(&m, mode, error))
            goto out;
    } else if (mode == FERRY_MIGRATE_MODE_COLD && count_streamed(m.plan)) {
        if (!copy_cold_disks(&m, result, error))
            goto out;
    }

    ferry_migration_set_phase(&m, FERRY_PHASE_MIGRATE);
    m.mode = mode;
    if (mode == FERRY_MIGRATE_MODE_COLD ? !ferry_migration_perform_cold(&m, result, error)
                                        : !ferry_migration_src_perform_live(&m, result, error))
        goto out;
    m.migrated = TRUE;

    ferry_migration_set_phase(&m, FERRY_PHASE_VERIFY);
    if (!ferry_migration_verify(&m, result, error))
        goto out;

    ferry_migration_nova_finish(&m, result);

    ferry_migration_set_phase(&m, FERRY_PHASE_CLEANUP);
    ferry_migration_src_cleanup_disks(&m);

    ferry_migration_set_phase(&m, FERRY_PHASE_DONE);
    result->dest_xml = g_steal_pointer(&m.dest_xml);
    /* the plan borrows its disks from the parsed XML: both go to the result */
    result->disk_plan = g_steal_pointer(&m.plan);
    result->actions = g_steal_pointer(&m.actions);
    result->xml = g_steal_pointer(&m.xml);
    ok = TRUE;

out:
    if (!ok && !m.migrated)
        ferry_migration_nova_abort(&m);
    else if (!ok && m.nova_sync && error && *error)
        /* It moved, but not as it must have: Nova keeps its lock until someone looks. */
        g_prefix_error(error,
                       "Nova's lock on %s is kept (after checking, run 'ferry nova-sync "
                       "%s --to %s'): ",
                       m.uuid, m.uuid, m.dst->name);
    result->total_s = (g_get_monotonic_time() - start) / (double)G_USEC_PER_SEC;
    migration_clear(&m);
    g_mutex_clear(&m.stats_lock);
    return ok ? g_steal_pointer(&result) : NULL;
}
