"""Tests for jaxloss.forecasting: CRPS, interval score, percentage/scaled errors, trend.

References are independent float64 NumPy/SciPy implementations written from
the papers / peer formulas (scipy.stats log-densities for the NLLs).
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import close, f32s
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads
from scipy import integrate, stats

import jaxloss
from jaxloss import LossInputError

RNG = np.random.default_rng(0)


# ---------------------------------------------------------------- scores


def test_crps_gaussian_matches_closed_form_and_integral():
  mu, y = RNG.normal(size=(2, 6))
  s = RNG.uniform(0.3, 2.0, 6)
  z = (y - mu) / s
  ref = s * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))
  out = jaxloss.crps_gaussian(*f32s(mu, y, s), reduction="none")
  close(out, ref, rtol=1e-5, atol=1e-6)
  # Definition: integral of (F(t) - 1{t >= y})^2 dt.
  m0, y0, s0 = mu[0], y[0], s[0]
  lo = integrate.quad(lambda t: stats.norm.cdf(t, m0, s0) ** 2, -np.inf, y0)[0]
  hi = integrate.quad(lambda t: (1 - stats.norm.cdf(t, m0, s0)) ** 2, y0, np.inf)[0]
  close(out[0], lo + hi, rtol=1e-5)
  # std -> 0: the absolute error.
  close(jaxloss.crps_gaussian(*f32s(mu, y), jnp.zeros(6), reduction="none"), np.abs(mu - y),
         rtol=1e-5, atol=1e-5)


def _crps_ens_ref(x, y, fair):
  m = x.shape[-1]
  skill = np.mean(np.abs(x - y[..., None]), -1)
  pair = np.abs(x[..., :, None] - x[..., None, :]).sum((-1, -2))
  return skill - pair / (2 * m * (m - 1) if fair else 2 * m * m)


@pytest.mark.parametrize("fair", [False, True])
def test_crps_ensemble_matches_pairwise_reference(fair):
  x = RNG.normal(size=(3, 4, 9))
  y = RNG.normal(size=(3, 4))
  out = jaxloss.crps_ensemble(*f32s(x, y), fair=fair, reduction="none")
  close(out, _crps_ens_ref(x, y, fair), rtol=1e-5, atol=1e-6)
  # Gradient check away from the kinks (ties, samples equal to the target):
  # samples on a 0.5 grid in random order, targets in between.
  grid = np.stack([RNG.permutation(9) * 0.5 for _ in range(12)]).reshape(3, 4, 9)
  ty = RNG.integers(0, 8, (3, 4)) * 0.5 + 0.25
  with jax.enable_x64(True):
    check_grads(lambda a: jaxloss.crps_ensemble(a, jnp.asarray(ty), fair=fair),
                (jnp.asarray(grid),), order=1, modes=["rev"])


def test_crps_ensemble_large_sample_limit_is_gaussian_crps():
  key = jax.random.key(0)
  mu, s, y = 0.3, 1.5, jnp.array([-1.0, 0.2, 2.5])
  samples = mu + s * jax.random.normal(key, (3, 20000))
  ens = jaxloss.crps_ensemble(samples, y, fair=True, reduction="none")
  closed = jaxloss.crps_gaussian(jnp.full(3, mu), y, jnp.full(3, s), reduction="none")
  # Monte-Carlo error of a 20000-sample estimate: ~1e-2.
  np.testing.assert_allclose(ens, closed, rtol=0, atol=2.5e-2)


def test_crps_ensemble_fair_needs_two_members():
  with pytest.raises(LossInputError, match="crps_ensemble: fair=True needs at least 2"):
    jaxloss.crps_ensemble(jnp.ones((3, 1)), jnp.ones(3), fair=True)
  with pytest.raises(LossInputError, match="crps_ensemble: targets has shape"):
    jaxloss.crps_ensemble(jnp.ones((3, 4)), jnp.ones(4))


def test_interval_score():
  lo = RNG.normal(size=8)
  hi = lo + RNG.uniform(0.1, 2, 8)
  y = RNG.normal(size=8) * 2
  a = 0.2
  ref = (hi - lo) + 2 / a * np.maximum(lo - y, 0) + 2 / a * np.maximum(y - hi, 0)
  out = jaxloss.interval_score(jnp.stack(f32s(lo, hi), -1), *f32s(y), alpha=a, reduction="none")
  close(out, ref, rtol=1e-5)
  assert jaxloss.winkler_score is jaxloss.interval_score
  with pytest.raises(LossInputError, match="interval_score: alpha must be"):
    jaxloss.interval_score(jnp.ones((2, 2)), jnp.ones(2), alpha=1.5)
  with pytest.raises(LossInputError, match="interval_score: intervals has shape"):
    jaxloss.interval_score(jnp.ones((2, 3)), jnp.ones(2))


# ---------------------------------------------------------------- point forecasts


def test_mape_smape_match_pytorch_forecasting_formulas():
  p, y = RNG.normal(size=(2, 5, 6))
  y[0, 0] = 0.0
  out = jaxloss.mape(*f32s(p, y), reduction="none")
  close(out, np.abs(p - y) / (np.abs(y) + 1e-8), rtol=1e-5)
  assert np.isfinite(np.asarray(out)).all()
  out = jaxloss.smape(*f32s(p, y), reduction="none")
  close(out, 2 * np.abs(p - y) / (np.abs(p) + np.abs(y) + 1e-8), rtol=1e-5)
  z = jnp.zeros(3)
  for fn in (jaxloss.mape, jaxloss.smape):
    v, g = jax.value_and_grad(fn)(z, z)
    assert float(v) == 0.0
    chex.assert_tree_all_finite(g)


def test_mase_seasonal_naive_scale():
  p, y = RNG.normal(size=(2, 3, 4))
  hist = RNG.normal(size=(3, 10))
  m = 3
  scale = np.mean(np.abs(hist[:, m:] - hist[:, :-m]), axis=1, keepdims=True)
  ref = np.abs(p - y) / (scale + 1e-8)
  out = jaxloss.mase(*f32s(p, y, hist), season_length=m, reduction="none")
  close(out, ref, rtol=1e-5)
  close(jaxloss.mase(*f32s(p, y, hist), season_length=m), ref.mean(), rtol=1e-5)
  # History not longer than the season: one-step naive (GluonTS' fallback).
  out = jaxloss.mase(*f32s(p, y, hist[:, :3]), season_length=5, reduction="none")
  s1 = np.mean(np.abs(np.diff(hist[:, :3], axis=1)), axis=1, keepdims=True)
  close(out, np.abs(p - y) / (s1 + 1e-8), rtol=1e-5)
  with pytest.raises(LossInputError, match="mase: insample has shape"):
    jaxloss.mase(*f32s(p, y), jnp.ones((2, 10)))
  with pytest.raises(LossInputError, match="mase: season_length must be >= 1"):
    jaxloss.mase(*f32s(p, y, hist), season_length=0)


def test_wape_is_sum_abs_error_over_sum_abs_target_per_series():
  p, y = RNG.normal(size=(2, 4, 7))
  ref = np.abs(p - y).sum(-1) / np.abs(y).sum(-1)
  out = jaxloss.wape(*f32s(p, y), reduction="none")
  close(np.asarray(out).mean(-1), ref, rtol=1e-5)
  close(jaxloss.wape(*f32s(p, y)), ref.mean(), rtol=1e-5)
  mask = RNG.uniform(size=(4, 7)) > 0.3
  mask[:, 0] = True
  out = jaxloss.wape(*f32s(p, y), where=jnp.asarray(mask), reduction="none")
  ref_m = (np.abs(p - y) * mask).sum(-1) / (np.abs(y) * mask).sum(-1)
  close(np.asarray(out).sum(-1) / mask.sum(-1), ref_m, rtol=1e-5)


# ---------------------------------------------------------------- trend-aware


def _moving_average_ref(x, k):
  left, right = (k - 1) // 2, k - 1 - (k - 1) // 2
  xp = np.concatenate([np.repeat(x[..., :1], left, -1), x, np.repeat(x[..., -1:], right, -1)],
                      -1)
  return np.stack([xp[..., t:t + k].mean(-1) for t in range(x.shape[-1])], -1)


def test_trend_aware_loss_reference_and_components():
  p, y = RNG.normal(size=(2, 3, 12))
  e = p - y
  tr = _moving_average_ref(e, 4)
  d = np.concatenate([np.zeros((3, 1)), np.diff(e, axis=-1)], -1)
  ref = 2.0 * tr ** 2 + 0.5 * (e - tr) ** 2 + 0.1 * d ** 2
  kw = dict(window=4, trend_weight=2.0, residual_weight=0.5, diff_weight=0.1)
  out = jaxloss.trend_aware_loss(*f32s(p, y), reduction="none", **kw)
  close(out, ref, rtol=1e-5, atol=1e-6)
  total, comps = jaxloss.trend_aware_loss(*f32s(p, y), return_components=True, **kw)
  close(total, ref.mean(), rtol=1e-5)
  assert set(comps) == {"trend", "residual", "diff"}
  # The parts are the unweighted terms; the weights combine them into the total.
  close(comps["trend"], np.mean(tr ** 2), rtol=1e-5)
  close(comps["residual"], np.mean((e - tr) ** 2), rtol=1e-5)
  close(comps["diff"], np.mean(d ** 2), rtol=1e-5)
  close(2.0 * comps["trend"] + 0.5 * comps["residual"] + 0.1 * comps["diff"], ref.mean(),
         rtol=1e-5)
  # ... reduced like the total, and independent of the weights.
  _, parts_sum = jaxloss.trend_aware_loss(*f32s(p, y), window=4, return_components=True,
                                          reduction="sum")
  close(parts_sum["trend"], np.sum(tr ** 2), rtol=1e-5)
  close(parts_sum["diff"], np.sum(d ** 2), rtol=1e-5)
  with pytest.raises(LossInputError, match="trend_aware_loss: window must be >= 1"):
    jaxloss.trend_aware_loss(*f32s(p, y), window=0)


def test_trend_aware_loss_penalises_trend_error_more_than_noise():
  t = np.linspace(0, 4, 32)
  target = np.sin(t) + 0.3 * RNG.normal(size=32)
  smooth = np.sin(t)                       # follows the trend, misses the noise
  shifted = target + 0.3 * np.sign(np.sin(t))  # same size of error, but as a trend
  assert np.mean((smooth - target) ** 2) >= 0.5 * np.mean((shifted - target) ** 2)
  a = jaxloss.trend_aware_loss(*f32s(smooth, target), window=7)
  b = jaxloss.trend_aware_loss(*f32s(shifted, target), window=7)
  assert float(a) < float(b)


# ---------------------------------------------------------------- properties


_floats = st.floats(-5, 5, allow_nan=False, width=32)


@settings(max_examples=20, deadline=None)
@given(st.lists(_floats, min_size=2, max_size=6), _floats)
def test_crps_ensemble_nonnegative_and_zero_at_point_mass(xs, y):
  x = jnp.asarray(xs, jnp.float32)[None]
  v = float(jaxloss.crps_ensemble(x, jnp.asarray([y], jnp.float32)))
  assert v >= -1e-5
  point = jnp.full_like(x, y)
  assert abs(float(jaxloss.crps_ensemble(point, jnp.asarray([y], jnp.float32)))) < 1e-6


@settings(max_examples=20, deadline=None)
@given(_floats, _floats, st.floats(0.01, 5))
def test_crps_gaussian_nonnegative(m, y, s):
  v = jaxloss.crps_gaussian(jnp.array([m]), jnp.array([y]), jnp.array([s], jnp.float32))
  assert float(v) >= -1e-6


@settings(max_examples=20, deadline=None)
@given(_floats, _floats)
def test_smape_bounded_and_symmetric(p, y):
  a = float(jaxloss.smape(jnp.array([p]), jnp.array([y])))
  b = float(jaxloss.smape(jnp.array([y]), jnp.array([p])))
  assert -1e-6 <= a <= 2 + 1e-6
  assert abs(a - b) < 1e-5


@pytest.mark.parametrize("name", ["mape", "smape", "wape", "mase", "trend_aware_loss",
                                  "interval_score", "crps_gaussian"])
def test_point_and_score_gradients_match_finite_differences(name):
  fn = getattr(jaxloss, name)
  with jax.enable_x64(True):
    r = np.random.default_rng(3)
    y = r.uniform(1.0, 2.0, (3, 5))
    # Predictions at least 0.1 away from the targets: no kink inside the FD step.
    p = y + r.choice([-1, 1], (3, 5)) * r.uniform(0.1, 0.5, (3, 5))
    yj, pj = jnp.asarray(y), jnp.asarray(p)
    if name == "mase":
      hist = jnp.asarray(r.normal(size=(3, 8)))
      f = lambda a: fn(a, yj, hist, season_length=2)  # noqa: E731
    elif name == "interval_score":
      f = lambda a: fn(jnp.stack([a - 0.3, a + 0.05], -1), yj)  # noqa: E731
    elif name == "crps_gaussian":
      f = lambda a: fn(a, yj, jnp.abs(a) + 0.5)  # noqa: E731
    else:
      f = lambda a: fn(a, yj)  # noqa: E731
    check_grads(f, (pj,), order=1, modes=["rev"])
