/*
 * test-fleet-survey.c: the survey against libvirt's test driver (test:///default: one running
 * domain 'test', 16 CPUs) and a host that does not answer.
 */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/ferry-fleet-survey.h"

static FerryInventory *
inventory_from(const char *text)
{
    g_autofree char *path = NULL;
    int fd = g_file_open_tmp("ferry-inv-XXXXXX.ini", &path, NULL);
    FerryInventory *inv;
    g_autoptr(GError) error = NULL;

    g_assert_cmpint(fd, >=, 0);
    close(fd);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
    inv = ferry_inventory_load(path, &error);
    g_assert_no_error(error);
    g_unlink(path);
    return inv;
}

/* Two hosts answering with the same domain (same UUID): flagged on both, refused by the
 * placement's view; its disk outside images_dir is local and refused; the host that does not
 * answer says why. */
static void
test_survey_test_driver(void)
{
    g_autoptr(FerryInventory) inv =
        inventory_from("[ferry]\nconnect_timeout = 5\n"
                       "[host hostA]\nuri = test:///default\n"
                       "[host hostB]\nuri = test:///default\n"
                       "[host hostC]\nuri = qemu+tcp://127.0.0.1:1/system\n");
    g_autoptr(FerrySurvey) survey = ferry_survey_run(inv, 0);
    g_autoptr(GPtrArray) hosts = NULL;
    g_autoptr(GPtrArray) guests = NULL;
    g_autoptr(GPtrArray) only_c = NULL;
    FerrySurveyHost *a, *c;
    const FerrySurveyGuest *g;
    const FerrySurveyDisk *disk;
    const FerryPlaceGuest *pg;

    g_assert_cmpuint(survey->hosts->len, ==, 3);
    a = ferry_survey_get_host(survey, "hostA");
    g_assert_true(a->reachable);
    g_assert_cmpuint(a->cpus, ==, 16);
    g_assert_cmpuint(a->mem_available_bytes, >, 0);
    g_assert_cmpuint(a->mem_total_bytes, >=, a->mem_available_bytes);
    g_assert_cmpuint(a->guests->len, ==, 1);
    g = ferry_survey_find_guest(survey, "hostA", "test");
    g_assert_nonnull(g);
    g_assert_true(g->active);
    g_assert_cmpint(g->vcpus, ==, 2);
    g_assert_cmpuint(a->vcpus_committed, ==, 2);
    g_assert_cmpuint(g->memory_bytes, ==, G_GUINT64_CONSTANT(8388608) * 1024);
    g_assert_cmpstr(g->flag, ==, "running on 'hostA', 'hostB'");
    g_assert_cmpuint(g->disks->len, ==, 1);
    disk = g_ptr_array_index(g->disks, 0);
    g_assert_cmpstr(disk->target, ==, "vda");
    g_assert_cmpint(disk->kind, ==, FERRY_SURVEY_DISK_LOCAL);
    /* a local file outside images_dir keeps its path on the destination (issue 14): the disk
     * is movable, so nothing is refused; running on two hosts is the flag's business */
    g_assert_null(g->refused);

    c = ferry_survey_get_host(survey, "hostC");
    g_assert_false(c->reachable);
    g_assert_nonnull(strstr(c->error, "cannot connect to libvirt on 'hostC'"));

    hosts = ferry_survey_place_hosts(survey);
    g_assert_cmpuint(hosts->len, ==, 3);
    g_assert_false(((FerryPlaceHost *)g_ptr_array_index(hosts, 2))->reachable);
    guests = ferry_survey_place_guests(survey, NULL);
    g_assert_cmpuint(guests->len, ==, 1); /* one guest, seen twice */
    pg = g_ptr_array_index(guests, 0);
    g_assert_cmpstr(pg->refused, ==, "running on 'hostA', 'hostB'");
    only_c = ferry_survey_place_guests(survey, "hostC");
    g_assert_cmpuint(only_c->len, ==, 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/fleet-survey/test-driver-duplicate-and-unreachable",
                    test_survey_test_driver);
    return g_test_run();
}
