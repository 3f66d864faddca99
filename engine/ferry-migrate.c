/*
 * ferry-migrate.c: one migration, phase by phase -- the orchestrator.
 *
 *   precheck  ferry-precheck.c      find the guest, plan its disks, choose the mode, check the
 *                                   destination; Nova's lock (ferry-migrate-nova.c)
 *   prepare   ferry-dst-disks.c     create (block) or copy (cold) the destination's disks
 *   migrate   ferry-migrate-run.c   libvirt's job, watched by ferry-monitor.c, whose timeout
 *                                   and stall actions ferry-policy.c decides; or, cold, the
 *                                   definition moved
 *   verify    ferry-verify.c        where the guest is now, asked of both hosts; Nova synced
 *   cleanup   ferry-src-cleanup.c   the source's stale disk copies
 *
 * Rollback, until the guest has moved: Nova's lock released, and what ferry created on the
 * destination removed (the FerryDstDisks guard, nothing else).  Once it has moved nothing is
 * undone; a failed verify keeps Nova's lock for someone to look.  Cleanup failures are logged:
 * the error returned is always the first one.
 */
#include "engine/ferry-migrate.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <string.h>

#include "engine/ferry-abort.h"
#include "engine/ferry-dst-disks.h"
#include "engine/ferry-migration-private.h"
#include "engine/ferry-virt-util.h"

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
    for (guint i = 0; name && i < FERRY_MIGRATE_MODE_LAST; i++) {
        if (g_str_equal(name, mode_names[i])) {
            *mode = i;
            return TRUE;
        }
    }
    g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID,
                "unknown mode '%s': use auto, shared, block, block-full or cold", name ? name : "");
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
ferry_migration_event_identify(const FerryMigration *m, FerryMigrateEvent *ev)
{
    ev->domain = m->domain_name;
    ev->src_host = m->src ? m->src->name : NULL;
    ev->dst_host = m->dst ? m->dst->name : NULL;
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

    ferry_migration_event_identify(m, &ev);
    if (kind == FERRY_EVENT_POLICY && action && !action->error &&
        (action->action == FERRY_POLICY_ACTION_SUSPEND ||
         action->action == FERRY_POLICY_ACTION_POSTCOPY))
        ferry_journal_step(m->journal,
                           action->action == FERRY_POLICY_ACTION_SUSPEND ? "suspended-by-ferry"
                                                                         : "postcopy-switched",
                           "reason", action->reason, NULL);
    if (m->options->event_func)
        m->options->event_func(&ev, m->options->event_data);
}

void
ferry_migration_emit_sample(FerryMigration *m, const FerryJobSample *sample,
                            const FerryPolicyOutlook *outlook)
{
    FerryMigrateEvent ev = {
        .kind = FERRY_EVENT_SAMPLE,
        .phase = m->phase,
        .sample = sample,
        .outlook = outlook,
    };

    ferry_migration_event_identify(m, &ev);
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
    ferry_journal_note_activity(message);
    ferry_migration_emit(m, FERRY_EVENT_INFO, message, NULL, NULL);
}

void
ferry_migration_file(FerryMigration *m, FerryFileChange change, const FerryHost *host,
                     const char *path, const char *format, ...)
{
    g_autofree char *message = NULL;
    FerryMigrateEvent ev = {
        .kind = FERRY_EVENT_INFO,
        .phase = m->phase,
        .file = change,
        .path = path,
        .file_host = host->name,
    };
    va_list args;

    va_start(args, format);
    message = g_strdup_vprintf(format, args);
    va_end(args);
    g_debug("%s", message);
    ferry_journal_note_activity(message);
    ferry_migration_event_identify(m, &ev);
    ev.message = message;
    if (m->options->event_func)
        m->options->event_func(&ev, m->options->event_data);
}

/* The one place the phase changes; it never goes backwards. */
void
ferry_migration_set_phase(FerryMigration *m, FerryPhase phase)
{
    gint64 now = g_get_monotonic_time();

    g_return_if_fail(phase >= m->phase);
    if (m->phase_start_us)
        m->phase_s[m->phase] += (now - m->phase_start_us) / (double)G_USEC_PER_SEC;
    m->phase_start_us = now;
    m->phase = phase;
    ferry_migration_emit(m, FERRY_EVENT_PHASE, ferry_phase_to_string(phase), NULL, NULL);
}

static FerrySshSession *
open_ssh(FerryMigration *m, const FerryHost *host, GError **error)
{
    FerrySshConfig config;
    FerrySshSession *session;

    ferry_inventory_ssh_config(m->inventory, host, &config);
    /* Ctrl-C stops a copy or a command that is running; the rollback after it runs */
    if ((session = ferry_ssh_session_open(&config, error)))
        ferry_ssh_session_set_cancellable(session, m->options->cancellable);
    return session;
}

typedef struct {
    FerryMigration *m;
    const FerryHost *host;
    FerrySshSession *session;
    GError *error;
} FerrySshOpening;

static gpointer
open_ssh_thread(gpointer data)
{
    FerrySshOpening *o = data;

    o->session = open_ssh(o->m, o->host, &o->error);
    return NULL;
}

void
ferry_migration_open_ssh_ahead(FerryMigration *m)
{
    const FerryHost *hosts[2] = {m->src, m->dst};

    for (int i = 0; i < 2; i++) {
        FerrySshOpening *o;

        if (m->ssh_opening[i] || !hosts[i] || (i ? m->dst_ssh : m->src_ssh))
            continue;
        o = g_new0(FerrySshOpening, 1);
        o->m = m;
        o->host = hosts[i];
        m->ssh_opening_data[i] = o;
        m->ssh_opening[i] = g_thread_new("ferry-ssh-open", open_ssh_thread, o);
    }
}

/* Waits for a session opening ahead, if any: it becomes @m's, or its error @error's (the first
 * one when @error is already set).  A failed one is opened again when next needed. */
static void
open_ssh_join(FerryMigration *m, int i, GError **error)
{
    FerrySshOpening *o = m->ssh_opening_data[i];
    FerrySshSession **slot = i ? &m->dst_ssh : &m->src_ssh;

    if (!m->ssh_opening[i])
        return;
    g_thread_join(m->ssh_opening[i]);
    m->ssh_opening[i] = NULL;
    m->ssh_opening_data[i] = NULL;
    if (o->session)
        *slot = o->session;
    else if (error && !*error)
        g_propagate_error(error, g_steal_pointer(&o->error));
    g_clear_error(&o->error);
    g_free(o);
}

gboolean
ferry_migration_open_ssh(FerryMigration *m, GError **error)
{
    g_autoptr(GError) local = NULL;

    open_ssh_join(m, 0, &local);
    open_ssh_join(m, 1, &local);
    if (local) {
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    if (!m->src_ssh && !(m->src_ssh = open_ssh(m, m->src, error)))
        return FALSE;
    if (!m->dst_ssh && !(m->dst_ssh = open_ssh(m, m->dst, error)))
        return FALSE;
    return TRUE;
}

static void
migration_clear(FerryMigration *m)
{
    /* the guard first: it removes what it still owns over the destination's session */
    g_clear_pointer(&m->dst_disks, ferry_dst_disks_free);
    g_clear_pointer(&m->journal, ferry_journal_free);
    g_clear_pointer(&m->nova_sync, ferry_nova_sync_free);
    g_clear_pointer(&m->nova, ferry_nova_config_free);
    open_ssh_join(m, 0, NULL);
    open_ssh_join(m, 1, NULL);
    g_clear_pointer(&m->stream_disks, g_hash_table_unref);
    g_clear_pointer(&m->file_copies, g_ptr_array_unref);
    g_clear_pointer(&m->files, g_ptr_array_unref);
    g_clear_pointer(&m->streamed, g_ptr_array_unref);
    g_clear_pointer(&m->plan, g_ptr_array_unref);
    g_clear_pointer(&m->xml, ferry_domain_xml_free);
    g_clear_pointer(&m->src_ssh, ferry_ssh_session_free);
    g_clear_pointer(&m->dst_ssh, ferry_ssh_session_free);
    g_clear_pointer(&m->sdom, virDomainFree);
    g_clear_pointer(&m->sconn, virConnectClose);
    g_clear_pointer(&m->dconn, virConnectClose);
    g_clear_pointer(&m->dest_xml, g_free);
    g_clear_pointer(&m->dest_live_xml, g_free);
    g_clear_pointer(&m->domain_name, g_free);
    g_clear_pointer(&m->actions, g_ptr_array_unref);
    g_mutex_clear(&m->stats_lock);
}

/* Block migration: libvirt needs the images to exist.  Cold: ferry copies the disks itself. */
static gboolean
migration_prepare(FerryMigration *m, FerryMigrateResult *result, GError **error)
{
    gboolean ok = TRUE;

    switch (m->mode) {
    case FERRY_MIGRATE_MODE_BLOCK:
    case FERRY_MIGRATE_MODE_BLOCK_FULL:
        ok = ferry_migration_dst_create_disks(m, m->mode == FERRY_MIGRATE_MODE_BLOCK_FULL, error);
        break;
    case FERRY_MIGRATE_MODE_COLD: {
        gint64 start = g_get_monotonic_time();

        ok = !m->streamed->len || ferry_migration_dst_copy_disks(m, &result->disk_bytes, error);
        result->copy_s = (g_get_monotonic_time() - start) / (double)G_USEC_PER_SEC;
        break;
    }
    default:
        break;
    }
    /* kernel, NVRAM and the like: before a live move too (the destination opens them) */
    return ok && ferry_migration_dst_copy_files(m, error);
}

static gboolean
migration_perform(FerryMigration *m, FerryMigrateResult *result, GError **error)
{
    if (m->mode == FERRY_MIGRATE_MODE_COLD)
        return ferry_migration_perform_cold(m, result, error);
    return ferry_migration_src_perform_live(m, result, error);
}

/* The streamed disks' paths, on the source or on the destination, for the journal: the image
 * files only (`ferry recover` removes what these name with rm; a block device, a logical
 * volume or a pool volume is never removed that way). */
static GStrv
migration_disk_paths(const FerryMigration *m, gboolean dst)
{
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();

    for (guint i = 0; m->streamed && i < m->streamed->len; i++) {
        const FerryDiskPlan *p = g_ptr_array_index(m->streamed, i);

        if (p->storage == FERRY_DISK_STORAGE_FILE)
            g_strv_builder_add(b, dst ? p->dest_source : p->disk->source);
    }
    return g_strv_builder_end(b);
}

/* Journals the operation (taking the guest's lock: a second ferry on it is refused here) with
 * the disks that will be copied, before anything moves. */
static gboolean
migration_journal_begin(FerryMigration *m, GError **error)
{
    g_auto(GStrv) src_paths = migration_disk_paths(m, FALSE);
    int state = VIR_DOMAIN_NOSTATE;
    const char *state_name = "running";

    /* a guest paused before ferry started is never resumed by `ferry recover` */
    if (!m->cold && virDomainGetState(m->sdom, &state, NULL, 0) < 0)
        virResetLastError();
    if (m->cold)
        state_name = "shutoff";
    else if (state == VIR_DOMAIN_PAUSED)
        state_name = "paused";
    m->journal = ferry_journal_begin(m->inventory, m->domain_name, m->uuid, m->src->name,
                                     m->dst->name, ferry_migrate_mode_to_string(m->mode),
                                     state_name, error);
    if (!m->journal)
        return FALSE;
    if (m->options->log_path)
        ferry_journal_step(m->journal, "log", "path", m->options->log_path, NULL);
    ferry_journal_step_paths(m->journal, "source-disks", (const char *const *)src_paths);
    return TRUE;
}

/* How long ferry tries to resume an interrupted post-copy (the link may come back). */
#define POSTCOPY_RECOVER_S 90
/* How long a post-copy that still runs is left to finish by itself before it is paused. */
#define POSTCOPY_SETTLE_S 20

typedef enum {
    MIGRATION_MOVED,     /* the guest runs on the destination only */
    MIGRATION_NOT_MOVED, /* it runs on the source only: roll back */
    MIGRATION_UNSETTLED, /* anything else: touch nothing, say what to do */
} MigrationTruth;

static gboolean
side_postcopy_failed(const FerryWhereisSide *side)
{
    return side->present && ((side->state == VIR_DOMAIN_PAUSED &&
                              side->reason == VIR_DOMAIN_PAUSED_POSTCOPY_FAILED) ||
                             (side->state == VIR_DOMAIN_RUNNING &&
                              side->reason == VIR_DOMAIN_RUNNING_POSTCOPY_FAILED));
}

/* Post-copy started and did not finish: the source must never run again and neither side's
 * disks may be touched.  A post-copy that still moves is left to finish for a while; then, or
 * when libvirt gave it up while QEMU still runs it (a resume is refused with "migration is still
 * running"), it is paused (VIR_DOMAIN_ABORT_JOB_POSTCOPY) and resumed
 * (VIR_MIGRATE_POSTCOPY_RESUME) as soon as the link allows, for a bounded time.  @w is updated
 * to what the hosts say at the end. */
static void
migration_postcopy_recover(FerryMigration *m, FerryWhereis *w)
{
    gint64 start = g_get_monotonic_time();
    gint64 deadline = start + POSTCOPY_RECOVER_S * G_USEC_PER_SEC;
    gboolean need_pause = FALSE;
    gboolean paused_by_ferry = FALSE;

    ferry_migration_info(m, "post-copy of '%s' started and did not finish: ferry recovers it "
                            "(for up to %d s); %s is not resumed and no disk is removed",
                         m->domain_name, POSTCOPY_RECOVER_S, m->src->name);
    /* (a destination copy that is gone cannot be resumed into: nothing to retry) */
    while (w->outcome == FERRY_WHEREIS_POSTCOPY && w->dst.active &&
           g_get_monotonic_time() < deadline &&
           !g_cancellable_is_cancelled(m->options->cancellable)) {
        g_autoptr(GError) local = NULL;
        gboolean failed = side_postcopy_failed(&w->src) || side_postcopy_failed(&w->dst);

        if (!failed && w->src.job != VIR_DOMAIN_JOB_NONE &&
            g_get_monotonic_time() >= start + POSTCOPY_SETTLE_S * G_USEC_PER_SEC)
            need_pause = TRUE;
        if (need_pause && !paused_by_ferry) {
            ferry_migration_info(m, "pausing the post-copy of '%s' to resume it "
                                    "(VIR_DOMAIN_ABORT_JOB_POSTCOPY)",
                                 m->domain_name);
            if (m->sdom && virDomainAbortJobFlags(m->sdom, VIR_DOMAIN_ABORT_JOB_POSTCOPY) == 0)
                paused_by_ferry = TRUE;
            else
                ferry_migration_info(m, "pausing the post-copy on %s failed: %s", m->src->name,
                                     virGetLastErrorMessage());
            virResetLastError();
            g_usleep(G_USEC_PER_SEC);
        } else if (!failed && w->src.job != VIR_DOMAIN_JOB_NONE) {
            g_usleep(G_USEC_PER_SEC);
        } else if (ferry_migration_src_postcopy_resume(m, &local)) {
            ferry_migration_info(m, "post-copy of '%s' resumed and completed "
                                    "(VIR_MIGRATE_POSTCOPY_RESUME)",
                                 m->domain_name);
        } else {
            /* libvirt gave the job up, QEMU did not: it must be paused to be resumed */
            if (g_error_matches(local, FERRY_VIRT_ERROR, VIR_ERR_OPERATION_INVALID))
                need_pause = TRUE;
            ferry_migration_info(m, "resuming the post-copy of '%s' failed (retrying): %s",
                                 m->domain_name, local->message);
            g_usleep((need_pause && !paused_by_ferry ? 1 : 5) * G_USEC_PER_SEC);
        }
        ferry_migration_whereis(m, w);
    }
}

/* What happened is for the hosts to say, not for libvirt's return value (@call_ok): a
 * peer-to-peer job carries on when ferry's connection drops, and completes although the call
 * failed; a job reported done may have left the guest elsewhere.  @error holds the call's error
 * when it failed, and on return the error to report (none when the guest moved). */
static MigrationTruth
migration_truth(FerryMigration *m, gboolean call_ok, GError **error)
{
    FerryWhereis w;
    char where[800];
    g_autoptr(GError) cause = g_steal_pointer(error);
    g_autofree char *command = NULL;

    ferry_migration_whereis(m, &w);
    if (w.outcome == FERRY_WHEREIS_POSTCOPY)
        migration_postcopy_recover(m, &w);
    ferry_whereis_describe(&w, where, sizeof(where));
    switch (w.outcome) {
    case FERRY_WHEREIS_ON_DEST:
        if (cause)
            ferry_migration_info(m, "libvirt's call failed (%s), but '%s' runs on %s and is gone "
                                    "from %s: it has moved",
                                 cause->message, m->domain_name, m->dst->name, m->src->name);
        return MIGRATION_MOVED;
    case FERRY_WHEREIS_ON_SOURCE:
        ferry_migration_src_ensure_running(m);
        if (cause) {
            g_autofree char *stays = g_strdup_printf("'%s' stays on '%s'", m->domain_name,
                                                     m->src->name);

            /* the call's own error may not say it: its connection was gone */
            if (!strstr(cause->message, stays))
                g_prefix_error(&cause, "%s (both hosts asked): ", stays);
            g_propagate_error(error, g_steal_pointer(&cause));
        }
        else
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_FAILED,
                        "libvirt reported the migration of '%s' done, but it is still on '%s' "
                        "(%s)",
                        m->domain_name, m->src->name, where);
        return MIGRATION_NOT_MOVED;
    case FERRY_WHEREIS_POSTCOPY:
        if (!w.dst.active) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_FAILED,
                        "post-copy of '%s' failed after the switch and the destination's copy is "
                        "gone (%s): '%s' holds the only copy, paused, and ferry leaves it so; if "
                        "'%s' never ran the guest (its log shows no resume of it), its memory on "
                        "'%s' is whole and 'virsh resume %s' there continues it; otherwise the "
                        "guest's memory is lost and it must be restarted%s%s",
                        m->domain_name, where, m->src->name, m->dst->name, m->src->name,
                        m->domain_name, cause ? "; libvirt said: " : "",
                        cause ? cause->message : "");
            return MIGRATION_UNSETTLED;
        }
        command = ferry_migration_postcopy_resume_command(m);
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_FAILED,
                    "post-copy of '%s' was interrupted after the switch and could not be resumed "
                    "within %d s (%s): both hosts are left as they are (the source must not run "
                    "again, no disk was removed); once '%s' and '%s' reach each other, run: %s%s%s",
                    m->domain_name, POSTCOPY_RECOVER_S, where, m->src->name, m->dst->name,
                    command, cause ? "; libvirt said: " : "", cause ? cause->message : "");
        return MIGRATION_UNSETTLED;
    case FERRY_WHEREIS_AMBIGUOUS:
    case FERRY_WHEREIS_UNKNOWN:
    case FERRY_WHEREIS_LAST:
        break;
    }
    g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_FAILED,
                "ferry cannot tell where '%s' is after the migration (%s): nothing was resumed or "
                "removed; look at both hosts ('virsh domstate --reason %s' on each) before "
                "acting, or run 'ferry recover' once both answer%s%s",
                m->domain_name, where, m->domain_name, cause ? "; libvirt said: " : "",
                cause ? cause->message : "");
    return MIGRATION_UNSETTLED;
}

/* Rollback on the destination: what ferry created there goes, except what a domain there uses
 * (the guest itself may run there after all); when that cannot be asked, nothing goes. */
static void
migration_dst_rollback(FerryMigration *m)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(GHashTable) in_use = NULL;

    if (!m->dst_disks)
        return;
    if (!(in_use = ferry_migration_dst_paths_in_use(m, &local))) {
        g_warning("no disk created on '%s' is removed: %s", m->dst->name, local->message);
        ferry_journal_step(m->journal, "dst-images-kept", "reason", local->message, NULL);
        ferry_dst_disks_keep(m->dst_disks);
        return;
    }
    ferry_dst_disks_remove_unused(m->dst_disks, in_use);
}

/* Past this point an abort (Ctrl-C, SIGTERM, `ferry abort`) is refused, saying what happens
 * instead: verify, cleanup and the Nova sync run to their end.  One that came while the guest
 * was moving, too late to stop it, is told as such and forgotten. */
static void
migration_close_abort_gate(FerryMigration *m)
{
    g_autofree char *why = g_strdup_printf(
        "'%s' has moved to %s: ferry finishes the move (verify, source cleanup%s)",
        m->domain_name, m->dst->name, m->nova_sync ? ", Nova sync" : "");

    if (ferry_abort_gate_close(m->options->cancellable, why))
        return;
    ferry_migration_info(m, "the abort came too late: %s", why);
    ferry_journal_step(m->journal, "abort-too-late", NULL);
    g_cancellable_reset(m->options->cancellable);
    if (!ferry_abort_gate_close(m->options->cancellable, why))
        g_warning("cannot close the abort gate");
}

static void
result_describe(FerryMigrateResult *result, const FerryMigration *m)
{
    result->domain = g_strdup(m->domain_name);
    result->uuid = m->uuid[0] ? g_strdup(m->uuid) : NULL;
    result->src_host = g_strdup(m->src->name);
    result->dst_host = g_strdup(m->dst->name);
    result->mode = m->mode;
    result->p2p = !m->options->managed;
}

FerryMigrateResult *
ferry_migrate(FerryInventory *inventory, const FerryMigrateOptions *options, GError **error)
{
    g_autoptr(FerryMigrateResult) result = g_new0(FerryMigrateResult, 1);
    g_autoptr(GError) local = NULL;
    FerryMigration m = {.inventory = inventory, .options = options};
    gint64 start = g_get_monotonic_time();

    if (!options->domain || !options->dst_host) {
        g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID,
                    "a domain and a destination host are required");
        return NULL;
    }
    g_mutex_init(&m.stats_lock);
    m.phase_start_us = start;
    ferry_migration_emit(&m, FERRY_EVENT_PHASE, ferry_phase_to_string(FERRY_PHASE_PRECHECK), NULL,
                         NULL);
    if (!ferry_journal_check_free(inventory, options->domain, &local) ||
        !ferry_migration_precheck(&m, &local))
        goto not_moved;
    if (options->dry_run) {
        /* every check passed: the plan, and nothing else */
        result_describe(result, &m);
        result->dry_run = TRUE;
        result->dest_xml = g_steal_pointer(&m.dest_xml);
        result->disk_plan = g_steal_pointer(&m.plan);
        result->xml = g_steal_pointer(&m.xml);
        result->total_s = (g_get_monotonic_time() - start) / (double)G_USEC_PER_SEC;
        migration_clear(&m);
        return g_steal_pointer(&result);
    }
    if (!migration_journal_begin(&m, &local))
        goto not_moved;
    ferry_journal_step(m.journal, "precheck-done", NULL);
    result_describe(result, &m);
    if (!ferry_migration_nova_begin(&m, &local))
        goto not_moved;
    if (m.nova_sync)
        ferry_journal_step(m.journal, "nova-begun", "migration",
                           ferry_nova_sync_get_migration_uuid(m.nova_sync), NULL);

    ferry_migration_set_phase(&m, FERRY_PHASE_PREPARE);
    {
        /* before: a file at these paths after a crash is ferry's (the precheck found none) */
        g_auto(GStrv) dst_paths = migration_disk_paths(&m, TRUE);

        ferry_journal_step_paths(m.journal, "dst-images-begin", (const char *const *)dst_paths);
        if (!ferry_journal_lock_paths(m.journal, inventory, m.dst->name,
                                      (const char *const *)dst_paths, &local))
            goto not_moved;
    }
    if (!migration_prepare(&m, result, &local))
        goto not_moved;
    ferry_journal_step(m.journal, m.cold ? "dst-images-copied-verified" : "dst-images-created",
                       NULL);

    ferry_migration_set_phase(&m, FERRY_PHASE_MIGRATE);
    ferry_journal_step(m.journal, "migrate-begin", NULL);
    if (m.mode == FERRY_MIGRATE_MODE_COLD) {
        if (!migration_perform(&m, result, &local))
            goto not_moved;
    } else {
        gboolean call_ok = migration_perform(&m, result, &local);

        /* libvirt's return value is not the truth: the hosts are */
        switch (migration_truth(&m, call_ok, &local)) {
        case MIGRATION_MOVED:
            break;
        case MIGRATION_NOT_MOVED:
            goto not_moved;
        case MIGRATION_UNSETTLED:
            /* neither side is touched: what ferry made on the destination stays */
            ferry_dst_disks_keep(m.dst_disks);
            goto failed;
        }
    }
    ferry_journal_step(m.journal, "migrate-returned", "result", "ok", NULL);
    /* The guest is on the destination now: from here on nothing is undone, its disks there
     * are its own. */
    ferry_dst_disks_keep(m.dst_disks);
    migration_close_abort_gate(&m);

    ferry_migration_set_phase(&m, FERRY_PHASE_VERIFY);
    if (!ferry_migration_verify(&m, result, &local)) {
        /* It moved, but not as it must have: Nova keeps its lock until someone looks. */
        if (m.nova_sync)
            g_prefix_error(&local,
                           "Nova's lock on %s is kept (after checking, run 'ferry nova-sync "
                           "%s --to %s'): ",
                           m.uuid, m.uuid, m.dst->name);
        ferry_journal_step(m.journal, "verify-failed", "error", local->message, NULL);
        ferry_journal_end(m.journal, "failed");
        goto failed;
    }
    ferry_journal_step(m.journal, "verified", NULL);
    ferry_migration_nova_finish(&m, result);
    if (m.nova)
        ferry_journal_step(m.journal, "nova-finished", "status", result->nova_status, NULL);

    ferry_migration_set_phase(&m, FERRY_PHASE_CLEANUP);
    ferry_migration_src_cleanup_disks(&m);
    ferry_journal_step(m.journal, "source-cleaned", NULL);

    ferry_migration_set_phase(&m, FERRY_PHASE_DONE);
    ferry_journal_end(m.journal, "done");
    memcpy(result->phase_s, m.phase_s, sizeof(result->phase_s));
    result->dest_xml = g_steal_pointer(&m.dest_xml);
    /* the plan borrows its disks from the parsed XML: both go to the result */
    result->disk_plan = g_steal_pointer(&m.plan);
    result->actions = g_steal_pointer(&m.actions);
    result->xml = g_steal_pointer(&m.xml);
    result->total_s = (g_get_monotonic_time() - start) / (double)G_USEC_PER_SEC;
    migration_clear(&m);
    return g_steal_pointer(&result);

not_moved:
    /* The guest is still on its source: undo what ferry did elsewhere, keep the first error. */
    ferry_journal_step(m.journal, "rollback-begin", "error", local ? local->message : NULL,
                       NULL);
    ferry_migration_nova_abort(&m);
    if (m.nova_sync)
        ferry_journal_step(m.journal, "nova-aborted", NULL);
    if (m.phase >= FERRY_PHASE_MIGRATE && m.mode != FERRY_MIGRATE_MODE_COLD)
        migration_dst_rollback(&m);
    else
        ferry_dst_disks_remove(m.dst_disks);
    /* images kept because the destination could not be asked: left for `ferry recover` */
    if (!ferry_journal_has_step(m.journal, "dst-images-kept"))
        ferry_journal_end(m.journal, "rolled-back");
failed:
    migration_clear(&m);
    g_propagate_error(error, g_steal_pointer(&local));
    return NULL;
}
