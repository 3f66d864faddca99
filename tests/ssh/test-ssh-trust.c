/*
 * test-ssh-trust.c: the pure parts of the trust check: the class table, and how ssh's stderr is
 * classified.  Each tests/ssh/data/trust/CLASS[-case].stderr is a message OpenSSH's client
 * printed (exit 255) whose expected class is the file name's prefix.  The checks themselves run
 * against real hosts in tests/labtests/60-ssh-trust.sh.
 */
#include "ssh/ferry-ssh-trust.h"

#include <string.h>

static void
test_class_table(void)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

    for (guint c = 0; c < FERRY_TRUST_LAST; c++) {
        const char *name = ferry_trust_class_to_string(c);

        g_assert_nonnull(name);
        g_assert_cmpuint(strlen(name), >, 0);
        g_assert_cmpuint(strlen(ferry_trust_class_remedy(c)), >, 10);
        g_assert_false(g_hash_table_contains(seen, name));
        g_hash_table_add(seen, (gpointer)name);
    }
    g_assert_cmpstr(ferry_trust_class_to_string(FERRY_TRUST_LAST), ==, "invalid");
    g_assert_nonnull(strstr(ferry_trust_class_remedy(FERRY_TRUST_KEY_RSA), "ed25519"));
}

static void
test_exit_status(void)
{
    g_assert_cmpint(ferry_trust_classify_ssh(0, "Permission denied"), ==, FERRY_TRUST_OK);
    /* the remote `true` failing is not ssh failing */
    g_assert_cmpint(ferry_trust_classify_ssh(1, "Permission denied"), ==, FERRY_TRUST_CHECK_FAILED);
    g_assert_cmpint(ferry_trust_classify_ssh(255, ""), ==, FERRY_TRUST_CHECK_FAILED);
    g_assert_cmpint(ferry_trust_classify_ssh(255, NULL), ==, FERRY_TRUST_CHECK_FAILED);
}

/* Only a destination whose identity is in doubt stops a copy instead of a relay. */
static void
test_fatal_classes(void)
{
    for (guint c = 0; c < FERRY_TRUST_LAST; c++)
        g_assert_cmpint(ferry_trust_class_is_fatal(c), ==,
                        c == FERRY_TRUST_HOSTKEY_CHANGED || c == FERRY_TRUST_HOSTKEY_REVOKED);
}

/* The host-to-host ssh's connect deadline is the inventory's ssh_connect_timeout. */
static void
test_append_ssh_connect_timeout(void)
{
    FerrySshPeer peer = {.host = "10.0.0.12", .connect_timeout = 7};
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *line = NULL;

    ferry_trust_append_ssh(&peer, "nova", NULL, argv, owned);
    g_ptr_array_add(argv, NULL);
    line = g_strjoinv(" ", (char **)argv->pdata);
    g_assert_nonnull(strstr(line, "-o ConnectTimeout=7 "));
    g_assert_nonnull(strstr(line, "-o StrictHostKeyChecking=yes "));
    g_assert_true(g_str_has_suffix(line, "-l nova -- 10.0.0.12"));

    peer.connect_timeout = 0;
    g_ptr_array_set_size(argv, 0);
    ferry_trust_append_ssh(&peer, "nova", NULL, argv, owned);
    g_ptr_array_add(argv, NULL);
    g_free(line);
    line = g_strjoinv(" ", (char **)argv->pdata);
    g_assert_nonnull(strstr(line, "-o ConnectTimeout=10 "));
}

static void
test_open_errors(void)
{
    static const struct {
        FerrySshErrorCode code;
        FerryTrustClass klass;
    } cases[] = {
        {FERRY_SSH_ERROR_CONNECT, FERRY_TRUST_A_UNREACHABLE},
        {FERRY_SSH_ERROR_HANDSHAKE, FERRY_TRUST_A_UNREACHABLE},
        {FERRY_SSH_ERROR_TIMEOUT, FERRY_TRUST_A_UNREACHABLE},
        {FERRY_SSH_ERROR_AUTH, FERRY_TRUST_A_LOGIN_REFUSED},
        {FERRY_SSH_ERROR_KEYFILE, FERRY_TRUST_A_LOGIN_REFUSED},
        {FERRY_SSH_ERROR_HOSTKEY_CHANGED, FERRY_TRUST_A_LOGIN_REFUSED},
        {FERRY_SSH_ERROR_HOSTKEY_REVOKED, FERRY_TRUST_A_LOGIN_REFUSED},
        {FERRY_SSH_ERROR_SFTP, FERRY_TRUST_CHECK_FAILED},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = g_error_new_literal(FERRY_SSH_ERROR, cases[i].code, "x");
        g_assert_cmpint(ferry_trust_classify_open_error(error), ==, cases[i].klass);
    }
}

static void
test_stderr_file(gconstpointer data)
{
    const char *path = data;
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *contents = NULL;
    g_autoptr(GError) error = NULL;
    FerryTrustClass got;

    g_assert_true(g_file_get_contents(path, &contents, NULL, &error));
    g_assert_no_error(error);
    got = ferry_trust_classify_ssh(255, contents);
    /* "dst-unreachable-timeout.stderr" expects "dst-unreachable" */
    g_assert_true(g_str_has_prefix(base, ferry_trust_class_to_string(got)));
    g_assert_true(base[strlen(ferry_trust_class_to_string(got))] == '.' ||
                  base[strlen(ferry_trust_class_to_string(got))] == '-');
}

int
main(int argc, char **argv)
{
    const char *top = g_getenv("FERRY_TEST_DATA");
    g_autofree char *dir = NULL;
    g_autoptr(GDir) d = NULL;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    const char *name;

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ssh/trust/class-table-is-complete", test_class_table);
    g_test_add_func("/ssh/trust/only-ssh-exit-255-is-classified", test_exit_status);
    g_test_add_func("/ssh/trust/open-errors-name-the-source", test_open_errors);
    g_test_add_func("/ssh/trust/only-a-doubtful-identity-stops-a-copy", test_fatal_classes);
    g_test_add_func("/ssh/trust/ssh-connect-timeout-from-the-inventory",
                    test_append_ssh_connect_timeout);

    dir = g_build_filename(top ? top : ".", "ssh", "data", "trust", NULL);
    d = g_dir_open(dir, 0, NULL);
    while (d && (name = g_dir_read_name(d))) {
        if (g_str_has_suffix(name, ".stderr"))
            g_ptr_array_add(names, g_strdup(name));
    }
    g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
    g_assert_cmpuint(names->len, >, 0);
    for (guint i = 0; i < names->len; i++) {
        const char *n = g_ptr_array_index(names, i);
        g_autofree char *case_name = g_strndup(n, strlen(n) - strlen(".stderr"));
        g_autofree char *test_path = g_strdup_printf("/ssh/trust/stderr/%s", case_name);

        g_ptr_array_add(paths, g_build_filename(dir, n, NULL));
        g_test_add_data_func(test_path, g_ptr_array_index(paths, paths->len - 1), test_stderr_file);
    }
    return g_test_run();
}
