"""Sequence losses: CTC and the soft-DTW family (soft-DTW, its divergence, DILATE).

Part of the ``probabilistic`` (time-series) family in the catalog; split out
of :mod:`jaxloss.probabilistic` to keep files small.

Soft-DTW (Cuturi & Blondel 2017) is computed by a ``lax.scan`` over the
anti-diagonals of the ``(n + 1) x (m + 1)`` DP table: every cell of one
anti-diagonal depends only on the two previous ones, so the cost is O(n m)
work in n + m - 1 sequential steps, each a vector operation of length n + 1.
The soft-min is a log-sum-exp shifted by the minimum of the raw values
(before the division by gamma, so the largest exponential is exactly 1
whatever XLA recomputes), so gamma down to 1e-3 on series of length 512, and
series of magnitude 1e4 with gamma = 0.01, stay finite in value and gradient. The gradient is a ``jax.custom_vjp``
running the expected-alignment recursion (Cuturi & Blondel, Algorithm 2)
backwards over the anti-diagonals, instead of autodiff through the scan,
which would store every intermediate of every step. Cells outside the table
are tracked by static boolean masks (never by an ``inf`` sentinel entering
arithmetic), so all values and gradients stay finite.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    broadcast_mask,
    check_floating,
    check_integer,
    debug_check_labels,
    loss_function,
    reduce_loss,
    shape_of,
)
from jaxloss.catalog import register

__all__ = ["ctc_loss", "dilate_loss", "soft_dtw", "soft_dtw_divergence"]


# --------------------------------------------------------------------------
# CTC.
# --------------------------------------------------------------------------


def _lengths_to_paddings(lengths, size, dtype):
  lengths = jnp.asarray(lengths)
  return (jnp.arange(size) >= lengths[..., None]).astype(dtype)


@register(tasks=("speech recognition", "handwriting recognition", "sequence labelling"),
          input_kind="logits",
          peer="torch.nn.functional.ctc_loss (reductions, zero_infinity); "
               "optax.losses.ctc_loss (per sequence)",
          references=("Graves et al., Connectionist temporal classification, ICML 2006",))
@loss_function(static=("blank_id", "zero_infinity"))
def ctc_loss(logits, labels, *, logit_lengths=None, label_lengths=None,
             logit_paddings=None, label_paddings=None, blank_id=0, zero_infinity=False,
             weights=None, where=None, reduction="mean"):
  r"""Connectionist temporal classification loss, one value per sequence.

  .. math::
    \ell_b = -\log \sum_{\pi \in \mathcal B^{-1}(y_b)} \prod_{t=1}^{T_b}
      \operatorname{softmax}(z_{b,t})_{\pi_t}

  Built on ``optax.losses.ctc_loss`` (which applies ``log_softmax``, so
  log-probabilities work as input too). On top of it: torch's reductions,
  lengths or paddings, ``where``/``weights``, a clamp at 0 (optax#1771:
  float32 rounding gives -1e-7 for confident alignments), and impossible
  alignments (a target needing more frames than given, counting a blank
  between repeated labels) reported as ``+inf`` with a zero gradient, or 0
  with ``zero_infinity=True``, as torch. (optax alone returns a large finite
  value ~1e5 there.)

  Args:
    logits: floating ``[B, T, K]`` (or ``[T, K]``), unnormalised scores or
      log-probabilities over ``K`` classes including the blank. Batch first
      (optax's layout; torch's is ``[T, B, K]``).
    labels: integer ``[B, N]`` (or ``[N]``) padded label ids.
    logit_lengths: optional ``[B]`` valid frames per sequence (torch's
      ``input_lengths``); default all ``T``.
    label_lengths: optional ``[B]`` valid labels per sequence (torch's
      ``target_lengths``); default all ``N``.
    logit_paddings, label_paddings: optax-style alternatives, 1.0 at padded
      positions; give lengths or paddings, not both.
    blank_id: blank class id (default 0), static.
    zero_infinity: give impossible alignments loss 0 instead of +inf
      (default False, as torch), static.
    weights: optional per-sequence weights, broadcastable to ``[B]``.
    where: optional boolean mask over sequences, broadcastable to ``[B]``.
    reduction: "mean" (default: each sequence's loss divided by its target
      length, clamped to >= 1, then averaged over sequences: torch's rule) |
      "sum" (sum of the undivided losses) | "none" (``[B]``).

  Returns:
    A scalar for "mean"/"sum"; ``[B]`` (``[]`` for unbatched input) for "none".

  Raises:
    LossInputError: ``labels`` batch shape differs from ``logits``'; wrong
      rank; both lengths and paddings given; ``blank_id`` out of range.
    LossTypeError: ``labels`` not integer or ``logits`` not floating.

  Notes:
    Per sequence equals ``optax.losses.ctc_loss`` and
    ``torch.nn.functional.ctc_loss(reduction='none')`` on log-softmax
    inputs; the reductions and ``zero_infinity`` match torch. Label ids are
    checked to be in ``[0, K)`` under ``chex.chexify``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.zeros((1, 3, 3))
    >>> print(jaxloss.ctc_loss(logits, jnp.array([[1, 2]]), reduction="none"))
    [1.686399]
  """
  check_floating("logits", logits)
  check_integer("labels", labels)
  unbatched = logits.ndim == 2
  if logits.ndim not in (2, 3):
    raise LossInputError(f"logits must have shape [B, T, K] or [T, K], got shape {logits.shape}")
  if np.ndim(labels) != logits.ndim - 1 or (not unbatched and shape_of(labels)[0] != logits.shape[0]):
    raise LossInputError(
        f"labels has shape {shape_of(labels)} but logits has shape {logits.shape}; "
        f"expected labels of shape {logits.shape[:-2] + ('N',)}")
  num_classes = logits.shape[-1]
  if not 0 <= blank_id < num_classes:
    raise LossInputError(f"blank_id must be in [0, {num_classes}), got {blank_id}")
  if logit_lengths is not None and logit_paddings is not None:
    raise LossInputError("give logit_lengths or logit_paddings, not both")
  if label_lengths is not None and label_paddings is not None:
    raise LossInputError("give label_lengths or label_paddings, not both")
  dtype = nx.compute_dtype(logits)
  z = logits.astype(dtype)
  y = jnp.asarray(labels)
  if unbatched:
    z, y = z[None], y[None]
  batch, frames, _ = z.shape
  n_labels = y.shape[-1]
  debug_check_labels(y, num_classes)

  def paddings(lengths, pads, size, name):
    if pads is not None:
      pads = jnp.asarray(pads, dtype)
      pads = pads[None] if unbatched else pads
      if pads.shape != (batch, size):
        raise LossInputError(f"{name} has shape {pads.shape}; expected {(batch, size)}")
      return pads
    if lengths is not None:
      lengths = jnp.asarray(lengths)
      lengths = lengths[None] if unbatched else lengths
      if lengths.shape != (batch,):
        raise LossInputError(
            f"{name.replace('paddings', 'lengths')} has shape {lengths.shape}; expected {(batch,)}")
      return _lengths_to_paddings(lengths, size, dtype)
    return jnp.zeros((batch, size), dtype)

  logit_pad = paddings(logit_lengths, logit_paddings, frames, "logit_paddings")
  label_pad = paddings(label_lengths, label_paddings, n_labels, "label_paddings")
  if where is not None:
    w = broadcast_mask("where", where, () if unbatched else (batch,), "sequences")
    w = jnp.broadcast_to(w[None] if unbatched else w, (batch,))
    z = jnp.where(w[:, None, None], z, 0.0)
  loss = optax.losses.ctc_loss(z, logit_pad, y, label_pad, blank_id=blank_id)
  loss = jnp.maximum(loss, 0.0)
  # Frames needed: one per label plus a blank between equal neighbours.
  valid = label_pad < 0.5
  n_valid = jnp.sum(valid, axis=-1)
  repeats = jnp.sum((y[:, 1:] == y[:, :-1]) & valid[:, 1:], axis=-1)
  n_frames = jnp.sum(logit_pad < 0.5, axis=-1)
  impossible = n_valid + repeats > n_frames
  fill = 0.0 if zero_infinity else jnp.inf
  loss = jnp.where(impossible, jnp.asarray(fill, dtype), loss)
  if reduction == "mean":
    loss = loss / jnp.maximum(n_valid, 1).astype(dtype)
  if unbatched:
    loss = loss[0]
  return reduce_loss(loss, reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# Soft-DTW core (one pair; batched with vmap).
# --------------------------------------------------------------------------


def _skew_layout(n: int, m: int):
  """Static index maps between the DP table and its anti-diagonal layout.

  Anti-diagonal ``k`` (``k = i + j``, ``0 <= k <= n + m``) is stored as a
  vector over the row ``i = 0..n``. Returns ``valid[k, i]`` (cell ``(i, k-i)``
  holds a finite R: the origin or ``i, j >= 1``), ``dvalid`` (cells carrying
  a cost ``D[i-1, j-1]``) and the gather indices ``a, b`` into ``D``.
  """
  k = np.arange(n + m + 1)[:, None]
  i = np.arange(n + 1)[None, :]
  j = k - i
  inside = (j >= 0) & (j <= m)
  dvalid = inside & (i >= 1) & (j >= 1)
  valid = dvalid | ((i == 0) & (j == 0))
  a = np.clip(i - 1, 0, n - 1) + 0 * k
  b = np.clip(j - 1, 0, m - 1)
  return valid, dvalid, a, b


def _shift_right(x, fill):
  return jnp.concatenate([jnp.full_like(x[..., :1], fill), x[..., :-1]], axis=-1)


def _shift_left(x, fill):
  return jnp.concatenate([x[..., 1:], jnp.full_like(x[..., :1], fill)], axis=-1)


def _soft3(a, va, b, vb, c, vc, gamma):
  """Soft-min of three values and its softmax weights, over the valid ones.

  Returns ``(-gamma log sum exp(-x / gamma), (p_a, p_b, p_c))``. Inputs of
  invalid entries are replaced before any arithmetic; where no entry is valid
  (a cell masked anyway) the value is 0 and the weights are 0.

  The shift is the minimum ``m`` of the *raw* values, subtracted before the
  division by gamma: ``m - x`` is exactly 0 for the minimising entry however
  XLA fuses or recomputes the division (``x / gamma`` need not round the same
  way in two fusions, and on series of magnitude 1e3 with gamma = 0.01,
  ``x / gamma ~ 1e9`` where a float32 step is 64, so a shift taken from one
  rounding and exponentials from another could all underflow: 0/0). Hence the
  largest exponential is ``exp(0) = 1``, the sum is >= 1, and neither the
  value, the weights nor their derivatives (DILATE differentiates the weights)
  divide by 0. ``m`` carries no gradient: it cancels in the value and the
  weights.
  """
  pos = jnp.asarray(jnp.inf, a.dtype)
  m = jnp.minimum(jnp.minimum(jnp.where(va, a, pos), jnp.where(vb, b, pos)),
                  jnp.where(vc, c, pos))
  anyv = va | vb | vc
  m = jax.lax.stop_gradient(jnp.where(anyv, m, jnp.zeros((), a.dtype)))

  def weight(x, v):
    # m - x <= 0 on valid entries (exactly 0 at the minimum); 0 before exp elsewhere.
    return jnp.where(v, jnp.exp((m - jnp.where(v, x, m)) / gamma), 0.0)

  ea, eb, ec = weight(a, va), weight(b, vb), weight(c, vc)
  s = jnp.where(anyv, ea + eb + ec, 1.0)
  value = jnp.where(anyv, m - gamma * jnp.log(s), 0.0)
  return value, (ea / s, eb / s, ec / s)


def _cell_soft3(r2, v2, r1, v1, gamma):
  """Soft-min over the predecessors of every cell of the next anti-diagonal.

  For cell ``(i, j)``: diagonal ``(i-1, j-1)`` on ``r2[i-1]``, up ``(i-1, j)``
  on ``r1[i-1]``, left ``(i, j-1)`` on ``r1[i]``.
  """
  return _soft3(_shift_right(r2, 0.0), _shift_right(v2, False),
                _shift_right(r1, 0.0), _shift_right(v1, False), r1, v1, gamma)


def _sdtw_table(dmat, gamma):
  """Forward DP: the table R in anti-diagonal layout ``[n + m + 1, n + 1]``."""
  n, m = dmat.shape
  valid, dvalid, a, b = _skew_layout(n, m)
  dskew = jnp.where(dvalid, dmat[a, b], 0.0)
  r0 = jnp.zeros((n + 1,), dmat.dtype)
  r1 = jnp.zeros((n + 1,), dmat.dtype)

  def step(carry, xs):
    r2, r1 = carry
    dk, vk, v1, v2 = xs
    soft, _ = _cell_soft3(r2, v2, r1, v1, gamma)
    rk = jnp.where(vk, dk + soft, 0.0)
    return (r1, rk), rk

  xs = (dskew[2:], jnp.asarray(valid[2:]), jnp.asarray(valid[1:-1]), jnp.asarray(valid[:-2]))
  _, rest = jax.lax.scan(step, (r0, r1), xs)
  return jnp.concatenate([r0[None], r1[None], rest], axis=0), valid


def _sdtw_alignment(table, valid, gamma):
  """Backward recursion: E = dR[n, m] / dR (Cuturi & Blondel, Alg. 2), skewed.

  ``E[i, j] = sum over successors s of E[s] * P_s(i, j)`` with ``P_s`` the
  soft-min weight of ``(i, j)`` in the soft-min of ``s``. The weights are
  recomputed from the predecessors' R values with a local max shift (as the
  forward pass does) rather than as ``exp((R_s - D_s - R_ij) / gamma)``,
  which subtracts large R values and loses float32 accuracy on long series.
  """
  kk, width = table.shape
  n = width - 1
  pad_r = jnp.concatenate([table, jnp.zeros((1, width), table.dtype)], axis=0)
  pad_v = jnp.concatenate([jnp.asarray(valid), jnp.zeros((1, width), bool)], axis=0)
  e_last = jnp.zeros((width,), table.dtype).at[n].set(1.0)
  zeros = jnp.zeros_like(e_last)

  def step(carry, k):
    e1, e2, pd2 = carry  # E on diagonals k+1, k+2; diagonal weights of k+2
    vk, v1 = pad_v[k], pad_v[k + 1]
    # Weights of the cells on diagonal k+1 over their predecessors on k, k-1.
    _, (pd1, pu1, pl1) = _cell_soft3(pad_r[k - 1], pad_v[k - 1], pad_r[k], vk, gamma)
    f1 = jnp.where(v1, e1, 0.0)
    ek = (_shift_left(f1 * pu1, 0.0) + f1 * pl1 + _shift_left(e2 * pd2, 0.0))
    ek = jnp.where(vk, ek, 0.0)
    return (ek, e1, jnp.where(v1, pd1, 0.0)), ek

  ks = jnp.arange(kk - 2, 1, -1)
  _, rest = jax.lax.scan(step, (e_last, zeros, zeros), ks)
  head = jnp.zeros((2, width), table.dtype)
  return jnp.concatenate([head, rest[::-1], e_last[None]], axis=0)[:kk]


def _unskew(eskew, n, m):
  ii = np.arange(n)[:, None]
  jj = np.arange(m)[None, :]
  return eskew[ii + jj + 2, ii + 1]


@jax.custom_vjp
def _sdtw_from_costs(dmat, gamma):
  n, _ = dmat.shape
  table, _ = _sdtw_table(dmat, gamma)
  return table[-1, n]


def _sdtw_fwd(dmat, gamma):
  n, _ = dmat.shape
  table, _ = _sdtw_table(dmat, gamma)
  return table[-1, n], (table, gamma, dmat.shape)


def _sdtw_bwd(res, g):
  table, gamma, (n, m) = res
  valid, _, _, _ = _skew_layout(n, m)
  eskew = _sdtw_alignment(table, valid, gamma)
  # No gradient with respect to gamma (a hyperparameter here).
  return _unskew(eskew, n, m) * g, jnp.zeros_like(gamma)


_sdtw_from_costs.defvjp(_sdtw_fwd, _sdtw_bwd)


def soft_alignment(dmat, gamma):
  """Expected alignment ``E = d softDTW / d D`` of one cost matrix ``[n, m]``.

  Written with ordinary (differentiable) JAX ops, so it can be differentiated
  again (DILATE's temporal term needs the gradient of E).
  """
  n, m = dmat.shape
  table, valid = _sdtw_table(dmat, gamma)
  return _unskew(_sdtw_alignment(table, valid, gamma), n, m)


def _sq_euclidean(x, y):
  # Direct differences (not |x|^2 + |y|^2 - 2 x.y): exact zeros on the
  # diagonal when x == y, and no cancellation.
  d = x[:, None, :] - y[None, :, :]
  return jnp.sum(d * d, axis=-1)


def _check_series(x, y, x_name="predictions", y_name="targets"):
  check_floating(x_name, x)
  if np.ndim(x) < 2 or np.ndim(y) != np.ndim(x):
    raise LossInputError(
        f"{x_name} has shape {shape_of(x)} and {y_name} has shape {shape_of(y)}; expected "
        f"series of shapes (..., n, d) and (..., m, d)")
  sx, sy = shape_of(x), shape_of(y)
  if sx[-2] == 0 or sy[-2] == 0:
    raise LossInputError(f"{x_name} has shape {sx} and {y_name} has shape {sy}; series must "
                         f"be non-empty")
  if sx[:-2] != sy[:-2] or sx[-1] != sy[-1]:
    raise LossInputError(
        f"{y_name} has shape {sy} but {x_name} has shape {sx}; expected {y_name} of shape "
        f"{sx[:-2] + ('m', sx[-1])} (same batch and feature axes)")


def _pairwise(fn, x, y, where):
  """Applies ``fn(x_i, y_i)`` (an array or a tuple of arrays) over the leading (batch) axes."""
  dtype = nx.compute_dtype(x, y)
  x = nx.mask_fill(x.astype(dtype), where, trailing=2)
  y = nx.mask_fill(jnp.asarray(y).astype(dtype), where, trailing=2)
  lead = x.shape[:-2]
  xf = x.reshape((-1,) + x.shape[-2:])
  yf = y.reshape((-1,) + y.shape[-2:])
  out = jax.vmap(fn)(xf, yf)
  return jax.tree.map(lambda o: o.reshape(lead), out)


def _sdtw_pair(x, y, gamma):
  return _sdtw_from_costs(_sq_euclidean(x, y), gamma)


_DTW_REFS = ("Cuturi & Blondel, Soft-DTW: a differentiable loss function for time-series, "
             "ICML 2017",)


@register(tasks=("time-series forecasting", "time-series averaging", "sequence alignment"),
          input_kind="values", peer="tslearn.metrics.SoftDTWLossPyTorch(normalize=False)",
          references=_DTW_REFS)
@loss_function(ranges={"gamma": "> 0"})
def soft_dtw(predictions, targets, *, gamma=1.0, weights=None, where=None, reduction="mean"):
  r"""Soft dynamic time warping between two (multivariate) series.

  .. math::
    \mathrm{sdtw}_\gamma(x, y) = \operatorname{min}^\gamma_{A \in \mathcal A_{n,m}}
      \langle A, \Delta(x, y)\rangle, \quad
    \operatorname{min}^\gamma(a_1, \dots) = -\gamma \log\sum_i e^{-a_i/\gamma},
    \quad \Delta_{ij} = \|x_i - y_j\|_2^2

  with ``x = predictions`` and ``y = targets``, computed by the recursion
  ``R[i, j] = D[i, j] + min^gamma(R[i-1, j-1], R[i-1, j], R[i, j-1])``. Not a
  distance: it can be negative and ``sdtw(x, x) != 0`` (the smoothing counts
  every path); use :func:`soft_dtw_divergence` for a non-negative loss that
  is 0 at ``x = y``. As gamma -> 0 it tends to the DTW cost. Symmetric in its
  two arguments.

  Args:
    predictions: floating ``[..., n, d]`` (time, features on the last two axes).
    targets: ``[..., m, d]`` with the same batch and feature axes.
    gamma: smoothing > 0 (default 1.0, tslearn's); may be traced (no gradient
      is returned for it).
    weights: optional per-pair weights, broadcastable to ``[...]``.
    where: optional boolean mask over pairs, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none" (``[...]``).

  Returns:
    A scalar for "mean"/"sum"; the batch shape ``[...]`` for "none".

  Raises:
    LossInputError: ranks or batch/feature shapes differ, or a series is
      empty; concrete ``gamma <= 0``.

  Notes:
    The value is Cuturi & Blondel's Algorithm 1, the gradient their
    Algorithm 2. Equals ``tslearn.metrics.soft_dtw`` and
    ``SoftDTWLossPyTorch(gamma)`` with the default squared-Euclidean cost.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[0.], [1.], [2.]]); y = jnp.array([[0.], [2.]])
    >>> print(jaxloss.soft_dtw(x, y, gamma=0.01))
    0.993069
  """
  _check_series(predictions, targets)
  g = jnp.asarray(gamma, nx.compute_dtype(predictions, targets))
  values = _pairwise(lambda a, b: _sdtw_pair(a, b, g), predictions, targets, where)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("time-series forecasting", "time-series averaging"),
          input_kind="values", peer="tslearn.metrics.SoftDTWLossPyTorch(normalize=True)",
          references=("Blondel, Mensch & Vert, Differentiable divergences between time "
                      "series, AISTATS 2021", *_DTW_REFS))
@loss_function(ranges={"gamma": "> 0"})
def soft_dtw_divergence(predictions, targets, *, gamma=1.0, weights=None, where=None,
                        reduction="mean"):
  r"""Soft-DTW divergence: non-negative, zero exactly when ``predictions = targets``.

  .. math::
    D_\gamma(x, y) = \mathrm{sdtw}_\gamma(x, y)
      - \tfrac12\big(\mathrm{sdtw}_\gamma(x, x) + \mathrm{sdtw}_\gamma(y, y)\big)

  with ``x = predictions`` and ``y = targets`` (:func:`soft_dtw`).

  Args:
    predictions: floating ``[..., n, d]``.
    targets: ``[..., m, d]`` with the same batch and feature axes.
    gamma: smoothing > 0 (default 1.0); may be traced (no gradient for it).
    weights: optional per-pair weights, broadcastable to ``[...]``.
    where: optional boolean mask over pairs, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none" (``[...]``).

  Returns:
    A scalar for "mean"/"sum"; ``[...]`` for "none".

  Raises:
    LossInputError: ranks or batch/feature shapes differ, or a series is
      empty; concrete ``gamma <= 0``.

  Notes:
    Non-negativity holds for the squared-Euclidean cost (Blondel et al. 2021).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[0.], [1.], [2.]])
    >>> print(jaxloss.soft_dtw_divergence(x, x))
    0.0
  """
  _check_series(predictions, targets)
  g = jnp.asarray(gamma, nx.compute_dtype(predictions, targets))

  def div(a, b):
    return _sdtw_pair(a, b, g) - 0.5 * (_sdtw_pair(a, a, g) + _sdtw_pair(b, b, g))

  values = _pairwise(div, predictions, targets, where)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("time-series forecasting", "multi-step forecasting"),
          input_kind="values", peer="vincent-leguen/DILATE dilate_loss",
          references=("Le Guen & Thome, Shape and time distortion loss for training deep "
                      "time series forecasting models, NeurIPS 2019", *_DTW_REFS),
          components=("shape", "temporal"))
@loss_function(static=("return_components",),
               ranges={"shape_weight": ">= 0", "temporal_weight": ">= 0", "gamma": "> 0"})
def dilate_loss(predictions, targets, *, shape_weight=0.5, temporal_weight=0.5, gamma=0.01,
                return_components=False, weights=None, where=None, reduction="mean"):
  r"""DILATE: soft-DTW shape term plus a temporal-distortion term.

  .. math::
    \mathcal L = w_\text{shape}\,\mathrm{sdtw}_\gamma(p, y)
      + w_\text{temporal}\,\frac{1}{n m}\sum_{i,j} A^*_{ij}\,(i - j)^2,
    \qquad A^* = \nabla_\Delta \mathrm{sdtw}_\gamma(p, y)

  ``A*`` is soft-DTW's expected alignment; the temporal term (TDI) penalises
  alignments far from the diagonal, i.e. forecasts whose shape is right but
  shifted in time. The gradient of the temporal term goes through the
  alignment recursion (autodiff of the backward pass).

  Args:
    predictions: floating ``[..., n, d]``.
    targets: ``[..., m, d]`` (Le Guen & Thome use ``m = n``).
    shape_weight: weight of the shape (soft-DTW) term, >= 0 (default 0.5);
      may be traced.
    temporal_weight: weight of the temporal (TDI) term, >= 0 (default 0.5);
      may be traced.
    gamma: soft-DTW smoothing > 0 (default 0.01, the paper's); may be traced.
    return_components: also return the unweighted parts ``{"shape": sdtw,
      "temporal": TDI}``, each reduced like the total, static; default False.
    weights: optional per-pair weights, broadcastable to ``[...]``.
    where: optional boolean mask over pairs, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none" (``[...]``).

  Returns:
    A scalar for "mean"/"sum"; ``[...]`` for "none"; with
    ``return_components=True`` the pair ``(total, {"shape", "temporal"})``.

  Raises:
    LossInputError: ranks or batch/feature shapes differ; concrete negative
      weights or ``gamma <= 0``.

  Notes:
    The paper's ``alpha * shape + (1 - alpha) * temporal`` is
    ``shape_weight=alpha, temporal_weight=1 - alpha``. The reference
    ``loss_temporal`` divides by ``N_output ** 2``; here by ``n m``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[0.], [1.], [0.]]); y = jnp.array([[0.], [0.], [1.]])
    >>> print(jaxloss.dilate_loss(x, y, shape_weight=0.0, temporal_weight=1.0))
    0.222222
  """
  _check_series(predictions, targets)
  dtype = nx.compute_dtype(predictions, targets)
  g = jnp.asarray(gamma, dtype)
  ws = jnp.asarray(shape_weight, dtype)
  wt = jnp.asarray(temporal_weight, dtype)
  n, m = predictions.shape[-2], targets.shape[-2]
  omega = ((np.arange(n)[:, None] - np.arange(m)[None, :]) ** 2 / (n * m)).astype(dtype)

  def one(p, y):
    dmat = _sq_euclidean(p, y)
    shape = _sdtw_from_costs(dmat, g)
    temporal = jnp.sum(soft_alignment(dmat, g) * omega)
    return shape, temporal

  shape, temporal = _pairwise(one, predictions, targets, where)
  out = reduce_loss(ws * shape + wt * temporal, reduction, where=where, weights=weights)
  if not return_components:
    return out
  return out, {"shape": reduce_loss(shape, reduction, where=where, weights=weights),
               "temporal": reduce_loss(temporal, reduction, where=where, weights=weights)}

