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

from jaxloss.classification.binary import (
    binary_cross_entropy,
    binary_cross_entropy_from_probs,
    log_loss,
    logistic_loss,
    sigmoid_focal_loss,
)
from jaxloss.classification.divergence import gini_impurity, js_divergence, kl_divergence
from jaxloss.classification.hierarchical import hierarchical_cross_entropy
from jaxloss.classification.margin import hinge_loss, multiclass_hinge_loss, squared_hinge_loss
from jaxloss.classification.robust import (
    bi_tempered_logistic_loss,
    generalized_cross_entropy,
    symmetric_cross_entropy,
)
from jaxloss.classification.softmax import (
    balanced_cross_entropy,
    cross_entropy,
    focal_loss,
    nll_loss,
    poly1_cross_entropy,
    weighted_cross_entropy,
    zero_one_loss,
)

__all__ = [
    "balanced_cross_entropy",
    "bi_tempered_logistic_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_from_probs",
    "cross_entropy",
    "focal_loss",
    "generalized_cross_entropy",
    "gini_impurity",
    "hierarchical_cross_entropy",
    "hinge_loss",
    "js_divergence",
    "kl_divergence",
    "log_loss",
    "logistic_loss",
    "multiclass_hinge_loss",
    "nll_loss",
    "poly1_cross_entropy",
    "sigmoid_focal_loss",
    "squared_hinge_loss",
    "symmetric_cross_entropy",
    "weighted_cross_entropy",
    "zero_one_loss",
]
