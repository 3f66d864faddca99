/*
 * ferry-cmd-recover.c: `ferry recover` -- finishes or rolls back the operations a ferry that
 * died (SIGKILL, a reboot of the operator's machine) left unfinished in the journal.
 *
 * The journal says what ferry meant to do and how far it wrote down it got; the hosts say
 * where the guest is.  Nothing is done on the journal's word alone: both hosts are asked
 * (domain state, persistence, a job still running) and a host that cannot be asked leaves the
 * operation unresolved.  Then, for each operation:
 *   - a migration job still running (nobody watches it any more) is aborted, except in
 *     post-copy, where the guest's state is split between the hosts: left, with what to run;
 *   - the guest active on its source: it stays there.  Resumed if ferry (or the aborted job)
 *     left it paused; an inactive duplicate definition on the destination undefined; the
 *     destination images ferry created for it removed, when no domain there uses them;
 *   - the guest active on the destination: the move is completed there (a leftover inactive
 *     definition on the source undefined, resumed if ferry had paused it, made persistent);
 *     the source's disk copies are removed only when the journal says the move was verified;
 *   - cold, defined on both hosts: the destination's definition is kept only when the journal
 *     says its disks were copied and verified, else the source's;
 *   - active on both, or on neither when it ran: left alone, unresolved.
 * Queued Nova syncs are replayed.  One line per operation: what was found, what was done.
 */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>

#include "engine/cli/ferry-cli-fleet.h"
#include "engine/cli/ferry-cli.h"
#include "engine/ferry-journal.h"
#include "engine/ferry-locate.h"
#include "engine/ferry-virt-util.h"
#include "engine/nova/ferry-nova.h"
#include "ssh/ferry-ssh-session.h"
#include "xml/ferry-domain-xml.h"

#define UNDEFINE_FLAGS (VIR_DOMAIN_UNDEFINE_KEEP_NVRAM | VIR_DOMAIN_UNDEFINE_KEEP_TPM)
#define JOB_WAIT_S 30

typedef struct {
    const FerryHost *host;
    virConnectPtr conn;
    virDomainPtr dom; /* NULL: not defined there */
    int state;
    int reason;
    gboolean active;
    gboolean persistent;
    gboolean job; /* a job (a migration) runs */
} Side;

static void
side_clear(Side *side)
{
    g_clear_pointer(&side->dom, virDomainFree);
    g_clear_pointer(&side->conn, virConnectClose);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Side, side_clear)

typedef struct {
    FerryInventory *inventory;
    gboolean dry_run;
    const FerryJournalOp *op;
    const char *uuid;
    const char *name;
    GString *found;
    GString *did;
    gboolean unresolved;
} Recovery;

static void did(Recovery *r, const char *format, ...) G_GNUC_PRINTF(2, 3);
static void
did(Recovery *r, const char *format, ...)
{
    va_list args;

    if (r->did->len)
        g_string_append(r->did, "; ");
    if (r->dry_run)
        g_string_append(r->did, "would ");
    va_start(args, format);
    g_string_append_vprintf(r->did, format, args);
    va_end(args);
}

/* Asks @host about the guest: what libvirt says, or FALSE when the host cannot be asked. */
static gboolean
side_look(Recovery *r, Side *side, GError **error)
{
    virDomainJobInfo job = {0};

    g_clear_pointer(&side->dom, virDomainFree);
    side->active = side->persistent = side->job = FALSE;
    side->state = side->reason = 0;
    if (!side->conn && !(side->conn = ferry_virt_connect(side->host->uri, side->host->name, error)))
        return FALSE;
    if (!(side->dom = virDomainLookupByUUIDString(side->conn, r->uuid))) {
        virErrorPtr e = virGetLastError();

        if (e && e->code == VIR_ERR_NO_DOMAIN) {
            virResetLastError();
            return TRUE;
        }
        ferry_virt_set_error(error, "cannot look up %s on '%s'", r->uuid, side->host->name);
        return FALSE;
    }
    if (virDomainGetState(side->dom, &side->state, &side->reason, 0) < 0 ||
        (side->active = virDomainIsActive(side->dom)) < 0 ||
        (side->persistent = virDomainIsPersistent(side->dom)) < 0) {
        virErrorPtr e = virGetLastError();

        if (e && e->code == VIR_ERR_NO_DOMAIN) {
            /* gone meanwhile (an aborted incoming migration's domain): absent */
            virResetLastError();
            g_clear_pointer(&side->dom, virDomainFree);
            side->active = side->persistent = FALSE;
            side->state = side->reason = 0;
            return TRUE;
        }
        ferry_virt_set_error(error, "cannot read the state of %s on '%s'", r->uuid,
                             side->host->name);
        return FALSE;
    }
    if (side->active && virDomainGetJobInfo(side->dom, &job) == 0)
        side->job = job.type != VIR_DOMAIN_JOB_NONE;
    else
        virResetLastError();
    return TRUE;
}

static const char *
side_describe(const Side *side, char *buf, gsize len)
{
    if (!side->dom)
        g_snprintf(buf, len, "absent on %s", side->host->name);
    else
        g_snprintf(buf, len, "%s%s%s on %s", ferry_virt_state_to_string(side->state),
                   side->persistent ? "" : " transient", side->job ? " with a job" : "",
                   side->host->name);
    return buf;
}

static gboolean
has_step(const Recovery *r, const char *step)
{
    return ferry_journal_op_find(r->op, step) != NULL;
}

/* The "paths" of the journal's first @step record (borrowed strings). */
static GPtrArray *
step_paths(const Recovery *r, const char *step)
{
    GPtrArray *paths = g_ptr_array_new();
    JsonObject *rec = ferry_journal_op_find(r->op, step);
    JsonArray *a = rec && json_object_has_member(rec, "paths")
                       ? json_object_get_array_member(rec, "paths")
                       : NULL;

    for (guint i = 0; a && i < json_array_get_length(a); i++)
        g_ptr_array_add(paths, (gpointer)json_array_get_string_element(a, i));
    return paths;
}

/* Every disk path any domain (active or not) on @side's host uses; NULL when unknown. */
static GHashTable *
paths_in_use(Side *side, GError **error)
{
    g_autoptr(GHashTable) used = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(side->conn, &doms, 0);

    if (n < 0) {
        ferry_virt_set_error(error, "cannot list the domains of '%s'", side->host->name);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        for (int inactive = 0; inactive < 2; inactive++) {
            g_autofree char *text =
                virDomainGetXMLDesc(doms[i], inactive ? VIR_DOMAIN_XML_INACTIVE : 0);
            g_autoptr(FerryDomainXml) xml = NULL;
            const FerryDomainDef *def;

            if (!text || !(xml = ferry_domain_xml_parse(text, side->host->name, NULL))) {
                virResetLastError();
                continue;
            }
            def = ferry_domain_xml_get_def(xml);
            for (guint d = 0; d < def->disks->len; d++) {
                const FerryDomainDisk *disk = g_ptr_array_index(def->disks, d);

                if (disk->source)
                    g_hash_table_add(used, g_strdup(disk->source));
                for (guint b = 0; disk->backing_chain && b < disk->backing_chain->len; b++) {
                    const FerryDomainBacking *bk = g_ptr_array_index(disk->backing_chain, b);

                    if (bk->path)
                        g_hash_table_add(used, g_strdup(bk->path));
                }
            }
        }
        virDomainFree(doms[i]);
    }
    g_free(doms);
    return g_steal_pointer(&used);
}

/* Removes the files at @paths on @side's host (and, with @tmp, ferry's half-copied temporary
 * files next to them) that no domain there uses. */
static gboolean
remove_unused(Recovery *r, Side *side, GPtrArray *paths, gboolean tmp, const char *why)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GHashTable) used = NULL;
    g_autoptr(FerrySshSession) ssh = NULL;
    FerrySshConfig config;

    if (!paths->len)
        return TRUE;
    if (!(used = paths_in_use(side, &error)))
        goto fail;
    ferry_inventory_ssh_config(r->inventory, side->host, &config);
    if (!r->dry_run && !(ssh = ferry_ssh_session_open(&config, &error)))
        goto fail;
    for (guint i = 0; i < paths->len; i++) {
        const char *path = g_ptr_array_index(paths, i);
        g_autofree char *dir = g_path_get_dirname(path);
        g_autofree char *base = g_path_get_basename(path);
        g_autofree char *out = NULL;
        const char *argv[] = {"sh",
                              "-c",
                              "for f in \"$1\" \"$2\"/.\"$3\".ferry-copy-*; do "
                              "[ \"$4\" = 1 ] || [ \"$f\" = \"$1\" ] || continue; "
                              "[ -e \"$f\" ] || continue; rm -f -- \"$f\" && echo \"$f\"; done",
                              "sh",
                              path,
                              dir,
                              base,
                              tmp ? "1" : "0",
                              NULL};

        if (g_hash_table_contains(used, path)) {
            did(r, "keep '%s' on %s (a domain there uses it)", path, side->host->name);
            continue;
        }
        if (r->dry_run) {
            did(r, "remove '%s'%s on %s (%s) if present", path,
                tmp ? " and its temporary copies" : "", side->host->name, why);
            continue;
        }
        if (!ferry_ssh_session_check(ssh, argv, &out, &error))
            goto fail;
        g_strstrip(out);
        if (*out) {
            g_autofree char *list = g_strdelimit(g_strdup(out), "\n", ' ');

            did(r, "removed %s on %s (%s)", list, side->host->name, why);
        }
    }
    return TRUE;
fail:
    did(r, "could not remove %s's images on %s: %s", r->name, side->host->name, error->message);
    r->unresolved = TRUE;
    return FALSE;
}

static void
undefine(Recovery *r, Side *side, const char *why)
{
    if (r->dry_run) {
        did(r, "undefine it on %s (%s)", side->host->name, why);
        return;
    }
    if (virDomainUndefineFlags(side->dom, UNDEFINE_FLAGS) < 0) {
        g_autoptr(GError) error = NULL;

        ferry_virt_set_error(&error, "cannot undefine it on '%s'", side->host->name);
        did(r, "%s", error->message);
        r->unresolved = TRUE;
        return;
    }
    did(r, "undefined it on %s (%s)", side->host->name, why);
}

/* Resumes a guest left paused by ferry's policy or by the migration that died. */
static void
resume_if_ferrys(Recovery *r, Side *side)
{
    if (side->state != VIR_DOMAIN_PAUSED)
        return;
    if (g_strcmp0(ferry_journal_op_get(r->op, "state"), "paused") == 0) {
        did(r, "leave it paused on %s (it was paused before ferry started)", side->host->name);
        return;
    }
    if (!has_step(r, "suspended-by-ferry") && side->reason != VIR_DOMAIN_PAUSED_MIGRATION) {
        did(r, "leave it paused on %s (not paused by ferry)", side->host->name);
        return;
    }
    if (r->dry_run) {
        did(r, "resume it on %s", side->host->name);
        return;
    }
    if (virDomainResume(side->dom) < 0) {
        g_autoptr(GError) error = NULL;

        ferry_virt_set_error(&error, "cannot resume it on '%s'", side->host->name);
        did(r, "%s", error->message);
        r->unresolved = TRUE;
        return;
    }
    did(r, "resumed it on %s", side->host->name);
}

/* A job nobody watches any more: aborted, and waited for.  Post-copy is left alone. */
static gboolean
settle_job(Recovery *r, Side *src, Side *dst, GError **error)
{
    Side *s = src->job ? src : dst;

    if (!src->job && !dst->job)
        return TRUE;
    if (has_step(r, "postcopy-switched") ||
        (src->state == VIR_DOMAIN_PAUSED && src->reason == VIR_DOMAIN_PAUSED_POSTCOPY) ||
        (dst->state == VIR_DOMAIN_RUNNING && dst->reason == VIR_DOMAIN_RUNNING_POSTCOPY)) {
        did(r,
            "leave the post-copy job alone (its memory is split between the hosts): when it "
            "fails, run 'virsh -c %s migrate --postcopy-resume ...', then 'ferry recover' again",
            src->host->uri);
        r->unresolved = TRUE;
        return FALSE;
    }
    if (r->dry_run) {
        did(r, "abort the migration job on %s (nobody watches it)", s->host->name);
        r->unresolved = TRUE;
        return FALSE;
    }
    if (virDomainAbortJob(s->dom) < 0)
        virResetLastError(); /* it may have ended meanwhile: the wait tells */
    for (int i = 0; i < JOB_WAIT_S * 10; i++) {
        if (!side_look(r, src, error) || !side_look(r, dst, error))
            return FALSE;
        if (!src->job && !dst->job) {
            did(r, "aborted the migration job on %s", s->host->name);
            return TRUE;
        }
        g_usleep(G_USEC_PER_SEC / 10);
    }
    did(r, "the migration job on %s did not end within %d s of its abort", s->host->name,
        JOB_WAIT_S);
    r->unresolved = TRUE;
    return FALSE;
}

static void
nova_resolve(Recovery *r, gboolean moved)
{
    if (!has_step(r, "nova-begun") || has_step(r, "nova-finished") || has_step(r, "nova-aborted"))
        return;
    /* The sync's handle died with that ferry: tell exactly what to run. */
    if (moved)
        did(r, "Nova still shows the migration running: run 'ferry nova-sync %s --to %s'", r->uuid,
            ferry_journal_op_get(r->op, "destination"));
    else
        did(r,
            "Nova's lock (task_state migrating) on %s is still held: reset it with "
            "'nova reset-state --active %s'",
            r->uuid, r->uuid);
    r->unresolved = TRUE;
}

static void
on_source(Recovery *r, Side *src, Side *dst)
{
    g_autoptr(GPtrArray) created = step_paths(r, "dst-images-begin");

    if (dst->dom && !dst->active)
        undefine(r, dst, "a duplicate of the one on the source");
    resume_if_ferrys(r, src);
    remove_unused(r, dst, created, TRUE, "created by ferry for this move");
    nova_resolve(r, FALSE);
}

static void
on_destination(Recovery *r, Side *src, Side *dst)
{
    g_autoptr(GPtrArray) sources = step_paths(r, "source-disks");

    if (src->dom && !src->active)
        undefine(r, src, "the guest lives on the destination now");
    resume_if_ferrys(r, dst);
    if (dst->active && !dst->persistent) {
        g_autofree char *xml = NULL;
        g_autoptr(virDomain) defined = NULL;

        if (r->dry_run)
            did(r, "define it on %s (it is transient there)", dst->host->name);
        else if (!(xml = virDomainGetXMLDesc(dst->dom, VIR_DOMAIN_XML_SECURE)) ||
                 !(defined = virDomainDefineXML(dst->conn, xml))) {
            virResetLastError();
            did(r, "could not make it persistent on %s", dst->host->name);
            r->unresolved = TRUE;
        } else {
            did(r, "defined it on %s (it was transient)", dst->host->name);
        }
    }
    if (has_step(r, "verified") && !has_step(r, "source-cleaned"))
        remove_unused(r, src, sources, FALSE, "the stale copies of a verified move");
    else if (sources->len && !has_step(r, "source-cleaned"))
        did(r,
            "keep the source's disk copies on %s (the move was not verified before ferry "
            "stopped; remove them after checking)",
            src->host->name);
    nova_resolve(r, TRUE);
}

/* Active on neither of the operation's hosts: moved on since (a later ferry, by hand)?  When it
 * runs on another inventory host, only what this operation left on its destination is cleaned
 * up (its images that no domain there uses, an inactive duplicate definition). */
static void
elsewhere(Recovery *r, Side *src, Side *dst)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FerryLocation) loc = ferry_locate_domain(r->inventory, r->uuid, NULL, &error);
    g_autoptr(GPtrArray) created = step_paths(r, "dst-images-begin");
    int state = 0;

    if (!loc || loc->host == src->host || loc->host == dst->host ||
        virDomainGetState(loc->domain, &state, NULL, 0) < 0 || state != VIR_DOMAIN_RUNNING) {
        virResetLastError();
        did(r, "nothing: it ran, and runs on neither host now (look before acting)%s%s",
            error ? ": " : "", error ? error->message : "");
        r->unresolved = TRUE;
        return;
    }
    g_string_append_printf(r->found, "; it runs on %s (moved on since)", loc->host->name);
    if (dst->dom && !dst->active)
        undefine(r, dst, "a leftover of this move; the guest runs elsewhere");
    remove_unused(r, dst, created, TRUE, "created by ferry for this move");
    nova_resolve(r, FALSE);
}

static void
recover_one(Recovery *r)
{
    g_auto(Side) src = {0};
    g_auto(Side) dst = {0};
    g_autoptr(GError) error = NULL;
    gboolean cold = g_strcmp0(ferry_journal_op_get(r->op, "state"), "shutoff") == 0;
    char a[128], b[128];

    if (!(src.host = ferry_inventory_get_host(r->inventory, ferry_journal_op_get(r->op, "source"),
                                              &error)) ||
        !(dst.host = ferry_inventory_get_host(
              r->inventory, ferry_journal_op_get(r->op, "destination"), &error)) ||
        !side_look(r, &src, &error) || !side_look(r, &dst, &error)) {
        g_string_append_printf(r->found, "cannot ask the hosts: %s", error->message);
        r->unresolved = TRUE;
        return;
    }
    g_string_append_printf(r->found, "%s, %s", side_describe(&src, a, sizeof(a)),
                           side_describe(&dst, b, sizeof(b)));
    if (!settle_job(r, &src, &dst, &error)) {
        if (error)
            did(r, "%s", error->message);
        r->unresolved = TRUE;
        return;
    }
    if (src.active && dst.active) {
        did(r, "nothing: it is active on both hosts (look before acting)");
        r->unresolved = TRUE;
    } else if (src.active) {
        on_source(r, &src, &dst);
    } else if (dst.active) {
        on_destination(r, &src, &dst);
    } else if (!cold) {
        elsewhere(r, &src, &dst);
    } else if (src.dom && dst.dom) {
        /* cold, defined on both: the destination's disks are whole only if ferry said so */
        if (has_step(r, "dst-images-copied-verified"))
            on_destination(r, &src, &dst); /* undefines the source's definition */
        else
            on_source(r, &src, &dst);
    } else if (src.dom) {
        on_source(r, &src, &dst);
    } else if (dst.dom) {
        on_destination(r, &src, &dst);
    } else {
        did(r, "nothing: it is defined on neither host (look before acting)");
        r->unresolved = TRUE;
    }
}

gboolean
ferry_cmd_recover(FerryCli *cli, int argc, char **argv, GError **error)
{
    gboolean dry_run = FALSE;
    const GOptionEntry entries[] = {
        {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
         "Print what was found and what would be done; change nothing", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("");
    g_autoptr(GPtrArray) ops = NULL;
    g_autoptr(FerryNovaConfig) nova = NULL;
    g_autoptr(GError) local = NULL;
    g_autofree char *state_dir = NULL;
    FerryInventory *inventory;
    guint unresolved = 0, seen = 0;
    g_autoptr(GPtrArray) sources = g_ptr_array_new(); /* hosts the operations moved guests off */

    g_option_context_set_summary(context,
                                 "Finishes or rolls back the operations a ferry that was killed "
                                 "left unfinished in its journal,\ndeciding from where the guest "
                                 "is on the hosts.  One line per operation.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!ferry_cli_parse(context, &argc, &argv, entries, error))
        return FALSE;
    if (argc != 1) {
        ferry_cli_usage_error(error, "recover takes no arguments");
        return FALSE;
    }
    if (!(inventory = ferry_cli_inventory(cli, error)) ||
        !(ops = ferry_journal_list(inventory, error)))
        return FALSE;
    state_dir = ferry_journal_state_dir(inventory);
    for (guint i = 0; i < ops->len; i++) {
        const FerryJournalOp *op = g_ptr_array_index(ops, i);
        g_autoptr(FerryJournal) journal = NULL;
        g_autoptr(GError) busy = NULL;
        Recovery r = {
            .inventory = inventory,
            .dry_run = dry_run,
            .op = op,
            .uuid = ferry_journal_op_get(op, "uuid"),
            .name = ferry_journal_op_get(op, "name"),
        };
        g_autoptr(GString) found = g_string_new(NULL);
        g_autoptr(GString) done = g_string_new(NULL);

        if (op->ended)
            continue;
        seen++;
        if (ferry_journal_op_get(op, "source") &&
            !g_ptr_array_find_with_equal_func(sources, ferry_journal_op_get(op, "source"),
                                              g_str_equal, NULL))
            g_ptr_array_add(sources, (gpointer)ferry_journal_op_get(op, "source"));
        r.found = found;
        r.did = done;
        if (!r.uuid || !r.name) {
            printf("%s: journal '%s' names no guest: left alone\n", op->op, op->path);
            unresolved++;
            continue;
        }
        if (!dry_run && !(journal = ferry_journal_attach(inventory, op, &busy))) {
            printf("%s '%s' (%s) %s -> %s: left alone: %s\n", op->op, r.name, r.uuid,
                   ferry_journal_op_get(op, "source"), ferry_journal_op_get(op, "destination"),
                   busy->message);
            unresolved++;
            continue;
        }
        recover_one(&r);
        printf("%s '%s' (%s) %s -> %s %s: found %s; %s%s\n", op->op, r.name, r.uuid,
               ferry_journal_op_get(op, "source"), ferry_journal_op_get(op, "destination"),
               ferry_journal_op_get(op, "mode"), found->str, done->len ? "" : "nothing to do",
               done->str);
        if (r.unresolved) {
            unresolved++;
        } else if (!dry_run) {
            ferry_journal_resolve(journal, "resolved", done->len ? done->str : "nothing to do");
            printf("%s: resolved\n", op->op);
        }
    }
    if (!seen)
        printf("no unfinished operation in %s\n", state_dir);
    /* an interrupted evacuation: what is still on the hosts the guests were leaving */
    ferry_cli_fleet_print_still_on(inventory, sources);

    nova = ferry_nova_config_load(inventory->keyfile, inventory->path, &local);
    if (nova && !dry_run) {
        g_autoptr(FerryNovaReplay) replay = ferry_nova_replay_pending(nova, &local);

        if (!replay) {
            printf("nova: queued syncs not replayed: %s\n", local->message);
            unresolved++;
        } else if (replay->replayed || replay->already || replay->remaining) {
            printf("nova: %u queued sync(s) replayed, %u already applied, %u still queued\n",
                   replay->replayed, replay->already, replay->remaining);
            if (replay->remaining)
                unresolved++;
        }
    } else if (local) {
        printf("nova: %s\n", local->message);
        unresolved++;
    }
    if (unresolved) {
        g_set_error(error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_FAILED, "%u unresolved", unresolved);
        fprintf(stderr, "ferry: %u operation(s) left unresolved (see above)\n", unresolved);
        return FALSE;
    }
    return TRUE;
}
