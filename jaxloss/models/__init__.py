"""Tiny Flax NNX models for the workbench, one file per task.

Every model follows the Flax NNX 0.11+ idiom: ``__init__(..., *, rngs)`` builds
the layers eagerly, ``__call__`` is the forward pass, no ``.value`` anywhere.
They have no dropout or batch statistics, so a model is just its parameters and
trains the same on one device or data-parallel over a mesh. Defaults are sized
to train in seconds on a CPU; every width is an argument.

=====================  ==========================================  ===========================
task                   model                                       output
=====================  ==========================================  ===========================
tabular                :class:`MLP`                                ``(B, out)``
image classification   :class:`CNNClassifier`                      logits ``(B, C)``
segmentation           :class:`UNet`                               logits ``(B, H, W, C)``
detection              :class:`BoxRegressor`                       ``xyxy`` boxes ``(B, 4)``
dense detection        :class:`DenseDetector`                      per-cell logits and boxes
metric learning        :class:`EmbeddingNet`                       unit embeddings ``(B, D)``
forecasting            :class:`Forecaster`                         ``(loc, scale)`` ``(B, T)``
VAE                    :class:`VAE`                                ``(recon, mean, logvar)``
GAN                    :class:`Generator`, :class:`Discriminator`  images / logits ``(B,)``
diffusion              :class:`Denoiser`                           noise estimate, image shape
=====================  ==========================================  ===========================
"""

from jaxloss.models.cnn import CNNClassifier
from jaxloss.models.dcgan import GAN, Discriminator, Generator
from jaxloss.models.denoiser import Denoiser
from jaxloss.models.dense_detector import DenseDetector
from jaxloss.models.detector import BoxRegressor
from jaxloss.models.embedding import EmbeddingNet
from jaxloss.models.forecaster import Forecaster
from jaxloss.models.mlp import MLP
from jaxloss.models.unet import UNet
from jaxloss.models.vae import VAE

__all__ = ["MLP", "CNNClassifier", "UNet", "BoxRegressor", "DenseDetector", "EmbeddingNet",
           "Forecaster", "VAE",
           "Generator", "Discriminator", "GAN", "Denoiser"]
