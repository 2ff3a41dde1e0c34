"""Image fidelity losses: structural (SSIM, MS-SSIM), PSNR, perceptual (LPIPS), smoothness,
spectral, inpainting, and piq's weight-free full-reference quality measures (GMSD, MS-GMSD,
MDSI, HaarPSI, VIF, FSIM), in :mod:`jaxloss.image.iqa`.

Conventions of this module:

* Images are floating arrays ``(..., H, W, C)`` (channels last, Flax's NHWC);
  every leading axis is a batch axis, so one image ``(H, W, C)`` works and
  ``jax.vmap`` over the batch equals the batched call. The unreduced loss
  (``reduction="none"``) has one value per image, shape ``(...)``.
* ``data_range`` (the value range of the images: 1.0 for [0, 1], 255.0 for
  8-bit) is a *required* keyword of every loss that needs it: pytorch-msssim's
  silent default of 255 on [0, 1] images gives SSIM ~0.9998 for anything.
* ``where`` (boolean, shape ``(...)``) excludes whole images; ``weights``
  scales them. bfloat16/float16 images are computed in float32.

Why not build on dm-pix. dm-pix's ``ssim`` filters with ``jnp.convolve``
vmapped over rows, has no "same" padding, no contrast-structure output
(needed for MS-SSIM) and no reduction/``where``; the Gaussian filter here is
a separable 11-tap weighted sum of shifted slices that XLA fuses, applied to
the five moment maps stacked into one array (one pass instead of five), and
``benchmarks/bench_image.py`` times it against ``dm_pix.ssim``. Adding a
runtime dependency for a 20-line filter was not worth it; the tests compare
with dm-pix when it is installed.

The Charbonnier loss of image restoration is :func:`jaxloss.charbonnier_loss`
(regression family); it is not redefined here.
"""

from jaxloss.image.iqa import (
    MS_GMSD_WEIGHTS,
    fsim_loss,
    gmsd_loss,
    haarpsi_loss,
    mdsi_loss,
    ms_gmsd_loss,
    vif_loss,
)
from jaxloss.image.lpips import lpips_loss, lpips_params, random_lpips_params
from jaxloss.image.pixel import (
    focal_frequency_loss,
    gradient_loss,
    masked_reconstruction_loss,
    psnr,
    psnr_loss,
    total_variation_loss,
)
from jaxloss.image.structural import (
    MS_SSIM_WEIGHTS,
    l1_ssim_loss,
    ms_ssim,
    ms_ssim_loss,
    ssim,
    ssim_loss,
)

__all__ = [
    "focal_frequency_loss",
    "fsim_loss",
    "gmsd_loss",
    "gradient_loss",
    "haarpsi_loss",
    "l1_ssim_loss",
    "lpips_loss",
    "lpips_params",
    "masked_reconstruction_loss",
    "mdsi_loss",
    "ms_gmsd_loss",
    "MS_GMSD_WEIGHTS",
    "ms_ssim",
    "ms_ssim_loss",
    "MS_SSIM_WEIGHTS",
    "psnr",
    "psnr_loss",
    "random_lpips_params",
    "ssim",
    "ssim_loss",
    "total_variation_loss",
    "vif_loss",
]
