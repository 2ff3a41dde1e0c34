"""An embedding network for metric learning."""

import jax
import jax.numpy as jnp
from flax import nnx


class EmbeddingNet(nnx.Module):
  """MLP trunk and a linear projection to ``dim``, L2-normalised (unit-sphere
  embeddings, as FaceNet/SupCon use). With ``num_classes`` it also holds one
  learnable proxy per class (``self.proxies``, ``(num_classes, dim)``) for
  proxy/classifier-style losses (ArcFace, CosFace, Proxy-Anchor).
  """

  def __init__(self, din: int, dim: int = 32, hidden: int = 128, num_classes: int | None = None,
               *, rngs: nnx.Rngs):
    self.l1 = nnx.Linear(din, hidden, rngs=rngs)
    self.l2 = nnx.Linear(hidden, hidden, rngs=rngs)
    self.proj = nnx.Linear(hidden, dim, rngs=rngs)
    self.proxies = (nnx.Param(jax.random.normal(rngs.params(), (num_classes, dim)) / dim ** 0.5)
                    if num_classes else None)

  def __call__(self, x):
    x = nnx.relu(self.l1(x))
    x = nnx.relu(self.l2(x))
    z = self.proj(x)
    return z / jnp.sqrt(jnp.sum(z * z, axis=-1, keepdims=True) + 1e-12)
