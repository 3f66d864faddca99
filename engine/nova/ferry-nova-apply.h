/*
 * ferry-nova-apply.h: each step of a sync as a request, and the statements that apply it
 * to Nova's databases.  A request is also what the queue keeps (ferry-nova-pending.h).
 */
#pragma once

#include "engine/nova/ferry-nova-private.h"

G_BEGIN_DECLS

typedef enum {
    FERRY_NOVA_OP_BEGIN,   /* take Nova's lock, record a running migration (never queued) */
    FERRY_NOVA_OP_FINISH,  /* after begin: the guest runs on the destination */
    FERRY_NOVA_OP_ONESHOT, /* begin and finish at once, for a guest moved earlier */
    FERRY_NOVA_OP_ABORT,   /* after begin: the guest did not move */
    FERRY_NOVA_OP_LAST,
} FerryNovaOp;

const char *ferry_nova_op_name(FerryNovaOp op);
gboolean ferry_nova_op_from_name(const char *name, FerryNovaOp *op);

typedef struct {
    FerryNovaOp op;
    const char *instance;
    const char *src_host; /* NULL (one-shot only): the host Nova records */
    const char *dst_host;
    int power_state; /* finish, one-shot */
    const char *migration_type;
    const char *migration_uuid; /* begin, one-shot: for the new row; finish, abort: the begun one */
} FerryNovaRequest;

/* Applies @request, one guarded transaction per database.  UNREACHABLE errors are returned
 * as they are: the caller decides whether to queue. */
FerryNovaResult *ferry_nova_apply(FerryNovaConfig *config, const FerryNovaRequest *request,
                                  gboolean dry_run, GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
