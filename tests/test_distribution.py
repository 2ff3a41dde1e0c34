"""Tests for jaxloss.distribution: MMD, energy distance, energy score, sliced Wasserstein, Sinkhorn.

References are independent float64 NumPy/SciPy implementations written from
the papers' formulas (Gretton et al. 2012 eq. 3/5; Szekely & Rizzo;
scoringrules' ensemble energy score; 1-D optimal transport by quantile
functions; a log-domain Sinkhorn for Feydy et al.'s divergence), plus
scipy.stats.energy_distance and scipy.stats.wasserstein_distance.
"""

import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import close, f32s
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads
from scipy import stats
from scipy.special import logsumexp

import jaxloss
from jaxloss import LossInputError

RNG = np.random.default_rng(0)


def _sets(n=7, m=5, d=3, batch=()):
  return (RNG.normal(size=batch + (n, d)), RNG.normal(size=batch + (m, d)) + 0.4)


# ------------------------------------------------------------------- references


def _d2(a, b):
  return np.sum((a[:, None, :] - b[None, :, :]) ** 2, -1)


def _kernel(d2, kernel, sigmas):
  out = 0.0
  for s in sigmas:
    if kernel == "rbf":
      out = out + np.exp(-d2 / (2 * s * s))
    elif kernel == "imq":
      out = out + 1.0 / np.sqrt(1.0 + d2 / (s * s))
    else:
      out = out + np.exp(-np.sqrt(d2) / s)
  return out


def _mmd_ref(x, y, kernel="rbf", sigmas=(1.0,), estimator="unbiased", wx=None, wy=None):
  """Gretton et al. 2012: MMD^2_u (eq. 3) or MMD^2_b (eq. 5), optionally weighted."""
  n, m = len(x), len(y)
  wx = np.full(n, 1.0 / n) if wx is None else wx / wx.sum()
  wy = np.full(m, 1.0 / m) if wy is None else wy / wy.sum()
  kxx, kyy, kxy = (_kernel(_d2(a, b), kernel, sigmas) for a, b in ((x, x), (y, y), (x, y)))

  def self_term(k, w):
    ww = np.outer(w, w)
    if estimator == "unbiased":
      np.fill_diagonal(ww, 0.0)
      return np.sum(ww * k) / np.sum(ww)
    return np.sum(ww * k)

  return self_term(kxx, wx) + self_term(kyy, wy) - 2 * np.sum(np.outer(wx, wy) * kxy)


def _mmd_u_loops(x, y, s=1.0):
  """Eq. 3 with explicit double loops (uniform weights), the textbook form."""
  def k(a, b):
    return np.exp(-np.sum((a - b) ** 2) / (2 * s * s))
  n, m = len(x), len(y)
  sxx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
  syy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
  sxy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
  return sxx + syy - 2 * sxy


def _energy_ref(x, y, estimator="biased"):
  n, m = len(x), len(y)
  dxy = np.sqrt(_d2(x, y)).mean()
  if estimator == "biased":
    return 2 * dxy - np.sqrt(_d2(x, x)).mean() - np.sqrt(_d2(y, y)).mean()
  return (2 * dxy - np.sqrt(_d2(x, x)).sum() / (n * (n - 1))
          - np.sqrt(_d2(y, y)).sum() / (m * (m - 1)))


def _es_ref(ens, obs, fair=False):
  """scoringrules' ensemble energy score (estimator 'nrg' or 'fair')."""
  m = ens.shape[-2]
  e1 = np.linalg.norm(ens - obs[..., None, :], axis=-1).mean(-1)
  e2 = np.linalg.norm(ens[..., :, None, :] - ens[..., None, :, :], axis=-1).sum((-2, -1))
  return e1 - 0.5 * e2 / (m * (m - 1) if fair else m * m)


def _wpp_1d(u, v, p):
  """W_p^p between two uniform 1-D empirical measures, by quantile functions on a fine grid."""
  u, v = np.sort(u), np.sort(v)
  n, m = len(u), len(v)
  # Exact: integrate |F^-1 - G^-1|^p over the merged breakpoints (computed in floats here).
  t = np.unique(np.concatenate([np.arange(n + 1) / n, np.arange(m + 1) / m]))
  mid = 0.5 * (t[:-1] + t[1:])
  qu = u[np.minimum((mid * n).astype(int), n - 1)]
  qv = v[np.minimum((mid * m).astype(int), m - 1)]
  return np.sum(np.diff(t) * np.abs(qu - qv) ** p)


def _sw_ref(x, y, theta, p):
  """POT's sliced_wasserstein_distance with given projections: (mean_l W_p^p)^(1/p)."""
  xp, yp = x @ theta, y @ theta
  w = [_wpp_1d(xp[:, i], yp[:, i], p) for i in range(theta.shape[1])]
  return np.mean(w) ** (1.0 / p)


def _projections(key, d, n_proj):
  theta = np.asarray(jax.random.normal(key, (d, n_proj), jnp.float32), np.float64)
  return theta / np.linalg.norm(theta, axis=0, keepdims=True)


def _sinkhorn_ot(x, y, a, b, eps, iters=5000, tol=1e-12):
  """Entropic OT_eps(a, b) = <a, f> + <b, g> by log-domain Sinkhorn (cost ||x - y||^2)."""
  c = _d2(x, y)
  f, g = np.zeros(len(x)), np.zeros(len(y))
  la, lb = np.log(a), np.log(b)
  for _ in range(iters):
    f_new = -eps * logsumexp(lb[None, :] + (g[None, :] - c) / eps, axis=1)
    g_new = -eps * logsumexp(la[:, None] + (f_new[:, None] - c) / eps, axis=0)
    done = max(np.abs(f_new - f).max(), np.abs(g_new - g).max()) < tol
    f, g = f_new, g_new
    if done:
      break
  return a @ f + b @ g


def _sinkhorn_ot_sym(x, a, eps, iters=5000, tol=1e-12):
  """OT_eps(a, a) with Feydy et al.'s averaged symmetric update (eq. 25): f = g."""
  c = _d2(x, x)
  la = np.log(a)
  f = np.zeros(len(x))
  for _ in range(iters):
    f_new = 0.5 * (f - eps * logsumexp(la[None, :] + (f[None, :] - c) / eps, axis=1))
    done = np.abs(f_new - f).max() < tol
    f = f_new
    if done:
      break
  return 2 * a @ f


def _sinkhorn_div_ref(x, y, eps, a=None, b=None):
  a = np.full(len(x), 1.0 / len(x)) if a is None else a / a.sum()
  b = np.full(len(y), 1.0 / len(y)) if b is None else b / b.sum()
  return (_sinkhorn_ot(x, y, a, b, eps) - 0.5 * _sinkhorn_ot_sym(x, a, eps)
          - 0.5 * _sinkhorn_ot_sym(y, b, eps))


# ------------------------------------------------------------------------- MMD


@pytest.mark.parametrize("estimator", ["unbiased", "biased"])
@pytest.mark.parametrize("kernel,sigmas", [("rbf", (1.0,)), ("rbf", (0.5, 1.0, 4.0)),
                                           ("imq", (1.0, 2.0)), ("laplacian", (1.5,))])
def test_mmd_matches_gretton_estimators(kernel, sigmas, estimator):
  x, y = _sets()
  out = jaxloss.mmd_loss(*f32s(x, y), kernel=kernel, bandwidths=sigmas, estimator=estimator)
  close(out, _mmd_ref(x, y, kernel, sigmas, estimator), rtol=1e-4, atol=2e-6)


def test_mmd_unbiased_is_the_textbook_double_sum():
  x, y = _sets(6, 4, 2)
  close(jaxloss.mmd_loss(*f32s(x, y)), _mmd_u_loops(x, y), rtol=1e-4, atol=2e-6)


def test_mmd_batch_none_weights_and_reductions():
  x, y = _sets(batch=(2, 3))
  wx, wy = RNG.uniform(0.1, 1.0, (2, 3, 7)), RNG.uniform(0.1, 1.0, (5,))
  out = jaxloss.mmd_loss(*f32s(x, y), bandwidths=jnp.array([0.7, 2.0]), x_weights=f32s(wx)[0],
                         y_weights=f32s(wy)[0], reduction="none")
  chex.assert_shape(out, (2, 3))
  ref = np.array([[_mmd_ref(x[i, j], y[i, j], "rbf", (0.7, 2.0), "unbiased", wx[i, j], wy)
                   for j in range(3)] for i in range(2)])
  close(out, ref, rtol=1e-4, atol=2e-6)
  close(jaxloss.mmd_loss(*f32s(x, y), bandwidths=(0.7, 2.0), x_weights=f32s(wx)[0],
                         y_weights=f32s(wy)[0]), ref.mean(), rtol=1e-4, atol=2e-6)
  # Uniform weights are the default.
  close(jaxloss.mmd_loss(*f32s(x, y), x_weights=jnp.ones(7)),
        jaxloss.mmd_loss(*f32s(x, y)), rtol=1e-6)
  # Unbatched sets: a scalar for every reduction.
  chex.assert_shape(jaxloss.mmd_loss(*f32s(x[0, 0], y[0, 0]), reduction="none"), ())


def test_mmd_biased_is_zero_on_equal_sets_and_symmetric():
  x, y = _sets()
  assert float(jaxloss.mmd_loss(*f32s(x, x), estimator="biased")) == pytest.approx(0, abs=1e-6)
  close(jaxloss.mmd_loss(*f32s(x, y)), jaxloss.mmd_loss(*f32s(y, x)), rtol=1e-5)
  # The offset of the data does not matter (centred distances).
  close(jaxloss.mmd_loss(*f32s(x + 100.0, y + 100.0)), _mmd_ref(x, y), rtol=2e-3, atol=1e-4)


def test_mmd_gradients_match_finite_differences():
  x, y = _sets(5, 4, 2)
  with jax.enable_x64(True):
    check_grads(lambda a, b: jaxloss.mmd_loss(a, b, bandwidths=(0.5, 2.0)),
                (jnp.asarray(x), jnp.asarray(y)), order=1, modes=["rev"])


@pytest.mark.parametrize("kernel", ["rbf", "imq", "laplacian"])
def test_mmd_grad_finite_at_identical_points(kernel):
  x = jnp.zeros((4, 3))
  g = jax.jit(jax.grad(lambda u, v: jaxloss.mmd_loss(u, v, kernel=kernel), argnums=(0, 1)))(x, x)
  chex.assert_tree_all_finite(g)


def test_mmd_errors():
  x, y = f32s(*_sets())
  with pytest.raises(LossInputError, match="^mmd_loss: y has shape"):
    jaxloss.mmd_loss(x, y[:, :2])
  with pytest.raises(LossInputError, match="^mmd_loss: .*at least 2 samples"):
    jaxloss.mmd_loss(x, y[:1])
  jaxloss.mmd_loss(x, y[:1], estimator="biased")   # fine: the V-statistic needs one
  with pytest.raises(ValueError, match="^mmd_loss: kernel must be one of"):
    jaxloss.mmd_loss(x, y, kernel="gaussian")
  with pytest.raises(LossInputError, match="^mmd_loss: x_weights has shape"):
    jaxloss.mmd_loss(x, y, x_weights=jnp.ones(6))


# ------------------------------------------------------------- energy distance


def test_energy_distance_is_scipy_squared_in_1d():
  u, v = RNG.normal(size=9), RNG.normal(size=6) * 2 + 1
  out = jaxloss.energy_distance(*f32s(u[:, None], v[:, None]))
  close(out, stats.energy_distance(u, v) ** 2, rtol=1e-5)
  wu, wv = RNG.uniform(0.1, 2, 9), RNG.uniform(0.1, 2, 6)
  out = jaxloss.energy_distance(*f32s(u[:, None], v[:, None]), x_weights=f32s(wu)[0],
                                y_weights=f32s(wv)[0])
  close(out, stats.energy_distance(u, v, wu, wv) ** 2, rtol=1e-5)


@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
def test_energy_distance_multivariate(estimator):
  x, y = _sets(batch=(2,))
  out = jaxloss.energy_distance(*f32s(x, y), estimator=estimator, reduction="none")
  close(out, [_energy_ref(x[i], y[i], estimator) for i in range(2)], rtol=1e-4, atol=2e-6)


def test_energy_distance_zero_and_finite_grad_at_equal_sets():
  x, _ = f32s(*_sets())
  vg = jax.jit(jax.value_and_grad(jaxloss.energy_distance, argnums=(0, 1)))
  v, g = vg(x, x)
  assert abs(float(v)) < 1e-5
  chex.assert_tree_all_finite(g)
  v, g = vg(jnp.zeros_like(x), jnp.zeros_like(x))
  assert float(v) == 0.0
  chex.assert_tree_all_finite(g)


def test_energy_distance_gradients_match_finite_differences():
  x, y = _sets(5, 4, 2)
  with jax.enable_x64(True):
    check_grads(lambda a, b: jaxloss.energy_distance(a, b), (jnp.asarray(x), jnp.asarray(y)),
                order=1, modes=["rev"])


# ---------------------------------------------------------------- energy score


@pytest.mark.parametrize("fair", [False, True])
def test_energy_score_matches_scoringrules_formula(fair):
  ens, obs = RNG.normal(size=(4, 6, 3)), RNG.normal(size=(4, 3))
  out = jaxloss.energy_score(*f32s(ens, obs), fair=fair, reduction="none")
  close(out, _es_ref(ens, obs, fair), rtol=1e-5)


@pytest.mark.parametrize("fair", [False, True])
def test_energy_score_is_crps_ensemble_in_1d(fair):
  ens, obs = f32s(RNG.normal(size=(5, 8)), RNG.normal(size=(5,)))
  es = jaxloss.energy_score(ens[..., None], obs[:, None], fair=fair, reduction="none")
  crps = jaxloss.crps_ensemble(ens, obs, fair=fair, reduction="none")
  close(es, np.asarray(crps, np.float64), rtol=1e-5)


def test_energy_score_grad_finite_when_members_coincide():
  obs = jnp.array([1.0, -2.0])
  ens = jnp.broadcast_to(obs, (4, 2))
  v, g = jax.value_and_grad(jaxloss.energy_score, argnums=(0, 1))(ens, obs)
  assert float(v) == 0.0
  chex.assert_tree_all_finite(g)


def test_energy_score_errors():
  ens, obs = f32s(RNG.normal(size=(4, 6, 3)), RNG.normal(size=(4, 3)))
  with pytest.raises(LossInputError, match="^energy_score: targets has shape"):
    jaxloss.energy_score(ens, obs[:, :2])
  with pytest.raises(LossInputError, match="^energy_score: fair=True needs at least 2"):
    jaxloss.energy_score(ens[:, :1], obs, fair=True)


# ----------------------------------------------------------- sliced Wasserstein


def test_sliced_wasserstein_in_1d_is_scipy_wasserstein():
  u, v = RNG.normal(size=9), RNG.normal(size=6) * 2 + 1     # N != M: merged quantile grid
  key = jax.random.key(0)
  out = jaxloss.sliced_wasserstein(*f32s(u[:, None], v[:, None]), key, p=1.0, n_projections=3)
  close(out, stats.wasserstein_distance(u, v), rtol=1e-5)
  out = jaxloss.sliced_wasserstein(*f32s(u[:, None], v[:, None]), key, p=2.0, n_projections=3)
  close(out, np.sqrt(_wpp_1d(u, v, 2.0)), rtol=1e-5)


@pytest.mark.parametrize("n,m,p", [(8, 8, 2.0), (7, 5, 2.0), (6, 9, 1.5)])
def test_sliced_wasserstein_matches_pot_convention(n, m, p):
  x, y = _sets(n, m, 3)
  key = jax.random.key(4)
  theta = _projections(key, 3, 20)
  out = jaxloss.sliced_wasserstein(*f32s(x, y), key, n_projections=20, p=p)
  close(out, _sw_ref(x, y, theta, p), rtol=1e-4)


def test_sliced_wasserstein_equal_sizes_is_sorted_matching():
  x, y = _sets(8, 8, 2)
  key = jax.random.key(1)
  theta = _projections(key, 2, 10)
  xp, yp = np.sort(x @ theta, 0), np.sort(y @ theta, 0)
  ref = np.sqrt(np.mean(np.mean((xp - yp) ** 2, 0)))
  close(jaxloss.sliced_wasserstein(*f32s(x, y), key, n_projections=10), ref, rtol=1e-4)


def test_sliced_wasserstein_batch_shares_directions():
  x, y = _sets(6, 4, 2, batch=(3,))
  key = jax.random.key(2)
  out = jaxloss.sliced_wasserstein(*f32s(x, y), key, reduction="none")
  chex.assert_shape(out, (3,))
  each = [jaxloss.sliced_wasserstein(*f32s(x[i], y[i]), key) for i in range(3)]
  close(out, np.asarray(each, np.float64), rtol=1e-6)


def test_sliced_wasserstein_zero_and_finite_grad_at_equal_sets():
  x, _ = f32s(*_sets())
  for p in (1.0, 2.0, 3.0):
    v, g = jax.value_and_grad(
        lambda a, b, p=p: jaxloss.sliced_wasserstein(a, b, jax.random.key(0), p=p),
        argnums=(0, 1))(x, x)
    assert float(v) == 0.0
    chex.assert_tree_all_finite(g)


def test_sliced_wasserstein_gradients_match_finite_differences():
  x, y = _sets(5, 4, 2)
  with jax.enable_x64(True):
    check_grads(lambda a, b: jaxloss.sliced_wasserstein(a, b, jax.random.key(0)),
                (jnp.asarray(x), jnp.asarray(y)), order=1, modes=["rev"])


def test_sliced_wasserstein_errors():
  x, y = f32s(*_sets())
  with pytest.raises(LossInputError, match="^sliced_wasserstein: p must be >= 1"):
    jaxloss.sliced_wasserstein(x, y, jax.random.key(0), p=0.5)
  with pytest.raises(LossInputError, match="^sliced_wasserstein: y has shape"):
    jaxloss.sliced_wasserstein(x, y[:, :1], jax.random.key(0))


# ---------------------------------------------------------- Sinkhorn divergence


def test_sinkhorn_divergence_matches_log_domain_reference():
  pytest.importorskip("ott")
  x, y = _sets(6, 5, 2, batch=(2,))
  a, b = RNG.uniform(0.2, 1.0, (2, 6)), RNG.uniform(0.2, 1.0, (5,))
  a[0] = 1.0   # uniform
  for eps in (0.5, 2.0):   # one compilation: epsilon is traced
    out = jaxloss.sinkhorn_divergence(*f32s(x, y), epsilon=eps, x_weights=f32s(a)[0],
                                      y_weights=f32s(b)[0], threshold=1e-6, reduction="none")
    chex.assert_shape(out, (2,))
    close(out, [_sinkhorn_div_ref(x[i], y[i], eps, a[i], b) for i in range(2)],
          rtol=2e-4, atol=1e-5)


def test_sinkhorn_divergence_default_epsilon_is_otts():
  pytest.importorskip("ott")
  x, y = _sets(6, 5, 2)
  eps = 0.05 * np.std(_d2(x, y))
  out = jaxloss.sinkhorn_divergence(*f32s(x, y), threshold=1e-6)
  close(out, _sinkhorn_div_ref(x, y, eps), rtol=1e-3, atol=1e-5)


def test_sinkhorn_divergence_gradient_and_zero_at_equal_sets():
  pytest.importorskip("ott")
  x, y = _sets(4, 4, 2)
  vg = jax.jit(jax.value_and_grad(
      lambda a, b: jaxloss.sinkhorn_divergence(a, b, epsilon=1.0, threshold=1e-7)))
  _, g = vg(*f32s(x, y))
  h = 1e-5
  fd = np.zeros_like(x)
  for i in range(x.shape[0]):
    for j in range(x.shape[1]):
      xp, xm = x.copy(), x.copy()
      xp[i, j] += h
      xm[i, j] -= h
      fd[i, j] = (_sinkhorn_div_ref(xp, y, 1.0) - _sinkhorn_div_ref(xm, y, 1.0)) / (2 * h)
  close(g, fd, rtol=2e-3, atol=2e-4)
  # Equal sets (the same shapes: no new compilation): 0 and a finite, ~zero gradient.
  v, g = vg(*f32s(y, y))
  assert abs(float(v)) < 1e-4
  chex.assert_tree_all_finite(g)
  close(g, np.zeros_like(y), atol=1e-3)


def test_without_ott_the_error_names_the_extra(monkeypatch):
  """ott-jax is optional (``import jaxloss`` never imports it: tests/test_api.py); a call
  without it raises an ImportError naming ``pip install jaxloss[ot]``."""
  from jaxloss.distribution import transport
  monkeypatch.setitem(sys.modules, "ott.geometry", None)   # None: "import ott.geometry" fails
  monkeypatch.setitem(sys.modules, "ott.tools", None)
  with pytest.raises(ImportError, match=r"pip install jaxloss\[ot\]"):
    transport._import_ott()


# ------------------------------------------------------------ shared behaviour


@pytest.mark.parametrize("name", ["mmd_loss", "energy_distance", "sliced_wasserstein"])
def test_bfloat16_sets_are_finite_float32(name):
  x, y = f32s(*_sets())
  args = (x.astype(jnp.bfloat16), y.astype(jnp.bfloat16))
  if name == "sliced_wasserstein":
    args += (jax.random.key(0),)
  out = getattr(jaxloss, name)(*args)
  assert out.dtype == jnp.float32
  chex.assert_tree_all_finite(out)


def test_where_excludes_a_set():
  x, y = f32s(*_sets(batch=(3,)))
  where = jnp.array([True, False, True])
  bad_x = x.at[1].set(jnp.nan)
  for fn in (jaxloss.mmd_loss, jaxloss.energy_distance):
    v = fn(bad_x, y, where=where)
    close(v, np.mean(np.asarray(fn(x, y, reduction="none"))[[0, 2]], dtype=np.float64),
          rtol=1e-5)


_coords = st.lists(st.floats(-50, 50, allow_nan=False, width=32), min_size=18, max_size=18)


@settings(max_examples=25, deadline=None)
@given(_coords)
def test_v_statistics_are_nonnegative_and_symmetric(c):
  """Biased MMD^2 (a squared RKHS norm) and the V-statistic energy distance are >= 0 and
  symmetric; the sliced Wasserstein distance too (fixed shapes: one compilation each)."""
  pts = np.asarray(c, np.float64).reshape(9, 2)
  x, y = f32s(pts[:5], pts[5:])
  for fn, kw in ((jaxloss.mmd_loss, {"estimator": "biased", "bandwidths": (1.0, 10.0)}),
                 (jaxloss.energy_distance, {})):
    a, b = float(fn(x, y, **kw)), float(fn(y, x, **kw))
    tol = 1e-5 * (1 + np.abs(pts).max())   # float32 cancellation of O(|x|) terms
    assert a >= -tol and a == pytest.approx(b, rel=1e-4, abs=tol)
  key = jax.random.key(0)
  a = float(jaxloss.sliced_wasserstein(x, y, key))
  assert a >= 0 and a == pytest.approx(float(jaxloss.sliced_wasserstein(y, x, key)), rel=1e-4,
                                       abs=1e-4)
