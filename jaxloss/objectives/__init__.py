"""Helpers for building training objectives (not losses; not in the catalog).

* :mod:`.combine` -- ``combine``, ``uncertainty_weighting``, ``dynamic_weight_average``, ``gradnorm``, ``deep_supervision_loss``;
* :mod:`.curriculum` -- ``self_paced_weights``, ``curriculum_threshold``;
* :mod:`.adversarial` -- ``fgsm_perturbation``, ``pgd_perturbation``, ``adversarial_training_loss``, ``trades_loss``;
* :mod:`.meta` -- ``meta_gradient``, ``meta_learn_loss_params``.
"""

from jaxloss.objectives.adversarial import (
    adversarial_training_loss,
    fgsm_perturbation,
    pgd_perturbation,
    trades_loss,
)
from jaxloss.objectives.combine import (
    combine,
    deep_supervision_loss,
    dynamic_weight_average,
    gradnorm,
    uncertainty_weighting,
)
from jaxloss.objectives.curriculum import curriculum_threshold, self_paced_weights
from jaxloss.objectives.meta import meta_gradient, meta_learn_loss_params

__all__ = [
    "adversarial_training_loss",
    "combine",
    "curriculum_threshold",
    "deep_supervision_loss",
    "dynamic_weight_average",
    "fgsm_perturbation",
    "gradnorm",
    "meta_gradient",
    "meta_learn_loss_params",
    "pgd_perturbation",
    "self_paced_weights",
    "trades_loss",
    "uncertainty_weighting",
]
