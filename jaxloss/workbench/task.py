"""The :class:`Task` record and helpers shared by the task definitions."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxloss import catalog, data


@dataclasses.dataclass
class Task:
  """One workbench task.

  Attributes:
    name, description: shown by the CLI.
    catalog_tasks: catalog task vocabulary this task belongs to (used by
      ``recommend`` and to name candidate losses).
    load: ``load(seed) -> data.Split``.
    build: ``build(split, rngs) -> model``.
    forward: ``forward(model, batch, split) -> (pred, target, extras)``; the
      loss is applied as ``bind_loss(loss, pred, target, extras)``.
    evaluate: ``evaluate(model, split, seed) -> dict`` of held-out metrics.
    primary: the metric the table ranks by, and whether higher is better.
    preferred: default losses, in order, among those present in the catalog.
    steps, batch_size, lr: training defaults.
    columns: metrics printed in the table (all are written to results.json).
    objective: optional ``objective(loss_fn, split) -> [training.Phase]`` and
      ``optimizers(model, lr)`` for multi-phase tasks (GAN); else one phase.
    picture: optional ``picture(model, split, seed, path)`` writing a PNG.
    stochastic: the objective uses ``batch["key"]``.
    accepts: the catalog input kinds (first word of a loss's ``input_kind``:
      "logits", "values", "boxes", ...) this task's model output can be; a
      catalog loss of another kind is rejected before training.
    output: the model output in words, for the rejection message.
    curve_every: evaluate the held-out metrics every this many steps for the
      metric-against-steps plot (0: no curve; the generative tasks' metrics
      need sampling and are too slow to repeat).
  """

  name: str
  description: str
  catalog_tasks: tuple[str, ...]
  load: Callable[[int], data.Split]
  build: Callable[[data.Split, nnx.Rngs], nnx.Module]
  evaluate: Callable[[nnx.Module, data.Split, int], dict]
  primary: str
  higher_is_better: bool
  preferred: tuple[str, ...]
  columns: tuple[str, ...]
  forward: Callable | None = None
  steps: int = 300
  batch_size: int = 64
  lr: float = 3e-3
  objective: Callable | None = None
  optimizers: Callable | None = None
  picture: Callable | None = None
  stochastic: bool = False
  static_extras: Callable[[data.Split], dict] | None = None
  accepts: tuple[str, ...] = ()
  output: str = ""
  curve_every: int = 0


def _xy(split):
  return {"x": split.x_train, "y": split.y_train}


def _predict_batches(fn, model, x, bs=512):
  return np.concatenate([np.asarray(fn(model, jnp.asarray(x[i:i + bs])))
                         for i in range(0, len(x), bs)])

def _info_of(fn):
  """The catalog entry of ``fn`` (seeing through ``functools.partial``), or None."""
  while isinstance(fn, functools.partial):
    fn = fn.func
  for i in catalog.all_losses():
    if i.fn is fn:
      return i
  return None
