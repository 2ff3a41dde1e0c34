"""Classification losses: softmax, binary/sigmoid, margin and divergence families.

Conventions (STYLE.md): logits in (``log_softmax``/``log_sigmoid`` inside, in
float32); classes on the last axis (``axis=`` where offered); labels dispatch
on dtype -- integer class ids of shape ``logits.shape[:-1]`` or floating
one-hot/soft targets of ``logits.shape``; ``reduction="mean"|"sum"|"none"``
with ``where`` masks and per-entry ``weights``; ``ignore_index`` maps onto
``where``. Sub-modules:

* :mod:`.softmax` -- ``cross_entropy`` (torch-exact incl. its weighted mean),
  ``nll_loss``, ``weighted_cross_entropy``, ``balanced_cross_entropy``,
  ``focal_loss``, ``poly1_cross_entropy``, ``zero_one_loss``;
* :mod:`.binary` -- ``binary_cross_entropy`` (logits),
  ``binary_cross_entropy_from_probs`` / ``log_loss``, ``sigmoid_focal_loss``,
  ``logistic_loss``;
* :mod:`.margin` -- ``hinge_loss``, ``squared_hinge_loss``,
  ``multiclass_hinge_loss``;
* :mod:`.divergence` -- ``kl_divergence``, ``js_divergence``, ``gini_impurity``.

The survey (Elharrouss et al. 2025) presents BCE, categorical CE, log loss and
Gini impurity under "Loss Functions for Tabular Data Prediction", and
(weighted, balanced) pixel-wise CE and focal loss under computer vision.
"""

from jaxloss.classification import binary, divergence, margin, softmax
from jaxloss.classification.binary import *  # noqa: F403
from jaxloss.classification.divergence import *  # noqa: F403
from jaxloss.classification.margin import *  # noqa: F403
from jaxloss.classification.softmax import *  # noqa: F403

__all__ = sorted(
    list(softmax.__all__) + list(binary.__all__) + list(margin.__all__)
    + list(divergence.__all__)
)
