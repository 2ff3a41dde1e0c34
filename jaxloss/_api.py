"""The one mechanism that gives every loss its reduction, masking and jit.

Every public loss is written as a plain function over arrays and wrapped with
:func:`loss_function`, which

* validates static options (``reduction``, mode strings) and range-checks
  hyperparameters that are concrete Python numbers, *before* tracing, with a
  message that names the argument;
* casts bfloat16/float16 array inputs to float32 (the dtype policy: compute and
  accumulate in float32, return float32 for low-precision inputs);
* jit-compiles the function with its structural options static, so an eager
  call compiles once per shape and a second call does not retrace;
* prefixes the loss's name to the :class:`LossInputError` /
  :class:`LossTypeError` its trace-time checks raise.

Inside the function, :func:`reduce_loss` is the single implementation of
``reduction`` ("mean" | "sum" | "none"), ``where`` masks and per-entry
``weights``. The validators in this module read shapes and dtypes only
(trace-time); value checks (label ids in range, probabilities in [0, 1]) use
``checkify.debug_check``, which costs nothing normally and raises under
``chex.chexify`` / ``jax.experimental.checkify.checkify`` -- or on a plain call
once :func:`set_checks` (or the environment variable ``JAXLOSS_CHECKS=1``)
turns them on.
"""

from __future__ import annotations

import functools
import inspect
import numbers
import os
import re
from collections.abc import Callable, Sequence
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from jaxloss import _numerics as nx
from jaxloss._errors import LossInputError, LossTypeError

Reduction = Literal["mean", "sum", "none"]
REDUCTIONS = ("mean", "sum", "none")


__all__ = ["LossInputError", "LossTypeError"]  # re-exported from _errors


# --------------------------------------------------------------------------
# Trace-time validators (shapes, dtypes, options). They raise plain messages;
# the loss_function wrapper prefixes the loss's name.
# --------------------------------------------------------------------------


def shape_of(x) -> tuple[int, ...]:
  return tuple(np.shape(x))


def check_floating(name: str, x) -> None:
  dtype = jnp.asarray(x).dtype if not hasattr(x, "dtype") else x.dtype
  if not jnp.issubdtype(dtype, jnp.floating):
    raise LossTypeError(f"{name} must be a floating array, got dtype {dtype}")


def check_integer(name: str, x) -> None:
  dtype = jnp.asarray(x).dtype if not hasattr(x, "dtype") else x.dtype
  if not jnp.issubdtype(dtype, jnp.integer):
    raise LossTypeError(f"{name} must be an integer array, got dtype {dtype}")


def check_min_rank(name: str, x, rank: int, what: str = "") -> None:
  if np.ndim(x) < rank:
    extra = f" ({what})" if what else ""
    raise LossInputError(
        f"{name} must have rank >= {rank}{extra}, got shape {shape_of(x)}")


def check_rank(name: str, x, rank: int, what: str = "") -> None:
  if np.ndim(x) != rank:
    extra = f" ({what})" if what else ""
    raise LossInputError(
        f"{name} must have rank {rank}{extra}, got shape {shape_of(x)}")


def check_same_shape(name_a: str, a, name_b: str, b) -> None:
  if shape_of(a) != shape_of(b):
    raise LossInputError(
        f"{name_b} has shape {shape_of(b)} but {name_a} has shape "
        f"{shape_of(a)}; expected {name_b} of shape {shape_of(a)}")


def check_shape(name: str, x, expected: Sequence[int], what: str = "") -> None:
  if shape_of(x) != tuple(expected):
    extra = f" ({what})" if what else ""
    raise LossInputError(
        f"{name} has shape {shape_of(x)}; expected {tuple(expected)}{extra}")


def check_broadcastable(name: str, x, shape: Sequence[int], target: str) -> None:
  """``x`` must broadcast to ``shape`` *without enlarging it*."""
  shape = tuple(shape)
  try:
    out = np.broadcast_shapes(shape_of(x), shape)
  except ValueError:
    out = None
  if out != shape:
    raise LossInputError(
        f"{name} has shape {shape_of(x)}, which does not broadcast to the "
        f"{target} shape {shape}")


def check_mask(name: str, mask) -> None:
  """A mask (``where``) must be boolean: 0/1 floats are refused, not reinterpreted."""
  dtype = mask.dtype if hasattr(mask, "dtype") else np.asarray(mask).dtype
  if dtype != np.bool_:
    raise LossTypeError(
        f"{name} must be a boolean mask, got dtype {dtype}; pass e.g. {name}=mask > 0 "
        f"(a float mask of weights is `weights=`)")


def broadcast_mask(name: str, mask, shape: Sequence[int], target: str):
  """Validates a boolean ``mask`` against ``shape`` and broadcasts it (the one place)."""
  check_mask(name, mask)
  check_broadcastable(name, mask, shape, target)
  return jnp.broadcast_to(jnp.asarray(mask), tuple(shape))


def broadcast_where(where, shape: Sequence[int]):
  """``where`` validated and broadcast to the unreduced loss ``shape`` (or None)."""
  if where is None:
    return None
  return broadcast_mask("where", where, tuple(shape), "unreduced loss")


def check_option(name: str, value, allowed: Sequence) -> None:
  if value not in tuple(allowed):
    raise LossInputError(
        f"{name} must be one of {tuple(allowed)}, got {value!r}")


def class_labels(logits, labels, *, logits_name="logits", labels_name="labels") -> str:
  """Dispatches on the labels' *shape*: ``"int"`` class ids or ``"dense"`` targets.

  Labels of shape ``logits.shape[:-1]`` are class ids and must be integer;
  labels of ``logits.shape`` are one-hot or soft targets whatever their real
  dtype (a uint8 or bool one-hot, as MONAI accepts, is cast by the caller).
  The shape is static under jit, so the dispatch costs nothing; an error names
  the real reason (the dtype of id-shaped labels, or a shape that is neither).
  """
  ls, ys = shape_of(logits), shape_of(labels)
  dtype = labels.dtype if hasattr(labels, "dtype") else jnp.asarray(labels).dtype
  if ys == ls:
    if not (jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating)
            or dtype == jnp.bool_):
      raise LossTypeError(
          f"{labels_name} of {logits_name}'s shape {ls} are one-hot/soft targets and must be "
          f"real-valued, got dtype {dtype}")
    return "dense"
  if ys == ls[:-1]:
    if not jnp.issubdtype(dtype, jnp.integer):
      raise LossTypeError(
          f"{labels_name} has shape {ys}, one axis fewer than {logits_name} {ls}: class ids, "
          f"which must be integer, got dtype {dtype}; pass one-hot/soft {labels_name} of "
          f"shape {ls} instead")
    return "int"
  raise LossInputError(
      f"{labels_name} has shape {ys} but {logits_name} has shape {ls}; expected integer "
      f"{labels_name} of shape {ls[:-1]} or one-hot/soft {labels_name} of shape {ls}")


def paired_inputs(a, b, where=None, *, names=("predictions", "targets"), min_rank=0,
                  what="", trailing=0):
  """The one preamble of a loss over two same-shape floating arrays.

  Validates (``a`` floating, rank >= ``min_rank``, ``b`` of ``a``'s shape), casts
  both to the compute dtype and replaces the entries excluded by ``where``
  (broadcast over ``trailing`` extra axes) by 0 *before* any arithmetic, so a
  NaN there reaches neither the value nor the gradient.
  """
  check_floating(names[0], a)
  if min_rank:
    check_min_rank(names[0], a, min_rank, what)
  check_same_shape(names[0], a, names[1], b)
  dtype = nx.compute_dtype(a, b)
  return (nx.mask_fill(jnp.asarray(a).astype(dtype), where, trailing=trailing),
          nx.mask_fill(jnp.asarray(b).astype(dtype), where, trailing=trailing))


# --------------------------------------------------------------------------
# Value checks (data-dependent): no-ops unless run under checkify/chexify or
# with the global switch on.
# --------------------------------------------------------------------------

_CHECKS = os.environ.get("JAXLOSS_CHECKS", "").strip().lower() not in ("", "0", "false", "no", "off")


def set_checks(enabled: bool = True) -> bool:
  """Turns every loss's documented value checks into immediate errors.

  By default the data-dependent checks (class ids in range, probabilities in
  ``[0, 1]``, soft labels that sum to 1, boxes with ``x1 <= x2``, non-negative
  variances, ...) cost nothing and only fire under
  ``jax.experimental.checkify.checkify`` / ``chex.chexify``. With checks on,
  every loss call runs them: a plain (eager) call raises
  :class:`LossInputError` naming the loss and the check; inside a user's
  ``jax.jit`` / ``grad`` / ``vmap`` the failure is raised from the device as a
  ``JaxRuntimeError`` carrying the same message when the computation runs. A
  loss compiled while checks were off keeps no trace of them; the switch is
  read at each call. The environment variable ``JAXLOSS_CHECKS=1`` sets the
  initial state.

  Args:
    enabled: the new state.

  Returns:
    The previous state (so a test can restore it).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> previous = jaxloss.set_checks(True)
    >>> jaxloss.cross_entropy(jnp.zeros((2, 4)), jnp.array([1, 255]))
    Traceback (most recent call last):
      ...
    jaxloss._errors.LossInputError: cross_entropy: labels must be class ids in [0, 4) or ignore_index=-100
    >>> _ = jaxloss.set_checks(previous)
  """
  global _CHECKS
  previous, _CHECKS = _CHECKS, bool(enabled)
  return previous


def checks_enabled() -> bool:
  """Whether :func:`set_checks` has turned the value checks on."""
  return _CHECKS


def debug_check_labels(labels, num_classes: int, ignore_index=None) -> None:
  """Label ids in ``[0, num_classes)`` (or equal to ``ignore_index``)."""
  ok = (labels >= 0) & (labels < num_classes)
  if ignore_index is not None:
    ok = ok | (labels == ignore_index)
  checkify.debug_check(
      jnp.all(ok),
      f"labels must be class ids in [0, {num_classes})"
      + (f" or ignore_index={ignore_index}" if ignore_index is not None else ""))


def debug_check_probabilities(name: str, p) -> None:
  """Entries of ``p`` in ``[0, 1]``."""
  checkify.debug_check(jnp.all((p >= 0) & (p <= 1)),
                       f"{name} must hold probabilities in [0, 1]")


def debug_check_soft_labels(name: str, labels, where=None, atol: float = 1e-3) -> None:
  """Soft labels: entries >= 0 whose rows (last axis) sum to 1 within ``atol``.

  Rows excluded by ``where`` (shape ``labels.shape[:-1]``) are not checked.
  """
  ok = jnp.all(labels >= 0, axis=-1) & (jnp.abs(jnp.sum(labels, axis=-1) - 1) <= atol)
  if where is not None:
    ok = ok | ~where
  checkify.debug_check(
      jnp.all(ok),
      f"{name} of the logits' shape are soft labels (a distribution over classes): entries must be "
      f">= 0 and sum to 1 along the class axis; pass integer class ids of shape logits.shape[:-1] "
      f"for hard labels")


def debug_check_nonnegative(name: str, x) -> None:
  """Entries of ``x`` >= 0 (a variance, a scale, a count)."""
  checkify.debug_check(jnp.all(x >= 0), f"{name} must be >= 0")


def debug_check_in_set(name: str, x, values: Sequence[float]) -> None:
  ok = jnp.zeros(jnp.shape(x), bool)
  for v in values:
    ok = ok | (x == v)
  checkify.debug_check(jnp.all(ok), f"{name} must take values in {tuple(values)}")


# --------------------------------------------------------------------------
# Reduction.
# --------------------------------------------------------------------------


def reduce_loss(values, reduction: str = "mean", *, where=None, weights=None,
                normalizer=None):
  """Reduces unreduced loss ``values`` (the single implementation).

  Args:
    values: the unreduced loss, shape ``S``.
    reduction: "mean" | "sum" | "none".
    where: optional boolean mask broadcastable to ``S``; excluded entries
      contribute nothing to any reduction and are 0 in "none".
    weights: optional per-entry weights broadcastable to ``S``; the entries are
      scaled before reducing.
    normalizer: optional per-entry denominators broadcastable to ``S`` for
      "mean" (e.g. the class weight of each target, torch's weighted-mean rule).
      Default: 1 per unmasked entry, so "mean" is the sum over the number of
      unmasked entries.

  Returns:
    A float32 (float64 under x64) scalar for "mean"/"sum", shape ``S`` for
    "none". "mean" over zero unmasked entries is 0 with a zero gradient.
  """
  values = jnp.asarray(values)
  dtype = nx.compute_dtype(values)
  values = values.astype(dtype)
  shape = values.shape
  if weights is not None:
    check_broadcastable("weights", weights, shape, "unreduced loss")
    values = values * jnp.asarray(weights, dtype)
  if where is not None:
    mask = broadcast_mask("where", where, shape, "unreduced loss")
    # Select, not multiply: a NaN in an excluded entry must not survive.
    values = jnp.where(mask, values, jnp.zeros((), dtype))
  if reduction == "none":
    return values
  total = jnp.sum(values)
  if reduction == "sum":
    return total
  if normalizer is not None:
    check_broadcastable("normalizer", normalizer, shape, "unreduced loss")
    den = jnp.broadcast_to(jnp.asarray(normalizer, dtype), shape)
    if where is not None:
      den = jnp.where(mask, den, jnp.zeros((), dtype))
    count = jnp.sum(den)
  elif where is not None:
    count = jnp.sum(mask, dtype=dtype)
  else:
    return total / max(int(np.prod(shape)), 1)
  return nx.safe_div(total, count)


# --------------------------------------------------------------------------
# The decorator.
# --------------------------------------------------------------------------

_RANGE = re.compile(r"^\s*(>=|>|<=|<|!=)\s*(-?[\d.eE+-]+|inf)\s*$")
_INTERVAL = re.compile(r"^\s*([\[(])\s*(-?[\d.eE+-]+|-inf)\s*,\s*(-?[\d.eE+-]+|inf)\s*([\])])\s*$")


def _concrete_number(value):
  if isinstance(value, bool):
    return None
  if isinstance(value, numbers.Real):
    return float(value)
  if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0:
    return float(value)
  return None


def _range_check(spec: str) -> Callable[[float], bool]:
  """Parses a range spec (``">= 0"``, ``"[0, 1)"``) once, into a predicate."""
  m = _RANGE.match(spec)
  if m:
    op, bound = m.group(1), float(m.group(2))
    return {">=": lambda x: x >= bound, ">": lambda x: x > bound, "<=": lambda x: x <= bound,
            "<": lambda x: x < bound, "!=": lambda x: x != bound}[op]
  m = _INTERVAL.match(spec)
  if m:
    lo_br, lo, hi, hi_br = m.group(1), float(m.group(2)), float(m.group(3)), m.group(4)
    return lambda x: ((x >= lo) if lo_br == "[" else (x > lo)) and (
        (x <= hi) if hi_br == "]" else (x < hi))
  raise ValueError(f"bad range spec {spec!r}")


def loss_function(fn: Callable | None = None, *, static: Sequence[str] = (),
                  ranges: dict[str, str] | None = None,
                  choices: dict[str, Sequence] | None = None,
                  jit: bool = True, upcast: bool = True):
  """Wraps a loss with validation, the dtype policy and jit.

  Args:
    static: keyword names that are structural (strings, ints, tuples, bools,
      None-or-array switches are *not* static). ``reduction`` is always static.
    ranges: ``{"gamma": ">= 0", "label_smoothing": "[0, 1]"}`` checked when the
      value is a concrete Python/NumPy number.
    choices: ``{"activation": ("softmax", "sigmoid", None)}`` for static options.
    jit: compile with :func:`jax.jit` (default).
    upcast: cast bfloat16/float16 array arguments to float32 before the call
      (default). False hands them over unchanged: the loss then owns its dtype
      policy (e.g. a bfloat16 matmul accumulating in float32, with no float32
      copy of a large weight).
  """
  if fn is None:
    return functools.partial(loss_function, static=static, ranges=ranges,
                             choices=choices, jit=jit, upcast=upcast)
  sig = inspect.signature(fn)
  params = sig.parameters
  static_names = tuple(dict.fromkeys(
      [*static, *(["reduction"] if "reduction" in params else [])]))
  for n in static_names:
    if n not in params:
      raise TypeError(f"{fn.__name__}: static option {n!r} not in signature")
  choices = dict(choices or {})
  if "reduction" in params:
    choices.setdefault("reduction", REDUCTIONS)
  # Range specs are parsed here, once per loss, not on every call.
  range_checks = {k: (spec, _range_check(spec)) for k, spec in (ranges or {}).items()}
  for n in range_checks:
    if n not in params:
      raise TypeError(f"{fn.__name__}: ranged option {n!r} not in signature")
  name = fn.__name__
  # inline=True: inside a caller's jit/grad the loss is traced into the caller's
  # program instead of staying a nested call, so its forward and backward fuse
  # with the rest (a nested call made the backward read the forward's saved
  # intermediates from memory: huber_loss's value_and_grad was 1.2x optax's).
  # Eager calls still compile once per shape.
  compiled = jax.jit(fn, static_argnames=static_names, inline=True) if jit else fn
  checked = []   # the checkified variant, built on first use with checks on

  def run_checked(args, kwargs):
    if not checked:
      c = checkify.checkify(fn, errors=checkify.user_checks)
      checked.append(jax.jit(c, static_argnames=static_names, inline=True) if jit else c)
    err, out = checked[0](*args, **kwargs)
    if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(out)):
      # Inside a user's jit/grad/vmap: raise when the computation runs.
      jax.debug.callback(functools.partial(_raise_check, name), err)
    else:
      _raise_check(name, err)
    return out

  @functools.wraps(fn)
  def wrapper(*args, **kwargs):
    try:
      for key, allowed in choices.items():
        if key in kwargs:
          check_option(key, kwargs[key], allowed)
      for key, (spec, ok) in range_checks.items():
        if key in kwargs:
          v = _concrete_number(kwargs[key])
          if v is not None and not ok(v):
            raise LossInputError(f"{key} must be {spec}, got {kwargs[key]!r}")
      if kwargs.get("where") is not None:
        check_mask("where", kwargs["where"])
      if upcast:
        args = tuple(_upcast_arg(a) for a in args)
        kwargs = {k: (v if k in static_names else _upcast_arg(v))
                  for k, v in kwargs.items()}
      if _CHECKS:
        return run_checked(args, kwargs)
      return compiled(*args, **kwargs)
    except (LossInputError, LossTypeError) as e:
      msg = str(e)
      if not msg.startswith(f"{name}: "):
        msg = f"{name}: {msg}"
      if isinstance(e, LossInputError) and "channel-last" not in msg and _channel_first_fits(
          fn, args, kwargs, static_names):
        msg += (". jaxloss is channel-last (B, ..., C): did you mean jnp.moveaxis(x, 1, -1) "
                "for channel-first inputs?")
      raise type(e)(msg) from None

  wrapper.__wrapped__ = fn
  wrapper._jitted = compiled  # noqa: SLF001 - used by the contract tests.
  wrapper.static_argnames = static_names
  wrapper.__signature__ = sig
  return wrapper


def _raise_check(name, err) -> None:
  """Raises a failed value check (a checkify error) as a LossInputError naming the loss."""
  msg = err.get()
  if msg is not None:
    msg = msg.split(" (`check` failed)")[0].split("\n")[0]
    raise LossInputError(f"{name}: {msg}")


def _moved(x):
  return jnp.moveaxis(x, 1, -1) if isinstance(x, (jax.Array, np.ndarray)) else x


def _channel_first_fits(fn, args, kwargs, static_names) -> bool:
  """Whether the call would have been valid with channel-first arrays moved to channel-last.

  Run only on the error path: the loss is traced abstractly (``jax.eval_shape``)
  with axis 1 moved last in the first argument, then in every argument of its
  rank. Nothing runs on the device.
  """
  if not args or np.ndim(args[0]) < 3 or not hasattr(args[0], "shape"):
    return False
  rank = np.ndim(args[0])
  first = (_moved(args[0]),) + tuple(args[1:])
  same = tuple(_moved(a) if np.ndim(a) == rank else a for a in args)
  statics = {k: v for k, v in kwargs.items() if k in static_names}
  arrays = {k: v for k, v in kwargs.items() if k not in static_names}
  for trial in (first, same):
    try:
      jax.eval_shape(lambda a, kw: fn(*a, **kw, **statics), trial, arrays)
      return True
    except Exception:  # noqa: BLE001 - any failure means "not explained by layout"
      continue
  return False


def _upcast_arg(x):
  if isinstance(x, (jax.Array, np.ndarray)) and x.dtype in nx.LOW_PRECISION:
    return x.astype(jnp.float32)
  if isinstance(x, (list, tuple)) and not isinstance(x, str):
    return type(x)(_upcast_arg(v) for v in x) if not hasattr(x, "_fields") else x
  if isinstance(x, dict):
    return {k: _upcast_arg(v) for k, v in x.items()}
  return x
