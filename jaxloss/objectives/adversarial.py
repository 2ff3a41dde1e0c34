"""Adversarial perturbations and adversarial training objectives.

:func:`fgsm_perturbation`, :func:`pgd_perturbation`,
:func:`adversarial_training_loss` (Madry et al. 2018) and :func:`trades_loss`
(Zhang et al. 2019), built on a user-supplied model function (a closure over
parameters, so ``jax.grad`` with respect to the parameters works).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
)

__all__ = ['adversarial_training_loss', 'fgsm_perturbation', 'pgd_perturbation', 'trades_loss']


def _check_norm(fn, norm):
  if norm not in ("linf", "l2"):
    raise LossInputError(f"{fn}: norm must be 'linf' or 'l2', got {norm!r}")


def _per_example_norm(v):
  axes = tuple(range(1, v.ndim))
  return nx.safe_sqrt(jnp.sum(v * v, axis=axes, keepdims=True))


def _step(grad, norm):
  if norm == "linf":
    return jnp.sign(grad)
  return nx.safe_div(grad, _per_example_norm(grad))


def _project(delta, epsilon, norm):
  if norm == "linf":
    return jnp.clip(delta, -epsilon, epsilon)
  n = _per_example_norm(delta)
  return delta * jnp.minimum(1.0, nx.safe_div(epsilon, n, fallback=1.0))


def _clip(x, clip_range):
  lo, hi = clip_range
  if lo is not None or hi is not None:
    x = jnp.clip(x, lo, hi)
  return x


def fgsm_perturbation(loss_fn: Callable, x, *, epsilon, norm="linf", clip_range=(None, None)):
  r"""Fast gradient (sign) method: one ascent step on ``loss_fn`` of size ``epsilon``.

  .. math::
    x' = x + \epsilon\, \operatorname{sign}(\nabla_x L(x)) \ (L_\infty), \qquad
    x' = x + \epsilon\, \nabla_x L / \|\nabla_x L\|_2 \ (L_2,\ \text{per example})

  Args:
    loss_fn: ``loss_fn(x) -> scalar`` (close over the model and labels).
    x: ``[B, ...]`` inputs (axis 0 is the batch for the L2 norm).
    epsilon: step size / ball radius; may be traced.
    norm: "linf" (default, Goodfellow et al.) | "l2".
    clip_range: optional ``(min, max)`` valid input range (e.g. ``(0, 1)``).

  Returns:
    The perturbed inputs, with no gradient to ``x`` (``stop_gradient``).

  References:
    Goodfellow, Shlens & Szegedy, Explaining and Harnessing Adversarial
    Examples, ICLR 2015.
  """
  _check_norm("fgsm_perturbation", norm)
  x = jax.lax.stop_gradient(x)
  g = jax.grad(loss_fn)(x)
  return jax.lax.stop_gradient(_clip(x + epsilon * _step(g, norm), clip_range))


def pgd_perturbation(loss_fn: Callable, x, *, epsilon, step_size, steps, key=None,
                     norm="linf", random_start=True, clip_range=(None, None)):
  r"""Projected gradient descent (ascent) inside an Lp ball (Madry et al. 2018).

  .. math::
    x^{k+1} = \Pi_{B_\epsilon(x)}\big(x^k + \eta\, s(\nabla_x L(x^k))\big)

  ``steps`` iterations of :func:`fgsm_perturbation`-style steps of size
  ``step_size``, each projected back onto the ``epsilon`` ball around ``x``
  (and into ``clip_range``), run with ``lax.fori_loop`` (jit-able, one trace).

  Args:
    loss_fn: ``loss_fn(x) -> scalar``.
    x: ``[B, ...]`` inputs.
    epsilon: ball radius; step_size: ascent step; steps: static count.
    key: PRNG key for the random start (required if ``random_start``).
    norm: "linf" (default) | "l2".
    random_start: start from a uniform point in the ball (L-inf) or a random
      direction scaled into it (L2).
    clip_range: optional ``(min, max)`` valid input range.

  Returns:
    The adversarial inputs (no gradient to ``x``).

  Raises:
    LossInputError: unknown ``norm``; ``random_start`` without ``key``.

  References:
    Madry et al., Towards Deep Learning Models Resistant to Adversarial
    Attacks, ICLR 2018.
  """
  _check_norm("pgd_perturbation", norm)
  if random_start and key is None:
    raise LossInputError("pgd_perturbation: random_start=True needs a PRNG key")
  x = jax.lax.stop_gradient(x)
  delta = jnp.zeros_like(x)
  if random_start:
    if norm == "linf":
      delta = jax.random.uniform(key, x.shape, x.dtype, -1.0, 1.0) * epsilon
    else:
      d = jax.random.normal(key, x.shape, x.dtype)
      delta = _project(d * epsilon, epsilon, "l2") * jax.random.uniform(
          jax.random.fold_in(key, 1), (x.shape[0],) + (1,) * (x.ndim - 1), x.dtype)
  grad = jax.grad(loss_fn)

  def body(_, delta):
    g = grad(x + delta)
    delta = _project(delta + step_size * _step(g, norm), epsilon, norm)
    return _clip(x + delta, clip_range) - x

  delta = jax.lax.fori_loop(0, steps, body, _clip(x + delta, clip_range) - x)
  return jax.lax.stop_gradient(x + delta)


def _softmax_ce(logits, labels):
  logp = jax.nn.log_softmax(logits.astype(nx.compute_dtype(logits)), axis=-1)
  return -jnp.mean(nx.take_along_last(logp, labels))


def adversarial_training_loss(model_fn: Callable, x, labels, *, key, epsilon, step_size,
                              steps, norm="linf", loss_fn: Callable | None = None,
                              clip_range=(None, None)):
  r"""Madry et al.'s adversarial training objective: the loss at PGD examples.

  .. math::
    \min_\theta\ \mathbb E\Big[\max_{\|\delta\| \le \epsilon} L(f_\theta(x + \delta), y)\Big]

  The inner maximisation is :func:`pgd_perturbation` (no gradient flows
  through it, Danskin's theorem); the returned value is the loss at the
  adversarial inputs, differentiable w.r.t. whatever ``model_fn`` closes over.

  Args:
    model_fn: ``model_fn(x) -> logits``.
    x: ``[B, ...]`` inputs; labels: ``[B]`` integer labels.
    key: PRNG key for PGD's random start.
    epsilon, step_size, steps, norm, clip_range: as :func:`pgd_perturbation`.
    loss_fn: ``loss_fn(logits, labels) -> scalar`` (default: mean softmax
      cross-entropy).

  Returns:
    The scalar adversarial loss.

  References:
    Madry et al. 2018.
  """
  loss_fn = _softmax_ce if loss_fn is None else loss_fn
  x_adv = pgd_perturbation(lambda z: loss_fn(model_fn(z), labels), x, key=key, epsilon=epsilon,
                           step_size=step_size, steps=steps, norm=norm, clip_range=clip_range)
  return loss_fn(model_fn(x_adv), labels)


def trades_loss(model_fn: Callable, x, labels, *, key, beta=6.0, epsilon=0.031,
                step_size=0.007, steps=10, norm="linf", clip_range=(None, None)):
  r"""TRADES: natural cross-entropy plus a KL robustness regulariser (Zhang et al. 2019).

  .. math::
    L = \operatorname{CE}(f(x), y) + \beta\, \frac1B \sum_i
        \operatorname{KL}\big(p(x_i)\,\|\,p(x'_i)\big), \quad
    x' = \arg\max_{\|x' - x\| \le \epsilon} \operatorname{KL}(p(x)\,\|\,p(x'))

  ``x'`` is found by PGD on the KL starting from ``x + 0.001 N(0, 1)``, with
  the clean distribution held fixed, as in the paper's code; defaults are the
  paper's CIFAR-10 settings.

  Args:
    model_fn: ``model_fn(x) -> logits``.
    x: ``[B, ...]``; labels: ``[B]`` integer labels.
    key: PRNG key (the small random start).
    beta: trade-off (default 6.0); epsilon (0.031), step_size (0.007), steps
      (10), norm ("linf"), clip_range: the inner PGD.

  Returns:
    ``(total, {"natural": CE, "robust": KL term})``.

  References:
    Zhang et al., Theoretically Principled Trade-off between Robustness and
    Accuracy, ICML 2019 (Eq. 5 and Algorithm 1).
  """
  logits = model_fn(x)
  logp_clean = jax.nn.log_softmax(logits.astype(nx.compute_dtype(logits)), axis=-1)
  target = jax.lax.stop_gradient(logp_clean)

  def kl_to(z):
    lq = jax.nn.log_softmax(model_fn(z).astype(target.dtype), axis=-1)
    return jnp.sum(jnp.exp(target) * (target - lq)) / x.shape[0]

  start = jax.lax.stop_gradient(x) + 0.001 * jax.random.normal(key, x.shape, x.dtype)
  x_adv = pgd_perturbation(kl_to, start, epsilon=epsilon, step_size=step_size, steps=steps,
                           norm=norm, random_start=False, clip_range=clip_range)
  # Project the small random start too: the ball is around the clean x.
  x_adv = jax.lax.stop_gradient(x + _project(x_adv - x, epsilon, norm))
  natural = -jnp.mean(nx.take_along_last(logp_clean, labels))
  lq = jax.nn.log_softmax(model_fn(x_adv).astype(logp_clean.dtype), axis=-1)
  robust = jnp.sum(jnp.exp(logp_clean) * (logp_clean - lq)) / x.shape[0]
  return natural + beta * robust, {"natural": natural, "robust": robust}

