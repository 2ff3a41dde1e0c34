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
     components_total=lambda parts, kw: (kw.get("invariance_weight", 25.0) * parts["invariance"]
                                         + kw.get("variance_weight", 25.0) * parts["variance"]
                                         + kw.get("covariance_weight", 1.0) * parts["covariance"]))
case("barlow_twins_loss", _views_example, edge_cases=_views_edges, grad_argnums=(0, 1),
     per_example=False, where_shape=_rows)


def _byol_edges(key):
  (a, b), _ = _views_example(key)
  return [((a, a), {}), ((a, -a), {}), ((jnp.zeros_like(a), b), {}), ((a, jnp.zeros_like(b)), {}),
          ((a * 1e4, b * 1e-4), {}), ((a * 1e-30, b), {})]


case("byol_loss", _views_example, edge_cases=_byol_edges)
