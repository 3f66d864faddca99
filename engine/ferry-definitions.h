/*
 * ferry-definitions.h: the last known definition of every guest ferry has seen, kept in the
 * state directory so that the guests of a host that died can be started elsewhere
 * (`ferry rescue`).  Under STATE_DIR/definitions/HOST/:
 *
 *   UUID.xml    the guest's persistent definition (inactive, migratable, with its secrets:
 *               what `virsh define` needs on another host), mode 0600
 *   UUID.json   {"name", "uuid", "host", "state", "active", "autostart", "persistent",
 *               "seen": ISO time, "seen_unix_s"}
 *
 * Each file is written atomically (temporary file, fsync, rename, the directory fsynced), the
 * XML first, so a reader finds either the old pair or the new one.  A host asked in full (a
 * survey, `ferry snapshot`) has the definitions of the guests it no longer holds removed; a
 * host that could not be asked keeps what was last seen (that is what the cache is for).
 */
#pragma once

#include <libvirt/libvirt.h>

#include "engine/ferry-fleet-survey.h"
#include "engine/ferry-inventory.h"

G_BEGIN_DECLS

#define FERRY_DEFINITIONS_ERROR (ferry_definitions_error_quark())
GQuark ferry_definitions_error_quark(void);

typedef enum {
    FERRY_DEFINITIONS_ERROR_IO,      /* the cache cannot be written or read */
    FERRY_DEFINITIONS_ERROR_INVALID, /* an entry that is not what ferry writes */
} FerryDefinitionsErrorCode;

typedef struct {
    char *host;
    char *name;
    char *uuid;
    char *xml;
    char *state; /* "running", "paused", "shut off", ... (ferry_virt_state_to_string) */
    gboolean active;
    gboolean autostart;
    gboolean persistent;
    gint64 seen_unix_s; /* when ferry read it */
    char *origin;       /* where it was read: "libvirt on 'hostA'", or Nova's libvirt.xml */
} FerryDefinition;

void ferry_definition_free(FerryDefinition *def);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryDefinition, ferry_definition_free)

/* Records @dom as seen on @host now. */
gboolean ferry_definitions_record(const FerryInventory *inventory, const char *host,
                                  virDomainPtr dom, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Records every guest of every host @survey reached, and removes the entries of those hosts'
 * guests that are gone.  Hosts not reached keep their entries.  For `ferry snapshot`, and for
 * the fleet commands (list, locate, evacuate) after their survey.  @recorded (may be NULL):
 * how many definitions were written.  Fails on the first that cannot be written. */
gboolean ferry_definitions_record_survey(const FerryInventory *inventory, const FerrySurvey *survey,
                                         guint *recorded, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* After a move of @uuid from @src to @dst (migrate, rescue): @dst's definition is read and
 * recorded, @src's entry removed. */
gboolean ferry_definitions_record_move(const FerryInventory *inventory, const char *uuid,
                                       const char *src, const char *dst,
                                       GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Removes @host's entry for @uuid (none: nothing to do). */
gboolean ferry_definitions_forget(const FerryInventory *inventory, const char *host,
                                  const char *uuid, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* @host's entries (FerryDefinition*, by name); an empty array when ferry never saw it. */
GPtrArray *ferry_definitions_load_host(const FerryInventory *inventory, const char *host,
                                       GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
