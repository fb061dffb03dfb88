#!/usr/bin/python3
"""summarize.py RUN_DIR

Reads what run.sh left in RUN_DIR (machine.txt, runs.tsv, runs/<system>-r<N>/phases.txt) and
writes, next to them:
  summary.md    the tables printed on stdout: per phase and system the median rate with
                min-max over the repetitions, the time ratios, and the median seconds
  summary.csv   the same per-phase numbers, one row per phase
  runs.csv      every phase of every run (raw)
  summary.json  machine description, workload, every run and the per-phase statistics
  chart.png     median rate per phase and system (log scale, min-max whiskers)

Ratios compare the time each system needs for the same work: "shoal/gluster" = shoal's time
divided by GlusterFS's time = GlusterFS's median rate / shoal's median rate. Below 1 means shoal
is faster; "shoal/local" = 15 means shoal takes 15 times as long as the local directory. (For
the time-based fio phases the rates are compared, so the meaning is the same.)
A phase counts only when its status is ok and its file/byte check (if any) matched.
"""
import csv
import json
import os
import statistics
import sys

PHASES = [
    "copy_in", "copy_in_sync", "stat_all_cold", "stat_all_warm", "read_all_cold", "read_all_warm",
    "php_like", "ls_lR_cold", "ls_lR_warm", "smallfile_create", "smallfile_stat",
    "smallfile_delete", "fio_seqwrite", "fio_seqread", "fio_randread", "fio_randwrite",
    "backup_rsync", "rm_rf",
]
SYSTEM_ORDER = ["shoal", "gluster", "local"]
RATIOS = [("shoal", "gluster"), ("shoal", "local"), ("gluster", "local")]
COLORS = {"shoal": "#1b9e77", "gluster": "#d95f02", "local": "#7570b3"}


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def fmt(v):
    if v is None:
        return "n/a"
    a = abs(v)
    nd = 0 if a >= 1000 else 1 if a >= 10 else 2 if a >= 1 else 3
    return "%.*f" % (nd, v)


def fmt_ratio(v):
    if v is None:
        return "–"
    return ("%.0f×" if v >= 100 else "%.1f×" if v >= 10 else "%.2f×") % v


def read_machine(path):
    machine, skipped = {}, []
    if os.path.exists(path):
        for line in open(path):
            k, _, v = line.rstrip("\n").partition("=")
            if k == "skipped":
                skipped.append(v)
            elif k:
                machine[k] = v
    machine["skipped"] = skipped
    return machine


def read_runs(run_dir):
    runs = []
    tsv = os.path.join(run_dir, "runs.tsv")
    if not os.path.exists(tsv):
        return runs
    with open(tsv) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            phases = {}
            ph = os.path.join(row["dir"], "phases.txt")
            if os.path.exists(ph):
                for line in open(ph):
                    kv = dict(x.split("=", 1) for x in line.split() if "=" in x)
                    if "phase" in kv:
                        kv["valid"] = kv.get("status") == "ok" and not kv.get("check", "ok").startswith("MISMATCH") \
                            and num(kv.get("rate")) is not None and num(kv.get("rate")) > 0
                        phases[kv.pop("phase")] = kv
            runs.append({
                "system": row["system"], "rep": int(row["rep"]), "label": row["label"],
                "setup_seconds": num(row["setup_seconds"]), "result": row["result"], "phases": phases,
            })
    return runs


def stats(values):
    if not values:
        return None, None, None
    return statistics.median(values), min(values), max(values)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    run_dir = sys.argv[1]
    machine = read_machine(os.path.join(run_dir, "machine.txt"))
    runs = read_runs(run_dir)
    systems = [s for s in SYSTEM_ORDER if any(r["system"] == s for r in runs)]
    if not systems:
        sys.exit("summarize.py: no runs in %s" % run_dir)

    table = []   # one dict per phase
    for ph in PHASES:
        unit = next((r["phases"][ph].get("unit") for r in runs if ph in r["phases"]), "")
        per = {}
        for s in systems:
            mine = [r for r in runs if r["system"] == s]
            ok = [r["phases"][ph] for r in mine if ph in r["phases"] and r["phases"][ph]["valid"]]
            rm, rmin, rmax = stats([num(p["rate"]) for p in ok])
            sm, smin, smax = stats([num(p["seconds"]) for p in ok])
            per[s] = {"n": len(ok), "runs": len(mine), "rate_median": rm, "rate_min": rmin,
                      "rate_max": rmax, "seconds_median": sm, "seconds_min": smin, "seconds_max": smax}
        ratios = {}
        for a, b in RATIOS:
            if a in per and b in per and per[a]["rate_median"] and per[b]["rate_median"]:
                ratios["%s/%s" % (a, b)] = per[b]["rate_median"] / per[a]["rate_median"]
        table.append({"phase": ph, "unit": unit, "systems": per, "ratios": ratios})
    ratio_names = ["%s/%s" % (a, b) for a, b in RATIOS if a in systems and b in systems]

    # ---- markdown tables
    def cell(st, key):
        m = st[key + "_median"]
        if m is None:
            return "n/a (0/%d)" % st["runs"]
        c = fmt(m)
        if st["n"] > 1:
            c += " (%s–%s)" % (fmt(st[key + "_min"]), fmt(st[key + "_max"]))
        if st["n"] < st["runs"]:
            c += " n=%d/%d" % (st["n"], st["runs"])
        return c

    reps = max([r["rep"] for r in runs] or [0])
    out = []
    out.append("## shoal bench %s mode, %s (%d repetition%s)\n" % (
        machine.get("mode", "?"), machine.get("date_utc", "?"), reps, "" if reps == 1 else "s"))
    out.append("Machine: %s, %s CPUs (%s), %s MiB RAM, kernel %s; storage %s." % (
        machine.get("os", "?"), machine.get("cpus", "?"), machine.get("cpu_model", "?"),
        machine.get("memory_mib", "?"), machine.get("kernel", "?"), machine.get("storage", "?")))
    out.append("Versions: glusterfs %s, fuse3 %s, fio %s, rsync %s, shoal %s (volume: %s). Workload: %s." % (
        machine.get("version_glusterfs", "?"), machine.get("version_fuse3", "?"),
        machine.get("version_fio", "?"), machine.get("version_rsync", "?"),
        machine.get("version_shoal", "?"),
        {"1": "one brick", "?": "?"}.get(machine.get("shoal_replica", "?"),
                                         "replica " + machine.get("shoal_replica", "?")),
        machine.get("workload", "?")))
    for s in machine["skipped"]:
        out.append("Skipped: %s." % s)
    out.append("")
    out.append("Median rate (higher is better), min–max over the repetitions in brackets. "
               "Ratios = time of the first system ÷ time of the second for the same work "
               "(< 1: the first is faster).\n")
    out.append("| phase | unit | " + " | ".join(systems) + "".join(" | " + r for r in ratio_names) + " |")
    out.append("|---|---|" + "---:|" * (len(systems) + len(ratio_names)))
    for row in table:
        cells = [cell(row["systems"][s], "rate") for s in systems]
        cells += [fmt_ratio(row["ratios"].get(r)) for r in ratio_names]
        out.append("| %s | %s | %s |" % (row["phase"], row["unit"], " | ".join(cells)))
    out.append("\nMedian seconds (min–max):\n")
    out.append("| phase | " + " | ".join(systems) + " |")
    out.append("|---|" + "---:|" * len(systems))
    for row in table:
        out.append("| %s | %s |" % (row["phase"], " | ".join(cell(row["systems"][s], "seconds") for s in systems)))
    bad = ["%s %s: %s" % (r["label"], ph, p.get("status")) + ("" if p.get("check", "ok") == "ok" else " check=" + p["check"])
           for r in runs for ph, p in r["phases"].items() if not p["valid"]]
    bad += ["%s: %s" % (r["label"], r["result"]) for r in runs if r["result"] in ("setup_failed", "no_phases")]
    if bad:
        out.append("\nNot counted (failed, timed out or wrong file/byte count):\n")
        out += ["* " + b for b in bad]
    text = "\n".join(out) + "\n"
    print(text)
    with open(os.path.join(run_dir, "summary.md"), "w") as f:
        f.write(text)

    # ---- CSV
    with open(os.path.join(run_dir, "summary.csv"), "w", newline="") as f:
        w = csv.writer(f)
        keys = ["n", "rate_median", "rate_min", "rate_max", "seconds_median", "seconds_min", "seconds_max"]
        w.writerow(["phase", "unit"] + ["%s_%s" % (s, k) for s in systems for k in keys] + ratio_names)
        for row in table:
            w.writerow([row["phase"], row["unit"]]
                       + ["" if row["systems"][s][k] is None else row["systems"][s][k] for s in systems for k in keys]
                       + ["" if row["ratios"].get(r) is None else "%.4f" % row["ratios"][r] for r in ratio_names])
    with open(os.path.join(run_dir, "runs.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["system", "rep", "label", "phase", "seconds", "rate", "unit", "status", "counted", "extra"])
        for r in runs:
            for ph in PHASES:
                p = r["phases"].get(ph)
                if p is None:
                    continue
                extra = " ".join("%s=%s" % (k, v) for k, v in p.items()
                                 if k not in ("seconds", "rate", "unit", "status", "valid"))
                w.writerow([r["system"], r["rep"], r["label"], ph, p.get("seconds"), p.get("rate"),
                            p.get("unit"), p.get("status"), int(p["valid"]), extra])

    # ---- JSON
    doc = {
        "machine": machine,
        "systems": systems,
        "ratio_definition": "A/B = time of A / time of B for the same work = median rate of B / median rate of A; < 1 means A is faster",
        "phases": table,
        "runs": runs,
    }
    with open(os.path.join(run_dir, "summary.json"), "w") as f:
        json.dump(doc, f, indent=1)

    # ---- chart
    chart = os.path.join(run_dir, "chart.png")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        print("summarize.py: no chart (%s); install python3-matplotlib" % e, file=sys.stderr)
        chart = None
    if chart:
        fig, ax = plt.subplots(figsize=(10, max(6, 2.5 + 0.17 * len(PHASES) * len(systems))))
        h = 0.8 / len(systems)
        for i, s in enumerate(systems):
            ys, xs, lo, hi = [], [], [], []
            for j, row in enumerate(table):
                st = row["systems"][s]
                if st["rate_median"] is None:
                    continue
                ys.append(j - 0.4 + h * (i + 0.5))
                xs.append(st["rate_median"])
                lo.append(st["rate_median"] - st["rate_min"])
                hi.append(st["rate_max"] - st["rate_median"])
            ax.barh(ys, xs, height=h, color=COLORS.get(s), label=s,
                    xerr=[lo, hi] if reps > 1 else None, error_kw={"elinewidth": 0.8, "capsize": 2})
        ax.set_yticks(range(len(table)))
        ax.set_yticklabels(["%s [%s]" % (row["phase"], row["unit"]) for row in table])
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("median rate (log scale; higher is better; unit per phase in brackets)")
        ax.grid(axis="x", which="major", linestyle=":", linewidth=0.6)
        ax.set_title("shoal bench (%s mode, %d rep%s, %s)\n%s CPUs, %s MiB RAM, kernel %s" % (
            machine.get("mode", "?"), reps, "" if reps == 1 else "s", machine.get("date_utc", "?"),
            machine.get("cpus", "?"), machine.get("memory_mib", "?"), machine.get("kernel", "?")), fontsize=10)
        ax.legend(loc="lower right")
        fig.tight_layout()
        fig.savefig(chart, dpi=110)
        plt.close(fig)

    print("results in %s: summary.md summary.csv runs.csv summary.json%s machine.txt logs/ runs/" % (
        run_dir, " chart.png" if chart else ""))


if __name__ == "__main__":
    main()
