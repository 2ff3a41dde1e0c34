"""Memory-efficient large-vocabulary cross-entropy: :func:`linear_cross_entropy`
(fused projection, online log-sum-exp over vocabulary chunks, recomputing
``custom_vjp``) and :func:`chunked_cross_entropy` (the same over existing logits).
See :mod:`jaxloss.scalable` for the conventions.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
  check_floating,
  check_integer,
  check_min_rank,
  check_rank,
  class_labels,
  debug_check_labels,
  loss_function,
  reduce_loss,
  shape_of,
)
from jaxloss.catalog import SURVEY, register
from jaxloss.scalable import _tiling

__all__ = ["chunked_cross_entropy", "linear_cross_entropy"]

_CCE = ("Wijmans et al., Cut Your Losses in Large-Vocabulary Language Models, ICLR 2025 "
        "(arXiv:2411.09009)")
_PALM = "Chowdhery et al., PaLM: Scaling Language Modeling with Pathways, 2022 (z-loss)"
_GEMMA2 = "Gemma Team, Gemma 2: Improving Open Language Models at a Practical Size, 2024"
_ONLINE = "Milakov & Gimelshein, Online normalizer calculation for softmax, 2018"


# --------------------------------------------------------------------------
# Online (chunked) cross-entropy core.
#
# Per row, with z_j the (optionally soft-capped) logits, y the label,
# a = label_smoothing, c = z_loss and L = logsumexp_j z_j:
#   loss = L - (1 - a) z_y - (a / V) sum_j z_j + c L^2
#   dloss/dz_j = p_j (1 + 2 c L) - (1 - a) [j = y] - a / V,  p_j = exp(z_j - L)
# The forward pass scans the vocabulary in chunks carrying (max, scaled sum,
# z_y, sum_j z_j); the backward pass recomputes each chunk's logits.
# --------------------------------------------------------------------------


_soft_cap = _tiling.soft_cap


def _online_update(carry, z, col_ids, colvalid, labels, ref):
  """Folds one chunk of logits ``z`` (N, C) into the running row statistics.

  ``ref`` is a per-row reference logit: the sum for label smoothing is kept
  relative to it, so a large common offset (1e6) cancels exactly.
  """
  m, s, zy, zsum = carry
  neg = jnp.asarray(-jnp.inf, z.dtype)
  zm = jnp.where(colvalid, z, neg)
  m_new = jnp.maximum(m, jnp.max(zm, axis=1))
  # The shift is 0 while a row has seen only -inf logits, so no inf - inf.
  shift = jnp.where(jnp.isfinite(m_new), m_new, 0.0)
  s = s * jnp.exp(m - shift) + jnp.sum(jnp.exp(zm - shift[:, None]), axis=1)
  match = (col_ids[None, :] == labels[:, None]) & colvalid
  zy = zy + jnp.sum(jnp.where(match, z, 0.0), axis=1)
  zsum = zsum + jnp.sum(jnp.where(colvalid, z - ref[:, None], 0.0), axis=1)
  return m_new, s, zy, zsum


def _init_carry(n, dtype):
  return (jnp.full((n,), -jnp.inf, dtype), jnp.zeros((n,), dtype),
          jnp.zeros((n,), dtype), jnp.zeros((n,), dtype))


def _reference(z0):
  """Per-row reference logit (the first one), 0 where it is not finite."""
  return jnp.where(jnp.isfinite(z0), z0, 0.0)


def _finish(carry, ref, valid, vocab, ls, zl):
  """Row ``(cross-entropy, z-loss)`` and the (shift, log-sum) pair of the log-sum-exp.

  The loss is assembled as differences of nearby numbers (``m - z_y``,
  ``m - ref``) before adding ``log s``: forming ``L = m + log s`` first would
  round away ``log s`` when all logits share an offset of 1e6.
  """
  m, s, zy, zsum = carry
  shift = jnp.where(jnp.isfinite(m), m, 0.0)
  logs = jnp.log(s)
  lse = logs + shift
  smooth = jnp.where(ls > 0, ls * ((shift - ref) - zsum / vocab), 0.0)
  ce = logs + (1.0 - ls) * (shift - zy) + smooth
  return (jnp.where(valid, ce, 0.0), jnp.where(valid, zl * lse * lse, 0.0)), (shift, logs)


def _dlogits(z, stats, g, col_ids, colvalid, labels, vocab, ls, zl):
  """d(row losses)/dz for one chunk, given the rows' cotangents ``g = (g_ce, g_z)``."""
  shift, logs = stats
  g_ce, g_z = g
  lse = shift + logs
  p = jnp.where(colvalid, jnp.exp((z - shift[:, None]) - logs[:, None]), 0.0)
  onehot = (col_ids[None, :] == labels[:, None]) & colvalid
  return (p * (g_ce + 2.0 * zl * lse * g_z)[:, None]
          - g_ce[:, None] * ((1.0 - ls) * onehot + jnp.where(colvalid, ls / vocab, 0.0)))


# ---- linear (fused projection) version -----------------------------------
#
# The token x vocabulary tiling (forward: token tiles outside, vocabulary
# chunks inside; backward: the other way round, recomputing each block of
# logits) is jaxloss.scalable._tiling, shared with the fused distillation and
# preference losses. The outputs are the per-row cross-entropy and z-loss, so
# return_components needs no second pass.


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2))
def _lce(tile, chunk, has_cap, h, weight, bias, labels, valid, ls, zl, cap):
  return _lce_fwd(tile, chunk, has_cap, h, weight, bias, labels, valid, ls, zl, cap)[0]


def _lce_head(has_cap, h, weight, bias, cap):
  return _tiling.Head(h, weight, bias, cap if has_cap else None)


def _lce_fwd(tile, chunk, has_cap, h, weight, bias, labels, valid, ls, zl, cap):
  vocab = weight.shape[0]
  f32 = nx.compute_dtype(h, weight)   # float32, float64 under x64
  head = _lce_head(has_cap, h, weight, bias, cap)

  def tile_fn(scan_vocab, refs, r0, ok):
    yt = _tiling.rows(labels, r0, tile)
    ref = _reference(refs[0])

    def fold(carry, zs, col_ids, fresh_cols):
      return _online_update(carry, zs[0], col_ids, fresh_cols, yt, ref)

    carry = scan_vocab(fold, _init_carry(tile, f32))
    (ce, zrow), (shift, logs) = _finish(carry, ref, ok, vocab, ls, zl)
    return ce, zrow, shift, logs

  ce, zrow, shift, logs = _tiling.forward([head], valid, tile, chunk, tile_fn, 4, f32)
  return (ce, zrow), (h, weight, bias, labels, valid, ls, zl, cap, shift, logs)


def _lce_bwd(tile, chunk, has_cap, res, g):
  h, weight, bias, labels, valid, ls, zl, cap, shift, logs = res
  vocab = weight.shape[0]
  f32 = nx.compute_dtype(h, weight)
  g = tuple(jnp.where(valid, x, 0.0).astype(f32) for x in g)
  head = _lce_head(has_cap, h, weight, bias, cap)

  def dz_fn(zs, r0, col_ids, fresh_cols):
    stats = (_tiling.rows(shift, r0, tile), _tiling.rows(logs, r0, tile))
    gt = tuple(_tiling.rows(x, r0, tile) for x in g)
    yt = _tiling.rows(labels, r0, tile)
    return [_dlogits(zs[0], stats, gt, col_ids, fresh_cols, yt, vocab, ls, zl)]

  ((dh, dw, db),) = _tiling.backward([head], (True,), valid, tile, chunk, dz_fn)
  # label_smoothing, z_loss and logit_soft_cap are treated as constants.
  return (dh, dw, db, None, None, jnp.zeros_like(ls), jnp.zeros_like(zl), jnp.zeros_like(cap))


_lce.defvjp(_lce_fwd, _lce_bwd)


_DEFAULT_TEMP = 16 * 2**20


def _lce_tile_sizes(n, v, d, chunk_size, max_temp_bytes):
  """(token tile, vocabulary chunk) for one head: see :func:`_tiling.tile_sizes`."""
  return _tiling.tile_sizes(n, v, d, chunk_size, max_temp_bytes, blocks=3)


def _ce_common_checks(chunk_size, ignore_index):
  if not isinstance(chunk_size, (int, np.integer)) or isinstance(chunk_size, bool) \
      or chunk_size < 1:
    raise LossInputError(f"chunk_size must be a positive int, got {chunk_size!r}")
  nx.check_ignore_index(ignore_index)


def _valid_rows(labels, ignore_index, where):
  """``(valid, ids)``: the kept rows (never None) and safe ids (:func:`nx.class_ids`)."""
  valid, ids = nx.class_ids(labels, ignore_index, where)
  return (jnp.ones(labels.shape, bool) if valid is None else valid), ids


_CE_RANGES = {"label_smoothing": "[0, 1]", "z_loss": ">= 0", "logit_soft_cap": "> 0"}


def _ce_outputs(ce, zrow, shape, reduction, valid, weights, return_components):
  """The reduced total (cross-entropy + z-loss), and the two parts if asked for."""
  ce, zrow = ce.reshape(shape), zrow.reshape(shape)
  total = reduce_loss(ce + zrow, reduction, where=valid, weights=weights)
  if not return_components:
    return total
  return total, {"cross_entropy": reduce_loss(ce, reduction, where=valid, weights=weights),
                 "z_loss": reduce_loss(zrow, reduction, where=valid, weights=weights)}


@register(tasks=("language modelling", "large-vocabulary classification"),
          input_kind="hidden states and classifier weight",
          peer="torch.nn.functional.linear_cross_entropy; apple/ml-cross-entropy "
               "linear_cross_entropy (Cut Cross-Entropy)",
          references=(_CCE, _ONLINE, _PALM, _GEMMA2, SURVEY),
          components=("cross_entropy", "z_loss"))
@loss_function(static=("chunk_size", "max_temp_bytes", "ignore_index", "return_components"),
               ranges=_CE_RANGES, upcast=False)
def linear_cross_entropy(hidden, weight, labels, *, bias=None, chunk_size=4096,
                         max_temp_bytes=_DEFAULT_TEMP, ignore_index=-100, label_smoothing=0.0,
                         z_loss=0.0, logit_soft_cap=None, weights=None, where=None,
                         reduction="mean", return_components=False):
  r"""Cross-entropy of a linear classifier, computed in vocabulary chunks.

  With logits :math:`x = h W^\top + b` (optionally soft-capped,
  :math:`z = s \tanh(x / s)`), :math:`L_i = \log\sum_j e^{z_{ij}}`:

  .. math::
    \ell_i = L_i - (1 - \alpha) z_{i y_i} - \frac{\alpha}{V} \sum_j z_{ij} + c L_i^2

  The ``(N, V)`` logits are never materialised: the forward pass scans token
  tiles, and within each tile the vocabulary in chunks, keeping a running
  max / sum per row (online log-sum-exp); a ``custom_vjp`` backward pass
  recomputes each (chunk, tile) block of logits to accumulate the gradients
  of ``hidden``, ``weight`` and ``bias`` (vocabulary chunks outside, so each
  chunk's weight gradient is summed in float32 and written once). The tile
  and chunk sizes are chosen so the live blocks fit ``max_temp_bytes``
  (default 16 MiB): peak temporary memory is about ``max_temp_bytes`` instead
  of ``O(N * V)`` (measured in ``benchmarks/RESULTS.md``: 96x less than the
  naive loss at N=4096, D=256, V=32768 and 240x less at N=8192, D=1024,
  V=65536, float32). A tile or chunk that does not divide ``N`` or ``V`` is
  slid back to end at the last row / class, with the overlap masked: no padded
  copy of ``hidden`` or ``weight``.

  The matmuls run in the inputs' dtype and accumulate in float32
  (``preferred_element_type``): bfloat16 ``hidden`` and ``weight`` are not
  converted to float32 as a whole (this loss opts out of the library's
  float32 upcast of low-precision inputs); the gradients return in the
  inputs' dtypes.

  Args:
    hidden: floating array ``(..., D)`` of final hidden states (e.g. ``(N, D)``
      or ``(batch, seq, D)``).
    weight: floating classifier weight ``(V, D)`` (torch ``nn.Linear`` layout;
      pass ``kernel.T`` for a Flax ``Dense`` kernel ``(D, V)``).
    labels: integer class ids of shape ``hidden.shape[:-1]``.
    bias: optional ``(V,)`` classifier bias (default None). Differentiable.
    chunk_size: vocabulary rows per chunk (static int, default 4096); halved
      (not below 128) while the chunk's blocks would take more than half of
      ``max_temp_bytes``.
    max_temp_bytes: budget for the live per-step blocks (static int, default
      ``16 * 2**20``): about three ``tile x chunk`` float32 blocks, a
      ``chunk x D`` float32 weight-gradient accumulator and ``tile x D`` hidden
      blocks. Larger budgets mean fewer, larger matmuls (faster on
      accelerators); the token tile is at least 8 rows whatever the budget.
    ignore_index: rows whose label equals it are excluded (default -100, as
      torch; None disables).
    label_smoothing: :math:`\alpha \in [0, 1]` (default 0.0), torch's
      ``label_smoothing`` (uniform mass :math:`\alpha / V` on every class).
    z_loss: :math:`c \ge 0` (default 0.0), PaLM's auxiliary
      :math:`c \log^2 Z` term, added per row (as ``jaxloss.cross_entropy``'s
      ``z_loss``).
    logit_soft_cap: :math:`s > 0` or None (default None); Gemma 2's
      :math:`s \tanh(x / s)` applied to the logits before the softmax.
    weights: optional per-row weights broadcastable to ``labels.shape``.
    where: optional boolean mask broadcastable to ``labels.shape``.
    reduction: "mean" (default; over the non-ignored rows) | "sum" | "none".
    return_components: static; also return the two parts (default False).

  Returns:
    A float32 scalar for "mean"/"sum" (float64 under x64); ``labels.shape``
    for "none" (0 at excluded rows). Mean over zero rows is 0 (torch: NaN).
    With ``return_components=True``, ``(total, {"cross_entropy": ...,
    "z_loss": ...})``, the parts reduced like the total (they add up to it).

  Raises:
    LossInputError: ``weight`` is not ``(V, D)`` with ``D = hidden.shape[-1]``,
      ``labels`` is not ``hidden.shape[:-1]``, ``bias`` is not ``(V,)``, or
      ``chunk_size`` / ``max_temp_bytes`` is not a positive int.
    LossTypeError: ``hidden``/``weight`` not floating or ``labels`` not integer.

  Notes:
    Equals ``optax.losses.softmax_cross_entropy_with_integer_labels(hidden @
    weight.T + bias, labels)`` and ``torch.nn.functional.linear_cross_entropy``
    / ``cross_entropy(label_smoothing=...)``, except that ``ignore_index``
    defaults to -100 (torch's ``cross_entropy``; torch's
    ``linear_cross_entropy`` defaults to None) and an all-ignored mean is 0.
    No gradient flows to ``label_smoothing``, ``z_loss`` or ``logit_soft_cap``.
    Out-of-range labels (other than ``ignore_index``) are not detected unless
    run under ``chex.chexify``. The dimension ``N`` of the temporary memory is
    gone, but the hidden-state gradient is accumulated over vocabulary chunks
    in float32: for bfloat16 ``hidden`` that is one ``N x D`` float32 buffer.
    On CPU, XLA has no bfloat16 matmul: it converts the operands to float32
    and hoists that conversion of the whole weight out of the forward loop,
    so on CPU a bfloat16 weight does get one float32 copy (GPU/TPU matmuls
    take bfloat16 directly).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> h = jnp.array([[1., 0.], [0., 1.]])
    >>> w = jnp.array([[1., 0.], [0., 1.], [1., 1.]])
    >>> print(jaxloss.linear_cross_entropy(h, w, jnp.array([0, 2]), chunk_size=2))
    0.861995
  """
  check_floating("hidden", hidden)
  check_floating("weight", weight)
  check_integer("labels", labels)
  check_min_rank("hidden", hidden, 1)
  check_rank("weight", weight, 2, "(V, D)")
  _ce_common_checks(chunk_size, ignore_index)
  d = shape_of(hidden)[-1]
  if shape_of(weight)[1] != d:
    raise LossInputError(
        f"weight has shape {shape_of(weight)} but hidden has shape {shape_of(hidden)}; "
        f"expected weight of shape (V, {d})")
  if shape_of(labels) != shape_of(hidden)[:-1]:
    raise LossInputError(
        f"labels has shape {shape_of(labels)} but hidden has shape {shape_of(hidden)}; "
        f"expected integer labels of shape {shape_of(hidden)[:-1]}")
  if not isinstance(max_temp_bytes, (int, np.integer)) or isinstance(max_temp_bytes, bool) \
      or max_temp_bytes < 1:
    raise LossInputError(f"max_temp_bytes must be a positive int, got {max_temp_bytes!r}")
  vocab = weight.shape[0]
  dtype = nx.compute_dtype(hidden, weight)
  # Opted out of the decorator's upcast: the matmuls run in the inputs' dtype
  # (no float32 copy of a bfloat16 weight); mixed input dtypes meet at the wider.
  mm = jnp.promote_types(hidden.dtype, weight.dtype)
  if bias is None:
    bias = jnp.zeros((vocab,), dtype)
  elif shape_of(bias) != (vocab,):
    raise LossInputError(f"bias has shape {shape_of(bias)}; expected ({vocab},)")
  else:
    check_floating("bias", bias)
  debug_check_labels(labels, vocab, ignore_index)
  valid, ids = _valid_rows(labels, ignore_index, where)
  batch_shape = labels.shape
  # Ignored rows are masked per token tile inside the loop (no masked copy).
  h = hidden.astype(mm).reshape(-1, d)
  has_cap = logit_soft_cap is not None
  cap = jnp.asarray(logit_soft_cap if has_cap else 1.0, dtype)
  tile, chunk = _lce_tile_sizes(h.shape[0], vocab, d, chunk_size, max_temp_bytes)
  ce, zrow = _lce(tile, chunk, has_cap, h, weight.astype(mm), bias.astype(dtype),
                  ids.reshape(-1), valid.reshape(-1), jnp.asarray(label_smoothing, dtype),
                  jnp.asarray(z_loss, dtype), cap)
  return _ce_outputs(ce, zrow, batch_shape, reduction, valid, nx.upcast(weights),
                     return_components)


# ---- chunked cross-entropy over existing logits --------------------------


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def _cce(chunk, has_cap, logits, labels, valid, ls, zl, cap):
  return _cce_fwd(chunk, has_cap, logits, labels, valid, ls, zl, cap)[0]


def _cce_fwd(chunk, has_cap, logits, labels, valid, ls, zl, cap):
  n, vocab = logits.shape
  dtype = logits.dtype
  num = -(-vocab // chunk)
  ref = _reference(_soft_cap(logits[:, 0], cap)[0] if has_cap else logits[:, 0])

  def step(carry, c):
    # The last chunk is slid back to end at V (no padded copy of the logits);
    # the columns it shares with the previous chunk are masked out.
    start = jnp.minimum(c * chunk, vocab - chunk)
    x = jax.lax.dynamic_slice_in_dim(logits, start, chunk, axis=1)
    z = _soft_cap(x, cap)[0] if has_cap else x
    col_ids = start + jnp.arange(chunk)
    return _online_update(carry, z, col_ids, col_ids >= c * chunk, labels, ref), None

  if num == 1:
    # One chunk: a single fused pass over the logits, no slice buffer.
    z = _soft_cap(logits, cap)[0] if has_cap else logits
    col_ids = jnp.arange(vocab)
    carry = _online_update(_init_carry(n, dtype), z, col_ids, col_ids >= 0, labels, ref)
  else:
    carry, _ = jax.lax.scan(step, _init_carry(n, dtype), jnp.arange(num))
  loss, stats = _finish(carry, ref, valid, vocab, ls, zl)
  return loss, (logits, labels, valid, ls, zl, cap, stats)


def _cce_bwd(chunk, has_cap, res, g):
  del chunk
  logits, labels, valid, ls, zl, cap, stats = res
  vocab = logits.shape[1]
  g = tuple(jnp.where(valid, x, 0.0).astype(logits.dtype) for x in g)
  # One fused elementwise pass over the logits writes the gradient.
  if has_cap:
    z, dcap = _soft_cap(logits, cap)
  else:
    z, dcap = logits, None
  col_ids = jnp.arange(vocab)
  dz = _dlogits(z, stats, g, col_ids, jnp.ones((vocab,), bool), labels, vocab, ls, zl)
  if has_cap:
    dz = dz * dcap
  dz = jnp.where(valid[:, None], dz, 0.0)
  return (dz, None, None, jnp.zeros_like(ls), jnp.zeros_like(zl), jnp.zeros_like(cap))


_cce.defvjp(_cce_fwd, _cce_bwd)


@register(tasks=("language modelling", "large-vocabulary classification"),
          input_kind="logits",
          peer="optax.losses.softmax_cross_entropy_with_integer_labels; "
               "torch.nn.functional.cross_entropy",
          references=(_ONLINE, _PALM, _GEMMA2, SURVEY),
          components=("cross_entropy", "z_loss"))
@loss_function(static=("chunk_size", "ignore_index", "return_components"), ranges=_CE_RANGES)
def chunked_cross_entropy(logits, labels, *, chunk_size=4096, ignore_index=-100,
                          label_smoothing=0.0, z_loss=0.0, logit_soft_cap=None, weights=None,
                          where=None, reduction="mean", return_components=False):
  r"""Softmax cross-entropy over existing logits, with a chunked online log-sum-exp.

  .. math::
    \ell_i = L_i - (1 - \alpha) z_{i y_i} - \frac{\alpha}{V} \sum_j z_{ij} + c L_i^2,
    \quad L_i = \log \sum_j e^{z_{ij}}

  where :math:`z` are the logits, soft-capped if ``logit_soft_cap`` is set.
  The forward pass scans the classes in chunks of ``chunk_size`` (a
  ``chunk_size`` that does not divide ``V`` slides the last chunk back and
  masks the overlap — no padded copy of the logits); a ``custom_vjp``
  backward pass writes :math:`g_i(p_{ij}(1 + 2cL_i) - (1-\alpha)[j = y_i] -
  \alpha/V)` in one fused elementwise pass, so the backward pass needs no
  ``N x V`` buffers besides the gradient itself. Use
  :func:`linear_cross_entropy` to avoid materialising the logits at all.

  Args:
    logits: floating array ``(..., V)``.
    labels: integer class ids of shape ``logits.shape[:-1]``.
    chunk_size: classes per chunk (static int, default 4096), or None for a
      single fused pass. XLA already fuses the naive loss over existing logits
      (no ``N x V`` temporaries on CPU, see ``benchmarks/bench_scalable.py``),
      so the chunks bound the working set of the forward pass at the cost of
      an ``N x chunk_size`` slice buffer; the gain is the backward pass that
      writes only the gradient.
    ignore_index: rows whose label equals it are excluded (default -100, as
      torch; None disables).
    label_smoothing: :math:`\alpha \in [0, 1]` (default 0.0), as torch.
    z_loss: :math:`c \ge 0` (default 0.0), PaLM's :math:`c \log^2 Z`.
    logit_soft_cap: :math:`s > 0` or None (default None), Gemma 2's
      :math:`s \tanh(z / s)`.
    weights: optional per-row weights broadcastable to ``labels.shape``.
    where: optional boolean mask broadcastable to ``labels.shape``.
    reduction: "mean" (default; over the non-ignored rows) | "sum" | "none".
    return_components: static; also return the two parts (default False).

  Returns:
    A scalar for "mean"/"sum"; ``labels.shape`` for "none" (0 at excluded
    rows). Mean over zero rows is 0. With ``return_components=True``,
    ``(total, {"cross_entropy": ..., "z_loss": ...})``, reduced like the total.

  Raises:
    LossInputError: ``labels`` shape is not ``logits.shape[:-1]``, or
      ``chunk_size`` is not a positive int.
    LossTypeError: ``logits`` not floating or ``labels`` not integer.

  Notes:
    Equals ``torch.nn.functional.cross_entropy(ignore_index=-100,
    label_smoothing=...)`` (all-ignored mean: 0 here, NaN in torch). No
    gradient flows to ``label_smoothing``, ``z_loss`` or ``logit_soft_cap``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.array([[2., 1., 0.], [0., 0., 3.]])
    >>> print(jaxloss.chunked_cross_entropy(logits, jnp.array([0, 2]), chunk_size=2))
    0.251264
  """
  check_floating("logits", logits)
  check_min_rank("logits", logits, 1)
  _ce_common_checks(chunk_size if chunk_size is not None else 1, ignore_index)
  if class_labels(logits, labels) != "int":
    raise LossInputError(
        f"labels must be integer class ids of shape {shape_of(logits)[:-1]}, got "
        f"floating labels of shape {shape_of(labels)}")
  vocab = logits.shape[-1]
  dtype = nx.compute_dtype(logits)
  debug_check_labels(labels, vocab, ignore_index)
  valid, ids = _valid_rows(labels, ignore_index, where)
  x = nx.mask_fill(logits.astype(dtype), valid, trailing=1).reshape(-1, vocab)
  has_cap = logit_soft_cap is not None
  cap = jnp.asarray(logit_soft_cap if has_cap else 1.0, dtype)
  chunk = vocab if chunk_size is None else min(chunk_size, vocab)
  ce, zrow = _cce(chunk, has_cap, x, ids.reshape(-1), valid.reshape(-1),
                  jnp.asarray(label_smoothing, dtype), jnp.asarray(z_loss, dtype), cap)
  return _ce_outputs(ce, zrow, labels.shape, reduction, valid, weights, return_components)

