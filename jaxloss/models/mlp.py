"""A multilayer perceptron for tabular data."""

from collections.abc import Sequence

from flax import nnx


class MLP(nnx.Module):
  """``din -> hidden... -> dout`` with ReLU between layers.

  >>> import jax.numpy as jnp
  >>> MLP(3, 2, rngs=nnx.Rngs(0))(jnp.ones((5, 3))).shape
  (5, 2)
  """

  def __init__(self, din: int, dout: int, hidden: Sequence[int] = (64, 64), *, rngs: nnx.Rngs):
    sizes = (din, *hidden)
    self.hidden = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:], strict=True)])
    self.out = nnx.Linear(sizes[-1], dout, rngs=rngs)

  def __call__(self, x):
    for layer in self.hidden:
      x = nnx.relu(layer(x))
    return self.out(x)
