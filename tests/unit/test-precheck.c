/*
 * test-precheck.c: the CPU definition ferry asks the destination about.
 */
#include "engine/ferry-precheck.h"

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
    g_autofree char *domain = g_strdup_printf(
        "<domain type='qemu'><name>g</name><memory>65536</memory><vcpu>1</vcpu>"
        "<os><type>hvm</type></os>%s</domain>",
        cases[i][0]);
    g_autoptr(GError) error = NULL;
    g_autoptr(FerryDomainXml) xml = ferry_domain_xml_parse(domain, "test", &error);
    g_autofree char *cpu = NULL;

    g_assert_no_error(error);
    cpu = ferry_precheck_cpu_xml(ferry_domain_xml_get_def(xml));
    g_assert_cmpstr(cpu, ==, cases[i][1]);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *name = g_strdup_printf("/precheck/cpu-xml/case-%u", i);
        g_test_add_data_func(name, GUINT_TO_POINTER(i), test_cpu_xml);
    }
    return g_test_run();
}
