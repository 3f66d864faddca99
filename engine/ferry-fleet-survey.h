/*
 * ferry-fleet-survey.h: what every inventory host holds, asked of all of them at once (one
 * thread per host, each connect with the inventory's deadline).  For each host: whether it
 * answered (and why not), its memory (available = free + buffers + cache, minus nothing: the
 * reserve is the placement's business), CPUs, the vCPUs its running guests hold, and, when
 * asked for, the free space of its images directory (over ssh).  For each guest: name, UUID,
 * state, persistence, autostart, memory, vCPUs, and its disks classified as the disk plan of a
 * move would (local: streamed, with the bytes a block migration sends; shared; volume; skipped).
 * A guest (by UUID) defined or running on two hosts is flagged on both.
 *
 * ferry-placement.h takes what this gathers (ferry_survey_place_hosts/guests) and decides.
 */
#pragma once

#include <libvirt/libvirt.h>

#include "engine/ferry-inventory.h"
#include "engine/ferry-placement.h"

G_BEGIN_DECLS

typedef enum {
    FERRY_SURVEY_DISK_LOCAL,  /* in the host's images_dir: streamed by a move */
    FERRY_SURVEY_DISK_SHARED, /* network (NBD, RBD, ...) or under shared_dirs */
    FERRY_SURVEY_DISK_VOLUME, /* a storage pool volume */
    FERRY_SURVEY_DISK_SKIP,   /* empty or read-only drive */
    FERRY_SURVEY_DISK_LAST
} FerrySurveyDiskKind;

const char *ferry_survey_disk_kind_to_string(FerrySurveyDiskKind kind);

typedef struct {
    char *target;
    char *source;           /* path, "pool/volume", or the network name; NULL: empty */
    FerrySurveyDiskKind kind;
    guint64 stream_bytes;   /* LOCAL: its top image's allocation, what a block migration sends */
} FerrySurveyDisk;

typedef struct {
    char *name;
    char *uuid;
    const char *host;       /* borrowed: the inventory host's name */
    int state;              /* virDomainState */
    gboolean active;
    gboolean persistent;
    gboolean autostart;
    guint64 memory_bytes;
    guint vcpus;
    GPtrArray *disks;       /* FerrySurveyDisk* */
    guint64 stream_bytes;   /* sum over the LOCAL disks */
    char *cpu_xml;          /* the <cpu> to compare on a destination; NULL: nothing to compare */
    char *domain_type;
    char *refused;          /* NULL, or why it cannot move (a disk ferry refuses, bad XML) */
    char *flag;             /* NULL, or "running on 'hostA' and 'hostB'", "also defined on ..." */
} FerrySurveyGuest;

typedef struct {
    const FerryHost *host;  /* borrowed from the inventory */
    gboolean reachable;
    char *error;            /* why not reachable, or what could not be read */
    virConnectPtr conn;     /* open while the survey lives (NULL when not reachable) */
    guint64 mem_total_bytes;
    guint64 mem_available_bytes;
    guint cpus;
    guint vcpus_committed;  /* of the active guests */
    gboolean disk_known;
    guint64 disk_free_bytes; /* images_dir's filesystem */
    char *disk_error;        /* why the free space is not known (when it was asked for) */
    GPtrArray *guests;       /* FerrySurveyGuest*, by name */
} FerrySurveyHost;

typedef struct {
    const FerryInventory *inventory;
    GPtrArray *hosts;        /* FerrySurveyHost*, inventory order */
} FerrySurvey;

typedef enum {
    FERRY_SURVEY_DISK_SPACE = 1 << 0, /* also the images_dir free space, over ssh */
} FerrySurveyFlags;

/* Asks every host; never fails: a host that cannot be asked is not reachable, with why. */
FerrySurvey *ferry_survey_run(const FerryInventory *inventory, FerrySurveyFlags flags);
void ferry_survey_free(FerrySurvey *survey);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerrySurvey, ferry_survey_free)

FerrySurveyHost *ferry_survey_get_host(const FerrySurvey *survey, const char *name);

/* The hosts as placement sees them (FerryPlaceHost*, owning; strings borrowed from @survey). */
GPtrArray *ferry_survey_place_hosts(const FerrySurvey *survey);

/* One FerryPlaceGuest per guest (by UUID), owning, strings borrowed from @survey: where it
 * runs (else where it is defined); refused when it runs on two hosts, is shut off and defined
 * on two, or has a disk ferry cannot move.  @only_host: just the guests on that host. */
GPtrArray *ferry_survey_place_guests(const FerrySurvey *survey, const char *only_host);

/* The surveyed guest @place stands for. */
const FerrySurveyGuest *ferry_survey_find_guest(const FerrySurvey *survey, const char *host,
                                                const char *name);

/* For the CPU rule of placement: each guest of @guests (FerryPlaceGuest*) is compared
 * (virConnectCompareHypervisorCPU) with every other reachable host, or the hosts of @allowed.
 * Returns guest name -> (host name -> reason) for the hosts that cannot run it (a comparison
 * that fails is a refusal too, with libvirt's message). */
GHashTable *ferry_survey_cpu_refusals(const FerrySurvey *survey, GPtrArray *guests,
                                      const char *const *allowed);

G_END_DECLS
