/*
 * ferry-domain-xml.h: parse a libvirt domain XML, classify its disks for a
 * source -> destination move, and rewrite it for the destination.
 *
 * Everything here is pure: no libvirt connection, no host access.  The
 * engine fills a FerryXmlMapping from the inventory and calls these.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define FERRY_XML_ERROR (ferry_xml_error_quark())
GQuark ferry_xml_error_quark(void);

typedef enum {
    FERRY_XML_ERROR_PARSE,    /* not well-formed XML */
    FERRY_XML_ERROR_INVALID,  /* well-formed, but not a usable domain (missing element, bad value) */
    FERRY_XML_ERROR_UNMAPPED, /* something the destination needs has no mapping */
    FERRY_XML_ERROR_REFUSED,  /* a device that cannot be moved (e.g. a passthrough) */
} FerryXmlErrorCode;

typedef struct {
    char *path;   /* file path (or network name) of this backing layer */
    char *format; /* qcow2, raw, ... (may be NULL when unknown) */
    char *type;   /* file | block | network | ... (added: NULL when not given) */
} FerryDomainBacking;

typedef struct {
    char *type;        /* file | block | network | volume | dir | nvme ... */
    char *device;      /* disk | cdrom | floppy | lun */
    char *target;      /* vda, sdb, ... */
    char *bus;         /* virtio, scsi, ... (may be NULL) */
    char *driver_type; /* qcow2, raw, ... (may be NULL) */
    char *cache;       /* none, writeback, ... (may be NULL) */
    char *source;      /* type=file/block/dir: the path; network: the name; volume: "pool/volume";
                          NULL for an empty drive */
    char *protocol;    /* network disks: nbd, rbd, iscsi, ... */
    GPtrArray *hosts;  /* network disks: char* "name" or "name:port" */
    GPtrArray *backing_chain; /* FerryDomainBacking*, top first; empty when none known */
    gboolean readonly;
    gboolean shareable;
    int line; /* line of the <disk> element in the input, 0 when unknown */
    gboolean removable_empty; /* (added) TRUE when the drive has no medium / source */
} FerryDomainDisk;

typedef struct {
    char *type;   /* network | bridge | direct | ... */
    char *source; /* network name, bridge name, or direct dev */
    char *mac;
    char *model;
    int line; /* (added) */
} FerryDomainInterface;

typedef struct {
    char *type;           /* vnc | spice | ... */
    char *listen;         /* listen attribute (may be NULL) */
    GPtrArray *listens;   /* char*: addresses of <listen type='address'> children */
    int port;             /* -1 when unset */
    gboolean autoport;
    int line;              /* (added) */
    GPtrArray *listen_networks; /* (added) char*: networks of <listen type='network'> children */
} FerryDomainGraphics;

/* (added) serial / console / parallel / channel devices. */
typedef struct {
    char *kind;    /* serial | console | parallel | channel */
    char *type;    /* pty | tcp | unix | file | ... */
    char *mode;    /* tcp/unix: bind | connect (NULL when not given) */
    char *host;    /* tcp: host attribute (may be NULL) */
    char *service; /* tcp: port (may be NULL) */
    char *path;    /* unix/file/dev: path (may be NULL) */
    int line;
} FerryDomainChardev;

/* (added) a <hostdev>, or an <interface type='hostdev'>: host hardware passthrough. */
typedef struct {
    char *mode;        /* subsystem | capabilities */
    char *type;        /* pci | usb | scsi | scsi_host | mdev | ... */
    char *description; /* human text: "pci 0000:03:00.1", "usb 046d:c52b", "mdev <uuid>" */
    int line;
} FerryDomainHostdev;

typedef struct {
    char *name;
    char *uuid;
    guint64 memory_kib;
    guint vcpus;
    char *cpu_mode;       /* custom | host-model | host-passthrough | NULL */
    char *cpu_model;
    GPtrArray *cpu_features; /* char* "policy:name", e.g. "require:vmx" */
    GPtrArray *disks;       /* FerryDomainDisk* */
    GPtrArray *interfaces;  /* FerryDomainInterface* */
    GPtrArray *graphics;    /* FerryDomainGraphics* */
    guint n_hostdevs;
    /* ---- added ---- */
    guint vcpus_current;    /* <vcpu current='N'>, equal to vcpus when not given */
    GPtrArray *chardevs;    /* FerryDomainChardev* */
    GPtrArray *hostdevs;    /* FerryDomainHostdev* (n_hostdevs == hostdevs->len) */
    char *domain_type;      /* kvm | qemu | ... */
} FerryDomainDef;

typedef struct _FerryDomainXml FerryDomainXml;

/* @origin names the input in error messages ("domain 'g1' on 'hostA'", a file name). */
FerryDomainXml *ferry_domain_xml_parse(const char *text, const char *origin, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
void ferry_domain_xml_free(FerryDomainXml *xml);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryDomainXml, ferry_domain_xml_free)

const FerryDomainDef *ferry_domain_xml_get_def(const FerryDomainXml *xml);

/* (added) Fails with FERRY_XML_ERROR_REFUSED naming the first device that cannot move at all
 * whatever the mapping (host device passthrough), with its line. */
gboolean ferry_domain_xml_check_movable(const FerryDomainXml *xml, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

/* ---- mapping: how the source's world translates to the destination's ---- */

typedef struct {
    char *from;
    char *to;
} FerryXmlPair;

typedef struct {
    /* Path prefixes on the source that have a counterpart on the destination, for disks that
     * are streamed (local storage): source prefix -> destination prefix.  Identity allowed. */
    GPtrArray *path_maps;       /* FerryXmlPair* */
    /* Path prefixes that both hosts see as the same storage (shared): not copied, not renamed. */
    GPtrArray *shared_prefixes; /* char* */
    GPtrArray *networks;        /* FerryXmlPair*: libvirt network name on source -> destination */
    GPtrArray *bridges;         /* FerryXmlPair*: bridge name on source -> destination */
    /* Graphics / serial tcp: source host address -> destination address.  A listen address equal
     * to @src_address becomes @dst_address ("0.0.0.0" when dst_address is NULL). */
    char *src_address;
    char *dst_address;
    char *new_name;             /* NULL: keep the name */
    /* ---- added ---- */
    GPtrArray *direct_devs;     /* FerryXmlPair*: <interface type='direct'> host NIC on source ->
                                   destination (macvtap) */
    GPtrArray *volume_groups;   /* FerryXmlPair*: LVM volume group on source -> destination: a
                                   block disk /dev/FROM/LV becomes /dev/TO/LV */
    GPtrArray *pools;           /* FerryXmlPair*: libvirt storage pool on source -> destination */
} FerryXmlMapping;

FerryXmlMapping *ferry_xml_mapping_new(void);
void ferry_xml_mapping_free(FerryXmlMapping *map);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryXmlMapping, ferry_xml_mapping_free)
void ferry_xml_mapping_add_path(FerryXmlMapping *map, const char *from, const char *to);
void ferry_xml_mapping_add_shared(FerryXmlMapping *map, const char *prefix);
void ferry_xml_mapping_add_network(FerryXmlMapping *map, const char *from, const char *to);
void ferry_xml_mapping_add_bridge(FerryXmlMapping *map, const char *from, const char *to);
void ferry_xml_mapping_add_direct_dev(FerryXmlMapping *map, const char *from, const char *to);
void ferry_xml_mapping_add_volume_group(FerryXmlMapping *map, const char *from, const char *to);
void ferry_xml_mapping_add_pool(FerryXmlMapping *map, const char *from, const char *to);
/* (added) Setters that replace the previous value (NULL clears). */
void ferry_xml_mapping_set_addresses(FerryXmlMapping *map, const char *src_address,
                                     const char *dst_address);
void ferry_xml_mapping_set_new_name(FerryXmlMapping *map, const char *new_name);

/* TRUE when @path lies under a shared prefix. */
gboolean ferry_xml_mapping_is_shared(const FerryXmlMapping *map, const char *path);
/* @path under the longest matching path_maps prefix, rewritten; NULL when none matches. */
char *ferry_xml_mapping_map_path(const FerryXmlMapping *map, const char *path,
                                 const FerryXmlPair **matched);

/* Where a block device path lives on the destination: /dev/VG/LV with VG mapped by
 * volume_groups becomes /dev/DSTVG/LV; any other path is kept.  *@vg and *@lv (optional) get
 * the destination's volume group and volume name when @path has the /dev/VG/LV form (NULL
 * otherwise). */
char *ferry_xml_mapping_map_block(const FerryXmlMapping *map, const char *path, char **vg,
                                  char **lv);

/* ---- disk plan ---- */

typedef enum {
    FERRY_DISK_STREAM, /* local, writable: copied by block migration (goes in migrate_disks) */
    FERRY_DISK_SHARED, /* network protocol, or on storage both hosts see */
    FERRY_DISK_SKIP,   /* read-only cdrom, empty drive, ... */
    FERRY_DISK_REFUSE, /* cannot move: unmapped path, passthrough, ... */
    FERRY_DISK_LAST
} FerryDiskAction;

const char *ferry_disk_action_to_string(FerryDiskAction action);

/* What holds a streamed disk, on both hosts. */
typedef enum {
    FERRY_DISK_STORAGE_FILE,   /* an image file: created (or copied) at dest_source */
    FERRY_DISK_STORAGE_BLOCK,  /* a block device: an existing one at dest_source, or a logical
                                  volume created there (dest_vg/dest_lv) */
    FERRY_DISK_STORAGE_VOLUME, /* a storage pool volume: created in dest_pool by libvirt */
    FERRY_DISK_STORAGE_LAST
} FerryDiskStorage;

const char *ferry_disk_storage_to_string(FerryDiskStorage storage);

typedef struct {
    const FerryDomainDisk *disk; /* borrowed from the FerryDomainXml */
    FerryDiskAction action;
    char *reason;                /* human sentence: why this action */
    char *dest_source;           /* destination path (stream: mapped path; shared: same); NULL
                                    for skip/refuse or non-path disks */
    GPtrArray *dest_backing;     /* char*: destination paths of the backing chain, top first */
    /* ---- added ---- */
    FerryDiskStorage storage;    /* STREAM: what holds the disk */
    gboolean same_path;          /* STREAM file: no path mapping applies, it keeps its path */
    char *dest_vg;               /* STREAM block /dev/VG/LV: the destination's VG and LV */
    char *dest_lv;
    char *src_pool;              /* STREAM volume: pool and volume on the source ... */
    char *src_volume;
    char *dest_pool;             /* ... and the pool it is created in on the destination */
} FerryDiskPlan;

/* Returns a GPtrArray of FerryDiskPlan* (owning, with free func), one per disk in document
 * order.  Never fails on a REFUSE: that is reported in the plan; the caller decides. */
GPtrArray *ferry_disk_plan_build(const FerryDomainXml *xml, const FerryXmlMapping *map,
                                 GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* (added) Human text for the plan, one block per disk, ending in a newline; never NULL. */
char *ferry_disk_plan_format(GPtrArray *plan);

/* (added) Target names (char*, owned) of the STREAM disks, document order: the migration's
 * VIR_MIGRATE_PARAM_MIGRATE_DISKS list. */
GPtrArray *ferry_disk_plan_stream_targets(GPtrArray *plan);

/* (added) Fails with FERRY_XML_ERROR_REFUSED naming the first REFUSE disk and its reason. */
gboolean ferry_disk_plan_check(GPtrArray *plan, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* (added) JSON-friendly view: an "aa{sv}" GVariant (floating), one dict per disk with keys
 * target, action, reason, type, device, source (when set), dest_source (when set),
 * dest_backing (as), line (i).  json_gvariant_serialize() turns it into JSON. */
GVariant *ferry_disk_plan_to_variant(GPtrArray *plan);

/* ---- files outside <disk>: kernel, initrd, dtb, firmware, NVRAM, TPM state ---- */

typedef enum {
    FERRY_FILE_KERNEL,
    FERRY_FILE_INITRD,
    FERRY_FILE_DTB,
    FERRY_FILE_LOADER,         /* the firmware code (<loader>): the destination's own */
    FERRY_FILE_NVRAM,          /* the guest's UEFI variables (<nvram>) */
    FERRY_FILE_NVRAM_TEMPLATE, /* <nvram template=...>: what libvirt makes a missing one from */
    FERRY_FILE_TPM_STATE,      /* swtpm's state directory */
    FERRY_FILE_KIND_LAST
} FerryFileKind;

typedef enum {
    FERRY_FILE_ENSURE,  /* same contents on the destination (sha256), copied when missing */
    FERRY_FILE_COPY,    /* copied to the destination, which must not have it yet */
    FERRY_FILE_REQUIRE, /* must exist on the destination (the host's own), never copied */
    FERRY_FILE_SHARED,  /* on storage both hosts see */
    FERRY_FILE_REFUSE,  /* cannot follow the guest */
    FERRY_FILE_ACTION_LAST
} FerryFileAction;

const char *ferry_file_kind_to_string(FerryFileKind kind);
const char *ferry_file_action_to_string(FerryFileAction action);

typedef struct {
    FerryFileKind kind;
    FerryFileAction action;
    char *source; /* the path on the source */
    char *dest;   /* the path on the destination (NULL for REFUSE) */
    char *reason;
    int line;
} FerryFilePlan;

void ferry_file_plan_free(FerryFilePlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryFilePlan, ferry_file_plan_free)

/* The files outside <disk> the guest needs, one FerryFilePlan* each (owning), document order. */
GPtrArray *ferry_file_plan_build(const FerryDomainXml *xml, const FerryXmlMapping *map);
/* Human text, one block per file; "" when there are none. */
char *ferry_file_plan_format(GPtrArray *plan);
/* Fails with FERRY_XML_ERROR_REFUSED naming the first REFUSE file and its reason. */
gboolean ferry_file_plan_check(GPtrArray *plan, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* "aa{sv}": kind, action, source, dest (when set), reason, line. */
GVariant *ferry_file_plan_to_variant(GPtrArray *plan);

/* Returns the rewritten domain XML for the destination: the parsed text itself, byte for byte,
 * when the rewrite changes nothing; otherwise the document written the way libvirt writes it
 * (single-quoted attributes, <>&'" escaped, characters rather than character references, no
 * XML declaration).  A disk no mapping applies to keeps its path (the plan says so). */
char *ferry_domain_xml_rewrite(const FerryDomainXml *xml, const FerryXmlMapping *map,
                               GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* The domain as it runs while its pool volumes are streamed into: each <disk type='volume'>
 * whose target is a key of @target_paths becomes <disk type='file'> with that path.  libvirt
 * 9.0 cannot stream (NON_SHARED_INC) into a volume disk -- it looks for the volume by a path it
 * has not resolved yet -- but streams into the file the volume is; the definition kept
 * (PERSIST_XML) still names the volume. */
char *ferry_domain_xml_volumes_as_files(const FerryDomainXml *xml, GHashTable *target_paths,
                                        GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* @text (a domain's XML) without the passwd attribute of any <graphics> element, for printing:
 * @text itself, byte for byte, when it has none.  NULL with @error when @text does not parse. */
char *ferry_domain_xml_without_secrets(const char *text, GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
