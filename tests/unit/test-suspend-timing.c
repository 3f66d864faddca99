/*
 * test-suspend-timing.c: when a decided suspend is applied within a pass
 * (engine/ferry-suspend-timing.c).
 */
#include <glib.h>

#include "engine/ferry-suspend-timing.h"

#define MIB (G_GUINT64_CONSTANT(1) << 20)

static FerryJobSample
pass(guint64 iteration, guint64 remaining, guint64 bps)
{
    FerryJobSample s = {0};

    s.mem_iteration = iteration;
    s.mem_remaining = remaining;
    s.mem_bps = bps;
    return s;
}

static void
test_waits_within_the_pass(void)
{
    FerryJobSample decided = pass(2, 32 * MIB, 10 * MIB); /* 3.2 s of this pass left */
    FerryJobSample later = pass(2, 16 * MIB, 10 * MIB);

    g_assert_false(ferry_suspend_timing_apply_now(&decided, &decided, 0));
    g_assert_false(ferry_suspend_timing_apply_now(&decided, &later, 1.6));
    /* the job could not be read for a moment: keep waiting */
    g_assert_false(ferry_suspend_timing_apply_now(&decided, NULL, 2.0));
}

static void
test_applies_before_the_sync(void)
{
    FerryJobSample decided = pass(2, 32 * MIB, 10 * MIB);
    FerryJobSample near_end = pass(2, 6 * MIB, 10 * MIB); /* 0.6 s left */

    g_assert_true(ferry_suspend_timing_apply_now(&decided, &near_end, 2.6));
    /* decided with the end already near: at once */
    g_assert_true(ferry_suspend_timing_apply_now(&near_end, &near_end, 0));
}

static void
test_a_missed_end_waits_for_the_next(void)
{
    FerryJobSample decided = pass(2, 8 * MIB, 10 * MIB);
    /* the sync came between two polls: the next pass starts with the whole set */
    FerryJobSample next = pass(3, 64 * MIB, 10 * MIB);
    FerryJobSample next_end = pass(3, 4 * MIB, 10 * MIB);

    g_assert_false(ferry_suspend_timing_apply_now(&decided, &next, 0.9));
    g_assert_true(ferry_suspend_timing_apply_now(&decided, &next_end, 3.5));
}

static void
test_waits_no_longer_than_twice_the_rest(void)
{
    FerryJobSample decided = pass(2, 32 * MIB, 10 * MIB);
    FerryJobSample same = pass(3, 64 * MIB, 10 * MIB);

    /* 2 x 3.2 s + 2 s */
    g_assert_cmpfloat_with_epsilon(ferry_suspend_timing_max_wait(&decided), 8.4, 1e-9);
    g_assert_false(ferry_suspend_timing_apply_now(&decided, &same, 8.3));
    g_assert_true(ferry_suspend_timing_apply_now(&decided, &same, 8.4));
    /* a huge pass or no rate yet: bounded */
    decided = pass(2, G_GUINT64_CONSTANT(1) << 40, 1);
    g_assert_cmpfloat(ferry_suspend_timing_max_wait(&decided), ==, 60.0);
    decided = pass(2, 32 * MIB, 0);
    g_assert_cmpfloat(ferry_suspend_timing_max_wait(&decided), ==, 5.0);
}

static void
test_no_pass_to_wait_for(void)
{
    FerryJobSample disk_phase = pass(0, 0, 0);
    FerryJobSample paused = pass(2, 32 * MIB, 10 * MIB);
    FerryJobSample postcopy = pass(2, 32 * MIB, 10 * MIB);

    paused.paused = TRUE;
    postcopy.postcopy = TRUE;
    g_assert_true(ferry_suspend_timing_apply_now(&disk_phase, &disk_phase, 0));
    g_assert_true(ferry_suspend_timing_apply_now(&paused, &paused, 0));
    g_assert_true(ferry_suspend_timing_apply_now(&postcopy, &postcopy, 0));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/suspend-timing/waits-within-the-pass", test_waits_within_the_pass);
    g_test_add_func("/suspend-timing/applies-before-the-sync", test_applies_before_the_sync);
    g_test_add_func("/suspend-timing/a-missed-end-waits-for-the-next",
                    test_a_missed_end_waits_for_the_next);
    g_test_add_func("/suspend-timing/waits-no-longer-than-twice-the-rest",
                    test_waits_no_longer_than_twice_the_rest);
    g_test_add_func("/suspend-timing/no-pass-to-wait-for", test_no_pass_to_wait_for);
    return g_test_run();
}
