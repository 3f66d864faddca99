#!/usr/bin/env python3
"""tests/bench/summarize.py OUTDIR -- the figures of README's "Benchmark" from the JSON files
tests/bench/bench-lab.sh full OUTDIR wrote, as Markdown tables."""
import json
import os
import statistics
import sys

out = sys.argv[1]


def load(part):
    path = os.path.join(out, part, "bench.json")
    return json.load(open(path)) if os.path.exists(path) else None


def mm(stat, fmt="%.2f"):
    if not stat or not stat["n"]:
        return "-"
    if stat["n"] == 1 or stat["min"] == stat["max"]:
        return fmt % stat["median"]
    return (fmt + " (" + fmt + "–" + fmt + ")") % (stat["median"], stat["min"], stat["max"])


def cell(doc, tool, mode, guest=None):
    for c in doc["cells"]:
        if c["tool"] == tool and c["mode"] == mode and (guest is None or c["guest"] == guest):
            return c
    return None


def runs(doc, **kw):
    return [r for r in doc["runs"] if r["ok"] and all(r[k] == v for k, v in kw.items())]


def med(values):
    return statistics.median(values) if values else float("nan")


block = load("block")
if block:
    print("Block migration, links at %.0f Mbit/s, median (min–max) of %d interleaved runs:\n"
          % (block["link_mbit"], max(c["wall_s"]["n"] for c in block["cells"])))
    print("| mode | disk data | ferry total s | virsh total s | ferry / virsh total | ferry / virsh job "
          "| downtime ms ferry / virsh | link use ferry / virsh |")
    print("|---|---|---|---|---|---|---|---|")
    for c in block["cells"]:
        if c["tool"] != "ferry":
            continue
        v = cell(block, "virsh", c["mode"], c["guest"])
        print("| %s | %d MiB | %s | %s | %s | %s | %s / %s | %s / %s |" % (
            c["mode"], c["disk_data_mib"], mm(c["wall_s"]), mm(v["wall_s"]),
            mm(c.get("ratio_wall_ferry_virsh")), mm(c.get("ratio_job_ferry_virsh")),
            mm(c["downtime_ms"], "%.0f"), mm(v["downtime_ms"], "%.0f"),
            mm(c["link_use"]), mm(v["link_use"])))
    print("\nMarginal bytes (the larger disk minus the smaller, medians):\n")
    print("| tool | mode | Δbytes | Δtime s | marginal link use | fixed cost per migration s |")
    print("|---|---|---|---|---|---|")
    for m in block["marginal"]:
        print("| %s | %s | %.1f MiB | %.2f | %.2f | %.2f |" % (
            m["tool"], m["mode"], m["delta_bytes"] / 2**20, m["delta_wall_s"],
            m["marginal_link_use"], m["fixed_s"]))

ovh = load("overhead")
if ovh:
    print("\nFerry's own overhead (wall time outside libvirt's migrate call), unshaped, tiny guests:\n")
    print("| mode | ferry own s | precheck | prepare | verify | cleanup | ferry total / virsh total s "
          "| CPU s ferry / virsh | peak RSS MiB ferry / virsh |")
    print("|---|---|---|---|---|---|---|---|---|")
    for c in ovh["cells"]:
        if c["tool"] != "ferry":
            continue
        v = cell(ovh, "virsh", c["mode"], c["guest"])
        rs = runs(ovh, tool="ferry", mode=c["mode"], guest=c["guest"])
        ph = {k: med([r["phases_s"][k] for r in rs]) for k in ("precheck", "prepare", "verify",
                                                              "cleanup")}
        print("| %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f / %.2f | %.2f / %.2f | %.0f / %.0f |" % (
            c["mode"], mm(c["own_s"]), ph["precheck"], ph["prepare"], ph["verify"],
            ph["cleanup"], c["wall_s"]["median"], v["wall_s"]["median"],
            c["cpu_s"]["median"], v["cpu_s"]["median"],
            c["peak_rss_kib"]["median"] / 1024, v["peak_rss_kib"]["median"] / 1024))

pause = load("pause")
if pause:
    bound = 64 * 2**20 * 8 / (pause["link_mbit"] * 1e6)
    print("\nPaused time, a guest dirtying 64 MiB faster than the %.0f Mbit/s link, suspend at a 3 s "
          "timeout (bound: 64 MiB ÷ %.0f Mbit/s = %.2f s; goal ≤ 1.2 × = %.2f s):\n"
          % (pause["link_mbit"], pause["link_mbit"], bound, 1.2 * bound))
    print("| tool | paused s | ÷ bound | job s | total s |")
    print("|---|---|---|---|---|")
    for c in pause["cells"]:
        print("| %s | %s | %.2f | %s | %s |" % (
            c["tool"] if c["tool"] == "ferry" else "virsh --timeout 3 --timeout-suspend",
            mm(c["paused_s"]), c["paused_s"]["median"] / bound, mm(c["job_s"]), mm(c["wall_s"])))

plain, tls = load("plain96"), load("tls96")
if plain and tls:
    print("\nWhat TLS costs: block, 96 MiB written, unshaped, medians:\n")
    print("| tool | total s plain → TLS | job s plain → TLS | throughput MiB/s plain → TLS |")
    print("|---|---|---|---|")
    for tool in ("ferry", "virsh"):
        p, t = cell(plain, tool, "block"), cell(tls, tool, "block")
        tp = med([(r["mem_bytes"] + r["disk_bytes"]) / r["job_s"] / 2**20 for r in runs(plain, tool=tool)])
        tt = med([(r["mem_bytes"] + r["disk_bytes"]) / r["job_s"] / 2**20 for r in runs(tls, tool=tool)])
        print("| %s | %.2f → %.2f (%+.0f%%) | %.2f → %.2f (%+.0f%%) | %.1f → %.1f |" % (
            tool, p["wall_s"]["median"], t["wall_s"]["median"],
            100 * (t["wall_s"]["median"] / p["wall_s"]["median"] - 1),
            p["job_s"]["median"], t["job_s"]["median"],
            100 * (t["job_s"]["median"] / p["job_s"]["median"] - 1), tp, tt))
