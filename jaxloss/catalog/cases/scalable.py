"""Cases of the scalable losses: example inputs, edge cases, bad inputs and contract flags."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss.catalog.cases import _inputs as ex
from jaxloss.catalog.cases import case

# ---- chunked cross-entropies ----------------------------------------------


def _lce_example(key):
  k1, k2, k3 = jax.random.split(key, 3)
  hidden = ex.normal(k1, (8, 6))
  weight = ex.normal(k2, (13, 6), 0.5)
  labels = jax.random.randint(k3, (8,), 0, 13)
  return (hidden, weight, labels), {"chunk_size": 4}


def _lce_edges(key):
  (h, w, y), kw = _lce_example(key)
  ignored = y.at[::2].set(-100)
  return [((h * 1e3, w, y), kw),                                    # saturated logits
          ((h, w, jnp.full_like(y, -100)), kw),                     # everything ignored
          ((h, w, ignored), {**kw, "label_smoothing": 0.1, "z_loss": 1e-4}),
          ((h * 1e3, w, y), {**kw, "logit_soft_cap": 30.0}),
          ((jnp.zeros_like(h), w, y), {**kw, "chunk_size": 13})]    # uniform logits


def _lce_bad(key):
  (h, w, y), kw = _lce_example(key)
  return (h, w[:, :-1], y), kw


def _ce_parts_total(parts, kw):
  return parts["cross_entropy"] + parts["z_loss"]


case("linear_cross_entropy", _lce_example, edge_cases=_lce_edges, bad_input=_lce_bad,
     grad_argnums=(0, 1), per_example=False, components_total=_ce_parts_total)


def _cce_example(key):
  logits, labels = ex.logits_and_labels(key, (8, 13))
  return (logits, labels), {"chunk_size": 4}


def _cce_edges(key):
  (x, y), kw = _cce_example(key)
  return [((x * 1e4, y), kw),                                        # saturated
          ((jnp.zeros_like(x) + 1e6, y), kw),                        # uniform, huge offset
          ((x.at[:, 1:].set(-jnp.inf), jnp.zeros_like(y)), kw),      # all-but-one -inf
          ((x, y.at[::2].set(-100)), {**kw, "label_smoothing": 0.1, "z_loss": 1e-4}),
          ((x * 1e3, y), {**kw, "logit_soft_cap": 30.0})]


case("chunked_cross_entropy", _cce_example, edge_cases=_cce_edges, per_example=True,
     components_total=_ce_parts_total)


# ---- fused distillation and preference losses -----------------------------


def _kd_example(key):
  k1, k2, k3, k4 = jax.random.split(key, 4)
  hs = ex.normal(k1, (2, 4, 6))             # (batch, seq, D_s)
  ws = ex.normal(k2, (13, 6), 0.5)          # V = 13, not a multiple of the chunk
  ht = ex.normal(k3, (2, 4, 5))             # D_t = 5
  wt = ex.normal(k4, (13, 5), 0.5)
  return (hs, ws, ht, wt), {"chunk_size": 4, "temperature": 2.0}


def _kd_edges(key):
  (hs, ws, ht, wt), kw = _kd_example(key)
  return [((hs * 1e3, ws, ht * 1e3, wt), kw),                      # saturated logits
          ((hs, ws, hs, ws), kw),                                  # teacher == student
          ((jnp.zeros_like(hs), ws, ht, wt), {**kw, "temperature": 0.1}),
          ((hs, ws, ht, wt), {**kw, "where": jnp.zeros((2, 4), bool)})]   # all masked


def _kd_bad(key):
  (hs, ws, ht, wt), kw = _kd_example(key)
  return (hs, ws[:, :-1], ht, wt), kw


def _jsd_edges(key):
  (hs, ws, ht, wt), kw = _kd_example(key)
  return _kd_edges(key) + [((hs, ws, ht, wt), {**kw, "beta": 0.0}),
                           ((hs * 1e3, ws, ht, wt), {**kw, "beta": 1.0})]


case("linear_distillation_loss", _kd_example, edge_cases=_kd_edges, bad_input=_kd_bad,
     grad_argnums=(0, 1, 2, 3), per_example=False)
case("linear_generalized_jsd_loss", _kd_example, edge_cases=_jsd_edges, bad_input=_kd_bad,
     grad_argnums=(0, 1, 2, 3), per_example=False)


def _ldpo_example(key):
  k1, k2, k3, k4, k5, k6 = jax.random.split(key, 6)
  hc = ex.normal(k1, (3, 5, 6))             # (pairs, T_w, D)
  hr = ex.normal(k2, (3, 4, 6))             # T_l = 4
  w = ex.normal(k3, (11, 6), 0.5)
  yc = jax.random.randint(k4, (3, 5), 0, 11).at[:, :2].set(-100)   # prompt tokens
  yr = jax.random.randint(k5, (3, 4), 0, 11).at[:, :1].set(-100)
  ref = -10.0 + jax.random.normal(k6, (2, 3))
  return (hc, hr, w, yc, yr, ref[0], ref[1]), {"chunk_size": 4}


def _ldpo_edges(key):
  (hc, hr, w, yc, yr, rc, rr), kw = _ldpo_example(key)
  return [((hc * 1e3, hr * 1e3, w, yc, yr, rc, rr), kw),          # saturated logits
          ((hc, hr, w, jnp.full_like(yc, -100), yr, rc, rr), kw),  # empty chosen completion
          ((hc, hr, w, yc, yr, rc, rr), {**kw, "loss_type": "ipo"}),
          ((hc, hr, w, yc, yr, rc, rr), {**kw, "loss_type": "exo_pair",
                                         "label_smoothing": 1e-3})]


case("linear_dpo_loss", _ldpo_example, edge_cases=_ldpo_edges, grad_argnums=(0, 1, 2),
     per_example=False, components_total=lambda parts, kw: parts["preference"])


# ---- sharded losses (on a 1-D "data" mesh over the available devices) ----


def _default_mesh():
  """A 1-D ``"data"`` mesh over every available device (up to 8)."""
  devices = jax.devices()
  n = max(d for d in (8, 4, 2, 1) if d <= len(devices))
  return jax.sharding.Mesh(np.array(devices[:n]), ("data",))


def _pair_example(key):
  k1, k2 = jax.random.split(key)
  x1 = ex.normal(k1, (8, 6))
  x2 = x1 + 0.5 * ex.normal(k2, (8, 6))
  return (x1, x2), {"mesh": _default_mesh()}


def _pair_edges(key):
  (x1, x2), kw = _pair_example(key)
  return [((x1, x1), kw),                                     # identical embeddings
          ((x1.at[0].set(0.0), x2.at[1].set(0.0)), kw),       # zero-norm embeddings
          ((x1 * 1e3, x2 * 1e-3), kw)]


def _pair_bad(key):
  (x1, x2), kw = _pair_example(key)
  return (x1, x2[:, :-1]), kw


for _name in ("sharded_clip_loss", "sharded_siglip_loss"):
  case(_name, _pair_example, edge_cases=_pair_edges, bad_input=_pair_bad, grad_argnums=(0, 1),
       per_example=False)


def _region_example(key):
  logits, labels = ex.logits_and_labels(key, (8, 5, 5, 3))
  return (logits, labels), {"mesh": _default_mesh()}


def _region_edges(key):
  (x, y), kw = _region_example(key)
  perfect = 1e4 * jax.nn.one_hot(y, 3)
  ignored = (jnp.arange(y.size).reshape(y.shape) % 4) == 1
  return [((perfect, y), kw),                                         # perfect prediction
          ((x, jnp.zeros_like(y)), kw),                               # classes 1, 2 absent
          ((x * 1e4, y), kw),
          # ignore_index: a NaN in every ignored pixel; every pixel ignored
          ((jnp.where(ignored[..., None], jnp.nan, x), jnp.where(ignored, 255, y)),
           {**kw, "ignore_index": 255}),
          ((x, jnp.full_like(y, 255)), {**kw, "ignore_index": 255})]


for _name in ("sharded_dice_loss", "sharded_tversky_loss"):
  case(_name, _region_example, edge_cases=_region_edges, grad_argnums=(0,), per_example=False)
