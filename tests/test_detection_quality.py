"""Quality-aware detection losses against independent float64 NumPy references.

The references are written from the papers and mmdetection 3.x's published formulas
(``mmdet/models/losses/{varifocal,gfocal,gaussian_focal,balanced_l1}_loss.py``), with plain
loops / explicit indexing where mmdet indexes, not from jaxloss.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import jaxloss
from jaxloss import LossInputError, LossTypeError

RNG = np.random.default_rng(0)


def sig(x):
  return 1.0 / (1.0 + np.exp(-x))


def bce(x, y):
  # float64, moderate logits only: the naive formula is fine here.
  p = sig(x)
  return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def ref_varifocal(x, q, alpha=0.75, gamma=2.0, iou_weighted=True):
  p = sig(x)
  w = np.where(q > 0, q if iou_weighted else 1.0, alpha * np.abs(p - q) ** gamma)
  return bce(x, q) * w


def ref_qfl(x, labels, scores, beta=2.0):
  n, c = x.shape
  p = sig(x)
  out = bce(x, np.zeros_like(x)) * p ** beta
  for i in range(n):
    k = labels[i]
    if 0 <= k < c:
      out[i, k] = bce(x[i, k], scores[i]) * abs(scores[i] - p[i, k]) ** beta
  return out.sum(1)


def ref_dfl(x, t):
  out = []
  for row, ti in zip(x, t, strict=True):
    logp = row - np.log(np.sum(np.exp(row)))
    left = int(np.floor(ti))
    if left == len(row) - 1:   # target at the last bin: all weight on it
      out.append(-logp[left])
      continue
    out.append(-((left + 1 - ti) * logp[left] + (ti - left) * logp[left + 1]))
  return np.array(out)


def ref_gaussian_focal(p, y, alpha=2.0, gamma=4.0, pos_weight=1.0, neg_weight=1.0):
  eps = 1e-12   # mmdet: log(p + eps), jaxloss log(max(p, eps)): equal within eps / p
  pos = -np.log(p + eps) * (1 - p) ** alpha * (y == 1)
  neg = -np.log(1 - p + eps) * p ** alpha * (1 - y) ** gamma
  return pos_weight * pos + neg_weight * neg


def ref_balanced_l1(d, t, alpha=0.5, gamma=1.5, beta=1.0):
  diff = np.abs(d - t)
  b = np.e ** (gamma / alpha) - 1
  return np.where(diff < beta,
                  alpha / b * (b * diff + 1) * np.log(b * diff / beta + 1) - alpha * diff,
                  gamma * diff + gamma / b - alpha * beta)


def close(a, b, rtol=1e-5, atol=1e-6):
  np.testing.assert_allclose(np.asarray(a, np.float64), b, rtol=rtol, atol=atol)


def iou_targets(rng, n, c):
  q = np.zeros((n, c))
  pos = rng.random(n) < 0.5
  cls = rng.integers(0, c, n)
  q[np.arange(n)[pos], cls[pos]] = rng.uniform(0.05, 1.0, pos.sum())
  return q


# ----------------------------------------------------------------------------
# varifocal_loss
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("iou_weighted", [True, False])
@pytest.mark.parametrize("alpha,gamma", [(0.75, 2.0), (0.25, 1.5), (1.0, 0.0)])
def test_varifocal_matches_reference(iou_weighted, alpha, gamma):
  x = RNG.normal(0, 2, (16, 5))
  q = iou_targets(RNG, 16, 5)
  got = jaxloss.varifocal_loss(jnp.asarray(x, jnp.float32), jnp.asarray(q, jnp.float32),
                               alpha=alpha, gamma=gamma, iou_weighted=iou_weighted,
                               reduction="none")
  ref = ref_varifocal(x, q, alpha, gamma, iou_weighted)
  close(got, ref)
  close(jaxloss.varifocal_loss(jnp.asarray(x), jnp.asarray(q), alpha=alpha, gamma=gamma,
                               iou_weighted=iou_weighted), ref.mean())


def test_varifocal_positive_term_is_not_focal():
  # A positive with target q: weight q, whatever the prediction (no |p - q|^gamma factor).
  x = jnp.array([3.0])
  q = jnp.array([0.6])
  got = jaxloss.varifocal_loss(x, q, reduction="sum")
  close(got, 0.6 * bce(3.0, 0.6))


def test_varifocal_saturated_logits_and_grad():
  x = jnp.array([[1e4, -1e4], [-1e4, 1e4]])
  q = jnp.array([[1.0, 0.0], [0.0, 0.0]])
  v, g = jax.value_and_grad(lambda a: jaxloss.varifocal_loss(a, q, reduction="sum"))(x)
  chex.assert_tree_all_finite((v, g))
  # confident correct entries give 0; the confident wrong negative gives alpha * 1e4
  close(v, 0.75 * 1e4, rtol=1e-6)


def test_varifocal_grad_matches_finite_differences():
  x = jnp.asarray(RNG.normal(0, 1, (4, 3)))
  q = jnp.asarray(iou_targets(RNG, 4, 3))
  with jax.enable_x64(True):
    x64, q64 = jnp.asarray(np.asarray(x), jnp.float64), jnp.asarray(np.asarray(q), jnp.float64)
    check_grads(lambda a: jaxloss.varifocal_loss(a, q64), (x64,), order=1, modes=("rev",))


def test_varifocal_bad_inputs():
  with pytest.raises(LossInputError, match="varifocal_loss"):
    jaxloss.varifocal_loss(jnp.zeros((2, 3)), jnp.zeros((2, 4)))
  with pytest.raises(LossInputError, match="alpha"):
    jaxloss.varifocal_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), alpha=-1.0)
  with pytest.raises(LossTypeError):
    jaxloss.varifocal_loss(jnp.zeros((2, 3), jnp.int32), jnp.zeros((2, 3)))


# ----------------------------------------------------------------------------
# quality_focal_loss
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("beta", [2.0, 1.0, 0.5])
def test_qfl_matches_reference(beta):
  n, c = 20, 4
  x = RNG.normal(0, 2, (n, c))
  labels = RNG.integers(0, c + 1, n)       # c = background (mmdet)
  labels[0] = -1                            # a negative id is background too
  s = RNG.uniform(0, 1, n)
  got = jaxloss.quality_focal_loss(jnp.asarray(x, jnp.float32), jnp.asarray(labels),
                                   jnp.asarray(s, jnp.float32), beta=beta, reduction="none")
  ref = ref_qfl(x, labels, s, beta)
  chex.assert_shape(got, (n,))
  close(got, ref)
  w = RNG.uniform(0, 2, n)
  close(jaxloss.quality_focal_loss(jnp.asarray(x), jnp.asarray(labels), jnp.asarray(s),
                                   beta=beta, weights=jnp.asarray(w), reduction="sum"),
        (ref * w).sum())


def test_qfl_dense_equivalence_with_varifocal_style_formula():
  # With every location background, QFL is sum_c BCE(x, 0) * sigma(x)^beta.
  x = RNG.normal(0, 1, (5, 3))
  got = jaxloss.quality_focal_loss(jnp.asarray(x), jnp.full((5,), 3), jnp.zeros(5),
                                   reduction="none")
  close(got, (bce(x, 0.0) * sig(x) ** 2).sum(1))


def test_qfl_perfect_and_saturated():
  x = jnp.array([[1e4, -1e4, -1e4], [-1e4, -1e4, -1e4]])
  labels = jnp.array([0, 3])
  s = jnp.array([1.0, 0.3])
  f = lambda a: jaxloss.quality_focal_loss(a, labels, s, reduction="sum")  # noqa: E731
  v, g = jax.value_and_grad(f)(x)
  chex.assert_tree_all_finite((v, g))
  close(v, 0.0)


def test_qfl_grad_matches_finite_differences():
  x = RNG.normal(0, 1, (6, 3))
  labels = np.array([0, 1, 2, 3, 1, 0])
  s = RNG.uniform(0, 1, 6)
  with jax.enable_x64(True):
    check_grads(lambda a: jaxloss.quality_focal_loss(a, jnp.asarray(labels), jnp.asarray(s)),
                (jnp.asarray(x, jnp.float64),), order=1, modes=("rev",))


def test_qfl_bad_inputs():
  with pytest.raises(LossInputError, match="quality"):
    jaxloss.quality_focal_loss(jnp.zeros((4, 3)), jnp.zeros(4, int), jnp.zeros(5))
  with pytest.raises(LossInputError, match="labels"):
    jaxloss.quality_focal_loss(jnp.zeros((4, 3)), jnp.zeros((4, 3), int), jnp.zeros(4))
  with pytest.raises(LossTypeError, match="labels"):
    jaxloss.quality_focal_loss(jnp.zeros((4, 3)), jnp.zeros(4), jnp.zeros(4))


# ----------------------------------------------------------------------------
# distribution_focal_loss
# ----------------------------------------------------------------------------


def test_dfl_matches_reference():
  n, bins = 24, 17                          # reg_max = 16, mmdet's GFL default
  x = RNG.normal(0, 2, (n, bins))
  t = RNG.uniform(0, bins - 1, n)
  t[0], t[1], t[2] = 0.0, 3.0, bins - 1.0   # on a bin, and the last bin
  got = jaxloss.distribution_focal_loss(jnp.asarray(x, jnp.float32), jnp.asarray(t, jnp.float32),
                                        reduction="none")
  close(got, ref_dfl(x, t), rtol=2e-5)


def test_dfl_minimum_is_the_two_bin_distribution():
  # The loss is the cross-entropy to (k + 1 - t, t - k): minimised, with value = its entropy,
  # by exactly that distribution.
  t = 2.3
  target = np.zeros(5)
  target[2], target[3] = 0.7, 0.3
  logits = np.log(np.maximum(target, 1e-30))
  got = jaxloss.distribution_focal_loss(jnp.asarray(logits[None]), jnp.array([t]))
  close(got, -(0.7 * np.log(0.7) + 0.3 * np.log(0.3)), rtol=1e-4)


def test_dfl_grad_finite_and_matches_finite_differences():
  x = RNG.normal(0, 1, (5, 8))
  t = RNG.uniform(0, 7, 5)
  with jax.enable_x64(True):
    check_grads(lambda a: jaxloss.distribution_focal_loss(a, jnp.asarray(t)),
                (jnp.asarray(x, jnp.float64),), order=1, modes=("rev",))
  big = jnp.asarray(RNG.normal(0, 1, (3, 8)) * 1e4, jnp.float32)
  g = jax.grad(lambda a: jaxloss.distribution_focal_loss(a, jnp.array([0.0, 3.5, 7.0])))(big)
  chex.assert_tree_all_finite(g)


def test_dfl_bad_inputs():
  with pytest.raises(LossInputError, match="targets"):
    jaxloss.distribution_focal_loss(jnp.zeros((4, 8)), jnp.zeros((4, 8)))
  with pytest.raises(LossInputError, match="bins"):
    jaxloss.distribution_focal_loss(jnp.zeros((4, 1)), jnp.zeros(4))


# ----------------------------------------------------------------------------
# gaussian_focal_loss
# ----------------------------------------------------------------------------


def heatmap(rng, shape=(2, 8, 8)):
  y = rng.uniform(0, 0.99, shape)
  y[0, 2, 3] = y[1, 5, 5] = y[1, 0, 7] = 1.0
  return y


@pytest.mark.parametrize("alpha,gamma,pw,nw", [(2.0, 4.0, 1.0, 1.0), (1.5, 2.0, 2.0, 0.5)])
def test_gaussian_focal_matches_reference(alpha, gamma, pw, nw):
  y = heatmap(RNG)
  p = RNG.uniform(0.01, 0.99, y.shape)
  got = jaxloss.gaussian_focal_loss(jnp.asarray(p, jnp.float32), jnp.asarray(y, jnp.float32),
                                    alpha=alpha, gamma=gamma, pos_weight=pw, neg_weight=nw,
                                    reduction="none")
  ref = ref_gaussian_focal(p, y, alpha, gamma, pw, nw)
  close(got, ref, rtol=2e-5)
  # CenterNet/CornerNet normalisation: sum over the number of peaks (mmdet's avg_factor)
  close(jaxloss.gaussian_focal_loss(jnp.asarray(p), jnp.asarray(y), alpha=alpha, gamma=gamma,
                                    pos_weight=pw, neg_weight=nw, normalize=True),
        ref.sum() / 3, rtol=2e-5)


def test_gaussian_focal_sigmoid_activation():
  y = heatmap(RNG)
  x = RNG.normal(0, 2, y.shape)
  got = jaxloss.gaussian_focal_loss(jnp.asarray(x), jnp.asarray(y), activation="sigmoid",
                                    reduction="none")
  close(got, ref_gaussian_focal(sig(x), y), rtol=1e-4, atol=1e-6)


def test_gaussian_focal_normalize_without_positives_and_with_where():
  p = jnp.full((4,), 0.3)
  y = jnp.array([0.0, 0.5, 1.0, 0.2])
  ref = ref_gaussian_focal(np.full(4, 0.3), np.asarray(y))
  mask = jnp.array([True, True, False, True])   # masks the only peak: normaliser max(1, 0)
  close(jaxloss.gaussian_focal_loss(p, y, normalize=True, where=mask), ref[[0, 1, 3]].sum())


def test_gaussian_focal_edges_finite():
  y = jnp.array([1.0, 1.0, 0.0, 0.0, 0.5])
  p = jnp.array([1.0, 0.0, 0.0, 1.0, 1.0])
  v, g = jax.value_and_grad(lambda a: jaxloss.gaussian_focal_loss(a, y, reduction="sum"))(p)
  chex.assert_tree_all_finite((v, g))
  close(v, ref_gaussian_focal(np.asarray(p, np.float64), np.asarray(y)).sum(), rtol=1e-5)
  x = jnp.array([1e4, -1e4, -1e4, 1e4, 0.0])
  v, g = jax.value_and_grad(lambda a: jaxloss.gaussian_focal_loss(
      a, y, activation="sigmoid", reduction="sum"))(x)
  chex.assert_tree_all_finite((v, g))


# ----------------------------------------------------------------------------
# balanced_l1_loss
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("alpha,gamma,beta", [(0.5, 1.5, 1.0), (1.0, 2.0, 0.5)])
def test_balanced_l1_matches_reference(alpha, gamma, beta):
  d = RNG.normal(0, 1.5, (16, 4))
  t = RNG.normal(0, 1, (16, 4))
  got = jaxloss.balanced_l1_loss(jnp.asarray(d, jnp.float32), jnp.asarray(t, jnp.float32),
                                 alpha=alpha, gamma=gamma, beta=beta, reduction="none")
  close(got, ref_balanced_l1(d, t, alpha, gamma, beta), rtol=2e-5, atol=2e-6)


def test_balanced_l1_gradient_is_the_papers():
  # d ell / d x = alpha log(b |x| + 1) inside, gamma outside (beta = 1).
  a, g = 0.5, 1.5
  b = np.e ** (g / a) - 1
  x = jnp.array([0.0, 0.3, 0.9, 1.5, -2.0])
  grad = jax.grad(lambda v: jaxloss.balanced_l1_loss(v, jnp.zeros(5), reduction="sum"))(x)
  xn = np.asarray(x, np.float64)
  ref = np.where(np.abs(xn) < 1, a * np.log(b * np.abs(xn) + 1), g) * np.sign(xn)
  close(grad, ref, rtol=1e-5)
  # continuous at |d| = beta = 1
  lo = jaxloss.balanced_l1_loss(jnp.array([1 - 1e-6]), jnp.zeros(1), reduction="sum")
  hi = jaxloss.balanced_l1_loss(jnp.array([1.0]), jnp.zeros(1), reduction="sum")
  close(lo, float(hi), rtol=1e-5)


def test_balanced_l1_edges():
  t = jnp.zeros((2, 4))
  v, g = jax.value_and_grad(lambda a: jaxloss.balanced_l1_loss(a, t))(t)
  close(v, 0.0)
  chex.assert_tree_all_finite(g)
  v, g = jax.value_and_grad(lambda a: jaxloss.balanced_l1_loss(a, t))(t + 1e4)
  chex.assert_tree_all_finite((v, g))
  with pytest.raises(LossInputError, match="beta"):
    jaxloss.balanced_l1_loss(t, t, beta=0.0)
