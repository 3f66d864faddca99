#!/usr/bin/python3
"""tests/json/validate.py -- every line of ferry's --json output against docs/json-schema.json.

    validate.py [--tap NAME] FILE|DIR...

Each line of each file (DIR: its *.jsonl files) must be one JSON object valid against the
schema, and its text must keep the conventions JSON Schema cannot see in parsed numbers: a key
ending in _s holds a number with exactly 3 decimals (or null), _percent one decimal (or null),
_ms, _bytes and _bps integers.  And a migrate output's
figures must hold together: no dirty rate or ETA while the guest is paused, the policy's
deadline (elapsed_s + policy_next_in_s) never moving later.  With --tap, two TAP tests (NAME prefixes the descriptions):
every line valid, and at least one line read; exit status 1 on any failure.
"""
import json
import os
import re
import sys

import jsonschema

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA = os.path.join(TOP, "docs", "json-schema.json")

# "key": value, for the value's text as printed
MEMBER = re.compile(r'"([a-z0-9_]+)":(-?[0-9][0-9.eE+-]*|null|true|false|"|\{|\[)')
RULES = [
    (re.compile(r"_s$"), re.compile(r"^-?[0-9]+\.[0-9]{3}$"), "a number with 3 decimals"),
    (re.compile(r"_percent$"), re.compile(r"^[0-9]+\.[0-9]$"), "a number with 1 decimal"),
    (re.compile(r"_(ms|bytes|bps)$"), re.compile(r"^[0-9]+$"), "an integer"),
]


def text_problems(line):
    for key, value in MEMBER.findall(line):
        if value == "null":
            continue
        for name, pattern, what in RULES:
            if name.search(key) and not pattern.match(value):
                yield "%s is %s, not %s" % (key, value, what)


def figure_problems(where, objs):
    """What a migrate output's figures must keep beyond the schema: the policy's deadline never
    moves later ("suspend in 59s" never becomes "99s"), no dirty rate or ETA while paused."""
    prev = None
    for lineno, o in objs:
        if o.get("event") != "sample":
            continue
        if o.get("paused") and (o.get("dirty_bps") is not None or o.get("eta_s") is not None):
            yield "%s:%d: a dirty rate or an ETA while the guest is paused" % (where, lineno)
        if "policy_next_in_s" in o:
            deadline = o["elapsed_s"] + o["policy_next_in_s"]
            if prev is not None and o["elapsed_s"] >= prev[0] and deadline > prev[1] + 0.5:
                yield "%s:%d: the policy's deadline moved later (%.1f s -> %.1f s)" % (
                    where, lineno, prev[1], deadline)
            prev = (o["elapsed_s"], deadline)


def check_file(validator, path):
    problems, n, objs = [], 0, []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            n += 1
            where = "%s:%d" % (path, lineno)
            try:
                obj = json.loads(line)
            except ValueError as e:
                problems.append("%s: not JSON: %s" % (where, e))
                continue
            objs.append((lineno, obj))
            for e in sorted(validator.iter_errors(obj), key=lambda e: e.path):
                # oneOf: say which alternative was meant (same event and command) and why not
                detail = e.message
                if e.validator == "oneOf" and e.context:
                    meant = [c for c in e.context if c.validator not in ("const", "enum")
                             or list(c.path)[:1] not in (["event"], ["command"], ["ok"])]
                    detail = "; ".join("%s: %s" % ("/".join(map(str, c.absolute_path)), c.message)
                                       for c in meant[:3]) or detail
                problems.append("%s: %s [%s]" % (where, detail[:300], line[:200]))
            for p in text_problems(line):
                problems.append("%s: %s" % (where, p))
    problems += figure_problems(path, objs)
    return n, problems


def main(argv):
    tap = None
    if argv[:1] == ["--tap"]:
        tap, argv = argv[1], argv[2:]
    with open(SCHEMA) as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    files = []
    for a in argv:
        if os.path.isdir(a):
            files += sorted(os.path.join(a, n) for n in os.listdir(a) if n.endswith(".jsonl"))
        elif os.path.exists(a) or tap is None:
            files.append(a)
        # (--tap: a directory no lab test wrote to is no file, and the last test says so)
    total, bad_files, all_problems = 0, [], []
    for path in files:
        n, problems = check_file(validator, path)
        total += n
        if problems:
            bad_files.append(os.path.basename(path))
            all_problems += problems
    if tap is None:
        for p in all_problems:
            print(p, file=sys.stderr)
        return 1 if all_problems or not total else 0
    # a fixed number of tests, however many files the lab tests left
    print("%s 1 - %severy line of %d files is one JSON object valid against docs/json-schema.json, "
          "in its conventions, its figures consistent%s" % ("not ok" if all_problems else "ok", tap, len(files),
                                    (": not in " + ", ".join(bad_files[:10])) if bad_files else ""))
    for p in all_problems[:40]:
        print("# " + p)
    print("%s 2 - %sat least one JSON line was checked (%d)" % ("ok" if total else "not ok", tap, total))
    print("1..2")
    return 1 if all_problems or not total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
