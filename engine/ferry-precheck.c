/*
 * ferry-precheck.c: everything checked before anything moves.  The source: where the guest is,
 * its state, its disk plan and the mode.  The destination: no domain of the same name or UUID,
 * the guest's CPU, free memory, free disk space, no file where a disk would be created, shared
 * directories really shared, and the ssh trust the source's libvirtd relies on.  Nothing here
 * changes anything on any host.
 */
#include "engine/ferry-precheck.h"

#include <libvirt/virterror.h>
#include <string.h>

#include "engine/ferry-dest-xml.h"
#include "engine/ferry-locate.h"
#include "engine/ferry-migration-private.h"
#include "engine/ferry-tls.h"
#include "engine/ferry-virt-util.h"
#include "ssh/ferry-remote-disk.h"
#include "ssh/ferry-ssh-storage.h"
#include "ssh/ferry-ssh-trust.h"

/* clang-format off */
G_DEFINE_QUARK(ferry-precheck-error-quark, ferry_precheck_error)
/* clang-format on */

char *
ferry_precheck_cpu_xml(const FerryDomainDef *def)
{
    g_autoptr(GString) xml = NULL;
    g_autofree char *model = NULL;

    if (!def->cpu_model || (def->cpu_mode && !g_str_equal(def->cpu_mode, "custom")))
        return NULL;
    xml = g_string_new("<cpu mode='custom' match='exact'>");
    model = g_markup_escape_text(def->cpu_model, -1);
    g_string_append_printf(xml, "<model fallback='forbid'>%s</model>", model);
    for (guint i = 0; def->cpu_features && i < def->cpu_features->len; i++) {
        const char *feature = g_ptr_array_index(def->cpu_features, i);
        const char *colon = strchr(feature, ':');
        g_autofree char *policy = NULL;
        g_autofree char *name = NULL;

        if (!colon)
            continue;
        policy = g_markup_escape_text(feature, colon - feature);
        name = g_markup_escape_text(colon + 1, -1);
        g_string_append_printf(xml, "<feature policy='%s' name='%s'/>", policy, name);
    }
    g_string_append(xml, "</cpu>");
    return g_string_free(g_steal_pointer(&xml), FALSE);
}

gboolean
ferry_precheck_cpu(virConnectPtr dconn, const FerryDomainDef *def, const char *dst_name,
                   GError **error)
{
    g_autofree char *xml = ferry_precheck_cpu_xml(def);
    int rc;

    if (!xml)
        return TRUE;
    /* FAIL_INCOMPATIBLE: libvirt's error then names the missing features. */
    rc = virConnectCompareHypervisorCPU(dconn, NULL, NULL, NULL, def->domain_type, xml,
                                        VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE);
    if (rc == VIR_CPU_COMPARE_IDENTICAL || rc == VIR_CPU_COMPARE_SUPERSET)
        return TRUE;
    if (rc == VIR_CPU_COMPARE_INCOMPATIBLE || virGetLastErrorCode() == VIR_ERR_CPU_INCOMPATIBLE) {
        ferry_virt_set_error_full(error, FERRY_PRECHECK_ERROR, FERRY_PRECHECK_ERROR_CPU,
                                  "'%s' cannot run guest '%s' (CPU model %s)", dst_name, def->name,
                                  def->cpu_model);
        return FALSE;
    }
    ferry_virt_set_error_full(error, FERRY_PRECHECK_ERROR, FERRY_PRECHECK_ERROR_FAILED,
                              "cannot compare the CPU of '%s' with what '%s' provides", def->name,
                              dst_name);
    return FALSE;
}

gboolean
ferry_precheck_memory(virConnectPtr dconn, guint64 memory_kib, guint64 reserve_mib,
                      const char *dst_name, GError **error)
{
    guint64 avail_bytes = 0;
    guint64 need = memory_kib * 1024 + reserve_mib * 1024 * 1024;
    g_autoptr(GError) local = NULL;

    if (!ferry_virt_node_memory(dconn, dst_name, NULL, &avail_bytes, &local)) {
        g_set_error_literal(error, FERRY_PRECHECK_ERROR, FERRY_PRECHECK_ERROR_FAILED,
                            local->message);
        return FALSE;
    }
    if (avail_bytes < need) {
        g_set_error(error, FERRY_PRECHECK_ERROR, FERRY_PRECHECK_ERROR_MEMORY,
                    "'%s' has %" G_GUINT64_FORMAT " MiB of available memory; the guest needs %"
                    G_GUINT64_FORMAT " MiB plus the host's reserve of %" G_GUINT64_FORMAT " MiB",
                    dst_name, avail_bytes >> 20, memory_kib >> 10, reserve_mib);
        return FALSE;
    }
    return TRUE;
}

gboolean
ferry_precheck_disk_space(FerrySshSession *dst, const char *dir, guint64 need_bytes,
                          guint64 reserve_mib, const char *dst_name, GError **error)
{
    guint64 free_bytes = 0;
    guint64 need = need_bytes + reserve_mib * 1024 * 1024;

    if (!ferry_ssh_sftp_statvfs(dst, dir, &free_bytes, error)) {
        g_prefix_error(error, "cannot read the free space of '%s' on '%s': ", dir, dst_name);
        return FALSE;
    }
    if (free_bytes < need) {
        g_set_error(error, FERRY_PRECHECK_ERROR, FERRY_PRECHECK_ERROR_DISK,
                    "'%s' on '%s' has %" G_GUINT64_FORMAT
                    " MiB free; the disks to copy need %" G_GUINT64_FORMAT
                    " MiB plus the host's reserve of %" G_GUINT64_FORMAT " MiB",
                    dir, dst_name, free_bytes >> 20, (need_bytes + (1 << 20) - 1) >> 20,
                    reserve_mib);
        return FALSE;
    }
    return TRUE;
}

/* ---- one migration's checks, in the order ferry_migration_precheck() makes them */

/* Finds the host the domain is on: --from if given, else every inventory host is asked. */
static gboolean
precheck_src_find(FerryMigration *m, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(FerryLocation) loc = ferry_locate_domain(m->inventory, m->options->domain,
                                                       m->options->src_host, &local);

    if (!loc) {
        /* not found where every host answered: the request is wrong; where some did not
         * answer (FERRY_LOCATE_ERROR_UNREACHABLE), it is a failure, and stays as it is */
        if (g_error_matches(local, FERRY_LOCATE_ERROR, FERRY_LOCATE_ERROR_NOT_FOUND))
            ferry_error_recode(&local, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_NOT_FOUND);
        else if (g_error_matches(local, FERRY_LOCATE_ERROR, FERRY_LOCATE_ERROR_AMBIGUOUS))
            ferry_error_recode(&local, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_AMBIGUOUS);
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    if (loc->unreachable)
        ferry_migration_info(m, "not reachable, not asked: %s", loc->unreachable);
    m->src = loc->host;
    m->sconn = g_steal_pointer(&loc->conn);
    m->sdom = g_steal_pointer(&loc->domain);
    m->domain_name = g_steal_pointer(&loc->name);
    if (virDomainGetUUIDString(m->sdom, m->uuid) < 0) {
        m->uuid[0] = '\0';
        virResetLastError();
    }
    ferry_migration_info(m, "domain '%s' is on %s", m->domain_name, m->src->name);
    return TRUE;
}

/* Running or paused: it moves live.  Shut off and persistent: it moves cold. */
static gboolean
precheck_src_state(FerryMigration *m, GError **error)
{
    int state = 0, reason = 0;

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
    return TRUE;
}

/* The destination must not hold a domain of the same name or UUID. */
static gboolean
precheck_dst_no_clash(FerryMigration *m, GError **error)
{
    virDomainPtr clash;

    m->dconn = ferry_virt_connect_full(m->dst->uri, m->dst->name, m->inventory->connect_timeout,
                                       error);
    if (!m->dconn)
        return FALSE;
    clash = ferry_locate_lookup(m->dconn, m->domain_name);
    if (!clash && m->uuid[0]) {
        clash = virDomainLookupByUUIDString(m->dconn, m->uuid);
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

/* --xml FILE: the operator's destination XML replaces ferry's: it must parse, be this guest
 * (same name and UUID), and hold every copied disk (by target), whose destination path is then
 * the one it names (under the destination's images_dir or shared_dirs: ferry creates it). */
static gboolean
precheck_operator_xml(FerryMigration *m, GError **error)
{
    const char *origin = m->options->dest_xml_origin ? m->options->dest_xml_origin : "--xml";
    g_autoptr(GError) local = NULL;
    g_autoptr(FerryDomainXml) edited = NULL;
    g_auto(GStrv) dirs = ferry_host_storage_dirs(m->dst);
    const FerryDomainDef *def;

    if (!(edited = ferry_domain_xml_parse(m->options->dest_xml, origin, &local))) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID, "--xml %s: %s",
                    origin, local->message);
        return FALSE;
    }
    def = ferry_domain_xml_get_def(edited);
    if (g_strcmp0(def->name, m->domain_name) != 0 ||
        (m->uuid[0] && (!def->uuid || g_ascii_strcasecmp(def->uuid, m->uuid) != 0))) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID,
                    "--xml %s is domain '%s' (%s), not the guest '%s' (%s): its name and UUID "
                    "must stay",
                    origin, def->name ? def->name : "(no name)",
                    def->uuid ? def->uuid : "no UUID", m->domain_name, m->uuid);
        return FALSE;
    }
    for (guint i = 0; i < m->plan->len; i++) {
        FerryDiskPlan *p = g_ptr_array_index(m->plan, i);
        const FerryDomainDisk *found = NULL;
        gboolean under = FALSE;

        if (p->action != FERRY_DISK_STREAM)
            continue;
        for (guint j = 0; def->disks && j < def->disks->len && !found; j++) {
            const FerryDomainDisk *d = g_ptr_array_index(def->disks, j);

            if (g_strcmp0(d->target, p->disk->target) == 0)
                found = d;
        }
        if (!found || !found->source || !g_path_is_absolute(found->source)) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID,
                        "--xml %s: disk %s ('%s') is copied, and the file names no path for it "
                        "(a <disk> with target dev='%s' and a file source)",
                        origin, p->disk->target, p->disk->source, p->disk->target);
            return FALSE;
        }
        for (guint k = 0; dirs[k]; k++) {
            g_autofree char *prefix = g_str_has_suffix(dirs[k], "/")
                                          ? g_strdup(dirs[k])
                                          : g_strconcat(dirs[k], "/", NULL);
            under |= g_str_has_prefix(found->source, prefix) && !strstr(found->source, "/../");
        }
        if (!under) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID,
                        "--xml %s: disk %s goes to '%s', outside the images_dir and shared_dirs "
                        "of '%s'",
                        origin, p->disk->target, found->source, m->dst->name);
            return FALSE;
        }
        if (g_strcmp0(p->dest_source, found->source) != 0) {
            ferry_migration_info(m, "disk %s: to '%s' (--xml %s)", p->disk->target,
                                 found->source, origin);
            g_free(p->dest_source);
            p->dest_source = g_strdup(found->source);
        }
    }
    g_free(m->dest_xml);
    m->dest_xml = g_strdup(m->options->dest_xml);
    ferry_migration_info(m, "destination XML: %s (name and UUID checked)", origin);
    return TRUE;
}

/* The source's XML, each disk's plan (any refused disk stops the move) and the XML the
 * destination will run: the same code as `ferry xml`. */
static gboolean
precheck_plan(FerryMigration *m, GError **error)
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
    {
        g_autoptr(GError) local = NULL;

        if (!ferry_dest_xml_check(dest, &local)) {
            ferry_error_recode(&local, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK);
            g_propagate_prefixed_error(error, g_steal_pointer(&local),
                                       "domain '%s' cannot move to '%s': ", m->domain_name,
                                       m->dst->name);
            return FALSE;
        }
    }
    m->plan = g_steal_pointer(&dest->plan);
    m->xml = g_steal_pointer(&dest->xml);
    m->dest_xml = g_steal_pointer(&dest->dest_xml);
    m->files = g_steal_pointer(&dest->files);
    if (m->options->dest_xml && !precheck_operator_xml(m, error))
        return FALSE;
    /* the one list of the disks that are copied: every later phase walks this */
    m->streamed = g_ptr_array_new();
    for (guint i = 0; i < m->plan->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(m->plan, i);
        if (p->action == FERRY_DISK_STREAM)
            g_ptr_array_add(m->streamed, (gpointer)p);
    }
    return TRUE;
}

static gboolean
precheck_choose_mode(FerryMigration *m, GError **error)
{
    guint streamed = m->streamed->len;
    FerryMigrateMode mode = m->options->mode;

    if (m->cold) {
        if (mode != FERRY_MIGRATE_MODE_AUTO && mode != FERRY_MIGRATE_MODE_COLD) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID,
                        "--mode %s needs a running guest, and '%s' is shut off (it moves cold)",
                        ferry_migrate_mode_to_string(mode), m->domain_name);
            return FALSE;
        }
        m->mode = FERRY_MIGRATE_MODE_COLD;
        ferry_migration_info(m, "mode cold: '%s' is shut off; %u local disk(s) copied by ferry",
                             m->domain_name, streamed);
        return TRUE;
    }
    switch (mode) {
    case FERRY_MIGRATE_MODE_COLD:
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID,
                    "--mode cold needs a shut-off guest, and '%s' is running on '%s'",
                    m->domain_name, m->src->name);
        return FALSE;
    case FERRY_MIGRATE_MODE_AUTO:
        m->mode = streamed ? FERRY_MIGRATE_MODE_BLOCK : FERRY_MIGRATE_MODE_SHARED;
        ferry_migration_info(m, "mode %s: %u local disk(s) to stream",
                             ferry_migrate_mode_to_string(m->mode), streamed);
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
        m->mode = mode;
        return TRUE;
    case FERRY_MIGRATE_MODE_BLOCK:
    case FERRY_MIGRATE_MODE_BLOCK_FULL:
        if (!streamed) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID,
                        "--mode %s, but '%s' has no local writable disk to stream",
                        ferry_migrate_mode_to_string(mode), m->domain_name);
            return FALSE;
        }
        m->mode = mode;
        return TRUE;
    case FERRY_MIGRATE_MODE_LAST:
        break;
    }
    g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID, "invalid mode %d",
                (int)mode);
    return FALSE;
}

/* Does the source's libvirtd reach the destination's over ssh?  Then that trust must hold. */
static gboolean
peer_uri_uses_ssh(const char *uri)
{
    return strstr(uri, "+ssh://") || strstr(uri, "+libssh2://") || strstr(uri, "+libssh://");
}

/* Peer-to-peer over qemu+ssh: the source's libvirtd logs in to the destination by itself, and
 * fails mid-way if that trust does not hold. */
static gboolean
precheck_dst_peer_trust(FerryMigration *m, GError **error)
{
    FerrySshPeer peer;
    g_autoptr(FerryTrustResult) trust = NULL;

    if (m->options->managed || !peer_uri_uses_ssh(m->dst->peer_uri))
        return TRUE;
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
    return TRUE;
}

/* A disk the inventory calls shared must really be: else it would not be copied. */
static gboolean
precheck_dst_shared_dirs(FerryMigration *m, const FerryXmlMapping *map, GError **error)
{
    g_autoptr(GHashTable) checked = g_hash_table_new(g_str_hash, g_str_equal);

    for (guint i = 0; i < m->plan->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(m->plan, i);

        if (p->action != FERRY_DISK_SHARED || !p->disk->source ||
            !g_path_is_absolute(p->disk->source))
            continue;
        for (guint j = 0; j < map->shared_prefixes->len; j++) {
            const char *prefix = g_ptr_array_index(map->shared_prefixes, j);
            gboolean shared = FALSE;

            if (!g_str_has_prefix(p->disk->source, prefix) ||
                g_hash_table_contains(checked, prefix))
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
            g_hash_table_add(checked, (gpointer)prefix);
            ferry_migration_info(m, "'%s' is shared storage between %s and %s", prefix,
                                 m->src->name, m->dst->name);
        }
    }
    return TRUE;
}

/* Each copied disk's destination path is free, and its filesystem has the space. */
static gboolean
precheck_dst_disks(FerryMigration *m, GError **error)
{
    g_autoptr(GHashTable) need = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    GHashTableIter iter;
    gpointer dir, bytes;

    for (guint i = 0; i < m->streamed->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(m->streamed, i);
        const FerryStreamDisk *sd;
        const FerryImageInfo *image;
        g_autofree char *parent = NULL;
        guint64 *sum;

        if (!(sd = ferry_migration_stream_disk(m, p, error)))
            return FALSE;
        /* a device is as large as it is, a volume group and a pool were measured */
        if (sd->prep != FERRY_DST_PREP_IMAGE)
            continue;
        image = sd->image;
        parent = g_path_get_dirname(p->dest_source);
        if (!(sum = g_hash_table_lookup(need, parent))) {
            sum = g_new0(guint64, 1);
            g_hash_table_insert(need, g_strdup(parent), sum);
        }
        /* a full copy fills the whole image; the others copy what is allocated */
        *sum += m->mode == FERRY_MIGRATE_MODE_BLOCK_FULL ? image->virtual_size
                                                         : image->actual_size;
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

/* The port asked for the migration network's check: the first of libvirt's migration ports
 * (qemu.conf migration_port_min).  Nothing listens there between migrations: an answer, even a
 * refusal, is what proves the address reachable. */
#define MIGRATION_NET_PROBE_PORT "49152"
#define MIGRATION_NET_PROBE_TIMEOUT "5"

/* With a migration network, the destination's migration_address must be reachable from the
 * source, whose QEMU sends the memory and disks there. */
static gboolean
precheck_dst_migration_network(FerryMigration *m, GError **error)
{
    const char *addr = m->dst->migration_address;
    const char *const argv[] = {"timeout", MIGRATION_NET_PROBE_TIMEOUT, "bash", "-c",
                                "exec 3<>\"/dev/tcp/$1/$2\"", "ferry-reach", addr,
                                MIGRATION_NET_PROBE_PORT, NULL};
    g_autofree char *err = NULL;
    int status = 0;

    if (!addr || m->cold)
        return TRUE;
    if (!ferry_migration_open_ssh(m, error) ||
        !ferry_ssh_session_run(m->src_ssh, argv, NULL, &err, &status, error))
        return FALSE;
    /* bash says it twice ("connect: ...", then the path): the first line is enough */
    if (strchr(err, '\n'))
        *strchr(err, '\n') = '\0';
    g_strstrip(err);
    if (status != 0 && !strstr(err, "refused")) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                    "migration_address '%s' of '%s' is not reachable from '%s' (TCP to port %s: "
                    "%s): fix [host %s] migration_address in the inventory, or the migration "
                    "network",
                    addr, m->dst->name, m->src->name, MIGRATION_NET_PROBE_PORT,
                    status == 124 ? "no answer within " MIGRATION_NET_PROBE_TIMEOUT " s"
                    : *err        ? err
                                  : "failed",
                    m->dst->name);
        return FALSE;
    }
    ferry_migration_info(m, "migration network: %s reaches %s at %s; memory and disks go there",
                         m->src->name, m->dst->name, addr);
    return TRUE;
}

/* The logical name whose value in @map is @value, or NULL. */
static const char *
map_key_of(GHashTable *map, const char *value)
{
    GHashTableIter iter;
    gpointer key, val;

    if (!map)
        return NULL;
    g_hash_table_iter_init(&iter, map);
    while (g_hash_table_iter_next(&iter, &key, &val))
        if (g_strcmp0(val, value) == 0)
            return key;
    return NULL;
}

static gboolean
map_has_value(GHashTable *map, const char *value)
{
    return map_key_of(map, value) != NULL;
}

/* Every bridge and libvirt network the destination XML names exists there.  A bridge or network
 * the source's inventory maps but the destination's does not (the rewrite kept the source's
 * name) is an error naming the key to add. */
static gboolean
precheck_dst_nets(FerryMigration *m, GError **error)
{
    g_autoptr(FerryDomainXml) dxml = NULL;
    const FerryDomainDef *def;

    if (!(dxml = ferry_domain_xml_parse(m->dest_xml, "the destination XML", error)))
        return FALSE;
    def = ferry_domain_xml_get_def(dxml);
    for (guint i = 0; def->interfaces && i < def->interfaces->len; i++) {
        const FerryDomainInterface *nic = g_ptr_array_index(def->interfaces, i);
        gboolean bridge = g_strcmp0(nic->type, "bridge") == 0;
        GHashTable *src_map = bridge ? m->src->bridges : m->src->networks;
        GHashTable *dst_map = bridge ? m->dst->bridges : m->dst->networks;
        const char *what = bridge ? "bridge" : "network";
        const char *key = bridge ? "bridges" : "networks";
        const char *logical;

        if ((!bridge && g_strcmp0(nic->type, "network") != 0) || !nic->source)
            continue;
        logical = map_key_of(src_map, nic->source);
        if (logical && !map_has_value(dst_map, nic->source) &&
            !(dst_map && g_hash_table_contains(dst_map, logical))) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                        "interface %s of '%s' is on %s '%s' ('%s' in [host %s] %s), and "
                        "[host %s] has no mapping for '%s': add '%s = %s=%s' to [host %s] in "
                        "'%s'",
                        nic->mac ? nic->mac : "(no MAC)", m->domain_name, what, nic->source,
                        logical, m->src->name, key, m->dst->name, logical, key, logical,
                        bridge ? "BRIDGE" : "NETWORK", m->dst->name, m->inventory->path);
            return FALSE;
        }
        if (bridge) {
            g_autofree char *path = NULL;
            gboolean exists = FALSE;

            if (strchr(nic->source, '/') || g_str_equal(nic->source, "..")) {
                g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                            "interface %s of '%s': '%s' is not a bridge name",
                            nic->mac ? nic->mac : "(no MAC)", m->domain_name, nic->source);
                return FALSE;
            }
            path = g_strdup_printf("/sys/class/net/%s/bridge", nic->source);
            if (!ferry_migration_open_ssh(m, error) ||
                !ferry_remote_path_exists(m->dst_ssh, path, &exists, error))
                return FALSE;
            if (!exists) {
                g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                            "interface %s of '%s' needs bridge '%s', and '%s' has no such "
                            "bridge: create it there, or map it (bridges = NAME=BRIDGE in [host "
                            "%s] of '%s')",
                            nic->mac ? nic->mac : "(no MAC)", m->domain_name, nic->source,
                            m->dst->name, m->dst->name, m->inventory->path);
                return FALSE;
            }
        } else {
            g_autoptr(virNetwork) net = virNetworkLookupByName(m->dconn, nic->source);

            virResetLastError();
            if (!net || virNetworkIsActive(net) != 1) {
                virResetLastError();
                g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                            "interface %s of '%s' needs libvirt network '%s', which '%s' %s: "
                            "%s it there, or map it (networks = NAME=NETWORK in [host %s] of "
                            "'%s')",
                            nic->mac ? nic->mac : "(no MAC)", m->domain_name, nic->source,
                            m->dst->name, net ? "has, but not active" : "does not have",
                            net ? "start" : "define", m->dst->name, m->inventory->path);
                return FALSE;
            }
        }
        ferry_migration_info(m, "interface %s: %s '%s' exists on %s",
                             nic->mac ? nic->mac : "(no MAC)", what, nic->source, m->dst->name);
    }
    return TRUE;
}

/* Everything that must hold on the destination before anything moves. */
static gboolean
precheck_dst(FerryMigration *m, GError **error)
{
    const FerryDomainDef *def = ferry_domain_xml_get_def(m->xml);
    g_autoptr(FerryXmlMapping) map = ferry_inventory_mapping(m->src, m->dst);

    if (!ferry_precheck_cpu(m->dconn, def, m->dst->name, error))
        return FALSE;
    /* a cold guest needs the memory only when it is started again */
    if (!m->cold && !ferry_precheck_memory(m->dconn, def->memory_kib,
                                           m->dst->reserved_memory_mib, m->dst->name, error))
        return FALSE;
    if (!precheck_dst_nets(m, error) || !precheck_dst_migration_network(m, error))
        return FALSE;
    /* the remaining checks ask the hosts over ssh: only when there is something to ask */
    if (!m->streamed->len && !map->shared_prefixes->len && !peer_uri_uses_ssh(m->dst->peer_uri) &&
        !m->options->tls && !(m->files && m->files->len))
        return TRUE;
    if (m->options->tls &&
        (!ferry_migration_open_ssh(m, error) ||
         !ferry_tls_check_host(m->src_ssh, m->src->name, FALSE, error) ||
         !ferry_tls_check_host(m->dst_ssh, m->dst->name, TRUE, error)))
        return FALSE;
    return ferry_migration_open_ssh(m, error) && precheck_dst_peer_trust(m, error) &&
           precheck_dst_shared_dirs(m, map, error) && precheck_dst_disks(m, error) &&
           ferry_migration_precheck_files(m, error);
}

gboolean
ferry_migration_precheck(FerryMigration *m, GError **error)
{
    m->dst = ferry_inventory_get_host(m->inventory, m->options->dst_host, error);
    if (!m->dst)
        return FALSE;
    if (!precheck_src_find(m, error))
        return FALSE;
    /* most moves need ssh to both hosts (copies, checks, verify): its handshakes go on while
     * libvirt is asked */
    if (m->src != m->dst)
        ferry_migration_open_ssh_ahead(m);
    return precheck_src_state(m, error) &&
           precheck_dst_no_clash(m, error) && precheck_plan(m, error) &&
           precheck_choose_mode(m, error) && precheck_dst(m, error);
}
