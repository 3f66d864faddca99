/*
 * ferry-ssh-storage.h: is a directory shared between two compute hosts?
 *
 * As Nova does it: a uniquely named file is created in the directory on the destination, looked
 * for on the source, and removed.  Nothing is cached: every call looks again.
 */
#pragma once

#include "ssh/ferry-ssh-session.h"

G_BEGIN_DECLS

/* Sets *shared.  A directory missing on the destination is an error (FERRY_SSH_ERROR_INVALID);
 * missing on the source only means "not shared".  The marker file is removed in every case. */
gboolean ferry_storage_is_shared(FerrySshSession *src, FerrySshSession *dst, const char *dir,
                                 gboolean *shared, GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
