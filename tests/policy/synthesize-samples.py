#!/usr/bin/env python3
"""Writes the synthetic-*.samples files of tests/policy/data/ (all but synthetic-missing-fields,
which is written by hand).

These are not recordings.  They are modelled on what the lab shows (128 MiB guest dirtying a
64 MiB hot set, --bandwidth 10: iteration 4 after 20 s, remaining swinging 11..84 MiB, expected
downtime 6.4 s, dirty rate ~2540 pages/s; a 64 MiB disk mirror at 8 MiB/s) and shaped to put
the policy's edges (window boundaries, disk phase, deferred post-copy...) where a test wants
them.  The lab recordings, lab-*.samples, are made by tests/policy/record-lab-samples.sh.
Not run by the build; rerun by hand:
    python3 tests/policy/synthesize-samples.py tests/policy/data
"""
import math
import os
import sys

MIB = 1024 * 1024
FIELDS = ("elapsed_s data_total data_processed data_remaining mem_total mem_processed "
          "mem_remaining mem_bps mem_dirty_rate mem_page_size mem_iteration disk_total "
          "disk_processed disk_remaining disk_bps expected_downtime_ms postcopy paused").split()


def mib(x):
    return int(round(x * MIB))


class Seq:
    def __init__(self, comment):
        self.lines = ["# " + l for l in comment.strip().splitlines()]
        self.lines.append("# synthetic: written by tests/policy/synthesize-samples.py")
        self.lines.append(" ".join(FIELDS))

    def add(self, t, mem_total=128, mem_rem=128, mem_proc=0, it=0, mem_bps=10, dirty=0,
            disk_total=0, disk_rem=0, disk_proc=0, disk_bps=0, postcopy=0, paused=0):
        mt, mr, mp = mib(mem_total), mib(mem_rem), mib(mem_proc)
        dt, dr, dp = mib(disk_total), mib(disk_rem), mib(disk_proc)
        bps = mib(mem_bps)
        expected = int(mr * 1000 / bps) if it > 0 and bps else 0
        v = [f"{t:.3f}", dt + mt, dp + mp, dr + mr, mt, mp, mr, bps if it else 0, dirty,
             4096, it, dt, dp, dr, mib(disk_bps), expected, postcopy, paused]
        self.lines.append(" ".join(str(x) for x in v))

    def write(self, path):
        with open(path, "w") as f:
            f.write("\n".join(self.lines) + "\n")


def times(start, end, step=0.5):
    n = int(round((end - start) / step))
    return [round(start + i * step, 3) for i in range(n + 1)]


def dirty_guest(seq, t0, t_end, first_min=11.2, minima=(13.0, 11.6, 12.4, 11.9, 12.8, 11.5),
                paused_from=None, postcopy_from=None, step=0.5):
    """Pre-copy of a 128 MiB guest with a 64 MiB hot set at 10 MiB/s: a first pass down to
    first_min, then passes that jump back to ~84 MiB and end at one of the minima."""
    proc = 0.0
    rem = 128.0
    it = 1
    mi = 0
    at_floor = False
    for t in times(t0, t_end, step):
        paused = paused_from is not None and t >= paused_from
        postcopy = postcopy_from is not None and t >= postcopy_from
        if t > t0:
            if paused or postcopy:
                # the dirty pages of the pass that was running still have to go
                if at_floor:
                    at_floor = False
                    rem = 84.0
                sent = min(rem, 10 * step)
                rem -= sent
                proc += sent
            elif at_floor:
                # the bitmap sync at the end of a pass brings the hot set back
                at_floor = False
                it += 1
                mi += 1 if it > 2 else 0
                rem = 84.0 - (it % 3)
            else:
                floor = first_min if it == 1 else minima[mi % len(minima)]
                rate = 16.8 if it == 1 else 10.0  # zero pages make pass 1 faster
                sent = min(rem - floor, rate * step)
                rem -= sent
                proc += sent
                at_floor = rem <= floor + 1e-9
        seq.add(t, mem_rem=rem, mem_proc=proc, it=it, dirty=0 if paused else 2540,
                postcopy=int(postcopy), paused=int(paused))
        if rem <= 0:
            break


def main(outdir):
    def w(name, seq):
        seq.write(os.path.join(outdir, "synthetic-" + name + ".samples"))

    s = Seq("Dirtying guest (dirty.elf mib=64), 128 MiB RAM, --bandwidth 10, no disk copy.\n"
            "Pass 1 ends at 11.2 MiB at 7.5 s; later passes swing 84 -> 11.6..13 MiB.\n"
            "Suspended by the policy at 17.5 s; paused, it drains at 10 MiB/s.")
    dirty_guest(s, 0.5, 30.0, paused_from=18.0)
    w("stall-dirty-guest", s)

    s = Seq("Idle 64 MiB guest on an unshaped link: converges in 2.5 s, 3 iterations.")
    for t, rem, proc, it in ((0.5, 64, 0, 1), (1.0, 22, 42, 1), (1.5, 3.5, 61, 2),
                             (2.0, 0.4, 64.5, 3), (2.5, 0.0, 65, 3)):
        s.add(t, mem_total=64, mem_rem=rem, mem_proc=proc, it=it, mem_bps=90, dirty=12)
    w("converging-idle", s)

    s = Seq("--copy-storage-all, 64 MiB disk at 2 MiB/s while the guest writes to it between\n"
            "5 s and 25 s: the mirror's remaining bytes hover around 52 MiB (total grows), but\n"
            "disk_processed grows steadily.  Then an idle 128 MiB RAM copy (zero pages, fast).")
    for t in times(0.5, 51.0):
        proc = 2 * t
        if t <= 5:
            rem = 64 - proc
        elif t <= 25:
            rem = 52 + 2 * math.sin((t - 5) * math.pi / 4)
        else:
            rem = max(0.0, 102 - proc)
            proc = 102 - rem
        s.add(t, disk_total=proc + rem, disk_rem=rem, disk_proc=proc, disk_bps=2)
    for t, rem, it in ((51.5, 128, 1), (52.0, 70, 1), (52.5, 12, 1), (53.0, 0.3, 2)):
        s.add(t, mem_rem=rem, mem_proc=128 - rem, it=it, mem_bps=100, dirty=5,
              disk_total=102, disk_rem=0, disk_proc=102)
    w("disk-mirror-steady", s)

    s = Seq("--copy-storage-all, 64 MiB disk at 2 MiB/s; the mirror stops moving at 10 MiB\n"
            "(link dead) from 5.0 s.")
    for t in times(0.5, 20.0):
        proc = min(2 * t, 10.0)
        s.add(t, disk_total=64, disk_rem=64 - proc, disk_proc=proc, disk_bps=2 if t < 5 else 0)
    w("disk-stuck", s)

    s = Seq("Memory phase; remaining reaches its low-water mark 20 MiB at 5.0 s, equals it again\n"
            "at 10.0 s (equal is no improvement), never goes below.  Window 10 s: the stall is\n"
            "due at exactly 15.0 s.")
    for t in times(0.5, 20.0):
        if t <= 5.0:
            rem = 128 - (128 - 20) * (t - 0.5) / 4.5
        elif abs(t - 10.0) < 1e-9:
            rem = 20
        else:
            rem = 20 + 30 * abs(math.sin(t))
            rem = max(rem, 20.5)
        s.add(t, mem_rem=rem, mem_proc=128 - rem + t, it=1 + int(t // 5), dirty=2540)
    w("stall-window-boundary", s)

    s = Seq("--copy-storage-all of a 64 MiB disk at 8 MiB/s (8 s, as in the lab), then the\n"
            "dirtying 128 MiB guest that never converges.")
    for t in times(1.0, 8.0, 1.0):
        s.add(t, disk_total=64, disk_rem=64 - 8 * t, disk_proc=8 * t, disk_bps=8)
    tail = Seq("")
    dirty_guest(tail, 9.0, 20.0, step=1.0)
    for line in tail.lines[2:]:
        v = line.split()
        v[1] = str(int(v[1]) + mib(64)); v[2] = str(int(v[2]) + mib(64))
        v[11] = str(mib(64)); v[12] = str(mib(64))
        s.lines.append(" ".join(v))
    w("timeout-scaled", s)

    s = Seq("Dirtying guest, as synthetic-stall-dirty-guest, 0.5..12 s (--timeout 8).")
    dirty_guest(s, 0.5, 12.0)
    w("dirty-guest-12s", s)

    s = Seq("Dirtying guest started with VIR_MIGRATE_POSTCOPY; the monitor switches to post-copy\n"
            "at 8.0 s, the job reports post-copy from 8.5 s and drains.")
    dirty_guest(s, 0.5, 12.0, postcopy_from=8.5)
    w("postcopy-switch", s)

    s = Seq("--copy-storage-all of a 96 MiB disk at 8 MiB/s (12 s), then the dirtying guest.\n"
            "The 8 s timeout falls in the disk phase.")
    for t in times(0.5, 12.0):
        proc = min(8 * t, 96)
        s.add(t, disk_total=96, disk_rem=96 - proc, disk_proc=proc, disk_bps=8)
    tail = Seq("")
    dirty_guest(tail, 12.5, 16.0, postcopy_from=13.0)
    for line in tail.lines[2:]:
        v = line.split()
        v[1] = str(int(v[1]) + mib(96)); v[2] = str(int(v[2]) + mib(96))
        v[11] = str(mib(96)); v[12] = str(mib(96))
        s.lines.append(" ".join(v))
    w("postcopy-deferred", s)

    s = Seq("Dirtying guest, 128 MiB, for 105 s sampled every second: the whole downtime\n"
            "schedule (default settings), then the scaled timeout (100 s) suspends it.")
    dirty_guest(s, 1.0, 105.0, step=1.0, paused_from=101.0)
    w("downtime-steps", s)

    s = Seq("Suspended at the 8 s timeout; someone resumes the guest at 12 s and it stalls again\n"
            "far beyond a second window: the policy must stay quiet.")
    t_vals = times(0.5, 30.0)
    dirty_guest(s, 0.5, 30.0, paused_from=8.5)
    for i, line in enumerate(s.lines):
        v = line.split()
        if len(v) == len(FIELDS) and v[0][0].isdigit() and float(v[0]) >= 12.0:
            v[17] = "0"
            v[3] = str(mib(40)); v[6] = str(mib(40))
            s.lines[i] = " ".join(v)
    w("final-once", s)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "data"))
