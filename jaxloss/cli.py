"""The ``jaxloss`` command.

    jaxloss list [--family F] [--task T]   the catalog, one loss a line
    jaxloss show NAME                      one loss: metadata and docstring
    jaxloss compare TASK [--losses a,b] [--steps N] [--seed S] [--out DIR]
                                           train a model per loss on real data, compare
    jaxloss recommend --task T [--imbalanced] [--outliers] [--noisy-labels]
                      [--multimodal] [--budget low|high]
                                           ranked losses for a situation, with reasons

``python -m jaxloss ...`` is the same command. ``compare`` and ``recommend``
import JAX/Flax and the workbench lazily, so ``list``/``show`` stay fast.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

from jaxloss import catalog


def _list(args) -> int:
  infos = catalog.all_losses()
  if args.family:
    infos = [i for i in infos if i.family == args.family]
  if args.task:
    wanted = {i.name for i in catalog.by_task(args.task)}
    infos = [i for i in infos if i.name in wanted]
  if not infos:
    print("no loss matches", file=sys.stderr)
    return 1
  # The module column is where the loss is defined: jaxloss.<family>.<kind>.
  rows = [(i.family, i.name, i.module.removeprefix("jaxloss."),
           f"{i.efficiency.level}/{i.complexity.level}/{i.stability.level}", i.peer or "-")
          for i in infos]
  head = ("family", "loss", "module", "eff/cplx/stab", "matches")
  widths = [max(len(r[k]) for r in [head, *rows]) for k in range(4)]
  for r in [head, *rows]:
    print("  ".join(f"{c:<{w}}" for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4])
  return 0


def _show(args) -> int:
  try:
    i = catalog.get(args.name)
  except KeyError as e:
    print(e.args[0], file=sys.stderr)
    return 1
  print(f"{i.name}  [{i.family}]  {i.module}")
  if i.aliases:
    print(f"aliases: {', '.join(i.aliases)}")
  print(f"tasks: {', '.join(i.tasks)}")
  print(f"input: {i.input_kind}")
  if i.components:
    print(f"parts (return_components=True): {', '.join(i.components)}")
  print(f"matches: {i.peer or '-'}")
  print(f"references: {'; '.join(i.references)}")
  for label, g in (("efficiency", i.efficiency), ("complexity", i.complexity),
                   ("stability", i.stability)):
    print(f"{label}: {g.level} — {g.note}")
  print()
  print(i.fn.__doc__ or "")
  return 0


def _fail(cmd, msg) -> int:
  print(f"jaxloss {cmd}: error: {msg}", file=sys.stderr)
  return 2


def _check_out(out) -> str | None:
  """Create ``out`` and prove it is writable; return an error message or None."""
  try:
    os.makedirs(out, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=out, prefix=".jaxloss-write-test-"):
      pass
  except OSError as e:
    return f"--out {out!r} is not writable ({e.strerror or e})"
  return None


def _workbench():
  """The workbench layer, or None with a message if its extra is not installed."""
  try:
    from jaxloss import workbench
  except ImportError as e:
    print(f"jaxloss: the workbench needs the [workbench] extra ({e}); install it with "
          "pip install 'jaxloss[workbench]'", file=sys.stderr)
    return None
  return workbench


def _compare(args) -> int:
  wb = _workbench()
  if wb is None:
    return 2

  if args.task not in wb.TASKS:
    return _fail("compare", f"unknown task {args.task!r}; valid tasks: {', '.join(wb.TASKS)}")
  task = wb.TASKS[args.task]
  if args.steps is not None:
    try:
      steps = int(args.steps)
    except ValueError:
      steps = 0
    if steps <= 0 or str(args.steps).strip() != str(steps):
      return _fail("compare", f"--steps must be a positive integer, got {args.steps!r}")
  else:
    steps = task.steps
  try:
    seed = int(args.seed)
  except ValueError:
    return _fail("compare", f"--seed must be an integer, got {args.seed!r}")
  if args.losses:
    losses = [x.strip() for x in args.losses.split(",") if x.strip()]
    known = {i.name for i in catalog.all_losses()} | {
        a for i in catalog.all_losses() for a in i.aliases}
    unknown = [x for x in losses if x not in known]
    if unknown:
      cands = wb.candidate_losses(task) or sorted(known)
      return _fail("compare", f"unknown loss {', '.join(map(repr, unknown))}; losses for "
                   f"{task.name}: {', '.join(cands)} (any catalog loss that fits the task's "
                   "outputs works; `jaxloss list` shows them all)")
  else:
    losses = wb.default_losses(task)
    if not losses:
      return _fail("compare", f"no loss for task {task.name!r} in this build's catalog yet "
                   f"(it uses: {', '.join(task.preferred)})")
  out = args.out or os.path.join("jaxloss-results", task.name)
  err = _check_out(out)
  if err:
    return _fail("compare", err)
  split = task.load(seed)
  if args.losses:
    try:
      for name in losses:
        wb.check_loss(task, name, split, seed)
    except wb.LossIncompatible as e:
      return _fail("compare", str(e))
  else:  # defaults: skip (and say so) any catalog loss whose signature does not fit
    kept = []
    for name in losses:
      try:
        wb.check_loss(task, name, split, seed)
        kept.append(name)
      except wb.LossIncompatible as e:
        print(f"skipping {name}: {e}", file=sys.stderr)
    losses = kept
    if not losses:
      return _fail("compare", f"no default loss fits task {task.name!r}")
  print(f"{task.name}: {task.description}")
  print(f"losses: {', '.join(losses)}; {steps} steps each; seed {seed}; results in {out}/")
  results = []

  def log(res):
    results.append(res)

  t0 = time.perf_counter()
  try:
    wb.compare(task.name, losses, steps=steps, seed=seed, out=out, progress=not args.quiet,
               split=split, check=False, on_result=log)
  except KeyboardInterrupt:
    print(file=sys.stderr)
    if results:
      print(wb.format_table(task, results))
    print(f"interrupted: kept {len(results)} finished run(s) in {out}/results.json",
          file=sys.stderr)
    return 130
  print()
  print(wb.format_table(task, results))
  print(f"wall time {time.perf_counter() - t0:.1f} s; results and plots in {out}/")
  return 0


def _recommend(args) -> int:
  wb = _workbench()
  if wb is None:
    return 2

  try:
    ranked = wb.recommend(args.task, imbalanced=args.imbalanced, outliers=args.outliers,
                          noisy_labels=args.noisy_labels, multimodal=args.multimodal,
                          budget=args.budget, top=args.top)
  except KeyError as e:
    return _fail("recommend", e.args[0])
  flags = [f for f in ("imbalanced", "outliers", "noisy_labels", "multimodal")
           if getattr(args, f)]
  print(f"task {args.task}; situation: {', '.join(flags) or 'none given'}; "
        f"budget {args.budget}")
  width = max(len(r["name"]) for r in ranked)
  for k, r in enumerate(ranked, 1):
    print(f"{k:>2}. {r['name']:<{width}}  score {r['score']:<6} {r['grades']}")
    print(f"    {'; '.join(r['reasons'])}")
  return 0


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="jaxloss", description=__doc__.split("\n")[0])
  sub = parser.add_subparsers(dest="command", required=True)
  p = sub.add_parser("list", help="list the catalog")
  p.add_argument("--family", choices=catalog.FAMILIES)
  p.add_argument("--task", help="substring of a task, e.g. 'segmentation'")
  p.set_defaults(run=_list)
  p = sub.add_parser("show", help="show one loss")
  p.add_argument("name")
  p.set_defaults(run=_show)
  p = sub.add_parser("compare", help="train a model per loss on a task and compare them")
  p.add_argument("task", help="classification, imbalanced-classification, tabular-regression, "
                 "segmentation, detection, embedding, forecasting, vae, gan, diffusion")
  p.add_argument("--losses", help="comma-separated catalog names (default: the task's set)")
  p.add_argument("--steps", help="training steps per loss (default: per task)")
  p.add_argument("--seed", default="0", help="data, initialisation and batch-order seed")
  p.add_argument("--out", help="output directory (default: jaxloss-results/TASK)")
  p.add_argument("--quiet", action="store_true", help="no progress bars")
  p.set_defaults(run=_compare)
  p = sub.add_parser("recommend", help="rank losses for a task and situation")
  p.add_argument("--task", required=True, help="a compare task or a catalog task (substring)")
  p.add_argument("--imbalanced", action="store_true", help="rare classes / small foreground")
  p.add_argument("--outliers", action="store_true", help="gross errors in the targets")
  p.add_argument("--noisy-labels", action="store_true", help="wrong class labels")
  p.add_argument("--multimodal", action="store_true", help="several plausible targets")
  p.add_argument("--budget", choices=("low", "high"), default="high", help="compute budget")
  p.add_argument("--top", type=int, default=8, help="how many to list")
  p.set_defaults(run=_recommend)
  args = parser.parse_args(argv)
  return args.run(args)


if __name__ == "__main__":
  sys.exit(main())
