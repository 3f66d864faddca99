/*
 * ferry-rescue.c: plan and run `ferry rescue` and `ferry rescue --cleanup`.
 */
#include "engine/ferry-rescue.h"

#include <libvirt/virterror.h>
#include <string.h>

#include "engine/ferry-dest-xml.h"
#include "engine/ferry-fence.h"
#include "engine/ferry-journal.h"
#include "engine/ferry-placement.h"
#include "engine/ferry-precheck.h"
#include "engine/ferry-virt-util.h"
#include "engine/nova/ferry-nova.h"
#include "ssh/ferry-ssh-session.h"

/* clang-format off */
G_DEFINE_QUARK(ferry-rescue-error-quark, ferry_rescue_error)
/* clang-format on */

#define RESCUE_MODE "rescue"
#define NOVA_XML_MAX_BYTES (1024 * 1024)
#define UNDEFINE_FLAGS (VIR_DOMAIN_UNDEFINE_KEEP_NVRAM | VIR_DOMAIN_UNDEFINE_KEEP_TPM)

static const char *const outcome_names[] = {
    [FERRY_RESCUE_PLANNED] = "planned",
    [FERRY_RESCUE_RESCUED] = "rescued",
    [FERRY_RESCUE_NOT_RESCUABLE] = "not-rescuable",
    [FERRY_RESCUE_NO_ROOM] = "no-room",
    [FERRY_RESCUE_ELSEWHERE] = "elsewhere",
    [FERRY_RESCUE_FAILED] = "failed",
    [FERRY_RESCUE_STOPPED] = "stopped",
};
G_STATIC_ASSERT(G_N_ELEMENTS(outcome_names) == FERRY_RESCUE_LAST);

const char *
ferry_rescue_outcome_to_string(FerryRescueOutcome outcome)
{
    return outcome < FERRY_RESCUE_LAST ? outcome_names[outcome] : "unknown";
}

static const char *const cleanup_names[] = {
    [FERRY_CLEANUP_UNDEFINE] = "undefine",
    [FERRY_CLEANUP_RUNNING] = "refused-running",
    [FERRY_CLEANUP_NOT_RESCUED] = "not-rescued-by-ferry",
    [FERRY_CLEANUP_NOT_ELSEWHERE] = "not-elsewhere",
};
G_STATIC_ASSERT(G_N_ELEMENTS(cleanup_names) == FERRY_CLEANUP_LAST);

const char *
ferry_cleanup_action_to_string(FerryCleanupAction action)
{
    return action < FERRY_CLEANUP_LAST ? cleanup_names[action] : "unknown";
}

static void
rescue_guest_free(FerryRescueGuest *g)
{
    g_free(g->dst);
    g_free(g->reason);
    g_free(g->warning);
    g_free(g->error_kind);
    g_free(g->error);
    g_free(g->nova);
    g_free(g);
}

void
ferry_rescue_plan_free(FerryRescuePlan *plan)
{
    if (!plan)
        return;
    g_free(plan->host);
    if (plan->guests)
        g_ptr_array_unref(plan->guests);
    if (plan->defs)
        g_ptr_array_unref(plan->defs);
    g_free(plan);
}

void
ferry_cleanup_guest_free(FerryCleanupGuest *g)
{
    if (!g)
        return;
    g_free(g->name);
    g_free(g->uuid);
    g_free(g->state);
    g_free(g->elsewhere);
    g_free(g->rescue_op);
    g_free(g->error);
    g_free(g);
}

/* Where a guest of this UUID is on the hosts that answered (other than @except), or NULL. */
static char *
find_elsewhere(const FerrySurvey *survey, const char *uuid, const char *except)
{
    g_autoptr(GString) s = g_string_new(NULL);

    for (guint h = 0; h < survey->hosts->len; h++) {
        const FerrySurveyHost *sh = g_ptr_array_index(survey->hosts, h);

        if (!sh->reachable || g_strcmp0(sh->host->name, except) == 0)
            continue;
        for (guint i = 0; i < sh->guests->len; i++) {
            const FerrySurveyGuest *g = g_ptr_array_index(sh->guests, i);

            if (g_strcmp0(g->uuid, uuid) == 0)
                g_string_append_printf(s, "%s'%s' (%s)", s->len ? ", " : "", sh->host->name,
                                       ferry_virt_state_to_string(g->state));
        }
    }
    return s->len ? g_string_free(g_steal_pointer(&s), FALSE) : NULL;
}

/* NULL when every disk of @dest's plan is on storage the other hosts see (or empty); else why
 * not, naming the disk. */
static char *
local_disk_reason(const FerryDestXml *dest, const char *host)
{
    for (guint i = 0; i < dest->plan->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(dest->plan, i);
        const FerryDomainDisk *d = p->disk;

        if (p->action == FERRY_DISK_SHARED || !d->source)
            continue;
        if (p->action == FERRY_DISK_STREAM || p->action == FERRY_DISK_SKIP)
            return g_strdup_printf("disk %s (%s) is local to '%s': it died with the host",
                                   d->target, d->source, host);
        return g_strdup_printf("disk %s (%s): %s", d->target, d->source, p->reason);
    }
    return NULL;
}

static FerryPlaceState
place_state(const char *state)
{
    if (g_strcmp0(state, "running") == 0 || g_strcmp0(state, "blocked") == 0)
        return FERRY_PLACE_RUNNING;
    if (g_strcmp0(state, "paused") == 0 || g_strcmp0(state, "pmsuspended") == 0)
        return FERRY_PLACE_PAUSED;
    return FERRY_PLACE_SHUTOFF;
}

/* CPU refusals for placement: guest name -> (host -> reason), each candidate asked. */
static void
cpu_refusals(const FerrySurvey *survey, const char *dead, const FerryPlaceGuest *pg,
             const FerryDomainDef *def, GHashTable *refusals)
{
    g_autofree char *cpu_xml = ferry_precheck_cpu_xml(def);

    if (!cpu_xml)
        return;
    for (guint h = 0; h < survey->hosts->len; h++) {
        const FerrySurveyHost *sh = g_ptr_array_index(survey->hosts, h);
        GHashTable *per_host;
        int rc;

        if (!sh->reachable || g_strcmp0(sh->host->name, dead) == 0)
            continue;
        rc = virConnectCompareHypervisorCPU(sh->conn, NULL, NULL, NULL, def->domain_type, cpu_xml,
                                            0);
        if (rc == VIR_CPU_COMPARE_IDENTICAL || rc == VIR_CPU_COMPARE_SUPERSET)
            continue;
        if (!(per_host = g_hash_table_lookup(refusals, pg->name))) {
            per_host = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
            g_hash_table_insert(refusals, (gpointer)pg->name, per_host);
        }
        g_hash_table_insert(
            per_host, (gpointer)sh->host->name,
            rc == VIR_CPU_COMPARE_INCOMPATIBLE
                ? g_strdup("its hypervisor cannot provide the guest's CPU")
                : g_strdup_printf("cannot compare the CPU: %s", virGetLastErrorMessage()));
        virResetLastError();
    }
}

/* The shared directory of @host that holds @path, or NULL. */
static const char *
shared_dir_of(const FerryHost *host, const char *path)
{
    for (char **d = host->shared_dirs; d && *d; d++) {
        gsize n = strlen(*d);

        while (n > 1 && (*d)[n - 1] == '/')
            n--;
        if (strncmp(path, *d, n) == 0 && path[n] == '/')
            return *d;
    }
    return NULL;
}

/* A reachable host other than @dead that lists @dir among its shared_dirs. */
static const FerryHost *
host_seeing(const FerrySurvey *survey, const char *dead, const char *dir)
{
    for (guint h = 0; h < survey->hosts->len; h++) {
        const FerrySurveyHost *sh = g_ptr_array_index(survey->hosts, h);

        if (sh->reachable && g_strcmp0(sh->host->name, dead) != 0 && sh->host->shared_dirs &&
            g_strv_contains((const char *const *)sh->host->shared_dirs, dir))
            return sh->host;
    }
    return NULL;
}

/*
 * Nova keeps the XML it defined in the instance directory, INSTANCES_PATH/UUID/libvirt.xml,
 * next to the instance's disk (INSTANCES_PATH/UUID/disk).  When that directory is on shared
 * storage, another host reads it (ssh: its mtime; SFTP: its text), and a libvirt.xml newer
 * than ferry's cached definition, with the same UUID, replaces it.  Best effort: whatever
 * cannot be read leaves the cached definition (and says why in @def->origin's note).
 */
static void
refresh_from_nova(const FerryInventory *inventory, const FerrySurvey *survey, const FerryHost *dead,
                  FerryDefinition *def)
{
    g_autoptr(FerryDomainXml) xml = ferry_domain_xml_parse(def->xml, def->origin, NULL);
    const FerryDomainDef *dd = xml ? ferry_domain_xml_get_def(xml) : NULL;

    for (guint i = 0; dd && i < dd->disks->len; i++) {
        const FerryDomainDisk *disk = g_ptr_array_index(dd->disks, i);
        g_autofree char *dir = disk->source ? g_path_get_dirname(disk->source) : NULL;
        g_autofree char *base = dir ? g_path_get_basename(dir) : NULL;
        g_autofree char *path = NULL;
        g_autofree char *out = NULL;
        g_autofree char *text = NULL;
        g_autoptr(FerrySshSession) ssh = NULL;
        g_autoptr(FerryDomainXml) nova = NULL;
        g_autoptr(GError) local = NULL;
        const char *shared;
        const FerryHost *reader;
        FerrySshConfig config;
        gint64 mtime;
        int status = -1;

        if (g_strcmp0(disk->type, "file") != 0 || !disk->source ||
            g_strcmp0(base, def->uuid) != 0 || !(shared = shared_dir_of(dead, disk->source)) ||
            !(reader = host_seeing(survey, dead->name, shared)))
            continue;
        path = g_build_filename(dir, "libvirt.xml", NULL);
        {
            const char *argv[] = {"stat", "-c", "%Y", "--", path, NULL};

            ferry_inventory_ssh_config(inventory, reader, &config);
            if (!ferry_inventory_require_ssh(inventory, &local) ||
                !(ssh = ferry_ssh_session_open(&config, &local)) ||
                !ferry_ssh_session_run(ssh, argv, &out, NULL, &status, &local) || status != 0)
                return; /* none there (not a Nova instance directory), or not readable */
        }
        mtime = g_ascii_strtoll(out, NULL, 10);
        if (mtime <= def->seen_unix_s)
            return;
        if (!ferry_ssh_sftp_read_file(ssh, path, NOVA_XML_MAX_BYTES, &text, NULL, &local) ||
            !(nova = ferry_domain_xml_parse(text, path, &local)) ||
            g_strcmp0(ferry_domain_xml_get_def(nova)->uuid, def->uuid) != 0) {
            g_autofree char *note =
                g_strdup_printf("%s (Nova's newer %s on '%s' not used: %s)", def->origin, path,
                                reader->name, local ? local->message : "another UUID");

            g_free(def->origin);
            def->origin = g_steal_pointer(&note);
            return;
        }
        g_free(def->xml);
        def->xml = g_steal_pointer(&text);
        g_free(def->origin);
        def->origin = g_strdup_printf("Nova's %s, read on '%s' (newer than ferry's cache)", path,
                                      reader->name);
        def->seen_unix_s = mtime;
        return;
    }
}

FerryRescuePlan *
ferry_rescue_plan(const FerryInventory *inventory, const FerrySurvey *survey, const char *host,
                  const char *const *to, GError **error)
{
    g_autoptr(FerryRescuePlan) plan = g_new0(FerryRescuePlan, 1);
    const FerryHost *dead = ferry_inventory_get_host(inventory, host, error);
    g_autoptr(GPtrArray) place_hosts = NULL;
    g_autoptr(GPtrArray) place_guests = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) by_name = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) refusals =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)g_hash_table_unref);
    g_autoptr(FerryPlacePlan) placed = NULL;
    FerryPlaceSettings settings = {0};

    if (!dead)
        return NULL;
    plan->host = g_strdup(dead->name);
    if (!(plan->defs = ferry_definitions_load_host(inventory, dead->name, error)))
        return NULL;
    if (plan->defs->len == 0) {
        g_autofree char *state_dir = ferry_journal_state_dir(inventory);

        g_set_error(error, FERRY_RESCUE_ERROR, FERRY_RESCUE_ERROR_NO_DEFINITIONS,
                    "ferry has no recorded definition of any guest of '%s' (none under "
                    "'%s/definitions/%s'): run `ferry snapshot` from cron while hosts are up",
                    dead->name, state_dir, dead->name);
        return NULL;
    }
    for (guint i = 0; i < plan->defs->len; i++)
        refresh_from_nova(inventory, survey, dead, g_ptr_array_index(plan->defs, i));
    plan->guests = g_ptr_array_new_with_free_func((GDestroyNotify)rescue_guest_free);
    for (guint i = 0; i < plan->defs->len; i++) {
        const FerryDefinition *def = g_ptr_array_index(plan->defs, i);
        FerryRescueGuest *g = g_new0(FerryRescueGuest, 1);
        g_autofree char *origin = g_strdup_printf("cached definition of '%s' (%s) on '%s'",
                                                  def->name, def->uuid, dead->name);
        g_autoptr(FerryDestXml) dest = NULL;
        g_autoptr(GError) local = NULL;
        char *elsewhere;
        FerryPlaceGuest *pg;
        const FerryDomainDef *dd;

        g->def = def;
        g_ptr_array_add(plan->guests, g);
        if (def->autostart)
            g->warning = g_strdup_printf("autostart is on: when '%s' comes back its libvirtd "
                                         "starts its stale copy unless `ferry rescue --cleanup "
                                         "%s` ran first (or the host boots without libvirtd)",
                                         dead->name, dead->name);
        if ((elsewhere = find_elsewhere(survey, def->uuid, dead->name))) {
            g->outcome = FERRY_RESCUE_ELSEWHERE;
            g->reason = g_strdup_printf("already defined on %s", elsewhere);
            g_free(elsewhere);
            continue;
        }
        if (!(dest = ferry_dest_xml_build(def->xml, origin, dead, dead, &local))) {
            g->outcome = FERRY_RESCUE_NOT_RESCUABLE;
            g->reason = g_strdup(local->message);
            continue;
        }
        dd = ferry_domain_xml_get_def(dest->xml);
        g->memory_bytes = dd->memory_kib * 1024;
        g->vcpus = dd->vcpus_current ? dd->vcpus_current : dd->vcpus;
        if ((g->reason = local_disk_reason(dest, dead->name))) {
            g->outcome = FERRY_RESCUE_NOT_RESCUABLE;
            continue;
        }
        if (!ferry_domain_xml_check_movable(dest->xml, &local)) {
            g->outcome = FERRY_RESCUE_NOT_RESCUABLE;
            g->reason = g_strdup(local->message);
            continue;
        }
        pg = g_new0(FerryPlaceGuest, 1);
        pg->name = def->name;
        pg->uuid = def->uuid;
        pg->host = dead->name;
        pg->state = place_state(def->state);
        pg->memory_bytes = g->memory_bytes;
        pg->vcpus = g->vcpus;
        g_ptr_array_add(place_guests, pg);
        g_hash_table_insert(by_name, (gpointer)def->name, g);
        cpu_refusals(survey, dead->name, pg, dd, refusals);
    }
    place_hosts = ferry_survey_place_hosts(survey);
    settings.allowed = to;
    settings.cpu_refused = refusals;
    placed = ferry_placement_plan(place_hosts, place_guests, &settings);
    for (guint i = 0; i < placed->moves->len; i++) {
        const FerryPlaceMove *m = g_ptr_array_index(placed->moves, i);
        FerryRescueGuest *g = g_hash_table_lookup(by_name, m->guest);

        if (!g)
            continue;
        g->outcome = FERRY_RESCUE_PLANNED;
        g->dst = g_strdup(m->dst);
        g->reason = g_strdup(m->why);
    }
    for (guint i = 0; i < placed->misfits->len; i++) {
        const FerryPlaceOutcome *o = g_ptr_array_index(placed->misfits, i);
        FerryRescueGuest *g = g_hash_table_lookup(by_name, o->guest);

        if (!g)
            continue;
        g->outcome = FERRY_RESCUE_NO_ROOM;
        g->reason = g_strdup(o->reason);
    }
    return g_steal_pointer(&plan);
}

static virConnectPtr
survey_conn(const FerrySurvey *survey, const char *host)
{
    FerrySurveyHost *sh = ferry_survey_get_host(survey, host);

    return sh && sh->reachable ? sh->conn : NULL;
}

static void
guest_fail(FerryRescueGuest *g, FerryRescueOutcome outcome, const char *kind, const GError *err)
{
    g->outcome = outcome;
    g_free(g->error_kind);
    g_free(g->error);
    g->error_kind = g_strdup(kind);
    g->error = g_strdup(err->message);
}

static void
rescue_nova(const FerryInventory *inventory, const FerryRescuePlan *plan, FerryRescueGuest *g,
            int state)
{
    g_autoptr(FerryNovaConfig) nova = NULL;
    g_autoptr(FerryNovaResult) r = NULL;
    g_autoptr(GError) local = NULL;
    g_autofree char *src = NULL;
    g_autofree char *dst = NULL;

    nova = ferry_nova_config_load(inventory->keyfile, inventory->path, &local);
    if (!nova) {
        if (local)
            g->nova = g_strdup_printf("NOT SYNCED: %s", local->message);
        return;
    }
    src = ferry_nova_config_service_host(inventory->keyfile, plan->host);
    dst = ferry_nova_config_service_host(inventory->keyfile, g->dst);
    r = ferry_nova_sync_oneshot(nova, g->def->uuid, src, dst,
                                ferry_nova_power_state_from_libvirt(state), "evacuation", 0,
                                &local);
    if (r)
        g->nova = g_strdup_printf("synced as an evacuation (undo with: ferry nova-sync --undo %s)",
                                  r->journal_id ? r->journal_id : "-");
    else
        g->nova = g_strdup_printf("%s: %s",
                                  g_error_matches(local, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_QUEUED)
                                      ? "queued (run: ferry nova-sync --pending)"
                                      : "NOT SYNCED",
                                  local->message);
}

gboolean
ferry_rescue_guest(const FerryInventory *inventory, const FerrySurvey *survey,
                   const FerryRescuePlan *plan, FerryRescueGuest *g, GCancellable *cancellable,
                   GError **error)
{
    const FerryDefinition *def = g->def;
    const FerryHost *dead = ferry_inventory_get_host(inventory, plan->host, error);
    const FerryHost *dst = dead ? ferry_inventory_get_host(inventory, g->dst, error) : NULL;
    g_autofree char *origin =
        g_strdup_printf("cached definition of '%s' (%s) on '%s'", def->name, def->uuid, plan->host);
    g_autoptr(FerryDestXml) dest = NULL;
    g_autoptr(FerryJournal) journal = NULL;
    g_autoptr(virDomain) dom = NULL;
    g_autoptr(GError) local = NULL;
    g_autofree char *why_local = NULL;
    gint64 t0 = g_get_monotonic_time();
    virConnectPtr conn;
    gboolean start = place_state(def->state) != FERRY_PLACE_SHUTOFF;
    gboolean paused = place_state(def->state) == FERRY_PLACE_PAUSED;
    int state = 0, reason = 0;

    if (!dst)
        return FALSE;
    if (!(conn = survey_conn(survey, dst->name))) {
        g_set_error(&local, FERRY_RESCUE_ERROR, FERRY_RESCUE_ERROR_FAILED,
                    "'%s' did not answer the survey", dst->name);
        goto fail_define;
    }
    if (g_cancellable_set_error_if_cancelled(cancellable, &local)) {
        guest_fail(g, FERRY_RESCUE_STOPPED, "cancelled", local);
        goto out;
    }
    /* the host must still be silent: the last check before a second copy could run */
    if (!ferry_fence_still_dead(dead, &local)) {
        g_prefix_error(&local, "not rescued: ");
        guest_fail(g, FERRY_RESCUE_STOPPED, "host-alive", local);
        goto out;
    }
    if (!(dest = ferry_dest_xml_build(def->xml, origin, dead, dst, &local)) ||
        !ferry_dest_xml_check(dest, &local))
        goto fail_define;
    if ((why_local = local_disk_reason(dest, dead->name))) {
        g_set_error(&local, FERRY_RESCUE_ERROR, FERRY_RESCUE_ERROR_FAILED, "%s", why_local);
        goto fail_define;
    }
    if ((dom = virDomainLookupByUUIDString(conn, def->uuid)) ||
        (virResetLastError(), dom = virDomainLookupByName(conn, def->name))) {
        g_set_error(&local, FERRY_RESCUE_ERROR, FERRY_RESCUE_ERROR_FAILED,
                    "'%s' already has a domain named '%s' or with UUID %s", dst->name, def->name,
                    def->uuid);
        goto fail_define;
    }
    virResetLastError();
    if (!(journal = ferry_journal_begin(inventory, def->name, def->uuid, plan->host, dst->name,
                                        RESCUE_MODE, def->state, &local))) {
        guest_fail(g, FERRY_RESCUE_FAILED, "journal", local);
        goto out;
    }
    if (!(dom = virDomainDefineXML(conn, dest->dest_xml))) {
        ferry_virt_set_error(&local, "cannot define '%s' on '%s'", def->name, dst->name);
        ferry_journal_end(journal, "failed");
        goto fail_define;
    }
    ferry_journal_step(journal, "defined", "host", dst->name, NULL);
    if (def->autostart && virDomainSetAutostart(dom, 1) < 0)
        virResetLastError(); /* the guest is defined; autostart is not worth undoing that */
    if (start && virDomainCreateWithFlags(dom, paused ? VIR_DOMAIN_START_PAUSED : 0) < 0) {
        ferry_virt_set_error(&local, "cannot start '%s' on '%s'", def->name, dst->name);
        /* not started: nothing of it is left on the destination, it can be tried again */
        if (virDomainUndefineFlags(dom, UNDEFINE_FLAGS) < 0) {
            g_prefix_error(&local, "(and its new definition there could not be removed: %s) ",
                           virGetLastErrorMessage());
            virResetLastError();
        } else {
            ferry_journal_step(journal, "undefined", "host", dst->name, NULL);
        }
        ferry_journal_end(journal, "failed");
        guest_fail(g, FERRY_RESCUE_FAILED, "start", local);
        goto out;
    }
    if (start)
        ferry_journal_step(journal, "started", "host", dst->name, NULL);
    if (virDomainGetState(dom, &state, &reason, 0) < 0)
        virResetLastError();
    g->outcome = FERRY_RESCUE_RESCUED;
    rescue_nova(inventory, plan, g, state);
    if (g->nova)
        ferry_journal_step(journal, "nova", "status", g->nova, NULL);
    ferry_journal_end(journal, "done");
    if (!ferry_definitions_record(inventory, dst->name, dom, &local) ||
        !ferry_definitions_forget(inventory, plan->host, def->uuid, &local)) {
        g_warning("%s", local->message);
        g_clear_error(&local);
    }
    g->elapsed_s = (g_get_monotonic_time() - t0) / 1e6;
    return TRUE;

fail_define:
    guest_fail(g, FERRY_RESCUE_FAILED, "define", local);
out:
    g->elapsed_s = (g_get_monotonic_time() - t0) / 1e6;
    g_set_error(error, FERRY_RESCUE_ERROR, FERRY_RESCUE_ERROR_FAILED, "%s", g->error);
    return FALSE;
}

/* ---- cleanup */

/* UUID -> operation id of every rescue from @host that ferry completed. */
static GHashTable *
rescued_from(const FerryInventory *inventory, const char *host, GError **error)
{
    g_autoptr(GPtrArray) ops = ferry_journal_list(inventory, error);
    GHashTable *rescued;

    if (!ops)
        return NULL;
    rescued = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (guint i = 0; i < ops->len; i++) {
        const FerryJournalOp *op = g_ptr_array_index(ops, i);
        JsonObject *end = ferry_journal_op_find(op, "end");

        if (g_strcmp0(ferry_journal_op_get(op, "mode"), RESCUE_MODE) != 0 ||
            g_strcmp0(ferry_journal_op_get(op, "source"), host) != 0 || !end ||
            g_strcmp0(json_object_get_string_member_with_default(end, "result", ""), "done") != 0 ||
            !ferry_journal_op_get(op, "uuid"))
            continue;
        g_hash_table_replace(rescued, g_strdup(ferry_journal_op_get(op, "uuid")), g_strdup(op->op));
    }
    return rescued;
}

GPtrArray *
ferry_rescue_cleanup_plan(const FerryInventory *inventory, const FerrySurvey *survey,
                          const char *host, GError **error)
{
    const FerryHost *h = ferry_inventory_get_host(inventory, host, error);
    FerrySurveyHost *sh = h ? ferry_survey_get_host(survey, h->name) : NULL;
    g_autoptr(GHashTable) rescued = NULL;
    g_autoptr(GPtrArray) guests = NULL;

    if (!h)
        return NULL;
    if (!sh || !sh->reachable) {
        g_set_error(error, FERRY_RESCUE_ERROR, FERRY_RESCUE_ERROR_UNREACHABLE,
                    "cannot clean up '%s': it does not answer (%s); nothing was changed", h->name,
                    sh && sh->error ? sh->error : "not asked");
        return NULL;
    }
    if (!(rescued = rescued_from(inventory, h->name, error)))
        return NULL;
    guests = g_ptr_array_new_with_free_func((GDestroyNotify)ferry_cleanup_guest_free);
    for (guint i = 0; i < sh->guests->len; i++) {
        const FerrySurveyGuest *sg = g_ptr_array_index(sh->guests, i);
        const char *op = sg->uuid ? g_hash_table_lookup(rescued, sg->uuid) : NULL;
        g_autofree char *elsewhere = sg->uuid ? find_elsewhere(survey, sg->uuid, h->name) : NULL;
        FerryCleanupGuest *cg;

        if (!op && !elsewhere)
            continue;
        cg = g_new0(FerryCleanupGuest, 1);
        cg->name = g_strdup(sg->name);
        cg->uuid = g_strdup(sg->uuid);
        cg->state = g_strdup(ferry_virt_state_to_string(sg->state));
        cg->autostart = sg->autostart;
        cg->elsewhere = g_steal_pointer(&elsewhere);
        cg->rescue_op = g_strdup(op);
        if (!op)
            cg->action = FERRY_CLEANUP_NOT_RESCUED;
        else if (sg->active)
            cg->action = FERRY_CLEANUP_RUNNING;
        else if (!cg->elsewhere)
            cg->action = FERRY_CLEANUP_NOT_ELSEWHERE;
        else
            cg->action = FERRY_CLEANUP_UNDEFINE;
        g_ptr_array_add(guests, cg);
    }
    return g_steal_pointer(&guests);
}

gboolean
ferry_rescue_cleanup(const FerryInventory *inventory, const FerrySurvey *survey, const char *host,
                     GPtrArray *guests, GError **error)
{
    virConnectPtr conn = survey_conn(survey, host);
    g_autoptr(GString) running = g_string_new(NULL);
    g_autoptr(GString) failed = g_string_new(NULL);

    for (guint i = 0; i < guests->len; i++) {
        FerryCleanupGuest *cg = g_ptr_array_index(guests, i);
        g_autoptr(virDomain) dom = NULL;

        if (cg->action == FERRY_CLEANUP_RUNNING) {
            g_string_append_printf(running, "%s'%s'", running->len ? ", " : "", cg->name);
            continue;
        }
        if (cg->action != FERRY_CLEANUP_UNDEFINE)
            continue;
        /* asked again: it must not have been started since the survey */
        if (!conn || !(dom = virDomainLookupByUUIDString(conn, cg->uuid))) {
            cg->error =
                g_strdup_printf("cannot look it up on '%s': %s", host, virGetLastErrorMessage());
        } else if (virDomainIsActive(dom) != 0) {
            cg->action = FERRY_CLEANUP_RUNNING;
            g_string_append_printf(running, "%s'%s'", running->len ? ", " : "", cg->name);
            continue;
        } else if (virDomainUndefineFlags(dom, UNDEFINE_FLAGS) < 0) {
            cg->error =
                g_strdup_printf("cannot undefine it on '%s': %s", host, virGetLastErrorMessage());
        } else {
            g_autoptr(GError) local = NULL;

            cg->done = TRUE;
            if (!ferry_definitions_forget(inventory, host, cg->uuid, &local))
                g_warning("%s", local->message);
        }
        virResetLastError();
        if (cg->error)
            g_string_append_printf(failed, "%s'%s': %s", failed->len ? "; " : "", cg->name,
                                   cg->error);
    }
    if (running->len) {
        g_set_error(error, FERRY_RESCUE_ERROR, FERRY_RESCUE_ERROR_SPLIT_BRAIN,
                    "%s on '%s' %s running there although ferry rescued %s to another host: a "
                    "split brain (two copies on the same disks); ferry does not touch %s: stop "
                    "the copy that must not run (virsh destroy), check its disks, then run "
                    "`ferry rescue --cleanup %s` again",
                    running->str, host, strchr(running->str, ',') ? "are" : "is",
                    strchr(running->str, ',') ? "them" : "it",
                    strchr(running->str, ',') ? "them" : "it", host);
        return FALSE;
    }
    if (failed->len) {
        g_set_error(error, FERRY_RESCUE_ERROR, FERRY_RESCUE_ERROR_FAILED,
                    "cleanup of '%s' failed: %s", host, failed->str);
        return FALSE;
    }
    return TRUE;
}
