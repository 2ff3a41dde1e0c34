"""Boundary and distance-based segmentation losses.

* :func:`boundary_loss` (Kervadec et al.) integrates probabilities against
  signed distance maps of the target (see :func:`signed_distance_map`).
* :func:`hausdorff_dt_loss` (Karimi & Salcudean) weights squared errors by
  the distance transforms of the thresholded prediction and the target.
* :func:`boundary_aware_loss` splits the pixel-wise cross-entropy into a
  boundary band and the interior, so a user sees *where* the error is.

The distance transforms are exact and jit-compiled (``distance.py``), meant
for images and crops of moderate size.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    broadcast_mask,
    check_floating,
    check_min_rank,
    check_same_shape,
    class_labels,
    loss_function,
    reduce_loss,
)
from jaxloss.catalog import SURVEY, register
from jaxloss.segmentation import _common as cm
from jaxloss.segmentation import distance as dist

__all__ = ["boundary_aware_loss", "boundary_loss", "hausdorff_dt_loss"]

_KERVADEC = ("Kervadec et al., Boundary loss for highly unbalanced segmentation, MIDL 2019 "
             "(MedIA 2021)")
_KARIMI = ("Karimi & Salcudean, Reducing the Hausdorff Distance in Medical Image Segmentation "
           "with Convolutional Neural Networks, IEEE TMI 2019")


@register(tasks=cm.TASKS, input_kind="logits",
          peer="Kervadec et al. SurfaceLoss (boundary-loss repository)",
          references=(_KERVADEC,))
@loss_function(static=("activation", "include_background"),
               choices={"activation": cm.ACTIVATIONS})
def boundary_loss(logits, distance_maps, *, activation="softmax", include_background=False,
                  where=None, reduction="mean"):
  r"""Boundary loss: probabilities integrated against signed distance maps.

  .. math::
    \ell_{bc} = \frac{1}{|\Omega|} \sum_{q \in \Omega} \phi_{G_c}(q)\, s_c(q)

  with :math:`s_c` the predicted probability of class :math:`c` and
  :math:`\phi_{G_c}` the target's signed distance map (negative inside,
  positive outside; see :func:`jaxloss.signed_distance_map`). The loss is
  minimal (negative) when the prediction covers exactly the target; it is
  normally added to a regional loss (e.g. ``dice_loss + lambda * boundary_loss``
  with ``lambda`` increased during training, as in the paper).

  Args:
    logits: ``(B, *spatial, C)`` scores (probabilities with ``activation=None``).
    distance_maps: ``(B, *spatial, C)`` signed distance maps, e.g.
      ``jaxloss.signed_distance_map(labels, C)`` (pre-computed in the input
      pipeline for large images).
    activation: "softmax" (default) | "sigmoid" | None.
    include_background: keep channel 0 (default False, the paper's ``idc=[1]``
      for two classes); ignored when ``C = 1``.
    where: boolean mask broadcastable to the unreduced ``(B, C')``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(B, C')`` per-image, per-class spatial means
    for "none" (their mean is the paper's mean over all pixels and classes).

  Raises:
    LossInputError: ``distance_maps`` shape differs from ``logits`` shape.
    LossTypeError: non-floating inputs.

  Notes:
    As the authors' ``SurfaceLoss``: an ``einsum`` of probabilities and
    ``one_hot2dist`` maps, averaged.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> labels = jnp.array([[0, 1, 1, 0, 0]])
    >>> sdm = jaxloss.signed_distance_map(labels, 2)
    >>> print(jaxloss.boundary_loss(jnp.array([[[0.9, 0.1]] * 5]), sdm, activation=None))
    0.08
  """
  check_floating("logits", logits)
  check_floating("distance_maps", distance_maps)
  check_min_rank("logits", logits, 3, "(B, *spatial, C)")
  check_same_shape("logits", logits, "distance_maps", distance_maps)
  dtype = nx.compute_dtype(logits, distance_maps)
  images = cm.image_mask(where, logits, include_background, False)
  if images is not None:
    logits = nx.mask_fill(logits, images, trailing=logits.ndim - 1)
    distance_maps = nx.mask_fill(distance_maps, images, trailing=logits.ndim - 1)
  p = cm.activate(logits.astype(dtype), activation)
  phi = distance_maps.astype(dtype)
  if not include_background and p.shape[-1] > 1:
    p, phi = p[..., 1:], phi[..., 1:]
  values = jnp.mean(p * phi, axis=cm.reduce_axes(p.ndim, False))
  return reduce_loss(values, reduction, where=where)


@register(tasks=cm.TASKS, input_kind="logits",
          peer="monai.losses.HausdorffDTLoss",
          references=(_KARIMI, SURVEY))
@loss_function(static=("activation", "include_background", "batch", "ignore_index"),
               ranges={"alpha": ">= 0"}, choices={"activation": cm.ACTIVATIONS})
def hausdorff_dt_loss(logits, labels, *, activation="softmax", include_background=False,
                      alpha=2.0, batch=False, ignore_index=None, where=None, reduction="mean"):
  r"""Hausdorff distance loss from distance transforms (Karimi & Salcudean).

  .. math::
    \ell_{bc} = \frac{1}{|\Omega|} \sum_{q \in \Omega} (p_{qc} - g_{qc})^2
                \big(d_{P_c}(q)^\alpha + d_{G_c}(q)^\alpha\big)

  :math:`d_{X}(q)` is the distance from :math:`q` to the nearest pixel on the
  other side of the boundary of :math:`X` (0 if :math:`X` is empty or
  everything); :math:`P_c = \{p_c > 0.5\}` is the thresholded prediction and
  :math:`G_c = \{g_c > 0.5\}`. The distance maps carry no gradient.

  Args:
    logits, labels, activation: as :func:`dice_loss`.
    include_background: keep channel 0 (default False, as MONAI).
    alpha: exponent of the distances (default 2.0); may be traced.
    batch: average over the batch too (default False).
    ignore_index: optional integer label (static, default None) whose pixels
      are absent from the image: they are neither foreground nor background of
      the distance transforms, contribute no term, and the spatial mean is over
      the remaining pixels (0 for an image with none). Integer labels only.
    where: boolean mask broadcastable to the unreduced ``(B, C')``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(B, C')`` for "none" (``(C',)`` with ``batch``).

  Raises:
    LossInputError, LossTypeError: as :func:`dice_loss`.

  Notes:
    The distances are those of MONAI's ``HausdorffDTLoss.distance_field``:
    the sum of the foreground and background Euclidean distance transforms,
    per image and channel. ``ignore_index`` is an addition (MONAI has none).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> p = jnp.array([[[0.2], [0.9], [0.6], [0.1]]])     # (1, 4, 1)
    >>> print(jaxloss.hausdorff_dt_loss(p, jnp.array([[0, 1, 1, 0]]), activation=None))
    0.11
  """
  p, g, valid = cm.prepare(logits, labels, activation=activation,
                           include_background=include_background, ignore_index=ignore_index,
                           images=cm.image_mask(where, logits, include_background, batch),
                           return_valid=True)
  axes = tuple(range(1, p.ndim - 1))
  keep = None if valid is None else jnp.broadcast_to(valid[..., None], p.shape)
  d_p = dist.unsigned_distance_field(jax.lax.stop_gradient(p) > 0.5, axes, keep)
  d_g = dist.unsigned_distance_field(jax.lax.stop_gradient(g) > 0.5, axes, keep)
  alpha = jnp.asarray(alpha, p.dtype)
  zero_pow = jnp.where(alpha == 0, 1.0, 0.0).astype(p.dtype)   # 0 ** 0 = 1, as torch

  def pow_(d):
    return nx.double_where(d > 0, d.astype(p.dtype), lambda v: v ** alpha, fill=zero_pow)

  weight = pow_(d_p) + pow_(d_g)
  axes = cm.reduce_axes(p.ndim, batch)
  if keep is None:
    values = jnp.mean((p - g) ** 2 * weight, axis=axes)
  else:
    # p and g are 0 at ignored pixels, so those terms vanish; the mean is over the rest.
    values = nx.safe_div(jnp.sum((p - g) ** 2 * weight, axis=axes),
                         jnp.sum(keep, axis=axes, dtype=p.dtype))
  return reduce_loss(values, reduction, where=where)


def boundary_band(labels, width=1):
  """Pixels within ``width`` (chessboard distance) of a change of label.

  ``labels``: integer ``(B, *spatial)``. A pixel is in the band when its
  ``(2 width + 1)^d`` neighbourhood (clipped at the image border) holds more
  than one label: dilation != erosion of the label map.
  """
  labels = jnp.asarray(labels, jnp.int32)
  window = (1,) + (2 * width + 1,) * (labels.ndim - 1)
  strides = (1,) * labels.ndim
  # int32 init values: a Python int would be int64 under x64 and not match the operand.
  lowest = jnp.array(jnp.iinfo(jnp.int32).min, jnp.int32)
  highest = jnp.array(jnp.iinfo(jnp.int32).max, jnp.int32)
  hi = jax.lax.reduce_window(labels, lowest, jax.lax.max, window, strides, "SAME")
  lo = jax.lax.reduce_window(labels, highest, jax.lax.min, window, strides, "SAME")
  return hi != lo


@register(tasks=cm.TASKS, input_kind="logits",
          peer="",
          references=("Elharrouss et al. 2025 (interpretable loss structure); boundary "
                      "weighting as in Ronneberger et al., U-Net, MICCAI 2015", SURVEY),
          components=("interior", "boundary"))
@loss_function(static=("width", "ignore_index", "return_components"),
               ranges={"width": ">= 0", "boundary_weight": ">= 0", "interior_weight": ">= 0"},
               choices={"reduction": ("mean", "sum")})
def boundary_aware_loss(logits, labels, *, width=1, boundary_weight=1.0, interior_weight=1.0,
                        ignore_index=None, where=None, reduction="mean",
                        return_components=False):
  r"""Cross-entropy split into a boundary band and the interior, with parts.

  The band :math:`\mathcal{B}` holds the pixels within ``width`` of a change
  of label (morphological dilation != erosion of the label map, window
  :math:`2w + 1`); :math:`\mathcal{I}` is the rest. With per-pixel
  cross-entropy :math:`\mathrm{ce}_q`:

  .. math::
    L = \lambda_I \,\overline{\mathrm{ce}}_{\mathcal{I}}
      + \lambda_B \,\overline{\mathrm{ce}}_{\mathcal{B}}

  (means over the valid pixels of each part; an empty part contributes 0;
  ``reduction="sum"`` uses the sums over each part instead of the means).
  The parts (``return_components=True``) tell whether the error is
  misplaced boundaries (high ``boundary``) or wrong classes inside regions
  (high ``interior``), and for which true class (``per_class``).

  Args:
    logits: ``(B, *spatial, C)`` scores.
    labels: integer ``(B, *spatial)`` class ids, or one-hot/soft
      ``(B, *spatial, C)`` (the band is then found from their argmax).
    width: band half-width in pixels, static int >= 0 (default 1; 0 gives
      an empty band).
    boundary_weight, interior_weight: :math:`\lambda_B, \lambda_I` (default 1).
    ignore_index: integer label whose pixels are excluded.
    where: optional boolean pixel mask ``(B, *spatial)``.
    reduction: "mean" (default; the mean cross-entropy of each part) | "sum"
      (the summed cross-entropy of each part). No "none": the parts pool
      different pixels.
    return_components: also return the parts (default False).

  Returns:
    A scalar; with ``return_components=True``, ``(total, {"interior": scalar,
    "boundary": scalar, "per_class": (C,)})`` (use with
    ``jax.value_and_grad(..., has_aux=True)``). ``interior`` and ``boundary``
    are the unweighted parts; ``per_class[c]`` is the cross-entropy over the
    valid pixels whose (argmax) label is ``c``, reduced the same way (0 if
    there are none).

  Raises:
    LossInputError: labels shape matches neither ``(B, *S)`` nor logits' shape;
      ``reduction="none"``.
    LossTypeError: logits not floating.

  Notes:
    The interpretable segmentation loss sketched by the survey; the
    band-weighted cross-entropy follows U-Net's emphasis on borders. No peer
    implementation.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> labels = jnp.array([[0, 0, 1, 1, 1]])
    >>> logits = jnp.log(jnp.array([[[.9, .1], [.6, .4], [.5, .5], [.2, .8], [.1, .9]]]))
    >>> total, parts = jaxloss.boundary_aware_loss(logits, labels, return_components=True)
    >>> print(total, parts["boundary"], parts["interior"])
    0.7466 0.6020 0.1446
  """
  check_floating("logits", logits)
  check_min_rank("logits", logits, 3, "(B, *spatial, C)")
  kind = class_labels(logits, labels)
  dtype = nx.compute_dtype(logits)
  c = logits.shape[-1]
  if kind == "int":
    valid, ids = nx.class_ids(labels, ignore_index)
    valid = jnp.ones(labels.shape, bool) if valid is None else valid
    y = nx.one_hot(ids, c, dtype=dtype)
    # The band sees the raw label map: a change to an ignored label is a boundary.
    band_ids = labels
  else:
    if ignore_index is not None:
      raise LossInputError("ignore_index needs integer labels, got labels of shape "
                           f"{labels.shape} and dtype {labels.dtype}")
    y = labels.astype(dtype)
    ids = band_ids = jnp.argmax(labels, axis=-1)
    valid = jnp.ones(labels.shape[:-1], bool)
  if where is not None:
    valid = valid & broadcast_mask("where", where, valid.shape, "pixel")
  # Fill excluded pixels *before* the log-softmax so a NaN there reaches
  # neither the value nor the gradient.
  logp = jax.nn.log_softmax(nx.mask_fill(logits.astype(dtype), valid, trailing=1), axis=-1)
  y = jnp.where(valid[..., None], y, 0.0)
  ce = -jnp.sum(y * logp, axis=-1)
  band = boundary_band(band_ids, width) if width > 0 else jnp.zeros(ids.shape, bool)
  vb, vi = valid & band, valid & ~band

  def pool(total, count):
    return total if reduction == "sum" else nx.safe_div(total, count)

  boundary = pool(jnp.sum(jnp.where(vb, ce, 0.0)), jnp.sum(vb, dtype=dtype))
  interior = pool(jnp.sum(jnp.where(vi, ce, 0.0)), jnp.sum(vi, dtype=dtype))
  total = interior_weight * interior + boundary_weight * boundary
  if not return_components:
    return total
  onehot_ids = jax.nn.one_hot(ids, c, dtype=dtype) * valid[..., None]
  sp = tuple(range(ce.ndim))
  per_class = pool(jnp.sum(onehot_ids * ce[..., None], axis=sp), jnp.sum(onehot_ids, axis=sp))
  return total, {"interior": interior, "boundary": boundary, "per_class": per_class}
