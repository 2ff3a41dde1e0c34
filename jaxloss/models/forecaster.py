"""A 1-D convolutional forecaster with a predictive scale."""

import jax.numpy as jnp
from flax import nnx


class Forecaster(nnx.Module):
  """Causal-ish 1-D convs over the past window, then a linear head giving, for
  each of the ``horizon`` future steps, a location and a positive scale
  (``softplus + 1e-3``). Point losses use the location; likelihoods and
  CRPS use both. Input ``(B, context)``, output ``(loc, scale)`` each ``(B, horizon)``.
  """

  def __init__(self, context: int, horizon: int, width: int = 16, *, rngs: nnx.Rngs):
    self.horizon = horizon
    self.c1 = nnx.Conv(1, width, kernel_size=(5,), rngs=rngs)
    self.c2 = nnx.Conv(width, width, kernel_size=(5,), strides=(2,), rngs=rngs)
    self.fc = nnx.Linear((context + 1) // 2 * width + context, 64, rngs=rngs)
    self.head = nnx.Linear(64, 2 * horizon, rngs=rngs)

  def __call__(self, x):
    h = nnx.relu(self.c1(x[..., None]))
    h = nnx.relu(self.c2(h))
    h = jnp.concatenate([h.reshape(x.shape[0], -1), x], axis=-1)
    out = self.head(nnx.relu(self.fc(h)))
    loc, raw = out[:, :self.horizon], out[:, self.horizon:]
    return loc, nnx.softplus(raw) + 1e-3
