/*
 * test-tls.c: which certificate directory a host's qemu.conf gives migrations
 * (engine/ferry-tls.c).
 */
#include <glib.h>

#include "engine/ferry-tls.h"

static void
test_cert_dir(const char *conf, const char *want_dir, const char *want_key)
{
    const char *key = NULL;
    g_autofree char *dir = ferry_tls_cert_dir(conf, &key);

    g_assert_cmpstr(dir, ==, want_dir);
    g_assert_cmpstr(key, ==, want_key);
}

static void
test_default(void)
{
    test_cert_dir(NULL, "/etc/pki/qemu", "default");
    test_cert_dir("user = \"root\"\n#migrate_tls_x509_cert_dir = \"/x\"\n", "/etc/pki/qemu",
                  "default");
}

static void
test_default_tls_dir(void)
{
    test_cert_dir("user = \"root\"\n  default_tls_x509_cert_dir   =  \"/etc/libvirt/pki/qemu\"\n",
                  "/etc/libvirt/pki/qemu", "default_tls_x509_cert_dir");
}

static void
test_migrate_dir_wins(void)
{
    test_cert_dir("migrate_tls_x509_cert_dir = \"/m\"\ndefault_tls_x509_cert_dir = \"/d\"\n", "/m",
                  "migrate_tls_x509_cert_dir");
    /* the last setting of a key wins */
    test_cert_dir("default_tls_x509_cert_dir = \"/a\"\ndefault_tls_x509_cert_dir = \"/b\"\n", "/b",
                  "default_tls_x509_cert_dir");
    /* another key that starts the same is not it */
    test_cert_dir("default_tls_x509_cert_dir_x = \"/a\"\n", "/etc/pki/qemu", "default");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/tls/cert-dir/default", test_default);
    g_test_add_func("/tls/cert-dir/default-tls-x509-cert-dir", test_default_tls_dir);
    g_test_add_func("/tls/cert-dir/migrate-tls-x509-cert-dir-wins", test_migrate_dir_wins);
    return g_test_run();
}
