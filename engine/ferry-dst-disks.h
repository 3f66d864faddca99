/*
 * ferry-dst-disks.h: the streamed disks of one migration on the destination.
 *
 * Block migration: libvirt refuses NON_SHARED_INC unless the destination images exist, so ferry
 * creates each one (same format, virtual size and backing file).  Cold migration: ferry copies
 * each disk itself.  Either way a backing file missing on the destination is copied there first.
 *
 * Everything ferry creates on the destination is owned by a FerryDstDisks guard, and only that
 * is ever removed: ferry_dst_disks_remove() (the rollback of a migration that did not happen,
 * also done by ferry_dst_disks_free()) deletes exactly those files, unless
 * ferry_dst_disks_keep() said the guest now uses them.  A file that was already there is never
 * touched: the precheck refuses a destination path that exists.
 */
#pragma once

#include "engine/ferry-migration-private.h"

G_BEGIN_DECLS

/* A guard for @m's destination (its ssh session and name, borrowed), owning nothing yet. */
FerryDstDisks *ferry_dst_disks_new(FerryMigration *m);

/* Removes what it still owns (unless kept), then frees. */
void ferry_dst_disks_free(FerryDstDisks *disks);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryDstDisks, ferry_dst_disks_free)

/* The migration happened: the guest uses these files now, nothing is removed. */
void ferry_dst_disks_keep(FerryDstDisks *disks);

/* Removes every file ferry created on the destination, in the order they were created (a
 * copied backing file before its overlay).  Failures are logged, never returned: this runs
 * because something else failed, and that error is the one the caller reports.  Directories
 * made on the way are left. */
void ferry_dst_disks_remove(FerryDstDisks *disks);
/* The same, except for the files in @in_use (paths a domain on the destination uses, running
 * or defined): those are left, and told. */
void ferry_dst_disks_remove_unused(FerryDstDisks *disks, GHashTable *in_use);

/* Block migration: creates the destination image of every streamed disk (after its backing
 * file, copied when missing unless @full: NON_SHARED_DISK copies whole disks). */
gboolean ferry_migration_dst_create_disks(FerryMigration *m, gboolean full,
                                          GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Cold migration: copies every streamed disk to the destination (host to host over the checked
 * trust, else relayed through ferry; sha256 compared), backing file first when missing, and
 * points a copied overlay at the destination's backing path.  *@bytes: bytes copied. */
gboolean ferry_migration_dst_copy_disks(FerryMigration *m, guint64 *bytes,
                                        GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
