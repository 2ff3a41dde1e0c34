"""Generic Flax NNX + optax training steps, data-parallel over every device.

The pieces are small on purpose, so they can be copied into any training loop:

* :func:`make_train_step` — a jit-compiled step ``step(model, optimizers, batch)``
  for an *objective* ``objective(model, batch) -> loss`` (or ``(loss, aux)``
  with ``has_aux=True``, whose ``aux`` dict of scalars — e.g. a composite
  loss's components — is logged). Several *phases* (objective, parameter
  filter) run one after the other in the same compiled step: that is how a GAN
  updates its discriminator and then its generator with two optimisers.
* :func:`make_eval_step` — a jit-compiled ``fn(model, x)`` (predictions).
* :func:`fit` — the loop: seeded mini-batches, a ``tqdm`` progress bar,
  per-step loss and components, compile time and steps per second.
* :func:`make_mesh`, :func:`replicate`, :func:`shard_batch` — data parallelism
  on JAX's own engine: a 1-D ``jax.sharding.Mesh`` named ``"data"`` over all
  devices, parameters and optimiser state replicated, the batch split along
  its leading axis. ``jit`` then partitions the step (GSPMD) and all-reduces
  the gradients, so the same code uses one CPU, eight GPUs or a TPU slice.

Everything follows the Flax NNX 0.11+ idiom: ``nnx.Optimizer(model, tx,
wrt=...)``, ``optimizer.update(model, grads)``, ``nnx.value_and_grad`` over
``nnx.DiffState``, ``nnx.jit``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

__all__ = ["Phase", "make_train_step", "make_eval_step", "make_optimizer", "fit", "make_mesh",
           "replicate", "shard_batch", "History"]

Objective = Callable[[nnx.Module, dict], Any]


class Phase:
  """One optimisation phase: an objective and the parameters it updates.

  Args:
    objective: ``objective(model, batch) -> loss`` or ``-> (loss, aux)``.
    wrt: an ``nnx`` filter selecting the parameters this phase differentiates
      and updates (default all ``nnx.Param``); its optimiser must be built with
      the same ``wrt``.
    has_aux: the objective returns ``(loss, aux)`` with ``aux`` a dict of scalars.
    name: prefix of the logged values (``"loss"`` for a single phase).
  """

  def __init__(self, objective: Objective, *, wrt=nnx.Param, has_aux: bool = False,
               name: str = "loss"):
    self.objective, self.wrt, self.has_aux, self.name = objective, wrt, has_aux, name


def make_optimizer(model: nnx.Module, tx: optax.GradientTransformation, wrt=nnx.Param):
  """``nnx.Optimizer(model, tx, wrt=wrt)`` (``wrt`` is required since Flax 0.11)."""
  return nnx.Optimizer(model, tx, wrt=wrt)


def make_train_step(objective: Objective | Sequence[Phase], *, has_aux: bool = False,
                    wrt=nnx.Param):
  """A compiled train step ``step(model, optimizers, batch) -> dict of scalars``.

  ``objective`` is either one objective (with ``has_aux`` / ``wrt``) or a
  sequence of :class:`Phase`; ``optimizers`` is then one ``nnx.Optimizer`` or
  a tuple with one per phase. Model and optimisers are updated in place; the
  step returns the losses (``"loss"`` or ``"<phase>"``) and aux components
  (``"<phase>/<name>"``, or just ``"<name>"`` for a single phase).
  """
  phases = ([Phase(objective, wrt=wrt, has_aux=has_aux)] if callable(objective)
            else list(objective))
  single = len(phases) == 1

  @nnx.jit
  def step(model, optimizers, batch):
    opts = (optimizers,) if single else tuple(optimizers)
    logs = {}
    for ph, opt in zip(phases, opts, strict=True):
      grad_fn = nnx.value_and_grad(ph.objective, argnums=nnx.DiffState(0, ph.wrt),
                                   has_aux=ph.has_aux)
      out, grads = grad_fn(model, batch)
      opt.update(model, grads)
      loss, aux = out if ph.has_aux else (out, {})
      logs[ph.name] = loss
      for k, v in aux.items():
        logs[k if single else f"{ph.name}/{k}"] = v
    return logs

  return step


def make_eval_step(fn: Callable[[nnx.Module, Any], Any]):
  """A compiled ``fn(model, x)`` — predictions or per-batch metrics."""
  return nnx.jit(fn)


def make_mesh(devices=None) -> Mesh:
  """A 1-D mesh with axis ``"data"`` over ``devices`` (default: all devices)."""
  devices = jax.devices() if devices is None else list(devices)
  return Mesh(np.asarray(devices), ("data",))


def replicate(obj, mesh: Mesh):
  """Place every array of an NNX object (model, optimiser) on all devices of
  ``mesh``, replicated, in place; returns ``obj``."""
  state = nnx.state(obj)
  nnx.update(obj, jax.device_put(state, NamedSharding(mesh, P())))
  return obj


def shard_batch(batch: dict, mesh: Mesh, batch_size: int) -> dict:
  """Split the arrays of ``batch`` whose leading axis is ``batch_size`` over
  the mesh's ``"data"`` axis; replicate the rest (PRNG keys, scalars)."""
  split, rep = NamedSharding(mesh, P("data")), NamedSharding(mesh, P())

  def put(a):
    batched = getattr(a, "ndim", 0) >= 1 and a.shape[0] == batch_size
    return jax.device_put(a, split if batched else rep)

  return jax.tree.map(put, batch)


class History(dict):
  """What :func:`fit` returns: ``history["loss"]`` (per-step list), one list per
  logged component, and ``compile_seconds``, ``steps_per_second``, ``steps``,
  ``devices`` attributes."""

  compile_seconds: float = 0.0
  steps_per_second: float = 0.0
  steps: int = 0
  devices: int = 1


def _progress(total, desc, enabled):
  if not enabled:
    return None
  try:
    from tqdm.auto import tqdm
  except ImportError:  # tqdm is in the examples/test extras; run without a bar
    return None
  return tqdm(total=total, desc=desc, leave=True, dynamic_ncols=True, mininterval=0.5)


def fit(model: nnx.Module, optimizers, step, data: dict, *, steps: int, batch_size: int,
        seed: int = 0, mesh: Mesh | None = None, progress: bool | str = False,
        stochastic: bool = False, callback: Callable[[int, dict], None] | None = None) -> History:
  """Train for ``steps`` steps on mini-batches of ``data``.

  Args:
    model, optimizers: updated in place by ``step``.
    step: from :func:`make_train_step`.
    data: dict of arrays sharing their leading (example) axis, e.g.
      ``{"x": x_train, "y": y_train}``; each batch is the same dict sliced.
    steps: number of optimiser steps (> 0).
    batch_size: examples per step; rounded down to a multiple of the mesh
      size (at least one example per device) and capped at the data size.
    seed: seeds the batch order (epochs of a fixed permutation sequence) and,
      with ``stochastic=True``, a per-step PRNG key ``batch["key"]``.
    mesh: data-parallel mesh (:func:`make_mesh`); model and optimisers are
      replicated on it and every batch sharded. ``None``: default device.
    progress: show a tqdm bar (a string is its description).
    callback: ``callback(i, logs)`` after every step (host floats).

  Returns:
    a :class:`History`.
  """
  if steps <= 0:
    raise ValueError(f"fit: steps must be positive, got {steps}")
  n = len(next(iter(data.values())))
  n_dev = 1 if mesh is None else mesh.size
  bs = min(batch_size, n)
  bs = max(n_dev, bs - bs % n_dev)
  if mesh is not None:
    replicate(model, mesh)
    for opt in (optimizers if isinstance(optimizers, tuple) else (optimizers,)):
      replicate(opt, mesh)
  rng = np.random.default_rng(seed)
  key = jax.random.key(seed)
  order, pos = rng.permutation(n), 0
  hist = History(loss=[])
  bar = _progress(steps, progress if isinstance(progress, str) else None, bool(progress))
  t_first = t_rest = 0.0
  try:
    for i in range(steps):
      if pos + bs > n:
        order, pos = rng.permutation(n), 0
      idx = order[pos:pos + bs]
      pos += bs
      batch = {k: v[idx] for k, v in data.items()}
      if stochastic:
        batch["key"] = jax.random.fold_in(key, i)
      batch = (shard_batch(batch, mesh, bs) if mesh is not None
               else jax.tree.map(jnp.asarray, batch))
      t0 = time.perf_counter()
      logs = jax.device_get(step(model, optimizers, batch))
      dt = time.perf_counter() - t0
      if i == 0:
        t_first = dt
      else:
        t_rest += dt
      logs = {k: float(v) for k, v in logs.items()}
      for k, v in logs.items():
        hist.setdefault(k, []).append(v)
      if callback is not None:
        callback(i, logs)
      if bar is not None:
        bar.update(1)
        if i % 10 == 0 or i == steps - 1:
          bar.set_postfix(loss=f"{logs.get('loss', next(iter(logs.values()))):.4g}")
  finally:
    if bar is not None:
      bar.close()
  per_step = t_rest / (steps - 1) if steps > 1 else 0.0
  hist.compile_seconds = max(0.0, t_first - per_step)
  hist.steps_per_second = 1.0 / per_step if per_step > 0 else float("nan")
  hist.steps, hist.devices = steps, n_dev
  return hist
