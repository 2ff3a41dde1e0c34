"""Barron's general and adaptive robust loss (jaxloss.adaptive): float64 references, special
cases, the log-partition table, gradients and learning alpha.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from scipy import integrate

import jaxloss

RNG = np.random.default_rng(0)


X = RNG.normal(size=(7, 5)) * 3


def ref_general(x, alpha, c):
  """Barron 2019, Eq. 1, evaluated directly in float64 (alpha not in {0, 2, +-inf})."""
  z = (x / c) ** 2
  b = abs(alpha - 2)
  return b / alpha * ((z / b + 1) ** (alpha / 2) - 1)


def ref_special(x, alpha, c):
  z = (x / c) ** 2
  return {2.0: 0.5 * z, 0.0: np.log(0.5 * z + 1), -np.inf: 1 - np.exp(-0.5 * z),
          np.inf: np.exp(0.5 * z) - 1}[alpha]


@pytest.mark.parametrize("alpha", [-7.0, -2.0, -0.5, 0.5, 1.0, 1.5, 3.0, 6.0])
@pytest.mark.parametrize("scale", [0.3, 1.0, 4.0])
def test_general_case_matches_reference(alpha, scale):
  got = jaxloss.general_robust_loss(jnp.asarray(X, jnp.float32), alpha=alpha, scale=scale,
                                    reduction="none")
  np.testing.assert_allclose(got, ref_general(X, alpha, scale), rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("alpha", [2.0, 0.0, -np.inf, np.inf])
def test_special_cases_match_closed_forms(alpha):
  x = X * (0.2 if alpha == np.inf else 1.0)
  got = jaxloss.general_robust_loss(jnp.asarray(x, jnp.float32), alpha=alpha, scale=1.3,
                                    reduction="none")
  np.testing.assert_allclose(got, ref_special(x, alpha, 1.3), rtol=1e-5, atol=1e-6)


def test_named_members_of_the_family():
  x = jnp.asarray(X, jnp.float32)
  z = X**2
  # alpha = 1: pseudo-Huber / Charbonnier sqrt(x^2 + 1) - 1 (kornia's charbonnier_loss).
  np.testing.assert_allclose(jaxloss.general_robust_loss(x, alpha=1.0, scale=1.0, reduction="none"),
                             np.sqrt(z + 1) - 1, rtol=1e-5, atol=1e-6)
  # alpha = -2: Geman-McClure 2 x^2 / (x^2 + 4).
  np.testing.assert_allclose(
      jaxloss.general_robust_loss(x, alpha=-2.0, scale=1.0, reduction="none"),
      2 * z / (z + 4), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("alpha,limit", [(1e-6, 0.0), (-1e-6, 0.0), (2 - 1e-5, 2.0),
                                         (2 + 1e-5, 2.0), (-1e4, -np.inf)])
def test_continuous_near_special_values(alpha, limit):
  x = jnp.asarray(X, jnp.float32)
  near = jaxloss.general_robust_loss(x, alpha=alpha, scale=1.0, reduction="none")
  np.testing.assert_allclose(near, ref_special(X, limit, 1.0), rtol=2e-3, atol=2e-3)


def test_per_dimension_parameters_broadcast():
  alpha = np.array([-2.0, 0.0, 1.0, 2.0, 4.0])
  scale = np.array([0.5, 1.0, 2.0, 1.0, 3.0])
  got = jaxloss.general_robust_loss(jnp.asarray(X, jnp.float32), alpha=jnp.asarray(alpha),
                                    scale=jnp.asarray(scale), reduction="none")
  for j, (a, c) in enumerate(zip(alpha, scale, strict=True)):
    ref = ref_special(X[:, j], a, c) if a in (0.0, 2.0) else ref_general(X[:, j], a, c)
    np.testing.assert_allclose(got[:, j], ref, rtol=2e-5, atol=1e-6)


def test_gradients_match_finite_differences_in_x_alpha_scale():
  with jax.enable_x64(True):
    x = jnp.asarray(X[:2])
    for alpha in (-3.0, -0.7, 0.6, 1.2, 3.5):
      f = lambda x, a, c: jaxloss.general_robust_loss(x, alpha=a, scale=c)
      check_grads(f, (x, jnp.asarray(alpha), jnp.asarray(1.7)), order=1, modes=["rev"])


def test_gradients_finite_at_special_values_and_zero_residual():
  x = jnp.asarray(np.concatenate([X[:1], np.zeros((1, 5))]), jnp.float32)
  for alpha in (0.0, 2.0, -jnp.inf, 1e-8, 2 - 1e-7, -2.0, 1.0):
    g = jax.grad(lambda x, a, c: jaxloss.general_robust_loss(x, alpha=a, scale=c),
                 argnums=(0, 1, 2))(x, alpha, 1.0)
    chex.assert_tree_all_finite(g)
  # The Welsch limit is bounded: a huge residual gives loss -> 1 and gradient -> 0.
  v = jaxloss.general_robust_loss(jnp.array([1e4]), alpha=-jnp.inf, scale=1.0)
  assert float(v) == pytest.approx(1.0)


def test_learning_alpha_and_scale_in_a_train_step():
  # Heavy-tailed residuals (Cauchy): minimising the loss in alpha is not the
  # adaptive NLL, but the parameters must be trainable through grad.
  g = jax.grad(lambda a: jaxloss.general_robust_loss(jnp.asarray(X), alpha=a, scale=1.0))(1.0)
  assert np.isfinite(g) and g > 0  # larger alpha -> larger loss for |x| > scale


def test_errors():
  with pytest.raises(jaxloss.LossInputError, match="alpha has shape"):
    jaxloss.general_robust_loss(jnp.zeros((4, 3)), alpha=jnp.ones(5), scale=1.0)
  with pytest.raises(jaxloss.LossInputError, match="scale must be > 0"):
    jaxloss.general_robust_loss(jnp.zeros(3), alpha=1.0, scale=0.0)
  with pytest.raises(TypeError):
    jaxloss.general_robust_loss(jnp.zeros(3))  # alpha and scale are required


def ref_log_z(alpha):
  f = lambda x: np.exp(-(ref_special(x, alpha, 1.0) if alpha in (0.0, 2.0)
                          else ref_general(x, alpha, 1.0)))
  return np.log(integrate.quad(f, -np.inf, np.inf, epsabs=1e-12, epsrel=1e-10)[0])


def test_log_partition_closed_forms_and_off_grid_values():
  np.testing.assert_allclose(jaxloss.barron_log_partition(0.0), np.log(np.pi * np.sqrt(2)),
                             rtol=1e-6)
  np.testing.assert_allclose(jaxloss.barron_log_partition(2.0), 0.5 * np.log(2 * np.pi),
                             rtol=1e-6)
  for a in RNG.uniform(0.01, 3.99, size=6):
    np.testing.assert_allclose(jaxloss.barron_log_partition(float(a)), ref_log_z(float(a)),
                               rtol=1e-5, atol=1e-6)


def test_log_partition_is_differentiable_in_alpha():
  a0 = 0.73
  with jax.enable_x64(True):
    g = jax.grad(jaxloss.barron_log_partition)(jnp.asarray(a0))
  fd = (ref_log_z(a0 + 1e-4) - ref_log_z(a0 - 1e-4)) / 2e-4
  np.testing.assert_allclose(g, fd, rtol=1e-3)


def test_adaptive_nll_is_a_normalised_density():
  # exp(-NLL) integrates to 1 over x for any (alpha, scale).
  for alpha, scale in ((0.3, 0.5), (1.0, 2.0), (1.9, 1.0), (3.0, 0.7)):
    xs = np.linspace(-400, 400, 400001)
    nll = jaxloss.adaptive_robust_loss(jnp.asarray(xs), alpha=alpha, scale=scale, reduction="none")
    mass = np.trapezoid(np.exp(-np.asarray(nll, np.float64)), xs)
    np.testing.assert_allclose(mass, 1.0, atol=2e-3 if alpha < 0.5 else 1e-4)


def test_adaptive_nll_at_alpha_two_is_gaussian():
  x = X[:2]
  got = jaxloss.adaptive_robust_loss(jnp.asarray(x, jnp.float32), alpha=2.0, scale=1.5,
                                     reduction="none")
  ref = 0.5 * (x / 1.5) ** 2 + np.log(1.5) + 0.5 * np.log(2 * np.pi)
  np.testing.assert_allclose(got, ref, rtol=1e-5)


def _fit_alpha(residuals, steps=300):
  import optax
  from flax import nnx

  module = jaxloss.AdaptiveRobustLoss(num_dims=1)
  opt = nnx.Optimizer(module, optax.adam(0.05), wrt=nnx.Param)

  @nnx.jit
  def step(module, opt, x):
    loss, grads = nnx.value_and_grad(lambda m: m(x))(module)
    opt.update(module, grads)
    return loss

  x = jnp.asarray(residuals[:, None], jnp.float32)
  for _ in range(steps):
    step(module, opt, x)
  return float(module.alpha()[0]), float(module.scale()[0])


def test_learned_alpha_follows_the_tails():
  rng = np.random.default_rng(1)
  a_cauchy, _ = _fit_alpha(rng.standard_cauchy(2000))
  a_gauss, s_gauss = _fit_alpha(rng.normal(size=2000) * 2.0)
  assert a_cauchy < 0.5 < 1.5 < a_gauss          # heavy tails -> small alpha; Gaussian -> ~2
  assert 1.6 < s_gauss < 2.4                    # and the Gaussian's sigma is recovered
