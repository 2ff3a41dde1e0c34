"""Noise-robust and hierarchical classification losses (jaxloss.classification.robust,
jaxloss.classification.hierarchical): float64 references, limits and gradients.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import f32
from scipy.optimize import brentq
from scipy.special import log_softmax, logsumexp, softmax

import jaxloss

RNG = np.random.default_rng(0)


LOGITS = RNG.normal(size=(6, 4)) * 2


LABELS = RNG.integers(0, 4, size=6)


SOFT = softmax(RNG.normal(size=(6, 4)), -1)


def test_gce_reference_and_limits():
  p = softmax(LOGITS, -1)
  for q in (0.1, 0.5, 0.7, 1.0):
    ref = (1 - p[np.arange(6), LABELS] ** q) / q
    np.testing.assert_allclose(jaxloss.generalized_cross_entropy(
        f32(LOGITS), jnp.asarray(LABELS), q=q, reduction="none"), ref, rtol=1e-5)
    ref_soft = np.sum(SOFT * (1 - p**q) / q, -1)
    np.testing.assert_allclose(jaxloss.generalized_cross_entropy(
        f32(LOGITS), f32(SOFT), q=q, reduction="none"), ref_soft, rtol=1e-5)
  ce = -log_softmax(LOGITS, -1)[np.arange(6), LABELS]
  np.testing.assert_allclose(jaxloss.generalized_cross_entropy(
      f32(LOGITS), jnp.asarray(LABELS), q=0.0, reduction="none"), ce, rtol=1e-5)
  np.testing.assert_allclose(jaxloss.generalized_cross_entropy(
      f32(LOGITS), jnp.asarray(LABELS), q=1e-6, reduction="none"), ce, rtol=1e-4)
  # q is learnable / traceable and the gradient is finite at q = 0.
  g = jax.grad(lambda q: jaxloss.generalized_cross_entropy(f32(LOGITS), jnp.asarray(LABELS),
                                                           q=q))(0.0)
  assert np.isfinite(g)


def test_sce_reference():
  p = softmax(LOGITS, -1)
  y = np.eye(4)[LABELS]
  ce = -np.sum(y * log_softmax(LOGITS, -1), -1)
  rce = -np.sum(p * np.maximum(np.log(np.where(y > 0, y, 1e-300)), -4.0), -1)
  got = jaxloss.symmetric_cross_entropy(f32(LOGITS), jnp.asarray(LABELS), ce_weight=0.3,
                                        rce_weight=0.7, reduction="none")
  np.testing.assert_allclose(got, 0.3 * ce + 0.7 * rce, rtol=1e-5)
  np.testing.assert_allclose(rce, 4 * (1 - p[np.arange(6), LABELS]), rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_sce_return_components(reduction):
  """Parts are the unweighted CE (== cross_entropy) and reverse CE, reduced like the total."""
  p = softmax(LOGITS, -1)
  rce_ref = -np.sum(p * np.maximum(np.log(np.where(SOFT > 0, SOFT, 1e-300)), -4.0), -1)
  keep = np.array([True, False, True, True, False, True])
  w = RNG.uniform(0.5, 2.0, size=6)
  kw = dict(weights=f32(w), where=jnp.asarray(keep), reduction=reduction)
  for labels, rce_row in ((jnp.asarray(LABELS), 4 * (1 - p[np.arange(6), LABELS])),
                          (f32(SOFT), rce_ref)):
    plain = jaxloss.symmetric_cross_entropy(f32(LOGITS), labels, ce_weight=0.3, rce_weight=0.7,
                                            **kw)
    total, parts = jaxloss.symmetric_cross_entropy(f32(LOGITS), labels, ce_weight=0.3,
                                                   rce_weight=0.7, return_components=True, **kw)
    assert set(parts) == {"ce", "rce"}
    np.testing.assert_allclose(total, plain, rtol=1e-6)
    np.testing.assert_allclose(parts["ce"], jaxloss.cross_entropy(f32(LOGITS), labels, **kw),
                               rtol=1e-6)
    rce = np.where(keep, w * rce_row, 0.0)
    want = {"none": rce, "sum": rce.sum(), "mean": rce.sum() / keep.sum()}[reduction]
    np.testing.assert_allclose(parts["rce"], want, rtol=1e-5)
    np.testing.assert_allclose(total, 0.3 * parts["ce"] + 0.7 * parts["rce"], rtol=1e-5)
  # The parts ride along as aux of value_and_grad.
  (v, aux), g = jax.value_and_grad(
      lambda z: jaxloss.symmetric_cross_entropy(z, jnp.asarray(LABELS), return_components=True),
      has_aux=True)(f32(LOGITS))
  np.testing.assert_allclose(v, 0.1 * aux["ce"] + aux["rce"], rtol=1e-6)
  chex.assert_tree_all_finite(g)


def ref_tempered_softmax(a, t):
  """exp_t(a - lambda) with lambda found by a root finder (independent of the fixed point)."""
  def exp_t(u):
    with np.errstate(divide="ignore"):
      return np.maximum(1 + (1 - t) * u, 0) ** (1 / (1 - t))
  out = []
  for row in a:
    lam = brentq(lambda lam, row=row: exp_t(row - lam).sum() - 1, row.max() - 50, row.max() + 50,
                 xtol=1e-14)
    out.append(exp_t(row - lam))
  return np.array(out)


def ref_bi_tempered(a, y, t1, t2):
  def log_t(u, t):
    return (u ** (1 - t) - 1) / (1 - t)
  p = ref_tempered_softmax(a, t2)
  ylogy = np.where(y > 0, y * log_t(np.where(y > 0, y, 1.0), t1), 0.0)
  return np.sum(ylogy - y * log_t(p, t1) - y ** (2 - t1) / (2 - t1) + p ** (2 - t1) / (2 - t1), -1)


@pytest.mark.parametrize("t1,t2", [(0.8, 1.2), (0.5, 2.0), (0.9, 1.05)])
def test_bi_tempered_matches_root_finder_reference(t1, t2):
  y = np.eye(4)[LABELS]
  got = jaxloss.bi_tempered_logistic_loss(f32(LOGITS), jnp.asarray(LABELS), t1=t1, t2=t2,
                                          num_iters=40, reduction="none")
  np.testing.assert_allclose(got, ref_bi_tempered(LOGITS, y, t1, t2), rtol=1e-4, atol=1e-6)
  # The default 5 iterations are already close.
  got5 = jaxloss.bi_tempered_logistic_loss(f32(LOGITS), jnp.asarray(LABELS), t1=t1, t2=t2,
                                           reduction="none")
  np.testing.assert_allclose(got5, ref_bi_tempered(LOGITS, y, t1, t2), rtol=2e-2, atol=1e-3)


def test_bi_tempered_reduces_to_cross_entropy_and_is_bounded():
  ce = -log_softmax(LOGITS, -1)[np.arange(6), LABELS]
  got = jaxloss.bi_tempered_logistic_loss(f32(LOGITS), jnp.asarray(LABELS), t1=1.0, t2=1.0,
                                          reduction="none")
  np.testing.assert_allclose(got, ce, rtol=1e-5)
  # t1 < 1 bounds the loss: a confidently wrong logit costs at most 1/(1-t1) + 1/(2-t1).
  wrong = jnp.array([[-1e4, 1e4]])
  v = jaxloss.bi_tempered_logistic_loss(wrong, jnp.array([0]), t1=0.5, t2=1.5)
  assert np.isfinite(v) and float(v) <= 1 / 0.5 + 1 / 1.5 + 1e-5
  assert -log_softmax(np.array([-1e4, 1e4]))[0] > 1e3  # while the cross-entropy is unbounded


def test_noisy_label_loss_gradients_match_finite_differences():
  from jax.test_util import check_grads

  with jax.enable_x64(True):
    x = jnp.asarray(LOGITS)
    y = jnp.asarray(LABELS)
    check_grads(lambda z: jaxloss.generalized_cross_entropy(z, y, q=0.7), (x,), 1, modes=["rev"])
    check_grads(lambda z: jaxloss.symmetric_cross_entropy(z, y), (x,), 1, modes=["rev"])
    check_grads(lambda z: jaxloss.bi_tempered_logistic_loss(z, y, t1=0.7, t2=1.3, num_iters=30),
                (x,), 1, modes=["rev"])
    check_grads(lambda q: jaxloss.generalized_cross_entropy(x, y, q=q), (jnp.asarray(0.4),), 1,
                modes=["rev"])


def ref_hier_ce(logits, labels, levels, level_weights):
  logp = logits - logsumexp(logits, axis=-1, keepdims=True)
  node = labels.copy()
  out = level_weights[0] * -np.take_along_axis(logp, node[:, None], -1)[:, 0]
  for m, w in zip(levels, level_weights[1:], strict=True):
    m = np.asarray(m)
    groups = m.max() + 1
    logp = np.stack([logsumexp(logp[:, m == g], axis=-1) for g in range(groups)], -1)
    node = m[node]
    out = out + w * -np.take_along_axis(logp, node[:, None], -1)[:, 0]
  return out


def test_hierarchical_cross_entropy_reference_two_levels():
  logits = RNG.normal(size=(7, 6)) * 2
  labels = RNG.integers(0, 6, size=7)
  levels = ((0, 0, 1, 1, 2, 2), (0, 0, 1))
  got = jaxloss.hierarchical_cross_entropy(jnp.asarray(logits, jnp.float32), jnp.asarray(labels),
                                           parents=levels, level_weights=(1.0, 0.5, 0.25),
                                           reduction="none")
  np.testing.assert_allclose(got, ref_hier_ce(logits, labels, levels, (1.0, 0.5, 0.25)),
                             rtol=1e-5)
  # With zero parent weights it is the plain cross-entropy.
  plain = jaxloss.hierarchical_cross_entropy(jnp.asarray(logits, jnp.float32),
                                             jnp.asarray(labels), parents=levels[0],
                                             level_weights=(1.0, 0.0), reduction="none")
  np.testing.assert_allclose(plain, -np.log(softmax(logits, -1)[np.arange(7), labels]), rtol=1e-5)


def test_hierarchical_mistake_inside_superclass_costs_less():
  # True class 0; putting mass on its sibling (1) is cheaper than on a cousin (2).
  sib = jnp.log(jnp.array([[0.2, 0.7, 0.05, 0.05]]))
  cousin = jnp.log(jnp.array([[0.2, 0.05, 0.7, 0.05]]))
  f = lambda x: jaxloss.hierarchical_cross_entropy(x, jnp.array([0]), parents=(0, 0, 1, 1))
  assert float(f(sib)) < float(f(cousin))


def test_hierarchical_errors():
  with pytest.raises(jaxloss.LossInputError, match="parents level 0 has 3 entries"):
    jaxloss.hierarchical_cross_entropy(jnp.zeros((2, 4)), jnp.zeros(2, jnp.int32),
                                       parents=(0, 0, 1))
  with pytest.raises(jaxloss.LossInputError, match="level_weights has 3 entries"):
    jaxloss.hierarchical_cross_entropy(jnp.zeros((2, 4)), jnp.zeros(2, jnp.int32),
                                       parents=(0, 0, 1, 1), level_weights=(1.0, 1.0, 1.0))


def test_hierarchical_cross_entropy_gradient_matches_finite_differences():
  from jax.test_util import check_grads

  with jax.enable_x64(True):
    x = jnp.asarray(RNG.normal(size=(4, 6)))
    y = jnp.asarray(RNG.integers(0, 6, size=4))
    check_grads(lambda z: jaxloss.hierarchical_cross_entropy(
        z, y, parents=((0, 0, 1, 1, 2, 2), (0, 0, 1))), (x,), 1, modes=["rev"])
