"""Cases of the regression losses: example inputs, edge cases, bad inputs and contract flags."""

import jax
import jax.numpy as jnp

from jaxloss.catalog.cases import _inputs as ex
from jaxloss.catalog.cases import case

# ---- pointwise errors of (predictions, targets) of one shape ----

def _pair_example(key):
  p, t = ex.pair(key)
  return (p, t), {}


def _pair_edges(key):
  p, t = ex.pair(key)
  return [((t, t), {}),                    # perfect prediction
          ((p * 1e4, t), {}),              # huge residuals
          ((p * 1e-6, t * 1e-6), {})]      # tiny residuals


for _name in ("mse", "mae", "huber_loss", "smooth_l1_loss", "log_cosh_loss", "charbonnier_loss"):
  case(_name, _pair_example, edge_cases=_pair_edges, grad_argnums=(0, 1))


def _quantile_example(key):
  k1, k2 = jax.random.split(key)
  preds = ex.normal(k1, (8, 3))
  return (preds, ex.normal(k2, (8,))), {"quantiles": jnp.array([0.1, 0.5, 0.9])}


def _quantile_edges(key):
  (p, t), kw = _quantile_example(key)
  return [((jnp.broadcast_to(t[:, None], p.shape), t), kw),
          ((p * 1e4, t), kw),
          ((p, t), {"quantiles": jnp.array([0.1, 0.5, 0.9]), "crossing_penalty": 1.0})]


case("quantile_loss", _quantile_example, edge_cases=_quantile_edges, grad_argnums=(0, 1))


def _msle_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.uniform(k1, (8, 5), 0.0, 5.0), ex.uniform(k2, (8, 5), 0.0, 5.0)), {}


def _msle_edges(key):
  (p, t), _ = _msle_example(key)
  return [((t, t), {}), ((p * 1e4, t), {}), ((-p, t), {})]


case("msle", _msle_example, edge_cases=_msle_edges, grad_argnums=(0, 1))


# ---- direction (cosine) loss over a feature axis ----

def _cos_example(key):
  p, t = ex.pair(key, (8, 6))
  return (p, t), {}


def _cos_edges(key):
  p, t = ex.pair(key, (8, 6))
  return [((t, t), {}), ((jnp.zeros_like(p), t), {}), ((p * 1e4, t), {}),
          ((-t, t), {})]


case("cosine_similarity_loss", _cos_example, edge_cases=_cos_edges, grad_argnums=(0, 1))
