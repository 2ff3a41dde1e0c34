"""Robust losses: noisy-label losses, curricula, adversarial perturbations."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import f32
from flax import nnx
from scipy.optimize import brentq
from scipy.special import log_softmax, softmax

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


def test_self_paced_and_curriculum():
  losses = jnp.array([0.2, 0.9, 1.5, 3.0])
  np.testing.assert_array_equal(jaxloss.self_paced_weights(losses, threshold=1.0), [1, 1, 0, 0])
  np.testing.assert_allclose(jaxloss.self_paced_weights(losses, threshold=2.0, mode="linear"),
                             [0.9, 0.55, 0.25, 0.0], rtol=1e-6)
  g = jax.grad(lambda l: jnp.sum(jaxloss.self_paced_weights(l, threshold=1.0, mode="linear")))(
      losses)
  np.testing.assert_array_equal(g, 0.0)  # weights carry no gradient
  np.testing.assert_allclose(jaxloss.curriculum_threshold(0, initial=0.5, final=2.0,
                                                          num_steps=10), 0.5)
  np.testing.assert_allclose(jaxloss.curriculum_threshold(20, initial=0.5, final=2.0,
                                                          num_steps=10), 2.0)
  np.testing.assert_allclose(jaxloss.curriculum_threshold(
      5, initial=0.5, final=2.0, num_steps=10, schedule="exponential"), 1.0, rtol=1e-6)
  with pytest.raises(jaxloss.LossInputError, match="mode must be"):
    jaxloss.self_paced_weights(losses, threshold=1.0, mode="soft")


def test_fgsm_on_a_linear_model_matches_closed_form():
  w = RNG.normal(size=(3, 2))
  x = RNG.normal(size=(5, 3))
  y = RNG.integers(0, 2, size=5)

  def loss(z):
    return -jnp.mean(jax.nn.log_softmax(z @ f32(w))[jnp.arange(5), jnp.asarray(y)])

  adv = jaxloss.fgsm_perturbation(loss, f32(x), epsilon=0.1)
  # d loss / dx_i = (p_i - onehot_i) w^T / B
  p = softmax(x @ w, -1)
  grad = (p - np.eye(2)[y]) @ w.T / 5
  np.testing.assert_allclose(adv, x + 0.1 * np.sign(grad), rtol=1e-5, atol=1e-6)
  adv2 = jaxloss.fgsm_perturbation(loss, f32(x), epsilon=0.1, norm="l2")
  np.testing.assert_allclose(np.linalg.norm(np.asarray(adv2) - x, axis=1), 0.1, rtol=1e-4)


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_pgd_stays_in_the_ball_and_increases_the_loss(norm):
  w = f32(RNG.normal(size=(4, 3)))
  x = f32(np.clip(RNG.normal(size=(8, 4)), -1.5, 1.5))  # inside clip_range
  y = jnp.asarray(RNG.integers(0, 3, size=8))
  loss = lambda z: -jnp.mean(jax.nn.log_softmax(z @ w)[jnp.arange(8), y])
  f = jax.jit(lambda x, k: jaxloss.pgd_perturbation(loss, x, key=k, epsilon=0.3, step_size=0.1,
                                                   steps=7, norm=norm, clip_range=(-2.0, 2.0)))
  adv = f(x, jax.random.key(0))
  d = np.asarray(adv - x)
  if norm == "linf":
    assert np.abs(d).max() <= 0.3 + 1e-6
  else:
    assert np.linalg.norm(d, axis=1).max() <= 0.3 + 1e-5
  assert np.asarray(adv).max() <= 2.0 and np.asarray(adv).min() >= -2.0
  assert float(loss(adv)) > float(loss(x))
  f(x, jax.random.key(1))
  assert f._cache_size() == 1
  with pytest.raises(jaxloss.LossInputError, match="needs a PRNG key"):
    jaxloss.pgd_perturbation(loss, x, epsilon=0.3, step_size=0.1, steps=2)


def _toy_data(n, seed):
  # x1: robust but noisy feature; x2: tiny, perfectly predictive, non-robust feature.
  r = np.random.default_rng(seed)
  y = r.integers(0, 2, size=n)
  s = 2 * y - 1
  x = np.stack([s * 1.0 + 1.0 * r.normal(size=n), s * 0.1 + 0.01 * r.normal(size=n)], 1)
  return f32(x), jnp.asarray(y)


def _train(objective, steps=300):
  model = nnx.Linear(2, 2, rngs=nnx.Rngs(0))
  opt = nnx.Optimizer(model, optax.adam(0.05), wrt=nnx.Param)
  x, y = _toy_data(512, 0)

  @nnx.jit
  def step(model, opt, key):
    loss, grads = nnx.value_and_grad(lambda m: objective(m, x, y, key))(model)
    opt.update(model, grads)
    return loss

  for i in range(steps):
    step(model, opt, jax.random.key(i))
  return model


def _pgd_accuracy(model, eps=0.15):
  x, y = _toy_data(1000, 1)
  loss = lambda z: -jnp.mean(jax.nn.log_softmax(model(z))[jnp.arange(1000), y])
  adv = jaxloss.pgd_perturbation(loss, x, key=jax.random.key(7), epsilon=eps, step_size=0.05,
                                 steps=10)
  return float(jnp.mean(jnp.argmax(model(adv), -1) == y))


def test_adversarial_training_and_trades_improve_robust_accuracy():
  plain = _train(lambda m, x, y, k: -jnp.mean(jax.nn.log_softmax(m(x))[jnp.arange(512), y]))
  madry = _train(lambda m, x, y, k: jaxloss.adversarial_training_loss(
      m, x, y, key=k, epsilon=0.15, step_size=0.05, steps=5))
  trades = _train(lambda m, x, y, k: jaxloss.trades_loss(
      m, x, y, key=k, beta=6.0, epsilon=0.15, step_size=0.05, steps=5)[0])
  acc_plain, acc_madry, acc_trades = map(_pgd_accuracy, (plain, madry, trades))
  # Measured: plain ~0.57, Madry ~0.77, TRADES ~0.77 under PGD(eps=0.15).
  assert acc_madry > acc_plain + 0.12
  assert acc_trades > acc_plain + 0.12


def test_trades_parts_and_gradients():
  model = nnx.Linear(2, 2, rngs=nnx.Rngs(0))
  x, y = _toy_data(16, 3)
  (total, parts), grads = nnx.value_and_grad(
      lambda m: jaxloss.trades_loss(m, x, y, key=jax.random.key(0), beta=2.0), has_aux=True)(model)
  np.testing.assert_allclose(total, parts["natural"] + 2.0 * parts["robust"], rtol=1e-6)
  assert float(parts["robust"]) >= 0
  chex.assert_tree_all_finite(grads)


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
