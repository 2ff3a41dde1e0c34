"""Motion, video and attention losses.

The family is a package; every public name is re-exported here:

* :mod:`~jaxloss.video.flow` -- unsupervised optical flow: ``photometric_loss``
  (L1 / Charbonnier / SSIM+L1 brightness constancy after bilinear warping,
  forward-backward occlusion), ``flow_smoothness_loss`` (first/second order,
  edge-aware) and ``temporal_consistency_loss`` (the survey's motion
  consistency loss);
* :mod:`~jaxloss.video.refinement` -- RAFT's ``sequence_loss`` over iterative
  refinements, for any per-step loss;
* :mod:`~jaxloss.video.attention` -- ``attention_target_loss`` and
  ``rank_preservation_loss`` on attention maps (the survey lists them under
  ViT image classification; see that module for why they live here);
* helpers that are not losses (not in the catalog): :func:`warp` (bilinear
  backward warping, zero padding, with a validity mask) and
  :func:`fb_consistency_mask`.

Flow convention (RAFT, PWC-Net, UnFlow, torchvision): ``(..., H, W, 2)`` in
pixels, ``flow[..., 0]`` the x (width) displacement, ``flow[..., 1]`` the y
(height) one; the flow goes from the first frame to the second and the second
frame is warped backwards onto the first.

The survey's multi-task motion loss (motion + background modelling) is not a
separate loss: build it with :func:`jaxloss.combine` (see tests/test_video.py).
"""

from jaxloss.video._warping import fb_consistency_mask, warp
from jaxloss.video.attention import attention_target_loss, rank_preservation_loss
from jaxloss.video.flow import flow_smoothness_loss, photometric_loss, temporal_consistency_loss
from jaxloss.video.refinement import sequence_loss

__all__ = [
    "attention_target_loss",
    "fb_consistency_mask",
    "flow_smoothness_loss",
    "photometric_loss",
    "rank_preservation_loss",
    "sequence_loss",
    "temporal_consistency_loss",
    "warp",
]
