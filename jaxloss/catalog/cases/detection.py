"""Cases of the detection losses: example inputs, edge cases, bad inputs and contract flags."""

import jax
import jax.numpy as jnp

from jaxloss.catalog.cases import _inputs as ex
from jaxloss.catalog.cases import case

# ---- axis-aligned xyxy boxes: the IoU family ----

def _box_example(key, shape=(8,)):
  k1, k2, k3, k4 = jax.random.split(key, 4)
  xy1 = ex.uniform(k1, shape + (2,), 0.0, 10.0)
  wh1 = ex.uniform(k2, shape + (2,), 1.0, 5.0)
  xy2 = xy1 + ex.normal(k3, shape + (2,))
  wh2 = ex.uniform(k4, shape + (2,), 1.0, 5.0)
  return (jnp.concatenate([xy1, xy1 + wh1], -1), jnp.concatenate([xy2, xy2 + wh2], -1))


def _iou_example(key):
  return _box_example(key), {}


def _box_edges(key, kwargs=None):
  kw = kwargs or {}
  b1, b2 = _box_example(key)
  x = jnp.array
  return [
      ((b1, b1), kw),                                                  # identical
      ((b1, b1 + 100.0), kw),                                          # far apart
      ((x([[0., 0., 1., 1.]]), x([[2., 3., 4., 5.]])), kw),            # disjoint
      ((x([[1., 1., 2., 2.]]), x([[0., 0., 4., 4.]])), kw),            # nested
      ((x([[1., 1., 1., 3.]]), x([[0., 0., 2., 2.]])), kw),            # zero width
      ((x([[1., 1., 3., 1.]]), x([[0., 0., 2., 2.]])), kw),            # zero height
      ((x([[1., 1., 1., 1.]]), x([[0., 0., 2., 2.]])), kw),            # point box
      ((x([[0., 0., 0., 0.]]), x([[0., 0., 0., 0.]])), kw),            # all-zero vs itself
      ((x([[1., 1., 1., 1.]]), x([[1., 1., 1., 1.]])), kw),            # point vs itself
      ((b1 * 400.0, b2 * 400.0), kw),                                  # pixel scale (4096)
  ]


for _name in ("iou_loss", "giou_loss", "diou_loss", "ciou_loss", "eiou_loss", "siou_loss",
              "alpha_iou_loss"):
  case(_name, _iou_example, edge_cases=_box_edges, grad_argnums=(0, 1), where_trailing=1)


# ---- rotated boxes (cx, cy, w, h, angle): the Gaussian losses ----

def _rbox_example(key):
  ks = jax.random.split(key, 5)
  def make(k1, k2, k3):
    xy = ex.uniform(k1, (8, 2), 0.0, 10.0)
    wh = ex.uniform(k2, (8, 2), 1.0, 5.0)
    ang = ex.uniform(k3, (8, 1), -1.5, 1.5)
    return jnp.concatenate([xy, wh, ang], -1)
  p = make(ks[0], ks[1], ks[2])
  t = make(ks[3], ks[4], ks[0])
  return (p, t), {}


def _rbox_edges(key):
  (p, t), _ = _rbox_example(key)
  sq = p.at[:, 3].set(p[:, 2])                          # equal width and height
  zero = p.at[:, 2].set(0.0)                            # zero width
  return [((p, p), {}), ((sq, sq), {}), ((sq, t), {}), ((zero, t), {}),
          ((p, p.at[:, :2].add(1e3)), {}), ((p * jnp.array([400., 400, 400, 400, 1]), t), {})]


for _name in ("gaussian_wasserstein_loss", "kld_loss"):
  case(_name, _rbox_example, edge_cases=_rbox_edges, grad_argnums=(0, 1), where_trailing=1)


# ---- encoded box deltas ----

def _delta_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (8, 4), 0.5), ex.normal(k2, (8, 4), 0.5)), {}


def _delta_edges(key):
  (d, t), _ = _delta_example(key)
  return [((t, t), {}), ((d * 1e3, t), {}), ((d, t), {"beta": 0.0})]


case("smooth_l1_box_loss", _delta_example, edge_cases=_delta_edges, grad_argnums=(0, 1),
     where_trailing=1)
