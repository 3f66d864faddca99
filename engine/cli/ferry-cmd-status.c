/*
 * ferry-cmd-status.c: `ferry status` (the operations running and recent, from the journal and
 * the hosts' job information) and `ferry abort DOMAIN` (from another shell: aborts a running
 * migration by the same rules as Ctrl-C).
 *
 * How abort reaches the running ferry: the journal's guest lock names the process that holds it
 * (flock: only a live holder counts, so a pid is never taken from a dead ferry's lock), and
 * abort sends it SIGTERM.  The running ferry handles it exactly as Ctrl-C: it aborts the job
 * and rolls back, or, past the point of no return (a post-copy switch, the guest moved), refuses
 * and says what happens instead (ferry-abort.h), so the rollback and the report stay with the
 * one process that holds the connections and the journal.  abort then waits for the
 * operation's end and reports it from the journal (what the hosts made of it is in there:
 * the running ferry asked them).  Calling virDomainAbortJob from here instead would leave the
 * running ferry to discover a failed job, and could not stop a disk copy or a cold copy.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-glib/json-glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "engine/cli/ferry-cli-json.h"
#include "engine/cli/ferry-cli.h"
#include "engine/ferry-journal.h"
#include "engine/ferry-virt-util.h"

/* How many ended operations `status` lists without --all. */
#define STATUS_RECENT 10

/* The point of no return the journal shows, or NULL: what the running ferry answers anyway. */
static const char *
op_past_no_return(const FerryJournalOp *op)
{
    if (ferry_journal_op_find(op, "migrate-returned"))
        return "it has moved to the destination: ferry finishes the move (verify, cleanup, "
               "Nova sync)";
    if (ferry_journal_op_find(op, "postcopy-switched"))
        return "it has switched to post-copy: it runs on the destination and cannot return "
               "to its source; ferry lets the copy finish there, then verifies the move and "
               "cleans up";
    return NULL;
}

static const char *
op_last_step(const FerryJournalOp *op, const char **time)
{
    JsonObject *r = g_ptr_array_index(op->records, op->records->len - 1);

    if (time)
        *time = json_object_get_string_member_with_default(r, "time", "?");
    return json_object_get_string_member_with_default(r, "step", "?");
}

/* A running migration's job, as its source host reports it. */
typedef struct {
    const char *host;    /* the source (NULL: not in the inventory) */
    gboolean have_job;   /* @sample and @elapsed_ms hold the job's figures */
    FerryJobSample sample;
    unsigned long long elapsed_ms;
    char *why;           /* !have_job: why not */
} OpJob;

static void
op_job_ask(const FerryInventory *inventory, const FerryJournalOp *op, OpJob *job)
{
    const char *src = ferry_journal_op_get(op, "source");
    const char *uuid = ferry_journal_op_get(op, "uuid");
    const FerryHost *host = src ? ferry_inventory_get_host(inventory, src, NULL) : NULL;
    g_autoptr(GError) local = NULL;
    g_autoptr(virConnect) conn = NULL;
    g_autoptr(virDomain) dom = NULL;
    virTypedParameterPtr params = NULL;
    int nparams = 0, type = VIR_DOMAIN_JOB_NONE;

    memset(job, 0, sizeof(*job));
    if (!host || !uuid) {
        job->why = g_strdup("the source host is not in the inventory");
        return;
    }
    job->host = host->name;
    if (!(conn = ferry_virt_connect_full(host->uri, host->name, inventory->connect_timeout,
                                         &local))) {
        job->why = g_strdup(local->message);
        return;
    }
    if (!(dom = virDomainLookupByUUIDString(conn, uuid))) {
        virResetLastError();
        job->why = g_strdup_printf("none on %s (the guest is not there)", host->name);
        return;
    }
    if (virDomainGetJobStats(dom, &type, &params, &nparams, 0) < 0) {
        job->why = g_strdup_printf("cannot ask %s: %s", host->name, virGetLastErrorMessage());
        virResetLastError();
        return;
    }
    if (type == VIR_DOMAIN_JOB_NONE) {
        virTypedParamsFree(params, nparams);
        job->why = g_strdup_printf("none on %s", host->name);
        return;
    }
    ferry_job_sample_from_params(&job->sample, params, nparams);
    if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_TIME_ELAPSED, &job->elapsed_ms) <
        0)
        virResetLastError();
    virTypedParamsFree(params, nparams);
    job->have_job = TRUE;
}

/* "job on hostA: 3.1 s, memory 12.0 MiB of 128.0 MiB, pass 1, disk ..." or why not. */
static char *
op_job_format(const OpJob *job)
{
    const FerryJobSample *s = &job->sample;
    g_autofree char *mem_done = NULL, *mem_total = NULL, *disk_done = NULL, *disk_total = NULL;

    if (!job->have_job)
        return g_strdup_printf("job: %s", job->why);
    mem_done = ferry_cli_format_bytes(s->mem_processed);
    mem_total = ferry_cli_format_bytes(s->mem_total);
    disk_done = ferry_cli_format_bytes(s->disk_processed);
    disk_total = ferry_cli_format_bytes(s->disk_total);
    return g_strdup_printf("job on %s: %.1f s, memory %s of %s, pass %" G_GUINT64_FORMAT
                           "%s%s%s%s",
                           job->host, job->elapsed_ms / 1000.0, mem_done, mem_total,
                           s->mem_iteration, s->disk_total ? ", disk " : "",
                           s->disk_total ? disk_done : "", s->disk_total ? " of " : "",
                           s->disk_total ? disk_total : "");
}

/* One JSON object a line: the operation, and its job when it runs. */
static void
print_op_json(const FerryJournalOp *op, int pid, const char *state, const char *step,
              const char *time, const OpJob *job)
{
    FerryJson *j = ferry_json_new_event("operation");

    ferry_json_string(j, "op", op->op);
    ferry_json_string(j, "domain", ferry_journal_op_get(op, "name"));
    ferry_json_string(j, "uuid", ferry_journal_op_get(op, "uuid"));
    ferry_json_string(j, "source", ferry_journal_op_get(op, "source"));
    ferry_json_string(j, "destination", ferry_journal_op_get(op, "destination"));
    ferry_json_string(j, "mode", ferry_journal_op_get(op, "mode"));
    ferry_json_string(j, "state", state);
    if (pid > 0)
        ferry_json_int(j, "pid", pid);
    else
        ferry_json_null(j, "pid");
    ferry_json_string(j, "last_step", step);
    ferry_json_string(j, "last_step_time", time);
    ferry_json_string(j, "log", ferry_journal_op_last(op, "log", "path"));
    if (!job) {
        ferry_json_null(j, "job");
    } else {
        ferry_json_begin_object(j, "job");
        ferry_json_string(j, "host", job->host);
        ferry_json_bool(j, "running", job->have_job);
        ferry_json_string(j, "why", job->have_job ? NULL : job->why);
        if (job->have_job) {
            ferry_json_uint(j, "elapsed_ms", job->elapsed_ms);
            ferry_json_uint(j, "memory_processed_bytes", job->sample.mem_processed);
            ferry_json_uint(j, "memory_total_bytes", job->sample.mem_total);
            ferry_json_uint(j, "memory_pass", job->sample.mem_iteration);
            ferry_json_uint(j, "disk_processed_bytes", job->sample.disk_processed);
            ferry_json_uint(j, "disk_total_bytes", job->sample.disk_total);
        }
        ferry_json_end_object(j);
    }
    ferry_json_print(j);
}

static void
print_op(const FerryInventory *inventory, const FerryJournalOp *op, int pid, gboolean json)
{
    const char *time = NULL;
    const char *step = op_last_step(op, &time);
    const char *log = ferry_journal_op_last(op, "log", "path");
    const char *state;
    g_autofree char *state_text = NULL;
    g_autofree char *job_text = NULL;
    OpJob job = {0};
    gboolean asked = FALSE;

    if (pid > 0)
        state = "running";
    else if (op->ended)
        state = ferry_journal_op_last(op, "recovered", "result")
                    ? "recovered"
                    : ferry_journal_op_last(op, "end", "result");
    else
        state = "unfinished";
    if (pid > 0 && g_strcmp0(ferry_journal_op_get(op, "mode"), "cold") != 0 &&
        ferry_journal_op_find(op, "migrate-begin") &&
        !ferry_journal_op_find(op, "migrate-returned")) {
        op_job_ask(inventory, op, &job);
        asked = TRUE;
    }
    if (json) {
        print_op_json(op, pid, state, step, time, asked ? &job : NULL);
        g_free(job.why);
        return;
    }
    if (pid > 0)
        state_text = g_strdup_printf("running (pid %d)", pid);
    else if (!op->ended)
        state_text = g_strdup("unfinished, no ferry runs it (run 'ferry recover')");
    printf("%s '%s' %s -> %s %s: %s; last step '%s' at %s\n", op->op,
           ferry_journal_op_get(op, "name"), ferry_journal_op_get(op, "source"),
           ferry_journal_op_get(op, "destination"), ferry_journal_op_get(op, "mode"),
           state_text ? state_text : state ? state : "?", step, time);
    if (asked)
        printf("    %s%s\n", (job_text = op_job_format(&job)),
               ferry_journal_op_find(op, "postcopy-switched") ? " (post-copy)" : "");
    if (log)
        printf("    log: %s\n", log);
    g_free(job.why);
}

static gboolean
status_run(FerryCli *cli, int argc, char **argv, gboolean *json_out, GError **error)
{
    gboolean all = FALSE, json = FALSE;
    const GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &json,
         "One JSON line per operation (event 'operation': op, domain, uuid, source, "
         "destination, mode, state, pid, last_step, last_step_time, log, job), then the result "
         "line",
         NULL},
        {"all", 'a', 0, G_OPTION_ARG_NONE, &all,
         "Every operation in the journal (default: running ones and the last " G_STRINGIFY(
             STATUS_RECENT) ")",
         NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new(NULL);
    g_autoptr(GPtrArray) ops = NULL;
    g_autofree char *state_dir = NULL;
    FerryInventory *inventory;
    guint ended = 0, shown = 0;

    g_option_context_set_summary(
        context, "Lists ferry's operations, running and recent, from the journal in the state "
                 "directory: the guest, its hosts, running (with the job's progress asked of the "
                 "source host) or how it ended, the last step, and its log file.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!ferry_cli_parse(context, &argc, &argv, entries, error))
        return FALSE;
    *json_out = json;
    if (argc != 1) {
        ferry_cli_usage_error(error, "status takes no argument (see --help)");
        return FALSE;
    }
    if (!(inventory = ferry_cli_inventory(cli, error)))
        return FALSE;
    if (!(ops = ferry_journal_list(inventory, error)))
        return FALSE;
    state_dir = ferry_journal_state_dir(inventory);
    for (guint i = 0; i < ops->len; i++)
        ended += ((FerryJournalOp *)g_ptr_array_index(ops, i))->ended;
    /* oldest first; ended ones only among the last few */
    for (guint i = 0; i < ops->len; i++) {
        const FerryJournalOp *op = g_ptr_array_index(ops, i);
        int pid = ferry_journal_op_running_pid(inventory, op);

        if (op->ended && !all && ended-- > STATUS_RECENT)
            continue;
        print_op(inventory, op, pid, json);
        shown++;
    }
    if (json) {
        FerryJson *j = ferry_json_new_event("result");

        ferry_json_string(j, "command", "status");
        ferry_json_bool(j, "ok", TRUE);
        ferry_json_string(j, "state_dir", state_dir);
        ferry_json_uint(j, "operations", shown);
        ferry_json_null(j, "error");
        ferry_json_print(j);
    } else if (!shown) {
        printf("no operation in %s\n", state_dir);
    }
    return TRUE;
}

gboolean
ferry_cmd_status(FerryCli *cli, int argc, char **argv, GError **error)
{
    gboolean json = FALSE;

    if (status_run(cli, argc, argv, &json, error))
        return TRUE;
    if (json)
        ferry_json_print_failure("status", *error);
    return FALSE;
}

/* ---- abort */

/* The running operation on @domain (name or UUID), with its pid; NULL when none runs. */
static const FerryJournalOp *
find_running(const FerryInventory *inventory, GPtrArray *ops, const char *domain, int *pid)
{
    for (guint i = ops->len; i > 0; i--) {
        const FerryJournalOp *op = g_ptr_array_index(ops, i - 1);

        if (op->ended || (g_strcmp0(ferry_journal_op_get(op, "name"), domain) != 0 &&
                          g_ascii_strcasecmp(ferry_journal_op_get(op, "uuid") ?: "", domain) != 0))
            continue;
        if ((*pid = ferry_journal_op_running_pid(inventory, op)) > 0)
            return op;
    }
    return NULL;
}

/* The process is a `ferry migrate` (a `ferry recover` holding the lock is not aborted: it
 * finishes what a dead ferry left). */
static gboolean
pid_is_ferry_migrate(int pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/comm", pid);
    g_autofree char *cmdline_path = g_strdup_printf("/proc/%d/cmdline", pid);
    g_autofree char *comm = NULL;
    g_autofree char *cmdline = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &comm, NULL, NULL) ||
        !g_file_get_contents(cmdline_path, &cmdline, &len, NULL))
        return FALSE;
    g_strstrip(comm);
    if (!g_str_has_prefix(comm, "ferry"))
        return FALSE;
    for (gsize i = 0; i < len; i += strlen(cmdline + i) + 1)
        if (g_str_equal(cmdline + i, "migrate"))
            return TRUE;
    return FALSE;
}

gboolean
ferry_cmd_abort(FerryCli *cli, int argc, char **argv, GError **error)
{
    double wait_s = 120;
    const GOptionEntry entries[] = {
        {"wait", 0, 0, G_OPTION_ARG_DOUBLE, &wait_s,
         "How long to wait for the operation's end, in seconds (default 120; 0: do not wait)",
         "SECONDS"},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("DOMAIN");
    g_autoptr(GPtrArray) ops = NULL;
    FerryInventory *inventory;
    const FerryJournalOp *op;
    const char *domain, *no_return, *result, *log;
    g_autofree char *op_id = NULL;
    gint64 deadline;
    int pid = 0;

    g_option_context_set_summary(
        context, "Aborts the migration of DOMAIN that a ferry runs, from another shell, by the "
                 "same rules as Ctrl-C there: the job is aborted and that ferry rolls back (the "
                 "guest stays on its source).  After a switch to post-copy, or once the guest "
                 "has moved, abort is no longer possible: it says so and what happens instead.  "
                 "Waits for the operation's end and reports it (exit 0: aborted and rolled "
                 "back; 1: it was not aborted).");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!ferry_cli_parse(context, &argc, &argv, entries, error))
        return FALSE;
    if (argc != 2) {
        ferry_cli_usage_error(error, "abort takes exactly one DOMAIN (see --help)");
        return FALSE;
    }
    if (!isfinite(wait_s) || wait_s < 0 || wait_s > 24 * 3600) {
        ferry_cli_usage_error(error, "--wait takes a number of seconds from 0 to 86400, not %g",
                              wait_s);
        return FALSE;
    }
    domain = argv[1];
    if (!(inventory = ferry_cli_inventory(cli, error)))
        return FALSE;
    if (!(ops = ferry_journal_list(inventory, error)))
        return FALSE;
    if (!(op = find_running(inventory, ops, domain, &pid))) {
        g_autofree char *state_dir = ferry_journal_state_dir(inventory);

        ferry_cli_usage_error(error, "no ferry is running an operation on '%s' (journal in "
                              "'%s'; see 'ferry status')",
                              domain, state_dir);
        return FALSE;
    }
    if (!pid_is_ferry_migrate(pid)) {
        g_set_error(error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_USAGE,
                    "the lock of '%s' is held by pid %d, which is not a 'ferry migrate' (a "
                    "'ferry recover' is not aborted): nothing sent",
                    domain, pid);
        return FALSE;
    }
    op_id = g_strdup(op->op);
    log = ferry_journal_op_last(op, "log", "path");
    /* Sent even past the point of no return: the running ferry is the one that decides (its
     * log records the request and its answer). */
    if (kill(pid, SIGTERM) < 0) {
        g_set_error(error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_FAILED,
                    "cannot signal ferry pid %d running '%s': %s", pid, domain, g_strerror(errno));
        fprintf(stderr, "ferry: %s\n", (*error)->message);
        return FALSE;
    }
    if ((no_return = op_past_no_return(op))) {
        printf("abort of '%s' (op %s, ferry pid %d) is no longer possible: %s%s%s\n",
               ferry_journal_op_get(op, "name"), op_id, pid, no_return, log ? "; log: " : "",
               log ? log : "");
        g_set_error(error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_FAILED, "not aborted");
        return FALSE;
    }
    printf("asked ferry pid %d to abort op %s ('%s' %s -> %s)%s%s\n", pid, op_id,
           ferry_journal_op_get(op, "name"), ferry_journal_op_get(op, "source"),
           ferry_journal_op_get(op, "destination"), log ? "; log: " : "", log ? log : "");
    fflush(stdout);
    if (wait_s == 0)
        return TRUE;

    /* its end, from the journal */
    deadline = g_get_monotonic_time() + (gint64)(wait_s * G_USEC_PER_SEC);
    for (;;) {
        g_autoptr(GPtrArray) now = ferry_journal_list(inventory, NULL);
        const FerryJournalOp *cur = NULL;

        for (guint i = 0; now && i < now->len; i++)
            if (g_str_equal(((FerryJournalOp *)g_ptr_array_index(now, i))->op, op_id))
                cur = g_ptr_array_index(now, i);
        if (cur && (cur->ended || ferry_journal_op_running_pid(inventory, cur) == 0)) {
            result = ferry_journal_op_last(cur, "end", "result");
            if (g_strcmp0(result, "rolled-back") == 0) {
                printf("aborted: '%s' stays on %s (rolled back)\n",
                       ferry_journal_op_get(cur, "name"), ferry_journal_op_get(cur, "source"));
                return TRUE;
            }
            if (g_strcmp0(result, "done") == 0)
                printf("not aborted: the abort came too late, '%s' moved to %s\n",
                       ferry_journal_op_get(cur, "name"),
                       ferry_journal_op_get(cur, "destination"));
            else if ((no_return = op_past_no_return(cur)))
                printf("not aborted: %s (%s)\n", no_return,
                       result ? result : "its ferry ended without an end record: run 'ferry "
                                         "recover'");
            else
                printf("the operation ended: %s\n",
                       result ? result : "without an end record: run 'ferry recover'");
            g_set_error(error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_FAILED, "not aborted");
            return FALSE;
        }
        if (g_get_monotonic_time() >= deadline)
            break;
        g_usleep(200 * 1000);
    }
    g_set_error(error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_FAILED,
                "ferry pid %d has not ended op %s within %g s (see 'ferry status')", pid, op_id,
                wait_s);
    fprintf(stderr, "ferry: %s\n", (*error)->message);
    return FALSE;
}
