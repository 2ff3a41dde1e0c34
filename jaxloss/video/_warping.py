"""Bilinear backward warping and forward-backward occlusion, written in JAX.

Conventions (those of RAFT, PWC-Net, UnFlow and torchvision's optical-flow
models, moved to channels-last):

* images are ``(..., H, W, C)``; flows are ``(..., H, W, 2)`` in *pixels*,
  ``flow[..., 0]`` the x (width, column) displacement and ``flow[..., 1]`` the
  y (height, row) displacement;
* ``warp(image, flow)[p] = image(p + flow[p])`` (backward warping): with the
  flow from frame 1 to frame 2, ``warp(frame2, flow)`` is frame 2 brought into
  frame 1's pixel grid.
* Pixel centres sit at integer coordinates ``0 .. W-1`` and ``0 .. H-1``;
  outside the image the image is zero (zero padding), so the result equals
  ``torch.nn.functional.grid_sample(..., mode="bilinear", padding_mode="zeros",
  align_corners=True)`` at the normalised coordinates ``2 x / (W - 1) - 1``.
  The validity mask is True where the sample point lies inside
  ``[0, W-1] x [0, H-1]`` (UnFlow's "outgoing" mask), i.e. where no zero
  padding entered the result.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import LossInputError, check_floating, check_min_rank, shape_of

__all__ = ["fb_consistency_mask", "warp"]


def check_flow(name, flow, spatial, *, image_name="image"):
  """``flow`` must be floating ``(..., H, W, 2)`` with ``spatial == (..., H, W)``."""
  check_floating(name, flow)
  if shape_of(flow) != tuple(spatial) + (2,):
    raise LossInputError(
        f"{name} has shape {shape_of(flow)}; expected {tuple(spatial) + (2,)} "
        f"(the {image_name}'s (..., H, W) and 2 displacement channels (dx, dy))")


def _bilinear(image, flow):
  """Batched bilinear sampling; ``image (B, H, W, C)``, ``flow (B, H, W, 2)``."""
  b, h, w, c = image.shape
  dtype = image.dtype
  gx = jnp.arange(w, dtype=dtype)[None, None, :]
  gy = jnp.arange(h, dtype=dtype)[None, :, None]
  # Clamping to one pixel beyond the zero-padded ring changes no value (every
  # corner there is outside, so the sample is 0 with gradient 0 either way)
  # and keeps floor/int conversion exact for flows of 1e4 px or even inf.
  x = jnp.clip(gx + flow[..., 0], -2.0, w + 1.0)
  y = jnp.clip(gy + flow[..., 1], -2.0, h + 1.0)
  x0 = jax.lax.stop_gradient(jnp.floor(x))
  y0 = jax.lax.stop_gradient(jnp.floor(y))
  fx, fy = x - x0, y - y0  # in [0, 1); the gradient flows through these
  # The four corners, gathered in one take: (B, 4, H, W).
  cx = jnp.stack([x0, x0 + 1, x0, x0 + 1], axis=1)
  cy = jnp.stack([y0, y0, y0 + 1, y0 + 1], axis=1)
  wgt = jnp.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], axis=1)
  inside = (cx >= 0) & (cx <= w - 1) & (cy >= 0) & (cy <= h - 1)
  xc = jnp.clip(cx, 0, w - 1).astype(jnp.int32)
  yc = jnp.clip(cy, 0, h - 1).astype(jnp.int32)
  idx = (yc * w + xc).reshape(b, 4 * h * w, 1)
  v = jnp.take_along_axis(image.reshape(b, h * w, c), idx, axis=1).reshape(b, 4, h, w, c)
  wgt = jnp.where(inside, wgt, jnp.zeros((), dtype))
  out = jnp.sum(wgt[..., None] * v, axis=1)
  valid = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
  return out, valid


def warp_unchecked(image, flow):
  """:func:`warp` without validation, for arrays already in the compute dtype."""
  lead = image.shape[:-3]
  h, w, c = image.shape[-3:]
  out, valid = _bilinear(image.reshape((-1, h, w, c)), flow.reshape((-1, h, w, 2)))
  return out.reshape(lead + (h, w, c)), valid.reshape(lead + (h, w))


_warp_jit = jax.jit(warp_unchecked)


def warp(image, flow):
  r"""Bilinearly samples ``image`` at ``p + flow[p]`` (backward warping).

  .. math::
    \tilde I(p) = \sum_{q \in \{\lfloor p + f(p) \rfloor + \{0,1\}^2\}}
      (1 - |q_x - p_x - f_x(p)|)(1 - |q_y - p_y - f_y(p)|)\, I(q),
    \quad I(q) = 0 \text{ outside the image}

  Differentiable in ``image`` and ``flow``; the gradient w.r.t. the flow is
  the bilinear one (at exact integer sample points, the one-sided difference
  towards ``+x`` / ``+y``). Values and gradients stay finite for flows that
  point far outside the image (both are 0 there). Not a loss: it is not in
  the catalog.

  Args:
    image: floating ``(..., H, W, C)`` (channels last).
    flow: ``(..., H, W, 2)`` in pixels, ``flow[..., 0]`` the x (width)
      displacement and ``flow[..., 1]`` the y (height) displacement.

  Returns:
    ``(warped, valid)``: ``warped`` of ``image``'s shape (float32 for
    low-precision input) and the boolean ``valid`` mask ``(..., H, W)``, True
    where the sample point lies inside the image (no zero padding used).

  Raises:
    LossInputError: ``image`` rank < 3 or ``flow`` not ``image.shape[:-1] + (2,)``.

  References:
    Jaderberg et al., Spatial Transformer Networks, NeurIPS 2015. Equals
    ``torch.nn.functional.grid_sample(mode="bilinear", padding_mode="zeros",
    align_corners=True)`` on the normalised grid, as RAFT's / PWC-Net's
    ``bilinear_sampler`` use it; the mask is UnFlow's ``create_outgoing_mask``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> img = jnp.arange(4.).reshape(1, 1, 4, 1)
    >>> out, valid = jaxloss.warp(img, jnp.full((1, 1, 4, 2), 0.5) * jnp.array([1., 0.]))
    >>> print(out[..., 0], valid)
    [[[0.5 1.5 2.5 1.5]]] [[[ True  True  True False]]]
  """
  try:
    check_floating("image", image)
    check_min_rank("image", image, 3, "(..., H, W, C) images")
    check_flow("flow", flow, shape_of(image)[:-1])
  except LossInputError as e:
    raise LossInputError(f"warp: {e}") from None
  dtype = nx.compute_dtype(image, flow)
  return _warp_jit(jnp.asarray(image, dtype), jnp.asarray(flow, dtype))


def fb_consistency_unchecked(flow_fw, flow_bw, alpha1, alpha2):
  bw_warped, _ = warp_unchecked(flow_bw, flow_fw)
  diff = flow_fw + bw_warped
  sq = lambda v: jnp.sum(v * v, axis=-1)  # noqa: E731
  visible = sq(diff) < alpha1 * (sq(flow_fw) + sq(bw_warped)) + alpha2
  return jax.lax.stop_gradient(visible)


_fb_jit = jax.jit(fb_consistency_unchecked)


def fb_consistency_mask(flow_fw, flow_bw, *, alpha1=0.01, alpha2=0.5):
  r"""Forward-backward consistency: True where a pixel is *not* occluded.

  .. math::
    |f(p) + b(p + f(p))|^2 < \alpha_1 \left(|f(p)|^2 + |b(p + f(p))|^2\right) + \alpha_2

  with ``b(p + f(p))`` the backward flow warped by the forward flow. A boolean
  mask (no gradient), ready for ``where=`` of :func:`temporal_consistency_loss`
  or any per-pixel loss. Pixels whose forward flow leaves the image see a
  zero-padded (partly zero) backward flow there, so they usually come out
  occluded; combine with :func:`warp`'s ``valid`` mask to treat them apart.

  Args:
    flow_fw: forward flow (frame 1 -> 2), floating ``(..., H, W, 2)``.
    flow_bw: backward flow (frame 2 -> 1), same shape.
    alpha1: relative tolerance (default 0.01, UnFlow).
    alpha2: absolute tolerance in squared pixels (default 0.5, UnFlow).

  Returns:
    Boolean ``(..., H, W)``.

  Raises:
    LossInputError: shapes are not ``(..., H, W, 2)`` or differ.

  References:
    Meister, Hur & Roth, UnFlow, AAAI 2018, Eq. (2) (after Sundaram et al.
    2010). UnFlow's released code puts the *unwarped* ``|b(p)|^2`` in the
    tolerance; this follows the paper (the warped one).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> f = jnp.ones((1, 3, 3, 2))
    >>> print(jaxloss.fb_consistency_mask(f, -f)[0, 0])  # last column: f leaves the image
    [ True  True False]
  """
  try:
    check_floating("flow_fw", flow_fw)
    check_min_rank("flow_fw", flow_fw, 3, "(..., H, W, 2) flow")
    check_flow("flow_fw", flow_fw, shape_of(flow_fw)[:-1], image_name="flow")
    check_flow("flow_bw", flow_bw, shape_of(flow_fw)[:-1], image_name="forward flow")
  except LossInputError as e:
    raise LossInputError(f"fb_consistency_mask: {e}") from None
  dtype = nx.compute_dtype(flow_fw, flow_bw)
  return _fb_jit(jnp.asarray(flow_fw, dtype), jnp.asarray(flow_bw, dtype),
                                jnp.asarray(alpha1, dtype), jnp.asarray(alpha2, dtype))
