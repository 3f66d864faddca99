/*
 * ferry-ssh-trust.c: compute-node to compute-node ssh trust checks.
 */
#include "ssh/ferry-ssh-trust.h"
#include "ssh/ferry-ssh-private.h"

#include <string.h>

#define PEER_DEFAULT_CONNECT_TIMEOUT 10 /* seconds, as ferry's own sessions */

typedef struct {
    const char *name;
    const char *remedy;
} FerryTrustClassInfo;

static const FerryTrustClassInfo class_info[] = {
    [FERRY_TRUST_OK] = {"ok", "nothing to do"},
    [FERRY_TRUST_A_UNREACHABLE] = {"src-unreachable",
                                   "ferry cannot reach the source host's sshd: check that sshd "
                                   "runs there and that ssh_host/ssh_port in the inventory are "
                                   "right"},
    [FERRY_TRUST_A_LOGIN_REFUSED] = {"src-login-refused",
                                     "ferry's own login to the source host failed, so the "
                                     "source could not be asked: see the line 'this machine -> "
                                     "SOURCE' for why and what to do"},
    [FERRY_TRUST_USER_MISSING] = {"user-missing",
                                  "the migration user does not exist on the source host: create "
                                  "it, or set migration_user in the inventory's [ferry] section"},
    [FERRY_TRUST_NO_KEY] = {"no-key",
                            "the migration user has no usable private key on the source host: "
                            "run `ssh-keygen -t ed25519 -N ''` as that user there (or set "
                            "migration_key), then add the public key to the destination's "
                            "authorized_keys"},
    [FERRY_TRUST_HOSTKEY_UNKNOWN] = {"hostkey-unknown",
                                     "the destination's host key is not in the migration user's "
                                     "known_hosts on the source: add it after checking its "
                                     "fingerprint (ssh-keyscan -t ed25519 DEST, compared with "
                                     "ssh-keygen -lf on the destination's host key)"},
    [FERRY_TRUST_HOSTKEY_CHANGED] = {"hostkey-changed",
                                     "the source's known_hosts holds a different key for the "
                                     "destination: if the destination was reinstalled, remove "
                                     "the old entry (ssh-keygen -R DEST) and add the new key "
                                     "after checking its fingerprint; otherwise investigate"},
    [FERRY_TRUST_KEY_NOT_AUTHORIZED] = {"key-refused",
                                        "the destination refused the source's key: add the "
                                        "source user's public key to the migration user's "
                                        "~/.ssh/authorized_keys on the destination"},
    [FERRY_TRUST_B_UNREACHABLE] = {"dst-unreachable",
                                   "the source cannot reach the destination's sshd: check that "
                                   "sshd runs on the destination, its address, routes and "
                                   "firewalls between the two hosts"},
    [FERRY_TRUST_KEY_RSA] = {"rsa-key",
                             "libssh2 1.10 signs RSA keys only with ssh-rsa (SHA-1), which "
                             "OpenSSH >= 8.8 refuses (ssh-rsa not in PubkeyAcceptedAlgorithms): "
                             "use an ed25519 key (ssh-keygen -t ed25519) and authorize it"},
    [FERRY_TRUST_CHECK_FAILED] = {"check-failed",
                                  "the check itself could not be completed: see the detail"},
    [FERRY_TRUST_HOSTKEY_REVOKED] = {"hostkey-revoked",
                                     "the source's known_hosts marks the key the destination "
                                     "offers as @revoked: the destination's identity is in "
                                     "doubt; investigate before anything moves there (remove the "
                                     "@revoked line only if the key was revoked by mistake)"},
};
G_STATIC_ASSERT(G_N_ELEMENTS(class_info) == FERRY_TRUST_LAST);

const char *
ferry_trust_class_to_string(FerryTrustClass klass)
{
    if ((guint)klass >= FERRY_TRUST_LAST)
        return "invalid";
    return class_info[klass].name;
}

const char *
ferry_trust_class_remedy(FerryTrustClass klass)
{
    if ((guint)klass >= FERRY_TRUST_LAST)
        return "";
    return class_info[klass].remedy;
}

void
ferry_trust_result_free(FerryTrustResult *result)
{
    if (!result)
        return;
    g_free(result->detail);
    g_free(result->key_path);
    g_free(result->key_type);
    g_free(result);
}

static FerryTrustResult *result_new(FerryTrustClass klass, const char *format, ...)
    G_GNUC_PRINTF(2, 3);

static FerryTrustResult *
result_new(FerryTrustClass klass, const char *format, ...)
{
    FerryTrustResult *r = g_new0(FerryTrustResult, 1);
    va_list args;

    va_start(args, format);
    r->klass = klass;
    r->detail = g_strdup_vprintf(format, args);
    va_end(args);
    return r;
}

gboolean
ferry_trust_class_is_fatal(FerryTrustClass klass)
{
    return klass == FERRY_TRUST_HOSTKEY_CHANGED || klass == FERRY_TRUST_HOSTKEY_REVOKED;
}

/* What OpenSSH's client prints, most specific first: "Host key verification failed" follows
 * the CHANGED banner too, and every failure may mention "Permission denied" in passing. */
static const struct {
    const char *needle;
    FerryTrustClass klass;
} ssh_messages[] = {
    /* "WARNING: REVOKED HOST KEY DETECTED!", then "Host key for X was revoked and you have
     * requested strict checking." */
    {"REVOKED HOST KEY", FERRY_TRUST_HOSTKEY_REVOKED},
    {"was revoked", FERRY_TRUST_HOSTKEY_REVOKED},
    {"REMOTE HOST IDENTIFICATION HAS CHANGED", FERRY_TRUST_HOSTKEY_CHANGED},
    {"Host key for ", FERRY_TRUST_HOSTKEY_CHANGED}, /* "... has changed and you have requested" */
    {"host key is known for", FERRY_TRUST_HOSTKEY_UNKNOWN},
    {"Host key verification failed", FERRY_TRUST_HOSTKEY_UNKNOWN},
    {"Permission denied", FERRY_TRUST_KEY_NOT_AUTHORIZED},
    {"Too many authentication failures", FERRY_TRUST_KEY_NOT_AUTHORIZED},
    {"Connection refused", FERRY_TRUST_B_UNREACHABLE},
    {"No route to host", FERRY_TRUST_B_UNREACHABLE},
    {"Network is unreachable", FERRY_TRUST_B_UNREACHABLE},
    {"timed out", FERRY_TRUST_B_UNREACHABLE},
    {"Could not resolve hostname", FERRY_TRUST_B_UNREACHABLE},
    {"Name or service not known", FERRY_TRUST_B_UNREACHABLE},
    {"kex_exchange_identification", FERRY_TRUST_B_UNREACHABLE},
    {"Connection closed by", FERRY_TRUST_B_UNREACHABLE},
    {"Connection reset by", FERRY_TRUST_B_UNREACHABLE},
};

FerryTrustClass
ferry_trust_classify_ssh(int exit_status, const char *ssh_stderr)
{
    if (exit_status == 0)
        return FERRY_TRUST_OK;
    /* 255 is ssh's own failure; anything else came from the remote command. */
    if (exit_status != 255)
        return FERRY_TRUST_CHECK_FAILED;
    for (gsize i = 0; ssh_stderr && i < G_N_ELEMENTS(ssh_messages); i++) {
        if (strstr(ssh_stderr, ssh_messages[i].needle))
            return ssh_messages[i].klass;
    }
    return FERRY_TRUST_CHECK_FAILED;
}

FerryTrustClass
ferry_trust_classify_open_error(const GError *error)
{
    if (!error || error->domain != FERRY_SSH_ERROR)
        return FERRY_TRUST_CHECK_FAILED;
    switch ((FerrySshErrorCode)error->code) {
    case FERRY_SSH_ERROR_CONNECT:
    case FERRY_SSH_ERROR_HANDSHAKE:
    case FERRY_SSH_ERROR_TIMEOUT:
        return FERRY_TRUST_A_UNREACHABLE;
    case FERRY_SSH_ERROR_HOSTKEY_UNKNOWN:
    case FERRY_SSH_ERROR_HOSTKEY_CHANGED:
    case FERRY_SSH_ERROR_HOSTKEY_REVOKED:
    case FERRY_SSH_ERROR_KEYFILE:
    case FERRY_SSH_ERROR_AUTH:
        return FERRY_TRUST_A_LOGIN_REFUSED;
    case FERRY_SSH_ERROR_EXEC:
    case FERRY_SSH_ERROR_SFTP:
    case FERRY_SSH_ERROR_REMOTE:
    case FERRY_SSH_ERROR_INVALID:
        break;
    }
    return FERRY_TRUST_CHECK_FAILED;
}

void
ferry_trust_append_run_as(FerrySshSession *a, const char *user, GPtrArray *argv)
{
    if (!user || g_str_equal(user, a->user))
        return;
    g_ptr_array_add(argv, (gpointer) "runuser");
    g_ptr_array_add(argv, (gpointer) "-u");
    g_ptr_array_add(argv, (gpointer)user);
    g_ptr_array_add(argv, (gpointer) "--");
}

void
ferry_trust_append_ssh(const FerrySshPeer *b, const char *user, const char *key, GPtrArray *argv,
                       GPtrArray *owned)
{
    char *port = g_strdup_printf("%u", b->port ? b->port : 22);
    char *timeout = g_strdup_printf(
        "ConnectTimeout=%u", b->connect_timeout ? b->connect_timeout : PEER_DEFAULT_CONNECT_TIMEOUT);

    g_ptr_array_add(owned, port);
    g_ptr_array_add(owned, timeout);
    g_ptr_array_add(argv, (gpointer) "ssh");
    g_ptr_array_add(argv, (gpointer) "-o");
    g_ptr_array_add(argv, (gpointer) "BatchMode=yes");
    g_ptr_array_add(argv, (gpointer) "-o");
    g_ptr_array_add(argv, (gpointer) "StrictHostKeyChecking=yes");
    g_ptr_array_add(argv, (gpointer) "-o");
    g_ptr_array_add(argv, timeout);
    g_ptr_array_add(argv, (gpointer) "-o");
    g_ptr_array_add(argv, (gpointer) "PreferredAuthentications=publickey");
    if (key) {
        g_ptr_array_add(argv, (gpointer) "-o");
        g_ptr_array_add(argv, (gpointer) "IdentitiesOnly=yes");
        g_ptr_array_add(argv, (gpointer) "-i");
        g_ptr_array_add(argv, (gpointer)key);
    }
    g_ptr_array_add(argv, (gpointer) "-p");
    g_ptr_array_add(argv, port);
    g_ptr_array_add(argv, (gpointer) "-l");
    g_ptr_array_add(argv, (gpointer)user);
    g_ptr_array_add(argv, (gpointer) "--");
    g_ptr_array_add(argv, (gpointer)b->host);
}

/* Runs @argv (NULL-terminated GPtrArray) on A; FALSE when it could not be run at all. */
static gboolean
run_on(FerrySshSession *a, GPtrArray *argv, char **out, char **err, int *status, GError **error)
{
    if (argv->len == 0 || g_ptr_array_index(argv, argv->len - 1) != NULL)
        g_ptr_array_add(argv, NULL);
    return ferry_ssh_session_run(a, (const char *const *)argv->pdata, out, err, status, error);
}

/* The user's home directory on A, from getent; NULL sets *klass. */
static char *
user_home(FerrySshSession *a, const char *user, FerryTrustResult **failure)
{
    const char *argv[] = {"getent", "passwd", "--", user, NULL};
    g_autoptr(GError) error = NULL;
    g_autofree char *out = NULL;
    g_auto(GStrv) fields = NULL;
    int status = 0;

    if (!ferry_ssh_session_run(a, argv, &out, NULL, &status, &error)) {
        *failure = result_new(FERRY_TRUST_CHECK_FAILED, "%s", error->message);
        return NULL;
    }
    if (status == 2) {
        *failure =
            result_new(FERRY_TRUST_USER_MISSING, "user '%s' does not exist on '%s'", user, a->name);
        return NULL;
    }
    fields = g_strsplit(g_strchomp(out), ":", -1);
    if (status != 0 || g_strv_length(fields) < 7 || fields[5][0] != '/') {
        *failure = result_new(FERRY_TRUST_CHECK_FAILED,
                              "cannot find the home directory of '%s' on '%s' (getent exit %d)",
                              user, a->name, status);
        return NULL;
    }
    return g_strdup(fields[5]);
}

/* The key to check: the configured one, else the first default one that exists. */
static char *
find_key(FerrySshSession *a, const char *user, const char *home, const char *configured,
         FerryTrustResult **failure)
{
    static const char *const defaults[] = {"id_ed25519", "id_ecdsa", "id_rsa"};
    g_autoptr(GError) error = NULL;
    g_autoptr(GString) tried = g_string_new(NULL);

    for (gsize i = 0; i < (configured ? 1 : G_N_ELEMENTS(defaults)); i++) {
        g_autofree char *path =
            configured ? g_strdup(configured) : g_build_filename(home, ".ssh", defaults[i], NULL);
        FerrySshStat st;

        if (!ferry_ssh_sftp_stat(a, path, TRUE, &st, &error)) {
            *failure = result_new(FERRY_TRUST_CHECK_FAILED, "%s", error->message);
            return NULL;
        }
        if (st.exists)
            return g_steal_pointer(&path);
        g_string_append_printf(tried, "%s'%s'", i ? ", " : "", path);
    }
    *failure =
        result_new(FERRY_TRUST_NO_KEY, "user '%s' has no private key on '%s' (looked for %s)", user,
                   a->name, tried->str);
    return NULL;
}

/* The key's type ("ssh-ed25519"), as the user sees it: ssh-keygen -y also proves the user can
 * read the key and that it has no passphrase (BatchMode could not use one). */
static char *
key_type(FerrySshSession *a, const char *user, const char *key, FerryTrustResult **failure)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    int status = 0;
    const char *space;

    ferry_trust_append_run_as(a, user, argv);
    g_ptr_array_add(argv, (gpointer) "ssh-keygen");
    g_ptr_array_add(argv, (gpointer) "-y");
    g_ptr_array_add(argv, (gpointer) "-P");
    g_ptr_array_add(argv, (gpointer) "");
    g_ptr_array_add(argv, (gpointer) "-f");
    g_ptr_array_add(argv, (gpointer)key);
    if (!run_on(a, argv, &out, &err, &status, &error)) {
        *failure = result_new(FERRY_TRUST_CHECK_FAILED, "%s", error->message);
        return NULL;
    }
    if (status != 0 || !(space = strchr(out, ' '))) {
        *failure = result_new(FERRY_TRUST_NO_KEY,
                              "user '%s' cannot use private key '%s' on '%s' (passphrase, "
                              "permissions or format): %s",
                              user, key, a->name, g_strstrip(err));
        return NULL;
    }
    return g_strndup(out, space - out);
}

/* ssh-keygen -F prints "# Host H found: line N" before each match, followed by " CA" for a
 * @cert-authority line and " REVOKED" for a @revoked one: only an unmarked line is a host key
 * that OpenSSH matches as such. */
static gboolean
known_hosts_has_plain_key(const char *found)
{
    g_auto(GStrv) lines = g_strsplit(found ? found : "", "\n", -1);

    for (guint i = 0; lines[i]; i++) {
        const char *marker;

        if (!g_str_has_prefix(lines[i], "# Host ") || !(marker = strstr(lines[i], " found: line ")))
            continue;
        marker += strlen(" found: line ");
        marker += strspn(marker, "0123456789");
        if (*g_strstrip((char *)marker) == '\0')
            return TRUE;
    }
    return FALSE;
}

FerryTrustResult *
ferry_trust_check_session(FerrySshSession *a, const FerrySshPeer *b)
{
    const char *user = b->user ? b->user : a->user;
    const char *b_name = b->name ? b->name : b->host;
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *home = NULL;
    g_autofree char *key = NULL;
    g_autofree char *type = NULL;
    g_autofree char *known = NULL;
    g_autofree char *hostname = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    FerryTrustResult *failure = NULL;
    FerryTrustResult *r;
    FerryTrustClass klass;
    int status = 0;

    g_return_val_if_fail(b && b->host, NULL);

    if (!(home = user_home(a, user, &failure)) ||
        !(key = find_key(a, user, home, b->key, &failure)))
        return failure;
    if (!(type = key_type(a, user, key, &failure))) {
        failure->key_path = g_strdup(key);
        return failure;
    }

    /* Looked up first, so an unknown key is named even when B is down too. */
    known = g_build_filename(home, ".ssh", "known_hosts", NULL);
    hostname = ferry_ssh_known_hosts_name(b->host, b->port);
    {
        const char *kargv[] = {"ssh-keygen", "-F", hostname, "-f", known, NULL};
        g_autofree char *found = NULL;

        if (!ferry_ssh_session_run(a, kargv, &found, NULL, &status, &error)) {
            r = result_new(FERRY_TRUST_CHECK_FAILED, "%s", error->message);
            goto out;
        }
        if (status != 0) {
            r = result_new(FERRY_TRUST_HOSTKEY_UNKNOWN,
                           "'%s' (%s) is not in '%s' on '%s' (ssh-keygen -F exit %d)", b_name,
                           hostname, known, a->name, status);
            goto out;
        }
        if (!known_hosts_has_plain_key(found)) {
            r = result_new(FERRY_TRUST_HOSTKEY_UNKNOWN,
                           "'%s' (%s) has only @cert-authority or @revoked lines in '%s' on '%s': "
                           "ferry does not do host certificates, it needs the host's own key",
                           b_name, hostname, known, a->name);
            goto out;
        }
    }

    ferry_trust_append_run_as(a, user, argv);
    ferry_trust_append_ssh(b, user, key, argv, owned);
    g_ptr_array_add(argv, (gpointer) "true");
    if (!run_on(a, argv, &out, &err, &status, &error)) {
        r = result_new(FERRY_TRUST_CHECK_FAILED, "%s", error->message);
        goto out;
    }
    klass = ferry_trust_classify_ssh(status, err);
    if (klass == FERRY_TRUST_OK && g_str_equal(type, "ssh-rsa")) {
        r = result_new(FERRY_TRUST_KEY_RSA,
                       "'%s' reaches '%s' as '%s' with key '%s', but it is an RSA key, which "
                       "libssh2 (libvirt's qemu+libssh2 transport, ferry) cannot use with "
                       "OpenSSH >= 8.8",
                       a->name, b_name, user, key);
    } else if (klass == FERRY_TRUST_OK) {
        r = result_new(FERRY_TRUST_OK, "'%s' reaches '%s' as '%s' with key '%s' (%s)", a->name,
                       b_name, user, key, type);
    } else {
        g_strstrip(err);
        r = result_new(klass, "ssh from '%s' to '%s' as '%s' with key '%s' failed (exit %d): %s",
                       a->name, b_name, user, key, status, *err ? err : "no error output");
    }

out:
    r->key_path = g_steal_pointer(&key);
    r->key_type = g_steal_pointer(&type);
    return r;
}

FerryTrustResult *
ferry_trust_check(const FerrySshConfig *a_config, const FerrySshPeer *b)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FerrySshSession) a = ferry_ssh_session_open(a_config, &error);

    if (!a)
        return result_new(ferry_trust_classify_open_error(error), "%s", error->message);
    return ferry_trust_check_session(a, b);
}
