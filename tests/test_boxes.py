"""jaxloss.boxes against independent float64 NumPy references."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxloss import LossInputError
from jaxloss import boxes as bx

RNG = np.random.default_rng(0)


def rand_boxes(n, rng=RNG, lo=0.0, hi=10.0):
  xy = rng.uniform(lo, hi, (n, 2))
  wh = rng.uniform(0.5, 5.0, (n, 2))
  return np.concatenate([xy, xy + wh], -1)


def np_area(b):
  return (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])


def np_pairwise_iou(a, b):
  out = np.zeros((len(a), len(b)))
  for i in range(len(a)):
    for j in range(len(b)):
      iw = max(0.0, min(a[i, 2], b[j, 2]) - max(a[i, 0], b[j, 0]))
      ih = max(0.0, min(a[i, 3], b[j, 3]) - max(a[i, 1], b[j, 1]))
      inter = iw * ih
      out[i, j] = inter / (np_area(a[i]) + np_area(b[j]) - inter)
  return out


def test_conversions_roundtrip_and_values():
  b = rand_boxes(6)
  xywh = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], -1)
  cxcywh = np.concatenate([(b[:, :2] + b[:, 2:]) / 2, b[:, 2:] - b[:, :2]], -1)
  np.testing.assert_allclose(bx.box_convert(b, "xyxy", "xywh"), xywh, rtol=1e-5)
  np.testing.assert_allclose(bx.box_convert(b, "xyxy", "cxcywh"), cxcywh, rtol=1e-5)
  np.testing.assert_allclose(bx.box_convert(cxcywh, "cxcywh", "xywh"), xywh, rtol=1e-5,
                             atol=1e-5)
  np.testing.assert_allclose(bx.cxcywh_to_xyxy(bx.xyxy_to_cxcywh(b)), b, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(bx.xywh_to_xyxy(bx.xyxy_to_xywh(b)), b, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(bx.box_area(b), np_area(b), rtol=1e-5)
  with pytest.raises(LossInputError, match="in_fmt"):
    bx.box_convert(b, "yxyx", "xyxy")
  with pytest.raises(LossInputError, match="shape"):
    bx.box_area(b[:, :3])


def test_box_iou_pairwise_n_ne_m():
  a, b = rand_boxes(5), rand_boxes(3)
  b[0] = a[0]
  out = bx.box_iou(a, b)
  assert out.shape == (5, 3)
  np.testing.assert_allclose(out, np_pairwise_iou(a, b), rtol=1e-5, atol=1e-7)
  assert float(out[0, 0]) == pytest.approx(1.0)
  # Zero union: 0, not NaN.
  z = np.zeros((1, 4))
  assert float(bx.box_iou(z, z)[0, 0]) == 0.0
  with pytest.raises(LossInputError, match="shape"):
    bx.box_iou(a[0], b)


def test_elementwise_matches_pairwise_diagonal():
  a, b = rand_boxes(7), rand_boxes(7)
  np.testing.assert_allclose(bx.elementwise_iou(a, b, eps=0.0),
                             np.diag(np_pairwise_iou(a, b)), rtol=1e-5, atol=1e-7)
  # Broadcasting: one target against many predictions.
  out = bx.elementwise_giou(a, b[0])
  assert out.shape == (7,)


def np_encode(b, a, w):
  bw, bh = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
  aw, ah = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
  bx_, by_ = b[:, 0] + bw / 2, b[:, 1] + bh / 2
  ax_, ay_ = a[:, 0] + aw / 2, a[:, 1] + ah / 2
  return np.stack([w[0] * (bx_ - ax_) / aw, w[1] * (by_ - ay_) / ah,
                   w[2] * np.log(bw / aw), w[3] * np.log(bh / ah)], -1)


@pytest.mark.parametrize("weights", [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)])
def test_encode_decode(weights):
  rng = np.random.default_rng(11)  # independent of test order (xdist)
  b, a = rand_boxes(6, rng), rand_boxes(6, rng)
  d = bx.encode_boxes(b, a, weights=weights)
  # float32 deltas: absolute error ~ weight * 1e-6 near zero offsets.
  np.testing.assert_allclose(d, np_encode(b, a, np.array(weights)), rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(bx.decode_boxes(d, a, weights=weights), b, rtol=1e-5, atol=1e-4)


def test_decode_clamps_log_size():
  a = np.array([[0.0, 0.0, 2.0, 2.0]])
  d = np.array([[0.0, 0.0, 100.0, 0.0]])
  out = np.asarray(bx.decode_boxes(d, a))
  width = out[0, 2] - out[0, 0]
  assert np.isfinite(out).all()
  np.testing.assert_allclose(width, 2.0 * 1000.0 / 16, rtol=1e-5)


def test_rotated_box_to_gaussian():
  rng = np.random.default_rng(1)
  b = np.concatenate([rng.uniform(0, 10, (5, 2)), rng.uniform(1, 5, (5, 2)),
                      rng.uniform(-3, 3, (5, 1))], -1)
  mu, sigma = bx.rotated_box_to_gaussian(b)
  for i in range(5):
    c, s = math.cos(b[i, 4]), math.sin(b[i, 4])
    r = np.array([[c, -s], [s, c]])
    ref = r @ np.diag([b[i, 2] ** 2 / 4, b[i, 3] ** 2 / 4]) @ r.T
    np.testing.assert_allclose(sigma[i], ref, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(mu, b[:, :2], rtol=1e-6)
  with pytest.raises(LossInputError, match="shape"):
    bx.rotated_box_to_gaussian(b[:, :4])


def test_geometry_grad_finite_at_degenerate_boxes():
  pairs = [([0., 0., 0., 0.], [0., 0., 0., 0.]), ([1., 1., 1., 3.], [0., 0., 2., 2.]),
           ([1., 1., 3., 1.], [1., 1., 3., 1.]), ([0., 0., 1., 1.], [5., 5., 6., 6.])]
  for fn in (bx.elementwise_iou, bx.elementwise_giou, bx.elementwise_diou, bx.elementwise_ciou):
    for p, t in pairs:
      g = jax.jit(jax.grad(lambda x, y, f=fn: f(x, y)))(jnp.array(p), jnp.array(t))
      assert np.isfinite(np.asarray(g)).all(), (fn.__name__, p, t)
