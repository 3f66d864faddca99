#!/usr/bin/env python3
"""Turns the --json output of one lab run of `ferry migrate` into a policy test case.

    lab-json-to-samples.py --name NAME --outdir DIR --describe TEXT --mem-bytes N
                           [--disk-bytes N] [--exit-status RC] [--expect-final ACTION]
                           [--expect-reason TEXT] -- FERRY-MIGRATE-ARGS... < ferry.json

Writes, under DIR:
  NAME.samples   every "sample" event, in the format test-policy.c reads (ferry-job-sample.h);
                 elapsed_s to the millisecond, as ferry's JSON has it (libvirt's raw figures
                 are its sample events' "job" objects)
  NAME.settings  the policy settings ferry ran with, derived from FERRY-MIGRATE-ARGS the way
                 engine/cli/ferry-cmd-migrate.c derives them, and the guest's size
  NAME.expected  every decision ferry took live (its "policy" events other than "none"), so the
                 replay must decide what ferry decided, at the same samples

Fails, writing nothing, when the run did not end the way --expect-final says (the last final
action ferry took: suspend, postcopy, abort, or none) for a reason containing --expect-reason,
or when it has no samples.
Used by record-lab-samples.sh; python3 only, no modules beyond the standard library.
"""
import argparse
import datetime
import json
import os
import sys
import textwrap

# struct order of FerryJobSample (engine/ferry-job-sample.h)
# sample-file field -> its key in a sample event's "job" object (the others are the same)
JOB_KEYS = {k: k + "_bytes" for k in ("data_total", "data_processed", "data_remaining", "mem_total",
                                      "mem_processed", "mem_remaining", "disk_total",
                                      "disk_processed", "disk_remaining")}
JOB_KEYS.update(mem_dirty_rate="mem_dirty_page_rate", mem_page_size="mem_page_bytes")
FIELDS = ("elapsed_s data_total data_processed data_remaining mem_total mem_processed "
          "mem_remaining mem_bps mem_dirty_rate mem_page_size mem_iteration disk_total "
          "disk_processed disk_remaining disk_bps expected_downtime_ms postcopy paused").split()
FINAL_ACTIONS = ("suspend", "postcopy", "abort")


def comment(lines):
    """'# ' lines of at most 100 columns."""
    out = []
    for line in lines:
        out += ["# " + w for w in textwrap.wrap(line, 98, subsequent_indent="  ",
                                                 break_long_words=False, break_on_hyphens=False)]
    return out


def format_elapsed(t):
    """test-policy.c's format_elapsed(): %.3f without trailing zeros beyond one decimal."""
    s = "%.3f" % t
    while s.endswith("0") and s[-2] != ".":
        s = s[:-1]
    return s


def settings_from_args(args):
    """The [policy] keys of ferry_policy_settings_load_key_file() that the command line sets;
    everything else keeps the defaults, as in ferry-cmd-migrate.c's settings_from_args()."""
    options = {"--on-timeout": "action", "--timeout": "completion-timeout",
               "--stall-window": "stall-window", "--max-downtime": "max-downtime",
               "--diverge-passes": "diverge-passes"}
    policy = []
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=")
        if name in options:
            if not eq:
                i += 1
                value = args[i]
            policy.append((options[name], value))
        elif arg == "--postcopy":
            policy.append(("postcopy-allowed", "true"))
        elif arg == "--auto-converge":
            policy.append(("auto-converge", "true"))
        i += 1
    return policy


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--describe", required=True)
    ap.add_argument("--mem-bytes", type=int, required=True)
    ap.add_argument("--disk-bytes", type=int, default=0)
    ap.add_argument("--exit-status", type=int)
    ap.add_argument("--expect-final", choices=FINAL_ACTIONS + ("none",))
    ap.add_argument("--expect-reason")
    ap.add_argument("ferry_args", nargs=argparse.REMAINDER)
    opts = ap.parse_args()
    ferry_args = opts.ferry_args[1:] if opts.ferry_args[:1] == ["--"] else opts.ferry_args

    samples, decisions, notes, result = [], [], [], None
    for n, line in enumerate(sys.stdin, 1):
        line = line.strip()
        if not line:
            continue
        try:
            ev = json.loads(line)
        except ValueError as e:
            sys.exit("%s: line %d of ferry's output is not JSON (%s): %s" % (opts.name, n, e, line))
        kind = ev.get("event")
        if kind == "sample" and "job" in ev:
            # libvirt's raw statistics are under "job" (docs/json-schema.json), named with units
            samples.append(dict({k: ev["job"][JOB_KEYS.get(k, k)] for k in FIELDS[1:]},
                                elapsed_s=ev["elapsed_s"]))
        elif kind == "policy":
            if ev["action"] == "none":
                notes.append(ev)
            else:
                decisions.append(ev)
        elif kind == "result":
            result = ev

    if not samples:
        sys.exit("%s: ferry printed no samples" % opts.name)
    times = {s["elapsed_s"] for s in samples}
    for d in decisions:
        if d["at_s"] not in times:
            sys.exit("%s: decision at %r s is at no sample" % (opts.name, d["at_s"]))
    finals = [d for d in decisions if d["action"] in FINAL_ACTIONS and not d.get("error")]
    final = finals[-1]["action"] if finals else "none"
    if opts.expect_final and final != opts.expect_final:
        sys.exit("%s: expected the run to end with '%s', ferry took '%s'" %
                 (opts.name, opts.expect_final, final))
    if opts.expect_reason and (not finals or opts.expect_reason not in finals[-1]["reason"]):
        sys.exit("%s: expected a final action for '%s', ferry took: %s" %
                 (opts.name, opts.expect_reason, finals[-1]["reason"] if finals else "none"))
    failed = [d["action"] for d in decisions if d.get("error")]
    if [a for a in failed if a != "set-downtime" and a != "postcopy"]:
        sys.exit("%s: ferry could not apply %s; test-policy cannot replay that" %
                 (opts.name, ", ".join(failed)))

    command = "ferry migrate " + " ".join(ferry_args)
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    if result is None:
        outcome = "no result line (exit status %s)" % opts.exit_status
    elif result.get("ok"):
        outcome = ("done in %.1f s, downtime %d ms, %d iterations" %
                   (result["total_s"], result["downtime_ms"], result["iterations"]))
        if result.get("final_action", "none") != "none":
            outcome += ", %s at %.1f s" % (result["final_action"], result["final_action_s"])
        if result.get("suspended_s"):
            outcome += ", suspended %.1f s" % result["suspended_s"]
    else:
        outcome = "failed (exit status %s): %s" % (opts.exit_status, result.get("error"))

    head = ["Recorded in the lab by tests/policy/record-lab-samples.sh on %s:" % today]
    head += opts.describe.splitlines()
    head += ["$ " + command, "Outcome: " + outcome]
    for note in notes:
        head.append("Note at %.1f s: %s" % (note["at_s"], note["reason"]))
    head.append("%s.settings: what ferry ran with; %s.expected: what it decided live." %
                (opts.name, opts.name))

    out = comment(head)
    out.append(" ".join(FIELDS))
    for s in samples:
        values = ["%.6f" % s["elapsed_s"]]
        for f in FIELDS[1:]:
            v = s[f]
            values.append(str(int(v)) if not isinstance(v, bool) else ("1" if v else "0"))
        out.append(" ".join(values))

    settings = comment(["The settings ferry ran with when %s.samples was recorded, derived by "
                        "record-lab-samples.sh from its command line (all else: ferry's "
                        "defaults):" % opts.name, "$ " + command])
    settings.append("[policy]")
    settings += ["%s = %s" % kv for kv in settings_from_args(ferry_args)]
    settings += ["", "[guest]", "mem-bytes = %d" % opts.mem_bytes]
    if opts.disk_bytes:
        settings.append("disk-bytes = %d" % opts.disk_bytes)
    if "postcopy" in failed:
        settings += ["", "[replay]", "# ferry's post-copy switch failed live", "fail = postcopy"]

    expected = ["# What ferry decided live, from its --json policy events (record-lab-samples.sh)."]
    for d in decisions:
        line = format_elapsed(d["at_s"]) + " " + d["action"]
        if d["action"] == "set-downtime":
            line += " %d" % d["downtime_ms"]
        reason = d.get("reason") or ""
        if d.get("error"):
            reason += " (failed live: %s)" % d["error"]
        expected.append("%-24s # %s" % (line, reason))

    for suffix, lines in ((".samples", out), (".settings", settings), (".expected", expected)):
        with open(os.path.join(opts.outdir, opts.name + suffix), "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
