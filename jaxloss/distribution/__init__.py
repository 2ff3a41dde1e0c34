"""Distances between distributions given by samples: MMD, energy, sliced Wasserstein, Sinkhorn.

Conventions: two sample sets ``x (..., N, D)`` and ``y (..., M, D)`` (N and M
may differ) with equal leading batch axes; each pair of sets gives one value,
so ``reduction="none"`` returns the batch shape ``x.shape[:-2]`` (a scalar for
unbatched ``(N, D)`` sets), ``where`` / ``weights`` act over the batch shape,
and per-*sample* weights are ``x_weights`` / ``y_weights`` where the distance
is defined for weighted measures. The energy score is the exception: an
ensemble ``(..., M, D)`` against one observation ``(..., D)``. Sub-modules:

* :mod:`.kernel` -- ``mmd_loss`` (MMD², unbiased/biased, multi-bandwidth
  RBF/IMQ/Laplacian), ``energy_distance`` (squared, = scipy's squared),
  ``energy_score`` (scoringrules' ensemble ES; the CRPS in 1-D);
* :mod:`.transport` -- ``sliced_wasserstein`` (POT's convention),
  ``sinkhorn_divergence`` (debiased, wraps ott-jax: ``pip install jaxloss[ot]``).
"""

from jaxloss.distribution.kernel import energy_distance, energy_score, mmd_loss
from jaxloss.distribution.transport import sinkhorn_divergence, sliced_wasserstein

__all__ = [
    "energy_distance",
    "energy_score",
    "mmd_loss",
    "sinkhorn_divergence",
    "sliced_wasserstein",
]
