"""Self-supervised (non-contrastive and self-distillation) losses over views of the same data.

The family is a package; every public name is re-exported here:
:mod:`~jaxloss.self_supervised.redundancy` (VICReg, Barlow Twins),
:mod:`~jaxloss.self_supervised.bootstrap` (BYOL) and
:mod:`~jaxloss.self_supervised.distillation` (DINO, iBOT, SwAV, KoLeo and the
helpers ``update_center`` and ``sinkhorn_knopp``).
Contrastive two-view losses (InfoNCE, NT-Xent, CLIP) live in
:mod:`jaxloss.embedding`.
"""

from jaxloss.self_supervised.bootstrap import byol_loss
from jaxloss.self_supervised.distillation import (
    dino_loss,
    ibot_patch_loss,
    koleo_loss,
    sinkhorn_knopp,
    swav_loss,
    update_center,
)
from jaxloss.self_supervised.redundancy import barlow_twins_loss, vicreg_loss

__all__ = [
    "barlow_twins_loss",
    "byol_loss",
    "dino_loss",
    "ibot_patch_loss",
    "koleo_loss",
    "sinkhorn_knopp",
    "swav_loss",
    "update_center",
    "vicreg_loss",
]
