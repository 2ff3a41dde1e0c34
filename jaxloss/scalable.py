"""Scalable losses: memory-efficient large-vocabulary cross-entropy and sharded losses.

Two kinds of scalability (survey: "Interpretability and Scalability of Loss
Functions"; user-pitfalls section 3):

* **Memory.** :func:`linear_cross_entropy` computes the cross-entropy of
  ``hidden @ weight.T (+ bias)`` in vocabulary chunks with an online
  log-sum-exp, so the ``(N, V)`` logits never exist; its ``custom_vjp``
  recomputes each chunk's logits in the backward pass (memory
  ``O(N * chunk_size + V * D)`` instead of ``O(N * V)``).
  :func:`chunked_cross_entropy` runs the same online algorithm over logits
  that already exist, with a backward pass that writes the gradient in one
  fused elementwise pass (no extra ``N x V`` buffers).
* **Devices.** Losses whose value depends on the whole batch give the
  *global* answer when the batch is sharded over a :class:`jax.sharding.Mesh`
  axis: :func:`sharded_clip_loss` (all-gather of the other devices'
  embeddings, "local loss" of OpenCLIP), :func:`sharded_siglip_loss` (ring
  exchange of text chunks with ``ppermute``, as in the SigLIP paper),
  :func:`sharded_dice_loss` / :func:`sharded_tversky_loss` (batch statistics
  summed with ``psum``), and :func:`global_masked_mean` for use inside a
  user's own ``shard_map``. Plain per-example losses (``jaxloss.mse`` ...)
  need nothing special: under :func:`jax.jit` with sharded inputs XLA inserts
  the collectives for the reduction.

Conventions: integer ``labels`` hold class ids with torch's
``ignore_index=-100``; excluded rows (``ignore_index`` or ``where=False``)
contribute nothing and leave the ``"mean"`` denominator. bfloat16/float16
inputs are computed and accumulated in float32 and return float32.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P

from jaxloss import _examples as ex
from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    check_floating,
    check_integer,
    check_min_rank,
    check_rank,
    check_same_shape,
    class_labels,
    debug_check_labels,
    loss_function,
    reduce_loss,
    shape_of,
)
from jaxloss.catalog import register

__all__ = [
    "chunked_cross_entropy", "global_masked_mean", "linear_cross_entropy",
    "sharded_clip_loss", "sharded_dice_loss", "sharded_siglip_loss",
    "sharded_tversky_loss",
]

_SURVEY = ("Elharrouss et al., Loss Functions in Deep Learning: A Comprehensive Review, "
           "arXiv:2504.04242, 2025")
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


def _soft_cap(x, cap):
  """``cap * tanh(x / cap)`` and its derivative ``1 - tanh^2``."""
  t = jnp.tanh(x / cap)
  return cap * t, 1.0 - t * t


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
  """Row losses and the (shift, log-sum) pair of the log-sum-exp.

  The loss is assembled as differences of nearby numbers (``m - z_y``,
  ``m - ref``) before adding ``log s``: forming ``L = m + log s`` first would
  round away ``log s`` when all logits share an offset of 1e6.
  """
  m, s, zy, zsum = carry
  shift = jnp.where(jnp.isfinite(m), m, 0.0)
  logs = jnp.log(s)
  lse = logs + shift
  smooth = jnp.where(ls > 0, ls * ((shift - ref) - zsum / vocab), 0.0)
  loss = logs + (1.0 - ls) * (shift - zy) + smooth + zl * lse * lse
  return jnp.where(valid, loss, 0.0), (shift, logs)


def _dlogits(z, stats, g, col_ids, colvalid, labels, vocab, ls, zl):
  """d(row loss)/dz for one chunk, scaled by the row cotangents ``g``."""
  shift, logs = stats
  lse = shift + logs
  p = jnp.where(colvalid, jnp.exp((z - shift[:, None]) - logs[:, None]), 0.0)
  onehot = (col_ids[None, :] == labels[:, None]) & colvalid
  d = (p * (1.0 + 2.0 * zl * lse)[:, None] - (1.0 - ls) * onehot
       - jnp.where(colvalid, ls / vocab, 0.0))
  return g[:, None] * d


# ---- linear (fused projection) version -----------------------------------


def _lce_chunks(weight, bias, chunk):
  """Weight/bias as (n_chunks, chunk, D) / (n_chunks, chunk), zero-padded."""
  v, d = weight.shape
  n = -(-v // chunk)
  pad = n * chunk - v
  if pad:
    # Padded rows are masked to -inf (colvalid) before any reduction.
    weight = jnp.pad(weight, ((0, pad), (0, 0)))
    bias = jnp.pad(bias, (0, pad))
  return weight.reshape(n, chunk, d), bias.reshape(n, chunk), n


def _lce_logits(h, wc, bc, cap, has_cap, dtype):
  x = jnp.dot(h, wc.T, preferred_element_type=dtype) + bc.astype(dtype)
  if has_cap:
    return _soft_cap(x, cap)
  return x, None


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def _lce(chunk, has_cap, h, weight, bias, labels, valid, ls, zl, cap):
  return _lce_fwd(chunk, has_cap, h, weight, bias, labels, valid, ls, zl, cap)[0]


def _lce_fwd(chunk, has_cap, h, weight, bias, labels, valid, ls, zl, cap):
  dtype = nx.compute_dtype(h, weight)
  vocab = weight.shape[0]
  wcs, bcs, n = _lce_chunks(weight, bias, chunk)

  ref = _reference(_lce_logits(h, weight[:1], bias[:1], cap, has_cap, dtype)[0][:, 0])

  def step(carry, xs):
    wc, bc, c = xs
    z, _ = _lce_logits(h, wc, bc, cap, has_cap, dtype)
    col_ids = c * chunk + jnp.arange(chunk)
    return _online_update(carry, z, col_ids, col_ids < vocab, labels, ref), None

  carry, _ = jax.lax.scan(step, _init_carry(h.shape[0], dtype), (wcs, bcs, jnp.arange(n)))
  loss, stats = _finish(carry, ref, valid, vocab, ls, zl)
  return loss, (h, weight, bias, labels, valid, ls, zl, cap, stats)


def _lce_bwd(chunk, has_cap, res, g):
  h, weight, bias, labels, valid, ls, zl, cap, stats = res
  dtype = nx.compute_dtype(h, weight)
  vocab = weight.shape[0]
  wcs, bcs, n = _lce_chunks(weight, bias, chunk)
  g = jnp.where(valid, g, 0.0).astype(dtype)

  def step(dh, xs):
    wc, bc, c = xs
    z, dcap = _lce_logits(h, wc, bc, cap, has_cap, dtype)
    col_ids = c * chunk + jnp.arange(chunk)
    dz = _dlogits(z, stats, g, col_ids, col_ids < vocab, labels, vocab, ls, zl)
    if has_cap:
      dz = dz * dcap
    dh = dh + jnp.dot(dz, wc.astype(dtype), preferred_element_type=dtype)
    dwc = jnp.dot(dz.T, h.astype(dtype), preferred_element_type=dtype)
    return dh, (dwc, jnp.sum(dz, axis=0))

  dh, (dw, db) = jax.lax.scan(step, jnp.zeros(h.shape, dtype), (wcs, bcs, jnp.arange(n)))
  dw = dw.reshape(-1, weight.shape[1])[:vocab].astype(weight.dtype)
  db = db.reshape(-1)[:vocab].astype(bias.dtype)
  # label_smoothing, z_loss and logit_soft_cap are treated as constants.
  return (dh.astype(h.dtype), dw, db, None, None, jnp.zeros_like(ls), jnp.zeros_like(zl),
          jnp.zeros_like(cap))


_lce.defvjp(_lce_fwd, _lce_bwd)


def _ce_common_checks(chunk_size, ignore_index):
  if not isinstance(chunk_size, (int, np.integer)) or isinstance(chunk_size, bool) \
      or chunk_size < 1:
    raise LossInputError(f"chunk_size must be a positive int, got {chunk_size!r}")
  if ignore_index is not None and not isinstance(ignore_index, (int, np.integer)):
    raise LossInputError(f"ignore_index must be an int or None, got {ignore_index!r}")


def _valid_rows(labels, ignore_index, where):
  valid = jnp.ones(labels.shape, bool)
  if ignore_index is not None:
    valid = labels != ignore_index
  if where is not None:
    valid = valid & jnp.broadcast_to(jnp.asarray(where, bool), labels.shape)
  return valid


def _lce_example(key):
  k1, k2, k3 = jax.random.split(key, 3)
  hidden = ex.normal(k1, (8, 6))
  weight = ex.normal(k2, (13, 6), 0.5)
  labels = jax.random.randint(k3, (8,), 0, 13)
  return (hidden, weight, labels), {"chunk_size": 4}


def _lce_edges(key):
  (h, w, y), kw = _lce_example(key)
  ignored = y.at[::2].set(-100)
  return [((h * 1e3, w, y), kw),                                    # saturated logits
          ((h, w, jnp.full_like(y, -100)), kw),                     # everything ignored
          ((h, w, ignored), {**kw, "label_smoothing": 0.1, "z_loss": 1e-4}),
          ((h * 1e3, w, y), {**kw, "logit_soft_cap": 30.0}),
          ((jnp.zeros_like(h), w, y), {**kw, "chunk_size": 13})]    # uniform logits


def _lce_bad(key):
  (h, w, y), kw = _lce_example(key)
  return (h, w[:, :-1], y), kw


_CE_RANGES = {"label_smoothing": "[0, 1]", "z_loss": ">= 0", "logit_soft_cap": "> 0"}


@register(family="scalable", tasks=("language modelling", "large-vocabulary classification"),
          input_kind="hidden states and classifier weight",
          peer="torch.nn.functional.linear_cross_entropy; apple/ml-cross-entropy "
               "linear_cross_entropy (Cut Cross-Entropy)",
          references=(_CCE, _ONLINE, _PALM, _GEMMA2, _SURVEY),
          efficiency=("high", "never materialises (N, V) logits; one extra GEMM pass in backward"),
          complexity=("high", "custom_vjp with chunked recomputation and online log-sum-exp"),
          stability=("high", "online log-sum-exp in float32; exact softmax gradient"),
          example=_lce_example, edge_cases=_lce_edges, bad_input=_lce_bad,
          grad_argnums=(0, 1), per_example=False, where_trailing=1)
@loss_function(static=("chunk_size", "ignore_index"), ranges=_CE_RANGES)
def linear_cross_entropy(hidden, weight, labels, *, bias=None, chunk_size=4096,
                         ignore_index=-100, label_smoothing=0.0, z_loss=0.0,
                         logit_soft_cap=None, weights=None, where=None, reduction="mean"):
  r"""Cross-entropy of a linear classifier, computed in vocabulary chunks.

  With logits :math:`x = h W^\top + b` (optionally soft-capped,
  :math:`z = s \tanh(x / s)`), :math:`L_i = \log\sum_j e^{z_{ij}}`:

  .. math::
    \ell_i = L_i - (1 - \alpha) z_{i y_i} - \frac{\alpha}{V} \sum_j z_{ij} + c L_i^2

  The ``(N, V)`` logits are never materialised: the forward pass scans the
  vocabulary in chunks of ``chunk_size`` rows of ``weight`` keeping a running
  max / sum (online log-sum-exp), and a ``custom_vjp`` backward pass
  recomputes each chunk's logits to accumulate the gradients of ``hidden``,
  ``weight`` and ``bias``. Peak temporary memory is ``O(N * chunk_size + V * D)``
  instead of ``O(N * V)``. A ``chunk_size`` that does not divide ``V`` pads the
  last chunk with rows masked to ``-inf``.

  Args:
    hidden: floating array ``(..., D)`` of final hidden states (e.g. ``(N, D)``
      or ``(batch, seq, D)``).
    weight: floating classifier weight ``(V, D)`` (torch ``nn.Linear`` layout;
      pass ``kernel.T`` for a Flax ``Dense`` kernel ``(D, V)``).
    labels: integer class ids of shape ``hidden.shape[:-1]``.
    bias: optional ``(V,)`` classifier bias (default None). Differentiable.
    chunk_size: vocabulary rows per chunk (static int, default 4096).
    ignore_index: rows whose label equals it are excluded (default -100, as
      torch; None disables).
    label_smoothing: :math:`\alpha \in [0, 1]` (default 0.0), torch's
      ``label_smoothing`` (uniform mass :math:`\alpha / V` on every class).
    z_loss: :math:`c \ge 0` (default 0.0), PaLM's auxiliary
      :math:`c \log^2 Z` term, added per row.
    logit_soft_cap: :math:`s > 0` or None (default None); Gemma 2's
      :math:`s \tanh(x / s)` applied to the logits before the softmax.
    weights: optional per-row weights broadcastable to ``labels.shape``.
    where: optional boolean mask broadcastable to ``labels.shape``.
    reduction: "mean" (default; over the non-ignored rows) | "sum" | "none".

  Returns:
    A float32 scalar for "mean"/"sum" (float64 under x64); ``labels.shape``
    for "none" (0 at excluded rows). Mean over zero rows is 0 (torch: NaN).

  Raises:
    LossInputError: ``weight`` is not ``(V, D)`` with ``D = hidden.shape[-1]``,
      ``labels`` is not ``hidden.shape[:-1]``, ``bias`` is not ``(V,)``, or
      ``chunk_size`` is not a positive int.
    LossTypeError: ``hidden``/``weight`` not floating or ``labels`` not integer.

  References:
    Wijmans et al., "Cut Your Losses in Large-Vocabulary Language Models"
    (ICLR 2025); online softmax (Milakov & Gimelshein 2018); z-loss (PaLM);
    logit soft-capping (Gemma 2). Matches
    ``optax.losses.softmax_cross_entropy_with_integer_labels(hidden @ weight.T
    + bias, labels)`` and ``torch.nn.functional.linear_cross_entropy`` /
    ``cross_entropy(label_smoothing=...)``, except that ``ignore_index``
    defaults to -100 (torch's ``cross_entropy``; torch's
    ``linear_cross_entropy`` defaults to None) and an all-ignored mean is 0.
    No gradient flows to ``label_smoothing``, ``z_loss`` or ``logit_soft_cap``.
    Out-of-range labels (other than ``ignore_index``) are not detected unless
    run under ``chex.chexify``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> h = jnp.array([[1., 0.], [0., 1.]])
    >>> w = jnp.array([[1., 0.], [0., 1.], [1., 1.]])
    >>> print(jaxloss.linear_cross_entropy(h, w, jnp.array([0, 2]), chunk_size=2))
    0.8619948
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
  vocab = weight.shape[0]
  dtype = nx.compute_dtype(hidden, weight)
  if bias is None:
    bias = jnp.zeros((vocab,), dtype)
  elif shape_of(bias) != (vocab,):
    raise LossInputError(f"bias has shape {shape_of(bias)}; expected ({vocab},)")
  debug_check_labels(labels, vocab, ignore_index)
  valid = _valid_rows(labels, ignore_index, where)
  batch_shape = labels.shape
  h = nx.mask_fill(hidden.astype(dtype), valid, trailing=1).reshape(-1, d)
  has_cap = logit_soft_cap is not None
  cap = jnp.asarray(logit_soft_cap if has_cap else 1.0, dtype)
  rows = _lce(min(chunk_size, vocab), has_cap, h, weight.astype(dtype), bias.astype(dtype),
              labels.reshape(-1), valid.reshape(-1), jnp.asarray(label_smoothing, dtype),
              jnp.asarray(z_loss, dtype), cap)
  return reduce_loss(rows.reshape(batch_shape), reduction, where=valid, weights=weights)


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
  g = jnp.where(valid, g, 0.0).astype(logits.dtype)
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


def _cce_example(key):
  logits, labels = ex.logits_and_labels(key, (8, 13))
  return (logits, labels), {"chunk_size": 4}


def _cce_edges(key):
  (x, y), kw = _cce_example(key)
  return [((x * 1e4, y), kw),                                        # saturated
          ((jnp.zeros_like(x) + 1e6, y), kw),                        # uniform, huge offset
          ((x.at[:, 1:].set(-jnp.inf), jnp.zeros_like(y)), kw),      # all-but-one -inf
          ((x, y.at[::2].set(-100)), {**kw, "label_smoothing": 0.1, "z_loss": 1e-4}),
          ((x * 1e3, y), {**kw, "logit_soft_cap": 30.0})]


@register(family="scalable", tasks=("language modelling", "large-vocabulary classification"),
          input_kind="logits",
          peer="optax.losses.softmax_cross_entropy_with_integer_labels; "
               "torch.nn.functional.cross_entropy",
          references=(_ONLINE, _PALM, _GEMMA2, _SURVEY),
          efficiency=("high", "chunked forward, one fused elementwise backward pass"),
          complexity=("medium", "custom_vjp and an online log-sum-exp scan"),
          stability=("high", "online log-sum-exp in float32; exact softmax gradient"),
          example=_cce_example, edge_cases=_cce_edges, per_example=True, where_trailing=1)
@loss_function(static=("chunk_size", "ignore_index"), ranges=_CE_RANGES)
def chunked_cross_entropy(logits, labels, *, chunk_size=4096, ignore_index=-100,
                          label_smoothing=0.0, z_loss=0.0, logit_soft_cap=None, weights=None,
                          where=None, reduction="mean"):
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

  Returns:
    A scalar for "mean"/"sum"; ``labels.shape`` for "none" (0 at excluded
    rows). Mean over zero rows is 0.

  Raises:
    LossInputError: ``labels`` shape is not ``logits.shape[:-1]``, or
      ``chunk_size`` is not a positive int.
    LossTypeError: ``logits`` not floating or ``labels`` not integer.

  References:
    Online softmax normaliser (Milakov & Gimelshein 2018). Matches
    ``optax.losses.softmax_cross_entropy_with_integer_labels`` and
    ``torch.nn.functional.cross_entropy(ignore_index=-100,
    label_smoothing=...)`` (all-ignored mean: 0 here, NaN in torch). No
    gradient flows to ``label_smoothing``, ``z_loss`` or ``logit_soft_cap``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.array([[2., 1., 0.], [0., 0., 3.]])
    >>> print(jaxloss.chunked_cross_entropy(logits, jnp.array([0, 2]), chunk_size=2))
    0.25126442
  """
  check_floating("logits", logits)
  check_min_rank("logits", logits, 1)
  _ce_common_checks(chunk_size if chunk_size is not None else 1, ignore_index)
  if class_labels("chunked_cross_entropy", logits, labels) != "int":
    raise LossInputError(
        f"labels must be integer class ids of shape {shape_of(logits)[:-1]}, got "
        f"floating labels of shape {shape_of(labels)}")
  vocab = logits.shape[-1]
  dtype = nx.compute_dtype(logits)
  debug_check_labels(labels, vocab, ignore_index)
  valid = _valid_rows(labels, ignore_index, where)
  x = nx.mask_fill(logits.astype(dtype), valid, trailing=1).reshape(-1, vocab)
  has_cap = logit_soft_cap is not None
  cap = jnp.asarray(logit_soft_cap if has_cap else 1.0, dtype)
  rows = _cce(vocab if chunk_size is None else min(chunk_size, vocab), has_cap, x, labels.reshape(-1), valid.reshape(-1),
              jnp.asarray(label_smoothing, dtype), jnp.asarray(z_loss, dtype), cap)
  return reduce_loss(rows.reshape(labels.shape), reduction, where=valid, weights=weights)


# --------------------------------------------------------------------------
# Sharded losses (shard_map over a Mesh axis).
# --------------------------------------------------------------------------


def _check_mesh(mesh, axis_name, batch, what):
  if not isinstance(mesh, jax.sharding.Mesh):
    raise LossInputError(f"mesh must be a jax.sharding.Mesh, got {type(mesh).__name__}")
  if axis_name not in mesh.axis_names:
    raise LossInputError(
        f"axis_name {axis_name!r} is not an axis of the mesh {mesh.axis_names}")
  size = mesh.shape[axis_name]
  if batch % size:
    raise LossInputError(
        f"{what} has batch size {batch}, which is not divisible by the {size} devices of "
        f"mesh axis {axis_name!r}")
  return size


def _pair_checks(image_embeddings, text_embeddings, mesh, axis_name):
  check_floating("image_embeddings", image_embeddings)
  check_rank("image_embeddings", image_embeddings, 2, "(batch, dim)")
  check_same_shape("image_embeddings", image_embeddings, "text_embeddings", text_embeddings)
  _check_mesh(mesh, axis_name, image_embeddings.shape[0], "image_embeddings")


def _pair_example(key, **kw):
  def example(key):
    k1, k2 = jax.random.split(key)
    img = ex.normal(k1, (8, 6))
    txt = img + 0.5 * ex.normal(k2, (8, 6))
    return (img, txt), {"mesh": _default_mesh(), **kw}
  return example(key)


def _default_mesh():
  """A 1-D ``"data"`` mesh over every available device (for the catalog example)."""
  devices = jax.devices()
  n = max(d for d in (8, 4, 2, 1) if d <= len(devices))
  return jax.sharding.Mesh(np.array(devices[:n]), ("data",))


def _pair_edges(key):
  (img, txt), kw = _pair_example(key)
  return [((img, img), kw),                                   # identical embeddings
          ((img.at[0].set(0.0), txt.at[1].set(0.0)), kw),     # zero-norm embeddings
          ((img * 1e3, txt * 1e-3), kw)]


def _pair_bad(key):
  (img, txt), kw = _pair_example(key)
  return (img, txt[:, :-1]), kw


@register(family="scalable", tasks=("image-text contrastive learning", "multimodal retrieval"),
          input_kind="embeddings",
          peer="open_clip ClipLoss(local_loss=True, gather_with_grad=True)",
          references=("Radford et al., Learning Transferable Visual Models From Natural "
                      "Language Supervision (CLIP), ICML 2021", _SURVEY),
          efficiency=("medium", "all-gather of B x D embeddings; (B/n) x B logits per device"),
          complexity=("medium", "shard_map with all_gather; gradient via its transpose"),
          stability=("high", "log-sum-exp cross-entropy on normalised embeddings"),
          example=_pair_example, edge_cases=_pair_edges, bad_input=_pair_bad,
          grad_argnums=(0, 1), per_example=False, where_trailing=None)
@loss_function(static=("mesh", "axis_name", "normalize"), ranges={"temperature": "> 0"})
def sharded_clip_loss(image_embeddings, text_embeddings, *, mesh, axis_name="data",
                      temperature=0.07, normalize=True, reduction="mean"):
  r"""Global-batch CLIP loss over a batch sharded along a mesh axis.

  With :math:`u_i, v_j` the (L2-normalised) image and text embeddings of the
  *global* batch of size :math:`B` and :math:`s_{ij} = u_i^\top v_j / \tau`:

  .. math::
    \ell_i = \tfrac12\Big(\log\sum_j e^{s_{ij}} - s_{ii}\Big)
           + \tfrac12\Big(\log\sum_j e^{s_{ji}} - s_{ii}\Big)

  Each device all-gathers the other devices' embeddings and computes the
  rows of the similarity matrix for its own examples (OpenCLIP's "local loss
  with gather-with-grad"), so the value and the gradients equal the
  single-device loss on the whole batch; memory per device is
  ``(B / n) x B`` logits instead of ``B x B``. Run it under ``jax.jit`` like
  any loss; inputs may already be sharded as ``P(axis_name)``.

  Args:
    image_embeddings: floating ``(B, D)``, the global batch (sharded or not).
    text_embeddings: floating ``(B, D)``.
    mesh: a :class:`jax.sharding.Mesh` (static); ``B`` must be divisible by
      the size of its ``axis_name`` axis.
    axis_name: the mesh axis the batch is split over (default "data").
    temperature: :math:`\tau > 0` (default 0.07, CLIP's initial value); may be
      a traced (learned) scalar.
    normalize: L2-normalise the embeddings first (default True).
    reduction: "mean" (default) | "sum" | "none" (``(B,)``, sharded like the
      inputs).

  Returns:
    A scalar for "mean"/"sum"; ``(B,)`` for "none".

  Raises:
    LossInputError: shapes differ or are not ``(B, D)``, ``axis_name`` is not
      a mesh axis, or ``B`` is not divisible by the axis size.

  References:
    Radford et al. (2021), the symmetric InfoNCE of CLIP. Matches OpenCLIP's
    ``ClipLoss(local_loss=True, gather_with_grad=True)`` with
    ``logit_scale = 1 / temperature`` (OpenCLIP expects normalised features;
    here ``normalize=True`` does it) and equals the single-device global
    CLIP loss.

  Examples:
    >>> import jax, jax.numpy as jnp, numpy as np, jaxloss
    >>> mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("data",))
    >>> img = jnp.array([[1., 0.], [0., 1.]])
    >>> txt = jnp.array([[1., 1.], [0., 1.]])
    >>> print(jaxloss.sharded_clip_loss(img, txt, mesh=mesh, temperature=1.0))
    0.49115705
  """
  _pair_checks(image_embeddings, text_embeddings, mesh, axis_name)
  dtype = nx.compute_dtype(image_embeddings, text_embeddings)
  temperature = jnp.asarray(temperature, dtype)

  def local(img, txt, temp):
    if normalize:
      img, txt = nx.l2_normalize(img), nx.l2_normalize(txt)
    img_all = jax.lax.all_gather(img, axis_name, tiled=True)
    txt_all = jax.lax.all_gather(txt, axis_name, tiled=True)
    b = img.shape[0]
    targets = jax.lax.axis_index(axis_name) * b + jnp.arange(b)
    i2t = img @ txt_all.T / temp
    t2i = txt @ img_all.T / temp
    ce_i = nx.logsumexp(i2t) - nx.take_along_last(i2t, targets)
    ce_t = nx.logsumexp(t2i) - nx.take_along_last(t2i, targets)
    return 0.5 * (ce_i + ce_t)

  per_example = jax.shard_map(
      local, mesh=mesh, in_specs=(P(axis_name, None), P(axis_name, None), P()),
      out_specs=P(axis_name))(image_embeddings.astype(dtype), text_embeddings.astype(dtype),
                              temperature)
  return reduce_loss(per_example, reduction)


@register(family="scalable", tasks=("image-text contrastive learning", "multimodal retrieval"),
          input_kind="embeddings",
          peer="big_vision SigLIP sigmoid loss (chunked/ring); open_clip SigLipLoss",
          references=("Zhai et al., Sigmoid Loss for Language Image Pre-Training (SigLIP), "
                      "ICCV 2023", _SURVEY),
          efficiency=("high", "ring of n ppermutes of (B/n) x D text chunks; no all-gather"),
          complexity=("medium", "shard_map with a ppermute ring in lax.scan"),
          stability=("high", "log-sigmoid of bounded logits"),
          example=_pair_example, edge_cases=_pair_edges, bad_input=_pair_bad,
          grad_argnums=(0, 1), per_example=False, where_trailing=None)
@loss_function(static=("mesh", "axis_name", "normalize"), ranges={"temperature": "> 0"})
def sharded_siglip_loss(image_embeddings, text_embeddings, *, mesh, axis_name="data",
                        temperature=10.0, bias=-10.0, normalize=True, reduction="mean"):
  r"""Global-batch SigLIP (pairwise sigmoid) loss with the chunked ring exchange.

  With :math:`u_i, v_j` the (L2-normalised) embeddings of the global batch,
  logits :math:`x_{ij} = t\, u_i^\top v_j + b` and :math:`z_{ij} = 1` if
  :math:`i = j` else :math:`-1`:

  .. math::
    \ell_i = -\sum_{j=1}^{B} \log \sigma(z_{ij} x_{ij}), \qquad
    \mathcal{L} = \frac{1}{B} \sum_i \ell_i

  Each device keeps its images and passes its text chunk around the ring
  (``jax.lax.ppermute``) ``n`` times, adding the pair losses of each chunk —
  the paper's memory-efficient implementation: no all-gather, ``(B/n)^2``
  logits per device per step.

  Args:
    image_embeddings: floating ``(B, D)``, the global batch.
    text_embeddings: floating ``(B, D)``.
    mesh: a :class:`jax.sharding.Mesh` (static); ``B`` divisible by the size
      of its ``axis_name`` axis.
    axis_name: mesh axis of the batch (default "data").
    temperature: the logit scale :math:`t > 0` (default 10.0, the paper's
      initialisation :math:`\log t' = \log 10`); may be traced.
    bias: :math:`b` (default -10.0, the paper's initialisation); may be traced.
    normalize: L2-normalise the embeddings first (default True).
    reduction: "mean" (default: sum over pairs / B, as the paper) | "sum" |
      "none" (``(B,)``: :math:`\ell_i`).

  Returns:
    A scalar for "mean"/"sum"; ``(B,)`` for "none".

  Raises:
    LossInputError: shapes differ or are not ``(B, D)``, ``axis_name`` is not
      a mesh axis, or ``B`` is not divisible by the axis size.

  References:
    Zhai et al. (2023), Algorithm 1 and the "chunked" implementation of
    Sec. 3.3. Matches big_vision's sigmoid loss and OpenCLIP's ``SigLipLoss``
    (``logit_scale = t``, ``logit_bias = b``), and equals the single-device
    global SigLIP loss.

  Examples:
    >>> import jax, jax.numpy as jnp, numpy as np, jaxloss
    >>> mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("data",))
    >>> x = jnp.array([[1., 0.], [0., 1.]])
    >>> print(jaxloss.sharded_siglip_loss(x, x, mesh=mesh))
    0.6931926
  """
  _pair_checks(image_embeddings, text_embeddings, mesh, axis_name)
  n = mesh.shape[axis_name]
  dtype = nx.compute_dtype(image_embeddings, text_embeddings)
  temperature = jnp.asarray(temperature, dtype)
  bias = jnp.asarray(bias, dtype)
  perm = [(i, (i + 1) % n) for i in range(n)]

  def local(img, txt, t, b):
    if normalize:
      img, txt = nx.l2_normalize(img), nx.l2_normalize(txt)
    eye = jnp.eye(img.shape[0], dtype=bool)

    def step(carry, k):
      chunk, acc = carry
      logits = t * (img @ chunk.T) + b
      # Only the device's own text chunk (step 0) holds the positive pairs.
      sign = jnp.where(eye & (k == 0), 1.0, -1.0)
      acc = acc - jnp.sum(nx.log_sigmoid(sign * logits), axis=1)
      return (jax.lax.ppermute(chunk, axis_name, perm), acc), None

    (_, acc), _ = jax.lax.scan(step, (txt, jnp.zeros_like(img[:, 0])), jnp.arange(n))
    return acc

  per_example = jax.shard_map(
      local, mesh=mesh, in_specs=(P(axis_name, None), P(axis_name, None), P(), P()),
      out_specs=P(axis_name))(image_embeddings.astype(dtype), text_embeddings.astype(dtype),
                              temperature, bias)
  return reduce_loss(per_example, reduction)


# ---- global-statistics region losses --------------------------------------


def _region_example(key):
  logits, labels = ex.logits_and_labels(key, (8, 5, 5, 3))
  return (logits, labels), {"mesh": _default_mesh()}


def _region_edges(key):
  (x, y), kw = _region_example(key)
  perfect = 1e4 * jax.nn.one_hot(y, 3)
  return [((perfect, y), kw),                                         # perfect prediction
          ((x, jnp.zeros_like(y)), kw),                               # classes 1, 2 absent
          ((x * 1e4, y), kw)]


def _region_stats(logits, labels, *, mesh, axis_name, activation, include_background, fn):
  """Global (psum over the batch shards) TP/FP/FN per class, passed to ``fn``."""
  check_floating("logits", logits)
  check_min_rank("logits", logits, 2, "(batch, ..., classes)")
  kind = class_labels("", logits, labels)
  _check_mesh(mesh, axis_name, logits.shape[0], "logits")
  num_classes = logits.shape[-1]
  if kind == "int":
    debug_check_labels(labels, num_classes)
  dtype = nx.compute_dtype(logits)
  logits = logits.astype(dtype)
  labels = labels if kind == "int" else labels.astype(dtype)

  def local(x, y):
    if activation == "softmax":
      p = jax.nn.softmax(x, axis=-1)
    elif activation == "sigmoid":
      p = jax.nn.sigmoid(x)
    else:
      p = x
    g = nx.one_hot(y, num_classes, dtype=dtype) if kind == "int" else y
    if not include_background:
      p, g = p[..., 1:], g[..., 1:]
    axes = tuple(range(p.ndim - 1))
    tp = jax.lax.psum(jnp.sum(p * g, axis=axes), axis_name)
    fp = jax.lax.psum(jnp.sum(p * (1.0 - g), axis=axes), axis_name)
    fn_ = jax.lax.psum(jnp.sum((1.0 - p) * g, axis=axes), axis_name)
    return fn(tp, fp, fn_)

  return jax.shard_map(local, mesh=mesh, in_specs=(P(axis_name), P(axis_name)),
                       out_specs=P())(logits, labels)


_REGION = dict(family="scalable", tasks=("semantic segmentation", "medical image segmentation"),
               input_kind="logits", example=_region_example, edge_cases=_region_edges,
               grad_argnums=(0,), per_example=False, where_trailing=None)
_ACTIVATIONS = {"activation": ("softmax", "sigmoid", None)}


@register(peer="monai.losses.DiceLoss(batch=True, softmax=True)",
          references=("Milletari et al., V-Net, 3DV 2016", _SURVEY),
          efficiency=("high", "three psums of C numbers"),
          complexity=("low", "shard_map with psum of per-class sums"),
          stability=("high", "smoothed ratio; finite for empty classes"),
          **_REGION)
@loss_function(static=("mesh", "axis_name", "activation", "include_background"),
               choices=_ACTIVATIONS, ranges={"smooth_nr": ">= 0", "smooth_dr": ">= 0"})
def sharded_dice_loss(logits, labels, *, mesh, axis_name="data", activation="softmax",
                      include_background=True, smooth_nr=1e-5, smooth_dr=1e-5,
                      reduction="mean"):
  r"""Batch-level (``batch=True``) Dice loss with the sums taken across devices.

  With :math:`p` the class probabilities and :math:`g` the one-hot targets,
  summed over the *global* batch and all spatial positions:

  .. math::
    \ell_c = 1 - \frac{2 \sum p_c g_c + s_{nr}}{\sum p_c + \sum g_c + s_{dr}}

  Each device sums its shard; ``psum`` over ``axis_name`` gives the global
  sums, so the result equals the single-device batch Dice — whereas averaging
  per-device Dice losses does not.

  Args:
    logits: floating ``(B, ..., C)``, batch sharded over ``axis_name``.
    labels: integer ``(B, ...)`` class ids or floating one-hot ``(B, ..., C)``.
    mesh: a :class:`jax.sharding.Mesh` (static); ``B`` divisible by the axis size.
    axis_name: mesh axis of the batch (default "data").
    activation: "softmax" (default) | "sigmoid" | None (inputs are probabilities).
    include_background: keep class 0 (default True).
    smooth_nr, smooth_dr: numerator / denominator smoothing (default 1e-5, MONAI).
    reduction: over classes: "mean" (default) | "sum" | "none" (``(C,)``).

  Returns:
    A scalar for "mean"/"sum"; the per-class losses for "none".

  Raises:
    LossInputError: label shape mismatch, batch not divisible by the axis size.

  References:
    Milletari et al. (2016). Matches ``monai.losses.DiceLoss(batch=True,
    softmax=True, to_onehot_y=True)`` with classes last.

  Examples:
    >>> import jax, jax.numpy as jnp, numpy as np, jaxloss
    >>> mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("data",))
    >>> logits = jnp.array([[[4., 0.], [0., 4.]], [[4., 0.], [4., 0.]]])
    >>> print(jaxloss.sharded_dice_loss(logits, jnp.array([[0, 1], [0, 1]]), mesh=mesh))
    0.27496344
  """
  def dice(tp, fp, fn):
    return 1.0 - (2.0 * tp + smooth_nr) / (2.0 * tp + fp + fn + smooth_dr)

  per_class = _region_stats(logits, labels, mesh=mesh, axis_name=axis_name,
                            activation=activation, include_background=include_background,
                            fn=dice)
  return reduce_loss(per_class, reduction)


@register(peer="monai.losses.TverskyLoss(batch=True, softmax=True)",
          references=("Salehi et al., Tversky loss function for image segmentation using 3D "
                      "fully convolutional deep networks, MLMI 2017", _SURVEY),
          efficiency=("high", "three psums of C numbers"),
          complexity=("low", "shard_map with psum of per-class sums"),
          stability=("high", "smoothed ratio; finite for empty classes"),
          **_REGION)
@loss_function(static=("mesh", "axis_name", "activation", "include_background"),
               choices=_ACTIVATIONS,
               ranges={"alpha": ">= 0", "beta": ">= 0", "smooth_nr": ">= 0",
                       "smooth_dr": ">= 0"})
def sharded_tversky_loss(logits, labels, *, mesh, axis_name="data", activation="softmax",
                         include_background=True, alpha=0.5, beta=0.5, smooth_nr=1e-5,
                         smooth_dr=1e-5, reduction="mean"):
  r"""Batch-level Tversky loss with the sums taken across devices.

  .. math::
    \ell_c = 1 - \frac{TP_c + s_{nr}}{TP_c + \alpha FP_c + \beta FN_c + s_{dr}},
    \quad TP_c = \sum p_c g_c,\ FP_c = \sum p_c (1 - g_c),\ FN_c = \sum (1 - p_c) g_c

  summed over the global batch (``psum`` over ``axis_name``) and all positions.

  Args:
    logits: floating ``(B, ..., C)``, batch sharded over ``axis_name``.
    labels: integer ``(B, ...)`` class ids or floating one-hot ``(B, ..., C)``.
    mesh: a :class:`jax.sharding.Mesh` (static); ``B`` divisible by the axis size.
    axis_name: mesh axis of the batch (default "data").
    activation: "softmax" (default) | "sigmoid" | None.
    include_background: keep class 0 (default True).
    alpha: weight of false positives (default 0.5, MONAI); may be traced.
    beta: weight of false negatives (default 0.5, MONAI); may be traced.
    smooth_nr, smooth_dr: smoothing (default 1e-5, MONAI).
    reduction: over classes: "mean" (default) | "sum" | "none" (``(C,)``).

  Returns:
    A scalar for "mean"/"sum"; the per-class losses for "none".

  Raises:
    LossInputError: label shape mismatch, batch not divisible by the axis size.

  References:
    Salehi et al. (2017). Matches ``monai.losses.TverskyLoss(batch=True,
    softmax=True, to_onehot_y=True)`` (alpha on FP, beta on FN).

  Examples:
    >>> import jax, jax.numpy as jnp, numpy as np, jaxloss
    >>> mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("data",))
    >>> logits = jnp.array([[[4., 0.], [0., 4.]], [[4., 0.], [4., 0.]]])
    >>> print(jaxloss.sharded_tversky_loss(logits, jnp.array([[0, 1], [0, 1]]), mesh=mesh))
    0.27496266
  """
  def tversky(tp, fp, fn):
    return 1.0 - (tp + smooth_nr) / (tp + alpha * fp + beta * fn + smooth_dr)

  per_class = _region_stats(logits, labels, mesh=mesh, axis_name=axis_name,
                            activation=activation, include_background=include_background,
                            fn=tversky)
  return reduce_loss(per_class, reduction)


def global_masked_mean(values, *, axis_name, where=None):
  r"""Mean of ``values`` over the unmasked entries of *all* shards of ``axis_name``.

  For use inside a user's ``jax.shard_map`` (or ``pmap``) body, where a plain
  ``jnp.mean`` is a per-device mean and ``pmean`` of per-device masked means
  weights shards with few valid entries too much:

  .. math::
    \bar v = \frac{\mathrm{psum}(\sum_i m_i v_i)}{\mathrm{psum}(\sum_i m_i)}

  Masked entries are selected out (a NaN there does not propagate); with no
  unmasked entry anywhere the mean is 0 with a zero gradient. Outside
  ``shard_map`` none of this is needed: ``jaxloss`` losses under ``jax.jit``
  on sharded arrays already reduce globally.

  Args:
    values: local shard of the per-entry losses.
    axis_name: the mesh axis name(s) to reduce over (keyword-only).
    where: optional boolean mask broadcastable to ``values``.

  Returns:
    A scalar, identical on every device of the axis.
  """
  values = jnp.asarray(values)
  dtype = nx.compute_dtype(values)
  values = values.astype(dtype)
  if where is None:
    mask = jnp.ones(values.shape, bool)
  else:
    mask = jnp.broadcast_to(jnp.asarray(where, bool), values.shape)
  total = jax.lax.psum(jnp.sum(jnp.where(mask, values, 0.0)), axis_name)
  count = jax.lax.psum(jnp.sum(mask, dtype=dtype), axis_name)
  return nx.safe_div(total, count)
