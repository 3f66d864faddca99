/*
 * ferry-suspend-timing.c: a decided suspend applied at the end of a pass (see the header).
 * Pure: samples in, a yes or no out.
 */
#include "engine/ferry-suspend-timing.h"

double
ferry_suspend_timing_max_wait(const FerryJobSample *decided)
{
    double rest;

    if (!decided->mem_bps)
        return 5.0;
    rest = 2.0 * (double)decided->mem_remaining / (double)decided->mem_bps + 2.0;
    return MIN(rest, 60.0);
}

gboolean
ferry_suspend_timing_apply_now(const FerryJobSample *decided, const FerryJobSample *now,
                               double waited_s)
{
    /* no memory pass yet (disk phase), or nothing to gain: now */
    if (!decided->mem_iteration || decided->paused || decided->postcopy)
        return TRUE;
    if (now && now->mem_iteration && now->mem_bps &&
        (double)now->mem_remaining / (double)now->mem_bps <= FERRY_SUSPEND_TIMING_LEAD_S)
        return TRUE;
    return waited_s >= ferry_suspend_timing_max_wait(decided);
}
