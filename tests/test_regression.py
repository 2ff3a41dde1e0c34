"""Regression family: float64 NumPy references, gradients, edges, errors."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import f32
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from jax.test_util import check_grads

import jaxloss

RNG = np.random.default_rng(0)
P = RNG.normal(size=(6, 7)) * 3
T = RNG.normal(size=(6, 7)) * 3


# ---- independent float64 references (written from the definitions) ----

def ref_huber(d, delta):
  a = np.abs(d)
  return np.where(a <= delta, 0.5 * d**2, delta * (a - 0.5 * delta))


def ref_smooth_l1(d, beta):
  a = np.abs(d)
  if beta == 0:
    return a
  return np.where(a < beta, 0.5 * d**2 / beta, a - 0.5 * beta)


def ref_log_cosh(d):
  return np.log(np.cosh(d))  # fine in float64 for |d| < 700


def ref_pinball(p, t, tau):
  e = t - p
  return np.maximum(tau * e, (tau - 1) * e)


def ref_cos_torch(a, b, eps=1e-8):
  na = np.maximum(np.linalg.norm(a, axis=-1), eps)
  nb = np.maximum(np.linalg.norm(b, axis=-1), eps)
  return np.sum(a * b, -1) / (na * nb)


def ref_cos_embedding(a, b, y, margin):
  cos = np.sum(a * b, -1) / np.sqrt((np.sum(a * a, -1) + 1e-12) * (np.sum(b * b, -1) + 1e-12))
  return np.where(y == 1, 1 - cos, np.maximum(0, cos - margin))


CASES = [
    (jaxloss.mse, lambda p, t: (p - t) ** 2),
    (jaxloss.mae, lambda p, t: np.abs(p - t)),
    (jaxloss.huber_loss, lambda p, t: ref_huber(p - t, 1.0)),
    (jaxloss.smooth_l1_loss, lambda p, t: ref_smooth_l1(p - t, 1.0)),
    (jaxloss.log_cosh_loss, lambda p, t: ref_log_cosh(p - t)),
    (jaxloss.charbonnier_loss, lambda p, t: np.sqrt((p - t) ** 2 + 1e-6)),
]


@pytest.mark.parametrize("fn,ref", CASES, ids=lambda x: getattr(x, "__name__", ""))
def test_reference_values(fn, ref):
  expected = ref(P, T)
  chex.assert_trees_all_close(fn(f32(P), f32(T), reduction="none"), expected, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(fn(f32(P), f32(T)), expected.mean(), rtol=1e-5)
  np.testing.assert_allclose(fn(f32(P), f32(T), reduction="sum"), expected.sum(), rtol=1e-5)


@pytest.mark.parametrize("delta", [0.5, 1.0, 2.0])
def test_huber_and_smooth_l1_parameters(delta):
  d = P - T
  np.testing.assert_allclose(jaxloss.huber_loss(f32(P), f32(T), delta=delta, reduction="none"),
                             ref_huber(d, delta), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(jaxloss.smooth_l1_loss(f32(P), f32(T), beta=delta, reduction="none"),
                             ref_smooth_l1(d, delta), rtol=1e-5, atol=1e-6)
  # torch identity: huber(delta) == delta * smooth_l1(beta=delta).
  np.testing.assert_allclose(
      jaxloss.huber_loss(f32(P), f32(T), delta=delta),
      delta * jaxloss.smooth_l1_loss(f32(P), f32(T), beta=delta), rtol=1e-5)


def test_smooth_l1_beta_zero_is_l1():
  np.testing.assert_allclose(jaxloss.smooth_l1_loss(f32(P), f32(T), beta=0.0, reduction="none"),
                             np.abs(P - T), rtol=1e-6)
  g = jax.grad(lambda p: jaxloss.smooth_l1_loss(p, f32(T), beta=0.0))(f32(P))
  chex.assert_tree_all_finite(g)


def test_aliases():
  assert jaxloss.euclidean_loss is jaxloss.mse and jaxloss.l2_loss is jaxloss.mse
  assert jaxloss.l1_loss is jaxloss.mae


def test_weights_and_where():
  w = RNG.uniform(size=P.shape)
  m = RNG.uniform(size=P.shape) > 0.3
  sq = (P - T) ** 2
  np.testing.assert_allclose(jaxloss.mse(f32(P), f32(T), weights=f32(w)), (w * sq).mean(), rtol=1e-5)
  np.testing.assert_allclose(jaxloss.mse(f32(P), f32(T), where=m), sq[m].mean(), rtol=1e-5)
  np.testing.assert_allclose(jaxloss.mse(f32(P), f32(T), where=m, reduction="sum"), sq[m].sum(),
                             rtol=1e-5)
  # A per-row mask broadcasts over the trailing axis.
  rows = np.array([True, False, True, True, False, True])[:, None]
  np.testing.assert_allclose(jaxloss.mse(f32(P), f32(T), where=rows),
                             sq[np.broadcast_to(rows, P.shape)].mean(), rtol=1e-5)


def test_log_cosh_no_overflow():
  d = np.array([0.0, 1.0, 88.0, 100.0, 1e4, -1e4, 1e30], np.float32)
  v = jaxloss.log_cosh_loss(f32(d), jnp.zeros(7), reduction="none")
  chex.assert_tree_all_finite(v)
  # Exact asymptote |d| - log 2 for large |d|.
  np.testing.assert_allclose(v[3:6], np.abs(d[3:6]) - np.log(2), rtol=1e-6)
  g = jax.grad(lambda x: jaxloss.log_cosh_loss(x, jnp.zeros(7), reduction="sum"))(f32(d))
  np.testing.assert_allclose(g, np.tanh(d.astype(np.float64)), atol=1e-6)


def test_quantile_loss_vector_and_scalar():
  tau = np.array([0.1, 0.5, 0.9])
  p = RNG.normal(size=(5, 3))
  t = RNG.normal(size=(5,))
  expected = ref_pinball(p, t[:, None], tau)
  got = jaxloss.quantile_loss(f32(p), f32(t), quantiles=f32(tau), reduction="none")
  np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
  got1 = jaxloss.quantile_loss(f32(p[:, 1]), f32(t), quantiles=0.5, reduction="none")
  np.testing.assert_allclose(got1, 0.5 * np.abs(p[:, 1] - t), rtol=1e-5, atol=1e-7)


def test_quantile_crossing_penalty():
  tau = np.array([0.9, 0.1, 0.5])           # unsorted on purpose
  p = np.array([[1.0, 2.0, 0.0]])           # sorted by tau: 2.0 (0.1), 0.0 (0.5), 1.0 (0.9)
  t = np.array([0.5])
  base = ref_pinball(p, t[:, None], tau)
  # Crossings: level 0.1 predicts 2.0 > 0.0 at level 0.5 -> penalty 2 on the 0.1 entry.
  pen = np.array([[0.0, 2.0, 0.0]])
  got = jaxloss.quantile_loss(f32(p), f32(t), quantiles=f32(tau), crossing_penalty=0.5,
                              reduction="none")
  np.testing.assert_allclose(got, base + 0.5 * pen, rtol=1e-6)


def test_msle_matches_keras_definition():
  p = RNG.uniform(0, 5, size=(4, 5))
  t = RNG.uniform(0, 5, size=(4, 5))
  p[0, 0] = -0.5                            # clamped at 1e-7 as in Keras
  ref = (np.log1p(np.maximum(p, 1e-7)) - np.log1p(np.maximum(t, 1e-7))) ** 2
  np.testing.assert_allclose(jaxloss.msle(f32(p), f32(t), reduction="none"), ref, rtol=1e-5,
                             atol=1e-7)


def test_cosine_losses():
  a = RNG.normal(size=(5, 4))
  b = RNG.normal(size=(5, 4))
  a[0] = 0.0
  np.testing.assert_allclose(jaxloss.cosine_similarity_loss(f32(a), f32(b), reduction="none"),
                             1 - ref_cos_torch(a, b), rtol=1e-5, atol=1e-6)
  y = np.array([1, -1, 1, -1, -1])
  for margin in (0.0, 0.3):
    np.testing.assert_allclose(
        jaxloss.cosine_embedding_loss(f32(a), f32(b), f32(y), margin=margin, reduction="none"),
        ref_cos_embedding(a, b, y, margin), rtol=1e-5, atol=1e-6)
  # axis option equals moving the axis.
  np.testing.assert_allclose(
      jaxloss.cosine_similarity_loss(f32(a.T), f32(b.T), axis=0, reduction="none"),
      jaxloss.cosine_similarity_loss(f32(a), f32(b), reduction="none"), rtol=1e-6)


def test_gradients_match_finite_differences():
  p = RNG.normal(size=(3, 4)) * 2
  t = RNG.normal(size=(3, 4)) * 2
  with jax.enable_x64(True):
    p64, t64 = jnp.asarray(p), jnp.asarray(t)
    for fn in (jaxloss.mse, jaxloss.log_cosh_loss, jaxloss.charbonnier_loss, jaxloss.msle,
               jaxloss.cosine_similarity_loss):
      check_grads(lambda x, fn=fn: fn(x, t64), (jnp.abs(p64) + 0.1,), order=1, modes=["rev"])
    check_grads(lambda x: jaxloss.huber_loss(x, t64, delta=10.0), (p64,), order=1, modes=["rev"])
    check_grads(lambda x: jaxloss.quantile_loss(x, t64[:, 0], quantiles=jnp.array([.2, .5, .7, .9])),
                (p64,), order=1, modes=["rev"])
    y = jnp.array([1.0, -1.0, 1.0])
    check_grads(lambda x: jaxloss.cosine_embedding_loss(x, t64, y, margin=-0.9), (p64,),
                order=1, modes=["rev"])


def test_traced_hyperparameters_are_learnable():
  g = jax.grad(lambda d: jaxloss.huber_loss(f32(P), f32(T), delta=d))(1.0)
  assert np.isfinite(g) and g != 0
  g = jax.grad(lambda e: jaxloss.charbonnier_loss(f32(P), f32(T), eps=e))(0.5)
  assert np.isfinite(g) and g > 0


def test_errors():
  with pytest.raises(jaxloss.LossInputError, match="mse: targets has shape"):
    jaxloss.mse(jnp.zeros((3, 2)), jnp.zeros((3,)))
  with pytest.raises(jaxloss.LossTypeError, match="predictions must be a floating array"):
    jaxloss.mae(jnp.zeros(3, jnp.int32), jnp.zeros(3))
  with pytest.raises(jaxloss.LossInputError, match="delta must be > 0"):
    jaxloss.huber_loss(jnp.zeros(3), jnp.zeros(3), delta=0.0)
  with pytest.raises(jaxloss.LossInputError, match="reduction must be one of"):
    jaxloss.mse(jnp.zeros(3), jnp.zeros(3), reduction="batchmean")
  with pytest.raises(jaxloss.LossInputError, match="where has shape"):
    jaxloss.mse(jnp.zeros((2, 3)), jnp.zeros((2, 3)), where=jnp.ones((4, 3), bool))
  with pytest.raises(jaxloss.LossInputError, match="quantile axis of length 3"):
    jaxloss.quantile_loss(jnp.zeros((4, 2)), jnp.zeros(4), quantiles=jnp.array([.1, .5, .9]))
  with pytest.raises(jaxloss.LossInputError, match="margin must be"):
    jaxloss.cosine_embedding_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), jnp.ones(2), margin=2.0)


def test_value_checks_under_chexify():
  f = chex.chexify(jaxloss.cosine_embedding_loss, async_check=False)
  with pytest.raises(Exception, match="labels must take values in"):
    f(jnp.ones((2, 3)), jnp.ones((2, 3)), jnp.array([1.0, 0.0]))


def test_works_inside_user_transforms():
  p, t = f32(P), f32(T)
  # scan over rows == batched call
  _, rows = jax.lax.scan(lambda c, xy: (c, jaxloss.mse(xy[0], xy[1])), 0.0, (p, t))
  np.testing.assert_allclose(rows.mean(), jaxloss.mse(p, t), rtol=1e-6)
  # float64 under x64
  with jax.enable_x64(True):
    out = jaxloss.mse(jnp.asarray(P), jnp.asarray(T))
    assert out.dtype == jnp.float64
    np.testing.assert_allclose(out, ((P - T) ** 2).mean(), rtol=1e-12)


finite = st.floats(-1e3, 1e3, allow_nan=False, width=32)
arrays = hnp.arrays(np.float32, (5,), elements=finite)


@settings(max_examples=25, deadline=None)
@given(arrays, arrays)
def test_properties_nonnegative_symmetric_zero_at_perfect(p, t):
  for fn in (jaxloss.mse, jaxloss.mae, jaxloss.huber_loss, jaxloss.smooth_l1_loss,
             jaxloss.log_cosh_loss):
    v = fn(p, t, reduction="none")
    assert np.all(v >= 0)
    np.testing.assert_allclose(v, fn(t, p, reduction="none"), rtol=1e-6)
    assert float(fn(p, p)) == 0.0


def test_log_cosh_tiny_residuals_are_accurate_and_nonnegative():
  d = np.array([1.6e-5, 1e-3, 0.5, 9.99, 10.0, 10.01, 30.0], np.float32)
  got = jaxloss.log_cosh_loss(f32(d), jnp.zeros(7), reduction="none")
  np.testing.assert_allclose(got, np.log(np.cosh(d.astype(np.float64))), rtol=2e-6, atol=0)
  assert np.all(np.asarray(got) > 0)
