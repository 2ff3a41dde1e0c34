"""Distillation and auxiliary losses of large models.

Conventions (STYLE.md): a student's and a teacher's logits of the same shape
``(..., V)`` with the classes/vocabulary last; one loss value per token/example
(``logits.shape[:-1]``) with ``where`` token masks and per-token ``weights``;
``reduction="mean"`` averages over the unmasked tokens (torch's ``"batchmean"``
for 2-D logits). Sub-modules:

* :mod:`.logits` -- ``distillation_loss`` (Hinton KD with the :math:`T^2`
  factor), ``generalized_jsd_loss`` (GKD, TRL's convention),
  ``dkd_loss`` (decoupled KD, mdistiller's), ``logit_standardized_kd``
  (KD on z-scored logits);
* :mod:`.moe` -- mixture-of-experts router auxiliaries: ``router_z_loss``
  (ST-MoE) and ``load_balancing_loss`` (Switch / Mixtral).

The PaLM/t5x output z-loss is the ``z_loss=`` option of
:func:`jaxloss.cross_entropy`. Fused versions that take the LM heads' hidden
states and weights and never materialise the ``(N, V)`` logits are in
:mod:`jaxloss.scalable`: ``linear_distillation_loss`` and
``linear_generalized_jsd_loss``.
"""

from jaxloss.distillation.logits import (
    distillation_loss,
    dkd_loss,
    generalized_jsd_loss,
    logit_standardized_kd,
)
from jaxloss.distillation.moe import load_balancing_loss, router_z_loss

__all__ = [
    "distillation_loss",
    "dkd_loss",
    "generalized_jsd_loss",
    "load_balancing_loss",
    "logit_standardized_kd",
    "router_z_loss",
]
