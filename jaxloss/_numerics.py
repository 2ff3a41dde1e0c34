"""Numerically stable primitives shared by every loss family.

Nothing task-specific lives here. Each helper keeps both the value *and* the
gradient finite at its singular points: branches use the "double where" trick
(sanitise the input of the untaken branch, then select), so a masked or
clamped entry can never send a NaN into the backward pass.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss._errors import LossInputError

# Low-precision floating dtypes that are computed in float32 (STYLE: float32
# accumulation, float32 result for bfloat16/float16 inputs).
LOW_PRECISION = (jnp.dtype(jnp.bfloat16), jnp.dtype(jnp.float16))


def compute_dtype(*arrays) -> jnp.dtype:
  """The floating dtype a loss computes in: float32, or float64 under x64."""
  dtypes = [jnp.asarray(a).dtype for a in arrays if a is not None]
  floats = [d for d in dtypes if jnp.issubdtype(d, jnp.floating)]
  if any(d == jnp.float64 for d in floats):
    return jnp.dtype(jnp.float64)
  return jnp.dtype(jnp.float32)


def upcast(x):
  """Casts bfloat16/float16 arrays to float32; other arrays pass through."""
  if x is None:
    return None
  x = jnp.asarray(x)
  if x.dtype in LOW_PRECISION:
    return x.astype(jnp.float32)
  return x


def to_float(x, dtype=None):
  """Casts ``x`` to a floating dtype (``dtype`` or float32/float64)."""
  x = jnp.asarray(x)
  if dtype is None:
    dtype = compute_dtype(x)
  return x.astype(dtype)


def tiny(dtype) -> float:
  """Smallest positive normal number of ``dtype``."""
  return float(jnp.finfo(dtype).tiny)


def double_where(cond, x, fn, *, fill=0.0, safe=1.0):
  """``fn(x)`` where ``cond`` holds, ``fill`` elsewhere, with finite gradients.

  ``fn`` is evaluated at ``safe`` (a point where it is well behaved) on the
  entries not selected, so its gradient there is finite and then zeroed by the
  outer select — the fix for "where does not stop NaN gradients" (jax#1052).
  """
  x = jnp.asarray(x)
  inner = jnp.where(cond, x, jnp.asarray(safe, x.dtype))
  return jnp.where(cond, fn(inner), jnp.asarray(fill, x.dtype))


def safe_div(num, den, fallback=0.0):
  """``num / den`` where ``den != 0``, else ``fallback``; zero gradient there.

  Double where: the denominator is replaced by 1 where it is 0 *before* the
  division, so the gradient of the untaken branch is finite.
  """
  num = jnp.asarray(num)
  den = jnp.asarray(den)
  nonzero = den != 0
  safe_den = jnp.where(nonzero, den, jnp.ones_like(den))
  return jnp.where(nonzero, num / safe_den, fallback)


def safe_log(x, eps=None):
  """``log(max(x, eps))``; ``eps`` defaults to the dtype's smallest normal."""
  x = jnp.asarray(x)
  if eps is None:
    eps = tiny(x.dtype)
  return jnp.log(jnp.maximum(x, eps))


def safe_sqrt(x):
  """``sqrt(x)`` for ``x >= 0`` with gradient 0 (not inf) at ``x == 0``."""
  x = jnp.asarray(x)
  positive = x > 0
  safe_x = jnp.where(positive, x, jnp.ones_like(x))
  return jnp.where(positive, jnp.sqrt(safe_x), jnp.zeros_like(x))


def max_select(x, *, axis=-1, keepdims=False):
  """``jnp.max`` whose gradient goes to one arg-max entry (the first), as ``torch.max(dim)``.

  ``jnp.max``'s JVP finds the maximising entries by comparing the operand with
  the result for bitwise equality and divides by their count. When XLA
  recomputes the operand in another fusion with different rounding (GPU
  autotuning; ``--xla_backend_optimization_level=0`` on CPU), no entry compares
  equal and the gradient is ``0/0 = NaN`` (the elementwise case is jax#40564).
  Gathering at ``argmax`` needs no equality test.
  """
  return _select(x, axis, keepdims, jnp.argmax)


def min_select(x, *, axis=-1, keepdims=False):
  """``jnp.min`` with the gradient of :func:`max_select` (one arg-min entry)."""
  return _select(x, axis, keepdims, jnp.argmin)


def _select(x, axis, keepdims, arg):
  x = jnp.asarray(x)
  axes = tuple(a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis))
  rest = [a for a in range(x.ndim) if a not in axes]
  flat = jnp.transpose(x, rest + list(axes)).reshape(
      tuple(x.shape[a] for a in rest) + (-1,))
  out = jnp.take_along_axis(flat, arg(flat, axis=-1)[..., None], axis=-1)[..., 0]
  if keepdims:
    out = jnp.expand_dims(out, axes)
  return out


def safe_norm(x, *, axis=-1, ord=2, keepdims=False):
  """p-norm along ``axis`` with a finite (zero) gradient at the zero vector."""
  x = jnp.asarray(x)
  if ord == 2:
    return safe_sqrt(jnp.sum(x * x, axis=axis, keepdims=keepdims))
  if ord == 1:
    return jnp.sum(jnp.abs(x), axis=axis, keepdims=keepdims)
  if ord == jnp.inf:
    return max_select(jnp.abs(x), axis=axis, keepdims=keepdims)
  s = jnp.sum(jnp.abs(x) ** ord, axis=axis, keepdims=keepdims)
  positive = s > 0
  safe_s = jnp.where(positive, s, jnp.ones_like(s))
  return jnp.where(positive, safe_s ** (1.0 / ord), jnp.zeros_like(s))


def l2_normalize(x, *, axis=-1, eps=1e-12):
  """``x / max(||x||, eps)`` (torch.nn.functional.normalize convention)."""
  return x / jnp.maximum(safe_norm(x, axis=axis, keepdims=True), eps)


def xlogy(x, y):
  """``x * log(y)`` with the convention ``0 * log(0) = 0``.

  The gradient is finite everywhere ``x >= 0, y >= 0``: where ``x == 0`` the
  log is evaluated at 1 (double where), so d/dy is 0 rather than 0/0.
  """
  x = jnp.asarray(x)
  y = jnp.asarray(y)
  zero = x == 0
  safe_y = jnp.where(zero, jnp.ones_like(y), y)
  return jnp.where(zero, jnp.zeros_like(x * y), x * jnp.log(safe_y))


def xlogx(x):
  """``x * log(x)`` with ``0 log 0 = 0`` and a finite gradient at 0."""
  return xlogy(x, x)


def logsumexp(x, *, axis=-1, where=None, keepdims=False):
  """Log-sum-exp that is ``-inf`` with a zero (not NaN) gradient on empty sets.

  ``jax.nn.logsumexp`` returns NaN gradients when every entry is ``-inf`` or
  masked (jax#6811); here the max shift is taken over finite, unmasked entries
  only and an empty row yields ``-inf`` with gradient 0.
  """
  x = jnp.asarray(x)
  valid = jnp.isfinite(x) if where is None else (jnp.broadcast_to(where, x.shape)
                                                 & jnp.isfinite(x))
  neg = jnp.asarray(-jnp.inf, x.dtype)
  masked = jnp.where(valid, x, neg)
  shift = jax.lax.stop_gradient(jnp.max(masked, axis=axis, keepdims=True))
  any_valid = jnp.any(valid, axis=axis, keepdims=True)
  shift = jnp.where(any_valid, shift, jnp.zeros_like(shift))
  # Posinf entries are not "valid" above; let them propagate as +inf.
  has_posinf = jnp.any(x == jnp.inf, axis=axis, keepdims=True)
  exps = jnp.where(valid, jnp.exp(jnp.where(valid, x - shift, 0.0)), 0.0)
  total = jnp.sum(exps, axis=axis, keepdims=True)
  safe_total = jnp.where(any_valid, total, jnp.ones_like(total))
  out = jnp.where(any_valid, jnp.log(safe_total) + shift, neg)
  out = jnp.where(has_posinf, jnp.inf, out)
  if not keepdims:
    out = jnp.squeeze(out, axis=axis)
  return out


def log1m_softmax(logits, *, axis=-1):
  """``log(1 - softmax(logits))`` over ``axis``, finite for finite logits.

  ``log(-expm1(log_softmax))`` is -inf once the largest probability rounds to 1
  (logits 1e4 apart). Written as ``LSE_{j != c} z_j - LSE_j z_j`` instead: for
  a class other than the arg-max the sum over the other classes contains the
  largest term, so ``S - e^{z_c - m} >= 1`` and the subtraction is safe; for
  the arg-max class the sum over the others is a log-sum-exp with that class
  masked out (second pass over the classes, O(C) memory).
  """
  z = jnp.moveaxis(jnp.asarray(logits), axis, -1)
  m = jax.lax.stop_gradient(jnp.max(z, axis=-1, keepdims=True))
  e = jnp.exp(z - m)
  total = jnp.sum(e, axis=-1, keepdims=True)
  lse = jnp.log(total) + m
  first = jnp.argmax(z, axis=-1)[..., None] == jnp.arange(z.shape[-1])
  others = jnp.log(jnp.where(first, 1.0, total - e)) + m
  masked = jnp.where(first, -jnp.inf, z)
  # The arg-max class's complement: LSE over the other classes (-inf with a
  # single class, where 1 - p = 0 exactly).
  lse_rest = logsumexp(masked, axis=-1, keepdims=True)
  out = jnp.where(first, lse_rest, others) - lse
  return jnp.moveaxis(out, -1, axis)


def log_sigmoid(x):
  """``log(sigmoid(x))`` without overflow (``-softplus(-x)``)."""
  return -jax.nn.softplus(-x)


def one_hot(labels, num_classes, *, dtype=jnp.float32, ignore_index=None):
  """One-hot encoding; rows whose label is ``ignore_index`` or out of range are 0."""
  labels = jnp.asarray(labels)
  out = jax.nn.one_hot(labels, num_classes, dtype=dtype)
  if ignore_index is not None:
    out = jnp.where((labels == ignore_index)[..., None], jnp.zeros_like(out), out)
  return out


def take_along_last(x, labels):
  """``x[..., labels]`` for integer ``labels`` of shape ``x.shape[:-1]``.

  Out-of-range labels are clipped (they are masked by the caller); this keeps
  the gather defined under jit, where no runtime error is possible.
  """
  labels = jnp.clip(labels, 0, x.shape[-1] - 1)
  return jnp.take_along_axis(x, labels[..., None], axis=-1)[..., 0]


def mask_fill(x, where, fill=0.0, *, trailing=0):
  """Replaces entries of ``x`` excluded by ``where`` with ``fill``.

  ``where`` is aligned with the leading ``x.ndim - trailing`` axes of ``x``
  (numpy broadcasting from the right against those axes). Filling the *input*
  of a loss, not only its output, is what keeps masked entries from leaking a
  NaN/inf into the gradient.
  """
  if where is None:
    return x
  where = jnp.asarray(where)
  lead = tuple(jnp.shape(x))[:jnp.ndim(x) - trailing]
  try:
    ok = np.broadcast_shapes(where.shape, lead) == lead
  except ValueError:
    ok = False
  if not ok:
    raise LossInputError(
        f"where has shape {where.shape}, which does not broadcast to the "
        f"unreduced loss shape {lead}")
  mask = where.reshape(where.shape + (1,) * trailing)
  return jnp.where(mask, x, jnp.asarray(fill, dtype=jnp.asarray(x).dtype))


def mul_log(x, log_y):
  """``x * log_y`` (``log_y`` already a logarithm) with ``0 * (-inf) = 0``.

  Where ``x == 0`` the product is 0 and its gradient w.r.t. ``log_y`` is 0
  (double where), so a ``-inf`` log-probability at a zero weight (a masked
  logit, a zero target) poisons neither the value nor the gradient.
  """
  x = jnp.asarray(x)
  log_y = jnp.asarray(log_y)
  zero = x == 0
  safe = jnp.where(zero, jnp.zeros_like(log_y), log_y)
  return jnp.where(zero, jnp.zeros_like(x * safe), x * safe)


def safe_pow(x, p):
  """``x ** p`` for ``x >= 0`` and ``p >= 0`` with ``0 ** 0 = 1``.

  Computed as ``exp(p log x)`` on ``x > 0`` and selected to ``1`` (``p == 0``)
  or ``0`` (``p > 0``) at ``x == 0``: value and gradient (w.r.t. ``x`` and
  ``p``) stay finite at ``x == 0`` for every ``p``, including ``0 < p < 1``
  and ``p == 0`` given as an int or a float (optax#1267, kornia#918).
  """
  x = jnp.asarray(x)
  p = jnp.asarray(p, x.dtype)
  positive = x > 0
  safe_x = jnp.where(positive, x, jnp.ones_like(x))
  at_zero = jnp.where(p == 0, jnp.ones_like(x), jnp.zeros_like(x))
  return jnp.where(positive, jnp.exp(p * jnp.log(safe_x)), at_zero)


def clamp_min_straight_through(x, eps):
  """``max(x, eps)`` in the forward pass with the identity gradient.

  torch's ``gaussian_nll_loss`` clamps a detached copy of ``var``; this is the
  same thing in JAX. The gradient is the unclamped one, so an optimiser keeps
  pushing a too-small parameter up instead of seeing a flat zero gradient.

  Written ``stop_gradient(max(x, eps)) + (x - stop_gradient(x))`` so the forward
  value is exactly ``max(x, eps)`` at any magnitude (``x + sg(max(x, eps) - x)``
  cancels to 0 in float32 once ``|x| >> eps``: ``clamp(-100., 1e-6)`` was 0).
  """
  return jax.lax.stop_gradient(jnp.maximum(x, eps)) + (x - jax.lax.stop_gradient(x))


def _correlate_valid(x, window, axis: int):
  """Valid 1-D correlation of ``x`` with ``window`` along ``axis`` (>= 0).

  A weighted sum of shifted slices: XLA fuses it into one elementwise pass.
  """
  k = window.shape[0]
  n = x.shape[axis] - k + 1
  out = window[0] * jax.lax.slice_in_dim(x, 0, n, axis=axis)
  for i in range(1, k):
    out = out + window[i] * jax.lax.slice_in_dim(x, i, i + n, axis=axis)
  return out


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def filter_valid(x, window, axis: int):
  """Valid 1-D correlation of ``x`` with ``window`` along ``axis``, with a hand-written VJP.

  Autodiff of the shifted slices builds one padded full-size array per tap
  (5x the temporary memory and ~2x the time on CPU); the transpose of a
  valid correlation is the full correlation with the reversed window, which
  is again one fused pass over the zero-padded cotangent.
  """
  return _correlate_valid(x, window, axis)


def _filter_valid_fwd(x, window, axis):
  return _correlate_valid(x, window, axis), (x, window)


def _filter_valid_bwd(axis, res, g):
  x, window = res
  k = window.shape[0]
  pad = [(0, 0)] * g.ndim
  pad[axis] = (k - 1, k - 1)
  gx = _correlate_valid(jnp.pad(g, pad), window[::-1], axis)
  # Cotangent of the window (a traced kernel_sigma); dead code, removed by
  # XLA, when the window is a constant.
  n = g.shape[axis]
  gw = jnp.stack([jnp.sum(g * jax.lax.slice_in_dim(x, i, i + n, axis=axis)) for i in range(k)])
  return gx, gw.astype(window.dtype)


filter_valid.defvjp(_filter_valid_fwd, _filter_valid_bwd)


def filter2d_valid(x, window, h_axis: int, w_axis: int):
  """Separable 2-D ``valid`` filtering of ``x`` with ``window`` along two axes (SSIM's moments)."""
  return filter_valid(filter_valid(x, window, h_axis), window, w_axis)


def check_ignore_index(ignore_index) -> None:
  """``ignore_index`` is None or a Python/NumPy integer (a static option)."""
  if ignore_index is None:
    return
  if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
    raise LossInputError(f"ignore_index must be an int or None, got {ignore_index!r}")


def class_ids(labels, ignore_index=None, where=None):
  """The one place where class ids, ``ignore_index`` and ``where`` become ``(valid, ids)``.

  ``valid`` is the boolean mask of ``labels.shape`` of the entries kept: not
  ``ignore_index`` and, if given, selected by ``where`` (broadcast to
  ``labels.shape``); None when there is neither. ``ids`` are the labels with
  every excluded entry replaced by class 0, so a gather, a one-hot encoding or
  a class-weight lookup of an ignored id (255, -100) is defined and cannot
  reach the value or the gradient. Callers fill the *inputs* of excluded
  entries with :func:`mask_fill` before any arithmetic and pass ``valid`` to
  the reduction as ``where``: the double where that keeps a NaN in an ignored
  row out of the gradient, exactly as ``where=`` excludes it.
  """
  check_ignore_index(ignore_index)
  labels = jnp.asarray(labels)
  valid = None if ignore_index is None else labels != ignore_index
  if where is not None:
    where = jnp.asarray(where)
    try:
      ok = np.broadcast_shapes(where.shape, labels.shape) == labels.shape
    except ValueError:
      ok = False
    if not ok:
      raise LossInputError(
          f"where has shape {where.shape}, which does not broadcast to the "
          f"unreduced loss shape {labels.shape}")
    where = jnp.broadcast_to(where.astype(bool), labels.shape)
    valid = where if valid is None else valid & where
  if valid is None:
    return None, labels
  return valid, jnp.where(valid, labels, jnp.zeros((), labels.dtype))


# --------------------------------------------------------------------------
# Softmax cross-entropy on class ids: one fused pass forward, one backward.
# --------------------------------------------------------------------------


def softmax_ce_ids(logits, labels, mask, coef_y, smooth=None):
  """Per-entry softmax cross-entropy on integer class ids, with its log-partition.

  .. math::
    v_i = a_i\\,(\\log Z_i - x_{i,y_i}) + \\sum_c s_c\\,(\\log Z_i - x_{i,c}),
    \\qquad \\log Z_i = \\log\\sum_c e^{x_{i,c}}

  (``a = coef_y``, the target's weight; ``s = smooth``, per-class smoothing
  weights, e.g. ``eps / C * class_weights``). Returns ``(v, log Z)``, both 0
  where ``mask`` is False. A custom JVP (so forward mode and Hessians work): the
  tangent is ``where(mask, (A p - a onehot - s) . dx, 0)`` with ``p`` the softmax
  and ``A = a + sum(s)``, whose transpose is one fused pass; no masked copy of
  the logits and no scatter of the one-hot is materialised (optax's autodiff
  form needs both), and a NaN/inf in a masked row reaches neither output nor
  gradient (the select discards it). ``log Z - x`` is formed as ``l - (x - m)`` with ``m`` the row
  max, exact for a large common offset. ``s_c = 0`` terms are exactly 0 even
  at ``x_c = -inf``. Cotangents flow to ``coef_y`` and ``smooth`` too (a traced
  label smoothing or class weight stays differentiable).

  Args:
    logits: ``(..., C)`` floating.
    labels: ``(...)`` integer ids in ``[0, C)`` (made safe by the caller).
    mask: ``(...)`` boolean (True = kept).
    coef_y: ``(...)`` floating.
    smooth: ``(C,)`` floating, or None for no smoothing term.
  """
  return _ce_ids(logits, labels, mask, coef_y, smooth)


def _ce_ids_parts(x, labels, mask, coef_y, smooth):
  m = jax.lax.stop_gradient(jnp.max(x, axis=-1, keepdims=True))
  e = jnp.exp(x - m)
  total = jnp.sum(e, axis=-1, keepdims=True)
  l = jnp.log(total)
  xm_y = take_along_last(x, labels) - m[..., 0]
  v = coef_y * (l[..., 0] - xm_y)
  if smooth is not None:
    v = v + jnp.sum(jnp.where(smooth == 0, 0.0, smooth * (l - (x - m))), axis=-1)
  zero = jnp.zeros((), x.dtype)
  return (jnp.where(mask, v, zero), jnp.where(mask, m[..., 0] + l[..., 0], zero),
          (m, l, xm_y, e, total))


@jax.custom_jvp
def _ce_ids(x, labels, mask, coef_y, smooth):
  v, lse, _ = _ce_ids_parts(x, labels, mask, coef_y, smooth)
  return v, lse


def _ce_ids_jvp(primals, tangents):
  from jax.custom_derivatives import SymbolicZero

  x, labels, mask, coef_y, smooth = primals
  dx, _, _, dcoef, dsmooth = tangents
  v, lse, (m, l, xm_y, e, total) = _ce_ids_parts(x, labels, mask, coef_y, smooth)
  zero = jnp.zeros((), x.dtype)
  tv = jnp.zeros_like(v)
  tz = jnp.zeros_like(lse)
  if type(dx) is not SymbolicZero:
    # d(log Z) = p . dx; d(log Z - x_y) = p . dx - dx_y; the smoothing term adds
    # sum(s) p . dx - s . dx. Written with the exact softmax of the row.
    # masked rows: p is 0, not NaN, so the transpose (cotangent * p) stays clean
    p = jnp.where(mask[..., None], e / total, zero)     # the forward's exponentials, reused
    pdx = jnp.sum(p * dx, axis=-1)
    dx_y = take_along_last(dx, labels)
    tv = coef_y * (pdx - dx_y)
    if smooth is not None:
      tv = tv + jnp.sum(smooth) * pdx - jnp.sum(smooth * dx, axis=-1)
    tz = pdx
  if type(dcoef) is not SymbolicZero:
    tv = tv + dcoef * jnp.where(mask, l[..., 0] - xm_y, zero)
  if smooth is not None and type(dsmooth) is not SymbolicZero:
    gap = jnp.where(mask[..., None] & (smooth != 0), l - (x - m), zero)
    tv = tv + jnp.sum(dsmooth * gap, axis=-1)
  return (v, lse), (jnp.where(mask, tv, zero), jnp.where(mask, tz, zero))


_ce_ids.defjvp(_ce_ids_jvp, symbolic_zeros=True)


# --------------------------------------------------------------------------
# Sigmoid binary cross-entropy from logits, with its gradient written out.
# --------------------------------------------------------------------------


def sigmoid_bce(x, y, pos_weight=None):
  """``-(w y log s(x) + (1 - y) log s(-x))`` elementwise, ``w = pos_weight`` (default 1).

  The value's ``0 * (-inf)`` terms are 0 (a logit of -inf with label 0, +inf
  with label 1: loss 0). A custom JVP writes the gradient out, ``(s(x)(1 + (w -
  1) y) - w y) dx + (log s(-x) - w log s(x)) dy (+ -y log s(x) dw)``, so the
  backward is one elementwise pass (the autodiff of the guarded products added
  selects and residual masks: 1.3x optax's time).
  """
  if pos_weight is None:
    return _bce_plain(x, y)
  return _bce_weighted(x, y, pos_weight)


def _bce_value(x, y, w):
  pos = y if w is None else w * y
  return -(mul_log(pos, log_sigmoid(x)) + mul_log(1.0 - y, log_sigmoid(-x)))


def _bce_tangent(x, y, w, dx, dy, dw):
  from jax.custom_derivatives import SymbolicZero

  out = jnp.zeros(jnp.broadcast_shapes(jnp.shape(x), jnp.shape(y), jnp.shape(w)
                                       if w is not None else ()), x.dtype)
  if type(dx) is not SymbolicZero:
    s = jax.nn.sigmoid(x)
    grad_x = s - y if w is None else s * (1.0 + (w - 1.0) * y) - w * y
    out = out + grad_x * dx
  if type(dy) is not SymbolicZero:
    # d/dy: log s(-x) - w log s(x); finite except at infinite logits (0 there)
    ls_pos, ls_neg = log_sigmoid(x), log_sigmoid(-x)
    gy = ls_neg - (ls_pos if w is None else w * ls_pos)
    out = out + jnp.where(jnp.isfinite(gy), gy, 0.0) * dy
  if w is not None and type(dw) is not SymbolicZero:
    out = out - mul_log(y, log_sigmoid(x)) * dw
  return out


@jax.custom_jvp
def _bce_plain(x, y):
  return _bce_value(x, y, None)


def _bce_plain_jvp(primals, tangents):
  x, y = primals
  dx, dy = tangents
  return _bce_value(x, y, None), _bce_tangent(x, y, None, dx, dy, None)


_bce_plain.defjvp(_bce_plain_jvp, symbolic_zeros=True)


@jax.custom_jvp
def _bce_weighted(x, y, w):
  return _bce_value(x, y, w)


def _bce_weighted_jvp(primals, tangents):
  x, y, w = primals
  dx, dy, dw = tangents
  return _bce_value(x, y, w), _bce_tangent(x, y, w, dx, dy, dw)


_bce_weighted.defjvp(_bce_weighted_jvp, symbolic_zeros=True)
