/*
 * test-migrate-params.c: the flags and typed parameters each kind of migration gets.
 */
#include <libvirt/libvirt.h>
#include <string.h>

#include "engine/ferry-migrate-params.h"

static const char *const two_disks[] = {"vda", "vdc", NULL};

static void
test_block_p2p(void)
{
    g_auto(FerryMigrateParams) p = {0};
    g_autoptr(GError) error = NULL;
    g_autofree char *flags = NULL;
    FerryMigrateSpec spec = {
        .p2p = TRUE, .copy_storage = TRUE, .dest_xml = "<domain/>", .migrate_disks = two_disks,
        .bandwidth_mib = 50,
    };
    g_autoptr(GPtrArray) disks = g_ptr_array_new();
    const char *xml = NULL;
    unsigned long long bw = 0;

    g_assert_true(ferry_migrate_params_build(&spec, &p, &error));
    g_assert_no_error(error);
    flags = ferry_migrate_flags_to_string(p.flags);
    g_assert_cmpstr(flags, ==, "LIVE|PEER2PEER|PERSIST_DEST|UNDEFINE_SOURCE|NON_SHARED_INC");
    for (int i = 0; i < p.nparams; i++) {
        if (g_str_equal(p.params[i].field, VIR_MIGRATE_PARAM_MIGRATE_DISKS))
            g_ptr_array_add(disks, p.params[i].value.s);
    }
    g_assert_cmpuint(disks->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(disks, 0), ==, "vda");
    g_assert_cmpstr(g_ptr_array_index(disks, 1), ==, "vdc");
    /* the rewritten XML goes in both: with DEST_XML alone the saved definition keeps old paths */
    g_assert_cmpint(virTypedParamsGetString(p.params, p.nparams, VIR_MIGRATE_PARAM_DEST_XML, &xml), ==, 1);
    g_assert_cmpstr(xml, ==, "<domain/>");
    xml = NULL;
    g_assert_cmpint(virTypedParamsGetString(p.params, p.nparams, VIR_MIGRATE_PARAM_PERSIST_XML, &xml), ==, 1);
    g_assert_cmpstr(xml, ==, "<domain/>");
    g_assert_cmpint(virTypedParamsGetULLong(p.params, p.nparams, VIR_MIGRATE_PARAM_BANDWIDTH, &bw), ==, 1);
    g_assert_cmpuint(bw, ==, 50);
}

/* [host] migration_address: the memory stream (URI, the destination listening there) and the
 * disks' NBD stream (DISKS_URI) go over it; IPv6 in brackets; no DISKS_URI without disks. */
static void
test_migration_address(void)
{
    g_auto(FerryMigrateParams) p = {0};
    g_auto(FerryMigrateParams) p6 = {0};
    FerryMigrateSpec spec = {
        .p2p = TRUE, .copy_storage = TRUE, .migrate_disks = two_disks,
        .migration_address = "10.78.0.12",
    };
    FerryMigrateSpec shared6 = {.p2p = TRUE, .migration_address = "fd00::12"};
    const char *v = NULL;

    g_assert_true(ferry_migrate_params_build(&spec, &p, NULL));
    g_assert_cmpint(virTypedParamsGetString(p.params, p.nparams, VIR_MIGRATE_PARAM_URI, &v), ==, 1);
    g_assert_cmpstr(v, ==, "tcp://10.78.0.12");
    g_assert_cmpint(virTypedParamsGetString(p.params, p.nparams, VIR_MIGRATE_PARAM_DISKS_URI, &v), ==, 1);
    g_assert_cmpstr(v, ==, "tcp://10.78.0.12");
    g_assert_cmpint(virTypedParamsGetString(p.params, p.nparams, VIR_MIGRATE_PARAM_LISTEN_ADDRESS, &v), ==, 1);
    g_assert_cmpstr(v, ==, "10.78.0.12");

    g_assert_true(ferry_migrate_params_build(&shared6, &p6, NULL));
    g_assert_cmpint(virTypedParamsGetString(p6.params, p6.nparams, VIR_MIGRATE_PARAM_URI, &v), ==, 1);
    g_assert_cmpstr(v, ==, "tcp://[fd00::12]");
    g_assert_cmpint(virTypedParamsGetString(p6.params, p6.nparams, VIR_MIGRATE_PARAM_DISKS_URI, &v), ==, 0);
}

static void
test_shared_managed(void)
{
    g_auto(FerryMigrateParams) p = {0};
    g_autofree char *flags = NULL;
    FerryMigrateSpec spec = {.p2p = FALSE};

    g_assert_true(ferry_migrate_params_build(&spec, &p, NULL));
    flags = ferry_migrate_flags_to_string(p.flags);
    /* virDomainMigrate3 refuses PEER2PEER: the managed path must not have it */
    g_assert_cmpstr(flags, ==, "LIVE|PERSIST_DEST|UNDEFINE_SOURCE");
    g_assert_cmpint(p.nparams, ==, 0);
}

static void
test_block_full(void)
{
    g_auto(FerryMigrateParams) p = {0};
    FerryMigrateSpec spec = {
        .p2p = TRUE, .copy_storage = TRUE, .copy_full = TRUE, .migrate_disks = two_disks,
    };

    g_assert_true(ferry_migrate_params_build(&spec, &p, NULL));
    g_assert_true(p.flags & VIR_MIGRATE_NON_SHARED_DISK);
    g_assert_false(p.flags & VIR_MIGRATE_NON_SHARED_INC);
}

static void
test_block_without_disks_refused(void)
{
    g_auto(FerryMigrateParams) p = {0};
    g_autoptr(GError) error = NULL;
    FerryMigrateSpec spec = {.p2p = TRUE, .copy_storage = TRUE};

    g_assert_false(ferry_migrate_params_build(&spec, &p, &error));
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error->message, "at least one disk"));
    g_assert_null(p.params);
}

static void
test_convergence_flags(void)
{
    g_auto(FerryMigrateParams) p = {0};
    g_autofree char *flags = NULL;
    FerryMigrateSpec spec = {
        .p2p = TRUE, .postcopy = TRUE, .auto_converge = TRUE, .compressed = TRUE,
    };

    g_assert_true(ferry_migrate_params_build(&spec, &p, NULL));
    flags = ferry_migrate_flags_to_string(p.flags);
    g_assert_cmpstr(flags, ==,
                    "LIVE|PEER2PEER|PERSIST_DEST|UNDEFINE_SOURCE|COMPRESSED|AUTO_CONVERGE|POSTCOPY");
    g_assert_cmpint(p.nparams, ==, 0);
}

static void
test_parallel(void)
{
    g_auto(FerryMigrateParams) p = {0};
    FerryMigrateSpec spec = {.p2p = TRUE, .parallel_connections = 4};
    int n = 0;

    g_assert_true(ferry_migrate_params_build(&spec, &p, NULL));
    g_assert_true(p.flags & VIR_MIGRATE_PARALLEL);
    g_assert_cmpint(virTypedParamsGetInt(p.params, p.nparams,
                                         VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS, &n), ==, 1);
    g_assert_cmpint(n, ==, 4);
}

static void
test_parallel_with_postcopy_refused(void)
{
    g_auto(FerryMigrateParams) p = {0};
    g_autoptr(GError) error = NULL;
    FerryMigrateSpec spec = {.p2p = TRUE, .parallel_connections = 2, .postcopy = TRUE};

    g_assert_false(ferry_migrate_params_build(&spec, &p, &error));
    g_assert_cmpstr(error->message, ==, "parallel connections cannot be combined with post-copy");
    g_assert_null(p.params);
}

static void
test_tls(void)
{
    g_auto(FerryMigrateParams) p = {0};
    g_autofree char *flags = NULL;
    FerryMigrateSpec spec = {.p2p = TRUE, .tls = TRUE};

    g_assert_true(ferry_migrate_params_build(&spec, &p, NULL));
    flags = ferry_migrate_flags_to_string(p.flags);
    g_assert_cmpstr(flags, ==, "LIVE|PEER2PEER|PERSIST_DEST|UNDEFINE_SOURCE|TLS");
}

static void
test_unknown_flag_bits(void)
{
    g_autofree char *s = ferry_migrate_flags_to_string(VIR_MIGRATE_LIVE | (1u << 30));

    g_assert_cmpstr(s, ==, "LIVE|0x40000000");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migrate-params/block/p2p-inc-with-disks-and-xml", test_block_p2p);
    g_test_add_func("/migrate-params/shared/managed-has-no-p2p", test_shared_managed);
    g_test_add_func("/migrate-params/migration-address/uri-listen-disks-uri",
                    test_migration_address);
    g_test_add_func("/migrate-params/block-full/non-shared-disk", test_block_full);
    g_test_add_func("/migrate-params/block/no-disks-refused", test_block_without_disks_refused);
    g_test_add_func("/migrate-params/flags/unknown-bits-shown", test_unknown_flag_bits);
    g_test_add_func("/migrate-params/converge/postcopy-auto-converge-compressed",
                    test_convergence_flags);
    g_test_add_func("/migrate-params/parallel/flag-and-connections", test_parallel);
    g_test_add_func("/migrate-params/tls/flag", test_tls);
    g_test_add_func("/migrate-params/parallel/with-postcopy-refused",
                    test_parallel_with_postcopy_refused);
    return g_test_run();
}
