/*
 * ferry-locate.h: find the host a domain lives on, by asking the inventory's hosts.
 */
#pragma once

#include <libvirt/libvirt.h>

#include "engine/ferry-inventory.h"

G_BEGIN_DECLS

#define FERRY_LOCATE_ERROR (ferry_locate_error_quark())
GQuark ferry_locate_error_quark(void);

typedef enum {
    FERRY_LOCATE_ERROR_NOT_FOUND, /* on no host (that answered) */
    FERRY_LOCATE_ERROR_AMBIGUOUS, /* running on several hosts at once */
    FERRY_LOCATE_ERROR_UNREACHABLE, /* on no host that answered, and some did not answer */
} FerryLocateErrorCode;

typedef struct {
    const FerryHost *host; /* borrowed from the inventory */
    virConnectPtr conn;    /* owned */
    virDomainPtr domain;   /* owned */
    char *name;            /* the domain's name (the query may be a UUID) */
    char *unreachable;     /* hosts that could not be asked, "; "-separated, or NULL */
} FerryLocation;

void ferry_location_free(FerryLocation *location);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryLocation, ferry_location_free)

/* Looks @name (a name or UUID) up on @host_name when given, else on every inventory host.  A
 * host where it runs wins over one where it is only defined; a domain running on two hosts is
 * refused (FERRY_LOCATE_ERROR_AMBIGUOUS). */
FerryLocation *ferry_locate_domain(const FerryInventory *inventory, const char *name,
                                   const char *host_name, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

/* The domain by name or UUID on one connection, or NULL (libvirt's error reset). */
virDomainPtr ferry_locate_lookup(virConnectPtr conn, const char *name);

G_END_DECLS
