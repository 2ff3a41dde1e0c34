"""Composite, multi-task and hierarchical losses."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from scipy.special import logsumexp, softmax

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
