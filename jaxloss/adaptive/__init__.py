"""Adaptive losses: Barron's general and adaptive robust loss.

* :mod:`.barron` -- ``general_robust_loss``, ``adaptive_robust_loss``, ``barron_log_partition``;
* :mod:`.module` -- ``AdaptiveRobustLoss``, a Flax NNX module (imported on first use; needs Flax).
"""

from jaxloss.adaptive.barron import adaptive_robust_loss, barron_log_partition, general_robust_loss


def __getattr__(name):
  # AdaptiveRobustLoss needs Flax; import it on first use so `import jaxloss` does not.
  if name == "AdaptiveRobustLoss":
    from jaxloss.adaptive.module import AdaptiveRobustLoss
    return AdaptiveRobustLoss
  raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "adaptive_robust_loss",
    "AdaptiveRobustLoss",
    "barron_log_partition",
    "general_robust_loss",
]
