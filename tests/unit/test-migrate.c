/*
 * test-migrate.c: ferry_migrate() refuses what it must before anything moves, with the right
 * error domain and code, and callers may pass a NULL GError** as GLib allows (it crashed on
 * several of these).  The hosts are libvirt test:/// drivers loaded from
 * tests/unit/data/migrate-host*.xml: no ssh, no qemu.
 */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/ferry-migrate.h"
#include "engine/ferry-migration-private.h"

typedef struct {
    const char *name;
    const char *domain;
    const char *src_host; /* NULL: looked up */
    const char *dst_host;
    FerryMigrateMode mode;
    const char *error_domain; /* quark name */
    int error_code;
    const char *message; /* a part of the message */
} FerryMigrateCase;

static const FerryMigrateCase cases[] = {
    {"not-found", "no-such-guest", NULL, "hostB", FERRY_MIGRATE_MODE_AUTO,
     "ferry-migrate-error-quark", FERRY_MIGRATE_ERROR_NOT_FOUND,
     "domain 'no-such-guest' was not found on any host"},
    {"unknown-destination", "g-local", NULL, "hostZ", FERRY_MIGRATE_MODE_AUTO,
     "ferry-inventory-error-quark", FERRY_INVENTORY_ERROR_UNKNOWN_HOST, "hostZ"},
    {"same-host", "g-local", "hostA", "hostA", FERRY_MIGRATE_MODE_AUTO,
     "ferry-migrate-error-quark", FERRY_MIGRATE_ERROR_INVALID,
     "source and destination are the same host"},
    {"cold-but-running", "g-local", NULL, "hostB", FERRY_MIGRATE_MODE_COLD,
     "ferry-migrate-error-quark", FERRY_MIGRATE_ERROR_INVALID,
     "--mode cold needs a shut-off guest"},
    {"shared-but-local-disk", "g-local", NULL, "hostB", FERRY_MIGRATE_MODE_SHARED,
     "ferry-migrate-error-quark", FERRY_MIGRATE_ERROR_INVALID,
     "--mode shared, but 1 disk(s) of 'g-local' are local"},
    /* the disk plan's refusal (an xml/ error) becomes the migration's precheck error */
    {"lun-passthrough", "g-lun", NULL, "hostB", FERRY_MIGRATE_MODE_AUTO,
     "ferry-migrate-error-quark", FERRY_MIGRATE_ERROR_PRECHECK,
     "domain 'g-lun' cannot move to 'hostB': disk 'sda' cannot be moved: LUN passthrough"},
};

static char *
data_path(const char *name)
{
    return g_build_filename(g_getenv("FERRY_TEST_DATA"), "unit", "data", name, NULL);
}

static FerryInventory *
load_inventory(void)
{
    g_autofree char *a = data_path("migrate-hostA.xml");
    g_autofree char *b = data_path("migrate-hostB.xml");
    g_autofree char *abs_a = g_canonicalize_filename(a, NULL);
    g_autofree char *abs_b = g_canonicalize_filename(b, NULL);
    g_autofree char *text = g_strdup_printf("[host hostA]\nuri = test://%s\naddress = 10.0.0.1\n"
                                            "images_dir = /var/lib/libvirt/images\n"
                                            "[host hostB]\nuri = test://%s\naddress = 10.0.0.2\n"
                                            "images_dir = /var/lib/libvirt/images\n",
                                            abs_a, abs_b);
    g_autofree char *path = NULL;
    g_autoptr(GError) error = NULL;
    int fd = g_file_open_tmp("ferry-migrate-XXXXXX.ini", &path, NULL);
    FerryInventory *inventory;

    g_assert_cmpint(fd, >=, 0);
    close(fd);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
    inventory = ferry_inventory_load(path, &error);
    g_assert_no_error(error);
    g_unlink(path);
    return inventory;
}

static void
test_refused(gconstpointer data)
{
    const FerryMigrateCase *c = data;
    g_autoptr(FerryInventory) inventory = load_inventory();
    g_autoptr(GError) error = NULL;
    g_autoptr(FerryMigrateResult) result = NULL;
    FerryMigrateOptions options = {
        .domain = c->domain, .src_host = c->src_host, .dst_host = c->dst_host, .mode = c->mode,
    };

    /* NULL error: refused all the same, no crash */
    result = ferry_migrate(inventory, &options, NULL);
    g_assert_null(result);

    result = ferry_migrate(inventory, &options, &error);
    g_assert_null(result);
    g_assert_nonnull(error);
    g_assert_cmpstr(g_quark_to_string(error->domain), ==, c->error_domain);
    g_assert_cmpint(error->code, ==, c->error_code);
    if (!strstr(error->message, c->message))
        g_error("'%s' does not contain '%s'", error->message, c->message);
}

static void
test_missing_arguments(void)
{
    g_autoptr(FerryInventory) inventory = load_inventory();
    g_autoptr(GError) error = NULL;
    FerryMigrateOptions options = {.domain = "g-local"};

    g_assert_null(ferry_migrate(inventory, &options, NULL));
    g_assert_null(ferry_migrate(inventory, &options, &error));
    g_assert_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID);
}

static void
test_mode_names(void)
{
    g_autoptr(GError) error = NULL;
    FerryMigrateMode mode = FERRY_MIGRATE_MODE_LAST;

    for (guint i = 0; i < FERRY_MIGRATE_MODE_LAST; i++) {
        g_assert_true(ferry_migrate_mode_from_string(ferry_migrate_mode_to_string(i), &mode,
                                                     NULL));
        g_assert_cmpint(mode, ==, i);
    }
    g_assert_false(ferry_migrate_mode_from_string("offline", &mode, NULL));
    g_assert_false(ferry_migrate_mode_from_string(NULL, &mode, &error));
    g_assert_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_INVALID);
}

/* Where the guest is, from both hosts' answers: a table of the cases that decide what ferry
 * does after libvirt's call (ferry-whereis.c). */
#define SIDE_ABSENT {.known = TRUE}
#define SIDE_UNKNOWN {.known = FALSE}
#define SIDE(st, rs, act, pc)                                                                      \
    {                                                                                              \
        .known = TRUE, .present = TRUE, .active = (act), .state = (st), .reason = (rs),           \
        .postcopy = (pc),                                                                          \
    }
#define RUNNING SIDE(VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_MIGRATED, TRUE, FALSE)
#define PAUSED SIDE(VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER, TRUE, FALSE)
#define SHUTOFF SIDE(VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_MIGRATED, FALSE, FALSE)
#define SRC_POSTCOPY SIDE(VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_POSTCOPY, TRUE, TRUE)
#define SRC_POSTCOPY_FAILED SIDE(VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_POSTCOPY_FAILED, TRUE, TRUE)
#define DST_POSTCOPY SIDE(VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_POSTCOPY, TRUE, TRUE)

static const struct {
    const char *name;
    FerryWhereisSide src, dst;
    FerryWhereisOutcome outcome;
} whereis_cases[] = {
    {"moved", SIDE_ABSENT, RUNNING, FERRY_WHEREIS_ON_DEST},
    {"moved-source-definition-left", SHUTOFF, RUNNING, FERRY_WHEREIS_ON_DEST},
    {"moved-paused", SIDE_ABSENT, PAUSED, FERRY_WHEREIS_ON_DEST},
    {"stayed", RUNNING, SIDE_ABSENT, FERRY_WHEREIS_ON_SOURCE},
    {"stayed-paused", PAUSED, SIDE_ABSENT, FERRY_WHEREIS_ON_SOURCE},
    {"stayed-destination-definition-left", RUNNING, SHUTOFF, FERRY_WHEREIS_ON_SOURCE},
    {"postcopy-source-paused", SRC_POSTCOPY, DST_POSTCOPY, FERRY_WHEREIS_POSTCOPY},
    {"postcopy-source-failed", SRC_POSTCOPY_FAILED, PAUSED, FERRY_WHEREIS_POSTCOPY},
    {"postcopy-destination-only", PAUSED, DST_POSTCOPY, FERRY_WHEREIS_POSTCOPY},
    {"both-running", RUNNING, RUNNING, FERRY_WHEREIS_AMBIGUOUS},
    {"both-paused", PAUSED, PAUSED, FERRY_WHEREIS_AMBIGUOUS},
    {"neither", SIDE_ABSENT, SIDE_ABSENT, FERRY_WHEREIS_AMBIGUOUS},
    {"neither-running", SHUTOFF, SHUTOFF, FERRY_WHEREIS_AMBIGUOUS},
    {"source-unknown", SIDE_UNKNOWN, RUNNING, FERRY_WHEREIS_UNKNOWN},
    {"destination-unknown", RUNNING, SIDE_UNKNOWN, FERRY_WHEREIS_UNKNOWN},
};

static void
test_whereis_classify(gconstpointer data)
{
    const __typeof__(whereis_cases[0]) *c = data;

    g_assert_cmpstr(ferry_whereis_outcome_to_string(ferry_whereis_classify(&c->src, &c->dst)), ==,
                    ferry_whereis_outcome_to_string(c->outcome));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *name = g_strdup_printf("/migrate/refused/%s", cases[i].name);
        g_test_add_data_func(name, &cases[i], test_refused);
    }
    g_test_add_func("/migrate/refused/missing-arguments", test_missing_arguments);
    g_test_add_func("/migrate/mode/names-round-trip", test_mode_names);
    for (gsize i = 0; i < G_N_ELEMENTS(whereis_cases); i++) {
        g_autofree char *name = g_strdup_printf("/migrate/whereis/%s", whereis_cases[i].name);
        g_test_add_data_func(name, &whereis_cases[i], test_whereis_classify);
    }
    return g_test_run();
}
