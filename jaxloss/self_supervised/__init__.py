"""Self-supervised (non-contrastive and self-distillation) losses over views of the same data.

The family is a package; every public name is re-exported here:
:mod:`~jaxloss.self_supervised.redundancy` (VICReg, Barlow Twins),
:mod:`~jaxloss.self_supervised.bootstrap` (BYOL).
Contrastive two-view losses (InfoNCE, NT-Xent, CLIP) live in
:mod:`jaxloss.embedding`.
"""

from jaxloss.self_supervised.bootstrap import byol_loss
from jaxloss.self_supervised.redundancy import barlow_twins_loss, vicreg_loss

__all__ = [
    "barlow_twins_loss",
    "byol_loss",
    "vicreg_loss",
]
