"""Training one model per loss, writing results and plots, and the results table."""

from __future__ import annotations

import inspect
import json
import os
import time
from collections.abc import Callable, Sequence

import jax
import numpy as np
import optax
from flax import nnx

from jaxloss import catalog, data, training
from jaxloss.workbench._binding import LossIncompatible, _as_objective_value, bind_loss
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


def check_loss(task: Task, name: str, split: data.Split, seed: int = 0) -> None:
  """Trace the task's objective with loss ``name`` on a tiny batch (no
  compilation, no training); raise :class:`LossIncompatible` with the reason
  if the loss does not fit the task."""
  info = catalog.get(name)
  model = task.build(split, nnx.Rngs(seed))
  bs = min(task.batch_size, len(split.x_train))
  batch = {k: jax.ShapeDtypeStruct((bs, *v.shape[1:]), v.dtype) for k, v in _xy(split).items()}
  if task.stochastic:
    batch["key"] = jax.eval_shape(lambda: jax.random.key(0))
  try:
    for ph in _phases(task, info.fn, split):
      out = jax.eval_shape(lambda b, ph=ph: ph.objective(model, b), batch)
      loss = out[0] if ph.has_aux else out
      if loss.shape != ():
        raise LossIncompatible(f"{name} does not reduce to a scalar on this task")
  except LossIncompatible:
    raise
  except Exception as e:  # the loss's own validation says why it does not fit
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    raise LossIncompatible(f"{name} cannot be applied to the {task.name} task: {msg}") from None


def run_one(task: Task, name: str, split: data.Split, *, steps: int, seed: int = 0,
            mesh=None, progress: bool = True) -> tuple[dict, nnx.Module]:
  """Train the task's model with loss ``name``; return (result dict, model)."""
  info = catalog.get(name)
  model = task.build(split, nnx.Rngs(seed))
  phases = _phases(task, info.fn, split)
  if task.optimizers is not None:
    opts = task.optimizers(model, task.lr)
  else:
    opts = training.make_optimizer(model, optax.adam(task.lr))
  step = training.make_train_step(phases)
  t0 = time.perf_counter()
  hist = training.fit(model, opts, step, _xy(split), steps=steps, batch_size=task.batch_size,
                      seed=seed, mesh=mesh, stochastic=task.stochastic,
                      progress=f"{task.name}:{name}" if progress else False)
  train_s = time.perf_counter() - t0
  if "info" in inspect.signature(task.evaluate).parameters:
    metrics = task.evaluate(model, split, seed, info=info)
  else:
    metrics = task.evaluate(model, split, seed)
  tail = hist["loss"][-10:]
  result = {
      "loss": name, "family": info.family, "metrics": metrics,
      "final_train_loss": float(np.mean(tail)),
      "steps": steps, "steps_per_second": hist.steps_per_second,
      "compile_seconds": hist.compile_seconds, "train_seconds": train_s,
      "devices": hist.devices,
      "history": {k: [round(v, 6) for v in vals] for k, vals in hist.items()},
  }
  return result, model


def _plt():
  try:
    import matplotlib
  except ImportError:
    return None
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  return plt


def _write_plots(task, results, out, plt):
  fig, ax = plt.subplots(figsize=(6, 4))
  for r in results:
    y = np.asarray(r["history"]["loss"])
    k = max(1, len(y) // 50)
    ys = np.convolve(y, np.ones(k) / k, mode="valid")
    ax.plot(np.arange(len(ys)) + k - 1, ys, label=r["loss"])
  if all(min(r["history"]["loss"]) > 0 for r in results):
    ax.set_yscale("log")
  ax.set_xlabel("step")
  ax.set_ylabel("training loss (smoothed)")
  ax.set_title(f"{task.name}: training loss")
  ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(os.path.join(out, "loss_curves.png"), dpi=100)
  plt.close(fig)
  cols = list(task.columns)
  fig, axes = plt.subplots(1, len(cols), figsize=(3.2 * len(cols), 3.2), squeeze=False)
  names = [r["loss"] for r in results]
  for ax, c in zip(axes[0], cols, strict=True):
    ax.barh(names, [r["metrics"][c] for r in results])
    ax.set_title(c)
    ax.invert_yaxis()
  fig.tight_layout()
  fig.savefig(os.path.join(out, "metrics.png"), dpi=100)
  plt.close(fig)


def _write(task, results, out, meta, complete):
  doc = dict(meta, task=task.name, description=task.description, primary=task.primary,
             higher_is_better=task.higher_is_better, complete=complete, runs=results)
  tmp = os.path.join(out, "results.json.tmp")
  with open(tmp, "w") as f:
    json.dump(doc, f, indent=1, default=float)
  os.replace(tmp, os.path.join(out, "results.json"))


def compare(task_name: str, losses: Sequence[str] | None = None, *, steps: int | None = None,
            seed: int = 0, out: str | None = None, progress: bool = True, mesh=None,
            split: data.Split | None = None, check: bool = True,
            on_result: Callable[[dict], None] | None = None) -> list[dict]:
  """Train ``task_name``'s model once per loss; return the list of results.

  Every loss is checked against the task first (so nothing trains if one is
  wrong). With ``out``, ``results.json``, ``loss_curves.png``, ``metrics.png``
  and one picture per run are (re)written as soon as each run finishes, and
  ``on_result(result)`` is called, so an interruption keeps the finished runs.
  """
  task = get_task(task_name)
  split = task.load(seed) if split is None else split
  losses = list(losses) if losses else default_losses(task, split)
  if not losses:
    raise LossIncompatible(f"no loss for task {task.name!r} in this build's catalog yet "
                           f"(wanted one of: {', '.join(task.preferred)})")
  steps = task.steps if steps is None else steps
  split = task.load(seed) if split is None else split
  if check:
    for name in losses:
      check_loss(task, name, split, seed)
  mesh = training.make_mesh() if mesh is None else mesh
  if out:
    os.makedirs(out, exist_ok=True)
  plt = _plt() if out else None
  meta = dict(seed=seed, steps=steps, devices=mesh.size, backend=jax.default_backend(),
              data={k: v for k, v in split.info.items()}, losses=losses)
  results = []
  for name in losses:
    res, model = run_one(task, name, split, steps=steps, seed=seed, mesh=mesh,
                         progress=progress)
    results.append(res)
    if on_result is not None:
      on_result(res)
    if out:
      _write(task, results, out, meta, complete=len(results) == len(losses))
      if plt is not None:
        _write_plots(task, results, out, plt)
        if task.picture is not None:
          fig = task.picture(model, split, seed, out, plt)
          fig.tight_layout()
          fig.savefig(os.path.join(out, f"{task.name}_{name}.png"), dpi=100)
          plt.close(fig)
  return results


def format_table(task: Task, results: Sequence[dict]) -> str:
  """The comparison table (best primary metric marked with ``*``)."""
  cols = list(task.columns)
  vals = [r["metrics"][task.primary] for r in results]
  best = (max if task.higher_is_better else min)(vals) if vals else None
  width = max([len(r["loss"]) for r in results] + [4]) + 2
  cw = [max(12, len(c) + 2) for c in cols]
  head = f"{'loss':<{width}}" + "".join(f"{c:>{w}}" for c, w in zip(cols, cw, strict=True)) + \
      f"{'train loss':>12}{'steps/s':>9}{'compile s':>10}"
  lines = [head, "-" * len(head)]
  for r in results:
    mark = "*" if r["metrics"][task.primary] == best and len(results) > 1 else " "
    row = f"{mark}{r['loss']:<{width - 1}}" + "".join(f"{r['metrics'][c]:>{w}.4f}" for c, w in zip(cols, cw, strict=True))
    row += f"{r['final_train_loss']:>12.4g}{r['steps_per_second']:>9.0f}"
    row += f"{r['compile_seconds']:>10.2f}"
    lines.append(row)
  arrow = "higher" if task.higher_is_better else "lower"
  lines.append(f"* best {task.primary} ({arrow} is better)")
  return "\n".join(lines)
