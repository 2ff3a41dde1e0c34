"""Shared input handling and numerics of the alignment losses (not public)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.experimental import checkify

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossTypeError,
    check_broadcastable,
    check_floating,
    check_same_shape,
    reduce_loss,
    shape_of,
)

PREFERENCE_TASKS = ("preference optimization", "LLM alignment", "RLHF")
POLICY_TASKS = ("reinforcement learning", "RLHF", "RL from verifiable rewards", "LLM alignment")

# The TRL release whose formulas the losses were checked against (huggingface/trl tag v1.9.0).
TRL = "trl 1.9.0"

# ``exp`` is continued linearly above this exponent (value and slope continuous there), so an
# importance ratio or a k3 KL term stays finite for log-ratios up to ~1e30 in float32. TRL
# computes ``torch.exp`` unguarded (inf from a log-ratio of ~89 in float32); below the cap the
# two agree exactly.
EXP_CAP = 50.0


def capped_exp(x, cap=EXP_CAP):
  """``exp(x)`` for ``x <= cap``; ``exp(cap) * (1 + x - cap)`` above (finite value and slope)."""
  cap = jnp.asarray(cap, x.dtype)
  return jnp.exp(jnp.minimum(x, cap)) * (1 + jnp.maximum(x - cap, 0))


def log_sigmoid(x):
  return nx.log_sigmoid(x)


def log1mexp(x):
  """``log(1 - exp(x))`` for ``x < 0``, stable on both sides of ``-log 2`` (Maechler 2012).

  The argument of the untaken branch is replaced by a safe point (double where), so neither
  branch sends an inf/NaN into the gradient.
  """
  t = -0.6931471805599453
  small = x < t
  a = jnp.where(small, x, -1.0)
  b = jnp.where(small, -1.0, x)
  return jnp.where(small, jnp.log1p(-jnp.exp(a)), jnp.log(-jnp.expm1(b)))


def sequence_inputs(names, arrays, where):
  """Validates per-sequence arrays of one shape; casts; fills the excluded entries with 0.

  The first array must be floating, every other one of the first's shape. Filling the
  *inputs* of excluded pairs (not only their losses) keeps a NaN there out of the value
  and of every gradient.
  """
  check_floating(names[0], arrays[0])
  for n, a in zip(names[1:], arrays[1:], strict=True):
    check_same_shape(names[0], arrays[0], n, a)
  check_where(where, shape_of(arrays[0]))
  dtype = nx.compute_dtype(*arrays)
  return tuple(nx.mask_fill(jnp.asarray(a).astype(dtype), where) for a in arrays)


def check_where(where, shape, target="unreduced loss"):
  if where is None:
    return
  dtype = where.dtype if hasattr(where, "dtype") else jnp.asarray(where).dtype
  if dtype != jnp.bool_:
    raise LossTypeError(f"where must be a boolean mask, got dtype {dtype}")
  check_broadcastable("where", where, shape, target)


def lengths(name, x, shape, dtype, where):
  """Token counts broadcast to ``shape``, clamped at 1 (TRL's ``.clamp(min=1)``); 1 where masked."""
  if x is None:
    return None
  check_broadcastable(name, x, shape, "per-sequence")
  x = jnp.broadcast_to(jnp.asarray(x).astype(dtype), shape)
  return jnp.maximum(nx.mask_fill(x, where, 1.0), 1.0)


def per_token(x, n):
  """``x / n`` when ``n`` (token counts) is given, else ``x`` (the caller passed means)."""
  return x if n is None else x / n


def reward_metrics(chosen_rewards, rejected_rewards, reduction, where):
  """TRL's logged reward metrics, without gradient, reduced like the loss."""
  cr = jax.lax.stop_gradient(chosen_rewards)
  rr = jax.lax.stop_gradient(rejected_rewards)
  return {
      "chosen_rewards": reduce_loss(cr, reduction, where=where),
      "rejected_rewards": reduce_loss(rr, reduction, where=where),
      "reward_accuracy": reduce_loss((cr > rr).astype(cr.dtype), reduction, where=where),
      "reward_margin": reduce_loss(cr - rr, reduction, where=where),
  }


def debug_check(cond, message):
  """A value check: free normally, raised under ``checkify`` (see ``jaxloss._api``)."""
  checkify.debug_check(cond, message)
