"""Self-distillation losses (DINO, iBOT, SwAV) and their helpers (centre, Sinkhorn-Knopp, KoLeo).

Multi-crop layout: crop-first arrays ``[S, B, K]`` (``S`` crops of a batch of
``B`` images, ``K`` prototypes), i.e. the official code's concatenated
``(S * B, K)`` output reshaped to ``(S, B, K)``. The first ``T`` student crops
are the crops the teacher (or the code assignment) sees, as in DINO and SwAV;
each (student crop ``s``, target crop ``t``) pair with ``s != t`` contributes a
cross-entropy, averaged over the pairs. Targets (teacher probabilities, SwAV
codes) carry no gradient. ``where [B]`` removes images from every crop, from
the Sinkhorn-Knopp normalisation and from the reduction.
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
  check_rank,
  check_same_shape,
  loss_function,
  reduce_loss,
)
from jaxloss.catalog import register
from jaxloss.self_supervised._common import row_mask

__all__ = ["dino_loss", "ibot_patch_loss", "koleo_loss", "sinkhorn_knopp", "swav_loss",
           "update_center"]

_DINO = ("Caron et al., Emerging Properties in Self-Supervised Vision Transformers (DINO), "
         "ICCV 2021")
_DINOV2 = ("Oquab et al., DINOv2: Learning Robust Visual Features without Supervision, "
           "TMLR 2024")
_IBOT = "Zhou et al., iBOT: Image BERT Pre-Training with Online Tokenizer, ICLR 2022"
_SWAV = ("Caron et al., Unsupervised Learning of Visual Features by Contrasting Cluster "
         "Assignments (SwAV), NeurIPS 2020")
_KOLEO = ("Sablayrolles, Douze, Schmid, Jegou, Spreading vectors for similarity search, "
          "ICLR 2019")
CENTERINGS = ("center", "sinkhorn_knopp")


# --------------------------------------------------------------------------
# Sinkhorn-Knopp and the teacher centre.
# --------------------------------------------------------------------------


def _sinkhorn_log(scaled, valid, iters):
  """Sinkhorn-Knopp on ``exp(scaled)`` ``[N, K]`` over the valid rows, in log space.

  Alternately every prototype (column) gets total mass ``1/K`` and every
  sample (row) ``1/N``; the result is scaled so that each row sums to 1.
  Working with logarithms gives the official ``exp``-then-divide algorithm's
  values without its overflow of ``exp(scores / epsilon)``.
  """
  k = scaled.shape[-1]
  neg = jnp.asarray(-jnp.inf, scaled.dtype)
  rows = valid[:, None]
  n = jnp.sum(valid, dtype=scaled.dtype)
  log_q = jnp.where(rows, scaled, neg)
  log_q = log_q - nx.logsumexp(log_q.reshape(-1))
  for _ in range(iters):
    log_q = log_q - nx.logsumexp(log_q, axis=0, keepdims=True) - np.log(k)
    log_q = jnp.where(rows, log_q, neg)
    log_q = log_q - nx.logsumexp(log_q, axis=1, keepdims=True) - jnp.log(n)
    log_q = jnp.where(rows, log_q, neg)
  return jnp.where(rows, jnp.exp(jnp.where(rows, log_q + jnp.log(n), 0.0)), 0.0)


@functools.partial(jax.jit, static_argnames=("iters",))
def sinkhorn_knopp(logits, *, epsilon=0.05, iters=3, where=None):
  r"""Sinkhorn-Knopp soft assignment of samples to prototypes (SwAV codes, DINOv2 teacher).

  .. math::
    Q \propto \exp(S / \epsilon),\quad\text{alternately}\quad
    Q_{:,k} \leftarrow \frac{Q_{:,k}}{K \sum_i Q_{ik}},\quad
    Q_{i,:} \leftarrow \frac{Q_{i,:}}{N \sum_k Q_{ik}},\quad\text{then}\ Q \leftarrow N Q

  Args:
    logits: floating ``[N, K]`` scores of ``N`` samples against ``K`` prototypes.
    epsilon: > 0 entropic regularisation (default 0.05, SwAV's; DINOv2 passes
      its teacher temperature).
    iters: number of row/column normalisation rounds (default 3), static.
    where: optional boolean ``[N]``; False samples take no part (their rows
      are 0) and ``N`` counts the valid samples only.

  Returns:
    ``[N, K]`` assignments whose rows sum to 1 (float32, or float64 under
    x64), with no gradient (``stop_gradient``, as the official ``no_grad``).

  Notes:
    Matches SwAV's ``distributed_sinkhorn`` and DINOv2's
    ``DINOLoss.sinkhorn_knopp_teacher`` on one device (they all-reduce the
    sums over devices; here the batch is what is passed). Computed in log
    space, so large ``logits / epsilon`` do not overflow.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> q = jaxloss.sinkhorn_knopp(jnp.array([[1., 0.], [1., 0.]]), epsilon=1.0)
    >>> print(q.sum(axis=1), q.sum(axis=0))
    [1. 1.] [1. 1.]
  """
  check_floating("logits", logits)
  check_rank("logits", logits, 2, "[N, K]")
  dtype = nx.compute_dtype(logits)
  x = jax.lax.stop_gradient(nx.upcast(logits).astype(dtype))
  valid = row_mask(where, x.shape[0])
  x = nx.mask_fill(x, valid, trailing=1)
  return _sinkhorn_log(x / jnp.asarray(epsilon, dtype), valid, iters)


@jax.jit
def update_center(center, teacher_logits, *, momentum=0.9, where=None):
  r"""DINO's teacher centre update: an exponential moving average of the batch mean.

  .. math::
    c \leftarrow m\,c + (1 - m)\,\frac{1}{|\mathcal B|}\sum_{i\in\mathcal B} g_t(x_i)

  Args:
    center: ``[K]`` (or ``[1, K]``) current centre.
    teacher_logits: ``[..., K]`` teacher outputs (all crops of the batch,
      e.g. ``[T, B, K]``, or iBOT's patch logits ``[B, P, K]``).
    momentum: EMA momentum (default 0.9, DINO's ``center_momentum``).
    where: optional boolean ``teacher_logits.shape[:-1]``; only True rows
      enter the mean (e.g. iBOT's masked patches).

  Returns:
    The new centre, of ``center``'s shape; no gradient flows.

  Notes:
    Matches ``DINOLoss.update_center`` / ``apply_center_update`` of DINOv2 on
    one device (the official code all-reduces the sum over devices). Call it
    after the loss with the same teacher logits. For iBOT, DINOv2 averages the
    patch tokens of each image first; ``where`` averages over the masked
    patches instead (the same when every image has the same number).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.update_center(jnp.zeros(2), jnp.array([[1., 3.], [3., 5.]])))
    [0.2 0.4]
  """
  dtype = nx.compute_dtype(center, teacher_logits)
  c = jax.lax.stop_gradient(jnp.asarray(center).astype(dtype))
  t = jax.lax.stop_gradient(nx.upcast(teacher_logits).astype(dtype))
  k = t.shape[-1]
  if int(np.size(c)) != k:
    raise LossInputError(f"update_center: center has shape {tuple(c.shape)}; expected ({k},)")
  rows = t.reshape(-1, k)
  if where is None:
    mean = jnp.mean(rows, axis=0)
  else:
    w = broadcast_mask("where", where, t.shape[:-1], "teacher rows").reshape(-1)
    rows = jnp.where(w[:, None], rows, 0.0)
    mean = nx.safe_div(jnp.sum(rows, axis=0), jnp.sum(w, dtype=dtype))
  return (momentum * c.reshape(-1) + (1.0 - momentum) * mean).reshape(c.shape)


# --------------------------------------------------------------------------
# Multi-crop cross-entropy.
# --------------------------------------------------------------------------


def _check_center(center, k):
  check_floating("center", center)
  if int(np.size(center)) != k or np.ndim(center) > 2:
    raise LossInputError(f"center has shape {tuple(np.shape(center))}; expected ({k},)")
  return jnp.reshape(center, (k,))


def _crops(name, x, where):
  """Validates crop-first ``[S, B, K]`` logits; returns (x, valid [B]) with excluded images 0."""
  check_floating(name, x)
  check_rank(name, x, 3, "[crops, B, K]")
  x = nx.upcast(x)
  valid = row_mask(where, x.shape[1])
  return jnp.where(valid[None, :, None], x, 0.0), valid


def _pair_cross_entropy(student_logp, targets):
  """Per-image mean over (s, t), ``s != t``, of ``-sum_k q_t log p_s``: ``[B]``.

  ``student_logp`` is ``[S, B, K]``, ``targets`` ``[T, B, K]`` with ``T <= S``
  (target crop ``t`` is student crop ``t``).
  """
  s, t = student_logp.shape[0], targets.shape[0]
  ce = -jnp.einsum("tbk,sbk->tsb", targets, student_logp)
  pairs = ~jnp.eye(t, s, dtype=bool)
  n_pairs = t * s - t
  return jnp.sum(jnp.where(pairs[:, :, None], ce, 0.0), axis=(0, 1)) / n_pairs


def _teacher_probs(teacher, center, teacher_temp, centering, valid):
  """The teacher targets ``[T, B, K]``: softmax of the centred logits, or Sinkhorn-Knopp."""
  teacher = jax.lax.stop_gradient(teacher)
  if centering == "center":
    return jax.nn.softmax((teacher - jax.lax.stop_gradient(center)) / teacher_temp, axis=-1)
  t, b, k = teacher.shape
  q = _sinkhorn_log(teacher.reshape(t * b, k) / teacher_temp, jnp.tile(valid, t), 3)
  return q.reshape(t, b, k)


@register(tasks=("self-supervised learning", "representation learning",
                 "knowledge distillation"),
          peer="facebookresearch/dinov2 dinov2/loss/dino_clstoken_loss.py (DINOLoss, with the "
               "crop pairing and normalisation of SSLMetaArch)",
          references=(_DINO, _DINOV2),
          input_kind="logits")
@loss_function(static=("centering",), choices={"centering": CENTERINGS},
               ranges={"student_temp": "> 0", "teacher_temp": "> 0"})
def dino_loss(student_logits, teacher_logits, center, *, student_temp=0.1, teacher_temp=0.04,
              centering="center", where=None, reduction="mean"):
  r"""DINO self-distillation: student crops predict the centred, sharpened teacher of other crops.

  .. math::
    P_t = \operatorname{softmax}\Big(\frac{g_t - c}{\tau_t}\Big),\qquad
    \ell_b = \frac{1}{T(S-1)} \sum_{t=1}^{T} \sum_{s \ne t}
      -\sum_k P_{t,bk} \log \operatorname{softmax}\Big(\frac{g_s}{\tau_s}\Big)_{bk}

  over ``S`` student crops and the ``T`` teacher (global) crops, which are
  the first ``T`` student crops.

  Args:
    student_logits: floating ``[S, B, K]`` student head outputs, global crops
      first.
    teacher_logits: ``[T, B, K]`` teacher head outputs of the ``T <= S``
      global crops; no gradient flows into them.
    center: ``[K]`` (or ``[1, K]``) teacher centre (see :func:`update_center`);
      ignored with ``centering="sinkhorn_knopp"`` (pass ``None``).
    student_temp: > 0 (default 0.1).
    teacher_temp: > 0 (default 0.04, DINO's warm-up start; DINOv2 warms up
      from 0.04 to 0.07); may be traced (scheduled).
    centering: "center" (default: subtract ``center``, softmax) |
      "sinkhorn_knopp" (DINOv2's option: 3 Sinkhorn-Knopp rounds with
      ``epsilon = teacher_temp`` over all ``T * B`` teacher rows), static.
    where: optional boolean ``[B]``; False images are removed.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    The mean (or sum) over images; per-image values ``[B]`` (the average
    over crop pairs) for "none".

  Raises:
    LossInputError: shapes not ``[S, B, K]`` / ``[T, B, K]`` with ``T <= S``,
      ``S >= 2``; ``center`` not of size ``K``.

  Notes:
    DINOv2's ``DINOLoss.forward`` sums ``-mean_b sum_k t log_softmax(s /
    tau_s)`` over the (student, teacher) crop lists it is given; its
    training loop pairs the two global crops crosswise (A with B) and every
    local crop with both global crops, and divides by the number of pairs
    ``n_g (n_g - 1) + n_l n_g``. That is the average over all pairs
    ``s != t`` computed here, and also DINO v1's ``DINOLoss``. The centre is
    an explicit argument (the official module holds it as a buffer): update
    it with :func:`update_center` after the step. DINOv2 computes the loss in
    float32 (``.float()``), as here for low-precision inputs.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> s = jnp.zeros((2, 1, 3))
    >>> t = jnp.array([[[1., 0., 0.]], [[0., 1., 0.]]])
    >>> print(jaxloss.dino_loss(s, t, jnp.zeros(3)))
    1.098612
  """
  s, valid = _crops("student_logits", student_logits, where)
  check_floating("teacher_logits", teacher_logits)
  check_rank("teacher_logits", teacher_logits, 3, "[T, B, K]")
  n_s, b, k = s.shape
  n_t = teacher_logits.shape[0]
  if teacher_logits.shape[1:] != (b, k) or n_t > n_s:
    raise LossInputError(
        f"teacher_logits has shape {tuple(teacher_logits.shape)}; expected (T, {b}, {k}) with "
        f"T <= {n_s} (the teacher's crops are the first T student crops)")
  if n_s < 2:
    raise LossInputError(
        f"student_logits has shape {tuple(s.shape)}: a crop pair s != t needs at least 2 crops")
  t = jnp.where(valid[None, :, None], nx.upcast(teacher_logits), 0.0)
  c = _check_center(center, k) if centering == "center" else None
  targets = _teacher_probs(t, c, teacher_temp, centering, valid)
  values = _pair_cross_entropy(jax.nn.log_softmax(s / student_temp, axis=-1), targets)
  return reduce_loss(values, reduction, where=None if where is None else valid)


@register(tasks=("self-supervised learning", "masked image modeling"),
          peer="facebookresearch/dinov2 dinov2/loss/ibot_patch_loss.py (iBOTPatchLoss.forward)",
          references=(_IBOT, _DINOV2),
          input_kind="logits")
@loss_function(static=("centering",), choices={"centering": CENTERINGS},
               ranges={"student_temp": "> 0", "teacher_temp": "> 0"})
def ibot_patch_loss(student_logits, teacher_logits, center, *, student_temp=0.1,
                    teacher_temp=0.04, centering="center", where=None, reduction="mean"):
  r"""iBOT masked-patch self-distillation: masked student patches predict the teacher's.

  .. math::
    \ell_{bp} = -\sum_k \operatorname{softmax}\Big(\frac{g^t_{bp} - c}{\tau_t}\Big)_k
      \log \operatorname{softmax}\Big(\frac{g^s_{bp}}{\tau_s}\Big)_k,\qquad
    L = \frac1B \sum_b \frac{\sum_p m_{bp}\,\ell_{bp}}{\max(1, \sum_p m_{bp})}

  with :math:`m` the mask of the patches masked in the student's input.

  Args:
    student_logits: floating ``[B, P, K]`` patch-head outputs of the student
      (on the masked image).
    teacher_logits: ``[B, P, K]`` patch-head outputs of the teacher (on the
      unmasked image); no gradient flows into them.
    center: ``[K]`` (or ``[1, K]``) patch centre (:func:`update_center`);
      ignored with ``centering="sinkhorn_knopp"`` (pass ``None``).
    student_temp: > 0 (default 0.1).
    teacher_temp: > 0 (default 0.04; DINOv2 warms up from 0.04 to 0.07).
    centering: "center" (default) | "sinkhorn_knopp" (over the masked
      patches, DINOv2's ``sinkhorn_knopp_teacher`` with ``B`` = the number of
      masked patches), static.
    where: optional boolean ``[B, P]``: the masked patches (DINOv2's
      ``student_masks_flat``); default all patches.
    reduction: "mean" (default: the official per-image normalisation above) |
      "sum" (sum over masked patches) | "none".

  Returns:
    A scalar; per-patch values ``[B, P]`` (0 where ``where`` is False) for
    "none".

  Raises:
    LossInputError: ``teacher_logits`` shape differs from ``student_logits``;
      ``center`` not of size ``K``.

  Notes:
    Matches ``iBOTPatchLoss.forward`` (and ``forward_masked`` with its
    default ``masks_weight``): an image without a masked patch counts in
    ``B`` with loss 0, as there. "mean" therefore weights patches per image,
    not ``sum / count`` over all masked patches.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> s = jnp.zeros((1, 2, 3))
    >>> t = jnp.array([[[9., 0., 0.], [0., 9., 0.]]])
    >>> print(jaxloss.ibot_patch_loss(s, t, jnp.zeros(3), where=jnp.array([[True, False]])))
    1.098612
  """
  check_floating("student_logits", student_logits)
  check_rank("student_logits", student_logits, 3, "[B, P, K]")
  check_same_shape("student_logits", student_logits, "teacher_logits", teacher_logits)
  b, p, k = student_logits.shape
  mask = (jnp.ones((b, p), bool) if where is None
          else broadcast_mask("where", where, (b, p), "patch"))
  s = jnp.where(mask[..., None], nx.upcast(student_logits), 0.0)
  t = jax.lax.stop_gradient(jnp.where(mask[..., None], nx.upcast(teacher_logits), 0.0))
  if centering == "center":
    c = jax.lax.stop_gradient(_check_center(center, k))
    targets = jax.nn.softmax((t - c) / teacher_temp, axis=-1)
  else:
    targets = _sinkhorn_log(t.reshape(b * p, k) / teacher_temp, mask.reshape(-1),
                            3).reshape(b, p, k)
  values = -jnp.sum(targets * jax.nn.log_softmax(s / student_temp, axis=-1), axis=-1)
  values = jnp.where(mask, values, 0.0)
  if reduction == "none" or reduction == "sum":
    return reduce_loss(values, reduction)
  per_image = jnp.sum(values, axis=-1) / jnp.maximum(jnp.sum(mask, axis=-1), 1)
  return jnp.sum(per_image) / b


# --------------------------------------------------------------------------
# SwAV.
# --------------------------------------------------------------------------


@register(tasks=("self-supervised learning", "representation learning", "clustering"),
          peer="facebookresearch/swav main_swav.py (train loop loss and distributed_sinkhorn)",
          references=(_SWAV,),
          input_kind="logits")
@loss_function(static=("iters", "assign_crops"),
               ranges={"temperature": "> 0", "epsilon": "> 0"})
def swav_loss(logits, *, temperature=0.1, epsilon=0.05, iters=3, assign_crops=2,
              where=None, reduction="mean"):
  r"""SwAV swapped prediction: each crop predicts the Sinkhorn codes of the other crops.

  .. math::
    q_t = \operatorname{SK}_\epsilon(z_t C),\qquad
    \ell_b = \frac{1}{T(S-1)} \sum_{t=1}^{T}\sum_{s\ne t}
      -\sum_k q_{t,bk} \log\operatorname{softmax}\Big(\frac{z_s C}{\tau}\Big)_{bk}

  with :math:`\operatorname{SK}` the Sinkhorn-Knopp assignment of each
  assigned crop's batch (:func:`sinkhorn_knopp`, no gradient).

  Args:
    logits: floating ``[S, B, K]`` prototype scores ``z C`` of ``S`` crops
      (normalised features times normalised prototypes; the crops whose
      codes are computed first).
    temperature: > 0 softmax temperature (default 0.1); may be traced.
    epsilon: > 0 Sinkhorn-Knopp regularisation (default 0.05).
    iters: Sinkhorn-Knopp rounds (default 3), static.
    assign_crops: number ``T`` of leading crops whose codes are computed
      (SwAV's ``crops_for_assign = [0, 1]``: default 2), static.
    where: optional boolean ``[B]``; False images are removed (also from the
      Sinkhorn-Knopp batch).
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    The mean (or sum) over images; per-image values ``[B]`` for "none".

  Raises:
    LossInputError: ``logits`` not ``[S, B, K]`` with ``S >= 2`` and
      ``1 <= assign_crops <= S``.

  Notes:
    Matches the loss of ``main_swav.py``'s training loop: codes from
    ``distributed_sinkhorn`` (epsilon 0.05, 3 iterations) per assigned crop,
    the cross-entropy of each other crop's ``softmax(scores / 0.1)``
    averaged over the ``S - 1`` other crops and over the assigned crops. Not
    included: SwAV's feature queue (append the queue's scores to the crop's
    batch before :func:`sinkhorn_knopp` and keep the last ``B`` codes) and
    the all-reduce over devices.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.swav_loss(jnp.zeros((2, 2, 3))))
    1.098612
  """
  x, valid = _crops("logits", logits, where)
  n_s, b, k = x.shape
  if n_s < 2 or not 1 <= assign_crops <= n_s:
    raise LossInputError(
        f"logits has shape {tuple(x.shape)} with assign_crops={assign_crops}; expected "
        f"(S, B, K) with S >= 2 and 1 <= assign_crops <= S")
  scores = jax.lax.stop_gradient(x[:assign_crops])
  codes = jnp.stack([_sinkhorn_log(scores[i] / epsilon, valid, iters)
                     for i in range(assign_crops)])
  values = _pair_cross_entropy(jax.nn.log_softmax(x / temperature, axis=-1), codes)
  return reduce_loss(values, reduction, where=None if where is None else valid)


# --------------------------------------------------------------------------
# KoLeo.
# --------------------------------------------------------------------------


@register(tasks=("self-supervised learning", "representation learning"),
          peer="facebookresearch/dinov2 dinov2/loss/koleo_loss.py (KoLeoLoss)",
          references=(_KOLEO, _DINOV2),
          input_kind="embeddings")
@loss_function(ranges={"eps": "> 0"})
def koleo_loss(x, *, eps=1e-8, where=None, reduction="mean"):
  r"""KoLeo regulariser: spread L2-normalised embeddings (Kozachenko-Leonenko entropy).

  .. math::
    \hat x_i = \frac{x_i}{\max(\|x_i\|, \epsilon)},\qquad
    \ell_i = -\log\big(\|\hat x_i - \hat x_{n(i)} + \epsilon\|_2 + \epsilon\big),\qquad
    n(i) = \arg\max_{j \ne i} \hat x_i \cdot \hat x_j

  Args:
    x: floating ``[N, D]`` embeddings (DINOv2: the student's global-crop class
      tokens, one crop at a time).
    eps: > 0 (default 1e-8), the normalisation floor, the distance offset and
      the log offset (one ``eps`` in the official code too).
    where: optional boolean ``[N]``; False rows are removed (as anchors and as
      neighbours).
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    The mean (or sum) over rows; per-row values ``[N]`` for "none".

  Raises:
    LossInputError: ``x`` not ``[N, D]``.

  Notes:
    Matches DINOv2's ``KoLeoLoss.forward``: ``F.normalize(eps=1e-8)``, the
    nearest neighbour by the largest dot product off the diagonal (ties: the
    first index, as ``torch.max``), ``nn.PairwiseDistance(eps=1e-8)`` (which
    adds ``eps`` to the difference, so coincident points have a finite
    distance and gradient). The neighbour's index carries no gradient. A
    row with no valid neighbour is its own neighbour (distance
    ``eps * sqrt(D)``), as the official code with a batch of one. DINOv2
    applies it per global crop and sums: ``sum(koleo_loss(c) for c in crops)``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.koleo_loss(jnp.array([[1., 0.], [0., 1.], [-1., 0.]])))
    -0.346574
  """
  check_floating("x", x)
  check_rank("x", x, 2, "[N, D]")
  z = nx.upcast(x)
  n = z.shape[0]
  valid = row_mask(where, n)
  z = nx.mask_fill(z, valid, trailing=1)
  z = nx.l2_normalize(z, eps=eps)
  dots = jax.lax.stop_gradient(z @ z.T)
  dots = jnp.where(valid[None, :], dots, -jnp.inf)
  dots = jnp.where(jnp.eye(n, dtype=bool), -1.0, dots)
  nearest = jnp.argmax(dots, axis=1)
  diff = z - z[nearest] + eps
  dist = nx.safe_sqrt(jnp.sum(diff * diff, axis=-1))
  values = -jnp.log(dist + eps)
  return reduce_loss(values, reduction, where=None if where is None else valid)
