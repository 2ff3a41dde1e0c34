"""Shared pieces of the video family: references, penalties, validation."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import check_floating, check_min_rank, check_same_shape, shape_of
from jaxloss.video._warping import check_flow

UNFLOW = ("Meister, Hur & Roth, UnFlow: Unsupervised Learning of Optical Flow with a "
          "Bidirectional Census Loss, AAAI 2018")
MONODEPTH2 = ("Godard, Mac Aodha, Firman & Brostow, Digging Into Self-Supervised Monocular "
              "Depth Estimation (Monodepth2), ICCV 2019")
MONODEPTH = ("Godard, Mac Aodha & Brostow, Unsupervised Monocular Depth Estimation with "
             "Left-Right Consistency, CVPR 2017")
RAFT = ("Teed & Deng, RAFT: Recurrent All-Pairs Field Transforms for Optical Flow, "
        "ECCV 2020")

PENALTIES = ("l1", "l2", "charbonnier")


def penalty_fn(d, penalty, eps, alpha):
  """Elementwise robust penalty of a difference ``d``.

  "charbonnier" is UnFlow's generalised Charbonnier ``(d^2 + eps^2)^alpha``;
  ``eps > 0`` keeps it (and its gradient) smooth at ``d = 0``.
  """
  if penalty == "l1":
    return jnp.abs(d)
  if penalty == "l2":
    return d * d
  return jnp.power(d * d + eps * eps, alpha)


def frame_pair(name_a, a, name_b, b, flow, where, *, flow_name="flow"):
  """Validates two frames ``(..., H, W, C)`` and a flow ``(..., H, W, 2)``.

  Returns them in the compute dtype with the pixels excluded by ``where``
  (broadcastable to ``(..., H, W)``) set to 0 *before* any arithmetic, so a
  NaN there reaches neither the value nor the gradient.
  """
  check_floating(name_a, a)
  check_min_rank(name_a, a, 3, "(..., H, W, C) frames")
  check_same_shape(name_a, a, name_b, b)
  check_flow(flow_name, flow, shape_of(a)[:-1], image_name=name_a)
  dtype = nx.compute_dtype(a, b, flow)
  fill = lambda x: nx.mask_fill(jnp.asarray(x).astype(dtype), where, trailing=1)  # noqa: E731
  return fill(a), fill(b), fill(flow)
