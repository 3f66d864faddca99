/*
 * ferry-dst-disks.h: the streamed disks of one migration on the destination.
 *
 * Block migration: libvirt refuses NON_SHARED_INC unless the destination images exist, so ferry
 * creates each one (same format, virtual size and backing file; a logical volume of the same
 * size; a pool volume of the same capacity and format through libvirt's storage API).  Cold
 * migration: ferry copies each disk itself (into the device or volume for those).  Either way
 * every layer of a backing chain missing on the destination is copied there first, bottom up,
 * and the files outside <disk> the destination lacks (kernel, initrd, dtb, NVRAM, Nova's
 * disk.info and console.log) are copied.
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

/* Removes everything ferry created on the destination -- files, logical volumes, pool volumes,
 * and the directories it made (only when empty) -- newest first.  Failures are logged, never
 * returned: this runs because something else failed, and that error is the one the caller
 * reports.  A block device that was already there is written into but never removed. */
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

/* Every mode: the files outside <disk> the precheck found missing on the destination (kernel,
 * initrd, dtb, NVRAM, Nova's disk.info and console.log) copied there, checksum-verified, owned
 * by the guard. */
gboolean ferry_migration_dst_copy_files(FerryMigration *m, GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
