"""Curriculum helpers: self-paced example weights and threshold schedules.

Not losses: they turn per-example losses into weights (pass them as a loss's
``weights=``) following the survey's robust-learning direction.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
)

__all__ = ['curriculum_threshold', 'self_paced_weights']


def self_paced_weights(losses, *, threshold, mode="hard"):
  r"""Self-paced learning weights from per-example losses and a threshold.

  .. math::
    v_i = \mathbb 1[\ell_i < \lambda] \ (\text{hard}), \qquad
    v_i = \max(0, 1 - \ell_i / \lambda) \ (\text{linear})

  Easy examples (loss below the threshold ``lambda``) are trained on first;
  raise ``lambda`` over training with :func:`curriculum_threshold` so harder
  examples enter. The weights carry no gradient; use them as ``weights=`` of
  any loss.

  Args:
    losses: per-example losses, any shape.
    threshold: ``lambda > 0``, a scalar (may be traced, e.g. from a schedule).
    mode: "hard" (Kumar et al. 2010) | "linear" (Jiang et al. 2015).

  Returns:
    Weights of ``losses.shape`` in [0, 1].

  Raises:
    LossInputError: unknown ``mode``.

  References:
    Kumar, Packer & Koller, Self-Paced Learning for Latent Variable Models,
    NeurIPS 2010; Jiang et al., Self-Paced Curriculum Learning, AAAI 2015.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.self_paced_weights(jnp.array([0.1, 0.5, 2.0]), threshold=1.0,
    ...                                  mode="linear"))
    [0.9 0.5 0. ]
  """
  if mode not in ("hard", "linear"):
    raise LossInputError(f"self_paced_weights: mode must be 'hard' or 'linear', got {mode!r}")
  losses = jax.lax.stop_gradient(jnp.asarray(losses, nx.compute_dtype(losses)))
  lam = jax.lax.stop_gradient(jnp.asarray(threshold, losses.dtype))
  if mode == "hard":
    return (losses < lam).astype(losses.dtype)
  return jnp.clip(1.0 - nx.safe_div(losses, lam, fallback=jnp.inf), 0.0, 1.0)


def curriculum_threshold(step, *, initial, final, num_steps, schedule="linear"):
  """The self-paced threshold at ``step``: ``initial`` -> ``final`` over ``num_steps``.

  ``schedule`` is "linear" or "exponential" (geometric interpolation, both
  ends > 0); constant at ``final`` after ``num_steps``. Traced ``step`` is
  fine (use the optimizer's step counter).

  Examples:
    >>> import jaxloss
    >>> print(jaxloss.curriculum_threshold(5, initial=1.0, final=3.0, num_steps=10))
    2.0
  """
  if schedule not in ("linear", "exponential"):
    raise LossInputError(
        f"curriculum_threshold: schedule must be 'linear' or 'exponential', got {schedule!r}")
  frac = jnp.clip(jnp.asarray(step, jnp.float32) / max(num_steps, 1), 0.0, 1.0)
  if schedule == "linear":
    return initial + (final - initial) * frac
  if initial <= 0 or final <= 0:
    raise LossInputError("curriculum_threshold: exponential schedule needs initial, final > 0")
  return initial * (final / initial) ** frac

