/*
 * ferry-nova-private.h: what every file of engine/nova shares, the configuration and the
 * names of Nova's databases; not for callers.
 *
 * The files below depend on each other in one direction only:
 *   ferry-nova-db.h        connections, prepared statements, the schema's optional columns
 *   ferry-nova-journal.h   before-images (db)
 *   ferry-nova-apply.h     the statements of each step (db, journal)
 *   ferry-nova-pending.h   the queue and its replay (apply, journal)
 *   ferry-nova-sync.c      the public sync object (apply, pending)
 *   ferry-nova-undo.c      undo (db, journal)
 */
#pragma once

#include "engine/nova/ferry-nova.h"

G_BEGIN_DECLS

struct _FerryNovaConfig {
    char *host;
    guint port;
    char *socket;
    char *user;
    char *password; /* wiped on free; never logged */
    char *db_nova;
    char *db_api;
    char *db_placement;
    guint connect_timeout;
    char *default_az;
    char *journal_dir;
};

/* Which of Nova's databases a statement or a saved row belongs to. */
typedef enum {
    FERRY_NOVA_ROLE_NOVA,
    FERRY_NOVA_ROLE_API,
    FERRY_NOVA_ROLE_PLACEMENT,
    FERRY_NOVA_ROLE_LAST,
} FerryNovaRole;

const char *ferry_nova_role_name(FerryNovaRole role);
gboolean ferry_nova_role_from_name(const char *name, FerryNovaRole *role);
const char *ferry_nova_config_database(const FerryNovaConfig *config, FerryNovaRole role);

G_END_DECLS
