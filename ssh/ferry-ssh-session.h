/*
 * ferry-ssh-session.h: one authenticated libssh2 session to a compute host.
 *
 * Host keys are verified strictly against a known_hosts file: an unknown or changed key is a
 * hard error naming the fingerprint, unless the caller explicitly asks to accept (and record) a
 * new one.  A key on a @revoked line is refused wherever it is offered, even when a plain line
 * lists it too (stricter than OpenSSH, which matches the revoked line's host patterns first);
 * @cert-authority lines are not host keys: ferry does not do host certificates.  Commands are given as argument vectors and quoted for the remote POSIX shell here,
 * never pasted together by callers.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define FERRY_SSH_ERROR (ferry_ssh_error_quark())
GQuark ferry_ssh_error_quark(void);

typedef enum {
    FERRY_SSH_ERROR_CONNECT,         /* TCP connect / resolve failed or timed out */
    FERRY_SSH_ERROR_HANDSHAKE,       /* ssh protocol handshake failed */
    FERRY_SSH_ERROR_HOSTKEY_UNKNOWN, /* host not in known_hosts */
    FERRY_SSH_ERROR_HOSTKEY_CHANGED, /* known_hosts has a different key for the host */
    FERRY_SSH_ERROR_KEYFILE,         /* private key missing / unreadable */
    FERRY_SSH_ERROR_AUTH,            /* server refused our key */
    FERRY_SSH_ERROR_EXEC,            /* channel / exec failure */
    FERRY_SSH_ERROR_TIMEOUT,         /* command or I/O timeout */
    FERRY_SSH_ERROR_SFTP,            /* SFTP operation failed */
    FERRY_SSH_ERROR_REMOTE,          /* remote command ran and failed (non-zero exit) */
    FERRY_SSH_ERROR_INVALID,         /* refused before doing anything (e.g. relative path) */
    FERRY_SSH_ERROR_HOSTKEY_REVOKED, /* known_hosts marks the offered key @revoked */
} FerrySshErrorCode;

typedef struct {
    const char *host;        /* address or name to connect to */
    guint port;              /* 0 = 22 */
    const char *user;        /* NULL = "root" */
    const char *private_key; /* path; public key is derived from the private key */
    const char *known_hosts; /* path; required */
    const char *name;        /* name for messages (inventory host name); NULL = host */
    gboolean accept_new;     /* record an unknown host key instead of failing */
    guint connect_timeout_ms; /* 0 = 10000 */
    guint command_timeout_ms; /* default bound of each command; 0 = 120000 */
} FerrySshConfig;

typedef struct _FerrySshSession FerrySshSession;

FerrySshSession *ferry_ssh_session_open(const FerrySshConfig *config, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
void ferry_ssh_session_free(FerrySshSession *session);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerrySshSession, ferry_ssh_session_free)

const char *ferry_ssh_session_get_name(const FerrySshSession *session);

/* Whether an earlier failure (a timeout, a transport error) left the session unusable. */
gboolean ferry_ssh_session_is_broken(const FerrySshSession *session);

/* Opens the transport again with the same settings (host key checked again, login again), for
 * work that must still be done after a failure -- removing what a failed migration created. */
gboolean ferry_ssh_session_reconnect(FerrySshSession *session,
                                     GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Commands (and relayed copies) that are running on @session when @cancellable fires stop
 * within ~0.2 s with G_IO_ERROR_CANCELLED; the remote process may outlive its channel.  What
 * starts after the cancel (the rollback) runs normally.  The session keeps a reference; NULL
 * detaches it. */
void ferry_ssh_session_set_cancellable(FerrySshSession *session, GCancellable *cancellable);
/* For loops of their own (a relayed copy): TRUE when the session's cancellable has fired. */
gboolean ferry_ssh_session_is_cancelled(const FerrySshSession *session);

/* Quote each element for a POSIX shell and join with spaces. */
char *ferry_ssh_quote_argv(const char *const *argv);

/* Runs @argv on the remote host.  Output parameters may be NULL.  Returns FALSE only when the
 * command could not be run (connection, channel, timeout); a non-zero exit is reported through
 * @exit_status (-1 when the command was killed by a signal).  Output is returned as
 * NUL-terminated text.  The whole command is bounded by command_timeout_ms; after a TIMEOUT the
 * remote command may still be running and the session is marked broken: it refuses further work
 * (open a new one). */
gboolean ferry_ssh_session_run(FerrySshSession *session, const char *const *argv,
                               char **out_stdout, char **out_stderr, int *exit_status,
                               GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* As ferry_ssh_session_run(), bounded by @timeout_ms instead of the session's default. */
gboolean ferry_ssh_session_run_within(FerrySshSession *session, const char *const *argv,
                                      guint timeout_ms, char **out_stdout, char **out_stderr,
                                      int *exit_status, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* The deadline of a command that moves or reads @bytes: FERRY_SSH_BYTES_BASE_MS plus the time
 * the bytes take at FERRY_SSH_BYTES_MIN_RATE (the slowest rate ferry still waits for). */
#define FERRY_SSH_BYTES_BASE_MS 120000
#define FERRY_SSH_BYTES_MIN_RATE (10 * 1024 * 1024) /* bytes per second */
guint ferry_ssh_deadline_for_bytes(guint64 bytes);

/* Like ferry_ssh_session_run(), but a non-zero exit is an error (FERRY_SSH_ERROR_REMOTE) whose
 * message holds the command's name and its stderr. */
gboolean ferry_ssh_session_check(FerrySshSession *session, const char *const *argv,
                                 char **out_stdout, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* SFTP, over one SFTP channel opened on first use and kept for the session's lifetime. */

typedef struct {
    gboolean exists;
    guint64 size;
    guint32 mode; /* st_mode: type and permission bits */
} FerrySshStat;

/* stat(2) (follows symlinks; @follow_symlinks FALSE = lstat).  A missing path is not an error:
 * @out->exists is FALSE. */
gboolean ferry_ssh_sftp_stat(FerrySshSession *session, const char *path, gboolean follow_symlinks,
                             FerrySshStat *out, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* mkdir -p: creates @path and missing parents with @mode; an existing directory is fine. */
gboolean ferry_ssh_sftp_mkdir_p(FerrySshSession *session, const char *path, int mode,
                                GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Reads a whole file of at most @max_size bytes; *contents is NUL-terminated. */
gboolean ferry_ssh_sftp_read_file(FerrySshSession *session, const char *path, gsize max_size,
                                  char **contents, gsize *length,
                                  GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Writes a file atomically: into a temporary file in the same directory, fsync, then renamed over
 * @path.  On failure @path is untouched and the temporary file removed. */
gboolean ferry_ssh_sftp_write_file(FerrySshSession *session, const char *path, const void *data,
                                   gsize length, int mode, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Renames @from to @to.  Without @overwrite an existing @to is an error; with it, @to is
 * replaced atomically (rename(2) on the host). */
gboolean ferry_ssh_sftp_rename(FerrySshSession *session, const char *from, const char *to,
                               gboolean overwrite, GError **error) G_GNUC_WARN_UNUSED_RESULT;

gboolean ferry_ssh_sftp_unlink(FerrySshSession *session, const char *path, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

/* Bytes available to unprivileged users on the file system holding @path (df's "Avail"). */
gboolean ferry_ssh_sftp_statvfs(FerrySshSession *session, const char *path, guint64 *free_bytes,
                                GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
