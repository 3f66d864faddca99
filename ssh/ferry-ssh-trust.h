/*
 * ferry-ssh-trust.h: can compute host A reach compute host B over ssh by key, as the migration
 * user, with B's host key already known to A?
 *
 * ferry logs in to A with its own session, then runs on A (argv only, never a pasted string):
 * `id -u USER`, `getent passwd USER`, `ssh-keygen -y -f KEY`, `ssh-keygen -F B -f KNOWN_HOSTS`
 * and finally `ssh -o BatchMode=yes -o StrictHostKeyChecking=yes ... USER@B true` as USER, whose
 * stderr tells the remaining failures apart.  Each failure is one FerryTrustClass with a short
 * name (for the matrix) and a remedy.
 */
#pragma once

#include "ssh/ferry-ssh-session.h"

G_BEGIN_DECLS

typedef enum {
    FERRY_TRUST_OK,
    FERRY_TRUST_A_UNREACHABLE,      /* ferry cannot connect to A's sshd */
    FERRY_TRUST_A_LOGIN_REFUSED,    /* ferry's own login to A failed */
    FERRY_TRUST_USER_MISSING,       /* the migration user does not exist on A */
    FERRY_TRUST_NO_KEY,             /* the migration user has no (usable) private key on A */
    FERRY_TRUST_HOSTKEY_UNKNOWN,    /* B's host key is not in the user's known_hosts on A */
    FERRY_TRUST_HOSTKEY_CHANGED,    /* A's known_hosts has another key for B */
    FERRY_TRUST_KEY_NOT_AUTHORIZED, /* B refused A's key */
    FERRY_TRUST_B_UNREACHABLE,      /* A cannot connect to B's sshd */
    FERRY_TRUST_KEY_RSA,            /* the key is RSA: libssh2 1.10 cannot use it with OpenSSH 9 */
    FERRY_TRUST_CHECK_FAILED,       /* anything else: see the detail */
    FERRY_TRUST_HOSTKEY_REVOKED,    /* A's known_hosts marks B's key @revoked */
    FERRY_TRUST_LAST
} FerryTrustClass;

/* How the source host reaches the destination host (not how ferry reaches either). */
typedef struct {
    const char *user; /* migration user on both hosts; NULL = the login user of A's session */
    const char *key;  /* private key path on A; NULL = first of ~/.ssh/id_{ed25519,ecdsa,rsa} */
    const char *host; /* B's address as A reaches it */
    guint port;       /* 0 = 22 */
    const char *name; /* B's name for messages; NULL = host */
    guint connect_timeout; /* seconds, ssh's ConnectTimeout; 0 = 10 */
} FerrySshPeer;

/* "hostkey-unknown", ...: stable, short, for the matrix and scripts. */
const char *ferry_trust_class_to_string(FerryTrustClass klass);
/* One sentence saying what to do about it. */
const char *ferry_trust_class_remedy(FerryTrustClass klass);

typedef struct {
    FerryTrustClass klass;
    char *detail;   /* what was seen (error message or ssh's stderr), never NULL */
    char *key_path; /* the key that was checked on A, or NULL */
    char *key_type; /* "ssh-ed25519", "ssh-rsa", ... or NULL */
} FerryTrustResult;

void ferry_trust_result_free(FerryTrustResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryTrustResult, ferry_trust_result_free)

/* Classifies how the ssh client on A failed, from its exit status and stderr.  Pure: unit-tested
 * with recorded messages. */
FerryTrustClass ferry_trust_classify_ssh(int exit_status, const char *ssh_stderr);

/* A class that must stop whatever wanted the trust, never be worked around (e.g. by relaying
 * through ferry): the destination's identity is in doubt (changed or revoked host key). */
gboolean ferry_trust_class_is_fatal(FerryTrustClass klass);

/* Classifies a failure of ferry's own ferry_ssh_session_open() to A. */
FerryTrustClass ferry_trust_classify_open_error(const GError *error);

/* Checks A -> B over an open session to A.  Never fails: every failure is a class. */
FerryTrustResult *ferry_trust_check_session(FerrySshSession *a, const FerrySshPeer *b);

/* Opens a session to A with @a_config first (its failures are A_UNREACHABLE / A_LOGIN_REFUSED),
 * then as ferry_trust_check_session().  Thread-safe: each call has its own session. */
FerryTrustResult *ferry_trust_check(const FerrySshConfig *a_config, const FerrySshPeer *b);

/* The argv prefix that runs a command on A as @user: empty when @user is NULL or the login user
 * of @a, else `runuser -u USER --`.  Appends to @argv (borrowed strings). */
void ferry_trust_append_run_as(FerrySshSession *a, const char *user, GPtrArray *argv);

/* Appends `ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=N
 * [-i KEY] -p PORT -l USER -- HOST` to @argv (borrowed strings except the port and the timeout,
 * added to @owned). */
void ferry_trust_append_ssh(const FerrySshPeer *b, const char *user, const char *key,
                            GPtrArray *argv, GPtrArray *owned);

G_END_DECLS
