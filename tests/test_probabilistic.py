"""Tests for jaxloss.probabilistic: likelihoods, proper scores, forecast errors.

References are independent float64 NumPy/SciPy implementations written from
the papers / peer formulas (scipy.stats log-densities for the NLLs).
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import close, f32s
from jax.test_util import check_grads
from scipy import special, stats

import jaxloss
from jaxloss import LossInputError

RNG = np.random.default_rng(0)


# ---------------------------------------------------------------- likelihoods


def test_gaussian_nll_matches_torch_formula():
  mu, y = RNG.normal(size=(2, 4, 3))
  var = RNG.uniform(0.2, 3.0, (4, 3))
  var[0, 0] = 1e-9  # clamped to eps
  v = np.maximum(var, 1e-6)
  ref = 0.5 * (np.log(v) + (mu - y) ** 2 / v)
  out = jaxloss.gaussian_nll(*f32s(mu, y, var), reduction="none")
  close(out, ref, rtol=2e-5)
  full = jaxloss.gaussian_nll(*f32s(mu, y, var), full=True)
  close(full, np.mean(ref) + 0.5 * np.log(2 * np.pi), rtol=2e-5)
  # full=True is the exact Gaussian log-density (scipy) away from the clamp.
  ok = var > 1e-6
  close(np.asarray(jaxloss.gaussian_nll(*f32s(mu, y, var), full=True, reduction="none"))[ok],
         -stats.norm.logpdf(y, mu, np.sqrt(var))[ok], rtol=1e-5)


def test_gaussian_nll_var_shapes_follow_torch():
  mu, y = f32s(*RNG.normal(size=(2, 4, 3)))
  row_var = jnp.asarray(RNG.uniform(0.5, 2, (4,)), jnp.float32)
  a = jaxloss.gaussian_nll(mu, y, row_var, reduction="none")
  b = jaxloss.gaussian_nll(mu, y, jnp.broadcast_to(row_var[:, None], (4, 3)), reduction="none")
  chex.assert_trees_all_close(a, b)
  c = jaxloss.gaussian_nll(mu, y, row_var[:, None], reduction="none")
  chex.assert_trees_all_close(a, c)
  with pytest.raises(LossInputError, match="gaussian_nll: var has shape"):
    jaxloss.gaussian_nll(mu, y, jnp.ones((3, 4)))


def test_gaussian_nll_clamp_passes_gradient_like_torch():
  # torch clamps a detached copy: d/dvar is the formula's derivative at eps.
  r, var = 0.3, 1e-8
  g = jax.grad(lambda v: jaxloss.gaussian_nll(jnp.array([r]), jnp.array([0.]), v))(
      jnp.array([var]))
  eps = 1e-6
  close(g, [0.5 * (1 / eps - r * r / eps ** 2)], rtol=1e-4)
  assert float(g[0]) != 0.0


def test_student_t_and_laplace_match_scipy():
  mu, y = RNG.normal(size=(2, 5, 4))
  s = RNG.uniform(0.3, 2.0, (5, 4))
  nu = RNG.uniform(0.5, 30.0, (5, 4))
  out = jaxloss.student_t_nll(*f32s(mu, y, s, nu), reduction="none")
  close(out, -stats.t.logpdf(y, nu, mu, s), rtol=1e-5, atol=1e-5)
  out = jaxloss.laplace_nll(*f32s(mu, y, s), reduction="none")
  close(out, -stats.laplace.logpdf(y, mu, s), rtol=1e-5)
  # Scalar (broadcast) parameters.
  out = jaxloss.laplace_nll(*f32s(mu, y), jnp.float32(0.7), reduction="none")
  close(out, -stats.laplace.logpdf(y, mu, 0.7), rtol=1e-5)


def test_poisson_nll_matches_torch_formula_and_scipy():
  x = RNG.normal(size=(6, 5))
  y = RNG.poisson(3.0, (6, 5)).astype(float)
  out = jaxloss.poisson_nll(*f32s(x, y), reduction="none")
  close(out, np.exp(x) - y * x, rtol=1e-5)
  # Dropping log(y!) is the only difference to the exact log-pmf.
  close(out + special.gammaln(y + 1), -stats.poisson.logpmf(y, np.exp(x)), rtol=1e-5,
         atol=1e-5)
  stirling = np.where(y > 1, y * np.log(np.maximum(y, 1)) - y
                      + 0.5 * np.log(2 * np.pi * np.maximum(y, 1)), 0.0)
  out = jaxloss.poisson_nll(*f32s(x, y), full=True, reduction="none")
  close(out, np.exp(x) - y * x + stirling, rtol=1e-5, atol=1e-5)
  rate = np.exp(x)
  out = jaxloss.poisson_nll(*f32s(rate, y), log_input=False, reduction="none")
  close(out, rate - y * np.log(rate + 1e-8), rtol=1e-5, atol=1e-5)
  # Zero rate, zero count with log_input=False: finite (eps), value 0.
  v, g = jax.value_and_grad(lambda r: jaxloss.poisson_nll(r, jnp.zeros(2), log_input=False))(
      jnp.zeros(2))
  assert float(v) == 0.0
  chex.assert_tree_all_finite(g)


def test_negative_binomial_matches_scipy_and_poisson_limit():
  mu = RNG.uniform(0.2, 8.0, (6, 5))
  a = RNG.uniform(0.05, 2.0, (6, 5))
  y = RNG.poisson(4.0, (6, 5)).astype(float)
  out = jaxloss.negative_binomial_nll(*f32s(mu, y, a), reduction="none")
  ref = -stats.nbinom.logpmf(y, 1 / a, 1 / (1 + a * mu))
  close(out, ref, rtol=1e-5, atol=2e-5)
  out = jaxloss.negative_binomial_nll(*f32s(mu, y), jnp.float32(1e-7), reduction="none")
  close(out, -stats.poisson.logpmf(y, mu), rtol=1e-4, atol=1e-4)


def test_gamma_and_beta_nll_match_scipy():
  k = RNG.uniform(0.5, 4.0, (5, 3))
  r = RNG.uniform(0.5, 3.0, (5, 3))
  y = RNG.uniform(0.1, 4.0, (5, 3))
  out = jaxloss.gamma_nll(*f32s(k, y, r), reduction="none")
  close(out, -stats.gamma.logpdf(y, k, scale=1 / r), rtol=1e-5, atol=1e-5)
  yb = RNG.uniform(0.05, 0.95, (5, 3))
  out = jaxloss.beta_nll(*f32s(k, yb, r), reduction="none")
  close(out, -stats.beta.logpdf(yb, k, r), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name,nargs", [
    ("gaussian_nll", 3), ("student_t_nll", 4), ("laplace_nll", 3),
    ("negative_binomial_nll", 3), ("gamma_nll", 3), ("beta_nll", 3), ("crps_gaussian", 3)])
def test_nll_gradients_match_finite_differences(name, nargs):
  fn = getattr(jaxloss, name)
  with jax.enable_x64(True):
    rng = np.random.default_rng(1)
    first = rng.uniform(0.5, 2.0, (3, 2))
    target = rng.uniform(0.2, 0.8, (3, 2))
    params = [rng.uniform(0.5, 2.0, (3, 2)) for _ in range(nargs - 2)]
    args = [jnp.asarray(first), jnp.asarray(target)] + [jnp.asarray(p) for p in params]

    def f(a, *ps):
      return fn(a, args[1], *ps)

    check_grads(f, (args[0], *args[2:]), order=1, modes=["rev"])


def test_poisson_gradients_match_finite_differences():
  with jax.enable_x64(True):
    x = jnp.asarray(RNG.normal(size=(4,)))
    y = jnp.asarray([0.0, 1.0, 3.0, 7.0])
    check_grads(lambda a: jaxloss.poisson_nll(a, y, full=True), (x,), order=1, modes=["rev"])
    check_grads(lambda a: jaxloss.poisson_nll(a, y, log_input=False), (jnp.exp(x),), order=1,
                modes=["rev"])


def test_keyword_targets():
  mu, y = f32s(*RNG.normal(size=(2, 4)))
  s = jnp.full(4, 0.7)
  chex.assert_trees_all_close(jaxloss.gaussian_nll(mu, targets=y, var=s),
                              jaxloss.gaussian_nll(mu, y, s))
  chex.assert_trees_all_close(jaxloss.student_t_nll(loc=mu, targets=y, scale=s, df=s),
                              jaxloss.student_t_nll(mu, y, s, s))
  chex.assert_trees_all_close(jaxloss.poisson_nll(log_rate=mu, targets=y),
                              jaxloss.poisson_nll(mu, y))


def test_small_scale_edges_are_finite():
  mu, y = f32s(*RNG.normal(size=(2, 4)))
  zero = jnp.zeros(4)
  for fn in (jaxloss.gaussian_nll, jaxloss.laplace_nll, jaxloss.crps_gaussian):
    v, g = jax.value_and_grad(fn, argnums=(0, 2))(mu, y, zero)
    chex.assert_tree_all_finite((v, g))
  v, g = jax.value_and_grad(jaxloss.student_t_nll, argnums=(0, 2, 3))(mu, y, zero, zero)
  chex.assert_tree_all_finite((v, g))
  v, g = jax.value_and_grad(jaxloss.negative_binomial_nll, argnums=(0, 2))(zero, zero, zero)
  chex.assert_tree_all_finite((v, g))


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("call,match", [
    (lambda: jaxloss.gaussian_nll(jnp.ones(3), jnp.ones(4), jnp.ones(3)),
     "gaussian_nll: targets has shape"),
    (lambda: jaxloss.gaussian_nll(jnp.ones(3), jnp.ones(3), jnp.ones(3), eps=-1.0),
     "gaussian_nll: eps must be >= 0"),
    (lambda: jaxloss.student_t_nll(jnp.ones(3), jnp.ones(3), jnp.ones(4), jnp.ones(3)),
     "student_t_nll: scale has shape"),
    (lambda: jaxloss.poisson_nll(jnp.ones(3), jnp.ones(2)), "poisson_nll: targets has shape"),
    (lambda: jaxloss.negative_binomial_nll(jnp.ones(3), jnp.ones(3), jnp.ones(2)),
     "negative_binomial_nll: alpha has shape"),
    (lambda: jaxloss.mape(jnp.ones(3, jnp.int32), jnp.ones(3)), "mape: predictions must be"),
    (lambda: jaxloss.smape(jnp.ones(3), jnp.ones(2)), "smape: targets has shape"),
    (lambda: jaxloss.laplace_nll(jnp.ones(3), jnp.ones(3), jnp.ones(3), reduction="avg"),
     "laplace_nll: reduction must be one of"),
])
def test_errors_name_the_loss(call, match):
  with pytest.raises((ValueError, TypeError), match=match):
    call()




@pytest.mark.parametrize("bad", [-1e-3, -1.0, -100.0, -1e6])
def test_eps_clamp_holds_for_large_negative_parameters(bad):
  """Issue 19.15: the clamp is exact in the value at any magnitude (was 0 → NaN at -100)."""
  y = 0.25
  eps6, eps8 = 1e-6, 1e-8
  # Closed forms with the parameter replaced by eps (torch's clamp of a detached copy).
  gauss = 0.5 * (np.log(eps6) + (0.0 - y) ** 2 / eps6)
  laplace = np.log(2 * eps6) + abs(0.0 - y) / eps6
  pairs = [
      (lambda v: jaxloss.gaussian_nll(jnp.zeros(1), jnp.full(1, y), v), gauss),
      (lambda v: jaxloss.laplace_nll(jnp.zeros(1), jnp.full(1, y), v), laplace),
  ]
  for fn, want in pairs:
    v = jnp.full(1, bad, jnp.float32)
    val, g = jax.value_and_grad(fn)(v)
    np.testing.assert_allclose(float(val), want, rtol=1e-5)
    assert np.isfinite(np.asarray(g)).all()
  # The other NLLs: a parameter far below eps gives the value at eps, finite.
  calls = {
      "student_t_nll": lambda v: jaxloss.student_t_nll(jnp.zeros(1), jnp.full(1, y), v,
                                                       jnp.full(1, 3.0)),
      "gamma_nll": lambda v: jaxloss.gamma_nll(v, jnp.full(1, y), jnp.ones(1)),
      "beta_nll": lambda v: jaxloss.beta_nll(v, jnp.full(1, y), jnp.ones(1)),
      "crps_gaussian": lambda v: jaxloss.crps_gaussian(jnp.zeros(1), jnp.full(1, y), v),
      "negative_binomial_nll": lambda v: jaxloss.negative_binomial_nll(
          jnp.ones(1), jnp.full(1, 2.0), v),
  }
  at_eps = {"student_t_nll": eps6, "gamma_nll": eps8, "beta_nll": eps6, "crps_gaussian": eps6,
            "negative_binomial_nll": eps8}
  for name, fn in calls.items():
    val, g = jax.value_and_grad(fn)(jnp.full(1, bad, jnp.float32))
    ref = fn(jnp.full(1, at_eps[name], jnp.float32))
    assert np.isfinite(float(val)) and np.isfinite(np.asarray(g)).all(), name
    np.testing.assert_allclose(float(val), float(ref), rtol=1e-5, err_msg=name)
