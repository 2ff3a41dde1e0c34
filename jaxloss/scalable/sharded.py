"""Sharded losses: global batch statistics over a :class:`jax.sharding.Mesh` axis
with ``shard_map`` (CLIP all-gather, SigLIP ring exchange, Dice/Tversky ``psum``,
:func:`global_masked_mean`). See :mod:`jaxloss.scalable` for the conventions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P

from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
  broadcast_mask,
  check_floating,
  check_min_rank,
  check_rank,
  check_same_shape,
  class_labels,
  debug_check_labels,
  loss_function,
  reduce_loss,
)
from jaxloss.catalog import SURVEY, register

__all__ = ["global_masked_mean", "sharded_clip_loss", "sharded_dice_loss",
           "sharded_siglip_loss", "sharded_tversky_loss"]

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


def _pair_checks(x1, x2, mesh, axis_name):
  check_floating("x1", x1)
  check_rank("x1", x1, 2, "(batch, dim)")
  check_same_shape("x1", x1, "x2", x2)
  _check_mesh(mesh, axis_name, x1.shape[0], "x1")


@register(tasks=("image-text contrastive learning", "multimodal retrieval"),
          input_kind="embeddings",
          peer="open_clip ClipLoss(local_loss=True, gather_with_grad=True)",
          references=("Radford et al., Learning Transferable Visual Models From Natural "
                      "Language Supervision (CLIP), ICML 2021", SURVEY))
@loss_function(static=("mesh", "axis_name", "normalize"), ranges={"temperature": "> 0"})
def sharded_clip_loss(x1, x2, *, mesh, axis_name="data", temperature=0.07, normalize=True,
                      reduction="mean"):
  r"""Global-batch CLIP loss over a batch sharded along a mesh axis.

  With :math:`u_i, v_j` the (L2-normalised) embeddings ``x1`` (images) and
  ``x2`` (texts) of the *global* batch of size :math:`B` and
  :math:`s_{ij} = u_i^\top v_j / \tau`:

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
    x1: floating ``(B, D)`` embeddings of the first view (e.g. images), the
      global batch (sharded or not).
    x2: floating ``(B, D)`` embeddings of the second view (e.g. texts);
      ``x2[i]`` is the positive of ``x1[i]``.
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

  Notes:
    The symmetric InfoNCE of CLIP, equal to the single-device
    :func:`jaxloss.clip_loss` of the global batch. OpenCLIP's ``ClipLoss``
    takes ``logit_scale = 1 / temperature`` and expects normalised features
    (``normalize=True`` here).

  Examples:
    >>> import jax, jax.numpy as jnp, numpy as np, jaxloss
    >>> mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("data",))
    >>> img = jnp.array([[1., 0.], [0., 1.]])
    >>> txt = jnp.array([[1., 1.], [0., 1.]])
    >>> print(jaxloss.sharded_clip_loss(img, txt, mesh=mesh, temperature=1.0))
    0.491157
  """
  _pair_checks(x1, x2, mesh, axis_name)
  dtype = nx.compute_dtype(x1, x2)
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
      out_specs=P(axis_name))(x1.astype(dtype), x2.astype(dtype), temperature)
  return reduce_loss(per_example, reduction)


@register(tasks=("image-text contrastive learning", "multimodal retrieval"),
          input_kind="embeddings",
          peer="big_vision SigLIP sigmoid loss (chunked/ring); open_clip SigLipLoss",
          references=("Zhai et al., Sigmoid Loss for Language Image Pre-Training (SigLIP), "
                      "ICCV 2023", SURVEY))
@loss_function(static=("mesh", "axis_name", "normalize"), ranges={"temperature": "> 0"})
def sharded_siglip_loss(x1, x2, *, mesh, axis_name="data", temperature=10.0, bias=-10.0,
                        normalize=True, reduction="mean"):
  r"""Global-batch SigLIP (pairwise sigmoid) loss with the chunked ring exchange.

  With :math:`u_i, v_j` the (L2-normalised) embeddings ``x1`` (images) and
  ``x2`` (texts) of the global batch,
  logits :math:`x_{ij} = t\, u_i^\top v_j + b` and :math:`z_{ij} = 1` if
  :math:`i = j` else :math:`-1`:

  .. math::
    \ell_i = -\sum_{j=1}^{B} \log \sigma(z_{ij} x_{ij}), \qquad
    \mathcal{L} = \frac{1}{B} \sum_i \ell_i

  Each device keeps its ``x1`` rows and passes its ``x2`` chunk around the ring
  (``jax.lax.ppermute``) ``n`` times, adding the pair losses of each chunk —
  the paper's memory-efficient implementation: no all-gather, ``(B/n)^2``
  logits per device per step.

  Args:
    x1: floating ``(B, D)`` embeddings of the first view (e.g. images), the
      global batch.
    x2: floating ``(B, D)`` embeddings of the second view (e.g. texts);
      ``x2[i]`` is the positive of ``x1[i]``.
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

  Notes:
    The paper's Algorithm 1 with the "chunked" implementation of its Sec. 3.3,
    equal to the single-device :func:`jaxloss.siglip_loss` of the global
    batch. OpenCLIP's ``SigLipLoss`` takes ``logit_scale = t`` and
    ``logit_bias = b``.

  Examples:
    >>> import jax, jax.numpy as jnp, numpy as np, jaxloss
    >>> mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("data",))
    >>> x = jnp.array([[1., 0.], [0., 1.]])
    >>> print(jaxloss.sharded_siglip_loss(x, x, mesh=mesh))
    0.693193
  """
  _pair_checks(x1, x2, mesh, axis_name)
  n = mesh.shape[axis_name]
  dtype = nx.compute_dtype(x1, x2)
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
      out_specs=P(axis_name))(x1.astype(dtype), x2.astype(dtype), temperature, bias)
  return reduce_loss(per_example, reduction)


# ---- global-statistics region losses --------------------------------------


def _region_stats(logits, labels, *, mesh, axis_name, activation, include_background, fn,
                  ignore_index=None):
  """Global (psum over the batch shards) TP/FP/FN per class, passed to ``fn``.

  ``ignore_index`` pixels are absent: their logits are zero-filled before the
  activation and their probabilities and targets are 0 (as ``dice_loss``).
  """
  check_floating("logits", logits)
  check_min_rank("logits", logits, 2, "(batch, ..., classes)")
  kind = class_labels(logits, labels)
  _check_mesh(mesh, axis_name, logits.shape[0], "logits")
  num_classes = logits.shape[-1]
  nx.check_ignore_index(ignore_index)
  dtype = nx.compute_dtype(logits)
  valid = None
  if kind == "int":
    debug_check_labels(labels, num_classes, ignore_index)
    valid, labels = nx.class_ids(labels, ignore_index)
  elif ignore_index is not None:
    raise LossInputError(
        f"ignore_index needs integer class ids of shape {logits.shape[:-1]}, but labels has "
        f"shape {labels.shape} (one-hot/soft targets)")
  else:
    labels = labels.astype(dtype)
  logits = nx.mask_fill(logits.astype(dtype), valid, trailing=1)
  valid = jnp.ones(logits.shape[:-1], bool) if valid is None else valid

  def local(x, y, keep):
    if activation == "softmax":
      p = jax.nn.softmax(x, axis=-1)
    elif activation == "sigmoid":
      p = jax.nn.sigmoid(x)
    else:
      p = x
    g = nx.one_hot(y, num_classes, dtype=dtype) if kind == "int" else y
    p = jnp.where(keep[..., None], p, jnp.zeros((), dtype))
    g = jnp.where(keep[..., None], g, jnp.zeros((), dtype))
    if not include_background:
      p, g = p[..., 1:], g[..., 1:]
    axes = tuple(range(p.ndim - 1))
    tp = jax.lax.psum(jnp.sum(p * g, axis=axes), axis_name)
    fp = jax.lax.psum(jnp.sum(p * (1.0 - g), axis=axes), axis_name)
    fn_ = jax.lax.psum(jnp.sum((1.0 - p) * g, axis=axes), axis_name)
    return fn(tp, fp, fn_)

  return jax.shard_map(local, mesh=mesh, in_specs=(P(axis_name), P(axis_name), P(axis_name)),
                       out_specs=P())(logits, labels, valid)


_REGION = dict(tasks=("semantic segmentation", "medical image segmentation"),
               input_kind="logits")
_ACTIVATIONS = {"activation": ("softmax", "sigmoid", None)}


@register(peer="monai.losses.DiceLoss(batch=True, softmax=True)",
          references=("Milletari et al., V-Net, 3DV 2016", SURVEY),
          **_REGION)
@loss_function(static=("mesh", "axis_name", "activation", "include_background", "ignore_index"),
               choices=_ACTIVATIONS, ranges={"smooth_nr": ">= 0", "smooth_dr": ">= 0"})
def sharded_dice_loss(logits, labels, *, mesh, axis_name="data", activation="softmax",
                      include_background=True, smooth_nr=1e-5, smooth_dr=1e-5,
                      ignore_index=None, reduction="mean"):
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
    ignore_index: optional integer label (static, default None) whose pixels
      are excluded from the sums (integer labels only), as ``dice_loss``'s.
    reduction: over classes: "mean" (default) | "sum" | "none" (``(C,)``).

  Returns:
    A scalar for "mean"/"sum"; the per-class losses for "none".

  Raises:
    LossInputError: label shape mismatch, batch not divisible by the axis size.

  Notes:
    MONAI's ``DiceLoss(batch=True, softmax=True, to_onehot_y=True)`` with
    classes last; equal to ``jaxloss.dice_loss(..., batch=True)`` of the
    global batch.

  Examples:
    >>> import jax, jax.numpy as jnp, numpy as np, jaxloss
    >>> mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("data",))
    >>> logits = jnp.array([[[4., 0.], [0., 4.]], [[4., 0.], [4., 0.]]])
    >>> print(jaxloss.sharded_dice_loss(logits, jnp.array([[0, 1], [0, 1]]), mesh=mesh))
    0.274963
  """
  def dice(tp, fp, fn):
    return 1.0 - (2.0 * tp + smooth_nr) / (2.0 * tp + fp + fn + smooth_dr)

  per_class = _region_stats(logits, labels, mesh=mesh, axis_name=axis_name,
                            activation=activation, include_background=include_background,
                            fn=dice, ignore_index=ignore_index)
  return reduce_loss(per_class, reduction)


@register(peer="monai.losses.TverskyLoss(batch=True, softmax=True)",
          references=("Salehi et al., Tversky loss function for image segmentation using 3D "
                      "fully convolutional deep networks, MLMI 2017", SURVEY),
          **_REGION)
@loss_function(static=("mesh", "axis_name", "activation", "include_background", "ignore_index"),
               choices=_ACTIVATIONS,
               ranges={"alpha": ">= 0", "beta": ">= 0", "smooth_nr": ">= 0",
                       "smooth_dr": ">= 0"})
def sharded_tversky_loss(logits, labels, *, mesh, axis_name="data", activation="softmax",
                         include_background=True, alpha=0.5, beta=0.5, smooth_nr=1e-5,
                         smooth_dr=1e-5, ignore_index=None, reduction="mean"):
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
    ignore_index: optional integer label (static, default None) whose pixels
      are excluded from the sums (integer labels only), as ``dice_loss``'s.
    reduction: over classes: "mean" (default) | "sum" | "none" (``(C,)``).

  Returns:
    A scalar for "mean"/"sum"; the per-class losses for "none".

  Raises:
    LossInputError: label shape mismatch, batch not divisible by the axis size.

  Notes:
    MONAI's ``TverskyLoss(batch=True, softmax=True, to_onehot_y=True)``
    (alpha on FP, beta on FN) with classes last; equal to
    ``jaxloss.tversky_loss(..., batch=True)`` of the global batch.

  Examples:
    >>> import jax, jax.numpy as jnp, numpy as np, jaxloss
    >>> mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("data",))
    >>> logits = jnp.array([[[4., 0.], [0., 4.]], [[4., 0.], [4., 0.]]])
    >>> print(jaxloss.sharded_tversky_loss(logits, jnp.array([[0, 1], [0, 1]]), mesh=mesh))
    0.274963
  """
  def tversky(tp, fp, fn):
    return 1.0 - (tp + smooth_nr) / (tp + alpha * fp + beta * fn + smooth_dr)

  per_class = _region_stats(logits, labels, mesh=mesh, axis_name=axis_name,
                            activation=activation, include_background=include_background,
                            fn=tversky, ignore_index=ignore_index)
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
    mask = broadcast_mask("where", where, values.shape, "unreduced loss")
  total = jax.lax.psum(jnp.sum(jnp.where(mask, values, 0.0)), axis_name)
  count = jax.lax.psum(jnp.sum(mask, dtype=dtype), axis_name)
  return nx.safe_div(total, count)
