"""Cases of the classification losses: example inputs, edge cases, bad inputs and contract flags."""

import jax
import jax.numpy as jnp

from jaxloss.catalog.cases import _inputs as ex
from jaxloss.catalog.cases import case

# --------------------------------------------------------------------------
# Softmax losses (jaxloss/classification/softmax.py).
# --------------------------------------------------------------------------


def _ignored(key, shape, **kw):
  """``ignore_index`` edges: a NaN in every ignored row, and every entry ignored."""
  logits, labels = ex.logits_and_labels(key, shape)
  ignored = (jnp.arange(shape[0]) % 3) == 1
  some = jnp.where(ignored, 255, labels)
  nan_rows = jnp.where(ignored[:, None], jnp.nan, logits)
  return [((nan_rows, some), {**kw, "ignore_index": 255}),
          ((logits, jnp.full_like(labels, 255)), {**kw, "ignore_index": 255})]


def _ce_example(key):
  logits, labels = ex.logits_and_labels(key, (8, 5))
  return (logits, labels), {}


def _ce_edges(key):
  logits, labels = ex.logits_and_labels(key, (8, 5))
  onehot = jax.nn.one_hot(labels, 5)
  neg_inf = jnp.where(onehot > 0, logits, -jnp.inf)
  return [
      ((onehot * 1e4, labels), {}),                        # perfect, saturated
      (((1.0 - onehot) * 1e4, labels), {}),                # confidently wrong
      ((logits + 1e6, labels), {}),                        # huge offset
      ((jnp.where(onehot > 0, logits, logits - 1e4), labels), {}),
      ((neg_inf, onehot), {}),                             # -inf with zero targets
      ((logits, labels), {"label_smoothing": 0.1,
                          "class_weights": jnp.arange(1.0, 6.0)}),
      ((logits, jnp.full_like(labels, -100)), {}),         # everything ignored
      ((logits.reshape(2, 2, 2, 5), labels.reshape(2, 2, 2)), {}),  # pixel-wise
  ] + _ignored(key, (8, 5))


def _nll_example(key):
  logits, labels = ex.logits_and_labels(key, (8, 5))
  return (jax.nn.log_softmax(logits), labels), {}


def _nll_edges(key):
  logits, labels = ex.logits_and_labels(key, (8, 5))
  logp = jax.nn.log_softmax(logits)
  return [((jax.nn.log_softmax(jax.nn.one_hot(labels, 5) * 1e4), labels), {}),
          ((logp, labels), {"class_weights": jnp.arange(1.0, 6.0)}),
          ((logp, jnp.full_like(labels, -100)), {})]


def _wce_example(key):
  # Soft targets: the contract's "mean == sum / count" holds for them (torch
  # divides integer-label weighted means by the summed target weights).
  logits, soft = ex.logits_and_soft(key, (8, 5))
  return (logits, soft), {"class_weights": jnp.array([0.5, 1.0, 2.0, 1.0, 0.25])}


def _wce_edges(key):
  logits, labels = ex.logits_and_labels(key, (8, 5))
  cw = {"class_weights": jnp.array([0.5, 1.0, 2.0, 1.0, 0.25])}
  return [((jax.nn.one_hot(labels, 5) * 1e4, labels), cw),
          ((logits, jnp.full_like(labels, -100)), cw),
          ((logits, labels), {**cw, "label_smoothing": 0.2})]


def _balanced_example(key):
  logits, labels = ex.logits_and_labels(key, (16, 4))
  return (logits, labels), {}


def _balanced_edges(key):
  logits, labels = ex.logits_and_labels(key, (16, 4))
  return [((logits, jnp.zeros_like(labels)), {}),                 # a single class present
          ((logits, jnp.full_like(labels, -100)), {}),            # nothing left
          ((logits, jax.nn.softmax(logits * 0.3)), {}),           # soft targets
          ((jax.nn.one_hot(labels, 4) * 1e4, labels), {})]


def _focal_example(key):
  logits, labels = ex.logits_and_labels(key, (8, 5))
  return (logits, labels), {"alpha": jnp.array([0.1, 0.3, 0.2, 0.2, 0.2])}


def _focal_edges(key):
  logits, labels = ex.logits_and_labels(key, (8, 5))
  onehot = jax.nn.one_hot(labels, 5)
  perfect = onehot * 1e4
  return [((perfect, labels), {}), ((perfect, labels), {"gamma": 0}),
          ((perfect, labels), {"gamma": 0.0}), ((perfect, labels), {"gamma": 0.5}),
          ((perfect, onehot), {"gamma": 0.5, "alpha": 0.25}),
          (((1 - onehot) * 1e4, labels), {"gamma": 0.5}),
          ((logits, jax.nn.softmax(logits * 0.5)), {"gamma": 0.3})] + _ignored(key, (8, 5))


def _poly_edges(key):
  logits, labels = ex.logits_and_labels(key, (8, 5))
  onehot = jax.nn.one_hot(labels, 5)
  return [((onehot * 1e4, labels), {}), (((1 - onehot) * 1e4, onehot), {}),
          ((logits, labels), {"epsilon": -1.0})] + _ignored(key, (8, 5))


def _zero_one_example(key):
  # Well-separated maxima, so bfloat16 rounding cannot flip an argmax.
  k1, k2 = jax.random.split(key)
  pred = jax.random.randint(k1, (8,), 0, 5)
  labels = jax.random.randint(k2, (8,), 0, 5)
  logits = jax.nn.one_hot(pred, 5) * 4.0 + ex.normal(k2, (8, 5), 0.1)
  return (logits, labels), {}


def _ce_z_edges(key):
  logits, labels = ex.logits_and_labels(key, (8, 5))
  return _ce_edges(key) + [
      ((logits + 1e3, labels), {"z_loss": 1e-4}),           # large log Z
      ((logits, labels.at[::3].set(-100)), {"z_loss": 1e-2, "label_smoothing": 0.1})]


case("cross_entropy", _ce_example, edge_cases=_ce_z_edges,
     components_total=lambda parts, kw: parts["cross_entropy"] + parts["z_loss"])
case("nll_loss", _nll_example, edge_cases=_nll_edges)
case("weighted_cross_entropy", _wce_example, edge_cases=_wce_edges)
case("balanced_cross_entropy", _balanced_example, edge_cases=_balanced_edges,
     per_example=False)
case("focal_loss", _focal_example, edge_cases=_focal_edges)
case("poly1_cross_entropy", _ce_example, edge_cases=_poly_edges)
case("zero_one_loss", _zero_one_example,
     edge_cases=lambda key: _ignored(key, (8, 5)))

# --------------------------------------------------------------------------
# Binary (sigmoid) losses (binary.py) and margin losses (margin.py).
# --------------------------------------------------------------------------


def _binary_example(key):
  return ex.binary_logits_and_labels(key), {}


def _binary_edges(key):
  logits, labels = ex.binary_logits_and_labels(key)
  sign = 2.0 * labels - 1.0
  return [((sign * 1e4, labels), {}),            # confident and correct
          ((-sign * 1e4, labels), {}),           # confident and wrong
          ((sign * 100.0, labels), {}),
          ((logits, jax.nn.sigmoid(logits * 0.7)), {})]   # soft labels


def _probs_example(key):
  # Away from 0 and 1, so bfloat16 rounding cannot reach the clamp.
  k1, k2 = jax.random.split(key)
  _, labels = ex.binary_logits_and_labels(k2)
  return (ex.uniform(k1, labels.shape, 0.05, 0.95), labels), {}


def _probs_edges(key):
  _, labels = ex.binary_logits_and_labels(key)
  return [((labels, labels), {}),                # p exactly 0 and 1, correct
          ((1.0 - labels, labels), {}),          # p exactly 0 and 1, wrong
          ((jnp.full_like(labels, 0.5), labels), {})]


def _sfocal_edges(key):
  logits, labels = ex.binary_logits_and_labels(key)
  sign = 2.0 * labels - 1.0
  return [((sign * 1e4, labels), {}), ((sign * 1e4, labels), {"gamma": 0}),
          ((sign * 1e4, labels), {"gamma": 0.0}), ((sign * 1e4, labels), {"gamma": 0.5}),
          ((-sign * 1e4, labels), {"gamma": 0.5}), ((sign * 100.0, labels), {"alpha": None}),
          ((logits, jax.nn.sigmoid(logits)), {"gamma": 0.5})]


def _signs_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (8, 5), 2.0), ex.signs(k2, (8, 5))), {}


def _logistic_edges(key):
  (s, y), _ = _signs_example(key)
  return [((y * 1e4, y), {}), ((-y * 1e4, y), {}), ((jnp.zeros_like(s), y), {})]


def _hinge_edges(key):
  (_, y), _ = _signs_example(key)
  return [((y * 1e4, y), {}), ((-y * 1e4, y), {}), ((y * 3.0, y), {})]


def _mc_edges(key):
  logits, labels = ex.logits_and_labels(key, (8, 5))
  onehot = jax.nn.one_hot(labels, 5)
  return [((onehot * 1e4, labels), {}), (((1 - onehot) * 1e4, labels), {"p": 2}),
          ((logits, labels), {"class_weights": jnp.arange(1.0, 6.0), "margin": 0.5})
          ] + _ignored(key, (8, 5), class_weights=jnp.arange(1.0, 6.0))


case("binary_cross_entropy", _binary_example, edge_cases=_binary_edges)
case("binary_cross_entropy_from_probs", _probs_example, edge_cases=_probs_edges)
case("sigmoid_focal_loss", _binary_example, edge_cases=_sfocal_edges)
case("logistic_loss", _signs_example, edge_cases=_logistic_edges)
case("hinge_loss", _signs_example, edge_cases=_hinge_edges)
case("squared_hinge_loss", _signs_example, edge_cases=_hinge_edges)
case("multiclass_hinge_loss", _ce_example, edge_cases=_mc_edges)

# --------------------------------------------------------------------------
# Divergences and impurities (divergence.py).
# --------------------------------------------------------------------------


def _div_example(key):
  logits, soft = ex.logits_and_soft(key, (8, 5))
  return (logits, soft), {}


def _div_edges(key):
  logits, soft = ex.logits_and_soft(key, (8, 5))
  zeros = soft.at[:, 0].set(0.0)
  zeros = zeros / jnp.sum(zeros, -1, keepdims=True)
  return [((logits, zeros), {}),                                   # zero targets
          ((logits.at[:, 0].set(-jnp.inf), zeros), {}),            # -inf logit, zero target
          ((jnp.log(soft), soft), {}),                             # perfect
          ((logits * 1e4, soft), {}),
          ((logits, jnp.log(zeros)), {"log_targets": True})]       # -inf log-targets


def _gini_example(key):
  return (ex.normal(key, (8, 5), 2.0),), {}


def _gini_edges(key):
  z = ex.normal(key, (8, 5), 2.0)
  return [((z * 1e4,), {}), ((jnp.zeros((8, 5)),), {}),
          ((jax.nn.softmax(z),), {"activation": None}),
          ((jax.nn.one_hot(jnp.arange(8) % 5, 5),), {"activation": None})]


case("kl_divergence", _div_example, edge_cases=_div_edges, grad_argnums=(0, 1))
case("js_divergence", _div_example, edge_cases=_div_edges, grad_argnums=(0, 1))
case("gini_impurity", _gini_example, edge_cases=_gini_edges)

# --------------------------------------------------------------------------
# Noise-robust losses (robust.py).
# --------------------------------------------------------------------------


def _robust_edges(key):
  logits, labels = ex.logits_and_labels(key, (8, 5))
  onehot = jax.nn.one_hot(labels, 5)
  return [((logits * 1e4, labels), {}),
          ((jnp.where(onehot > 0, 1e4, -1e4), labels), {}),      # perfect, saturated
          ((jnp.where(onehot > 0, -1e4, 1e4), labels), {}),      # confidently wrong
          ((logits, jax.nn.softmax(logits)), {})] + _ignored(key, (8, 5))


def _bt_example(key):
  (logits, labels), _ = _ce_example(key)
  return (logits, labels), {"t1": 0.8, "t2": 1.2}


def _bt_edges(key):
  return [(a, {**kw, "t1": 0.8, "t2": 1.2}) for a, kw in _robust_edges(key)] + [
      (_bt_example(key)[0], {"t1": 1.0, "t2": 1.0})]


def _sce_total(parts, kw):
  return kw.get("ce_weight", 0.1) * parts["ce"] + kw.get("rce_weight", 1.0) * parts["rce"]


case("generalized_cross_entropy", _ce_example, edge_cases=_robust_edges)
case("symmetric_cross_entropy", _ce_example, edge_cases=_robust_edges,
     components_total=_sce_total)
case("bi_tempered_logistic_loss", _bt_example, edge_cases=_bt_edges)

# --------------------------------------------------------------------------
# Hierarchical cross-entropy (hierarchical.py).
# --------------------------------------------------------------------------


def _tree_example(key):
  logits, labels = ex.logits_and_labels(key, (8, 6))
  return (logits, labels), {"parents": (0, 0, 1, 1, 2, 2)}


def _tree_edges(key):
  (logits, labels), kw = _tree_example(key)
  big = jnp.where(jax.nn.one_hot(labels, 6) > 0, 1e4, -1e4)
  return [((logits * 1e4, labels), kw), ((big, labels), kw),
          ((logits, labels), {"parents": ((0, 0, 1, 1, 2, 2), (0, 0, 1))})
          ] + _ignored(key, (8, 6), **kw)


def _tree_bad(key):
  (logits, labels), _ = _tree_example(key)
  return (logits, labels[:, None]), {"parents": (0, 0, 1, 1, 2, 2)}


case("hierarchical_cross_entropy", _tree_example, edge_cases=_tree_edges,
     bad_input=_tree_bad)
