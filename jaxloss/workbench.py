"""The loss-comparison workbench behind ``jaxloss compare`` and ``jaxloss recommend``.

A :class:`Task` bundles real (or procedural) data from :mod:`jaxloss.data`, a
tiny model from :mod:`jaxloss.models`, how the model's output is handed to a
loss, held-out metrics and a picture. :func:`compare` trains the task's model
once per loss with the generic step of :mod:`jaxloss.training` (data-parallel
over all devices) and writes ``results.json`` and PNG plots after every
finished run. Any catalog loss can be compared on any task whose outputs it
accepts: the call is bound from the loss's signature (predictions first,
targets second, further positional arguments such as ``var``, ``std``,
``class_weights`` taken from what the model or data provides); a loss that does
not fit is rejected before training with the reason.

:func:`recommend` ranks the catalog's losses for a task from their metadata
(tasks, the survey's three grades and their notes, the docstring) and the
user's situation (imbalance, outliers, noisy labels, multimodal targets,
compute budget).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jaxloss import catalog, data, models, training

__all__ = ["Task", "TASKS", "LossIncompatible", "task_names", "get_task", "default_losses",
           "compare", "run_one", "bind_loss", "recommend", "format_table"]


class LossIncompatible(ValueError):
  """A loss cannot be applied to a task's model outputs."""


# Values for keyword-only hyperparameters that have no default in a loss's
# signature (the loss's paper's recommended setting).
KW_DEFAULTS = {"t1": 0.8, "t2": 1.2, "alpha": 1.0, "scale": 1.0}


def bind_loss(fn: Callable, pred, target, extras: dict | None = None, kwargs: dict | None = None):
  """Call catalog loss ``fn`` on a task's outputs, binding by signature.

  ``fn(pred, target, *more)``: required positional parameters after the second
  are taken from ``extras`` by name (``var``, ``std``, ``scale``,
  ``class_weights``, ...). A loss with a single positional parameter is a
  residual loss and gets ``pred - target``. Keyword-only parameters without a
  default come from ``extras``, then from :data:`KW_DEFAULTS`. ``kwargs``
  override everything. Raises :class:`LossIncompatible` when a required
  argument cannot be supplied.
  """
  extras = extras or {}
  name = getattr(fn, "__name__", "loss")
  params = inspect.signature(fn).parameters.values()
  positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                and p.default is p.empty]
  if len(positional) == 1:
    args = [pred - target]
  else:
    args = [pred, target]
    for p in positional[2:]:
      if p.name not in extras:
        raise LossIncompatible(f"{name} needs a {p.name!r} argument that this task's model "
                               f"does not provide (it provides: {', '.join(extras) or 'none'})")
      args.append(extras[p.name])
  kw = {}
  for p in params:
    if p.kind == p.KEYWORD_ONLY and p.default is p.empty:
      if p.name in extras:
        kw[p.name] = extras[p.name]
      elif p.name in KW_DEFAULTS:
        kw[p.name] = KW_DEFAULTS[p.name]
      else:
        raise LossIncompatible(f"{name} needs a {p.name!r} keyword this task cannot choose")
  kw.update(kwargs or {})
  return fn(*args, **kw)


def _as_objective_value(out):
  """A loss returns an array or ``(loss, aux)``; make it ``(scalar, aux)``."""
  if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict):
    loss, aux = out
  else:
    loss, aux = out, {}
  loss = jnp.mean(loss)
  return loss, {k: jnp.mean(v) for k, v in aux.items() if jnp.ndim(v) <= 1}


# ---------------------------------------------------------------------------------------------
# tasks


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


def _xy(split):
  return {"x": split.x_train, "y": split.y_train}


def _predict_batches(fn, model, x, bs=512):
  return np.concatenate([np.asarray(fn(model, jnp.asarray(x[i:i + bs])))
                         for i in range(0, len(x), bs)])


# --- classification -------------------------------------------------------------------------

_logits = nnx.jit(lambda m, x: m(x))


def _class_weights(split):
  counts = np.bincount(np.ravel(split.y_train), minlength=split.info["num_classes"])
  counts = counts.astype(np.float64)
  w = counts.sum() / np.maximum(counts, 1) / len(counts)
  return {"class_weights": jnp.asarray(w, jnp.float32)}


def _macro_f1(y, p, k):
  f1 = []
  for c in range(k):
    tp = np.sum((p == c) & (y == c))
    fp, fn = np.sum((p == c) & (y != c)), np.sum((p != c) & (y == c))
    f1.append(2 * tp / max(2 * tp + fp + fn, 1))
  return float(np.mean(f1)), f1


def _eval_classification(model, split, seed):
  p = _predict_batches(_logits, model, split.x_test).argmax(-1)
  y = split.y_test
  k = split.info["num_classes"]
  macro, per = _macro_f1(y, p, k)
  tail = [c for c in range(k) if c >= k - 3]
  recall_tail = float(np.mean([np.mean(p[y == c] == c) for c in tail]))
  return {"accuracy": float(np.mean(p == y)), "macro_f1": macro,
          "tail_recall": recall_tail, "per_class_f1": [round(v, 4) for v in per]}


def _digits_as_images(split):
  r = lambda a: a.reshape(-1, 8, 8, 1)
  return dataclasses.replace(split, x_train=r(split.x_train), x_test=r(split.x_test))


def _forward_logits(model, batch, split):
  return model(batch["x"]), batch["y"], {}


# --- tabular regression ---------------------------------------------------------------------


def _eval_regression(model, split, seed):
  p = _predict_batches(_logits, model, split.x_test)[:, 0]
  sd = split.info.get("target_std", 1.0)
  e = (p - split.y_test) * sd
  return {"mae": float(np.mean(np.abs(e))), "rmse": float(np.sqrt(np.mean(e ** 2))),
          "r2": float(1 - np.mean((p - split.y_test) ** 2) / np.var(split.y_test))}


def _forward_scalar(model, batch, split):
  return model(batch["x"])[:, 0], batch["y"], {}


def _picture_regression(model, split, seed, path, plt):
  p = _predict_batches(_logits, model, split.x_test)[:, 0]
  fig, ax = plt.subplots(figsize=(4, 4))
  ax.scatter(split.y_test, p, s=8)
  lo, hi = float(split.y_test.min()), float(split.y_test.max())
  ax.plot([lo, hi], [lo, hi], "k--", lw=1)
  ax.set_xlabel("target (standardised)")
  ax.set_ylabel("prediction")
  return fig


# --- segmentation ---------------------------------------------------------------------------


def _eval_segmentation(model, split, seed):
  p = _predict_batches(_logits, model, split.x_test, bs=64).argmax(-1)
  y = split.y_test
  k = split.info["num_classes"]
  ious = []
  for c in range(k):
    inter, union = np.sum((p == c) & (y == c)), np.sum((p == c) | (y == c))
    ious.append(float(inter / union) if union else float("nan"))
  rare = split.info["rare_class"]
  return {"mean_iou": float(np.nanmean(ious)), "rare_iou": ious[rare],
          "pixel_accuracy": float(np.mean(p == y)),
          "per_class_iou": {n: round(v, 4) for n, v in
                            zip(split.info["class_names"], ious, strict=True)}}


def _picture_segmentation(model, split, seed, path, plt):
  n = 4
  p = np.asarray(_logits(model, jnp.asarray(split.x_test[:n]))).argmax(-1)
  fig, axes = plt.subplots(3, n, figsize=(2 * n, 6))
  for i in range(n):
    axes[0, i].imshow(split.x_test[i, ..., 0], cmap="gray")
    axes[1, i].imshow(split.y_test[i], vmin=0, vmax=3, cmap="viridis", interpolation="nearest")
    axes[2, i].imshow(p[i], vmin=0, vmax=3, cmap="viridis", interpolation="nearest")
  for ax in axes.ravel():
    ax.set_axis_off()
  axes[0, 0].set_title("image", loc="left")
  axes[1, 0].set_title("truth", loc="left")
  axes[2, 0].set_title("prediction", loc="left")
  return fig


# --- detection ------------------------------------------------------------------------------


def _box_iou(a, b):
  iw = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
  ih = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
  inter = iw * ih
  area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])
  return inter / (area(a) + area(b) - inter)


def _eval_detection(model, split, seed):
  p = _predict_batches(_logits, model, split.x_test)
  iou = _box_iou(p, split.y_test)
  return {"mean_iou": float(iou.mean()), "ap50": float(np.mean(iou > 0.5)),
          "ap75": float(np.mean(iou > 0.75))}


def _picture_detection(model, split, seed, path, plt):
  n = 6
  p = np.asarray(_logits(model, jnp.asarray(split.x_test[:n])))
  size = split.x_test.shape[1]
  fig, axes = plt.subplots(1, n, figsize=(2 * n, 2.3))
  for i, ax in enumerate(axes):
    ax.imshow(split.x_test[i, ..., 0], cmap="gray")
    for b, c in ((split.y_test[i], "lime"), (p[i], "red")):
      x0, y0, x1, y1 = b * size - 0.5
      ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color=c, lw=1.5))
    ax.set_axis_off()
  fig.suptitle("green: truth, red: prediction")
  return fig


# --- embedding ------------------------------------------------------------------------------


def _forward_embedding(model, batch, split):
  z = model(batch["x"])
  extras = {}
  if model.proxies is not None:
    extras = {"class_weights": model.proxies[...], "proxies": model.proxies[...]}
  return z, batch["y"], extras


def _eval_embedding(model, split, seed):
  z = _predict_batches(_logits, model, split.x_test)
  y = split.y_test
  d = -(z @ z.T)
  np.fill_diagonal(d, np.inf)
  nn = d.argsort(1)
  r1 = float(np.mean(y[nn[:, 0]] == y))
  # mean average precision at R (R = number of same-class examples)
  same = y[nn[:, :-1]] == y[:, None]
  counts = np.bincount(y)[y] - 1
  aps = []
  for i in range(len(y)):
    r = counts[i]
    hits = same[i, :r]
    prec = np.cumsum(hits) / np.arange(1, r + 1)
    aps.append(float(np.sum(prec * hits) / r))
  return {"recall_at_1": r1, "map_at_r": float(np.mean(aps))}


def _picture_embedding(model, split, seed, path, plt):
  z = _predict_batches(_logits, model, split.x_test)
  zc = z - z.mean(0)
  _, _, vt = np.linalg.svd(zc, full_matrices=False)
  xy = zc @ vt[:2].T
  fig, ax = plt.subplots(figsize=(4, 4))
  for c in np.unique(split.y_test):
    m = split.y_test == c
    ax.scatter(xy[m, 0], xy[m, 1], s=6, label=str(c))
  ax.legend(title="held-out class", fontsize=7)
  ax.set_title("test embeddings (PCA)")
  return fig


# --- forecasting ----------------------------------------------------------------------------


def _forward_forecast(model, batch, split):
  loc, scale = model(batch["x"])
  return loc, batch["y"], {"var": scale ** 2, "std": scale, "scale": scale, "sigma": scale}


def _uses_scale(info):
  names = {p.name for p in inspect.signature(info.fn).parameters.values()}
  return bool(names & {"var", "std", "scale", "sigma"})


def _eval_forecast(model, split, seed, info=None):
  out = [jax.device_get(_logits(model, jnp.asarray(split.x_test[i:i + 512])))
         for i in range(0, len(split.x_test), 512)]
  loc = np.concatenate([o[0] for o in out])
  scale = np.concatenate([o[1] for o in out])
  y = split.y_test
  z = (y - loc) / scale
  from math import erf, pi, sqrt
  cdf = 0.5 * (1 + np.vectorize(erf)(z / sqrt(2)))
  pdf = np.exp(-0.5 * z * z) / sqrt(2 * pi)
  crps = scale * (z * (2 * cdf - 1) + 2 * pdf - 1 / sqrt(pi))
  naive = np.mean(np.abs(y))            # "no change" forecast (0 relative to the last value)
  mae = float(np.mean(np.abs(loc - y)))
  naive = float(naive)
  if info is not None and not _uses_scale(info):
    # a point forecast: its scale head was never trained; CRPS of a point mass is the MAE
    return {"mae": mae, "crps": mae, "mae_vs_naive": mae / naive, "coverage90": 0.0}
  return {"mae": mae, "crps": float(np.mean(crps)), "mae_vs_naive": mae / naive,
          "coverage90": float(np.mean(np.abs(z) < 1.6449))}


def _picture_forecast(model, split, seed, path, plt):
  loc, scale = jax.device_get(_logits(model, jnp.asarray(split.x_test[:4])))
  c, h = split.x_test.shape[1], split.y_test.shape[1]
  fig, axes = plt.subplots(1, 4, figsize=(12, 2.5))
  for i, ax in enumerate(axes):
    ax.plot(range(c), split.x_test[i], "k-", lw=1)
    ax.plot(range(c, c + h), split.y_test[i], "g-", lw=1.5, label="truth")
    ax.plot(range(c, c + h), loc[i], "r-", lw=1.5, label="forecast")
    ax.fill_between(range(c, c + h), loc[i] - 1.64 * scale[i], loc[i] + 1.64 * scale[i],
                    color="r", alpha=0.2)
  axes[0].legend(fontsize=7)
  return fig


# --- generative: shared sample-quality score -------------------------------------------------

_SCORER: dict[int, Any] = {}
SCORER_STEPS = 250   # training steps of the sample-quality classifier


def _scorer(seed):
  """A CNN classifier trained on the digit images (cached per seed)."""
  if seed not in _SCORER:
    split = data.digit_images(seed)
    clf = models.CNNClassifier(1, 10, width=16, rngs=nnx.Rngs(seed + 123))
    opt = training.make_optimizer(clf, optax.adam(3e-3))

    def obj(m, b):
      lp = jax.nn.log_softmax(m(b["x"]))
      return -jnp.mean(jnp.take_along_axis(lp, b["y"][:, None], -1))

    training.fit(clf, opt, training.make_train_step(obj), _xy(split), steps=SCORER_STEPS,
                 batch_size=64,
                 seed=seed)
    acc = float(np.mean(_predict_batches(_logits, clf, split.x_test).argmax(-1) == split.y_test))
    _SCORER[seed] = (clf, acc)
  return _SCORER[seed]


def _sample_quality(samples, seed):
  """Inception-style score from the digit classifier: ``exp(E KL(p(y|x) || p(y)))``
  (1 = useless, 10 = confident and class-diverse), plus mean confidence."""
  clf, _ = _scorer(seed)
  p = jax.nn.softmax(_predict_batches(_logits, clf, np.asarray(samples)), -1)
  p = np.asarray(p, np.float64)
  py = p.mean(0, keepdims=True)
  kl = np.sum(p * (np.log(p + 1e-12) - np.log(py + 1e-12)), -1)
  return {"sample_score": float(np.exp(kl.mean())), "confidence": float(p.max(-1).mean())}


def _picture_samples(samples, plt, title):
  s = np.asarray(samples[:32, ..., 0])
  fig, axes = plt.subplots(4, 8, figsize=(8, 4.3))
  for img, ax in zip(s, axes.ravel(), strict=False):
    ax.imshow(img, cmap="gray", vmin=-1, vmax=1)
    ax.set_axis_off()
  fig.suptitle(title)
  return fig


# --- VAE ------------------------------------------------------------------------------------


def _vae_objective(loss_fn, split):
  """A VAE loss over (recon, x, mean, logvar) if the loss takes them; otherwise
  the loss is the reconstruction term and the task adds the Gaussian KL."""
  names = [p.name for p in inspect.signature(loss_fn).parameters.values()]
  full = any(n in names for n in ("mean", "mu", "logvar", "log_var"))

  def obj(model, batch):
    recon, mean, logvar = model(batch["x"], batch["key"])
    extras = {"mean": mean, "mu": mean, "logvar": logvar, "log_var": logvar}
    loss, aux = _as_objective_value(bind_loss(loss_fn, recon, batch["x"], extras))
    if full:
      return loss, aux
    kl = 0.5 * jnp.sum(jnp.exp(logvar) + mean ** 2 - 1 - logvar, axis=-1)
    # per-pixel reconstruction mean -> per-image sum, so the KL has its usual weight
    pixels = math.prod(batch["x"].shape[1:])
    rec = loss * pixels
    return rec + jnp.mean(kl), {"reconstruction": rec, "kl": jnp.mean(kl)}

  return [training.Phase(obj, has_aux=True)]


_vae_call = nnx.jit(lambda m, x, k: m(x, k))
_vae_sample = nnx.jit(lambda m, k: m.sample(k, 256))


def _eval_vae(model, split, seed):
  recon, mean, logvar = jax.device_get(_vae_call(model, jnp.asarray(split.x_test),
                                                 jax.random.key(seed)))
  mse = float(np.mean((recon - split.x_test) ** 2))
  kl = float(np.mean(0.5 * np.sum(np.exp(logvar) + mean ** 2 - 1 - logvar, -1)))
  # ELBO of a Gaussian decoder with sigma = 0.1 (pixels in [-1, 1])
  sigma = 0.1
  pixels = split.x_test[0].size
  nll = np.mean(np.sum((recon - split.x_test) ** 2, axis=(1, 2, 3))) / (2 * sigma ** 2) + \
      pixels * math.log(sigma * math.sqrt(2 * math.pi))
  out = {"recon_mse": mse, "kl": kl, "elbo": float(-(nll + kl))}
  out.update(_sample_quality(_vae_sample(model, jax.random.key(seed + 1)), seed))
  return out


def _picture_vae(model, split, seed, path, plt):
  return _picture_samples(_vae_sample(model, jax.random.key(seed + 1)), plt, "VAE samples")


# --- GAN ------------------------------------------------------------------------------------


def _gan_objective(loss_fn, split):
  """Adversarial objectives built from a catalog loss on discriminator logits:
  ``binary_cross_entropy``-like losses (logits, {0,1} labels) give the
  standard / non-saturating GAN; ``mse``-like losses (values, targets) give
  least-squares GAN; ``hinge_loss``-like losses (scores, ±1 labels) give the
  hinge GAN's generator and discriminator terms."""
  info = _info_of(loss_fn)
  pm1 = info is not None and ("hinge" in info.name or "logistic" in info.name)
  pos, neg = (1.0, -1.0) if pm1 else (1.0, 0.0)

  def fakes(model, batch):
    n = batch["x"].shape[0]
    z = jax.random.normal(batch["key"], (n, model.latent))
    return model.generator(z)

  def d_obj(model, batch):
    real = model.discriminator(batch["x"])
    fake = model.discriminator(jax.lax.stop_gradient(fakes(model, batch)))
    lr, _ = _as_objective_value(bind_loss(loss_fn, real, jnp.full_like(real, pos)))
    lf, _ = _as_objective_value(bind_loss(loss_fn, fake, jnp.full_like(fake, neg)))
    return lr + lf

  def g_obj(model, batch):
    fake = model.discriminator(fakes(model, batch))
    loss, _ = _as_objective_value(bind_loss(loss_fn, fake, jnp.full_like(fake, pos)))
    return loss

  return [training.Phase(d_obj, wrt=nnx.All(nnx.Param, nnx.PathContains("discriminator")),
                         name="loss_d"),
          training.Phase(g_obj, wrt=nnx.All(nnx.Param, nnx.PathContains("generator")),
                         name="loss")]


def _gan_optimizers(model, lr):
  tx = lambda: optax.adam(lr, b1=0.5)
  return (training.make_optimizer(model, tx(), nnx.All(nnx.Param,
                                                       nnx.PathContains("discriminator"))),
          training.make_optimizer(model, tx(), nnx.All(nnx.Param, nnx.PathContains("generator"))))


_gan_sample = nnx.jit(lambda m, k: m.sample(k, 256))


def _eval_gan(model, split, seed):
  return _sample_quality(_gan_sample(model, jax.random.key(seed + 1)), seed)


def _picture_gan(model, split, seed, path, plt):
  return _picture_samples(_gan_sample(model, jax.random.key(seed + 1)), plt, "GAN samples")


# --- diffusion ------------------------------------------------------------------------------

_T = 100


def _schedule():
  betas = jnp.linspace(1e-4, 0.2, _T)
  return betas, jnp.cumprod(1 - betas)


def _diffusion_objective(loss_fn, split):
  """DDPM noise prediction: ``loss(eps_hat, eps)`` on ``x_t = sqrt(a_t) x +
  sqrt(1 - a_t) eps`` with uniformly drawn ``t`` (a linear beta schedule, 100 steps)."""

  def obj(model, batch):
    x = batch["x"]
    k1, k2 = jax.random.split(batch["key"])
    t = jax.random.randint(k1, (x.shape[0],), 0, _T)
    eps = jax.random.normal(k2, x.shape)
    _, abar = _schedule()
    a = abar[t][:, None, None, None]
    xt = jnp.sqrt(a) * x + jnp.sqrt(1 - a) * eps
    return _as_objective_value(bind_loss(loss_fn, model(xt, t), eps))

  return [training.Phase(obj, has_aux=True)]


@nnx.jit
def _diffusion_sample(model, key):
  betas, abar = _schedule()
  alphas = 1 - betas
  k0, key = jax.random.split(key)
  x = jax.random.normal(k0, (256, 8, 8, 1))

  def body(i, carry):
    x, key = carry
    t = _T - 1 - i
    key, k = jax.random.split(key)
    eps = model(x, jnp.full((x.shape[0],), t))
    mean = (x - betas[t] / jnp.sqrt(1 - abar[t]) * eps) / jnp.sqrt(alphas[t])
    noise = jnp.where(t > 0, 1.0, 0.0) * jnp.sqrt(betas[t]) * jax.random.normal(k, x.shape)
    return mean + noise, key

  x, _ = jax.lax.fori_loop(0, _T, body, (x, key))
  return jnp.clip(x, -1, 1)


def _eval_diffusion(model, split, seed):
  return _sample_quality(_diffusion_sample(model, jax.random.key(seed + 1)), seed)


def _picture_diffusion(model, split, seed, path, plt):
  return _picture_samples(_diffusion_sample(model, jax.random.key(seed + 1)), plt,
                          "diffusion samples")


# --- the task table -------------------------------------------------------------------------

_CLS_LOSSES = ("cross_entropy", "focal_loss", "poly1_cross_entropy", "multiclass_hinge_loss",
               "symmetric_cross_entropy", "generalized_cross_entropy", "bi_tempered_logistic_loss")
_IMB_LOSSES = ("cross_entropy", "weighted_cross_entropy", "balanced_cross_entropy", "focal_loss",
               "poly1_cross_entropy")


TASKS: dict[str, Task] = {t.name: t for t in [
    Task("classification", "digits (8x8 images, 10 classes), CNN; accuracy / macro-F1",
         ("image classification",),
         load=lambda s: _digits_as_images(data.digits(s)),
         build=lambda sp, r: models.CNNClassifier(1, 10, width=16, rngs=r),
         forward=_forward_logits, evaluate=_eval_classification,
         primary="accuracy", higher_is_better=True, preferred=_CLS_LOSSES,
         columns=("accuracy", "macro_f1"), steps=200, static_extras=_class_weights),
    Task("imbalanced-classification",
         "long-tailed digits (class 9 has 1/20 of class 0), CNN; macro-F1 on a balanced test set",
         ("image classification",),
         load=lambda s: _digits_as_images(data.imbalanced_digits(s)),
         build=lambda sp, r: models.CNNClassifier(1, 10, width=16, rngs=r),
         forward=_forward_logits, evaluate=_eval_classification,
         primary="macro_f1", higher_is_better=True, preferred=_IMB_LOSSES,
         columns=("macro_f1", "accuracy", "tail_recall"), steps=200,
         static_extras=_class_weights),
    Task("tabular-regression", "diabetes (10 features), MLP; test MAE in target units",
         ("tabular regression", "regression"),
         load=lambda s: data.diabetes(s),
         build=lambda sp, r: models.MLP(sp.x_train.shape[1], 1, (32,), rngs=r),
         forward=_forward_scalar, evaluate=_eval_regression,
         primary="mae", higher_is_better=False,
         preferred=("mse", "mae", "huber_loss", "log_cosh_loss", "general_robust_loss",
                    "quantile_loss"),
         columns=("mae", "rmse", "r2"), steps=150, lr=3e-3, picture=_picture_regression),
    Task("segmentation",
         "procedural shapes (32x32, 4 classes, rare tiny squares), U-Net; IoU of the rarest class",
         ("semantic segmentation",),
         load=lambda s: data.segmentation_shapes(s),
         build=lambda sp, r: models.UNet(1, sp.info["num_classes"], width=8, rngs=r),
         forward=_forward_logits, evaluate=_eval_segmentation,
         primary="rare_iou", higher_is_better=True,
         preferred=("cross_entropy", "dice_loss", "focal_loss", "tversky_loss",
                    "lovasz_softmax_loss", "dice_ce_loss"),
         columns=("rare_iou", "mean_iou", "pixel_accuracy"), steps=250, batch_size=16, lr=5e-3,
         picture=_picture_segmentation, static_extras=_class_weights),
    Task("detection", "one shape per noisy 32x32 image, box regressor; mean box IoU",
         ("bounding-box regression", "object detection"),
         load=lambda s: data.detection_shapes(s),
         build=lambda sp, r: models.BoxRegressor(1, width=8, rngs=r),
         forward=_forward_logits, evaluate=_eval_detection,
         primary="mean_iou", higher_is_better=True,
         preferred=("smooth_l1_loss", "iou_loss", "giou_loss", "diou_loss", "ciou_loss",
                    "eiou_loss", "siou_loss"),
         columns=("mean_iou", "ap50", "ap75"), steps=300, batch_size=32, lr=3e-3,
         picture=_picture_detection),
    Task("embedding", "digits, train on classes 0-6, test on unseen 7-9; Recall@1",
         ("metric learning",),
         load=lambda s: data.digits_heldout_classes(s),
         build=lambda sp, r: models.EmbeddingNet(sp.x_train.shape[1], dim=32, hidden=128,
                                                 num_classes=10, rngs=r),
         forward=_forward_embedding, evaluate=_eval_embedding,
         primary="recall_at_1", higher_is_better=True,
         preferred=("contrastive_loss", "triplet_loss", "supcon_loss", "multi_similarity_loss",
                    "circle_loss", "proxy_anchor_loss", "arcface_loss"),
         columns=("recall_at_1", "map_at_r"), steps=300, batch_size=128, lr=1e-3,
         picture=_picture_embedding),
    Task("forecasting", "Google daily log price (matplotlib sample data), 1-D conv; MAE / CRPS",
         ("time-series forecasting", "probabilistic forecasting"),
         load=lambda s: data.series(s),
         build=lambda sp, r: models.Forecaster(sp.x_train.shape[1], sp.y_train.shape[1],
                                               rngs=r),
         forward=_forward_forecast, evaluate=_eval_forecast,
         primary="crps", higher_is_better=False,
         preferred=("mse", "mae", "huber_loss", "quantile_loss", "gaussian_nll", "laplace_nll",
                    "crps_gaussian", "student_t_nll"),
         columns=("mae", "crps", "mae_vs_naive", "coverage90"), steps=300, lr=1e-3,
         picture=_picture_forecast),
    Task("vae", "digit images, MLP VAE; ELBO (Gaussian decoder, sigma 0.1), sample score",
         ("image reconstruction", "image generation"),
         load=lambda s: data.digit_images(s),
         build=lambda sp, r: models.VAE((8, 8, 1), latent=8, hidden=128, rngs=r),
         evaluate=_eval_vae, objective=_vae_objective, stochastic=True,
         primary="elbo", higher_is_better=True,
         preferred=("vae_loss", "mse", "mae", "charbonnier_loss", "log_cosh_loss"),
         columns=("elbo", "recon_mse", "kl", "sample_score"), steps=400, lr=2e-3,
         picture=_picture_vae),
    Task("gan", "digit images, DCGAN; sample score of a digit classifier",
         ("image generation",),
         load=lambda s: data.digit_images(s),
         build=lambda sp, r: models.GAN(latent=16, width=32, rngs=r),
         evaluate=_eval_gan, objective=_gan_objective, optimizers=_gan_optimizers,
         stochastic=True, primary="sample_score", higher_is_better=True,
         preferred=("binary_cross_entropy", "mse", "hinge_loss"),
         columns=("sample_score", "confidence"), steps=400, lr=1e-3, picture=_picture_gan),
    Task("diffusion", "digit images, DDPM denoiser (100 steps); sample score",
         ("image generation",),
         load=lambda s: data.digit_images(s),
         build=lambda sp, r: models.Denoiser(1, width=32, rngs=r),
         evaluate=_eval_diffusion, objective=_diffusion_objective, stochastic=True,
         primary="sample_score", higher_is_better=True,
         preferred=("diffusion_loss", "mse", "mae", "huber_loss", "charbonnier_loss"),
         columns=("sample_score", "confidence"), steps=400, lr=2e-3,
         picture=_picture_diffusion),
]}


def task_names() -> list[str]:
  return list(TASKS)


def get_task(name: str) -> Task:
  if name not in TASKS:
    raise KeyError(f"unknown task {name!r}; valid tasks: {', '.join(TASKS)}")
  return TASKS[name]


def _info_of(fn):
  for i in catalog.all_losses():
    if i.fn is fn:
      return i
  return None


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


# ---------------------------------------------------------------------------------------------
# recommend

_LEVEL = {"high": 2, "medium": 1, "low": 0}

# What each situation looks for in a loss's metadata (catalog tasks, grade notes,
# docstring). Survey, Section 2 (challenges): class imbalance, outliers / noisy
# targets, label noise, multimodal / uncertain targets, computational budget.
_SITUATIONS = {
    "imbalanced": ("class imbalance",
                   ("imbalanc", "rare class", "long-tail", "minority", "class weight",
                    "class_weights", "hard example", "hard-example", "small object", "overlap"),
                   (r"(?<!im)balanced classes",)),
    "outliers": ("outliers",
                 ("robust regression", "outlier-robust", "robust", "heavy-tailed",
                  "bounded gradient", "gradient bounded", "is bounded", "less sensitive to outl",
                  "insensitive to outl"),
                 (r"grows with outlier", r"(?<!in)(?<!less )sensitive to outlier", r"unbounded")),
    "noisy_labels": ("noisy labels",
                     ("learning with noisy labels", "noisy label", "label noise", "noise-robust"),
                     (r"(?<!in)sensitive to label noise",)),
    "multimodal": ("multimodal / uncertain targets",
                   ("multimodal", "multi-modal", "quantile", "probabilistic forecasting",
                    "likelihood", "mixture", "uncertainty"),
                   ()),
}


def _evidence(info) -> str:
  doc = (info.fn.__doc__ or "").split("Args:")[0]
  return " ".join([*info.tasks, info.efficiency.note, info.complexity.note, info.stability.note,
                   doc]).lower()


def _task_vocab(task: str) -> tuple[str, ...]:
  if task in TASKS:
    return TASKS[task].catalog_tasks
  return (task,)


def recommend(task: str, *, imbalanced=False, outliers=False, noisy_labels=False,
              multimodal=False, budget: str = "high", top: int = 8) -> list[dict]:
  """Rank the catalog's losses for ``task`` (a workbench task or a catalog task
  substring) from their metadata and the situation flags.

  Each entry: ``{"name", "score", "reasons": [...]}``. The score adds: the
  gradient-stability grade (always), the efficiency and implementation
  complexity grades (weighted up with ``budget="low"``), and for every flag
  set, evidence that the loss addresses it — the flag's keywords in the loss's
  catalog tasks, grade notes or docstring.
  """
  if budget not in ("low", "high"):
    raise ValueError(f"budget must be 'low' or 'high', got {budget!r}")
  if task in TASKS:
    cands = {n: catalog.get(n) for n in candidate_losses(TASKS[task])}
  else:
    cands = {i.name: i for i in catalog.by_task(task)}
  vocab = _task_vocab(task)
  if not cands:
    raise KeyError(f"no loss in the catalog for task {task!r}; workbench tasks: "
                   f"{', '.join(TASKS)}; catalog tasks: "
                   f"{', '.join(sorted({t for i in catalog.all_losses() for t in i.tasks}))}")
  flags = {"imbalanced": imbalanced, "outliers": outliers, "noisy_labels": noisy_labels,
           "multimodal": multimodal}
  w_cost = 1.0 if budget == "low" else 0.35
  ranked = []
  for i in cands.values():
    reasons = []
    score = 1.0 * _LEVEL[i.stability.level]
    score += w_cost * _LEVEL[i.efficiency.level]
    score += w_cost * (2 - _LEVEL[i.complexity.level])
    primary = [t for t in i.tasks if any(v.lower() == t.lower() for v in vocab)]
    if primary:
      score += 0.5
    text = _evidence(i)
    for flag, on in flags.items():
      if not on:
        continue
      label, words, against = _SITUATIONS[flag]
      hits = [w for w in words if w in text]
      misses = [m.group(0) for pat in against for m in [re.search(pat, text)] if m]
      if misses:
        score -= 1.0
        reasons.append(f"weak on {label} ({', '.join(misses[:2])})")
      elif hits:
        score += 2.0 + 0.25 * min(len(hits), 4)
        reasons.append(f"addresses {label} ({', '.join(hits[:3])})")
    reasons.append(f"stability {i.stability.level}: {i.stability.note}")
    if budget == "low":
      reasons.append(f"efficiency {i.efficiency.level}: {i.efficiency.note}; "
                     f"complexity {i.complexity.level}")
    if i.graded_by == "survey":
      reasons.append("graded by the survey")
    ranked.append({"name": i.name, "family": i.family, "score": round(score, 3),
                   "grades": f"{i.efficiency.level}/{i.complexity.level}/{i.stability.level}",
                   "reasons": reasons})
  ranked.sort(key=lambda r: (-r["score"], r["name"]))
  return ranked[:top]
