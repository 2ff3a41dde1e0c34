"""Unsupervised optical-flow losses: photometric, smoothness, temporal consistency.

Frames are ``(..., H, W, C)`` and flows ``(..., H, W, 2)`` in pixels with
``flow[..., 0]`` the x (width) displacement (see :mod:`jaxloss.video._warping`).
``flow`` goes from the first frame to the second; the second frame is warped
*backwards* into the first frame's grid (``warp(frame2, flow)``) and compared
with the first frame, as in UnFlow, PWC-Net/ARFlow and Monodepth2.

Masking. A pixel whose sample point leaves the image (the warp's ``valid``
mask) or that the forward-backward check finds occluded contributes 0 but
still counts in ``"mean"`` (UnFlow normalises by every pixel); ``where``
removes pixels from the loss *and* from the count.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    check_broadcastable,
    check_floating,
    check_min_rank,
    loss_function,
    reduce_loss,
    shape_of,
)
from jaxloss.catalog import SURVEY, register
from jaxloss.video._common import (
    MONODEPTH,
    MONODEPTH2,
    PENALTIES,
    UNFLOW,
    frame_pair,
    penalty_fn,
)
from jaxloss.video._warping import check_flow, fb_consistency_unchecked, warp_unchecked

__all__ = ["flow_smoothness_loss", "photometric_loss", "temporal_consistency_loss"]

_CHARB_RANGES = {"charbonnier_eps": "> 0", "charbonnier_alpha": "> 0"}


def _ssim_dissimilarity(x, y, data_range):
  """Monodepth2's per-pixel ``clip((1 - SSIM) / 2, 0, 1)``: 3x3 box, reflect pad.

  The box filter is :mod:`jaxloss.image`'s separable filter (with its
  hand-written VJP) applied to the five stacked moment maps.
  """
  dtype = x.dtype
  stack = jnp.stack([x, y, x * x, y * y, x * y], axis=-1)  # (..., H, W, C, 5)
  nd = stack.ndim
  pad = [(0, 0)] * (nd - 4) + [(1, 1), (1, 1), (0, 0), (0, 0)]
  stack = jnp.pad(stack, pad, mode="reflect")
  window = jnp.full((3,), 1.0 / 3.0, dtype)
  f = nx.filter2d_valid(stack, window, nd - 4, nd - 3)
  mu_x, mu_y, e_xx, e_yy, e_xy = (f[..., i] for i in range(5))
  c1 = (0.01 * data_range) ** 2
  c2 = (0.03 * data_range) ** 2
  num = (2 * mu_x * mu_y + c1) * (2 * (e_xy - mu_x * mu_y) + c2)
  den = (mu_x * mu_x + mu_y * mu_y + c1) * (e_xx - mu_x * mu_x + e_yy - mu_y * mu_y + c2)
  return jnp.clip((1.0 - num / den) / 2.0, 0.0, 1.0)


@register(tasks=("optical flow", "video", "depth estimation", "motion detection"),
          input_kind="images",
          peer="UnFlow photometric_loss (charbonnier, fb); Monodepth2 compute_reprojection_loss "
               "(ssim_l1)",
          references=(UNFLOW, MONODEPTH2,
                      "Jaderberg et al., Spatial Transformer Networks, NeurIPS 2015"),
          components=("ssim", "l1"))
@loss_function(static=("penalty", "occlusion", "return_components"),
               ranges={**_CHARB_RANGES, "ssim_weight": ">= 0", "l1_weight": ">= 0",
                       "data_range": "> 0",
                       "fb_alpha1": ">= 0", "fb_alpha2": ">= 0"},
               choices={"penalty": ("l1", "charbonnier", "ssim_l1"),
                        "occlusion": ("none", "fb")})
def photometric_loss(x1, x2, flow, *, penalty="l1", ssim_weight=0.85, l1_weight=0.15,
                     data_range=1.0,
                     charbonnier_eps=1e-3, charbonnier_alpha=0.45, occlusion="none",
                     flow_bw=None, fb_alpha1=0.01, fb_alpha2=0.5, return_components=False,
                     weights=None, where=None, reduction="mean"):
  r"""Brightness-constancy error of frame ``x1`` against frame ``x2`` warped by ``flow``.

  .. math::
    \ell(p) = m(p)\, \frac1C \sum_c \rho\big(I_1(p)_c - I_2(p + f(p))_c\big),
    \qquad \rho_{\text{charbonnier}}(d) = (d^2 + \varepsilon^2)^{\alpha}

  ``I_2(p + f(p))`` is :func:`jaxloss.warp` (bilinear, zero padding) and
  ``m(p)`` is 1 where the sample point lies inside the image (and, with
  ``occlusion="fb"``, where UnFlow's forward-backward check passes), else 0.
  ``penalty="ssim_l1"`` is Monodepth2's ``w_s (1 - SSIM)/2 + w_1 |d|`` with a
  3x3 box-window SSIM per pixel, ``w_s = ssim_weight`` and ``w_1 = l1_weight``
  (Monodepth2's ``alpha = 0.85`` is ``ssim_weight=0.85, l1_weight=0.15``).

  Args:
    x1: floating frame at time t (``I_1``), ``(..., H, W, C)``.
    x2: frame at time t+1 (``I_2``), same shape.
    flow: flow from ``x1`` to ``x2``, ``(..., H, W, 2)`` in pixels,
      ``flow[..., 0]`` = x (width) displacement.
    penalty: "l1" (default) | "charbonnier" | "ssim_l1", static.
    ssim_weight: weight of the SSIM term of "ssim_l1" (default 0.85, Monodepth2).
    l1_weight: weight of the L1 term of "ssim_l1" (default 0.15, Monodepth2's
      ``1 - alpha``).
    data_range: value range of the frames for the SSIM constants (default 1.0).
    charbonnier_eps: Charbonnier epsilon (default 1e-3, UnFlow).
    charbonnier_alpha: Charbonnier exponent (default 0.45, UnFlow).
    occlusion: "none" (default) | "fb" (needs ``flow_bw``), static.
    flow_bw: backward flow (``x2`` -> ``x1``), shape of ``flow``;
      used only for the occlusion mask (no gradient flows through the mask).
    fb_alpha1, fb_alpha2: forward-backward tolerances (defaults 0.01, 0.5).
    return_components: with ``penalty="ssim_l1"``, also return the unweighted
      parts ``{"ssim": (1 - SSIM)/2, "l1": |d|}`` (masked and reduced like the
      total, so the total is ``w * ssim + (1 - w) * l1``), static; default
      False. The other penalties are single terms: asking for their parts
      raises.
    weights: optional per-pixel weights, broadcastable to ``(..., H, W)``.
    where: optional boolean mask broadcastable to ``(..., H, W)`` of pixels
      excluded from *both* frames and the flow (e.g. padding of variable-size
      frames): they are replaced by 0 in all three inputs first (samples
      landing on them read 0, as zero padding) and leave the mean's count.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(..., H, W)`` (per pixel, channels averaged)
    for "none". "mean" divides by all unmasked pixels, including those zeroed
    by the border/occlusion mask (UnFlow's normalisation). With
    ``return_components=True`` the pair ``(total, {"ssim", "l1"})``.

  Raises:
    LossInputError: shape mismatch, ``flow`` not ``(..., H, W, 2)``,
      ``occlusion="fb"`` without ``flow_bw``, "ssim_l1" on frames under 2x2,
      ``return_components=True`` with a penalty other than "ssim_l1".

  Notes:
    UnFlow's ``photometric_loss`` is ``penalty="charbonnier", occlusion="fb"``
    on frames scaled to [0, 255] (UnFlow multiplies [0, 1] differences by
    255); its code uses the unwarped backward flow in the occlusion
    tolerance, this follows the paper. "ssim_l1" is Monodepth2's
    ``compute_reprojection_loss`` (Monodepth2 warps with border padding and no
    mask; here zero padding with the validity mask). The survey's "Motion
    Consistency Loss".

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> ramp = jnp.arange(8.).reshape(1, 1, 8, 1) / 8
    >>> frame1, frame2 = ramp[:, :, 1:], ramp[:, :, :-1]    # content moves 1 px right
    >>> right = jnp.zeros((1, 1, 7, 2)).at[..., 0].set(1.)
    >>> print(jaxloss.photometric_loss(frame1, frame2, right),
    ...       jaxloss.photometric_loss(frame1, frame2, 0 * right))
    0.0 0.125
  """
  if return_components and penalty != "ssim_l1":
    raise LossInputError(f"return_components=True needs penalty='ssim_l1' (the only penalty "
                         f"with parts), got penalty={penalty!r}")
  a, b, f = frame_pair("x1", x1, "x2", x2, flow, where)
  warped, valid = warp_unchecked(b, f)
  if penalty == "ssim_l1":
    h, w = a.shape[-3], a.shape[-2]
    if min(h, w) < 2:
      raise LossInputError(f"x1 has shape {shape_of(a)}; penalty='ssim_l1' needs "
                           "H, W >= 2")
    ssim_d = jnp.mean(_ssim_dissimilarity(a, warped, jnp.asarray(data_range, a.dtype)), -1)
    l1 = jnp.mean(jnp.abs(a - warped), -1)
    per_pixel = ssim_weight * ssim_d + l1_weight * l1
  else:
    per_pixel = jnp.mean(penalty_fn(a - warped, penalty, charbonnier_eps, charbonnier_alpha),
                         axis=-1)
  mask = valid
  if occlusion == "fb":
    if flow_bw is None:
      raise LossInputError("occlusion='fb' needs flow_bw (the backward flow), got None")
    check_flow("flow_bw", flow_bw, shape_of(x1)[:-1], image_name="x1")
    fbw = nx.mask_fill(jnp.asarray(flow_bw).astype(f.dtype), where, trailing=1)
    mask = mask & fb_consistency_unchecked(f, fbw, fb_alpha1, fb_alpha2)
  zero = jnp.zeros((), per_pixel.dtype)
  per_pixel = jnp.where(mask, per_pixel, zero)
  out = reduce_loss(per_pixel, reduction, where=where, weights=weights)
  if not return_components:
    return out
  return out, {name: reduce_loss(jnp.where(mask, part, zero), reduction, where=where,
                                 weights=weights)
               for name, part in (("ssim", ssim_d), ("l1", l1))}


@register(tasks=("optical flow", "depth estimation", "video"),
          input_kind="values", peer="Monodepth2 get_smooth_loss; ARFlow smooth_grad_1st/2nd",
          references=(MONODEPTH, MONODEPTH2, UNFLOW))
@loss_function(static=("order", "penalty"),
               ranges={**_CHARB_RANGES, "edge_weight": ">= 0"},
               choices={"order": (1, 2), "penalty": PENALTIES})
def flow_smoothness_loss(flow, *, image=None, order=1, edge_weight=1.0, penalty="l1",
                         charbonnier_eps=1e-3, charbonnier_alpha=0.45, weights=None,
                         where=None, reduction="mean"):
  r"""Edge-aware first- or second-order smoothness of a flow (or depth) field.

  .. math::
    \ell = \operatorname{mean}_{p,c}\, \rho(\partial_x^k f_c(p))\, e^{-\lambda |\partial_x I(p)|}
         + \operatorname{mean}_{p,c}\, \rho(\partial_y^k f_c(p))\, e^{-\lambda |\partial_y I(p)|}

  ``k = order``: forward differences ``f[x+1] - f[x]`` (1) or
  ``f[x-1] - 2 f[x] + f[x+1]`` (2); :math:`|\partial I|` is the channel mean of
  the image's absolute forward difference (for order 2 the one leaving the
  centre pixel, ARFlow's choice), ``lambda = edge_weight``. Without an image
  the weights are 1 (UnFlow's plain smoothness).

  Args:
    flow: floating ``(..., H, W, C)`` field (``C = 2`` for flow, 1 for depth
      or disparity).
    image: optional guide image ``(..., H, W, Ci)``, keyword-only (positional
      in Monodepth2's ``get_smooth_loss(disp, img)``).
    order: 1 (default) | 2, static.
    edge_weight: ``lambda`` (default 1.0, Monodepth; UFlow uses 150).
    penalty: "l1" (default) | "l2" | "charbonnier", static.
    charbonnier_eps, charbonnier_alpha: as in :func:`photometric_loss`.
    weights: optional per-field weights, broadcastable to ``(...)``.
    where: optional boolean mask over fields, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(...)`` (one value per field) for "none".

  Raises:
    LossInputError: rank < 3, ``image`` spatial shape differs from ``flow``'s,
      H or W below ``order + 1``.

  Notes:
    Monodepth2's ``get_smooth_loss(disp, img)`` is ``order=1, edge_weight=1,
    penalty="l1"`` on ``(B, H, W, 1)`` (mean of the x and y terms summed).
    ARFlow's ``smooth_grad_1st/2nd`` average the two terms instead (half of
    this). UnFlow's smoothness is ``penalty="charbonnier"`` without an image
    (it sums u and v channels where this averages them).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> ramp = jnp.stack(jnp.meshgrid(jnp.arange(4.), jnp.arange(4.)), -1)[None]
    >>> print(jaxloss.flow_smoothness_loss(ramp), jaxloss.flow_smoothness_loss(ramp, order=2))
    1.0 0.0
  """
  check_floating("flow", flow)
  check_min_rank("flow", flow, 3, "(..., H, W, C) field")
  h, w = flow.shape[-3], flow.shape[-2]
  if min(h, w) < order + 1:
    raise LossInputError(f"flow has shape {shape_of(flow)}; order={order} needs H, W >= "
                         f"{order + 1}")
  dtype = nx.compute_dtype(flow, image)
  f = nx.mask_fill(flow.astype(dtype), where, trailing=3)
  if order == 1:
    dx = f[..., :, 1:, :] - f[..., :, :-1, :]
    dy = f[..., 1:, :, :] - f[..., :-1, :, :]
  else:
    dx = f[..., :, :-2, :] - 2.0 * f[..., :, 1:-1, :] + f[..., :, 2:, :]
    dy = f[..., :-2, :, :] - 2.0 * f[..., 1:-1, :, :] + f[..., 2:, :, :]
  px = penalty_fn(dx, penalty, charbonnier_eps, charbonnier_alpha)
  py = penalty_fn(dy, penalty, charbonnier_eps, charbonnier_alpha)
  if image is not None:
    check_floating("image", image)
    if shape_of(image)[:-1] != shape_of(flow)[:-1]:
      raise LossInputError(f"image has shape {shape_of(image)}; expected {shape_of(flow)[:-1]}"
                           " + (channels,) (flow's (..., H, W))")
    im = nx.mask_fill(jnp.asarray(image).astype(dtype), where, trailing=3)
    gx = jnp.mean(jnp.abs(im[..., :, 1:, :] - im[..., :, :-1, :]), -1, keepdims=True)
    gy = jnp.mean(jnp.abs(im[..., 1:, :, :] - im[..., :-1, :, :]), -1, keepdims=True)
    if order == 2:
      gx, gy = gx[..., :, 1:, :], gy[..., 1:, :, :]
    px = px * jnp.exp(-edge_weight * gx)
    py = py * jnp.exp(-edge_weight * gy)
  values = jnp.mean(px, axis=(-3, -2, -1)) + jnp.mean(py, axis=(-3, -2, -1))
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("video", "motion detection", "video segmentation",
                                 "video generation"),
          input_kind="values",
          peer="Lai et al. 2018 short-term temporal loss (flow-warped, occlusion-masked)",
          references=("Lai et al., Learning Blind Video Temporal Consistency, ECCV 2018",
                      "Ruder, Dosovitskiy & Brox, Artistic Style Transfer for Videos, GCPR 2016",
                      SURVEY))
@loss_function(static=("penalty",), ranges=_CHARB_RANGES, choices={"penalty": PENALTIES})
def temporal_consistency_loss(x1, x2, flow, *, visible=None, penalty="l1",
                              charbonnier_eps=1e-3, charbonnier_alpha=0.45, weights=None,
                              where=None, reduction="mean"):
  r"""Consistency of per-frame predictions across a frame pair after flow warping.

  .. math::
    \ell(p) = v(p)\, \frac1C \sum_c \rho\big(P_t(p)_c - P_{t+1}(p + f(p))_c\big)

  The motion-consistency loss: the prediction ``P_{t+1} = x2`` at ``t + 1`` (a
  mask, a segmentation, a stylised frame) warped into frame ``t`` by the flow
  should equal the prediction ``P_t = x1`` at ``t``. ``v(p)`` is the warp's validity mask (0 where
  the sample point leaves the image, still counted in "mean"). Pass the
  non-occluded pixels as ``visible`` (e.g.
  ``jaxloss.fb_consistency_mask(flow, flow_bw)``): occluded pixels leave the
  loss and the mean's count, as Lai et al.'s visibility mask does.

  Args:
    x1: floating predictions at time t, ``(..., H, W, C)``.
    x2: predictions at time t+1, same shape.
    flow: flow from frame t to t+1, ``(..., H, W, 2)`` in pixels (x first).
      Pass ``jax.lax.stop_gradient(flow)`` to train only the predictions.
    visible: optional boolean mask in frame t's grid, broadcastable to
      ``(..., H, W)``: False (occluded) pixels are left out of the loss and
      of the count; unlike ``where`` it leaves the inputs untouched.
    penalty: "l1" (default; Lai et al.) | "l2" | "charbonnier", static.
    charbonnier_eps, charbonnier_alpha: as in :func:`photometric_loss`.
    weights: optional per-pixel weights, broadcastable to ``(..., H, W)``.
    where: optional boolean mask broadcastable to ``(..., H, W)`` of pixels
      excluded from *both* frames and the flow (e.g. padding of variable-size
      frames): they are zeroed in all three inputs first (samples landing on
      them read 0, as zero padding) and leave the count.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(..., H, W)`` for "none".

  Raises:
    LossInputError: shape mismatch, ``flow`` not ``(..., H, W, 2)``, or
      ``visible`` not broadcastable to ``(..., H, W)``.

  Notes:
    Lai et al.'s short-term loss is ``sum M |O_t - warp(O_{t-1})|``, a mean
    over the visible pixels. The survey's "Motion Consistency Loss" (motion
    detection with optical flow).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> m = jnp.zeros((1, 4, 4, 1)).at[:, 1, 1].set(1.)
    >>> m1 = jnp.roll(m, 1, axis=2)                    # the object moved 1 px right
    >>> right = jnp.zeros((1, 4, 4, 2)).at[..., 0].set(1.)
    >>> print(jaxloss.temporal_consistency_loss(m, m1, right),
    ...       jaxloss.temporal_consistency_loss(m, m1, 0 * right))
    0.0 0.125
  """
  p, q, f = frame_pair("x1", x1, "x2", x2, flow, where)
  warped, valid = warp_unchecked(q, f)
  per_pixel = jnp.mean(penalty_fn(p - warped, penalty, charbonnier_eps, charbonnier_alpha), -1)
  per_pixel = jnp.where(valid, per_pixel, jnp.zeros((), per_pixel.dtype))
  keep = where
  if visible is not None:
    check_broadcastable("visible", visible, per_pixel.shape, "unreduced loss")
    visible = jnp.asarray(visible, bool)
    keep = visible if where is None else jnp.logical_and(jnp.asarray(where, bool), visible)
  return reduce_loss(per_pixel, reduction, where=keep, weights=weights)
