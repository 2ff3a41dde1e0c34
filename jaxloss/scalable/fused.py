"""Fused linear-head distillation and preference losses: the ``(N, V)`` logits never exist.

:func:`linear_distillation_loss` (Hinton KD) and :func:`linear_generalized_jsd_loss`
(GKD) take the student's and the teacher's final hidden states and LM-head
weights; :func:`linear_dpo_loss` takes the policy's hidden states of the chosen
and rejected completions and its LM-head weight. They run on the token x
vocabulary tiling of :func:`jaxloss.linear_cross_entropy`
(``jaxloss.scalable._tiling``): temporary memory about ``max_temp_bytes``
instead of ``O(N * V)``. See :mod:`jaxloss.scalable` for the conventions.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    broadcast_mask,
    check_floating,
    check_integer,
    check_min_rank,
    check_rank,
    loss_function,
    reduce_loss,
    shape_of,
)
from jaxloss.alignment import dpo_loss
from jaxloss.alignment.preference import DPO_LOSS_TYPES
from jaxloss.catalog import SURVEY, register
from jaxloss.scalable import _tiling
from jaxloss.scalable.chunked import linear_cross_entropy

__all__ = ["linear_distillation_loss", "linear_dpo_loss", "linear_generalized_jsd_loss"]

_HINTON = ("Hinton, Vinyals & Dean, Distilling the Knowledge in a Neural Network, "
           "arXiv:1503.02531, 2015")
_GKD = ("Agarwal et al., On-Policy Distillation of Language Models: Learning from "
        "Self-Generated Mistakes (GKD), ICLR 2024, arXiv:2306.13649")
_CCE = ("Wijmans et al., Cut Your Losses in Large-Vocabulary Language Models, ICLR 2025 "
        "(arXiv:2411.09009)")
_LIGER = ("Hsu et al., Liger Kernel: Efficient Triton Kernels for LLM Training, 2024 "
          "(arXiv:2410.10989)")
_ONLINE = "Milakov & Gimelshein, Online normalizer calculation for softmax, 2018"

_DEFAULT_TEMP = 16 * 2**20


# --------------------------------------------------------------------------
# Shared pieces: input checks, the online log-sum-exp step.
# --------------------------------------------------------------------------


def _check_static_int(name, value):
  if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
    raise LossInputError(f"{name} must be a positive int, got {value!r}")


def _pair_heads(student_hidden, student_weight, teacher_hidden, teacher_weight, where,
                chunk_size, max_temp_bytes, blocks):
  """Validated student/teacher heads, the token mask and the tile sizes.

  Returns ``(heads, valid, batch_shape, tile, chunk, dtype)``: the heads'
  hidden states flattened to ``(N, D)`` in their matmul dtype (bfloat16 stays
  bfloat16), ``valid`` the ``(N,)`` token mask (never None).
  """
  names = ("student_hidden", "student_weight", "teacher_hidden", "teacher_weight")
  arrays = (student_hidden, student_weight, teacher_hidden, teacher_weight)
  for n, a in zip(names, arrays, strict=True):
    check_floating(n, a)
  check_min_rank("student_hidden", student_hidden, 1)
  check_min_rank("teacher_hidden", teacher_hidden, 1)
  check_rank("student_weight", student_weight, 2, "(V, D_s)")
  check_rank("teacher_weight", teacher_weight, 2, "(V, D_t)")
  _check_static_int("chunk_size", chunk_size)
  _check_static_int("max_temp_bytes", max_temp_bytes)
  hs_shape, ht_shape = shape_of(student_hidden), shape_of(teacher_hidden)
  ds, dt = hs_shape[-1], ht_shape[-1]
  vocab = shape_of(student_weight)[0]
  if shape_of(student_weight)[1] != ds:
    raise LossInputError(
        f"student_weight has shape {shape_of(student_weight)} but student_hidden has shape "
        f"{hs_shape}; expected student_weight of shape (V, {ds})")
  if ht_shape[:-1] != hs_shape[:-1]:
    raise LossInputError(
        f"teacher_hidden has shape {ht_shape} but student_hidden has shape {hs_shape}; "
        f"expected teacher_hidden of shape {hs_shape[:-1] + (dt,)} (same tokens)")
  if shape_of(teacher_weight) != (vocab, dt):
    raise LossInputError(
        f"teacher_weight has shape {shape_of(teacher_weight)} but teacher_hidden has shape "
        f"{ht_shape} and student_weight {shape_of(student_weight)}; expected teacher_weight "
        f"of shape ({vocab}, {dt}) (same vocabulary)")
  batch_shape = hs_shape[:-1]
  n = int(np.prod(batch_shape, dtype=np.int64))
  if where is None:
    valid = jnp.ones((n,), bool)
  else:
    valid = broadcast_mask("where", where, batch_shape, "unreduced loss").reshape(-1)
  dtype = nx.compute_dtype(*arrays)
  heads = []
  for h, w in ((student_hidden, student_weight), (teacher_hidden, teacher_weight)):
    mm = jnp.promote_types(h.dtype, w.dtype)
    heads.append(_tiling.Head(h.astype(mm).reshape(n, h.shape[-1]), w.astype(mm)))
  tile, chunk = _tiling.tile_sizes(n, vocab, ds + dt, chunk_size, max_temp_bytes, blocks)
  return heads, valid, batch_shape, tile, chunk, dtype


def _lse_step(m, s, x, fresh):
  """One chunk ``x`` (tile, chunk) folded into the running ``(max, scaled sum)``.

  Returns ``(m_new, s_new, scale, e)`` with ``scale = exp(m - m_new)`` (to
  rescale other sums kept relative to the max) and ``e = exp(x - m_new)``
  (0 on the columns that are not fresh).
  """
  xm = jnp.where(fresh[None, :], x, -jnp.inf)
  m_new = jnp.maximum(m, jnp.max(xm, axis=1))
  # The shift is 0 while a row has seen only -inf, so no inf - inf.
  shift = jnp.where(jnp.isfinite(m_new), m_new, 0.0)
  scale = jnp.exp(m - shift)
  e = jnp.exp(xm - shift[:, None])
  return m_new, s * scale + jnp.sum(e, axis=1), scale, e


def _lse_parts(m, s):
  """``(shift, log s)`` with ``logsumexp = shift + log s``, kept apart for precision."""
  return jnp.where(jnp.isfinite(m), m, 0.0), jnp.log(s)


def _row(x, r0, tile):
  return _tiling.rows(x, r0, tile)[:, None]


def _custom_grads(heads, grads, perturbed):
  """The ``(dh, dw)`` cotangents of the two heads (None for an unperturbed teacher)."""
  out = []
  for hd, g, p in zip(heads, grads, perturbed, strict=True):
    if g is None or not p:
      out += [None, None]
    else:
      dh, dw, _ = g
      out += [dh, dw.astype(hd.w.dtype)]
  return out


# --------------------------------------------------------------------------
# Hinton KD.
#
# Per row, with x = z / T for the student (s) and the teacher (t), L the
# log-sum-exps and d_j = x^t_j - x^s_j:
#   KL = sum_j p^t_j (d_j - d_0) + d_0 - (L^t - L^s),   loss = T^2 KL
# (the cross term kept relative to the class-0 difference d_0, so a common
# offset cancels exactly). Gradients:
#   dloss/dz^s_j = T (p^s_j - p^t_j),  dloss/dz^t_j = T p^t_j (log p^t_j - log p^s_j - KL).
# --------------------------------------------------------------------------


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def _kd(tile, chunk, hs, ws, ht, wt, valid, temp):
  return _kd_forward(tile, chunk, hs, ws, ht, wt, valid, temp)[0]


def _kd_forward(tile, chunk, hs, ws, ht, wt, valid, temp):
  heads = [_tiling.Head(hs, ws), _tiling.Head(ht, wt)]
  f32 = nx.compute_dtype(hs, ws, ht, wt)
  inv = 1.0 / temp

  def tile_fn(scan_vocab, refs, r0, ok):
    d0 = (refs[1] - refs[0]) * inv

    def fold(carry, zs, col_ids, fresh):
      ms, ss, mt, st, acc = carry
      xs, xt = zs[0] * inv, zs[1] * inv
      ms, ss, _, _ = _lse_step(ms, ss, xs, fresh)
      mt, st, scale, et = _lse_step(mt, st, xt, fresh)
      acc = acc * scale + jnp.sum(jnp.where(fresh[None, :], et * ((xt - xs) - d0[:, None]),
                                            0.0), axis=1)
      return ms, ss, mt, st, acc

    neg = jnp.full((tile,), -jnp.inf, f32)
    zero = jnp.zeros((tile,), f32)
    ms, ss, mt, st, acc = scan_vocab(fold, (neg, zero, neg, zero, zero))
    shift_s, logs_s = _lse_parts(ms, ss)
    shift_t, logs_t = _lse_parts(mt, st)
    kl = acc / st + d0 - (shift_t - shift_s) - (logs_t - logs_s)
    kl = jnp.where(ok, kl, 0.0)
    return temp * temp * kl, shift_s, logs_s, shift_t, logs_t, kl

  out = _tiling.forward(heads, valid, tile, chunk, tile_fn, 6, f32)
  return out[0], out[1:]


def _kd_fwd(tile, chunk, hs, ws, ht, wt, valid, temp):
  perturbed = (hs.perturbed or ws.perturbed, ht.perturbed or wt.perturbed)
  hs, ws, ht, wt, valid, temp = (x.value for x in (hs, ws, ht, wt, valid, temp))
  loss, stats = _kd_forward(tile, chunk, hs, ws, ht, wt, valid, temp)
  return loss, (hs, ws, ht, wt, valid, temp, stats, perturbed)


def _kd_bwd(tile, chunk, res, g):
  hs, ws, ht, wt, valid, temp, stats, perturbed = res
  heads = [_tiling.Head(hs, ws), _tiling.Head(ht, wt)]
  f32 = nx.compute_dtype(hs, ws, ht, wt)
  g = jnp.where(valid, g, 0.0).astype(f32) * temp
  shift_s, logs_s, shift_t, logs_t, kl = stats
  inv = 1.0 / temp

  def dz_fn(zs, r0, col_ids, fresh):
    log_ps = (zs[0] * inv - _row(shift_s, r0, tile)) - _row(logs_s, r0, tile)
    log_pt = (zs[1] * inv - _row(shift_t, r0, tile)) - _row(logs_t, r0, tile)
    ps, pt = jnp.exp(log_ps), jnp.exp(log_pt)
    gt = _row(g, r0, tile)
    return [gt * (ps - pt) if perturbed[0] else None,
            gt * pt * ((log_pt - log_ps) - _row(kl, r0, tile)) if perturbed[1] else None]

  grads = _tiling.backward(heads, perturbed, valid, tile, chunk, dz_fn)
  # No gradient flows to the temperature (a constant of the loss).
  return (*_custom_grads(heads, grads, perturbed), None, jnp.zeros_like(temp))


_kd.defvjp(_kd_fwd, _kd_bwd, symbolic_zeros=True)


_KD_PEER = ("torch.nn.KLDivLoss(reduction='batchmean')(log_softmax(s / T), softmax(t / T)) * T**2 "
            "on s = student_hidden @ student_weight.T, t likewise (jaxloss.distillation_loss on "
            "materialised logits); fused as liger_kernel LigerFusedLinearDistillationBase")


@register(tasks=("knowledge distillation", "language modelling", "model compression"),
          input_kind="hidden states and classifier weights",
          peer=_KD_PEER, references=(_HINTON, _CCE, _LIGER, _ONLINE, SURVEY))
@loss_function(static=("chunk_size", "max_temp_bytes"), ranges={"temperature": "> 0"},
               upcast=False)
def linear_distillation_loss(student_hidden, student_weight, teacher_hidden, teacher_weight, *,
                             temperature=1.0, chunk_size=4096, max_temp_bytes=_DEFAULT_TEMP,
                             weights=None, where=None, reduction="mean"):
  r"""Hinton's KD loss of two linear LM heads, without materialising their logits.

  With :math:`z^s = h^s W_s^\top` and :math:`z^t = h^t W_t^\top` the student's
  and the teacher's logits and :math:`p = \operatorname{softmax}(z / T)`:

  .. math::
    \ell_i = T^2 \sum_{c} p^t_{i,c} \big(\log p^t_{i,c} - \log p^s_{i,c}\big)

  per token, exactly :func:`jaxloss.distillation_loss` on the materialised
  logits. The ``(N, V)`` logits of either model never exist: the forward
  pass scans token tiles and, within a tile, vocabulary chunks, keeping an
  online log-sum-exp of both models and the teacher-weighted cross term
  :math:`\sum_c p^t_c (z^t_c - z^s_c) / T` (rescaled whenever the teacher's
  running maximum grows); a ``custom_vjp`` backward pass recomputes each
  block of logits for the gradients (the tiling of
  :func:`jaxloss.linear_cross_entropy`). Temporary memory is about
  ``max_temp_bytes`` instead of ``O(N * V)`` (measured in
  ``benchmarks/RESULTS.md``, float32 value_and_grad: 11 MB against 12 GB for
  the unfused loss at N=8192, D=1024, V=65536, 1,115x less; 1.27x the unfused
  time at N=2048, D=512, V=16384 with a frozen teacher, 1.03x with both
  models differentiated, on CPU).

  The teacher is differentiable like the student (as in
  :func:`jaxloss.distillation_loss`), but its gradient is only computed when
  it is asked for: under ``jax.grad`` with respect to the student only, or
  with the teacher wrapped in ``jax.lax.stop_gradient`` (the usual case), the
  backward pass does no teacher matmuls.

  Args:
    student_hidden: floating ``(..., D_s)`` student hidden states (e.g.
      ``(batch, seq, D_s)``).
    student_weight: floating ``(V, D_s)`` student LM-head weight (torch
      ``nn.Linear`` layout; pass ``kernel.T`` for a Flax ``Dense`` kernel).
    teacher_hidden: floating ``(..., D_t)`` teacher hidden states, the same
      tokens (``D_t`` may differ from ``D_s``).
    teacher_weight: floating ``(V, D_t)`` teacher LM-head weight.
    temperature: :math:`T > 0` (default 1.0); may be traced (no gradient
      flows to it).
    chunk_size: vocabulary rows per chunk (static int, default 4096), as in
      :func:`jaxloss.linear_cross_entropy`.
    max_temp_bytes: budget for the live per-step blocks (static int, default
      ``16 * 2**20``).
    weights: optional per-token weights broadcastable to ``(...)``.
    where: optional boolean token mask broadcastable to ``(...)`` (e.g.
      ``labels != -100``); an excluded token's hidden states reach neither
      the value nor any gradient.
    reduction: "mean" (default: over the unmasked tokens) | "sum" | "none".

  Returns:
    A float32 scalar for "mean"/"sum" (float64 under x64);
    ``student_hidden.shape[:-1]`` for "none" (0 at masked tokens).

  Raises:
    LossInputError: the weights are not ``(V, D)`` matching their hidden
      states and one vocabulary, the hidden states cover different tokens,
      ``chunk_size`` / ``max_temp_bytes`` is not a positive int, or a
      concrete ``temperature <= 0``.
    LossTypeError: non-floating inputs.

  Notes:
    Matches
    ``jaxloss.distillation_loss(student_hidden @ student_weight.T,
    teacher_hidden @ teacher_weight.T, temperature=T)`` (torch's
    ``KLDivLoss(reduction="batchmean")`` times :math:`T^2`). Liger's
    ``LigerFusedLinearDistillationBase`` losses have no :math:`T^2` factor
    and add a hard-label cross-entropy; add
    ``jaxloss.linear_cross_entropy(student_hidden, student_weight, labels)``
    with your own weight for that. No bias terms (LM heads have none).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> hs = jnp.array([[1., 0.], [0., 1.]])
    >>> ht = jnp.array([[2., 0.], [0., 1.]])
    >>> w = jnp.array([[1., 0.], [0., 1.], [1., 1.]])
    >>> print(round(float(jaxloss.linear_distillation_loss(hs, w, ht, w, chunk_size=2)), 6))
    0.019996
  """
  heads, valid, batch_shape, tile, chunk, dtype = _pair_heads(
      student_hidden, student_weight, teacher_hidden, teacher_weight, where, chunk_size,
      max_temp_bytes, blocks=6)
  rows = _kd(tile, chunk, heads[0].h, heads[0].w, heads[1].h, heads[1].w, valid,
             jnp.asarray(temperature, dtype))
  return reduce_loss(rows.reshape(batch_shape), reduction, where=valid.reshape(batch_shape),
                     weights=nx.upcast(weights))


# --------------------------------------------------------------------------
# Generalized JSD (GKD).
#
# Two passes over the vocabulary per token tile: the first gives both
# log-sum-exps, the second the elementwise terms, which need both
# log-softmaxes (the mixture m = beta p^t + (1 - beta) p^s). With a = log p^s,
# b = log p^t and f the per-class term (sum_c f_c = loss), the partial
# derivatives are u = df/da = (1 - beta) p^s log(p^s / m) and
# v = df/db = beta p^t log(p^t / m) (for 0 < beta < 1; the KL endpoints have
# their own), and the logit gradients are
#   dloss/dz^s_c = (u_c - p^s_c sum u) / T,  dloss/dz^t_c = (v_c - p^t_c sum v) / T,
# so the second pass also sums u and v per row.
# --------------------------------------------------------------------------


def _jsd_terms(a, b, beta):
  """Per-class ``(f, df/da, df/db)`` of the generalized JSD; ``beta`` 0 / 1 are TRL's
  forward / reverse KL.

  The log-ratios to the mixture are written from the larger of the two
  probabilities (``expm1`` of non-positive arguments only), as in
  :func:`jaxloss.generalized_jsd_loss`; the endpoint branches are selected
  with a double where, so a traced ``beta`` works.
  """
  ps, pt = jnp.exp(a), jnp.exp(b)
  d = b - a
  is_fwd, is_rev = beta == 0, beta == 1
  bb = jnp.where(is_fwd | is_rev, 0.5, beta)
  neg = d <= 0
  d_neg = jnp.where(neg, d, 0.0)
  d_pos = jnp.where(neg, 0.0, d)
  ls_m_neg = -jnp.log1p(bb * jnp.expm1(d_neg))
  lt_m_pos = -jnp.log1p((1.0 - bb) * jnp.expm1(-d_pos))
  log_t_m = jnp.where(neg, d_neg + ls_m_neg, lt_m_pos)
  log_s_m = jnp.where(neg, ls_m_neg, lt_m_pos - d_pos)
  u = (1.0 - bb) * ps * log_s_m
  v = bb * pt * log_t_m
  # beta = 0: KL(t || s) = sum p^t d;  beta = 1: KL(s || t) = -sum p^s d.
  fwd, rev = pt * d, -ps * d
  f = jnp.where(is_fwd, fwd, jnp.where(is_rev, rev, u + v))
  u = jnp.where(is_fwd, -pt, jnp.where(is_rev, rev + ps, u))
  v = jnp.where(is_fwd, fwd + pt, jnp.where(is_rev, -ps, v))
  return f, u, v


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def _jsd(tile, chunk, hs, ws, ht, wt, valid, temp, beta):
  return _jsd_forward(tile, chunk, hs, ws, ht, wt, valid, temp, beta)[0]


def _jsd_forward(tile, chunk, hs, ws, ht, wt, valid, temp, beta):
  heads = [_tiling.Head(hs, ws), _tiling.Head(ht, wt)]
  f32 = nx.compute_dtype(hs, ws, ht, wt)
  inv = 1.0 / temp

  def tile_fn(scan_vocab, refs, r0, ok):
    del refs

    def fold_lse(carry, zs, col_ids, fresh):
      ms, ss, mt, st = carry
      ms, ss, _, _ = _lse_step(ms, ss, zs[0] * inv, fresh)
      mt, st, _, _ = _lse_step(mt, st, zs[1] * inv, fresh)
      return ms, ss, mt, st

    neg = jnp.full((tile,), -jnp.inf, f32)
    zero = jnp.zeros((tile,), f32)
    ms, ss, mt, st = scan_vocab(fold_lse, (neg, zero, neg, zero))
    shift_s, logs_s = _lse_parts(ms, ss)
    shift_t, logs_t = _lse_parts(mt, st)

    def fold_terms(carry, zs, col_ids, fresh):
      a = (zs[0] * inv - shift_s[:, None]) - logs_s[:, None]
      b = (zs[1] * inv - shift_t[:, None]) - logs_t[:, None]
      terms = _jsd_terms(a, b, beta)
      return tuple(acc + jnp.sum(jnp.where(fresh[None, :], x, 0.0), axis=1)
                   for acc, x in zip(carry, terms, strict=True))

    f, u, v = scan_vocab(fold_terms, (zero, zero, zero))
    return jnp.where(ok, f, 0.0), shift_s, logs_s, shift_t, logs_t, u, v

  out = _tiling.forward(heads, valid, tile, chunk, tile_fn, 7, f32)
  return out[0], out[1:]


def _jsd_fwd(tile, chunk, hs, ws, ht, wt, valid, temp, beta):
  perturbed = (hs.perturbed or ws.perturbed, ht.perturbed or wt.perturbed)
  hs, ws, ht, wt, valid, temp, beta = (x.value for x in (hs, ws, ht, wt, valid, temp, beta))
  loss, stats = _jsd_forward(tile, chunk, hs, ws, ht, wt, valid, temp, beta)
  return loss, (hs, ws, ht, wt, valid, temp, beta, stats, perturbed)


def _jsd_bwd(tile, chunk, res, g):
  hs, ws, ht, wt, valid, temp, beta, stats, perturbed = res
  heads = [_tiling.Head(hs, ws), _tiling.Head(ht, wt)]
  f32 = nx.compute_dtype(hs, ws, ht, wt)
  inv = 1.0 / temp
  g = jnp.where(valid, g, 0.0).astype(f32) * inv
  shift_s, logs_s, shift_t, logs_t, su, sv = stats

  def dz_fn(zs, r0, col_ids, fresh):
    a = (zs[0] * inv - _row(shift_s, r0, tile)) - _row(logs_s, r0, tile)
    b = (zs[1] * inv - _row(shift_t, r0, tile)) - _row(logs_t, r0, tile)
    _, u, v = _jsd_terms(a, b, beta)
    gt = _row(g, r0, tile)
    return [gt * (u - jnp.exp(a) * _row(su, r0, tile)) if perturbed[0] else None,
            gt * (v - jnp.exp(b) * _row(sv, r0, tile)) if perturbed[1] else None]

  grads = _tiling.backward(heads, perturbed, valid, tile, chunk, dz_fn)
  # No gradient flows to the temperature or beta (constants of the loss).
  return (*_custom_grads(heads, grads, perturbed), None, jnp.zeros_like(temp),
          jnp.zeros_like(beta))


_jsd.defvjp(_jsd_fwd, _jsd_bwd, symbolic_zeros=True)


@register(tasks=("knowledge distillation", "language modelling", "on-policy distillation"),
          input_kind="hidden states and classifier weights",
          peer="liger_kernel LigerFusedLinearJSD / LigerFusedLinearJSDLoss (Liger >= 0.5.6, "
               "soft term); trl GKDTrainer.generalized_jsd_loss on materialised logits",
          references=(_GKD, _CCE, _LIGER, _ONLINE, SURVEY))
@loss_function(static=("chunk_size", "max_temp_bytes"),
               ranges={"beta": "[0, 1]", "temperature": "> 0"}, upcast=False)
def linear_generalized_jsd_loss(student_hidden, student_weight, teacher_hidden, teacher_weight,
                                *, beta=0.5, temperature=1.0, chunk_size=4096,
                                max_temp_bytes=_DEFAULT_TEMP, weights=None, where=None,
                                reduction="mean"):
  r"""GKD's generalized JSD of two linear LM heads, without materialising their logits.

  With :math:`p^s = \operatorname{softmax}(h^s W_s^\top / T)`,
  :math:`p^t = \operatorname{softmax}(h^t W_t^\top / T)` and
  :math:`m = \beta p^t + (1 - \beta) p^s`:

  .. math::
    \ell_i = \beta\, KL\big(p^t_i \,\|\, m_i\big) + (1 - \beta)\, KL\big(p^s_i \,\|\, m_i\big)

  per token, :math:`\beta = 0` the forward KL :math:`KL(p^t \| p^s)` and
  :math:`\beta = 1` the reverse KL :math:`KL(p^s \| p^t)` (TRL's endpoints),
  exactly :func:`jaxloss.generalized_jsd_loss` on the materialised logits.
  The mixture needs both log-softmaxes per class, so each token tile scans
  the vocabulary twice: once for the two online log-sum-exps, once for the
  per-class terms (and the two row sums the gradient needs). The
  ``custom_vjp`` backward pass recomputes each block of logits (the tiling of
  :func:`jaxloss.linear_cross_entropy`); temporary memory is about
  ``max_temp_bytes`` instead of ``O(N * V)`` (measured: 10.7 MB against 31 GB
  at N=8192, D=1024, V=65536; 1.33x the unfused time at N=2048, D=512,
  V=16384, CPU, frozen teacher). The teacher's gradient is only computed when
  it is asked for (see :func:`linear_distillation_loss`).

  Args:
    student_hidden: floating ``(..., D_s)`` student hidden states.
    student_weight: floating ``(V, D_s)`` student LM-head weight.
    teacher_hidden: floating ``(..., D_t)`` teacher hidden states, same tokens.
    teacher_weight: floating ``(V, D_t)`` teacher LM-head weight.
    beta: :math:`\beta \in [0, 1]` (default 0.5), the teacher's weight in the
      mixture; may be traced (no gradient flows to it).
    temperature: :math:`T > 0` (default 1.0); may be traced (no gradient).
    chunk_size: vocabulary rows per chunk (static int, default 4096).
    max_temp_bytes: budget for the live per-step blocks (static int, default
      ``16 * 2**20``).
    weights: optional per-token weights broadcastable to ``(...)``.
    where: optional boolean token mask broadcastable to ``(...)`` (Liger's and
      TRL's ``labels != -100``).
    reduction: "mean" (default: over the unmasked tokens) | "sum" | "none".

  Returns:
    A float32 scalar for "mean"/"sum" (float64 under x64);
    ``student_hidden.shape[:-1]`` for "none".

  Raises:
    LossInputError: shapes as in :func:`linear_distillation_loss`; a concrete
      ``beta`` outside [0, 1] or ``temperature <= 0``.
    LossTypeError: non-floating inputs.

  Notes:
    Matches
    ``jaxloss.generalized_jsd_loss(student_hidden @ student_weight.T,
    teacher_hidden @ teacher_weight.T, beta=beta, temperature=T)`` and the
    soft (JSD) term of Liger's ``LigerFusedLinearJSDLoss`` (same :math:`\beta`
    convention since Liger 0.5.6; sum over the non-ignored tokens divided by
    their number, our "mean"). Liger's loss adds ``weight_hard_loss`` times a
    hard-label cross-entropy: add ``jaxloss.linear_cross_entropy`` for it.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> hs = jnp.array([[1., 0.], [0., 1.]])
    >>> ht = jnp.array([[2., 0.], [0., 1.]])
    >>> w = jnp.array([[1., 0.], [0., 1.], [1., 1.]])
    >>> print(round(float(jaxloss.linear_generalized_jsd_loss(hs, w, ht, w, chunk_size=2)), 6))
    0.005583
  """
  heads, valid, batch_shape, tile, chunk, dtype = _pair_heads(
      student_hidden, student_weight, teacher_hidden, teacher_weight, where, chunk_size,
      max_temp_bytes, blocks=8)
  rows = _jsd(tile, chunk, heads[0].h, heads[0].w, heads[1].h, heads[1].w, valid,
              jnp.asarray(temperature, dtype), jnp.asarray(beta, dtype))
  return reduce_loss(rows.reshape(batch_shape), reduction, where=valid.reshape(batch_shape),
                     weights=nx.upcast(weights))


# --------------------------------------------------------------------------
# DPO on hidden states.
# --------------------------------------------------------------------------


def _check_labels(name, hidden, labels):
  check_integer(f"{name}_labels", labels)
  if shape_of(labels) != shape_of(hidden)[:-1]:
    raise LossInputError(
        f"{name}_labels has shape {shape_of(labels)} but {name}_hidden has shape "
        f"{shape_of(hidden)}; expected integer labels of shape {shape_of(hidden)[:-1]}")


def _completion_logps(hiddens, labels, weight, bias, ignore_index, pair_where, chunk_size,
                      max_temp_bytes):
  """Summed log-probabilities of the target tokens of each completion set, and the counts.

  The token log-probabilities are ``-linear_cross_entropy(reduction="none")``
  over the chosen and the rejected tokens *together* (one ``(N_w + N_l, D)``
  copy of the hidden states): two calls would each make a ``(V, D)`` float32
  weight gradient, one of which would be summed into the other (measured: 528
  MB of temporaries at V = 65536, D = 1024, against 16 MB for the joint call).
  The (B, T, V) logits never exist. Tokens of masked pairs are excluded there
  too, so a NaN in their hidden states reaches nothing.
  """
  d = shape_of(hiddens[0])[-1]
  flat_h, flat_y, flat_w = [], [], []
  for h, y in zip(hiddens, labels, strict=True):
    flat_h.append(h.reshape(-1, d))
    flat_y.append(y.reshape(-1))
    if pair_where is not None:
      flat_w.append(jnp.broadcast_to(pair_where[..., None], y.shape).reshape(-1))
  token_where = None if pair_where is None else jnp.concatenate(flat_w)
  nll = linear_cross_entropy(jnp.concatenate(flat_h), weight, jnp.concatenate(flat_y),
                             bias=bias, ignore_index=ignore_index, where=token_where,
                             chunk_size=chunk_size, max_temp_bytes=max_temp_bytes,
                             reduction="none")
  out, start = [], 0
  for y in labels:
    part = nll[start:start + y.size].reshape(y.shape)
    start += y.size
    kept = jnp.ones(y.shape, bool) if ignore_index is None else y != ignore_index
    out.append((-jnp.sum(part, axis=-1), jnp.sum(kept, axis=-1)))
  return out


@register(
    tasks=("preference optimization", "LLM alignment", "RLHF", "language modelling"),
    input_kind="hidden states and classifier weight",
    peer="liger_kernel LigerFusedLinearDPOLoss (precomputed reference log-probabilities); "
         "trl.DPOTrainer loss_type branches on materialised logits (jaxloss.dpo_loss)",
    references=("Rafailov et al., Direct Preference Optimization: Your Language Model is "
                "Secretly a Reward Model, NeurIPS 2023, arXiv:2305.18290", _CCE, _LIGER,
                SURVEY),
    components=("preference", "chosen_rewards", "rejected_rewards", "reward_accuracy",
                "reward_margin"))
@loss_function(static=("loss_type", "return_components", "chunk_size", "max_temp_bytes",
                       "ignore_index"),
               ranges={"beta": "> 0", "label_smoothing": "[0, 1]", "discopop_tau": "> 0"},
               choices={"loss_type": DPO_LOSS_TYPES}, upcast=False)
def linear_dpo_loss(chosen_hidden, rejected_hidden, weight, chosen_labels, rejected_labels,
                    reference_chosen_logps, reference_rejected_logps, *, bias=None,
                    ignore_index=-100, beta=0.1, label_smoothing=0.0, loss_type="sigmoid",
                    discopop_tau=0.05, chunk_size=4096, max_temp_bytes=_DEFAULT_TEMP,
                    weights=None, where=None, reduction="mean", return_components=False):
  r"""DPO (and TRL's variants) from the policy's hidden states, without materialising logits.

  The policy's log-probability of each completion is summed over its target
  tokens from the LM head :math:`z = h W^\top (+ b)`,

  .. math::
    \log\pi_\theta(y) = \sum_{t:\, y_t \ne \text{ignore}} \big(z_{t, y_t} - \log\textstyle\sum_v e^{z_{t,v}}\big),

  computed with :func:`jaxloss.linear_cross_entropy` (token tiles x
  vocabulary chunks, online log-sum-exp, recomputing ``custom_vjp``: the
  ``(B, T, V)`` logits never exist), and the per-pair loss is
  :func:`jaxloss.dpo_loss` of the chosen and rejected log-probabilities
  against the reference ones, e.g. for ``loss_type="sigmoid"``
  :math:`-\log\sigma\big(\beta[(\log\pi_\theta(y_w) - \log\pi_{ref}(y_w)) -
  (\log\pi_\theta(y_l) - \log\pi_{ref}(y_l))]\big)`. Every ``loss_type`` of
  :func:`jaxloss.dpo_loss` is available; the completions' token counts are
  passed as its ``chosen_lengths`` / ``rejected_lengths`` (used by "ipo" and
  "sigmoid_norm", as TRL does). Measured (``benchmarks/RESULTS.md``, float32
  value_and_grad): 73 MB of temporaries against 6 GB for the unfused loss at
  8192 tokens, D=1024, V=65536 (the ``(N, D)`` hidden-state gradient and one
  joint copy of the chosen and rejected hidden states remain); 0.86x the
  unfused time at 2048 tokens, D=512, V=16384 on CPU.

  Args:
    chosen_hidden: floating ``(B, T_w, D)`` final hidden states of the policy on
      the chosen sequences (any leading shape ``(..., T_w, D)``).
    rejected_hidden: floating ``(B, T_l, D)``, the rejected sequences (``T_l``
      may differ from ``T_w``).
    weight: floating ``(V, D)`` LM-head weight of the policy (torch layout).
    chosen_labels: integer ``(B, T_w)``, the token predicted from each hidden
      state (already shifted: ``chosen_labels[:, t]`` is the token *after*
      position ``t``), ``ignore_index`` for prompt and padding tokens.
    rejected_labels: integer ``(B, T_l)``, likewise.
    reference_chosen_logps: floating ``(B,)`` summed log-probabilities of the
      chosen completions under the reference model, precomputed (no
      gradient); e.g. ``-jnp.sum(linear_cross_entropy(ref_hidden, ref_weight,
      labels, reduction="none"), -1)``.
    reference_rejected_logps: floating ``(B,)``, likewise for the rejected ones.
    bias: optional ``(V,)`` LM-head bias (default None).
    ignore_index: label value of the tokens left out of the sums (static,
      default -100; None counts every token).
    beta: default 0.1; may be traced. See :func:`jaxloss.dpo_loss`.
    label_smoothing: in [0, 1] (default 0); may be traced.
    loss_type: any of :func:`jaxloss.dpo_loss`'s (default "sigmoid").
    discopop_tau: DiscoPOP's temperature (default 0.05).
    chunk_size: vocabulary rows per chunk (static int, default 4096).
    max_temp_bytes: budget for the live per-step blocks (static int, default
      ``16 * 2**20``).
    weights: optional per-pair weights, broadcastable to ``(B,)``.
    where: optional boolean mask over pairs, broadcastable to ``(B,)``; a masked
      pair's hidden states and reference values reach nothing.
    reduction: "mean" (default, over the unmasked pairs) | "sum" | "none".
    return_components: static; also return :func:`jaxloss.dpo_loss`'s parts.

  Returns:
    A float32 scalar for "mean"/"sum" (float64 under x64); ``(B,)`` for
    "none". With ``return_components=True``, ``(loss, parts)`` with
    :func:`jaxloss.dpo_loss`'s parts (``"preference"``, ``"chosen_rewards"``,
    ``"rejected_rewards"``, ``"reward_accuracy"``, ``"reward_margin"``) and,
    without gradient, the policy's ``"chosen_logps"`` and
    ``"rejected_logps"`` reduced like the loss.

  Raises:
    LossInputError: ``weight`` not ``(V, D)`` for the hidden states' ``D``,
      chosen and rejected hidden states of different ``(B, ..., D)``, labels
      not ``hidden.shape[:-1]``, reference log-probabilities not
      ``hidden.shape[:-2]``, or an option out of range.
    LossTypeError: non-floating hidden states or weight, non-integer labels.

  Notes:
    Equals ``jaxloss.dpo_loss`` of the log-probabilities gathered from the
    materialised ``log_softmax(hidden @ weight.T)`` (TRL's
    ``DPOTrainer`` with summed completion log-probabilities). Liger's
    ``LigerFusedLinearDPOLoss`` takes the chosen and rejected inputs
    concatenated along the batch and can run the reference model's head
    itself (``ref_input``, ``ref_weight``); here the reference
    log-probabilities are passed precomputed (the reference model is frozen,
    so they are usually computed once, under ``jax.lax.stop_gradient``), and
    chosen and rejected stay separate arrays (no concatenated copy). Liger's
    optional NLL term (``compute_nll_loss``, TRL's ``rpo_alpha``) is not
    included: add ``linear_cross_entropy`` on the chosen tokens.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> w = jnp.array([[1., 0.], [0., 1.], [1., 1.]])
    >>> hc = jnp.array([[[1., 0.], [0., 2.]]])   # (B=1, T=2, D=2)
    >>> hr = jnp.array([[[0., 1.], [1., 0.]]])
    >>> y = jnp.array([[0, 1]])
    >>> loss = jaxloss.linear_dpo_loss(hc, hr, w, y, y, jnp.array([-2.0]), jnp.array([-2.0]))
    >>> print(round(float(loss), 6))
    0.593499
  """
  for n, a in (("chosen_hidden", chosen_hidden), ("rejected_hidden", rejected_hidden),
               ("weight", weight)):
    check_floating(n, a)
  check_min_rank("chosen_hidden", chosen_hidden, 2)
  check_min_rank("rejected_hidden", rejected_hidden, 2)
  check_rank("weight", weight, 2, "(V, D)")
  cs, rs = shape_of(chosen_hidden), shape_of(rejected_hidden)
  if cs[:-2] != rs[:-2] or cs[-1] != rs[-1]:
    raise LossInputError(
        f"rejected_hidden has shape {rs} but chosen_hidden has shape {cs}; expected "
        f"rejected_hidden of shape {cs[:-2] + ('T_l', cs[-1])} (same pairs, same D)")
  if shape_of(weight)[1] != cs[-1]:
    raise LossInputError(
        f"weight has shape {shape_of(weight)} but chosen_hidden has shape {cs}; expected "
        f"weight of shape (V, {cs[-1]})")
  pair_shape = cs[:-2]
  for n, a in (("reference_chosen_logps", reference_chosen_logps),
               ("reference_rejected_logps", reference_rejected_logps)):
    check_floating(n, a)
    if shape_of(a) != pair_shape:
      raise LossInputError(f"{n} has shape {shape_of(a)}; expected {pair_shape}, one value "
                           f"per pair of chosen_hidden {cs}")
  pair_where = None if where is None else broadcast_mask("where", where, pair_shape,
                                                         "unreduced loss")
  opts = dict(chunk_size=chunk_size, max_temp_bytes=max_temp_bytes)
  _check_labels("chosen", chosen_hidden, chosen_labels)
  _check_labels("rejected", rejected_hidden, rejected_labels)
  (pc, nc), (pr, nr) = _completion_logps(
      (chosen_hidden, rejected_hidden), (jnp.asarray(chosen_labels), jnp.asarray(rejected_labels)),
      weight, bias, ignore_index, pair_where, **opts)
  dtype = pc.dtype
  out = dpo_loss(pc, pr, nx.upcast(reference_chosen_logps).astype(dtype),
                 nx.upcast(reference_rejected_logps).astype(dtype), beta=beta,
                 label_smoothing=label_smoothing, loss_type=loss_type,
                 discopop_tau=discopop_tau, chosen_lengths=nc.astype(dtype),
                 rejected_lengths=nr.astype(dtype), weights=nx.upcast(weights), where=where,
                 reduction=reduction, return_components=return_components)
  if not return_components:
    return out
  loss, parts = out
  logps = {"chosen_logps": jax.lax.stop_gradient(pc), "rejected_logps": jax.lax.stop_gradient(pr)}
  return loss, {**parts, **{k: reduce_loss(v, reduction, where=pair_where)
                            for k, v in logps.items()}}
