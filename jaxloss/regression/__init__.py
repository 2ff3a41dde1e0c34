"""Regression losses: pointwise errors and direction (cosine) losses between predictions and targets.

* :mod:`.pointwise` -- MSE, MAE, Huber, smooth L1, log-cosh, quantile, Charbonnier, MSLE;
* :mod:`.cosine` -- the cosine-similarity loss.
"""

from jaxloss.regression.cosine import cosine_similarity_loss
from jaxloss.regression.pointwise import (
    charbonnier_loss,
    euclidean_loss,
    huber_loss,
    l1_loss,
    l2_loss,
    log_cosh_loss,
    mae,
    mse,
    msle,
    quantile_loss,
    smooth_l1_loss,
)

__all__ = [
    "charbonnier_loss",
    "cosine_similarity_loss",
    "euclidean_loss",
    "huber_loss",
    "l1_loss",
    "l2_loss",
    "log_cosh_loss",
    "mae",
    "mse",
    "msle",
    "quantile_loss",
    "smooth_l1_loss",
]
