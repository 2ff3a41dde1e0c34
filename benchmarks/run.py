"""Every catalog loss, timed beside optax and a memory-bound baseline, in one run.

    python -m benchmarks [--families regression,classification] [--losses mse,cross_entropy]
                         [--quick] [--scale 1.0] [--budget 0.5] [--out DIR] [--summary PATH]

For every loss in :mod:`jaxloss.catalog` the runner builds inputs from the
loss's own ``example(key)``, scaled to a realistic size (below), and measures,
in one process and interleaved round-robin with its baselines (so a busy phase
of a shared machine hits them alike):

* jitted forward and ``value_and_grad`` (w.r.t. the catalog's ``grad_argnums``)
  time — warm-up, then the median of many runs with ``block_until_ready``;
* compile time and peak temporary memory
  (``jax.jit(f).lower(...).compile().memory_analysis().temp_size_in_bytes``);
* the **memory-bound baseline**: one pass over the same input arrays,
  ``sum_i jnp.sum(x_i * x_i)`` (integer inputs summed as float), and its
  ``value_and_grad`` w.r.t. the same arguments — it reads every input byte once
  and writes every gradient once, the floor for any loss on these inputs;
* the **optax equivalent** where one exists (:data:`OPTAX`), on the same
  inputs (label encodings such as one-hot are prepared outside the timed call);
* for losses whose cost grows faster than their input (:data:`SUPERLINEAR`:
  pairwise metric losses, Lovász, soft-DTW, contextual loss, ...), the
  ``value_and_grad`` time at three sizes and the fitted exponent.

Sizing. Element-wise losses (one loss value per input element) and row-wise
losses (one per row of a class/feature axis) are tiled along the batch axis to
``10**7`` elements of the first argument; other losses to ``10**6``.
Tiling repeats the example along axis 0 (every array argument whose leading
axis is the example's batch), so inputs stay valid for the loss and keep the
example's inner shape (e.g. its class count). A few losses have a dedicated
builder (:data:`CUSTOM`: large-vocabulary cross-entropy, CTC); a loss whose
tiled input fails validation is measured at its example size and marked so.
``--scale`` multiplies every target size, ``--quick`` shrinks them (smoke test).

Writes ``<out>/<date>-<machine>.json`` (default ``benchmarks/results``), prints
a markdown table, and — on a full run — writes ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime
import inspect
import json
import math
import pathlib
import sys
import time
import traceback

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxloss
from benchmarks._timing import markdown, time_interleaved, write_results
from jaxloss import catalog
from jaxloss.catalog import cases

ELEMENTWISE_ELEMENTS = 10**7
OTHER_ELEMENTS = 10**6
QUICK_DIVISOR = 1000

# --------------------------------------------------------------------------- optax equivalents


def _mean(x):
  return jnp.mean(x)


def _one_hot_labels(args, kwargs):
  logits, labels = args[0], args[1]
  return (jax.nn.one_hot(labels, logits.shape[-1], dtype=logits.dtype),)


def _ntxent_labels(args, kwargs):
  b = args[0].shape[0]
  return (jnp.concatenate([jnp.arange(b), jnp.arange(b)]),)


def _ctc_paddings(args, kwargs):
  logits, labels = args[0], args[1]
  return (jnp.zeros(logits.shape[:2], logits.dtype), jnp.zeros(labels.shape, logits.dtype))


def _zero_one_labels(args, kwargs):
  return ((args[1] + 1.0) / 2.0,)


# name -> (optax function name, prepare(args, kwargs) -> extra args or None, fn(*args, *extra)).
# ``fn`` takes the jaxloss positional arguments first (so ``grad_argnums`` mean
# the same inputs), then the prepared extras (never differentiated).
OPTAX = {
    "mse": ("squared_error", None,
            lambda p, t: _mean(optax.losses.squared_error(p, t))),
    "huber_loss": ("huber_loss", None,
                   lambda p, t: _mean(optax.losses.huber_loss(p, t, delta=1.0))),
    "log_cosh_loss": ("log_cosh", None, lambda p, t: _mean(optax.losses.log_cosh(p, t))),
    "cosine_similarity_loss": ("cosine_distance", None,
                               lambda p, t: _mean(optax.losses.cosine_distance(p, t))),
    "binary_cross_entropy": ("sigmoid_binary_cross_entropy", None,
                             lambda x, y: _mean(optax.losses.sigmoid_binary_cross_entropy(x, y))),
    "logistic_loss": ("sigmoid_binary_cross_entropy on (y+1)/2", _zero_one_labels,
                      lambda x, y, y01: _mean(optax.losses.sigmoid_binary_cross_entropy(x, y01))),
    "sigmoid_focal_loss": ("sigmoid_focal_loss", None,
                           lambda x, y: _mean(optax.losses.sigmoid_focal_loss(
                               x, y, alpha=0.25, gamma=2.0))),
    "hinge_loss": ("hinge_loss", None, lambda s, y: _mean(optax.losses.hinge_loss(s, y))),
    "cross_entropy": ("softmax_cross_entropy_with_integer_labels", None,
                      lambda x, y: _mean(
                          optax.losses.softmax_cross_entropy_with_integer_labels(x, y))),
    "poly1_cross_entropy": ("poly_loss_cross_entropy (one-hot labels)", _one_hot_labels,
                            lambda x, y, oh: _mean(optax.losses.poly_loss_cross_entropy(
                                x, oh, epsilon=2.0))),
    "kl_divergence": ("kl_divergence(log_softmax(logits), targets)", None,
                      lambda x, t: _mean(optax.losses.kl_divergence(jax.nn.log_softmax(x), t))),
    "dice_loss": ("dice_loss (one-hot labels)", _one_hot_labels,
                  lambda x, y, oh: _mean(optax.losses.dice_loss(x, oh))),
    "generalized_dice_loss": ("multiclass_generalized_dice_loss (one-hot labels)", _one_hot_labels,
                              lambda x, y, oh: _mean(
                                  optax.losses.multiclass_generalized_dice_loss(x, oh))),
    "nt_xent_loss": ("ntxent (concatenated views, pair ids)", _ntxent_labels,
                     lambda z1, z2, lab: optax.losses.ntxent(
                         jnp.concatenate([z1, z2]), lab, temperature=0.07)),
    "triplet_margin_loss": ("triplet_margin_loss", None,
                            lambda a, p, n: _mean(optax.losses.triplet_margin_loss(
                                a, p, n, margin=1.0, eps=1e-6))),
    "listnet_loss": ("ranking_softmax_loss", None,
                     lambda s, y: optax.losses.ranking_softmax_loss(s, y)),
    "ctc_loss": ("ctc_loss (no padding)", _ctc_paddings,
                 lambda x, y, lp, yp: _mean(optax.losses.ctc_loss(x, lp, y, yp))),
    "chunked_cross_entropy": ("softmax_cross_entropy_with_integer_labels", None,
                              lambda x, y: _mean(
                                  optax.losses.softmax_cross_entropy_with_integer_labels(x, y))),
    "linear_cross_entropy": ("softmax_cross_entropy_with_integer_labels(h @ W.T)", None,
                             lambda h, w, y: _mean(
                                 optax.losses.softmax_cross_entropy_with_integer_labels(
                                     h @ w.T, y))),
}

# --------------------------------------------------------------------------- super-linear losses

_PAIRWISE = ("circle_loss", "clip_loss", "infonce_loss", "lifted_structure_loss",
             "multi_similarity_loss", "npair_loss", "nt_xent_loss", "siglip_loss", "supcon_loss",
             "triplet_loss", "reid_loss", "text_image_matching_loss", "sharded_clip_loss",
             "sharded_siglip_loss")

# name -> (scaled axes, three target sizes of the product of those axes of the
# first argument, target length of axis 0 (None: keep the example's batch)).
SUPERLINEAR = {
    **{n: ((0,), (128, 512, 2048), None) for n in _PAIRWISE},
    "ranknet_loss": ((1,), (64, 256, 1024), 16),
    "listmle_loss": ((1,), (64, 256, 1024), 16),
    "lovasz_hinge_loss": ((1, 2), (32**2, 64**2, 128**2), 8),
    "lovasz_softmax_loss": ((1, 2), (32**2, 64**2, 128**2), 8),
    # the distance transform is computed inside the loss, so sizes stay moderate.
    "hausdorff_dt_loss": ((1, 2), (16**2, 32**2, 64**2), 8),
    "soft_dtw": ((1,), (64, 128, 256), 32),
    "soft_dtw_divergence": ((1,), (64, 128, 256), 32),
    "dilate_loss": ((1,), (64, 128, 256), 32),
    "contextual_loss": ((1, 2), (8**2, 16**2, 32**2), 4),
    "crps_ensemble": ((2,), (16, 64, 256), 64),
}

# --------------------------------------------------------------------------- dedicated builders


def _lce_inputs(key, scale):
  n, d, v = _dims(scale, (1024, 256, 8192))
  k1, k2, k3 = jax.random.split(key, 3)
  h = jax.random.normal(k1, (n, d))
  w = 0.05 * jax.random.normal(k2, (v, d))
  y = jax.random.randint(k3, (n,), 0, v)
  return (h, w, y), {"chunk_size": max(v // 4, 1)}


def _cce_inputs(key, scale):
  n, v = _dims(scale, (1024, 8192))
  k1, k2 = jax.random.split(key)
  x = 2.0 * jax.random.normal(k1, (n, v))
  y = jax.random.randint(k2, (n,), 0, v)
  return (x, y), {"chunk_size": max(v // 4, 1)}


def _ctc_inputs(key, scale):
  b, t, c, length = _dims(scale, (64, 100, 32, 20))
  k1, k2 = jax.random.split(key)
  x = 2.0 * jax.random.normal(k1, (b, t, c))
  y = jax.random.randint(k2, (b, length), 1, c)
  return (x, y), {}


def _dims(scale, dims):
  """Shrinks every dimension by ``scale ** (1/len(dims))`` (at least 2)."""
  f = scale ** (1.0 / len(dims))
  return tuple(max(2, int(round(d * f))) for d in dims)


# name -> builder(key, scale) -> (args, kwargs); scale 1 is the full size.
CUSTOM = {
    "linear_cross_entropy": _lce_inputs,
    "chunked_cross_entropy": _cce_inputs,
    "ctc_loss": _ctc_inputs,
}

# Why a target is missed, written after reading the profile of a full run.
# Shown beside the loss in RESULTS.md (keep them short and factual).
_TRANSCENDENTAL = ("compute-bound, not memory-bound: {ops} per element; on this CPU XLA's "
                   "vectorised transcendentals cost more than reading the inputs, so no "
                   "implementation of the formula reaches 1.2x the one-pass baseline")
_LGAMMA = ("{ops}; XLA:CPU lowers lgamma and digamma to kernels that do not fuse, each "
           "materialising an N-sized array (jnp.mean(gammaln(x)) alone needs 40 MB of temp at "
           "N=1e7), and the backward pass keeps {temp} of them. Not the autodiff: a custom_vjp "
           "with the closed-form gradient, tried on student_t_nll, was 10% faster (8.2x vs 9.0x "
           "the baseline in one run) with the same 1.08 GB of temp, so it was not kept")
_RESIDUAL = ("the residual p - t is written once and re-read by the value and both gradients "
             "(XLA:CPU does not multi-output-fuse the reduction with its element-wise "
             "consumers); optax's equivalent has the same structure")
_NOISE = ("forward and value_and_grad disagree in direction or the gap is within the "
          "run-to-run spread on this shared 2-core machine (mse's vg moved 75-125 ms between "
          "runs); re-measure on a quiet machine before optimising")
NOTES: dict[str, str] = {
    "negative_binomial_nll": _LGAMMA.format(ops="lgamma (and digamma in the gradient)",
                                             temp="~1.7 GB"),
    "beta_nll": _LGAMMA.format(ops="three lgamma and two logs (three digamma in the gradient)",
                               temp="~1.3 GB"),
    "student_t_nll": _LGAMMA.format(ops="lgamma, log1p and digamma in the gradient",
                                     temp="~1 GB"),
    "gamma_nll": _LGAMMA.format(ops="lgamma, log and digamma in the gradient", temp="~0.6 GB"),
    "quantile_loss": ("targets broadcast against a trailing axis of 3 quantile levels, two "
                      "branches per entry and the quantile-crossing term over adjacent levels "
                      "(191 MB temp): several passes over a short minor axis"),
    "trend_aware_loss": ("a centred moving average of the error (series decomposition, edge "
                         "replication) and its first differences on top of the squared error"),
    "binary_cross_entropy_from_probs": _TRANSCENDENTAL.format(ops="two clipped logs"),
    "logistic_regression_loss": _TRANSCENDENTAL.format(ops="softplus (exp + log1p)"),
    "binary_cross_entropy": _TRANSCENDENTAL.format(ops="log-sigmoid (exp + log1p)")
    + "; optax's sigmoid_binary_cross_entropy is in the same range (vg/optax ~1.1, within noise)",
    "sigmoid_focal_loss": _TRANSCENDENTAL.format(ops="log-sigmoid, sigmoid and a power")
    + "; still faster than optax's",
    "crps_gaussian": _TRANSCENDENTAL.format(ops="erf, exp"),
    "mape": "a safe division (double where) per element and its gradient",
    "smape": "two absolute values and a safe division per element",
    "wape": "two reductions (errors and targets) and their ratio's gradient",
    "mase": ("the seasonal differences of the history (an extra input) and a division per "
             "element"),
    "log_cosh_loss": _TRANSCENDENTAL.format(ops="a stable log-cosh (exp + log1p)")
    + ". vs optax (faster forward, slower vg): " + _NOISE,
    "laplace_nll": _TRANSCENDENTAL.format(ops="log, exp"),
    "gaussian_nll": _TRANSCENDENTAL.format(ops="log, a division"),
    "poisson_nll": _TRANSCENDENTAL.format(ops="exp"),
    "gan_generator_loss": _TRANSCENDENTAL.format(ops="softplus"),
    "gan_discriminator_loss": _TRANSCENDENTAL.format(ops="softplus on two inputs"),
    "adaptive_robust_loss": _TRANSCENDENTAL.format(ops="the Barron general form (pow, log1p)"),
    "general_robust_loss": _TRANSCENDENTAL.format(ops="the Barron general form (pow, log1p)"),
    "charbonnier_loss": _TRANSCENDENTAL.format(ops="sqrt"),
    "msle": _TRANSCENDENTAL.format(ops="two log1p"),
    "huber_loss": "a select between two branches per element; " + _RESIDUAL
    + ". vs optax: " + _NOISE,
    "hinge_embedding_loss": "a select on the label per element and a max",
    "logistic_loss": _TRANSCENDENTAL.format(ops="softplus"),
    "hinge_loss": "a max per element and its gradient mask; vs optax: " + _NOISE,
    "squared_hinge_loss": "a max and a square per element and the gradient mask",
    "cycle_consistency_loss": _RESIDUAL.replace("; optax's equivalent has the same structure",
                                                "") + " (an L1 of images)",
    "reconstruction_loss": _RESIDUAL.replace("; optax's equivalent has the same structure", ""),
    "mse": _RESIDUAL,
    "mae": _RESIDUAL.replace("; optax's equivalent has the same structure", ""),
    "margin_ranking_loss": "a max and a product per element; within noise of the target",
    "cross_entropy": ("materialises the full (N, C) log_softmax and gathers from it (plus the "
                      "ignore_index mask and its count), where optax computes "
                      "logsumexp(logits) - logits[label] without the (N, C) intermediate; an "
                      "integer-label fast path doing the same would close it"),
    "chunked_cross_entropy": ("an online log-sum-exp over 4 vocabulary chunks (a loop) when the "
                              "logits already exist: it trades time for O(N x chunk) memory; "
                              "with chunk_size >= V it is one pass"),
    "listnet_loss": ("not the same computation: jaxloss's default "
                     "label_distribution='softmax' takes a second softmax over the labels, "
                     "optax's ranking_softmax_loss normalises them by their sum "
                     "(jaxloss's label_distribution=None)"),
    "triplet_margin_loss": _NOISE,
    "kl_divergence": ("takes logits (log_softmax inside) and targets with xlogy safety; "
                      "optax's kl_divergence takes log-predictions. vg ratio: ") + _NOISE,
    "cosine_similarity_loss": "safe norms (double where, torch's eps) per row; " + _NOISE,
    "dice_loss": "MONAI's options (include_background, ignore_index, masks); " + _NOISE,
    "generalized_dice_loss": _NOISE,
    "triplet_loss": ("O(B^3) with the default mining='all' (every valid triplet, as "
                     "pytorch-metric-learning's TripletMarginLoss): a (B, B, B) tensor, out of "
                     "memory at B=2048 (64 GiB). Inherent to batch-all in compute; chunking over "
                     "anchors would bound the memory; mining='hard' is O(B^2)"),
    "lifted_structure_loss": ("O(B^3): a (B, B, B) tensor of pair-vs-negative terms (out of "
                              "memory at B=2048: 145 GiB); the log-sum-exp over each positive pair's "
                              "negatives only needs per-anchor sums (sum_k exp(m - D_ik) + "
                              "sum_k exp(m - D_jk)), which makes it O(B^2)"),
    "dilate_loss": ("the soft-DTW temporal term's backward builds a (B, n, m) path matrix with a "
                    "scatter-add that XLA constant-folds at compile time (compile 7 s at n=256)"),
}

# --------------------------------------------------------------------------- inputs


def _is_array(x):
  return isinstance(x, (jax.Array, np.ndarray)) and not jax.dtypes.issubdtype(
      x.dtype, jax.dtypes.prng_key)


def _tile_axis(x, axis, factor):
  reps = [1] * x.ndim
  reps[axis] = factor
  return jnp.tile(x, reps)


def tile_example(args, kwargs, static, axes=(0,), factor=1, batch_factor=1):
  """Repeats every batch-aligned array input ``factor`` times along ``axes``.

  An array (positional or non-static keyword) is batch-aligned when its
  leading axis has the first argument's length; axis 0 is tiled by
  ``batch_factor`` (or ``factor`` when ``axes`` is ``(0,)``).
  """
  n = args[0].shape[0]

  def grow(x):
    if not _is_array(x) or x.ndim == 0 or x.shape[0] != n:
      return x
    if axes == (0,):
      return _tile_axis(x, 0, factor)
    for a in axes:
      if a < x.ndim:
        x = _tile_axis(x, a, factor)
    return _tile_axis(x, 0, batch_factor) if batch_factor > 1 else x

  new_args = tuple(grow(a) for a in args)
  new_kwargs = {k: (v if k in static else grow(v)) for k, v in kwargs.items()}
  return new_args, new_kwargs


def loss_kind(info, args, kwargs):
  """'element-wise', 'row-wise' or 'other', from the unreduced output shape."""
  if "reduction" not in inspect.signature(info.fn).parameters:
    return "other"
  try:
    shape = jax.eval_shape(lambda *a: info.fn(*a, **{**kwargs, "reduction": "none"}), *args).shape
  except Exception:  # noqa: BLE001 - e.g. a loss whose "none" needs other options
    return "other"
  if shape == args[0].shape:
    return "element-wise"
  if shape == args[0].shape[:-1]:
    return "row-wise"
  return "other"


def build_inputs(info, key, *, quick, scale, size_index=None):
  """``(args, kwargs, note)`` of the loss at its benchmark size.

  ``size_index`` picks one of the three :data:`SUPERLINEAR` sizes.
  """
  static = set(getattr(info.fn, "static_argnames", ()))
  if info.name in CUSTOM:
    s = scale / (QUICK_DIVISOR if quick else 1)
    args, kwargs = CUSTOM[info.name](key, s)
    return args, kwargs, "dedicated size"
  args, kwargs = cases.get(info.name).example(key)
  if info.name in SUPERLINEAR:
    axes, sizes, batch = SUPERLINEAR[info.name]
    target = sizes[-1 if size_index is None else size_index]
    if quick:
      target = max(1, target // 16)
    current = math.prod(args[0].shape[a] for a in axes)
    factor = max(1, round((target / current) ** (1.0 / len(axes))))  # per tiled axis
    if axes == (0,):
      return (*tile_example(args, kwargs, static, axes, factor), "")
    batch_factor = max(1, round((batch // (4 if quick else 1)) / args[0].shape[0])) if batch else 1
    return (*tile_example(args, kwargs, static, axes, factor, batch_factor), "")
  kind = loss_kind(info, args, kwargs)
  target = ELEMENTWISE_ELEMENTS if kind in ("element-wise", "row-wise") else OTHER_ELEMENTS
  target = int(target * scale / (QUICK_DIVISOR if quick else 1))
  factor = max(1, math.ceil(target / args[0].size))
  return (*tile_example(args, kwargs, static, (0,), factor), "")


def split_traced(info, args, kwargs):
  """``(fn, xs)``: ``fn(*xs)`` calls the loss; array kwargs become trailing traced args."""
  static = set(getattr(info.fn, "static_argnames", ()))
  names = [k for k, v in kwargs.items() if k not in static and _is_array(v)]
  fixed = {k: v for k, v in kwargs.items() if k not in names}
  n = len(args)

  def fn(*xs):
    out = info.fn(*xs[:n], **fixed, **dict(zip(names, xs[n:], strict=True)))
    # Losses with parts return (total, components); time the total's gradient.
    return out[0] if isinstance(out, tuple) else out

  return fn, (*args, *(kwargs[k] for k in names))


def baseline(*xs):
  """One pass over every input: ``sum_i sum(x_i * x_i)`` (integers summed as float)."""
  total = jnp.float32(0)
  for x in xs:
    if jnp.issubdtype(x.dtype, jnp.floating):
      total = total + jnp.sum(x * x)
    else:
      total = total + jnp.sum(x.astype(jnp.float32))
  return total


def _vg(fn, argnums):
  return jax.value_and_grad(fn, argnums=argnums)


def _ms(rec):
  return 1e3 * rec["median_s"]


def _mb(rec):
  return None if rec["temp_bytes"] is None else rec["temp_bytes"] / 2**20


# --------------------------------------------------------------------------- one loss


def bench_loss(info, *, quick, scale, budget):
  """One table row; a super-linear loss whose largest size fails is measured at the next."""
  if info.name not in SUPERLINEAR:
    return _bench_loss(info, quick=quick, scale=scale, budget=budget)
  failures = []
  for size_index in (2, 1, 0):
    try:
      row = _bench_loss(info, quick=quick, scale=scale, budget=budget, size_index=size_index)
    except Exception as e:  # noqa: BLE001 - typically out of memory at the largest size
      args, _, _ = build_inputs(info, jax.random.key(0), quick=quick, scale=scale,
                                size_index=size_index)
      msg = str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__
      failures.append(f"{'x'.join(map(str, args[0].shape))}: {type(e).__name__}: {msg}")
      continue
    if failures:
      row["note"] = "; ".join(filter(None, [row.get("note", ""), "failed at larger size "
                                            + " | ".join(failures)]))
      row["failed_sizes"] = failures
    return row
  raise RuntimeError("all sizes failed: " + " | ".join(failures))


def _bench_loss(info, *, quick, scale, budget, size_index=None):
  key = jax.random.key(0)
  args, kwargs, note = build_inputs(info, key, quick=quick, scale=scale, size_index=size_index)
  fn, xs = split_traced(info, args, kwargs)
  try:
    jax.eval_shape(fn, *xs)
  except Exception as e:  # noqa: BLE001 - fall back to the example's own size
    args, kwargs = cases.get(info.name).example(key)
    fn, xs = split_traced(info, args, kwargs)
    note = f"example size ({type(e).__name__} when scaled)"
  argnums = tuple(cases.get(info.name).grad_argnums)
  kind = loss_kind(info, args, kwargs)
  row = {"loss": info.name, "family": info.family, "kind": kind,
         "shape": "x".join(map(str, args[0].shape)), "elements": int(args[0].size),
         "input_MB": sum(x.size * x.dtype.itemsize for x in xs if _is_array(x)) / 2**20,
         "grad_argnums": list(argnums), "note": note}
  optax_entry = OPTAX.get(info.name)
  fwd_cases = [(fn, xs), (baseline, xs)]
  vg_cases = [(_vg(fn, argnums), xs), (_vg(baseline, argnums), xs)]
  if optax_entry is not None:
    oname, prep, ofn = optax_entry
    extra = prep(args, kwargs) if prep else ()
    oxs = (*args, *extra)
    fwd_cases.append((ofn, oxs))
    vg_cases.append((_vg(ofn, argnums), oxs))
    row["optax"] = oname
  reps = {"min_repeats": 3, "max_repeats": 5 if quick else 30,
          "budget_s": budget}
  fwd = time_interleaved(fwd_cases, **reps)
  vg = time_interleaved(vg_cases, **reps)
  row.update({
      "fwd_ms": _ms(fwd[0]), "vg_ms": _ms(vg[0]),
      "compile_fwd_s": fwd[0]["compile_s"], "compile_vg_s": vg[0]["compile_s"],
      "fwd_temp_MB": _mb(fwd[0]), "vg_temp_MB": _mb(vg[0]),
      "repeats": vg[0]["repeats"],
      "baseline_fwd_ms": _ms(fwd[1]), "baseline_vg_ms": _ms(vg[1]),
      "fwd/baseline": fwd[0]["median_s"] / fwd[1]["median_s"],
      "vg/baseline": vg[0]["median_s"] / vg[1]["median_s"],
  })
  if optax_entry is not None:
    row.update({
        "optax_fwd_ms": _ms(fwd[2]), "optax_vg_ms": _ms(vg[2]),
        "optax_vg_temp_MB": _mb(vg[2]),
        "fwd/optax": fwd[0]["median_s"] / fwd[2]["median_s"],
        "vg/optax": vg[0]["median_s"] / vg[2]["median_s"],
    })
  if info.name in SUPERLINEAR:
    row["scaling"] = bench_scaling(info, key, quick=quick, scale=scale, budget=budget,
                                   largest=(args, kwargs, row, optax_entry),
                                   smaller=range(size_index if size_index is not None else 2))
    pts = row["scaling"]
    if len(pts) >= 2 and pts[0]["vg_ms"] > 0 and pts[-1]["size"] > pts[0]["size"]:
      row["scaling_exponent"] = (math.log(pts[-1]["vg_ms"] / pts[0]["vg_ms"])
                                 / math.log(pts[-1]["size"] / pts[0]["size"]))
  return row


def bench_scaling(info, key, *, quick, scale, budget, largest, smaller=range(2)):
  axes = SUPERLINEAR[info.name][0]
  argnums = tuple(cases.get(info.name).grad_argnums)
  points = []
  for i in smaller:
    args, kwargs, _ = build_inputs(info, key, quick=quick, scale=scale, size_index=i)
    fn, xs = split_traced(info, args, kwargs)
    timed = [(_vg(fn, argnums), xs)]
    entry = largest[3]
    if entry is not None:
      _, prep, ofn = entry
      timed.append((_vg(ofn, argnums), (*args, *(prep(args, kwargs) if prep else ()))))
    res = time_interleaved(timed, min_repeats=3, max_repeats=5 if quick else 15,
                           budget_s=budget / 2)
    pt = {"size": math.prod(args[0].shape[a] for a in axes),
          "shape": "x".join(map(str, args[0].shape)), "vg_ms": _ms(res[0])}
    if entry is not None:
      pt["optax_vg_ms"] = _ms(res[1])
    points.append(pt)
  args, _, row, entry = largest
  pt = {"size": math.prod(args[0].shape[a] for a in axes), "shape": row["shape"],
        "vg_ms": row["vg_ms"]}
  if entry is not None:
    pt["optax_vg_ms"] = row["optax_vg_ms"]
  points.append(pt)
  return points


# --------------------------------------------------------------------------- reporting

_SCALING_NOTES = ("triplet_loss", "lifted_structure_loss", "dilate_loss")
TABLE_COLUMNS = ["loss", "family", "kind", "shape", "fwd_ms", "vg_ms", "fwd/baseline",
                 "vg/baseline", "fwd/optax", "vg/optax", "compile_vg_s", "vg_temp_MB", "note"]
VG_BASELINE_TARGET = 1.2
OPTAX_TARGET = 1.1


def scaling_table(rows):
  lines = ["| loss | sizes (scaled axes) | vg ms | optax vg ms | exponent | note |",
           "|---|---|---|---|---|---|"]
  for r in rows:
    pts = r.get("scaling")
    if not pts:
      continue
    sizes = " / ".join(str(p["size"]) for p in pts)
    ms = " / ".join(f"{p['vg_ms']:.3g}" for p in pts)
    oms = " / ".join(f"{p['optax_vg_ms']:.3g}" for p in pts) if "optax_vg_ms" in pts[0] else ""
    exp = r.get("scaling_exponent")
    note = NOTES.get(r["loss"], "") if r["loss"] in _SCALING_NOTES else ""
    lines.append(f"| {r['loss']} | {sizes} | {ms} | {oms} | "
                 f"{'' if exp is None else f'{exp:.2f}'} | {note} |")
  return "\n".join(lines)


def missed_targets(rows, *, full_size=True):
  """``(baseline_misses, optax_misses)``: rows missing the issue's two targets."""
  base = [r for r in rows if r.get("kind") == "element-wise" and "vg/baseline" in r
          and r["vg/baseline"] > VG_BASELINE_TARGET]
  opt = [r for r in rows if "vg/optax" in r
         and max(r["vg/optax"], r["fwd/optax"]) > OPTAX_TARGET]
  return base, opt


def _geomean(xs):
  xs = [x for x in xs if x and x > 0]
  return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def summary_markdown(rows, meta, json_name):
  ew = [r for r in rows if r.get("kind") == "element-wise" and "vg/baseline" in r]
  with_optax = [r for r in rows if "vg/optax" in r]
  base_miss, opt_miss = missed_targets(rows)
  errors = [r for r in rows if "error" in r]
  out = [
      "# Benchmark results",
      "",
      "Generated by `python -m benchmarks` (`benchmarks/run.py`; raw numbers in "
      f"`benchmarks/results/{json_name}`). Regenerate with `nice -n 10 python -m benchmarks`.",
      "",
      f"- Machine: {meta['processor']}, {meta['cores']} cores (shared with other jobs "
      f"during the run), {meta['machine']}",
      f"- JAX {meta['jax']} on {', '.join(meta['devices'])}; optax {optax.__version__}; "
      f"date {meta['date']}; run took {meta.get('wall_s', 0) / 60:.1f} min"
      + (" (`--quick`: tiny sizes, not meaningful)" if meta.get("quick") else ""),
      *([f"- Re-measured in a later run (after a sizing fix, or after a change to the loss): "
         f"{', '.join(f'`{n}`' for n in meta['remeasured'])}"] if meta.get("remeasured") else []),
      "- Times are medians of interleaved runs (loss, baseline and optax alternate), "
      "`fwd` = jitted loss, `vg` = jitted `value_and_grad` w.r.t. the catalog's "
      "`grad_argnums`; ratios > 1 mean jaxloss is slower.",
      "- Baseline: `sum_i jnp.sum(x_i * x_i)` over the same inputs (and its "
      "`value_and_grad`) — one read of every input byte, one write of every gradient.",
      f"- Sizes: element-wise and row-wise losses at {ELEMENTWISE_ELEMENTS:.0e} elements "
      f"of the first argument, others at {OTHER_ELEMENTS:.0e}, by tiling the catalog example "
      "along the batch axis (its inner shape — class count, embedding width, image size — is "
      "the example's); super-linear losses at the largest of their three sizes.",
      "",
      "## Headline",
      "",
      f"- Element-wise losses: median `vg/baseline` "
      f"{np.median([r['vg/baseline'] for r in ew]) if ew else float('nan'):.2f} over "
      f"{len(ew)} losses; {len(ew) - len(base_miss)} of {len(ew)} within "
      f"{VG_BASELINE_TARGET}x (target: all).",
      f"- Against optax ({len(with_optax)} losses with an equivalent): geometric mean "
      f"`vg/optax` {_geomean([r['vg/optax'] for r in with_optax]):.2f}, `fwd/optax` "
      f"{_geomean([r['fwd/optax'] for r in with_optax]):.2f}; "
      f"{len(with_optax) - len(opt_miss)} of {len(with_optax)} within {OPTAX_TARGET}x on both "
      "(target: all).",
      "",
      "## Missed targets",
      "",
  ]
  if not base_miss and not opt_miss:
    out.append("None.")
  if base_miss:
    out += [f"Element-wise losses slower than {VG_BASELINE_TARGET}x the memory-bound baseline "
            "(`value_and_grad`):", ""]
    for r in sorted(base_miss, key=lambda r: -r["vg/baseline"]):
      out.append(f"- `{r['loss']}`: {r['vg/baseline']:.2f}x"
                 + (f" — {NOTES[r['loss']]}" if r["loss"] in NOTES else ""))
    out.append("")
  if opt_miss:
    out += [f"Losses slower than {OPTAX_TARGET}x their optax equivalent:", ""]
    for r in sorted(opt_miss, key=lambda r: -max(r["vg/optax"], r["fwd/optax"])):
      out.append(f"- `{r['loss']}` vs `optax.losses.{r['optax']}`: fwd {r['fwd/optax']:.2f}x, "
                 f"vg {r['vg/optax']:.2f}x"
                 + (f" — {NOTES[r['loss']]}" if r["loss"] in NOTES else ""))
    out.append("")
  if errors:
    out += ["Losses that could not be benchmarked:", ""]
    out += [f"- `{r['loss']}`: {r['error']}" for r in errors]
    out.append("")
  out += ["## All losses", "", markdown(rows, TABLE_COLUMNS), "",
          "## Growth with input size (super-linear losses)", "",
          "`vg` time at three sizes of the scaled axes (batch for pairwise losses, pixels for "
          "Lovász/Hausdorff/contextual, sequence length for soft-DTW/DILATE, list length for "
          "ranking, ensemble members for CRPS); exponent = slope of log time vs log size "
          "between the smallest and largest (1 = linear; small sizes are overhead-bound, so "
          "exponents understate the asymptotic order).", "",
          scaling_table(rows), ""]
  return "\n".join(out)


# --------------------------------------------------------------------------- main


def select(families, losses):
  infos = catalog.all_losses()
  if families:
    fams = set(families.split(","))
    unknown = fams - {i.family for i in infos}
    if unknown:
      raise SystemExit(f"unknown families: {sorted(unknown)}")
    infos = [i for i in infos if i.family in fams]
  if losses:
    names = losses.split(",")
    infos = [catalog.get(n) for n in names]
  return infos


def main(argv=None):
  parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
  parser.add_argument("--families", default="", help="comma-separated catalog families")
  parser.add_argument("--losses", default="", help="comma-separated loss names")
  parser.add_argument("--quick", action="store_true",
                      help=f"sizes / {QUICK_DIVISOR}, few repeats (smoke test)")
  parser.add_argument("--scale", type=float, default=1.0, help="multiplies every target size")
  parser.add_argument("--budget", type=float, default=0.5,
                      help="seconds of timing per interleaved group (forward, value_and_grad)")
  parser.add_argument("--out", default=None, help="JSON directory (default benchmarks/results)")
  parser.add_argument("--update", default=None,
                      help="re-measure the selected losses and replace their rows in this "
                           "results JSON (marked 're-measured'), then rewrite the summary")
  parser.add_argument("--from-json", default=None,
                      help="only rewrite the summary (--summary, default benchmarks/RESULTS.md) "
                           "from an existing results JSON")
  parser.add_argument("--summary", default=None,
                      help="write the RESULTS.md summary here (default: benchmarks/RESULTS.md "
                           "on a full run, none with --quick/--families/--losses)")
  args = parser.parse_args(argv)
  if args.from_json:
    src = pathlib.Path(args.from_json)
    data = json.loads(src.read_text())
    summary = pathlib.Path(args.summary or pathlib.Path(__file__).parent / "RESULTS.md")
    summary.write_text(summary_markdown(data["rows"], data["meta"], src.name))
    print(f"wrote {summary}")
    return src
  infos = select(args.families, args.losses)
  budget = min(args.budget, 0.05) if args.quick else args.budget
  rows = []
  t_start = time.perf_counter()
  for n, info in enumerate(infos, 1):
    t0 = time.perf_counter()
    try:
      row = bench_loss(info, quick=args.quick, scale=args.scale, budget=budget)
      row["wall_s"] = time.perf_counter() - t0
    except Exception as e:  # noqa: BLE001 - report and go on with the others
      msg = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
      row = {"loss": info.name, "family": info.family, "error": f"{type(e).__name__}: {msg}"}
      traceback.print_exc(file=sys.stderr)
    rows.append(row)
    print(f"[{n}/{len(infos)}] {info.name:32s} {time.perf_counter() - t0:6.1f}s  "
          f"vg/baseline {row.get('vg/baseline', float('nan')):6.2f}  "
          f"vg/optax {row.get('vg/optax', float('nan')):6.2f}", file=sys.stderr, flush=True)
  wall = time.perf_counter() - t_start
  config = {"quick": args.quick, "scale": args.scale, "budget_s": budget,
            "elementwise_elements": ELEMENTWISE_ELEMENTS, "other_elements": OTHER_ELEMENTS,
            "wall_s": wall, "optax": optax.__version__, "jaxloss": jaxloss.__version__}
  if args.update:
    path = pathlib.Path(args.update)
    data = json.loads(path.read_text())
    new = {r["loss"]: {**r, "remeasured": datetime.date.today().isoformat()} for r in rows}
    data["rows"] = [new.pop(r["loss"], r) for r in data["rows"]] + list(new.values())
    data["meta"]["remeasured"] = sorted(set(data["meta"].get("remeasured", [])) | {
        r["loss"] for r in rows})
    path.write_text(json.dumps(data, indent=2))
    rows = data["rows"]
  else:
    path = write_results(None, rows, out_dir=args.out, extra_meta=config)
  print(markdown(rows, TABLE_COLUMNS))
  if any(r.get("scaling") for r in rows):
    print()
    print(scaling_table(rows))
  print(f"\nwrote {path} ({wall / 60:.1f} min)")
  summary = args.summary
  if summary is None and (args.update or not (args.quick or args.families or args.losses)):
    summary = str(pathlib.Path(__file__).parent / "RESULTS.md")
  if summary:
    meta = json.loads(path.read_text())["meta"]
    pathlib.Path(summary).write_text(summary_markdown(rows, meta, path.name))
    print(f"wrote {summary}")
  return path


if __name__ == "__main__":
  main()
