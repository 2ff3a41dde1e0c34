"""Training one model per loss and seed, aggregating over seeds, the table and the plots."""

from __future__ import annotations

import datetime
import inspect
import json
import math
import os
import re
import time
from collections.abc import Callable, Sequence

import jax
import numpy as np
import optax
from flax import nnx

from jaxloss import catalog, data, training
from jaxloss.workbench._binding import LossIncompatible, _as_objective_value, bind_loss
from jaxloss.workbench.specs import LossSpec, as_spec, as_specs
from jaxloss.workbench.task import Task, _xy
from jaxloss.workbench.tasks import get_task


def _present(name):
  try:
    catalog.get(name)
    return True
  except KeyError:
    return False


def candidate_losses(task: Task) -> list[str]:
  """Catalog losses whose tasks include one of the task's catalog tasks exactly."""
  vocab = {t.lower() for t in task.catalog_tasks}
  names = [n for n in task.preferred if _present(n)]
  names += [i.name for i in catalog.all_losses() if vocab & {t.lower() for t in i.tasks}]
  return list(dict.fromkeys(names))


def default_losses(task: Task, split: data.Split | None = None) -> list[str]:
  """The task's preferred losses that this build's catalog has (and, given
  ``split``, that pass :func:`check_loss`)."""
  names = [n for n in task.preferred if _present(n)]
  if split is None:
    return names
  ok = []
  for n in names:
    try:
      check_loss(task, n, split)
      ok.append(n)
    except LossIncompatible:
      pass
  return ok


# ---------------------------------------------------------------------------------------------
# running


def _single_objective(task, loss_fn, split, extras_static):
  def obj(model, batch):
    pred, target, extras = task.forward(model, batch, split)
    return _as_objective_value(bind_loss(loss_fn, pred, target, {**extras_static, **extras}))

  return [training.Phase(obj, has_aux=True)]


def _phases(task, loss_fn, split):
  if task.objective is not None:
    return task.objective(loss_fn, split)
  static = task.static_extras(split) if task.static_extras else {}
  return _single_objective(task, loss_fn, split, static)


def input_kind(info) -> str:
  """The first word of a catalog entry's ``input_kind`` ("logits", "values", ...)."""
  return info.input_kind.split()[0].rstrip(",")


def check_fit(task: Task, spec: LossSpec) -> None:
  """The semantic fit check: a catalog loss whose input kind the task's model
  cannot output is rejected with the reason (user callables are not checked)."""
  if spec.info is None or not task.accepts:
    return
  kind = input_kind(spec.info)
  if kind not in task.accepts:
    raise LossIncompatible(
        f"{spec.label} takes {spec.info.input_kind} (for {', '.join(spec.info.tasks[:3])}); "
        f"the {task.name} task's model outputs {task.output or ' or '.join(task.accepts)}")


def check_loss(task: Task, loss, split: data.Split, seed: int = 0) -> None:
  """Check that ``loss`` (a name, ``"name:opt=value"``, a callable or a
  :class:`~jaxloss.workbench.specs.LossSpec`) fits the task, without training:
  the semantic check on the catalog's input kind, then the task's objective
  traced abstractly on a batch of the right shape (the model itself is built
  abstractly too, so nothing is allocated or compiled). Raises
  :class:`LossIncompatible` with the reason."""
  spec = as_spec(loss)
  check_fit(task, spec)
  abstract = nnx.eval_shape(lambda: task.build(split, nnx.Rngs(seed)))
  graphdef, state = nnx.split(abstract)
  bs = min(task.batch_size, len(split.x_train))
  batch = {k: jax.ShapeDtypeStruct((bs, *v.shape[1:]), v.dtype) for k, v in _xy(split).items()}
  if task.stochastic:
    batch["key"] = jax.eval_shape(lambda: jax.random.key(0))
  try:
    for ph in _phases(task, spec.fn, split):
      # (the objective averages whatever the loss returns, so any shape that traces fits)
      jax.eval_shape(lambda s, b, ph=ph: ph.objective(nnx.merge(graphdef, s), b), state, batch)
  except LossIncompatible:
    raise
  except Exception as e:  # the loss's own validation says why it does not fit
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    raise LossIncompatible(f"{spec.label} cannot be applied to the {task.name} task: "
                           f"{msg}") from None


def _call_with(func, *args, **maybe):
  """``func(*args, **kw)`` passing only the keywords ``func`` declares."""
  params = inspect.signature(func).parameters
  return func(*args, **{k: v for k, v in maybe.items() if k in params})


def _curve_steps(task, steps):
  if not task.curve_every:
    return set()
  every = max(1, min(task.curve_every, steps // 4 or 1))
  return set(range(every, steps + 1, every)) | {steps}


def run_one(task: Task, loss, split: data.Split, *, steps: int, seed: int = 0,
            mesh=None, progress: bool = True) -> tuple[dict, nnx.Module]:
  """Train the task's model with ``loss`` (see :func:`check_loss` for the
  forms) at one seed; return (result dict, trained model)."""
  spec = as_spec(loss)
  model = task.build(split, nnx.Rngs(seed))
  phases = _phases(task, spec.fn, split)
  if task.optimizers is not None:
    opts = task.optimizers(model, task.lr)
  else:
    opts = training.make_optimizer(model, optax.adam(task.lr))
  step = training.make_train_step(phases)
  at = _curve_steps(task, steps)
  curve = {"step": []}
  eval_s = 0.0

  def evaluate():
    return _call_with(task.evaluate, model, split, seed, fn=spec.fn)

  def on_step(i, logs):
    nonlocal eval_s
    if i + 1 in at and i + 1 < steps:
      t = time.perf_counter()
      m = evaluate()
      eval_s += time.perf_counter() - t
      curve["step"].append(i + 1)
      for c in task.columns:
        curve.setdefault(c, []).append(m.get(c))

  t0 = time.perf_counter()
  hist = training.fit(model, opts, step, _xy(split), steps=steps, batch_size=task.batch_size,
                      seed=seed, mesh=mesh, stochastic=task.stochastic, callback=on_step,
                      progress=f"{task.name}:{spec.label}" if progress else False)
  t1 = time.perf_counter()
  train_s = t1 - t0 - eval_s           # the loop's wall time less the curve evaluations
  metrics = evaluate()
  eval_s += time.perf_counter() - t1
  if at:
    curve["step"].append(steps)
    for c in task.columns:
      curve.setdefault(c, []).append(metrics.get(c))
  tail = hist["loss"][-10:]
  result = {
      "loss": spec.label, "name": spec.name, "options": spec.options,
      "family": spec.info.family if spec.info is not None else None,
      "seed": seed, "metrics": metrics,
      "final_train_loss": float(np.mean(tail)),
      "steps": steps, "steps_per_second": hist.steps_per_second,
      "compile_seconds": hist.compile_seconds,
      "train_seconds": train_s,
      "eval_seconds": eval_s, "devices": hist.devices,
      "history": {k: [round(v, 6) for v in vals] for k, vals in hist.items()},
      "curve": curve if at else None,
  }
  return result, model


def _is_num(v):
  return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def aggregate(runs: Sequence[dict]) -> dict:
  """One row from the runs of one loss at several seeds: every scalar metric's
  mean (``metrics``) and standard deviation over seeds (``metrics_std``,
  ``ddof=1``; 0 for one seed); ``None`` where a metric does not apply."""
  first = runs[0]
  keys = [k for k, v in first["metrics"].items() if _is_num(v) or v is None]
  mean, std = {}, {}
  for k in keys:
    vals = [r["metrics"].get(k) for r in runs]
    if any(not _is_num(v) for v in vals):
      mean[k] = std[k] = None
      continue
    mean[k] = float(np.mean(vals))
    std[k] = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
  curve = None
  if first.get("curve"):
    curve = {"step": first["curve"]["step"]}
    for k, vals in first["curve"].items():
      if k == "step":
        continue
      cols = [r["curve"][k] for r in runs]
      curve[k] = [None if any(not _is_num(c[j]) for c in cols) else
                  float(np.mean([c[j] for c in cols])) for j in range(len(vals))]
  return {
      "loss": first["loss"], "name": first["name"], "options": first["options"],
      "family": first["family"], "seeds": [r["seed"] for r in runs],
      "metrics": mean, "metrics_std": std,
      "final_train_loss": float(np.mean([r["final_train_loss"] for r in runs])),
      "steps": first["steps"],
      "steps_per_second": float(np.nanmean([r["steps_per_second"] for r in runs])),
      "compile_seconds": float(sum(r["compile_seconds"] for r in runs)),
      "train_seconds": float(sum(r["train_seconds"] for r in runs)),
      "eval_seconds": float(sum(r["eval_seconds"] for r in runs)),
      "devices": first["devices"], "history": first["history"], "curve": curve,
      "per_seed": [{k: r[k] for k in ("seed", "metrics", "final_train_loss")} for r in runs],
  }


# ---------------------------------------------------------------------------------------------
# output folders


def new_run_dir(root: str, task_name: str) -> str:
  """A fresh ``root/<task>-<YYYYmmdd-HHMMSS>`` folder, and ``root/latest`` pointing at it
  (a symlink, or a text file holding the folder's name where symlinks are unavailable)."""
  stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
  base = os.path.join(root, f"{task_name}-{stamp}")
  path, k = base, 1
  while os.path.exists(path):
    k += 1
    path = f"{base}-{k}"
  os.makedirs(path)
  latest = os.path.join(root, "latest")
  try:
    if os.path.islink(latest) or os.path.isfile(latest):
      os.remove(latest)
    if not os.path.exists(latest):
      os.symlink(os.path.basename(path), latest)
  except OSError:
    with open(latest, "w") as f:
      f.write(os.path.basename(path) + "\n")
  return path


def prepare_out(out: str, force: bool = False) -> str:
  """Create ``out``; refuse a folder that already holds files unless ``force``
  (then the earlier results and plots in it are removed, so runs never mix)."""
  if os.path.isdir(out) and os.listdir(out):
    if not force:
      raise FileExistsError(
          f"--out {out!r} is not empty (an earlier run?); choose another folder, omit --out "
          "(each run then gets its own timestamped folder) or pass --force to replace it")
    for f in os.listdir(out):
      p = os.path.join(out, f)
      if os.path.isfile(p) and (f.endswith(".png") or f.startswith("results.json")):
        os.remove(p)
  os.makedirs(out, exist_ok=True)
  return out


# ---------------------------------------------------------------------------------------------
# plots


def _plt():
  try:
    import matplotlib
  except ImportError:
    return None
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  return plt


def _file_label(label: str) -> str:
  return re.sub(r"[^A-Za-z0-9_.=-]+", "_", label).strip("_")


def _bars(ax, task, results, col):
  names = [r["loss"] for r in results]
  vals = [r["metrics"].get(col) for r in results]
  errs = [r["metrics_std"].get(col) or 0.0 for r in results]
  ok = [v is not None for v in vals]
  y = np.arange(len(names))
  v = np.array([x if x is not None else 0.0 for x in vals])
  ax.barh(y[ok], v[ok], xerr=np.array(errs)[ok] if any(errs) else None, color="tab:blue",
          capsize=2)
  for yi, x, good in zip(y, v, ok, strict=True):
    ax.text(x if good else 0.0, yi, f" {x:.3f}" if good else " n/a", va="center", fontsize=7)
  ax.set_yticks(y, names, fontsize=7)
  ax.invert_yaxis()
  n = len(results[0].get("seeds", [0]))
  ax.set_title(col + (f" (mean ± std, {n} seeds)" if n > 1 else ""), fontsize=9)
  ax.margins(x=0.2)


def _curves(ax, task, results):
  col = task.primary
  for r in results:
    c = r.get("curve")
    if c and col in c:
      pts = [(s, v) for s, v in zip(c["step"], c[col], strict=True) if v is not None]
      if pts:
        ax.plot(*zip(*pts, strict=True), marker="o", ms=3, label=r["loss"])
  ax.set_xlabel("training step")
  ax.set_ylabel(f"held-out {col}")
  ax.set_title(f"{task.name}: held-out {col} during training", fontsize=9)
  ax.legend(fontsize=7)


def _loss_panels(fig, results):
  """Training losses of different losses are not on one scale: one panel each."""
  n = len(results)
  cols = min(n, 4)
  rows = math.ceil(n / cols)
  for k, r in enumerate(results):
    ax = fig.add_subplot(rows, cols, k + 1)
    y = np.asarray(r["history"]["loss"])
    w = max(1, len(y) // 50)
    ax.plot(np.convolve(y, np.ones(w) / w, mode="valid"))
    ax.set_title(r["loss"], fontsize=8)
    ax.tick_params(labelsize=6)


def _write_plots(task, results, out, plt):
  has_curves = any(r.get("curve") for r in results)
  if has_curves:
    fig, ax = plt.subplots(figsize=(6, 4))
    _curves(ax, task, results)
  else:
    fig = plt.figure(figsize=(3 * min(len(results), 4), 2.4 * math.ceil(len(results) / 4)))
    _loss_panels(fig, results)
    fig.suptitle(f"{task.name}: training loss of each run (own scale; not comparable "
                 "across losses)", fontsize=9)
  fig.tight_layout()
  fig.savefig(os.path.join(out, "curves.png"), dpi=100)
  plt.close(fig)
  cols = list(task.columns)
  fig, axes = plt.subplots(1, len(cols), figsize=(3.6 * len(cols), 0.4 * len(results) + 1.6),
                           squeeze=False)
  for ax, c in zip(axes[0], cols, strict=True):
    _bars(ax, task, results, c)
  fig.suptitle(f"{task.name}: held-out metrics", fontsize=10)
  fig.tight_layout()
  fig.savefig(os.path.join(out, "metrics.png"), dpi=100)
  plt.close(fig)
  fig, axes = plt.subplots(1, 2, figsize=(11, max(3.5, 0.35 * len(results) + 1.8)))
  if has_curves:
    _curves(axes[0], task, results)
  else:
    axes[0].axis("off")
    axes[0].text(0, 0.5, format_table(task, results), family="monospace", fontsize=6,
                 va="center")
  _bars(axes[1], task, results, task.primary)
  arrow = "higher" if task.higher_is_better else "lower"
  fig.suptitle(f"jaxloss compare {task.name} — {task.description}\n"
               f"primary metric {task.primary} ({arrow} is better)", fontsize=9)
  fig.tight_layout()
  fig.savefig(os.path.join(out, "summary.png"), dpi=100)
  plt.close(fig)


def _write_picture(task, spec, model, split, seed, out, plt):
  fig = _call_with(task.picture, model, split, seed, out, plt, fn=spec.fn)
  fig.suptitle(f"{task.name}: {spec.label} (seed {seed})", fontsize=9)
  fig.tight_layout()
  fig.savefig(os.path.join(out, f"{task.name}_{_file_label(spec.label)}.png"), dpi=100)
  plt.close(fig)


def _write(task, results, out, meta, complete):
  doc = dict(meta, task=task.name, description=task.description, primary=task.primary,
             higher_is_better=task.higher_is_better, complete=complete, runs=results)
  tmp = os.path.join(out, "results.json.tmp")
  with open(tmp, "w") as f:
    json.dump(doc, f, indent=1, default=float)
  os.replace(tmp, os.path.join(out, "results.json"))


# ---------------------------------------------------------------------------------------------
# compare


def compare(task_name: str, losses: Sequence | None = None, *, steps: int | None = None,
            seed: int = 0, seeds: Sequence[int] | None = None, out: str | None = None,
            force: bool = False, progress: bool = True, mesh=None,
            split: data.Split | None = None, check: bool = True,
            on_result: Callable[[dict], None] | None = None) -> list[dict]:
  """Train ``task_name``'s model once per loss and seed; return one aggregated
  result per loss (see :func:`aggregate`).

  Args:
    losses: catalog names (``"focal_loss"``, with options
      ``"focal_loss:gamma=3"``), callables (``functools.partial(jaxloss.focal_loss,
      gamma=3.0)``, your own ``fn(pred, target)``), or ``(label, callable)``
      pairs; a label given twice trains once. Default: the task's set.
    seeds: train each loss at each seed (data split, initialisation and batch
      order) and report mean ± std; default ``(seed,)``.
    out: a folder for ``results.json`` (rewritten after every finished loss, so
      an interruption keeps the finished ones), one picture per loss, and at the
      end ``summary.png``, ``curves.png`` and ``metrics.png``. An existing non-empty
      folder is refused unless ``force`` (which clears its earlier results).
    split: data to use instead of ``task.load(seed)`` (one seed only).
    on_result: called with each loss's aggregated result when it finishes.

  Every loss is checked against the task first (nothing trains if one does
  not fit). Timing is in ``results.json`` under ``timing``.
  """
  t_start = time.perf_counter()
  task = get_task(task_name)
  seeds = tuple(seeds) if seeds else (seed,)
  if split is not None and len(seeds) > 1:
    raise ValueError("compare: split= fixes the data, so it cannot be used with several seeds")
  splits = {s: (split if split is not None else task.load(s)) for s in seeds}
  specs = as_specs(losses) if losses else as_specs(default_losses(task, splits[seeds[0]]))
  if not specs:
    raise LossIncompatible(f"no loss for task {task.name!r} in this build's catalog yet "
                           f"(wanted one of: {', '.join(task.preferred)})")
  steps = task.steps if steps is None else steps
  if check:
    for spec in specs:
      check_loss(task, spec, splits[seeds[0]], seeds[0])
  mesh = training.make_mesh() if mesh is None else mesh
  if out:
    prepare_out(out, force)
  plt = _plt() if out else None
  s0 = splits[seeds[0]]
  meta = dict(seeds=list(seeds), steps=steps, devices=mesh.size,
              backend=jax.default_backend(), versions=_versions(),
              data={k: v for k, v in s0.info.items()}, losses=[s.label for s in specs])
  results = []
  plot_s = 0.0
  for spec in specs:
    runs = []
    for s in seeds:
      res, model = run_one(task, spec, splits[s], steps=steps, seed=s, mesh=mesh,
                           progress=progress)
      runs.append(res)
      if out and plt is not None and task.picture is not None and s == seeds[0]:
        t = time.perf_counter()
        _write_picture(task, spec, model, splits[s], s, out, plt)
        plot_s += time.perf_counter() - t
    results.append(aggregate(runs))
    if on_result is not None:
      on_result(results[-1])
    if out:   # after every loss, so an interruption keeps the finished ones
      meta["timing"] = _timing(results, t_start, plot_s)
      _write(task, results, out, meta, complete=len(results) == len(specs))
  if out:
    t = time.perf_counter()
    if plt is not None:
      _write_plots(task, results, out, plt)
    plot_s += time.perf_counter() - t
    meta["timing"] = _timing(results, t_start, plot_s)
    _write(task, results, out, meta, complete=True)
  return results


def _versions():
  import importlib.metadata as md

  out = {}
  for p in ("jaxloss", "jax", "flax", "optax"):
    try:
      out[p] = md.version(p)
    except md.PackageNotFoundError:
      out[p] = None
  return out


def _timing(results, t_start, plot_s):
  wall = time.perf_counter() - t_start
  comp = sum(r["compile_seconds"] for r in results)
  return {"wall_seconds": wall, "compile_seconds": comp,
          "train_seconds": sum(r["train_seconds"] for r in results) - comp,
          "eval_seconds": sum(r["eval_seconds"] for r in results), "plot_seconds": plot_s}


def format_timing(timing: dict) -> str:
  """``wall time 61.0 s: compile 12.1 s (20%), training 38.0 s, evaluation 6.2 s, ...``."""
  w = timing["wall_seconds"]
  other = max(0.0, w - timing["compile_seconds"] - timing["train_seconds"]
              - timing["eval_seconds"] - timing["plot_seconds"])
  pct = 100 * timing["compile_seconds"] / w if w else 0.0
  return (f"wall time {w:.1f} s: compile {timing['compile_seconds']:.1f} s ({pct:.0f}%), "
          f"training {timing['train_seconds']:.1f} s, evaluation {timing['eval_seconds']:.1f} s, "
          f"plots {timing['plot_seconds']:.1f} s, data and setup {other:.1f} s")


# ---------------------------------------------------------------------------------------------
# the table


def best_rows(task: Task, results: Sequence[dict]) -> list[int]:
  """Indices of the rows marked best: the best mean of the primary metric, marked
  only when it beats every other row by more than the larger of the two seed
  standard deviations (one seed: by any margin); ties and overlaps get no mark."""
  vals = [r["metrics"].get(task.primary) for r in results]
  idx = [i for i, v in enumerate(vals) if v is not None]
  if len(idx) < 2:
    return []
  sign = 1.0 if task.higher_is_better else -1.0
  b = max(idx, key=lambda i: sign * vals[i])
  sd = lambda i: results[i].get("metrics_std", {}).get(task.primary) or 0.0
  for i in idx:
    if i != b and sign * (vals[b] - vals[i]) <= max(sd(b), sd(i)):
      return []
  return [b]


def _cell(mean, std, nseeds, w):
  if mean is None:
    return f"{'n/a':>{w}}"
  if nseeds > 1:
    return f"{f'{mean:.4f} ± {std:.4f}':>{w}}"
  return f"{mean:>{w}.4f}"


def format_table(task: Task, results: Sequence[dict]) -> str:
  """The comparison table: mean (± std over seeds) of each metric, the best
  primary metric marked ``*`` only where it exceeds the spread."""
  cols = list(task.columns)
  nseeds = max(len(r.get("seeds", [0])) for r in results) if results else 1
  width = max([len(r["loss"]) for r in results] + [4]) + 2
  cw = [max(19 if nseeds > 1 else 12, len(c) + 2) for c in cols]
  head = f"{'loss':<{width}}" + "".join(f"{c:>{w}}" for c, w in zip(cols, cw, strict=True)) + \
      f"{'train loss':>12}{'steps/s':>9}{'compile s':>10}"
  lines = [head, "-" * len(head)]
  best = best_rows(task, results)
  for k, r in enumerate(results):
    mark = "*" if k in best else " "
    std = r.get("metrics_std", {})
    row = f"{mark}{r['loss']:<{width - 1}}" + "".join(
        _cell(r["metrics"].get(c), std.get(c), nseeds, w) for c, w in zip(cols, cw, strict=True))
    sps = r["steps_per_second"]
    row += f"{r['final_train_loss']:>12.4g}" + (f"{sps:>9.0f}" if math.isfinite(sps) else
                                                  f"{'n/a':>9}")
    row += f"{r['compile_seconds']:>10.2f}"
    lines.append(row)
  arrow = "higher" if task.higher_is_better else "lower"
  spread = f"mean ± std over {nseeds} seeds; " if nseeds > 1 else ""
  if best:
    lines.append(f"* best {task.primary} ({arrow} is better; {spread}marked only where it "
                 "beats every other loss by more than the seed spread)")
  elif len(results) > 1:
    lines.append(f"no loss is best on {task.primary} ({arrow} is better) beyond "
                 + ("the spread over seeds" if nseeds > 1 else "a tie")
                 + (f"; {spread.rstrip('; ')}" if spread else ""))
  return "\n".join(lines)
