/*
 * ferry-ssh-private.h: session internals shared by the files of ssh/ (not installed, not for
 * the engine).
 */
#pragma once

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "ssh/ferry-ssh-session.h"

G_BEGIN_DECLS

struct _FerrySshSession {
    char *name; /* for messages */
    char *host;
    guint port;
    char *user;
    char *private_key;
    char *known_hosts;
    char *address; /* "10.77.0.12:22" / "[::1]:22" as actually connected, for messages */
    guint connect_timeout_ms;
    guint command_timeout_ms;
    gboolean accept_new;

    int fd;
    LIBSSH2_SESSION *ssh;
    LIBSSH2_SFTP *sftp; /* opened lazily by ferry_ssh_session_get_sftp() */
    gboolean broken;    /* an earlier failure left the transport in an unknown state */
    GCancellable *cancellable; /* interrupts running commands (ferry_ssh_session_set_cancellable) */
};

/* The one place where libssh2's (and SFTP's) last error becomes a GError.  Must be called before
 * the session is freed.  @code is used unless libssh2 reports a timeout, which always becomes
 * FERRY_SSH_ERROR_TIMEOUT.  The message is @format's sentence followed by ": " and libssh2's text.
 */
void ferry_ssh_session_set_error(FerrySshSession *self, GError **error, FerrySshErrorCode code,
                                 const char *format, ...) G_GNUC_PRINTF(4, 5);

/* "host" for port 22 (or 0), "[host]:port" otherwise: how OpenSSH names a host in known_hosts. */
char *ferry_ssh_known_hosts_name(const char *host, guint port);

/* Closes an SFTP handle (NULL is fine); for g_autoptr(LIBSSH2_SFTP_HANDLE). */
void ferry_ssh_sftp_handle_close(LIBSSH2_SFTP_HANDLE *handle);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LIBSSH2_SFTP_HANDLE, ferry_ssh_sftp_handle_close)

/* Writes all @length bytes of @data to @handle (the file @path of @self, for messages). */
gboolean ferry_ssh_sftp_write_all(FerrySshSession *self, LIBSSH2_SFTP_HANDLE *handle,
                                  const char *path, const void *data, gsize length,
                                  GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Opens the SFTP subsystem on first use. */
LIBSSH2_SFTP *ferry_ssh_session_get_sftp(FerrySshSession *self,
                                         GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
