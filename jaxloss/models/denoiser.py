"""A small noise-prediction network for diffusion (DDPM, Ho et al., 2020)."""

import jax.numpy as jnp
from flax import nnx


def timestep_embedding(t, dim):
  """Sinusoidal embedding ``(B, dim)`` of timesteps ``t`` ``(B,)`` (any scale)."""
  half = dim // 2
  freqs = jnp.exp(-jnp.log(10000.0) * jnp.arange(half) / half)
  a = t.astype(jnp.float32)[:, None] * freqs[None]
  return jnp.concatenate([jnp.sin(a), jnp.cos(a)], axis=-1)


class Denoiser(nnx.Module):
  """Three 3x3 conv layers at full resolution with a timestep embedding added
  to the hidden features; predicts the noise ``eps`` (same shape as the image).
  ``__call__(x_t, t)`` with ``x_t`` ``(B, H, W, C)`` and integer ``t`` ``(B,)``.
  """

  def __init__(self, channels: int = 1, width: int = 32, time_dim: int = 32, *,
               rngs: nnx.Rngs):
    self.time_dim = time_dim
    self.t1 = nnx.Linear(time_dim, width, rngs=rngs)
    self.c1 = nnx.Conv(channels, width, kernel_size=(3, 3), rngs=rngs)
    self.c2 = nnx.Conv(width, width, kernel_size=(3, 3), rngs=rngs)
    self.c3 = nnx.Conv(width, width, kernel_size=(3, 3), rngs=rngs)
    self.out = nnx.Conv(width, channels, kernel_size=(3, 3), rngs=rngs)

  def __call__(self, x, t):
    emb = nnx.silu(self.t1(timestep_embedding(t, self.time_dim)))[:, None, None, :]
    h = nnx.silu(self.c1(x)) + emb
    h = nnx.silu(self.c2(h)) + emb
    h = nnx.silu(self.c3(h))
    return self.out(h)
