"""A small variational autoencoder (Kingma & Welling, 2014)."""

import math

import jax
import jax.numpy as jnp
from flax import nnx


class VAE(nnx.Module):
  """MLP encoder to a diagonal Gaussian posterior, reparameterised sample,
  MLP decoder back to the image (values in ``[-1, 1]`` via ``tanh``).
  ``__call__(x, key) -> (recon, mean, logvar)``; ``decode(z)``; ``sample(key, n)``.
  """

  def __init__(self, image_shape=(8, 8, 1), latent: int = 8, hidden: int = 128, *,
               rngs: nnx.Rngs):
    self.image_shape = tuple(image_shape)
    self.latent = latent
    n = math.prod(image_shape)
    self.e1 = nnx.Linear(n, hidden, rngs=rngs)
    self.e2 = nnx.Linear(hidden, 2 * latent, rngs=rngs)
    self.d1 = nnx.Linear(latent, hidden, rngs=rngs)
    self.d2 = nnx.Linear(hidden, n, rngs=rngs)

  def encode(self, x):
    h = nnx.relu(self.e1(x.reshape(x.shape[0], -1)))
    out = self.e2(h)
    return out[:, :self.latent], out[:, self.latent:]

  def decode(self, z):
    return jnp.tanh(self.d2(nnx.relu(self.d1(z)))).reshape(-1, *self.image_shape)

  def __call__(self, x, key):
    mean, logvar = self.encode(x)
    z = mean + jnp.exp(0.5 * logvar) * jax.random.normal(key, mean.shape)
    return self.decode(z), mean, logvar

  def sample(self, key, n):
    return self.decode(jax.random.normal(key, (n, self.latent)))
