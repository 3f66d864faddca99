/*
 * ferry-fleet-survey.c: every host asked at once, one thread each.
 */
#include "engine/ferry-fleet-survey.h"

#include <libvirt/virterror.h>
#include <string.h>

#include "engine/ferry-dest-xml.h"
#include "engine/ferry-precheck.h"
#include "engine/ferry-virt-util.h"
#include "ssh/ferry-ssh-session.h"

static const char *const disk_kind_names[] = {
    [FERRY_SURVEY_DISK_LOCAL] = "local",
    [FERRY_SURVEY_DISK_SHARED] = "shared",
    [FERRY_SURVEY_DISK_VOLUME] = "volume",
    [FERRY_SURVEY_DISK_SKIP] = "skip",
};
G_STATIC_ASSERT(G_N_ELEMENTS(disk_kind_names) == FERRY_SURVEY_DISK_LAST);

const char *
ferry_survey_disk_kind_to_string(FerrySurveyDiskKind kind)
{
    return kind < FERRY_SURVEY_DISK_LAST ? disk_kind_names[kind] : "unknown";
}

static void
survey_disk_free(FerrySurveyDisk *disk)
{
    g_free(disk->target);
    g_free(disk->source);
    g_free(disk);
}

static void
survey_guest_free(FerrySurveyGuest *guest)
{
    g_free(guest->name);
    g_free(guest->uuid);
    if (guest->disks)
        g_ptr_array_unref(guest->disks);
    g_free(guest->cpu_xml);
    g_free(guest->domain_type);
    g_free(guest->refused);
    g_free(guest->flag);
    g_free(guest);
}

static void
survey_host_free(FerrySurveyHost *host)
{
    g_free(host->error);
    g_free(host->disk_error);
    g_clear_pointer(&host->conn, virConnectClose);
    g_ptr_array_unref(host->guests);
    g_free(host);
}

void
ferry_survey_free(FerrySurvey *survey)
{
    if (!survey)
        return;
    g_ptr_array_unref(survey->hosts);
    g_free(survey);
}

/* The disks of @guest, classified by the disk plan of a move from its host to itself: the
 * same rules as a real move (images_dir is local, shared_dirs and network disks shared). */
static void
survey_guest_disks(FerrySurveyHost *sh, virDomainPtr dom, FerrySurveyGuest *guest,
                   const char *xml_text)
{
    g_autofree char *origin = g_strdup_printf("domain '%s' on '%s'", guest->name,
                                              sh->host->name);
    g_autoptr(FerryDestXml) dest = NULL;
    g_autoptr(GError) local = NULL;
    const FerryDomainDef *def;

    guest->disks = g_ptr_array_new_with_free_func((GDestroyNotify)survey_disk_free);
    if (!(dest = ferry_dest_xml_build(xml_text, origin, sh->host, sh->host, &local))) {
        guest->refused = g_strdup(local->message);
        return;
    }
    def = ferry_domain_xml_get_def(dest->xml);
    guest->memory_bytes = def->memory_kib * 1024;
    guest->vcpus = def->vcpus_current ? def->vcpus_current : def->vcpus;
    guest->cpu_xml = ferry_precheck_cpu_xml(def);
    guest->domain_type = g_strdup(def->domain_type);
    if (!ferry_domain_xml_check_movable(dest->xml, &local)) {
        guest->refused = g_strdup(local->message);
        g_clear_error(&local);
    }
    for (guint i = 0; i < dest->plan->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(dest->plan, i);
        FerrySurveyDisk *disk = g_new0(FerrySurveyDisk, 1);

        disk->target = g_strdup(p->disk->target);
        disk->source = g_strdup(p->disk->source);
        if (g_strcmp0(p->disk->type, "volume") == 0)
            disk->kind = FERRY_SURVEY_DISK_VOLUME;
        else if (p->action == FERRY_DISK_SHARED)
            disk->kind = FERRY_SURVEY_DISK_SHARED;
        else if (p->action == FERRY_DISK_SKIP)
            disk->kind = FERRY_SURVEY_DISK_SKIP;
        else
            disk->kind = FERRY_SURVEY_DISK_LOCAL;
        if (p->action == FERRY_DISK_REFUSE && !guest->refused)
            guest->refused = g_strdup_printf("disk %s: %s", p->disk->target, p->reason);
        if (p->action == FERRY_DISK_STREAM) {
            virDomainBlockInfo info = {0};

            if (virDomainGetBlockInfo(dom, p->disk->target, &info, 0) == 0)
                disk->stream_bytes = info.allocation;
            virResetLastError();
            guest->stream_bytes += disk->stream_bytes;
        }
        g_ptr_array_add(guest->disks, disk);
    }
}

static FerrySurveyGuest *
survey_guest(FerrySurveyHost *sh, virDomainPtr dom)
{
    FerrySurveyGuest *guest = g_new0(FerrySurveyGuest, 1);
    char uuid[VIR_UUID_STRING_BUFLEN] = "";
    int state = 0, reason = 0, autostart = 0;
    g_autofree char *xml = NULL;
    char *text;

    guest->name = g_strdup(virDomainGetName(dom));
    guest->host = sh->host->name;
    if (virDomainGetUUIDString(dom, uuid) == 0)
        guest->uuid = g_strdup(uuid);
    if (virDomainGetState(dom, &state, &reason, 0) == 0)
        guest->state = state;
    guest->active = virDomainIsActive(dom) == 1;
    guest->persistent = virDomainIsPersistent(dom) == 1;
    guest->autostart = virDomainGetAutostart(dom, &autostart) == 0 && autostart;
    text = virDomainGetXMLDesc(dom, 0);
    if (text) {
        xml = g_strdup(text);
        free(text);
        survey_guest_disks(sh, dom, guest, xml);
    } else {
        guest->disks = g_ptr_array_new_with_free_func((GDestroyNotify)survey_disk_free);
        guest->refused = g_strdup_printf("cannot read its XML: %s", virGetLastErrorMessage());
    }
    virResetLastError();
    return guest;
}

static gint
guest_by_name(gconstpointer a, gconstpointer b)
{
    return g_strcmp0((*(FerrySurveyGuest *const *)a)->name, (*(FerrySurveyGuest *const *)b)->name);
}

static void
survey_disk_space(FerrySurveyHost *sh, const FerryInventory *inventory)
{
    FerrySshConfig config;
    g_autoptr(FerrySshSession) ssh = NULL;
    g_autoptr(GError) local = NULL;

    ferry_inventory_ssh_config(inventory, sh->host, &config);
    if (!ferry_inventory_require_ssh(inventory, &local) ||
        !(ssh = ferry_ssh_session_open(&config, &local)) ||
        !ferry_ssh_sftp_statvfs(ssh, sh->host->images_dir, &sh->disk_free_bytes, &local)) {
        sh->disk_error = g_strdup_printf("free space of '%s' not known: %s",
                                         sh->host->images_dir, local->message);
        return;
    }
    sh->disk_known = TRUE;
}

typedef struct {
    FerrySurveyHost *sh;
    const FerryInventory *inventory;
    FerrySurveyFlags flags;
} SurveyJob;

static gpointer
survey_host_thread(gpointer data)
{
    SurveyJob *job = data;
    FerrySurveyHost *sh = job->sh;
    g_autoptr(GError) local = NULL;
    virNodeInfo info = {0};
    virDomainPtr *doms = NULL;
    int n;

    sh->conn = ferry_virt_connect_full(sh->host->uri, sh->host->name,
                                       job->inventory->connect_timeout, &local);
    if (!sh->conn) {
        sh->error = g_strdup(local->message);
        return NULL;
    }
    if (!ferry_virt_node_memory(sh->conn, sh->host->name, &sh->mem_total_bytes,
                                &sh->mem_available_bytes, &local) ||
        virNodeGetInfo(sh->conn, &info) < 0) {
        if (!local)
            ferry_virt_set_error(&local, "cannot read the CPUs of '%s'", sh->host->name);
        sh->error = g_strdup(local->message);
        virResetLastError();
        return NULL;
    }
    sh->cpus = info.cpus;
    n = virConnectListAllDomains(sh->conn, &doms, 0);
    if (n < 0) {
        ferry_virt_set_error(&local, "cannot list the domains of '%s'", sh->host->name);
        sh->error = g_strdup(local->message);
        virResetLastError();
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        FerrySurveyGuest *guest = survey_guest(sh, doms[i]);

        if (guest->active)
            sh->vcpus_committed += guest->vcpus;
        g_ptr_array_add(sh->guests, guest);
        virDomainFree(doms[i]);
    }
    free(doms);
    g_ptr_array_sort(sh->guests, guest_by_name);
    sh->reachable = TRUE;
    if (job->flags & FERRY_SURVEY_DISK_SPACE)
        survey_disk_space(sh, job->inventory);
    return NULL;
}

/* A guest (by UUID) on two hosts: flagged on each. */
static void
survey_flag_duplicates(FerrySurvey *survey)
{
    g_autoptr(GHashTable) by_uuid = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                                          (GDestroyNotify)g_ptr_array_unref);
    GHashTableIter iter;
    gpointer key, value;

    for (guint h = 0; h < survey->hosts->len; h++) {
        FerrySurveyHost *sh = g_ptr_array_index(survey->hosts, h);

        for (guint i = 0; i < sh->guests->len; i++) {
            FerrySurveyGuest *g = g_ptr_array_index(sh->guests, i);
            GPtrArray *list;

            if (!g->uuid)
                continue;
            if (!(list = g_hash_table_lookup(by_uuid, g->uuid))) {
                list = g_ptr_array_new();
                g_hash_table_insert(by_uuid, g->uuid, list);
            }
            g_ptr_array_add(list, g);
        }
    }
    g_hash_table_iter_init(&iter, by_uuid);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        GPtrArray *list = value;
        g_autoptr(GString) running = g_string_new(NULL);
        g_autoptr(GString) defined = g_string_new(NULL);
        guint n_running = 0;

        if (list->len < 2)
            continue;
        for (guint i = 0; i < list->len; i++) {
            FerrySurveyGuest *g = g_ptr_array_index(list, i);
            GString *s = g->active ? running : defined;

            n_running += g->active;
            g_string_append_printf(s, "%s'%s'", s->len ? ", " : "", g->host);
        }
        for (guint i = 0; i < list->len; i++) {
            FerrySurveyGuest *g = g_ptr_array_index(list, i);

            g_free(g->flag);
            if (n_running > 1)
                g->flag = g_strdup_printf("running on %s", running->str);
            else if (n_running == 1)
                g->flag = g_strdup_printf("running on %s, also defined on %s", running->str,
                                          defined->str);
            else
                g->flag = g_strdup_printf("defined on %s", defined->str);
        }
    }
}

FerrySurvey *
ferry_survey_run(const FerryInventory *inventory, FerrySurveyFlags flags)
{
    FerrySurvey *survey = g_new0(FerrySurvey, 1);
    g_autofree SurveyJob *jobs = g_new0(SurveyJob, inventory->hosts->len + 1);
    g_autofree GThread **threads = g_new0(GThread *, inventory->hosts->len + 1);

    survey->inventory = inventory;
    survey->hosts = g_ptr_array_new_with_free_func((GDestroyNotify)survey_host_free);
    for (guint i = 0; i < inventory->hosts->len; i++) {
        FerrySurveyHost *sh = g_new0(FerrySurveyHost, 1);

        sh->host = g_ptr_array_index(inventory->hosts, i);
        sh->guests = g_ptr_array_new_with_free_func((GDestroyNotify)survey_guest_free);
        g_ptr_array_add(survey->hosts, sh);
        jobs[i] = (SurveyJob){.sh = sh, .inventory = inventory, .flags = flags};
        threads[i] = g_thread_new("ferry-survey", survey_host_thread, &jobs[i]);
    }
    for (guint i = 0; i < inventory->hosts->len; i++)
        g_thread_join(threads[i]);
    survey_flag_duplicates(survey);
    return survey;
}

FerrySurveyHost *
ferry_survey_get_host(const FerrySurvey *survey, const char *name)
{
    for (guint i = 0; i < survey->hosts->len; i++) {
        FerrySurveyHost *sh = g_ptr_array_index(survey->hosts, i);

        if (g_strcmp0(sh->host->name, name) == 0)
            return sh;
    }
    return NULL;
}

const FerrySurveyGuest *
ferry_survey_find_guest(const FerrySurvey *survey, const char *host, const char *name)
{
    FerrySurveyHost *sh = ferry_survey_get_host(survey, host);

    for (guint i = 0; sh && i < sh->guests->len; i++) {
        const FerrySurveyGuest *g = g_ptr_array_index(sh->guests, i);

        if (g_strcmp0(g->name, name) == 0)
            return g;
    }
    return NULL;
}

GPtrArray *
ferry_survey_place_hosts(const FerrySurvey *survey)
{
    GPtrArray *hosts = g_ptr_array_new_with_free_func(g_free);

    for (guint i = 0; i < survey->hosts->len; i++) {
        const FerrySurveyHost *sh = g_ptr_array_index(survey->hosts, i);
        FerryPlaceHost *ph = g_new0(FerryPlaceHost, 1);

        ph->name = sh->host->name;
        ph->reachable = sh->reachable;
        ph->mem_available_bytes = sh->mem_available_bytes;
        ph->mem_reserved_bytes = sh->host->reserved_memory_mib << 20;
        ph->cpus = sh->cpus;
        ph->vcpus_committed = sh->vcpus_committed;
        ph->disk_known = sh->disk_known;
        ph->disk_free_bytes = sh->disk_free_bytes;
        ph->disk_reserved_bytes = sh->host->reserved_disk_mib << 20;
        g_ptr_array_add(hosts, ph);
    }
    return hosts;
}

static FerryPlaceState
place_state(int state)
{
    switch (state) {
    case VIR_DOMAIN_PAUSED:
    case VIR_DOMAIN_PMSUSPENDED:
        return FERRY_PLACE_PAUSED;
    case VIR_DOMAIN_SHUTOFF:
    case VIR_DOMAIN_NOSTATE:
    case VIR_DOMAIN_CRASHED:
        return FERRY_PLACE_SHUTOFF;
    default:
        return FERRY_PLACE_RUNNING;
    }
}

/* A guest flagged on two hosts may move only when exactly one copy runs: that one stands for
 * it.  Running on two, or defined on two and running nowhere: ferry does not pick one. */
static const char *
duplicate_refusal(const FerrySurveyGuest *g)
{
    if (!g->flag)
        return NULL;
    if (g_str_has_prefix(g->flag, "running on") && !strstr(g->flag, "also defined"))
        return g->flag;
    if (g_str_has_prefix(g->flag, "defined on"))
        return g->flag;
    return NULL;
}

GPtrArray *
ferry_survey_place_guests(const FerrySurvey *survey, const char *only_host)
{
    GPtrArray *guests = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) by_uuid = g_hash_table_new(g_str_hash, g_str_equal);

    for (guint h = 0; h < survey->hosts->len; h++) {
        const FerrySurveyHost *sh = g_ptr_array_index(survey->hosts, h);

        for (guint i = 0; i < sh->guests->len; i++) {
            const FerrySurveyGuest *g = g_ptr_array_index(sh->guests, i);
            FerryPlaceGuest *pg = g->uuid ? g_hash_table_lookup(by_uuid, g->uuid) : NULL;

            /* the same guest seen again on another host: the copy that runs stands for it */
            if (pg && !g->active)
                continue;
            if (!pg) {
                pg = g_new0(FerryPlaceGuest, 1);
                g_ptr_array_add(guests, pg);
                if (g->uuid)
                    g_hash_table_insert(by_uuid, g->uuid, pg);
            }
            pg->name = g->name;
            pg->uuid = g->uuid;
            pg->host = g->host;
            pg->state = place_state(g->state);
            pg->memory_bytes = g->memory_bytes;
            pg->vcpus = g->vcpus;
            pg->stream_bytes = g->stream_bytes;
            pg->refused = duplicate_refusal(g) ? duplicate_refusal(g) : g->refused;
        }
    }
    if (only_host) {
        for (guint i = guests->len; i-- > 0;) {
            FerryPlaceGuest *pg = g_ptr_array_index(guests, i);

            if (g_strcmp0(pg->host, only_host) != 0)
                g_ptr_array_remove_index(guests, i);
        }
    }
    return guests;
}

GHashTable *
ferry_survey_cpu_refusals(const FerrySurvey *survey, GPtrArray *guests,
                          const char *const *allowed)
{
    GHashTable *refusals = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                                 (GDestroyNotify)g_hash_table_unref);

    for (guint i = 0; i < guests->len; i++) {
        const FerryPlaceGuest *pg = g_ptr_array_index(guests, i);
        const FerrySurveyGuest *g = ferry_survey_find_guest(survey, pg->host, pg->name);

        if (!g || !g->cpu_xml)
            continue;
        for (guint h = 0; h < survey->hosts->len; h++) {
            const FerrySurveyHost *sh = g_ptr_array_index(survey->hosts, h);
            GHashTable *per_host;
            int rc;

            if (!sh->reachable || g_strcmp0(sh->host->name, pg->host) == 0 ||
                (allowed && !g_strv_contains(allowed, sh->host->name)) ||
                (pg->wanted_host && g_strcmp0(pg->wanted_host, sh->host->name) != 0))
                continue;
            rc = virConnectCompareHypervisorCPU(sh->conn, NULL, NULL, NULL, g->domain_type,
                                                g->cpu_xml, 0);
            if (rc == VIR_CPU_COMPARE_IDENTICAL || rc == VIR_CPU_COMPARE_SUPERSET)
                continue;
            if (!(per_host = g_hash_table_lookup(refusals, pg->name))) {
                per_host = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
                g_hash_table_insert(refusals, (gpointer)pg->name, per_host);
            }
            g_hash_table_insert(per_host, (gpointer)sh->host->name,
                                rc == VIR_CPU_COMPARE_INCOMPATIBLE
                                    ? g_strdup("its hypervisor cannot provide the guest's CPU")
                                    : g_strdup_printf("cannot compare the CPU: %s",
                                                      virGetLastErrorMessage()));
            virResetLastError();
        }
    }
    return refusals;
}
