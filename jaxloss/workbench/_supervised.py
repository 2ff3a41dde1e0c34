"""Evaluation and pictures of the supervised tasks (classification to forecasting)."""

from __future__ import annotations

import dataclasses
import inspect

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxloss.workbench.task import _predict_batches

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
  import matplotlib.patches as mpatches

  cmap = plt.get_cmap("viridis")
  names = split.info.get("class_names", [str(c) for c in range(4)])
  handles = [mpatches.Patch(color=cmap(c / 3), label=n) for c, n in enumerate(names)]
  fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8)
  fig.subplots_adjust(bottom=0.08)
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
    extras = {"centers": model.proxies[...]}
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
  # ``df``: Student-t degrees of freedom, fixed at 5 (a heavy-tailed choice).
  return loc, batch["y"], {"var": scale ** 2, "std": scale, "scale": scale, "sigma": scale,
                           "df": jnp.asarray(5.0, loc.dtype)}


def _uses_scale(fn):
  """Whether a loss trains the forecaster's scale head (it takes a var/std/scale)."""
  if fn is None:
    return True
  names = {p.name for p in inspect.signature(fn).parameters.values()}
  return bool(names & {"var", "std", "scale", "sigma"})


def _eval_forecast(model, split, seed, fn=None):
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
  if not _uses_scale(fn):
    # a point forecast: its scale head was never trained, so it has no interval (coverage
    # n/a) and its CRPS is that of a point mass, the MAE
    return {"mae": mae, "crps": mae, "mae_vs_naive": mae / naive, "coverage90": None}
  return {"mae": mae, "crps": float(np.mean(crps)), "mae_vs_naive": mae / naive,
          "coverage90": float(np.mean(np.abs(z) < 1.6449))}


def _picture_forecast(model, split, seed, path, plt, fn=None):
  loc, scale = jax.device_get(_logits(model, jnp.asarray(split.x_test[:4])))
  c, h = split.x_test.shape[1], split.y_test.shape[1]
  fig, axes = plt.subplots(1, 4, figsize=(12, 2.5))
  for i, ax in enumerate(axes):
    ax.plot(range(c), split.x_test[i], "k-", lw=1)
    ax.plot(range(c, c + h), split.y_test[i], "g-", lw=1.5, label="truth")
    ax.plot(range(c, c + h), loc[i], "r-", lw=1.5, label="forecast")
    if _uses_scale(fn):   # a point-forecast loss never trained the scale head: no band
      ax.fill_between(range(c, c + h), loc[i] - 1.64 * scale[i], loc[i] + 1.64 * scale[i],
                      color="r", alpha=0.2, label="90% interval")
    ax.set_xlabel("day")
  axes[0].set_ylabel("log price (standardised)")
  axes[0].legend(fontsize=7)
  return fig
