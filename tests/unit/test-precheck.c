/*
 * test-precheck.c: the CPU definition ferry asks the destination about.
 */
#include "engine/ferry-precheck.h"

#include <libvirt/virterror.h>

#include "engine/ferry-virt-util.h"

static const char *const cases[][2] = {
    /* guest <cpu> -> what is compared (NULL: nothing: libvirt works it out at the destination) */
    {"<cpu mode='custom' match='exact'><model>qemu64</model></cpu>",
     "<cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model></cpu>"},
    {"<cpu mode='custom' match='exact'><model>Skylake-Server</model>"
     "<feature policy='require' name='avx512f'/><feature policy='disable' name='hle'/></cpu>",
     "<cpu mode='custom' match='exact'><model fallback='forbid'>Skylake-Server</model>"
     "<feature policy='require' name='avx512f'/><feature policy='disable' name='hle'/></cpu>"},
    {"<cpu match='exact'><model>Haswell&amp;Co</model></cpu>",
     "<cpu mode='custom' match='exact'><model fallback='forbid'>Haswell&amp;Co</model></cpu>"},
    {"<cpu mode='host-passthrough'/>", NULL},
    {"<cpu mode='host-model'/>", NULL},
    {"", NULL},
};

static void
test_cpu_xml(gconstpointer data)
{
    guint i = GPOINTER_TO_UINT(data);
    g_autofree char *domain =
        g_strdup_printf("<domain type='qemu'><name>g</name><memory>65536</memory><vcpu>1</vcpu>"
                        "<os><type>hvm</type></os>%s</domain>",
                        cases[i][0]);
    g_autoptr(GError) error = NULL;
    g_autoptr(FerryDomainXml) xml = ferry_domain_xml_parse(domain, "test", &error);
    g_autofree char *cpu = NULL;

    g_assert_no_error(error);
    cpu = ferry_precheck_cpu_xml(ferry_domain_xml_get_def(xml));
    g_assert_cmpstr(cpu, ==, cases[i][1]);
}

/* An error is replaced, never edited: the old one is freed (ASan would see a leak or a double
 * free), the message kept, domain and code new; NULL error pointers are fine. */
static void
test_error_recode(void)
{
    g_autoptr(GError) error = g_error_new_literal(G_FILE_ERROR, G_FILE_ERROR_FAILED, "it broke");

    ferry_error_recode(&error, FERRY_PRECHECK_ERROR, FERRY_PRECHECK_ERROR_DISK);
    g_assert_error(error, FERRY_PRECHECK_ERROR, FERRY_PRECHECK_ERROR_DISK);
    g_assert_cmpstr(error->message, ==, "it broke");
    ferry_error_recode(NULL, FERRY_PRECHECK_ERROR, FERRY_PRECHECK_ERROR_DISK);
    {
        GError *none = NULL;
        ferry_error_recode(&none, FERRY_PRECHECK_ERROR, FERRY_PRECHECK_ERROR_DISK);
        g_assert_null(none);
    }
}

/* The public checks accept a NULL GError** as GLib allows (they crashed on it), and with one
 * they set an error in their own domain.  libvirt's test driver has no CPU model to compare,
 * so the comparison itself fails: FERRY_PRECHECK_ERROR_FAILED or _CPU, never a crash. */
static void
test_cpu_null_error(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FerryDomainXml) xml = ferry_domain_xml_parse(
        "<domain type='qemu'><name>g</name><memory>65536</memory><vcpu>1</vcpu>"
        "<os><type>hvm</type></os><cpu mode='custom' match='exact'><model>qemu64</model>"
        "<feature policy='require' name='no-such-feature'/></cpu></domain>",
        "test", &error);
    g_autoptr(virConnect) conn = NULL;
    gboolean ok;

    g_assert_no_error(error);
    conn = ferry_virt_connect("test:///default", "test", &error);
    g_assert_no_error(error);
    ok = ferry_precheck_cpu(conn, ferry_domain_xml_get_def(xml), "test", NULL);
    if (ok)
        return; /* this libvirt's test driver provides it: nothing more to see */
    g_assert_false(ferry_precheck_cpu(conn, ferry_domain_xml_get_def(xml), "test", &error));
    g_assert_nonnull(error);
    g_assert_true(error->domain == FERRY_PRECHECK_ERROR);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *name = g_strdup_printf("/precheck/cpu-xml/case-%u", i);
        g_test_add_data_func(name, GUINT_TO_POINTER(i), test_cpu_xml);
    }
    g_test_add_func("/precheck/error-recode", test_error_recode);
    g_test_add_func("/precheck/cpu-null-error", test_cpu_null_error);
    return g_test_run();
}
