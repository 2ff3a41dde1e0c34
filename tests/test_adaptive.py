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


def ref_rho(x, alpha):
  """rho(x, alpha, 1) in float64 for any alpha >= 0 (expm1/log1p: no cancellation near 0)."""
  z = x * x
  if alpha == 0.0:
    return np.log1p(0.5 * z)
  if alpha == 2.0:
    return 0.5 * z
  if alpha == np.inf:
    return np.expm1(0.5 * z)
  b = abs(alpha - 2.0)
  return b / alpha * np.expm1(0.5 * alpha * np.log1p(z / b))


def ref_log_z(alpha):
  """log of Z(alpha) = int exp(-rho(x, alpha, 1)) dx by adaptive quadrature in float64.

  Symmetric in x; [0, inf) split where the integrand changes character, each
  piece at relative tolerance 2e-14 (agrees with Barron's Meijer-G values to
  ~1e-10, see test_log_partition_matches_barrons_golden_values).
  """
  alpha = float(alpha)
  f = lambda x: np.exp(-ref_rho(x, alpha))
  parts = ((0.0, 1.0), (1.0, 4.0), (4.0, 16.0), (16.0, np.inf))
  with np.errstate(over="ignore"):
    z = sum(integrate.quad(f, lo, hi, epsabs=0, epsrel=2e-14, limit=1000)[0] for lo, hi in parts)
  return np.log(2.0 * z)


# Near 0, 1, 2 (the log singularity of d log Z / d alpha) and 4, the range ends
# (0, inf), Barron's test points n / 11, and random points.
_ALPHAS = np.concatenate([
    [0.0, 1e-9, 1e-7, 1e-5, 1e-3, 0.01, 0.1],
    [1 - 1e-6, 1.0, 1 + 1e-6],
    2.0 + np.array([-0.3, -1e-2, -1e-4, -1e-6, -1e-7, 0.0, 1e-7, 1e-6, 1e-4, 1e-2, 0.3]),
    [4 - 1e-6, 4.0, 4 + 1e-6, 4.01, 5.0, 8.0, 30.0, 1e3, 1e6, 1e12, np.inf],
    np.arange(23) / 11,
    RNG.uniform(0.0, 4.0, 12), 4.0 / RNG.uniform(0.0, 1.0, 6)])


def test_log_partition_matches_quadrature_to_1e7_relative():
  ref = np.array([ref_log_z(a) for a in _ALPHAS])
  with jax.enable_x64(True):
    got = np.asarray(jaxloss.barron_log_partition(jnp.asarray(_ALPHAS, jnp.float64)))
  np.testing.assert_allclose(got, ref, rtol=1e-7, atol=0)
  # float32: the same table plus one rounding of the result; Barron's test tolerance.
  a32 = _ALPHAS.astype(np.float32)
  ref32 = np.array([ref_log_z(a) for a in a32])
  got32 = jaxloss.barron_log_partition(jnp.asarray(a32))
  assert got32.dtype == jnp.float32
  np.testing.assert_allclose(np.asarray(got32, np.float64), ref32, rtol=1e-7, atol=1e-7)


def test_log_partition_matches_barrons_golden_values():
  # Z(n / d) from the closed form (Meijer G) that Barron evaluated in Mathematica,
  # published with 10 digits in robust_loss's distribution_test.py, and
  # log Z(inf) = 0.70526025442 from the same file; the closed forms at 0 and 2.
  golden = ((1, 7, 4.080330073), (1, 4, 3.912448576), (2, 5, 3.735479786),
            (1, 2, 3.638993131), (3, 4, 3.439385624), (1, 1, 3.272306973),
            (5, 4, 3.119044506), (3, 2, 2.965924889), (7, 4, 2.794052016),
            (7, 3, 2.260434598), (5, 2, 2.218882601), (3, 1, 2.153202857),
            (7, 2, 2.121140098), (4, 1, 2.101960916), (5, 1, 2.080000512),
            (8, 1, 2.054500222), (15, 2, 2.056990258))
  alphas = np.array([n / d for n, d, _ in golden] + [0.0, 2.0, np.inf])
  ref = np.log([z for _, _, z in golden] + [np.pi * np.sqrt(2), np.sqrt(2 * np.pi)])
  ref = np.append(ref, 0.70526025442)
  with jax.enable_x64(True):
    got = np.asarray(jaxloss.barron_log_partition(jnp.asarray(alphas)))
  np.testing.assert_allclose(got, ref, rtol=1e-7, atol=0)


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0, 1.9, 2.0 - 1e-3, 2.0 + 1e-3, 3.0, 4.0, 6.0,
                                   50.0])
def test_log_partition_gradient_matches_finite_differences(alpha):
  h = min(1e-5, alpha / 4) if alpha > 0 else 1e-7
  lo = max(alpha - h, 0.0)
  fd = (ref_log_z(alpha + h) - ref_log_z(lo)) / (alpha + h - lo)
  with jax.enable_x64(True):
    g = float(jax.grad(jaxloss.barron_log_partition)(jnp.asarray(alpha)))
  # The interpolant's derivative is less accurate than its value, most near the
  # log singularity at 2 (measured: <= 6e-4 relative for |alpha - 2| >= 1e-7,
  # 4e-5 at 1e-3, 1e-5 beyond 1e-2).
  np.testing.assert_allclose(g, fd, rtol=1e-4 if abs(alpha - 2) < 0.01 else 2e-5)


def test_log_partition_gradient_finite_and_continuous():
  # d log Z / d alpha is -inf at alpha = 2 (log Z ~ 0.25 (a - 2) log|a - 2|):
  # the interpolant's is finite there and continuous (C1) across the knots
  # and the joins of the three tables at alpha = 1 and 4.
  grad = jax.grad(jaxloss.barron_log_partition)
  for a in (0.0, 1.0, 2.0, 4.0, 1e-30, 1e30, np.inf):
    assert np.isfinite(float(grad(jnp.float32(a))))
  assert float(grad(jnp.float32(-1.0))) == 0.0         # clipped below 0
  with jax.enable_x64(True):
    for a in (1.0, 4.0, 2.0 + 2.0**-24, 2.0 + 2.0**-10, 0.5, 2.0**-20):
      # a is a knot: its left neighbour float lies in the interval on the left.
      left, right = grad(jnp.asarray(np.nextafter(a, -np.inf))), grad(jnp.asarray(a))
      np.testing.assert_allclose(left, right, rtol=1e-7)


@pytest.mark.parametrize("alpha", [0.0, 1e-4, 0.5, 1.0, 1.5, 2.0, 2.0 + 1e-6, 3.0, 4.0, 7.0,
                                   np.inf])
def test_adaptive_nll_matches_quadrature_reference(alpha):
  # -log p(x) = rho(x / c, alpha) + log c + log Z(alpha), all in float64 here.
  x = np.concatenate([X[0], [0.0, 0.1]]) * (0.2 if alpha == np.inf else 1.0)
  scale = 1.7
  ref = ref_rho(x / scale, alpha) + np.log(scale) + ref_log_z(alpha)
  with jax.enable_x64(True):
    got = jaxloss.adaptive_robust_loss(jnp.asarray(x), alpha=alpha, scale=scale,
                                       reduction="none")
  np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-7, atol=1e-8)
  got32 = jaxloss.adaptive_robust_loss(jnp.asarray(x, jnp.float32), alpha=alpha, scale=scale,
                                       reduction="none")
  np.testing.assert_allclose(np.asarray(got32, np.float64), ref, rtol=2e-6, atol=1e-6)


def test_adaptive_nll_is_a_normalised_density():
  # exp(-NLL) integrates to 1 over x for any (alpha, scale).
  for alpha, scale in ((0.3, 0.5), (1.0, 2.0), (1.9, 1.0), (3.0, 0.7), (6.0, 1.0)):
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
