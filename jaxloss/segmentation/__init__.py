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
border weights :func:`unet_weight_map` for the ``weight_map=`` of the
pixel-wise and compound losses).
"""

from jaxloss.segmentation import boundary as _boundary
from jaxloss.segmentation import compound as _compound
from jaxloss.segmentation import distance as _distance
from jaxloss.segmentation import lovasz as _lovasz
from jaxloss.segmentation import overlap as _overlap
from jaxloss.segmentation.boundary import *  # noqa: F403
from jaxloss.segmentation.compound import *  # noqa: F403
from jaxloss.segmentation.distance import *  # noqa: F403
from jaxloss.segmentation.lovasz import *  # noqa: F403
from jaxloss.segmentation.overlap import *  # noqa: F403

__all__ = sorted(_overlap.__all__ + _lovasz.__all__ + _boundary.__all__ + _distance.__all__
                 + _compound.__all__)
