/*
 * ferry-inventory.h: the hosts ferry knows, read from an INI file (GKeyFile).
 *
 *   [ferry]
 *   ssh_user = root                      # default login for every host
 *   ssh_key = /etc/ferry/id_ed25519      # private key ferry logs in with
 *   known_hosts = /etc/ferry/known_hosts # host keys, checked strictly
 *   ssh_connect_timeout = 10             # seconds, 1..300: every ssh connect (ferry's own
 *                                        # sessions and ConnectTimeout host to host)
 *   migration_user = nova                # who runs ssh between hosts (default: ssh_user)
 *   migration_key = /var/lib/nova/.ssh/id_ed25519 # its key on the hosts (default: first of
 *                                        # ~/.ssh/id_ed25519, id_ecdsa, id_rsa)
 *
 *   [host hostA]
 *   uri = qemu+tcp://10.0.0.11/system    # how ferry reaches this host's libvirtd
 *   peer_uri = qemu+tcp://hosta/system   # how other hosts' libvirtd reach it (default: uri)
 *   address = 10.0.0.11                  # the host's address on the migration network
 *   ssh_host = 10.0.0.11                 # default: address
 *   ssh_port = 22
 *   ssh_user = root                      # default: [ferry] ssh_user
 *   images_dir = /var/lib/libvirt/images # where local guest disks live
 *   shared_dirs = /mnt/shared;           # directories every host listing them sees alike
 *   bridges = public=br0;private=br1     # cluster-wide bridge names -> this host's bridges
 *   networks = default=default           # cluster-wide libvirt network names -> this host's
 *   volume_groups = vms=vg0              # cluster-wide LVM volume group names -> this host's
 *   pools = images=default               # cluster-wide storage pool names -> this host's
 *   reserved_memory_mib = 512            # memory a guest may not take (like Nova's reserve)
 *   reserved_disk_mib = 0                # disk space copied disks may not take
 *   fence_command = /usr/bin/ipmitool -H bmc-a -U admin -f /etc/ferry/bmc-a.pw power off
 *                                        # argv (no shell) that powers the host off; exit 0 =
 *                                        # fenced (`ferry rescue`)
 *
 * The file is selected by --config, else $FERRY_CONFIG, else /etc/ferry/inventory.ini.
 */
#pragma once

#include <glib.h>

#include "ssh/ferry-ssh-session.h"
#include "ssh/ferry-ssh-trust.h"
#include "xml/ferry-domain-xml.h"

G_BEGIN_DECLS

#define FERRY_INVENTORY_ERROR (ferry_inventory_error_quark())
GQuark ferry_inventory_error_quark(void);

typedef enum {
    FERRY_INVENTORY_ERROR_FILE,         /* cannot read / parse the file */
    FERRY_INVENTORY_ERROR_INVALID,      /* a value or key that is wrong */
    FERRY_INVENTORY_ERROR_UNKNOWN_HOST, /* a host name not in the inventory */
} FerryInventoryErrorCode;

#define FERRY_INVENTORY_DEFAULT_PATH "/etc/ferry/inventory.ini"
#define FERRY_INVENTORY_DEFAULT_SSH_CONNECT_TIMEOUT 10 /* seconds */
#define FERRY_INVENTORY_DEFAULT_CONNECT_TIMEOUT 10     /* seconds: a libvirt connect */

typedef struct {
    char *name;
    char *uri;
    char *peer_uri;
    char *address;
    char *migration_address; /* the migration network's address (memory and disk streams) */
    char *ssh_host;
    guint ssh_port;
    char *ssh_user;
    char *images_dir;
    GStrv shared_dirs;
    GHashTable *bridges;  /* logical -> host bridge */
    GHashTable *networks; /* logical -> host network */
    GHashTable *volume_groups; /* logical -> host LVM volume group */
    GHashTable *pools;         /* logical -> host libvirt storage pool */
    guint64 reserved_memory_mib;
    guint64 reserved_disk_mib;
    GStrv fence_command; /* NULL, or the argv that powers the host off (`ferry rescue`) */
} FerryHost;

typedef struct {
    char *path;
    GKeyFile *keyfile;   /* the whole file, for modules with sections of their own */
    char *ssh_key;
    char *known_hosts;
    char *migration_user; /* NULL: each host's ssh_user */
    char *migration_key;  /* path on the hosts; NULL: the user's default keys */
    guint ssh_connect_timeout; /* seconds: every ssh connect, ferry's and host to host */
    guint connect_timeout;     /* seconds: every libvirt connect of ferry's */
    GPtrArray *hosts;    /* FerryHost*, in file order */
} FerryInventory;

/* @path NULL: $FERRY_CONFIG, else FERRY_INVENTORY_DEFAULT_PATH. */
FerryInventory *ferry_inventory_load(const char *path, GError **error) G_GNUC_WARN_UNUSED_RESULT;
void ferry_inventory_free(FerryInventory *inventory);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryInventory, ferry_inventory_free)

const char *ferry_inventory_resolve_path(const char *path);

/* Commands that open ssh sessions need [ferry] ssh_key and known_hosts: an error naming what
 * is missing otherwise (FERRY_INVENTORY_ERROR_INVALID). */
gboolean ferry_inventory_require_ssh(const FerryInventory *inventory, GError **error);

/* Host by name (exact, then case-insensitive); error names the known hosts. */
const FerryHost *ferry_inventory_get_host(const FerryInventory *inventory, const char *name,
                                          GError **error);

/* ssh settings to reach @host from ferry.  Strings are borrowed from the inventory. */
void ferry_inventory_ssh_config(const FerryInventory *inventory, const FerryHost *host,
                                FerrySshConfig *config);

/* How @src reaches @dst over ssh (host to host, as the migration user).  Strings are borrowed. */
void ferry_inventory_peer(const FerryInventory *inventory, const FerryHost *src,
                          const FerryHost *dst, FerrySshPeer *peer);

/* Where @host's disk images may live: images_dir and shared_dirs (NULL-terminated). */
GStrv ferry_host_storage_dirs(const FerryHost *host);

/* What changes between @src and @dst: storage prefixes, shared dirs, bridges, networks,
 * addresses. */
FerryXmlMapping *ferry_inventory_mapping(const FerryHost *src, const FerryHost *dst);

G_END_DECLS
