"""Generative family: adversarial, variational, diffusion, cycle and feature-space losses.

Sub-modules (each re-exported here and at ``jaxloss.<name>``):

* :mod:`jaxloss.generative.gan` — GAN generator/discriminator losses, WGAN-GP,
  R1/R2 penalties, feature matching;
* :mod:`jaxloss.generative.vae` — Gaussian KL, VAE negative ELBO;
* :mod:`jaxloss.generative.diffusion` — noise schedules, ``q_sample``,
  parametrisation conversion, the denoising loss with min-SNR weighting;
* :mod:`jaxloss.generative.features` — cycle consistency, reconstruction,
  perceptual, style (Gram) and contextual losses over a user-supplied feature
  extractor;
* :mod:`jaxloss.generative.vgg` — a Flax NNX VGG-16 feature extractor and a
  loader for torchvision-layout weights (imported on demand; needs Flax).
"""

from jaxloss.generative import diffusion as _diffusion
from jaxloss.generative import features as _features
from jaxloss.generative import gan as _gan
from jaxloss.generative import vae as _vae
from jaxloss.generative.diffusion import *  # noqa: F403
from jaxloss.generative.features import *  # noqa: F403
from jaxloss.generative.gan import *  # noqa: F403
from jaxloss.generative.vae import *  # noqa: F403

__all__ = sorted(list(_gan.__all__) + list(_vae.__all__) + list(_diffusion.__all__)
                 + list(_features.__all__))
