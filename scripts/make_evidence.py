"""Measures the workbench tasks over several seeds and writes the evidence that
``jaxloss recommend`` ranks by (``jaxloss/workbench/evidence.json``).

    python scripts/make_evidence.py                       # every supervised task, seeds 0,1,2
    python scripts/make_evidence.py segmentation --seeds 0,1,2,3,4
    python scripts/make_evidence.py --from-results jaxloss-results/latest/results.json


Each task's default losses are trained with ``jaxloss.workbench.compare`` at the
task's default steps; the file records the mean and standard deviation of every
metric per loss, the seeds, steps, versions and machine, so a recommendation
can quote them. ``--from-results`` takes the entry of one task from the ``results.json`` of
a finished ``jaxloss compare TASK --seeds ...`` run (at the task's default steps) instead
of training again; the other tasks' entries are kept. Results are one machine's: float rounding differs between CPUs,
which is why several seeds are recorded and recommend prints the spread.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

SUPERVISED = ("segmentation", "imbalanced-classification", "classification",
              "tabular-regression", "detection", "dense-detection", "embedding", "forecasting")


def main(argv=None) -> int:
  from jaxloss import workbench as wb
  from jaxloss.workbench.recommend import EVIDENCE_PATH, load_evidence
  from jaxloss.workbench.runner import _versions

  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("tasks", nargs="*", default=list(SUPERVISED))
  p.add_argument("--seeds", default="0,1,2")
  p.add_argument("--out", default=EVIDENCE_PATH)
  p.add_argument("--from-results", help="a compare run's results.json to take one task's "
                 "entry from (no training)")
  args = p.parse_args(argv)
  seeds = [int(s) for s in args.seeds.split(",")]
  evidence = load_evidence(args.out)

  def entry(task, seeds, res, versions):
    return {
        "seeds": list(seeds), "steps": task.steps, "primary": task.primary,
        "higher_is_better": task.higher_is_better, "versions": versions,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "losses": {r["loss"]: {"mean": r["metrics"][task.primary],
                               "std": r["metrics_std"][task.primary],
                               "metrics": r["metrics"], "metrics_std": r["metrics_std"]}
                   for r in res},
    }

  def write():
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
      json.dump(evidence, f, indent=1, sort_keys=True, default=float)
      f.write("\n")
    os.replace(tmp, args.out)

  if args.from_results:
    with open(args.from_results) as f:
      doc = json.load(f)
    task = wb.get_task(doc["task"])
    if not doc.get("complete") or doc["steps"] != task.steps:
      p.error(f"{args.from_results}: need a complete run at the task's default {task.steps} "
              f"steps (got complete={doc.get('complete')}, steps={doc['steps']})")
    evidence[task.name] = entry(task, doc["seeds"], doc["runs"], doc["versions"])
    print(wb.format_table(task, doc["runs"]), flush=True)
    write()
    return 0
  for name in args.tasks:
    task = wb.get_task(name)
    t0 = time.perf_counter()
    res = wb.compare(name, seeds=seeds, progress=False)
    evidence[name] = entry(task, seeds, res, _versions())
    print(wb.format_table(task, res), flush=True)
    print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
    write()
  return 0


if __name__ == "__main__":
  sys.exit(main())
