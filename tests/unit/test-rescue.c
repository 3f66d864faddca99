/*
 * test-rescue.c: the pure parts of `ferry rescue` -- the fencing verdict over recorded probes,
 * the fence command's exit status and deadline -- and, against libvirt's test driver
 * (test:///default), the definitions cache and the rescue plan of a host that does not answer.
 */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/ferry-definitions.h"
#include "engine/ferry-fence.h"
#include "engine/ferry-rescue.h"

/* ---- fencing verdict */

static void
probe_free(FerryProbe *p)
{
    g_free(p->from);
    g_free(p->service);
    g_free(p->address);
    g_free(p->detail);
    g_free(p);
}

static void
add_probe(FerryFenceCheck *check, const char *from, const char *service, guint port,
          FerryProbeResult result)
{
    FerryProbe *p = g_new0(FerryProbe, 1);

    p->from = g_strdup(from);
    p->service = g_strdup(service);
    p->address = g_strdup("10.0.0.11");
    p->port = port;
    p->result = result;
    g_ptr_array_add(check->probes, p);
}

/* hostA probed from ferry and hostB; @witness: hostB answered ssh. */
static FerryFenceCheck *
check_new(FerryProbeResult ferry_libvirtd, FerryProbeResult ferry_sshd, FerryProbeResult b,
          gboolean witness)
{
    FerryFenceCheck *check = g_new0(FerryFenceCheck, 1);

    check->host = g_strdup("hostA");
    check->probes = g_ptr_array_new_with_free_func((GDestroyNotify)probe_free);
    check->witnesses = g_ptr_array_new_with_free_func(g_free);
    add_probe(check, "ferry", "libvirtd", 16509, ferry_libvirtd);
    add_probe(check, "ferry", "sshd", 22, ferry_sshd);
    add_probe(check, "hostB", "libvirtd", 16509, witness ? b : FERRY_PROBE_FAILED);
    add_probe(check, "hostB", "sshd", 22, witness ? b : FERRY_PROBE_FAILED);
    if (witness)
        g_ptr_array_add(check->witnesses, g_strdup("hostB"));
    return check;
}

static void
test_verdict_dead(void)
{
    g_autoptr(FerryFenceCheck) check =
        check_new(FERRY_PROBE_NO_ANSWER, FERRY_PROBE_REFUSED, FERRY_PROBE_NO_ANSWER, TRUE);
    g_autoptr(GError) error = NULL;

    g_assert_true(ferry_fence_check_verdict(check, &error));
    g_assert_no_error(error);
}

static void
test_verdict_ferry_reaches(void)
{
    g_autoptr(FerryFenceCheck) check =
        check_new(FERRY_PROBE_NO_ANSWER, FERRY_PROBE_OPEN, FERRY_PROBE_NO_ANSWER, TRUE);
    g_autoptr(GError) error = NULL;

    g_assert_false(ferry_fence_check_verdict(check, &error));
    g_assert_error(error, FERRY_FENCE_ERROR, FERRY_FENCE_ERROR_ALIVE);
    g_assert_nonnull(strstr(error->message, "ferry reaches its sshd at 10.0.0.11:22"));
    g_assert_nonnull(strstr(error->message, "nothing was changed"));
}

static void
test_verdict_partition(void)
{
    g_autoptr(FerryFenceCheck) check =
        check_new(FERRY_PROBE_NO_ANSWER, FERRY_PROBE_NO_ANSWER, FERRY_PROBE_OPEN, TRUE);
    g_autoptr(GError) error = NULL;

    g_assert_false(ferry_fence_check_verdict(check, &error));
    g_assert_error(error, FERRY_FENCE_ERROR, FERRY_FENCE_ERROR_ALIVE);
    g_assert_nonnull(strstr(error->message, "'hostB' reaches its libvirtd at 10.0.0.11:16509"));
    g_assert_nonnull(strstr(error->message, "partition"));
}

static void
test_verdict_no_witness(void)
{
    g_autoptr(FerryFenceCheck) check =
        check_new(FERRY_PROBE_NO_ANSWER, FERRY_PROBE_NO_ANSWER, FERRY_PROBE_NO_ANSWER, FALSE);
    g_autoptr(GError) error = NULL;

    g_assert_false(ferry_fence_check_verdict(check, &error));
    g_assert_error(error, FERRY_FENCE_ERROR, FERRY_FENCE_ERROR_NO_WITNESS);
    g_assert_nonnull(strstr(error->message, "cannot prove 'hostA' dead"));
}

/* ---- fence_command */

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

static void
test_fence_command(void)
{
    g_autoptr(FerryInventory) inv =
        inventory_from("[host ok]\nuri = test:///default\nfence_command = /bin/sh -c 'echo off'\n"
                       "[host fails]\nuri = test:///default\nfence_command = /bin/false\n"
                       "[host hangs]\nuri = test:///default\nfence_command = /bin/sleep 30\n"
                       "[host none]\nuri = test:///default\n");
    g_autoptr(GError) error = NULL;
    g_autofree char *out = NULL;
    gint64 t0;

    g_assert_true(ferry_fence_run(g_ptr_array_index(inv->hosts, 0), 10, &out, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(out, ==, "off");

    g_assert_false(ferry_fence_run(g_ptr_array_index(inv->hosts, 1), 10, NULL, &error));
    g_assert_error(error, FERRY_FENCE_ERROR, FERRY_FENCE_ERROR_FENCE_FAILED);
    g_assert_nonnull(strstr(error->message, "(/bin/false) failed: exit status 1"));
    g_clear_error(&error);

    t0 = g_get_monotonic_time();
    g_assert_false(ferry_fence_run(g_ptr_array_index(inv->hosts, 2), 1, NULL, &error));
    g_assert_error(error, FERRY_FENCE_ERROR, FERRY_FENCE_ERROR_FENCE_FAILED);
    g_assert_nonnull(strstr(error->message, "killed after 1 s"));
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 5 * G_USEC_PER_SEC);
    g_clear_error(&error);

    g_assert_false(ferry_fence_run(g_ptr_array_index(inv->hosts, 3), 10, NULL, &error));
    g_assert_error(error, FERRY_FENCE_ERROR, FERRY_FENCE_ERROR_NOT_FENCED);
}

/* ---- the definitions cache and the plan */

#define TEST_UUID "6695eb01-f6a4-8304-79aa-97f2502e193f" /* test:///default's domain 'test' */

static char *
inventory_text(const char *state_dir)
{
    return g_strdup_printf("[ferry]\nconnect_timeout = 3\nstate_dir = %s\n"
                           "[host hostA]\nuri = test:///default\nreserved_memory_mib = 0\n"
                           "[host hostC]\nuri = qemu+tcp://127.0.0.1:1/system\n"
                           "images_dir = /var/lib/libvirt/images\n",
                           state_dir);
}

static void
write_entry(const char *state_dir, const char *host, const char *uuid, const char *name,
            const char *xml)
{
    g_autofree char *dir = g_build_filename(state_dir, "definitions", host, NULL);
    g_autofree char *xml_path = g_strdup_printf("%s/%s.xml", dir, uuid);
    g_autofree char *json_path = g_strdup_printf("%s/%s.json", dir, uuid);
    g_autofree char *json = g_strdup_printf(
        "{\"name\": \"%s\", \"uuid\": \"%s\", \"host\": \"%s\", \"state\": \"running\", "
        "\"active\": true, \"autostart\": true, \"persistent\": true, \"seen_unix_s\": "
        "%" G_GINT64_FORMAT "}",
        name, uuid, host, g_get_real_time() / G_USEC_PER_SEC - 90);

    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    g_assert_true(g_file_set_contents(xml_path, xml, -1, NULL));
    g_assert_true(g_file_set_contents(json_path, json, -1, NULL));
}

static char *
domain_xml(const char *name, const char *uuid, const char *disk)
{
    return g_strdup_printf("<domain type='test'><name>%s</name><uuid>%s</uuid>"
                           "<memory unit='KiB'>1024</memory><vcpu>1</vcpu>"
                           "<os><type arch='x86_64'>hvm</type></os><devices>%s</devices></domain>",
                           name, uuid, disk);
}

static const FerryRescueGuest *
plan_guest(const FerryRescuePlan *plan, const char *name)
{
    for (guint i = 0; i < plan->guests->len; i++) {
        const FerryRescueGuest *g = g_ptr_array_index(plan->guests, i);

        if (g_str_equal(g->def->name, name))
            return g;
    }
    g_assert_not_reached();
}

static void
test_cache_and_plan(void)
{
    g_autofree char *state_dir = g_dir_make_tmp("ferry-rescue-XXXXXX", NULL);
    g_autofree char *text = inventory_text(state_dir);
    g_autoptr(FerryInventory) inv = inventory_from(text);
    g_autoptr(FerrySurvey) survey = ferry_survey_run(inv, 0);
    g_autoptr(GPtrArray) defs = NULL;
    g_autoptr(FerryRescuePlan) plan = NULL;
    g_autoptr(GError) error = NULL;
    const FerryDefinition *def;
    const FerryRescueGuest *g;
    const char *gone = "0f0f0f0f-0000-4000-8000-000000000001";
    g_autofree char *nbd = domain_xml(
        "vm-nbd", "0f0f0f0f-0000-4000-8000-000000000002",
        "<disk type='network' device='disk'><driver name='qemu' type='raw'/>"
        "<source protocol='nbd' name='nbd0'><host name='10.0.0.20' port='10809'/></source>"
        "<target dev='vda' bus='virtio'/></disk>");
    g_autofree char *local =
        domain_xml("vm-local", "0f0f0f0f-0000-4000-8000-000000000003",
                   "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                   "<source file='/var/lib/libvirt/images/vm-local.qcow2'/>"
                   "<target dev='vda' bus='virtio'/></disk>");
    g_autofree char *gone_xml = domain_xml("vm-gone", gone, "");
    guint n = 0;

    /* hostA answers: its one guest recorded; an entry of a guest it no longer holds removed.
     * hostC does not answer: what was recorded for it stays. */
    write_entry(state_dir, "hostA", gone, "vm-gone", gone_xml);
    write_entry(state_dir, "hostC", "0f0f0f0f-0000-4000-8000-000000000002", "vm-nbd", nbd);
    write_entry(state_dir, "hostC", "0f0f0f0f-0000-4000-8000-000000000003", "vm-local", local);
    g_assert_true(ferry_definitions_record_survey(inv, survey, &n, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(n, ==, 1);
    defs = ferry_definitions_load_host(inv, "hostA", &error);
    g_assert_no_error(error);
    g_assert_cmpuint(defs->len, ==, 1);
    def = g_ptr_array_index(defs, 0);
    g_assert_cmpstr(def->name, ==, "test");
    g_assert_cmpstr(def->state, ==, "running");
    g_assert_true(def->active);
    g_assert_nonnull(strstr(def->xml, "<name>test</name>"));
    g_assert_cmpstr(def->uuid, ==, TEST_UUID);
    g_assert_cmpint(g_get_real_time() / G_USEC_PER_SEC - def->seen_unix_s, <, 60);
    g_clear_pointer(&defs, g_ptr_array_unref);
    defs = ferry_definitions_load_host(inv, "hostC", &error);
    g_assert_no_error(error);
    g_assert_cmpuint(defs->len, ==, 2);

    /* hostA's guest also cached for hostC (it moved there since): "elsewhere" */
    write_entry(state_dir, "hostC", TEST_UUID, "test",
                "<domain type='test'><name>test</name>"
                "<uuid>" TEST_UUID "</uuid>"
                "<memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>");
    plan = ferry_rescue_plan(inv, survey, "hostC", NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(plan->guests->len, ==, 3);
    g = plan_guest(plan, "vm-nbd");
    if (g->outcome != FERRY_RESCUE_PLANNED)
        g_test_message("vm-nbd: %s", g->reason);
    g_assert_cmpint(g->outcome, ==, FERRY_RESCUE_PLANNED);
    g_assert_cmpstr(g->dst, ==, "hostA");
    g_assert_nonnull(g->warning); /* autostart on */
    g = plan_guest(plan, "vm-local");
    g_assert_cmpint(g->outcome, ==, FERRY_RESCUE_NOT_RESCUABLE);
    g_assert_cmpstr(g->reason, ==,
                    "disk vda (/var/lib/libvirt/images/vm-local.qcow2) is local to 'hostC': it "
                    "died with the host");
    g = plan_guest(plan, "test");
    g_assert_cmpint(g->outcome, ==, FERRY_RESCUE_ELSEWHERE);
    g_assert_nonnull(strstr(g->reason, "already defined on 'hostA' (running)"));

    /* once its one entry is forgotten, ferry has nothing for hostA */
    g_clear_pointer(&plan, ferry_rescue_plan_free);
    plan = ferry_rescue_plan(inv, survey, "hostA", NULL, &error);
    g_assert_nonnull(plan); /* hostA's own cache exists */
    g_clear_pointer(&plan, ferry_rescue_plan_free);
    g_assert_true(ferry_definitions_forget(inv, "hostA", TEST_UUID, &error));
    plan = ferry_rescue_plan(inv, survey, "hostA", NULL, &error);
    g_assert_null(plan);
    g_assert_error(error, FERRY_RESCUE_ERROR, FERRY_RESCUE_ERROR_NO_DEFINITIONS);
    g_assert_nonnull(strstr(error->message, "ferry snapshot"));
    g_clear_error(&error);

    {
        const char *argv[] = {"rm", "-rf", state_dir, NULL};
        g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                                   NULL, NULL, NULL));
    }
}

int
main(int argc, char **argv)
{
    g_unsetenv("FERRY_STATE_DIR");
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rescue/fence/verdict/dead-from-ferry-and-a-witness", test_verdict_dead);
    g_test_add_func("/rescue/fence/verdict/ferry-reaches-it", test_verdict_ferry_reaches);
    g_test_add_func("/rescue/fence/verdict/a-witness-reaches-it-partition", test_verdict_partition);
    g_test_add_func("/rescue/fence/verdict/no-witness-answers", test_verdict_no_witness);
    g_test_add_func("/rescue/fence/command/exit-status-and-deadline", test_fence_command);
    g_test_add_func("/rescue/cache-and-plan/test-driver", test_cache_and_plan);
    return g_test_run();
}
