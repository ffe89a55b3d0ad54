#!/usr/bin/env python3
"""Aggregates `ember prune` reports into the README's pruning tables.

    scripts/pruning_table.py RUNS_DIR

Reads RUNS_DIR/<model>-s<seed>/<variant>/report.json (as written by
scripts/pruning_outcome.sh) and prints, per model and variant, the mean and
standard deviation over seeds of the energy and weight reductions and of the
test accuracy change, with the widest 95% interval of the change (paired, per
run) and how many runs lost more than the budget on test. Standard library
only; not part of CI.
"""

import json
import math
import pathlib
import statistics
import sys
from collections import defaultdict


def mean_sd(v):
    m = statistics.fmean(v)
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return m, sd


def main():
    root = pathlib.Path(sys.argv[1])
    groups = defaultdict(list)
    for rep in sorted(root.glob("*-s*/*/report.json")):
        model_seed = rep.parent.parent.name
        model = model_seed.rsplit("-s", 1)[0]
        r = json.loads(rep.read_text())
        if r.get("classes"):
            model += " classes " + ",".join(map(str, r["classes"]))
        groups[(model, r["variant"])].append(r)
    order = ["eap", "magnitude"]
    keyf = lambda k: (k[0], order.index(k[1]) if k[1] in order else 2, k[1])
    print("| model | method | seeds | energy reduction | weight reduction | "
          "test accuracy change (points) | widest 95% interval | test drop > budget |")
    print("|---|---|---|---|---|---|---|---|")
    for (model, variant) in sorted(groups, key=keyf):
        rs = groups[(model, variant)]
        e = mean_sd([r["energy_reduction"] for r in rs])
        w = mean_sd([r["weight_reduction"] for r in rs])
        t = mean_sd([-100 * r["test_change"]["drop"] for r in rs])
        lo = min(-100 * r["test_change"]["drop_high95"] for r in rs)
        hi = max(-100 * r["test_change"]["drop_low95"] for r in rs)
        over = sum(r["test_change"]["drop"] > r["max_accuracy_drop"] + 1e-12 for r in rs)
        budget = rs[0]["max_accuracy_drop"]
        print(f"| {model} | {variant} | {len(rs)} | {e[0]:.2f}x ± {e[1]:.2f} | "
              f"{w[0]:.1f}x ± {w[1]:.1f} | {t[0]:+.2f} ± {t[1]:.2f} | {lo:+.2f} to {hi:+.2f} | "
              f"{over} of {len(rs)} (budget {100 * budget:g}) |")


if __name__ == "__main__":
    main()
