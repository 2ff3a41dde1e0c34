"""Every loss under ``jax.enable_x64`` (issue 19 item 14).

With x64 enabled a Python int or float constant becomes int64/float64: an
init value of ``lax.reduce_window`` (``jnp.iinfo(jnp.int32).min``), a scan
carry or a ``lax.cond`` branch built from one no longer matches an int32 /
float32 operand and the loss fails to trace. The catalog examples are built
inside the x64 context (float64 inputs, int64 labels) and each loss's value
and gradient must be finite.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss import catalog
from jaxloss.catalog import cases

LOSSES = [i.name for i in catalog.all_losses()]


def _value_and_grad_fn(name, args, kwargs):
  info, case = catalog.get(name), cases.get(name)
  argnums = tuple(i for i in case.grad_argnums if i < len(args)
                  and isinstance(args[i], jax.Array | np.ndarray)
                  and jnp.issubdtype(args[i].dtype, jnp.floating))

  def f(*a):
    out = info.fn(*a, **kwargs)
    out = out[0] if isinstance(out, tuple) else out
    return jnp.sum(out)

  return jax.value_and_grad(f, argnums=argnums) if argnums else f


@pytest.mark.parametrize("name", LOSSES)
def test_catalog_example_traces_and_lowers_under_x64(name):
  """Tracing and lowering value-and-grad is where a dtype mismatch fails (no compile: fast)."""
  with jax.enable_x64(True):
    args, kwargs = cases.get(name).example(jax.random.key(0))
    jax.jit(_value_and_grad_fn(name, args, kwargs)).lower(*args)


# Losses built on integer/structural lax ops (reduce_window, scans, sorts,
# distance transforms): run, value and gradient finite in float64.
_RUN = ("boundary_aware_loss", "hausdorff_dt_loss", "boundary_loss", "lovasz_softmax_loss",
        "ctc_loss", "soft_dtw", "dilate_loss", "cross_entropy", "dice_loss", "ssim_loss",
        "triplet_loss", "adaptive_robust_loss", "giou_loss", "sequence_loss")


@pytest.mark.parametrize("name", [n for n in _RUN if n in LOSSES])
def test_structural_losses_are_finite_under_x64(name):
  with jax.enable_x64(True):
    args, kwargs = cases.get(name).example(jax.random.key(0))
    out = _value_and_grad_fn(name, args, kwargs)(*args)
    chex.assert_tree_all_finite(out)


def test_boundary_aware_loss_under_x64():
  # Issue 19 item 14: reduce_window's int32 operand got an int64 init value.
  with jax.enable_x64(True):
    rng = np.random.default_rng(0)
    logits = jnp.asarray(rng.normal(size=(2, 5, 6, 3)))
    labels = jnp.asarray(rng.integers(0, 3, size=(2, 5, 6)))          # int64 under x64
    assert labels.dtype == jnp.int64 and logits.dtype == jnp.float64
    for lab in (labels, labels.astype(jnp.int32), labels.astype(jnp.uint8)):
      v, g = jax.value_and_grad(lambda x, lab=lab: jaxloss.boundary_aware_loss(x, lab))(logits)
      chex.assert_tree_all_finite((v, g))
      assert v.dtype == jnp.float64
  # The same value as the float32 computation.
  v32 = jaxloss.boundary_aware_loss(jnp.asarray(logits, jnp.float32),
                                    jnp.asarray(np.asarray(labels), jnp.int32))
  np.testing.assert_allclose(v32, np.asarray(v), rtol=1e-5)
