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
  case(_name, _iou_example, edge_cases=_box_edges, grad_argnums=(0, 1))


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
  case(_name, _rbox_example, edge_cases=_rbox_edges, grad_argnums=(0, 1))


# ---- encoded box deltas ----

def _delta_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (8, 4), 0.5), ex.normal(k2, (8, 4), 0.5)), {}


def _delta_edges(key):
  (d, t), _ = _delta_example(key)
  return [((t, t), {}), ((d * 1e3, t), {}), ((d, t), {"beta": 0.0})]


case("smooth_l1_box_loss", _delta_example, edge_cases=_delta_edges, grad_argnums=(0, 1))


# ---- quality-aware classification of dense detectors (VFNet, GFL) ----

def _iou_aware_targets(key, shape=(8, 5)):
  k1, k2, k3 = jax.random.split(key, 3)
  cls = jax.random.randint(k1, shape[:-1], 0, shape[-1])
  pos = jax.random.bernoulli(k2, 0.5, shape[:-1])
  iou = ex.uniform(k3, shape[:-1], 0.05, 1.0)
  return jnp.where(jax.nn.one_hot(cls, shape[-1], dtype=bool) & pos[..., None],
                   iou[..., None], 0.0)


def _vfl_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (8, 5), 2.0), _iou_aware_targets(k2)), {}


def _vfl_edges(key):
  (x, q), _ = _vfl_example(key)
  perfect = jnp.where(q > 0, 1e4, -1e4)
  return [((perfect, (q > 0).astype(q.dtype)), {}),       # confident and right, q = 1
          ((x * 1e4, q), {}), ((-x * 1e4, q), {}),         # saturated either way
          ((x, jnp.zeros_like(q)), {}),                    # no positive
          ((x, q), {"gamma": 0.5, "iou_weighted": False}),
          ((x, q), {"gamma": 0})]


case("varifocal_loss", _vfl_example, edge_cases=_vfl_edges)


def _qfl_example(key):
  k1, k2, k3 = jax.random.split(key, 3)
  labels = jax.random.randint(k2, (8,), 0, 6)            # 5 = background (mmdet: C)
  return (ex.normal(k1, (8, 5), 2.0), labels, ex.uniform(k3, (8,))), {}


def _qfl_edges(key):
  (x, labels, s), _ = _qfl_example(key)
  fg = labels < 5
  perfect = jnp.where(jax.nn.one_hot(labels, 5, dtype=bool), 1e4, -1e4)
  return [((perfect, labels, fg.astype(s.dtype)), {}),     # perfect, quality 1
          ((x * 1e4, labels, s), {}),
          ((x, jnp.full_like(labels, 5), s), {}),            # all background
          ((x, labels, jnp.zeros_like(s)), {}),              # zero quality
          ((x, labels, s), {"beta": 0.5})]


case("quality_focal_loss", _qfl_example, edge_cases=_qfl_edges)


def _dfl_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (8, 9), 2.0), ex.uniform(k2, (8,), 0.0, 8.0)), {}


def _dfl_edges(key):
  (x, t), _ = _dfl_example(key)
  ints = jnp.arange(8.0).at[0].set(8.0)                  # on the bins, the last bin included
  perfect = jnp.where(jax.nn.one_hot(ints.astype(int), 9, dtype=bool), 1e4, -1e4)
  return [((perfect, ints), {}), ((x * 1e4, t), {}), ((x, jnp.zeros_like(t)), {}),
          ((x, jnp.full_like(t, 8.0)), {})]


case("distribution_focal_loss", _dfl_example, edge_cases=_dfl_edges, grad_argnums=(0, 1))


# ---- CornerNet / CenterNet heatmaps ----

def _heatmap_example(key):
  k1, k2 = jax.random.split(key)
  y = ex.uniform(k1, (2, 6, 6, 3), 0.0, 0.95).at[0, 2, 3, 0].set(1.0).at[1, 4, 1, 2].set(1.0)
  return (ex.uniform(k2, (2, 6, 6, 3), 0.02, 0.98), y), {}


def _heatmap_edges(key):
  (p, y), _ = _heatmap_example(key)
  peaks = (y == 1).astype(y.dtype)
  x = ex.normal(key, p.shape, 3.0)
  return [((peaks, peaks), {}),                            # perfect
          ((jnp.zeros_like(p), y), {}), ((jnp.ones_like(p), y), {}),   # 0/1 probabilities
          ((p, jnp.zeros_like(y)), {}),                    # no peak
          ((p, y), {"normalize": True}), ((p, jnp.zeros_like(y)), {"normalize": True}),
          ((x * 1e4, y), {"activation": "sigmoid"}), ((x, y), {"activation": "sigmoid"}),
          ((p, y), {"alpha": 0.5, "gamma": 0})]


case("gaussian_focal_loss", _heatmap_example, edge_cases=_heatmap_edges)


# ---- Libra R-CNN ----

def _balanced_l1_edges(key):
  (d, t), _ = _delta_example(key)
  return [((t, t), {}), ((d * 1e4, t), {}), ((d, t), {"beta": 0.5, "alpha": 1.0}),
          ((t + 1.0, t), {})]                              # exactly at |d| = beta


case("balanced_l1_loss", _delta_example, edge_cases=_balanced_l1_edges, grad_argnums=(0, 1))


# ---- landmarks (Wing) and heatmaps (Adaptive Wing) ----

def _landmark_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (8, 5, 2), 8.0), ex.normal(k2, (8, 5, 2), 8.0)), {}


def _wing_edges(key):
  (p, t), _ = _landmark_example(key)
  return [((t, t), {}), ((p * 1e4, t), {}), ((t + 10.0, t), {}),          # at |d| = omega
          ((p, t), {"omega": 2.0, "epsilon": 0.5})]


case("wing_loss", _landmark_example, edge_cases=_wing_edges, grad_argnums=(0, 1))


def _awing_example(key):
  (_, y), _ = _heatmap_example(key)
  return (y + ex.normal(key, y.shape, 0.3), y), {}


def _awing_edges(key):
  (p, y), _ = _awing_example(key)
  return [((y, y), {}), ((p * 1e4, y), {}), ((y + 0.5, y), {}),           # at |d| = theta
          ((p, jnp.zeros_like(y)), {}), ((p, y), {"alpha": 1.5, "theta": 0.2, "epsilon": 0.5})]


case("adaptive_wing_loss", _awing_example, edge_cases=_awing_edges, grad_argnums=(0, 1))


# ---- Seesaw (long-tailed classification; C = 5 classes + 2 objectness logits) ----

def _seesaw_example(key):
  k1, k2 = jax.random.split(key)
  labels = jax.random.randint(k2, (8,), 0, 6)            # 5 = background (mmdet: C)
  counts = jnp.array([0.0, 3.0, 50.0, 200.0, 7.0])       # cumulative class counts
  return (ex.normal(k1, (8, 7), 2.0), labels, counts), {}


def _seesaw_edges(key):
  (x, labels, counts), _ = _seesaw_example(key)
  fg = labels < 5
  cls = jnp.where(jax.nn.one_hot(labels, 5, dtype=bool), 1e4, -1e4)
  obj = jnp.stack([jnp.where(fg, 1e4, -1e4), jnp.where(fg, -1e4, 1e4)], -1)
  return [((jnp.concatenate([cls, obj], -1), labels, counts), {}),          # perfect
          ((x * 1e4, labels, counts), {}), ((-x * 1e4, labels, counts), {}),
          ((x, jnp.full_like(labels, 5), counts), {}),                     # no foreground
          ((x, labels, jnp.zeros_like(counts)), {}),                       # nothing seen yet
          ((x, labels, counts), {"p": 0.0, "q": 0.0}),
          ((x[:, :5], jnp.minimum(labels, 4), counts), {"objectness": False})]


# cum_samples is shared by all samples (not batched): vmap-vs-batched is tested in
# tests/test_detection_more.py with in_axes=(0, 0, None).
case("seesaw_loss", _seesaw_example, edge_cases=_seesaw_edges, per_example=False,
     components_total=lambda parts, kw: parts["classes"] + parts["objectness"])


# ---- GHM: gradient-density weights over the batch (not per example) ----

def _ghmc_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (8, 5), 3.0),
          jax.random.bernoulli(k2, 0.3, (8, 5)).astype(jnp.float32)), {}


def _ghmc_edges(key):
  (x, y), _ = _ghmc_example(key)
  perfect = jnp.where(y > 0, 1e4, -1e4)
  ids = jax.random.randint(key, (8,), 0, 6)               # 5: background row
  return [((perfect, y), {}), ((-perfect, y), {}), ((x * 1e4, y), {}),
          ((x, ids), {}), ((x, y), {"bins": 3}),
          ((x, y), {"momentum": 0.75, "acc_sum": jnp.full((10,), 4.0)})]


case("ghm_c_loss", _ghmc_example, edge_cases=_ghmc_edges, per_example=False)


def _ghmr_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (8, 4), 0.1), ex.normal(k2, (8, 4), 0.1)), {}


def _ghmr_edges(key):
  (d, t), _ = _ghmr_example(key)
  return [((t, t), {}), ((d * 1e4, t), {}), ((t + 1e20, t), {}), ((d, t), {"mu": 1.0}),
          ((d, t), {"momentum": 0.5, "acc_sum": jnp.ones((10,))})]


case("ghm_r_loss", _ghmr_example, edge_cases=_ghmr_edges, grad_argnums=(0, 1),
     per_example=False)
