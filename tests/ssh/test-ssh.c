/*
 * test-ssh.c: FerrySshSession, SFTP and remote disk operations against a real sshd that this
 * program starts on 127.0.0.1 with its own host key, authorized_keys and config in a temporary
 * directory, and stops at the end.
 *
 * /run/sshd (sshd's privilege separation directory) is provided by a tmpfs over /run in a
 * private mount namespace of the sshd process, so nothing is created outside the temp dir.
 */
#define _GNU_SOURCE
#include "ssh/ferry-remote-copy.h"
#include "ssh/ferry-remote-disk.h"
#include "ssh/ferry-ssh-storage.h"
#include "ssh/ferry-ssh-session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define SSHD "/usr/sbin/sshd"
#define SFTP_SERVER "/usr/lib/openssh/sftp-server"

static struct {
    char *skip_reason; /* set when the environment cannot run these tests */
    char *dir;
    guint port;
    GPid sshd;
    char *sshd_log;
    char *host_pub;    /* base64 of the sshd's ed25519 host key */
    char *fingerprint; /* "SHA256:..." as ssh-keygen -l prints it */
    char *known_hosts; /* correct entry for [127.0.0.1]:port */
    char *key_ed25519; /* authorized */
    char *key_other;   /* not authorized */
    char *key_rsa;     /* authorized, but libssh2 1.10 cannot use it against OpenSSH 9 */
} lab;

static char *
lab_path(const char *name)
{
    return g_build_filename(lab.dir, name, NULL);
}

static gboolean
run_local(const char *const *argv, char **out, GError **error)
{
    int status = 0;
    g_autofree char *err = NULL;
    g_autofree char *discard = NULL;

    /* stdout is captured even when unused: it would corrupt the TAP stream */
    if (!out)
        out = &discard;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, out, &err,
                      &status, error))
        return FALSE;
    if (!g_spawn_check_wait_status(status, error)) {
        g_prefix_error(error, "%s: %s: ", argv[0], err ? err : "");
        return FALSE;
    }
    return TRUE;
}

static gboolean
keygen(const char *type, const char *path, GError **error)
{
    const char *argv[] = {"ssh-keygen", "-q", "-t", type, "-N", "",  "-C",
                          "ferry-test", "-f", path, NULL, NULL, NULL};

    if (g_str_equal(type, "rsa")) {
        argv[10] = "-b";
        argv[11] = "2048";
    }
    return run_local(argv, NULL, error);
}

/* Second field of a .pub file: the base64 key blob. */
static char *
pub_blob(const char *pub_path, GError **error)
{
    g_autofree char *contents = NULL;
    g_auto(GStrv) fields = NULL;

    if (!g_file_get_contents(pub_path, &contents, NULL, error))
        return NULL;
    fields = g_strsplit(g_strstrip(contents), " ", 3);
    if (g_strv_length(fields) < 2) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "bad public key file %s", pub_path);
        return NULL;
    }
    return g_strdup(fields[1]);
}

static guint
free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    guint port = 0;

    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static gboolean
port_answers(guint port)
{
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    gboolean ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;

    if (fd >= 0)
        close(fd);
    return ok;
}

/* Runs in the forked child before exec: sshd dies with us, and gets its own /run/sshd. */
static void
sshd_child_setup(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (g_file_test("/run/sshd", G_FILE_TEST_IS_DIR))
        return;
    if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") != 0 || mkdir("/run/sshd", 0755) != 0)
        return; /* sshd will fail and say why in its log */
}

static gboolean
lab_start_sshd(GError **error)
{
    g_autofree char *cfg = lab_path("sshd_config");
    g_autofree char *hostkey = lab_path("ssh_host_ed25519_key");
    g_autofree char *authorized = lab_path("authorized_keys");
    g_autofree char *pid = lab_path("sshd.pid");
    g_autofree char *config = NULL;
    const char *argv[] = {SSHD, "-D", "-f", NULL, "-E", NULL, NULL};

    lab.port = free_port();
    lab.sshd_log = lab_path("sshd.log");
    config = g_strdup_printf("ListenAddress 127.0.0.1\n"
                             "Port %u\n"
                             "HostKey %s\n"
                             "PidFile %s\n"
                             "AuthorizedKeysFile %s\n"
                             "UsePAM no\n"
                             "PasswordAuthentication no\n"
                             "KbdInteractiveAuthentication no\n"
                             "PubkeyAuthentication yes\n"
                             "PermitRootLogin prohibit-password\n"
                             "StrictModes no\n"
                             "UseDNS no\n"
                             "LogLevel VERBOSE\n"
                             "MaxStartups 50\n"
                             "Subsystem sftp " SFTP_SERVER "\n",
                             lab.port, hostkey, pid, authorized);
    if (!g_file_set_contents(cfg, config, -1, error))
        return FALSE;
    argv[3] = cfg;
    argv[5] = lab.sshd_log;
    if (!g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, sshd_child_setup, NULL,
                       &lab.sshd, error))
        return FALSE;

    for (int i = 0; i < 100; i++) {
        int status;

        if (waitpid(lab.sshd, &status, WNOHANG) == lab.sshd) {
            g_autofree char *log = NULL;

            lab.sshd = 0;
            g_file_get_contents(lab.sshd_log, &log, NULL, NULL);
            g_set_error(error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "sshd exited: %s",
                        log ? g_strstrip(log) : "(no log)");
            return FALSE;
        }
        if (port_answers(lab.port))
            return TRUE;
        g_usleep(50 * 1000);
    }
    g_set_error(error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "sshd does not listen on port %u",
                lab.port);
    return FALSE;
}

static gboolean
lab_setup(GError **error)
{
    g_autofree char *hostkey = NULL;
    g_autofree char *hostkey_pub = NULL;
    g_autofree char *authorized = NULL;
    g_autofree char *auth_contents = NULL;
    g_autofree char *fp_out = NULL;
    g_autofree char *kh = NULL;
    g_auto(GStrv) fp_fields = NULL;

    lab.dir = g_dir_make_tmp("ferry-ssh-XXXXXX", error);
    if (!lab.dir)
        return FALSE;
    hostkey = lab_path("ssh_host_ed25519_key");
    hostkey_pub = lab_path("ssh_host_ed25519_key.pub");
    lab.key_ed25519 = lab_path("id_ed25519");
    lab.key_other = lab_path("id_other");
    lab.key_rsa = lab_path("id_rsa");
    if (!keygen("ed25519", hostkey, error) || !keygen("ed25519", lab.key_ed25519, error) ||
        !keygen("ed25519", lab.key_other, error) || !keygen("rsa", lab.key_rsa, error))
        return FALSE;

    {
        g_autofree char *p1 = g_strconcat(lab.key_ed25519, ".pub", NULL);
        g_autofree char *p2 = g_strconcat(lab.key_rsa, ".pub", NULL);
        g_autofree char *c1 = NULL;
        g_autofree char *c2 = NULL;

        if (!g_file_get_contents(p1, &c1, NULL, error) ||
            !g_file_get_contents(p2, &c2, NULL, error))
            return FALSE;
        auth_contents = g_strconcat(c1, c2, NULL);
    }
    authorized = lab_path("authorized_keys");
    if (!g_file_set_contents(authorized, auth_contents, -1, error))
        return FALSE;

    if (!(lab.host_pub = pub_blob(hostkey_pub, error)))
        return FALSE;
    {
        const char *argv[] = {"ssh-keygen", "-l", "-E", "sha256", "-f", hostkey_pub, NULL};

        if (!run_local(argv, &fp_out, error))
            return FALSE;
        fp_fields = g_strsplit(fp_out, " ", 3);
        lab.fingerprint = g_strdup(fp_fields[1]);
    }

    if (!lab_start_sshd(error))
        return FALSE;

    lab.known_hosts = lab_path("known_hosts");
    kh = g_strdup_printf("# test\n[127.0.0.1]:%u ssh-ed25519 %s\n", lab.port, lab.host_pub);
    return g_file_set_contents(lab.known_hosts, kh, -1, error);
}

static void
lab_teardown(void)
{
    if (lab.sshd > 0) {
        kill(lab.sshd, SIGTERM);
        waitpid(lab.sshd, NULL, 0);
        g_spawn_close_pid(lab.sshd);
    }
    if (lab.dir) {
        const char *argv[] = {"rm", "-rf", "--", lab.dir, NULL};
        g_autoptr(GError) error = NULL;

        if (!run_local(argv, NULL, &error))
            g_printerr("# cannot remove %s: %s\n", lab.dir, error->message);
    }
}

static gboolean
need_lab(void)
{
    if (lab.skip_reason) {
        g_test_skip(lab.skip_reason);
        return FALSE;
    }
    return TRUE;
}

static FerrySshConfig
config_for(const char *key, const char *known_hosts)
{
    FerrySshConfig config = {
        .host = "127.0.0.1",
        .port = lab.port,
        .user = "root",
        .private_key = key,
        .known_hosts = known_hosts,
        .name = "testhost",
        .connect_timeout_ms = 5000,
        .command_timeout_ms = 30000,
    };
    return config;
}

static FerrySshSession *
open_good(void)
{
    FerrySshConfig config = config_for(lab.key_ed25519, lab.known_hosts);
    g_autoptr(GError) error = NULL;
    FerrySshSession *session = ferry_ssh_session_open(&config, &error);

    g_assert_no_error(error);
    g_assert_nonnull(session);
    return session;
}

/* ---- quoting ---- */

static void
test_quote(void)
{
    static const struct {
        const char *const argv[4];
        const char *quoted;
    } cases[] = {
        {{"echo", "a b", NULL}, "'echo' 'a b'"},
        {{"it's", NULL}, "'it'\\''s'"},
        {{"", "$(x)", NULL}, "'' '$(x)'"},
        {{"''", NULL}, "''\\'''\\'''"},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *q = ferry_ssh_quote_argv(cases[i].argv);

        g_assert_cmpstr(q, ==, cases[i].quoted);
    }
}

/* ---- exec ---- */

static void
test_run_hostile_arguments(void)
{
    g_autoptr(FerrySshSession) session = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GString) expected = g_string_new(NULL);
    g_autoptr(GString) expected_echo = g_string_new(NULL);
    g_autofree char *pwn1 = NULL, *pwn2 = NULL, *pwn3 = NULL, *pwn4 = NULL;
    g_autofree char *a1 = NULL, *a2 = NULL, *a3 = NULL, *a4 = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    int status = -1;

    if (!need_lab())
        return;
    session = open_good();
    pwn1 = lab_path("pwn1");
    pwn2 = lab_path("pwn2");
    pwn3 = lab_path("pwn3");
    pwn4 = lab_path("pwn4");
    a1 = g_strdup_printf("$(touch %s)", pwn1);
    a2 = g_strdup_printf("`touch %s`", pwn2);
    a3 = g_strdup_printf("; touch %s", pwn3);
    a4 = g_strdup_printf("' && touch %s '", pwn4);
    {
        const char *args[] = {"a b",          "it's", "\"dq\"", a1,      a2,   a3, a4,
                              "line1\nline2", "*",    "/*",     "$HOME", "\\", "", "~",
                              "a\tb",         "!!",   NULL};
        g_autoptr(GPtrArray) argv = g_ptr_array_new();

        g_ptr_array_add(argv, (gpointer) "printf");
        g_ptr_array_add(argv, (gpointer) "[%s]\\n");
        for (gsize i = 0; args[i]; i++) {
            g_ptr_array_add(argv, (gpointer)args[i]);
            g_string_append_printf(expected, "[%s]\n", args[i]);
        }
        g_ptr_array_add(argv, NULL);
        g_assert_true(ferry_ssh_session_run(session, (const char *const *)argv->pdata, &out, &err,
                                            &status, &error));
        g_assert_no_error(error);
        g_assert_cmpint(status, ==, 0);
        g_assert_cmpstr(err, ==, "");
        g_assert_cmpstr(out, ==, expected->str);
        g_clear_pointer(&out, g_free);

        /* echo too, as the simplest consumer of arguments */
        argv->pdata[0] = (gpointer) "echo";
        g_ptr_array_remove_index(argv, 1);
        for (gsize i = 0; args[i]; i++)
            g_string_append_printf(expected_echo, "%s%s", i ? " " : "", args[i]);
        g_string_append_c(expected_echo, '\n');
        g_assert_true(ferry_ssh_session_run(session, (const char *const *)argv->pdata, &out, NULL,
                                            &status, &error));
        g_assert_no_error(error);
        g_assert_cmpstr(out, ==, expected_echo->str);
    }
    g_assert_false(g_file_test(pwn1, G_FILE_TEST_EXISTS));
    g_assert_false(g_file_test(pwn2, G_FILE_TEST_EXISTS));
    g_assert_false(g_file_test(pwn3, G_FILE_TEST_EXISTS));
    g_assert_false(g_file_test(pwn4, G_FILE_TEST_EXISTS));
}

static void
test_run_exit_status_and_stderr(void)
{
    g_autoptr(FerrySshSession) session = NULL;
    g_autoptr(GError) error = NULL;
    const char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    const char *ok_argv[] = {"sh", "-c", "echo fine", NULL};
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autofree char *out2 = NULL;
    int status = -1;

    if (!need_lab())
        return;
    session = open_good();
    g_assert_true(ferry_ssh_session_run(session, argv, &out, &err, &status, &error));
    g_assert_no_error(error);
    g_assert_cmpint(status, ==, 3);
    g_assert_cmpstr(out, ==, "out\n");
    g_assert_cmpstr(err, ==, "err\n");

    g_assert_false(ferry_ssh_session_check(session, argv, NULL, &error));
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE);
    g_assert_nonnull(strstr(error->message, "exit status 3: err"));
    g_assert_nonnull(strstr(error->message, "'testhost'"));
    g_clear_error(&error);

    g_assert_true(ferry_ssh_session_check(session, ok_argv, &out2, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(out2, ==, "fine\n");
}

static void
test_run_large_output(void)
{
    g_autoptr(FerrySshSession) session = NULL;
    g_autoptr(GError) error = NULL;
    /* 1 MiB on each stream at the same time: neither may stall the other */
    const char *argv[] = {"sh", "-c",
                          "(yes eeeeeee | head -c 1048576 >&2) & yes ooooooo | head -c 1048576; "
                          "wait",
                          NULL};
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    int status = -1;

    if (!need_lab())
        return;
    session = open_good();
    g_assert_true(ferry_ssh_session_run(session, argv, &out, &err, &status, &error));
    g_assert_no_error(error);
    g_assert_cmpint(status, ==, 0);
    g_assert_cmpuint(strlen(out), ==, 1048576);
    g_assert_cmpuint(strlen(err), ==, 1048576);
    g_assert_true(g_str_has_prefix(out, "ooooooo\n"));
    g_assert_true(g_str_has_prefix(err, "eeeeeee\n"));
}

static void
test_run_timeout(void)
{
    FerrySshConfig config = config_for(lab.key_ed25519, lab.known_hosts);
    g_autoptr(FerrySshSession) session = NULL;
    g_autoptr(GError) error = NULL;
    const char *argv[] = {"sleep", "5", NULL};
    const char *echo[] = {"echo", "still here", NULL};
    g_autofree char *out = NULL;
    gint64 start;
    int status = -1;

    if (!need_lab())
        return;
    config.command_timeout_ms = 500;
    session = ferry_ssh_session_open(&config, &error);
    g_assert_no_error(error);
    start = g_get_monotonic_time();
    g_assert_false(ferry_ssh_session_run(session, argv, NULL, NULL, NULL, &error));
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_TIMEOUT);
    g_assert_cmpint(g_get_monotonic_time() - start, <, 3 * G_USEC_PER_SEC);
    g_test_message("timeout: %s", error->message);
    g_clear_error(&error);

    /* The command may still run: the session is broken, and says so at once. */
    start = g_get_monotonic_time();
    g_assert_false(ferry_ssh_session_check(session, echo, &out, &error));
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_EXEC);
    g_assert_nonnull(strstr(error->message, "no longer usable"));
    g_assert_cmpint(g_get_monotonic_time() - start, <, G_USEC_PER_SEC);
    g_clear_error(&error);
    g_assert_true(ferry_ssh_session_is_broken(session));

    /* reconnected, it works again (bounded generously here: the 500 ms bound above is the
     * session's default, and a loaded machine may take longer than that to run echo) */
    g_assert_true(ferry_ssh_session_reconnect(session, &error));
    g_assert_no_error(error);
    g_assert_false(ferry_ssh_session_is_broken(session));
    g_assert_true(ferry_ssh_session_run_within(session, echo, 30000, &out, NULL, &status, &error));
    g_assert_no_error(error);
    g_assert_cmpint(status, ==, 0);
    g_assert_cmpstr(out, ==, "still here\n");
}

static void
test_deadline_for_bytes(void)
{
    g_assert_cmpuint(ferry_ssh_deadline_for_bytes(0), ==, 120000);
    /* 64 GiB at 10 MiB/s: 6553.6 s more */
    g_assert_cmpuint(ferry_ssh_deadline_for_bytes(G_GUINT64_CONSTANT(64) << 30), ==,
                     120000 + 6553600);
    g_assert_cmpuint(ferry_ssh_deadline_for_bytes(G_MAXUINT64), ==, G_MAXUINT);
}

/* ---- host keys ---- */

static void
test_hostkey_unknown(void)
{
    g_autofree char *kh = NULL;
    FerrySshConfig config;
    g_autoptr(FerrySshSession) session = NULL;
    g_autoptr(GError) error = NULL;

    if (!need_lab())
        return;
    kh = lab_path("known_hosts.missing");
    config = config_for(lab.key_ed25519, kh);
    session = ferry_ssh_session_open(&config, &error);
    g_assert_null(session);
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_HOSTKEY_UNKNOWN);
    g_test_message("%s", error->message);
    g_assert_nonnull(strstr(error->message, lab.fingerprint));
    g_assert_nonnull(strstr(error->message, kh));
    g_assert_nonnull(strstr(error->message, "'testhost'"));
    g_assert_false(g_file_test(kh, G_FILE_TEST_EXISTS));
}

static void
test_hostkey_accept_new(void)
{
    g_autofree char *kh = NULL;
    g_autofree char *name = NULL;
    g_autofree char *contents = NULL;
    FerrySshConfig config;
    g_autoptr(GError) error = NULL;

    if (!need_lab())
        return;
    kh = lab_path("known_hosts.accept");
    /* an existing file without a trailing newline, with a line libssh2 does not parse */
    g_assert_true(
        g_file_set_contents(kh,
                            "@cert-authority *.example ssh-ed25519 AAAA\nother.example ssh-ed25519 "
                            "AAAAC3NzaC1lZDI1NTE5AAAAIEnqvJ0lq5DHv0w7xB4pv5A2n9p3Z3lq4c0uTTKcXbqh",
                            -1, NULL));
    config = config_for(lab.key_ed25519, kh);
    config.accept_new = TRUE;
    {
        g_autoptr(FerrySshSession) session = ferry_ssh_session_open(&config, &error);

        g_assert_no_error(error);
        g_assert_nonnull(session);
    }
    config.accept_new = FALSE;
    {
        g_autoptr(FerrySshSession) session = ferry_ssh_session_open(&config, &error);

        g_assert_no_error(error);
        g_assert_nonnull(session);
    }
    /* OpenSSH finds the recorded entry too */
    name = g_strdup_printf("[127.0.0.1]:%u", lab.port);
    {
        const char *argv[] = {"ssh-keygen", "-F", name, "-f", kh, NULL};
        g_autofree char *found = NULL;

        g_assert_true(run_local(argv, &found, &error));
        g_assert_no_error(error);
        g_assert_nonnull(strstr(found, lab.host_pub));
    }
    g_assert_true(g_file_get_contents(kh, &contents, NULL, NULL));
    g_assert_nonnull(strstr(contents, "Xbqh\n["));

    /* still found once OpenSSH has hashed the host names */
    {
        const char *argv[] = {"ssh-keygen", "-q", "-H", "-f", kh, NULL};
        g_autofree char *hashed = NULL;
        g_autoptr(FerrySshSession) session = NULL;

        g_assert_true(run_local(argv, NULL, &error));
        g_assert_no_error(error);
        g_assert_true(g_file_get_contents(kh, &hashed, NULL, NULL));
        g_assert_null(strstr(hashed, name));
        session = ferry_ssh_session_open(&config, &error);
        g_assert_no_error(error);
        g_assert_nonnull(session);
    }
}

static void
test_hostkey_port_must_match(void)
{
    g_autofree char *kh = NULL;
    g_autofree char *line = NULL;
    FerrySshConfig config;
    g_autoptr(FerrySshSession) session = NULL;
    g_autoptr(GError) error = NULL;

    if (!need_lab())
        return;
    /* the right key, but recorded for port 22: OpenSSH would not use it for another port */
    kh = lab_path("known_hosts.port22");
    line = g_strdup_printf("127.0.0.1 ssh-ed25519 %s\n", lab.host_pub);
    g_assert_true(g_file_set_contents(kh, line, -1, NULL));
    config = config_for(lab.key_ed25519, kh);
    session = ferry_ssh_session_open(&config, &error);
    g_assert_null(session);
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_HOSTKEY_UNKNOWN);
}

/* Writes known_hosts @name holding, for the test sshd, a freshly made key of @type (the
 * server's real key is another one).  Returns its path; *@line gets the line written. */
static char *
known_hosts_with_other_key(const char *name, const char *type, const char *key_type_name,
                           char **line)
{
    g_autofree char *kh = lab_path(name);
    g_autofree char *key_name = g_strdup_printf("%s.key", name);
    g_autofree char *key = lab_path(key_name);
    g_autofree char *pub = g_strdup_printf("%s.pub", key);
    g_autofree char *blob = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_true(keygen(type, key, &error));
    blob = pub_blob(pub, &error);
    g_assert_no_error(error);
    *line = g_strdup_printf("[127.0.0.1]:%u %s %s\n", lab.port, key_type_name, blob);
    g_assert_true(g_file_set_contents(kh, *line, -1, NULL));
    return g_steal_pointer(&kh);
}

static void
test_hostkey_changed(void)
{
    g_autofree char *kh = NULL;
    g_autofree char *line = NULL;
    g_autofree char *after = NULL;
    FerrySshConfig config;
    g_autoptr(FerrySshSession) session = NULL;
    g_autoptr(GError) error = NULL;

    if (!need_lab())
        return;
    kh = known_hosts_with_other_key("known_hosts.changed", "ed25519", "ssh-ed25519", &line);
    config = config_for(lab.key_ed25519, kh);
    config.accept_new = TRUE; /* never overrides a changed key */
    session = ferry_ssh_session_open(&config, &error);
    g_assert_null(session);
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_HOSTKEY_CHANGED);
    g_test_message("%s", error->message);
    g_assert_nonnull(strstr(error->message, lab.fingerprint));
    g_assert_nonnull(strstr(error->message, kh));
    g_assert_true(g_file_get_contents(kh, &after, NULL, NULL));
    g_assert_cmpstr(after, ==, line);
}

static void
test_hostkey_other_type_known(void)
{
    g_autofree char *kh = NULL;
    g_autofree char *line = NULL;
    FerrySshConfig config;
    g_autoptr(FerrySshSession) session = NULL;
    g_autoptr(GError) error = NULL;

    if (!need_lab())
        return;
    /* known as ECDSA only; the server has only an ed25519 key */
    kh = known_hosts_with_other_key("known_hosts.ecdsa", "ecdsa", "ecdsa-sha2-nistp256", &line);
    config = config_for(lab.key_ed25519, kh);
    config.accept_new = TRUE;
    session = ferry_ssh_session_open(&config, &error);
    g_assert_null(session);
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_HOSTKEY_CHANGED);
    g_test_message("%s", error->message);
}

/* The server's own key on a @revoked line is refused, even with a plain line for it too, and
 * even with accept_new. */
static void
test_hostkey_revoked(void)
{
    g_autofree char *kh = NULL;
    g_autofree char *contents = NULL;
    FerrySshConfig config;
    g_autoptr(FerrySshSession) session = NULL;
    g_autoptr(GError) error = NULL;

    if (!need_lab())
        return;
    kh = lab_path("known_hosts.revoked");
    contents = g_strdup_printf("@revoked [127.0.0.1]:%u ssh-ed25519 %s\n"
                               "[127.0.0.1]:%u ssh-ed25519 %s\n",
                               lab.port, lab.host_pub, lab.port, lab.host_pub);
    g_assert_true(g_file_set_contents(kh, contents, -1, NULL));
    config = config_for(lab.key_ed25519, kh);
    config.accept_new = TRUE;
    session = ferry_ssh_session_open(&config, &error);
    g_assert_null(session);
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_HOSTKEY_REVOKED);
    g_test_message("%s", error->message);
    g_assert_nonnull(strstr(error->message, "revoked"));
    g_assert_nonnull(strstr(error->message, lab.fingerprint));
}

/* Another key revoked: the server's own plain line still matches. */
static void
test_hostkey_other_key_revoked(void)
{
    g_autofree char *kh = NULL;
    g_autofree char *line = NULL;
    g_autofree char *contents = NULL;
    FerrySshConfig config;
    g_autoptr(FerrySshSession) session = NULL;
    g_autoptr(GError) error = NULL;

    if (!need_lab())
        return;
    kh = known_hosts_with_other_key("known_hosts.other-revoked", "ed25519", "ssh-ed25519", &line);
    contents = g_strdup_printf("@revoked %s[127.0.0.1]:%u ssh-ed25519 %s\n", line, lab.port,
                               lab.host_pub);
    g_assert_true(g_file_set_contents(kh, contents, -1, NULL));
    config = config_for(lab.key_ed25519, kh);
    session = ferry_ssh_session_open(&config, &error);
    g_assert_no_error(error);
    g_assert_nonnull(session);
}

/* A @cert-authority line holding the server's very key is not a host key for it. */
static void
test_hostkey_cert_authority_is_not_a_host_key(void)
{
    g_autofree char *kh = NULL;
    g_autofree char *contents = NULL;
    g_autofree char *after = NULL;
    FerrySshConfig config;
    g_autoptr(FerrySshSession) session = NULL;
    g_autoptr(GError) error = NULL;

    if (!need_lab())
        return;
    kh = lab_path("known_hosts.ca");
    contents = g_strdup_printf("@cert-authority [127.0.0.1]:* ssh-ed25519 %s\n", lab.host_pub);
    g_assert_true(g_file_set_contents(kh, contents, -1, NULL));
    config = config_for(lab.key_ed25519, kh);
    session = ferry_ssh_session_open(&config, &error);
    g_assert_null(session);
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_HOSTKEY_UNKNOWN);
    g_test_message("%s", error->message);
    g_assert_nonnull(strstr(error->message, "does not do host certificates"));
    g_assert_true(g_file_get_contents(kh, &after, NULL, NULL));
    g_assert_cmpstr(after, ==, contents);
}

/* ---- disk image commands (pure) ---- */

static char *
joined(GPtrArray *argv)
{
    return ferry_ssh_quote_argv((const char *const *)argv->pdata);
}

static void
test_image_argv(void)
{
    g_autoptr(GPtrArray) info = ferry_image_info_argv("raw", "/i/a.img");
    g_autoptr(GPtrArray) create = ferry_image_create_argv("qcow2", "b.qcow2", "raw", "/i/o", "42");
    g_autoptr(GPtrArray) plain = ferry_image_create_argv("raw", NULL, NULL, "/i/r", "7");
    g_autoptr(GPtrArray) rebase = ferry_image_rebase_argv("qcow2", "/j/b", "qcow2", "/j/o");
    g_autofree char *s_info = joined(info);
    g_autofree char *s_create = joined(create);
    g_autofree char *s_plain = joined(plain);
    g_autofree char *s_rebase = joined(rebase);

    g_assert_cmpstr(s_info, ==, "'qemu-img' 'info' '-U' '-f' 'raw' '--output=json' '--' '/i/a.img'");
    g_assert_cmpstr(s_create, ==,
                    "'qemu-img' 'create' '-q' '-f' 'qcow2' '-b' 'b.qcow2' '-F' 'raw' '--' '/i/o' "
                    "'42'");
    g_assert_cmpstr(s_plain, ==, "'qemu-img' 'create' '-q' '-f' 'raw' '--' '/i/r' '7'");
    g_assert_cmpstr(s_rebase, ==,
                    "'qemu-img' 'rebase' '-u' '-f' 'qcow2' '-b' '/j/b' '-F' 'qcow2' '--' '/j/o'");
    g_assert_true(ferry_image_format_is_known("raw"));
    g_assert_false(ferry_image_format_is_known(NULL));
    g_assert_false(ferry_image_format_is_known("host_device"));
}

static void
test_image_backing_settled(void)
{
    const char *const dirs[] = {"/var/lib/libvirt/images", "/mnt/nfs/", NULL};
    static const struct {
        const char *backing;   /* as the image's header names it */
        const char *recorded;  /* its format in the header */
        const char *declared;  /* its format in the XML */
        const char *expect;    /* NULL: settled; else in the message */
        const char *format;    /* settled format */
    } cases[] = {
        {"base.qcow2", "qcow2", NULL, NULL, "qcow2"},
        {"/mnt/nfs/b/base.raw", NULL, "raw", NULL, "raw"},
        {"/etc/shadow", "raw", NULL, "outside the host's images_dir", NULL},
        {"../../../../../etc/hostname", "qcow2", "qcow2", "'/etc/hostname', which is outside", NULL},
        {"/var/lib/libvirt/images-evil/x", "raw", NULL, "outside", NULL},
        {"/var/lib/libvirt/images", "raw", NULL, "outside", NULL},
        {"json:{\"file\":{}}", "raw", NULL, "not a plain path", NULL},
        {"base.qcow2", NULL, NULL, "without its format", NULL},
        {"base.qcow2", "raw", "qcow2", "declares its backing file", NULL},
        {"base.qcow2", "host_device", NULL, "does not handle", NULL},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(FerryImageInfo) image = g_new0(FerryImageInfo, 1);
        g_autoptr(GError) error = NULL;
        gboolean ok;

        image->format = g_strdup("qcow2");
        image->backing_file = g_strdup(cases[i].backing);
        image->backing_format = g_strdup(cases[i].recorded);
        ok = ferry_image_settle_backing(image, "/var/lib/libvirt/images/vm/disk.qcow2",
                                        cases[i].declared, dirs, &error);
        if (!cases[i].expect) {
            g_assert_no_error(error);
            g_assert_true(ok);
            g_assert_cmpstr(image->backing_format, ==, cases[i].format);
            continue;
        }
        g_assert_false(ok);
        g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID);
        if (!strstr(error->message, cases[i].expect))
            g_error("case %zu: '%s' lacks '%s'", i, error->message, cases[i].expect);
    }
}

/* ---- authentication and connection ---- */

static void
test_auth_missing_key(void)
{
    g_autofree char *key = NULL;
    FerrySshConfig config;
    g_autoptr(FerrySshSession) session = NULL;
    g_autoptr(GError) error = NULL;

    if (!need_lab())
        return;
    key = lab_path("no_such_key");
    config = config_for(key, lab.known_hosts);
    session = ferry_ssh_session_open(&config, &error);
    g_assert_null(session);
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_KEYFILE);
    g_test_message("%s", error->message);
    g_assert_nonnull(strstr(error->message, key));
}

static void
test_auth_unauthorized_key(void)
{
    FerrySshConfig config;
    g_autoptr(FerrySshSession) session = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *expected = NULL;

    if (!need_lab())
        return;
    config = config_for(lab.key_other, lab.known_hosts);
    session = ferry_ssh_session_open(&config, &error);
    g_assert_null(session);
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_AUTH);
    g_test_message("%s", error->message);
    expected = g_strdup_printf("cannot log in to 'testhost' (127.0.0.1:%u) as 'root'", lab.port);
    g_assert_true(g_str_has_prefix(error->message, expected));
    g_assert_null(strstr(error->message, "RSA"));
}

static void
test_auth_rsa_refused(void)
{
    FerrySshConfig config;
    g_autoptr(FerrySshSession) session = NULL;
    g_autoptr(GError) error = NULL;

    if (!need_lab())
        return;
    config = config_for(lab.key_rsa, lab.known_hosts);
    session = ferry_ssh_session_open(&config, &error);
    if (session) {
        g_test_skip("this libssh2 logs in with RSA keys (it signs with rsa-sha2)");
        return;
    }
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_AUTH);
    g_test_message("%s", error->message);
    g_assert_nonnull(strstr(error->message, "ssh-rsa (SHA-1)"));
    g_assert_nonnull(strstr(error->message, "ed25519"));
}

static void
test_connect_refused(void)
{
    FerrySshConfig config;
    g_autoptr(FerrySshSession) session = NULL;
    g_autoptr(GError) error = NULL;
    gint64 start;

    if (!need_lab())
        return;
    config = config_for(lab.key_ed25519, lab.known_hosts);
    config.port = free_port();
    start = g_get_monotonic_time();
    session = ferry_ssh_session_open(&config, &error);
    g_assert_null(session);
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_CONNECT);
    g_test_message("%s", error->message);
    g_assert_cmpint(g_get_monotonic_time() - start, <, G_USEC_PER_SEC);
    g_assert_nonnull(strstr(error->message, "refused"));
}

static void
test_connect_silent_server_times_out(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FerrySshConfig config;
    g_autoptr(FerrySshSession) session = NULL;
    g_autoptr(GError) error = NULL;
    gint64 start;

    if (!need_lab())
        return;
    /* listens (the kernel completes the TCP handshake) but never says anything */
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(fd, 4), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    config = config_for(lab.key_ed25519, lab.known_hosts);
    config.port = ntohs(sa.sin_port);
    config.connect_timeout_ms = 300;
    start = g_get_monotonic_time();
    session = ferry_ssh_session_open(&config, &error);
    close(fd);
    g_assert_null(session);
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_TIMEOUT);
    g_test_message("%s", error->message);
    g_assert_cmpint(g_get_monotonic_time() - start, <, 2 * G_USEC_PER_SEC);
}

static void
test_connect_unresolvable(void)
{
    FerrySshConfig config;
    g_autoptr(FerrySshSession) session = NULL;
    g_autoptr(GError) error = NULL;

    if (!need_lab())
        return;
    config = config_for(lab.key_ed25519, lab.known_hosts);
    config.host = "no-such-host.invalid";
    session = ferry_ssh_session_open(&config, &error);
    g_assert_null(session);
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_CONNECT);
}

/* ---- SFTP ---- */

static void
assert_no_temp_files(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;

    g_assert_nonnull(d);
    while ((name = g_dir_read_name(d)))
        g_assert_null(strstr(name, ".ferry-"));
}

static void
test_sftp_ops(void)
{
    g_autoptr(FerrySshSession) session = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *base = NULL;
    g_autofree char *dir = NULL;
    g_autofree char *file = NULL;
    g_autofree char *file2 = NULL;
    g_autofree char *contents = NULL;
    g_autofree char *local = NULL;
    FerrySshStat st;
    guint64 free_bytes = 0;
    gsize len = 0;

    if (!need_lab())
        return;
    session = open_good();
    base = lab_path("sftp");
    dir = g_build_filename(base, "a b", "it's $(x)", "c", NULL);
    file = g_build_filename(dir, "data.txt", NULL);
    file2 = g_build_filename(dir, "moved.txt", NULL);

    g_assert_true(ferry_ssh_sftp_stat(session, dir, TRUE, &st, &error));
    g_assert_no_error(error);
    g_assert_false(st.exists);

    g_assert_true(ferry_ssh_sftp_mkdir_p(session, dir, 0755, &error));
    g_assert_no_error(error);
    g_assert_true(g_file_test(dir, G_FILE_TEST_IS_DIR));
    g_assert_true(ferry_ssh_sftp_mkdir_p(session, dir, 0755, &error)); /* again: fine */
    g_assert_no_error(error);

    g_assert_true(ferry_ssh_sftp_write_file(session, file, "hello\n", 6, 0640, &error));
    g_assert_no_error(error);
    g_assert_true(g_file_get_contents(file, &local, NULL, NULL));
    g_assert_cmpstr(local, ==, "hello\n");
    g_assert_true(ferry_ssh_sftp_stat(session, file, TRUE, &st, &error));
    g_assert_true(st.exists);
    g_assert_cmpuint(st.size, ==, 6);
    g_assert_cmpuint(st.mode & 07777, ==, 0640);
    g_assert_true(S_ISREG(st.mode));

    /* overwrite: replaced whole */
    g_assert_true(ferry_ssh_sftp_write_file(session, file, "second version\n", 15, 0600, &error));
    g_assert_no_error(error);
    g_assert_true(ferry_ssh_sftp_read_file(session, file, 1024, &contents, &len, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(len, ==, 15);
    g_assert_cmpstr(contents, ==, "second version\n");
    g_clear_pointer(&contents, g_free);

    /* too large for the caller's limit */
    g_assert_false(ferry_ssh_sftp_read_file(session, file, 4, &contents, &len, &error));
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_SFTP);
    g_clear_error(&error);

    /* a failed write leaves neither a half file nor a temp file */
    {
        g_autofree char *target = g_build_filename(dir, "is-a-dir", NULL);

        g_assert_cmpint(g_mkdir(target, 0755), ==, 0);
        g_assert_false(ferry_ssh_sftp_write_file(session, target, "x", 1, 0644, &error));
        g_assert_nonnull(error);
        g_test_message("%s", error->message);
        g_clear_error(&error);
        g_assert_true(g_file_test(target, G_FILE_TEST_IS_DIR));
        assert_no_temp_files(dir);
    }
    {
        g_autofree char *nodir = g_build_filename(base, "missing", "f", NULL);

        g_assert_false(ferry_ssh_sftp_write_file(session, nodir, "x", 1, 0644, &error));
        g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_SFTP);
        g_test_message("%s", error->message);
        g_assert_nonnull(strstr(error->message, "no such file"));
        g_clear_error(&error);
    }

    /* rename: no overwrite unless asked */
    g_assert_true(ferry_ssh_sftp_rename(session, file, file2, FALSE, &error));
    g_assert_no_error(error);
    g_assert_true(ferry_ssh_sftp_write_file(session, file, "new\n", 4, 0644, &error));
    g_assert_false(ferry_ssh_sftp_rename(session, file, file2, FALSE, &error));
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_SFTP);
    g_clear_error(&error);
    g_assert_true(ferry_ssh_sftp_rename(session, file, file2, TRUE, &error));
    g_assert_no_error(error);
    g_clear_pointer(&local, g_free);
    g_assert_true(g_file_get_contents(file2, &local, NULL, NULL));
    g_assert_cmpstr(local, ==, "new\n");

    g_assert_true(ferry_ssh_sftp_unlink(session, file2, &error));
    g_assert_no_error(error);
    g_assert_false(g_file_test(file2, G_FILE_TEST_EXISTS));
    g_assert_false(ferry_ssh_sftp_unlink(session, file2, &error));
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_SFTP);
    g_clear_error(&error);

    g_assert_true(ferry_ssh_sftp_statvfs(session, dir, &free_bytes, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(free_bytes, >, 0);

    /* mkdir -p through a file fails */
    {
        g_autofree char *f = g_build_filename(dir, "plain", NULL);
        g_autofree char *under = g_build_filename(f, "sub", NULL);

        g_assert_true(g_file_set_contents(f, "", 0, NULL));
        g_assert_false(ferry_ssh_sftp_mkdir_p(session, under, 0755, &error));
        g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_SFTP);
        g_test_message("%s", error->message);
    }
}

/* ---- remote disk ---- */

static void
test_remote_disk(void)
{
    g_autoptr(FerrySshSession) session = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(FerryImageInfo) info = NULL;
    g_autoptr(FerryImageInfo) oinfo = NULL;
    g_autofree char *pwn = NULL;
    g_autofree char *dir = NULL;
    g_autofree char *basefile = NULL;
    g_autofree char *overlay = NULL;
    g_autofree char *sum = NULL;
    g_autofree char *local_sum = NULL;
    g_autofree char *local_contents = NULL;
    gsize local_len = 0;
    gboolean exists = TRUE;

    if (!need_lab())
        return;
    if (!g_file_test("/usr/bin/qemu-img", G_FILE_TEST_IS_EXECUTABLE)) {
        g_test_skip("qemu-img is not installed (qemu-utils)");
        return;
    }
    session = open_good();
    pwn = lab_path("pwn-disk");
    {
        g_autofree char *hostile = g_strdup_printf("it's $(touch %s) `x` *", pwn);

        dir = g_build_filename(lab.dir, "images", hostile, "deep", NULL);
    }
    basefile = g_build_filename(dir, "base -x.qcow2", NULL);
    overlay = g_build_filename(dir, "over\nlay.qcow2", NULL);

    g_assert_true(ferry_remote_path_exists(session, basefile, &exists, &error));
    g_assert_no_error(error);
    g_assert_false(exists);

    g_assert_true(ferry_remote_image_create(session, basefile, "qcow2", 64 * 1024 * 1024, NULL,
                                            NULL, &error));
    g_assert_no_error(error);
    g_assert_true(ferry_remote_path_exists(session, basefile, &exists, &error));
    g_assert_true(exists);

    info = ferry_remote_image_info(session, basefile, "qcow2", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(info->format, ==, "qcow2");
    g_assert_cmpuint(info->virtual_size, ==, 64 * 1024 * 1024);
    g_assert_cmpuint(info->actual_size, >, 0);
    g_assert_null(info->backing_file);
    g_assert_null(info->backing_format);

    /* refuses to overwrite */
    g_assert_false(ferry_remote_image_create(session, basefile, "raw", 1024, NULL, NULL, &error));
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE);
    g_test_message("%s", error->message);
    g_clear_error(&error);

    /* a backing file's format is never probed */
    g_assert_false(ferry_remote_image_create(session, overlay, "qcow2", 128 * 1024 * 1024,
                                             "base -x.qcow2", NULL, &error));
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID);
    g_test_message("%s", error->message);
    g_clear_error(&error);
    /* relative as libvirt often records it */
    g_assert_true(ferry_remote_image_create(session, overlay, "qcow2", 128 * 1024 * 1024,
                                            "base -x.qcow2", "qcow2", &error));
    g_assert_no_error(error);
    oinfo = ferry_remote_image_info(session, overlay, "qcow2", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(oinfo->format, ==, "qcow2");
    g_assert_cmpuint(oinfo->virtual_size, ==, 128 * 1024 * 1024);
    g_assert_cmpstr(oinfo->backing_file, ==, "base -x.qcow2");
    g_assert_cmpstr(oinfo->backing_format, ==, "qcow2");

    /* refused before doing anything */
    g_assert_false(
        ferry_remote_image_create(session, "relative.qcow2", "qcow2", 1024, NULL, NULL, &error));
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID);
    g_clear_error(&error);
    {
        g_autofree char *o2 = g_build_filename(dir, "o2.qcow2", NULL);

        g_assert_false(
            ferry_remote_image_create(session, o2, "qcow2", 1024, "json:{}", "qcow2", &error));
        g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID);
        g_clear_error(&error);
    }

    /* info on a missing file names it */
    {
        g_autofree char *missing = g_build_filename(dir, "missing.qcow2", NULL);
        g_autoptr(FerryImageInfo) none =
            ferry_remote_image_info(session, missing, "qcow2", &error);

        g_assert_null(none);
        g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE);
        g_test_message("%s", error->message);
        g_clear_error(&error);
    }

    /* no declared format: refused before qemu-img runs */
    {
        g_autoptr(FerryImageInfo) none = ferry_remote_image_info(session, overlay, NULL, &error);

        g_assert_null(none);
        g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID);
        g_assert_nonnull(strstr(error->message, "never guesses a format"));
        g_clear_error(&error);
    }
    /* a raw disk whose contents are a qcow2 header naming a backing file: read as raw, its
     * size the file's, no backing file */
    {
        g_autoptr(FerryImageInfo) raw = ferry_remote_image_info(session, overlay, "raw", &error);
        FerrySshStat st;

        g_assert_no_error(error);
        g_assert_true(ferry_ssh_sftp_stat(session, overlay, TRUE, &st, &error));
        g_assert_cmpstr(raw->format, ==, "raw");
        g_assert_cmpuint(raw->virtual_size, ==, (st.size + 511) / 512 * 512); /* whole sectors */
        g_assert_null(raw->backing_file);
    }

    sum = ferry_remote_file_sha256(session, overlay, &error);
    g_assert_no_error(error);
    g_assert_true(g_file_get_contents(overlay, &local_contents, &local_len, NULL));
    local_sum =
        g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)local_contents, local_len);
    g_assert_cmpstr(sum, ==, local_sum);
    /* fsynced, then read back past the page cache where the file system allows it */
    {
        g_autofree char *durable = NULL;

        g_assert_true(ferry_remote_fsync(session, overlay, local_len, &error));
        g_assert_no_error(error);
        durable = ferry_remote_file_sha256_durable(session, overlay, local_len, &error);
        g_assert_no_error(error);
        g_assert_cmpstr(durable, ==, local_sum);
    }

    g_assert_true(ferry_remote_file_remove(session, overlay, &error));
    g_assert_no_error(error);
    g_assert_true(ferry_remote_file_remove(session, overlay, &error)); /* already gone: fine */
    g_assert_no_error(error);
    g_assert_true(ferry_remote_path_exists(session, overlay, &exists, &error));
    g_assert_false(exists);
    g_assert_false(g_file_test(pwn, G_FILE_TEST_EXISTS));
}

/* ---- copy between hosts (relayed; both ends are the loopback sshd) ---- */

/* Files in @dir whose name starts with @prefix.  @dir must exist: a count in a directory that is
 * not there would be 0 whatever was left behind. */
static guint
count_entries(const char *dir, const char *prefix)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GDir) d = g_dir_open(dir, 0, &error);
    const char *name;
    guint n = 0;

    g_assert_no_error(error);
    while ((name = g_dir_read_name(d)))
        n += g_str_has_prefix(name, prefix);
    return n;
}

/* Temporary copies in @dir: ferry_remote_copy_file() writes the destination DIR/NAME as
 * DIR/.NAME.ferry-copy-UUID first, in the destination's own directory. */
static guint
count_temporaries(const char *dir)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GDir) d = g_dir_open(dir, 0, &error);
    const char *name;
    guint n = 0;

    g_assert_no_error(error);
    while ((name = g_dir_read_name(d)))
        n += name[0] == '.' && strstr(name, ".ferry-copy-") != NULL;
    return n;
}

typedef struct {
    guint64 last;
    const char *tmp_dir; /* where the temporary copy is written */
    guint tmp_seen;      /* most temporaries seen there while the copy ran */
} CopyProgress;

static void
count_progress(guint64 done, guint64 total, guint64 bytes_per_s, gpointer data)
{
    CopyProgress *p = data;

    g_assert_cmpuint(done, <=, total);
    /* a rate only once bytes moved */
    g_assert_true(done > 0 || bytes_per_s == 0);
    g_assert_cmpuint(done, >=, p->last);
    p->last = done;
    p->tmp_seen = MAX(p->tmp_seen, count_temporaries(p->tmp_dir));
}

static void
test_copy_relay(void)
{
    g_autoptr(FerrySshSession) src = NULL;
    g_autoptr(FerrySshSession) dst = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = NULL;
    g_autofree char *from = NULL;
    g_autofree char *to = NULL;
    g_autofree char *pwn = NULL;
    g_autofree char *data = NULL;
    g_autofree char *copied = NULL;
    g_autofree char *sum = NULL;
    g_autofree char *to_dir = NULL;
    gsize len = 3 * 1024 * 1024 + 17, copied_len = 0;
    CopyProgress progress = {0};
    FerryCopyResult result = {0};

    if (!need_lab())
        return;
    src = open_good();
    dst = open_good();
    dir = lab_path("copy");
    pwn = lab_path("pwned");
    g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
    from = g_build_filename(dir, "base it's $(touch PWN).qcow2", NULL);
    to = g_strdup_printf("%s/dst \"dir\"\n`x`/base $(touch %s).qcow2", dir, pwn);
    data = g_malloc(len);
    for (gsize i = 0; i < len; i++)
        data[i] = (char)(i * 7 + i / 4096);
    g_assert_true(g_file_set_contents(from, data, len, NULL));

    /* the copy creates the destination directory and makes its temporary copy in it */
    to_dir = g_path_get_dirname(to);
    g_assert_false(g_file_test(to_dir, G_FILE_TEST_EXISTS));
    progress.tmp_dir = to_dir;
    g_assert_true(ferry_remote_copy_file(src, dst, from, to, NULL, FERRY_COPY_RELAY, count_progress,
                                         &progress, &result, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(progress.last, ==, len);
    /* while the data went over, the temporary copy was there (so the check below can see one);
     * once done, only the final name is left */
    g_assert_cmpuint(progress.tmp_seen, ==, 1);
    g_assert_cmpuint(count_temporaries(to_dir), ==, 0);
    g_assert_cmpuint(count_entries(to_dir, ""), ==, 1);
    g_assert_cmpuint(result.bytes, ==, len);
    g_assert_cmpint(result.mode_used, ==, FERRY_COPY_RELAY);
    sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, len);
    g_assert_cmpstr(result.sha256, ==, sum);
    g_assert_true(g_file_get_contents(to, &copied, &copied_len, NULL));
    g_assert_cmpuint(copied_len, ==, len);
    g_assert_true(memcmp(copied, data, len) == 0);
    g_assert_false(g_file_test(pwn, G_FILE_TEST_EXISTS));

    /* an existing destination is never overwritten */
    g_assert_false(ferry_remote_copy_file(src, dst, from, to, NULL, FERRY_COPY_RELAY, NULL, NULL,
                                          NULL, &error));
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE);
    g_test_message("%s", error->message);
    g_clear_error(&error);
    g_assert_cmpuint(count_temporaries(to_dir), ==, 0);
    g_assert_cmpuint(count_entries(to_dir, ""), ==, 1);
}

/* A source whose contents differ between reads (a /proc file) fails the checksum check, and
 * neither the final name nor a temporary file is left behind. */
static void
test_copy_checksum_mismatch_leaves_nothing(void)
{
    g_autoptr(FerrySshSession) src = NULL;
    g_autoptr(FerrySshSession) dst = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = NULL;
    g_autofree char *to = NULL;
    CopyProgress progress = {0};

    if (!need_lab())
        return;
    src = open_good();
    dst = open_good();
    dir = lab_path("copy-fail");
    to = g_build_filename(dir, "img.raw", NULL);
    progress.tmp_dir = dir;

    g_assert_false(ferry_remote_copy_file(src, dst, "/proc/self/stat", to, NULL, FERRY_COPY_RELAY,
                                          count_progress, &progress, NULL, &error));
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE);
    g_assert_nonnull(strstr(error->message, "checksum mismatch"));
    g_test_message("%s", error->message);
    g_clear_error(&error);
    /* the temporary copy was made in @dir while the data went over, and removed */
    g_assert_cmpuint(progress.tmp_seen, ==, 1);
    g_assert_false(g_file_test(to, G_FILE_TEST_EXISTS));
    g_assert_cmpuint(count_temporaries(dir), ==, 0);
    g_assert_cmpuint(count_entries(dir, ""), ==, 0);

    /* refused before anything is created */
    g_assert_false(ferry_remote_copy_file(src, dst, "relative", to, NULL, FERRY_COPY_RELAY, NULL,
                                          NULL, NULL, &error));
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_false(ferry_remote_copy_file(src, dst, dir, to, NULL, FERRY_COPY_RELAY, NULL, NULL,
                                          NULL, &error));
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID);
    g_test_message("%s", error->message);
}

/* ---- shared-storage detection ---- */

static void
test_storage_same_host_is_shared(void)
{
    g_autoptr(FerrySshSession) src = NULL;
    g_autoptr(FerrySshSession) dst = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = NULL;
    g_autofree char *missing = NULL;
    gboolean shared = FALSE;

    if (!need_lab())
        return;
    src = open_good();
    dst = open_good();
    dir = lab_path("shared dir 'x' $(y)");
    g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);

    g_assert_true(ferry_storage_is_shared(src, dst, dir, &shared, &error));
    g_assert_no_error(error);
    g_assert_true(shared);
    g_assert_cmpuint(count_entries(dir, "."), ==, 0); /* the marker is gone */

    missing = g_build_filename(dir, "missing", NULL);
    g_assert_false(ferry_storage_is_shared(src, dst, missing, &shared, &error));
    g_assert_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID);
    g_test_message("%s", error->message);
}

int
main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    int rc;

    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/ssh/quote/single-quotes-every-argument", test_quote);
    g_test_add_func("/ssh/image/every-qemu-img-call-names-the-format", test_image_argv);
    g_test_add_func("/ssh/image/backing-file-inside-images-dirs-with-a-declared-format",
                    test_image_backing_settled);
    g_test_add_func("/ssh/run/hostile-arguments-come-back-verbatim", test_run_hostile_arguments);
    g_test_add_func("/ssh/run/exit-status-and-stderr", test_run_exit_status_and_stderr);
    g_test_add_func("/ssh/run/large-output-on-both-streams", test_run_large_output);
    g_test_add_func("/ssh/run/command-timeout-breaks-the-session-until-reconnected",
                    test_run_timeout);
    g_test_add_func("/ssh/run/deadline-scales-with-bytes", test_deadline_for_bytes);
    g_test_add_func("/ssh/hostkey/unknown-is-refused-with-fingerprint", test_hostkey_unknown);
    g_test_add_func("/ssh/hostkey/accept-new-records-and-reconnects", test_hostkey_accept_new);
    g_test_add_func("/ssh/hostkey/changed-is-refused-even-with-accept-new", test_hostkey_changed);
    g_test_add_func("/ssh/hostkey/other-type-known-is-refused", test_hostkey_other_type_known);
    g_test_add_func("/ssh/hostkey/revoked-is-refused-despite-a-plain-entry", test_hostkey_revoked);
    g_test_add_func("/ssh/hostkey/another-key-revoked-does-not-matter",
                    test_hostkey_other_key_revoked);
    g_test_add_func("/ssh/hostkey/cert-authority-is-not-a-host-key",
                    test_hostkey_cert_authority_is_not_a_host_key);
    g_test_add_func("/ssh/hostkey/entry-for-port-22-does-not-match-other-port",
                    test_hostkey_port_must_match);
    g_test_add_func("/ssh/auth/missing-key-file", test_auth_missing_key);
    g_test_add_func("/ssh/auth/unauthorized-key", test_auth_unauthorized_key);
    g_test_add_func("/ssh/auth/rsa-key-refused-with-advice", test_auth_rsa_refused);
    g_test_add_func("/ssh/connect/refused-is-quick", test_connect_refused);
    g_test_add_func("/ssh/connect/silent-server-times-out", test_connect_silent_server_times_out);
    g_test_add_func("/ssh/connect/unresolvable", test_connect_unresolvable);
    g_test_add_func("/ssh/sftp/file-operations", test_sftp_ops);
    g_test_add_func("/ssh/remote-disk/create-info-hash-remove", test_remote_disk);
    g_test_add_func("/ssh/copy/relay-hostile-names-verified", test_copy_relay);
    g_test_add_func("/ssh/copy/checksum-mismatch-leaves-nothing",
                    test_copy_checksum_mismatch_leaves_nothing);
    g_test_add_func("/ssh/storage/same-host-is-shared", test_storage_same_host_is_shared);

    if (!g_file_test(SSHD, G_FILE_TEST_IS_EXECUTABLE))
        lab.skip_reason = g_strdup(SSHD " is not installed (openssh-server)");
    else if (!g_file_test(SFTP_SERVER, G_FILE_TEST_IS_EXECUTABLE))
        lab.skip_reason = g_strdup(SFTP_SERVER " is not installed (openssh-sftp-server)");
    else if (geteuid() != 0)
        lab.skip_reason = g_strdup("the test sshd logs in as root, so the test must run as root");
    else if (!lab_setup(&error))
        lab.skip_reason = g_strdup_printf("cannot start a test sshd: %s", error->message);

    rc = g_test_run();
    lab_teardown();
    g_free(lab.skip_reason);
    g_free(lab.dir);
    g_free(lab.sshd_log);
    g_free(lab.host_pub);
    g_free(lab.fingerprint);
    g_free(lab.known_hosts);
    g_free(lab.key_ed25519);
    g_free(lab.key_other);
    g_free(lab.key_rsa);
    return rc;
}
