"""Cases of the distribution losses: example inputs, edge cases, bad inputs and contract flags.

Two sample sets ``x (B, N, D)`` and ``y (B, M, D)`` with ``N != M`` (one value
per batch entry, so ``where`` masks and vmap act over the batch), the energy
score's ensemble ``(B, M, D)`` against observations ``(B, D)``.
"""

import importlib.util
import unittest

import jax
import jax.numpy as jnp

from jaxloss.catalog.cases import _inputs as ex
from jaxloss.catalog.cases import case


def _sets(key, shape_x=(2, 8, 2), shape_y=(2, 6, 2)):
  k1, k2 = jax.random.split(key)
  return ex.normal(k1, shape_x), ex.normal(k2, shape_y) + 0.5


def _example(key):
  return _sets(key), {}


def _edge_sets(key):
  """Edge inputs of the example's shapes (one compilation per option set, not per edge)."""
  x, y = _sets(key)
  z = jnp.zeros_like(x)
  dup = jnp.concatenate([y, y[:, :2]], axis=1)   # x holds y's points: coincident pairs
  return [(z, z[:, :6]), (dup, y), (x * 1e3, y * 1e3)]


def _edges(key, **kw):
  return [((a, b), kw) for a, b in _edge_sets(key)]


case("mmd_loss", _example,
     edge_cases=lambda key: _edges(key) + _edges(key, kernel="laplacian")[:2],
     grad_argnums=(0, 1))
case("energy_distance", _example,
     edge_cases=lambda key: _edges(key) + _edges(key, estimator="unbiased")[:2],
     grad_argnums=(0, 1))


def _es_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (4, 5, 3)), ex.normal(k2, (4, 3))), {}


def _es_edges(key):
  (x, y), _ = _es_example(key)
  same = jnp.broadcast_to(y[:, None, :], x.shape)
  return [((same, y), {}), ((same, y), {"fair": True}), ((x * 1e4, y), {"fair": True})]


case("energy_score", _es_example, edge_cases=_es_edges)


def _sw_example(key):
  x, y = _sets(key)
  return (x, y, jax.random.key(3)), {}


def _sw_edges(key):
  k = jax.random.key(3)
  edges = [((a, b, k), {}) for a, b in _edge_sets(key)]
  return edges + [((a, b, k), {"p": 1.0}) for a, b in _edge_sets(key)[:2]]


def _sw_bad(key):
  (x, y, k), _ = _sw_example(key)
  return (x, y[..., :-1], k), {}


# Set-level with a shared random key: the key is not batched, so no vmap check.
case("sliced_wasserstein", _sw_example, edge_cases=_sw_edges, bad_input=_sw_bad,
     per_example=False, grad_argnums=(0, 1))


def _need_ott():
  # sinkhorn_divergence wraps the optional ott-jax (`pip install jaxloss[ot]`); without it
  # the catalog-wide checks of this one loss are skipped (unittest.SkipTest: pytest skips).
  if importlib.util.find_spec("ott") is None:
    raise unittest.SkipTest("ott-jax not installed (pip install jaxloss[ot])")


def _sk_example(key):
  _need_ott()
  return _sets(key, (2, 5, 2), (2, 5, 2)), {"epsilon": 0.5}


def _sk_edges(key):
  # ott's solver compiles slowly: edges of the example's shapes and options only.
  (x, y), kw = _sk_example(key)
  return [((x, x), kw), ((jnp.zeros_like(x), jnp.zeros_like(y)), kw)]


case("sinkhorn_divergence", _sk_example, edge_cases=_sk_edges, grad_argnums=(0, 1))
