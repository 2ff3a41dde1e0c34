"""DCGAN generator and discriminator (Radford et al., 2016), sized for 8x8 images."""

import jax
import jax.numpy as jnp
from flax import nnx


class Generator(nnx.Module):
  """Latent ``(B, latent)`` -> linear to ``2x2`` -> two stride-2 transposed convs
  -> ``(B, 8, 8, channels)`` in ``[-1, 1]`` (tanh).
  """

  def __init__(self, latent: int = 16, width: int = 32, channels: int = 1, *, rngs: nnx.Rngs):
    self.latent, self.width = latent, width
    self.fc = nnx.Linear(latent, 2 * 2 * 2 * width, rngs=rngs)
    self.t1 = nnx.ConvTranspose(2 * width, width, kernel_size=(3, 3), strides=(2, 2), rngs=rngs)
    self.t2 = nnx.ConvTranspose(width, width, kernel_size=(3, 3), strides=(2, 2), rngs=rngs)
    self.out = nnx.Conv(width, channels, kernel_size=(3, 3), rngs=rngs)

  def __call__(self, z):
    h = nnx.leaky_relu(self.fc(z), 0.2).reshape(z.shape[0], 2, 2, 2 * self.width)
    h = nnx.leaky_relu(self.t1(h), 0.2)
    h = nnx.leaky_relu(self.t2(h), 0.2)
    return jnp.tanh(self.out(h))


class Discriminator(nnx.Module):
  """Images ``(B, 8, 8, C)`` -> two stride-2 convs -> a real/fake logit ``(B,)``.
  """

  def __init__(self, width: int = 32, channels: int = 1, *, rngs: nnx.Rngs):
    self.c1 = nnx.Conv(channels, width, kernel_size=(3, 3), strides=(2, 2), rngs=rngs)
    self.c2 = nnx.Conv(width, 2 * width, kernel_size=(3, 3), strides=(2, 2), rngs=rngs)
    self.head = nnx.Linear(2 * 2 * 2 * width, 1, rngs=rngs)

  def __call__(self, x):
    h = nnx.leaky_relu(self.c1(x), 0.2)
    h = nnx.leaky_relu(self.c2(h), 0.2)
    return self.head(h.reshape(x.shape[0], -1))[:, 0]


class GAN(nnx.Module):
  """Both networks in one module (``.generator``, ``.discriminator``) so one
  ``nnx.Optimizer`` per player can select its parameters with
  ``wrt=nnx.All(nnx.Param, nnx.PathContains("generator"))``."""

  def __init__(self, latent: int = 16, width: int = 32, channels: int = 1, *, rngs: nnx.Rngs):
    self.latent = latent
    self.generator = Generator(latent, width, channels, rngs=rngs)
    self.discriminator = Discriminator(width, channels, rngs=rngs)

  def sample(self, key, n):
    return self.generator(jax.random.normal(key, (n, self.latent)))
