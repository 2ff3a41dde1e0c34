"""Meta-learned loss hyperparameters: a validation loss differentiated through training steps.

The survey's "adaptive loss functions" direction (Elharrouss et al. 2025): the
loss's own parameters (e.g. ``alpha``/``scale`` of
:func:`jaxloss.general_robust_loss`, a focal ``gamma``) are learned by the
gradient of a validation loss through unrolled inner optimisation steps.
"""

from __future__ import annotations

import jax
import numpy as np
import optax

__all__ = ['meta_gradient', 'meta_learn_loss_params']


def _unrolled_validation(train_loss, val_loss, inner_optimizer, inner_steps):
  def run(loss_params, params, train_batch, val_batch):
    def body(carry, _):
      p, state = carry
      grads = jax.grad(train_loss)(p, loss_params, train_batch)
      updates, state = inner_optimizer.update(grads, state, p)
      return (optax.apply_updates(p, updates), state), None

    (p, _), _ = jax.lax.scan(body, (params, inner_optimizer.init(params)), None,
                             length=inner_steps)
    return val_loss(p, val_batch)

  return run


def meta_gradient(train_loss, val_loss, params, loss_params, train_batch, val_batch, *,
                  inner_optimizer, inner_steps):
  r"""Validation loss after ``k`` unrolled inner steps, and its gradient in the loss's hyperparameters.

  .. math::
    \theta_k(\phi) = \mathrm{opt}^k\big(\theta_0;\ \nabla_\theta L_{train}(\theta, \phi)\big),
    \qquad g = \nabla_\phi L_{val}(\theta_k(\phi))

  Differentiates through ``inner_steps`` optax updates (``lax.scan``), so the
  hypergradient accounts for how the hyperparameters ``phi`` (focal gamma,
  Huber delta, class weights, a pytree of them) shape the trained model.

  Args:
    train_loss: ``train_loss(params, loss_params, batch) -> scalar``.
    val_loss: ``val_loss(params, batch) -> scalar`` (no ``loss_params``).
    params: model parameters (a pytree) to start the inner loop from.
    loss_params: the continuous hyperparameters (a pytree of float arrays).
    train_batch, val_batch: pytrees of arrays.
    inner_optimizer: an ``optax.GradientTransformation``.
    inner_steps: static number of unrolled steps ``k``.

  Returns:
    ``(validation_loss, gradient w.r.t. loss_params)``.
  """
  run = _unrolled_validation(train_loss, val_loss, inner_optimizer, inner_steps)
  return jax.value_and_grad(run)(loss_params, params, train_batch, val_batch)


def meta_learn_loss_params(train_loss, val_loss, params, loss_params, train_batch, val_batch, *,
                           inner_optimizer, inner_steps, outer_optimizer, outer_steps,
                           project=None):
  """Tunes a loss's continuous hyperparameters by descending :func:`meta_gradient`.

  The survey's "loss that learns to adjust itself": each outer step unrolls
  ``inner_steps`` optax steps of ``train_loss`` from the same ``params``,
  measures ``val_loss``, and updates ``loss_params`` with ``outer_optimizer``.
  The outer step is jit-compiled once (the functions are closed over, so
  nothing retraces and no tracer leaks); ``project`` (e.g. ``lambda p:
  jnp.maximum(p, 1e-3)``) keeps hyperparameters in their valid range.

  Args:
    train_loss, val_loss, params, loss_params, train_batch, val_batch,
    inner_optimizer, inner_steps: as :func:`meta_gradient`.
    outer_optimizer: an ``optax.GradientTransformation`` for ``loss_params``.
    outer_steps: number of outer (hyper) steps.
    project: optional function applied to ``loss_params`` after each step.

  Returns:
    ``(loss_params, history)``: the tuned hyperparameters and the validation
    loss before each outer step (a NumPy array of length ``outer_steps``).

  References:
    Maclaurin, Duvenaud & Adams, Gradient-based Hyperparameter Optimization
    through Reversible Learning, ICML 2015; Bechtle et al., Meta Learning via
    Learned Loss, ICPR 2020.

  Examples:
    >>> import jax.numpy as jnp, optax, jaxloss
    >>> x = jnp.linspace(-1, 1, 16); y = 2 * x
    >>> train = lambda w, s, b: jnp.mean((w * b[0] - b[1]) ** 2) + s * w ** 2
    >>> val = lambda w, b: jnp.mean((w * b[0] - b[1]) ** 2)
    >>> s, hist = jaxloss.meta_learn_loss_params(
    ...     train, val, jnp.array(0.), jnp.array(1.), (x, y), (x, y),
    ...     inner_optimizer=optax.sgd(0.5), inner_steps=5,
    ...     outer_optimizer=optax.sgd(0.5), outer_steps=20,
    ...     project=lambda s: jnp.maximum(s, 0.0))
    >>> bool(s < 0.5 and hist[-1] < 0.5 * hist[0])  # the L2 penalty is tuned away
    True
  """
  run = _unrolled_validation(train_loss, val_loss, inner_optimizer, inner_steps)
  vg = jax.value_and_grad(run)

  @jax.jit
  def step(loss_params, state):
    value, grads = vg(loss_params, params, train_batch, val_batch)
    updates, state = outer_optimizer.update(grads, state, loss_params)
    new = optax.apply_updates(loss_params, updates)
    if project is not None:
      new = project(new)
    return new, state, value

  state = outer_optimizer.init(loss_params)
  history = []
  for _ in range(outer_steps):
    loss_params, state, value = step(loss_params, state)
    history.append(value)
  return loss_params, np.asarray(jax.device_get(history))

