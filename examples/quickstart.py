"""Train one tiny Flax NNX model with two jaxloss losses and print both results.

Data: scikit-learn's bundled diabetes data set (no download), with 10% of the
training targets corrupted by large outliers. The same MLP is trained with
``jaxloss.mse`` and with ``jaxloss.huber_loss``; the clean test MAE shows the
robust loss ignoring the outliers. Runs in seconds on a CPU.

    python examples/quickstart.py
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from sklearn.datasets import load_diabetes

import jaxloss


class MLP(nnx.Module):
  def __init__(self, din, hidden, *, rngs: nnx.Rngs):
    self.l1 = nnx.Linear(din, hidden, rngs=rngs)
    self.l2 = nnx.Linear(hidden, 1, rngs=rngs)

  def __call__(self, x):
    return self.l2(nnx.relu(self.l1(x)))[..., 0]


def load(seed=0):
  x, y = load_diabetes(return_X_y=True)
  rng = np.random.default_rng(seed)
  idx = rng.permutation(len(x))
  x = (x - x.mean(0)) / x.std(0)
  y = (y - y.mean()) / y.std()
  tr, te = idx[:350], idx[350:]
  y_tr = y[tr].copy()
  bad = rng.choice(len(tr), size=len(tr) // 10, replace=False)
  y_tr[bad] += rng.choice([-1, 1], size=len(bad)) * 8.0   # gross outliers
  f = lambda a: jnp.asarray(a, jnp.float32)
  return (f(x[tr]), f(y_tr)), (f(x[te]), f(y[te]))


def train(loss_fn, train_data, steps=200, seed=0):
  model = MLP(train_data[0].shape[1], 16, rngs=nnx.Rngs(seed))
  optimizer = nnx.Optimizer(model, optax.adamw(3e-3, weight_decay=1e-2), wrt=nnx.Param)

  @nnx.jit
  def step(model, optimizer, x, y):
    loss, grads = nnx.value_and_grad(lambda m: loss_fn(m(x), y))(model)
    optimizer.update(model, grads)
    return loss

  for _ in range(steps):
    loss = step(model, optimizer, *train_data)
  return model, float(loss)


def main():
  train_data, (x_te, y_te) = load()
  print(f"{'loss':<12} {'final train loss':>16} {'clean test MAE':>15}")
  for name, fn in [("mse", jaxloss.mse), ("huber_loss", jaxloss.huber_loss)]:
    model, final = train(fn, train_data)
    test_mae = float(jaxloss.mae(model(x_te), y_te))
    print(f"{name:<12} {final:>16.4f} {test_mae:>15.4f}")


if __name__ == "__main__":
  jax.config.update("jax_platforms", "cpu")
  main()
