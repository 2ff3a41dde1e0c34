"""Tests for jaxloss.self_supervised: VICReg, Barlow Twins, BYOL, DINO (+ centre, Sinkhorn-Knopp,
KoLeo, iBOT), SwAV.

References are independent float64 NumPy implementations written from the papers' equations
and from the official code's formulas (facebookresearch/vicreg main_vicreg.py,
facebookresearch/barlowtwins main.py, facebookresearch/dinov2 dinov2/loss/*.py,
facebookresearch/swav main_swav.py), with explicit loops where the official code loops.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import close, f32, f32s, rng

import jaxloss
from jaxloss import LossInputError


def _views(seed, n=10, d=6, noise=0.4):
  r = rng(seed)
  a = r.normal(size=(n, d)).astype(np.float32).astype(np.float64)
  b = (a + noise * r.normal(size=(n, d))).astype(np.float32).astype(np.float64)
  return a, b


def _grad_fd(f, x, h=1e-3):
  """Central finite differences of a float64 NumPy scalar function."""
  g = np.zeros_like(x)
  for idx in np.ndindex(x.shape):
    e = np.zeros_like(x)
    e[idx] = h
    g[idx] = (f(x + e) - f(x - e)) / (2 * h)
  return g


# ------------------------------------------------------------------------ VICReg


def vicreg_ref(x, y, sim=25.0, std=25.0, cov=1.0, eps=1e-4):
  n, d = x.shape
  inv = np.mean((x - y) ** 2)
  var_terms, cov_terms = 0.0, 0.0
  for z in (x, y):
    zc = z - z.mean(axis=0)
    s = np.sqrt(np.var(z, axis=0, ddof=1) + eps)
    var_terms += np.mean(np.maximum(0.0, 1.0 - s)) / 2
    c = zc.T @ zc / (n - 1)
    off = sum(c[i, j] ** 2 for i in range(d) for j in range(d) if i != j)
    cov_terms += off / d
  return sim * inv + std * var_terms + cov * cov_terms, (inv, var_terms, cov_terms)


@pytest.mark.parametrize("seed", [0, 1])
def test_vicreg_matches_reference(seed):
  a, b = _views(seed)
  want, (inv, var, cov) = vicreg_ref(a, b)
  total, parts = jaxloss.vicreg_loss(*f32s(a, b), return_components=True)
  close(total, want)
  close(parts["invariance"], inv)
  close(parts["variance"], var)
  close(parts["covariance"], cov)
  kw = {"invariance_weight": 1.0, "variance_weight": 2.0, "covariance_weight": 0.5, "eps": 1e-3}
  close(jaxloss.vicreg_loss(*f32s(a, b), **kw), vicreg_ref(a, b, 1.0, 2.0, 0.5, 1e-3)[0])
  # "sum": the invariance term summed over the samples; the batch terms unchanged.
  close(jaxloss.vicreg_loss(*f32s(a, b), reduction="sum"),
        want + 25.0 * (len(a) - 1) * inv)


def test_vicreg_small_variance_engages_hinge():
  a, b = _views(2, noise=0.1)
  a, b = 0.05 * a, 0.05 * b   # std < 1: the variance hinge is active
  close(jaxloss.vicreg_loss(*f32s(a, b)), vicreg_ref(a, b)[0])


def test_vicreg_gradient_matches_finite_differences():
  a, b = _views(3, n=5, d=3)
  g = jax.grad(jaxloss.vicreg_loss)(*f32s(a, b))
  close(g, _grad_fd(lambda x: vicreg_ref(x, b)[0], a), rtol=1e-3, atol=1e-4)


def test_vicreg_where_removes_rows():
  a, b = _views(4)
  keep = np.array([True] * 7 + [False] * 3)
  bad_a = a.copy()
  bad_a[~keep] = np.nan
  got = jaxloss.vicreg_loss(*f32s(bad_a, b), where=jnp.asarray(keep))
  close(got, vicreg_ref(a[keep], b[keep])[0])
  g = jax.grad(jaxloss.vicreg_loss)(*f32s(bad_a, b), where=jnp.asarray(keep))
  chex.assert_tree_all_finite(g)
  assert np.all(np.asarray(g)[~keep] == 0)


def test_vicreg_edges():
  a, _ = _views(5)
  const = np.tile(a[:1], (10, 1))
  # Collapse: both views constant -> invariance 0, variance hinge 1 - sqrt(eps), covariance 0.
  total, parts = jaxloss.vicreg_loss(*f32s(const, const), return_components=True)
  close(parts["variance"], 1.0 - np.sqrt(1e-4))
  close(parts["covariance"], 0.0)
  close(total, 25.0 * (1.0 - np.sqrt(1e-4)))
  g = jax.grad(jaxloss.vicreg_loss)(*f32s(const, const))
  chex.assert_tree_all_finite(g)
  # One row: the unbiased (co)variances are defined as 0 (finite, not NaN).
  v, g = jax.value_and_grad(jaxloss.vicreg_loss)(*f32s(a[:1], a[:1]))
  close(v, 25.0 * (1.0 - np.sqrt(1e-4)))
  chex.assert_tree_all_finite(g)
  assert float(jaxloss.vicreg_loss(*f32s(a, a), where=jnp.zeros(10, bool))) == 0.0


def test_vicreg_bad_inputs():
  a, b = _views(6)
  with pytest.raises(LossInputError, match="^vicreg_loss: x2 has shape"):
    jaxloss.vicreg_loss(f32(a), f32(b[:, :-1]))
  with pytest.raises(LossInputError, match="^vicreg_loss: x1 must have rank 2"):
    jaxloss.vicreg_loss(f32(a[0]), f32(b[0]))
  with pytest.raises(LossInputError, match="^vicreg_loss: eps must be > 0"):
    jaxloss.vicreg_loss(f32(a), f32(b), eps=0.0)


# ------------------------------------------------------------------------ Barlow Twins


def barlow_ref(x, y, lambd=0.0051, eps=1e-5):
  n, d = x.shape

  def bn(z):   # BatchNorm1d(affine=False), training mode: biased variance
    return (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps)

  c = bn(x).T @ bn(y) / n
  on = sum((c[i, i] - 1.0) ** 2 for i in range(d))
  off = sum(c[i, j] ** 2 for i in range(d) for j in range(d) if i != j)
  return on + lambd * off, (on, off)


@pytest.mark.parametrize("seed", [0, 1])
def test_barlow_matches_reference(seed):
  a, b = _views(seed, n=12, d=5)
  close(jaxloss.barlow_twins_loss(*f32s(a, b)), barlow_ref(a, b)[0])
  close(jaxloss.barlow_twins_loss(*f32s(a, b), redundancy_weight=0.5, eps=1e-3),
        barlow_ref(a, b, 0.5, 1e-3)[0])


def test_barlow_differs_from_monai_convention():
  # MONAI standardises with the unbiased std (+1e-6): the value differs by O(1/N).
  a, b = _views(7, n=6, d=4)

  def monai(x, y, lambd=0.0051):
    nx_ = (x - x.mean(0)) / (x.std(0, ddof=1) + 1e-6)
    ny_ = (y - y.mean(0)) / (y.std(0, ddof=1) + 1e-6)
    c = nx_.T @ ny_ / x.shape[0]
    diff = (c - np.eye(x.shape[1])) ** 2
    diff[~np.eye(x.shape[1], dtype=bool)] *= lambd
    return diff.sum()

  got = float(jaxloss.barlow_twins_loss(*f32s(a, b)))
  close(got, barlow_ref(a, b)[0])
  assert abs(got - monai(a, b)) > 1e-3


def test_barlow_gradient_matches_finite_differences():
  a, b = _views(8, n=6, d=3)
  g = jax.grad(jaxloss.barlow_twins_loss, argnums=1)(*f32s(a, b))
  close(g, _grad_fd(lambda y: barlow_ref(a, y)[0], b), rtol=1e-3, atol=1e-4)


def test_barlow_where_and_edges():
  a, b = _views(9)
  keep = np.array([True, False] * 5)
  bad_b = b.copy()
  bad_b[~keep] = np.inf
  close(jaxloss.barlow_twins_loss(*f32s(a, bad_b), where=jnp.asarray(keep)),
        barlow_ref(a[keep], b[keep])[0])
  g = jax.grad(jaxloss.barlow_twins_loss, argnums=(0, 1))(*f32s(a, bad_b),
                                                          where=jnp.asarray(keep))
  chex.assert_tree_all_finite(g)
  const = np.tile(a[:1], (10, 1))
  # Constant features standardise to 0: C = 0, on-diagonal sum = D.
  v, g = jax.value_and_grad(jaxloss.barlow_twins_loss)(*f32s(const, const))
  close(v, 6.0)
  chex.assert_tree_all_finite(g)
  assert float(jaxloss.barlow_twins_loss(*f32s(a, b), where=jnp.zeros(10, bool))) == 0.0


# ------------------------------------------------------------------------ BYOL


def byol_ref(p, z):
  cos = np.sum(p * z, -1) / (np.linalg.norm(p, axis=-1) * np.linalg.norm(z, axis=-1))
  return 2.0 - 2.0 * cos


def test_byol_matches_reference():
  a, b = _views(10, n=7, d=5, noise=1.0)
  close(jaxloss.byol_loss(*f32s(a, b), reduction="none"), byol_ref(a, b))
  close(jaxloss.byol_loss(*f32s(a, b)), byol_ref(a, b).mean())
  close(jaxloss.byol_loss(*f32s(a, b), reduction="sum"), byol_ref(a, b).sum())
  # Any leading shape: [views, N, D].
  a3, b3 = np.stack([a, b]), np.stack([b, a])
  close(jaxloss.byol_loss(*f32s(a3, b3), reduction="none"), byol_ref(a3, b3))


def test_byol_gradient_and_stop_gradient():
  a, b = _views(11, n=4, d=3, noise=1.0)
  gp, gz = jax.grad(jaxloss.byol_loss, argnums=(0, 1))(*f32s(a, b))
  close(gp, _grad_fd(lambda x: byol_ref(x, b).mean(), a), rtol=1e-3, atol=1e-5)
  assert np.all(np.asarray(gz) == 0)   # the targets' gradient is stopped


def test_byol_edges_and_where():
  a, b = _views(12, n=6, d=4)
  close(jaxloss.byol_loss(*f32s(a, 3.0 * a), reduction="none"), np.zeros(6), atol=1e-6)
  close(jaxloss.byol_loss(*f32s(a, -a), reduction="none"), np.full(6, 4.0))
  v, g = jax.value_and_grad(jaxloss.byol_loss)(*f32s(np.zeros_like(a), b))
  close(v, 1.0)    # a zero vector normalises to 0
  chex.assert_tree_all_finite(g)
  keep = np.array([True, True, False, True, False, True])
  bad = a.copy()
  bad[~keep] = np.nan
  close(jaxloss.byol_loss(*f32s(bad, b), where=jnp.asarray(keep)), byol_ref(a, b)[keep].mean())
  g = jax.grad(jaxloss.byol_loss)(*f32s(bad, b), where=jnp.asarray(keep))
  assert np.all(np.isfinite(np.asarray(g))) and np.all(np.asarray(g)[~keep] == 0)
  with pytest.raises(LossInputError, match="^byol_loss: targets has shape"):
    jaxloss.byol_loss(f32(a), f32(b[:, :-1]))
