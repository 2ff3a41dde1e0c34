"""Cases of the embedding losses: example inputs, edge cases, bad inputs and contract flags."""

import jax
import jax.numpy as jnp

from jaxloss.catalog.cases import _inputs as ex
from jaxloss.catalog.cases import case

_LABELS8 = jnp.array([0, 1, 2, 0, 1, 2, 0, 1])


# --------------------------------------------------------------------------
# Pairs and triplets over explicit tuples (pairs.py).
# --------------------------------------------------------------------------


def _pair_example(key):
  k1, k2, k3 = jax.random.split(key, 3)
  y = jax.random.bernoulli(k3, 0.5, (8,)).astype(jnp.float32)
  return (ex.normal(k1, (8, 5)), ex.normal(k2, (8, 5)), y), {}


def _pair_edges(key):
  (a, b, y), _ = _pair_example(key)
  return [((a, a, y), {}), ((a * 1e3, b, y), {}), ((a, a + 1e-7, y), {})]


case("contrastive_loss", _pair_example, edge_cases=_pair_edges, grad_argnums=(0, 1))


def _ranking_example(key):
  k1, k2, k3 = jax.random.split(key, 3)
  return (ex.normal(k1, (8,)), ex.normal(k2, (8,)), ex.signs(k3, (8,))), {}


def _ranking_bad(key):
  (a, b, y), kw = _ranking_example(key)
  return (a, b[:-1], y), kw


case("margin_ranking_loss", _ranking_example,
     edge_cases=lambda k: [((jnp.zeros(8), jnp.zeros(8), jnp.ones(8)), {})],
     grad_argnums=(0, 1), bad_input=_ranking_bad)


def _hinge_emb_example(key):
  k1, k2 = jax.random.split(key)
  return (jnp.abs(ex.normal(k1, (8, 3))), ex.signs(k2, (8, 3))), {}


case("hinge_embedding_loss", _hinge_emb_example,
     edge_cases=lambda k: [((jnp.zeros((8, 3)), jnp.ones((8, 3))), {})])


def _triplet_example(key):
  k1, k2, k3 = jax.random.split(key, 3)
  return (ex.normal(k1, (8, 5)), ex.normal(k2, (8, 5)), ex.normal(k3, (8, 5))), {}


def _triplet_edges(key):
  (a, p, n), _ = _triplet_example(key)
  return [((a, a, n), {}), ((a, a, a), {}), ((a, p, n), {"p": 1}), ((a, p, n), {"p": 3}),
          ((a, a, n), {"swap": True}), ((a * 1e3, p, n), {})]


case("triplet_margin_loss", _triplet_example, edge_cases=_triplet_edges,
     grad_argnums=(0, 1, 2))


def _cos_emb_example(key):
  k1, k2, k3 = jax.random.split(key, 3)
  return (ex.normal(k1, (8, 6)), ex.normal(k2, (8, 6)), ex.signs(k3, (8,))), {}


def _cos_emb_edges(key):
  (a, b, y), _ = _cos_emb_example(key)
  return [((a, a, y), {}), ((jnp.zeros_like(a), b, y), {}), ((a * 1e4, b, y), {"margin": 0.5})]


case("cosine_embedding_loss", _cos_emb_example, edge_cases=_cos_emb_edges,
     grad_argnums=(0, 1))


# --------------------------------------------------------------------------
# Batch losses (embeddings [N, D], labels [N]): set-level.
# --------------------------------------------------------------------------


def _batch_example(key):
  return (ex.normal(key, (8, 5)), _LABELS8), {}


def _batch_edges(key):
  x = ex.normal(key, (8, 5))
  same = jnp.tile(x[:1], (8, 1))
  return [
      ((same, _LABELS8), {}),                                   # identical embeddings
      ((jnp.zeros_like(x), _LABELS8), {}),                      # zero-norm embeddings
      ((x, jnp.arange(8)), {}),                                 # no positives at all
      ((x, jnp.zeros(8, jnp.int32)), {}),                       # no negatives at all
      ((x[:1], _LABELS8[:1]), {}),                              # batch of one
      ((x * 1e3, _LABELS8), {}),                                # large norms
  ]


def _rows(args, kwargs):
  """A mask over the batch rows ``(N,)`` (set-level losses without an unreduced output)."""
  return args[0].shape[:1]


_BATCH = dict(edge_cases=_batch_edges, grad_argnums=(0,), per_example=False)

for _name in ("triplet_loss", "multi_similarity_loss", "circle_loss", "supcon_loss"):
  case(_name, _batch_example, **_BATCH)
case("lifted_structure_loss", _batch_example, **{**_BATCH, "where_shape": _rows})


def _ap_edges(key):
  x = ex.normal(key, (8, 5))
  return _batch_edges(key) + [((jnp.tile(x[:1], (2, 1)), jnp.zeros(2, jnp.int32)), {}),
                              ((x, _LABELS8), {"temperature": 1e-4})]      # near-step ranks


for _name in ("fast_ap_loss", "smooth_ap_loss"):
  case(_name, _batch_example, edge_cases=_ap_edges if _name == "smooth_ap_loss"
       else _batch_edges, grad_argnums=(0,), per_example=False)


def _reid_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (8, 5)), _LABELS8, ex.normal(k2, (8, 3), 2.0)), {}


def _reid_edges(key):
  (x, y, lg), _ = _reid_example(key)
  return [((jnp.tile(x[:1], (8, 1)), y, lg), {}), ((x, y, lg * 1e4), {}),
          ((x, jnp.zeros(8, jnp.int32), lg), {})]


def _reid_bad(key):
  (x, y, lg), _ = _reid_example(key)
  return (x, y[:-1], lg), {}


case("reid_loss", _reid_example, edge_cases=_reid_edges, grad_argnums=(0, 2),
     per_example=False, bad_input=_reid_bad,
     components_total=lambda parts, kw: (kw.get("ce_weight", 1.0) * parts["ce"]
                                          + kw.get("triplet_weight", 1.0) * parts["triplet"]))


def _npair_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (6, 5)), ex.normal(k2, (6, 5))), {}


def _npair_edges(key):
  (a, p), _ = _npair_example(key)
  return [((a, a), {}), ((jnp.tile(a[:1], (6, 1)), a), {}), ((a[:1], p[:1]), {}),
          ((a * 1e3, p), {"normalize": False})]


case("npair_loss", _npair_example, edge_cases=_npair_edges, grad_argnums=(0, 1),
     per_example=False)


def _proxy_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (8, 5)), _LABELS8, ex.normal(k2, (4, 5))), {}


def _proxy_edges(key):
  (x, y, c), _ = _proxy_example(key)
  return [((c[y], y, c), {}), ((jnp.zeros_like(x), y, c), {}), ((x * 1e3, y, c), {})]


def _proxy_bad(key):
  (x, y, c), _ = _proxy_example(key)
  return (x, y, c[:, :-1]), {}


case("proxy_anchor_loss", _proxy_example, edge_cases=_proxy_edges, grad_argnums=(0, 2),
     per_example=False, where_shape=_rows, bad_input=_proxy_bad)


# --------------------------------------------------------------------------
# Two views (contrastive.py): InfoNCE, NT-Xent, CLIP, SigLIP.
# --------------------------------------------------------------------------


def _views_example(key):
  k1, k2 = jax.random.split(key)
  z = ex.normal(k1, (8, 5))
  return (z, z + 0.3 * ex.normal(k2, (8, 5))), {}


def _views_edges(key):
  (a, b), _ = _views_example(key)
  return [((a, a), {}), ((jnp.tile(a[:1], (8, 1)), a), {}),
          ((a * 1e3, b * 1e3), {"temperature": 0.01}), ((jnp.zeros_like(a), b), {}),
          ((a[:1], b[:1]), {})]


for _name in ("infonce_loss", "nt_xent_loss"):
  case(_name, _views_example, edge_cases=_views_edges, grad_argnums=(0, 1), per_example=False)


def _pairs_example(key):
  k1, k2 = jax.random.split(key)
  img = ex.normal(k1, (8, 6))
  return (img, img + 0.5 * ex.normal(k2, (8, 6))), {}


def _clip_edges(key):
  (a, b), _ = _pairs_example(key)
  return [((a, a), {}), ((a * 1e3, b * 1e3), {"temperature": 0.01}),
          ((jnp.tile(a[:1], (8, 1)), b), {}), ((a[:1], b[:1]), {}),
          ((a, b), {"temperature": jnp.float32(0.05)})]


for _name in ("clip_loss", "siglip_loss"):
  case(_name, _pairs_example, edge_cases=_clip_edges, grad_argnums=(0, 1), per_example=False)


# --------------------------------------------------------------------------
# Margin heads and centre loss (heads.py): (embeddings, labels, centers).
# --------------------------------------------------------------------------


def _head_example(key):
  k1, k2, k3 = jax.random.split(key, 3)
  return (ex.normal(k1, (8, 6)), jax.random.randint(k2, (8,), 0, 5),
          ex.normal(k3, (5, 6))), {}


def _head_edges(key):
  (x, y, c), _ = _head_example(key)
  return [((c[y], y, c), {}),                      # embedding == its class centre (cos = 1)
          ((-c[y], y, c), {}),                     # cos = -1
          ((jnp.zeros_like(x), y, c), {}),         # zero embeddings
          ((x * 1e3, y, c), {})]


def _head_bad(key):
  (x, y, c), _ = _head_example(key)
  return (x, y, c[:, :-1]), {}


for _name in ("arcface_loss", "cosface_loss", "sphereface_loss"):
  case(_name, _head_example, edge_cases=_head_edges, grad_argnums=(0, 2), per_example=False, bad_input=_head_bad)


def _multi_head_example(key, k=3):
  k1, k2, k3 = jax.random.split(key, 3)
  return (ex.normal(k1, (8, 6)), jax.random.randint(k2, (8,), 0, 4),
          ex.normal(k3, (4 * k, 6))), {}


def _multi_head_edges(kw, k=3):
  def edges(key):
    (x, y, c), _ = _multi_head_example(key, k)
    c3 = c.reshape(4, k, 6)
    return [((c3[y, 0], y, c), kw),                 # embedding == a sub-centre (cos = 1)
            ((-c3[y, 0], y, c), kw),                # cos = -1
            ((jnp.zeros_like(x), y, c), kw),        # zero embeddings
            ((jnp.tile(x[:1], (8, 1)), y, c), kw),  # identical embeddings
            ((x, jnp.zeros(8, jnp.int32), c), kw),  # a single class in the batch
            ((x, y, jnp.tile(c[:1], (4 * k, 1))), kw),  # identical centres (max ties)
            ((x * 1e3, y, c3), kw)]                 # large norms, (C, K, D) layout
  return edges


def _multi_head_bad(key):
  (x, y, c), _ = _multi_head_example(key)
  return (x, y, c[:-1]), {}


case("subcenter_arcface_loss", _multi_head_example, edge_cases=_multi_head_edges({}),
     grad_argnums=(0, 2), per_example=False, bad_input=_multi_head_bad)
case("soft_triple_loss", lambda key: (_multi_head_example(key)[0], {"centers_per_class": 3}),
     edge_cases=_multi_head_edges({"centers_per_class": 3}), grad_argnums=(0, 2),
     per_example=False,
     bad_input=lambda key: (_multi_head_bad(key)[0], {"centers_per_class": 3}))


def _proxy_nca_edges(key):
  (x, y, c), _ = _head_example(key)
  return [((c[y], y, c), {}), ((jnp.zeros_like(x), y, c), {}),
          ((jnp.tile(x[:1], (8, 1)), y, c), {}), ((x, jnp.zeros(8, jnp.int32), c), {}),
          ((x * 1e3, y, c), {"softmax_scale": 100.0})]


case("proxy_nca_loss", _head_example, edge_cases=_proxy_nca_edges, grad_argnums=(0, 2),
     per_example=False, bad_input=_head_bad)


def _center_edges(key):
  (x, y, c), _ = _head_example(key)
  return [((c[y], y, c), {}), ((x * 1e3, y, c), {})]


case("center_loss", _head_example, edge_cases=_center_edges, grad_argnums=(0, 2),
     per_example=False, bad_input=_head_bad)


# --------------------------------------------------------------------------
# Learning to rank (ranking.py): (logits, labels) lists [..., L].
# --------------------------------------------------------------------------


def _rank_example(key):
  k1, k2 = jax.random.split(key)
  labels = jax.random.permutation(k2, jnp.arange(5.0))
  return (ex.normal(k1, (4, 5)), jnp.tile(labels, (4, 1))), {}


def _rank_edges(key):
  (s, y), _ = _rank_example(key)
  return [((s * 1e4, y), {}), ((s, jnp.zeros_like(y)), {}), ((y, y), {}),
          ((s, y), {"where": jnp.zeros(s.shape, bool)})]


for _name in ("ranknet_loss", "listnet_loss", "listmle_loss"):
  case(_name, _rank_example, edge_cases=_rank_edges, grad_argnums=(0,),
       where_shape=lambda args, kwargs: args[0].shape)   # a mask over the list items


# --------------------------------------------------------------------------
# Retrieval (retrieval.py): sentence-transformers' bi-encoder losses.
# --------------------------------------------------------------------------


def _mnrl_edges(key):
  (a, b), _ = _pairs_example(key)
  neg = ex.normal(jax.random.fold_in(key, 1), (2, 8, 6))
  return [((a, a), {}), ((a * 1e3, b * 1e3), {"scale": 100.0}),
          ((jnp.tile(a[:1], (8, 1)), b), {}), ((a[:1], b[:1]), {}),
          ((a, b), {"negatives": neg}), ((a, b), {"negatives": neg[0], "scale": 1e3}),
                  ((a * 1e3, b), {"negatives": jnp.zeros((3, 6))})]


case("multiple_negatives_ranking_loss", _pairs_example, edge_cases=_mnrl_edges,
     grad_argnums=(0, 1), per_example=False)


def _gist_example(key):
  (a, b), _ = _pairs_example(key)
  k1, k2 = jax.random.split(jax.random.fold_in(key, 3))
  # a guide of another width that roughly agrees with the model
  proj = ex.normal(k1, (6, 5))
  return (a, b, a @ proj, b @ proj + 0.3 * ex.normal(k2, (8, 5))), {}


def _gist_edges(key):
  (a, b, ga, gb), _ = _gist_example(key)
  neg = ex.normal(jax.random.fold_in(key, 1), (2, 8, 6))
  gneg = ex.normal(jax.random.fold_in(key, 2), (2, 8, 5))
  return [((a, a, ga, ga), {}),                                   # every candidate a tie
          ((a * 1e3, b * 1e3, ga, gb), {"temperature": 1e-3}),
          ((a, b, jnp.zeros_like(ga), jnp.zeros_like(gb)), {}),   # a zero guide
          ((a, b, ga, gb), {"margin": -1.0}),                     # keeps every candidate
          ((a, b, ga, gb), {"margin_strategy": "relative", "margin": 0.1}),
          ((a[:1], b[:1], ga[:1], gb[:1]), {}),
          ((a, b, ga, gb), {"negatives": neg, "guide_negatives": gneg}),
          ((jnp.zeros_like(a), b, ga, gb), {"negatives": neg[0], "guide_negatives": gneg[0],
                                            "contrast_anchors": False,
                                            "contrast_positives": False})]


case("gist_loss", _gist_example, edge_cases=_gist_edges, grad_argnums=(0, 1),
     per_example=False)


def _cosent_example(key):
  (a, b), _ = _pairs_example(key)
  return (a, b, ex.uniform(jax.random.fold_in(key, 2), (8,), 0.0, 5.0)), {}


def _cosent_edges(key):
  (a, b, y), _ = _cosent_example(key)
  return [((a, b, jnp.zeros(8)), {}),                    # no ordered pair: 0
          ((a, a, y), {}), ((a * 1e3, b, y), {"scale": 1e3}), ((jnp.zeros_like(a), b, y), {}),
          ((a[:1], b[:1], y[:1]), {})]


case("cosent_loss", _cosent_example, edge_cases=_cosent_edges, grad_argnums=(0, 1),
     per_example=False, where_shape=lambda args, kw: (args[0].shape[0],))


def _margin_mse_example(key):
  k1, k2, k3, k4 = jax.random.split(key, 4)
  return (ex.normal(k1, (8, 6)), ex.normal(k2, (8, 6)), ex.normal(k3, (8, 6)),
          ex.normal(k4, (8,))), {}


def _margin_mse_edges(key):
  (q, p, n, y), _ = _margin_mse_example(key)
  multi = jnp.stack([n, p, -n], axis=1)
  return [((q, p, p, jnp.zeros(8)), {}), ((q, p, multi, jnp.zeros((8, 3))), {}),
          ((q, p, n, y), {"normalize": True}), ((jnp.zeros_like(q), p, n, y), {"normalize": True}),
          ((q * 1e3, p, n, y), {})]


case("margin_mse_loss", _margin_mse_example, edge_cases=_margin_mse_edges,
     grad_argnums=(0, 1, 2), per_example=False)
