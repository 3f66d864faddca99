/*
 * ferry-fence.h: is a host dead, and is it fenced?  What `ferry rescue` must know before it
 * starts a guest of that host elsewhere (a guest started twice on the same shared disk
 * corrupts it).
 *
 * The rules:
 *   - The host's libvirtd (the host and port of its `uri`: qemu+tcp 16509, qemu+tls 16514,
 *     qemu+ssh its ssh port) and its sshd (ssh_host, ssh_port) must not accept a TCP connection
 *     from ferry (a refusal or no answer both count as unreachable: the service is gone).
 *   - Nor from the other inventory hosts: each is asked over ssh to connect to both ports
 *     (`timeout 3 bash -c 'exec 3<>/dev/tcp/"$1"/"$2"' ADDR PORT`, the address and port passed
 *     as arguments, never pasted into the script).  At least one must answer (a witness); a
 *     witness that reaches the host means ferry's own network is cut off from a live host.
 *   - Then it must be fenced: its `fence_command` (an argv, run without a shell) exits 0, or
 *     the operator confirms with --confirm-dead HOST.
 * Nothing here prints.
 */
#pragma once

#include "engine/ferry-inventory.h"

G_BEGIN_DECLS

#define FERRY_FENCE_ERROR (ferry_fence_error_quark())
GQuark ferry_fence_error_quark(void);

typedef enum {
    FERRY_FENCE_ERROR_ALIVE,        /* ferry or a witness reaches the host */
    FERRY_FENCE_ERROR_NO_WITNESS,   /* no other host could be asked */
    FERRY_FENCE_ERROR_NOT_FENCED,   /* neither fence_command nor --confirm-dead */
    FERRY_FENCE_ERROR_FENCE_FAILED, /* fence_command failed */
    FERRY_FENCE_ERROR_INVALID,      /* the host cannot be probed (no address, a unix uri) */
} FerryFenceErrorCode;

typedef enum {
    FERRY_PROBE_OPEN,      /* a connection was accepted: the service is up */
    FERRY_PROBE_REFUSED,   /* refused: the service is down (the host's kernel answered) */
    FERRY_PROBE_NO_ANSWER, /* timed out, no route */
    FERRY_PROBE_FAILED,    /* could not be asked (the witness's ssh failed) */
    FERRY_PROBE_LAST
} FerryProbeResult;

const char *ferry_probe_result_to_string(FerryProbeResult result);

typedef struct {
    char *from;    /* "ferry" or the witness host */
    char *service; /* "libvirtd" or "sshd" */
    char *address;
    guint port;
    FerryProbeResult result;
    char *detail; /* the error seen, or NULL */
    double elapsed_s;
} FerryProbe;

typedef struct {
    char *host;
    GPtrArray *probes;    /* FerryProbe*, ferry's first */
    GPtrArray *witnesses; /* char*: the hosts that answered ssh and probed */
    gboolean unreachable; /* from ferry and every witness, with at least one witness */
} FerryFenceCheck;

void ferry_fence_check_free(FerryFenceCheck *check);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryFenceCheck, ferry_fence_check_free)

/* Probes @host from ferry and from every other inventory host (all at once).  Never fails:
 * the verdict is in @check; ferry_fence_check_verdict() turns it into an error. */
FerryFenceCheck *ferry_fence_check(const FerryInventory *inventory, const FerryHost *host);

/* TRUE when @check proves @host unreachable; else ALIVE (naming who reached what),
 * NO_WITNESS or INVALID, with what the operator can do. */
gboolean ferry_fence_check_verdict(const FerryFenceCheck *check,
                                   GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Just ferry's probes of @host's libvirtd and sshd (before each guest is started): ALIVE when
 * either accepts a connection. */
gboolean ferry_fence_still_dead(const FerryHost *host, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Runs @host's fence_command (no shell, bounded by @timeout_s), exit status 0 needed:
 * FENCE_FAILED naming the command, its status and stderr.  @out_detail: what it printed. */
gboolean ferry_fence_run(const FerryHost *host, guint timeout_s, char **out_detail,
                         GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
