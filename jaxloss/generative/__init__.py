"""Generative family: adversarial, variational, diffusion, cycle and feature-space losses.

Sub-modules (each re-exported here and at ``jaxloss.<name>``):

* :mod:`jaxloss.generative.gan` — GAN generator/discriminator losses, WGAN-GP,
  R1/R2 penalties, feature matching;
* :mod:`jaxloss.generative.vae` — Gaussian KL, VAE negative ELBO;
* :mod:`jaxloss.generative.diffusion` — noise schedules, ``q_sample``,
  parametrisation conversion, the denoising loss with min-SNR weighting;
* :mod:`jaxloss.generative.flow` — flow matching (rectified, cosine, VP
  paths; SD3 timestep densities and weights) and the EDM loss;
* :mod:`jaxloss.generative.features` — cycle consistency, reconstruction,
  perceptual, style (Gram) and contextual losses over a user-supplied feature
  extractor;
* :mod:`jaxloss.generative.vgg` — a Flax NNX VGG-16 feature extractor and a
  loader for torchvision-layout weights (imported on demand; needs Flax).
"""

from jaxloss.generative.diffusion import (
    NoiseSchedule,
    convert_prediction,
    cosine_schedule,
    diffusion_loss,
    linear_schedule,
    loss_per_timestep,
    q_sample,
    sigmoid_schedule,
    snr,
)
from jaxloss.generative.features import (
    contextual_loss,
    cycle_consistency_loss,
    gram_matrix,
    perceptual_loss,
    reconstruction_loss,
    style_loss,
    text_image_matching_loss,
)
from jaxloss.generative.flow import (
    edm_loss,
    flow_matching_loss,
    flow_weighting,
    sample_edm_sigmas,
    sample_timesteps,
)
from jaxloss.generative.gan import (
    GAN_KINDS,
    feature_matching_loss,
    gan_discriminator_loss,
    gan_generator_loss,
    gradient_penalty,
    r1_penalty,
    r2_penalty,
)
from jaxloss.generative.vae import gaussian_kl, vae_loss

__all__ = [
    "sample_timesteps",
    "sample_edm_sigmas",
    "flow_weighting",
    "flow_matching_loss",
    "edm_loss",
    "contextual_loss",
    "convert_prediction",
    "cosine_schedule",
    "cycle_consistency_loss",
    "diffusion_loss",
    "feature_matching_loss",
    "gan_discriminator_loss",
    "gan_generator_loss",
    "GAN_KINDS",
    "gaussian_kl",
    "gradient_penalty",
    "gram_matrix",
    "linear_schedule",
    "loss_per_timestep",
    "NoiseSchedule",
    "perceptual_loss",
    "q_sample",
    "r1_penalty",
    "r2_penalty",
    "reconstruction_loss",
    "sigmoid_schedule",
    "snr",
    "style_loss",
    "text_image_matching_loss",
    "vae_loss",
]
