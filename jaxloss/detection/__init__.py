"""Detection losses: box regression, the IoU family and Gaussian (rotated-box) losses.

Conventions of this module:

* Box losses take ``(predictions (..., 4), targets (..., 4))`` xyxy boxes
  whose leading shapes broadcast (rotated-box losses: ``(..., 5)`` boxes
  ``(cx, cy, w, h, angle)``; ``smooth_l1_box_loss``: encoded deltas of the
  same shape); ``reduction="none"`` returns one value per box pair, shape
  ``(...)``. ``where`` and ``weights`` broadcast to that shape. Masked pairs
  are replaced by a unit box before any arithmetic, so a NaN there reaches
  neither the value nor the gradient.
* Every division and square root is a safe (double-where) one: identical,
  disjoint, far-apart, nested, zero-width, zero-height and point boxes give
  finite values and gradients. Identical boxes of positive area give 0.
* Boxes must satisfy ``x1 <= x2`` and ``y1 <= y2``. The check needs data
  values, so it runs only under ``chex.chexify`` (or ``checkify``); on the fast
  path an inverted box is not corrected: its width/height enter the formulas
  with their sign, as in torchvision, and the result is finite but meaningless.
* Reductions default to ``"mean"`` (our convention). torchvision's box losses
  default to ``reduction="none"``; pass it explicitly for the same output.
* bfloat16/float16 boxes (e.g. pixel coordinates up to 4096) are computed in
  float32 and return float32.

The survey (Elharrouss et al. 2025, "Object Detection", "Object Tracking")
lists Smooth L1, IoU/GIoU/DIoU/CIoU and Gaussian Wasserstein for localisation;
the quality-aware classification losses of dense detectors (varifocal, quality and
distribution focal, Gaussian focal heatmaps), balanced L1, Seesaw (long-tailed
classification, its class-count state passed in) and GHM-C/GHM-R (gradient-density
weights, their moving-average state passed in and out) follow mmdetection 3.x; Wing and
Adaptive Wing (landmarks and heatmaps) follow mmpose 1.x; the tracking losses are in
:mod:`jaxloss.tracking`.
"""

from jaxloss.detection import boxes  # noqa: F401  (jaxloss.detection.boxes: box utilities)
from jaxloss.detection.deltas import smooth_l1_box_loss
from jaxloss.detection.gaussian import gaussian_wasserstein_loss, kld_loss
from jaxloss.detection.ghm import ghm_c_loss, ghm_r_loss
from jaxloss.detection.iou import (
    alpha_iou_loss,
    ciou_loss,
    diou_loss,
    eiou_loss,
    giou_loss,
    iou_loss,
    siou_loss,
)
from jaxloss.detection.landmarks import adaptive_wing_loss, wing_loss
from jaxloss.detection.longtail import seesaw_loss, update_class_counts
from jaxloss.detection.quality import (
    balanced_l1_loss,
    distribution_focal_loss,
    gaussian_focal_loss,
    quality_focal_loss,
    varifocal_loss,
)

__all__ = [
    "adaptive_wing_loss",
    "alpha_iou_loss",
    "balanced_l1_loss",
    "ciou_loss",
    "diou_loss",
    "distribution_focal_loss",
    "eiou_loss",
    "gaussian_focal_loss",
    "gaussian_wasserstein_loss",
    "ghm_c_loss",
    "ghm_r_loss",
    "giou_loss",
    "iou_loss",
    "kld_loss",
    "quality_focal_loss",
    "seesaw_loss",
    "siou_loss",
    "smooth_l1_box_loss",
    "update_class_counts",
    "varifocal_loss",
    "wing_loss",
]
