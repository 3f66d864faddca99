/*
 * ferry-whereis.c: where the guest is, asked of both hosts -- the hosts are the truth.
 *
 * Whatever libvirt's migration call returned, what ferry does next (verify and clean up the
 * source, roll back, recover a post-copy, or touch nothing) is decided from the answer of
 * both hosts: each one's domain state and reason, persistence and job.  A connection that
 * dropped (keepalive, a cut link, a restarted libvirtd) is opened again, with retries for a
 * bounded time; a job libvirt still runs on the source (a peer-to-peer migration carries on
 * when ferry's own connection is cut) is waited for first.
 */
#include "engine/ferry-migration-private.h"

#include <libvirt/virterror.h>
#include <string.h>

#include "engine/ferry-virt-util.h"

/* How long ferry keeps trying to reach a host whose connection dropped. */
#define WHEREIS_RECONNECT_S 90
/* ... the destination, when the source shows it still runs the guest. */
#define WHEREIS_DST_SHORT_S 20
/* How long ferry waits for a job libvirt still runs after its own call returned. */
#define WHEREIS_JOB_WAIT_S 600
/* How long ferry waits for libvirt to remove the incoming copy of a failed job. */
#define WHEREIS_INCOMING_WAIT_S 60

static const char *const outcome_names[] = {
    [FERRY_WHEREIS_ON_SOURCE] = "on the source",
    [FERRY_WHEREIS_ON_DEST] = "on the destination",
    [FERRY_WHEREIS_POSTCOPY] = "split by post-copy",
    [FERRY_WHEREIS_AMBIGUOUS] = "ambiguous",
    [FERRY_WHEREIS_UNKNOWN] = "unknown",
};
G_STATIC_ASSERT(G_N_ELEMENTS(outcome_names) == FERRY_WHEREIS_LAST);

const char *
ferry_whereis_outcome_to_string(FerryWhereisOutcome outcome)
{
    return outcome < FERRY_WHEREIS_LAST ? outcome_names[outcome] : "unknown";
}

/* Is the connection to @host usable?  If not, open it again, retrying until @deadline_us.
 * The source's domain handle follows its connection. */
static gboolean
whereis_reconnect(FerryMigration *m, gboolean source, gint64 deadline_us, GError **error)
{
    virConnectPtr *conn = source ? &m->sconn : &m->dconn;
    const FerryHost *host = source ? m->src : m->dst;
    gboolean said = FALSE;

    if (*conn && virConnectIsAlive(*conn) == 1)
        return TRUE;
    virResetLastError();
    for (;;) {
        g_autoptr(GError) local = NULL;
        virConnectPtr fresh;

        if (!said) {
            ferry_migration_info(m, "ferry's connection to the libvirtd of %s is lost: "
                                    "connecting again (for up to %d s) to find where '%s' is",
                                 host->name, WHEREIS_RECONNECT_S, m->domain_name);
            said = TRUE;
        }
        fresh = ferry_virt_connect_full(host->uri, host->name, m->inventory->connect_timeout,
                                        &local);
        if (fresh) {
            if (source)
                g_clear_pointer(&m->sdom, virDomainFree);
            g_clear_pointer(conn, virConnectClose);
            *conn = fresh;
            if (source && m->uuid[0]) {
                m->sdom = virDomainLookupByUUIDString(fresh, m->uuid);
                virResetLastError();
            }
            ferry_migration_info(m, "connected to the libvirtd of %s again", host->name);
            return TRUE;
        }
        if (g_get_monotonic_time() >= deadline_us) {
            g_propagate_prefixed_error(error, g_steal_pointer(&local), "%s did not answer again: ",
                                       host->name);
            return FALSE;
        }
        g_usleep(2 * G_USEC_PER_SEC);
    }
}

static gboolean
reason_is_postcopy(int state, int reason)
{
    return (state == VIR_DOMAIN_RUNNING && (reason == VIR_DOMAIN_RUNNING_POSTCOPY ||
                                            reason == VIR_DOMAIN_RUNNING_POSTCOPY_FAILED)) ||
           (state == VIR_DOMAIN_PAUSED &&
            (reason == VIR_DOMAIN_PAUSED_POSTCOPY || reason == VIR_DOMAIN_PAUSED_POSTCOPY_FAILED));
}

/* One host's answer.  FALSE (with @side->why) when the host could not be asked. */
static gboolean
whereis_side(FerryMigration *m, gboolean source, FerryWhereisSide *side)
{
    virConnectPtr conn = source ? m->sconn : m->dconn;
    g_autoptr(virDomain) dom = NULL;
    virDomainJobInfo job = {0};

    memset(side, 0, sizeof(*side));
    dom = m->uuid[0] ? virDomainLookupByUUIDString(conn, m->uuid)
                     : virDomainLookupByName(conn, m->domain_name);
    if (!dom) {
        virErrorPtr err = virGetLastError();

        if (err && err->code != VIR_ERR_NO_DOMAIN) {
            g_strlcpy(side->why, err->message ? err->message : "unknown libvirt error",
                      sizeof(side->why));
            virResetLastError();
            return FALSE;
        }
        virResetLastError();
        side->known = TRUE;
        return TRUE;
    }
    if (virDomainGetState(dom, &side->state, &side->reason, 0) < 0) {
        g_strlcpy(side->why, virGetLastErrorMessage(), sizeof(side->why));
        virResetLastError();
        return FALSE;
    }
    side->known = TRUE;
    side->present = TRUE;
    side->active = side->state != VIR_DOMAIN_SHUTOFF && side->state != VIR_DOMAIN_NOSTATE;
    side->persistent = virDomainIsPersistent(dom) == 1;
    side->postcopy = reason_is_postcopy(side->state, side->reason);
    if (side->active && virDomainGetJobInfo(dom, &job) == 0)
        side->job = job.type;
    virResetLastError();
    return TRUE;
}

static const char *
side_describe(const FerryWhereisSide *side, char *buf, gsize len)
{
    if (!side->known)
        g_snprintf(buf, len, "could not be asked (%s)", side->why);
    else if (!side->present)
        g_snprintf(buf, len, "has no such domain");
    else
        g_snprintf(buf, len, "has it %s%s%s%s", ferry_virt_state_to_string(side->state),
                   side->postcopy ? " (post-copy)" : "",
                   side->persistent ? "" : ", transient",
                   side->job != VIR_DOMAIN_JOB_NONE ? ", a job running" : "");
    return buf;
}

FerryWhereisOutcome
ferry_whereis_classify(const FerryWhereisSide *src, const FerryWhereisSide *dst)
{
    if (!src->known || !dst->known)
        return FERRY_WHEREIS_UNKNOWN;
    /* after the switch the memory is split: neither side alone is the guest */
    if ((src->present && src->postcopy) || (dst->present && dst->postcopy && src->active))
        return FERRY_WHEREIS_POSTCOPY;
    if (src->active && !dst->active)
        return FERRY_WHEREIS_ON_SOURCE;
    if (dst->active && !src->active)
        return FERRY_WHEREIS_ON_DEST;
    return FERRY_WHEREIS_AMBIGUOUS;
}

void
ferry_whereis_describe(const FerryWhereis *w, char *buf, gsize len)
{
    char s[320], d[320];

    g_snprintf(buf, len, "'%s' %s, '%s' %s", w->src_name, side_describe(&w->src, s, sizeof(s)),
               w->dst_name, side_describe(&w->dst, d, sizeof(d)));
}

gboolean
ferry_migration_whereis(FerryMigration *m, FerryWhereis *w)
{
    gint64 start = g_get_monotonic_time();
    gint64 reconnect_deadline = start + WHEREIS_RECONNECT_S * G_USEC_PER_SEC;
    gint64 job_deadline = start + WHEREIS_JOB_WAIT_S * G_USEC_PER_SEC;
    gboolean waited = FALSE;
    gboolean waited_incoming = FALSE;

    memset(w, 0, sizeof(*w));
    w->src_name = m->src->name;
    w->dst_name = m->dst->name;
    for (;;) {
        g_autoptr(GError) serr = NULL;
        g_autoptr(GError) derr = NULL;

        if (whereis_reconnect(m, TRUE, reconnect_deadline, &serr))
            whereis_side(m, TRUE, &w->src);
        else
            g_strlcpy(w->src.why, serr->message, sizeof(w->src.why));
        /* a source that runs the guest, with no job and no post-copy, has not handed it over:
         * the destination is asked for a shorter while (its answer decides only what ferry
         * removes there) */
        if (whereis_reconnect(m, FALSE,
                              w->src.known && w->src.state == VIR_DOMAIN_RUNNING &&
                                      !w->src.postcopy && w->src.job == VIR_DOMAIN_JOB_NONE
                                  ? MIN(reconnect_deadline,
                                        start + WHEREIS_DST_SHORT_S * G_USEC_PER_SEC)
                                  : reconnect_deadline,
                              &derr))
            whereis_side(m, FALSE, &w->dst);
        else
            g_strlcpy(w->dst.why, derr->message, sizeof(w->dst.why));
        /* a connection may drop between the reconnect and the question: ask once more */
        if ((!w->src.known || !w->dst.known) && g_get_monotonic_time() < reconnect_deadline &&
            !(w->src.known && w->src.state == VIR_DOMAIN_RUNNING && !w->src.postcopy &&
              g_get_monotonic_time() >= start + WHEREIS_DST_SHORT_S * G_USEC_PER_SEC)) {
            g_usleep(G_USEC_PER_SEC);
            continue;
        }
        /* libvirt still runs the job ferry's call was waiting on: its end decides */
        if (w->src.known && w->src.active && w->src.job != VIR_DOMAIN_JOB_NONE &&
            !w->src.postcopy && g_get_monotonic_time() < job_deadline &&
            !g_cancellable_is_cancelled(m->options->cancellable)) {
            if (!waited)
                ferry_migration_info(m, "libvirt's migration job on %s still runs: waiting for "
                                        "its end",
                                     m->src->name);
            waited = TRUE;
            g_usleep(G_USEC_PER_SEC);
            continue;
        }
        /* an incoming copy that never ran (paused for the migration) on the destination while
         * the guest runs on the source: libvirt removes it once it sees the job failed */
        if (w->src.known && w->src.active && !w->src.postcopy && w->dst.known &&
            w->dst.present && w->dst.state == VIR_DOMAIN_PAUSED &&
            w->dst.reason == VIR_DOMAIN_PAUSED_MIGRATION &&
            g_get_monotonic_time() < start + WHEREIS_INCOMING_WAIT_S * G_USEC_PER_SEC &&
            !g_cancellable_is_cancelled(m->options->cancellable)) {
            if (!waited_incoming)
                ferry_migration_info(m, "%s still holds the paused incoming copy of '%s': "
                                        "waiting for libvirt to remove it",
                                     m->dst->name, m->domain_name);
            waited_incoming = TRUE;
            g_usleep(G_USEC_PER_SEC);
            continue;
        }
        break;
    }
    w->outcome = ferry_whereis_classify(&w->src, &w->dst);
    {
        char text[800];

        ferry_whereis_describe(w, text, sizeof(text));
        ferry_migration_info(m, "where '%s' is: %s (%s)", m->domain_name, text,
                             ferry_whereis_outcome_to_string(w->outcome));
    }
    return w->outcome != FERRY_WHEREIS_UNKNOWN;
}

/* Adds the path of every disk and backing layer of @xml_text to @paths. */
static gboolean
paths_of_domain(const char *xml_text, const char *origin, GHashTable *paths, GError **error)
{
    g_autoptr(FerryDomainXml) xml = NULL;
    const FerryDomainDef *def;

    if (!(xml = ferry_domain_xml_parse(xml_text, origin, error)))
        return FALSE;
    def = ferry_domain_xml_get_def(xml);
    for (guint i = 0; i < def->disks->len; i++) {
        const FerryDomainDisk *disk = g_ptr_array_index(def->disks, i);

        if (disk->source)
            g_hash_table_add(paths, g_strdup(disk->source));
        for (guint j = 0; disk->backing_chain && j < disk->backing_chain->len; j++) {
            const FerryDomainBacking *b = g_ptr_array_index(disk->backing_chain, j);

            if (b->path)
                g_hash_table_add(paths, g_strdup(b->path));
        }
    }
    return TRUE;
}

GHashTable *
ferry_migration_dst_paths_in_use(FerryMigration *m, GError **error)
{
    g_autoptr(GHashTable) paths = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    virDomainPtr *doms = NULL;
    int n;

    if (!m->dconn || virConnectIsAlive(m->dconn) != 1) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_FAILED,
                    "no connection to the libvirtd of '%s' to ask which disks its domains use",
                    m->dst->name);
        virResetLastError();
        return NULL;
    }
    n = virConnectListAllDomains(m->dconn, &doms, 0);
    if (n < 0) {
        ferry_virt_set_error(error, "cannot list the domains of '%s'", m->dst->name);
        virResetLastError();
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        g_autofree char *origin = g_strdup_printf("domain '%s' on '%s'",
                                                  virDomainGetName(doms[i]), m->dst->name);
        /* both what runs and what would run at the next start */
        for (int inactive = 0; inactive < 2; inactive++) {
            char *text;

            if (inactive && virDomainIsPersistent(doms[i]) != 1)
                break;
            gboolean parsed;

            if (inactive && virDomainIsPersistent(doms[i]) != 1)
                break;
            text = virDomainGetXMLDesc(doms[i], inactive ? VIR_DOMAIN_XML_INACTIVE : 0);
            if (!text)
                ferry_virt_set_error(error, "cannot read the XML of %s", origin);
            parsed = text && paths_of_domain(text, origin, paths, error);
            free(text);
            if (!parsed) {
                /* a domain whose disks are not known may use any of them */
                virResetLastError();
                for (int j = i; j < n; j++)
                    virDomainFree(doms[j]);
                g_free(doms);
                return NULL;
            }
        }
        virDomainFree(doms[i]);
    }
    g_free(doms);
    return g_steal_pointer(&paths);
}
