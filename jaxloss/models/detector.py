"""A single-box regressor (the localisation head of a detector)."""

import jax.numpy as jnp
from flax import nnx


class BoxRegressor(nnx.Module):
  """Strided convs then a linear head predicting one ``xyxy`` box in ``[0, 1]``
  image coordinates per image. The head outputs centre and size through a
  sigmoid, so every predicted box is valid (``x2 > x1``, ``y2 > y1``) — box
  losses then never see degenerate inputs from the model.
  """

  def __init__(self, in_channels: int, width: int = 16, image_size: int = 32, *,
               rngs: nnx.Rngs):
    self.c1 = nnx.Conv(in_channels, width, kernel_size=(3, 3), strides=(2, 2), rngs=rngs)
    self.c2 = nnx.Conv(width, 2 * width, kernel_size=(3, 3), strides=(2, 2), rngs=rngs)
    self.c3 = nnx.Conv(2 * width, 2 * width, kernel_size=(3, 3), strides=(2, 2), rngs=rngs)
    n = (image_size // 8) ** 2 * 2 * width
    self.fc = nnx.Linear(n, 64, rngs=rngs)
    self.head = nnx.Linear(64, 4, rngs=rngs)

  def __call__(self, x):
    for c in (self.c1, self.c2, self.c3):
      x = nnx.relu(c(x))
    x = nnx.relu(self.fc(x.reshape(x.shape[0], -1)))
    out = nnx.sigmoid(self.head(x))
    centre, size = out[:, :2], out[:, 2:]
    return jnp.concatenate([centre - size / 2, centre + size / 2], axis=-1)
