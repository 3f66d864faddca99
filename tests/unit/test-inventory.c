/*
 * test-inventory.c: the inventory file: what it accepts, what it refuses and how it says so.
 */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/ferry-inventory.h"

static char *
data_path(const char *name)
{
    return g_build_filename(g_getenv("FERRY_TEST_DATA"), "unit", "data", name, NULL);
}

/* Writes @text to a temporary inventory and loads it. */
static FerryInventory *
load_text(const char *text, GError **error)
{
    g_autofree char *path = NULL;
    int fd = g_file_open_tmp("ferry-inv-XXXXXX.ini", &path, NULL);
    FerryInventory *inv;

    g_assert_cmpint(fd, >=, 0);
    close(fd);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
    inv = ferry_inventory_load(path, error);
    g_unlink(path);
    return inv;
}

static void
test_load_good(void)
{
    g_autofree char *path = data_path("inventory-good.ini");
    g_autoptr(GError) error = NULL;
    g_autoptr(FerryInventory) inv = ferry_inventory_load(path, &error);
    const FerryHost *a, *b;

    g_assert_no_error(error);
    g_assert_cmpuint(inv->hosts->len, ==, 2);
    a = ferry_inventory_get_host(inv, "hostA", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(a->peer_uri, ==, "qemu+tcp://10.0.0.11/system");
    g_assert_cmpstr(a->ssh_host, ==, "10.0.0.11");
    g_assert_cmpuint(a->ssh_port, ==, 22);
    g_assert_cmpstr(a->ssh_user, ==, "nova");
    b = ferry_inventory_get_host(inv, "HOSTB", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(b->name, ==, "hostB");
    g_assert_cmpstr(b->peer_uri, ==, "qemu+tcp://hostb/system");
    g_assert_cmpstr(b->ssh_host, ==, "hostb.example");
    g_assert_cmpuint(b->ssh_port, ==, 2222);
    g_assert_cmpstr(b->ssh_user, ==, "root");
    g_assert_cmpstr(inv->ssh_key, ==, "/etc/ferry/id_ed25519");
}

static void
test_ssh_config(void)
{
    g_autofree char *path = data_path("inventory-good.ini");
    g_autoptr(FerryInventory) inv = ferry_inventory_load(path, NULL);
    FerrySshConfig config;

    ferry_inventory_ssh_config(inv, ferry_inventory_get_host(inv, "hostB", NULL), &config);
    g_assert_cmpstr(config.host, ==, "hostb.example");
    g_assert_cmpuint(config.port, ==, 2222);
    g_assert_cmpstr(config.user, ==, "root");
    g_assert_cmpstr(config.known_hosts, ==, "/etc/ferry/known_hosts");
    g_assert_cmpstr(config.name, ==, "hostB");
    g_assert_cmpuint(config.connect_timeout_ms, ==, FERRY_INVENTORY_DEFAULT_SSH_CONNECT_TIMEOUT * 1000);
}

static void
test_mapping(void)
{
    g_autofree char *path = data_path("inventory-good.ini");
    g_autoptr(FerryInventory) inv = ferry_inventory_load(path, NULL);
    g_autoptr(FerryXmlMapping) map = ferry_inventory_mapping(
        ferry_inventory_get_host(inv, "hostA", NULL), ferry_inventory_get_host(inv, "hostB", NULL));
    const FerryXmlPair *pair;

    g_assert_cmpuint(map->path_maps->len, ==, 1);
    pair = g_ptr_array_index(map->path_maps, 0);
    g_assert_cmpstr(pair->from, ==, "/srv/a/images");
    g_assert_cmpstr(pair->to, ==, "/var/lib/libvirt/images");
    /* only directories both hosts list are shared */
    g_assert_cmpuint(map->shared_prefixes->len, ==, 1);
    g_assert_cmpstr(g_ptr_array_index(map->shared_prefixes, 0), ==, "/mnt/nfs");
    /* only bridge names both hosts define map; 'private' and 'other' do not */
    g_assert_cmpuint(map->bridges->len, ==, 1);
    pair = g_ptr_array_index(map->bridges, 0);
    g_assert_cmpstr(pair->from, ==, "br-pub");
    g_assert_cmpstr(pair->to, ==, "br0");
    g_assert_cmpuint(map->networks->len, ==, 0);
    g_assert_cmpstr(map->src_address, ==, "10.0.0.11");
    g_assert_cmpstr(map->dst_address, ==, "10.0.0.12");
}

/* volume_groups and pools map like bridges: names both hosts define, source's -> destination's */
static void
test_mapping_storage(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FerryInventory) inv =
        load_text("[host a]\nuri=x\nvolume_groups=vms=vg-a;scratch=s-a\npools=images=default\n"
                  "[host b]\nuri=y\nvolume_groups=vms=vg-b\npools=images=fast;isos=isos\n",
                  &error);
    g_autoptr(FerryXmlMapping) map = NULL;
    const FerryXmlPair *pair;

    g_assert_no_error(error);
    map = ferry_inventory_mapping(ferry_inventory_get_host(inv, "a", NULL),
                                  ferry_inventory_get_host(inv, "b", NULL));
    g_assert_cmpuint(map->volume_groups->len, ==, 1);
    pair = g_ptr_array_index(map->volume_groups, 0);
    g_assert_cmpstr(pair->from, ==, "vg-a");
    g_assert_cmpstr(pair->to, ==, "vg-b");
    g_assert_cmpuint(map->pools->len, ==, 1);
    pair = g_ptr_array_index(map->pools, 0);
    g_assert_cmpstr(pair->from, ==, "default");
    g_assert_cmpstr(pair->to, ==, "fast");
}

static void
test_unknown_host(void)
{
    g_autofree char *path = data_path("inventory-good.ini");
    g_autoptr(FerryInventory) inv = ferry_inventory_load(path, NULL);
    g_autoptr(GError) error = NULL;

    g_assert_null(ferry_inventory_get_host(inv, "hostZ", &error));
    g_assert_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_UNKNOWN_HOST);
    g_assert_nonnull(strstr(error->message, "'hostZ'"));
    g_assert_nonnull(strstr(error->message, "'hostA', 'hostB'"));
}

/* Each bad file is refused with a message naming what is wrong and where. */
static const struct {
    const char *name;
    const char *text;
    const char *expect;
} bad_cases[] = {
    {"no-hosts", "[ferry]\nssh_user=root\n", "no hosts"},
    {"no-uri", "[host a]\naddress=1.2.3.4\n", "[host a] has no 'uri'"},
    {"typo-key", "[host a]\nuri=qemu:///system\niamges_dir=/x\n", "unknown key 'iamges_dir' in [host a]"},
    {"typo-ferry-key", "[ferry]\nssh_kye=/x\n[host a]\nuri=x\n", "unknown key 'ssh_kye' in [ferry]"},
    {"bad-port", "[host a]\nuri=x\nssh_port=99999\n", "ssh_port 99999 is not a TCP port"},
    {"port-not-number", "[host a]\nuri=x\nssh_port=abc\n", "ssh_port"},
    {"relative-images", "[host a]\nuri=x\nimages_dir=images\n", "images_dir 'images' is not an absolute path"},
    {"relative-shared", "[host a]\nuri=x\nshared_dirs=/ok;rel\n", "shared_dirs entry 'rel'"},
    {"bad-bridge-map", "[host a]\nuri=x\nbridges=br0\n", "'br0' is not of the form NAME=BRIDGE"},
    {"bad-vg-map", "[host a]\nuri=x\nvolume_groups=vg0\n", "[host a] volume_groups: 'vg0' is not of the form NAME=VOLUME_GROUP"},
    {"bad-pool-map", "[host a]\nuri=x\npools==default\n", "[host a] pools: '=default' is not of the form NAME=POOL"},
    {"duplicate", "[host a]\nuri=x\n[host A]\nuri=y\n", "host 'A' is defined twice"},
    {"duplicate-section", "[host a]\nuri=x\n[host a]\nuri=y\n", "line 3: section [host a] is defined twice"},
    {"two-words", "[host a b]\nuri=x\n", "a host name must be one word"},
    {"bad-reserve", "[host a]\nuri=x\nreserved_memory_mib=-5\n", "reserved_memory_mib '-5' is not a size in MiB"},
    {"ssh-timeout-zero", "[ferry]\nssh_connect_timeout=0\n[host a]\nuri=x\n", "[ferry] ssh_connect_timeout '0' is not a number of seconds from 1 to 300"},
    {"ssh-timeout-absurd", "[ferry]\nssh_connect_timeout=1e9\n[host a]\nuri=x\n", "ssh_connect_timeout '1e9'"},
    {"not-ini", "this is not an ini file\n", "cannot read inventory"},
};

static void
test_bad(gconstpointer data)
{
    guint i = GPOINTER_TO_UINT(data);
    g_autoptr(GError) error = NULL;
    g_autoptr(FerryInventory) inv = load_text(bad_cases[i].text, &error);

    g_assert_null(inv);
    g_assert_nonnull(error);
    if (!strstr(error->message, bad_cases[i].expect))
        g_error("case %s: message '%s' lacks '%s'", bad_cases[i].name, error->message,
                bad_cases[i].expect);
}

static void
test_missing_file(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FerryInventory) inv = ferry_inventory_load("/nonexistent/ferry.ini", &error);

    g_assert_null(inv);
    g_assert_error(error, FERRY_INVENTORY_ERROR, FERRY_INVENTORY_ERROR_FILE);
    g_assert_nonnull(strstr(error->message, "/nonexistent/ferry.ini"));
}

static void
test_resolve_path(void)
{
    g_setenv("FERRY_CONFIG", "/from/env.ini", TRUE);
    g_assert_cmpstr(ferry_inventory_resolve_path("/given.ini"), ==, "/given.ini");
    g_assert_cmpstr(ferry_inventory_resolve_path(NULL), ==, "/from/env.ini");
    g_unsetenv("FERRY_CONFIG");
    g_assert_cmpstr(ferry_inventory_resolve_path(NULL), ==, FERRY_INVENTORY_DEFAULT_PATH);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/inventory/load/good-file", test_load_good);
    g_test_add_func("/inventory/ssh/config-from-host", test_ssh_config);
    g_test_add_func("/inventory/mapping/only-common-names", test_mapping);
    g_test_add_func("/inventory/mapping/volume-groups-and-pools", test_mapping_storage);
    g_test_add_func("/inventory/host/unknown-names-the-known", test_unknown_host);
    g_test_add_func("/inventory/load/missing-file", test_missing_file);
    g_test_add_func("/inventory/path/flag-env-default", test_resolve_path);
    for (guint i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_autofree char *name = g_strdup_printf("/inventory/refuse/%s", bad_cases[i].name);
        g_test_add_data_func(name, GUINT_TO_POINTER(i), test_bad);
    }
    return g_test_run();
}
