/*
 * ferry-placement.c: largest first, each guest to the allowed host with the most memory left
 * after it.  The rules are in ferry-placement.h.
 */
#include "engine/ferry-placement.h"

#include <math.h>
#include <string.h>

static const char *const state_names[] = {
    [FERRY_PLACE_RUNNING] = "running",
    [FERRY_PLACE_PAUSED] = "paused",
    [FERRY_PLACE_SHUTOFF] = "shut off",
};
G_STATIC_ASSERT(G_N_ELEMENTS(state_names) == FERRY_PLACE_STATE_LAST);

static const char *const mode_names[] = {
    [FERRY_PLACE_MOVE_LIVE] = "live",
    [FERRY_PLACE_MOVE_LIVE_PAUSED] = "live-paused",
    [FERRY_PLACE_MOVE_COLD] = "cold",
};
G_STATIC_ASSERT(G_N_ELEMENTS(mode_names) == FERRY_PLACE_MOVE_LAST);

const char *
ferry_place_state_to_string(FerryPlaceState state)
{
    return state < FERRY_PLACE_STATE_LAST ? state_names[state] : "unknown";
}

const char *
ferry_place_move_mode_to_string(FerryPlaceMoveMode mode)
{
    return mode < FERRY_PLACE_MOVE_LAST ? mode_names[mode] : "unknown";
}

static void
place_move_free(FerryPlaceMove *move)
{
    g_free(move->guest);
    g_free(move->uuid);
    g_free(move->src);
    g_free(move->dst);
    g_free(move->why);
    g_free(move);
}

static void
place_outcome_free(FerryPlaceOutcome *outcome)
{
    g_free(outcome->guest);
    g_free(outcome->host);
    g_free(outcome->reason);
    g_free(outcome);
}

void
ferry_place_plan_free(FerryPlacePlan *plan)
{
    if (!plan)
        return;
    g_ptr_array_unref(plan->moves);
    g_ptr_array_unref(plan->in_place);
    g_ptr_array_unref(plan->misfits);
    g_free(plan);
}

guint
ferry_placement_vcpu_capacity(const FerryPlaceHost *host, double ratio)
{
    if (ratio <= 0)
        ratio = FERRY_PLACEMENT_DEFAULT_VCPU_RATIO;
    return (guint)floor(host->cpus * ratio + 1e-9);
}

/* What the plan has given each host so far. */
typedef struct {
    const FerryPlaceHost *host;
    guint64 mem_taken;
    guint vcpus_taken;
    guint64 disk_taken;
    guint moves;
} PlaceLoad;

static guint64
mem_room(const PlaceLoad *load)
{
    guint64 usable = load->host->mem_available_bytes > load->host->mem_reserved_bytes
                         ? load->host->mem_available_bytes - load->host->mem_reserved_bytes
                         : 0;

    return usable > load->mem_taken ? usable - load->mem_taken : 0;
}

static guint64
disk_room(const PlaceLoad *load)
{
    guint64 usable = load->host->disk_free_bytes > load->host->disk_reserved_bytes
                         ? load->host->disk_free_bytes - load->host->disk_reserved_bytes
                         : 0;

    return usable > load->disk_taken ? usable - load->disk_taken : 0;
}

#define MIB(bytes) ((bytes) >> 20)

/* Why @guest cannot go to @load's host (a new string), or NULL when it can. */
static char *
place_refusal(const PlaceLoad *load, const FerryPlaceGuest *guest,
              const FerryPlaceSettings *settings)
{
    const FerryPlaceHost *host = load->host;
    GHashTable *cpu = settings->cpu_refused
                          ? g_hash_table_lookup(settings->cpu_refused, guest->name)
                          : NULL;
    const char *cpu_reason = cpu ? g_hash_table_lookup(cpu, host->name) : NULL;
    guint vcap = ferry_placement_vcpu_capacity(host, settings->vcpu_ratio);

    if (!host->reachable)
        return g_strdup("not reachable");
    if (cpu_reason)
        return g_strdup_printf("CPU: %s", cpu_reason);
    if (mem_room(load) < guest->memory_bytes)
        return g_strdup_printf("needs %" G_GUINT64_FORMAT " MiB of memory, %" G_GUINT64_FORMAT
                               " MiB left (available %" G_GUINT64_FORMAT " MiB - reserve %"
                               G_GUINT64_FORMAT " MiB - %" G_GUINT64_FORMAT
                               " MiB already planned)",
                               MIB(guest->memory_bytes), MIB(mem_room(load)),
                               MIB(host->mem_available_bytes), MIB(host->mem_reserved_bytes),
                               MIB(load->mem_taken));
    if (host->vcpus_committed + load->vcpus_taken + guest->vcpus > vcap)
        return g_strdup_printf("needs %u vCPUs, %u of %u committed (%u CPUs x %.1f)",
                               guest->vcpus, host->vcpus_committed + load->vcpus_taken, vcap,
                               host->cpus,
                               settings->vcpu_ratio > 0 ? settings->vcpu_ratio
                                                        : FERRY_PLACEMENT_DEFAULT_VCPU_RATIO);
    if (host->disk_known && guest->stream_bytes > disk_room(load))
        return g_strdup_printf("needs %" G_GUINT64_FORMAT " MiB of disk space for its local "
                               "disks, %" G_GUINT64_FORMAT " MiB left",
                               MIB(guest->stream_bytes + (1 << 20) - 1), MIB(disk_room(load)));
    return NULL;
}

static gint
guest_cmp(gconstpointer a, gconstpointer b)
{
    const FerryPlaceGuest *x = *(const FerryPlaceGuest *const *)a;
    const FerryPlaceGuest *y = *(const FerryPlaceGuest *const *)b;

    if (x->memory_bytes != y->memory_bytes)
        return x->memory_bytes > y->memory_bytes ? -1 : 1;
    if (x->stream_bytes != y->stream_bytes)
        return x->stream_bytes > y->stream_bytes ? -1 : 1;
    return g_strcmp0(x->name, y->name);
}

static FerryPlaceMoveMode
mode_for(FerryPlaceState state)
{
    switch (state) {
    case FERRY_PLACE_PAUSED:
        return FERRY_PLACE_MOVE_LIVE_PAUSED;
    case FERRY_PLACE_SHUTOFF:
        return FERRY_PLACE_MOVE_COLD;
    case FERRY_PLACE_RUNNING:
    case FERRY_PLACE_STATE_LAST:
        break;
    }
    return FERRY_PLACE_MOVE_LIVE;
}

static void
add_outcome(GPtrArray *list, const char *guest, const char *host, char *reason)
{
    FerryPlaceOutcome *o = g_new0(FerryPlaceOutcome, 1);

    o->guest = g_strdup(guest);
    o->host = g_strdup(host);
    o->reason = reason;
    g_ptr_array_add(list, o);
}

static gboolean
host_allowed(const FerryPlaceSettings *settings, const FerryPlaceHost *host,
             const FerryPlaceGuest *guest)
{
    if (g_strcmp0(host->name, guest->host) == 0)
        return FALSE;
    return !settings->allowed || g_strv_contains(settings->allowed, host->name);
}

static void
take(PlaceLoad *load, const FerryPlaceGuest *guest)
{
    load->mem_taken += guest->memory_bytes;
    /* a shut-off guest's vCPUs count once it runs: as for memory, it is placed where it can */
    load->vcpus_taken += guest->vcpus;
    load->disk_taken += guest->stream_bytes;
    load->moves++;
}

FerryPlacePlan *
ferry_placement_plan(GPtrArray *hosts, GPtrArray *guests, const FerryPlaceSettings *settings)
{
    FerryPlacePlan *plan = g_new0(FerryPlacePlan, 1);
    g_autoptr(GPtrArray) order = g_ptr_array_new();
    g_autofree PlaceLoad *loads = g_new0(PlaceLoad, hosts->len ? hosts->len : 1);
    FerryPlaceSettings defaults = {0};

    if (!settings)
        settings = &defaults;
    plan->moves = g_ptr_array_new_with_free_func((GDestroyNotify)place_move_free);
    plan->in_place = g_ptr_array_new_with_free_func((GDestroyNotify)place_outcome_free);
    plan->misfits = g_ptr_array_new_with_free_func((GDestroyNotify)place_outcome_free);
    for (guint i = 0; i < hosts->len; i++)
        loads[i].host = g_ptr_array_index(hosts, i);
    for (guint i = 0; i < guests->len; i++)
        g_ptr_array_add(order, g_ptr_array_index(guests, i));
    g_ptr_array_sort(order, guest_cmp);

    for (guint i = 0; i < order->len; i++) {
        const FerryPlaceGuest *guest = g_ptr_array_index(order, i);
        g_autoptr(GString) why_not = g_string_new(NULL);
        PlaceLoad *best = NULL;
        FerryPlaceMove *move;

        if (guest->refused) {
            add_outcome(plan->misfits, guest->name, guest->wanted_host, g_strdup(guest->refused));
            continue;
        }
        if (guest->wanted_host && g_strcmp0(guest->wanted_host, guest->host) == 0) {
            add_outcome(plan->in_place, guest->name, guest->host, NULL);
            continue;
        }
        for (guint h = 0; h < hosts->len; h++) {
            PlaceLoad *load = &loads[h];
            g_autofree char *refusal = NULL;

            if (guest->wanted_host ? g_strcmp0(load->host->name, guest->wanted_host) != 0
                                   : !host_allowed(settings, load->host, guest))
                continue;
            if ((refusal = place_refusal(load, guest, settings))) {
                g_string_append_printf(why_not, "%s%s: %s", why_not->len ? "; " : "",
                                       load->host->name, refusal);
                continue;
            }
            if (!best || mem_room(load) - guest->memory_bytes >
                             mem_room(best) - guest->memory_bytes ||
                (mem_room(load) == mem_room(best) && load->moves < best->moves))
                best = load;
        }
        if (!best) {
            if (!why_not->len)
                g_string_append(why_not, guest->wanted_host
                                             ? "that host is not in the inventory"
                                             : "no other host to go to");
            add_outcome(plan->misfits, guest->name, guest->wanted_host,
                        g_string_free(g_steal_pointer(&why_not), FALSE));
            continue;
        }
        move = g_new0(FerryPlaceMove, 1);
        move->guest = g_strdup(guest->name);
        move->uuid = g_strdup(guest->uuid);
        move->src = g_strdup(guest->host);
        move->dst = g_strdup(best->host->name);
        move->mode = mode_for(guest->state);
        move->memory_bytes = guest->memory_bytes;
        move->stream_bytes = guest->stream_bytes;
        move->why = guest->wanted_host
                        ? g_strdup_printf("the host map puts it there; %" G_GUINT64_FORMAT
                                          " MiB of memory left after it",
                                          MIB(mem_room(best) - guest->memory_bytes))
                        : g_strdup_printf("most memory left after it: %" G_GUINT64_FORMAT
                                          " MiB; vCPUs %u/%u",
                                          MIB(mem_room(best) - guest->memory_bytes),
                                          best->host->vcpus_committed + best->vcpus_taken +
                                              guest->vcpus,
                                          ferry_placement_vcpu_capacity(best->host,
                                                                        settings->vcpu_ratio));
        take(best, guest);
        g_ptr_array_add(plan->moves, move);
    }
    return plan;
}
