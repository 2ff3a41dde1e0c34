"""The contract every registered loss keeps, parametrised over the catalog.

A loss is covered here the moment it is registered: eager == jit; vmap over
the leading axis == the batched call (per-example losses); finite value and
gradient on its example and edge inputs; ``mean == sum / count``; a ``where``
mask excludes entries exactly (a NaN in an excluded entry changes neither the
value nor any gradient); bfloat16 inputs give float32, finite results close to
float32; a wrong shape raises an error naming the loss; the second call with
the same shapes does not retrace. Gradients are compiled at XLA optimisation
level 0 (see ``_COMPILER_OPTIONS``).
"""

import inspect

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss import catalog
from jaxloss.catalog import cases


class _Entry:
  """A loss's catalog entry (discovery) joined with its cases (fixtures, flags)."""

  def __init__(self, info):
    self.info, self.case = info, cases.get(info.name)

  def __getattr__(self, name):
    case = self.__dict__["case"]
    return getattr(case, name) if hasattr(case, name) else getattr(self.__dict__["info"], name)


LOSSES = [_Entry(i) for i in catalog.all_losses()]
IDS = [i.name for i in LOSSES]


def _params(info):
  return inspect.signature(info.fn).parameters


def _has(info, name):
  return name in _params(info)


def _is_float(x):
  return isinstance(x, jax.Array | np.ndarray) and jnp.issubdtype(x.dtype, jnp.floating)


def _call(info, args, kwargs, **extra):
  return info.fn(*args, **{**kwargs, **extra})


def _total(out):
  """The loss value of an output: ``out`` or, for ``(total, parts)``, ``total``."""
  return out[0] if isinstance(out, tuple) else out


def _grad_args(info, args):
  return tuple(i for i in info.grad_argnums if i < len(args) and _is_float(args[i]))


def _is_array(x):
  return isinstance(x, jax.Array | np.ndarray)


def _static_key(options):
  items = []
  for k, v in sorted(options.items(), key=lambda kv: str(kv[0])):
    try:
      hash(v)
      items.append((k, v))
    except TypeError:
      items.append((k, id(v)))
  return tuple(items)


def _value_and_grads(info, args, kwargs, aux=(), **extra):
  """Value and gradients of the summed loss, compiled once per signature.

  One ``jax.jit`` over the whole ``value_and_grad`` (an eager grad of a jitted
  loss compiles its forward and backward halves separately), with the inputs
  and every array option (``where``, ``class_weights``, ...) as arguments: calls
  that differ only in array *values* -- the edge cases of one shape, clean and
  NaN-poisoned inputs, another mask -- share one compilation. Compilation
  dominates the time of this module, so other calls a check needs on the same
  inputs are made in the same program: ``aux`` names reductions (``"sum"``,
  ``"none"``) whose outputs are returned too. Returns ``(value, grads,
  {reduction: output})``.
  """
  key, f, inputs = _vg_parts(info, args, kwargs, aux, extra)
  fn = _cached(info, _VG_CACHE, key)
  if fn is None:
    fn = jax.jit(jax.value_and_grad(f, has_aux=True), compiler_options=_COMPILER_OPTIONS)
    _VG_CACHE[key] = fn
  (value, others), grads = fn(*inputs)
  return value, grads, others


def _vg_parts(info, args, kwargs, aux=(), extra=None):
  """``(signature key, f, inputs)``: ``jax.value_and_grad(f, has_aux=True)(*inputs)``
  is the summed loss's value (with the ``aux`` reductions' outputs) and its
  gradients in the floating ``grad_argnums`` inputs."""
  argnums = _grad_args(info, args)
  options = {**kwargs, **(extra or {})}
  arrays = {k: v for k, v in options.items() if _is_array(v)}
  static = {k: v for k, v in options.items() if k not in arrays}
  dynamic = tuple(i for i, a in enumerate(args) if i not in argnums and _is_array(a))
  fixed = {i: a for i, a in enumerate(args) if i not in argnums and not _is_array(a)}
  key = (info.name, len(args), argnums, dynamic, _static_key(fixed), _static_key(static),
         tuple(sorted(arrays)), tuple(aux),
         tuple((a.shape, a.dtype) for a in args if _is_array(a)),
         tuple((k, v.shape, v.dtype) for k, v in sorted(arrays.items())))

  def f(diff, dyn, arr):
    a = dict(fixed)
    a.update(zip(argnums, diff, strict=True))
    a.update(zip(dynamic, dyn, strict=True))
    a = tuple(a[i] for i in range(len(args)))
    out = _total(info.fn(*a, **static, **arr))
    others = {r: _total(info.fn(*a, **{**static, "reduction": r}, **arr)) for r in aux}
    return (jnp.sum(out) if jnp.ndim(out) else out), others

  inputs = (tuple(args[i] for i in argnums), tuple(args[i] for i in dynamic), arrays)
  return key, f, inputs


def _all_value_and_grads(info, cases):
  """Yields ``(case index, value, grads)`` for every ``(args, kwargs)`` case.

  All distinct signatures are compiled as one program (one compilation per
  loss instead of one per edge-case shape); cases sharing a signature are
  run by calling it again with the next case of each signature.
  """
  groups = {}
  for i, (args, kwargs) in enumerate(cases):
    key, f, inputs = _vg_parts(info, args, kwargs)
    groups.setdefault(key, (f, []))[1].append((i, inputs))
  fs = [f for f, _ in groups.values()]

  def program(all_inputs):
    return [jax.value_and_grad(f, has_aux=True)(*x) for f, x in zip(fs, all_inputs, strict=True)]

  program = jax.jit(program, compiler_options=_COMPILER_OPTIONS)
  for r in range(max((len(c) for _, c in groups.values()), default=0)):
    outs = program([c[min(r, len(c) - 1)][1] for _, c in groups.values()])
    for (_, c), ((value, _), grads) in zip(groups.values(), outs, strict=True):
      if r < len(c):
        yield c[r][0], value, grads


def _cached(info, cache, key):
  """``cache[key]`` or None; the cache holds one loss at a time.

  ``--dist loadgroup`` runs all checks of one loss in a row in one worker, so a
  program compiled by one check is reused by the next; a program is never
  reused across losses, and dropping the last loss's keeps memory flat.
  """
  if cache and next(iter(cache))[0] != info.name:
    cache.clear()
  return cache.get(key)


def _jitted_outputs(info):
  """The example's outputs, all computed in one ``jax.jit`` program.

  Every reduction the loss accepts (``"default"`` for a loss with no reduction
  option) and, for a per-example loss, ``jax.vmap`` of the unreduced loss over
  the leading axis. The eager == jit, vmap == batched and ``mean == sum /
  count`` checks read this one program instead of compiling one each.
  Returns ``(args, kwargs, outputs)``.
  """
  key = (info.name, "outputs")
  hit = _cached(info, _VG_CACHE, key)
  if hit is not None:
    return hit
  args, kwargs = info.example(jax.random.key(0))
  reductions = ([r for r in ("none", "sum", "mean") if r in info.reductions]
                if _has(info, "reduction") else [])
  vmapped = info.per_example and "none" in reductions

  def program(*a):
    out = {r: _call(info, a, kwargs, reduction=r) for r in reductions}
    if not reductions:
      out["default"] = _call(info, a, kwargs)
    if vmapped:
      out["vmap"] = jax.vmap(lambda *x: _total(_call(info, x, kwargs, reduction="none")))(*a)
    return out

  hit = (args, kwargs, jax.jit(program)(*args))
  _VG_CACHE[key] = hit
  return hit


def _eager_options(info):
  """The options of the one eager (the loss's own jit) call the checks share.

  The unreduced loss where the loss has one (it holds every entry), else the
  default reduction, given explicitly.
  """
  if not _has(info, "reduction"):
    return {}, "default"
  r = "none" if "none" in info.reductions else "mean"
  return {"reduction": r}, r


# The value-and-grad programs are compiled at XLA optimisation level 0: about a
# third less compile time (compiles dominate this module), and a gradient that
# relies on XLA not recomputing an operand -- jnp.max's equality test, which
# GPU autotuning can break at any level -- fails here instead of on a user's
# GPU. The losses' own jitted calls (eager, vmap, reductions) keep the default.
_COMPILER_OPTIONS = {"xla_backend_optimization_level": 0}

# Unhashable static values are keyed by identity; the cached function's closure
# keeps them alive, so an id cannot be reused by another test's object. Holds the
# compiled programs (and the jitted outputs) of one loss at a time.
_VG_CACHE: dict = {}


# Every check of one loss runs in the same xdist worker (``--dist loadgroup``)
# so the jitted loss compiled by one check is reused by the next.
@pytest.fixture(params=[pytest.param(i, marks=pytest.mark.xdist_group(i.name)) for i in LOSSES],
                ids=IDS)
def info(request):
  return request.param


def test_catalog_is_complete():
  assert len(LOSSES) > 0
  for i in LOSSES:
    assert i.references, f"{i.name} has no reference"
    assert getattr(jaxloss, i.name) is i.fn, f"jaxloss.{i.name} is not the registered function"
    for a in i.aliases:
      assert getattr(jaxloss, a) is i.fn


def test_return_components(info):
  """A compound loss returns ``(total, {part: value})`` with parts that make up the total."""
  if not info.components:
    assert not _has(info, "return_components"), (
        f"{info.name} takes return_components but registers no components")
    pytest.skip("no parts")
  assert _params(info)["return_components"].default is False
  args, kwargs = info.example(jax.random.key(10))
  # "mean" (the default); the parts share the loss's single reduction code path.
  for reduction in ("mean",):
    plain = _call(info, args, kwargs, reduction=reduction)
    total, parts = _call(info, args, kwargs, reduction=reduction, return_components=True)
    assert isinstance(parts, dict) and set(info.components) <= set(parts), (
        f"{info.name}: parts {sorted(parts)} lack {sorted(set(info.components) - set(parts))}")
    chex.assert_trees_all_close(plain, total, rtol=1e-6, atol=1e-6)
    for name in info.components:
      chex.assert_shape(parts[name], ())
    assert info.components_total is not None, f"{info.name}: no components_total in its cases"
    chex.assert_trees_all_close(info.components_total(parts, kwargs), total, rtol=1e-5, atol=1e-6)


def test_signature_conventions(info):
  params = list(_params(info).values())
  for p in params:
    if p.default is not inspect.Parameter.empty:
      assert p.kind is inspect.Parameter.KEYWORD_ONLY, (
          f"{info.name}: {p.name} has a default but is not keyword-only")
  if _has(info, "reduction"):
    assert _params(info)["reduction"].default == "mean"
  doc = info.fn.__doc__ or ""
  for section in ("Args:", "Returns:", "References:", "Examples:", ".. math::"):
    assert section in doc, f"{info.name}: docstring lacks {section}"


def test_eager_equals_jit(info):
  """The loss called eagerly (its own jit) equals the loss traced into a caller's jit."""
  extra, which = _eager_options(info)
  args, kwargs, jitted = _jitted_outputs(info)
  eager = _call(info, args, kwargs, **extra)
  chex.assert_trees_all_close(eager, jitted[which], rtol=1e-6, atol=1e-6)


def test_vmap_equals_batched(info):
  if not info.per_example or not _has(info, "reduction") or "none" not in info.reductions:
    pytest.skip("set-level loss: not per-example")
  _, _, out = _jitted_outputs(info)
  chex.assert_trees_all_close(_total(out["none"]), out["vmap"], rtol=1e-5, atol=1e-6)


def _where_shape(info, args, kwargs):
  """The shape of a ``where`` mask for these inputs, or None if the loss takes none.

  The unreduced (``reduction="none"``) output's shape unless the case names
  another (``where_shape``); a loss that takes ``where`` but has neither is an
  error, so that every mask is tested.
  """
  if not _has(info, "where"):
    return None
  if info.where_shape is not None:
    return tuple(info.where_shape(args, kwargs))
  assert "none" in info.reductions, (
      f"{info.name} takes `where` but has no unreduced output: give `where_shape` in its case")
  return _total(_call(info, args, kwargs, reduction="none")).shape


def test_finite_value_and_grad(info):
  key = jax.random.key(2)
  args, kwargs = info.example(key)
  # The example's value and gradients are checked finite by
  # test_where_excludes_entries_exactly when the loss takes a mask (one
  # gradient compilation fewer per loss).
  cases = [] if _where_shape(info, args, kwargs) else [(args, kwargs)]
  if info.edge_cases is not None:
    cases += info.edge_cases(key)
  for i, value, grads in _all_value_and_grads(info, cases):
    assert np.isfinite(np.asarray(value)).all(), f"{info.name}: case {i}: value {value}"
    chex.assert_tree_all_finite(grads, custom_message=f"{info.name}: case {i}: gradient")


def test_mean_is_sum_over_count(info):
  if not _has(info, "reduction"):
    pytest.skip("no reduction option")
  args, kwargs, out = _jitted_outputs(info)
  if "none" not in info.reductions:
    # Its own mean/sum rule is tested in its module; here: both are scalars
    # and "none" is refused with an error naming the loss.
    for r in ("mean", "sum"):
      chex.assert_shape(_total(out[r]), ())
    with pytest.raises(ValueError, match=f"^{info.name}:.*reduction"):
      _call(info, args, kwargs, reduction="none")
    return
  none, total, mean = (_total(out[r]) for r in ("none", "sum", "mean"))
  chex.assert_shape(total, ())
  chex.assert_shape(mean, ())
  np.testing.assert_allclose(total, np.sum(np.asarray(none, np.float64)), rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(mean * max(none.size, 1), total, rtol=1e-5, atol=1e-5)


def _poison(a, mask):
  """``a`` with NaN in every entry the mask excludes entirely.

  ``a`` is aligned with the mask on its longest common leading axes ``j``: an
  entry of ``a[:j]`` is poisoned when the mask is False over all of the
  mask's remaining axes (a per-class Dice mask ``(B, C)`` excludes the logits
  ``(B, H, W, C)`` of an image only when all its classes are masked).
  """
  if not _is_float(a):
    return a
  j = 0
  while j < min(a.ndim, mask.ndim) and a.shape[j] == mask.shape[j]:
    j += 1
  if j == 0:
    return a
  keep = mask.any(axis=tuple(range(j, mask.ndim))) if j < mask.ndim else mask
  return jnp.where(keep.reshape(keep.shape + (1,) * (a.ndim - j)), a, jnp.nan)


def test_where_excludes_entries_exactly(info):
  key = jax.random.key(4)
  args, kwargs = info.example(key)
  out_shape = _where_shape(info, args, kwargs)
  if not out_shape:
    pytest.skip("no where mask, or a scalar unreduced loss")
  mask = np.array(jax.random.bernoulli(jax.random.key(5), 0.6, out_shape))
  mask.flat[0] = True
  mask[-1] = False   # one whole leading slice (e.g. an image) excluded
  poisoned = tuple(_poison(a, mask) for a in args)
  # A mask over a concatenation (kto_loss: desirable then undesirable) aligns
  # with no single input: then only the masked value and gradient are checked.
  where = jnp.asarray(mask)
  mean = {"reduction": "mean"} if _has(info, "reduction") else {}
  # "sum" and "none" share the masked reduction (reduce_loss): their values are
  # checked too, computed in the same program; their gradients differ from
  # "mean"'s by the constant count.
  aux = tuple(r for r in ("sum", "none") if mean and r in info.reductions)
  v1, g1, o1 = _value_and_grads(info, args, kwargs, aux=aux, where=where, **mean)
  v2, g2, o2 = _value_and_grads(info, poisoned, kwargs, aux=aux, where=where, **mean)
  chex.assert_tree_all_finite((v1, g1, v2, g2, o2.get("sum", 0.0)))
  chex.assert_trees_all_close(v1, v2, rtol=1e-6, atol=1e-7)
  chex.assert_trees_all_close(g1, g2, rtol=1e-6, atol=1e-7)
  if "sum" in aux:
    chex.assert_trees_all_close(o1["sum"], o2["sum"], rtol=1e-6, atol=1e-7)
  if "none" in aux and o2["none"].shape == out_shape:
    assert np.all(np.asarray(o2["none"])[~mask] == 0)
  _all_masked_is_zero(info, poisoned, kwargs, out_shape, aux)


def _all_masked_is_zero(info, args, kwargs, out_shape, aux):
  """All entries masked: a defined zero, not NaN."""
  mean = {"reduction": "mean"} if _has(info, "reduction") else {}
  v, g, _ = _value_and_grads(info, args, kwargs, aux=aux, where=jnp.zeros(out_shape, bool),
                            **mean)
  assert float(v) == 0.0
  chex.assert_tree_all_finite(g)


def test_where_is_validated_before_use(info):
  """A float mask is refused (LossTypeError) and a wrong-shape one named (LossInputError)."""
  args, kwargs = info.example(jax.random.key(4))
  out_shape = _where_shape(info, args, kwargs)
  if out_shape is None:
    pytest.skip("no where mask")
  with pytest.raises(jaxloss.LossTypeError, match=f"^{info.name}: where must be a boolean"):
    _call(info, args, kwargs, where=jnp.ones(out_shape, jnp.float32))
  wrong = (out_shape[:-1] + (out_shape[-1] + 1,)) if out_shape else (3,)
  with pytest.raises(jaxloss.LossInputError, match=f"^{info.name}: .*where.*shape"):
    _call(info, args, kwargs, where=jnp.ones(wrong, bool))


def test_bfloat16_inputs(info):
  extra, _ = _eager_options(info)
  args, kwargs = info.example(jax.random.key(6))
  low = tuple(a.astype(jnp.bfloat16) if _is_float(a) else a for a in args)
  rounded = tuple(a.astype(jnp.float32) if _is_float(a) else a for a in low)
  out_low = _call(info, low, kwargs, **extra)
  out_f32 = _call(info, args, kwargs, **extra)
  out_rounded = _call(info, rounded, kwargs, **extra)
  for leaf in jax.tree.leaves(out_low):
    assert leaf.dtype == jnp.float32, f"{info.name}: bfloat16 input gave {leaf.dtype}"
  chex.assert_tree_all_finite(out_low)
  # Computed in float32 from the rounded values, and close to the float32 loss.
  chex.assert_trees_all_close(out_low, out_rounded, rtol=1e-6, atol=1e-6)
  chex.assert_trees_all_close(out_low, out_f32, rtol=5e-2, atol=5e-2)


def _default_bad_input(info, key):
  args, kwargs = info.example(key)
  if len(args) < 2 or not hasattr(args[1], "shape") or np.ndim(args[1]) == 0:
    return None
  bad = list(args)
  bad[1] = args[1][..., :-1] if args[1].shape[-1] > 1 else jnp.concatenate(
      [args[1], args[1]], axis=-1)
  return tuple(bad), kwargs


def test_bad_shape_raises_clear_error(info):
  key = jax.random.key(7)
  bad = info.bad_input(key) if info.bad_input is not None else _default_bad_input(info, key)
  if bad is None:
    pytest.skip("no second array argument to break")
  args, kwargs = bad
  with pytest.raises((ValueError, TypeError)) as err:
    _call(info, args, kwargs)
  assert str(err.value).startswith(f"{info.name}:"), str(err.value)
  assert "shape" in str(err.value)


def test_no_retrace_on_second_call(info):
  extra, _ = _eager_options(info)
  args, kwargs = info.example(jax.random.key(8))
  args2, _ = info.example(jax.random.key(9))
  _call(info, args, kwargs, **extra)
  size = info.fn._jitted._cache_size()
  _call(info, args2, kwargs, **extra)
  assert info.fn._jitted._cache_size() == size
