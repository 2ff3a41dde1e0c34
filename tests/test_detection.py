"""Detection and tracking losses against independent float64 NumPy references.

The references are written from the papers and from torchvision's / mmrotate's
published formulas (eps placement), not from jaxloss.
"""

import importlib.util
import inspect
import math
import pathlib

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

import jaxloss
from jaxloss import LossInputError

EPS = 1e-7
RNG = np.random.default_rng(0)


def rand_pairs(n, rng=RNG, spread=2.0):
  xy1 = rng.uniform(0, 10, (n, 2))
  wh1 = rng.uniform(0.5, 5, (n, 2))
  xy2 = xy1 + rng.normal(0, spread, (n, 2))
  wh2 = rng.uniform(0.5, 5, (n, 2))
  return np.concatenate([xy1, xy1 + wh1], -1), np.concatenate([xy2, xy2 + wh2], -1)


# ----------------------------------------------------------------------------
# float64 NumPy references (torchvision formulas, eps placement included).
# ----------------------------------------------------------------------------


def ref_parts(b1, b2):
  x1, y1, x2, y2 = b1.T
  g1, h1, g2, h2 = b2.T
  iw = np.minimum(x2, g2) - np.maximum(x1, g1)
  ih = np.minimum(y2, h2) - np.maximum(y1, h1)
  inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
  union = (x2 - x1) * (y2 - y1) + (g2 - g1) * (h2 - h1) - inter
  cw = np.maximum(x2, g2) - np.minimum(x1, g1)
  ch = np.maximum(y2, h2) - np.minimum(y1, h1)
  rho2 = ((x1 + x2) / 2 - (g1 + g2) / 2) ** 2 + ((y1 + y2) / 2 - (h1 + h2) / 2) ** 2
  return inter, union, cw, ch, rho2


def ref_iou(b1, b2, eps=EPS):
  inter, union, *_ = ref_parts(b1, b2)
  return inter / (union + eps)


def ref_giou_loss(b1, b2, eps=EPS):
  inter, union, cw, ch, _ = ref_parts(b1, b2)
  c = cw * ch
  return 1 - inter / (union + eps) + (c - union) / (c + eps)


def ref_diou_loss(b1, b2, eps=EPS):
  inter, union, cw, ch, rho2 = ref_parts(b1, b2)
  return 1 - inter / (union + eps) + rho2 / (cw ** 2 + ch ** 2 + eps)


def ref_v(b1, b2):
  w1, h1 = b1[:, 2] - b1[:, 0], b1[:, 3] - b1[:, 1]
  w2, h2 = b2[:, 2] - b2[:, 0], b2[:, 3] - b2[:, 1]
  return 4 / math.pi ** 2 * (np.arctan(w2 / h2) - np.arctan(w1 / h1)) ** 2


def ref_ciou_loss(b1, b2, eps=EPS, alpha=None):
  iou = ref_iou(b1, b2, 1e-7)
  v = ref_v(b1, b2)
  if alpha is None:
    alpha = v / (1 - iou + v + eps)
  return ref_diou_loss(b1, b2, 1e-7) + alpha * v


def ref_eiou_loss(b1, b2, eps=EPS):
  inter, union, cw, ch, rho2 = ref_parts(b1, b2)
  dw = (b1[:, 2] - b1[:, 0]) - (b2[:, 2] - b2[:, 0])
  dh = (b1[:, 3] - b1[:, 1]) - (b2[:, 3] - b2[:, 1])
  return (1 - inter / (union + eps) + rho2 / (cw ** 2 + ch ** 2 + eps)
          + dw ** 2 / (cw ** 2 + eps) + dh ** 2 / (ch ** 2 + eps))


def ref_siou_loss(b1, b2, theta=4.0, eps=EPS):
  """The paper's literal form: angle cost 1 - 2 sin^2(arcsin(x) - pi/4)."""
  inter, union, cw, ch, _ = ref_parts(b1, b2)
  iou = inter / (union + eps)
  dx = (b2[:, 0] + b2[:, 2] - b1[:, 0] - b1[:, 2]) / 2
  dy = (b2[:, 1] + b2[:, 3] - b1[:, 1] - b1[:, 3]) / 2
  sigma = np.hypot(dx, dy)
  # Angle to the x axis; 0 for coincident centres (no direction).
  alpha = np.arcsin(np.abs(dy) / np.where(sigma > 0, sigma, 1.0))
  alpha = np.where(alpha > math.pi / 4, math.pi / 2 - alpha, alpha)
  lam = 1 - 2 * np.sin(alpha - math.pi / 4) ** 2
  gamma = 2 - lam
  dist = (1 - np.exp(-gamma * (dx / cw) ** 2)) + (1 - np.exp(-gamma * (dy / ch) ** 2))
  w1, h1 = b1[:, 2] - b1[:, 0], b1[:, 3] - b1[:, 1]
  w2, h2 = b2[:, 2] - b2[:, 0], b2[:, 3] - b2[:, 1]
  ow = np.abs(w1 - w2) / np.maximum(w1, w2)
  oh = np.abs(h1 - h2) / np.maximum(h1, h2)
  shape = (1 - np.exp(-ow)) ** theta + (1 - np.exp(-oh)) ** theta
  return 1 - iou + 0.5 * (dist + shape)


def ref_alpha_iou_loss(b1, b2, alpha, mode, eps=EPS):
  inter, union, cw, ch, rho2 = ref_parts(b1, b2)
  iou = inter / (union + eps)
  out = 1 - iou ** alpha
  if mode == "giou":
    c = cw * ch
    out = out + ((c - union) / (c + eps)) ** alpha
  if mode in ("diou", "ciou"):
    out = out + (rho2 / (cw ** 2 + ch ** 2 + eps)) ** alpha
  if mode == "ciou":
    v = ref_v(b1, b2)
    out = out + (v / (1 - iou + v + eps) * v) ** alpha
  return out


BOX_CASES = [
    (jaxloss.giou_loss, ref_giou_loss),
    (jaxloss.diou_loss, ref_diou_loss),
    (jaxloss.ciou_loss, ref_ciou_loss),
    (jaxloss.eiou_loss, ref_eiou_loss),
    (jaxloss.siou_loss, ref_siou_loss),
    (lambda a, b, **k: jaxloss.iou_loss(a, b, **k), lambda a, b: 1 - ref_iou(a, b)),
    (lambda a, b, **k: jaxloss.iou_loss(a, b, mode="log", **k),
     lambda a, b: -np.log(np.maximum(ref_iou(a, b), EPS))),
]


@pytest.mark.parametrize("fn,ref", BOX_CASES, ids=["giou", "diou", "ciou", "eiou", "siou",
                                                     "iou", "iou_log"])
def test_box_losses_match_reference(fn, ref):
  b1, b2 = rand_pairs(64)
  b2[:4] = b1[:4]                                  # identical
  b2[4:8] = b1[4:8] + 20.0                         # disjoint, far
  out = fn(jnp.asarray(b1, jnp.float32), jnp.asarray(b2, jnp.float32), reduction="none")
  np.testing.assert_allclose(out, ref(b1, b2), rtol=1e-5, atol=2e-6)
  mean = fn(jnp.asarray(b1, jnp.float32), jnp.asarray(b2, jnp.float32))
  np.testing.assert_allclose(mean, ref(b1, b2).mean(), rtol=1e-5)


@pytest.mark.parametrize("mode", ["iou", "giou", "diou", "ciou"])
@pytest.mark.parametrize("alpha", [1.0, 3.0])
def test_alpha_iou_matches_reference(mode, alpha):
  b1, b2 = rand_pairs(32, np.random.default_rng(3), spread=1.0)
  out = jaxloss.alpha_iou_loss(jnp.asarray(b1, jnp.float32), jnp.asarray(b2, jnp.float32),
                               alpha=alpha, mode=mode, reduction="none")
  ref = ref_alpha_iou_loss(b1, b2, alpha, mode)
  np.testing.assert_allclose(out, ref, rtol=1e-5, atol=2e-6)


def test_alpha_one_recovers_base_losses():
  b1, b2 = rand_pairs(16)
  for mode, base in (("giou", jaxloss.giou_loss), ("diou", jaxloss.diou_loss)):
    np.testing.assert_allclose(
        jaxloss.alpha_iou_loss(b1, b2, alpha=1.0, mode=mode, reduction="none"),
        base(b1, b2, reduction="none"), rtol=1e-5, atol=1e-6)


def test_ciou_eps_only_enters_alpha():
  b1, b2 = rand_pairs(16)
  out = jaxloss.ciou_loss(b1, b2, eps=0.5, reduction="none")
  np.testing.assert_allclose(out, ref_ciou_loss(b1, b2, eps=0.5), rtol=1e-5, atol=1e-6)


def test_torchvision_documented_values():
  # Hand-computed: unit boxes side by side, one unit apart.
  a = jnp.array([[0., 0., 1., 1.]])
  b = jnp.array([[2., 0., 3., 1.]])
  assert float(jaxloss.giou_loss(a, b)) == pytest.approx(1 + 1 / 3, rel=1e-6)
  assert float(jaxloss.diou_loss(a, b)) == pytest.approx(1 + 4 / 10, rel=1e-6)
  # All-zero box vs itself: torchvision gives GIoU loss 1 (issue #7746).
  z = jnp.zeros((1, 4))
  assert float(jaxloss.giou_loss(z, z)) == 1.0
  # Default reduction is "mean" (torchvision: "none").
  b1, b2 = rand_pairs(5)
  assert jaxloss.giou_loss(b1, b2).shape == ()
  assert jaxloss.giou_loss(b1, b2, reduction="none").shape == (5,)


# ----------------------------------------------------------------------------
# Gradients.
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["iou_loss", "giou_loss", "diou_loss", "eiou_loss",
                                  "siou_loss", "alpha_iou_loss"])
def test_box_gradients_finite_differences(name):
  fn = getattr(jaxloss, name)
  b1, b2 = rand_pairs(6, np.random.default_rng(7), spread=0.7)
  with jax.enable_x64(True):
    check_grads(lambda a, b: fn(a, b, reduction="sum"), (jnp.asarray(b1), jnp.asarray(b2)),
                order=1, modes=["rev"], atol=1e-5, rtol=1e-5)


def test_ciou_gradient_treats_alpha_as_constant():
  b1, b2 = rand_pairs(5, np.random.default_rng(8), spread=0.7)
  alpha = (lambda v, i: v / (1 - i + v + EPS))(ref_v(b1, b2), ref_iou(b1, b2))
  with jax.enable_x64(True):
    g = np.asarray(jax.grad(lambda a: jaxloss.ciou_loss(a, jnp.asarray(b2), reduction="sum"))(
        jnp.asarray(b1)))
  num = np.zeros_like(b1)
  h = 1e-6
  for idx in np.ndindex(b1.shape):
    p, m = b1.copy(), b1.copy()
    p[idx] += h
    m[idx] -= h
    num[idx] = (ref_ciou_loss(p, b2, alpha=alpha).sum()
                - ref_ciou_loss(m, b2, alpha=alpha).sum()) / (2 * h)
  np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-6)


EDGE_PAIRS = [
    ([1., 1., 3., 4.], [1., 1., 3., 4.]),     # identical
    ([0., 0., 1., 1.], [500., 500., 501., 502.]),  # far apart
    ([1., 1., 2., 2.], [0., 0., 4., 4.]),     # nested
    ([1., 1., 1., 3.], [0., 0., 2., 2.]),     # zero width
    ([1., 1., 3., 1.], [0., 0., 2., 2.]),     # zero height
    ([1., 1., 1., 1.], [0., 0., 2., 2.]),     # point
    ([0., 0., 0., 0.], [0., 0., 0., 0.]),     # all-zero vs itself
    ([0., 0., 2., 2.], [1., 1., 1., 3.]),     # h = 0 ... target zero width
    ([0., 0., 2., 2.], [1., 1., 3., 1.]),     # target zero height (aspect term)
]
BOX_LOSSES = ["iou_loss", "giou_loss", "diou_loss", "ciou_loss", "eiou_loss", "siou_loss",
              "alpha_iou_loss"]


@pytest.mark.parametrize("name", BOX_LOSSES)
def test_box_edges_finite_value_and_grad(name):
  fn = getattr(jaxloss, name)
  p = jnp.array([e[0] for e in EDGE_PAIRS])
  t = jnp.array([e[1] for e in EDGE_PAIRS])
  vals = fn(p, t, reduction="none")
  g1, g2 = jax.grad(lambda a, b: fn(a, b, reduction="sum"), argnums=(0, 1))(p, t)
  chex.assert_tree_all_finite((vals, g1, g2))
  assert float(vals[0]) == pytest.approx(0.0, abs=1e-6)     # identical boxes -> 0
  assert np.all(np.asarray(vals) >= -1e-6)
  # Zero upstream cotangent gives zero (not NaN) gradients.
  _, vjp = jax.vjp(lambda a: fn(a, t, reduction="none"), p)
  (g0,) = vjp(jnp.zeros(len(EDGE_PAIRS)))
  assert np.all(np.asarray(g0) == 0)


@pytest.mark.parametrize("name", ["giou_loss", "diou_loss", "ciou_loss"])
def test_disjoint_boxes_have_nonzero_gradient(name):
  fn = getattr(jaxloss, name)
  g = jax.grad(lambda a: fn(a, jnp.array([[3., 3., 4., 4.]])))(jnp.array([[0., 0., 1., 1.]]))
  assert np.abs(np.asarray(g)).sum() > 1e-3
  # ...while plain IoU has none (the motivation for GIoU/DIoU).
  g = jax.grad(lambda a: jaxloss.iou_loss(a, jnp.array([[3., 3., 4., 4.]])))(
      jnp.array([[0., 0., 1., 1.]]))
  assert np.all(np.asarray(g) == 0)


@pytest.mark.parametrize("name", ["giou_loss", "ciou_loss", "siou_loss"])
def test_float16_image_coordinates(name):
  fn = getattr(jaxloss, name)
  b1, b2 = rand_pairs(16)
  b1, b2 = b1 * 400, b2 * 400                      # up to ~4000 pixels
  lo1, lo2 = jnp.asarray(b1, jnp.float16), jnp.asarray(b2, jnp.float16)
  val, grads = jax.value_and_grad(lambda a, b: fn(a, b), argnums=(0, 1))(lo1, lo2)
  assert val.dtype == jnp.float32
  chex.assert_tree_all_finite((val, grads))
  ref = fn(np.asarray(lo1, np.float32), np.asarray(lo2, np.float32))
  np.testing.assert_allclose(val, ref, rtol=1e-6)


def test_inverted_boxes_raise_under_chexify():
  good = jnp.array([[0., 0., 2., 2.]])
  bad = jnp.array([[2., 0., 0., 2.]])                # x2 < x1
  for fn in (jaxloss.giou_loss, jaxloss.ciou_loss):
    checked = chex.chexify(fn, async_check=False)
    checked(good, good)                              # valid: no error
    with pytest.raises(Exception, match="x1 <= x2"):
      checked(bad, good)
    # Fast path: documented, finite, no error.
    assert np.isfinite(float(fn(bad, good)))
  # A masked-out inverted box does not trip the check.
  chex.chexify(jaxloss.diou_loss, async_check=False)(jnp.concatenate([good, bad]), jnp.concatenate([good, good]),
                                  where=jnp.array([True, False]))


def test_box_errors():
  b = jnp.zeros((3, 4))
  with pytest.raises(LossInputError, match=r"giou_loss: targets has shape \(3, 3\)"):
    jaxloss.giou_loss(b, jnp.zeros((3, 3)))
  with pytest.raises(LossInputError, match="broadcastable"):
    jaxloss.diou_loss(b, jnp.zeros((2, 4)))
  with pytest.raises(LossInputError, match="mode"):
    jaxloss.iou_loss(b, b, mode="square")
  with pytest.raises(LossInputError, match="alpha"):
    jaxloss.alpha_iou_loss(b, b, alpha=0.0)
  with pytest.raises(LossInputError, match="where"):
    jaxloss.ciou_loss(b, b, where=jnp.ones((4,), bool))


box_st = st.tuples(st.floats(0, 50), st.floats(0, 50), st.floats(0.1, 20), st.floats(0.1, 20))


def _xyxy(t):
  x, y, w, h = t
  return [x, y, x + w, y + h]


@settings(max_examples=25, deadline=None)
@given(box_st, box_st)
def test_properties_nonnegative_symmetric_zero_at_identity(a, b):
  a, b = jnp.array([_xyxy(a)]), jnp.array([_xyxy(b)])
  for fn in (jaxloss.giou_loss, jaxloss.diou_loss, jaxloss.ciou_loss, jaxloss.eiou_loss):
    ab, ba = float(fn(a, b)), float(fn(b, a))
    assert ab >= -1e-6
    assert ab == pytest.approx(ba, rel=1e-5, abs=1e-6)    # symmetric
    # torchvision's eps in the union leaves 1 - A / (A + eps) ~ eps / A.
    area = float((a[0, 2] - a[0, 0]) * (a[0, 3] - a[0, 1]))
    assert float(fn(a, a)) == pytest.approx(0.0, abs=1e-6 + 2e-7 / area)
  assert float(jaxloss.giou_loss(a, b)) < 2.0


# ----------------------------------------------------------------------------
# Smooth L1 on deltas.
# ----------------------------------------------------------------------------


def test_smooth_l1_box_loss_reference():
  rng = np.random.default_rng(4)
  d, t = rng.normal(0, 0.3, (10, 4)), rng.normal(0, 0.3, (10, 4))
  beta = 1 / 9
  r = np.abs(d - t)
  ref = np.where(r < beta, 0.5 * r ** 2 / beta, r - 0.5 * beta).sum(-1)
  out = jaxloss.smooth_l1_box_loss(jnp.asarray(d, jnp.float32), jnp.asarray(t, jnp.float32),
                                   reduction="none")
  np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
  pos = np.arange(10) < 4
  np.testing.assert_allclose(
      jaxloss.smooth_l1_box_loss(d, t, where=jnp.asarray(pos)), ref[pos].mean(), rtol=1e-5)
  with pytest.raises(LossInputError, match="shape"):
    jaxloss.smooth_l1_box_loss(jnp.zeros((3, 5)), jnp.zeros((3, 5)))
  # Round trip with the box coder: perfect deltas give 0.
  anchors = jnp.array([[0., 0., 4., 4.]])
  gt = jnp.array([[1., 1., 5., 9.]])
  enc = jaxloss.boxes.encode_boxes(gt, anchors, weights=(10., 10., 5., 5.))
  assert float(jaxloss.smooth_l1_box_loss(enc, enc)) == 0.0


# ----------------------------------------------------------------------------
# Gaussian losses (rotated boxes).
# ----------------------------------------------------------------------------


def rand_rboxes(n, rng):
  return np.concatenate([rng.uniform(0, 10, (n, 2)), rng.uniform(1, 5, (n, 2)),
                         rng.uniform(-1.5, 1.5, (n, 1))], -1)


def ref_gauss(b):
  c, s = np.cos(b[4]), np.sin(b[4])
  r = np.array([[c, -s], [s, c]])
  return b[:2], r @ np.diag([b[2] ** 2 / 4, b[3] ** 2 / 4]) @ r.T


def ref_gwd(p, t, fun="sqrt", tau=1.0):
  """Wasserstein-2 between Gaussians with scipy's matrix square root."""
  out = []
  for bp, bt in zip(p, t, strict=True):
    mp, sp = ref_gauss(bp)
    mt, st_ = ref_gauss(bt)
    rp = scipy.linalg.sqrtm(sp).real
    cross = scipy.linalg.sqrtm(rp @ st_ @ rp).real
    d2 = np.sum((mp - mt) ** 2) + np.trace(sp + st_ - 2 * cross)
    d2 = max(d2, 1e-6)
    f = np.sqrt(d2) if fun == "sqrt" else np.log1p(d2)
    out.append(1 - 1 / (tau + f))
  return np.array(out)


def ref_kld(p, t, fun="log1p", tau=1.0):
  """mmrotate v1: twice KL(N_p || N_t), clamped, then 1 - 1/(tau + f)."""
  out = []
  for bp, bt in zip(p, t, strict=True):
    mp, sp = ref_gauss(bp)
    mt, st_ = ref_gauss(bt)
    inv = np.linalg.inv(st_)
    d = mp - mt
    dist = d @ inv @ d + np.trace(inv @ sp) + np.log(np.linalg.det(st_) / np.linalg.det(sp)) - 2
    dist = max(dist, 1e-6)
    f = np.sqrt(dist) if fun == "sqrt" else np.log1p(dist)
    out.append(1 - 1 / (tau + f))
  return np.array(out)


@pytest.mark.parametrize("fun", ["sqrt", "log1p"])
def test_gwd_matches_scipy_sqrtm(fun):
  rng = np.random.default_rng(5)
  p, t = rand_rboxes(12, rng), rand_rboxes(12, rng)
  t[:3, 2:4] = t[:3, 2:3]                            # equal width and height
  out = jaxloss.gaussian_wasserstein_loss(jnp.asarray(p, jnp.float32), jnp.asarray(t, jnp.float32),
                                          fun=fun, tau=2.0, reduction="none")
  np.testing.assert_allclose(out, ref_gwd(p, t, fun, 2.0), rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("fun", ["sqrt", "log1p"])
def test_kld_matches_reference(fun):
  rng = np.random.default_rng(6)
  p, t = rand_rboxes(12, rng), rand_rboxes(12, rng)
  out = jaxloss.kld_loss(jnp.asarray(p, jnp.float32), jnp.asarray(t, jnp.float32), fun=fun,
                         reduction="none")
  np.testing.assert_allclose(out, ref_kld(p, t, fun), rtol=2e-5, atol=1e-6)


def test_gaussian_losses_edges_and_gradients():
  rng = np.random.default_rng(9)
  p = rand_rboxes(4, rng)
  sq = p.copy()
  sq[:, 3] = sq[:, 2]                                 # equal w and h: rotation-invariant
  for fn in (jaxloss.gaussian_wasserstein_loss, jaxloss.kld_loss):
    ident = fn(jnp.asarray(sq), jnp.asarray(sq), reduction="none")
    # Identical boxes sit at the 1e-6 clamp: 1 - 1/(1 + f(1e-6)).
    assert np.all(np.asarray(ident) < 1.1e-3)
    g = jax.grad(lambda a, f=fn: f(a, jnp.asarray(sq)))(jnp.asarray(sq) + 0.3)
    chex.assert_tree_all_finite(g)
    zero_w = jnp.asarray(p).at[:, 2].set(0.0)
    chex.assert_tree_all_finite(jax.grad(lambda a, f=fn: f(a, jnp.asarray(p)))(zero_w))
  # Finite differences in float64 away from the clamp.
  t = rand_rboxes(4, rng)
  with jax.enable_x64(True):
    for fn in (jaxloss.gaussian_wasserstein_loss, jaxloss.kld_loss):
      check_grads(lambda a, b, f=fn: f(a, b, reduction="sum"), (jnp.asarray(p), jnp.asarray(t)),
                  order=1, modes=["rev"], atol=1e-5, rtol=1e-5)
  # A square box is rotation invariant.
  rot = sq.copy()
  rot[:, 4] += 0.7
  np.testing.assert_allclose(jaxloss.gaussian_wasserstein_loss(sq, t, reduction="none"),
                             jaxloss.gaussian_wasserstein_loss(rot, t, reduction="none"),
                             rtol=1e-5)


# ----------------------------------------------------------------------------
# Tracking.
# ----------------------------------------------------------------------------


def test_siamfc_label_map():
  y = np.asarray(jaxloss.siamfc_label_map((17, 17)))
  assert y.shape == (17, 17)
  # r_pos / stride = 2 in L1 distance: 1 + 4 + 8 = 13 positive cells.
  assert int(y.sum()) == 13 and y[8, 8] == 1 and y[8, 10] == 1 and y[9, 10] == 0
  y = np.asarray(jaxloss.siamfc_label_map((17, 17), r_pos=8.0, r_neg=24.0))
  assert set(np.unique(y)) == {0.0, 0.5, 1.0}


def ref_xcorr(r, y, neg_weight=1.0):
  out = []
  for rm, ym in zip(r.reshape(-1, *r.shape[-2:]), y.reshape(-1, *y.shape[-2:]),
                    strict=True):
    pos, neg = ym == 1, ym == 0
    w = np.zeros_like(rm)
    if pos.any():
      w[pos] = 1 / pos.sum()
    if neg.any():
      w[neg] = neg_weight / neg.sum()
    w = w / w.sum() if w.sum() > 0 else w
    sgn = 2 * ym - 1                                   # paper's +-1 labels
    out.append(np.sum(w * np.log1p(np.exp(-sgn * rm))))
  return np.array(out).reshape(r.shape[:-2])


def test_cross_correlation_loss_reference():
  rng = np.random.default_rng(10)
  r = rng.normal(0, 2, (3, 2, 9, 9))
  y = np.broadcast_to(np.asarray(jaxloss.siamfc_label_map((9, 9), r_pos=16, r_neg=32)), r.shape)
  for nw in (1.0, 0.5):
    out = jaxloss.cross_correlation_loss(jnp.asarray(r, jnp.float32), y, neg_weight=nw,
                                         reduction="none")
    assert out.shape == (3, 2)
    np.testing.assert_allclose(out, ref_xcorr(r, y, nw), rtol=1e-5, atol=1e-6)
  # Labels broadcast; saturated logits stay finite.
  lbl = jaxloss.siamfc_label_map((9, 9))
  v, g = jax.value_and_grad(lambda a: jaxloss.cross_correlation_loss(a, lbl))(
      jnp.asarray(r, jnp.float32) * 1e4)
  chex.assert_tree_all_finite((v, g))
  with jax.enable_x64(True):
    check_grads(lambda a: jaxloss.cross_correlation_loss(a, lbl), (jnp.asarray(r),), order=1,
                modes=["rev"])
  with pytest.raises(LossInputError, match="shape"):
    jaxloss.cross_correlation_loss(jnp.zeros((9,)), jnp.zeros((9,)))
  with pytest.raises(LossInputError, match="broadcast"):
    jaxloss.cross_correlation_loss(jnp.zeros((2, 9, 9)), jnp.zeros((8, 9)))


def test_mahalanobis_loss():
  rng = np.random.default_rng(11)
  a = rng.normal(size=(4, 4))
  cov = a @ a.T + np.eye(4)
  x, m = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
  d = x - m
  ref = np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d)
  out = jaxloss.mahalanobis_loss(jnp.asarray(x, jnp.float32), jnp.asarray(m, jnp.float32),
                                 covariance=jnp.asarray(cov, jnp.float32), reduction="none")
  np.testing.assert_allclose(out, ref, rtol=1e-4)
  out_p = jaxloss.mahalanobis_loss(x, m, precision=np.linalg.inv(cov), reduction="none")
  np.testing.assert_allclose(out_p, ref, rtol=1e-4)
  # Per-example covariances.
  covs = np.stack([cov * (i + 1) for i in range(6)])
  ref_b = np.array([d[i] @ np.linalg.inv(covs[i]) @ d[i] for i in range(6)])
  np.testing.assert_allclose(jaxloss.mahalanobis_loss(x, m, covariance=covs, reduction="none"),
                             ref_b, rtol=1e-4)
  with jax.enable_x64(True):
    check_grads(lambda a, b, c: jaxloss.mahalanobis_loss(a, b, covariance=c @ c.T + jnp.eye(4)),
                (jnp.asarray(x), jnp.asarray(m), jnp.asarray(a)), order=1, modes=["rev"])
  # Identical points: 0 with a finite gradient.
  v, g = jax.value_and_grad(lambda z: jaxloss.mahalanobis_loss(z, jnp.asarray(m),
                                                               covariance=cov))(jnp.asarray(m))
  assert float(v) == 0.0
  chex.assert_tree_all_finite(g)
  with pytest.raises(LossInputError, match="exactly one"):
    jaxloss.mahalanobis_loss(x, m)
  with pytest.raises(LossInputError, match="exactly one"):
    jaxloss.mahalanobis_loss(x, m, covariance=cov, precision=cov)
  with pytest.raises(LossInputError, match=r"covariance has shape \(3, 3\)"):
    jaxloss.mahalanobis_loss(x, m, covariance=np.eye(3))


def test_logistic_regression_loss():
  rng = np.random.default_rng(12)
  s, y = rng.normal(0, 3, (4, 7, 7)), rng.uniform(0, 1, (4, 7, 7))
  ref = np.log1p(np.exp(-np.abs(s))) + np.maximum(s, 0) - y * s
  out = jaxloss.logistic_regression_loss(jnp.asarray(s, jnp.float32), jnp.asarray(y, jnp.float32),
                                         reduction="none")
  np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
  big = jnp.array([1e4, -1e4])
  v, g = jax.value_and_grad(lambda a: jaxloss.logistic_regression_loss(a, jnp.array([1., 0.])))(
      big)
  assert float(v) == 0.0
  chex.assert_tree_all_finite(g)
  with pytest.raises(LossInputError, match="shape"):
    jaxloss.logistic_regression_loss(jnp.zeros((3, 3)), jnp.zeros((3,)))


# ----------------------------------------------------------------------------
# Signatures: (predictions, targets) for boxes and vectors, (logits, labels) for score maps.
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("name,first,second", [
    *[(n, "predictions", "targets") for n in BOX_LOSSES],
    ("gaussian_wasserstein_loss", "predictions", "targets"),
    ("kld_loss", "predictions", "targets"),
    ("smooth_l1_box_loss", "predictions", "targets"),
    ("mahalanobis_loss", "predictions", "targets"),
    ("cross_correlation_loss", "logits", "labels"),
    ("logistic_regression_loss", "logits", "labels"),
])
def test_positional_argument_names(name, first, second):
  params = list(inspect.signature(getattr(jaxloss, name)).parameters.values())
  assert [p.name for p in params[:2]] == [first, second]
  assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[2:])


def test_keyword_calls_equal_positional_calls():
  b1, b2 = (jnp.asarray(b, jnp.float32) for b in rand_pairs(5))
  for name in BOX_LOSSES:
    fn = getattr(jaxloss, name)
    np.testing.assert_array_equal(fn(predictions=b1, targets=b2), fn(b1, b2))
  rng = np.random.default_rng(13)
  r1, r2 = (jnp.asarray(rand_rboxes(5, rng), jnp.float32) for _ in range(2))
  for fn in (jaxloss.gaussian_wasserstein_loss, jaxloss.kld_loss, jaxloss.smooth_l1_box_loss):
    a, b = (r1, r2) if fn is not jaxloss.smooth_l1_box_loss else (r1[:, :4], r2[:, :4])
    np.testing.assert_array_equal(fn(predictions=a, targets=b), fn(a, b))
  np.testing.assert_array_equal(
      jaxloss.mahalanobis_loss(predictions=r1, targets=r2, covariance=jnp.eye(5)),
      jaxloss.mahalanobis_loss(r1, r2, covariance=jnp.eye(5)))
  s = jnp.asarray(rng.normal(size=(2, 9, 9)), jnp.float32)
  y = jaxloss.siamfc_label_map((9, 9))
  np.testing.assert_array_equal(jaxloss.cross_correlation_loss(logits=s, labels=y),
                                jaxloss.cross_correlation_loss(s, y))
  np.testing.assert_array_equal(
      jaxloss.logistic_regression_loss(logits=s, labels=jnp.broadcast_to(y, s.shape)),
      jaxloss.logistic_regression_loss(s, jnp.broadcast_to(y, s.shape)))


# ----------------------------------------------------------------------------
# The DIoU paper's simulation, tiny.
# ----------------------------------------------------------------------------


def _load_simulation():
  path = pathlib.Path(__file__).parents[1] / "benchmarks" / "diou_simulation.py"
  spec = importlib.util.spec_from_file_location("diou_simulation", path)
  mod = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(mod)
  return mod


def test_diou_simulation_ordering():
  sim = _load_simulation()
  anchors, targets = sim.make_cases(2)              # 686 regression cases
  err = {n: sim.simulate(n, anchors, targets, iters=60, lr=0.1)[0] for n in ("IoU", "DIoU",
                                                                           "CIoU")}
  initial = float(np.abs(anchors - targets).sum())
  assert all(np.isfinite(v) for v in err.values())
  assert err["DIoU"] < 0.5 * err["IoU"]
  assert err["CIoU"] < 0.5 * err["IoU"]
  assert err["IoU"] <= initial
