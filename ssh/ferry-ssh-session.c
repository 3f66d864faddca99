/*
 * ferry-ssh-session.c: connect, verify the host key, log in, run commands.
 *
 * Lifecycle as in libssh2's example/ssh2_exec.c, but a host-key problem is a hard error and every
 * exit path goes through the session's free function.
 */
#include "ssh/ferry-ssh-private.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gstdio.h>

/* clang-format off */
G_DEFINE_QUARK(ferry-ssh-error-quark, ferry_ssh_error)
/* clang-format on */

#define DEFAULT_PORT 22
#define DEFAULT_USER "root"
#define DEFAULT_CONNECT_TIMEOUT_MS 10000
/* Ordinary commands (stat, mkdir, qemu-img info/create): a command that moves or reads a
 * disk's bytes gets a deadline scaled to them instead (ferry_ssh_deadline_for_bytes). */
#define DEFAULT_COMMAND_TIMEOUT_MS 120000
#define KEEPALIVE_INTERVAL_S 15
/* How long closing a channel may take after a failure before the session is given up. */
#define CLEANUP_TIMEOUT_MS 2000
/* how often a wait looks at the session's cancellable */
#define CANCEL_POLL_MS 200

/* Host key types we verify, in the order we prefer them.  libssh2 1.10 cannot verify the
 * rsa-sha2-* host key signatures, so ssh-rsa comes last. */
static const struct {
    int hostkey_type;  /* LIBSSH2_HOSTKEY_TYPE_* from libssh2_session_hostkey() */
    int knownhost_key; /* LIBSSH2_KNOWNHOST_KEY_* for known_hosts matching */
    const char *name;  /* as written in known_hosts and in the method preference */
} key_types[] = {
    {LIBSSH2_HOSTKEY_TYPE_ED25519, LIBSSH2_KNOWNHOST_KEY_ED25519, "ssh-ed25519"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_256, "ecdsa-sha2-nistp256"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_KNOWNHOST_KEY_ECDSA_384, "ecdsa-sha2-nistp384"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ECDSA_521, "ecdsa-sha2-nistp521"},
    {LIBSSH2_HOSTKEY_TYPE_RSA, LIBSSH2_KNOWNHOST_KEY_SSHRSA, "ssh-rsa"},
};

/* libssh2 errors after which the transport is in an unknown state. */
static const int transport_errors[] = {
    LIBSSH2_ERROR_SOCKET_SEND,    LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_DISCONNECT,
    LIBSSH2_ERROR_SOCKET_TIMEOUT, LIBSSH2_ERROR_TIMEOUT,     LIBSSH2_ERROR_KEX_FAILURE,
    LIBSSH2_ERROR_DECRYPT,        LIBSSH2_ERROR_PROTO,
};

static const char *const sftp_status_names[] = {
    [LIBSSH2_FX_OK] = "ok",
    [LIBSSH2_FX_EOF] = "end of file",
    [LIBSSH2_FX_NO_SUCH_FILE] = "no such file or directory",
    [LIBSSH2_FX_PERMISSION_DENIED] = "permission denied",
    [LIBSSH2_FX_FAILURE] = "failure",
    [LIBSSH2_FX_BAD_MESSAGE] = "bad message",
    [LIBSSH2_FX_NO_CONNECTION] = "no connection",
    [LIBSSH2_FX_CONNECTION_LOST] = "connection lost",
    [LIBSSH2_FX_OP_UNSUPPORTED] = "operation not supported",
    [LIBSSH2_FX_INVALID_HANDLE] = "invalid handle",
    [LIBSSH2_FX_NO_SUCH_PATH] = "no such path",
    [LIBSSH2_FX_FILE_ALREADY_EXISTS] = "file already exists",
    [LIBSSH2_FX_WRITE_PROTECT] = "write protected",
    [LIBSSH2_FX_NO_MEDIA] = "no media",
    [LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM] = "no space left on file system",
    [LIBSSH2_FX_QUOTA_EXCEEDED] = "quota exceeded",
    [LIBSSH2_FX_UNKNOWN_PRINCIPAL] = "unknown principal",
    [LIBSSH2_FX_LOCK_CONFLICT] = "lock conflict",
    [LIBSSH2_FX_DIR_NOT_EMPTY] = "directory not empty",
    [LIBSSH2_FX_NOT_A_DIRECTORY] = "not a directory",
    [LIBSSH2_FX_INVALID_FILENAME] = "invalid file name",
    [LIBSSH2_FX_LINK_LOOP] = "too many levels of symbolic links",
};

void
ferry_ssh_session_set_error(FerrySshSession *self, GError **error, FerrySshErrorCode code,
                            const char *format, ...)
{
    g_autofree char *sentence = NULL;
    g_autofree char *sftp_detail = NULL;
    char *msg = NULL;
    int rc = 0;
    va_list ap;

    va_start(ap, format);
    sentence = g_strdup_vprintf(format, ap);
    va_end(ap);

    if (self->ssh)
        rc = libssh2_session_last_error(self->ssh, &msg, NULL, 0);

    if (rc == LIBSSH2_ERROR_TIMEOUT || rc == LIBSSH2_ERROR_SOCKET_TIMEOUT)
        code = FERRY_SSH_ERROR_TIMEOUT;
    for (gsize i = 0; i < G_N_ELEMENTS(transport_errors); i++) {
        if (rc == transport_errors[i])
            self->broken = TRUE;
    }
    if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && self->sftp) {
        unsigned long status = libssh2_sftp_last_error(self->sftp);

        if (status < G_N_ELEMENTS(sftp_status_names) && sftp_status_names[status])
            sftp_detail = g_strdup(sftp_status_names[status]);
        else
            sftp_detail = g_strdup_printf("SFTP status %lu", status);
    }

    if (sftp_detail)
        g_set_error(error, FERRY_SSH_ERROR, code, "%s: %s", sentence, sftp_detail);
    else if (rc != 0 && msg && *msg)
        g_set_error(error, FERRY_SSH_ERROR, code, "%s: %s", sentence, msg);
    else
        g_set_error_literal(error, FERRY_SSH_ERROR, code, sentence);
}

static void
append_to_error(GError *error, const char *text)
{
    char *old = error->message;

    error->message = g_strconcat(old, text, NULL);
    g_free(old);
}

static void
ensure_libssh2_init(void)
{
    static gsize done;

    /* libssh2_init() is not thread-safe; libssh2_exit() is never called because other sessions
     * may live until the process ends. */
    if (g_once_init_enter(&done)) {
        if (libssh2_init(0) != 0)
            g_error("libssh2_init() failed");
        g_once_init_leave(&done, 1);
    }
}

/* Ends the transport (ssh session, socket); the settings stay, for a reconnect. */
static void
session_disconnect(FerrySshSession *self)
{
    if (self->ssh) {
        libssh2_session_set_blocking(self->ssh, 1);
        libssh2_session_set_timeout(self->ssh, CLEANUP_TIMEOUT_MS);
        /* After a failure a channel may still wait for the server's close: let libssh2 see the
         * end of the connection at once instead of blocking (or failing to free) in that wait. */
        if (self->broken && self->fd >= 0)
            shutdown(self->fd, SHUT_RDWR);
        if (self->sftp)
            libssh2_sftp_shutdown(self->sftp);
        if (!self->broken)
            libssh2_session_disconnect(self->ssh, "ferry: done");
        /* Frees any channel still attached. */
        libssh2_session_free(self->ssh);
        self->ssh = NULL;
        self->sftp = NULL;
    }
    if (self->fd >= 0)
        close(self->fd);
    self->fd = -1;
}

void
ferry_ssh_session_free(FerrySshSession *self)
{
    if (!self)
        return;
    session_disconnect(self);
    g_free(self->name);
    g_free(self->host);
    g_free(self->user);
    g_free(self->private_key);
    g_free(self->known_hosts);
    g_free(self->address);
    g_clear_object(&self->cancellable);
    g_free(self);
}

void
ferry_ssh_session_set_cancellable(FerrySshSession *self, GCancellable *cancellable)
{
    g_set_object(&self->cancellable, cancellable);
}

gboolean
ferry_ssh_session_is_cancelled(const FerrySshSession *self)
{
    return self->cancellable && g_cancellable_is_cancelled(self->cancellable);
}

const char *
ferry_ssh_session_get_name(const FerrySshSession *self)
{
    return self->name;
}

static gint64
deadline_after_ms(guint ms)
{
    return g_get_monotonic_time() + (gint64)ms * 1000;
}

static int
remaining_ms(gint64 deadline)
{
    gint64 left = deadline - g_get_monotonic_time();

    if (left <= 0)
        return 0;
    return (int)MIN((left + 999) / 1000, G_MAXINT);
}

static char *
format_address(const struct sockaddr *sa, socklen_t len, guint port)
{
    char ip[NI_MAXHOST];

    if (getnameinfo(sa, len, ip, sizeof(ip), NULL, 0, NI_NUMERICHOST) != 0)
        return g_strdup("?");
    if (sa->sa_family == AF_INET6)
        return g_strdup_printf("[%s]:%u", ip, port);
    return g_strdup_printf("%s:%u", ip, port);
}

/* Non-blocking connect bounded by @deadline.  Returns the socket or -1 with errno set
 * (ETIMEDOUT when the deadline passed). */
static int
connect_one(const struct addrinfo *ai, gint64 deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    int saved;

    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS)
        goto fail;

    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int timeout = remaining_ms(deadline);
        int rc, soerr = 0;
        socklen_t slen = sizeof(soerr);

        if (timeout == 0) {
            errno = ETIMEDOUT;
            goto fail;
        }
        rc = poll(&p, 1, timeout);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            goto fail;
        if (rc == 0)
            continue; /* re-check the deadline */
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) < 0)
            goto fail;
        if (soerr != 0) {
            errno = soerr;
            goto fail;
        }
        return fd;
    }

fail:
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

static gboolean
connect_socket(FerrySshSession *self, GError **error)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    g_autofree char *service = g_strdup_printf("%u", self->port);
    gint64 deadline = deadline_after_ms(self->connect_timeout_ms);
    int saved_errno = 0;
    int rc;

    rc = getaddrinfo(self->host, service, &hints, &res);
    if (rc != 0) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_CONNECT,
                    "cannot connect to '%s': cannot resolve '%s': %s", self->name, self->host,
                    gai_strerror(rc));
        return FALSE;
    }

    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        g_free(self->address);
        self->address = format_address(ai->ai_addr, ai->ai_addrlen, self->port);
        self->fd = connect_one(ai, deadline);
        if (self->fd >= 0)
            break;
        saved_errno = errno;
        if (saved_errno == ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);

    if (self->fd < 0) {
        if (saved_errno == ETIMEDOUT)
            g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_CONNECT,
                        "cannot connect to '%s' (%s): no answer within %u ms", self->name,
                        self->address, self->connect_timeout_ms);
        else
            g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_CONNECT,
                        "cannot connect to '%s' (%s): %s", self->name, self->address,
                        g_strerror(saved_errno));
        return FALSE;
    }
    return TRUE;
}

/* OpenSSH's fingerprint format: "SHA256:" and unpadded base64 of the key blob's digest. */
static char *
fingerprint_sha256(const char *key, gsize len)
{
    guint8 digest[32];
    gsize dlen = sizeof(digest);
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_autofree char *b64 = NULL;
    char *pad;

    g_checksum_update(sum, (const guchar *)key, len);
    g_checksum_get_digest(sum, digest, &dlen);
    b64 = g_base64_encode(digest, dlen);
    if ((pad = strchr(b64, '=')))
        *pad = '\0';
    return g_strconcat("SHA256:", b64, NULL);
}

char *
ferry_ssh_known_hosts_name(const char *host, guint port)
{
    if (port == 0 || port == DEFAULT_PORT)
        return g_strdup(host);
    return g_strdup_printf("[%s]:%u", host, port);
}

typedef struct {
    LIBSSH2_KNOWNHOSTS *hosts; /* the plain lines only */
    char *contents;            /* file as read, to know whether it ends with a newline */
    gsize length;
    GPtrArray *revoked;        /* GBytes: key blobs of @revoked lines */
    GPtrArray *ca_patterns;    /* char*: host patterns of @cert-authority lines */
} KnownHosts;

static void
known_hosts_clear(KnownHosts *kh)
{
    if (kh->hosts)
        libssh2_knownhost_free(kh->hosts);
    g_free(kh->contents);
    g_clear_pointer(&kh->revoked, g_ptr_array_unref);
    g_clear_pointer(&kh->ca_patterns, g_ptr_array_unref);
}

/* A marker line: "@revoked PATTERNS KEYTYPE BASE64 [COMMENT]" or "@cert-authority ...".  Such
 * lines are never given to libssh2, which would read the marker as a host pattern. */
static void
known_hosts_marker_line(KnownHosts *kh, const char *path, guint lineno, const char *line)
{
    g_auto(GStrv) fields = g_strsplit_set(line, " \t", -1);
    g_autoptr(GPtrArray) words = g_ptr_array_new();
    gsize blob_len = 0;
    guchar *blob;

    for (guint i = 0; fields[i]; i++) {
        if (*fields[i])
            g_ptr_array_add(words, fields[i]);
    }
    if (words->len < 4) {
        g_debug("known_hosts '%s' line %u: marker line without a key, ignored", path, lineno);
        return;
    }
    if (g_str_equal(g_ptr_array_index(words, 0), "@cert-authority")) {
        g_ptr_array_add(kh->ca_patterns, g_strdup(g_ptr_array_index(words, 1)));
        return;
    }
    if (!g_str_equal(g_ptr_array_index(words, 0), "@revoked")) {
        g_debug("known_hosts '%s' line %u: unknown marker, ignored", path, lineno);
        return;
    }
    blob = g_base64_decode(g_ptr_array_index(words, 3), &blob_len);
    g_ptr_array_add(kh->revoked, g_bytes_new_take(blob, blob_len));
}

/* Is @key on a @revoked line?  Whatever the line's host patterns: a revoked key is not to be
 * trusted for any host. */
static gboolean
known_hosts_is_revoked(const KnownHosts *kh, const char *key, gsize key_len)
{
    for (guint i = 0; i < kh->revoked->len; i++) {
        gsize len = 0;
        const void *data = g_bytes_get_data(g_ptr_array_index(kh->revoked, i), &len);

        if (len == key_len && memcmp(data, key, len) == 0)
            return TRUE;
    }
    return FALSE;
}

/* Does a @cert-authority line name @name (plain patterns with * and ?; hashed ones are not
 * checked)?  Only to explain why a host is unknown. */
static gboolean
known_hosts_has_ca_for(const KnownHosts *kh, const char *name)
{
    for (guint i = 0; i < kh->ca_patterns->len; i++) {
        g_auto(GStrv) patterns = g_strsplit(g_ptr_array_index(kh->ca_patterns, i), ",", -1);

        for (guint j = 0; patterns[j]; j++) {
            if (patterns[j][0] != '!' && patterns[j][0] != '|' &&
                g_pattern_match_simple(patterns[j], name))
                return TRUE;
        }
    }
    return FALSE;
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(KnownHosts, known_hosts_clear)

/* Reads the known_hosts file line by line so that one line libssh2 cannot parse (a key type it
 * does not know) does not hide the others; marker lines are read here.  A missing file is
 * empty. */
static gboolean
known_hosts_load(FerrySshSession *self, KnownHosts *kh, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_auto(GStrv) lines = NULL;

    kh->revoked = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    kh->ca_patterns = g_ptr_array_new_with_free_func(g_free);
    kh->hosts = libssh2_knownhost_init(self->ssh);
    if (!kh->hosts) {
        ferry_ssh_session_set_error(self, error, FERRY_SSH_ERROR_HANDSHAKE,
                                    "cannot check the host key of '%s' (%s)", self->name,
                                    self->address);
        return FALSE;
    }
    if (!g_file_get_contents(self->known_hosts, &kh->contents, &kh->length, &local)) {
        if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
            kh->contents = g_strdup("");
            kh->length = 0;
            return TRUE;
        }
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_HOSTKEY_UNKNOWN,
                    "cannot check the host key of '%s' (%s): %s", self->name, self->address,
                    local->message);
        return FALSE;
    }

    lines = g_strsplit(kh->contents, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        const char *line = g_strstrip(lines[i]);

        if (*line == '\0' || *line == '#')
            continue;
        if (*line == '@') {
            known_hosts_marker_line(kh, self->known_hosts, i + 1, line);
            continue;
        }
        if (libssh2_knownhost_readline(kh->hosts, line, strlen(line),
                                       LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0)
            g_debug("known_hosts '%s' line %u not understood by libssh2, ignored",
                    self->known_hosts, i + 1);
    }
    return TRUE;
}

/* Whether known_hosts has a key of this type for @name: a check with a key that cannot match
 * reports MISMATCH exactly when there is one. */
static gboolean
known_hosts_has_type(LIBSSH2_KNOWNHOSTS *hosts, const char *name, int knownhost_key)
{
    static const char nokey[] = "\0";

    return libssh2_knownhost_check(hosts, name, nokey, 1,
                                   LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
                                       knownhost_key,
                                   NULL) == LIBSSH2_KNOWNHOST_CHECK_MISMATCH;
}

/* Offer the key types known_hosts already has for this host first, as OpenSSH does, so that a
 * host known by its ECDSA key is not reported as unknown because it also has an ed25519 key. */
static gboolean
set_hostkey_preference(FerrySshSession *self, const KnownHosts *kh, gboolean *any_known,
                       GError **error)
{
    g_autofree char *name = ferry_ssh_known_hosts_name(self->host, self->port);
    g_autoptr(GString) known = g_string_new(NULL);
    g_autoptr(GString) rest = g_string_new(NULL);

    for (gsize i = 0; i < G_N_ELEMENTS(key_types); i++) {
        GString *list =
            known_hosts_has_type(kh->hosts, name, key_types[i].knownhost_key) ? known : rest;

        if (list->len)
            g_string_append_c(list, ',');
        g_string_append(list, key_types[i].name);
    }
    *any_known = known->len > 0;
    if (known->len && rest->len)
        g_string_append_c(known, ',');
    g_string_append(known, rest->str);

    if (libssh2_session_method_pref(self->ssh, LIBSSH2_METHOD_HOSTKEY, known->str) != 0) {
        ferry_ssh_session_set_error(self, error, FERRY_SSH_ERROR_HANDSHAKE,
                                    "cannot set up the ssh session to '%s' (%s)", self->name,
                                    self->address);
        return FALSE;
    }
    return TRUE;
}

static gboolean
known_hosts_append(FerrySshSession *self, const KnownHosts *kh, const char *type_name,
                   const char *key, gsize key_len, GError **error)
{
    g_autofree char *name = ferry_ssh_known_hosts_name(self->host, self->port);
    g_autofree char *b64 = g_base64_encode((const guchar *)key, key_len);
    gboolean need_newline = kh->length > 0 && kh->contents[kh->length - 1] != '\n';
    g_autofree char *line =
        g_strdup_printf("%s%s %s %s\n", need_newline ? "\n" : "", name, type_name, b64);
    gsize len = strlen(line);
    gsize done = 0;
    int fd;

    fd = g_open(self->known_hosts, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    while (done < len) {
        ssize_t n = write(fd, line + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto fail;
        done += n;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    return TRUE;

fail : {
    int saved = errno;

    if (fd >= 0)
        close(fd);
    g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_HOSTKEY_UNKNOWN,
                "cannot record the host key of '%s' (%s) in known_hosts file '%s': %s", self->name,
                self->address, self->known_hosts, g_strerror(saved));
    return FALSE;
}
}

static gboolean
verify_host_key(FerrySshSession *self, const KnownHosts *kh, gboolean other_types_known,
                GError **error)
{
    g_autofree char *name = ferry_ssh_known_hosts_name(self->host, self->port);
    g_autofree char *fingerprint = NULL;
    const char *type_name = NULL;
    int knownhost_key = LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
    size_t key_len = 0;
    int key_type = 0;
    const char *key;
    int rc;

    key = libssh2_session_hostkey(self->ssh, &key_len, &key_type);
    if (!key) {
        ferry_ssh_session_set_error(self, error, FERRY_SSH_ERROR_HANDSHAKE,
                                    "cannot get the host key of '%s' (%s)", self->name,
                                    self->address);
        return FALSE;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(key_types); i++) {
        if (key_types[i].hostkey_type == key_type) {
            type_name = key_types[i].name;
            knownhost_key = key_types[i].knownhost_key;
        }
    }
    fingerprint = fingerprint_sha256(key, key_len);
    if (!type_name) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_HOSTKEY_UNKNOWN,
                    "the host key of '%s' (%s) is of a type ferry cannot verify (libssh2 type %d, "
                    "%s)",
                    self->name, self->address, key_type, fingerprint);
        return FALSE;
    }

    /* Before any match: a revoked key listed on a plain line too is still revoked. */
    if (known_hosts_is_revoked(kh, key, key_len)) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_HOSTKEY_REVOKED,
                    "the host key of '%s' (%s) is revoked: the server offered %s key %s, which "
                    "known_hosts file '%s' marks @revoked; the host may be an impostor "
                    "using a stolen key: investigate, and never remove the @revoked line to "
                    "get past this",
                    self->name, self->address, type_name, fingerprint, self->known_hosts);
        return FALSE;
    }
    rc = libssh2_knownhost_check(
        kh->hosts, name, key, key_len,
        LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | knownhost_key, NULL);
    switch (rc) {
    case LIBSSH2_KNOWNHOST_CHECK_MATCH:
        return TRUE;

    case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_HOSTKEY_CHANGED,
                    "the host key of '%s' (%s) has changed: the server offered %s key %s, which "
                    "differs from the one for '%s' in known_hosts file '%s'; if the host was "
                    "reinstalled, remove the old entry",
                    self->name, self->address, type_name, fingerprint, name, self->known_hosts);
        return FALSE;

    case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
        if (other_types_known) {
            /* The host is known, but it offers none of its known key types. */
            g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_HOSTKEY_CHANGED,
                        "the host key of '%s' (%s) has changed: the server offered %s key %s, "
                        "but known_hosts file '%s' has only keys of other types for '%s'",
                        self->name, self->address, type_name, fingerprint, self->known_hosts, name);
            return FALSE;
        }
        if (self->accept_new) {
            if (!known_hosts_append(self, kh, type_name, key, key_len, error))
                return FALSE;
            g_info("recorded %s host key %s of '%s' as '%s' in '%s'", type_name, fingerprint,
                   self->name, name, self->known_hosts);
            return TRUE;
        }
        if (known_hosts_has_ca_for(kh, name)) {
            g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_HOSTKEY_UNKNOWN,
                        "the host key of '%s' (%s) is unknown: the server offered %s key %s, and "
                        "known_hosts file '%s' has only a @cert-authority line for '%s'; ferry "
                        "does not do host certificates: add the host's own key after verifying "
                        "its fingerprint on the host",
                        self->name, self->address, type_name, fingerprint, self->known_hosts,
                        name);
            return FALSE;
        }
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_HOSTKEY_UNKNOWN,
                    "the host key of '%s' (%s) is unknown: the server offered %s key %s, and "
                    "known_hosts file '%s' has no entry for '%s'; compare that fingerprint with "
                    "the host's own (ssh-keygen -lf on its host key, run there) and add the key "
                    "to that file",
                    self->name, self->address, type_name, fingerprint, self->known_hosts, name);
        return FALSE;

    default:
        ferry_ssh_session_set_error(self, error, FERRY_SSH_ERROR_HOSTKEY_UNKNOWN,
                                    "cannot check the host key of '%s' (%s) against known_hosts "
                                    "file '%s'",
                                    self->name, self->address, self->known_hosts);
        return FALSE;
    }
}

/* The key type named inside an OpenSSH or PEM private key file ("ssh-rsa", "ssh-ed25519", ...),
 * or NULL.  Used only to explain an authentication failure. */
static char *
private_key_type(const char *contents)
{
    static const char openssh_begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
    static const char openssh_end[] = "-----END OPENSSH PRIVATE KEY-----";
    static const char magic[] = "openssh-key-v1"; /* followed by a NUL */
    const char *begin, *end;
    g_autofree char *b64 = NULL;
    g_autofree guchar *blob = NULL;
    gsize len = 0, pos;

    if (strstr(contents, "-----BEGIN RSA PRIVATE KEY-----"))
        return g_strdup("ssh-rsa");
    if (strstr(contents, "-----BEGIN EC PRIVATE KEY-----"))
        return g_strdup("ecdsa");
    if (!(begin = strstr(contents, openssh_begin)) || !(end = strstr(begin, openssh_end)))
        return NULL;
    begin += strlen(openssh_begin);
    b64 = g_strndup(begin, end - begin);
    blob = g_base64_decode(b64, &len);

    /* magic, string ciphername, string kdfname, string kdfoptions, uint32 nkeys,
     * string publickey whose first field is string keytype */
    pos = sizeof(magic);
    if (len < pos || memcmp(blob, magic, sizeof(magic)) != 0)
        return NULL;
    for (int field = 0; field < 5; field++) {
        guint32 flen;

        if (len - pos < 4)
            return NULL;
        flen = (guint32)blob[pos] << 24 | (guint32)blob[pos + 1] << 16 |
               (guint32)blob[pos + 2] << 8 | blob[pos + 3];
        pos += 4;
        if (field == 3) /* nkeys: a number, not a string */
            continue;
        if (field == 4) /* publickey: descend into it */
            continue;
        if (len - pos < flen)
            return NULL;
        pos += flen;
    }
    /* pos is at publickey's first field: string keytype */
    if (len - pos < 4)
        return NULL;
    {
        guint32 tlen = (guint32)blob[pos] << 24 | (guint32)blob[pos + 1] << 16 |
                       (guint32)blob[pos + 2] << 8 | blob[pos + 3];

        pos += 4;
        if (len - pos < tlen || tlen > 64)
            return NULL;
        return g_strndup((const char *)blob + pos, tlen);
    }
}

static gboolean
authenticate(FerrySshSession *self, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *contents = NULL;
    g_autofree char *key_type = NULL;
    gsize len = 0;
    int rc;

    /* libssh2 reports a missing file as a failure to extract the public key; say it plainly. */
    if (g_access(self->private_key, R_OK) != 0 ||
        !g_file_get_contents(self->private_key, &contents, &len, &local)) {
        int saved = errno;

        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_KEYFILE,
                    "cannot log in to '%s' (%s) as '%s': cannot read private key file '%s': %s",
                    self->name, self->address, self->user, self->private_key,
                    local ? local->message : g_strerror(saved));
        return FALSE;
    }
    key_type = private_key_type(contents);
    explicit_bzero(contents, len);

    rc = libssh2_userauth_publickey_fromfile_ex(self->ssh, self->user, strlen(self->user), NULL,
                                                self->private_key, NULL);
    if (rc == 0)
        return TRUE;

    ferry_ssh_session_set_error(
        self, error, rc == LIBSSH2_ERROR_FILE ? FERRY_SSH_ERROR_KEYFILE : FERRY_SSH_ERROR_AUTH,
        "cannot log in to '%s' (%s) as '%s' with key '%s'", self->name, self->address, self->user,
        self->private_key);
    if (error && *error &&
        (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED)) {
        if (g_strcmp0(key_type, "ssh-rsa") == 0)
            append_to_error(*error, "; this is an RSA key, and libssh2 1.10 signs RSA only with "
                                    "ssh-rsa (SHA-1), which OpenSSH 8.8 and later refuse: use an "
                                    "ed25519 key instead");
        else
            append_to_error(*error, "; is the public key in the user's authorized_keys?");
    }
    return FALSE;
}

static gboolean session_connect(FerrySshSession *self, GError **error);

FerrySshSession *
ferry_ssh_session_open(const FerrySshConfig *config, GError **error)
{
    g_autoptr(FerrySshSession) self = g_new0(FerrySshSession, 1);
    const char *missing = NULL;

    /* before any return: freeing @self closes fd, and 0 is someone else's (stdin, or whatever
     * another thread opened next) */
    self->fd = -1;
    g_return_val_if_fail(config != NULL, NULL);
    if (!config->host || !*config->host)
        missing = "host address";
    else if (!config->private_key || !*config->private_key)
        missing = "private key (ssh_key)";
    else if (!config->known_hosts || !*config->known_hosts)
        missing = "known_hosts file";
    if (missing) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_INVALID,
                    "cannot open an ssh session with '%s': no %s is configured",
                    config->name   ? config->name
                    : config->host ? config->host
                                   : "?",
                    missing);
        return NULL;
    }

    ensure_libssh2_init();
    self->host = g_strdup(config->host);
    self->name = g_strdup(config->name ? config->name : config->host);
    self->port = config->port ? config->port : DEFAULT_PORT;
    self->user = g_strdup(config->user ? config->user : DEFAULT_USER);
    self->private_key = g_strdup(config->private_key);
    self->known_hosts = g_strdup(config->known_hosts);
    self->accept_new = config->accept_new;
    self->connect_timeout_ms =
        config->connect_timeout_ms ? config->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    self->command_timeout_ms =
        config->command_timeout_ms ? config->command_timeout_ms : DEFAULT_COMMAND_TIMEOUT_MS;
    self->address = g_strdup_printf("%s:%u", self->host, self->port);

    if (!session_connect(self, error))
        return NULL;
    return g_steal_pointer(&self);
}

gboolean
ferry_ssh_session_is_broken(const FerrySshSession *self)
{
    return self->broken;
}

gboolean
ferry_ssh_session_reconnect(FerrySshSession *self, GError **error)
{
    session_disconnect(self);
    self->broken = FALSE;
    if (!session_connect(self, error)) {
        session_disconnect(self);
        self->broken = TRUE;
        g_prefix_error(error, "cannot reconnect to '%s': ", self->name);
        return FALSE;
    }
    g_debug("reconnected to '%s' (%s)", self->name, self->address);
    return TRUE;
}

/* Connect, verify the host key, log in: the transport of a session whose settings are set. */
static gboolean
session_connect(FerrySshSession *self, GError **error)
{
    g_auto(KnownHosts) kh = {0};
    gboolean other_types_known = FALSE;
    int rc;

    if (!connect_socket(self, error))
        return FALSE;

    self->ssh = libssh2_session_init_ex(NULL, NULL, NULL, self);
    if (!self->ssh) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_HANDSHAKE,
                    "cannot start an ssh session with '%s' (%s): out of memory", self->name,
                    self->address);
        return FALSE;
    }
    /* Handshake and login are bounded by the connect timeout, later I/O by the command one. */
    libssh2_session_set_blocking(self->ssh, 1);
    libssh2_session_set_timeout(self->ssh, self->connect_timeout_ms);

    if (!known_hosts_load(self, &kh, error) ||
        !set_hostkey_preference(self, &kh, &other_types_known, error))
        return FALSE;

    rc = libssh2_session_handshake(self->ssh, self->fd);
    if (rc != 0) {
        ferry_ssh_session_set_error(self, error, FERRY_SSH_ERROR_HANDSHAKE,
                                    "cannot start an ssh session with '%s' (%s)", self->name,
                                    self->address);
        return FALSE;
    }
    if (!verify_host_key(self, &kh, other_types_known, error) || !authenticate(self, error))
        return FALSE;

    libssh2_keepalive_config(self->ssh, 1, KEEPALIVE_INTERVAL_S);
    libssh2_session_set_timeout(self->ssh, self->command_timeout_ms);
    return TRUE;
}

char *
ferry_ssh_quote_argv(const char *const *argv)
{
    g_autoptr(GString) out = g_string_new(NULL);

    for (gsize i = 0; argv && argv[i]; i++) {
        if (i > 0)
            g_string_append_c(out, ' ');
        g_string_append_c(out, '\'');
        for (const char *p = argv[i]; *p; p++) {
            if (*p == '\'')
                g_string_append(out, "'\\''");
            else
                g_string_append_c(out, *p);
        }
        g_string_append_c(out, '\'');
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/* Waits until the socket is ready in the direction libssh2 is blocked on, sending keepalives
 * meanwhile.  FALSE when @deadline has passed. */
static gboolean
wait_socket(FerrySshSession *self, gint64 deadline)
{
    int dir = libssh2_session_block_directions(self->ssh);
    struct pollfd p = {.fd = self->fd};
    int next_keepalive = 0;
    int timeout = remaining_ms(deadline);

    if (timeout == 0)
        return FALSE;
    if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
        p.events |= POLLIN;
    if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
        p.events |= POLLOUT;
    if (p.events == 0)
        p.events = POLLIN;
    if (libssh2_keepalive_send(self->ssh, &next_keepalive) == 0 && next_keepalive > 0)
        timeout = MIN(timeout, next_keepalive * 1000);
    if (self->cancellable)
        timeout = MIN(timeout, CANCEL_POLL_MS);
    if (poll(&p, 1, timeout) < 0 && errno != EINTR)
        return FALSE;
    return TRUE;
}

/* wait_socket() for a command: FALSE also when it was cancelled after it started. */
static gboolean
wait_command(FerrySshSession *self, gint64 deadline, gboolean cancellable, gboolean *cancelled)
{
    if (cancellable && ferry_ssh_session_is_cancelled(self)) {
        *cancelled = TRUE;
        return FALSE;
    }
    return wait_socket(self, deadline);
}

/* Closes and frees a channel, bounded in time; on failure the session is no longer usable. */
static void
channel_dispose(FerrySshSession *self, LIBSSH2_CHANNEL *channel)
{
    gint64 deadline = deadline_after_ms(CLEANUP_TIMEOUT_MS);

    if (!channel)
        return;
    while (libssh2_channel_free(channel) == LIBSSH2_ERROR_EAGAIN) {
        if (!wait_socket(self, deadline)) {
            /* libssh2_session_free() will release it. */
            self->broken = TRUE;
            return;
        }
    }
}

static gboolean
drain(LIBSSH2_CHANNEL *channel, int stream, GByteArray *into, gboolean *progress, int *error_rc)
{
    char buf[32768];

    for (;;) {
        ssize_t n = libssh2_channel_read_ex(channel, stream, buf, sizeof(buf));

        if (n > 0) {
            g_byte_array_append(into, (const guint8 *)buf, n);
            *progress = TRUE;
            continue;
        }
        if (n == 0 || n == LIBSSH2_ERROR_EAGAIN)
            return TRUE;
        *error_rc = (int)n;
        return FALSE;
    }
}

static char *
byte_array_to_string(GByteArray *array)
{
    g_byte_array_append(array, (const guint8 *)"", 1);
    return (char *)g_byte_array_free(array, FALSE);
}

guint
ferry_ssh_deadline_for_bytes(guint64 bytes)
{
    /* bytes * 1000 / rate, without overflowing for any bytes */
    guint64 ms = FERRY_SSH_BYTES_BASE_MS + bytes / FERRY_SSH_BYTES_MIN_RATE * 1000 +
                 bytes % FERRY_SSH_BYTES_MIN_RATE * 1000 / FERRY_SSH_BYTES_MIN_RATE;

    return (guint)MIN(ms, (guint64)G_MAXUINT);
}

gboolean
ferry_ssh_session_run(FerrySshSession *self, const char *const *argv, char **out_stdout,
                      char **out_stderr, int *exit_status, GError **error)
{
    return ferry_ssh_session_run_within(self, argv, self->command_timeout_ms, out_stdout,
                                        out_stderr, exit_status, error);
}

gboolean
ferry_ssh_session_run_within(FerrySshSession *self, const char *const *argv, guint timeout_ms,
                             char **out_stdout, char **out_stderr, int *exit_status,
                             GError **error)
{
    g_autofree char *command = NULL;
    g_autoptr(GByteArray) out = g_byte_array_new();
    g_autoptr(GByteArray) err = g_byte_array_new();
    LIBSSH2_CHANNEL *channel = NULL;
    gint64 deadline = deadline_after_ms(timeout_ms);
    gboolean ok = FALSE;
    char *signal_name = NULL;
    int status;
    int rc = 0;
    /* only what runs when the cancel comes is stopped: a rollback after it must run */
    gboolean cancellable = !ferry_ssh_session_is_cancelled(self);
    gboolean cancelled = FALSE;

    g_return_val_if_fail(argv && argv[0], FALSE);

    if (self->broken) {
        g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_EXEC,
                    "cannot run '%s' on '%s' (%s): the connection is no longer usable after an "
                    "earlier failure",
                    argv[0], self->name, self->address);
        return FALSE;
    }
    command = ferry_ssh_quote_argv(argv);
    libssh2_session_set_blocking(self->ssh, 0);

    while (!(channel = libssh2_channel_open_session(self->ssh))) {
        if (libssh2_session_last_errno(self->ssh) != LIBSSH2_ERROR_EAGAIN)
            goto fail_exec;
        if (!wait_command(self, deadline, cancellable, &cancelled))
            goto fail_timeout;
    }
    while ((rc = libssh2_channel_exec(channel, command)) == LIBSSH2_ERROR_EAGAIN) {
        if (!wait_command(self, deadline, cancellable, &cancelled))
            goto fail_timeout;
    }
    if (rc != 0)
        goto fail_exec;

    /* Both streams are drained on every wakeup so neither can fill its window and stall the
     * other. */
    for (;;) {
        gboolean progress = FALSE;

        if (!drain(channel, 0, out, &progress, &rc) ||
            !drain(channel, SSH_EXTENDED_DATA_STDERR, err, &progress, &rc))
            goto fail_exec;
        if (!progress && libssh2_channel_eof(channel))
            break;
        if (!progress && !wait_command(self, deadline, cancellable, &cancelled))
            goto fail_timeout;
    }
    while ((rc = libssh2_channel_close(channel)) == LIBSSH2_ERROR_EAGAIN) {
        if (!wait_command(self, deadline, cancellable, &cancelled))
            goto fail_timeout;
    }
    while ((rc = libssh2_channel_wait_closed(channel)) == LIBSSH2_ERROR_EAGAIN) {
        if (!wait_command(self, deadline, cancellable, &cancelled))
            goto fail_timeout;
    }
    if (rc != 0)
        goto fail_exec;

    status = libssh2_channel_get_exit_status(channel);
    if (libssh2_channel_get_exit_signal(channel, &signal_name, NULL, NULL, NULL, NULL, NULL) == 0 &&
        signal_name) {
        g_debug("'%s' on '%s' was killed by signal %s", argv[0], self->name, signal_name);
        libssh2_free(self->ssh, signal_name);
        status = -1;
    }

    if (out_stdout)
        *out_stdout = byte_array_to_string(g_steal_pointer(&out));
    if (out_stderr)
        *out_stderr = byte_array_to_string(g_steal_pointer(&err));
    if (exit_status)
        *exit_status = status;
    ok = TRUE;
    goto out;

fail_timeout:
    if (cancelled) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "'%s' on '%s' (%s) was cancelled",
                    argv[0], self->name, self->address);
        goto out;
    }
    g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_TIMEOUT,
                "'%s' on '%s' (%s) did not finish within %u ms", argv[0], self->name, self->address,
                timeout_ms);
    /* The command may still run and its channel's state is unknown: nothing more goes over
     * this session (a new one must be opened). */
    self->broken = TRUE;
    goto out;

fail_exec:
    ferry_ssh_session_set_error(self, error, FERRY_SSH_ERROR_EXEC, "cannot run '%s' on '%s' (%s)",
                                argv[0], self->name, self->address);

out:
    channel_dispose(self, channel);
    libssh2_session_set_blocking(self->ssh, 1);
    return ok;
}

gboolean
ferry_ssh_session_check(FerrySshSession *self, const char *const *argv, char **out_stdout,
                        GError **error)
{
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    int status = 0;

    if (!ferry_ssh_session_run(self, argv, &out, &err, &status, error))
        return FALSE;
    if (status != 0) {
        g_strstrip(err);
        if (status < 0)
            g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE,
                        "'%s' on '%s' was killed by a signal%s%s", argv[0], self->name,
                        *err ? ": " : "", err);
        else
            g_set_error(error, FERRY_SSH_ERROR, FERRY_SSH_ERROR_REMOTE,
                        "'%s' on '%s' failed with exit status %d%s%s", argv[0], self->name, status,
                        *err ? ": " : " and no error output", err);
        return FALSE;
    }
    if (out_stdout)
        *out_stdout = g_steal_pointer(&out);
    return TRUE;
}
