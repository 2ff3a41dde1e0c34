"""Alignment losses: preference optimisation (DPO and variants, KTO, ORPO, SimPO, CPO) and
policy gradients for RL from (verifiable) rewards (PPO/GRPO/DAPO/Dr. GRPO/GSPO).

Conventions of this family:

* Preference losses take per-sequence log-probabilities (summed over the completion's
  tokens unless a docstring says per-token means) named as TRL names them,
  ``(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps,
  reference_rejected_logps)``, each ``(B,)``; ``reduction="none"`` gives ``(B,)``, ``where``
  masks pairs. They are elementwise over pairs, so a data-parallel (sharded) batch needs
  nothing special.
* Policy-gradient losses take per-token ``(B, T)`` log-probabilities, advantages and a
  boolean completion ``mask``; ``loss_type`` chooses TRL's normalisation.
* Reference and old-policy inputs are constants (``jax.lax.stop_gradient``).
* ``return_components=True`` returns ``(loss, parts)`` with the parts and the metrics TRL
  logs (rewards, reward accuracy and margin, KL, clip fraction).
* bfloat16/float16 inputs are computed in float32 and return float32.

A fused DPO that takes the policy's hidden states and LM-head weight (no ``(B, T, V)``
logits) is :func:`jaxloss.linear_dpo_loss` in :mod:`jaxloss.scalable`.

Modules: ``preference`` (:func:`dpo_loss`, :func:`kto_loss`, :func:`orpo_loss`,
:func:`simpo_loss`, :func:`cpo_loss`) and ``policy`` (:func:`clipped_policy_loss`,
:func:`kl_penalty`, :func:`value_loss` and the helper :func:`grpo_advantages`, which is not a
loss and not in the catalog).
"""

from jaxloss.alignment.policy import clipped_policy_loss, grpo_advantages, kl_penalty, value_loss
from jaxloss.alignment.preference import cpo_loss, dpo_loss, kto_loss, orpo_loss, simpo_loss

__all__ = [
    "clipped_policy_loss",
    "cpo_loss",
    "dpo_loss",
    "grpo_advantages",
    "kl_penalty",
    "kto_loss",
    "orpo_loss",
    "simpo_loss",
    "value_loss",
]
