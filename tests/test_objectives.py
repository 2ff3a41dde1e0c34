"""jaxloss.objectives: combinators, task weighting, deep supervision, curricula, adversarial
perturbations and meta-learned loss parameters (helpers that are not losses).
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import f32
from flax import nnx
from scipy.special import softmax

import jaxloss

RNG = np.random.default_rng(0)


def test_combine_weights_static_traced_and_learned():
  p = jnp.asarray(RNG.normal(size=(4, 3)), jnp.float32)
  t = jnp.asarray(RNG.normal(size=(4, 3)), jnp.float32)
  f = jaxloss.combine({"mae": jaxloss.mae, "mse": (jaxloss.mse, 0.25)})
  total, parts = f(p, t)
  d = np.asarray(p, np.float64) - np.asarray(t, np.float64)
  np.testing.assert_allclose(parts["mae"], np.abs(d).mean(), rtol=1e-6)
  np.testing.assert_allclose(parts["mse"], (d**2).mean(), rtol=1e-6)
  np.testing.assert_allclose(total, np.abs(d).mean() + 0.25 * (d**2).mean(), rtol=1e-6)
  # Traced weights: the gradient w.r.t. a weight is its component.
  g = jax.grad(lambda w: f(p, t, weights={"mse": w})[0])(1.0)
  np.testing.assert_allclose(g, (d**2).mean(), rtol=1e-5)
  # has_aux composes with value_and_grad.
  (v, aux), gp = jax.value_and_grad(lambda p: f(p, t), has_aux=True)(p)
  chex.assert_tree_all_finite(gp)
  assert set(aux) == {"mae", "mse"}
  with pytest.raises(ValueError, match="unknown losses"):
    f(p, t, weights={"nope": 1.0})


def test_uncertainty_weighting_formula_and_learning():
  losses = jnp.array([0.5, 3.0])
  s = jnp.array([0.2, -0.4])
  total, parts = jaxloss.uncertainty_weighting(losses, s)
  ref = 0.5 * np.exp(-np.array([0.2, -0.4])) * np.array([0.5, 3.0]) + 0.5 * np.array([0.2, -0.4])
  np.testing.assert_allclose(total, ref.sum(), rtol=1e-6)
  # Optimum of 1/2 e^{-s} L + s/2 is s = log L: the learned variances order as the losses do.
  s_opt = jnp.zeros(2)
  for _ in range(500):
    s_opt = s_opt - 0.1 * jax.grad(lambda s: jaxloss.uncertainty_weighting(losses, s)[0])(s_opt)
  np.testing.assert_allclose(s_opt, np.log([0.5, 3.0]), atol=1e-3)


def test_uncertainty_weighting_learns_task_noise_in_a_flax_model():
  # Two regression heads on the same input; task 2's targets are 4x noisier.
  rng = np.random.default_rng(2)
  x = rng.normal(size=(512, 3)).astype(np.float32)
  w_true = rng.normal(size=(3, 2)).astype(np.float32)
  y = x @ w_true + rng.normal(size=(512, 2)).astype(np.float32) * np.array([0.1, 0.4], np.float32)

  class Model(nnx.Module):
    def __init__(self, rngs):
      self.head = nnx.Linear(3, 2, rngs=rngs)
      self.log_vars = nnx.Param(jnp.zeros(2))

  model = Model(nnx.Rngs(0))
  opt = nnx.Optimizer(model, optax.adam(0.05), wrt=nnx.Param)

  @nnx.jit
  def step(model, opt):
    def loss_fn(m):
      pred = m.head(x)
      per_task = jnp.stack([jaxloss.mse(pred[:, 0], y[:, 0]), jaxloss.mse(pred[:, 1], y[:, 1])])
      return jaxloss.uncertainty_weighting(per_task, m.log_vars[...])[0]
    loss, grads = nnx.value_and_grad(loss_fn)(model)
    opt.update(model, grads)
    return loss

  for _ in range(400):
    step(model, opt)
  s = np.asarray(model.log_vars[...])
  assert s[1] > s[0] + 1.0  # the noisier task gets the larger variance (smaller weight)
  np.testing.assert_allclose(np.exp(s), [0.1**2, 0.4**2], rtol=0.35)


def test_dynamic_weight_average():
  h = np.array([[1.0, 2.0, 3.0], [0.5, 2.0, 3.3]])
  r = h[1] / h[0]
  ref = 3 * np.exp(r / 2.0) / np.exp(r / 2.0).sum()
  np.testing.assert_allclose(jaxloss.dynamic_weight_average(jnp.asarray(h)), ref, rtol=1e-6)
  with pytest.raises(jaxloss.LossInputError, match="expected \\[2, num_tasks\\]"):
    jaxloss.dynamic_weight_average(jnp.ones((3, 2)))


def test_gradnorm_matches_definition_and_moves_weights():
  losses = np.array([0.4, 1.5])
  init = np.array([1.0, 2.0])
  g = RNG.normal(size=(2, 5))
  w = np.array([1.0, 1.0])
  lg, parts = jaxloss.gradnorm(jnp.asarray(losses), jnp.asarray(init), jnp.asarray(g),
                               jnp.asarray(w), alpha=1.5)
  G = w * np.linalg.norm(g, axis=1)
  rt = losses / init
  target = G.mean() * (rt / rt.mean()) ** 1.5
  np.testing.assert_allclose(parts["grad_norms"], G, rtol=1e-5)
  np.testing.assert_allclose(lg, np.abs(G - target).sum(), rtol=1e-5)
  # d L_grad / d w_i = sign(G_i - target_i) ||g_i||: descending it moves G toward target.
  dw = jax.grad(lambda w: jaxloss.gradnorm(jnp.asarray(losses), jnp.asarray(init),
                                          jnp.asarray(g), w)[0])(jnp.asarray(w))
  np.testing.assert_allclose(dw, np.sign(G - target) * np.linalg.norm(g, axis=1), rtol=1e-5)
  # Pytree gradients with a leading task axis work too.
  lg2, _ = jaxloss.gradnorm(jnp.asarray(losses), jnp.asarray(init),
                            {"a": jnp.asarray(g[:, :2]), "b": jnp.asarray(g[:, 2:])},
                            jnp.asarray(w))
  # The norm over a pytree sums per-leaf partial sums: float32 rounding differs.
  np.testing.assert_allclose(lg2, lg, rtol=1e-5)


def test_deep_supervision_levels_and_downsampling():
  labels = jnp.asarray(RNG.integers(0, 3, size=(2, 8, 8)))
  preds = [jnp.asarray(RNG.normal(size=(2, s, s, 3)), jnp.float32) for s in (8, 4, 2)]

  def ce(logits, y):
    lp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(lp, y[..., None], -1))

  total, parts = jaxloss.deep_supervision_loss(ce, preds, labels)
  np.testing.assert_allclose(parts["weights"], [1.0, 0.5, 0.25])
  # Nearest-neighbour label downsampling picks pixel centres: 8 -> 4 takes rows 1, 3, 5, 7.
  lab4 = np.asarray(labels)[:, 1::2, 1::2]
  np.testing.assert_allclose(parts["level_1"], ce(preds[1], jnp.asarray(lab4)), rtol=1e-6)
  np.testing.assert_allclose(total, parts["level_0"] + 0.5 * parts["level_1"]
                             + 0.25 * parts["level_2"], rtol=1e-6)
  # Dense targets are area-pooled.
  dense = jnp.asarray(RNG.uniform(size=(2, 8, 8, 1)), jnp.float32)
  _, p2 = jaxloss.deep_supervision_loss(jaxloss.mse, [dense, jnp.zeros((2, 4, 4, 1))], dense,
                                        weight_mode="same")
  pooled = np.asarray(dense).reshape(2, 4, 2, 4, 2, 1).mean(axis=(2, 4))
  np.testing.assert_allclose(p2["level_1"], (pooled**2).mean(), rtol=1e-5)
  with pytest.raises(jaxloss.LossInputError, match="got 1 weights for 3"):
    jaxloss.deep_supervision_loss(ce, preds, labels, weights=[1.0])


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


def _huber_regression_problem():
  rng = np.random.default_rng(3)
  x = rng.normal(size=(128, 2)).astype(np.float32)
  w_true = np.array([1.5, -0.5], np.float32)
  y = x @ w_true + 0.05 * rng.normal(size=128).astype(np.float32)
  y_noisy = y.copy()
  y_noisy[:16] += 6.0 * np.sign(x[:16, 0])                                  # outliers in the training set only
  xv = rng.normal(size=(64, 2)).astype(np.float32)
  train_loss = lambda w, delta, b: jaxloss.huber_loss(b[0] @ w, b[1], delta=delta)
  val_loss = lambda w, b: jaxloss.mse(b[0] @ w, b[1])
  return train_loss, val_loss, (jnp.asarray(x), jnp.asarray(y_noisy)), (jnp.asarray(xv),
                                                                         jnp.asarray(xv @ w_true))


def test_meta_gradient_matches_finite_differences_of_the_unrolled_problem():
  import optax

  train_loss, val_loss, tb, vb = _huber_regression_problem()
  kw = dict(inner_optimizer=optax.sgd(0.3), inner_steps=15)
  with jax.enable_x64(True):
    tb64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), tb)
    vb64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), vb)
    w64 = jnp.zeros(2, jnp.float64)
    v, g = jaxloss.meta_gradient(train_loss, val_loss, w64, jnp.asarray(3.0), tb64, vb64, **kw)
    h = 1e-5
    vp, _ = jaxloss.meta_gradient(train_loss, val_loss, w64, jnp.asarray(3.0 + h), tb64, vb64,
                                  **kw)
    vm, _ = jaxloss.meta_gradient(train_loss, val_loss, w64, jnp.asarray(3.0 - h), tb64, vb64,
                                  **kw)
  np.testing.assert_allclose(g, (vp - vm) / (2 * h), rtol=1e-4)
  assert float(g) > 0  # a smaller delta (more robust to the outliers) lowers the validation loss


def test_meta_learning_moves_delta_to_lower_validation_loss():
  import optax

  train_loss, val_loss, tb, vb = _huber_regression_problem()
  delta, hist = jaxloss.meta_learn_loss_params(
      train_loss, val_loss, jnp.zeros(2), jnp.asarray(3.0), tb, vb,
      inner_optimizer=optax.sgd(0.3), inner_steps=15, outer_optimizer=optax.adam(0.2),
      outer_steps=30, project=lambda d: jnp.maximum(d, 0.05))
  assert float(delta) < 1.5
  assert hist[-1] < 0.2 * hist[0]
