/*
 * ferry-abort.c: the abort gate (see ferry-abort.h).
 */
#include "engine/ferry-abort.h"

static GMutex gate_lock;
static char *gate_closed_why; /* NULL: open */

gboolean
ferry_abort_request(GCancellable *cancellable, char **why)
{
    gboolean fired = FALSE;

    g_mutex_lock(&gate_lock);
    if (gate_closed_why) {
        if (why)
            *why = g_strdup(gate_closed_why);
    } else {
        g_cancellable_cancel(cancellable);
        fired = TRUE;
    }
    g_mutex_unlock(&gate_lock);
    return fired;
}

gboolean
ferry_abort_gate_close(GCancellable *cancellable, const char *why)
{
    gboolean closed = FALSE;

    g_mutex_lock(&gate_lock);
    if (!g_cancellable_is_cancelled(cancellable)) {
        g_free(gate_closed_why);
        gate_closed_why = g_strdup(why);
        closed = TRUE;
    }
    g_mutex_unlock(&gate_lock);
    return closed;
}

void
ferry_abort_gate_open(void)
{
    g_mutex_lock(&gate_lock);
    g_clear_pointer(&gate_closed_why, g_free);
    g_mutex_unlock(&gate_lock);
}
