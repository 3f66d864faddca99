/*
 * ferry-nova-pending.h: requests that could not reach the database, kept for
 * `ferry nova-sync --pending` (ferry_nova_replay_pending() in ferry-nova.h).
 */
#pragma once

#include "engine/nova/ferry-nova-apply.h"

G_BEGIN_DECLS

/* Saves @request under journal_dir/pending/ and returns its id. */
char *ferry_nova_pending_add(FerryNovaConfig *config, const FerryNovaRequest *request,
                             GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
