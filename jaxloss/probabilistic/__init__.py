"""Probabilistic and time-series losses: likelihoods, proper scores, forecast errors, sequence alignment.

* :mod:`.nll` -- Gaussian, Laplace, Student-t, Poisson, negative-binomial, gamma and Beta NLLs;
* :mod:`.forecasting` -- CRPS, interval score, MAPE/sMAPE/MASE/WAPE, trend-aware loss;
* :mod:`.sequence` -- CTC, soft-DTW, soft-DTW divergence, DILATE.
"""

from jaxloss.probabilistic.forecasting import (
    crps_ensemble,
    crps_gaussian,
    interval_score,
    mape,
    mase,
    smape,
    trend_aware_loss,
    wape,
    winkler_score,
)
from jaxloss.probabilistic.nll import (
    beta_nll,
    gamma_nll,
    gaussian_nll,
    laplace_nll,
    negative_binomial_nll,
    poisson_nll,
    student_t_nll,
)
from jaxloss.probabilistic.sequence import ctc_loss, dilate_loss, soft_dtw, soft_dtw_divergence

__all__ = [
    "beta_nll",
    "crps_ensemble",
    "crps_gaussian",
    "ctc_loss",
    "dilate_loss",
    "gamma_nll",
    "gaussian_nll",
    "interval_score",
    "laplace_nll",
    "mape",
    "mase",
    "negative_binomial_nll",
    "poisson_nll",
    "smape",
    "soft_dtw",
    "soft_dtw_divergence",
    "student_t_nll",
    "trend_aware_loss",
    "wape",
    "winkler_score",
]
