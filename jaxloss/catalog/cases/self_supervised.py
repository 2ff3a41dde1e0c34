"""Cases of the self-supervised losses: example inputs, edge cases, bad inputs and contract flags."""

import jax
import jax.numpy as jnp

from jaxloss.catalog.cases import _inputs as ex
from jaxloss.catalog.cases import case

N, D = 8, 6


def _views_example(key):
  k1, k2 = jax.random.split(key)
  z = ex.normal(k1, (N, D))
  return (z, z + 0.3 * ex.normal(k2, (N, D))), {}


def _views_edges(key):
  (a, b), _ = _views_example(key)
  const = jnp.tile(a[:1], (N, 1))
  return [((a, a), {}),                                   # identical views
          ((const, const), {}),                           # collapse: zero variance
          ((jnp.zeros_like(a), b), {}),
          ((a * 1e3, b * 1e3), {}),
          ((a[:1], b[:1]), {}),                           # a batch of one
          ((a[:2], b[:2]), {})]


def _rows(args, kwargs):
  return (args[0].shape[0],)


case("vicreg_loss", _views_example, edge_cases=_views_edges, grad_argnums=(0, 1),
     per_example=False, where_shape=_rows, reductions=("mean", "sum"),
     components_total=lambda parts, kw: (kw.get("sim_coeff", 25.0) * parts["invariance"]
                                         + kw.get("std_coeff", 25.0) * parts["variance"]
                                         + kw.get("cov_coeff", 1.0) * parts["covariance"]))
case("barlow_twins_loss", _views_example, edge_cases=_views_edges, grad_argnums=(0, 1),
     per_example=False, where_shape=_rows)


def _byol_edges(key):
  (a, b), _ = _views_example(key)
  return [((a, a), {}), ((a, -a), {}), ((jnp.zeros_like(a), b), {}), ((a, jnp.zeros_like(b)), {}),
          ((a * 1e4, b * 1e-4), {}), ((a * 1e-30, b), {})]


case("byol_loss", _views_example, edge_cases=_byol_edges)


# --------------------------------------------------------------------------
# Self-distillation (distillation.py): crop-first [S, B, K] logits.
# --------------------------------------------------------------------------

S, T, K = 4, 2, 5


def _dino_example(key):
  k1, k2, k3 = jax.random.split(key, 3)
  return (ex.normal(k1, (S, N, K), 2.0), ex.normal(k2, (T, N, K), 2.0),
          0.1 * ex.normal(k3, (K,))), {}


def _dino_edges(key):
  (s, t, c), _ = _dino_example(key)
  return [((s, t, c), {"centering": "sinkhorn_knopp"}),
          ((s, t, None), {"centering": "sinkhorn_knopp"}),
          ((1e4 * s, 1e4 * t, c), {}),                          # saturated softmaxes
          ((1e4 * s, 1e4 * t, c), {"centering": "sinkhorn_knopp"}),
          ((jnp.zeros_like(s), jnp.zeros_like(t), c), {}),
          ((s[:2], t, c), {}),                                  # global crops only
          ((s, t[:1], c), {"teacher_temp": jnp.float32(0.07)})]


def _dino_bad(key):
  (s, t, c), kw = _dino_example(key)
  return (s, t[..., :-1], c), kw


case("dino_loss", _dino_example, edge_cases=_dino_edges, bad_input=_dino_bad,
     per_example=False)


def _ibot_example(key):
  k1, k2, k3 = jax.random.split(key, 3)
  return (ex.normal(k1, (N, 6, K), 2.0), ex.normal(k2, (N, 6, K), 2.0),
          0.1 * ex.normal(k3, (K,))), {}


def _ibot_edges(key):
  (s, t, c), _ = _ibot_example(key)
  none = jnp.zeros(s.shape[:2], bool)
  one = none.at[0, 0].set(True)
  return [((s, t, c), {"where": none}), ((s, t, c), {"where": one}),
          ((s, t, c), {"where": one, "centering": "sinkhorn_knopp"}),
          ((s, t, None), {"centering": "sinkhorn_knopp"}),
          ((1e4 * s, 1e4 * t, c), {}), ((s, s, c), {})]


case("ibot_patch_loss", _ibot_example, edge_cases=_ibot_edges, per_example=False)


def _swav_example(key):
  # Scores of L2-normalised features against L2-normalised prototypes: in [-1, 1].
  k1, k2 = jax.random.split(key)
  z = ex.normal(k1, (S, N, D))
  protos = ex.normal(k2, (K, D))
  z = z / jnp.linalg.norm(z, axis=-1, keepdims=True)
  protos = protos / jnp.linalg.norm(protos, axis=-1, keepdims=True)
  return (z @ protos.T,), {}


def _swav_edges(key):
  (x,), _ = _swav_example(key)
  return [((jnp.zeros_like(x),), {}), ((1e4 * x,), {}), ((x,), {"assign_crops": 1}),
          ((x[:2],), {}), ((x,), {"assign_crops": 4, "iters": 10}),
          ((x[:, :1],), {})]


def _swav_bad(key):
  (x,), kw = _swav_example(key)
  return (x[0],), kw


case("swav_loss", _swav_example, edge_cases=_swav_edges, bad_input=_swav_bad,
     per_example=False)


def _koleo_example(key):
  return (ex.normal(key, (N, D)),), {}


def _koleo_edges(key):
  (x,), _ = _koleo_example(key)
  dup = x.at[1].set(x[0])
  return [((dup,), {}), ((jnp.tile(x[:1], (N, 1)),), {}), ((jnp.zeros_like(x),), {}),
          ((x[:1],), {}), ((x * 1e4,), {}), ((x * 1e-30,), {})]


def _koleo_bad(key):
  (x,), kw = _koleo_example(key)
  return (x[0],), kw


case("koleo_loss", _koleo_example, edge_cases=_koleo_edges, bad_input=_koleo_bad,
     per_example=False)
