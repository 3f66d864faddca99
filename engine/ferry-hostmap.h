/*
 * ferry-hostmap.h: a host map, the JSON operators already use to say where guests must be:
 *
 *   {"compute001": ["vm-a"], "compute002": ["vm-b", "4f1c...-uuid"]}
 *
 * Keys are hosts, by inventory name or by Nova service name (a host's `nova_host`); values
 * are lists of guests by name or UUID.  Every error names the file, the key and the reason:
 * not an object, a value that is not a list of strings, an unknown host, a host given twice,
 * an unknown guest, a guest named twice, a host over capacity (from the placement's plan).
 */
#pragma once

#include <glib.h>

#include "engine/ferry-inventory.h"
#include "engine/ferry-placement.h"

G_BEGIN_DECLS

#define FERRY_HOST_MAP_ERROR (ferry_host_map_error_quark())
GQuark ferry_host_map_error_quark(void);

typedef enum {
    FERRY_HOST_MAP_ERROR_FILE,     /* cannot be read, or is not JSON */
    FERRY_HOST_MAP_ERROR_INVALID,  /* JSON, but not a host map (not an object, not lists) */
    FERRY_HOST_MAP_ERROR_UNKNOWN,  /* a host or guest nobody knows */
    FERRY_HOST_MAP_ERROR_TWICE,    /* a host or a guest given twice */
    FERRY_HOST_MAP_ERROR_CAPACITY, /* a guest that cannot go where the map says */
} FerryHostMapErrorCode;

typedef struct {
    char *key;        /* as written in the file */
    char *host;       /* the inventory's name for it */
    GPtrArray *names; /* char*: the guests, as written */
} FerryHostMapEntry;

typedef struct {
    char *path;
    GPtrArray *entries; /* FerryHostMapEntry*, in file order */
} FerryHostMap;

void ferry_host_map_free(FerryHostMap *map);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryHostMap, ferry_host_map_free)

/* Reads @path.  Hosts are checked against @inventory here; guests by ferry_host_map_apply(). */
FerryHostMap *ferry_host_map_load(const char *path, const FerryInventory *inventory,
                                  GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* The same from @text (@path only names it in errors). */
FerryHostMap *ferry_host_map_parse(const char *text, gssize length, const char *path,
                                   const FerryInventory *inventory,
                                   GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Sets wanted_host on the guests of @guests (FerryPlaceGuest*, one per guest) the map names,
 * by name or UUID, and returns those guests (borrowed, in map order).  UNKNOWN for a name no
 * guest has, TWICE for a guest named twice (also by name and by UUID). */
GPtrArray *ferry_host_map_apply(const FerryHostMap *map, GPtrArray *guests,
                                GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* CAPACITY, naming the file, the key and the placement's reason, for the first guest of @plan
 * that does not fit. */
gboolean ferry_host_map_check_plan(const FerryHostMap *map, const FerryPlacePlan *plan,
                                   GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
