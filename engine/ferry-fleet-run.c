/*
 * ferry-fleet-run.c: the scheduler (the caller's thread) starts moves as the limits allow and
 * waits for them; each move runs ferry_migrate() in its own thread.
 *
 * ferry_migrate() is safe to run in several threads at once: each move has its own
 * connections, ssh sessions (libssh2_init is done once, under g_once), monitor thread and
 * journal with its own flock()ed guest lock (flock is per open file, so two threads of one
 * process exclude each other like two processes); the cancellable is shared, which is what a
 * Ctrl-C means.  What is process-wide is only informative (the journal's "what runs now", for
 * the second Ctrl-C, names the last move that reported).
 */
#include "engine/ferry-fleet-run.h"

#include "engine/ferry-migrate.h"

static const char *const state_names[] = {
    [FERRY_FLEET_MOVE_PENDING] = "pending",
    [FERRY_FLEET_MOVE_RUNNING] = "running",
    [FERRY_FLEET_MOVE_DONE] = "done",
    [FERRY_FLEET_MOVE_FAILED] = "failed",
    [FERRY_FLEET_MOVE_SKIPPED] = "skipped",
};
G_STATIC_ASSERT(G_N_ELEMENTS(state_names) == FERRY_FLEET_MOVE_LAST);

const char *
ferry_fleet_move_state_to_string(FerryFleetMoveState state)
{
    return state < FERRY_FLEET_MOVE_LAST ? state_names[state] : "unknown";
}

static void
fleet_move_free(FerryFleetMove *move)
{
    g_clear_pointer(&move->result, ferry_migrate_result_free);
    g_clear_error(&move->error);
    g_clear_pointer(&move->control, ferry_monitor_control_free);
    g_free(move);
}

void
ferry_fleet_run_free(FerryFleetRun *run)
{
    if (!run)
        return;
    g_ptr_array_unref(run->moves);
    g_free(run);
}

typedef struct {
    FerryInventory *inventory;
    const FerryFleetRunOptions *options;
    FerryFleetRun *run;
    GMutex lock;       /* the moves' states and the counts */
    GCond cond;        /* a move ended */
    GMutex event_lock; /* one event at a time to the caller */
    GHashTable *out;   /* host -> moves running out of it */
    GHashTable *in;    /* host -> moves running into it */
    guint running;
    guint running_live;
    gint64 start_us;
} FleetRunner;

typedef struct {
    FleetRunner *runner;
    guint index;
    FerryFleetMove *move;
} FleetWorker;

static void
fleet_emit(FleetRunner *r, FerryFleetEventKind kind, guint index,
           const FerryMigrateEvent *migrate)
{
    FerryFleetEvent event = {
        .kind = kind,
        .index = index,
        .move = g_ptr_array_index(r->run->moves, index),
        .migrate = migrate,
    };

    if (!r->options->event_func)
        return;
    g_mutex_lock(&r->event_lock);
    r->options->event_func(&event, r->options->event_data);
    g_mutex_unlock(&r->event_lock);
}

static void
fleet_on_migrate_event(const FerryMigrateEvent *event, gpointer user_data)
{
    FleetWorker *w = user_data;
    FerryFleetMove *move = w->move;

    g_mutex_lock(&w->runner->lock);
    if (event->kind == FERRY_EVENT_PHASE)
        move->phase = event->phase;
    if (event->kind == FERRY_EVENT_SAMPLE && event->sample) {
        const FerryJobSample *s = event->sample;

        if (s->data_total)
            move->percent = 100.0 * (double)s->data_processed / (double)s->data_total;
        move->rate_bps = s->mem_bps + s->disk_bps;
        /* libvirt reports no rate in some phases (the disk mirror): from the last sample */
        if (!move->rate_bps && s->elapsed_s > move->prev_elapsed_s &&
            s->data_processed >= move->prev_processed && move->prev_elapsed_s > 0)
            move->rate_bps = (guint64)((s->data_processed - move->prev_processed) /
                                       (s->elapsed_s - move->prev_elapsed_s));
        move->prev_processed = s->data_processed;
        move->prev_elapsed_s = s->elapsed_s;
    }
    g_mutex_unlock(&w->runner->lock);
    fleet_emit(w->runner, FERRY_FLEET_EVENT_MIGRATE, w->index, event);
}

static guint
count(GHashTable *table, const char *host)
{
    return GPOINTER_TO_UINT(g_hash_table_lookup(table, host));
}

static void
count_add(GHashTable *table, const char *host, int delta)
{
    g_hash_table_insert(table, (gpointer)host, GUINT_TO_POINTER(count(table, host) + delta));
}

/* The total bandwidth shared again between the live moves running.  Under the lock. */
static void
fleet_share_bandwidth(FleetRunner *r)
{
    guint64 share;

    if (!r->options->bandwidth_mib || !r->running_live)
        return;
    share = MAX(r->options->bandwidth_mib / r->running_live, 1);
    for (guint i = 0; i < r->run->moves->len; i++) {
        FerryFleetMove *move = g_ptr_array_index(r->run->moves, i);

        if (move->state != FERRY_FLEET_MOVE_RUNNING || move->move->mode == FERRY_PLACE_MOVE_COLD ||
            move->bandwidth_mib == share)
            continue;
        move->bandwidth_mib = share;
        ferry_monitor_control_set_bandwidth(move->control, share);
    }
}

static gpointer
fleet_worker(gpointer data)
{
    FleetWorker *w = data;
    FleetRunner *r = w->runner;
    FerryFleetMove *move = w->move;
    FerryMigrateOptions options = *r->options->migrate;
    g_autoptr(GError) error = NULL;
    FerryMigrateResult *result;
    gint64 started = g_get_monotonic_time();

    options.domain = move->move->uuid ? move->move->uuid : move->move->guest;
    options.src_host = move->move->src;
    options.dst_host = move->move->dst;
    options.mode = FERRY_MIGRATE_MODE_AUTO;
    options.bandwidth_mib = move->bandwidth_mib;
    options.control = move->control;
    options.event_func = fleet_on_migrate_event;
    options.event_data = w;
    options.cancellable = r->options->cancellable;
    result = ferry_migrate(r->inventory, &options, &error);

    g_mutex_lock(&r->lock);
    move->elapsed_s = (g_get_monotonic_time() - started) / (double)G_USEC_PER_SEC;
    if (result) {
        move->state = FERRY_FLEET_MOVE_DONE;
        move->result = result;
        move->percent = 100;
        r->run->n_done++;
    } else {
        move->state = FERRY_FLEET_MOVE_FAILED;
        move->error = g_steal_pointer(&error);
        r->run->n_failed++;
    }
    count_add(r->out, move->move->src, -1);
    count_add(r->in, move->move->dst, -1);
    r->running--;
    if (move->move->mode != FERRY_PLACE_MOVE_COLD)
        r->running_live--;
    fleet_share_bandwidth(r);
    g_mutex_unlock(&r->lock);
    fleet_emit(r, FERRY_FLEET_EVENT_FINISHED, w->index, NULL);
    g_mutex_lock(&r->lock);
    g_cond_signal(&r->cond);
    g_mutex_unlock(&r->lock);
    return NULL;
}

/* Under the lock. */
static void
fleet_skip(FleetRunner *r, guint index, const char *why)
{
    FerryFleetMove *move = g_ptr_array_index(r->run->moves, index);

    move->state = FERRY_FLEET_MOVE_SKIPPED;
    move->error = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CANCELLED, why);
    r->run->n_skipped++;
    g_mutex_unlock(&r->lock);
    fleet_emit(r, FERRY_FLEET_EVENT_FINISHED, index, NULL);
    g_mutex_lock(&r->lock);
}

FerryFleetRun *
ferry_fleet_run(FerryInventory *inventory, const FerryPlacePlan *plan,
                const FerryFleetRunOptions *options)
{
    FleetRunner r = {.inventory = inventory, .options = options};
    guint per_source = options->per_source ? options->per_source : FERRY_FLEET_DEFAULT_PER_SOURCE;
    guint per_dest = options->per_dest ? options->per_dest : FERRY_FLEET_DEFAULT_PER_DEST;
    guint total = options->total ? options->total : FERRY_FLEET_DEFAULT_TOTAL;
    g_autoptr(GPtrArray) threads = g_ptr_array_new();
    g_autofree FleetWorker *workers = g_new0(FleetWorker, plan->moves->len + 1);
    gboolean ask = options->prompt_func != NULL;
    const char *quit = NULL;

    r.run = g_new0(FerryFleetRun, 1);
    r.run->moves = g_ptr_array_new_with_free_func((GDestroyNotify)fleet_move_free);
    for (guint i = 0; i < plan->moves->len; i++) {
        FerryFleetMove *move = g_new0(FerryFleetMove, 1);

        move->move = g_ptr_array_index(plan->moves, i);
        move->percent = -1;
        move->control = ferry_monitor_control_new();
        g_ptr_array_add(r.run->moves, move);
    }
    g_mutex_init(&r.lock);
    g_cond_init(&r.cond);
    g_mutex_init(&r.event_lock);
    r.out = g_hash_table_new(g_str_hash, g_str_equal);
    r.in = g_hash_table_new(g_str_hash, g_str_equal);
    r.start_us = g_get_monotonic_time();

    g_mutex_lock(&r.lock);
    for (;;) {
        gboolean pending = FALSE;

        if (!quit && g_cancellable_is_cancelled(options->cancellable))
            quit = "not begun: the run was cancelled";
        for (guint i = 0; i < r.run->moves->len; i++) {
            FerryFleetMove *move = g_ptr_array_index(r.run->moves, i);
            const FerryPlaceMove *pm = move->move;

            if (move->state != FERRY_FLEET_MOVE_PENDING)
                continue;
            if (quit) {
                fleet_skip(&r, i, quit);
                continue;
            }
            pending = TRUE;
            if (r.running >= total || count(r.out, pm->src) >= per_source ||
                count(r.in, pm->dst) >= per_dest)
                continue;
            if (ask) {
                FerryFleetAnswer answer;

                g_mutex_unlock(&r.lock);
                answer = options->prompt_func(pm, options->prompt_data);
                g_mutex_lock(&r.lock);
                if (g_cancellable_is_cancelled(options->cancellable))
                    answer = FERRY_FLEET_ANSWER_QUIT;
                if (answer == FERRY_FLEET_ANSWER_NO) {
                    fleet_skip(&r, i, "not begun: declined at the prompt");
                    continue;
                }
                if (answer == FERRY_FLEET_ANSWER_QUIT) {
                    quit = "not begun: quit at the prompt";
                    fleet_skip(&r, i, quit);
                    continue;
                }
                if (answer == FERRY_FLEET_ANSWER_ALL)
                    ask = FALSE;
                /* the limits may have filled while the operator thought */
                /* asked already: start it as soon as there is room, without asking again */
                while ((r.running >= total || count(r.out, pm->src) >= per_source ||
                        count(r.in, pm->dst) >= per_dest) &&
                       !g_cancellable_is_cancelled(options->cancellable))
                    g_cond_wait_until(&r.cond, &r.lock,
                                      g_get_monotonic_time() + G_USEC_PER_SEC / 2);
                if (g_cancellable_is_cancelled(options->cancellable)) {
                    quit = "not begun: the run was cancelled";
                    fleet_skip(&r, i, quit);
                    continue;
                }
            }
            move->state = FERRY_FLEET_MOVE_RUNNING;
            move->started_s = (g_get_monotonic_time() - r.start_us) / (double)G_USEC_PER_SEC;
            count_add(r.out, pm->src, 1);
            count_add(r.in, pm->dst, 1);
            r.running++;
            if (pm->mode != FERRY_PLACE_MOVE_COLD)
                r.running_live++;
            if (options->bandwidth_mib && pm->mode != FERRY_PLACE_MOVE_COLD)
                move->bandwidth_mib = MAX(options->bandwidth_mib / r.running_live, 1);
            fleet_share_bandwidth(&r);
            workers[i] = (FleetWorker){.runner = &r, .index = i, .move = move};
            g_mutex_unlock(&r.lock);
            fleet_emit(&r, FERRY_FLEET_EVENT_STARTED, i, NULL);
            g_ptr_array_add(threads, g_thread_new("ferry-move", fleet_worker, &workers[i]));
            g_mutex_lock(&r.lock);
        }
        if (!pending && !r.running)
            break;
        /* a move ended, or a second look at the cancellable */
        g_cond_wait_until(&r.cond, &r.lock, g_get_monotonic_time() + G_USEC_PER_SEC / 2);
    }
    g_mutex_unlock(&r.lock);
    for (guint i = 0; i < threads->len; i++)
        g_thread_join(g_ptr_array_index(threads, i));
    r.run->total_s = (g_get_monotonic_time() - r.start_us) / (double)G_USEC_PER_SEC;
    g_hash_table_unref(r.out);
    g_hash_table_unref(r.in);
    g_mutex_clear(&r.lock);
    g_cond_clear(&r.cond);
    g_mutex_clear(&r.event_lock);
    return g_steal_pointer(&r.run);
}
