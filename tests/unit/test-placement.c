/*
 * test-placement.c: where an evacuation or a host map puts each guest (ferry-placement.c), and
 * the host map file (ferry-hostmap.c): what it accepts, what it refuses and how it says so.
 */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/ferry-hostmap.h"
#include "engine/ferry-placement.h"

#define MiB (G_GUINT64_CONSTANT(1) << 20)
#define GiB (G_GUINT64_CONSTANT(1) << 30)

static FerryPlaceHost *
host(const char *name, guint64 avail, guint cpus, guint committed)
{
    FerryPlaceHost *h = g_new0(FerryPlaceHost, 1);

    h->name = name;
    h->reachable = TRUE;
    h->mem_available_bytes = avail;
    h->mem_reserved_bytes = 512 * MiB;
    h->cpus = cpus;
    h->vcpus_committed = committed;
    return h;
}

static FerryPlaceGuest *
guest(const char *name, const char *on, FerryPlaceState state, guint64 mem, guint vcpus)
{
    FerryPlaceGuest *g = g_new0(FerryPlaceGuest, 1);

    g->name = name;
    g->uuid = name;
    g->host = on;
    g->state = state;
    g->memory_bytes = mem;
    g->vcpus = vcpus;
    return g;
}

static const FerryPlaceMove *
move_of(const FerryPlacePlan *plan, const char *name)
{
    for (guint i = 0; i < plan->moves->len; i++) {
        const FerryPlaceMove *m = g_ptr_array_index(plan->moves, i);

        if (g_str_equal(m->guest, name))
            return m;
    }
    g_error("no move of '%s' in the plan", name);
}

static const FerryPlaceOutcome *
misfit_of(const FerryPlacePlan *plan, const char *name)
{
    for (guint i = 0; i < plan->misfits->len; i++) {
        const FerryPlaceOutcome *o = g_ptr_array_index(plan->misfits, i);

        if (g_str_equal(o->guest, name))
            return o;
    }
    g_error("'%s' is not a misfit of the plan", name);
}

/* Largest first, each to the host with the most memory left: 4 GiB goes to the roomier host,
 * then 3 GiB to the other (which has more left by then), 1 GiB back to the first. */
static void
test_largest_first_spreads(void)
{
    g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) guests = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(FerryPlacePlan) plan = NULL;

    g_ptr_array_add(hosts, host("A", 16 * GiB, 8, 0));
    g_ptr_array_add(hosts, host("B", 8 * GiB + 512 * MiB, 8, 0));
    g_ptr_array_add(hosts, host("C", 6 * GiB + 512 * MiB, 8, 0));
    g_ptr_array_add(guests, guest("small", "A", FERRY_PLACE_RUNNING, 1 * GiB, 1));
    g_ptr_array_add(guests, guest("big", "A", FERRY_PLACE_RUNNING, 4 * GiB, 2));
    g_ptr_array_add(guests, guest("mid", "A", FERRY_PLACE_SHUTOFF, 3 * GiB, 2));
    plan = ferry_placement_plan(hosts, guests, NULL);
    g_assert_cmpuint(plan->moves->len, ==, 3);
    g_assert_cmpuint(plan->misfits->len, ==, 0);
    g_assert_cmpstr(((FerryPlaceMove *)g_ptr_array_index(plan->moves, 0))->guest, ==, "big");
    g_assert_cmpstr(((FerryPlaceMove *)g_ptr_array_index(plan->moves, 1))->guest, ==, "mid");
    g_assert_cmpstr(move_of(plan, "big")->dst, ==, "B");
    g_assert_cmpstr(move_of(plan, "mid")->dst, ==, "C");
    g_assert_cmpstr(move_of(plan, "small")->dst, ==, "B");
    g_assert_cmpint(move_of(plan, "mid")->mode, ==, FERRY_PLACE_MOVE_COLD);
    g_assert_cmpint(move_of(plan, "big")->mode, ==, FERRY_PLACE_MOVE_LIVE);
    g_assert_nonnull(strstr(move_of(plan, "big")->why, "most memory left after it: 4096 MiB"));
}

static void
test_paused_stays_paused(void)
{
    g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) guests = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(FerryPlacePlan) plan = NULL;

    g_ptr_array_add(hosts, host("A", 4 * GiB, 2, 0));
    g_ptr_array_add(hosts, host("B", 4 * GiB, 2, 0));
    g_ptr_array_add(guests, guest("p", "A", FERRY_PLACE_PAUSED, 1 * GiB, 1));
    plan = ferry_placement_plan(hosts, guests, NULL);
    g_assert_cmpint(move_of(plan, "p")->mode, ==, FERRY_PLACE_MOVE_LIVE_PAUSED);
    g_assert_cmpstr(ferry_place_move_mode_to_string(FERRY_PLACE_MOVE_LIVE_PAUSED), ==,
                    "live-paused");
}

/* Memory: the reserve and what the plan already gave count; the reason names every host. */
static void
test_memory_misfit(void)
{
    g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) guests = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(FerryPlacePlan) plan = NULL;
    const FerryPlaceOutcome *o;

    g_ptr_array_add(hosts, host("A", 64 * GiB, 8, 0));
    g_ptr_array_add(hosts, host("B", 2 * GiB + 512 * MiB, 8, 0));
    g_ptr_array_add(hosts, host("C", 3 * GiB, 8, 0));
    g_ptr_array_add(guests, guest("g1", "A", FERRY_PLACE_RUNNING, 2 * GiB, 1));
    g_ptr_array_add(guests, guest("g2", "A", FERRY_PLACE_RUNNING, 2 * GiB, 1));
    g_ptr_array_add(guests, guest("g3", "A", FERRY_PLACE_RUNNING, 2 * GiB, 1));
    plan = ferry_placement_plan(hosts, guests, NULL);
    g_assert_cmpuint(plan->moves->len, ==, 2);
    g_assert_cmpuint(plan->misfits->len, ==, 1);
    o = misfit_of(plan, "g3");
    g_assert_nonnull(strstr(o->reason, "B: needs 2048 MiB of memory, 0 MiB left (available "
                                       "2560 MiB - reserve 512 MiB - 2048 MiB already planned)"));
    g_assert_nonnull(strstr(o->reason, "C: needs 2048 MiB of memory, 512 MiB left"));
    g_assert_null(strstr(o->reason, "A:")); /* its own host is no destination */
}

/* vCPUs: cpus x ratio (default 4.0), counting the guests running there. */
static void
test_vcpu_overcommit(void)
{
    g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) guests = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(FerryPlacePlan) plan = NULL;
    g_autoptr(FerryPlacePlan) plan2 = NULL;
    FerryPlaceSettings settings = {.vcpu_ratio = 8.0};

    g_ptr_array_add(hosts, host("A", 64 * GiB, 2, 0));
    g_ptr_array_add(hosts, host("B", 64 * GiB, 2, 6));
    g_ptr_array_add(guests, guest("wide", "A", FERRY_PLACE_RUNNING, 1 * GiB, 4));
    g_assert_cmpuint(ferry_placement_vcpu_capacity(g_ptr_array_index(hosts, 1), 0), ==, 8);
    plan = ferry_placement_plan(hosts, guests, NULL);
    g_assert_cmpuint(plan->moves->len, ==, 0);
    g_assert_nonnull(strstr(misfit_of(plan, "wide")->reason,
                            "B: needs 4 vCPUs, 6 of 8 committed (2 CPUs x 4.0)"));
    plan2 = ferry_placement_plan(hosts, guests, &settings);
    g_assert_cmpstr(move_of(plan2, "wide")->dst, ==, "B");
}

/* Disk space for streamed disks, when known; unreachable hosts and CPU refusals. */
static void
test_disk_cpu_unreachable(void)
{
    g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) guests = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(FerryPlacePlan) plan = NULL;
    g_autoptr(GHashTable) cpu = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                                      (GDestroyNotify)g_hash_table_unref);
    GHashTable *per_host = g_hash_table_new(g_str_hash, g_str_equal);
    FerryPlaceSettings settings = {.cpu_refused = cpu};
    FerryPlaceHost *b, *c, *d;
    FerryPlaceGuest *g;
    const char *reason;

    g_ptr_array_add(hosts, host("A", 64 * GiB, 8, 0));
    g_ptr_array_add(hosts, b = host("B", 64 * GiB, 8, 0));
    g_ptr_array_add(hosts, c = host("C", 32 * GiB, 8, 0));
    g_ptr_array_add(hosts, d = host("D", 128 * GiB, 8, 0));
    b->disk_known = TRUE;
    b->disk_free_bytes = 10 * GiB;
    b->disk_reserved_bytes = 2 * GiB;
    d->reachable = FALSE;
    g_ptr_array_add(guests, g = guest("disky", "A", FERRY_PLACE_RUNNING, 1 * GiB, 1));
    g->stream_bytes = 9 * GiB;
    g_hash_table_insert(per_host, "C", "missing features: avx512f");
    g_hash_table_insert(cpu, "disky", per_host);
    plan = ferry_placement_plan(hosts, guests, &settings);
    g_assert_cmpuint(plan->moves->len, ==, 0);
    reason = misfit_of(plan, "disky")->reason;
    g_assert_nonnull(strstr(reason, "B: needs 9216 MiB of disk space for its local disks, "
                                    "8192 MiB left"));
    g_assert_nonnull(strstr(reason, "C: CPU: missing features: avx512f"));
    g_assert_nonnull(strstr(reason, "D: not reachable"));
    /* disk space not known: not checked here (the move's own precheck checks it) */
    b->disk_known = FALSE;
    g_clear_pointer(&plan, ferry_place_plan_free);
    plan = ferry_placement_plan(hosts, guests, &settings);
    g_assert_cmpstr(move_of(plan, "disky")->dst, ==, "B");
    (void)c;
}

/* --to: only the allowed hosts; a refused guest (on two hosts) is a misfit with its reason. */
static void
test_allowed_and_refused(void)
{
    g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) guests = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(FerryPlacePlan) plan = NULL;
    const char *const allowed[] = {"C", NULL};
    FerryPlaceSettings settings = {.allowed = allowed};
    FerryPlaceGuest *twice;

    g_ptr_array_add(hosts, host("A", 64 * GiB, 8, 0));
    g_ptr_array_add(hosts, host("B", 64 * GiB, 8, 0));
    g_ptr_array_add(hosts, host("C", 8 * GiB, 8, 0));
    g_ptr_array_add(guests, guest("g", "A", FERRY_PLACE_RUNNING, 1 * GiB, 1));
    g_ptr_array_add(guests, twice = guest("twice", "A", FERRY_PLACE_RUNNING, 1 * GiB, 1));
    twice->refused = "running on 'hostA', 'hostB'";
    plan = ferry_placement_plan(hosts, guests, &settings);
    g_assert_cmpstr(move_of(plan, "g")->dst, ==, "C");
    g_assert_cmpstr(misfit_of(plan, "twice")->reason, ==, "running on 'hostA', 'hostB'");
}

/* A wanted host: there or nowhere; already there: in place. */
static void
test_wanted_host(void)
{
    g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) guests = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(FerryPlacePlan) plan = NULL;
    FerryPlaceGuest *a, *b, *c;

    g_ptr_array_add(hosts, host("A", 64 * GiB, 8, 0));
    g_ptr_array_add(hosts, host("B", 2 * GiB, 8, 0));
    g_ptr_array_add(hosts, host("C", 64 * GiB, 8, 0));
    g_ptr_array_add(guests, a = guest("stay", "A", FERRY_PLACE_RUNNING, 1 * GiB, 1));
    g_ptr_array_add(guests, b = guest("go", "A", FERRY_PLACE_RUNNING, 1 * GiB, 1));
    g_ptr_array_add(guests, c = guest("toobig", "A", FERRY_PLACE_RUNNING, 4 * GiB, 1));
    a->wanted_host = "A";
    b->wanted_host = "B";
    c->wanted_host = "B";
    plan = ferry_placement_plan(hosts, guests, NULL);
    g_assert_cmpuint(plan->in_place->len, ==, 1);
    g_assert_cmpstr(((FerryPlaceOutcome *)g_ptr_array_index(plan->in_place, 0))->guest, ==,
                    "stay");
    g_assert_cmpstr(move_of(plan, "go")->dst, ==, "B");
    g_assert_nonnull(strstr(move_of(plan, "go")->why, "the host map puts it there"));
    g_assert_cmpstr(misfit_of(plan, "toobig")->host, ==, "B");
    g_assert_nonnull(strstr(misfit_of(plan, "toobig")->reason, "B: needs 4096 MiB of memory"));
}

/* ---- host maps */

static FerryInventory *
test_inventory(void)
{
    g_autofree char *path = NULL;
    int fd = g_file_open_tmp("ferry-inv-XXXXXX.ini", &path, NULL);
    FerryInventory *inv;
    g_autoptr(GError) error = NULL;

    g_assert_cmpint(fd, >=, 0);
    close(fd);
    g_assert_true(g_file_set_contents(path,
                                      "[host hostA]\nuri = test:///default\n"
                                      "[host hostB]\nuri = test:///default\n"
                                      "nova_host = compute002.example\n"
                                      "[host hostC]\nuri = test:///default\n",
                                      -1, NULL));
    inv = ferry_inventory_load(path, &error);
    g_assert_no_error(error);
    g_unlink(path);
    return inv;
}

typedef struct {
    const char *name;
    const char *json;
    const char *error; /* NULL: accepted */
} MapCase;

static const MapCase map_cases[] = {
    {"good", "{\"hostB\": [\"g1\"], \"compute002.example\": []}",
     "key 'compute002.example': host 'hostB' is given twice (also as key 'hostB')"},
    {"nova-name", "{\"compute002.example\": [\"g1\", \"g2\"], \"HOSTC\": [\"u-3\"]}", NULL},
    {"not-json", "{\"hostB\": [\"g1\"", "host map 'm.json': not JSON"},
    {"not-object", "[\"hostB\"]", "expected an object {\"host\": [\"guest\", ...]}, found a list"},
    {"empty", "{}", "names no host"},
    {"not-list", "{\"hostB\": \"g1\"}", "key 'hostB': expected a list of guests, found a string"},
    {"not-string", "{\"hostB\": [\"g1\", 7]}", "key 'hostB': item 2 is not a guest name or UUID (a number)"},
    {"empty-name", "{\"hostB\": [\"\"]}", "key 'hostB': item 1 is not a guest name or UUID (an "
                                         "empty string)"},
    {"unknown-host", "{\"hostZ\": [\"g1\"]}",
     "host map 'm.json', key 'hostZ': unknown host (the inventory"},
};

static void
test_map_case(gconstpointer data)
{
    const MapCase *c = data;
    g_autoptr(FerryInventory) inv = test_inventory();
    g_autoptr(GError) error = NULL;
    g_autoptr(FerryHostMap) map = ferry_host_map_parse(c->json, -1, "m.json", inv, &error);

    if (!c->error) {
        g_assert_no_error(error);
        g_assert_nonnull(map);
        return;
    }
    g_assert_null(map);
    g_assert_nonnull(error);
    if (!strstr(error->message, c->error))
        g_error("'%s' does not contain '%s'", error->message, c->error);
}

/* Guests by name or UUID; unknown and named-twice refused naming the key. */
static void
test_map_apply(void)
{
    g_autoptr(FerryInventory) inv = test_inventory();
    g_autoptr(GPtrArray) guests = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(FerryHostMap) map = NULL;
    g_autoptr(GPtrArray) named = NULL;
    g_autoptr(FerryPlacePlan) plan = NULL;
    FerryPlaceGuest *g1, *g2, *g3;

    g_ptr_array_add(guests, g1 = guest("g1", "hostA", FERRY_PLACE_RUNNING, 1 * GiB, 1));
    g_ptr_array_add(guests, g2 = guest("g2", "hostA", FERRY_PLACE_RUNNING, 1 * GiB, 1));
    g_ptr_array_add(guests, g3 = guest("g3", "hostC", FERRY_PLACE_RUNNING, 1 * GiB, 1));
    g3->uuid = "5b0f9d0e-0000-4000-8000-000000000003";
    map = ferry_host_map_parse("{\"compute002.example\": [\"g1\"], \"hostC\": "
                               "[\"5B0F9D0E-0000-4000-8000-000000000003\"]}",
                               -1, "m.json", inv, &error);
    g_assert_no_error(error);
    named = ferry_host_map_apply(map, guests, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(named->len, ==, 2);
    g_assert_cmpstr(g1->wanted_host, ==, "hostB");
    g_assert_cmpstr(g3->wanted_host, ==, "hostC");
    g_assert_null(g2->wanted_host);

    /* over capacity: the file, the key as written, the reason */
    g_ptr_array_add(hosts, host("hostA", 64 * GiB, 8, 0));
    g_ptr_array_add(hosts, host("hostB", 1 * GiB, 8, 0));
    g_ptr_array_add(hosts, host("hostC", 64 * GiB, 8, 0));
    plan = ferry_placement_plan(hosts, named, NULL);
    g_assert_false(ferry_host_map_check_plan(map, plan, &error));
    g_assert_error(error, FERRY_HOST_MAP_ERROR, FERRY_HOST_MAP_ERROR_CAPACITY);
    g_assert_nonnull(strstr(error->message, "host map 'm.json', key 'compute002.example': guest "
                                            "'g1' cannot go there: hostB: needs 1024 MiB"));
    g_clear_error(&error);
    g_clear_pointer(&map, ferry_host_map_free);
    g_clear_pointer(&named, g_ptr_array_unref);

    map = ferry_host_map_parse("{\"hostB\": [\"g1\"], \"hostC\": [\"nope\"]}", -1, "m.json", inv,
                               &error);
    g_assert_no_error(error);
    named = ferry_host_map_apply(map, guests, &error);
    g_assert_null(named);
    g_assert_error(error, FERRY_HOST_MAP_ERROR, FERRY_HOST_MAP_ERROR_UNKNOWN);
    g_assert_nonnull(strstr(error->message, "key 'hostC': unknown guest 'nope'"));
    g_clear_error(&error);
    g_clear_pointer(&map, ferry_host_map_free);

    map = ferry_host_map_parse("{\"hostB\": [\"g3\"], \"hostC\": [\"" 
                               "5b0f9d0e-0000-4000-8000-000000000003\"]}",
                               -1, "m.json", inv, &error);
    g_assert_no_error(error);
    named = ferry_host_map_apply(map, guests, &error);
    g_assert_null(named);
    g_assert_error(error, FERRY_HOST_MAP_ERROR, FERRY_HOST_MAP_ERROR_TWICE);
    g_assert_nonnull(strstr(error->message, "key 'hostC': guest "
                                            "'5b0f9d0e-0000-4000-8000-000000000003' is named "
                                            "twice (also under key 'hostB')"));
}

static void
test_map_load_missing(void)
{
    g_autoptr(FerryInventory) inv = test_inventory();
    g_autoptr(GError) error = NULL;
    g_autoptr(FerryHostMap) map = ferry_host_map_load("/nonexistent/map.json", inv, &error);

    g_assert_null(map);
    g_assert_error(error, FERRY_HOST_MAP_ERROR, FERRY_HOST_MAP_ERROR_FILE);
    g_assert_nonnull(strstr(error->message, "host map '/nonexistent/map.json': "));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/placement/largest-first-spreads", test_largest_first_spreads);
    g_test_add_func("/placement/paused-stays-paused", test_paused_stays_paused);
    g_test_add_func("/placement/memory-misfit-names-every-host", test_memory_misfit);
    g_test_add_func("/placement/vcpu-overcommit-ratio", test_vcpu_overcommit);
    g_test_add_func("/placement/disk-cpu-unreachable", test_disk_cpu_unreachable);
    g_test_add_func("/placement/allowed-hosts-and-refused-guests", test_allowed_and_refused);
    g_test_add_func("/placement/wanted-host", test_wanted_host);
    for (gsize i = 0; i < G_N_ELEMENTS(map_cases); i++) {
        g_autofree char *path = g_strdup_printf("/hostmap/parse/%s", map_cases[i].name);
        g_test_add_data_func(path, &map_cases[i], test_map_case);
    }
    g_test_add_func("/hostmap/apply-names-uuids-twice-capacity", test_map_apply);
    g_test_add_func("/hostmap/load-missing-file", test_map_load_missing);
    return g_test_run();
}
