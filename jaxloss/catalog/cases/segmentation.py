"""Cases of the segmentation losses: example inputs, edge cases, bad inputs and contract flags.

The losses need an explicit batch axis: a single ``(*spatial, C)`` image would
be read as a batch of lower-dimensional images (the rank is ambiguous), so the
contract's "vmap over axis 0 == batched call" check does not apply
(``per_example=False``). vmap over an *outer* axis, and
``f(x)[i] == f(x[i:i+1])[0]``, are tested in tests/test_segmentation.py instead.
"""

import jax
import jax.numpy as jnp

import jaxloss
from jaxloss.catalog.cases import _inputs as ex
from jaxloss.catalog.cases import case


def _seg_example(key, shape=(2, 8, 8, 3)):
  logits, labels = ex.logits_and_labels(key, shape)
  return (logits, labels), {}


def _seg_edges(key, shape=(2, 8, 8, 3)):
  """Perfect, saturated, empty-class, 3-D and binary inputs."""
  logits, labels = ex.logits_and_labels(key, shape)
  c = shape[-1]
  perfect = 1e4 * (2.0 * jax.nn.one_hot(labels, c) - 1.0)
  only_bg = jnp.zeros(shape[:-1], jnp.int32)
  vol_logits, vol_labels = ex.logits_and_labels(key, (1, 3, 4, 5, c))
  bin_logits, bin_labels = ex.binary_logits_and_labels(key, shape[:-1] + (1,))
  return [((perfect, labels), {}),
          ((-perfect, labels), {}),
          ((logits * 1e4, labels), {}),
          ((logits, only_bg), {}),
          ((-1e4 * jax.nn.one_hot(only_bg, c), only_bg), {}),
          ((vol_logits, vol_labels), {}),
          ((bin_logits, bin_labels), {"activation": "sigmoid"}),
          ((logits, jax.nn.softmax(logits * 0.5)), {})]


def _seg_ignored(key, shape=(2, 8, 8, 3), **kw):
  """``ignore_index`` edges: a NaN in every ignored pixel, and every pixel ignored."""
  logits, labels = ex.logits_and_labels(key, shape)
  ignored = jax.random.bernoulli(jax.random.fold_in(key, 1), 0.3, shape[:-1])
  some = jnp.where(ignored, 255, labels)
  nan_pixels = jnp.where(ignored[..., None], jnp.nan, logits)
  return [((nan_pixels, some), {**kw, "ignore_index": 255}),
          ((logits, jnp.full_like(labels, 255)), {**kw, "ignore_index": 255})]


def _seg_edges_ignored(key):
  return _seg_edges(key) + _seg_ignored(key)


# ---- region (overlap) losses ----------------------------------------------

for _name in ("dice_loss", "jaccard_loss", "log_cosh_dice_loss", "generalized_dice_loss",
              "tversky_loss", "focal_tversky_loss", "hausdorff_dt_loss"):
  case(_name, _seg_example, edge_cases=_seg_edges_ignored, per_example=False)


# ---- compound losses: scalars only ("mean" | "sum"), ``where`` is a pixel mask --------

def _pixels(args, kwargs):
  """A pixel mask ``(B, *spatial)``: the compound losses mask pixels, not their output."""
  return args[0].shape[:-1]


_COMPOUND = dict(edge_cases=_seg_edges_ignored, per_example=False, reductions=("mean", "sum"),
                 where_shape=_pixels)

case("dice_ce_loss", _seg_example, **_COMPOUND,
     components_total=lambda parts, kw: (kw.get("dice_weight", 1.0) * parts["dice"]
                                         + kw.get("ce_weight", 1.0) * parts["ce"]))
case("dice_focal_loss", _seg_example, **_COMPOUND,
     components_total=lambda parts, kw: (kw.get("dice_weight", 1.0) * parts["dice"]
                                         + kw.get("focal_weight", 1.0) * parts["focal"]))
case("combo_loss", _seg_example, **_COMPOUND,
     components_total=lambda parts, kw: (kw.get("ce_weight", 0.5) * parts["ce"]
                                         + kw.get("dice_weight", 0.5) * parts["dice"]))


# ---- Lovász losses --------------------------------------------------------

case("lovasz_softmax_loss", lambda k: (_seg_example(k)[0], {"per_image": True}),
     edge_cases=lambda k: [(a, {**kw, "per_image": True})
                           for a, kw in _seg_edges(k)[:6] + _seg_ignored(k)],
     per_example=False)


def _hinge_example(key):
  logits, labels = ex.binary_logits_and_labels(key, (2, 8, 8))
  return (logits, labels.astype(jnp.int32)), {}


def _hinge_edges(key):
  logits, labels = _hinge_example(key)[0]
  signs = 2.0 * labels - 1.0
  return [((1e4 * signs, labels), {}), ((-1e4 * signs, labels), {}),
          ((logits, jnp.zeros_like(labels)), {}),
          ((logits, labels), {"ignore_index": 0}),
          ((logits, jnp.full_like(labels, 255)), {"ignore_index": 255}),
          ((logits, labels.astype(jnp.float32)), {"per_image": False})]


case("lovasz_hinge_loss", _hinge_example, edge_cases=_hinge_edges, per_example=False)


# ---- boundary losses ------------------------------------------------------


def _boundary_example(key):
  logits, labels = ex.logits_and_labels(key, (2, 8, 8, 3))
  return (logits, jaxloss.signed_distance_map(labels, 3)), {}


def _boundary_edges(key):
  logits, labels = ex.logits_and_labels(key, (2, 8, 8, 3))
  sdm = jaxloss.signed_distance_map(labels, 3)
  empty = jaxloss.signed_distance_map(jnp.zeros_like(labels), 3)
  vol_logits, vol_labels = ex.logits_and_labels(key, (1, 3, 4, 5, 3))
  return [((1e4 * logits, sdm), {}), ((logits, empty), {}),
          ((vol_logits, jaxloss.signed_distance_map(vol_labels, 3)), {}),
          ((logits[..., :1], sdm[..., 1:2]), {"activation": "sigmoid"})]


def _boundary_bad(key):
  (logits, sdm), _ = _boundary_example(key)
  return (logits, sdm[..., :-1]), {}


case("boundary_loss", _boundary_example, edge_cases=_boundary_edges, bad_input=_boundary_bad,
     per_example=False)


def _aware_example(key):
  logits, labels = ex.logits_and_labels(key, (2, 8, 8, 3))
  return (logits, labels), {"width": 1}


def _aware_edges(key):
  logits, labels = ex.logits_and_labels(key, (2, 8, 8, 3))
  perfect = 1e4 * (2.0 * jax.nn.one_hot(labels, 3) - 1.0)
  return [((perfect, labels), {}), ((logits, jnp.zeros_like(labels)), {}),
          ((logits, labels), {"ignore_index": 0}),
          ((logits, jnp.full_like(labels, -1)), {"ignore_index": -1})]


case("boundary_aware_loss", _aware_example, edge_cases=_aware_edges, per_example=False,
     where_shape=_pixels, reductions=("mean", "sum"),
     components_total=lambda parts, kw: (kw.get("interior_weight", 1.0) * parts["interior"]
                                         + kw.get("boundary_weight", 1.0) * parts["boundary"]))
