"""A small U-Net for semantic segmentation."""

import jax.numpy as jnp
from flax import nnx


class _Block(nnx.Module):
  def __init__(self, cin, cout, *, rngs):
    self.a = nnx.Conv(cin, cout, kernel_size=(3, 3), rngs=rngs)
    self.b = nnx.Conv(cout, cout, kernel_size=(3, 3), rngs=rngs)

  def __call__(self, x):
    return nnx.relu(self.b(nnx.relu(self.a(x))))


class UNet(nnx.Module):
  """Two-level U-Net (Ronneberger et al., 2015): conv blocks, 2x max-pool down,
  transposed-conv up with skip connections, a 1x1 head. Channel-last images
  ``(B, H, W, C)`` with ``H, W`` divisible by 4 in, logits ``(B, H, W, classes)`` out.
  """

  def __init__(self, in_channels: int, num_classes: int, width: int = 16, *, rngs: nnx.Rngs):
    w = width
    self.e1 = _Block(in_channels, w, rngs=rngs)
    self.e2 = _Block(w, 2 * w, rngs=rngs)
    self.mid = _Block(2 * w, 4 * w, rngs=rngs)
    self.u2 = nnx.ConvTranspose(4 * w, 2 * w, kernel_size=(2, 2), strides=(2, 2), rngs=rngs)
    self.d2 = _Block(4 * w, 2 * w, rngs=rngs)
    self.u1 = nnx.ConvTranspose(2 * w, w, kernel_size=(2, 2), strides=(2, 2), rngs=rngs)
    self.d1 = _Block(2 * w, w, rngs=rngs)
    self.head = nnx.Conv(w, num_classes, kernel_size=(1, 1), rngs=rngs)

  def __call__(self, x):
    pool = lambda t: nnx.max_pool(t, window_shape=(2, 2), strides=(2, 2))
    s1 = self.e1(x)
    s2 = self.e2(pool(s1))
    m = self.mid(pool(s2))
    y = self.d2(jnp.concatenate([self.u2(m), s2], axis=-1))
    y = self.d1(jnp.concatenate([self.u1(y), s1], axis=-1))
    return self.head(y)
