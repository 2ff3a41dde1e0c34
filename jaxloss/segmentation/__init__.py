"""Segmentation losses: region (overlap), Lovász, boundary and compound losses.

Conventions of this family:

* Inputs are channel-last: logits ``(B, *spatial, C)`` for 2-D images and 3-D
  volumes alike; labels are integer maps ``(B, *spatial)`` or one-hot/soft
  targets ``(B, *spatial, C)`` (dispatch on dtype). Binary segmentation uses
  ``C = 1`` with ``activation="sigmoid"`` (integer labels are then the 0/1
  foreground mask).
* ``activation`` ("softmax" | "sigmoid" | None) says what to apply to the
  first argument; None means it already holds probabilities.
* Region losses pool per image and class (MONAI's convention) and return the
  ``(B, C)`` per-image, per-class losses for ``reduction="none"``;
  ``batch=True`` pools over the batch too.
* bfloat16/float16 inputs are computed in float32 and return float32.

Sub-modules: ``overlap`` (Dice, Jaccard, Tversky and variants), ``compound``
(Dice + cross-entropy / focal, Combo), ``lovasz``,
``boundary`` (boundary, Hausdorff and boundary-aware losses) and ``distance``
(exact, jit-able distance transforms: :func:`signed_distance_map`, and U-Net's
border weights :func:`unet_weight_map` for the ``weights=`` of the
pixel-wise and compound losses).

Compound losses (:func:`dice_ce_loss`, :func:`dice_focal_loss`,
:func:`combo_loss`, :func:`boundary_aware_loss`) return the total; with
``return_components=True`` they return ``(total, {part: value})``.
"""

from jaxloss.segmentation.boundary import boundary_aware_loss, boundary_loss, hausdorff_dt_loss
from jaxloss.segmentation.compound import combo_loss, dice_ce_loss, dice_focal_loss
from jaxloss.segmentation.distance import signed_distance_map, unet_weight_map
from jaxloss.segmentation.lovasz import lovasz_hinge_loss, lovasz_softmax_loss
from jaxloss.segmentation.overlap import (
    dice_loss,
    focal_tversky_loss,
    generalized_dice_loss,
    jaccard_loss,
    log_cosh_dice_loss,
    tversky_loss,
)

__all__ = [
    "boundary_aware_loss",
    "boundary_loss",
    "combo_loss",
    "dice_ce_loss",
    "dice_focal_loss",
    "dice_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "hausdorff_dt_loss",
    "jaccard_loss",
    "log_cosh_dice_loss",
    "lovasz_hinge_loss",
    "lovasz_softmax_loss",
    "signed_distance_map",
    "tversky_loss",
    "unet_weight_map",
]
