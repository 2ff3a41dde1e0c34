"""Tracking losses: Siamese score maps (SiamFC, DiMP) and Deep SORT association.

* :mod:`.siamese` -- ``cross_correlation_loss``, ``logistic_regression_loss``, ``siamfc_label_map``;
* :mod:`.association` -- ``mahalanobis_loss``.
"""

from jaxloss.tracking.association import mahalanobis_loss
from jaxloss.tracking.siamese import (
    cross_correlation_loss,
    logistic_regression_loss,
    siamfc_label_map,
)

__all__ = [
    "cross_correlation_loss",
    "logistic_regression_loss",
    "mahalanobis_loss",
    "siamfc_label_map",
]
