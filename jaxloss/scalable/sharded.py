"""Sharded losses: global batch statistics over a :class:`jax.sharding.Mesh` axis
with ``shard_map`` (CLIP all-gather, SigLIP ring exchange, Dice/Tversky ``psum``,
:func:`global_masked_mean`). See :mod:`jaxloss.scalable` for the conventions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P

from jaxloss import _examples as ex
from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
  check_floating,
  check_min_rank,
  check_rank,
  check_same_shape,
  class_labels,
  debug_check_labels,
  loss_function,
  reduce_loss,
)
from jaxloss.catalog import register

__all__ = ["global_masked_mean", "sharded_clip_loss", "sharded_dice_loss",
           "sharded_siglip_loss", "sharded_tversky_loss"]

_SURVEY = ("Elharrouss et al., Loss Functions in Deep Learning: A Comprehensive Review, "
           "arXiv:2504.04242, 2025")


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


@register(tasks=("image-text contrastive learning", "multimodal retrieval"),
          input_kind="embeddings",
          peer="open_clip ClipLoss(local_loss=True, gather_with_grad=True)",
          references=("Radford et al., Learning Transferable Visual Models From Natural "
                      "Language Supervision (CLIP), ICML 2021", _SURVEY),
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


@register(tasks=("image-text contrastive learning", "multimodal retrieval"),
          input_kind="embeddings",
          peer="big_vision SigLIP sigmoid loss (chunked/ring); open_clip SigLipLoss",
          references=("Zhai et al., Sigmoid Loss for Language Image Pre-Training (SigLIP), "
                      "ICCV 2023", _SURVEY),
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


_REGION = dict(tasks=("semantic segmentation", "medical image segmentation"),
               input_kind="logits", example=_region_example, edge_cases=_region_edges,
               grad_argnums=(0,), per_example=False, where_trailing=None)
_ACTIVATIONS = {"activation": ("softmax", "sigmoid", None)}


@register(peer="monai.losses.DiceLoss(batch=True, softmax=True)",
          references=("Milletari et al., V-Net, 3DV 2016", _SURVEY),
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
