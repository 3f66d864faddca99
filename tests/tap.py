#!/usr/bin/env python3
"""tests/tap.py -- ferry's test-result accounting: count tests, not lines.

    tap.py verdict NAME RC STDOUT        parse one suite's TAP (stdout only), print one JSON
                                         record: its passes, failures, skips and problems
    tap.py not-run NAME REASON           a JSON record for a suite that was not run on purpose
    tap.py summary MANIFEST RESULTS      hold the records (one per line) against the manifest;
                                         print one line per suite, every skip with its reason,
                                         and last "N passed, N failed, N skipped"; exit 1 if
                                         anything failed
    tap.py manifest RESULTS [OLD]        print a manifest from a run's records (to review and
                                         commit when tests are deliberately added or removed);
                                         suites the run did not run keep OLD's count

A suite fails when any of these holds: a `not ok`; no plan, two plans, or a plan that differs
from the number of test lines; test numbers not 1..N in order (a line printed twice); `Bail
out!`; a non-zero exit status (a crash, a timeout); a `# TODO` directive (ferry has no
expected failures).  The manifest lists every suite and how many tests it has: a suite that
did not run, or runs a different number of tests, fails the run; so does a suite the manifest
does not know.  Tests a suite did not get to (a short plan, a crash half-way) count as failed.
"""

import json
import re
import sys

TEST_RE = re.compile(r"^(not ok|ok)\b(?:\s+(\d+))?\s*(?:-\s*)?(.*)$")
PLAN_RE = re.compile(r"^1\.\.(\d+)\s*(?:#\s*(.*))?$")
DIRECTIVE_RE = re.compile(r"(?<!\\)#\s*(SKIP|TODO)\b\S*\s*(.*)$", re.IGNORECASE)


def rc_text(rc):
    if rc == 124:
        return " (timed out)"
    if rc > 128:
        return " (killed by signal %d)" % (rc - 128)
    return ""


def verdict(name, rc, path):
    rec = {"suite": name, "rc": rc, "passed": 0, "failed": 0, "skipped": 0,
           "plan": None, "seen": 0, "problems": [], "skips": [], "failures": []}
    problems = rec["problems"]
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError as e:
        problems.append("no output: %s" % e)
        text = ""
    expect_next = 1
    for line in text.splitlines():
        m = PLAN_RE.match(line)
        if m:
            if rec["plan"] is not None:
                problems.append("a second plan '%s'" % line)
            else:
                rec["plan"] = int(m.group(1))
                if rec["plan"] == 0 and m.group(2):
                    problems.append("skipped whole: %s" % m.group(2))
            continue
        if line.startswith("Bail out!"):
            problems.append(line)
            continue
        m = TEST_RE.match(line)
        if not m:
            continue
        rec["seen"] += 1
        number = int(m.group(2)) if m.group(2) else None
        if number != expect_next:
            problems.append("test number %s where %d was due (a line printed twice, or out of order)"
                            % (number if number is not None else "missing", expect_next))
        expect_next = (number or expect_next) + 1
        desc = m.group(3)
        d = DIRECTIVE_RE.search(desc)
        if d and d.group(1).upper() == "TODO":
            rec["failed"] += 1
            rec["failures"].append("test %s is marked TODO: %s" % (number, desc))
        elif m.group(1) == "not ok":
            rec["failed"] += 1
            rec["failures"].append("not ok %s %s" % (number, desc))
        elif d:
            rec["skipped"] += 1
            rec["skips"].append("test %s: %s" % (number, d.group(2).strip() or desc))
        else:
            rec["passed"] += 1
    if rec["plan"] is None:
        problems.append("no plan (1..N): the suite ended early")
    elif rec["plan"] != rec["seen"]:
        problems.append("plan 1..%d but %d test lines" % (rec["plan"], rec["seen"]))
    if rc != 0:
        problems.append("exit status %d%s" % (rc, rc_text(rc)))
    return rec


def read_manifest(path):
    manifest = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 2 or not parts[1].isdigit():
                raise SystemExit("%s:%d: expected 'SUITE COUNT', got '%s'" % (path, n, line))
            if parts[0] in manifest:
                raise SystemExit("%s:%d: suite '%s' listed twice" % (path, n, parts[0]))
            manifest[parts[0]] = int(parts[1])
    return manifest


def read_results(path):
    results = {}
    try:
        with open(path) as f:
            for line in f:
                if line.strip():
                    rec = json.loads(line)
                    if rec["suite"] in results:
                        rec = dict(rec)
                        rec["problems"] = rec["problems"] + ["ran twice"]
                    results[rec["suite"]] = rec
    except FileNotFoundError:
        pass
    return results


def summary(manifest_path, results_path, out=sys.stdout):
    manifest = read_manifest(manifest_path)
    results = read_results(results_path)
    passed = failed = skipped = 0
    skips = []
    width = max([len(s) for s in list(manifest) + list(results)] + [20])
    for suite in list(manifest) + [s for s in results if s not in manifest]:
        expected = manifest.get(suite)
        rec = results.get(suite)
        reasons = []
        p = f = s = 0
        if rec is None:
            f = expected
            reasons.append("did not run (vanished: missing file, unbuilt binary, or its runner failed)")
        elif rec.get("not_run"):
            s = expected or 0
            skips.append("%s: all %d tests not run: %s" % (suite, s, rec["reason"]))
        else:
            p, f, s = rec["passed"], rec["failed"], rec["skipped"]
            skips += ["%s %s" % (suite, x) for x in rec["skips"]]
            reasons += rec["failures"] + rec["problems"]
            if expected is None:
                reasons.append("not in the manifest (tests/manifest): add it deliberately")
            else:
                missing = expected - (p + f + s)
                if missing > 0:
                    reasons.append("%d of the manifest's %d tests missing" % (missing, expected))
                    f += missing
                elif missing < 0:
                    reasons.append("%d tests where the manifest has %d" % (p + f + s, expected))
            if reasons and f == 0:
                f = 1
        passed, failed, skipped = passed + p, failed + f, skipped + s
        if f:
            print("%-*s FAILED  %d passed, %d failed" % (width, suite, p, f), file=out)
            for r in reasons[:12]:
                print("    %s" % r, file=out)
        else:
            print("%-*s ok      %d passed%s%s" % (width, suite, p, ", %d skipped" % s if s else "",
                  "  (%.0f s)" % rec["seconds"] if rec and "seconds" in rec else ""), file=out)
    timed = sorted((r["seconds"], n) for n, r in results.items() if "seconds" in r)
    if timed:
        print("\ntime: %.0f s in suites; slowest: %s" % (
            sum(t for t, _ in timed),
            ", ".join("%s %.0f s" % (n, t) for t, n in reversed(timed[-5:]))), file=out)
    if skips:
        print("\nskipped:", file=out)
        for s in skips:
            print("  " + s, file=out)
    print("\n%d passed, %d failed, %d skipped" % (passed, failed, skipped), file=out)
    return 1 if failed else 0


def make_manifest(results_path, old_path=None):
    results = read_results(results_path)
    old = read_manifest(old_path) if old_path else {}
    print("# tests/manifest -- every suite tests/run.sh runs and how many tests it has.")
    print("# A suite missing from a run, or with another count, fails the run.  Change this file")
    print("# only deliberately, after a full run: `python3 tests/tap.py manifest\n# build-test/test-logs/results.jsonl tests/manifest >tests/manifest.new`, review, rename.")
    for suite, rec in results.items():
        if not rec.get("not_run"):
            print("%-40s %d" % (suite, rec["passed"] + rec["failed"] + rec["skipped"]))
        elif suite in old:
            print("%-40s %d" % (suite, old[suite]))


def main(argv):
    if len(argv) in (5, 6) and argv[1] == "verdict":
        rec = verdict(argv[2], int(argv[3]), argv[4])
        if len(argv) == 6:
            rec["seconds"] = round(float(argv[5]), 1)
        print(json.dumps(rec))
        return 0
    if len(argv) == 4 and argv[1] == "not-run":
        print(json.dumps({"suite": argv[2], "not_run": True, "reason": argv[3]}))
        return 0
    if len(argv) == 4 and argv[1] == "summary":
        return summary(argv[2], argv[3])
    if len(argv) in (3, 4) and argv[1] == "manifest":
        make_manifest(*argv[2:])
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
